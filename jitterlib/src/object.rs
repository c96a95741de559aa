//! The ELF writer: turns compiled [`Program`]s and [`MapSpec`]s into an `EM_BPF` relocatable object that
//! aya can load.
//!
//! The layout follows what aya-obj 0.3 looks for:
//! - one executable section per section name (named after the attach point, e.g. `tracepoint/irq/softirq_entry`),
//!   holding one global `STT_FUNC` symbol sized to the whole program per program with that name, one after the
//!   other: aya-obj finds programs only through sized function symbols, and a program's BTF function info by
//!   its section's name and its offset there (two sections of one name, both programs at offset 0, had their
//!   records merged and the verifier refused them);
//! - a legacy `maps` section with one 28-byte `struct bpf_map_def` per map and one `STT_OBJECT` symbol each,
//!   which works without BTF;
//! - for a [`MapKind::Global`] map, a `.bss` section of its value size and a symbol at its start; for the
//!   [`MapKind::Gate`], the same in a section of its own, [`GATE_MAP_NAME`];
//! - an `R_BPF_64_64` relocation from every map-loading `LD_IMM64` to its map symbol (for a global or the
//!   gate, aya turns it into a direct value address);
//! - a `license` section holding `GPL\0` (GPL-only helpers need it);
//! - when a program has callbacks ([`Program::callbacks`], theirs too): each in the `.text` section with a local
//!   `STT_FUNC` symbol `PROGRAM_cbN` (`PROGRAM_cbN_cbM` for theirs), an `R_BPF_64_64` relocation from each `BPF_PSEUDO_FUNC` `LD_IMM64` to it (aya links
//!   the callback after the program), and the `.BTF` / `.BTF.ext` function info the verifier then requires
//!   (written by the private `func_info` module). Objects without callbacks carry no BTF.

mod func_info;

use std::collections::{HashMap, HashSet};

use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    elf, Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};
use thiserror::Error;

use crate::insn::opcode::BPF_PSEUDO_FUNC;
use crate::insn::{Insn, Program};
use crate::maps::{HashAllocation, MapKind, MapSpec, GATE_MAP_NAME};

/// Longest program or map name the kernel keeps (`BPF_OBJ_NAME_LEN` minus the NUL).
pub const MAX_NAME_LEN: usize = 15;

/// Size of the legacy `struct bpf_map_def` in the `maps` section.
const MAP_DEF_SIZE: u64 = 28;

/// Opcode of the first half of `LD_IMM64` (`BPF_LD | BPF_IMM | BPF_DW`).
const LD_IMM64: u8 = 0x18;

/// Size of one encoded instruction.
const INSN_SIZE: usize = 8;

/// One program to place in the object.
#[derive(Clone, Copy, Debug)]
pub struct ProgramSection<'a> {
    /// Symbol name, which is also the program name in the kernel (at most 15 bytes, `[A-Za-z0-9_]`).
    pub name: &'a str,
    /// ELF section name that tells aya the program type, e.g. `tracepoint/irq/softirq_entry`; programs with the
    /// same name share the section.
    pub section: &'a str,
    /// The instructions and their map references.
    pub program: &'a Program,
}

/// Why an object could not be written.
#[derive(Debug, Error)]
pub enum ObjectError {
    /// A program or map name is empty, too long or has characters other than `[A-Za-z0-9_]`.
    #[error("invalid {what} name `{name}`: names must be 1 to {MAX_NAME_LEN} characters of [A-Za-z0-9_]")]
    InvalidName {
        /// `program` or `map`.
        what: &'static str,
        /// The offending name.
        name: String,
    },
    /// Two programs or maps share a symbol name.
    #[error("duplicate symbol name `{name}`")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A program has no instructions.
    #[error("program `{program}` has no instructions")]
    EmptyProgram {
        /// The program name.
        program: String,
    },
    /// A `BPF_PSEUDO_FUNC` load names a callback the program does not have.
    #[error("program `{program}` refers to callback {callback} at instruction {insn}, which it does not have")]
    UnknownCallback {
        /// The program name.
        program: String,
        /// Index of the `LD_IMM64`.
        insn: usize,
        /// The callback index it names.
        callback: i32,
    },
    /// A section name is empty or contains a NUL byte.
    #[error("invalid section name `{section}` for program `{program}`")]
    InvalidSection {
        /// The program name.
        program: String,
        /// The offending section name.
        section: String,
    },
    /// More than one [`MapKind::Global`] map, or more than one [`MapKind::Gate`]: each has one section.
    #[error("more than one map of the {section} section: an object has one")]
    SeveralGlobals {
        /// The section (`.bss`, or the gate's).
        section: &'static str,
    },
    /// A map reference does not point at the first half of an `LD_IMM64` of the program.
    #[error("program `{program}`: map reference at instruction {insn} is not an LD_IMM64")]
    BadMapRefInsn {
        /// The program name.
        program: String,
        /// The instruction index in the map reference.
        insn: usize,
    },
    /// A map reference names a map index beyond the object's map list.
    #[error("program `{program}`: map reference at instruction {insn} names map {map} but there are {maps} maps")]
    UnknownMap {
        /// The program name.
        program: String,
        /// The instruction index in the map reference.
        insn: usize,
        /// The referenced map index.
        map: usize,
        /// How many maps the object has.
        maps: usize,
    },
    /// The `object` crate refused to build the file.
    #[error("cannot write the ELF object")]
    Write {
        /// The underlying error.
        #[source]
        source: object::write::Error,
    },
}

/// Writes an `EM_BPF` relocatable ELF object holding `programs` and `maps`, ready for aya's loader.
///
/// Map references in each program point into `maps` by index. Names are checked (see [`MAX_NAME_LEN`]) and
/// must be unique across programs and maps. Hash maps are created as `allocation` says
/// ([`HashAllocation::for_machine`] picks it for the machine the object is for).
///
/// ```
/// use jitterlib::insn::{Insn, Program};
/// use jitterlib::maps::HashAllocation;
/// use jitterlib::object::{write_object, ProgramSection};
///
/// let program = Program {
///     insns: vec![
///         Insn { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
///         Insn { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
///     ],
///     ..Program::default()
/// };
/// let elf = write_object(
///     &[ProgramSection { name: "noop", section: "raw_tracepoint/jl_manual", program: &program }],
///     &[],
///     HashAllocation::PREALLOCATED,
/// )?;
/// # Ok::<(), jitterlib::object::ObjectError>(())
/// ```
pub fn write_object(
    programs: &[ProgramSection],
    maps: &[MapSpec],
    allocation: HashAllocation,
) -> Result<Vec<u8>, ObjectError> {
    check_names(programs, maps)?;
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);

    let map_symbols = add_maps(&mut obj, maps, allocation)?;
    let has_callbacks = programs.iter().any(|program| !program.program.callbacks.is_empty());
    let text = has_callbacks.then(|| obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text));
    let mut functions = Vec::new();
    let mut sections = HashMap::new();
    for program in programs {
        add_program(&mut obj, program, (&map_symbols, text), &mut sections, &mut functions)?;
    }
    if has_callbacks {
        let named: Vec<func_info::Function> = functions
            .iter()
            .map(|(name, section, offset, callback)| func_info::Function {
                name,
                section,
                offset: *offset,
                callback: *callback,
            })
            .collect();
        let (btf, ext) = func_info::encode(&named);
        for (name, bytes) in [(".BTF", btf), (".BTF.ext", ext)] {
            let section = obj.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::Other);
            obj.append_section_data(section, &bytes, 4);
        }
    }
    // The crates are MIT OR Apache-2.0, but the programs they generate declare GPL to the kernel: it refuses
    // GPL-only helpers (bpf_probe_read_kernel, bpf_get_stackid, bpf_trace_printk, ...) to programs whose
    // license section is not GPL-compatible, and these programs run inside the GPL-2.0 kernel.
    let license = obj.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
    obj.append_section_data(license, b"GPL\0", 1);

    obj.write().map_err(|source| ObjectError::Write { source })
}

fn check_names(programs: &[ProgramSection], maps: &[MapSpec]) -> Result<(), ObjectError> {
    let named = programs.iter().map(|p| ("program", p.name)).chain(maps.iter().map(|m| ("map", m.name.as_str())));
    let mut seen = HashSet::new();
    for (what, name) in named {
        if !is_valid_name(name) {
            return Err(ObjectError::InvalidName { what, name: name.to_string() });
        }
        if !seen.insert(name) {
            return Err(ObjectError::DuplicateName { name: name.to_string() });
        }
    }
    Ok(())
}

/// True for names the kernel and aya keep intact: 1 to 15 characters of `[A-Za-z0-9_]`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `name` made valid ([`is_valid_name`]) by dropping other characters and cutting it at 15 characters.
///
/// ```
/// assert_eq!(jitterlib::object::valid_name("jl0_softirq_delay"), "jl0_softirq_del");
/// ```
pub fn valid_name(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(MAX_NAME_LEN).collect()
}

/// The zero-filled data section holding a map of `kind`, for the two kinds that are globals.
fn data_section(kind: MapKind) -> Option<&'static str> {
    match kind {
        MapKind::Global => Some(".bss"),
        MapKind::Gate => Some(GATE_MAP_NAME),
        _ => None,
    }
}

/// One symbol per map, in order: a `struct bpf_map_def` in the legacy `maps` section, or for a
/// [`MapKind::Global`] or [`MapKind::Gate`] the start of its data section (aya makes each such section a
/// one-slot array map named after it).
fn add_maps(obj: &mut Object, maps: &[MapSpec], allocation: HashAllocation) -> Result<Vec<SymbolId>, ObjectError> {
    let mut sections = HashSet::new();
    let mut legacy = None;
    let mut symbols = Vec::with_capacity(maps.len());
    for map in maps {
        let (section, value, size) = if let Some(name) = data_section(map.kind) {
            if !sections.insert(name) {
                return Err(ObjectError::SeveralGlobals { section: name });
            }
            let section = obj.add_section(Vec::new(), name.as_bytes().to_vec(), SectionKind::UninitializedData);
            obj.append_section_bss(section, u64::from(map.value_size), 8);
            (section, 0, u64::from(map.value_size))
        } else {
            let section =
                *legacy.get_or_insert_with(|| obj.add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data));
            (section, obj.append_section_data(section, &map_def_bytes(map, allocation), 4), MAP_DEF_SIZE)
        };
        symbols.push(obj.add_symbol(Symbol {
            name: map.name.as_bytes().to_vec(),
            value,
            size,
            kind: SymbolKind::Data,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        }));
    }
    Ok(symbols)
}

/// The legacy `struct bpf_map_def`: type, key_size, value_size, max_entries, map_flags, id, pinning.
fn map_def_bytes(map: &MapSpec, allocation: HashAllocation) -> Vec<u8> {
    let (key_size, value_size) = match map.kind {
        MapKind::RingBuf => (0, 0),
        _ => (map.key_size, map.value_size),
    };
    [map.kind.bpf_type(), key_size, value_size, map.max_entries, allocation.map_flags(map), 0, 0]
        .iter()
        .flat_map(|field| field.to_le_bytes())
        .collect()
}

/// A function placed in the object, for its BTF function info: name, section, offset there, whether a callback.
type PlacedInfo = (String, String, u64, bool);

/// Adds a program at the end of its section (created on first use, `sections` maps names to them), its
/// callbacks in `text`, and records where each function went.
fn add_program(
    obj: &mut Object,
    program: &ProgramSection,
    (map_symbols, text): (&[SymbolId], Option<SectionId>),
    sections: &mut HashMap<String, SectionId>,
    functions: &mut Vec<PlacedInfo>,
) -> Result<(), ObjectError> {
    let name = program.name.to_string();
    if program.program.insns.is_empty() {
        return Err(ObjectError::EmptyProgram { program: name });
    }
    if program.section.is_empty() || program.section.contains('\0') {
        return Err(ObjectError::InvalidSection { program: name, section: program.section.to_string() });
    }
    let code: Vec<u8> = program.program.insns.iter().flat_map(encode_insn).collect();
    let section = *sections
        .entry(program.section.to_string())
        .or_insert_with(|| obj.add_section(Vec::new(), program.section.as_bytes().to_vec(), SectionKind::Text));
    let offset = obj.append_section_data(section, &code, INSN_SIZE as u64);
    obj.add_symbol(Symbol {
        name: program.name.as_bytes().to_vec(),
        value: offset,
        size: code.len() as u64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Dynamic,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    });
    functions.push((name.clone(), program.section.to_string(), offset, false));
    relocate_maps(obj, &name, program.program, section, offset, map_symbols)?;
    match text {
        Some(text) => {
            let placed = Placed { name: &name, program: program.program, section, offset };
            add_callbacks(obj, &placed, text, map_symbols, functions)
        }
        None => Ok(()),
    }
}

/// A function placed in the object: its name, code, section and offset there.
struct Placed<'a> {
    name: &'a str,
    program: &'a Program,
    section: SectionId,
    offset: u64,
}

/// Adds the callbacks of `function` to `text`, each named `NAME_cbN` (theirs in turn after them), with an
/// `R_BPF_64_64` relocation from each `BPF_PSEUDO_FUNC` load of `function` to its callback.
fn add_callbacks(
    obj: &mut Object,
    function: &Placed,
    text: SectionId,
    map_symbols: &[SymbolId],
    functions: &mut Vec<PlacedInfo>,
) -> Result<(), ObjectError> {
    let mut callbacks = Vec::new();
    for (index, callback) in function.program.callbacks.iter().enumerate() {
        let callback_name = format!("{}_cb{index}", function.name);
        let code: Vec<u8> = callback.insns.iter().flat_map(encode_insn).collect();
        let at = obj.append_section_data(text, &code, INSN_SIZE as u64);
        callbacks.push(obj.add_symbol(Symbol {
            name: callback_name.as_bytes().to_vec(),
            value: at,
            size: code.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        }));
        relocate_maps(obj, &callback_name, callback, text, at, map_symbols)?;
        functions.push((callback_name.clone(), ".text".to_string(), at, true));
        let placed = Placed { name: &callback_name, program: callback, section: text, offset: at };
        add_callbacks(obj, &placed, text, map_symbols, functions)?;
    }
    for (at, insn) in function.program.insns.iter().enumerate() {
        if insn.code != LD_IMM64 || insn.src != BPF_PSEUDO_FUNC {
            continue;
        }
        let symbol = *callbacks.get(insn.imm as usize).ok_or_else(|| ObjectError::UnknownCallback {
            program: function.name.to_string(),
            insn: at,
            callback: insn.imm,
        })?;
        let relocation = Relocation {
            offset: function.offset + (at * INSN_SIZE) as u64,
            symbol,
            addend: 0,
            flags: RelocationFlags::Elf { r_type: elf::R_BPF_64_64 },
        };
        obj.add_relocation(function.section, relocation).map_err(|source| ObjectError::Write { source })?;
    }
    Ok(())
}

/// An `R_BPF_64_64` relocation from each map-loading `LD_IMM64` of `program` (named `name`, placed at `offset`
/// of `section`) to its map's symbol.
fn relocate_maps(
    obj: &mut Object,
    name: &str,
    program: &Program,
    section: SectionId,
    offset: u64,
    map_symbols: &[SymbolId],
) -> Result<(), ObjectError> {
    let name = name.to_string();
    for map_ref in &program.map_refs {
        let is_ld_imm64 = program.insns.get(map_ref.insn).is_some_and(|i| i.code == LD_IMM64)
            && map_ref.insn + 1 < program.insns.len();
        if !is_ld_imm64 {
            return Err(ObjectError::BadMapRefInsn { program: name, insn: map_ref.insn });
        }
        let symbol = *map_symbols.get(map_ref.map).ok_or_else(|| ObjectError::UnknownMap {
            program: name.clone(),
            insn: map_ref.insn,
            map: map_ref.map,
            maps: map_symbols.len(),
        })?;
        obj.add_relocation(
            section,
            Relocation {
                offset: offset + (map_ref.insn * INSN_SIZE) as u64,
                symbol,
                addend: 0,
                flags: RelocationFlags::Elf { r_type: elf::R_BPF_64_64 },
            },
        )
        .map_err(|source| ObjectError::Write { source })?;
    }
    Ok(())
}

/// `struct bpf_insn` in little endian: opcode, registers (`src << 4 | dst`), offset, immediate.
fn encode_insn(insn: &Insn) -> [u8; INSN_SIZE] {
    let mut bytes = [0; INSN_SIZE];
    bytes[0] = insn.code;
    bytes[1] = (insn.src << 4) | (insn.dst & 0x0f);
    bytes[2..4].copy_from_slice(&insn.off.to_le_bytes());
    bytes[4..8].copy_from_slice(&insn.imm.to_le_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use aya_obj::ProgramSection as AyaSection;
    use object::read::{Object as _, ObjectSection as _, ObjectSymbol as _};
    use object::RelocationTarget;

    use super::*;
    use crate::maps::MapKind;
    use crate::session::fixtures;

    fn two_program_object() -> Vec<u8> {
        two_program_object_allocated(HashAllocation::PREALLOCATED)
    }

    fn two_program_object_allocated(allocation: HashAllocation) -> Vec<u8> {
        let counter = fixtures::count_into(0);
        let noop = fixtures::noop();
        write_object(
            &[
                ProgramSection { name: "count_enter", section: "tracepoint/raw_syscalls/sys_enter", program: &counter },
                ProgramSection { name: "begin", section: "raw_tracepoint/jl_manual", program: &noop },
            ],
            &[fixtures::counter_map("counts"), fixtures::ring_map("events")],
            allocation,
        )
        .expect("object is written")
    }

    #[test]
    fn hash_maps_carry_the_allocation_flag_and_other_maps_none() {
        let flags = |allocation| {
            let parsed = aya_obj::Object::parse(&two_program_object_allocated(allocation)).expect("parses");
            (parsed.maps["counts"].map_flags(), parsed.maps["events"].map_flags())
        };
        // 16 entries of 72 B plus 8 B per CPU: far under budget on one CPU, over it with a million.
        let version = crate::kernel::KernelVersion::parse("6.18.0").expect("release");
        assert_eq!(flags(HashAllocation::for_kernel(&version, 1)), (0, 0));
        assert_eq!(flags(HashAllocation::for_kernel(&version, 1_000_000)), (1, 0));
        assert_eq!(flags(HashAllocation::PREALLOCATED), (0, 0));
    }

    #[test]
    fn aya_finds_programs_maps_and_license() {
        let elf = two_program_object();
        let parsed = aya_obj::Object::parse(&elf).expect("aya-obj parses our object");

        assert_eq!(parsed.license.to_str(), Ok("GPL"));
        assert!(matches!(parsed.programs["count_enter"].section, AyaSection::TracePoint));
        assert!(matches!(parsed.programs["begin"].section, AyaSection::RawTracePoint));
        let counter = &parsed.functions[&parsed.programs["count_enter"].function_key()];
        assert_eq!(counter.instructions.len(), fixtures::count_into(0).insns.len());

        let counts = &parsed.maps["counts"];
        assert_eq!(
            (counts.map_type(), counts.key_size(), counts.value_size(), counts.max_entries()),
            (MapKind::PerCpuHash.bpf_type(), 4, 8, 16)
        );
        let events = &parsed.maps["events"];
        assert_eq!((events.map_type(), events.max_entries()), (MapKind::RingBuf.bpf_type(), 4096));
    }

    #[test]
    fn map_loads_are_relocated_against_map_symbols() {
        let elf = two_program_object();
        let file = object::File::parse(&*elf).expect("valid ELF");
        assert_eq!(file.architecture(), Architecture::Bpf);
        let section = file.section_by_name("tracepoint/raw_syscalls/sys_enter").expect("program section");
        let relocations: Vec<(u64, String, RelocationFlags)> = section
            .relocations()
            .map(|(offset, reloc)| {
                let RelocationTarget::Symbol(index) = reloc.target() else { panic!("symbol target expected") };
                let name = file.symbol_by_index(index).and_then(|s| s.name().map(str::to_string)).expect("symbol");
                (offset, name, reloc.flags())
            })
            .collect();
        let r_bpf_64_64 = RelocationFlags::Elf { r_type: elf::R_BPF_64_64 };
        assert_eq!(relocations, vec![(16, "counts".to_string(), r_bpf_64_64), (80, "counts".to_string(), r_bpf_64_64)]);
        let symbol = file.symbols().find(|s| s.name() == Ok("count_enter")).expect("program symbol");
        assert_eq!((symbol.kind(), symbol.size(), symbol.is_global()), (SymbolKind::Text, 23 * 8, true));
    }

    #[test]
    fn a_global_becomes_the_bss_map_and_one_global_at_most() {
        let global = MapSpec {
            name: "stats".into(),
            kind: MapKind::Global,
            key_size: 4,
            value_size: 40,
            max_entries: 1,
            on_insert: false,
        };
        let mut b = crate::insn::Builder::new();
        crate::maps::Counter { map: 0, key: 2 }.emit_increment(&mut b);
        b.mov64(crate::insn::Reg::R0, 0);
        b.exit();
        let program = b.finish().expect("assembles");
        let section = ProgramSection { name: "count", section: "raw_tracepoint/jl_manual", program: &program };
        let elf = write_object(&[section], std::slice::from_ref(&global), HashAllocation::PREALLOCATED)
            .expect("object is written");
        let parsed = aya_obj::Object::parse(&elf).expect("aya-obj parses our object");
        let bss = &parsed.maps[crate::maps::GLOBAL_MAP_NAME];
        assert_eq!((bss.map_type(), bss.key_size(), bss.value_size(), bss.max_entries()), (2, 4, 40, 1));
        let section = ProgramSection { name: "count", section: "raw_tracepoint/jl_manual", program: &program };
        let twice = write_object(
            &[section],
            &[global.clone(), MapSpec { name: "other".into(), ..global }],
            HashAllocation::PREALLOCATED,
        );
        assert!(matches!(twice, Err(ObjectError::SeveralGlobals { section: ".bss" })));
    }

    #[test]
    fn the_gate_is_a_data_map_of_its_own_beside_the_global() {
        let global = MapSpec {
            name: "stats".into(),
            kind: MapKind::Global,
            key_size: 4,
            value_size: 16,
            max_entries: 1,
            on_insert: false,
        };
        let gate = crate::maps::Gate { map: 1 };
        let mut b = crate::insn::Builder::new();
        let closed = b.new_label();
        gate.emit_check(&mut b, closed);
        crate::maps::Counter { map: 0, key: 1 }.emit_increment(&mut b);
        b.bind(closed);
        b.mov64(crate::insn::Reg::R0, 0);
        b.exit();
        let program = b.finish().expect("assembles");
        let section = ProgramSection { name: "gated", section: "raw_tracepoint/jl_manual", program: &program };
        let maps = [global, crate::maps::Gate::map_spec("gate")];
        let elf = write_object(&[section], &maps, HashAllocation::PREALLOCATED).expect("object is written");
        let parsed = aya_obj::Object::parse(&elf).expect("aya-obj parses our object");
        let gate_map = &parsed.maps[GATE_MAP_NAME];
        assert_eq!((gate_map.map_type(), gate_map.value_size(), gate_map.max_entries()), (2, 8, 1));
        assert_eq!(parsed.maps[crate::maps::GLOBAL_MAP_NAME].value_size(), 16);
        let file = object::File::parse(&*elf).expect("valid ELF");
        let targets: Vec<String> = file
            .section_by_name("raw_tracepoint/jl_manual")
            .expect("program section")
            .relocations()
            .map(|(_, reloc)| {
                let RelocationTarget::Symbol(index) = reloc.target() else { panic!("symbol target expected") };
                file.symbol_by_index(index).and_then(|s| s.name().map(str::to_string)).expect("symbol")
            })
            .collect();
        assert_eq!(targets, ["gate", "stats"], "the gate's load, then the counter's");
        let twice = [crate::maps::Gate::map_spec("gate"), crate::maps::Gate::map_spec("again")];
        let section = ProgramSection { name: "gated", section: "raw_tracepoint/jl_manual", program: &program };
        assert!(matches!(
            write_object(&[section], &twice, HashAllocation::PREALLOCATED),
            Err(ObjectError::SeveralGlobals { section: GATE_MAP_NAME })
        ));
    }

    #[test]
    fn instructions_are_encoded_little_endian() {
        let insn = Insn { code: 0x7b, dst: 10, src: 1, off: -16, imm: 0x0102_0304 };
        assert_eq!(encode_insn(&insn), [0x7b, 0x1a, 0xf0, 0xff, 0x04, 0x03, 0x02, 0x01]);
    }

    fn write_one(name: &str, program: &Program, maps: &[MapSpec]) -> Result<Vec<u8>, ObjectError> {
        write_object(
            &[ProgramSection { name, section: "raw_tracepoint/jl_manual", program }],
            maps,
            HashAllocation::PREALLOCATED,
        )
    }

    #[test]
    fn bad_names_are_refused() {
        let noop = fixtures::noop();
        for name in ["", "has-dash", "sixteen_chars_xx", "spa ce"] {
            assert!(
                matches!(write_one(name, &noop, &[]), Err(ObjectError::InvalidName { what: "program", .. })),
                "{name:?} should be refused"
            );
        }
        assert!(matches!(
            write_one("p", &noop, &[fixtures::hash_map("bad.map")]),
            Err(ObjectError::InvalidName { what: "map", .. })
        ));
        assert!(matches!(
            write_one("same", &noop, &[fixtures::hash_map("same")]),
            Err(ObjectError::DuplicateName { .. })
        ));
    }

    #[test]
    fn broken_map_references_are_refused() {
        let counter = fixtures::count_into(1);
        assert!(matches!(
            write_one("p", &counter, &[fixtures::hash_map("m")]),
            Err(ObjectError::UnknownMap { map: 1, maps: 1, .. })
        ));
        let mut not_a_load = fixtures::noop();
        not_a_load.map_refs.push(crate::insn::MapRef { insn: 0, map: 0 });
        assert!(matches!(
            write_one("p", &not_a_load, &[fixtures::hash_map("m")]),
            Err(ObjectError::BadMapRefInsn { insn: 0, .. })
        ));
        assert!(matches!(write_one("p", &Program::default(), &[]), Err(ObjectError::EmptyProgram { .. })));
    }
}

//! Code generation: the checked program becomes eBPF programs, map declarations and an ELF object.
//!
//! Map 0 is the event ring buffer (printf, exit), map 1 the per-CPU counters of lost data ([`Stat`]), map 2 the
//! start/stop [`Gate`]; user maps follow in order of first use, then the probes' own maps.

pub(crate) mod calls;
mod compare;
mod expr;
mod frame;
mod join;
mod kernel_read;
mod map_loop;
mod maps;
mod origin;
mod reuse;
mod stmt;
pub(crate) mod strcontains;
mod strings;

use crate::diag::{Code, Diagnostic, Diagnostics, Span};
use crate::ir::{Checked, CheckedProbe, MapInfo, OutlierInfo, PrintfInfo, Type};
use crate::wire::Stat;
use frame::Frame;
use jitterlib::agg::{MapLayout, MAX_STACK_FRAMES};
use jitterlib::driver::{emit_point, finish_point, write_programs, Counters, PointBody, PointSite};
use jitterlib::insn::{BuildError, Builder, Helper, JmpOp, Label, Program, Reg, Size};
use jitterlib::maps::{Counter, Gate, UpdateFailures};
use jitterlib::maps::{HashAllocation, MapKind, MapSpec};
use jitterlib::probe::{place_maps, Trigger};
use jitterlib::session::Attach;

/// Name of the event ring buffer map.
pub const EVENTS_MAP: &str = "jl_events";
/// Name of the per-CPU array counting lost data, indexed by [`Stat`].
pub const STATS_MAP: &str = "jl_stats";
/// Name of the one-slot array holding the start time for `elapsed`.
pub const START_MAP: &str = "jl_start";
/// Name of the program that records the start time (run first in the BEGIN phase).
const START_PROGRAM: &str = "jl_set_start";
/// Object map index of the event ring buffer.
const EVENTS_MAP_INDEX: usize = 0;
/// Object map index of the lost-data counters.
const STATS_MAP_INDEX: usize = 1;
/// The start/stop gate every attached program's block waits behind.
const GATE: Gate = Gate { map: 2 };
/// Name of the gate's map in the object.
const GATE_MAP: &str = "jl_gate";
/// Object map index of the first stack-trace map ([`Checked::stacks`] order), present when a probe records stacks.
const STACKS_MAP_INDEX: usize = 3;
/// Stacks kept per stack-trace map (`kstack` ids); a new stack beyond this is counted as lost.
const STACK_ENTRIES: u32 = 4096;
/// Size of the event ring buffer in bytes.
const EVENTS_BYTES: u32 = 1 << 20;
/// Size of the event ring buffer of a script whose programs write no event but `exit()`'s, which only the first
/// counts (the runtime still waits on it; `exit()` also closes the start/stop gate in the kernel): the
/// kernel maps a ring buffer's pages into jl whole, twice for its data, so 1 MiB would add 2 MiB to jl's resident
/// memory for nothing. 64 KiB is a whole number of pages wherever the page size is 4, 16 or 64 KiB.
const IDLE_EVENTS_BYTES: u32 = 1 << 16;
/// The largest key limit accepted for user maps (`jl --map-keys`).
pub const MAX_MAP_KEYS: u32 = 1 << 24;
/// One generated program.
#[derive(Clone, Debug)]
pub struct ProgramUnit {
    /// Program name in the object (at most 15 characters).
    pub name: String,
    /// The probe it belongs to, as written.
    pub describe: String,
    /// Where it attaches.
    pub attach: Attach,
    /// For BEGIN/END, when it runs.
    pub trigger: Option<Trigger>,
    /// The instructions.
    pub program: Program,
    /// Script spans by origin id of [`Program::source_map`] (see [`ProgramUnit::span_of`]).
    pub spans: Vec<Span>,
}

/// The compiled script: programs, maps and what user space needs to read them.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Every program, main programs and companions.
    pub programs: Vec<ProgramUnit>,
    /// Every map of the object.
    pub maps: Vec<MapSpec>,
    /// User maps: object map name and layout, in order of first use.
    pub user_maps: Vec<(String, MapLayout)>,
    /// printf formats by event id.
    pub printfs: Vec<PrintfInfo>,
    /// `time()` and `strftime()` formats (see [`TableEvent::Time`](crate::wire::TableEvent::Time)).
    pub time_formats: Vec<String>,
    /// The frame limits of the stack-trace maps (see [`stacks_map`]).
    pub stacks: Vec<u32>,
    /// Outlier report layouts (see [`TableEvent::Outlier`](crate::wire::TableEvent::Outlier)).
    pub outliers: Vec<OutlierInfo>,
    /// What each `print(@m, top, div)` asks for (see [`MapEvent`](crate::wire::MapEvent)).
    pub print_options: Vec<crate::ir::PrintOptions>,
    /// The most of a file `cat()` prints: [`CAT_MAX_BYTES`](crate::ir::CAT_MAX_BYTES) unless the script's
    /// `config = { max_cat_bytes = N }` says otherwise.
    pub cat_bytes: u64,
    /// Whether the maps are printed at exit: yes unless the script's `config = { print_maps_on_exit = 0 }`.
    pub print_maps_at_exit: bool,
    /// What `jl -v` says about how probes were resolved (`skb(): fentry (...) at ip_rcv, icmp_rcv`).
    pub notes: Vec<String>,
    /// Warnings of the script, to show before running it (see [`Diagnostics::render`]).
    pub warnings: Diagnostics,
    /// The ELF object.
    pub object: Vec<u8>,
}

impl Compiled {
    /// How many probes the script attaches, as bpftrace counts them in its `Attached N probes`: each probe as
    /// written once (`BEGIN` and `END` included), however many programs it takes (a typed probe's entry and
    /// exit, a syscall tracepoint's dispatcher); `bench:` blocks, never attached, are not counted.
    pub fn probe_count(&self) -> usize {
        let attachable = |unit: &&ProgramUnit| unit.trigger != Some(Trigger::Bench);
        let mut probes: Vec<&str> =
            self.programs.iter().filter(attachable).map(|unit| unit.describe.as_str()).collect();
        probes.sort_unstable();
        probes.dedup();
        probes.len()
    }

    /// Keeps BEGIN and END and the programs of the probes whose name (as [`ProgramUnit::describe`] writes it,
    /// `interval:ms:200`) `keep` accepts: what `jl --probe-filter` loads and attaches. The object still holds
    /// the others; they are not loaded.
    pub fn retain_probes(&mut self, keep: impl Fn(&str) -> bool) {
        self.programs.retain(|unit| unit.trigger.is_some() || keep(&unit.describe));
    }

    /// The disassembly of every program, as `jl -d` prints it.
    pub fn disassembly(&self) -> String {
        self.listing(|unit| unit.program.clone())
    }

    /// The disassembly with, before each run of instructions, the script construct it comes from (`jl -d -v`):
    /// `; 2:18 args.vec * 3`. `source` is the script the program was compiled from.
    pub fn disassembly_with_source(&self, source: &str) -> String {
        self.listing(|unit| unit.annotated(source))
    }

    fn listing(&self, program: impl Fn(&ProgramUnit) -> Program) -> String {
        let names: Vec<&str> = self.maps.iter().map(|map| map.name.as_str()).collect();
        let mut out = String::new();
        for unit in &self.programs {
            out.push_str(&format!("; {} ({}) -> {}\n", unit.name, unit.describe, unit.attach.section_name()));
            out.push_str(&jitterlib::insn::disassemble(&program(unit), &names));
            out.push('\n');
        }
        out
    }
}

/// How the user maps of a script are created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSettings {
    /// Keys each keyed user map holds; an insert beyond it is counted as `map_full`.
    pub keys: u32,
    /// When the kernel allocates hash map entries (from the kernel the script is compiled for).
    pub allocation: HashAllocation,
}

/// Generates the programs and the ELF object of a checked script, its user maps created as `settings` says.
pub fn generate(checked: &Checked, settings: &MapSettings) -> Result<Compiled, Diagnostics> {
    let mut maps = vec![
        MapSpec {
            name: EVENTS_MAP.into(),
            kind: MapKind::RingBuf,
            key_size: 0,
            value_size: 0,
            max_entries: EVENTS_BYTES,
            on_insert: false,
        },
        MapSpec {
            name: STATS_MAP.into(),
            kind: MapKind::Global,
            key_size: 4,
            value_size: 8 * Stat::ALL.len() as u32,
            max_entries: 1,
            on_insert: false,
        },
        Gate::map_spec(GATE_MAP),
    ];
    for frames in &checked.stacks {
        maps.push(MapSpec {
            name: stacks_map(*frames),
            kind: MapKind::StackTrace,
            key_size: 4,
            value_size: frames * 8,
            max_entries: STACK_ENTRIES,
            on_insert: false,
        });
    }
    let first_user_map = maps.len();
    let mut user_maps = Vec::new();
    for (index, info) in checked.maps.iter().enumerate() {
        let spec = user_map_spec(index, info, settings.keys);
        user_maps.push((spec.name.clone(), info.layout.clone()));
        maps.push(spec);
    }
    let start_map = checked.uses_elapsed.then(|| {
        maps.push(MapSpec {
            name: START_MAP.into(),
            kind: MapKind::Array,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            on_insert: false,
        });
        maps.len() - 1
    });
    let mut programs = Vec::new();
    let mut diagnostics = Vec::new();
    let mut notes: Vec<String> = checked
        .maps
        .iter()
        .filter_map(|info| {
            let slots = info.layout.name_slots()?;
            let buckets = match info.layout.histogram() {
                Some(_) => format!(" x {} buckets", slots.buckets),
                None => String::new(),
            };
            let names: Vec<String> = slots.names.iter().map(u32::to_string).collect();
            let keyed = match names.len() {
                1 => "the name's index",
                _ => "the names' indexes",
            };
            Some(format!(
                "{}: a per-CPU array of {} names{buckets} (keyed by {keyed})",
                info.layout.name,
                names.join(" x ")
            ))
        })
        .collect();
    let mut writes_events = false;
    if let Some(map) = start_map {
        match start_program(map) {
            Ok(program) => programs.push(ProgramUnit {
                name: START_PROGRAM.into(),
                describe: "elapsed start".into(),
                attach: Attach::Manual,
                trigger: Some(Trigger::Begin),
                program,
                spans: Vec::new(),
            }),
            Err(error) => diagnostics.push(Diagnostic::new(Code::Internal, Default::default(), error.to_string())),
        }
    }
    for (index, probe) in checked.probes.iter().enumerate() {
        let probe_maps = place_maps(probe.probe.as_ref(), &format!("p{index}_"), &mut maps);
        let name = program_name(index, &probe.probe.describe());
        notes.extend(probe.probe.notes().into_iter().map(|note| format!("{}: {note}", probe.probe.describe())));
        let points = probe.probe.points();
        let several = points.len() > 1;
        for (point_index, point) in points.into_iter().enumerate() {
            let maps = ProbeMaps { first_user: first_user_map, start: start_map, own: &probe_maps };
            // A block that does nothing reports nothing: it needs no gate (nor, without a predicate, filters).
            let gated = !point.attach.runs_on_demand() && !probe.body.is_empty();
            let site = (point_index, point.fires, gated);
            match generate_probe(probe, checked, &maps, site) {
                Ok(generated) => {
                    writes_events |= generated.writes_events;
                    programs.push(ProgramUnit {
                        name: if several { suffixed(&name, point.suffix) } else { name.clone() },
                        describe: probe.probe.describe(),
                        attach: point.attach,
                        trigger: probe.probe.trigger(),
                        program: generated.program,
                        spans: generated.spans,
                    })
                }
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
        match probe.probe.companions(&probe_maps) {
            Ok(companions) => programs.extend(companions.into_iter().map(|mut companion| {
                // The probe emits all of a companion's code: it comes from the probe as written.
                companion.program.source_map.mark(0, Some(0));
                ProgramUnit {
                    name: suffixed(&name, companion.suffix),
                    describe: probe.probe.describe(),
                    attach: companion.attach,
                    trigger: None,
                    program: companion.program,
                    spans: vec![probe.span],
                }
            })),
            Err(error) => diagnostics.push(Diagnostic::probe(error, probe.span)),
        }
    }
    if !diagnostics.is_empty() {
        return Err(Diagnostics(diagnostics));
    }
    if !writes_events {
        maps[EVENTS_MAP_INDEX].max_entries = IDLE_EVENTS_BYTES;
    }
    let placed = programs.iter().map(|unit| (unit.name.as_str(), &unit.attach, &unit.program));
    let object = write_programs(placed, &maps, settings.allocation).map_err(|error| {
        Diagnostics(vec![Diagnostic::new(
            Code::Internal,
            Default::default(),
            format!("cannot write the BPF object: {error}"),
        )])
    })?;
    Ok(Compiled {
        programs,
        maps,
        user_maps,
        printfs: checked.printfs.clone(),
        time_formats: checked.time_formats.clone(),
        stacks: checked.stacks.clone(),
        outliers: checked.outliers.clone(),
        print_options: checked.print_options.clone(),
        cat_bytes: crate::ir::CAT_MAX_BYTES,
        print_maps_at_exit: true,
        notes,
        warnings: checked.warnings.clone(),
        object,
    })
}

/// The name of the stack-trace map of stacks cut at `frames` frames: `jl_stacks` for the kernel's maximum,
/// `jl_stacks_N` otherwise. Kernel and user stacks share it: an id only names a list of addresses.
pub fn stacks_map(frames: u32) -> String {
    match frames {
        MAX_STACK_FRAMES => "jl_stacks".to_string(),
        frames => format!("jl_stacks_{frames}"),
    }
}

/// The map of user map `index`: as its layout needs, holding `keys` keys, unless a `let @m = KIND(N);`
/// declaration chose the type and size of a keyed (hash) map.
fn user_map_spec(index: usize, info: &MapInfo, keys: u32) -> MapSpec {
    let suffix = info.layout.name.trim_start_matches('@');
    let mut spec = info.layout.map_spec(truncate(&format!("m{index}_{suffix}")), keys);
    if let Some(declared) = info.declared.filter(|_| matches!(spec.kind, MapKind::Hash | MapKind::PerCpuHash)) {
        spec.kind = declared.kind;
        spec.max_entries = declared.keys;
    }
    spec
}

fn program_name(index: usize, describe: &str) -> String {
    let kind: String = describe.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    truncate(&format!("jl{index}_{kind}"))
}

fn truncate(name: &str) -> String {
    jitterlib::object::valid_name(name)
}

/// The name of one of a probe's programs besides its own (`name`): `NAME_SUFFIX`, cut to a valid name. A name
/// already at the length limit (`jl360_tracepoin`) is cut by the suffix's length first, so that the two differ.
fn suffixed(name: &str, suffix: &str) -> String {
    let full = truncate(&format!("{name}_{suffix}"));
    if full != name {
        return full;
    }
    let keep = name.len().saturating_sub(suffix.len() + 1);
    truncate(&format!("{}_{suffix}", &name[..keep]))
}

/// The object indices of the maps a probe's programs use.
struct ProbeMaps<'a> {
    /// The first user map.
    first_user: usize,
    /// The start time of `elapsed`, when the script reads it.
    start: Option<usize>,
    /// The probe's own maps, in [`jitterlib::probe::Probe::maps`] order.
    own: &'a [usize],
}

/// Generates the program of one probe at one of its points (`(index, fires, gated)`): the prologue, then where
/// the point fires the gate check (when `gated`) and the predicate and the user's block.
/// Returns it with the script spans of its source map.
/// One probe point's program, as [`generate_probe`] returns it.
struct Generated {
    program: Program,
    /// Script spans by source-map origin id.
    spans: Vec<Span>,
    /// Whether the program writes events other than `exit()`'s ([`Gen::writes_events`]).
    writes_events: bool,
}

fn generate_probe(
    probe: &CheckedProbe,
    checked: &Checked,
    maps: &ProbeMaps,
    (point, fires, gated): (usize, bool, bool),
) -> Result<Generated, Diagnostic> {
    let mut gen = Gen::new(probe, checked, maps.first_user, point)?;
    gen.start_map = maps.start;
    gen.enter(probe.span);
    let counter = |stat: Stat| Counter { map: STATS_MAP_INDEX, key: stat as u32 };
    let counters = Counters {
        map_updates: UpdateFailures { full: counter(Stat::MapFull), refused: counter(Stat::MapRefused) },
        slots_full: counter(Stat::SlotsFull),
        skb_reused: counter(Stat::SkbReused),
        skb_out_of_order: counter(Stat::SkbOutOfOrder),
    };
    let exit = gen.exit;
    let empty_block = probe.body.is_empty() && probe.predicate.is_none();
    let site = PointSite { point, fires, maps: maps.own, counters, gate: gated.then_some(GATE), empty_block };
    emit_point(&mut Block { gen: &mut gen, probe }, probe.probe.as_ref(), exit, &site)?;
    let program = finish_point(gen.b)
        .map_err(|error| Diagnostic::new(Code::Internal, probe.span, format!("cannot assemble this probe: {error}")))?;
    Ok(Generated { program, spans: gen.spans, writes_events: gen.writes_events })
}

/// What runs at a probe's point: the predicate, then the block.
struct Block<'g, 'a> {
    gen: &'g mut Gen<'a>,
    probe: &'a CheckedProbe,
}

impl PointBody for Block<'_, '_> {
    type Error = Diagnostic;

    fn builder(&mut self) -> &mut Builder {
        &mut self.gen.b
    }

    fn emit(&mut self) -> Result<(), Diagnostic> {
        if let Some(predicate) = &self.probe.predicate {
            self.gen.b.comment("predicate");
            let exit = self.gen.exit;
            self.gen.share_predicate_read(predicate, &self.probe.body, predicate.span)?;
            let mark = self.gen.frame.mark();
            self.gen.branch(predicate, false, exit)?;
            self.gen.frame.release(mark);
        }
        self.gen.block_with_shared_read(&self.probe.body)
    }
}

/// State while generating one program.
pub(crate) struct Gen<'a> {
    b: Builder,
    frame: Frame,
    exit: Label,
    checked: &'a Checked,
    probe: &'a dyn jitterlib::probe::Probe,
    /// Which of the probe's points the program runs at.
    point: usize,
    first_user_map: usize,
    /// Stack slot of each `$variable`.
    vars: Vec<i16>,
    /// The type of each `$variable` (a value assigned may be narrower: see [`Gen::value_as`]).
    var_types: &'a [Type],
    /// In a map loop's body with a `return`, the variable that `return` sets (see `StmtKind::ForMap`).
    loop_return: Option<usize>,
    /// Where the variables sit: from this many bytes below the frame pointer down to that many.
    vars_bytes: std::ops::Range<i32>,
    /// Object index of the start time of `elapsed`, when the script reads it.
    start_map: Option<usize>,
    /// The loops enclosing the statement being generated, innermost last.
    loops: Vec<stmt::LoopLabels>,
    /// Script spans by source-map origin id ([`Gen::enter`]).
    spans: Vec<Span>,
    /// Whether the program writes an event other than `exit()`'s: the event ring's size depends on it.
    writes_events: bool,
    /// The map read the predicate shares with the block, while generating them.
    shared: Option<reuse::SharedRead>,
}

/// The program run first in the BEGIN phase: `jl_start[0] = bpf_ktime_get_ns()`.
fn start_program(map: usize) -> Result<Program, BuildError> {
    let mut b = Builder::new();
    let out = b.new_label();
    b.comment("record the start time for `elapsed`");
    b.store_imm(Size::W, Reg::R10, -4, 0);
    jitterlib::agg::emit::emit_lookup(&mut b, map, -4);
    b.jump_if(JmpOp::Eq, Reg::R0, 0, out);
    b.mov64(Reg::R6, Reg::R0);
    b.call(Helper::KtimeGetNs);
    b.store(Size::DW, Reg::R6, 0, Reg::R0);
    b.bind(out);
    b.mov64(Reg::R0, 0);
    b.exit();
    b.finish()
}

impl<'a> Gen<'a> {
    fn new(
        probe: &'a CheckedProbe,
        checked: &'a Checked,
        first_user_map: usize,
        point: usize,
    ) -> Result<Gen<'a>, Diagnostic> {
        let mut b = Builder::new();
        let exit = b.new_label();
        let mut frame = Frame::new(probe.probe.stack_bytes());
        let vars_start = frame.mark();
        let vars = probe.vars.iter().map(|ty| frame.alloc(ty.size(), probe.span)).collect::<Result<_, _>>()?;
        let vars_bytes = vars_start..frame.mark();
        Ok(Gen {
            b,
            frame,
            exit,
            checked,
            probe: probe.probe.as_ref(),
            point,
            first_user_map,
            vars,
            var_types: &probe.vars,
            loop_return: None,
            vars_bytes,
            start_map: None,
            loops: Vec::new(),
            spans: Vec::new(),
            writes_events: false,
            shared: None,
        })
    }

    fn user_map(&self, map: usize) -> usize {
        self.first_user_map + map
    }

    /// The object index of the stack-trace map of stacks cut at `frames` frames.
    fn stacks_map(&self, frames: u32) -> usize {
        STACKS_MAP_INDEX + self.checked.stacks.iter().position(|known| *known == frames).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{suffixed, EVENTS_BYTES, EVENTS_MAP_INDEX, IDLE_EVENTS_BYTES};
    use jitterlib::kernel::FixtureKernel;

    #[test]
    fn a_probes_other_programs_never_take_its_own_name() {
        assert_eq!(suffixed("jl0_softirq", "stamp"), "jl0_softirq_sta");
        assert_eq!(suffixed("jl360_tracepoin", "disp"), "jl360_trac_disp");
    }

    #[test]
    fn only_scripts_that_write_events_get_the_full_ring_buffer() {
        let ring = |source: &str| {
            let compiled = crate::compile(source, &FixtureKernel::bundled()).expect("compiles");
            compiled.maps[EVENTS_MAP_INDEX].max_entries
        };
        assert_eq!(ring("tracepoint:irq:softirq_entry { @[args.vec] = count(); }"), IDLE_EVENTS_BYTES);
        assert_eq!(ring("tracepoint:irq:softirq_entry { printf(\"%d\\n\", args.vec); }"), EVENTS_BYTES);
        // exit() writes an event too, but only its first matters: the idle ring holds thousands.
        assert_eq!(ring("tracepoint:irq:softirq_entry { @ = count(); } interval:s:1 { exit(); }"), IDLE_EVENTS_BYTES);
        assert_eq!(ring("interval:s:1 { print(@x); exit(); } BEGIN { @x = 1; }"), EVENTS_BYTES);
        // An event written only inside a loop's callback still counts.
        assert_eq!(
            ring("BEGIN { @m[1] = 1; } interval:s:1 { for ($kv : @m) { printf(\"%d\\n\", $kv.0); } }"),
            EVENTS_BYTES
        );
    }
}

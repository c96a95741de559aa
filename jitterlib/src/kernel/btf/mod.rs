//! A small reader for the kernel's BTF blob (`/sys/kernel/btf/vmlinux`): struct member offsets, function
//! parameter types and enums, nothing else.
//!
//! Format reference: <https://docs.kernel.org/bpf/btf.html>. The blob (5.4 MB on Linux 6.18) is not held:
//! it is read where it lies, a few pages at a time ([`source`]); what is kept is where every 32nd type starts
//! and an index of the names of the kinds looked up by name ([`layer`]), which the running kernel's can keep
//! across runs ([`cache`]). A lookup reads the few types and names it needs.

mod cache;
mod layer;
mod source;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use self::cache::IndexOrigin;
use self::layer::{Family, Layer};
use self::source::Source;
use super::KernelError;

/// Where the running kernel exposes its own BTF.
pub(crate) const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const MAGIC: u16 = 0xeb9f;
/// Types nested deeper than this through modifiers, arrays or anonymous members are treated as malformed.
const MAX_DEPTH: usize = 64;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// The signed bit of an INT's encoding (the byte above its bit size).
const BTF_INT_SIGNED: u32 = 1;

/// Where a struct member lives, as BTF describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Byte offset from the start of the outer struct (anonymous unions/structs already added in).
    /// For bitfields: the byte holding the field's lowest bit.
    pub offset: u32,
    /// Size in bytes. For bitfields: how many bytes to load at `offset` (1, 2, 4 or 8) to cover the field.
    pub size: u32,
    /// For bitfields: the field's lowest bit within the loaded value (little endian), `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_offset: Option<u32>,
    /// For bitfields: the width in bits, `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_width: Option<u32>,
    /// The member's C type as written in BTF, e.g. `unsigned int`, `struct net_device *`, `char[16]`.
    pub type_name: String,
    /// What the member holds, typedefs and modifiers looked through.
    pub kind: MemberKind,
}

/// What a struct member holds, with typedefs, `const` and `volatile` looked through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// An integer, enum or bool of [`Member::size`] bytes.
    Int {
        /// Whether it is signed.
        signed: bool,
    },
    /// A pointer.
    Pointer {
        /// The struct or union it points to, if it points to a named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A fixed-size array of `count` elements of [`Member::size`] / `count` bytes each.
    Array {
        /// What each element holds.
        element: Box<MemberKind>,
        /// Number of elements.
        count: u32,
        /// Whether the elements are `char`s (a C string), as opposed to bytes (`u8`) or numbers.
        text: bool,
    },
    /// A struct or union embedded by value: its members are reached by extending the member path.
    Record,
    /// Anything else (floating point, function pointers, empty types).
    Other,
}

/// A kernel enum as BTF describes it: what the values of its type are called.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelEnum {
    /// Its name (`skb_drop_reason`), empty for an anonymous enum.
    pub name: String,
    /// Size of its values in bytes.
    pub size: u32,
    /// Whether its values are signed.
    pub signed: bool,
    /// Its enumerators `(value, name)`, in declaration order.
    pub enumerators: Vec<(i64, String)>,
}

/// What [`Btf::find_enum`] looks an enum up by.
#[derive(Clone, Copy)]
enum Named {
    /// Its own name.
    Enum,
    /// One of its enumerators' names.
    Enumerator,
}

/// The kernel's BTF, read in place: vmlinux', or a module's split BTF on top of it.
#[derive(Debug, Clone)]
pub struct Btf {
    /// vmlinux' blob first, then the split blob on top of it, if any.
    layers: Vec<Arc<Layer>>,
}

/// The fixed part of one type record.
#[derive(Clone, Copy, Debug)]
struct TypeHeader {
    name_off: u32,
    kind: u32,
    vlen: usize,
    kind_flag: bool,
    /// `size` for INT, STRUCT, UNION, ENUM, FLOAT, DATASEC; `type` for the others.
    size_or_type: u32,
}

impl TypeHeader {
    /// Decodes the 12 bytes at the start of `bytes`.
    #[inline]
    fn decode(bytes: &[u8]) -> Option<TypeHeader> {
        let info = read_u32(bytes, 4)?;
        Some(TypeHeader {
            name_off: read_u32(bytes, 0)?,
            kind: (info >> 24) & 0x1f,
            vlen: (info & 0xffff) as usize,
            kind_flag: info >> 31 == 1,
            size_or_type: read_u32(bytes, 8)?,
        })
    }
}

/// One type: its header and the kind-specific data after it (members, parameters, array bounds).
struct Record {
    header: TypeHeader,
    data: Vec<u8>,
}

impl Record {
    /// The 32-bit word at byte `at` of the kind-specific data.
    fn word(&self, at: usize) -> Option<u32> {
        read_u32(&self.data, at)
    }
}

impl Btf {
    /// Opens the running kernel's BTF (`/sys/kernel/btf/vmlinux`).
    pub fn vmlinux() -> Result<Btf, KernelError> {
        Btf::read(Path::new(VMLINUX_BTF))
    }

    /// Opens the running kernel's BTF as [`Btf::vmlinux`] does, with its index (what the walk of its types
    /// finds) read from a file an earlier run kept in `dir` when that file fits this kernel, else walked and kept
    /// there for the next run; [`IndexOrigin`] says which, and why. A directory that cannot be read or written
    /// only means the walk.
    pub fn vmlinux_indexed(dir: &Path) -> Result<(Btf, IndexOrigin), KernelError> {
        let path = Path::new(VMLINUX_BTF);
        let file = File::open(path).map_err(|error| KernelError::io(path, error))?;
        let metadata = file.metadata().map_err(|error| KernelError::io(path, error))?;
        let layer = Layer::unindexed(path, Source::open(file), None)?;
        let identity = cache::Identity::of_running(&layer, &metadata);
        let (layer, origin) = cache::index(layer, identity, dir)?;
        Ok((Btf { layers: vec![Arc::new(layer)] }, origin))
    }

    /// Opens the BTF blob at `path`, read in place: it stays open and is read as questions come.
    pub fn read(path: &Path) -> Result<Btf, KernelError> {
        let file = File::open(path).map_err(|error| KernelError::io(path, error))?;
        Btf::open(path, Source::open(file), None)
    }

    /// Parses a raw BTF blob held in memory; `path` is only used in error messages.
    pub fn parse(path: &Path, data: Vec<u8>) -> Result<Btf, KernelError> {
        Btf::open(path, Source::Memory(data), None)
    }

    /// Opens the BTF of loaded kernel module `module` (`/sys/kernel/btf/MODULE`), which is split BTF on top of
    /// `base` (vmlinux'): its type ids and name offsets continue the base's. `None` when the module has no BTF
    /// (not loaded, or built without it).
    pub fn module(base: &Btf, module: &str) -> Result<Option<Btf>, KernelError> {
        let path = Path::new(VMLINUX_BTF).with_file_name(module);
        match File::open(&path) {
            Ok(file) => Btf::open(&path, Source::open(file), Some(base)).map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(KernelError::io(&path, error)),
        }
    }

    /// Parses split BTF `data`, held in memory, on top of `base`: one [`Btf`] answering for both.
    pub fn parse_split(base: &Btf, path: &Path, data: Vec<u8>) -> Result<Btf, KernelError> {
        Btf::open(path, Source::Memory(data), Some(base))
    }

    fn open(path: &Path, source: Source, base: Option<&Btf>) -> Result<Btf, KernelError> {
        let mut layers = base.map(|base| base.layers.clone()).unwrap_or_default();
        let layer = Layer::open(path, source, layers.last().cloned())?;
        layers.push(Arc::new(layer));
        Ok(Btf { layers })
    }

    /// Number of types, not counting `void`.
    pub fn type_count(&self) -> usize {
        self.layers.iter().map(|layer| layer.count as usize).sum()
    }

    /// Where `member` lives in `struct struct_name` (or `union struct_name`), looking through anonymous
    /// struct and union members. `member` may be a path through embedded structs and unions, `a.b.c` (an
    /// array on the way stands for its first element). `None` when the struct or the member does not exist.
    pub fn struct_member(&self, struct_name: &str, member: &str) -> Result<Option<Member>, KernelError> {
        let Some(mut id) = self.find_record(struct_name)? else {
            return Ok(None);
        };
        let (mut bits, mut bit_width) = (0u32, 0);
        for name in member.split('.') {
            let Some(record) = self.record_of(id)? else {
                return Ok(None);
            };
            let Some(found) = self.find_member(record, name, bits, 0)? else {
                return Ok(None);
            };
            (id, bits, bit_width) = found;
        }
        self.describe_member(id, bits, bit_width).map(Some)
    }

    /// The member names of `struct struct_name`, or of the struct or union embedded at member path `path`
    /// (`""` for the struct itself), members of anonymous structs and unions included, in declaration order.
    /// `None` when the struct does not exist or `path` is not an embedded struct or union.
    pub fn struct_members(&self, struct_name: &str, path: &str) -> Result<Option<Vec<String>>, KernelError> {
        let Some(mut id) = self.find_record(struct_name)? else {
            return Ok(None);
        };
        for name in path.split('.').filter(|name| !name.is_empty()) {
            let Some(record) = self.record_of(id)? else {
                return Ok(None);
            };
            let Some((member, _, _)) = self.find_member(record, name, 0, 0)? else {
                return Ok(None);
            };
            id = member;
        }
        let Some(record) = self.record_of(id)? else {
            return Ok(None);
        };
        let mut names = Vec::new();
        self.collect_member_names(record, &mut names, 0)?;
        Ok(Some(names))
    }

    /// `struct name` (`union` when `union` is true) written as C, as bpftrace's `-lv 'struct NAME'` prints it: a
    /// member a line indented by a tab, anonymous structs and unions written out in place, bitfields `name: width`,
    /// arrays and function pointers as C declares them, `};` closing. `None` when BTF has no such struct or union.
    pub fn record_definition(&self, union: bool, name: &str) -> Result<Option<String>, KernelError> {
        let Some(id) = self.find_record(name)? else {
            return Ok(None);
        };
        if (self.record(id)?.header.kind == KIND_UNION) != union {
            return Ok(None);
        }
        let keyword = if union { "union" } else { "struct" };
        let mut text = format!("{keyword} {name} {{\n");
        self.write_members(id, 1, &mut text)?;
        text.push_str("};\n");
        Ok(Some(text))
    }

    /// The members of struct or union `id`, one a line at `indent` tabs (see [`Btf::record_definition`]).
    fn write_members(&self, id: u32, indent: usize, out: &mut String) -> Result<(), KernelError> {
        if indent > MAX_DEPTH {
            return Err(self.malformed("anonymous members nest too deep"));
        }
        let record = self.record(id)?;
        let is_struct = record.header.kind == KIND_STRUCT;
        let tabs = "\t".repeat(indent);
        // Where the previous member ends, in bits, and whether it was a bitfield: a gap the compiler would not leave
        // by itself is written as padding, as libbpf (and so bpftrace) writes it.
        let (mut end, mut after_bitfield) = (0u32, false);
        for index in 0..record.header.vlen {
            let at = index * 12;
            let (name_off, type_id, offset_word) =
                (self.word(&record, at)?, self.word(&record, at + 4)?, self.word(&record, at + 8)?);
            let name = self.name(name_off)?;
            let (bit_offset, width) = match record.header.kind_flag {
                true => (offset_word & 0x00ff_ffff, offset_word >> 24),
                false => (offset_word, 0),
            };
            if is_struct {
                let align = self.align_bits(type_id, 0)?;
                self.write_padding(end, bit_offset, align, after_bitfield && width != 0, &tabs, out);
                (end, after_bitfield) = match width {
                    0 => (bit_offset + self.type_size(type_id, 0)? * 8, false),
                    width => (bit_offset + width, true),
                };
            }
            let member_type = match type_id {
                0 => None,
                _ => Some(self.record(type_id)?.header),
            };
            match member_type {
                // An anonymous struct or union: written out in place.
                Some(header) if matches!(header.kind, KIND_STRUCT | KIND_UNION) && header.name_off == 0 => {
                    let keyword = if header.kind == KIND_UNION { "union" } else { "struct" };
                    let named = if name.is_empty() { String::new() } else { format!(" {name}") };
                    if header.vlen == 0 {
                        out.push_str(&format!("{tabs}{keyword} {{}}{named};\n"));
                    } else {
                        out.push_str(&format!("{tabs}{keyword} {{\n"));
                        self.write_members(type_id, indent + 1, out)?;
                        out.push_str(&format!("{tabs}}}{named};\n"));
                    }
                }
                _ => {
                    let bits = if width == 0 { String::new() } else { format!(": {width}") };
                    out.push_str(&format!("{tabs}{}{bits};\n", self.declaration(type_id, &name)?));
                }
            }
        }
        if is_struct {
            let align = self.align_bits(id, 0)?;
            self.write_padding(end, record.header.size_or_type * 8, align, false, &tabs, out);
        }
        Ok(())
    }

    /// Padding from bit `from` to bit `to` (where a member aligned to `align` bits, or the struct's end, starts)
    /// when the compiler would not leave that gap by itself, as libbpf's C dump writes it: unnamed bitfields of
    /// `long`, `int`, `short` or `char`, the widest whose alignment lands at or before `to` first (`long: 0;` when
    /// only that marker makes the compiler align), then whole ones, then the smallest that holds the rest.
    fn write_padding(&self, from: u32, to: u32, align: u32, in_bitfield: bool, tabs: &str, out: &mut String) {
        const PADS: [(&str, u32); 4] = [("long", 64), ("int", 32), ("short", 16), ("char", 8)];
        if from >= to {
            return;
        }
        let round_up = |value: u32, to: u32| value.div_ceil(to) * to;
        let (mut at, (mut pad, mut pad_bits)) = (from, PADS[3]);
        for (name, bits) in PADS {
            (pad, pad_bits) = (name, bits);
            if round_up(from, bits) <= to {
                break;
            }
        }
        let aligned = round_up(from, pad_bits);
        if aligned > from && aligned <= to {
            let marker_needed = in_bitfield
                || (aligned == to && round_up(from, align.max(8)) != aligned)
                || (aligned != to && to - aligned <= aligned - from);
            if marker_needed {
                out.push_str(&format!("{tabs}{pad}: {};\n", if in_bitfield { aligned - from } else { 0 }));
            }
            at = aligned;
        }
        while at < to {
            let left = to - at;
            let (name, bits) = match left >= pad_bits {
                true => (pad, pad_bits),
                false => PADS.iter().rev().copied().find(|(_, bits)| *bits >= left).unwrap_or(PADS[0]),
            };
            let bits = bits.min(left);
            out.push_str(&format!("{tabs}{name}: {bits};\n"));
            at += bits;
        }
    }

    /// The natural alignment of type `id` in bits: its size for integers, enums and floats (at most 8 bytes),
    /// a pointer's, an array's element's, the widest of a struct's or union's members.
    fn align_bits(&self, id: u32, depth: usize) -> Result<u32, KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("type nesting too deep"));
        }
        let id = self.skip_modifiers(id)?;
        if id == 0 {
            return Ok(8);
        }
        let record = self.record(id)?;
        Ok(match record.header.kind {
            KIND_INT | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT => record.header.size_or_type.clamp(1, 8) * 8,
            KIND_PTR => 64,
            KIND_ARRAY => self.align_bits(self.word(&record, 0)?, depth + 1)?,
            KIND_STRUCT | KIND_UNION => {
                let mut align = 8;
                for index in 0..record.header.vlen {
                    align = align.max(self.align_bits(self.word(&record, index * 12 + 4)?, depth + 1)?);
                }
                align
            }
            _ => 8,
        })
    }

    /// A C declaration of `name` as type `id`: `char comm[16]`, `struct file *f`, `void (*fn)(int)`.
    fn declaration(&self, id: u32, name: &str) -> Result<String, KernelError> {
        // The dimensions of an array follow the name; a qualifier of the array (`const u8[16]`) goes first.
        let (mut element, mut dimensions, mut qualifiers) = (id, String::new(), String::new());
        for _ in 0..MAX_DEPTH {
            let Some(kind) = self.kind_of(element)? else { break };
            let record = self.record(element)?;
            match kind {
                KIND_ARRAY => {
                    dimensions.push_str(&format!("[{}]", self.word(&record, 8)?));
                    element = self.word(&record, 0)?;
                }
                KIND_CONST | KIND_VOLATILE if self.kind_of(record.header.size_or_type)? == Some(KIND_ARRAY) => {
                    qualifiers.push_str(if kind == KIND_CONST { "const " } else { "volatile " });
                    element = record.header.size_or_type;
                }
                _ => break,
            }
        }
        let type_name = format!("{qualifiers}{}", self.type_name(element, 0)?);
        Ok(match type_name.split_once("(*)") {
            Some((returns, params)) if self.kind_of(element)? == Some(KIND_PTR) => {
                format!("{returns}(*{name}{dimensions}){params}")
            }
            _ if type_name.ends_with('*') => format!("{type_name}{name}{dimensions}"),
            _ => format!("{type_name} {name}{dimensions}"),
        })
    }

    /// The size in bytes of `struct name` (or `union name`), `None` when it does not exist.
    pub fn struct_size(&self, name: &str) -> Result<Option<u32>, KernelError> {
        match self.find_record(name)? {
            Some(id) => Ok(Some(self.record(id)?.header.size_or_type)),
            None => Ok(None),
        }
    }

    /// The alignment in bytes of `struct name` (or `union name`) as C lays it out: the widest of its members',
    /// `None` when it does not exist.
    pub fn struct_align(&self, name: &str) -> Result<Option<u32>, KernelError> {
        match self.find_record(name)? {
            Some(id) => Ok(Some(self.align_bits(id, 0)? / 8)),
            None => Ok(None),
        }
    }

    fn find_record(&self, name: &str) -> Result<Option<u32>, KernelError> {
        self.find_named(name, Family::Types, |kind| matches!(kind, KIND_STRUCT | KIND_UNION))
    }

    /// The struct or union type `id` is, through modifiers and arrays (an array stands for its first element).
    fn record_of(&self, id: u32) -> Result<Option<u32>, KernelError> {
        let mut id = self.skip_modifiers(id)?;
        for _ in 0..MAX_DEPTH {
            match self.kind_of(id)? {
                Some(KIND_STRUCT | KIND_UNION) => return Ok(Some(id)),
                Some(KIND_ARRAY) => id = self.skip_modifiers(self.word(&self.record(id)?, 0)?)?,
                _ => return Ok(None),
            }
        }
        Err(self.malformed("array nesting too deep"))
    }

    fn collect_member_names(&self, record: u32, names: &mut Vec<String>, depth: usize) -> Result<(), KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("anonymous members nest too deep"));
        }
        let record = self.record(record)?;
        for index in 0..record.header.vlen {
            let at = index * 12;
            let (name_off, type_id) = (self.word(&record, at)?, self.word(&record, at + 4)?);
            match self.name(name_off)?.as_str() {
                "" => {
                    if let Some(inner) = self.record_of(type_id)? {
                        self.collect_member_names(inner, names, depth + 1)?;
                    }
                }
                name => names.push(name.to_string()),
            }
        }
        Ok(())
    }

    /// The parameters `(name, C type)` of kernel function `name`, `None` when BTF has no such function.
    ///
    /// Meant for typing kprobe/fentry arguments; unnamed parameters get an empty name.
    pub fn function_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        let Some(func) = self.function_id(name)? else {
            return Ok(None);
        };
        self.proto_params(self.record(func)?.header.size_or_type).map(Some)
    }

    /// The type id of kernel function `name` (what `attach_btf_id` of an fentry program names), `None` when
    /// BTF has no such function.
    pub fn function_id(&self, name: &str) -> Result<Option<u32>, KernelError> {
        self.find_named(name, Family::Functions, |kind| kind == KIND_FUNC)
    }

    /// The arguments `(name, C type)` of raw tracepoint `name`, from the prototype of its `btf_trace_NAME`
    /// typedef without the leading `void *` context; `None` when BTF has no such typedef.
    ///
    /// The typedef's parameters are unnamed; names come from the `__bpf_trace_NAME` function when the event
    /// has its own class, else they are `arg0`, `arg1`, ...
    pub fn raw_tracepoint_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        let typedef_name = format!("btf_trace_{name}");
        let Some(typedef) = self.find_named(&typedef_name, Family::Types, |kind| kind == KIND_TYPEDEF)? else {
            return Ok(None);
        };
        let pointer = self.record(self.record(typedef)?.header.size_or_type)?.header;
        if pointer.kind != KIND_PTR {
            return Err(self.malformed("btf_trace typedef is not a function pointer"));
        }
        let typed = self.proto_params(pointer.size_or_type)?;
        let named = self.function_params(&format!("__bpf_trace_{name}"))?.filter(|named| named.len() == typed.len());
        let params = typed.into_iter().enumerate().skip(1).map(|(index, (_, type_name))| {
            let name = named.as_ref().map(|named| named[index].0.clone()).filter(|name| !name.is_empty());
            (name.unwrap_or_else(|| format!("arg{}", index - 1)), type_name)
        });
        Ok(Some(params.collect()))
    }

    /// `enum name`, `None` when BTF has no such enum.
    pub fn enum_type(&self, name: &str) -> Result<Option<KernelEnum>, KernelError> {
        self.find_enum(name, Named::Enum)
    }

    /// The enum, named or anonymous, that has an enumerator called `enumerator` (the first such in type order),
    /// `None` when none has: what a script's bare `SKB_DROP_REASON_NOT_SPECIFIED` means.
    pub fn enum_with(&self, enumerator: &str) -> Result<Option<KernelEnum>, KernelError> {
        self.find_enum(enumerator, Named::Enumerator)
    }

    /// The first enum, in type order, of which `name` names what `named` says; a complete one (with
    /// enumerators) beats a forward declaration.
    fn find_enum(&self, name: &str, named: Named) -> Result<Option<KernelEnum>, KernelError> {
        if name.is_empty() {
            return Ok(None);
        }
        let mut fallback = None;
        for layer in &self.layers {
            // Where the strings read in place, the offsets that hold the name; else names are read to compare.
            let offsets = layer.name_offsets(name);
            if offsets.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            let is_name = |name_off: u32| -> Result<bool, KernelError> {
                Ok(match &offsets {
                    Some(offsets) => offsets.contains(&name_off),
                    None => name_off != 0 && self.name_bytes(name_off)? == name.as_bytes(),
                })
            };
            for place in layer.enums()? {
                let found = match named {
                    Named::Enum => is_name(place.name_off)?,
                    Named::Enumerator => {
                        let (header, data) = layer.enum_record(place)?;
                        let record = Record { header, data };
                        let stride = if record.header.kind == KIND_ENUM64 { 12 } else { 8 };
                        let mut found = false;
                        for index in 0..record.header.vlen {
                            found = found || is_name(self.word(&record, index * stride)?)?;
                        }
                        found
                    }
                };
                if found {
                    let found = self.enum_at(place.id)?;
                    if !found.enumerators.is_empty() {
                        return Ok(Some(found));
                    }
                    fallback.get_or_insert(found);
                }
            }
        }
        Ok(fallback)
    }

    /// The enum of type `id` (an ENUM or ENUM64).
    fn enum_at(&self, id: u32) -> Result<KernelEnum, KernelError> {
        let record = self.record(id)?;
        let header = record.header;
        let wide = header.kind == KIND_ENUM64;
        let mut enumerators = Vec::with_capacity(header.vlen);
        for index in 0..header.vlen {
            let at = index * if wide { 12 } else { 8 };
            let low = self.word(&record, at + 4)?;
            let value = match (wide, header.kind_flag) {
                (true, _) => (u64::from(self.word(&record, at + 8)?) << 32 | u64::from(low)) as i64,
                (false, true) => i64::from(low as i32),
                (false, false) => i64::from(low),
            };
            enumerators.push((value, self.name(self.word(&record, at)?)?));
        }
        Ok(KernelEnum {
            name: self.name(header.name_off)?,
            size: header.size_or_type,
            signed: header.kind_flag,
            enumerators,
        })
    }

    /// The parameters `(name, C type)` of FUNC_PROTO `proto`.
    fn proto_params(&self, proto: u32) -> Result<Vec<(String, String)>, KernelError> {
        let proto = self.record(proto)?;
        if proto.header.kind != KIND_FUNC_PROTO {
            return Err(self.malformed("expected a FUNC_PROTO"));
        }
        let mut params = Vec::with_capacity(proto.header.vlen);
        for index in 0..proto.header.vlen {
            let at = index * 8;
            let (name_off, type_id) = (self.word(&proto, at)?, self.word(&proto, at + 4)?);
            params.push((self.name(name_off)?, self.type_name(type_id, 0)?));
        }
        Ok(params)
    }

    /// The first type of an accepted kind (of `family`) called `name`; a complete one (with a size) beats a
    /// forward one.
    fn find_named(&self, name: &str, family: Family, accept: impl Fn(u32) -> bool) -> Result<Option<u32>, KernelError> {
        let mut fallback = None;
        for layer in &self.layers {
            for id in layer.candidates(family, name)? {
                let header = self.record(id)?.header;
                if !accept(header.kind) || self.name_bytes(header.name_off)? != name.as_bytes() {
                    continue;
                }
                if header.kind == KIND_FUNC || header.size_or_type != 0 || header.vlen != 0 {
                    return Ok(Some(id));
                }
                fallback.get_or_insert(id);
            }
        }
        Ok(fallback)
    }

    /// Searches struct/union `id` (placed at `base_bits` in the outer struct) for `member`: its type id, bit
    /// offset in the outer struct and bitfield width (0 for a plain member).
    fn find_member(
        &self,
        id: u32,
        member: &str,
        base_bits: u32,
        depth: usize,
    ) -> Result<Option<(u32, u32, u32)>, KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("anonymous members nest too deep"));
        }
        let record = self.record(id)?;
        for index in 0..record.header.vlen {
            let at = index * 12;
            let (name_off, type_id, offset_word) =
                (self.word(&record, at)?, self.word(&record, at + 4)?, self.word(&record, at + 8)?);
            let (bit_offset, bit_width) = match record.header.kind_flag {
                true => (offset_word & 0x00ff_ffff, offset_word >> 24),
                false => (offset_word, 0),
            };
            let bits = base_bits.saturating_add(bit_offset);
            let name = self.name_bytes(name_off)?;
            if name == member.as_bytes() {
                return Ok(Some((type_id, bits, bit_width)));
            }
            if name.is_empty() {
                let inner = self.skip_modifiers(type_id)?;
                if matches!(self.kind_of(inner)?, Some(KIND_STRUCT | KIND_UNION)) {
                    if let Some(found) = self.find_member(inner, member, bits, depth + 1)? {
                        return Ok(Some(found));
                    }
                }
            }
        }
        Ok(None)
    }

    fn describe_member(&self, type_id: u32, bits: u32, bit_width: u32) -> Result<Member, KernelError> {
        let type_name = self.type_name(type_id, 0)?;
        let kind = self.member_kind(type_id, 0)?;
        if bit_width == 0 {
            return Ok(Member {
                offset: bits / 8,
                size: self.type_size(type_id, 0)?,
                bit_offset: None,
                bit_width: None,
                type_name,
                kind,
            });
        }
        let bit_offset = bits % 8;
        let bytes_needed = (bit_offset + bit_width).div_ceil(8);
        Ok(Member {
            offset: bits / 8,
            size: bytes_needed.next_power_of_two(),
            bit_offset: Some(bit_offset),
            bit_width: Some(bit_width),
            type_name,
            kind,
        })
    }

    fn member_kind(&self, type_id: u32, depth: usize) -> Result<MemberKind, KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("type nesting too deep"));
        }
        let id = self.skip_modifiers(type_id)?;
        if id == 0 {
            return Ok(MemberKind::Other);
        }
        let record = self.record(id)?;
        let header = record.header;
        Ok(match header.kind {
            KIND_INT => MemberKind::Int { signed: self.word(&record, 0)? >> 24 & BTF_INT_SIGNED != 0 },
            KIND_ENUM | KIND_ENUM64 => MemberKind::Int { signed: header.kind_flag },
            KIND_PTR => {
                let target = self.skip_modifiers(header.size_or_type)?;
                let named = match target {
                    0 => None,
                    _ => Some(self.record(target)?.header)
                        .filter(|target| matches!(target.kind, KIND_STRUCT | KIND_UNION | KIND_FWD)),
                };
                let name = named.map(|target| self.name(target.name_off)).transpose()?.filter(|name| !name.is_empty());
                MemberKind::Pointer { target: name }
            }
            KIND_ARRAY => {
                let (element, count) = (self.word(&record, 0)?, self.word(&record, 8)?);
                MemberKind::Array {
                    element: Box::new(self.member_kind(element, depth + 1)?),
                    count,
                    text: self.is_char(element)?,
                }
            }
            KIND_STRUCT | KIND_UNION => MemberKind::Record,
            _ => MemberKind::Other,
        })
    }

    /// Whether `id` is a `char` (signed or not) through `const`/`volatile`, not through typedefs: `u8` is a byte.
    fn is_char(&self, mut id: u32) -> Result<bool, KernelError> {
        for _ in 0..MAX_DEPTH {
            if id == 0 {
                return Ok(false);
            }
            let header = self.record(id)?.header;
            match header.kind {
                KIND_CONST | KIND_VOLATILE => id = header.size_or_type,
                KIND_INT => return Ok(self.name(header.name_off)?.ends_with("char")),
                _ => return Ok(false),
            }
        }
        Err(self.malformed("modifier chain too long"))
    }

    /// Follows typedef, const, volatile, restrict and type tags to the underlying type.
    fn skip_modifiers(&self, mut id: u32) -> Result<u32, KernelError> {
        for _ in 0..MAX_DEPTH {
            if id == 0 {
                return Ok(0);
            }
            let header = self.record(id)?.header;
            match header.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => id = header.size_or_type,
                _ => return Ok(id),
            }
        }
        Err(self.malformed("modifier chain too long"))
    }

    fn type_size(&self, id: u32, depth: usize) -> Result<u32, KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("array nesting too deep"));
        }
        let id = self.skip_modifiers(id)?;
        if id == 0 {
            return Ok(0);
        }
        let record = self.record(id)?;
        match record.header.kind {
            KIND_PTR => Ok(8),
            KIND_ARRAY => {
                let (element, count) = (self.word(&record, 0)?, self.word(&record, 8)?);
                Ok(self.type_size(element, depth + 1)?.saturating_mul(count))
            }
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT | KIND_DATASEC => {
                Ok(record.header.size_or_type)
            }
            _ => Ok(0),
        }
    }

    /// A C-like rendering of type `id`: `unsigned int`, `struct sk_buff *`, `const char *`, `u8[6]`.
    fn type_name(&self, id: u32, depth: usize) -> Result<String, KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("type nesting too deep"));
        }
        if id == 0 {
            return Ok("void".to_string());
        }
        let record = self.record(id)?;
        let header = record.header;
        let name = self.name(header.name_off)?;
        let inner = |target: u32| self.type_name(target, depth + 1);
        Ok(match header.kind {
            KIND_PTR if self.kind_of(header.size_or_type)? == Some(KIND_FUNC_PROTO) => {
                self.function_pointer_name(header.size_or_type, depth + 1)?
            }
            // `char **`, as C writes a pointer to a pointer.
            KIND_PTR => match inner(header.size_or_type)? {
                pointer if pointer.ends_with('*') => format!("{pointer}*"),
                target => format!("{target} *"),
            },
            KIND_ARRAY => format!("{}[{}]", inner(self.word(&record, 0)?)?, self.word(&record, 8)?),
            // A qualified pointer is qualified after its `*`, as C writes it: `char * const`.
            KIND_CONST | KIND_VOLATILE => {
                let qualifier = if header.kind == KIND_CONST { "const" } else { "volatile" };
                match inner(header.size_or_type)? {
                    pointer if pointer.ends_with('*') => format!("{pointer} {qualifier}"),
                    target => format!("{qualifier} {target}"),
                }
            }
            KIND_RESTRICT | KIND_TYPE_TAG => inner(header.size_or_type)?,
            KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FWD => {
                let keyword = match header.kind {
                    KIND_STRUCT => "struct",
                    KIND_UNION => "union",
                    KIND_FWD if header.kind_flag => "union",
                    KIND_FWD => "struct",
                    _ => "enum",
                };
                match name.as_str() {
                    "" => format!("{keyword} <anonymous>"),
                    _ => format!("{keyword} {name}"),
                }
            }
            KIND_FUNC_PROTO => "function".to_string(),
            _ => name,
        })
    }

    /// `void (*)(struct timer_list *)` for a pointer to FUNC_PROTO `proto`.
    fn function_pointer_name(&self, proto: u32, depth: usize) -> Result<String, KernelError> {
        let record = self.record(proto)?;
        let mut params = Vec::with_capacity(record.header.vlen);
        for index in 0..record.header.vlen {
            let param_type = self.word(&record, index * 8 + 4)?;
            // A trailing parameter of type 0 marks a variadic function.
            params.push(match param_type {
                0 => "...".to_string(),
                _ => self.type_name(param_type, depth + 1)?,
            });
        }
        let returns = self.type_name(record.header.size_or_type, depth + 1)?;
        // C's `(void)`: a function that takes nothing.
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        Ok(format!("{returns} (*)({params})"))
    }

    fn kind_of(&self, id: u32) -> Result<Option<u32>, KernelError> {
        Ok(match id {
            0 => None,
            _ => Some(self.record(id)?.header.kind),
        })
    }

    /// Type `id`, from whichever blob holds it.
    fn record(&self, id: u32) -> Result<Record, KernelError> {
        let layer = self
            .layers
            .iter()
            .rev()
            .find(|layer| id >= layer.first_id)
            .filter(|layer| id != 0 && id - layer.first_id < layer.count)
            .ok_or_else(|| self.malformed("reference to a missing type id"))?;
        let (header, data) = layer.record(id)?;
        Ok(Record { header, data })
    }

    fn word(&self, record: &Record, at: usize) -> Result<u32, KernelError> {
        record.word(at).ok_or_else(|| self.malformed("truncated type data"))
    }

    /// The name at string offset `offset`, from whichever blob's strings hold it.
    fn name_bytes(&self, offset: u32) -> Result<Vec<u8>, KernelError> {
        self.layers.last().expect("a Btf has a blob").name(offset)
    }

    fn name(&self, offset: u32) -> Result<String, KernelError> {
        String::from_utf8(self.name_bytes(offset)?).map_err(|_| self.malformed("name is not UTF-8"))
    }

    /// An error about the blob on top (the module's, for split BTF).
    fn malformed(&self, reason: &str) -> KernelError {
        self.layers.last().expect("a Btf has a blob").malformed(reason)
    }
}

#[inline]
fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Bytes of kind-specific data after the 12-byte record; `None` for unknown kinds.
#[inline]
fn extra_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
        KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_FUNC | KIND_FLOAT
        | KIND_TYPE_TAG => 0,
        KIND_ARRAY => 12,
        KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
        KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
        _ => return None,
    })
}

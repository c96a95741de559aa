//! A small reader for the kernel's BTF blob (`/sys/kernel/btf/vmlinux`): struct member offsets and
//! function parameter types, nothing else.
//!
//! Format reference: <https://docs.kernel.org/bpf/btf.html>. Parsing only records where each type starts;
//! names and members are read from the blob when asked.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::KernelError;

/// Where the running kernel exposes its own BTF.
pub(crate) const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const MAGIC: u16 = 0xeb9f;
const HEADER_MIN_LEN: usize = 24;
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

/// A parsed BTF blob.
#[derive(Debug)]
pub struct Btf {
    path: PathBuf,
    data: Vec<u8>,
    strings: std::ops::Range<usize>,
    /// For split BTF (a module's, on top of vmlinux'): the size of the base's string section, the first name
    /// offset that falls in `module_strings` (offset minus that size) instead of `strings`.
    module_strings: Option<(u32, std::ops::Range<usize>)>,
    /// Byte offset in `data` of each type, indexed by type id (id 0, `void`, has none).
    type_starts: Vec<usize>,
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
    /// Where the kind-specific data following the 12-byte record starts.
    extra: usize,
}

impl Btf {
    /// Reads and parses the running kernel's BTF (`/sys/kernel/btf/vmlinux`).
    pub fn vmlinux() -> Result<Btf, KernelError> {
        Btf::read(Path::new(VMLINUX_BTF))
    }

    /// Reads and parses a BTF blob from `path`.
    pub fn read(path: &Path) -> Result<Btf, KernelError> {
        let data = std::fs::read(path).map_err(|error| KernelError::io(path, error))?;
        Btf::parse(path, data)
    }

    /// Parses a raw BTF blob; `path` is only used in error messages.
    pub fn parse(path: &Path, data: Vec<u8>) -> Result<Btf, KernelError> {
        let fail = |reason: &str| KernelError::Btf { path: path.to_path_buf(), reason: reason.to_string() };
        if data.len() < HEADER_MIN_LEN {
            return Err(fail("shorter than its header"));
        }
        if u16::from_ne_bytes([data[0], data[1]]) != MAGIC {
            return Err(fail("bad magic (not BTF, or of the other byte order)"));
        }
        let header_word = |at: usize| read_u32(&data, at).map(|value| value as usize);
        let header_len = header_word(4).ok_or_else(|| fail("truncated header"))?;
        let field = |at: usize| header_word(at).ok_or_else(|| fail("truncated header"));
        let (type_off, type_len, str_off, str_len) = (field(8)?, field(12)?, field(16)?, field(20)?);
        let section = |offset: usize, len: usize| {
            let start = header_len.checked_add(offset)?;
            let end = start.checked_add(len)?;
            (end <= data.len()).then_some(start..end)
        };
        let types = section(type_off, type_len).ok_or_else(|| fail("type section out of bounds"))?;
        let strings = section(str_off, str_len).ok_or_else(|| fail("string section out of bounds"))?;
        let mut type_starts = vec![0];
        let mut at = types.start;
        while at < types.end {
            type_starts.push(at);
            let header = type_header(&data, at).ok_or_else(|| fail("truncated type record"))?;
            at = header.extra + extra_len(header.kind, header.vlen).ok_or_else(|| fail("unknown type kind"))?;
        }
        if at != types.end {
            return Err(fail("type section ends inside a record"));
        }
        Ok(Btf { path: path.to_path_buf(), data, strings, module_strings: None, type_starts })
    }

    /// Reads the BTF of loaded kernel module `module` (`/sys/kernel/btf/MODULE`), which is split BTF on top of
    /// `base` (vmlinux'): its type ids and name offsets continue the base's. `None` when the module has no BTF
    /// (not loaded, or built without it).
    pub fn module(base: &Btf, module: &str) -> Result<Option<Btf>, KernelError> {
        let path = Path::new(VMLINUX_BTF).with_file_name(module);
        match std::fs::read(&path) {
            Ok(data) => Btf::parse_split(base, &path, data).map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(KernelError::io(&path, error)),
        }
    }

    /// Parses split BTF `data` on top of `base`: one [`Btf`] answering for both.
    pub fn parse_split(base: &Btf, path: &Path, data: Vec<u8>) -> Result<Btf, KernelError> {
        let module = Btf::parse(path, data)?;
        let shift = base.data.len();
        let mut data = base.data.clone();
        data.extend_from_slice(&module.data);
        let mut type_starts = base.type_starts.clone();
        type_starts.extend(module.type_starts[1..].iter().map(|start| start + shift));
        let base_strings = u32::try_from(base.strings.len()).map_err(|_| base.malformed("string section too large"))?;
        let module_strings = (module.strings.start + shift)..(module.strings.end + shift);
        Ok(Btf {
            path: path.to_path_buf(),
            data,
            strings: base.strings.clone(),
            module_strings: Some((base_strings, module_strings)),
            type_starts,
        })
    }

    /// Number of types, not counting `void`.
    pub fn type_count(&self) -> usize {
        self.type_starts.len() - 1
    }

    /// Where `member` lives in `struct struct_name` (or `union struct_name`), looking through anonymous
    /// struct and union members. `member` may be a path through embedded structs and unions, `a.b.c` (an
    /// array on the way stands for its first element). `None` when the struct or the member does not exist.
    pub fn struct_member(&self, struct_name: &str, member: &str) -> Result<Option<Member>, KernelError> {
        let Some(mut id) = self.find_record(struct_name) else {
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
        let Some(mut id) = self.find_record(struct_name) else {
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

    fn find_record(&self, name: &str) -> Option<u32> {
        self.find_named(name, |kind| matches!(kind, KIND_STRUCT | KIND_UNION))
    }

    /// The struct or union type `id` is, through modifiers and arrays (an array stands for its first element).
    fn record_of(&self, id: u32) -> Result<Option<u32>, KernelError> {
        let mut id = self.skip_modifiers(id)?;
        for _ in 0..MAX_DEPTH {
            match self.kind_of(id)? {
                Some(KIND_STRUCT | KIND_UNION) => return Ok(Some(id)),
                Some(KIND_ARRAY) => id = self.skip_modifiers(self.word(self.header(id)?.extra)?)?,
                _ => return Ok(None),
            }
        }
        Err(self.malformed("array nesting too deep"))
    }

    fn collect_member_names(&self, record: u32, names: &mut Vec<String>, depth: usize) -> Result<(), KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed("anonymous members nest too deep"));
        }
        let header = self.header(record)?;
        for index in 0..header.vlen {
            let at = header.extra + index * 12;
            let (name_off, type_id) = (self.word(at)?, self.word(at + 4)?);
            match self.name(name_off)? {
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
        let Some(func) = self.function_id(name) else {
            return Ok(None);
        };
        self.proto_params(self.header(func)?.size_or_type).map(Some)
    }

    /// The type id of kernel function `name` (what `attach_btf_id` of an fentry program names), `None` when
    /// BTF has no such function.
    pub fn function_id(&self, name: &str) -> Option<u32> {
        self.find_named(name, |kind| kind == KIND_FUNC)
    }

    /// The arguments `(name, C type)` of raw tracepoint `name`, from the prototype of its `btf_trace_NAME`
    /// typedef without the leading `void *` context; `None` when BTF has no such typedef.
    ///
    /// The typedef's parameters are unnamed; names come from the `__bpf_trace_NAME` function when the event
    /// has its own class, else they are `arg0`, `arg1`, ...
    pub fn raw_tracepoint_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        let typedef_name = format!("btf_trace_{name}");
        let Some(typedef) = self.find_named(&typedef_name, |kind| kind == KIND_TYPEDEF) else {
            return Ok(None);
        };
        let pointer = self.header(self.header(typedef)?.size_or_type)?;
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

    /// The parameters `(name, C type)` of FUNC_PROTO `proto`.
    fn proto_params(&self, proto: u32) -> Result<Vec<(String, String)>, KernelError> {
        let proto = self.header(proto)?;
        if proto.kind != KIND_FUNC_PROTO {
            return Err(self.malformed("expected a FUNC_PROTO"));
        }
        let mut params = Vec::with_capacity(proto.vlen);
        for index in 0..proto.vlen {
            let at = proto.extra + index * 8;
            let (name_off, type_id) = (self.word(at)?, self.word(at + 4)?);
            params.push((self.name(name_off)?.to_string(), self.type_name(type_id, 0)?));
        }
        Ok(params)
    }

    /// The first type of an accepted kind called `name`; a complete one (with a size) beats a forward one.
    fn find_named(&self, name: &str, accept: impl Fn(u32) -> bool) -> Option<u32> {
        let mut fallback = None;
        for id in 1..self.type_starts.len() as u32 {
            let Ok(header) = self.header(id) else {
                continue;
            };
            if !accept(header.kind) || self.name(header.name_off).ok() != Some(name) {
                continue;
            }
            if header.kind == KIND_FUNC || header.size_or_type != 0 || header.vlen != 0 {
                return Some(id);
            }
            fallback.get_or_insert(id);
        }
        fallback
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
        let header = self.header(id)?;
        for index in 0..header.vlen {
            let at = header.extra + index * 12;
            let (name_off, type_id, offset_word) = (self.word(at)?, self.word(at + 4)?, self.word(at + 8)?);
            let (bit_offset, bit_width) = match header.kind_flag {
                true => (offset_word & 0x00ff_ffff, offset_word >> 24),
                false => (offset_word, 0),
            };
            let bits = base_bits.saturating_add(bit_offset);
            let name = self.name(name_off)?;
            if name == member {
                return Ok(Some((type_id, bits, bit_width)));
            }
            if name.is_empty() {
                let inner = self.skip_modifiers(type_id)?;
                if matches!(self.header(inner)?.kind, KIND_STRUCT | KIND_UNION) {
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
        let Some(kind) = self.kind_of(id)? else {
            return Ok(MemberKind::Other);
        };
        let header = self.header(id)?;
        Ok(match kind {
            KIND_INT => MemberKind::Int { signed: self.word(header.extra)? >> 24 & BTF_INT_SIGNED != 0 },
            KIND_ENUM | KIND_ENUM64 => MemberKind::Int { signed: header.kind_flag },
            KIND_PTR => {
                let target = self.skip_modifiers(header.size_or_type)?;
                let named = match self.kind_of(target)? {
                    Some(KIND_STRUCT | KIND_UNION | KIND_FWD) => Some(self.header(target)?),
                    _ => None,
                };
                let name = named.map(|target| self.name(target.name_off)).transpose()?.filter(|name| !name.is_empty());
                MemberKind::Pointer { target: name.map(str::to_string) }
            }
            KIND_ARRAY => {
                let (element, count) = (self.word(header.extra)?, self.word(header.extra + 8)?);
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
            let Some(kind) = self.kind_of(id)? else {
                return Ok(false);
            };
            let header = self.header(id)?;
            match kind {
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
            let header = self.header(id)?;
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
        let header = self.header(id)?;
        match header.kind {
            KIND_PTR => Ok(8),
            KIND_ARRAY => {
                let (element, count) = (self.word(header.extra)?, self.word(header.extra + 8)?);
                Ok(self.type_size(element, depth + 1)?.saturating_mul(count))
            }
            KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT | KIND_DATASEC => {
                Ok(header.size_or_type)
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
        let header = self.header(id)?;
        let name = self.name(header.name_off)?;
        let inner = |target: u32| self.type_name(target, depth + 1);
        Ok(match header.kind {
            KIND_PTR if self.kind_of(header.size_or_type)? == Some(KIND_FUNC_PROTO) => {
                self.function_pointer_name(header.size_or_type, depth + 1)?
            }
            KIND_PTR => format!("{} *", inner(header.size_or_type)?),
            KIND_ARRAY => format!("{}[{}]", inner(self.word(header.extra)?)?, self.word(header.extra + 8)?),
            KIND_CONST => format!("const {}", inner(header.size_or_type)?),
            KIND_VOLATILE => format!("volatile {}", inner(header.size_or_type)?),
            KIND_RESTRICT | KIND_TYPE_TAG => inner(header.size_or_type)?,
            KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FWD => {
                let keyword = match header.kind {
                    KIND_STRUCT => "struct",
                    KIND_UNION => "union",
                    KIND_FWD if header.kind_flag => "union",
                    KIND_FWD => "struct",
                    _ => "enum",
                };
                match name {
                    "" => format!("{keyword} <anonymous>"),
                    _ => format!("{keyword} {name}"),
                }
            }
            KIND_FUNC_PROTO => "function".to_string(),
            _ => name.to_string(),
        })
    }

    /// `void (*)(struct timer_list *)` for a pointer to FUNC_PROTO `proto`.
    fn function_pointer_name(&self, proto: u32, depth: usize) -> Result<String, KernelError> {
        let header = self.header(proto)?;
        let mut params = Vec::with_capacity(header.vlen);
        for index in 0..header.vlen {
            let param_type = self.word(header.extra + index * 8 + 4)?;
            // A trailing parameter of type 0 marks a variadic function.
            params.push(match param_type {
                0 => "...".to_string(),
                _ => self.type_name(param_type, depth + 1)?,
            });
        }
        let returns = self.type_name(header.size_or_type, depth + 1)?;
        Ok(format!("{returns} (*)({})", params.join(", ")))
    }

    fn kind_of(&self, id: u32) -> Result<Option<u32>, KernelError> {
        Ok(match id {
            0 => None,
            _ => Some(self.header(id)?.kind),
        })
    }

    fn header(&self, id: u32) -> Result<TypeHeader, KernelError> {
        let start = *self
            .type_starts
            .get(id as usize)
            .filter(|_| id != 0)
            .ok_or_else(|| self.malformed("reference to a missing type id"))?;
        type_header(&self.data, start).ok_or_else(|| self.malformed("truncated type record"))
    }

    fn word(&self, at: usize) -> Result<u32, KernelError> {
        read_u32(&self.data, at).ok_or_else(|| self.malformed("truncated type data"))
    }

    fn name(&self, offset: u32) -> Result<&str, KernelError> {
        let (strings, offset) = match &self.module_strings {
            Some((base_len, module)) if offset >= *base_len => (&self.data[module.clone()], offset - base_len),
            _ => (&self.data[self.strings.clone()], offset),
        };
        let tail =
            strings.get(offset as usize..).ok_or_else(|| self.malformed("name offset outside the string section"))?;
        let end = tail.iter().position(|&byte| byte == 0).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).map_err(|_| self.malformed("name is not UTF-8"))
    }

    fn malformed(&self, reason: &str) -> KernelError {
        KernelError::Btf { path: self.path.clone(), reason: reason.to_string() }
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn type_header(data: &[u8], at: usize) -> Option<TypeHeader> {
    let info = read_u32(data, at + 4)?;
    Some(TypeHeader {
        name_off: read_u32(data, at)?,
        kind: (info >> 24) & 0x1f,
        vlen: (info & 0xffff) as usize,
        kind_flag: info >> 31 == 1,
        size_or_type: read_u32(data, at + 8)?,
        extra: at + 12,
    })
}

/// Bytes of kind-specific data after the 12-byte record; `None` for unknown kinds.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a small BTF blob type by type, the way pahole lays it out.
    #[derive(Default)]
    struct BlobBuilder {
        types: Vec<u8>,
        strings: Vec<u8>,
        /// For split BTF: the base's string section size, added to every name offset.
        string_base: u32,
    }

    impl BlobBuilder {
        fn new() -> BlobBuilder {
            BlobBuilder { types: Vec::new(), strings: vec![0], string_base: 0 }
        }

        fn name(&mut self, name: &str) -> u32 {
            if name.is_empty() {
                return 0;
            }
            let offset = self.string_base + self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            offset
        }

        fn words(&mut self, words: &[u32]) {
            for word in words {
                self.types.extend_from_slice(&word.to_ne_bytes());
            }
        }

        fn record(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32) {
            let name_off = self.name(name);
            let info = (kind << 24) | vlen | if kind_flag { 1 << 31 } else { 0 };
            self.words(&[name_off, info, size_or_type]);
        }

        fn members(&mut self, members: &[(&str, u32, u32)]) {
            for &(name, type_id, offset) in members {
                let name_off = self.name(name);
                self.words(&[name_off, type_id, offset]);
            }
        }

        fn finish(self) -> Vec<u8> {
            let mut blob = Vec::new();
            blob.extend_from_slice(&MAGIC.to_ne_bytes());
            blob.extend_from_slice(&[1, 0]);
            let types_len = self.types.len() as u32;
            for word in [24, 0, types_len, types_len, self.strings.len() as u32] {
                blob.extend_from_slice(&word.to_ne_bytes());
            }
            blob.extend_from_slice(&self.types);
            blob.extend_from_slice(&self.strings);
            blob
        }
    }

    /// `struct outer { int x; union { int a; struct outer *b; }; u8 pad; unsigned char flags:3 (at bit 133);
    /// const unsigned char name[16]; }` and `int my_fn(struct outer *skb, int len)`.
    fn sample_blob() -> Vec<u8> {
        let mut blob = BlobBuilder::new();
        blob.record("int", KIND_INT, 0, false, 4); // 1
        blob.words(&[(1 << 24) | 32]);
        blob.record("unsigned char", KIND_INT, 0, false, 1); // 2
        blob.words(&[8]);
        blob.record("", KIND_ARRAY, 0, false, 0); // 3
        blob.words(&[2, 1, 16]);
        blob.record("", KIND_UNION, 2, false, 8); // 4
        blob.members(&[("a", 1, 0), ("b", 5, 0)]);
        blob.record("", KIND_PTR, 0, false, 6); // 5
        blob.record("outer", KIND_STRUCT, 4, true, 40); // 6
        blob.members(&[("x", 1, 0), ("", 4, 64), ("flags", 2, (3 << 24) | 133), ("name", 7, 192)]);
        blob.record("", KIND_CONST, 0, false, 3); // 7
        blob.record("", KIND_FUNC_PROTO, 2, false, 1); // 8
        blob.members_of_proto(&[("skb", 5), ("len", 1)]);
        blob.record("my_fn", KIND_FUNC, 0, false, 8); // 9
        blob.record("outer", KIND_FWD, 0, false, 0); // 10
        blob.record("", KIND_FUNC_PROTO, 2, false, 0); // 11
        blob.members_of_proto(&[("", 12), ("skb", 5)]);
        blob.record("", KIND_PTR, 0, false, 0); // 12: void *
        blob.record("", KIND_PTR, 0, false, 11); // 13
        blob.record("btf_trace_my_event", KIND_TYPEDEF, 0, false, 13); // 14
        blob.record("btf_trace_other", KIND_TYPEDEF, 0, false, 13); // 15
        blob.record("", KIND_FUNC_PROTO, 2, false, 0); // 16
        blob.members_of_proto(&[("__data", 12), ("buf", 5)]);
        blob.record("__bpf_trace_my_event", KIND_FUNC, 0, false, 16); // 17
        blob.record("wrap", KIND_STRUCT, 2, false, 48); // 18
        blob.members(&[("tag", 1, 0), ("inner", 6, 64)]);
        blob.finish()
    }

    impl BlobBuilder {
        fn members_of_proto(&mut self, params: &[(&str, u32)]) {
            for &(name, type_id) in params {
                let name_off = self.name(name);
                self.words(&[name_off, type_id]);
            }
        }
    }

    fn sample() -> Btf {
        Btf::parse(Path::new("sample"), sample_blob()).unwrap()
    }

    #[test]
    fn split_btf_continues_the_base_ids_and_names() {
        let base = sample();
        let base_strings = base.strings.len() as u32;
        let mut module = BlobBuilder { string_base: base_strings, ..BlobBuilder::new() };
        module.record("mod_s", KIND_STRUCT, 2, false, 48); // 19, after the base's 18 types
        module.members(&[("timer", 6, 0), ("n", 1, 320)]);
        let btf = Btf::parse_split(&base, Path::new("module"), module.finish()).expect("parses");
        assert_eq!(btf.type_count(), 19);
        let n = btf.struct_member("mod_s", "n").unwrap().unwrap();
        assert_eq!((n.offset, n.size, n.type_name.as_str()), (40, 4, "int"));
        let through_base = btf.struct_member("mod_s", "timer.x").unwrap().unwrap();
        assert_eq!((through_base.offset, through_base.type_name.as_str()), (0, "int"));
        assert!(btf.struct_member("outer", "name").unwrap().is_some(), "the base's own structs still resolve");
    }

    #[test]
    fn reads_plain_members() {
        let btf = sample();
        assert_eq!(btf.type_count(), 18);
        let x = btf.struct_member("outer", "x").unwrap().unwrap();
        assert_eq!((x.offset, x.size, x.bit_offset, x.type_name.as_str()), (0, 4, None, "int"));
        let name = btf.struct_member("outer", "name").unwrap().unwrap();
        assert_eq!((name.offset, name.size), (24, 16));
        assert_eq!(name.type_name, "const unsigned char[16]");
    }

    #[test]
    fn descends_into_anonymous_unions() {
        let btf = sample();
        let a = btf.struct_member("outer", "a").unwrap().unwrap();
        assert_eq!((a.offset, a.size), (8, 4));
        let b = btf.struct_member("outer", "b").unwrap().unwrap();
        assert_eq!((b.offset, b.size, b.type_name.as_str()), (8, 8, "struct outer *"));
    }

    #[test]
    fn classifies_member_types() {
        let btf = sample();
        let kind = |m: &str| btf.struct_member("outer", m).unwrap().unwrap().kind;
        assert_eq!(kind("x"), MemberKind::Int { signed: true });
        assert_eq!(kind("flags"), MemberKind::Int { signed: false });
        assert_eq!(kind("b"), MemberKind::Pointer { target: Some("outer".into()) });
        let text = MemberKind::Array { element: Box::new(MemberKind::Int { signed: false }), count: 16, text: true };
        assert_eq!(kind("name"), text);
        assert_eq!(btf.struct_member("wrap", "inner").unwrap().unwrap().kind, MemberKind::Record);
    }

    #[test]
    fn follows_member_paths_through_embedded_structs() {
        let btf = sample();
        let name = btf.struct_member("wrap", "inner.name").unwrap().unwrap();
        assert_eq!((name.offset, name.size), (8 + 24, 16));
        let b = btf.struct_member("wrap", "inner.b").unwrap().unwrap();
        assert_eq!(b.offset, 16, "through the anonymous union of the embedded struct");
        assert_eq!(btf.struct_member("wrap", "inner.missing").unwrap(), None);
        assert_eq!(btf.struct_member("wrap", "tag.x").unwrap(), None, "an int has no members");
    }

    #[test]
    fn lists_members_with_anonymous_ones_flattened() {
        let btf = sample();
        let names = ["x", "a", "b", "flags", "name"].map(String::from).to_vec();
        assert_eq!(btf.struct_members("outer", "").unwrap(), Some(names.clone()));
        assert_eq!(btf.struct_members("wrap", "inner").unwrap(), Some(names));
        assert_eq!(btf.struct_members("wrap", "tag").unwrap(), None);
        assert_eq!(btf.struct_members("nothing", "").unwrap(), None);
    }

    #[test]
    fn decodes_kind_flag_bitfields() {
        let flags = sample().struct_member("outer", "flags").unwrap().unwrap();
        assert_eq!((flags.offset, flags.size), (16, 1));
        assert_eq!((flags.bit_offset, flags.bit_width), (Some(5), Some(3)));
    }

    #[test]
    fn reports_unknown_structs_and_members_as_none() {
        let btf = sample();
        assert_eq!(btf.struct_member("outer", "missing").unwrap(), None);
        assert_eq!(btf.struct_member("nothing", "x").unwrap(), None);
        assert_eq!(btf.struct_member("my_fn", "x").unwrap(), None, "functions are not structs");
    }

    #[test]
    fn lists_function_parameters() {
        let params = sample().function_params("my_fn").unwrap().unwrap();
        let expected = [("skb", "struct outer *"), ("len", "int")];
        assert_eq!(params, expected.map(|(name, ty)| (name.to_string(), ty.to_string())));
        assert_eq!(sample().function_params("absent").unwrap(), None);
    }

    #[test]
    fn lists_raw_tracepoint_arguments_without_the_context() {
        let named = sample().raw_tracepoint_params("my_event").unwrap().unwrap();
        assert_eq!(named, [("buf".to_string(), "struct outer *".to_string())], "named by __bpf_trace_my_event");
        let unnamed = sample().raw_tracepoint_params("other").unwrap().unwrap();
        assert_eq!(unnamed, [("arg0".to_string(), "struct outer *".to_string())]);
        assert_eq!(sample().raw_tracepoint_params("my_fn").unwrap(), None);
    }

    #[test]
    fn rejects_malformed_blobs() {
        let path = Path::new("bad");
        assert!(matches!(Btf::parse(path, vec![0; 8]), Err(KernelError::Btf { .. })));
        let mut wrong_magic = sample_blob();
        wrong_magic[0] ^= 0xff;
        assert!(matches!(Btf::parse(path, wrong_magic), Err(KernelError::Btf { .. })));
        let mut truncated = sample_blob();
        truncated.truncate(60);
        assert!(matches!(Btf::parse(path, truncated), Err(KernelError::Btf { .. })));
        let mut unknown_kind = sample_blob();
        unknown_kind[24 + 7] = 30; // kind byte of type 1
        assert!(matches!(Btf::parse(path, unknown_kind), Err(KernelError::Btf { .. })));
    }

    #[test]
    fn reads_the_running_kernel() {
        if !Path::new(VMLINUX_BTF).exists() {
            eprintln!("SKIPPED: {VMLINUX_BTF} is absent (kernel without CONFIG_DEBUG_INFO_BTF)");
            return;
        }
        let started = std::time::Instant::now();
        let btf = Btf::vmlinux().unwrap();
        let parsed = started.elapsed();
        let offset = |s: &str, m: &str| btf.struct_member(s, m).unwrap().map(|member| member.offset);
        let started = std::time::Instant::now();
        // Known-good values for the Linux 6.18 development host, checked with bpftool.
        if btf.struct_member("sk_buff", "len").unwrap().is_some_and(|m| m.offset == 112) {
            assert_eq!(offset("sk_buff", "dev"), Some(16));
            assert_eq!(offset("net_device", "name"), Some(280));
            assert_eq!(offset("task_struct", "pid"), Some(1264));
        } else {
            eprintln!("SKIPPED: offsets of the 6.18 development host (this kernel differs)");
        }
        assert!(offset("sk_buff", "len").is_some());
        let looked_up = started.elapsed();
        let params = btf.function_params("ip_rcv").unwrap().unwrap();
        assert_eq!(params[0], ("skb".to_string(), "struct sk_buff *".to_string()));
        let switch = btf.raw_tracepoint_params("sched_switch").unwrap().unwrap();
        assert!(switch.iter().any(|(name, ty)| name == "next" && ty == "struct task_struct *"), "{switch:?}");
        eprintln!("BTF: {} types, read+parse {parsed:?}, four member lookups {looked_up:?}", btf.type_count());
    }
}

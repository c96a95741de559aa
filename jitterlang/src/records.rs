//! C `struct` definitions written in a script (`struct foo { int a; char *p; }`), laid out with C's rules for
//! x86-64 and laid over the kernel's BTF: `(struct foo *)arg0` and `->` then work as for kernel structs. BTF
//! already types the kernel, so these are for user memory (uprobes) and kernel types without BTF.

use crate::ast::{FieldDecl, RecordDef};
use crate::diag::{Code, Diagnostic, Diagnostics};
use jitterlib::kernel::{
    FunctionProbes, KernelEnum, KernelError, KernelInfo, KernelVersion, Member, MemberKind, Symbol, TracepointFormat,
    TracepointProbes,
};
use std::collections::HashMap;
use std::sync::Arc;

/// C integer type names: bytes, signed.
const C_INTEGERS: &[(&str, u32, bool)] = &[
    ("char", 1, true),
    ("signed char", 1, true),
    ("unsigned char", 1, false),
    ("bool", 1, false),
    ("_Bool", 1, false),
    ("short", 2, true),
    ("unsigned short", 2, false),
    ("int", 4, true),
    ("unsigned", 4, false),
    ("unsigned int", 4, false),
    ("long", 8, true),
    ("unsigned long", 8, false),
    ("long long", 8, true),
    ("unsigned long long", 8, false),
    ("size_t", 8, false),
    ("ssize_t", 8, true),
    ("pid_t", 4, true),
];

/// A laid-out user struct: its members in order, its size and alignment.
#[derive(Debug)]
struct Layout {
    members: Vec<(String, Member)>,
    size: u32,
    align: u32,
}

/// The kernel's metadata with the script's own structs in front: a struct the script defines hides the
/// kernel's of the same name.
pub struct WithRecords<'k> {
    kernel: &'k dyn KernelInfo,
    records: HashMap<String, Layout>,
}

impl<'k> WithRecords<'k> {
    /// Lays out `defs` in order (a struct may embed or point to those before it, and point to itself).
    pub fn new(defs: &[RecordDef], kernel: &'k dyn KernelInfo) -> Result<WithRecords<'k>, Diagnostics> {
        let mut records = HashMap::new();
        for def in defs {
            let layout = layout(def, &records, kernel).map_err(|d| Diagnostics(vec![d]))?;
            records.insert(def.name.clone(), layout);
        }
        Ok(WithRecords { kernel, records })
    }

    /// The member at `path` (`a.b`) of a user struct, `None` when `name` is no user struct; a kernel struct it
    /// embeds is read from BTF.
    fn member(&self, name: &str, path: &str) -> Option<Result<Option<Member>, KernelError>> {
        let mut layout = self.records.get(name)?;
        let mut offset = 0;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let Some((_, member)) = layout.members.iter().find(|(field, _)| field == part) else {
                return Some(Ok(None));
            };
            if parts.peek().is_none() {
                return Some(Ok(Some(Member { offset: offset + member.offset, ..member.clone() })));
            }
            offset += member.offset;
            let inner_name = member.type_name.strip_prefix("struct ");
            match (&member.kind, inner_name.and_then(|inner| self.records.get(inner))) {
                (MemberKind::Record, Some(inner)) => layout = inner,
                (MemberKind::Record, None) => {
                    let (inner, rest) = (inner_name.unwrap_or_default(), parts.collect::<Vec<_>>().join("."));
                    let found = self.kernel.struct_member(inner, &rest);
                    return Some(
                        found.map(|found| found.map(|inner| Member { offset: offset + inner.offset, ..inner })),
                    );
                }
                _ => return Some(Ok(None)),
            }
        }
        Some(Ok(None))
    }
}

fn layout(def: &RecordDef, known: &HashMap<String, Layout>, kernel: &dyn KernelInfo) -> Result<Layout, Diagnostic> {
    let mut members: Vec<(String, Member)> = Vec::new();
    // Where the next member may start, in bits (a bitfield ends anywhere in a byte).
    let (mut end_bits, mut align) = (0u32, 1u32);
    for field in &def.fields {
        if members.iter().any(|(name, _)| *name == field.name) {
            return Err(Diagnostic::new(
                Code::MapConflict,
                field.span,
                format!("struct {} has two members named `{}`", def.name, field.name),
            ));
        }
        let (kind, element_size, field_align, type_name) = field_type(def, field, known, kernel)?;
        let field_align = if def.packed { 1 } else { field_align };
        if let Some(width) = field.bits {
            let member = bitfield(def, field, &kind, element_size, width, &mut end_bits, type_name)?;
            members.push((field.name.clone(), member));
            align = align.max(field_align);
            continue;
        }
        let count = field.dims.iter().try_fold(1u32, |total, dim| total.checked_mul(*dim));
        let bytes = count.and_then(|count| count.checked_mul(element_size)).filter(|bytes| *bytes < 1 << 20);
        let Some(bytes) = bytes else {
            return Err(Diagnostic::new(Code::Limit, field.span, format!("member `{}` is too large", field.name)));
        };
        let kind = field.dims.iter().rev().fold(kind, |element, dim| {
            let text = matches!(element, MemberKind::Int { .. }) && type_name.ends_with("char");
            MemberKind::Array { element: Box::new(element), count: *dim, text }
        });
        let type_name = format!("{type_name}{}", field.dims.iter().map(|dim| format!("[{dim}]")).collect::<String>());
        let offset = end_bits.div_ceil(8).div_ceil(field_align) * field_align;
        let member = Member { offset, size: bytes, bit_offset: None, bit_width: None, type_name, kind };
        members.push((field.name.clone(), member));
        end_bits = (offset + bytes) * 8;
        align = align.max(field_align);
    }
    let align = def.aligned.map_or(align, |aligned| align.max(aligned));
    Ok(Layout { members, size: end_bits.div_ceil(8).div_ceil(align) * align, align })
}

/// A bitfield `TYPE name:width` placed at `*end_bits` as C does on x86-64: in the next bits of the current unit
/// of its type's size, or at the next unit when it would straddle one (packed structs do not move it); the
/// member reads the bytes holding it, as a BTF bitfield.
fn bitfield(
    def: &RecordDef,
    field: &FieldDecl,
    kind: &MemberKind,
    element_size: u32,
    width: u32,
    end_bits: &mut u32,
    type_name: String,
) -> Result<Member, Diagnostic> {
    let unit = element_size * 8;
    if !matches!(kind, MemberKind::Int { .. })
        || field.pointers > 0
        || !field.dims.is_empty()
        || width == 0
        || width > unit
    {
        return Err(Diagnostic::new(
            Code::Unsupported,
            field.span,
            format!("bitfield `{}` of struct {} must be an integer of 1 to {unit} bits", field.name, def.name),
        )
        .with_hint("a bitfield is an integer member with its width in bits: `unsigned int flag:1;`"));
    }
    let mut start = *end_bits;
    if !def.packed && start / unit != (start + width - 1) / unit {
        start = start.div_ceil(unit) * unit;
    }
    *end_bits = start + width;
    let bit_offset = start % 8;
    Ok(Member {
        offset: start / 8,
        size: (bit_offset + width).div_ceil(8).next_power_of_two(),
        bit_offset: Some(bit_offset),
        bit_width: Some(width),
        type_name,
        kind: kind.clone(),
    })
}

/// What one field holds: its kind, the size and alignment of one element, and its C type name.
fn field_type(
    def: &RecordDef,
    field: &FieldDecl,
    known: &HashMap<String, Layout>,
    kernel: &dyn KernelInfo,
) -> Result<(MemberKind, u32, u32, String), Diagnostic> {
    let words = field.type_words.join(" ");
    if field.pointers > 0 {
        let target = words.strip_prefix("struct ").map(str::to_string).filter(|_| field.pointers == 1);
        return Ok((MemberKind::Pointer { target }, 8, 8, format!("{words} {}", "*".repeat(field.pointers))));
    }
    if let Some(inner) = words.strip_prefix("struct ") {
        if let Some(layout) = known.get(inner) {
            return Ok((MemberKind::Record, layout.size, layout.align, words.clone()));
        }
        // Else the kernel's, from BTF, as bpftrace 0.27 takes it (`struct foo { struct task_struct t; }`).
        return match kernel.struct_size(inner).and_then(|size| Ok(size.zip(kernel.struct_align(inner)?))) {
            Ok(Some((size, align))) => Ok((MemberKind::Record, size, align, words.clone())),
            Ok(None) => Err(Diagnostic::new(
                Code::UnknownType,
                field.span,
                format!("struct {} embeds struct {inner}, which is not defined before it", def.name),
            )
            .with_hint(format!(
                "define `struct {inner}` first (this kernel's BTF has none either), or point to it: `struct {inner} *{}`",
                field.name
            ))),
            Err(error) => Err(Diagnostic::new(
                Code::MissingTarget,
                field.span,
                format!("cannot read struct {inner}, which struct {} embeds, from BTF: {error}", def.name),
            )),
        };
    }
    match c_integer(&words) {
        Some((bytes, signed)) => Ok((MemberKind::Int { signed }, bytes, bytes, words)),
        None => Err(Diagnostic::new(Code::UnknownType, field.span, format!("unknown type `{words}` in struct {}", def.name))
            .with_hint("members may be C integers (`int`, `unsigned long`, `u32`, `uint8_t`), pointers, arrays and structs defined before; for any other type, use a pointer (`void *`) or an integer of its size")),
    }
}

/// Bytes and signedness of a C integer type name (`unsigned long`, `const int`, `u32`, `uint8_t`, `int64`).
pub(crate) fn c_integer(words: &str) -> Option<(u32, bool)> {
    C_INTEGERS
        .iter()
        .find(|(name, ..)| *name == words.trim_start_matches("const ").trim_start_matches("signed ").trim())
        .map(|(_, bytes, signed)| (*bytes, *signed))
        .or_else(|| fixed_width(words))
}

/// `u32`, `__s16`, `uint8_t`, `int64`: bytes and signedness of a fixed-width integer name.
fn fixed_width(name: &str) -> Option<(u32, bool)> {
    let unsigned = ["__u", "uint", "u"].iter().find_map(|prefix| name.strip_prefix(prefix));
    let signed = ["__s", "int", "s"].iter().find_map(|prefix| name.strip_prefix(prefix));
    let (rest, is_signed) = match (unsigned, signed) {
        (Some(rest), _) => (rest, false),
        (None, Some(rest)) => (rest, true),
        (None, None) => return None,
    };
    let bits: u32 = rest.strip_suffix("_t").unwrap_or(rest).parse().ok()?;
    matches!(bits, 8 | 16 | 32 | 64).then_some((bits / 8, is_signed))
}

impl KernelInfo for WithRecords<'_> {
    fn version(&self) -> &KernelVersion {
        self.kernel.version()
    }
    fn tracepoint(&self, category: &str, name: &str) -> Result<Arc<TracepointFormat>, KernelError> {
        self.kernel.tracepoint(category, name)
    }
    fn tracepoints(&self) -> Result<Vec<(String, String)>, KernelError> {
        self.kernel.tracepoints()
    }
    fn symbol_addresses(&self, name: &str) -> Result<Vec<u64>, KernelError> {
        self.kernel.symbol_addresses(name)
    }
    fn symbolize(&self, addr: u64) -> Option<Symbol> {
        self.kernel.symbolize(addr)
    }
    fn module_loaded(&self, name: &str) -> bool {
        self.kernel.module_loaded(name)
    }
    fn struct_member(&self, struct_name: &str, member: &str) -> Result<Option<Member>, KernelError> {
        match self.member(struct_name, member) {
            Some(found) => found,
            None => self.kernel.struct_member(struct_name, member),
        }
    }
    fn module_struct_member(
        &self,
        module: &str,
        struct_name: &str,
        member: &str,
    ) -> Result<Option<Member>, KernelError> {
        self.kernel.module_struct_member(module, struct_name, member)
    }
    fn struct_members(&self, struct_name: &str, path: &str) -> Result<Option<Vec<String>>, KernelError> {
        let Some(layout) = self.records.get(struct_name) else { return self.kernel.struct_members(struct_name, path) };
        let inner = match path {
            "" => layout,
            path => {
                let Some(member) = self.member(struct_name, path).transpose()?.flatten() else { return Ok(None) };
                let Some(inner) = member.type_name.strip_prefix("struct ") else { return Ok(None) };
                match self.records.get(inner) {
                    Some(inner) => inner,
                    // A kernel struct the script's embeds.
                    None => return self.kernel.struct_members(inner, ""),
                }
            }
        };
        Ok(Some(inner.members.iter().map(|(name, _)| name.clone()).collect()))
    }
    fn struct_size(&self, struct_name: &str) -> Result<Option<u32>, KernelError> {
        match self.records.get(struct_name) {
            Some(layout) => Ok(Some(layout.size)),
            None => self.kernel.struct_size(struct_name),
        }
    }
    fn struct_align(&self, struct_name: &str) -> Result<Option<u32>, KernelError> {
        match self.records.get(struct_name) {
            Some(layout) => Ok(Some(layout.align)),
            None => self.kernel.struct_align(struct_name),
        }
    }
    fn record_definition(&self, union: bool, name: &str) -> Result<Option<String>, KernelError> {
        self.kernel.record_definition(union, name)
    }
    fn function_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        self.kernel.function_params(name)
    }
    fn module_function_params(&self, module: &str, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        self.kernel.module_function_params(module, name)
    }
    fn raw_tracepoint_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError> {
        self.kernel.raw_tracepoint_params(name)
    }
    fn enum_type(&self, name: &str) -> Result<Option<KernelEnum>, KernelError> {
        self.kernel.enum_type(name)
    }
    fn enum_with(&self, enumerator: &str) -> Result<Option<KernelEnum>, KernelError> {
        self.kernel.enum_with(enumerator)
    }
    fn hz(&self) -> Result<u32, KernelError> {
        self.kernel.hz()
    }
    fn possible_cpus(&self) -> Result<u32, KernelError> {
        self.kernel.possible_cpus()
    }
    fn function_probes(&self) -> FunctionProbes {
        self.kernel.function_probes()
    }
    fn tracepoint_probes(&self) -> TracepointProbes {
        self.kernel.tracepoint_probes()
    }
}

//! Typing probe arguments from BTF prototypes: integer and pointer parameters become fields read from
//! 8-byte slots of the context (pt_regs registers, or the u64 array of fentry and raw tracepoints).

use super::{Field, FieldSource, FieldType};
use crate::agg::EnumNames;
use crate::kernel::{KernelEnum, KernelInfo, StructName};

/// Fields `args.NAME` for `params`, `slot(i)` giving the context offset of parameter `i` (`None` when the
/// parameter is not reachable). Stops at the first parameter that is not an integer or a pointer: a
/// struct passed by value may take several slots, so the offsets of the ones after it are unknown. A kernel
/// enum's values print by name.
pub(super) fn typed_args(
    kernel: &dyn KernelInfo,
    params: &[(String, String)],
    slot: impl Fn(usize) -> Option<u32>,
) -> Vec<Field> {
    params
        .iter()
        .enumerate()
        .map_while(|(index, (name, c_type))| {
            let ty = match kernel_enum(kernel, c_type) {
                Some(found) => enum_field(&found, found.size, found.signed),
                None => scalar_type(c_type)?,
            };
            let offset = slot(index)?;
            let name = if name.is_empty() { format!("arg{index}") } else { name.clone() };
            Some(Field { name, ty, source: FieldSource::Context { offset } })
        })
        .collect()
}

/// Bare fields `arg0`..`argN-1`: the raw 64-bit slots, whatever their C types.
pub(super) fn raw_args(count: usize, slot: impl Fn(usize) -> Option<u32>) -> Vec<Field> {
    (0..count)
        .map_while(|index| {
            let offset = slot(index)?;
            Some(Field { name: format!("arg{index}"), ty: u64_type(), source: FieldSource::Context { offset } })
        })
        .collect()
}

/// `retval` as an unsigned 64-bit value in context slot `offset` (the whole return register).
pub(super) fn retval(offset: u32) -> Field {
    Field { name: "retval".to_string(), ty: u64_type(), source: FieldSource::Context { offset } }
}

/// Whether every parameter takes exactly one 8-byte slot (integers and pointers).
pub(super) fn all_scalar(params: &[(String, String)]) -> bool {
    params.iter().all(|(_, c_type)| scalar_type(c_type).is_some())
}

fn u64_type() -> FieldType {
    FieldType::Int { size: 8, signed: false }
}

/// Whether a C type (as the BTF reader or a tracefs format file writes it) is a pointer: `void *`,
/// `const char *`, `void (*)(int)`.
pub(super) fn is_pointer(c_type: &str) -> bool {
    let bare = c_type.trim();
    bare.ends_with('*') || bare.contains("(*)")
}

/// The kernel enum C type `c_type` names (`enum skb_drop_reason`, as tracefs and the BTF reader write it), `None`
/// for any other type and for an enum the kernel's BTF does not have (or without BTF): a plain integer then.
pub(super) fn kernel_enum(kernel: &dyn KernelInfo, c_type: &str) -> Option<KernelEnum> {
    let name = unqualified(c_type).strip_prefix("enum ")?.trim();
    // Unreadable BTF is not an error here: the value is still right as the number it is.
    kernel.enum_type(name).ok().flatten()
}

/// A field holding a value of kernel enum `found` in `size` bytes.
pub(super) fn enum_field(found: &KernelEnum, size: u32, signed: bool) -> FieldType {
    FieldType::Enum { size: size.min(8), signed, names: EnumNames::of_kernel(found) }
}

/// `c_type` without leading `const` and `volatile`.
fn unqualified(c_type: &str) -> &str {
    let mut bare = c_type.trim();
    while let Some(rest) = bare.strip_prefix("const ").or_else(|| bare.strip_prefix("volatile ")) {
        bare = rest.trim_start();
    }
    bare
}

/// The field type of a C type as the BTF reader renders it; `None` for anything but integers, enums and
/// pointers (structs by value, floats, unknown typedefs). Pointers to structs keep the struct's name.
pub(super) fn scalar_type(c_type: &str) -> Option<FieldType> {
    if let Some(target) = StructName::pointed_to(c_type) {
        return Some(FieldType::Pointer { target });
    }
    if is_pointer(c_type) {
        return Some(FieldType::Address);
    }
    let bare = unqualified(c_type);
    if bare.starts_with("enum ") {
        return Some(FieldType::Int { size: 4, signed: false });
    }
    let (size, signed) = match bare {
        "bool" | "_Bool" | "u8" | "__u8" | "unsigned char" => (1, false),
        "char" | "signed char" | "s8" | "__s8" => (1, true),
        "short int" | "short" | "s16" | "__s16" => (2, true),
        "short unsigned int" | "unsigned short" | "u16" | "__u16" | "__be16" | "__le16" | "umode_t" => (2, false),
        "int" | "s32" | "__s32" | "pid_t" | "__kernel_pid_t" => (4, true),
        "unsigned int" | "u32" | "__u32" | "__be32" | "__le32" | "gfp_t" | "uid_t" | "gid_t" | "dev_t" | "fmode_t" => {
            (4, false)
        }
        "long int" | "long" | "long long int" | "s64" | "__s64" | "ssize_t" | "loff_t" | "ktime_t" | "time64_t" => {
            (8, true)
        }
        "long unsigned int" | "unsigned long" | "long long unsigned int" | "u64" | "__u64" | "size_t" | "sector_t" => {
            (8, false)
        }
        _ => return None,
    };
    Some(FieldType::Int { size, signed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    fn params(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, ty)| (name.to_string(), ty.to_string())).collect()
    }

    #[test]
    fn types_integers_and_pointers() {
        let skb = StructName::new("sk_buff");
        assert_eq!(scalar_type("struct sk_buff *"), Some(FieldType::Pointer { target: skb }));
        assert_eq!(scalar_type("struct sk_buff **"), Some(FieldType::Address));
        assert_eq!(scalar_type("const char *"), Some(FieldType::Address));
        assert_eq!(scalar_type("void (*)(struct timer_list *)"), Some(FieldType::Address));
        assert_eq!(scalar_type("long int"), Some(FieldType::Int { size: 8, signed: true }));
        assert_eq!(scalar_type("const unsigned int"), Some(FieldType::Int { size: 4, signed: false }));
        assert_eq!(scalar_type("bool"), Some(FieldType::Int { size: 1, signed: false }));
        assert_eq!(scalar_type("struct qstr"), None);
        assert_eq!(scalar_type("some_opaque_t"), None);
    }

    #[test]
    fn stops_at_the_first_struct_by_value() {
        let list = params(&[("skb", "struct sk_buff *"), ("", "int"), ("q", "struct qstr"), ("late", "int")]);
        let fields = typed_args(&FixtureKernel::bundled(), &list, |index| Some(index as u32 * 8));
        let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
        assert_eq!(names, ["skb", "arg1"]);
        assert_eq!(fields[1].source, FieldSource::Context { offset: 8 });
        assert!(!all_scalar(&list));
    }

    #[test]
    fn kernel_enums_print_by_name() {
        let kernel = FixtureKernel::bundled();
        let list = params(&[("reason", "enum skb_drop_reason"), ("mode", "enum no_such_enum"), ("x", "int")]);
        let fields = typed_args(&kernel, &list, |index| Some(index as u32 * 8));
        let FieldType::Enum { size: 4, signed: false, names } = fields[0].ty else {
            panic!("not an enum: {:?}", fields[0].ty);
        };
        assert_eq!(
            (names.name(), names.text(2), names.text(100_000)),
            ("skb_drop_reason", "SKB_DROP_REASON_NOT_SPECIFIED".into(), "100000".into())
        );
        assert_eq!(fields[1].ty, FieldType::Int { size: 4, signed: false }, "an enum BTF lacks is a number");
        assert_eq!(fields[2].ty, FieldType::Int { size: 4, signed: true });
    }

    #[test]
    fn raw_args_end_where_slots_end() {
        let fields = raw_args(8, |index| (index < 6).then_some(index as u32));
        assert_eq!(fields.len(), 6);
        assert_eq!(fields[5].name, "arg5");
    }
}

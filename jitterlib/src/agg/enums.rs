//! The names of an enum's values, so that values of an enum type print as bpftrace prints them (`ONE`).

use std::sync::Mutex;

use crate::kernel::KernelEnum;

/// An enum type: its name and its enumerators with their values. Interned for the life of the process, so that it
/// is `Copy` (and so are [`ValueFormat`](super::ValueFormat) and the compiler's types that carry it): a script
/// defines few enums.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnumNames {
    name: &'static str,
    enumerators: &'static [(i64, &'static str)],
}

impl EnumNames {
    /// The enum `name` with these enumerators (value, name), in order.
    pub fn new(name: &str, enumerators: &[(i64, String)]) -> EnumNames {
        static INTERNED: Mutex<Vec<EnumNames>> = Mutex::new(Vec::new());
        let mut interned = INTERNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let same = |known: &EnumNames| {
            known.name == name
                && known.enumerators.len() == enumerators.len()
                && known.enumerators.iter().zip(enumerators).all(|(a, b)| a.0 == b.0 && a.1 == b.1)
        };
        if let Some(known) = interned.iter().find(|known| same(known)) {
            return *known;
        }
        let leak = |text: &str| -> &'static str { Box::leak(text.to_string().into_boxed_str()) };
        let enumerators: Vec<(i64, &'static str)> =
            enumerators.iter().map(|(value, name)| (*value, leak(name))).collect();
        let names = EnumNames { name: leak(name), enumerators: Box::leak(enumerators.into_boxed_slice()) };
        interned.push(names);
        names
    }

    /// The names of kernel enum `found` (an anonymous one is called `<anonymous>`, as jl writes its type).
    pub fn of_kernel(found: &KernelEnum) -> EnumNames {
        let name = if found.name.is_empty() { "<anonymous>" } else { &found.name };
        EnumNames::new(name, &found.enumerators)
    }

    /// The enum's name as the script (or the kernel) calls it.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// The first enumerator whose value is `value`, if any.
    pub fn name_of(self, value: i64) -> Option<&'static str> {
        self.enumerators.iter().find(|(known, _)| *known == value).map(|(_, name)| *name)
    }

    /// The value's text: its enumerator's name, or the number when no enumerator has it (as bpftrace prints it).
    pub fn text(self, value: i64) -> String {
        self.name_of(value).map_or_else(|| value.to_string(), str::to_string)
    }

    /// `value` as flags, as the kernel's `__print_flags` prints them (and bpftrace's printf `%gr`): the name of
    /// each enumerator, a mask, whose bits are all set and not named yet, in order, joined by `|`; the bits no
    /// mask names in hex after them; `0` when no bit is set. Masks of no bits name nothing and are skipped.
    pub fn flags_text(self, value: u64) -> String {
        if value == 0 {
            return "0".to_string();
        }
        let (mut names, mut left) = (Vec::new(), value);
        for &(mask, name) in self.enumerators {
            let mask = mask as u64;
            if mask != 0 && left & mask == mask {
                names.push(name.to_string());
                left &= !mask;
            }
        }
        if left != 0 {
            names.push(format!("0x{left:x}"));
        }
        names.join("|")
    }

    /// The enumerators (value, name), in order.
    pub fn enumerators(self) -> &'static [(i64, &'static str)] {
        self.enumerators
    }

    /// The value of the enumerator called `name`, if any.
    pub fn value_of(self, name: &str) -> Option<i64> {
        self.enumerators.iter().find(|(_, known)| *known == name).map(|(value, _)| *value)
    }

    /// The names of a fixed table (`softirq`'s vectors, `skb`'s hops) as an enum called `name`: each name's value
    /// is its index.
    pub fn table(name: &str, names: impl IntoIterator<Item = impl AsRef<str>>) -> EnumNames {
        let enumerators: Vec<(i64, String)> =
            names.into_iter().enumerate().map(|(i, text)| (i as i64, text.as_ref().to_string())).collect();
        EnumNames::new(name, &enumerators)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_by_name_or_as_numbers() {
        let names = EnumNames::new("Foo", &[(1, "ONE".into()), (-2, "MINUS".into()), (1, "UNO".into())]);
        assert_eq!(names.text(1), "ONE");
        assert_eq!(names.text(-2), "MINUS");
        assert_eq!(names.text(3), "3");
        assert_eq!(EnumNames::new("Foo", &[(1, "ONE".into()), (-2, "MINUS".into()), (1, "UNO".into())]), names);
        assert_ne!(EnumNames::new("Bar", &[(1, "ONE".into())]), names);
        assert_eq!(names.value_of("MINUS"), Some(-2));
        assert_eq!(names.value_of("TWO"), None);
    }

    #[test]
    fn flags_print_compound_masks_first_then_bits_then_the_rest_in_hex() {
        let gfp = [(0xcc0, "GFP_KERNEL"), (0, "NOTHING"), (0x1, "GFP_DMA"), (0x40, "__GFP_IO"), (0x1, "__GFP_DMA")];
        let names = EnumNames::new("gfp", &gfp.map(|(mask, name)| (mask, name.to_string())));
        assert_eq!(names.flags_text(0), "0");
        assert_eq!(names.flags_text(1), "GFP_DMA");
        assert_eq!(names.flags_text(0xcc1), "GFP_KERNEL|GFP_DMA");
        assert_eq!(names.flags_text(0x41), "GFP_DMA|__GFP_IO");
        assert_eq!(names.flags_text(0x40 | 0x1_0000), "__GFP_IO|0x10000");
    }

    #[test]
    fn a_table_numbers_its_names_from_zero() {
        let table = EnumNames::table("hops", ["rx", "tx"]);
        assert_eq!(table.enumerators(), &[(0, "rx"), (1, "tx")]);
        assert_eq!(table.text(1), "tx");
    }
}

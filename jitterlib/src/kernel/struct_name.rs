//! [`StructName`]: the name of a BTF struct or union, interned so that the types that hold it stay `Copy`.

use std::fmt;

/// The name of a kernel struct or union (`sk_buff`), as pointer types of probe fields and script values carry it.
///
/// Names are interned once per process: a kernel has a bounded set of struct names (a few thousand), so the
/// interned text is never freed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StructName(&'static str);

impl StructName {
    /// The interned name `name`.
    pub fn new(name: &str) -> StructName {
        StructName(crate::intern::intern(name))
    }

    /// The name, without `struct`.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The struct named by a C pointer type: `struct sk_buff *` and `const struct sock *` give `sk_buff` and
    /// `sock`; anything else (`char *`, `struct sk_buff **`, `int`) gives `None`.
    pub fn pointed_to(c_type: &str) -> Option<StructName> {
        let mut bare = c_type.trim();
        while let Some(rest) = bare.strip_prefix("const ").or_else(|| bare.strip_prefix("volatile ")) {
            bare = rest.trim_start();
        }
        let record = bare.strip_prefix("struct ").or_else(|| bare.strip_prefix("union "))?;
        let name = record.strip_suffix('*')?.trim_end().trim_end_matches(" const").trim_end();
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        valid.then(|| StructName::new(name))
    }
}

impl fmt::Debug for StructName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", self.0)
    }
}

impl fmt::Display for StructName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_names() {
        assert_eq!(StructName::new("sk_buff"), StructName::new(&String::from("sk_buff")));
        assert!(std::ptr::eq(StructName::new("sock").as_str(), StructName::new("sock").as_str()));
    }

    #[test]
    fn finds_the_struct_of_a_pointer_type() {
        assert_eq!(StructName::pointed_to("struct sk_buff *"), Some(StructName::new("sk_buff")));
        assert_eq!(StructName::pointed_to("const struct sock *"), Some(StructName::new("sock")));
        assert_eq!(StructName::pointed_to("struct sk_buff **"), None);
        assert_eq!(StructName::pointed_to("char *"), None);
        assert_eq!(StructName::pointed_to("struct qstr"), None);
    }
}

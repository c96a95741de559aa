//! Readable names for the mangled symbols of Rust and C++ programs, as `rustfilt` and `c++filt` print them.

use std::borrow::Cow;

/// `name` demangled: Rust names (legacy `_ZN…E` and v0 `_R…`) without their hash suffix, C++ names (`_Z…`)
/// with their parameter types; any other name, or one neither demangler accepts, as it is.
pub(crate) fn demangle(name: &str) -> Cow<'_, str> {
    if let Ok(rust) = rustc_demangle::try_demangle(name) {
        return Cow::Owned(format!("{rust:#}"));
    }
    if name.starts_with("_Z") {
        if let Some(cpp) = cpp_demangle::Symbol::new(name).ok().and_then(|symbol| symbol.demangle().ok()) {
            return Cow::Owned(cpp);
        }
    }
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_lose_their_hash() {
        assert_eq!(demangle("_ZN4core3ptr13drop_in_place17h2b7c4c9a8f5e1d3aE"), "core::ptr::drop_in_place");
        assert_eq!(demangle("_RNvCs1234_7mycrate4main"), "mycrate::main");
    }

    #[test]
    fn cpp_names_keep_their_parameters() {
        assert_eq!(demangle("_ZN3foo3barEv"), "foo::bar()");
        assert_eq!(
            demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"),
            "std::vector<int, std::allocator<int> >::push_back(int const&)"
        );
    }

    #[test]
    fn c_names_and_garbage_stay_as_they_are() {
        assert_eq!(demangle("main"), "main");
        assert_eq!(demangle("_Z"), "_Z");
        assert_eq!(demangle("_ZN"), "_ZN");
    }
}

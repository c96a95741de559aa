//! Interned text: names and formats that types carry while staying `Copy` ([`StructName`], [`TimeFormat`]).
//!
//! [`StructName`]: crate::kernel::StructName
//! [`TimeFormat`]: crate::agg::TimeFormat

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// `text`, stored once per process and never freed: callers intern a bounded set (a kernel's few thousand struct
/// names, a script's formats).
pub(crate) fn intern(text: &str) -> &'static str {
    static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut interned = INTERNED.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = interned.get(text) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.to_string().into_boxed_str());
    interned.insert(leaked);
    leaked
}

//! Any text: the parser returns a syntax tree or diagnostics, and the diagnostics render; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(diagnostics) = jitterlang::syntax::parse(text) {
        let _ = diagnostics.render("fuzz.jl", text);
    }
});

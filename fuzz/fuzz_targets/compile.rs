//! Any text through the whole compiler against the bundled kernel fixture: a program or diagnostics, no panic.
#![no_main]

use jitterlib::kernel::FixtureKernel;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|text: &str| {
    static KERNEL: OnceLock<FixtureKernel> = OnceLock::new();
    let kernel = KERNEL.get_or_init(FixtureKernel::bundled);
    match jitterlang::compile(text, kernel) {
        Ok(compiled) => {
            let _ = compiled.disassembly();
        }
        Err(diagnostics) => {
            let _ = diagnostics.render("fuzz.jl", text);
        }
    }
});

//! Any bytes as eBPF instructions: decoding either fails cleanly or the program disassembles, no panic.
#![no_main]

use jitterlib::insn::{disassemble, Program};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(program) = Program::from_bytes(bytes) {
        let _ = disassemble(&program, &["m0", "m1"]);
    }
});

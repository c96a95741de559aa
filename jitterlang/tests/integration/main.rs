//! All integration tests in one binary: golden disassembly, diagnostic snapshots, runtime tests.

mod bad_input;
mod diagnostics;
mod golden;
mod lifecycle;
mod runtime;
mod support;

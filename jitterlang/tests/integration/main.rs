//! All integration tests in one binary: golden disassembly, diagnostic snapshots, runtime tests.

mod diagnostics;
mod golden;
mod language;
mod runtime;
mod support;

//! All integration tests in one binary: golden disassembly, diagnostic snapshots, runtime tests.

mod diagnostics;
mod golden;
mod raw_probes;
mod runtime;
mod support;

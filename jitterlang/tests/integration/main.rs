//! All integration tests in one binary: golden disassembly, diagnostic snapshots, runtime tests.

mod bad_input;
mod diagnostics;
mod fleet;
mod golden;
mod language;
mod lifecycle;
mod raw_probes;
mod repl;
mod runtime;
mod skb;
mod stacks;
mod support;
mod typed_probes;

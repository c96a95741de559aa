//! All integration tests in one binary: golden disassembly, diagnostic snapshots, runtime tests.

mod actions;
mod bad_input;
mod btf_access;
mod buffers;
mod cli;
mod diagnostics;
mod fleet;
mod golden;
mod hrtimer_nesting;
mod irqoff;
mod language;
mod lifecycle;
mod outliers;
mod raw_bpf;
mod raw_probes;
mod repl;
mod runtime;
mod rust_api;
mod skb;
mod soft_timer;
mod stacks;
mod stall;
mod support;
mod typed_probes;
mod user_stacks;
mod verifier;

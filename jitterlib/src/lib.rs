//! jitterlib: typed kernel probes for network-latency investigations, and everything needed to run them
//! without LLVM: an eBPF instruction builder, an ELF writer, kernel metadata, an aya session and
//! aggregation rendering.
#![deny(missing_docs)]

pub mod agg;
pub mod cgroup;
pub mod culprit;
pub mod driver;
pub mod glob;
pub mod insn;
mod intern;
pub mod kernel;
pub mod maps;
pub mod object;
pub mod probe;
pub mod session;
mod sys;
pub mod testing;
pub mod trace;
pub mod units;
pub mod usym;

//! `jl --info`: what jl knows of the system it runs on, in bpftrace's `--info` sections: the kernel, jl's build,
//! the kernel's BTF and the mechanisms jl can attach with (each with why not, when not). A line bpftrace prints
//! that jl cannot answer for sure is left out.

use crate::output;
use jitterlib::kernel::{Availability, KernelInfo, LiveKernel};
use std::io;

/// The kernel's build string (`uname -v`).
const KERNEL_BUILD: &str = "/proc/sys/kernel/version";

/// Prints the report.
pub fn print(kernel: &LiveKernel) -> io::Result<()> {
    let build = std::fs::read_to_string(KERNEL_BUILD).unwrap_or_default();
    let functions = kernel.function_probes();
    let tracepoints = kernel.tracepoint_probes();
    let btf = match kernel.btf() {
        Ok(_) => Availability::Available,
        Err(error) => Availability::Unavailable(error.to_string()),
    };
    let mut text = format!(
        "System\n  OS: Linux {} {}\n  Arch: {}\n\nBuild\n  version: jl {}\n\nKernel features\n{}\nProbe types\n",
        kernel.version().release,
        build.trim(),
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION"),
        line("btf", &btf),
    );
    for (name, availability) in [
        ("fentry", &functions.fentry),
        ("kprobe", &functions.kprobe),
        ("tp_btf", &tracepoints.tp_btf),
        ("raw tracepoint", &tracepoints.raw_tracepoint),
    ] {
        text.push_str(&line(name, availability));
    }
    // Both attach kprobes, so a kernel without kprobes has neither; with kprobes, jl does not probe for them.
    if !functions.kprobe.is_available() {
        for name in ["kprobe_multi", "kprobe_session"] {
            text.push_str(&line(name, &Availability::Unavailable("no kprobes".into())));
        }
    }
    output::write(text)
}

/// `  name: yes`, or `  name: no (why)`.
fn line(name: &str, availability: &Availability) -> String {
    match availability.reason() {
        None => format!("  {name}: yes\n"),
        Some(why) => format!("  {name}: no ({why})\n"),
    }
}

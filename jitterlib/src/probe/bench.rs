//! `bench:NAME`, bpftrace's micro benchmarks: a block jl runs many times in a row, timed by the kernel, with
//! `--mode bench` (and never otherwise).
//!
//! The block is an XDP program that is never attached: `BPF_PROG_TEST_RUN` repeats and times XDP programs (it
//! refuses a repeat count for raw tracepoint programs), so the time is the program's own, not a system call's.
//! An XDP program runs without a task: helpers about the current task (`pid`, `comm`, kernel reads) are not
//! there, and the verifier says so.

use super::{path_parts, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec, Trigger};
use crate::kernel::KernelInfo;
use crate::session::Attach;

/// Registry entry for `bench`.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "bench",
    aliases: &[],
    syntax: "bench:NAME",
    about: "a micro benchmark: with --mode bench, jl runs the block many times and prints its mean time",
    fields: &[],
    targets: None,
    resolve,
};

#[derive(Debug)]
struct Benchmark {
    name: String,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = path_parts(spec, KIND.name, 2, KIND.syntax)?;
    let name = &parts[1];
    if name.is_empty() {
        return Err(ProbeError::new(ProbeErrorKind::BadSpec, "a `bench` probe needs a name")
            .at(1)
            .with_hint("write `bench:NAME`: the name is the benchmark's row in the results"));
    }
    Ok(Box::new(Benchmark { name: name.clone() }))
}

impl Probe for Benchmark {
    fn describe(&self) -> String {
        format!("bench:{}", self.name)
    }

    fn attach(&self) -> Attach {
        Attach::Benchmark { name: self.name.clone() }
    }

    fn trigger(&self) -> Option<Trigger> {
        Some(Trigger::Bench)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;
    use crate::probe::{path_spec as spec, resolve as resolve_any};

    #[test]
    fn a_benchmark_runs_on_demand_under_its_name() {
        let probe = resolve_any(&spec(&["bench", "count"]), &FixtureKernel::bundled()).expect("resolves");
        assert_eq!(
            (probe.describe(), probe.attach(), probe.trigger()),
            ("bench:count".into(), Attach::Benchmark { name: "count".into() }, Some(Trigger::Bench))
        );
    }

    #[test]
    fn a_benchmark_needs_a_name() {
        let kernel = FixtureKernel::bundled();
        let unnamed = resolve_any(&spec(&["bench", ""]), &kernel).expect_err("no name");
        assert!(unnamed.to_string().contains("needs a name"), "{unnamed}");
        let bare = resolve_any(&spec(&["bench"]), &kernel).expect_err("no name");
        assert!(bare.to_string().contains("`bench:NAME`"), "{bare}");
    }
}

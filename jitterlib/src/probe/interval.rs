//! `interval:s:N`, `interval:ms:N`, `interval:us:N`: runs every N units on one CPU (a perf software clock).

use super::{path_parts, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::{Attach, PerfCounter};

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "interval",
    aliases: &["i"],
    syntax: "interval:s|ms|us:N",
    about: "runs every N seconds/milliseconds/microseconds on CPU 0 (perf software clock)",
    fields: &[],
    resolve,
};

const SYNTAX: &str = "interval:s|ms|us:N";

#[derive(Debug)]
struct Interval {
    unit: String,
    count: u64,
    period_ns: u64,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = path_parts(spec, "interval", 3, SYNTAX)?;
    let scale: u64 = match parts[1].as_str() {
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" => 1_000,
        other => {
            return Err(ProbeError::new(ProbeErrorKind::BadSpec, format!("unknown interval unit `{other}`"))
                .with_hint("use s, ms or us: `interval:s:1`")
                .at(1))
        }
    };
    let count: u64 = parts[2].parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        ProbeError::new(ProbeErrorKind::BadSpec, format!("interval count `{}` is not a positive integer", parts[2]))
            .with_hint("e.g. `interval:ms:100`")
            .at(2)
    })?;
    let period_ns = count.checked_mul(scale).ok_or_else(|| {
        ProbeError::new(ProbeErrorKind::BadSpec, "interval does not fit in 64 bits of nanoseconds").at(2)
    })?;
    Ok(Box::new(Interval { unit: parts[1].clone(), count, period_ns }))
}

impl Probe for Interval {
    fn describe(&self) -> String {
        format!("interval:{}:{}", self.unit, self.count)
    }

    fn attach(&self) -> Attach {
        Attach::Perf { counter: PerfCounter::CpuClock, period: self.period_ns, cpu: Some(0) }
    }
}

//! `profile:UNIT:N` and `profile:UNIT:N:CPU`: samples N times a second (`hz`), or every N seconds, milliseconds or
//! microseconds, on every online CPU, or on one CPU (a perf software CPU clock).

use super::interval::{period, UNITS};
use super::{Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::{Attach, PerfCounter};

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "profile",
    aliases: &["p"],
    syntax: "profile:hz|s|ms|us:N[:CPU]",
    about: "samples N times a second (or every N s/ms/us) on every CPU, or on CPU only (perf software clock); cpu \
            and comm are the interrupted ones",
    fields: &[],
    targets: Some(|| UNITS.iter().map(|unit| format!("profile:{unit}:")).collect()),
    resolve,
};

const SYNTAX: &str = "profile:hz|s|ms|us:N[:CPU]";

#[derive(Debug)]
struct Profile {
    /// As written: `hz:99`.
    rate: String,
    period_ns: u64,
    cpu: Option<u32>,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = match spec {
        ProbeSpec::Path(parts) if parts.len() == 3 || parts.len() == 4 => parts,
        _ => {
            return Err(ProbeError::new(ProbeErrorKind::BadSpec, format!("`profile` probes are written `{SYNTAX}`"))
                .with_hint("e.g. `profile:hz:99` or `profile:hz:99:0`")
                .at(0))
        }
    };
    let period_ns = period("profile", &parts[1], &parts[2])?;
    let cpu =
        match parts.get(3) {
            None => None,
            Some(cpu) => Some(cpu.parse().map_err(|_| {
                ProbeError::new(ProbeErrorKind::BadSpec, format!("CPU `{cpu}` is not a CPU number")).at(3)
            })?),
        };
    Ok(Box::new(Profile { rate: format!("{}:{}", parts[1], parts[2]), period_ns, cpu }))
}

impl Probe for Profile {
    fn describe(&self) -> String {
        match self.cpu {
            Some(cpu) => format!("profile:{}:{cpu}", self.rate),
            None => format!("profile:{}", self.rate),
        }
    }

    fn attach(&self) -> Attach {
        Attach::Perf { counter: PerfCounter::CpuClock, period: self.period_ns, cpu: self.cpu }
    }
}

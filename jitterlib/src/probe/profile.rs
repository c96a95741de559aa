//! `profile:hz:N` and `profile:hz:N:CPU`: samples N times a second on every online CPU, or on one CPU
//! (a perf software CPU clock with period 1e9/N ns).

use super::{Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::{Attach, PerfCounter};

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "profile",
    aliases: &["p"],
    syntax: "profile:hz:N[:CPU]",
    about: "samples N times a second on every CPU, or on CPU only (perf software clock); cpu and comm are the \
            interrupted ones",
    fields: &[],
    resolve,
};

const SYNTAX: &str = "profile:hz:N[:CPU]";
const NS_PER_SECOND: u64 = 1_000_000_000;

#[derive(Debug)]
struct Profile {
    hz: u64,
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
    if parts[1] != "hz" {
        return Err(ProbeError::new(ProbeErrorKind::BadSpec, format!("unknown profile unit `{}`", parts[1]))
            .with_hint("only `hz` is supported: `profile:hz:99`; for a fixed period use `interval:ms:N`")
            .at(1));
    }
    let hz = parts[2].parse().ok().filter(|hz| (1..=NS_PER_SECOND).contains(hz)).ok_or_else(|| {
        ProbeError::new(ProbeErrorKind::BadSpec, format!("profile rate `{}` is not a positive integer", parts[2]))
            .with_hint("e.g. `profile:hz:99` (an odd rate avoids lockstep with timers)")
            .at(2)
    })?;
    let cpu =
        match parts.get(3) {
            None => None,
            Some(cpu) => Some(cpu.parse().map_err(|_| {
                ProbeError::new(ProbeErrorKind::BadSpec, format!("CPU `{cpu}` is not a CPU number")).at(3)
            })?),
        };
    Ok(Box::new(Profile { hz, cpu }))
}

impl Probe for Profile {
    fn describe(&self) -> String {
        match self.cpu {
            Some(cpu) => format!("profile:hz:{}:{cpu}", self.hz),
            None => format!("profile:hz:{}", self.hz),
        }
    }

    fn attach(&self) -> Attach {
        Attach::Perf { counter: PerfCounter::CpuClock, period: NS_PER_SECOND / self.hz, cpu: self.cpu }
    }
}

//! `software:EVENT[:COUNT]` and `hardware:EVENT[:COUNT]`: the program runs on the CPU where the event happened,
//! every COUNT occurrences of it (a perf counter sampled on every online CPU, as bpftrace's probes of these names).

use super::{Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::{Attach, PerfCounter};

/// Registry entry for kernel-counted events.
pub(super) static SOFTWARE: ProbeKind = ProbeKind {
    name: "software",
    aliases: &["s"],
    syntax: "software:EVENT[:COUNT]",
    about: "every COUNT (default 1000) page faults, context switches, CPU migrations, ... on the CPU where they \
            happen: cpu-clock, task-clock, page-faults, context-switches, cpu-migrations, minor-faults, \
            major-faults, alignment-faults, emulation-faults",
    fields: &[],
    targets: Some(|| targets("software", false)),
    resolve: resolve_software,
};

/// Registry entry for events the CPU's performance monitoring unit counts.
pub(super) static HARDWARE: ProbeKind = ProbeKind {
    name: "hardware",
    aliases: &["h"],
    syntax: "hardware:EVENT[:COUNT]",
    about: "every COUNT (default 1000000) CPU events (needs a PMU): cpu-cycles, instructions, cache-references, \
            cache-misses, branch-instructions, branch-misses, bus-cycles, frontend-stalls, backend-stalls, \
            ref-cycles",
    fields: &[],
    targets: Some(|| targets("hardware", true)),
    resolve: resolve_hardware,
};

/// Software events between two runs when the probe gives no count, as in bpftrace.
const SOFTWARE_DEFAULT: u64 = 1000;
/// Hardware events between two runs when the probe gives no count, as in bpftrace.
const HARDWARE_DEFAULT: u64 = 1_000_000;

#[derive(Debug)]
struct Counter {
    counter: PerfCounter,
    period: u64,
    /// The event and count as the script writes them (`cpu:100000`, `faults`): what `probe` says, as in bpftrace.
    written: String,
}

/// `KIND:NAME:` for every name (short names too) of the software or hardware events, sorted.
fn targets(kind: &str, hardware: bool) -> Vec<String> {
    let counters = PerfCounter::ALL.into_iter().filter(|counter| counter.is_hardware() == hardware);
    let mut names: Vec<String> =
        counters.flat_map(|counter| counter.names().iter().map(move |name| format!("{kind}:{name}:"))).collect();
    names.sort_unstable();
    names
}

fn resolve_software(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    resolve(spec, &SOFTWARE, false, SOFTWARE_DEFAULT)
}

fn resolve_hardware(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    resolve(spec, &HARDWARE, true, HARDWARE_DEFAULT)
}

fn resolve(spec: &ProbeSpec, kind: &ProbeKind, hardware: bool, default: u64) -> Result<Box<dyn Probe>, ProbeError> {
    let counters = || PerfCounter::ALL.into_iter().filter(move |counter| counter.is_hardware() == hardware);
    let names = || counters().map(PerfCounter::name).collect::<Vec<_>>().join(", ");
    let parts = match spec {
        ProbeSpec::Path(parts) if parts.len() == 2 || parts.len() == 3 => parts,
        _ => {
            return Err(ProbeError::new(
                ProbeErrorKind::BadSpec,
                format!("`{}` probes are written `{}`", kind.name, kind.syntax),
            )
            .with_hint(format!("events: {}", names()))
            .at(0))
        }
    };
    let counter = counters().find(|counter| counter.names().contains(&parts[1].as_str())).ok_or_else(|| {
        let other = PerfCounter::ALL.into_iter().find(|counter| counter.names().contains(&parts[1].as_str()));
        let hint = match other {
            Some(other) if other.is_hardware() => {
                format!("`{}` is a hardware event: `hardware:{}`", parts[1], other.name())
            }
            Some(other) => format!("`{}` is a software event: `software:{}`", parts[1], other.name()),
            None => format!("events: {}", names()),
        };
        ProbeError::new(ProbeErrorKind::BadSpec, format!("unknown {} event `{}`", kind.name, parts[1]))
            .with_hint(hint)
            .at(1)
    })?;
    let period = match parts.get(2) {
        None => default,
        Some(count) => super::parse_count(count).filter(|count| *count > 0).ok_or_else(|| {
            ProbeError::new(ProbeErrorKind::BadSpec, format!("count `{count}` is not a positive integer"))
                .with_hint(format!("e.g. `{}:{}:{default}`", kind.name, counter.name()))
                .at(2)
        })?,
    };
    Ok(Box::new(Counter { counter, period, written: parts[1..].join(":") }))
}

impl Probe for Counter {
    fn describe(&self) -> String {
        let kind = if self.counter.is_hardware() { "hardware" } else { "software" };
        format!("{kind}:{}", self.written)
    }

    fn attach(&self) -> Attach {
        Attach::Perf { counter: self.counter, period: self.period, cpu: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    fn resolved(path: &str) -> Result<Box<dyn Probe>, ProbeError> {
        let spec = ProbeSpec::Path(path.split(':').map(String::from).collect());
        super::super::resolve(&spec, &FixtureKernel::bundled())
    }

    #[test]
    fn names_aliases_and_default_counts() {
        // Described as written, the kind spelled out (bpftrace's `probe`), attached as what it names.
        let probe = resolved("software:faults").expect("an alias");
        assert_eq!(probe.describe(), "software:faults");
        assert_eq!(probe.attach(), Attach::Perf { counter: PerfCounter::PageFaults, period: 1000, cpu: None });
        let probe = resolved("h:cycles:5000").expect("short kind");
        assert_eq!(probe.describe(), "hardware:cycles:5000");
        assert_eq!(probe.attach(), Attach::Perf { counter: PerfCounter::CpuCycles, period: 5000, cpu: None });
        let probe = resolved("hardware:instructions").expect("default");
        assert_eq!(probe.attach(), Attach::Perf { counter: PerfCounter::Instructions, period: 1_000_000, cpu: None });
    }

    #[test]
    fn wrong_events_and_counts_say_what_exists() {
        let error = resolved("software:cycles").expect_err("a hardware event");
        assert!(error.hint.as_deref().is_some_and(|hint| hint.contains("hardware:cpu-cycles")), "{error:?}");
        let error = resolved("software:nope").expect_err("no such event");
        assert!(error.hint.as_deref().is_some_and(|hint| hint.contains("context-switches")), "{error:?}");
        assert!(resolved("software:cs:0").is_err());
        // bpftrace's scientific count (its tests' `software:cpu:1e6`).
        let probe = resolved("software:cpu:1e6").expect("1e6 is a count");
        assert_eq!(probe.attach(), Attach::Perf { counter: PerfCounter::CpuClock, period: 1_000_000, cpu: None });
        assert!(resolved("software").is_err());
    }
}

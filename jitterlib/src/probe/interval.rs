//! `interval:UNIT:N`: runs every N seconds (`s`), milliseconds (`ms`) or microseconds (`us`), or N times a second
//! (`hz`), on one CPU (a perf software clock). The units are `profile:`'s too ([`period`]).

use super::{path_parts, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::{Attach, PerfCounter};

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "interval",
    aliases: &["i"],
    syntax: "interval:hz|s|ms|us:N",
    about: "runs N times a second, or every N seconds/milliseconds/microseconds, on CPU 0 (perf software clock)",
    fields: &[],
    targets: Some(|| UNITS.iter().map(|unit| format!("interval:{unit}:")).collect()),
    resolve,
};

const SYNTAX: &str = "interval:hz|s|ms|us:N";

/// The units of `interval:` and `profile:` probes, in listing order.
pub(super) const UNITS: [&str; 4] = ["hz", "ms", "s", "us"];

const NS_PER_SECOND: u64 = 1_000_000_000;

/// The period in nanoseconds of `kind:unit:count` (`parts[1]` and `parts[2]` of the probe): `count` times a second
/// for `hz`, else `count` seconds, milliseconds or microseconds.
pub(super) fn period(kind: &str, unit: &str, count: &str) -> Result<u64, ProbeError> {
    let scale: u64 = match unit {
        "hz" => 0,
        "s" => NS_PER_SECOND,
        "ms" => 1_000_000,
        "us" => 1_000,
        other => {
            return Err(ProbeError::new(ProbeErrorKind::BadSpec, format!("unknown {kind} unit `{other}`"))
                .with_hint(format!("use hz, s, ms or us: `{kind}:hz:99`, `{kind}:s:1`"))
                .at(1))
        }
    };
    let bad = |why: &str| {
        ProbeError::new(ProbeErrorKind::BadSpec, format!("{kind} count `{count}` is {why}"))
            .with_hint(format!("e.g. `{kind}:ms:100` or `{kind}:hz:99`"))
            .at(2)
    };
    let count = super::parse_count(count).filter(|n| *n > 0).ok_or_else(|| bad("not a positive integer"))?;
    match scale {
        0 if count > NS_PER_SECOND => Err(bad("more than once a nanosecond")),
        0 => Ok(NS_PER_SECOND / count),
        _ => count.checked_mul(scale).ok_or_else(|| bad("more nanoseconds than 64 bits hold")),
    }
}

#[derive(Debug)]
struct Interval {
    /// As written: `ms:100`.
    rate: String,
    period_ns: u64,
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let parts = path_parts(spec, "interval", 3, SYNTAX)?;
    let period_ns = period("interval", &parts[1], &parts[2])?;
    Ok(Box::new(Interval { rate: format!("{}:{}", parts[1], parts[2]), period_ns }))
}

impl Probe for Interval {
    fn describe(&self) -> String {
        format!("interval:{}", self.rate)
    }

    fn attach(&self) -> Attach {
        Attach::Perf { counter: PerfCounter::CpuClock, period: self.period_ns, cpu: Some(0) }
    }
}

#[cfg(test)]
mod tests {
    use super::period;

    #[test]
    fn hz_is_times_a_second_and_the_other_units_a_period() {
        assert_eq!(period("interval", "hz", "4").unwrap(), 250_000_000);
        assert_eq!(period("profile", "hz", "99").unwrap(), 10_101_010);
        assert_eq!(period("interval", "s", "2").unwrap(), 2_000_000_000);
        assert_eq!(period("profile", "ms", "10").unwrap(), 10_000_000);
        assert_eq!(period("interval", "us", "500").unwrap(), 500_000);
        // bpftrace's scientific counts and `_` separators.
        assert_eq!(period("interval", "us", "5e2").unwrap(), 500_000);
        assert_eq!(period("profile", "hz", "1_000").unwrap(), 1_000_000);
    }

    #[test]
    fn bad_units_and_counts_say_which() {
        assert_eq!(period("interval", "min", "1").unwrap_err().to_string(), "unknown interval unit `min`");
        assert_eq!(
            period("profile", "hz", "0").unwrap_err().to_string(),
            "profile count `0` is not a positive integer"
        );
        let too_fast = period("interval", "hz", "2000000000").unwrap_err().to_string();
        assert_eq!(too_fast, "interval count `2000000000` is more than once a nanosecond");
        assert!(period("interval", "s", &u64::MAX.to_string()).is_err());
        for bad in ["10e3", "1e", "e3", "1e99", "+5", "-1", "0x10"] {
            assert!(period("interval", "ms", bad).is_err(), "{bad}");
        }
    }
}

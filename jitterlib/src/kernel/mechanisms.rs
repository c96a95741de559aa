//! Which mechanisms can run a program at the entry of a kernel function on this kernel (BPF trampolines,
//! kprobes) and at a tracepoint (tp_btf, raw tracepoints, perf-event tracepoints), each with the reason it
//! cannot be used when it cannot.
//!
//! Typed probes that add function points where the kernel allows them (`skb()`) ask once, when they are
//! resolved: the two mechanisms need different programs (argument array or saved registers), so the choice
//! cannot wait for load time.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::tracefs::find_tracefs;
use super::KernelVersion;

/// Present when the kernel has the `kprobe` perf PMU (the modern way kprobes are attached).
const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe/type";
/// The first kernel with BPF trampolines (fentry/fexit).
pub(crate) const TRAMPOLINES_SINCE: (u32, u32) = (5, 5);
/// Functions a test fentry program is loaded on, the first one BTF has: one meant for BPF self-tests, then
/// one every kernel with networking has.
pub(crate) const FENTRY_TEST_TARGETS: [&str; 2] = ["bpf_fentry_test1", "ip_rcv"];
/// `ENOTSUPP`: the kernel-internal "not supported" some BPF paths return to user space.
const ENOTSUPP: i32 = 524;

/// Whether one mechanism can be used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// It works here.
    Available,
    /// It does not: why, as a sentence fragment for `jl -v` (`the kernel has no kprobes (...)`).
    Unavailable(String),
}

impl Availability {
    /// Whether the mechanism works here.
    pub fn is_available(&self) -> bool {
        *self == Availability::Available
    }

    /// Why the mechanism cannot be used (`None` when it can).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Availability::Available => None,
            Availability::Unavailable(reason) => Some(reason),
        }
    }
}

/// The mechanisms that reach a kernel function's entry, and whether each works on this kernel.
///
/// ```
/// use jitterlib::kernel::{KernelInfo, LiveKernel};
/// let probes = LiveKernel::new().function_probes();
/// if let Some(why) = probes.fentry.reason() {
///     println!("no fentry: {why}");
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionProbes {
    /// BPF trampolines (fentry/fexit, Linux 5.5, needs BTF): the cheaper one, arguments read with plain loads.
    pub fentry: Availability,
    /// kprobes (`CONFIG_KPROBES`): arguments read from the saved registers.
    pub kprobe: Availability,
}

/// The first kernel with raw tracepoints (`BPF_RAW_TRACEPOINT_OPEN`).
pub(crate) const RAW_TRACEPOINTS_SINCE: (u32, u32) = (4, 17);

/// How a program reaches a tracepoint. Both raw kinds read the tracepoint's arguments and detach in a fraction
/// of a millisecond; a perf-event tracepoint reads the tracefs record and takes tens of milliseconds to detach.
/// Raw tracepoints come first: a tp_btf program cannot be loaded without aya parsing the kernel's BTF (20-50 ms
/// and a 15 MiB peak, which jl otherwise avoids), for no gain on what typed probes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TracepointMechanism {
    /// `tp_btf` (`BPF_PROG_TYPE_TRACING`, Linux 5.5): the arguments typed by the kernel's BTF.
    TpBtf,
    /// A raw tracepoint (`BPF_PROG_TYPE_RAW_TRACEPOINT`, Linux 4.17): the arguments as untyped `u64`s.
    RawTracepoint,
    /// A perf-event tracepoint (`BPF_PROG_TYPE_TRACEPOINT`): the tracefs record.
    PerfEvent,
}

impl TracepointMechanism {
    /// The mechanism's name as `jl -v` says it.
    pub fn name(self) -> &'static str {
        match self {
            TracepointMechanism::TpBtf => "tp_btf",
            TracepointMechanism::RawTracepoint => "raw tracepoint",
            TracepointMechanism::PerfEvent => "perf-event tracepoint",
        }
    }

    /// Parses `tp_btf`, `raw` or `perf` (the values of `JL_TRACEPOINT_MECHANISM`).
    pub fn parse(text: &str) -> Option<TracepointMechanism> {
        match text {
            "tp_btf" => Some(TracepointMechanism::TpBtf),
            "raw" => Some(TracepointMechanism::RawTracepoint),
            "perf" => Some(TracepointMechanism::PerfEvent),
            _ => None,
        }
    }
}

/// The mechanisms that reach a tracepoint's arguments, whether each works on this kernel (perf-event
/// tracepoints always do), and whether typed probes should try tp_btf first. tp_btf also needs the kernel's
/// BTF to describe the tracepoint, which is asked per tracepoint.
///
/// ```no_run
/// use jitterlib::kernel::{KernelInfo, LiveKernel};
/// let probes = LiveKernel::new().tracepoint_probes();
/// if let Some(why) = probes.raw_tracepoint.reason() {
///     println!("typed probes use perf-event tracepoints: {why}");
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracepointProbes {
    /// tp_btf programs.
    pub tp_btf: Availability,
    /// Raw tracepoint programs.
    pub raw_tracepoint: Availability,
    /// Whether typed probes try tp_btf before raw tracepoints.
    #[serde(default)]
    pub prefer_tp_btf: bool,
}

impl TracepointProbes {
    /// Both available, raw tracepoints first: what a fixture that does not record it answers (every kernel the
    /// fixtures come from has them).
    pub fn all() -> TracepointProbes {
        TracepointProbes {
            tp_btf: Availability::Available,
            raw_tracepoint: Availability::Available,
            prefer_tp_btf: false,
        }
    }

    /// The same, typed probes using `mechanism` where the kernel allows it: tp_btf is tried first, raw
    /// tracepoints are the default, and `PerfEvent` rules both others out for `reason`.
    pub fn using(mut self, mechanism: TracepointMechanism, reason: &str) -> TracepointProbes {
        self.prefer_tp_btf = mechanism == TracepointMechanism::TpBtf;
        if mechanism == TracepointMechanism::PerfEvent {
            self.tp_btf = Availability::Unavailable(reason.to_string());
            self.raw_tracepoint = Availability::Unavailable(reason.to_string());
        }
        self
    }
}

/// tp_btf and raw tracepoints on a kernel of `version` whose BTF is present or not (`btf_present`).
pub(crate) fn tracepoint_availability(version: &KernelVersion, btf_present: bool) -> TracepointProbes {
    let since = |(major, minor): (u32, u32), what: &str| match version.at_least(major, minor) {
        true => Availability::Available,
        false => Availability::Unavailable(format!(
            "Linux {}.{} predates {what} ({major}.{minor})",
            version.major, version.minor
        )),
    };
    let tp_btf = match (since(TRAMPOLINES_SINCE, "tp_btf"), btf_present) {
        (Availability::Available, false) => {
            Availability::Unavailable("the kernel has no BTF (CONFIG_DEBUG_INFO_BTF)".into())
        }
        (availability, _) => availability,
    };
    TracepointProbes { tp_btf, raw_tracepoint: since(RAW_TRACEPOINTS_SINCE, "raw tracepoints"), prefer_tp_btf: false }
}

/// Whether the kernel has kprobes: the kprobe PMU, or `kprobe_events` in tracefs.
pub(crate) fn kprobes_present() -> bool {
    Path::new(KPROBE_PMU).exists() || find_tracefs().is_some_and(|tracefs| tracefs.join("kprobe_events").exists())
}

/// kprobes on the running kernel.
pub(crate) fn kprobe_availability() -> Availability {
    if kprobes_present() {
        Availability::Available
    } else {
        Availability::Unavailable(
            "the kernel has no kprobes (CONFIG_KPROBES is unset: no kprobe PMU, no kprobe_events in tracefs)".into(),
        )
    }
}

/// fentry on the running kernel: `test_load` loads a do-nothing fentry program on the function of BTF id
/// `test_target` (`None` when BTF has none of [`FENTRY_TEST_TARGETS`]); `btf_error` is why BTF could not be
/// read, if it could not.
pub(crate) fn fentry_availability(
    version: &KernelVersion,
    btf_error: Option<String>,
    test_target: Option<u32>,
    test_load: impl FnOnce(u32) -> io::Result<()>,
) -> Availability {
    let (major, minor) = TRAMPOLINES_SINCE;
    if !version.at_least(major, minor) {
        return Availability::Unavailable(format!(
            "Linux {}.{} predates BPF trampolines ({major}.{minor})",
            version.major, version.minor
        ));
    }
    if let Some(error) = btf_error {
        return Availability::Unavailable(format!("fentry needs the kernel's BTF, which cannot be read: {error}"));
    }
    let Some(target) = test_target else {
        return Availability::Unavailable(format!(
            "the kernel's BTF has none of the functions a test fentry program is loaded on ({})",
            FENTRY_TEST_TARGETS.join(", ")
        ));
    };
    match test_load(target) {
        Ok(()) => Availability::Available,
        Err(error) => Availability::Unavailable(fentry_refusal(&error, is_root())),
    }
}

/// Why a test fentry load failed, in words (never a bare errno).
fn fentry_refusal(error: &io::Error, root: bool) -> String {
    match error.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) if root => {
            "the kernel refuses fentry programs (a test load was denied even to root: a lockdown or security \
             policy, or no trampoline support)"
                .into()
        }
        Some(libc::EPERM | libc::EACCES) => {
            "loading BPF programs needs root (or CAP_BPF and CAP_PERFMON), so fentry could not be tried".into()
        }
        Some(ENOTSUPP | libc::EOPNOTSUPP) => "this kernel cannot build BPF trampolines (not supported here)".into(),
        Some(libc::EINVAL) => "the kernel rejected a test fentry program as invalid (no trampoline support)".into(),
        _ => format!("a test fentry program failed to load: {}", without_errno(error)),
    }
}

/// The system's text for an I/O error, without the `(os error N)` suffix.
fn without_errno(error: &io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_lowercase(),
        None => text,
    }
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(release: &str) -> KernelVersion {
        KernelVersion::parse(release).unwrap()
    }

    #[test]
    fn fentry_needs_a_recent_kernel_btf_and_a_successful_test_load() {
        let never = |_| -> io::Result<()> { panic!("no test load expected") };
        let old = fentry_availability(&version("5.4.0"), None, Some(1), never);
        assert_eq!(old.reason(), Some("Linux 5.4 predates BPF trampolines (5.5)"));
        let no_btf =
            fentry_availability(&version("6.1.0"), Some("cannot read /sys/kernel/btf/vmlinux".into()), None, never);
        assert!(no_btf.reason().unwrap().contains("needs the kernel's BTF"), "{no_btf:?}");
        let no_target = fentry_availability(&version("6.1.0"), None, None, never);
        assert!(no_target.reason().unwrap().contains("bpf_fentry_test1, ip_rcv"), "{no_target:?}");
        assert!(fentry_availability(&version("6.1.0"), None, Some(7), |id| {
            assert_eq!(id, 7);
            Ok(())
        })
        .is_available());
    }

    #[test]
    fn tracepoint_mechanisms_follow_the_kernel_version_and_btf() {
        assert_eq!(tracepoint_availability(&version("5.10.0"), true), TracepointProbes::all());
        let old = tracepoint_availability(&version("5.4.0"), true);
        assert_eq!(old.tp_btf.reason(), Some("Linux 5.4 predates tp_btf (5.5)"));
        assert!(old.raw_tracepoint.is_available());
        let older = tracepoint_availability(&version("4.14.0"), true);
        assert_eq!(older.raw_tracepoint.reason(), Some("Linux 4.14 predates raw tracepoints (4.17)"));
        let no_btf = tracepoint_availability(&version("6.1.0"), false);
        assert!(no_btf.tp_btf.reason().unwrap().contains("no BTF"), "{no_btf:?}");
    }

    #[test]
    fn typed_probes_can_be_told_which_mechanism_to_use() {
        let tp_btf = TracepointProbes::all().using(TracepointMechanism::TpBtf, "asked");
        assert!(tp_btf.prefer_tp_btf && tp_btf.raw_tracepoint.is_available());
        assert_eq!(TracepointProbes::all().using(TracepointMechanism::RawTracepoint, "asked"), TracepointProbes::all());
        let perf = TracepointProbes::all().using(TracepointMechanism::PerfEvent, "asked");
        assert_eq!((perf.tp_btf.reason(), perf.raw_tracepoint.reason()), (Some("asked"), Some("asked")));
        assert_eq!(TracepointMechanism::parse("raw"), Some(TracepointMechanism::RawTracepoint));
        assert_eq!(TracepointMechanism::parse("kprobe"), None);
    }

    #[test]
    fn refusals_are_explained_in_words() {
        let refusal = |errno: i32, root: bool| fentry_refusal(&io::Error::from_raw_os_error(errno), root);
        assert!(refusal(libc::EPERM, true).starts_with("the kernel refuses fentry programs"));
        assert!(refusal(libc::EPERM, false).contains("needs root"));
        assert!(refusal(ENOTSUPP, true).contains("cannot build BPF trampolines"));
        let other = refusal(libc::E2BIG, true);
        assert!(other.starts_with("a test fentry program failed to load: "), "{other}");
        for errno in [libc::EPERM, libc::EINVAL, ENOTSUPP, libc::E2BIG, libc::ENOMEM] {
            assert!(!refusal(errno, true).contains("os error"), "{}", refusal(errno, true));
        }
    }
}

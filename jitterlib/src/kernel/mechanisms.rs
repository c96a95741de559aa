//! Which mechanisms can run a program at the entry of a kernel function on this kernel: BPF trampolines
//! (fentry) and kprobes, each with the reason it cannot be used when it cannot.
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

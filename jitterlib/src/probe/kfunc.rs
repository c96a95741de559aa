//! `kfunc:FUNCTION` and `kretfunc:FUNCTION`: the entry or return of a kernel function through the best
//! mechanism this kernel offers: an fentry/fexit trampoline when the kernel is 5.5 or later and its BTF
//! describes the function, else a kprobe/kretprobe.
//!
//! The choice is made when the probe is resolved, from kernel metadata and the test load behind
//! [`KernelInfo::function_probes`]: the two mechanisms need different programs (argument array or saved
//! registers), so it cannot be deferred to load time without compiling twice. A kernel that refuses trampolines
//! (EPERM, as on some hardened hosts, or `jl --no-fentry`) gets kprobes when it has them, and `jl -v` says why;
//! a kernel with neither gets the fentry attach error, which names both missing mechanisms.

use super::kprobe::{self, Side};
use super::{fentry, path_parts, Probe, ProbeError, ProbeKind, ProbeSpec};
use crate::kernel::{Availability, KernelInfo, TRAMPOLINES_SINCE};

/// Registry entry for `kfunc`.
pub(super) static KFUNC: ProbeKind = ProbeKind {
    name: "kfunc",
    aliases: &[],
    syntax: "kfunc:FUNCTION",
    about: "entry of a kernel function: fentry when BTF allows, else kprobe; same fields as fentry",
    fields: &[
        ("args.NAME", "each integer or pointer parameter, typed from BTF"),
        ("arg0..argN", "the raw 64-bit arguments"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Side::Entry),
};

/// Registry entry for `kretfunc`.
pub(super) static KRETFUNC: ProbeKind = ProbeKind {
    name: "kretfunc",
    aliases: &[],
    syntax: "kretfunc:FUNCTION",
    about: "return of a kernel function: fexit when BTF allows, else kretprobe",
    fields: &[("retval", "the return value, unsigned 64-bit (fexit also offers args.NAME)")],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Side::Return),
};

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo, side: Side) -> Result<Box<dyn Probe>, ProbeError> {
    let kind = match side {
        Side::Entry => &KFUNC,
        Side::Return => &KRETFUNC,
    };
    let parts = path_parts(spec, kind.name, 2, kind.syntax)?;
    let function = &parts[1];
    let params = kernel.function_params(function).ok().flatten();
    match params {
        Some(params) if kernel.version().at_least(TRAMPOLINES_SINCE.0, TRAMPOLINES_SINCE.1) => {
            let probes = kernel.function_probes();
            match (probes.fentry, probes.kprobe) {
                (Availability::Unavailable(why), Availability::Available) => {
                    let note = format!("{}:{function} uses a kprobe; fentry not used: {why}", kind.name);
                    kprobe::resolve_function(function, kernel, side, Some(note))
                }
                _ => Ok(fentry::trampoline(kernel, function, &params, side)),
            }
        }
        _ => kprobe::resolve_function(function, kernel, side, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FixtureKernel, FunctionProbes};
    use crate::session::Attach;

    fn kfunc_on(fentry: Availability, kprobe: Availability, side: &str) -> Box<dyn Probe> {
        let kernel = FixtureKernel::bundled().with_function_probes(FunctionProbes { fentry, kprobe });
        let spec = ProbeSpec::Path(vec![side.into(), "ip_rcv".into()]);
        super::super::resolve(&spec, &kernel).unwrap()
    }

    #[test]
    fn kfunc_uses_fentry_where_the_kernel_allows_it() {
        let probe = kfunc_on(Availability::Available, Availability::Available, "kfunc");
        assert_eq!(probe.attach(), Attach::Fentry { function: "ip_rcv".into() });
        assert!(probe.notes().is_empty());
    }

    #[test]
    fn kfunc_falls_back_to_a_kprobe_and_says_why() {
        let refused = || Availability::Unavailable("turned off with --no-fentry".into());
        let probe = kfunc_on(refused(), Availability::Available, "kfunc");
        assert_eq!(probe.attach(), Attach::Kprobe { function: "ip_rcv".into() });
        assert_eq!(probe.notes(), ["kfunc:ip_rcv uses a kprobe; fentry not used: turned off with --no-fentry"]);
        let probe = kfunc_on(refused(), Availability::Available, "kretfunc");
        assert_eq!(probe.attach(), Attach::Kretprobe { function: "ip_rcv".into() });
    }

    #[test]
    fn kfunc_without_either_mechanism_keeps_fentry_whose_attach_error_names_both() {
        let missing = |why: &str| Availability::Unavailable(why.into());
        let probe = kfunc_on(missing("EPERM"), missing("no kprobes"), "kfunc");
        assert_eq!(probe.attach(), Attach::Fentry { function: "ip_rcv".into() });
    }
}

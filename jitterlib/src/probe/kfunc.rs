//! `kfunc:FUNCTION` and `kretfunc:FUNCTION`: the entry or return of a kernel function through the best
//! mechanism this kernel offers: an fentry/fexit trampoline when the kernel is 5.5 or later and its BTF
//! describes the function, else a kprobe/kretprobe.
//!
//! The choice is made when the probe is resolved, from kernel metadata only: the two mechanisms need
//! different programs (argument array or saved registers), so it cannot be deferred to load time without
//! compiling twice. A kernel that has BTF but refuses trampolines at load time (EPERM, as on some
//! hardened hosts) gets an error that says whether kprobes are there to use instead.

use super::kprobe::{self, Side};
use super::{fentry, path_parts, Probe, ProbeError, ProbeKind, ProbeSpec};
use crate::kernel::{KernelInfo, TRAMPOLINES_SINCE};

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
    resolve: |spec, kernel| resolve(spec, kernel, Side::Entry),
};

/// Registry entry for `kretfunc`.
pub(super) static KRETFUNC: ProbeKind = ProbeKind {
    name: "kretfunc",
    aliases: &[],
    syntax: "kretfunc:FUNCTION",
    about: "return of a kernel function: fexit when BTF allows, else kretprobe",
    fields: &[("retval", "the return value, unsigned 64-bit (fexit also offers args.NAME)")],
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
            Ok(fentry::trampoline(function, &params, side))
        }
        _ => kprobe::resolve_function(function, kernel, side),
    }
}

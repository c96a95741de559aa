//! `fentry:FUNCTION` and `fexit:FUNCTION`: the entry and the return of a kernel function through BPF
//! trampolines (`BPF_PROG_TYPE_TRACING`, Linux 5.5). The context is the array of the function's arguments,
//! one u64 each, typed from its BTF prototype; on fexit the return value follows them.

use super::kprobe::{missing_function, FunctionProbe, Mechanism, Side};
use super::{btf_args, path_parts, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;

/// Registry entry for `fentry`.
pub(super) static FENTRY: ProbeKind = ProbeKind {
    name: "fentry",
    aliases: &[],
    syntax: "fentry:FUNCTION",
    about: "entry of a kernel function (BPF trampoline, needs BTF); integer and pointer arguments typed from BTF",
    fields: &[
        ("args.NAME", "each integer or pointer parameter, named and typed by the function's BTF prototype"),
        ("arg0..argN", "the raw 64-bit arguments"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Side::Entry),
};

/// Registry entry for `fexit`.
pub(super) static FEXIT: ProbeKind = ProbeKind {
    name: "fexit",
    aliases: &[],
    syntax: "fexit:FUNCTION",
    about: "return of a kernel function (BPF trampoline, needs BTF), with its arguments and return value",
    fields: &[
        ("args.NAME", "each integer or pointer parameter, as on entry"),
        ("arg0..argN", "the raw 64-bit arguments"),
        ("retval", "the return value, unsigned 64-bit"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Side::Return),
};

/// The kernel's bound on traced function arguments (`MAX_BPF_FUNC_ARGS`).
pub(super) const MAX_ARGS: usize = 12;

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo, side: Side) -> Result<Box<dyn Probe>, ProbeError> {
    let kind = match side {
        Side::Entry => &FENTRY,
        Side::Return => &FEXIT,
    };
    let parts = path_parts(spec, kind.name, 2, kind.syntax)?;
    let function = &parts[1];
    let params = kernel.function_params(function)?;
    let Some(params) = params else {
        if kernel.symbol_addresses(function).is_ok_and(|addresses| !addresses.is_empty()) {
            return Err(ProbeError::new(
                ProbeErrorKind::MissingTarget,
                format!("`{function}` is not in the kernel's BTF, which fentry and fexit need"),
            )
            .with_hint(format!("try `kprobe:{function}` (or `kfunc:{function}`, which picks what works)"))
            .at(1));
        }
        return Err(missing_function(function, kernel));
    };
    Ok(trampoline(kernel, function, &params, side))
}

/// The probe for `function` with BTF parameters `params` (also the first choice of `kfunc`/`kretfunc`).
pub(super) fn trampoline(
    kernel: &dyn KernelInfo,
    function: &str,
    params: &[(String, String)],
    side: Side,
) -> Box<dyn Probe> {
    let slot = |index: usize| (index < params.len().min(MAX_ARGS)).then_some(index as u32 * 8);
    let args = btf_args::typed_args(kernel, params, slot);
    let mut fields = btf_args::raw_args(params.len(), slot);
    // The return value sits right after the arguments, only known when each argument takes one slot.
    if side == Side::Return && btf_args::all_scalar(params) && params.len() <= MAX_ARGS {
        fields.push(btf_args::retval(params.len() as u32 * 8));
    }
    let function = function.to_string();
    Box::new(FunctionProbe { mechanism: Mechanism::Trampoline, function, side, args, fields, note: None })
}

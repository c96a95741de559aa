//! `rawtracepoint:NAME`: a tracepoint before its record is built (`BPF_PROG_TYPE_RAW_TRACEPOINT`, Linux
//! 4.17). The context is the array of the tracepoint's arguments, one u64 each, typed from the BTF
//! prototype `btf_trace_NAME` (after its leading context pointer). No tracefs needed.

use super::{btf_args, path_parts, Field, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::Attach;

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "rawtracepoint",
    aliases: &["rawtp"],
    syntax: "rawtracepoint:NAME",
    about: "a tracepoint's raw arguments, before the record is built; integer and pointer arguments typed from BTF",
    fields: &[
        ("args.NAME", "each integer or pointer argument of btf_trace_NAME (unnamed ones are argN)"),
        ("arg0..argN", "the raw 64-bit arguments"),
    ],
    targets: None,
    resolve,
};

const SYNTAX: &str = "rawtracepoint:NAME";

#[derive(Debug)]
struct RawTracepoint {
    name: String,
    args: Vec<Field>,
    fields: Vec<Field>,
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    // bpftrace's `rawtracepoint:MODULE:NAME`: jl finds raw tracepoints in the kernel's own BTF, `vmlinux`.
    let name = match spec {
        ProbeSpec::Path(parts) if parts.len() == 3 => {
            check_module(&parts[1], &parts[2])?;
            &parts[2]
        }
        _ => &path_parts(spec, "rawtracepoint", 2, SYNTAX)?[1],
    };
    if name.contains('*') {
        return Err(ProbeError::new(ProbeErrorKind::BadSpec, "raw tracepoint wildcards are not supported yet").at(1));
    }
    let params = kernel.raw_tracepoint_params(name)?.ok_or_else(|| {
        ProbeError::new(ProbeErrorKind::MissingTarget, format!("this kernel has no raw tracepoint `{name}`"))
            .with_hint(format!(
                "raw tracepoints are found in BTF (btf_trace_{name}); `jl -l tracepoint:*:{name}` shows the \
                     tracefs ones"
            ))
            .at(1)
    })?;
    let slot = |index: usize| (index < params.len()).then_some(index as u32 * 8);
    Ok(Box::new(RawTracepoint {
        name: name.clone(),
        args: btf_args::typed_args(kernel, &params, slot),
        fields: btf_args::raw_args(params.len(), slot),
    }))
}

/// The MODULE of `rawtracepoint:MODULE:NAME`: only `vmlinux`, as jl reads the kernel's BTF alone; another
/// module is an error rather than the kernel's tracepoint of that name.
fn check_module(module: &str, name: &str) -> Result<(), ProbeError> {
    if module == KERNEL_MODULE {
        return Ok(());
    }
    let message =
        format!("no raw tracepoint `{module}:{name}`: jl finds those of the kernel's own BTF (`{KERNEL_MODULE}`) only");
    Err(ProbeError::new(ProbeErrorKind::MissingTarget, message)
        .with_hint(format!(
            "the kernel's raw tracepoints are `rawtracepoint:NAME` or `rawtracepoint:{KERNEL_MODULE}:NAME`"
        ))
        .at(1))
}

/// The module name bpftrace gives the kernel's own raw tracepoints.
const KERNEL_MODULE: &str = "vmlinux";

impl Probe for RawTracepoint {
    fn describe(&self) -> String {
        format!("rawtracepoint:{}", self.name)
    }

    fn attach(&self) -> Attach {
        Attach::RawTracepoint { name: self.name.clone() }
    }

    fn args(&self) -> &[Field] {
        &self.args
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }
}

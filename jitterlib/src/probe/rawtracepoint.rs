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
    // `rawtracepoint:MODULE:NAME`, as bpftrace: the module whose BTF declares it, `vmlinux` for the kernel's own.
    let (name, position) = match spec {
        ProbeSpec::Path(parts) if parts.len() == 3 => {
            check_module(&parts[1], kernel)?;
            (&parts[2], 2)
        }
        _ => (&path_parts(spec, "rawtracepoint", 2, SYNTAX)?[1], 1),
    };
    if name.contains('*') {
        return Err(wildcard_error(position));
    }
    let params = kernel.raw_tracepoint_params(name)?.ok_or_else(|| {
        ProbeError::new(ProbeErrorKind::MissingTarget, format!("this kernel has no raw tracepoint `{name}`"))
            .with_hint(format!(
                "raw tracepoints are found in BTF (btf_trace_{name}); `jl -l tracepoint:*:{name}` shows the \
                     tracefs ones"
            ))
            .at(position)
    })?;
    let slot = |index: usize| (index < params.len()).then_some(index as u32 * 8);
    Ok(Box::new(RawTracepoint {
        name: name.clone(),
        args: btf_args::typed_args(kernel, &params, slot),
        fields: btf_args::raw_args(params.len(), slot),
    }))
}

fn wildcard_error(position: usize) -> ProbeError {
    ProbeError::new(ProbeErrorKind::BadSpec, "raw tracepoint wildcards are not supported yet").at(position)
}

/// The module part of `rawtracepoint:MODULE:NAME`: `vmlinux`, as jl reads raw tracepoints from the kernel's BTF.
fn check_module(module: &str, kernel: &dyn KernelInfo) -> Result<(), ProbeError> {
    if module == "vmlinux" {
        return Ok(());
    }
    if module.contains('*') {
        return Err(wildcard_error(1));
    }
    let error = match kernel.module_loaded(module) {
        true => ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!("raw tracepoints of module `{module}` are not supported: jl reads only the kernel's BTF"),
        ),
        false => ProbeError::new(ProbeErrorKind::MissingTarget, format!("no module `{module}` is loaded")),
    };
    Err(error.with_hint("`rawtracepoint:vmlinux:NAME` (or `rawtracepoint:NAME`) for the kernel's own").at(1))
}

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

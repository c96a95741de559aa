//! `kprobe:FUNCTION` and `kretprobe:FUNCTION`: the entry and the return of a kernel function, through
//! kprobes (`CONFIG_KPROBES`). Arguments are read from the saved registers (`struct pt_regs`), typed from
//! the function's BTF prototype; x86-64 calling convention.

use super::{btf_args, path_parts, Field, Probe, ProbeError, ProbeErrorKind, ProbeKind, ProbeSpec};
use crate::kernel::KernelInfo;
use crate::session::Attach;

/// Registry entry for `kprobe`.
pub(super) static KPROBE: ProbeKind = ProbeKind {
    name: "kprobe",
    aliases: &["k"],
    syntax: "kprobe:[vmlinux:]FUNCTION",
    about: "entry of a kernel function (kprobes); integer and pointer arguments typed from BTF",
    fields: &[
        ("args.NAME", "each integer or pointer parameter, named and typed by the function's BTF prototype"),
        ("arg0..arg5", "the raw 64-bit argument registers"),
    ],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Side::Entry),
};

/// Registry entry for `kretprobe`.
pub(super) static KRETPROBE: ProbeKind = ProbeKind {
    name: "kretprobe",
    aliases: &["kr"],
    syntax: "kretprobe:[vmlinux:]FUNCTION",
    about: "return of a kernel function (kprobes)",
    fields: &[("retval", "the return value register, unsigned 64-bit")],
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, Side::Return),
};

/// Byte offsets in x86-64 `struct pt_regs` of the argument registers di, si, dx, cx, r8, r9.
pub(super) const ARG_REGISTERS: [u32; 6] = [112, 104, 96, 88, 72, 64];
/// Byte offset in x86-64 `struct pt_regs` of ax, the return value register.
pub(super) const RETURN_REGISTER: u32 = 80;

/// Which end of the function a probe sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// The entry: arguments.
    Entry,
    /// The return: the return value.
    Return,
}

/// How a function probe reaches the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mechanism {
    /// kprobes: arguments from the saved registers.
    Kprobe,
    /// BPF trampolines (fentry/fexit): arguments from the trampoline's u64 array.
    Trampoline,
}

/// A probe on the entry or return of a kernel function, by kprobe or trampoline.
#[derive(Debug)]
pub(super) struct FunctionProbe {
    pub(super) mechanism: Mechanism,
    pub(super) function: String,
    pub(super) side: Side,
    pub(super) args: Vec<Field>,
    pub(super) fields: Vec<Field>,
    /// What `jl -v` says about the choice of mechanism (`kfunc` falling back to a kprobe, and why).
    pub(super) note: Option<String>,
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo, side: Side) -> Result<Box<dyn Probe>, ProbeError> {
    let kind = match side {
        Side::Entry => &KPROBE,
        Side::Return => &KRETPROBE,
    };
    // `kprobe:vmlinux:FUNCTION`, as bpftrace writes the kernel's own functions; `kprobe:MODULE:FUNCTION` names a
    // module's, which jl cannot tell apart from the kernel's: refused, saying whether the module is there.
    if let ProbeSpec::Path(parts) = spec {
        if let [_, module, function] = &parts[..] {
            if module == "vmlinux" {
                return resolve_function(function, kernel, side, None).map_err(|error| error.at(2));
            }
            let error = match kernel.module_loaded(module) {
                false => ProbeError::new(ProbeErrorKind::MissingTarget, format!("no module `{module}` is loaded")),
                true => ProbeError::new(
                    ProbeErrorKind::BadSpec,
                    format!(
                        "`{}:MODULE:FUNCTION` is not supported: jl does not check which module has a function",
                        kind.name
                    ),
                ),
            };
            return Err(error
                .with_hint(format!("`{}:{function}` attaches to the function wherever the kernel has it", kind.name))
                .at(1));
        }
    }
    let parts = path_parts(spec, kind.name, 2, kind.syntax)?;
    resolve_function(&parts[1], kernel, side, None)
}

/// Resolves a kprobe or kretprobe on `function` (also the fallback of `kfunc`/`kretfunc`).
pub(super) fn resolve_function(
    function: &str,
    kernel: &dyn KernelInfo,
    side: Side,
    note: Option<String>,
) -> Result<Box<dyn Probe>, ProbeError> {
    if function.contains('*') {
        return Err(ProbeError::new(ProbeErrorKind::BadSpec, "function wildcards are not supported yet").at(1));
    }
    // Without BTF (or without this function in it) a kprobe still works, with untyped arg0..arg5.
    let params = kernel.function_params(function).ok().flatten();
    if params.is_none() && kernel.symbol_addresses(function)?.is_empty() {
        return Err(missing_function(function, kernel));
    }
    let slot = |index: usize| ARG_REGISTERS.get(index).copied();
    let (args, fields) = match side {
        Side::Entry => {
            let args = params.as_deref().map(|params| btf_args::typed_args(kernel, params, slot)).unwrap_or_default();
            (args, btf_args::raw_args(ARG_REGISTERS.len(), slot))
        }
        Side::Return => (Vec::new(), vec![btf_args::retval(RETURN_REGISTER)]),
    };
    let function = function.to_string();
    Ok(Box::new(FunctionProbe { mechanism: Mechanism::Kprobe, function, side, args, fields, note }))
}

/// The error for a function neither BTF nor kallsyms knows.
pub(super) fn missing_function(function: &str, kernel: &dyn KernelInfo) -> ProbeError {
    let hint = if function == "estimation_timer" && kernel.version().at_least(6, 2) {
        "Linux 6.2 and later run the IPVS estimator in kthreads: estimation_timer does not exist; `ipvs_est()` \
         times the kthreads' walks"
            .to_string()
    } else {
        "check the spelling in /proc/kallsyms; a function in a module needs that module loaded".to_string()
    };
    ProbeError::new(ProbeErrorKind::MissingTarget, format!("this kernel has no function `{function}`"))
        .with_hint(hint)
        .at(1)
}

impl Probe for FunctionProbe {
    fn describe(&self) -> String {
        let kind = match (self.mechanism, self.side) {
            (Mechanism::Kprobe, Side::Entry) => "kprobe",
            (Mechanism::Kprobe, Side::Return) => "kretprobe",
            (Mechanism::Trampoline, Side::Entry) => "fentry",
            (Mechanism::Trampoline, Side::Return) => "fexit",
        };
        format!("{kind}:{}", self.function)
    }

    fn attach(&self) -> Attach {
        let function = self.function.clone();
        match (self.mechanism, self.side) {
            (Mechanism::Kprobe, Side::Entry) => Attach::Kprobe { function },
            (Mechanism::Kprobe, Side::Return) => Attach::Kretprobe { function },
            (Mechanism::Trampoline, Side::Entry) => Attach::Fentry { function },
            (Mechanism::Trampoline, Side::Return) => Attach::Fexit { function },
        }
    }

    fn args(&self) -> &[Field] {
        &self.args
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn notes(&self) -> Vec<String> {
        self.note.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::kernel::FixtureKernel;
    use crate::probe::path_spec as spec;

    #[test]
    fn vmlinux_names_the_kernel_s_own_function() {
        let kernel = FixtureKernel::bundled();
        for kind in ["kprobe", "kretprobe"] {
            let probe = crate::probe::resolve(&spec(&[kind, "vmlinux", "br_forward"]), &kernel).expect("resolved");
            let plain = crate::probe::resolve(&spec(&[kind, "br_forward"]), &kernel).expect("resolved");
            assert_eq!((probe.describe(), probe.attach()), (plain.describe(), plain.attach()));
        }
        let error = crate::probe::resolve(&spec(&["kprobe", "ipvs", "br_forward"]), &kernel).expect_err("no module");
        assert_eq!((error.message.as_str(), error.position), ("no module `ipvs` is loaded", Some(1)));
    }
}

//! Function points of typed probes: the entry of a kernel function, reached by fentry where the kernel
//! allows it, else by kprobe, with the context offset of the argument the probe reads; or why the point is
//! left out.
//!
//! The argument is found by its type in the function's BTF prototype (`struct sk_buff *` is the first `skb`
//! of `ip_output(net, sk, skb)`), not by a position written down for one kernel.

use super::btf_args;
use super::fentry::MAX_ARGS;
use super::kprobe::ARG_REGISTERS;
use crate::kernel::{Availability, FunctionProbes, KernelInfo, StructName};
use crate::session::Attach;

/// A function point that can be attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Reached {
    /// The fentry or kprobe program's attach point.
    pub(super) attach: Attach,
    /// Context offset of the argument: a slot of fentry's argument array, or a `pt_regs` register.
    pub(super) at: u32,
    /// When kprobe was chosen: why fentry was not.
    pub(super) fentry_not_used: Option<String>,
}

/// Reaches the entry of `function` (of kernel module `module`, when it may be one) for its first argument of
/// type `struct target *`; `Err` says why the point cannot be had.
pub(super) fn reach(
    kernel: &dyn KernelInfo,
    probes: &FunctionProbes,
    function: &str,
    module: Option<&str>,
    target: &str,
) -> Result<Reached, String> {
    let (params, in_module) = prototype(kernel, function, module)?;
    let wanted = StructName::new(target);
    let index = params
        .iter()
        .position(|(_, c_type)| StructName::pointed_to(c_type).as_ref() == Some(&wanted))
        .ok_or_else(|| format!("{function} takes no `struct {target} *` on this kernel"))?;
    if !btf_args::all_scalar(&params[..index]) {
        return Err(format!("{function} takes a struct by value before its `struct {target} *`"));
    }
    let fentry_not_used = match (in_module, &probes.fentry) {
        (Some(module), _) => format!("it is in module {module}, and jl attaches fentry to vmlinux functions only"),
        (None, _) if index >= MAX_ARGS => format!("its `struct {target} *` comes after fentry's {MAX_ARGS} arguments"),
        (None, Availability::Available) => {
            let function = function.to_string();
            return Ok(Reached { attach: Attach::Fentry { function }, at: index as u32 * 8, fentry_not_used: None });
        }
        (None, Availability::Unavailable(reason)) => reason.clone(),
    };
    let kprobe = match (&probes.kprobe, ARG_REGISTERS.get(index)) {
        (Availability::Available, Some(register)) => Ok(*register),
        (Availability::Available, None) => Err("its argument is not passed in a register".to_string()),
        (Availability::Unavailable(reason), _) => Err(reason.clone()),
    };
    match kprobe {
        Ok(at) => Ok(Reached {
            attach: Attach::Kprobe { function: function.to_string() },
            at,
            fentry_not_used: Some(fentry_not_used),
        }),
        Err(kprobe_not_used) => Err(format!("fentry: {fentry_not_used}; kprobe: {kprobe_not_used}")),
    }
}

/// A function's BTF parameters `(name, C type)`.
type Params = Vec<(String, String)>;

/// The BTF parameters of `function`, and its module when it is a module's (not built into vmlinux).
fn prototype<'m>(
    kernel: &dyn KernelInfo,
    function: &str,
    module: Option<&'m str>,
) -> Result<(Params, Option<&'m str>), String> {
    if let Some(params) = kernel.function_params(function).map_err(|error| error.to_string())? {
        return Ok((params, None));
    }
    let Some(module) = module else {
        return Err(format!("the kernel's BTF has no function {function}"));
    };
    if !kernel.module_loaded(module) {
        return Err(format!("module {module} is not loaded"));
    }
    match kernel.module_function_params(module, function).map_err(|error| error.to_string())? {
        Some(params) => Ok((params, Some(module))),
        None => Err(format!("the BTF of module {module} has no function {function}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    fn probes(fentry: bool, kprobe: bool) -> FunctionProbes {
        let state = |available: bool, why: &str| match available {
            true => Availability::Available,
            false => Availability::Unavailable(why.into()),
        };
        FunctionProbes { fentry: state(fentry, "fentry refused"), kprobe: state(kprobe, "no kprobes") }
    }

    #[test]
    fn finds_the_argument_by_type_and_prefers_fentry() {
        let kernel = FixtureKernel::bundled();
        let reached = reach(&kernel, &probes(true, true), "ip_output", None, "sk_buff").unwrap();
        assert_eq!(reached.attach, Attach::Fentry { function: "ip_output".into() });
        assert_eq!((reached.at, reached.fentry_not_used), (16, None));
        let reached = reach(&kernel, &probes(false, true), "ip_output", None, "sk_buff").unwrap();
        assert_eq!(reached.attach, Attach::Kprobe { function: "ip_output".into() });
        assert_eq!(reached.at, ARG_REGISTERS[2]);
        assert_eq!(reached.fentry_not_used.as_deref(), Some("fentry refused"));
    }

    #[test]
    fn says_why_a_point_is_left_out() {
        let kernel = FixtureKernel::bundled();
        let neither = reach(&kernel, &probes(false, false), "icmp_rcv", None, "sk_buff").unwrap_err();
        assert_eq!(neither, "fentry: fentry refused; kprobe: no kprobes");
        let absent = reach(&kernel, &probes(true, true), "no_such_function", Some("nosuchmod"), "sk_buff");
        assert_eq!(absent.unwrap_err(), "module nosuchmod is not loaded");
        let untyped = reach(&kernel, &probes(true, true), "vfs_read", None, "sk_buff").unwrap_err();
        assert_eq!(untyped, "vfs_read takes no `struct sk_buff *` on this kernel");
    }
}

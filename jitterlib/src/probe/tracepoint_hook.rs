//! How a typed probe reaches one kernel tracepoint, chosen when it is resolved: tp_btf where the kernel's BTF
//! describes the tracepoint (Linux 5.5), a raw tracepoint where it does not (4.17), a perf-event tracepoint
//! where neither works.
//!
//! tp_btf and raw tracepoint programs see the tracepoint's arguments (`TP_PROTO`, one `u64` each) and detach in
//! a fraction of a millisecond; a perf-event tracepoint program sees the tracefs record and takes tens of
//! milliseconds to detach (the kernel waits for two grace periods under a global mutex). The code that reads the
//! arguments is the same for tp_btf and raw tracepoints: pointers are followed with `bpf_probe_read_kernel`,
//! which tp_btf allows on its typed pointers too.

use std::sync::Arc;

use super::{ProbeError, ProbeErrorKind};
use crate::kernel::{Availability, KernelError, KernelInfo, TracepointFormat, TracepointMechanism};
use crate::session::Attach;

/// Where a program on the tracepoint finds what it reads.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Context {
    /// The tracepoint's arguments, one `u64` each in `TP_PROTO` order (tp_btf, raw tracepoint), with their
    /// BTF names and types when the kernel's BTF has them.
    Args(Option<Vec<(String, String)>>),
    /// The tracefs record (perf-event tracepoint).
    Record(Arc<TracepointFormat>),
}

/// One tracepoint as a typed probe reaches it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct TracepointHook {
    /// Where the program attaches.
    pub(super) attach: Attach,
    /// What its context holds.
    pub(super) context: Context,
    /// The mechanism.
    pub(super) mechanism: TracepointMechanism,
    /// Why the next better mechanism was not used (`None` for tp_btf).
    not_used: Option<String>,
    /// `category:name`.
    event: String,
}

impl TracepointHook {
    /// The best way to reach `category:name` on `kernel`. `tp_btf_refusal` rules tp_btf out for this probe
    /// (a tracepoint whose arguments tp_btf cannot read), with why. A tracepoint the kernel lacks is
    /// [`KernelError::TracepointNotFound`].
    pub(super) fn resolve(
        kernel: &dyn KernelInfo,
        category: &str,
        name: &str,
        tp_btf_refusal: Option<&str>,
    ) -> Result<TracepointHook, KernelError> {
        let probes = kernel.tracepoint_probes();
        let event = format!("{category}:{name}");
        let params = match probes.tp_btf.is_available() || probes.raw_tracepoint.is_available() {
            true => kernel.raw_tracepoint_params(name)?,
            false => None,
        };
        let tp_btf_not_used = match (&probes.tp_btf, &params, tp_btf_refusal) {
            (Availability::Unavailable(why), _, _) => why.clone(),
            (_, None, _) => format!("the kernel's BTF has no btf_trace_{name}"),
            (_, _, Some(refusal)) => refusal.to_string(),
            (Availability::Available, Some(_), None) => {
                return Ok(TracepointHook {
                    attach: Attach::TpBtf { name: name.into() },
                    context: Context::Args(params),
                    mechanism: TracepointMechanism::TpBtf,
                    not_used: None,
                    event,
                });
            }
        };
        if let Availability::Unavailable(why) = &probes.raw_tracepoint {
            let format = kernel.tracepoint(category, name)?;
            return Ok(TracepointHook {
                attach: Attach::Tracepoint { category: category.into(), name: name.into() },
                context: Context::Record(format),
                mechanism: TracepointMechanism::PerfEvent,
                not_used: Some(format!("raw tracepoints not used: {why}")),
                event,
            });
        }
        if params.is_none() {
            kernel.tracepoint(category, name)?;
        }
        Ok(TracepointHook {
            attach: Attach::RawTracepoint { name: name.into() },
            context: Context::Args(params),
            mechanism: TracepointMechanism::RawTracepoint,
            not_used: Some(format!("tp_btf not used: {tp_btf_not_used}")),
            event,
        })
    }

    /// Why the better mechanisms were not used (`tp_btf not used: ...`), `None` for tp_btf.
    pub(super) fn not_used(&self) -> Option<&str> {
        self.not_used.as_deref()
    }

    /// What `jl -v` says about a tracepoint not reached by tp_btf (`irq:softirq_exit uses a raw tracepoint;
    /// tp_btf not used: ...`).
    pub(super) fn note(&self) -> Option<String> {
        let not_used = self.not_used.as_ref()?;
        Some(format!("{} uses a {}; {not_used}", self.event, self.mechanism.name()))
    }

    /// The context offset of argument `name` as the kernel's BTF names it, `None` without BTF or a record.
    pub(super) fn named_arg(&self, name: &str) -> Option<u32> {
        match &self.context {
            Context::Args(Some(params)) => params.iter().position(|(arg, _)| arg == name).map(|at| 8 * at as u32),
            _ => None,
        }
    }

    /// The context offset of what the program reads: argument `arg` of the tracepoint, or field `field` of
    /// its tracefs record.
    pub(super) fn offset(&self, arg: u32, field: &str) -> Result<u32, ProbeError> {
        match &self.context {
            Context::Args(_) => Ok(8 * arg),
            Context::Record(format) => format.field(field).map(|found| found.offset).ok_or_else(|| {
                ProbeError::new(
                    ProbeErrorKind::MissingTarget,
                    format!("tracepoint {}:{} has no field `{field}` on this kernel", format.category, format.name),
                )
            }),
        }
    }

    /// Whether the context holds the tracepoint's arguments rather than its record.
    pub(super) fn reads_args(&self) -> bool {
        matches!(self.context, Context::Args(_))
    }
}

/// [`TracepointHook::resolve`] for a tracepoint a probe cannot do without: its absence is a probe error.
pub(super) fn required(
    kernel: &dyn KernelInfo,
    category: &str,
    name: &str,
    tp_btf_refusal: Option<&str>,
) -> Result<TracepointHook, ProbeError> {
    TracepointHook::resolve(kernel, category, name, tp_btf_refusal)
        .map_err(|error| ProbeError::new(ProbeErrorKind::MissingTarget, error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FixtureKernel, TracepointMechanism, TracepointProbes};

    fn on(best: TracepointMechanism) -> FixtureKernel {
        FixtureKernel::bundled().with_tracepoint_probes(TracepointProbes::all().at_most(best, "forced"))
    }

    #[test]
    fn tp_btf_where_the_kernel_btf_has_the_tracepoint() {
        let hook = TracepointHook::resolve(&FixtureKernel::bundled(), "irq", "softirq_exit", None).unwrap();
        assert_eq!(hook.attach, Attach::TpBtf { name: "softirq_exit".into() });
        assert_eq!((hook.note(), hook.offset(1, "vec").unwrap()), (None, 8));
    }

    #[test]
    fn raw_tracepoint_when_tp_btf_cannot_be_used_and_says_why() {
        let hook = TracepointHook::resolve(&on(TracepointMechanism::RawTracepoint), "irq", "softirq_exit", None);
        let hook = hook.unwrap();
        assert_eq!(hook.attach, Attach::RawTracepoint { name: "softirq_exit".into() });
        assert_eq!(hook.note().unwrap(), "irq:softirq_exit uses a raw tracepoint; tp_btf not used: forced");
        let refused = TracepointHook::resolve(&FixtureKernel::bundled(), "irq", "softirq_exit", Some("no reading"));
        assert!(refused.unwrap().note().unwrap().ends_with("tp_btf not used: no reading"));
        let untyped = TracepointHook::resolve(&FixtureKernel::bundled(), "irq", "irq_handler_entry", None).unwrap();
        assert_eq!(untyped.attach, Attach::RawTracepoint { name: "irq_handler_entry".into() });
        assert!(untyped.note().unwrap().ends_with("the kernel's BTF has no btf_trace_irq_handler_entry"));
    }

    #[test]
    fn perf_event_tracepoint_last_reading_the_record() {
        let hook = TracepointHook::resolve(&on(TracepointMechanism::PerfEvent), "irq", "softirq_exit", None).unwrap();
        assert_eq!(hook.attach, Attach::Tracepoint { category: "irq".into(), name: "softirq_exit".into() });
        assert!(!hook.reads_args());
        assert_eq!(hook.offset(0, "vec").unwrap(), 8);
        assert!(hook.offset(0, "nope").unwrap_err().message.contains("no field `nope`"));
        assert_eq!(
            hook.note().unwrap(),
            "irq:softirq_exit uses a perf-event tracepoint; raw tracepoints not used: forced"
        );
    }

    #[test]
    fn arguments_are_found_by_their_btf_names() {
        let hook = TracepointHook::resolve(&FixtureKernel::bundled(), "skb", "kfree_skb", None).unwrap();
        assert_eq!((hook.named_arg("reason"), hook.named_arg("nope")), (Some(16), None));
    }

    #[test]
    fn a_missing_tracepoint_is_not_found_whatever_the_mechanism() {
        for best in [TracepointMechanism::TpBtf, TracepointMechanism::PerfEvent] {
            let missing = TracepointHook::resolve(&on(best), "net", "no_such_event", None);
            assert!(matches!(missing, Err(KernelError::TracepointNotFound { .. })), "{missing:?}");
        }
    }
}

//! How a typed probe reaches one kernel tracepoint, chosen when it is resolved: a raw tracepoint (Linux 4.17),
//! or tp_btf first when asked ([`TracepointProbes::prefer_tp_btf`]) and the kernel's BTF describes the
//! tracepoint (5.5), or a perf-event tracepoint where neither works.
//!
//! tp_btf and raw tracepoint programs see the tracepoint's arguments (`TP_PROTO`, one `u64` each) and detach in
//! a fraction of a millisecond; a perf-event tracepoint program sees the tracefs record and takes tens of
//! milliseconds to detach (the kernel waits for two grace periods under a global mutex). Raw tracepoints come
//! first because loading a tp_btf program makes aya parse the kernel's BTF (20-50 ms), more than all the rest
//! of jl's start. The code that reads the arguments is the same for both: pointers are followed with
//! `bpf_probe_read_kernel`, which tp_btf allows on its typed pointers too (the timers' callback is read with a
//! plain load there).
//!
//! [`TracepointProbes::prefer_tp_btf`]: crate::kernel::TracepointProbes::prefer_tp_btf

use std::sync::Arc;

use super::{ProbeError, ProbeErrorKind};
use crate::kernel::{Availability, KernelError, KernelInfo, TracepointFormat, TracepointMechanism};
use crate::session::Attach;

/// Where a program on the tracepoint finds what it reads.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Context {
    /// The tracepoint's arguments, one `u64` each in `TP_PROTO` order (tp_btf, raw tracepoint).
    Args,
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
    /// Why the mechanism tried first was not used.
    not_used: Option<String>,
    /// `category:name`.
    event: String,
}

impl TracepointHook {
    /// The way to reach `category:name` on `kernel`. `tp_btf_refusal` rules tp_btf out for this probe (a
    /// tracepoint whose arguments tp_btf cannot read), with why. A tracepoint the kernel lacks is
    /// [`KernelError::TracepointNotFound`].
    pub(super) fn resolve(
        kernel: &dyn KernelInfo,
        category: &str,
        name: &str,
        tp_btf_refusal: Option<&str>,
    ) -> Result<TracepointHook, KernelError> {
        let probes = kernel.tracepoint_probes();
        let event = format!("{category}:{name}");
        let hook = |attach, context, mechanism, not_used| TracepointHook {
            attach,
            context,
            mechanism,
            not_used,
            event: event.clone(),
        };
        let mut not_used = None;
        if probes.prefer_tp_btf {
            let why = match (&probes.tp_btf, tp_btf_refusal) {
                (Availability::Unavailable(why), _) => why.clone(),
                (_, Some(refusal)) => refusal.to_string(),
                _ => match kernel.raw_tracepoint_params(name)? {
                    Some(_) => {
                        let attach = Attach::TpBtf { name: name.into() };
                        return Ok(hook(attach, Context::Args, TracepointMechanism::TpBtf, None));
                    }
                    None => format!("the kernel's BTF has no btf_trace_{name}"),
                },
            };
            not_used = Some(format!("tp_btf not used: {why}"));
        }
        let format = kernel.tracepoint(category, name)?;
        Ok(match &probes.raw_tracepoint {
            Availability::Available => {
                let attach = Attach::RawTracepoint { name: name.into() };
                hook(attach, Context::Args, TracepointMechanism::RawTracepoint, not_used)
            }
            Availability::Unavailable(why) => hook(
                Attach::Tracepoint { category: category.into(), name: name.into() },
                Context::Record(format),
                TracepointMechanism::PerfEvent,
                Some(format!("raw tracepoints not used: {why}")),
            ),
        })
    }

    /// The context offset of what the program reads: argument `arg` of the tracepoint, or field `field` of
    /// its tracefs record.
    pub(super) fn offset(&self, arg: u32, field: &str) -> Result<u32, ProbeError> {
        match &self.context {
            Context::Args => Ok(8 * arg),
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
        self.context == Context::Args
    }

    /// Why the mechanism tried first was not used (`raw tracepoints not used: ...`).
    pub(super) fn not_used(&self) -> Option<&str> {
        self.not_used.as_deref()
    }

    /// What `jl -v` says about a tracepoint not reached by the mechanism tried first (`irq:softirq_exit uses a
    /// perf-event tracepoint; raw tracepoints not used: ...`).
    pub(super) fn note(&self) -> Option<String> {
        let not_used = self.not_used.as_ref()?;
        Some(format!("{} uses a {}; {not_used}", self.event, self.mechanism.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FixtureKernel, TracepointProbes};

    fn using(mechanism: TracepointMechanism) -> FixtureKernel {
        FixtureKernel::bundled().with_tracepoint_probes(TracepointProbes::all().using(mechanism, "asked"))
    }

    fn resolve(kernel: &FixtureKernel, name: &str, refusal: Option<&str>) -> TracepointHook {
        TracepointHook::resolve(kernel, "irq", name, refusal).unwrap()
    }

    #[test]
    fn raw_tracepoints_by_default() {
        let hook = resolve(&FixtureKernel::bundled(), "softirq_exit", None);
        assert_eq!(hook.attach, Attach::RawTracepoint { name: "softirq_exit".into() });
        assert_eq!((hook.note(), hook.offset(1, "vec").unwrap()), (None, 8));
        assert!(hook.reads_args());
    }

    #[test]
    fn tp_btf_when_asked_where_the_kernel_btf_has_the_tracepoint_else_raw_and_says_why() {
        let kernel = using(TracepointMechanism::TpBtf);
        assert_eq!(resolve(&kernel, "softirq_exit", None).attach, Attach::TpBtf { name: "softirq_exit".into() });
        let refused = resolve(&kernel, "softirq_exit", Some("no reading"));
        assert_eq!(refused.attach, Attach::RawTracepoint { name: "softirq_exit".into() });
        assert_eq!(refused.note().unwrap(), "irq:softirq_exit uses a raw tracepoint; tp_btf not used: no reading");
        let untyped = resolve(&kernel, "irq_handler_entry", None);
        assert_eq!(untyped.attach, Attach::RawTracepoint { name: "irq_handler_entry".into() });
        assert!(untyped.note().unwrap().ends_with("the kernel's BTF has no btf_trace_irq_handler_entry"));
    }

    #[test]
    fn perf_event_tracepoint_last_reading_the_record() {
        let hook = resolve(&using(TracepointMechanism::PerfEvent), "softirq_exit", None);
        assert_eq!(hook.attach, Attach::Tracepoint { category: "irq".into(), name: "softirq_exit".into() });
        assert!(!hook.reads_args());
        assert_eq!(hook.offset(0, "vec").unwrap(), 8);
        assert!(hook.offset(0, "nope").unwrap_err().message.contains("no field `nope`"));
        assert_eq!(
            hook.note().unwrap(),
            "irq:softirq_exit uses a perf-event tracepoint; raw tracepoints not used: asked"
        );
    }

    #[test]
    fn a_missing_tracepoint_is_not_found_whatever_the_mechanism() {
        for mechanism in
            [TracepointMechanism::TpBtf, TracepointMechanism::RawTracepoint, TracepointMechanism::PerfEvent]
        {
            let missing = TracepointHook::resolve(&using(mechanism), "net", "no_such_event", None);
            assert!(matches!(missing, Err(KernelError::TracepointNotFound { .. })), "{missing:?}");
        }
    }
}

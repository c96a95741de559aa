//! The typed probes a [`Trace`](super::Trace) runs, built with the names and arguments the language uses.
//!
//! Each constructor returns a [`TypedProbe`]: the probe as the language would write it (`timer("f")`), which the
//! trace resolves through the same [registry](crate::probe::REGISTRY) as a script, so a probe has the same
//! fields, filters and mechanism in Rust and in jitterlang.

use crate::probe::{ProbeArg, ProbeSpec};
use std::time::Duration;

/// A typed probe and its arguments, ready for [`Trace::new`](super::Trace::new). Made by the constructors of
/// [`Softirq`], [`SoftirqDelay`], [`Stall`], [`Timer`], [`Hrtimer`], [`Skb`], [`IpvsEst`] and [`Irqoff`].
///
/// ```
/// use jitterlib::trace::Timer;
///
/// assert_eq!(Timer::func("process_timeout").script(), "timer(\"process_timeout\")");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedProbe {
    name: &'static str,
    args: Vec<ProbeArg>,
}

impl TypedProbe {
    fn new(name: &'static str, args: Vec<ProbeArg>) -> TypedProbe {
        TypedProbe { name, args }
    }

    fn named(name: &'static str, arg: Option<&str>) -> TypedProbe {
        TypedProbe::new(name, arg.map(|arg| ProbeArg::Str(arg.to_string())).into_iter().collect())
    }

    /// The probe's kind name, as in the language (`timer`).
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Skb::all().kind(), "skb");
    /// ```
    pub fn kind(&self) -> &'static str {
        self.name
    }

    /// The probe as a script writes it: `timer("process_timeout")`, `skb(1000000)` (durations in nanoseconds).
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Irqoff::threshold(std::time::Duration::from_millis(5)).script(), "irqoff(5000000)");
    /// ```
    pub fn script(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|arg| match arg {
                ProbeArg::Str(text) => format!("{text:?}"),
                ProbeArg::Int(value) => value.to_string(),
                ProbeArg::Ident(word) => word.clone(),
            })
            .collect();
        format!("{}({})", self.name, args.join(", "))
    }

    /// The spec the probe registry resolves.
    pub(super) fn spec(&self) -> ProbeSpec {
        ProbeSpec::Typed { name: self.name.to_string(), args: self.args.clone() }
    }
}

/// Nanoseconds of a duration as a probe argument (saturating: no threshold is centuries long).
fn nanoseconds(duration: Duration) -> ProbeArg {
    ProbeArg::Int(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
}

/// `softirq(NAME?)`: each softirq run, when it ends. Fields: `dur` (entry to exit), `vec`, `name`.
///
/// Tracepoints `irq:softirq_entry` and `irq:softirq_exit` (Linux 4.x and later).
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Softirq, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Softirq::all()).count_by(Field::Name).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Softirq;

impl Softirq {
    /// Every softirq vector: `softirq()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Softirq::all().script(), "softirq()");
    /// ```
    pub fn all() -> TypedProbe {
        TypedProbe::named("softirq", None)
    }

    /// One vector by name (`net_rx`, `timer`, `hrtimer`, ...): `softirq("net_rx")`, filtered in BPF.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Softirq::named("net_rx").script(), r#"softirq("net_rx")"#);
    /// ```
    pub fn named(vector: &str) -> TypedProbe {
        TypedProbe::named("softirq", Some(vector))
    }
}

/// `softirq_delay(NAME?)`: each softirq start, with `dur` the wait since it was raised on that CPU, the direct
/// measure of "NET_RX waited behind TIMER". Fields: `dur`, `vec`, `name`.
///
/// Tracepoints `irq:softirq_raise` and `irq:softirq_entry`.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, SoftirqDelay, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, SoftirqDelay::named("net_rx")).histogram(Field::Dur).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SoftirqDelay;

impl SoftirqDelay {
    /// Every softirq vector: `softirq_delay()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(SoftirqDelay::all().script(), "softirq_delay()");
    /// ```
    pub fn all() -> TypedProbe {
        TypedProbe::named("softirq_delay", None)
    }

    /// One vector by name: `softirq_delay("net_rx")`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(SoftirqDelay::named("timer").script(), r#"softirq_delay("timer")"#);
    /// ```
    pub fn named(vector: &str) -> TypedProbe {
        TypedProbe::named("softirq_delay", Some(vector))
    }
}

/// `timer(FUNC?)`: each run of a timer-wheel callback, when it returns. Fields: `dur`, `func` (the callback),
/// `late` (how long after its expiry it started, jiffy resolution).
///
/// Tracepoints `timer:timer_expire_entry` and `timer:timer_expire_exit`; FUNC is looked up in kallsyms.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Timer, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Timer::func("estimation_timer")).histogram(Field::Dur).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Timer;

impl Timer {
    /// Every callback: `timer()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Timer::all().script(), "timer()");
    /// ```
    pub fn all() -> TypedProbe {
        TypedProbe::named("timer", None)
    }

    /// One callback function: `timer("estimation_timer")`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Timer::func("estimation_timer").script(), r#"timer("estimation_timer")"#);
    /// ```
    pub fn func(function: &str) -> TypedProbe {
        TypedProbe::named("timer", Some(function))
    }
}

/// `hrtimer(FUNC?)`: each run of a high-resolution timer callback, when it returns. Fields: `dur`, `func`,
/// `late` (nanoseconds after its soft expiry). A hard-interrupt callback nested in a softirq one is paired on
/// its own, leaving the outer one's duration intact.
///
/// Tracepoints `timer:hrtimer_expire_entry` and `timer:hrtimer_expire_exit`.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Hrtimer, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Hrtimer::all()).count_by(Field::Func).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Hrtimer;

impl Hrtimer {
    /// Every callback: `hrtimer()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Hrtimer::all().script(), "hrtimer()");
    /// ```
    pub fn all() -> TypedProbe {
        TypedProbe::named("hrtimer", None)
    }

    /// One callback function: `hrtimer("hrtimer_wakeup")`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Hrtimer::func("hrtimer_wakeup").script(), r#"hrtimer("hrtimer_wakeup")"#);
    /// ```
    pub fn func(function: &str) -> TypedProbe {
        TypedProbe::named("hrtimer", Some(function))
    }
}

/// `skb(HOP?, MIN?)`: each hop of a packet between two points of the stack. Fields: `hop`, `prev`, `dur`,
/// `netns`, `dev`, `proto`, `len`, `saddr`, `daddr`, `sport`, `dport`, `icmp_seq`, `reason`.
///
/// Tracepoints of the `net` and `skb` categories, keyed by the skb.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Skb, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Skb::all()).by(Field::Prev).by(Field::Hop).histogram(Field::Dur).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Skb;

impl Skb {
    /// Every hop: `skb()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Skb::all().script(), "skb()");
    /// ```
    pub fn all() -> TypedProbe {
        TypedProbe::new("skb", Vec::new())
    }

    /// Hops that reach one point (`netif_receive_skb`, `net_dev_xmit`, ...): `skb("HOP")`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Skb::hop("ip_rcv").script(), r#"skb("ip_rcv")"#);
    /// ```
    pub fn hop(hop: &str) -> TypedProbe {
        TypedProbe::named("skb", Some(hop))
    }

    /// Hops slower than `min`, dropped in BPF before any packet field is read: `skb(MIN)`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Skb::slower_than(std::time::Duration::from_micros(50)).script(), "skb(50000)");
    /// ```
    pub fn slower_than(min: Duration) -> TypedProbe {
        TypedProbe::new("skb", vec![nanoseconds(min)])
    }

    /// Hops that reach one point and are slower than `min`: `skb("HOP", MIN)`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// let probe = Skb::hop_slower_than("net_dev_xmit", std::time::Duration::from_millis(1));
    /// assert_eq!(probe.script(), r#"skb("net_dev_xmit", 1000000)"#);
    /// ```
    pub fn hop_slower_than(hop: &str, min: Duration) -> TypedProbe {
        TypedProbe::new("skb", vec![ProbeArg::Str(hop.to_string()), nanoseconds(min)])
    }
}

/// `ipvs_est()`: each IPVS estimator walk, ip_vs loaded: `estimation_timer` before Linux 6.2, the estimator
/// kthreads' walk function since (by kprobes). Fields: `dur`, and `netns` where the ip_vs module has BTF; before
/// 6.2 also `func` and `late`.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, IpvsEst, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, IpvsEst::walks()).by(Field::Netns).max(Field::Dur).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct IpvsEst;

impl IpvsEst {
    /// Every walk: `ipvs_est()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(IpvsEst::walks().script(), "ipvs_est()");
    /// ```
    pub fn walks() -> TypedProbe {
        TypedProbe::new("ipvs_est", Vec::new())
    }
}

/// `irqoff(THRESHOLD?)`: each time a CPU had interrupts off, or a TIMER/NET_RX softirq waited, longer than the
/// threshold (1 ms to 10 s). Fields: `dur`, `kind` (`hardirq` or `softirq`).
///
/// A per-CPU perf clock and the `hrtimer_expire_entry` raw tracepoint.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Irqoff, Trace};
/// use std::time::Duration;
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Irqoff::threshold(Duration::from_millis(5))).count_by(Field::Kind).start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Irqoff;

impl Irqoff {
    /// The default threshold, 10 ms: `irqoff()`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Irqoff::default_threshold().script(), "irqoff()");
    /// ```
    pub fn default_threshold() -> TypedProbe {
        TypedProbe::new("irqoff", Vec::new())
    }

    /// Stalls longer than `threshold`: `irqoff(THRESHOLD)`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// assert_eq!(Irqoff::threshold(std::time::Duration::from_millis(20)).script(), "irqoff(20000000)");
    /// ```
    pub fn threshold(threshold: Duration) -> TypedProbe {
        TypedProbe::new("irqoff", vec![nanoseconds(threshold)])
    }
}

/// `stall(VICTIM, MIN)`: each wait of a softirq vector from raise to start, of `MIN` or more, with what ran on
/// its CPU meanwhile. Fields: `dur` (the wait), `vec`, `victim`, `culprit` (what took most of it, printed
/// `timer:estimation_timer`), `culprit_time`, `share` (percent), `others`, `unattributed`.
///
/// Raw tracepoints on softirq, timer, hrtimer and hardirq entries and exits and on task switches (Linux 4.17
/// and later), and the kernel's BTF.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Stall, Trace};
/// use std::time::Duration;
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Stall::net_rx(Duration::from_millis(5))).by(Field::Culprit).histogram(Field::Dur);
/// let trace = trace.start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Stall;

impl Stall {
    /// NET_RX waits of `min` or more: `stall("net_rx", MIN)`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// let probe = Stall::net_rx(std::time::Duration::from_millis(5));
    /// assert_eq!(probe.script(), r#"stall("net_rx", 5000000)"#);
    /// ```
    pub fn net_rx(min: Duration) -> TypedProbe {
        Stall::of("net_rx", min)
    }

    /// Waits of the softirq `vector` (`net_rx`, `timer`, `rcu`, ...) of `min` or more: `stall(VECTOR, MIN)`.
    ///
    /// ```
    /// # use jitterlib::trace::*;
    /// let probe = Stall::of("timer", std::time::Duration::from_micros(100));
    /// assert_eq!(probe.script(), r#"stall("timer", 100000)"#);
    /// ```
    pub fn of(vector: &str, min: Duration) -> TypedProbe {
        TypedProbe::new("stall", vec![ProbeArg::Str(vector.to_string()), nanoseconds(min)])
    }
}

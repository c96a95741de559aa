//! The Rust API: trace one typed probe and aggregate one of its fields, without a script.
//!
//! A [`Trace`] is what the script `PROBE { @[KEYS] = AGG(FIELD); }` does: the same typed probes
//! ([`Softirq`], [`SoftirqDelay`], [`Timer`], [`Hrtimer`], [`Skb`], [`IpvsEst`], [`Irqoff`]) resolved through
//! the same [registry](crate::probe::REGISTRY), the same [`Field`] names, and the same aggregation code
//! ([`crate::agg::emit`], shared with jitterlang's compiler). [`Trace::start`] compiles it with jitterlib's
//! instruction builder, loads and attaches it through a [`Session`]; [`RunningTrace::read`] merges the per-CPU
//! map and renders it like `jl` does.
//!
//! ```no_run
//! use jitterlib::kernel::LiveKernel;
//! use jitterlib::trace::{Field, Timer, Trace};
//! use std::time::Duration;
//!
//! let kernel = LiveKernel::new();
//! let trace = Trace::new(&kernel, Timer::func("process_timeout")).histogram(Field::Dur).start()?;
//! std::thread::sleep(Duration::from_secs(2));
//! print!("{}", trace.read()?.render_text());
//! # Ok::<(), jitterlib::trace::TraceError>(())
//! ```
//!
//! Minimum kernel version: that of the probe (see each probe's page in the book); loading needs root (or
//! `CAP_BPF` and `CAP_PERFMON`).

mod error;
mod field;
mod probes;
mod program;
#[cfg(test)]
mod tests;

pub use error::TraceError;
pub use field::Field;
pub use probes::{Hrtimer, IpvsEst, Irqoff, Skb, Softirq, SoftirqDelay, Stall, Timer, TypedProbe};
pub use program::TraceProgram;

use crate::agg::{
    decode, render_json, render_text, AggKind, KernelSymbols, MapLayout, MapValue, Snapshot, ValueFormat,
};
use crate::kernel::KernelInfo;
use crate::maps::{HashAllocation, MapEntries, MapSpec, DEFAULT_MAP_KEYS, GLOBAL_MAP_NAME};
use crate::probe::Probe;
use crate::session::{ProgramSpec, Session};
use program::{Plan, Resolved, AGG_MAP};

/// A trace being described: one typed probe, the fields to key by, and one aggregation (`count()` unless
/// another is chosen; the last one chosen wins).
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Softirq, Trace};
///
/// let kernel = LiveKernel::new();
/// // softirq() { @[name] = quantiles(dur); }
/// let trace = Trace::new(&kernel, Softirq::all()).by(Field::Name).quantiles(Field::Dur);
/// println!("{}", trace.script());
/// let running = trace.start()?;
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone)]
pub struct Trace<'k> {
    kernel: &'k dyn KernelInfo,
    probe: TypedProbe,
    keys: Vec<Field>,
    aggregation: Result<(AggKind, Option<Field>), crate::agg::AggError>,
    max_keys: u32,
}

impl std::fmt::Debug for Trace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").field("script", &self.script()).finish()
    }
}

impl<'k> Trace<'k> {
    /// A trace of `probe` on `kernel` (the running one, [`LiveKernel`](crate::kernel::LiveKernel), to start
    /// it), counting its events until an aggregation is chosen.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Softirq::named("net_rx")).start()?; // softirq("net_rx") { @ = count(); }
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn new(kernel: &'k dyn KernelInfo, probe: TypedProbe) -> Trace<'k> {
        Trace { kernel, probe, keys: Vec::new(), aggregation: Ok((AggKind::Count, None)), max_keys: DEFAULT_MAP_KEYS }
    }

    /// How many keys the aggregation map holds (4 096 unless set, as bpftrace's; `jl --map-keys`). Events of keys beyond it are
    /// counted by [`RunningTrace::lost`], not recorded. From Linux 6.1 the map takes memory only for the keys in
    /// it; before, for all of them from the start.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::all()).by(Field::Func).max_keys(100_000).histogram(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn max_keys(mut self, keys: u32) -> Trace<'k> {
        self.max_keys = keys.max(1);
        self
    }

    /// Adds a key field: one aggregate per value of the keys, like `@[field, ...]`.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// // softirq() { @[name, cpu] = max(dur); }
    /// let trace = Trace::new(&kernel, Softirq::all()).by(Field::Name).by(Field::Cpu).max(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn by(mut self, field: Field) -> Trace<'k> {
        self.keys.push(field);
        self
    }

    /// `count()`: the number of events.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Hrtimer::all()).by(Field::Cpu).count();
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn count(self) -> Trace<'k> {
        self.aggregate(AggKind::Count, None)
    }

    /// `@[field] = count()`: [`Trace::by`] then [`Trace::count`].
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::all()).count_by(Field::Func); // timer() { @[func] = count(); }
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn count_by(self, field: Field) -> Trace<'k> {
        self.by(field).count()
    }

    /// `sum(field)`.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::all()).by(Field::Func).sum(Field::Dur); // time per callback
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn sum(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Sum, Some(field))
    }

    /// `min(field)`.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::all()).by(Field::Func).min(Field::Late);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn min(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Min, Some(field))
    }

    /// `max(field)`.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, SoftirqDelay::all()).by(Field::Name).max(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn max(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Max, Some(field))
    }

    /// `avg(field)`: the integer mean.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Softirq::all()).by(Field::Name).avg(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn avg(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Avg, Some(field))
    }

    /// `stats(field)`: count, mean and total.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Skb::all()).by(Field::Hop).stats(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn stats(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Stats, Some(field))
    }

    /// `hist(field)`: power-of-two buckets, within each time unit for durations (like the language's `hist`).
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::func("estimation_timer")).histogram(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn histogram(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Hist { bits: 0 }, Some(field))
    }

    /// `lhist(field, min, max, step)`: linear buckets; parameters [`AggKind::lhist`] refuses are
    /// [`TraceError::Aggregation`] at [`Trace::compile`].
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// // skb() { @ = lhist(len, 0, 1500, 100); }
    /// let trace = Trace::new(&kernel, Skb::all()).lhist(Field::Len, 0, 1500, 100);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn lhist(mut self, field: Field, min: i64, max: i64, step: i64) -> Trace<'k> {
        self.aggregation = AggKind::lhist(min, max, step).map(|kind| (kind, Some(field)));
        self
    }

    /// `quantiles(field)`: p50, p90, p99 and p99.9, at most 6.25 % above the true values.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Softirq::named("net_rx")).quantiles(Field::Dur);
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn quantiles(self, field: Field) -> Trace<'k> {
        self.aggregate(AggKind::Quantiles, Some(field))
    }

    fn aggregate(mut self, kind: AggKind, field: Option<Field>) -> Trace<'k> {
        self.aggregation = Ok((kind, field));
        self
    }

    /// The script doing the same in jitterlang: `timer("f") { @[func] = hist(dur); }`.
    ///
    /// ```
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::all()).count_by(Field::Func);
    /// assert_eq!(trace.script(), "timer() { @[func] = count(); }");
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn script(&self) -> String {
        let keys: Vec<&str> = self.keys.iter().map(|field| field.name()).collect();
        let map = if keys.is_empty() { "@".to_string() } else { format!("@[{}]", keys.join(", ")) };
        let call = match &self.aggregation {
            Ok((AggKind::Lhist { min, max, step }, Some(field))) => {
                format!("lhist({}, {min}, {max}, {step})", field.name())
            }
            Ok((kind, field)) => format!("{}({})", kind.name(), field.map(Field::name).unwrap_or_default()),
            Err(_) => "lhist(...)".to_string(),
        };
        format!("{} {{ {map} = {call}; }}", self.probe.script())
    }

    /// Resolves the probe and its fields against the kernel metadata and generates the programs and object,
    /// without loading anything (no privileges needed: a [`FixtureKernel`](crate::kernel::FixtureKernel) works).
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// # use jitterlib::kernel::FixtureKernel;
    /// let fixture = FixtureKernel::bundled();
    /// let compiled = Trace::new(&fixture, Timer::all()).count_by(Field::Func).compile()?;
    /// assert_eq!(compiled.programs.len(), 2); // timer_expire_exit and its timer_expire_entry companion
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn compile(&self) -> Result<CompiledTrace, TraceError> {
        let describe = self.probe.script();
        let mut probe = crate::probe::resolve(&self.probe.spec(), self.kernel)
            .map_err(|error| TraceError::Probe { probe: describe.clone(), error })?;
        let read: Vec<String> = self
            .keys
            .iter()
            .chain(self.aggregation.iter().filter_map(|(_, field)| field.as_ref()))
            .filter(|field| !matches!(field, Field::Cpu | Field::Comm))
            .map(|field| field.name().to_string())
            .collect();
        probe
            .only_fields_read(self.kernel, &read)
            .map_err(|error| TraceError::Probe { probe: describe.clone(), error })?;
        let (kind, field) = self.aggregation.clone().map_err(|source| TraceError::Aggregation { source })?;
        let find = |field: Field| {
            Resolved::find(probe.as_ref(), field).ok_or_else(|| TraceError::UnknownField {
                probe: describe.clone(),
                field: field.name(),
                available: available_fields(probe.as_ref()),
            })
        };
        let keys = self.keys.iter().map(|field| find(*field)).collect::<Result<Vec<_>, _>>()?;
        let value = field.map(find).transpose()?;
        if let (Some(field), Some(resolved)) = (field, &value) {
            if resolved.is_string() {
                return Err(TraceError::NotANumber { probe: describe, field: field.name(), aggregation: kind.name() });
            }
        }
        let format = value.as_ref().map_or(ValueFormat::Unsigned, |value| value.layout().format);
        let kind = match kind {
            AggKind::Hist { bits: 0 } if format == ValueFormat::Duration => AggKind::TimeHist,
            other => other,
        };
        let layout = MapLayout {
            name: "@".into(),
            keys: keys.iter().map(|key| key.layout().clone()).collect(),
            value: MapValue::Agg { kind, format },
            keys_in_programs: false,
        };
        let allocation = HashAllocation::for_machine(self.kernel);
        let plan = Plan { layout, keys, value, max_keys: self.max_keys, allocation };
        let output = program::generate(self.probe.kind(), probe.as_ref(), &plan)?;
        Ok(CompiledTrace {
            script: self.script(),
            programs: output.programs,
            maps: output.maps,
            layout: plan.layout,
            object: output.object,
        })
    }

    /// Compiles the trace, loads it (the verifier checks every program) and attaches every program.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Timer::all()).count_by(Field::Func).start()?;
    /// std::thread::sleep(std::time::Duration::from_secs(1));
    /// print!("{}", trace.read()?.render_text());
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn start(self) -> Result<RunningTrace<'k>, TraceError> {
        let compiled = self.compile()?;
        let specs: Vec<ProgramSpec> = compiled
            .programs
            .iter()
            .map(|unit| ProgramSpec { name: unit.name.clone(), attach: unit.attach.clone() })
            .collect();
        let mut session = Session::load(&compiled.object, &specs)?;
        session.attach_all()?;
        Ok(RunningTrace { kernel: self.kernel, compiled, session })
    }
}

/// The fields `probe` offers to a trace, for messages.
fn available_fields(probe: &dyn Probe) -> Vec<String> {
    Field::ALL
        .iter()
        .filter(|field| Resolved::find(probe, **field).is_some())
        .map(|field| field.name().to_string())
        .collect()
}

/// A compiled trace: its programs (with the attach point each uses on this kernel), maps and ELF object.
///
/// ```
/// use jitterlib::kernel::FixtureKernel;
/// use jitterlib::trace::{Field, Timer, Trace};
///
/// let kernel = FixtureKernel::bundled();
/// let compiled = Trace::new(&kernel, Timer::all()).count_by(Field::Func).compile()?;
/// print!("{}", compiled.disassembly());
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CompiledTrace {
    /// The equivalent script ([`Trace::script`]).
    pub script: String,
    /// Every program: one per point of the probe, then its companions.
    pub programs: Vec<TraceProgram>,
    /// Every map of the object.
    pub maps: Vec<MapSpec>,
    /// The aggregation map's layout.
    pub layout: MapLayout,
    /// The ELF object.
    pub object: Vec<u8>,
}

impl CompiledTrace {
    /// The disassembly of every program, headed by its name and attach point.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// # use jitterlib::kernel::FixtureKernel;
    /// let fixture = FixtureKernel::bundled();
    /// print!("{}", Trace::new(&fixture, Softirq::all()).compile()?.disassembly());
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn disassembly(&self) -> String {
        let names: Vec<&str> = self.maps.iter().map(|map| map.name.as_str()).collect();
        let mut out = String::new();
        for unit in &self.programs {
            out.push_str(&format!("; {} -> {}\n", unit.name, unit.attach.target()));
            out.push_str(&crate::insn::disassemble(&unit.program, &names));
            out.push('\n');
        }
        out
    }
}

/// A started trace: its programs stay attached until it is dropped.
///
/// ```no_run
/// use jitterlib::kernel::LiveKernel;
/// use jitterlib::trace::{Field, Softirq, Trace};
///
/// let kernel = LiveKernel::new();
/// let trace = Trace::new(&kernel, Softirq::all()).count_by(Field::Name).start()?;
/// std::thread::sleep(std::time::Duration::from_secs(1));
/// let readout = trace.read()?;
/// for row in &readout.snapshot().rows {
///     println!("{:?} {:?}", row.key, row.value);
/// }
/// println!("lost: {:?}", trace.lost()?);
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
pub struct RunningTrace<'k> {
    kernel: &'k dyn KernelInfo,
    compiled: CompiledTrace,
    session: Session,
}

impl std::fmt::Debug for RunningTrace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningTrace").field("script", &self.compiled.script).finish()
    }
}

impl<'k> RunningTrace<'k> {
    /// What was compiled and attached (programs and their attach points).
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Skb::all()).start()?;
    /// for program in &trace.compiled().programs {
    ///     println!("{} -> {}", program.name, program.attach.target());
    /// }
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn compiled(&self) -> &CompiledTrace {
        &self.compiled
    }

    /// Reads the aggregation map and merges its per-CPU values. Tracing goes on.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Softirq::all()).count_by(Field::Name).start()?;
    /// std::thread::sleep(std::time::Duration::from_secs(1));
    /// let readout = trace.read()?;
    /// println!("{} vectors ran", readout.snapshot().rows.len());
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn read(&self) -> Result<Readout<'k>, TraceError> {
        let entries = self.session.read_map(AGG_MAP)?;
        let snapshot = match entries {
            MapEntries::Empty => Snapshot { map: self.compiled.layout.clone(), rows: Vec::new() },
            entries => decode(&self.compiled.layout, &entries).map_err(|source| TraceError::Decode { source })?,
        };
        Ok(Readout { snapshot, symbols: KernelSymbols::new(self.kernel) })
    }

    /// Empties the aggregation map (an interval's numbers start from zero).
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Softirq::all()).count_by(Field::Name).start()?;
    /// loop {
    ///     std::thread::sleep(std::time::Duration::from_secs(1));
    ///     print!("{}", trace.read()?.render_text());
    ///     trace.clear()?; // per-second counts
    /// }
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn clear(&self) -> Result<(), TraceError> {
        Ok(self.session.clear_map(AGG_MAP)?)
    }

    /// What the kernel side could not record so far.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// let trace = Trace::new(&kernel, Skb::all()).by(Field::Hop).histogram(Field::Dur).start()?;
    /// let lost = trace.lost()?;
    /// if lost.map_full + lost.probe_misses > 0 {
    ///     eprintln!("incomplete: {lost:?}");
    /// }
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn lost(&self) -> Result<Lost, TraceError> {
        let counters = match self.session.read_map(GLOBAL_MAP_NAME)? {
            MapEntries::Shared(entries) => entries.into_iter().next().map(|(_, value)| value).unwrap_or_default(),
            _ => Vec::new(),
        };
        let counter = |index: usize| {
            counters
                .get(8 * index..8 * index + 8)
                .map_or(0, |bytes| u64::from_le_bytes(bytes.try_into().unwrap_or_default()))
        };
        Ok(Lost {
            map_full: counter(0),
            map_refused: counter(4),
            slots_full: counter(1),
            skb_reused: counter(2),
            skb_out_of_order: counter(3),
            probe_misses: self.session.missed_events()?,
        })
    }
}

/// Counts of data a trace could not record.
///
/// ```no_run
/// # use jitterlib::kernel::LiveKernel;
/// # use jitterlib::trace::*;
/// # let kernel = LiveKernel::new();
/// # let trace = Trace::new(&kernel, Skb::all()).start()?;
/// let Lost { map_full, map_refused, slots_full, skb_reused, skb_out_of_order, probe_misses } = trace.lost()?;
/// # Ok::<(), TraceError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lost {
    /// Map inserts that failed: the aggregation map (4 096 keys) or a probe's own map was full.
    pub map_full: u64,
    /// Map inserts the kernel refused with the map not full: no memory ready for a new entry (entries allocated
    /// on insert, see [`UpdateFailures`](crate::maps::UpdateFailures)) or the key's bucket held by a program
    /// interrupted on the same CPU.
    pub map_refused: u64,
    /// What did not fit a probe's fixed per-CPU slots: stall waits with more culprits than
    /// [`SLOTS`](crate::probe::STALL_SLOTS); the time of those beyond is in the wait's `unattributed`, and a rank they
    /// may have outrun is [`Culprit::Unknown`](crate::culprit::Culprit::Unknown).
    pub slots_full: u64,
    /// [`Skb`] hops not reported because the skb's address held another packet than the one last seen there
    /// (the old one was freed where no point sees it).
    pub skb_reused: u64,
    /// [`Skb`] hops not reported because the point cannot follow the packet's last one on any path through the
    /// stack (the kernel skipped a point's program in between).
    pub skb_out_of_order: u64,
    /// Events the kernel did not hand to the programs because another BPF program was running on that CPU.
    pub probe_misses: u64,
}

/// The merged contents of a trace's aggregation map, ready to print.
///
/// ```no_run
/// # use jitterlib::kernel::LiveKernel;
/// # use jitterlib::trace::{Field, Timer, Trace};
/// # let kernel = LiveKernel::new();
/// # let trace = Trace::new(&kernel, Timer::all()).histogram(Field::Dur).start()?;
/// let readout = trace.read()?;
/// print!("{}", readout.render_text());
/// println!("{}", readout.render_json());
/// # Ok::<(), jitterlib::trace::TraceError>(())
/// ```
#[derive(Clone)]
pub struct Readout<'k> {
    snapshot: Snapshot,
    symbols: KernelSymbols<'k>,
}

impl std::fmt::Debug for Readout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.snapshot.fmt(f)
    }
}

impl Readout<'_> {
    /// The decoded rows, in print order (keys, merged values, histograms).
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// # let trace = Trace::new(&kernel, Softirq::all()).count_by(Field::Name).start()?;
    /// for row in &trace.read()?.snapshot().rows {
    ///     println!("{:?}: {:?}", row.key, row.value);
    /// }
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The rows as `jl` prints them (bpftrace's text format), callbacks by name.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// # let trace = Trace::new(&kernel, Timer::all()).count_by(Field::Func).start()?;
    /// print!("{}", trace.read()?.render_text()); // @[process_timeout]: 12
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn render_text(&self) -> String {
        render_text(&self.snapshot, &self.symbols)
    }

    /// The rows as `jl -f json` prints them.
    ///
    /// ```no_run
    /// # use jitterlib::kernel::LiveKernel;
    /// # use jitterlib::trace::*;
    /// # let kernel = LiveKernel::new();
    /// # let trace = Trace::new(&kernel, Timer::all()).count_by(Field::Func).start()?;
    /// println!("{}", trace.read()?.render_json());
    /// # Ok::<(), TraceError>(())
    /// ```
    pub fn render_json(&self) -> serde_json::Value {
        render_json(&self.snapshot, &self.symbols)
    }
}

//! A trace's programs: at each of the probe's points, the probe's prologue (pairing, filters, fields) and then
//! the aggregation update, emitted by [`crate::agg::emit`] like jitterlang's.

use std::convert::Infallible;

use super::{Field, TraceError};
use crate::agg::emit::{emit_bucket, emit_key_end, emit_update, Update};
use crate::agg::{AggKind, FieldLayout, MapLayout, MapValue, ValueFormat};
use crate::driver::{emit_point, finish_point, write_programs, Counters, PointBody, PointSite};
use crate::insn::{Builder, Helper, Program, Reg, Size};
use crate::maps::{Counter, Gate, HashAllocation, MapKind, MapSpec, UpdateFailures};
use crate::object::valid_name;
use crate::probe::{emit_current_comm, place_maps, FieldSource, FieldType, Probe, COMM_SIZE};
use crate::session::Attach;

/// Name of the aggregation map.
pub(super) const AGG_MAP: &str = "jt_agg";
/// Object index of the global counters ([`MapKind::Global`]): u64 0 counts failed inserts (map full), u64 1
/// what did not fit a probe's fixed slots, u64 2 and 3 the hops `skb()` dropped (reused address, out of order),
/// u64 4 inserts the kernel refused with the map not full.
const COUNTERS_MAP_INDEX: usize = 0;
/// Object index of the aggregation map.
const AGG_MAP_INDEX: usize = 1;
/// The start/stop gate, the object's third map.
const GATE: Gate = Gate { map: 2 };
/// The counters of inserts that failed because a map was full, or for another reason.
const MAP_UPDATES: UpdateFailures = UpdateFailures {
    full: Counter { map: COUNTERS_MAP_INDEX, key: 0 },
    refused: Counter { map: COUNTERS_MAP_INDEX, key: 4 },
};
/// The counter of what did not fit a probe's fixed per-CPU slots (a stall's culprits beyond its slots).
const SLOTS_FULL: Counter = Counter { map: COUNTERS_MAP_INDEX, key: 1 };
/// The counter of `skb()` hops dropped because the address held another packet.
const SKB_REUSED: Counter = Counter { map: COUNTERS_MAP_INDEX, key: 2 };
/// The counter of `skb()` hops dropped because the point cannot follow the packet's last one.
const SKB_OUT_OF_ORDER: Counter = Counter { map: COUNTERS_MAP_INDEX, key: 3 };
/// The BPF stack limit.
const STACK_LIMIT: u32 = 512;
/// Callee-saved registers free after the prologue (r6 holds the context).
const SCRATCH: [Reg; 3] = [Reg::R7, Reg::R8, Reg::R9];

/// One program of a compiled trace.
///
/// ```no_run
/// # use jitterlib::kernel::FixtureKernel;
/// # use jitterlib::trace::*;
/// let kernel = FixtureKernel::bundled();
/// for program in Trace::new(&kernel, Softirq::all()).compile()?.programs {
///     println!("{} -> {}: {} instructions", program.name, program.attach.target(), program.program.len());
/// }
/// # Ok::<(), TraceError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TraceProgram {
    /// Program name in the object and the kernel.
    pub name: String,
    /// Where it attaches: the mechanism the probe chose on this kernel.
    pub attach: Attach,
    /// The instructions.
    pub program: Program,
}

/// A field of the probe, where its value is and how it is laid out in the map.
#[derive(Clone, Debug)]
pub(super) struct Resolved {
    source: Source,
    layout: FieldLayout,
    signed: bool,
}

#[derive(Clone, Debug)]
enum Source {
    /// A u64 the prologue stored at `r10 + offset`.
    Stack(i16),
    /// A string the probe writes where it is used ([`Probe::emit_computed`]).
    Computed(String),
    /// `bpf_get_smp_processor_id()`.
    Cpu,
    /// `bpf_get_current_comm()`.
    Comm,
}

impl Resolved {
    /// Finds `field` in the probe, or among the values every probe has.
    pub(super) fn find(probe: &dyn Probe, field: Field) -> Option<Resolved> {
        let integer = |format| FieldLayout { name: Some(field.name().into()), ..FieldLayout::integer(format) };
        let string = |size: u32| FieldLayout { name: Some(field.name().into()), ..FieldLayout::string(size) };
        match field {
            Field::Cpu => {
                return Some(Resolved { source: Source::Cpu, layout: integer(ValueFormat::Unsigned), signed: false })
            }
            Field::Comm => return Some(Resolved { source: Source::Comm, layout: string(COMM_SIZE), signed: false }),
            _ => {}
        }
        let found = probe.fields().iter().find(|candidate| candidate.name == field.name())?;
        let (layout, signed) = match found.ty {
            FieldType::Int { signed, .. } => {
                (integer(if signed { ValueFormat::Signed } else { ValueFormat::Unsigned }), signed)
            }
            FieldType::Enum { signed, names, .. } => (integer(ValueFormat::Enum(names)), signed),
            FieldType::Name { names } => (integer(ValueFormat::Name(names)), false),
            FieldType::ShortBytes { .. } => (integer(ValueFormat::Unsigned), false),
            FieldType::Address => (integer(ValueFormat::Hex), false),
            FieldType::Duration => (integer(ValueFormat::Duration), false),
            FieldType::KernelSymbol => (integer(ValueFormat::KernelSymbol), false),
            FieldType::Culprit => (integer(ValueFormat::Culprit), false),
            FieldType::Str { size } => (string(size.div_ceil(8) * 8), false),
            FieldType::DataLocStr | FieldType::Pointer { .. } | FieldType::Bytes { .. } => return None,
        };
        let source = match found.source {
            FieldSource::Stack { offset } => Source::Stack(offset),
            FieldSource::Computed => Source::Computed(found.name.clone()),
            FieldSource::Context { .. } => return None,
        };
        Some(Resolved { source, layout, signed })
    }

    /// Its layout in the map.
    pub(super) fn layout(&self) -> &FieldLayout {
        &self.layout
    }

    /// Whether it is a string (not something to sum or bucket).
    pub(super) fn is_string(&self) -> bool {
        matches!(self.layout.format, ValueFormat::Str | ValueFormat::Name(_))
    }

    /// Writes the field into its key slot at `r10 + offset`, integers through `scratch`.
    fn store(&self, b: &mut Builder, probe: &dyn Probe, point: usize, offset: i16, scratch: Reg) {
        match &self.source {
            Source::Computed(name) => probe.emit_computed(b, point, name, offset, self.layout.size),
            Source::Comm => emit_current_comm(b, offset),
            Source::Stack(_) | Source::Cpu => {
                self.load(b, scratch);
                b.store(Size::DW, Reg::R10, offset, scratch);
            }
        }
    }

    /// Loads an integer field into `dst`.
    fn load(&self, b: &mut Builder, dst: Reg) {
        match self.source {
            Source::Stack(offset) => b.load(Size::DW, dst, Reg::R10, offset),
            _ => {
                b.call(Helper::GetSmpProcessorId);
                b.mov64(dst, Reg::R0);
            }
        }
    }
}

/// What a trace aggregates: the map's layout, the key fields and the aggregated one.
#[derive(Debug)]
pub(super) struct Plan {
    /// The aggregation map's layout.
    pub layout: MapLayout,
    /// Key fields, in order.
    pub keys: Vec<Resolved>,
    /// The aggregated field (`None` for `count`).
    pub value: Option<Resolved>,
    /// Keys the aggregation map holds.
    pub max_keys: u32,
    /// How the kernel allocates the hash maps, for the kernel the trace is compiled for.
    pub allocation: HashAllocation,
}

impl Plan {
    fn kind(&self) -> AggKind {
        match &self.layout.value {
            MapValue::Agg { kind, .. } => *kind,
            MapValue::Scalar(_) | MapValue::Tuple(_) => AggKind::Count,
        }
    }
}

/// The programs, maps and object of a trace.
pub(super) struct Output {
    pub programs: Vec<TraceProgram>,
    pub maps: Vec<MapSpec>,
    pub object: Vec<u8>,
}

/// Generates every program of `probe` (of kind `kind`, which names a program of a one-point probe) with the aggregation `plan`, and the object holding them.
pub(super) fn generate(kind: &str, probe: &dyn Probe, plan: &Plan) -> Result<Output, TraceError> {
    let describe = probe.describe();
    let stack = Stack::new(probe, plan).ok_or_else(|| TraceError::StackLimit {
        probe: describe.clone(),
        needed: Stack::needed(probe, plan),
        limit: STACK_LIMIT,
    })?;
    let mut maps = vec![
        MapSpec {
            name: "jt_counters".into(),
            kind: MapKind::Global,
            key_size: 4,
            value_size: 40,
            max_entries: 1,
            on_insert: false,
        },
        plan.layout.map_spec(AGG_MAP.into(), plan.max_keys),
        Gate::map_spec("jt_gate"),
    ];
    let own = place_maps(probe, "jt_p_", &mut maps);
    let built = |error| TraceError::Build { probe: describe.clone(), source: error };
    let points = probe.points();
    let several = points.len() > 1;
    let mut programs = Vec::new();
    let counters = Counters {
        map_updates: MAP_UPDATES,
        slots_full: SLOTS_FULL,
        skb_reused: SKB_REUSED,
        skb_out_of_order: SKB_OUT_OF_ORDER,
    };
    for (index, point) in points.into_iter().enumerate() {
        let mut body = Aggregation { b: Builder::new(), probe, point: index, plan, stack: &stack };
        let exit = body.b.new_label();
        let gate = (!point.attach.runs_on_demand()).then_some(GATE);
        // An aggregation always has something to do.
        let site = PointSite { point: index, fires: point.fires, maps: &own, counters, gate, empty_block: false };
        let Ok(()) = emit_point(&mut body, probe, exit, &site);
        let program = finish_point(body.b).map_err(built)?;
        let name = if several { format!("jt_{}", point.suffix) } else { format!("jt_{kind}") };
        programs.push(TraceProgram { name: valid_name(&name), attach: point.attach, program });
    }
    let companions = probe.companions(&own).map_err(|error| TraceError::Probe { probe: describe.clone(), error })?;
    programs.extend(companions.into_iter().map(|companion| TraceProgram {
        name: valid_name(&format!("jt_c_{}", companion.suffix)),
        attach: companion.attach,
        program: companion.program,
    }));
    let placed = programs.iter().map(|unit| (unit.name.as_str(), &unit.attach, &unit.program));
    let object = write_programs(placed, &maps, plan.allocation).map_err(|source| TraceError::Object { source })?;
    Ok(Output { programs, maps, object })
}

/// What runs at a trace's points: its aggregation.
struct Aggregation<'a> {
    b: Builder,
    probe: &'a dyn Probe,
    /// Which of the probe's points the program runs at.
    point: usize,
    plan: &'a Plan,
    stack: &'a Stack,
}

impl PointBody for Aggregation<'_> {
    type Error = Infallible;

    fn builder(&mut self) -> &mut Builder {
        &mut self.b
    }

    fn emit(&mut self) -> Result<(), Infallible> {
        emit_aggregation(&mut self.b, self.probe, self.point, self.plan, self.stack);
        Ok(())
    }
}

/// `@[keys] = kind(value)` after the prologue: the value, its bucket index and each integer key on its way to the
/// key take the callee-saved registers free after the prologue, in that order (as jitterlang allocates them).
fn emit_aggregation(b: &mut Builder, probe: &dyn Probe, point: usize, plan: &Plan, stack: &Stack) {
    let kind = plan.kind();
    let mut taken = 0;
    let mut take = || {
        taken += 1;
        SCRATCH[taken - 1]
    };
    let value = plan.value.as_ref().map(|field| {
        let reg = take();
        field.load(b, reg);
        (reg, field.signed)
    });
    let bucket = match value {
        Some((reg, _)) if kind.is_histogram() => {
            let idx = take();
            emit_bucket(b, kind, reg, idx);
            Some(idx)
        }
        _ => None,
    };
    let scratch = take();
    let mut offset = stack.key;
    for key in &plan.keys {
        key.store(b, probe, point, offset, scratch);
        offset += key.layout.size as i16;
    }
    emit_key_end(b, &plan.layout, stack.key, offset, bucket);
    let init = (!plan.layout.is_array()).then_some(stack.init);
    emit_update(b, &Update { map: AGG_MAP_INDEX, kind, key: stack.key, value, init, map_updates: MAP_UPDATES });
}

/// Where the key and a new entry's value sit, below the probe's own stack bytes.
#[derive(Debug)]
struct Stack {
    key: i16,
    init: i16,
}

impl Stack {
    fn new(probe: &dyn Probe, plan: &Plan) -> Option<Stack> {
        let needed = Stack::needed(probe, plan);
        if needed > STACK_LIMIT {
            return None;
        }
        let key = round8(probe.stack_bytes()) + round8(plan.layout.key_room());
        Some(Stack { key: -(key as i16), init: -(needed as i16) })
    }

    /// Bytes of stack: the probe's, the key's and the new value's.
    fn needed(probe: &dyn Probe, plan: &Plan) -> u32 {
        round8(probe.stack_bytes()) + round8(plan.layout.key_room()) + round8(plan.layout.value_size())
    }
}

fn round8(bytes: u32) -> u32 {
    bytes.div_ceil(8) * 8
}

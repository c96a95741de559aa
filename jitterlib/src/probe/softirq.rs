//! `softirq(NAME?)` and `softirq_delay(NAME?)`: softirq run time and softirq wait time, per vector and CPU.
//!
//! - `softirq`: a companion on `irq:softirq_entry` stamps the start in a per-CPU slot per vector; the main
//!   program on `irq:softirq_exit` pairs with it: `dur` is entry to exit on the same CPU (softirqs do not nest
//!   on one CPU).
//! - `softirq_delay`: the companion on `irq:softirq_raise` stamps the first raise of a vector on a CPU (later
//!   raises before it runs keep the first stamp); the main program on `irq:softirq_entry` reports `dur`, how long
//!   the vector waited to run: the direct measure of "NET_RX waited behind TIMER". A softirq raised on one CPU
//!   runs on that CPU, so per-CPU slots pair correctly.
//!
//! NAME (`net_rx`, `timer`, ... or a vector number) is filtered in BPF; `name` is the vector number, named as
//! a [`FieldType::Name`] (its text is built only where a string is needed).
//!
//! Both tracepoints are reached through tp_btf, a raw tracepoint or a perf-event tracepoint
//! ([`TracepointHook`]): the vector is argument 0 (`TP_PROTO(unsigned int vec_nr)`) or the record's `vec`.

use super::tracepoint_hook::TracepointHook;
use super::{
    Companion, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeArg, ProbeError, ProbeErrorKind, ProbeKind,
    ProbeSpec,
};
use crate::agg::EnumNames;
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Reg, Size};
use crate::kernel::{KernelInfo, SOFTIRQ_NAMES};
use crate::maps::{MapKind, MapSpec};
use crate::session::Attach;

const FIELDS: &[(&str, &str)] = &[
    ("dur", "nanoseconds: run time (softirq) or wait from raise to entry (softirq_delay)"),
    ("vec", "the vector number (0-9)"),
    ("name", "the vector's name: hi timer net_tx net_rx block irq_poll tasklet sched hrtimer rcu"),
];

/// Registry entry for softirq run times.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "softirq",
    aliases: &[],
    syntax: "softirq(\"NAME\") or softirq()",
    about: "each softirq run (of vector NAME, or every vector), when it ends",
    fields: FIELDS,
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, &RUN),
};

/// Registry entry for softirq wait times.
pub(super) static DELAY_KIND: ProbeKind = ProbeKind {
    name: "softirq_delay",
    aliases: &[],
    syntax: "softirq_delay(\"NAME\") or softirq_delay()",
    about: "each softirq start (of vector NAME, or every vector), with how long it waited since it was raised",
    fields: FIELDS,
    targets: None,
    resolve: |spec, kernel| resolve(spec, kernel, &DELAY),
};

/// The two tracepoints paired, and whether a later stamp may replace an earlier one.
#[derive(Debug)]
struct Pairing {
    probe: &'static str,
    stamp: &'static str,
    report: &'static str,
    keep_first: bool,
}

static RUN: Pairing = Pairing { probe: "softirq", stamp: "softirq_entry", report: "softirq_exit", keep_first: false };
static DELAY: Pairing =
    Pairing { probe: "softirq_delay", stamp: "softirq_raise", report: "softirq_entry", keep_first: true };

/// Stack layout of the main program's prologue.
const STACK_DUR: i16 = -8;
const STACK_VEC: i16 = -16;
const STACK_KEY: i16 = -20;

#[derive(Debug)]
struct Softirq {
    pairing: &'static Pairing,
    vector: Option<u32>,
    stamp: TracepointHook,
    report: TracepointHook,
    stamp_vec: u32,
    report_vec: u32,
    fields: [Field; 3],
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo, pairing: &'static Pairing) -> Result<Box<dyn Probe>, ProbeError> {
    let probe = pairing.probe;
    let vector = match spec {
        ProbeSpec::Typed { args, .. } => match args.as_slice() {
            [] => None,
            [ProbeArg::Str(name)] | [ProbeArg::Ident(name)] => Some(vector_of(name).ok_or_else(|| {
                ProbeError::new(ProbeErrorKind::BadSpec, format!("unknown softirq `{name}`"))
                    .with_hint(format!("one of: {} (or a number 0-9)", SOFTIRQ_NAMES.join(", ")))
                    .at(0)
            })?),
            [ProbeArg::Int(vec)] if *vec < SOFTIRQ_NAMES.len() as u64 => Some(*vec as u32),
            _ => return Err(ProbeError::bad_spec(format!("`{probe}` takes one softirq name: {probe}(\"net_rx\")"))),
        },
        ProbeSpec::Path(_) => return Err(ProbeError::bad_spec(format!("`{probe}` is written {probe}(\"NAME\")")).at(0)),
    };
    let stamp = TracepointHook::resolve(kernel, "irq", pairing.stamp, None)?;
    let report = TracepointHook::resolve(kernel, "irq", pairing.report, None)?;
    Ok(Box::new(Softirq {
        pairing,
        vector,
        stamp_vec: stamp.offset(0, "vec")?,
        report_vec: report.offset(0, "vec")?,
        stamp,
        report,
        fields: [
            Field { name: "dur".into(), ty: FieldType::Duration, source: FieldSource::Stack { offset: STACK_DUR } },
            Field {
                name: "vec".into(),
                ty: FieldType::Int { size: 8, signed: false },
                source: FieldSource::Stack { offset: STACK_VEC },
            },
            Field {
                name: "name".into(),
                ty: FieldType::Name { names: EnumNames::table("softirq", SOFTIRQ_NAMES) },
                source: FieldSource::Stack { offset: STACK_VEC },
            },
        ],
    }))
}

pub(super) fn vector_of(name: &str) -> Option<u32> {
    let name = name.to_ascii_lowercase();
    SOFTIRQ_NAMES
        .iter()
        .position(|known| *known == name)
        .map(|i| i as u32)
        .or_else(|| name.parse().ok().filter(|v| *v < 10))
}

impl Softirq {
    /// Loads `vec` from the record into `dst` and leaves through `exit` unless it is the filtered vector (or
    /// out of range, which the verifier needs to know for the slot lookup).
    fn load_vector(&self, b: &mut Builder, ctx: Reg, offset: u32, dst: Reg, exit: Label) {
        b.load(Size::W, dst, ctx, offset as i16);
        match self.vector {
            Some(vector) => b.jump_if(JmpOp::Ne, dst, vector as i32, exit),
            None => b.jump_if(JmpOp::Ge, dst, SOFTIRQ_NAMES.len() as i32, exit),
        }
    }
}

/// `r0 = lookup(map, vec)` with the vector stored as the key at `r10 + key`, leaving through `exit` if absent.
fn lookup_slot(b: &mut Builder, map: usize, vec: Reg, key: i16, exit: Label) {
    b.store(Size::W, Reg::R10, key, vec);
    super::lookup_stack_key(b, map, key, exit);
}

impl Probe for Softirq {
    fn describe(&self) -> String {
        match self.vector {
            Some(vector) => format!("{}(\"{}\")", self.pairing.probe, SOFTIRQ_NAMES[vector as usize]),
            None => format!("{}()", self.pairing.probe),
        }
    }

    fn attach(&self) -> Attach {
        self.report.attach.clone()
    }

    fn notes(&self) -> Vec<String> {
        [&self.stamp, &self.report].into_iter().filter_map(TracepointHook::note).collect()
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        STACK_KEY.unsigned_abs() as u32
    }

    fn maps(&self) -> Vec<MapSpec> {
        let entries = SOFTIRQ_NAMES.len() as u32;
        vec![MapSpec {
            name: "stamp".into(),
            kind: MapKind::PerCpuArray,
            key_size: 4,
            value_size: 8,
            max_entries: entries,
            on_insert: false,
        }]
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        b.comment(format!("{}: pair with the stamp of this vector on this CPU", self.describe()));
        self.load_vector(b, env.ctx, self.report_vec, Reg::R7, env.exit);
        b.store(Size::DW, Reg::R10, STACK_VEC, Reg::R7);
        lookup_slot(b, env.maps[0], Reg::R7, STACK_KEY, env.exit);
        b.mov64(Reg::R7, Reg::R0);
        b.load(Size::DW, Reg::R8, Reg::R7, 0);
        b.jump_if(JmpOp::Eq, Reg::R8, 0, env.exit);
        b.store_imm(Size::DW, Reg::R7, 0, 0);
        b.call(Helper::KtimeGetNs);
        b.alu64(AluOp::Sub, Reg::R0, Reg::R8);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R0);
    }

    fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        let about = format!("{}: stamp irq:{} on this CPU", self.describe(), self.pairing.stamp);
        let program = super::companion_program(about, |b, exit| {
            b.mov64(Reg::R6, Reg::R1);
            self.load_vector(b, Reg::R6, self.stamp_vec, Reg::R7, exit);
            lookup_slot(b, maps[0], Reg::R7, -4, exit);
            b.mov64(Reg::R7, Reg::R0);
            if self.pairing.keep_first {
                b.load(Size::DW, Reg::R1, Reg::R7, 0);
                b.jump_if(JmpOp::Ne, Reg::R1, 0, exit);
            }
            b.call(Helper::KtimeGetNs);
            b.store(Size::DW, Reg::R7, 0, Reg::R0);
        })?;
        Ok(vec![Companion { suffix: "stamp", attach: self.stamp.attach.clone(), program }])
    }
}

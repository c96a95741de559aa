//! `irqoff(THRESHOLD)`: a trace-irqoff-style detector of CPUs that could not take interrupts, or could not run
//! softirqs, for longer than THRESHOLD.
//!
//! A perf software CPU clock on every online CPU fires every THRESHOLD/4 from an hrtimer, so each CPU expires
//! an hrtimer at least that often while it can take interrupts. The main program runs at every hrtimer expiry
//! (raw tracepoint `hrtimer_expire_entry`, in the timer interrupt or HRTIMER softirq) and keeps per CPU the time
//! of the last one:
//!
//! - `hardirq`: the gap since this CPU's previous hrtimer expiry is over THRESHOLD. Interrupts were off for at
//!   most that long (at least the gap minus one period); the kernel stack is the code that just re-enabled them.
//!   A gap that starts in the idle task is not reported: an idle CPU without a tick may have its perf clock
//!   throttled, and the idle loop does not run with interrupts off.
//! - `softirq`: a TIMER or NET_RX softirq was raised on this CPU more than THRESHOLD ago and has not started
//!   yet (softirqs disabled, a long softirq of another vector, or a starved ksoftirqd); the kernel stack is what
//!   holds the CPU now. Reported once per raise, at the first expiry past THRESHOLD, so `dur` is how long it had
//!   waited when noticed. Two companions keep the per-CPU stamps: `softirq_raise` stamps the first raise of each
//!   watched vector, `softirq_entry` clears it. An idle CPU needs no special case: it runs raised softirqs at
//!   once, which clears the stamp.
//!
//! Every program is a raw tracepoint because those only skip a run when the same program is already running on
//! the CPU. Perf event and tracefs tracepoint programs are skipped whenever any such BPF program (or a BPF map
//! syscall) holds the CPU's `bpf_prog_active`, even a preempted one: measured here, perf samples went missing for
//! up to a second on a busy CPU, which would read as interrupts off; and a lost softirq entry would leave a stale
//! stamp. The perf clock's own program does nothing: it is there for its hrtimer.

use super::{Companion, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeArg, ProbeError, ProbeKind};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Reg, Size};
use crate::kernel::KernelInfo;
use crate::maps::{MapKind, MapSpec};
use crate::probe::ProbeSpec;
use crate::session::{Attach, PerfCounter};
use crate::units::format_duration;

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "irqoff",
    aliases: &[],
    syntax: "irqoff(THRESHOLD) or irqoff() (10ms)",
    about: "each time a CPU had interrupts off, or a TIMER/NET_RX softirq waited, longer than THRESHOLD",
    fields: &[
        ("dur", "how long interrupts were off (gap between hrtimer expiries), or how long the softirq had waited (ns)"),
        ("kind", "`hardirq` (interrupts off) or `softirq` (a raised TIMER/NET_RX softirq did not start)"),
    ],
    targets: None,
    resolve,
};

/// Threshold of `irqoff()`, trace-irqoff's default.
const DEFAULT_THRESHOLD: u64 = 10_000_000;
/// Below this the clock costs more than it is worth (4 000 hrtimer interrupts a second per CPU at 1 ms).
const MIN_THRESHOLD: u64 = 1_000_000;
/// Above this the clock period would be seconds: nothing a latency investigation looks for.
const MAX_THRESHOLD: u64 = 10_000_000_000;
/// Clock periods per threshold: a stall is noticed within a quarter of the threshold after it ends.
const PERIODS_PER_THRESHOLD: u64 = 4;

/// The softirq vectors watched (`TIMER_SOFTIRQ`, `NET_RX_SOFTIRQ`): what delays timers and packets.
const WATCHED_VECTORS: [u32; 2] = [1, 3];

/// Per-CPU state: the last hrtimer expiry, whether it interrupted the idle task, then per watched vector the pending
/// raise stamp and the stamp last reported.
const STATE_LAST_EXPIRY: i16 = 0;
const STATE_LAST_IDLE: i16 = 8;
const fn raised_slot(i: usize) -> i16 {
    16 + 16 * i as i16
}
const fn reported_slot(i: usize) -> i16 {
    raised_slot(i) + 8
}
const STATE_SIZE: u32 = 16 + 16 * WATCHED_VECTORS.len() as u32;

/// The kinds, in the order of the number kept at `STACK_KIND`.
const KINDS: [&str; 2] = ["hardirq", "softirq"];

/// Stack layout of the main program's prologue.
const STACK_DUR: i16 = -8;
const STACK_KIND: i16 = -16;
const STACK_KEY: i16 = -20;

#[derive(Debug)]
struct IrqOff {
    threshold: u64,
    fields: [Field; 2],
}

fn resolve(spec: &ProbeSpec, _kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let threshold = match spec {
        ProbeSpec::Typed { args, .. } => match args.as_slice() {
            [] => DEFAULT_THRESHOLD,
            [ProbeArg::Int(ns)] => checked_threshold(*ns)?,
            [_] => {
                return Err(ProbeError::bad_spec("the threshold of `irqoff` is a duration")
                    .with_hint("e.g. `irqoff(10ms)` (the default when left out)")
                    .at(0))
            }
            _ => return Err(ProbeError::bad_spec("`irqoff` takes one threshold: irqoff(10ms)").at(1)),
        },
        ProbeSpec::Path(_) => {
            return Err(ProbeError::bad_spec("`irqoff` is written irqoff(THRESHOLD), e.g. irqoff(10ms)").at(0))
        }
    };
    Ok(Box::new(IrqOff {
        threshold,
        fields: [
            Field { name: "dur".into(), ty: FieldType::Duration, source: FieldSource::Stack { offset: STACK_DUR } },
            Field { name: "kind".into(), ty: FieldType::Str { size: 8 }, source: FieldSource::Computed },
        ],
    }))
}

fn checked_threshold(ns: u64) -> Result<u64, ProbeError> {
    if (MIN_THRESHOLD..=MAX_THRESHOLD).contains(&ns) {
        return Ok(ns);
    }
    let range = format!("{} to {}", format_duration(MIN_THRESHOLD as i64), format_duration(MAX_THRESHOLD as i64));
    let shown = i64::try_from(ns).map_or_else(|_| format!("{ns}ns"), format_duration);
    let error = ProbeError::bad_spec(format!("irqoff threshold {shown} is outside {range}")).at(0);
    Err(if ns < MIN_THRESHOLD {
        error.with_hint(format!(
            "a bare number is nanoseconds: write a unit, e.g. `irqoff(10ms)`; the threshold is at least {} (the \
             probe arms a clock every quarter of it on every CPU)",
            format_duration(MIN_THRESHOLD as i64)
        ))
    } else {
        error.with_hint("irq-off and softirq stalls that matter for latency are milliseconds: e.g. `irqoff(100ms)`")
    })
}

impl IrqOff {
    fn period(&self) -> u64 {
        self.threshold / PERIODS_PER_THRESHOLD
    }

    /// The perf clock that makes every CPU expire an hrtimer every period; its program does nothing.
    fn clock_companion(&self) -> Result<Companion, ProbeError> {
        let mut b = Builder::new();
        b.comment(format!(
            "{}: an hrtimer every {} on every CPU",
            self.describe(),
            format_duration(self.period() as i64)
        ));
        b.mov64(Reg::R0, 0);
        b.exit();
        let program = b.finish()?;
        Ok(Companion {
            suffix: "clock",
            attach: Attach::Perf { counter: PerfCounter::CpuClock, period: self.period(), cpu: None },
            program,
        })
    }

    /// A companion on raw tracepoint `name` (argument 0 is the vector) that runs `update(builder, slot)` on the
    /// state slot of each watched vector, with `r7` pointing at this CPU's state.
    fn stamp_companion(
        &self,
        suffix: &'static str,
        name: &str,
        state: usize,
        update: fn(&mut Builder, i16),
    ) -> Result<Companion, ProbeError> {
        let about = format!("{}: on {name}, per watched vector on this CPU", self.describe());
        let program = super::companion_program(about, |b, exit| {
            b.load(Size::DW, Reg::R6, Reg::R1, 0);
            b.store_imm(Size::W, Reg::R10, -4, 0);
            super::lookup_stack_key(b, state, -4, exit);
            b.mov64(Reg::R7, Reg::R0);
            for (i, vector) in WATCHED_VECTORS.iter().enumerate() {
                let next = b.new_label();
                b.jump_if(JmpOp::Ne, Reg::R6, *vector as i32, next);
                update(b, raised_slot(i));
                if i + 1 < WATCHED_VECTORS.len() {
                    b.jump(exit);
                }
                b.bind(next);
            }
        })?;
        Ok(Companion { suffix, attach: Attach::RawTracepoint { name: name.into() }, program })
    }
}

/// Stamps the raise unless an earlier raise is still pending.
fn stamp_first_raise(b: &mut Builder, slot: i16) {
    let keep = b.new_label();
    b.load(Size::DW, Reg::R1, Reg::R7, slot);
    b.jump_if(JmpOp::Ne, Reg::R1, 0, keep);
    b.call(Helper::KtimeGetNs);
    b.store(Size::DW, Reg::R7, slot, Reg::R0);
    b.bind(keep);
}

/// The vector started: nothing is pending any more.
fn clear_stamp(b: &mut Builder, slot: i16) {
    b.store_imm(Size::DW, Reg::R7, slot, 0);
}

impl Probe for IrqOff {
    fn describe(&self) -> String {
        format!("irqoff({})", format_duration(self.threshold as i64))
    }

    fn attach(&self) -> Attach {
        Attach::RawTracepoint { name: "hrtimer_expire_entry".into() }
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        STACK_KEY.unsigned_abs() as u32
    }

    fn maps(&self) -> Vec<MapSpec> {
        vec![MapSpec {
            name: "state".into(),
            kind: MapKind::PerCpuArray,
            key_size: 4,
            value_size: STATE_SIZE,
            max_entries: 1,
            on_insert: false,
        }]
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        let report = b.new_label();
        b.comment(format!("{}: gap since this CPU's last hrtimer expiry", self.describe()));
        b.store_imm(Size::W, Reg::R10, STACK_KEY, 0);
        super::lookup_stack_key(b, env.maps[0], STACK_KEY, env.exit);
        b.mov64(Reg::R7, Reg::R0);
        b.call(Helper::KtimeGetNs);
        b.mov64(Reg::R8, Reg::R0);
        b.ld_imm64(Reg::R9, self.threshold);
        let softirqs = b.new_label();
        b.call(Helper::GetCurrentPidTgid);
        b.alu64(AluOp::Lsh, Reg::R0, 32);
        b.load(Size::DW, Reg::R2, Reg::R7, STATE_LAST_IDLE);
        b.store_imm(Size::DW, Reg::R7, STATE_LAST_IDLE, 0);
        let busy = b.new_label();
        b.jump_if(JmpOp::Ne, Reg::R0, 0, busy);
        b.store_imm(Size::DW, Reg::R7, STATE_LAST_IDLE, 1);
        b.bind(busy);
        b.load(Size::DW, Reg::R1, Reg::R7, STATE_LAST_EXPIRY);
        b.store(Size::DW, Reg::R7, STATE_LAST_EXPIRY, Reg::R8);
        b.jump_if(JmpOp::Eq, Reg::R1, 0, softirqs);
        b.jump_if(JmpOp::Ne, Reg::R2, 0, softirqs);
        b.mov64(Reg::R2, Reg::R8);
        b.alu64(AluOp::Sub, Reg::R2, Reg::R1);
        b.jump_if(JmpOp::Sle, Reg::R2, Reg::R9, softirqs);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R2);
        b.store_imm(Size::DW, Reg::R10, STACK_KIND, 0);
        b.jump(report);
        b.bind(softirqs);
        b.comment(format!("{}: watched softirqs raised and not started", self.describe()));
        for i in 0..WATCHED_VECTORS.len() {
            let next = b.new_label();
            b.load(Size::DW, Reg::R1, Reg::R7, raised_slot(i));
            b.jump_if(JmpOp::Eq, Reg::R1, 0, next);
            b.load(Size::DW, Reg::R2, Reg::R7, reported_slot(i));
            b.jump_if(JmpOp::Eq, Reg::R2, Reg::R1, next);
            b.mov64(Reg::R2, Reg::R8);
            b.alu64(AluOp::Sub, Reg::R2, Reg::R1);
            b.jump_if(JmpOp::Sle, Reg::R2, Reg::R9, next);
            b.store(Size::DW, Reg::R7, reported_slot(i), Reg::R1);
            b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R2);
            b.store_imm(Size::DW, Reg::R10, STACK_KIND, 1);
            b.jump(report);
            b.bind(next);
        }
        b.jump(env.exit);
        b.bind(report);
    }

    fn emit_computed(&self, b: &mut Builder, _point: usize, field: &str, offset: i16, size: u32) {
        if field == "kind" {
            super::emit_name_of(b, STACK_KIND, &KINDS, offset, size);
        }
    }

    fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        Ok(vec![
            self.clock_companion()?,
            self.stamp_companion("raise", "softirq_raise", maps[0], stamp_first_raise)?,
            self.stamp_companion("entry", "softirq_entry", maps[0], clear_stamp)?,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_outside_the_range_are_refused_with_a_hint() {
        assert_eq!(checked_threshold(10_000_000).ok(), Some(10_000_000));
        let error = checked_threshold(10).unwrap_err();
        assert_eq!(error.message, "irqoff threshold 10ns is outside 1ms to 10s");
        assert!(error.hint.unwrap().contains("irqoff(10ms)"));
        assert!(checked_threshold(60_000_000_000).is_err());
    }
}

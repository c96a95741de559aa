//! `stall(VICTIM?, MIN?)`: each wait of a softirq vector on one CPU, from its raise to its start, with what
//! ran on that CPU meanwhile and how much of the wait each took: the link between a victim (NET_RX waiting)
//! and its culprit (`estimation_timer` running in TIMER softirq).
//!
//! Every CPU keeps, in one per-CPU map value, the stack of contexts running on it (the task at the bottom; a
//! softirq vector, a timer or hrtimer callback, a hardirq handler or system interrupt above it, innermost on
//! top), when the last context switch happened, and while a victim is pending its raise time and up to
//! [`SLOTS`] culprits with the time each ran. Programs on raw tracepoints follow the contexts (`softirq_entry`/
//! `exit`, `timer_expire_entry`/`exit`, `hrtimer_expire_entry`/`exit`, `irq_handler_entry`/`exit`, x86's
//! `irq_vectors` entries and exits of the local timer, irq work and IPIs where the kernel has them,
//! `sched_switch`): each first charges the time since the last switch to the innermost context, then pushes or
//! pops. The victim's raise (`softirq_raise`) starts the wait; its `softirq_entry` ends it, and the user's block
//! runs with the wait, the three culprits that took most of it, the rest of the culprits (`others`) and what no
//! context accounts for (`unattributed`): the fields always add up to the wait.
//!
//! Time is charged to the innermost context only, so a hardirq inside a timer callback is not counted twice.
//! Time in task context is the task's (it held the CPU with bottom halves or interrupts off, or ksoftirqd was
//! waiting for the CPU behind it). A task culprit is the task's name ([`crate::culprit::name_hash`] of its
//! `comm`), not its thread: maps keyed by culprits grow with what runs, not with thread churn. Task time is only
//! charged while that task is current, so its name is read then; each CPU remembers the last thread it named
//! until the next task switch, so a thread is named once per stretch on a CPU rather than once per wait.
//! Interrupts without a tracepoint of their own are charged to what they interrupted. An exit whose entry was not seen
//! (the probe attached meanwhile, or the kernel skipped a program) pops nothing; a task switch, which only happens in
//! task context, drops any context whose exit was missed. A wait is only measured from a raise seen after the probe saw
//! the victim start on that CPU (the kernel clears the pending bit as a vector starts, so that raise is the first of
//! its wait whatever order the programs attached in), and the victim's exit without its start ends the wait unmeasured:
//! a wait is never reported from a raise that an earlier run already served. Culprits beyond the slots are not ranked:
//! their time, summed, is part of `unattributed`, the wait is counted ([`EmitEnv::slots_full`]), and a rank whose
//! culprit took less than that sum is reported as [`Culprit::Unknown`] with no time (its time goes to `others`), since
//! one of the culprits left out may have taken more: a verdict is never a culprit that did not take the most time.
//!
//! Raw tracepoints (Linux 4.17) detach in a fraction of a millisecond and let programs of one CPU nest (a
//! perf-event tracepoint program would be skipped while another runs). The callbacks, the next task's id and
//! nothing else are read from kernel memory, at BTF offsets.

use super::{
    emit_current_comm, Companion, EmitEnv, Field, FieldSource, FieldType, Probe, ProbeArg, ProbeError, ProbeErrorKind,
    ProbeKind, ProbeSpec,
};
use crate::culprit::{
    Culprit, CulpritKind, ADDRESS_MASK, KIND_SHIFT, NAME_HASH_MULTIPLIERS, SYSTEM_INTERRUPTS, TASK_NAMES,
    TASK_NAMES_MAP,
};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Reg, Size};
use crate::kernel::{KernelInfo, SOFTIRQ_NAMES};
use crate::maps::{Counter, MapKind, MapSpec, UpdateFailures, E2BIG};
use crate::session::Attach;

/// Registry entry.
pub(super) static KIND: ProbeKind = ProbeKind {
    name: "stall",
    aliases: &[],
    syntax: "stall(\"VECTOR\", MIN) or stall(MIN) or stall()",
    about: "each wait of a softirq (NET_RX unless VECTOR is given) from raise to start, of MIN or more, with what \
            ran on its CPU meanwhile",
    fields: &[
        ("dur", "the wait: raise to start of the victim softirq (ns)"),
        ("vec", "the victim's vector number"),
        ("victim", "the victim's name (net_rx, ...)"),
        ("culprit", "what took most of the wait: timer:FUNC, hrtimer:FUNC, softirq:NAME, hardirq:NAME or task:COMM"),
        ("culprit_time", "how long the culprit ran during the wait (ns)"),
        ("share", "the culprit's share of the wait, in percent"),
        ("culprit2, culprit3", "the next two culprits, by time taken"),
        ("culprit2_time, culprit3_time", "their times (ns)"),
        ("others", "time of the culprits after the third (ns)"),
        ("unattributed", "the wait minus every culprit's time (ns)"),
    ],
    targets: None,
    resolve,
};

/// Culprits kept per wait; the time of more is summed, unattributed, and the wait counted.
pub const SLOTS: usize = 16;
/// Context frames kept per CPU (task, softirq, callback, hardirq, hrtimer callback and spares).
const FRAMES: usize = 8;
/// Culprits handed to the block, by time taken.
const TOP: usize = 3;
/// The victim when none is named.
const DEFAULT_VICTIM: u32 = 3;

/// Layout of the per-CPU state value.
const LAST: i16 = 0;
const DEPTH: i16 = 8;
const FRAME: i16 = 16;
const RAISED: i16 = FRAME + 8 * FRAMES as i16;
const KEY: i16 = RAISED + 8;
const TIME: i16 = KEY + 8 * SLOTS as i16;
const FOLDED: i16 = TIME + 8 * SLOTS as i16;
/// Set once the main program has seen the victim start on this CPU: from then on a raise the probe sees is the
/// first of a new wait (the kernel clears the pending bit as the vector starts), so a wait is never measured
/// from a raise seen before the program that ends it was attached.
const ARMED: i16 = FOLDED + 8;
/// The thread this CPU last named (its frame, `Task | tid`; 0 after a task switch) and the culprit it named it
/// as (`Task | hash of its comm`).
const NAMED_TASK: i16 = ARMED + 8;
const NAMED_CULPRIT: i16 = NAMED_TASK + 8;
/// Task names not recorded since the main program last ran on this CPU, because the names map was full, or for
/// another reason (its bucket busy under a nested program): the main program adds them to the map-update
/// counters, which companions have no access to.
const NAMES_FULL: i16 = NAMED_CULPRIT + 8;
const NAMES_REFUSED: i16 = NAMES_FULL + 8;
const STATE_SIZE: u32 = NAMES_REFUSED as u32 + 8;

/// Stack layout of the main program (top of frame).
const STACK_DUR: i16 = -8;
const STACK_VEC: i16 = -16;
/// Culprit `i` at `STACK_TOP - 16 * i`, its time 8 bytes below.
const STACK_TOP: i16 = -24;
const STACK_SHARE: i16 = -72;
const STACK_OTHERS: i16 = -80;
const STACK_UNATTRIBUTED: i16 = -88;
const STACK_KEY: i16 = -92;
/// The main program's room to name a task culprit: its `comm` and the culprit as the names map's key.
const STACK_NAMING: Naming = Naming { comm: -112, culprit: -120 };
/// A companion's scratch: the state key at `r10 - 4`, kernel reads at `r10 - 16`, naming below.
const SCRATCH_KEY: i16 = -4;
const SCRATCH_READ: i16 = -16;
const SCRATCH_NAMING: Naming = Naming { comm: -40, culprit: -48 };

/// Where on the stack a program names a task culprit: 16 bytes of `comm`, and the u64 culprit.
#[derive(Clone, Copy)]
struct Naming {
    comm: i16,
    culprit: i16,
}

/// Where the raw tracepoints' arguments lead: the callbacks and the next task's id.
#[derive(Clone, Copy, Debug)]
struct Offsets {
    timer_function: u32,
    hrtimer_function: u32,
    task_pid: u32,
}

#[derive(Debug)]
struct Stall {
    victim: u32,
    min: u64,
    offsets: Offsets,
    /// The [`SYSTEM_INTERRUPTS`] this kernel has tracepoints for (x86), by index.
    system_interrupts: Vec<u32>,
    fields: Vec<Field>,
}

fn resolve(spec: &ProbeSpec, kernel: &dyn KernelInfo) -> Result<Box<dyn Probe>, ProbeError> {
    let ProbeSpec::Typed { args, .. } = spec else {
        return Err(ProbeError::bad_spec("`stall` is written stall(\"net_rx\", 5ms)").at(0));
    };
    let mut victim = None;
    let mut min = None;
    for (position, arg) in args.iter().enumerate() {
        match arg {
            ProbeArg::Str(name) | ProbeArg::Ident(name) if victim.is_none() && min.is_none() => {
                victim = Some(super::softirq::vector_of(name).ok_or_else(|| {
                    ProbeError::bad_spec(format!("unknown softirq `{name}`"))
                        .with_hint(format!("the victim is one of: {}", SOFTIRQ_NAMES.join(", ")))
                        .at(position)
                })?);
            }
            ProbeArg::Int(ns) if min.is_none() => min = Some(*ns),
            _ => {
                return Err(ProbeError::bad_spec(
                    "`stall` takes a softirq name, then a shortest wait: stall(\"net_rx\", 5ms)",
                )
                .at(position))
            }
        }
    }
    Ok(Box::new(Stall {
        victim: victim.unwrap_or(DEFAULT_VICTIM),
        min: min.unwrap_or(0),
        offsets: Offsets {
            timer_function: member(kernel, "timer_list", "function")?,
            hrtimer_function: member(kernel, "hrtimer", "function")?,
            task_pid: member(kernel, "task_struct", "pid")?,
        },
        system_interrupts: (0..SYSTEM_HOOKS.len() as u32)
            .filter(|&index| {
                let (entry, exit, _, _) = SYSTEM_HOOKS[index as usize];
                kernel.tracepoint("irq_vectors", entry).is_ok() && kernel.tracepoint("irq_vectors", exit).is_ok()
            })
            .collect(),
        fields: fields(),
    }))
}

fn member(kernel: &dyn KernelInfo, struct_name: &str, name: &str) -> Result<u32, ProbeError> {
    let found = kernel.struct_member(struct_name, name)?;
    found.map(|member| member.offset).ok_or_else(|| {
        ProbeError::new(
            ProbeErrorKind::MissingTarget,
            format!("this kernel has no BTF for `struct {struct_name}.{name}`, which stall() reads"),
        )
        .with_hint("stall() needs the kernel's BTF (CONFIG_DEBUG_INFO_BTF, /sys/kernel/btf/vmlinux)")
    })
}

fn fields() -> Vec<Field> {
    let on_stack =
        |name: &str, ty: FieldType, offset: i16| Field { name: name.into(), ty, source: FieldSource::Stack { offset } };
    let mut fields = vec![
        on_stack("dur", FieldType::Duration, STACK_DUR),
        on_stack("vec", FieldType::Int { size: 8, signed: false }, STACK_VEC),
        Field { name: "victim".into(), ty: FieldType::Str { size: 16 }, source: FieldSource::Computed },
    ];
    for (i, name) in ["culprit", "culprit2", "culprit3"].into_iter().enumerate() {
        let offset = STACK_TOP - 16 * i as i16;
        fields.push(on_stack(name, FieldType::Culprit, offset));
        fields.push(on_stack(&format!("{name}_time"), FieldType::Duration, offset - 8));
    }
    fields.extend([
        on_stack("share", FieldType::Int { size: 8, signed: false }, STACK_SHARE),
        on_stack("others", FieldType::Duration, STACK_OTHERS),
        on_stack("unattributed", FieldType::Duration, STACK_UNATTRIBUTED),
    ]);
    fields
}

/// How a context is told at its exit.
#[derive(Clone, Copy)]
enum Exit {
    /// Its exact culprit (a softirq vector, an interrupt number) is in `r9`.
    Exactly,
    /// Any culprit of this kind (a callback's exit does not say which callback).
    Kind(CulpritKind),
}

/// What a context tracepoint does to the stack of contexts, after charging the time before it.
#[derive(Clone, Copy)]
enum Step {
    /// Push the culprit computed into `r9`.
    Push,
    /// Pop the innermost frame that matches.
    Pop(Exit),
    /// A task switch: the frames above the task are stale; the new task's culprit is in `r9`.
    Switch,
}

impl Probe for Stall {
    fn describe(&self) -> String {
        let victim = SOFTIRQ_NAMES[self.victim as usize];
        match self.min {
            0 => format!("stall(\"{victim}\")"),
            min => format!("stall(\"{victim}\", {})", crate::units::format_duration(min as i64)),
        }
    }

    fn attach(&self) -> Attach {
        Attach::RawTracepoint { name: "softirq_entry".into() }
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn stack_bytes(&self) -> u32 {
        STACK_NAMING.culprit.unsigned_abs() as u32
    }

    fn maps(&self) -> Vec<MapSpec> {
        vec![
            MapSpec {
                name: "cpu".into(),
                kind: MapKind::PerCpuArray,
                key_size: 4,
                value_size: STATE_SIZE,
                max_entries: 1,
                on_insert: false,
            },
            MapSpec {
                name: TASK_NAMES_MAP.into(),
                kind: MapKind::Hash,
                key_size: 8,
                value_size: 16,
                max_entries: TASK_NAMES,
                on_insert: true,
            },
        ]
    }

    fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        b.comment(format!("{}: charge the wait, end it at the victim's start, push the softirq", self.describe()));
        b.load(Size::DW, Reg::R1, env.ctx, 0);
        b.alu64(AluOp::And, Reg::R1, 0xffff);
        b.jump_if(JmpOp::Ge, Reg::R1, SOFTIRQ_NAMES.len() as i32, env.exit);
        b.store(Size::DW, Reg::R10, STACK_VEC, Reg::R1);
        emit_state(b, env.maps[0], STACK_KEY, env.exit);
        emit_names_lost(b, env.map_updates);
        emit_charge(b, env.maps[1], STACK_NAMING);
        b.load(Size::DW, Reg::R9, Reg::R10, STACK_VEC);
        let push_only = b.new_label();
        b.jump_if(JmpOp::Ne, Reg::R9, self.victim as i32, push_only);
        b.store_imm(Size::DW, Reg::R7, ARMED, 1);
        b.load(Size::DW, Reg::R1, Reg::R7, RAISED);
        b.jump_if(JmpOp::Eq, Reg::R1, 0, push_only);
        b.mov64(Reg::R2, Reg::R8);
        b.alu64(AluOp::Sub, Reg::R2, Reg::R1);
        b.store(Size::DW, Reg::R10, STACK_DUR, Reg::R2);
        emit_verdict(b, env.slots_full);
        // Only now may a raise start the next wait: an interrupt raising the victim while the slots are read
        // would otherwise empty them under the reader (that raise's wait goes unmeasured instead).
        b.store_imm(Size::DW, Reg::R7, RAISED, 0);
        b.load(Size::DW, Reg::R9, Reg::R10, STACK_VEC);
        emit_culprit_tag(b, CulpritKind::Softirq);
        emit_push(b);
        if self.min > 0 {
            b.load(Size::DW, Reg::R1, Reg::R10, STACK_DUR);
            super::jump_if_below(b, Reg::R1, self.min, env.exit);
        }
        let block = b.new_label();
        b.jump(block);
        b.bind(push_only);
        emit_culprit_tag(b, CulpritKind::Softirq);
        emit_push(b);
        b.jump(env.exit);
        b.bind(block);
    }

    fn emit_computed(&self, b: &mut Builder, _point: usize, field: &str, offset: i16, size: u32) {
        if field == "victim" {
            super::emit_name_of(b, STACK_VEC, &SOFTIRQ_NAMES, offset, size);
        }
    }

    fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        let (map, names) = (maps[0], maps[1]);
        let mut programs = vec![self.companion("raise", "softirq_raise", |b, exit| self.emit_raise(b, map, exit))?];
        let system = self.system_interrupts.iter().flat_map(|&index| {
            let (entry, exit, entry_suffix, exit_suffix) = SYSTEM_HOOKS[index as usize];
            let culprit = Source::Fixed(Culprit::SystemInterrupt(index).encode());
            [(entry_suffix, entry, Step::Push, culprit), (exit_suffix, exit, Step::Pop(Exit::Exactly), culprit)]
        });
        for (suffix, tracepoint, step, source) in CONTEXT_HOOKS.into_iter().chain(system) {
            programs.push(self.companion(suffix, tracepoint, |b, exit| {
                emit_state(b, map, SCRATCH_KEY, exit);
                emit_charge(b, names, SCRATCH_NAMING);
                self.emit_culprit(b, source);
                match step {
                    Step::Push => emit_push(b),
                    Step::Pop(how) => {
                        let unmatched = b.new_label();
                        emit_pop(b, how, unmatched);
                        b.jump(exit);
                        b.bind(unmatched);
                        if tracepoint == "softirq_exit" {
                            self.emit_missed_start(b);
                        }
                    }
                    Step::Switch => {
                        b.store_imm(Size::DW, Reg::R7, NAMED_TASK, 0);
                        b.store_imm(Size::DW, Reg::R7, DEPTH, 0);
                        b.store(Size::DW, Reg::R7, FRAME, Reg::R9);
                    }
                }
            })?);
        }
        Ok(programs)
    }
}

/// Where a context tracepoint's culprit comes from.
#[derive(Clone, Copy)]
enum Source {
    /// The softirq vector in the first argument.
    Vector,
    /// The interrupt number in the first argument.
    Irq,
    /// The callback of the timer-wheel timer in the first argument.
    TimerCallback,
    /// The callback of the hrtimer in the first argument.
    HrtimerCallback,
    /// The next task of a switch (third argument).
    NextTask,
    /// This culprit.
    Fixed(u64),
    /// None needed (an exit that matches by kind).
    Unused,
}

/// The tracepoints where a context starts, ends or switches, with the companion's name suffix (program names
/// are cut at 15 characters: suffixes stay distinct in their first 4).
const CONTEXT_HOOKS: [(&str, &str, Step, Source); 8] = [
    ("sexit", "softirq_exit", Step::Pop(Exit::Exactly), Source::Vector),
    ("tentry", "timer_expire_entry", Step::Push, Source::TimerCallback),
    ("texit", "timer_expire_exit", Step::Pop(Exit::Kind(CulpritKind::Timer)), Source::Unused),
    ("hentry", "hrtimer_expire_entry", Step::Push, Source::HrtimerCallback),
    ("hexit", "hrtimer_expire_exit", Step::Pop(Exit::Kind(CulpritKind::Hrtimer)), Source::Unused),
    ("ientry", "irq_handler_entry", Step::Push, Source::Irq),
    ("iexit", "irq_handler_exit", Step::Pop(Exit::Exactly), Source::Irq),
    ("switch", "sched_switch", Step::Switch, Source::NextTask),
];

/// The `irq_vectors` tracepoints of each of [`SYSTEM_INTERRUPTS`], in its order: entry, exit, and their
/// companions' name suffixes.
const SYSTEM_HOOKS: [(&str, &str, &str, &str); SYSTEM_INTERRUPTS.len()] = [
    ("local_timer_entry", "local_timer_exit", "v0i", "v0o"),
    ("irq_work_entry", "irq_work_exit", "v1i", "v1o"),
    ("reschedule_entry", "reschedule_exit", "v2i", "v2o"),
    ("call_function_entry", "call_function_exit", "v3i", "v3o"),
    ("call_function_single_entry", "call_function_single_exit", "v4i", "v4o"),
];

impl Stall {
    /// A companion on the raw tracepoint `tracepoint` whose body `emit` writes (the arguments at `r6`; it may
    /// leave through the label it is given).
    fn companion(
        &self,
        suffix: &'static str,
        tracepoint: &str,
        emit: impl FnOnce(&mut Builder, Label),
    ) -> Result<Companion, ProbeError> {
        let program = super::companion_program(format!("{}: {tracepoint}", self.describe()), |b, exit| {
            b.mov64(Reg::R6, Reg::R1);
            emit(b, exit);
        })?;
        Ok(Companion { suffix, attach: Attach::RawTracepoint { name: tracepoint.into() }, program })
    }

    /// `softirq_raise` of the victim on a CPU where it is not pending yet: the wait starts; the slots empty.
    fn emit_raise(&self, b: &mut Builder, map: usize, exit: Label) {
        b.load(Size::DW, Reg::R1, Reg::R6, 0);
        b.alu64(AluOp::And, Reg::R1, 0xffff);
        b.jump_if(JmpOp::Ne, Reg::R1, self.victim as i32, exit);
        emit_state(b, map, SCRATCH_KEY, exit);
        b.load(Size::DW, Reg::R1, Reg::R7, ARMED);
        b.jump_if(JmpOp::Eq, Reg::R1, 0, exit);
        b.load(Size::DW, Reg::R1, Reg::R7, RAISED);
        b.jump_if(JmpOp::Ne, Reg::R1, 0, exit);
        emit_base_task(b);
        b.store(Size::DW, Reg::R7, RAISED, Reg::R8);
        b.store(Size::DW, Reg::R7, LAST, Reg::R8);
        for slot in 0..SLOTS as i16 {
            b.store_imm(Size::DW, Reg::R7, KEY + 8 * slot, 0);
            b.store_imm(Size::DW, Reg::R7, TIME + 8 * slot, 0);
        }
        b.store_imm(Size::DW, Reg::R7, FOLDED, 0);
    }

    /// The victim (culprit in `r9`) ends a run whose start the probe did not see (the kernel skipped a program):
    /// the wait that run ended is over, unmeasured, rather than measured later from its raise.
    fn emit_missed_start(&self, b: &mut Builder) {
        b.ld_imm64(Reg::R1, Culprit::Softirq(self.victim).encode());
        let other = b.new_label();
        b.jump_if(JmpOp::Ne, Reg::R9, Reg::R1, other);
        b.store_imm(Size::DW, Reg::R7, RAISED, 0);
        b.bind(other);
    }

    /// `r9` = the culprit a context tracepoint enters, switches to or leaves. The arguments are at `r6`; uses
    /// r1-r3.
    fn emit_culprit(&self, b: &mut Builder, source: Source) {
        match source {
            Source::Vector => {
                b.load(Size::DW, Reg::R9, Reg::R6, 0);
                b.alu64(AluOp::And, Reg::R9, 0xffff);
                emit_culprit_tag(b, CulpritKind::Softirq);
            }
            Source::Irq => {
                b.load(Size::DW, Reg::R9, Reg::R6, 0);
                b.alu64(AluOp::And, Reg::R9, i32::MAX);
                emit_culprit_tag(b, CulpritKind::Hardirq);
            }
            Source::TimerCallback => self.emit_callback(b, self.offsets.timer_function, CulpritKind::Timer),
            Source::HrtimerCallback => self.emit_callback(b, self.offsets.hrtimer_function, CulpritKind::Hrtimer),
            Source::NextTask => {
                b.comment("the next task: next->pid");
                b.load(Size::DW, Reg::R3, Reg::R6, 16);
                super::read_kernel(b, SCRATCH_READ, 4, Reg::R3, self.offsets.task_pid as i32);
                b.load(Size::W, Reg::R9, Reg::R10, SCRATCH_READ);
                emit_culprit_tag(b, CulpritKind::Task);
            }
            Source::Fixed(culprit) => b.ld_imm64(Reg::R9, culprit),
            Source::Unused => {}
        }
    }

    /// `r9` = the callback of the timer in the first argument, read at `function`, as a culprit of `kind`.
    fn emit_callback(&self, b: &mut Builder, function: u32, kind: CulpritKind) {
        b.comment(format!("the callback: {}->function", kind.name()));
        b.load(Size::DW, Reg::R3, Reg::R6, 0);
        super::read_kernel(b, SCRATCH_READ, 8, Reg::R3, function as i32);
        b.load(Size::DW, Reg::R9, Reg::R10, SCRATCH_READ);
        b.ld_imm64(Reg::R1, ADDRESS_MASK);
        b.alu64(AluOp::And, Reg::R9, Reg::R1);
        emit_culprit_tag(b, kind);
    }
}

/// Moves the task names this CPU's programs could not record into `counters` (uses r1-r3): subtracted rather
/// than zeroed, so that a count a nested program adds meanwhile stays for the next run.
fn emit_names_lost(b: &mut Builder, counters: UpdateFailures) {
    for (field, counter) in [(NAMES_FULL, counters.full), (NAMES_REFUSED, counters.refused)] {
        let none = b.new_label();
        b.load(Size::DW, Reg::R3, Reg::R7, field);
        b.jump_if(JmpOp::Eq, Reg::R3, 0, none);
        counter.emit_address(b);
        b.atomic_add(Size::DW, Reg::R1, 0, Reg::R3);
        b.alu64(AluOp::Neg, Reg::R3, 0);
        b.atomic_add(Size::DW, Reg::R7, field, Reg::R3);
        b.bind(none);
    }
}

/// `r7` = this CPU's state (leaving through `exit` if absent), `r8` = now; the u32 key 0 at `r10 + key`.
fn emit_state(b: &mut Builder, map: usize, key: i16, exit: Label) {
    b.store_imm(Size::W, Reg::R10, key, 0);
    super::lookup_stack_key(b, map, key, exit);
    b.mov64(Reg::R7, Reg::R0);
    b.call(Helper::KtimeGetNs);
    b.mov64(Reg::R8, Reg::R0);
}

/// In task context (no frame above the task), the task frame is the current thread: it is what an interrupt
/// interrupted, or what runs until the next switch. Uses r0-r1.
fn emit_base_task(b: &mut Builder) {
    let done = b.new_label();
    b.load(Size::DW, Reg::R1, Reg::R7, DEPTH);
    b.jump_if(JmpOp::Ne, Reg::R1, 0, done);
    b.call(Helper::GetCurrentPidTgid);
    b.alu64(AluOp::Lsh, Reg::R0, 32);
    b.alu64(AluOp::Rsh, Reg::R0, 32);
    b.ld_imm64(Reg::R1, CulpritKind::Task.tag());
    b.alu64(AluOp::Or, Reg::R0, Reg::R1);
    b.store(Size::DW, Reg::R7, FRAME, Reg::R0);
    b.bind(done);
}

/// `r9 |= kind`'s tag. Uses r1.
fn emit_culprit_tag(b: &mut Builder, kind: CulpritKind) {
    b.ld_imm64(Reg::R1, kind.tag());
    b.alu64(AluOp::Or, Reg::R9, Reg::R1);
}

/// `r2 = r7 + 8 * min(depth, FRAMES - 1)`: the innermost frame is at `r2 + FRAME`. Uses r2.
fn emit_top_frame(b: &mut Builder) {
    let bounded = b.new_label();
    b.load(Size::DW, Reg::R2, Reg::R7, DEPTH);
    b.jump_if(JmpOp::Le, Reg::R2, FRAMES as i32 - 1, bounded);
    b.mov64(Reg::R2, FRAMES as i32 - 1);
    b.bind(bounded);
    b.alu64(AluOp::Lsh, Reg::R2, 3);
    b.alu64(AluOp::Add, Reg::R2, Reg::R7);
}

/// While a victim waits, charges the time since the last switch (`r8 - last`) to the innermost context: to its
/// slot, a free slot, or the folded time (of the culprits beyond the slots); then `last = r8`. A task is charged
/// as its name's culprit, named with `names` and the stack at `naming`. The state is at `r7`; uses r0-r5.
fn emit_charge(b: &mut Builder, names: usize, naming: Naming) {
    let done = b.new_label();
    emit_base_task(b);
    b.load(Size::DW, Reg::R1, Reg::R7, RAISED);
    b.jump_if(JmpOp::Eq, Reg::R1, 0, done);
    b.comment("charge the innermost context");
    emit_top_frame(b);
    b.load(Size::DW, Reg::R3, Reg::R2, FRAME);
    emit_task_culprit(b, names, naming);
    b.mov64(Reg::R4, Reg::R8);
    b.load(Size::DW, Reg::R1, Reg::R7, LAST);
    b.alu64(AluOp::Sub, Reg::R4, Reg::R1);
    for slot in 0..SLOTS as i16 {
        let (add, next) = (b.new_label(), b.new_label());
        b.load(Size::DW, Reg::R5, Reg::R7, KEY + 8 * slot);
        b.jump_if(JmpOp::Eq, Reg::R5, Reg::R3, add);
        b.jump_if(JmpOp::Ne, Reg::R5, 0, next);
        b.store(Size::DW, Reg::R7, KEY + 8 * slot, Reg::R3);
        b.store(Size::DW, Reg::R7, TIME + 8 * slot, Reg::R4);
        b.jump(done);
        b.bind(add);
        b.load(Size::DW, Reg::R5, Reg::R7, TIME + 8 * slot);
        b.alu64(AluOp::Add, Reg::R5, Reg::R4);
        b.store(Size::DW, Reg::R7, TIME + 8 * slot, Reg::R5);
        b.jump(done);
        b.bind(next);
    }
    b.load(Size::DW, Reg::R5, Reg::R7, FOLDED);
    b.alu64(AluOp::Add, Reg::R5, Reg::R4);
    b.store(Size::DW, Reg::R7, FOLDED, Reg::R5);
    b.bind(done);
    b.store(Size::DW, Reg::R7, LAST, Reg::R8);
}

/// When the frame in `r3` is a task other than the idle task (then the current thread: only it runs in task
/// context), `r3` = its culprit, `Task | hash of its comm`. The thread this CPU named last is remembered in the
/// state until a task switch, so naming (`bpf_get_current_comm`, the hash, a `names` lookup, and an update for a
/// name not seen before, the costly part) happens once per stretch of a thread on the CPU (and again at the next
/// charge when the update failed). Uses r0-r5.
fn emit_task_culprit(b: &mut Builder, names: usize, naming: Naming) {
    let (done, unnamed, known) = (b.new_label(), b.new_label(), b.new_label());
    b.mov64(Reg::R1, Reg::R3);
    b.alu64(AluOp::Rsh, Reg::R1, KIND_SHIFT as i32);
    b.jump_if(JmpOp::Ne, Reg::R1, CulpritKind::Task as i32, done);
    b.ld_imm64(Reg::R1, CulpritKind::Task.tag());
    b.jump_if(JmpOp::Eq, Reg::R3, Reg::R1, done);
    b.load(Size::DW, Reg::R1, Reg::R7, NAMED_TASK);
    b.jump_if(JmpOp::Ne, Reg::R1, Reg::R3, unnamed);
    b.load(Size::DW, Reg::R3, Reg::R7, NAMED_CULPRIT);
    b.jump(done);
    b.bind(unnamed);
    b.comment("name the task culprit: the hash of its comm");
    b.store(Size::DW, Reg::R7, NAMED_TASK, Reg::R3);
    emit_current_comm(b, naming.comm);
    b.load(Size::DW, Reg::R1, Reg::R10, naming.comm);
    b.ld_imm64(Reg::R2, NAME_HASH_MULTIPLIERS[0]);
    b.alu64(AluOp::Mul, Reg::R1, Reg::R2);
    b.load(Size::DW, Reg::R2, Reg::R10, naming.comm + 8);
    b.alu64(AluOp::Xor, Reg::R1, Reg::R2);
    b.ld_imm64(Reg::R2, NAME_HASH_MULTIPLIERS[1]);
    b.alu64(AluOp::Mul, Reg::R1, Reg::R2);
    b.alu64(AluOp::Rsh, Reg::R1, (64 - KIND_SHIFT) as i32);
    b.ld_imm64(Reg::R2, CulpritKind::Task.tag());
    b.alu64(AluOp::Or, Reg::R1, Reg::R2);
    b.store(Size::DW, Reg::R10, naming.culprit, Reg::R1);
    b.store(Size::DW, Reg::R7, NAMED_CULPRIT, Reg::R1);
    super::map_call(b, Helper::MapLookupElem, names, naming.culprit, None);
    b.jump_if(JmpOp::Ne, Reg::R0, 0, known);
    super::map_call(b, Helper::MapUpdateElem, names, naming.culprit, Some(naming.comm));
    // Not recorded (the map is full, or busy under a nested program): counted, and the next charge tries again.
    b.jump_if(JmpOp::Eq, Reg::R0, 0, known);
    b.store_imm(Size::DW, Reg::R7, NAMED_TASK, 0);
    let (refused, counted) = (b.new_label(), b.new_label());
    b.mov64(Reg::R1, 1);
    b.jump_if(JmpOp::Ne, Reg::R0, -E2BIG, refused);
    b.atomic_add(Size::DW, Reg::R7, NAMES_FULL, Reg::R1);
    b.jump(counted);
    b.bind(refused);
    b.atomic_add(Size::DW, Reg::R7, NAMES_REFUSED, Reg::R1);
    b.bind(counted);
    b.bind(known);
    b.load(Size::DW, Reg::R3, Reg::R7, NAMED_CULPRIT);
    b.bind(done);
}

/// Pushes the culprit in `r9` as the innermost context (the top frame is overwritten when the stack is
/// full). Uses r1-r2.
fn emit_push(b: &mut Builder) {
    let bounded = b.new_label();
    b.load(Size::DW, Reg::R1, Reg::R7, DEPTH);
    b.alu64(AluOp::Add, Reg::R1, 1);
    b.jump_if(JmpOp::Le, Reg::R1, FRAMES as i32 - 1, bounded);
    b.mov64(Reg::R1, FRAMES as i32 - 1);
    b.bind(bounded);
    b.store(Size::DW, Reg::R7, DEPTH, Reg::R1);
    emit_top_frame(b);
    b.store(Size::DW, Reg::R2, FRAME, Reg::R9);
}

/// Pops the innermost frame that matches `exit` and every frame above it (their exits were missed); pops
/// nothing and jumps to `unmatched` when none matches (its entry was missed). Uses r1-r3.
fn emit_pop(b: &mut Builder, exit: Exit, unmatched: Label) {
    let done = b.new_label();
    b.load(Size::DW, Reg::R1, Reg::R7, DEPTH);
    for depth in (1..FRAMES as i16).rev() {
        let next = b.new_label();
        b.jump_if(JmpOp::Lt, Reg::R1, i32::from(depth), next);
        b.load(Size::DW, Reg::R2, Reg::R7, FRAME + 8 * depth);
        match exit {
            Exit::Exactly => b.jump_if(JmpOp::Ne, Reg::R2, Reg::R9, next),
            Exit::Kind(kind) => {
                b.alu64(AluOp::Rsh, Reg::R2, KIND_SHIFT as i32);
                b.jump_if(JmpOp::Ne, Reg::R2, kind as i32, next);
            }
        }
        b.store_imm(Size::DW, Reg::R7, DEPTH, i32::from(depth - 1));
        b.jump(done);
        b.bind(next);
    }
    b.jump(unmatched);
    b.bind(done);
}

/// The wait is over (`r10 + STACK_DUR`): writes the three culprits that took most of it with their times, the
/// top one's share, the other culprits' time and the unattributed rest, and counts the wait when culprits were
/// folded. The state is at `r7`; uses r0-r5 and r9.
fn emit_verdict(b: &mut Builder, slots_full: Counter) {
    b.comment("the culprits that took most of the wait");
    b.mov64(Reg::R9, 0);
    for slot in 0..SLOTS as i16 {
        b.load(Size::DW, Reg::R1, Reg::R7, TIME + 8 * slot);
        b.alu64(AluOp::Add, Reg::R9, Reg::R1);
    }
    for rank in 0..TOP as i16 {
        emit_rank(b, rank);
    }
    emit_unknown_ranks(b, slots_full);
    b.comment("share, others, unattributed");
    b.load(Size::DW, Reg::R1, Reg::R10, STACK_TOP - 8);
    b.alu64(AluOp::Mul, Reg::R1, 100);
    b.load(Size::DW, Reg::R2, Reg::R10, STACK_DUR);
    b.alu64(AluOp::Div, Reg::R1, Reg::R2);
    b.store(Size::DW, Reg::R10, STACK_SHARE, Reg::R1);
    b.mov64(Reg::R1, Reg::R9);
    for rank in 0..TOP as i16 {
        b.load(Size::DW, Reg::R3, Reg::R10, STACK_TOP - 16 * rank - 8);
        b.alu64(AluOp::Sub, Reg::R1, Reg::R3);
    }
    b.store(Size::DW, Reg::R10, STACK_OTHERS, Reg::R1);
    let rest = b.new_label();
    b.load(Size::DW, Reg::R1, Reg::R10, STACK_DUR);
    b.alu64(AluOp::Sub, Reg::R1, Reg::R9);
    b.jump_if(JmpOp::Sge, Reg::R1, 0, rest);
    b.mov64(Reg::R1, 0);
    b.bind(rest);
    b.store(Size::DW, Reg::R10, STACK_UNATTRIBUTED, Reg::R1);
}

/// When culprits beyond the slots ran (their summed time in `FOLDED`), counts the wait and turns every rank whose
/// time is below that sum into [`Culprit::Unknown`] with no time: a culprit left out may have taken more than
/// it, so naming it would be a guess. Without branches, as [`emit_rank`]. Uses r0-r4.
fn emit_unknown_ranks(b: &mut Builder, slots_full: Counter) {
    let none_folded = b.new_label();
    b.load(Size::DW, Reg::R3, Reg::R7, FOLDED);
    b.jump_if(JmpOp::Eq, Reg::R3, 0, none_folded);
    slots_full.emit_increment(b);
    for rank in 0..TOP as i16 {
        b.comment("unknown when a folded culprit may have taken more");
        b.load(Size::DW, Reg::R2, Reg::R10, STACK_TOP - 16 * rank - 8);
        b.alu64(AluOp::Sub, Reg::R2, Reg::R3);
        b.alu64(AluOp::Arsh, Reg::R2, 63);
        b.ld_imm64(Reg::R0, Culprit::Unknown.encode());
        b.load(Size::DW, Reg::R1, Reg::R10, STACK_TOP - 16 * rank);
        emit_select(b, Reg::R1, Reg::R0, Reg::R2, Reg::R4);
        b.store(Size::DW, Reg::R10, STACK_TOP - 16 * rank, Reg::R1);
        b.alu64(AluOp::Xor, Reg::R2, -1);
        b.load(Size::DW, Reg::R1, Reg::R10, STACK_TOP - 16 * rank - 8);
        b.alu64(AluOp::And, Reg::R1, Reg::R2);
        b.store(Size::DW, Reg::R10, STACK_TOP - 16 * rank - 8, Reg::R1);
    }
    b.bind(none_folded);
}

/// Writes the culprit of rank `rank` (the slot with the most time among those not ranked before; the first
/// such slot on a tie) and its time at `STACK_TOP - 16 * rank`; both 0 when fewer culprits ran. Slots are
/// claimed in order and emptied only together, so the first empty slot ends the search. Comparisons are
/// arithmetic (times are below 2^63), not branches: two-way branches per slot would leave the verifier 2^SLOTS
/// paths to walk. Uses r0-r5.
fn emit_rank(b: &mut Builder, rank: i16) {
    let searched = b.new_label();
    b.mov64(Reg::R4, 0);
    b.mov64(Reg::R5, 0);
    for slot in 0..SLOTS as i16 {
        b.load(Size::DW, Reg::R0, Reg::R7, KEY + 8 * slot);
        b.jump_if(JmpOp::Eq, Reg::R0, 0, searched);
        b.load(Size::DW, Reg::R1, Reg::R7, TIME + 8 * slot);
        for earlier in 0..rank {
            b.comment("a culprit ranked before counts as no time");
            b.load(Size::DW, Reg::R2, Reg::R10, STACK_TOP - 16 * earlier);
            b.alu64(AluOp::Xor, Reg::R2, Reg::R0);
            b.mov64(Reg::R3, Reg::R2);
            b.alu64(AluOp::Neg, Reg::R3, 0);
            b.alu64(AluOp::Or, Reg::R2, Reg::R3);
            b.alu64(AluOp::Arsh, Reg::R2, 63);
            b.alu64(AluOp::And, Reg::R1, Reg::R2);
        }
        b.comment("keep the slot when it took more time");
        b.mov64(Reg::R2, Reg::R5);
        b.alu64(AluOp::Sub, Reg::R2, Reg::R1);
        b.alu64(AluOp::Arsh, Reg::R2, 63);
        emit_select(b, Reg::R5, Reg::R1, Reg::R2, Reg::R3);
        emit_select(b, Reg::R4, Reg::R0, Reg::R2, Reg::R3);
    }
    b.bind(searched);
    b.store(Size::DW, Reg::R10, STACK_TOP - 16 * rank, Reg::R4);
    b.store(Size::DW, Reg::R10, STACK_TOP - 16 * rank - 8, Reg::R5);
}

/// `dst = src` where `mask` is all ones, `dst` unchanged where it is 0, without a branch; clobbers `scratch`.
fn emit_select(b: &mut Builder, dst: Reg, src: Reg, mask: Reg, scratch: Reg) {
    b.mov64(scratch, dst);
    b.alu64(AluOp::Xor, scratch, src);
    b.alu64(AluOp::And, scratch, mask);
    b.alu64(AluOp::Xor, dst, scratch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::FixtureKernel;

    fn stall(args: Vec<ProbeArg>) -> Result<Box<dyn Probe>, ProbeError> {
        super::super::resolve(&ProbeSpec::Typed { name: "stall".into(), args }, &FixtureKernel::bundled())
    }

    #[test]
    fn the_victim_defaults_to_net_rx_and_takes_a_name_then_a_shortest_wait() {
        assert_eq!(stall(vec![]).expect("resolves").describe(), "stall(\"net_rx\")");
        let named = stall(vec![ProbeArg::Str("timer".into()), ProbeArg::Int(5_000_000)]).expect("resolves");
        assert_eq!(named.describe(), "stall(\"timer\", 5ms)");
        assert_eq!(stall(vec![ProbeArg::Int(1_000_000)]).expect("resolves").describe(), "stall(\"net_rx\", 1ms)");
    }

    #[test]
    fn bad_arguments_say_what_is_expected() {
        let unknown = stall(vec![ProbeArg::Str("net_rxx".into())]).expect_err("unknown vector");
        assert_eq!((unknown.message.as_str(), unknown.position), ("unknown softirq `net_rxx`", Some(0)));
        assert!(unknown.hint.expect("hint").contains("net_rx, block"));
        let swapped = stall(vec![ProbeArg::Int(5), ProbeArg::Str("net_rx".into())]).expect_err("order");
        assert_eq!(swapped.position, Some(1));
        assert!(swapped.message.contains("stall(\"net_rx\", 5ms)"), "{}", swapped.message);
    }

    #[test]
    fn the_state_fits_the_culprits_and_every_companion_builds() {
        let probe = stall(vec![]).expect("resolves");
        assert_eq!(STATE_SIZE, 8 * (2 + FRAMES + 1 + 2 * SLOTS + 6) as u32);
        let mut names: Vec<&str> = probe.fields().iter().map(|field| field.name.as_str()).collect();
        let mut listed: Vec<&str> = KIND.fields.iter().flat_map(|(names, _)| names.split(", ")).collect();
        names.sort_unstable();
        listed.sort_unstable();
        assert_eq!(names, listed, "the registry lists every field");
        let companions = probe.companions(&[0, 1]).expect("companions");
        let tracepoints: Vec<String> = companions.iter().map(|c| c.attach.target()).collect();
        assert_eq!(
            tracepoints.len(),
            9 + 2 * SYSTEM_INTERRUPTS.len(),
            "the fixture has x86's irq_vectors: {tracepoints:?}"
        );
        let names: Vec<&str> = companions.iter().map(|c| &c.suffix[..c.suffix.len().min(4)]).collect();
        let distinct: std::collections::BTreeSet<&&str> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "suffixes differ in their first 4 characters: {names:?}");
    }

    /// A verdict as the kernel computed it: the three ranks (culprit, time), share, others, unattributed, and
    /// how many waits `slots_full` counted.
    #[derive(Debug, PartialEq)]
    struct Verdict {
        ranks: [(Option<Culprit>, u64); TOP],
        share: u64,
        others: u64,
        unattributed: u64,
        slots_full: u64,
    }

    /// The maps of [`run_in_kernel`]'s program: a CPU state, a global of u64 results, and a task names map
    /// with room for one name.
    const STATE_MAP: usize = 0;
    const RESULTS_MAP: usize = 1;
    const NAMES_MAP: usize = 2;

    /// Runs, in the kernel (`BPF_PROG_TEST_RUN`), a program whose `r7` is a zeroed CPU state and whose body
    /// `emit` writes u64 results with [`emit_result`]; returns them.
    fn run_in_kernel(test: &str, results: usize, emit: impl FnOnce(&mut Builder)) -> Option<Vec<u64>> {
        use crate::maps::{HashAllocation, MapEntries, GLOBAL_MAP_NAME};
        use crate::object::{write_object, ProgramSection};
        use crate::session::{ProgramSpec, Session};

        if !crate::testing::can_trace(test) {
            return None;
        }
        let mut b = Builder::new();
        let exit = b.new_label();
        emit_state(&mut b, STATE_MAP, STACK_KEY, exit);
        emit(&mut b);
        b.mov64(Reg::R0, 0);
        b.bind(exit);
        b.exit();
        let program = b.finish().expect("assembles");
        let map = |name: &str, kind, key_size, value_size, max_entries| MapSpec {
            name: name.into(),
            kind,
            key_size,
            value_size,
            max_entries,
            on_insert: false,
        };
        let maps = [
            map("state", MapKind::Array, 4, STATE_SIZE, 1),
            map("results", MapKind::Global, 4, 8 * results as u32, 1),
            map("names", MapKind::Hash, 8, 16, 1),
        ];
        let attach = Attach::Manual;
        let section = attach.section_name();
        let placed = ProgramSection { name: "stall_test", section: &section, program: &program };
        let object = write_object(&[placed], &maps, HashAllocation::PREALLOCATED).expect("object");
        let session = Session::load(&object, &[ProgramSpec { name: "stall_test".into(), attach }]).expect("loads");
        session.run("stall_test").expect("BPF_PROG_TEST_RUN");
        let MapEntries::Shared(entries) = session.read_map(GLOBAL_MAP_NAME).expect("readable") else {
            panic!("the global map is one shared value");
        };
        Some(entries[0].1.chunks(8).map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes"))).collect())
    }

    /// Writes `reg` as result `index` of [`run_in_kernel`] (uses r1).
    fn emit_result(b: &mut Builder, index: usize, reg: Reg) {
        b.ld_map_value(Reg::R1, RESULTS_MAP, 8 * index as i32);
        b.store(Size::DW, Reg::R1, 0, reg);
    }

    /// Runs [`emit_verdict`] in the kernel on a state holding `slots` (culprit, time) and `folded` ns of culprits
    /// beyond them, for a wait of `dur` ns.
    fn kernel_verdict(test: &str, slots: &[(Culprit, i32)], folded: i32, dur: i32) -> Option<Verdict> {
        let fields = [
            STACK_TOP,
            STACK_TOP - 8,
            STACK_TOP - 16,
            STACK_TOP - 24,
            STACK_TOP - 32,
            STACK_TOP - 40,
            STACK_SHARE,
            STACK_OTHERS,
            STACK_UNATTRIBUTED,
        ];
        let words = run_in_kernel(test, 1 + fields.len(), |b| {
            for slot in 0..SLOTS {
                let (culprit, time) = slots.get(slot).map_or((0, 0), |(culprit, time)| (culprit.encode(), *time));
                b.ld_imm64(Reg::R1, culprit);
                b.store(Size::DW, Reg::R7, KEY + 8 * slot as i16, Reg::R1);
                b.store_imm(Size::DW, Reg::R7, TIME + 8 * slot as i16, time);
            }
            b.store_imm(Size::DW, Reg::R7, FOLDED, folded);
            b.store_imm(Size::DW, Reg::R10, STACK_DUR, dur);
            emit_verdict(b, Counter { map: RESULTS_MAP, key: 0 });
            for (index, offset) in fields.iter().enumerate() {
                b.load(Size::DW, Reg::R2, Reg::R10, *offset);
                emit_result(b, 1 + index, Reg::R2);
            }
        })?;
        let rank = |i: usize| (Culprit::decode(words[1 + 2 * i]), words[2 + 2 * i]);
        Some(Verdict {
            ranks: [rank(0), rank(1), rank(2)],
            share: words[7],
            others: words[8],
            unattributed: words[9],
            slots_full: words[0],
        })
    }

    #[test]
    fn a_task_name_the_full_names_map_refuses_is_counted_and_tried_again() {
        let failures = UpdateFailures {
            full: Counter { map: RESULTS_MAP, key: 0 },
            refused: Counter { map: RESULTS_MAP, key: 1 },
        };
        let Some(words) = run_in_kernel("a_task_name_the_full_names_map_refuses", 5, |b| {
            b.comment("another name fills the map");
            b.store_imm(Size::DW, Reg::R10, -128, 1);
            super::super::zero_stack(b, -144, 16);
            super::super::map_call(b, Helper::MapUpdateElem, NAMES_MAP, -128, Some(-144));
            b.ld_imm64(Reg::R3, CulpritKind::Task.tag() | 1);
            emit_task_culprit(b, NAMES_MAP, STACK_NAMING);
            b.mov64(Reg::R9, Reg::R3);
            emit_names_lost(b, failures);
            emit_result(b, 2, Reg::R9);
            b.load(Size::DW, Reg::R2, Reg::R7, NAMED_TASK);
            emit_result(b, 3, Reg::R2);
            b.load(Size::DW, Reg::R2, Reg::R7, NAMES_FULL);
            emit_result(b, 4, Reg::R2);
        }) else {
            return;
        };
        let culprit = Culprit::decode(words[2]).expect("a culprit");
        assert_eq!(culprit.kind(), CulpritKind::Task, "the task is still its name's culprit: {culprit:?}");
        assert_eq!(words[..2], [1, 0], "counted as the map being full");
        assert_eq!(words[3..], [0, 0], "the next charge names the task again; the CPU's count was moved");
    }

    #[test]
    fn the_verdict_ranks_the_three_culprits_that_took_most_of_the_wait() {
        let (a, b, c, d) = (Culprit::Hardirq(1), Culprit::Hardirq(2), Culprit::Task(7), Culprit::Softirq(1));
        let Some(verdict) = kernel_verdict("the_verdict_ranks", &[(a, 5), (b, 9), (c, 9), (d, 1)], 0, 30) else {
            return;
        };
        let expected = [(Some(b), 9), (Some(c), 9), (Some(a), 5)];
        assert_eq!(verdict, Verdict { ranks: expected, share: 30, others: 1, unattributed: 6, slots_full: 0 });
    }

    /// Every slot taken, with times 1..=16 ns in slot order.
    fn full_slots() -> Vec<(Culprit, i32)> {
        (1..=SLOTS as i32).map(|time| (Culprit::Hardirq(time as u32), time)).collect()
    }

    #[test]
    fn ranks_that_a_culprit_beyond_the_slots_may_have_outrun_are_unknown() {
        let slotted: i32 = (1..=SLOTS as i32).sum();
        let Some(verdict) = kernel_verdict("ranks_beyond_the_slots", &full_slots(), 15, slotted + 15) else {
            return;
        };
        let (top, second) = (Culprit::Hardirq(SLOTS as u32), Culprit::Hardirq(SLOTS as u32 - 1));
        let expected = [(Some(top), 16), (Some(second), 15), (Some(Culprit::Unknown), 0)];
        let others = (slotted - 16 - 15) as u64;
        let share = 16 * 100 / (slotted + 15) as u64;
        assert_eq!(verdict, Verdict { ranks: expected, share, others, unattributed: 15, slots_full: 1 });
    }

    #[test]
    fn no_culprit_is_named_when_those_beyond_the_slots_took_more_than_each() {
        let slotted: i32 = (1..=SLOTS as i32).sum();
        let Some(verdict) = kernel_verdict("no_culprit_is_named", &full_slots(), 17, slotted + 17) else {
            return;
        };
        let unknown = (Some(Culprit::Unknown), 0);
        let expected =
            Verdict { ranks: [unknown; TOP], share: 0, others: slotted as u64, unattributed: 17, slots_full: 1 };
        assert_eq!(verdict, expected);
    }
}

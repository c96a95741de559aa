//! `tracepoint:syscalls:sys_enter_NAME` / `sys_exit_NAME` served by the raw tracepoint `raw_syscalls:sys_enter`
//! / `sys_exit` (x86-64): a dispatcher there jumps to the event's program at calls of NAME's number
//! ([`syscall_dispatch`](super::syscall_dispatch)), or, for the only event of its direction, its own program
//! there compares the number first.
//!
//! Syscall events are not tracepoints of their own: tracefs builds them from `raw_syscalls`, whose perf-event
//! tracepoints take tens of milliseconds each to detach. On the raw tracepoint the arguments are
//! `(struct pt_regs *regs, long id)` at entry and `(struct pt_regs *regs, long ret)` at exit, and the call's
//! arguments are the user registers di, si, dx, r10, r8, r9, read with one `bpf_probe_read_kernel` of `regs` and
//! typed by the event's format (its fields after `__syscall_nr`, in order). 32-bit calls (`TS_COMPAT` in the
//! task's `thread_info.status`, what the kernel's `in_ia32_syscall()` reads, including a 64-bit task's
//! `int $0x80`) are left out, as the syscall events leave them out: their numbers are those of another table.
//! The check costs a helper call and a load, only at calls of the right number: `bpf_get_current_task_btf`
//! (Linux 5.11) gives a typed pointer the program loads from directly; before it, the status is read with
//! `bpf_get_current_task` and `bpf_probe_read_kernel` (a second helper call).
//!
//! Anything else (another architecture, a name missing from [`syscall_numbers`](super::syscall_numbers), raw
//! tracepoints unavailable or `JL_TRACEPOINT_MECHANISM=perf`) keeps the perf-event tracepoint of the event.

use super::syscall_dispatch::{self, DispatchSlot, SyscallEvent};
use super::tracepoint_hook::TracepointHook;
use super::{read_kernel, read_kernel_exact, Companion, EmitEnv, Field, FieldSource, ProbeError};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Reg, Size};
use crate::kernel::{KernelInfo, TracepointFormat};
use crate::maps::MapSpec;
use crate::session::Attach;

/// Byte offsets in x86-64 `struct pt_regs` of the syscall arguments, in order (di, si, dx, r10, r8, r9).
const ARG_REGS: [i32; 6] = [112, 104, 96, 56, 72, 64];
/// `pt_regs.r10`, the lowest of [`ARG_REGS`]: where the read at entry starts when every argument is read.
const FIRST_ARG_REG: i32 = 56;
/// `pt_regs.orig_ax`: the syscall number, just after the registers read (`args.__syscall_nr` is stored there).
const ORIG_AX: i32 = 120;
/// The `pt_regs` offset the frame's last byte stands for: members are read to `r10 + offset - FRAME_END`.
const FRAME_END: i32 = ORIG_AX + 8;
/// Stack slot of the task's `thread_info.status`, below what is read of `pt_regs`.
const STACK_STATUS: i16 = (FIRST_ARG_REG - FRAME_END - 8) as i16;
/// Stack slot of a `long ret` at exit.
const STACK_RET: i16 = STACK_STATUS - 8;
/// `TS_COMPAT` of x86 `thread_info.status`: the task is in a 32-bit system call.
const TS_COMPAT: i32 = 0x2;

/// The first Linux release with `bpf_get_current_task_btf`.
const TASK_BTF_SINCE: (u32, u32) = (5, 11);

/// Why a syscall event is not on tp_btf when asked: its dispatcher's tail calls need raw tracepoint programs.
const NOT_TP_BTF: &str = "a syscall dispatcher tail-calls raw tracepoint programs only";

/// A syscall event reached through `raw_syscalls`.
#[derive(Debug)]
pub(super) struct SyscallView {
    hook: TracepointHook,
    event: SyscallEvent,
    /// Its slot in the dispatcher's program array; `None` while it is the only event of its direction, whose
    /// program attaches to the raw tracepoint itself and compares the call's number.
    dispatch: Option<DispatchSlot>,
    args: Vec<Field>,
    /// The `pt_regs` offset the read at entry starts at: the lowest register the block reads (`None`: none).
    read_from: Option<i32>,
    /// Whether the block reads `args.__syscall_nr` (stored on the stack only then).
    reads_number: bool,
    /// Offset of `thread_info.status` in `task_struct`.
    status: u32,
    /// Whether the kernel has `bpf_get_current_task_btf`, whose pointer the status is loaded through.
    task_btf: bool,
}

/// The stack offset a `pt_regs` member at `offset` is read to.
fn slot(offset: i32) -> i16 {
    (offset - FRAME_END) as i16
}

impl SyscallView {
    /// The raw-tracepoint view of `syscalls:NAME` (`sys_enter_X` or `sys_exit_X`, whose tracefs format is
    /// `format`), or why the event keeps its perf-event tracepoint.
    pub(super) fn resolve(
        kernel: &dyn KernelInfo,
        name: &str,
        format: &TracepointFormat,
    ) -> Result<Result<SyscallView, String>, crate::kernel::KernelError> {
        let (raw, syscall, exit) = match (name.strip_prefix("sys_enter_"), name.strip_prefix("sys_exit_")) {
            (Some(syscall), _) => ("sys_enter", syscall, false),
            (_, Some(syscall)) => ("sys_exit", syscall, true),
            _ => return Ok(Err(format!("`{name}` is not a sys_enter_ or sys_exit_ event"))),
        };
        if !cfg!(target_arch = "x86_64") {
            return Ok(Err("raw_syscalls are read as x86-64 registers only".into()));
        }
        let Some(number) = super::syscall_numbers::number(syscall) else {
            return Ok(Err(format!("jl does not know the x86-64 number of `{syscall}`")));
        };
        let Some(status) = kernel.struct_member("task_struct", "thread_info.status").ok().flatten() else {
            return Ok(Err("the kernel's BTF has no task_struct.thread_info.status to leave out 32-bit calls".into()));
        };
        let hook = TracepointHook::resolve(kernel, "raw_syscalls", raw, Some(NOT_TP_BTF))?;
        if !hook.reads_args() {
            let why = hook.not_used().unwrap_or("raw tracepoints not used").to_string();
            return Ok(Err(why));
        }
        let mut registers = ARG_REGS.iter();
        let args = format
            .fields
            .iter()
            .filter(|field| !field.common)
            .filter_map(|field| {
                let offset = match field.name.as_str() {
                    "__syscall_nr" => slot(ORIG_AX),
                    "ret" if exit => STACK_RET,
                    _ => slot(*registers.next()?),
                };
                Some(Field { source: FieldSource::Stack { offset }, ..super::tracepoint::arg_field(field, kernel) })
            })
            .collect();
        Ok(Ok(SyscallView {
            hook,
            event: SyscallEvent { exit, number },
            dispatch: None,
            args,
            read_from: Some(FIRST_ARG_REG),
            reads_number: true,
            status: status.offset,
            task_btf: kernel.version().at_least(TASK_BTF_SINCE.0, TASK_BTF_SINCE.1),
        }))
    }

    /// The event's direction and number.
    pub(super) fn event(&self) -> SyscallEvent {
        self.event
    }

    /// Where its program goes: a slot of the dispatcher's program array, or the raw tracepoint when alone.
    pub(super) fn attach(&self) -> Attach {
        let Some(dispatch) = self.dispatch else { return self.hook.attach.clone() };
        let exit = self.event.exit;
        let tracepoint = if exit { "sys_exit" } else { "sys_enter" };
        let map = syscall_dispatch::map_name(exit).into();
        Attach::TailCall { tracepoint: tracepoint.into(), map, slot: dispatch.slot }
    }

    /// Told its slot ([`syscall_dispatch::dispatch_syscalls`]).
    pub(super) fn dispatch(&mut self, slot: DispatchSlot) {
        self.dispatch = Some(slot);
    }

    /// The dispatcher's program array, when dispatched.
    pub(super) fn maps(&self) -> Vec<MapSpec> {
        self.dispatch.map(|dispatch| syscall_dispatch::map_spec(self.event.exit, dispatch.slots)).into_iter().collect()
    }

    /// The dispatcher, when this event emits it (the first of its direction); `maps` holds the index of the
    /// program array.
    pub(super) fn companions(&self, maps: &[usize]) -> Result<Vec<Companion>, ProbeError> {
        let Some(dispatch) = self.dispatch.filter(|dispatch| dispatch.lead.is_some()) else { return Ok(Vec::new()) };
        let program = syscall_dispatch::dispatcher(self.event.exit, maps[0], dispatch.slots)?;
        Ok(vec![Companion { suffix: "disp", attach: self.hook.attach.clone(), program }])
    }

    /// The event's fields, read from the stack the prologue filled.
    pub(super) fn args(&self) -> &[Field] {
        &self.args
    }

    /// Told which fields the block reads (`args.NAME`), so that the prologue reads only the registers from the
    /// lowest of them on, none when the block reads none, and stores the number only when it is read.
    pub(super) fn only_fields_read(&mut self, read: &[String]) {
        self.reads_number = read.iter().any(|name| name == "args.__syscall_nr");
        let lowest = read.iter().filter_map(|name| {
            let field = self.args.iter().find(|field| Some(field.name.as_str()) == name.strip_prefix("args."))?;
            match field.source {
                FieldSource::Stack { offset } if offset != STACK_RET => Some(i32::from(offset) + FRAME_END),
                _ => None,
            }
        });
        self.read_from = lowest.min();
    }

    /// What the prologue writes on the stack.
    pub(super) fn stack_bytes(&self) -> u32 {
        STACK_RET.unsigned_abs() as u32
    }

    /// What `jl -v` says.
    pub(super) fn note(&self) -> String {
        let raw = if self.event.exit { "sys_exit" } else { "sys_enter" };
        let mechanism = self.hook.mechanism.name();
        let number = self.event.number;
        let Some(dispatch) = self.dispatch else {
            return format!(
                "{mechanism} raw_syscalls:{raw}, syscall number {number} (x86-64), compared in its own program (the \
                 only syscall event of its direction)"
            );
        };
        let mut note = format!(
            "{mechanism} raw_syscalls:{raw}, syscall number {number} (x86-64), through its dispatcher (slot {})",
            dispatch.slot
        );
        // A dispatcher serves two events or more: one alone in its direction has none.
        if let Some(served) = dispatch.lead {
            note.push_str(&format!("; one dispatcher program on raw_syscalls:{raw} serves {served} syscall events"));
        }
        note
    }

    /// Leaves through `env.exit` unless this is a 64-bit call of the syscall's number (checked here when alone in
    /// its direction; the dispatcher ran the program for that number otherwise); then the registers the block
    /// reads are on the stack (and `ret` at exit). Nothing when the block does nothing: no check guards anything.
    pub(super) fn emit_prologue(&self, b: &mut Builder, env: &EmitEnv) {
        if env.empty_block {
            return;
        }
        let number = self.event.number as i32;
        if self.dispatch.is_none() {
            b.comment(format!("syscall {number} only"));
            match self.event.exit {
                false => b.load(Size::DW, Reg::R1, env.ctx, 8),
                true => {
                    b.load(Size::DW, Reg::R3, env.ctx, 0);
                    read_kernel(b, slot(ORIG_AX), 8, Reg::R3, ORIG_AX);
                    b.load(Size::DW, Reg::R1, Reg::R10, slot(ORIG_AX));
                }
            }
            // The low 32 bits, as the dispatcher's tail call and the kernel's own syscall events read it.
            b.jump32_if(JmpOp::Ne, Reg::R1, number, env.exit);
        }
        b.comment(format!("syscall {number}: a 64-bit call only"));
        if self.task_btf {
            b.call(Helper::GetCurrentTaskBtf);
            b.load(Size::W, Reg::R1, Reg::R0, self.status as i16);
        } else {
            b.call(Helper::GetCurrentTask);
            read_kernel_exact(b, STACK_STATUS, 4, Reg::R0, self.status as i32);
            b.load(Size::W, Reg::R1, Reg::R10, STACK_STATUS);
        }
        b.alu64(AluOp::And, Reg::R1, TS_COMPAT);
        b.jump_if(JmpOp::Ne, Reg::R1, 0, env.exit);
        if self.reads_number {
            b.store_imm(Size::DW, Reg::R10, slot(ORIG_AX), number);
        }
        match (self.event.exit, self.read_from) {
            (false, Some(first)) if first < ORIG_AX => {
                b.load(Size::DW, Reg::R3, env.ctx, 0);
                read_kernel(b, slot(first), ORIG_AX - first, Reg::R3, first);
            }
            (false, _) => {}
            (true, _) => {
                b.load(Size::DW, Reg::R1, env.ctx, 8);
                b.store(Size::DW, Reg::R10, STACK_RET, Reg::R1);
            }
        }
    }

    /// The tail call to the next event on the syscall, if any.
    pub(super) fn emit_epilogue(&self, b: &mut Builder, env: &EmitEnv) {
        if let Some(next) = self.dispatch.and_then(|dispatch| dispatch.next) {
            syscall_dispatch::emit_chain(b, env.ctx, env.maps[0], next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FixtureKernel, TracepointMechanism, TracepointProbes};

    fn view(kernel: &FixtureKernel, name: &str) -> Result<SyscallView, String> {
        let format = kernel.tracepoint("syscalls", name).unwrap();
        SyscallView::resolve(kernel, name, &format).unwrap()
    }

    fn offsets(view: &SyscallView) -> Vec<(&str, FieldSource)> {
        view.args().iter().map(|field| (field.name.as_str(), field.source)).collect()
    }

    #[test]
    fn entry_arguments_are_registers_in_format_order() {
        let mut write = view(&FixtureKernel::bundled(), "sys_enter_write").unwrap();
        assert_eq!(write.attach(), Attach::RawTracepoint { name: "sys_enter".into() }, "alone until dispatched");
        assert_eq!(
            write.note(),
            "raw tracepoint raw_syscalls:sys_enter, syscall number 1 (x86-64), compared in its own program (the only \
             syscall event of its direction)"
        );
        write.dispatch(DispatchSlot { slot: 1, next: None, slots: 512, lead: Some(2) });
        let slot = Attach::TailCall { tracepoint: "sys_enter".into(), map: "jl_sys_enter".into(), slot: 1 };
        assert_eq!(write.attach(), slot);
        let stack = |offset| FieldSource::Stack { offset };
        // orig_ax, di, si, dx at their pt_regs offsets less 128, the end of the read.
        assert_eq!(
            offsets(&write),
            [("__syscall_nr", stack(-8)), ("fd", stack(-16)), ("buf", stack(-24)), ("count", stack(-32))]
        );
        assert_eq!((write.stack_bytes(), write.event.number), (88, 1));
        assert_eq!(
            write.note(),
            "raw tracepoint raw_syscalls:sys_enter, syscall number 1 (x86-64), through its dispatcher (slot 1); one \
             dispatcher program on raw_syscalls:sys_enter serves 2 syscall events"
        );
    }

    #[test]
    fn exit_reads_the_number_from_orig_ax_and_ret_from_the_raw_argument() {
        let exit = view(&FixtureKernel::bundled(), "sys_exit_openat").unwrap();
        assert_eq!(exit.attach(), Attach::RawTracepoint { name: "sys_exit".into() });
        let stack = |offset| FieldSource::Stack { offset };
        assert_eq!(offsets(&exit), [("__syscall_nr", stack(-8)), ("ret", stack(-88))]);
        assert_eq!((exit.stack_bytes(), exit.event.number), (88, 257));
    }

    #[test]
    fn the_status_is_loaded_through_a_typed_task_pointer_from_5_11() {
        let typed =
            |release| view(&FixtureKernel::bundled().with_release(release), "sys_enter_getpid").unwrap().task_btf;
        assert!(typed("5.11.0"));
        assert!(!typed("5.10.224"));
    }

    #[test]
    fn perf_events_when_raw_tracepoints_are_turned_off() {
        let probes = TracepointProbes::all().using(TracepointMechanism::PerfEvent, "asked");
        let kernel = FixtureKernel::bundled().with_tracepoint_probes(probes);
        assert_eq!(view(&kernel, "sys_enter_getpid").unwrap_err(), "raw tracepoints not used: asked");
    }
}

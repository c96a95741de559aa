//! Scalar expressions into registers, and conditions into jumps.

use super::Gen;
use crate::diag::{Code, Diagnostic};
use crate::ir::{BinaryOp, Builtin, Expr, ExprKind, UnaryOp};
use crate::wire::Stat;
use jitterlib::agg::StackKind;
use jitterlib::insn::{AluOp, Helper, JmpOp, Label, Operand, Reg, Size};
use jitterlib::probe::{FieldSource, FieldType};
use jitterlib::session::Attach;

type Result<T> = std::result::Result<T, Diagnostic>;

/// `-EFAULT` from `bpf_get_stackid`: the context has no such stack (no kernel stack in a sample taken in user
/// mode, no user stack in a kernel thread).
const NO_STACK: i32 = -14;

/// `BPF_F_USER_STACK`: `bpf_get_stackid` records the user-space stack.
const BPF_F_USER_STACK: i32 = 1 << 8;

/// `-EEXIST` from `bpf_get_stackid`: another stack holds this hash bucket.
const STACK_COLLISION: i32 = -17;
/// Frames `bpf_get_stackid` records above the traced code in a program run on `attach`, which the kernel skips when
/// given this as its flags, so that a stack starts where the traced event happened, as a perf-event tracepoint's
/// or a sample's does. In a raw tracepoint or tp_btf program the kernel unwinds from the helper's caller: the
/// program itself, then `bpf_trace_runN` that ran it (`bpf_get_stackid_raw_tp` in kernel/trace/bpf_trace.c). A
/// program tail-called by a syscall dispatcher has the same two: the tail call reuses the dispatcher's frame.
fn frames_above_the_event(attach: &Attach) -> i32 {
    match attach {
        Attach::RawTracepoint { .. } | Attach::TpBtf { .. } | Attach::TailCall { .. } => 2,
        _ => 0,
    }
}

impl Gen<'_> {
    /// Evaluates a scalar expression into a fresh temporary register; the caller gives it back.
    pub(super) fn value(&mut self, expr: &Expr) -> Result<Reg> {
        let reg = self.frame.take().ok_or_else(|| {
            Diagnostic::new(Code::Limit, expr.span, "expression needs more registers than are free here")
                .with_hint("split it with a `$variable`")
        })?;
        self.scalar(expr, reg)?;
        Ok(reg)
    }

    /// Loads the `size`-byte integer at `offset` of the probe's record (`r6`) into `dst`, sign-extended when
    /// `signed`. Sizes other than 1, 2, 4 and 8 (a 3-byte array) load 8 bytes and keep the low `size` of them.
    fn context_integer(&mut self, offset: u32, size: u32, signed: bool, dst: Reg) {
        let load = Size::from_bytes(size).unwrap_or(Size::DW);
        self.b.load(load, dst, Reg::R6, offset as i16);
        let bits = 64 - 8 * size.min(8) as i32;
        if bits > 0 && (signed || load == Size::DW) {
            self.b.alu64(AluOp::Lsh, dst, bits);
            self.b.alu64(if signed { AluOp::Arsh } else { AluOp::Rsh }, dst, bits);
        }
    }

    /// Evaluates a scalar expression into `dst` (a callee-saved register).
    pub(super) fn scalar(&mut self, expr: &Expr, dst: Reg) -> Result<()> {
        self.enter(expr.span);
        match &expr.kind {
            ExprKind::Const(value) => self.b.mov_i64(dst, *value),
            ExprKind::Builtin(Builtin::Elapsed) => self.elapsed(dst, expr)?,
            ExprKind::Builtin(Builtin::NsPid { ns, thread }) => self.ns_pid(*ns, *thread, dst, expr)?,
            ExprKind::Builtin(builtin) => self.builtin(*builtin, dst),
            ExprKind::Call(call) => (call.lower)(self, call, expr.span, dst)?,
            ExprKind::Field(field) => match (self.probe.source_now(field), field.ty) {
                (
                    FieldSource::Context { offset },
                    FieldType::Int { size, signed } | FieldType::Enum { size, signed, .. },
                ) => self.context_integer(offset, size, signed, dst),
                (FieldSource::Context { offset }, FieldType::ShortBytes { size }) => {
                    self.context_integer(offset, size, false, dst)
                }
                (FieldSource::Context { offset }, _) => self.b.load(Size::DW, dst, Reg::R6, offset as i16),
                (FieldSource::Stack { offset }, _) => self.b.load(Size::DW, dst, Reg::R10, offset),
                (FieldSource::Computed, _) => {
                    return Err(Diagnostic::new(Code::Unsupported, expr.span, "this field is not a number"));
                }
            },
            ExprKind::Var(var) => self.b.load(Size::DW, dst, Reg::R10, self.vars[*var]),
            ExprKind::MapRead { map, keys } if self.load_shared_read(*map, keys, dst) => {}
            ExprKind::MapRead { map, keys } => {
                let mark = self.frame.mark();
                let key = self.key(*map, keys, None, expr.span)?;
                self.lookup(self.user_map(*map), key);
                let absent = self.b.new_label();
                self.b.mov64(dst, 0);
                self.b.jump_if(JmpOp::Eq, Reg::R0, 0, absent);
                self.b.load(Size::DW, dst, Reg::R0, 0);
                self.b.bind(absent);
                self.frame.release(mark);
                self.keep_shared_read(*map, keys, dst);
            }
            ExprKind::AggRead { map, keys, cpus } => self.read_aggregation(*map, keys, *cpus, dst, expr.span)?,
            ExprKind::Unary(op, operand) => {
                self.scalar(operand, dst)?;
                match op {
                    UnaryOp::Neg => self.b.alu64(AluOp::Neg, dst, 0),
                    UnaryOp::BitNot => self.b.alu64(AluOp::Xor, dst, -1),
                    UnaryOp::Not => self.truth(dst, JmpOp::Eq, dst, Operand::Imm(0)),
                }
            }
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, dst)?,
            ExprKind::StrCompare { .. } => {
                let done = self.b.new_label();
                self.b.mov64(dst, 0);
                self.branch(expr, false, done)?;
                self.b.mov64(dst, 1);
                self.b.bind(done);
            }
            ExprKind::Ternary { cond, then, otherwise } => {
                let other = self.b.new_label();
                let done = self.b.new_label();
                self.branch(cond, false, other)?;
                self.scalar(then, dst)?;
                self.b.jump(done);
                self.b.bind(other);
                self.scalar(otherwise, dst)?;
                self.b.bind(done);
            }
            ExprKind::KernelRead(read) => self.kernel_read_scalar(read, expr.ty.is_signed(), dst, expr.span)?,
            ExprKind::ByteSwap { operand, bits } => {
                self.scalar(operand, dst)?;
                self.b.to_big_endian(dst, *bits as i32);
            }
            ExprKind::Convert { operand, bits, signed } => {
                self.scalar(operand, dst)?;
                self.convert(dst, *bits, *signed);
            }
            ExprKind::TupleElement { tuple, offset } => {
                let mark = self.frame.mark();
                let at = self.tuple_place(tuple)?;
                self.b.load(Size::DW, dst, Reg::R10, at + *offset as i16);
                self.frame.release(mark);
            }
            ExprKind::VarAddress(var) => {
                self.b.mov64(dst, Reg::R10);
                self.b.alu64(AluOp::Add, dst, i32::from(self.vars[*var]));
            }
            ExprKind::Element { value, index, bytes, signed, count } => {
                let mark = self.frame.mark();
                let at = self.tuple_place(value)?;
                let size = Size::from_bytes(u32::from(*bytes)).unwrap_or(Size::DW);
                let inside = match index.kind {
                    ExprKind::Const(constant) => u32::try_from(constant).ok().filter(|at| at < count),
                    _ => None,
                };
                let past = match inside {
                    // A constant index inside the value is a fixed offset.
                    Some(element) => {
                        self.b.load(size, dst, Reg::R10, at + (element * u32::from(*bytes)) as i16);
                        None
                    }
                    None => {
                        self.scalar(index, dst)?;
                        let past = self.b.new_label();
                        // Bounded, the index is a variable offset into the value's bytes that the verifier accepts.
                        self.b.jump_if(JmpOp::Ge, dst, *count as i32, past);
                        if *bytes > 1 {
                            self.b.alu64(AluOp::Lsh, dst, bytes.trailing_zeros() as i32);
                        }
                        self.b.mov64(Reg::R0, Reg::R10);
                        self.b.alu64(AluOp::Add, Reg::R0, dst);
                        self.b.load(size, dst, Reg::R0, at);
                        Some(past)
                    }
                };
                // A load zero-extends: only a signed element needs its sign spread.
                if *bytes < 8 && *signed {
                    self.convert(dst, u32::from(*bytes) * 8, true);
                }
                if let Some(past) = past {
                    let done = self.b.new_label();
                    self.b.jump(done);
                    self.b.bind(past);
                    self.counter(Stat::IndexOutOfRange).emit_increment(&mut self.b);
                    self.b.mov64(dst, 0);
                    self.b.bind(done);
                }
                self.frame.release(mark);
            }
            ExprKind::Str(_)
            | ExprKind::NameText(_)
            | ExprKind::KernelStr(_)
            | ExprKind::Buf(_)
            | ExprKind::Inet { .. } => {
                return Err(Diagnostic::new(Code::TypeMismatch, expr.span, "a string is not a number"));
            }
            ExprKind::Tuple(_) | ExprKind::StructValue { .. } => {
                return Err(Diagnostic::new(Code::TypeMismatch, expr.span, "a tuple is not a number"));
            }
        }
        self.leave();
        Ok(())
    }

    /// `dst = bpf_ktime_get_ns() - jl_start[0]`.
    fn elapsed(&mut self, dst: Reg, expr: &Expr) -> Result<()> {
        let map = self.start_map.ok_or_else(|| {
            Diagnostic::new(Code::Unsupported, expr.span, "internal error: elapsed without a start map")
        })?;
        let mark = self.frame.mark();
        let key = self.frame.alloc(8, expr.span)?;
        self.b.call(Helper::KtimeGetNs);
        self.b.mov64(dst, Reg::R0);
        self.b.store_imm(Size::W, Reg::R10, key, 0);
        self.lookup(map, key);
        let absent = self.b.new_label();
        self.b.jump_if(JmpOp::Eq, Reg::R0, 0, absent);
        self.b.load(Size::DW, Reg::R1, Reg::R0, 0);
        self.b.alu64(AluOp::Sub, dst, Reg::R1);
        self.b.bind(absent);
        self.frame.release(mark);
        Ok(())
    }

    /// `dst` = the pid (or tid) of the current task in `ns`: `bpf_get_ns_current_pid_tgid` fills a zeroed
    /// `struct bpf_pidns_info { u32 pid; u32 tgid; }` (its pid is the thread's), left zeroed for a task outside.
    fn ns_pid(&mut self, ns: crate::PidNamespace, thread: bool, dst: Reg, expr: &Expr) -> Result<()> {
        let mark = self.frame.mark();
        let info = self.frame.alloc(8, expr.span)?;
        self.b.store_imm(Size::DW, Reg::R10, info, 0);
        self.b.ld_imm64(Reg::R1, ns.dev);
        self.b.ld_imm64(Reg::R2, ns.ino);
        self.b.stack_pointer(Reg::R3, info);
        self.b.mov64(Reg::R4, 8);
        self.b.call(Helper::GetNsCurrentPidTgid);
        self.b.load(Size::W, dst, Reg::R10, info + if thread { 0 } else { 4 });
        self.frame.release(mark);
        Ok(())
    }

    fn builtin(&mut self, builtin: Builtin, dst: Reg) {
        let helper = match builtin {
            Builtin::Pid | Builtin::Tid => Helper::GetCurrentPidTgid,
            Builtin::Uid | Builtin::Gid => Helper::GetCurrentUidGid,
            Builtin::Cpu => Helper::GetSmpProcessorId,
            Builtin::Nsecs => Helper::KtimeGetNs,
            Builtin::BootNsecs => Helper::KtimeGetBootNs,
            Builtin::TaiNsecs => Helper::KtimeGetTaiNs,
            Builtin::Cgroup => Helper::GetCurrentCgroupId,
            Builtin::CurTask => Helper::GetCurrentTask,
            Builtin::Comm | Builtin::Elapsed | Builtin::NsPid { .. } => return,
            Builtin::Ctx => return self.b.mov64(dst, Reg::R6),
            Builtin::Stack(kind) => return self.stack(kind, dst),
        };
        self.b.call(helper);
        match builtin {
            // Shifted in r0, so that a value stored at once is stored straight from r0 (`finish_point`).
            Builtin::Pid | Builtin::Gid => {
                self.b.alu64(AluOp::Rsh, Reg::R0, 32);
                self.b.mov64(dst, Reg::R0);
            }
            Builtin::Tid | Builtin::Uid => self.b.alu32(AluOp::Mov, dst, Reg::R0),
            _ => self.b.mov64(dst, Reg::R0),
        }
    }

    /// `dst = bpf_get_stackid(ctx, stacks, flags)` on the stack map of `kind`'s depth (the kernel cuts the stack
    /// there before hashing it, so `kstack(3)` keys differ only in their first 3 frames). A negative id is
    /// counted: a hash collision (the bucket keeps its first stack, without `BPF_F_REUSE_STACKID`, so that no id
    /// is ever misattributed) apart from other losses (map full), in one increment whose address picks the
    /// counter. The check costs one jump when the stack is recorded. A user stack's id gets the process id above
    /// it: `dst = tgid << 32 | (u32)id`.
    fn stack(&mut self, kind: StackKind, dst: Reg) {
        self.b.mov64(Reg::R1, Reg::R6);
        let map = self.stacks_map(kind.frames);
        self.b.ld_map(Reg::R2, map);
        let flags = if kind.user { BPF_F_USER_STACK } else { frames_above_the_event(&self.probe.attach()) };
        self.b.mov64(Reg::R3, flags);
        self.b.call(Helper::GetStackid);
        self.b.mov64(dst, Reg::R0);
        let done = self.b.new_label();
        self.b.jump_if(JmpOp::Sge, Reg::R0, 0, done);
        // -EFAULT means there is no such stack: an empty stack, not a loss.
        self.b.jump_if(JmpOp::Eq, Reg::R0, NO_STACK, done);
        let collision = self.counter(Stat::StackCollision);
        self.counter(Stat::StackLost).emit_increment_or(collision, STACK_COLLISION, &mut self.b);
        self.b.bind(done);
        if kind.user {
            self.b.call(Helper::GetCurrentPidTgid);
            self.b.alu64(AluOp::Rsh, Reg::R0, 32);
            self.b.alu64(AluOp::Lsh, Reg::R0, 32);
            self.b.alu32(AluOp::Mov, dst, dst);
            self.b.alu64(AluOp::Or, dst, Reg::R0);
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, dst: Reg) -> Result<()> {
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let done = self.b.new_label();
            self.b.mov64(dst, 0);
            self.branch(
                &Expr {
                    kind: ExprKind::Binary(op, Box::new(lhs.clone()), Box::new(rhs.clone())),
                    ty: lhs.ty,
                    span: lhs.span.to(rhs.span),
                },
                false,
                done,
            )?;
            self.b.mov64(dst, 1);
            self.b.bind(done);
            return Ok(());
        }
        let signed = lhs.ty.is_signed() && rhs.ty.is_signed();
        self.scalar(lhs, dst)?;
        let (left, right, held) = self.operand(rhs, dst)?;
        if op.is_comparison() {
            let jump = comparison(op, signed);
            self.truth(dst, jump, left, right);
        } else if matches!(op, BinaryOp::Div | BinaryOp::Rem) {
            let done = self.zero_divisor(left, right, rhs.constant().is_some());
            match signed {
                true => self.signed_division(op, left, right),
                false => self.b.alu64(arithmetic(op, signed), left, right),
            }
            self.b.bind(done);
            if left != dst {
                self.b.mov64(dst, left);
            }
        } else {
            let alu = arithmetic(op, signed);
            self.b.alu64(alu, left, right);
            if left != dst {
                self.b.mov64(dst, left);
            }
        }
        if let Some(reg) = held {
            self.frame.give(reg);
        }
        Ok(())
    }

    /// A divisor only known when the probe runs, 0: `left` is 1 and the `divide_by_zero` counter counts it, as
    /// bpftrace gives 1 and warns; then a jump to the label returned, which the caller binds after the division.
    /// A `constant` divisor needs no check: sema refuses a constant 0.
    fn zero_divisor(&mut self, left: Reg, right: Operand, constant: bool) -> Label {
        let done = self.b.new_label();
        if let (Operand::Reg(divisor), false) = (right, constant) {
            let nonzero = self.b.new_label();
            self.b.jump_if(JmpOp::Ne, divisor, 0, nonzero);
            self.b.mov64(left, 1);
            self.counter(Stat::DivideByZero).emit_increment(&mut self.b);
            self.b.jump(done);
            self.b.bind(nonzero);
        }
        done
    }

    /// `left = left / right` or `left % right` of signed integers, truncated toward zero as C does (`-7 / 2` is
    /// -3, `-7 % 2` is -1): BPF's `div` and `mod` are unsigned (signed ones need the v4 instruction set, Linux
    /// 6.6), so the magnitudes are divided and the sign put back: a quotient is negative when exactly one operand
    /// is, a remainder when the dividend is. A register `right` is a temporary of this expression and is
    /// overwritten by its magnitude (not 0: [`Self::zero_divisor`] comes first).
    fn signed_division(&mut self, op: BinaryOp, left: Reg, right: Operand) {
        let alu = if op == BinaryOp::Div { AluOp::Div } else { AluOp::Mod };
        let done = self.b.new_label();
        let left_positive = self.b.new_label();
        // Whether the result's sign differs from what dividing the magnitudes gives, per sign of `left`.
        let flip_if = |left_negative: bool, right_negative: bool| {
            if op == BinaryOp::Div {
                left_negative != right_negative
            } else {
                left_negative
            }
        };
        self.b.jump_if(JmpOp::Sge, left, 0, left_positive);
        self.b.alu64(AluOp::Neg, left, 0);
        self.divide_magnitudes(alu, left, right, |right_negative| flip_if(true, right_negative), done);
        self.b.bind(left_positive);
        self.divide_magnitudes(alu, left, right, |right_negative| flip_if(false, right_negative), done);
        self.b.bind(done);
    }

    /// `left = |left| op |right|` (`left` already non-negative), negated where `flip(right is negative)` says,
    /// then a jump to `done`.
    fn divide_magnitudes(&mut self, alu: AluOp, left: Reg, right: Operand, flip: impl Fn(bool) -> bool, done: Label) {
        match right {
            // |i32::MIN| = 2^31 does not fit an immediate: shift or mask by that power of two instead.
            Operand::Imm(i32::MIN) if alu == AluOp::Div => {
                self.b.alu64(AluOp::Rsh, left, 31);
                if flip(true) {
                    self.b.alu64(AluOp::Neg, left, 0);
                }
            }
            Operand::Imm(i32::MIN) => {
                self.b.alu64(AluOp::And, left, i32::MAX);
                if flip(true) {
                    self.b.alu64(AluOp::Neg, left, 0);
                }
            }
            Operand::Imm(imm) => {
                self.b.alu64(alu, left, Operand::Imm(imm.abs()));
                if flip(imm < 0) {
                    self.b.alu64(AluOp::Neg, left, 0);
                }
            }
            Operand::Reg(reg) => {
                let right_positive = self.b.new_label();
                self.b.jump_if(JmpOp::Sge, reg, 0, right_positive);
                self.b.alu64(AluOp::Neg, reg, 0);
                self.b.alu64(alu, left, reg);
                if flip(true) {
                    self.b.alu64(AluOp::Neg, left, 0);
                }
                self.b.jump(done);
                self.b.bind(right_positive);
                self.b.alu64(alu, left, reg);
                if flip(false) {
                    self.b.alu64(AluOp::Neg, left, 0);
                }
            }
        }
        self.b.jump(done);
    }

    /// Evaluates the right operand of a binary operation whose left operand is in `dst`. Returns the left
    /// register (possibly moved to `r0` when registers ran out), the right operand, and a register to give back.
    fn operand(&mut self, rhs: &Expr, dst: Reg) -> Result<(Reg, Operand, Option<Reg>)> {
        if let ExprKind::Const(value) = rhs.kind {
            if let Ok(imm) = i32::try_from(value) {
                return Ok((dst, Operand::Imm(imm), None));
            }
        }
        if let Some(reg) = self.frame.take() {
            self.scalar(rhs, reg)?;
            return Ok((dst, Operand::Reg(reg), Some(reg)));
        }
        let slot = self.frame.alloc(8, rhs.span)?;
        self.b.store(Size::DW, Reg::R10, slot, dst);
        self.scalar(rhs, dst)?;
        self.b.load(Size::DW, Reg::R0, Reg::R10, slot);
        Ok((Reg::R0, Operand::Reg(dst), None))
    }

    /// `dst = (left op right) ? 1 : 0`.
    fn truth(&mut self, dst: Reg, op: JmpOp, left: Reg, right: Operand) {
        let yes = self.b.new_label();
        let done = self.b.new_label();
        self.b.jump_if(op, left, right, yes);
        self.b.mov64(dst, 0);
        self.b.jump(done);
        self.b.bind(yes);
        self.b.mov64(dst, 1);
        self.b.bind(done);
    }

    /// Jumps to `target` when the truth of `expr` equals `when`; falls through otherwise.
    pub(super) fn branch(&mut self, expr: &Expr, when: bool, target: Label) -> Result<()> {
        self.enter(expr.span);
        let result = match &expr.kind {
            ExprKind::Unary(UnaryOp::Not, inner) => self.branch(inner, !when, target),
            ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), lhs, rhs) => {
                // `a && b` is false when a is; `a || b` is true when a is: that side jumps straight to target.
                let short_circuits_to_target = (*op == BinaryOp::And) != when;
                if short_circuits_to_target {
                    self.branch(lhs, when, target)?;
                    self.branch(rhs, when, target)
                } else {
                    let skip = self.b.new_label();
                    self.branch(lhs, !when, skip)?;
                    self.branch(rhs, when, target)?;
                    self.b.bind(skip);
                    Ok(())
                }
            }
            ExprKind::StrCompare { equal, lhs, rhs } => self.string_compare(lhs, rhs, *equal == when, target),
            ExprKind::Binary(op, lhs, rhs) if op.is_comparison() => {
                let signed = lhs.ty.is_signed() && rhs.ty.is_signed();
                let mut jump = comparison(*op, signed);
                if !when {
                    jump = jump.negate().unwrap_or(jump);
                }
                let reg = self.value(lhs)?;
                let (left, right, held) = self.operand(rhs, reg)?;
                self.b.jump_if(jump, left, right, target);
                if let Some(held) = held {
                    self.frame.give(held);
                }
                self.frame.give(reg);
                Ok(())
            }
            _ => {
                let reg = self.value(expr)?;
                self.b.jump_if(if when { JmpOp::Ne } else { JmpOp::Eq }, reg, 0, target);
                self.frame.give(reg);
                Ok(())
            }
        };
        self.leave();
        result
    }
}

fn comparison(op: BinaryOp, signed: bool) -> JmpOp {
    match (op, signed) {
        (BinaryOp::Eq, _) => JmpOp::Eq,
        (BinaryOp::Ne, _) => JmpOp::Ne,
        (BinaryOp::Lt, false) => JmpOp::Lt,
        (BinaryOp::Le, false) => JmpOp::Le,
        (BinaryOp::Gt, false) => JmpOp::Gt,
        (BinaryOp::Ge, false) => JmpOp::Ge,
        (BinaryOp::Lt, true) => JmpOp::Slt,
        (BinaryOp::Le, true) => JmpOp::Sle,
        (BinaryOp::Gt, true) => JmpOp::Sgt,
        (_, _) => JmpOp::Sge,
    }
}

fn arithmetic(op: BinaryOp, signed: bool) -> AluOp {
    match op {
        BinaryOp::Add => AluOp::Add,
        BinaryOp::Sub => AluOp::Sub,
        BinaryOp::Mul => AluOp::Mul,
        BinaryOp::Div => AluOp::Div,
        BinaryOp::Rem => AluOp::Mod,
        BinaryOp::BitAnd => AluOp::And,
        BinaryOp::BitOr => AluOp::Or,
        BinaryOp::BitXor => AluOp::Xor,
        BinaryOp::Shl => AluOp::Lsh,
        BinaryOp::Shr if signed => AluOp::Arsh,
        _ => AluOp::Rsh,
    }
}

//! Statements.

use super::{Gen, EVENTS_MAP_INDEX};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, Stmt, StmtKind, WHILE_MAX_ITERATIONS};
use crate::wire::{MapEvent, Stat, TableEvent, EXIT_EVENT};
use jitterlib::insn::{AluOp, Helper, JmpOp, Label, Reg, Size};

/// Where `break` and `continue` of the innermost loop jump, and whether any did.
#[derive(Clone, Copy, Debug)]
pub(super) struct LoopLabels {
    break_to: Label,
    continue_to: Label,
    pub(super) broke: bool,
    pub(super) continued: bool,
}

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// Generates a list of statements; stack slots used by one statement are reused by the next. Returns
    /// whether control can reach the end: statements after `exit()` or `return` are not generated, because the
    /// verifier rejects unreachable instructions.
    pub(super) fn stmts(&mut self, stmts: &[Stmt]) -> Result<bool> {
        for stmt in stmts {
            let mark = self.frame.mark();
            let falls_through = self.stmt(stmt)?;
            self.frame.release(mark);
            if !falls_through {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Generates one statement; returns whether control continues after it.
    fn stmt(&mut self, stmt: &Stmt) -> Result<bool> {
        self.enter(stmt.span);
        let falls_through = match &stmt.kind {
            StmtKind::Exit { .. } | StmtKind::Return => {
                self.stmt_code(stmt)?;
                false
            }
            StmtKind::If { cond, then, otherwise } => self.if_else(cond, then, otherwise)?,
            StmtKind::Break | StmtKind::Continue => {
                let target = self.loop_exit(stmt)?;
                self.b.jump(target);
                false
            }
            StmtKind::Unroll { count, body } => self.unroll(*count, body)?,
            _ => {
                self.stmt_code(stmt)?;
                true
            }
        };
        self.leave();
        Ok(falls_through)
    }

    /// Where `break` or `continue` (`stmt`) jumps, noting that the innermost loop is left that way.
    fn loop_exit(&mut self, stmt: &Stmt) -> Result<Label> {
        let innermost = self.loops.last_mut().ok_or_else(|| {
            Diagnostic::new(Code::Unsupported, Span::default(), "internal error: break outside of a loop")
        })?;
        Ok(if matches!(stmt.kind, StmtKind::Break) {
            innermost.broke = true;
            innermost.break_to
        } else {
            innermost.continued = true;
            innermost.continue_to
        })
    }

    /// `if (cond) { then } else { otherwise }`; returns whether either branch continues after it.
    fn if_else(&mut self, cond: &Expr, then: &[Stmt], otherwise: &[Stmt]) -> Result<bool> {
        if let ExprKind::Const(value) = cond.kind {
            // A constant condition (the scope of a block expression is `if (1)`) takes one branch, unchecked.
            return self.stmts(if value != 0 { then } else { otherwise });
        }
        if let ([exit @ Stmt { kind: StmtKind::Break | StmtKind::Continue, .. }], []) = (then, otherwise) {
            // `if (c) { break; }` is one conditional jump.
            let target = self.loop_exit(exit)?;
            self.branch(cond, true, target)?;
            return Ok(true);
        }
        let other = self.b.new_label();
        self.branch(cond, false, other)?;
        let then_continues = self.stmts(then)?;
        if otherwise.is_empty() {
            self.b.bind(other);
            return Ok(true);
        }
        let done = self.b.new_label();
        if then_continues {
            self.b.jump(done);
        }
        self.b.bind(other);
        let otherwise_continues = self.stmts(otherwise)?;
        self.b.bind(done);
        Ok(then_continues || otherwise_continues)
    }

    fn stmt_code(&mut self, stmt: &Stmt) -> Result<()> {
        match &stmt.kind {
            StmtKind::Aggregate { map, keys, kind, value } => {
                let span = keys.first().or(value.as_ref()).map(|e| e.span).unwrap_or_default();
                self.aggregate(*map, keys, *kind, value.as_ref(), span)
            }
            StmtKind::Store { map, keys, value } => self.store_map(*map, keys, value, value.span),
            StmtKind::SetVar { var, value } => {
                let slot = self.vars[*var];
                self.value_as(value, slot, self.var_types[*var])
            }
            StmtKind::Declare { var } => {
                self.zero(self.vars[*var], self.var_types[*var].size());
                Ok(())
            }
            StmtKind::If { cond, then, otherwise } => self.if_else(cond, then, otherwise).map(|_| ()),
            StmtKind::Printf { id, args } => self.event(*id as u64, args),
            StmtKind::Join { id, array } => self.join(*id, array),
            StmtKind::Time { format } => self.event(TableEvent::Time(*format).id(), &[]),
            StmtKind::Outlier { id, slow, columns } => {
                // Below the threshold this is one load and one jump.
                let fast = self.b.new_label();
                self.branch(slow, false, fast)?;
                self.event(TableEvent::Outlier(*id).id(), columns)?;
                self.b.bind(fast);
                Ok(())
            }
            StmtKind::Signal { signal } => {
                self.b.mov64(Reg::R1, *signal as i32);
                self.b.call(Helper::SendSignal);
                Ok(())
            }
            StmtKind::Effect { value } => {
                let reg = self.value(value)?;
                self.frame.give(reg);
                Ok(())
            }
            StmtKind::Return => {
                if let Some(flag) = self.loop_return {
                    self.b.store_imm(Size::DW, Reg::R10, self.vars[flag], 1);
                }
                let exit = self.exit;
                self.b.jump(exit);
                Ok(())
            }
            StmtKind::Delete { map, keys } => self.delete(*map, keys),
            StmtKind::MapAction { map, action, options } => {
                let slot = self.frame.alloc(8, Span::default())?;
                let id = MapEvent { action: *action, map: *map, options: *options }.id();
                self.b.ld_imm64(Reg::R1, id);
                self.b.store(Size::DW, Reg::R10, slot, Reg::R1);
                {
                    self.emit_event(slot, 8);
                    Ok(())
                }
            }
            StmtKind::Unroll { count, body } => self.unroll(*count, body).map(|_| ()),
            StmtKind::ForMap { map, var, body, cpus, returned } => {
                let Some(flag) = *returned else { return self.for_map(*map, *var, body, *cpus, stmt.span) };
                // A `return` in the body sets the flag and stops the loop; the probe then returns (from an
                // enclosing loop's body, that loop stops the same way).
                self.b.store_imm(Size::DW, Reg::R10, self.vars[flag], 0);
                let outer = self.loop_return.replace(flag);
                let built = self.for_map(*map, *var, body, *cpus, stmt.span);
                self.loop_return = outer;
                built?;
                self.b.load(Size::DW, Reg::R1, Reg::R10, self.vars[flag]);
                let exit = self.exit;
                self.b.jump_if(JmpOp::Ne, Reg::R1, 0, exit);
                Ok(())
            }
            StmtKind::While { init, cond, body, step } => {
                self.stmts(init)?;
                self.while_loop(cond, body, step)
            }
            StmtKind::Break | StmtKind::Continue => self.stmt(stmt).map(|_| ()),
            StmtKind::Exit { code } => {
                // The event is the exit event id, then the exit code when there is one.
                let size = if code.is_some() { 16 } else { 8 };
                let slot = self.frame.alloc(size, Span::default())?;
                if let Some(code) = code {
                    let reg = self.value(code)?;
                    self.b.store(Size::DW, Reg::R10, slot + 8, reg);
                    self.frame.give(reg);
                }
                // Every probe stops here, not when jl has read the event and closed the gate itself.
                super::GATE.emit_close(&mut self.b);
                // A DW store of the immediate -1 writes u64::MAX, the exit event id.
                self.b.store_imm(Size::DW, Reg::R10, slot, EXIT_EVENT as i64 as i32);
                self.ring_output(slot, size);
                let exit = self.exit;
                self.b.jump(exit);
                Ok(())
            }
        }
    }

    /// `unroll(count) { body }`: `count` copies, each with its own `continue` target; returns whether control
    /// continues after the loop. Copies no path reaches are not generated (the verifier rejects dead code).
    fn unroll(&mut self, count: u32, body: &[Stmt]) -> Result<bool> {
        let done = self.b.new_label();
        let mut reachable = true;
        let mut broke = false;
        for _ in 0..count {
            let next = self.b.new_label();
            let (falls_through, labels) = self.loop_body(body, done, next)?;
            self.b.bind(next);
            broke |= labels.broke;
            reachable = falls_through || labels.continued;
            if !reachable {
                break;
            }
        }
        self.b.bind(done);
        Ok(reachable || broke)
    }

    /// Generates a loop body with `break` jumping to `break_to` and `continue` to `continue_to`.
    pub(super) fn loop_body(
        &mut self,
        body: &[Stmt],
        break_to: Label,
        continue_to: Label,
    ) -> Result<(bool, LoopLabels)> {
        self.loops.push(LoopLabels { break_to, continue_to, broke: false, continued: false });
        let falls_through = self.stmts(body);
        let labels = self.loops.pop().unwrap_or(LoopLabels { break_to, continue_to, broke: false, continued: false });
        Ok((falls_through?, labels))
    }

    /// `while (cond) { body }` as a real loop (bounded loops verify since Linux 5.3) with a hidden counter
    /// on the stack that stops it after [`WHILE_MAX_ITERATIONS`], so the verifier always sees an end.
    fn while_loop(&mut self, cond: &Expr, body: &[Stmt], step: &[Stmt]) -> Result<()> {
        let counter = self.frame.alloc(8, cond.span)?;
        self.b.store_imm(Size::DW, Reg::R10, counter, 0);
        let top = self.b.new_label();
        let done = self.b.new_label();
        let next = self.b.new_label();
        self.b.bind(top);
        self.branch(cond, false, done)?;
        let (falls_through, labels) = self.loop_body(body, done, next)?;
        if !falls_through && !labels.continued {
            self.b.bind(done);
            return Ok(());
        }
        self.b.bind(next);
        self.stmts(step)?;
        self.b.load(Size::DW, Reg::R1, Reg::R10, counter);
        self.b.alu64(AluOp::Add, Reg::R1, 1);
        self.b.store(Size::DW, Reg::R10, counter, Reg::R1);
        self.b.jump_if(JmpOp::Lt, Reg::R1, WHILE_MAX_ITERATIONS as i32, top);
        self.b.bind(done);
        Ok(())
    }

    /// An event `[u64 id][arguments]`, 8 bytes per integer, the declared size per string (printf, `time()`,
    /// outlier reports).
    fn event(&mut self, id: u64, args: &[Expr]) -> Result<()> {
        let span = args.first().map(|arg| arg.span).unwrap_or_default();
        let size = 8 + args.iter().map(|arg| arg.ty.size()).sum::<u32>();
        let event = self.frame.alloc(size, span)?;
        match i32::try_from(id) {
            Ok(small) => self.b.store_imm(Size::DW, Reg::R10, event, small),
            Err(_) => {
                self.b.ld_imm64(Reg::R1, id);
                self.b.store(Size::DW, Reg::R10, event, Reg::R1);
            }
        }
        let mut offset = event + 8;
        for arg in args {
            self.value_into(arg, offset)?;
            offset += arg.ty.size() as i16;
        }
        self.emit_event(event, size);
        Ok(())
    }

    /// Writes the event at `r10 + offset` for the runtime to act on (any event but `exit()`'s).
    pub(super) fn emit_event(&mut self, offset: i16, size: u32) {
        self.writes_events = true;
        self.ring_output(offset, size);
    }

    /// `bpf_ringbuf_output(events, r10 + offset, size, 0)`, counting drops.
    fn ring_output(&mut self, offset: i16, size: u32) {
        self.b.ld_map(Reg::R1, EVENTS_MAP_INDEX);
        self.b.stack_pointer(Reg::R2, offset);
        self.b.mov64(Reg::R3, size as i32);
        self.b.mov64(Reg::R4, 0);
        self.b.call(Helper::RingbufOutput);
        self.count_failure(Stat::EventsLost);
    }
}

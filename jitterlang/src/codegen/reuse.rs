//! A plain map read in a probe's predicate reused by its block: `/@q[args.pid] != 0/ { ... @q[args.pid] ... }`
//! looks the key up once. The predicate keeps the value it read in a stack slot; the block's reads of the same
//! map and key load that slot until the first statement that may change the map (a store, a delete, a
//! `clear()`/`zero()`, or a loop, conservatively), after which they look the key up again. The value is the
//! one the map held when the predicate read it: what the block would have read had it run without delay (other
//! CPUs may write the map at any time, before or after either read).
//!
//! Only keys that cannot change while the program runs qualify (constants, probe fields, the current task's
//! ids and CPU), and only a read the predicate always makes when the block runs (not the right side of `||`,
//! nor of an `&&` under `!`, nor a branch of `?:`), so that the slot is written on every path to the block.

use super::Gen;
use crate::diag::{Diagnostic, Span};
use crate::ir::{BinaryOp, Builtin, Expr, ExprKind, Stmt, StmtKind};
use jitterlib::insn::{Reg, Size};

/// The read the predicate shares with the block.
pub(super) struct SharedRead {
    /// Its map.
    map: usize,
    /// Its keys.
    keys: Vec<Expr>,
    /// The stack slot holding the value the predicate read.
    slot: i16,
    /// How many of the block's first statements may reuse it (the rest come after one that may change the map).
    until: usize,
    /// Whether the block's reads load the slot (else the predicate's store it).
    in_block: bool,
}

impl SharedRead {
    /// Whether `map[keys]` is this read.
    fn is(&self, map: usize, keys: &[Expr]) -> bool {
        self.map == map && same_keys(&self.keys, keys)
    }
}

impl Gen<'_> {
    /// Before the predicate: a slot for a map read `predicate` and the start of `body` share, when there is one.
    pub(super) fn share_predicate_read(
        &mut self,
        predicate: &Expr,
        body: &[Stmt],
        span: Span,
    ) -> Result<(), Diagnostic> {
        let Some((map, keys)) = always_read(predicate, true) else { return Ok(()) };
        if predicate.any(&mut |expr| calls_on(expr, map)) {
            return Ok(());
        }
        let until = body.iter().position(|stmt| may_change(stmt, map)).unwrap_or(body.len());
        if !body[..until].iter().any(|stmt| reads_stmt(stmt, map, keys)) {
            return Ok(());
        }
        let slot = self.frame.alloc(8, span)?;
        self.shared = Some(SharedRead { map, keys: keys.to_vec(), slot, until, in_block: false });
        Ok(())
    }

    /// The block: its statements, with the shared read dropped before the first that may change its map.
    pub(super) fn block_with_shared_read(&mut self, body: &[Stmt]) -> Result<(), Diagnostic> {
        let Some(shared) = self.shared.as_mut() else { return self.stmts(body).map(drop) };
        shared.in_block = true;
        let until = shared.until;
        let falls_through = self.stmts(&body[..until])?;
        self.shared = None;
        if falls_through {
            self.stmts(&body[until..])?;
        }
        Ok(())
    }

    /// For a scalar read of `map[keys]` into `dst`: in the block, loads the shared value and returns true; in
    /// the predicate, returns false (the caller looks the key up and then calls [`Gen::keep_shared_read`]).
    pub(super) fn load_shared_read(&mut self, map: usize, keys: &[Expr], dst: Reg) -> bool {
        match &self.shared {
            Some(shared) if shared.in_block && shared.is(map, keys) => {
                self.b.load(Size::DW, dst, Reg::R10, shared.slot);
                true
            }
            _ => false,
        }
    }

    /// In the predicate, keeps the value of `map[keys]` just read into `dst` for the block.
    pub(super) fn keep_shared_read(&mut self, map: usize, keys: &[Expr], dst: Reg) {
        if let Some(shared) = &self.shared {
            if !shared.in_block && shared.is(map, keys) {
                self.b.store(Size::DW, Reg::R10, shared.slot, dst);
            }
        }
    }
}

/// The first plain map read with invariant keys that the predicate `expr` makes whenever it holds. `holds`: the
/// block runs only when `expr` is true (the predicate itself, or a side of its top-level `&&`); elsewhere (under
/// `!`, inside a comparison) `a && b` may be false or true without `b` read, as `a || b` may be true.
fn always_read(expr: &Expr, holds: bool) -> Option<(usize, &[Expr])> {
    match &expr.kind {
        ExprKind::MapRead { map, keys } if expr.ty.is_scalar() && keys.iter().all(invariant) => Some((*map, keys)),
        ExprKind::Unary(_, operand) => always_read(operand, false),
        ExprKind::Binary(BinaryOp::And, lhs, rhs) if holds => always_read(lhs, true).or_else(|| always_read(rhs, true)),
        ExprKind::Binary(BinaryOp::And | BinaryOp::Or, lhs, _) => always_read(lhs, false),
        ExprKind::Binary(_, lhs, rhs) => always_read(lhs, false).or_else(|| always_read(rhs, false)),
        _ => None,
    }
}

/// Whether `expr` has the same value wherever a program run evaluates it.
fn invariant(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Const(_) | ExprKind::Field(_) => true,
        ExprKind::Builtin(builtin) => matches!(
            builtin,
            Builtin::Pid | Builtin::Tid | Builtin::Uid | Builtin::Gid | Builtin::Cpu | Builtin::Comm | Builtin::CurTask
        ),
        _ => false,
    }
}

/// Whether two lists of keys are the same invariant keys.
fn same_keys(a: &[Expr], b: &[Expr]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_key(a, b))
}

/// Whether two invariant keys are the same.
fn same_key(a: &Expr, b: &Expr) -> bool {
    invariant(a)
        && a.ty == b.ty
        && match (&a.kind, &b.kind) {
            (ExprKind::Const(x), ExprKind::Const(y)) => x == y,
            (ExprKind::Field(x), ExprKind::Field(y)) => x == y,
            (ExprKind::Builtin(x), ExprKind::Builtin(y)) => x == y,
            _ => false,
        }
}

/// Whether `expr` is a call on map `map` (`delete(@m, k)` as a value changes it; others are taken as maybe).
fn calls_on(expr: &Expr, map: usize) -> bool {
    matches!(&expr.kind, ExprKind::Call(call) if call.map == Some(map))
}

/// Whether running `stmt` may change plain map `map` (loops always may: a read in their body can come after a
/// write in the previous iteration; so may a call on the map in any of its expressions).
fn may_change(stmt: &Stmt, map: usize) -> bool {
    if stmt.any_expr(&mut |expr| calls_on(expr, map)) {
        return true;
    }
    match &stmt.kind {
        StmtKind::Store { map: written, .. }
        | StmtKind::Delete { map: written, .. }
        | StmtKind::MapAction { map: written, .. } => *written == map,
        StmtKind::If { then, otherwise, .. } => then.iter().chain(otherwise).any(|stmt| may_change(stmt, map)),
        StmtKind::While { .. } | StmtKind::ForMap { .. } | StmtKind::Unroll { .. } => true,
        _ => false,
    }
}

/// Whether `stmt` reads `map[keys]` somewhere (that the block would look up again).
fn reads_stmt(stmt: &Stmt, map: usize, keys: &[Expr]) -> bool {
    stmt.any_expr(&mut |expr| match &expr.kind {
        ExprKind::MapRead { map: read, keys: its } => *read == map && same_keys(its, keys),
        _ => false,
    })
}

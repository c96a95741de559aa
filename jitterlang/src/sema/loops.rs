//! bpftrace 0.27's `for` loops.
//!
//! `for ($i : start..end) { ... }`, the range loop: a `while` loop over a hidden counter that runs from `start`
//! up to `end` (not included), both evaluated once before the loop. Each iteration starts with `$i` set from the
//! counter (so the body may change `$i` without changing the loop), `$i` is seen only in the loop, and the counter
//! steps after each iteration, also after a `continue`. It shares the `while` loop's cap.
//!
//! `for ($kv : @m) { ... }`, the map loop: the body runs once per entry of a map, `$kv` the tuple (key, value), a
//! map with several keys giving a tuple key (`$kv.0.1`). As in bpftrace the body is a callback of
//! `bpf_for_each_map_elem` (Linux 5.13): it reads and writes the probe's variables and any map, but not the
//! probe's context (its fields and `args`, stacks), and cannot `return`. The value of a `count()`, `sum()`,
//! `min()`, `max()` or `avg()` map is its entry's values merged across the CPUs, as a read in a probe gives it
//! (Linux 5.19); other aggregations are refused.

use super::maps::{self, MapReading};
use super::{lets, Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Stmt, StmtKind, TupleType, Type};

impl Checker<'_> {
    /// `for ($name : start..end) body`.
    pub(super) fn for_loop(
        &mut self,
        name: &str,
        name_span: Span,
        start: &ast::Expr,
        end: &ast::Expr,
        body: &[ast::Stmt],
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        // Names no script can write (`$` takes only letters, digits and `_`), one pair per loop.
        let (counter, limit) = (format!("for@{}", name_span.start), format!("end@{}", name_span.start));
        let var = |name: &str, span| ast::Expr { kind: ast::ExprKind::Var(name.to_string()), span };
        let first = self.var_assign(&counter, name_span, None, start, scope);
        let last = self.var_assign(&limit, name_span, None, end, scope);
        let below_end = ast::Expr {
            kind: ast::ExprKind::Binary(
                ast::BinaryOp::Lt,
                Box::new(var(&counter, start.span)),
                Box::new(var(&limit, end.span)),
            ),
            span: name_span.to(end.span),
        };
        let cond = first.as_ref().and(last.as_ref()).and_then(|_| self.condition(&below_end, scope));
        let mark = scope.declared.len();
        let current = self.let_stmt(name, name_span, None, Some(&var(&counter, name_span)), scope);
        let body = self.loop_body(body, scope);
        lets::end_block(scope, mark);
        let one = ast::Expr { kind: ast::ExprKind::Int(1), span: name_span };
        let step = self.var_assign(&counter, name_span, Some(ast::BinaryOp::Add), &one, scope);
        let stmt = |kind| Stmt { kind, span: name_span };
        Some(StmtKind::While {
            init: vec![stmt(first?), stmt(last?)],
            cond: cond?,
            body: std::iter::once(stmt(current?)).chain(body).collect(),
            step: vec![stmt(step?)],
        })
    }
}

impl Checker<'_> {
    /// `for ($name : @map) body`.
    pub(super) fn for_map(
        &mut self,
        name: &str,
        name_span: Span,
        target: &ast::MapRef,
        body: &[ast::Stmt],
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        let map = self.maps.named(target, &mut self.diagnostics)?;
        self.maps.keys_in_programs(map);
        if !self.for_each_available("a `for` loop over a map", target.span) {
            return None;
        }
        let info = self.maps.info(map);
        let key = match &info.key_types[..] {
            [] => None,
            [key] => Some(*key),
            keys => Some(Type::Tuple(TupleType::new(keys))),
        };
        let reading = self.maps.reading(map);
        let (key, value) = match (key, reading) {
            (Some(key), Some(reading)) => (key, reading),
            (None, _) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        target.span,
                        format!("`{}` has no keys to loop over", target.name),
                    )
                    .with_hint("a map written without `[...]` holds one value: read it directly"),
                );
                return None;
            }
            (Some(_), None) => {
                self.diagnostics.push(maps::unreadable(target, &info.layout.value));
                return None;
            }
        };
        let (value, cpus) = match value {
            MapReading::Plain(ty) => (ty, None),
            MapReading::Aggregation(ty) => (ty, Some(self.aggregation_cpus(target)?)),
        };
        let kv = Type::Tuple(TupleType::new(&[key, value]));
        if scope.visible(name).is_some() {
            self.diagnostics.push(
                Diagnostic::new(Code::Syntax, name_span, format!("`${name}` is already declared: no shadowing"))
                    .with_hint("name the loop variable after no other variable of the probe"),
            );
            return None;
        }
        let mark = scope.declared.len();
        let var = scope.declare(name, kv, name_span);
        scope.map_loop_depth += 1;
        let body = self.loop_body(body, scope);
        scope.map_loop_depth -= 1;
        lets::end_block(scope, mark);
        let returned = scope.loop_return.filter(|_| body.iter().any(returns));
        Some(StmtKind::ForMap { map, var, body, cpus, returned })
    }

    /// Whether the kernel has `bpf_for_each_map_elem` (Linux 5.13), which `what` (at `span`) needs; reported when not.
    pub(super) fn for_each_available(&mut self, what: &str, span: Span) -> bool {
        let version = self.kernel.version();
        if version.at_least(5, 13) {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::Unsupported,
                span,
                format!("{what} needs bpf_for_each_map_elem (Linux 5.13); this kernel is {}", version.release),
            )
            .with_hint("print the map (`print(@m)`) and work on it in user space, or run on Linux 5.13 or later"),
        );
        false
    }

    /// Refuses what reads the probe's context (`what`, at `span`) inside a `for` loop over a map; true when allowed.
    pub(super) fn context_allowed(&mut self, what: &str, span: Span, scope: &Scope) -> bool {
        if scope.map_loop_depth == 0 {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(Code::Unsupported, span, format!("{what} cannot be read inside a `for` loop over a map"))
                .with_hint("the loop body is a callback without the probe's context (as in bpftrace): copy it into a variable before the loop, e.g. `$v = args.len;`"),
        );
        false
    }
}

/// Whether a statement of a map loop's body holds a `return` (nested loops' included).
fn returns(stmt: &Stmt) -> bool {
    match &stmt.kind {
        StmtKind::Return => true,
        StmtKind::If { then, otherwise, .. } => then.iter().chain(otherwise).any(returns),
        StmtKind::While { body, .. } | StmtKind::Unroll { body, .. } | StmtKind::ForMap { body, .. } => {
            body.iter().any(returns)
        }
        _ => false,
    }
}

//! `for ($i : start..end) { ... }`, bpftrace 0.27's range loop: a `while` loop over a hidden counter that runs
//! from `start` up to `end` (not included), both evaluated once before the loop. Each iteration starts with
//! `$i` set from the counter (so the body may change `$i` without changing the loop), `$i` is seen only in the
//! loop, and the counter steps after each iteration, also after a `continue`. It shares the `while` loop's cap.

use super::{lets, Checker, Scope};
use crate::ast;
use crate::diag::Span;
use crate::ir::{Stmt, StmtKind};

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
        let mark = scope.lets.len();
        let current = self.let_stmt(name, name_span, Some(&var(&counter, name_span)), scope);
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

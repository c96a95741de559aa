//! `for ($i : start..end) { ... }`, bpftrace 0.27's range loop: a `while` loop with `$i` declared before it
//! (seen only in the loop), the condition `$i < end` checked before each iteration, and `$i++` after each one,
//! also after a `continue`. It shares the `while` loop's iteration cap.

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
        let mark = scope.lets.len();
        let var = || ast::Expr { kind: ast::ExprKind::Var(name.to_string()), span: name_span };
        let init = self.let_stmt(name, name_span, Some(start), scope);
        let below_end = ast::Expr {
            kind: ast::ExprKind::Binary(ast::BinaryOp::Lt, Box::new(var()), Box::new(end.clone())),
            span: name_span.to(end.span),
        };
        let cond = init.as_ref().and_then(|_| self.condition(&below_end, scope));
        let body = self.loop_body(body, scope);
        let one = ast::Expr { kind: ast::ExprKind::Int(1), span: name_span };
        let step = init.as_ref().and_then(|_| self.var_assign(name, name_span, Some(ast::BinaryOp::Add), &one, scope));
        lets::end_block(scope, mark);
        let stmt = |kind| Stmt { kind, span: name_span };
        Some(StmtKind::While { init: vec![stmt(init?)], cond: cond?, body, step: vec![stmt(step?)] })
    }
}

//! `let $x;` / `let $x = value;`: bpftrace 0.27's block-scoped variables. A variable assigned without `let`
//! belongs to the whole probe; one declared with `let` is seen from its declaration to the end of the block that
//! holds it, and may not shadow a variable already seen there. Its stack slot stays reserved after the block (the
//! name is only hidden), so a later `let` of the same name in another block gets a slot of its own.

use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::StmtKind;

/// A `let` of the block being checked.
pub(super) enum Declared {
    /// `let $x;` not yet assigned: the first assignment in the block creates the variable.
    Pending(String),
    /// A variable's slot in [`Scope::vars`].
    Slot(usize),
}

impl Checker<'_> {
    /// `let $name [= value]`.
    pub(super) fn let_stmt(
        &mut self,
        name: &str,
        name_span: Span,
        value: Option<&ast::Expr>,
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        let pending = |declared: &Declared| matches!(declared, Declared::Pending(pending) if pending == name);
        if scope.vars.iter().any(|(existing, _)| existing == name) || scope.lets.iter().any(pending) {
            self.diagnostics.push(
                Diagnostic::new(Code::Syntax, name_span, format!("`${name}` is already declared: no shadowing"))
                    .with_hint("use another name, or assign without `let` (bpftrace refuses shadowing too)"),
            );
            return None;
        }
        let Some(value) = value else {
            scope.lets.push(Declared::Pending(name.to_string()));
            return None;
        };
        let stmt = self.var_assign(name, name_span, None, value, scope)?;
        scope.lets.push(Declared::Slot(scope.vars.len() - 1));
        Some(stmt)
    }

    /// The statements of a block, whose `let` variables are hidden when it ends.
    pub(super) fn block(&mut self, stmts: &[ast::Stmt], scope: &mut Scope) -> Vec<crate::ir::Stmt> {
        let mark = scope.lets.len();
        let checked = self.stmts(stmts, scope);
        end_block(scope, mark);
        checked
    }
}

/// Hides the `let` variables declared since `mark` (the block that declared them ends).
pub(super) fn end_block(scope: &mut Scope, mark: usize) {
    for declared in scope.lets.drain(mark..) {
        if let Declared::Slot(index) = declared {
            scope.vars[index].0.clear();
        }
    }
}

/// Called when `name` becomes a new variable at `index`: a pending `let $name;` now names that slot.
pub(super) fn assigned(scope: &mut Scope, name: &str, index: usize) {
    if let Some(declared) =
        scope.lets.iter_mut().rev().find(|declared| matches!(declared, Declared::Pending(pending) if pending == name))
    {
        *declared = Declared::Slot(index);
    }
}

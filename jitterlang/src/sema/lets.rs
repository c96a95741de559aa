//! `let $x;` / `let $x = value;`: bpftrace 0.27's block-scoped variables. A variable assigned without `let`
//! belongs to the whole probe; one declared with `let` is seen from its declaration to the end of the block that
//! holds it, and may not shadow a variable already seen there. Its stack slot stays reserved after the block (the
//! name is only hidden), so a later `let` of the same name in another block gets a slot of its own.

use super::{Checker, Scope};
use crate::ast;
use crate::ast::CastType;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{StmtKind, Type};

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
        ty: Option<&ast::Expr>,
        value: Option<&ast::Expr>,
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        if let Some(ty) = ty {
            // `let $x: T = v;` is `let $x = (T)v;`, and `let $x: T;` is `let $x = (T)0;`: the variable holds a T
            // from its declaration on, zero until assigned, as bpftrace's.
            let cast = self.declared_type(ty, scope)?;
            if let Some(value) = value {
                self.literal_fits(&cast, ty.span, value)?;
            }
            let zero = ast::Expr { kind: ast::ExprKind::Int(0), span: ty.span };
            let operand = Box::new(value.cloned().unwrap_or(zero));
            let span = value.map_or(ty.span, |value| ty.span.to(value.span));
            let value = ast::Expr { kind: ast::ExprKind::Cast { ty: cast, ty_span: ty.span, operand }, span };
            return self.let_stmt(name, name_span, None, Some(&value), scope);
        }
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

    /// The type of a typed `let` (`let $x: uint8`, `: struct task_struct *`, `: typeof(y)`), as the cast to it:
    /// an integer, `bool` or pointer type, or `typeof()` of an integer or bool value.
    fn declared_type(&mut self, ty: &ast::Expr, scope: &mut Scope) -> Option<CastType> {
        let cast = match &ty.kind {
            ast::ExprKind::Type(name) if name.dims.is_empty() => match (name.record, name.name.as_str(), name.pointers)
            {
                (true, _, 1..) => Some(CastType::Record { name: name.name.clone(), pointers: name.pointers }),
                (false, "void", 1..) => Some(CastType::VoidPointer { pointers: name.pointers }),
                (false, _, 0) => Some(CastType::Int(name.name.clone())),
                (false, _, pointers) => Some(CastType::IntPointer { name: name.name.clone(), pointers }),
                (true, _, 0) => None,
            },
            ast::ExprKind::TypeOf(value) => match self.expr(value, scope)?.ty {
                Type::Int { signed } => Some(CastType::Int(if signed { "int64" } else { "uint64" }.to_string())),
                Type::Bool => Some(CastType::Int("bool".to_string())),
                _ => None,
            },
            _ => None,
        };
        if cast.is_none() {
            self.diagnostics.push(
                Diagnostic::new(Code::Unsupported, ty.span, "a typed `let` takes an integer, `bool` or pointer type")
                    .with_hint(
                        "`let $x: uint8;`, `let $p: struct task_struct *;`, `let $y: typeof($n);` of an integer; for \
                         other values, `let $x = value;` gives the variable the value's type",
                    ),
            );
        }
        cast
    }

    /// Refuses an integer literal that the declared integer type cannot hold (`let $x: uint8 = 300`), as
    /// bpftrace does, rather than keep its low bits as a cast would.
    fn literal_fits(&mut self, cast: &CastType, ty_span: Span, value: &ast::Expr) -> Option<()> {
        let literal = match &value.kind {
            ast::ExprKind::Int(n) => i128::from(*n),
            ast::ExprKind::Unary(ast::UnaryOp::Neg, operand) => match operand.kind {
                ast::ExprKind::Int(n) => -i128::from(n),
                _ => return Some(()),
            },
            _ => return Some(()),
        };
        let (Type::Int { signed }, bits) = self.cast_target(cast, ty_span)? else { return Some(()) };
        let range = match signed {
            true => -(1i128 << (bits - 1))..=(1i128 << (bits - 1)) - 1,
            false => 0..=(1i128 << bits) - 1,
        };
        if range.contains(&literal) {
            return Some(());
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::TypeMismatch,
                value.span,
                format!("{literal} does not fit in the declared type ({}..={})", range.start(), range.end()),
            )
            .with_hint("declare a wider type, or cast the value to keep its low bits: `(uint8)300` is 44"),
        );
        None
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

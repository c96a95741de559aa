//! `let $x;` / `let $x = value;`: bpftrace 0.27's block-scoped variables. A variable belongs to the block that
//! declares it (`let`) or first assigns it: it is seen from there to the end of that block and its inner blocks, and
//! a `let` may not shadow a variable seen there. Its stack slot stays reserved after the block (the name is only
//! hidden), so the same name in a later block gets a slot of its own.
//!
//! `let $x;` holds zeros until assigned, and takes its type from its first assignment. When it is read before that
//! assignment (`let $x; if ($x) { $x = 1; }`), the type is only known at the end of the pass: the next pass has it
//! from the declaration on (see [`super::VarWidths`]).

use super::{Checker, Scope, Var};
use crate::ast;
use crate::ast::CastType;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{StmtKind, Type};

/// A `let $x;` without a type: its variable holds [`Type::Void`] until its first assignment gives it one.
pub(super) struct Untyped {
    /// The variable's slot in [`Scope::vars`].
    var: usize,
    /// The declared name, which keys its type for the next pass.
    name_span: Span,
    /// Whether it was read before that first assignment.
    read: bool,
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
        if let Some(index) = scope.visible(name) {
            let at = scope.vars[index].at;
            self.diagnostics.push(
                Diagnostic::new(Code::Syntax, name_span, format!("`${name}` is already declared: no shadowing"))
                    .with_related(at, "declared here, and seen until the end of its block")
                    .with_hint("use another name, or assign without `let` (bpftrace refuses shadowing too)"),
            );
            return None;
        }
        let Some(value) = value else {
            let known = self.var_widths.known(name_span, name);
            let var = scope.declare(name, known.unwrap_or(Type::Void), name_span);
            if known.is_none() {
                scope.untyped.push(Untyped { var, name_span, read: false });
            }
            return Some(StmtKind::Declare { var });
        };
        self.var_assign(name, name_span, None, value, scope)
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
        let Some(literal) = super::arrays::literal(value) else { return Some(()) };
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

    /// The statements of a block, whose variables are hidden when it ends.
    pub(super) fn block(&mut self, stmts: &[ast::Stmt], scope: &mut Scope) -> Vec<crate::ir::Stmt> {
        let mark = scope.declared.len();
        let checked = self.stmts(stmts, scope);
        end_block(scope, mark);
        checked
    }

    /// The type of a variable read at `span`: a `let $x;` not assigned yet has the type its first assignment
    /// gives it, known in the next pass; until then it reads as an integer (this pass's code is not kept).
    pub(super) fn var_type(&mut self, var: usize, scope: &mut Scope) -> Type {
        match scope.vars[var].ty {
            Type::Void => {
                if let Some(untyped) = scope.untyped.iter_mut().find(|untyped| untyped.var == var) {
                    untyped.read = true;
                }
                Type::I64
            }
            ty => ty,
        }
    }

    /// At the end of a probe: the `let $x;` read before their first assignment have their type for the next pass
    /// (which starts over); those never assigned are errors.
    pub(super) fn end_untyped(&mut self, scope: &Scope) {
        for untyped in scope.untyped.iter().filter(|untyped| untyped.read) {
            let Var { name, ty, .. } = &scope.vars[untyped.var];
            match ty {
                Type::Void => self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        untyped.name_span,
                        format!("`${name}` is read but never assigned, so it has no type"),
                    )
                    .with_hint(format!("give it one: `let ${name}: uint64;` holds 0 until assigned")),
                ),
                ty => self.var_widths.grew(untyped.name_span, name, *ty),
            }
        }
    }
}

/// Hides the variables declared since `mark` (the block that declared them ends).
pub(super) fn end_block(scope: &mut Scope, mark: usize) {
    for index in scope.declared.drain(mark..) {
        scope.vars[index].visible = false;
    }
}

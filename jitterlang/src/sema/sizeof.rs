//! `sizeof(TYPE)` and `sizeof(value)` (bpftrace 0.27): a constant known when compiling. A type is an integer
//! type (`uint32`, `int`, `uint64_t`), a struct or union (the script's own or the kernel's, from BTF), a pointer
//! (`uint8 *`, 8 bytes) or an array of any of these (`uint32 *[10]`). A value's size is the width it is read or
//! converted in (`(int8)x` is 1, a 4-byte struct member 4), else the bytes it takes in a map (a string its
//! buffer, a tuple its elements, any other integer 8: jl computes in 64 bits). Nothing of the value runs.

use super::builtins::{self, Call};
use super::{Checker, Scope};
use crate::ast::{self, TypeName};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, PointerType, Type};
use crate::records::c_integer;

impl Checker<'_> {
    /// `sizeof(TYPE)`, `sizeof(value)`.
    pub(super) fn sizeof(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let arg = &call.args[0];
        let bytes = match &arg.kind {
            // A bare name is a value when it names a builtin (`sizeof(comm)`) or a kernel enum's enumerator
            // (`sizeof(BTF_VAR_STATIC)`: 8, as any integer value), else a type.
            ast::ExprKind::Type(ty) if is_bare(ty) && self.names_value(&ty.name) => {
                let ident = ast::Expr { kind: ast::ExprKind::Ident(ty.name.clone()), span: arg.span };
                value_size(&self.expr(&ident, scope)?)
            }
            ast::ExprKind::Type(ty) => self.type_size(ty, arg.span)?,
            ast::ExprKind::TypeOf(value) => self.checked_size(value, scope)?,
            _ => self.checked_size(arg, scope)?,
        };
        Some(Expr { kind: ExprKind::Const(i64::from(bytes)), ty: Type::U64, span: call.span })
    }

    /// The bytes of a value: a struct's (`sizeof(*p)`) as C lays it out, else [`value_size`].
    fn checked_size(&mut self, value: &ast::Expr, scope: &mut Scope) -> Option<u32> {
        let value = self.expr(value, scope)?;
        match &value.kind {
            ExprKind::StructValue { read, .. } => match read.pointer.ty.pointer().and_then(PointerType::record) {
                Some(name) => self.record_size(name.as_str(), value.span),
                None => Some(value_size(&value)),
            },
            _ => Some(value_size(&value)),
        }
    }

    /// `offsetof(struct NAME, member)` (bpftrace 0.27): the member's byte offset in the struct, the script's own
    /// or the kernel's; `a.b` is member `b` of the struct member `a`.
    pub(super) fn offsetof(&mut self, call: &Call) -> Option<Expr> {
        let (ty, path) = match call.args {
            [ast::Expr { kind: ast::ExprKind::Type(ty), .. }, ast::Expr { kind: ast::ExprKind::Ident(path), .. }]
                if ty.record && ty.pointers == 0 && ty.dims.is_empty() =>
            {
                (ty, path)
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::Arity, call.span, "`offsetof()` takes a struct type and a member")
                        .with_hint("e.g. `offsetof(struct task_struct, pid)`, `offsetof(struct Foo, bar.x)`"),
                );
                return None;
            }
        };
        let span = call.args[1].span;
        let offset = self.member_offset(&ty.name, path, span)?;
        Some(Expr { kind: ExprKind::Const(i64::from(offset)), ty: Type::U64, span: call.span })
    }

    /// Whether the bare name `name` in `sizeof(name)` is a value: a builtin, or an enumerator of a kernel enum
    /// that no integer type is called.
    fn names_value(&self, name: &str) -> bool {
        builtins::variable_named(name).is_some()
            || c_integer(name).is_none() && self.kernel.enum_with(name).is_ok_and(|found| found.is_some())
    }

    /// The bytes of a type written `struct foo`, `uint8 *`, `int[4]`.
    fn type_size(&mut self, ty: &TypeName, span: Span) -> Option<u32> {
        let element = if ty.pointers > 0 {
            8
        } else if ty.record {
            self.record_size(&ty.name, span)?
        } else if let Some((bytes, _)) = c_integer(&ty.name) {
            bytes
        } else {
            self.diagnostics
                .push(Diagnostic::new(Code::UnknownType, span, format!("unknown type `{}`", ty.name)).with_hint(
                "sizeof takes an integer type (`uint32`, `int`, `u64`), `struct NAME`, a pointer or an array of these",
            ));
            return None;
        };
        let total = ty.dims.iter().try_fold(element, |total, dim| total.checked_mul(*dim));
        if total.is_none() {
            self.diagnostics.push(Diagnostic::new(Code::Limit, span, "this type is too large"));
        }
        total
    }

    /// The bytes of `struct name`: the script's own, else the kernel's.
    fn record_size(&mut self, name: &str, span: Span) -> Option<u32> {
        let diagnostic = match self.kernel.struct_size(name) {
            Ok(Some(bytes)) => return Some(bytes),
            Ok(None) => Diagnostic::new(Code::UnknownType, span, format!("unknown struct `{name}`"))
                .with_hint("define it in the script (`struct NAME { ... }`) or name one of this kernel's BTF"),
            Err(error) => {
                Diagnostic::new(Code::MissingTarget, span, format!("cannot read struct `{name}` from BTF: {error}"))
            }
        };
        self.diagnostics.push(diagnostic);
        None
    }
}

/// The bytes a checked value takes: the width it is read or converted in, else its size in a map.
pub(super) fn value_size(value: &Expr) -> u32 {
    match &value.kind {
        ExprKind::Convert { bits, .. } => bits / 8,
        ExprKind::KernelRead(read) if value.ty.is_scalar() => read.size,
        _ => match value.ty {
            Type::Array(array) => array.bytes(),
            ty => ty.size(),
        },
    }
}

/// Whether a type is a name alone (`uint32`, `comm`), which may also name a value.
fn is_bare(ty: &TypeName) -> bool {
    !ty.record && ty.pointers == 0 && ty.dims.is_empty()
}

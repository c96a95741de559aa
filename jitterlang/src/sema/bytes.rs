//! `buf(ptr, len)` and `buf(p->array)`: raw bytes of kernel or user memory, printed as bpftrace prints buffers
//! (printable ASCII as is, other bytes as `\xNN`).

use super::access::{is_access, Place};
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, Type};
use jitterlib::probe::{Field, FieldType};

/// Most bytes `buf()` reads.
pub(crate) const BUF_MAX: u32 = 64;

impl Checker<'_> {
    /// `buf(ptr, len)` reads `len` bytes at an address (kernel or user); `buf(p->member[, len])` reads an array
    /// or embedded struct member of a kernel struct (its first `len` bytes, or all of it); `buf(s, len)` the first
    /// bytes of a string literal (bpftrace's `buf("abc", 3)`), or all of a string read while running (`buf(comm)`); `buf(b)` of a value
    /// that already is bytes (a tracepoint's `__u8 saddr_v6[16]`, or its `__u8 saddr[4]`, otherwise an integer)
    /// is that value.
    pub(super) fn buf_call(
        &mut self,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        let (target, length) = match args {
            [target] => (target, None),
            [target, length] => (target, Some(length)),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Arity,
                        name_span,
                        format!("`buf()` takes 1 or 2 arguments, {} given", args.len()),
                    )
                    .with_hint("`buf(ptr, 16)` reads 16 bytes at an address, `buf(p->array)` a whole array member"),
                );
                return None;
            }
        };
        let source = if is_access(target) {
            let place = self.place(target, scope)?;
            if place.holds_bytes() {
                Source::Member(place)
            } else {
                Source::Address(self.read(place, target.span)?)
            }
        } else {
            let value = self.expr(target, scope)?;
            match (value.ty, &value.kind) {
                (Type::Buf(len), _) => Source::Bytes(value, len),
                (Type::Str(size), _) => Source::Text(value, size),
                (_, ExprKind::Field(Field { ty: FieldType::ShortBytes { size }, .. })) => {
                    let size = *size;
                    Source::Bytes(Expr { ty: Type::Buf(size), ..value }, size)
                }
                _ => Source::Address(value),
            }
        };
        let requested = match length {
            Some(arg) => Some((self.constant(arg, scope)?, arg.span)),
            None => None,
        };
        let whole = match &source {
            Source::Member(place) => Some(place.size()),
            Source::Bytes(_, len) | Source::Text(_, len) => Some(*len),
            Source::Address(_) => None,
        };
        let len = match (requested, whole) {
            (None, Some(size)) if size <= BUF_MAX || matches!(source, Source::Bytes(..) | Source::Text(..)) => size,
            (Some((len, len_span)), _) => self.buf_length(len, len_span, &source)?,
            (None, _) => {
                let (code, message) = match &source {
                    Source::Member(place) => (
                        Code::Limit,
                        format!("`{}` has {} bytes, more than buf() reads ({BUF_MAX})", place.describe(), place.size()),
                    ),
                    _ => (Code::Arity, "`buf()` of an address needs a length".to_string()),
                };
                self.diagnostics.push(
                    Diagnostic::new(code, target.span, message)
                        .with_hint(format!("give the number of bytes to read, at most {BUF_MAX}: `buf(ptr, 16)`")),
                );
                return None;
            }
        };
        let ty = Type::Buf(len);
        Some(match source {
            Source::Member(place) => Expr { kind: ExprKind::KernelRead(self.kernel_read(place, len)), ty, span },
            Source::Bytes(value, _) => Expr { span, ..value },
            Source::Text(value, _) => match value.kind {
                // A literal keeps its first `len` bytes, so that the buffer's padding is zero.
                ExprKind::Str(text) => {
                    let kept = text.as_bytes()[..text.len().min(len as usize)].to_vec();
                    Expr { kind: ExprKind::Str(String::from_utf8_lossy(&kept).into_owned()), ty, span }
                }
                kind => Expr { kind, ty, span },
            },
            Source::Address(pointer) => {
                let pointer = self.require_scalar(pointer)?;
                Expr { kind: ExprKind::Buf(Box::new(pointer)), ty, span }
            }
        })
    }

    /// Checks the length given to `buf()`: 1 to [`BUF_MAX`] bytes, no more than a member has; a value that is
    /// bytes already is taken whole.
    fn buf_length(&mut self, len: i64, span: Span, source: &Source) -> Option<u32> {
        let (most, message, hint) = match source {
            Source::Bytes(value, size) => {
                if len == i64::from(*size) {
                    return Some(*size);
                }
                (0, format!("this is {} already: buf() takes it whole", value.ty.describe()), "leave the length out")
            }
            Source::Text(value, size) if !matches!(value.kind, ExprKind::Str(_)) => {
                if len == i64::from(*size) {
                    return Some(*size);
                }
                (0, format!("buf() of {} takes all of it", value.ty.describe()), "leave the length out")
            }
            Source::Text(_, size) => (
                *size,
                format!("buf() of this string takes 1 to {size} bytes, not {len}"),
                "leave the length out to take the whole string",
            ),
            Source::Member(place) if place.size() < BUF_MAX => (
                place.size(),
                format!("the member has {} bytes: buf() reads 1 to {} of them, not {len}", place.size(), place.size()),
                "leave the length out to read the whole member",
            ),
            _ => (
                BUF_MAX,
                format!("buf() reads 1 to {BUF_MAX} bytes, not {len}"),
                "read longer data in pieces: `buf(ptr, 64)`, `buf(ptr + 64, 64)`",
            ),
        };
        if let Some(len) = u32::try_from(len).ok().filter(|len| (1..=most).contains(len)) {
            return Some(len);
        }
        self.diagnostics.push(Diagnostic::new(Code::Limit, span, message).with_hint(hint));
        None
    }
}

/// Where `buf()` takes its bytes from.
enum Source {
    /// A struct member that is bytes (an array, an embedded struct), read from kernel memory.
    Member(Place),
    /// A value that is bytes already, and how many.
    Bytes(Expr, u32),
    /// A string and its buffer's size: a literal's first bytes, or a whole string read while running (a
    /// shorter read would end in the NUL the helpers write).
    Text(Expr, u32),
    /// An address (not checked to be an integer yet).
    Address(Expr),
}

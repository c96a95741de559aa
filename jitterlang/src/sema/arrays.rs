//! Array values (bpftrace 0.27): `(int8[8])12345`, `(uint8[])x`, `(bool[2])(uint16)1`, `(int8[])"hello"` read
//! the bytes of an integer (as many as its type holds, little-endian; a literal as many as the smallest signed
//! type that holds it) or of a string literal (its NUL included) as elements; `a[i]` reads one. Sizes follow
//! bpftrace's: an integer of N bytes fills an array of N bytes, or of more when the array has at most 8 (the
//! rest are zeros); a string's bytes fill the array exactly; `[]` takes as many elements as the bytes make.

use super::sizeof::value_size;
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{BinaryOp, Expr, ExprKind, Type};
use jitterlib::agg::{ArrayElement, ArrayLayout};

/// Most bytes an integer gives an array.
const INTEGER_BYTES: u32 = 8;

impl Checker<'_> {
    /// `(TYPE[count])operand`, `(TYPE[])operand`.
    pub(super) fn array_cast(
        &mut self,
        name: &str,
        count: Option<u32>,
        ty_span: Span,
        operand: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        let element = match name {
            "bool" => ArrayElement::Bool,
            name => {
                let (ty, bits) = self.int_type(name, ty_span)?;
                ArrayElement::Int { bytes: (bits / 8) as u8, signed: ty.is_signed() }
            }
        };
        let (value, source_bytes) = match &operand.kind {
            ast::ExprKind::Str(text) => {
                let value = Expr { kind: ExprKind::Str(text.clone()), ty: Type::Str(0), span: operand.span };
                (value, text.len() as u32 + 1)
            }
            _ => {
                let value = self.expr(operand, scope)?;
                let bytes = match value.ty {
                    Type::Bool => 1,
                    Type::Int { .. } => integer_bytes(operand, &value),
                    ty => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                operand.span,
                                format!(
                                    "an array is made of an integer's or a string literal's bytes, not {}",
                                    ty.describe()
                                ),
                            )
                            .with_hint("e.g. `(uint8[4])(uint32)x`, `(int8[])\"abc\"`"),
                        );
                        return None;
                    }
                };
                (value, bytes)
            }
        };
        let element_bytes = ArrayLayout { element, count: 1 }.element_bytes();
        let count = match count {
            Some(count) => count,
            None if source_bytes % element_bytes == 0 => source_bytes / element_bytes,
            None => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        ty_span,
                        format!("{source_bytes} bytes do not make whole elements of {element_bytes} bytes"),
                    )
                    .with_hint("write the number of elements, or cast the value to a size they divide"),
                );
                return None;
            }
        };
        let array = ArrayLayout { element, count };
        let bytes = array.bytes();
        let is_string = matches!(value.kind, ExprKind::Str(_));
        let fits = bytes == source_bytes || !is_string && bytes > source_bytes && bytes <= INTEGER_BYTES;
        if !fits {
            let what = if is_string { "a string literal of" } else { "an integer of" };
            let hint = if is_string {
                "a string fills the array exactly, its NUL included: `(int8[])\"abc\"` has 4 elements"
            } else if source_bytes == INTEGER_BYTES {
                "an integer fills an array of its size; jl's variables and maps hold 8-byte integers, so say the \
                 size where the array is made: `(uint8[4])(uint32)$x`"
            } else {
                "an integer fills an array of its size, or of a larger one of at most 8 bytes"
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    span,
                    format!("cannot cast {what} {source_bytes} bytes to {} ({bytes} bytes)", array.describe()),
                )
                .with_hint(hint),
            );
            return None;
        }
        let ty = Type::Array(array);
        if is_string {
            return Some(Expr { ty, ..value });
        }
        // The integer's own bytes only: the padding of the 8-byte slot stays zero (a negative value's sign bits
        // would make equal arrays differ as map keys).
        let value = zero_extended(value, source_bytes);
        Some(Expr { kind: ExprKind::Tuple(vec![value]), ty, span })
    }

    /// `(intN)a`: the array's bytes as one integer, which must have as many.
    pub(super) fn array_to_int(
        &mut self,
        value: Expr,
        array: ArrayLayout,
        bits: u32,
        signed: bool,
        span: Span,
    ) -> Option<Expr> {
        if array.bytes() != bits / 8 {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    span,
                    format!(
                        "cannot cast {} ({} bytes) to an integer of {} bytes",
                        array.describe(),
                        array.bytes(),
                        bits / 8
                    ),
                )
                .with_hint("an array becomes an integer of its own size: `(uint32)` of 4 bytes, `(uint16)` of 2"),
            );
            return None;
        }
        let index = Expr { kind: ExprKind::Const(0), ty: Type::U64, span };
        let bytes = (bits / 8) as u8;
        let kind = ExprKind::Element { value: Box::new(value), index: Box::new(index), bytes, signed, count: 1 };
        Some(Expr { kind, ty: Type::Int { signed }, span })
    }

    /// `a[i]`: element `i` of an array value; a constant index must be inside it.
    pub(super) fn array_element(&mut self, value: Expr, array: ArrayLayout, index: Expr, span: Span) -> Option<Expr> {
        if let ExprKind::Const(at) = index.kind {
            if u32::try_from(at).map_or(true, |at| at >= array.count) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Limit,
                        index.span,
                        format!("index {at} is out of {} ({} elements)", array.describe(), array.count),
                    )
                    .with_hint(format!("elements are numbered from 0 to {}", array.count.saturating_sub(1))),
                );
                return None;
            }
        }
        let (ty, signed) = match array.element {
            ArrayElement::Bool => (Type::Bool, false),
            ArrayElement::Int { signed, .. } => (Type::Int { signed }, signed),
        };
        let bytes = array.element_bytes() as u8;
        let kind =
            ExprKind::Element { value: Box::new(value), index: Box::new(index), bytes, signed, count: array.count };
        Some(Expr { kind, ty, span })
    }
}

/// The bytes an integer value has as bpftrace 0.27 types it: a literal's by its value ([`literal_bytes`]), else
/// the width it is read or converted in, else 8.
pub(super) fn integer_bytes(operand: &ast::Expr, value: &Expr) -> u32 {
    literal(operand).map_or_else(|| value_size(value), literal_bytes)
}

/// `value` (an integer of `bytes` bytes) without the bits above them: a negative `(int16)x` or `-1` keeps only
/// its own bytes, as bpftrace 0.27 zero-extends a narrower integer into an array or a pointer.
pub(super) fn zero_extended(value: Expr, bytes: u32) -> Expr {
    let mask = match bytes {
        INTEGER_BYTES.. => return value,
        bytes => (1i64 << (8 * bytes)) - 1,
    };
    match value.kind {
        ExprKind::Const(constant) => Expr { kind: ExprKind::Const(constant & mask), ..value },
        // Already no wider than its bytes.
        ExprKind::Convert { signed: false, .. } => value,
        _ if value.ty == Type::Bool => value,
        _ => {
            let span = value.span;
            let mask = Expr { kind: ExprKind::Const(mask), ty: Type::U64, span };
            Expr { kind: ExprKind::Binary(BinaryOp::BitAnd, Box::new(value), Box::new(mask)), ty: Type::U64, span }
        }
    }
}

/// The value of an integer literal, `-` included (`12345`, `-1`).
pub(super) fn literal(expr: &ast::Expr) -> Option<i128> {
    match &expr.kind {
        ast::ExprKind::Int(n) => Some(i128::from(*n)),
        ast::ExprKind::Unary(ast::UnaryOp::Neg, operand) => match operand.kind {
            ast::ExprKind::Int(n) => Some(-i128::from(n)),
            _ => None,
        },
        _ => None,
    }
}

/// The bytes of an integer literal as bpftrace 0.27 types it: the smallest signed integer that holds it
/// (`1` and `-1` one byte, `200` two, `70000` four), else 8.
pub(super) fn literal_bytes(value: i128) -> u32 {
    [1u32, 2, 4]
        .into_iter()
        .find(|bytes| (-(1i128 << (8 * bytes - 1))..1i128 << (8 * bytes - 1)).contains(&value))
        .unwrap_or(8)
}

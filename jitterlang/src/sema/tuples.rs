//! Tuples as values (bpftrace 0.27): `(1, "abc", comm)`, an element `$t.0`, tuples in variables, map keys and
//! values, and `print()`. A tuple is its elements one after another, each in its own size; it has no arithmetic
//! or comparison of its own. A record, `(a=1, b="x")`, is a tuple whose elements are named: `$r.a` is one of
//! them, and it prints `{ .a = 1, .b = x }` as bpftrace 0.27 does.

use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, TupleType, Type};

impl Checker<'_> {
    /// `(a, b, ...)`.
    pub(super) fn tuple(&mut self, elements: &[ast::Expr], span: Span, scope: &mut Scope) -> Option<Expr> {
        let checked: Vec<Option<Expr>> = elements.iter().map(|element| self.expr(element, scope)).collect();
        let checked: Vec<Expr> = checked.into_iter().collect::<Option<_>>()?;
        for element in &checked {
            let refused = match element.ty {
                Type::Void => "this has no value to put in a tuple",
                _ => continue,
            };
            self.diagnostics.push(Diagnostic::new(Code::TypeMismatch, element.span, refused));
            return None;
        }
        let ty = Type::Tuple(TupleType::new(&checked.iter().map(|element| element.ty).collect::<Vec<_>>()));
        Some(Expr { kind: ExprKind::Tuple(checked), ty, span })
    }

    /// `(a=1, b="x")`: a tuple with its elements' names.
    pub(super) fn record(
        &mut self,
        names: &[(String, Span)],
        values: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        let tuple = self.tuple(values, span, scope)?;
        let Type::Tuple(tuple_type) = tuple.ty else { return Some(tuple) };
        let names: Vec<&str> = names.iter().map(|(name, _)| name.as_str()).collect();
        Some(Expr { ty: Type::Tuple(TupleType::record(tuple_type.elements(), &names)), ..tuple })
    }

    /// `base.name`: the field `name` of the record `record`.
    pub(super) fn record_field(&mut self, record: Expr, field: &str, field_span: Span, span: Span) -> Option<Expr> {
        let Type::Tuple(tuple_type) = record.ty else { return None };
        let names = tuple_type.names()?;
        match names.iter().position(|name| *name == field) {
            Some(index) => Some(element(record, tuple_type, index, span)),
            None => {
                self.diagnostics.push(
                    Diagnostic::new(Code::UnknownField, field_span, format!("this record has no field `{field}`"))
                        .with_label(format!("a {}", record.ty.describe()))
                        .with_hint(format!("its fields: {}", names.join(", "))),
                );
                None
            }
        }
    }

    /// `base.N`: element `N` of the tuple `base`.
    pub(super) fn tuple_index(
        &mut self,
        base: &ast::Expr,
        index: u32,
        index_span: Span,
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        let tuple = self.expr(base, scope)?;
        self.tuple_element(tuple, index, index_span, span)
    }

    /// `tuple[index]`, bpftrace 0.27's array-style access: element `index` of `tuple`, the index a constant.
    pub(super) fn tuple_element_at(&mut self, tuple: Expr, index: Expr, span: Span) -> Option<Expr> {
        let Some(at) = index.constant().and_then(|value| u32::try_from(value).ok()) else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, index.span, "a tuple's element is chosen by a constant index")
                    .with_label(format!("a {}", tuple.ty.describe()))
                    .with_hint("write the element's number, `$t[1]` or `$t.1`; a loop can index a map, not a tuple"),
            );
            return None;
        };
        self.tuple_element(tuple, at, index.span, span)
    }

    /// Element `index` (written at `index_span`) of `tuple`, reported when it has none.
    fn tuple_element(&mut self, tuple: Expr, index: u32, index_span: Span, span: Span) -> Option<Expr> {
        let Type::Tuple(tuple_type) = tuple.ty else {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    index_span,
                    format!("`.{index}` reads an element of a tuple, not of {}", tuple.ty.describe()),
                )
                .with_hint("a tuple is written `(a, b)`; `.0` is its first element"),
            );
            return None;
        };
        let elements = tuple_type.elements();
        if elements.get(index as usize).is_none() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    index_span,
                    format!("this tuple has {} elements: there is no element {index}", elements.len()),
                )
                .with_label(format!("a {}", tuple.ty.describe()))
                .with_hint(format!("elements are numbered from 0: `.0` to `.{}`", elements.len() - 1)),
            );
            return None;
        }
        Some(element(tuple, tuple_type, index as usize, span))
    }
}

/// Element `index` of `tuple` (of type `tuple_type`), written at `span`.
fn element(tuple: Expr, tuple_type: TupleType, index: usize, span: Span) -> Expr {
    if let ExprKind::Tuple(mut written) = tuple.kind {
        // An element of a tuple written in place is that element.
        return Expr { span, ..written.swap_remove(index) };
    }
    let (offset, ty) = (tuple_type.offset(index), tuple_type.elements()[index]);
    Expr { kind: ExprKind::TupleElement { tuple: Box::new(tuple), offset }, ty, span }
}

/// The values a tuple-typed expression holds, each an expression of its own (a nested tuple stays one value, as
/// bpftrace keys `@a[1, (2, 3)]`): those written in place, or reads of the elements of a tuple held elsewhere (a
/// variable, a map value). Any other expression is its own only value.
pub(super) fn spread(expr: Expr) -> Vec<Expr> {
    let Type::Tuple(tuple_type) = expr.ty else { return vec![expr] };
    match expr.kind {
        ExprKind::Tuple(elements) => elements,
        _ => (0..tuple_type.elements().len())
            .map(|index| Expr {
                kind: ExprKind::TupleElement { tuple: Box::new(expr.clone()), offset: tuple_type.offset(index) },
                ty: tuple_type.elements()[index],
                span: expr.span,
            })
            .collect(),
    }
}

/// A record value written with the fields of `declared` in another order (`(bar=1, foo=2)` assigned where
/// `(foo=.., bar=..)` was): its fields put in `declared`'s order, as bpftrace does; its values were computed in
/// the order written. Any other value comes back as it is.
pub(super) fn in_declared_order(value: Expr, declared: Type) -> Expr {
    let (Type::Tuple(declared), Type::Tuple(written), ExprKind::Tuple(elements)) = (declared, value.ty, &value.kind)
    else {
        return value;
    };
    let (Some(wanted), Some(names)) = (declared.names(), written.names()) else { return value };
    let order: Option<Vec<usize>> =
        wanted.iter().map(|name| names.iter().position(|written| written == name)).collect();
    match order.filter(|order| wanted.len() == names.len() && order.iter().enumerate().any(|(i, at)| i != *at)) {
        Some(order) => {
            let elements: Vec<Expr> = order.iter().map(|at| elements[*at].clone()).collect();
            let types: Vec<Type> = elements.iter().map(|element| element.ty).collect();
            Expr {
                ty: Type::Tuple(TupleType::record(&types, wanted)),
                kind: ExprKind::Tuple(elements),
                span: value.span,
            }
        }
        None => value,
    }
}

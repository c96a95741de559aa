//! Names from a fixed table carried as their index ([`Type::Name`]: a softirq's `name`, an skb hop's `hop` and
//! `prev`). A name field reads as its text ([`ExprKind::NameText`], a string) and keeps its index where an
//! integer does the same job for less: map keys, comparisons (with another name of its table or a string
//! literal, found in the table when compiling) and printf arguments.

use super::Checker;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{BinaryOp, Expr, ExprKind, Type};
use jitterlib::agg::EnumNames;
use jitterlib::probe::nearest;

/// The text of the name `index` (of [`Type::Name`]): a string as long as the table's longest name needs.
pub(super) fn name_text(index: Expr, names: EnumNames) -> Expr {
    let span = index.span;
    Expr { kind: ExprKind::NameText(Box::new(index)), ty: Type::Str(text_size(names)), span }
}

/// Bytes of the text of a name of `names`: the longest name and its NUL, rounded up to 8.
pub(super) fn text_size(names: EnumNames) -> u32 {
    let longest = names.enumerators().iter().map(|(_, name)| name.len()).max().unwrap_or(0);
    super::expr::string_size(longest)
}

/// The name itself (its index) when `expr` is a name's text; any other expression as it is.
pub(super) fn name_index(expr: Expr) -> Expr {
    match expr.kind {
        ExprKind::NameText(index) => *index,
        _ => expr,
    }
}

/// A name's text when `expr` is a bare name (a `for` loop's key); any other expression as it is.
pub(super) fn as_text(expr: Expr) -> Expr {
    match expr.ty {
        Type::Name(names) => name_text(expr, names),
        _ => expr,
    }
}

/// The index and table of a name or of a name's text.
fn name_of(expr: &Expr) -> Option<(&Expr, EnumNames)> {
    let index = match &expr.kind {
        ExprKind::NameText(index) => index,
        _ => expr,
    };
    match index.ty {
        Type::Name(names) => Some((index, names)),
        _ => None,
    }
}

/// The index as a plain integer, for an integer comparison.
fn as_integer(index: &Expr) -> Box<Expr> {
    Box::new(Expr { ty: Type::U64, ..index.clone() })
}

impl Checker<'_> {
    /// `a == b` or `a != b` where one side is a name and the other a name of the same table or a string
    /// literal: an integer comparison of indices (`None` when it is not one of those, to compare as before).
    /// A literal that is not in the table is an error (`Some(None)`).
    pub(super) fn name_comparison(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> Option<Option<Expr>> {
        if !matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
            return None;
        }
        let compared =
            |a: &Expr, b: Box<Expr>| Expr { kind: ExprKind::Binary(op, as_integer(a), b), ty: Type::Bool, span };
        match (name_of(lhs), name_of(rhs)) {
            (Some((a, left)), Some((b, right))) if left == right => Some(Some(compared(a, as_integer(b)))),
            (Some((index, names)), None) => {
                self.literal_index(names, rhs).map(|found| found.map(|c| compared(index, c)))
            }
            (None, Some((index, names))) => {
                self.literal_index(names, lhs).map(|found| found.map(|c| compared(index, c)))
            }
            _ => None,
        }
    }

    /// The index of the string literal `literal` in `names` as a constant: `None` when `literal` is not a string
    /// literal, `Some(None)` (reported) when it names nothing in the table.
    fn literal_index(&mut self, names: EnumNames, literal: &Expr) -> Option<Option<Box<Expr>>> {
        let ExprKind::Str(text) = &literal.kind else { return None };
        let constant = |value: i64| Box::new(Expr { kind: ExprKind::Const(value), ty: Type::U64, span: literal.span });
        if let Some(value) = names.value_of(text) {
            return Some(Some(constant(value)));
        }
        let known: Vec<&str> = names.enumerators().iter().map(|(_, name)| *name).collect();
        let list = known.join(", ");
        let hint = match nearest(&text.to_ascii_lowercase(), &known) {
            Some(near) => format!("did you mean \"{near}\"? {} names: {list}", names.name()),
            None => format!("{} names: {list}", names.name()),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::TypeMismatch,
                literal.span,
                format!("\"{text}\" is not one of the {} names", names.name()),
            )
            .with_label(format!("expected one of the {} names", names.name()))
            .with_hint(hint),
        );
        Some(None)
    }
}

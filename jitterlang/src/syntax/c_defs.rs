//! C definitions written before a script, as bpftrace takes them: `enum` names become constants.

use super::lower::{integer, internal, span_of};
use super::macros::MacroDef;
use super::Rule;
use crate::ast::{Expr, ExprKind, Stmt, StmtKind, UnaryOp};
use crate::diag::{Code, Diagnostic};
use pest::iterators::Pair;

type Result<T> = std::result::Result<T, Diagnostic>;

/// The enumerators of `enum NAME { A, B = 5, C }`, each a macro without parameters whose value is its constant
/// (C's rule: one more than the one before, 0 for the first).
pub(super) fn enum_constants(pair: Pair<Rule>) -> Result<Vec<MacroDef>> {
    let mut next = 0i128;
    let mut constants = Vec::new();
    for enumerator in pair.into_inner().filter(|p| p.as_rule() == Rule::enumerator) {
        let span = span_of(&enumerator);
        let mut parts = enumerator.into_inner();
        let name = parts.next().ok_or_else(|| internal(span))?;
        if let Some(value) = parts.next() {
            next = match value.as_rule() {
                Rule::negative => -i128::from(integer(&value.into_inner().next().ok_or_else(|| internal(span))?)?),
                _ => i128::from(integer(&value)?),
            };
        }
        let magnitude = u64::try_from(next.unsigned_abs())
            .map_err(|_| Diagnostic::new(Code::Limit, span, format!("`{}` does not fit in 64 bits", name.as_str())))?;
        let literal = Expr { kind: ExprKind::Int(magnitude), span };
        let kind = match next < 0 {
            true => ExprKind::Unary(UnaryOp::Neg, Box::new(literal)),
            false => literal.kind,
        };
        let body = vec![Stmt { kind: StmtKind::Expr(Expr { kind, span }), span }];
        constants.push(MacroDef {
            name: name.as_str().to_string(),
            name_span: span_of(&name),
            params: Vec::new(),
            body,
            span,
        });
        next += 1;
    }
    Ok(constants)
}

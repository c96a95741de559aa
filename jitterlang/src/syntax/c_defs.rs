//! C definitions written before a script, as bpftrace takes them: `enum` names become constants of the enum's
//! type, `struct`s
//! are read into [`RecordDef`]s (laid out by [`crate::records`]).

use super::lower::{integer, internal, span_of};
use super::macros::MacroDef;
use super::Rule;
use crate::ast::{CastType, EnumDef, Expr, ExprKind, FieldDecl, RecordDef, Stmt, StmtKind, UnaryOp};
use crate::diag::{Code, Diagnostic};
use pest::iterators::Pair;

type Result<T> = std::result::Result<T, Diagnostic>;

/// `enum NAME { A, B = 5, C }` (the script's `index`-th enum): its definition, and its enumerators, each a macro
/// without parameters whose value is its constant (C's rule: one more than the one before, 0 for the first) cast
/// to the enum's type.
pub(super) fn enum_def(pair: Pair<Rule>, index: usize) -> Result<(EnumDef, Vec<MacroDef>)> {
    let mut next = 0i128;
    let mut constants = Vec::new();
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_enum).peekable();
    let name = match parts.peek() {
        Some(name) if name.as_rule() == Rule::ident => name.as_str().to_string(),
        _ => format!("(anonymous enum {})", index + 1),
    };
    let mut definition = EnumDef { name, enumerators: Vec::new() };
    for enumerator in parts.filter(|p| p.as_rule() == Rule::enumerator) {
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
        let value = match next < 0 {
            true => Expr { kind: ExprKind::Unary(UnaryOp::Neg, Box::new(literal)), span },
            false => literal,
        };
        let ty = CastType::Enum(definition.name.clone());
        let kind = ExprKind::Cast { ty, ty_span: span, operand: Box::new(value) };
        let body = vec![Stmt { kind: StmtKind::Expr(Expr { kind, span }), span }];
        definition.enumerators.push((next as i64, name.as_str().to_string()));
        constants.push(MacroDef {
            name: name.as_str().to_string(),
            name_span: span_of(&name),
            params: Vec::new(),
            body,
            span,
        });
        next += 1;
    }
    Ok((definition, constants))
}

/// `struct NAME { TYPE WORDS *NAME[N]; ... }`, added to `records` after the structs defined in it
/// (`struct Foo { struct Bar { int x; } bar; }` defines `struct Bar` too, as C does).
pub(super) fn record(pair: Pair<Rule>, records: &mut Vec<RecordDef>) -> Result<()> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::record_kw);
    let name = parts.next().ok_or_else(|| internal(span))?.as_str().to_string();
    let (mut packed, mut aligned) = (false, None);
    let mut fields = Vec::new();
    for part in parts {
        if part.as_rule() != Rule::attribute {
            fields.push(field(part, records)?);
            continue;
        }
        for item in part.into_inner() {
            let item_span = span_of(&item);
            let mut words = item.into_inner();
            let attribute = words.next().ok_or_else(|| internal(item_span))?.as_str();
            match (attribute, words.next()) {
                ("packed" | "__packed__", None) => packed = true,
                ("aligned" | "__aligned__", Some(bytes)) => {
                    let bytes = integer(&bytes)?;
                    match u32::try_from(bytes).ok().filter(|bytes| bytes.is_power_of_two() && *bytes <= 4096) {
                        Some(bytes) => aligned = Some(aligned.unwrap_or(1).max(bytes)),
                        None => {
                            return Err(Diagnostic::new(
                                Code::Limit,
                                item_span,
                                format!("`aligned({bytes})` is not a power of two up to 4096"),
                            ))
                        }
                    }
                }
                _ => {
                    return Err(Diagnostic::new(
                        Code::Unsupported,
                        item_span,
                        format!("jl does not know the struct attribute `{}`", attribute),
                    )
                    .with_hint("jl lays out structs with `packed` and `aligned(N)`; remove the others"))
                }
            }
        }
    }
    records.push(RecordDef { name, fields, packed, aligned, span });
    Ok(())
}

/// One member: type words, `*`s, its name, then array dimensions; or a struct defined in place, then its name.
fn field(pair: Pair<Rule>, records: &mut Vec<RecordDef>) -> Result<FieldDecl> {
    let span = span_of(&pair);
    let mut tokens = pair.clone().into_inner().peekable();
    if let Some(inner) = tokens.next_if(|token| token.as_rule() == Rule::record_def) {
        record(inner, records)?;
        let inner = records.last().ok_or_else(|| internal(span))?;
        let type_words = vec!["struct".to_string(), inner.name.clone()];
        let name = tokens.next().ok_or_else(|| internal(span))?.as_str().to_string();
        let dims = tokens.map(array_dim).collect::<Result<_>>()?;
        return Ok(FieldDecl { type_words, pointers: 0, name, dims, bits: None, span });
    }
    let mut words = Vec::new();
    let mut pointers = 0;
    let mut name: Option<String> = None;
    let mut dims = Vec::new();
    let mut bits = None;
    for token in pair.into_inner() {
        match token.as_rule() {
            Rule::bit_width => {
                let width = token.into_inner().next().ok_or_else(|| internal(span))?;
                let width_span = span_of(&width);
                bits = Some(u32::try_from(integer(&width)?).map_err(|_| {
                    Diagnostic::new(Code::Limit, width_span, "bitfield too wide").with_hint("at most 64 bits")
                })?);
            }
            Rule::star if name.is_none() => pointers += 1,
            Rule::array_dim => {
                // Without `*`, the name is the last word so far (`int v[4]`).
                if name.is_none() && pointers == 0 && words.len() >= 2 {
                    name = words.pop();
                }
                dims.push(array_dim(token)?);
            }
            Rule::star => return Err(unsupported_declarator(span)),
            _ if pointers == 0 && name.is_none() => words.push(token.as_str().to_string()),
            _ if name.is_none() => name = Some(token.as_str().to_string()),
            _ => return Err(unsupported_declarator(span)),
        }
    }
    if name.is_none() && pointers == 0 && words.len() >= 2 {
        name = words.pop();
    }
    match name {
        Some(name) if !words.is_empty() && name != "struct" && name != "union" => {
            Ok(FieldDecl { type_words: words, pointers, name, dims, bits, span })
        }
        _ => Err(unsupported_declarator(span)),
    }
}

/// `[N]`: an array's length.
fn array_dim(pair: Pair<Rule>) -> Result<u32> {
    let span = span_of(&pair);
    let dim = integer(&pair.into_inner().next().ok_or_else(|| internal(span))?)?;
    u32::try_from(dim).map_err(|_| Diagnostic::new(Code::Limit, span, "array too large"))
}

fn unsupported_declarator(span: crate::diag::Span) -> Diagnostic {
    Diagnostic::new(
        Code::Unsupported,
        span,
        "jl reads struct members written `TYPE NAME;`, `TYPE *NAME;` or `TYPE NAME[N];`",
    )
    .with_hint("declare one member per `;`, without function pointers (use an integer of the same size)")
}

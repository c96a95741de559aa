//! Lowering of the pest parse tree into the [`crate::ast`] types.

use super::macros::{self, MacroDef};
use super::{limits, Grammar, Rule};
use crate::ast::*;
use crate::diag::{Code, Diagnostic, Span};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;
use std::sync::OnceLock;

type Result<T> = std::result::Result<T, Diagnostic>;

pub(super) fn span_of(pair: &Pair<Rule>) -> Span {
    Span::new(pair.as_span().start(), pair.as_span().end())
}

pub(super) fn script(program: Pair<Rule>) -> Result<Script> {
    let mut params = Vec::new();
    let mut blocks = Vec::new();
    let mut config = Vec::new();
    let mut defs = Vec::new();
    let mut records = Vec::new();
    let mut enums = Vec::new();
    let mut map_decls = Vec::new();
    for pair in program.into_inner() {
        match pair.as_rule() {
            Rule::macro_def => defs.push(macro_def(pair)?),
            Rule::c_definition => {
                for def in pair.into_inner() {
                    match def.as_rule() {
                        Rule::record_def => super::c_defs::record(def, &mut records)?,
                        _ => {
                            let (definition, constants) = super::c_defs::enum_def(def, enums.len())?;
                            enums.push(definition);
                            defs.extend(constants);
                        }
                    }
                }
            }
            Rule::config_block => {
                config = pair.into_inner().filter(|p| p.as_rule() == Rule::config_item).map(config_item).collect()
            }
            Rule::param_decl => params.push(param_decl(pair)?),
            Rule::map_decl => map_decls.push(map_decl(pair)?),
            Rule::probe_block => blocks.push(probe_block(pair)?),
            _ => {}
        }
    }
    let expansions = macros::expand(defs, &mut blocks)?;
    Ok(Script { config, params, blocks, expansions, records, enums, map_decls })
}

/// `let @name = kind(size);`.
fn map_decl(pair: Pair<Rule>) -> Result<MapDecl> {
    let whole = span_of(&pair);
    let closed = pair.as_str().rfind(')').map_or(whole.end, |at| whole.start + at + 1);
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_let);
    let (Some(name), Some(kind), Some(size)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(internal(whole));
    };
    Ok(MapDecl {
        name: name.as_str().to_string(),
        kind: kind.as_str().to_string(),
        kind_span: span_of(&kind),
        size: integer(&size)?,
        size_span: span_of(&size),
        span: Span::new(whole.start, closed),
    })
}

/// `macro name(params) { body }`.
fn macro_def(pair: Pair<Rule>) -> Result<MacroDef> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_macro);
    let name = parts.next().ok_or_else(|| internal(span))?;
    let mut params = Vec::new();
    let mut body = Vec::new();
    for part in parts {
        match part.as_rule() {
            Rule::macro_param => params.push(macros::Param { name: part.as_str().to_string(), span: span_of(&part) }),
            _ => body = block(part)?,
        }
    }
    Ok(MacroDef { name: name.as_str().to_string(), name_span: span_of(&name), params, body, span })
}

/// `name = value` in a config block.
fn config_item(pair: Pair<Rule>) -> ConfigSetting {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let name = parts.next().map(|p| p.as_str().to_string()).unwrap_or_default();
    let value = parts.next().map(|p| (p.as_str().trim_matches('"').to_string(), span_of(&p)));
    let (value, value_span) = value.unwrap_or((String::new(), span));
    ConfigSetting { name, value, span, value_span }
}

fn param_decl(pair: Pair<Rule>) -> Result<ParamDecl> {
    let whole = span_of(&pair);
    let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_param);
    let name = parts.next().map(|p| p.as_str().trim_start_matches('$').to_string()).unwrap_or_default();
    let value_pair = parts.next().ok_or_else(|| internal(whole))?;
    // From `param` to the end of the default (the rule's own span also covers a trailing `;` and blanks).
    let span = Span::new(whole.start, value_pair.as_span().end());
    let value = only_child(value_pair);
    let default = match value.as_rule() {
        Rule::string => ParamValue::Str(string(value)?),
        Rule::duration => ParamValue::Duration(duration(value)?),
        Rule::negative => {
            let magnitude = integer(&only_child(value.clone()))?;
            ParamValue::Int(0i64.checked_sub_unsigned(magnitude).ok_or_else(|| {
                Diagnostic::new(Code::Limit, span_of(&value), "integer literal does not fit in 64 bits")
            })?)
        }
        _ => ParamValue::Int(i64::try_from(integer(&value)?).map_err(|_| {
            Diagnostic::new(Code::Limit, span_of(&value), "a parameter's integer default must fit in 63 bits")
        })?),
    };
    Ok(ParamDecl { name, default, span })
}

fn probe_block(pair: Pair<Rule>) -> Result<ProbeBlock> {
    let span = span_of(&pair);
    let mut probes = Vec::new();
    let mut predicate = None;
    let mut body = Vec::new();
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::probe => probes.push(probe(inner)?),
            Rule::predicate => predicate = Some(expr(only_child(inner))?),
            Rule::block => body = block(inner)?,
            _ => {}
        }
    }
    Ok(ProbeBlock { probes, predicate, body, span })
}

fn only_child(pair: Pair<Rule>) -> Pair<Rule> {
    // Grammar rules lowered through this have exactly one inner pair; the fallback keeps it total.
    let fallback = pair.clone();
    pair.into_inner().next().unwrap_or(fallback)
}

fn probe(pair: Pair<Rule>) -> Result<Probe> {
    let span = span_of(&pair);
    let inner = only_child(pair);
    let kind = match inner.as_rule() {
        Rule::typed_probe => {
            let mut parts = inner.into_inner();
            let name = parts.next().map(|p| p.as_str().to_string()).unwrap_or_default();
            let args = parts.map(probe_arg).collect::<Result<_>>()?;
            ProbeKind::Typed { name, args }
        }
        _ => ProbeKind::Path(inner.as_str().split(':').map(str::to_string).collect()),
    };
    Ok(Probe { kind, span })
}

fn probe_arg(pair: Pair<Rule>) -> Result<ProbeArg> {
    let inner = only_child(pair);
    let span = span_of(&inner);
    Ok(match inner.as_rule() {
        Rule::string => ProbeArg::Str(string(inner)?, span),
        Rule::integer => ProbeArg::Int(integer(&inner)?, span),
        Rule::duration => ProbeArg::Int(duration(inner)?, span),
        Rule::variable => ProbeArg::Param(inner.as_str().trim_start_matches('$').to_string(), span),
        Rule::positional => ProbeArg::Positional(positional_index(&inner)?, span),
        _ => ProbeArg::Ident(inner.as_str().to_string(), span),
    })
}

/// The N of `$N`.
fn positional_index(pair: &Pair<Rule>) -> Result<u32> {
    pair.as_str()[1..]
        .parse()
        .map_err(|_| Diagnostic::new(Code::Limit, span_of(pair), "positional argument number too large"))
}

/// A script argument standing for a probe argument (`irqoff($1)` run with `5ms`), read as if written there;
/// text that is no literal is a string. `None` for an empty argument: the probe argument is left out.
pub(super) fn probe_arg_text(text: &str, span: Span) -> Option<ProbeArg> {
    if text.is_empty() {
        return None;
    }
    let parsed = Grammar::parse(Rule::probe_arg_text, text).ok().and_then(|mut pairs| pairs.next());
    let literal = parsed.and_then(|pair| pair.into_inner().next());
    let lowered = literal.and_then(|pair| match pair.as_rule() {
        Rule::string => string(pair).ok().map(|text| ProbeArg::Str(text, span)),
        Rule::integer => integer(&pair).ok().map(|value| ProbeArg::Int(value, span)),
        Rule::duration => duration(pair).ok().map(|value| ProbeArg::Int(value, span)),
        _ => Some(ProbeArg::Ident(pair.as_str().to_string(), span)),
    });
    Some(lowered.unwrap_or_else(|| ProbeArg::Str(text.to_string(), span)))
}

fn block(pair: Pair<Rule>) -> Result<Vec<Stmt>> {
    pair.into_inner().filter(|p| p.as_rule() == Rule::stmt_list).flat_map(|list| list.into_inner()).map(stmt).collect()
}

fn stmt(pair: Pair<Rule>) -> Result<Stmt> {
    let inner = only_child(pair);
    let span = span_of(&inner);
    let kind = match inner.as_rule() {
        Rule::if_stmt => if_stmt(inner)?,
        Rule::while_stmt => {
            let mut parts = inner.into_inner().filter(|p| p.as_rule() != Rule::kw_while);
            let cond = expr(parts.next().ok_or_else(|| internal(span))?)?;
            let body = block(parts.next().ok_or_else(|| internal(span))?)?;
            StmtKind::While { cond, body }
        }
        Rule::for_stmt => {
            let mut parts = inner.into_inner().filter(|p| p.as_rule() != Rule::kw_for);
            let var = parts.next().ok_or_else(|| internal(span))?;
            let start = expr(parts.next().ok_or_else(|| internal(span))?)?;
            let end = expr(parts.next().ok_or_else(|| internal(span))?)?;
            let body = block(parts.next().ok_or_else(|| internal(span))?)?;
            StmtKind::For { name: var.as_str()[1..].to_string(), name_span: span_of(&var), start, end, body }
        }
        Rule::for_map_stmt => {
            let mut parts = inner.into_inner().filter(|p| p.as_rule() != Rule::kw_for);
            let var = parts.next().ok_or_else(|| internal(span))?;
            let map = parts.next().ok_or_else(|| internal(span))?;
            let map = MapRef { name: map.as_str().to_string(), keys: Vec::new(), span: span_of(&map) };
            let body = block(parts.next().ok_or_else(|| internal(span))?)?;
            StmtKind::ForMap { name: var.as_str()[1..].to_string(), name_span: span_of(&var), map, body }
        }
        Rule::unroll_stmt => {
            let mut parts = inner.into_inner().filter(|p| p.as_rule() != Rule::kw_unroll);
            let count = primary(parts.next().ok_or_else(|| internal(span))?)?;
            let body = block(parts.next().ok_or_else(|| internal(span))?)?;
            StmtKind::Unroll { count, body }
        }
        Rule::return_stmt => StmtKind::Return,
        Rule::break_stmt => StmtKind::Break,
        Rule::continue_stmt => StmtKind::Continue,
        Rule::map_update => {
            let mut parts = inner.into_inner();
            let target = parts.next().map(map_ref).transpose()?.ok_or_else(|| internal(span))?;
            let (op, value) = update(parts, span)?;
            StmtKind::MapAssign { target, op, value }
        }
        Rule::let_stmt => {
            let mut parts = inner.into_inner().filter(|p| p.as_rule() != Rule::kw_let);
            let var = parts.next().ok_or_else(|| internal(span))?;
            let (mut ty, mut value) = (None, None);
            for part in parts {
                match part.as_rule() {
                    Rule::type_name => ty = Some(Expr { span: span_of(&part), kind: ExprKind::Type(type_name(part)?) }),
                    Rule::sizeof_call => ty = Some(primary(part)?),
                    _ => value = Some(expr(part)?),
                }
            }
            StmtKind::Let { name: var.as_str()[1..].to_string(), name_span: span_of(&var), ty, value }
        }
        Rule::var_assign => {
            let mut parts = inner.into_inner();
            let var = parts.next().ok_or_else(|| internal(span))?;
            let (op, value) = update(parts, span)?;
            StmtKind::VarAssign { name: var.as_str()[1..].to_string(), name_span: span_of(&var), op, value }
        }
        Rule::discard_stmt => {
            let value = expr(inner.into_inner().nth(1).ok_or_else(|| internal(span))?)?;
            // The value of a block is dropped; its statements still run.
            match value.kind {
                ExprKind::Block { stmts, .. } => {
                    StmtKind::Expr(Expr { kind: ExprKind::Block { stmts, value: None }, span })
                }
                _ => StmtKind::Expr(value),
            }
        }
        _ => StmtKind::Expr(expr(only_child(inner))?),
    };
    Ok(Stmt { kind, span })
}

/// The rest of `target = value`, `target op= value`, `target++` or `target--`: the operator and the value.
fn update(mut parts: Pairs<Rule>, span: Span) -> Result<(Option<BinaryOp>, Expr)> {
    let op_pair = parts.next().ok_or_else(|| internal(span))?;
    let one = Expr { kind: ExprKind::Int(1), span: span_of(&op_pair) };
    Ok(match op_pair.as_rule() {
        Rule::incr => (Some(BinaryOp::Add), one),
        Rule::decr => (Some(BinaryOp::Sub), one),
        _ => (assign_op(&op_pair), expr(parts.next().ok_or_else(|| internal(span))?)?),
    })
}

fn if_stmt(pair: Pair<Rule>) -> Result<StmtKind> {
    let span = span_of(&pair);
    let mut cond = None;
    let mut then = Vec::new();
    let mut otherwise = Vec::new();
    let mut seen_then = false;
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::expr => cond = Some(expr(part)?),
            Rule::block if !seen_then => {
                then = block(part)?;
                seen_then = true;
            }
            Rule::block => otherwise = block(part)?,
            Rule::if_stmt => {
                let nested_span = span_of(&part);
                otherwise = vec![Stmt { kind: if_stmt(part)?, span: nested_span }];
            }
            _ => {}
        }
    }
    Ok(StmtKind::If { cond: cond.ok_or_else(|| internal(span))?, then, otherwise })
}

fn assign_op(pair: &Pair<Rule>) -> Option<BinaryOp> {
    let text = pair.as_str();
    let op = &text[..text.len() - 1];
    binary_op_from_symbol(op)
}

fn binary_op_from_symbol(symbol: &str) -> Option<BinaryOp> {
    Some(match symbol {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        "%" => BinaryOp::Rem,
        "&" => BinaryOp::BitAnd,
        "|" => BinaryOp::BitOr,
        "^" => BinaryOp::BitXor,
        "<<" => BinaryOp::Shl,
        ">>" => BinaryOp::Shr,
        _ => return None,
    })
}

fn map_ref(pair: Pair<Rule>) -> Result<MapRef> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let name = parts.next().map(|p| p.as_str().to_string()).ok_or_else(|| internal(span))?;
    let keys = parts.map(expr).collect::<Result<_>>()?;
    Ok(MapRef { name, keys, span })
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or, Assoc::Left))
            .op(Op::infix(Rule::and, Assoc::Left))
            .op(Op::infix(Rule::bit_or, Assoc::Left))
            .op(Op::infix(Rule::bit_xor, Assoc::Left))
            .op(Op::infix(Rule::bit_and, Assoc::Left))
            .op(Op::infix(Rule::eq, Assoc::Left) | Op::infix(Rule::ne, Assoc::Left))
            .op(Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left))
            .op(Op::infix(Rule::shl, Assoc::Left) | Op::infix(Rule::shr, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::rem, Assoc::Left))
            .op(Op::prefix(Rule::neg)
                | Op::prefix(Rule::not)
                | Op::prefix(Rule::bit_not)
                | Op::prefix(Rule::deref)
                | Op::prefix(Rule::address_of)
                | Op::prefix(Rule::cast))
            .op(Op::postfix(Rule::field) | Op::postfix(Rule::index))
    })
}

fn expr(pair: Pair<Rule>) -> Result<Expr> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let cond = parts.next().ok_or_else(|| internal(span))?;
    let cond = pratt_expr(cond.into_inner())?;
    match (parts.next(), parts.next()) {
        (Some(then), Some(otherwise)) => {
            // `a ?: b`: the condition is its own value (expressions have no side effects: computing it twice is
            // the same value).
            let then = if then.as_rule() == Rule::elvis { cond.clone() } else { expr(then)? };
            let kind =
                ExprKind::Ternary { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(expr(otherwise)?) };
            Ok(Expr { kind, span })
        }
        _ => Ok(cond),
    }
}

fn pratt_expr(pairs: Pairs<Rule>) -> Result<Expr> {
    let operators = pairs.clone().filter(|pair| is_operator(pair.as_rule())).count();
    if operators > limits::MAX_OPERATORS {
        let span = pairs.clone().map(|pair| span_of(&pair)).reduce(Span::to).unwrap_or_default();
        return Err(limits::too_many_operators(span, operators));
    }
    pratt()
        .map_primary(primary)
        .map_prefix(|op, operand| {
            let operand = Box::new(operand?);
            let span = span_of(&op).to(operand.span);
            let kind = match op.as_rule() {
                Rule::neg => ExprKind::Unary(UnaryOp::Neg, operand),
                Rule::not => ExprKind::Unary(UnaryOp::Not, operand),
                Rule::cast => ExprKind::Cast { ty_span: span_of(&op), ty: cast_type(op)?, operand },
                Rule::deref => ExprKind::Deref(operand),
                Rule::address_of => ExprKind::AddressOf(operand),
                _ => ExprKind::Unary(UnaryOp::BitNot, operand),
            };
            Ok(Expr { kind, span })
        })
        .map_postfix(|base, op| {
            let base = Box::new(base?);
            let span = base.span.to(span_of(&op));
            let op_span = span_of(&op);
            let kind = match op.as_rule() {
                Rule::index => {
                    let index = op.into_inner().next().ok_or_else(|| internal(op_span))?;
                    ExprKind::Index { base, index: Box::new(expr(index)?) }
                }
                _ => {
                    let mut parts = op.into_inner();
                    let arrow = parts.next().is_some_and(|access| access.as_rule() == Rule::arrow);
                    let name = parts.next().ok_or_else(|| internal(op_span))?;
                    if name.as_rule() == Rule::tuple_index {
                        tuple_index(base, &name, arrow)?
                    } else {
                        ExprKind::Field { base, field: name.as_str().to_string(), field_span: span_of(&name), arrow }
                    }
                }
            };
            Ok(Expr { kind, span })
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let binary = infix_op(op.as_rule());
            let span = lhs.span.to(rhs.span);
            Ok(Expr { kind: ExprKind::Binary(binary, Box::new(lhs), Box::new(rhs)), span })
        })
        .parse(pairs)
}

/// `base.N`, an element of a tuple (`base->N` is refused: a tuple is no pointer).
fn tuple_index(base: Box<Expr>, index: &Pair<Rule>, arrow: bool) -> Result<ExprKind> {
    let index_span = span_of(index);
    if arrow {
        return Err(Diagnostic::new(Code::Syntax, index_span, "`->` needs a field name, not a number")
            .with_hint(format!("an element of a tuple is read with a dot: `.{}`", index.as_str())));
    }
    let index = index.as_str().parse().map_err(|_| {
        Diagnostic::new(Code::Limit, index_span, "tuple element number too large")
            .with_hint("elements are numbered from 0")
    })?;
    Ok(ExprKind::TupleIndex { base, index, index_span })
}

/// The type of a `cast` pair.
fn cast_type(pair: Pair<Rule>) -> Result<CastType> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let ty = parts.next().ok_or_else(|| internal(span))?;
    Ok(match ty.as_rule() {
        Rule::record_type => {
            let mut parts = ty.into_inner().filter(|part| part.as_rule() != Rule::record_kw);
            let name = parts.next().ok_or_else(|| internal(span))?.as_str().to_string();
            CastType::Record { name, pointers: parts.count() }
        }
        Rule::enum_type => {
            let name = ty.into_inner().find(|part| part.as_rule() == Rule::ident).ok_or_else(|| internal(span))?;
            CastType::Enum(name.as_str().to_string())
        }
        Rule::void_type => CastType::VoidPointer { pointers: parts.count() },
        _ if parts.peek().is_some_and(|part| part.as_rule() == Rule::cast_dim) => {
            let dim = parts.next().ok_or_else(|| internal(span))?;
            let count = match dim.into_inner().next() {
                Some(len) => Some(len.as_str().parse().map_err(|_| {
                    Diagnostic::new(Code::Limit, span_of(&len), "array too large")
                        .with_hint("an array cast holds at most 8 bytes of an integer, or a string's bytes")
                })?),
                None => None,
            };
            CastType::IntArray { name: ty.as_str().to_string(), count }
        }
        _ => match parts.count() {
            0 => CastType::Int(ty.as_str().to_string()),
            pointers => CastType::IntPointer { name: ty.as_str().to_string(), pointers },
        },
    })
}

/// The `named_value` pairs of a record: `(a=1, b="x")`.
fn record(items: Vec<Pair<Rule>>) -> Result<ExprKind> {
    let (mut names, mut values) = (Vec::new(), Vec::new());
    for item in items {
        let span = span_of(&item);
        let mut parts = item.into_inner();
        let name = parts.next().ok_or_else(|| internal(span))?;
        if names.iter().any(|(known, _)| known == name.as_str()) {
            return Err(Diagnostic::new(
                Code::Syntax,
                span_of(&name),
                format!("the record names `{}` twice", name.as_str()),
            ));
        }
        names.push((name.as_str().to_string(), span_of(&name)));
        values.push(expr(parts.next().ok_or_else(|| internal(span))?)?);
    }
    Ok(ExprKind::Record { names, values })
}

/// A `type_name` pair: `struct foo *`, `uint32[4]`.
fn type_name(pair: Pair<Rule>) -> Result<TypeName> {
    let span = span_of(&pair);
    let mut ty = TypeName { name: String::new(), record: false, pointers: 0, dims: Vec::new() };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::record_kw => ty.record = true,
            Rule::ident => ty.name = part.as_str().to_string(),
            Rule::star => ty.pointers += 1,
            Rule::array_dim => {
                let dim = part.into_inner().next().ok_or_else(|| internal(span))?;
                let count = integer(&dim)?;
                ty.dims.push(
                    u32::try_from(count)
                        .map_err(|_| Diagnostic::new(Code::Limit, span_of(&dim), "array dimension too large"))?,
                );
            }
            _ => return Err(internal(span)),
        }
    }
    Ok(ty)
}

/// True for the pairs of an expression that are operators (prefix, infix, field access), not operands.
fn is_operator(rule: Rule) -> bool {
    !matches!(
        rule,
        Rule::integer
            | Rule::duration
            | Rule::string
            | Rule::variable
            | Rule::positional
            | Rule::ident
            | Rule::map_ref
            | Rule::call
            | Rule::sizeof_call
            | Rule::tuple
            | Rule::block_expr
            | Rule::if_expr
            | Rule::expr
    )
}

fn infix_op(rule: Rule) -> BinaryOp {
    match rule {
        Rule::or => BinaryOp::Or,
        Rule::and => BinaryOp::And,
        Rule::bit_or => BinaryOp::BitOr,
        Rule::bit_xor => BinaryOp::BitXor,
        Rule::bit_and => BinaryOp::BitAnd,
        Rule::eq => BinaryOp::Eq,
        Rule::ne => BinaryOp::Ne,
        Rule::lt => BinaryOp::Lt,
        Rule::le => BinaryOp::Le,
        Rule::gt => BinaryOp::Gt,
        Rule::ge => BinaryOp::Ge,
        Rule::shl => BinaryOp::Shl,
        Rule::shr => BinaryOp::Shr,
        Rule::add => BinaryOp::Add,
        Rule::sub => BinaryOp::Sub,
        Rule::mul => BinaryOp::Mul,
        Rule::div => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}

fn primary(pair: Pair<Rule>) -> Result<Expr> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::integer => ExprKind::Int(integer(&pair)?),
        Rule::duration => ExprKind::Duration(duration(pair)?),
        Rule::string => ExprKind::Str(string(pair)?),
        Rule::variable => ExprKind::Var(pair.as_str()[1..].to_string()),
        Rule::positional => ExprKind::Positional(positional_index(&pair)?),
        Rule::arg_count => ExprKind::ArgCount,
        Rule::ident => match pair.as_str() {
            "true" => ExprKind::Bool(true),
            "false" => ExprKind::Bool(false),
            name => ExprKind::Ident(name.to_string()),
        },
        Rule::map_ref => ExprKind::Map(map_ref(pair)?),
        Rule::call => {
            let mut parts = pair.into_inner();
            let name = parts.next().ok_or_else(|| internal(span))?;
            ExprKind::Call {
                name: name.as_str().to_string(),
                name_span: span_of(&name),
                args: parts.map(expr).collect::<Result<_>>()?,
            }
        }
        Rule::sizeof_call => {
            let mut parts = pair.into_inner();
            let name = parts.next().ok_or_else(|| internal(span))?;
            let arg = parts.next().ok_or_else(|| internal(span))?;
            let arg = match arg.as_rule() {
                Rule::type_name => Expr { span: span_of(&arg), kind: ExprKind::Type(type_name(arg)?) },
                _ => expr(arg)?,
            };
            // `offsetof`'s member path, `bar.x`, is a name with its dots.
            let member =
                parts.next().map(|path| Expr { span: span_of(&path), kind: ExprKind::Ident(path.as_str().into()) });
            match (name.as_rule(), arg.kind) {
                (Rule::kw_typeof, ExprKind::Type(ty)) if member.is_none() => ExprKind::Type(ty),
                (Rule::kw_typeof, kind) if member.is_none() => {
                    ExprKind::TypeOf(Box::new(Expr { kind, span: arg.span }))
                }
                (_, kind) => ExprKind::Call {
                    name: name.as_str().to_string(),
                    name_span: span_of(&name),
                    args: std::iter::once(Expr { kind, span: arg.span }).chain(member).collect(),
                },
            }
        }
        Rule::tuple => {
            let mut items: Vec<Pair<Rule>> = pair.into_inner().collect();
            // One value in parentheses is that value, not a tuple (the grammar parses both with one rule); one named
            // value, `(a=1)`, is a record of one field.
            if items.len() == 1 && items[0].as_rule() != Rule::named_value {
                return expr(items.remove(0));
            }
            let named = items.iter().filter(|item| item.as_rule() == Rule::named_value).count();
            if named == 0 {
                ExprKind::Tuple(items.into_iter().map(expr).collect::<Result<_>>()?)
            } else if named == items.len() {
                record(items)?
            } else {
                return Err(Diagnostic::new(Code::Syntax, span, "a record names every element, a tuple none")
                    .with_hint("write `(a=1, b=2)` or `(1, 2)`"));
            }
        }
        Rule::if_expr => {
            let mut parts = pair.into_inner().filter(|p| !matches!(p.as_rule(), Rule::kw_if | Rule::kw_else));
            let mut next = || parts.next().ok_or_else(|| internal(span));
            let (cond, then, otherwise) = (expr(next()?)?, branch_value(next()?)?, branch_value(next()?)?);
            ExprKind::Ternary { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) }
        }
        Rule::block_expr => {
            let text = pair.as_str();
            let open = text[..text.len() - 1].trim_end().ends_with(';');
            let mut stmts = block(pair)?;
            let value = match stmts.pop() {
                Some(Stmt { kind: StmtKind::Expr(value), .. }) if !open => Some(Box::new(value)),
                last => {
                    stmts.extend(last);
                    None
                }
            };
            ExprKind::Block { stmts, value }
        }
        Rule::expr => return expr(pair),
        _ => return Err(internal(span)),
    };
    Ok(Expr { kind, span })
}

/// A branch of `if (c) { a } else { b }` used as a value: a block whose last statement is itself an `if` with an
/// `else` takes that `if`'s value (`if (x) { if (y) { 1 } else { 2 } } else { 3 }`).
fn branch_value(pair: Pair<Rule>) -> Result<Expr> {
    let mut value = primary(pair)?;
    if let ExprKind::Block { stmts, value: value @ None } = &mut value.kind {
        if let Some(last) = stmts.last().cloned().and_then(if_value) {
            stmts.pop();
            *value = Some(Box::new(last));
        }
    }
    Ok(value)
}

/// An `if`/`else` statement both of whose branches end with a value, as the `? :` of those values.
fn if_value(stmt: Stmt) -> Option<Expr> {
    let StmtKind::If { cond, then, otherwise } = stmt.kind else { return None };
    let branch = |mut stmts: Vec<Stmt>| -> Option<Expr> {
        let value = match stmts.pop()? {
            Stmt { kind: StmtKind::Expr(value), .. } => value,
            nested @ Stmt { kind: StmtKind::If { .. }, .. } => if_value(nested)?,
            _ => return None,
        };
        let span = stmts.first().map_or(value.span, |first| first.span.to(value.span));
        Some(Expr { kind: ExprKind::Block { stmts, value: Some(Box::new(value)) }, span })
    };
    let kind = ExprKind::Ternary {
        cond: Box::new(cond),
        then: Box::new(branch(then)?),
        otherwise: Box::new(branch(otherwise)?),
    };
    Some(Expr { kind, span: stmt.span })
}

pub(super) fn integer(pair: &Pair<Rule>) -> Result<u64> {
    integer_text(pair.as_str()).map_err(|error| match error {
        IntegerTextError::Octal(digit) => Diagnostic::new(
            Code::Limit,
            span_of(pair),
            format!(
                "`{}` starts with 0, so it is octal (as in C and bpftrace), and {digit} is not an octal digit",
                pair.as_str()
            ),
        )
        .with_hint("write a decimal number without the leading 0"),
        _ => Diagnostic::new(Code::Limit, span_of(pair), "integer literal does not fit in 64 bits")
            .with_hint("the largest literal is 18446744073709551615 (0xffffffffffffffff)"),
    })
}

/// Why [`integer_text`] read no integer.
#[derive(Debug, PartialEq)]
pub(crate) enum IntegerTextError {
    /// Not an integer, or one that does not fit in 64 bits.
    Invalid,
    /// A leading 0 makes the number octal, and this digit is not octal.
    Octal(char),
}

/// An integer written as bpftrace (and C) writes one: decimal, `0x` hexadecimal, `0b` binary, or octal when it
/// starts with 0 (`0775` is 509), with `_` separators.
pub(crate) fn integer_text(text: &str) -> std::result::Result<u64, IntegerTextError> {
    let text = text.replace('_', "");
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (hex, 16)
    } else if let Some(binary) = text.strip_prefix("0b").or_else(|| text.strip_prefix("0B")) {
        (binary, 2)
    } else if let Some(octal) = text.strip_prefix('0').filter(|rest| !rest.is_empty()) {
        if let Some(digit) = octal.chars().find(|digit| matches!(digit, '8' | '9')) {
            return Err(IntegerTextError::Octal(digit));
        }
        (octal, 8)
    } else {
        (text.as_str(), 10)
    };
    // from_str_radix takes a sign: only digits are an integer here.
    match digits.starts_with(['+', '-']) {
        true => Err(IntegerTextError::Invalid),
        false => u64::from_str_radix(digits, radix).map_err(|_| IntegerTextError::Invalid),
    }
}

fn duration(pair: Pair<Rule>) -> Result<u64> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let value = integer(&parts.next().ok_or_else(|| internal(span))?)?;
    let unit = parts.next().map(|p| p.as_str()).unwrap_or("ns");
    let scale = duration_unit_ns(unit).ok_or_else(|| internal(span))?;
    value
        .checked_mul(scale)
        .ok_or_else(|| Diagnostic::new(Code::Limit, span, "duration does not fit in 64 bits of nanoseconds"))
}

fn string(pair: Pair<Rule>) -> Result<String> {
    let span = span_of(&pair);
    let raw = pair.into_inner().next().map(|p| p.as_str()).unwrap_or("");
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                return Err(Diagnostic::new(Code::Syntax, span, format!("unknown escape `\\{other}` in string"))
                    .with_hint("known escapes: \\n \\t \\r \\0 \\\\ \\\""))
            }
            None => return Err(Diagnostic::new(Code::Syntax, span, "string ends with a lone `\\`")),
        }
    }
    Ok(out)
}

/// Parses a duration as written on the command line: `50ms`, `2s`, or plain nanoseconds (`1500`).
pub(crate) fn duration_text(text: &str) -> Option<u64> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number = integer_text(number).ok()?;
    number.checked_mul(duration_unit_ns(unit)?)
}

/// Nanoseconds in one `unit` of a duration literal (`ns` when there is none).
fn duration_unit_ns(unit: &str) -> Option<u64> {
    Some(match unit {
        "" | "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

pub(super) fn internal(span: Span) -> Diagnostic {
    Diagnostic::new(Code::Syntax, span, "internal error: unexpected parse tree shape")
        .with_hint("please report this script as a bug")
}

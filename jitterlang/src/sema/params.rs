//! Script arguments: named parameters (`param $threshold = 50ms`, set with `jl --arg threshold=20ms`) and
//! positional ones (`$1`) used where a constant is needed, such as a typed probe's argument.

use super::expr::{parse_integer, string_size};
use super::Checker;
use crate::ast::{self, ParamValue};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, Type};
use crate::syntax::duration_text;
use jitterlib::probe;

/// The parameters of a script with the values this run uses.
#[derive(Default)]
pub(super) struct Params {
    values: Vec<(String, ParamValue)>,
}

impl Params {
    /// Resolves the declarations against `--arg name=value` pairs; problems become diagnostics.
    pub(super) fn resolve(
        decls: &[ast::ParamDecl],
        named: &[(String, String)],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Params {
        let mut values: Vec<(String, ParamValue)> = Vec::new();
        for decl in decls {
            if values.iter().any(|(name, _)| *name == decl.name) {
                diagnostics.push(Diagnostic::new(
                    Code::BadParam,
                    decl.span,
                    format!("parameter `${}` is declared twice", decl.name),
                ));
                continue;
            }
            let value = match named.iter().rev().find(|(name, _)| *name == decl.name) {
                Some((_, text)) => match parse_like(&decl.default, text) {
                    Some(value) => value,
                    None => {
                        diagnostics.push(
                            Diagnostic::new(
                                Code::BadParam,
                                decl.span,
                                format!("`--arg {}={text}` is not {}", decl.name, kind_of(&decl.default)),
                            )
                            .with_hint(format!("the default, {}, gives the parameter's type", shown(&decl.default))),
                        );
                        decl.default.clone()
                    }
                },
                None => decl.default.clone(),
            };
            values.push((decl.name.clone(), value));
        }
        for (name, _) in named {
            if !decls.iter().any(|decl| decl.name == *name) {
                let hint = if decls.is_empty() {
                    format!("the script has no parameters; declare one with `param ${name} = 0`")
                } else {
                    let declared: Vec<String> = decls.iter().map(|decl| format!("`{}`", decl.name)).collect();
                    format!("the script's parameters are {}", declared.join(", "))
                };
                diagnostics.push(
                    Diagnostic::new(Code::BadParam, Span::default(), format!("`--arg {name}=...` sets no parameter"))
                        .with_hint(hint),
                );
            }
        }
        Params { values }
    }

    /// The value of parameter `name`, if the script declares it.
    pub(super) fn get(&self, name: &str) -> Option<&ParamValue> {
        self.values.iter().find(|(declared, _)| declared == name).map(|(_, value)| value)
    }
}

/// `text` read as a value of the same kind as `default`.
fn parse_like(default: &ParamValue, text: &str) -> Option<ParamValue> {
    match default {
        ParamValue::Int(_) => parse_integer(text).map(ParamValue::Int),
        ParamValue::Duration(_) => duration_text(text).map(ParamValue::Duration),
        ParamValue::Str(_) => Some(ParamValue::Str(text.to_string())),
    }
}

fn kind_of(value: &ParamValue) -> &'static str {
    match value {
        ParamValue::Int(_) => "an integer",
        ParamValue::Duration(_) => "a duration (e.g. 50ms, 2s, or nanoseconds)",
        ParamValue::Str(_) => "a string",
    }
}

fn shown(value: &ParamValue) -> String {
    match value {
        ParamValue::Int(value) => value.to_string(),
        ParamValue::Duration(ns) => {
            let unit = [
                (3_600_000_000_000, "h"),
                (60_000_000_000, "m"),
                (1_000_000_000, "s"),
                (1_000_000, "ms"),
                (1_000, "us"),
            ]
            .into_iter()
            .find(|(scale, _)| ns % scale == 0 && *ns != 0);
            match unit {
                Some((scale, unit)) => format!("{}{unit}", ns / scale),
                None => format!("{ns}ns"),
            }
        }
        ParamValue::Str(text) => format!("{text:?}"),
    }
}

/// A positional argument's text read as a typed value: an integer, a duration, or else a string.
fn positional_value(text: &str) -> ParamValue {
    if let Some(value) = parse_integer(text) {
        ParamValue::Int(value)
    } else if let Some(ns) = duration_text(text) {
        ParamValue::Duration(ns)
    } else {
        ParamValue::Str(text.to_string())
    }
}

impl Checker<'_> {
    /// `$name` read in an expression, when no variable of that name is assigned: a parameter's value.
    pub(super) fn param_expr(&self, name: &str, span: Span) -> Option<Expr> {
        Some(value_expr(self.params.get(name)?, span))
    }

    /// `$N` read in an expression: an integer, a duration (`50ms`), or 0 when it is not given.
    pub(super) fn positional(&mut self, index: u32, span: Span) -> Option<Expr> {
        let text = self.positional_text(index, span)?;
        if text.is_empty() {
            return Some(Expr { kind: ExprKind::Const(0), ty: Type::I64, span });
        }
        match positional_value(&text) {
            ParamValue::Str(_) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, span, format!("`${index}` is {text:?}, not an integer"))
                        .with_hint(format!("use `str(${index})` for a string argument")),
                );
                None
            }
            value => Some(value_expr(&value, span)),
        }
    }

    /// A typed probe's argument, with `$name` and `$N` replaced by their values: `None` when it is bad
    /// (reported), `Some(None)` for a `$N` that is not given (the argument is left out).
    pub(super) fn probe_arg(&mut self, arg: &ast::ProbeArg) -> Option<Option<probe::ProbeArg>> {
        let value = match arg {
            ast::ProbeArg::Str(text, _) => return Some(Some(probe::ProbeArg::Str(text.clone()))),
            ast::ProbeArg::Int(value, _) => return Some(Some(probe::ProbeArg::Int(*value))),
            ast::ProbeArg::Ident(word, _) => return Some(Some(probe::ProbeArg::Ident(word.clone()))),
            ast::ProbeArg::Param(name, span) => match self.params.get(name) {
                Some(value) => value.clone(),
                None => {
                    self.diagnostics.push(
                        Diagnostic::new(Code::BadParam, *span, format!("`${name}` is not a parameter of the script"))
                            .with_hint(format!("declare it before the probes: `param ${name} = 10ms`")),
                    );
                    return None;
                }
            },
            ast::ProbeArg::Positional(index, span) => {
                let text = self.positional_text(*index, *span)?;
                // Read like a literal written in its place; text that is none is a string.
                return Some(crate::syntax::probe_arg_text(&text, *span).map(|written| match written {
                    ast::ProbeArg::Int(value, _) => probe::ProbeArg::Int(value),
                    ast::ProbeArg::Ident(word, _) => probe::ProbeArg::Ident(word),
                    ast::ProbeArg::Str(text, _) => probe::ProbeArg::Str(text),
                    _ => probe::ProbeArg::Str(text.clone()),
                }));
            }
        };
        Some(Some(match value {
            ParamValue::Int(value) => match u64::try_from(value) {
                Ok(value) => probe::ProbeArg::Int(value),
                Err(_) => {
                    self.diagnostics.push(Diagnostic::new(
                        Code::BadParam,
                        arg.span(),
                        format!("a probe argument cannot be negative ({value})"),
                    ));
                    return None;
                }
            },
            ParamValue::Duration(ns) => probe::ProbeArg::Int(ns),
            ParamValue::Str(text) => probe::ProbeArg::Str(text),
        }))
    }
}

fn value_expr(value: &ParamValue, span: Span) -> Expr {
    match value {
        ParamValue::Int(value) => Expr { kind: ExprKind::Const(*value), ty: Type::I64, span },
        ParamValue::Duration(ns) => Expr { kind: ExprKind::Const(*ns as i64), ty: Type::Duration, span },
        ParamValue::Str(text) => {
            Expr { kind: ExprKind::Str(text.clone()), ty: Type::Str(string_size(text.len())), span }
        }
    }
}

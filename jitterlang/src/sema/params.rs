//! Script arguments: named parameters (`param $threshold = 50ms`, or bpftrace's `getopt("threshold", 50)`, set
//! with `jl --arg threshold=20ms` or bpftrace's `-- --threshold=20`) and positional ones (`$1`) used where a
//! constant is needed, such as a typed probe's argument.

use super::builtins::Call;
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
    /// The `--arg name=value` pairs, which `param` declarations and `getopt()` calls read.
    named: Vec<(String, String)>,
    /// Each `getopt()` option met so far, with its default and description (empty when none is given).
    options: Vec<(String, OptionDefault, String)>,
}

/// The named option that lists the script's parameters, as bpftrace's `-- --help` does, unless the script has
/// one of that name.
const HELP: &str = "help";

/// The default of a `getopt()` option, which gives its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum OptionDefault {
    /// `getopt("name")`, `getopt("name", false)`: a bool; `--name` alone, `=true` or `=1` set it.
    Bool(bool),
    /// An integer, a duration or a string, read as `param` reads its value.
    Value(ParamValue),
}

impl OptionDefault {
    fn shown(&self) -> String {
        match self {
            OptionDefault::Bool(value) => value.to_string(),
            OptionDefault::Value(value) => shown(value),
        }
    }
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
        Params { values, named: named.to_vec(), options: Vec::new() }
    }

    /// Reports each `--arg` pair that neither a `param` declaration nor a `getopt()` call reads (after the whole
    /// script is checked).
    pub(super) fn report_unused(&self, diagnostics: &mut Vec<Diagnostic>) {
        let declared: Vec<&str> = self
            .values
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(self.options.iter().map(|(name, _, _)| name.as_str()))
            .collect();
        for (name, _) in &self.named {
            if name == HELP && !declared.contains(&HELP) {
                diagnostics.push(self.help());
            } else if !declared.contains(&name.as_str()) {
                let hint = if declared.is_empty() {
                    format!("the script has no parameters; declare one with `param ${name} = 0` or read `getopt(\"{name}\", 0)`")
                } else {
                    let declared: Vec<String> = declared.iter().map(|name| format!("`{name}`")).collect();
                    format!("the script's parameters are {}", declared.join(", "))
                };
                diagnostics.push(
                    Diagnostic::new(
                        Code::BadParam,
                        Span::default(),
                        format!("`{name}` (`--arg {name}=...` or `-- --{name}`) sets no parameter"),
                    )
                    .with_hint(hint),
                );
            }
        }
    }

    /// `--help` after the script (bpftrace's `-- --help`): the script's options as an error, as bpftrace exits
    /// with a failure after listing them.
    fn help(&self) -> Diagnostic {
        let mut help = Diagnostic::new(Code::BadParam, Span::default(), "`--help`: the script's parameters are");
        let listed = self.values.iter().map(|(name, value)| format!("--{name} (default {})", shown(value))).chain(
            self.options.iter().map(|(name, default, description)| match description.is_empty() {
                true => format!("--{name} (default {})", default.shown()),
                false => format!("--{name} (default {}): {description}", default.shown()),
            }),
        );
        let mut any = false;
        for line in listed {
            help = help.with_note(line);
            any = true;
        }
        match any {
            true => help.with_hint("set one with `-- --NAME=VALUE` after the script, or `--arg NAME=VALUE`"),
            false => help.with_note("none: the script declares no `param` and calls no `getopt()`"),
        }
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
    /// `getopt("name"[, default[, description]])` (bpftrace 0.27): the named option `name`, set with `--arg
    /// name=value` or `-- --name=value`, else `default`, whose type it has; without one, a bool (0 or 1). Every
    /// call of one name has the same default. The description is what `-- --help` after the script lists.
    pub(super) fn getopt(&mut self, call: &Call) -> Option<Expr> {
        if !self.arity_in(call.name, call.name_span, call.args, &(1..=3)) {
            return None;
        }
        let ast::ExprKind::Str(name) = &call.args[0].kind else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, call.args[0].span, "`getopt()` takes the option's name in quotes")
                    .with_hint("e.g. `getopt(\"count\", 10)`, set with `jl script.bt -- --count=20`"),
            );
            return None;
        };
        let default = match call.args.get(1) {
            None => OptionDefault::Bool(false),
            Some(arg) => self.option_default(arg)?,
        };
        let description = match call.args.get(2).map(|arg| (&arg.kind, arg.span)) {
            None => String::new(),
            Some((ast::ExprKind::Str(text), _)) => text.clone(),
            Some((_, span)) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::TypeMismatch,
                    span,
                    "`getopt()`'s description is a string in quotes",
                ));
                return None;
            }
        };
        if let Some((_, earlier, earlier_description)) =
            self.params.options.iter_mut().find(|(known, _, _)| known == name)
        {
            if earlier_description.is_empty() {
                *earlier_description = description;
            }
            if *earlier != default {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BadParam,
                        call.span,
                        format!("option `{name}` has the default {} elsewhere", earlier.shown()),
                    )
                    .with_hint("every getopt() of one option takes the same default"),
                );
                return None;
            }
        } else {
            self.params.options.push((name.clone(), default.clone(), description));
        }
        let given = self.params.named.iter().rev().find(|(known, _)| known == name).map(|(_, text)| text.clone());
        // An integer past i64::MAX (`--n=0xffffffffffffffff`) is the unsigned number written, not a negative one.
        let unsigned = given.as_ref().is_some_and(|text| !text.starts_with('-'));
        let value = match (given, &default) {
            (None, OptionDefault::Bool(value)) => ParamValue::Int(i64::from(*value)),
            (None, OptionDefault::Value(value)) => value.clone(),
            // As bpftrace reads a bool option, in any case.
            (Some(text), OptionDefault::Bool(_)) => match text.to_ascii_lowercase().as_str() {
                "" | "true" | "1" | "on" | "yes" => ParamValue::Int(1),
                "false" | "0" | "off" | "no" => ParamValue::Int(0),
                _ => return self.bad_option(name, &text, "true or false (or 1, 0, on, off, yes, no)", call),
            },
            (Some(text), OptionDefault::Value(value)) => match parse_like(value, &text) {
                Some(parsed) => parsed,
                None => return self.bad_option(name, &text, kind_of(value), call),
            },
        };
        let mut expr = value_expr(&value, call.span);
        match (&default, &value) {
            (OptionDefault::Bool(_), _) => expr.ty = Type::Bool,
            (_, ParamValue::Int(value)) if *value < 0 && unsigned => expr.ty = Type::U64,
            _ => {}
        }
        Some(expr)
    }

    /// The default of a `getopt()` option: `true` or `false`, or a literal integer, duration or string.
    fn option_default(&mut self, arg: &ast::Expr) -> Option<OptionDefault> {
        let default = match &arg.kind {
            ast::ExprKind::Bool(value) => Some(OptionDefault::Bool(*value)),
            ast::ExprKind::Str(text) => Some(OptionDefault::Value(ParamValue::Str(text.clone()))),
            ast::ExprKind::Duration(ns) => Some(OptionDefault::Value(ParamValue::Duration(*ns))),
            ast::ExprKind::Int(value) => Some(OptionDefault::Value(ParamValue::Int(*value as i64))),
            ast::ExprKind::Unary(ast::UnaryOp::Neg, inner) => match inner.kind {
                ast::ExprKind::Int(value) => Some(OptionDefault::Value(ParamValue::Int((value as i64).wrapping_neg()))),
                _ => None,
            },
            _ => None,
        };
        if default.is_none() {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, arg.span, "a getopt() default is a literal")
                    .with_hint("`true` or `false`, an integer, a duration (`10ms`) or a string in quotes"),
            );
        }
        default
    }

    fn bad_option(&mut self, name: &str, text: &str, expected: &str, call: &Call) -> Option<Expr> {
        self.diagnostics.push(
            Diagnostic::new(Code::BadParam, call.span, format!("`--{name}={text}` is not {expected}"))
                .with_hint("the default gives the option's type"),
        );
        None
    }

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
        // An argument that is not a number is a string, as in bpftrace 0.27.
        Some(value_expr(&positional_value(&text), span))
    }

    /// An attach point's text with each `$N` replaced by the script argument's text (`interval:ms:$1` run with
    /// `100`); `None` when one is `$0` or not given (reported).
    pub(super) fn positionals_in(&mut self, text: &str, span: Span) -> Option<String> {
        let mut substituted = String::new();
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            substituted.push_str(&rest[..dollar]);
            let digits =
                rest[dollar + 1..].find(|c: char| !c.is_ascii_digit()).map_or(rest.len(), |end| dollar + 1 + end);
            let index = rest[dollar + 1..digits].parse().unwrap_or(u32::MAX);
            let value = self.positional_text(index, span)?;
            if value.is_empty() {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BadParam,
                        span,
                        format!("the attach point needs `${index}`, which is not given"),
                    )
                    .with_hint("pass it after the script: `jl -e '...' ARG1 ARG2`"),
                );
                return None;
            }
            substituted.push_str(&value);
            rest = &rest[digits..];
        }
        substituted.push_str(rest);
        Some(substituted)
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

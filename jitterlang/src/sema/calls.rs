//! Calls, dispatched through the builtin registry, and the checks of `printf`, `str`, `ksym`, `kaddr`, `lhist`
//! and the map statements.

use super::builtins::{self, Call, Operands, Rule};
use super::maps::MapReading;
use super::{names, tuples, Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, Lowered, MapAction, PrintOptions, PrintfAction, PrintfInfo, StmtKind, Type, STR_MAX};
use crate::printf::{ConvKind, Format};
use jitterlib::agg::{AggError, AggKind, EnumNames, TSeriesAgg};
use jitterlib::cgroup::CgroupFilter;
use jitterlib::probe::nearest;

/// Bytes read for a tracepoint `__data_loc` string.
pub(crate) const DATA_LOC_STR_SIZE: u32 = 64;

/// Most printf arguments accepted (event size stays small).
const MAX_PRINTF_ARGS: usize = 16;

/// Bytes `str(ptr)` reads when no size is given (bpftrace's default).
const KERNEL_STR_SIZE: u32 = 64;

impl Checker<'_> {
    /// A statement that is an expression: `printf(...)`, `exit()`, or a bare aggregation (`@ = ...`). A value
    /// computed for nothing (`args.rqtp.tv_sec;`, `str(p);`) is checked, then dropped with a warning, as bpftrace
    /// 0.27 does; `c ? a : b` runs the side it picks, as `if (c) { a; } else { b; }`.
    pub(super) fn expr_stmt(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Option<StmtKind> {
        let ast::ExprKind::Call { name, name_span, args } = &expr.kind else {
            if let ast::ExprKind::Ternary { cond, then, otherwise } = &expr.kind {
                let branch =
                    |value: &ast::Expr| vec![ast::Stmt { kind: ast::StmtKind::Expr(value.clone()), span: value.span }];
                let kind =
                    ast::StmtKind::If { cond: (**cond).clone(), then: branch(then), otherwise: branch(otherwise) };
                return self.stmt(&ast::Stmt { kind, span: expr.span }, scope);
            }
            self.expr(expr, scope)?;
            self.warnings.push(thrown_away(expr.span, "this expression is computed and then thrown away"));
            return None;
        };
        let call = Call { name, name_span: *name_span, args, span: expr.span };
        match builtins::call(name).map(|builtin| &builtin.rule) {
            Some(Rule::Statement(check) | Rule::StatementValue { statement: check, .. }) => check(self, &call, scope),
            Some(Rule::Aggregation { .. }) => {
                let target = ast::MapRef { name: "@".into(), keys: Vec::new(), span: expr.span };
                self.map_assign(&target, None, expr, scope)
            }
            _ => {
                self.call_expr(name, *name_span, args, expr.span, scope)?;
                self.warnings.push(thrown_away(expr.span, format!("the value of `{name}()` is thrown away")));
                None
            }
        }
    }

    /// A call used as a value.
    pub(super) fn call_expr(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        let call = Call { name, name_span, args, span };
        match builtins::call(name).map(|builtin| &builtin.rule) {
            Some(Rule::Function(check)) => check(self, &call, scope),
            Some(Rule::Lowered { check, lower } | Rule::StatementValue { check, lower, .. }) => {
                let Operands { map, args, ty } = check(self, &call, scope)?;
                Some(Expr { kind: ExprKind::Call(Lowered { map, args, lower: *lower }), ty, span })
            }
            Some(Rule::Aggregation { .. }) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        span,
                        format!("`{name}()` is an aggregation: it can only be assigned to a map"),
                    )
                    .with_hint(format!("write `@name = {name}(...)`, or `{name}(...)` alone for the map `@`")),
                );
                None
            }
            Some(Rule::Statement(_)) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::TypeMismatch,
                    span,
                    format!("`{name}()` is a statement and has no value"),
                ));
                None
            }
            // bpftrace 0.27 also writes each builtin variable as a call without arguments: `comm()`, `cpu()`.
            _ if args.is_empty() && self.is_variable(name, scope) => self.ident(name, span, scope),
            _ => {
                self.unknown_function(name, name_span);
                None
            }
        }
    }

    /// Whether `name` is a builtin variable or a field of the probe (`comm`, `retval`, `__builtin_cpu`).
    pub(super) fn is_variable(&self, name: &str, scope: &Scope) -> bool {
        let name = name.strip_prefix("__builtin_").unwrap_or(name);
        builtins::variable_named(name).is_some() || scope.probe.fields().iter().any(|field| field.name == name)
    }

    /// `ksym(addr)`: the kernel symbol at an address, printed by name.
    pub(super) fn ksym(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let mut value = self.scalar(&call.args[0], scope)?;
        value.ty = Type::Symbol;
        value.span = call.span;
        Some(value)
    }

    /// `usym(addr)`: the address and the current process (`pid`), printed as the function holding the address in
    /// that process, as bpftrace's `usym`.
    pub(super) fn usym(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let address = Expr { ty: Type::U64, ..self.scalar(&call.args[0], scope)? };
        let pid = Expr { kind: ExprKind::Builtin(crate::ir::Builtin::Pid), ty: Type::U64, span: call.name_span };
        Some(Expr { kind: ExprKind::Tuple(vec![address, pid]), ty: Type::UserSymbol, span: call.span })
    }

    /// `cgroup_path(id[, "filter"])`: the id, printed as its paths in the cgroup hierarchies whose names match the
    /// filter (a wildcard pattern, every hierarchy when none is given).
    pub(super) fn cgroup_path(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        let (id, filter) = match call.args {
            [id] => (id, CgroupFilter::all()),
            [id, ast::Expr { kind: ast::ExprKind::Str(pattern), .. }] => (id, CgroupFilter::new(pattern)),
            [_, filter] => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        filter.span,
                        "the filter of `cgroup_path()` is a string in quotes",
                    )
                    .with_hint("a wildcard over hierarchy names: `cgroup_path(cgroup, \"unified\")`, `\"mem*\"`"),
                );
                return None;
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Arity,
                        call.name_span,
                        format!("`cgroup_path()` takes 1 or 2 arguments, {} given", call.args.len()),
                    )
                    .with_hint(
                        "`cgroup_path(cgroup)`, or `cgroup_path(cgroup, \"unified\")` for the cgroup v2 path alone",
                    ),
                );
                return None;
            }
        };
        let id = self.scalar(id, scope)?;
        Some(Expr { ty: Type::CgroupPath(filter), span: call.span, ..id })
    }

    /// `kaddr("symbol")`: the symbol's address, resolved at compile time.
    pub(super) fn kaddr(&mut self, name_span: Span, args: &[ast::Expr], span: Span, scope: &mut Scope) -> Option<Expr> {
        if !self.arity("kaddr", name_span, args, 1) {
            return None;
        }
        // A string known when compiling: a literal, or a script argument (`kaddr(str($1))`, as bpftrace).
        let Expr { kind: ExprKind::Str(symbol), .. } = self.expr(&args[0], scope)? else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, args[0].span, "`kaddr()` takes a symbol name in quotes")
                    .with_hint("e.g. `kaddr(\"jiffies\")`, or `kaddr(str($1))` for a script argument"),
            );
            return None;
        };
        if symbol.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, args[0].span, "`kaddr()` of an empty symbol name")
                    .with_hint("a script argument that is not given (`str($1)` with no $1) is empty"),
            );
            return None;
        }
        let symbol = symbol.as_str();
        match self.kernel.symbol_addresses(symbol).map(|found| found.first().copied()) {
            Ok(Some(address)) => Some(Expr { kind: ExprKind::Const(address as i64), ty: Type::U64, span }),
            Ok(None) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::MissingTarget,
                    args[0].span,
                    format!("`{symbol}` is not a symbol of this kernel"),
                ));
                None
            }
            Err(error) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::MissingTarget,
                    args[0].span,
                    format!("cannot look up `{symbol}`: {error}"),
                ));
                None
            }
        }
    }

    /// `str($N)`: a script argument as a string; `str(ptr[, n])`: a kernel string read from an address.
    pub(super) fn str_call(
        &mut self,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        if args.is_empty() || args.len() > 2 {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Arity,
                    name_span,
                    format!("`str()` takes 1 or 2 arguments, {} given", args.len()),
                )
                .with_hint("`str($1)` for a script argument, `str(ptr)` or `str(ptr, 32)` for a kernel string"),
            );
            return None;
        }
        if let Some(text) = self.positional_str(&args[0], scope) {
            let text = text?;
            let text = match args.get(1) {
                // `str($1, n)` reads at most n bytes with the NUL, as from memory.
                Some(size) => {
                    let size = usize::try_from(self.constant(size, scope)?).unwrap_or(0);
                    let end =
                        (0..=size.saturating_sub(1).min(text.len())).rev().find(|end| text.is_char_boundary(*end));
                    text[..end.unwrap_or(0)].to_string()
                }
                None => text,
            };
            let ty = Type::Str(super::expr::string_size(text.len()));
            return Some(Expr { kind: ExprKind::Str(text), ty, span });
        }
        let value = self.expr(&args[0], scope)?;
        if let (Type::Str(_), None) = (value.ty, args.get(1)) {
            // Already a string (a tracepoint's `char[]` or `__data_loc` field, a parameter): nothing to read.
            return Some(Expr { span, ..value });
        }
        let pointer = self.require_scalar(value)?;
        let size = match args.get(1) {
            None => KERNEL_STR_SIZE,
            Some(arg) => {
                let requested = self.constant(arg, scope)?;
                match u32::try_from(requested) {
                    Ok(size) if (1..=STR_MAX).contains(&size) => size.div_ceil(8) * 8,
                    _ => {
                        self.diagnostics.push(Diagnostic::new(
                            Code::Limit,
                            arg.span,
                            format!("a string size goes from 1 to {STR_MAX}, not {requested}"),
                        ));
                        return None;
                    }
                }
            }
        };
        Some(Expr { kind: ExprKind::KernelStr(Box::new(pointer)), ty: Type::Str(size), span })
    }

    /// The text `str()` reads from a script argument: `$N`, or `$N + k` past its first `k` bytes (bpftrace's
    /// pointer arithmetic on an argument: a constant from 0 to the text's length). `None` for other values.
    fn positional_str(&mut self, arg: &ast::Expr, scope: &mut Scope) -> Option<Option<String>> {
        let (index, skip) = match &arg.kind {
            ast::ExprKind::Positional(index) => (*index, None),
            ast::ExprKind::Binary(ast::BinaryOp::Add, base, skip) => match base.kind {
                ast::ExprKind::Positional(index) => (index, Some(skip)),
                _ => return None,
            },
            _ => return None,
        };
        let Some(text) = self.positional_text(index, arg.span) else { return Some(None) };
        let Some(skip) = skip else { return Some(Some(text)) };
        let Some(skip) = self.constant(skip, scope) else { return Some(None) };
        match usize::try_from(skip).ok().filter(|skip| text.is_char_boundary(*skip)) {
            Some(skip) => Some(Some(text[skip..].to_string())),
            None => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Limit,
                        arg.span,
                        format!("`${index} + {skip}` is outside the argument {text:?}"),
                    )
                    .with_hint(format!("add a constant from 0 to {} (its length)", text.len())),
                );
                Some(None)
            }
        }
    }

    /// `exit()`, or bpftrace 0.27's `exit(code)`: jl's exit status, any integer expression.
    pub(super) fn exit(&mut self, call: &Call, scope: &mut Scope) -> Option<StmtKind> {
        if !self.arity_in(call.name, call.name_span, call.args, &(0..=1)) {
            return None;
        }
        let code = match call.args.first() {
            Some(code) => Some(self.scalar(code, scope)?),
            None => None,
        };
        Some(StmtKind::Exit { code })
    }

    /// `delete(@m[k])`, or bpftrace 0.27's `delete(@m, k)`.
    pub(super) fn delete(&mut self, call: &Call, scope: &mut Scope) -> Option<(usize, Vec<Expr>)> {
        let (args, span) = (call.args, call.span);
        let entry;
        let target = match args {
            [ast::Expr { kind: ast::ExprKind::Map(target), .. }] => target,
            [ast::Expr { kind: ast::ExprKind::Map(target), .. }, key] if target.keys.is_empty() => {
                entry = ast::MapRef { keys: vec![key.clone()], ..target.clone() };
                &entry
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, span, "`delete()` takes one map entry")
                        .with_hint("e.g. `delete(@start[tid])` or `delete(@start, tid)`"),
                );
                return None;
            }
        };
        let keys = self.keys(target, scope)?;
        let map = self.maps.existing(target, &keys, &mut self.diagnostics)?;
        if self.maps.is_histogram(map) {
            // Their entries are one per bucket (per interval for a tseries): a key's value is several entries.
            let what = match self.maps.info(map).layout.histogram() {
                Some(AggKind::TSeries { .. }) => "a time series",
                _ => "a histogram",
            };
            self.diagnostics.push(
                Diagnostic::new(Code::Unsupported, target.span, format!("an entry of {what} cannot be deleted"))
                    .with_hint(format!("use `clear({})` to empty the whole map", target.name)),
            );
            return None;
        }
        self.maps.keys_in_programs(map);
        Some((map, keys))
    }

    /// `delete(@m, k)` as a value (bpftrace 0.27): true when `@m[k]` was there and is deleted. A map without keys
    /// that holds an aggregation has a slot that always exists, so whether it was written cannot be told.
    pub(super) fn delete_value(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        let (map, keys) = self.delete(call, scope)?;
        if self.maps.info(map).layout.is_single_slot() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    call.span,
                    "`delete()` of an aggregation without keys has no value: its slot always exists",
                )
                .with_hint("write `delete(@m);` as a statement (it zeroes the aggregation)"),
            );
            return None;
        }
        Some(Operands { map: Some(map), args: keys, ty: Type::Bool })
    }

    /// `print(@m)`, `print(@m, N)` of a whole map, or bpftrace 0.27's `print(v)` of any other value.
    pub(super) fn print(&mut self, call: &Call, scope: &mut Scope) -> Option<StmtKind> {
        match call.args {
            [value] if !matches!(&value.kind, ast::ExprKind::Map(target) if target.keys.is_empty()) => {
                let value = self.expr(value, scope)?;
                if value.ty == Type::Void {
                    self.diagnostics.push(Diagnostic::new(
                        Code::TypeMismatch,
                        value.span,
                        "this has no value to print",
                    ));
                    return None;
                }
                let id = self.printfs.len();
                let info = PrintfInfo {
                    format: Format::default(),
                    args: vec![value.ty],
                    action: PrintfAction::Value,
                    span: call.span,
                    site: Default::default(),
                };
                self.printfs.push(info);
                Some(StmtKind::Printf { id, args: vec![value] })
            }
            _ => self.map_action(call, scope),
        }
    }

    /// `print(@m)`, `print(@m, top)`, `print(@m, top, div)`, `clear(@m)`, `zero(@m)`.
    pub(super) fn map_action(&mut self, call: &Call, scope: &mut Scope) -> Option<StmtKind> {
        let Call { name, name_span, args, span } = *call;
        let action = match name {
            "print" => MapAction::Print,
            "clear" => MapAction::Clear,
            _ => MapAction::Zero,
        };
        let most = if action == MapAction::Print { 3 } else { 1 };
        let target = match args.first().map(|arg| &arg.kind) {
            Some(ast::ExprKind::Map(target)) if target.keys.is_empty() && args.len() <= most => target,
            _ => {
                let usage = if action == MapAction::Print {
                    "`print(@m)`, `print(@m, 10)` (the 10 largest) or `print(@m, 10, 1000)` (values divided by 1000)"
                } else {
                    "`NAME(@m)`"
                };
                self.diagnostics.push(
                    Diagnostic::new(Code::Arity, name_span.to(span), format!("`{name}()` takes a whole map"))
                        .with_hint(format!("write {}", usage.replace("NAME", name))),
                );
                return None;
            }
        };
        let map = self.maps.named(target, &mut self.diagnostics)?;
        if action != MapAction::Print {
            return Some(StmtKind::MapAction { map, action, options: 0 });
        }
        // bpftrace takes both as unsigned numbers: `top` 0 prints every entry, `div` 0 would divide by zero.
        let top = match args.get(1) {
            None => 0,
            Some(arg) => match u64::try_from(self.constant(arg, scope)?) {
                Ok(top) => top,
                Err(_) => {
                    self.diagnostics.push(
                        Diagnostic::new(Code::Limit, arg.span, "print shows a number of entries, not a negative one")
                            .with_hint("`print(@m, 10)` prints the 10 largest; 0 prints them all"),
                    );
                    return None;
                }
            },
        };
        let div = match args.get(2) {
            None => 1,
            Some(arg) => match u64::try_from(self.constant(arg, scope)?) {
                Ok(div) if div > 0 => div,
                _ => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DivisionByZero,
                            arg.span,
                            "print divides the values by a positive number",
                        )
                        .with_hint("`print(@m, 0, 1000)` prints every value divided by 1000"),
                    );
                    return None;
                }
            },
        };
        let wanted = PrintOptions { top, div };
        let index = match self.print_options.iter().position(|known| *known == wanted) {
            Some(index) => index,
            None => {
                self.print_options.push(wanted);
                self.print_options.len() - 1
            }
        };
        Some(StmtKind::MapAction { map, action, options: index as u32 })
    }

    fn unknown_function(&mut self, name: &str, span: Span) {
        let hint = match nearest(name, &builtins::names(false)) {
            Some(near) => format!("did you mean `{near}()`?"),
            None => "`jl -l builtins` lists the functions".to_string(),
        };
        self.diagnostics
            .push(Diagnostic::new(Code::UnknownIdent, span, format!("unknown function `{name}`")).with_hint(hint));
    }

    /// Reports a wrong argument count; true when the count is right.
    pub(super) fn arity(&mut self, name: &str, span: Span, args: &[ast::Expr], expected: usize) -> bool {
        self.arity_in(name, span, args, &(expected..=expected))
    }

    /// Whether `args` has a count in `expected`; a diagnostic if not.
    pub(super) fn arity_in(
        &mut self,
        name: &str,
        span: Span,
        args: &[ast::Expr],
        expected: &std::ops::RangeInclusive<usize>,
    ) -> bool {
        if expected.contains(&args.len()) {
            return true;
        }
        let (low, high) = (*expected.start(), *expected.end());
        let takes = match high - low {
            0 => plural(low, "argument"),
            1 => format!("{low} or {high} arguments"),
            _ => format!("{low} to {high} arguments"),
        };
        self.diagnostics.push(Diagnostic::new(
            Code::Arity,
            span,
            format!("`{name}()` takes {takes}, {} given", args.len()),
        ));
        false
    }

    /// `@map[keys] = value` / `op=`: an aggregation update or a plain store.
    pub(super) fn map_assign(
        &mut self,
        target: &ast::MapRef,
        op: Option<ast::BinaryOp>,
        value: &ast::Expr,
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        let keys = self.keys(target, scope);
        if let ast::ExprKind::Call { name, name_span, args } = &value.kind {
            if let Some(Rule::Aggregation { arity, kind }) = builtins::call(name).map(|builtin| &builtin.rule) {
                if let Some(op) = op {
                    self.diagnostics.push(Diagnostic::new(
                        Code::TypeMismatch,
                        value.span,
                        format!("an aggregation is assigned with `=`, not `{}=`", op.symbol()),
                    ));
                    return None;
                }
                if !self.arity_in(name, *name_span, args, arity) {
                    return None;
                }
                let value_expr = match args.first() {
                    Some(arg) => Some(self.scalar(arg, scope)?),
                    None => None,
                };
                let value_type = value_expr.as_ref().map(|e| e.ty);
                let kind = kind(self, value_type, &args[1.min(args.len())..], scope)?;
                if let (Some(value), AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Stats) =
                    (&value_expr, kind)
                {
                    self.require_number(name, value)?;
                }
                let keys = keys?;
                let map = self.maps.aggregation(target, &keys, kind, value_type, &mut self.diagnostics)?;
                return Some(StmtKind::Aggregate { map, keys, kind, value: value_expr });
            }
        }
        let value = match op {
            None => self.expr(value, scope)?,
            Some(op) => {
                if !self.maps.is_declared(&target.name) {
                    // `@m++` and `@m += v` start a new map at 0, as in bpftrace: it holds v's type.
                    let first = self.expr(value, scope)?;
                    self.maps.plain(target, keys.as_ref()?, first.ty, &mut self.diagnostics)?;
                }
                let current = ast::Expr { kind: ast::ExprKind::Map(target.clone()), span: target.span };
                let combined = ast::Expr {
                    kind: ast::ExprKind::Binary(op, Box::new(current), Box::new(value.clone())),
                    span: value.span,
                };
                self.expr(&combined, scope)?
            }
        };
        if value.ty == Type::Void {
            self.diagnostics.push(Diagnostic::new(Code::TypeMismatch, value.span, "this expression has no value"));
            return None;
        }
        let keys = keys?;
        let map = self.maps.plain(target, &keys, value.ty, &mut self.diagnostics)?;
        Some(StmtKind::Store { map, keys, value })
    }

    /// Reports a bool given to `name()`, which adds or compares values: bpftrace refuses it too.
    fn require_number(&mut self, name: &str, value: &Expr) -> Option<()> {
        if value.ty != Type::Bool {
            return Some(());
        }
        self.diagnostics.push(
            Diagnostic::new(Code::TypeMismatch, value.span, format!("`{name}()` takes integers, not a bool"))
                .with_hint(format!(
                    "`{name}((uint64)b)` counts true as 1; `@n = count()` in a block with `/b/` counts trues"
                )),
        );
        None
    }

    /// A read of a map (`@x[k]` in an expression): a plain map's value, or an aggregation's merged across the
    /// CPUs, as bpftrace 0.27 reads them.
    pub(super) fn map_read(&mut self, target: &ast::MapRef, scope: &mut Scope) -> Option<Expr> {
        let keys = self.keys(target, scope)?;
        let span = target.span;
        match self.maps.read(target, &keys, &mut self.diagnostics)? {
            (map, MapReading::Plain(ty)) => Some(Expr { kind: ExprKind::MapRead { map, keys }, ty, span }),
            (map, MapReading::Aggregation(ty)) => {
                let cpus = self.aggregation_cpus(target)?;
                Some(Expr { kind: ExprKind::AggRead { map, keys, cpus }, ty, span })
            }
        }
    }

    /// How many CPUs' values a read of aggregation `target` merges, fetched with `bpf_map_lookup_percpu_elem`;
    /// `None` (reported) before Linux 5.19, which added that helper, or when the CPUs cannot be counted.
    pub(super) fn aggregation_cpus(&mut self, target: &ast::MapRef) -> Option<u32> {
        let version = self.kernel.version();
        if !version.at_least(5, 19) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    target.span,
                    format!(
                        "reading `{}` in a probe needs bpf_map_lookup_percpu_elem (Linux 5.19); this kernel is {}",
                        target.name, version.release
                    ),
                )
                .with_hint(
                    "its values are kept per CPU: to read a total in a probe, keep it in a plain map too \
                     (`@total += v`), or run on Linux 5.19 or later",
                ),
            );
            return None;
        }
        match self.kernel.possible_cpus() {
            Ok(cpus) => Some(cpus),
            Err(error) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::MissingTarget,
                    target.span,
                    format!("cannot count the CPUs to read `{}`: {error}", target.name),
                ));
                None
            }
        }
    }

    pub(super) fn keys(&mut self, target: &ast::MapRef, scope: &mut Scope) -> Option<Vec<Expr>> {
        let keys: Vec<Option<Expr>> = target.keys.iter().map(|key| self.expr(key, scope)).collect();
        let keys = keys.into_iter().collect::<Option<Vec<_>>>()?;
        if let Some(record) = keys.iter().find(|key| matches!(key.ty, Type::Tuple(tuple) if tuple.names().is_some())) {
            self.diagnostics.push(
                Diagnostic::new(Code::Unsupported, record.span, "a record cannot be a map key")
                    .with_hint("key the map by its values, a tuple: `@m[(a, b)]` (or `@m[a, b]`)"),
            );
            return None;
        }
        // A tuple as the only key is its elements: `@m[(a, b)]` is `@m[a, b]`; among other keys it stays one
        // (`@m[a, (b, c)]`), as in bpftrace.
        let keys: Vec<Expr> = match <[Expr; 1]>::try_from(keys) {
            Ok([key]) => tuples::spread(key),
            Err(keys) => keys,
        };
        // A name is keyed by its index, unless the map is keyed by strings there (it mixes with other strings).
        let declared = self.maps.key_types(&target.name);
        let keys: Vec<Expr> = keys
            .into_iter()
            .enumerate()
            .map(|(position, key)| match declared.get(position) {
                Some(Type::Str(_)) => key,
                _ => names::name_index(key),
            })
            .collect();
        for key in &keys {
            if key.ty == Type::Void {
                self.diagnostics.push(Diagnostic::new(Code::TypeMismatch, key.span, "a map key needs a value"));
                return None;
            }
        }
        Some(keys)
    }

    /// The kind of `lhist(v, min, max, step)`: its bounds (`rest`) are constants [`AggKind::lhist`] accepts.
    pub(super) fn lhist(&mut self, rest: &[ast::Expr], scope: &mut Scope) -> Option<AggKind> {
        let mut constants = Vec::new();
        for arg in rest {
            constants.push(self.constant(arg, scope)?);
        }
        let [min, max, step] = constants[..] else { return None };
        match AggKind::lhist(min, max, step) {
            Ok(kind) => Some(kind),
            Err(error) => {
                self.diagnostics.push(lhist_diagnostic(&error, rest));
                None
            }
        }
    }

    /// The kind of `tseries(v, interval, n[, agg])`: the interval and count are constants [`AggKind::tseries`]
    /// accepts, `agg` one of [`TSeriesAgg::NAMES`] as a string.
    pub(super) fn tseries(&mut self, rest: &[ast::Expr], scope: &mut Scope) -> Option<AggKind> {
        let interval = self.constant(&rest[0], scope)?;
        let intervals = self.constant(&rest[1], scope)?;
        let agg = match rest.get(2) {
            None => TSeriesAgg::Last,
            Some(arg) => match &arg.kind {
                ast::ExprKind::Str(name) if TSeriesAgg::from_name(name).is_some() => TSeriesAgg::from_name(name)?,
                _ => {
                    let names = TSeriesAgg::NAMES.map(|name| format!("\"{name}\"")).join(", ");
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            arg.span,
                            format!("tseries() combines values with {names}"),
                        )
                        .with_hint("e.g. `tseries(v, 1s, 10, \"max\")`, or no 4th argument for the last value written"),
                    );
                    return None;
                }
            },
        };
        // CLOCK_TAI starts intervals on wall-clock multiples as bpftrace's; before its helper, CLOCK_MONOTONIC.
        let tai = self.kernel.version().at_least(6, 1);
        match AggKind::tseries(interval, intervals, agg, tai) {
            Ok(kind) => Some(kind),
            Err(error) => {
                let (span, hint) = match error {
                    AggError::InvalidTSeriesInterval { .. } => {
                        (rest[0].span, "the interval is a duration: `100ms`, `1s`")
                    }
                    _ => (rest[1].span, "keep fewer intervals, each longer"),
                };
                self.diagnostics.push(Diagnostic::new(Code::Limit, span, error.to_string()).with_hint(hint));
                None
            }
        }
    }

    /// The kind of `hist(v, k)`: `k` (`bits`) is a constant [`AggKind::hist`] accepts.
    pub(super) fn hist_bits(&mut self, bits: &ast::Expr, scope: &mut Scope) -> Option<AggKind> {
        let value = self.constant(bits, scope)?;
        match AggKind::hist(value) {
            Ok(kind) => Some(kind),
            Err(error) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::Limit, bits.span, error.to_string())
                        .with_hint("k is 0 to 5: each power of two is split into 2^k rows"),
                );
                None
            }
        }
    }

    /// The value of `arg`, an integer expression of constants (`10`, `-1`, `1 << 10`); reported otherwise.
    pub(super) fn constant(&mut self, arg: &ast::Expr, scope: &mut Scope) -> Option<i64> {
        let value = self.scalar(arg, scope)?.constant();
        if value.is_none() {
            self.diagnostics.push(Diagnostic::new(Code::TypeMismatch, arg.span, "expected a constant here"));
        }
        value
    }

    /// `printf(FORMAT, args...)`, or `system(...)` which renders its command the same way.
    pub(super) fn printf(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
        action: PrintfAction,
    ) -> Option<StmtKind> {
        let name = action.name();
        let Some((first, rest)) = args.split_first() else {
            self.diagnostics.push(
                Diagnostic::new(Code::Arity, span, format!("`{name}()` needs a format string"))
                    .with_hint(format!("e.g. `{name}(\"%d\\n\", pid)`")),
            );
            return None;
        };
        let ast::ExprKind::Str(text) = &first.kind else {
            self.diagnostics.push(Diagnostic::new(
                Code::TypeMismatch,
                first.span,
                format!("the format of {name} must be a string literal"),
            ));
            return None;
        };
        let mut format = match Format::parse(text) {
            Ok(format) => format,
            Err(error) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, first.span, format!("bad printf format: {error}")).with_hint(
                        "supported: %d %i %u %x %X %p %c %s %r %gr %%, with flags - 0, a width and l/ll/h modifiers",
                    ),
                );
                return None;
            }
        };
        if format.conversions().any(|conv| conv.kind == ConvKind::GfpFlags) {
            format.gfp_names = Some(self.gfp_names(first.span)?);
        }
        if rest.len() > MAX_PRINTF_ARGS {
            self.diagnostics.push(Diagnostic::new(
                Code::Limit,
                span,
                format!("{name} takes at most {MAX_PRINTF_ARGS} arguments"),
            ));
            return None;
        }
        let conversions: Vec<ConvKind> = format.conversions().map(|conv| conv.kind).collect();
        if conversions.len() != rest.len() {
            self.diagnostics.push(Diagnostic::new(
                Code::Arity,
                first.span,
                format!(
                    "the format has {} but {} follow{}",
                    plural(conversions.len(), "conversion"),
                    plural(rest.len(), "argument"),
                    if rest.len() == 1 { "s" } else { "" }
                ),
            ));
            return None;
        }
        let mut checked = Vec::new();
        for (arg, conv) in rest.iter().zip(&conversions) {
            let value = match conv {
                ConvKind::Str => names::name_index(self.expr(arg, scope)?),
                _ => self.expr(arg, scope)?,
            };
            let (fits, wanted) = match conv {
                ConvKind::Str => (
                    value.ty.is_text() || matches!(value.ty, Type::Timestamp(_) | Type::Bool | Type::Enum(_)),
                    "a string",
                ),
                ConvKind::Bytes(_) => (matches!(value.ty, Type::Buf(_)), "a buffer from buf()"),
                _ => (value.ty.is_scalar(), "an integer"),
            };
            if !fits {
                let hint = match (conv, value.ty) {
                    (_, Type::Buf(_)) => "print buffers with %r (or %rx, %rh)",
                    (_, Type::Tuple(_)) => "print a tuple with `print(t)`, or its elements one by one (`t.0`, `t.1`)",
                    (ConvKind::Bytes(_), _) => "%r prints the bytes of buf(ptr, len); use %s for strings",
                    (ConvKind::Str, _) => {
                        "use %d/%u/%x for integers; an integer that is the address of a string reads with str() \
                         (`str(args.filename)`)"
                    }
                    _ => "use %s for strings and %d/%u/%x for integers",
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        arg.span,
                        format!("this conversion expects {wanted}, found {}", value.ty.describe()),
                    )
                    .with_hint(hint),
                );
                return None;
            }
            checked.push(value);
        }
        let id = self.printfs.len();
        let args = checked.iter().map(|arg| arg.ty).collect();
        self.printfs.push(PrintfInfo { format, args, action, span, site: Default::default() });
        Some(StmtKind::Printf { id, args: checked })
    }
}

impl Checker<'_> {
    /// The kernel's GFP flag names for printf's `%gr`: the `gfp_flags` table of the `kmem:kmalloc` tracepoint's
    /// format, which the kernel fills with the masks of its own build, in the order it matches them.
    fn gfp_names(&mut self, span: Span) -> Option<EnumNames> {
        let (category, event) = GFP_TRACEPOINT;
        let found = self.kernel.tracepoint(category, event);
        let table = found.as_ref().ok().and_then(|format| {
            let table = format.print_flags.iter().find(|table| table.field == "gfp_flags")?;
            let names: Vec<(i64, String)> =
                table.names.iter().map(|(mask, name)| (*mask as i64, name.clone())).collect();
            Some(EnumNames::new("gfp flags", &names))
        });
        if table.is_none() {
            let why = match found {
                Err(error) => error.to_string(),
                Ok(_) => "its print format has no `gfp_flags` names".to_string(),
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::MissingTarget,
                    span,
                    format!("`%gr` names GFP flags as the {category}:{event} tracepoint does, and it cannot here"),
                )
                .with_note(why)
                .with_hint("print the mask with %x"),
            );
        }
        table
    }
}

/// The tracepoint whose format names the GFP flags (`show_gfp_flags()`), for `%gr`.
const GFP_TRACEPOINT: (&str, &str) = ("kmem", "kmalloc");

/// The diagnostic for `lhist(v, min, max, step)` parameters [`AggKind::lhist`] refuses (`bounds`: min, max, step).
fn lhist_diagnostic(error: &AggError, bounds: &[ast::Expr]) -> Diagnostic {
    match error {
        AggError::LhistTooManyBuckets { .. } => Diagnostic::new(Code::Limit, bounds[2].span, error.to_string())
            .with_hint("use a larger step, or hist() for a log2 histogram"),
        _ => Diagnostic::new(Code::TypeMismatch, bounds[0].span.to(bounds[2].span), error.to_string())
            .with_hint("e.g. `lhist(args.vec, 0, 10, 1)`"),
    }
}

/// `1 argument`, `2 arguments`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// The warning for a statement whose value is not used (dropped: reading it has no effect worth keeping).
fn thrown_away(span: Span, message: impl Into<String>) -> Diagnostic {
    Diagnostic::warning(Code::TypeMismatch, span, message).with_hint("store it (`$x = ...`, `@x = ...`) or print it")
}

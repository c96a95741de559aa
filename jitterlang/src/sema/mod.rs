//! Semantic analysis: resolves probes through jitterlib's registry and the kernel metadata, types every
//! expression, collects maps and printf formats, and reports every problem it finds (not just the first).

mod access;
mod actions;
mod arrays;
pub mod builtins;
mod bytes;
mod calls;
mod expr;
mod lets;
mod loops;
mod map_decls;
mod map_functions;
mod maps;
mod names;
mod net;
mod params;
mod pointers;
mod registers;
mod sizeof;
mod stacks;
mod strings;
mod tuples;
mod uaddr;

use crate::ast::{self, Script};
use crate::config::MissingProbes;
use crate::diag::{Code, Diagnostic, Diagnostics, Severity, Span};
use crate::ir::WHILE_MAX_ITERATIONS;
use crate::ir::{
    Checked, CheckedProbe, ExprKind, OutlierInfo, PrintOptions, PrintfInfo, Stmt, StmtKind, Type, UNROLL_MAX,
};
use crate::CompileOptions;
use jitterlib::agg::EnumNames;
use jitterlib::kernel::KernelInfo;
use jitterlib::probe::{self, Probe, ProbeSpec};
use maps::MapTable;
use params::Params;

pub(crate) use expr::COMM_SIZE;

/// Checks a parsed script against the kernel, with the script's arguments (`$1`, `$2`, ...), the
/// `--arg name=value` pairs that set its parameters (`param $name = default`, `getopt("name", default)`) and
/// `--unsafe` from `options`.
/// `missing` (the script's `missing_probes` setting) says whether an attach point this kernel lacks is an error or
/// is skipped.
pub fn check(
    script: &Script,
    kernel: &dyn KernelInfo,
    options: &CompileOptions,
    missing: MissingProbes,
) -> Result<Checked, Diagnostics> {
    let with_records = crate::records::WithRecords::new(&script.records, kernel)?;
    let kernel: &dyn KernelInfo = &with_records;
    // A map is declared by an assignment in any probe, wherever it stands in the script (as in bpftrace 0.27): when a
    // pass finds a map used before the probe assigning it, the next pass starts knowing every map the previous one
    // declared, until a pass declares no new map (one pass for most scripts; a chain of reads and assignments needs
    // one per link).
    let mut known = MapTable::default();
    let mut var_widths = VarWidths::default();
    loop {
        let known_maps = known.len();
        let (checker, probes) = check_pass(script, kernel, options, missing, known, var_widths);
        // A string that grew, alone or in a tuple, in a map's key or value (`@m["a"]` then `@m["longer"]`) or in a
        // variable, is checked again from the start too, so that every use, a `for` loop's key variable included,
        // has the longest size (the sizes only grow: this ends).
        if checker.maps.unresolved() && checker.maps.len() > known_maps
            || checker.maps.widened()
            || checker.var_widths.widened
        {
            known = checker.maps.declared();
            var_widths = VarWidths { widened: false, ..checker.var_widths };
            continue;
        }
        return finish(script, checker, probes);
    }
}

/// One pass over the script, starting with the maps `known` declares.
fn check_pass<'k>(
    script: &Script,
    kernel: &'k dyn KernelInfo,
    options: &CompileOptions,
    missing: MissingProbes,
    known: MapTable,
    var_widths: VarWidths,
) -> (Checker<'k>, Vec<CheckedProbe>) {
    let mut diagnostics = Vec::new();
    let params = Params::resolve(&script.params, &options.named_args, &mut diagnostics);
    let mut checker = Checker {
        maps: known,
        var_widths,
        printfs: Vec::new(),
        diagnostics,
        warnings: Vec::new(),
        kernel,
        positionals: options.args.clone(),
        params,
        unsafe_actions: options.unsafe_actions,
        pid_namespace: options.pid_namespace,
        stacks: Vec::new(),
        uses_elapsed: false,
        time_formats: Vec::new(),
        outliers: Vec::new(),
        print_options: Vec::new(),
        enums: script.enums.iter().map(|def| EnumNames::new(&def.name, &def.enumerators)).collect(),
    };
    let mut resolved_probes = Vec::new();
    for block in &script.blocks {
        let resolved_before = resolved_probes.len();
        let mut skipped = false;
        for written in &block.probes {
            let Some((spec, part_spans)) = checker.probe_spec(written) else { continue };
            // A wildcard path stands for one probe per match, each running the block.
            let specs = match probe::expand(&spec, kernel) {
                Ok(specs) => specs,
                Err(error) => {
                    skipped |= checker.unresolved(error, written, &part_spans, missing);
                    continue;
                }
            };
            for spec in specs {
                match probe::resolve(&spec, kernel) {
                    Ok(resolved) => {
                        if let Some(reason) = resolved.unsafe_reason().filter(|_| !checker.unsafe_actions) {
                            let span = part_spans.last().copied().unwrap_or(written.span);
                            checker.diagnostics.push(
                                Diagnostic::new(
                                    Code::NeedsUnsafe,
                                    span,
                                    format!("{reason}: only allowed with --unsafe"),
                                )
                                .with_hint("check the offset with `objdump -d`, then run `jl --unsafe ...`"),
                            );
                        }
                        resolved_probes.push((resolved, block, written.span))
                    }
                    Err(error) => skipped |= checker.unresolved(error, written, &part_spans, missing),
                }
            }
        }
        if skipped && resolved_probes.len() == resolved_before && missing == MissingProbes::Warn {
            let span = block.probes.first().map_or(Span::default(), |probe| probe.span);
            checker.warnings.push(Diagnostic::warning(
                Code::MissingTarget,
                span,
                "this block has no attach point left on this kernel: it is removed",
            ));
        }
    }
    report_duplicate_benchmarks(&resolved_probes, &mut checker.diagnostics);
    // Where each program attaches can depend on the others (syscall events sharing a dispatcher on
    // raw_syscalls), and the block's `args` on where it attaches.
    let (mut resolved, places): (Vec<_>, Vec<_>) =
        resolved_probes.into_iter().map(|(probe, block, span)| (probe, (block, span))).unzip();
    probe::dispatch_syscalls(&mut resolved);
    let probes: Vec<_> = resolved
        .into_iter()
        .zip(places)
        .map(|(probe, (block, span))| checker.probe_block(probe, block, span))
        .collect();
    checker.params.report_unused(&mut checker.diagnostics);
    (checker, probes)
}

/// A `bench:` name used twice: each is a row of the results, told apart by name.
fn report_duplicate_benchmarks<T>(probes: &[(Box<dyn probe::Probe>, T, Span)], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    for (probe, _, span) in probes.iter().filter(|(probe, _, _)| probe.trigger() == Some(probe::Trigger::Bench)) {
        if !seen.insert(probe.describe()) {
            diagnostics.push(
                Diagnostic::new(Code::BadProbe, *span, format!("a second benchmark named `{}`", probe.describe()))
                    .with_hint("give each `bench:` block its own name: it names the block's row in the results"),
            );
        }
    }
}

/// The result of the last pass: the checked script, or every problem found.
fn finish(script: &Script, mut checker: Checker, probes: Vec<CheckedProbe>) -> Result<Checked, Diagnostics> {
    if script.blocks.is_empty() {
        checker.diagnostics.push(
            Diagnostic::new(Code::Syntax, Span::default(), "the script has no probes")
                .with_hint("e.g. `tracepoint:irq:softirq_entry { @[args.vec] = count(); }`"),
        );
    }
    if probes.is_empty() && !script.blocks.is_empty() && checker.diagnostics.is_empty() {
        let first = script.blocks.iter().flat_map(|block| &block.probes).next();
        let span = first.map_or(Span::default(), |probe| probe.span);
        checker.diagnostics.push(
            Diagnostic::new(Code::MissingTarget, span, "no probes to attach: this kernel has none of them")
                .with_hint("every attach point was skipped under `missing_probes`; `missing_probes = warn` names each"),
        );
    }
    let mut maps = checker.maps.into_infos();
    map_decls::apply(&script.map_decls, &mut maps, &mut checker.diagnostics, &mut checker.warnings);
    if checker.diagnostics.is_empty() {
        Ok(Checked {
            probes,
            maps,
            printfs: checker.printfs,
            stacks: checker.stacks,
            uses_elapsed: checker.uses_elapsed,
            time_formats: checker.time_formats,
            outliers: checker.outliers,
            print_options: checker.print_options,
            warnings: Diagnostics(checker.warnings),
        })
    } else {
        checker.diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
        // A block run by several probes (a wildcard) is checked once per probe: report each problem once.
        checker.diagnostics.dedup_by(|a, b| a.span == b.span && a.message == b.message);
        Err(Diagnostics(checker.diagnostics))
    }
}

/// A probe that does not resolve, as a diagnostic pointing at the part of `written` at fault.
fn probe_diagnostic(error: probe::ProbeError, written: &ast::Probe, part_spans: &[Span]) -> Diagnostic {
    let span = error.position.and_then(|i| part_spans.get(i).copied()).unwrap_or(written.span);
    Diagnostic::probe(error, span)
}

fn path_part_spans(parts: &[String], whole: Span) -> Vec<Span> {
    let mut start = whole.start;
    parts
        .iter()
        .map(|part| {
            let span = Span::new(start, start + part.len());
            start += part.len() + 1;
            span
        })
        .collect()
}

/// The types of the variables that grew in a pass (a longer string, alone or in a tuple, assigned after a shorter
/// one), by probe block and name, and of the `let $x;` read before their first assignment, by the declaration's
/// span and name: the next pass gives them that type from their first assignment, or their declaration.
#[derive(Default)]
struct VarWidths {
    types: Vec<(Span, String, Type)>,
    /// Whether a variable grew in this pass.
    widened: bool,
}

impl VarWidths {
    /// The type a variable of `block` grew to in an earlier pass.
    fn known(&self, block: Span, name: &str) -> Option<Type> {
        self.types.iter().find(|(span, known, _)| *span == block && known == name).map(|(_, _, ty)| *ty)
    }

    fn grew(&mut self, block: Span, name: &str, ty: Type) {
        self.types.retain(|(span, known, _)| !(*span == block && known == name));
        self.types.push((block, name.to_string(), ty));
        self.widened = true;
    }
}

/// State shared by every probe of the script.
struct Checker<'k> {
    maps: MapTable,
    var_widths: VarWidths,
    printfs: Vec<PrintfInfo>,
    diagnostics: Vec<Diagnostic>,
    /// Problems that do not stop the compilation.
    warnings: Vec<Diagnostic>,
    kernel: &'k dyn KernelInfo,
    positionals: Vec<String>,
    params: Params,
    /// Whether `signal()` and `system()` are allowed (`--unsafe`).
    unsafe_actions: bool,
    /// The pid namespace `pid` and `tid` count in, when jl runs in one other than the initial.
    pid_namespace: Option<crate::PidNamespace>,
    /// Frame limits of the stacks recorded, in order of first use (see [`Checked::stacks`]).
    stacks: Vec<u32>,
    uses_elapsed: bool,
    time_formats: Vec<String>,
    outliers: Vec<OutlierInfo>,
    /// The options of the `print(@m, top, div)` calls, each once (see [`Checked::print_options`]).
    print_options: Vec<PrintOptions>,
    /// The enums the script defines (`(enum NAME)x` finds them here).
    enums: Vec<EnumNames>,
}

impl Checker<'_> {
    /// Reports a probe that does not resolve: an error, unless it names a target this kernel lacks and the script's
    /// `missing_probes` setting skips those (with a warning, or silently). Says whether it was skipped.
    fn unresolved(
        &mut self,
        error: probe::ProbeError,
        written: &ast::Probe,
        part_spans: &[Span],
        missing: MissingProbes,
    ) -> bool {
        let skippable = error.kind == probe::ProbeErrorKind::MissingTarget;
        let diagnostic = probe_diagnostic(error, written, part_spans);
        match missing {
            MissingProbes::Warn if skippable => self.warnings.push(
                Diagnostic { severity: Severity::Warning, ..diagnostic }
                    .with_note("skipped, as the script's `missing_probes = warn` says"),
            ),
            MissingProbes::Ignore if skippable => {}
            _ => {
                self.diagnostics.push(diagnostic);
                return false;
            }
        }
        true
    }
}

/// State of one probe's block.
struct Scope<'p> {
    probe: &'p dyn Probe,
    /// The probe block (its variables' widths are kept by it: see [`VarWidths`]).
    block: Span,
    vars: Vec<Var>,
    /// How many `while`/`unroll` bodies enclose the statement being checked.
    loop_depth: usize,
    /// How many `for ($kv : @m)` bodies enclose it (each a callback without the probe's context).
    map_loop_depth: usize,
    /// The variable a `return` in a `for` loop over a map sets (see `StmtKind::ForMap`), once one is seen.
    loop_return: Option<usize>,
    /// The variables the enclosing blocks declare (`let`) or first assign, innermost block last.
    declared: Vec<usize>,
    /// The `let $x;` without a type of the probe.
    untyped: Vec<lets::Untyped>,
    /// Variables whose assignment had an error (already reported): their uses are not reported again.
    failed_vars: Vec<String>,
    /// The probe's bare-name fields and `args.NAME` the block reads (see `Probe::only_fields_read`).
    fields_read: Vec<String>,
}

/// A variable of a probe: one stack slot.
struct Var {
    name: String,
    ty: Type,
    /// Where it is declared (`let`) or first assigned.
    at: Span,
    /// Whether the block it belongs to is still open (a closed block's variables are out of sight).
    visible: bool,
}

impl Scope<'_> {
    /// The variable `name` seen from the statement being checked.
    fn visible(&self, name: &str) -> Option<usize> {
        self.vars.iter().rposition(|var| var.visible && var.name == name)
    }

    /// A new variable `name` of the innermost open block, declared or first assigned at `at`.
    fn declare(&mut self, name: &str, ty: Type, at: Span) -> usize {
        self.vars.push(Var { name: name.to_string(), ty, at, visible: true });
        self.declared.push(self.vars.len() - 1);
        self.vars.len() - 1
    }

    /// Where `name` was last declared, in a block that has ended.
    fn out_of_sight(&self, name: &str) -> Option<Span> {
        self.vars.iter().rev().find(|var| !var.visible && var.name == name).map(|var| var.at)
    }
}

impl Checker<'_> {
    /// The spec of a probe as written, with script arguments substituted, and the span of each part or
    /// argument (for errors); `None` when an argument is bad (already reported).
    fn probe_spec(&mut self, written: &ast::Probe) -> Option<(ProbeSpec, Vec<Span>)> {
        Some(match &written.kind {
            ast::ProbeKind::Path(parts) if parts.iter().any(|part| part.contains('$')) => {
                // The parts are known once the arguments are in: every part points at the whole probe.
                let text = self.positionals_in(&parts.join(":"), written.span)?;
                let parts: Vec<String> = text.split(':').map(str::to_string).collect();
                let spans = vec![written.span; parts.len()];
                (ProbeSpec::Path(parts), spans)
            }
            ast::ProbeKind::Path(parts) => (ProbeSpec::Path(parts.clone()), path_part_spans(parts, written.span)),
            ast::ProbeKind::Typed { name, args } => {
                let resolved: Vec<_> = args.iter().map(|arg| (self.probe_arg(arg), arg.span())).collect();
                let mut spec_args = Vec::with_capacity(args.len());
                let mut spans = Vec::with_capacity(args.len());
                for (value, span) in resolved {
                    // An argument `$N` that is not given is left out: the probe's default applies.
                    if let Some(value) = value? {
                        spec_args.push(value);
                        spans.push(span);
                    }
                }
                (ProbeSpec::Typed { name: name.clone(), args: spec_args }, spans)
            }
        })
    }

    fn probe_block(&mut self, probe: Box<dyn Probe>, block: &ast::ProbeBlock, span: Span) -> CheckedProbe {
        let mut scope = Scope {
            probe: probe.as_ref(),
            block: block.span,
            vars: Vec::new(),
            declared: Vec::new(),
            untyped: Vec::new(),
            loop_depth: 0,
            map_loop_depth: 0,
            loop_return: None,
            failed_vars: Vec::new(),
            fields_read: Vec::new(),
        };
        let predicate = block.predicate.as_ref().and_then(|pred| self.condition(pred, &mut scope));
        let body = self.block(&block.body, &mut scope);
        self.end_untyped(&scope);
        let vars = scope.vars.into_iter().map(|var| var.ty).collect();
        let fields_read = scope.fields_read;
        let mut probe = probe;
        if let Err(error) = probe.only_fields_read(self.kernel, &fields_read) {
            self.diagnostics.push(Diagnostic::probe(error, span));
        }
        CheckedProbe { probe, predicate, body, vars, span }
    }

    fn stmts(&mut self, stmts: &[ast::Stmt], scope: &mut Scope) -> Vec<Stmt> {
        let mut checked = Vec::new();
        // The statement that leaves the block, once one has, and whether the one after it was warned of.
        let mut left_by: Option<(&str, Span)> = None;
        let mut warned = false;
        for stmt in stmts {
            if let (Some((how, span)), false) = (left_by, warned) {
                self.warnings.push(unreachable(stmt.span, how, span));
                warned = true;
            }
            let Some(kind) = self.stmt(stmt, scope) else { continue };
            let leaves = match kind {
                StmtKind::Exit { .. } => Some("exit()"),
                StmtKind::Return => Some("return"),
                StmtKind::Break => Some("break"),
                StmtKind::Continue => Some("continue"),
                _ => None,
            };
            if let (None, Some(how)) = (left_by, leaves) {
                left_by = Some((how, stmt.span));
            }
            checked.push(Stmt { kind, span: stmt.span });
        }
        checked
    }

    fn stmt(&mut self, stmt: &ast::Stmt, scope: &mut Scope) -> Option<StmtKind> {
        match &stmt.kind {
            ast::StmtKind::Expr(expr) => self.expr_stmt(expr, scope),
            ast::StmtKind::MapAssign { target, op, value } => self.map_assign(target, *op, value, scope),
            ast::StmtKind::VarAssign { name, name_span, op, value } => {
                self.var_assign(name, *name_span, *op, value, scope)
            }
            ast::StmtKind::If { cond, then, otherwise } => {
                let cond = self.condition(cond, scope);
                let then = self.block(then, scope);
                let otherwise = self.block(otherwise, scope);
                Some(StmtKind::If { cond: cond?, then, otherwise })
            }
            ast::StmtKind::Scoped { body, result } => {
                let mark = scope.declared.len();
                let mut then = self.stmts(body, scope);
                let inner = scope.declared.len();
                let result = result
                    .as_deref()
                    .and_then(|result| Some(Stmt { kind: self.stmt(result, scope)?, span: result.span }));
                // A variable the result assigns first belongs to the enclosing block.
                let outer: Vec<usize> = scope.declared.drain(inner..).collect();
                lets::end_block(scope, mark);
                scope.declared.extend(outer);
                then.extend(result);
                let always = crate::ir::Expr { kind: ExprKind::Const(1), ty: Type::I64, span: stmt.span };
                Some(StmtKind::If { cond: always, then, otherwise: Vec::new() })
            }
            ast::StmtKind::While { cond, body: written } => {
                let cond = self.condition(cond, scope);
                let body = self.loop_body(written, scope);
                let cond = cond?;
                if matches!(cond.kind, ExprKind::Const(value) if value != 0) && !has_exit(written, true) {
                    self.warnings.push(endless_loop(cond.span));
                }
                Some(StmtKind::While { init: Vec::new(), cond, body, step: Vec::new() })
            }
            ast::StmtKind::Unroll { count, body } => {
                let body = self.loop_body(body, scope);
                let count = self.unroll_count(count, scope)?;
                Some(StmtKind::Unroll { count, body })
            }
            ast::StmtKind::Let { name, name_span, ty, value } => {
                self.let_stmt(name, *name_span, ty.as_ref(), value.as_ref(), scope)
            }
            ast::StmtKind::For { name, name_span, start, end, body } => {
                self.for_loop(name, *name_span, start, end, body, scope)
            }
            ast::StmtKind::ForMap { name, name_span, map, body } => self.for_map(name, *name_span, map, body, scope),
            ast::StmtKind::Return if scope.map_loop_depth > 0 && scope.loop_return.is_none() => {
                // The loop body is a callback of its own: a variable of the probe tells the probe to return too.
                let flag =
                    Var { name: "return from a map loop".to_string(), ty: Type::Bool, at: stmt.span, visible: false };
                scope.vars.push(flag);
                scope.loop_return = Some(scope.vars.len() - 1);
                Some(StmtKind::Return)
            }
            ast::StmtKind::Return => Some(StmtKind::Return),
            ast::StmtKind::Break | ast::StmtKind::Continue => self.loop_exit(stmt, scope),
        }
    }

    /// The count of `unroll(N)`: an integer from 1 to [`UNROLL_MAX`], written or given as a script argument.
    fn unroll_count(&mut self, count: &ast::Expr, scope: &mut Scope) -> Option<u32> {
        let value = self.expr(count, scope)?;
        match value.kind {
            ExprKind::Const(n) if u64::try_from(n).is_ok_and(|n| (1..=UNROLL_MAX).contains(&n)) => {
                u32::try_from(n).ok()
            }
            // The grammar takes an integer or `$N`, both constants.
            _ => {
                let written = match value.kind {
                    ExprKind::Const(n) => n.to_string(),
                    _ => "this".to_string(),
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Limit,
                        count.span,
                        format!("unroll takes a count from 1 to {UNROLL_MAX}, not {written}"),
                    )
                    .with_hint("use `while (cond) { ... }` for longer loops"),
                );
                None
            }
        }
    }

    fn loop_body(&mut self, body: &[ast::Stmt], scope: &mut Scope) -> Vec<Stmt> {
        scope.loop_depth += 1;
        let body = self.block(body, scope);
        scope.loop_depth -= 1;
        body
    }

    /// `break` / `continue`, which need an enclosing loop.
    fn loop_exit(&mut self, stmt: &ast::Stmt, scope: &Scope) -> Option<StmtKind> {
        let (word, checked) = match stmt.kind {
            ast::StmtKind::Break => ("break", StmtKind::Break),
            _ => ("continue", StmtKind::Continue),
        };
        if scope.loop_depth == 0 {
            self.diagnostics.push(
                Diagnostic::new(Code::Syntax, stmt.span, format!("`{word}` outside of a loop")).with_hint(
                    "`break` and `continue` go inside `while (...) { }`, `for ($i : 0..N) { }` or `unroll(N) { }`; `return` leaves the probe",
                ),
            );
            return None;
        }
        Some(checked)
    }

    fn var_assign(
        &mut self,
        name: &str,
        name_span: Span,
        op: Option<ast::BinaryOp>,
        value: &ast::Expr,
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        let value = match op {
            None => match self.expr(value, scope) {
                Some(value) => value,
                None => {
                    scope.failed_vars.push(name.to_string());
                    return None;
                }
            },
            Some(op) => {
                let current = ast::Expr { kind: ast::ExprKind::Var(name.to_string()), span: name_span };
                let combined = ast::Expr {
                    kind: ast::ExprKind::Binary(op, Box::new(current), Box::new(value.clone())),
                    span: name_span.to(value.span),
                };
                self.expr(&combined, scope)?
            }
        };
        if value.ty == Type::Void {
            self.diagnostics.push(Diagnostic::new(Code::TypeMismatch, value.span, "this expression has no value"));
            return None;
        }
        if self.params.get(name).is_some() {
            self.diagnostics.push(
                Diagnostic::new(Code::BadParam, name_span, format!("`${name}` is a script parameter: it is read-only"))
                    .with_hint(format!("set it with `jl --arg {name}=VALUE`, or use another variable name")),
            );
            return None;
        }
        let value = match scope.visible(name) {
            Some(index) => tuples::in_declared_order(value, scope.vars[index].ty),
            None => value,
        };
        let var = match scope.visible(name) {
            Some(index) if scope.vars[index].ty == Type::Void => {
                // The first assignment of a `let $x;`.
                let known = self.var_widths.known(scope.block, name).and_then(|known| known.widest(value.ty));
                scope.vars[index].ty = known.unwrap_or(value.ty);
                index
            }
            Some(index) => {
                let declared = scope.vars[index].ty;
                // A longer string (alone or in a tuple) widens the variable, as in bpftrace 0.27.
                if let Some(wider) = declared.widest(value.ty).filter(|wider| *wider != declared) {
                    scope.vars[index].ty = wider;
                    self.var_widths.grew(scope.block, name, wider);
                } else if !compatible(declared, value.ty) {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            value.span,
                            format!("`${name}` holds {}, not {}", declared.describe(), value.ty.describe()),
                        )
                        .with_hint("a variable keeps the type of its first assignment; use another variable"),
                    );
                    return None;
                }
                index
            }
            None => {
                let known = self.var_widths.known(scope.block, name).and_then(|known| known.widest(value.ty));
                scope.declare(name, known.unwrap_or(value.ty), name_span)
            }
        };
        Some(StmtKind::SetVar { var, value })
    }
}

/// Whether statements hold a `return` or an `exit()` (both leave the probe), or with `breaks` a `break` of the
/// loop they are the body of.
fn has_exit(stmts: &[ast::Stmt], breaks: bool) -> bool {
    stmts.iter().any(|stmt| match &stmt.kind {
        ast::StmtKind::Return => true,
        ast::StmtKind::Expr(ast::Expr { kind: ast::ExprKind::Call { name, .. }, .. }) => name == "exit",
        ast::StmtKind::Break => breaks,
        ast::StmtKind::If { then, otherwise, .. } => has_exit(then, breaks) || has_exit(otherwise, breaks),
        ast::StmtKind::Scoped { body, .. } => has_exit(body, breaks),
        // A `break` in an inner loop leaves only that loop.
        ast::StmtKind::While { body, .. }
        | ast::StmtKind::For { body, .. }
        | ast::StmtKind::ForMap { body, .. }
        | ast::StmtKind::Unroll { body, .. } => has_exit(body, false),
        _ => false,
    })
}

/// The warning for a statement at `span` that never runs, as it follows `how` (at `left`) in its block: bpftrace
/// warns of it too, and jl generates no code for it.
fn unreachable(span: Span, how: &str, left: Span) -> Diagnostic {
    Diagnostic::warning(Code::Unreachable, span, "this statement never runs")
        .with_related(left, format!("`{how}` leaves the block before it"))
        .with_hint("remove it, or move it before the statement that leaves")
}

/// The warning for `while (1)` (a constant true condition at `span`) without a way out.
fn endless_loop(span: Span) -> Diagnostic {
    Diagnostic::warning(Code::EndlessLoop, span, "this loop can only end at its iteration cap")
        .with_label("always true, and nothing in the body leaves this loop (`break`, `return`, `exit()`)")
        .with_note(format!("`while` stops after {WHILE_MAX_ITERATIONS} iterations, then the probe goes on after it"))
        .with_hint("add `if (...) { break; }` for when the work is done, or use `unroll(N)` for a fixed count")
}

/// Whether a value of type `found` may be stored where `expected` was declared.
fn compatible(expected: Type, found: Type) -> bool {
    match (expected, found) {
        (Type::Bool, other) | (other, Type::Bool) => other == Type::Bool,
        // A string (alone or in a tuple) no longer than the variable's, written NUL-padded.
        (a, b) => a.is_scalar() && b.is_scalar() || a.widest(b) == Some(a),
    }
}

//! bpftrace's hygienic macros, expanded in place before type checking.
//!
//! `macro name($var, @map, expr) { statements; value }`: a `$var` parameter takes a scratch variable of the caller
//! (which the body may change), `@map` a map, and a bare name any expression, written in again wherever the body
//! names it. Other variables of the body are its own: renamed per expansion, so they never meet the caller's.
//! A body that ends with an expression has that value; its statements before that run just before the statement
//! the call is in. Macros are expanded in place, so one cannot call itself.

use crate::ast::*;
use crate::diag::{Code, Diagnostic, Span};
use std::collections::{HashMap, HashSet};

type Result<T> = std::result::Result<T, Diagnostic>;

/// Most expansions one script may ask for (a macro calling another twice, ten deep, is already 1024).
const MAX_EXPANSIONS: usize = 10_000;

/// Most calls an error inside a macro points at.
const MAX_CALLS_SHOWN: usize = 3;

/// Deepest nesting of macros calling macros: each level nests its body's expressions into the caller's, and
/// the passes after this one recurse over that depth.
const MAX_DEPTH: usize = 16;

/// `macro name(params) { body }` as written.
pub(super) struct MacroDef {
    pub name: String,
    pub name_span: Span,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

/// One parameter: `$var`, `@map` or `expr`, its name with the sigil.
pub(super) struct Param {
    pub name: String,
    pub span: Span,
}

impl Param {
    fn kind(&self) -> ParamKind {
        match self.name.as_bytes().first() {
            Some(b'$') => ParamKind::Var,
            Some(b'@') => ParamKind::Map,
            _ => ParamKind::Expr,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ParamKind {
    Var,
    Map,
    Expr,
}

/// Expands every macro call of `blocks`; returns where each expansion happened.
pub(super) fn expand(defs: Vec<MacroDef>, blocks: &mut [ProbeBlock]) -> Result<Vec<Expansion>> {
    let mut table = HashMap::new();
    for def in &defs {
        check_params(def)?;
        if let Some(earlier) = table.insert(def.name.as_str(), def) {
            return Err(Diagnostic::new(Code::MapConflict, def.name_span, format!("`{}` is defined twice", def.name))
                .with_related(earlier.name_span, "first defined here")
                .with_hint("give one of them another name"));
        }
    }
    let mut expander = Expander { defs: table, stack: Vec::new(), expansions: Vec::new(), fresh: 0, conditional: None };
    for block in blocks.iter_mut() {
        if let Some(predicate) = block.predicate.take() {
            expander.conditional = Some("a predicate");
            let mut hoisted = Vec::new();
            block.predicate = Some(expander.expr(predicate, &mut hoisted)?);
            expander.conditional = None;
        }
        block.body = expander.stmts(std::mem::take(&mut block.body))?;
    }
    Ok(expander.expansions)
}

/// Adds, to a diagnostic inside a macro's definition, the calls whose expansion it came from.
pub fn point_at_calls(mut diagnostic: Diagnostic, expansions: &[Expansion]) -> Diagnostic {
    let inside = |span: Span, outer: Span| outer.start <= span.start && span.end <= outer.end;
    let mut seen = HashSet::new();
    let at = diagnostic.span;
    for expansion in expansions.iter().filter(|e| inside(at, e.definition)) {
        if seen.insert(expansion.call) && seen.len() <= MAX_CALLS_SHOWN {
            diagnostic = diagnostic.with_related(expansion.call, format!("in this expansion of `{}`", expansion.name));
        }
    }
    if seen.len() > MAX_CALLS_SHOWN {
        diagnostic = diagnostic.with_note(format!("and in {} more expansions", seen.len() - MAX_CALLS_SHOWN));
    }
    diagnostic
}

fn check_params(def: &MacroDef) -> Result<()> {
    let mut names = HashSet::new();
    for param in &def.params {
        if !names.insert(param.name.trim_start_matches(['$', '@'])) {
            return Err(Diagnostic::new(
                Code::BadParam,
                param.span,
                format!("macro `{}` has two parameters named `{}`", def.name, param.name),
            )
            .with_hint("each parameter needs its own name"));
        }
    }
    Ok(())
}

struct Expander<'a> {
    defs: HashMap<&'a str, &'a MacroDef>,
    /// The macros being expanded, outermost first.
    stack: Vec<&'a str>,
    expansions: Vec<Expansion>,
    /// Counter making the body variables of each expansion distinct.
    fresh: usize,
    /// Set while expanding an expression evaluated only sometimes or repeatedly (a predicate, a `while`
    /// condition, the right of `&&`): statements of a macro cannot run before it.
    conditional: Option<&'static str>,
}

impl<'a> Expander<'a> {
    fn stmts(&mut self, stmts: Vec<Stmt>) -> Result<Vec<Stmt>> {
        let mut out = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            if let StmtKind::Expr(expr) = &stmt.kind {
                if let Some((def, args)) = self.call_of(expr) {
                    let args = args.to_vec();
                    let mut hoisted = Vec::new();
                    let args = args.into_iter().map(|arg| self.arg(arg, &mut hoisted)).collect::<Result<Vec<_>>>()?;
                    out.extend(hoisted);
                    let body = self.instantiate(def, args, expr.span)?;
                    out.extend(self.inside(def, |this| this.stmts(body))?);
                    continue;
                }
            }
            let mut hoisted = Vec::new();
            let stmt = block_statement(stmt).map(|stmt| self.stmt(stmt, &mut hoisted)).transpose()?;
            out.extend(hoisted);
            out.extend(stmt);
        }
        Ok(out)
    }

    /// A macro argument: a block is substituted as written, so that its statements run wherever the body
    /// names the parameter (as bpftrace substitutes it); anything else is expanded here.
    fn arg(&mut self, arg: Expr, hoisted: &mut Vec<Stmt>) -> Result<Expr> {
        match arg.kind {
            ExprKind::Block { .. } => Ok(arg),
            _ => self.expr(arg, hoisted),
        }
    }

    /// A block used as a value: its statements, then its value kept in a fresh variable, run in a scope of
    /// their own before the statement (so that its `let` variables end with it); the value is that variable.
    fn block_value(
        &mut self,
        stmts: Vec<Stmt>,
        value: Option<Box<Expr>>,
        span: Span,
        hoisted: &mut Vec<Stmt>,
    ) -> Result<Expr> {
        let Some(value) = value else {
            return Err(Diagnostic::new(Code::TypeMismatch, span, "this block has no value: it ends with a statement")
                .with_hint("end it with an expression and no `;` after it, e.g. `{ $x = 1; $x + 1 }`"));
        };
        if let Some(place) = self.conditional.filter(|_| !stmts.is_empty()) {
            return Err(Diagnostic::new(
                Code::Unsupported,
                span,
                format!("this block runs statements before its value, which cannot happen in {place}"),
            )
            .with_hint("assign the block to a variable first (`$v = { ... };`) and use the variable"));
        }
        self.fresh += 1;
        // `#` cannot be written in a variable name, so the script's variables are never met.
        let name = format!("block#{}", self.fresh);
        let assign = StmtKind::VarAssign { name: name.clone(), name_span: span, op: None, value: *value };
        let result = Some(Box::new(Stmt { kind: assign, span }));
        hoisted.extend(self.stmts(vec![Stmt { kind: StmtKind::Scoped { body: stmts, result }, span }])?);
        Ok(Expr { kind: ExprKind::Var(name), span })
    }

    fn stmt(&mut self, stmt: Stmt, hoisted: &mut Vec<Stmt>) -> Result<Stmt> {
        let kind = match stmt.kind {
            StmtKind::Expr(expr) => StmtKind::Expr(self.expr(expr, hoisted)?),
            StmtKind::MapAssign { target, op, value } => {
                StmtKind::MapAssign { target: self.map_ref(target, hoisted)?, op, value: self.expr(value, hoisted)? }
            }
            StmtKind::VarAssign { name, name_span, op, value } => {
                StmtKind::VarAssign { name, name_span, op, value: self.expr(value, hoisted)? }
            }
            StmtKind::Let { name, name_span, ty, value } => StmtKind::Let {
                name,
                name_span,
                ty: ty.map(|t| self.expr(t, hoisted)).transpose()?,
                value: value.map(|v| self.expr(v, hoisted)).transpose()?,
            },
            StmtKind::If { cond, then, otherwise } => StmtKind::If {
                cond: self.expr(cond, hoisted)?,
                then: self.stmts(then)?,
                otherwise: self.stmts(otherwise)?,
            },
            StmtKind::Scoped { body, result } => {
                let mut body = self.stmts(body)?;
                let mut inner = Vec::new();
                let result = result.map(|result| self.stmt(*result, &mut inner)).transpose()?;
                body.extend(inner);
                StmtKind::Scoped { body, result: result.map(Box::new) }
            }
            StmtKind::While { cond, body } => {
                let cond = self.conditionally("a `while` condition", |this| this.expr(cond, hoisted))?;
                StmtKind::While { cond, body: self.stmts(body)? }
            }
            StmtKind::For { name, name_span, start, end, body } => StmtKind::For {
                name,
                name_span,
                start: self.expr(start, hoisted)?,
                end: self.expr(end, hoisted)?,
                body: self.stmts(body)?,
            },
            StmtKind::ForMap { name, name_span, map, body } => {
                StmtKind::ForMap { name, name_span, map: self.map_ref(map, hoisted)?, body: self.stmts(body)? }
            }
            StmtKind::Unroll { count, body } => StmtKind::Unroll { count, body: self.stmts(body)? },
            kind @ (StmtKind::Return | StmtKind::Break | StmtKind::Continue) => kind,
        };
        Ok(Stmt { kind, span: stmt.span })
    }

    fn map_ref(&mut self, map: MapRef, hoisted: &mut Vec<Stmt>) -> Result<MapRef> {
        let keys = map.keys.into_iter().map(|key| self.expr(key, hoisted)).collect::<Result<_>>()?;
        Ok(MapRef { keys, ..map })
    }

    fn expr(&mut self, expr: Expr, hoisted: &mut Vec<Stmt>) -> Result<Expr> {
        if let Some((def, args)) = self.call_of(&expr) {
            let args = args.to_vec();
            let args = args.into_iter().map(|arg| self.arg(arg, hoisted)).collect::<Result<Vec<_>>>()?;
            let mut body = self.instantiate(def, args, expr.span)?;
            let value = match body.pop() {
                Some(Stmt { kind: StmtKind::Expr(value), .. }) => value,
                _ => {
                    return Err(Diagnostic::new(
                        Code::TypeMismatch,
                        expr.span,
                        format!("macro `{}` has no value: its body does not end with an expression", def.name),
                    )
                    .with_related(def.span, "defined here")
                    .with_hint(format!("call it as a statement, `{}(...);`, or end its body with a value", def.name)))
                }
            };
            return self.inside(def, |this| {
                let body = this.stmts(body)?;
                if let (Some(place), false) = (this.conditional, body.is_empty()) {
                    return Err(Diagnostic::new(
                        Code::Unsupported,
                        expr.span,
                        format!(
                            "macro `{}` runs statements before its value, which cannot happen in {place}",
                            def.name
                        ),
                    )
                    .with_related(def.span, "defined here")
                    .with_hint("assign its value to a variable first (`$v = macro(...);`) and use the variable"));
                }
                hoisted.extend(body);
                this.expr(value, hoisted)
            });
        }
        let span = expr.span;
        let kind = match expr.kind {
            ExprKind::Block { stmts, value } => return self.block_value(stmts, value, span, hoisted),
            ExprKind::Map(map) => ExprKind::Map(self.map_ref(map, hoisted)?),
            ExprKind::Call { name, name_span, args } => ExprKind::Call {
                name,
                name_span,
                args: args.into_iter().map(|arg| self.expr(arg, hoisted)).collect::<Result<_>>()?,
            },
            ExprKind::Field { base, field, field_span, arrow } => {
                ExprKind::Field { base: Box::new(self.expr(*base, hoisted)?), field, field_span, arrow }
            }
            ExprKind::Index { base, index } => ExprKind::Index {
                base: Box::new(self.expr(*base, hoisted)?),
                index: Box::new(self.expr(*index, hoisted)?),
            },
            ExprKind::Tuple(items) => {
                ExprKind::Tuple(items.into_iter().map(|item| self.expr(item, hoisted)).collect::<Result<_>>()?)
            }
            ExprKind::Record { names, values } => ExprKind::Record {
                names,
                values: values.into_iter().map(|value| self.expr(value, hoisted)).collect::<Result<_>>()?,
            },
            ExprKind::TupleIndex { base, index, index_span } => {
                ExprKind::TupleIndex { base: Box::new(self.expr(*base, hoisted)?), index, index_span }
            }
            ExprKind::Cast { ty, ty_span, operand } => {
                ExprKind::Cast { ty, ty_span, operand: Box::new(self.expr(*operand, hoisted)?) }
            }
            ExprKind::Unary(op, operand) => ExprKind::Unary(op, Box::new(self.expr(*operand, hoisted)?)),
            ExprKind::Deref(operand) => ExprKind::Deref(Box::new(self.expr(*operand, hoisted)?)),
            ExprKind::AddressOf(operand) => ExprKind::AddressOf(Box::new(self.expr(*operand, hoisted)?)),
            ExprKind::Binary(op, lhs, rhs) => {
                let lhs = self.expr(*lhs, hoisted)?;
                let rhs = if matches!(op, BinaryOp::And | BinaryOp::Or) {
                    self.conditionally("the right of `&&` or `||`", |this| this.expr(*rhs, hoisted))?
                } else {
                    self.expr(*rhs, hoisted)?
                };
                ExprKind::Binary(op, Box::new(lhs), Box::new(rhs))
            }
            ExprKind::Ternary { cond, then, otherwise } => {
                let cond = Box::new(self.expr(*cond, hoisted)?);
                let (then, otherwise) = self.conditionally("a branch of `?:`", |this| {
                    Ok((this.expr(*then, hoisted)?, this.expr(*otherwise, hoisted)?))
                })?;
                ExprKind::Ternary { cond, then: Box::new(then), otherwise: Box::new(otherwise) }
            }
            ExprKind::TypeOf(value) => ExprKind::TypeOf(Box::new(self.expr(*value, hoisted)?)),
            kind @ (ExprKind::Int(_)
            | ExprKind::Bool(_)
            | ExprKind::Type(_)
            | ExprKind::Duration(_)
            | ExprKind::Str(_)
            | ExprKind::Ident(_)
            | ExprKind::Var(_)
            | ExprKind::Positional(_)
            | ExprKind::ArgCount) => kind,
        };
        Ok(Expr { kind, span })
    }

    fn conditionally<T>(&mut self, place: &'static str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let outer = self.conditional.replace(self.conditional.unwrap_or(place));
        let result = f(self);
        self.conditional = outer;
        result
    }

    /// The macro an expression calls and its arguments: `name(args)`, or a bare `name` for one without
    /// parameters. A macro named as a builtin takes only the calls of its own arity: the others are the
    /// builtin's (as bpftrace's macros, which override its stdlib only with the same signature).
    fn call_of<'e>(&self, expr: &'e Expr) -> Option<(&'a MacroDef, &'e [Expr])> {
        match &expr.kind {
            ExprKind::Call { name, args, .. } => self
                .defs
                .get(name.as_str())
                .filter(|def| def.params.len() == args.len() || !crate::sema::builtins::exists(name))
                .map(|def| (*def, args.as_slice())),
            ExprKind::Ident(name) => {
                self.defs.get(name.as_str()).filter(|def| def.params.is_empty()).map(|def| (*def, &[][..]))
            }
            _ => None,
        }
    }

    /// Runs `f` with `def` on the stack of macros being expanded.
    fn inside<T>(&mut self, def: &'a MacroDef, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.stack.push(&def.name);
        let result = f(self);
        self.stack.pop();
        result
    }

    /// The body of `def` for one call: parameters replaced by the arguments, its own variables renamed.
    fn instantiate(&mut self, def: &'a MacroDef, args: Vec<Expr>, call: Span) -> Result<Vec<Stmt>> {
        if self.stack.contains(&def.name.as_str()) {
            let chain = self.stack.iter().chain(std::iter::once(&def.name.as_str())).copied().collect::<Vec<_>>();
            let chain = chain[chain.iter().position(|name| *name == def.name).unwrap_or(0)..].join("` -> `");
            return Err(Diagnostic::new(
                Code::Unsupported,
                call,
                format!("macro `{}` calls itself: `{chain}`", def.name),
            )
            .with_related(def.name_span, "defined here")
            .with_hint("macros are expanded in place, so they cannot recurse: repeat with a loop (`for`, `while`)"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::new(
                Code::Limit,
                call,
                format!("macros nest more than {MAX_DEPTH} deep here: `{}`", self.stack.join("` -> `")),
            )
            .with_hint("call fewer macros from macros"));
        }
        if self.expansions.len() >= MAX_EXPANSIONS {
            return Err(Diagnostic::new(
                Code::Limit,
                call,
                format!("more than {MAX_EXPANSIONS} macro expansions: the script grows too large"),
            ));
        }
        if args.len() != def.params.len() {
            let signature = def.params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(Diagnostic::new(
                Code::Arity,
                call,
                format!("macro `{}` takes {} arguments, {} given", def.name, def.params.len(), args.len()),
            )
            .with_related(def.name_span, "defined here")
            .with_hint(format!("call it as `{}({signature})`", def.name)));
        }
        self.expansions.push(Expansion { name: def.name.clone(), call, definition: def.span });
        self.fresh += 1;
        let mut bindings = Bindings { vars: HashMap::new(), maps: HashMap::new(), exprs: HashMap::new() };
        for (param, arg) in def.params.iter().zip(args) {
            let name = param.name.trim_start_matches(['$', '@']).to_string();
            match (param.kind(), arg.kind) {
                (ParamKind::Var, ExprKind::Var(var)) => {
                    bindings.vars.insert(name, var);
                }
                (ParamKind::Map, ExprKind::Map(map)) if map.keys.is_empty() => {
                    bindings.maps.insert(param.name.clone(), map.name);
                }
                (ParamKind::Expr, kind) => {
                    bindings.exprs.insert(name, Expr { kind, span: arg.span });
                }
                (kind, _) => {
                    let (what, example) = match kind {
                        ParamKind::Var => ("a scratch variable", "`$x`"),
                        _ => ("a map", "`@m`"),
                    };
                    return Err(Diagnostic::new(
                        Code::TypeMismatch,
                        arg.span,
                        format!("macro `{}` takes {what} for `{}`", def.name, param.name),
                    )
                    .with_related(param.span, "parameter declared here")
                    .with_hint(format!(
                        "pass {what} such as {example}, or declare the parameter without `{}` to take any expression",
                        &param.name[..1]
                    )));
                }
            }
        }
        let locals = locals(&def.body);
        let mut renamer = Renamer { def, call, bindings, locals, suffix: self.fresh };
        def.body.iter().cloned().map(|stmt| renamer.stmt(stmt)).collect()
    }
}

impl Renamer<'_> {
    /// A cast's type, `(t *)x` with `t` a type parameter bound to `typeof(uint8)` (or `typeof(struct foo *)`):
    /// the bound type with the pointers written added. Any other stays as written.
    fn cast_type(&self, ty: CastType) -> CastType {
        let CastType::IntPointer { name, pointers } = &ty else { return ty };
        let Some(Expr { kind: ExprKind::Type(bound), .. }) = self.bindings.exprs.get(name) else { return ty };
        let pointers = bound.pointers + pointers;
        match (bound.record, bound.name.as_str()) {
            _ if !bound.dims.is_empty() => ty,
            (true, _) => CastType::Record { name: bound.name.clone(), pointers },
            (false, "void") => CastType::VoidPointer { pointers },
            (false, name) => CastType::IntPointer { name: name.to_string(), pointers },
        }
    }
}

/// A statement made of a block, as the scope of its own that runs it: `{ ...; v }` alone, `@m = { ...; v }`
/// and `$x = { ...; v }` (the assignment moves inside, so that an aggregation `@m = { ...; count() }` stays
/// one); `None` for an empty block. Any other statement comes back as it is.
fn block_statement(stmt: Stmt) -> Option<Stmt> {
    let span = stmt.span;
    let (stmts, value, assign): (_, _, Box<dyn FnOnce(Expr) -> StmtKind>) = match stmt.kind {
        StmtKind::Expr(Expr { kind: ExprKind::Block { stmts, value }, .. }) => (stmts, value, Box::new(StmtKind::Expr)),
        StmtKind::MapAssign { target, op, value: Expr { kind: ExprKind::Block { stmts, value: Some(value) }, .. } } => {
            (stmts, Some(value), Box::new(move |value| StmtKind::MapAssign { target, op, value }))
        }
        StmtKind::VarAssign {
            name,
            name_span,
            op,
            value: Expr { kind: ExprKind::Block { stmts, value: Some(value) }, .. },
        } => (stmts, Some(value), Box::new(move |value| StmtKind::VarAssign { name, name_span, op, value })),
        kind => return Some(Stmt { kind, span }),
    };
    let result = value.map(|value| Box::new(Stmt { span: value.span, kind: assign(*value) }));
    (!stmts.is_empty() || result.is_some()).then_some(Stmt { kind: StmtKind::Scoped { body: stmts, result }, span })
}

/// What the parameters of one expansion stand for.
struct Bindings {
    /// `$param` (without `$`) to the caller's variable.
    vars: HashMap<String, String>,
    /// `@param` to the caller's map.
    maps: HashMap<String, String>,
    /// `param` to the caller's expression.
    exprs: HashMap<String, Expr>,
}

/// What a macro parameter written where a type goes (`written`: `t`, `t *`, `t[2]`) stands for, given its argument:
/// a type argument (`typeof(uint64 *)`) with the pointers and dimensions written added, or the type of a value
/// argument (`typeof(value)`, also when the argument is the value) where the parameter is written alone. `None` when they do not combine (a pointer to an array
/// type, a value with `*`): the parameter then stays an unknown type name.
fn typed_argument(arg: &Expr, written: &TypeName) -> Option<ExprKind> {
    match &arg.kind {
        ExprKind::Type(bound) if bound.dims.is_empty() || written.pointers == 0 => Some(ExprKind::Type(TypeName {
            name: bound.name.clone(),
            record: bound.record,
            pointers: bound.pointers + written.pointers,
            dims: written.dims.iter().chain(&bound.dims).copied().collect(),
        })),
        ExprKind::Type(_) => None,
        ExprKind::TypeOf(_) if written.pointers == 0 && written.dims.is_empty() => Some(arg.kind.clone()),
        _ if written.pointers == 0 && written.dims.is_empty() => Some(ExprKind::TypeOf(Box::new(arg.clone()))),
        _ => None,
    }
}

/// The variables a body assigns or declares itself (in block expressions too): renamed per expansion.
fn locals(body: &[Stmt]) -> HashSet<String> {
    let mut names = HashSet::new();
    let mut pending: Vec<&Stmt> = body.iter().collect();
    while let Some(stmt) = pending.pop() {
        let mut exprs = stmt_exprs(stmt);
        while let Some(expr) = exprs.pop() {
            if let ExprKind::Block { stmts, .. } = &expr.kind {
                pending.extend(stmts);
            }
            exprs.extend(sub_exprs(expr));
        }
        match &stmt.kind {
            StmtKind::VarAssign { name, .. } | StmtKind::Let { name, .. } => {
                names.insert(name.clone());
            }
            StmtKind::For { name, body, .. } | StmtKind::ForMap { name, body, .. } => {
                names.insert(name.clone());
                pending.extend(body);
            }
            StmtKind::If { then, otherwise, .. } => pending.extend(then.iter().chain(otherwise)),
            StmtKind::Scoped { body, result } => pending.extend(body.iter().chain(result.as_deref())),
            StmtKind::While { body, .. } | StmtKind::Unroll { body, .. } => pending.extend(body),
            StmtKind::Expr(_)
            | StmtKind::MapAssign { .. }
            | StmtKind::Return
            | StmtKind::Break
            | StmtKind::Continue => {}
        }
    }
    names
}

/// The expressions a statement holds itself (not those of its nested statements).
fn stmt_exprs(stmt: &Stmt) -> Vec<&Expr> {
    match &stmt.kind {
        StmtKind::Expr(expr) | StmtKind::VarAssign { value: expr, .. } => vec![expr],
        StmtKind::MapAssign { target, value, .. } => target.keys.iter().chain([value]).collect(),
        StmtKind::Let { ty, value, .. } => ty.iter().chain(value).collect(),
        StmtKind::If { cond, .. } | StmtKind::While { cond, .. } => vec![cond],
        StmtKind::For { start, end, .. } => vec![start, end],
        StmtKind::ForMap { map, .. } => map.keys.iter().collect(),
        StmtKind::Unroll { .. } | StmtKind::Scoped { .. } | StmtKind::Return | StmtKind::Break | StmtKind::Continue => {
            Vec::new()
        }
    }
}

/// The expressions an expression holds directly (a block's value, not its statements).
fn sub_exprs(expr: &Expr) -> Vec<&Expr> {
    match &expr.kind {
        ExprKind::Map(map) => map.keys.iter().collect(),
        ExprKind::Call { args: items, .. } | ExprKind::Tuple(items) | ExprKind::Record { values: items, .. } => {
            items.iter().collect()
        }
        ExprKind::Field { base: inner, .. }
        | ExprKind::TupleIndex { base: inner, .. }
        | ExprKind::Cast { operand: inner, .. }
        | ExprKind::Deref(inner)
        | ExprKind::AddressOf(inner)
        | ExprKind::TypeOf(inner)
        | ExprKind::Unary(_, inner) => vec![inner],
        ExprKind::Index { base: lhs, index: rhs } | ExprKind::Binary(_, lhs, rhs) => vec![lhs, rhs],
        ExprKind::Ternary { cond, then, otherwise } => vec![cond, then, otherwise],
        ExprKind::Block { value, .. } => value.iter().map(|value| &**value).collect(),
        ExprKind::Int(_)
        | ExprKind::Bool(_)
        | ExprKind::Duration(_)
        | ExprKind::Str(_)
        | ExprKind::Ident(_)
        | ExprKind::Var(_)
        | ExprKind::Positional(_)
        | ExprKind::ArgCount
        | ExprKind::Type(_) => Vec::new(),
    }
}

/// Rewrites one copy of a macro body.
struct Renamer<'a> {
    def: &'a MacroDef,
    call: Span,
    bindings: Bindings,
    locals: HashSet<String>,
    suffix: usize,
}

impl Renamer<'_> {
    fn stmts(&mut self, stmts: Vec<Stmt>) -> Result<Vec<Stmt>> {
        stmts.into_iter().map(|stmt| self.stmt(stmt)).collect()
    }

    fn stmt(&mut self, stmt: Stmt) -> Result<Stmt> {
        let kind = match stmt.kind {
            StmtKind::Expr(expr) => StmtKind::Expr(self.expr(expr)?),
            StmtKind::MapAssign { target, op, value } => {
                StmtKind::MapAssign { target: self.map_ref(target)?, op, value: self.expr(value)? }
            }
            StmtKind::VarAssign { name, name_span, op, value } => {
                StmtKind::VarAssign { name: self.var(&name, name_span)?, name_span, op, value: self.expr(value)? }
            }
            StmtKind::Let { name, name_span, ty, value } => StmtKind::Let {
                name: self.var(&name, name_span)?,
                name_span,
                ty: ty.map(|t| self.expr(t)).transpose()?,
                value: value.map(|v| self.expr(v)).transpose()?,
            },
            StmtKind::If { cond, then, otherwise } => {
                StmtKind::If { cond: self.expr(cond)?, then: self.stmts(then)?, otherwise: self.stmts(otherwise)? }
            }
            StmtKind::Scoped { body, result } => StmtKind::Scoped {
                body: self.stmts(body)?,
                result: result.map(|result| self.stmt(*result).map(Box::new)).transpose()?,
            },
            StmtKind::While { cond, body } => StmtKind::While { cond: self.expr(cond)?, body: self.stmts(body)? },
            StmtKind::For { name, name_span, start, end, body } => StmtKind::For {
                name: self.var(&name, name_span)?,
                name_span,
                start: self.expr(start)?,
                end: self.expr(end)?,
                body: self.stmts(body)?,
            },
            StmtKind::ForMap { name, name_span, map, body } => StmtKind::ForMap {
                name: self.var(&name, name_span)?,
                name_span,
                map: self.map_ref(map)?,
                body: self.stmts(body)?,
            },
            StmtKind::Unroll { count, body } => StmtKind::Unroll { count, body: self.stmts(body)? },
            kind @ (StmtKind::Return | StmtKind::Break | StmtKind::Continue) => kind,
        };
        Ok(Stmt { kind, span: stmt.span })
    }

    /// The name a variable of the body gets in this expansion.
    fn var(&self, name: &str, span: Span) -> Result<String> {
        if let Some(outer) = self.bindings.vars.get(name) {
            return Ok(outer.clone());
        }
        if self.locals.contains(name) {
            // `#` cannot be written in a variable name, so the caller's variables are never met.
            return Ok(format!("{name}#{}", self.suffix));
        }
        Err(Diagnostic::new(
            Code::UnknownIdent,
            span,
            format!("macro `{}` uses `${name}`, which it neither takes nor assigns", self.def.name),
        )
        .with_related(self.call, "called here")
        .with_hint(format!(
            "a macro sees only its parameters: take it as one, `macro {}(${name}, ...)`",
            self.def.name
        )))
    }

    fn map_ref(&mut self, map: MapRef) -> Result<MapRef> {
        let Some(outer) = self.bindings.maps.get(&map.name).cloned() else {
            return Err(Diagnostic::new(
                Code::UnknownIdent,
                map.span,
                format!("macro `{}` uses the map `{}`, which is not one of its parameters", self.def.name, map.name),
            )
            .with_related(self.call, "called here")
            .with_hint(format!(
                "a macro sees only its parameters: take it as one, `macro {}({}, ...)`",
                self.def.name, map.name
            )));
        };
        let keys = map.keys.into_iter().map(|key| self.expr(key)).collect::<Result<_>>()?;
        Ok(MapRef { name: outer, keys, span: map.span })
    }

    fn boxed(&mut self, expr: Expr) -> Result<Box<Expr>> {
        self.expr(expr).map(Box::new)
    }

    fn expr(&mut self, expr: Expr) -> Result<Expr> {
        let span = expr.span;
        let kind = match expr.kind {
            ExprKind::Ident(name) => match self.bindings.exprs.get(&name) {
                Some(arg) => return Ok(arg.clone()),
                None => ExprKind::Ident(name),
            },
            ExprKind::Var(name) => ExprKind::Var(self.var(&name, span)?),
            ExprKind::Block { stmts, value } => {
                ExprKind::Block { stmts: self.stmts(stmts)?, value: value.map(|v| self.boxed(*v)).transpose()? }
            }
            ExprKind::Map(map) => ExprKind::Map(self.map_ref(map)?),
            ExprKind::Call { name, name_span, args } => ExprKind::Call {
                name,
                name_span,
                args: args.into_iter().map(|arg| self.expr(arg)).collect::<Result<_>>()?,
            },
            ExprKind::Field { base, field, field_span, arrow } => {
                ExprKind::Field { base: self.boxed(*base)?, field, field_span, arrow }
            }
            ExprKind::Index { base, index } => ExprKind::Index { base: self.boxed(*base)?, index: self.boxed(*index)? },
            ExprKind::Tuple(items) => {
                ExprKind::Tuple(items.into_iter().map(|item| self.expr(item)).collect::<Result<_>>()?)
            }
            ExprKind::Record { names, values } => ExprKind::Record {
                names,
                values: values.into_iter().map(|value| self.expr(value)).collect::<Result<_>>()?,
            },
            ExprKind::TupleIndex { base, index, index_span } => {
                ExprKind::TupleIndex { base: self.boxed(*base)?, index, index_span }
            }
            ExprKind::Cast { ty, ty_span, operand } => {
                ExprKind::Cast { ty: self.cast_type(ty), ty_span, operand: self.boxed(*operand)? }
            }
            ExprKind::Unary(op, operand) => ExprKind::Unary(op, self.boxed(*operand)?),
            ExprKind::Deref(operand) => ExprKind::Deref(self.boxed(*operand)?),
            ExprKind::AddressOf(operand) => ExprKind::AddressOf(self.boxed(*operand)?),
            ExprKind::Binary(op, lhs, rhs) => ExprKind::Binary(op, self.boxed(*lhs)?, self.boxed(*rhs)?),
            ExprKind::Ternary { cond, then, otherwise } => ExprKind::Ternary {
                cond: self.boxed(*cond)?,
                then: self.boxed(*then)?,
                otherwise: self.boxed(*otherwise)?,
            },
            ExprKind::TypeOf(value) => ExprKind::TypeOf(self.boxed(*value)?),
            // A parameter where a type is written (`sizeof(t)`, `sizeof(t *)`, `sizeof(t[2])`): its argument's type.
            ExprKind::Type(written) => match self.bindings.exprs.get(&written.name) {
                Some(arg) if !written.record => match typed_argument(arg, &written) {
                    Some(kind) => kind,
                    None => ExprKind::Type(written),
                },
                _ => ExprKind::Type(written),
            },
            kind @ (ExprKind::Int(_)
            | ExprKind::Bool(_)
            | ExprKind::Duration(_)
            | ExprKind::Str(_)
            | ExprKind::Positional(_)
            | ExprKind::ArgCount) => kind,
        };
        Ok(Expr { kind, span })
    }
}

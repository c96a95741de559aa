//! Typing of expressions and conditions.

use super::builtins::{self, Call, Rule};
use super::{access, names, Checker, Scope};
use crate::ast::{self, BinaryOp, UnaryOp};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Builtin, Expr, ExprKind, Lowered, Pointee, PointerType, Type};
use jitterlib::agg::EnumNames;
use jitterlib::kernel::StructName;
use jitterlib::probe::{nearest, Field, FieldType};

/// Size of the `probe` string, unless a probe's name is longer.
const PROBE_NAME_SIZE: u32 = 64;

/// The clocks `nsecs(mode)` reads, by bpftrace's names.
const NSECS_MODES: &[(&str, Builtin)] = &[
    ("monotonic", Builtin::Nsecs),
    ("boot", Builtin::BootNsecs),
    ("tai", Builtin::TaiNsecs),
    ("sw_tai", Builtin::TaiNsecs),
];

pub(crate) const COMM_SIZE: u32 = 16;

impl Checker<'_> {
    /// Types an expression used as a truth value (predicate, `if`).
    pub(super) fn condition(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Option<Expr> {
        let checked = self.expr(expr, scope)?;
        if !checked.ty.is_scalar() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    expr.span,
                    format!("a condition must be an integer, not {}", checked.ty.describe()),
                )
                .with_hint("compare it with something, e.g. `dur > 10ms`"),
            );
            return None;
        }
        Some(checked)
    }

    /// Types an expression.
    pub(super) fn expr(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Option<Expr> {
        let span = expr.span;
        let (kind, ty) = match &expr.kind {
            ast::ExprKind::Int(value) => (ExprKind::Const(*value as i64), int_literal_type(*value)),
            ast::ExprKind::Bool(value) => (ExprKind::Const(i64::from(*value)), Type::Bool),
            ast::ExprKind::Duration(ns) => (ExprKind::Const(*ns as i64), Type::Duration),
            ast::ExprKind::Str(text) => {
                let size = string_size(text.len());
                (ExprKind::Str(text.clone()), Type::Str(size))
            }
            ast::ExprKind::Ident(name) => return self.ident(name, span, scope),
            ast::ExprKind::Block { .. } => {
                // syntax::macros moves every block's statements out before checking.
                self.diagnostics.push(Diagnostic::new(Code::Internal, span, "a block expression was not expanded"));
                return None;
            }
            ast::ExprKind::Var(name) => match scope.visible(name) {
                Some(index) => (ExprKind::Var(index), self.var_type(index, scope)),
                None if self.params.get(name).is_some() => return self.param_expr(name, span),
                None if scope.failed_vars.iter().any(|failed| failed == name) => return None,
                None => {
                    self.diagnostics.push(unassigned(name, span, scope.out_of_sight(name)));
                    return None;
                }
            },
            ast::ExprKind::Positional(index) => return self.positional(*index, span),
            ast::ExprKind::ArgCount => (ExprKind::Const(self.positionals.len() as i64), Type::I64),
            ast::ExprKind::Map(map_ref) => return self.map_read(map_ref, scope),
            ast::ExprKind::Call { name, name_span, args } => {
                return self.call_expr(name, *name_span, args, span, scope)
            }
            ast::ExprKind::Field { base, field, field_span, .. }
                if base.kind == ast::ExprKind::Ident("args".into()) =>
            {
                return self.field(field, *field_span, span, scope)
            }
            ast::ExprKind::Index { base, index } if !access::is_access(base) => {
                return self.pointer_index(base, index, span, scope)
            }
            ast::ExprKind::Field { .. } | ast::ExprKind::Index { .. } => return self.member_value(expr, scope),
            ast::ExprKind::Tuple(elements) => return self.tuple(elements, span, scope),
            ast::ExprKind::Record { names, values } => return self.record(names, values, span, scope),
            ast::ExprKind::TupleIndex { base, index, index_span } => {
                return self.tuple_index(base, *index, *index_span, span, scope)
            }
            ast::ExprKind::Cast { ty, ty_span, operand } => return self.cast(ty, *ty_span, operand, span, scope),
            ast::ExprKind::Deref(operand) => return self.deref(operand, span, scope),
            ast::ExprKind::AddressOf(operand) => return self.address_of(operand, span, scope),
            ast::ExprKind::Type(_) | ast::ExprKind::TypeOf(_) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, span, "a type has no value")
                        .with_hint("a type goes in `sizeof(TYPE)` (its size in bytes) or to a macro's parameter"),
                );
                return None;
            }
            ast::ExprKind::Unary(op, operand) => {
                let operand = self.scalar(operand, scope)?;
                if operand.ty == Type::Bool && *op != UnaryOp::Not {
                    return self.not_arithmetic(op_symbol(*op), &operand);
                }
                if operand.ty.pointer().is_some() && *op != UnaryOp::Not {
                    return self.not_on_pointer(op_symbol(*op), &operand, span);
                }
                let ty = match op {
                    UnaryOp::Not => Type::Bool,
                    UnaryOp::Neg => Type::I64,
                    // An enum's value changed is a plain number (bpftrace symbolizes none after arithmetic).
                    UnaryOp::BitNot => match operand.ty {
                        Type::Enum(_) => Type::I64,
                        ty => ty,
                    },
                };
                (ExprKind::Unary(*op, Box::new(operand)), ty)
            }
            ast::ExprKind::Binary(op, lhs, rhs) => {
                let (lhs, rhs) = (self.expr(lhs, scope), self.expr(rhs, scope));
                let (lhs, rhs) = (lhs?, rhs?);
                if let Some(compared) = self.name_comparison(*op, &lhs, &rhs, span) {
                    return compared;
                }
                let (lhs, rhs) = (names::as_text(lhs), names::as_text(rhs));
                if let (Type::Str(_), Type::Str(_)) = (lhs.ty, rhs.ty) {
                    return self.string_comparison(*op, lhs, rhs, span);
                }
                // Arrays of one type are equal when their elements are (their padding is zero).
                if matches!((lhs.ty, rhs.ty), (Type::Array(a), Type::Array(b)) if a == b) {
                    return self.string_comparison(*op, lhs, rhs, span);
                }
                // Buffers are equal when they have the same length and bytes (their padding is zero).
                if let (Type::Buf(a), Type::Buf(b)) = (lhs.ty, rhs.ty) {
                    if a != b && matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                        return Some(Expr {
                            kind: ExprKind::Const(i64::from(*op == BinaryOp::Ne)),
                            ty: Type::Bool,
                            span,
                        });
                    }
                    return self.string_comparison(*op, lhs, rhs, span);
                }
                let (lhs, rhs) = (self.require_scalar(lhs), self.require_scalar(rhs));
                let (lhs, rhs) = (lhs?, self.nonzero_divisor(*op, rhs?)?);
                let pointers = lhs.ty.pointer().or(rhs.ty.pointer());
                if pointers.is_some() && matches!(op, BinaryOp::Add | BinaryOp::Sub) {
                    return self.pointer_arithmetic(*op, lhs, rhs, span);
                }
                if pointers.is_some() && !op.is_comparison() && !matches!(op, BinaryOp::And | BinaryOp::Or) {
                    let pointer = if lhs.ty.pointer().is_some() { &lhs } else { &rhs };
                    return self.not_on_pointer(op.symbol(), pointer, span);
                }
                let ty = binary_type(*op, lhs.ty, rhs.ty);
                (ExprKind::Binary(*op, Box::new(lhs), Box::new(rhs)), ty)
            }
            ast::ExprKind::Ternary { cond, then, otherwise } => {
                let (cond, then, otherwise) =
                    (self.condition(cond, scope), self.expr(then, scope), self.expr(otherwise, scope));
                let (cond, then, otherwise) = (cond?, then?, otherwise?);
                let ty = self.ternary_type(&then, &otherwise)?;
                (ExprKind::Ternary { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) }, ty)
            }
        };
        Some(Expr { kind, ty, span })
    }

    /// The right operand of `op`, unless it divides by a constant zero (the verifier refuses `/ 0` and `% 0`).
    fn nonzero_divisor(&mut self, op: BinaryOp, rhs: Expr) -> Option<Expr> {
        let what = match op {
            BinaryOp::Div => "division",
            BinaryOp::Rem => "remainder of a division",
            _ => return Some(rhs),
        };
        if !matches!(rhs.kind, ExprKind::Const(0)) {
            return Some(rhs);
        }
        self.diagnostics.push(
            Diagnostic::new(Code::DivisionByZero, rhs.span, format!("{what} by zero"))
                .with_label("this divisor is always 0")
                .with_hint(
                    "divide by a non-zero constant; a divisor only known when the probe runs may be 0 (the result is \
                     then 1, as in bpftrace, and jl warns at exit)",
                ),
        );
        None
    }

    /// Types an expression that must be an integer-like value.
    pub(super) fn scalar(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Option<Expr> {
        let checked = self.expr(expr, scope)?;
        self.require_scalar(checked)
    }

    /// Reports a checked expression that is not integer-like.
    pub(super) fn require_scalar(&mut self, checked: Expr) -> Option<Expr> {
        if checked.ty.is_scalar() {
            return Some(checked);
        }
        let hint = match checked.ty {
            Type::Stack(_) => "a stack can be a map key (`@[kstack] = count()`, printed as frames or folded with -f folded) or printed with printf's %s",
            Type::Str(_) => "strings can be printed (`printf(\"%s\", comm)`) or used as map keys; arithmetic and comparison need integers",
            Type::Tuple(_) => "a tuple has no arithmetic or comparison: read one of its elements, e.g. `$t.0`",
            Type::Array(_) => "an array has no arithmetic: read an element (`$a[0]`), or cast it to an integer of its size (`(uint32)$a` of a 4-byte array)",
            Type::UserName => "a user name is looked up when printed, so it can only be printed or stored in a map; `uid` is the id",
            Type::CgroupPath(_) => "a cgroup path is looked up when printed, so it can only be printed or stored in a map; `cgroup` is the id",
            Type::UserSymbol => "a user symbol is named when printed, so it can only be printed or stored in a map; its argument is the address",
            _ => "use an expression with a value here",
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::TypeMismatch,
                checked.span,
                format!("expected an integer, found {}", checked.ty.describe()),
            )
            .with_hint(hint),
        );
        None
    }

    /// `a == b` / `a != b` on two strings; other operators are errors.
    fn string_comparison(&mut self, op: BinaryOp, lhs: Expr, rhs: Expr, span: Span) -> Option<Expr> {
        let equal = match op {
            BinaryOp::Eq => true,
            BinaryOp::Ne => false,
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        span,
                        format!("strings can be compared with `==` and `!=`, not `{}`", op.symbol()),
                    )
                    .with_hint("e.g. `comm == \"sshd\"`"),
                );
                return None;
            }
        };
        let kind = ExprKind::StrCompare { equal, lhs: Box::new(lhs), rhs: Box::new(rhs) };
        Some(Expr { kind, ty: Type::Bool, span })
    }

    /// Reports `-x` or `~x` on a bool, which bpftrace refuses too.
    fn not_arithmetic(&mut self, symbol: &str, operand: &Expr) -> Option<Expr> {
        self.diagnostics.push(
            Diagnostic::new(Code::TypeMismatch, operand.span, format!("`{symbol}` does not apply to a bool"))
                .with_hint("`!` negates a bool; `(uint64)b` is its value as an integer (1 or 0)"),
        );
        None
    }

    /// The type of `c ? a : b`: both sides integers, or both strings (the longer size).
    fn ternary_type(&mut self, then: &Expr, otherwise: &Expr) -> Option<Type> {
        match (then.ty, otherwise.ty) {
            (a, b) if a.is_scalar() && a == b => Some(a),
            (a @ (Type::Str(_) | Type::Tuple(_)), b) if a.widest(b).is_some() => a.widest(b),
            (a, b) if a.is_scalar() && b.is_scalar() => {
                Some(if a.is_signed() && b.is_signed() { Type::I64 } else { Type::U64 })
            }
            (a, b) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        then.span.to(otherwise.span),
                        format!("the two values of `? :` differ: {} and {}", a.describe(), b.describe()),
                    )
                    .with_hint(
                        "both must be integers, both strings, or tuples of the same types (strings of any size)",
                    ),
                );
                None
            }
        }
    }

    /// The text of `$N` ("" when not given); `$0` is an error.
    pub(super) fn positional_text(&mut self, index: u32, span: Span) -> Option<String> {
        if index == 0 {
            self.diagnostics.push(
                Diagnostic::new(Code::UnknownIdent, span, "positional arguments start at `$1`")
                    .with_hint("`$#` is the number of arguments"),
            );
            return None;
        }
        Some(self.positionals.get(index as usize - 1).cloned().unwrap_or_default())
    }

    pub(super) fn ident(&mut self, name: &str, span: Span, scope: &mut Scope) -> Option<Expr> {
        // bpftrace 0.27 names each builtin variable `__builtin_NAME` too (what its stdlib macros wrap).
        let name = match name.strip_prefix("__builtin_") {
            Some(inner) if self.is_variable(inner, scope) => inner,
            _ => name,
        };
        if let Some(field) = scope.probe.fields().iter().find(|field| field.name == name) {
            if !self.context_allowed(&format!("the probe's `{name}`"), span, scope) {
                return None;
            }
            scope.fields_read.push(field.name.clone());
            return Some(field_expr(field, span));
        }
        match builtins::variable_named(name).map(|builtin| &builtin.rule) {
            Some(Rule::Context(Builtin::Stack(_) | Builtin::Ctx))
                if !self.context_allowed(&format!("`{name}`"), span, scope) =>
            {
                return None
            }
            Some(Rule::Context(Builtin::Ctx)) if scope.probe.user_space() => {
                // Reads through pointers of a uprobe are reads of the process's memory; the context is the kernel's.
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Unsupported,
                        span,
                        format!(
                            "`ctx` of `{}` is kernel memory, and its reads are of the process's",
                            scope.probe.describe()
                        ),
                    )
                    .with_hint("`reg(\"name\")` reads the saved registers a uprobe's context holds"),
                );
                return None;
            }
            Some(Rule::Context(builtin)) => return Some(self.context_value(*builtin, span)),
            Some(Rule::Variable(check)) => return check(self, span, scope),
            Some(Rule::LoweredVariable { ty, lower }) => {
                let kind = ExprKind::Call(Lowered { map: None, args: Vec::new(), lower: *lower });
                return Some(Expr { kind, ty: *ty, span });
            }
            _ => {}
        }
        if let Some((_, value)) = super::net::ADDRESS_FAMILIES.iter().find(|(constant, _)| *constant == name) {
            return Some(Expr { kind: ExprKind::Const(*value), ty: Type::I64, span });
        }
        // A kernel enum's enumerator (`SKB_DROP_REASON_NOT_SPECIFIED`), a value of its enum as in bpftrace.
        let kernel_enum = self.kernel.enum_with(name);
        if let Ok(Some(found)) = &kernel_enum {
            if let Some((value, _)) = found.enumerators.iter().find(|(_, enumerator)| enumerator == name) {
                return Some(Expr { kind: ExprKind::Const(*value), ty: Type::Enum(EnumNames::of_kernel(found)), span });
            }
        }
        if name == "args" {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, span, "`args` is a record: name one of its fields")
                    .with_hint(field_list_hint(scope.probe.args(), &scope.probe.describe())),
            );
            return None;
        }
        // The hint lists the probe's own fields, not every builtin: a new builtin must not change the diagnostics
        // of unrelated typos.
        let mut own: Vec<&str> = scope.probe.fields().iter().map(|field| field.name.as_str()).collect();
        if !scope.probe.args().is_empty() {
            own.push("args");
        }
        let mut known = builtins::names(true);
        known.extend(super::net::ADDRESS_FAMILIES.iter().map(|(name, _)| *name));
        known.extend(&own);
        let listing = match own.is_empty() {
            true => "`jl -l builtins` lists the builtins".to_string(),
            false => {
                format!("{} has `{}`; `jl -l builtins` lists the builtins", scope.probe.describe(), own.join("`, `"))
            }
        };
        let mut hint = match nearest(name, &known) {
            Some(near) => format!("did you mean `{near}`? {listing}"),
            None => listing,
        };
        if let Err(error) = kernel_enum {
            hint.push_str(&format!(" (the kernel's enums could not be searched: {error})"));
        }
        let diagnostic =
            Diagnostic::new(Code::UnknownIdent, span, format!("unknown identifier `{name}`")).with_hint(hint);
        self.diagnostics.push(diagnostic);
        None
    }

    /// A value read from the current context: `pid`, `comm`, `nsecs`.
    fn context_value(&mut self, builtin: Builtin, span: Span) -> Expr {
        // `pid` and `tid` count in jl's pid namespace, as bpftrace's: `pid(init)` is the initial one's.
        let builtin = match (builtin, self.pid_namespace) {
            (Builtin::Pid | Builtin::Tid, Some(ns)) => Builtin::NsPid { ns, thread: builtin == Builtin::Tid },
            _ => builtin,
        };
        // A clock reading prints as its nanoseconds (as bpftrace's); the difference of two prints with time units.
        let ty = match builtin {
            Builtin::Comm => Type::Str(COMM_SIZE),
            Builtin::Nsecs | Builtin::BootNsecs | Builtin::TaiNsecs => Type::Instant,
            Builtin::CurTask => Type::Pointer(PointerType::to_record(StructName::new("task_struct"))),
            Builtin::Ctx => Type::Pointer(PointerType { pointee: Pointee::Void, depth: 1 }),
            Builtin::Stack(kind) => self.stack_type(kind),
            _ => Type::U64,
        };
        self.uses_elapsed |= builtin == Builtin::Elapsed;
        Expr { kind: ExprKind::Builtin(builtin), ty, span }
    }

    /// `nsecs(mode)` (bpftrace 0.27): `monotonic` (as `nsecs`), `boot` (counting suspend) or `tai` (atomic time
    /// since 1970, Linux 6.1; `sw_tai`, bpftrace's estimate of it for older kernels, reads the same clock).
    pub(super) fn nsecs_call(&mut self, call: &Call) -> Option<Expr> {
        let known = |arg: &ast::Expr| match &arg.kind {
            ast::ExprKind::Ident(mode) => NSECS_MODES.iter().find(|(known, _)| known == mode).map(|(_, clock)| *clock),
            _ => None,
        };
        let builtin = match call.args {
            [] => Builtin::Nsecs,
            [arg] if known(arg).is_some() => known(arg)?,
            [arg] => {
                let modes: Vec<&str> = NSECS_MODES.iter().map(|(mode, _)| *mode).collect();
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, arg.span, "`nsecs()` takes a clock name here")
                        .with_hint(format!("one of {}: e.g. `nsecs(boot)`", modes.join(", "))),
                );
                return None;
            }
            _ => {
                self.arity_in(call.name, call.name_span, call.args, &(0..=1));
                return None;
            }
        };
        Some(self.context_value(builtin, call.span))
    }

    /// `ncpus`: how many CPUs the machine can have (bpftrace's possible CPUs), a constant of the compilation.
    pub(super) fn ncpus(&mut self, span: Span) -> Option<Expr> {
        match self.kernel.possible_cpus() {
            Ok(count) => Some(Expr { kind: ExprKind::Const(i64::from(count)), ty: Type::U64, span }),
            Err(error) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::MissingTarget,
                    span,
                    format!("cannot count the CPUs: {error}"),
                ));
                None
            }
        }
    }

    /// `probe`: the name of the probe the block runs for, as a string.
    pub(super) fn probe_name(&mut self, span: Span, scope: &mut Scope) -> Expr {
        let text = scope.probe.describe();
        // One size for the names of most probes, so a block shared by several (a wildcard) keys one map.
        let ty = Type::Str(string_size(text.len()).max(PROBE_NAME_SIZE));
        Expr { kind: ExprKind::Str(text), ty, span }
    }

    /// `probetype`: the kind of the probe as written in full (`t:...` is a `tracepoint`), and `special` for the
    /// never-attached ones (`BEGIN`, `END`, `self:signal`), as bpftrace names them.
    pub(super) fn probe_type(&mut self, span: Span, scope: &mut Scope) -> Expr {
        let text = match scope.probe.trigger() {
            Some(_) => "special".to_string(),
            None => scope.probe.describe().split([':', '(']).next().unwrap_or_default().to_string(),
        };
        Expr { ty: Type::Str(string_size(text.len())), kind: ExprKind::Str(text), span }
    }

    /// `pid([curr_ns|init])` and `tid(...)` (bpftrace): as seen from jl's pid namespace (`pid`), or from the
    /// initial one.
    pub(super) fn pid_call(&mut self, call: &Call, thread: bool) -> Option<Expr> {
        let plain = if thread { Builtin::Tid } else { Builtin::Pid };
        match call.args {
            [] => Some(self.context_value(plain, call.span)),
            [ast::Expr { kind: ast::ExprKind::Ident(space), .. }] if space == "curr_ns" => {
                Some(self.context_value(plain, call.span))
            }
            [ast::Expr { kind: ast::ExprKind::Ident(space), .. }] if space == "init" => {
                Some(Expr { kind: ExprKind::Builtin(plain), ty: Type::U64, span: call.span })
            }
            [other] => {
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, other.span, format!("`{}()` takes a pid namespace", call.name))
                        .with_hint(format!(
                            "`{0}(curr_ns)` (jl's, as `{0}`) or `{0}(init)` (the initial one)",
                            call.name
                        )),
                );
                None
            }
            _ => {
                self.arity_in(call.name, call.name_span, call.args, &(0..=1));
                None
            }
        }
    }

    /// `username`: `uid`, printed as the user's name.
    pub(super) fn user_name(&mut self, span: Span) -> Expr {
        Expr { ty: Type::UserName, ..self.context_value(Builtin::Uid, span) }
    }

    /// `netns`: the inode number of the current task's network namespace (a probe's own `netns` field wins:
    /// fields are looked up first).
    pub(super) fn netns(&mut self, span: Span, scope: &mut Scope) -> Option<Expr> {
        self.task_member(&[("nsproxy", true), ("net_ns", true), ("ns", true), ("inum", false)], span, scope)
    }

    /// A member of the current task read through the kernel's BTF along `path` (each part with whether it is
    /// reached through a pointer): `ppid` is `curtask->real_parent->pid` (bpftrace 0.27's), `netns`
    /// `curtask->nsproxy->net_ns->ns.inum`.
    pub(super) fn task_member(&mut self, path: &[(&str, bool)], span: Span, scope: &mut Scope) -> Option<Expr> {
        let start = ast::Expr { kind: ast::ExprKind::Ident("curtask".into()), span };
        self.member_of(start, path, span, scope)
    }

    /// `ppid(task)` and its kin (bpftrace 0.27's stdlib): [`Checker::task_member`] of the task given, a
    /// `struct task_struct *`, or of the current one without an argument.
    pub(super) fn task_call(&mut self, call: &Call, path: &[(&str, bool)], scope: &mut Scope) -> Option<Expr> {
        match call.args {
            [] => self.task_member(path, call.span, scope),
            [task] => {
                let ty = self.expr(task, scope)?.ty;
                if !matches!(ty, Type::Pointer(_)) {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            task.span,
                            format!(
                                "`{}()` takes a task (`struct task_struct *`), this is {}",
                                call.name,
                                ty.describe()
                            ),
                        )
                        .with_hint(format!("e.g. `{}(curtask)`, or a task a probe gives (`args.prev`)", call.name)),
                    );
                    return None;
                }
                self.member_of(task.clone(), path, call.span, scope)
            }
            _ => {
                self.arity_in(call.name, call.name_span, call.args, &(0..=1));
                None
            }
        }
    }

    fn member_of(&mut self, start: ast::Expr, path: &[(&str, bool)], span: Span, scope: &mut Scope) -> Option<Expr> {
        let read = path.iter().fold(start, |base, (field, arrow)| ast::Expr {
            kind: ast::ExprKind::Field {
                base: Box::new(base),
                field: field.to_string(),
                field_span: span,
                arrow: *arrow,
            },
            span,
        });
        self.member_value(&read, scope)
    }

    /// `args.field` (or `args->field`): a field of the probe's record.
    fn field(&mut self, field: &str, field_span: Span, span: Span, scope: &mut Scope) -> Option<Expr> {
        let args = scope.probe.args();
        match args.iter().find(|arg| arg.name == field) {
            Some(_) if !self.context_allowed("`args`", span, scope) => None,
            Some(arg) => {
                scope.fields_read.push(format!("args.{field}"));
                Some(field_expr(arg, span))
            }
            None => {
                let describe = scope.probe.describe();
                let message = if args.is_empty() {
                    format!("{describe} has no `args`")
                } else {
                    format!("{describe} has no field `args.{field}`")
                };
                let names: Vec<&str> = args.iter().map(|arg| arg.name.as_str()).collect();
                let hint = match nearest(field, &names) {
                    Some(near) => format!("did you mean `args.{near}`? {}", field_list_hint(args, &describe)),
                    None => field_list_hint(args, &describe),
                };
                self.diagnostics.push(Diagnostic::new(Code::UnknownField, field_span, message).with_hint(hint));
                None
            }
        }
    }
}

fn field_list_hint(args: &[Field], describe: &str) -> String {
    if args.is_empty() {
        return format!("{describe} offers no args");
    }
    let names: Vec<&str> = args.iter().map(|arg| arg.name.as_str()).collect();
    format!("fields of {describe}: {}", names.join(", "))
}

pub(super) fn field_expr(field: &Field, span: Span) -> Expr {
    let ty = match field.ty {
        FieldType::Int { signed, .. } => Type::Int { signed },
        FieldType::Enum { names, .. } => Type::Enum(names),
        FieldType::Name { names } => {
            let index = Expr { kind: ExprKind::Field(field.clone()), ty: Type::Name(names), span };
            return names::name_text(index, names);
        }
        FieldType::ShortBytes { .. } => Type::Int { signed: false },
        FieldType::Duration => Type::Duration,
        FieldType::KernelSymbol => Type::Symbol,
        FieldType::Culprit => Type::Culprit,
        FieldType::Str { size } => Type::Str(size.div_ceil(8) * 8),
        FieldType::DataLocStr => Type::Str(super::calls::DATA_LOC_STR_SIZE),
        FieldType::Bytes { size } => Type::Buf(size),
        FieldType::Pointer { target } => Type::Pointer(PointerType::to_record(target)),
        FieldType::Address => Type::Pointer(PointerType { pointee: Pointee::Void, depth: 1 }),
    };
    Expr { kind: ExprKind::Field(field.clone()), ty, span }
}

/// Bytes a string of `len` characters takes (NUL included, rounded up to 8).
pub(super) fn string_size(len: usize) -> u32 {
    ((len as u32).saturating_add(1).saturating_add(7) / 8 * 8).max(8)
}

/// An integer as [`crate::syntax::integer_text`] reads one (octal when it starts with 0), optionally negative.
pub(super) fn parse_integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let magnitude = crate::syntax::integer_text(digits).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        Some(magnitude as i64)
    }
}

fn int_literal_type(value: u64) -> Type {
    if value > i64::MAX as u64 {
        Type::U64
    } else {
        Type::I64
    }
}

/// A prefix operator as written.
fn op_symbol(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "-",
        UnaryOp::Not => "!",
        UnaryOp::BitNot => "~",
    }
}

/// The type of `lhs op rhs`. Comparisons are bools, and so is any other operator on two bools (bpftrace's
/// `true + true` is `true`; a bool is true when any bit is set). Two clock readings subtract into a duration, and a
/// reading moved by a duration or an integer (`nsecs - 5s`, `nsecs + 1000`) is a reading; any other arithmetic on
/// a reading is a plain number. Durations stay durations through `+`, `-`, `*` and `%`; divided, they become plain
/// numbers: by a duration a ratio, by a number a count of other units (`dur / 1000` is microseconds, which must
/// not print as nanoseconds).
fn binary_type(op: BinaryOp, lhs: Type, rhs: Type) -> Type {
    let arithmetic = matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Rem);
    let truth = op.is_comparison() || matches!(op, BinaryOp::And | BinaryOp::Or);
    let divided_duration = lhs == Type::Duration && op == BinaryOp::Div;
    if truth || lhs == Type::Bool && rhs == Type::Bool {
        Type::Bool
    } else if lhs == Type::Instant || rhs == Type::Instant {
        match (op, lhs == Type::Instant, rhs == Type::Instant) {
            (BinaryOp::Sub, true, true) => Type::Duration,
            (BinaryOp::Add | BinaryOp::Sub, true, false) | (BinaryOp::Add, false, true) => Type::Instant,
            _ => Type::U64,
        }
    } else if divided_duration {
        Type::U64
    } else if arithmetic && (lhs == Type::Duration || rhs == Type::Duration) {
        Type::Duration
    } else if lhs.is_signed() && rhs.is_signed() {
        Type::I64
    } else {
        Type::U64
    }
}

/// The error for a read of `$name` at `span`, which no open block declares; `ended` is where a block that has
/// ended declared or first assigned it.
fn unassigned(name: &str, span: Span, ended: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::new(Code::UnknownIdent, span, format!("`${name}` is used before it is assigned"));
    match ended {
        None => diagnostic.with_hint(format!("assign it first in this probe: `${name} = ...;`")),
        Some(at) => diagnostic
            .with_related(at, "declared or first assigned here, in a block that has ended")
            .with_hint(format!(
                "a variable lives until the end of the block that declares or first assigns it, as in bpftrace: \
                 declare it before that block with `let ${name};` (it holds 0 until assigned)"
            )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_readings_subtract_into_durations_and_move_by_durations_or_integers() {
        let (reading, duration, int) = (Type::Instant, Type::Duration, Type::I64);
        assert_eq!(binary_type(BinaryOp::Sub, reading, reading), duration);
        for moved in [duration, int] {
            assert_eq!(binary_type(BinaryOp::Add, reading, moved), reading);
            assert_eq!(binary_type(BinaryOp::Add, moved, reading), reading);
            assert_eq!(binary_type(BinaryOp::Sub, reading, moved), reading);
            assert_eq!(binary_type(BinaryOp::Sub, moved, reading), Type::U64);
        }
        assert_eq!(binary_type(BinaryOp::Add, reading, reading), Type::U64);
        for op in [BinaryOp::Mul, BinaryOp::Div, BinaryOp::Rem, BinaryOp::BitAnd] {
            assert_eq!(binary_type(op, reading, int), Type::U64, "{op:?}");
        }
        assert_eq!(binary_type(BinaryOp::Lt, reading, reading), Type::Bool);
    }
}

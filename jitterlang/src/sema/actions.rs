//! Statements that report or act outside the maps: `outlier()`, `time()`, `strftime()` (a time value),
//! `join()`, and the ones that act on the system, `signal()` and `system()`, allowed only with `--unsafe`.

use super::builtins::{Call, Operands};
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{
    BinaryOp, Builtin, Expr, ExprKind, OutlierInfo, PrintfAction, PrintfInfo, StmtKind, Type, JOIN_MAX, JOIN_STR_SIZE,
    OUTLIER_COLUMNS,
};
use crate::printf::{Format, Piece};
use jitterlib::agg::TimeFormat;
use jitterlib::probe::{FieldType, REGISTRY};

/// Signal names `signal()` accepts (with or without `SIG`), and their numbers.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// Largest signal number (`SIGRTMAX` on Linux).
const SIGNAL_MAX: i64 = 64;

/// Most `time()` formats and `strftime()` arguments in one script (their index travels in 32 bits; this keeps
/// the table small).
const MAX_TIME_FORMATS: usize = 256;

impl Checker<'_> {
    /// `outlier(THRESHOLD)`: a report of each event whose `dur` is at least THRESHOLD.
    pub(super) fn outlier(&mut self, name_span: Span, args: &[ast::Expr], scope: &mut Scope) -> Option<StmtKind> {
        if !self.arity("outlier", name_span, args, 1) {
            return None;
        }
        let measures_duration =
            scope.probe.fields().iter().any(|field| field.name == "dur" && field.ty == FieldType::Duration);
        if !measures_duration {
            let with_dur: Vec<&str> = REGISTRY
                .iter()
                .filter(|kind| kind.fields.iter().any(|(field, _)| *field == "dur"))
                .map(|kind| kind.name)
                .collect();
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    name_span,
                    format!("`outlier()` needs a probe that measures `dur`, and {} does not", scope.probe.describe()),
                )
                .with_hint(format!(
                    "probes with `dur`: {}; elsewhere print what you need with `printf` in an `if`",
                    with_dur.join(", ")
                )),
            );
            return None;
        }
        let threshold = self.constant(&args[0], scope)?;
        let Ok(threshold) = u64::try_from(threshold) else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, args[0].span, format!("a threshold of {threshold} ns is negative"))
                    .with_hint("e.g. `outlier(5ms)`"),
            );
            return None;
        };
        let span = args[0].span;
        let extra = scope.probe.fields().iter().map(|field| field.name.clone()).filter(|name| name != "dur");
        let names: Vec<String> = OUTLIER_COLUMNS.iter().map(|name| name.to_string()).chain(extra).collect();
        let mut columns = Vec::with_capacity(names.len());
        for name in &names {
            columns.push(self.ident(name, span, scope)?);
        }
        let dur = columns[OUTLIER_COLUMNS.len() - 1].clone();
        let limit = Expr { kind: ExprKind::Const(threshold as i64), ty: Type::Duration, span };
        let slow = Expr { kind: ExprKind::Binary(BinaryOp::Ge, Box::new(dur), Box::new(limit)), ty: Type::U64, span };
        let id = self.outliers.len();
        self.outliers.push(OutlierInfo {
            probe: scope.probe.describe(),
            threshold,
            columns: names.into_iter().zip(columns.iter().map(|column| column.ty)).collect(),
        });
        Some(StmtKind::Outlier { id, slow, columns })
    }

    /// `time(FORMAT)`: user space prints the current time (bpftrace's default format when none is given).
    pub(super) fn time(&mut self, name_span: Span, args: &[ast::Expr]) -> Option<StmtKind> {
        let format = match args {
            [] => "%H:%M:%S\n".to_string(),
            [format] => self.time_format("time", format)?,
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Arity,
                        name_span,
                        format!("`time()` takes 0 or 1 arguments, {} given", args.len()),
                    )
                    .with_hint("e.g. `time(\"%H:%M:%S \")`"),
                );
                return None;
            }
        };
        let format = self.intern_time_format(format, name_span)?;
        Some(StmtKind::Time { format })
    }

    /// `strftime(FORMAT, nsecs)`: a time printed with FORMAT (by printf's `%s`, `print()`, in a tuple or a map).
    pub(super) fn strftime(&mut self, name_span: Span, args: &[ast::Expr], scope: &mut Scope) -> Option<Expr> {
        if !self.arity("strftime", name_span, args, 2) {
            return None;
        }
        let format = self.time_format("strftime", &args[0])?;
        let mut value = self.scalar(&args[1], scope)?;
        // User space converts CLOCK_MONOTONIC: a time of another clock would print a wrong date.
        if let ExprKind::Builtin(clock @ (Builtin::BootNsecs | Builtin::TaiNsecs)) = value.kind {
            let name = if clock == Builtin::BootNsecs { "boot" } else { "tai" };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    args[1].span,
                    format!("`strftime()` converts `nsecs` (CLOCK_MONOTONIC) times, not `nsecs({name})`"),
                )
                .with_hint("write `strftime(format, nsecs)`"),
            );
            return None;
        }
        value.ty = Type::Timestamp(TimeFormat::new(&format));
        value.span = name_span.to(args[1].span);
        Some(value)
    }

    /// `signal(SIG)`: sends a signal to the current process.
    pub(super) fn signal(
        &mut self,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<StmtKind> {
        let unsafe_ok = self.require_unsafe("signal", span);
        if !self.arity("signal", name_span, args, 1) {
            return None;
        }
        let signal = match &args[0].kind {
            ast::ExprKind::Str(name) => {
                let bare = name.to_ascii_uppercase();
                let bare = bare.strip_prefix("SIG").unwrap_or(&bare);
                match SIGNALS.iter().find(|(known, _)| *known == bare) {
                    Some((_, number)) => i64::from(*number),
                    None => {
                        let names: Vec<String> = SIGNALS.iter().map(|(name, _)| format!("SIG{name}")).collect();
                        self.diagnostics.push(
                            Diagnostic::new(Code::UnknownIdent, args[0].span, format!("unknown signal `{name}`"))
                                .with_hint(format!("one of {}, or a number 1-{SIGNAL_MAX}", names.join(" "))),
                        );
                        return None;
                    }
                }
            }
            _ => self.constant(&args[0], scope)?,
        };
        if !(1..=SIGNAL_MAX).contains(&signal) {
            self.diagnostics.push(Diagnostic::new(
                Code::Limit,
                args[0].span,
                format!("signal numbers go from 1 to {SIGNAL_MAX}, not {signal}"),
            ));
            return None;
        }
        unsafe_ok.then_some(StmtKind::Signal { signal: signal as u32 })
    }

    /// `join(arr[, delim])` (bpftrace's): the strings of a NULL-terminated array of `char *` (a syscall's
    /// `args.argv`), at most [`JOIN_MAX`] of [`JOIN_STR_SIZE`] bytes, printed on one line separated by `delim` (a
    /// string literal, a space by default). One event carries them all, so lines from several CPUs never mix.
    pub(super) fn join(&mut self, call: &Call, scope: &mut Scope) -> Option<StmtKind> {
        let (array, delim) = match call.args {
            [array] => (array, " "),
            [array, ast::Expr { kind: ast::ExprKind::Str(delim), .. }] => (array, delim.as_str()),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::Arity, call.span, "`join()` takes an array of strings and a separator")
                        .with_hint(
                            "e.g. `join(args.argv)` or `join(args.argv, \",\")` (the separator a string literal)",
                        ),
                );
                return None;
            }
        };
        let array = self.expr(array, scope)?;
        if !matches!(array.ty, Type::Int { .. } | Type::Pointer(_)) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    array.span,
                    format!("`join()` takes the address of an array of strings, not {}", array.ty.describe()),
                )
                .with_hint("e.g. `join(args.argv)`: a `char **` that ends with a NULL pointer"),
            );
            return None;
        }
        let id = self.printfs.len();
        let args = std::iter::once(Type::Int { signed: false })
            .chain(std::iter::repeat_n(Type::Str(JOIN_STR_SIZE), JOIN_MAX as usize))
            .collect();
        let format = Format { pieces: vec![Piece::Text(delim.to_string())], gfp_names: None };
        self.printfs.push(PrintfInfo {
            format,
            args,
            action: PrintfAction::Join,
            span: call.span,
            site: Default::default(),
        });
        Some(StmtKind::Join { id, array })
    }

    /// `assert(cond, "message")` (bpftrace's stdlib macro): when `cond` is false, `errorf("assert failed: %s",
    /// message)` (located at the `assert`) and `exit(1)`.
    pub(super) fn assert(&mut self, call: &Call, scope: &mut Scope) -> Option<StmtKind> {
        let [cond, message @ ast::Expr { kind: ast::ExprKind::Str(_), .. }] = call.args else {
            self.diagnostics.push(
                Diagnostic::new(Code::Arity, call.span, "`assert()` takes a condition and a message")
                    .with_hint("e.g. `assert($n > 0, \"no events\")` (the message a string literal)"),
            );
            return None;
        };
        let span = call.span;
        let expr = |kind| ast::Expr { kind, span };
        let stmt = |kind| ast::Stmt { kind, span };
        let call_of = |name: &str, args| {
            stmt(ast::StmtKind::Expr(expr(ast::ExprKind::Call { name: name.into(), name_span: span, args })))
        };
        let failed = vec![
            call_of("errorf", vec![expr(ast::ExprKind::Str("assert failed: %s".into())), message.clone()]),
            call_of("exit", vec![expr(ast::ExprKind::Int(1))]),
        ];
        let not = ast::Expr { kind: ast::ExprKind::Unary(ast::UnaryOp::Not, Box::new(cond.clone())), span: cond.span };
        self.stmt(&stmt(ast::StmtKind::If { cond: not, then: failed, otherwise: Vec::new() }), scope)
    }

    /// `system(FORMAT, args...)`: user space runs the rendered command with `/bin/sh -c`.
    pub(super) fn system(&mut self, args: &[ast::Expr], span: Span, scope: &mut Scope) -> Option<StmtKind> {
        let unsafe_ok = self.require_unsafe("system", span);
        let stmt = self.printf(args, span, scope, PrintfAction::System)?;
        unsafe_ok.then_some(stmt)
    }

    /// Reports `name()` in a script compiled without `--unsafe`; true when it is allowed.
    /// `write_user(dst, "string", len)` (bpftrace 0.27, `--unsafe`): `bpf_probe_write_user` copies the first `len`
    /// bytes of the string to the user address `dst` of the current task; true when the kernel wrote them. `len`
    /// is a constant within the string, so the verifier knows the copy stays in it.
    pub(super) fn write_user(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        let unsafe_ok = self.require_unsafe(call.name, call.name_span);
        if !self.arity(call.name, call.name_span, call.args, 3) {
            return None;
        }
        let (dst, src, len) =
            (self.scalar(&call.args[0], scope), self.expr(&call.args[1], scope), self.constant(&call.args[2], scope));
        let (dst, src, len) = (dst?, src?, len?);
        self.require_string(call.name, &src)?;
        let size = src.ty.size();
        if !(1..=i64::from(size)).contains(&len) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Limit,
                    call.args[2].span,
                    format!("`write_user()` copies 1 to {size} bytes of a {}, not {len}", src.ty.describe()),
                )
                .with_hint("copy fewer bytes, or from a longer string"),
            );
            return None;
        }
        let len = Expr { kind: ExprKind::Const(len), ty: Type::U64, span: call.args[2].span };
        unsafe_ok.then_some(Operands { map: None, args: vec![dst, src, len], ty: Type::Bool })
    }

    fn require_unsafe(&mut self, name: &str, span: Span) -> bool {
        if self.unsafe_actions {
            return true;
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::NeedsUnsafe,
                span,
                format!("`{name}()` acts on the system: it is only allowed with --unsafe"),
            )
            .with_hint("run `jl --unsafe ...` if you mean it"),
        );
        false
    }

    /// The format string of `time()` / `strftime()`, checked to be a literal.
    fn time_format(&mut self, function: &str, arg: &ast::Expr) -> Option<String> {
        match &arg.kind {
            ast::ExprKind::Str(format) => Some(format.clone()),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        arg.span,
                        format!("the format of `{function}()` must be a string literal"),
                    )
                    .with_hint("strftime(3) conversions, plus %f for microseconds: e.g. \"%H:%M:%S.%f\""),
                );
                None
            }
        }
    }

    /// The index of `format` in the script's table of time formats.
    fn intern_time_format(&mut self, format: String, span: Span) -> Option<usize> {
        if let Some(index) = self.time_formats.iter().position(|known| *known == format) {
            return Some(index);
        }
        if self.time_formats.len() >= MAX_TIME_FORMATS {
            self.diagnostics.push(Diagnostic::new(
                Code::Limit,
                span,
                format!("a script has at most {MAX_TIME_FORMATS} different time formats"),
            ));
            return None;
        }
        self.time_formats.push(format);
        Some(self.time_formats.len() - 1)
    }
}

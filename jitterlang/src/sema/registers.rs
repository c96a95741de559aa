//! `reg("name")`: a saved register of the interrupted context, in the probes whose context holds them.

use super::builtins::Call;
use super::expr::field_expr;
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{BinaryOp, Expr, ExprKind, Type};
use jitterlib::probe::{has_registers, register_field, REGISTERS};

impl Checker<'_> {
    /// `reg("ip")` (bpftrace): the register's saved value, an unsigned 64-bit integer, in kprobes, uprobes and
    /// perf-event probes (`profile`, `interval`, `software`); other probes have no saved registers.
    pub(super) fn reg(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let names = || REGISTERS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
        let ast::ExprKind::Str(name) = &call.args[0].kind else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, call.args[0].span, "`reg()` takes a register name in quotes")
                    .with_hint(format!("e.g. `reg(\"ip\")`; the registers are {}", names())),
            );
            return None;
        };
        let Some(field) = register_field(name) else {
            self.diagnostics.push(
                Diagnostic::new(Code::UnknownIdent, call.args[0].span, format!("`{name}` is not a register of x86-64"))
                    .with_hint(format!("the registers are {}", names())),
            );
            return None;
        };
        if !has_registers(&scope.probe.attach()) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    call.span,
                    format!("`{}` has no saved registers for `reg()`", scope.probe.describe()),
                )
                .with_hint(
                    "reg() works in kprobes, uprobes and perf-event probes (profile, interval, software); a \
                     tracepoint gives its arguments as `args.NAME`",
                ),
            );
            return None;
        }
        Some(field_expr(&field, call.span))
    }

    /// `usermode` (bpftrace, x86-64): 1 when the probe fired while the CPU ran user code, else 0. With saved
    /// registers, the privilege level of the saved code segment (`(cs & 3) == 3`); a probe without them runs in
    /// the kernel (0), except the never-attached ones (`BEGIN`, `END`, `self:signal`), which jl's user-space code
    /// runs, as bpftrace's (1).
    pub(super) fn usermode(&mut self, span: Span, scope: &mut Scope) -> Option<Expr> {
        let constant = |value| Expr { kind: ExprKind::Const(value), ty: Type::U64, span };
        if !has_registers(&scope.probe.attach()) {
            return Some(constant(i64::from(scope.probe.trigger().is_some())));
        }
        let cs = field_expr(&register_field("cs")?, span);
        let level =
            Expr { kind: ExprKind::Binary(BinaryOp::BitAnd, Box::new(cs), Box::new(constant(3))), ..constant(0) };
        Some(Expr { kind: ExprKind::Binary(BinaryOp::Eq, Box::new(level), Box::new(constant(3))), ..constant(0) })
    }
}

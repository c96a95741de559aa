//! `uaddr("symbol")`: the address of a symbol of the binary a user-space probe is in, resolved when compiling.

use super::builtins::Call;
use super::expr::field_expr;
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{BinaryOp, Expr, ExprKind, Pointee, PointerType, Type};
use jitterlib::probe::register_field;
use jitterlib::session::Attach;
use jitterlib::usym::Binary;

impl Checker<'_> {
    /// `uaddr("symbol")` (bpftrace): a pointer to the symbol (a variable, or a function) of the probed binary,
    /// `uint8 *` to `uint64 *` as its size says (`uint64 *` otherwise). In a position-independent binary (a PIE, a
    /// library) the address is where the process loaded it: the probed instruction's address (`reg("ip")`, where
    /// the uprobe fired) moved by the distance between the two symbols in the file.
    pub(super) fn uaddr(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let ast::ExprKind::Str(symbol) = &call.args[0].kind else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, call.args[0].span, "`uaddr()` takes a symbol name in quotes")
                    .with_hint("e.g. `uaddr(\"ps1_prompt\")`, read with `*uaddr(\"name\")` or `str(uaddr(\"name\"))`"),
            );
            return None;
        };
        let Attach::Uprobe { binary, offset, ret, .. } = scope.probe.attach() else {
            let message =
                format!("`uaddr()` works in uprobes, uretprobes and USDT probes, not in `{}`", scope.probe.describe());
            self.diagnostics.push(
                Diagnostic::new(Code::Unsupported, call.span, message).with_hint(
                    "it names a symbol of the probed binary; a kernel symbol's address is `kaddr(\"name\")`",
                ),
            );
            return None;
        };
        let span = call.args[0].span;
        let opened = Binary::open(&binary).map_err(|error| error.to_string());
        let binary = match opened {
            Ok(binary) => binary,
            Err(error) => {
                return self.uaddr_error(
                    Code::MissingTarget,
                    span,
                    format!("cannot read the probed binary: {error}"),
                    None,
                )
            }
        };
        let Some((address, size)) = binary.symbol(symbol) else {
            let path = binary.path().display();
            let stripped =
                binary.is_stripped().then_some("the file is stripped: only the symbols it exports are known");
            return self.uaddr_error(
                Code::MissingTarget,
                span,
                format!("`{symbol}` is not a symbol of {path}"),
                stripped,
            );
        };
        let bytes = match size {
            1 | 2 | 4 | 8 => size as u8,
            _ => 8,
        };
        let ty = Type::Pointer(PointerType { pointee: Pointee::Int { bytes, signed: false }, depth: 1 });
        if !binary.is_relocatable() {
            return Some(Expr { kind: ExprKind::Const(address as i64), ty, span: call.span });
        }
        let path = binary.path().display().to_string();
        if ret || scope.probe.points().len() > 1 {
            let at = if ret { "at a function's return" } else { "in a probe of several sites" };
            return self.uaddr_error(
                Code::Unsupported,
                call.span,
                format!("{path} is position-independent: where it is loaded is not known {at}"),
                Some("`uaddr()` of a PIE or a library works in a uprobe on one function (or a USDT probe of one site); a binary linked with -no-pie takes it anywhere"),
            );
        }
        let Some(probed) = binary.virtual_address(offset) else {
            return self.uaddr_error(
                Code::MissingTarget,
                call.span,
                format!("no loadable segment of {path} holds the probed offset {offset:#x}"),
                None,
            );
        };
        let ip = field_expr(&register_field("ip").expect("x86-64 has ip"), call.span);
        let distance =
            Expr { kind: ExprKind::Const(address.wrapping_sub(probed) as i64), ty: Type::I64, span: call.span };
        Some(Expr { kind: ExprKind::Binary(BinaryOp::Add, Box::new(ip), Box::new(distance)), ty, span: call.span })
    }

    fn uaddr_error(&mut self, code: Code, span: Span, message: String, hint: Option<&str>) -> Option<Expr> {
        let diagnostic = Diagnostic::new(code, span, message);
        self.diagnostics.push(match hint {
            Some(hint) => diagnostic.with_hint(hint),
            None => diagnostic,
        });
        None
    }
}

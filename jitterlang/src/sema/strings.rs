//! Functions of strings with a value: `strncmp(s1, s2, n)`, `strcontains(haystack, needle)`,
//! `strstr(haystack, needle)`, `strlen(s)`, and the messages `strerror(errno)` and `signal_name(sig)`.

use super::builtins::{Call, Operands};
use super::{Checker, Scope};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Expr, ExprKind, Type};

impl Checker<'_> {
    /// `strcontains(haystack, needle)` (bpftrace 0.27): both strings.
    pub(super) fn strcontains(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        if !self.arity(call.name, call.name_span, call.args, 2) {
            return None;
        }
        let (haystack, needle) = (self.expr(&call.args[0], scope), self.expr(&call.args[1], scope));
        let args = vec![haystack?, needle?];
        for side in &args {
            self.require_string(call.name, side)?;
        }
        Some(Operands { map: None, args, ty: Type::Bool })
    }

    /// `strstr(haystack, needle)` (bpftrace 0.27): where the needle first occurs in the haystack, or -1.
    pub(super) fn strstr(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        let Operands { args, .. } = self.strcontains(call, scope)?;
        Some(Operands { map: None, args, ty: Type::I64 })
    }

    /// `strlen(s)` (bpftrace 0.27): the bytes of a string before its first NUL.
    pub(super) fn strlen(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let text = self.expr(&call.args[0], scope)?;
        self.require_string(call.name, &text)?;
        Some(Operands { map: None, args: vec![text], ty: Type::U64 })
    }

    /// `strerror(errno)` (bpftrace 0.27): the C library's message for an error number (its sign ignored, as
    /// bpftrace's; `Unknown error` for a number it has none for, as bpftrace's).
    pub(super) fn strerror(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        self.message_of(call, scope, "an error number", |number| {
            let text = i32::try_from(number.unsigned_abs())
                .map_or_else(|_| String::new(), |errno| std::io::Error::from_raw_os_error(errno).to_string());
            // std renders "Invalid argument (os error 22)": the C library's message is what precedes the suffix.
            match text.split(" (os error").next() {
                Some(message) if !message.is_empty() && !message.starts_with("Unknown error") => message.to_string(),
                _ => "Unknown error".to_string(),
            }
        })
    }

    /// `signal_name(sig)` (bpftrace 0.27): the C library's strsignal(3) name of a signal number, 0 to 64
    /// (`Interrupt` for 2), else `N/A` (as bpftrace's).
    pub(super) fn signal_name(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        self.message_of(call, scope, "a signal number", |number| match i32::try_from(number) {
            Ok(signal @ 0..=64) => {
                // SAFETY: strsignal returns a NUL-terminated string for any number; it is copied at once.
                let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(signal)) };
                name.to_string_lossy().into_owned()
            }
            _ => "N/A".to_string(),
        })
    }

    /// A function of a number known when compiling (`strerror`, `signal_name`): the string `text` gives for it.
    fn message_of(&mut self, call: &Call, scope: &mut Scope, what: &str, text: fn(i64) -> String) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let checked = self.scalar(&call.args[0], scope)?;
        let Some(number) = checked.constant() else {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    call.args[0].span,
                    format!("`{}()` takes {what} known when compiling, such as 2", call.name),
                )
                .with_hint("print a number known only at run time with %d (e.g. `printf(\"%d\", -retval)`)"),
            );
            return None;
        };
        let text = text(number);
        let ty = Type::Str(super::expr::string_size(text.len()));
        Some(Expr { kind: ExprKind::Str(text), ty, span: call.span })
    }

    /// `strncmp(s1, s2, n)` (bpftrace 0.27): 0 when the strings agree in their first `n` bytes (or up to the end
    /// of the shorter), else 1. `n` is a constant.
    pub(super) fn strncmp(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        if !self.arity(call.name, call.name_span, call.args, 3) {
            return None;
        }
        let (lhs, rhs, limit) =
            (self.expr(&call.args[0], scope), self.expr(&call.args[1], scope), self.constant(&call.args[2], scope));
        let (lhs, rhs, limit) = (lhs?, rhs?, limit?);
        for side in [&lhs, &rhs] {
            self.require_string(call.name, side)?;
        }
        if limit < 0 {
            self.diagnostics.push(Diagnostic::new(
                Code::Limit,
                call.args[2].span,
                format!("`strncmp()` compares a number of bytes from 0 up, not {limit}"),
            ));
            return None;
        }
        let limit = Expr { kind: ExprKind::Const(limit), ty: Type::U64, span: call.args[2].span };
        Some(Operands { map: None, args: vec![lhs, rhs, limit], ty: Type::U64 })
    }

    /// `Some(())` when an argument of the string function `name` is a string, else an error.
    pub(super) fn require_string(&mut self, name: &str, side: &Expr) -> Option<()> {
        if matches!(side.ty, Type::Str(_)) {
            return Some(());
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::TypeMismatch,
                side.span,
                format!("`{name}()` takes strings, this is {}", side.ty.describe()),
            )
            .with_hint("read a string from an address with `str(ptr)`"),
        );
        None
    }
}

//! Network helpers: `ntop(addr)` (an IPv4 or IPv6 address printed in user space) and `ntohs`/`ntohl`.

use super::access::is_access;
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, Type};

impl Checker<'_> {
    /// `ntop(addr)`, `ntohs(x)`, `ntohl(x)`.
    pub(super) fn network_call(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        if !self.arity(name, name_span, args, 1) {
            return None;
        }
        if name == "ntop" {
            return self.ntop(&args[0], span, scope);
        }
        let bits = if name == "ntohs" { 16 } else { 32 };
        let value = self.scalar(&args[0], scope)?;
        Some(Expr { kind: ExprKind::ByteSwap { operand: Box::new(value), bits }, ty: Type::U64, span })
    }

    /// A 4- or 16-byte struct member (`iph->saddr`, `sk->__sk_common.skc_v6_daddr`) is read whole; any other
    /// integer is an IPv4 address in its low 4 bytes, in network order as read from the kernel.
    fn ntop(&mut self, arg: &ast::Expr, span: Span, scope: &mut Scope) -> Option<Expr> {
        if !is_access(arg) {
            let mut value = self.scalar(arg, scope)?;
            value.ty = Type::Ipv4;
            value.span = span;
            return Some(value);
        }
        let place = self.place(arg, scope)?;
        let (size, ty) = match place.size() {
            4 => (4, Type::Ipv4),
            16 => (16, Type::Ipv6),
            size => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        arg.span,
                        format!("`ntop()` takes a 4-byte IPv4 or 16-byte IPv6 address, this member has {size} bytes"),
                    )
                    .with_hint("e.g. `ntop(iph->saddr)`, `ntop(sk->__sk_common.skc_v6_daddr)`"),
                );
                return None;
            }
        };
        let read = self.kernel_read(place, size);
        Some(Expr { kind: ExprKind::KernelRead(read), ty, span })
    }
}

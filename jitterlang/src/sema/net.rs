//! Network helpers: `ntop(addr)` and `ntop(af, addr)` (an IPv4 or IPv6 address printed in user space), the
//! address family constants `AF_INET` and `AF_INET6`, `pton("addr")`, and the byte swaps `ntohs`, `ntohl` and `bswap`.

use super::access::is_access;
use super::builtins::Call;
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Expr, ExprKind, Type};
use jitterlib::probe::{Field, FieldType};
use std::net::{Ipv4Addr, Ipv6Addr};

/// `AF_INET`: IPv4.
const AF_INET: i64 = 2;
/// `AF_INET6`: IPv6.
const AF_INET6: i64 = 10;

/// The address family names scripts may use, as constants (the values of Linux's `socket.h`).
pub(super) const ADDRESS_FAMILIES: &[(&str, i64)] = &[("AF_INET", AF_INET), ("AF_INET6", AF_INET6)];

impl Checker<'_> {
    /// `ntop(addr)`, `ntop(af, addr)`, `ntohs(x)`, `ntohl(x)`.
    pub(super) fn network_call(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        if name == "ntop" {
            return match args {
                [address] => self.ntop(address, span, scope),
                [family, address] => self.ntop_family(family, address, span, scope),
                _ => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::Arity,
                            name_span,
                            format!("`ntop()` takes 1 or 2 arguments, {} given", args.len()),
                        )
                        .with_hint("`ntop(addr)`, or `ntop(af, addr)` with AF_INET or AF_INET6"),
                    );
                    None
                }
            };
        }
        if !self.arity(name, name_span, args, 1) {
            return None;
        }
        let bits = if name == "ntohs" { 16 } else { 32 };
        let value = self.scalar(&args[0], scope)?;
        Some(Expr { kind: ExprKind::ByteSwap { operand: Box::new(value), bits }, ty: Type::U64, span })
    }

    /// `bswap(x)` (bpftrace 0.27): the bytes of `x` in reverse order, as many as its type has: a field or member
    /// its size, a cast `(uint16)x` its width, any other value 8 bytes. One byte is itself.
    pub(super) fn bswap(&mut self, call: &Call, scope: &mut Scope) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let value = self.scalar(&call.args[0], scope)?;
        let bytes = match &value.kind {
            ExprKind::Convert { bits, .. } => bits / 8,
            ExprKind::Field(Field { ty: FieldType::Int { size, .. } | FieldType::Enum { size, .. }, .. }) => *size,
            ExprKind::KernelRead(read) => read.size,
            _ => 8,
        };
        let bits = match bytes {
            1 => return Some(Expr { span: call.span, ..value }),
            2 => 16,
            4 => 32,
            _ => 64,
        };
        Some(Expr { kind: ExprKind::ByteSwap { operand: Box::new(value), bits }, ty: Type::U64, span: call.span })
    }

    /// `pton("addr")` (bpftrace 0.27): an address literal's bytes in network order, as `ntop()` takes them: an
    /// IPv4 address (with a `.`) is an integer of its 4 bytes as they sit in memory, an IPv6 address (with a
    /// `:`) a 16-byte buffer.
    pub(super) fn pton(&mut self, call: &Call) -> Option<Expr> {
        if !self.arity(call.name, call.name_span, call.args, 1) {
            return None;
        }
        let arg = &call.args[0];
        let ast::ExprKind::Str(text) = &arg.kind else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, arg.span, "`pton()` takes an address as a string literal")
                    .with_hint("e.g. `pton(\"127.0.0.1\")` or `pton(\"::1\")`"),
            );
            return None;
        };
        let address = match text.contains(':') {
            false => text.parse::<Ipv4Addr>().map(|v4| v4.octets().to_vec()).map_err(|error| (error, "IPv4")),
            true => text.parse::<Ipv6Addr>().map(|v6| v6.octets().to_vec()).map_err(|error| (error, "IPv6")),
        };
        let bytes = match address {
            Ok(bytes) => bytes,
            Err((error, family)) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        arg.span,
                        format!("`{text}` is not an {family} address: {error}"),
                    )
                    .with_hint("an IPv4 address is written `10.0.0.1`, an IPv6 one `fe80::1`"),
                );
                return None;
            }
        };
        let word = |chunk: &[u8]| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            Expr { kind: ExprKind::Const(i64::from_le_bytes(word)), ty: Type::U64, span: call.span }
        };
        Some(match bytes.len() {
            4 => word(&bytes),
            _ => {
                Expr { kind: ExprKind::Tuple(bytes.chunks(8).map(word).collect()), ty: Type::Buf(16), span: call.span }
            }
        })
    }

    /// `ntop(af, addr)`: with a constant family, the address must have its size (4 bytes for `AF_INET`, 16 for
    /// `AF_INET6`); with a family known only at run time, both go to user space, which prints the address as
    /// the family says.
    fn ntop_family(&mut self, family: &ast::Expr, address: &ast::Expr, span: Span, scope: &mut Scope) -> Option<Expr> {
        let (family, address) = (self.scalar(family, scope), self.ntop(address, address.span, scope));
        let (family, mut address) = (family?, address?);
        let ExprKind::Const(constant) = family.kind else {
            let kind = ExprKind::Inet { family: Box::new(family), address: Box::new(address) };
            return Some(Expr { kind, ty: Type::Inet, span });
        };
        let (name, expected, bytes, other) = match constant {
            AF_INET => ("AF_INET", Type::Ipv4, 4, "AF_INET6"),
            AF_INET6 => ("AF_INET6", Type::Ipv6, 16, "AF_INET"),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        family.span,
                        format!("address family {constant} is neither AF_INET ({AF_INET}) nor AF_INET6 ({AF_INET6})"),
                    )
                    .with_hint("use AF_INET or AF_INET6, or a family read at run time (`sk->__sk_common.skc_family`)"),
                );
                return None;
            }
        };
        if address.ty != expected {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    address.span,
                    format!("{name} addresses have {bytes} bytes, this is an {}", address.ty.describe()),
                )
                .with_hint(format!("use {other}, or an address of {bytes} bytes")),
            );
            return None;
        }
        address.span = span;
        Some(address)
    }

    /// A 4- or 16-byte struct member (`iph->saddr`, `sk->__sk_common.skc_v6_daddr`) is read whole, a 16-byte buffer
    /// (a tracepoint's `__u8 saddr_v6[16]`) copied; any other integer is an IPv4 address in its low 4 bytes, in
    /// network order as read from the kernel.
    fn ntop(&mut self, arg: &ast::Expr, span: Span, scope: &mut Scope) -> Option<Expr> {
        let (kind, size, what) = if is_access(arg) {
            let place = self.place(arg, scope)?;
            let size = place.size();
            (ExprKind::KernelRead(self.kernel_read(place, size)), size, "member")
        } else {
            let value = self.expr(arg, scope)?;
            match value.ty {
                Type::Buf(len) => (value.kind, len, "buffer"),
                _ => (self.require_scalar(value)?.kind, 4, "integer"),
            }
        };
        let ty = match (size, what) {
            (4, "member" | "integer") => Type::Ipv4,
            (16, _) => Type::Ipv6,
            (size, _) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        arg.span,
                        format!("`ntop()` takes a 4-byte IPv4 or 16-byte IPv6 address, this {what} has {size} bytes"),
                    )
                    .with_hint("e.g. `ntop(iph->saddr)`, `ntop(sk->__sk_common.skc_v6_daddr)`"),
                );
                return None;
            }
        };
        Some(Expr { kind, ty, span })
    }
}

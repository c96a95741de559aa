//! Functions of maps with a value: `has_key(@m, k)`, `len(@m)`.

use super::builtins::{Call, Operands};
use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic};
use crate::ir::Type;

impl Checker<'_> {
    /// `has_key(@m, k)` (bpftrace 0.27): whether `@m` has an entry for `k`; a map with several keys takes them all,
    /// `has_key(@m, k1, k2)`.
    pub(super) fn has_key(&mut self, call: &Call, scope: &mut Scope) -> Option<Operands> {
        let (target, keys) = match call.args {
            [ast::Expr { kind: ast::ExprKind::Map(target), .. }, keys @ ..]
                if target.keys.is_empty() && !keys.is_empty() =>
            {
                (target, keys)
            }
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Arity,
                        call.name_span.to(call.span),
                        "`has_key()` takes a whole map and a key",
                    )
                    .with_hint("e.g. `has_key(@start, tid)`, or `has_key(@m, k1, k2)` for a map with two keys"),
                );
                return None;
            }
        };
        let entry = ast::MapRef { keys: keys.to_vec(), ..target.clone() };
        let keys = self.keys(&entry, scope)?;
        let map = self.maps.existing(&entry, &keys, &mut self.diagnostics)?;
        if self.maps.is_histogram(map) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Unsupported,
                    target.span,
                    "a histogram's keys hold its buckets: `has_key()` cannot test them",
                )
                .with_hint("count the same keys in a map of their own (`@seen[k] = count()`) and test that"),
            );
            return None;
        }
        self.maps.keys_in_programs(map);
        Some(Operands { map: Some(map), args: keys, ty: Type::Bool })
    }
}

impl Checker<'_> {
    /// `len(@m)` (bpftrace 0.27): how many keys `@m` holds, for a map with keys. bpftrace refuses a map without
    /// keys too; a histogram's keys hold its buckets, so its length would count buckets.
    pub(super) fn len(&mut self, call: &Call, _scope: &mut Scope) -> Option<Operands> {
        let target = match call.args {
            [ast::Expr { kind: ast::ExprKind::Map(target), .. }] if target.keys.is_empty() => target,
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(Code::Arity, call.name_span.to(call.span), "`len()` takes a whole map")
                        .with_hint("e.g. `len(@start)`"),
                );
                return None;
            }
        };
        let map = self.maps.named(target, &mut self.diagnostics)?;
        if !self.for_each_available("`len()`", call.name_span) {
            return None;
        }
        let (refused, hint) = if self.maps.is_histogram(map) {
            (
                "a histogram's keys hold its buckets: `len()` cannot count its keys",
                "count the keys in a map of their own (`@seen[k] = count()`) and take `len()` of that",
            )
        } else if !self.maps.has_keys(map) {
            (
                "`len()` counts the keys of a map with keys, and this map has a single value",
                "a map written without `[...]` always holds one value; `len()` takes maps such as `@m[k]` (as bpftrace)",
            )
        } else {
            self.maps.keys_in_programs(map);
            return Some(Operands { map: Some(map), args: Vec::new(), ty: Type::U64 });
        };
        self.diagnostics.push(Diagnostic::new(Code::Unsupported, target.span, refused).with_hint(hint));
        None
    }
}

//! Functions of maps with a value: `has_key(@m, k)`.

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
        Some(Operands { map: Some(map), args: keys, ty: Type::U64 })
    }
}

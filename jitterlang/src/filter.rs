//! Script-wide filters added from the command line (`-p PID`), applied to the syntax tree before checking.

use crate::ast::{BinaryOp, Expr, ExprKind, ProbeBlock, ProbeKind, Script};

/// Restricts every probe block but `BEGIN`/`END` to events of process `pid`: the block's predicate becomes
/// `pid == PID && (predicate)`.
pub fn restrict_to_pid(script: &mut Script, pid: u32) {
    for block in script.blocks.iter_mut().filter(|block| !is_lifecycle(block)) {
        let span = block.span;
        let builtin = Expr { kind: ExprKind::Ident("pid".into()), span };
        let value = Expr { kind: ExprKind::Int(u64::from(pid)), span };
        let test = Expr { kind: ExprKind::Binary(BinaryOp::Eq, Box::new(builtin), Box::new(value)), span };
        block.predicate = Some(match block.predicate.take() {
            Some(existing) => Expr { kind: ExprKind::Binary(BinaryOp::And, Box::new(test), Box::new(existing)), span },
            None => test,
        });
    }
}

fn is_lifecycle(block: &ProbeBlock) -> bool {
    let lifecycle = |name: &str| jitterlib::probe::kind(name).is_some_and(|kind| matches!(kind.name, "BEGIN" | "END"));
    block
        .probes
        .iter()
        .all(|probe| matches!(&probe.kind, ProbeKind::Path(parts) if parts.len() == 1 && lifecycle(&parts[0])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_pid_test_in_front_of_existing_predicates_but_not_to_begin() {
        let mut script =
            crate::syntax::parse("BEGIN { exit(); } tracepoint:a:b /cpu == 0/ { exit(); } tracepoint:a:c { exit(); }")
                .expect("parses");
        restrict_to_pid(&mut script, 42);
        assert!(script.blocks[0].predicate.is_none());
        let Some(Expr { kind: ExprKind::Binary(BinaryOp::And, test, _), .. }) = &script.blocks[1].predicate else {
            panic!("expected `pid == 42 && ...`: {:?}", script.blocks[1].predicate);
        };
        assert!(matches!(&test.kind, ExprKind::Binary(BinaryOp::Eq, _, value) if value.kind == ExprKind::Int(42)));
        assert!(matches!(&script.blocks[2].predicate, Some(Expr { kind: ExprKind::Binary(BinaryOp::Eq, ..), .. })));
    }
}

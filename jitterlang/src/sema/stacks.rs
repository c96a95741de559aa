//! Stacks: `kstack` and `ustack` (builtins), and their calls `kstack(N)` (at most N frames), `kstack(MODE)`
//! and `kstack(MODE, N)`: bpftrace's default output mode, `bpftrace`, named, or `raw` (addresses, no symbols).

use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Builtin, Expr, ExprKind, Type};
use jitterlib::agg::{StackKind, StackMode, MAX_STACK_FRAMES};

/// bpftrace's stack modes jl has, by name.
const MODES: &[(&str, StackMode)] = &[("bpftrace", StackMode::Symbols), ("raw", StackMode::Raw)];

/// bpftrace's stack modes jl does not print.
const OTHER_MODES: &[&str] = &["perf", "build_id"];

impl Checker<'_> {
    /// `kstack(...)` / `ustack(...)` with arguments: a frame limit, a mode, or both.
    pub(super) fn stack_call(
        &mut self,
        name: &str,
        name_span: Span,
        args: &[ast::Expr],
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        if !self.context_allowed(&format!("`{name}`"), span, scope) {
            return None;
        }
        let kind = if name == "ustack" { StackKind::USER } else { StackKind::KERNEL };
        let (mode, limit) = match args {
            [] => (None, None),
            [mode @ ast::Expr { kind: ast::ExprKind::Ident(_), .. }] => (Some(mode), None),
            [limit] => (None, Some(limit)),
            [mode, limit] => (Some(mode), Some(limit)),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Arity,
                        name_span,
                        format!("`{name}()` takes at most 2 arguments, {} given", args.len()),
                    )
                    .with_hint(format!("`{name}(5)` keeps 5 frames; `{name}` alone keeps up to {MAX_STACK_FRAMES}")),
                );
                return None;
            }
        };
        let mode = match mode {
            Some(mode) => self.stack_mode(name, mode)?,
            None => StackMode::Symbols,
        };
        let frames = match limit {
            None => MAX_STACK_FRAMES,
            Some(arg) => {
                let requested = self.constant(arg, scope)?;
                match u32::try_from(requested).ok().filter(|frames| (1..=MAX_STACK_FRAMES).contains(frames)) {
                    Some(frames) => frames,
                    None => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::Limit,
                                arg.span,
                                format!("a stack keeps 1 to {MAX_STACK_FRAMES} frames, not {requested}"),
                            )
                            .with_hint(format!(
                                "{MAX_STACK_FRAMES} is the kernel's limit (kernel.perf_event_max_stack); `{name}` alone keeps them all"
                            )),
                        );
                        return None;
                    }
                }
            }
        };
        let kind = kind.with_frames(frames).with_mode(mode);
        let ty = self.stack_type(kind);
        Some(Expr { kind: ExprKind::Builtin(Builtin::Stack(kind)), ty, span })
    }

    /// A stack mode: `bpftrace` or `raw`; bpftrace's other modes are not supported.
    fn stack_mode(&mut self, name: &str, mode: &ast::Expr) -> Option<StackMode> {
        if let ast::ExprKind::Ident(word) = &mode.kind {
            if let Some((_, mode)) = MODES.iter().find(|(known, _)| known == word) {
                return Some(*mode);
            }
        }
        let diagnostic = match &mode.kind {
            ast::ExprKind::Ident(word) if OTHER_MODES.contains(&word.as_str()) => Diagnostic::new(
                Code::Unsupported,
                mode.span,
                format!("stack mode `{word}` is not supported"),
            )
            .with_hint("stacks print in bpftrace's default mode (`symbol+offset`, one frame a line) or `raw` (addresses); `-f folded` writes flame-graph input"),
            ast::ExprKind::Ident(word) => {
                Diagnostic::new(Code::UnknownIdent, mode.span, format!("unknown stack mode `{word}`"))
                    .with_hint(format!("the modes are `bpftrace`, the default, and `raw`; `{name}(5)` keeps 5 frames"))
            }
            _ => Diagnostic::new(
                Code::TypeMismatch,
                mode.span,
                format!("the first of two arguments of `{name}()` is a stack mode"),
            )
            .with_hint(format!("e.g. `{name}(bpftrace, 5)`, or `{name}(5)` for a frame limit alone")),
        };
        self.diagnostics.push(diagnostic);
        None
    }

    /// Records that a probe takes stacks of `kind` (their stack-trace map is created) and returns their type.
    pub(super) fn stack_type(&mut self, kind: StackKind) -> Type {
        if !self.stacks.contains(&kind.frames) {
            self.stacks.push(kind.frames);
        }
        Type::Stack(kind)
    }
}

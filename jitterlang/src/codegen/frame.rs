//! The stack frame and scratch registers of one program being generated.

use crate::diag::{Code, Diagnostic, Span};
use jitterlib::insn::Reg;

/// The BPF stack limit.
const STACK_LIMIT: i32 = 512;

/// Callee-saved registers available for intermediate values (`r6` holds the context).
const TEMPS: [Reg; 3] = [Reg::R7, Reg::R8, Reg::R9];

/// Stack slots (offsets from `r10`, 8-byte aligned) and the pool of temporary registers.
#[derive(Debug)]
pub(super) struct Frame {
    /// Bytes in use below the frame pointer.
    depth: i32,
    /// Deepest point reached, for reporting.
    peak: i32,
    free: Vec<Reg>,
}

impl Frame {
    /// A frame whose top `reserved` bytes belong to the probe's prologue.
    pub(super) fn new(reserved: u32) -> Frame {
        let depth = (reserved as i32 + 7) / 8 * 8;
        Frame { depth, peak: depth, free: TEMPS.iter().rev().copied().collect() }
    }

    /// Allocates `size` bytes (rounded up to 8) and returns their offset from `r10`.
    pub(super) fn alloc(&mut self, size: u32, span: Span) -> Result<i16, Diagnostic> {
        let size = (size as i32 + 7) / 8 * 8;
        if self.depth + size > STACK_LIMIT {
            return Err(Diagnostic::new(
                Code::Limit,
                span,
                format!(
                    "this needs {} bytes of BPF stack, more than the {STACK_LIMIT} the kernel allows",
                    self.depth + size
                ),
            )
            .with_hint("use fewer or shorter string keys and printf arguments in this probe"));
        }
        self.depth += size;
        self.peak = self.peak.max(self.depth);
        Ok(-self.depth as i16)
    }

    /// The current allocation point, to release everything allocated after it with [`Frame::release`].
    pub(super) fn mark(&self) -> i32 {
        self.depth
    }

    /// Releases the slots allocated since `mark`.
    pub(super) fn release(&mut self, mark: i32) {
        self.depth = mark;
    }

    /// Takes a free temporary register, if any is left.
    pub(super) fn take(&mut self) -> Option<Reg> {
        self.free.pop()
    }

    /// Returns a temporary register to the pool.
    pub(super) fn give(&mut self, reg: Reg) {
        self.free.push(reg);
    }
}

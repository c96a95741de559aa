//! `join(array, delim)`: the strings of a NULL-terminated `char *` array, read straight into one ring-buffer record
//! (16 strings of 256 bytes do not fit on the 512-byte BPF stack), so the line reaches user space whole.

use super::{Gen, EVENTS_MAP_INDEX};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Expr, JOIN_MAX, JOIN_STR_SIZE};
use crate::wire::Stat;
use jitterlib::insn::{AluOp, Helper, JmpOp, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

/// The record's header: the format id, then how many strings follow.
const HEADER: u32 = 16;

impl Gen<'_> {
    /// Reserves the record, writes the format `id`, then loops: reads the array's next pointer (at most
    /// [`JOIN_MAX`]), stops at a NULL, reads its string into its [`JOIN_STR_SIZE`]-byte slot and writes the count so
    /// far; then submits. A full ring buffer counts a lost event, a string that fills its slot a truncated one.
    pub(super) fn join(&mut self, id: usize, array: &Expr) -> Result<()> {
        self.writes_events = true;
        let base = self.value(array)?;
        let registers = || {
            Diagnostic::new(Code::Limit, array.span, "`join()` needs more registers than are free here")
                .with_hint("call it in a statement of its own, outside loops over maps")
        };
        let record = self.frame.take().ok_or_else(registers)?;
        let index = self.frame.take().ok_or_else(registers)?;
        let pointer = self.frame.alloc(8, array.span)?;
        let (reserved, next, submit, done) =
            (self.b.new_label(), self.b.new_label(), self.b.new_label(), self.b.new_label());
        self.b.ld_map(Reg::R1, EVENTS_MAP_INDEX);
        self.b.mov64(Reg::R2, (HEADER + JOIN_MAX * JOIN_STR_SIZE) as i32);
        self.b.mov64(Reg::R3, 0);
        self.b.call(Helper::RingbufReserve);
        self.b.jump_if(JmpOp::Ne, Reg::R0, 0, reserved);
        self.counter(Stat::EventsLost).emit_increment(&mut self.b);
        self.b.jump(done);
        self.b.bind(reserved);
        self.b.mov64(record, Reg::R0);
        self.b.store_imm(Size::DW, record, 0, id as i32);
        self.b.store_imm(Size::DW, record, 8, 0);
        self.b.mov64(index, 0);
        self.b.bind(next);
        // The array's next pointer; a failed read leaves zeroes, which end the array too.
        self.b.stack_pointer(Reg::R1, pointer);
        self.b.mov64(Reg::R2, 8);
        self.b.mov64(Reg::R3, index);
        self.b.alu64(AluOp::Lsh, Reg::R3, 3);
        self.b.alu64(AluOp::Add, Reg::R3, base);
        self.call_probe_read(Helper::ProbeReadKernel, Helper::ProbeReadUser);
        self.b.load(Size::DW, Reg::R3, Reg::R10, pointer);
        self.b.jump_if(JmpOp::Eq, Reg::R3, 0, submit);
        self.b.mov64(Reg::R1, index);
        self.b.alu64(AluOp::Mul, Reg::R1, JOIN_STR_SIZE as i32);
        self.b.alu64(AluOp::Add, Reg::R1, record);
        self.b.alu64(AluOp::Add, Reg::R1, HEADER as i32);
        self.b.mov64(Reg::R2, JOIN_STR_SIZE as i32);
        self.call_probe_read(Helper::ProbeReadKernelStr, Helper::ProbeReadUserStr);
        self.count_truncation(JOIN_STR_SIZE);
        self.b.alu64(AluOp::Add, index, 1);
        self.b.store(Size::DW, record, 8, index);
        self.b.jump_if(JmpOp::Lt, index, JOIN_MAX as i32, next);
        self.b.bind(submit);
        self.b.mov64(Reg::R1, record);
        self.b.mov64(Reg::R2, 0);
        self.b.call(Helper::RingbufSubmit);
        self.b.bind(done);
        self.frame.give(index);
        self.frame.give(record);
        self.frame.give(base);
        Ok(())
    }
}

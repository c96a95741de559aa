//! Reads of memory through typed pointers (`bpf_probe_read_kernel`, in uprobes `bpf_probe_read_user`), and
//! integer conversions.

use super::Gen;
use crate::diag::{Diagnostic, Span};
use crate::ir::KernelRead;
use jitterlib::insn::{AluOp, Helper, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// `dst = *(size *)(pointer + offset)` through an 8-byte stack slot, the bitfield extracted and the value
    /// sign-extended when `signed`. A failed read gives 0 (the helper zeroes its destination).
    pub(super) fn kernel_read_scalar(&mut self, read: &KernelRead, signed: bool, dst: Reg, span: Span) -> Result<()> {
        self.scalar(&read.pointer, dst)?;
        let mark = self.frame.mark();
        let slot = self.frame.alloc(8, span)?;
        self.probe_read(slot, read.size, dst, read.offset);
        self.b.load(Size::from_bytes(read.size).unwrap_or(Size::DW), dst, Reg::R10, slot);
        self.frame.release(mark);
        match read.bitfield {
            Some((low_bit, width)) => self.extend(dst, 64 - (low_bit + width) as i32, 64 - width as i32, signed),
            // Loads zero-extend: only signed values shorter than 8 bytes need more.
            None if signed => self.extend(dst, 64 - 8 * read.size as i32, 64 - 8 * read.size as i32, true),
            None => {}
        }
        Ok(())
    }

    /// Copies a `char` array member into the string buffer of `size` bytes at `r10 + offset`, NUL-padded.
    pub(super) fn kernel_read_into(&mut self, read: &KernelRead, offset: i16, size: u32) -> Result<()> {
        let len = read.size.min(size);
        // Zero the words the read leaves partly or wholly unwritten, so the whole buffer is initialised.
        let written = len / 8 * 8;
        self.zero(offset + written as i16, size - written);
        let pointer = self.value(&read.pointer)?;
        self.probe_read(offset, len, pointer, read.offset);
        self.frame.give(pointer);
        Ok(())
    }

    /// `(uintN)` / `(intN)` on the value in `dst`: keeps the low `bits` bits, zero- or sign-extended.
    pub(super) fn convert(&mut self, dst: Reg, bits: u32, signed: bool) {
        match (signed, bits) {
            (false, 32) => self.b.alu32(AluOp::Mov, dst, dst),
            (false, _) => self.b.alu64(AluOp::And, dst, ((1u64 << bits) - 1) as i32),
            (true, _) => self.extend(dst, 64 - bits as i32, 64 - bits as i32, true),
        }
    }

    /// `dst <<= left; dst >>= right` (arithmetic when `signed`), each skipped when it is 0.
    fn extend(&mut self, dst: Reg, left: i32, right: i32, signed: bool) {
        if left > 0 {
            self.b.alu64(AluOp::Lsh, dst, left);
        }
        if right > 0 {
            self.b.alu64(if signed { AluOp::Arsh } else { AluOp::Rsh }, dst, right);
        }
    }

    /// `bpf_probe_read_kernel(r10 + slot, size, pointer + offset)`; in user-space probes (uprobes), where
    /// pointers are the process's, `bpf_probe_read_user`.
    fn probe_read(&mut self, slot: i16, size: u32, pointer: Reg, offset: u32) {
        self.b.stack_pointer(Reg::R1, slot);
        self.b.mov64(Reg::R2, size as i32);
        self.b.mov64(Reg::R3, pointer);
        if offset != 0 {
            self.b.alu64(AluOp::Add, Reg::R3, offset as i32);
        }
        self.b.call(if self.probe.user_space() { Helper::ProbeReadUser } else { Helper::ProbeReadKernel });
    }
}

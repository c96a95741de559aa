//! Reads of memory through typed pointers (`bpf_probe_read_kernel`, or `bpf_probe_read_user` for user
//! addresses), and integer conversions.

use super::Gen;
use crate::diag::{Diagnostic, Span};
use crate::ir::{BinaryOp, Builtin, Expr, ExprKind, KernelRead, StructField};
use crate::wire::Stat;
use jitterlib::insn::{AluOp, Helper, JmpOp, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// `dst = *(size *)(pointer + offset)` through an 8-byte stack slot, the bitfield extracted and the value
    /// sign-extended when `signed`. A failed read gives 0 (the helper zeroes its destination).
    pub(super) fn kernel_read_scalar(&mut self, read: &KernelRead, signed: bool, dst: Reg, span: Span) -> Result<()> {
        self.scalar(&read.pointer, dst)?;
        let mark = self.frame.mark();
        let slot = self.frame.alloc(8, span)?;
        self.probe_read(slot, read, dst);
        self.load_member(dst, slot, read.size, read.bitfield, signed);
        self.frame.release(mark);
        Ok(())
    }

    /// `dst` = the member of `size` bytes at `r10 + slot` (a bitfield's bits), sign-extended when `signed`.
    fn load_member(&mut self, dst: Reg, slot: i16, size: u32, bitfield: Option<(u32, u32)>, signed: bool) {
        self.b.load(Size::from_bytes(size).unwrap_or(Size::DW), dst, Reg::R10, slot);
        match bitfield {
            // An unsigned bitfield narrower than 32 bits: shifted down and masked (one instruction at bit 0).
            Some((low_bit, width)) if !signed && width < 32 => {
                self.extend(dst, 0, low_bit as i32, false);
                self.b.alu64(AluOp::And, dst, ((1u64 << width) - 1) as i32);
            }
            Some((low_bit, width)) => self.extend(dst, 64 - (low_bit + width) as i32, 64 - width as i32, signed),
            // Loads zero-extend: only signed values shorter than 8 bytes need more.
            None if signed => self.extend(dst, 64 - 8 * size as i32, 64 - 8 * size as i32, true),
            None => {}
        }
    }

    /// Writes a struct read once into the record of its members at `r10 + offset` (`size` bytes): integers and
    /// pointers 8 bytes each, arrays and strings their bytes NUL-padded (see [`ExprKind::StructValue`]).
    pub(super) fn struct_into(
        &mut self,
        read: &KernelRead,
        fields: &[StructField],
        offset: i16,
        size: u32,
        span: Span,
    ) -> Result<()> {
        let mark = self.frame.mark();
        let copy = self.frame.alloc(read.size.div_ceil(8) * 8, span)?;
        let pointer = self.read_pointer(&read.pointer)?;
        self.probe_read(copy, read, pointer);
        self.give_pointer(pointer);
        let mut at = offset;
        for field in fields {
            let from = copy + field.offset as i16;
            if field.ty.in_register() {
                self.load_member(Reg::R1, from, field.size, field.bitfield, field.ty.is_signed());
                self.b.store(Size::DW, Reg::R10, at, Reg::R1);
            } else {
                // In pieces as wide as the member's alignment allows (its elements' size at least).
                let piece =
                    [8u32, 4, 2, 1].into_iter().find(|piece| (field.offset | field.size) % piece == 0).unwrap_or(1);
                let width = Size::from_bytes(piece).unwrap_or(Size::B);
                for done in (0..field.size).step_by(piece as usize) {
                    self.b.load(width, Reg::R1, Reg::R10, from + done as i16);
                    self.b.store(width, Reg::R10, at + done as i16, Reg::R1);
                }
                self.zero(at + field.size as i16, field.ty.size() - field.size);
            }
            at += field.ty.size() as i16;
        }
        self.zero(at, size - (at - offset) as u32);
        self.frame.release(mark);
        Ok(())
    }

    /// Copies a `char` array member into the string buffer of `size` bytes at `r10 + offset`, NUL-padded.
    pub(super) fn kernel_read_into(&mut self, read: &KernelRead, offset: i16, size: u32) -> Result<()> {
        let len = read.size.min(size);
        // Zero the words the read leaves partly or wholly unwritten, so the whole buffer is initialised.
        let written = len / 8 * 8;
        self.zero(offset + written as i16, size - written);
        let pointer = self.read_pointer(&read.pointer)?;
        self.probe_read(offset, &KernelRead { size: len, ..read.clone() }, pointer);
        self.give_pointer(pointer);
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

    /// The register holding the address a read starts from: a variable or a variable's address computed straight
    /// into `r3`, the read helper's argument (nothing between clobbers it), else a temporary.
    fn read_pointer(&mut self, pointer: &Expr) -> Result<Reg> {
        match pointer.kind {
            ExprKind::Var(_) | ExprKind::VarAddress(_) => {
                self.scalar(pointer, Reg::R3)?;
                Ok(Reg::R3)
            }
            _ => self.value(pointer),
        }
    }

    /// Returns what [`Gen::read_pointer`] took.
    fn give_pointer(&mut self, pointer: Reg) {
        if pointer != Reg::R3 {
            self.frame.give(pointer);
        }
    }

    /// `bpf_probe_read_kernel(r10 + slot, read.size, pointer + read.offset)`, `pointer` holding `read.pointer`'s
    /// value; `bpf_probe_read_user` for a user address (see [`Gen::call_probe_read`]) unless the pointer is known
    /// to be the kernel's ([`known_kernel`]). A failed read is counted, except from a variable's address or `curtask`
    /// itself, which are always mapped.
    fn probe_read(&mut self, slot: i16, read: &KernelRead, pointer: Reg) {
        self.b.stack_pointer(Reg::R1, slot);
        self.b.mov64(Reg::R2, read.size as i32);
        if pointer != Reg::R3 {
            self.b.mov64(Reg::R3, pointer);
        }
        if read.offset != 0 {
            self.b.alu64(AluOp::Add, Reg::R3, read.offset as i32);
        }
        if known_kernel(&read.pointer) && !self.probe.user_space() {
            self.b.call(Helper::ProbeReadKernel);
            if !matches!(read.pointer.kind, ExprKind::VarAddress(_) | ExprKind::Builtin(Builtin::CurTask)) {
                self.count_failure(Stat::ReadFailed);
            }
        } else {
            self.call_probe_read(Helper::ProbeReadKernel, Helper::ProbeReadUser);
        }
    }

    /// Calls `kernel` or `user`, a pair of `bpf_probe_read_*` helpers, for the address in `r3`. In a user-space
    /// probe (uprobes) every address is the process's: `user` alone. Elsewhere the address says at run time: the
    /// top bit is set on kernel addresses (x86-64, arm64), clear on user ones, such as a syscall's pointers
    /// (`args.filename`, the `char *` elements of `args.argv`), which the kernel helper cannot read where SMAP is
    /// on (it fails and gives zeros).
    /// A failed read (`r0` negative) is counted ([`Stat::ReadFailed`]); `r0` is kept for the caller.
    pub(super) fn call_probe_read(&mut self, kernel: Helper, user: Helper) {
        if self.probe.user_space() {
            self.b.call(user);
        } else {
            let user_address = self.b.new_label();
            let done = self.b.new_label();
            self.b.jump_if(JmpOp::Sge, Reg::R3, 0, user_address);
            self.b.call(kernel);
            self.b.jump(done);
            self.b.bind(user_address);
            self.b.call(user);
            self.b.bind(done);
        }
        self.count_failure(Stat::ReadFailed);
    }
}

/// Whether a pointer is known, when compiling, to hold a kernel address: `curtask`, a variable's address (the BPF
/// stack), a pointer read out of kernel memory reached from one of these (`curtask->parent`), or one of these
/// plus or minus an offset. Others (tracepoint arguments, casts of integers) are told apart at run time.
fn known_kernel(pointer: &Expr) -> bool {
    match &pointer.kind {
        ExprKind::Builtin(Builtin::CurTask) | ExprKind::VarAddress(_) => true,
        ExprKind::KernelRead(read) => known_kernel(&read.pointer),
        ExprKind::Binary(BinaryOp::Add | BinaryOp::Sub, base, _) => known_kernel(base),
        _ => false,
    }
}

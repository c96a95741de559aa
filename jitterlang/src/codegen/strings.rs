//! Strings and tuples: written into stack buffers (map keys, printf events, variables), always fully initialised so
//! equal strings give equal keys.

use super::Gen;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Builtin, Expr, ExprKind, Type};
use crate::wire::Stat;
use jitterlib::insn::{AluOp, Helper, JmpOp, Reg, Size};
use jitterlib::probe::{emit_name_text, FieldSource, FieldType};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// Writes the string `expr` into `size` bytes at `r10 + offset`, NUL-padded (truncated if longer).
    pub(super) fn string_into(&mut self, expr: &Expr, offset: i16, size: u32) -> Result<()> {
        self.enter(expr.span);
        match &expr.kind {
            ExprKind::Str(text) => {
                let mut bytes = text.as_bytes().to_vec();
                bytes.resize(size as usize, 0);
                // A string ends in NUL; the bytes of `buf("abc", 3)` are kept as they are.
                if let (Some(last), Type::Str(_)) = (bytes.last_mut(), expr.ty) {
                    *last = 0;
                }
                for (i, chunk) in bytes.chunks(4).enumerate() {
                    let word = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    self.b.store_imm(Size::W, Reg::R10, offset + 4 * i as i16, word);
                }
            }
            ExprKind::Builtin(Builtin::Comm) => {
                // Zeroed first: some kernels leave the bytes after the NUL as they were (see
                // `jitterlib::probe::emit_current_comm`, which this slot of any size and alignment cannot use).
                let comm = size.min(crate::sema::COMM_SIZE);
                self.zero(offset, size);
                self.b.stack_pointer(Reg::R1, offset);
                self.b.mov64(Reg::R2, comm as i32);
                self.b.call(Helper::GetCurrentComm);
            }
            ExprKind::Field(field) => match (self.probe.source_now(field), field.ty) {
                (
                    FieldSource::Context { offset: from },
                    FieldType::Str { size: len } | FieldType::Bytes { size: len } | FieldType::ShortBytes { size: len },
                ) => {
                    let len = len.min(size);
                    let single = Size::from_bytes(len).filter(|_| from % len == 0 && len < 8);
                    if let Some(word) = single {
                        self.b.load(word, Reg::R1, Reg::R6, from as i16);
                        self.b.store(word, Reg::R10, offset, Reg::R1);
                    } else if from % 8 == 0 && len % 8 == 0 {
                        for i in 0..(len / 8) as i16 {
                            self.b.load(Size::DW, Reg::R1, Reg::R6, from as i16 + 8 * i);
                            self.b.store(Size::DW, Reg::R10, offset + 8 * i, Reg::R1);
                        }
                    } else {
                        self.b.stack_pointer(Reg::R1, offset);
                        self.b.mov64(Reg::R2, len as i32);
                        self.b.mov64(Reg::R3, Reg::R6);
                        self.b.alu64(AluOp::Add, Reg::R3, from as i32);
                        self.b.call(Helper::ProbeReadKernel);
                    }
                    self.zero(offset + len as i16, size - len);
                }
                (FieldSource::Context { offset: from }, FieldType::DataLocStr) => {
                    // __data_loc: the low 16 bits of the u32 are the string's offset in the record.
                    self.zero(offset, size);
                    self.b.load(Size::W, Reg::R3, Reg::R6, from as i16);
                    self.b.alu64(AluOp::And, Reg::R3, 0xffff);
                    self.b.alu64(AluOp::Add, Reg::R3, Reg::R6);
                    self.b.stack_pointer(Reg::R1, offset);
                    self.b.mov64(Reg::R2, size as i32);
                    self.b.call(Helper::ProbeReadKernelStr);
                    self.count_truncation(size);
                }
                (FieldSource::Computed, FieldType::Str { .. }) => {
                    self.probe.emit_computed(&mut self.b, self.point, &field.name, offset, size)
                }
                _ => return Err(not_a_string(expr)),
            },
            ExprKind::Ternary { cond, then, otherwise } => {
                let other = self.b.new_label();
                let done = self.b.new_label();
                self.branch(cond, false, other)?;
                // Each side as the wider type of the two (a string of `size` bytes, or the tuple's).
                let ty = if matches!(expr.ty, Type::Str(_)) { Type::Str(size) } else { expr.ty };
                self.value_as(then, offset, ty)?;
                self.b.jump(done);
                self.b.bind(other);
                self.value_as(otherwise, offset, ty)?;
                self.b.bind(done);
            }
            ExprKind::NameText(index) => {
                let Type::Name(names) = index.ty else { return Err(not_a_string(expr)) };
                let reg = self.value(index)?;
                emit_name_text(&mut self.b, reg, names, offset, size);
                self.frame.give(reg);
            }
            ExprKind::KernelStr(pointer) => {
                let reg = self.value(pointer)?;
                self.zero(offset, size);
                let read = expr.ty.size().min(size);
                self.read_address(reg, offset, read, Helper::ProbeReadKernelStr, Helper::ProbeReadUserStr);
                self.frame.give(reg);
                self.count_truncation(read);
            }
            ExprKind::Buf(pointer) => {
                let reg = self.value(pointer)?;
                let len = match expr.ty {
                    Type::Buf(len) => len.min(size),
                    _ => size,
                };
                // The read writes `len` bytes: zero the padding after them (the helper zeroes all `len` on a
                // failed read).
                let written = len / 8 * 8;
                self.zero(offset + written as i16, size - written);
                self.read_address(reg, offset, len, Helper::ProbeReadKernel, Helper::ProbeReadUser);
                self.frame.give(reg);
            }
            ExprKind::Inet { family, address } => {
                let reg = self.value(family)?;
                self.b.store(Size::DW, Reg::R10, offset, reg);
                self.frame.give(reg);
                if address.ty == Type::Ipv6 {
                    self.string_into(address, offset + 8, 16)?;
                } else {
                    let reg = self.value(address)?;
                    // An IPv4 address is the low 4 bytes: clear the rest unless a 4-byte read already did.
                    if !matches!(&address.kind, ExprKind::KernelRead(read) if read.size <= 4) {
                        self.b.alu32(AluOp::Mov, reg, reg);
                    }
                    self.b.store(Size::DW, Reg::R10, offset + 8, reg);
                    self.frame.give(reg);
                    self.b.store_imm(Size::DW, Reg::R10, offset + 16, 0);
                }
            }
            ExprKind::KernelRead(read) => self.kernel_read_into(read, offset, size)?,
            ExprKind::StructValue { read, fields } => self.struct_into(read, fields, offset, size, expr.span)?,
            ExprKind::MapRead { map, keys } => {
                // A string stored in a plain map: copied word by word from the value (zeros when absent).
                let mark = self.frame.mark();
                let key = self.key(*map, keys, None, expr.span)?;
                self.lookup(self.user_map(*map), key);
                self.frame.release(mark);
                self.zero(offset, size);
                let absent = self.b.new_label();
                self.b.jump_if(JmpOp::Eq, Reg::R0, 0, absent);
                for i in 0..(size.min(expr.ty.size()) / 8) as i16 {
                    self.b.load(Size::DW, Reg::R1, Reg::R0, 8 * i);
                    self.b.store(Size::DW, Reg::R10, offset + 8 * i, Reg::R1);
                }
                self.b.bind(absent);
            }
            ExprKind::Var(var) => self.copy_words(self.vars[*var], offset, size),
            ExprKind::Tuple(elements) => {
                let mut at = offset;
                for element in elements {
                    self.value_into(element, at)?;
                    at += element.ty.size() as i16;
                }
                self.zero(at, size - (at - offset) as u32);
            }
            ExprKind::TupleElement { tuple, offset: from } => {
                let mark = self.frame.mark();
                let at = self.tuple_place(tuple)?;
                self.copy_words(at + *from as i16, offset, size);
                self.frame.release(mark);
            }
            _ => return Err(not_a_string(expr)),
        }
        self.leave();
        Ok(())
    }

    /// `helper(r10 + offset, len, address)`: `kernel` or `user` as the address says ([`Gen::call_probe_read`]).
    fn read_address(&mut self, address: Reg, offset: i16, len: u32, kernel: Helper, user: Helper) {
        self.b.mov64(Reg::R3, address);
        self.b.stack_pointer(Reg::R1, offset);
        self.b.mov64(Reg::R2, len as i32);
        self.call_probe_read(kernel, user);
    }

    /// Counts a likely truncation when a `bpf_probe_read_*_str` just filled all `size` bytes (`r0`, the length
    /// copied with its NUL, equals the buffer size: the string had at least `size - 1` characters).
    pub(super) fn count_truncation(&mut self, size: u32) {
        self.count_unless(JmpOp::Ne, size as i32, Stat::StrTruncated);
    }

    /// Writes any value into its slot at `r10 + offset`: 8 bytes for integers and stack ids, the type's size for
    /// strings. The one way map keys, map values, variables and event arguments reach the stack.
    pub(super) fn value_into(&mut self, expr: &Expr, offset: i16) -> Result<()> {
        // A constant that fits 32 bits (sign-extended) is one store.
        if let (ExprKind::Const(constant), true) = (&expr.kind, expr.ty.in_register()) {
            if let Ok(imm) = i32::try_from(*constant) {
                self.b.store_imm(Size::DW, Reg::R10, offset, imm);
                return Ok(());
            }
        }
        if expr.ty.in_register() {
            let reg = self.value(expr)?;
            self.b.store(Size::DW, Reg::R10, offset, reg);
            self.frame.give(reg);
            Ok(())
        } else {
            self.string_into(expr, offset, expr.ty.size())
        }
    }

    /// Writes `expr` into a slot laid out as `ty`: its own type, or one with longer strings (alone or in tuples) that
    /// a variable, a map's key or value or `? :` widened to ([`Type::widest`]), NUL-padded.
    pub(super) fn value_as(&mut self, expr: &Expr, offset: i16, ty: Type) -> Result<()> {
        match (expr.ty, ty) {
            (a, b) if a == b || expr.ty.in_register() => self.value_into(expr, offset),
            (Type::Str(_), Type::Str(size)) => self.string_into(expr, offset, size),
            _ => {
                let mark = self.frame.mark();
                let place = self.tuple_place(expr)?;
                self.widen_words(place, expr.ty, offset, ty);
                self.frame.release(mark);
                Ok(())
            }
        }
    }

    /// Copies a value of type `from_ty` at `r10 + from` into a slot of the wider `to_ty` at `r10 + to`, each
    /// string NUL-padded to its new size.
    fn widen_words(&mut self, from: i16, from_ty: Type, to: i16, to_ty: Type) {
        match (from_ty, to_ty) {
            (Type::Tuple(a), Type::Tuple(b)) => {
                for (index, (x, y)) in a.elements().iter().zip(b.elements()).enumerate() {
                    self.widen_words(from + a.offset(index) as i16, *x, to + b.offset(index) as i16, *y);
                }
            }
            _ => {
                let size = from_ty.size().min(to_ty.size());
                self.copy_words(from, to, size);
                self.zero(to + size as i16, to_ty.size() - size);
            }
        }
    }

    /// Copies `size` bytes (a multiple of 8) from `r10 + from` to `r10 + to`.
    fn copy_words(&mut self, from: i16, to: i16, size: u32) {
        for i in 0..(size / 8) as i16 {
            self.b.load(Size::DW, Reg::R1, Reg::R10, from + 8 * i);
            self.b.store(Size::DW, Reg::R10, to + 8 * i, Reg::R1);
        }
    }

    /// Where the tuple `tuple` lives on the stack: a variable's own slot, or a slot it is written into (the
    /// caller releases it with the frame).
    pub(super) fn tuple_place(&mut self, tuple: &Expr) -> Result<i16> {
        if let ExprKind::Var(var) = tuple.kind {
            return Ok(self.vars[var]);
        }
        let slot = self.frame.alloc(tuple.ty.size(), tuple.span)?;
        self.value_into(tuple, slot)?;
        Ok(slot)
    }

    /// Zeroes `size` bytes at `r10 + offset`, each store as wide as its address's alignment and the bytes left
    /// allow (the tail of a 4-byte array in an 8-byte slot is one 4-byte store).
    pub(super) fn zero(&mut self, offset: i16, size: u32) {
        let end = offset + size as i16;
        let mut at = offset;
        while at < end {
            let fits = |width: &Size| at % width.bytes() as i16 == 0 && at + width.bytes() as i16 <= end;
            let width = [Size::DW, Size::W, Size::H, Size::B].into_iter().find(fits).unwrap_or(Size::B);
            self.b.store_imm(width, Reg::R10, at, 0);
            at += width.bytes() as i16;
        }
    }
}

fn not_a_string(expr: &Expr) -> Diagnostic {
    Diagnostic::new(Code::Unsupported, expr.span, "this string cannot be copied yet")
}

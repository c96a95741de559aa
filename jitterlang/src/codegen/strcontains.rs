//! String searches, `strcontains(haystack, needle)` and `strstr(haystack, needle)`: a bounded loop with only
//! constant stack offsets, so that the verifier of Linux 5.10 (which refuses variable-offset stack reads) accepts
//! it; and `strlen(s)`, with no loop at all.
//!
//! The needle is compared, word by word under a mask of its bytes before its NUL, with the start of the
//! haystack; after each miss the haystack is shifted down by one byte, at most once per byte of it, until its
//! NUL comes to the front.

use super::Gen;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::Lowered;
use jitterlib::insn::{AluOp, JmpOp, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

/// The low bit of each byte, and the high one: the two constants of the "has a zero byte" test.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// `strcontains(haystack, needle)`: 1 when the needle (up to its NUL) occurs in the haystack, else 0; an empty
/// needle is in every haystack.
pub(crate) fn strcontains(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    search(gen, call, span, dst, false)
}

/// `strstr(haystack, needle)`: the offset of the needle's first occurrence in the haystack, else -1; an empty
/// needle is at 0.
pub(crate) fn strstr(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    search(gen, call, span, dst, true)
}

/// `strlen(s)`: the string into a buffer, the mask of its bytes before the NUL for each word (as the needle's),
/// and the bytes each mask keeps added up: `((mask & LOW_BITS) * LOW_BITS) >> 56` sums its 0x01 bytes.
pub(crate) fn strlen(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg) -> Result<()> {
    let [text] = &call.args[..] else {
        return Err(Diagnostic::new(Code::Internal, span, "strlen without its operand"));
    };
    let size = text.ty.size().div_ceil(8) * 8;
    let mark = gen.frame.mark();
    let bytes = gen.frame.alloc(size, text.span)?;
    gen.string_into(text, bytes, text.ty.size())?;
    let masks = gen.frame.alloc(size, text.span)?;
    nul_masks(gen, bytes, masks, size);
    gen.b.mov64(dst, 0);
    gen.b.ld_imm64(Reg::R3, LOW_BITS);
    for word in 0..(size / 8) as i16 {
        gen.b.load(Size::DW, Reg::R1, Reg::R10, masks + 8 * word);
        gen.b.alu64(AluOp::And, Reg::R1, Reg::R3);
        gen.b.alu64(AluOp::Mul, Reg::R1, Reg::R3);
        gen.b.alu64(AluOp::Rsh, Reg::R1, 56);
        gen.b.alu64(AluOp::Add, dst, Reg::R1);
    }
    gen.frame.release(mark);
    Ok(())
}

/// The search of `strcontains` (`index` false: 1 or 0) and `strstr` (`index` true: the offset or -1).
fn search(gen: &mut Gen, call: &Lowered, span: Span, dst: Reg, index: bool) -> Result<()> {
    let [haystack, needle] = &call.args[..] else {
        return Err(Diagnostic::new(Code::Internal, span, "a string search without its operands"));
    };
    let (hay_size, needle_size) = (haystack.ty.size().div_ceil(8) * 8, needle.ty.size().div_ceil(8) * 8);
    // Room for the longer of the two and one word of zeros shifted in at the top.
    let window = hay_size.max(needle_size) + 8;
    let mark = gen.frame.mark();
    let hay = gen.frame.alloc(window, haystack.span)?;
    gen.zero(hay, window);
    gen.string_into(haystack, hay, haystack.ty.size())?;
    let text = gen.frame.alloc(needle_size, needle.span)?;
    gen.string_into(needle, text, needle.ty.size())?;
    let masks = gen.frame.alloc(needle_size, needle.span)?;
    nul_masks(gen, text, masks, needle_size);

    let (found, not_found, again) = (gen.b.new_label(), gen.b.new_label(), gen.b.new_label());
    if !index {
        gen.b.mov64(dst, 1);
    }
    gen.b.mov64(Reg::R0, hay_size as i32);
    gen.b.bind(again);
    let miss = gen.b.new_label();
    for word in 0..(needle_size / 8) as i16 {
        gen.b.load(Size::DW, Reg::R2, Reg::R10, hay + 8 * word);
        gen.b.load(Size::DW, Reg::R3, Reg::R10, text + 8 * word);
        gen.b.alu64(AluOp::Xor, Reg::R2, Reg::R3);
        gen.b.load(Size::DW, Reg::R3, Reg::R10, masks + 8 * word);
        gen.b.alu64(AluOp::And, Reg::R2, Reg::R3);
        gen.b.jump_if(JmpOp::Ne, Reg::R2, 0, miss);
    }
    if index {
        // r0 counts the shifts left: the needle is at byte hay_size - r0.
        gen.b.mov64(dst, hay_size as i32);
        gen.b.alu64(AluOp::Sub, dst, Reg::R0);
    }
    gen.b.jump(found);
    gen.b.bind(miss);
    // haystack >>= 8 bits, across its words (little endian: the next byte moves to the front).
    for word in 0..(window / 8 - 1) as i16 {
        gen.b.load(Size::DW, Reg::R2, Reg::R10, hay + 8 * word);
        gen.b.alu64(AluOp::Rsh, Reg::R2, 8);
        gen.b.load(Size::DW, Reg::R3, Reg::R10, hay + 8 * (word + 1));
        gen.b.alu64(AluOp::Lsh, Reg::R3, 56);
        gen.b.alu64(AluOp::Or, Reg::R2, Reg::R3);
        gen.b.store(Size::DW, Reg::R10, hay + 8 * word, Reg::R2);
    }
    // The haystack ends at its first NUL: what follows one inside it (`"a\0b"`) is not searched.
    gen.b.load(Size::B, Reg::R2, Reg::R10, hay);
    gen.b.jump_if(JmpOp::Eq, Reg::R2, 0, not_found);
    gen.b.alu64(AluOp::Sub, Reg::R0, 1);
    gen.b.jump_if(JmpOp::Ne, Reg::R0, 0, again);
    gen.b.bind(not_found);
    gen.b.mov64(dst, if index { -1 } else { 0 });
    gen.b.bind(found);
    gen.frame.release(mark);
    Ok(())
}

/// For each word of the string at `text`, a mask of its bytes before the string's first NUL, stored at `masks`.
/// The first zero byte of a word is the lowest flagged by `(x - LOW_BITS) & !x & HIGH_BITS` (borrows only make
/// bytes above a real zero look zero); the mask is the bytes below it, and every word after it is masked out.
fn nul_masks(gen: &mut Gen, text: i16, masks: i16, size: u32) {
    gen.b.mov64(Reg::R5, -1);
    for word in 0..(size / 8) as i16 {
        let (store, next) = (gen.b.new_label(), gen.b.new_label());
        gen.b.load(Size::DW, Reg::R1, Reg::R10, text + 8 * word);
        gen.b.mov64(Reg::R2, Reg::R1);
        gen.b.ld_imm64(Reg::R3, LOW_BITS);
        gen.b.alu64(AluOp::Sub, Reg::R2, Reg::R3);
        gen.b.alu64(AluOp::Xor, Reg::R1, -1);
        gen.b.alu64(AluOp::And, Reg::R2, Reg::R1);
        gen.b.ld_imm64(Reg::R3, HIGH_BITS);
        gen.b.alu64(AluOp::And, Reg::R2, Reg::R3);
        gen.b.mov64(Reg::R4, -1);
        gen.b.jump_if(JmpOp::Eq, Reg::R2, 0, store);
        // The lowest flagged bit, 0x80 << 8k for a zero byte k: the mask of the k bytes below is (bit >> 7) - 1.
        gen.b.mov64(Reg::R4, Reg::R2);
        gen.b.alu64(AluOp::Neg, Reg::R4, 0);
        gen.b.alu64(AluOp::And, Reg::R4, Reg::R2);
        gen.b.alu64(AluOp::Rsh, Reg::R4, 7);
        gen.b.alu64(AluOp::Sub, Reg::R4, 1);
        gen.b.bind(store);
        gen.b.alu64(AluOp::And, Reg::R4, Reg::R5);
        gen.b.store(Size::DW, Reg::R10, masks + 8 * word, Reg::R4);
        gen.b.jump_if(JmpOp::Eq, Reg::R2, 0, next);
        gen.b.mov64(Reg::R5, 0);
        gen.b.bind(next);
    }
}

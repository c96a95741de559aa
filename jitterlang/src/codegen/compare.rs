//! `==` and `!=` on strings: a bounded compare of 8-byte words, with no loop and no helper call.
//!
//! Every string buffer is NUL-padded to its size and the shorter operand always ends in NUL (literals get one
//! extra byte, `comm` and fields are NUL-terminated), so comparing the first `min(size)` bytes word by word
//! decides equality: past the shorter string's NUL the longer one must be NUL too, or the words differ.

use super::Gen;
use crate::diag::Diagnostic;
use crate::ir::{Expr, ExprKind};
use jitterlib::insn::{JmpOp, Label, Operand, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// Jumps to `target` when the strings are equal (`on_equal`) or differ (`!on_equal`); falls through otherwise.
    pub(super) fn string_compare(&mut self, lhs: &Expr, rhs: &Expr, on_equal: bool, target: Label) -> Result<()> {
        let words = (lhs.ty.size().min(rhs.ty.size()) / 8) as i16;
        let (buffer, literal) = match (&lhs.kind, &rhs.kind) {
            (_, ExprKind::Str(text)) => (lhs, Some(literal_words(text, words))),
            (ExprKind::Str(text), _) => (rhs, Some(literal_words(text, words))),
            _ => (lhs, None),
        };
        let left = self.frame.alloc(buffer.ty.size(), buffer.span)?;
        self.string_into(buffer, left, buffer.ty.size())?;
        let right = match literal {
            Some(_) => None,
            None => {
                let right = self.frame.alloc(rhs.ty.size(), rhs.span)?;
                self.string_into(rhs, right, rhs.ty.size())?;
                Some(right)
            }
        };
        // Every word but the last jumps away when it differs; the last one decides with a single jump.
        let differ = if on_equal { self.b.new_label() } else { target };
        for word in 0..words {
            let last = word + 1 == words;
            let (jump, to) = if last && on_equal { (JmpOp::Eq, target) } else { (JmpOp::Ne, differ) };
            self.b.load(Size::DW, Reg::R1, Reg::R10, left + 8 * word);
            let operand = match (&literal, right) {
                (Some(values), _) => {
                    let value = values[word as usize];
                    match i32::try_from(value as i64) {
                        Ok(imm) => Operand::Imm(imm),
                        Err(_) => {
                            self.b.ld_imm64(Reg::R2, value);
                            Operand::Reg(Reg::R2)
                        }
                    }
                }
                (None, Some(right)) => {
                    self.b.load(Size::DW, Reg::R2, Reg::R10, right + 8 * word);
                    Operand::Reg(Reg::R2)
                }
                (None, None) => Operand::Imm(0),
            };
            self.b.jump_if(jump, Reg::R1, operand, to);
        }
        if on_equal {
            self.b.bind(differ);
        }
        Ok(())
    }
}

/// The first `words` little-endian 8-byte words of a NUL-padded literal.
fn literal_words(text: &str, words: i16) -> Vec<u64> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(8 * words.max(0) as usize, 0);
    bytes.chunks(8).map(|chunk| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]))).collect()
}

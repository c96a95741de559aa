//! Rewrites of a finished [`Program`] that make it shorter without changing what it does.

use super::opcode::{self, class};
use super::{Insn, Program, Reg};

impl Program {
    /// Removes the instruction at `index` (which must not be half of an `LD_IMM64`), moving every jump that
    /// crosses it, every map reference and every comment after it.
    pub fn remove(&mut self, index: usize) {
        for at in 0..self.insns.len() {
            let insn = &mut self.insns[at];
            if !is_jump(insn) || at == index {
                continue;
            }
            let target = at as i64 + 1 + i64::from(insn.off);
            if at < index && target > index as i64 {
                insn.off -= 1;
            } else if at > index && target <= index as i64 {
                insn.off += 1;
            }
        }
        self.insns.remove(index);
        for map_ref in &mut self.map_refs {
            if map_ref.insn > index {
                map_ref.insn -= 1;
            }
        }
        for (at, _) in &mut self.comments {
            if *at > index {
                *at -= 1;
            }
        }
        self.source_map.remove(index);
    }

    /// Lets a program that starts by copying its context out of `r1` (`rN = r1`) read the context from `r1`
    /// itself when every use of the copy comes before anything overwrites `r1` (the first helper call, usually):
    /// the copy goes, and so does any later `r1 = rN` that only puts the context back. Programs with backward
    /// jumps (loops) are left alone. Returns whether the copy was removed.
    pub fn keep_context_in_r1(&mut self) -> bool {
        let Some(first) = self.insns.first().copied() else { return false };
        let is_copy = first.code == (opcode::BPF_ALU64 | opcode::BPF_MOV | opcode::BPF_X)
            && first.src == Reg::R1 as u8
            && first.dst != first.src;
        if !is_copy || self.has_backward_jump() {
            return false;
        }
        let copy = first.dst;
        let restores_context = |insn: &Insn| insn.code == first.code && insn.dst == first.src && insn.src == copy;
        let clobber = self.insns[1..]
            .iter()
            .position(|insn| writes(insn, Reg::R1 as u8) && !restores_context(insn))
            .map_or(self.insns.len(), |at| at + 1);
        let mut at = 1;
        while at < self.insns.len() {
            let insn = self.insns[at];
            if mentions(&insn, copy) && (at >= clobber || writes(&insn, copy)) {
                return false;
            }
            at += if insn.code == opcode::BPF_LD | opcode::BPF_IMM | opcode::BPF_DW { 2 } else { 1 };
        }
        for insn in &mut self.insns[1..clobber] {
            if insn.dst == copy && uses_dst_register(insn) {
                insn.dst = Reg::R1 as u8;
            }
            if insn.src == copy && uses_src_register(insn) {
                insn.src = Reg::R1 as u8;
            }
        }
        let restores: Vec<usize> = (1..clobber).filter(|&at| is_self_move(&self.insns[at])).collect();
        for at in restores.into_iter().rev() {
            self.remove(at);
        }
        self.remove(0);
        true
    }

    /// Stores a helper's result straight from `r0` where the code copied it to another register only to store
    /// it (`rN = r0; *(u64 *)(r10 - 8) = rN`) and `rN` is overwritten before anything reads it again. Returns
    /// how many copies went.
    pub fn store_results_directly(&mut self) -> usize {
        let mut removed = 0;
        let mut at = 0;
        while at + 1 < self.insns.len() {
            let (copy, store) = (self.insns[at], self.insns[at + 1]);
            let is_result_copy = copy.code == (opcode::BPF_ALU64 | opcode::BPF_MOV | opcode::BPF_X)
                && copy.src == Reg::R0 as u8
                && copy.dst != copy.src;
            let stores_copy = store.code & 0x07 == opcode::BPF_STX
                && store.code & 0xe0 == opcode::BPF_MEM
                && store.src == copy.dst
                && store.dst != copy.dst;
            if is_result_copy && stores_copy && !self.is_jump_target(at + 1) && self.is_dead_after(copy.dst, at + 2) {
                self.insns[at + 1].src = Reg::R0 as u8;
                self.remove(at);
                removed += 1;
            }
            at += 1;
        }
        removed
    }

    /// Whether some jump lands on instruction `index`.
    fn is_jump_target(&self, index: usize) -> bool {
        self.insns
            .iter()
            .enumerate()
            .any(|(at, insn)| is_jump(insn) && at as i64 + 1 + i64::from(insn.off) == index as i64)
    }

    /// Whether, on every path from instruction `from`, register `reg` is overwritten (or the program exits)
    /// before any instruction could read it. A helper call counts as reading `r1`-`r5`.
    fn is_dead_after(&self, reg: u8, from: usize) -> bool {
        let mut visited = vec![false; self.insns.len()];
        let mut paths = vec![from];
        while let Some(mut at) = paths.pop() {
            while let Some(insn) = self.insns.get(at) {
                if std::mem::replace(&mut visited[at], true) {
                    break;
                }
                let op = insn.code & 0xf0;
                if matches!(class(insn.code), opcode::BPF_JMP | opcode::BPF_JMP32) {
                    match op {
                        opcode::BPF_EXIT if reg == Reg::R0 as u8 => return false,
                        opcode::BPF_EXIT => break,
                        opcode::BPF_CALL if reg <= Reg::R5 as u8 => return false,
                        opcode::BPF_CALL => {}
                        _ if mentions(insn, reg) => return false,
                        _ => {
                            let target = (at as i64 + 1 + i64::from(insn.off)) as usize;
                            if op == opcode::BPF_JA {
                                at = target;
                                continue;
                            }
                            paths.push(target);
                        }
                    }
                } else if is_pure_write(insn, reg) {
                    break;
                } else if mentions(insn, reg) {
                    return false;
                }
                at += if insn.code == opcode::BPF_LD | opcode::BPF_IMM | opcode::BPF_DW { 2 } else { 1 };
            }
        }
        true
    }

    fn has_backward_jump(&self) -> bool {
        self.insns.iter().any(|insn| is_jump(insn) && insn.off < 0)
    }
}

/// A conditional or unconditional jump (not a call or an exit).
fn is_jump(insn: &Insn) -> bool {
    matches!(class(insn.code), opcode::BPF_JMP | opcode::BPF_JMP32)
        && !matches!(insn.code & 0xf0, opcode::BPF_CALL | opcode::BPF_EXIT)
}

/// Whether the `dst` field names a register (everything but calls, exits and the second half of an
/// `LD_IMM64`, which has code 0 and dst 0 and never matches a callee-saved register).
fn uses_dst_register(insn: &Insn) -> bool {
    !(matches!(class(insn.code), opcode::BPF_JMP | opcode::BPF_JMP32)
        && matches!(insn.code & 0xf0, opcode::BPF_CALL | opcode::BPF_EXIT))
}

/// Whether the `src` field names a register (rather than a pseudo source such as a map reference).
fn uses_src_register(insn: &Insn) -> bool {
    match class(insn.code) {
        opcode::BPF_LDX | opcode::BPF_STX => true,
        opcode::BPF_ALU | opcode::BPF_ALU64 => insn.code & opcode::BPF_X != 0,
        opcode::BPF_JMP | opcode::BPF_JMP32 => is_jump(insn) && insn.code & opcode::BPF_X != 0,
        _ => false,
    }
}

/// Whether `insn` reads or writes register `reg`.
fn mentions(insn: &Insn, reg: u8) -> bool {
    (insn.dst == reg && uses_dst_register(insn)) || (insn.src == reg && uses_src_register(insn))
}

/// Whether `insn` overwrites register `reg` (helper calls overwrite `r0`-`r5`).
fn writes(insn: &Insn, reg: u8) -> bool {
    match class(insn.code) {
        opcode::BPF_ALU | opcode::BPF_ALU64 | opcode::BPF_LDX | opcode::BPF_LD => insn.dst == reg,
        opcode::BPF_JMP | opcode::BPF_JMP32 => insn.code & 0xf0 == opcode::BPF_CALL && reg <= Reg::R5 as u8,
        opcode::BPF_STX if insn.code & 0xe0 == opcode::BPF_ATOMIC => {
            insn.imm & opcode::BPF_FETCH != 0 && (insn.src == reg || reg == Reg::R0 as u8)
        }
        _ => false,
    }
}

/// Whether `insn` sets `reg` without reading it first (a move, a load).
fn is_pure_write(insn: &Insn, reg: u8) -> bool {
    match class(insn.code) {
        opcode::BPF_LDX | opcode::BPF_LD => insn.dst == reg && insn.src != reg,
        opcode::BPF_ALU | opcode::BPF_ALU64 => {
            insn.dst == reg
                && insn.code & 0xf0 == opcode::BPF_MOV
                && !(insn.code & opcode::BPF_X != 0 && insn.src == reg)
        }
        _ => false,
    }
}

/// `rN = rN`.
fn is_self_move(insn: &Insn) -> bool {
    insn.code == (opcode::BPF_ALU64 | opcode::BPF_MOV | opcode::BPF_X) && insn.dst == insn.src
}

#[cfg(test)]
mod tests {
    use crate::insn::{Builder, Helper, JmpOp, Reg, Size};

    #[test]
    fn context_reads_before_the_first_call_use_r1() {
        let mut b = Builder::new();
        let out = b.new_label();
        b.comment("probe");
        b.mov64(Reg::R6, Reg::R1);
        b.load(Size::W, Reg::R7, Reg::R6, 8);
        b.jump_if(JmpOp::Eq, Reg::R7, 0, out);
        b.mov64(Reg::R1, Reg::R6);
        b.ld_map(Reg::R2, 0);
        b.call(Helper::GetStackid);
        b.bind(out);
        b.exit();
        let mut program = b.finish().expect("assembles");
        assert!(program.keep_context_in_r1());
        let text = crate::insn::disassemble(&program, &["m"]);
        assert!(text.contains("r7 = *(u32 *)(r1 +8)"), "{text}");
        assert!(!text.contains("r6"), "{text}");
        assert_eq!(program.insns.len(), 6, "{text}");
        assert_eq!(program.map_refs[0].insn, 2);
        assert_eq!(program.insns[1].off, 3, "the jump still reaches the exit: {text}");
    }

    #[test]
    fn a_context_read_after_a_call_keeps_the_copy() {
        let mut b = Builder::new();
        b.mov64(Reg::R6, Reg::R1);
        b.call(Helper::KtimeGetNs);
        b.load(Size::W, Reg::R7, Reg::R6, 8);
        b.exit();
        let mut program = b.finish().expect("assembles");
        assert!(!program.keep_context_in_r1());
        assert_eq!(program.insns.len(), 4);
    }

    #[test]
    fn a_result_copied_only_to_be_stored_is_stored_from_r0() {
        let mut b = Builder::new();
        b.call(Helper::KtimeGetNs);
        b.mov64(Reg::R7, Reg::R0);
        b.store(Size::DW, Reg::R10, -8, Reg::R7);
        b.call(Helper::GetSmpProcessorId);
        b.mov64(Reg::R7, Reg::R0);
        b.store(Size::DW, Reg::R10, -16, Reg::R7);
        b.load(Size::DW, Reg::R1, Reg::R7, 0);
        b.exit();
        let mut program = b.finish().expect("assembles");
        assert_eq!(program.store_results_directly(), 1);
        let text = crate::insn::disassemble(&program, &[]);
        assert!(text.contains("*(u64 *)(r10 -8) = r0"), "{text}");
        assert!(text.contains("*(u64 *)(r10 -16) = r7"), "the second copy is read again: {text}");
    }

    #[test]
    fn an_unused_copy_is_dropped() {
        let mut b = Builder::new();
        b.mov64(Reg::R6, Reg::R1);
        b.call(Helper::KtimeGetNs);
        b.exit();
        let mut program = b.finish().expect("assembles");
        assert!(program.keep_context_in_r1());
        assert_eq!(program.insns.len(), 2);
    }
}

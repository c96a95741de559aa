//! Text listing of a [`Program`] in the kernel verifier's syntax (what `bpftool prog dump xlated` prints),
//! with `L<n>:` lines before jump targets, map names and the builder's comments.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::helper::Helper;
use super::opcode::*;
use super::{Insn, Program};

/// Disassembles `program`, one instruction per line, in the kernel verifier's syntax.
///
/// Map loads print `map[name]`, the name taken from `map_names` by map index (`map[#3]` when there is none);
/// every jump target is preceded by a label line `L<n>:`, numbered in order of position, and jumps name their
/// target as ` <L<n>>`. Comments attached to an instruction print before it as `; text`.
pub fn disassemble(program: &Program, map_names: &[&str]) -> String {
    let mut text = Listing::new(program, map_names).to_string();
    for (index, callback) in program.callbacks.iter().enumerate() {
        let listing = disassemble(callback, map_names).replace("callback[", &format!("callback[{index}]["));
        text.push_str(&format!("callback[{index}]:\n{listing}"));
    }
    text
}

/// The line [`disassemble`] prints for the instruction at slot `index` (`   8: (79) r2 = *(u64 *)(r7 +0)`),
/// without the label and comments before it, or `None` past the end.
pub fn disassemble_insn(program: &Program, map_names: &[&str], index: usize) -> Option<String> {
    (index < program.insns.len()).then(|| OneInsn { listing: Listing::new(program, map_names), index }.to_string())
}

/// One line of a [`Listing`].
struct OneInsn<'a> {
    listing: Listing<'a>,
    index: usize,
}

impl fmt::Display for OneInsn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.listing.write_insn(f, self.index)
    }
}

struct Listing<'a> {
    program: &'a Program,
    map_names: &'a [&'a str],
    /// Index of every instruction that is not the second half of an `LD_IMM64`.
    starts: Vec<usize>,
    /// Label number of every jump target, by instruction index.
    labels: BTreeMap<usize, usize>,
    /// Map index of every `LD_IMM64` that loads a map, by instruction index.
    maps: HashMap<usize, usize>,
    comments: BTreeMap<usize, Vec<&'a str>>,
}

impl<'a> Listing<'a> {
    fn new(program: &'a Program, map_names: &'a [&'a str]) -> Listing<'a> {
        let insns = &program.insns;
        let mut starts = Vec::with_capacity(insns.len());
        let mut index = 0;
        while index < insns.len() {
            starts.push(index);
            index += if is_ld_imm64(&insns[index]) { 2 } else { 1 };
        }
        let targets: BTreeSet<usize> = starts
            .iter()
            .filter_map(|&index| jump_target(index, &insns[index]))
            .filter(|target| starts.binary_search(target).is_ok())
            .collect();
        let labels = targets.into_iter().enumerate().map(|(number, target)| (target, number)).collect();
        let maps = program.map_refs.iter().map(|map_ref| (map_ref.insn, map_ref.map)).collect();
        let mut comments: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (index, text) in &program.comments {
            comments.entry(*index).or_default().push(text);
        }
        Listing { program, map_names, starts, labels, maps, comments }
    }

    fn write_comments(&self, f: &mut fmt::Formatter<'_>, index: usize) -> fmt::Result {
        for text in self.comments.get(&index).into_iter().flatten() {
            writeln!(f, "; {text}")?;
        }
        Ok(())
    }

    fn write_insn(&self, f: &mut fmt::Formatter<'_>, index: usize) -> fmt::Result {
        let insn = &self.program.insns[index];
        write!(f, "{index:>4}: ({:02x}) ", insn.code)?;
        match class(insn.code) {
            BPF_ALU | BPF_ALU64 => write_alu(f, insn),
            BPF_LD => self.write_ld(f, index, insn),
            BPF_LDX => write_ldx(f, insn),
            BPF_ST => write_st(f, insn),
            BPF_STX => write_stx(f, insn),
            _ => self.write_jmp(f, index, insn),
        }
    }

    fn write_ld(&self, f: &mut fmt::Formatter<'_>, index: usize, insn: &Insn) -> fmt::Result {
        let width = size_bits(insn.code);
        match mode(insn.code) {
            BPF_IMM if size(insn.code) == BPF_DW => {
                let high = self.program.insns.get(index + 1).map_or(0, |next| next.imm);
                let value = (u64::from(high as u32) << 32) | u64::from(insn.imm as u32);
                write!(f, "r{} = ", insn.dst)?;
                match (insn.src, self.maps.get(&index)) {
                    (BPF_PSEUDO_MAP_VALUE, Some(&map)) => {
                        self.write_map(f, map)?;
                        write!(f, "+{}", insn.imm)
                    }
                    (_, Some(&map)) => self.write_map(f, map),
                    (BPF_PSEUDO_MAP_FD, None) => write!(f, "map[fd:{}]", insn.imm),
                    (BPF_PSEUDO_MAP_VALUE, None) => write!(f, "map[fd:{}][0]+{}", insn.imm, high),
                    (BPF_PSEUDO_FUNC, None) => write!(f, "callback[{}]", insn.imm),
                    (0, None) => write!(f, "{value:#x}"),
                    (pseudo, None) => write!(f, "{value:#x} (pseudo {pseudo})"),
                }
            }
            BPF_ABS => write!(f, "r0 = *(u{width} *)skb[{}]", insn.imm),
            BPF_IND => write!(f, "r0 = *(u{width} *)skb[r{} + {}]", insn.src, insn.imm),
            _ => write_unknown(f),
        }
    }

    fn write_map(&self, f: &mut fmt::Formatter<'_>, map: usize) -> fmt::Result {
        match self.map_names.get(map) {
            Some(name) => write!(f, "map[{name}]"),
            None => write!(f, "map[#{map}]"),
        }
    }

    fn write_jmp(&self, f: &mut fmt::Formatter<'_>, index: usize, insn: &Insn) -> fmt::Result {
        let is_jmp32 = class(insn.code) == BPF_JMP32;
        match (op(insn.code), is_jmp32) {
            (BPF_CALL, false) => write_call(f, insn),
            (BPF_EXIT, false) => f.write_str("exit"),
            (BPF_JA, false) => write!(f, "goto pc{:+}", insn.off),
            (BPF_JA, true) => write!(f, "gotol pc{:+}", insn.imm),
            (code, _) => {
                let Some(op) = comparison(code) else { return write_unknown(f) };
                let reg = if is_jmp32 { 'w' } else { 'r' };
                write!(f, "if {reg}{} {op} ", insn.dst)?;
                if source(insn.code) == BPF_X {
                    write!(f, "{reg}{}", insn.src)?;
                } else {
                    write!(f, "{:#x}", insn.imm as u32)?;
                }
                write!(f, " goto pc{:+}", insn.off)
            }
        }?;
        let label = jump_target(index, insn).and_then(|target| self.labels.get(&target));
        match label {
            Some(number) => write!(f, " <L{number}>"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &index in &self.starts {
            if let Some(number) = self.labels.get(&index) {
                writeln!(f, "L{number}:")?;
            }
            self.write_comments(f, index)?;
            self.write_insn(f, index)?;
            writeln!(f)?;
        }
        // Comments given after the last instruction.
        for &index in self.comments.keys().filter(|&&index| index >= self.program.insns.len()) {
            self.write_comments(f, index)?;
        }
        Ok(())
    }
}

fn is_ld_imm64(insn: &Insn) -> bool {
    insn.code == BPF_LD | BPF_IMM | BPF_DW
}

/// The index a jump instruction at `index` goes to, if it is a jump and the index is not negative.
fn jump_target(index: usize, insn: &Insn) -> Option<usize> {
    let class = class(insn.code);
    if !matches!(class, BPF_JMP | BPF_JMP32) || matches!(op(insn.code), BPF_CALL | BPF_EXIT) {
        return None;
    }
    let relative =
        if class == BPF_JMP32 && op(insn.code) == BPF_JA { i64::from(insn.imm) } else { i64::from(insn.off) };
    let target = i64::try_from(index).ok()? + 1 + relative;
    usize::try_from(target).ok()
}

fn write_alu(f: &mut fmt::Formatter<'_>, insn: &Insn) -> fmt::Result {
    let is_64 = class(insn.code) == BPF_ALU64;
    let reg = if is_64 { 'r' } else { 'w' };
    let dst = insn.dst;
    let op = op(insn.code);
    if op == BPF_NEG {
        return write!(f, "{reg}{dst} = -{reg}{dst}");
    }
    if op == BPF_END {
        let swap = match (is_64, source(insn.code)) {
            (true, _) => "bswap",
            (false, BPF_TO_BE) => "be",
            (false, _) => "le",
        };
        return write!(f, "r{dst} = {swap}{} r{dst}", insn.imm);
    }
    let by_register = source(insn.code) == BPF_X;
    if op == BPF_MOV && by_register && insn.off != 0 {
        return write!(f, "{reg}{dst} = (s{}){reg}{}", insn.off, insn.src);
    }
    let Some(assign) = assignment(op, insn.off) else { return write_unknown(f) };
    write!(f, "{reg}{dst} {assign} ")?;
    if by_register {
        write!(f, "{reg}{}", insn.src)
    } else {
        write!(f, "{}", insn.imm)
    }
}

fn write_ldx(f: &mut fmt::Formatter<'_>, insn: &Insn) -> fmt::Result {
    let (dst, base, off) = (insn.dst, insn.src, insn.off);
    match mode(insn.code) {
        BPF_MEM => write!(f, "r{dst} = *(u{} *)(r{base} {off:+})", size_bits(insn.code)),
        BPF_MEMSX => write!(f, "r{dst} = *(s{} *)(r{base} {off:+})", size_bits(insn.code)),
        _ => write_unknown(f),
    }
}

fn write_st(f: &mut fmt::Formatter<'_>, insn: &Insn) -> fmt::Result {
    match mode(insn.code) {
        BPF_MEM => write!(f, "*(u{} *)(r{} {:+}) = {}", size_bits(insn.code), insn.dst, insn.off, insn.imm),
        _ => write_unknown(f),
    }
}

fn write_stx(f: &mut fmt::Formatter<'_>, insn: &Insn) -> fmt::Result {
    let (base, off, src, bits) = (insn.dst, insn.off, insn.src, size_bits(insn.code));
    match mode(insn.code) {
        BPF_MEM => write!(f, "*(u{bits} *)(r{base} {off:+}) = r{src}"),
        BPF_ATOMIC => {
            let suffix = if bits == 64 { "64" } else { "" };
            let fetch = insn.imm & BPF_FETCH != 0;
            match (insn.imm, atomic_op(insn.imm & !BPF_FETCH)) {
                (BPF_XCHG, _) => write!(f, "r{src} = atomic{suffix}_xchg((u{bits} *)(r{base} {off:+}), r{src})"),
                (BPF_CMPXCHG, _) => {
                    write!(f, "r0 = atomic{suffix}_cmpxchg((u{bits} *)(r{base} {off:+}), r0, r{src})")
                }
                (_, Some((name, _))) if fetch => {
                    write!(f, "r{src} = atomic{suffix}_fetch_{name}((u{bits} *)(r{base} {off:+}), r{src})")
                }
                (_, Some((_, assign))) => write!(f, "lock *(u{bits} *)(r{base} {off:+}) {assign} r{src}"),
                (_, None) => write_unknown(f),
            }
        }
        _ => write_unknown(f),
    }
}

fn write_call(f: &mut fmt::Formatter<'_>, insn: &Insn) -> fmt::Result {
    match insn.src {
        BPF_PSEUDO_CALL => write!(f, "call pc{:+}", insn.imm),
        BPF_PSEUDO_KFUNC_CALL => write!(f, "call kernel-function#{}", insn.imm),
        _ => {
            let name = Helper::from_id(insn.imm).map_or("unknown", Helper::name);
            write!(f, "call {name}#{}", insn.imm)
        }
    }
}

fn write_unknown(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("unknown opcode")
}

/// The compound assignment of an ALU operation; `off` 1 makes division and modulo signed.
fn assignment(op: u8, off: i16) -> Option<&'static str> {
    Some(match (op, off) {
        (BPF_ADD, _) => "+=",
        (BPF_SUB, _) => "-=",
        (BPF_MUL, _) => "*=",
        (BPF_DIV, 1) => "s/=",
        (BPF_DIV, _) => "/=",
        (BPF_OR, _) => "|=",
        (BPF_AND, _) => "&=",
        (BPF_LSH, _) => "<<=",
        (BPF_RSH, _) => ">>=",
        (BPF_MOD, 1) => "s%=",
        (BPF_MOD, _) => "%=",
        (BPF_XOR, _) => "^=",
        (BPF_MOV, _) => "=",
        (BPF_ARSH, _) => "s>>=",
        _ => return None,
    })
}

/// The operator of a conditional jump.
fn comparison(op: u8) -> Option<&'static str> {
    Some(match op {
        BPF_JEQ => "==",
        BPF_JNE => "!=",
        BPF_JGT => ">",
        BPF_JGE => ">=",
        BPF_JLT => "<",
        BPF_JLE => "<=",
        BPF_JSGT => "s>",
        BPF_JSGE => "s>=",
        BPF_JSLT => "s<",
        BPF_JSLE => "s<=",
        BPF_JSET => "&",
        _ => return None,
    })
}

/// The name and compound assignment of an atomic read-modify-write operation (without `BPF_FETCH`).
fn atomic_op(imm: i32) -> Option<(&'static str, &'static str)> {
    let op = u8::try_from(imm).ok()?;
    Some(match op {
        BPF_ADD => ("add", "+="),
        BPF_AND => ("and", "&="),
        BPF_OR => ("or", "|="),
        BPF_XOR => ("xor", "^="),
        _ => return None,
    })
}

/// The width in bits of a load or store, printed as `u<bits>` or `s<bits>`.
fn size_bits(code: u8) -> u32 {
    match size(code) {
        BPF_B => 8,
        BPF_H => 16,
        BPF_W => 32,
        _ => 64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{AluOp, Builder, JmpOp, Reg::*, Size};

    /// The program of the module's documentation example, plus one of every builder form.
    fn every_builder_form() -> Program {
        let mut b = Builder::new();
        let top = b.new_label();
        let out = b.new_label();
        b.comment("save the context");
        b.mov64(R6, R1);
        b.bind(top);
        b.call(Helper::KtimeGetNs);
        b.store(Size::DW, R10, -8, R0);
        b.ld_map(R1, 0);
        b.alu64(AluOp::Add, R2, -8);
        b.jump_if(JmpOp::Eq, R0, 0, out);
        b.load(Size::W, R1, R6, 8);
        b.store(Size::W, R10, -8, R1);
        b.store_imm(Size::W, R10, -16, 7);
        b.atomic_add(Size::DW, R0, 0, R1);
        b.jump(top);
        b.alu32(AluOp::Add, R1, 2);
        b.alu32(AluOp::Mov, R1, R2);
        b.alu64(AluOp::Neg, R1, 0);
        b.alu64(AluOp::Lsh, R1, 3);
        b.alu64(AluOp::Rsh, R1, R2);
        b.alu64(AluOp::Arsh, R1, 1);
        b.alu64(AluOp::Mul, R3, R4);
        b.alu64(AluOp::Div, R3, 10);
        b.alu64(AluOp::Mod, R3, 10);
        b.alu64(AluOp::Sub, R3, 1);
        b.alu64(AluOp::Or, R3, 1);
        b.alu64(AluOp::And, R3, 0xff);
        b.alu64(AluOp::Xor, R3, R3);
        b.load(Size::B, R4, R6, 0);
        b.load(Size::H, R4, R6, 2);
        b.load(Size::DW, R4, R6, 16);
        b.store_imm(Size::B, R10, -1, 0);
        b.atomic_add(Size::W, R0, 4, R1);
        b.ld_imm64(R5, 0x1234);
        b.ld_map(R1, 7);
        b.jump32_if(JmpOp::Gt, R1, 3, out);
        b.jump_if(JmpOp::Sgt, R1, R2, out);
        b.jump_if(JmpOp::Sge, R1, -1, out);
        b.jump_if(JmpOp::Slt, R1, 0, out);
        b.jump_if(JmpOp::Sle, R1, 0, out);
        b.jump_if(JmpOp::Set, R1, 4, out);
        b.jump_if(JmpOp::Ne, R1, 0, out);
        b.jump_if(JmpOp::Ge, R1, 0, out);
        b.jump_if(JmpOp::Lt, R1, 0, out);
        b.jump_if(JmpOp::Le, R1, 0, out);
        b.jump32_if(JmpOp::Eq, R1, R2, out);
        b.bind(out);
        b.comment("return 0");
        b.mov64(R0, 0);
        b.exit();
        b.finish().expect("program builds")
    }

    #[test]
    fn golden_listing_of_every_builder_form() {
        let listing = disassemble(&every_builder_form(), &["counts"]);
        let expected = "\
; save the context
   0: (bf) r6 = r1
L0:
   1: (85) call bpf_ktime_get_ns#5
   2: (7b) *(u64 *)(r10 -8) = r0
   3: (18) r1 = map[counts]
   5: (07) r2 += -8
   6: (15) if r0 == 0x0 goto pc+38 <L1>
   7: (61) r1 = *(u32 *)(r6 +8)
   8: (63) *(u32 *)(r10 -8) = r1
   9: (62) *(u32 *)(r10 -16) = 7
  10: (db) lock *(u64 *)(r0 +0) += r1
  11: (05) goto pc-11 <L0>
  12: (04) w1 += 2
  13: (bc) w1 = w2
  14: (87) r1 = -r1
  15: (67) r1 <<= 3
  16: (7f) r1 >>= r2
  17: (c7) r1 s>>= 1
  18: (2f) r3 *= r4
  19: (37) r3 /= 10
  20: (97) r3 %= 10
  21: (17) r3 -= 1
  22: (47) r3 |= 1
  23: (57) r3 &= 255
  24: (af) r3 ^= r3
  25: (71) r4 = *(u8 *)(r6 +0)
  26: (69) r4 = *(u16 *)(r6 +2)
  27: (79) r4 = *(u64 *)(r6 +16)
  28: (72) *(u8 *)(r10 -1) = 0
  29: (c3) lock *(u32 *)(r0 +4) += r1
  30: (18) r5 = 0x1234
  32: (18) r1 = map[#7]
  34: (26) if w1 > 0x3 goto pc+10 <L1>
  35: (6d) if r1 s> r2 goto pc+9 <L1>
  36: (75) if r1 s>= 0xffffffff goto pc+8 <L1>
  37: (c5) if r1 s< 0x0 goto pc+7 <L1>
  38: (d5) if r1 s<= 0x0 goto pc+6 <L1>
  39: (45) if r1 & 0x4 goto pc+5 <L1>
  40: (55) if r1 != 0x0 goto pc+4 <L1>
  41: (35) if r1 >= 0x0 goto pc+3 <L1>
  42: (a5) if r1 < 0x0 goto pc+2 <L1>
  43: (b5) if r1 <= 0x0 goto pc+1 <L1>
  44: (1e) if w1 == w2 goto pc+0 <L1>
L1:
; return 0
  45: (b7) r0 = 0
  46: (95) exit
";
        assert_eq!(listing, expected, "\n{listing}");
    }
}

#[cfg(test)]
mod decoded_tests {
    use super::*;

    fn listing(raw: &[[u8; 8]]) -> String {
        let bytes: Vec<u8> = raw.iter().flatten().copied().collect();
        disassemble(&Program::from_bytes(&bytes).expect("whole instructions"), &[])
    }

    /// Forms the builder does not emit, as found in objects read back from disk. The lines marked "bpftool"
    /// are what `bpftool prog dump xlated` (v7.1) printed for the same bytes on Linux 6.18; the others follow
    /// the formats of the kernel's `kernel/bpf/disasm.c`, which that bpftool predates.
    #[test]
    fn golden_listing_of_decoded_forms() {
        let raw = [
            [0x62, 0x0a, 0xf0, 0xff, 0x07, 0x00, 0x00, 0x00], // bpftool
            [0x7a, 0x0a, 0xf0, 0xff, 0xfe, 0xff, 0xff, 0xff], // bpftool
            [0xd4, 0x01, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00], // bpftool
            [0xdc, 0x01, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00], // bpftool
            [0xd7, 0x01, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00],
            [0xbf, 0x21, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0xbc, 0x21, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x3f, 0x21, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x97, 0x01, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00],
            [0x91, 0xa1, 0xf0, 0xff, 0x00, 0x00, 0x00, 0x00],
            [0xdb, 0x1a, 0xf8, 0xff, 0x01, 0x00, 0x00, 0x00], // bpftool
            [0xdb, 0x1a, 0xf8, 0xff, 0x40, 0x00, 0x00, 0x00], // bpftool
            [0xc3, 0x1a, 0xf8, 0xff, 0xa1, 0x00, 0x00, 0x00], // bpftool
            [0xdb, 0x1a, 0xf8, 0xff, 0xe1, 0x00, 0x00, 0x00], // bpftool
            [0xdb, 0x1a, 0xf8, 0xff, 0xf1, 0x00, 0x00, 0x00], // bpftool
            [0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
            [0x30, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00],
            [0x48, 0x20, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00],
            [0x18, 0x11, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00],
            [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x18, 0x21, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00],
            [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00],
            [0x85, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00],
            [0x85, 0x10, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00],
            [0x85, 0x20, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00],
            [0x05, 0x00, 0xf6, 0xff, 0x00, 0x00, 0x00, 0x00],
            [0x05, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // bpftool
        ];
        let expected = "   0: (62) *(u32 *)(r10 -16) = 7
   1: (7a) *(u64 *)(r10 -16) = -2
   2: (d4) r1 = le16 r1
   3: (dc) r1 = be32 r1
   4: (d7) r1 = bswap64 r1
   5: (bf) r1 = (s8)r2
   6: (bc) w1 = (s16)w2
   7: (3f) r1 s/= r2
   8: (97) r1 s%= 3
   9: (91) r1 = *(s8 *)(r10 -16)
  10: (db) r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)
  11: (db) lock *(u64 *)(r10 -8) |= r1
  12: (c3) r1 = atomic_fetch_xor((u32 *)(r10 -8), r1)
  13: (db) r1 = atomic64_xchg((u64 *)(r10 -8), r1)
  14: (db) r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)
  15: (06) gotol pc+1 <L1>
L0:
  16: (30) r0 = *(u8 *)skb[14]
L1:
  17: (48) r0 = *(u16 *)skb[r2 + 2]
  18: (18) r1 = map[fd:4]
  20: (18) r1 = map[fd:4][0]+16
  22: (85) call unknown#9
  23: (85) call pc+3
  24: (85) call kernel-function#42
  25: (05) goto pc-10 <L0>
  26: (05) goto pc+16
  27: (ff) unknown opcode
  28: (95) exit
";
        let listing = listing(&raw);
        assert_eq!(listing, expected, "\n{listing}");
    }

    #[test]
    fn jumps_into_the_second_half_of_a_wide_load_get_no_label() {
        let raw = [
            [0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x18, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
            [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
            [0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
        ];
        assert_eq!(listing(&raw), "   0: (05) goto pc+1\n   1: (18) r1 = 0x1\n   3: (95) exit\n");
    }

    #[test]
    fn a_wide_load_cut_short_prints_its_low_half() {
        assert_eq!(listing(&[[0x18, 0x01, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00]]), "   0: (18) r1 = 0xff\n");
    }

    #[test]
    fn comments_after_the_last_instruction_are_kept() {
        let program = Program {
            insns: vec![Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)],
            map_refs: Vec::new(),
            comments: vec![(0, "first".into()), (0, "second".into()), (1, "trailing".into())],
            ..Program::default()
        };
        assert_eq!(disassemble(&program, &[]), "; first\n; second\n   0: (95) exit\n; trailing\n");
    }

    #[test]
    fn one_instruction_prints_as_in_the_listing() {
        let mut b = crate::insn::Builder::new();
        b.ld_map(crate::insn::Reg::R1, 0);
        b.exit();
        let program = b.finish().expect("assembles");
        assert_eq!(disassemble_insn(&program, &["events"], 0).as_deref(), Some("   0: (18) r1 = map[events]"));
        assert_eq!(disassemble_insn(&program, &[], 2).as_deref(), Some("   2: (95) exit"));
        assert_eq!(disassemble_insn(&program, &[], 3), None);
    }

    #[test]
    fn empty_program_disassembles_to_nothing() {
        assert_eq!(disassemble(&Program::default(), &["unused"]), "");
    }
}

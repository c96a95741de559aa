//! Text listing of a [`Program`] in the kernel verifier's syntax (what `bpftool prog dump xlated` prints),
//! with `L<n>:` lines before jump targets, map names and the builder's comments.

use std::collections::{BTreeMap, HashMap};
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
    Listing::new(program, map_names).to_string()
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
        let targets: BTreeMap<usize, usize> = starts
            .iter()
            .filter_map(|&index| jump_target(index, &insns[index]))
            .filter(|target| starts.binary_search(target).is_ok())
            .map(|target| (target, 0))
            .collect();
        let labels = targets.into_keys().enumerate().map(|(number, target)| (target, number)).collect();
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
                    (_, Some(&map)) => self.write_map(f, map),
                    (BPF_PSEUDO_MAP_FD, None) => write!(f, "map[fd:{}]", insn.imm),
                    (BPF_PSEUDO_MAP_VALUE, None) => write!(f, "map[fd:{}][0]+{}", insn.imm, high),
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
    let relative = if class == BPF_JMP32 && op(insn.code) == BPF_JA { i64::from(insn.imm) } else { i64::from(insn.off) };
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

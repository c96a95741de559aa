//! [`Builder`]: emits instructions with symbolic jump labels, map references and comments, then resolves the
//! jumps into a [`Program`].

use super::helper::Helper;
use super::opcode::*;
use super::{Insn, MapRef, Program, Reg, SourceMap};

/// The verifier's limit on the number of instructions of a privileged program (`BPF_COMPLEXITY_LIMIT_INSNS`).
pub const MAX_INSNS: usize = 1_000_000;

/// The second operand of an ALU or jump instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A register (`BPF_X`).
    Reg(Reg),
    /// A 32-bit immediate (`BPF_K`), sign-extended to 64 bits by 64-bit operations.
    Imm(i32),
}

impl From<Reg> for Operand {
    fn from(reg: Reg) -> Operand {
        Operand::Reg(reg)
    }
}

impl From<i32> for Operand {
    fn from(imm: i32) -> Operand {
        Operand::Imm(imm)
    }
}

impl Operand {
    /// The source bit, source register and immediate that encode this operand.
    fn encode(self) -> (u8, u8, i32) {
        match self {
            Operand::Reg(reg) => (BPF_X, reg as u8, 0),
            Operand::Imm(imm) => (BPF_K, 0, imm),
        }
    }
}

/// An arithmetic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    /// `dst += src`.
    Add,
    /// `dst -= src`.
    Sub,
    /// `dst *= src`.
    Mul,
    /// `dst /= src`, unsigned; division by zero gives 0.
    Div,
    /// `dst |= src`.
    Or,
    /// `dst &= src`.
    And,
    /// `dst <<= src`.
    Lsh,
    /// `dst >>= src`, logical.
    Rsh,
    /// `dst = -dst`; the operand is ignored.
    Neg,
    /// `dst %= src`, unsigned; modulo zero leaves `dst` unchanged.
    Mod,
    /// `dst ^= src`.
    Xor,
    /// `dst = src`.
    Mov,
    /// `dst >>= src`, arithmetic (sign-filling).
    Arsh,
}

impl AluOp {
    /// The operation bits of the opcode.
    fn code(self) -> u8 {
        match self {
            AluOp::Add => BPF_ADD,
            AluOp::Sub => BPF_SUB,
            AluOp::Mul => BPF_MUL,
            AluOp::Div => BPF_DIV,
            AluOp::Or => BPF_OR,
            AluOp::And => BPF_AND,
            AluOp::Lsh => BPF_LSH,
            AluOp::Rsh => BPF_RSH,
            AluOp::Neg => BPF_NEG,
            AluOp::Mod => BPF_MOD,
            AluOp::Xor => BPF_XOR,
            AluOp::Mov => BPF_MOV,
            AluOp::Arsh => BPF_ARSH,
        }
    }
}

/// A conditional jump's comparison of `dst` with `src`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JmpOp {
    /// `dst == src`.
    Eq,
    /// `dst != src`.
    Ne,
    /// `dst > src`, unsigned.
    Gt,
    /// `dst >= src`, unsigned.
    Ge,
    /// `dst < src`, unsigned.
    Lt,
    /// `dst <= src`, unsigned.
    Le,
    /// `dst > src`, signed.
    Sgt,
    /// `dst >= src`, signed.
    Sge,
    /// `dst < src`, signed.
    Slt,
    /// `dst <= src`, signed.
    Sle,
    /// `dst & src != 0`.
    Set,
}

impl JmpOp {
    /// The comparison that holds exactly when this one does not, or `None` for [`JmpOp::Set`], which has
    /// no negated form in eBPF.
    pub fn negate(self) -> Option<JmpOp> {
        Some(match self {
            JmpOp::Eq => JmpOp::Ne,
            JmpOp::Ne => JmpOp::Eq,
            JmpOp::Gt => JmpOp::Le,
            JmpOp::Le => JmpOp::Gt,
            JmpOp::Ge => JmpOp::Lt,
            JmpOp::Lt => JmpOp::Ge,
            JmpOp::Sgt => JmpOp::Sle,
            JmpOp::Sle => JmpOp::Sgt,
            JmpOp::Sge => JmpOp::Slt,
            JmpOp::Slt => JmpOp::Sge,
            JmpOp::Set => return None,
        })
    }

    /// The operation bits of the opcode.
    fn code(self) -> u8 {
        match self {
            JmpOp::Eq => BPF_JEQ,
            JmpOp::Ne => BPF_JNE,
            JmpOp::Gt => BPF_JGT,
            JmpOp::Ge => BPF_JGE,
            JmpOp::Lt => BPF_JLT,
            JmpOp::Le => BPF_JLE,
            JmpOp::Sgt => BPF_JSGT,
            JmpOp::Sge => BPF_JSGE,
            JmpOp::Slt => BPF_JSLT,
            JmpOp::Sle => BPF_JSLE,
            JmpOp::Set => BPF_JSET,
        }
    }
}

/// The width of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// One byte (`u8`).
    B,
    /// Two bytes (`u16`).
    H,
    /// Four bytes (`u32`).
    W,
    /// Eight bytes (`u64`).
    DW,
}

impl Size {
    /// The width in bytes: 1, 2, 4 or 8.
    pub fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    /// The size that is `n` bytes wide, if `n` is 1, 2, 4 or 8.
    pub fn from_bytes(n: u32) -> Option<Size> {
        match n {
            1 => Some(Size::B),
            2 => Some(Size::H),
            4 => Some(Size::W),
            8 => Some(Size::DW),
            _ => None,
        }
    }

    /// The size bits of the opcode.
    fn code(self) -> u8 {
        match self {
            Size::B => BPF_B,
            Size::H => BPF_H,
            Size::W => BPF_W,
            Size::DW => BPF_DW,
        }
    }
}

/// A jump target inside a [`Builder`], created by [`Builder::new_label`] and placed by [`Builder::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Why [`Builder::finish`] could not produce a program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// A jump targets a label that was never bound.
    #[error("jump at instruction {insn} targets label {label}, which is never bound")]
    UnboundLabel {
        /// Index of the jump instruction.
        insn: usize,
        /// Number of the label, in order of creation.
        label: usize,
    },
    /// A label made by another builder was bound or jumped to.
    #[error("label {label} was not made by this builder")]
    ForeignLabel {
        /// Number of the label, in order of creation in its own builder.
        label: usize,
    },
    /// A label was bound twice.
    #[error("label {label} is bound twice, at instructions {first} and {second}")]
    LabelBoundTwice {
        /// Number of the label, in order of creation.
        label: usize,
        /// Where it was bound first.
        first: usize,
        /// Where it was bound again.
        second: usize,
    },
    /// A jump targets a label bound after the last instruction.
    #[error("jump at instruction {insn} targets label {label}, which is bound past the last instruction")]
    JumpPastEnd {
        /// Index of the jump instruction.
        insn: usize,
        /// Number of the label, in order of creation.
        label: usize,
    },
    /// A jump is too far for the 16-bit offset field.
    #[error("jump at instruction {insn} spans {offset} instructions, more than a 16-bit offset can hold")]
    JumpOutOfRange {
        /// Index of the jump instruction.
        insn: usize,
        /// The offset it would need.
        offset: i64,
    },
    /// An atomic operation of a width the kernel has no atomics for.
    #[error("atomic add at instruction {insn} is {bytes} bytes wide; atomics are 4 or 8 bytes")]
    AtomicSize {
        /// Index of the atomic instruction.
        insn: usize,
        /// The width asked for.
        bytes: u32,
    },
    /// The program has more instructions than the verifier accepts.
    #[error("program has {len} instructions, more than the kernel's limit of {max}")]
    TooLong {
        /// Number of instructions.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A jump whose offset is filled in by [`Builder::finish`].
#[derive(Clone, Copy, Debug)]
struct PendingJump {
    insn: usize,
    label: Label,
}

/// Emits eBPF instructions one by one. Jumps name [`Label`]s, resolved to offsets by [`Builder::finish`].
///
/// Misuse that the type system cannot rule out (binding a label twice, an atomic on one byte) is recorded and
/// reported by [`Builder::finish`], so that emitting code never fails half-way.
///
/// ```
/// use jitterlib::insn::{Builder, JmpOp, Reg};
///
/// let mut b = Builder::new();
/// let done = b.new_label();
/// b.mov64(Reg::R0, 0);
/// b.jump_if(JmpOp::Eq, Reg::R1, 0, done);
/// b.mov64(Reg::R0, 1);
/// b.bind(done);
/// b.exit();
/// let program = b.finish().expect("labels are bound");
/// assert_eq!(program.insns[1].off, 1);
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    insns: Vec<Insn>,
    /// Where each label is bound, by label number.
    labels: Vec<Option<usize>>,
    jumps: Vec<PendingJump>,
    map_refs: Vec<MapRef>,
    comments: Vec<(usize, String)>,
    source_map: SourceMap,
    /// The origins entered and not yet left, innermost last.
    origins: Vec<u32>,
    /// The first misuse seen, reported by `finish`.
    error: Option<BuildError>,
    callbacks: Vec<Program>,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Number of instructions emitted so far (`LD_IMM64` counts as two).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether nothing has been emitted yet.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// 64-bit arithmetic: `dst op= src` (`BPF_ALU64`).
    pub fn alu64(&mut self, op: AluOp, dst: Reg, src: impl Into<Operand>) {
        self.alu(BPF_ALU64, op, dst, src.into());
    }

    /// 32-bit arithmetic on the low halves, zeroing the upper half of `dst` (`BPF_ALU`).
    pub fn alu32(&mut self, op: AluOp, dst: Reg, src: impl Into<Operand>) {
        self.alu(BPF_ALU, op, dst, src.into());
    }

    /// `dst = src`, 64-bit; an immediate is sign-extended.
    pub fn mov64(&mut self, dst: Reg, src: impl Into<Operand>) {
        self.alu64(AluOp::Mov, dst, src);
    }

    /// `dst = htobe(dst)` on the low `bits` (16, 32 or 64) bits, zero-extending: a byte swap on little-endian
    /// hosts, which turns a network-order value into a number (`BPF_ALU | BPF_END | BPF_TO_BE`).
    pub fn to_big_endian(&mut self, dst: Reg, bits: i32) {
        self.emit(Insn::new(BPF_ALU | BPF_END | BPF_TO_BE, dst as u8, 0, 0, bits));
    }

    /// `dst = *(size *)(base + off)`, zero-extended (`BPF_LDX | BPF_MEM`).
    ///
    /// A load right after a store of the same register to the same place (no label in between, so no other
    /// path reaches it) is left out: the register already holds the value.
    pub fn load(&mut self, size: Size, dst: Reg, base: Reg, off: i16) {
        let store = Insn::new(BPF_STX | BPF_MEM | size.code(), base as u8, dst as u8, off, 0);
        if self.insns.last() == Some(&store) && !self.labels.contains(&Some(self.len())) {
            return;
        }
        self.emit(Insn::new(BPF_LDX | BPF_MEM | size.code(), dst as u8, base as u8, off, 0));
    }

    /// `*(size *)(base + off) = src` (`BPF_STX | BPF_MEM`).
    pub fn store(&mut self, size: Size, base: Reg, off: i16, src: Reg) {
        self.emit(Insn::new(BPF_STX | BPF_MEM | size.code(), base as u8, src as u8, off, 0));
    }

    /// `*(size *)(base + off) = imm` (`BPF_ST | BPF_MEM`); a `DW` store sign-extends `imm`.
    pub fn store_imm(&mut self, size: Size, base: Reg, off: i16, imm: i32) {
        self.emit(Insn::new(BPF_ST | BPF_MEM | size.code(), base as u8, 0, off, imm));
    }

    /// `lock *(size *)(base + off) += src` (`BPF_STX | BPF_ATOMIC`, `BPF_ADD`); `size` must be `W` or `DW`.
    pub fn atomic_add(&mut self, size: Size, base: Reg, off: i16, src: Reg) {
        if !matches!(size, Size::W | Size::DW) {
            self.record(BuildError::AtomicSize { insn: self.len(), bytes: size.bytes() });
        }
        let code = BPF_STX | BPF_ATOMIC | size.code();
        self.emit(Insn::new(code, base as u8, src as u8, off, i32::from(BPF_ADD)));
    }

    /// `dst = r10 + offset`: a pointer to the stack slot at `offset`, as helpers take their buffers, keys and
    /// values.
    pub fn stack_pointer(&mut self, dst: Reg, offset: i16) {
        self.mov64(dst, Reg::R10);
        self.alu64(AluOp::Add, dst, i32::from(offset));
    }

    /// `dst = value`: one `mov` when it fits a sign-extended 32-bit immediate, else [`Builder::ld_imm64`].
    ///
    /// ```
    /// use jitterlib::insn::{Builder, Reg};
    ///
    /// let mut b = Builder::new();
    /// b.mov_i64(Reg::R1, 1_000);
    /// b.mov_i64(Reg::R2, 10_000_000_000);
    /// assert_eq!(b.len(), 3);
    /// ```
    pub fn mov_i64(&mut self, dst: Reg, value: i64) {
        match i32::try_from(value) {
            Ok(imm) => self.mov64(dst, imm),
            Err(_) => self.ld_imm64(dst, value as u64),
        }
    }

    /// `dst = value`, a full 64-bit constant (`LD_IMM64`, two instruction slots).
    pub fn ld_imm64(&mut self, dst: Reg, value: u64) {
        self.emit_ld_imm64(dst, 0, value);
    }

    /// `dst = &map`, the map with index `map` in the object (`LD_IMM64` with `BPF_PSEUDO_MAP_FD`), recorded
    /// in [`Program::map_refs`] for relocation.
    pub fn ld_map(&mut self, dst: Reg, map: usize) {
        self.map_refs.push(MapRef { insn: self.len(), map });
        self.emit_ld_imm64(dst, BPF_PSEUDO_MAP_FD, 0);
    }

    /// Adds a callback (a finished function whose arguments are what the helper taking it passes, e.g.
    /// `bpf_for_each_map_elem`'s map, key, value and context) and returns its index for [`Builder::ld_callback`].
    /// An identical callback added before is reused.
    pub fn callback(&mut self, function: Program) -> usize {
        if let Some(known) = self.callbacks.iter().position(|known| *known == function) {
            return known;
        }
        self.callbacks.push(function);
        self.callbacks.len() - 1
    }

    /// `dst = &callback`: an `LD_IMM64` of source `BPF_PSEUDO_FUNC` naming callback `index` of this program, which
    /// the ELF relocation points at the function.
    pub fn ld_callback(&mut self, dst: Reg, index: usize) {
        self.emit_ld_imm64(dst, BPF_PSEUDO_FUNC, index as u64);
    }

    /// `dst = &value + offset`: the address of a byte in the value of a one-slot global map
    /// ([`crate::maps::MapKind::Global`]), a `BPF_PSEUDO_MAP_VALUE` load the ELF relocation completes.
    pub fn ld_map_value(&mut self, dst: Reg, map: usize, offset: i32) {
        self.map_refs.push(MapRef { insn: self.len(), map });
        self.emit_ld_imm64(dst, BPF_PSEUDO_MAP_VALUE, offset as u32 as u64);
    }

    /// Calls a kernel helper; arguments in `r1`-`r5`, result in `r0`, `r1`-`r5` clobbered.
    pub fn call(&mut self, helper: Helper) {
        self.emit(Insn::new(BPF_JMP | BPF_CALL, 0, 0, 0, helper.id()));
    }

    /// Returns from the program with `r0`.
    pub fn exit(&mut self) {
        self.emit(Insn::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }

    /// A new, unbound label.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the next instruction emitted.
    pub fn bind(&mut self, label: Label) {
        let here = self.len();
        match self.labels.get_mut(label.0) {
            Some(Some(first)) => {
                let first = *first;
                self.record(BuildError::LabelBoundTwice { label: label.0, first, second: here });
            }
            Some(slot) => *slot = Some(here),
            None => self.record(BuildError::ForeignLabel { label: label.0 }),
        }
    }

    /// Jumps to `label` unconditionally (`BPF_JA`).
    pub fn jump(&mut self, label: Label) {
        self.emit_jump(Insn::new(BPF_JMP | BPF_JA, 0, 0, 0, 0), label);
    }

    /// Jumps to `label` if `dst op src` holds, comparing 64 bits (`BPF_JMP`).
    pub fn jump_if(&mut self, op: JmpOp, dst: Reg, src: impl Into<Operand>, label: Label) {
        self.conditional_jump(BPF_JMP, op, dst, src.into(), label);
    }

    /// Jumps to `label` if `dst op src` holds, comparing the low 32 bits (`BPF_JMP32`).
    pub fn jump32_if(&mut self, op: JmpOp, dst: Reg, src: impl Into<Operand>, label: Label) {
        self.conditional_jump(BPF_JMP32, op, dst, src.into(), label);
    }

    /// Attaches a comment to the next instruction emitted; the disassembler prints it as `; text`.
    pub fn comment(&mut self, text: impl Into<String>) {
        self.comments.push((self.len(), text.into()));
    }

    /// Attributes the instructions emitted from now on to `origin`, an id the caller gives meaning to (the
    /// compiler's index of a script construct), until the matching [`Builder::leave`]. Origins nest: code emitted
    /// inside a nested one belongs to it, not to the enclosing one. The map ends up in [`Program::source_map`].
    pub fn enter(&mut self, origin: u32) {
        self.origins.push(origin);
        self.source_map.mark(self.len(), Some(origin));
    }

    /// Leaves the innermost origin: what follows belongs to the enclosing one again (or to none).
    pub fn leave(&mut self) {
        self.origins.pop();
        self.source_map.mark(self.len(), self.origins.last().copied());
    }

    /// Resolves every jump and returns the program, or the first misuse recorded while building.
    pub fn finish(mut self) -> Result<Program, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let len = self.insns.len();
        if len > MAX_INSNS {
            return Err(BuildError::TooLong { len, max: MAX_INSNS });
        }
        for jump in &self.jumps {
            let label = jump.label.0;
            let target =
                self.labels.get(label).copied().flatten().ok_or(BuildError::UnboundLabel { insn: jump.insn, label })?;
            if target >= len {
                return Err(BuildError::JumpPastEnd { insn: jump.insn, label });
            }
            // Both fit in an i64: they are at most MAX_INSNS.
            let offset = target as i64 - (jump.insn as i64 + 1);
            self.insns[jump.insn].off =
                i16::try_from(offset).map_err(|_| BuildError::JumpOutOfRange { insn: jump.insn, offset })?;
        }
        Ok(Program {
            insns: self.insns,
            map_refs: self.map_refs,
            comments: self.comments,
            source_map: self.source_map,
            callbacks: self.callbacks,
        })
    }

    fn alu(&mut self, class: u8, op: AluOp, dst: Reg, src: Operand) {
        // The verifier rejects NEG with anything in the source fields.
        let (source, src_reg, imm) = if op == AluOp::Neg { (BPF_K, 0, 0) } else { src.encode() };
        self.emit(Insn::new(class | op.code() | source, dst as u8, src_reg, 0, imm));
    }

    fn conditional_jump(&mut self, class: u8, op: JmpOp, dst: Reg, src: Operand, label: Label) {
        let (source, src_reg, imm) = src.encode();
        self.emit_jump(Insn::new(class | op.code() | source, dst as u8, src_reg, 0, imm), label);
    }

    fn emit_jump(&mut self, jump: Insn, label: Label) {
        if label.0 >= self.labels.len() {
            self.record(BuildError::ForeignLabel { label: label.0 });
        } else {
            self.jumps.push(PendingJump { insn: self.len(), label });
        }
        self.emit(jump);
    }

    fn emit_ld_imm64(&mut self, dst: Reg, src: u8, value: u64) {
        // The low half goes in the first slot, the high half in the second; truncation is the encoding.
        self.emit(Insn::new(BPF_LD | BPF_IMM | BPF_DW, dst as u8, src, 0, value as u32 as i32));
        self.emit(Insn::new(0, 0, 0, 0, (value >> 32) as u32 as i32));
    }

    fn emit(&mut self, insn: Insn) {
        self.insns.push(insn);
    }

    fn record(&mut self, error: BuildError) {
        self.error.get_or_insert(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Reg::*;

    /// The encoding of whatever `emit` builds, which must finish cleanly.
    fn encode(emit: impl FnOnce(&mut Builder)) -> Vec<u8> {
        let mut builder = Builder::new();
        emit(&mut builder);
        builder.finish().expect("program builds").to_bytes()
    }

    // Expected bytes come from `llvm-mc -triple bpfel -show-encoding` (LLVM 14), except the store of an
    // immediate, which LLVM 14 cannot assemble: its opcode is BPF_ST | BPF_MEM | size from the kernel's uapi.

    #[test]
    fn encodes_alu() {
        assert_eq!(encode(|b| b.mov64(R6, R1)), [0xbf, 0x16, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.mov64(R0, 0)), [0xb7, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.alu64(AluOp::Add, R2, -8)), [0x07, 0x02, 0, 0, 0xf8, 0xff, 0xff, 0xff]);
        assert_eq!(encode(|b| b.alu64(AluOp::Lsh, R3, 5)), [0x67, 0x03, 0, 0, 5, 0, 0, 0]);
        assert_eq!(encode(|b| b.alu64(AluOp::Neg, R1, 0)), [0x87, 0x01, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.alu32(AluOp::Add, R1, 2)), [0x04, 0x01, 0, 0, 2, 0, 0, 0]);
        assert_eq!(encode(|b| b.alu32(AluOp::Mov, R1, R2)), [0xbc, 0x21, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.alu32(AluOp::Arsh, R3, R4)), [0xcc, 0x43, 0, 0, 0, 0, 0, 0]);
        // `r7 = be16 r7`: BPF_ALU | BPF_END | BPF_TO_BE with the width in the immediate.
        assert_eq!(encode(|b| b.to_big_endian(R7, 16)), [0xdc, 0x07, 0, 0, 16, 0, 0, 0]);
    }

    #[test]
    fn neg_ignores_its_operand() {
        assert_eq!(encode(|b| b.alu64(AluOp::Neg, R1, R5)), encode(|b| b.alu64(AluOp::Neg, R1, 0)));
    }

    #[test]
    fn encodes_loads_and_stores() {
        assert_eq!(encode(|b| b.load(Size::W, R1, R6, 8)), [0x61, 0x61, 8, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.load(Size::B, R1, R2, 1)), [0x71, 0x21, 1, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.store(Size::DW, R10, -8, R0)), [0x7b, 0x0a, 0xf8, 0xff, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.store(Size::H, R3, -2, R4)), [0x6b, 0x43, 0xfe, 0xff, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.store_imm(Size::W, R10, -16, 7)), [0x62, 0x0a, 0xf0, 0xff, 7, 0, 0, 0]);
        assert_eq!(encode(|b| b.store_imm(Size::DW, R10, -8, -1)), [0x7a, 0x0a, 0xf8, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn encodes_atomics() {
        assert_eq!(encode(|b| b.atomic_add(Size::DW, R0, 0, R1)), [0xdb, 0x10, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(|b| b.atomic_add(Size::W, R1, 4, R2)), [0xc3, 0x21, 4, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn atomic_add_on_a_byte_is_an_error() {
        let mut b = Builder::new();
        b.mov64(R0, 0);
        b.atomic_add(Size::B, R10, -8, R1);
        b.exit();
        assert_eq!(b.finish(), Err(BuildError::AtomicSize { insn: 1, bytes: 1 }));
    }

    #[test]
    fn encodes_wide_immediates_and_map_loads() {
        assert_eq!(
            encode(|b| b.ld_imm64(R1, 0x1122_3344_5566_7788)),
            [0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]
        );
        let mut b = Builder::new();
        b.mov64(R6, R1);
        b.ld_map(R1, 3);
        b.exit();
        let program = b.finish().expect("program builds");
        assert_eq!(program.map_refs, [MapRef { insn: 1, map: 3 }]);
        assert_eq!(program.to_bytes()[8..24], [0x18, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(program.len(), 4);
    }

    #[test]
    fn encodes_calls_exit_and_jumps() {
        assert_eq!(encode(|b| b.call(Helper::KtimeGetNs)), [0x85, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(encode(|b| b.exit()), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        let conditional = |emit: fn(&mut Builder, Label)| {
            encode(|b| {
                let target = b.new_label();
                emit(b, target);
                b.mov64(R0, 0);
                b.bind(target);
                b.exit();
            })[..8]
                .to_vec()
        };
        assert_eq!(conditional(|b, l| b.jump_if(JmpOp::Eq, R0, 0, l)), [0x15, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(conditional(|b, l| b.jump_if(JmpOp::Gt, R1, R2, l)), [0x2d, 0x21, 1, 0, 0, 0, 0, 0]);
        assert_eq!(conditional(|b, l| b.jump32_if(JmpOp::Gt, R1, 3, l)), [0x26, 0x01, 1, 0, 3, 0, 0, 0]);
        assert_eq!(conditional(|b, l| b.jump_if(JmpOp::Slt, R1, -1, l)), [0xc5, 0x01, 1, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(conditional(|b, l| b.jump_if(JmpOp::Set, R1, 4, l)), [0x45, 0x01, 1, 0, 4, 0, 0, 0]);
        assert_eq!(conditional(|b, l| b.jump(l)), [0x05, 0, 1, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn skips_a_load_of_what_was_just_stored() {
        let mut b = Builder::new();
        b.store(Size::DW, R10, -8, R7);
        b.load(Size::DW, R7, R10, -8); // skipped: r7 holds it
        b.load(Size::DW, R8, R10, -8); // another register: kept
        let again = b.new_label();
        b.store(Size::DW, R10, -8, R7);
        b.bind(again);
        b.load(Size::DW, R7, R10, -8); // a jump may land here: kept
        b.exit();
        assert_eq!(b.finish().expect("assembles").insns.len(), 5);
    }

    #[test]
    fn resolves_forward_and_backward_labels() {
        let mut b = Builder::new();
        let top = b.new_label();
        let out = b.new_label();
        b.bind(top);
        b.alu64(AluOp::Add, R1, 1); // 0
        b.jump_if(JmpOp::Gt, R1, 10, out); // 1 -> 4
        b.ld_imm64(R2, 1); // 2, 3
        b.jump(top); // 4 -> 0
        b.bind(out);
        b.exit(); // 5
        let program = b.finish().expect("program builds");
        assert_eq!(program.insns[1].off, 3);
        assert_eq!(program.insns[4].off, -5);
    }

    #[test]
    fn a_jump_to_the_next_instruction_has_offset_zero() {
        let mut b = Builder::new();
        let next = b.new_label();
        b.jump(next);
        b.bind(next);
        b.exit();
        assert_eq!(b.finish().expect("program builds").insns[0].off, 0);
    }

    #[test]
    fn unbound_label_is_an_error() {
        let mut b = Builder::new();
        let nowhere = b.new_label();
        b.mov64(R0, 0);
        b.jump_if(JmpOp::Ne, R1, 0, nowhere);
        b.exit();
        assert_eq!(b.finish(), Err(BuildError::UnboundLabel { insn: 1, label: 0 }));
    }

    #[test]
    fn label_from_another_builder_is_an_error() {
        let foreign = Builder::new().new_label();
        let mut b = Builder::new();
        b.jump(foreign);
        b.exit();
        assert_eq!(b.finish(), Err(BuildError::ForeignLabel { label: 0 }));
        let mut b = Builder::new();
        b.bind(foreign);
        b.exit();
        assert_eq!(b.finish(), Err(BuildError::ForeignLabel { label: 0 }));
    }

    #[test]
    fn binding_a_label_twice_is_an_error() {
        let mut b = Builder::new();
        let label = b.new_label();
        b.bind(label);
        b.mov64(R0, 0);
        b.bind(label);
        b.exit();
        assert_eq!(b.finish(), Err(BuildError::LabelBoundTwice { label: 0, first: 0, second: 1 }));
    }

    #[test]
    fn jump_past_the_end_is_an_error() {
        let mut b = Builder::new();
        let end = b.new_label();
        b.jump(end);
        b.exit();
        b.bind(end);
        assert_eq!(b.finish(), Err(BuildError::JumpPastEnd { insn: 0, label: 0 }));
    }

    #[test]
    fn an_unused_label_at_the_end_is_fine() {
        let mut b = Builder::new();
        let end = b.new_label();
        b.exit();
        b.bind(end);
        assert!(b.finish().is_ok());
    }

    #[test]
    fn jumps_beyond_16_bits_are_an_error() {
        let offset_of_jump_over = |skipped: usize| {
            let mut b = Builder::new();
            let far = b.new_label();
            b.jump(far);
            for _ in 0..skipped {
                b.mov64(R0, 0);
            }
            b.bind(far);
            b.exit();
            b.finish().map(|program| program.insns[0].off)
        };
        assert_eq!(offset_of_jump_over(32767), Ok(i16::MAX));
        assert_eq!(offset_of_jump_over(32768), Err(BuildError::JumpOutOfRange { insn: 0, offset: 32768 }));
    }

    #[test]
    fn backward_jumps_beyond_16_bits_are_an_error() {
        let offset_of_jump_back_over = |skipped: usize| {
            let mut b = Builder::new();
            let top = b.new_label();
            b.bind(top);
            for _ in 0..skipped {
                b.mov64(R0, 0);
            }
            b.jump(top);
            b.exit();
            b.finish().map(|program| program.insns[skipped].off)
        };
        assert_eq!(offset_of_jump_back_over(32767), Ok(i16::MIN));
        assert_eq!(offset_of_jump_back_over(32768), Err(BuildError::JumpOutOfRange { insn: 32768, offset: -32769 }));
    }

    #[test]
    fn programs_over_the_kernel_limit_are_an_error() {
        let mut b = Builder::new();
        for _ in 0..=MAX_INSNS {
            b.exit();
        }
        assert_eq!(b.finish().err(), Some(BuildError::TooLong { len: MAX_INSNS + 1, max: MAX_INSNS }));
    }

    #[test]
    fn comments_attach_to_the_next_instruction() {
        let mut b = Builder::new();
        b.comment("start");
        b.mov64(R0, 0);
        b.comment("leave");
        b.exit();
        let program = b.finish().expect("program builds");
        assert_eq!(program.comments, [(0, "start".to_string()), (1, "leave".to_string())]);
    }

    #[test]
    fn an_elided_load_leaves_the_source_map_right() {
        let mut b = Builder::new();
        b.enter(1);
        b.store(Size::DW, R10, -8, R7);
        b.enter(2);
        b.load(Size::DW, R7, R10, -8); // elided: origin 2 emits nothing
        b.leave();
        b.leave();
        b.enter(3);
        b.exit();
        let program = b.finish().expect("assembles");
        assert_eq!(program.insns.len(), 2);
        assert_eq!((program.source_map.origin(0), program.source_map.origin(1)), (Some(1), Some(3)));
    }

    #[test]
    fn len_counts_instruction_slots() {
        let mut b = Builder::new();
        assert!(b.is_empty());
        b.ld_imm64(R1, 7);
        b.exit();
        assert_eq!(b.len(), 3);
        assert!(!b.is_empty());
    }

    #[test]
    fn negate_pairs_up_and_is_an_involution() {
        use JmpOp::*;
        for op in [Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle] {
            let negated = op.negate().expect("has a negation");
            assert_ne!(negated, op);
            assert_eq!(negated.negate(), Some(op));
        }
        assert_eq!(Gt.negate(), Some(Le));
        assert_eq!(Sge.negate(), Some(Slt));
        assert_eq!(Set.negate(), None);
    }

    #[test]
    fn sizes_round_trip_through_bytes() {
        for size in [Size::B, Size::H, Size::W, Size::DW] {
            assert_eq!(Size::from_bytes(size.bytes()), Some(size));
        }
        assert_eq!(Size::from_bytes(3), None);
    }
}

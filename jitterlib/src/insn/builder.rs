//! [`Builder`]: emits instructions with symbolic jump labels, map references and comments, then resolves the
//! jumps into a [`Program`].

use super::helper::Helper;
use super::opcode::*;
use super::{Insn, MapRef, Program, Reg};

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
    /// The first misuse seen, reported by `finish`.
    error: Option<BuildError>,
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

    /// `dst = *(size *)(base + off)`, zero-extended (`BPF_LDX | BPF_MEM`).
    pub fn load(&mut self, size: Size, dst: Reg, base: Reg, off: i16) {
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
            None => self.record(BuildError::UnboundLabel { insn: here, label: label.0 }),
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
            let target = self.labels[label].ok_or(BuildError::UnboundLabel { insn: jump.insn, label })?;
            if target >= len {
                return Err(BuildError::JumpPastEnd { insn: jump.insn, label });
            }
            // Both fit in an i64: they are at most MAX_INSNS.
            let offset = target as i64 - (jump.insn as i64 + 1);
            self.insns[jump.insn].off = i16::try_from(offset)
                .map_err(|_| BuildError::JumpOutOfRange { insn: jump.insn, offset })?;
        }
        Ok(Program { insns: self.insns, map_refs: self.map_refs, comments: self.comments })
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
            self.record(BuildError::UnboundLabel { insn: self.len(), label: label.0 });
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

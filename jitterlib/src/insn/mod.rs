//! eBPF instructions: the encoding, a builder with labels and map references, and a disassembler.
//!
//! The compiler emits programs through [`Builder`]; the result, a [`Program`], is what the ELF writer
//! serialises and what `jl -d` prints through [`disassemble`].

mod builder;
mod disasm;
mod helper;
pub mod opcode;
mod peephole;
mod source_map;

pub use builder::{AluOp, BuildError, Builder, JmpOp, Label, Operand, Size};
pub use disasm::{disassemble, disassemble_insn};
pub use helper::Helper;
pub use source_map::SourceMap;

/// One of the eleven eBPF registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reg {
    /// Return value of helpers and of the program.
    R0 = 0,
    /// First argument; holds the context pointer at program entry.
    R1 = 1,
    /// Second argument.
    R2 = 2,
    /// Third argument.
    R3 = 3,
    /// Fourth argument.
    R4 = 4,
    /// Fifth argument.
    R5 = 5,
    /// Callee-saved.
    R6 = 6,
    /// Callee-saved.
    R7 = 7,
    /// Callee-saved.
    R8 = 8,
    /// Callee-saved.
    R9 = 9,
    /// Read-only frame pointer: the stack lives at negative offsets from it.
    R10 = 10,
}

/// One raw 8-byte eBPF instruction (`struct bpf_insn`); `LD_IMM64` takes two of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    /// Opcode: class, size/source and operation bits.
    pub code: u8,
    /// Destination register number (0-10).
    pub dst: u8,
    /// Source register number (0-10), or a pseudo source such as `BPF_PSEUDO_MAP_FD`.
    pub src: u8,
    /// Signed offset: jump distance or memory displacement.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

/// A reference from an `LD_IMM64` instruction to a map, resolved by the ELF relocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRef {
    /// Index of the first half of the `LD_IMM64` in [`Program::insns`].
    pub insn: usize,
    /// Index of the map in the object's map list.
    pub map: usize,
}

/// A finished program: instructions with jumps resolved, map references, notes for the disassembler and the
/// source map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    /// The instructions, in order.
    pub insns: Vec<Insn>,
    /// Every `LD_IMM64` that loads a map.
    pub map_refs: Vec<MapRef>,
    /// Comments attached to instruction indices, printed by the disassembler before that instruction.
    pub comments: Vec<(usize, String)>,
    /// Which construct of the caller's source each instruction comes from ([`Builder::enter`]).
    pub source_map: SourceMap,
    /// Functions the program passes to helpers (`bpf_for_each_map_elem`), each referenced by an `LD_IMM64`
    /// of source `BPF_PSEUDO_FUNC` whose immediate is its index here ([`Builder::ld_callback`]). They are
    /// placed outside the program and need BTF function info to load (see [`crate::object`]).
    pub callbacks: Vec<Program>,
}

/// Size in bytes of one encoded instruction.
pub const INSN_SIZE: usize = 8;

impl Insn {
    /// An instruction from its five fields.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { code, dst, src, off, imm }
    }

    /// The kernel's little-endian encoding: opcode, `src << 4 | dst`, offset, immediate.
    pub fn to_bytes(&self) -> [u8; INSN_SIZE] {
        let [off0, off1] = self.off.to_le_bytes();
        let [imm0, imm1, imm2, imm3] = self.imm.to_le_bytes();
        let regs = (self.src << 4) | (self.dst & 0x0f);
        [self.code, regs, off0, off1, imm0, imm1, imm2, imm3]
    }

    /// Decodes one instruction from its little-endian encoding.
    pub fn from_bytes(bytes: &[u8; INSN_SIZE]) -> Insn {
        Insn {
            code: bytes[0],
            dst: bytes[1] & 0x0f,
            src: bytes[1] >> 4,
            off: i16::from_le_bytes([bytes[2], bytes[3]]),
            imm: i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        }
    }
}

/// Why bytes could not be read back as a [`Program`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The byte count is not a whole number of instructions.
    #[error("{len} bytes is not a whole number of {INSN_SIZE}-byte instructions")]
    PartialInsn {
        /// Number of bytes given.
        len: usize,
    },
}

impl Program {
    /// Number of instruction slots (`LD_IMM64` counts as two).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program has no instructions.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The instructions encoded back to back, as they go into an ELF section or `BPF_PROG_LOAD`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.insns.iter().flat_map(Insn::to_bytes).collect()
    }

    /// Decodes instructions, e.g. an ELF program section, into a program without map references or comments.
    pub fn from_bytes(bytes: &[u8]) -> Result<Program, DecodeError> {
        if !bytes.len().is_multiple_of(INSN_SIZE) {
            return Err(DecodeError::PartialInsn { len: bytes.len() });
        }
        let insns = bytes
            .chunks_exact(INSN_SIZE)
            .map(|chunk| {
                let mut encoded = [0; INSN_SIZE];
                encoded.copy_from_slice(chunk);
                Insn::from_bytes(&encoded)
            })
            .collect();
        Ok(Program { insns, ..Program::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_dst_in_the_low_nibble_and_fields_little_endian() {
        let insn = Insn::new(0x7b, 10, 1, -8, 0x0102_0304);
        assert_eq!(insn.to_bytes(), [0x7b, 0x1a, 0xf8, 0xff, 0x04, 0x03, 0x02, 0x01]);
    }

    #[test]
    fn bytes_round_trip_through_insns() {
        let mut b = Builder::new();
        let out = b.new_label();
        b.mov64(Reg::R6, Reg::R1);
        b.ld_map(Reg::R1, 0);
        b.ld_imm64(Reg::R2, 0xdead_beef_0000_0001);
        b.store_imm(Size::DW, Reg::R10, -8, -2);
        b.atomic_add(Size::W, Reg::R9, 12, Reg::R8);
        b.jump32_if(JmpOp::Sle, Reg::R3, Reg::R4, out);
        b.call(Helper::GetCurrentPidTgid);
        b.bind(out);
        b.exit();
        let program = b.finish().expect("program builds");
        let bytes = program.to_bytes();
        assert_eq!(bytes.len(), program.len() * INSN_SIZE);
        let decoded = Program::from_bytes(&bytes).expect("whole instructions");
        assert_eq!(decoded.insns, program.insns);
        assert_eq!(decoded.to_bytes(), bytes);
        for insn in &program.insns {
            assert_eq!(Insn::from_bytes(&insn.to_bytes()), *insn);
        }
    }

    #[test]
    fn any_eight_bytes_round_trip() {
        let raw = [0xff, 0xa5, 0x80, 0x00, 0x00, 0x00, 0x00, 0x80];
        let insn = Insn::from_bytes(&raw);
        assert_eq!((insn.dst, insn.src, insn.off, insn.imm), (5, 10, 128, i32::MIN));
        assert_eq!(insn.to_bytes(), raw);
    }

    #[test]
    fn partial_instructions_are_an_error() {
        assert_eq!(Program::from_bytes(&[0x95, 0, 0]), Err(DecodeError::PartialInsn { len: 3 }));
        assert!(Program::from_bytes(&[]).expect("empty is whole").is_empty());
    }
}

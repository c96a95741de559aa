//! eBPF instructions: the encoding, a builder with labels and map references, and a disassembler.
//!
//! The compiler emits programs through [`Builder`]; the result, a [`Program`], is what the ELF writer
//! serialises and what `jl -d` prints through [`disassemble`].


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

/// A finished program: instructions with jumps resolved, map references and notes for the disassembler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Program {
    /// The instructions, in order.
    pub insns: Vec<Insn>,
    /// Every `LD_IMM64` that loads a map.
    pub map_refs: Vec<MapRef>,
    /// Comments attached to instruction indices, printed by the disassembler before that instruction.
    pub comments: Vec<(usize, String)>,
}

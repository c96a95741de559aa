//! The `BPF_*` opcode constants of `include/uapi/linux/bpf.h` and `bpf_common.h`, and accessors for the
//! fields of an opcode byte.
//!
//! An opcode byte is `class | size | mode` for loads and stores, and `class | op | source` for ALU and jump
//! instructions. See <https://docs.kernel.org/bpf/standardization/instruction-set.html>.

/// Non-standard loads: `LD_IMM64` and the legacy packet loads.
pub const BPF_LD: u8 = 0x00;
/// Loads from memory into a register.
pub const BPF_LDX: u8 = 0x01;
/// Stores of an immediate into memory.
pub const BPF_ST: u8 = 0x02;
/// Stores of a register into memory, and atomic operations.
pub const BPF_STX: u8 = 0x03;
/// 32-bit arithmetic.
pub const BPF_ALU: u8 = 0x04;
/// 64-bit jumps, calls and exit.
pub const BPF_JMP: u8 = 0x05;
/// Jumps comparing the low 32 bits of the operands.
pub const BPF_JMP32: u8 = 0x06;
/// 64-bit arithmetic.
pub const BPF_ALU64: u8 = 0x07;

/// Memory access of 4 bytes.
pub const BPF_W: u8 = 0x00;
/// Memory access of 2 bytes.
pub const BPF_H: u8 = 0x08;
/// Memory access of 1 byte.
pub const BPF_B: u8 = 0x10;
/// Memory access of 8 bytes.
pub const BPF_DW: u8 = 0x18;

/// Immediate load (`LD_IMM64`).
pub const BPF_IMM: u8 = 0x00;
/// Legacy packet load at an absolute offset.
pub const BPF_ABS: u8 = 0x20;
/// Legacy packet load at a register-relative offset.
pub const BPF_IND: u8 = 0x40;
/// Regular memory access.
pub const BPF_MEM: u8 = 0x60;
/// Sign-extending memory load.
pub const BPF_MEMSX: u8 = 0x80;
/// Atomic read-modify-write; the operation is in the immediate.
pub const BPF_ATOMIC: u8 = 0xc0;

/// The source operand is the immediate.
pub const BPF_K: u8 = 0x00;
/// The source operand is the source register.
pub const BPF_X: u8 = 0x08;

/// `dst += src`.
pub const BPF_ADD: u8 = 0x00;
/// `dst -= src`.
pub const BPF_SUB: u8 = 0x10;
/// `dst *= src`.
pub const BPF_MUL: u8 = 0x20;
/// `dst /= src` (unsigned; signed when the offset is 1).
pub const BPF_DIV: u8 = 0x30;
/// `dst |= src`.
pub const BPF_OR: u8 = 0x40;
/// `dst &= src`.
pub const BPF_AND: u8 = 0x50;
/// `dst <<= src`.
pub const BPF_LSH: u8 = 0x60;
/// `dst >>= src` (logical).
pub const BPF_RSH: u8 = 0x70;
/// `dst = -dst`.
pub const BPF_NEG: u8 = 0x80;
/// `dst %= src` (unsigned; signed when the offset is 1).
pub const BPF_MOD: u8 = 0x90;
/// `dst ^= src`.
pub const BPF_XOR: u8 = 0xa0;
/// `dst = src` (sign-extending when the offset is 8, 16 or 32).
pub const BPF_MOV: u8 = 0xb0;
/// `dst >>= src` (arithmetic).
pub const BPF_ARSH: u8 = 0xc0;
/// Byte swap; the immediate holds the width in bits.
pub const BPF_END: u8 = 0xd0;

/// Byte swap to little endian (in `BPF_ALU`).
pub const BPF_TO_LE: u8 = 0x00;
/// Byte swap to big endian (in `BPF_ALU`).
pub const BPF_TO_BE: u8 = 0x08;

/// Unconditional jump.
pub const BPF_JA: u8 = 0x00;
/// Jump if equal.
pub const BPF_JEQ: u8 = 0x10;
/// Jump if greater, unsigned.
pub const BPF_JGT: u8 = 0x20;
/// Jump if greater or equal, unsigned.
pub const BPF_JGE: u8 = 0x30;
/// Jump if `dst & src` is not zero.
pub const BPF_JSET: u8 = 0x40;
/// Jump if not equal.
pub const BPF_JNE: u8 = 0x50;
/// Jump if greater, signed.
pub const BPF_JSGT: u8 = 0x60;
/// Jump if greater or equal, signed.
pub const BPF_JSGE: u8 = 0x70;
/// Helper (or BPF-to-BPF) call.
pub const BPF_CALL: u8 = 0x80;
/// Return from the program.
pub const BPF_EXIT: u8 = 0x90;
/// Jump if less, unsigned.
pub const BPF_JLT: u8 = 0xa0;
/// Jump if less or equal, unsigned.
pub const BPF_JLE: u8 = 0xb0;
/// Jump if less, signed.
pub const BPF_JSLT: u8 = 0xc0;
/// Jump if less or equal, signed.
pub const BPF_JSLE: u8 = 0xd0;

/// Atomic modifier: also return the old value in the source register.
pub const BPF_FETCH: i32 = 0x01;
/// Atomic exchange.
pub const BPF_XCHG: i32 = 0xe0 | BPF_FETCH;
/// Atomic compare-and-exchange against `r0`.
pub const BPF_CMPXCHG: i32 = 0xf0 | BPF_FETCH;

/// `LD_IMM64` source: the immediate is a map file descriptor.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `LD_IMM64` source: a map file descriptor plus an offset into its value.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;
/// `LD_IMM64` source: a BTF id of a kernel variable.
pub const BPF_PSEUDO_BTF_ID: u8 = 3;
/// `LD_IMM64` source: the address of a BPF function.
pub const BPF_PSEUDO_FUNC: u8 = 4;
/// `CALL` source: a BPF-to-BPF call; the immediate is a relative offset.
pub const BPF_PSEUDO_CALL: u8 = 1;
/// `CALL` source: a kernel function call; the immediate is a BTF id.
pub const BPF_PSEUDO_KFUNC_CALL: u8 = 2;

/// The instruction class of an opcode (`BPF_LD` ... `BPF_ALU64`).
pub const fn class(code: u8) -> u8 {
    code & 0x07
}

/// The access size of a load or store opcode (`BPF_W`, `BPF_H`, `BPF_B`, `BPF_DW`).
pub const fn size(code: u8) -> u8 {
    code & 0x18
}

/// The mode of a load or store opcode (`BPF_IMM`, `BPF_MEM`, `BPF_ATOMIC`, ...).
pub const fn mode(code: u8) -> u8 {
    code & 0xe0
}

/// The operation of an ALU or jump opcode (`BPF_ADD`, `BPF_JEQ`, ...).
pub const fn op(code: u8) -> u8 {
    code & 0xf0
}

/// The source of an ALU or jump opcode (`BPF_K` or `BPF_X`).
pub const fn source(code: u8) -> u8 {
    code & 0x08
}

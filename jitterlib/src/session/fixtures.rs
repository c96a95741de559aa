//! Hand-assembled programs for the ELF writer and session tests (the instruction builder lives elsewhere).

use crate::insn::{Insn, MapRef, Program};
use crate::maps::{MapKind, MapSpec};

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R10: u8 = 10;

const BPF_PSEUDO_MAP_FD: u8 = 1;
const HELPER_MAP_LOOKUP_ELEM: i32 = 1;
const HELPER_MAP_UPDATE_ELEM: i32 = 2;
const HELPER_RINGBUF_OUTPUT: i32 = 130;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn { code, dst, src, off, imm }
}

fn mov_imm(dst: u8, imm: i32) -> Insn {
    insn(0xb7, dst, 0, 0, imm)
}

fn mov_reg(dst: u8, src: u8) -> Insn {
    insn(0xbf, dst, src, 0, 0)
}

fn add_imm(dst: u8, imm: i32) -> Insn {
    insn(0x07, dst, 0, 0, imm)
}

fn store_w(dst: u8, off: i16, src: u8) -> Insn {
    insn(0x63, dst, src, off, 0)
}

fn store_dw(dst: u8, off: i16, src: u8) -> Insn {
    insn(0x7b, dst, src, off, 0)
}

fn call(helper: i32) -> Insn {
    insn(0x85, 0, 0, 0, helper)
}

fn exit() -> Insn {
    insn(0x95, 0, 0, 0, 0)
}

/// Appends `LD_IMM64 dst, map` and records the map reference.
fn load_map(program: &mut Program, dst: u8, map: usize) {
    program.map_refs.push(MapRef { insn: program.insns.len(), map });
    program.insns.push(insn(0x18, dst, BPF_PSEUDO_MAP_FD, 0, 0));
    program.insns.push(insn(0, 0, 0, 0, 0));
}

/// `return 0`.
pub fn noop() -> Program {
    Program { insns: vec![mov_imm(R0, 0), exit()], ..Program::default() }
}

/// Reads uninitialised r2: the verifier must refuse it.
pub fn reads_uninitialised_register() -> Program {
    Program { insns: vec![mov_reg(R0, R2), exit()], ..Program::default() }
}

/// A per-CPU hash `u32 -> u64` map.
pub fn counter_map(name: &str) -> MapSpec {
    MapSpec {
        name: name.to_string(),
        kind: MapKind::PerCpuHash,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        on_insert: true,
    }
}

/// A hash `u32 -> u64` map.
pub fn hash_map(name: &str) -> MapSpec {
    MapSpec {
        name: name.to_string(),
        kind: MapKind::Hash,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        on_insert: true,
    }
}

/// A 4 KiB ring buffer.
pub fn ring_map(name: &str) -> MapSpec {
    MapSpec {
        name: name.to_string(),
        kind: MapKind::RingBuf,
        key_size: 0,
        value_size: 0,
        max_entries: 4096,
        on_insert: false,
    }
}

/// `@[0]++` on the `u32 -> u64` map at index `map`: lookup, atomic add when found, insert 1 otherwise.
pub fn count_into(map: usize) -> Program {
    let mut p = Program::default();
    p.insns.extend([mov_imm(R1, 0), store_w(R10, -4, R1)]);
    load_map(&mut p, R1, map);
    p.insns.extend([mov_reg(R2, R10), add_imm(R2, -4), call(HELPER_MAP_LOOKUP_ELEM)]);
    let branch = p.insns.len();
    p.insns.push(insn(0x55, R0, 0, 0, 0)); // if r0 != 0 goto found (patched below)
    p.insns.extend([mov_imm(R1, 1), store_dw(R10, -16, R1)]);
    load_map(&mut p, R1, map);
    p.insns.extend([
        mov_reg(R2, R10),
        add_imm(R2, -4),
        mov_reg(R3, R10),
        add_imm(R3, -16),
        mov_imm(R4, 0),
        call(HELPER_MAP_UPDATE_ELEM),
        insn(0x05, 0, 0, 2, 0), // goto out
    ]);
    let found = p.insns.len();
    p.insns[branch].off = (found - branch - 1) as i16;
    p.insns.extend([
        mov_imm(R1, 1),
        insn(0xdb, R0, R1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
        mov_imm(R0, 0),
        exit(),
    ]);
    p
}

/// `map[key] = value` on the `u32 -> u64` map at index `map`, then `return retval`.
pub fn store_into(map: usize, key: i32, value: i32, retval: i32) -> Program {
    let mut p = Program::default();
    p.insns.extend([mov_imm(R1, key), store_w(R10, -4, R1), mov_imm(R1, value), store_dw(R10, -16, R1)]);
    load_map(&mut p, R1, map);
    p.insns.extend([
        mov_reg(R2, R10),
        add_imm(R2, -4),
        mov_reg(R3, R10),
        add_imm(R3, -16),
        mov_imm(R4, 0),
        call(HELPER_MAP_UPDATE_ELEM),
        mov_imm(R0, retval),
        exit(),
    ]);
    p
}

/// The 8 bytes [`ringbuf_hello`] sends.
pub const HELLO: &[u8; 8] = b"hello!\0\0";

/// `bpf_ringbuf_output(ring, "hello!\0\0", 8, 0)` on the ring buffer at index `map`.
pub fn ringbuf_hello(map: usize) -> Program {
    let low = i32::from_le_bytes([HELLO[0], HELLO[1], HELLO[2], HELLO[3]]);
    let high = i32::from_le_bytes([HELLO[4], HELLO[5], HELLO[6], HELLO[7]]);
    let mut p = Program::default();
    p.insns.extend([mov_imm(R1, low), store_w(R10, -8, R1), mov_imm(R1, high), store_w(R10, -4, R1)]);
    load_map(&mut p, R1, map);
    p.insns.extend([
        mov_reg(R2, R10),
        add_imm(R2, -8),
        mov_imm(R3, 8),
        mov_imm(R4, 0),
        call(HELPER_RINGBUF_OUTPUT),
        mov_imm(R0, 0),
        exit(),
    ]);
    p
}

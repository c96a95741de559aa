//! Induced CPU stalls for the `irqoff` and `stall` tests: a BPF program that busy-waits for a given time inside
//! `bpf_loop`, run with `BPF_PROG_TEST_RUN` where the kernel runs it with interrupts or softirqs disabled.
//!
//! - Interrupts off: a raw tracepoint program test-run with `BPF_F_TEST_RUN_ON_CPU` on another CPU runs in that
//!   CPU's IPI handler (`smp_call_function_single`), with hard interrupts disabled.
//! - Softirqs off: a socket filter test-run on the current CPU runs between `local_bh_disable()` and
//!   `local_bh_enable()` (`bpf_test_run`, Linux 6.11 and later).

use crate::raw_bpf::{btf, load_btf, load_program, test_run, KIND_FUNC, KIND_FUNC_PROTO, KIND_INT};
use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};

const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
const BPF_FUNC_KTIME_GET_NS: i32 = 5;
const BPF_FUNC_LOOP: i32 = 181;
/// `bpf_loop`'s iteration limit (`BPF_MAX_LOOPS`).
const MAX_LOOPS: i32 = 1 << 23;

/// One instruction: opcode, registers (dst low nibble, src high nibble), offset, immediate.
fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    u64::from(code) | u64::from(dst | (src << 4)) << 8 | u64::from(off as u16) << 16 | u64::from(imm as u32) << 32
}

/// `r0 = 0; exit` after calling `bpf_loop(MAX_LOOPS, spin, &deadline, 0)` with `deadline = now + ns`; `spin`
/// returns 1 (stop) once `bpf_ktime_get_ns()` reaches the deadline.
/// Also returns the index of the callback's first instruction.
fn busy_wait_program(ns: u32) -> (Vec<u64>, u32) {
    let call = |helper| insn(0x85, 0, 0, 0, helper);
    let exit = insn(0x95, 0, 0, 0, 0);
    let mut code = vec![
        call(BPF_FUNC_KTIME_GET_NS),
        insn(0x07, 0, 0, 0, ns as i32), // r0 += ns
        insn(0x7b, 10, 0, -8, 0),       // *(u64 *)(r10 - 8) = r0
        insn(0xb7, 1, 0, 0, MAX_LOOPS), // r1 = MAX_LOOPS
        insn(0x18, 2, 4, 0, 0),         // r2 = spin (BPF_PSEUDO_FUNC, relative offset patched below)
        insn(0, 0, 0, 0, 0),
        insn(0xbf, 3, 10, 0, 0), // r3 = r10
        insn(0x07, 3, 0, 0, -8), // r3 += -8
        insn(0xb7, 4, 0, 0, 0),  // r4 = 0
        call(BPF_FUNC_LOOP),
        insn(0xb7, 0, 0, 0, 0), // r0 = 0
        exit,
    ];
    let spin = code.len() as i32;
    code[4] = insn(0x18, 2, 4, 0, spin - 4 - 1);
    code.extend([
        insn(0xbf, 6, 2, 0, 0), // r6 = ctx (&deadline)
        call(BPF_FUNC_KTIME_GET_NS),
        insn(0x79, 1, 6, 0, 0), // r1 = deadline
        insn(0xb7, 2, 0, 0, 1), // r2 = 1
        insn(0x3d, 0, 1, 1, 0), // if r0 >= r1 goto +1
        insn(0xb7, 2, 0, 0, 0), // r2 = 0
        insn(0xbf, 0, 2, 0, 0), // r0 = r2
        exit,
    ]);
    (code, spin as u32)
}

/// Minimal BTF describing the two functions (`main`, then the `spin` callback): the verifier needs it
/// (`func_info`) for a `bpf_loop` callback. Type 1 `int`; 2 `int (void)`; 3 `main`; 4 `int (int i, int p)`; 5 `spin`.
fn function_btf() -> Vec<u8> {
    let strings = b"\0int\0main\0spin\0i\0p\0";
    let (int, main, spin, i, p) = (1u32, 5u32, 10u32, 15u32, 17u32);
    let words: Vec<u32> = vec![
        int,
        KIND_INT << 24,
        4,
        (1 << 24) | 32, // 1: int, signed, 32 bits
        0,
        KIND_FUNC_PROTO << 24,
        1, // 2: int (void)
        main,
        KIND_FUNC << 24,
        2, // 3: main
        0,
        (KIND_FUNC_PROTO << 24) | 2,
        1,
        i,
        1,
        p,
        1, // 4: int (int i, int p)
        spin,
        KIND_FUNC << 24,
        4, // 5: spin
    ];
    btf(&words, strings)
}

/// The tests that induce stalls hold the same CPU and each would see the others' stalls: they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Waits for the other stall-inducing tests to finish; the turn lasts while the guard lives.
pub(crate) fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A loaded busy-wait program.
pub(crate) struct Stall {
    fd: OwnedFd,
    on_other_cpu: bool,
}

impl Stall {
    /// A program that holds a CPU with hard interrupts off for `ns` when run on another CPU.
    pub(crate) fn irqs_off(ns: u32) -> io::Result<Stall> {
        Ok(Stall { fd: load(BPF_PROG_TYPE_RAW_TRACEPOINT, busy_wait_program(ns))?, on_other_cpu: true })
    }

    /// A program that holds the current CPU with softirqs disabled for `ns`.
    pub(crate) fn softirqs_off(ns: u32) -> io::Result<Stall> {
        Ok(Stall { fd: load(BPF_PROG_TYPE_SOCKET_FILTER, busy_wait_program(ns))?, on_other_cpu: false })
    }

    /// Runs it once: on `cpu` (interrupts off; the caller must be on another CPU), or on the current CPU.
    pub(crate) fn run(&self, cpu: u32) -> io::Result<()> {
        test_run(&self.fd, &[0u8; 64], self.on_other_cpu.then_some(cpu))
    }
}

fn load(prog_type: u32, (code, spin): (Vec<u64>, u32)) -> io::Result<OwnedFd> {
    let code: Vec<u8> = code.iter().flat_map(|insn| insn.to_ne_bytes()).collect();
    load_program(prog_type, &code, &[[0, 3], [spin, 5]], &load_btf(&function_btf())?)
}

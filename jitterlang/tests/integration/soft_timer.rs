//! A soft hrtimer whose callback runs as long as asked: a `bpf_timer` (armed `HRTIMER_MODE_REL_SOFT` by the
//! kernel, so its callback `bpf_timer_cb` runs in HRTIMER softirq with interrupts on) whose BPF callback spins on
//! `bpf_ktime_get_ns()` with `bpf_loop`. Hard-interrupt hrtimers (the tick) that expire meanwhile run nested in
//! it, which is what `hrtimer()`'s two slots per CPU are for.
//!
//! Loaded with raw `bpf(2)` calls: a map value holding a `struct bpf_timer` needs BTF for the map, and callbacks
//! (`BPF_PSEUDO_FUNC`) need BTF function info for the program, neither of which the object writer emits. The
//! arming program is a socket filter run once with `BPF_PROG_TEST_RUN` (timers are refused to tracing programs).

use crate::raw_bpf::{
    bpf, bpf_fd, btf, load_btf, load_program, put, test_run, BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, KIND_FUNC,
    KIND_FUNC_PROTO, KIND_INT, KIND_PTR, KIND_STRUCT,
};
use jitterlib::insn::{AluOp, Builder, Helper, Insn, JmpOp, Program, Reg, Size};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const BPF_PSEUDO_FUNC: u8 = 4;
const CLOCK_MONOTONIC: i32 = 1;
/// `bpf_timer_start` flag: fire on the CPU that armed the timer (Linux 6.7).
const BPF_F_TIMER_CPU_PIN: i32 = 2;
/// Delay before the callback runs.
const ARM_DELAY_NS: i32 = 100_000;
/// Iterations `bpf_loop` allows at most; the callback stops earlier, when its time is up.
const MAX_LOOPS: i32 = 1 << 23;

/// Map value: `struct { struct bpf_timer timer; u64 runs; u64 last_ns; }`.
const VALUE_RUNS: i16 = 16;
const VALUE_LAST_NS: i16 = 24;
const VALUE_SIZE: u32 = 32;

/// BTF type ids of [`types`].
const INT: u32 = 1;
const VAL: u32 = 4;
const FUNC_ARM: u32 = 7;
const FUNC_TIMER_CB: u32 = 11;
const FUNC_LOOP_CB: u32 = 13;

/// The loaded timer: its map and its arming program (dropping it closes them; an armed timer is cancelled
/// when its map goes).
pub(crate) struct SlowSoftTimer {
    map: OwnedFd,
    arm: OwnedFd,
    _btf: OwnedFd,
}

impl SlowSoftTimer {
    /// Loads a timer whose callback spins for `busy` each time it runs.
    pub(crate) fn load(busy: Duration) -> io::Result<SlowSoftTimer> {
        let btf = load_btf(&types())?;
        let map = create_map(&btf)?;
        let (insns, func_info) = program(busy, map.as_raw_fd());
        let code: Vec<u8> = insns.iter().flat_map(|insn| insn.to_bytes()).collect();
        let arm = load_program(BPF_PROG_TYPE_SOCKET_FILTER, &code, &func_info, &btf)?;
        Ok(SlowSoftTimer { map, arm, _btf: btf })
    }

    /// Arms the timer on this CPU (`BPF_PROG_TEST_RUN` of the arming program): the callback runs about
    /// 100 us later, in HRTIMER softirq on this CPU.
    pub(crate) fn arm(&self) -> io::Result<()> {
        test_run(&self.arm, &[0u8; 64], None)
    }

    /// How many times the callback ran, and how long its last run spun (as the callback measured it).
    pub(crate) fn runs(&self) -> io::Result<(u64, Duration)> {
        let key = 0u32;
        let mut value = [0u8; VALUE_SIZE as usize];
        let mut attr = [0u8; 128];
        put(&mut attr, 0, &(self.map.as_raw_fd() as u32).to_ne_bytes());
        put(&mut attr, 8, &(&key as *const u32 as u64).to_ne_bytes());
        put(&mut attr, 16, &(value.as_mut_ptr() as u64).to_ne_bytes());
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr)?;
        let word = |offset: i16| u64::from_ne_bytes(value[offset as usize..][..8].try_into().expect("8 bytes"));
        Ok((word(VALUE_RUNS), Duration::from_nanos(word(VALUE_LAST_NS))))
    }
}

/// The three functions, one after the other, and their BTF function info (`insn_off`, `type_id`):
/// - arm(ctx): looks up the value, `bpf_timer_init`, `bpf_timer_set_callback(timer_cb)`, `bpf_timer_start`;
/// - timer_cb(map, key, value): spins with `bpf_loop(loop_cb)` until `busy` has passed, then counts the run;
/// - loop_cb(index, start): returns 1 (stop) once `busy` has passed since `*start`.
fn program(busy: Duration, map_fd: i32) -> (Vec<Insn>, Vec<[u32; 2]>) {
    let busy = busy.as_nanos() as i32;
    let mut arm = Builder::new();
    let out = arm.new_label();
    arm.store_imm(Size::W, Reg::R10, -4, 0);
    arm.ld_map(Reg::R1, 0);
    arm.mov64(Reg::R2, Reg::R10);
    arm.alu64(AluOp::Add, Reg::R2, -4);
    arm.call(Helper::MapLookupElem);
    arm.jump_if(JmpOp::Eq, Reg::R0, 0, out);
    arm.mov64(Reg::R6, Reg::R0);
    arm.mov64(Reg::R1, Reg::R6);
    arm.ld_map(Reg::R2, 0);
    arm.mov64(Reg::R3, CLOCK_MONOTONIC);
    arm.call(Helper::TimerInit);
    arm.mov64(Reg::R1, Reg::R6);
    let set_callback = arm.len();
    arm.ld_imm64(Reg::R2, 0);
    arm.call(Helper::TimerSetCallback);
    arm.mov64(Reg::R1, Reg::R6);
    arm.mov64(Reg::R2, ARM_DELAY_NS);
    arm.mov64(Reg::R3, BPF_F_TIMER_CPU_PIN);
    arm.call(Helper::TimerStart);
    arm.bind(out);
    arm.mov64(Reg::R0, 0);
    arm.exit();

    let mut timer_cb = Builder::new();
    timer_cb.mov64(Reg::R6, Reg::R3);
    timer_cb.call(Helper::KtimeGetNs);
    timer_cb.store(Size::DW, Reg::R10, -8, Reg::R0);
    timer_cb.mov64(Reg::R1, MAX_LOOPS);
    let loop_callback = timer_cb.len();
    timer_cb.ld_imm64(Reg::R2, 0);
    timer_cb.mov64(Reg::R3, Reg::R10);
    timer_cb.alu64(AluOp::Add, Reg::R3, -8);
    timer_cb.mov64(Reg::R4, 0);
    timer_cb.call(Helper::Loop);
    timer_cb.call(Helper::KtimeGetNs);
    timer_cb.load(Size::DW, Reg::R1, Reg::R10, -8);
    timer_cb.alu64(AluOp::Sub, Reg::R0, Reg::R1);
    timer_cb.store(Size::DW, Reg::R6, VALUE_LAST_NS, Reg::R0);
    timer_cb.load(Size::DW, Reg::R1, Reg::R6, VALUE_RUNS);
    timer_cb.alu64(AluOp::Add, Reg::R1, 1);
    timer_cb.store(Size::DW, Reg::R6, VALUE_RUNS, Reg::R1);
    timer_cb.mov64(Reg::R0, 0);
    timer_cb.exit();

    let mut loop_cb = Builder::new();
    let more = loop_cb.new_label();
    loop_cb.mov64(Reg::R6, Reg::R2);
    loop_cb.call(Helper::KtimeGetNs);
    loop_cb.load(Size::DW, Reg::R1, Reg::R6, 0);
    loop_cb.alu64(AluOp::Sub, Reg::R0, Reg::R1);
    loop_cb.jump_if(JmpOp::Lt, Reg::R0, busy, more);
    loop_cb.mov64(Reg::R0, 1);
    loop_cb.exit();
    loop_cb.bind(more);
    loop_cb.mov64(Reg::R0, 0);
    loop_cb.exit();

    let [arm, timer_cb, loop_cb]: [Program; 3] =
        [arm, timer_cb, loop_cb].map(|b| b.finish().expect("the test programs assemble"));
    let timer_cb_at = arm.insns.len();
    let loop_cb_at = timer_cb_at + timer_cb.insns.len();
    let mut insns: Vec<Insn> = [&arm, &timer_cb, &loop_cb].iter().flat_map(|p| p.insns.clone()).collect();
    for map_ref in &arm.map_refs {
        insns[map_ref.insn].src = BPF_PSEUDO_MAP_FD;
        insns[map_ref.insn].imm = map_fd;
    }
    for (at, target) in [(set_callback, timer_cb_at), (timer_cb_at + loop_callback, loop_cb_at)] {
        insns[at].src = BPF_PSEUDO_FUNC;
        insns[at].imm = (target - at - 1) as i32;
    }
    let func_info = vec![[0, FUNC_ARM], [timer_cb_at as u32, FUNC_TIMER_CB], [loop_cb_at as u32, FUNC_LOOP_CB]];
    (insns, func_info)
}

/// The BTF of the map value and the three functions.
fn types() -> Vec<u8> {
    let mut strings = vec![0u8];
    let mut name = |text: &str| {
        let offset = strings.len() as u32;
        strings.extend_from_slice(text.as_bytes());
        strings.push(0);
        offset
    };
    let kind = |kind: u32, vlen: u32| kind << 24 | vlen;
    let names: Vec<u32> = [
        "int",
        "u64",
        "bpf_timer",
        "val",
        "ctx",
        "arm",
        "map",
        "key",
        "value",
        "timer_cb",
        "index",
        "start",
        "loop_cb",
        "a",
        "b",
        "timer",
        "runs",
        "last_ns",
    ]
    .iter()
    .map(|text| name(text))
    .collect();
    let [int, u64_name, timer, val, ctx, arm, map, key, value, timer_cb, index, start, loop_cb, a, b, t, runs, last] =
        names[..]
    else {
        unreachable!("eighteen names")
    };
    #[rustfmt::skip]
    let words: Vec<u32> = vec![
        /* 1 */ int, kind(KIND_INT, 0), 4, 1 << 24 | 32,
        /* 2 */ u64_name, kind(KIND_INT, 0), 8, 64,
        /* 3 */ timer, kind(KIND_STRUCT, 2), 16, a, 2, 0, b, 2, 64,
        /* 4 */ val, kind(KIND_STRUCT, 3), VALUE_SIZE, t, 3, 0, runs, 2, 128, last, 2, 192,
        /* 5 void * */ 0, kind(KIND_PTR, 0), 0,
        /* 6 int (void *ctx) */ 0, kind(KIND_FUNC_PROTO, 1), INT, ctx, 5,
        /* 7 */ arm, kind(KIND_FUNC, 1), 6,
        /* 8 struct val * */ 0, kind(KIND_PTR, 0), VAL,
        /* 9 int * */ 0, kind(KIND_PTR, 0), INT,
        /* 10 int (void *map, int *key, struct val *value) */ 0, kind(KIND_FUNC_PROTO, 3), INT, map, 5, key, 9, value, 8,
        /* 11 */ timer_cb, kind(KIND_FUNC, 0), 10,
        /* 12 int (u64 index, void *start) */ 0, kind(KIND_FUNC_PROTO, 2), INT, index, 2, start, 5,
        /* 13 */ loop_cb, kind(KIND_FUNC, 0), 12,
    ];
    btf(&words, &strings)
}

fn create_map(btf: &OwnedFd) -> io::Result<OwnedFd> {
    let mut attr = [0u8; 128];
    for (offset, word) in [(0, BPF_MAP_TYPE_ARRAY), (4, 4), (8, VALUE_SIZE), (12, 1)] {
        put(&mut attr, offset, &word.to_ne_bytes());
    }
    put(&mut attr, 28, b"slowsoft");
    for (offset, word) in [(48, btf.as_raw_fd() as u32), (52, INT), (56, VAL)] {
        put(&mut attr, offset, &word.to_ne_bytes());
    }
    bpf_fd(BPF_MAP_CREATE, &mut attr)
}

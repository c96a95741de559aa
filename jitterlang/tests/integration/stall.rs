//! Induced CPU stalls for the `irqoff` tests: a BPF program that busy-waits for a given time inside
//! `bpf_loop`, run with `BPF_PROG_TEST_RUN` where the kernel runs it with interrupts or softirqs disabled.
//!
//! - Interrupts off: a raw tracepoint program test-run with `BPF_F_TEST_RUN_ON_CPU` on another CPU runs in that
//!   CPU's IPI handler (`smp_call_function_single`), with hard interrupts disabled.
//! - Softirqs off: a socket filter test-run on the current CPU runs between `local_bh_disable()` and
//!   `local_bh_enable()` (`bpf_test_run`, Linux 6.11 and later).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_BTF_LOAD: libc::c_long = 18;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
const BPF_F_TEST_RUN_ON_CPU: u32 = 1;
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
    const KIND_INT: u32 = 1;
    const KIND_FUNC: u32 = 12;
    const KIND_FUNC_PROTO: u32 = 13;
    let strings = b"\0int\0main\0spin\0i\0p\0".to_vec();
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
    let types: Vec<u8> = words.iter().flat_map(|word| word.to_ne_bytes()).collect();
    let mut btf = Vec::new();
    btf.extend(0xeb9fu16.to_ne_bytes());
    btf.extend([1u8, 0]);
    for word in [24u32, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
        btf.extend(word.to_ne_bytes());
    }
    btf.extend(types);
    btf.extend(strings);
    btf
}

fn load_btf() -> io::Result<OwnedFd> {
    let btf = function_btf();
    let mut attr = [0u8; 128];
    put(&mut attr, 0, &(btf.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 16, &(btf.len() as u32).to_ne_bytes());
    let mut log = vec![0u8; 4096];
    put(&mut attr, 8, &(log.as_mut_ptr() as u64).to_ne_bytes());
    put(&mut attr, 20, &(log.len() as u32).to_ne_bytes());
    put(&mut attr, 24, &1u32.to_ne_bytes());
    let fd = bpf(BPF_BTF_LOAD, &mut attr).map_err(|error| {
        let text = String::from_utf8_lossy(&log);
        io::Error::new(error.kind(), format!("BTF: {error}: {}", text.trim_end_matches('\0')))
    })?;
    // SAFETY: a successful BPF_BTF_LOAD returns a new file descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn bpf(command: libc::c_long, attr: &mut [u8; 128]) -> io::Result<i64> {
    // SAFETY: attr is a zeroed bpf_attr-sized buffer that outlives the call; pointers in it are valid.
    let result = unsafe { libc::syscall(libc::SYS_bpf, command, attr.as_mut_ptr(), attr.len()) };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn put(attr: &mut [u8; 128], offset: usize, bytes: &[u8]) {
    attr[offset..offset + bytes.len()].copy_from_slice(bytes);
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
        use std::os::fd::AsRawFd;
        let packet = [0u8; 64];
        let mut attr = [0u8; 128];
        put(&mut attr, 0, &(self.fd.as_raw_fd() as u32).to_ne_bytes());
        if self.on_other_cpu {
            put(&mut attr, 64, &BPF_F_TEST_RUN_ON_CPU.to_ne_bytes());
            put(&mut attr, 68, &cpu.to_ne_bytes());
        } else {
            put(&mut attr, 8, &(packet.len() as u32).to_ne_bytes());
            put(&mut attr, 16, &(packet.as_ptr() as u64).to_ne_bytes());
            put(&mut attr, 32, &1u32.to_ne_bytes());
        }
        bpf(BPF_PROG_TEST_RUN, &mut attr).map(|_| ())
    }
}

fn load(prog_type: u32, (code, spin): (Vec<u64>, u32)) -> io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let license = b"GPL\0";
    let btf = load_btf()?;
    let func_info: [u32; 4] = [0, 3, spin, 5];
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = [0u8; 128];
    put(&mut attr, 0, &prog_type.to_ne_bytes());
    put(&mut attr, 4, &(code.len() as u32).to_ne_bytes());
    put(&mut attr, 8, &(code.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 16, &(license.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 24, &1u32.to_ne_bytes());
    put(&mut attr, 28, &(log.len() as u32).to_ne_bytes());
    put(&mut attr, 32, &(log.as_mut_ptr() as u64).to_ne_bytes());
    put(&mut attr, 72, &(btf.as_raw_fd() as u32).to_ne_bytes());
    put(&mut attr, 76, &8u32.to_ne_bytes());
    put(&mut attr, 80, &(func_info.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 88, &2u32.to_ne_bytes());
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: a successful BPF_PROG_LOAD returns a new file descriptor we own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(error) => {
            let text = String::from_utf8_lossy(&log);
            Err(io::Error::new(error.kind(), format!("{error}: {}", text.trim_end_matches('\0'))))
        }
    }
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET stays inside it; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0, "pin to {cpu}");
    }
}

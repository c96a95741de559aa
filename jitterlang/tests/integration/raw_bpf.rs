//! Raw `bpf(2)` calls for the test programs the object writer cannot express: `bpf_loop` and `bpf_timer`
//! callbacks need BTF function info, a map holding a `struct bpf_timer` needs BTF for its value. Also pins the
//! calling thread to a CPU, which test runs on "this CPU" need.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub(crate) const BPF_MAP_CREATE: libc::c_long = 0;
pub(crate) const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_BTF_LOAD: libc::c_long = 18;
const BPF_F_TEST_RUN_ON_CPU: u32 = 1;

/// BTF kinds used by the tests' type sections.
pub(crate) const KIND_INT: u32 = 1;
pub(crate) const KIND_PTR: u32 = 2;
pub(crate) const KIND_STRUCT: u32 = 4;
pub(crate) const KIND_FUNC: u32 = 12;
pub(crate) const KIND_FUNC_PROTO: u32 = 13;

/// A BTF blob: the header, then `types` (as `u32` words) and `strings` (starting with the empty name).
pub(crate) fn btf(types: &[u32], strings: &[u8]) -> Vec<u8> {
    let types: Vec<u8> = types.iter().flat_map(|word| word.to_ne_bytes()).collect();
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

/// `BPF_BTF_LOAD`, with the kernel's log in the error.
pub(crate) fn load_btf(btf: &[u8]) -> io::Result<OwnedFd> {
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = [0u8; 128];
    put(&mut attr, 0, &(btf.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 8, &(log.as_mut_ptr() as u64).to_ne_bytes());
    put(&mut attr, 16, &(btf.len() as u32).to_ne_bytes());
    put(&mut attr, 20, &(log.len() as u32).to_ne_bytes());
    put(&mut attr, 24, &1u32.to_ne_bytes());
    bpf_fd(BPF_BTF_LOAD, &mut attr).map_err(|error| with_log("BTF", error, &log))
}

/// `BPF_PROG_LOAD` of `code` (encoded instructions) with BTF function info (`[insn_off, type_id]` per
/// function), with the verifier's log in the error.
pub(crate) fn load_program(prog_type: u32, code: &[u8], func_info: &[[u32; 2]], btf: &OwnedFd) -> io::Result<OwnedFd> {
    let license = b"GPL\0";
    let mut log = vec![0u8; 256 * 1024];
    let mut attr = [0u8; 128];
    put(&mut attr, 0, &prog_type.to_ne_bytes());
    put(&mut attr, 4, &(code.len() as u32 / 8).to_ne_bytes());
    put(&mut attr, 8, &(code.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 16, &(license.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 24, &1u32.to_ne_bytes());
    put(&mut attr, 28, &(log.len() as u32).to_ne_bytes());
    put(&mut attr, 32, &(log.as_mut_ptr() as u64).to_ne_bytes());
    put(&mut attr, 72, &(btf.as_raw_fd() as u32).to_ne_bytes());
    put(&mut attr, 76, &8u32.to_ne_bytes());
    put(&mut attr, 80, &(func_info.as_ptr() as u64).to_ne_bytes());
    put(&mut attr, 88, &(func_info.len() as u32).to_ne_bytes());
    bpf_fd(BPF_PROG_LOAD, &mut attr).map_err(|error| with_log("program", error, &log))
}

/// `BPF_PROG_TEST_RUN` once: with `packet` as data on the current CPU, or with no data on `cpu`
/// (`BPF_F_TEST_RUN_ON_CPU`, raw tracepoint programs).
pub(crate) fn test_run(program: &OwnedFd, packet: &[u8], cpu: Option<u32>) -> io::Result<()> {
    let mut attr = [0u8; 128];
    put(&mut attr, 0, &(program.as_raw_fd() as u32).to_ne_bytes());
    match cpu {
        Some(cpu) => {
            put(&mut attr, 64, &BPF_F_TEST_RUN_ON_CPU.to_ne_bytes());
            put(&mut attr, 68, &cpu.to_ne_bytes());
        }
        None => {
            put(&mut attr, 8, &(packet.len() as u32).to_ne_bytes());
            put(&mut attr, 16, &(packet.as_ptr() as u64).to_ne_bytes());
            put(&mut attr, 32, &1u32.to_ne_bytes());
        }
    }
    bpf(BPF_PROG_TEST_RUN, &mut attr).map(drop)
}

/// `bpf(command, attr)`; `attr` is a zeroed `union bpf_attr` whose pointers point into buffers that live across
/// the call.
pub(crate) fn bpf(command: libc::c_long, attr: &mut [u8; 128]) -> io::Result<i64> {
    // SAFETY: attr is a bpf_attr-sized buffer that outlives the call; the pointers in it are valid (see above).
    let result = unsafe { libc::syscall(libc::SYS_bpf, command, attr.as_mut_ptr(), attr.len()) };
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// [`bpf`] for a command that returns a new file descriptor (`BPF_BTF_LOAD`, `BPF_MAP_CREATE`, `BPF_PROG_LOAD`).
pub(crate) fn bpf_fd(command: libc::c_long, attr: &mut [u8; 128]) -> io::Result<OwnedFd> {
    // SAFETY: a successful call of these commands returns a new file descriptor we own.
    bpf(command, attr).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Writes `bytes` into `attr` at `offset`.
pub(crate) fn put(attr: &mut [u8; 128], offset: usize, bytes: &[u8]) {
    attr[offset..offset + bytes.len()].copy_from_slice(bytes);
}

fn with_log(what: &str, error: io::Error, log: &[u8]) -> io::Error {
    let text = String::from_utf8_lossy(log);
    io::Error::new(error.kind(), format!("{what}: {error}: {}", text.trim_end_matches('\0')))
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

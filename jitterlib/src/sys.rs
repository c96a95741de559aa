//! The few raw `bpf(2)` commands aya 0.14 does not expose in an untyped form: element access on maps whose
//! key and value sizes are only known at run time, `BPF_PROG_TEST_RUN`, a program's miss counter, the
//! test load that tells whether the kernel accepts fentry programs, and the load of a syscall program (a type
//! aya 0.14 does not know).

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;
const BPF_MAP_LOOKUP_AND_DELETE_BATCH: libc::c_long = 25;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_FENTRY: u32 = 24;
const BPF_PROG_TYPE_SYSCALL: u32 = 31;
/// `BPF_F_SLEEPABLE`: the kernel loads syscall programs only as sleepable ones.
const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `r0 = 0; exit`: the smallest valid program.
const RETURN_ZERO: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
/// Bytes of `struct bpf_prog_info` asked for: up to and including `recursion_misses` (Linux 5.12).
const PROG_INFO_LEN: usize = 216;
/// Offset of `__u64 recursion_misses` in `struct bpf_prog_info`.
const PROG_INFO_RECURSION_MISSES: usize = 208;
#[cfg(test)]
const BPF_PROG_GET_NEXT_ID: libc::c_long = 11;

/// The map element part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value_or_next_key: u64,
    flags: u64,
}

/// The `batch` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// The `test` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// The `info` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// The `BPF_PROG_LOAD` part of `union bpf_attr`, up to `attach_btf_id` and the fd after it.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    attach_btf_obj_fd: u32,
    _pad: u32,
}

/// The id-walking part of `union bpf_attr`.
#[cfg(test)]
#[repr(C)]
#[derive(Default)]
struct NextIdAttr {
    start_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, properly sized `#[repr(C)]` prefix of `union bpf_attr` for `cmd`; every
    // pointer inside it was taken from a live buffer of the size announced next to it.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, size_of::<T>()) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn is_not_found(error: &io::Error) -> bool {
    error.raw_os_error() == Some(libc::ENOENT)
}

fn map_attr(map: BorrowedFd, key: Option<&[u8]>, value: u64, flags: u64) -> MapElemAttr {
    MapElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: key.map_or(0, |k| k.as_ptr() as u64),
        value_or_next_key: value,
        flags,
        ..MapElemAttr::default()
    }
}

/// Reads the value stored under `key` into `value`; false when there is no such key.
pub(crate) fn map_lookup(map: BorrowedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut attr = map_attr(map, Some(key), value.as_mut_ptr() as u64, 0);
    match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Stores `value` under `key` (`BPF_ANY`).
#[cfg(test)]
pub(crate) fn map_update(map: BorrowedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    let mut attr = map_attr(map, Some(key), value.as_ptr() as u64, 0);
    bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
}

/// Stores `value` under `key` only if the key exists (`BPF_EXIST`); a key that is gone stays gone.
pub(crate) fn map_overwrite(map: BorrowedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    const BPF_EXIST: u64 = 2;
    let mut attr = map_attr(map, Some(key), value.as_ptr() as u64, BPF_EXIST);
    match bpf(BPF_MAP_UPDATE_ELEM, &mut attr) {
        Err(e) if !is_not_found(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Deletes `key`; a key that is already gone is not an error.
pub(crate) fn map_delete(map: BorrowedFd, key: &[u8]) -> io::Result<()> {
    let mut attr = map_attr(map, Some(key), 0, 0);
    match bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
        Err(e) if !is_not_found(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Writes the key after `key` (the first key when `None`) into `next`; false at the end of the map.
pub(crate) fn map_next_key(map: BorrowedFd, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut attr = map_attr(map, key, next.as_mut_ptr() as u64, 0);
    match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Where a batched read of a hash map goes on from: the kernel's bucket index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchPosition {
    /// Nothing read yet.
    Start,
    /// The next call reads from this bucket.
    Bucket(u32),
    /// Every bucket was read.
    End,
}

/// What a batch operation does with the entries it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchRead {
    /// Leaves them in the map (`BPF_MAP_LOOKUP_BATCH`).
    Keep,
    /// Deletes them (`BPF_MAP_LOOKUP_AND_DELETE_BATCH`).
    Delete,
}

/// Reads the entries of a hash map from `position` with `BPF_MAP_LOOKUP_BATCH` or, to delete them as well,
/// `BPF_MAP_LOOKUP_AND_DELETE_BATCH` (both Linux 5.6): at most `keys.len() / key_size` of them, keys into `keys`
/// and values (one `value_size` slot each) into `values`. Returns how many it read and where to go on. A bucket
/// with more entries than fit is `ENOSPC` (read with larger buffers); a kernel without batch operations returns
/// `EINVAL`.
pub(crate) fn map_lookup_batch(
    map: BorrowedFd,
    read: BatchRead,
    position: BatchPosition,
    key_size: usize,
    keys: &mut [u8],
    values: &mut [u8],
) -> io::Result<(usize, BatchPosition)> {
    let mut in_bucket = match position {
        BatchPosition::Start => None,
        BatchPosition::Bucket(bucket) => Some(bucket),
        BatchPosition::End => return Ok((0, BatchPosition::End)),
    };
    let mut out_bucket = 0u32;
    let mut attr = BatchAttr {
        in_batch: in_bucket.as_mut().map_or(0, |bucket| bucket as *mut u32 as u64),
        out_batch: &mut out_bucket as *mut u32 as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count: (keys.len() / key_size.max(1)) as u32,
        map_fd: map.as_raw_fd() as u32,
        ..BatchAttr::default()
    };
    let command = match read {
        BatchRead::Keep => BPF_MAP_LOOKUP_BATCH,
        BatchRead::Delete => BPF_MAP_LOOKUP_AND_DELETE_BATCH,
    };
    match bpf(command, &mut attr) {
        Ok(_) => Ok((attr.count as usize, BatchPosition::Bucket(out_bucket))),
        // The last batch: whatever it read is in the buffers.
        Err(e) if is_not_found(&e) => Ok((attr.count as usize, BatchPosition::End)),
        Err(e) => Err(e),
    }
}

/// Runs a program once with `ctx` as its context and returns its return value. A syscall program's writes to
/// its context come back in `ctx`.
pub(crate) fn prog_test_run(program: BorrowedFd, ctx: &mut [u8]) -> io::Result<u32> {
    let mut attr = TestRunAttr {
        prog_fd: program.as_raw_fd() as u32,
        ctx_size_in: ctx.len() as u32,
        ctx_in: ctx.as_mut_ptr() as u64,
        ..TestRunAttr::default()
    };
    bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    Ok(attr.retval)
}

/// Runs an XDP `program` `repeat` times on a minimal packet (an Ethernet header of zeros: the kernel refuses
/// less) and returns its last return value and the mean time of one run in nanoseconds, as the kernel measured it.
pub(crate) fn prog_test_run_repeated(program: BorrowedFd, repeat: u32) -> io::Result<(u32, u32)> {
    let mut packet = [0u8; ETH_HLEN];
    let mut attr = TestRunAttr {
        prog_fd: program.as_raw_fd() as u32,
        data_size_in: packet.len() as u32,
        data_in: packet.as_mut_ptr() as u64,
        repeat,
        ..TestRunAttr::default()
    };
    bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    Ok((attr.retval, attr.duration))
}

/// The size of an Ethernet header, the least data an XDP test run takes.
const ETH_HLEN: usize = 14;

/// How many times the kernel skipped `program` because another BPF program was already running on that CPU
/// (`bpf_prog_info.recursion_misses`; 0 on kernels before 5.12, which do not count them).
pub(crate) fn prog_recursion_misses(program: BorrowedFd) -> io::Result<u64> {
    let mut info = [0u8; PROG_INFO_LEN];
    let mut attr =
        InfoAttr { bpf_fd: program.as_raw_fd() as u32, info_len: PROG_INFO_LEN as u32, info: info.as_mut_ptr() as u64 };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    let filled = (attr.info_len as usize).min(PROG_INFO_LEN);
    let misses =
        info.get(PROG_INFO_RECURSION_MISSES..PROG_INFO_RECURSION_MISSES + 8).filter(|_| filled >= PROG_INFO_LEN);
    Ok(misses.map_or(0, |bytes| u64::from_ne_bytes(bytes.try_into().unwrap_or_default())))
}

/// Loads a do-nothing fentry program on the kernel function of BTF id `function` (in vmlinux) and unloads it
/// at once: whether the kernel accepts fentry programs at all.
pub(crate) fn fentry_test_load(function: u32) -> io::Result<()> {
    let attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_TRACING,
        expected_attach_type: BPF_TRACE_FENTRY,
        attach_btf_id: function,
        ..ProgLoadAttr::default()
    };
    prog_load(attr, &RETURN_ZERO).map(drop)
}

/// Loads `insns` (encoded instructions, 8 bytes each) as a sleepable `BPF_PROG_TYPE_SYSCALL` program
/// (Linux 5.14), to be run with [`prog_test_run`].
pub(crate) fn syscall_program_load(insns: &[u8]) -> io::Result<OwnedFd> {
    let attr =
        ProgLoadAttr { prog_type: BPF_PROG_TYPE_SYSCALL, prog_flags: BPF_F_SLEEPABLE, ..ProgLoadAttr::default() };
    prog_load(attr, insns)
}

/// `BPF_PROG_LOAD` of `insns` (encoded, 8 bytes each) under the GPL, with the type and attach fields of
/// `attr`.
fn prog_load(mut attr: ProgLoadAttr, insns: &[u8]) -> io::Result<OwnedFd> {
    let license = b"GPL\0";
    attr.insn_cnt = (insns.len() / 8) as u32;
    attr.insns = insns.as_ptr() as u64;
    attr.license = license.as_ptr() as u64;
    let fd = bpf(BPF_PROG_LOAD, &mut attr)?;
    // SAFETY: a successful BPF_PROG_LOAD returns a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The id of the loaded program after `start` (kernel-wide), or `None` after the last one.
#[cfg(test)]
pub(crate) fn prog_next_id(start: u32) -> io::Result<Option<u32>> {
    let mut attr = NextIdAttr { start_id: start, ..NextIdAttr::default() };
    match bpf(BPF_PROG_GET_NEXT_ID, &mut attr) {
        Ok(_) => Ok(Some(attr.next_id)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

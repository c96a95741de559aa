//! Uprobes that count a USDT probe's semaphore: the uprobe PMU takes the semaphore's file offset
//! (`ref_ctr_offset`, Linux 4.20) and the kernel then increments it in every process that maps the binary, now
//! or later, while the probe is attached, and decrements it when the probe goes, as libbpf asks it to. A program
//! that tests the semaphore (`if (PROVIDER_NAME_ENABLED())`) then reaches its probe. aya 0.14 cannot pass the
//! offset, so jl opens the perf event itself and hands it the loaded program.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use aya_obj::generated::{perf_event_attr, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, PERF_FLAG_FD_CLOEXEC};

use super::attach::attach_failure;
use super::{Attach, SessionError};

/// The uprobe PMU's type number.
const UPROBE_TYPE: &str = "/sys/bus/event_source/devices/uprobe/type";
/// Where the uprobe PMU's config holds the semaphore's offset (its `format/ref_ctr_offset`: `config:32-63`).
const REF_CTR_OFFSET_SHIFT: u32 = 32;

/// Attaches the loaded uprobe `program` at file offset `offset` of `binary`, with the kernel counting the
/// semaphore at file offset `semaphore` while it is attached; closing the returned descriptor detaches it.
pub(super) fn attach(
    program: BorrowedFd<'_>,
    name: &str,
    attach: &Attach,
    (binary, offset, semaphore): (&str, u64, u64),
) -> Result<OwnedFd, SessionError> {
    let fail = |reason: String| {
        attach_failure(
            name,
            attach,
            reason,
            "semaphores need the uprobe PMU's ref_ctr_offset (Linux 4.20, /sys/bus/event_source/devices/uprobe)",
        )
    };
    open(program, binary, offset, semaphore)
        .map_err(|error| fail(format!("the kernel cannot probe {binary} counting its USDT semaphore: {error}")))
}

fn open(program: BorrowedFd<'_>, binary: &str, offset: u64, semaphore: u64) -> io::Result<OwnedFd> {
    let pmu_type: u32 = std::fs::read_to_string(UPROBE_TYPE)?
        .trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{UPROBE_TYPE} holds no number")))?;
    let path = CString::new(binary).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
    // SAFETY: perf_event_attr is plain data, for which all zeroes is valid (and means "not set").
    let mut attr: perf_event_attr = unsafe { std::mem::zeroed() };
    attr.type_ = pmu_type;
    attr.size = std::mem::size_of::<perf_event_attr>() as u32;
    attr.config = semaphore << REF_CTR_OFFSET_SHIFT;
    attr.__bindgen_anon_1.sample_period = 1;
    attr.__bindgen_anon_2.wakeup_events = 1;
    attr.__bindgen_anon_3.uprobe_path = path.as_ptr() as u64;
    attr.__bindgen_anon_4.probe_offset = offset;
    // Every process (pid -1), so the kernel wants one CPU: a trace event's program runs on every CPU anyway.
    // SAFETY: `attr` and `path` outlive the call; the kernel copies both.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, &attr as *const perf_event_attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
    let event = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    ioctl(&event, PERF_EVENT_IOC_SET_BPF, program.as_raw_fd())?;
    ioctl(&event, PERF_EVENT_IOC_ENABLE, 0)?;
    Ok(event)
}

fn ioctl(event: &OwnedFd, request: u32, argument: i32) -> io::Result<()> {
    // SAFETY: both requests take an integer argument.
    match unsafe { libc::ioctl(event.as_raw_fd(), request as libc::c_ulong, argument) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

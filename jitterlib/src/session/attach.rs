//! Loading and attaching one program according to its [`Attach`] point, and turning kernel refusals into
//! errors that say which feature is missing and what to use instead.

use std::io;
use std::path::Path;

use aya::maps::{Map, ProgramArray};
use aya::programs::perf_event::{PerfEventScope, SamplePolicy};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeScope};
use aya::programs::{Program, ProgramError, ProgramFd};
use aya::Btf;

use super::{Attach, SessionError};
use crate::kernel::{is_root, kprobes_present};

/// Where tracefs may be mounted, newest location first.
const TRACEFS_MOUNTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// Kernel BTF, parsed the first time a program needs it (fentry, fexit, tp_btf).
#[derive(Default)]
pub(super) struct KernelBtf(Option<Btf>);

impl KernelBtf {
    fn get(&mut self) -> Result<&Btf, SessionError> {
        match &mut self.0 {
            Some(btf) => Ok(btf),
            slot => {
                let btf = Btf::from_sys_fs().map_err(|source| SessionError::Btf { source: Box::new(source) })?;
                Ok(slot.insert(btf))
            }
        }
    }
}

/// Loads `program` into the kernel as the type its attach point needs.
pub(super) fn load(
    program: &mut Program,
    name: &str,
    attach: &Attach,
    btf: &mut KernelBtf,
) -> Result<(), SessionError> {
    let result = match (attach, program) {
        (Attach::Tracepoint { .. }, Program::TracePoint(p)) => p.load(),
        (Attach::RawTracepoint { .. } | Attach::TailCall { .. } | Attach::Manual, Program::RawTracePoint(p)) => {
            p.load()
        }
        (Attach::Kprobe { .. } | Attach::Kretprobe { .. }, Program::KProbe(p)) => p.load(),
        (Attach::Fentry { function }, Program::FEntry(p)) => p.load(function, btf.get()?),
        (Attach::Fexit { function }, Program::FExit(p)) => p.load(function, btf.get()?),
        (Attach::TpBtf { name }, Program::BtfTracePoint(p)) => p.load(name, btf.get()?),
        (Attach::Uprobe { .. }, Program::UProbe(p)) => p.load(),
        (Attach::Perf { .. }, Program::PerfEvent(p)) => p.load(),
        (Attach::Benchmark { .. }, Program::Xdp(p)) => p.load(),
        _ => return Err(SessionError::WrongProgramType { program: name.to_string(), target: attach.target() }),
    };
    result.map_err(|error| load_error(name, attach, error))
}

/// Detaches and unloads `program` in place (the kinds sessions load; others are left to their `Drop`). A
/// failure leaves the program's fds to be closed when it is dropped just after, which detaches it as well.
pub(super) fn unload(program: &mut Program) {
    let _unloaded = match program {
        Program::TracePoint(p) => p.unload(),
        Program::RawTracePoint(p) => p.unload(),
        Program::KProbe(p) => p.unload(),
        Program::UProbe(p) => p.unload(),
        Program::FEntry(p) => p.unload(),
        Program::FExit(p) => p.unload(),
        Program::BtfTracePoint(p) => p.unload(),
        Program::PerfEvent(p) => p.unload(),
        _ => Ok(()),
    };
}

/// Attaches an already loaded `program`; its links stay inside it and are detached when it is dropped.
pub(super) fn attach(program: &mut Program, name: &str, attach: &Attach) -> Result<(), SessionError> {
    let result = match (attach, program) {
        (Attach::Tracepoint { category, name }, Program::TracePoint(p)) => p.attach(category, name).map(drop),
        (Attach::RawTracepoint { name }, Program::RawTracePoint(p)) => p.attach(name).map(drop),
        (Attach::Kprobe { function } | Attach::Kretprobe { function }, Program::KProbe(p)) => {
            p.attach(function, 0).map(drop)
        }
        (Attach::Uprobe { binary, offset, .. }, Program::UProbe(p)) => {
            p.attach(UProbeAttachLocation::AbsoluteOffset(*offset), binary, UProbeScope::AllProcesses).map(drop)
        }
        (Attach::Fentry { .. }, Program::FEntry(p)) => p.attach().map(drop),
        (Attach::Fexit { .. }, Program::FExit(p)) => p.attach().map(drop),
        (Attach::TpBtf { .. }, Program::BtfTracePoint(p)) => p.attach().map(drop),
        (Attach::Perf { counter, period, cpu }, Program::PerfEvent(p)) => {
            let cpus = match cpu {
                Some(cpu) => vec![*cpu],
                None => aya::util::online_cpus().map_err(|(_, source)| SessionError::Syscall {
                    what: "reading /sys/devices/system/cpu/online",
                    source,
                })?,
            };
            cpus.into_iter().try_for_each(|cpu| {
                p.attach(
                    counter.perf_config(),
                    PerfEventScope::AllProcessesOneCpu { cpu },
                    SamplePolicy::Period(*period),
                    false,
                )
                .map(drop)
            })
        }
        (Attach::Manual | Attach::Benchmark { .. }, _) => {
            return Err(SessionError::WrongMode {
                program: name.to_string(),
                actual: attach.mode(),
                expected: "attachable",
            })
        }
        _ => return Err(SessionError::WrongProgramType { program: name.to_string(), target: attach.target() }),
    };
    result.map_err(|error| attach_error(name, attach, error))
}

/// A duplicate of the descriptor of the loaded `program` (named `name`, to go to `attach`).
pub(super) fn program_fd(program: &Program, name: &str, attach: &Attach) -> Result<ProgramFd, SessionError> {
    program
        .fd()
        .and_then(|fd| fd.try_clone().map_err(ProgramError::from))
        .map_err(|error| attach_error(name, attach, error))
}

/// Puts the program of descriptor `fd` (named `name`, reached as `attach` says) in slot `slot` of the program
/// array `map`, where its dispatcher's tail calls find it.
pub(super) fn put_in_slot(
    map: &mut Map,
    slot: u32,
    fd: &ProgramFd,
    name: &str,
    attach: &Attach,
) -> Result<(), SessionError> {
    let refused = |reason: String| {
        attach_failure(name, attach, reason, "a dispatcher's programs must all be raw tracepoint programs")
    };
    let mut array = ProgramArray::try_from(map).map_err(|error| refused(error.to_string()))?;
    array.set(slot, fd, 0).map_err(|error| refused(format!("the kernel refused the program in the slot: {error}")))
}

/// The first `io::Error` in an error's cause chain: the kernel's answer, whatever aya wrapped it in.
fn os_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e io::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

fn errno_of(error: &ProgramError) -> Option<i32> {
    os_error(error).and_then(io::Error::raw_os_error)
}

fn is_permission_error(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::EPERM | libc::EACCES))
}

pub(super) fn attach_failure(
    name: &str,
    attach: &Attach,
    reason: impl Into<String>,
    hint: impl Into<String>,
) -> SessionError {
    SessionError::Attach {
        program: name.to_string(),
        target: attach.target(),
        reason: reason.into(),
        hint: hint.into(),
    }
}

fn load_error(name: &str, attach: &Attach, error: ProgramError) -> SessionError {
    let errno = errno_of(&error);
    let is_trampoline = matches!(attach, Attach::Fentry { .. } | Attach::Fexit { .. });
    if is_trampoline && errno == Some(libc::EPERM) && is_root() {
        return trampolines_refused(name, attach);
    }
    if errno == Some(libc::EPERM) && !is_root() {
        return SessionError::Permission { action: "loading", program: name.to_string() };
    }
    match error {
        ProgramError::LoadError { verifier_log, .. } if !verifier_log.to_string().trim().is_empty() => {
            SessionError::Verifier { program: name.to_string(), log: verifier_log.to_string() }
        }
        ProgramError::Btf(_) => match attach {
            Attach::Fentry { function } | Attach::Fexit { function } => attach_failure(
                name,
                attach,
                format!("the kernel's BTF has no function `{function}`"),
                "check the name with `bpftool btf dump file /sys/kernel/btf/vmlinux | grep FUNC`",
            ),
            _ => attach_failure(
                name,
                attach,
                "the kernel's BTF has no such tracepoint",
                "list them with `jl -l 'tp_btf:*'`",
            ),
        },
        error => SessionError::Load { program: name.to_string(), source: Box::new(error) },
    }
}

/// fentry/fexit refused although we are root: say whether kprobes can stand in.
fn trampolines_refused(name: &str, attach: &Attach) -> SessionError {
    let (Attach::Fentry { function } | Attach::Fexit { function }) = attach else {
        return attach_failure(name, attach, "the kernel refused the program (EPERM)", "check the attach point");
    };
    let kprobe = match attach {
        Attach::Fexit { .. } => "kretprobe",
        _ => "kprobe",
    };
    if kprobes_present() {
        return attach_failure(
            name,
            attach,
            "fentry/fexit programs are refused on this kernel (EPERM)",
            format!("use `{kprobe}:{function}` instead"),
        );
    }
    attach_failure(
        name,
        attach,
        "fentry/fexit programs are refused on this kernel (EPERM) and it has no kprobes either \
         (no kprobe_events in tracefs), so no mechanism can probe a kernel function here",
        "use a tracepoint (`jl -l 'tracepoint:*'`), a raw tracepoint (`rawtracepoint:NAME`) or `tp_btf:NAME` \
         near the function instead",
    )
}

fn tracefs() -> Option<&'static Path> {
    TRACEFS_MOUNTS.iter().map(Path::new).find(|p| p.join("events").is_dir())
}

pub(super) fn attach_error(name: &str, attach: &Attach, error: ProgramError) -> SessionError {
    let errno = errno_of(&error);
    if is_permission_error(errno) && !is_root() {
        return SessionError::Permission { action: "attaching", program: name.to_string() };
    }
    let detail = match os_error(&error) {
        Some(os) => format!("{error} ({os})"),
        None => error.to_string(),
    };
    match attach {
        Attach::Kprobe { .. } | Attach::Kretprobe { .. } if !kprobes_present() => attach_failure(
            name,
            attach,
            "kprobes are not available on this kernel (no kprobe_events in tracefs, no kprobe PMU)",
            "try `fentry:`/`fexit:` (or `kfunc:`, which picks what works), a tracepoint or `rawtracepoint:NAME`",
        ),
        Attach::Kprobe { function } | Attach::Kretprobe { function } => attach_failure(
            name,
            attach,
            format!("the kernel cannot probe `{function}`: {detail}"),
            "check /proc/kallsyms; inlined and notrace functions cannot be probed",
        ),
        Attach::Uprobe { binary, symbol, .. } => attach_failure(
            name,
            attach,
            format!("the kernel cannot probe `{symbol}` in {binary}: {detail}"),
            "uprobes need CONFIG_UPROBE_EVENTS (/sys/bus/event_source/devices/uprobe) and a file the kernel can \
             read",
        ),
        Attach::Tracepoint { .. } if tracefs().is_none() => attach_failure(
            name,
            attach,
            "tracefs is not mounted",
            "mount it with `mount -t tracefs nodev /sys/kernel/tracing`",
        ),
        Attach::Tracepoint { category, name: event } if errno == Some(libc::ENOENT) => attach_failure(
            name,
            attach,
            format!("this kernel has no tracepoint `{category}:{event}`"),
            format!("list them with `jl -l 'tracepoint:{category}:*'`"),
        ),
        Attach::RawTracepoint { name: event } if errno == Some(libc::ENOENT) => attach_failure(
            name,
            attach,
            format!("this kernel has no raw tracepoint `{event}`"),
            "list them with `jl -l 'rawtracepoint:*'`",
        ),
        Attach::Perf { counter, .. } if is_permission_error(errno) => attach_failure(
            name,
            attach,
            format!("the kernel refused the {} perf event: {detail}", counter.name()),
            "lower kernel.perf_event_paranoid or grant CAP_PERFMON",
        ),
        Attach::Perf { counter, .. }
            if counter.is_hardware() && matches!(errno, Some(libc::ENOENT | libc::EOPNOTSUPP)) =>
        {
            attach_failure(
                name,
                attach,
                format!("this machine's CPU does not count `{}`: {detail}", counter.name()),
                "virtual machines often have no performance monitoring unit (see `perf list hw`); `software:` \
                 counters and `profile:hz:N` work everywhere",
            )
        }
        _ => attach_failure(name, attach, detail, "check that the kernel supports this attach point"),
    }
}

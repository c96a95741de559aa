//! Waiting, after detaching, for the program runs already in progress on other CPUs, so that a final read of
//! the maps sees every update of every run that started before the detach.
//!
//! Closing a perf-event tracepoint or a kprobe waits for the runs in progress itself (it takes tens of
//! milliseconds for that). Closing a raw tracepoint, tp_btf or fentry/fexit link does not: the kernel unhooks
//! the program and frees it in an RCU callback, and `close()` returns while a run that began just before may
//! still be updating maps on another CPU (seen finishing up to 2.9 ms later).
//!
//! Before Linux 7.0 a raw tracepoint's or tp_btf's program runs with preemption disabled from start to end
//! (tracepoints call their probes so, and `__bpf_trace_run` asserts it with `cant_sleep()`), so a CPU that
//! switches to another task has finished the run it was in. A thread that visits every online CPU in turn (`sched_setaffinity` returns once the
//! thread runs on the CPU asked for) has therefore seen each of them finish its runs in progress: that is the
//! wait for those programs, tens of microseconds per CPU where `synchronize_rcu()` takes milliseconds.
//!
//! Trampolines (fentry/fexit) run their program under `rcu_read_lock()` with migration, not preemption,
//! disabled: a run may be preempted, and the CPU visited while it is pending. From Linux 7.0 tracepoints call
//! their probes under SRCU-fast and `__bpf_trace_run` disables migration only: raw tracepoint programs may be
//! preempted too (on preemptible kernels). For those, and wherever a CPU
//! cannot be visited (a cpuset that excludes it, a CPU going offline), `membarrier(MEMBARRIER_CMD_GLOBAL)`,
//! which is `synchronize_rcu()`, waits for every such section that started before it (4-11 ms here).
//! Kernels built with `nohz_full` refuse that call (EINVAL), and kernels without `CONFIG_MEMBARRIER` lack it
//! (ENOSYS): there, a pause of [`FALLBACK_PAUSE`], far longer than any program runs, stands in.
//!
//! With the start/stop gate ([`crate::maps::Gate`]) closed before the first close, this also makes the window
//! one for all programs: every run that found the gate open began before its program was closed, so it has
//! ended once each close (perf events, kprobes) or this wait (the others) has returned.
//!
//! <https://elixir.bootlin.com/linux/v6.18/source/kernel/trace/bpf_trace.c> (`__bpf_trace_run`),
//! <https://elixir.bootlin.com/linux/v6.18/source/kernel/bpf/trampoline.c> (`__bpf_prog_enter_recur`),
//! <https://elixir.bootlin.com/linux/v7.0/source/include/linux/tracepoint.h> (`__DECLARE_TRACE`, SRCU-fast),
//! <https://elixir.bootlin.com/linux/v6.1/source/kernel/sched/membarrier.c> (`MEMBARRIER_CMD_GLOBAL`).

use std::time::Duration;

use super::Attach;
use crate::kernel::KernelVersion;

/// The first release whose tracepoints may preempt the BPF programs they run (commit "tracing: Guard
/// __DECLARE_TRACE() use of __DO_TRACE_CALL() with SRCU-fast").
const PREEMPTIBLE_TRACEPOINTS_SINCE: (u32, u32) = (7, 0);

/// The pause that stands in for `synchronize_rcu()` where membarrier cannot be used.
pub(super) const FALLBACK_PAUSE: Duration = Duration::from_millis(20);

/// What detaching a set of programs must wait for after the last close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    /// Nothing: every close waited for its runs in progress.
    Nothing,
    /// Runs with preemption disabled (raw tracepoints, tp_btf before Linux 7.0): a visit to every CPU.
    NonPreemptibleRuns,
    /// Runs that may be preempted (trampolines; raw tracepoints from Linux 7.0): an RCU grace period.
    PreemptibleRuns,
}

impl Wait {
    /// The wait that detaching programs attached at `points` needs on kernel `version` (`None`: unknown).
    pub(super) fn for_points<'a>(
        points: impl IntoIterator<Item = &'a Attach>,
        version: Option<&KernelVersion>,
    ) -> Wait {
        let (major, minor) = PREEMPTIBLE_TRACEPOINTS_SINCE;
        let tracepoints_preempt = version.is_none_or(|version| version.at_least(major, minor));
        points.into_iter().fold(Wait::Nothing, |wait, attach| match attach {
            Attach::Fentry { .. } | Attach::Fexit { .. } => Wait::PreemptibleRuns,
            Attach::RawTracepoint { .. } | Attach::TpBtf { .. } if tracepoints_preempt => Wait::PreemptibleRuns,
            Attach::RawTracepoint { .. } | Attach::TpBtf { .. } if wait == Wait::Nothing => Wait::NonPreemptibleRuns,
            _ => wait,
        })
    }

    /// Returns once every program run of this kind that started before the call has ended.
    pub(super) fn wait(self) {
        match self {
            Wait::Nothing => {}
            Wait::NonPreemptibleRuns => {
                if !visit_every_cpu() {
                    grace_period();
                }
            }
            Wait::PreemptibleRuns => grace_period(),
        }
    }
}

/// The running kernel's version, from `uname`; `None` when it cannot be read.
pub(super) fn running_version() -> Option<KernelVersion> {
    // SAFETY: uname fills the zeroed utsname it is given; its release field is NUL-terminated.
    let release = unsafe {
        let mut names: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut names) != 0 {
            return None;
        }
        std::ffi::CStr::from_ptr(names.release.as_ptr()).to_string_lossy().into_owned()
    };
    KernelVersion::parse(&release)
}

/// Runs a thread on every online CPU in turn; `false` when one of them could not be visited.
fn visit_every_cpu() -> bool {
    let Ok(cpus) = aya::util::online_cpus() else {
        return false;
    };
    let visit = || {
        run_before_other_tasks();
        cpus.iter().all(|&cpu| run_on(cpu as usize))
    };
    std::thread::scope(|scope| scope.spawn(visit).join()).unwrap_or(false)
}

/// Makes the calling thread a real-time one where that is allowed (`CAP_SYS_NICE`), so that on a busy CPU
/// it runs as soon as the CPU can switch tasks, not after its turn among the tasks queued there (milliseconds
/// on a loaded machine). Without the privilege it waits its turn, which is as correct.
fn run_before_other_tasks() {
    let lowest_real_time = libc::sched_param { sched_priority: 1 };
    // SAFETY: pid 0 is the calling thread; the parameter is a valid sched_param that outlives the call.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &lowest_real_time) };
}

/// Moves the calling thread to `cpu`; `true` once it runs there.
fn run_on(cpu: usize) -> bool {
    if cpu >= libc::CPU_SETSIZE as usize {
        return false;
    }
    // SAFETY: the set is a zeroed cpu_set_t given one CPU below CPU_SETSIZE; pid 0 is the calling thread;
    // sched_getcpu takes nothing.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
            && libc::sched_getcpu() == cpu as i32
    }
}

/// `synchronize_rcu()` through membarrier, else [`FALLBACK_PAUSE`].
fn grace_period() {
    // SAFETY: membarrier takes no pointers; MEMBARRIER_CMD_GLOBAL with flags 0 only waits.
    let result = unsafe { libc::syscall(libc::SYS_membarrier, libc::MEMBARRIER_CMD_GLOBAL, 0, 0) };
    if result != 0 {
        std::thread::sleep(FALLBACK_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trampolines_and_srcu_fast_tracepoints_need_a_grace_period_older_raw_tracepoints_a_visit_to_every_cpu() {
        let raw = Attach::RawTracepoint { name: "sched_switch".into() };
        let tp_btf = Attach::TpBtf { name: "sched_switch".into() };
        let fentry = Attach::Fentry { function: "ip_rcv".into() };
        let perf = Attach::Tracepoint { category: "sched".into(), name: "sched_switch".into() };
        let (v6_18, v7_0) = (KernelVersion::parse("6.18.44").unwrap(), KernelVersion::parse("7.0.1").unwrap());
        assert_eq!(Wait::for_points([&perf, &Attach::Manual], Some(&v6_18)), Wait::Nothing);
        assert_eq!(Wait::for_points([&perf, &raw, &tp_btf], Some(&v6_18)), Wait::NonPreemptibleRuns);
        assert_eq!(Wait::for_points([&raw, &fentry, &tp_btf], Some(&v6_18)), Wait::PreemptibleRuns);
        assert_eq!(Wait::for_points([&perf, &raw], Some(&v7_0)), Wait::PreemptibleRuns, "SRCU-fast tracepoints");
        assert_eq!(Wait::for_points([&tp_btf], None), Wait::PreemptibleRuns, "an unknown kernel");
        assert!(running_version().is_some());
    }

    #[test]
    fn the_visiting_thread_runs_on_every_online_cpu_and_leaves_the_caller_where_it_was() {
        // SAFETY: a zeroed cpu_set_t is filled by sched_getaffinity for the calling thread.
        let affinity = || unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set), 0);
            (0..libc::CPU_SETSIZE as usize).filter(|&cpu| libc::CPU_ISSET(cpu, &set)).collect::<Vec<_>>()
        };
        let before = affinity();
        let online: Vec<usize> = aya::util::online_cpus().unwrap().into_iter().map(|cpu| cpu as usize).collect();
        let visited = visit_every_cpu();
        if online.iter().all(|cpu| before.contains(cpu)) {
            assert!(visited, "every online CPU ({online:?}) is allowed here, yet one was not visited");
        }
        assert_eq!(affinity(), before);
        assert!(!run_on(libc::CPU_SETSIZE as usize), "a CPU beyond the set size is refused");
    }
}

//! Waiting, after detaching, for the program runs already in progress on other CPUs, so that a final read of
//! the maps sees every update of every run that started before the detach.
//!
//! Closing a perf-event tracepoint or a kprobe waits for the runs in progress itself (it takes tens of
//! milliseconds for that). Closing a raw tracepoint, tp_btf or fentry/fexit link does not: the kernel unhooks
//! the program and frees it in an RCU callback, and `close()` returns while a run that began just before may
//! still be updating maps on another CPU (seen finishing up to 2.9 ms later). Those runs are RCU read-side
//! critical sections: a raw tracepoint's probe runs with preemption disabled and `__bpf_trace_run` holds
//! `rcu_read_lock()` around the program, and trampolines hold it as well. `membarrier(MEMBARRIER_CMD_GLOBAL)` is
//! `synchronize_rcu()`: it returns only after every such section that started before it has ended, so one call
//! after closing all links (4-11 ms here) covers every program at once.
//!
//! With the start/stop gate ([`crate::maps::Gate`]) closed before the first close, this also makes the window
//! one for all programs: every run that found the gate open began before its program was closed, so it has
//! ended once each close (perf events, kprobes) or this wait (the others) has returned.
//!
//! Kernels built with `nohz_full` refuse `MEMBARRIER_CMD_GLOBAL` (EINVAL), and kernels without
//! `CONFIG_MEMBARRIER` lack the call (ENOSYS): there, a pause of [`FALLBACK_PAUSE`], far longer than any program
//! runs, stands in.
//! <https://elixir.bootlin.com/linux/v6.1/source/kernel/sched/membarrier.c> (`MEMBARRIER_CMD_GLOBAL`),
//! <https://elixir.bootlin.com/linux/v6.1/source/kernel/trace/bpf_trace.c> (`__bpf_trace_run`).

use std::time::Duration;

use super::Attach;

/// The pause that stands in for `synchronize_rcu()` where membarrier cannot be used.
pub(super) const FALLBACK_PAUSE: Duration = Duration::from_millis(20);

/// Whether closing a program attached at `attach` returns before the runs in progress have ended.
pub(super) fn close_leaves_runs_in_progress(attach: &Attach) -> bool {
    matches!(attach, Attach::RawTracepoint { .. } | Attach::TpBtf { .. } | Attach::Fentry { .. } | Attach::Fexit { .. })
}

/// Returns once every program run that started before the call has ended.
pub(super) fn wait_for_runs_in_progress() {
    // SAFETY: membarrier takes no pointers; MEMBARRIER_CMD_GLOBAL with flags 0 only waits.
    let result = unsafe { libc::syscall(libc::SYS_membarrier, libc::MEMBARRIER_CMD_GLOBAL, 0, 0) };
    if result != 0 {
        std::thread::sleep(FALLBACK_PAUSE);
    }
}

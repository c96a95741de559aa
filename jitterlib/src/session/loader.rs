//! An aya loader that has not parsed the kernel's BTF.
//!
//! aya 0.14's `EbpfLoader::new()` always reads and parses `/sys/kernel/btf/vmlinux` (about 20 ms and a 15 MiB
//! memory peak on Linux 6.18: most of jl's start-up time and peak RSS), and its loader uses that BTF for one
//! thing only: CO-RE relocations, which the objects jitterlib writes never have (their offsets come from
//! jitterlib's own BTF reader, [`crate::kernel::Btf`]; fentry and tp_btf programs get the kernel's BTF when they
//! are loaded, from [`super::attach`]). aya has no constructor without the parse, so the loader is built on a
//! short-lived thread that Landlock forbids to read files: the parse fails at once there, and the loader holds
//! no BTF. Landlock restricts that thread only, and the thread ends with the loader built. On a kernel without
//! Landlock (before 5.13, or not in `lsm=`) the loader is built the usual way.
//!
//! [`prepare`] starts that thread early, and has it run aya's kernel feature probes first (a dozen `bpf()` calls
//! that the first load makes otherwise), so that both overlap the caller's compile (opening the kernel's BTF,
//! reading tracepoint formats) on another CPU instead of adding to the time to attached.

use std::sync::Mutex;
use std::thread::JoinHandle;

use aya::EbpfLoader;
use landlock::{AccessFs, Ruleset, RulesetAttr, RulesetStatus};

/// The loader [`prepare`] is building, taken by the first [`loader`] call.
static PREPARED: Mutex<Option<JoinHandle<Option<EbpfLoader<'static>>>>> = Mutex::new(None);

/// Starts building the next [`crate::session::Session::load`]'s loader, and probing the kernel's BPF features, on
/// a thread of its own; the load takes it from there. Without this call the load does both itself.
pub fn prepare() {
    let thread = std::thread::Builder::new().name("jl-loader".into()).spawn(|| {
        aya::features();
        build_without_file_reads()
    });
    if let (Ok(thread), Ok(mut slot)) = (thread, PREPARED.lock()) {
        *slot = Some(thread);
    }
}

/// A loader whose kernel BTF is `None` where Landlock allows it, else [`EbpfLoader::new`]'s: the one [`prepare`]
/// built, or one built now.
///
/// The kernel's features are probed here first when [`prepare`]'s thread has not begun to: on a busy machine a new
/// thread can wait milliseconds for a CPU, and the probes (about 0.3 ms) then run here instead of after that wait.
/// aya probes them once, whichever thread asks first; one that asks meanwhile waits for that answer.
pub(super) fn loader() -> EbpfLoader<'static> {
    aya::features();
    let prepared = PREPARED.lock().ok().and_then(|mut slot| slot.take());
    let built = match prepared {
        Some(thread) => thread.join().ok().flatten(),
        None => std::thread::scope(|scope| scope.spawn(build_without_file_reads).join()).ok().flatten(),
    };
    built.unwrap_or_else(EbpfLoader::new)
}

/// On the calling thread (to be a thread of its own): forbids reading files, then builds the loader. `None`
/// when Landlock could not be fully enforced, so the loader would have parsed the BTF after all.
fn build_without_file_reads() -> Option<EbpfLoader<'static>> {
    let status = Ruleset::default().handle_access(AccessFs::ReadFile).ok()?.create().ok()?.restrict_self().ok()?;
    (status.ruleset == RulesetStatus::FullyEnforced).then(EbpfLoader::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LANDLOCK_CREATE_RULESET_VERSION`: asks `landlock_create_ruleset` for the kernel's Landlock ABI version.
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_long = 1;

    #[test]
    fn the_loader_thread_cannot_read_files_and_the_caller_still_can() {
        // SAFETY: with a null attribute and size 0, this flag only queries the ABI version.
        let abi = unsafe {
            libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0, LANDLOCK_CREATE_RULESET_VERSION)
        };
        if abi < 1 {
            eprintln!(
                "SKIPPED: the_loader_thread_cannot_read_files: no Landlock on this kernel (the loader parses BTF)"
            );
            return;
        }
        let restricted = std::thread::spawn(|| {
            let loader = build_without_file_reads();
            (loader.is_some(), std::fs::read("/proc/self/status").is_err())
        });
        assert_eq!(restricted.join().unwrap(), (true, true), "(loader built, file reads refused) on the thread");
        std::fs::read("/proc/self/status").expect("the calling thread is not restricted");
        drop(loader());
    }

    #[test]
    fn a_prepared_loader_is_taken_once_and_leaves_the_caller_unrestricted() {
        prepare();
        drop(loader());
        assert!(PREPARED.lock().expect("not poisoned").is_none(), "the load took the prepared loader");
        std::fs::read("/proc/self/status").expect("the calling thread is not restricted");
        drop(loader());
    }
}

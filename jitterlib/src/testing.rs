//! The one rule for runtime tests (this crate's and jitterlang's): a test that needs the kernel runs, or says
//! loudly that it did not; and where the tests are required to run (as root, or with
//! `JL_REQUIRE_RUNTIME_TESTS=1`, which CI sets) a skipped test is a failure, never a silent pass.
//!
//! With `JL_SKIPPED_LOG=PATH` every skip is also appended to `PATH` (one `test: reason` line), so that
//! `tools/test-all --unprivileged` can list what did not run.

use std::fmt::Display;
use std::io::Write;

/// Whether runtime tests must run here: as root, or when `JL_REQUIRE_RUNTIME_TESTS=1`.
pub fn runtime_tests_required() -> bool {
    crate::kernel::is_root() || std::env::var_os("JL_REQUIRE_RUNTIME_TESTS").is_some_and(|value| value == "1")
}

/// Whether the runtime test `test` runs as root, which loading and attaching BPF programs, reading tracefs and
/// the kernel's own `/proc` files need. Not root: fails the test when runtime tests are required, otherwise
/// prints `SKIPPED` and returns false.
///
/// ```
/// fn counts_syscalls() {
///     if !jitterlib::testing::can_trace("counts_syscalls") {
///         return;
///     }
///     // attach, cause events, assert on what the kernel reported
/// }
/// ```
pub fn can_trace(test: &str) -> bool {
    if crate::kernel::is_root() {
        return true;
    }
    skip(test, "needs root (CAP_BPF and CAP_PERFMON for BPF programs; tracefs and /proc for kernel metadata)");
    false
}

/// Records that the runtime test `test` did not run, and why: a panic (a failed test) when runtime tests are
/// required here, otherwise a `SKIPPED` line on stderr (and in `JL_SKIPPED_LOG`).
pub fn skip(test: &str, why: impl Display) {
    assert!(!runtime_tests_required(), "{test} did not run although runtime tests are required here: {why}");
    eprintln!("SKIPPED: {test}: {why}");
    if let Some(path) = std::env::var_os("JL_SKIPPED_LOG") {
        let logged = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut log| writeln!(log, "{test}: {why}"));
        if let Err(error) = logged {
            eprintln!("cannot append to JL_SKIPPED_LOG {}: {error}", path.to_string_lossy());
        }
    }
}

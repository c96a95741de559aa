//! The one error type every [`KernelInfo`](super::KernelInfo) implementation returns.

use std::path::PathBuf;

/// Why kernel metadata could not be provided.
///
/// Both the live kernel and the fixture return the same variants for the same situations, so callers can
/// match on them without knowing which implementation they talk to.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// No tracepoint `category:name` exists.
    #[error("tracepoint {category}:{name} not found (list them with `jl -l`)")]
    TracepointNotFound {
        /// Tracepoint category (subsystem), e.g. `sched`.
        category: String,
        /// Tracepoint name, e.g. `sched_switch`.
        name: String,
    },
    /// tracefs could not be found or mounted.
    #[error("tracefs is not available: {reason} (try `mount -t tracefs nodev /sys/kernel/tracing` as root)")]
    Tracefs {
        /// What went wrong.
        reason: String,
    },
    /// A tracepoint `format` file did not have the expected shape.
    #[error("cannot parse the format of tracepoint {category}:{name}: {reason}")]
    TracepointFormat {
        /// Tracepoint category.
        category: String,
        /// Tracepoint name.
        name: String,
        /// The offending line or what is missing.
        reason: String,
    },
    /// `/proc/kallsyms` shows only zero addresses.
    #[error(
        "kernel symbol addresses are hidden (all zero in /proc/kallsyms): run as root, \
         or lower the restriction with `sysctl kernel.kptr_restrict=0`"
    )]
    SymbolsHidden,
    /// A kernel file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The BTF blob is malformed or unsupported.
    #[error("bad BTF in {path}: {reason}")]
    Btf {
        /// Where the blob came from.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A kernel fixture does not record the kernel's HZ.
    #[error("the kernel fixture does not record HZ (regenerate it with the dump_kernel_fixture example)")]
    FixtureWithoutHz,
    /// A kernel fixture does not record how many CPUs the machine can have.
    #[error(
        "the kernel fixture does not record the possible CPUs (regenerate it with the dump_kernel_fixture example)"
    )]
    FixtureWithoutCpus,
    /// A kernel fixture could not be loaded.
    #[error("bad kernel fixture")]
    Fixture {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl KernelError {
    /// An [`KernelError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> KernelError {
        KernelError::Io { path: path.into(), source }
    }
}

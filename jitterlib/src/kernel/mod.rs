//! Kernel metadata for the compiler: kernel version, tracepoint record layouts (tracefs), symbol
//! addresses (kallsyms), loaded modules, struct member offsets (BTF) and the mechanisms that can probe
//! kernel functions.
//!
//! Everything sits behind [`KernelInfo`] with two implementations: [`LiveKernel`] reads the running
//! kernel lazily and caches what it read; [`FixtureKernel`] answers from a JSON snapshot, so compile-only
//! tests are deterministic and need no privileges. Both return the same [`KernelError`] variants in the same
//! situations.

mod btf;
mod error;
mod fixture;
mod hz;
mod kallsyms;
mod live;
mod mechanisms;
mod print_flags;
mod struct_name;
mod symbol_lookup;
mod tracefs;
mod version;

use std::sync::Arc;

pub use btf::{Btf, IndexOrigin, KernelEnum, Member, MemberKind};
pub use error::KernelError;
pub use fixture::{FixtureKernel, KernelSnapshot, SnapshotSelection, SnapshotSymbol};
pub use kallsyms::Symbol;
pub use live::LiveKernel;
pub(crate) use mechanisms::{is_root, kprobes_present, TRAMPOLINES_SINCE};
pub use mechanisms::{Availability, FunctionProbes, TracepointMechanism, TracepointProbes};
pub use print_flags::PrintFlags;
pub use struct_name::StructName;
pub use tracefs::{ensure_tracefs, parse_format, TracepointField, TracepointFormat};
pub use version::KernelVersion;

/// The kernel's softirq vectors (`enum { HI_SOFTIRQ = 0, ... }`), in order: the names jl prints for them.
pub const SOFTIRQ_NAMES: [&str; 10] =
    ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu"];

/// What the compiler needs to know about the kernel it compiles for.
pub trait KernelInfo {
    /// Kernel version of the running (or fixture) kernel.
    fn version(&self) -> &KernelVersion;
    /// Format of tracepoint `category:name` (fields with offsets, sizes, signedness, C type), from tracefs.
    fn tracepoint(&self, category: &str, name: &str) -> Result<Arc<TracepointFormat>, KernelError>;
    /// Every tracepoint as `(category, name)`, sorted (for `jl -l` and wildcards).
    fn tracepoints(&self) -> Result<Vec<(String, String)>, KernelError>;
    /// All addresses of a kernel symbol, ascending (static functions can appear several times); empty when
    /// absent.
    fn symbol_addresses(&self, name: &str) -> Result<Vec<u64>, KernelError>;
    /// The symbol containing `addr`, with the offset into it and its module, for `ksym()`/stack rendering.
    fn symbolize(&self, addr: u64) -> Option<Symbol>;
    /// Whether a kernel module is loaded (`/proc/modules`), for hints.
    fn module_loaded(&self, name: &str) -> bool;
    /// BTF: byte offset, size and type of `struct_name.member` (following anonymous unions/structs), `None` if
    /// unknown. `member` may be a path through embedded structs and unions: `nd_net.net`.
    fn struct_member(&self, struct_name: &str, member: &str) -> Result<Option<Member>, KernelError>;
    /// BTF: [`KernelInfo::struct_member`] for a struct defined by loaded module `module` (its split BTF,
    /// `/sys/kernel/btf/MODULE`), `None` when the module, its BTF, the struct or the member is missing.
    fn module_struct_member(
        &self,
        module: &str,
        struct_name: &str,
        member: &str,
    ) -> Result<Option<Member>, KernelError>;
    /// BTF: the member names of `struct_name`, or of the struct embedded at member path `path` (`""`: the struct
    /// itself), for hints; `None` when the struct is unknown (this is how a struct's existence is checked).
    fn struct_members(&self, struct_name: &str, path: &str) -> Result<Option<Vec<String>>, KernelError>;
    /// BTF: the size in bytes of `struct struct_name` (or the union), for `sizeof`; `None` when it is unknown.
    fn struct_size(&self, struct_name: &str) -> Result<Option<u32>, KernelError>;
    /// BTF: the alignment in bytes of `struct struct_name` (or the union), to embed it in a script's struct;
    /// `None` when it is unknown.
    fn struct_align(&self, struct_name: &str) -> Result<Option<u32>, KernelError>;
    /// BTF: `struct name` (or `union name` when `union`) written as C, for `jl -lv 'struct NAME'`; `None` when it
    /// is unknown.
    fn record_definition(&self, union: bool, name: &str) -> Result<Option<String>, KernelError>;
    /// BTF: the parameters `(name, C type)` of kernel function `name` (for kprobe/fentry arguments), `None`
    /// when BTF has no such function.
    fn function_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError>;
    /// BTF: [`KernelInfo::function_params`] for a function of loaded module `module` (its split BTF), `None`
    /// when the module, its BTF or the function is missing.
    fn module_function_params(&self, module: &str, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError>;
    /// BTF: the arguments `(name, C type)` of raw tracepoint `name` (its `btf_trace_NAME` prototype without
    /// the leading context pointer), `None` when BTF has no such tracepoint.
    fn raw_tracepoint_params(&self, name: &str) -> Result<Option<Vec<(String, String)>>, KernelError>;
    /// BTF: `enum name` (`skb_drop_reason`), for fields of that type; `None` when BTF has no such enum.
    fn enum_type(&self, name: &str) -> Result<Option<KernelEnum>, KernelError>;
    /// BTF: the enum, named or anonymous, with an enumerator called `enumerator`, for a script's bare
    /// `SKB_DROP_REASON_NOT_SPECIFIED`; `None` when no enum has one.
    fn enum_with(&self, enumerator: &str) -> Result<Option<KernelEnum>, KernelError>;
    /// The tick rate (`CONFIG_HZ`): jiffies per second, to turn jiffies into nanoseconds.
    fn hz(&self) -> Result<u32, KernelError>;
    /// How many CPUs the machine can have (`/sys/devices/system/cpu/possible`): bpftrace's `ncpus`.
    fn possible_cpus(&self) -> Result<u32, KernelError>;
    /// Which mechanisms can run a program at a kernel function's entry here (fentry, kprobe), each with the
    /// reason it cannot when it cannot. The live kernel finds out once, with a test fentry load.
    fn function_probes(&self) -> FunctionProbes;
    /// Which mechanisms can run a program on a tracepoint's arguments here (tp_btf, raw tracepoints), each
    /// with the reason it cannot when it cannot; typed probes fall back to perf-event tracepoints.
    fn tracepoint_probes(&self) -> TracepointProbes;
}

//! Map declarations shared by the compiler, the ELF writer and the session, and the code that reaches maps.

mod emit;
mod gate;

pub use emit::{map_call, map_insert, Counter, UpdateFailures, E2BIG, EEXIST};
pub use gate::{Gate, GATE_MAP_NAME};

use crate::kernel::{KernelInfo, KernelVersion};

/// The kinds of BPF maps jitterlib creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH`.
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_PERCPU_HASH`: one value per possible CPU, merged in user space.
    PerCpuHash,
    /// `BPF_MAP_TYPE_LRU_HASH`: a hash that evicts its least recently used keys to make room for a new one
    /// (Linux 4.10). Always preallocated.
    LruHash,
    /// `BPF_MAP_TYPE_LRU_PERCPU_HASH`: [`MapKind::PerCpuHash`] evicting as [`MapKind::LruHash`] (Linux 4.10).
    LruPerCpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    PerCpuArray,
    /// `BPF_MAP_TYPE_RINGBUF`: `max_entries` is the buffer size in bytes, keys and values are 0.
    RingBuf,
    /// `BPF_MAP_TYPE_STACK_TRACE`.
    StackTrace,
    /// `BPF_MAP_TYPE_PROG_ARRAY`: u32 slots holding programs that `bpf_tail_call` jumps to. It links the
    /// programs of several probes (a syscall dispatcher's), so [`crate::probe::place_maps`] places it once under
    /// its own name.
    ProgArray,
    /// A global: the object's `.bss` section, which aya loads as a one-slot `BPF_MAP_TYPE_ARRAY` named
    /// [`GLOBAL_MAP_NAME`] whose value programs address directly ([`crate::insn::Builder::ld_map_value`]).
    /// At most one per object; its key is 4 bytes and `max_entries` 1.
    Global,
    /// The start/stop [`Gate`]: a one-u64 global of its own (section and map [`GATE_MAP_NAME`]), which user
    /// space writes. At most one per object.
    Gate,
}

/// The name aya gives the map of an object's `.bss` section ([`MapKind::Global`]): read it by this name.
pub const GLOBAL_MAP_NAME: &str = ".bss";

impl MapKind {
    /// The kernel's `enum bpf_map_type` value.
    pub fn bpf_type(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array | MapKind::Global | MapKind::Gate => 2,
            MapKind::PerCpuHash => 5,
            MapKind::LruHash => 9,
            MapKind::LruPerCpuHash => 10,
            MapKind::PerCpuArray => 6,
            MapKind::ProgArray => 3,
            MapKind::StackTrace => 7,
            MapKind::RingBuf => 27,
        }
    }
}

/// Keys a keyed map (an aggregation or a user map) holds unless its script or trace sets another limit
/// (`jl --map-keys`, [`crate::trace::Trace::max_keys`]): 4 096, bpftrace's `max_map_keys`. Keyed maps are
/// preallocated ([`HashAllocation`]), so this sets both their memory and their creation time: a per-CPU map of
/// 4 096 keys takes 1.6 ms to create on 2 CPUs where 10 240 took 4 ms, and 32 KiB per CPU where 10 240 took 80.
pub const DEFAULT_MAP_KEYS: u32 = 4_096;

/// Preallocated memory ([`preallocated_bytes`]) above which a keyed map has its entries allocated on insert
/// instead, where the kernel allows it ([`HashAllocation::for_kernel`]): 32 MiB, reached only with a large
/// `--map-keys` or a machine of hundreds of CPUs (a 4 096-key per-CPU count takes 0.3 MiB plus 32 KiB per CPU,
/// so up to about 1 000 CPUs). Creating a map of that size takes tens of milliseconds.
pub const PREALLOCATION_BUDGET: u64 = 32 << 20;

/// The kernel's `sizeof(struct htab_elem)` on 64-bit machines: the hash link, the per-CPU pointer or free-list
/// link, and the hash. Each entry is this plus its key and (or, per-CPU, a pointer to) its value, 8-byte aligned.
const HTAB_ELEM_HEADER: u64 = 48;

/// The memory the kernel sets aside for `map`'s entries when it preallocates them on a machine of `possible_cpus`
/// CPUs: each of `max_entries` entries holds its key and its value, a per-CPU map's value once per CPU (the
/// bucket array, allocated either way, is not counted).
pub fn preallocated_bytes(map: &MapSpec, possible_cpus: u32) -> u64 {
    let aligned = |size: u32| u64::from(size).div_ceil(8) * 8;
    let entries = u64::from(map.max_entries);
    let per_cpu = map.kind == MapKind::PerCpuHash;
    let inline_value = if per_cpu { 8 } else { aligned(map.value_size) };
    let values_per_cpu = if per_cpu { aligned(map.value_size) * u64::from(possible_cpus) } else { 0 };
    entries * (HTAB_ELEM_HEADER + aligned(map.key_size) + inline_value + values_per_cpu)
}

/// When the kernel allocates the entries of hash maps ([`MapKind::Hash`], [`MapKind::PerCpuHash`]): at map
/// creation (preallocated, the kernel's default, as bpftrace and libbpf-tools create theirs) unless that would
/// exceed [`PREALLOCATION_BUDGET`]; such a map has its entries allocated as keys are inserted
/// (`BPF_F_NO_PREALLOC`) where the kernel does so safely.
///
/// Entries allocated on insert come from the kernel's BPF memory allocator, which keeps a small per-CPU cache
/// refilled by an irq_work (Linux 6.1+; before, a tracepoint program with such a hash triggers a kernel warning
/// and a `perf_event` program is refused). A per-CPU map's cache holds one to three values per CPU (Linux 6.8+),
/// so a program run that inserts two new keys with interrupts off (in hardirq or NMI context, or in
/// `sched_switch`) finds no memory for the second: the kernel refuses it with `ENOMEM`, a key lost. A
/// preallocated map never refuses a key while it has room. Its cost: creating a 4 096-key per-CPU hash takes
/// about 1.6 ms on 2 CPUs (0.1 ms for a shared hash), and its memory is held for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashAllocation {
    /// Whether the kernel allocates entries on insert safely in every tracing context (Linux 6.1+).
    on_insert_safe: bool,
    /// The machine's possible CPUs: a per-CPU hash preallocates a value for each.
    possible_cpus: u32,
}

impl HashAllocation {
    /// Every hash map preallocated, whatever its size.
    pub const PREALLOCATED: HashAllocation = HashAllocation { on_insert_safe: false, possible_cpus: 1 };

    /// The allocation for a kernel `version` on a machine of `possible_cpus` CPUs: maps over the budget are
    /// allocated on insert from Linux 6.1.
    pub fn for_kernel(version: &KernelVersion, possible_cpus: u32) -> HashAllocation {
        HashAllocation { on_insert_safe: version.at_least(6, 1), possible_cpus }
    }

    /// [`HashAllocation::for_kernel`] for `kernel`'s version and CPUs (a kernel fixture recording no CPU count
    /// counts as one CPU: compile-only output does not depend on it).
    pub fn for_machine(kernel: &dyn KernelInfo) -> HashAllocation {
        HashAllocation::for_kernel(kernel.version(), kernel.possible_cpus().unwrap_or(1))
    }

    /// The `map_flags` of `map` created this way: `BPF_F_NO_PREALLOC` for a hash map that allows it and whose
    /// preallocation would exceed [`PREALLOCATION_BUDGET`].
    pub fn map_flags(self, map: &MapSpec) -> u32 {
        const BPF_F_NO_PREALLOC: u32 = 1;
        let hash = matches!(map.kind, MapKind::Hash | MapKind::PerCpuHash);
        let over_budget = preallocated_bytes(map, self.possible_cpus) > PREALLOCATION_BUDGET;
        if self.on_insert_safe && hash && map.on_insert && over_budget {
            BPF_F_NO_PREALLOC
        } else {
            0
        }
    }
}

/// One map of a compiled object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// Symbol name in the ELF object and the name aya exposes (at most 15 bytes, `[A-Za-z0-9_]`).
    pub name: String,
    /// Map type.
    pub kind: MapKind,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes (per CPU for per-CPU maps).
    pub value_size: u32,
    /// Capacity (bytes for ring buffers).
    pub max_entries: u32,
    /// Whether a hash map's keys arrive once and stay (aggregations, user maps), so that the kernel may allocate
    /// its entries as keys are inserted where [`HashAllocation`] says it should (a map too large to preallocate).
    /// False for maps with insert/delete churn (a probe's pairing maps): their preallocated entries are reused at
    /// once, where entries allocated on insert go back through an RCU grace period after every delete.
    pub on_insert: bool,
}

/// The raw contents of a map as read from the kernel, before any decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MapEntries {
    /// A map with no entries (or one never read).
    #[default]
    Empty,
    /// Maps with one value per key: `(key bytes, value bytes)`.
    Shared(Vec<(Vec<u8>, Vec<u8>)>),
    /// Per-CPU maps: `(key bytes, one value per possible CPU)`.
    PerCpu(Vec<(Vec<u8>, Vec<Vec<u8>>)>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kind: MapKind, max_entries: u32, on_insert: bool) -> MapSpec {
        MapSpec { name: "m".into(), kind, key_size: 4, value_size: 8, max_entries, on_insert }
    }

    #[test]
    fn preallocated_bytes_match_the_kernels_accounting() {
        // bpftool's memlock for bpftrace 0.27.1's `@[1] = count()` (percpu_hash, key 1, value 8, 4096 entries,
        // 2 CPUs) is 394 112 B: these entries, the 4096 16-byte buckets (65 536 B) and the 896-byte map.
        let count = MapSpec { key_size: 1, ..map(MapKind::PerCpuHash, 4096, true) };
        assert_eq!(preallocated_bytes(&count, 2), 394_112 - 65_536 - 896);
        assert_eq!(preallocated_bytes(&map(MapKind::Hash, 10_240, true), 2), 10_240 * 64);
    }

    #[test]
    fn hash_maps_are_preallocated_unless_over_budget_on_linux_6_1_or_later() {
        let allocation =
            |release, cpus| HashAllocation::for_kernel(&KernelVersion::parse(release).expect("release"), cpus);
        let default_keys = map(MapKind::PerCpuHash, DEFAULT_MAP_KEYS, true);
        let huge = map(MapKind::PerCpuHash, 16 << 20, true);
        assert_eq!(allocation("6.18.44-fc-v657", 2).map_flags(&default_keys), 0);
        assert_eq!(allocation("6.18.44-fc-v657", 2).map_flags(&huge), 1);
        assert_eq!(allocation("6.18.44-fc-v657", 2).map_flags(&MapSpec { on_insert: false, ..huge.clone() }), 0);
        assert_eq!(allocation("6.1.0-27-amd64", 1024).map_flags(&default_keys), 1, "8 KiB of values per key");
        assert_eq!(allocation("6.0.19", 2).map_flags(&huge), 0, "no safe allocation on insert before 6.1");
        assert_eq!(HashAllocation::PREALLOCATED.map_flags(&huge), 0);
        for kind in [
            MapKind::Array,
            MapKind::PerCpuArray,
            MapKind::RingBuf,
            MapKind::StackTrace,
            MapKind::Global,
            MapKind::Gate,
        ] {
            assert_eq!(allocation("6.18.44-fc-v657", 2).map_flags(&map(kind, 16 << 20, true)), 0, "{kind:?}");
        }
    }
}

//! Map declarations shared by the compiler, the ELF writer and the session, and the code that reaches maps.

mod emit;
mod gate;

pub use emit::{map_call, Counter, UpdateFailures};
pub use gate::{Gate, GATE_MAP_NAME};

use crate::kernel::KernelVersion;

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
/// (`jl --map-keys`, [`crate::trace::Trace::max_keys`]).
pub const DEFAULT_MAP_KEYS: u32 = 10_240;

/// When the kernel allocates the entries of hash maps ([`MapKind::Hash`], [`MapKind::PerCpuHash`]).
///
/// Preallocation fills every slot at map creation: about 4.5 ms for a 10 240-entry per-CPU hash on 2 CPUs,
/// growing with the CPU count, and the memory of a full map for the whole run. Linux 6.1 moved hash maps onto
/// the BPF memory allocator, which is safe in every tracing context (perf NMIs included), and dropped the
/// "preallocated maps only" rule for tracing programs; before 6.1, a tracepoint program with a run-time
/// allocated hash triggers a kernel warning and a `perf_event` program is refused. A full map still refuses
/// new keys either way (`E2BIG`), and those refusals are counted as before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAllocation {
    /// Every entry allocated when the map is created (the kernel's default).
    Preallocated,
    /// Entries allocated as keys are inserted (`BPF_F_NO_PREALLOC`).
    OnInsert,
}

impl HashAllocation {
    /// The cheaper allocation the kernel `version` supports safely: [`HashAllocation::OnInsert`] from 6.1.
    pub fn for_kernel(version: &KernelVersion) -> HashAllocation {
        if version.at_least(6, 1) {
            HashAllocation::OnInsert
        } else {
            HashAllocation::Preallocated
        }
    }

    /// The `map_flags` of `map` created this way: `BPF_F_NO_PREALLOC` for a hash map that allows it.
    pub fn map_flags(self, map: &MapSpec) -> u32 {
        const BPF_F_NO_PREALLOC: u32 = 1;
        let hash = matches!(map.kind, MapKind::Hash | MapKind::PerCpuHash);
        if self == HashAllocation::OnInsert && hash && map.on_insert {
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
    /// its entries as keys are inserted where [`HashAllocation::OnInsert`] says it can. False for maps with
    /// insert/delete churn (a probe's pairing maps): their preallocated entries are reused at once, where entries
    /// allocated on insert go back through an RCU grace period after every delete.
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

    #[test]
    fn hashes_are_allocated_on_insert_from_linux_6_1() {
        let allocation = |release| HashAllocation::for_kernel(&KernelVersion::parse(release).expect("release"));
        assert_eq!(allocation("5.15.0-91-generic"), HashAllocation::Preallocated);
        assert_eq!(allocation("6.0.19"), HashAllocation::Preallocated);
        assert_eq!(allocation("6.1.0-27-amd64"), HashAllocation::OnInsert);
        assert_eq!(allocation("6.18.44-fc-v657"), HashAllocation::OnInsert);
    }

    fn map(kind: MapKind, on_insert: bool) -> MapSpec {
        MapSpec { name: "m".into(), kind, key_size: 4, value_size: 8, max_entries: 16, on_insert }
    }

    #[test]
    fn only_hash_maps_that_allow_it_get_no_prealloc() {
        assert_eq!(HashAllocation::OnInsert.map_flags(&map(MapKind::PerCpuHash, true)), 1);
        assert_eq!(HashAllocation::OnInsert.map_flags(&map(MapKind::Hash, true)), 1);
        assert_eq!(HashAllocation::OnInsert.map_flags(&map(MapKind::Hash, false)), 0, "a churning pairing map");
        for kind in [
            MapKind::Array,
            MapKind::PerCpuArray,
            MapKind::RingBuf,
            MapKind::StackTrace,
            MapKind::Global,
            MapKind::Gate,
        ] {
            assert_eq!(HashAllocation::OnInsert.map_flags(&map(kind, true)), 0, "{kind:?}");
        }
        assert_eq!(HashAllocation::Preallocated.map_flags(&map(MapKind::PerCpuHash, true)), 0);
    }
}

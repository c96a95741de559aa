//! Map declarations shared by the compiler, the ELF writer and the session.

/// The kinds of BPF maps jitterlib creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH`.
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`.
    Array,
    /// `BPF_MAP_TYPE_PERCPU_HASH`: one value per possible CPU, merged in user space.
    PerCpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    PerCpuArray,
    /// `BPF_MAP_TYPE_RINGBUF`: `max_entries` is the buffer size in bytes, keys and values are 0.
    RingBuf,
    /// `BPF_MAP_TYPE_STACK_TRACE`.
    StackTrace,
    /// A global: the object's `.bss` section, which aya loads as a one-slot `BPF_MAP_TYPE_ARRAY` named
    /// [`GLOBAL_MAP_NAME`] whose value programs address directly ([`crate::insn::Builder::ld_map_value`]).
    /// At most one per object; its key is 4 bytes and `max_entries` 1.
    Global,
}

/// The name aya gives the map of an object's `.bss` section ([`MapKind::Global`]): read it by this name.
pub const GLOBAL_MAP_NAME: &str = ".bss";

impl MapKind {
    /// The kernel's `enum bpf_map_type` value.
    pub fn bpf_type(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array | MapKind::Global => 2,
            MapKind::PerCpuHash => 5,
            MapKind::PerCpuArray => 6,
            MapKind::StackTrace => 7,
            MapKind::RingBuf => 27,
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

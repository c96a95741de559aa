//! The wire protocol between a script's BPF programs and user space: the ids of the events the programs write
//! to the ring buffer besides printf's ([`MapEvent`], [`TableEvent`], [`EXIT_EVENT`]) and the counters of data
//! the kernel side could not record ([`Stat`]). Code generation writes them, the runtime reads them.

use crate::ir::MapAction;

/// Event id of `exit()`.
pub const EXIT_EVENT: u64 = u64::MAX;
/// Top byte of the event ids of [`MapEvent`]s (printf ids are small, `exit()` is all ones).
const MAP_EVENT_TAG: u64 = 0xfe;
/// Top byte of the event ids of `time()` ([`TableEvent::Time`]).
const TIME_EVENT_TAG: u64 = 0xfd;
/// Top byte of the event ids of outlier reports ([`TableEvent::Outlier`]).
const OUTLIER_EVENT_TAG: u64 = 0xfc;

/// An event asking user space to print, clear or zero a map. Its id packs the tag (bits 56-63), the action
/// (48-55), the print's options (16-47) and the map index (0-15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapEvent {
    /// What to do.
    pub action: MapAction,
    /// User map index.
    pub map: usize,
    /// For `print`, the index of its options in [`Compiled::print_options`](crate::codegen::Compiled::print_options).
    pub options: u32,
}

impl MapEvent {
    /// The event id written by the BPF side.
    pub fn id(self) -> u64 {
        let action = match self.action {
            MapAction::Print => 0,
            MapAction::Clear => 1,
            MapAction::Zero => 2,
        };
        MAP_EVENT_TAG << 56 | action << 48 | u64::from(self.options) << 16 | (self.map as u64 & 0xffff)
    }

    /// The map event an id stands for, if it is one.
    pub fn from_id(id: u64) -> Option<MapEvent> {
        if id >> 56 != MAP_EVENT_TAG {
            return None;
        }
        let action = match (id >> 48) & 0xff {
            0 => MapAction::Print,
            1 => MapAction::Clear,
            2 => MapAction::Zero,
            _ => return None,
        };
        Some(MapEvent { action, map: (id & 0xffff) as usize, options: (id >> 16) as u32 })
    }
}

/// An event naming an entry of a compile-time table: a `time()` format or an outlier report's layout. The id is
/// the tag (bits 56-63) and the table index (0-31).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableEvent {
    /// `time(FORMAT)`: print the wall-clock time with [`Compiled::time_formats`](crate::codegen::Compiled::time_formats)`[index]`.
    Time(usize),
    /// `outlier(THRESHOLD)`: a report laid out as [`Compiled::outliers`](crate::codegen::Compiled::outliers)`[index]`.
    Outlier(usize),
}

impl TableEvent {
    /// The event id written by the BPF side.
    pub fn id(self) -> u64 {
        match self {
            TableEvent::Time(index) => TIME_EVENT_TAG << 56 | index as u32 as u64,
            TableEvent::Outlier(index) => OUTLIER_EVENT_TAG << 56 | index as u32 as u64,
        }
    }

    /// The table event an id stands for, if it is one.
    pub fn from_id(id: u64) -> Option<TableEvent> {
        if id >> 32 & 0xff_ffff != 0 {
            return None;
        }
        let index = (id & 0xffff_ffff) as usize;
        match id >> 56 {
            TIME_EVENT_TAG => Some(TableEvent::Time(index)),
            OUTLIER_EVENT_TAG => Some(TableEvent::Outlier(index)),
            _ => None,
        }
    }
}

/// Counters of data the kernel side could not record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Stat {
    /// A map update failed (the map is full).
    MapFull = 0,
    /// An event did not fit in the ring buffer.
    EventsLost = 1,
    /// A stack could not be recorded (the stack map is full).
    StackLost = 2,
    /// A stack was not recorded because its hash bucket holds another stack (`bpf_get_stackid` without
    /// `BPF_F_REUSE_STACKID` keeps the first stack rather than misattribute ids).
    StackCollision = 3,
    /// A string copy (`str()`, a tracepoint string) filled its whole buffer: likely truncated.
    StrTruncated = 4,
    /// An event the kernel did not hand to a probe because another BPF program was running on that CPU (an
    /// interrupt's softirq ran inside it): counted by the kernel (`recursion_misses`), not by our code.
    ProbeMisses = 5,
    /// What did not fit a probe's fixed per-CPU slots: a stall's culprits beyond its slots (their time is in
    /// the stall's `unattributed`).
    SlotsFull = 6,
    /// An `skb()` hop not reported because the skb at that address was not the packet last seen there: its
    /// data buffer or identity (IPv4 id and transport sequence) differ, or it is at the same point again (the
    /// old packet was freed where no point sees it and its memory reused).
    SkbReused = 7,
    /// An `skb()` hop not reported because its point cannot follow the packet's last one on any path through
    /// the stack (a point whose program the kernel skipped, or an address reused with the same identity).
    SkbOutOfOrder = 8,
    /// A map update the kernel refused with the map not full: no memory ready for a new entry (a map whose
    /// entries are allocated on insert: the first new keys on a CPU in a burst, before the kernel's allocator
    /// refilled its per-CPU cache) or the key's bucket held by a program interrupted on the same CPU.
    MapRefused = 9,
    /// A division or remainder by 0 when the probe ran: its result is 1, as bpftrace's (BPF would give 0 for
    /// `x / 0` and `x` for `x % 0`).
    DivideByZero = 10,
    /// A read of kernel or user memory (`str()`, `buf()`, a member through a pointer, `join()`) that failed: the
    /// address was not mapped (a user page not faulted in yet, a NULL or stale pointer); the value read is zeros.
    ReadFailed = 11,
    /// An index computed while running (`$a[$i]`, `$s[$i]`) past the end of its array or string: it read 0.
    IndexOutOfRange = 12,
}

impl Stat {
    /// Every counter, in index order.
    pub const ALL: [Stat; 13] = [
        Stat::MapFull,
        Stat::EventsLost,
        Stat::StackLost,
        Stat::StackCollision,
        Stat::StrTruncated,
        Stat::ProbeMisses,
        Stat::SlotsFull,
        Stat::SkbReused,
        Stat::SkbOutOfOrder,
        Stat::MapRefused,
        Stat::DivideByZero,
        Stat::ReadFailed,
        Stat::IndexOutOfRange,
    ];

    /// Stable key in JSON output.
    pub fn key(self) -> &'static str {
        match self {
            Stat::MapFull => "map_full",
            Stat::EventsLost => "events_lost",
            Stat::StackLost => "stacks_lost",
            Stat::StackCollision => "stack_collisions",
            Stat::StrTruncated => "str_truncated",
            Stat::ProbeMisses => "probe_misses",
            Stat::SlotsFull => "slots_full",
            Stat::SkbReused => "skb_reused",
            Stat::SkbOutOfOrder => "skb_out_of_order",
            Stat::MapRefused => "map_refused",
            Stat::DivideByZero => "divide_by_zero",
            Stat::ReadFailed => "read_failed",
            Stat::IndexOutOfRange => "index_out_of_range",
        }
    }

    /// What the counter means, for the exit report.
    pub fn describe(self) -> &'static str {
        match self {
            Stat::MapFull => {
                "map updates failed (map full: raise the limit with --map-keys, or a declared map's `let @m = hash(N)`)"
            }
            Stat::EventsLost => "events lost (ring buffer full)",
            Stat::StackLost => "stacks lost (stack map full)",
            Stat::StackCollision => "stacks lost to a stack-id hash collision",
            Stat::StrTruncated => "strings truncated (the copy filled its whole buffer)",
            Stat::ProbeMisses => "events missed by probes (another BPF program was running on that CPU)",
            Stat::SlotsFull => {
                "stall waits with more culprits than the probe's slots (their time is unattributed; a rank they may \
                 have outrun is unknown:too_many_culprits)"
            }
            Stat::SkbReused => {
                "skb() hops dropped: the skb's address held another packet (freed where no point sees it)"
            }
            Stat::SkbOutOfOrder => {
                "skb() hops dropped: the point cannot follow the packet's last one (a skipped point)"
            }
            Stat::MapRefused => {
                "map updates refused with the map not full (no memory ready for a new key on that CPU, or its \
                 bucket busy)"
            }
            Stat::DivideByZero => "divisions or remainders by 0 (each gave 1, as in bpftrace)",
            Stat::IndexOutOfRange => "indexes past the end of their array or string (each read 0)",
            Stat::ReadFailed => {
                "memory reads failed (each gave zeros: an address not mapped, such as a user page not faulted in yet)"
            }
        }
    }
}

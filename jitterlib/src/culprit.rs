//! Culprits of a stall: what ran on a CPU while something there waited, packed into one u64 so that BPF code
//! can keep, compare and hand them over like any integer, and named again in user space.
//!
//! The top byte is the kind ([`CulpritKind`]); the rest is the kind's identity: a softirq vector, a hardirq
//! number, a task's name (a 56-bit hash of its `comm`, so that the threads of one program are one culprit and a
//! map keyed by culprits grows with what runs, not with thread churn), or for timer and hrtimer callbacks the low
//! 48 bits of the callback's kernel address (kernel text addresses have every bit above bit 47 set, so the
//! address is rebuilt by setting them).

use crate::kernel::SOFTIRQ_NAMES;

/// The name (after its probe's prefix) of the map in which a probe that reports task culprits keeps their
/// names: a task culprit's u64 identity ([`name_hash`] of its `comm`) to that 16-byte `comm`. Readers merge
/// every map whose name ends with it.
pub const TASK_NAMES_MAP: &str = "task_names";
/// Task names a probe's [`TASK_NAMES_MAP`] holds; culprits beyond it print as `task:[#HASH]` (and are counted as
/// the map being full).
pub const TASK_NAMES: u32 = 1024;
/// The multipliers of [`name_hash`], which BPF code applies the same way.
pub const NAME_HASH_MULTIPLIERS: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f];

/// Bits the kind is shifted left by.
pub const KIND_SHIFT: u32 = 56;
/// The bits of a kernel address that a culprit keeps.
pub const ADDRESS_MASK: u64 = (1 << 48) - 1;

/// What kind of thing a culprit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum CulpritKind {
    /// A task, by name, ran (in task context: the victim could not run because the task disabled bottom halves or
    /// interrupts, or because the softirq was deferred to ksoftirqd and this task had the CPU instead).
    Task = 1,
    /// A softirq vector ran (outside its timer or hrtimer callbacks).
    Softirq = 2,
    /// A timer-wheel callback ran (in TIMER softirq).
    Timer = 3,
    /// An hrtimer callback ran (in hard interrupt context or in HRTIMER softirq).
    Hrtimer = 4,
    /// A hardirq handler ran.
    Hardirq = 5,
    /// A system interrupt without a device handler ran (the local timer, an IPI; x86's `irq_vectors`).
    SystemInterrupt = 6,
    /// Not a thing that ran: a stall's rank that cannot be named, because more culprits ran during the wait than
    /// the probe keeps and those it did not keep took together more time than this rank's culprit, so one of
    /// them may have taken more.
    Unknown = 7,
}

impl CulpritKind {
    /// Every kind, in tag order.
    pub const ALL: [CulpritKind; 7] = [
        CulpritKind::Task,
        CulpritKind::Softirq,
        CulpritKind::Timer,
        CulpritKind::Hrtimer,
        CulpritKind::Hardirq,
        CulpritKind::SystemInterrupt,
        CulpritKind::Unknown,
    ];

    /// The kind's name, the prefix of a culprit's text (`timer:estimation_timer`).
    pub fn name(self) -> &'static str {
        match self {
            CulpritKind::Task => "task",
            CulpritKind::Softirq => "softirq",
            CulpritKind::Timer => "timer",
            CulpritKind::Hrtimer => "hrtimer",
            CulpritKind::Hardirq | CulpritKind::SystemInterrupt => "hardirq",
            CulpritKind::Unknown => "unknown",
        }
    }

    /// The tag in a culprit's top byte, shifted into place: what BPF code ORs into the identity.
    pub fn tag(self) -> u64 {
        (self as u64) << KIND_SHIFT
    }
}

/// The system interrupts culprits name, by index: x86's vectors that have `irq_vectors` tracepoints and no
/// device handler (`local_timer` runs the hrtimer callbacks; `call_function*` and `reschedule` are IPIs).
pub const SYSTEM_INTERRUPTS: [&str; 5] =
    ["local_timer", "irq_work", "reschedule", "call_function", "call_function_single"];

/// A decoded culprit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Culprit {
    /// A task, by the [`name_hash`] of its `comm` (0 is the CPU's idle task).
    Task(u64),
    /// A softirq vector (0-9).
    Softirq(u32),
    /// A timer-wheel callback at this kernel address.
    Timer(u64),
    /// An hrtimer callback at this kernel address.
    Hrtimer(u64),
    /// A hardirq, by interrupt number.
    Hardirq(u32),
    /// A system interrupt, by index in [`SYSTEM_INTERRUPTS`].
    SystemInterrupt(u32),
    /// A rank that cannot be named ([`CulpritKind::Unknown`]); prints as `unknown:too_many_culprits`.
    Unknown,
}

impl Culprit {
    /// Decodes the u64 BPF code wrote; `None` for 0 (no culprit) and for unknown kinds.
    ///
    /// ```
    /// use jitterlib::culprit::Culprit;
    ///
    /// let raw = Culprit::Timer(0xffff_ffff_c0a1_2340).encode();
    /// assert_eq!(Culprit::decode(raw), Some(Culprit::Timer(0xffff_ffff_c0a1_2340)));
    /// assert_eq!(Culprit::decode(0), None);
    /// ```
    pub fn decode(raw: u64) -> Option<Culprit> {
        let id = raw & ((1 << KIND_SHIFT) - 1);
        let kind = CulpritKind::ALL.into_iter().find(|kind| *kind as u64 == raw >> KIND_SHIFT)?;
        let small = id as u32;
        Some(match kind {
            CulpritKind::Task => Culprit::Task(id),
            CulpritKind::Softirq => Culprit::Softirq(small),
            CulpritKind::Timer => Culprit::Timer(id | !ADDRESS_MASK),
            CulpritKind::Hrtimer => Culprit::Hrtimer(id | !ADDRESS_MASK),
            CulpritKind::Hardirq => Culprit::Hardirq(small),
            CulpritKind::SystemInterrupt => Culprit::SystemInterrupt(small),
            CulpritKind::Unknown => Culprit::Unknown,
        })
    }

    /// The u64 BPF code writes for this culprit.
    pub fn encode(self) -> u64 {
        let (kind, id) = match self {
            Culprit::Task(name) => (CulpritKind::Task, name & ((1 << KIND_SHIFT) - 1)),
            Culprit::Softirq(vec) => (CulpritKind::Softirq, u64::from(vec)),
            Culprit::Timer(address) => (CulpritKind::Timer, address & ADDRESS_MASK),
            Culprit::Hrtimer(address) => (CulpritKind::Hrtimer, address & ADDRESS_MASK),
            Culprit::Hardirq(irq) => (CulpritKind::Hardirq, u64::from(irq)),
            Culprit::SystemInterrupt(index) => (CulpritKind::SystemInterrupt, u64::from(index)),
            Culprit::Unknown => (CulpritKind::Unknown, 0),
        };
        kind.tag() | id
    }

    /// The culprit's kind.
    pub fn kind(self) -> CulpritKind {
        match self {
            Culprit::Task(_) => CulpritKind::Task,
            Culprit::Softirq(_) => CulpritKind::Softirq,
            Culprit::Timer(_) => CulpritKind::Timer,
            Culprit::Hrtimer(_) => CulpritKind::Hrtimer,
            Culprit::Hardirq(_) => CulpritKind::Hardirq,
            Culprit::SystemInterrupt(_) => CulpritKind::SystemInterrupt,
            Culprit::Unknown => CulpritKind::Unknown,
        }
    }

    /// The culprit as people read it, `kind:name`: `timer:estimation_timer`, `softirq:net_rx`,
    /// `hardirq:virtio0-input`, `task:stress-ng`; `names` turns addresses, interrupts and task names' hashes into
    /// names (numbers where it cannot). Being bounded by what runs, it is also a metric label.
    ///
    /// ```
    /// use jitterlib::culprit::{name_hash, Culprit, CulpritNames};
    ///
    /// struct Numbers;
    /// impl CulpritNames for Numbers {
    ///     fn function(&self, address: u64) -> String { format!("0x{address:x}") }
    /// }
    /// assert_eq!(Culprit::Softirq(1).describe(&Numbers), "softirq:timer");
    /// assert_eq!(Culprit::Task(0x2a).describe(&Numbers), "task:[#2a]");
    /// assert_eq!(Culprit::Task(0).describe(&Numbers), "task:swapper");
    /// assert_eq!(Culprit::Unknown.describe(&Numbers), "unknown:too_many_culprits");
    ///
    /// struct Named;
    /// impl CulpritNames for Named {
    ///     fn function(&self, address: u64) -> String { format!("0x{address:x}") }
    ///     fn task(&self, name: u64) -> Option<String> { Some("stress-ng".into()).filter(|_| name == 7) }
    /// }
    /// assert_eq!(Culprit::Task(7).describe(&Named), "task:stress-ng");
    /// ```
    pub fn describe(self, names: &dyn CulpritNames) -> String {
        let name = match self {
            Culprit::Task(0) => "swapper".to_string(),
            Culprit::Task(name) => names.task(name).unwrap_or_else(|| format!("[#{name:x}]")),
            Culprit::Softirq(vec) => match SOFTIRQ_NAMES.get(vec as usize) {
                Some(name) => name.to_string(),
                None => format!("vec{vec}"),
            },
            Culprit::Timer(address) | Culprit::Hrtimer(address) => names.function(address),
            Culprit::Hardirq(irq) => names.irq(irq).unwrap_or_else(|| irq.to_string()),
            Culprit::SystemInterrupt(index) => match SYSTEM_INTERRUPTS.get(index as usize) {
                Some(name) => name.to_string(),
                None => format!("vector{index}"),
            },
            Culprit::Unknown => "too_many_culprits".to_string(),
        };
        format!("{}:{name}", self.kind().name())
    }
}

/// Names for the identities culprits carry.
pub trait CulpritNames {
    /// The kernel function at `address` (`estimation_timer`).
    fn function(&self, address: u64) -> String;

    /// The `comm` whose [`name_hash`] is `name`, if it was recorded.
    fn task(&self, name: u64) -> Option<String> {
        let _ = name;
        None
    }

    /// The name of interrupt `irq` (its handlers' names, `virtio0-input`), if it can be found.
    fn irq(&self, irq: u32) -> Option<String> {
        let _ = irq;
        None
    }
}

/// The identity of a task culprit named `comm` (its 16 bytes, NUL-padded): the two little-endian u64 halves
/// mixed by multiplication, keeping the top 56 bits. BPF code computes the same from `bpf_get_current_comm`.
///
/// ```
/// use jitterlib::culprit::name_hash;
///
/// let comm = *b"ping\0\0\0\0\0\0\0\0\0\0\0\0";
/// assert_eq!(name_hash(&comm), name_hash(&comm));
/// assert_ne!(name_hash(&comm), name_hash(b"pong\0\0\0\0\0\0\0\0\0\0\0\0"));
/// assert!(name_hash(&comm) < 1 << 56);
/// ```
pub fn name_hash(comm: &[u8; 16]) -> u64 {
    let [first, second] = [&comm[..8], &comm[8..]].map(|half| u64::from_le_bytes(half.try_into().expect("8 bytes")));
    (first.wrapping_mul(NAME_HASH_MULTIPLIERS[0]) ^ second).wrapping_mul(NAME_HASH_MULTIPLIERS[1]) >> (64 - KIND_SHIFT)
}

/// The task names of a [`TASK_NAMES_MAP`]'s entries (key: a task culprit's u64, value: NUL-padded `comm`), by
/// the culprit's identity.
///
/// ```
/// use jitterlib::culprit::{task_names, Culprit};
///
/// let culprit = Culprit::Task(0x2a).encode();
/// let entries = vec![(culprit.to_ne_bytes().to_vec(), b"ping\0\0\0\0\0\0\0\0\0\0\0\0".to_vec())];
/// assert_eq!(task_names(&entries), [(0x2a, "ping".to_string())]);
/// ```
pub fn task_names(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<(u64, String)> {
    entries
        .iter()
        .filter_map(|(key, value)| {
            let culprit = Culprit::decode(u64::from_ne_bytes(key.get(..8)?.try_into().ok()?))?;
            let Culprit::Task(name) = culprit else { return None };
            let end = value.iter().position(|byte| *byte == 0).unwrap_or(value.len());
            Some((name, String::from_utf8_lossy(&value[..end]).into_owned())).filter(|(_, name)| !name.is_empty())
        })
        .collect()
}

/// The names of the handlers of interrupt `irq` on this machine (`/sys/kernel/irq/N/actions`, comma-separated).
pub fn live_irq_name(irq: u32) -> Option<String> {
    let actions = std::fs::read_to_string(format!("/sys/kernel/irq/{irq}/actions")).ok()?;
    Some(actions.trim_end().to_string()).filter(|actions| !actions.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let address = 0xffff_ffff_8123_4560;
        for culprit in [
            Culprit::Task(name_hash(b"stress-ng\0\0\0\0\0\0\0")),
            Culprit::Softirq(3),
            Culprit::Timer(address),
            Culprit::Hrtimer(address),
            Culprit::Hardirq(24),
            Culprit::SystemInterrupt(4),
        ] {
            assert_eq!(Culprit::decode(culprit.encode()), Some(culprit), "{culprit:?}");
            assert_eq!(culprit.encode() >> KIND_SHIFT, culprit.kind() as u64);
        }
        assert_eq!(Culprit::decode(0xee << KIND_SHIFT), None, "an unknown kind");
    }
}

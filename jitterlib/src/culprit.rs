//! Culprits of a stall: what ran on a CPU while something there waited, packed into one u64 so that BPF code
//! can keep, compare and hand them over like any integer, and named again in user space.
//!
//! The top byte is the kind ([`CulpritKind`]); the rest is the kind's identity: a softirq vector, a hardirq
//! number, a task's thread id, or for timer and hrtimer callbacks the low 48 bits of the callback's kernel
//! address (kernel text addresses have every bit above bit 47 set, so the address is rebuilt by setting them).

use crate::kernel::SOFTIRQ_NAMES;

/// The name (after its probe's prefix) of the map in which a probe that reports task culprits keeps their
/// names: u32 thread id to the 16-byte `comm` the thread had when it became a culprit, so that a thread that has
/// exited by the time a culprit is printed is still named. Readers merge every map whose name ends with it.
pub const TASK_NAMES_MAP: &str = "task_names";
/// Threads a probe's [`TASK_NAMES_MAP`] holds; culprits beyond it are named from `/proc` while they live.
pub const TASK_NAMES: u32 = 1024;

/// Bits the kind is shifted left by.
pub const KIND_SHIFT: u32 = 56;
/// The bits of a kernel address that a culprit keeps.
pub const ADDRESS_MASK: u64 = (1 << 48) - 1;

/// What kind of thing a culprit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum CulpritKind {
    /// A task ran (in task context: the victim could not run because the task disabled bottom halves or
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
}

impl CulpritKind {
    /// Every kind, in tag order.
    pub const ALL: [CulpritKind; 5] =
        [CulpritKind::Task, CulpritKind::Softirq, CulpritKind::Timer, CulpritKind::Hrtimer, CulpritKind::Hardirq];

    /// The kind's name, the prefix of a culprit's text (`timer:estimation_timer`).
    pub fn name(self) -> &'static str {
        match self {
            CulpritKind::Task => "task",
            CulpritKind::Softirq => "softirq",
            CulpritKind::Timer => "timer",
            CulpritKind::Hrtimer => "hrtimer",
            CulpritKind::Hardirq => "hardirq",
        }
    }

    /// The tag in a culprit's top byte, shifted into place: what BPF code ORs into the identity.
    pub fn tag(self) -> u64 {
        (self as u64) << KIND_SHIFT
    }
}

/// A decoded culprit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Culprit {
    /// A task, by thread id (0 is the CPU's idle task).
    Task(u32),
    /// A softirq vector (0-9).
    Softirq(u32),
    /// A timer-wheel callback at this kernel address.
    Timer(u64),
    /// An hrtimer callback at this kernel address.
    Hrtimer(u64),
    /// A hardirq, by interrupt number.
    Hardirq(u32),
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
            CulpritKind::Task => Culprit::Task(small),
            CulpritKind::Softirq => Culprit::Softirq(small),
            CulpritKind::Timer => Culprit::Timer(id | !ADDRESS_MASK),
            CulpritKind::Hrtimer => Culprit::Hrtimer(id | !ADDRESS_MASK),
            CulpritKind::Hardirq => Culprit::Hardirq(small),
        })
    }

    /// The u64 BPF code writes for this culprit.
    pub fn encode(self) -> u64 {
        let (kind, id) = match self {
            Culprit::Task(tid) => (CulpritKind::Task, u64::from(tid)),
            Culprit::Softirq(vec) => (CulpritKind::Softirq, u64::from(vec)),
            Culprit::Timer(address) => (CulpritKind::Timer, address & ADDRESS_MASK),
            Culprit::Hrtimer(address) => (CulpritKind::Hrtimer, address & ADDRESS_MASK),
            Culprit::Hardirq(irq) => (CulpritKind::Hardirq, u64::from(irq)),
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
        }
    }

    /// The culprit as people read it, `kind:name`: `timer:estimation_timer`, `softirq:net_rx`,
    /// `hardirq:virtio0-input`, `task:stress-ng[4242]`; `names` turns addresses, interrupts and threads into
    /// names (numbers where it cannot).
    ///
    /// ```
    /// use jitterlib::culprit::{Culprit, CulpritNames};
    ///
    /// struct Numbers;
    /// impl CulpritNames for Numbers {
    ///     fn function(&self, address: u64) -> String { format!("0x{address:x}") }
    /// }
    /// assert_eq!(Culprit::Softirq(1).describe(&Numbers), "softirq:timer");
    /// assert_eq!(Culprit::Task(42).describe(&Numbers), "task:[42]");
    /// assert_eq!(Culprit::Task(0).describe(&Numbers), "task:swapper[0]");
    /// ```
    pub fn describe(self, names: &dyn CulpritNames) -> String {
        let name = match self {
            Culprit::Task(0) => "swapper[0]".to_string(),
            Culprit::Task(tid) => format!("{}[{tid}]", names.task(tid).unwrap_or_default()),
            Culprit::Softirq(vec) => match SOFTIRQ_NAMES.get(vec as usize) {
                Some(name) => name.to_string(),
                None => format!("vec{vec}"),
            },
            Culprit::Timer(address) | Culprit::Hrtimer(address) => names.function(address),
            Culprit::Hardirq(irq) => names.irq(irq).unwrap_or_else(|| irq.to_string()),
        };
        format!("{}:{name}", self.kind().name())
    }
}

/// Names for the identities culprits carry.
pub trait CulpritNames {
    /// The kernel function at `address` (`estimation_timer`).
    fn function(&self, address: u64) -> String;

    /// The name of thread `tid` (its `comm`), if it can be found.
    fn task(&self, tid: u32) -> Option<String> {
        let _ = tid;
        None
    }

    /// The name of interrupt `irq` (its handlers' names, `virtio0-input`), if it can be found.
    fn irq(&self, irq: u32) -> Option<String> {
        let _ = irq;
        None
    }
}

/// The thread names of a [`TASK_NAMES_MAP`]'s entries (key: u32 thread id, value: NUL-padded `comm`).
///
/// ```
/// use jitterlib::culprit::task_names;
///
/// let entries = vec![(7u32.to_ne_bytes().to_vec(), b"ping\0\0\0\0\0\0\0\0\0\0\0\0".to_vec())];
/// assert_eq!(task_names(&entries), [(7, "ping".to_string())]);
/// ```
pub fn task_names(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<(u32, String)> {
    entries
        .iter()
        .filter_map(|(key, value)| {
            let tid = u32::from_ne_bytes(key.get(..4)?.try_into().ok()?);
            let end = value.iter().position(|byte| *byte == 0).unwrap_or(value.len());
            Some((tid, String::from_utf8_lossy(&value[..end]).into_owned())).filter(|(_, name)| !name.is_empty())
        })
        .collect()
}

/// The `comm` of thread `tid` on this machine, from `/proc`.
pub fn live_task_name(tid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{tid}/comm")).ok()?;
    Some(comm.trim_end().to_string()).filter(|comm| !comm.is_empty())
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
            Culprit::Task(4242),
            Culprit::Softirq(3),
            Culprit::Timer(address),
            Culprit::Hrtimer(address),
            Culprit::Hardirq(24),
        ] {
            assert_eq!(Culprit::decode(culprit.encode()), Some(culprit), "{culprit:?}");
            assert_eq!(culprit.encode() >> KIND_SHIFT, culprit.kind() as u64);
        }
        assert_eq!(Culprit::decode(0xee << KIND_SHIFT), None, "an unknown kind");
    }
}

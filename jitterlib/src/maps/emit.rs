//! The code that reaches maps from a program: a helper call on a map with its key on the stack ([`map_call`]),
//! and the global counters generated code adds to ([`Counter`]).

use crate::insn::{AluOp, Builder, Helper, JmpOp, Reg, Size};

/// `helper(map, r10 + key)`, or with a value `helper(map, r10 + key, r10 + value, BPF_ANY)`: a map's lookup,
/// delete or update with the key (and value) on the stack.
///
/// ```
/// use jitterlib::insn::{Builder, Helper, Reg, Size};
/// use jitterlib::maps::map_call;
///
/// let mut b = Builder::new();
/// b.store_imm(Size::W, Reg::R10, -4, 0);
/// map_call(&mut b, Helper::MapLookupElem, 0, -4, None); // r0 = &map0[0] or NULL
/// ```
pub fn map_call(b: &mut Builder, helper: Helper, map: usize, key: i16, value: Option<i16>) {
    call_with(b, helper, map, key, value.map(|value| (value, BPF_ANY)));
}

/// `bpf_map_update_elem(map, r10 + key, r10 + value, BPF_NOEXIST)`: adds the key only when it is not there;
/// `r0` is [`EEXIST`] negated when it is (the value is then left as it was), as for any update otherwise.
/// Cheaper than a lookup then an update where the key is usually new.
pub fn map_insert(b: &mut Builder, map: usize, key: i16, value: i16) {
    call_with(b, Helper::MapUpdateElem, map, key, Some((value, BPF_NOEXIST)));
}

/// `EEXIST`: what `bpf_map_update_elem` with `BPF_NOEXIST` returns (negated) for a key that is there.
pub const EEXIST: i32 = 17;
const BPF_ANY: i32 = 0;
const BPF_NOEXIST: i32 = 1;

fn call_with(b: &mut Builder, helper: Helper, map: usize, key: i16, value: Option<(i16, i32)>) {
    b.ld_map(Reg::R1, map);
    b.stack_pointer(Reg::R2, key);
    if let Some((value, flags)) = value {
        b.stack_pointer(Reg::R3, value);
        b.mov64(Reg::R4, flags);
    }
    b.call(helper);
}

/// A u64 counter in the object's global counters map ([`MapKind::Global`](super::MapKind::Global)) that generated code
/// adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    /// Object-wide index of the global map.
    pub map: usize,
    /// Which u64 of its value.
    pub key: u32,
}

impl Counter {
    /// Adds one to the counter with one atomic add on its address (uses r1 and r2): four instruction slots,
    /// no helper call, whatever CPUs add at the same time.
    pub fn emit_increment(self, b: &mut Builder) {
        self.emit_address(b);
        Counter::emit_increment_at_r1(b);
    }

    /// `r1 = &counter` (two instruction slots).
    pub fn emit_address(self, b: &mut Builder) {
        b.ld_map_value(Reg::R1, self.map, 8 * self.key as i32);
    }

    /// Adds one to the counter `r1` points at (uses r2).
    fn emit_increment_at_r1(b: &mut Builder) {
        b.mov64(Reg::R2, 1);
        b.atomic_add(Size::DW, Reg::R1, 0, Reg::R2);
    }

    /// Adds one to this counter, or to `instead` when `r0` (a helper's return value) is `value`: one increment
    /// whose address picks the counter (uses r1 and r2). Five instruction slots when both counters are words
    /// of one map, as a script's are, six otherwise.
    ///
    /// ```
    /// use jitterlib::insn::{Builder, Helper};
    /// use jitterlib::maps::Counter;
    ///
    /// let mut b = Builder::new();
    /// b.call(Helper::GetStackid);
    /// let (lost, collided) = (Counter { map: 0, key: 3 }, Counter { map: 0, key: 4 });
    /// lost.emit_increment_or(collided, -17, &mut b); // -EEXIST: a hash collision
    /// ```
    pub fn emit_increment_or(self, instead: Counter, value: i32, b: &mut Builder) {
        let picked = b.new_label();
        self.emit_address(b);
        b.jump_if(JmpOp::Ne, Reg::R0, value, picked);
        match instead.map == self.map {
            true => b.alu64(AluOp::Add, Reg::R1, 8 * (instead.key as i32 - self.key as i32)),
            false => instead.emit_address(b),
        }
        b.bind(picked);
        Counter::emit_increment_at_r1(b);
    }

    /// Adds one to the counter unless `r0 op imm` holds: `emit_increment_unless(b, JmpOp::Sge, 0)` counts a
    /// helper call that returned an error (uses r1 and r2).
    ///
    /// ```
    /// use jitterlib::insn::{Builder, Helper, JmpOp};
    /// use jitterlib::maps::Counter;
    ///
    /// let mut b = Builder::new();
    /// b.call(Helper::MapUpdateElem);
    /// Counter { map: 0, key: 0 }.emit_increment_unless(&mut b, JmpOp::Sge, 0);
    /// ```
    pub fn emit_increment_unless(self, b: &mut Builder, op: JmpOp, imm: i32) {
        let ok = b.new_label();
        b.jump_if(op, Reg::R0, imm, ok);
        self.emit_increment(b);
        b.bind(ok);
    }
}

/// `E2BIG`: what `bpf_map_update_elem` returns (negated) for a new key when the map holds `max_entries` keys.
pub const E2BIG: i32 = 7;

/// The two counters of failed map updates, told apart by the error: `full` when the map already holds all the
/// keys it may (`-E2BIG`); `refused` for any other error. A map too large to preallocate
/// ([`HashAllocation`](super::HashAllocation)) has its entries allocated on insert from the kernel's BPF memory
/// allocator, which hands them out from a small per-CPU cache that it refills from an irq_work: a second new key
/// on a CPU before a refill (two keys in one run with interrupts off) fails with `-ENOMEM`. `-EBUSY` comes when
/// the key's bucket lock is held by a program this one interrupted on the same CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateFailures {
    /// Updates refused because the map was full.
    pub full: Counter,
    /// Updates refused for another reason (no memory ready, bucket busy).
    pub refused: Counter,
}

impl UpdateFailures {
    /// Adds one to `full` or `refused` when `r0`, a map update's return value, is an error (uses r1 and r2):
    /// one branch when the update succeeded, then one increment whose address the error picks
    /// ([`Counter::emit_increment_or`]).
    ///
    /// ```
    /// use jitterlib::insn::{Builder, Helper};
    /// use jitterlib::maps::{Counter, UpdateFailures};
    ///
    /// let mut b = Builder::new();
    /// b.call(Helper::MapUpdateElem);
    /// UpdateFailures { full: Counter { map: 0, key: 0 }, refused: Counter { map: 0, key: 1 } }.emit_count(&mut b);
    /// ```
    pub fn emit_count(self, b: &mut Builder) {
        let done = b.new_label();
        b.jump_if(JmpOp::Sge, Reg::R0, 0, done);
        self.refused.emit_increment_or(self.full, -E2BIG, b);
        b.bind(done);
    }
}

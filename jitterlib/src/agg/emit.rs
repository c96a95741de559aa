//! The BPF side of aggregations: the instructions that compute a histogram's bucket index and update an
//! aggregation map's per-CPU value, in the layouts [`AggKind`] documents and [`decode`](super::decode) reads.
//!
//! One implementation for every caller: jitterlang's code generator emits its aggregations through these
//! functions.
//!
//! Register use: r0-r5 are clobbered (helper calls); the value and the bucket index must be in r6-r9 (or r5 for
//! a bucket index already stored in the key before [`emit_update`] runs).
//!
//! `@ = hist(v)` with `v` in r7, map 1 the per-CPU hash, counter 0 of the global map 0 counting full maps:
//!
//! ```no_run
//! use jitterlib::agg::emit::{emit_bucket, emit_key_end, emit_update, Update};
//! use jitterlib::agg::{AggKind, MapLayout, MapValue, ValueFormat};
//! use jitterlib::insn::{Builder, Reg, Size};
//! use jitterlib::maps::{Counter, UpdateFailures};
//!
//! let layout = MapLayout { name: "@".into(), keys: vec![], value: MapValue::Agg { kind: AggKind::Hist { bits: 0 }, format: ValueFormat::Signed }, keys_in_programs: false };
//! let mut b = Builder::new();
//! b.load(Size::DW, Reg::R7, Reg::R1, 8);
//! emit_bucket(&mut b, AggKind::Hist { bits: 0 }, Reg::R7, Reg::R8);
//! emit_key_end(&mut b, &layout, -8, -8, Some(Reg::R8));
//! let map_updates = UpdateFailures { full: Counter { map: 0, key: 0 }, refused: Counter { map: 0, key: 1 } };
//! emit_update(&mut b, &Update { map: 1, kind: AggKind::Hist { bits: 0 }, key: -8, value: Some((Reg::R7, true)), init: Some(-16), map_updates });
//! b.mov64(Reg::R0, 0);
//! b.exit();
//! let program = b.finish()?;
//! # Ok::<(), jitterlib::insn::BuildError>(())
//! ```

use super::quantile::SUB_BUCKET_BITS;
use super::{AggKind, MapLayout, TSeriesAgg};
use crate::insn::{AluOp, Builder, Helper, JmpOp, Label, Operand, Reg, Size};
use crate::maps::{map_call, UpdateFailures};

/// The steps of a binary search for the highest set bit of a 64-bit value.
const ALL_SHIFTS: [i32; 6] = [32, 16, 8, 4, 2, 1];

/// One aggregation update: `map[key] = kind(value)`.
///
/// See the [module example](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Update {
    /// Object-wide index of the aggregation map (a per-CPU hash, or a one-slot per-CPU array).
    pub map: usize,
    /// The aggregation function.
    pub kind: AggKind,
    /// Stack offset (from r10) of the key, already stored (with a histogram's bucket index at its end).
    pub key: i16,
    /// The aggregated value and whether it is signed (`min`/`max` compare by it); `None` for `count`.
    pub value: Option<(Reg, bool)>,
    /// Stack offset of [`AggKind::value_size`] bytes where a new entry's value is built; `None` for an array
    /// ([`MapLayout::is_array`]), whose (zeroed) slots always exist.
    pub init: Option<i16>,
    /// The counters of failed inserts of a new entry.
    pub map_updates: UpdateFailures,
}

/// Finishes a key of `layout` at `r10 + key` whose fields the caller stored up to `r10 + end`: stores the
/// bucket index register after them (histograms; the whole `u32` key of a bucket array), or the 0 key of a map
/// without key fields. An aggregation keyed by names ([`MapLayout::name_slots`]) gets the `u32` slot of its
/// key's bucket at `r10 + key`, over the names' indexes (uses r0, and r1 for a key of several names), or the
/// slot past the end for a name beyond its table; a key of one name without buckets is already its slot.
///
/// ```
/// use jitterlib::agg::emit::{emit_bucket, emit_key_end, emit_update, Update};
/// use jitterlib::agg::{AggKind, MapLayout, MapValue, ValueFormat};
/// use jitterlib::insn::{Builder, Reg, Size};
/// use jitterlib::maps::Counter;
///
/// // `@[cpu] = count()`: the cpu (8 bytes at r10 - 8) is the whole key, nothing to add.
/// let layout = MapLayout { name: "@".into(), keys: vec![jitterlib::agg::FieldLayout::integer(ValueFormat::Unsigned)], value: MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Unsigned }, keys_in_programs: false };
/// let mut b = Builder::new();
/// emit_key_end(&mut b, &layout, -8, 0, None);
/// assert!(b.is_empty());
/// ```
pub fn emit_key_end(b: &mut Builder, layout: &MapLayout, key: i16, end: i16, bucket: Option<Reg>) {
    if let Some(slots) = layout.name_slots().filter(|slots| bucket.is_some() || slots.names.len() > 1) {
        // A name beyond its table (a kernel's value outside its enum) would land in another key's slots, or
        // wrap: it gets the slot past the end, which the lookup does not find.
        let (beyond, store) = (b.new_label(), b.new_label());
        b.load(Size::DW, Reg::R0, Reg::R10, key);
        b.jump_if(JmpOp::Ge, Reg::R0, slots.names[0] as i32, beyond);
        for (field, names) in slots.names.iter().enumerate().skip(1) {
            b.alu64(AluOp::Mul, Reg::R0, *names as i32);
            b.load(Size::DW, Reg::R1, Reg::R10, key + 8 * field as i16);
            b.jump_if(JmpOp::Ge, Reg::R1, *names as i32, beyond);
            b.alu64(AluOp::Add, Reg::R0, Reg::R1);
        }
        if let Some(reg) = bucket {
            b.alu64(AluOp::Mul, Reg::R0, slots.buckets as i32);
            b.alu64(AluOp::Add, Reg::R0, reg);
        }
        b.jump(store);
        b.bind(beyond);
        b.mov64(Reg::R0, slots.slots() as i32);
        b.bind(store);
        b.store(Size::W, Reg::R10, key, Reg::R0);
        return;
    }
    match bucket {
        Some(reg) if layout.is_array() => b.store(Size::W, Reg::R10, end, reg),
        Some(reg) => b.store(Size::DW, Reg::R10, end, reg),
        None if layout.is_single_slot() => b.store_imm(Size::W, Reg::R10, key, 0),
        None if layout.keys.is_empty() => b.store_imm(Size::DW, Reg::R10, key, 0),
        None => {}
    }
}

/// Computes the bucket index of `value` into `idx` for a histogram `kind` (uses r1 and r2); emits nothing and
/// returns `false` for other kinds.
///
/// ```
/// use jitterlib::agg::emit::{emit_bucket, emit_key_end, emit_update, Update};
/// use jitterlib::agg::{AggKind, MapLayout, MapValue, ValueFormat};
/// use jitterlib::insn::{Builder, Reg, Size};
/// use jitterlib::maps::Counter;
///
/// let mut b = Builder::new();
/// assert!(emit_bucket(&mut b, AggKind::Quantiles, Reg::R7, Reg::R8));
/// assert!(!emit_bucket(&mut b, AggKind::Sum, Reg::R7, Reg::R8));
/// ```
pub fn emit_bucket(b: &mut Builder, kind: AggKind, value: Reg, idx: Reg) -> bool {
    match kind {
        AggKind::Hist { bits } => hist_bucket(b, value, idx, bits),
        AggKind::TimeHist => timehist_bucket(b, value, idx),
        AggKind::Quantiles => quantile_bucket(b, value, idx),
        AggKind::Lhist { min, max, step } => lhist_bucket(b, value, idx, min, max, step),
        _ => return false,
    }
    true
}

/// Starts a `tseries` update (`kind` must be [`AggKind::TSeries`]): reads its clock, stores the
/// interval's epoch (time divided by the interval) at `r10 + stamp` and the time at `r10 + stamp + 8`, and
/// puts the ring slot (`epoch % intervals`), which ends the key, in `idx`. Clobbers r0-r5, so the value must
/// be in r6-r9; follow with [`emit_key_end`] and [`emit_tseries_update`].
///
/// ```
/// use jitterlib::agg::emit::{emit_key_end, emit_tseries_slot, emit_tseries_update, Update};
/// use jitterlib::agg::{AggKind, MapLayout, MapValue, TSeriesAgg, ValueFormat};
/// use jitterlib::insn::{Builder, Reg, Size};
/// use jitterlib::maps::{Counter, UpdateFailures};
///
/// // `@[cpu] = tseries(v, 1s, 5, "sum")` with `v` in r7: key at r10 - 16, stamp at r10 - 32.
/// let kind = AggKind::tseries(1_000_000_000, 5, TSeriesAgg::Sum, true)?;
/// let keys = vec![jitterlib::agg::FieldLayout::integer(ValueFormat::Unsigned)];
/// let layout = MapLayout { name: "@".into(), keys, value: MapValue::Agg { kind, format: ValueFormat::Signed }, keys_in_programs: false };
/// let mut b = Builder::new();
/// b.load(Size::DW, Reg::R7, Reg::R1, 8);
/// emit_tseries_slot(&mut b, kind, Reg::R8, -32);
/// b.store_imm(Size::DW, Reg::R10, -16, 0);
/// emit_key_end(&mut b, &layout, -16, -8, Some(Reg::R8));
/// let map_updates = UpdateFailures { full: Counter { map: 0, key: 0 }, refused: Counter { map: 0, key: 1 } };
/// emit_tseries_update(&mut b, &Update { map: 1, kind, key: -16, value: Some((Reg::R7, true)), init: Some(-56), map_updates }, -32);
/// # Ok::<(), jitterlib::agg::AggError>(())
/// ```
pub fn emit_tseries_slot(b: &mut Builder, kind: AggKind, idx: Reg, stamp: i16) {
    let AggKind::TSeries { interval_ns, intervals, tai, .. } = kind else { return };
    b.call(if tai { Helper::KtimeGetTaiNs } else { Helper::KtimeGetNs });
    b.store(Size::DW, Reg::R10, stamp + 8, Reg::R0);
    match i32::try_from(interval_ns) {
        Ok(imm) => b.alu64(AluOp::Div, Reg::R0, imm),
        Err(_) => {
            b.ld_imm64(Reg::R1, interval_ns);
            b.alu64(AluOp::Div, Reg::R0, Reg::R1);
        }
    }
    b.store(Size::DW, Reg::R10, stamp, Reg::R0);
    if intervals > 1 {
        // At most TSERIES_MAX_INTERVALS: an immediate.
        b.alu64(AluOp::Mod, Reg::R0, intervals as i32);
        b.mov64(idx, Reg::R0);
    } else {
        b.mov64(idx, 0);
    }
}

/// Ends a `tseries` update whose key and stamp [`emit_tseries_slot`] prepared: a slot last written in an
/// older interval starts afresh (value and meta 0, the new epoch), then the value is combined as the
/// [`TSeriesAgg`] says; a new entry is built at `init` and inserted. See [`emit_tseries_slot`].
pub fn emit_tseries_update(b: &mut Builder, update: &Update, stamp: i16) {
    let (AggKind::TSeries { agg, .. }, Some((value, signed))) = (update.kind, update.value) else { return };
    emit_lookup(b, update.map, update.key);
    let init = b.new_label();
    let done = b.new_label();
    b.jump_if(JmpOp::Eq, Reg::R0, 0, if update.init.is_some() { init } else { done });
    let current = b.new_label();
    b.load(Size::DW, Reg::R1, Reg::R10, stamp);
    b.load(Size::DW, Reg::R2, Reg::R0, 16);
    b.jump_if(JmpOp::Eq, Reg::R2, Reg::R1, current);
    b.store_imm(Size::DW, Reg::R0, 0, 0);
    b.store_imm(Size::DW, Reg::R0, 8, 0);
    b.store(Size::DW, Reg::R0, 16, Reg::R1);
    b.bind(current);
    match agg {
        TSeriesAgg::Last => {
            b.store(Size::DW, Reg::R0, 0, value);
            b.load(Size::DW, Reg::R1, Reg::R10, stamp + 8);
            b.store(Size::DW, Reg::R0, 8, Reg::R1);
        }
        TSeriesAgg::Sum => update_existing(b, AggKind::Sum, update.value, done),
        TSeriesAgg::Avg => update_existing(b, AggKind::Avg, update.value, done),
        TSeriesAgg::Min => update_existing(b, AggKind::Min, Some((value, signed)), done),
        TSeriesAgg::Max => update_existing(b, AggKind::Max, Some((value, signed)), done),
    }
    if let Some(slot) = update.init {
        b.jump(done);
        b.bind(init);
        b.store(Size::DW, Reg::R10, slot, value);
        match agg {
            TSeriesAgg::Last => {
                b.load(Size::DW, Reg::R1, Reg::R10, stamp + 8);
                b.store(Size::DW, Reg::R10, slot + 8, Reg::R1);
            }
            TSeriesAgg::Sum => b.store_imm(Size::DW, Reg::R10, slot + 8, 0),
            TSeriesAgg::Avg | TSeriesAgg::Min | TSeriesAgg::Max => b.store_imm(Size::DW, Reg::R10, slot + 8, 1),
        }
        b.load(Size::DW, Reg::R1, Reg::R10, stamp);
        b.store(Size::DW, Reg::R10, slot + 16, Reg::R1);
        emit_map_update(b, update.map, update.key, slot, update.map_updates);
    }
    b.bind(done);
}

/// Emits `update`: looks the key up, updates the existing per-CPU value, or inserts the first value
/// (a `tseries` goes through [`emit_tseries_update`] instead).
///
/// See the [module example](self).
pub fn emit_update(b: &mut Builder, update: &Update) {
    emit_lookup(b, update.map, update.key);
    let init = b.new_label();
    let done = b.new_label();
    // An array always has its (zeroed) slots: the miss branch only satisfies the verifier.
    b.jump_if(JmpOp::Eq, Reg::R0, 0, if update.init.is_some() { init } else { done });
    update_existing(b, update.kind, update.value, done);
    if let Some(slot) = update.init {
        b.jump(done);
        b.bind(init);
        match (update.kind, update.value) {
            (AggKind::Sum, Some((v, _))) => b.store(Size::DW, Reg::R10, slot, v),
            (AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Stats, Some((v, _))) => {
                b.store(Size::DW, Reg::R10, slot, v);
                b.store_imm(Size::DW, Reg::R10, slot + 8, 1);
            }
            _ => b.store_imm(Size::DW, Reg::R10, slot, 1),
        }
        emit_map_update(b, update.map, update.key, slot, update.map_updates);
    }
    b.bind(done);
}

/// An aggregation's value read in a program: `dst = map[key]`, see [`emit_read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// Object-wide index of the aggregation map (a per-CPU hash, or a one-slot per-CPU array).
    pub map: usize,
    /// The aggregation: [`AggKind::Count`], [`AggKind::Sum`], [`AggKind::Min`], [`AggKind::Max`] or
    /// [`AggKind::Avg`] (others read as a sum of their first word).
    pub kind: AggKind,
    /// Whether `min`/`max` values compare signed.
    pub signed: bool,
    /// Stack offset (from r10) of the key, already stored.
    pub key: i16,
    /// Stack offset of 16 bytes the read uses: the CPU index, then the total count or whether a value was seen.
    pub scratch: i16,
    /// How many CPUs the machine can have: the values read.
    pub cpus: u32,
}

/// `dst = map[r10 + key]` for a `count`, `sum`, `min`, `max` or `avg` aggregation read in a program: the
/// per-CPU values of the key, fetched CPU by CPU with `bpf_map_lookup_percpu_elem` (Linux 5.19), merged as
/// user space merges them ([`decode`](super::decode)): counts and sums added, the smallest or largest value a
/// CPU saw, the mean of all values (truncated toward zero). 0 when the key is absent, or when no CPU saw a
/// `min`/`max` value. `dst` must be one of r6-r9; clobbers r0-r5.
///
/// ```
/// use jitterlib::agg::emit::{emit_read, Read};
/// use jitterlib::agg::AggKind;
/// use jitterlib::insn::{Builder, Reg, Size};
///
/// // `$x = @` of `@ = count()` (a one-slot per-CPU array, map 1) on a machine of 4 CPUs.
/// let mut b = Builder::new();
/// b.store_imm(Size::W, Reg::R10, -4, 0);
/// emit_read(&mut b, &Read { map: 1, kind: AggKind::Count, signed: false, key: -4, scratch: -24, cpus: 4 }, Reg::R7);
/// ```
pub fn emit_read(b: &mut Builder, read: &Read, dst: Reg) {
    let Read { map, kind, signed, key, scratch, cpus } = *read;
    let (cpu, seen) = (scratch, scratch + 8);
    let (next, end) = (b.new_label(), b.new_label());
    b.mov64(dst, 0);
    b.store_imm(Size::DW, Reg::R10, cpu, 0);
    b.store_imm(Size::DW, Reg::R10, seen, 0);
    b.bind(next);
    b.load(Size::DW, Reg::R3, Reg::R10, cpu);
    b.jump_if(JmpOp::Ge, Reg::R3, i32::try_from(cpus).unwrap_or(i32::MAX), end);
    map_call(b, Helper::MapLookupPercpuElem, map, key, None);
    b.load(Size::DW, Reg::R1, Reg::R10, cpu);
    b.alu64(AluOp::Add, Reg::R1, 1);
    b.store(Size::DW, Reg::R10, cpu, Reg::R1);
    // Only CPU 0 can miss: the key is absent. Past the last CPU id the helper returns NULL too.
    b.jump_if(JmpOp::Eq, Reg::R0, 0, end);
    b.load(Size::DW, Reg::R1, Reg::R0, 0);
    match kind {
        AggKind::Min | AggKind::Max => {
            let take = b.new_label();
            b.load(Size::DW, Reg::R2, Reg::R0, 8);
            b.jump_if(JmpOp::Eq, Reg::R2, 0, next);
            b.load(Size::DW, Reg::R2, Reg::R10, seen);
            b.jump_if(JmpOp::Eq, Reg::R2, 0, take);
            let keep = match (kind, signed) {
                (AggKind::Min, true) => JmpOp::Sge,
                (AggKind::Min, false) => JmpOp::Ge,
                (_, true) => JmpOp::Sle,
                (_, false) => JmpOp::Le,
            };
            b.jump_if(keep, Reg::R1, dst, next);
            b.bind(take);
            b.mov64(dst, Reg::R1);
            b.store_imm(Size::DW, Reg::R10, seen, 1);
        }
        AggKind::Avg => {
            b.alu64(AluOp::Add, dst, Reg::R1);
            b.load(Size::DW, Reg::R1, Reg::R0, 8);
            b.load(Size::DW, Reg::R2, Reg::R10, seen);
            b.alu64(AluOp::Add, Reg::R2, Reg::R1);
            b.store(Size::DW, Reg::R10, seen, Reg::R2);
        }
        _ => b.alu64(AluOp::Add, dst, Reg::R1),
    }
    b.jump(next);
    b.bind(end);
    if kind == AggKind::Avg {
        // BPF divides unsigned (and by zero gives zero, the mean of no values): a negative total is divided
        // as its magnitude, so that the mean truncates toward zero as user space's does.
        let (positive, done) = (b.new_label(), b.new_label());
        b.load(Size::DW, Reg::R1, Reg::R10, seen);
        b.jump_if(JmpOp::Sge, dst, 0, positive);
        b.alu64(AluOp::Neg, dst, 0);
        b.alu64(AluOp::Div, dst, Reg::R1);
        b.alu64(AluOp::Neg, dst, 0);
        b.jump(done);
        b.bind(positive);
        b.alu64(AluOp::Div, dst, Reg::R1);
        b.bind(done);
    }
}

/// `r0 = bpf_map_lookup_elem(map, r10 + key)`.
///
/// ```
/// use jitterlib::agg::emit::emit_lookup;
/// use jitterlib::insn::{Builder, Reg, Size};
///
/// let mut b = Builder::new();
/// b.store_imm(Size::W, Reg::R10, -4, 0);
/// emit_lookup(&mut b, 0, -4); // r0 = &map0[0] or NULL
/// ```
pub fn emit_lookup(b: &mut Builder, map: usize, key: i16) {
    map_call(b, Helper::MapLookupElem, map, key, None);
}

/// `bpf_map_update_elem(map, r10 + key, r10 + value, BPF_ANY)`, counting it in `failures` when it fails.
///
/// ```
/// use jitterlib::agg::emit::emit_map_update;
/// use jitterlib::insn::{Builder, Reg, Size};
/// use jitterlib::maps::{Counter, UpdateFailures};
///
/// let mut b = Builder::new();
/// b.store_imm(Size::DW, Reg::R10, -8, 42); // key
/// b.store_imm(Size::DW, Reg::R10, -16, 1); // value
/// let failures = UpdateFailures { full: Counter { map: 0, key: 0 }, refused: Counter { map: 0, key: 1 } };
/// emit_map_update(&mut b, 1, -8, -16, failures);
/// ```
pub fn emit_map_update(b: &mut Builder, map: usize, key: i16, value: i16, failures: UpdateFailures) {
    map_call(b, Helper::MapUpdateElem, map, key, Some(value));
    failures.emit_count(b);
}

/// `map[r10 + key] = r10 + value`, a value of one load `width`: stored into the existing value when the key
/// is there (one store, which readers see whole), else inserted with [`emit_map_update`]. For a hash map the
/// lookup is the cheaper of the two: an update allocates a new element and frees the old one even when the
/// key exists (2.8 us against 0.3 us per cold run of `@start[cpu] = nsecs` on Linux 6.18).
///
/// ```
/// use jitterlib::agg::emit::emit_map_store;
/// use jitterlib::insn::{Builder, Reg, Size};
/// use jitterlib::maps::{Counter, UpdateFailures};
///
/// let mut b = Builder::new();
/// b.store_imm(Size::DW, Reg::R10, -8, 42); // key
/// b.store_imm(Size::DW, Reg::R10, -16, 1); // value
/// let failures = UpdateFailures { full: Counter { map: 0, key: 0 }, refused: Counter { map: 0, key: 1 } };
/// emit_map_store(&mut b, 1, -8, -16, Size::DW, failures);
/// ```
pub fn emit_map_store(b: &mut Builder, map: usize, key: i16, value: i16, width: Size, failures: UpdateFailures) {
    let (insert, done) = (b.new_label(), b.new_label());
    emit_lookup(b, map, key);
    b.jump_if(JmpOp::Eq, Reg::R0, 0, insert);
    b.load(width, Reg::R1, Reg::R10, value);
    b.store(width, Reg::R0, 0, Reg::R1);
    b.jump(done);
    b.bind(insert);
    emit_map_update(b, map, key, value, failures);
    b.bind(done);
}

/// The update of an existing per-CPU value at `r0`.
fn update_existing(b: &mut Builder, kind: AggKind, value: Option<(Reg, bool)>, done: Label) {
    match (kind, value) {
        (AggKind::Sum, Some((v, _))) => add(b, Reg::R0, 0, v),
        (AggKind::Avg | AggKind::Stats, Some((v, _))) => {
            add(b, Reg::R0, 0, v);
            increment(b, Reg::R0, 8);
        }
        (AggKind::Min | AggKind::Max, Some((v, signed))) => {
            let set = b.new_label();
            b.load(Size::DW, Reg::R1, Reg::R0, 8);
            b.jump_if(JmpOp::Eq, Reg::R1, 0, set);
            b.load(Size::DW, Reg::R1, Reg::R0, 0);
            let keep = match (kind, signed) {
                (AggKind::Min, true) => JmpOp::Sge,
                (AggKind::Min, false) => JmpOp::Ge,
                (_, true) => JmpOp::Sle,
                (_, false) => JmpOp::Le,
            };
            b.jump_if(keep, v, Reg::R1, done);
            b.bind(set);
            b.store(Size::DW, Reg::R0, 0, v);
            b.store_imm(Size::DW, Reg::R0, 8, 1);
        }
        _ => increment(b, Reg::R0, 0),
    }
}

/// `*(u64 *)(base + offset) += 1` (uses r1). The value is per-CPU, so the add need not be atomic, but an atomic
/// add is one instruction where a load, add and store are three.
fn increment(b: &mut Builder, base: Reg, offset: i16) {
    b.mov64(Reg::R1, 1);
    add(b, base, offset, Reg::R1);
}

/// `*(u64 *)(base + offset) += value`, in one (atomic) instruction.
fn add(b: &mut Builder, base: Reg, offset: i16, value: Reg) {
    b.atomic_add(Size::DW, base, offset, value);
}

/// Bucket of `hist(v, bits)` (see [`hist_bucket`](super::hist_bucket)): 0 below zero, `v + 1` for the values
/// with a bucket each, else the log-linear index plus one. Plain `hist(v)` (no sub-buckets) needs no mask.
fn hist_bucket(b: &mut Builder, value: Reg, idx: Reg, bits: u8) {
    let done = b.new_label();
    b.mov64(idx, 0);
    b.jump_if(JmpOp::Slt, value, 0, done);
    if bits == 0 {
        b.mov64(idx, 1);
        b.jump_if(JmpOp::Eq, value, 0, done);
        b.mov64(Reg::R1, value);
        b.mov64(idx, 2);
        log2_into(b, idx, &ALL_SHIFTS);
    } else {
        b.mov64(idx, value);
        b.alu64(AluOp::Add, idx, 1);
        b.jump_if(JmpOp::Lt, value, 1 << bits, done);
        log_linear_index(b, value, idx, u32::from(bits), 1);
    }
    b.bind(done);
}

/// `idx = ((p - bits + 1) << bits) + s + base` for `value >= 2^bits`, `p = floor(log2 value)` and `s` the `bits`
/// bits after the leading one: the log-linear index `hist(v, bits)` and `quantiles()` share (uses r1 and r2).
fn log_linear_index(b: &mut Builder, value: Reg, idx: Reg, bits: u32, base: i32) {
    let sub_buckets = 1 << bits;
    b.mov64(Reg::R1, value);
    b.mov64(idx, 0);
    log2_into(b, idx, &ALL_SHIFTS);
    b.mov64(Reg::R2, idx);
    b.alu64(AluOp::Sub, Reg::R2, bits as i32);
    b.mov64(Reg::R1, value);
    b.alu64(AluOp::Rsh, Reg::R1, Reg::R2);
    b.alu64(AluOp::And, Reg::R1, sub_buckets - 1);
    b.alu64(AluOp::Lsh, idx, bits as i32);
    let offset = base - sub_buckets * (bits as i32 - 1);
    if offset < 0 {
        b.alu64(AluOp::Sub, idx, -offset);
    } else if offset > 0 {
        b.alu64(AluOp::Add, idx, offset);
    }
    b.alu64(AluOp::Add, idx, Reg::R1);
}

/// Bucket of a duration histogram: log2 within each SI unit (ns, us, ms), open-ended in seconds.
fn timehist_bucket(b: &mut Builder, value: Reg, idx: Reg) {
    let done = b.new_label();
    let scaled = b.new_label();
    b.mov64(idx, 0);
    b.jump_if(JmpOp::Sle, value, 0, done);
    b.mov64(Reg::R1, value);
    b.mov64(idx, 1);
    // Nanoseconds need no scaling: one jump straight to the log2 steps.
    b.jump_if(JmpOp::Lt, value, 1_000, scaled);
    for (limit, scale, base) in [(1_000_000, 1_000, 11), (1_000_000_000, 1_000_000, 21)] {
        let next = b.new_label();
        b.jump_if(JmpOp::Ge, value, limit, next);
        b.alu64(AluOp::Div, Reg::R1, scale);
        b.mov64(idx, base);
        b.jump(scaled);
        b.bind(next);
    }
    b.alu64(AluOp::Div, Reg::R1, 1_000_000_000);
    b.mov64(idx, 31);
    // Only the open-ended seconds can exceed 1000 (10 bits): the wide steps are theirs alone.
    log2_into(b, idx, &ALL_SHIFTS[..2]);
    b.bind(scaled);
    log2_into(b, idx, &ALL_SHIFTS[2..]);
    b.bind(done);
}

/// Bucket of `quantiles()` (see [`quantile`](super::quantile)): `v` below 16 (0 when negative), else
/// `16 * (k - 3) + s` with `k = floor(log2(v))` and `s` the 4 bits after the leading one.
fn quantile_bucket(b: &mut Builder, value: Reg, idx: Reg) {
    let done = b.new_label();
    b.mov64(idx, 0);
    b.jump_if(JmpOp::Slt, value, 0, done);
    b.mov64(idx, value);
    b.jump_if(JmpOp::Lt, value, 1 << SUB_BUCKET_BITS, done);
    log_linear_index(b, value, idx, SUB_BUCKET_BITS, 0);
    b.bind(done);
}

/// Bucket of a linear histogram.
fn lhist_bucket(b: &mut Builder, value: Reg, idx: Reg, min: i64, max: i64, step: i64) {
    let done = b.new_label();
    b.mov64(idx, 0);
    let below = constant_operand(b, min);
    b.jump_if(JmpOp::Slt, value, below, done);
    b.mov_i64(idx, (max - min) / step + 1);
    let above = constant_operand(b, max);
    b.jump_if(JmpOp::Sge, value, above, done);
    b.mov64(idx, value);
    if min != 0 {
        let min = constant_operand(b, min);
        b.alu64(AluOp::Sub, idx, min);
    }
    if step != 1 {
        // `AggKind::lhist` checked the bounds: step > 0, so an immediate divisor needs no zero check.
        let step = constant_operand(b, step);
        b.alu64(AluOp::Div, idx, step);
    }
    b.alu64(AluOp::Add, idx, 1);
    b.bind(done);
}

/// `value` as an instruction's immediate when it fits, else loaded into `r1`.
fn constant_operand(b: &mut Builder, value: i64) -> Operand {
    match i32::try_from(value) {
        Ok(imm) => imm.into(),
        Err(_) => {
            b.ld_imm64(Reg::R1, value as u64);
            Reg::R1.into()
        }
    }
}

/// `idx += floor(log2(r1))` for r1 > 0, without loops: a binary search over `shifts` (descending powers of two
/// whose sum covers the bits r1 can have), one compare with an immediate per step below 32 (uses r2 for the
/// 32-bit step only, whose bound does not fit an immediate). r1 is left shifted.
fn log2_into(b: &mut Builder, idx: Reg, shifts: &[i32]) {
    for &shift in shifts {
        let skip = b.new_label();
        if shift >= 31 {
            b.mov64(Reg::R2, Reg::R1);
            b.alu64(AluOp::Rsh, Reg::R2, shift);
            b.jump_if(JmpOp::Eq, Reg::R2, 0, skip);
            b.mov64(Reg::R1, Reg::R2);
        } else {
            b.jump_if(JmpOp::Lt, Reg::R1, 1 << shift, skip);
            if shift > 1 {
                b.alu64(AluOp::Rsh, Reg::R1, shift);
            }
        }
        b.alu64(AluOp::Add, idx, shift);
        b.bind(skip);
    }
}

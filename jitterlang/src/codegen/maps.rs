//! Map keys, lookups, aggregation updates, plain stores and the lost-data counters.

use super::{Gen, Stat, STATS_MAP_INDEX};
use crate::diag::{Diagnostic, Span};
use crate::ir::Expr;
use jitterlib::agg::quantile::SUB_BUCKET_BITS;
use jitterlib::agg::AggKind;
use jitterlib::insn::{AluOp, Helper, JmpOp, Label, Operand, Reg, Size};
use jitterlib::probe::Counter;

type Result<T> = std::result::Result<T, Diagnostic>;

/// `BPF_ANY` for `bpf_map_update_elem`.
const BPF_ANY: i32 = 0;

/// The steps of a binary search for the highest set bit of a 64-bit value.
const ALL_SHIFTS: [i32; 6] = [32, 16, 8, 4, 2, 1];

impl Gen<'_> {
    /// Builds the key of user map `map` on the stack and returns its offset. `bucket`, when given, is the
    /// register holding a histogram bucket index, stored after the user's keys.
    pub(super) fn key(&mut self, map: usize, keys: &[Expr], bucket: Option<Reg>, span: Span) -> Result<i16> {
        let layout = &self.checked.maps[map].layout;
        let key_size = layout.key_size();
        let key = self.frame.alloc(key_size, span)?;
        let mut offset = key;
        for expr in keys {
            self.value_into(expr, offset)?;
            offset += expr.ty.size() as i16;
        }
        match bucket {
            Some(reg) if layout.is_array() => self.b.store(Size::W, Reg::R10, offset, reg),
            Some(reg) => self.b.store(Size::DW, Reg::R10, offset, reg),
            None if layout.is_single_slot() => self.b.store_imm(Size::W, Reg::R10, key, 0),
            None if keys.is_empty() => self.b.store_imm(Size::DW, Reg::R10, key, 0),
            None => {}
        }
        Ok(key)
    }

    /// `r0 = bpf_map_lookup_elem(map, r10 + key)`.
    pub(super) fn lookup(&mut self, map: usize, key: i16) {
        self.b.ld_map(Reg::R1, map);
        self.pointer_to_stack(Reg::R2, key);
        self.b.call(Helper::MapLookupElem);
    }

    /// `bpf_map_update_elem(map, r10 + key, r10 + value, BPF_ANY)`, counting failures.
    fn update(&mut self, map: usize, key: i16, value: i16) {
        self.b.ld_map(Reg::R1, map);
        self.pointer_to_stack(Reg::R2, key);
        self.pointer_to_stack(Reg::R3, value);
        self.b.mov64(Reg::R4, BPF_ANY);
        self.b.call(Helper::MapUpdateElem);
        self.count_failure(Stat::MapFull);
    }

    /// Adds one to a lost-data counter when `r0` (a helper's return value) is negative.
    pub(super) fn count_failure(&mut self, stat: Stat) {
        self.count_unless(JmpOp::Sge, 0, stat)
    }

    /// Adds one to a lost-data counter unless `r0 op imm` holds.
    pub(super) fn count_unless(&mut self, op: JmpOp, imm: i32, stat: Stat) {
        let ok = self.b.new_label();
        self.b.jump_if(op, Reg::R0, imm, ok);
        self.count(stat);
        self.b.bind(ok);
    }

    /// Adds one to a lost-data counter (clobbers r1 and r2).
    pub(super) fn count(&mut self, stat: Stat) {
        self.counter(stat).emit_increment(&mut self.b);
    }

    /// The global counter of `stat`.
    pub(super) fn counter(&self, stat: Stat) -> Counter {
        Counter { map: STATS_MAP_INDEX, key: stat as u32 }
    }

    /// `*(u64 *)(base + offset) += 1` (uses r1). The value is per-CPU, so the add need not be atomic, but an
    /// atomic add is one instruction where a load, add and store are three.
    fn increment(&mut self, base: Reg, offset: i16) {
        self.b.mov64(Reg::R1, 1);
        self.add(base, offset, Reg::R1);
    }

    /// `@map[keys] = kind(value)`.
    pub(super) fn aggregate(
        &mut self,
        map: usize,
        keys: &[Expr],
        kind: AggKind,
        value: Option<&Expr>,
        span: Span,
    ) -> Result<()> {
        let value_reg = match value {
            Some(expr) => Some(self.value(expr)?),
            None => None,
        };
        let bucket = match (kind, value_reg) {
            (AggKind::Hist, Some(v)) => Some(self.hist_bucket(v)),
            (AggKind::TimeHist, Some(v)) => Some(self.timehist_bucket(v)),
            (AggKind::Quantiles, Some(v)) => Some(self.quantile_bucket(v)),
            (AggKind::Lhist { min, max, step }, Some(v)) => Some(self.lhist_bucket(v, min, max, step)),
            _ => None,
        };
        let key = self.key(map, keys, bucket, span)?;
        if let Some(reg) = bucket {
            self.frame.give(reg);
        }
        let object_map = self.user_map(map);
        self.lookup(object_map, key);
        let init = self.b.new_label();
        let done = self.b.new_label();
        let array = self.checked.maps[map].layout.is_array();
        // An array always has its (zeroed) slots: the miss branch only satisfies the verifier.
        self.b.jump_if(JmpOp::Eq, Reg::R0, 0, if array { done } else { init });
        self.update_existing(kind, value_reg, value.is_some_and(|v| v.ty.is_signed()), done);
        if array {
            return self.finish_aggregate(done, value_reg);
        }
        self.b.jump(done);
        self.b.bind(init);
        let slot = self.frame.alloc(kind.value_size(), span)?;
        match (kind, value_reg) {
            (AggKind::Sum, Some(v)) => self.b.store(Size::DW, Reg::R10, slot, v),
            (AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Stats, Some(v)) => {
                self.b.store(Size::DW, Reg::R10, slot, v);
                self.b.store_imm(Size::DW, Reg::R10, slot + 8, 1);
            }
            _ => self.b.store_imm(Size::DW, Reg::R10, slot, 1),
        }
        self.update(object_map, key, slot);
        self.finish_aggregate(done, value_reg)
    }

    fn finish_aggregate(&mut self, done: Label, value_reg: Option<Reg>) -> Result<()> {
        self.b.bind(done);
        if let Some(reg) = value_reg {
            self.frame.give(reg);
        }
        Ok(())
    }

    /// The update of an existing per-CPU value at `r0`.
    fn update_existing(&mut self, kind: AggKind, value: Option<Reg>, signed: bool, done: Label) {
        match (kind, value) {
            (AggKind::Sum, Some(v)) => self.add(Reg::R0, 0, v),
            (AggKind::Avg | AggKind::Stats, Some(v)) => {
                self.add(Reg::R0, 0, v);
                self.increment(Reg::R0, 8);
            }
            (AggKind::Min | AggKind::Max, Some(v)) => {
                let set = self.b.new_label();
                self.b.load(Size::DW, Reg::R1, Reg::R0, 8);
                self.b.jump_if(JmpOp::Eq, Reg::R1, 0, set);
                self.b.load(Size::DW, Reg::R1, Reg::R0, 0);
                let keep = match (kind, signed) {
                    (AggKind::Min, true) => JmpOp::Sge,
                    (AggKind::Min, false) => JmpOp::Ge,
                    (_, true) => JmpOp::Sle,
                    (_, false) => JmpOp::Le,
                };
                self.b.jump_if(keep, v, Reg::R1, done);
                self.b.bind(set);
                self.b.store(Size::DW, Reg::R0, 0, v);
                self.b.store_imm(Size::DW, Reg::R0, 8, 1);
            }
            _ => self.increment(Reg::R0, 0),
        }
    }

    /// `*(u64 *)(base + offset) += value`, in one (atomic) instruction.
    fn add(&mut self, base: Reg, offset: i16, value: Reg) {
        self.b.atomic_add(Size::DW, base, offset, value);
    }

    /// `delete(@map[keys])`; the slot of a one-slot array cannot be deleted, so it is zeroed.
    pub(super) fn delete(&mut self, map: usize, keys: &[Expr]) -> Result<()> {
        let span = keys.first().map(|key| key.span).unwrap_or_default();
        let key = self.key(map, keys, None, span)?;
        let layout = &self.checked.maps[map].layout;
        let (single_slot, value_size) = (layout.is_single_slot(), layout.value_size());
        if !single_slot {
            self.b.ld_map(Reg::R1, self.user_map(map));
            self.pointer_to_stack(Reg::R2, key);
            self.b.call(Helper::MapDeleteElem);
            return Ok(());
        }
        let done = self.b.new_label();
        self.lookup(self.user_map(map), key);
        self.b.jump_if(JmpOp::Eq, Reg::R0, 0, done);
        for offset in (0..value_size).step_by(8) {
            self.b.store_imm(Size::DW, Reg::R0, offset as i16, 0);
        }
        self.b.bind(done);
        Ok(())
    }

    /// `@map[keys] = value` on a plain hash map. The key goes first: expressions have no side effects, and
    /// keys are often context fields, which `r1` still holds before the value's helper calls.
    pub(super) fn store_map(&mut self, map: usize, keys: &[Expr], value: &Expr, span: Span) -> Result<()> {
        let key = self.key(map, keys, None, span)?;
        let slot = self.frame.alloc(value.ty.size(), span)?;
        self.value_into(value, slot)?;
        self.update(self.user_map(map), key, slot);
        Ok(())
    }

    /// Bucket of bpftrace's log2 histogram: 0 for v < 0, 1 for 0, 2 + floor(log2(v)) above.
    fn hist_bucket(&mut self, value: Reg) -> Reg {
        let idx = self.scratch_bucket();
        let done = self.b.new_label();
        self.b.mov64(idx, 0);
        self.b.jump_if(JmpOp::Slt, value, 0, done);
        self.b.mov64(idx, 1);
        self.b.jump_if(JmpOp::Eq, value, 0, done);
        self.b.mov64(Reg::R1, value);
        self.b.mov64(idx, 2);
        self.log2_into(idx, &ALL_SHIFTS);
        self.b.bind(done);
        idx
    }

    /// Bucket of a duration histogram: log2 within each SI unit (ns, us, ms), open-ended in seconds.
    fn timehist_bucket(&mut self, value: Reg) -> Reg {
        let idx = self.scratch_bucket();
        let done = self.b.new_label();
        let scaled = self.b.new_label();
        self.b.mov64(idx, 0);
        self.b.jump_if(JmpOp::Sle, value, 0, done);
        self.b.mov64(Reg::R1, value);
        self.b.mov64(idx, 1);
        for (limit, scale, base) in [(1_000, 1, 1), (1_000_000, 1_000, 11), (1_000_000_000, 1_000_000, 21)] {
            let next = self.b.new_label();
            self.b.jump_if(JmpOp::Ge, value, limit, next);
            if scale > 1 {
                self.b.alu64(AluOp::Div, Reg::R1, scale);
                self.b.mov64(idx, base);
            }
            self.b.jump(scaled);
            self.b.bind(next);
        }
        self.b.alu64(AluOp::Div, Reg::R1, 1_000_000_000);
        self.b.mov64(idx, 31);
        // Only the open-ended seconds can exceed 1000 (10 bits): the wide steps are theirs alone.
        self.log2_into(idx, &ALL_SHIFTS[..2]);
        self.b.bind(scaled);
        self.log2_into(idx, &ALL_SHIFTS[2..]);
        self.b.bind(done);
        idx
    }

    /// Bucket of `quantiles()` (see `jitterlib::agg::quantile`): `v` below 16 (0 when negative), else
    /// `16 * (k - 3) + s` with `k = floor(log2(v))` and `s` the 4 bits after the leading one.
    fn quantile_bucket(&mut self, value: Reg) -> Reg {
        let sub_buckets = 1 << SUB_BUCKET_BITS;
        let idx = self.scratch_bucket();
        let done = self.b.new_label();
        self.b.mov64(idx, 0);
        self.b.jump_if(JmpOp::Slt, value, 0, done);
        self.b.mov64(idx, value);
        self.b.jump_if(JmpOp::Lt, value, sub_buckets, done);
        self.b.mov64(Reg::R1, value);
        self.b.mov64(idx, 0);
        self.log2_into(idx, &ALL_SHIFTS);
        self.b.mov64(Reg::R2, idx);
        self.b.alu64(AluOp::Sub, Reg::R2, SUB_BUCKET_BITS as i32);
        self.b.mov64(Reg::R1, value);
        self.b.alu64(AluOp::Rsh, Reg::R1, Reg::R2);
        self.b.alu64(AluOp::And, Reg::R1, sub_buckets - 1);
        self.b.alu64(AluOp::Lsh, idx, SUB_BUCKET_BITS as i32);
        self.b.alu64(AluOp::Sub, idx, sub_buckets * (SUB_BUCKET_BITS as i32 - 1));
        self.b.alu64(AluOp::Add, idx, Reg::R1);
        self.b.bind(done);
        idx
    }

    /// Bucket of a linear histogram.
    fn lhist_bucket(&mut self, value: Reg, min: i64, max: i64, step: i64) -> Reg {
        let idx = self.scratch_bucket();
        let done = self.b.new_label();
        self.b.mov64(idx, 0);
        let below = self.constant_operand(min);
        self.b.jump_if(JmpOp::Slt, value, below, done);
        self.constant_into(idx, (max - min) / step + 1);
        let above = self.constant_operand(max);
        self.b.jump_if(JmpOp::Sge, value, above, done);
        self.b.mov64(idx, value);
        if min != 0 {
            let min = self.constant_operand(min);
            self.b.alu64(AluOp::Sub, idx, min);
        }
        if step != 1 {
            // The bounds were checked in sema: step > 0, so an immediate divisor needs no zero check.
            let step = self.constant_operand(step);
            self.b.alu64(AluOp::Div, idx, step);
        }
        self.b.alu64(AluOp::Add, idx, 1);
        self.b.bind(done);
        idx
    }

    /// `value` as an instruction's immediate when it fits, else loaded into `r1`.
    fn constant_operand(&mut self, value: i64) -> Operand {
        match i32::try_from(value) {
            Ok(imm) => imm.into(),
            Err(_) => {
                self.b.ld_imm64(Reg::R1, value as u64);
                Reg::R1.into()
            }
        }
    }

    fn constant_into(&mut self, reg: Reg, value: i64) {
        match i32::try_from(value) {
            Ok(imm) => self.b.mov64(reg, imm),
            Err(_) => self.b.ld_imm64(reg, value as u64),
        }
    }

    /// A register for a bucket index: a free temporary, or `r9`'s neighbour when all are taken.
    fn scratch_bucket(&mut self) -> Reg {
        self.frame.take().unwrap_or(Reg::R5)
    }

    /// `idx += floor(log2(r1))` for r1 > 0, without loops: a binary search over `shifts` (descending powers
    /// of two whose sum covers the bits r1 can have), one compare with an immediate per step below 32 (uses r2
    /// for the 32-bit step only, whose bound does not fit an immediate). r1 is left shifted.
    fn log2_into(&mut self, idx: Reg, shifts: &[i32]) {
        for &shift in shifts {
            let skip = self.b.new_label();
            if shift >= 31 {
                self.b.mov64(Reg::R2, Reg::R1);
                self.b.alu64(AluOp::Rsh, Reg::R2, shift);
                self.b.jump_if(JmpOp::Eq, Reg::R2, 0, skip);
                self.b.mov64(Reg::R1, Reg::R2);
            } else {
                self.b.jump_if(JmpOp::Lt, Reg::R1, 1 << shift, skip);
                if shift > 1 {
                    self.b.alu64(AluOp::Rsh, Reg::R1, shift);
                }
            }
            self.b.alu64(AluOp::Add, idx, shift);
            self.b.bind(skip);
        }
    }
}

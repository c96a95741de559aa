//! Map keys, lookups, aggregation updates, plain stores and the lost-data counters.

use super::{Gen, STATS_MAP_INDEX};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::Expr;
use crate::wire::Stat;
use jitterlib::agg::{emit, AggKind, MapValue, ValueFormat};
use jitterlib::insn::{Helper, JmpOp, Reg, Size};
use jitterlib::maps::{map_call, Counter, UpdateFailures};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// Builds the key of user map `map` on the stack and returns its offset. `bucket`, when given, is the
    /// register holding a histogram bucket index, stored after the user's keys.
    pub(super) fn key(&mut self, map: usize, keys: &[Expr], bucket: Option<Reg>, span: Span) -> Result<i16> {
        let info = &self.checked.maps[map];
        let key = self.frame.alloc(info.layout.key_room(), span)?;
        let mut offset = key;
        for (expr, ty) in keys.iter().zip(&info.key_types) {
            // A string shorter than the map's key (another use wrote a longer one) is NUL-padded to it.
            self.value_as(expr, offset, *ty)?;
            offset += ty.size() as i16;
        }
        let layout = &self.checked.maps[map].layout;
        emit::emit_key_end(&mut self.b, layout, key, offset, bucket);
        Ok(key)
    }

    /// `r0 = bpf_map_lookup_elem(map, r10 + key)`.
    pub(super) fn lookup(&mut self, map: usize, key: i16) {
        emit::emit_lookup(&mut self.b, map, key);
    }

    /// Adds one to a lost-data counter when `r0` (a helper's return value) is negative.
    pub(super) fn count_failure(&mut self, stat: Stat) {
        self.count_unless(JmpOp::Sge, 0, stat)
    }

    /// Adds one to a lost-data counter unless `r0 op imm` holds.
    pub(super) fn count_unless(&mut self, op: JmpOp, imm: i32, stat: Stat) {
        self.counter(stat).emit_increment_unless(&mut self.b, op, imm);
    }

    /// The global counter of `stat`.
    pub(super) fn counter(&self, stat: Stat) -> Counter {
        Counter { map: STATS_MAP_INDEX, key: stat as u32 }
    }

    /// The counters of failed map updates: `map_full` and `map_refused`.
    pub(super) fn map_updates(&self) -> UpdateFailures {
        UpdateFailures { full: self.counter(Stat::MapFull), refused: self.counter(Stat::MapRefused) }
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
        // A tseries keeps its interval's epoch and the time on the stack: the map lookup clobbers r0-r5.
        let stamp = match kind {
            AggKind::TSeries { .. } => Some(self.frame.alloc(16, span)?),
            _ => None,
        };
        let bucket = match value_reg {
            Some(v) if kind.is_histogram() => {
                let idx = self.scratch_bucket();
                match stamp {
                    Some(stamp) => emit::emit_tseries_slot(&mut self.b, kind, idx, stamp),
                    None => {
                        emit::emit_bucket(&mut self.b, kind, v, idx);
                    }
                }
                Some(idx)
            }
            _ => None,
        };
        let key = self.key(map, keys, bucket, span)?;
        if let Some(reg) = bucket {
            self.frame.give(reg);
        }
        let init = match self.checked.maps[map].layout.is_array() {
            true => None,
            false => Some(self.frame.alloc(kind.value_size(), span)?),
        };
        let signed = value.is_some_and(|v| v.ty.is_signed());
        let update = emit::Update {
            map: self.user_map(map),
            kind,
            key,
            value: value_reg.map(|reg| (reg, signed)),
            init,
            map_updates: self.map_updates(),
        };
        match stamp {
            Some(stamp) => emit::emit_tseries_update(&mut self.b, &update, stamp),
            None => emit::emit_update(&mut self.b, &update),
        }
        if let Some(reg) = value_reg {
            self.frame.give(reg);
        }
        Ok(())
    }

    /// `dst = @map[keys]` of a `count()`, `sum()`, `min()`, `max()` or `avg()` map: its values on the `cpus`
    /// CPUs merged.
    pub(super) fn read_aggregation(
        &mut self,
        map: usize,
        keys: &[Expr],
        cpus: u32,
        dst: Reg,
        span: Span,
    ) -> Result<()> {
        let mark = self.frame.mark();
        let key = self.key(map, keys, None, span)?;
        self.merge_cpus(map, key, cpus, dst, span)?;
        self.frame.release(mark);
        Ok(())
    }

    /// `dst` = the values on the `cpus` CPUs of aggregation `map`'s entry whose key is at `r10 + key`, merged
    /// ([`emit::emit_read`]); `dst` is one of r6-r9.
    pub(super) fn merge_cpus(&mut self, map: usize, key: i16, cpus: u32, dst: Reg, span: Span) -> Result<()> {
        let MapValue::Agg { kind, format } = self.checked.maps[map].layout.value else {
            return Err(Diagnostic::new(Code::Internal, span, "a per-CPU read of a map that is no aggregation"));
        };
        let scratch = self.frame.alloc(16, span)?;
        let signed = format == ValueFormat::Signed;
        let read = emit::Read { map: self.user_map(map), kind, signed, key, scratch, cpus };
        emit::emit_read(&mut self.b, &read, dst);
        Ok(())
    }

    /// `delete(@map[keys])`; the slot of a one-slot array cannot be deleted, so it is zeroed.
    pub(super) fn delete(&mut self, map: usize, keys: &[Expr]) -> Result<()> {
        let span = keys.first().map(|key| key.span).unwrap_or_default();
        let key = self.key(map, keys, None, span)?;
        let layout = &self.checked.maps[map].layout;
        let (single_slot, value_size) = (layout.is_single_slot(), layout.value_size());
        if !single_slot {
            let object_map = self.user_map(map);
            map_call(&mut self.b, Helper::MapDeleteElem, object_map, key, None);
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

    /// `@map[keys] = value` on a plain hash map: a value of one word is written in place when the key exists
    /// ([`emit::emit_map_store`]), a larger one (a string, a tuple) replaces the element, which readers then
    /// never see half-written. The key goes first: expressions have no side effects, and keys are often
    /// context fields, which `r1` still holds before the value's helper calls.
    pub(super) fn store_map(&mut self, map: usize, keys: &[Expr], value: &Expr, span: Span) -> Result<()> {
        let key = self.key(map, keys, None, span)?;
        // A value narrower than the map's (a shorter string, alone or in a tuple) is NUL-padded to it.
        let ty = self.checked.maps[map].value_type.unwrap_or(value.ty);
        let slot = self.frame.alloc(ty.size(), span)?;
        self.value_as(value, slot, ty)?;
        let object_map = self.user_map(map);
        let failures = self.map_updates();
        match Size::from_bytes(ty.size()) {
            Some(width) => emit::emit_map_store(&mut self.b, object_map, key, slot, width, failures),
            None => emit::emit_map_update(&mut self.b, object_map, key, slot, failures),
        }
        Ok(())
    }

    /// A register for a bucket index: a free temporary, or `r9`'s neighbour when all are taken.
    fn scratch_bucket(&mut self) -> Reg {
        self.frame.take().unwrap_or(Reg::R5)
    }
}

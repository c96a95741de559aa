//! `for ($kv : @m) { body }`: the body becomes a callback of `bpf_for_each_map_elem`. The callback has a stack
//! frame of its own, laid out like the probe's down to the loop (the body's own slots come below), and it starts
//! with a copy of the probe's variables at their offsets: the body's code reads and writes variables exactly as
//! the probe's does. The loop variable is then set from the entry's key and value, and after the entry the
//! variables are copied back, so what the body assigned is seen by the next entry and after the loop. Nothing else
//! is copied: the body reads no probe context, and the verifier refuses a stack pointer (a nested loop's) written
//! into the caller's frame. The callback returns 0 to go on with the next entry, 1 to stop (`break`, `exit()`,
//! `return`, which also sets a variable that makes the probe return after the loop).

use super::frame::Frame;
use super::Gen;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{Stmt, StmtKind};
use jitterlib::insn::{Builder, Helper, Reg, Size};

type Result<T> = std::result::Result<T, Diagnostic>;

impl Gen<'_> {
    /// `for ($kv : @map)`, `$kv` being variable `var`; `cpus` for an aggregation whose values are merged.
    pub(super) fn for_map(
        &mut self,
        map: usize,
        var: usize,
        body: &[Stmt],
        cpus: Option<u32>,
        span: Span,
    ) -> Result<()> {
        // The probe's frame from its top down to here, which the callback's frame keeps for the same layout.
        let frame_bytes = self.frame.mark();
        let layout = &self.checked.maps[map].layout;
        let key_size: u32 = layout.keys.iter().map(|key| key.size).sum();
        let value_size = layout.value_size();
        let outer = (
            std::mem::replace(&mut self.b, Builder::new()),
            std::mem::replace(&mut self.frame, Frame::new(frame_bytes as u32)),
            std::mem::take(&mut self.loops),
            self.exit,
        );
        let built = self.map_loop_callback(map, var, (key_size, value_size), cpus, body, span);
        let callback = std::mem::replace(&mut self.b, outer.0);
        (self.frame, self.loops, self.exit) = (outer.1, outer.2, outer.3);
        built?;
        let callback = callback.finish().map_err(|error| {
            Diagnostic::new(Code::Internal, span, format!("cannot assemble this loop's body: {error}"))
        })?;
        let callback = self.b.callback(callback);
        self.b.ld_map(Reg::R1, self.user_map(map));
        self.b.ld_callback(Reg::R2, callback);
        self.b.stack_pointer(Reg::R3, -self.vars_bytes.end as i16);
        self.b.mov64(Reg::R4, 0);
        self.b.call(Helper::ForEachMapElem);
        Ok(())
    }

    /// The callback `(map, key, value, variables)`: `variables` points at the bottom of the probe's variables.
    /// The loop variable is the entry's key and value (an aggregation's, of `cpus`, merged across them).
    fn map_loop_callback(
        &mut self,
        map: usize,
        var: usize,
        (key_size, value_size): (u32, u32),
        cpus: Option<u32>,
        body: &[Stmt],
        span: Span,
    ) -> Result<()> {
        self.b.comment("for each entry: the probe's variables copied in, the loop variable set");
        let (bottom, bytes) = (-self.vars_bytes.end as i16, (self.vars_bytes.end - self.vars_bytes.start) as i16);
        let saved = self.frame.alloc(8, span)?;
        self.b.store(Size::DW, Reg::R10, saved, Reg::R4);
        for word in (0..bytes).step_by(8) {
            self.b.load(Size::DW, Reg::R0, Reg::R4, word);
            self.b.store(Size::DW, Reg::R10, bottom + word, Reg::R0);
        }
        let slot = self.vars[var];
        let value_size = if cpus.is_some() { 0 } else { value_size };
        for (from, size, to) in [(Reg::R2, key_size, slot), (Reg::R3, value_size, slot + key_size as i16)] {
            for word in (0..size as i16).step_by(8) {
                self.b.load(Size::DW, Reg::R0, from, word);
                self.b.store(Size::DW, Reg::R10, to + word, Reg::R0);
            }
        }
        if let Some(cpus) = cpus {
            // The entry's value is this CPU's share: the key, copied to the loop variable, reads them all.
            let mark = self.frame.mark();
            self.merge_cpus(map, slot, cpus, Reg::R6, span)?;
            self.b.store(Size::DW, Reg::R10, slot + key_size as i16, Reg::R6);
            self.frame.release(mark);
        }
        let stop = self.b.new_label();
        let next = self.b.new_label();
        let done = self.b.new_label();
        self.exit = stop;
        let (falls_through, labels) = self.loop_body(body, stop, next)?;
        let stops = labels.broke || body.iter().any(exits);
        if falls_through || labels.continued {
            self.b.bind(next);
            self.b.mov64(Reg::R0, 0);
            if stops {
                self.b.jump(done);
            }
        }
        if stops {
            self.b.bind(stop);
            self.b.mov64(Reg::R0, 1);
        }
        self.b.bind(done);
        self.b.comment("the variables copied back");
        self.b.load(Size::DW, Reg::R1, Reg::R10, saved);
        for word in (0..bytes).step_by(8) {
            self.b.load(Size::DW, Reg::R2, Reg::R10, bottom + word);
            self.b.store(Size::DW, Reg::R1, word, Reg::R2);
        }
        self.b.exit();
        Ok(())
    }
}

/// Whether a statement of the loop body holds an `exit()` or a `return`, which stop the loop (an `exit()` in a
/// nested `for` over a map stops that loop only, a `return` every loop).
fn exits(stmt: &Stmt) -> bool {
    match &stmt.kind {
        StmtKind::Exit { .. } | StmtKind::Return | StmtKind::ForMap { returned: Some(_), .. } => true,
        StmtKind::If { then, otherwise, .. } => then.iter().chain(otherwise).any(exits),
        StmtKind::While { body, .. } | StmtKind::Unroll { body, .. } => body.iter().any(exits),
        _ => false,
    }
}

//! The start/stop gate: one u64 that every attached program reads before its block and leaves at once while it is
//! zero, so that all of an object's probes start and stop reporting at the same instant.
//!
//! Probes attach one after the other and detach one after the other (a perf-event tracepoint takes tens of
//! milliseconds to detach), so without the gate the first probe attached counts events the last one never sees.
//! The gate is closed when the object is loaded; [`crate::session::Session::attach_all`] opens it once every
//! program is attached, and [`crate::session::Session::detach_all`] closes it before detaching any, then waits for
//! the runs already past it: the maps then hold one window, the same for every probe. A program can close it
//! too ([`Gate::emit_close`]: a script's `exit()`), which stops every probe at that event.
//!
//! The check is three instructions and no helper call (a `BPF_PSEUDO_MAP_VALUE` load of the gate's address, a
//! load, a branch): global data, Linux 5.2. Its value is a map of its own, not a word of the counters' `.bss`,
//! because user space can only write a whole map value and must not overwrite counters programs add to meanwhile.

use super::{MapKind, MapSpec};
use crate::insn::{Builder, JmpOp, Label, Reg, Size};

/// The name aya gives the gate's map (its ELF section): the session opens and closes the gate through it.
pub const GATE_MAP_NAME: &str = ".bss.jl_gate";

/// The gate of an object: the object index of its [`MapKind::Gate`] map.
///
/// ```
/// use jitterlib::insn::Builder;
/// use jitterlib::maps::Gate;
///
/// let mut b = Builder::new();
/// let closed = b.new_label();
/// Gate { map: 2 }.emit_check(&mut b, closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Object index of the gate's map ([`Gate::map_spec`]).
    pub map: usize,
}

impl Gate {
    /// The declaration of the gate's map, named `name` in the object.
    pub fn map_spec(name: &str) -> MapSpec {
        MapSpec { name: name.into(), kind: MapKind::Gate, key_size: 4, value_size: 8, max_entries: 1, on_insert: false }
    }

    /// Closes the gate from a program (a script's `exit()`): `r0 = &gate; *(u64 *)(r0 + 0) = 0`. Every program's
    /// block is skipped from then on, without waiting for user space to stop them. Uses r0.
    pub fn emit_close(self, b: &mut Builder) {
        b.comment("close the start/stop gate");
        b.ld_map_value(Reg::R0, self.map, 0);
        b.store_imm(Size::DW, Reg::R0, 0, 0);
    }

    /// Jumps to `closed` while the gate is closed: `r0 = &gate; r0 = *(u64 *)(r0 + 0); if r0 == 0 goto closed`.
    /// Uses r0 only, which is then 0 where `closed` is reached.
    pub fn emit_check(self, b: &mut Builder, closed: Label) {
        b.comment("start/stop gate");
        b.ld_map_value(Reg::R0, self.map, 0);
        b.load(Size::DW, Reg::R0, Reg::R0, 0);
        b.jump_if(JmpOp::Eq, Reg::R0, 0, closed);
    }
}

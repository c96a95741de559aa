//! The one driver of a probe's programs, shared by jitterlang's code generation and [`crate::trace`]: at each
//! of the probe's points, the context saved in `r6`, the probe's prologue, the start/stop [`Gate`], what runs there
//! (a script's block, a trace's aggregation), the exit returning 0 and the peephole passes; then the object
//! holding the programs.
//!
//! The gate guards the block, not the prologue: a probe's own bookkeeping (entry stamps, pairing state, its
//! companions, which have no gate) goes on whether the gate is open or not, so a callback that began before the
//! gate opened is still measured when it ends inside the window, and nothing the block reports happens outside it.

use crate::insn::{BuildError, Builder, Label, Program, Reg};
use crate::maps::{Counter, Gate, HashAllocation, MapSpec, UpdateFailures};
use crate::object::{write_object, ObjectError, ProgramSection};
use crate::probe::{EmitEnv, Probe};
use crate::session::Attach;

/// The object-wide u64 counters the generated code adds to (see [`EmitEnv`]).
#[derive(Clone, Copy, Debug)]
pub struct Counters {
    /// Map updates that failed: the map full, or refused otherwise.
    pub map_updates: UpdateFailures,
    /// What did not fit a probe's fixed per-CPU slots.
    pub slots_full: Counter,
    /// `skb()` hops dropped because the address held another packet.
    pub skb_reused: Counter,
    /// `skb()` hops dropped because the point cannot follow the packet's last one.
    pub skb_out_of_order: Counter,
}

/// What runs at a probe's point after its prologue, written into the builder it owns.
pub trait PointBody {
    /// Why the body could not be written.
    type Error;
    /// The builder the program is written into.
    fn builder(&mut self) -> &mut Builder;
    /// Writes the body. It may leave early through the exit label the program was driven with.
    fn emit(&mut self) -> Result<(), Self::Error>;
}

/// Where a probe's program runs and what it may use: which point, the object indices of the probe's own maps
/// ([`Probe::maps`] order) and the counters.
#[derive(Clone, Copy, Debug)]
pub struct PointSite<'a> {
    /// Which of [`Probe::points`] the program runs at.
    pub point: usize,
    /// Whether the body runs there ([`crate::probe::Point::fires`]); otherwise only the prologue does.
    pub fires: bool,
    /// The object indices of the probe's own maps.
    pub maps: &'a [usize],
    /// The counters its code adds to.
    pub counters: Counters,
    /// The gate the block waits behind: `None` for programs that run on demand (`BEGIN`, `END`), whose runs
    /// are the edges.
    pub gate: Option<Gate>,
    /// Whether the block does nothing (empty, no predicate): see [`EmitEnv::empty_block`].
    pub empty_block: bool,
}

/// Writes the program of `probe` at `site` into `body`'s builder: the context saved in `r6`, the prologue, where
/// the point fires the gate check and the body, then `exit` (a label of that builder) bound before the epilogue
/// and `return 0`.
///
/// ```
/// use jitterlib::driver::{emit_point, finish_point, Counters, PointBody, PointSite};
/// use jitterlib::insn::Builder;
/// use jitterlib::kernel::FixtureKernel;
/// use jitterlib::maps::{Counter, Gate, UpdateFailures};
/// use jitterlib::probe::{resolve, ProbeSpec};
///
/// struct Nothing(Builder);
/// impl PointBody for Nothing {
///     type Error = ();
///     fn builder(&mut self) -> &mut Builder {
///         &mut self.0
///     }
///     fn emit(&mut self) -> Result<(), ()> {
///         Ok(())
///     }
/// }
///
/// let probe = resolve(&ProbeSpec::Typed { name: "hrtimer".into(), args: vec![] }, &FixtureKernel::bundled())?;
/// let counter = Counter { map: 0, key: 0 };
/// let map_updates = UpdateFailures { full: counter, refused: counter };
/// let counters = Counters { map_updates, slots_full: counter, skb_reused: counter, skb_out_of_order: counter };
/// let mut body = Nothing(Builder::new());
/// let exit = body.0.new_label();
/// let site = PointSite { point: 0, fires: true, maps: &[1], counters, gate: Some(Gate { map: 2 }), empty_block: false };
/// emit_point(&mut body, probe.as_ref(), exit, &site).expect("nothing to fail");
/// assert!(finish_point(body.0).expect("assembles").len() > 2);
/// # Ok::<(), jitterlib::probe::ProbeError>(())
/// ```
pub fn emit_point<B: PointBody>(
    body: &mut B,
    probe: &dyn Probe,
    exit: Label,
    site: &PointSite,
) -> Result<(), B::Error> {
    let b = body.builder();
    b.comment(probe.describe());
    b.mov64(Reg::R6, Reg::R1);
    let env = EmitEnv {
        ctx: Reg::R6,
        exit,
        maps: site.maps,
        point: site.point,
        map_updates: site.counters.map_updates,
        slots_full: site.counters.slots_full,
        skb_reused: site.counters.skb_reused,
        skb_out_of_order: site.counters.skb_out_of_order,
        empty_block: site.empty_block,
    };
    probe.emit_prologue(b, &env);
    if site.fires {
        if let Some(gate) = site.gate {
            gate.emit_check(b, exit);
        }
        body.emit()?;
    }
    let b = body.builder();
    b.bind(exit);
    probe.emit_epilogue(b, &env);
    b.mov64(Reg::R0, 0);
    b.exit();
    Ok(())
}

/// The program `b` holds, after the peephole passes every probe program gets: most bodies read the context only
/// before their first helper call, so `r1` keeps it, and helper results are stored straight from `r0`.
pub fn finish_point(b: Builder) -> Result<Program, BuildError> {
    let mut program = b.finish()?;
    program.keep_context_in_r1();
    program.store_results_directly();
    Ok(program)
}

/// The ELF object of `programs` (name, where it attaches, instructions) and `maps`, each program in the section
/// its attachment names.
pub fn write_programs<'a>(
    programs: impl IntoIterator<Item = (&'a str, &'a Attach, &'a Program)>,
    maps: &[MapSpec],
    allocation: HashAllocation,
) -> Result<Vec<u8>, ObjectError> {
    let programs: Vec<(&str, String, &Program)> =
        programs.into_iter().map(|(name, attach, program)| (name, attach.section_name(), program)).collect();
    let sections: Vec<ProgramSection> =
        programs.iter().map(|(name, section, program)| ProgramSection { name, section, program }).collect();
    write_object(&sections, maps, allocation)
}

//! One dispatcher program per direction for the syscall events of a script: attached to `raw_syscalls:sys_enter`
//! (`sys_exit`), it reads the call's number and jumps with `bpf_tail_call` to slot NUMBER of a program array,
//! where the first event program of that syscall waits. So one program runs at every system call, whatever the
//! number of events, and an event's program runs only at calls of its number (one raw program per event cost
//! about 0.2 µs per event at every system call). The only event of its direction needs no dispatcher: its own
//! program attaches to the raw tracepoint and compares the call's number first.
//!
//! Several events on one syscall are chained: each one's program ends with a tail call to the next one's slot,
//! past the syscall numbers ([`FIRST_CHAIN_SLOT`] on), whether its block ran or not. A tail call needs programs
//! of the dispatcher's type (raw tracepoint programs all), keeps the context (`r1`) and replaces the running
//! program, whose stack is gone; the kernel allows 33 tail calls in a row, the dispatcher's included, so at most
//! [`MAX_CHAINED`] events per syscall and direction are chained, and any more keep their perf-event tracepoint.
//! Fusing the blocks of one syscall into one program would save the chained tail calls (a few ns each) but
//! would make them share one 512-byte stack and one verifier budget; chaining keeps each event's program as it
//! would be alone.

use super::{companion_program, read_kernel, Probe, ProbeError};
use crate::insn::{Builder, Helper, JmpOp, Program, Reg, Size};
use crate::maps::{MapKind, MapSpec};

/// Slots below this are syscall numbers (the x86-64 numbers end below 512, where the x32 ones begin); the events
/// chained after the first on their syscall get the slots from here on.
pub(super) const FIRST_CHAIN_SLOT: u32 = 512;
/// At most this many events of one direction chained on one syscall: the kernel runs at most 33 tail calls in
/// a row (`MAX_TAIL_CALL_CNT`, 32 before Linux 5.17), one of them the dispatcher's.
pub const MAX_CHAINED: usize = 32;
/// `pt_regs.orig_ax` (x86-64): the syscall number at exit.
const ORIG_AX: i32 = 120;

/// Where a syscall event's program sits in its dispatcher's program array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DispatchSlot {
    /// Its slot: the syscall's number, or a chain slot for an event after the first on its syscall.
    pub slot: u32,
    /// The slot of the next event on the same syscall, which its program jumps to at its end.
    pub next: Option<u32>,
    /// The program array's size: the same for every event of the direction.
    pub slots: u32,
    /// How many events the dispatcher serves, when this event's probe emits it (the first one of the
    /// direction); `None` for the others.
    pub lead: Option<usize>,
}

/// A syscall event served by a dispatcher: its direction and its syscall's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    /// Whether it is a `sys_exit_` event.
    pub exit: bool,
    /// The x86-64 syscall number.
    pub number: u32,
}

/// The name of the program array of a direction's dispatcher.
pub(super) fn map_name(exit: bool) -> &'static str {
    match exit {
        false => "jl_sys_enter",
        true => "jl_sys_exit",
    }
}

/// The program array of a direction's dispatcher, of `slots` slots.
pub(super) fn map_spec(exit: bool, slots: u32) -> MapSpec {
    MapSpec {
        name: map_name(exit).into(),
        kind: MapKind::ProgArray,
        key_size: 4,
        value_size: 4,
        max_entries: slots,
        on_insert: false,
    }
}

/// The dispatcher of a direction, jumping through the program array of object index `map` of `slots` slots:
/// the number is `id` (the raw tracepoint's second argument) at entry and `regs->orig_ax` at exit. Numbers from
/// [`FIRST_CHAIN_SLOT`] on (and the x32 ones, with bit 30 set) land nowhere; an empty slot returns. The
/// number is compared with [`FIRST_CHAIN_SLOT`] only when chained events sit past it: otherwise the tail call's
/// own check does the same (an index from `slots` on returns; it reads the low 32 bits, and the kernel's own
/// syscall events read the number as an `int` too).
pub(super) fn dispatcher(exit: bool, map: usize, slots: u32) -> Result<Program, ProbeError> {
    let about = format!("{}: tail call to the programs of the call's number", map_name(exit));
    companion_program(about, |b, out| {
        match exit {
            false => b.load(Size::DW, Reg::R3, Reg::R1, 8),
            true => {
                b.mov64(Reg::R6, Reg::R1);
                b.load(Size::DW, Reg::R3, Reg::R1, 0);
                read_kernel(b, -8, 8, Reg::R3, ORIG_AX);
                b.load(Size::DW, Reg::R3, Reg::R10, -8);
                b.mov64(Reg::R1, Reg::R6);
            }
        }
        if slots > FIRST_CHAIN_SLOT {
            b.jump_if(JmpOp::Ge, Reg::R3, FIRST_CHAIN_SLOT as i32, out);
        }
        b.ld_map(Reg::R2, map);
        b.call(Helper::TailCall);
    })
}

/// The tail call to `next` at the end of an event's program (`ctx` holds the context, `map` is the object
/// index of the program array); when the slot is empty the program goes on to its return.
pub(super) fn emit_chain(b: &mut Builder, ctx: Reg, map: usize, next: u32) {
    b.comment(format!("the next program on this syscall: slot {next}"));
    b.mov64(Reg::R1, ctx);
    b.ld_map(Reg::R2, map);
    b.mov64(Reg::R3, next as i32);
    b.call(Helper::TailCall);
}

/// Gives every syscall event of `probes` served by a dispatcher ([`Probe::syscall_event`]) its slot, per
/// direction: the first event of each syscall at the syscall's number, the others chained after it, and the
/// first event of the direction emitting the dispatcher. The only event of its direction is left alone (it
/// compares the number itself). Events past [`MAX_CHAINED`] on one syscall keep their perf-event tracepoint. To
/// be called once all the script's probes are resolved, before their blocks are checked.
pub fn dispatch_syscalls(probes: &mut [Box<dyn Probe>]) {
    for exit in [false, true] {
        let mut chains: Vec<(u32, Vec<usize>)> = Vec::new();
        for (index, probe) in probes.iter().enumerate() {
            let Some(event) = probe.syscall_event().filter(|event| event.exit == exit) else { continue };
            match chains.iter_mut().find(|(number, _)| *number == event.number) {
                Some((_, chain)) => chain.push(index),
                None => chains.push((event.number, vec![index])),
            }
        }
        for (number, chain) in &mut chains {
            if chain.len() > MAX_CHAINED {
                let why = format!(
                    "{} events on syscall {number} would be chained, more than the {MAX_CHAINED} tail calls the \
                     kernel allows in a row",
                    chain.len()
                );
                chain.drain(MAX_CHAINED..).for_each(|index| probes[index].leave_raw_syscalls(&why));
            }
        }
        if let [(_, chain)] = chains.as_slice() {
            if chain.len() == 1 {
                continue;
            }
        }
        let chained: usize = chains.iter().map(|(_, chain)| chain.len() - 1).sum();
        let slots = FIRST_CHAIN_SLOT + chained as u32;
        let served = chains.iter().map(|(_, chain)| chain.len()).sum();
        let mut next_free = FIRST_CHAIN_SLOT;
        for (position, (number, chain)) in chains.iter().enumerate() {
            let mut at: Vec<u32> = vec![*number];
            for _ in 1..chain.len() {
                at.push(next_free);
                next_free += 1;
            }
            for (i, &index) in chain.iter().enumerate() {
                let lead = (position == 0 && i == 0).then_some(served);
                probes[index].dispatch(DispatchSlot { slot: at[i], next: at.get(i + 1).copied(), slots, lead });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::disassemble;
    use crate::kernel::FixtureKernel;
    use crate::probe::{resolve, ProbeSpec};
    use crate::session::Attach;

    fn event(name: &str) -> Box<dyn Probe> {
        let spec = ProbeSpec::Path(vec!["tracepoint".into(), "syscalls".into(), name.into()]);
        resolve(&spec, &FixtureKernel::bundled()).expect("the fixture has the syscall event")
    }

    fn slot(probe: &dyn Probe) -> (u32, String) {
        match probe.attach() {
            Attach::TailCall { slot, map, .. } => (slot, map),
            other => panic!("{} is not dispatched: {other:?}", probe.describe()),
        }
    }

    #[test]
    fn events_of_one_syscall_are_chained_past_the_numbers() {
        let mut probes: Vec<_> = [
            "sys_enter_getpid",
            "sys_exit_getpid",
            "sys_enter_write",
            "sys_enter_getpid",
            "sys_enter_getpid",
            "sys_exit_openat",
        ]
        .into_iter()
        .map(event)
        .collect();
        dispatch_syscalls(&mut probes);
        let slots: Vec<_> = probes.iter().map(|probe| slot(probe.as_ref())).collect();
        let enter = |slot: u32| (slot, "jl_sys_enter".to_string());
        let exit = |slot: u32| (slot, "jl_sys_exit".to_string());
        assert_eq!(slots, [enter(39), exit(39), enter(1), enter(512), enter(513), exit(257)]);
        assert_eq!(probes[0].maps(), [map_spec(false, 514)]);
        assert_eq!(probes[1].maps(), [map_spec(true, 512)]);
        let dispatchers: Vec<usize> =
            probes.iter().map(|probe| probe.companions(&[7]).expect("no error").len()).collect();
        assert_eq!(dispatchers, [1, 1, 0, 0, 0, 0], "one dispatcher per direction, from its first event");
    }

    #[test]
    fn the_only_event_of_a_direction_attaches_to_the_raw_tracepoint_itself() {
        let mut probes: Vec<_> =
            ["sys_exit_openat", "sys_enter_getpid", "sys_exit_getpid"].into_iter().map(event).collect();
        dispatch_syscalls(&mut probes);
        let alone = &probes[1];
        assert_eq!(alone.attach(), Attach::RawTracepoint { name: "sys_enter".into() });
        assert!(alone.maps().is_empty() && alone.companions(&[]).expect("no error").is_empty());
        assert_eq!((slot(probes[0].as_ref()).0, slot(probes[2].as_ref()).0), (257, 39), "the exits are dispatched");
    }

    #[test]
    fn past_the_tail_call_limit_events_keep_their_perf_event_tracepoint() {
        let mut probes: Vec<_> = (0..=MAX_CHAINED).map(|_| event("sys_enter_openat")).collect();
        dispatch_syscalls(&mut probes);
        assert_eq!(slot(probes[MAX_CHAINED - 1].as_ref()).0, FIRST_CHAIN_SLOT + MAX_CHAINED as u32 - 2);
        let last = &probes[MAX_CHAINED];
        assert_eq!(last.attach(), Attach::Tracepoint { category: "syscalls".into(), name: "sys_enter_openat".into() });
        assert!(last.notes()[0].contains("more than the 32 tail calls"), "{:?}", last.notes());
    }

    #[test]
    fn the_number_is_bounded_before_the_tail_call_only_when_chain_slots_follow_the_numbers() {
        let listing = |slots| disassemble(&dispatcher(false, 0, slots).unwrap(), &["jl_sys_enter"]);
        let bound = "if r3 >= 0x200";
        let alone = listing(FIRST_CHAIN_SLOT);
        assert!(!alone.contains(bound) && alone.contains("bpf_tail_call"), "{alone}");
        let chained = listing(FIRST_CHAIN_SLOT + 1);
        assert!(chained.contains(bound), "a call numbered 512 would run the first chained event:\n{chained}");
    }

    #[test]
    fn the_exit_dispatcher_reads_the_number_from_orig_ax() {
        let listing = disassemble(&dispatcher(true, 0, FIRST_CHAIN_SLOT).unwrap(), &["jl_sys_exit"]);
        assert!(listing.contains("bpf_probe_read_kernel") && listing.contains("bpf_tail_call"), "{listing}");
    }
}

//! Running a compiled script: load and attach through a jitterlib session, stream events, stop on
//! exit()/signal/deadline, run END, then read, merge and print the maps and the lost-data counters.

mod events;
mod output;
mod stacks;

pub use output::OutputFormat;

use crate::codegen::{Compiled, MapEvent, Stat, EVENTS_MAP, STATS_MAP};
use crate::ir::MapAction;
use events::{Event, EventDecoder};
use jitterlib::kernel::KernelInfo;
use jitterlib::maps::MapEntries;
use jitterlib::probe::Trigger;
use jitterlib::session::{ProgramSpec, Session, SessionError};
use output::Output;
use stacks::Stacks;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long one wait for events lasts before the stop conditions are checked again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Options of a run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop after this long (None: until exit() or a signal).
    pub duration: Option<Duration>,
    /// Output format.
    pub format: OutputFormat,
    /// Called once every probe is attached, with the number of attached programs.
    pub on_attached: Option<fn(usize)>,
}

/// What went wrong while running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Loading, attaching or reading failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// A map could not be decoded.
    #[error("cannot decode map {map}: {reason}")]
    Decode {
        /// The map.
        map: String,
        /// Why.
        reason: String,
    },
}

/// Counts of what happened during a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Events received from the kernel (printf and exit).
    pub events: u64,
    /// Lost-data counters, in [`Stat::ALL`] order.
    pub lost: Vec<(Stat, u64)>,
}

/// Loads, attaches and runs `compiled` until `exit()`, `stop` or the deadline, then prints the maps.
pub fn run(
    compiled: &Compiled,
    kernel: &dyn KernelInfo,
    options: &RunOptions,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    let specs: Vec<ProgramSpec> = compiled
        .programs
        .iter()
        .map(|unit| ProgramSpec { name: unit.name.clone(), attach: unit.attach.clone() })
        .collect();
    let mut session = Session::load(&compiled.object, &specs)?;
    let mut ring = session.ring_buffer(EVENTS_MAP)?;
    let decoder = EventDecoder::new(&compiled.printfs, kernel);
    let mut output = Output::new(out, options.format, kernel);
    let mut report = RunReport::default();
    let mut exited = false;
    let drain = |session: &Session,
                 ring: &mut jitterlib::session::RingReader,
                 timeout: Duration,
                 output: &mut Output,
                 report: &mut RunReport|
     -> Result<bool, RunError> {
        let mut events = Vec::new();
        ring.poll(timeout, &mut |record| events.extend(decoder.decode(record)))?;
        report.events += events.len() as u64;
        let mut exit_seen = false;
        for event in events {
            match event {
                Event::Exit => exit_seen = true,
                Event::Printf(text) => output.printf(&text)?,
                Event::Map(map_event) => map_action(session, compiled, kernel, map_event, output)?,
            }
        }
        Ok(exit_seen)
    };

    for name in triggered(compiled, Trigger::Begin) {
        session.run(name)?;
    }
    exited |= drain(&session, &mut ring, Duration::ZERO, &mut output, &mut report)?;
    if !exited {
        session.attach_all()?;
        if let Some(on_attached) = options.on_attached {
            on_attached(compiled.programs.iter().filter(|unit| unit.trigger.is_none()).count());
        }
        let deadline = options.duration.map(|duration| Instant::now() + duration);
        while !exited && !stop.load(Ordering::Relaxed) && deadline.is_none_or(|deadline| Instant::now() < deadline) {
            let timeout = deadline.map_or(POLL_INTERVAL, |deadline| {
                deadline.saturating_duration_since(Instant::now()).min(POLL_INTERVAL)
            });
            exited |= drain(&session, &mut ring, timeout, &mut output, &mut report)?;
        }
    }
    for name in triggered(compiled, Trigger::End) {
        session.run(name)?;
    }
    drain(&session, &mut ring, Duration::ZERO, &mut output, &mut report)?;

    for index in 0..compiled.user_maps.len() {
        print_map(&session, compiled, kernel, index, 0, &mut output)?;
    }
    report.lost = lost_counters(&session)?;
    output.lost(&report.lost)?;
    Ok(report)
}

/// Carries out `print(@m[, limit])`, `clear(@m)` or `zero(@m)` asked for by the BPF side.
fn map_action(
    session: &Session,
    compiled: &Compiled,
    kernel: &dyn KernelInfo,
    event: MapEvent,
    output: &mut Output,
) -> Result<(), RunError> {
    match event.action {
        MapAction::Print => print_map(session, compiled, kernel, event.map, event.limit, output),
        MapAction::Clear | MapAction::Zero => match compiled.user_maps.get(event.map) {
            Some((map_name, _)) => Ok(session.clear_map(map_name)?),
            None => Ok(()),
        },
    }
}

/// Prints user map `index` unless it is empty; with a `limit`, only that many of its largest entries.
fn print_map(
    session: &Session,
    compiled: &Compiled,
    kernel: &dyn KernelInfo,
    index: usize,
    limit: u32,
    output: &mut Output,
) -> Result<(), RunError> {
    let Some((map_name, layout)) = compiled.user_maps.get(index) else { return Ok(()) };
    let entries = session.read_map(map_name)?;
    if entries == MapEntries::Empty {
        return Ok(());
    }
    let mut snapshot = jitterlib::agg::decode(layout, &entries)
        .map_err(|error| RunError::Decode { map: layout.name.clone(), reason: error.to_string() })?;
    if limit > 0 {
        // Rows are sorted ascending, as bpftrace prints them: the largest are last.
        let keep = snapshot.rows.len().saturating_sub(limit as usize);
        snapshot.rows.drain(..keep);
    }
    let stack_columns = compiled.stack_keys.get(index).map_or(&[][..], Vec::as_slice);
    if !stack_columns.is_empty() {
        let stacks = Stacks::read(session, compiled, kernel)?;
        if output.format() == OutputFormat::Folded {
            return Ok(output.raw(&stacks.folded(&snapshot, stack_columns, output.symbols()))?);
        }
        stacks.render_keys(&mut snapshot, stack_columns);
    }
    Ok(output.map(&snapshot)?)
}

fn triggered(compiled: &Compiled, trigger: Trigger) -> impl Iterator<Item = &str> {
    compiled.programs.iter().filter(move |unit| unit.trigger == Some(trigger)).map(|unit| unit.name.as_str())
}

/// Sums the per-CPU lost-data counters.
fn lost_counters(session: &Session) -> Result<Vec<(Stat, u64)>, RunError> {
    let mut totals = vec![0u64; Stat::ALL.len()];
    if let MapEntries::PerCpu(entries) = session.read_map(STATS_MAP)? {
        for (key, per_cpu) in entries {
            let index = key.get(..4).map_or(usize::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            if let Some(total) = totals.get_mut(index) {
                *total += per_cpu.iter().filter_map(|value| value.get(..8)).map(read_u64).sum::<u64>();
            }
        }
    }
    Ok(Stat::ALL.iter().copied().zip(totals).collect())
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

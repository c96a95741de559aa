//! Running a compiled script: load and attach through a jitterlib session, stream events, stop on
//! exit()/signal/deadline, run END, then read, merge and print the maps and the lost-data counters.

mod bench;
mod clock;
mod events;
mod exporter;
mod flamegraph;
mod output;
mod status;

pub use exporter::{ExporterError, MetricsExporter};
pub use output::{OutputFormat, Symbols};

use crate::codegen::{stacks_map, Compiled, EVENTS_MAP};
use crate::ir::{MapAction, PrintOptions};
use crate::wire::{MapEvent, Stat};
use events::{Event, EventDecoder, Value};
use jitterlib::agg::Snapshot;
use jitterlib::culprit::{task_names, TASK_NAMES_MAP};
use jitterlib::kernel::KernelInfo;
use jitterlib::maps::MapEntries;
use jitterlib::maps::GLOBAL_MAP_NAME;
use jitterlib::probe::Trigger;
use jitterlib::session::{ProgramSpec, Session, SessionError};
use output::Output;
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

/// How long one wait for events lasts before the stop conditions are checked again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Options of a run.
#[derive(Default)]
pub struct RunOptions {
    /// Stop after this long (None: until exit() or a signal).
    pub duration: Option<Duration>,
    /// Output format.
    pub format: OutputFormat,
    /// Called once every probe is attached, with the number of probes as bpftrace counts them (`BEGIN` and `END`
    /// included).
    pub on_attached: Option<Box<dyn Fn(usize)>>,
    /// Print the maps every this often while tracing (`-i`), besides at the end.
    pub print_every: Option<Duration>,
    /// Serve the maps to Prometheus scrapes while tracing (`--prometheus`).
    pub exporter: Option<MetricsExporter>,
    /// Requests from another thread (the REPL) while tracing.
    pub control: Option<Receiver<Control>>,
    /// Redraw a status line on stderr once a second (for terminals).
    pub status_line: bool,
    /// Write an SVG flame graph of the maps keyed by a stack (`kstack`, `ustack`) here at exit.
    pub flamegraph: Option<std::path::PathBuf>,
    /// Keep tracing when the script attaches nothing (only `BEGIN` and `END`) until the duration, a signal or
    /// `exit()`; otherwise such a run ends right after `BEGIN`, as bpftrace's does.
    pub wait_without_probes: bool,
    /// Drop `warnf()` messages (bpftrace's `--no-warnings`).
    pub no_warnings: bool,
    /// Run the `bench:` blocks (each many times, printing its mean time) instead of attaching the probes
    /// (`--mode bench`); otherwise they never run.
    pub benchmarks: bool,
    /// Say that the probes are attached, as bpftrace does without `-q`: its `Attached N probes` line on stderr
    /// once they are (scripts and tests wait for it), or once `BEGIN` ended the run before attaching them; in JSON
    /// also its `{"type": "attached_probes", ...}` record, before `BEGIN` runs (where bpftrace prints it).
    pub announce_attached: bool,
}

/// A request to a running script, answered by its tracing loop.
#[derive(Debug)]
pub enum Control {
    /// Send back the current contents of every non-empty map.
    Snapshots(Sender<Result<Vec<Snapshot>, RunError>>),
    /// Empty every map.
    Clear,
    /// Print the maps every this often from now on (None: stop printing them periodically).
    PrintEvery(Option<Duration>),
    /// Change one user map (named as printed, `@c`) and send back how many entries a deletion removed.
    Change {
        /// The map.
        map: String,
        /// What to do.
        change: MapChange,
        /// Where the answer goes.
        reply: Sender<Result<usize, RunError>>,
    },
}

/// What [`Control::Change`] does to a map: `clear(@m)`, `zero(@m)`, `delete(@m, key)` typed at the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapChange {
    /// Delete every entry.
    Clear,
    /// Zero every value, keeping the keys.
    Zero,
    /// Delete the entries whose key starts with these bytes ([`jitterlib::agg::MapLayout::encode_key`]).
    Delete(Vec<u8>),
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
    /// The handler of a signal a `self:signal` probe waits for could not be installed.
    #[error("cannot install the handler of signal {signal} for `self:signal` probes")]
    SignalHandler {
        /// The signal.
        signal: i32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
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
    /// The code of the `exit(code)` that ended the run (0 for `exit()` or any other end).
    pub exit_code: i64,
}

/// Loads, attaches and runs `compiled` until `exit()`, `stop` or the deadline, then prints the maps.
pub fn run(
    compiled: &Compiled,
    kernel: &dyn KernelInfo,
    options: &RunOptions,
    out: &mut dyn Write,
    stop: &AtomicBool,
) -> Result<RunReport, RunError> {
    let mut session = load(compiled)?;
    let signals = SignalProbes::install(compiled)?;
    let mut ring = session.ring_buffer(EVENTS_MAP)?;
    let symbols = Symbols::new(kernel);
    let decoder = EventDecoder::new(&compiled.printfs, &compiled.time_formats, &compiled.outliers, kernel, &symbols);
    let mut output = Output::new(out, options.format, &symbols);
    let mut report = RunReport::default();
    let mut exited = false;
    let drain = |session: &Session,
                 ring: &mut jitterlib::session::RingReader,
                 timeout: Duration,
                 output: &mut Output,
                 report: &mut RunReport|
     -> Result<bool, RunError> {
        // The records are copied out first: events may name task culprits (outliers, printf), whose names a
        // probe records before it sends the event, so the names are learned after the last record of this batch
        // arrived and before the first is decoded (learned at the first record, a later one could name a task
        // recorded meanwhile, and print it as its hash).
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        ring.poll(timeout, &mut |record| {
            bytes.extend_from_slice(record);
            ends.push(bytes.len());
        })?;
        if !ends.is_empty() {
            learn_task_names(compiled, session, &symbols)?;
        }
        let mut read_stack = |frames, id| stack(session, frames, id);
        let starts = std::iter::once(0).chain(ends.iter().copied());
        let events: Vec<Event> = starts
            .zip(&ends)
            .map(|(start, &end)| decoder.decode(&bytes[start..end], &mut read_stack))
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()?;
        report.events += events.len() as u64;
        let mut exit_seen = false;
        // Events behind an exit() in the ring (other runs of the probes, already queued) are not acted on, as in
        // bpftrace: `interval:ms:1 { printf("x\n"); exit(); }` prints once, not once per tick queued meanwhile.
        for event in events {
            if exit_seen {
                break;
            }
            match event {
                Event::Exit(code) => {
                    exit_seen = true;
                    report.exit_code = code;
                }
                Event::Printf(text) => output.printf(&text)?,
                Event::Value(value) => output.value(&value)?,
                Event::Time(text) => output.text("time", &text)?,
                Event::System(command) => run_command(&command, output)?,
                Event::Cat(path) => cat_file(&path, compiled.cat_bytes, output)?,
                Event::Error(text) => output.report(&text)?,
                Event::Warning(text) if !options.no_warnings => output.report(&text)?,
                Event::Warning(_) => {}
                Event::Outlier(mut outlier) => {
                    if let Some(Value::Stack { kind, raw }) = outlier.column("kstack") {
                        if let Ok(id) = u32::try_from(kind.split(*raw).1) {
                            outlier.frames = stack(session, kind.frames, id)?;
                        }
                    }
                    output.outlier(&outlier)?;
                }
                Event::Map(map_event) => map_action(session, compiled, map_event, output)?,
            }
        }
        Ok(exit_seen)
    };

    if options.announce_attached {
        // Where bpftrace prints it: every program is loaded and BEGIN has not run yet (jl attaches the probes
        // after BEGIN, so that BEGIN's exit() attaches nothing). bpftrace counts BEGIN and END among its probes.
        output.attached_probes(compiled.probe_count())?;
    }
    for name in triggered(compiled, Trigger::Begin) {
        session.run(name)?;
    }
    exited |= drain(&session, &mut ring, Duration::ZERO, &mut output, &mut report)?;
    if options.benchmarks {
        if !exited {
            bench::run(compiled, &session, &mut ring, &mut output)?;
        }
    } else if exited {
        // BEGIN's exit(): nothing more is attached, but bpftrace said `Attached` before BEGIN ran.
        if options.announce_attached {
            output.attached_line(compiled.probe_count())?;
        }
    } else {
        session.attach_all()?;
        let attached =
            compiled.programs.iter().filter(|unit| matches!(unit.trigger, None | Some(Trigger::Signal(_)))).count();
        if options.announce_attached {
            output.attached_line(compiled.probe_count())?;
        }
        if let Some(on_attached) = &options.on_attached {
            on_attached(compiled.probe_count());
        }

        exited |= attached == 0 && !options.wait_without_probes;
        let deadline = options.duration.map(|duration| Instant::now() + duration);
        let mut status = options.status_line.then(status::StatusLine::new);
        let mut print_every = options.print_every;
        let mut next_print = print_every.map(|every| Instant::now() + every);
        while !exited && !stop.load(Ordering::Relaxed) && deadline.is_none_or(|deadline| Instant::now() < deadline) {
            let timeout = deadline.map_or(POLL_INTERVAL, |deadline| {
                deadline.saturating_duration_since(Instant::now()).min(POLL_INTERVAL)
            });
            exited |= drain(&session, &mut ring, timeout, &mut output, &mut report)?;
            signals.run_received(compiled, &session)?;
            if let (Some(due), Some(every)) = (next_print, print_every) {
                if Instant::now() >= due {
                    output.interval_header()?;
                    for snapshot in snapshots(compiled, &session, &symbols)? {
                        output.map(&snapshot)?;
                    }
                    next_print = Some(due + every);
                }
            }
            if let Some(status) = &mut status {
                status.tick(compiled, &session, report.events)?;
            }
            if let Some(control) = &options.control {
                for request in control.try_iter() {
                    if let Some(every) = answer(request, compiled, &session)? {
                        print_every = every;
                        next_print = every.map(|every| Instant::now() + every);
                    }
                }
            }
            if let Some(exporter) = &options.exporter {
                exporter.answer_pending(
                    || snapshots(compiled, &session, &symbols),
                    || lost_counters(&session),
                    output.symbols(),
                )?;
            }
        }
        if let Some(status) = &status {
            status.clear();
        }
    }
    if let Some(exporter) = &options.exporter {
        exporter.close();
    }
    // Nothing changes the maps from here on: END and the final print see one consistent state.
    session.detach_all()?;
    for name in triggered(compiled, Trigger::End) {
        session.run(name)?;
    }
    drain(&session, &mut ring, Duration::ZERO, &mut output, &mut report)?;

    let mut last = snapshots(compiled, &session, &symbols)?;
    // bpftrace prints the maps at exit by name.
    last.sort_by(|a, b| a.map.name.cmp(&b.map.name));
    output.end_of_tracing()?;
    if compiled.print_maps_at_exit {
        for snapshot in &last {
            output.map(snapshot)?;
        }
    }
    if let Some(path) = &options.flamegraph {
        if !flamegraph::write(path, &last, output.symbols())? {
            eprintln!("jl: no map is keyed by a stack: no flame graph written to {}", path.display());
        }
    }
    report.lost = lost_counters(&session)?;
    output.lost(&report.lost)?;
    Ok(report)
}

/// Answers one [`Control`] request; returns the new periodic-print setting when the request changes it.
fn answer(request: Control, compiled: &Compiled, session: &Session) -> Result<Option<Option<Duration>>, RunError> {
    match request {
        Control::Snapshots(reply) => {
            // The requester may have given up waiting; nothing to do then.
            let _ = reply.send(read_snapshots(compiled, session));
        }
        Control::Clear => {
            for (map_name, _) in &compiled.user_maps {
                session.clear_map(map_name)?;
            }
        }
        Control::PrintEvery(every) => return Ok(Some(every)),
        Control::Change { map, change, reply } => {
            let _ = reply.send(change_map(compiled, session, &map, &change));
        }
    }
    Ok(None)
}

/// Every non-empty user map, read for rendering with `symbols`: the task culprits' names are learned first.
fn snapshots(compiled: &Compiled, session: &Session, symbols: &Symbols) -> Result<Vec<Snapshot>, RunError> {
    learn_task_names(compiled, session, symbols)?;
    read_snapshots(compiled, session)
}

/// Carries out a [`MapChange`] on the user map printed as `name`.
fn change_map(compiled: &Compiled, session: &Session, name: &str, change: &MapChange) -> Result<usize, RunError> {
    let Some((map, layout)) = compiled.user_maps.iter().find(|(_, layout)| layout.name == name) else {
        return Err(SessionError::MapNotFound { map: name.to_string() }.into());
    };
    match (change, layout.name_slots()) {
        (MapChange::Clear, _) => session.clear_map(map).map(|()| 0),
        (MapChange::Zero, _) => session.zero_map(map).map(|()| 0),
        // A name's buckets are array slots: zeroed, they are no longer printed.
        (MapChange::Delete(fields), Some(slots)) => {
            session.zero_slots(map, &slots.keys_of(fields)).map(|written| written.min(1))
        }
        (MapChange::Delete(prefix), None) => session.delete_keys(map, prefix),
    }
    .map_err(RunError::from)
}

/// Reads, merges and decodes every non-empty user map, with kernel stacks resolved to their frames.
fn read_snapshots(compiled: &Compiled, session: &Session) -> Result<Vec<Snapshot>, RunError> {
    let stacks = stacks(compiled, session)?;
    let mut snapshots = Vec::new();
    for index in 0..compiled.user_maps.len() {
        snapshots.extend(snapshot(compiled, session, index, &stacks)?);
    }
    Ok(snapshots)
}

/// The stacks recorded so far, by the depth of their stack map and id (none when the script records no stacks).
fn stacks(compiled: &Compiled, session: &Session) -> Result<StackTable, RunError> {
    let mut table = HashMap::new();
    for frames in &compiled.stacks {
        let MapEntries::Shared(entries) = session.read_map(&stacks_map(*frames))? else { continue };
        for (key, value) in entries {
            let Some(id) = key.get(..4).and_then(|id| id.try_into().ok()).map(u32::from_le_bytes) else { continue };
            table.insert((*frames, id), stack_addresses(&value));
        }
    }
    Ok(table)
}

/// Stacks by the depth of their stack map and id: return addresses, innermost first.
type StackTable = HashMap<(u32, u32), Vec<u64>>;

/// The frames of stack `id` in the map of `frames`-deep stacks (none when it holds no such id).
fn stack(session: &Session, frames: u32, id: u32) -> Result<Vec<u64>, RunError> {
    let value = session.lookup(&stacks_map(frames), &id.to_le_bytes())?.unwrap_or_default();
    Ok(stack_addresses(&value))
}

/// The return addresses of a stack map value (the kernel ends a stack with zeros).
fn stack_addresses(value: &[u8]) -> Vec<u64> {
    value.chunks_exact(8).map(read_u64).take_while(|address| *address != 0).collect()
}

/// `system()`: runs the command with `/bin/sh -c`, waits for it, and prints what it wrote to its standard output
/// (its standard error goes to ours). A command that cannot start is reported and tracing goes on.
fn run_command(command: &str, output: &mut Output) -> Result<(), RunError> {
    let ran = std::process::Command::new("/bin/sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output();
    match ran {
        Ok(ran) => Ok(output.text("syscall", &String::from_utf8_lossy(&ran.stdout))?),
        Err(error) => {
            eprintln!("jl: warning: cannot run `{command}`: {error}");
            Ok(())
        }
    }
}

/// `cat()`: prints the file's first `max_bytes` bytes as they are ([`Compiled::cat_bytes`]). A file that cannot be
/// read is reported, as bpftrace reports it, and tracing goes on.
fn cat_file(path: &str, max_bytes: u64, output: &mut Output) -> Result<(), RunError> {
    use std::io::Read;
    let mut contents = Vec::new();
    let read = std::fs::File::open(path).and_then(|file| file.take(max_bytes).read_to_end(&mut contents).map(drop));
    match read {
        Ok(()) => Ok(output.text("cat", &String::from_utf8_lossy(&contents))?),
        Err(error) => {
            let reason = error.to_string();
            let reason = reason.split(" (os error").next().unwrap_or(&reason);
            eprintln!("jl: error: failed to open file '{path}' ({reason})");
            Ok(())
        }
    }
}

/// User map `index` decoded, with kernel stacks resolved; `None` when it holds nothing.
fn snapshot(
    compiled: &Compiled,
    session: &Session,
    index: usize,
    stacks: &StackTable,
) -> Result<Option<Snapshot>, RunError> {
    let Some((map_name, layout)) = compiled.user_maps.get(index) else { return Ok(None) };
    let entries = session.read_map(map_name)?;
    if entries == MapEntries::Empty {
        return Ok(None);
    }
    let decode = if session.was_zeroed(map_name) { jitterlib::agg::decode_zeroed } else { jitterlib::agg::decode };
    let mut snapshot = decode(layout, &entries)
        .map_err(|error| RunError::Decode { map: layout.name.clone(), reason: error.to_string() })?;
    snapshot
        .resolve_stacks(&mut |frames, id| Ok::<_, RunError>(stacks.get(&(frames, id)).cloned().unwrap_or_default()))?;
    // A one-slot map nobody wrote decodes to no rows: print it like an empty hash.
    Ok((!snapshot.rows.is_empty()).then_some(snapshot))
}

/// Carries out `print(@m[, top[, div]])`, `clear(@m)` or `zero(@m)` asked for by the BPF side.
fn map_action(session: &Session, compiled: &Compiled, event: MapEvent, output: &mut Output) -> Result<(), RunError> {
    match event.action {
        MapAction::Print => {
            let Some(mut snapshot) =
                snapshot(compiled, session, event.map, &stacks(compiled, session)?)?.or_else(|| {
                    // bpftrace prints a map without keys that holds nothing as its zero value.
                    compiled.user_maps.get(event.map).and_then(|(_, layout)| Snapshot::zero(layout))
                })
            else {
                return Ok(());
            };
            let options = compiled.print_options.get(event.options as usize);
            let PrintOptions { top, div } = options.copied().unwrap_or(PrintOptions { top: 0, div: 1 });
            if top > 0 {
                // Rows are sorted ascending, as bpftrace prints them: the largest are last.
                let keep = snapshot.rows.len().saturating_sub(usize::try_from(top).unwrap_or(usize::MAX));
                snapshot.rows.drain(..keep);
            }
            snapshot.divide(div);
            Ok(output.map(&snapshot)?)
        }
        MapAction::Clear | MapAction::Zero => {
            let Some((map_name, _)) = compiled.user_maps.get(event.map) else { return Ok(()) };
            match event.action {
                MapAction::Zero => Ok(session.zero_map(map_name)?),
                _ => Ok(session.clear_map(map_name)?),
            }
        }
    }
}

/// Loads the maps and every program of `compiled` into the kernel (the verifier checks each program) without
/// attaching anything. Dropping the session unloads them.
pub fn load(compiled: &Compiled) -> Result<Session, RunError> {
    let specs: Vec<ProgramSpec> = compiled
        .programs
        .iter()
        .map(|unit| ProgramSpec { name: unit.name.clone(), attach: unit.attach.clone() })
        .collect();
    Ok(Session::load(&compiled.object, &specs)?)
}

/// The signals `self:signal` probes wait for, each with the flag its handler raises; the handlers are removed
/// when dropped.
struct SignalProbes(Vec<(i32, std::sync::Arc<AtomicBool>, signal_hook::SigId)>);

impl SignalProbes {
    fn install(compiled: &Compiled) -> Result<SignalProbes, RunError> {
        let mut installed = SignalProbes(Vec::new());
        for unit in &compiled.programs {
            let Some(Trigger::Signal(signal)) = unit.trigger else { continue };
            if installed.0.iter().any(|(known, _, _)| *known == signal) {
                continue;
            }
            let flag = std::sync::Arc::new(AtomicBool::new(false));
            let id = signal_hook::flag::register(signal, std::sync::Arc::clone(&flag))
                .map_err(|source| RunError::SignalHandler { signal, source })?;
            installed.0.push((signal, flag, id));
        }
        Ok(installed)
    }

    /// Runs the programs of each signal received since the last call, in the order the script wrote them.
    fn run_received(&self, compiled: &Compiled, session: &Session) -> Result<(), RunError> {
        for (signal, flag, _) in &self.0 {
            if flag.swap(false, Ordering::Relaxed) {
                for name in triggered(compiled, Trigger::Signal(*signal)) {
                    session.run(name)?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for SignalProbes {
    fn drop(&mut self) {
        for (_, _, id) in &self.0 {
            signal_hook::low_level::unregister(*id);
        }
    }
}

fn triggered(compiled: &Compiled, trigger: Trigger) -> impl Iterator<Item = &str> {
    compiled.programs.iter().filter(move |unit| unit.trigger == Some(trigger)).map(|unit| unit.name.as_str())
}

/// Remembers the task names that probes recorded for their task culprits ([`TASK_NAMES_MAP`]). Called before
/// rendering, not on every poll: the map keeps each name until it is full (names are never deleted), so reading
/// it only when something is about to print loses nothing.
fn learn_task_names(compiled: &Compiled, session: &Session, symbols: &Symbols) -> Result<(), RunError> {
    for map in compiled.maps.iter().filter(|map| map.name.ends_with(TASK_NAMES_MAP)) {
        if let MapEntries::Shared(entries) = session.read_map(&map.name)? {
            symbols.remember_tasks(task_names(&entries));
        }
    }
    Ok(())
}

/// The lost-data counters: consecutive u64s in the global counters map's one value, and the kernel's count of
/// events it skipped.
fn lost_counters(session: &Session) -> Result<Vec<(Stat, u64)>, RunError> {
    let value = match session.read_map(GLOBAL_MAP_NAME)? {
        MapEntries::Shared(mut entries) if !entries.is_empty() => entries.swap_remove(0).1,
        _ => Vec::new(),
    };
    let missed = session.missed_events()?;
    let totals = Stat::ALL.iter().map(|stat| match stat {
        Stat::ProbeMisses => missed,
        counted => value.get(8 * *counted as usize..8 * *counted as usize + 8).map_or(0, read_u64),
    });
    Ok(Stat::ALL.iter().copied().zip(totals).collect())
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

//! The status line on a terminal's stderr while tracing: elapsed time, event rate, lost data, truncated strings
//! (and divisions by 0, once there are some) and how full the fullest map is, redrawn in place once a second.

use super::{lost_counters, RunError};
use crate::codegen::Compiled;
use crate::wire::Stat;
use jitterlib::maps::MapEntries;
use jitterlib::session::Session;
use std::io::Write;
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const REFRESH: Duration = Duration::from_secs(1);

/// State of the status line.
pub(super) struct StatusLine {
    started: Instant,
    next: Instant,
    events_before: u64,
}

impl StatusLine {
    pub(super) fn new() -> StatusLine {
        let now = Instant::now();
        StatusLine { started: now, next: now + REFRESH, events_before: 0 }
    }

    /// Redraws the line when a second has passed.
    pub(super) fn tick(&mut self, compiled: &Compiled, session: &Session, events: u64) -> Result<(), RunError> {
        let now = Instant::now();
        if now < self.next {
            return Ok(());
        }
        let rate = events.saturating_sub(self.events_before);
        self.events_before = events;
        self.next = now + REFRESH;
        let counters = lost_counters(session)?;
        // Truncated strings, divisions by 0, failed reads and indexes out of range are values altered, not data lost.
        let altered = [Stat::StrTruncated, Stat::DivideByZero, Stat::ReadFailed, Stat::IndexOutOfRange];
        let lost: u64 = counters.iter().filter(|(stat, _)| !altered.contains(stat)).map(|(_, n)| n).sum();
        let count = |wanted: Stat| counters.iter().filter(|(stat, _)| *stat == wanted).map(|(_, n)| n).sum::<u64>();
        let truncated = count(Stat::StrTruncated);
        // Shown once there are some.
        let occasional: String = [
            (Stat::DivideByZero, "divided by 0"),
            (Stat::ReadFailed, "failed reads"),
            (Stat::IndexOutOfRange, "out of range"),
        ]
        .into_iter()
        .filter_map(|(stat, label)| Some(count(stat)).filter(|n| *n > 0).map(|n| format!("  {label} {n}")))
        .collect();
        let (fullest, percent) = fullest_map(compiled, session)?;
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[2K[jl] {}s  events {rate}/s  lost {lost}  truncated {truncated}{occasional}  fullest map {fullest} \
             {percent}%",
            self.started.elapsed().as_secs()
        );
        let _ = stderr.flush();
        Ok(())
    }

    /// Erases the line before the final output.
    pub(super) fn clear(&self) {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

/// The user map with the largest share of its capacity in use.
fn fullest_map(compiled: &Compiled, session: &Session) -> Result<(String, u64), RunError> {
    let mut fullest = ("-".to_string(), 0);
    // One-slot arrays (maps without keys) cannot fill up.
    for (name, layout) in compiled.user_maps.iter().filter(|(_, layout)| !layout.is_array()) {
        let Some(spec) = compiled.maps.iter().find(|spec| &spec.name == name) else { continue };
        let entries = match session.read_map(name)? {
            MapEntries::Empty => 0,
            MapEntries::Shared(entries) => entries.len(),
            MapEntries::PerCpu(entries) => entries.len(),
        };
        let percent = (entries as u64 * 100) / u64::from(spec.max_entries.max(1));
        if percent >= fullest.1 {
            fullest = (layout.name.clone(), percent);
        }
    }
    Ok(fullest)
}

//! `tseries()`: merging the ring of intervals each CPU keeps, and bpftrace 0.27's text graph of it.
//!
//! ```text
//! @:
//!              2                                                   4
//! hh:mm:ss.ms  |___________________________________________________|
//! 10:41:46.700 |                         *                         | 3
//! 10:41:46.800 |                                                   | -
//!              v___________________________________________________v
//!              2                                                   4
//! ```
//!
//! Each line is one interval, oldest first, from the first interval with a value among the map's last
//! `intervals` ones (the last being the newest interval any key wrote) to that newest one; an interval with
//! no value prints `-`. The time is the interval's start in local time, with the fraction of a second the
//! interval's length needs; the scale runs from the smallest to the largest value (widened by one on each
//! side when they are equal), with a `.` column at zero when zero is inside it.

use std::collections::BTreeMap;

use crate::units::local_time;

use super::value::{AggValue, Snapshot};
use super::{AggKind, MapValue, TSeriesAgg};

/// Columns of the graph between and including its two `|`.
const GRAPH_WIDTH: usize = 53;
/// Columns the smallest value takes on the scale lines (the largest is right-aligned in the rest).
const SCALE_PADDING: usize = 21;

/// The merged time series of one key: interval epochs (the clock's time divided by the interval) and values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeSeries {
    /// Interval length in nanoseconds.
    pub interval_ns: u64,
    /// Whether values are signed (the aggregated expression's type).
    pub signed: bool,
    /// Whether epochs count CLOCK_TAI rather than CLOCK_MONOTONIC time (see [`AggKind::TSeries`]).
    pub tai: bool,
    /// Epoch and value of each interval with data, oldest first.
    pub points: BTreeMap<u64, i128>,
}

impl TimeSeries {
    /// The newest epoch with a value.
    pub fn last_epoch(&self) -> Option<u64> {
        self.points.keys().next_back().copied()
    }

    /// The newest value.
    pub fn last_value(&self) -> Option<i128> {
        self.points.values().next_back().copied()
    }

    /// The intervals printed when the map's newest epoch is `last` and it keeps `intervals`: from the first
    /// epoch with a value among the last `intervals` ones to `last`, `None` where an interval has no value.
    pub fn window(&self, last: u64, intervals: u32) -> Vec<(u64, Option<i128>)> {
        let first_kept = last.saturating_sub(u64::from(intervals) - 1);
        let first = self.points.range(first_kept..).next().map_or(last, |(epoch, _)| *epoch).min(last);
        (first..=last).map(|epoch| (epoch, self.points.get(&epoch).copied())).collect()
    }
}

/// The intervals of `series`, a row of `snapshot`, that bpftrace prints: the map's last intervals, up to the
/// newest one any of its keys wrote (see [`TimeSeries::window`]).
pub(crate) fn snapshot_window(snapshot: &Snapshot, series: &TimeSeries) -> Vec<(u64, Option<i128>)> {
    let MapValue::Agg { kind: AggKind::TSeries { intervals, .. }, .. } = snapshot.map.value else { return Vec::new() };
    let last = snapshot.rows.iter().filter_map(|row| match &row.value {
        AggValue::TSeries(series) => series.last_epoch(),
        _ => None,
    });
    match last.max() {
        Some(last) => series.window(last, intervals),
        None => Vec::new(),
    }
}

/// One CPU's `[value, meta, epoch]` of a ring slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub value: u64,
    pub meta: u64,
    pub epoch: u64,
}

/// Merges one ring slot's per-CPU values as `agg` combines them: only the newest epoch any CPU wrote counts;
/// `None` when no CPU wrote the slot. Returns the epoch and the value.
pub(crate) fn merge_slot(agg: TSeriesAgg, signed: bool, cpus: &[Slot]) -> Option<(u64, i128)> {
    let epoch = cpus.iter().map(|slot| slot.epoch).filter(|&epoch| epoch != 0).max()?;
    let current: Vec<&Slot> = cpus.iter().filter(|slot| slot.epoch == epoch).collect();
    let number = |raw: u64| if signed { i128::from(raw as i64) } else { i128::from(raw) };
    let values = current.iter().map(|slot| number(slot.value));
    let value = match agg {
        TSeriesAgg::Last => current.iter().max_by_key(|slot| slot.meta).map(|slot| number(slot.value))?,
        TSeriesAgg::Sum => values.sum(),
        TSeriesAgg::Min => values.min()?,
        TSeriesAgg::Max => values.max()?,
        TSeriesAgg::Avg => {
            let count: u64 = current.iter().map(|slot| slot.meta).sum();
            values.sum::<i128>() / i128::from(count.max(1))
        }
    };
    Some((epoch, value))
}

/// The text graph of `series` over `window` (see [`TimeSeries::window`]), interval starts turned into Unix
/// nanoseconds by `unix_ns`, ending in a newline; `<no data>` (without one, as bpftrace prints it) for an
/// empty window.
pub(crate) fn graph_text(series: &TimeSeries, window: &[(u64, Option<i128>)], unix_ns: &dyn Fn(u64) -> i128) -> String {
    if window.is_empty() {
        return "<no data>".to_string();
    }
    let values = window.iter().filter_map(|(_, value)| *value);
    let (mut min, mut max) = (values.clone().min().unwrap_or(0), values.max().unwrap_or(0));
    if min == max {
        let (lowest, highest) =
            if series.signed { (i128::from(i64::MIN), i128::from(i64::MAX)) } else { (0, i128::from(u64::MAX)) };
        min = (min - 1).max(lowest);
        max = (max + 1).min(highest);
    }
    let (digits, unit) = fraction_digits(window, series.interval_ns);
    let time_header = format!("hh:mm:ss{unit}");
    let time_width = 8 + if digits > 0 { 1 + digits } else { 0 };
    let scale = format!("{:time_width$} {min:<SCALE_PADDING$}{max:>right$}\n", "", right = GRAPH_WIDTH - SCALE_PADDING);
    let mut out = scale.clone();
    out.push_str(&pad_bytes(&time_header, time_width + 1));
    out.push_str(&format!("|{}|\n", "_".repeat(GRAPH_WIDTH - 2)));
    let span = (max - min) as f32;
    let zero = if min < 0 && max > 0 { (GRAPH_WIDTH as f32 * (-min) as f32 / span) as usize } else { 0 };
    for (epoch, value) in window {
        let mut line = vec![b' '; GRAPH_WIDTH];
        line[0] = b'|';
        line[GRAPH_WIDTH - 1] = b'|';
        if zero > 0 {
            line[zero] = b'.';
        }
        let start = unix_ns(epoch * series.interval_ns);
        out.push_str(&interval_start(start, digits));
        out.push(' ');
        match value {
            Some(value) => {
                let point = ((GRAPH_WIDTH - 1) as f32 * (value - min) as f32 / span) as usize;
                line[point.min(GRAPH_WIDTH - 1)] = b'*';
                out.push_str(&format!("{} {value}\n", String::from_utf8_lossy(&line)));
            }
            None => out.push_str(&format!("{} -\n", String::from_utf8_lossy(&line))),
        }
    }
    out.push_str(&format!("{:time_width$} v{}v\n", "", "_".repeat(GRAPH_WIDTH - 2)));
    out.push_str(&scale);
    out
}

/// `2026-12-07 04:33:15.000000000`: an interval's start as bpftrace's JSON writes it (local time).
pub(crate) fn json_time(unix_ns: i128) -> String {
    format!("{}.{:09}", local_time("%Y-%m-%d %H:%M:%S", unix_ns), unix_ns.rem_euclid(1_000_000_000))
}

/// The digits of a second the time column shows, and the header's unit (`.ms`): from the mean distance of
/// the printed intervals as bpftrace picks it (a single interval shows nanoseconds).
fn fraction_digits(window: &[(u64, Option<i128>)], interval_ns: u64) -> (usize, &'static str) {
    let steps = (window.len() as u64).saturating_sub(1).max(1);
    let spread = (window.last().map_or(0, |w| w.0) - window.first().map_or(0, |w| w.0)) * interval_ns;
    match spread / steps {
        1_000_000_000.. => (0, ""),
        1_000_000.. => (3, ".ms"),
        1_000.. => (6, ".μs"),
        _ => (9, ".ns"),
    }
}

/// CLOCK_REALTIME minus CLOCK_TAI (`tai`: whole seconds, the leap seconds the kernel was told of) or
/// CLOCK_MONOTONIC now, in nanoseconds.
pub(crate) fn realtime_offset_ns(tai: bool) -> i128 {
    if tai {
        let offset = clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_TAI);
        (offset as f64 / 1e9).round() as i128 * 1_000_000_000
    } else {
        clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC)
    }
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write; both clocks exist on every Linux.
    unsafe { libc::clock_gettime(clock, &mut now) };
    i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec)
}

/// `text` followed by spaces up to `width` bytes (bpftrace pads by bytes, so `μ` counts two).
fn pad_bytes(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.len())))
}

/// `10:41:46.700`: local time with `digits` digits of the second.
fn interval_start(unix_ns: i128, digits: usize) -> String {
    let time = local_time("%H:%M:%S", unix_ns);
    if digits == 0 {
        return time;
    }
    let fraction = unix_ns.rem_euclid(1_000_000_000) / 10i128.pow(9 - digits as u32);
    format!("{time}.{fraction:0digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(interval_ns: u64, points: &[(u64, i128)]) -> TimeSeries {
        TimeSeries { interval_ns, signed: true, tai: true, points: points.iter().copied().collect() }
    }

    #[test]
    fn slots_merge_the_newest_epoch_only() {
        let slot = |value: i64, meta, epoch| Slot { value: value as u64, meta, epoch };
        let cpus = [slot(5, 10, 7), slot(-3, 20, 7), slot(100, 99, 2), slot(0, 0, 0)];
        assert_eq!(merge_slot(TSeriesAgg::Last, true, &cpus), Some((7, -3)));
        assert_eq!(merge_slot(TSeriesAgg::Sum, true, &cpus), Some((7, 2)));
        assert_eq!(merge_slot(TSeriesAgg::Min, true, &cpus), Some((7, -3)));
        assert_eq!(merge_slot(TSeriesAgg::Max, true, &cpus), Some((7, 5)));
        assert_eq!(merge_slot(TSeriesAgg::Avg, true, &[slot(9, 2, 4), slot(3, 1, 4)]), Some((4, 4)));
        assert_eq!(merge_slot(TSeriesAgg::Sum, true, &[slot(0, 0, 0)]), None);
    }

    #[test]
    fn the_window_starts_at_the_first_kept_value_and_ends_at_the_newest_epoch() {
        let s = series(100, &[(3, 1), (8, 2), (10, 3)]);
        assert_eq!(s.window(12, 5), vec![(8, Some(2)), (9, None), (10, Some(3)), (11, None), (12, None)]);
        assert_eq!(s.window(20, 2), vec![(20, None)]);
    }

    #[test]
    fn graph_matches_bpftrace_layout() {
        // Unix time 0 is 00:00:00 in UTC; TZ is not set by the test, so compare only the graph columns.
        let s = series(100_000_000, &[(1, -5), (2, 5), (4, 0)]);
        let text = graph_text(&s, &s.window(4, 20), &|ns| i128::from(ns));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("{:13}{:<21}{:>32}", "", -5, 5));
        assert_eq!(lines[1], format!("hh:mm:ss.ms  |{}|", "_".repeat(51)));
        assert!(lines[2].ends_with(".100 *                         .                         | -5"), "{}", lines[2]);
        assert!(lines[3].ends_with(".200 |                         .                         * 5"), "{}", lines[3]);
        assert!(lines[4].ends_with(".300 |                         .                         | -"), "{}", lines[4]);
        assert!(lines[5].ends_with(".400 |                         *                         | 0"), "{}", lines[5]);
        assert_eq!(lines[6], format!("{:12} v{}v", "", "_".repeat(51)));
        assert_eq!(lines[7], lines[0]);
    }

    #[test]
    fn one_value_widens_the_scale_and_shows_nanoseconds() {
        let s =
            TimeSeries { interval_ns: 1_000_000_000, signed: false, tai: true, points: [(5, 0)].into_iter().collect() };
        let text = graph_text(&s, &s.window(5, 5), &|ns| i128::from(ns));
        assert!(text.starts_with(&format!("{:19}{:<21}{:>32}\nhh:mm:ss.ns        |", "", 0, 1)), "{text}");
        assert!(text.contains(".000000000 *"), "{text}");
    }
}

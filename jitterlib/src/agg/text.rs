//! Text output in bpftrace's layout.
//!
//! ```text
//! @[3]: 12                      count, sum, min, max, plain maps: one line per key
//! @k[swapper/0, 7]: 31          string keys unquoted, fields joined by ", "
//! @a[1]: 10                     avg: one line per key, then an empty line
//! @s: count 175, average 6, total 1092
//!                               (stats: same, with the three numbers)
//! @h:                           histograms: a header per key ("@h: " with a trailing space),
//! [4, 8)                81 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//!                               then the rows and an empty line
//! ```
//!
//! Histogram rows are the label left-aligned in 16 columns, the count right-aligned in 8, and a bar
//! of `@` scaled to 52 columns for the largest count. Values whose format is a duration print with
//! units (`1.5ms`); `timehist` labels are durations.

use super::layout::{MapLayout, MapValue, ValueFormat};
use super::value::{AggValue, Average, FieldValue, Histogram, Row, Snapshot, Symbolizer};
use super::AggKind;

/// Width of a histogram bar at the largest count.
const BAR_WIDTH: u64 = 52;

/// Renders a decoded map as bpftrace prints it at exit; empty maps print nothing.
pub fn render_text(snapshot: &Snapshot, symbols: &dyn Symbolizer) -> String {
    let map = &snapshot.map;
    let mut out = String::new();
    for row in &snapshot.rows {
        let name = format!("{}{}", map.name, key_text(row, symbols));
        match &row.value {
            AggValue::Scalar(value) => out.push_str(&format!("{name}: {}\n", value.to_text(symbols))),
            AggValue::Average(average) => out.push_str(&format!("{name}: {}\n", average_text(map, average, symbols))),
            AggValue::Histogram(histogram) => {
                out.push_str(&format!("{name}: \n"));
                out.push_str(&histogram_text(map, histogram));
                out.push('\n');
            }
        }
    }
    let is_average = matches!(map.value, MapValue::Agg { kind: AggKind::Avg | AggKind::Stats, .. });
    if is_average && !snapshot.rows.is_empty() {
        out.push('\n');
    }
    out
}

/// `[a, b]`, or nothing for a map without keys.
fn key_text(row: &Row, symbols: &dyn Symbolizer) -> String {
    if row.key.is_empty() {
        return String::new();
    }
    format!("[{}]", key_text_parts(row, symbols).join(", "))
}

/// Each key field as text.
pub(crate) fn key_text_parts(row: &Row, symbols: &dyn Symbolizer) -> Vec<String> {
    row.key.iter().map(|part| part.to_text(symbols)).collect()
}

fn average_text(map: &MapLayout, average: &Average, symbols: &dyn Symbolizer) -> String {
    let format = match map.value {
        MapValue::Agg { format, .. } => format,
        MapValue::Scalar(_) => ValueFormat::Signed,
    };
    let number = |v: i64| FieldValue::from_integer(v as u64, format).to_text(symbols);
    match map.value {
        MapValue::Agg { kind: AggKind::Stats, .. } => {
            format!("count {}, average {}, total {}", average.count, number(average.mean()), number(average.sum))
        }
        _ => number(average.mean()),
    }
}

fn histogram_text(map: &MapLayout, histogram: &Histogram) -> String {
    let Some(kind) = map.histogram() else {
        return String::new();
    };
    let buckets = histogram.visible_buckets();
    let largest = buckets.iter().map(|(_, count)| *count).max().unwrap_or(0);
    let mut out = String::new();
    for (bucket, count) in buckets {
        let label = kind.bucket_label(bucket).unwrap_or_else(|| format!("<bucket {bucket}>"));
        let bar = "@".repeat(bar_length(count, largest));
        out.push_str(&format!("{label:<16}{count:>8} |{bar:<width$}|\n", width = BAR_WIDTH as usize));
    }
    out
}

/// Bar length of `count` when `largest` fills the bar (rounded down, like bpftrace).
fn bar_length(count: u64, largest: u64) -> usize {
    if largest == 0 {
        return 0;
    }
    (u128::from(count) * u128::from(BAR_WIDTH) / u128::from(largest)) as usize
}

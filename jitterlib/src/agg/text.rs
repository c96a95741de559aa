//! Text output in bpftrace's layout.
//!
//! ```text
//! @[3]: 12                      count, sum, min, max, plain maps: one line per key
//! @k[swapper/0, 7]: 31          string keys unquoted, fields joined by ", "
//! @a[1]: 10                     avg: one line per key, then an empty line
//! @s: { .count = 175, .average = 6, .total = 1092 }
//!                               (stats: same, the three numbers as bpftrace 0.27 prints a record)
//! @h:                           histograms: a header per key ("@h:", as bpftrace 0.27: 0.17 added a space),
//! [4, 8)                81 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//!                               then the rows and an empty line
//! @t:                           tseries: a header per key, then the graph of its intervals (the
//!                               `tseries` module's layout) and an empty line
//! ```
//!
//! Histogram rows are the label left-aligned in 16 columns, the count right-aligned in 8, and a bar
//! of `@` scaled to 52 columns for the largest count. Values whose format is a duration print with
//! units (`1.5ms`); `timehist` labels are durations.

use super::layout::{MapLayout, MapValue, ValueFormat};
use super::quantile::summarize;
use super::tseries::{graph_text, snapshot_window};
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
            AggValue::Histogram(histogram) if map.histogram() == Some(AggKind::Quantiles) => {
                out.push_str(&format!("{name}: {}\n", quantiles_text(map, histogram, symbols)));
            }
            AggValue::Histogram(histogram) => {
                out.push_str(&format!("{name}:\n"));
                out.push_str(&histogram_text(map, histogram));
                out.push('\n');
            }
            AggValue::TSeries(series) => {
                out.push_str(&format!("{name}:\n"));
                let window = snapshot_window(snapshot, series);
                out.push_str(&graph_text(series, &window, &|ns| symbols.unix_ns(ns, series.tai)));
                out.push('\n');
            }
        }
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
    row.key.iter().map(|part| part.to_key_text(symbols)).collect()
}

fn average_text(map: &MapLayout, average: &Average, symbols: &dyn Symbolizer) -> String {
    let format = match map.value {
        MapValue::Agg { format, .. } => format,
        MapValue::Scalar(_) | MapValue::Tuple(_) => ValueFormat::Signed,
    };
    let number = |v: i64| FieldValue::from_integer(v as u64, format).to_text(symbols);
    match map.value {
        MapValue::Agg { kind: AggKind::Stats, .. } => {
            format!(
                "{{ .count = {}, .average = {}, .total = {} }}",
                average.count,
                number(average.mean()),
                number(average.sum)
            )
        }
        _ => number(average.mean()),
    }
}

/// `count 1000, p50 511us, p90 927us, p99 991us, p99.9 1.02ms, max 1.02ms`.
fn quantiles_text(map: &MapLayout, histogram: &Histogram, symbols: &dyn Symbolizer) -> String {
    let Some(summary) = summarize(histogram) else { return "count 0".to_string() };
    let format = match map.value {
        MapValue::Agg { format, .. } => format,
        MapValue::Scalar(_) | MapValue::Tuple(_) => ValueFormat::Signed,
    };
    let number = |v: i64| FieldValue::from_integer(v as u64, format).to_text(symbols);
    let mut parts = vec![format!("count {}", summary.count)];
    parts.extend(summary.percentiles.iter().map(|(label, value)| format!("{label} {}", number(*value))));
    parts.push(format!("max {}", number(summary.max)));
    parts.join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::testing::{agg_layout, per_cpu, single_slot, snapshot, string, unkeyed_histogram, words};
    use crate::agg::{FieldLayout, HexSymbolizer};
    use crate::maps::MapEntries;

    fn text(layout: &MapLayout, entries: &MapEntries) -> String {
        render_text(&snapshot(layout, entries), &HexSymbolizer)
    }

    fn one_cpu(entries: &[(&[i64], &[i64])]) -> MapEntries {
        per_cpu(entries.iter().map(|(key, value)| (words(key), vec![words(value)])).collect())
    }

    // Goldens below marked "bpftrace 0.17" are copied from its output for the same data.

    #[test]
    fn keyed_counts_biggest_last() {
        let layout =
            agg_layout("@", vec![FieldLayout::integer(ValueFormat::Unsigned)], AggKind::Count, ValueFormat::Unsigned);
        let entries = one_cpu(&[(&[7], &[78]), (&[1], &[39]), (&[9], &[55]), (&[4], &[3])]);
        // bpftrace 0.17
        assert_eq!(text(&layout, &entries), "@[4]: 3\n@[1]: 39\n@[9]: 55\n@[7]: 78\n");
    }

    #[test]
    fn string_and_integer_keys() {
        let keys = vec![FieldLayout::string(16), FieldLayout::integer(ValueFormat::Unsigned)];
        let layout = agg_layout("@k", keys, AggKind::Count, ValueFormat::Unsigned);
        let key = |comm: &str, vec: i64| [string(comm, 16), words(&[vec])].concat();
        let entries = per_cpu(vec![
            (key("swapper/1", 7), vec![words(&[43])]),
            (key("swapper/0", 1), vec![words(&[13])]),
            (key("bash", 4), vec![words(&[1])]),
        ]);
        // bpftrace 0.17
        assert_eq!(text(&layout, &entries), "@k[bash, 4]: 1\n@k[swapper/0, 1]: 13\n@k[swapper/1, 7]: 43\n");
    }

    #[test]
    fn scalars_without_keys() {
        let sum = agg_layout("@sum", vec![], AggKind::Sum, ValueFormat::Signed);
        assert_eq!(text(&sum, &single_slot(&[-5])), "@sum: -5\n");
        let max = agg_layout("@mx", vec![], AggKind::Max, ValueFormat::Duration);
        assert_eq!(text(&max, &single_slot(&[1_500_000, 1])), "@mx: 1.5ms\n");
        let addr = agg_layout(
            "@f",
            vec![FieldLayout::integer(ValueFormat::KernelSymbol)],
            AggKind::Count,
            ValueFormat::Unsigned,
        );
        assert_eq!(text(&addr, &one_cpu(&[(&[0xffff_8000], &[2])])), "@f[0xffff8000]: 2\n");
    }

    #[test]
    fn averages_print_one_line_per_key() {
        let layout =
            agg_layout("@a", vec![FieldLayout::integer(ValueFormat::Signed)], AggKind::Avg, ValueFormat::Signed);
        let entries = one_cpu(&[(&[1], &[10, 1]), (&[2], &[3, 1])]);
        // bpftrace 0.27.1 (0.17 ended averages with an empty line)
        assert_eq!(text(&layout, &entries), "@a[2]: 3\n@a[1]: 10\n");
        let empty = render_text(&Snapshot { map: layout, rows: Vec::new() }, &HexSymbolizer);
        assert_eq!(empty, "");
    }

    #[test]
    fn stats_print_count_average_total() {
        let layout = agg_layout("@s", vec![], AggKind::Stats, ValueFormat::Signed);
        // bpftrace 0.27.1
        assert_eq!(text(&layout, &single_slot(&[1092, 175])), "@s: { .count = 175, .average = 6, .total = 1092 }\n");
        let durations = agg_layout("@d", vec![], AggKind::Stats, ValueFormat::Duration);
        assert_eq!(
            text(&durations, &single_slot(&[4_500_000, 3])),
            "@d: { .count = 3, .average = 1.5ms, .total = 4.5ms }\n"
        );
    }

    #[test]
    fn hist_shows_gaps_between_non_empty_buckets() {
        let layout = agg_layout("@h", vec![], AggKind::Hist { bits: 0 }, ValueFormat::Signed);
        let entries = unkeyed_histogram(&[(2, 39), (4, 81), (5, 55)]);
        // bpftrace 0.17, header as 0.27's (no space after the colon)
        let expected = "\
@h:
[1]                   39 |@@@@@@@@@@@@@@@@@@@@@@@@@                           |
[2, 4)                 0 |                                                    |
[4, 8)                81 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 16)               55 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                 |

";
        assert_eq!(text(&layout, &entries), expected);
    }

    #[test]
    fn keyed_hists_sorted_by_total() {
        let layout = agg_layout(
            "@hk",
            vec![FieldLayout::integer(ValueFormat::Unsigned)],
            AggKind::Hist { bits: 0 },
            ValueFormat::Signed,
        );
        let entries = one_cpu(&[(&[1, 21], &[39]), (&[4, 23], &[3]), (&[0, 0], &[175])]);
        // bpftrace 0.17 (the first two histograms; the third shows the negative bucket), header as 0.27's
        let expected = "\
@hk[4]:
[2M, 4M)               3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@hk[1]:
[512K, 1M)            39 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@hk[0]:
(..., 0)             175 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

";
        assert_eq!(text(&layout, &entries), expected);
    }

    #[test]
    fn lhist_rows_and_overflow_bucket() {
        let layout = agg_layout("@l", vec![], AggKind::Lhist { min: 0, max: 10, step: 1 }, ValueFormat::Signed);
        let entries = unkeyed_histogram(&[(2, 39), (5, 3), (8, 78), (10, 55)]);
        // bpftrace 0.17, header as 0.27's (no space after the colon)
        let expected = "\
@l:
[1, 2)                39 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[2, 3)                 0 |                                                    |
[3, 4)                 0 |                                                    |
[4, 5)                 3 |@@                                                  |
[5, 6)                 0 |                                                    |
[6, 7)                 0 |                                                    |
[7, 8)                78 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 9)                 0 |                                                    |
[9, 10)               55 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                |

";
        assert_eq!(text(&layout, &entries), expected);
        let wide = agg_layout("@l", vec![], AggKind::Lhist { min: 0, max: 4096, step: 1024 }, ValueFormat::Signed);
        // bpftrace 0.17, header as 0.27's (no space after the colon)
        let expected = "\
@l:
[2K, 3K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[3K, 4K)               0 |                                                    |
[4K, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

";
        assert_eq!(text(&wide, &unkeyed_histogram(&[(3, 1), (5, 1)])), expected);
    }

    #[test]
    fn timehist_labels_are_durations() {
        let layout = agg_layout("@t", vec![], AggKind::TimeHist, ValueFormat::Duration);
        let entries = unkeyed_histogram(&[(20, 4), (21, 8), (25, 2), (31, 1)]);
        let expected = "\
@t:
[512us, 1ms)           4 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1ms, 2ms)             8 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[2ms, 4ms)             0 |                                                    |
[4ms, 8ms)             0 |                                                    |
[8ms, 16ms)            0 |                                                    |
[16ms, 32ms)           2 |@@@@@@@@@@@@@                                       |
[32ms, 64ms)           0 |                                                    |
[64ms, 128ms)          0 |                                                    |
[128ms, 256ms)         0 |                                                    |
[256ms, 512ms)         0 |                                                    |
[512ms, 1s)            0 |                                                    |
[1s, 2s)               1 |@@@@@@                                              |

";
        assert_eq!(text(&layout, &entries), expected);
    }

    #[test]
    fn plain_string_values() {
        let layout = MapLayout {
            name: "@y".into(),
            keys: vec![FieldLayout::string(8)],
            value: MapValue::Scalar(FieldLayout::string(8)),
            keys_in_programs: false,
        };
        let entries = MapEntries::Shared(vec![(string("a", 8), string("str", 8))]);
        // bpftrace 0.17
        assert_eq!(text(&layout, &entries), "@y[a]: str\n");
    }
}

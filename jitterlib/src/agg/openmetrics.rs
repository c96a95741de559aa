//! OpenMetrics text exposition of map snapshots, for a Prometheus scrape endpoint.
//!
//! - Each map is one metric family named `jl_` + the map name without `@` (`@` alone becomes `jl_map`), with
//!   characters outside `[a-zA-Z0-9_]` replaced by `_`. Maps of nanoseconds get the unit `seconds` (name suffix
//!   `_seconds`, values and bucket bounds converted to seconds).
//! - `count()` is a counter (`..._total`); `sum`, `min`, `max` and plain maps are gauges; `avg` and `stats` are
//!   summaries without quantiles (`..._count`, `..._sum`); `hist`, `lhist` and duration histograms are histograms with
//!   cumulative `le` buckets (a kernel bucket `[lo, hi)` becomes `le` = hi - 1 ns or hi - 1, so `le` is inclusive as
//!   OpenMetrics requires), `..._count` and no `_sum` (log buckets do not keep one).
//! - Map keys become labels: `key` for one key field, `key0`, `key1`, ... for several (or the field's name), with
//!   values printed as in text output (kernel symbols by name, strings as they are).
//! - String-valued plain maps have no numeric value and are left out.

use super::folded::folded_frames;
use super::kind::AggKind;
use super::layout::{MapValue, ValueFormat};
use super::value::{AggValue, FieldValue, Row, Snapshot, Symbolizer};
use std::fmt::Write;

/// The content type of [`render_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders every snapshot as one OpenMetrics exposition, ending with `# EOF`.
pub fn render_openmetrics(snapshots: &[Snapshot], symbols: &dyn Symbolizer) -> String {
    let mut out = String::new();
    for snapshot in snapshots {
        family(&mut out, snapshot, symbols);
    }
    out.push_str("# EOF\n");
    out
}

/// How a family's numbers are written.
struct Family {
    name: String,
    seconds: bool,
}

impl Family {
    fn number(&self, value: i128) -> String {
        if self.seconds {
            format!("{}", value as f64 / 1e9)
        } else {
            value.to_string()
        }
    }
}

fn family(out: &mut String, snapshot: &Snapshot, symbols: &dyn Symbolizer) {
    let (kind, format) = match &snapshot.map.value {
        MapValue::Agg { kind, format } => (Some(*kind), *format),
        MapValue::Scalar(field) if field.format == ValueFormat::Str => return,
        MapValue::Scalar(field) => (None, field.format),
    };
    let seconds = format == ValueFormat::Duration || kind == Some(AggKind::TimeHist);
    let base = metric_name(&snapshot.map.name);
    let name = if seconds { format!("{base}_seconds") } else { base };
    let family = Family { name, seconds };
    let metric_type = match kind {
        Some(AggKind::Count) => "counter",
        Some(AggKind::Avg | AggKind::Stats) => "summary",
        Some(kind) if kind.is_histogram() => "histogram",
        _ => "gauge",
    };
    let _ = writeln!(out, "# TYPE {} {metric_type}", family.name);
    if seconds {
        let _ = writeln!(out, "# UNIT {} seconds", family.name);
    }
    let _ = writeln!(out, "# HELP {} jitterlang map {}", family.name, snapshot.map.name);
    for row in &snapshot.rows {
        let labels = labels(snapshot, row, symbols);
        sample(out, &family, kind, &labels, &row.value);
    }
}

fn sample(out: &mut String, family: &Family, kind: Option<AggKind>, labels: &[(String, String)], value: &AggValue) {
    let name = &family.name;
    match (kind, value) {
        (Some(AggKind::Count), AggValue::Scalar(v)) => {
            let _ = writeln!(out, "{name}_total{} {}", label_text(labels, None), integer(v));
        }
        (_, AggValue::Scalar(v)) => {
            let _ = writeln!(out, "{name}{} {}", label_text(labels, None), family.number(integer(v)));
        }
        (_, AggValue::Average(average)) => {
            let _ = writeln!(out, "{name}_count{} {}", label_text(labels, None), average.count);
            let _ = writeln!(out, "{name}_sum{} {}", label_text(labels, None), family.number(i128::from(average.sum)));
        }
        (Some(kind), AggValue::Histogram(histogram)) => {
            let mut cumulative: u64 = 0;
            for (bucket, count) in histogram.visible_buckets() {
                cumulative = cumulative.wrapping_add(count);
                let Some(upper) = kind.bucket_range(bucket).and_then(|range| range.upper) else { continue };
                let le = family.number(upper - 1);
                let _ = writeln!(out, "{name}_bucket{} {cumulative}", label_text(labels, Some(&le)));
            }
            let _ = writeln!(out, "{name}_bucket{} {}", label_text(labels, Some("+Inf")), histogram.total());
            let _ = writeln!(out, "{name}_count{} {}", label_text(labels, None), histogram.total());
        }
        (None, AggValue::Histogram(_)) => {}
    }
}

fn integer(value: &FieldValue) -> i128 {
    match value {
        FieldValue::Int(v) | FieldValue::Duration(v) => i128::from(*v),
        FieldValue::Uint(v) | FieldValue::Hex(v) | FieldValue::Symbol(v) | FieldValue::Culprit(v) => i128::from(*v),
        FieldValue::Str(_) | FieldValue::Stack(_) | FieldValue::UserStack { .. } => 0,
        FieldValue::StackId { kind, raw } => i128::from(kind.split(*raw).1),
    }
}

fn labels(snapshot: &Snapshot, row: &Row, symbols: &dyn Symbolizer) -> Vec<(String, String)> {
    let keys = &snapshot.map.keys;
    row.key
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let name = match keys.get(i).and_then(|field| field.name.clone()) {
                Some(name) => sanitize(&name),
                None if keys.len() == 1 => "key".to_string(),
                None => format!("key{i}"),
            };
            let value = match part.frame_names(symbols) {
                Some(frames) => folded_frames(frames),
                None => part.to_key_text(symbols),
            };
            (name, value)
        })
        .collect()
}

fn label_text(labels: &[(String, String)], le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(name, value)| format!("{name}=\"{}\"", escape(value))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn metric_name(map: &str) -> String {
    let bare = map.trim_start_matches('@');
    format!("jl_{}", if bare.is_empty() { "map".to_string() } else { sanitize(bare) })
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::layout::{FieldLayout, MapLayout};
    use crate::agg::value::{Average, HexSymbolizer, Histogram};

    fn snapshot(name: &str, keys: Vec<FieldLayout>, value: MapValue, rows: Vec<Row>) -> Snapshot {
        Snapshot { map: MapLayout { name: name.into(), keys, value }, rows }
    }

    #[test]
    fn counters_gauges_and_summaries_with_labels() {
        let count = snapshot(
            "@runs",
            vec![FieldLayout::string(16)],
            MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Unsigned },
            vec![Row {
                key: vec![FieldValue::Str("ksoftirqd/0".into())],
                value: AggValue::Scalar(FieldValue::Uint(7)),
            }],
        );
        let total = snapshot(
            "@",
            vec![],
            MapValue::Agg { kind: AggKind::Sum, format: ValueFormat::Duration },
            vec![Row { key: vec![], value: AggValue::Scalar(FieldValue::Duration(1_500_000)) }],
        );
        let mean = snapshot(
            "@mean",
            vec![FieldLayout::integer(ValueFormat::Unsigned), FieldLayout::integer(ValueFormat::Unsigned)],
            MapValue::Agg { kind: AggKind::Avg, format: ValueFormat::Unsigned },
            vec![Row {
                key: vec![FieldValue::Uint(1), FieldValue::Uint(2)],
                value: AggValue::Average(Average { sum: 30, count: 3 }),
            }],
        );
        let text = render_openmetrics(&[count, total, mean], &HexSymbolizer);
        assert_eq!(
            text,
            "# TYPE jl_runs counter\n# HELP jl_runs jitterlang map @runs\njl_runs_total{key=\"ksoftirqd/0\"} 7\n\
             # TYPE jl_map_seconds gauge\n# UNIT jl_map_seconds seconds\n# HELP jl_map_seconds jitterlang map @\n\
             jl_map_seconds 0.0015\n\
             # TYPE jl_mean summary\n# HELP jl_mean jitterlang map @mean\n\
             jl_mean_count{key0=\"1\",key1=\"2\"} 3\njl_mean_sum{key0=\"1\",key1=\"2\"} 30\n# EOF\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_inclusive_le() {
        let mut histogram = Histogram::default();
        histogram.add(crate::agg::hist_bucket(1), 2);
        histogram.add(crate::agg::hist_bucket(5), 3);
        let hist = snapshot(
            "@h",
            vec![],
            MapValue::Agg { kind: AggKind::Hist, format: ValueFormat::Unsigned },
            vec![Row { key: vec![], value: AggValue::Histogram(histogram) }],
        );
        let text = render_openmetrics(&[hist], &HexSymbolizer);
        assert_eq!(
            text,
            "# TYPE jl_h histogram\n# HELP jl_h jitterlang map @h\n\
             jl_h_bucket{le=\"1\"} 2\njl_h_bucket{le=\"3\"} 2\njl_h_bucket{le=\"7\"} 5\n\
             jl_h_bucket{le=\"+Inf\"} 5\njl_h_count 5\n# EOF\n"
        );
    }
}

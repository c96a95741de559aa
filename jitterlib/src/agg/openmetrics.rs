//! OpenMetrics text exposition of map snapshots, for a Prometheus scrape endpoint.
//!
//! - Each map is one metric family named `jl_` + the map name without `@` (`@` alone becomes `jl_map`), with
//!   characters outside `[a-zA-Z0-9_]` replaced by `_`. Maps of nanoseconds get the unit `seconds` (name suffix
//!   `_seconds`, values and bucket bounds converted to seconds).
//! - `count()` is a counter (`..._total`); `sum`, `min`, `max` and plain maps are gauges; `avg` and `stats` are
//!   summaries without quantiles (`..._count`, `..._sum`); `hist`, `lhist` and duration histograms are histograms with
//!   cumulative `le` buckets (a kernel bucket `[lo, hi)` becomes `le` = hi - 1 ns or hi - 1, so `le` is inclusive as
//!   OpenMetrics requires), `..._count` and no `_sum` (log buckets do not keep one).
//! - Map keys become labels named after the key when it is a probe field or a builtin (`cpu`, `culprit`, `func`),
//!   else `key` for one key field, `key0`, `key1`, ... for several, with values printed as in text output (kernel
//!   symbols by name, strings as they are).
//! - String-valued plain maps have no numeric value and are left out.
//! - A stall's culprits (`timer:estimation_timer`) are labels without the thread id of task culprits
//!   (`task:stress-ng`), and each map exposes at most [`CULPRIT_LABELS`] of them ([`LabelBudget`]): the first ones
//!   seen keep a series of their own for the life of the endpoint, later ones add up under `other`. The label set
//!   stays bounded and every series stays monotonic: a culprit never moves between its own series and `other`.

use super::folded::folded_frames;
use super::kind::AggKind;
use super::layout::{FieldLayout, MapValue, ValueFormat};
use super::value::{AggValue, FieldValue, Row, Snapshot, Symbolizer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

/// The content type of [`render_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Distinct culprit label values one map exposes; later culprits add up under `other`.
pub const CULPRIT_LABELS: usize = 20;

/// The label value culprits beyond [`CULPRIT_LABELS`] add up under.
pub const OTHER_CULPRITS: &str = "other";

/// The culprit label values each map may expose, kept from one scrape to the next: the first
/// [`CULPRIT_LABELS`] values seen in a map keep their own series, later ones fold into [`OTHER_CULPRITS`].
///
/// ```
/// use jitterlib::agg::LabelBudget;
///
/// let mut budget = LabelBudget::default();
/// assert_eq!(budget.admit("@stall", "timer:estimation_timer"), "timer:estimation_timer");
/// ```
#[derive(Debug, Default)]
pub struct LabelBudget {
    admitted: HashMap<String, BTreeSet<String>>,
}

impl LabelBudget {
    /// The label `value` of a culprit of `map` is exposed under: itself while the map has room or once admitted,
    /// else [`OTHER_CULPRITS`].
    pub fn admit<'a>(&mut self, map: &str, value: &'a str) -> &'a str {
        let admitted = self.admitted.entry(map.to_string()).or_default();
        if admitted.contains(value) || (admitted.len() < CULPRIT_LABELS && admitted.insert(value.to_string())) {
            value
        } else {
            OTHER_CULPRITS
        }
    }
}

/// Renders every snapshot as one OpenMetrics exposition, ending with `# EOF`; `budget` bounds the culprit labels
/// and is kept by the caller from one scrape to the next.
pub fn render_openmetrics(snapshots: &[Snapshot], symbols: &dyn Symbolizer, budget: &mut LabelBudget) -> String {
    let mut out = String::new();
    for snapshot in snapshots {
        family(&mut out, snapshot, symbols, budget);
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

fn family(out: &mut String, snapshot: &Snapshot, symbols: &dyn Symbolizer, budget: &mut LabelBudget) {
    let (kind, format) = match &snapshot.map.value {
        MapValue::Agg { kind, format } => (Some(*kind), *format),
        MapValue::Scalar(field) if field.format == ValueFormat::Str => return,
        MapValue::Tuple(_) => return,
        MapValue::Scalar(field) => (None, field.format),
    };
    let seconds = format == ValueFormat::Duration || kind == Some(AggKind::TimeHist);
    let base = metric_name(&snapshot.map.name);
    let name = if seconds { format!("{base}_seconds") } else { base };
    let family = Family { name, seconds };
    let metric_type = match kind {
        Some(AggKind::Count) => "counter",
        Some(AggKind::Avg | AggKind::Stats) => "summary",
        Some(AggKind::TSeries { .. }) => "gauge",
        Some(kind) if kind.is_histogram() => "histogram",
        _ => "gauge",
    };
    let _ = writeln!(out, "# TYPE {} {metric_type}", family.name);
    if seconds {
        let _ = writeln!(out, "# UNIT {} seconds", family.name);
    }
    let _ = writeln!(out, "# HELP {} jitterlang map {}", family.name, snapshot.map.name);
    for (labels, value) in series(snapshot, kind, symbols, budget) {
        sample(out, &family, kind, &labels, &value);
    }
}

/// The rows' label sets and values, culprits beyond the budget folded into `other` (their values added up as
/// the aggregation says), in the rows' order of first appearance.
fn series(
    snapshot: &Snapshot,
    kind: Option<AggKind>,
    symbols: &dyn Symbolizer,
    budget: &mut LabelBudget,
) -> Vec<(Vec<(String, String)>, AggValue)> {
    let mut order = Vec::new();
    let mut folded: BTreeMap<Vec<(String, String)>, AggValue> = BTreeMap::new();
    for row in &snapshot.rows {
        let mut labels = labels(snapshot, row, symbols);
        for ((_, value), key) in labels.iter_mut().zip(&row.key) {
            if matches!(key, FieldValue::Culprit(_)) {
                *value = budget.admit(&snapshot.map.name, value).to_string();
            }
        }
        match folded.get_mut(&labels) {
            Some(existing) => fold(kind, existing, &row.value),
            None => {
                order.push(labels.clone());
                folded.insert(labels, row.value.clone());
            }
        }
    }
    order.into_iter().filter_map(|labels| folded.remove(&labels).map(|value| (labels, value))).collect()
}

/// Adds `from` into `into` as the map's aggregation combines values (a plain map keeps the larger).
fn fold(kind: Option<AggKind>, into: &mut AggValue, from: &AggValue) {
    match (into, from) {
        (AggValue::Histogram(into), AggValue::Histogram(from)) => {
            for (bucket, count) in from.visible_buckets() {
                into.add(bucket, count);
            }
        }
        (AggValue::Average(into), AggValue::Average(from)) => {
            into.sum = into.sum.wrapping_add(from.sum);
            into.count = into.count.wrapping_add(from.count);
        }
        (AggValue::Scalar(into), AggValue::Scalar(from)) => {
            let (a, b) = (integer(into), integer(from));
            let folded = match kind {
                Some(AggKind::Count | AggKind::Sum) => a + b,
                Some(AggKind::Min) => a.min(b),
                _ => a.max(b),
            };
            *into = match into {
                FieldValue::Duration(_) => FieldValue::Duration(folded as i64),
                FieldValue::Int(_) => FieldValue::Int(folded as i64),
                _ => FieldValue::Uint(folded as u64),
            };
        }
        _ => {}
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
        (_, AggValue::TSeries(series)) => {
            // The newest interval's value: Prometheus keeps the history itself.
            if let Some(value) = series.last_value() {
                let _ = writeln!(out, "{name}{} {}", label_text(labels, None), family.number(value));
            }
        }
    }
}

fn integer(value: &FieldValue) -> i128 {
    match value {
        FieldValue::Int(v) | FieldValue::Duration(v) | FieldValue::Enum { value: v, .. } => i128::from(*v),
        FieldValue::Bool(v) => i128::from(*v),
        FieldValue::Uint(v) | FieldValue::Hex(v) | FieldValue::Symbol(v) | FieldValue::Culprit(v) => i128::from(*v),
        FieldValue::UserSymbol { addr, .. } => i128::from(*addr),
        FieldValue::CgroupPath { id, .. } => i128::from(*id),
        FieldValue::UserName(uid) => i128::from(*uid),
        // The nanoseconds the map holds (CLOCK_MONOTONIC), as for `nsecs`.
        FieldValue::Time { ns, .. } => i128::from(*ns),
        FieldValue::Str(_)
        | FieldValue::Stack(_)
        | FieldValue::UserStack { .. }
        | FieldValue::RawStack(_)
        | FieldValue::Tuple(_)
        | FieldValue::Record(_)
        | FieldValue::Array(_) => 0,
        FieldValue::StackId { kind, raw } => i128::from(kind.split(*raw).1),
    }
}

fn labels(snapshot: &Snapshot, row: &Row, symbols: &dyn Symbolizer) -> Vec<(String, String)> {
    let names = label_names(&snapshot.map.keys);
    row.key
        .iter()
        .zip(names)
        .map(|(part, name)| {
            let value = match (part, part.frame_names(symbols)) {
                (_, Some(frames)) => folded_frames(frames),
                (_, None) => part.to_key_text(symbols),
            };
            (name, value)
        })
        .collect()
}

/// Each key field's label name: the field's own name (`cpu`, `culprit`) where it has one that no other key field
/// of the map has and that is not `le`; else `key` for a lone field, `key0`, `key1`, ... for several.
fn label_names(keys: &[FieldLayout]) -> Vec<String> {
    let named: Vec<Option<String>> = keys.iter().map(|field| field.name.as_deref().map(sanitize)).collect();
    let unique = |name: &String| name != "le" && named.iter().filter(|other| other.as_ref() == Some(name)).count() == 1;
    named
        .iter()
        .enumerate()
        .map(|(i, name)| match name {
            Some(name) if unique(name) => name.clone(),
            _ if keys.len() == 1 => "key".to_string(),
            _ => format!("key{i}"),
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
        Snapshot { map: MapLayout { name: name.into(), keys, value, keys_in_programs: false }, rows }
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
                value: AggValue::Average(Average { sum: 30, count: 3, divisor: 1 }),
            }],
        );
        let text = render_openmetrics(&[count, total, mean], &HexSymbolizer, &mut LabelBudget::default());
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
        histogram.add(crate::agg::hist_bucket(1, 0), 2);
        histogram.add(crate::agg::hist_bucket(5, 0), 3);
        let hist = snapshot(
            "@h",
            vec![],
            MapValue::Agg { kind: AggKind::Hist { bits: 0 }, format: ValueFormat::Unsigned },
            vec![Row { key: vec![], value: AggValue::Histogram(histogram) }],
        );
        let text = render_openmetrics(&[hist], &HexSymbolizer, &mut LabelBudget::default());
        assert_eq!(
            text,
            "# TYPE jl_h histogram\n# HELP jl_h jitterlang map @h\n\
             jl_h_bucket{le=\"1\"} 2\njl_h_bucket{le=\"3\"} 2\njl_h_bucket{le=\"7\"} 5\n\
             jl_h_bucket{le=\"+Inf\"} 5\njl_h_count 5\n# EOF\n"
        );
    }

    #[test]
    fn culprits_beyond_the_budget_add_up_under_other_from_one_scrape_to_the_next() {
        let softirq = |vec: u64| FieldValue::Culprit(crate::culprit::Culprit::Softirq(vec as u32).encode());
        let rows = |vecs: std::ops::Range<u64>| -> Vec<Row> {
            vecs.map(|vec| Row {
                key: vec![FieldValue::Uint(vec % 2), softirq(vec)],
                value: AggValue::Scalar(FieldValue::Uint(vec + 1)),
            })
            .collect()
        };
        let keys = vec![FieldLayout::integer(ValueFormat::Unsigned), FieldLayout::integer(ValueFormat::Culprit)];
        let map = |rows| {
            snapshot("@n", keys.clone(), MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Unsigned }, rows)
        };
        let mut budget = LabelBudget::default();
        for vec in 0..CULPRIT_LABELS as u64 - 2 {
            budget.admit("@n", &format!("softirq:vec{vec}"));
        }
        // Two of the ten vectors still fit; the rest fold into `other`, per value of the other key.
        let first = render_openmetrics(&[map(rows(0..10))], &HexSymbolizer, &mut budget);
        let other: Vec<&str> = first.lines().filter(|line| line.contains("other")).collect();
        assert_eq!(
            other,
            ["jl_n_total{key0=\"0\",key1=\"other\"} 24", "jl_n_total{key0=\"1\",key1=\"other\"} 28"],
            "{first}"
        );
        assert!(first.contains("key1=\"softirq:hi\"} 1\n") && first.contains("key1=\"softirq:timer\"} 2\n"));
        // The next scrape keeps the same labels: hi and timer stay, net_tx stays under `other`.
        let second = render_openmetrics(&[map(rows(1..3))], &HexSymbolizer, &mut budget);
        assert!(second.contains("key1=\"softirq:timer\"} 2\n") && second.contains("key1=\"other\"} 3\n"), "{second}");
    }

    #[test]
    fn keys_with_their_own_names_name_their_labels() {
        let named = |name: &str| FieldLayout { name: Some(name.into()), ..FieldLayout::integer(ValueFormat::Unsigned) };
        let unnamed = FieldLayout::integer(ValueFormat::Unsigned);
        assert_eq!(label_names(&[named("cpu"), named("culprit")]), ["cpu", "culprit"]);
        assert_eq!(label_names(&[named("cpu"), named("cpu"), unnamed.clone()]), ["key0", "key1", "key2"]);
        assert_eq!(label_names(&[named("le")]), ["key"], "le is the histograms' own label");
        assert_eq!(label_names(&[named("args.vec"), unnamed]), ["args_vec", "key1"]);
    }
}

//! JSON output, in bpftrace's `-f json` shape: one object per map, written as text by
//! [`json_line`](super::json_line) in bpftrace's exact layout.
//!
//! ```json
//! {"type": "map",   "data": {"@": 12}}                         count, sum, min, max, plain maps
//! {"type": "map",   "data": {"@c": {"1": 1, "2": 2}}}          keyed: one member per key
//! {"type": "map",   "data": {"@k": {"swapper/0,7": 31}}}       several key fields joined by ","
//! {"type": "stats", "data": {"@a": {"1": 10}}}                 avg: the integer mean
//! {"type": "stats", "data": {"@s": {"count": 3, "average": 4, "total": 12}}}
//! {"type": "hist",  "data": {"@h": [{"max": -1, "count": 1}, {"min": 4, "max": 7, "count": 12}]}}
//! {"type": "hist",  "data": {"@h": {"7": [{"min": 0, "max": 0, "count": 3}]}}}   keyed histograms
//! {"type": "hist",  "data": {"@t": [{"min": 512000, "max": 999999, "count": 2}]}, "unit": "ns"}
//! {"type": "tseries", "data": {"@t": [{"interval_start":"2026-12-07 04:33:15.000000000","value":3}]}}
//! ```
//!
//! - `type` is `map`, `stats` (for `avg` and `stats`), `hist` (for `hist`, `timehist`, `lhist`) or
//!   `tseries` (its intervals with a value, oldest first, starts in local time).
//! - `data` has one member, the map's name. Without key fields its value is the map's single value
//!   (`null`, or `[]` for a histogram, when the map is empty); with key fields it is an object whose
//!   member names are the key fields printed as in text output, joined by `,`.
//! - Histogram buckets are listed as in text output (first to last non-empty bucket, empty buckets
//!   between them with `"count": 0`). `min` and `max` are inclusive, as in bpftrace; `min` is left out
//!   for the first bucket (everything below) and `max` for the open-ended last one.
//! - `unit` (jl's own, after `data` so that lines start as bpftrace's do) is present, `"ns"`, when values (or
//!   histogram bounds) are nanoseconds: the numbers stay integers in nanoseconds. Text-only formats print as
//!   strings: hex (`"0x1f"`) and kernel symbols.
//! - Members keep bpftrace's order (`type`, `data`; `min`, `max`, `count`; `count`, `average`, `total`); keyed
//!   maps list their keys in the snapshot's order, as text output does.

use serde_json::{json, Map, Value};

use super::bucket::BucketRange;
use super::layout::{MapLayout, MapValue};
use super::quantile::summarize;
use super::tseries::{json_time, snapshot_window, TimeSeries};
use super::value::{AggValue, Average, FieldValue, Histogram, Snapshot, Symbolizer};
use super::AggKind;

/// Renders a decoded map as one bpftrace-style JSON object (see the module documentation).
pub fn render_json(snapshot: &Snapshot, symbols: &dyn Symbolizer) -> Value {
    let map = &snapshot.map;
    let value_json = |value: &AggValue| match value {
        AggValue::Scalar(field) => field_json(field, symbols),
        AggValue::Average(average) => average_json(map, average),
        AggValue::Histogram(histogram) if map.histogram() == Some(AggKind::Quantiles) => quantiles_json(histogram),
        AggValue::Histogram(histogram) => histogram_json(map, histogram),
        AggValue::TSeries(series) => tseries_json(snapshot, series, symbols),
    };
    let data = if map.keys.is_empty() {
        match snapshot.rows.first() {
            Some(row) => value_json(&row.value),
            None if map.histogram().is_some() => Value::Array(Vec::new()),
            None => Value::Null,
        }
    } else {
        let members: Map<String, Value> =
            snapshot.rows.iter().map(|row| (key_json(&row.key, symbols), value_json(&row.value))).collect();
        Value::Object(members)
    };
    let mut object = Map::new();
    object.insert("type".to_string(), Value::from(json_type(map)));
    object.insert("data".to_string(), json!({ map.name.clone(): data }));
    if map.is_duration() {
        object.insert("unit".to_string(), Value::from("ns"));
    }
    Value::Object(object)
}

fn json_type(map: &MapLayout) -> &'static str {
    match map.value {
        MapValue::Agg { kind: AggKind::Avg | AggKind::Stats, .. } => "stats",
        MapValue::Agg { kind: AggKind::Quantiles, .. } => "quantiles",
        MapValue::Agg { kind: AggKind::TSeries { .. }, .. } => "tseries",
        MapValue::Agg { kind, .. } if kind.is_histogram() => "hist",
        _ => "map",
    }
}

/// A `tseries` as bpftrace writes it: the intervals with a value, oldest first, each
/// `{"interval_start":"2026-12-07 04:33:15.000000000","value":3}` (local time; unspaced, see
/// [`json_line`](super::json_line)).
fn tseries_json(snapshot: &Snapshot, series: &TimeSeries, symbols: &dyn Symbolizer) -> Value {
    let points = snapshot_window(snapshot, series).into_iter().filter_map(|(epoch, value)| {
        let start = json_time(symbols.unix_ns(epoch * series.interval_ns, series.tai));
        Some(json!({ "interval_start": start, "value": number_json(value?) }))
    });
    Value::Array(points.collect())
}

/// An integer as a JSON number (a `u64` or an `i64`).
fn number_json(value: i128) -> Value {
    match i64::try_from(value) {
        Ok(value) => Value::from(value),
        Err(_) => Value::from(value as u64),
    }
}

/// A key's member name: its fields as text joined by `,`, a tuple among them `(2,3)`, as bpftrace 0.27 writes them.
fn key_json(fields: &[FieldValue], symbols: &dyn Symbolizer) -> String {
    let text = |field: &FieldValue| match field {
        FieldValue::Tuple(elements) => format!("({})", key_json(elements, symbols)),
        field => field.to_key_text(symbols),
    };
    fields.iter().map(text).collect::<Vec<_>>().join(",")
}

fn field_json(field: &FieldValue, symbols: &dyn Symbolizer) -> Value {
    match field {
        FieldValue::Int(v) | FieldValue::Duration(v) | FieldValue::Enum { value: v, .. } => Value::from(*v),
        // A pointer is a number in JSON, as bpftrace 0.27 writes it (hex only in text and as a key).
        FieldValue::Uint(v) | FieldValue::Hex(v) => Value::from(*v),
        FieldValue::Bool(v) => Value::from(*v),
        FieldValue::Symbol(_)
        | FieldValue::UserSymbol { .. }
        | FieldValue::CgroupPath { .. }
        | FieldValue::UserName(_)
        | FieldValue::Culprit(_)
        | FieldValue::Str(_)
        | FieldValue::StackId { .. }
        | FieldValue::Time { .. } => Value::from(field.to_text(symbols)),
        FieldValue::Stack(_) | FieldValue::UserStack { .. } | FieldValue::RawStack(_) => {
            Value::from(field.frame_names(symbols))
        }
        FieldValue::Tuple(elements) | FieldValue::Array(elements) => {
            elements.iter().map(|element| field_json(element, symbols)).collect()
        }
        FieldValue::Record(fields) => {
            fields.iter().map(|(name, value)| (name.clone(), field_json(value, symbols))).collect::<Map<_, _>>().into()
        }
    }
}

fn average_json(map: &MapLayout, average: &Average) -> Value {
    match map.value {
        MapValue::Agg { kind: AggKind::Stats, .. } => {
            json!({"count": average.count, "average": average.mean(), "total": average.sum})
        }
        _ => Value::from(average.mean()),
    }
}

/// `{"count": 1000, "p50": 511, "p90": 927, "p99": 991, "p99.9": 1023, "max": 1023}`.
fn quantiles_json(histogram: &Histogram) -> Value {
    let Some(summary) = summarize(histogram) else { return json!({ "count": 0 }) };
    let mut object = Map::new();
    object.insert("count".to_string(), Value::from(summary.count));
    for (label, value) in &summary.percentiles {
        object.insert((*label).to_string(), Value::from(*value));
    }
    object.insert("max".to_string(), Value::from(summary.max));
    Value::Object(object)
}

fn histogram_json(map: &MapLayout, histogram: &Histogram) -> Value {
    let Some(kind) = map.histogram() else {
        return Value::Array(Vec::new());
    };
    let buckets = histogram.visible_buckets().into_iter().map(|(bucket, count)| {
        let mut entry = Map::new();
        let range = kind.bucket_range(bucket).unwrap_or(BucketRange { lower: None, upper: None });
        if let Some(lower) = range.lower {
            entry.insert("min".to_string(), wide_integer(lower));
        }
        if let Some(upper) = range.upper {
            entry.insert("max".to_string(), wide_integer(upper - 1));
        }
        entry.insert("count".to_string(), Value::from(count));
        Value::Object(entry)
    });
    Value::Array(buckets.collect())
}

/// A bucket bound as a JSON number (as a string only past `u64`, which bucket bounds never reach).
fn wide_integer(v: i128) -> Value {
    if let Ok(v) = i64::try_from(v) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(v) {
        Value::from(v)
    } else {
        Value::from(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::testing::{agg_layout, per_cpu, single_slot, snapshot, string, unkeyed_histogram, words};
    use crate::agg::{FieldLayout, HexSymbolizer, ValueFormat};
    use crate::maps::MapEntries;

    fn rendered(layout: &MapLayout, entries: &MapEntries) -> Value {
        render_json(&snapshot(layout, entries), &HexSymbolizer)
    }

    /// Parses a golden; comparing values makes member order irrelevant.
    fn golden(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|error| panic!("bad golden {text}: {error}"))
    }

    fn one_cpu(entries: &[(&[i64], &[i64])]) -> MapEntries {
        per_cpu(entries.iter().map(|(key, value)| (words(key), vec![words(value)])).collect())
    }

    fn unsigned_key() -> Vec<FieldLayout> {
        vec![FieldLayout::integer(ValueFormat::Unsigned)]
    }

    // bpftrace 0.17 `-f json` prints the same objects for the same data (`unit` is ours).

    #[test]
    fn counts() {
        let layout = agg_layout("@c", unsigned_key(), AggKind::Count, ValueFormat::Unsigned);
        let entries = one_cpu(&[(&[2], &[2]), (&[1], &[1])]);
        assert_eq!(rendered(&layout, &entries), golden(r#"{"type":"map","data":{"@c":{"1":1,"2":2}}}"#));
        let unkeyed = agg_layout("@", vec![], AggKind::Count, ValueFormat::Unsigned);
        assert_eq!(rendered(&unkeyed, &single_slot(&[12])), golden(r#"{"type":"map","data":{"@":12}}"#));
        assert_eq!(rendered(&unkeyed, &MapEntries::Empty), golden(r#"{"type":"map","data":{"@":null}}"#));
    }

    #[test]
    fn several_key_fields_join_with_commas() {
        let keys = vec![FieldLayout::string(8), FieldLayout::integer(ValueFormat::Signed)];
        let layout = agg_layout("@k", keys, AggKind::Count, ValueFormat::Unsigned);
        let entries = per_cpu(vec![([string("a", 8), words(&[2])].concat(), vec![words(&[1])])]);
        assert_eq!(rendered(&layout, &entries), golden(r#"{"type":"map","data":{"@k":{"a,2":1}}}"#));
    }

    #[test]
    fn plain_values_by_format() {
        let strings = MapLayout {
            name: "@y".into(),
            keys: vec![FieldLayout::string(8)],
            value: MapValue::Scalar(FieldLayout::string(8)),
            keys_in_programs: false,
        };
        let entries = MapEntries::Shared(vec![(string("a", 8), string("str", 8))]);
        assert_eq!(rendered(&strings, &entries), golden(r#"{"type":"map","data":{"@y":{"a":"str"}}}"#));
        let hex = MapLayout {
            name: "@x".into(),
            keys: vec![],
            value: MapValue::Scalar(FieldLayout::integer(ValueFormat::Hex)),
            keys_in_programs: false,
        };
        let entries = MapEntries::Shared(vec![(words(&[0]), words(&[31]))]);
        assert_eq!(rendered(&hex, &entries), golden(r#"{"type":"map","data":{"@x":31}}"#));
    }

    #[test]
    fn durations_carry_a_unit() {
        let layout = agg_layout("@d", vec![], AggKind::Sum, ValueFormat::Duration);
        assert_eq!(
            rendered(&layout, &single_slot(&[1_500_000])),
            golden(r#"{"type":"map","unit":"ns","data":{"@d":1500000}}"#)
        );
    }

    #[test]
    fn averages_and_stats() {
        let avg = agg_layout("@a", unsigned_key(), AggKind::Avg, ValueFormat::Signed);
        let entries = one_cpu(&[(&[1], &[10, 1]), (&[2], &[3, 1])]);
        assert_eq!(rendered(&avg, &entries), golden(r#"{"type":"stats","data":{"@a":{"1":10,"2":3}}}"#));
        let stats = agg_layout("@s", vec![], AggKind::Stats, ValueFormat::Signed);
        assert_eq!(
            rendered(&stats, &single_slot(&[4, 1])),
            golden(r#"{"type":"stats","data":{"@s":{"count":1,"average":4,"total":4}}}"#)
        );
    }

    #[test]
    fn hist_buckets_have_inclusive_bounds() {
        let layout = agg_layout("@h", vec![], AggKind::Hist { bits: 0 }, ValueFormat::Signed);
        let entries = unkeyed_histogram(&[(0, 1), (1, 1), (4, 1)]);
        let expected = concat!(
            r#"{"type":"hist","data":{"@h":[{"max":-1,"count":1},{"min":0,"max":0,"count":1},"#,
            r#"{"min":1,"max":1,"count":0},{"min":2,"max":3,"count":0},{"min":4,"max":7,"count":1}]}}"#
        );
        assert_eq!(rendered(&layout, &entries), golden(expected));
        assert_eq!(rendered(&layout, &MapEntries::Empty), golden(r#"{"type":"hist","data":{"@h":[]}}"#));
    }

    #[test]
    fn keyed_lhist_nests_by_key() {
        let layout = agg_layout("@l", unsigned_key(), AggKind::Lhist { min: 0, max: 10, step: 5 }, ValueFormat::Signed);
        let entries = one_cpu(&[(&[1, 2], &[3]), (&[1, 3], &[1]), (&[2, 0], &[2])]);
        let expected = concat!(
            r#"{"type":"hist","data":{"@l":{"1":[{"min":5,"max":9,"count":3},{"min":10,"count":1}],"#,
            r#""2":[{"max":-1,"count":2}]}}}"#
        );
        assert_eq!(rendered(&layout, &entries), golden(expected));
    }

    #[test]
    fn timehist_bounds_in_nanoseconds() {
        let layout = agg_layout("@t", vec![], AggKind::TimeHist, ValueFormat::Duration);
        let entries = unkeyed_histogram(&[(20, 2), (64, 1)]);
        let rendered = render_json(&snapshot(&layout, &entries), &HexSymbolizer);
        assert_eq!(rendered["unit"], "ns");
        let buckets = rendered["data"]["@t"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert_eq!(buckets.len(), 45);
        assert_eq!(buckets[0], serde_json::json!({"min": 512_000, "max": 999_999, "count": 2}));
        assert_eq!(
            buckets[44],
            serde_json::json!({"min": 8_589_934_592_000_000_000u64, "max": 17_179_869_183_999_999_999u64, "count": 1})
        );
    }
}

//! JSON output, in bpftrace's `-f json` shape: one object per map.
//!
//! ```json
//! {"type": "map",   "data": {"@": 12}}                         count, sum, min, max, plain maps
//! {"type": "map",   "data": {"@c": {"1": 1, "2": 2}}}          keyed: one member per key
//! {"type": "map",   "data": {"@k": {"swapper/0,7": 31}}}       several key fields joined by ","
//! {"type": "stats", "data": {"@a": {"1": 10}}}                 avg: the integer mean
//! {"type": "stats", "data": {"@s": {"count": 3, "average": 4, "total": 12}}}
//! {"type": "hist",  "data": {"@h": [{"max": -1, "count": 1}, {"min": 4, "max": 7, "count": 12}]}}
//! {"type": "hist",  "data": {"@h": {"7": [{"min": 0, "max": 0, "count": 3}]}}}   keyed histograms
//! {"type": "hist",  "unit": "ns", "data": {"@t": [{"min": 512000, "max": 999999, "count": 2}]}}
//! ```
//!
//! - `type` is `map`, `stats` (for `avg` and `stats`) or `hist` (for `hist`, `timehist`, `lhist`).
//! - `data` has one member, the map's name. Without key fields its value is the map's single value
//!   (`null`, or `[]` for a histogram, when the map is empty); with key fields it is an object whose
//!   member names are the key fields printed as in text output, joined by `,`.
//! - Histogram buckets are listed as in text output (first to last non-empty bucket, empty buckets
//!   between them with `"count": 0`). `min` and `max` are inclusive, as in bpftrace; `min` is left out
//!   for the first bucket (everything below) and `max` for the open-ended last one.
//! - `unit` is present, `"ns"`, when values (or histogram bounds) are nanoseconds: the numbers stay
//!   integers in nanoseconds. Text-only formats print as strings: hex (`"0x1f"`) and kernel symbols.
//! - Member order inside `data` objects carries no meaning.

use serde_json::{json, Map, Value};

use super::bucket::BucketRange;
use super::layout::{MapLayout, MapValue};
use super::text::key_text_parts;
use super::value::{AggValue, Average, FieldValue, Histogram, Snapshot, Symbolizer};
use super::AggKind;

/// Renders a decoded map as one bpftrace-style JSON object (see the module documentation).
pub fn render_json(snapshot: &Snapshot, symbols: &dyn Symbolizer) -> Value {
    let map = &snapshot.map;
    let value_json = |value: &AggValue| match value {
        AggValue::Scalar(field) => field_json(field, symbols),
        AggValue::Average(average) => average_json(map, average),
        AggValue::Histogram(histogram) => histogram_json(map, histogram),
    };
    let data = if map.keys.is_empty() {
        match snapshot.rows.first() {
            Some(row) => value_json(&row.value),
            None if map.histogram().is_some() => Value::Array(Vec::new()),
            None => Value::Null,
        }
    } else {
        let members: Map<String, Value> =
            snapshot.rows.iter().map(|row| (key_text_parts(row, symbols).join(","), value_json(&row.value))).collect();
        Value::Object(members)
    };
    let mut object = Map::new();
    object.insert("type".to_string(), Value::from(json_type(map)));
    if map.is_duration() {
        object.insert("unit".to_string(), Value::from("ns"));
    }
    object.insert("data".to_string(), json!({ map.name.clone(): data }));
    Value::Object(object)
}

fn json_type(map: &MapLayout) -> &'static str {
    match map.value {
        MapValue::Agg { kind: AggKind::Avg | AggKind::Stats, .. } => "stats",
        MapValue::Agg { kind, .. } if kind.is_histogram() => "hist",
        _ => "map",
    }
}

fn field_json(field: &FieldValue, symbols: &dyn Symbolizer) -> Value {
    match field {
        FieldValue::Int(v) | FieldValue::Duration(v) => Value::from(*v),
        FieldValue::Uint(v) => Value::from(*v),
        FieldValue::Hex(_) | FieldValue::Symbol(_) | FieldValue::Str(_) => Value::from(field.to_text(symbols)),
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

//! Decoding raw map contents ([`MapEntries`]) into a [`Snapshot`]: keys split into fields, per-CPU
//! values merged, histogram buckets grouped by key, rows sorted for printing.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::maps::MapEntries;

use super::layout::{FieldLayout, MapLayout, MapValue, ValueFormat, INTEGER_SIZE};
use super::value::{AggValue, Average, FieldValue, Histogram, Row, Snapshot};
use super::{AggError, AggKind};

/// Decodes and merges a map read from the kernel.
///
/// Aggregations are per-CPU maps; a shared map is accepted as one CPU. Plain maps must be shared.
/// `min`/`max` keys that no CPU saw, and histograms with no event, are left out.
pub fn decode(layout: &MapLayout, entries: &MapEntries) -> Result<Snapshot, AggError> {
    let mut rows = match &layout.value {
        MapValue::Scalar(field) => decode_plain(layout, field, entries)?,
        MapValue::Agg { kind, format } => {
            let per_cpu = per_cpu_view(entries);
            if kind.is_histogram() {
                decode_histograms(layout, *kind, &per_cpu)?
            } else {
                decode_aggregations(layout, *kind, *format, &per_cpu)?
            }
        }
    };
    rows.sort_by(|a, b| print_order(&a.value, &b.value).then_with(|| a.key.cmp(&b.key)));
    Ok(Snapshot { map: layout.clone(), rows })
}

/// One key with its values, one per CPU.
type PerCpuEntry<'a> = (&'a [u8], &'a [Vec<u8>]);

fn per_cpu_view(entries: &MapEntries) -> Vec<PerCpuEntry<'_>> {
    match entries {
        MapEntries::Empty => Vec::new(),
        MapEntries::Shared(pairs) => pairs.iter().map(|(key, value)| (key.as_slice(), std::slice::from_ref(value))).collect(),
        MapEntries::PerCpu(pairs) => pairs.iter().map(|(key, values)| (key.as_slice(), values.as_slice())).collect(),
    }
}

fn decode_plain(layout: &MapLayout, field: &FieldLayout, entries: &MapEntries) -> Result<Vec<Row>, AggError> {
    let pairs = match entries {
        MapEntries::Empty => return Ok(Vec::new()),
        MapEntries::Shared(pairs) => pairs,
        MapEntries::PerCpu(_) => return Err(AggError::PerCpuPlainMap { map: layout.name.clone() }),
    };
    pairs
        .iter()
        .map(|(key, value)| {
            check_key(layout, key)?;
            check_value(layout, value)?;
            Ok(Row { key: decode_key(layout, key)?, value: AggValue::Scalar(decode_field(layout, field, value)?) })
        })
        .collect()
}

fn decode_aggregations(
    layout: &MapLayout,
    kind: AggKind,
    format: ValueFormat,
    entries: &[PerCpuEntry<'_>],
) -> Result<Vec<Row>, AggError> {
    let mut rows = Vec::with_capacity(entries.len());
    for (key, values) in entries {
        check_key(layout, key)?;
        for value in values.iter() {
            check_value(layout, value)?;
        }
        if let Some(value) = merge_cpus(kind, format, values) {
            rows.push(Row { key: decode_key(layout, key)?, value });
        }
    }
    Ok(rows)
}

/// Merges the per-CPU values of one key (sizes already checked); `None` for a `min`/`max` no CPU saw.
fn merge_cpus(kind: AggKind, format: ValueFormat, values: &[Vec<u8>]) -> Option<AggValue> {
    let first_words = values.iter().map(|value| word(value, 0));
    let pairs = values.iter().map(|value| (word(value, 0), word(value, 1)));
    let scalar = |raw: u64| Some(AggValue::Scalar(FieldValue::from_integer(raw, format)));
    match kind {
        AggKind::Count => Some(AggValue::Scalar(FieldValue::Uint(first_words.fold(0, u64::wrapping_add)))),
        AggKind::Sum => scalar(first_words.fold(0, u64::wrapping_add)),
        AggKind::Min => pairs.filter(|(_, seen)| *seen != 0).map(|(v, _)| v as i64).min().and_then(|v| scalar(v as u64)),
        AggKind::Max => pairs.filter(|(_, seen)| *seen != 0).map(|(v, _)| v as i64).max().and_then(|v| scalar(v as u64)),
        AggKind::Avg | AggKind::Stats => {
            let merged = pairs.fold(Average::default(), |acc, (sum, count)| Average {
                sum: acc.sum.wrapping_add(sum as i64),
                count: acc.count.wrapping_add(count),
            });
            Some(AggValue::Average(merged))
        }
        AggKind::Hist | AggKind::TimeHist | AggKind::Lhist { .. } => None,
    }
}

fn decode_histograms(layout: &MapLayout, kind: AggKind, entries: &[PerCpuEntry<'_>]) -> Result<Vec<Row>, AggError> {
    let user_size = layout.user_key_size() as usize;
    let mut by_key: BTreeMap<&[u8], Histogram> = BTreeMap::new();
    for (key, values) in entries {
        check_key(layout, key)?;
        let (user_key, bucket) = key.split_at(user_size);
        let bucket = word(bucket, 0);
        if kind.bucket_range(bucket).is_none() {
            return Err(AggError::BucketOutOfRange { map: layout.name.clone(), kind: kind.name(), index: bucket });
        }
        let histogram = by_key.entry(user_key).or_default();
        for value in values.iter() {
            check_value(layout, value)?;
            histogram.add(bucket, word(value, 0));
        }
    }
    by_key
        .into_iter()
        .filter(|(_, histogram)| !histogram.is_empty())
        .map(|(key, histogram)| Ok(Row { key: decode_fields(layout, key)?, value: AggValue::Histogram(histogram) }))
        .collect()
}

/// bpftrace's order of two values of the same map (rows of equal rank are then ordered by key).
fn print_order(a: &AggValue, b: &AggValue) -> Ordering {
    match (a, b) {
        (AggValue::Scalar(FieldValue::Str(_)), AggValue::Scalar(FieldValue::Str(_))) => Ordering::Equal,
        (AggValue::Scalar(a), AggValue::Scalar(b)) => a.cmp(b),
        (AggValue::Average(a), AggValue::Average(b)) => a.mean().cmp(&b.mean()),
        (AggValue::Histogram(a), AggValue::Histogram(b)) => a.total().cmp(&b.total()),
        _ => Ordering::Equal,
    }
}

fn check_key(layout: &MapLayout, key: &[u8]) -> Result<(), AggError> {
    let expected = layout.key_size();
    if key.len() == expected as usize {
        Ok(())
    } else {
        Err(AggError::KeySize { map: layout.name.clone(), expected, actual: key.len() })
    }
}

fn check_value(layout: &MapLayout, value: &[u8]) -> Result<(), AggError> {
    let expected = layout.value_size();
    if value.len() == expected as usize {
        Ok(())
    } else {
        Err(AggError::ValueSize { map: layout.name.clone(), expected, actual: value.len() })
    }
}

/// The key fields of a non-histogram key (whose size is checked); the 8-byte 0 of a map without
/// `[...]` decodes to no field.
fn decode_key(layout: &MapLayout, key: &[u8]) -> Result<Vec<FieldValue>, AggError> {
    decode_fields(layout, &key[..layout.user_key_size() as usize])
}

/// Splits `bytes` (exactly the key fields) into fields.
fn decode_fields(layout: &MapLayout, bytes: &[u8]) -> Result<Vec<FieldValue>, AggError> {
    let mut rest = bytes;
    let mut fields = Vec::with_capacity(layout.keys.len());
    for field in &layout.keys {
        let (this, tail) = rest.split_at(field.size as usize);
        fields.push(decode_field(layout, field, this)?);
        rest = tail;
    }
    Ok(fields)
}

/// One field from exactly its bytes.
fn decode_field(layout: &MapLayout, field: &FieldLayout, bytes: &[u8]) -> Result<FieldValue, AggError> {
    if field.format == ValueFormat::Str {
        let end = bytes.iter().position(|byte| *byte == 0).unwrap_or(bytes.len());
        return Ok(FieldValue::Str(String::from_utf8_lossy(&bytes[..end]).into_owned()));
    }
    let raw = match field.size {
        1 | 2 | 4 | INTEGER_SIZE => word(bytes, 0),
        size => return Err(AggError::IntegerSize { map: layout.name.clone(), size }),
    };
    let signed = matches!(field.format, ValueFormat::Signed | ValueFormat::Duration);
    let unused_bits = 64 - 8 * field.size;
    let raw = if signed && unused_bits > 0 { (((raw << unused_bits) as i64) >> unused_bits) as u64 } else { raw };
    Ok(FieldValue::from_integer(raw, field.format))
}

/// The little-endian `u64` at word `index` of `bytes`, zero-extended when `bytes` ends early.
fn word(bytes: &[u8], index: usize) -> u64 {
    let start = (index * 8).min(bytes.len());
    let end = (start + 8).min(bytes.len());
    let mut buf = [0u8; 8];
    buf[..end - start].copy_from_slice(&bytes[start..end]);
    u64::from_le_bytes(buf)
}

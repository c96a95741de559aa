//! Decoding raw map contents ([`MapEntries`]) into a [`Snapshot`]: keys split into fields, per-CPU
//! values merged, histogram buckets grouped by key, rows sorted for printing.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::maps::MapEntries;

use super::layout::{FieldLayout, MapLayout, MapValue, ValueFormat, INTEGER_SIZE};
use super::tseries::{merge_slot, Slot, TimeSeries};
use super::value::{
    format_buf, format_inet, format_inet_family, AggValue, Average, FieldValue, Histogram, Row, Snapshot,
};
use super::{AggError, AggKind, TSeriesAgg};

/// Decodes and merges a map read from the kernel.
///
/// Aggregations are per-CPU maps; a shared map is accepted as one CPU. Plain maps must be shared.
/// `min`/`max` keys that no CPU saw, and histograms with no event, are left out.
pub fn decode(layout: &MapLayout, entries: &MapEntries) -> Result<Snapshot, AggError> {
    decode_with(layout, entries, Zeroes::Unwritten)
}

/// [`decode`] of a map `zero()` zeroed: its keys whose values are all zero are rows too (a `min`/`max` no CPU
/// saw as 0, an empty histogram), as bpftrace prints them.
pub fn decode_zeroed(layout: &MapLayout, entries: &MapEntries) -> Result<Snapshot, AggError> {
    decode_with(layout, entries, Zeroes::Values)
}

/// What all-zero aggregation values stand for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Zeroes {
    /// Nothing was written: no row.
    Unwritten,
    /// The map was zeroed: a row of zeroes.
    Values,
}

fn decode_with(layout: &MapLayout, entries: &MapEntries, zeroes: Zeroes) -> Result<Snapshot, AggError> {
    let mut rows = match &layout.value {
        MapValue::Scalar(field) => decode_plain(layout, entries, |value| decode_field(layout, field, value))?,
        MapValue::Tuple(elements) => decode_plain(layout, entries, |value| tuple_value(layout, elements, value))?,
        MapValue::Agg { kind, format } => {
            let per_cpu = per_cpu_view(entries);
            if let AggKind::TSeries { agg, .. } = kind {
                decode_tseries(layout, *kind, *agg, *format, &per_cpu, zeroes)?
            } else if kind.is_histogram() {
                decode_histograms(layout, *kind, &per_cpu, zeroes)?
            } else {
                decode_aggregations(layout, *kind, *format, &per_cpu, zeroes)?
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
        MapEntries::Shared(pairs) => {
            pairs.iter().map(|(key, value)| (key.as_slice(), std::slice::from_ref(value))).collect()
        }
        MapEntries::PerCpu(pairs) => pairs.iter().map(|(key, values)| (key.as_slice(), values.as_slice())).collect(),
    }
}

/// The rows of a plain map, each value decoded by `value`.
fn decode_plain(
    layout: &MapLayout,
    entries: &MapEntries,
    value: impl Fn(&[u8]) -> Result<FieldValue, AggError>,
) -> Result<Vec<Row>, AggError> {
    let pairs = match entries {
        MapEntries::Empty => return Ok(Vec::new()),
        MapEntries::Shared(pairs) => pairs,
        MapEntries::PerCpu(_) => {
            return Err(AggError::PerCpuPlainMap { map: layout.name.clone() });
        }
    };
    pairs
        .iter()
        .map(|(key, bytes)| {
            check_key(layout, key)?;
            check_value(layout, bytes)?;
            Ok(Row { key: decode_key(layout, key)?, value: AggValue::Scalar(value(bytes)?) })
        })
        .collect()
}

fn decode_aggregations(
    layout: &MapLayout,
    kind: AggKind,
    format: ValueFormat,
    entries: &[PerCpuEntry<'_>],
    zeroes: Zeroes,
) -> Result<Vec<Row>, AggError> {
    let mut rows = Vec::with_capacity(entries.len());
    let name_slots = layout.name_slots();
    for (key, values) in entries {
        check_key(layout, key)?;
        for value in values.iter() {
            check_value(layout, value)?;
        }
        let unwritten = zeroes == Zeroes::Unwritten;
        if unwritten && layout.is_array() && values.iter().all(|value| value.iter().all(|byte| *byte == 0)) {
            continue;
        }
        let zero = || (!unwritten).then(|| AggValue::Scalar(FieldValue::from_integer(0, format)));
        if let Some(value) = merge_cpus(kind, format, values).or_else(zero) {
            let key = match &name_slots {
                Some(slots) => decode_fields(layout, &slots.split(word(key, 0) as u32).0)?,
                None => decode_key(layout, key)?,
            };
            rows.push(Row { key, value });
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
        AggKind::Min => {
            pairs.filter(|(_, seen)| *seen != 0).map(|(v, _)| v as i64).min().and_then(|v| scalar(v as u64))
        }
        AggKind::Max => {
            pairs.filter(|(_, seen)| *seen != 0).map(|(v, _)| v as i64).max().and_then(|v| scalar(v as u64))
        }
        AggKind::Avg | AggKind::Stats => {
            let merged = pairs.fold(Average::default(), |acc, (sum, count)| Average {
                sum: acc.sum.wrapping_add(sum as i64),
                count: acc.count.wrapping_add(count),
                ..acc
            });
            Some(AggValue::Average(merged))
        }
        AggKind::Hist { .. }
        | AggKind::TimeHist
        | AggKind::Quantiles
        | AggKind::Lhist { .. }
        | AggKind::TSeries { .. } => None,
    }
}

fn decode_histograms(
    layout: &MapLayout,
    kind: AggKind,
    entries: &[PerCpuEntry<'_>],
    zeroes: Zeroes,
) -> Result<Vec<Row>, AggError> {
    let user_size = layout.user_key_size() as usize;
    let name_slots = layout.name_slots();
    let mut by_key: BTreeMap<Vec<u8>, Histogram> = BTreeMap::new();
    for (key, values) in entries {
        check_key(layout, key)?;
        let (user_key, bucket) = match &name_slots {
            Some(slots) => slots.split(word(key, 0) as u32),
            None => {
                let (user_key, bucket) = key.split_at(user_size);
                (user_key.to_vec(), word(bucket, 0))
            }
        };
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
        .filter(|(_, histogram)| zeroes == Zeroes::Values || !histogram.is_empty())
        .map(|(key, histogram)| Ok(Row { key: decode_fields(layout, &key)?, value: AggValue::Histogram(histogram) }))
        .collect()
}

/// The rows of a `tseries` map: each key's ring slots merged across CPUs (see [`merge_slot`]).
fn decode_tseries(
    layout: &MapLayout,
    kind: AggKind,
    agg: TSeriesAgg,
    format: ValueFormat,
    entries: &[PerCpuEntry<'_>],
    zeroes: Zeroes,
) -> Result<Vec<Row>, AggError> {
    let AggKind::TSeries { interval_ns, tai, .. } = kind else { return Ok(Vec::new()) };
    let signed = format != ValueFormat::Unsigned;
    let user_size = layout.user_key_size() as usize;
    let mut by_key: BTreeMap<&[u8], TimeSeries> = BTreeMap::new();
    for (key, values) in entries {
        check_key(layout, key)?;
        let mut cpus = Vec::with_capacity(values.len());
        for value in values.iter() {
            check_value(layout, value)?;
            cpus.push(Slot { value: word(value, 0), meta: word(value, 1), epoch: word(value, 2) });
        }
        let merged = merge_slot(agg, signed, &cpus);
        // A key whose slots were all zeroed (`zero(@m)`) is still printed, as bpftrace's `<no data>`; the
        // slots of an array exist from the start, so there that would print maps never written unless zeroed.
        if merged.is_none() && layout.is_array() && zeroes == Zeroes::Unwritten {
            continue;
        }
        let series = by_key.entry(&key[..user_size]).or_insert_with(|| TimeSeries {
            interval_ns,
            signed,
            tai,
            points: BTreeMap::new(),
        });
        if let Some((epoch, value)) = merged {
            series.points.insert(epoch, value);
        }
    }
    by_key
        .into_iter()
        .map(|(key, series)| Ok(Row { key: decode_fields(layout, key)?, value: AggValue::TSeries(series) }))
        .collect()
}

/// bpftrace's order of two values of the same map (rows of equal rank are then ordered by key).
fn print_order(a: &AggValue, b: &AggValue) -> Ordering {
    match (a, b) {
        (AggValue::Scalar(FieldValue::Str(_)), AggValue::Scalar(FieldValue::Str(_))) => Ordering::Equal,
        (AggValue::Scalar(FieldValue::Tuple(_)), AggValue::Scalar(FieldValue::Tuple(_))) => Ordering::Equal,
        (AggValue::Scalar(FieldValue::Record(_)), AggValue::Scalar(FieldValue::Record(_))) => Ordering::Equal,
        (AggValue::Scalar(FieldValue::Array(_)), AggValue::Scalar(FieldValue::Array(_))) => Ordering::Equal,
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
    split_fields(layout, &layout.keys, bytes)
}

/// The `fields` of `layout` laid out one after another in `bytes` (whose size is already checked).
fn split_fields(layout: &MapLayout, fields_layout: &[FieldLayout], bytes: &[u8]) -> Result<Vec<FieldValue>, AggError> {
    let mut rest = bytes;
    let mut fields = Vec::with_capacity(fields_layout.len());
    for field in fields_layout {
        let (this, tail) = rest.split_at(field.size as usize);
        fields.push(match field.elements.is_empty() {
            true => decode_field(layout, field, this)?,
            false => tuple_value(layout, &field.elements, this)?,
        });
        rest = tail;
    }
    Ok(fields)
}

/// A tuple of `elements` from its bytes: a record when every element has a name.
fn tuple_value(layout: &MapLayout, elements: &[FieldLayout], bytes: &[u8]) -> Result<FieldValue, AggError> {
    let fields = split_fields(layout, elements, bytes)?;
    let names: Option<Vec<String>> = elements.iter().map(|element| element.name.clone()).collect();
    Ok(match names {
        Some(names) => FieldValue::Record(names.into_iter().zip(fields).collect()),
        None => FieldValue::Tuple(fields),
    })
}

/// One field from exactly its bytes.
fn decode_field(layout: &MapLayout, field: &FieldLayout, bytes: &[u8]) -> Result<FieldValue, AggError> {
    if field.format == ValueFormat::Str {
        let end = bytes.iter().position(|byte| *byte == 0).unwrap_or(bytes.len());
        return Ok(FieldValue::Str(String::from_utf8_lossy(&bytes[..end]).into_owned()));
    }
    match field.format {
        ValueFormat::Ipv4 | ValueFormat::Ipv6 => return Ok(FieldValue::Str(format_inet(bytes))),
        ValueFormat::Inet => return Ok(FieldValue::Str(format_inet_family(bytes))),
        ValueFormat::UserSymbol => {
            return Ok(FieldValue::UserSymbol { pid: word(bytes, 1) as u32, addr: word(bytes, 0) })
        }
        ValueFormat::Buf(len) => return Ok(FieldValue::Str(format_buf(&bytes[..bytes.len().min(len as usize)]))),
        ValueFormat::Array(array) => return Ok(FieldValue::Array(array.values(bytes))),
        _ => {}
    }
    let raw = match field.size {
        1 | 2 | 4 | INTEGER_SIZE => word(bytes, 0),
        size => {
            return Err(AggError::IntegerSize { map: layout.name.clone(), size });
        }
    };
    let signed = matches!(field.format, ValueFormat::Signed | ValueFormat::Duration);
    let unused_bits = 64 - 8 * field.size;
    let raw = if signed && unused_bits > 0 { (((raw << unused_bits) as i64) >> unused_bits) as u64 } else { raw };
    Ok(FieldValue::from_integer(raw, field.format))
}

/// The little-endian `u64` at word `index` of `bytes`, zero-extended when `bytes` ends early.
pub(super) fn word(bytes: &[u8], index: usize) -> u64 {
    let start = (index * 8).min(bytes.len());
    let end = (start + 8).min(bytes.len());
    let mut buf = [0u8; 8];
    buf[..end - start].copy_from_slice(&bytes[start..end]);
    u64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::testing::{agg_layout, name_key, per_cpu, slot_key, snapshot, string, unkeyed_histogram, words};

    #[test]
    fn a_count_by_name_in_an_array_has_a_row_for_each_name_counted_on_some_cpu() {
        let name = name_key(&["hi", "timer", "net_rx"]);
        let layout = agg_layout("@", vec![name], AggKind::Count, ValueFormat::Unsigned);
        let slots = (0..3u32).map(|slot| {
            (slot.to_le_bytes().to_vec(), vec![words(&[i64::from(slot == 2)]), words(&[i64::from(slot == 2) * 4])])
        });
        let entries = per_cpu(slots.collect());
        let rows = snapshot(&layout, &entries).rows;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            (rows[0].key.clone(), rows[0].value.clone()),
            (vec![FieldValue::Str("net_rx".into())], AggValue::Scalar(FieldValue::Uint(5)))
        );
    }

    #[test]
    fn a_histogram_by_name_in_an_array_has_a_row_for_each_name_counted_on_some_cpu() {
        let name = name_key(&["hi", "timer", "net_rx"]);
        let layout = agg_layout("@", vec![name], AggKind::Lhist { min: 0, max: 2, step: 1 }, ValueFormat::Signed);
        assert_eq!(layout.name_slots().map(|slots| slots.slots()), Some(12));
        // Every slot is read; only timer's bucket 1 (slot 5) counted, on CPU 1.
        let slots =
            (0..12u32).map(|slot| (slot.to_le_bytes().to_vec(), vec![words(&[0]), words(&[i64::from(slot == 5) * 3])]));
        let entries = per_cpu(slots.collect());
        let rows = snapshot(&layout, &entries).rows;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].key, vec![FieldValue::Str("timer".into())]);
        let AggValue::Histogram(histogram) = &rows[0].value else { panic!("{rows:?}") };
        assert_eq!(histogram.total(), 3);
        assert_eq!(decode_zeroed(&layout, &entries).expect("decodes").rows.len(), 3, "zeroed: the slots read are keys");
    }

    fn int_key() -> Vec<FieldLayout> {
        vec![FieldLayout::integer(ValueFormat::Unsigned)]
    }

    fn values(snapshot: &Snapshot) -> Vec<(Vec<FieldValue>, AggValue)> {
        snapshot.rows.iter().map(|row| (row.key.clone(), row.value.clone())).collect()
    }

    #[test]
    fn counts_add_up_across_cpus_and_sort_ascending() {
        let layout = agg_layout("@", int_key(), AggKind::Count, ValueFormat::Unsigned);
        let entries = per_cpu(vec![
            (words(&[7]), vec![words(&[30]), words(&[48])]),
            (words(&[1]), vec![words(&[13]), words(&[26])]),
            (words(&[4]), vec![words(&[0]), words(&[3])]),
        ]);
        let snapshot = snapshot(&layout, &entries);
        let counts: Vec<(Vec<FieldValue>, AggValue)> = [(4, 3), (1, 39), (7, 78)]
            .into_iter()
            .map(|(key, count)| (vec![FieldValue::Uint(key)], AggValue::Scalar(FieldValue::Uint(count))))
            .collect();
        assert_eq!(values(&snapshot), counts);
    }

    #[test]
    fn min_and_max_ignore_cpus_that_saw_nothing() {
        let entries = per_cpu(vec![
            (words(&[1]), vec![words(&[0, 0]), words(&[-5, 1]), words(&[9, 1])]),
            (words(&[2]), vec![words(&[0, 0]), words(&[0, 0]), words(&[0, 0])]),
        ]);
        let min = snapshot(&agg_layout("@mn", int_key(), AggKind::Min, ValueFormat::Signed), &entries);
        assert_eq!(values(&min), [(vec![FieldValue::Uint(1)], AggValue::Scalar(FieldValue::Int(-5)))]);
        let max = snapshot(&agg_layout("@mx", int_key(), AggKind::Max, ValueFormat::Signed), &entries);
        assert_eq!(values(&max), [(vec![FieldValue::Uint(1)], AggValue::Scalar(FieldValue::Int(9)))]);
    }

    #[test]
    fn zeroed_maps_keep_their_all_zero_values_as_rows() {
        let slot = per_cpu(vec![(slot_key(), vec![words(&[0]), words(&[0])])]);
        let count = agg_layout("@c", vec![], AggKind::Count, ValueFormat::Unsigned);
        assert!(snapshot(&count, &slot).rows.is_empty(), "never written: no row");
        let zeroed = decode_zeroed(&count, &slot).expect("decodes");
        assert_eq!(values(&zeroed), [(vec![], AggValue::Scalar(FieldValue::Uint(0)))]);
        let min = agg_layout("@m", int_key(), AggKind::Min, ValueFormat::Signed);
        let keyed = per_cpu(vec![(words(&[3]), vec![words(&[0, 0])])]);
        let zeroed = decode_zeroed(&min, &keyed).expect("decodes");
        assert_eq!(values(&zeroed), [(vec![FieldValue::Uint(3)], AggValue::Scalar(FieldValue::Int(0)))]);
        let hist = agg_layout("@h", vec![], AggKind::Hist { bits: 0 }, ValueFormat::Signed);
        let buckets = unkeyed_histogram(&[(0, 0), (1, 0)]);
        assert!(snapshot(&hist, &buckets).rows.is_empty());
        let zeroed = decode_zeroed(&hist, &buckets).expect("decodes");
        assert!(matches!(&zeroed.rows[..], [Row { value: AggValue::Histogram(h), .. }] if h.is_empty()));
    }

    #[test]
    fn unseen_zero_does_not_win_the_minimum() {
        let entries = per_cpu(vec![(slot_key(), vec![words(&[0, 0]), words(&[42, 1])])]);
        let min = snapshot(&agg_layout("@", vec![], AggKind::Min, ValueFormat::Duration), &entries);
        assert_eq!(values(&min), [(vec![], AggValue::Scalar(FieldValue::Duration(42)))]);
    }

    #[test]
    fn sums_and_averages_merge_sum_and_count() {
        let entries = per_cpu(vec![(slot_key(), vec![words(&[10, 2]), words(&[-4, 1])])]);
        let sum_entries = per_cpu(vec![(slot_key(), vec![words(&[10]), words(&[-14])])]);
        let sum = snapshot(&agg_layout("@", vec![], AggKind::Sum, ValueFormat::Signed), &sum_entries);
        assert_eq!(values(&sum), [(vec![], AggValue::Scalar(FieldValue::Int(-4)))]);
        let avg = snapshot(&agg_layout("@", vec![], AggKind::Avg, ValueFormat::Signed), &entries);
        assert_eq!(values(&avg), [(vec![], AggValue::Average(Average { sum: 6, count: 3, divisor: 1 }))]);
    }

    #[test]
    fn keys_split_into_strings_and_integers() {
        let keys = vec![FieldLayout::string(16), FieldLayout::integer(ValueFormat::Signed)];
        let layout = agg_layout("@k", keys, AggKind::Count, ValueFormat::Unsigned);
        let key = [string("swapper/0", 16), words(&[-7])].concat();
        let snapshot = snapshot(&layout, &MapEntries::Shared(vec![(key, words(&[5]))]));
        assert_eq!(snapshot.rows[0].key, [FieldValue::Str("swapper/0".into()), FieldValue::Int(-7)]);
    }

    #[test]
    fn short_integer_fields_are_sign_extended() {
        let keys = vec![
            FieldLayout { name: Some("vec".into()), size: 4, ..FieldLayout::integer(ValueFormat::Signed) },
            FieldLayout::string(4),
        ];
        let layout = agg_layout("@", keys, AggKind::Count, ValueFormat::Unsigned);
        let key = [(-2i32).to_le_bytes().to_vec(), b"abcd".to_vec()].concat();
        let snapshot = snapshot(&layout, &per_cpu(vec![(key, vec![words(&[1])])]));
        assert_eq!(snapshot.rows[0].key, [FieldValue::Int(-2), FieldValue::Str("abcd".into())]);
    }

    #[test]
    fn histograms_group_buckets_by_user_key() {
        let layout = agg_layout("@h", int_key(), AggKind::Hist { bits: 0 }, ValueFormat::Signed);
        let entries = per_cpu(vec![
            (words(&[9, 5]), vec![words(&[1]), words(&[2])]),
            (words(&[1, 2]), vec![words(&[30]), words(&[0])]),
            (words(&[9, 3]), vec![words(&[0]), words(&[4])]),
            (words(&[5, 3]), vec![words(&[0]), words(&[0])]),
        ]);
        let snapshot = snapshot(&layout, &entries);
        let keys: Vec<&[FieldValue]> = snapshot.rows.iter().map(|row| row.key.as_slice()).collect();
        assert_eq!(keys, [[FieldValue::Uint(9)], [FieldValue::Uint(1)]]);
        let AggValue::Histogram(nine) = &snapshot.rows[0].value else { panic!("not a histogram") };
        assert_eq!(nine.visible_buckets(), [(3, 4), (4, 0), (5, 3)]);
    }

    #[test]
    fn tseries_slots_merge_per_key_and_zeroed_keys_stay() {
        let kind = AggKind::tseries(100, 4, crate::agg::TSeriesAgg::Sum, true).expect("a tseries");
        let layout = agg_layout("@t", int_key(), kind, ValueFormat::Signed);
        // Key 7: slot 1 (epoch 5) on both CPUs, slot 2 (epoch 2, overwritten on CPU 1 by epoch 6); key 8 zeroed.
        let entries = per_cpu(vec![
            (words(&[7, 1]), vec![words(&[3, 0, 5]), words(&[-1, 0, 5])]),
            (words(&[7, 2]), vec![words(&[10, 0, 2]), words(&[4, 0, 6])]),
            (words(&[8, 0]), vec![words(&[0, 0, 0]), words(&[0, 0, 0])]),
        ]);
        let snapshot = snapshot(&layout, &entries);
        let keys: Vec<&[FieldValue]> = snapshot.rows.iter().map(|row| row.key.as_slice()).collect();
        assert_eq!(keys, [[FieldValue::Uint(7)], [FieldValue::Uint(8)]]);
        let points: Vec<Vec<(u64, i128)>> = snapshot
            .rows
            .iter()
            .map(|row| match &row.value {
                AggValue::TSeries(series) => series.points.clone().into_iter().collect(),
                other => panic!("not a tseries: {other:?}"),
            })
            .collect();
        assert_eq!(points, [vec![(5, 2), (6, 4)], vec![]]);
    }

    #[test]
    fn plain_maps_read_one_shared_value() {
        let layout = MapLayout {
            name: "@comm".into(),
            keys: int_key(),
            value: MapValue::Scalar(FieldLayout::string(16)),
            keys_in_programs: false,
        };
        let entries = MapEntries::Shared(vec![(words(&[2]), string("b", 16)), (words(&[1]), string("a", 16))]);
        let snapshot = snapshot(&layout, &entries);
        assert_eq!(snapshot.rows[0].value, AggValue::Scalar(FieldValue::Str("a".into())));
        let error = decode(&layout, &per_cpu(vec![(words(&[1]), vec![string("a", 16)])]));
        assert_eq!(error, Err(AggError::PerCpuPlainMap { map: "@comm".into() }));
    }

    #[test]
    fn tuple_values_split_into_their_elements() {
        let elements = vec![FieldLayout::integer(ValueFormat::Signed), FieldLayout::string(8)];
        let layout =
            MapLayout { name: "@t".into(), keys: int_key(), value: MapValue::Tuple(elements), keys_in_programs: false };
        assert_eq!(layout.value_size(), 16);
        let value = [words(&[-3]), string("x", 8)].concat();
        let snapshot = snapshot(&layout, &MapEntries::Shared(vec![(words(&[1]), value)]));
        let tuple = FieldValue::Tuple(vec![FieldValue::Int(-3), FieldValue::Str("x".into())]);
        assert_eq!(snapshot.rows[0].value, AggValue::Scalar(tuple));
        let text = crate::agg::render_text(&snapshot, &crate::agg::HexSymbolizer);
        assert_eq!(text.trim_end(), "@t[1]: (-3, x)");
    }

    #[test]
    fn nested_tuples_decode_inside_their_tuple() {
        let named = |name: &str, field: FieldLayout| FieldLayout { name: Some(name.into()), ..field };
        let inner = vec![named("c", FieldLayout::integer(ValueFormat::Signed)), named("d", FieldLayout::string(8))];
        let nested = FieldLayout { size: 16, elements: inner, ..FieldLayout::integer(ValueFormat::Buf(16)) };
        let elements = vec![FieldLayout::integer(ValueFormat::Unsigned), named("b", nested)];
        let layout =
            MapLayout { name: "@n".into(), keys: vec![], value: MapValue::Tuple(elements), keys_in_programs: false };
        assert_eq!(layout.value_size(), 24);
        let value = [words(&[1, 2]), string("x", 8)].concat();
        let snapshot = snapshot(&layout, &MapEntries::Shared(vec![(words(&[0]), value)]));
        let record =
            FieldValue::Record(vec![("c".into(), FieldValue::Int(2)), ("d".into(), FieldValue::Str("x".into()))]);
        let tuple = FieldValue::Tuple(vec![FieldValue::Uint(1), record]);
        assert_eq!(snapshot.rows[0].value, AggValue::Scalar(tuple));
        let text = crate::agg::render_text(&snapshot, &crate::agg::HexSymbolizer);
        assert_eq!(text.trim_end(), "@n: (1, { .c = 2, .d = x })");
    }

    #[test]
    fn record_values_keep_their_field_names() {
        let named = |name: &str, field: FieldLayout| FieldLayout { name: Some(name.into()), ..field };
        let elements = vec![named("n", FieldLayout::integer(ValueFormat::Signed)), named("s", FieldLayout::string(8))];
        let layout =
            MapLayout { name: "@r".into(), keys: int_key(), value: MapValue::Tuple(elements), keys_in_programs: false };
        let value = [words(&[-3]), string("x", 8)].concat();
        let snapshot = snapshot(&layout, &MapEntries::Shared(vec![(words(&[1]), value)]));
        let record =
            FieldValue::Record(vec![("n".into(), FieldValue::Int(-3)), ("s".into(), FieldValue::Str("x".into()))]);
        assert_eq!(snapshot.rows[0].value, AggValue::Scalar(record));
        let text = crate::agg::render_text(&snapshot, &crate::agg::HexSymbolizer);
        assert_eq!(text.trim_end(), "@r[1]: { .n = -3, .s = x }");
    }

    #[test]
    fn mismatched_sizes_and_buckets_are_errors() {
        let layout = agg_layout("@", vec![], AggKind::Count, ValueFormat::Unsigned);
        let long_key = decode(&layout, &per_cpu(vec![(words(&[0]), vec![words(&[1])])]));
        assert_eq!(long_key, Err(AggError::KeySize { map: "@".into(), expected: 4, actual: 8 }));
        let long_value = decode(&layout, &per_cpu(vec![(slot_key(), vec![words(&[1, 2])])]));
        assert_eq!(long_value, Err(AggError::ValueSize { map: "@".into(), expected: 8, actual: 16 }));
        let hist = agg_layout("@h", vec![], AggKind::Hist { bits: 0 }, ValueFormat::Signed);
        let bad_bucket = decode(&hist, &unkeyed_histogram(&[(65, 1)]));
        assert_eq!(bad_bucket, Err(AggError::BucketOutOfRange { map: "@h".into(), kind: "hist", index: 65 }));
        assert_eq!(decode(&hist, &MapEntries::Empty).map(|s| s.rows.len()), Ok(0));
    }
}

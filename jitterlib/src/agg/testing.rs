//! Builders for the unit tests: map layouts and raw entries as the BPF side writes them.

use crate::maps::MapEntries;

use super::{decode, AggKind, EnumNames, FieldLayout, MapLayout, MapValue, Snapshot, ValueFormat};

/// Little-endian bytes of consecutive 64-bit words.
pub(crate) fn words(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The key of a map without keys holding an aggregation: index 0 of a one-slot array.
pub(crate) fn slot_key() -> Vec<u8> {
    vec![0; 4]
}

/// The entry of a one-slot map (no keys) with one CPU's value.
pub(crate) fn single_slot(value: &[i64]) -> MapEntries {
    per_cpu(vec![(slot_key(), vec![words(value)])])
}

/// A NUL-padded string field of `size` bytes.
pub(crate) fn string(s: &str, size: usize) -> Vec<u8> {
    let mut bytes = s.as_bytes().to_vec();
    bytes.resize(size, 0);
    bytes
}

/// A key field holding a name of the table `names` (indices 0, 1, ...), as a softirq's `name`.
pub(crate) fn name_key(names: &[&str]) -> FieldLayout {
    let table: Vec<(i64, String)> = names.iter().enumerate().map(|(i, name)| (i as i64, name.to_string())).collect();
    FieldLayout { name: None, size: 8, format: ValueFormat::Name(EnumNames::new("names", &table)), elements: vec![] }
}

/// An aggregation map layout.
pub(crate) fn agg_layout(name: &str, keys: Vec<FieldLayout>, kind: AggKind, format: ValueFormat) -> MapLayout {
    MapLayout { name: name.to_string(), keys, value: MapValue::Agg { kind, format }, keys_in_programs: false }
}

/// A per-CPU map's entries: `(key, one value per CPU)`.
pub(crate) fn per_cpu(entries: Vec<(Vec<u8>, Vec<Vec<u8>>)>) -> MapEntries {
    MapEntries::PerCpu(entries)
}

/// A histogram with `(bucket, count)` entries for an unkeyed map (a bucket array: `u32` slot keys), all on
/// CPU 0 of two CPUs.
pub(crate) fn unkeyed_histogram(buckets: &[(u32, i64)]) -> MapEntries {
    per_cpu(
        buckets
            .iter()
            .map(|&(bucket, count)| (bucket.to_le_bytes().to_vec(), vec![words(&[count]), words(&[0])]))
            .collect(),
    )
}

/// Decodes, failing the test on errors.
pub(crate) fn snapshot(layout: &MapLayout, entries: &MapEntries) -> Snapshot {
    match decode(layout, entries) {
        Ok(snapshot) => snapshot,
        Err(error) => panic!("decode failed: {error}"),
    }
}

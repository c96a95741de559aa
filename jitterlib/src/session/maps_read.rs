//! Reading and clearing hash and array maps as raw bytes, whatever their key and value types.

use std::io;
use std::os::fd::BorrowedFd;

use crate::maps::{MapEntries, MapKind};
use crate::sys;

/// What the reader needs to know about a map's shape.
#[derive(Clone, Copy, Debug)]
pub(super) struct MapLayout {
    /// The map type (only hash and array kinds reach this module).
    pub kind: MapKind,
    /// Key size in bytes.
    pub key_size: usize,
    /// Value size in bytes, for one CPU in per-CPU maps.
    pub value_size: usize,
    /// Capacity, which bounds the key walk.
    pub max_entries: usize,
    /// Number of possible CPUs (the kernel's per-CPU value count).
    pub possible_cpus: usize,
}

impl MapLayout {
    fn is_per_cpu(&self) -> bool {
        matches!(self.kind, MapKind::PerCpuHash | MapKind::LruPerCpuHash | MapKind::PerCpuArray)
    }

    pub(super) fn is_array(&self) -> bool {
        matches!(self.kind, MapKind::Array | MapKind::PerCpuArray)
    }

    fn is_hash(&self) -> bool {
        matches!(self.kind, MapKind::Hash | MapKind::PerCpuHash | MapKind::LruHash | MapKind::LruPerCpuHash)
    }

    /// The kernel lays per-CPU values out 8-byte aligned, one after another.
    fn per_cpu_stride(&self) -> usize {
        self.value_size.next_multiple_of(8)
    }

    /// Bytes a lookup writes: one value, or one aligned value per possible CPU.
    fn lookup_size(&self) -> usize {
        if self.is_per_cpu() {
            self.per_cpu_stride() * self.possible_cpus
        } else {
            self.value_size
        }
    }
}

/// Every key currently in the map, in the kernel's order, at most `max_entries` of them.
fn keys(map: BorrowedFd, layout: &MapLayout) -> io::Result<Vec<Vec<u8>>> {
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut next = vec![0; layout.key_size];
    // A key deleted during the walk restarts it from the top: the bound keeps that from looping forever.
    while keys.len() < layout.max_entries && sys::map_next_key(map, keys.last().map(Vec::as_slice), &mut next)? {
        keys.push(next.clone());
    }
    Ok(keys)
}

/// Reads every entry: `Shared` for plain maps, `PerCpu` (one value per possible CPU) for per-CPU maps,
/// `Empty` when the map holds nothing.
pub(super) fn read(map: BorrowedFd, layout: &MapLayout) -> io::Result<MapEntries> {
    let mut shared = Vec::new();
    let mut per_cpu = Vec::new();
    for (key, value) in raw_entries(map, layout)? {
        if layout.is_per_cpu() {
            let values = value.chunks(layout.per_cpu_stride()).map(|cpu| cpu[..layout.value_size].to_vec()).collect();
            per_cpu.push((key, values));
        } else {
            shared.push((key, value));
        }
    }
    Ok(if !per_cpu.is_empty() {
        MapEntries::PerCpu(per_cpu)
    } else if !shared.is_empty() {
        MapEntries::Shared(shared)
    } else {
        MapEntries::Empty
    })
}

/// Every `(key, value as one lookup returns it)`: hash and array maps in batches of many entries per system call
/// where the kernel has batch operations (5.6+; an array of names x buckets, 650 slots, is read in 1 call instead
/// of 1 300); otherwise, and for other map types, a key walk with one lookup per key.
fn raw_entries(map: BorrowedFd, layout: &MapLayout) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if layout.is_hash() || layout.is_array() {
        match batched_entries(map, layout) {
            Err(error) if is_unsupported(&error) => {}
            other => return other,
        }
    }
    let mut entries = Vec::new();
    let mut value = vec![0; layout.lookup_size()];
    for key in keys(map, layout)? {
        if sys::map_lookup(map, &key, &mut value)? {
            entries.push((key, value.clone()));
        }
    }
    Ok(entries)
}

/// The errors of a kernel without batch operations (before 5.6: `EINVAL`) or of a map type without them
/// (`ENOTSUPP`, `EOPNOTSUPP`).
fn is_unsupported(error: &io::Error) -> bool {
    const ENOTSUPP: i32 = 524;
    matches!(error.raw_os_error(), Some(libc::EINVAL | libc::EOPNOTSUPP | ENOTSUPP))
}

/// Entries read per batch at first; a hash bucket holding more than that doubles it.
const BATCH_ENTRIES: usize = 4096;

/// A hash or array map's entries read in batches, at most `max_entries` of them.
fn batched_entries(map: BorrowedFd, layout: &MapLayout) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut entries = Vec::new();
    for_each_batch(map, layout, sys::BatchRead::Keep, |keys, values| {
        let pairs = keys.chunks(layout.key_size).zip(values.chunks(layout.lookup_size()));
        entries.extend(pairs.map(|(key, value)| (key.to_vec(), value.to_vec())));
    })?;
    entries.truncate(layout.max_entries);
    Ok(entries)
}

/// Walks a hash map's buckets (an array's slots) from the first to the last in batches, handing each batch's keys
/// and values (as many as it read) to `batch`; [`sys::BatchRead::Delete`] deletes them as it goes (hashes only).
fn for_each_batch(
    map: BorrowedFd,
    layout: &MapLayout,
    read: sys::BatchRead,
    mut batch: impl FnMut(&[u8], &[u8]),
) -> io::Result<()> {
    let mut capacity = BATCH_ENTRIES.min(layout.max_entries.max(1));
    let mut position = sys::BatchPosition::Start;
    while position != sys::BatchPosition::End {
        let mut keys = vec![0; capacity * layout.key_size];
        let mut values = vec![0; capacity * layout.lookup_size()];
        match sys::map_lookup_batch(map, read, position, layout.key_size, &mut keys, &mut values) {
            Ok((count, next)) => {
                batch(&keys[..count * layout.key_size], &values[..count * layout.lookup_size()]);
                position = next;
            }
            // Before reading the bucket, so nothing of it is deleted yet.
            Err(error) if error.raw_os_error() == Some(libc::ENOSPC) => capacity *= 2,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The value under one key (one aligned value per possible CPU for per-CPU maps), or `None` when absent.
pub(super) fn lookup(map: BorrowedFd, layout: &MapLayout, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let mut value = vec![0; layout.lookup_size()];
    Ok(sys::map_lookup(map, key, &mut value)?.then_some(value))
}

/// Empties the map: hash entries are deleted (in batches where the kernel has batch operations), array slots
/// (which cannot be deleted) are zeroed.
pub(super) fn clear(map: BorrowedFd, layout: &MapLayout) -> io::Result<()> {
    if layout.is_hash() {
        match for_each_batch(map, layout, sys::BatchRead::Delete, |_, _| {}) {
            Err(error) if is_unsupported(&error) => {}
            other => return other,
        }
    }
    if layout.is_array() {
        return zero(map, layout).map(drop);
    }
    for key in keys(map, layout)? {
        sys::map_delete(map, &key)?;
    }
    Ok(())
}

/// Deletes the keys that start with `prefix` and returns how many there were.
pub(super) fn delete_prefix(map: BorrowedFd, layout: &MapLayout, prefix: &[u8]) -> io::Result<usize> {
    let doomed: Vec<Vec<u8>> = keys(map, layout)?.into_iter().filter(|key| key.starts_with(prefix)).collect();
    for key in &doomed {
        sys::map_delete(map, key)?;
    }
    Ok(doomed.len())
}

/// Sets every value to zero and keeps the keys (bpftrace's `zero()`); a key deleted meanwhile stays deleted.
/// Returns, for an array (whose slots all exist), the slots that held anything but zeroes: the keys it had,
/// which [`written_slots`] keeps. A hash map's keys come with the batched read.
pub(super) fn zero(map: BorrowedFd, layout: &MapLayout) -> io::Result<Vec<Vec<u8>>> {
    let zero = vec![0; layout.lookup_size()];
    let entries = raw_entries(map, layout)?.into_iter();
    let keys: Vec<Vec<u8>> = match layout.is_array() {
        true => entries.filter(|(_, value)| *value != zero).map(|(key, _)| key).collect(),
        false => entries.map(|(key, _)| key).collect(),
    };
    for key in &keys {
        sys::map_overwrite(map, key, &zero)?;
    }
    Ok(if layout.is_array() { keys } else { Vec::new() })
}

/// Of an array's `entries`, the slots holding anything but zeroes and the slots `kept` (those [`zero`] zeroed):
/// the keys a hash would hold.
pub(super) fn written_slots(entries: MapEntries, kept: &[Vec<u8>]) -> MapEntries {
    let written = |key: &Vec<u8>, zero: bool| !zero || kept.contains(key);
    let all_zero = |value: &[u8]| value.iter().all(|byte| *byte == 0);
    match entries {
        MapEntries::Empty => MapEntries::Empty,
        MapEntries::Shared(mut pairs) => {
            pairs.retain(|(key, value)| written(key, all_zero(value)));
            MapEntries::Shared(pairs)
        }
        MapEntries::PerCpu(mut pairs) => {
            pairs.retain(|(key, values)| written(key, values.iter().all(|value| all_zero(value))));
            MapEntries::PerCpu(pairs)
        }
    }
}

/// Zeroes the slots `keys` of an array map and returns how many held anything but zeroes.
pub(super) fn zero_slots(map: BorrowedFd, layout: &MapLayout, keys: &[Vec<u8>]) -> io::Result<usize> {
    let zero = vec![0; layout.lookup_size()];
    let mut written = 0;
    for key in keys {
        if lookup(map, layout, key)?.is_some_and(|value| value != zero) {
            written += 1;
            sys::map_overwrite(map, key, &zero)?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(kind: MapKind, value_size: usize) -> MapLayout {
        MapLayout { kind, key_size: 4, value_size, max_entries: 16, possible_cpus: 3 }
    }

    #[test]
    fn per_cpu_values_are_8_byte_aligned_per_cpu() {
        assert_eq!(layout(MapKind::PerCpuHash, 12).lookup_size(), 48);
        assert_eq!(layout(MapKind::PerCpuArray, 8).lookup_size(), 24);
        assert_eq!(layout(MapKind::Hash, 12).lookup_size(), 12);
    }
}

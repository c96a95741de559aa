//! Decoded map contents: key and value fields, merged aggregations, histograms.

use std::collections::BTreeMap;

use super::layout::{MapLayout, ValueFormat};
use super::units::format_duration;
use crate::kernel::KernelInfo;

/// Turns kernel addresses into names for [`ValueFormat::KernelSymbol`] fields.
pub trait Symbolizer {
    /// The name of `addr`, e.g. `estimation_timer+0x10`.
    fn symbolize(&self, addr: u64) -> String;
}

/// A [`Symbolizer`] that prints addresses as hex (`0xffffffff81000000`), for tests and as a fallback.
#[derive(Clone, Copy, Debug, Default)]
pub struct HexSymbolizer;

impl Symbolizer for HexSymbolizer {
    fn symbolize(&self, addr: u64) -> String {
        format!("0x{addr:x}")
    }
}

/// A [`Symbolizer`] over the kernel metadata: `name+offset`, or hex when the address is unknown.
///
/// ```no_run
/// use jitterlib::agg::{KernelSymbols, Symbolizer};
/// use jitterlib::kernel::LiveKernel;
///
/// let kernel = LiveKernel::new();
/// println!("{}", KernelSymbols::new(&kernel).symbolize(0xffffffff81000000));
/// ```
#[derive(Clone, Copy)]
pub struct KernelSymbols<'a>(&'a dyn KernelInfo);

impl<'a> KernelSymbols<'a> {
    /// A symbolizer over `kernel`.
    pub fn new(kernel: &'a dyn KernelInfo) -> KernelSymbols<'a> {
        KernelSymbols(kernel)
    }
}

impl Symbolizer for KernelSymbols<'_> {
    fn symbolize(&self, address: u64) -> String {
        match self.0.symbolize(address) {
            Some(symbol) if symbol.offset == 0 => symbol.name,
            Some(symbol) => format!("{}+{}", symbol.name, symbol.offset),
            None => format!("0x{address:x}"),
        }
    }
}

/// One decoded key field or scalar value; the variant says how to print it (see [`ValueFormat`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldValue {
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    Uint(u64),
    /// Unsigned integer printed in hex.
    Hex(u64),
    /// Nanoseconds.
    Duration(i64),
    /// Kernel address.
    Symbol(u64),
    /// String (NUL padding removed).
    Str(String),
    /// A kernel stack id not resolved yet (negative: the kernel could not record the stack).
    StackId(i64),
    /// A kernel stack, innermost frame first.
    Stack(Vec<u64>),
}

impl FieldValue {
    /// An integer read as `format` (`Str` reads as `Signed`).
    pub fn from_integer(raw: u64, format: ValueFormat) -> FieldValue {
        match format {
            ValueFormat::Signed | ValueFormat::Str => FieldValue::Int(raw as i64),
            ValueFormat::Unsigned => FieldValue::Uint(raw),
            ValueFormat::Hex => FieldValue::Hex(raw),
            ValueFormat::Duration => FieldValue::Duration(raw as i64),
            ValueFormat::KernelSymbol => FieldValue::Symbol(raw),
            ValueFormat::KernelStack => FieldValue::StackId(raw as i64),
            ValueFormat::Ipv4 | ValueFormat::Ipv6 => FieldValue::Str(format_inet(&raw.to_le_bytes())),
        }
    }

    /// The text bpftrace prints: numbers, `0x1f`, `1.5ms`, symbol names, strings unquoted.
    pub fn to_text(&self, symbols: &dyn Symbolizer) -> String {
        match self {
            FieldValue::Int(v) => v.to_string(),
            FieldValue::Uint(v) => v.to_string(),
            FieldValue::Hex(v) => format!("0x{v:x}"),
            FieldValue::Duration(ns) => format_duration(*ns),
            FieldValue::Symbol(addr) => symbols.symbolize(*addr),
            FieldValue::StackId(id) => format!("<stack {id}>"),
            FieldValue::Stack(frames) => {
                let lines: String =
                    frames.iter().map(|addr| format!("        {}\n", symbols.symbolize(*addr))).collect();
                format!("\n{lines}")
            }
            FieldValue::Str(s) => s.clone(),
        }
    }
}

/// The text of an address as it sits in memory: 16 bytes are IPv6 (`fe80::1`), anything else the IPv4 address
/// of its first 4 bytes (`127.0.0.1`; missing bytes count as 0).
pub fn format_inet(bytes: &[u8]) -> String {
    match <[u8; 16]>::try_from(bytes) {
        Ok(v6) => std::net::Ipv6Addr::from(v6).to_string(),
        Err(_) => {
            let mut v4 = [0u8; 4];
            let len = bytes.len().min(4);
            v4[..len].copy_from_slice(&bytes[..len]);
            std::net::Ipv4Addr::from(v4).to_string()
        }
    }
}

/// Merged `avg`/`stats` state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Average {
    /// Sum of the values.
    pub sum: i64,
    /// Number of values.
    pub count: u64,
}

impl Average {
    /// Integer mean truncated toward zero like bpftrace; 0 when there were no values.
    pub fn mean(&self) -> i64 {
        if self.count == 0 {
            return 0;
        }
        (i128::from(self.sum) / i128::from(self.count)) as i64
    }
}

/// Merged bucket counts of one histogram: bucket index to count, empty buckets left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: BTreeMap<u64, u64>,
}

impl Histogram {
    /// Adds `count` events to `bucket`.
    pub fn add(&mut self, bucket: u64, count: u64) {
        if count > 0 {
            let slot = self.counts.entry(bucket).or_default();
            *slot = slot.wrapping_add(count);
        }
    }

    /// Total number of events.
    pub fn total(&self) -> u64 {
        self.counts.values().fold(0, |total, count| total.wrapping_add(*count))
    }

    /// Whether no bucket has an event.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The buckets bpftrace prints: from the first to the last non-empty bucket, empty ones between
    /// included with count 0.
    pub fn visible_buckets(&self) -> Vec<(u64, u64)> {
        let (Some(first), Some(last)) = (self.counts.keys().next(), self.counts.keys().next_back()) else {
            return Vec::new();
        };
        (*first..=*last).map(|bucket| (bucket, self.counts.get(&bucket).copied().unwrap_or(0))).collect()
    }
}

/// The merged value of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggValue {
    /// `count`, `sum`, `min`, `max` or a plain map's value.
    Scalar(FieldValue),
    /// `avg` or `stats` (the map's kind says which one to print).
    Average(Average),
    /// `hist`, `timehist` or `lhist`.
    Histogram(Histogram),
}

/// One printed entry: the decoded key fields (empty for a map without `[...]`) and the merged value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Key fields in layout order.
    pub key: Vec<FieldValue>,
    /// Merged value.
    pub value: AggValue,
}

/// A map decoded and merged across CPUs, rows in bpftrace's print order: ascending by value (the
/// biggest last) for numbers, by mean for `avg`/`stats`, by total count for histograms, by key for
/// strings; ties by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The map's layout.
    pub map: MapLayout,
    /// Its rows.
    pub rows: Vec<Row>,
}

impl Snapshot {
    /// Replaces kernel stack ids in the keys with their frames from `stacks` (the stack map's contents:
    /// id -> addresses, innermost first). Ids missing from it (evicted, or negative: not recorded) become an
    /// empty stack.
    pub fn resolve_stacks(&mut self, stacks: &std::collections::HashMap<i64, Vec<u64>>) {
        for row in &mut self.rows {
            for part in &mut row.key {
                if let FieldValue::StackId(id) = part {
                    *part = FieldValue::Stack(stacks.get(id).cloned().unwrap_or_default());
                }
            }
        }
    }

    /// Whether any key field is a kernel stack.
    pub fn has_stacks(&self) -> bool {
        self.map.keys.iter().any(|field| field.format == ValueFormat::KernelStack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_buckets_fill_gaps_only_between_non_empty_ones() {
        let mut hist = Histogram::default();
        hist.add(7, 2);
        hist.add(4, 1);
        hist.add(9, 0);
        hist.add(4, 3);
        assert_eq!(hist.visible_buckets(), [(4, 4), (5, 0), (6, 0), (7, 2)]);
        assert_eq!(hist.total(), 6);
        assert!(Histogram::default().visible_buckets().is_empty());
    }

    #[test]
    fn mean_truncates_toward_zero() {
        assert_eq!(Average { sum: 7, count: 2 }.mean(), 3);
        assert_eq!(Average { sum: -7, count: 2 }.mean(), -3);
        assert_eq!(Average { sum: 5, count: 0 }.mean(), 0);
    }

    #[test]
    fn fields_print_like_bpftrace() {
        let symbols = HexSymbolizer;
        assert_eq!(FieldValue::from_integer(u64::MAX, ValueFormat::Signed).to_text(&symbols), "-1");
        assert_eq!(FieldValue::from_integer(u64::MAX, ValueFormat::Unsigned).to_text(&symbols), u64::MAX.to_string());
        assert_eq!(FieldValue::from_integer(31, ValueFormat::Hex).to_text(&symbols), "0x1f");
        assert_eq!(FieldValue::from_integer(0x0100_007f, ValueFormat::Ipv4).to_text(&symbols), "127.0.0.1");
        assert_eq!(FieldValue::from_integer(1_500_000, ValueFormat::Duration).to_text(&symbols), "1.5ms");
        assert_eq!(FieldValue::from_integer(0xffff_8000, ValueFormat::KernelSymbol).to_text(&symbols), "0xffff8000");
        assert_eq!(FieldValue::Str("swapper/0".into()).to_text(&symbols), "swapper/0");
    }

    #[test]
    fn formats_addresses_from_memory_order() {
        assert_eq!(format_inet(&[10, 0, 0, 1]), "10.0.0.1");
        assert_eq!(format_inet(&[192, 168, 1, 2, 0, 0, 0, 0]), "192.168.1.2");
        let mut loopback = [0u8; 16];
        loopback[15] = 1;
        assert_eq!(format_inet(&loopback), "::1");
    }
}

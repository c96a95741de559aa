//! Decoded map contents: key and value fields, merged aggregations, histograms.

use std::collections::BTreeMap;

use super::layout::{FieldLayout, MapLayout, MapValue, ValueFormat};
use super::stack::{StackKind, StackMode};
use super::tseries::TimeSeries;
use super::AggKind;
use super::{EnumNames, TimeFormat};
use crate::cgroup::CgroupFilter;
use crate::culprit::{live_irq_name, Culprit, CulpritNames};
use crate::kernel::KernelInfo;
use crate::maps::MapEntries;
use crate::units::{format_duration, format_exact_duration};

/// Turns addresses into names: kernel addresses for [`ValueFormat::KernelSymbol`] fields and kernel stacks,
/// user addresses for user stacks.
pub trait Symbolizer {
    /// The name of the kernel address `addr`, e.g. `estimation_timer+16`.
    fn symbolize(&self, addr: u64) -> String;

    /// The name of the user-space address `addr` in process `pid`, e.g. `main+22`; hex unless overridden.
    fn symbolize_user(&self, pid: u32, addr: u64) -> String {
        let _ = pid;
        format!("0x{addr:x}")
    }

    /// The name of the function holding the user-space address `addr` in process `pid`, without offset, as
    /// bpftrace's `usym` prints it (`main`); hex unless overridden, and when no function holds it.
    fn user_symbol(&self, pid: u32, addr: u64) -> String {
        let _ = pid;
        format!("0x{addr:x}")
    }

    /// The paths of cgroup `id` in the hierarchies `filter` selects (`unified:/user.slice`); the id in decimal
    /// unless overridden.
    fn cgroup_path(&self, id: u64, filter: CgroupFilter) -> String {
        let _ = filter;
        id.to_string()
    }

    /// The name of user `uid`; the id in decimal unless overridden.
    fn user_name(&self, uid: u32) -> String {
        uid.to_string()
    }

    /// The task name (`comm`) whose hash a stall's task culprit carries ([`crate::culprit::name_hash`]); none
    /// unless overridden.
    fn task_name(&self, name: u64) -> Option<String> {
        let _ = name;
        None
    }

    /// The name of interrupt `irq` (its handlers), for a stall's hardirq culprits; none unless overridden.
    fn irq_name(&self, irq: u32) -> Option<String> {
        let _ = irq;
        None
    }

    /// Unix time in nanoseconds of a time of CLOCK_TAI (`tai`) or CLOCK_MONOTONIC, for `tseries` intervals;
    /// from the clocks' distance now unless overridden.
    fn unix_ns(&self, ns: u64, tai: bool) -> i128 {
        i128::from(ns) + super::tseries::realtime_offset_ns(tai)
    }
}

/// A [`Symbolizer`] naming the identities a [`Culprit`] carries.
struct CulpritSymbols<'a>(&'a dyn Symbolizer);

impl CulpritNames for CulpritSymbols<'_> {
    fn function(&self, address: u64) -> String {
        self.0.symbolize(address)
    }

    fn task(&self, name: u64) -> Option<String> {
        self.0.task_name(name)
    }

    fn irq(&self, irq: u32) -> Option<String> {
        self.0.irq_name(irq)
    }
}

/// A culprit's text (`timer:estimation_timer`), or hex when it is none BPF code writes.
pub fn format_culprit(raw: u64, symbols: &dyn Symbolizer) -> String {
    match Culprit::decode(raw) {
        Some(culprit) => culprit.describe(&CulpritSymbols(symbols)),
        None if raw == 0 => "none".to_string(),
        None => format!("0x{raw:x}"),
    }
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
/// ```
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

    fn irq_name(&self, irq: u32) -> Option<String> {
        live_irq_name(irq)
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
    /// A truth value, printed `true` or `false`.
    Bool(bool),
    /// A value of an enum type, printed by name (see [`ValueFormat::Enum`]).
    Enum {
        /// The value.
        value: i64,
        /// Its type's enumerators.
        names: EnumNames,
    },
    /// Nanoseconds.
    Duration(i64),
    /// A CLOCK_MONOTONIC time, printed as local wall-clock time (see [`ValueFormat::Time`]).
    Time {
        /// Nanoseconds of CLOCK_MONOTONIC.
        ns: u64,
        /// How it prints.
        format: TimeFormat,
    },
    /// Kernel address.
    Symbol(u64),
    /// A user-space address of process `pid` ([`ValueFormat::UserSymbol`]).
    UserSymbol {
        /// The process (tgid).
        pid: u32,
        /// The address.
        addr: u64,
    },
    /// A cgroup id printed as its paths ([`ValueFormat::CgroupPath`]).
    CgroupPath {
        /// The id.
        id: u64,
        /// The hierarchies it is looked up in.
        filter: CgroupFilter,
    },
    /// A user id printed as the user's name ([`ValueFormat::UserName`]).
    UserName(u32),
    /// A stall's culprit ([`Culprit`]), as BPF code wrote it.
    Culprit(u64),
    /// String (NUL padding removed).
    Str(String),
    /// A stack id not resolved yet: the field's raw 8 bytes (see [`StackKind::split`]).
    StackId {
        /// Which stacks, so which stack map the id indexes.
        kind: StackKind,
        /// The field as written by the BPF side.
        raw: u64,
    },
    /// A kernel stack, innermost frame first.
    Stack(Vec<u64>),
    /// A user-space stack of process `pid`, innermost frame first.
    UserStack {
        /// The process (tgid) whose addresses these are.
        pid: u32,
        /// Return addresses, innermost first.
        frames: Vec<u64>,
    },
    /// A stack of [`StackMode::Raw`] (kernel or user), innermost frame first: addresses printed without symbols.
    RawStack(Vec<u64>),
    /// A tuple's elements, printed `(1, abc)`.
    Tuple(Vec<FieldValue>),
    /// A record's fields by name, printed `{ .a = 1, .b = abc }`.
    Record(Vec<(String, FieldValue)>),
    /// An array's elements, printed `[1,2,3]` (no spaces, as bpftrace prints them).
    Array(Vec<FieldValue>),
}

impl FieldValue {
    /// Divides a number by `divisor` (non-zero), truncating toward zero; other values stay as they are.
    fn divide(&mut self, divisor: u64) {
        match self {
            FieldValue::Int(value) | FieldValue::Duration(value) => {
                *value = (i128::from(*value) / i128::from(divisor)) as i64
            }
            FieldValue::Uint(value) | FieldValue::Hex(value) => *value /= divisor,
            _ => {}
        }
    }

    /// An integer read as `format` (`Str` reads as `Signed`).
    pub fn from_integer(raw: u64, format: ValueFormat) -> FieldValue {
        match format {
            ValueFormat::Signed
            | ValueFormat::Str
            | ValueFormat::Inet
            | ValueFormat::Buf(_)
            | ValueFormat::Array(_) => FieldValue::Int(raw as i64),
            ValueFormat::Unsigned => FieldValue::Uint(raw),
            ValueFormat::Hex => FieldValue::Hex(raw),
            ValueFormat::Bool => FieldValue::Bool(raw != 0),
            ValueFormat::Enum(names) => FieldValue::Enum { value: raw as i64, names },
            ValueFormat::Name(names) => FieldValue::Str(names.text(raw as i64)),
            ValueFormat::Duration => FieldValue::Duration(raw as i64),
            ValueFormat::Time(format) => FieldValue::Time { ns: raw, format },
            ValueFormat::KernelSymbol => FieldValue::Symbol(raw),
            ValueFormat::Culprit => FieldValue::Culprit(raw),
            ValueFormat::Stack(kind) => FieldValue::StackId { kind, raw },
            ValueFormat::Ipv4 | ValueFormat::Ipv6 => FieldValue::Str(format_inet(&raw.to_le_bytes())),
            // An address alone, without its process: no process has it at pid 0.
            ValueFormat::UserSymbol => FieldValue::UserSymbol { pid: 0, addr: raw },
            ValueFormat::CgroupPath(filter) => FieldValue::CgroupPath { id: raw, filter },
            ValueFormat::UserName => FieldValue::UserName(raw as u32),
        }
    }

    /// The text bpftrace prints: numbers, `0x1f`, `1.5ms`, symbol names, strings unquoted.
    pub fn to_text(&self, symbols: &dyn Symbolizer) -> String {
        match self {
            FieldValue::Int(v) => v.to_string(),
            FieldValue::Uint(v) => v.to_string(),
            FieldValue::Hex(v) => format!("0x{v:x}"),
            FieldValue::Bool(v) => v.to_string(),
            FieldValue::Enum { value, names } => names.text(*value),
            FieldValue::Duration(ns) => format_duration(*ns),
            FieldValue::Time { ns, format } => format.render(symbols.unix_ns(*ns, false)),
            FieldValue::Symbol(addr) => symbols.symbolize(*addr),
            FieldValue::UserSymbol { pid, addr } => symbols.user_symbol(*pid, *addr),
            FieldValue::CgroupPath { id, filter } => symbols.cgroup_path(*id, *filter),
            FieldValue::UserName(uid) => symbols.user_name(*uid),
            FieldValue::Culprit(raw) => format_culprit(*raw, symbols),
            FieldValue::StackId { kind, raw } => format!("<stack {}>", kind.split(*raw).1),
            FieldValue::Stack(_) | FieldValue::UserStack { .. } | FieldValue::RawStack(_) => {
                // bpftrace indents symbolized frames by 8 and raw addresses not at all.
                let indent = if matches!(self, FieldValue::RawStack(_)) { "" } else { "        " };
                let lines: String = self
                    .frame_names(symbols)
                    .unwrap_or_default()
                    .iter()
                    .map(|frame| format!("{indent}{frame}\n"))
                    .collect();
                format!("\n{lines}")
            }
            FieldValue::Str(s) => s.clone(),
            FieldValue::Tuple(elements) => {
                let texts: Vec<String> = elements.iter().map(|element| element.to_text(symbols)).collect();
                format!("({})", texts.join(", "))
            }
            FieldValue::Record(fields) => {
                let texts: Vec<String> =
                    fields.iter().map(|(name, value)| format!(".{name} = {}", value.to_text(symbols))).collect();
                format!("{{ {} }}", texts.join(", "))
            }
            FieldValue::Array(elements) => {
                let texts: Vec<String> = elements.iter().map(|element| element.to_text(symbols)).collect();
                format!("[{}]", texts.join(","))
            }
        }
    }

    /// [`FieldValue::to_text`] for a map key: durations print exactly (`1500us`, not `1.5ms`), so that two
    /// keys never print alike (nor collide as JSON members or OpenMetrics labels).
    pub fn to_key_text(&self, symbols: &dyn Symbolizer) -> String {
        match self {
            FieldValue::Duration(ns) => format_exact_duration(*ns),
            other => other.to_text(symbols),
        }
    }

    /// The frames of a resolved stack as names, innermost first; `None` for other values.
    pub fn frame_names(&self, symbols: &dyn Symbolizer) -> Option<Vec<String>> {
        match self {
            FieldValue::Stack(frames) => Some(frames.iter().map(|addr| symbols.symbolize(*addr)).collect()),
            FieldValue::UserStack { pid, frames } => {
                Some(frames.iter().map(|addr| symbols.symbolize_user(*pid, *addr)).collect())
            }
            FieldValue::RawStack(frames) => Some(frames.iter().map(|addr| format!("{addr:x}")).collect()),
            _ => None,
        }
    }

    /// Replaces a stack id by its frames, read with `read(frames, id)` from the stack map of stacks cut at
    /// `frames` frames; a negative id (no stack was recorded) becomes an empty stack, as does an id `read`
    /// finds no stack for (evicted). The stacks in a tuple or record are resolved too; other values are left alone.
    pub fn resolve_stack<E>(&mut self, read: &mut dyn FnMut(u32, u32) -> Result<Vec<u64>, E>) -> Result<(), E> {
        match self {
            FieldValue::Tuple(elements) => {
                return elements.iter_mut().try_for_each(|element| element.resolve_stack(read))
            }
            FieldValue::Record(fields) => {
                return fields.iter_mut().try_for_each(|(_, value)| value.resolve_stack(read))
            }
            _ => {}
        }
        let FieldValue::StackId { kind, raw } = *self else { return Ok(()) };
        let (pid, id) = kind.split(raw);
        let frames = match u32::try_from(id) {
            Ok(id) => read(kind.frames, id)?,
            Err(_) => Vec::new(),
        };
        *self = match (kind.mode, pid) {
            (StackMode::Raw, _) => FieldValue::RawStack(frames),
            (StackMode::Symbols, Some(pid)) => FieldValue::UserStack { pid, frames },
            (StackMode::Symbols, None) => FieldValue::Stack(frames),
        };
        Ok(())
    }
}

/// The text of `buf()` bytes, as bpftrace prints them: printable ASCII as is, every other byte as `\xNN`.
pub fn format_buf(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| match byte {
            0x20..=0x7e => char::from(*byte).to_string(),
            _ => format!("\\x{byte:02x}"),
        })
        .collect()
}

/// The text of an `ntop(af, addr)` value: 8 bytes of address family, then 16 bytes of address, printed as
/// the IPv4 address of its first 4 bytes for `AF_INET` (2), the IPv6 address for `AF_INET6` (10), and
/// `<af N>` for any other family.
pub fn format_inet_family(bytes: &[u8]) -> String {
    let family = bytes.get(..8).and_then(|word| <[u8; 8]>::try_from(word).ok()).map_or(0, u64::from_le_bytes);
    let address = bytes.get(8..).unwrap_or_default();
    match family {
        AF_INET => format_inet(&address[..address.len().min(4)]),
        AF_INET6 => format_inet(address),
        other => format!("<af {other}>"),
    }
}

/// `AF_INET`: IPv4.
const AF_INET: u64 = 2;
/// `AF_INET6`: IPv6.
const AF_INET6: u64 = 10;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Average {
    /// Sum of the values.
    pub sum: i64,
    /// Number of values.
    pub count: u64,
    /// What the mean is divided by when printed (`print(@m, top, div)`; 1 by default). The count and
    /// the total stay as counted, as bpftrace prints a `stats()` map's.
    pub divisor: u64,
}

impl Default for Average {
    fn default() -> Average {
        Average { sum: 0, count: 0, divisor: 1 }
    }
}

impl Average {
    /// Integer mean truncated toward zero like bpftrace, then divided by [`Average::divisor`]; 0 when there were
    /// no values.
    pub fn mean(&self) -> i64 {
        if self.count == 0 {
            return 0;
        }
        (i128::from(self.sum) / i128::from(self.count) / i128::from(self.divisor.max(1))) as i64
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

    /// Divides every bucket's count by `divisor` (`print(@m, top, div)`), keeping the buckets that become 0 so
    /// that the printed range stays the one the events span, as bpftrace prints it.
    pub fn divide(&mut self, divisor: u64) {
        for count in self.counts.values_mut() {
            *count /= divisor.max(1);
        }
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
    /// `tseries`: the values of the intervals the map still holds.
    TSeries(TimeSeries),
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
    /// Divides every number printed as a value by `divisor`, truncating toward zero as bpftrace's `print(@m, top,
    /// div)` does: integers, durations, the mean of `avg`/`stats`, histogram counts. Keys, and values that are not
    /// numbers, stay as they are.
    pub fn divide(&mut self, divisor: u64) {
        if divisor <= 1 {
            return;
        }
        for row in &mut self.rows {
            match &mut row.value {
                AggValue::Scalar(value) => value.divide(divisor),
                AggValue::Average(average) => average.divisor = divisor,
                AggValue::Histogram(histogram) => histogram.divide(divisor),
                AggValue::TSeries(series) => {
                    for value in series.points.values_mut() {
                        *value /= i128::from(divisor);
                    }
                }
            }
        }
    }

    /// Replaces the stack ids of keys and plain values with their frames (see [`FieldValue::resolve_stack`]).
    pub fn resolve_stacks<E>(&mut self, read: &mut dyn FnMut(u32, u32) -> Result<Vec<u64>, E>) -> Result<(), E> {
        for row in &mut self.rows {
            for part in &mut row.key {
                part.resolve_stack(read)?;
            }
            if let AggValue::Scalar(value) = &mut row.value {
                value.resolve_stack(read)?;
            }
        }
        Ok(())
    }

    /// Whether any key field is a stack (kernel or user).
    pub fn has_stacks(&self) -> bool {
        self.map.keys.iter().any(|field| matches!(field.format, ValueFormat::Stack(_)))
    }

    /// What bpftrace's `print()` shows of a map without keys that holds nothing yet: its zero value (`@: 0`,
    /// `@s: { .count = 0, .average = 0, .total = 0 }`, `@: `, `@: (0, )`, `@: { .a = 0 }`). `None` for keyed maps,
    /// histograms and stacks, which print nothing then.
    pub fn zero(map: &MapLayout) -> Option<Snapshot> {
        if !map.keys.is_empty() {
            return None;
        }
        let value = match &map.value {
            MapValue::Agg { kind: AggKind::Avg | AggKind::Stats, .. } => AggValue::Average(Average::default()),
            MapValue::Agg { kind: AggKind::Count, .. } => AggValue::Scalar(FieldValue::Uint(0)),
            MapValue::Agg { kind, format } if !kind.is_histogram() => {
                AggValue::Scalar(FieldValue::from_integer(0, *format))
            }
            MapValue::Scalar(FieldLayout { format: ValueFormat::Stack(_), .. }) => return None,
            MapValue::Scalar(_) | MapValue::Tuple(_) => {
                // The zero of a string, tuple or record: all-zero bytes, decoded as the BPF side's would be.
                let zeroes = vec![(vec![0; map.key_size() as usize], vec![0; map.value_size() as usize])];
                return super::decode(map, &MapEntries::Shared(zeroes)).ok();
            }
            _ => return None,
        };
        Some(Snapshot { map: map.clone(), rows: vec![Row { key: Vec::new(), value }] })
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
        assert_eq!(Average { sum: 7, count: 2, divisor: 1 }.mean(), 3);
        assert_eq!(Average { sum: -7, count: 2, divisor: 1 }.mean(), -3);
        assert_eq!(Average { sum: 5, count: 0, divisor: 1 }.mean(), 0);
        // print(@m, top, 10): the mean divided, as bpftrace 0.27.1 prints -30 / 10.
        assert_eq!(Average { sum: -30, count: 1, divisor: 10 }.mean(), -3);
    }

    #[test]
    fn fields_print_like_bpftrace() {
        let symbols = HexSymbolizer;
        assert_eq!(FieldValue::from_integer(u64::MAX, ValueFormat::Signed).to_text(&symbols), "-1");
        assert_eq!(FieldValue::from_integer(u64::MAX, ValueFormat::Unsigned).to_text(&symbols), u64::MAX.to_string());
        assert_eq!(FieldValue::from_integer(31, ValueFormat::Hex).to_text(&symbols), "0x1f");
        assert_eq!(FieldValue::from_integer(2, ValueFormat::Bool).to_text(&symbols), "true");
        assert_eq!(FieldValue::from_integer(0, ValueFormat::Bool).to_text(&symbols), "false");
        assert_eq!(FieldValue::from_integer(0x0100_007f, ValueFormat::Ipv4).to_text(&symbols), "127.0.0.1");
        assert_eq!(FieldValue::from_integer(1_500_000, ValueFormat::Duration).to_text(&symbols), "1.5ms");
        assert_eq!(FieldValue::from_integer(1_500_001, ValueFormat::Duration).to_key_text(&symbols), "1500001ns");
        assert_eq!(FieldValue::Str("swapper/0".into()).to_key_text(&symbols), "swapper/0");
        assert_eq!(FieldValue::from_integer(0xffff_8000, ValueFormat::KernelSymbol).to_text(&symbols), "0xffff8000");
        assert_eq!(FieldValue::Str("swapper/0".into()).to_text(&symbols), "swapper/0");
    }

    #[test]
    fn buffers_print_printable_ascii_and_escape_the_rest() {
        assert_eq!(format_buf(b"GET /\r\n\x00\xff~"), "GET /\\x0d\\x0a\\x00\\xff~");
        assert_eq!(format_buf(b""), "");
    }

    #[test]
    fn address_families_choose_the_address_printed() {
        let mut inet = [0u8; 24];
        inet[0] = 2;
        inet[8..12].copy_from_slice(&[10, 0, 0, 1]);
        inet[12] = 99;
        assert_eq!(format_inet_family(&inet), "10.0.0.1");
        inet[0] = 10;
        inet[8..24].copy_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(format_inet_family(&inet), "fe80::1");
        inet[0] = 7;
        assert_eq!(format_inet_family(&inet), "<af 7>");
    }

    #[test]
    fn stack_ids_resolve_through_their_map_and_process() {
        let mut read = |frames: u32, id: u32| -> Result<Vec<u64>, ()> { Ok(vec![u64::from(frames), u64::from(id)]) };
        let mut user = FieldValue::from_integer(42 << 32 | 5, ValueFormat::Stack(StackKind::USER.with_frames(3)));
        user.resolve_stack(&mut read).unwrap();
        assert_eq!(user, FieldValue::UserStack { pid: 42, frames: vec![3, 5] });
        let mut lost = FieldValue::from_integer(-14i64 as u64, ValueFormat::Stack(StackKind::KERNEL));
        lost.resolve_stack(&mut read).unwrap();
        assert_eq!(lost, FieldValue::Stack(Vec::new()));
        let text = FieldValue::UserStack { pid: 1, frames: vec![0x10, 0x20] }.to_text(&HexSymbolizer);
        assert_eq!(text, "\n        0x10\n        0x20\n");
        let mut raw =
            FieldValue::from_integer(42 << 32 | 5, ValueFormat::Stack(StackKind::USER.with_mode(StackMode::Raw)));
        raw.resolve_stack(&mut |_, _| -> Result<Vec<u64>, ()> { Ok(vec![0xffffffff81000010, 0x7f00]) }).unwrap();
        assert_eq!(raw.to_text(&HexSymbolizer), "\nffffffff81000010\n7f00\n");
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

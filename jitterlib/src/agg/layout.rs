//! How a map's keys and values are laid out in bytes, and how to print them.

use super::{AggKind, EnumNames, FieldValue, StackKind, TimeFormat};
use crate::cgroup::CgroupFilter;
use crate::maps::{MapKind, MapSpec};

/// Size of an integer field and of a histogram's bucket index.
pub(crate) const INTEGER_SIZE: u32 = 8;

/// How to read and print one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// Signed integer.
    Signed,
    /// Unsigned integer.
    Unsigned,
    /// Unsigned integer printed as `0x1f`.
    Hex,
    /// A truth value printed `true` (any bits set) or `false`, a JSON boolean.
    Bool,
    /// A signed integer of an enum type, printed as its enumerator's name (`ONE`) when it has one; a number in
    /// JSON values (bpftrace's, for the machines parsing them), the name in JSON keys as in text.
    Enum(EnumNames),
    /// A name from a fixed table carried as its index (a softirq's `name`, an skb hop's `hop`): read as the
    /// [`Str`](ValueFormat::Str) it stands for, so that it prints, sorts and exports exactly as that string.
    Name(EnumNames),
    /// Signed nanoseconds printed with units (`1.5ms`); JSON keeps nanoseconds and adds `"unit": "ns"`.
    Duration,
    /// A CLOCK_MONOTONIC time in nanoseconds (`strftime(FORMAT, nsecs)`), printed as local wall-clock time with
    /// its format (the clock converted by [`Symbolizer::unix_ns`](super::Symbolizer::unix_ns)).
    Time(TimeFormat),
    /// Kernel address printed through a [`Symbolizer`](super::Symbolizer).
    KernelSymbol,
    /// What ran on a CPU during a stall ([`crate::culprit::Culprit`]), printed `timer:estimation_timer`
    /// through a [`Symbolizer`](super::Symbolizer).
    Culprit,
    /// A user-space address (8 bytes) then the process it belongs to (8 bytes, the tgid): bpftrace's `usym`,
    /// printed as the name of the function holding it, or in hex when none does (through a
    /// [`Symbolizer`](super::Symbolizer)).
    UserSymbol,
    /// A cgroup id printed as its paths in the hierarchies the filter selects (bpftrace's `cgroup_path`), through
    /// a [`Symbolizer`](super::Symbolizer).
    CgroupPath(CgroupFilter),
    /// A user id printed as the user's name (bpftrace's `username`), through a
    /// [`Symbolizer`](super::Symbolizer).
    UserName,
    /// A stack id (from `bpf_get_stackid`, with the process for user stacks: see [`StackKind`]), replaced by
    /// its frames with [`Snapshot::resolve_stacks`](super::Snapshot::resolve_stacks) before printing.
    Stack(StackKind),
    /// NUL-padded string.
    Str,
    /// An IPv4 address as it sits in memory (network byte order, first 4 bytes), printed `10.0.0.1`.
    Ipv4,
    /// A 16-byte IPv6 address, printed in the RFC 5952 form (`::1`, `fe80::1`).
    Ipv6,
    /// An address family (8 bytes: `AF_INET` 2 or `AF_INET6` 10) then a 16-byte address, printed as an IPv4
    /// address (its first 4 bytes) or an IPv6 address as the family says (see [`format_inet_family`]).
    ///
    /// [`format_inet_family`]: super::format_inet_family
    Inet,
    /// The first this-many bytes of the field, printed with printable ASCII as is and other bytes as `\xNN`
    /// (see [`format_buf`](super::format_buf)).
    Buf(u32),
    /// A C array of integers or bools (`(int8[4])x`, `(bool[2])y`), its elements one after another, printed
    /// `[1,2,3]` as bpftrace prints them (a JSON array).
    Array(ArrayLayout),
}

/// The elements of an array value: what each is and how many there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayLayout {
    /// What each element is.
    pub element: ArrayElement,
    /// How many elements there are.
    pub count: u32,
}

/// The element of an array value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayElement {
    /// An integer of `bytes` bytes (1, 2, 4 or 8).
    Int {
        /// Its size.
        bytes: u8,
        /// Whether it is signed.
        signed: bool,
    },
    /// A truth value of one byte.
    Bool,
}

impl ArrayLayout {
    /// Bytes one element takes.
    pub fn element_bytes(self) -> u32 {
        match self.element {
            ArrayElement::Int { bytes, .. } => u32::from(bytes),
            ArrayElement::Bool => 1,
        }
    }

    /// Bytes the elements take together (without padding).
    pub fn bytes(self) -> u32 {
        self.element_bytes() * self.count
    }

    /// The elements from the array's bytes (padding after them ignored): integers sign-extended as their
    /// element type says, bools `true` when any bit is set.
    pub fn values(self, bytes: &[u8]) -> Vec<FieldValue> {
        let size = self.element_bytes();
        let element = |chunk: &[u8]| {
            let raw = super::merge::word(chunk, 0);
            match self.element {
                ArrayElement::Bool => FieldValue::Bool(raw != 0),
                ArrayElement::Int { signed: false, .. } => FieldValue::Uint(raw),
                ArrayElement::Int { signed: true, .. } => {
                    let unused_bits = 64 - 8 * size;
                    FieldValue::Int(((raw << unused_bits) as i64) >> unused_bits)
                }
            }
        };
        bytes.chunks(size as usize).take(self.count as usize).map(element).collect()
    }

    /// The elements as C writes the type: `int8[4]`, `bool[2]`.
    pub fn describe(self) -> String {
        match self.element {
            ArrayElement::Int { bytes, signed } => {
                format!("{}int{}[{}]", if signed { "" } else { "u" }, u32::from(bytes) * 8, self.count)
            }
            ArrayElement::Bool => format!("bool[{}]", self.count),
        }
    }
}

/// One key field or plain value: its size in bytes and how to print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    /// The expression it came from, when worth showing (for documentation and tooling; not printed), or in a
    /// [`MapValue::Tuple`] whose elements all have one, the field names of a record (printed `{ .a = 1 }`).
    pub name: Option<String>,
    /// Size in bytes: 8 for integers (1, 2 and 4 are read too), the declared size for strings.
    pub size: u32,
    /// How to read and print it.
    pub format: ValueFormat,
    /// For a tuple or record inside a [`MapValue::Tuple`] (`@m = (1, (2, "x"))`), its own elements, laid out
    /// one after another in `size` bytes; empty for every other field.
    pub elements: Vec<FieldLayout>,
}

impl FieldLayout {
    /// An unnamed 8-byte integer field.
    pub fn integer(format: ValueFormat) -> Self {
        FieldLayout { name: None, size: INTEGER_SIZE, format, elements: Vec::new() }
    }

    /// An unnamed NUL-padded string field of `size` bytes.
    pub fn string(size: u32) -> Self {
        FieldLayout { name: None, size, format: ValueFormat::Str, elements: Vec::new() }
    }
}

/// What a map's values are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapValue {
    /// An aggregation, stored per CPU.
    Agg {
        /// The aggregation function.
        kind: AggKind,
        /// Format of the aggregated expression (`Duration` for `sum(dur)`); ignored by `count`.
        /// A `Str` format prints integers as `Signed`.
        format: ValueFormat,
    },
    /// A plain assignment `@x[k] = expr`: one shared value per key.
    Scalar(FieldLayout),
    /// A plain assignment of a tuple `@x[k] = (a, b)` (or a record, `(a=1, b=2)`, its elements named): one shared
    /// value per key, these elements one after another.
    Tuple(Vec<FieldLayout>),
}

/// Key size of maps kept as arrays ([`MapLayout::is_array`]): the `u32` index of a slot.
const ARRAY_KEY_SIZE: u32 = 4;

/// Most buckets a histogram without keys keeps as the slots of a per-CPU array; an `lhist` with more is a hash
/// map of the buckets it saw.
const MAX_ARRAY_BUCKETS: u64 = 1024;

/// Most slots an aggregation keyed by names keeps in a per-CPU array ([`MapLayout::name_slots`]): names times
/// buckets; above it the map stays a hash of the keys it saw.
const MAX_NAME_SLOTS: u64 = 1 << 16;

/// How an aggregation keyed by names of fixed tables (`@[name] = hist(dur)`, `@[prev, hop] = hist(dur)`) sits in
/// a per-CPU array: the names' indexes make one number, the first name the most significant (`prev * hops +
/// hop`), and the slot of bucket `b` of that key is `key * buckets + b`. Keys ordered by slot are thus ordered
/// as their names' indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameSlots {
    /// Slots of each key field's names, in key order: its table's largest index plus one.
    pub names: Vec<u32>,
    /// Buckets of each key's histogram (1 for other aggregations).
    pub buckets: u32,
}

impl NameSlots {
    /// Slots of the array.
    pub fn slots(&self) -> u32 {
        self.names.iter().product::<u32>() * self.buckets
    }

    /// The array keys (`u32` slots) of every bucket of the key whose fields (the names' 8-byte indexes, as
    /// [`MapLayout::encode_key`] writes them) are `fields`; none for a name beyond its table.
    pub fn keys_of(&self, fields: &[u8]) -> Vec<Vec<u8>> {
        let Some(first) = self.key_index(fields).map(|key| key * self.buckets) else { return Vec::new() };
        (first..first + self.buckets).map(|slot| slot.to_le_bytes().to_vec()).collect()
    }

    /// The key's number (`prev * hops + hop`) of key fields `fields`; `None` unless they are one 8-byte index
    /// within its table per name.
    fn key_index(&self, fields: &[u8]) -> Option<u32> {
        if fields.len() != self.names.len() * 8 {
            return None;
        }
        fields.chunks_exact(8).zip(&self.names).try_fold(0u32, |key, (field, &names)| {
            let index = u64::from_le_bytes(field.try_into().ok()?);
            (index < u64::from(names)).then(|| key * names + index as u32)
        })
    }

    /// The key fields (each name's index, 8 bytes little-endian) and the bucket of array slot `slot`.
    pub fn split(&self, slot: u32) -> (Vec<u8>, u64) {
        let mut key = slot / self.buckets;
        let mut indexes: Vec<u32> = self
            .names
            .iter()
            .rev()
            .map(|&names| {
                let index = key % names;
                key /= names;
                index
            })
            .collect();
        indexes.reverse();
        let fields = indexes.into_iter().flat_map(|index| u64::from(index).to_le_bytes()).collect();
        (fields, u64::from(slot % self.buckets))
    }
}

/// The layout of one map as the BPF side writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapLayout {
    /// Name as printed: `@` or `@name`.
    pub name: String,
    /// Key fields in order; empty for a map without `[...]`, whose key is 0 (4 bytes for a one-slot array,
    /// 8 otherwise).
    pub keys: Vec<FieldLayout>,
    /// The values.
    pub value: MapValue,
    /// Whether the script's programs test, count, walk or delete the map's keys (`has_key`, `len`, `for`,
    /// `delete`): such a map stays a hash, since every slot of an array exists and none can be deleted there.
    pub keys_in_programs: bool,
}

impl MapLayout {
    /// Key size in bytes: the key fields, plus the `u64` bucket index for histograms; at least 8, except for
    /// the `u32` slot index of an array ([`MapLayout::is_array`]).
    pub fn key_size(&self) -> u32 {
        let fields = self.user_key_size();
        if self.is_array() {
            ARRAY_KEY_SIZE
        } else if self.histogram().is_some() {
            fields + INTEGER_SIZE
        } else {
            fields.max(INTEGER_SIZE)
        }
    }

    /// Whether the map is one per-CPU array slot: an aggregation without keys and buckets (`@ = count()`).
    /// Such a slot exists from the start (zeroed), so updates never insert and can never find the map full;
    /// a slot whose CPUs are all still zero was never written and is not printed.
    pub fn is_single_slot(&self) -> bool {
        self.user_key_size() == 0 && matches!(self.value, MapValue::Agg { kind, .. } if !kind.is_histogram())
    }

    /// For a histogram without keys (`@ = hist(v)`): how many buckets it has, each a slot of a per-CPU array
    /// indexed by the bucket. `None` for other maps and for an `lhist` of more than `MAX_ARRAY_BUCKETS` (1024)
    /// buckets.
    pub fn bucket_slots(&self) -> Option<u32> {
        if self.user_key_size() != 0 {
            return None;
        }
        let count = self.histogram()?.bucket_count()?;
        u32::try_from(count).ok().filter(|&count| u64::from(count) <= MAX_ARRAY_BUCKETS)
    }

    /// For an aggregation whose keys are all names of fixed tables (`@[name] = hist(dur)`, `@[hop] = count()`,
    /// `@[prev, hop] = hist(dur)`, see [`ValueFormat::Name`]) and whose programs do not look at its keys
    /// ([`MapLayout::keys_in_programs`]): its per-CPU array slots, one per key and bucket (one bucket but for
    /// histograms). A key has a row exactly when some CPU's slot is not all zeroes, as a hash has the keys
    /// written, because every update leaves a mark: `count()` and each histogram bucket add one, `min()`/`max()`
    /// set their seen word, `avg()` and `stats()` add one to their count. `None` for other maps: `sum()`
    /// (`sum(0)` makes a key of zeroes), plain values (`@[name] = 0`), `tseries` (whose slots are not counts) and
    /// tables of more than `MAX_NAME_SLOTS` (65536) slots, the product of the names and buckets.
    pub fn name_slots(&self) -> Option<NameSlots> {
        let buckets = match self.value {
            _ if self.keys_in_programs || self.keys.is_empty() => return None,
            MapValue::Agg {
                kind: AggKind::Count | AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Stats,
                ..
            } => 1,
            MapValue::Agg {
                kind: kind @ (AggKind::Hist { .. } | AggKind::TimeHist | AggKind::Quantiles | AggKind::Lhist { .. }),
                ..
            } => kind.bucket_count()?,
            _ => return None,
        };
        let names = self
            .keys
            .iter()
            .map(|field| match field {
                FieldLayout { format: ValueFormat::Name(table), size: INTEGER_SIZE, .. } => {
                    let largest = table.enumerators().iter().map(|(index, _)| u64::try_from(*index).ok()).max()??;
                    largest.checked_add(1)
                }
                _ => None,
            })
            .collect::<Option<Vec<u64>>>()?;
        let slots = names.iter().try_fold(buckets, |slots, names| slots.checked_mul(*names))?;
        (slots <= MAX_NAME_SLOTS).then(|| NameSlots {
            names: names.into_iter().map(|names| names as u32).collect(),
            buckets: buckets as u32,
        })
    }

    /// Whether the map is a per-CPU array ([`MapLayout::is_single_slot`], [`MapLayout::bucket_slots`],
    /// [`MapLayout::name_slots`]): every slot exists from the start, zeroed, so updates never insert and can
    /// never find the map full, and a slot all of whose CPUs are zero was never written.
    pub fn is_array(&self) -> bool {
        self.is_single_slot() || self.bucket_slots().is_some() || self.name_slots().is_some()
    }

    /// Value size in bytes (per CPU for aggregations).
    pub fn value_size(&self) -> u32 {
        match &self.value {
            MapValue::Agg { kind, .. } => kind.value_size(),
            MapValue::Scalar(field) => field.size,
            MapValue::Tuple(elements) => elements.iter().map(|element| element.size).sum(),
        }
    }

    /// The histogram kind, for `hist`, `timehist` and `lhist` maps.
    pub fn histogram(&self) -> Option<AggKind> {
        match self.value {
            MapValue::Agg { kind, .. } if kind.is_histogram() => Some(kind),
            _ => None,
        }
    }

    /// Whether the values (or histogram bounds) are nanoseconds.
    pub fn is_duration(&self) -> bool {
        match &self.value {
            MapValue::Agg { kind: AggKind::Count, .. } => false,
            MapValue::Agg { kind: AggKind::TimeHist, .. } => true,
            MapValue::Agg { format, .. } => *format == ValueFormat::Duration,
            MapValue::Scalar(field) => field.format == ValueFormat::Duration,
            MapValue::Tuple(_) => false,
        }
    }

    /// The map holding this layout, named `name`: a per-CPU array of one slot ([`MapLayout::is_single_slot`]), of
    /// the buckets ([`MapLayout::bucket_slots`]) or of each name's buckets ([`MapLayout::name_slots`]), a per-CPU
    /// hash of `capacity` keys for other aggregations, a
    /// hash of `capacity` keys for plain values.
    ///
    /// ```
    /// use jitterlib::agg::{AggKind, MapLayout, MapValue, ValueFormat};
    ///
    /// let value = MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Unsigned };
    /// let layout = MapLayout { name: "@".into(), keys: vec![], value, keys_in_programs: false };
    /// assert_eq!(layout.map_spec("count".into(), 1024).max_entries, 1);
    /// ```
    pub fn map_spec(&self, name: String, capacity: u32) -> MapSpec {
        let slots = self.bucket_slots().or_else(|| self.name_slots().map(|slots| slots.slots()));
        let (kind, max_entries) = match (&self.value, slots) {
            _ if self.is_single_slot() => (MapKind::PerCpuArray, 1),
            (_, Some(slots)) => (MapKind::PerCpuArray, slots),
            (MapValue::Agg { .. }, None) => (MapKind::PerCpuHash, capacity),
            (MapValue::Scalar(_) | MapValue::Tuple(_), None) => (MapKind::Hash, capacity),
        };
        MapSpec { name, kind, key_size: self.key_size(), value_size: self.value_size(), max_entries, on_insert: true }
    }

    /// Bytes a program builds the key in: [`MapLayout::key_size`], or the key fields' where an array's slot is
    /// computed over them ([`MapLayout::name_slots`]: the names' 8-byte indexes).
    pub fn key_room(&self) -> u32 {
        self.key_size().max(self.user_key_size())
    }

    /// Bytes of the key fields alone, without a histogram's bucket index.
    pub(crate) fn user_key_size(&self) -> u32 {
        self.keys.iter().map(|field| field.size).sum()
    }

    /// The bytes of the key `parts` as the BPF side writes them (integers little-endian in their field's size,
    /// strings NUL-padded): what starts every raw key of that entry, histogram buckets following. Only integer
    /// and string fields can be written this way.
    ///
    /// ```
    /// use jitterlib::agg::{AggKind, FieldLayout, KeyPart, MapLayout, MapValue, ValueFormat};
    ///
    /// let layout = MapLayout {
    ///     name: "@".into(),
    ///     keys: vec![FieldLayout::integer(ValueFormat::Signed), FieldLayout::string(8)],
    ///     value: MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Signed },
    ///     keys_in_programs: false,
    /// };
    /// let key = layout.encode_key(&[KeyPart::Int(1), KeyPart::Str("ab".into())])?;
    /// assert_eq!(key, [1, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', 0, 0, 0, 0, 0, 0]);
    /// # Ok::<(), String>(())
    /// ```
    pub fn encode_key(&self, parts: &[KeyPart]) -> Result<Vec<u8>, String> {
        if parts.len() != self.keys.len() {
            return Err(format!("{} has {} key part(s), not {}", self.name, self.keys.len(), parts.len()));
        }
        let mut bytes = Vec::with_capacity(self.user_key_size() as usize);
        for (field, part) in self.keys.iter().zip(parts) {
            let size = field.size as usize;
            match (field.format, part) {
                (ValueFormat::Str, KeyPart::Str(text)) if text.len() < size => {
                    bytes.extend_from_slice(text.as_bytes());
                    bytes.resize(bytes.len() + size - text.len(), 0);
                }
                (ValueFormat::Str, KeyPart::Str(text)) => {
                    return Err(format!("\"{text}\" is longer than {}'s {}-byte string keys", self.name, size - 1))
                }
                (
                    ValueFormat::Signed | ValueFormat::Unsigned | ValueFormat::Hex | ValueFormat::Duration,
                    KeyPart::Int(value),
                ) => bytes.extend_from_slice(&value.to_le_bytes()[..size.min(8)]),
                (ValueFormat::Name(names), KeyPart::Str(text)) => match names.value_of(text) {
                    Some(index) => bytes.extend_from_slice(&index.to_le_bytes()[..size.min(8)]),
                    None => {
                        let known: Vec<&str> = names.enumerators().iter().map(|(_, name)| *name).collect();
                        return Err(format!("\"{text}\" is not one of {}'s keys: {}", self.name, known.join(", ")));
                    }
                },
                (ValueFormat::Str | ValueFormat::Name(_), KeyPart::Int(_)) => {
                    return Err(format!("{}'s key is a string here", self.name))
                }
                (_, KeyPart::Str(_)) => return Err(format!("{}'s key is an integer here", self.name)),
                (format, _) => {
                    return Err(format!("{}'s keys ({format:?}) cannot be written at the prompt", self.name))
                }
            }
        }
        Ok(bytes)
    }
}

/// One part of a map key as typed by a person (`delete(@m, (1, "sshd"))` at the prompt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPart {
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(keys: Vec<FieldLayout>, kind: AggKind) -> MapLayout {
        MapLayout {
            name: "@x".into(),
            keys,
            value: MapValue::Agg { kind, format: ValueFormat::Signed },
            keys_in_programs: false,
        }
    }

    #[test]
    fn key_sizes_include_the_bucket_and_the_empty_key() {
        assert_eq!(layout(vec![], AggKind::Count).key_size(), 4);
        assert!(layout(vec![], AggKind::Count).is_single_slot());
        assert!(!layout(vec![], AggKind::Hist { bits: 0 }).is_single_slot());
        assert_eq!(layout(vec![], AggKind::Hist { bits: 0 }).key_size(), 4, "a bucket array slot");
        assert_eq!(layout(vec![], AggKind::Hist { bits: 0 }).bucket_slots(), Some(65));
        assert_eq!(layout(vec![], AggKind::lhist(0, 100, 10).expect("lhist")).bucket_slots(), Some(12));
        let wide = layout(vec![], AggKind::Lhist { min: 0, max: 1_000_000, step: 1 });
        assert_eq!(
            (wide.bucket_slots(), wide.key_size()),
            (None, 8),
            "too many buckets for an array (built without `AggKind::lhist`, which allows 1000)"
        );
        assert_eq!(
            layout(vec![FieldLayout::integer(ValueFormat::Unsigned)], AggKind::Hist { bits: 0 }).bucket_slots(),
            None
        );
        let keys = vec![FieldLayout::string(16), FieldLayout::integer(ValueFormat::Unsigned)];
        assert_eq!(layout(keys.clone(), AggKind::Count).key_size(), 24);
        assert_eq!(layout(keys, AggKind::TimeHist).key_size(), 32);
        assert_eq!(layout(vec![], AggKind::Stats).value_size(), 16);
    }

    /// A name key of a table of `names` names, with a gap (index 2 unnamed) as kernel enums may have.
    fn name_key(names: i64) -> FieldLayout {
        let table: Vec<(i64, String)> = (0..names).filter(|i| *i != 2).map(|i| (i, format!("n{i}"))).collect();
        FieldLayout {
            name: None,
            size: INTEGER_SIZE,
            format: ValueFormat::Name(EnumNames::new("t", &table)),
            elements: vec![],
        }
    }

    #[test]
    fn an_aggregation_keyed_by_a_name_alone_is_an_array_of_names_by_buckets() {
        let hist = layout(vec![name_key(10)], AggKind::Hist { bits: 0 });
        assert_eq!(hist.name_slots(), Some(NameSlots { names: vec![10], buckets: 65 }));
        let spec = hist.map_spec("h".into(), 4096);
        assert_eq!((spec.kind, spec.key_size, spec.max_entries), (MapKind::PerCpuArray, 4, 650));
        assert!(hist.is_array() && !hist.is_single_slot());
        let lhist = layout(vec![name_key(4)], AggKind::lhist(0, 100, 10).expect("lhist"));
        assert_eq!(lhist.name_slots(), Some(NameSlots { names: vec![4], buckets: 12 }));
        let count = layout(vec![name_key(10)], AggKind::Count);
        assert_eq!(count.name_slots(), Some(NameSlots { names: vec![10], buckets: 1 }));
        assert_eq!((count.key_size(), count.map_spec("c".into(), 4096).max_entries), (4, 10));
        let looked_at = MapLayout { keys_in_programs: true, ..count.clone() };
        assert_eq!(looked_at.name_slots(), None, "has_key(), len(), for or delete() in a program: a hash");
        // `sum(0)` and `@[name] = 0` write a key of zeroes; a tseries' slots are not counts.
        let tseries = AggKind::tseries(1_000_000_000, 5, super::super::TSeriesAgg::Sum, false).expect("tseries");
        for kind in [AggKind::Sum, tseries] {
            assert_eq!(layout(vec![name_key(10)], kind).name_slots(), None, "{kind:?}");
        }
        let plain = MapLayout { value: MapValue::Scalar(FieldLayout::integer(ValueFormat::Signed)), ..count };
        assert_eq!(plain.name_slots(), None);
        let both = layout(vec![name_key(10), FieldLayout::integer(ValueFormat::Unsigned)], AggKind::Hist { bits: 0 });
        assert_eq!((both.name_slots(), both.map_spec("b".into(), 64).kind), (None, MapKind::PerCpuHash));
        let wide = layout(vec![name_key(2000)], AggKind::Hist { bits: 0 });
        assert_eq!(wide.name_slots(), None, "more than 65536 slots");
    }

    #[test]
    fn an_aggregation_keyed_by_several_names_is_an_array_of_their_product_by_buckets() {
        let pair = layout(vec![name_key(7), name_key(6)], AggKind::Hist { bits: 0 });
        assert_eq!(pair.name_slots(), Some(NameSlots { names: vec![7, 6], buckets: 65 }));
        let spec = pair.map_spec("p".into(), 4096);
        assert_eq!((spec.kind, spec.key_size, spec.max_entries), (MapKind::PerCpuArray, 4, 7 * 6 * 65));
        assert_eq!(pair.key_room(), 16, "both names' indexes are written before the slot is computed");
        let count = layout(vec![name_key(4), name_key(5), name_key(6)], AggKind::Count);
        assert_eq!(count.name_slots().map(|slots| slots.slots()), Some(120));
        let mixed = layout(vec![name_key(7), FieldLayout::integer(ValueFormat::Unsigned)], AggKind::Count);
        assert_eq!(mixed.name_slots(), None, "a key part that is no name: a hash");
        let looked_at = MapLayout { keys_in_programs: true, ..pair };
        assert_eq!(looked_at.name_slots(), None);
        // 40 x 30 names x 65 buckets is 78000 slots: over the bound, though each table alone is small.
        assert_eq!(layout(vec![name_key(40), name_key(30)], AggKind::Hist { bits: 0 }).name_slots(), None);
        assert_eq!(
            layout(vec![name_key(40), name_key(30)], AggKind::Count).name_slots().map(|s| s.slots()),
            Some(1200)
        );
    }

    #[test]
    fn a_key_of_several_names_is_their_indexes_first_name_most_significant() {
        let slots = NameSlots { names: vec![7, 6], buckets: 65 };
        let fields = |prev: u64, hop: u64| [prev.to_le_bytes(), hop.to_le_bytes()].concat();
        // prev 4, hop 5: key 4 * 6 + 5 = 29, its buckets slots 29 * 65 .. 29 * 65 + 64.
        assert_eq!(slots.split(29 * 65 + 3), (fields(4, 5), 3));
        assert_eq!(slots.split(0), (fields(0, 0), 0));
        assert_eq!(slots.split(7 * 6 * 65 - 1), (fields(6, 5), 64));
        let keys = slots.keys_of(&fields(4, 5));
        assert_eq!(
            (keys.len(), keys[0].clone(), keys[64].clone()),
            (65, (29u32 * 65).to_le_bytes().to_vec(), (29u32 * 65 + 64).to_le_bytes().to_vec())
        );
        for slot in 0..slots.slots() {
            let (key, bucket) = slots.split(slot);
            assert_eq!(slots.keys_of(&key)[bucket as usize], slot.to_le_bytes(), "slot {slot}");
        }
        assert!(slots.keys_of(&fields(7, 0)).is_empty(), "the first name beyond its table");
        assert!(slots.keys_of(&fields(0, 6)).is_empty(), "the second name beyond its table");
        assert!(slots.keys_of(&4u64.to_le_bytes()).is_empty(), "one name's bytes of two");
    }

    #[test]
    fn a_names_buckets_are_consecutive_slots() {
        let slots = NameSlots { names: vec![10], buckets: 65 };
        assert_eq!(slots.split(3 * 65 + 7), (3u64.to_le_bytes().to_vec(), 7));
        let keys = slots.keys_of(&3u64.to_le_bytes());
        assert_eq!(
            (keys.len(), keys[0].clone(), keys[64].clone()),
            (65, 195u32.to_le_bytes().to_vec(), 259u32.to_le_bytes().to_vec())
        );
        assert!(slots.keys_of(&10u64.to_le_bytes()).is_empty(), "beyond the table");
        assert!(slots.keys_of(&[1, 0]).is_empty(), "not a name's 8 bytes");
    }

    #[test]
    fn duration_unit_follows_the_aggregated_expression() {
        let mut map = layout(vec![], AggKind::Sum);
        assert!(!map.is_duration());
        map.value = MapValue::Agg { kind: AggKind::Count, format: ValueFormat::Duration };
        assert!(!map.is_duration());
        map.value = MapValue::Agg { kind: AggKind::Max, format: ValueFormat::Duration };
        assert!(map.is_duration());
        map.value = MapValue::Agg { kind: AggKind::TimeHist, format: ValueFormat::Signed };
        assert!(map.is_duration());
    }
}

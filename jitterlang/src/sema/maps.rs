//! The map table: each `@map` is declared by its first assignment; every use must agree on keys and values.

use crate::ast;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Expr, ExprKind, MapInfo, TupleType, Type};
use jitterlib::agg::{AggKind, FieldLayout, MapLayout, MapValue, ValueFormat};

/// What reading a map in a probe gives.
pub(super) enum MapReading {
    /// A plain map's value, of this type.
    Plain(Type),
    /// A `count()`, `sum()`, `min()`, `max()` or `avg()` map's value merged across the CPUs, of this type.
    Aggregation(Type),
}

/// Every map seen so far, in order of first use.
#[derive(Default)]
pub(super) struct MapTable {
    maps: Vec<MapInfo>,
    /// Whether a map was used that no assignment had declared yet.
    unresolved: bool,
    /// Whether a string key grew in this pass (a longer string than the first use's): uses checked before it
    /// have the shorter type, so the script is checked again with the longer one.
    widened: bool,
}

impl MapTable {
    /// How many maps are declared.
    pub(super) fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether a map was used before any assignment declared it (reported): a pass that starts with the
    /// [`declared`](Self::declared) maps may resolve it.
    pub(super) fn unresolved(&self) -> bool {
        self.unresolved
    }

    /// The declared maps, for the next pass to start with.
    pub(super) fn declared(self) -> MapTable {
        MapTable { maps: self.maps, unresolved: false, widened: false }
    }

    /// Whether a string key of a map grew in this pass (see [`MapTable::declared`]).
    pub(super) fn widened(&self) -> bool {
        self.widened
    }

    pub(super) fn into_infos(self) -> Vec<MapInfo> {
        self.maps
    }

    /// Declares or checks an aggregation map.
    pub(super) fn aggregation(
        &mut self,
        target: &ast::MapRef,
        keys: &[Expr],
        kind: AggKind,
        value: Option<Type>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<usize> {
        let format = value.map_or(ValueFormat::Unsigned, format_of);
        let wanted = MapValue::Agg { kind, format };
        self.declare(target, keys, wanted, None, diagnostics)
    }

    /// Declares or checks a plain map.
    pub(super) fn plain(
        &mut self,
        target: &ast::MapRef,
        keys: &[Expr],
        value: Type,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<usize> {
        self.declare(target, keys, plain_value(value), Some(value), diagnostics)
    }

    /// Finds a map for reading: a plain map's value, or the merged value of a `count()`, `sum()`, `min()`,
    /// `max()` or `avg()` aggregation (other aggregations are refused).
    pub(super) fn read(
        &mut self,
        target: &ast::MapRef,
        keys: &[Expr],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<(usize, MapReading)> {
        let Some(index) = self.find(&target.name) else {
            self.unresolved = true;
            diagnostics.push(
                Diagnostic::new(
                    Code::UnknownIdent,
                    target.span,
                    format!("map `{}` is read before it is assigned", target.name),
                )
                .with_hint(
                    "assign it first, e.g. `@start[tid] = nsecs;` in another probe or `BEGIN { @n = 0; }`; `@n++` and \
                     `@n += v` start a new map at 0",
                ),
            );
            return None;
        };
        let Some(reading) = self.reading(index) else {
            diagnostics.push(unreadable(target, &self.maps[index].layout.value));
            return None;
        };
        self.check_keys(index, target, keys, diagnostics)?;
        Some((index, reading))
    }

    /// What reading map `index` gives: `None` for an aggregation other than `count()`, `sum()`, `min()`, `max()`
    /// and `avg()`.
    pub(super) fn reading(&self, index: usize) -> Option<MapReading> {
        let info = &self.maps[index];
        info.value_type.map(MapReading::Plain).or_else(|| match info.layout.value {
            MapValue::Agg { kind, format } => readable_aggregation(kind, format).map(MapReading::Aggregation),
            _ => None,
        })
    }

    /// Finds a map (plain or aggregation) whose entry `target[keys]` is named, e.g. by `delete()`.
    pub(super) fn existing(
        &mut self,
        target: &ast::MapRef,
        keys: &[Expr],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<usize> {
        let index = self.named(target, diagnostics)?;
        self.check_keys(index, target, keys, diagnostics)?;
        Some(index)
    }

    /// Finds a whole map by name, e.g. for `print(@m)`.
    pub(super) fn named(&mut self, target: &ast::MapRef, diagnostics: &mut Vec<Diagnostic>) -> Option<usize> {
        let found = self.find(&target.name);
        if found.is_none() {
            self.unresolved = true;
            diagnostics.push(
                Diagnostic::new(Code::UnknownIdent, target.span, format!("map `{}` is never assigned", target.name))
                    .with_hint("a map is declared by an assignment in any probe: `@name = count();`, `@name[k] = v;`"),
            );
        }
        found
    }

    /// Whether the map's keys end with a histogram bucket.
    pub(super) fn is_histogram(&self, index: usize) -> bool {
        matches!(self.maps[index].layout.value, MapValue::Agg { kind, .. } if kind.is_histogram())
    }

    /// What is known of map `index`.
    pub(super) fn info(&self, index: usize) -> &MapInfo {
        &self.maps[index]
    }

    /// Notes that the programs test, count, walk or delete map `index`'s keys: it stays a hash
    /// ([`MapLayout::keys_in_programs`]).
    pub(super) fn keys_in_programs(&mut self, index: usize) {
        self.maps[index].layout.keys_in_programs = true;
    }

    /// Whether the map has keys (`@m[k]`), as opposed to a single value (`@m`).
    pub(super) fn has_keys(&self, index: usize) -> bool {
        !self.maps[index].key_types.is_empty()
    }

    /// Whether a map of this name was used before.
    pub(super) fn is_declared(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The key types of map `name` so far (none when it is not declared yet).
    pub(super) fn key_types(&self, name: &str) -> Vec<Type> {
        self.find(name).map(|index| self.maps[index].key_types.clone()).unwrap_or_default()
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.maps.iter().position(|info| info.layout.name == name)
    }

    fn declare(
        &mut self,
        target: &ast::MapRef,
        keys: &[Expr],
        value: MapValue,
        value_type: Option<Type>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<usize> {
        let Some(index) = self.find(&target.name) else {
            let layout = MapLayout {
                name: target.name.clone(),
                keys: keys.iter().map(|key| FieldLayout { name: key_name(key), ..plain_field(key.ty) }).collect(),
                value,
                keys_in_programs: false,
            };
            let key_types = keys.iter().map(|key| key.ty).collect();
            self.maps.push(MapInfo { layout, key_types, value_type, declared: None });
            return Some(self.maps.len() - 1);
        };
        self.check_keys(index, target, keys, diagnostics)?;
        let info = &mut self.maps[index];
        // A string value, alone or in a tuple, takes the longest written (`@[1] = ("hi", 1); @[1] = ("hello", 2);`).
        if let Some(wider) = info.value_type.zip(value_type).and_then(|(old, new)| old.widest(new)) {
            if Some(wider) != info.value_type {
                info.value_type = Some(wider);
                info.layout.value = plain_value(wider);
                self.widened = true;
            }
            return Some(index);
        }
        if !same_value(&info.layout.value, &value) {
            diagnostics.push(
                Diagnostic::new(
                    Code::MapConflict,
                    target.span,
                    format!(
                        "`{}` holds {}, not {}",
                        target.name,
                        describe_value(&info.layout.value),
                        describe_value(&value)
                    ),
                )
                .with_hint("a map keeps the kind of value of its first use; use another map name"),
            );
            return None;
        }
        Some(index)
    }

    /// Checks that `keys` agree with the map's keys. Strings of any size agree, alone or in tuples, as in bpftrace
    /// 0.27 (`@["bpftrace"] = 1; @["curl"] = 2;`): the map's key takes the longest, and shorter ones are written into
    /// it NUL-padded.
    fn check_keys(
        &mut self,
        index: usize,
        target: &ast::MapRef,
        keys: &[Expr],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<()> {
        let info = &mut self.maps[index];
        let found: Vec<Type> = keys.iter().map(|key| key.ty).collect();
        let agrees = info.key_types.len() == found.len()
            && info.key_types.iter().zip(&found).all(|(a, b)| same_key_type(*a, *b) || key_widest(*a, *b).is_some());
        if agrees {
            for (position, ty) in found.iter().enumerate() {
                let declared = info.key_types[position];
                match key_widest(declared, *ty) {
                    Some(wider) if wider != declared => {
                        info.key_types[position] = wider;
                        let name = info.layout.keys[position].name.take();
                        info.layout.keys[position] = FieldLayout { name, ..plain_field(wider) };
                        self.widened = true;
                    }
                    _ => {}
                }
            }
            return Some(());
        }
        let declared = &info.key_types;
        let show = |types: &[Type]| types.iter().map(|t| t.describe()).collect::<Vec<_>>().join(", ");
        diagnostics.push(
            Diagnostic::new(
                Code::MapConflict,
                target.span,
                format!("`{}` is keyed by [{}], not [{}]", target.name, show(declared), show(&found)),
            )
            .with_hint("every use of a map needs the same number and types of keys"),
        );
        None
    }
}

fn same_key_type(a: Type, b: Type) -> bool {
    a == b
        || (a.is_scalar() && b.is_scalar() && a.size() == b.size() && format_of(a) == format_of(b))
        || matches!((a, b), (Type::Int { .. } | Type::Enum(_), Type::Int { .. } | Type::Enum(_)))
}

/// The key type that holds both `a` and `b`: names of two tables, or names and other strings, mix in one map
/// as their text (the longest); otherwise the wider of two types ([`Type::widest`]: strings of any size, alone or
/// in tuples).
fn key_widest(a: Type, b: Type) -> Option<Type> {
    match (text_size(a), text_size(b)) {
        (Some(x), Some(y)) if a != b => Some(Type::Str(x.max(y))),
        _ => a.widest(b),
    }
}

/// The size of a string key, or of a name's text.
fn text_size(ty: Type) -> Option<u32> {
    match ty {
        Type::Str(size) => Some(size),
        Type::Name(names) => Some(super::names::text_size(names)),
        _ => None,
    }
}

fn same_value(a: &MapValue, b: &MapValue) -> bool {
    match (a, b) {
        (MapValue::Agg { kind: ka, .. }, MapValue::Agg { kind: kb, .. }) => ka == kb,
        // Integers of any kind mix; strings, buffers, addresses and stacks mix with nothing else, even of the
        // same size.
        (MapValue::Scalar(fa), MapValue::Scalar(fb)) => same_field(fa, fb),
        (MapValue::Tuple(a), MapValue::Tuple(b)) => same_elements(a, b),
        _ => false,
    }
}

/// Whether values of two plain layouts mix in one map (or one element of a tuple).
fn same_field(a: &FieldLayout, b: &FieldLayout) -> bool {
    a.size == b.size
        && (a.format == b.format || is_integer(a.format) && is_integer(b.format))
        && same_elements(&a.elements, &b.elements)
}

/// Whether two tuples' elements (or a tuple's and a non-tuple's: none) mix in one map, names included.
fn same_elements(a: &[FieldLayout], b: &[FieldLayout]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(fa, fb)| fa.name == fb.name && same_field(fa, fb))
}

/// The value layout of a map holding plain values of type `ty`.
fn plain_value(ty: Type) -> MapValue {
    match ty {
        Type::Tuple(tuple) => MapValue::Tuple(tuple_fields(tuple)),
        _ => MapValue::Scalar(plain_field(ty)),
    }
}

/// The layout of a plain value (or a tuple's element) of type `ty`.
fn plain_field(ty: Type) -> FieldLayout {
    let elements = match ty {
        Type::Tuple(tuple) => tuple_fields(tuple),
        _ => Vec::new(),
    };
    FieldLayout { name: None, size: ty.size(), format: format_of(ty), elements }
}

/// The layouts of a tuple's elements (nested tuples with their own), named after a record's fields.
fn tuple_fields(tuple: TupleType) -> Vec<FieldLayout> {
    let mut fields: Vec<FieldLayout> = tuple.elements().iter().map(|element| plain_field(*element)).collect();
    for (field, name) in fields.iter_mut().zip(tuple.names().unwrap_or_default()) {
        field.name = Some(name.to_string());
    }
    fields
}

/// Whether values of this format are integers (which mix in one map whatever their printed form).
fn is_integer(format: ValueFormat) -> bool {
    !matches!(
        format,
        ValueFormat::Str
            | ValueFormat::Name(_)
            | ValueFormat::Bool
            | ValueFormat::Buf(_)
            | ValueFormat::Array(_)
            | ValueFormat::Inet
            | ValueFormat::Ipv6
            | ValueFormat::UserSymbol
            | ValueFormat::CgroupPath(_)
            | ValueFormat::UserName
            | ValueFormat::Stack(_)
    )
}

fn describe_value(value: &MapValue) -> String {
    match value {
        MapValue::Agg { kind, .. } => kind.usage(),
        MapValue::Scalar(field) => match field.format {
            ValueFormat::Str => format!("string[{}]", field.size),
            ValueFormat::Buf(len) => format!("buffer[{len}]"),
            ValueFormat::Array(array) => format!("arrays {}", array.describe()),
            ValueFormat::Inet | ValueFormat::Ipv6 => "IP addresses".to_string(),
            ValueFormat::Stack(_) => "stacks".to_string(),
            ValueFormat::UserSymbol => "user symbols".to_string(),
            ValueFormat::CgroupPath(_) => "cgroup paths".to_string(),
            ValueFormat::UserName => "user names".to_string(),
            ValueFormat::Bool => "bools".to_string(),
            _ => "integers".to_string(),
        },
        MapValue::Tuple(elements) => format!("tuples of {} elements", elements.len()),
    }
}

/// The name of a key that is a probe field or a builtin (`culprit`, `cpu`): what tools such as the OpenMetrics
/// exporter call it.
fn key_name(key: &Expr) -> Option<String> {
    match &key.kind {
        ExprKind::Field(field) => Some(field.name.clone()),
        ExprKind::NameText(index) => key_name(index),
        ExprKind::Builtin(builtin) => super::builtins::context_name(*builtin).map(String::from),
        _ => None,
    }
}

/// How values of a type are printed.
pub(crate) fn format_of(ty: Type) -> ValueFormat {
    match ty {
        Type::Int { signed: true } => ValueFormat::Signed,
        Type::Int { signed: false } | Type::Instant | Type::Void => ValueFormat::Unsigned,
        Type::Timestamp(format) => ValueFormat::Time(format),
        Type::Bool => ValueFormat::Bool,
        Type::Enum(names) => ValueFormat::Enum(names),
        Type::Name(names) => ValueFormat::Name(names),
        Type::Duration => ValueFormat::Duration,
        Type::Symbol => ValueFormat::KernelSymbol,
        Type::UserSymbol => ValueFormat::UserSymbol,
        Type::CgroupPath(filter) => ValueFormat::CgroupPath(filter),
        Type::UserName => ValueFormat::UserName,
        Type::Culprit => ValueFormat::Culprit,
        Type::Str(_) => ValueFormat::Str,
        Type::Stack(kind) => ValueFormat::Stack(kind),
        Type::Pointer(_) => ValueFormat::Hex,
        Type::Ipv4 => ValueFormat::Ipv4,
        Type::Ipv6 => ValueFormat::Ipv6,
        Type::Inet => ValueFormat::Inet,
        Type::Buf(len) => ValueFormat::Buf(len),
        Type::Array(array) => ValueFormat::Array(array),
        // Not reached for a layout: keys are a tuple's elements, and map values lay a tuple out element by
        // element (see `MapTable::plain`). Its bytes would print as a buffer.
        Type::Tuple(tuple) => ValueFormat::Buf(Type::Tuple(tuple).size()),
    }
}

/// E0300: map `target`, holding `value`, cannot be read in a probe.
pub(super) fn unreadable(target: &ast::MapRef, value: &MapValue) -> Diagnostic {
    Diagnostic::new(
        Code::TypeMismatch,
        target.span,
        format!("`{}` holds {} and cannot be read in a probe", target.name, describe_value(value)),
    )
    .with_hint(
        "a probe reads the maps of count(), sum(), min(), max() and avg() (their values merged across the CPUs); \
         print this one (`print(@m)`, or at exit)",
    )
}

/// The type of an aggregation's value read in a probe, for the kinds whose per-CPU values merge into one
/// integer as bpftrace 0.27 reads them: `count()` (unsigned), `sum()`, `min()`, `max()` and `avg()` (of the
/// aggregated values' sign, or durations); `None` for the others.
fn readable_aggregation(kind: AggKind, format: ValueFormat) -> Option<Type> {
    match (kind, format) {
        (AggKind::Count, _) => Some(Type::U64),
        (AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::Avg, ValueFormat::Duration) => Some(Type::Duration),
        (AggKind::Sum | AggKind::Min | AggKind::Max | AggKind::Avg, format) => {
            Some(Type::Int { signed: format == ValueFormat::Signed })
        }
        _ => None,
    }
}

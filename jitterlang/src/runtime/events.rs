//! Decoding of ring-buffer records: `[u64 id][values]`.

use super::clock::WallClock;
use crate::ir::{OutlierInfo, PrintfAction, PrintfInfo, Type};
use crate::printf::{Arg, Format};
use crate::wire::{MapEvent, TableEvent, EXIT_EVENT};
use jitterlib::agg::{format_culprit, format_inet, format_inet_family, EnumNames, FieldValue, StackKind, Symbolizer};
use jitterlib::kernel::KernelInfo;
use jitterlib::units::format_time;

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Event {
    /// `exit()` was called, with this exit code (0 for `exit()`).
    Exit(i64),
    /// A rendered printf line.
    Printf(String),
    /// `print(v)` of a value that is not a map (a stack already symbolized into text).
    Value(Value),
    /// A rendered `system()` command, to run.
    System(String),
    /// A rendered `cat()` file name, to print the contents of.
    Cat(String),
    /// A rendered `errorf()`, with where it was called: to print on stderr.
    Error(String),
    /// A rendered `warnf()`, with where it was called: to print on stderr unless warnings are off.
    Warning(String),
    /// `time()`: the current time, formatted.
    Time(String),
    /// `print`, `clear` or `zero` of a map.
    Map(MapEvent),
    /// An `outlier()` report.
    Outlier(Outlier),
}

/// A value decoded from an event, typed for printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Value {
    /// An unsigned integer.
    Unsigned(u64),
    /// A signed integer.
    Signed(i64),
    /// A truth value.
    Bool(bool),
    /// A value of an enum type.
    Enum {
        /// The value.
        value: i64,
        /// Its type's enumerators.
        names: EnumNames,
    },
    /// Nanoseconds.
    Duration(u64),
    /// A pointer, printed in hex.
    Address(u64),
    /// A string, a resolved kernel symbol, an address or a formatted time.
    Text(String),
    /// The bytes of a `buf()`.
    Bytes(Vec<u8>),
    /// A stack id as the BPF side wrote it (see [`StackKind::split`]).
    Stack {
        /// Which stacks.
        kind: StackKind,
        /// The 8 bytes written.
        raw: u64,
    },
    /// A tuple's elements.
    Tuple(Vec<Value>),
    /// A record's fields, by name.
    Record(Vec<(&'static str, Value)>),
    /// An array's elements (integers or bools).
    Array(Vec<Value>),
}

/// One `outlier()` report.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Outlier {
    /// The probe as written.
    pub probe: String,
    /// The threshold it crossed, in ns.
    pub threshold: u64,
    /// Unix time of the event, in ns.
    pub unix_ns: i128,
    /// [`crate::ir::OUTLIER_COLUMNS`] but `nsecs`, then the probe's fields, by name.
    pub columns: Vec<(String, Value)>,
    /// The kernel stack's return addresses, innermost first (filled in by the runtime from the stack map).
    pub frames: Vec<u64>,
}

impl Outlier {
    /// The value of a column.
    pub(super) fn column(&self, name: &str) -> Option<&Value> {
        self.columns.iter().find(|(column, _)| column == name).map(|(_, value)| value)
    }
}

/// Turns records into events with the script's printf formats, time formats and outlier layouts.
pub(super) struct EventDecoder<'a> {
    printfs: &'a [PrintfInfo],
    time_formats: &'a [String],
    outliers: &'a [OutlierInfo],
    kernel: &'a dyn KernelInfo,
    symbols: &'a dyn Symbolizer,
    clock: WallClock,
}

/// Reads the frames of a stack id from the stack map of stacks of the given depth: `read(frames, id)`.
pub(super) type StackReader<'r, E> = dyn FnMut(u32, u32) -> Result<Vec<u64>, E> + 'r;

impl<'a> EventDecoder<'a> {
    /// A decoder of the events of a script with these tables; `kernel` names `ksym()` addresses, `symbols` the
    /// frames of stacks printed with printf.
    pub(super) fn new(
        printfs: &'a [PrintfInfo],
        time_formats: &'a [String],
        outliers: &'a [OutlierInfo],
        kernel: &'a dyn KernelInfo,
        symbols: &'a dyn Symbolizer,
    ) -> EventDecoder<'a> {
        EventDecoder { printfs, time_formats, outliers, kernel, symbols, clock: WallClock::new() }
    }

    /// Decodes one record, reading the stacks that printf prints with `stacks`; `Ok(None)` for records that
    /// match no format (truncated or foreign).
    pub(super) fn decode<E>(&self, record: &[u8], stacks: &mut StackReader<'_, E>) -> Result<Option<Event>, E> {
        let Some(id) = record.get(..8).and_then(|bytes| bytes.try_into().ok()).map(u64::from_le_bytes) else {
            return Ok(None);
        };
        if id == EXIT_EVENT {
            let code = record.get(8..16).and_then(|bytes| bytes.try_into().ok()).map_or(0, i64::from_le_bytes);
            return Ok(Some(Event::Exit(code)));
        }
        if let Some(map_event) = MapEvent::from_id(id) {
            return Ok(Some(Event::Map(map_event)));
        }
        match TableEvent::from_id(id) {
            Some(TableEvent::Time(index)) => {
                let text = self.time_formats.get(index).map(|format| format_time(format, WallClock::now_ns()));
                return Ok(text.map(Event::Time));
            }
            Some(TableEvent::Outlier(index)) => {
                return Ok(self.outliers.get(index).and_then(|info| self.outlier(info, &record[8..])))
            }
            None => {}
        }
        let Some(info) = usize::try_from(id).ok().and_then(|id| self.printfs.get(id)) else { return Ok(None) };
        let Some(values) = self.values(&info.args, &record[8..]) else { return Ok(None) };
        let mut resolved = Vec::with_capacity(values.len());
        for value in values {
            resolved.push(self.resolve_stacks(value, stacks)?);
        }
        match info.action {
            PrintfAction::Value => return Ok(resolved.pop().map(Event::Value)),
            PrintfAction::Join => return Ok(Some(Event::Printf(joined(&info.format, resolved)))),
            _ => {}
        }
        let args: Vec<Arg> = resolved
            .into_iter()
            .map(|value| match value {
                Value::Text(text) => Arg::Str(text),
                Value::Bytes(bytes) => Arg::Bytes(bytes),
                Value::Signed(value) => Arg::Int(value as u64),
                Value::Bool(value) => Arg::Named { bits: u64::from(value), name: value.to_string() },
                Value::Enum { value, names } => Arg::Named { bits: value as u64, name: names.text(value) },
                Value::Unsigned(value)
                | Value::Duration(value)
                | Value::Address(value)
                | Value::Stack { raw: value, .. } => Arg::Int(value),
                // `%s` of an array prints its elements, as print() does.
                Value::Array(_) => Arg::Str(super::output::value_text(&value)),
                // printf takes no tuple (sema refuses it); print() of one returned above.
                Value::Tuple(_) | Value::Record(_) => Arg::Str(String::new()),
            })
            .collect();
        let text = info.format.render(&args);
        Ok(Some(match info.action {
            PrintfAction::System => Event::System(text),
            PrintfAction::Cat => Event::Cat(text),
            PrintfAction::Error => Event::Error(info.site.render("ERROR", &text)),
            PrintfAction::Warning => Event::Warning(info.site.render("WARNING", &text)),
            PrintfAction::Print | PrintfAction::Value | PrintfAction::Join => Event::Printf(text),
        }))
    }

    /// A value with its stacks (in a tuple too) read and symbolized into text.
    fn resolve_stacks<E>(&self, value: Value, stacks: &mut StackReader<'_, E>) -> Result<Value, E> {
        Ok(match value {
            Value::Stack { kind, raw } => {
                let mut stack = FieldValue::StackId { kind, raw };
                stack.resolve_stack(stacks)?;
                Value::Text(stack.to_text(self.symbols))
            }
            Value::Tuple(elements) => Value::Tuple(
                elements.into_iter().map(|element| self.resolve_stacks(element, stacks)).collect::<Result<_, E>>()?,
            ),
            Value::Record(fields) => Value::Record(
                fields
                    .into_iter()
                    .map(|(name, value)| Ok((name, self.resolve_stacks(value, stacks)?)))
                    .collect::<Result<_, E>>()?,
            ),
            value => value,
        })
    }

    fn outlier(&self, info: &OutlierInfo, bytes: &[u8]) -> Option<Event> {
        let types: Vec<Type> = info.columns.iter().map(|(_, ty)| *ty).collect();
        let mut values = self.values(&types, bytes)?.into_iter();
        let Some(Value::Unsigned(nsecs)) = values.next() else { return None };
        let names = info.columns.iter().skip(1).map(|(name, _)| name.clone());
        Some(Event::Outlier(Outlier {
            probe: info.probe.clone(),
            threshold: info.threshold,
            unix_ns: self.clock.unix_ns(nsecs),
            columns: names.zip(values).collect(),
            frames: Vec::new(),
        }))
    }

    /// Decodes values of `types` laid out one after another.
    fn values(&self, types: &[Type], bytes: &[u8]) -> Option<Vec<Value>> {
        let mut offset = 0;
        let mut values = Vec::with_capacity(types.len());
        for ty in types {
            let size = ty.size() as usize;
            let field = bytes.get(offset..offset + size)?;
            offset += size;
            let word = || field.try_into().ok().map(u64::from_le_bytes);
            values.push(match ty {
                Type::Str(_) => Value::Text(c_string(field)),
                Type::Ipv4 | Type::Ipv6 => Value::Text(format_inet(field)),
                Type::Inet => Value::Text(format_inet_family(field)),
                Type::Buf(len) => Value::Bytes(field[..field.len().min(*len as usize)].to_vec()),
                Type::Symbol => Value::Text(match self.kernel.symbolize(word()?) {
                    Some(symbol) => symbol.name,
                    None => format!("0x{:x}", word()?),
                }),
                Type::UserSymbol => {
                    let (address, pid) = field.split_at(8);
                    let word = |bytes: &[u8]| bytes.try_into().ok().map(u64::from_le_bytes);
                    Value::Text(self.symbols.user_symbol(word(pid)? as u32, word(address)?))
                }
                Type::CgroupPath(filter) => Value::Text(self.symbols.cgroup_path(word()?, *filter)),
                Type::UserName => Value::Text(self.symbols.user_name(word()? as u32)),
                Type::Culprit => Value::Text(format_culprit(word()?, self.symbols)),
                Type::Timestamp(format) => Value::Text(format.render(self.clock.unix_ns(word()?))),
                Type::Duration => Value::Duration(word()?),
                Type::Int { signed: true } => Value::Signed(word()? as i64),
                Type::Bool => Value::Bool(word()? != 0),
                Type::Enum(names) => Value::Enum { value: word()? as i64, names: *names },
                Type::Name(names) => Value::Text(names.text(word()? as i64)),
                Type::Stack(kind) => Value::Stack { kind: *kind, raw: word()? },
                Type::Tuple(tuple) => {
                    let elements = self.values(tuple.elements(), field)?;
                    match tuple.names() {
                        Some(names) => Value::Record(names.iter().copied().zip(elements).collect()),
                        None => Value::Tuple(elements),
                    }
                }
                Type::Array(array) => Value::Array(
                    array
                        .values(field)
                        .into_iter()
                        .map(|element| match element {
                            FieldValue::Int(value) => Value::Signed(value),
                            FieldValue::Bool(value) => Value::Bool(value),
                            FieldValue::Uint(value) => Value::Unsigned(value),
                            element => Value::Text(element.to_text(self.symbols)),
                        })
                        .collect(),
                ),
                Type::Pointer(_) => Value::Address(word()?),
                Type::Int { signed: false } | Type::Instant | Type::Void => Value::Unsigned(word()?),
            });
        }
        Some(values)
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `join()`'s line: the strings the kernel read (the first value counts them), separated by the format's text.
fn joined(separator: &Format, values: Vec<Value>) -> String {
    let mut values = values.into_iter();
    let count = match values.next() {
        Some(Value::Unsigned(count)) => count as usize,
        _ => 0,
    };
    let strings: Vec<String> = values
        .take(count)
        .map(|value| match value {
            Value::Text(text) => text,
            _ => String::new(),
        })
        .collect();
    let mut line = strings.join(&separator.render(&[]));
    line.push('\n');
    line
}

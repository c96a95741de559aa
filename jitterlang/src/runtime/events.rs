//! Decoding of ring-buffer records: `[u64 id][values]`.

use super::clock::{format_time, WallClock};
use crate::codegen::{MapEvent, TableEvent, EXIT_EVENT};
use crate::ir::{OutlierInfo, PrintfAction, PrintfInfo, Type};
use crate::printf::Arg;
use jitterlib::kernel::KernelInfo;

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Event {
    /// `exit()` was called.
    Exit,
    /// A rendered printf line.
    Printf(String),
    /// A rendered `system()` command, to run.
    System(String),
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
    /// Nanoseconds.
    Duration(u64),
    /// A string, a resolved kernel symbol or a formatted time.
    Text(String),
    /// A kernel stack id (negative: none recorded).
    Stack(i64),
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
    clock: WallClock,
}

impl<'a> EventDecoder<'a> {
    pub(super) fn new(
        printfs: &'a [PrintfInfo],
        time_formats: &'a [String],
        outliers: &'a [OutlierInfo],
        kernel: &'a dyn KernelInfo,
    ) -> EventDecoder<'a> {
        EventDecoder { printfs, time_formats, outliers, kernel, clock: WallClock::new() }
    }

    /// Decodes one record; None for records that match no format (truncated or foreign).
    pub(super) fn decode(&self, record: &[u8]) -> Option<Event> {
        let id = u64::from_le_bytes(record.get(..8)?.try_into().ok()?);
        if id == EXIT_EVENT {
            return Some(Event::Exit);
        }
        if let Some(map_event) = MapEvent::from_id(id) {
            return Some(Event::Map(map_event));
        }
        match TableEvent::from_id(id) {
            Some(TableEvent::Time(index)) => {
                let format = self.time_formats.get(index)?;
                return Some(Event::Time(format_time(format, WallClock::now_ns())));
            }
            Some(TableEvent::Outlier(index)) => return self.outlier(self.outliers.get(index)?, &record[8..]),
            None => {}
        }
        let info = self.printfs.get(usize::try_from(id).ok()?)?;
        let args = self
            .values(&info.args, &record[8..])?
            .into_iter()
            .map(|value| match value {
                Value::Text(text) => Arg::Str(text),
                Value::Signed(value) => Arg::Int(value as u64),
                Value::Unsigned(value) | Value::Duration(value) => Arg::Int(value),
                Value::Stack(id) => Arg::Int(id as u64),
            })
            .collect::<Vec<_>>();
        let text = info.format.render(&args);
        Some(match info.action {
            PrintfAction::Print => Event::Printf(text),
            PrintfAction::System => Event::System(text),
        })
    }

    fn outlier(&self, info: &OutlierInfo, bytes: &[u8]) -> Option<Event> {
        let types: Vec<Type> = info.columns.iter().map(|(_, ty)| *ty).collect();
        let mut values = self.values(&types, bytes)?.into_iter();
        let Some(Value::Duration(nsecs)) = values.next() else { return None };
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
                Type::Ipv4 | Type::Ipv6 => Value::Text(jitterlib::agg::format_inet(field)),
                Type::Symbol => Value::Text(match self.kernel.symbolize(word()?) {
                    Some(symbol) => symbol.name,
                    None => format!("0x{:x}", word()?),
                }),
                Type::Timestamp(format) => {
                    let format = self.time_formats.get(*format as usize)?;
                    Value::Text(format_time(format, self.clock.unix_ns(word()?)))
                }
                Type::Duration => Value::Duration(word()?),
                Type::Int { signed: true } => Value::Signed(word()? as i64),
                Type::KernelStack => Value::Stack(word()? as i64),
                Type::Int { signed: false } | Type::Pointer(_) | Type::Void => Value::Unsigned(word()?),
            });
        }
        Some(values)
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

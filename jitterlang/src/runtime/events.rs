//! Decoding of ring-buffer records: `[u64 id][arguments]`.

use crate::codegen::{MapEvent, EXIT_EVENT};
use crate::ir::{PrintfInfo, Type};
use crate::printf::Arg;
use jitterlib::kernel::KernelInfo;

/// A decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// `exit()` was called.
    Exit,
    /// A rendered printf line.
    Printf(String),
    /// `print`, `clear` or `zero` of a map.
    Map(MapEvent),
}

/// Turns records into events with the script's printf formats.
pub(super) struct EventDecoder<'a> {
    printfs: &'a [PrintfInfo],
    kernel: &'a dyn KernelInfo,
}

impl<'a> EventDecoder<'a> {
    pub(super) fn new(printfs: &'a [PrintfInfo], kernel: &'a dyn KernelInfo) -> EventDecoder<'a> {
        EventDecoder { printfs, kernel }
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
        let info = self.printfs.get(usize::try_from(id).ok()?)?;
        let mut offset = 8;
        let mut args = Vec::with_capacity(info.args.len());
        for ty in &info.args {
            let size = ty.size() as usize;
            let bytes = record.get(offset..offset + size)?;
            offset += size;
            args.push(match ty {
                Type::Str(_) => Arg::Str(c_string(bytes)),
                Type::Ipv4 | Type::Ipv6 => Arg::Str(jitterlib::agg::format_inet(bytes)),
                Type::Symbol => {
                    let address = u64::from_le_bytes(bytes.try_into().ok()?);
                    match self.kernel.symbolize(address) {
                        Some(symbol) => Arg::Str(symbol.name),
                        None => Arg::Str(format!("0x{address:x}")),
                    }
                }
                _ => Arg::Int(u64::from_le_bytes(bytes.try_into().ok()?)),
            });
        }
        Some(Event::Printf(info.format.render(&args)))
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

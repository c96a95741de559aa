//! JSON text laid out byte for byte as bpftrace 0.27 writes its `-f json` lines.
//!
//! bpftrace spaces objects and not arrays: `{"type": "hist", "data": {"@h": [{"min": 0, "max": 0, "count": 1},{...}]}}`.
//! Integers a 64-bit float cannot hold exactly are written as strings, as RFC 8259 advises and bpftrace does
//! (`"18446744073709551615"`), so that consumers parsing numbers as doubles never read a rounded value.
//! Members keep their insertion order (serde_json's `preserve_order`): `type` first, then `data`.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, Serializer};
use serde_json::Value;
use std::io::{self, Write};

/// `value` as one line of bpftrace-style JSON (without the newline).
pub fn json_line(value: &Value) -> String {
    let mut bytes = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut bytes, BpftraceFormatter::default());
    value.serialize(&mut serializer).expect("serializing a JSON value into memory cannot fail");
    String::from_utf8(bytes).expect("serde_json writes UTF-8")
}

/// serde_json's compact layout with bpftrace's spacing, number and escape rules.
#[derive(Default)]
struct BpftraceFormatter {
    /// Per open object, whether it is written unspaced: bpftrace writes a `tseries` point,
    /// `{"interval_start":"...","value":3}`, by hand, without the spaces of its other objects.
    unspaced: Vec<bool>,
    /// The first key of the innermost object while it is written, to recognize a `tseries` point.
    first_key: Option<String>,
}

/// The first member of a `tseries` point, the one object bpftrace writes unspaced.
const TSERIES_POINT_KEY: &str = "interval_start";

/// 2^63 and 2^64 as floats: conversions at or past them do not come back (C++ gives an unspecified value there,
/// which bpftrace's round-trip test then sees as different).
const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_TO_64: f64 = 18_446_744_073_709_551_616.0;

impl BpftraceFormatter {
    fn spaced(&self) -> bool {
        !self.unspaced.last().copied().unwrap_or(false)
    }
}

impl Formatter for BpftraceFormatter {
    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.unspaced.push(false);
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.unspaced.pop();
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            self.first_key = Some(String::new());
            Ok(())
        } else if self.spaced() {
            writer.write_all(b", ")
        } else {
            writer.write_all(b",")
        }
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if let Some(key) = &mut self.first_key {
            key.push_str(fragment);
        }
        writer.write_all(fragment.as_bytes())
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if let Some(key) = self.first_key.take() {
            if let Some(unspaced) = self.unspaced.last_mut() {
                *unspaced = key == TSERIES_POINT_KEY;
            }
        }
        if self.spaced() {
            writer.write_all(b": ")
        } else {
            writer.write_all(b":")
        }
    }

    fn write_u64<W: ?Sized + Write>(&mut self, writer: &mut W, value: u64) -> io::Result<()> {
        let float = value as f64;
        if float >= TWO_TO_64 || float as u64 != value {
            write!(writer, "\"{value}\"")
        } else {
            write!(writer, "{value}")
        }
    }

    fn write_i64<W: ?Sized + Write>(&mut self, writer: &mut W, value: i64) -> io::Result<()> {
        let float = value as f64;
        if float >= TWO_TO_63 || float as i64 != value {
            write!(writer, "\"{value}\"")
        } else {
            write!(writer, "{value}")
        }
    }

    fn write_char_escape<W: ?Sized + Write>(&mut self, writer: &mut W, escape: CharEscape) -> io::Result<()> {
        // bpftrace has short escapes for `"`, `\`, newline, return and tab only; other control characters are
        // written as \u00XX.
        match escape {
            CharEscape::Backspace => writer.write_all(b"\\u0008"),
            CharEscape::FormFeed => writer.write_all(b"\\u000c"),
            CharEscape::AsciiControl(byte) => write!(writer, "\\u{byte:04x}"),
            CharEscape::Quote => writer.write_all(b"\\\""),
            CharEscape::ReverseSolidus => writer.write_all(b"\\\\"),
            CharEscape::LineFeed => writer.write_all(b"\\n"),
            CharEscape::CarriageReturn => writer.write_all(b"\\r"),
            CharEscape::Tab => writer.write_all(b"\\t"),
            CharEscape::Solidus => writer.write_all(b"/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_spaced_and_arrays_are_not() {
        let value = json!({"type": "hist", "data": {"@h": [{"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 2}]}});
        assert_eq!(
            json_line(&value),
            r#"{"type": "hist", "data": {"@h": [{"min": 0, "max": 0, "count": 1},{"min": 1, "max": 1, "count": 2}]}}"#
        );
        assert_eq!(
            json_line(&json!({"type": "value", "data": [1, "b", []]})),
            r#"{"type": "value", "data": [1,"b",[]]}"#
        );
    }

    #[test]
    fn tseries_points_are_unspaced_as_bpftrace_writes_them() {
        let value = json!({"type": "tseries", "data": {"@t": [{"interval_start": "05:34:48", "value": 5}, {"interval_start": "05:34:49", "value": {"a": 1}}]}});
        assert_eq!(
            json_line(&value),
            r#"{"type": "tseries", "data": {"@t": [{"interval_start":"05:34:48","value":5},{"interval_start":"05:34:49","value":{"a": 1}}]}}"#
        );
    }

    #[test]
    fn integers_past_a_double_are_strings() {
        assert_eq!(
            json_line(&json!([u64::MAX, i64::MAX, i64::MIN, 1u64 << 53, (1u64 << 53) + 1, -5])),
            r#"["18446744073709551615","9223372036854775807",-9223372036854775808,9007199254740992,"9007199254740993",-5]"#
        );
    }

    #[test]
    fn control_characters_are_escaped_as_bpftrace_does() {
        assert_eq!(json_line(&json!("a\"\\\n\r\t\u{8}\u{c}\u{1}/é")), r#""a\"\\\n\r\t\u0008\u000c\u0001/é""#);
    }
}

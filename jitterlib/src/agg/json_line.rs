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
    let mut serializer = Serializer::with_formatter(&mut bytes, BpftraceFormatter);
    value.serialize(&mut serializer).expect("serializing a JSON value into memory cannot fail");
    String::from_utf8(bytes).expect("serde_json writes UTF-8")
}

/// serde_json's compact layout with bpftrace's spacing, number and escape rules.
struct BpftraceFormatter;

/// 2^63 and 2^64 as floats: conversions at or past them do not come back (C++ gives an unspecified value there,
/// which bpftrace's round-trip test then sees as different).
const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_TO_64: f64 = 18_446_744_073_709_551_616.0;

impl Formatter for BpftraceFormatter {
    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
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

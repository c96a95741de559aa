//! `printf` formats: parsed and checked at compile time, rendered in user space from event bytes.

use jitterlib::agg::EnumNames;

/// What a conversion expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKind {
    /// `%d %i` (and `%ld %lld`): signed decimal.
    Signed,
    /// `%u` (and `%lu %llu`): unsigned decimal.
    Unsigned,
    /// `%x`: lowercase hex.
    Hex,
    /// `%X`: uppercase hex.
    HexUpper,
    /// `%o`: octal.
    Octal,
    /// `%p`: pointer, `0x` hex.
    Pointer,
    /// `%c`: one character.
    Char,
    /// `%s`: string.
    Str,
    /// `%r`, `%rx`, `%rh`: a `buf()` buffer.
    Bytes(BytesStyle),
    /// `%gr`: GFP flags by name (`GFP_KERNEL|__GFP_ZERO`), with the kernel's table ([`Format::gfp_names`]).
    GfpFlags,
}

/// How a printf conversion prints a `buf()` buffer (bpftrace's three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesStyle {
    /// `%r`: printable ASCII as is, other bytes as `\xNN`.
    Text,
    /// `%rx`: every byte as `\xNN`.
    Escaped,
    /// `%rh`: every byte as two hex digits, separated by spaces.
    Hex,
}

/// One conversion with its flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv {
    /// What it prints.
    pub kind: ConvKind,
    /// `-`: left-justify.
    pub left: bool,
    /// `0`: pad with zeros.
    pub zero: bool,
    /// Minimum width.
    pub width: usize,
    /// Bits of the integer printed, as C and bpftrace 0.27 size them: 32 for `%d %i %u %x %X %o` without a length
    /// modifier (an `int`), 8 for `hh`, 16 for `h`, 64 for `l ll z j t` and for `%p`.
    pub bits: u32,
}

/// A piece of a format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text printed as is.
    Text(String),
    /// A conversion consuming one argument.
    Conv(Conv),
}

/// A parsed format string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format {
    /// The pieces in order.
    pub pieces: Vec<Piece>,
    /// The kernel's GFP flag names for `%gr` (the checker reads them from the kernel; without them `%gr` prints
    /// the mask in hex).
    pub gfp_names: Option<EnumNames>,
}

/// An argument value decoded from an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// An integer (its bits; the conversion decides signedness).
    Int(u64),
    /// A value with a name (a bool's `true`, an enum's `ONE`): the name with `%s`, the integer otherwise.
    Named {
        /// The integer.
        bits: u64,
        /// The name.
        name: String,
    },
    /// A string.
    Str(String),
    /// The bytes of a `buf()`.
    Bytes(Vec<u8>),
}

/// Why a format string is not accepted: the message and the byte offset in the format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormatError {
    /// What is wrong.
    pub message: String,
    /// Byte offset of the offending `%` in the format text.
    pub offset: usize,
}

impl Format {
    /// Parses a C-style format (`%d %u %x %X %p %c %s %%`, flags `-` `0`, a width, length modifiers sizing the
    /// integer as C and bpftrace do: none is 32 bits, `h hh` 16 and 8, `l ll z j t` 64), and bpftrace's `%r`,
    /// `%rx` and `%rh` for `buf()` buffers, and `%gr` for GFP flags.
    pub fn parse(text: &str) -> Result<Format, FormatError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((offset, c)) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            if chars.peek().map(|(_, c)| *c) == Some('%') {
                chars.next();
                literal.push('%');
                continue;
            }
            let mut conv = Conv { kind: ConvKind::Signed, left: false, zero: false, width: 0, bits: 64 };
            while let Some((_, flag)) = chars.peek().copied().filter(|(_, c)| *c == '-' || *c == '0') {
                if flag == '-' {
                    conv.left = true;
                } else {
                    conv.zero = true;
                }
                chars.next();
            }
            while let Some((_, digit)) = chars.peek().copied().filter(|(_, c)| c.is_ascii_digit()) {
                conv.width = conv.width.saturating_mul(10).saturating_add(digit as usize - '0' as usize).min(256);
                chars.next();
            }
            let mut modifier = String::new();
            while let Some((_, c)) = chars.peek().copied().filter(|(_, c)| matches!(c, 'l' | 'h' | 'z' | 'j' | 't')) {
                modifier.push(c);
                chars.next();
            }
            conv.kind = match chars.next().map(|(_, c)| c) {
                Some('d' | 'i') => ConvKind::Signed,
                Some('u') => ConvKind::Unsigned,
                Some('x') => ConvKind::Hex,
                Some('X') => ConvKind::HexUpper,
                Some('o') => ConvKind::Octal,
                Some('p') => ConvKind::Pointer,
                Some('c') => ConvKind::Char,
                Some('s') => ConvKind::Str,
                Some('r') => ConvKind::Bytes(match chars.peek().map(|(_, c)| *c) {
                    Some('x') => {
                        chars.next();
                        BytesStyle::Escaped
                    }
                    Some('h') => {
                        chars.next();
                        BytesStyle::Hex
                    }
                    _ => BytesStyle::Text,
                }),
                Some('g') if chars.peek().map(|(_, c)| *c) == Some('r') => {
                    chars.next();
                    ConvKind::GfpFlags
                }
                Some(other) => return Err(FormatError { message: format!("unknown conversion `%{other}`"), offset }),
                None => return Err(FormatError { message: "format ends inside a conversion".into(), offset }),
            };
            conv.bits = match (conv.kind, modifier.as_str()) {
                (ConvKind::Signed | ConvKind::Unsigned | ConvKind::Hex | ConvKind::HexUpper | ConvKind::Octal, "") => {
                    32
                }
                (_, "hh") => 8,
                (_, "h") => 16,
                _ => 64,
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Conv(conv));
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Format { pieces, gfp_names: None })
    }

    /// The conversions, in order.
    pub fn conversions(&self) -> impl Iterator<Item = &Conv> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Conv(conv) => Some(conv),
            Piece::Text(_) => None,
        })
    }

    /// Renders with decoded arguments (one per conversion; missing ones print as empty).
    pub fn render(&self, args: &[Arg]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Conv(conv) => {
                    let text = match (conv.kind, args.next()) {
                        (ConvKind::GfpFlags, Some(Arg::Int(bits) | Arg::Named { bits, .. })) => match self.gfp_names {
                            Some(names) => names.flags_text(*bits),
                            None => format!("0x{bits:x}"),
                        },
                        (_, arg) => arg.map(|arg| convert(conv.kind, &narrow(conv, arg))).unwrap_or_default(),
                    };
                    pad(&mut out, conv, &text);
                }
            }
        }
        out
    }
}

/// The integer cut to the conversion's bits: sign-extended for `%d`, masked for the others, so that `%hhd` of
/// 255 prints -1 and `%hhx` of -1 prints `ff`.
fn narrow<'a>(conv: &Conv, arg: &'a Arg) -> std::borrow::Cow<'a, Arg> {
    match arg {
        Arg::Int(value) if conv.bits < 64 => {
            let shift = 64 - conv.bits;
            let cut = if conv.kind == ConvKind::Signed {
                (((*value << shift) as i64) >> shift) as u64
            } else {
                (*value << shift) >> shift
            };
            std::borrow::Cow::Owned(Arg::Int(cut))
        }
        _ => std::borrow::Cow::Borrowed(arg),
    }
}

fn convert(kind: ConvKind, arg: &Arg) -> String {
    match (kind, arg) {
        (ConvKind::Bytes(BytesStyle::Escaped), Arg::Bytes(bytes)) => {
            bytes.iter().map(|byte| format!("\\x{byte:02x}")).collect()
        }
        (ConvKind::Bytes(BytesStyle::Hex), Arg::Bytes(bytes)) => {
            bytes.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(" ")
        }
        (_, Arg::Bytes(bytes)) => jitterlib::agg::format_buf(bytes),
        (ConvKind::Str, Arg::Str(text)) => text.clone(),
        (ConvKind::Str, Arg::Named { name, .. }) => name.clone(),
        (kind, Arg::Named { bits, .. }) => convert(kind, &Arg::Int(*bits)),
        (_, Arg::Str(text)) => text.clone(),
        (ConvKind::Signed, Arg::Int(bits)) => (*bits as i64).to_string(),
        (ConvKind::Unsigned | ConvKind::Str | ConvKind::Bytes(_) | ConvKind::GfpFlags, Arg::Int(bits)) => {
            bits.to_string()
        }
        (ConvKind::Hex, Arg::Int(bits)) => format!("{bits:x}"),
        (ConvKind::HexUpper, Arg::Int(bits)) => format!("{bits:X}"),
        (ConvKind::Octal, Arg::Int(bits)) => format!("{bits:o}"),
        (ConvKind::Pointer, Arg::Int(bits)) => format!("0x{bits:x}"),
        (ConvKind::Char, Arg::Int(bits)) => char::from_u32(*bits as u32).unwrap_or('?').to_string(),
    }
}

fn pad(out: &mut String, conv: &Conv, text: &str) {
    let fill = conv.width.saturating_sub(text.chars().count());
    if conv.left {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if conv.zero
        && !matches!(conv.kind, ConvKind::Str | ConvKind::Char | ConvKind::Bytes(_) | ConvKind::GfpFlags)
    {
        let (sign, digits) = text.strip_prefix('-').map_or(("", text), |rest| ("-", rest));
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrows_to_the_length_modifier() {
        let format = Format::parse("%hhx %hhd %hx %hu %lx\n").unwrap();
        let minus_one = Arg::Int(-1i64 as u64);
        let args = [minus_one.clone(), Arg::Int(255), minus_one.clone(), Arg::Int(0x1_0005), minus_one.clone()];
        assert_eq!(format.render(&args), "ff -1 ffff 5 ffffffffffffffff\n");
        // What bpftrace 0.27.1 prints for the same format and arguments.
        let format = Format::parse("%hhx %hx %x %jx|%d %i %u %X|%ld %lld %lu %zd|%p\n").unwrap();
        let wide = Arg::Int(0x12345678abcdef);
        let args: Vec<Arg> = (0..13).map(|_| wide.clone()).collect();
        assert_eq!(
            format.render(&args),
            "ef cdef 78abcdef 12345678abcdef|2024525295 2024525295 2024525295 78ABCDEF|\
             5124095577148911 5124095577148911 5124095577148911 5124095577148911|0x12345678abcdef\n"
        );
        let format = Format::parse("%d|%x|%u|%ld|%lu|%05x\n").unwrap();
        let args: Vec<Arg> = (0..6).map(|_| minus_one.clone()).collect();
        assert_eq!(format.render(&args), "-1|ffffffff|4294967295|-1|18446744073709551615|ffffffff\n");
    }

    #[test]
    fn renders_common_conversions() {
        let format = Format::parse("%-6s|%5d|%05u|%x|%llu|%p|100%%\n").unwrap();
        let args = [
            Arg::Str("sshd".into()),
            Arg::Int(-42i64 as u64),
            Arg::Int(7),
            Arg::Int(255),
            Arg::Int(1 << 40),
            Arg::Int(0xffff),
        ];
        assert_eq!(format.render(&args), "sshd  |  -42|00007|ff|1099511627776|0xffff|100%\n");
    }

    #[test]
    fn rejects_unknown_conversion_with_offset() {
        let error = Format::parse("ok %q").unwrap_err();
        assert_eq!(error.offset, 3);
        assert_eq!(error.message, "unknown conversion `%q`");
    }

    #[test]
    fn buffers_print_in_three_styles() {
        let format = Format::parse("%r|%rx|%rh|%5r.").unwrap();
        let bytes = || Arg::Bytes(b"a\n\x01".to_vec());
        let args = [bytes(), bytes(), bytes(), Arg::Bytes(b"ok".to_vec())];
        assert_eq!(format.render(&args), "a\\x0a\\x01|\\x61\\x0a\\x01|61 0a 01|   ok.");
    }

    #[test]
    fn gfp_flags_print_by_the_kernels_names() {
        let mut format = Format::parse("%gr|%-12gr|%gr\n").unwrap();
        let args = [Arg::Int(0x1), Arg::Int(0xcc0), Arg::Int(0)];
        assert_eq!(format.render(&args), "0x1|0xcc0       |0x0\n", "no table: the mask in hex");
        let names = [(0xcc0, "GFP_KERNEL".to_string()), (0x1, "GFP_DMA".to_string())];
        format.gfp_names = Some(EnumNames::new("gfp", &names));
        assert_eq!(format.render(&args), "GFP_DMA|GFP_KERNEL  |0\n");
        assert_eq!(Format::parse("%g").unwrap_err().message, "unknown conversion `%g`");
    }

    #[test]
    fn counts_conversions() {
        assert_eq!(Format::parse("%d %s %%").unwrap().conversions().count(), 2);
    }
}

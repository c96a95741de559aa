//! Number formatting shared by the renderers and the probes' descriptions: durations with SI time units,
//! bpftrace's 1024-based size suffixes, and wall-clock times in local time.

/// Time units from the smallest up: nanoseconds per unit and the unit's name.
const TIME_UNITS: [(u128, &str); 4] = [(1, "ns"), (1_000, "us"), (1_000_000, "ms"), (1_000_000_000, "s")];

/// Suffixes for powers of 1024, as bpftrace prints histogram bounds.
const SIZE_SUFFIXES: [&str; 5] = ["K", "M", "G", "T", "P"];

/// Formats a duration in nanoseconds with the largest unit that keeps it at least 1, rounded to three
/// significant digits (at least the whole part): `0`, `950ns`, `12us`, `1.5ms`, `2.31s`, `3600s`.
///
/// Exact powers print exactly (`512us`, `1ms`), which is what histogram labels rely on. A value that
/// rounds up to 1000 of a unit moves to the next unit (`999_999` is `1ms`).
pub fn format_duration(ns: i64) -> String {
    format_wide_duration(i128::from(ns))
}

/// [`format_duration`] for bucket bounds past `i64::MAX` (the last seconds bucket of a time histogram).
pub(crate) fn format_wide_duration(ns: i128) -> String {
    if ns == 0 {
        return "0".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let magnitude = ns.unsigned_abs();
    let mut unit = TIME_UNITS.iter().filter(|(scale, _)| magnitude >= *scale).count().saturating_sub(1);
    loop {
        let (scale, name) = TIME_UNITS[unit];
        let decimals = if scale == 1 { 0 } else { 3u32.saturating_sub(digit_count(magnitude / scale)) };
        let factor = 10u128.pow(decimals);
        let scaled = (magnitude * factor + scale / 2) / scale;
        if scaled >= 1000 * factor && unit + 1 < TIME_UNITS.len() {
            unit += 1;
            continue;
        }
        let (whole, fraction) = (scaled / factor, scaled % factor);
        if fraction == 0 {
            return format!("{sign}{whole}{name}");
        }
        let fraction = format!("{fraction:0width$}", width = decimals as usize);
        return format!("{sign}{whole}.{}{name}", fraction.trim_end_matches('0'));
    }
}

/// Formats a duration in nanoseconds exactly, with the largest unit that divides it: `0`, `1500us`, `2s`,
/// `25468123456789ns`. Map keys print this way: two different keys never print alike.
pub(crate) fn format_exact_duration(ns: i64) -> String {
    if ns == 0 {
        return "0".to_string();
    }
    let magnitude = i128::from(ns).unsigned_abs();
    let (scale, name) =
        TIME_UNITS.iter().rev().find(|(scale, _)| magnitude % scale == 0).copied().unwrap_or(TIME_UNITS[0]);
    let sign = if ns < 0 { "-" } else { "" };
    format!("{sign}{}{name}", magnitude / scale)
}

/// Number of decimal digits of `n` (1 for 0).
fn digit_count(n: u128) -> u32 {
    n.checked_ilog10().map_or(1, |log| log + 1)
}

/// Formats a histogram bound like bpftrace: divided by 1024 as long as it stays whole, with the
/// matching suffix (`1024` is `1K`, `3072` is `3K`, `2^50` is `1P`, `1000` stays `1000`).
pub(crate) fn size_label(n: i128) -> String {
    let mut value = n;
    let mut suffix = "";
    for next in SIZE_SUFFIXES {
        if value == 0 || value % 1024 != 0 {
            break;
        }
        value /= 1024;
        suffix = next;
    }
    format!("{value}{suffix}")
}

/// The whole seconds of `unix_ns` (a Unix time in nanoseconds) in local time, formatted by strftime(3) with
/// `format`; empty when the format holds a NUL, the time cannot be converted, or the result exceeds 512 bytes.
pub fn local_time(format: &str, unix_ns: i128) -> String {
    let seconds = unix_ns.div_euclid(1_000_000_000) as libc::time_t;
    let Ok(format) = std::ffi::CString::new(format) else { return String::new() };
    // SAFETY: localtime_r writes into `parts`, strftime into `buffer` within its length; both get valid pointers.
    unsafe {
        let mut parts: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&seconds, &mut parts).is_null() {
            return String::new();
        }
        let mut buffer = [0u8; 512];
        let written = libc::strftime(buffer.as_mut_ptr().cast(), buffer.len(), format.as_ptr(), &parts);
        String::from_utf8_lossy(&buffer[..written]).into_owned()
    }
}

/// Formats a Unix time (ns) in local time with a strftime(3) format; `%f` is the microseconds (as in bpftrace
/// and Python), which strftime lacks.
pub fn format_time(format: &str, unix_ns: i128) -> String {
    let micros = unix_ns.rem_euclid(1_000_000_000) / 1000;
    local_time(&expand_micros(format, micros), unix_ns)
}

/// Replaces `%f` by six digits of microseconds, leaving `%%f` (a literal `%f`) alone.
fn expand_micros(format: &str, micros: i128) -> String {
    let mut out = String::with_capacity(format.len() + 4);
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str(&format!("{micros:06}")),
            Some(next) => {
                out.push('%');
                out.push(next);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_expand_but_escaped_percent_stays() {
        assert_eq!(expand_micros("%H:%M:%S.%f", 42), "%H:%M:%S.000042");
        assert_eq!(expand_micros("100%%f", 42), "100%%f");
    }

    #[test]
    fn formats_seconds_and_micros() {
        // Seconds and below do not depend on the time zone.
        assert_eq!(format_time("%S.%f", 86_407_123_456_789), "07.123456");
    }

    #[test]
    fn durations_pick_the_largest_unit_and_three_digits() {
        assert_eq!(format_duration(0), "0");
        assert_eq!(format_duration(1), "1ns");
        assert_eq!(format_duration(950), "950ns");
        assert_eq!(format_duration(999), "999ns");
        assert_eq!(format_duration(1_000), "1us");
        assert_eq!(format_duration(12_000), "12us");
        assert_eq!(format_duration(12_340), "12.3us");
        assert_eq!(format_duration(512_000), "512us");
        assert_eq!(format_duration(999_000), "999us");
        assert_eq!(format_duration(999_999), "1ms");
        assert_eq!(format_duration(1_500_000), "1.5ms");
        assert_eq!(format_duration(1_000_000), "1ms");
        assert_eq!(format_duration(2_310_000_000), "2.31s");
        assert_eq!(format_duration(3_600_000_000_000), "3600s");
        assert_eq!(format_duration(-1_500_000), "-1.5ms");
        assert_eq!(format_duration(i64::MAX), "9223372037s");
        assert_eq!(format_duration(i64::MIN), "-9223372037s");
    }

    #[test]
    fn exact_durations_keep_every_nanosecond() {
        assert_eq!(format_exact_duration(0), "0");
        assert_eq!(format_exact_duration(7), "7ns");
        assert_eq!(format_exact_duration(1_500_000), "1500us");
        assert_eq!(format_exact_duration(2_000_000_000), "2s");
        assert_eq!(format_exact_duration(25_468_123_456_789), "25468123456789ns");
        assert_eq!(format_exact_duration(25_468_123_456_000), "25468123456us");
        assert_eq!(format_exact_duration(-3_000_000), "-3ms");
        assert_eq!(format_exact_duration(i64::MIN), "-9223372036854775808ns");
    }

    #[test]
    fn size_labels_use_1024_based_suffixes() {
        assert_eq!(size_label(0), "0");
        assert_eq!(size_label(1), "1");
        assert_eq!(size_label(512), "512");
        assert_eq!(size_label(1000), "1000");
        assert_eq!(size_label(1024), "1K");
        assert_eq!(size_label(3072), "3K");
        assert_eq!(size_label(1536), "1536");
        assert_eq!(size_label(64 << 20), "64M");
        assert_eq!(size_label(1 << 50), "1P");
        assert_eq!(size_label(1 << 63), "8192P");
        assert_eq!(size_label(-2048), "-2K");
    }
}

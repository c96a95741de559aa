//! The strftime(3) format a `strftime(FORMAT, nsecs)` value prints with, in a map key or value.

/// A strftime(3) format (with bpftrace's `%f` for microseconds). Interned for the life of the process, so that it
/// is `Copy` (and so are [`ValueFormat`](super::ValueFormat) and the compiler's types that carry it): a script
/// has few time formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeFormat(&'static str);

impl TimeFormat {
    /// The format `text`.
    pub fn new(text: &str) -> TimeFormat {
        TimeFormat(crate::intern::intern(text))
    }

    /// The format as written.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// A Unix time in nanoseconds, formatted in local time.
    pub fn render(self, unix_ns: i128) -> String {
        crate::units::format_time(self.0, unix_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_interned_and_render_micros() {
        assert_eq!(TimeFormat::new("%S.%f"), TimeFormat::new("%S.%f"));
        assert_ne!(TimeFormat::new("%S"), TimeFormat::new("%S.%f"));
        // Seconds and below do not depend on the time zone.
        assert_eq!(TimeFormat::new("%S.%f").render(86_407_123_456_789), "07.123456");
    }
}

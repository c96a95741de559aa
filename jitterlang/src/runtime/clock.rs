//! Wall-clock time for events: BPF stamps events with `bpf_ktime_get_ns()` (CLOCK_MONOTONIC, every kernel since
//! 4.1); user space adds the offset between CLOCK_REALTIME and CLOCK_MONOTONIC, read once at start, and formats
//! the result in local time with strftime(3).

/// Converts monotonic nanoseconds to Unix time and formats times.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds.
    offset_ns: i128,
}

impl WallClock {
    /// Reads both clocks now.
    pub fn new() -> WallClock {
        WallClock { offset_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC) }
    }

    /// Unix time in nanoseconds of a `bpf_ktime_get_ns()` value.
    pub fn unix_ns(&self, monotonic_ns: u64) -> i128 {
        i128::from(monotonic_ns) + self.offset_ns
    }

    /// Unix time in nanoseconds now.
    pub fn now_ns() -> i128 {
        clock_ns(libc::CLOCK_REALTIME)
    }
}

impl Default for WallClock {
    fn default() -> WallClock {
        WallClock::new()
    }
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write; both clocks exist on every Linux.
    unsafe { libc::clock_gettime(clock, &mut now) };
    i128::from(now.tv_sec) * 1_000_000_000 + i128::from(now.tv_nsec)
}

/// Formats a Unix time (ns) in local time with a strftime(3) format; `%f` is the microseconds (as in bpftrace
/// and Python), which strftime lacks.
pub fn format_time(format: &str, unix_ns: i128) -> String {
    let micros = unix_ns.rem_euclid(1_000_000_000) / 1000;
    jitterlib::units::local_time(&expand_micros(format, micros), unix_ns)
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
    fn monotonic_times_map_near_now() {
        let clock = WallClock::new();
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: as in clock_ns.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let monotonic = now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64;
        assert!((clock.unix_ns(monotonic) - WallClock::now_ns()).abs() < 1_000_000_000);
    }
}

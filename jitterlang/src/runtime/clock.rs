//! Wall-clock time for events: BPF stamps events with `bpf_ktime_get_ns()` (CLOCK_MONOTONIC, every kernel since
//! 4.1); user space adds the offset between CLOCK_REALTIME and CLOCK_MONOTONIC, read once at start, and formats
//! the result in local time with strftime(3) ([`jitterlib::units::format_time`]).

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

#[cfg(test)]
mod tests {
    use super::*;

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

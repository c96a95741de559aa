//! The kernel's tick rate (`CONFIG_HZ`), which turns jiffies (timer-wheel expiry times) into nanoseconds.
//!
//! The kernel exports no HZ to user space (`sysconf(_SC_CLK_TCK)` is `USER_HZ`, always 100), so it is found in
//! order: `CONFIG_HZ=` in `/boot/config-RELEASE` (distribution kernels), then in `/proc/config.gz`
//! (`CONFIG_IKCONFIG_PROC` kernels); otherwise measured from `/proc/timer_list`, which prints the monotonic time
//! (`now at N nsecs`) and `jiffies` in one read: two reads 50 ms apart give the jiffies per second, rounded to
//! the nearest rate the kernel offers (100, 250, 300 or 1000).

use std::io::Read;
use std::time::Duration;

use flate2::read::GzDecoder;

use super::KernelError;

/// The HZ values `CONFIG_HZ` can take on the architectures we run on.
const RATES: [u32; 4] = [100, 250, 300, 1000];
const TIMER_LIST: &str = "/proc/timer_list";
/// The running kernel's own config, gzipped, on kernels built with `CONFIG_IKCONFIG_PROC`.
const PROC_CONFIG: &str = "/proc/config.gz";
/// Long enough that one jiffy of rounding cannot move the estimate to a neighbouring rate.
const MEASURE_FOR: Duration = Duration::from_millis(50);

/// The running kernel's HZ.
pub(super) fn running_hz(release: &str) -> Result<u32, KernelError> {
    let config = format!("/boot/config-{release}");
    let from_config = || std::fs::read_to_string(&config).ok().as_deref().and_then(config_hz);
    if let Some(hz) = from_config().or_else(|| proc_config().as_deref().and_then(config_hz)) {
        return Ok(hz);
    }
    let first = timer_list_clock()?;
    std::thread::sleep(MEASURE_FOR);
    let second = timer_list_clock()?;
    Ok(nearest_rate(first, second))
}

/// The text of `/proc/config.gz`, when the kernel has it.
fn proc_config() -> Option<String> {
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(PROC_CONFIG).ok()?).read_to_string(&mut text).ok()?;
    Some(text)
}

/// `CONFIG_HZ=N` in a kernel config.
fn config_hz(config: &str) -> Option<u32> {
    config.lines().find_map(|line| line.strip_prefix("CONFIG_HZ=")).and_then(|value| value.trim().parse().ok())
}

/// `(monotonic ns, jiffies)` from one read of `/proc/timer_list`.
fn timer_list_clock() -> Result<(u64, u64), KernelError> {
    let text = std::fs::read_to_string(TIMER_LIST).map_err(|source| KernelError::io(TIMER_LIST, source))?;
    parse_timer_list(&text).ok_or_else(|| KernelError::io(TIMER_LIST, std::io::ErrorKind::InvalidData.into()))
}

fn parse_timer_list(text: &str) -> Option<(u64, u64)> {
    let value = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim_start().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    Some((value("now at ")?, value("jiffies: ")?))
}

/// The rate closest to the jiffies per second between two `(ns, jiffies)` readings.
fn nearest_rate((ns0, jiffies0): (u64, u64), (ns1, jiffies1): (u64, u64)) -> u32 {
    let per_second = jiffies1.saturating_sub(jiffies0) as f64 * 1e9 / ns1.saturating_sub(ns0).max(1) as f64;
    RATES
        .into_iter()
        .min_by(|a, b| (f64::from(*a) - per_second).abs().total_cmp(&(f64::from(*b) - per_second).abs()))
        .unwrap_or(250)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_config_hz_and_timer_list() {
        assert_eq!(config_hz("# CONFIG_HZ_1000 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"), Some(250));
        assert_eq!(config_hz("CONFIG_HZ_PERIODIC=y\n"), None);
        let text = "Timer List Version: v0.10\nHRTIMER_MAX_CLOCK_BASES: 8\nnow at 3127857152693 nsecs\n\n  \
                    jiffies: 4295674197\n";
        assert_eq!(parse_timer_list(text), Some((3_127_857_152_693, 4_295_674_197)));
    }

    #[test]
    fn proc_config_gz_agrees_with_the_measured_rate() {
        // Only root reads /proc/timer_list.
        if !crate::testing::can_trace("proc_config_gz_agrees_with_the_measured_rate") {
            return;
        }
        let Some(config) = proc_config() else {
            eprintln!("SKIPPED: proc_config_gz_agrees_with_the_measured_rate: no {PROC_CONFIG} on this kernel");
            return;
        };
        let hz = config_hz(&config).expect("the kernel's own config has CONFIG_HZ");
        let first = timer_list_clock().expect("reads /proc/timer_list");
        std::thread::sleep(MEASURE_FOR);
        let second = timer_list_clock().expect("reads /proc/timer_list");
        assert_eq!(hz, nearest_rate(first, second));
    }

    #[test]
    fn one_jiffy_of_rounding_keeps_the_rate() {
        for rate in RATES {
            let jiffies = u64::from(rate) * 50 / 1000;
            for counted in [jiffies, jiffies + 1] {
                assert_eq!(nearest_rate((0, 0), (50_000_000, counted)), rate, "{counted} jiffies in 50 ms");
            }
        }
    }
}

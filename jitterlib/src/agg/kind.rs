//! The aggregation functions and what each stores per CPU.

use super::bucket::{hist_label, hist_range, lhist_label, lhist_range, timehist_label, timehist_range, BucketRange};
use super::bucket::{hist_last, HIST_MAX_BITS, TIMEHIST_LAST};
use super::quantile::{quantile_label, quantile_range, QUANTILE_LAST};
use super::AggError;

/// Most buckets an `lhist` may have between its min and max, as in bpftrace.
pub const LHIST_MAX_BUCKETS: i64 = 1000;

/// Most intervals a `tseries` keeps, as in bpftrace (`num_intervals` below one million).
pub const TSERIES_MAX_INTERVALS: i64 = 999_999;

/// How a `tseries` combines the values written in one interval (bpftrace's optional 4th argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TSeriesAgg {
    /// No 4th argument: the last value written wins.
    Last,
    /// `"avg"`: the integer mean.
    Avg,
    /// `"max"`: the largest value.
    Max,
    /// `"min"`: the smallest value.
    Min,
    /// `"sum"`: the sum of the values.
    Sum,
}

impl TSeriesAgg {
    /// The names the language accepts, in bpftrace's order.
    pub const NAMES: [&'static str; 4] = ["avg", "max", "min", "sum"];

    /// Its name as the 4th argument of `tseries()`; `None` for [`TSeriesAgg::Last`], written without one.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            TSeriesAgg::Last => None,
            TSeriesAgg::Avg => Some("avg"),
            TSeriesAgg::Max => Some("max"),
            TSeriesAgg::Min => Some("min"),
            TSeriesAgg::Sum => Some("sum"),
        }
    }

    /// The function named `name` (one of [`TSeriesAgg::NAMES`]).
    pub fn from_name(name: &str) -> Option<TSeriesAgg> {
        match name {
            "avg" => Some(TSeriesAgg::Avg),
            "max" => Some(TSeriesAgg::Max),
            "min" => Some(TSeriesAgg::Min),
            "sum" => Some(TSeriesAgg::Sum),
            _ => None,
        }
    }
}

/// An aggregation function of the language (`@x = count()`, `@h = hist(v)`, ...).
///
/// Per-CPU value layout (little-endian, one value per possible CPU):
/// - `count`: `u64` count; `sum`: `i64` sum.
/// - `min`, `max`: `[i64 value, u64 seen]`; CPUs with `seen == 0` never saw a value and are ignored.
/// - `avg`, `stats`: `[i64 sum, u64 count]`.
/// - `hist`, `timehist`, `lhist`, `quantiles`: `u64` count of the bucket whose index ends the key (see
///   [`bucket`](super::bucket)).
/// - `tseries`: `[i64 value, u64 meta, u64 epoch]` of the interval `epoch` (the clock's time divided by the
///   interval; 0 for a slot never written), kept in ring slot `epoch % intervals`, the index that ends the key.
///   `meta` is the clock's time at the last write (no aggregation: the latest CPU wins), the count (`avg`),
///   or 1 once a value is in (`min`, `max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggKind {
    /// `count()`: number of events.
    Count,
    /// `sum(v)`.
    Sum,
    /// `min(v)`.
    Min,
    /// `max(v)`.
    Max,
    /// `avg(v)`: printed as the integer mean, like bpftrace.
    Avg,
    /// `stats(v)`: count, integer mean and total.
    Stats,
    /// `hist(v)`, `hist(v, bits)`: power-of-two buckets, each split in `2^bits` (bpftrace's `k`); build it with
    /// [`AggKind::hist`].
    Hist {
        /// Sub-bucket bits, 0 to [`HIST_MAX_BITS`].
        bits: u8,
    },
    /// Power-of-two buckets within each time unit (ns, us, ms, s), for durations in nanoseconds.
    TimeHist,
    /// `quantiles(v)`: log-linear buckets (see [`quantile`](super::quantile)), printed as percentiles.
    Quantiles,
    /// `lhist(v, min, max, step)`: linear buckets; build it with [`AggKind::lhist`].
    Lhist {
        /// Lower bound of the first bucket.
        min: i64,
        /// Upper bound of the last bucket (values from here on share the overflow bucket).
        max: i64,
        /// Bucket width.
        step: i64,
    },
    /// `tseries(v, interval, n[, agg])`: the value of each of the last `n` intervals; build it with
    /// [`AggKind::tseries`].
    TSeries {
        /// Interval length in nanoseconds (at least 1).
        interval_ns: u64,
        /// How many intervals the ring keeps, 1 to [`TSERIES_MAX_INTERVALS`].
        intervals: u32,
        /// How the values of one interval combine.
        agg: TSeriesAgg,
        /// Whether intervals follow CLOCK_TAI (`bpf_ktime_get_tai_ns`, Linux 6.1), so that they start on
        /// whole multiples of the interval in wall-clock time as bpftrace's do, rather than CLOCK_MONOTONIC.
        tai: bool,
    },
}

impl AggKind {
    /// An `lhist` with bpftrace's rules: `step > 0`, `max > min` and at most [`LHIST_MAX_BUCKETS`] buckets
    /// between them. A `step` that does not divide `max - min` is allowed: the last bucket then starts at the
    /// last whole step below `max` (`lhist(v, 0, 10, 3)`: `[0, 3)` `[3, 6)` `[6, 9)` `[9, ...)`).
    pub fn lhist(min: i64, max: i64, step: i64) -> Result<AggKind, AggError> {
        if step <= 0 || max <= min {
            return Err(AggError::InvalidLhist { min, max, step });
        }
        let buckets = (i128::from(max) - i128::from(min)) / i128::from(step);
        if buckets > i128::from(LHIST_MAX_BUCKETS) {
            return Err(AggError::LhistTooManyBuckets { buckets, limit: LHIST_MAX_BUCKETS });
        }
        Ok(AggKind::Lhist { min, max, step })
    }

    /// A `hist(v, bits)` with bpftrace's rule: `bits` from 0 to [`HIST_MAX_BITS`].
    pub fn hist(bits: i64) -> Result<AggKind, AggError> {
        match u8::try_from(bits) {
            Ok(bits) if bits <= HIST_MAX_BITS => Ok(AggKind::Hist { bits }),
            _ => Err(AggError::InvalidHistBits { bits, limit: HIST_MAX_BITS }),
        }
    }

    /// A `tseries` with bpftrace's rules: an interval of at least 1 ns, 1 to [`TSERIES_MAX_INTERVALS`]
    /// intervals; `tai` picks the clock (see [`AggKind::TSeries`]).
    pub fn tseries(interval_ns: i64, intervals: i64, agg: TSeriesAgg, tai: bool) -> Result<AggKind, AggError> {
        let Ok(interval_ns @ 1..) = u64::try_from(interval_ns) else {
            return Err(AggError::InvalidTSeriesInterval { interval_ns });
        };
        match u32::try_from(intervals) {
            Ok(count) if (1..=TSERIES_MAX_INTERVALS).contains(&intervals) => {
                Ok(AggKind::TSeries { interval_ns, intervals: count, agg, tai })
            }
            _ => Err(AggError::InvalidTSeriesIntervals { intervals, limit: TSERIES_MAX_INTERVALS }),
        }
    }

    /// Bytes of one CPU's value.
    pub fn value_size(&self) -> u32 {
        match self {
            AggKind::TSeries { .. } => 24,
            AggKind::Min | AggKind::Max | AggKind::Avg | AggKind::Stats => 16,
            AggKind::Count
            | AggKind::Sum
            | AggKind::Hist { .. }
            | AggKind::TimeHist
            | AggKind::Quantiles
            | AggKind::Lhist { .. } => 8,
        }
    }

    /// Whether the map key ends with a `u64` bucket index (a `tseries`' ring slot counts as one).
    pub fn is_histogram(&self) -> bool {
        matches!(
            self,
            AggKind::Hist { .. }
                | AggKind::TimeHist
                | AggKind::Quantiles
                | AggKind::Lhist { .. }
                | AggKind::TSeries { .. }
        )
    }

    /// How many buckets a histogram has (indices 0 to the count minus one); `None` for other kinds.
    pub fn bucket_count(&self) -> Option<u64> {
        match *self {
            AggKind::Hist { bits } => Some(hist_last(bits) + 1),
            AggKind::TimeHist => Some(TIMEHIST_LAST + 1),
            AggKind::Quantiles => Some(QUANTILE_LAST + 1),
            // Below min, the (max - min) / step buckets in range, and max or above.
            AggKind::Lhist { min, max, step } => u64::try_from((i128::from(max) - i128::from(min)) / i128::from(step))
                .ok()
                .and_then(|in_range| in_range.checked_add(2)),
            AggKind::TSeries { intervals, .. } => Some(u64::from(intervals)),
            _ => None,
        }
    }

    /// The function's name in the language.
    pub fn name(&self) -> &'static str {
        match self {
            AggKind::Count => "count",
            AggKind::Sum => "sum",
            AggKind::Min => "min",
            AggKind::Max => "max",
            AggKind::Avg => "avg",
            AggKind::Stats => "stats",
            AggKind::Hist { .. } => "hist",
            AggKind::TimeHist => "timehist",
            AggKind::Quantiles => "quantiles",
            AggKind::Lhist { .. } => "lhist",
            AggKind::TSeries { .. } => "tseries",
        }
    }

    /// The call as written, with the parameters that tell two maps of the same function apart:
    /// `lhist(v, 0, 10, 1)`, `hist(v, 2)`, `tseries(v, 1s, 5, "sum")`; `count()` for the others.
    pub fn usage(&self) -> String {
        match *self {
            AggKind::Hist { bits } if bits > 0 => format!("hist(v, {bits})"),
            AggKind::Lhist { min, max, step } => format!("lhist(v, {min}, {max}, {step})"),
            AggKind::TSeries { interval_ns, intervals, agg, .. } => {
                let interval = crate::units::format_duration(interval_ns as i64);
                match agg.name() {
                    Some(name) => format!("tseries(v, {interval}, {intervals}, \"{name}\")"),
                    None => format!("tseries(v, {interval}, {intervals})"),
                }
            }
            _ => format!("{}()", self.name()),
        }
    }

    /// The values of histogram bucket `index`; `None` for other kinds and indices past the last bucket.
    pub fn bucket_range(&self, index: u64) -> Option<BucketRange> {
        match *self {
            AggKind::Hist { bits } => hist_range(index, bits),
            AggKind::TimeHist => timehist_range(index),
            AggKind::Quantiles => quantile_range(index),
            AggKind::Lhist { min, max, step } => lhist_range(index, min, max, step),
            _ => None,
        }
    }

    /// The text label of histogram bucket `index`; `None` where [`AggKind::bucket_range`] is `None`.
    pub fn bucket_label(&self, index: u64) -> Option<String> {
        match *self {
            AggKind::Hist { bits } => hist_label(index, bits),
            AggKind::TimeHist => timehist_label(index),
            AggKind::Quantiles => quantile_label(index),
            AggKind::Lhist { min, max, step } => lhist_label(index, min, max, step),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lhist_rejects_empty_or_huge_ranges_and_takes_uneven_ones() {
        assert_eq!(AggKind::lhist(0, 100, 10), Ok(AggKind::Lhist { min: 0, max: 100, step: 10 }));
        assert_eq!(AggKind::lhist(0, 25, 10), Ok(AggKind::Lhist { min: 0, max: 25, step: 10 }));
        assert_eq!(AggKind::lhist(-5, 995, 1).map(|kind| kind.bucket_count()), Ok(Some(1002)));
        assert_eq!(AggKind::lhist(0, 1001, 1), Err(AggError::LhistTooManyBuckets { buckets: 1001, limit: 1000 }));
        assert!(AggKind::lhist(0, 100, 0).is_err());
        assert!(AggKind::lhist(0, 100, -10).is_err());
        assert!(AggKind::lhist(100, 100, 1).is_err());
        assert!(AggKind::lhist(i64::MIN, i64::MAX, 1).is_err());
    }

    #[test]
    fn hist_takes_zero_to_five_bits_like_bpftrace() {
        assert_eq!(AggKind::hist(0), Ok(AggKind::Hist { bits: 0 }));
        assert_eq!(AggKind::hist(5).map(|kind| kind.bucket_count()), Ok(Some(1889)));
        assert_eq!(AggKind::hist(6), Err(AggError::InvalidHistBits { bits: 6, limit: 5 }));
        assert_eq!(AggKind::hist(-1), Err(AggError::InvalidHistBits { bits: -1, limit: 5 }));
    }

    #[test]
    fn tseries_takes_a_positive_interval_and_fewer_than_a_million_intervals() {
        let last = TSeriesAgg::Last;
        assert_eq!(
            AggKind::tseries(1_000_000_000, 5, last, true),
            Ok(AggKind::TSeries { interval_ns: 1_000_000_000, intervals: 5, agg: last, tai: true })
        );
        assert_eq!(AggKind::tseries(1, 999_999, last, false).map(|kind| kind.bucket_count()), Ok(Some(999_999)));
        assert_eq!(AggKind::tseries(0, 5, last, true), Err(AggError::InvalidTSeriesInterval { interval_ns: 0 }));
        assert_eq!(AggKind::tseries(-1, 5, last, true), Err(AggError::InvalidTSeriesInterval { interval_ns: -1 }));
        assert!(AggKind::tseries(1, 0, last, true).is_err());
        assert!(AggKind::tseries(1, 1_000_000, last, true).is_err());
        assert_eq!(TSeriesAgg::from_name("avg"), Some(TSeriesAgg::Avg));
        assert_eq!(TSeriesAgg::from_name("last"), None);
    }

    #[test]
    fn sizes_follow_the_per_cpu_layout() {
        assert_eq!(AggKind::Count.value_size(), 8);
        assert_eq!(AggKind::Min.value_size(), 16);
        assert_eq!(AggKind::Stats.value_size(), 16);
        assert_eq!(AggKind::Lhist { min: 0, max: 10, step: 1 }.value_size(), 8);
        assert!(AggKind::TimeHist.is_histogram());
        assert!(!AggKind::Avg.is_histogram());
    }
}

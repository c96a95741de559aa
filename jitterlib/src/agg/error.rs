//! What can go wrong turning raw map contents into a [`Snapshot`](super::Snapshot).

/// A map's raw contents do not match its layout, or a layout is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggError {
    /// A key has a different size than the layout's keys.
    #[error("map {map}: a key is {actual} bytes, the layout says {expected}")]
    KeySize {
        /// Map name (`@` or `@name`).
        map: String,
        /// Key size the layout describes.
        expected: u32,
        /// Key size found.
        actual: usize,
    },
    /// A value (one CPU's value for per-CPU maps) has a different size than the layout's value.
    #[error("map {map}: a value is {actual} bytes, the layout says {expected}")]
    ValueSize {
        /// Map name.
        map: String,
        /// Value size the layout describes.
        expected: u32,
        /// Value size found.
        actual: usize,
    },
    /// A plain map (`@x[k] = expr`) was read as a per-CPU map.
    #[error("map {map}: per-CPU values for a plain map, which holds one shared value per key")]
    PerCpuPlainMap {
        /// Map name.
        map: String,
    },
    /// A histogram key holds a bucket index its histogram does not have.
    #[error("map {map}: bucket {index} does not exist in a {kind} histogram")]
    BucketOutOfRange {
        /// Map name.
        map: String,
        /// Aggregation name (`hist`, `timehist`, `lhist`).
        kind: &'static str,
        /// The bucket index found.
        index: u64,
    },
    /// An integer field is not 1, 2, 4 or 8 bytes.
    #[error("map {map}: an integer field of {size} bytes (1, 2, 4 or 8 expected)")]
    IntegerSize {
        /// Map name.
        map: String,
        /// Field size in the layout.
        size: u32,
    },
    /// `lhist` parameters that make no bucket: `step <= 0` or `max <= min`.
    #[error("lhist(min {min}, max {max}, step {step}) needs min < max and a positive step")]
    InvalidLhist {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
        /// Bucket width.
        step: i64,
    },
    /// `hist(v, bits)` with `bits` outside 0 to [`HIST_MAX_BITS`](super::HIST_MAX_BITS).
    #[error("hist() takes 0 to {limit} sub-bucket bits, not {bits}")]
    InvalidHistBits {
        /// The bits asked for.
        bits: i64,
        /// The most allowed.
        limit: u8,
    },
    /// `lhist` parameters that make more buckets than [`LHIST_MAX_BUCKETS`](super::LHIST_MAX_BUCKETS).
    #[error("lhist would have {buckets} buckets, more than {limit}")]
    LhistTooManyBuckets {
        /// Buckets between min and max: `(max - min) / step`.
        buckets: i128,
        /// The most allowed.
        limit: i64,
    },
    /// A `tseries` interval below 1 ns.
    #[error("tseries() interval must be at least 1ns, not {interval_ns}")]
    InvalidTSeriesInterval {
        /// The interval asked for, in nanoseconds.
        interval_ns: i64,
    },
    /// A `tseries` number of intervals outside 1 to [`TSERIES_MAX_INTERVALS`](super::TSERIES_MAX_INTERVALS).
    #[error("tseries() keeps 1 to {limit} intervals, not {intervals}")]
    InvalidTSeriesIntervals {
        /// The number asked for.
        intervals: i64,
        /// The most allowed.
        limit: i64,
    },
}

//! `quantiles(v)`: percentiles from log-linear buckets.
//!
//! Values below 16 have a bucket each (exact). From 16 on, each power of two `[2^k, 2^(k+1))` is split into
//! 16 equal sub-buckets of width `2^(k-4)`: index `16 * (k - 3) + s`, where `s` is the 4 bits after the
//! leading one. Negative values count in bucket 0. A percentile is reported as the largest value of the
//! bucket holding it, so the reported value `r` and the true value `v` satisfy `v <= r < v * (1 + 1/16)`:
//! **at most 6.25 % above, never below** (exact below 16). The BPF side computes the same index.

use super::bucket::BucketRange;
use super::value::Histogram;

/// Bits of the sub-bucket index within a power of two.
pub const SUB_BUCKET_BITS: u32 = 4;
/// Sub-buckets per power of two (and the number of exact buckets below it).
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Highest index (`2^62 + 15 * 2^58 <= v <= i64::MAX`).
pub const QUANTILE_LAST: u64 = SUB_BUCKETS * (62 - SUB_BUCKET_BITS as u64 + 1) + SUB_BUCKETS - 1;

/// The percentiles printed, as (label, numerator, denominator).
pub const PERCENTILES: [(&str, u64, u64); 4] =
    [("p50", 50, 100), ("p90", 90, 100), ("p99", 99, 100), ("p99.9", 999, 1000)];

/// The bucket index of `v`.
pub fn quantile_bucket(v: i64) -> u64 {
    if v < SUB_BUCKETS as i64 {
        return v.max(0) as u64;
    }
    let v = v as u64;
    let k = u64::from(63 - v.leading_zeros());
    let sub = (v >> (k - u64::from(SUB_BUCKET_BITS))) & (SUB_BUCKETS - 1);
    SUB_BUCKETS * (k - u64::from(SUB_BUCKET_BITS) + 1) + sub
}

/// The values bucket `index` holds; `None` past the last bucket.
pub fn quantile_range(index: u64) -> Option<BucketRange> {
    if index > QUANTILE_LAST {
        return None;
    }
    if index < SUB_BUCKETS {
        let v = i128::from(index);
        return Some(BucketRange { lower: if index == 0 { None } else { Some(v) }, upper: Some(v + 1) });
    }
    let k = index / SUB_BUCKETS + u64::from(SUB_BUCKET_BITS) - 1;
    let width = 1i128 << (k - u64::from(SUB_BUCKET_BITS));
    let lower = (1i128 << k) + i128::from(index % SUB_BUCKETS) * width;
    Some(BucketRange { lower: Some(lower), upper: Some(lower + width) })
}

/// The label of bucket `index`: its inclusive bounds.
pub fn quantile_label(index: u64) -> Option<String> {
    let range = quantile_range(index)?;
    let upper = range.upper.unwrap_or(i128::MAX) - 1;
    Some(match range.lower {
        Some(lower) if lower != upper => format!("[{lower}, {upper}]"),
        _ => format!("[{upper}]"),
    })
}

/// What `quantiles()` prints for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantileSummary {
    /// Number of values.
    pub count: u64,
    /// Each of [`PERCENTILES`] with its value (the largest value of its bucket).
    pub percentiles: Vec<(&'static str, i64)>,
    /// The largest value of the highest non-empty bucket.
    pub max: i64,
}

/// The percentiles of merged quantile buckets; `None` when there is no value.
pub fn summarize(histogram: &Histogram) -> Option<QuantileSummary> {
    let buckets = histogram.visible_buckets();
    let count = histogram.total();
    if count == 0 {
        return None;
    }
    let top = |index: u64| {
        let upper = quantile_range(index).and_then(|range| range.upper).unwrap_or(i128::from(i64::MAX));
        i64::try_from(upper - 1).unwrap_or(i64::MAX)
    };
    let percentiles = PERCENTILES
        .iter()
        .map(|&(label, numerator, denominator)| {
            // The smallest bucket whose cumulative count reaches ceil(count * q).
            let rank = (u128::from(count) * u128::from(numerator)).div_ceil(u128::from(denominator)).max(1);
            let mut seen = 0u128;
            let bucket = buckets
                .iter()
                .find(|(_, n)| {
                    seen += u128::from(*n);
                    seen >= rank
                })
                .map_or(0, |(bucket, _)| *bucket);
            (label, top(bucket))
        })
        .collect();
    let max = buckets.last().map_or(0, |(bucket, _)| top(*bucket));
    Some(QuantileSummary { count, percentiles, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_16_and_log_linear_above() {
        for v in 0..16 {
            assert_eq!(quantile_bucket(v), v as u64);
        }
        assert_eq!(quantile_bucket(-5), 0);
        assert_eq!(quantile_bucket(16), 16);
        assert_eq!(quantile_bucket(17), 17);
        assert_eq!(quantile_bucket(31), 31);
        assert_eq!(quantile_bucket(32), 32);
        assert_eq!(quantile_bucket(33), 32);
        assert_eq!(quantile_bucket(34), 33);
        assert_eq!(quantile_bucket(1_000_000), 16 * 16 + ((1_000_000 >> 15) & 15));
        assert_eq!(quantile_bucket(i64::MAX), QUANTILE_LAST);
        assert_eq!(quantile_range(33), Some(BucketRange { lower: Some(34), upper: Some(36) }));
        assert_eq!(quantile_label(33).as_deref(), Some("[34, 35]"));
    }

    #[test]
    fn every_value_lies_in_its_bucket_within_the_error_bound() {
        let mut v: i64 = 1;
        while v < i64::MAX / 3 {
            for probe in [v, v + 1, v * 3 / 2, v * 2 - 1] {
                let range = quantile_range(quantile_bucket(probe)).expect("range");
                let (lower, upper) = (range.lower.unwrap_or(0), range.upper.expect("upper"));
                assert!(lower <= i128::from(probe) && i128::from(probe) < upper, "{probe} outside {range:?}");
                // The reported value is upper - 1: at most 1/16 above the true value.
                assert!((upper - 1 - i128::from(probe)) * 16 <= i128::from(probe), "{probe}: {range:?}");
            }
            v *= 2;
        }
    }

    #[test]
    fn percentiles_of_known_values() {
        let mut histogram = Histogram::default();
        // 1..=1000: p50 is 500, p90 900, p99 990, p99.9 999; reported as the top of their buckets.
        for v in 1..=1000 {
            histogram.add(quantile_bucket(v), 1);
        }
        let summary = summarize(&histogram).expect("values");
        assert_eq!(summary.count, 1000);
        // 500 is in [496, 511], 900 in [896, 927], 990 in [960, 991], 999 in [992, 1023].
        assert_eq!(summary.percentiles, vec![("p50", 511), ("p90", 927), ("p99", 991), ("p99.9", 1023)]);
        assert_eq!(summary.max, 1023);
        let mut small = Histogram::default();
        for v in [3, 3, 7, 12] {
            small.add(quantile_bucket(v), 1);
        }
        let summary = summarize(&small).expect("values");
        assert_eq!(summary.percentiles, vec![("p50", 3), ("p90", 12), ("p99", 12), ("p99.9", 12)]);
        assert_eq!(summary.max, 12);
        assert_eq!(summarize(&Histogram::default()), None);
    }
}

//! Bucket indices of the histogram aggregations, the values each bucket holds, and its label.
//!
//! The BPF programs compute the same indices (the code generator mirrors these functions), so these
//! definitions are the contract between the kernel side and user space:
//!
//! | aggregation | index | values in the bucket | label |
//! |---|---|---|---|
//! | `hist(v, k)` (log2, `n = 2^k` sub-buckets per power of two) | 0 | `v < 0` | `(..., 0)` |
//! | | `1 + v`, `v` in `0..2n` | `v` | `[0]`, `[1]` |
//! | | `1 + ((p - k + 1) << k) + s`, `p = floor(log2 v)`, `s` the `k` bits after the leading one | `2^(p-k) * (n + s) <= v < 2^(p-k) * (n + s + 1)` | `[2, 4)`, `[1K, 2K)`, `[1024, 1280)` |
//! | `timehist` (log2 per time unit, `v` in ns) | 0 | `v <= 0` | `(..., 1ns)` |
//! | | `1 + 10u + j`, `u` in 0..3 (ns, us, ms), `j` in 0..10 | `2^j * 1000^u <= v < min(2^(j+1), 1000) * 1000^u` | `[16ms, 32ms)`, `[512us, 1ms)` |
//! | | `31 + j`, `j` in 0..=33 (seconds, open-ended unit) | `2^j * 10^9 <= v < 2^(j+1) * 10^9` | `[1s, 2s)` |
//! | `lhist(min, max, step)` | 0 | `v < min` | `(..., min)` |
//! | | `1 + i`, `i` in 0..n, `n = (max-min)/step` rounded down | `min + i*step <= v < min + (i+1)*step` | `[0, 10)` |
//! | | `n + 1` | `v >= min + n*step` (`max` when `step` divides `max - min`) | `[max, ...)`, `[9, ...)` |
//!
//! `hist` bounds print as bpftrace 0.27 prints them: `2^p * m` with the suffix (K, M, G, T, P, E) of the largest
//! power of 1024 in `2^p`: `[1K, 2K)` with k = 0 but `[1024, 1280)` and `[5K, 6K)` with k = 2; with k = 0 (plain `hist(v)`) every
//! bucket from 0 to 2^62 is one row of a power of two. `lhist` bounds print with 1024-based suffixes (K, M, G, T, P)
//! when they are whole multiples; `timehist` bounds print as durations. `lhist` needs `step > 0`, `max > min` and at most
//! 1000 buckets in range (see [`AggKind::lhist`](super::AggKind::lhist)); as in bpftrace, when `step` does not
//! divide `max - min` the last bucket starts below `max`: `lhist(v, 0, 10, 3)` is `[0, 3)` `[3, 6)` `[6, 9)`
//! `[9, ...)`.

use crate::units::{format_wide_duration, size_label};

/// Most sub-bucket bits `hist(v, k)` takes, as in bpftrace.
pub const HIST_MAX_BITS: u8 = 5;
/// First `timehist` index of the seconds unit.
const TIMEHIST_SECONDS: u64 = 31;
/// Highest `timehist` index (`2^33 s <= v <= i64::MAX ns`).
pub(super) const TIMEHIST_LAST: u64 = 64;
/// Nanoseconds per second.
const NS_PER_SEC: i128 = 1_000_000_000;

/// The values one histogram bucket counts: `lower <= v < upper`, `None` meaning unbounded on that side.
///
/// Bounds are `i128` so that the upper bound of the last bucket (past `i64::MAX`) is exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRange {
    /// Smallest value of the bucket; `None` for the bucket of everything below the first bound.
    pub lower: Option<i128>,
    /// First value past the bucket; `None` for the open-ended last bucket.
    pub upper: Option<i128>,
}

impl BucketRange {
    fn below(upper: i128) -> Self {
        BucketRange { lower: None, upper: Some(upper) }
    }

    fn between(lower: i128, upper: i128) -> Self {
        BucketRange { lower: Some(lower), upper: Some(upper) }
    }

    fn from(lower: i128) -> Self {
        BucketRange { lower: Some(lower), upper: None }
    }

    /// The bpftrace label: `(..., upper)`, `[lower, upper)` or `[lower, ...)`, bounds printed by `bound`.
    fn label(&self, bound: impl Fn(i128) -> String) -> String {
        match (self.lower, self.upper) {
            (Some(lower), Some(upper)) => format!("[{}, {})", bound(lower), bound(upper)),
            (None, Some(upper)) => format!("(..., {})", bound(upper)),
            (Some(lower), None) => format!("[{}, ...)", bound(lower)),
            (None, None) => "(..., ...)".to_string(),
        }
    }
}

/// The `hist(v, bits)` bucket of `v` (bpftrace's `log2(v, k)`): 0 for `v < 0`, `1 + v` below `2^(bits+1)`, then
/// `1 + ((p - bits + 1) << bits) + s` with `p = floor(log2 v)` and `s` the `bits` bits after the leading one.
pub fn hist_bucket(v: i64, bits: u8) -> u64 {
    let mask = (1u64 << bits) - 1;
    match v {
        i64::MIN..=-1 => 0,
        _ if v as u64 <= mask => v as u64 + 1,
        _ => {
            let v = v as u64;
            let shift = u64::from(v.ilog2()) - u64::from(bits);
            ((shift + 1) << bits) + ((v >> shift) & mask) + 1
        }
    }
}

/// Highest `hist(v, bits)` index: the bucket of `i64::MAX`.
pub(super) fn hist_last(bits: u8) -> u64 {
    (64 - u64::from(bits)) << bits
}

/// The first value of `hist(v, bits)` bucket `index + 1` (bpftrace's label of bucket `index`, whose upper bound it
/// is), with the text bpftrace prints for it: the number itself up to `2^(bits+1)`, else `2^p * m` with `p`'s
/// largest multiple of 10 as a suffix.
fn hist_bound(index: u64, bits: u8) -> (i128, String) {
    let n = 1u64 << bits;
    if index <= 2 * n {
        return (i128::from(index), index.to_string());
    }
    let power = (index >> bits) - 1;
    let multiple = n + (index & (n - 1));
    let decade = power / 10;
    let suffix = ["", "K", "M", "G", "T", "P", "E"][decade as usize];
    let value = i128::from(multiple) << power;
    (value, format!("{}{suffix}", i128::from(multiple) << (power - 10 * decade)))
}

/// The values of `hist(v, bits)` bucket `index`, or `None` past the last bucket.
pub fn hist_range(index: u64, bits: u8) -> Option<BucketRange> {
    match index {
        0 => Some(BucketRange::below(0)),
        _ if index <= hist_last(bits) => {
            Some(BucketRange::between(hist_bound(index - 1, bits).0, hist_bound(index, bits).0))
        }
        _ => None,
    }
}

/// The bpftrace label of `hist(v, bits)` bucket `index`: `[v]` for the buckets of one value (below `2^(bits+1)`),
/// else `[lower, upper)`.
pub fn hist_label(index: u64, bits: u8) -> Option<String> {
    match index {
        0 => Some("(..., 0)".to_string()),
        _ if index <= 2 << bits => Some(format!("[{}]", index - 1)),
        _ if index <= hist_last(bits) => {
            Some(format!("[{}, {})", hist_bound(index - 1, bits).1, hist_bound(index, bits).1))
        }
        _ => None,
    }
}

/// The `timehist` bucket of a duration `v` in nanoseconds (see the module documentation).
pub fn timehist_bucket(v: i64) -> u64 {
    if v <= 0 {
        return 0;
    }
    let mut scale = 1;
    for unit in 0..3 {
        if v < scale * 1000 {
            return 1 + 10 * unit + u64::from((v / scale).ilog2());
        }
        scale *= 1000;
    }
    TIMEHIST_SECONDS + u64::from((v / scale).ilog2())
}

/// The nanoseconds of `timehist` bucket `index`, or `None` past the last bucket (64).
pub fn timehist_range(index: u64) -> Option<BucketRange> {
    match index {
        0 => Some(BucketRange::below(1)),
        1..TIMEHIST_SECONDS => {
            let (unit, step) = ((index - 1) / 10, (index - 1) % 10);
            let scale = 1000i128.pow(unit as u32);
            let upper = if step == 9 { 1000 * scale } else { scale << (step + 1) };
            Some(BucketRange::between(scale << step, upper))
        }
        TIMEHIST_SECONDS..=TIMEHIST_LAST => {
            let step = index - TIMEHIST_SECONDS;
            Some(BucketRange::between(NS_PER_SEC << step, NS_PER_SEC << (step + 1)))
        }
        _ => None,
    }
}

/// The label of `timehist` bucket `index`, bounds as durations: `[512us, 1ms)`.
pub fn timehist_label(index: u64) -> Option<String> {
    timehist_range(index).map(|range| range.label(format_wide_duration))
}

/// The `lhist(v, min, max, step)` bucket of `v`: 0 below `min`, `1 + (v - min) / step` inside
/// `[min, max)`, `(max - min) / step + 1` from `max` on.
///
/// Parameters that [`AggKind::lhist`](super::AggKind::lhist) rejects (`step <= 0` or `max <= min`) put
/// every value in bucket 0.
pub fn lhist_bucket(v: i64, min: i64, max: i64, step: i64) -> u64 {
    if step <= 0 || max <= min || v < min {
        return 0;
    }
    let (v, min, max, step) = (i128::from(v), i128::from(min), i128::from(max), i128::from(step));
    let bucket = if v < max { 1 + (v - min) / step } else { (max - min) / step + 1 };
    bucket as u64
}

/// The values of `lhist(min, max, step)` bucket `index`, or `None` past the last bucket or for
/// parameters `lhist` rejects. The last bucket starts after the last whole step, which is `max` only when `step`
/// divides `max - min` (the BPF side puts `v` from there to `max` in it too, as bpftrace does).
pub fn lhist_range(index: u64, min: i64, max: i64, step: i64) -> Option<BucketRange> {
    if step <= 0 || max <= min {
        return None;
    }
    let (min, max, step) = (i128::from(min), i128::from(max), i128::from(step));
    let in_range = (max - min) / step;
    let index = i128::from(index);
    match index {
        0 => Some(BucketRange::below(min)),
        _ if index <= in_range => Some(BucketRange::between(min + (index - 1) * step, min + index * step)),
        _ if index == in_range + 1 => Some(BucketRange::from(min + in_range * step)),
        _ => None,
    }
}

/// The bpftrace label of `lhist(min, max, step)` bucket `index`: `(..., 0)`, `[0, 10)`, `[100, ...)`.
pub fn lhist_label(index: u64, min: i64, max: i64, step: i64) -> Option<String> {
    lhist_range(index, min, max, step).map(|range| range.label(size_label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hist_buckets_at_every_power_of_two() {
        assert_eq!(hist_bucket(i64::MIN, 0), 0);
        assert_eq!(hist_bucket(-1, 0), 0);
        assert_eq!(hist_bucket(0, 0), 1);
        assert_eq!(hist_bucket(1, 0), 2);
        assert_eq!(hist_bucket(2, 0), 3);
        assert_eq!(hist_bucket(3, 0), 3);
        assert_eq!(hist_bucket(4, 0), 4);
        for k in 1..63 {
            let power = 1i64 << k;
            assert_eq!(hist_bucket(power - 1, 0), k as u64 + 1, "2^{k}-1");
            assert_eq!(hist_bucket(power, 0), k as u64 + 2, "2^{k}");
        }
        assert_eq!(hist_bucket(i64::MAX, 0), 64);
    }

    #[test]
    fn fine_hist_buckets_follow_bpftrace_log2() {
        // bpftrace's own example: 225 = 0b11100001 with k = 2 is bucket 28.
        assert_eq!(hist_bucket(225, 2), 28);
        assert_eq!(hist_bucket(-7, 3), 0);
        assert_eq!((0..8).map(|v| hist_bucket(v, 2)).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!([8, 9, 10, 11, 12, 15, 16].map(|v| hist_bucket(v, 2)), [9, 9, 10, 10, 11, 12, 13]);
        for bits in 0..=HIST_MAX_BITS {
            assert_eq!(hist_bucket(i64::MAX, bits), hist_last(bits), "bits {bits}");
        }
        assert_eq!(hist_last(5), 1888);
    }

    #[test]
    fn hist_ranges_hold_their_values() {
        for bits in 0..=HIST_MAX_BITS {
            for v in [-5, -1, 0, 1, 2, 3, 4, 7, 63, 64, 225, 1023, 1024, 1 << 40, (1 << 40) + 12345, i64::MAX] {
                let range = hist_range(hist_bucket(v, bits), bits).expect("in range");
                let v = i128::from(v);
                let holds = range.lower.is_none_or(|lower| lower <= v) && range.upper.is_none_or(|upper| v < upper);
                assert!(holds, "{v} with {bits} bits in {range:?}");
            }
        }
        assert_eq!(hist_range(64, 0), Some(BucketRange::between(1 << 62, 1 << 63)));
        assert_eq!(hist_range(65, 0), None);
        assert_eq!(hist_range(28, 2), Some(BucketRange::between(224, 256)));
    }

    #[test]
    fn hist_labels_match_bpftrace() {
        let labels: Vec<String> = (0..6).filter_map(|i| hist_label(i, 0)).collect();
        assert_eq!(labels, ["(..., 0)", "[0]", "[1]", "[2, 4)", "[4, 8)", "[8, 16)"]);
        assert_eq!(hist_label(11, 0).as_deref(), Some("[512, 1K)"));
        assert_eq!(hist_label(12, 0).as_deref(), Some("[1K, 2K)"));
        assert_eq!(hist_label(28, 0).as_deref(), Some("[64M, 128M)"));
        assert_eq!(hist_label(33, 0).as_deref(), Some("[2G, 4G)"));
        assert_eq!(hist_label(52, 0).as_deref(), Some("[1P, 2P)"));
        assert_eq!(hist_label(62, 0).as_deref(), Some("[1E, 2E)"));
        assert_eq!(hist_label(64, 0).as_deref(), Some("[4E, 8E)"));
        assert_eq!(hist_label(65, 0), None);
    }

    #[test]
    fn fine_hist_labels_match_bpftrace() {
        // k = 2: one row per value up to 7, then four rows per power of two.
        let labels: Vec<String> = (7..15).filter_map(|i| hist_label(i, 2)).collect();
        assert_eq!(labels, ["[6]", "[7]", "[8, 10)", "[10, 12)", "[12, 14)", "[14, 16)", "[16, 20)", "[20, 24)"]);
        assert_eq!(hist_label(28, 2).as_deref(), Some("[224, 256)"));
        // The suffix is that of the power of two, not of the value: 3 * 2^9 prints as 1536, 5 * 2^10 as 5K.
        assert_eq!(hist_label(hist_bucket(1536, 2), 2).as_deref(), Some("[1536, 1792)"));
        assert_eq!(hist_label(hist_bucket(5 << 10, 2), 2).as_deref(), Some("[5K, 6K)"));
        assert_eq!(hist_label(hist_bucket(2047, 2), 2).as_deref(), Some("[1792, 2048)"));
    }

    #[test]
    fn timehist_buckets_at_unit_boundaries() {
        assert_eq!(timehist_bucket(i64::MIN), 0);
        assert_eq!(timehist_bucket(-1), 0);
        assert_eq!(timehist_bucket(0), 0);
        assert_eq!(timehist_bucket(1), 1);
        assert_eq!(timehist_bucket(2), 2);
        assert_eq!(timehist_bucket(511), 9);
        assert_eq!(timehist_bucket(512), 10);
        assert_eq!(timehist_bucket(999), 10);
        assert_eq!(timehist_bucket(1_000), 11);
        assert_eq!(timehist_bucket(1_999), 11);
        assert_eq!(timehist_bucket(2_000), 12);
        assert_eq!(timehist_bucket(511_999), 19);
        assert_eq!(timehist_bucket(512_000), 20);
        assert_eq!(timehist_bucket(999_000), 20);
        assert_eq!(timehist_bucket(999_999), 20);
        assert_eq!(timehist_bucket(1_000_000), 21);
        assert_eq!(timehist_bucket(999_999_999), 30);
        assert_eq!(timehist_bucket(1_000_000_000), 31);
        assert_eq!(timehist_bucket(1_999_999_999), 31);
        assert_eq!(timehist_bucket(2_000_000_000), 32);
        assert_eq!(timehist_bucket(i64::MAX), 64);
    }

    #[test]
    fn timehist_ranges_hold_their_values() {
        let samples = [-3, 0, 1, 7, 512, 999, 1_000, 999_999, 1_000_000, 16_500_000, 1_000_000_000, i64::MAX];
        for v in samples {
            let range = timehist_range(timehist_bucket(v)).expect("in range");
            let v = i128::from(v);
            assert!(range.lower.is_none_or(|lower| lower <= v) && range.upper.is_none_or(|upper| v < upper), "{v}");
        }
        assert_eq!(timehist_range(65), None);
    }

    #[test]
    fn timehist_labels_use_time_units() {
        assert_eq!(timehist_label(0).as_deref(), Some("(..., 1ns)"));
        assert_eq!(timehist_label(1).as_deref(), Some("[1ns, 2ns)"));
        assert_eq!(timehist_label(10).as_deref(), Some("[512ns, 1us)"));
        assert_eq!(timehist_label(20).as_deref(), Some("[512us, 1ms)"));
        assert_eq!(timehist_label(25).as_deref(), Some("[16ms, 32ms)"));
        assert_eq!(timehist_label(31).as_deref(), Some("[1s, 2s)"));
        assert_eq!(timehist_label(64).as_deref(), Some("[8589934592s, 17179869184s)"));
        assert_eq!(timehist_label(65), None);
    }

    #[test]
    fn lhist_buckets_at_the_edges() {
        assert_eq!(lhist_bucket(-1, 0, 100, 10), 0);
        assert_eq!(lhist_bucket(i64::MIN, 0, 100, 10), 0);
        assert_eq!(lhist_bucket(0, 0, 100, 10), 1);
        assert_eq!(lhist_bucket(9, 0, 100, 10), 1);
        assert_eq!(lhist_bucket(10, 0, 100, 10), 2);
        assert_eq!(lhist_bucket(99, 0, 100, 10), 10);
        assert_eq!(lhist_bucket(100, 0, 100, 10), 11);
        assert_eq!(lhist_bucket(i64::MAX, 0, 100, 10), 11);
        assert_eq!(lhist_bucket(-150, -200, 200, 100), 1);
        assert_eq!(lhist_bucket(i64::MAX - 1, -i64::MAX, i64::MAX, i64::MAX), 2);
        assert_eq!(lhist_bucket(5, 0, 100, 0), 0);
        assert_eq!(lhist_bucket(5, 100, 0, 10), 0);
    }

    #[test]
    fn lhist_labels_match_bpftrace() {
        let labels: Vec<String> = (0..13).filter_map(|i| lhist_label(i, 0, 100, 10)).collect();
        assert_eq!(labels.len(), 12);
        assert_eq!(labels[0], "(..., 0)");
        assert_eq!(labels[1], "[0, 10)");
        assert_eq!(labels[10], "[90, 100)");
        assert_eq!(labels[11], "[100, ...)");
        assert_eq!(lhist_label(3, 0, 4096, 1024).as_deref(), Some("[2K, 3K)"));
        assert_eq!(lhist_label(5, 0, 4096, 1024).as_deref(), Some("[4K, ...)"));
        assert_eq!(lhist_label(1, 0, 10, 0), None);
    }

    #[test]
    fn an_uneven_lhist_ends_at_its_last_whole_step_like_bpftrace() {
        let labels: Vec<String> = (0..6).filter_map(|i| lhist_label(i, 0, 10, 3)).collect();
        assert_eq!(labels, ["(..., 0)", "[0, 3)", "[3, 6)", "[6, 9)", "[9, ...)"]);
        let buckets: Vec<u64> = [8, 9, 10, 11].iter().map(|&v| lhist_bucket(v, 0, 10, 3)).collect();
        assert_eq!(buckets, [3, 4, 4, 4], "9 shares the last bucket with max and above");
        assert_eq!(lhist_label(2, 0, 2, 3).as_deref(), None);
        assert_eq!(lhist_label(1, 0, 2, 3).as_deref(), Some("[0, ...)"), "less than one step: one open bucket");
    }
}

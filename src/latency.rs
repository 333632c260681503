//! Latency distributions and the percentile rules of each tool.
//!
//! A distribution keeps exactly what its input carried, so that a percentile is
//! computed the way the tool that wrote the input computes it:
//!
//! * Locust's `--json` histogram (`response_times`, bucket keys in ms: 1 ms below
//!   100 ms, 10 ms to 1 s, 100 ms to 10 s, 1 s beyond) with Locust's rule;
//! * Goose's `times_us` log-linear microsecond buckets with Goose's rule;
//! * exact per-request times (a request log) in an HdrHistogram (3 significant
//!   digits, microseconds);
//! * only the fixed percentile columns of a CSV, which can be read but not merged.
//!
//! Tool buckets are kept as sparse maps rather than re-recorded into an
//! HdrHistogram: HdrHistogram's own quantisation would move a bucket key such as
//! 150 ms or 59 s by a few units, and the percentiles would then no longer equal
//! the tool's. Percentiles are never averaged; a group of endpoints whose
//! distributions cannot be merged only gets bounds.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Milliseconds, as `f64`.
pub type Millis = f64;

/// Where a distribution came from, which decides how percentiles are computed.
#[derive(Debug, Clone)]
pub enum Distribution {
    /// Locust's bucketed histogram: bucket key in ms -> count.
    LocustBuckets(BTreeMap<u64, u64>),
    /// Goose 0.19's log-linear buckets: bucket floor in µs -> count.
    GooseBuckets(BTreeMap<u64, u64>),
    /// Exact per-request times in µs, HdrHistogram with 3 significant digits.
    Exact(Box<Histogram<u64>>),
    /// Exact per-request times like [`Distribution::Exact`], for a
    /// distribution with few distinct values (an endpoint with few requests):
    /// (lowest µs of the exact histogram's bucket, count), sorted by value.
    /// It holds the same counts as the histogram would, in a few KB instead
    /// of 16 to 190 KB, so that a run with hundreds of names stays small;
    /// [`Distribution::exact_histogram`] gives the histogram, and every
    /// figure is computed from it as for `Exact`.
    ExactSparse(Vec<(u64, u64)>),
    /// Only fixed percentile columns: (percentile in 0..=100, value in ms).
    Columns(Vec<(f64, Millis)>),
    /// Bounds for a group whose parts could not be merged:
    /// (percentile, smallest part value, largest part value).
    Bounds(Vec<(f64, Millis, Millis)>),
    /// Nothing to compute percentiles from.
    None,
}

impl Distribution {
    /// The exact-time histogram of an `Exact` or `ExactSparse` distribution
    /// (built for the latter: same buckets, same counts).
    pub fn exact_histogram(&self) -> Option<std::borrow::Cow<'_, Histogram<u64>>> {
        match self {
            Distribution::Exact(h) => Some(std::borrow::Cow::Borrowed(h.as_ref())),
            Distribution::ExactSparse(pairs) => {
                let mut h = Histogram::new(3).unwrap_or_else(|_| new_exact_histogram());
                for &(v, c) in pairs {
                    // cannot fail: values are bucket floors below the 1-hour
                    // bound and the histogram resizes
                    let _ = h.record_n(v, c);
                }
                Some(std::borrow::Cow::Owned(h))
            }
            _ => None,
        }
    }
}

/// A latency distribution with its exact summary figures.
#[derive(Debug, Clone)]
pub struct Latency {
    /// Number of timed requests.
    pub count: u64,
    /// Sum of all times in ms, when known exactly (mean = sum / count).
    pub sum_ms: Option<Millis>,
    /// Exact minimum.
    pub min_ms: Option<Millis>,
    /// Exact maximum.
    pub max_ms: Option<Millis>,
    /// The distribution.
    pub dist: Distribution,
}

/// The answer to "what is the p-th percentile?".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Percentile {
    /// A value computed with the source's rule.
    Value(Millis),
    /// The value lies between these two (a mixture of CSV rows).
    Between(Millis, Millis),
    /// The input cannot answer this percentile.
    NotAvailable,
}

impl Percentile {
    /// The single value, if there is one.
    pub fn value(self) -> Option<Millis> {
        match self {
            Percentile::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            count: 0,
            sum_ms: None,
            min_ms: None,
            max_ms: None,
            dist: Distribution::None,
        }
    }
}

/// Width in µs of the Goose bucket whose floor is `floor_us` (goose src/metrics/buckets.rs).
pub fn goose_bucket_width(floor_us: u64) -> u64 {
    if floor_us < 128 {
        1
    } else {
        1 << (63 - floor_us.leading_zeros() as u64 - 6)
    }
}

/// Locust's `bucket_response_time` (2.43.4+): the histogram key of a time in ms.
pub fn locust_bucket(ms: f64) -> u64 {
    let r = if ms < 100.0 {
        ms.round_ties_even()
    } else if ms < 1000.0 {
        (ms / 10.0).round_ties_even() * 10.0
    } else if ms < 10000.0 {
        (ms / 100.0).round_ties_even() * 100.0
    } else {
        (ms / 1000.0).round_ties_even() * 1000.0
    };
    r.max(0.0) as u64
}

/// The times in ms that Locust files under the bucket key `key`, as a closed
/// range: a Locust "500" stands for anything from 495 to 505 ms.
pub fn locust_bucket_range(key: f64) -> (f64, f64) {
    let half = if key < 100.0 {
        0.5
    } else if key < 1000.0 {
        5.0
    } else if key < 10000.0 {
        50.0
    } else {
        500.0
    };
    ((key - half).max(0.0), key + half)
}

/// The range of times a percentile value of this distribution stands for,
/// when it is a bucket key rather than a time (Locust), else `None`.
pub fn bucket_range(dist: &Distribution, value: f64) -> Option<(f64, f64)> {
    match dist {
        Distribution::LocustBuckets(_) | Distribution::Columns(_) => {
            Some(locust_bucket_range(value))
        }
        _ => None,
    }
}

/// A new empty HdrHistogram for exact µs times (1 µs .. 1 hour, 3 significant digits).
pub fn new_exact_histogram() -> Histogram<u64> {
    // 3 significant digits keeps every reported value within 0.1 % of the true one.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid")
}

/// The 3-significant-digit HdrHistogram every exact time goes through, used
/// as the quantiser of per-second maps so that they merge into the very
/// values a whole-run histogram would give.
fn exact_template() -> &'static Histogram<u64> {
    static T: std::sync::OnceLock<Histogram<u64>> = std::sync::OnceLock::new();
    T.get_or_init(new_exact_histogram)
}

/// The key an exact µs time is counted under: its lowest equivalent value in
/// the exact HdrHistogram (3 significant digits).
pub fn exact_key(us: u64) -> u64 {
    exact_template().lowest_equivalent(us.clamp(1, 3_600_000_000))
}

/// The lowest value of the exact histogram's bucket holding `us` (0 stays 0,
/// unlike [`exact_key`]): recording it counts in the same bucket as `us`.
pub fn exact_floor(us: u64) -> u64 {
    exact_template().lowest_equivalent(us.min(3_600_000_000))
}

/// HdrHistogram's `value_at_quantile` over (exact key, count) pairs sorted by
/// key: the highest equivalent value of the entry holding rank
/// `max(1, ceil(q * n))`, in µs. `None` when there are no counts.
pub fn exact_quantile(sorted: &[(u64, u64)], q: f64) -> Option<u64> {
    let n: u64 = sorted.iter().map(|e| e.1).sum();
    let rank = ((q.min(1.0) * n as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for &(key, c) in sorted {
        seen += c;
        if seen >= rank {
            // as HdrHistogram: the lowest value for q = 0, else the highest
            return Some(if q <= 0.0 {
                key
            } else {
                exact_template().highest_equivalent(key)
            });
        }
    }
    None
}

/// Nearest-rank quantile over (lowest µs, highest µs, count) buckets sorted by
/// value: the bucket holding rank `max(1, ceil(q * n))`.
pub fn bucket_quantile(sorted: &[(u64, u64, u64)], q: f64) -> Option<(u64, u64)> {
    let n: u64 = sorted.iter().map(|e| e.2).sum();
    let rank = ((q.min(1.0) * n as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for &(lo, hi, c) in sorted {
        seen += c;
        if seen >= rank {
            return Some((lo, hi));
        }
    }
    None
}

/// Every [`Latency::precision_note`], so that a printer can say each once per
/// source instead of on every row that quotes it.
pub const PRECISION_NOTES: [&str; 6] = [
    "Locust histogram buckets (1 ms below 100 ms, 10 ms to 1 s, 100 ms to 10 s): ±5 ms at 200 ms",
    "Goose µs log-linear buckets (bucket middle): ±0.8 %",
    "exact per-request times (HdrHistogram, 3 significant digits): ±0.1 %",
    "Locust CSV percentile columns (bucketed: 1 ms below 100 ms, 10 ms to 1 s): ±5 ms at 200 ms",
    "bounds from per-endpoint CSV columns (a mixture's percentile lies between its parts')",
    "no latency distribution in the input",
];
impl Latency {
    /// Mean in ms, when the exact sum is known.
    pub fn mean_ms(&self) -> Option<Millis> {
        match (self.sum_ms, self.count) {
            (Some(s), n) if n > 0 => Some(s / n as f64),
            _ => None,
        }
    }

    /// The p-th percentile (p in 0..=100).
    pub fn percentile(&self, p: f64) -> Percentile {
        let q = p / 100.0;
        match &self.dist {
            Distribution::LocustBuckets(b) => {
                if self.count == 0 {
                    return Percentile::NotAvailable;
                }
                Percentile::Value(locust_percentile(b, self.count, q) as f64)
            }
            Distribution::GooseBuckets(b) => {
                let (Some(min), Some(max)) = (self.min_ms, self.max_ms) else {
                    return Percentile::NotAvailable;
                };
                if self.count == 0 {
                    return Percentile::NotAvailable;
                }
                let min_us = (min * 1000.0).round() as u64;
                let max_us = (max * 1000.0).round() as u64;
                Percentile::Value(
                    goose_percentile(b, self.count, min_us, max_us, q) as f64 / 1000.0,
                )
            }
            Distribution::Exact(_) | Distribution::ExactSparse(_) => {
                let Some(h) = self.dist.exact_histogram() else {
                    return Percentile::NotAvailable;
                };
                if h.is_empty() {
                    return Percentile::NotAvailable;
                }
                if p >= 100.0
                    && let Some(m) = self.max_ms
                {
                    return Percentile::Value(m);
                }
                Percentile::Value(h.value_at_quantile(q) as f64 / 1000.0)
            }
            Distribution::Columns(cols) => cols
                .iter()
                .find(|(cp, _)| (cp - p).abs() < 1e-9)
                .map(|&(_, v)| Percentile::Value(v))
                .unwrap_or(Percentile::NotAvailable),
            Distribution::Bounds(b) => b
                .iter()
                .find(|(cp, _, _)| (cp - p).abs() < 1e-9)
                .map(|&(_, lo, hi)| {
                    if lo == hi {
                        Percentile::Value(lo)
                    } else {
                        Percentile::Between(lo, hi)
                    }
                })
                .unwrap_or(Percentile::NotAvailable),
            Distribution::None => Percentile::NotAvailable,
        }
    }

    /// One line on where the percentiles come from and how precise they are.
    pub fn precision_note(&self) -> &'static str {
        let [locust, goose, exact, columns, bounds, none] = PRECISION_NOTES;
        match &self.dist {
            Distribution::LocustBuckets(_) => locust,
            Distribution::GooseBuckets(_) => goose,
            Distribution::Exact(_) | Distribution::ExactSparse(_) => exact,
            Distribution::Columns(_) => columns,
            Distribution::Bounds(_) => bounds,
            Distribution::None => none,
        }
    }

    /// True when percentiles of this distribution can be merged exactly with `other`'s.
    fn mergeable_with(&self, other: &Latency) -> bool {
        matches!(
            (&self.dist, &other.dist),
            (
                Distribution::LocustBuckets(_),
                Distribution::LocustBuckets(_)
            ) | (Distribution::GooseBuckets(_), Distribution::GooseBuckets(_))
                | (
                    Distribution::Exact(_) | Distribution::ExactSparse(_),
                    Distribution::Exact(_) | Distribution::ExactSparse(_)
                )
        )
    }

    /// The distribution of several endpoints together.
    ///
    /// Histograms of the same kind are merged exactly. Otherwise each percentile
    /// is only bounded by the smallest and largest value among the parts, which is
    /// true of any mixture (the mixture's CDF lies between its parts' CDFs).
    pub fn merge<'a>(parts: impl IntoIterator<Item = &'a Latency>) -> Latency {
        let parts: Vec<&Latency> = parts.into_iter().filter(|l| l.count > 0).collect();
        match parts.len() {
            0 => return Latency::default(),
            1 => return parts[0].clone(),
            _ => {}
        }
        let count = parts.iter().map(|l| l.count).sum();
        let sum_ms = parts
            .iter()
            .map(|l| l.sum_ms)
            .try_fold(0.0, |acc, s| s.map(|s| acc + s));
        let min_ms = parts
            .iter()
            .map(|l| l.min_ms)
            .try_fold(f64::INFINITY, |acc, m| m.map(|m| acc.min(m)));
        let max_ms = parts
            .iter()
            .map(|l| l.max_ms)
            .try_fold(f64::NEG_INFINITY, |acc, m| m.map(|m| acc.max(m)));
        let all_mergeable = parts.iter().all(|l| l.mergeable_with(parts[0]));
        let dist = if all_mergeable {
            match &parts[0].dist {
                Distribution::LocustBuckets(_) | Distribution::GooseBuckets(_) => {
                    let mut merged = BTreeMap::new();
                    for l in &parts {
                        if let Distribution::LocustBuckets(b) | Distribution::GooseBuckets(b) =
                            &l.dist
                        {
                            for (k, v) in b {
                                *merged.entry(*k).or_insert(0) += v;
                            }
                        }
                    }
                    if matches!(parts[0].dist, Distribution::LocustBuckets(_)) {
                        Distribution::LocustBuckets(merged)
                    } else {
                        Distribution::GooseBuckets(merged)
                    }
                }
                Distribution::Exact(_) | Distribution::ExactSparse(_) => {
                    let mut h = new_exact_histogram();
                    for l in &parts {
                        if let Some(x) = l.dist.exact_histogram() {
                            // Both sides share the same bounds, so add cannot fail.
                            let _ = h.add(x.as_ref());
                        }
                    }
                    Distribution::Exact(Box::new(h))
                }
                _ => unreachable!("mergeable kinds only"),
            }
        } else {
            bounds_of(&parts)
        };
        Latency {
            count,
            sum_ms,
            min_ms,
            max_ms,
            dist,
        }
    }
}

/// Percentile bounds over parts: for every percentile that all parts can answer.
fn bounds_of(parts: &[&Latency]) -> Distribution {
    let candidates: Vec<f64> = match &parts[0].dist {
        Distribution::Columns(c) => c.iter().map(|(p, _)| *p).collect(),
        Distribution::Bounds(b) => b.iter().map(|(p, _, _)| *p).collect(),
        _ => vec![
            50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
        ],
    };
    let mut out = Vec::new();
    for p in candidates {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        let mut ok = true;
        for l in parts {
            match l.percentile(p) {
                Percentile::Value(v) => {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                Percentile::Between(a, b) => {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
                Percentile::NotAvailable => ok = false,
            }
        }
        if ok {
            out.push((p, lo, hi));
        }
    }
    Distribution::Bounds(out)
}

/// Locust's `calculate_response_time_percentile` (locust/stats.py, 2.47):
/// `k = int(N * p)`, walk buckets from the largest down, return the first bucket
/// `b` where `N - (samples in buckets >= b) <= k`.
pub fn locust_percentile(buckets: &BTreeMap<u64, u64>, n: u64, q: f64) -> u64 {
    let k = (n as f64 * q) as u64;
    let mut done = 0u64;
    for (&bucket, &count) in buckets.iter().rev() {
        done += count;
        if n.saturating_sub(done) <= k {
            return bucket;
        }
    }
    0
}

/// Goose 0.19's `response_time_percentile` over its µs buckets: rank rounded half
/// away from zero, exact min/max at the ends, bucket middle clamped to [min, max].
pub fn goose_percentile(
    buckets: &BTreeMap<u64, u64>,
    count: u64,
    min_us: u64,
    max_us: u64,
    q: f64,
) -> u64 {
    if count == 0 {
        return 0;
    }
    let rank = (count as f64 * q).round() as u64;
    if rank >= count {
        return max_us;
    }
    if rank <= 1 {
        return min_us;
    }
    let mut cumulative = 0;
    for (&floor, &c) in buckets {
        cumulative += c;
        if cumulative >= rank {
            let middle = floor + goose_bucket_width(floor) / 2;
            return middle.clamp(min_us, max_us);
        }
    }
    max_us
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_quantiles_of_keys_equal_the_histogram_of_the_raw_times() {
        let times: Vec<u64> = (0..500u64).map(|i| 1 + i * i * 37 % 900_001).collect();
        let mut h = new_exact_histogram();
        let mut keys: BTreeMap<u64, u64> = BTreeMap::new();
        for &t in &times {
            h.record(t).unwrap();
            *keys.entry(exact_key(t)).or_insert(0) += 1;
        }
        let sorted: Vec<(u64, u64)> = keys.into_iter().collect();
        for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
            assert_eq!(
                exact_quantile(&sorted, q),
                Some(h.value_at_quantile(q).max(1)),
                "q={q}"
            );
        }
    }

    #[test]
    fn locust_buckets_follow_the_documented_rule() {
        assert_eq!(locust_bucket(147.0), 150);
        assert_eq!(locust_bucket(3432.0), 3400);
        assert_eq!(locust_bucket(58760.0), 59000);
        assert_eq!(locust_bucket(99.6), 100);
        assert_eq!(locust_bucket(12.4), 12);
    }

    #[test]
    fn goose_widths_match_the_examples_in_the_format_notes() {
        // 1 177 µs -> bucket 1 168 (width 16); 54 628 -> 54 272 (width 512)
        assert_eq!(goose_bucket_width(1168), 16);
        assert_eq!(goose_bucket_width(54272), 512);
        assert_eq!(goose_bucket_width(127), 1);
    }

    #[test]
    fn locust_percentile_takes_index_int_n_p() {
        // ten samples 1..=10 ms: p50 -> index 5 -> 6 ms; p95 -> index 9 -> 10
        let b: BTreeMap<u64, u64> = (1..=10).map(|k| (k, 1)).collect();
        assert_eq!(locust_percentile(&b, 10, 0.5), 6);
        assert_eq!(locust_percentile(&b, 10, 0.95), 10);
        assert_eq!(locust_percentile(&b, 10, 0.0), 1);
    }

    #[test]
    fn mixtures_of_columns_get_bounds_not_averages() {
        let a = Latency {
            count: 10,
            dist: Distribution::Columns(vec![(95.0, 40.0)]),
            ..Latency::default()
        };
        let b = Latency {
            count: 30,
            dist: Distribution::Columns(vec![(95.0, 90.0)]),
            ..Latency::default()
        };
        let m = Latency::merge([&a, &b]);
        assert_eq!(m.percentile(95.0), Percentile::Between(40.0, 90.0));
        assert_eq!(m.percentile(99.0), Percentile::NotAvailable);
    }
}

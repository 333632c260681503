//! Statistical comparison of an after run with one or more baseline runs:
//! every endpoint present in both, relative targets (`p95 <= +10% vs
//! baseline`), a confidence interval on each change, and the part of an
//! aggregate change that the request mix explains.
//!
//! Method (also in the README):
//! * A percentile's change gets a 95 % percentile-bootstrap interval from
//!   [`RESAMPLES`] resamples drawn with a fixed seed ([`SEED`]), so the same
//!   inputs always give the same verdict. Each resample draws each run's
//!   histogram bucket-wise (multinomial over the run's own buckets, by
//!   conditional binomials, all n requests), never request by request.
//! * Requests of one run are not independent and a whole run can be slower
//!   (another job on the machine): resampling one run cannot see either. So
//!   every resample also moves each side by a run-to-run factor `exp(z·sd)`
//!   (z standard normal), which adds its variance to the sampling variance.
//!   With several baselines `sd` is measured ([`run_noise`]): the sd of
//!   ln(percentile) over the baseline runs, minus (in variance) the mean
//!   bootstrap variance of one run, floored at 0 (their sampling noise is
//!   already in the resampling: counting it twice hid real changes); the
//!   pooled baseline gets `sd/sqrt(N)`. With one baseline it is assumed:
//!   [`DEFAULT_NOISE`], `sqrt(0.025² + (4.3 ms/value)²)`, fitted on
//!   fixtures/regression (a loaded machine adds milliseconds of scheduling
//!   delay, which weigh most on short requests), or `--run-noise`.
//! * The interval is then widened by the bucket resolution of both sides
//!   (Locust's 10 ms buckets at 100-1000 ms): a percentile read from buckets
//!   is off by up to half a bucket on each side, whatever the resampling.
//! * Throughput and CPU use have per-second series: those are resampled in
//!   blocks of [`BLOCK_S`] seconds (moving-block bootstrap), not per second.
//! * With several baseline runs, their histograms are pooled; for the error
//!   rate, rps and CPU (no run-to-run term drawn) the sample standard
//!   deviation `s` of the figure over the `N` runs widens both ends by
//!   `1.96 · s · sqrt(1 + 1/N)`.
//! * Verdict against a tolerance `t` (worse direction positive):
//!   **regressed** when the whole interval lies beyond `+t`, **improved**
//!   when it lies beyond `-|t|`, **no change** when it lies within
//!   `[-|t|, +t]`, else **too close to call**. Regressed misses the target;
//!   too close to call on the worse side is a warning; the rest pass.

use crate::analysis::steady;
use crate::format;
use crate::latency::{Distribution, Latency, goose_bucket_width, locust_bucket_range};
use crate::model::{Endpoint, ResourceSeries, Run};
use crate::targets::expr::{RelativeExpr, RelativeMetric, Tolerance, parse_relative};
use crate::targets::{Metric, Op, Outcome, State, Target, TargetExpr};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Seed of every bootstrap: the same inputs give the same intervals.
pub const SEED: u64 = 0x5EED_0013;
/// Bootstrap resamples per check.
pub const RESAMPLES: usize = 1000;
/// Failures of one run count as this many times fewer independent draws in
/// the error-rate bootstrap (not measured; kept from the first method as the
/// cautious side). Percentiles resample all n requests: what correlation
/// between requests adds shows in the run-to-run term instead.
pub const DESIGN_EFFECT: f64 = 2.0;
/// Block length, in samples (seconds), of the moving-block bootstrap of per-second series.
pub const BLOCK_S: usize = 10;
/// Run-to-run noise of a point value (a CSV percentile column: no
/// distribution to resample), sampling included (sd of ln): the cross-run sd
/// measured on fixtures/regression was 0.07-0.16 on endpoints with work and
/// 0.34-0.47 on the instant 404 endpoint.
pub const POINT_RUN_NOISE: f64 = 0.25;
/// Run-to-run noise beyond sampling assumed with one baseline run, fitted on
/// the five same-setting runs of fixtures/regression (README, "Comparing
/// with a baseline"; `noise_fit` in tests/regression.rs prints the fit).
pub const DEFAULT_NOISE: NoiseModel = NoiseModel {
    relative: 0.025,
    ms: 4.3,
};

/// Noise between runs of one setting that resampling one run cannot see: a
/// run's percentile `v` ms moves by a factor `exp(z·sd)`, z standard normal,
/// `sd = sqrt(relative² + (ms/v)²)` (a load on the machine adds
/// milliseconds of scheduling delay, which weigh most on short requests).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NoiseModel {
    /// The relative part (sd of ln).
    pub relative: f64,
    /// The absolute part, ms.
    pub ms: f64,
}

impl NoiseModel {
    /// A relative noise only (`--run-noise`, `run_noise`).
    pub fn relative(sd_ln: f64) -> Self {
        NoiseModel {
            relative: sd_ln,
            ms: 0.0,
        }
    }

    /// The sd of ln(value) of a percentile of `value_ms`.
    pub fn sd_ln(&self, value_ms: f64) -> f64 {
        let abs = if self.ms > 0.0 && value_ms > 0.0 {
            self.ms / value_ms
        } else {
            0.0
        };
        (self.relative * self.relative + abs * abs).sqrt()
    }

    fn text(&self) -> String {
        if self.ms > 0.0 {
            format!(
                "sd of ln = sqrt({:.3}² + ({} ms / value)²)",
                self.relative,
                trim(self.ms)
            )
        } else {
            format!("sd of ln {:.3}", self.relative)
        }
    }
}
/// Two-sided confidence of the intervals.
pub const CONFIDENCE: f64 = 0.95;
/// Requests a run must have beyond a percentile (n·(1−q)) for a latency
/// check to call it regressed or improved; fewer give too close to call.
pub const MIN_TAIL_REQUESTS: u64 = 10;

/// Relative targets in force when a baseline is given and no relative target
/// is: each endpoint's p50, p95 and p99 within +10 %, the aggregate p95 within
/// +10 %, the error rate within +0.5 percentage points, the sustained
/// throughput within -10 %, and the server's CPU time per request within
/// +20 % (measured only when both runs have resource samples).
pub const DEFAULT_RELATIVE_TARGETS: &[&str] = &[
    "p50{name:*} <= +10% vs baseline",
    "p95{name:*} <= +10% vs baseline",
    "p99{name:*} <= +10% vs baseline",
    "p95 <= +10% vs baseline",
    "error_rate <= +0.5pp vs baseline",
    "rps >= -10% vs baseline",
    "cpu_per_request <= +20% vs baseline",
];

/// The default relative targets, parsed.
pub fn default_targets() -> Vec<RelativeExpr> {
    DEFAULT_RELATIVE_TARGETS
        .iter()
        .filter_map(|t| parse_relative(t).ok())
        .collect()
}

/// The default relative targets with the latency and rps tolerances of
/// `gate --regression-latency-percent/--regression-rps-percent`.
pub fn default_targets_with(tol: &super::compare::Tolerance) -> Vec<RelativeExpr> {
    let lat = tol.latency_fraction * 100.0;
    let rps = tol.rps_fraction * 100.0;
    default_targets()
        .into_iter()
        .filter_map(|t| {
            let text = match t.metric {
                RelativeMetric::Metric(Metric::Percentile(_)) => {
                    t.text.replace("+10%", &format!("+{lat}%"))
                }
                RelativeMetric::Metric(Metric::Rps) => t.text.replace("-10%", &format!("-{rps}%")),
                _ => return Some(t),
            };
            parse_relative(&text).ok()
        })
        .collect()
}

/// One run of a comparison with its server resource samples, when given.
#[derive(Debug, Clone, Copy)]
pub struct RunSide<'a> {
    /// The run.
    pub run: &'a Run,
    /// Resource samples of the server during the run.
    pub resources: Option<&'a ResourceSeries>,
}

/// What the comparison concluded about one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeVerdict {
    /// Worse than the tolerance allows, with confidence.
    Regressed,
    /// Better by more than the tolerance, with confidence.
    Improved,
    /// Within the tolerance, with confidence.
    NoChange,
    /// The interval crosses a tolerance bound.
    TooCloseToCall,
    /// Could not be compared.
    NotMeasured,
}

impl ChangeVerdict {
    /// `regressed`, `improved`, `no change`, `too close to call`, `not measured`.
    pub fn label(self) -> &'static str {
        match self {
            ChangeVerdict::Regressed => "regressed",
            ChangeVerdict::Improved => "improved",
            ChangeVerdict::NoChange => "no change",
            ChangeVerdict::TooCloseToCall => "too close to call",
            ChangeVerdict::NotMeasured => "not measured",
        }
    }
}

/// One metric of one endpoint (or all requests) against the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `p95 GET /api/x vs baseline`; also the title of its gate outcome.
    pub title: String,
    /// The relative target it checks, as written.
    pub expression: String,
    /// `p95`, `error_rate`, `rps`, `cpu_per_request`, ...
    pub metric: String,
    /// `GET /api/x`, or null for all requests (or the server).
    pub endpoint: Option<String>,
    /// Unit of `before` and `after`: `ms`, `fraction`, `req/s`, `ms/request`, `bytes`, `percent`.
    pub unit: &'static str,
    /// Baseline value (pooled over the baseline runs).
    pub before: Option<f64>,
    /// After value.
    pub after: Option<f64>,
    /// `relative` (a fraction of the baseline value) or the unit of an absolute change.
    pub change_unit: &'static str,
    /// Observed change (after - before; divided by before when `change_unit` is `relative`).
    pub change: Option<f64>,
    /// 95 % interval of the change, or null when the inputs carry no distribution.
    pub interval: Option<[f64; 2]>,
    /// The tolerance as a signed change in `change_unit` (`0.1`, `-0.1`, `50`).
    pub tolerance: f64,
    /// The conclusion.
    pub verdict: ChangeVerdict,
    /// How the interval was found, or why nothing was measured.
    pub basis: String,
    /// `warn:` target: a regression is only a warning.
    pub warn: bool,
    /// Requests of the after run behind the figure, for request metrics.
    pub samples: Option<u64>,
    /// The gate state of the check.
    pub state: State,
    #[serde(skip)]
    op: Op,
    #[serde(skip)]
    gate_metric: Metric,
    #[serde(skip)]
    target_scope: crate::targets::Scope,
}

/// One endpoint present in both runs, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointRow {
    /// `GET /api/x`.
    pub endpoint: String,
    /// Requests before (summed over the baselines) and after.
    pub requests: [u64; 2],
    /// Share of all requests before and after (fraction).
    pub share: [f64; 2],
    /// Error rate before and after (fraction).
    pub error_rate: [Option<f64>; 2],
    /// p50 before and after, ms.
    pub p50_ms: [Option<f64>; 2],
    /// p95 before and after, ms.
    pub p95_ms: [Option<f64>; 2],
    /// p99 before and after, ms.
    pub p99_ms: [Option<f64>; 2],
}

/// How much of the aggregate p95's change the request mix explains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MixShift {
    /// Aggregate p95 of the baseline, ms (from its endpoints' histograms).
    pub before_ms: f64,
    /// The baseline's endpoint distributions re-weighted by the after run's mix, ms.
    pub reweighted_ms: f64,
    /// Aggregate p95 of the after run, ms.
    pub after_ms: f64,
    /// `reweighted - before`: the part the mix explains.
    pub mix_ms: f64,
    /// `after - reweighted`: the part the endpoints themselves explain.
    pub endpoints_ms: f64,
    /// The sentence shown to people.
    pub text: String,
}

/// The whole statistical comparison.
#[derive(Debug, Clone, Serialize)]
pub struct StatComparison {
    /// Baseline run labels.
    pub baselines: Vec<String>,
    /// After run label.
    pub after: String,
    /// Every check, in the order of the targets.
    pub checks: Vec<Check>,
    /// Endpoints present in both, by label.
    pub endpoints: Vec<EndpointRow>,
    /// Endpoints only in the after run (not compared).
    pub added: Vec<String>,
    /// Endpoints only in the baseline (not compared).
    pub removed: Vec<String>,
    /// The request-mix decomposition of the aggregate p95's change.
    pub mix_shift: Option<MixShift>,
    /// The method, in one paragraph.
    pub method: String,
}

impl StatComparison {
    /// The checks as gate outcomes, so every output of `gate` shows them.
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.checks.iter().map(Check::outcome).collect()
    }

    /// The check with this title, for outputs that add its interval.
    pub fn check(&self, title: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.title == title)
    }
}

/// The method, as stated in outputs.
pub fn method_text() -> String {
    format!(
        "{}% percentile bootstrap, {RESAMPLES} resamples, fixed seed: percentiles by resampling each run's histogram bucket-wise (n requests), each side of every resample also moved by a run-to-run noise beyond sampling (several baselines: measured as their spread of ln(percentile) minus their own resampling variance; one baseline: assumed, {} by default), the interval widened by the bucket resolution of both sides; rps and CPU by resampling {BLOCK_S} s blocks of their per-second series, several baselines widening by their spread",
        (CONFIDENCE * 100.0).round(),
        DEFAULT_NOISE.text()
    )
}

// ---------------------------------------------------------------- random

/// splitmix64: small, seeded, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A binomial draw: exact inversion for small means, normal approximation
/// (error far below a bucket) for large ones.
fn binomial(rng: &mut Rng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    let (pp, flip) = if p > 0.5 { (1.0 - p, true) } else { (p, false) };
    let mean = n as f64 * pp;
    let k = if mean < 30.0 {
        let q = 1.0 - pp;
        let s = pp / q;
        let mut f = (n as f64 * q.ln()).exp();
        let mut u = rng.unit();
        let mut k = 0u64;
        while u >= f && k < n {
            u -= f;
            k += 1;
            f *= s * (n - k + 1) as f64 / k as f64;
            if f <= 0.0 {
                break;
            }
        }
        k
    } else {
        let sd = (mean * (1.0 - pp)).sqrt();
        (mean + sd * rng.normal()).round().clamp(0.0, n as f64) as u64
    };
    if flip { n - k } else { k }
}

/// A multinomial draw of `n` over buckets weighted by `counts`, bucket by bucket.
fn multinomial(rng: &mut Rng, n: u64, counts: &[u64], out: &mut Vec<u64>) {
    out.clear();
    let mut left_n = n;
    let mut left_w: u64 = counts.iter().sum();
    for &c in counts {
        let x = if left_n == 0 || left_w == 0 {
            0
        } else {
            binomial(rng, left_n, c as f64 / left_w as f64)
        };
        out.push(x);
        left_n -= x.min(left_n);
        left_w -= c;
    }
}

// ---------------------------------------------------------------- histograms

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Locust's rule: `k = int(n q)`, walking down from the largest bucket.
    Locust,
    /// Nearest rank: the bucket holding rank `max(1, ceil(n q))`.
    NearestRank,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Locust,
    Goose,
    Exact,
}

/// A distribution as (value µs, count) buckets, ascending.
#[derive(Debug, Clone)]
struct Hist {
    values_us: Vec<u64>,
    counts: Vec<u64>,
    n: u64,
    kind: Kind,
}

impl Hist {
    fn of(lat: &Latency) -> Option<Hist> {
        let (pairs, kind): (Vec<(u64, u64)>, Kind) = match &lat.dist {
            Distribution::LocustBuckets(b) => (
                b.iter().map(|(&k, &c)| (k * 1000, c)).collect(),
                Kind::Locust,
            ),
            Distribution::GooseBuckets(b) => (
                b.iter()
                    .map(|(&f, &c)| (f + goose_bucket_width(f) / 2, c))
                    .collect(),
                Kind::Goose,
            ),
            Distribution::Exact(_) | Distribution::ExactSparse(_) => {
                let h = lat.dist.exact_histogram()?;
                (
                    h.iter_recorded()
                        .map(|v| {
                            (
                                h.highest_equivalent(v.value_iterated_to()),
                                v.count_at_value(),
                            )
                        })
                        .collect(),
                    Kind::Exact,
                )
            }
            _ => return None,
        };
        let pairs: Vec<(u64, u64)> = pairs.into_iter().filter(|p| p.1 > 0).collect();
        let n = pairs.iter().map(|p| p.1).sum();
        (n > 0).then(|| Hist {
            values_us: pairs.iter().map(|p| p.0).collect(),
            counts: pairs.iter().map(|p| p.1).collect(),
            n,
            kind,
        })
    }

    fn rule(&self) -> Rule {
        if self.kind == Kind::Locust {
            Rule::Locust
        } else {
            Rule::NearestRank
        }
    }

    /// The histograms of several runs together (same kind only).
    fn pooled(parts: &[Hist]) -> Option<Hist> {
        let first = parts.first()?;
        if parts.iter().any(|p| p.kind != first.kind) {
            return None;
        }
        let mut m: BTreeMap<u64, u64> = BTreeMap::new();
        for p in parts {
            for (&v, &c) in p.values_us.iter().zip(&p.counts) {
                *m.entry(v).or_insert(0) += c;
            }
        }
        Some(Hist {
            values_us: m.keys().copied().collect(),
            counts: m.values().copied().collect(),
            n: m.values().sum(),
            kind: first.kind,
        })
    }

    fn quantile_ms(&self, counts: &[u64], q: f64) -> Option<f64> {
        quantile_us(&self.values_us, counts, q, self.rule()).map(|v| v as f64 / 1000.0)
    }

    /// Half the width of the bucket a value (ms) falls in, ms.
    fn half_width_ms(&self, v: f64) -> f64 {
        match self.kind {
            Kind::Locust => {
                let (lo, hi) = locust_bucket_range(v);
                (hi - lo) / 2.0
            }
            Kind::Goose => goose_bucket_width((v * 1000.0) as u64) as f64 / 2000.0,
            Kind::Exact => v * 0.0005,
        }
    }
}

fn quantile_us(values: &[u64], counts: &[u64], q: f64, rule: Rule) -> Option<u64> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    match rule {
        Rule::Locust => {
            let k = (n as f64 * q) as u64;
            let mut done = 0u64;
            for (v, c) in values.iter().zip(counts).rev() {
                done += c;
                if n.saturating_sub(done) <= k {
                    return Some(*v);
                }
            }
            values.first().copied()
        }
        Rule::NearestRank => {
            let rank = ((q.min(1.0) * n as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (v, c) in values.iter().zip(counts) {
                seen += c;
                if seen >= rank {
                    return Some(*v);
                }
            }
            values.last().copied()
        }
    }
}

/// Weighted nearest-rank quantile over (value µs, weight) pairs, any order.
fn weighted_quantile(mut pairs: Vec<(u64, f64)>, q: f64) -> Option<f64> {
    pairs.sort_by_key(|p| p.0);
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return None;
    }
    let mut seen = 0.0;
    for (v, w) in &pairs {
        seen += w;
        if seen >= q * total - 1e-9 {
            return Some(*v as f64 / 1000.0);
        }
    }
    pairs.last().map(|p| p.0 as f64 / 1000.0)
}

fn interval_of(mut xs: Vec<f64>) -> Option<[f64; 2]> {
    xs.retain(|x| x.is_finite());
    if xs.len() < 10 {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let a = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| xs[((q * (xs.len() - 1) as f64).round() as usize).min(xs.len() - 1)];
    Some([at(a), at(1.0 - a)])
}

fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

/// Moving-block bootstrap means of a per-second series.
fn block_means(rng: &mut Rng, xs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    let block = BLOCK_S.min(n.max(1));
    let starts = n + 1 - block;
    (0..RESAMPLES)
        .map(|_| {
            let mut sum = 0.0;
            let mut k = 0;
            while k < n {
                let s = rng.below(starts);
                for x in xs.iter().skip(s).take(block.min(n - k)) {
                    sum += x;
                    k += 1;
                }
            }
            sum / n as f64
        })
        .collect()
}

// ---------------------------------------------------------------- comparison

fn find<'a>(run: &'a Run, kind: &str, name: &str) -> Option<&'a Endpoint> {
    run.endpoints
        .iter()
        .find(|e| e.kind == kind && e.name == name)
}

/// Which endpoints a check covers, by (kind, name), with their label.
fn common_endpoints(baselines: &[RunSide], after: &RunSide) -> Vec<(String, String, String)> {
    after
        .run
        .endpoints
        .iter()
        .filter(|a| {
            baselines
                .iter()
                .any(|b| find(b.run, &a.kind, &a.name).is_some())
        })
        .map(|a| (a.kind.clone(), a.name.clone(), a.label()))
        .collect()
}

/// Compare an after run with one or more baseline runs on the relative targets.
pub fn compare(baselines: &[RunSide], after: &RunSide, targets: &[RelativeExpr]) -> StatComparison {
    compare_with_model(baselines, after, targets, DEFAULT_NOISE, POINT_RUN_NOISE)
}

/// [`compare`] assuming `run_noise` (sd of ln(percentile) between runs of one
/// setting, beyond sampling) when there is a single baseline run; several
/// baselines measure it. Point values (no distribution) assume it too.
pub fn compare_with_noise(
    baselines: &[RunSide],
    after: &RunSide,
    targets: &[RelativeExpr],
    run_noise: f64,
) -> StatComparison {
    compare_with_model(
        baselines,
        after,
        targets,
        NoiseModel::relative(run_noise),
        run_noise,
    )
}

/// [`compare`] with the noise assumed with a single baseline run: `model` for
/// resampled percentiles, `point_noise` (sd of ln, sampling included) for
/// point values.
pub fn compare_with_model(
    baselines: &[RunSide],
    after: &RunSide,
    targets: &[RelativeExpr],
    model: NoiseModel,
    point_noise: f64,
) -> StatComparison {
    let common = common_endpoints(baselines, after);
    let mut added = Vec::new();
    for a in &after.run.endpoints {
        if !common.iter().any(|c| c.0 == a.kind && c.1 == a.name) {
            added.push(a.label());
        }
    }
    let mut removed = Vec::new();
    for b in baselines.iter().flat_map(|b| &b.run.endpoints) {
        if find(after.run, &b.kind, &b.name).is_none() && !removed.contains(&b.label()) {
            removed.push(b.label());
        }
    }
    let mut rng = Rng::new(SEED);
    let mut checks = Vec::new();
    for t in targets {
        let per_endpoint = !t.scope.is_empty()
            && matches!(
                t.metric,
                RelativeMetric::Metric(
                    Metric::Percentile(_)
                        | Metric::Avg
                        | Metric::Min
                        | Metric::Max
                        | Metric::ErrorRate
                )
            );
        if per_endpoint {
            let mut any = false;
            for (kind, name, label) in &common {
                if !t.scope.matches(kind, name) {
                    continue;
                }
                any = true;
                let bs: Vec<&Endpoint> = baselines
                    .iter()
                    .filter_map(|b| find(b.run, kind, name))
                    .collect();
                let Some(a) = find(after.run, kind, name) else {
                    continue;
                };
                checks.push(request_check(
                    &mut rng,
                    t,
                    Some(label),
                    &bs,
                    a,
                    model,
                    point_noise,
                ));
            }
            if !any {
                checks.push(not_measured(
                    t,
                    None,
                    format!("no endpoint present in both runs matches {}", t.scope),
                ));
            }
            continue;
        }
        let check = match t.metric {
            RelativeMetric::CpuPerRequest => cpu_per_request_check(&mut rng, t, baselines, after),
            RelativeMetric::Metric(Metric::Rps) => rps_check(&mut rng, t, baselines, after),
            RelativeMetric::Metric(m) if m.is_resource() => {
                resource_point_check(t, baselines, after)
            }
            RelativeMetric::Metric(_) => {
                let bs: Vec<&Endpoint> = baselines.iter().map(|b| &b.run.total).collect();
                let mut c =
                    request_check(&mut rng, t, None, &bs, &after.run.total, model, point_noise);
                if t.scope.is_empty()
                    && matches!(t.metric, RelativeMetric::Metric(Metric::Percentile(_)))
                    && let Some(m) = mix_shift(baselines, after, percentile_of(t))
                {
                    c.basis.push_str(&format!("; {}", m.text));
                }
                c
            }
        };
        checks.push(check);
    }
    StatComparison {
        baselines: baselines.iter().map(|b| b.run.label.clone()).collect(),
        after: after.run.label.clone(),
        checks,
        endpoints: endpoint_rows(baselines, after, &common),
        added,
        removed,
        mix_shift: mix_shift(baselines, after, 95.0),
        method: method_text(),
    }
}

fn percentile_of(t: &RelativeExpr) -> f64 {
    match t.metric {
        RelativeMetric::Metric(Metric::Percentile(p)) => p,
        _ => 95.0,
    }
}

fn endpoint_rows(
    baselines: &[RunSide],
    after: &RunSide,
    common: &[(String, String, String)],
) -> Vec<EndpointRow> {
    let total_b: u64 = baselines.iter().map(|b| b.run.total.requests).sum();
    let total_a = after.run.total.requests;
    let share = |n: u64, t: u64| if t > 0 { n as f64 / t as f64 } else { 0.0 };
    common
        .iter()
        .filter_map(|(kind, name, label)| {
            let bs: Vec<&Endpoint> = baselines
                .iter()
                .filter_map(|b| find(b.run, kind, name))
                .collect();
            let a = find(after.run, kind, name)?;
            let nb: u64 = bs.iter().map(|e| e.requests).sum();
            let fb: u64 = bs.iter().map(|e| e.failures).sum();
            let pooled = Latency::merge(bs.iter().map(|e| &e.latency));
            let p = |l: &Latency, q: f64| l.percentile(q).value();
            Some(EndpointRow {
                endpoint: label.clone(),
                requests: [nb, a.requests],
                share: [share(nb, total_b), share(a.requests, total_a)],
                error_rate: [(nb > 0).then(|| fb as f64 / nb as f64), a.error_rate()],
                p50_ms: [p(&pooled, 50.0), p(&a.latency, 50.0)],
                p95_ms: [p(&pooled, 95.0), p(&a.latency, 95.0)],
                p99_ms: [p(&pooled, 99.0), p(&a.latency, 99.0)],
            })
        })
        .collect()
}

/// Signed tolerance and whether it is relative.
fn tolerance_of(t: &RelativeExpr) -> (f64, bool) {
    match t.tolerance {
        Tolerance::Fraction(f) => (f, true),
        Tolerance::Amount(a) => (a, false),
    }
}

/// +1 when an increase is worse (`<=`, `<`), -1 when a decrease is (`>=`, `>`).
fn worse_sign(op: Op) -> f64 {
    match op {
        Op::Ge | Op::Gt => -1.0,
        _ => 1.0,
    }
}

fn decide(op: Op, tol: f64, change: f64, interval: Option<[f64; 2]>) -> ChangeVerdict {
    let s = worse_sign(op);
    let tol_w = tol * s;
    let band = tol_w.abs();
    let (lo, hi) = match interval {
        Some([a, b]) => {
            let (x, y) = (a * s, b * s);
            (x.min(y), x.max(y))
        }
        None => (change * s, change * s),
    };
    if lo > tol_w {
        ChangeVerdict::Regressed
    } else if hi < -band {
        ChangeVerdict::Improved
    } else if hi <= tol_w && lo >= -band {
        ChangeVerdict::NoChange
    } else {
        ChangeVerdict::TooCloseToCall
    }
}

fn state_of(t: &RelativeExpr, v: ChangeVerdict, tol: f64, interval: Option<[f64; 2]>) -> State {
    let s = worse_sign(t.op);
    let worse_possible = interval.is_some_and(|[a, b]| (a * s).max(b * s) > tol * s);
    match v {
        ChangeVerdict::Regressed if t.warn => State::Warned,
        ChangeVerdict::Regressed => State::Missed,
        ChangeVerdict::TooCloseToCall if worse_possible => State::Warned,
        ChangeVerdict::NotMeasured => State::NotMeasured,
        _ => State::Met,
    }
}

fn gate_metric(t: &RelativeExpr) -> Metric {
    match t.metric {
        RelativeMetric::Metric(m) => m,
        RelativeMetric::CpuPerRequest => Metric::CpuLoad,
    }
}

fn title(t: &RelativeExpr, endpoint: Option<&str>) -> String {
    match endpoint {
        Some(e) => format!("{} {e} vs baseline", t.metric.key()),
        None => format!("{} vs baseline", t.metric.key()),
    }
}

fn not_measured(t: &RelativeExpr, endpoint: Option<&str>, why: String) -> Check {
    let (tol, rel) = tolerance_of(t);
    Check {
        title: title(t, endpoint),
        expression: t.text.clone(),
        metric: t.metric.key(),
        endpoint: endpoint.map(str::to_string),
        unit: unit_of(t),
        before: None,
        after: None,
        change_unit: if rel { "relative" } else { unit_of(t) },
        change: None,
        interval: None,
        tolerance: tol,
        verdict: ChangeVerdict::NotMeasured,
        basis: why,
        warn: t.warn,
        samples: None,
        state: State::NotMeasured,
        op: t.op,
        gate_metric: gate_metric(t),
        target_scope: t.scope.clone(),
    }
}

/// Every relative target not measured for the same reason (no baseline given).
pub fn not_measured_outcomes(targets: &[RelativeExpr], why: &str) -> Vec<Outcome> {
    targets
        .iter()
        .map(|t| not_measured(t, None, why.to_string()).outcome())
        .collect()
}

fn unit_of(t: &RelativeExpr) -> &'static str {
    match t.metric {
        RelativeMetric::CpuPerRequest => "ms/request",
        RelativeMetric::Metric(Metric::ErrorRate) => "fraction",
        RelativeMetric::Metric(Metric::Rps) => "req/s",
        RelativeMetric::Metric(Metric::RssLoad) => "bytes",
        RelativeMetric::Metric(Metric::CpuLoad) => "percent",
        _ => "ms",
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    t: &RelativeExpr,
    endpoint: Option<&str>,
    before: f64,
    after: f64,
    interval: Option<[f64; 2]>,
    basis: String,
    samples: Option<u64>,
) -> Check {
    let (tol, rel) = tolerance_of(t);
    let change = if rel {
        if before == 0.0 {
            if after == 0.0 { 0.0 } else { f64::INFINITY }
        } else {
            (after - before) / before
        }
    } else {
        after - before
    };
    if !change.is_finite() {
        return not_measured(
            t,
            endpoint,
            format!(
                "the baseline {} is 0, so a relative change is undefined",
                t.metric.key()
            ),
        );
    }
    let verdict = decide(t.op, tol, change, interval);
    let state = state_of(t, verdict, tol, interval);
    Check {
        title: title(t, endpoint),
        expression: t.text.clone(),
        metric: t.metric.key(),
        endpoint: endpoint.map(str::to_string),
        unit: unit_of(t),
        before: Some(before),
        after: Some(after),
        change_unit: if rel { "relative" } else { unit_of(t) },
        change: Some(change),
        interval,
        tolerance: tol,
        verdict,
        basis,
        warn: t.warn,
        samples,
        state,
        op: t.op,
        gate_metric: gate_metric(t),
        target_scope: t.scope.clone(),
    }
}

/// A latency or error-rate check on one endpoint (or all requests).
fn request_check(
    rng: &mut Rng,
    t: &RelativeExpr,
    endpoint: Option<&str>,
    bs: &[&Endpoint],
    a: &Endpoint,
    model: NoiseModel,
    run_noise: f64,
) -> Check {
    let (tol, rel) = tolerance_of(t);
    let _ = tol;
    let n_after = Some(a.requests);
    match t.metric {
        RelativeMetric::Metric(Metric::ErrorRate) => {
            let nb: u64 = bs.iter().map(|e| e.requests).sum();
            let fb: u64 = bs.iter().map(|e| e.failures).sum();
            if nb == 0 || a.requests == 0 {
                return not_measured(t, endpoint, "no requests on one side".into());
            }
            let rb = fb as f64 / nb as f64;
            let ra = a.error_rate().unwrap_or(0.0);
            if rel && rb == 0.0 {
                return not_measured(
                    t,
                    endpoint,
                    "the baseline has no failures, so a relative change of the error rate is undefined; use a `pp` tolerance".into(),
                );
            }
            let eff = |n: u64| ((n as f64 / DESIGN_EFFECT).ceil() as u64).max(1);
            let (mb, ma) = (eff(nb), eff(a.requests));
            let changes: Vec<f64> = (0..RESAMPLES)
                .map(|_| {
                    let xb = binomial(rng, mb, rb) as f64 / mb as f64;
                    let xa = binomial(rng, ma, ra) as f64 / ma as f64;
                    if rel { (xa - xb) / rb } else { xa - xb }
                })
                .collect();
            let mut interval = interval_of(changes);
            let per_run: Vec<f64> = bs.iter().filter_map(|e| e.error_rate()).collect();
            let spread = widen_by_spread(&mut interval, &per_run, if rel { rb } else { 1.0 });
            let basis = format!(
                "failures resampled as binomial draws of n/{DESIGN_EFFECT} requests ({} baseline, {} after){}",
                format::count(nb),
                format::count(a.requests),
                spread_note(bs.len(), spread.is_some())
            );
            finish(t, endpoint, rb, ra, interval, basis, n_after)
        }
        RelativeMetric::Metric(Metric::Percentile(p)) => {
            let q = p / 100.0;
            let hb: Vec<Hist> = bs.iter().filter_map(|e| Hist::of(&e.latency)).collect();
            let ha = Hist::of(&a.latency);
            let (Some(pool), Some(ha)) = (
                (hb.len() == bs.len()).then(|| Hist::pooled(&hb)).flatten(),
                ha,
            ) else {
                return point_latency_check(t, endpoint, bs, a, run_noise);
            };
            if pool.kind != ha.kind {
                return point_latency_check(t, endpoint, bs, a, run_noise);
            }
            let (Some(vb), Some(va)) = (
                pool.quantile_ms(&pool.counts, q),
                ha.quantile_ms(&ha.counts, q),
            ) else {
                return not_measured(t, endpoint, "no timed requests on one side".into());
            };
            if rel && vb == 0.0 {
                return not_measured(
                    t,
                    endpoint,
                    format!(
                        "the baseline {} is 0 ms, so a relative change is undefined",
                        t.metric.key()
                    ),
                );
            }
            let (mb, ma) = (resample_size(pool.n), resample_size(ha.n));
            // run-to-run noise beyond sampling, as the sd of ln(value) between
            // runs of one setting: measured from the baselines' spread minus
            // their own sampling variance, else the assumed default
            let measured = (hb.len() >= 2).then(|| noise_of_hists(&hb, q)).flatten();
            // (sd of ln on the baseline side, on the after side)
            let (tau_b, tau_a) = match &measured {
                Some(m) => (
                    m.between_run_sd / (hb.len() as f64).sqrt(),
                    m.between_run_sd,
                ),
                None => (model.sd_ln(vb), model.sd_ln(va)),
            };
            let (mut sb, mut sa) = (Vec::new(), Vec::new());
            let mut changes = Vec::with_capacity(RESAMPLES);
            for _ in 0..RESAMPLES {
                multinomial(rng, mb, &pool.counts, &mut sb);
                multinomial(rng, ma, &ha.counts, &mut sa);
                // drawn every resample, so the run-to-run term adds its
                // variance to the sampling variance (not its width to the width)
                let (zb, za) = (rng.normal() * tau_b, rng.normal() * tau_a);
                if let (Some(xb), Some(xa)) = (pool.quantile_ms(&sb, q), ha.quantile_ms(&sa, q)) {
                    let (xb, xa) = (xb * zb.exp(), xa * za.exp());
                    // a ratio, so that a relative change never goes below -100 %
                    changes.push(if rel {
                        if xb > 0.0 { xa / xb - 1.0 } else { f64::NAN }
                    } else {
                        xa - xb
                    });
                }
            }
            let mut interval = interval_of(changes);
            let res = pool.half_width_ms(vb) + ha.half_width_ms(va);
            let res = if rel { res / vb } else { res };
            if let Some(iv) = interval.as_mut() {
                // a time cannot fall below zero: the ratio stays >= 0
                iv[0] = if rel {
                    (iv[0] - res).max(-1.0)
                } else {
                    iv[0] - res
                };
                iv[1] += res;
            }
            let noise_note = match &measured {
                Some(m) => format!(
                    "; run-to-run noise measured from {} baseline runs: sd of ln {} over the runs {:.3}, their own resampling {:.3}, so between runs sqrt(max(0, {:.3}² − {:.3}²)) = {:.3}, drawn on each side of every resample (÷sqrt {} on the pooled baseline)",
                    hb.len(),
                    t.metric.key(),
                    m.cross_run_sd,
                    m.within_run_sd,
                    m.cross_run_sd,
                    m.within_run_sd,
                    m.between_run_sd,
                    hb.len()
                ),
                None => format!(
                    "; one baseline run, so an assumed run-to-run noise beyond sampling ({}: {:.3} before, {:.3} after) is drawn on each side of every resample (give several baselines to measure it)",
                    model.text(),
                    tau_b,
                    tau_a
                ),
            };
            let basis = format!(
                "{} histograms resampled bucket-wise, n requests per resample ({} baseline, {} after; no per-window histograms per endpoint in the input){noise_note}; widened by the bucket resolution of both sides",
                match pool.kind {
                    Kind::Locust => "Locust",
                    Kind::Goose => "Goose",
                    Kind::Exact => "exact request-time",
                },
                format::count(pool.n),
                format::count(ha.n),
            );
            let mut c = finish(t, endpoint, vb, va, interval, basis, n_after);
            // a resample of n/2 requests with fewer than a handful beyond the
            // percentile draws little more than its largest values, and the
            // bootstrap of a maximum is unreliable: it may say "no change" but
            // not that the percentile moved
            let beyond = |n: u64| n as f64 * (1.0 - q);
            let thin = beyond(pool.n).min(beyond(ha.n)) < MIN_TAIL_REQUESTS as f64;
            if thin
                && matches!(
                    c.verdict,
                    ChangeVerdict::Regressed | ChangeVerdict::Improved
                )
            {
                let (tol, _) = tolerance_of(t);
                c.verdict = ChangeVerdict::TooCloseToCall;
                c.state = state_of(t, c.verdict, tol, c.interval);
                c.basis.push_str(&format!(
                    "; fewer than {MIN_TAIL_REQUESTS} requests beyond the {} on one side, too few to call a change",
                    t.metric.key()
                ));
            }
            c
        }
        _ => point_latency_check(t, endpoint, bs, a, run_noise),
    }
}

/// Requests drawn per bootstrap resample of a run's histogram of `n`: all of
/// them. Measured on fixtures/regression, resampling n/2 made the sampling
/// sd of a p95 (0.29) several times the whole cross-run sd (0.07-0.09).
fn resample_size(n: u64) -> u64 {
    n.max(1)
}

/// Run-to-run noise of one percentile over runs of one setting, split into
/// the part the bootstrap already sees (sampling) and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunNoise {
    /// Runs measured.
    pub runs: usize,
    /// Sample sd of ln(percentile) over the runs.
    pub cross_run_sd: f64,
    /// Root of the mean, over the runs, of the bootstrap variance of
    /// ln(percentile) within one run (the gate's own resampling).
    pub within_run_sd: f64,
    /// `sqrt(max(0, cross² − within²))`: the noise between runs that
    /// resampling one run cannot see.
    pub between_run_sd: f64,
}

/// [`RunNoise`] of percentile `p` (e.g. 95) over runs of one setting, each
/// given as its latency distribution; `None` without two resampleable runs of
/// one kind.
pub fn run_noise(runs: &[&Latency], p: f64) -> Option<RunNoise> {
    let hists: Vec<Hist> = runs.iter().filter_map(|l| Hist::of(l)).collect();
    if hists.len() != runs.len() {
        return None;
    }
    noise_of_hists(&hists, p / 100.0)
}

fn noise_of_hists(hists: &[Hist], q: f64) -> Option<RunNoise> {
    if hists.len() < 2 || hists.iter().any(|h| h.kind != hists[0].kind) {
        return None;
    }
    let per_run: Vec<f64> = hists
        .iter()
        .filter_map(|h| h.quantile_ms(&h.counts, q))
        .collect();
    let cross = log_sd(&per_run)?;
    // a seed of its own, so that the noise of a set of runs is the same
    // whichever check or comparison asks for it
    let mut rng = Rng::new(SEED ^ 0x0015_E000);
    let mut sample = Vec::new();
    let mut var_sum = 0.0;
    for h in hists {
        let m = resample_size(h.n);
        let lns: Vec<f64> = (0..RESAMPLES)
            .filter_map(|_| {
                multinomial(&mut rng, m, &h.counts, &mut sample);
                h.quantile_ms(&sample, q).filter(|v| *v > 0.0).map(f64::ln)
            })
            .collect();
        var_sum += std_dev(&lns)?.powi(2);
    }
    let within = (var_sum / hists.len() as f64).sqrt();
    Some(RunNoise {
        runs: hists.len(),
        cross_run_sd: cross,
        within_run_sd: within,
        between_run_sd: (cross * cross - within * within).max(0.0).sqrt(),
    })
}

fn spread_note(runs: usize, used: bool) -> String {
    if used {
        format!("; widened by the run-to-run spread of {runs} baseline runs")
    } else {
        "; one baseline run, so no run-to-run spread".into()
    }
}

/// sd of ln(x) over runs (at least two, all positive).
fn log_sd(xs: &[f64]) -> Option<f64> {
    if xs.iter().any(|x| *x <= 0.0) {
        return None;
    }
    std_dev(&xs.iter().map(|x| x.ln()).collect::<Vec<_>>())
}

/// Widen `interval` on both sides by `1.96 · s · sqrt(1 + 1/N)` of the
/// per-run values, in change units; the width, when there was a spread.
fn widen_by_spread(interval: &mut Option<[f64; 2]>, per_run: &[f64], scale: f64) -> Option<f64> {
    let s = std_dev(per_run)?;
    let n = per_run.len() as f64;
    let w = 1.96 * s * (1.0 + 1.0 / n).sqrt() / scale;
    if let Some(iv) = interval.as_mut() {
        iv[0] -= w;
        iv[1] += w;
    }
    Some(w)
}

/// A latency check from point values only (CSV percentile columns, mean, max).
fn point_latency_check(
    t: &RelativeExpr,
    endpoint: Option<&str>,
    bs: &[&Endpoint],
    a: &Endpoint,
    run_noise: f64,
) -> Check {
    let value = |l: &Latency| match t.metric {
        RelativeMetric::Metric(Metric::Percentile(p)) => l.percentile(p).value(),
        RelativeMetric::Metric(Metric::Avg) => l.mean_ms(),
        RelativeMetric::Metric(Metric::Min) => l.min_ms,
        RelativeMetric::Metric(Metric::Max) => l.max_ms,
        _ => None,
    };
    let pooled = Latency::merge(bs.iter().map(|e| &e.latency));
    match (value(&pooled), value(&a.latency)) {
        (Some(b), Some(v)) if b > 0.0 => {
            // no distribution to resample: only the run-to-run noise and the
            // bucket resolution of CSV columns bound the change
            let (tol, rel) = tolerance_of(t);
            let _ = tol;
            let f = (1.96 * run_noise * std::f64::consts::SQRT_2).exp();
            let half = |x: f64| {
                crate::latency::bucket_range(&a.latency.dist, x)
                    .map_or(0.0, |(lo, hi)| (hi - lo) / 2.0)
            };
            let (lo_b, hi_b) = (b + half(b), (b - half(b)).max(f64::MIN_POSITIVE));
            let (lo_a, hi_a) = ((v - half(v)).max(0.0), v + half(v));
            let interval = if rel {
                [lo_a / lo_b / f - 1.0, hi_a / hi_b * f - 1.0]
            } else {
                [lo_a / f - lo_b, hi_a * f - hi_b]
            };
            finish(
                t,
                endpoint,
                b,
                v,
                Some(interval),
                format!(
                    "point values (the inputs carry no distribution to resample; Locust's --json or a request log has one): the interval is the bucket resolution and an assumed run-to-run noise of {:.0} % (sd of ln) only",
                    run_noise * 100.0
                ),
                Some(a.requests),
            )
        }
        _ => not_measured(t, endpoint, format!("no {} on one side", t.metric.key())),
    }
}

/// Per-second requests/s of the steady part of the timeline (points at peak users).
fn rps_series(run: &Run) -> Vec<f64> {
    let peak = run.peak_users;
    run.timeline
        .iter()
        .filter(|p| peak.is_none() || p.users == peak)
        .filter_map(|p| p.rps)
        .collect()
}

fn rps_check(rng: &mut Rng, t: &RelativeExpr, baselines: &[RunSide], after: &RunSide) -> Check {
    let (_, rel) = tolerance_of(t);
    let per_run: Vec<f64> = baselines
        .iter()
        .filter_map(|b| steady::sustained_rps(b.run).map(|s| s.rps))
        .collect();
    let Some(va) = steady::sustained_rps(after.run).map(|s| s.rps) else {
        return not_measured(t, None, "no sustained rps for the after run".into());
    };
    if per_run.len() != baselines.len() || per_run.is_empty() {
        return not_measured(t, None, "no sustained rps for a baseline run".into());
    }
    let vb = per_run.iter().sum::<f64>() / per_run.len() as f64;
    let sa = rps_series(after.run);
    let sbs: Vec<Vec<f64>> = baselines.iter().map(|b| rps_series(b.run)).collect();
    let observed = if rel { (va - vb) / vb } else { va - vb };
    let mut interval = None;
    if sa.len() >= 2 * BLOCK_S && sbs.iter().all(|s| s.len() >= 2 * BLOCK_S) {
        let ma = block_means(rng, &sa);
        let mbs: Vec<Vec<f64>> = sbs.iter().map(|s| block_means(rng, s)).collect();
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let center_a = mean(&sa);
        let center_b = sbs.iter().map(|s| mean(s)).sum::<f64>() / sbs.len() as f64;
        let changes: Vec<f64> = (0..RESAMPLES)
            .map(|i| {
                let b = mbs.iter().map(|m| m[i]).sum::<f64>() / mbs.len() as f64;
                // the series' spread around its own mean, moved onto the sustained figures
                let xa = va * ma[i] / center_a;
                let xb = vb * b / center_b;
                if rel { (xa - xb) / vb } else { xa - xb }
            })
            .collect();
        interval = interval_of(changes);
    }
    let spread = widen_by_spread(&mut interval, &per_run, if rel { vb } else { 1.0 });
    let basis = if interval.is_some() {
        format!(
            "sustained rps; interval from {BLOCK_S} s blocks of the per-second rps at peak users{}",
            spread_note(baselines.len(), spread.is_some())
        )
    } else {
        "sustained rps, point values: too few per-second points at peak users for an interval"
            .into()
    };
    let mut c = finish(
        t,
        None,
        vb,
        va,
        interval,
        basis,
        Some(after.run.total.requests),
    );
    c.change = Some(observed);
    c
}

/// CPU samples (percent of one core) between the test's start and end, and their seconds.
fn cpu_under_load(run: &Run, res: &ResourceSeries) -> Option<(Vec<f64>, f64)> {
    let (start, end) = (run.started?, run.ended?);
    let xs: Vec<f64> = res
        .samples
        .iter()
        .filter(|s| s.t >= start && s.t <= end)
        .filter_map(|s| s.cpu_percent)
        .collect();
    (xs.len() >= 2).then_some((xs, end - start))
}

/// CPU ms per request = mean CPU (cores) × seconds under load × 1000 ÷ requests.
fn cpu_ms_per_request(mean_cpu_percent: f64, seconds: f64, requests: u64) -> f64 {
    mean_cpu_percent / 100.0 * seconds * 1000.0 / requests as f64
}

fn cpu_per_request_check(
    rng: &mut Rng,
    t: &RelativeExpr,
    baselines: &[RunSide],
    after: &RunSide,
) -> Check {
    let (_, rel) = tolerance_of(t);
    let load = |s: &RunSide| -> Option<(Vec<f64>, f64, u64)> {
        let (xs, secs) = cpu_under_load(s.run, s.resources?)?;
        (s.run.total.requests > 0).then_some((xs, secs, s.run.total.requests))
    };
    let Some((xa, da, ra)) = load(after) else {
        return not_measured(
            t,
            None,
            "needs resource samples (--resources) covering the after run's start to end".into(),
        );
    };
    let bl: Vec<(Vec<f64>, f64, u64)> = baselines.iter().filter_map(load).collect();
    if bl.len() != baselines.len() {
        return not_measured(
            t,
            None,
            "needs resource samples (--resources-baseline) covering each baseline run's start to end".into(),
        );
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let va = cpu_ms_per_request(mean(&xa), da, ra);
    let per_run: Vec<f64> = bl
        .iter()
        .map(|(x, d, r)| cpu_ms_per_request(mean(x), *d, *r))
        .collect();
    let vb = per_run.iter().sum::<f64>() / per_run.len() as f64;
    let mut interval = None;
    if xa.len() >= 2 * BLOCK_S && bl.iter().all(|b| b.0.len() >= 2 * BLOCK_S) && vb > 0.0 {
        let ma = block_means(rng, &xa);
        let mbs: Vec<Vec<f64>> = bl.iter().map(|b| block_means(rng, &b.0)).collect();
        let changes: Vec<f64> = (0..RESAMPLES)
            .map(|i| {
                let a = cpu_ms_per_request(ma[i], da, ra);
                let b = bl
                    .iter()
                    .zip(&mbs)
                    .map(|((_, d, r), m)| cpu_ms_per_request(m[i], *d, *r))
                    .sum::<f64>()
                    / bl.len() as f64;
                if rel { (a - b) / vb } else { a - b }
            })
            .collect();
        interval = interval_of(changes);
    }
    let spread = widen_by_spread(&mut interval, &per_run, if rel { vb } else { 1.0 });
    let basis = format!(
        "server CPU ms per request = mean CPU of the samples between the test's start and end × its length ÷ its requests (after: {} samples over {}, {} requests); interval from {BLOCK_S} s blocks of the CPU samples{}",
        xa.len(),
        format::duration(da),
        format::count(ra),
        spread_note(baselines.len(), spread.is_some())
    );
    finish(t, None, vb, va, interval, basis, Some(ra))
}

/// rss_load and cpu_load relative targets: point values of the samples under load.
fn resource_point_check(t: &RelativeExpr, baselines: &[RunSide], after: &RunSide) -> Check {
    let figure = |s: &RunSide| -> Option<f64> {
        let res = s.resources?;
        let (start, end) = (s.run.started?, s.run.ended?);
        let under: Vec<&crate::model::ResourceSample> = res
            .samples
            .iter()
            .filter(|x| x.t >= start && x.t <= end)
            .collect();
        match t.metric {
            RelativeMetric::Metric(Metric::RssLoad) => under
                .iter()
                .filter_map(|x| x.rss_bytes)
                .max_by(f64::total_cmp),
            _ => {
                let xs: Vec<f64> = under.iter().filter_map(|x| x.cpu_percent).collect();
                (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
            }
        }
    };
    let bs: Vec<f64> = baselines.iter().filter_map(figure).collect();
    match (figure(after), bs.len() == baselines.len() && !bs.is_empty()) {
        (Some(a), true) => finish(
            t,
            None,
            bs.iter().sum::<f64>() / bs.len() as f64,
            a,
            None,
            "resource samples between the test's start and end, point values (no interval)".into(),
            None,
        ),
        _ => not_measured(
            t,
            None,
            "needs resource samples of every run (--resources, --resources-baseline)".into(),
        ),
    }
}

/// Split the aggregate p-th percentile's change into the request mix and the endpoints.
pub fn mix_shift(baselines: &[RunSide], after: &RunSide, p: f64) -> Option<MixShift> {
    let q = p / 100.0;
    let mut base_pairs = Vec::new();
    let mut rew_pairs = Vec::new();
    let mut after_pairs = Vec::new();
    for a in &after.run.endpoints {
        let ha = Hist::of(&a.latency)?;
        after_pairs.extend(
            ha.values_us
                .iter()
                .zip(&ha.counts)
                .map(|(&v, &c)| (v, c as f64)),
        );
        let hb: Vec<Hist> = baselines
            .iter()
            .filter_map(|b| find(b.run, &a.kind, &a.name))
            .filter_map(|e| Hist::of(&e.latency))
            .collect();
        let Some(pool) = Hist::pooled(&hb) else {
            continue;
        };
        let w = ha.n as f64 / pool.n as f64;
        rew_pairs.extend(
            pool.values_us
                .iter()
                .zip(&pool.counts)
                .map(|(&v, &c)| (v, c as f64 * w)),
        );
    }
    for e in baselines.iter().flat_map(|b| &b.run.endpoints) {
        let h = Hist::of(&e.latency)?;
        base_pairs.extend(
            h.values_us
                .iter()
                .zip(&h.counts)
                .map(|(&v, &c)| (v, c as f64)),
        );
    }
    let before = weighted_quantile(base_pairs, q)?;
    let reweighted = weighted_quantile(rew_pairs, q)?;
    let after_ms = weighted_quantile(after_pairs, q)?;
    let (mix, ends) = (reweighted - before, after_ms - reweighted);
    let text = format!(
        "of the aggregate p{} change {} → {} ({}), {} is explained by the request mix (baseline endpoints re-weighted to the after run's mix: {}) and {} by the endpoints themselves",
        trim(p),
        format::ms(before),
        format::ms(after_ms),
        signed_ms(after_ms - before),
        signed_ms(mix),
        format::ms(reweighted),
        signed_ms(ends)
    );
    Some(MixShift {
        before_ms: before,
        reweighted_ms: reweighted,
        after_ms,
        mix_ms: mix,
        endpoints_ms: ends,
        text,
    })
}

fn trim(p: f64) -> String {
    format!("{p}")
}

fn signed_ms(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", format::ms(v))
    } else {
        format!("-{}", format::ms(-v))
    }
}

impl Check {
    fn show_value(&self, v: f64) -> String {
        match self.unit {
            "fraction" => format::fraction(v),
            "req/s" => format::rps(v),
            "bytes" => format::bytes(v),
            "percent" => format::percent(v),
            "ms/request" => format!("{} CPU/request", format::ms(v)),
            _ => format::ms(v),
        }
    }

    fn show_change(&self, v: f64) -> String {
        if !v.is_finite() {
            return "n/a".into();
        }
        match self.change_unit {
            "relative" => format!("{:+.0}%", v * 100.0),
            "fraction" => format!("{:+.2}pp", v * 100.0),
            "req/s" => format!("{v:+.2} req/s"),
            "bytes" => format!(
                "{}{}",
                if v < 0.0 { "-" } else { "+" },
                format::bytes(v.abs())
            ),
            "percent" => format!("{v:+.1} % CPU"),
            _ => format!("{v:+.1} ms"),
        }
    }

    /// The parts of [`Check::line`] for a table's columns: before, after,
    /// `change [interval]`, and `verdict (limit ...)`; `None` when not measured.
    pub fn columns(&self) -> Option<[String; 4]> {
        let (Some(b), Some(a), Some(c)) = (self.before, self.after, self.change) else {
            return None;
        };
        let iv = self
            .interval
            .map(|[lo, hi]| format!(" [{}, {}]", self.show_change(lo), self.show_change(hi)))
            .unwrap_or_else(|| " (no interval)".into());
        Some([
            self.show_value(b),
            self.show_value(a),
            format!("{}{iv}", self.show_change(c)),
            format!(
                "{} (limit {})",
                self.verdict.label(),
                self.show_change(self.tolerance)
            ),
        ])
    }

    /// `400 ms → 1.5 s  +275% [+240%, +310%]  regressed (limit +10%)`.
    pub fn line(&self) -> String {
        let (Some(b), Some(a), Some(c)) = (self.before, self.after, self.change) else {
            return format!("not measured: {}", self.basis);
        };
        let iv = self
            .interval
            .map(|[lo, hi]| format!(" [{}, {}]", self.show_change(lo), self.show_change(hi)))
            .unwrap_or_else(|| " (no interval)".into());
        format!(
            "{} → {}  {}{}  {} (limit {})",
            self.show_value(b),
            self.show_value(a),
            self.show_change(c),
            iv,
            self.verdict.label(),
            self.show_change(self.tolerance)
        )
    }

    /// The check as a gate outcome.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            target: Target::new(
                self.title.clone(),
                TargetExpr {
                    text: self.expression.clone(),
                    warn: self.warn,
                    metric: self.gate_metric,
                    scope: self.target_scope.clone(),
                    op: self.op,
                    limit: self.tolerance,
                    over_s: None,
                    for_s: None,
                },
            ),
            state: self.state,
            measured: self.change.filter(|c| c.is_finite()),
            measured_text: if self.state == State::NotMeasured {
                "not measured".into()
            } else {
                self.line()
            },
            detail: self.basis.clone(),
            samples: self.samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_draws_have_the_right_mean() {
        let mut rng = Rng::new(1);
        for (n, p) in [(20u64, 0.1), (10_000, 0.3), (50, 0.9)] {
            let m: f64 = (0..4000)
                .map(|_| binomial(&mut rng, n, p) as f64)
                .sum::<f64>()
                / 4000.0;
            assert!(
                (m - n as f64 * p).abs() < 0.05 * n as f64 * p.max(0.1),
                "{n} {p} {m}"
            );
        }
    }

    #[test]
    fn multinomial_keeps_the_total() {
        let mut rng = Rng::new(2);
        let mut out = Vec::new();
        multinomial(&mut rng, 777, &[5, 0, 100, 3, 40], &mut out);
        assert_eq!(out.iter().sum::<u64>(), 777);
        assert_eq!(out[1], 0);
    }

    #[test]
    fn verdicts_follow_the_interval_against_the_band() {
        use ChangeVerdict::*;
        assert_eq!(decide(Op::Le, 0.1, 0.5, Some([0.3, 0.7])), Regressed);
        assert_eq!(decide(Op::Le, 0.1, -0.5, Some([-0.7, -0.3])), Improved);
        assert_eq!(decide(Op::Le, 0.1, 0.0, Some([-0.05, 0.05])), NoChange);
        assert_eq!(decide(Op::Le, 0.1, 0.1, Some([0.0, 0.2])), TooCloseToCall);
        // rps >= -10%: a drop is worse
        assert_eq!(decide(Op::Ge, -0.1, -0.5, Some([-0.6, -0.4])), Regressed);
        assert_eq!(decide(Op::Ge, -0.1, 0.5, Some([0.4, 0.6])), Improved);
    }

    #[test]
    fn locust_rule_matches_the_tool() {
        let b: BTreeMap<u64, u64> = (1..=10).map(|k| (k, 1)).collect();
        let vals: Vec<u64> = b.keys().map(|k| k * 1000).collect();
        let counts: Vec<u64> = b.values().copied().collect();
        for q in [0.0, 0.5, 0.95] {
            assert_eq!(
                quantile_us(&vals, &counts, q, Rule::Locust).map(|v| v / 1000),
                Some(crate::latency::locust_percentile(&b, 10, q))
            );
        }
    }
}

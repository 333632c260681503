//! Baseline against after: the Before/After comparison, `perfreport diff`, and
//! the regression check of `gate --baseline`.
//!
//! Changes are `(after - before) / before`, so a faster p95 reads `-49 %`;
//! "improvement" is that change with the sign that makes better positive
//! (lower latency, CPU and memory; higher throughput).

use super::steady;
use crate::error::{Error, Result};
use crate::format;
use crate::model::Run;
use serde::Serialize;

/// The figures of one side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    /// Run label.
    pub label: String,
    /// Sustained requests per second.
    pub rps: Option<f64>,
    /// p95 of all requests, ms.
    pub p95_ms: Option<f64>,
    /// p99 of all requests, ms.
    pub p99_ms: Option<f64>,
    /// Mean CPU under load, percent (basis stated by the resource analysis).
    pub cpu_percent: Option<f64>,
    /// Peak RSS under load, bytes.
    pub rss_bytes: Option<f64>,
    /// Peak users.
    pub users: Option<u64>,
    /// Duration, seconds.
    pub duration_s: Option<f64>,
}

impl Side {
    /// The figures of a run (resource figures are added by the caller).
    pub fn of(run: &Run) -> Side {
        Side {
            label: run.label.clone(),
            rps: steady::sustained_rps(run).map(|s| s.rps),
            p95_ms: run.total.latency.percentile(95.0).value(),
            p99_ms: run.total.latency.percentile(99.0).value(),
            cpu_percent: None,
            rss_bytes: None,
            users: run.peak_users,
            duration_s: run.duration_s,
        }
    }
}

/// Which direction is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Lower is better (latency, CPU, memory).
    Lower,
    /// Higher is better (throughput).
    Higher,
}

/// One metric before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Metric name (`p95`).
    pub metric: String,
    /// Before.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
    /// (after - before) / before, as a fraction.
    pub change: Option<f64>,
    /// Change with the sign that makes better positive, as a fraction.
    pub improvement: Option<f64>,
    /// Which direction is better.
    pub better: Better,
    /// `248 ms -> 126 ms (-49.2 %)`.
    pub text: String,
}

fn change(
    metric: &str,
    before: Option<f64>,
    after: Option<f64>,
    better: Better,
    show: fn(f64) -> String,
) -> Change {
    let ch = match (before, after) {
        (Some(b), Some(a)) if b != 0.0 => Some((a - b) / b),
        _ => None,
    };
    let improvement = ch.map(|c| if better == Better::Lower { -c } else { c });
    let text = match (before, after) {
        (Some(b), Some(a)) => format!(
            "{} → {}{}",
            show(b),
            show(a),
            ch.map(|c| format!(" ({})", format::change(c * 100.0)))
                .unwrap_or_default()
        ),
        (Some(b), None) => format!("{} → not measured", show(b)),
        (None, Some(a)) => format!("not measured → {}", show(a)),
        (None, None) => "not measured".into(),
    };
    Change {
        metric: metric.into(),
        before,
        after,
        change: ch,
        improvement,
        better,
        text,
    }
}

/// One endpoint before and after.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointChange {
    /// `GET /path`.
    pub endpoint: String,
    /// Requests before / after.
    pub requests: String,
    /// p95 change.
    pub p95: Change,
    /// p99 change.
    pub p99: Change,
    /// Error rate before → after.
    pub error_rate: String,
}

/// Baseline against after.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Baseline figures.
    pub baseline: Side,
    /// After figures.
    pub after: Side,
    /// RPS, p95, p99, CPU, memory.
    pub changes: Vec<Change>,
    /// Per endpoint present on both sides, by name.
    pub endpoints: Vec<EndpointChange>,
    /// Every endpoint and the relative targets with confidence intervals,
    /// when the caller ran the statistical comparison.
    pub statistical: Option<super::regression::StatComparison>,
}

/// Refuse runs whose user counts or durations differ by more than 10 %.
pub fn check_comparable(baseline: &Run, after: &Run, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let differs = |a: f64, b: f64| (a - b).abs() > 0.10 * a.max(b);
    let mut why = Vec::new();
    if let (Some(a), Some(b)) = (baseline.peak_users, after.peak_users)
        && differs(a as f64, b as f64)
    {
        why.push(format!("peak users {a} vs {b}"));
    }
    if let (Some(a), Some(b)) = (baseline.duration_s, after.duration_s)
        && differs(a, b)
    {
        why.push(format!(
            "durations {} vs {}",
            format::duration(a),
            format::duration(b)
        ));
    }
    if why.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "refusing to compare {} with {}: {} differ by more than 10 %, so latency and throughput are not like for like; pass --force to compare anyway",
            baseline.label,
            after.label,
            why.join(" and ")
        )))
    }
}

/// Compare two sides (with resource figures filled in by the caller when known).
pub fn compare(baseline_run: &Run, after_run: &Run, baseline: Side, after: Side) -> Comparison {
    let changes = vec![
        change("RPS", baseline.rps, after.rps, Better::Higher, format::rps),
        change(
            "p95",
            baseline.p95_ms,
            after.p95_ms,
            Better::Lower,
            format::ms,
        ),
        change(
            "p99",
            baseline.p99_ms,
            after.p99_ms,
            Better::Lower,
            format::ms,
        ),
        change(
            "CPU",
            baseline.cpu_percent,
            after.cpu_percent,
            Better::Lower,
            format::percent,
        ),
        change(
            "Memory",
            baseline.rss_bytes,
            after.rss_bytes,
            Better::Lower,
            format::bytes,
        ),
    ];
    let mut endpoints = Vec::new();
    for b in &baseline_run.endpoints {
        if let Some(a) = after_run
            .endpoints
            .iter()
            .find(|a| a.kind == b.kind && a.name == b.name)
        {
            let rate = |e: &crate::model::Endpoint| format::fraction(e.error_rate().unwrap_or(0.0));
            endpoints.push(EndpointChange {
                endpoint: b.label(),
                requests: format!(
                    "{} → {}",
                    format::count(b.requests),
                    format::count(a.requests)
                ),
                p95: change(
                    "p95",
                    b.latency.percentile(95.0).value(),
                    a.latency.percentile(95.0).value(),
                    Better::Lower,
                    format::ms,
                ),
                p99: change(
                    "p99",
                    b.latency.percentile(99.0).value(),
                    a.latency.percentile(99.0).value(),
                    Better::Lower,
                    format::ms,
                ),
                error_rate: format!("{} → {}", rate(b), rate(a)),
            });
        }
    }
    Comparison {
        baseline,
        after,
        changes,
        endpoints,
        statistical: None,
    }
}

/// When a change counts as a regression.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// p95/p99 worse by more than this fraction ...
    pub latency_fraction: f64,
    /// ... and by more than this many ms.
    pub latency_ms: f64,
    /// RPS lower by more than this fraction.
    pub rps_fraction: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            latency_fraction: 0.10,
            latency_ms: 5.0,
            rps_fraction: 0.10,
        }
    }
}

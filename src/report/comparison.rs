//! Before/After Comparison: the baseline and after runs side by side, and
//! per endpoint.

use super::spec::ReportSpec;
use crate::analysis::compare::{Better, Change, EndpointChange};
use crate::analysis::regression::{self, ChangeVerdict, EndpointRow, MixShift};
use crate::format;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One figure before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeFigures {
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
    /// `lower` or `higher`: which direction is better.
    pub better: String,
    /// `248 ms → 126 ms (-49.2 %)`.
    pub text: String,
}

impl From<&Change> for ChangeFigures {
    fn from(c: &Change) -> Self {
        ChangeFigures {
            metric: c.metric.clone(),
            before: c.before,
            after: c.after,
            change: c.change,
            improvement: c.improvement,
            better: match c.better {
                Better::Lower => "lower",
                Better::Higher => "higher",
            }
            .into(),
            text: c.text.clone(),
        }
    }
}

/// One endpoint before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointComparison {
    /// `GET /path`.
    pub endpoint: String,
    /// Requests before / after.
    pub requests: String,
    /// p95 change.
    pub p95: ChangeFigures,
    /// p99 change.
    pub p99: ChangeFigures,
    /// Error rate before → after.
    pub error_rate: String,
}

impl From<&EndpointChange> for EndpointComparison {
    fn from(e: &EndpointChange) -> Self {
        EndpointComparison {
            endpoint: e.endpoint.clone(),
            requests: e.requests.clone(),
            p95: (&e.p95).into(),
            p99: (&e.p99).into(),
            error_rate: e.error_rate.clone(),
        }
    }
}

/// One check of the after run against the baseline runs: a metric of one
/// endpoint (or of all requests, or the server) with the interval of its
/// change and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonCheck {
    /// `p95 GET /api/x vs baseline`; the title of its gate outcome too.
    pub title: String,
    /// The relative target it checks, as written (`p95{name:*} <= +10% vs baseline`).
    pub expression: String,
    /// `p95`, `error_rate`, `rps`, `cpu_per_request`, ...
    pub metric: String,
    /// `GET /api/x`, or none for all requests (or the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Unit of `before` and `after`: `ms`, `fraction`, `req/s`, `ms/request`, `bytes`, `percent`.
    pub unit: String,
    /// Baseline value (pooled over the baseline runs).
    pub before: Option<f64>,
    /// After value.
    pub after: Option<f64>,
    /// `relative` (a fraction of the baseline value) or the unit of an absolute change.
    pub change_unit: String,
    /// Observed change, in `change_unit`.
    pub change: Option<f64>,
    /// 95 % interval of the change, in `change_unit`.
    pub interval: Option<[f64; 2]>,
    /// The tolerance as a signed change in `change_unit`.
    pub tolerance: f64,
    /// The conclusion.
    pub verdict: ChangeVerdict,
    /// `400 ms → 1.5 s  +275% [+240%, +310%]  regressed (limit +10%)`, as the terminal shows it.
    pub line: String,
    /// Where the check applies, for a table: the endpoint, `all requests` or `server`.
    pub scope_text: String,
    /// `400 ms`, or `not measured`.
    pub before_text: String,
    /// `1.5 s`, or `not measured`.
    pub after_text: String,
    /// `+275% [+240%, +310%]`: the change and its 95 % interval, or why it was not measured.
    pub change_text: String,
    /// `regressed (limit +10%)`.
    pub verdict_text: String,
    /// How the interval was found, or why nothing was measured.
    pub basis: String,
    /// `warn:` target: a regression is only a warning.
    pub warn: bool,
}

impl From<&regression::Check> for ComparisonCheck {
    fn from(c: &regression::Check) -> Self {
        let columns = c.columns();
        ComparisonCheck {
            title: c.title.clone(),
            expression: c.expression.clone(),
            metric: c.metric.clone(),
            endpoint: c.endpoint.clone(),
            unit: c.unit.into(),
            before: c.before,
            after: c.after,
            change_unit: c.change_unit.into(),
            change: c.change,
            interval: c.interval,
            tolerance: c.tolerance,
            verdict: c.verdict,
            line: c.line(),
            scope_text: match (&c.endpoint, c.metric.as_str()) {
                (Some(e), _) => e.clone(),
                (None, "cpu_per_request" | "rss_load" | "cpu_load") => "server".into(),
                (None, _) => "all requests".into(),
            },
            before_text: columns
                .as_ref()
                .map_or_else(|| "not measured".into(), |k| k[0].clone()),
            after_text: columns
                .as_ref()
                .map_or_else(|| "not measured".into(), |k| k[1].clone()),
            change_text: columns
                .as_ref()
                .map_or_else(|| c.basis.clone(), |k| k[2].clone()),
            verdict_text: columns
                .as_ref()
                .map_or_else(|| c.verdict.label().into(), |k| k[3].clone()),
            basis: c.basis.clone(),
            warn: c.warn,
        }
    }
}

/// The statistical comparison of the after run with the baseline runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonStatistics {
    /// Baseline run labels (several runs measure their run-to-run spread).
    pub baselines: Vec<String>,
    /// Every check, in the order of the relative targets.
    pub checks: Vec<ComparisonCheck>,
    /// Every endpoint present in both runs: requests, share, error rate, p50/p95/p99.
    pub endpoints: Vec<EndpointRow>,
    /// Endpoints only in the after run (not compared).
    pub added: Vec<String>,
    /// Endpoints only in the baseline runs (not compared).
    pub removed: Vec<String>,
    /// How much of the aggregate p95's change the request mix explains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_shift: Option<MixShift>,
    /// The statistical method, in one paragraph.
    pub method: String,
    /// Count of checks per verdict: regressed, improved, no change, too close to call, not measured.
    pub verdict_counts: VerdictCounts,
}

/// How many checks reached each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictCounts {
    /// Worse than the tolerance, with confidence.
    pub regressed: usize,
    /// Better than the tolerance, with confidence.
    pub improved: usize,
    /// Within the tolerance, with confidence.
    pub no_change: usize,
    /// The interval crosses a tolerance bound.
    pub too_close_to_call: usize,
    /// Could not be compared.
    pub not_measured: usize,
}

impl From<&regression::StatComparison> for ComparisonStatistics {
    fn from(s: &regression::StatComparison) -> Self {
        let mut counts = VerdictCounts::default();
        for c in &s.checks {
            *match c.verdict {
                ChangeVerdict::Regressed => &mut counts.regressed,
                ChangeVerdict::Improved => &mut counts.improved,
                ChangeVerdict::NoChange => &mut counts.no_change,
                ChangeVerdict::TooCloseToCall => &mut counts.too_close_to_call,
                ChangeVerdict::NotMeasured => &mut counts.not_measured,
            } += 1;
        }
        ComparisonStatistics {
            baselines: s.baselines.clone(),
            checks: s.checks.iter().map(Into::into).collect(),
            endpoints: s.endpoints.clone(),
            added: s.added.clone(),
            removed: s.removed.clone(),
            mix_shift: s.mix_shift.clone(),
            method: s.method.clone(),
            verdict_counts: counts,
        }
    }
}

/// The Before/After Comparison section; the figures are there only when a
/// baseline and an after run were given (`comparison` says which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComparisonSection {
    /// Whether a baseline and an after run were given.
    pub comparison: bool,
    /// Baseline run label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_label: Option<String>,
    /// After run label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_label: Option<String>,
    /// The baseline's figures, one a line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_lines: Option<Vec<String>>,
    /// The after run's figures, one a line, and the improvement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_lines: Option<Vec<String>>,
    /// Per endpoint present on both sides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_endpoints: Option<Vec<EndpointComparison>>,
    /// Per endpoint and metric against the baseline, with confidence intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_statistics: Option<ComparisonStatistics>,
    /// What to pass when there is no pair.
    pub comparison_missing: String,
}

const MISSING: &str = "No baseline/after pair was supplied: pass [baseline] and [after] runs in --config, or compare two runs with perfreport diff --baseline B --after A.";

/// Derive the section; it is missing without a baseline/after pair.
pub fn build(spec: &ReportSpec, missing: &mut super::Missing) -> ComparisonSection {
    let Some(c) = &spec.comparison else {
        missing.push((
            "comparison",
            "Before/After Comparison: `[baseline]` and `[after]` runs in --config".into(),
        ));
        return ComparisonSection {
            comparison: false,
            baseline_label: None,
            after_label: None,
            baseline_lines: None,
            after_lines: None,
            comparison_endpoints: None,
            comparison_statistics: None,
            comparison_missing: MISSING.into(),
        };
    };
    let show = |metric: &str, v: Option<f64>| -> String {
        match (metric, v) {
            (_, None) => "not measured (pass --resources for CPU and memory)".into(),
            ("RPS", Some(v)) => format!("{v:.2}"),
            ("CPU", Some(v)) => format::percent(v),
            ("Memory", Some(v)) => format::bytes(v),
            (_, Some(v)) => format::ms(v),
        }
    };
    let side = |before: bool| -> Vec<String> {
        c.changes
            .iter()
            .map(|ch| {
                format!(
                    "{}: {}",
                    ch.metric,
                    show(&ch.metric, if before { ch.before } else { ch.after })
                )
            })
            .collect()
    };
    let mut after = side(false);
    let improvements: Vec<String> = c
        .changes
        .iter()
        .filter_map(|ch| {
            ch.improvement
                .map(|i| format!("{} {}", ch.metric, format::change(i * 100.0)))
        })
        .collect();
    after.push(format!("Improvement: {}", improvements.join(", ")));
    ComparisonSection {
        comparison: true,
        baseline_label: Some(c.baseline.label.clone()),
        after_label: Some(c.after.label.clone()),
        baseline_lines: Some(side(true)),
        after_lines: Some(after),
        comparison_endpoints: Some(c.endpoints.iter().map(Into::into).collect()),
        comparison_statistics: c.statistical.as_ref().map(Into::into),
        comparison_missing: MISSING.into(),
    }
}

//! Before/After Comparison: the baseline and after runs side by side, and
//! per endpoint.

use super::spec::ReportSpec;
use crate::analysis::compare::{Better, Change, EndpointChange};
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
        comparison_missing: MISSING.into(),
    }
}

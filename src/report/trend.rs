//! Trend: the recorded runs of a run store (`render --history db:...`), one
//! row each, and their charts (p95, p99, RPS and error rate per recorded
//! run, regressed runs shaded).
//!
//! The app layer reads the store and hands the runs over in
//! [`ReportSpec::history`](super::ReportSpec::history); nothing here reads a
//! file. What marks a run regressed is [`REGRESSION_BASIS`].

use super::charts::{self, Band, Chart, Figure, Line, LineChart, XAxis};
use super::spec::ReportSpec;
use crate::history::RecordedRun;
use crate::history::trend::{TrendRow, rows};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::history::trend::REGRESSION_BASIS;

/// The recorded runs a report's Trend is made of.
#[derive(Debug, Clone)]
pub struct History {
    /// Where they come from, as given (`db:perfreport.db?last=5`).
    pub source: String,
    /// The runs, oldest first.
    pub runs: Vec<RecordedRun>,
}

/// The Trend section: the rows, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrendSection {
    /// Where the runs come from (`db:perfreport.db?last=5`); none when no
    /// history was given (the template then leaves the section out).
    pub source: Option<String>,
    /// The rows, oldest first.
    pub rows: Vec<TrendRow>,
    /// What marks a run regressed.
    pub basis: String,
    /// Why there is no trend (no history given, no runs recorded).
    pub missing: Option<String>,
    /// The trend charts as files beside a markdown report (set when the
    /// report is written with `--out`).
    pub charts: Vec<ChartLink>,
    /// Where the charts are when they are not linked files.
    pub chart_note: String,
}

/// A chart file the markdown report links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChartLink {
    /// Its heading (alt text).
    pub heading: String,
    /// The file name, beside the report.
    pub file: String,
}

impl Default for TrendSection {
    /// No history given (also what a saved model without a trend reads as).
    fn default() -> Self {
        TrendSection {
            source: None,
            rows: Vec::new(),
            basis: REGRESSION_BASIS.into(),
            missing: Some("no run history given: record runs with `perfreport record` (or `gate --record`) and render with `--history db:perfreport.db`".into()),
            charts: Vec::new(),
            chart_note: String::new(),
        }
    }
}

/// The Trend section of a run set.
pub fn build(spec: &ReportSpec) -> TrendSection {
    let Some(h) = &spec.history else {
        return TrendSection::default();
    };
    TrendSection {
        source: Some(h.source.clone()),
        rows: rows(&h.runs),
        basis: REGRESSION_BASIS.into(),
        missing: h.runs.is_empty().then(|| {
            format!(
                "{} holds no recorded runs matching its filters: record runs with `perfreport record` or `gate --record`",
                h.source
            )
        }),
        charts: Vec::new(),
        chart_note: "The trend charts are in the Charts section of the HTML report (`--format html`), or files beside a markdown report written with `--out`.".into(),
    }
}

/// The Trend charts of a run set (none without a history or runs).
pub fn figures(spec: &ReportSpec) -> Vec<Figure> {
    spec.history
        .as_ref()
        .map(|h| run_figures(&h.runs))
        .unwrap_or_default()
}

/// The Trend charts: p95, p99 and RPS per recorded run, and the error rate,
/// with regressed runs shaded. x is the run's store id.
pub fn run_figures(runs: &[RecordedRun]) -> Vec<Figure> {
    if runs.is_empty() {
        return Vec::new();
    }
    let x = |r: &RecordedRun| r.id.unwrap_or_default() as f64;
    let series = |f: &dyn Fn(&RecordedRun) -> Option<f64>| -> Vec<(f64, f64)> {
        runs.iter()
            .filter_map(|r| f(r).map(|v| (x(r), v)))
            .collect()
    };
    let first_x = runs.iter().map(x).fold(f64::INFINITY, f64::min);
    let last_x = runs.iter().map(x).fold(f64::NEG_INFINITY, f64::max);
    let marked: Vec<Band> = rows(runs)
        .iter()
        .zip(runs)
        .filter(|(row, _)| !row.regressions.is_empty())
        .map(|(row, r)| Band {
            // clipped to the runs drawn, so a band does not widen the x axis
            x0: (x(r) - 0.5).max(first_x),
            x1: (x(r) + 0.5).min(last_x),
            // the full figures are in the table; the band names the metrics
            label: {
                let mut metrics: Vec<&str> = Vec::new();
                for t in &row.regressions {
                    let m = if t.starts_with("error rate") {
                        "error rate"
                    } else {
                        t.split(' ').next().unwrap_or_default()
                    };
                    if !metrics.contains(&m) {
                        metrics.push(m);
                    }
                }
                let n = row.regressions.len();
                format!(
                    "#{} regressed: {}{}",
                    row.id,
                    metrics.join(", "),
                    if n > metrics.len() {
                        format!(" ({n} checks)")
                    } else {
                        String::new()
                    }
                )
            },
            fill: charts::VERMILLION.into(),
            opacity: 0.15,
        })
        .collect();
    let legend = if marked.is_empty() {
        vec![]
    } else {
        vec![(
            "regressed run".to_string(),
            charts::VERMILLION.to_string(),
            0.15,
        )]
    };
    let marker = |mut l: Line| {
        l.markers = true;
        l
    };
    let mut rps = marker(Line::new("RPS", charts::GREEN, series(&|r| r.rps)));
    rps.right = true;
    rps.dash = true;
    let latency = LineChart {
        id: "trend".into(),
        title: "Trend: latency and throughput per recorded run".into(),
        x_title: "recorded run (id)".into(),
        y_title: "latency (ms)".into(),
        y2_title: Some("requests/s".into()),
        x: XAxis::Linear,
        lines: vec![
            marker(Line::new("p95", charts::BLUE, series(&|r| r.p95_ms))),
            marker(Line::new("p99", charts::ORANGE, series(&|r| r.p99_ms))),
            rps,
        ],
        bands: marked.clone(),
        band_legend: legend.clone(),
        hlines: vec![],
    };
    let errors = LineChart {
        id: "trend-errors".into(),
        title: "Trend: error rate per recorded run".into(),
        x_title: "recorded run (id)".into(),
        y_title: "error rate (%)".into(),
        y2_title: None,
        x: XAxis::Linear,
        lines: vec![marker(Line::new(
            "error rate",
            charts::PURPLE,
            series(&|r| r.error_rate().map(|e| e * 100.0)),
        ))],
        bands: marked,
        band_legend: legend,
        hlines: vec![],
    };
    vec![
        Figure {
            id: "trend".into(),
            kind: "trend".into(),
            heading: "Trend: latency and throughput".into(),
            basis: format!(
                "p95 and p99 of all requests and the sustained rate of each recorded run, as recorded; {REGRESSION_BASIS} (shaded)."
            ),
            chart: Chart::Line(latency),
        },
        Figure {
            id: "trend-errors".into(),
            kind: "trend".into(),
            heading: "Trend: error rate".into(),
            basis: format!(
                "failed requests ÷ requests of each recorded run; {REGRESSION_BASIS} (shaded)."
            ),
            chart: Chart::Line(errors),
        },
    ]
}

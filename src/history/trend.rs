//! Recorded runs over time: the `history` table, and the report's Trend
//! section and charts.
//!
//! A run is marked regressed when it is worse than the run listed before it
//! by more than the default regression tolerance (its verdict against the
//! targets is a column of its own): p95 or p99 up by more
//! than 10 % and 5 ms, throughput down by more than 10 %, error rate up by
//! more than 0.5 percentage points.

use super::RecordedRun;
use crate::format;
use crate::render::html::Figure;
use crate::render::svg::{self, Band, Line, LineChart, XAxis};
use serde::Serialize;

/// The one sentence on what marks a run regressed.
pub const REGRESSION_BASIS: &str = "a run is marked regressed when, against the run listed before it, its p95 or p99 rose by more than 10 % and 5 ms, its throughput fell by more than 10 %, or its error rate rose by more than 0.5 percentage points";

/// One recorded run as a row of the history table.
#[derive(Debug, Clone, Serialize)]
pub struct TrendRow {
    /// Store id.
    pub id: i64,
    /// When the test started (else when it was recorded), UTC.
    pub time: String,
    /// Branch label, or `-`.
    pub branch: String,
    /// Commit (first 10 characters), or `-`.
    pub commit: String,
    /// Requests.
    pub requests: String,
    /// Sustained rate.
    pub rps: String,
    /// p95 of all requests.
    pub p95: String,
    /// p99 of all requests.
    pub p99: String,
    /// Error rate.
    pub error_rate: String,
    /// `passed`, `missed`, `nothing measured`, or `not judged`.
    pub verdict: String,
    /// What regressed against the previous run (empty: none).
    pub regressions: Vec<String>,
}

fn dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

fn verdict_text(r: &RecordedRun) -> String {
    match r.verdict.as_ref().map(|v| v.exit_code) {
        Some(0) => "passed".into(),
        Some(1) => "missed".into(),
        Some(3) => "nothing measured".into(),
        Some(c) => format!("exit {c}"),
        None => "not judged".into(),
    }
}

/// What regressed in `run` against `prev`.
pub fn regressions(prev: Option<&RecordedRun>, run: &RecordedRun) -> Vec<String> {
    let mut out = Vec::new();
    let Some(prev) = prev else { return out };
    for (name, b, a) in [
        ("p95", prev.p95_ms, run.p95_ms),
        ("p99", prev.p99_ms, run.p99_ms),
    ] {
        if let (Some(b), Some(a)) = (b, a)
            && a - b > 5.0
            && a > b * 1.10
        {
            out.push(format!("{name} {} → {}", format::ms(b), format::ms(a)));
        }
    }
    if let (Some(b), Some(a)) = (prev.rps, run.rps)
        && a < b * 0.90
    {
        out.push(format!("RPS {} → {}", format::rps(b), format::rps(a)));
    }
    if let (Some(b), Some(a)) = (prev.error_rate(), run.error_rate())
        && a - b > 0.005
    {
        out.push(format!(
            "error rate {} → {}",
            format::fraction(b),
            format::fraction(a)
        ));
    }
    out
}

/// The rows of the history table, oldest first.
pub fn rows(runs: &[RecordedRun]) -> Vec<TrendRow> {
    runs.iter()
        .enumerate()
        .map(|(i, r)| {
            let at = r.started.filter(|t| *t > 1e9).unwrap_or(r.recorded_at);
            TrendRow {
                id: r.id.unwrap_or_default(),
                time: format::time(at),
                branch: dash(r.labels.branch.clone()),
                commit: dash(
                    r.labels
                        .commit
                        .as_ref()
                        .map(|c| c.chars().take(10).collect()),
                ),
                requests: format::count(r.requests),
                rps: dash(r.rps.map(format::rps)),
                p95: dash(r.p95_ms.map(format::ms)),
                p99: dash(r.p99_ms.map(format::ms)),
                error_rate: dash(r.error_rate().map(format::fraction)),
                verdict: verdict_text(r),
                regressions: regressions(i.checked_sub(1).map(|p| &runs[p]), r),
            }
        })
        .collect()
}

/// The history as a plain-text table for the terminal.
pub fn table(runs: &[RecordedRun]) -> String {
    let header = [
        "id",
        "time (UTC)",
        "branch",
        "commit",
        "requests",
        "RPS",
        "p95",
        "p99",
        "error rate",
        "verdict",
        "regressed",
    ];
    let body: Vec<[String; 11]> = rows(runs)
        .into_iter()
        .map(|r| {
            [
                r.id.to_string(),
                r.time,
                r.branch,
                r.commit,
                r.requests,
                r.rps,
                r.p95,
                r.p99,
                r.error_rate,
                r.verdict,
                if r.regressions.is_empty() {
                    "-".into()
                } else {
                    r.regressions.join("; ")
                },
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &body {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for row in &body {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The Trend section's context: the rows, or why there are none.
#[derive(Debug, Clone, Serialize)]
pub struct TrendContext {
    /// Where the runs come from (`db:perfreport.db?last=5`), when given.
    pub source: Option<String>,
    /// The rows, oldest first.
    pub rows: Vec<TrendRow>,
    /// What marks a run regressed.
    pub basis: String,
    /// Why there is no trend (no history given, no runs recorded).
    pub missing: Option<String>,
    /// The trend charts as files beside a markdown report.
    pub charts: Vec<ChartLink>,
    /// Where the charts are when they are not linked files.
    pub chart_note: String,
}

/// A chart file the markdown report links.
#[derive(Debug, Clone, Serialize)]
pub struct ChartLink {
    /// Its heading (alt text).
    pub heading: String,
    /// The file name, beside the report.
    pub file: String,
}

impl TrendContext {
    /// The context for recorded runs read from `source`.
    pub fn of(source: &str, runs: &[RecordedRun]) -> TrendContext {
        TrendContext {
            source: Some(source.to_string()),
            rows: rows(runs),
            basis: REGRESSION_BASIS.into(),
            missing: runs.is_empty().then(|| {
                format!("{source} holds no recorded runs matching its filters: record runs with `perfreport record` or `gate --record`")
            }),
            charts: Vec::new(),
            chart_note: "The trend charts are in the Charts section of the HTML report (`--format html`), or files beside a markdown report written with `--out`.".into(),
        }
    }

    /// The context when no history was given.
    pub fn not_given() -> TrendContext {
        TrendContext {
            source: None,
            rows: Vec::new(),
            basis: REGRESSION_BASIS.into(),
            missing: Some("no run history given: record runs with `perfreport record` (or `gate --record`) and render with `--history db:perfreport.db`".into()),
            charts: Vec::new(),
            chart_note: String::new(),
        }
    }
}

/// The Trend charts: p95, p99 and RPS per recorded run, and the error rate,
/// with regressed runs shaded. x is the run's store id.
pub fn figures(runs: &[RecordedRun]) -> Vec<Figure> {
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
            label: format!(
                "#{} regressed: {}",
                row.id,
                row.regressions
                    .iter()
                    .map(|t| if t.starts_with("error rate") {
                        "error rate"
                    } else {
                        t.split(' ').next().unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            fill: svg::VERMILLION,
            opacity: 0.15,
        })
        .collect();
    let legend = if marked.is_empty() {
        vec![]
    } else {
        vec![("regressed run".to_string(), svg::VERMILLION, 0.15)]
    };
    let marker = |mut l: Line| {
        l.markers = true;
        l
    };
    let mut rps = marker(Line::new("RPS", svg::GREEN, series(&|r| r.rps)));
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
            marker(Line::new("p95", svg::BLUE, series(&|r| r.p95_ms))),
            marker(Line::new("p99", svg::ORANGE, series(&|r| r.p99_ms))),
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
            svg::PURPLE,
            series(&|r| r.error_rate().map(|e| e * 100.0)),
        ))],
        bands: marked,
        band_legend: legend,
        hlines: vec![],
    };
    vec![
        Figure {
            id: "trend".into(),
            kind: "trend",
            heading: "Trend: latency and throughput".into(),
            basis: format!(
                "p95 and p99 of all requests and the sustained rate of each recorded run, as recorded; {REGRESSION_BASIS} (shaded)."
            ),
            svg: latency.svg(),
        },
        Figure {
            id: "trend-errors".into(),
            kind: "trend",
            heading: "Trend: error rate".into(),
            basis: format!(
                "failed requests ÷ requests of each recorded run; {REGRESSION_BASIS} (shaded)."
            ),
            svg: errors.svg(),
        },
    ]
}

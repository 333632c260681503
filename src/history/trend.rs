//! Recorded runs over time: the `history` table and its rows (the report's
//! Trend section, [`crate::report::trend`], lays out the same rows).
//!
//! A run is marked regressed when the gate's statistical comparison
//! ([`crate::analysis::regression`], its default relative targets and
//! default run-to-run noise) calls it regressed against the run listed
//! before it, from the per-endpoint histograms recorded with each run: the
//! Trend and `gate --baseline` never disagree on a pair of runs. Its verdict
//! against the targets is a column of its own.

use super::RecordedRun;
use crate::format;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The one sentence on what marks a run regressed.
pub const REGRESSION_BASIS: &str = "a run is marked regressed when the statistical comparison of `gate --baseline` (default relative targets: each endpoint's p50/p95/p99 and the aggregate p95 within +10 %, error rate +0.5 pp, rps -10 %; bootstrap intervals with the default run-to-run noise) calls it regressed against the run listed before it, from their recorded histograms";

/// One recorded run as a row of the history table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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

/// What regressed in `run` against `prev`: the checks the gate's statistical
/// comparison calls regressed, all-request checks first.
pub fn regressions(prev: Option<&RecordedRun>, run: &RecordedRun) -> Vec<String> {
    use crate::analysis::regression::{self, ChangeVerdict, RunSide};
    let Some(prev) = prev else {
        return Vec::new();
    };
    // the path only names the store in messages; a run that cannot be read
    // back is not compared (the gate refuses it with the same message)
    let db = std::path::Path::new("run history");
    let (Ok(b), Ok(a)) = (prev.to_run(db), run.to_run(db)) else {
        return Vec::new();
    };
    let side = |r| RunSide {
        run: r,
        resources: None,
    };
    let c = regression::compare(&[side(&b)], &side(&a), &regression::default_targets());
    let mut hit: Vec<&regression::Check> = c
        .checks
        .iter()
        .filter(|k| k.verdict == ChangeVerdict::Regressed)
        .collect();
    hit.sort_by_key(|k| k.endpoint.is_some());
    hit.iter()
        .map(|k| {
            let what = k.title.trim_end_matches(" vs baseline");
            match k.columns() {
                Some([b, a, ch, _]) => format!("{what} {b} → {a} {ch}"),
                None => what.to_string(),
            }
        })
        .collect()
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

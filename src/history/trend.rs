//! Recorded runs over time: the `history` table and its rows (the report's
//! Trend section, [`crate::report::trend`], lays out the same rows).
//!
//! A run is marked regressed when it is worse than the run listed before it
//! by more than the default regression tolerance (its verdict against the
//! targets is a column of its own): p95 or p99 up by more
//! than 10 % and 5 ms, throughput down by more than 10 %, error rate up by
//! more than 0.5 percentage points.

use super::RecordedRun;
use crate::format;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The one sentence on what marks a run regressed.
pub const REGRESSION_BASIS: &str = "a run is marked regressed when, against the run listed before it, its p95 or p99 rose by more than 10 % and 5 ms, its throughput fell by more than 10 %, or its error rate rose by more than 0.5 percentage points";

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

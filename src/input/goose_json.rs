//! Goose JSON report (`--report-file report.json`; a `.json.gz` name is read
//! through gzip). Seen: Goose 0.19.0 (see `../shared/formats/goose.md`); 0.18
//! reports (`times` in whole ms, no run record) are read from their own
//! percentile table.
//!
//! The report is the end-of-run summary **after Goose's metrics reset**: it
//! counts the requests that completed from the Maintaining step on (ramp-up is
//! dropped). Per request it carries the exact µs count/min/max/sum and Goose's
//! log-linear µs buckets (`times_us`), so percentiles are recomputed with
//! Goose's own rule ([`crate::latency::goose_percentile`]) rather than taken
//! from the truncated whole-ms table. The table rows (`raw_request_metrics`)
//! are used only to cross-check the counts.

use crate::error::{Error, Result};
use crate::input::locust_csv::status_from_error;
use crate::latency::{Distribution, Latency, bucket_quantile};
use crate::model::{
    Endpoint, FailureGroup, LoadStep, Run, TimelinePoint, Tool, ToolThreshold, UnixSeconds, Window,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The top-level report object (Goose `ReportData` plus the 0.19 run record).
#[derive(Deserialize)]
struct GReport {
    notes: Option<String>,
    goose_version: Option<String>,
    started: Option<String>,
    ended: Option<String>,
    ended_by: Option<String>,
    canceled_reason: Option<String>,
    #[serde(default)]
    in_progress: bool,
    raw_metrics: GMetrics,
    #[serde(default)]
    raw_request_metrics: Vec<GRequestRow>,
    #[serde(default)]
    raw_response_metrics: Vec<GResponseRow>,
    errors: Option<Vec<GErrorRow>>,
    graphs: Option<serde_json::Value>,
    #[serde(default)]
    scenario_metrics: Option<Vec<GScenarioRow>>,
    #[serde(default)]
    transaction_metrics: Option<Vec<GTransactionRow>>,
}

/// `scenario_metrics[]`: one row per registered scenario, plus Aggregated.
#[derive(Deserialize)]
struct GScenarioRow {
    name: String,
    #[serde(default)]
    users: u64,
    #[serde(default)]
    count: u64,
    response_time_average: Option<f64>,
}

/// `transaction_metrics[]`: a scenario header row, then its transactions.
#[derive(Deserialize)]
struct GTransactionRow {
    is_scenario: bool,
    /// `scenario.transaction` index (`3.1`); empty on scenario rows and on
    /// the closing Aggregated row.
    #[serde(default)]
    transaction: String,
    name: String,
    #[serde(default)]
    number_of_requests: u64,
    #[serde(default)]
    number_of_failures: u64,
    response_time_average: Option<f64>,
}

/// `raw_metrics`: Goose's `GooseMetrics`.
#[derive(Deserialize)]
struct GMetrics {
    #[serde(default)]
    history: Vec<GHistory>,
    duration: f64,
    #[serde(default)]
    maximum_users: Option<u64>,
    requests: BTreeMap<String, GRequest>,
    errors: Option<BTreeMap<String, GError>>,
    thresholds: Option<Vec<GThreshold>>,
}

/// One step of the test plan.
#[derive(Deserialize)]
struct GHistory {
    action: String,
    timestamp: String,
    users: u64,
}

/// `raw_metrics.requests["GET /path"]`.
#[derive(Deserialize)]
struct GRequest {
    path: String,
    method: String,
    raw_data: GTiming,
    #[serde(default)]
    status_code_counts: BTreeMap<String, u64>,
    success_count: u64,
    fail_count: u64,
    #[serde(default)]
    custom_method: String,
}

/// `raw_data`: timing aggregate; µs fields since 0.19, `times` (ms) before.
#[derive(Deserialize)]
struct GTiming {
    minimum_time: u64,
    maximum_time: u64,
    total_time: u64,
    counter: u64,
    times_us: Option<BTreeMap<String, u64>>,
    times: Option<BTreeMap<String, u64>>,
    minimum_time_us: Option<u64>,
    maximum_time_us: Option<u64>,
    total_time_us: Option<u64>,
}

/// `raw_metrics.errors[...]`.
#[derive(Deserialize)]
struct GError {
    method: String,
    name: String,
    error: String,
    occurrences: u64,
}

/// `raw_metrics.thresholds[]`.
#[derive(Deserialize)]
struct GThreshold {
    rule: String,
    observed: String,
    passed: bool,
    #[serde(default)]
    aborted: bool,
}

/// `raw_request_metrics[]`: the request table, used to cross-check counts.
#[derive(Deserialize)]
struct GRequestRow {
    method: String,
    name: String,
    number_of_requests: u64,
    number_of_failures: u64,
}

/// `raw_response_metrics[]`: the percentile table (whole ms, truncated).
#[derive(Deserialize)]
struct GResponseRow {
    method: String,
    name: String,
    percentile_50: f64,
    percentile_60: f64,
    percentile_70: f64,
    percentile_80: f64,
    percentile_90: f64,
    percentile_95: f64,
    percentile_99: f64,
    percentile_100: f64,
}

/// `errors[]`: the error table.
#[derive(Deserialize)]
struct GErrorRow {
    method: String,
    name: String,
    error: String,
    occurrences: u64,
}

fn json_error(path: &Path, e: serde_json::Error) -> Error {
    let what = if e.is_eof() {
        "the JSON ends early: the file is truncated (expected a complete Goose report.json; \
         Goose writes it only at the end of the run)"
            .to_string()
    } else {
        format!(
            "expected a Goose report.json object: {}",
            super::json_message(&e)
        )
    };
    Error::parse(path, Some(e.line() as u64), Some(e.column() as u64), what)
}

/// 1-based line of the first occurrence of `needle` in `bytes`, to point an
/// error about a value found after deserializing.
fn line_of(bytes: &[u8], needle: &str) -> Option<u64> {
    memchr::memmem::find(bytes, needle.as_bytes()).map(|at| super::line_at_offset(bytes, at))
}

/// An RFC 3339 time as unix seconds (ns precision kept as far as f64 allows).
pub(crate) fn parse_time(
    path: &Path,
    bytes: &[u8],
    field: &str,
    text: &str,
) -> Result<UnixSeconds> {
    let ts: jiff::Timestamp = text.parse().map_err(|_| {
        Error::parse(
            path,
            line_of(bytes, text),
            None,
            format!(
                "`{field}`: expected an RFC 3339 time like 2026-11-27T15:09:01Z, found `{text}`"
            ),
        )
    })?;
    Ok(ts.as_nanosecond() as f64 / 1e9)
}

/// `2026-11-27T15:12:05.171Z` for provenance sentences.
pub(crate) fn show_time(t: UnixSeconds) -> String {
    let ms = (t * 1000.0).round() as i64;
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{ts:.3}"),
        Err(_) => format!("{t:.3}"),
    }
}

/// The label of a report: its run folder for `report.json`, else the file stem.
fn label_of(path: &Path) -> String {
    super::label_from(path, &["report"])
}

/// Goose's method enum name (`Get`, `Post`, `Custom`) as a request kind (`GET`).
fn kind_of(method: &str, custom: &str) -> String {
    if method.eq_ignore_ascii_case("custom") && !custom.is_empty() {
        custom.to_ascii_uppercase()
    } else {
        method.to_ascii_uppercase()
    }
}

/// The measured window: Maintaining to the step after it, and the end of the
/// counting (Finished), from the plan history.
struct Phases {
    /// Maintaining -> next step (Decreasing/Canceling, or Finished when none).
    window: Option<Window>,
    /// When the last step (Finished) began.
    finished: Option<UnixSeconds>,
}

fn phases(steps: &[LoadStep]) -> Phases {
    let maintain = steps.iter().position(|s| s.action == "Maintaining");
    let window = maintain.and_then(|i| {
        steps.get(i + 1).map(|next| Window {
            start: steps[i].start,
            end: next.start,
        })
    });
    let finished = steps
        .iter()
        .rev()
        .find(|s| s.action == "Finished")
        .map(|s| s.start);
    Phases { window, finished }
}

/// Scenarios that ran (Goose lists every registered one, all-zero when it was
/// filtered out), each with its transactions.
fn scenarios_of(report: &GReport) -> Vec<crate::model::ToolScenario> {
    use crate::model::{ToolScenario, ToolTransaction};
    let mut out: Vec<ToolScenario> = Vec::new();
    for row in report.scenario_metrics.iter().flatten() {
        if row.name != "Aggregated" && (row.users > 0 || row.count > 0) {
            out.push(ToolScenario {
                name: row.name.clone(),
                users: row.users,
                count: row.count,
                avg_ms: row.response_time_average.filter(|_| row.count > 0),
                transactions: Vec::new(),
            });
        }
    }
    let mut current: Option<usize> = None;
    for row in report.transaction_metrics.iter().flatten() {
        if row.is_scenario {
            current = out.iter().position(|s| s.name == row.name);
        } else if row.transaction.is_empty() {
            // the table's closing Aggregated row sums every scenario: it is
            // no transaction of the last one
            current = None;
        } else if let Some(i) = current
            && row.number_of_requests > 0
        {
            out[i].transactions.push(ToolTransaction {
                name: row.name.clone(),
                count: row.number_of_requests,
                failures: row.number_of_failures,
                avg_ms: row.response_time_average,
            });
        }
    }
    out
}

/// Read a Goose JSON report.
pub fn read(path: &Path) -> Result<Run> {
    let bytes = super::read_all(path)?;
    let report: GReport = serde_json::from_slice(&bytes).map_err(|e| json_error(path, e))?;
    let mut run = Run::new(label_of(path), Tool::Goose);
    run.sources.push(path.to_path_buf());
    run.tool_version = Some(
        report
            .goose_version
            .clone()
            .unwrap_or_else(|| "0.18 or older (no run record)".into()),
    );
    let m = &report.raw_metrics;
    run.tool_scenarios = scenarios_of(&report);

    // Run record (0.19+).
    if let Some(s) = &report.started {
        run.started = Some(parse_time(path, &bytes, "started", s)?);
    }
    if let Some(e) = &report.ended {
        run.ended = Some(parse_time(path, &bytes, "ended", e)?);
    }
    run.ended_by = report.ended_by.clone();
    if let Some(reason) = &report.canceled_reason {
        run.provenance
            .push(format!("Goose canceled the run: {reason}."));
    }
    if report.in_progress {
        run.provenance.push(
            "This report is a snapshot taken while the test was still running (in_progress: true)."
                .into(),
        );
    }
    if let Some(notes) = report.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        run.provenance
            .push(format!("Goose notes: {}", notes.trim()));
    }
    run.duration_s = Some(m.duration);
    run.peak_users = m.maximum_users;

    for h in &m.history {
        run.steps.push(LoadStep {
            action: h.action.clone(),
            start: parse_time(
                path,
                &bytes,
                "raw_metrics.history[].timestamp",
                &h.timestamp,
            )?,
            users: h.users,
        });
    }
    let ph = phases(&run.steps);
    run.measured_window = ph.window;

    // Per-request aggregates.
    let old_format = m
        .requests
        .values()
        .any(|r| r.raw_data.times_us.is_none() && r.raw_data.times.is_some());
    let table: BTreeMap<(String, String), &GResponseRow> = report
        .raw_response_metrics
        .iter()
        .map(|r| ((r.method.to_ascii_uppercase(), r.name.clone()), r))
        .collect();
    for (key, r) in &m.requests {
        let kind = kind_of(&r.method, &r.custom_method);
        let latency = if old_format {
            latency_from_table(
                path,
                &bytes,
                key,
                r,
                table.get(&(kind.clone(), r.path.clone())),
            )?
        } else {
            latency_from_buckets(path, &bytes, key, &r.raw_data)?
        };
        let mut status_counts = BTreeMap::new();
        for (code, n) in &r.status_code_counts {
            let code: u16 = code.parse().map_err(|_| {
                Error::parse(
                    path,
                    line_of(&bytes, &format!("\"{key}\"")),
                    None,
                    format!("`{key}` status_code_counts: expected an HTTP status as the key, found `{code}`"),
                )
            })?;
            *status_counts.entry(code).or_insert(0) += n;
        }
        let requests = r.success_count + r.fail_count;
        let coded: u64 = status_counts.values().sum();
        if !status_counts.is_empty() && coded != requests {
            return Err(Error::parse(
                path,
                line_of(&bytes, &format!("\"{key}\"")),
                None,
                format!(
                    "`{key}`: status_code_counts add up to {coded}, but success_count + fail_count is {requests}"
                ),
            ));
        }
        if r.raw_data.counter > requests {
            return Err(Error::parse(
                path,
                line_of(&bytes, &format!("\"{key}\"")),
                None,
                format!(
                    "`{key}`: raw_data.counter {} exceeds success_count + fail_count = {requests}",
                    r.raw_data.counter
                ),
            ));
        }
        run.endpoints.push(Endpoint {
            kind,
            name: r.path.clone(),
            requests,
            failures: r.fail_count,
            latency,
            // Goose's own rule: count / duration (whole seconds of the measured window).
            rps: (m.duration > 0.0).then(|| requests as f64 / m.duration),
            avg_content_bytes: None,
            status_counts,
        });
    }
    run.endpoints
        .sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));

    // Aggregated: merged buckets, summed counts.
    let mut total = super::locust_csv::aggregate(run.endpoints.iter());
    total.rps = (m.duration > 0.0).then(|| total.requests as f64 / m.duration);
    if old_format && let Some(row) = table.get(&(String::new(), "Aggregated".to_string())) {
        total.latency.dist = columns(row);
    }
    run.total = total;
    cross_check(path, &bytes, &report, &run)?;

    // Failures.
    run.failures = match (&report.errors, &m.errors) {
        (Some(rows), _) => rows
            .iter()
            .map(|e| failure(&e.method, &e.name, &e.error, e.occurrences))
            .collect(),
        (None, Some(raw)) => raw
            .values()
            .map(|e| failure(&e.method, &e.name, &e.error, e.occurrences))
            .collect(),
        (None, None) => Vec::new(),
    };
    run.failures.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then_with(|| a.name.cmp(&b.name))
    });

    if let Some(th) = &m.thresholds {
        for t in th {
            run.tool_thresholds.push(ToolThreshold {
                rule: t.rule.clone(),
                observed: t.observed.clone(),
                passed: t.passed,
            });
            if t.aborted {
                let text = format!(
                    "Goose's threshold `{}` failed (observed {}) and stopped the run early, after {} s of measurement",
                    t.rule, t.observed, m.duration
                );
                run.provenance.push(format!("{text}."));
                run.stopped_early = Some(text);
            }
        }
    }
    if run.stopped_early.is_none()
        && let Some(by) = report
            .ended_by
            .as_deref()
            .filter(|b| matches!(*b, "canceled" | "stopped"))
    {
        run.stopped_early = Some(format!(
            "Goose reports the run {by}{}, after {} s of measurement",
            report
                .canceled_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            m.duration
        ));
    }

    // Timeline: Goose's per-second graph data when the report has it.
    match report.graphs.as_ref().map(|g| {
        // `elapsed` and the graph seconds count from the Increasing step
        let origin = run.steps.first().map(|s| s.start).or(run.started);
        timeline_from_graphs(g, origin)
    }) {
        Some(Some(points)) if !points.is_empty() => {
            let heat = points.iter().filter(|p| p.latency.is_some()).count();
            run.timeline = points;
            run.provenance.push(format!(
                "Timeline from the report's per-second graph data (--report-graph-data): second k of the series covers requests sent k to k+1 s after the start of the test (the Increasing step); Goose zeroes the ramp-up seconds when it resets its metrics.{}",
                if heat > 0 {
                    format!(" Per-second latencies from Goose's heatmap ({heat} seconds, Goose's heatmap buckets: 0.1 ms below 1 ms, 1 ms to 64 ms, growing to 1 s above 5 s).")
                } else {
                    String::new()
                }
            ));
        }
        other => {
            if other.is_some() {
                run.provenance.push(
                    "The report's `graphs` section has an unexpected shape and was not used; the timeline has one point per load step.".into(),
                );
            }
            run.timeline = run
                .steps
                .iter()
                .map(|s| TimelinePoint {
                    t: s.start,
                    users: Some(s.users),
                    ..TimelinePoint::default()
                })
                .collect();
        }
    }

    if run.measured_window.is_some() {
        run.measured_counts = Some(crate::model::MeasuredCounts {
            requests: run.total.requests,
            failures: run.total.failures,
            basis: "Goose's measured window after its metrics reset (Maintaining to the end)"
                .into(),
        });
    }

    // Provenance of the figures.
    let window_text = match (run.measured_window, ph.finished) {
        (Some(w), Some(f)) if f > w.end => format!(
            "{} to {}, {} s, Goose's RPS divisor; requests still completing in the following step until {} are counted too",
            show_time(w.start),
            show_time(w.end),
            m.duration,
            show_time(f)
        ),
        (Some(w), _) => format!(
            "{} to {}, {} s, Goose's RPS divisor",
            show_time(w.start),
            show_time(w.end),
            m.duration
        ),
        (None, _) => format!(
            "{} s, Goose's RPS divisor; no Maintaining step in the history",
            m.duration
        ),
    };
    if old_format {
        run.provenance.push(format!(
            "Goose 0.18-style report (whole-ms `times`): percentiles are Goose's own truncated whole-ms table values (50/60/70/80/90/95/99/100 only); counts cover the measured window after Goose's metrics reset ({window_text})."
        ));
    } else {
        run.provenance.push(format!(
            "Percentiles from Goose's µs buckets (bucket middle, ±0.8 %), reproducing Goose's own rule; counts cover the measured window after Goose's metrics reset ({window_text})."
        ));
    }
    Ok(run)
}

/// A failure group from one of Goose's error rows; Goose has no first/last seen.
fn failure(method: &str, name: &str, error: &str, occurrences: u64) -> FailureGroup {
    FailureGroup {
        kind: method.to_ascii_uppercase(),
        name: name.to_string(),
        error: error.to_string(),
        status: status_from_error(error),
        occurrences,
        first_seen: None,
        last_seen: None,
    }
}

/// 0.19 timing data: exact µs summary plus the µs buckets.
fn latency_from_buckets(path: &Path, bytes: &[u8], key: &str, t: &GTiming) -> Result<Latency> {
    let missing = |field: &str| {
        Error::parse(
            path,
            line_of(bytes, &format!("\"{key}\"")),
            None,
            format!("`{key}` raw_data: expected `{field}` (Goose 0.19 µs timing data), found none"),
        )
    };
    let times = t.times_us.as_ref().ok_or_else(|| missing("times_us"))?;
    let mut buckets = BTreeMap::new();
    for (k, v) in times {
        let floor: u64 = k.parse().map_err(|_| {
            Error::parse(
                path,
                line_of(bytes, &format!("\"{key}\"")),
                None,
                format!("`{key}` times_us: expected a bucket floor in µs as the key, found `{k}`"),
            )
        })?;
        *buckets.entry(floor).or_insert(0) += v;
    }
    let timed = t.counter > 0;
    let min_us = t
        .minimum_time_us
        .ok_or_else(|| missing("minimum_time_us"))?;
    let max_us = t
        .maximum_time_us
        .ok_or_else(|| missing("maximum_time_us"))?;
    let sum_us = t.total_time_us.ok_or_else(|| missing("total_time_us"))?;
    check_timing(
        path, bytes, key, t.counter, &buckets, min_us, max_us, sum_us,
    )?;
    Ok(Latency {
        count: t.counter,
        sum_ms: Some(sum_us as f64 / 1000.0),
        min_ms: timed.then_some(min_us as f64 / 1000.0),
        max_ms: timed.then_some(max_us as f64 / 1000.0),
        dist: if timed {
            Distribution::GooseBuckets(buckets)
        } else {
            Distribution::None
        },
    })
}

/// Goose records every time once in `times_us` and in the exact µs summary:
/// the buckets hold `counter` times, the lowest bucket is the floor of the
/// minimum, no bucket starts above the maximum, and the mean lies between.
#[allow(clippy::too_many_arguments)]
fn check_timing(
    path: &Path,
    bytes: &[u8],
    key: &str,
    counter: u64,
    buckets: &BTreeMap<u64, u64>,
    min_us: u64,
    max_us: u64,
    sum_us: u64,
) -> Result<()> {
    let bad = |msg: String| {
        Err(Error::parse(
            path,
            line_of(bytes, &format!("\"{key}\"")),
            None,
            format!("`{key}` raw_data: {msg}"),
        ))
    };
    let in_buckets: u64 = buckets.values().sum();
    if in_buckets != counter {
        return bad(format!(
            "`counter` is {counter} but the times_us buckets hold {in_buckets} times"
        ));
    }
    if counter == 0 {
        return Ok(());
    }
    if min_us > max_us {
        return bad(format!(
            "minimum_time_us {min_us} exceeds maximum_time_us {max_us}"
        ));
    }
    const ABSURD_US: u64 = 86_400_000_000;
    if max_us > ABSURD_US {
        return bad(format!(
            "maximum_time_us is {max_us}, more than a day: not a response time"
        ));
    }
    let lowest = buckets.keys().next().copied().unwrap_or(0);
    let highest = buckets.keys().next_back().copied().unwrap_or(0);
    if lowest > min_us || highest > max_us {
        return bad(format!(
            "times_us buckets span {lowest}..{highest} µs, outside minimum_time_us {min_us} / maximum_time_us {max_us} (a bucket key is the floor of the times in it)"
        ));
    }
    let mean = sum_us as f64 / counter as f64;
    if mean < min_us as f64 || mean > max_us as f64 {
        return bad(format!(
            "total_time_us / counter = {mean:.0} µs is outside [{min_us}, {max_us}]"
        ));
    }
    Ok(())
}

/// 0.18 timing data: whole-ms summary, percentiles from the report's own table.
fn latency_from_table(
    path: &Path,
    bytes: &[u8],
    key: &str,
    r: &GRequest,
    row: Option<&&GResponseRow>,
) -> Result<Latency> {
    let t = &r.raw_data;
    let timed = t.counter > 0;
    let dist = match row {
        Some(row) if timed => columns(row),
        None if timed => {
            return Err(Error::parse(
                path,
                line_of(bytes, "\"raw_response_metrics\""),
                None,
                format!(
                    "Goose 0.18-style report: expected a `raw_response_metrics` row for `{key}`, found none"
                ),
            ));
        }
        _ => Distribution::None,
    };
    Ok(Latency {
        count: t.counter,
        sum_ms: Some(t.total_time as f64),
        min_ms: timed.then_some(t.minimum_time as f64),
        max_ms: timed.then_some(t.maximum_time as f64),
        dist,
    })
}

fn columns(row: &GResponseRow) -> Distribution {
    Distribution::Columns(vec![
        (50.0, row.percentile_50),
        (60.0, row.percentile_60),
        (70.0, row.percentile_70),
        (80.0, row.percentile_80),
        (90.0, row.percentile_90),
        (95.0, row.percentile_95),
        (99.0, row.percentile_99),
        (100.0, row.percentile_100),
    ])
}

/// Goose writes its request table (`raw_request_metrics`) from the same
/// metrics as `raw_metrics`, in the same moment: counts that differ mean an
/// edited or spliced file.
fn cross_check(path: &Path, bytes: &[u8], report: &GReport, run: &Run) -> Result<()> {
    let line = line_of(bytes, "\"raw_request_metrics\"");
    for row in &report.raw_request_metrics {
        let (requests, failures, label) = if row.method.is_empty() && row.name == "Aggregated" {
            (
                run.total.requests,
                run.total.failures,
                "Aggregated".to_string(),
            )
        } else {
            match run
                .endpoints
                .iter()
                .find(|e| e.kind == row.method.to_ascii_uppercase() && e.name == row.name)
            {
                Some(e) => (e.requests, e.failures, e.label()),
                None => {
                    return Err(Error::parse(
                        path,
                        line,
                        None,
                        format!(
                            "`{} {}` is in Goose's request table (raw_request_metrics) but not in raw_metrics.requests",
                            row.method, row.name
                        ),
                    ));
                }
            }
        };
        if requests != row.number_of_requests || failures != row.number_of_failures {
            return Err(Error::parse(
                path,
                line,
                None,
                format!(
                    "{label}: raw_metrics counts {requests} requests / {failures} failures, Goose's own request table (raw_request_metrics) {} / {}: the report contradicts itself",
                    row.number_of_requests, row.number_of_failures
                ),
            ));
        }
    }
    Ok(())
}

/// Sum the `data[]` arrays of the series of a `graphs` entry: either one series
/// `{origin?, data}` or an object of series keyed by request.
fn series_sums(v: &serde_json::Value) -> Option<Vec<f64>> {
    fn one(s: &serde_json::Value) -> Option<Vec<f64>> {
        s.get("data")?
            .as_array()?
            .iter()
            .map(|x| x.as_f64().or_else(|| x.as_array()?.first()?.as_f64()))
            .collect()
    }
    if let Some(d) = one(v) {
        return Some(d);
    }
    let mut out: Vec<f64> = Vec::new();
    for s in v.as_object()?.values() {
        let d = one(s)?;
        if out.len() < d.len() {
            out.resize(d.len(), 0.0);
        }
        for (o, x) in out.iter_mut().zip(d) {
            *o += x;
        }
    }
    Some(out)
}

/// The first second of a series: Goose writes `origin` as an offset in
/// seconds from the start of the test; a unix time (s or ms) or RFC 3339 text
/// is taken as it is.
fn series_origin(v: &serde_json::Value, start: Option<UnixSeconds>) -> Option<UnixSeconds> {
    let origin = v
        .get("origin")
        .or_else(|| v.as_object()?.values().find_map(|s| s.get("origin")));
    match origin {
        Some(serde_json::Value::String(s)) => s
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond() as f64 / 1000.0),
        Some(serde_json::Value::Number(n)) => {
            let x = n.as_f64()?;
            if x > 1e11 {
                Some(x / 1000.0)
            } else if x > 1e8 {
                Some(x)
            } else {
                start.map(|s| s + x)
            }
        }
        _ => start,
    }
}

/// One second of the heatmap: (lowest µs, highest µs, count), sorted.
type HeatSecond = Vec<(u64, u64, u32)>;

/// The heatmap's per-second buckets of all requests: second since the start
/// of the test -> (lowest µs, highest µs, count). `None` when absent or not
/// understood. Shape (Goose 0.19 `--report-graph-data`): `buckets_us` rows
/// `[middle, lowest, highest]`; `series[]` of `{name, measured: {columns}}`
/// whose columns are `[second - origin, three summary values, then
/// (bucket index, count, colour) triples]`.
fn heatmap_seconds(h: &serde_json::Value) -> Option<BTreeMap<i64, HeatSecond>> {
    let buckets: Vec<(u64, u64)> = h
        .get("buckets_us")?
        .as_array()?
        .iter()
        .map(|b| Some((b.get(1)?.as_u64()?, b.get(2)?.as_u64()?)))
        .collect::<Option<_>>()?;
    let origin = h.get("origin").and_then(|o| o.as_i64()).unwrap_or(0);
    let series = h.get("series")?.as_array()?;
    let all = series
        .iter()
        .find(|s| s.get("name").and_then(|n| n.as_str()) == Some("All requests"))?;
    let columns = all.get("measured")?.get("columns")?.as_array()?;
    let mut out = BTreeMap::new();
    for c in columns {
        let c = c.as_array()?;
        let x = c.first()?.as_i64()?;
        let triples = c.get(4..)?;
        if triples.len() % 3 != 0 {
            return None;
        }
        let mut sec: Vec<(u64, u64, u32)> = Vec::new();
        for t in triples.chunks_exact(3) {
            let (lo, hi) = *buckets.get(usize::try_from(t[0].as_u64()?).ok()?)?;
            let n = u32::try_from(t[1].as_u64()?).ok()?;
            if n > 0 {
                sec.push((lo, hi, n));
            }
        }
        sec.sort_unstable();
        out.insert(origin + x, sec);
    }
    Some(out)
}

/// Per-second points from `--report-graph-data` (`graphs`): users, requests and
/// errors per second, and each second's latency buckets from the heatmap.
/// `start` is the start of the test. `None` when the shape is not understood.
fn timeline_from_graphs(
    g: &serde_json::Value,
    start: Option<UnixSeconds>,
) -> Option<Vec<TimelinePoint>> {
    let rps = series_sums(g.get("requests_per_second")?)?;
    let errors = g.get("errors_per_second").and_then(series_sums);
    let users = g.get("users_per_second").and_then(series_sums);
    let origin = series_origin(g.get("requests_per_second")?, start)?;
    let mut heat = g.get("heatmap").and_then(heatmap_seconds);
    // the heatmap's seconds count from the start of the test, like `origin`
    let first_second = series_origin(g.get("requests_per_second")?, Some(0.0))
        .filter(|o| *o < 1e8)
        .unwrap_or(0.0) as i64;
    let n = rps.len().max(users.as_ref().map_or(0, Vec::len));
    Some(
        (0..n)
            .map(|i| {
                let second = heat
                    .as_mut()
                    .and_then(|h| h.remove(&(first_second + i as i64)));
                // a second's p50/p95 for the charts: the bucket's middle
                let middle = |q: f64| {
                    let b: Vec<(u64, u64, u64)> = second
                        .as_ref()?
                        .iter()
                        .map(|&(lo, hi, c)| (lo, hi, c as u64))
                        .collect();
                    bucket_quantile(&b, q).map(|(lo, hi)| (lo + hi) as f64 / 2000.0)
                };
                TimelinePoint {
                    t: origin + i as f64,
                    users: users.as_ref().and_then(|u| u.get(i)).map(|u| *u as u64),
                    rps: Some(rps.get(i).copied().unwrap_or(0.0)),
                    failures_per_s: errors.as_ref().map(|e| e.get(i).copied().unwrap_or(0.0)),
                    p50_ms: middle(0.5),
                    p95_ms: middle(0.95),
                    latency: second.map(crate::model::PointLatency::Buckets),
                    ..TimelinePoint::default()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_run_folder_for_report_json() {
        assert_eq!(
            label_of(Path::new("runs/mixed-40u/report.json")),
            "mixed-40u"
        );
        assert_eq!(
            label_of(Path::new("runs/mixed-40u/report.json.gz")),
            "mixed-40u"
        );
        assert_eq!(label_of(Path::new("runs/baseline.json")), "baseline");
    }

    #[test]
    fn goose_methods_become_upper_case_kinds() {
        assert_eq!(kind_of("Get", ""), "GET");
        assert_eq!(kind_of("Custom", "purge"), "PURGE");
    }

    #[test]
    fn graph_data_sums_series_per_second() {
        // A hand-written `graphs` section: two requests, 3 seconds.
        let g: serde_json::Value = serde_json::from_str(
            r#"{"requests_per_second": {"GET /a": {"origin": "2026-11-27T15:00:00Z", "data": [1, 2, 3]},
                                        "GET /b": {"origin": "2026-11-27T15:00:00Z", "data": [4, 5]}},
                "errors_per_second": {"GET /a": {"data": [0, 1, 0]}},
                "users_per_second": {"origin": "2026-11-27T15:00:00Z", "data": [10, 20, 20]}}"#,
        )
        .unwrap();
        let pts = timeline_from_graphs(&g, None).unwrap();
        assert_eq!(pts.len(), 3);
        // 2026-11-27T15:00:00Z = 1795791600 (python: datetime(2026,11,27,15,tzinfo=utc).timestamp())
        assert_eq!(pts[0].t, 1_795_791_600.0);
        assert_eq!(pts[1].rps, Some(7.0));
        assert_eq!(pts[2].rps, Some(3.0));
        assert_eq!(pts[1].failures_per_s, Some(1.0));
        assert_eq!(pts[2].users, Some(20));
    }

    #[test]
    fn an_old_report_uses_its_percentile_table() {
        // Minimal 0.18-shaped report (no run record, `times` in ms), written by hand.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.json");
        std::fs::write(
            &p,
            r#"{"raw_metrics": {"history": [], "duration": 10, "maximum_users": 2,
                 "requests": {"GET /": {"path": "/", "method": "Get",
                   "raw_data": {"minimum_time": 3, "maximum_time": 90, "total_time": 200,
                                "counter": 10, "times": {"3": 5, "20": 4, "90": 1}},
                   "status_code_counts": {"200": 10}, "success_count": 10, "fail_count": 0}}},
               "raw_request_metrics": [],
               "raw_response_metrics": [
                 {"method": "GET", "name": "/", "percentile_50": 3, "percentile_60": 20, "percentile_70": 20,
                  "percentile_80": 20, "percentile_90": 20, "percentile_95": 90, "percentile_99": 90, "percentile_100": 90},
                 {"method": "", "name": "Aggregated", "percentile_50": 3, "percentile_60": 20, "percentile_70": 20,
                  "percentile_80": 20, "percentile_90": 20, "percentile_95": 90, "percentile_99": 90, "percentile_100": 90}]}"#,
        )
        .unwrap();
        let run = read(&p).unwrap();
        assert_eq!(run.endpoints[0].requests, 10);
        assert_eq!(
            run.endpoints[0].latency.percentile(95.0).value(),
            Some(90.0)
        );
        assert_eq!(run.total.latency.percentile(60.0).value(), Some(20.0));
        assert_eq!(run.endpoints[0].rps, Some(1.0));
    }
}

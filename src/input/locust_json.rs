//! Locust JSON (`locust --json` to stdout, or `--json-file NAME` which writes
//! `NAME.json`; 2.14.1+ and ~2.37+). A list of per-endpoint stats entries with
//! the full bucketed histogram (`response_times`), so percentiles are recomputed
//! with Locust's own rule and groups of endpoints merge exactly. It has no
//! Aggregated entry, no failures and no user counts: those come from the CSV
//! siblings with the same prefix when they exist.
//!
//! Seen: Locust 2.47.0 (int bucket keys). 2.14-2.43 wrote float keys for buckets
//! of 100 ms and more (`"130.0"`), which are accepted.

use crate::error::{Error, Result};
use crate::latency::{Distribution, Latency};
use crate::model::{Endpoint, Run, TimelinePoint, Tool};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Deserialize)]
struct LEntry {
    name: String,
    method: String,
    last_request_timestamp: Option<f64>,
    start_time: f64,
    num_requests: u64,
    #[serde(default)]
    num_none_requests: u64,
    num_failures: u64,
    total_response_time: f64,
    max_response_time: f64,
    min_response_time: Option<f64>,
    #[serde(default)]
    total_content_length: f64,
    response_times: HashMap<String, u64>,
    #[serde(default)]
    num_reqs_per_sec: HashMap<String, u64>,
    #[serde(default)]
    num_fail_per_sec: HashMap<String, u64>,
}

fn json_error(path: &Path, e: serde_json::Error) -> Error {
    let what = if e.is_eof() {
        "the JSON ends early (truncated file?)".to_string()
    } else {
        format!(
            "expected a Locust --json list of stats entries: {}",
            super::json_message(&e)
        )
    };
    Error::parse(path, Some(e.line() as u64), Some(e.column() as u64), what)
}

/// Read a Locust JSON file, plus the failures/exceptions/history CSVs beside it.
pub fn read(path: &Path) -> Result<Run> {
    let bytes = super::read_all(path)?;
    let entries: Vec<LEntry> = serde_json::from_slice(&bytes).map_err(|e| json_error(path, e))?;
    let mut run = Run::new(super::locust_csv::label_of(path), Tool::Locust);
    run.tool_version = Some("2.14 or later (--json)".into());
    run.sources.push(path.to_path_buf());
    if entries.is_empty() {
        return Err(Error::parse(
            path,
            Some(1),
            None,
            "the JSON list is empty: no requests were recorded (Locust writes `[]` when --json and --json-file are used together)",
        ));
    }
    let started = entries
        .iter()
        .map(|e| e.start_time)
        .fold(f64::INFINITY, f64::min);
    let ended = entries
        .iter()
        .filter_map(|e| e.last_request_timestamp)
        .fold(f64::NEG_INFINITY, f64::max);
    for (i, e) in entries.iter().enumerate() {
        check_entry(path, &bytes, i, e)?;
    }
    let window = (ended - started).max(f64::MIN_POSITIVE);
    let mut per_second: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for e in &entries {
        let mut buckets = BTreeMap::new();
        for (k, v) in &e.response_times {
            let key: f64 = k.parse().map_err(|_| {
                Error::parse(
                    path,
                    None,
                    None,
                    format!(
                        "`{}` response_times: expected a bucket in ms as the key, found `{k}`",
                        e.name
                    ),
                )
            })?;
            *buckets.entry(key.round() as u64).or_insert(0) += v;
        }
        let timed = e.num_requests.saturating_sub(e.num_none_requests);
        for (sec, n) in &e.num_reqs_per_sec {
            if let Ok(s) = sec.parse::<f64>() {
                per_second.entry(s as i64).or_default().0 += n;
            }
        }
        for (sec, n) in &e.num_fail_per_sec {
            if let Ok(s) = sec.parse::<f64>() {
                per_second.entry(s as i64).or_default().1 += n;
            }
        }
        run.endpoints.push(Endpoint {
            kind: e.method.clone(),
            name: e.name.clone(),
            requests: e.num_requests,
            failures: e.num_failures,
            latency: Latency {
                count: timed,
                sum_ms: Some(e.total_response_time),
                min_ms: e.min_response_time,
                max_ms: (timed > 0).then_some(e.max_response_time),
                dist: Distribution::LocustBuckets(buckets),
            },
            rps: Some(e.num_requests as f64 / window),
            avg_content_bytes: (e.num_requests > 0)
                .then(|| e.total_content_length / e.num_requests as f64),
            status_counts: Default::default(),
        });
    }
    run.endpoints
        .sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    run.total = super::locust_csv::aggregate(run.endpoints.iter());
    run.started = Some(started);
    run.ended = Some(ended);
    run.duration_s = Some(ended - started);
    run.rps_basis = Some(json_rps_basis(run.total.requests, ended - started));
    run.timeline = per_second
        .into_iter()
        .map(|(t, (n, f))| TimelinePoint {
            t: t as f64,
            rps: Some(n as f64),
            failures_per_s: Some(f as f64),
            ..TimelinePoint::default()
        })
        .collect();

    let sib = super::locust_csv::siblings(path);
    if let Some(f) = &sib.failures {
        run.failures = super::locust_csv::read_failures(f)?;
        run.sources.push(f.clone());
    }
    if let Some(x) = &sib.exceptions {
        run.exceptions = super::locust_csv::read_exceptions(x)?;
        run.sources.push(x.clone());
    }
    let unlisted = run.unlisted_failures();
    if unlisted > 0
        && let Some(f) = &sib.failures
    {
        run.provenance.push(format!(
            "The failure breakdown ({}) is the stats CSV's snapshot, written up to ~1 s before the JSON: it lists {} of the JSON's {} failures; the other {unlisted} came after its last write.",
            f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            run.total.failures - unlisted,
            run.total.failures,
        ));
    }
    if let Some(h) = &sib.history {
        let mut from_history = Run::new(String::new(), Tool::Locust);
        super::locust_csv::read_history(h, &mut from_history)?;
        run.sources.push(h.clone());
        adopt_history(&mut run, &from_history);
    }
    Ok(run)
}

/// The line of the `index`-th entry's `"num_requests"` key (one per entry;
/// a name holding that text has its quotes escaped, so it does not match).
fn entry_line(bytes: &[u8], index: usize) -> Option<u64> {
    let needle = b"\"num_requests\"";
    let at = memchr::memmem::find_iter(bytes, needle)
        .filter(|&at| at == 0 || bytes[at - 1] != b'\\')
        .nth(index)?;
    Some(super::line_at_offset(bytes, at))
}

/// An entry is one Locust `StatsEntry`: its histogram holds every timed
/// request, its per-second counts every request and failure, and its bucket
/// keys lie within half a bucket of its exact min and max.
fn check_entry(path: &Path, bytes: &[u8], index: usize, e: &LEntry) -> Result<()> {
    let bad = |msg: String| {
        Err(Error::parse(
            path,
            entry_line(bytes, index),
            None,
            format!("entry {} (`{} {}`): {msg}", index + 1, e.method, e.name),
        ))
    };
    if e.num_failures > e.num_requests {
        return bad(format!(
            "num_failures {} exceeds num_requests {}",
            e.num_failures, e.num_requests
        ));
    }
    if e.num_none_requests > e.num_requests {
        return bad(format!(
            "num_none_requests {} exceeds num_requests {}",
            e.num_none_requests, e.num_requests
        ));
    }
    let timed = e.num_requests - e.num_none_requests;
    let in_histogram: u64 = e.response_times.values().sum();
    if in_histogram != timed {
        return bad(format!(
            "the response_times histogram holds {in_histogram} requests, but num_requests - num_none_requests is {timed}"
        ));
    }
    if !e.num_reqs_per_sec.is_empty() {
        let per_second: u64 = e.num_reqs_per_sec.values().sum();
        if per_second != e.num_requests {
            return bad(format!(
                "num_reqs_per_sec adds up to {per_second}, but num_requests is {}",
                e.num_requests
            ));
        }
        let failed: u64 = e.num_fail_per_sec.values().sum();
        if failed != e.num_failures {
            return bad(format!(
                "num_fail_per_sec adds up to {failed}, but num_failures is {}",
                e.num_failures
            ));
        }
    }
    let absurd = super::locust_csv::ABSURD_RESPONSE_MS;
    for (label, v) in [
        ("total_response_time", Some(e.total_response_time)),
        ("max_response_time", Some(e.max_response_time)),
        ("min_response_time", e.min_response_time),
    ] {
        if let Some(v) = v
            && (!v.is_finite() || v < 0.0)
        {
            return bad(format!("`{label}` is {v}: not a response time"));
        }
    }
    if e.max_response_time > absurd {
        return bad(format!(
            "max_response_time is {} ms, more than a day: not a response time",
            e.max_response_time
        ));
    }
    if let Some(last) = e.last_request_timestamp
        && last < e.start_time
    {
        return bad(format!(
            "last_request_timestamp {last} is before start_time {}",
            e.start_time
        ));
    }
    if timed == 0 {
        return Ok(());
    }
    let (Some(min), max) = (e.min_response_time, e.max_response_time) else {
        return Ok(());
    };
    if min > max {
        return bad(format!(
            "min_response_time {min} exceeds max_response_time {max}"
        ));
    }
    let avg = e.total_response_time / timed as f64;
    let slack = 1e-9 * max.max(1.0);
    if avg < min - slack || avg > max + slack {
        return bad(format!(
            "the average total_response_time / requests = {avg} ms is outside [min {min}, max {max}]"
        ));
    }
    let width = super::locust_csv::bucket_width_ms;
    for k in e.response_times.keys() {
        if let Ok(b) = k.parse::<f64>()
            && (b < min - width(min) / 2.0 || b > max + width(max) / 2.0)
        {
            return bad(format!(
                "response_times bucket {k} ms lies outside [min {min}, max {max}] (Locust rounds by at most half a bucket)"
            ));
        }
    }
    Ok(())
}

/// The average rate of a JSON run. Locust divides by (last request − test
/// start); the JSON has no test start, only each entry's first request, which
/// Locust logs a few tens of ms after the start (0.02-0.23 s on the shared
/// runs), so this figure is up to ~0.4 % above Locust's `total_rps`.
fn json_rps_basis(requests: u64, window_s: f64) -> String {
    format!(
        "{} requests ÷ {window_s:.1} s from the first to the last request, from the Locust JSON; Locust's own Requests/s counts from the test start, a fraction of a second earlier",
        crate::format::count(requests)
    )
}

/// Take the stats history's timeline (users, Locust's windowed percentiles,
/// cumulative counts) when it has cumulative counts, so that windows, the
/// steady phase and sustained throughput are the same figures whichever of
/// the run's files are given; otherwise put its user counts on the JSON's
/// per-second points. Either way keep the history's start (the test start,
/// slightly before the first request).
fn adopt_history(run: &mut Run, history: &Run) {
    if history.timeline.is_empty() {
        return;
    }
    run.peak_users = history.peak_users;
    if let Some(s) = history.started {
        run.started = Some(s.min(run.started.unwrap_or(s)));
    }
    if history.timeline.iter().any(|p| p.total_requests.is_some()) {
        run.timeline = history.timeline.clone();
        return;
    }
    for p in &mut run.timeline {
        // the last history tick at or before this second
        let idx = history.timeline.partition_point(|h| h.t <= p.t);
        if idx > 0 {
            p.users = history.timeline[idx - 1].users;
        }
    }
    if run.timeline.is_empty() {
        run.timeline = history.timeline.clone();
    }
}

/// One Locust run given both as stats CSV and JSON: counts, latency and the
/// average rate from the JSON (written at shutdown; the CSV is a snapshot up
/// to ~1 s older), the timeline from the stats history (as with the CSV
/// alone), the failure breakdown from the failures CSV (the snapshot's; the
/// report says when it counts fewer failures than the JSON).
pub fn combine(csv: Run, json: Run) -> Run {
    let mut run = json;
    let note = if csv.total.requests == run.total.requests {
        format!(
            "Counts and latency are from the JSON ({}); the stats CSV agrees ({} requests).",
            file_name(&run),
            csv.total.requests
        )
    } else {
        format!(
            "Counts and latency are from the JSON ({}: {} requests, {} failures); the stats CSV, a snapshot written up to ~1 s before shutdown, had {} requests and {} failures.",
            file_name(&run),
            run.total.requests,
            run.total.failures,
            csv.total.requests,
            csv.total.failures
        )
    };
    run.provenance.push(note);
    run.label = csv.label.clone();
    // the CSV siblings date the version more precisely (First Seen: 2.44+)
    if csv.tool_version.is_some() {
        run.tool_version = csv.tool_version.clone();
    }
    for s in &csv.sources {
        if !run.sources.contains(s) {
            run.sources.push(s.clone());
        }
    }
    if run.failures.is_empty() {
        run.failures = csv.failures.clone();
    }
    if run.exceptions.is_empty() {
        run.exceptions = csv.exceptions.clone();
    }
    // a JSON whose history sibling was not found (another prefix) still gets
    // the CSV's history: the best input must not lose the timeline
    let has_counts = |r: &Run| r.timeline.iter().any(|p| p.total_requests.is_some());
    if has_counts(&csv) && !has_counts(&run) {
        run.timeline = csv.timeline.clone();
        run.peak_users = csv.peak_users;
    }
    if run.peak_users.is_none() {
        run.peak_users = csv.peak_users;
    }
    if let Some(s) = csv.started {
        run.started = Some(s.min(run.started.unwrap_or(s)));
    }
    run
}

fn file_name(run: &Run) -> String {
    run.sources
        .first()
        .and_then(|p| p.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

//! Helpers shared by the integration tests: a plain CSV reader of their own
//! (so expected values never come from perfreport) and a row check.
#![allow(dead_code)]

use perfreport::latency::Percentile;
use perfreport::model::{Endpoint, Run};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Every record of a CSV file as header -> value maps, in file order.
pub fn records(path: impl AsRef<Path>) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// A cell as a number.
pub fn num(m: &HashMap<String, String>, col: &str) -> f64 {
    m[col].parse().unwrap()
}

/// The endpoint of a run with this type and name.
pub fn find<'a>(run: &'a Run, kind: &str, name: &str) -> &'a Endpoint {
    run.endpoints
        .iter()
        .find(|e| e.kind == kind && e.name == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in run"))
}

/// An endpoint read by perfreport against its row of Locust's stats CSV:
/// requests, failures, p50/p95/p99 and Requests/s.
pub fn check_row(e: &Endpoint, row: &HashMap<String, String>, what: &str) {
    assert_eq!(
        e.requests as f64,
        num(row, "Request Count"),
        "{what} requests"
    );
    assert_eq!(
        e.failures as f64,
        num(row, "Failure Count"),
        "{what} failures"
    );
    for (p, col) in [(50.0, "50%"), (95.0, "95%"), (99.0, "99%")] {
        assert_eq!(
            e.latency.percentile(p),
            Percentile::Value(num(row, col)),
            "{what} p{p}"
        );
    }
    let rps = e.rps.unwrap();
    assert!((rps - num(row, "Requests/s")).abs() < 1e-9, "{what} rps");
}

/// The perfreport binary built for these tests.
pub fn perfreport() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("perfreport").unwrap()
}

/// Locust's percentile rule (../shared/formats/locust.md §3), written here
/// again: walk the histogram of `n` requests from the slowest bucket until
/// more than n − int(n·q) requests are passed.
pub fn locust_pct(hist: &BTreeMap<u64, u64>, n: u64, q: f64) -> u64 {
    let k = (n as f64 * q) as u64;
    let mut done = 0;
    for (b, c) in hist.iter().rev() {
        done += c;
        if n - done <= k {
            return *b;
        }
    }
    0
}

/// Nearest-rank percentile (rank ceil(q·n)) of exact µs times, in ms.
pub fn nearest_rank_ms(values: &mut [u64], q: f64) -> f64 {
    values.sort_unstable();
    let rank = ((q * values.len() as f64).ceil() as usize).max(1);
    values[rank - 1] as f64 / 1000.0
}

/// Sustained rate computed here from a Locust stats history: the Aggregated
/// ticks at the peak user count, cumulative request count difference over
/// the seconds between the first and the last of them.
pub fn sustained_from_history(history: impl AsRef<Path>) -> f64 {
    let rows: Vec<_> = records(history)
        .into_iter()
        .filter(|r| r["Name"] == "Aggregated")
        .collect();
    let users = |r: &HashMap<String, String>| r["User Count"].parse::<u64>().unwrap();
    let peak = rows.iter().map(users).max().unwrap();
    let at_peak: Vec<_> = rows.iter().filter(|r| users(r) == peak).collect();
    let (a, b) = (at_peak[0], at_peak[at_peak.len() - 1]);
    (num(b, "Total Request Count") - num(a, "Total Request Count"))
        / (num(b, "Timestamp") - num(a, "Timestamp"))
}

/// Validate a JSON document against a committed JSON Schema (draft 2020-12),
/// listing every error with where it is.
pub fn check_schema(schema_path: impl AsRef<Path>, doc: &serde_json::Value) {
    let v = schema_validator(schema_path);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// A validator of a committed JSON Schema (draft 2020-12).
pub fn schema_validator(schema_path: impl AsRef<Path>) -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

/// The windows of the documented rule, laid independently from a history's
/// (time, users) ticks: whole windows of `over` seconds from the first tick at
/// peak users, then one more ending at the last tick at peak.
pub fn laid_windows(ticks: &[(f64, u64)], over: f64) -> Vec<(f64, f64)> {
    let peak = ticks.iter().map(|t| t.1).max().unwrap();
    let first = ticks.iter().find(|t| t.1 == peak).unwrap().0;
    let last = ticks.iter().rev().find(|t| t.1 == peak).unwrap().0;
    let mut out = Vec::new();
    let mut s = first;
    while s + over <= last {
        out.push((s, s + over));
        s += over;
    }
    if out.last().is_some_and(|w| w.1 < last) {
        out.push((last - over, last));
    }
    out
}

/// Every file of a directory as (name, bytes), sorted by name: for comparing
/// two renderings byte for byte.
pub fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

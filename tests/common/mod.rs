//! Helpers shared by the integration tests: a plain CSV reader of their own
//! (so expected values never come from perfreport) and a row check.
#![allow(dead_code)]

use perfreport::latency::Percentile;
use perfreport::model::{Endpoint, Run};
use std::collections::HashMap;
use std::path::Path;

/// Every record of a CSV file as header -> value maps, in file order.
pub fn records(path: &Path) -> Vec<HashMap<String, String>> {
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

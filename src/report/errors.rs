//! Error Analysis: failures by status code and the recurring patterns.

use super::text::{error_label, status_name, when};
use crate::format;
use crate::model::Run;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One row of the error table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorRow {
    /// Status name (`Not Found`).
    pub label: String,
    /// Requests that failed so.
    pub count: String,
    /// Share of all requests.
    pub percentage: String,
    /// Status code, or what stands in for one.
    pub code: String,
}

/// The Error Analysis section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Errors {
    /// Failures by status code (the reference's four rows first).
    pub error_rows: Vec<ErrorRow>,
    /// One line per failure pattern.
    pub error_patterns: Vec<String>,
}

/// Derive the error section from the runs.
pub fn build(runs: &[&Run]) -> Errors {
    let total_requests: u64 = runs.iter().map(|r| r.total.requests).sum();
    // status -> count, preferring status counts (Goose) over parsed error texts (Locust)
    let mut by_code: BTreeMap<Option<u16>, u64> = BTreeMap::new();
    let mut by_code_failures_only = true;
    let mut unlisted = 0;
    for r in runs {
        let has_counts = r.endpoints.iter().any(|e| !e.status_counts.is_empty());
        if has_counts {
            for e in &r.endpoints {
                for (c, n) in &e.status_counts {
                    if *c >= 400 || *c == 0 {
                        *by_code.entry(Some(*c)).or_insert(0) += n;
                    }
                }
            }
        } else {
            for f in &r.failures {
                *by_code.entry(f.status).or_insert(0) += f.occurrences;
            }
            if r.failures.is_empty() && r.total.failures > 0 {
                by_code_failures_only = false;
            }
            unlisted += r.unlisted_failures();
        }
    }
    let pct = |n: u64| format!("{:.2}%", n as f64 * 100.0 / total_requests.max(1) as f64);
    let mut rows = Vec::new();
    for code in [404u16, 500, 504, 400] {
        let n = by_code.remove(&Some(code)).unwrap_or(0);
        rows.push(ErrorRow {
            label: status_name(code).into(),
            count: format::count(n),
            percentage: pct(n),
            code: code.to_string(),
        });
    }
    for (code, n) in by_code {
        rows.push(ErrorRow {
            label: match code {
                Some(0) => "Connection Error".into(),
                Some(c) => status_name(c).into(),
                None => "Other (no status in the error text)".into(),
            },
            count: format::count(n),
            percentage: pct(n),
            code: match code {
                Some(0) => "none (transport)".into(),
                Some(c) => c.to_string(),
                None => "n/a".into(),
            },
        });
    }
    if unlisted > 0 {
        rows.push(ErrorRow {
            label: "Not in the failure breakdown (after the failures CSV's last write)".into(),
            count: format::count(unlisted),
            percentage: pct(unlisted),
            code: "unknown".into(),
        });
    }
    let total_errors: u64 = runs.iter().map(|r| r.total.failures).sum();
    let mut patterns = Vec::new();
    for r in runs {
        for f in &r.failures {
            let seen = match (f.first_seen, f.last_seen) {
                (Some(a), Some(b)) => {
                    format!(", first seen {}, last seen {}", when(r, a), when(r, b))
                }
                _ => String::new(),
            };
            patterns.push(format!(
                "{}{} {}: {} × {}{} ({} of all errors)",
                if runs.len() > 1 {
                    format!("[{}] ", r.label)
                } else {
                    String::new()
                },
                f.kind,
                f.name,
                format::count(f.occurrences),
                error_label(f.status, &f.error),
                seen,
                format::fraction(f.occurrences as f64 / total_errors.max(1) as f64)
            ));
        }
    }
    if patterns.is_empty() {
        patterns.push(if total_errors == 0 {
            "No request failed.".to_string()
        } else if !by_code_failures_only {
            format!(
                "{} requests failed, but the input has no failure details (pass the failures CSV beside the stats CSV).",
                format::count(total_errors)
            )
        } else {
            "No failure details in the input.".to_string()
        });
    }
    Errors {
        error_rows: rows,
        error_patterns: patterns,
    }
}

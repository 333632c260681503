//! Bottleneck Analysis: the database and orchestrator groups, the slowest API
//! endpoints and the evidence for caching or compression.

use super::spec::{
    ReportSpec, Scenario, database_member, group_scope, orchestrator_member, scenario_title,
};
use super::text::{pct_text, trim_num};
use crate::format;
use crate::model::{Endpoint, Run};
use crate::targets::{Metric, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One endpoint row of the API table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EndpointRow {
    /// `GET /path`.
    pub endpoint: String,
    /// Requests.
    pub requests: String,
    /// Failures.
    pub failures: String,
    /// Median.
    pub p50: String,
    /// 95th percentile.
    pub p95: String,
    /// 99th percentile.
    pub p99: String,
    /// Requests per second.
    pub rps: String,
    /// `ok`, or the targets it misses and its failure rate.
    pub flag: String,
}

/// The API table of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiTable {
    /// Scenario title when there are several, else empty.
    pub title: String,
    /// Endpoints, slowest p95 first.
    pub rows: Vec<EndpointRow>,
}

/// The Bottleneck Analysis section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bottlenecks {
    /// Database queries analyzed.
    pub db_analyzed: Vec<String>,
    /// One line per database query (or why there is none).
    pub db_findings: Vec<String>,
    /// Orchestrator operations analyzed.
    pub mcp_analyzed: Vec<String>,
    /// One line per orchestrator operation (or why there is none).
    pub mcp_findings: Vec<String>,
    /// Queries much slower than their siblings, with the evidence.
    pub db_recommendations: Vec<String>,
    /// Operations much slower than their siblings, with the evidence.
    pub mcp_recommendations: Vec<String>,
    /// API endpoint names analyzed.
    pub api_analyzed: Vec<String>,
    /// One endpoint table per scenario.
    pub api_tables: Vec<ApiTable>,
    /// Evidence for caching, compression and pagination.
    pub api_evidence: Vec<String>,
}

fn endpoint_rows(run: &Run, verdict: &Verdict) -> Vec<EndpointRow> {
    let p95_limit = verdict
        .outcomes
        .iter()
        .find(|o| {
            o.target.expr.metric == Metric::Percentile(95.0) && o.target.expr.scope.is_empty()
        })
        .map(|o| o.target.expr.clone());
    let p99_limit = verdict
        .outcomes
        .iter()
        .find(|o| {
            o.target.expr.metric == Metric::Percentile(99.0) && o.target.expr.scope.is_empty()
        })
        .map(|o| o.target.expr.clone());
    let mut rows: Vec<(f64, EndpointRow)> = run
        .endpoints
        .iter()
        .map(|e| {
            let mut flags = Vec::new();
            for lim in [&p95_limit, &p99_limit].into_iter().flatten() {
                if let Metric::Percentile(p) = lim.metric
                    && let Some(v) = e.latency.percentile(p).value()
                    && !lim.op.holds(v, lim.limit)
                {
                    flags.push(format!(
                        "❌ misses p{} {} {}",
                        trim_num(p),
                        lim.op.symbol(),
                        format::ms(lim.limit)
                    ));
                }
            }
            if e.failures > 0 {
                flags.push(format!(
                    "{} failed",
                    format::fraction(e.error_rate().unwrap_or(0.0))
                ));
            }
            let sort = e.latency.percentile(95.0).value().unwrap_or(0.0);
            (
                sort,
                EndpointRow {
                    endpoint: e.label(),
                    requests: format::count(e.requests),
                    failures: format::count(e.failures),
                    p50: pct_text(e, 50.0),
                    p95: pct_text(e, 95.0),
                    p99: pct_text(e, 99.0),
                    rps: e
                        .rps
                        .map(|r| format!("{r:.2}"))
                        .unwrap_or_else(|| "n/a".into()),
                    flag: if flags.is_empty() {
                        "ok".into()
                    } else {
                        flags.join(", ")
                    },
                },
            )
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    rows.into_iter().map(|r| r.1).collect()
}

fn group_findings(
    runs: &[(&Scenario, &Verdict)],
    select: impl Fn(&Endpoint) -> bool,
    none: &str,
) -> (Vec<String>, Vec<String>) {
    let mut analyzed = Vec::new();
    let mut findings = Vec::new();
    for (s, _) in runs {
        for e in s.run.endpoints.iter().filter(|e| select(e)) {
            if !analyzed.contains(&e.label()) {
                analyzed.push(e.label());
            }
            findings.push(format!(
                "{}{}: {} requests, p50 {}, p95 {}, p99 {}{}",
                if runs.len() > 1 {
                    format!("[{}] ", scenario_title(s))
                } else {
                    String::new()
                },
                e.label(),
                format::count(e.requests),
                pct_text(e, 50.0),
                pct_text(e, 95.0),
                pct_text(e, 99.0),
                if e.failures > 0 {
                    format!(", {} failed", format::count(e.failures))
                } else {
                    String::new()
                }
            ));
        }
    }
    if findings.is_empty() {
        findings.push(none.to_string());
    }
    (analyzed, findings)
}

/// Derive the section; a group that could not be found is missing.
pub fn build(spec: &ReportSpec, verdicts: &[Verdict], missing: &mut super::Missing) -> Bottlenecks {
    let pairs: Vec<(&Scenario, &Verdict)> = spec.scenarios.iter().zip(verdicts).collect();
    let db_scope = group_scope(spec, &["database", "db"]);
    let db_none = match &db_scope {
        Some(s) => format!("No database timings in the input (no requests matching the database group {s})."),
        None => "No database timings in the input (no requests of type DB; define a `database` group in --config to select them by name).".to_string(),
    };
    let (db_analyzed, db_findings) = group_findings(&pairs, database_member(spec), &db_none);
    if db_analyzed.is_empty() && db_scope.is_none() {
        missing.push(("database", "Bottleneck Analysis / Database Performance: runs with DB-typed requests, or a `database` group in --config".into()));
    }
    let mcp_scope = group_scope(spec, &["orchestrator", "mcp"]);
    let mcp_none = match &mcp_scope {
        Some(s) => format!("No orchestrator timings in the input (no requests matching the orchestrator group {s})."),
        None => "No orchestrator timings: the requests to downstream services are not named (define an `orchestrator` group in --config, e.g. `orchestrator = \"name:~^/upstream/\"`, or mark the section not applicable in `[sections]`).".to_string(),
    };
    let (mcp_analyzed, mcp_findings) = group_findings(&pairs, orchestrator_member(spec), &mcp_none);
    // A configured group that matches nothing is a finding, not a missing input.
    if mcp_analyzed.is_empty() && mcp_scope.is_none() {
        missing.push(("orchestrator", "Bottleneck Analysis / Orchestrator Performance: an `orchestrator` group in --config naming the requests to downstream services".into()));
    }
    let outliers = |select: &dyn Fn(&Endpoint) -> bool, what: &str, todo: &str| {
        super::recommendations::group_outliers(spec, select, what)
            .into_iter()
            .map(|(_, evidence, _)| format!("{todo}: {evidence}"))
            .collect::<Vec<_>>()
    };
    let db_recommendations = outliers(
        &database_member(spec),
        "queries",
        "Check its query plan and indexes",
    );
    let mcp_recommendations = outliers(&orchestrator_member(spec), "operations", "Look into it");

    let mut api_analyzed: Vec<String> = Vec::new();
    let mut tables = Vec::new();
    let mut evidence = Vec::new();
    let mut slow: Vec<(String, f64)> = Vec::new();
    for (s, v) in &pairs {
        for e in &s.run.endpoints {
            if !e.kind.eq_ignore_ascii_case("DB")
                && !e.kind.eq_ignore_ascii_case("WS")
                && !api_analyzed.contains(&e.name)
            {
                api_analyzed.push(e.name.clone());
            }
        }
        tables.push(ApiTable {
            title: if pairs.len() > 1 {
                scenario_title(s)
            } else {
                String::new()
            },
            rows: endpoint_rows(&s.run, v),
        });
        let p95_target = spec
            .targets
            .iter()
            .find(|t| t.expr.metric == Metric::Percentile(95.0) && t.expr.scope.is_empty());
        if let Some(t) = p95_target {
            for e in &s.run.endpoints {
                if let Some(v) = e.latency.percentile(95.0).value()
                    && !t.expr.op.holds(v, t.expr.limit)
                    && e.failures < e.requests
                {
                    // one line per endpoint, at its worst p95 across scenarios
                    match slow.iter_mut().find(|(l, _)| *l == e.label()) {
                        Some(entry) => entry.1 = entry.1.max(v),
                        None => slow.push((e.label(), v)),
                    }
                }
            }
        }
        for e in &s.run.endpoints {
            if let Some(b) = e.avg_content_bytes
                && b >= 100_000.0
                && !e.kind.eq_ignore_ascii_case("DB")
            {
                evidence.push(format!(
                    "{} returns {} per response on average: compression and pagination would help",
                    e.label(),
                    format::bytes(b)
                ));
            }
        }
    }
    slow.sort_by(|a, b| b.1.total_cmp(&a.1));
    let caching: Vec<String> = slow
        .iter()
        .map(|(label, v)| {
            format!(
                "{label} p95 {}: a candidate for response caching",
                format::ms(*v)
            )
        })
        .collect();
    evidence.splice(0..0, caching);
    if evidence.is_empty() {
        evidence.push("No endpoint misses the p95 target; the data gives no specific evidence for these items.".into());
    }
    Bottlenecks {
        db_analyzed,
        db_findings,
        mcp_analyzed,
        mcp_findings,
        db_recommendations,
        mcp_recommendations,
        api_analyzed,
        api_tables: tables,
        api_evidence: evidence,
    }
}

//! Conclusions: the reference's achievement rows and three to five key
//! findings, most important first.

use super::spec::{ReportSpec, Scenario, resource_focus, scenario_title};
use super::text::{dedup, error_label, state_mark, target_limit_text};
use crate::format;
use crate::targets::{Metric, Outcome, State, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One row of the achievement table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AchievementRow {
    /// The reference's row (`p95 < 200ms`).
    pub target: String,
    /// Worst state over the scenarios.
    pub status: String,
    /// The configured limit and the measured figures.
    pub notes: String,
}

/// The Conclusions section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Conclusions {
    /// The achievement table.
    pub achievement: Vec<AchievementRow>,
    /// Three to five findings, most important first.
    pub key_findings: Vec<String>,
}

/// Derive the section.
pub fn build(spec: &ReportSpec, verdicts: &[Verdict]) -> Conclusions {
    // The reference's achievement rows, each bound to the default target it names.
    let rows_for = [
        ("p95 < 200ms", Metric::Percentile(95.0)),
        ("p99 < 500ms", Metric::Percentile(99.0)),
        ("100 RPS", Metric::Rps),
        ("Memory < 1GB", Metric::RssLoad),
        ("CPU < 50%", Metric::CpuLoad),
    ];
    let mut rows = Vec::new();
    for (label, metric) in rows_for {
        let index = spec
            .targets
            .iter()
            .position(|t| t.expr.metric == metric && t.expr.scope.is_empty());
        let (status, notes) = match index {
            Some(i) => {
                let outs: Vec<&Outcome> = verdicts.iter().map(|v| &v.outcomes[i]).collect();
                let measured: Vec<&&Outcome> = outs
                    .iter()
                    .filter(|o| o.state != State::NotMeasured)
                    .collect();
                if measured.is_empty() {
                    (
                        "Not measured".to_string(),
                        outs.first().map(|o| o.detail.clone()).unwrap_or_default(),
                    )
                } else {
                    let worst = measured.iter().map(|o| o.state).min().unwrap_or(State::Met);
                    let label = if spec.targets[i].expr.text.is_empty() {
                        String::new()
                    } else {
                        format!("target {}; ", target_limit_text(&spec.targets[i]))
                    };
                    (
                        state_mark(worst).to_string(),
                        format!(
                            "{label}measured {}",
                            measured
                                .iter()
                                .zip(spec.scenarios.iter())
                                .map(|(o, s)| if spec.scenarios.len() > 1 {
                                    format!("{} in {}", o.measured_text, scenario_title(s))
                                } else {
                                    o.measured_text.clone()
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                }
            }
            None => ("Not evaluated".into(), "no such target configured".into()),
        };
        rows.push(AchievementRow {
            target: label.into(),
            status,
            notes,
        });
    }
    Conclusions {
        achievement: rows,
        key_findings: key_findings(spec, verdicts),
    }
}

/// Three to five findings, most important first: missed targets (the furthest
/// past its limit first), the dominant error, the slowest endpoint, a
/// suspected leak, the before/after change, and what held everywhere.
fn key_findings(spec: &ReportSpec, verdicts: &[Verdict]) -> Vec<String> {
    let many = spec.scenarios.len() > 1;
    let (mut missed, held, any_missed) = target_findings(spec, verdicts, many);
    missed.sort_by(|a, b| b.0.total_cmp(&a.0));
    // the two worst misses lead; further misses come after the other findings
    let mut findings: Vec<String> = missed.into_iter().map(|m| m.1).collect();
    let later_missed = findings.split_off(findings.len().min(2));

    findings.extend(dominant_error(spec));
    if let Some((run, r)) = resource_focus(spec)
        && r.leak.verdict == crate::analysis::resources::LeakVerdict::Suspected
    {
        findings.push(format!("{run}: {}", r.leak.sentence));
    }
    if let Some(c) = &spec.comparison {
        let parts: Vec<String> = c
            .changes
            .iter()
            .filter(|ch| ch.metric == "p95" || ch.metric == "p99")
            .map(|ch| format!("{} {}", ch.metric, ch.text))
            .collect();
        if !parts.is_empty() {
            findings.push(format!(
                "Before/after ({} → {}): {}.",
                c.baseline.label,
                c.after.label,
                parts.join(", ")
            ));
        }
    }
    findings.extend(later_missed);
    findings.extend(slowest_endpoint(spec, many));
    if !held.is_empty() {
        // beside a miss, "met wherever measured" would read as a pass
        findings.push(if any_missed {
            format!(
                "The other measured targets were met{}: {}.",
                if many { " in every scenario" } else { "" },
                held.join(", ")
            )
        } else {
            format!(
                "Every measured target was met{}: {}.",
                if many { " in every scenario" } else { "" },
                held.join(", ")
            )
        });
    }
    findings.truncate(5);
    if findings.len() < 3 {
        let unmeasured: Vec<String> = dedup(
            verdicts
                .iter()
                .flat_map(|v| v.outcomes.iter())
                .filter(|o| o.state == State::NotMeasured)
                .map(|o| o.target.title.clone()),
        );
        if !unmeasured.is_empty() {
            findings.push(format!(
                "Not measured for lack of input: {}.",
                unmeasured.join(", ")
            ));
        }
    }
    if findings.len() < 3 && spec.scenarios.iter().all(|s| s.run.total.failures == 0) {
        findings.push("No request failed.".into());
    }
    findings
}

/// The missed targets, each with how far past its limit (relative) for
/// ordering; the targets met in every scenario; whether any missed.
fn target_findings(
    spec: &ReportSpec,
    verdicts: &[Verdict],
    many: bool,
) -> (Vec<(f64, String)>, Vec<String>, bool) {
    let mut missed: Vec<(f64, String)> = Vec::new();
    let mut held: Vec<String> = Vec::new();
    let mut any_missed = false;
    for (i, t) in spec.targets.iter().enumerate() {
        let outs: Vec<(&Scenario, &Outcome)> = spec
            .scenarios
            .iter()
            .zip(verdicts)
            .map(|(s, v)| (s, &v.outcomes[i]))
            .filter(|(_, o)| o.state != State::NotMeasured)
            .collect();
        if outs.is_empty() {
            continue;
        }
        let bad: Vec<&(&Scenario, &Outcome)> = outs
            .iter()
            .filter(|(_, o)| o.state == State::Missed)
            .collect();
        if bad.is_empty() {
            if outs.iter().all(|(_, o)| o.state == State::Met) {
                held.push(t.title.clone());
            }
            continue;
        }
        any_missed = true;
        // how far past the limit, relative, for ordering
        let excess = |o: &Outcome| {
            o.measured
                .map(|m| ((m - t.expr.limit) / t.expr.limit.abs().max(1e-9)).abs())
                .unwrap_or(0.0)
        };
        let worst = bad
            .iter()
            .max_by(|a, b| excess(a.1).total_cmp(&excess(b.1)))
            .map(|(s, o)| (*s, *o));
        let Some((ws, wo)) = worst else { continue };
        let text = if many {
            format!(
                "{} ({}) missed in {} of {} scenarios; furthest off: {} in {}.",
                t.title,
                target_limit_text(t),
                bad.len(),
                outs.len(),
                wo.measured_text,
                scenario_title(ws)
            )
        } else {
            format!(
                "{} missed: {} against {}.",
                t.title,
                wo.measured_text,
                target_limit_text(t)
            )
        };
        missed.push((excess(wo), text));
    }
    (missed, held, any_missed)
}

/// The dominant error over all runs, by endpoint path and status.
fn dominant_error(spec: &ReportSpec) -> Option<String> {
    let mut errors: Vec<(String, Option<u16>, u64, String)> = Vec::new();
    for s in &spec.scenarios {
        for f in &s.run.failures {
            let key = format!("{} {}", f.kind, f.name);
            match errors.iter_mut().find(|e| e.0 == key && e.1 == f.status) {
                Some(e) => e.2 += f.occurrences,
                None => errors.push((key, f.status, f.occurrences, f.error.clone())),
            }
        }
    }
    // the runs' own failure counts: the breakdown may be an older snapshot
    let total_errors: u64 = errors
        .iter()
        .map(|e| e.2)
        .sum::<u64>()
        .max(spec.scenarios.iter().map(|s| s.run.total.failures).sum());
    // the same path under several names ([movie], [tv]) is one finding
    let path_of = |label: &str| label.split(" [").next().unwrap_or(label).to_string();
    let mut by_path: Vec<(String, Option<u16>, u64, String)> = Vec::new();
    for (label, status, n, error) in &errors {
        let p = path_of(label);
        match by_path.iter_mut().find(|e| e.0 == p && e.1 == *status) {
            Some(e) => e.2 += n,
            None => by_path.push((p, *status, *n, error.clone())),
        }
    }
    let (label, status, n, error) = by_path.iter().max_by_key(|e| e.2)?;
    {
        // what was observed, not a guess at why (a 404 may be a wrong path,
        // a missing record or a route that does not exist)
        let why = match status {
            Some(0) => ": connection errors, no HTTP response",
            _ => "",
        };
        Some(format!(
            "{label} causes {} of {} failed requests ({}, {}){why}.",
            format::count(*n),
            format::count(total_errors),
            format::fraction(*n as f64 / total_errors.max(1) as f64),
            error_label(*status, error)
        ))
    }
}

/// The slowest endpoint by p95 that did not always fail.
fn slowest_endpoint(spec: &ReportSpec, many: bool) -> Option<String> {
    let slowest = spec
        .scenarios
        .iter()
        .flat_map(|s| s.run.endpoints.iter().map(move |e| (s, e)))
        .filter(|(_, e)| e.failures < e.requests)
        .filter_map(|(s, e)| e.latency.percentile(95.0).value().map(|v| (s, e, v)))
        .max_by(|a, b| a.2.total_cmp(&b.2));
    slowest.map(|(s, e, v)| {
        format!(
            "The slowest endpoint is {} with p95 {}{}.",
            e.label(),
            format::ms(v),
            if many {
                format!(" ({})", scenario_title(s))
            } else {
                String::new()
            }
        )
    })
}

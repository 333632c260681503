//! Test Scenarios: per run, its profile, expected and actual figures, and the
//! analysis sentences.

use super::spec::{Scenario, ScenarioInfo, scenario_title, user_levels};
use super::text::{error_label, outcome_phrase, pct_text, status_name, trim_num};
use crate::analysis::steady;
use crate::format;
use crate::latency::Percentile;
use crate::model::{Endpoint, Run};
use crate::targets::{State, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One scenario of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioView {
    /// 1-based position in the report.
    pub number: usize,
    /// Title after "Scenario N: ".
    pub title: String,
    /// The files of the run, for `fill` to say where a section's figures are from.
    pub run_sources: String,
    /// Description (config, else what the run is).
    pub description: String,
    /// User profile lines (config, else the observed request mix).
    pub user_profile: Vec<String>,
    /// Think time, or why it is unknown.
    pub think_time: String,
    /// Concurrent user levels.
    pub user_levels: String,
    /// Expected results lines.
    pub expected: Vec<String>,
    /// Actual results lines.
    pub actual: Vec<String>,
    /// Analysis sentences.
    pub analysis: Vec<String>,
    /// Notes (config notes, provenance, endpoints that always failed).
    pub notes: Vec<String>,
}

/// Every scenario, in order, each against its verdict.
pub fn build(scenarios: &[Scenario], verdicts: &[Verdict]) -> Vec<ScenarioView> {
    scenarios
        .iter()
        .zip(verdicts)
        .enumerate()
        .map(|(i, (s, v))| scenario_view(i + 1, s, v))
        .collect()
}

/// Observed share of each endpoint, most requested first.
fn request_mix(run: &Run) -> Vec<String> {
    let total = run.total.requests.max(1) as f64;
    let mut eps: Vec<&Endpoint> = run.endpoints.iter().collect();
    eps.sort_by_key(|e| std::cmp::Reverse(e.requests));
    // a log with hundreds of names would make this one line unreadable
    const SHOWN: usize = 12;
    let mut mix: Vec<String> = eps
        .iter()
        .take(SHOWN)
        .map(|e| format!("{} ({:.0} %)", e.label(), e.requests as f64 * 100.0 / total))
        .collect();
    if eps.len() > SHOWN {
        let rest: u64 = eps[SHOWN..].iter().map(|e| e.requests).sum();
        mix.push(format!(
            "{} more endpoints ({:.0} %)",
            eps.len() - SHOWN,
            rest as f64 * 100.0 / total
        ));
    }
    mix
}

fn scenario_view(number: usize, s: &Scenario, verdict: &Verdict) -> ScenarioView {
    let run = &s.run;
    let title = scenario_title(s);
    let description = s.info.description.clone().unwrap_or_else(|| {
        format!(
            "{} run {}: {} endpoints{}.",
            run.tool,
            run.label,
            run.endpoints.len(),
            run.peak_users
                .map(|u| format!(", up to {u} concurrent users"))
                .unwrap_or_default()
        )
    });
    let user_profile = user_profile(s);
    let levels = user_levels(run);
    let user_levels_text = s.info.user_levels.clone().unwrap_or_else(|| {
        if levels.is_empty() {
            "not recorded in the input (pass the stats history or JSON beside the CSV)".into()
        } else {
            levels
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    });
    let think_time = s.info.think_time.clone().unwrap_or_else(|| {
        "not recorded in the load-test output (set think_time for the scenario in --config)".into()
    });
    let expected = expected(&s.info);
    let actual = actual(run);
    let analysis = analysis(s, verdict);
    let notes = notes(s);
    ScenarioView {
        number,
        title,
        run_sources: run
            .sources
            .iter()
            .map(|p| {
                p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        description,
        user_profile,
        think_time,
        user_levels: user_levels_text,
        expected,
        actual,
        analysis,
        notes,
    }
}

/// The user profile: the config's lines, else the observed request mix; then
/// the tool's own scenarios and transactions.
fn user_profile(s: &Scenario) -> Vec<String> {
    let run = &s.run;
    let mut user_profile = if s.info.user_profile.is_empty() {
        vec![format!(
            "Tasks (observed request mix): {}",
            request_mix(run).join(", ")
        )]
    } else {
        s.info.user_profile.clone()
    };
    for sc in &run.tool_scenarios {
        let total: u64 = sc.transactions.iter().map(|t| t.count).sum();
        let tx: Vec<String> = sc
            .transactions
            .iter()
            .map(|t| {
                format!(
                    "{} ({:.0} %, {} runs{}{})",
                    t.name,
                    t.count as f64 * 100.0 / total.max(1) as f64,
                    format::count(t.count),
                    t.avg_ms
                        .map(|a| format!(", avg {}", format::ms(a)))
                        .unwrap_or_default(),
                    if t.failures > 0 {
                        format!(", {} failed", t.failures)
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        user_profile.push(format!(
            "{} scenario {}: {} users, {} completed iterations{}; transactions: {}",
            run.tool,
            sc.name,
            sc.users,
            format::count(sc.count),
            sc.avg_ms
                .map(|a| format!(" (avg {} each, waits included)", format::ms(a)))
                .unwrap_or_default(),
            if tx.is_empty() {
                "none recorded".to_string()
            } else {
                tx.join(", ")
            }
        ));
    }
    user_profile
}

/// Expected results, from the config.
fn expected(info: &ScenarioInfo) -> Vec<String> {
    let mut expected = Vec::new();
    match info.expected_users {
        Some(u) => expected.push(format!("Users: {u}")),
        None => expected.push("Users: not set (expected_users in --config)".into()),
    }
    match &info.expected_duration {
        Some(d) => expected.push(format!("Duration: {d}")),
        None => expected.push("Duration: not set (expected_duration in --config)".into()),
    }
    match info.target_rps {
        Some((lo, hi)) => expected.push(format!("Target RPS: {}-{}", trim_num(lo), trim_num(hi))),
        None => expected.push("Target RPS: not set (target_rps in --config)".into()),
    }
    expected
}

/// Actual results: the run's totals.
fn actual(run: &Run) -> Vec<String> {
    let t = &run.total;
    vec![
        format!("Total Requests: {}", t.requests),
        format!(
            "Failures: {} ({})",
            t.failures,
            format::fraction(t.error_rate().unwrap_or(0.0))
        ),
        format!("Median Response Time: {}", pct_text(t, 50.0)),
        format!("95th Percentile: {}", pct_text(t, 95.0)),
        format!("99th Percentile: {}", pct_text(t, 99.0)),
        format!(
            "Requests/second: {}",
            t.rps
                .map(|r| match &run.rps_basis {
                    Some(b) => format!("{r:.2} on average ({b})"),
                    None => format!("{r:.2} on average"),
                })
                .unwrap_or_else(|| "n/a".into())
        ),
    ]
}

/// The analysis sentences: totals, throughput against its range, targets,
/// slowest endpoints, then failures and what the tool itself reported.
fn analysis(s: &Scenario, verdict: &Verdict) -> Vec<String> {
    let run = &s.run;
    let t = &run.total;
    let sustained = steady::sustained_rps(run);
    let mut analysis = Vec::new();
    analysis.push(format!(
        "The run completed {} requests{} at {} on average; {} failed ({}).",
        format::count(t.requests),
        run.duration_s
            .map(|d| format!(" in {}", format::duration(d)))
            .unwrap_or_default(),
        t.rps
            .map(format::rps)
            .unwrap_or_else(|| "an unknown rate".into()),
        format::count(t.failures),
        format::fraction(t.error_rate().unwrap_or(0.0))
    ));
    if let Some(s) = &sustained
        && s.window.is_some()
    {
        analysis.push(format!(
            "Sustained throughput was {} over the {}.",
            format::rps(s.rps),
            s.basis
        ));
    }
    if let (Some((lo, hi)), Some(rate)) = (s.info.target_rps, sustained.as_ref().map(|s| s.rps)) {
        let verdict = if rate < lo {
            "below"
        } else if rate > hi {
            "above"
        } else {
            "inside"
        };
        analysis.push(format!(
            "Actual throughput {} is {verdict} the target range of {}-{} req/s.",
            format::rps(rate),
            trim_num(lo),
            trim_num(hi)
        ));
    }
    let met: Vec<String> = verdict
        .outcomes
        .iter()
        .filter(|o| o.state == State::Met)
        .map(outcome_phrase)
        .collect();
    let missed: Vec<String> = verdict
        .outcomes
        .iter()
        .filter(|o| matches!(o.state, State::Missed | State::Warned))
        .map(outcome_phrase)
        .collect();
    if !met.is_empty() {
        analysis.push(format!("Targets met: {}.", met.join("; ")));
    }
    if !missed.is_empty() {
        analysis.push(format!("Targets missed: {}.", missed.join("; ")));
    }
    if let Some(o) = verdict.outcomes.iter().find(|o| o.target.is_api()) {
        analysis.push(format!(
            "The API Response Time targets cover {}.",
            crate::targets::coverage_phrase(run, &o.target)
        ));
    }
    let mut by_p95: Vec<(&Endpoint, f64)> = run
        .endpoints
        .iter()
        .filter_map(|e| match e.latency.percentile(95.0) {
            Percentile::Value(v) => Some((e, v)),
            Percentile::Between(_, hi) => Some((e, hi)),
            Percentile::NotAvailable => None,
        })
        .collect();
    by_p95.sort_by(|a, b| b.1.total_cmp(&a.1));
    if !by_p95.is_empty() {
        analysis.push(format!(
            "Slowest endpoints by p95: {}.",
            by_p95
                .iter()
                .take(3)
                .map(|(e, v)| format!("{} ({})", e.label(), format::ms(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    analysis.extend(failures_and_tool(run));
    analysis
}

/// Sentences on the run's failures, exceptions, the tool's own thresholds and
/// how the run ended, and the percentile rule.
fn failures_and_tool(run: &Run) -> Vec<String> {
    let t = &run.total;
    let mut analysis = Vec::new();
    if let Some(f) = run.failures.first() {
        // one denominator for every failure figure: the run's own count
        let listed: u64 = run.failures.iter().map(|f| f.occurrences).sum();
        let total_fail = t.failures.max(listed);
        let unlisted = run.unlisted_failures();
        analysis.push(format!(
            "Failures are dominated by {}: {} ({} of {} failures, {}){}.",
            if f.kind.is_empty() {
                f.name.clone()
            } else {
                format!("{} {}", f.kind, f.name)
            },
            error_label(f.status, &f.error),
            format::count(f.occurrences),
            format::count(total_fail),
            format::fraction(f.occurrences as f64 / total_fail.max(1) as f64),
            if unlisted > 0 {
                format!(
                    "; {} of the {} failures are missing from the failure breakdown, an older snapshot",
                    format::count(unlisted),
                    format::count(total_fail)
                )
            } else {
                String::new()
            }
        ));
    } else if t.failures > 0 {
        analysis.push(format!(
            "{} requests failed; the input has no failure details (pass the failures CSV beside the stats).",
            format::count(t.failures)
        ));
    }
    if !run.exceptions.is_empty() {
        let n: u64 = run.exceptions.iter().map(|e| e.count).sum();
        analysis.push(format!(
            "The load-test code itself raised {} exceptions (most common: {}).",
            format::count(n),
            run.exceptions[0].message
        ));
    }
    if !run.tool_thresholds.is_empty() {
        analysis.push(format!(
            "{}'s own thresholds, beside ours: {}.",
            run.tool,
            run.tool_thresholds
                .iter()
                .map(|th| format!(
                    "{} {} (observed {})",
                    th.rule,
                    if th.passed { "passed" } else { "failed" },
                    th.observed
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if let Some(why) = &run.stopped_early {
        analysis.push(format!(
            "The run stopped early: {why}; every figure covers the shortened run."
        ));
    } else if let Some(by) = run.ended_by.as_deref().filter(|b| *b != "completed") {
        analysis.push(format!("{} reports the run ended by: {by}.", run.tool));
    }
    analysis.push(format!("Percentiles: {}.", t.latency.precision_note()));
    analysis
}

/// Notes: the config's, the inputs' provenance, endpoints that always failed.
fn notes(s: &Scenario) -> Vec<String> {
    let run = &s.run;
    let mut notes = s.info.notes.clone();
    notes.extend(run.provenance.iter().cloned());
    for e in &run.endpoints {
        if e.requests > 0 && e.failures == e.requests {
            let code = run
                .failures
                .iter()
                .find(|f| f.kind == e.kind && f.name == e.name)
                .and_then(|f| f.status);
            let why = match code {
                Some(0) => ", no HTTP response".to_string(),
                _ => String::new(),
            };
            notes.push(format!(
                "{} returned {} for all {} requests{why}.",
                e.label(),
                code.map(|c| if c == 0 {
                    "connection errors".to_string()
                } else {
                    format!("{c} {}", status_name(c))
                })
                .unwrap_or_else(|| "failures".into()),
                e.requests
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tool;

    #[test]
    fn a_long_request_mix_shows_the_busiest_and_counts_the_rest() {
        let mut run = Run::new("r", Tool::Goose);
        // 20 endpoints with 1..=20 requests: 210 in all
        for i in 1..=20u64 {
            run.endpoints.push(Endpoint {
                kind: "GET".into(),
                name: format!("/item/{i}"),
                requests: i,
                ..Endpoint::default()
            });
        }
        run.total.requests = 210;
        let mix = request_mix(&run);
        assert_eq!(mix.len(), 13);
        assert_eq!(mix[0], "GET /item/20 (10 %)");
        // the 8 smallest: 1 + 2 + ... + 8 = 36 of 210 requests
        assert_eq!(mix[12], "8 more endpoints (17 %)");
    }
}

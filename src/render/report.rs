//! The reference report, filled from data: a [`ReportSpec`] (runs plus what the
//! user told us about them) becomes the tera context of `report.md.tera`.
//!
//! Every figure and sentence is computed here; the template only lays it out.
//! Where an input is missing, the sentence says which input would fill it.

use crate::analysis::compare::Comparison;
use crate::analysis::steady;
use crate::error::Result;
use crate::format;
use crate::latency::Percentile;
use crate::model::{Endpoint, Run};
use crate::targets::{self, Metric, Outcome, ResourceFigures, State, Target, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The sections a config's `[notes]` can add free text to.
pub const NOTE_SECTIONS: &[&str] = &[
    "summary",
    "targets",
    "scenarios",
    "bottlenecks",
    "resources",
    "errors",
    "scalability",
    "recommendations",
    "comparison",
    "running",
    "monitoring",
    "conclusions",
];

/// The sections a config's `[sections]` can mark not applicable, each one
/// whose data `--strict` otherwise requires.
pub const SECTIONS: &[&str] = &[
    "environment",
    "expected",
    "database",
    "orchestrator",
    "resources",
    "capacity",
    "instances",
    "cores",
    "comparison",
];

/// What a report is made of.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    /// The system under test (`AutoArr API`), when known.
    pub system: Option<String>,
    /// Environment line (`Development (Local)`).
    pub environment: Option<String>,
    /// Test date; default: the first run's start date.
    pub test_date: Option<String>,
    /// Report version.
    pub version: String,
    /// Next review line.
    pub next_review: String,
    /// Targets to evaluate.
    pub targets: Vec<Target>,
    /// One scenario per run.
    pub scenarios: Vec<Scenario>,
    /// Free-text notes per section (`bottlenecks`, `errors`, ...).
    pub notes: BTreeMap<String, Vec<String>>,
    /// Request groups by section name (`database`, `orchestrator`).
    pub groups: Vec<(String, crate::targets::Scope)>,
    /// Sections (of [`SECTIONS`]) that cannot apply to this system, with why.
    pub not_applicable: BTreeMap<String, String>,
    /// Baseline against after, when both were given.
    pub comparison: Option<Comparison>,
    /// A step run (several user levels) for single-instance capacity.
    pub step: Option<Run>,
    /// Runs at several instance or core counts.
    pub scalability: Vec<ScalePoint>,
    /// The resource analysis of the step run, which has several user levels
    /// and so is the one the Resource Utilization section is built from.
    pub step_resources: Option<crate::analysis::resources::ResourceReport>,
    /// File name of the resource chart written next to the report, to link.
    pub chart: Option<String>,
    /// The samples behind [`resource_focus`], for the chart.
    pub focus_series: Option<crate::model::ResourceSeries>,
    /// The baseline and after runs behind [`ReportSpec::comparison`], for charts.
    pub compared: Option<(Run, Run)>,
}

/// A run at a given instance or core count.
#[derive(Debug, Clone)]
pub struct ScalePoint {
    /// The run.
    pub run: Run,
    /// Instances (horizontal scaling).
    pub instances: Option<u32>,
    /// Cores (vertical scaling).
    pub cores: Option<u32>,
}

/// What the user says about a scenario (from a config file); everything the
/// load-test output cannot know.
#[derive(Debug, Clone, Default)]
pub struct ScenarioInfo {
    /// Title after "Scenario N: " (default: the run's label).
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// User profile lines; default: the observed request mix.
    pub user_profile: Vec<String>,
    /// Think time, as written.
    pub think_time: Option<String>,
    /// Concurrent user levels, as written (default: from the timeline).
    pub user_levels: Option<String>,
    /// Expected users.
    pub expected_users: Option<u64>,
    /// Expected duration, as written.
    pub expected_duration: Option<String>,
    /// Target RPS range.
    pub target_rps: Option<(f64, f64)>,
    /// Free-text notes.
    pub notes: Vec<String>,
}

/// A scenario: a run plus what the user said about it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The run.
    pub run: Run,
    /// What the user said about it.
    pub info: ScenarioInfo,
    /// Resource figures for the memory/CPU targets, when samples were given.
    pub resources: Option<ResourceFigures>,
    /// The resource analysis, when samples were given (fills Resource Utilization).
    pub resource_report: Option<crate::analysis::resources::ResourceReport>,
}

impl Scenario {
    /// A scenario with nothing but its run.
    pub fn from_run(run: Run) -> Self {
        Scenario {
            run,
            info: ScenarioInfo::default(),
            resources: None,
            resource_report: None,
        }
    }
}

impl ReportSpec {
    /// A report of one run with the default targets.
    pub fn single(run: Run, targets: Vec<Target>) -> Self {
        ReportSpec {
            system: None,
            environment: None,
            test_date: None,
            version: "1.0".into(),
            next_review: "After implementing optimizations".into(),
            targets,
            scenarios: vec![Scenario::from_run(run)],
            notes: BTreeMap::new(),
            groups: Vec::new(),
            not_applicable: BTreeMap::new(),
            comparison: None,
            step: None,
            scalability: Vec::new(),
            step_resources: None,
            chart: None,
            focus_series: None,
            compared: None,
        }
    }
}

#[derive(Serialize)]
struct TargetRow {
    metric: String,
    target: String,
    status: String,
}

#[derive(Serialize)]
struct ScenarioView {
    number: usize,
    title: String,
    // the files of the run, for `fill` to say where a section's figures are from
    run_sources: String,
    description: String,
    user_profile: Vec<String>,
    think_time: String,
    user_levels: String,
    expected: Vec<String>,
    actual: Vec<String>,
    analysis: Vec<String>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct EndpointRow {
    endpoint: String,
    requests: String,
    failures: String,
    p50: String,
    p95: String,
    p99: String,
    rps: String,
    flag: String,
}

#[derive(Serialize)]
struct ScaleFigure {
    n: u32,
    rps: f64,
    label: String,
    efficiency: Option<f64>,
}

#[derive(Serialize)]
struct ErrorRow {
    label: String,
    count: String,
    percentage: String,
    code: String,
}

#[derive(Serialize)]
struct AchievementRow {
    target: String,
    status: String,
    notes: String,
}

/// Render the report as markdown.
pub fn render(spec: &ReportSpec, template: Option<&Path>) -> Result<String> {
    let context = context(spec)?;
    super::render_markdown(&context, template)
}

/// The verdict of every scenario, in order.
pub fn verdicts(spec: &ReportSpec) -> Vec<Verdict> {
    spec.scenarios
        .iter()
        .map(|s| targets::evaluate(&s.run, &spec.targets, s.resources.as_ref()))
        .collect()
}

/// The tera context for a spec.
pub fn context(spec: &ReportSpec) -> Result<tera::Context> {
    Ok(build(spec).0)
}

/// Sections that still lack data, each with the input that would fill it
/// (what `render --strict` refuses).
pub fn missing_sections(spec: &ReportSpec) -> Vec<String> {
    build(spec).1
}

/// The context and the sections that lack data, from one pass over the runs.
pub fn context_and_missing(spec: &ReportSpec) -> (tera::Context, Vec<String>) {
    build(spec)
}

fn build(spec: &ReportSpec) -> (tera::Context, Vec<String>) {
    let mut missing: Vec<(&'static str, String)> = Vec::new();
    let verdicts = verdicts(spec);
    let mut ctx = tera::Context::new();
    let runs: Vec<&Run> = spec.scenarios.iter().map(|s| &s.run).collect();
    let first = runs.first().copied();

    // Executive summary
    let tools: Vec<String> = dedup(runs.iter().map(|r| match &r.tool_version {
        Some(v) => format!("{} {}", r.tool, v),
        None => r.tool.to_string(),
    }));
    let system = spec.system.clone().unwrap_or_else(|| match first {
        Some(r) if runs.len() == 1 => format!("the run {}", r.label),
        _ => format!("{} runs", runs.len()),
    });
    ctx.insert(
        "summary",
        &format!(
            "This report documents load testing results for {system} using {}.",
            dedup(runs.iter().map(|r| r.tool.to_string())).join(" and ")
        ),
    );
    let test_date = spec.test_date.clone().unwrap_or_else(|| {
        runs.iter()
            .filter_map(|r| r.started)
            .filter(|t| *t > 0.0)
            .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.min(t))))
            .map(format::date)
            .unwrap_or_else(|| match runs.first().map(|r| r.tool) {
                Some(crate::model::Tool::Goose) => "not recorded in the input (a Goose request log holds only elapsed times; pass the run's report.json with it)".into(),
                _ => "not recorded in the input (Locust's stats CSV carries no dates; pass the stats history or JSON beside it)".into(),
            })
    });
    ctx.insert("test_date", &test_date);
    ctx.insert("tool", &tools.join(", "));
    ctx.insert(
        "environment",
        &spec
            .environment
            .clone()
            .unwrap_or_else(|| "not stated (set environment in --config)".into()),
    );
    let durations: Vec<f64> = runs.iter().filter_map(|r| r.duration_s).collect();
    let duration = match durations.len() {
        0 => "unknown (no timing in the input)".to_string(),
        1 => format::duration(durations[0]),
        _ => {
            let lo = durations.iter().cloned().fold(f64::INFINITY, f64::min);
            let hi = durations.iter().cloned().fold(0.0, f64::max);
            format!(
                "{} scenarios, {} to {} each",
                durations.len(),
                format::duration(lo),
                format::duration(hi)
            )
        }
    };
    ctx.insert("duration", &duration);

    // Performance targets
    let target_rows: Vec<TargetRow> = spec
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| TargetRow {
            metric: t.title.clone(),
            target: target_limit_text(t),
            status: combined_status(spec, &verdicts, i),
        })
        .collect();
    ctx.insert("targets", &target_rows);

    // Scenarios
    let scenarios: Vec<ScenarioView> = spec
        .scenarios
        .iter()
        .zip(&verdicts)
        .enumerate()
        .map(|(i, (s, v))| scenario_view(i + 1, s, v))
        .collect();
    ctx.insert("scenarios", &scenarios);

    // Bottlenecks
    bottlenecks(&mut ctx, spec, &verdicts, &mut missing);

    // Resources
    resources_without_samples(&mut ctx, spec);
    ctx.insert("res", &resource_view(spec));

    // Errors
    errors(&mut ctx, &runs);

    // Scalability
    scalability(&mut ctx, spec, &mut missing);

    // Before/after
    comparison(&mut ctx, spec, &mut missing);
    ctx.insert(
        "comparison_missing",
        "No baseline/after pair was supplied: pass [baseline] and [after] runs in --config, or compare two runs with perfreport diff --baseline B --after A.",
    );

    // Optimization recommendations, ranked by their evidence
    let recs = super::recommendations::recommendations(
        spec,
        &database_member(spec),
        &orchestrator_member(spec),
    );
    let mut levels = Vec::new();
    let mut number = 0;
    for priority in [
        super::recommendations::Priority::High,
        super::recommendations::Priority::Medium,
        super::recommendations::Priority::Low,
    ] {
        let items: Vec<serde_json::Value> = recs
            .iter()
            .filter(|r| r.priority == priority)
            .map(|r| {
                number += 1;
                serde_json::json!({"number": number, "title": r.title, "evidence": r.evidence})
            })
            .collect();
        levels.push(serde_json::json!({"title": priority.title(), "items": items}));
    }
    ctx.insert("recommendations", &recs);
    ctx.insert("recommendation_levels", &levels);

    // Running: which runs this report is made of, by file name
    let run_lines: Vec<String> = runs
        .iter()
        .map(|r| {
            let files: Vec<String> = r
                .sources
                .iter()
                .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
                .collect();
            format!(
                "{}: {}{} ({})",
                r.label,
                r.tool,
                r.tool_version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default(),
                files.join(", ")
            )
        })
        .collect();
    ctx.insert("runs", &run_lines);

    // Conclusions
    conclusions(&mut ctx, spec, &verdicts);

    ctx.insert("version", &spec.version);
    ctx.insert("last_updated", &test_date);
    ctx.insert("next_review", &spec.next_review);
    let mut notes: BTreeMap<&str, Vec<String>> =
        NOTE_SECTIONS.iter().map(|s| (*s, Vec::new())).collect();
    for (k, v) in &spec.notes {
        if let Some(slot) = notes.get_mut(k.as_str()) {
            slot.extend(v.iter().cloned());
        }
    }
    ctx.insert("notes", &notes);
    if spec.environment.is_none() {
        missing.push((
            "environment",
            "Executive Summary / Environment: `environment` in --config".into(),
        ));
    }
    for s in &spec.scenarios {
        if s.info.target_rps.is_none() || s.info.expected_users.is_none() {
            missing.push(("expected", format!(
                "Test Scenarios / {}: expected results (`expected_users`, `expected_duration`, `target_rps`) in --config",
                scenario_title(s)
            )));
        }
        if s.resources.is_none() {
            missing.push(("resources", format!(
                "Resource Utilization ({}): resource samples (`resources` in --config, or --resources)",
                scenario_title(s)
            )));
        }
    }
    ctx.insert("na", &spec.not_applicable);
    // a section the config marks not applicable is said so, not missing
    let missing = missing
        .into_iter()
        .filter(|(section, _)| !spec.not_applicable.contains_key(*section))
        .map(|(_, text)| text)
        .collect();
    (ctx, missing)
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn limit_text(metric: Metric, limit: f64) -> String {
    match metric {
        Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => format::ms(limit),
        Metric::Rps => format!("{} req/s", trim_num(limit)),
        Metric::ErrorRate => format::fraction(limit),
        Metric::Errors => trim_num(limit),
        Metric::RssIdle | Metric::RssLoad => format::bytes(limit),
        Metric::CpuLoad => format::percent(limit),
        Metric::LeakSlope => format!("{}/min", format::bytes(limit)),
    }
}

fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn target_limit_text(t: &Target) -> String {
    let e = &t.expr;
    let mut s = format!("{} {}", e.op.symbol(), limit_text(e.metric, e.limit));
    if e.metric == Metric::Rps && e.scope.is_empty() {
        s.push_str(" sustained");
    }
    if let Some(o) = e.over_s {
        s.push_str(&format!(" in every {} window", format::duration(o)));
    }
    if let Some(d) = e.for_s {
        s.push_str(&format!(
            " unless breached for less than {} in a row",
            format::duration(d)
        ));
    }
    if e.warn {
        s.push_str(" (warning)");
    }
    s
}

/// A time of a run: UTC, or seconds into the test when the input has no clock.
fn when(run: &Run, t: f64) -> String {
    if run.relative_times {
        format!("{} into the test", format::duration(t))
    } else {
        format::time(t)
    }
}

/// `API Response Time (p95) (140 ms vs < 200 ms)`.
fn outcome_phrase(o: &Outcome) -> String {
    format!(
        "{} ({} vs {})",
        o.target.title,
        o.measured_text,
        target_limit_text(&o.target)
    )
}

fn state_mark(state: State) -> &'static str {
    match state {
        State::Met => "✅ Met",
        State::Warned => "⚠️ Warning",
        State::Missed => "❌ Missed",
        State::NotMeasured => "Not measured",
    }
}

/// One status cell for a target over all scenarios.
fn combined_status(spec: &ReportSpec, verdicts: &[Verdict], index: usize) -> String {
    let outcomes: Vec<(&Scenario, &Outcome)> = spec
        .scenarios
        .iter()
        .zip(verdicts)
        .map(|(s, v)| (s, &v.outcomes[index]))
        .collect();
    if outcomes.len() == 1 {
        let o = outcomes[0].1;
        return match o.state {
            State::NotMeasured => format!("Not measured: {}", o.detail),
            s => format!("{} ({})", state_mark(s), o.measured_text),
        };
    }
    let measured: Vec<&(&Scenario, &Outcome)> = outcomes
        .iter()
        .filter(|(_, o)| o.state != State::NotMeasured)
        .collect();
    if measured.is_empty() {
        return format!("Not measured: {}", outcomes[0].1.detail);
    }
    let worst = measured
        .iter()
        .map(|(_, o)| o.state)
        .min()
        .unwrap_or(State::Met);
    let parts: Vec<String> = measured
        .iter()
        .map(|(s, o)| format!("{} {}", scenario_title(s), o.measured_text))
        .collect();
    let met = measured
        .iter()
        .filter(|(_, o)| o.state == State::Met)
        .count();
    format!(
        "{} in {} of {} measured scenarios ({})",
        state_mark(worst),
        if worst == State::Met {
            met
        } else {
            measured.len() - met
        },
        measured.len(),
        parts.join("; ")
    )
}

/// A scenario's title: the configured name, else the run's label.
pub fn scenario_title(s: &Scenario) -> String {
    s.info.title.clone().unwrap_or_else(|| s.run.label.clone())
}

fn pct_text(e: &Endpoint, p: f64) -> String {
    match e.latency.percentile(p) {
        Percentile::Value(v) => format::ms(v),
        Percentile::Between(a, b) => format!("{}–{}", format::ms(a), format::ms(b)),
        Percentile::NotAvailable => "n/a".into(),
    }
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

/// Distinct user levels held for at least two ticks, in order.
pub fn user_levels(run: &Run) -> Vec<u64> {
    let mut levels: Vec<u64> = Vec::new();
    let users: Vec<u64> = run.timeline.iter().filter_map(|p| p.users).collect();
    for w in users.windows(2) {
        if w[0] == w[1] && w[0] > 0 && levels.last() != Some(&w[0]) && !levels.contains(&w[0]) {
            levels.push(w[0]);
        }
    }
    if levels.is_empty()
        && let Some(p) = run.peak_users.filter(|p| *p > 0)
    {
        levels.push(p);
    }
    levels
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
    let mut expected = Vec::new();
    match s.info.expected_users {
        Some(u) => expected.push(format!("Users: {u}")),
        None => expected.push("Users: not set (expected_users in --config)".into()),
    }
    match &s.info.expected_duration {
        Some(d) => expected.push(format!("Duration: {d}")),
        None => expected.push("Duration: not set (expected_duration in --config)".into()),
    }
    match s.info.target_rps {
        Some((lo, hi)) => expected.push(format!("Target RPS: {}-{}", trim_num(lo), trim_num(hi))),
        None => expected.push("Target RPS: not set (target_rps in --config)".into()),
    }
    let t = &run.total;
    let sustained = steady::sustained_rps(run);
    let actual = vec![
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
    ];
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

/// A name for an HTTP status.
pub fn status_name(code: u16) -> &'static str {
    match code {
        0 => "Connection Error",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Timeout",
        _ => "Other",
    }
}

fn error_label(status: Option<u16>, error: &str) -> String {
    match status {
        Some(0) => format!("connection error ({})", shorten(error, 60)),
        Some(c) => format!("{c} {}", status_name(c)),
        None => shorten(error, 80),
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
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

/// Whether a request belongs to the database group: the configured
/// `database` group, else the requests of type DB.
fn database_member(spec: &ReportSpec) -> impl Fn(&Endpoint) -> bool {
    let scope = group_scope(spec, &["database", "db"]);
    move |e: &Endpoint| match &scope {
        Some(s) => s.matches(&e.kind, &e.name),
        None => e.kind.eq_ignore_ascii_case("DB"),
    }
}

/// Whether a request belongs to the configured `orchestrator` group; without
/// one nothing does (which requests reach an orchestrator is the user's
/// knowledge, not the data's).
fn orchestrator_member(spec: &ReportSpec) -> impl Fn(&Endpoint) -> bool {
    let scope = group_scope(spec, &["orchestrator", "mcp"]);
    move |e: &Endpoint| scope.as_ref().is_some_and(|s| s.matches(&e.kind, &e.name))
}

/// The request group configured for a section, with a fallback.
fn group_scope(spec: &ReportSpec, names: &[&str]) -> Option<crate::targets::Scope> {
    spec.groups
        .iter()
        .find(|(n, _)| names.iter().any(|x| n.eq_ignore_ascii_case(x)))
        .map(|(_, s)| s.clone())
}

fn bottlenecks(
    ctx: &mut tera::Context,
    spec: &ReportSpec,
    verdicts: &[Verdict],
    missing: &mut Vec<(&'static str, String)>,
) {
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
    ctx.insert("db_analyzed", &db_analyzed);
    ctx.insert("db_findings", &db_findings);
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
    ctx.insert("mcp_analyzed", &mcp_analyzed);
    ctx.insert("mcp_findings", &mcp_findings);
    let outliers = |select: &dyn Fn(&Endpoint) -> bool, what: &str, todo: &str| {
        super::recommendations::group_outliers(spec, select, what)
            .into_iter()
            .map(|(_, evidence, _)| format!("{todo}: {evidence}"))
            .collect::<Vec<_>>()
    };
    ctx.insert(
        "db_recommendations",
        &outliers(
            &database_member(spec),
            "queries",
            "Check its query plan and indexes",
        ),
    );
    ctx.insert(
        "mcp_recommendations",
        &outliers(&orchestrator_member(spec), "operations", "Look into it"),
    );

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
        tables.push(serde_json::json!({
            "title": if pairs.len() > 1 { scenario_title(s) } else { String::new() },
            "rows": endpoint_rows(&s.run, v),
        }));
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
    ctx.insert("api_analyzed", &api_analyzed);
    ctx.insert("api_tables", &tables);
    if evidence.is_empty() {
        evidence.push("No endpoint misses the p95 target; the data gives no specific evidence for these items.".into());
    }
    ctx.insert("api_evidence", &evidence);
}

fn resources_without_samples(ctx: &mut tera::Context, spec: &ReportSpec) {
    ctx.insert(
        "resources_missing",
        "No resource samples supplied: pass --resources resources.csv (or psrecord/pidstat output) sampled from the server during the test.",
    );
    // Response bandwidth needs only the load-test data.
    let mut lines = Vec::new();
    for s in &spec.scenarios {
        let r = &s.run;
        if let (Some(b), Some(d)) = (r.total.avg_content_bytes, r.duration_s)
            && d > 0.0
        {
            let mbs = b * r.total.requests as f64 / d / 1e6;
            lines.push(format!(
                "{}{:.3} MB/s (average content size {:.0} B × {} requests ÷ {})",
                if spec.scenarios.len() > 1 {
                    format!("{}: ", scenario_title(s))
                } else {
                    String::new()
                },
                mbs,
                b,
                format::count(r.total.requests),
                format::duration(d)
            ));
        }
    }
    if lines.is_empty() {
        lines.push("not available (the input has no content sizes)".into());
    }
    ctx.insert("response_bandwidth", &lines.join("; "));
}

fn errors(ctx: &mut tera::Context, runs: &[&Run]) {
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
    ctx.insert("error_rows", &rows);
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
    ctx.insert("error_patterns", &patterns);
}

/// What input gives a run series over time, for the tools of these runs only
/// (a Goose report names no Locust option); `latency` for windowed latency.
fn history_hint(runs: &[(String, &Run)], latency: bool) -> String {
    let tools = dedup(runs.iter().map(|(_, r)| r.tool.to_string()));
    let hint = |tool: &str| match (tool, latency) {
        ("Locust", false) => "Locust: the stats history CSV beside the stats CSV",
        ("Locust", true) => "Locust: run with --csv-full-history",
        (_, false) => "Goose: the request log, or report.json written with --report-graph-data",
        (_, true) => "Goose: the request log",
    };
    let hints: Vec<&str> = if tools.is_empty() {
        vec![hint("Locust"), hint("Goose")]
    } else {
        tools.iter().map(|t| hint(t)).collect()
    };
    dedup(hints.into_iter().map(String::from)).join("; ")
}

fn scalability(
    ctx: &mut tera::Context,
    spec: &ReportSpec,
    missing: &mut Vec<(&'static str, String)>,
) {
    // Single instance: from the step run when there is one, else from the scenarios.
    let candidates: Vec<(String, &Run)> = match &spec.step {
        Some(r) => vec![(r.label.clone(), r)],
        None => spec
            .scenarios
            .iter()
            .map(|s| (scenario_title(s), &s.run))
            .collect(),
    };
    let latency_targets: Vec<&Target> = spec
        .targets
        .iter()
        .filter(|t| {
            t.expr.scope.is_empty()
                && !t.expr.warn
                && matches!(t.expr.metric, Metric::Percentile(p) if p == 50.0 || p == 95.0 || p == 99.0)
        })
        .collect();
    let mut max_rps: Option<(f64, String)> = None;
    let mut max_users: Option<(u64, String)> = None;
    let mut levels_text = Vec::new();
    for (title, r) in &candidates {
        // the highest rate held over any 10 s window of the run
        let peak = peak_window_rps(r, 10.0);
        if let Some(v) = peak
            && max_rps.as_ref().is_none_or(|(m, _)| v > *m)
        {
            max_rps = Some((v, title.clone()));
        }
        for level in user_levels(r) {
            let points: Vec<&crate::model::TimelinePoint> = r
                .timeline
                .iter()
                .filter(|p| p.users == Some(level))
                .collect();
            let mut held = !latency_targets.is_empty();
            let mut worst = Vec::new();
            let mut exact_level = false;
            for t in &latency_targets {
                let Metric::Percentile(p) = t.expr.metric else {
                    continue;
                };
                // the requests at this level together where the timeline has
                // them per second; else the largest of the tool's own windowed
                // values (Locust's rolling ~10 s percentiles), an upper bound
                let merged = crate::analysis::windows::merged_percentile_ms(&points, p);
                let values: Vec<f64> = match merged {
                    Some(v) => vec![v],
                    None => points
                        .iter()
                        .filter_map(|x| match p {
                            50.0 => x.p50_ms,
                            95.0 => x.p95_ms,
                            _ => x.p99_ms,
                        })
                        .collect(),
                };
                if values.is_empty() {
                    held = false;
                    continue;
                }
                let w = values.iter().cloned().fold(0.0, f64::max);
                exact_level |= merged.is_some();
                worst.push(if merged.is_some() {
                    format!("p{} {} of its requests", trim_num(p), format::ms(w))
                } else {
                    format!("p{} up to {}", trim_num(p), format::ms(w))
                });
                if !t.expr.op.holds(w, t.expr.limit) {
                    held = false;
                }
            }
            if !worst.is_empty() {
                levels_text.push(format!(
                    "{level} users: {}{} ({})",
                    if exact_level { "" } else { "windowed " },
                    worst.join(", "),
                    if held {
                        "all latency targets held"
                    } else {
                        "a latency target missed"
                    }
                ));
            }
            if held && max_users.as_ref().is_none_or(|(u, _)| level > *u) {
                max_users = Some((level, title.clone()));
            }
        }
    }
    ctx.insert(
        "max_throughput",
        &max_rps
            .map(|(v, s)| format!("{} (highest 10 s window, {s})", format::rps(v)))
            .unwrap_or_else(|| {
                format!(
                    "not measured: no run has requests per second over time ({})",
                    history_hint(&candidates, false)
                )
            }),
    );
    let users_text = match (&max_users, levels_text.is_empty()) {
        (Some((u, s)), _) => {
            format!("{u} (the highest user level at which every latency target held, {s})")
        }
        (None, false) => "none of the tested user levels held every latency target".to_string(),
        (None, true) => {
            missing.push(("capacity", format!("Scalability Analysis / Single Instance: a step run (`[step]` in --config) with a windowed latency history ({})", history_hint(&candidates, true))));
            format!(
                "not determined: needs a run with a windowed latency series per user level ({})",
                history_hint(&candidates, true)
            )
        }
    };
    ctx.insert("max_users", &users_text);
    ctx.insert("capacity_levels", &levels_text);

    // The same points as the lines below, as figures, for `fill`
    // (`- 2 instances: TBD req/s`).
    let points_of = |key: fn(&ScalePoint) -> Option<u32>| -> Vec<ScaleFigure> {
        let mut points: Vec<ScaleFigure> = spec
            .scalability
            .iter()
            .filter_map(|p| {
                Some(ScaleFigure {
                    n: key(p)?,
                    rps: steady::sustained_rps(&p.run)?.rps,
                    label: p.run.label.clone(),
                    efficiency: None,
                })
            })
            .collect();
        points.sort_by_key(|p| p.n);
        let base = points.iter().find(|p| p.n == 1).map(|p| p.rps);
        for p in &mut points {
            p.efficiency = base
                .filter(|_| p.n > 1)
                .map(|b| scaling_efficiency(p.rps, p.n, b));
        }
        points
    };
    ctx.insert("instances_points", &points_of(|p| p.instances));
    ctx.insert("cores_points", &points_of(|p| p.cores));
    let scaling =
        |key: fn(&ScalePoint) -> Option<u32>, what: &str| -> (Vec<String>, Option<String>) {
            let mut points: Vec<(u32, f64, String)> = spec
                .scalability
                .iter()
                .filter_map(|p| {
                    let n = key(p)?;
                    let rps = steady::sustained_rps(&p.run)?.rps;
                    Some((n, rps, p.run.label.clone()))
                })
                .collect();
            points.sort_by_key(|p| p.0);
            let base = points.iter().find(|p| p.0 == 1).map(|p| p.1);
            let lines = points
                .iter()
                .map(|(n, rps, label)| {
                    let eff = base
                        .filter(|_| *n > 1)
                        .map(|b| {
                            format!(
                                ", scaling efficiency {}",
                                format::fraction(scaling_efficiency(*rps, *n, b))
                            )
                        })
                        .unwrap_or_default();
                    format!("{n} {what}: {}{eff} ({label})", format::rps(*rps))
                })
                .collect::<Vec<_>>();
            let note = if points.len() > 1 && base.is_none() {
                Some(format!(
                    "no run with 1 {what} to compute scaling efficiency against"
                ))
            } else {
                None
            };
            (lines, note)
        };
    let (instances, inote) = scaling(|p| p.instances, "instance(s)");
    let (cores, cnote) = scaling(|p| p.cores, "CPU core(s)");
    if instances.is_empty() {
        missing.push(("instances", "Scalability Analysis / Multiple Instances: `[[scalability]]` runs with `instances = N` in --config".into()));
    }
    if cores.is_empty() {
        missing.push(("cores", "Scalability Analysis / Vertical Scaling: `[[scalability]]` runs with `cores = N` in --config".into()));
    }
    ctx.insert(
        "instances_lines",
        &if instances.is_empty() {
            vec![
                "not tested: add `[[scalability]]` runs with `instances = N` to --config"
                    .to_string(),
            ]
        } else {
            instances.into_iter().chain(inote).collect()
        },
    );
    ctx.insert(
        "cores_lines",
        &if cores.is_empty() {
            vec!["not tested: add `[[scalability]]` runs with `cores = N` to --config".to_string()]
        } else {
            cores.into_iter().chain(cnote).collect()
        },
    );
}

/// Scaling efficiency: RPS(N) / (N x RPS(1)).
pub fn scaling_efficiency(rps_n: f64, n: u32, rps_1: f64) -> f64 {
    rps_n / (n as f64 * rps_1)
}

/// The highest request rate over any window of `seconds` in the timeline.
fn peak_window_rps(run: &Run, seconds: f64) -> Option<f64> {
    let t = &run.timeline;
    let mut best: Option<f64> = None;
    for (i, a) in t.iter().enumerate() {
        let Some(end) = t[i..].iter().find(|b| b.t - a.t >= seconds) else {
            break;
        };
        let rate = match (a.total_requests, end.total_requests) {
            (Some(x), Some(y)) => y.saturating_sub(x) as f64 / (end.t - a.t),
            _ => {
                let rates: Vec<f64> = t
                    .iter()
                    .filter(|p| p.t >= a.t && p.t < end.t)
                    .filter_map(|p| p.rps)
                    .collect();
                // a timeline of load steps only (Goose report.json without
                // graph data) has no request counts: no rate, not zero
                if rates.is_empty() {
                    continue;
                }
                rates.iter().sum::<f64>() / (end.t - a.t)
            }
        };
        best = Some(best.map_or(rate, |b: f64| b.max(rate)));
    }
    best
}

fn comparison(
    ctx: &mut tera::Context,
    spec: &ReportSpec,
    missing: &mut Vec<(&'static str, String)>,
) {
    let Some(c) = &spec.comparison else {
        missing.push((
            "comparison",
            "Before/After Comparison: `[baseline]` and `[after]` runs in --config".into(),
        ));
        ctx.insert("comparison", &false);
        return;
    };
    let show = |metric: &str, v: Option<f64>| -> String {
        match (metric, v) {
            (_, None) => "not measured (pass --resources for CPU and memory)".into(),
            ("RPS", Some(v)) => format!("{v:.2}"),
            ("CPU", Some(v)) => format::percent(v),
            ("Memory", Some(v)) => format::bytes(v),
            (_, Some(v)) => format::ms(v),
        }
    };
    let side = |before: bool| -> Vec<String> {
        c.changes
            .iter()
            .map(|ch| {
                format!(
                    "{}: {}",
                    ch.metric,
                    show(&ch.metric, if before { ch.before } else { ch.after })
                )
            })
            .collect()
    };
    let mut after = side(false);
    let improvements: Vec<String> = c
        .changes
        .iter()
        .filter_map(|ch| {
            ch.improvement
                .map(|i| format!("{} {}", ch.metric, format::change(i * 100.0)))
        })
        .collect();
    after.push(format!("Improvement: {}", improvements.join(", ")));
    ctx.insert("comparison", &true);
    ctx.insert("baseline_label", &c.baseline.label);
    ctx.insert("after_label", &c.after.label);
    ctx.insert("baseline_lines", &side(true));
    ctx.insert("after_lines", &after);
    ctx.insert("comparison_endpoints", &c.endpoints);
    // the statistical checks, one line each, as the terminal shows them
    let checks: Vec<std::collections::BTreeMap<&str, String>> = c
        .statistical
        .iter()
        .flat_map(|st| &st.checks)
        .map(|k| [("title", k.title.clone()), ("line", k.line())].into())
        .collect();
    ctx.insert("comparison_checks", &checks);
    let st = c.statistical.as_ref();
    ctx.insert("comparison_method", &st.map(|s| s.method.clone()));
    ctx.insert(
        "comparison_mix",
        &st.and_then(|s| s.mix_shift.as_ref().map(|m| m.text.clone())),
    );
    ctx.insert(
        "comparison_one_sided",
        &st.map(|s| {
            let mut v = Vec::new();
            if !s.added.is_empty() {
                v.push(format!(
                    "only in the after run (not compared): {}",
                    s.added.join(", ")
                ));
            }
            if !s.removed.is_empty() {
                v.push(format!(
                    "only in the baseline (not compared): {}",
                    s.removed.join(", ")
                ));
            }
            v
        })
        .unwrap_or_default(),
    );
}

fn conclusions(ctx: &mut tera::Context, spec: &ReportSpec, verdicts: &[Verdict]) {
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
    ctx.insert("achievement", &rows);

    ctx.insert("key_findings", &key_findings(spec, verdicts));
}

/// One user level of the Resource Utilization section.
#[derive(Serialize)]
struct ResourceLevelView {
    users: String,
    samples: usize,
    rss: String,
    vms: String,
    peak: String,
    cpu: String,
}

/// The Resource Utilization section, formatted (first scenario with samples).
#[derive(Serialize)]
struct ResourceView {
    source: String,
    summaries: Vec<String>,
    chart: Option<String>,
    idle_rss: String,
    idle_vms: String,
    idle_definition: String,
    levels: Vec<ResourceLevelView>,
    peak: String,
    leak_sentence: String,
    leak_figures: String,
    cpu_idle: String,
    cpu_basis: String,
    cpu_bottleneck: String,
    request_bw: String,
    response_bw: String,
    total_bw: String,
    active_connections: String,
    idle_connections: String,
    max_connections: String,
    connections_method: String,
    notes: Vec<String>,
}

/// The resource analysis the Resource Utilization section is built from, and
/// whose run it is: the step run's when there is one, else the first scenario's.
pub fn resource_focus(
    spec: &ReportSpec,
) -> Option<(String, &crate::analysis::resources::ResourceReport)> {
    if let (Some(step), Some(r)) = (&spec.step, &spec.step_resources) {
        return Some((step.label.clone(), r));
    }
    spec.scenarios
        .iter()
        .find_map(|s| s.resource_report.as_ref().map(|r| (scenario_title(s), r)))
}

/// One line per run with samples: idle and peak RSS, CPU under load, leak verdict.
fn resource_summaries(spec: &ReportSpec) -> Vec<String> {
    let mut out = Vec::new();
    let runs = spec
        .scenarios
        .iter()
        .filter_map(|s| s.resource_report.as_ref().map(|r| (scenario_title(s), r)))
        .chain(
            spec.step
                .iter()
                .zip(spec.step_resources.iter())
                .map(|(run, r)| (format!("step run {}", run.label), r)),
        );
    for (title, r) in runs {
        out.push(format!(
            "{title}: idle RSS {}, peak RSS under load {}, CPU under load {} of the machine; leak {}",
            r.rss_idle_bytes.map(format::bytes).unwrap_or_else(|| "not sampled".into()),
            r.rss_load_bytes.map(format::bytes).unwrap_or_else(|| "not sampled".into()),
            r.cpu_load_percent.map(format::percent).unwrap_or_else(|| "not sampled".into()),
            match r.leak.verdict {
                crate::analysis::resources::LeakVerdict::Suspected => "suspected",
                crate::analysis::resources::LeakVerdict::NotSuspected => "not suspected",
                _ => "inconclusive",
            }
        ));
    }
    out
}

fn resource_view(spec: &ReportSpec) -> Option<ResourceView> {
    use crate::analysis::resources::PhaseKind;
    let (focus, r) = resource_focus(spec)?;
    let b = |v: Option<f64>| v.map(format::bytes).unwrap_or_else(|| "not sampled".into());
    let mbs = |v: f64| format!("{:.3} MB/s", v / 1e6);
    let cpu = |core: Option<f64>, machine: Option<f64>| match (core, machine) {
        (Some(c), Some(m)) => format!(
            "{} of the machine ({} of one core)",
            format::percent(m),
            format::percent(c)
        ),
        _ => "not sampled".into(),
    };
    let levels = r
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Load)
        .map(|p| ResourceLevelView {
            users: p
                .users
                .map(|u| u.to_string())
                .unwrap_or_else(|| "unknown".into()),
            samples: p.samples,
            rss: format!("{} (mean of {} samples)", b(p.rss_mean_bytes), p.samples),
            vms: b(p.vms_mean_bytes),
            peak: b(p.rss_max_bytes),
            cpu: match (p.cpu_machine_percent, p.cpu_core_percent) {
                (Some(m), Some(c)) => format!(
                    "mean {}, p95 {}, max {} of the machine (mean {} of one core)",
                    format::percent(m.mean),
                    format::percent(m.p95),
                    format::percent(m.max),
                    format::percent(c.mean)
                ),
                _ => "not sampled".into(),
            },
        })
        .collect();
    let l = &r.leak;
    let leak_figures = match (l.slope_mib_per_min, l.r_squared) {
        (Some(s), Some(r2)) => format!(
            "Slope {s:.2} MiB/min, r² = {r2:.2} over {} ({} samples); retained after the load: {}; growth under load: {}. Suspected when slope > {} MiB/min, r² ≥ {} and more than {:.0} % of the growth is retained.",
            l.window_definition,
            l.samples,
            l.retained_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "unknown".into()),
            l.growth_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "unknown".into()),
            l.threshold_mib_per_min,
            l.min_r_squared,
            l.retained_fraction * 100.0
        ),
        _ => String::new(),
    };
    let n = &r.network;
    let c = &r.connections;
    let conn = |v: Option<f64>, what: &str| match v {
        Some(v) => format!("≤ {v:.0} ({what})"),
        None => "not sampled".into(),
    };
    Some(ResourceView {
        source: format!(
            "{} ({}, {} samples of the server during {focus})",
            r.source, r.format, r.samples
        ),
        summaries: resource_summaries(spec),
        chart: spec.chart.clone(),
        idle_rss: b(r.memory.rss_idle_bytes),
        idle_vms: b(r.memory.vms_idle_bytes),
        idle_definition: r.memory.idle_definition.clone(),
        levels,
        peak: match (r.memory.rss_peak_bytes, r.memory.rss_peak_unix) {
            (Some(p), Some(t)) => format!("{} at {}", format::bytes(p), format::time(t)),
            _ => "not sampled".into(),
        },
        leak_sentence: l.sentence.clone(),
        leak_figures,
        cpu_idle: cpu(r.cpu.idle_core_percent, r.cpu.idle_machine_percent),
        cpu_basis: r.cpu_basis.sentence.clone(),
        cpu_bottleneck: r.cpu.bottleneck_sentence.clone(),
        request_bw: match n.request_bytes_per_s {
            Some(v) => format!("{} ({})", mbs(v), n.request_from),
            None => n.request_from.clone(),
        },
        response_bw: match n.response_bytes_per_s {
            Some(v) => format!("{} ({})", mbs(v), n.response_from),
            None => n.response_from.clone(),
        },
        total_bw: match n.total_bytes_per_s {
            Some(v) => mbs(v),
            None => "not sampled (needs the request bandwidth)".into(),
        },
        active_connections: conn(c.active_mean, "mean under load"),
        idle_connections: conn(c.idle_after, "mean after the load"),
        max_connections: conn(c.max, "largest under load"),
        connections_method: c.method.clone(),
        notes: r.notes.clone(),
    })
}

/// Three to five findings, most important first: missed targets (the furthest
/// past its limit first), the dominant error, the slowest endpoint, a
/// suspected leak, the before/after change, and what held everywhere.
fn key_findings(spec: &ReportSpec, verdicts: &[Verdict]) -> Vec<String> {
    let many = spec.scenarios.len() > 1;
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
    missed.sort_by(|a, b| b.0.total_cmp(&a.0));
    // the two worst misses lead; further misses come after the other findings
    let mut findings: Vec<String> = missed.into_iter().map(|m| m.1).collect();
    let later_missed = findings.split_off(findings.len().min(2));

    // the dominant error over all runs, by endpoint and status
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
    if let Some((label, status, n, error)) = by_path.iter().max_by_key(|e| e.2) {
        // what was observed, not a guess at why (a 404 may be a wrong path,
        // a missing record or a route that does not exist)
        let why = match status {
            Some(0) => ": connection errors, no HTTP response",
            _ => "",
        };
        findings.push(format!(
            "{label} causes {} of {} failed requests ({}, {}){why}.",
            format::count(*n),
            format::count(total_errors),
            format::fraction(*n as f64 / total_errors.max(1) as f64),
            error_label(*status, error)
        ));
    }
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
    let slowest = spec
        .scenarios
        .iter()
        .flat_map(|s| s.run.endpoints.iter().map(move |e| (s, e)))
        .filter(|(_, e)| e.failures < e.requests)
        .filter_map(|(s, e)| e.latency.percentile(95.0).value().map(|v| (s, e, v)))
        .max_by(|a, b| a.2.total_cmp(&b.2));
    if let Some((s, e, v)) = slowest {
        findings.push(format!(
            "The slowest endpoint is {} with p95 {}{}.",
            e.label(),
            format::ms(v),
            if many {
                format!(" ({})", scenario_title(s))
            } else {
                String::new()
            }
        ));
    }
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

//! The run set a report is made of: the runs, their scenarios, the baseline
//! and after runs, the step and scale runs and what the config says about
//! them. `gate`, `render` and `fill` all start from a [`ReportSpec`]; nothing
//! here renders anything.

use crate::analysis::compare::Comparison;
use crate::model::{Endpoint, Run};
use crate::targets::{self, ResourceFigures, Target, Verdict};
use std::collections::BTreeMap;

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
    /// The report's title (the HTML page title), when the config gives one.
    pub title: Option<String>,
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
    /// The samples behind [`resource_focus`], for the chart.
    pub focus_series: Option<crate::model::ResourceSeries>,
    /// The baseline and after runs behind [`ReportSpec::comparison`], for charts.
    pub compared: Option<(Run, Run)>,
    /// Recorded runs for the Trend section (`render --history`), read by the
    /// app layer.
    pub history: Option<super::trend::History>,
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
            title: None,
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
            focus_series: None,
            compared: None,
            history: None,
        }
    }
}

/// The verdict of every scenario, in order.
pub fn verdicts(spec: &ReportSpec) -> Vec<Verdict> {
    spec.scenarios
        .iter()
        .map(|s| targets::evaluate(&s.run, &spec.targets, s.resources.as_ref()))
        .collect()
}

/// A scenario's title: the configured name, else the run's label.
pub fn scenario_title(s: &Scenario) -> String {
    s.info.title.clone().unwrap_or_else(|| s.run.label.clone())
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

/// Whether a request belongs to the database group: the configured
/// `database` group, else the requests of type DB.
pub(crate) fn database_member(spec: &ReportSpec) -> impl Fn(&Endpoint) -> bool {
    let scope = group_scope(spec, &["database", "db"]);
    move |e: &Endpoint| match &scope {
        Some(s) => s.matches(&e.kind, &e.name),
        None => e.kind.eq_ignore_ascii_case("DB"),
    }
}

/// Whether a request belongs to the configured `orchestrator` group; without
/// one nothing does (which requests reach an orchestrator is the user's
/// knowledge, not the data's).
pub(crate) fn orchestrator_member(spec: &ReportSpec) -> impl Fn(&Endpoint) -> bool {
    let scope = group_scope(spec, &["orchestrator", "mcp"]);
    move |e: &Endpoint| scope.as_ref().is_some_and(|s| s.matches(&e.kind, &e.name))
}

/// The request group configured for a section, with a fallback.
pub(crate) fn group_scope(spec: &ReportSpec, names: &[&str]) -> Option<crate::targets::Scope> {
    spec.groups
        .iter()
        .find(|(n, _)| names.iter().any(|x| n.eq_ignore_ascii_case(x)))
        .map(|(_, s)| s.clone())
}

/// Scaling efficiency: RPS(N) / (N x RPS(1)).
pub fn scaling_efficiency(rps_n: f64, n: u32, rps_1: f64) -> f64 {
    rps_n / (n as f64 * rps_1)
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

//! The report model: everything a report says, derived once from the runs
//! ([`ReportSpec`]) into one typed, serialisable [`ReportModel`].
//!
//! `render` (built-in or user template, markdown or HTML), `fill` and
//! `render --format json` all read this model; `gate` reads only the run set
//! ([`spec`]) and the targets, nothing of rendering. A model saved as JSON
//! (`render --format json`) renders to the same bytes as the runs it came
//! from (`render --model`); its JSON Schema is `schemas/report.schema.json`.
//!
//! Each report section has its own module that derives its findings into one
//! part of the model (figures, and sentences where a template could not say
//! them readably); the templates only lay them out.
//!
//! Adding a section (like [`trend`], per-endpoint comparison rows, ...):
//! 1. a module here with the section's struct (`Serialize`, `Deserialize`,
//!    `JsonSchema`, a `///` line per field) and a `build` function from the
//!    [`ReportSpec`];
//! 2. one field of [`ReportModel`] holding it (`#[serde(flatten)]` when its
//!    fields should be top-level template variables, else a named object),
//!    filled in [`build`];
//! 3. a block in `templates/report.md.tera` that lays it out, and
//!    `schemas/report.schema.json` regenerated
//!    (`PERFREPORT_BLESS=1 cargo test --test report_model`); bump
//!    [`SCHEMA_VERSION`] when a field changes meaning or goes away (a new
//!    field that older models lack needs `#[serde(default)]`).

pub mod bottlenecks;
pub mod charts;
pub mod comparison;
pub mod conclusions;
pub mod errors;
pub mod recommendations;
pub mod resources;
pub mod scalability;
pub mod scenarios;
pub mod spec;
pub mod summary;
pub mod targets;
mod text;
pub mod trend;

pub use spec::{
    NOTE_SECTIONS, ReportSpec, SECTIONS, ScalePoint, Scenario, ScenarioInfo, resource_focus,
    scaling_efficiency, scenario_title, user_levels, verdicts,
};
pub use text::status_name;

use crate::error::{Error, Result};
use crate::model::Run;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of the model's JSON form; a model file of another version is
/// refused rather than rendered wrongly.
pub const SCHEMA_VERSION: u32 = 1;

/// Sections lacking data as they are found: (the `[sections]` name that can
/// mark it not applicable, what would fill it).
pub(crate) type Missing = Vec<(&'static str, String)>;

/// Everything a report says, section by section. Serialised, the sections'
/// fields are the template's variables (`summary`, `scenarios`, `res`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "perfreport report model")]
pub struct ReportModel {
    /// Version of this form; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The HTML page title (the config's `title`, else `Load Testing Report`).
    pub title: String,
    /// Executive Summary.
    #[serde(flatten)]
    pub summary: summary::Summary,
    /// Performance Targets, one row per target.
    pub targets: Vec<targets::TargetRow>,
    /// The targets' outcomes counted over all scenarios.
    pub target_counts: crate::targets::Counts,
    /// Test Scenarios, one per run.
    pub scenarios: Vec<scenarios::ScenarioView>,
    /// Bottleneck Analysis.
    #[serde(flatten)]
    pub bottlenecks: bottlenecks::Bottlenecks,
    /// Resource Utilization.
    #[serde(flatten)]
    pub resources: resources::Resources,
    /// Error Analysis.
    #[serde(flatten)]
    pub errors: errors::Errors,
    /// Scalability Analysis.
    #[serde(flatten)]
    pub scalability: scalability::Scalability,
    /// Before/After Comparison.
    #[serde(flatten)]
    pub comparison: comparison::ComparisonSection,
    /// Optimization Recommendations.
    #[serde(flatten)]
    pub recommendations: recommendations::RecommendationsSection,
    /// Running the tests: the runs of this report, by file name.
    pub runs: Vec<String>,
    /// Trend: the recorded runs of `render --history` (older models have
    /// none: no history given).
    #[serde(default)]
    pub trend: trend::TrendSection,
    /// Conclusions.
    #[serde(flatten)]
    pub conclusions: conclusions::Conclusions,
    /// Report version.
    pub version: String,
    /// Last updated (the test date).
    pub last_updated: String,
    /// Next review line.
    pub next_review: String,
    /// Free-text notes per section (every name of [`NOTE_SECTIONS`]).
    pub notes: BTreeMap<String, Vec<String>>,
    /// Sections the config marks not applicable, with why.
    pub na: BTreeMap<String, String>,
    /// Sections that lack data, each with the input that would fill it
    /// (what `--strict` refuses).
    pub missing: Vec<String>,
    /// The charts, as data (downsampled); the renderers draw them.
    pub figures: Vec<charts::Figure>,
}

/// Derive the report model from a run set, in one pass over the runs.
pub fn build(spec: &ReportSpec) -> ReportModel {
    let mut missing: Missing = Vec::new();
    let verdicts = verdicts(spec);
    let runs: Vec<&Run> = spec.scenarios.iter().map(|s| &s.run).collect();
    let summary = summary::build(spec);
    let targets = targets::build(spec, &verdicts);
    let target_counts = targets::counts(&verdicts);
    let scenarios = scenarios::build(&spec.scenarios, &verdicts);
    let bottlenecks = bottlenecks::build(spec, &verdicts, &mut missing);
    let resources = resources::build(spec);
    let errors = errors::build(&runs);
    let scalability = scalability::build(spec, &mut missing);
    let comparison = comparison::build(spec, &mut missing);
    let recommendations = recommendations::build(spec);
    let conclusions = conclusions::build(spec, &verdicts);
    let trend = trend::build(spec);
    let mut notes: BTreeMap<String, Vec<String>> = NOTE_SECTIONS
        .iter()
        .map(|s| (s.to_string(), Vec::new()))
        .collect();
    for (k, v) in &spec.notes {
        if let Some(slot) = notes.get_mut(k.as_str()) {
            slot.extend(v.iter().cloned());
        }
    }
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
    // a section the config marks not applicable is said so, not missing
    let missing = missing
        .into_iter()
        .filter(|(section, _)| !spec.not_applicable.contains_key(*section))
        .map(|(_, text)| text)
        .collect();
    let last_updated = summary.test_date.clone();
    ReportModel {
        schema_version: SCHEMA_VERSION,
        title: spec
            .title
            .clone()
            .unwrap_or_else(|| "Load Testing Report".into()),
        summary,
        targets,
        target_counts,
        scenarios,
        bottlenecks,
        resources,
        errors,
        scalability,
        comparison,
        recommendations,
        runs: run_lines(&runs),
        trend,
        conclusions,
        version: spec.version.clone(),
        last_updated,
        next_review: spec.next_review.clone(),
        notes,
        na: spec.not_applicable.clone(),
        missing,
        figures: charts::build(spec)
            .into_iter()
            .chain(trend::figures(spec))
            .collect(),
    }
}

/// Which runs this report is made of, by file name.
fn run_lines(runs: &[&Run]) -> Vec<String> {
    runs.iter()
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
        .collect()
}

impl ReportModel {
    /// The tera context of the templates: the model's fields, top-level.
    pub fn context(&self) -> Result<tera::Context> {
        tera::Context::from_serialize(self).map_err(|e| Error::Template {
            name: "report model".into(),
            message: e.to_string(),
        })
    }

    /// The model as pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        // a model of strings, numbers and maps with string keys serialises
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Read a model saved by `render --format json`: malformed JSON, or a
    /// model of another schema version, is an error naming the file, line
    /// and column.
    pub fn from_json(path: &Path, text: &str) -> Result<ReportModel> {
        // the version first, so that a newer model is refused as such and
        // not as "missing field"
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<serde_json::Value>,
        }
        let v: Version = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
        match v.schema_version {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(SCHEMA_VERSION as u64) => {}
            other => {
                let (line, column) = key_position(text, "schema_version").unwrap_or((1, 1));
                return Err(Error::parse(
                    path,
                    Some(line as u64),
                    Some(column as u64),
                    format!(
                        "expected a perfreport report model with \"schema_version\": {SCHEMA_VERSION}, found {}",
                        match other {
                            Some(v) => format!("\"schema_version\": {v}"),
                            None => "no schema_version".into(),
                        }
                    ),
                ));
            }
        }
        serde_json::from_str(text).map_err(|e| json_error(path, &e))
    }
}

fn json_error(path: &Path, e: &serde_json::Error) -> Error {
    // serde_json's text ends with the position, which the error already names
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = text.strip_suffix(&suffix).unwrap_or(&text);
    Error::parse(
        path,
        Some(e.line() as u64),
        Some(e.column() as u64),
        format!("not a perfreport report model: {what}"),
    )
}

/// 1-based line and column of the first `"key"` in a JSON text.
fn key_position(text: &str, key: &str) -> Option<(usize, usize)> {
    let at = text.find(&format!("\"{key}\""))?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, column))
}

/// The JSON Schema of [`ReportModel`], pretty, newline-terminated (the
/// committed `schemas/report.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ReportModel);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

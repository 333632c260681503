//! Executive Summary: what was tested, when, with which tool, for how long.

use super::spec::ReportSpec;
use super::text::dedup;
use crate::format;
use crate::model::Run;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Executive Summary's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// One sentence: the system and the tools.
    pub summary: String,
    /// Test date (config, else the earliest run start), or why it is unknown.
    pub test_date: String,
    /// Load-test tools with their versions.
    pub tool: String,
    /// Environment line, or how to set it.
    pub environment: String,
    /// Duration of the run, or the range over scenarios.
    pub duration: String,
}

/// Derive the summary.
pub fn build(spec: &ReportSpec) -> Summary {
    let runs: Vec<&Run> = spec.scenarios.iter().map(|s| &s.run).collect();
    let first = runs.first().copied();
    let tools: Vec<String> = dedup(runs.iter().map(|r| match &r.tool_version {
        Some(v) => format!("{} {}", r.tool, v),
        None => r.tool.to_string(),
    }));
    let system = spec.system.clone().unwrap_or_else(|| match first {
        Some(r) if runs.len() == 1 => format!("the run {}", r.label),
        _ => format!("{} runs", runs.len()),
    });
    let summary = format!(
        "This report documents load testing results for {system} using {}.",
        dedup(runs.iter().map(|r| r.tool.to_string())).join(" and ")
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
    let environment = spec
        .environment
        .clone()
        .unwrap_or_else(|| "not stated (set environment in --config)".into());
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

    Summary {
        summary,
        test_date,
        tool: tools.join(", "),
        environment,
        duration,
    }
}

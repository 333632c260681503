//! The report of a run set as markdown. The run set and the report model
//! live in [`crate::report`]; these are the paths render callers used before.

use crate::error::Result;
pub use crate::report::{
    NOTE_SECTIONS, ReportSpec, SECTIONS, ScalePoint, Scenario, ScenarioInfo, resource_focus,
    scaling_efficiency, scenario_title, status_name, user_levels, verdicts,
};
use std::path::Path;

/// Render the report of a run set as markdown (built-in or user template).
pub fn render(spec: &ReportSpec, template: Option<&Path>) -> Result<String> {
    super::render_markdown(&crate::report::build(spec).context()?, template)
}

/// The tera context for a spec: the report model's fields.
pub fn context(spec: &ReportSpec) -> Result<tera::Context> {
    crate::report::build(spec).context()
}

/// Sections that still lack data, each with the input that would fill it
/// (what `render --strict` refuses).
pub fn missing_sections(spec: &ReportSpec) -> Vec<String> {
    crate::report::build(spec).missing
}

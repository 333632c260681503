//! The commands behind the CLI, as library functions: `main.rs` only parses
//! arguments into these option structs and maps the outcome to an exit code.

use crate::error::Result;
use crate::input;
use crate::output;
use crate::render::{self, report};
use crate::targets::{self, Target, Verdict};
use std::path::PathBuf;

/// Output format of `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown.
    Markdown,
    /// A standalone HTML page.
    Html,
}

/// Options of `perfreport render`.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `--stats` files of the run.
    pub stats: Vec<PathBuf>,
    /// Scenario name (default: the file prefix).
    pub label: Option<String>,
    /// `--target` expressions.
    pub targets: Vec<String>,
    /// `--out` file; stdout when absent.
    pub out: Option<PathBuf>,
    /// Output format; default from `--out`'s extension.
    pub format: Option<ReportFormat>,
    /// A template to use instead of the built-in one.
    pub template: Option<PathBuf>,
}

/// Options of `perfreport gate`.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// `--stats` files of the run.
    pub stats: Vec<PathBuf>,
    /// `--target` expressions.
    pub targets: Vec<String>,
    /// `--require-all`: a target not measured fails the gate (exit 3).
    pub require_all: bool,
    /// `--fail-on warn`: a warning fails the gate (exit 1).
    pub fail_on_warn: bool,
    /// `--junit FILE`: write the verdict as JUnit XML.
    pub junit: Option<PathBuf>,
    /// `--json FILE`: write the verdict as JSON.
    pub json: Option<PathBuf>,
    /// `--github` (or `GITHUB_ACTIONS=true`): job summary and annotations.
    pub github: bool,
    /// The job summary file (`$GITHUB_STEP_SUMMARY`), used with `github`.
    pub step_summary: Option<PathBuf>,
}

/// What `gate` produced besides the files it wrote.
#[derive(Debug, Clone)]
pub struct GateOutcome {
    /// The verdict.
    pub verdict: Verdict,
    /// The run and settings the verdict was reached with.
    pub context: output::GateContext,
    /// GitHub annotation lines for stdout (empty unless `github`).
    pub annotations: String,
    /// Notes for stderr (a skipped job summary, ...).
    pub notes: Vec<String>,
}

impl GateOutcome {
    /// The exit code: 0 passed, 1 a target missed (or warned with
    /// `--fail-on warn`), 3 a target not measured with `--require-all`.
    pub fn exit_code(&self) -> i32 {
        self.context.exit_code(&self.verdict)
    }
}

/// The targets in force: defaults with `--target` overrides.
pub fn targets_from(exprs: &[String]) -> Result<Vec<Target>> {
    let overrides = targets::parse_all(exprs)?;
    Ok(targets::with_overrides(
        targets::default_targets(),
        &overrides,
    ))
}

/// Render a report; returns the text (also written to `--out` when given).
pub fn render(opts: &RenderOptions) -> Result<String> {
    let targets = targets_from(&opts.targets)?;
    let run = input::load_run(&opts.stats, opts.label.as_deref())?;
    let spec = report::ReportSpec::single(run, targets);
    let markdown = report::render(&spec, opts.template.as_deref())?;
    let format = opts.format.unwrap_or(match &opts.out {
        Some(p) if p.extension().is_some_and(|e| e == "html" || e == "htm") => ReportFormat::Html,
        _ => ReportFormat::Markdown,
    });
    let text = match format {
        ReportFormat::Markdown => markdown,
        ReportFormat::Html => render::markdown_to_html(&markdown, "Load Testing Report"),
    };
    if let Some(out) = &opts.out {
        let inputs: Vec<&std::path::Path> = opts.stats.iter().map(PathBuf::as_path).collect();
        render::write_atomic(out, text.as_bytes(), &inputs)?;
    }
    Ok(text)
}

/// Evaluate the targets on a run.
pub fn gate(opts: &GateOptions) -> Result<Verdict> {
    gate_run(opts).map(|g| g.verdict)
}

/// Evaluate the targets on a run and write the outputs asked for (`--junit`,
/// `--json`, the GitHub job summary).
pub fn gate_run(opts: &GateOptions) -> Result<GateOutcome> {
    let targets = targets_from(&opts.targets)?;
    let run = input::load_run(&opts.stats, None)?;
    let verdict = targets::evaluate(&run, &targets, None);
    let context = output::GateContext::new(&run, &opts.stats, opts.require_all, opts.fail_on_warn);
    let mut inputs: Vec<&std::path::Path> = opts.stats.iter().map(PathBuf::as_path).collect();
    inputs.extend(run.sources.iter().map(PathBuf::as_path));
    if let Some(path) = &opts.junit {
        let xml = output::junit::render(&verdict, &context)?;
        render::write_atomic(path, xml.as_bytes(), &inputs)?;
    }
    if let Some(path) = &opts.json {
        let json = output::json::render(&verdict, &context)?;
        render::write_atomic(path, json.as_bytes(), &inputs)?;
    }
    let mut notes = Vec::new();
    let mut annotations = String::new();
    if opts.github {
        match &opts.step_summary {
            Some(path) => {
                if let Err(e) = output::github::append_summary(path, &verdict, &context) {
                    notes.push(format!("job summary not written: {e}"));
                }
            }
            None => notes.push(
                "GITHUB_STEP_SUMMARY is not set: no job summary written (annotations only)".into(),
            ),
        }
        annotations = output::github::annotations(&verdict, &context);
    }
    Ok(GateOutcome {
        verdict,
        context,
        annotations,
        notes,
    })
}

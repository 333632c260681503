//! The commands behind the CLI, as library functions: `main.rs` only parses
//! arguments into these option structs and maps the outcome to an exit code.

use crate::error::Result;
use crate::input;
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
    /// Resource samples of the server and how to read them.
    pub resources: ResourceInput,
}

/// Options of `perfreport gate`.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// `--stats` files of the run.
    pub stats: Vec<PathBuf>,
    /// `--target` expressions.
    pub targets: Vec<String>,
    /// Resource samples of the server and how to read them.
    pub resources: ResourceInput,
}

/// `--resources FILE`, `--cpu-cores N` and `--resources-start UNIX`.
#[derive(Debug, Clone, Default)]
pub struct ResourceInput {
    /// The sample file (sampler CSV, psrecord, pidstat, docker stats).
    pub path: Option<PathBuf>,
    /// Cores of the server's machine (default: this machine's).
    pub cpu_cores: Option<u32>,
    /// Start (unix s) of a psrecord log, which holds elapsed seconds only.
    pub start_unix: Option<f64>,
}

/// Read and analyse the resource samples against a run, when given.
pub fn resource_report(
    run: &crate::model::Run,
    input: &ResourceInput,
) -> Result<Option<crate::analysis::resources::ResourceReport>> {
    use crate::analysis::resources::{ResourceAnalysisOptions, analyze};
    use crate::input::resources::{ResourceOptions, read_with};
    let Some(path) = &input.path else {
        return Ok(None);
    };
    let series = read_with(
        path,
        &ResourceOptions {
            start_unix: input.start_unix,
        },
    )?;
    let opts = ResourceAnalysisOptions {
        cpu_cores: input.cpu_cores,
        ..ResourceAnalysisOptions::default()
    };
    analyze(run, &series, &opts).map(Some)
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
    let res = resource_report(&run, &opts.resources)?;
    let mut spec = report::ReportSpec::single(run, targets);
    if let Some(scenario) = spec.scenarios.first_mut() {
        scenario.resources = res.as_ref().map(|r| r.figures());
        scenario.resource_report = res;
    }
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
    let targets = targets_from(&opts.targets)?;
    let run = input::load_run(&opts.stats, None)?;
    let res = resource_report(&run, &opts.resources)?.map(|r| r.figures());
    Ok(targets::evaluate(&run, &targets, res.as_ref()))
}

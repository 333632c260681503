//! The commands behind the CLI, as library functions: `main.rs` only parses
//! arguments into these option structs and maps the outcome to an exit code.

use crate::analysis::compare::{self, Comparison, Side, Tolerance};
use crate::analysis::regression;
use crate::config::{self, Config, RunInputs};
use crate::error::{Error, Result};
use crate::history::{self, DbSpec, RunStore};
use crate::input;
use crate::model::Run;
use crate::output;
use crate::output::files::{self, InputSet};
use crate::render;
use crate::report::{self, ReportModel};
use crate::targets::{self, Target, Verdict};
use std::path::{Path, PathBuf};

/// Output format of `render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown.
    Markdown,
    /// A standalone HTML page.
    Html,
    /// The report model as JSON (`schemas/report.schema.json`).
    Json,
}

/// Options of `perfreport render`.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `--stats` files of the run (without --config).
    pub stats: Vec<PathBuf>,
    /// The report file with several runs.
    pub config: Option<PathBuf>,
    /// Scenario name (default: the file prefix).
    pub label: Option<String>,
    /// `--target` expressions.
    pub targets: Vec<String>,
    /// `--targets FILE`: a targets file (applied after the config's, before `--target`).
    pub targets_file: Option<PathBuf>,
    /// `--no-default-targets`: check only the targets given.
    pub no_default_targets: bool,
    /// `--out` file; stdout when absent.
    pub out: Option<PathBuf>,
    /// Output format; default from `--out`'s extension.
    pub format: Option<ReportFormat>,
    /// A template to use instead of the built-in one.
    pub template: Option<PathBuf>,
    /// Refuse (exit 2) when a section still lacks data.
    pub strict: bool,
    /// Compare baseline and after even when users or durations differ.
    pub force: bool,
    /// Resource samples of the server and how to read them (without --config).
    pub resources: ResourceInput,
    /// `--history db:FILE[?filters]`: recorded runs for the Trend section.
    pub history: Option<String>,
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
    run: &Run,
    input: &ResourceInput,
) -> Result<Option<crate::analysis::resources::ResourceReport>> {
    Ok(resource_analysis(run, input)?.map(|(_, r)| r))
}

/// The samples and their analysis against a run, when given.
pub fn resource_analysis(
    run: &Run,
    input: &ResourceInput,
) -> Result<
    Option<(
        crate::model::ResourceSeries,
        crate::analysis::resources::ResourceReport,
    )>,
> {
    use crate::analysis::resources::{ResourceAnalysisOptions, analyze};
    use crate::input::resources::{ResourceOptions, read_with};
    let Some(path) = &input.path else {
        return Ok(None);
    };
    if run.relative_times {
        return Err(Error::Usage(format!(
            "{}: the resource samples cannot be lined up with {}: a Goose request log holds only times since the test started; pass the run's report.json with it",
            path.display(),
            run.label
        )));
    }
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
    let report = analyze(run, &series, &opts)?;
    Ok(Some((series, report)))
}

/// Attach the resource analysis of a run's samples to its scenario; returns
/// the samples, for the chart.
fn attach_resources(
    sc: &mut report::Scenario,
    input: &ResourceInput,
) -> Result<Option<crate::model::ResourceSeries>> {
    let res = resource_analysis(&sc.run, input)?;
    sc.resources = res.as_ref().map(|(_, r)| r.figures());
    let series = res.as_ref().map(|(s, _)| s.clone());
    sc.resource_report = res.map(|(_, r)| r);
    Ok(series)
}

/// The figures of one side of a comparison, with its resources when given.
fn side_with_resources(run: &Run, input: &ResourceInput) -> Result<Side> {
    let mut side = Side::of(run);
    if let Some(r) = resource_report(run, input)? {
        side.cpu_percent = r.cpu_load_percent;
        side.rss_bytes = r.rss_load_bytes;
    }
    Ok(side)
}

/// Options of `perfreport gate`.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// `--stats` files of the run.
    pub stats: Vec<PathBuf>,
    /// A report file: gate every scenario it names (and its baseline/after pair).
    pub config: Option<PathBuf>,
    /// `--target` expressions.
    pub targets: Vec<String>,
    /// `--targets FILE`: a targets file (applied after the config's, before `--target`).
    pub targets_file: Option<PathBuf>,
    /// `--no-default-targets`: check only the targets given.
    pub no_default_targets: bool,
    /// `--baseline` files: also fail on a regression against this run.
    pub baseline: Vec<PathBuf>,
    /// Regression tolerance.
    pub tolerance: Tolerance,
    /// Compare even when users or durations differ.
    pub force: bool,
    /// Resource samples of the server and how to read them.
    pub resources: ResourceInput,
    /// `--run-noise`: run-to-run noise of a percentile beyond sampling assumed
    /// with a single baseline run (sd of ln); else the config's
    /// `[regression] run_noise`, else [`regression::DEFAULT_NOISE`].
    pub run_noise: Option<f64>,
    /// `--resources-baseline`: the server's samples during each baseline run,
    /// in the order of the baseline runs (for `cpu_per_request`).
    pub resources_baseline: Vec<PathBuf>,
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
    /// `--record`: store the judged run (with its verdict) here.
    pub record: Option<RecordTo>,
}

/// Where and with which labels a run is recorded.
#[derive(Debug, Clone, Default)]
pub struct RecordTo {
    /// The run database (`--db`, default `perfreport.db`).
    pub db: PathBuf,
    /// Branch, commit, build URL, tags.
    pub labels: history::Labels,
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
    /// The database and id the run was recorded under, with `--record`.
    pub recorded: Option<(PathBuf, history::RunId)>,
}

impl GateOutcome {
    /// The exit code: 0 passed, 1 a target missed (or warned with
    /// `--fail-on warn`), 3 a target not measured with `--require-all`.
    pub fn exit_code(&self) -> i32 {
        self.context.exit_code(&self.verdict)
    }
}

/// Options of `perfreport diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Baseline files (or from the config's `[baseline]`).
    pub baseline: Vec<PathBuf>,
    /// After files (or from the config's `[after]`).
    pub after: Vec<PathBuf>,
    /// A report file with `[baseline]` and `[after]`.
    pub config: Option<PathBuf>,
    /// Compare even when users or durations differ.
    pub force: bool,
    /// `--label-baseline`: the baseline's name (default: from its files).
    pub label_baseline: Option<String>,
    /// `--label-after`: the after run's name (default: from its files).
    pub label_after: Option<String>,
    /// `--resources-baseline`: the server's samples during the baseline run.
    pub resources_baseline: ResourceInput,
    /// `--resources-after`: the server's samples during the after run.
    pub resources_after: ResourceInput,
}

/// The targets in force: defaults, then config overrides, then `--target`.
pub fn targets_from(exprs: &[String]) -> Result<Vec<Target>> {
    let overrides = targets::parse_all(exprs)?;
    Ok(targets::with_overrides(
        targets::default_targets(),
        &overrides,
    ))
}

/// The targets in force, each layer replacing the targets of the same metric
/// and scope in the layers before it: the defaults (unless `no_defaults`),
/// the config's `[targets]`, the `--targets` file, then `--target`. No
/// target at all is a usage error: a gate that checks nothing cannot pass.
pub fn targets_in_force(
    no_defaults: bool,
    config: &[(String, crate::targets::TargetExpr)],
    file: Option<&std::path::Path>,
    given: &[String],
    read: &mut InputSet,
) -> Result<Vec<Target>> {
    let mut set = if no_defaults {
        Vec::new()
    } else {
        targets::default_targets()
    };
    set = targets::with_titled_overrides(
        set,
        config
            .iter()
            .map(|(title, expr)| Target::new(title.clone(), expr.clone())),
    );
    if let Some(path) = file {
        read.add(path);
        let from_file = targets::file::load(path)?;
        set = targets::with_titled_overrides(
            set,
            from_file
                .into_iter()
                .map(|(title, expr)| Target::new(title, expr)),
        );
    }
    set = targets::with_overrides(set, &targets::parse_all(given)?);
    if set.is_empty() {
        return Err(Error::Usage(
            "--no-default-targets and no target given: pass --target EXPR, --targets FILE or a config with [targets]".into(),
        ));
    }
    Ok(set)
}

/// The relative targets in force (`... vs baseline`): the config's, the
/// `--targets` file's, then `--target`'s; the defaults apply when all are empty.
fn relative_in_force(
    config: &[targets::expr::RelativeExpr],
    file: Option<&std::path::Path>,
    given: &[String],
) -> Result<Vec<targets::expr::RelativeExpr>> {
    let mut relative = config.to_vec();
    if let Some(path) = file {
        relative.extend(targets::file::load_relative(path)?);
    }
    relative.extend(targets::parse_relative_all(given)?);
    Ok(relative)
}

fn resource_input(cfg: &Config, inputs: &RunInputs) -> ResourceInput {
    ResourceInput {
        path: inputs.resources.clone(),
        cpu_cores: cfg.cpu_cores,
        start_unix: None,
    }
}

/// Load a run, recording every file it read (the stats, and the history,
/// failures and exceptions found beside them) and its resource samples.
fn load_inputs(inputs: &RunInputs, read: &mut InputSet) -> Result<Run> {
    read.extend(&inputs.stats);
    read.extend(&inputs.resources);
    let run = input::load_run(&inputs.stats, inputs.label.as_deref())?;
    read.extend(&run.sources);
    Ok(run)
}

/// [`input::load_run`], recording every file the run was read from.
fn load_recorded(paths: &[PathBuf], label: Option<&str>, read: &mut InputSet) -> Result<Run> {
    read.extend(paths);
    let run = input::load_run(paths, label)?;
    read.extend(&run.sources);
    Ok(run)
}

/// The spec of a report: one run from `--stats`, or everything a config names.
pub fn spec_from(opts: &RenderOptions) -> Result<(report::ReportSpec, Option<Config>)> {
    spec_recording(opts, &mut InputSet::new())
}

/// [`spec_from`], recording in `read` every file read on the way.
fn spec_recording(
    opts: &RenderOptions,
    read: &mut InputSet,
) -> Result<(report::ReportSpec, Option<Config>)> {
    if let Some(t) = &opts.template {
        read.add(t);
    }
    read.extend(&opts.resources.path);
    let Some(path) = &opts.config else {
        let targets = targets_in_force(
            opts.no_default_targets,
            &[],
            opts.targets_file.as_deref(),
            &opts.targets,
            read,
        )?;
        let run = load_recorded(&opts.stats, opts.label.as_deref(), read)?;
        let mut spec = report::ReportSpec::single(run, targets);
        if let Some(sc) = spec.scenarios.first_mut() {
            spec.focus_series = attach_resources(sc, &opts.resources)?;
        }
        return Ok((spec, None));
    };
    if !opts.stats.is_empty() {
        return Err(Error::Usage(
            "give either --config or --stats, not both: the config names the stats files of every run".into(),
        ));
    }
    read.add(path);
    let cfg = config::load(path)?;
    if let Some(t) = &cfg.template {
        read.add(t);
    }
    let mut targets = targets_in_force(
        opts.no_default_targets,
        &cfg.targets,
        opts.targets_file.as_deref(),
        &opts.targets,
        read,
    )?;
    targets::exclude_groups(&mut targets, &cfg.groups);
    let mut scenarios = Vec::new();
    let mut focus_series = None;
    for s in &cfg.scenarios {
        let run = load_inputs(&s.inputs, read)?;
        let mut sc = report::Scenario::from_run(run);
        sc.info = s.info.clone();
        let series = attach_resources(&mut sc, &resource_input(&cfg, &s.inputs))?;
        if focus_series.is_none() {
            focus_series = series;
        }
        scenarios.push(sc);
    }
    if scenarios.is_empty() {
        return Err(Error::parse(
            path,
            None,
            None,
            "the config has no [[scenario]] entries; a report needs at least one run",
        ));
    }
    let mut compared = None;
    let comparison = match (&cfg.baseline, &cfg.after) {
        (Some(b), Some(a)) => {
            let (b_run, a_run) = (load_inputs(b, read)?, load_inputs(a, read)?);
            compare::check_comparable(&b_run, &a_run, opts.force)?;
            let mut c = compare::compare(
                &b_run,
                &a_run,
                side_with_resources(&b_run, &resource_input(&cfg, b))?,
                side_with_resources(&a_run, &resource_input(&cfg, a))?,
            );
            let b_series = resource_analysis(&b_run, &resource_input(&cfg, b))?.map(|(s, _)| s);
            let a_series = resource_analysis(&a_run, &resource_input(&cfg, a))?.map(|(s, _)| s);
            let relative = relative_in_force(
                &cfg.relative_targets,
                opts.targets_file.as_deref(),
                &opts.targets,
            )?;
            c.statistical = Some(statistical_with_noise(
                &[(b_run.clone(), b_series)],
                &a_run,
                a_series.as_ref(),
                relative,
                cfg.run_noise,
            ));
            compared = Some((b_run, a_run));
            Some(c)
        }
        (None, None) => None,
        _ => {
            return Err(Error::parse(
                path,
                None,
                None,
                "[baseline] and [after] go together: give both or neither",
            ));
        }
    };
    let step = cfg
        .step
        .as_ref()
        .map(|s| load_inputs(s, read))
        .transpose()?;
    let mut step_resources = None;
    if let (Some(run), Some(inputs)) = (&step, &cfg.step)
        && let Some((series, report)) = resource_analysis(run, &resource_input(&cfg, inputs))?
    {
        focus_series = Some(series);
        step_resources = Some(report);
    }
    let mut scalability = Vec::new();
    for s in &cfg.scalability {
        scalability.push(report::ScalePoint {
            run: load_inputs(&s.inputs, read)?,
            instances: s.instances,
            cores: s.cores,
        });
    }
    let spec = report::ReportSpec {
        title: cfg.title.clone(),
        system: cfg.system.clone(),
        environment: cfg.environment.clone(),
        test_date: cfg.test_date.clone(),
        version: cfg.version.clone().unwrap_or_else(|| "1.0".into()),
        next_review: cfg
            .next_review
            .clone()
            .unwrap_or_else(|| "After implementing optimizations".into()),
        targets,
        scenarios,
        notes: cfg.notes.clone(),
        groups: cfg.groups.clone(),
        not_applicable: cfg.not_applicable.clone(),
        comparison,
        step,
        scalability,
        step_resources,
        focus_series,
        compared,
        history: None,
    };
    Ok((spec, Some(cfg)))
}

/// Options of `perfreport fill`.
#[derive(Debug, Clone, Default)]
pub struct FillOptions {
    /// The team's report document, with placeholders.
    pub document: PathBuf,
    /// The report file naming the runs (perfreport.toml).
    pub config: PathBuf,
    /// Write the filled document here; stdout when neither this nor `in_place`.
    pub out: Option<PathBuf>,
    /// Replace the document itself (atomically, keeping its mode).
    pub in_place: bool,
    /// Exit 2, writing nothing, when a placeholder stays or the document's
    /// scenario sections do not match the config's scenarios.
    pub strict: bool,
    /// `--targets FILE`: a targets file (applied after the config's).
    pub targets_file: Option<PathBuf>,
    /// `--no-default-targets`: check only the targets given.
    pub no_default_targets: bool,
}

/// What `fill` did.
#[derive(Debug, Clone)]
pub struct FillOutcome {
    /// The filled document (already written when `--out` or `--in-place`).
    pub filled: render::fill::Filled,
}

/// Fill a report document's placeholders from the runs a config names.
pub fn fill(opts: &FillOptions) -> Result<FillOutcome> {
    if opts.in_place && opts.out.is_some() {
        return Err(Error::Usage("give --out or --in-place, not both".into()));
    }
    let mut read = InputSet::new();
    let render_opts = RenderOptions {
        config: Some(opts.config.clone()),
        targets_file: opts.targets_file.clone(),
        no_default_targets: opts.no_default_targets,
        ..Default::default()
    };
    let (spec, _) = spec_recording(&render_opts, &mut read)?;
    let document = input::read_text(&opts.document)?;
    // the same model `render` lays out: nothing is derived twice
    let context = report::build(&spec).context()?;
    let filled = render::fill::fill_document(&document, &context);
    if opts.strict && (!filled.unresolved.is_empty() || !filled.warnings.is_empty()) {
        let mut problems: Vec<String> = filled.warnings.clone();
        problems.extend(filled.unresolved.iter().map(|u| {
            format!(
                "{}:{}:{}: `{}` not filled (under {})",
                opts.document.display(),
                u.line,
                u.column,
                u.text,
                u.heading_path
            )
        }));
        return Err(Error::Usage(format!(
            "--strict: nothing written; {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        )));
    }
    if let Some(out) = &opts.out {
        // the document is an input like the runs: never written over by --out
        read.add(&opts.document);
        files::write_output(out, filled.text.as_bytes(), &read, "--out")?;
    } else if opts.in_place {
        files::write_output(&opts.document, filled.text.as_bytes(), &read, "--in-place")?;
    }
    Ok(FillOutcome { filled })
}

/// Compare two runs, refusing unlike runs unless `force`; with the
/// statistical comparison on the default relative targets.
pub fn compare_runs(baseline: &Run, after: &Run, force: bool) -> Result<Comparison> {
    compare::check_comparable(baseline, after, force)?;
    let mut c = compare::compare(baseline, after, Side::of(baseline), Side::of(after));
    c.statistical = Some(statistical(
        &[(baseline.clone(), None)],
        after,
        None,
        Vec::new(),
    ));
    Ok(c)
}

/// The statistical comparison of `after` with the baseline runs on the
/// relative targets; with none given, on the defaults
/// ([`regression::DEFAULT_RELATIVE_TARGETS`]), leaving out `cpu_per_request`
/// unless every run has resource samples.
pub fn statistical(
    baselines: &[(Run, Option<crate::model::ResourceSeries>)],
    after: &Run,
    after_resources: Option<&crate::model::ResourceSeries>,
    relative: Vec<targets::expr::RelativeExpr>,
) -> regression::StatComparison {
    statistical_with_noise(baselines, after, after_resources, relative, None)
}

/// [`statistical`] with the run-to-run noise assumed for a single baseline
/// (sd of ln, beyond sampling); `None` for the fitted default
/// ([`regression::DEFAULT_NOISE`]).
pub fn statistical_with_noise(
    baselines: &[(Run, Option<crate::model::ResourceSeries>)],
    after: &Run,
    after_resources: Option<&crate::model::ResourceSeries>,
    relative: Vec<targets::expr::RelativeExpr>,
    run_noise: Option<f64>,
) -> regression::StatComparison {
    let all_resources = after_resources.is_some() && baselines.iter().all(|b| b.1.is_some());
    let relative = if relative.is_empty() {
        regression::default_targets()
            .into_iter()
            .filter(|t| all_resources || t.metric != targets::expr::RelativeMetric::CpuPerRequest)
            .collect()
    } else {
        relative
    };
    let sides: Vec<regression::RunSide> = baselines
        .iter()
        .map(|(run, res)| regression::RunSide {
            run,
            resources: res.as_ref(),
        })
        .collect();
    let after = regression::RunSide {
        run: after,
        resources: after_resources,
    };
    match run_noise {
        Some(n) => regression::compare_with_noise(&sides, &after, &relative, n),
        None => regression::compare(&sides, &after, &relative),
    }
}

/// The `--baseline` files grouped into runs: files in different folders are
/// different runs, and so are Locust files of one folder with different
/// prefixes (`a_stats.csv`, `a.json` | `b.json`). A folder holding any other
/// file (a Goose report with its request log) is one run.
pub fn baseline_runs(paths: &[PathBuf]) -> Vec<Vec<PathBuf>> {
    fn prefix(p: &std::path::Path) -> Option<String> {
        let name = p.file_name()?.to_str()?;
        for suffix in [
            "_stats_history.csv",
            "_stats.csv",
            "_failures.csv",
            "_exceptions.csv",
            ".json",
        ] {
            if let Some(stem) = name.strip_suffix(suffix) {
                return Some(stem.to_string());
            }
        }
        None
    }
    let dir = |p: &PathBuf| p.parent().map(|d| d.to_path_buf()).unwrap_or_default();
    let mut groups: Vec<(PathBuf, Option<String>, Vec<PathBuf>)> = Vec::new();
    for p in paths {
        let d = dir(p);
        let all_locust = paths
            .iter()
            .filter(|q| dir(q) == d)
            .all(|q| prefix(q).is_some());
        let key = if all_locust { prefix(p) } else { None };
        match groups.iter_mut().find(|g| g.0 == d && g.1 == key) {
            Some(g) => g.2.push(p.clone()),
            None => groups.push((d, key, vec![p.clone()])),
        }
    }
    groups.into_iter().map(|g| g.2).collect()
}

/// A rendered report and the sections that still lack data.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The report (also written to `--out` when given).
    pub text: String,
    /// Sections that lack data, each with the input that would fill it.
    pub missing: Vec<String>,
    /// The files written (`--out`, then its charts); empty without `--out`.
    pub written: Vec<PathBuf>,
    /// The report's targets over all its scenarios.
    pub counts: output::Counts,
}

impl Rendered {
    /// One line on what was written and the targets' verdict: `wrote
    /// report.md, report.latency-1.svg; targets: 1 met, 0 warned, 2 missed,
    /// 5 not measured`.
    pub fn summary(&self) -> String {
        let files: Vec<String> = self
            .written
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        format!(
            "wrote {}; targets: {}",
            if files.is_empty() {
                "nothing".to_string()
            } else {
                files.join(", ")
            },
            self.counts
        )
    }

    /// The `--strict` refusal (exit 2) naming every section that lacks data,
    /// when there is one.
    pub fn strict_error(&self) -> Option<Error> {
        (!self.missing.is_empty()).then(|| {
            Error::Usage(format!(
                "--strict: {} section(s) still lack data (the report was written anyway, each of them saying which input would fill it; mark a section that cannot apply to this system with `[sections] NAME = \"not applicable: WHY\"` in --config):\n  - {}",
                self.missing.len(),
                self.missing.join("\n  - ")
            ))
        })
    }
}

/// Render a report; returns the text (also written to `--out` when given).
/// With `strict`, a section lacking data is an error, returned after the
/// report was written: the rest of the report stays usable, and the error
/// names every section that is missing.
pub fn render(opts: &RenderOptions) -> Result<String> {
    let rendered = render_report(opts)?;
    match rendered.strict_error() {
        Some(e) if opts.strict => Err(e),
        _ => Ok(rendered.text),
    }
}

/// Render a report whatever it lacks (`strict` is not applied here; see
/// [`Rendered::strict_error`]); writes `--out` when given. The report model
/// is built from the runs, or read from `--model`; every format is laid out
/// from that model alone.
pub fn render_report(opts: &RenderOptions) -> Result<Rendered> {
    let rendered = render_from(opts, None)?;
    crate::model::check_spill()?;
    Ok(rendered)
}

/// [`render_report`] from a report model saved by `render --format json`
/// (`render --model FILE`): no run is read; `opts` gives the output, the
/// format and the template.
pub fn render_saved_model(model: &std::path::Path, opts: &RenderOptions) -> Result<Rendered> {
    render_from(opts, Some(model))
}

fn render_from(opts: &RenderOptions, model: Option<&std::path::Path>) -> Result<Rendered> {
    let mut read = InputSet::new();
    let (mut model, cfg_template) = match model {
        Some(path) => {
            if opts.config.is_some() || !opts.stats.is_empty() || opts.history.is_some() {
                return Err(Error::Usage(
                    "give --model alone: a saved report model already holds the runs' figures and trend (not --config, --stats or --history)".into(),
                ));
            }
            if let Some(t) = &opts.template {
                read.add(t);
            }
            read.add(path);
            (read_model(path)?, None)
        }
        None => {
            let (mut spec, cfg) = spec_recording(opts, &mut read)?;
            let history = opts
                .history
                .clone()
                .or_else(|| cfg.as_ref().and_then(|c| c.history.clone()));
            if let Some(text) = history {
                let db = DbSpec::parse(&text)?;
                // the database is read: --out must not replace it
                read.add(&db.path);
                spec.history = Some(report::trend::History {
                    runs: recorded_runs(&db)?,
                    source: text,
                });
            }
            (report::build(&spec), cfg.and_then(|c| c.template))
        }
    };
    let format = opts.format.unwrap_or(match &opts.out {
        Some(p) if p.extension().is_some_and(|e| e == "html" || e == "htm") => ReportFormat::Html,
        Some(p) if p.extension().is_some_and(|e| e == "json") => ReportFormat::Json,
        _ => ReportFormat::Markdown,
    });
    if format == ReportFormat::Json {
        let text = model.to_json();
        if let Some(out) = &opts.out {
            files::write_output(out, text.as_bytes(), &read, "--out")?;
        }
        let written = opts.out.iter().cloned().collect();
        return Ok(Rendered {
            text,
            counts: model.target_counts,
            missing: model.missing,
            written,
        });
    }
    // The markdown report links its charts as files next to it
    // (REPORT.<chart>.svg); the HTML report carries them inline.
    let mut chart_files: Vec<(std::path::PathBuf, String)> = Vec::new();
    if let (Some(out), ReportFormat::Markdown) = (&opts.out, format) {
        let stem = out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "report".into());
        for f in &model.figures {
            let name = format!("{stem}.{}.svg", f.id);
            if f.kind == "resources"
                && let Some(res) = model.resources.res.as_mut()
            {
                res.chart = Some(name.clone());
            }
            // the Trend section links its own charts
            if f.kind == "trend" {
                model.trend.charts.push(report::trend::ChartLink {
                    heading: f.heading.clone(),
                    file: name.clone(),
                });
            }
            chart_files.push((out.with_file_name(&name), standalone_svg(&f.chart.svg())));
        }
    }
    let linked_resources = model
        .resources
        .res
        .as_ref()
        .is_some_and(|r| r.chart.is_some());
    let template = opts.template.as_deref().or(cfg_template.as_deref());
    let mut markdown = render::render_markdown(&model.context()?, template)?;
    let text = match format {
        ReportFormat::Markdown => {
            if !chart_files.is_empty() {
                markdown.push_str("\n## Charts\n\n");
                for (f, (path, _)) in model.figures.iter().zip(&chart_files) {
                    // the template links the resource chart in its own section
                    if f.kind == "resources" && linked_resources {
                        continue;
                    }
                    if f.kind == "trend" {
                        continue;
                    }
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    markdown.push_str(&format!(
                        "### {}\n\n![{}]({})\n\n",
                        render::escape_markdown_string(&f.heading),
                        render::escape_markdown_string(&f.heading),
                        name
                    ));
                }
            }
            markdown
        }
        _ => render::html::page(&markdown, &model.title, &model.figures),
    };
    if let Some(out) = &opts.out {
        // all checked before any is written: a refusal leaves nothing half-done
        read.check_output(out, "--out")?;
        for (path, _) in &chart_files {
            read.check_output(path, "--out (its chart)")?;
        }
        for (path, svg) in &chart_files {
            files::write_output(path, svg.as_bytes(), &read, "--out (its chart)")?;
        }
        files::write_output(out, text.as_bytes(), &read, "--out")?;
    }
    let written = opts
        .out
        .iter()
        .cloned()
        .chain(chart_files.into_iter().map(|(p, _)| p))
        .collect();
    Ok(Rendered {
        text,
        counts: model.target_counts,
        missing: model.missing,
        written,
    })
}

/// Read a report model saved by `render --format json`.
pub fn read_model(path: &std::path::Path) -> Result<ReportModel> {
    let text = input::read_text(path)?;
    ReportModel::from_json(path, &text)
}

/// A chart as a file of its own: the XML declaration a viewer expects.
fn standalone_svg(svg: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{svg}\n")
}

/// Evaluate the targets on a run and write the outputs asked for (`--junit`,
/// `--json`, the GitHub job summary).
pub fn gate_run(opts: &GateOptions) -> Result<GateOutcome> {
    let mut read = InputSet::new();
    if opts.record.is_some() && opts.config.is_some() {
        return Err(Error::Usage(
            "--record stores one run: give it --stats (to record the runs of a config, record each with `perfreport record --stats ...`)".into(),
        ));
    }
    let mut resources = None;
    let (run, mut verdict) = match &opts.config {
        Some(_) => gate_config(opts, &mut read)?,
        None => {
            let targets = targets_in_force(
                opts.no_default_targets,
                &[],
                opts.targets_file.as_deref(),
                &opts.targets,
                &mut read,
            )?;
            let run = load_recorded(&opts.stats, None, &mut read)?;
            read.extend(&opts.resources.path);
            let res = resource_report(&run, &opts.resources)?.map(|r| r.figures());
            let verdict = targets::evaluate(&run, &targets, res.as_ref());
            resources = res;
            (run, verdict)
        }
    };
    let relative = relative_in_force(&[], opts.targets_file.as_deref(), &opts.targets)?;
    let mut stat = None;
    if !opts.baseline.is_empty() {
        // --run-noise wins over the config's [regression] run_noise
        let run_noise = match (opts.run_noise, &opts.config) {
            (Some(n), _) => Some(n),
            (None, Some(path)) => config::load(path)?.run_noise,
            (None, None) => None,
        };
        let mut bases = Vec::new();
        if let Some(spec) = db_baseline(&opts.baseline)? {
            if !opts.resources_baseline.is_empty() {
                return Err(Error::Usage(
                    "--resources-baseline names the samples of baseline stats files; recorded runs (--baseline db:...) keep only a resource summary".into(),
                ));
            }
            // each recorded run is one baseline: their run-to-run spread is measured
            for b in baselines_from_db(&spec)? {
                compare::check_comparable(&b, &run, opts.force)?;
                bases.push((b, None));
            }
        } else {
            let groups = baseline_runs(&opts.baseline);
            if !opts.resources_baseline.is_empty() && opts.resources_baseline.len() != groups.len()
            {
                return Err(Error::Usage(format!(
                    "{} --resources-baseline for {} baseline runs: give one per baseline run, in the same order",
                    opts.resources_baseline.len(),
                    groups.len()
                )));
            }
            for (i, files) in groups.iter().enumerate() {
                let b = load_recorded(files, None, &mut read)?;
                compare::check_comparable(&b, &run, opts.force)?;
                let input = ResourceInput {
                    path: opts.resources_baseline.get(i).cloned(),
                    ..opts.resources.clone()
                };
                read.extend(&input.path);
                let series = resource_analysis(&b, &input)?.map(|(s, _)| s);
                bases.push((b, series));
            }
        }
        let after_series = resource_analysis(&run, &opts.resources)?.map(|(s, _)| s);
        let relative = if relative.is_empty() {
            regression::default_targets_with(&opts.tolerance)
                .into_iter()
                .filter(|t| {
                    t.metric != targets::expr::RelativeMetric::CpuPerRequest
                        || (after_series.is_some() && bases.iter().all(|b| b.1.is_some()))
                })
                .collect()
        } else {
            relative
        };
        let s = statistical_with_noise(&bases, &run, after_series.as_ref(), relative, run_noise);
        verdict.outcomes.extend(s.outcomes());
        stat = Some(s);
    } else if !relative.is_empty() && opts.config.is_none() {
        verdict.outcomes.extend(regression::not_measured_outcomes(
            &relative,
            "no baseline given (--baseline): a relative target is measured against a baseline run",
        ));
    }
    let mut context =
        output::GateContext::new(&run, &opts.stats, opts.require_all, opts.fail_on_warn);
    context.comparison = stat;
    // the database is checked (and opened) with the other outputs, before any is written
    let mut store = opts
        .record
        .as_ref()
        .map(|r| history::sqlite::SqliteStore::open_for_writing(&r.db, &read))
        .transpose()?;
    // every output checked (and rendered) before the first is written
    let summary = opts.step_summary.as_ref().filter(|_| opts.github);
    if let Some(path) = &opts.junit {
        read.check_output(path, "--junit")?;
    }
    if let Some(path) = &opts.json {
        read.check_output(path, "--json")?;
    }
    if let (Some(j), Some(x)) = (&opts.json, &opts.junit) {
        let mut first = InputSet::new();
        first.add(x);
        if j == x || first.same_as(j).is_some() {
            return Err(Error::Usage(format!(
                "--json {} and --junit {} are the same file; give each its own",
                j.display(),
                x.display()
            )));
        }
    }
    if let Some(path) = summary
        && let Some(input) = read.same_as(path)
    {
        return Err(Error::Usage(format!(
            "GITHUB_STEP_SUMMARY {}: this is the input file {}; refusing to append the job summary to an input",
            path.display(),
            input.display()
        )));
    }
    let xml = opts
        .junit
        .as_ref()
        .map(|_| output::junit::render(&verdict, &context))
        .transpose()?;
    let json = opts
        .json
        .as_ref()
        .map(|_| output::json::render(&verdict, &context))
        .transpose()?;
    if let (Some(path), Some(xml)) = (&opts.junit, &xml) {
        files::write_output(path, xml.as_bytes(), &read, "--junit")?;
    }
    if let (Some(path), Some(json)) = (&opts.json, &json) {
        files::write_output(path, json.as_bytes(), &read, "--json")?;
    }
    crate::model::check_spill()?;
    let mut recorded = None;
    if let (Some(store), Some(to)) = (&mut store, &opts.record) {
        let outcomes: serde_json::Value =
            serde_json::from_str(&output::json::render(&verdict, &context)?)
                .unwrap_or(serde_json::Value::Null);
        let rec = history::RecordedRun::from_run(
            &run,
            resources.as_ref(),
            Some(history::RecordedVerdict {
                exit_code: context.exit_code(&verdict),
                outcomes,
            }),
            to.labels.clone(),
            now_unix(),
        )?;
        recorded = Some((to.db.clone(), store.record(&rec)?));
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
        recorded,
    })
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `--baseline db:FILE[?filters]`, when that is what was given.
fn db_baseline(baseline: &[PathBuf]) -> Result<Option<DbSpec>> {
    let texts: Vec<String> = baseline
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if !texts.iter().any(|t| DbSpec::is_db(t)) {
        return Ok(None);
    }
    match texts.as_slice() {
        [one] => DbSpec::parse(one).map(Some),
        _ => Err(Error::Usage(
            "--baseline db:FILE names the whole baseline: give it alone, without stats files"
                .into(),
        )),
    }
}

/// The recorded runs a `db:` spec selects, rebuilt, oldest first.
pub fn recorded_runs(spec: &DbSpec) -> Result<Vec<history::RecordedRun>> {
    let store = history::sqlite::SqliteStore::open_existing(&spec.path)?;
    store.query(&spec.filter)
}

/// The baselines `--baseline db:...` stands for: each selected recorded run
/// rebuilt from its stored distributions, oldest first, named by its record.
/// The statistical comparison takes them as N baseline runs, so their
/// run-to-run spread is measured rather than assumed.
pub fn baselines_from_db(spec: &DbSpec) -> Result<Vec<Run>> {
    let recorded = recorded_runs(spec)?;
    if recorded.is_empty() {
        // nothing to compare with is an error, never a comparison that passes
        return Err(Error::Usage(format!(
            "{}: no {} to compare with (record runs with `perfreport record` or `gate --record`)",
            spec.path.display(),
            spec.filter.describe()
        )));
    }
    recorded
        .iter()
        .map(|r| {
            let mut run = r.to_run(&spec.path)?;
            run.label = format!(
                "{} (recorded run #{} of {})",
                run.label,
                r.id.unwrap_or_default(),
                spec.path.display()
            );
            Ok(run)
        })
        .collect()
}

/// Options of `perfreport record`.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// `--stats` files of the run.
    pub stats: Vec<PathBuf>,
    /// `--target` expressions: the verdict stored with the run.
    pub targets: Vec<String>,
    /// Resource samples of the server.
    pub resources: ResourceInput,
    /// The database and labels.
    pub to: RecordTo,
}

/// Record a run, judged against the targets, into a run database; returns
/// what `gate --record` would have (the verdict and the id).
pub fn record(opts: &RecordOptions) -> Result<GateOutcome> {
    gate_run(&GateOptions {
        stats: opts.stats.clone(),
        targets: opts.targets.clone(),
        resources: opts.resources.clone(),
        record: Some(opts.to.clone()),
        ..GateOptions::default()
    })
}

/// Options of `perfreport history`.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    /// The database and which runs.
    pub spec: DbSpec,
    /// JSON instead of a table.
    pub json: bool,
}

/// The recorded runs as a table or JSON.
pub fn history_text(opts: &HistoryOptions) -> Result<String> {
    let runs = recorded_runs(&opts.spec)?;
    if opts.json {
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            #[serde(flatten)]
            run: &'a history::RecordedRun,
            error_rate: Option<f64>,
            regressions: Vec<String>,
        }
        let entries: Vec<Entry> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| Entry {
                run: r,
                error_rate: r.error_rate(),
                regressions: history::trend::regressions(i.checked_sub(1).map(|p| &runs[p]), r),
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&entries)
            .map_err(|e| Error::Usage(format!("cannot write the history as JSON: {e}")))?;
        text.push('\n');
        return Ok(text);
    }
    if runs.is_empty() {
        return Ok(format!(
            "{}: no {}\n",
            opts.spec.path.display(),
            opts.spec.filter.describe()
        ));
    }
    Ok(history::trend::table(&runs))
}

/// Every scenario of a config against its targets, each outcome titled with
/// its scenario, plus the regression checks of its `[after]` run against its
/// `[baseline]`. The first scenario's run stands for the whole in the context.
fn gate_config(opts: &GateOptions, read: &mut InputSet) -> Result<(Run, Verdict)> {
    let (spec, cfg) = spec_recording(
        &RenderOptions {
            config: opts.config.clone(),
            targets: opts.targets.clone(),
            targets_file: opts.targets_file.clone(),
            no_default_targets: opts.no_default_targets,
            force: opts.force,
            ..RenderOptions::default()
        },
        read,
    )?;
    let mut outcomes = Vec::new();
    for (s, v) in spec.scenarios.iter().zip(report::verdicts(&spec)) {
        let title = s.info.title.clone().unwrap_or_else(|| s.run.label.clone());
        for mut o in v.outcomes {
            o.target.title = format!("{title}: {}", o.target.title);
            outcomes.push(o);
        }
    }
    if let Some(st) = spec
        .comparison
        .as_ref()
        .and_then(|c| c.statistical.as_ref())
    {
        outcomes.extend(st.outcomes());
    }
    let (requests, failures) = spec.scenarios.iter().fold((0, 0), |(r, f), s| {
        (r + s.run.total.requests, f + s.run.total.failures)
    });
    let mut run = spec
        .scenarios
        .into_iter()
        .next()
        .map(|s| s.run)
        .ok_or_else(|| Error::Usage("the config has no scenarios".into()))?;
    // the header speaks for all scenarios together
    run.total.requests = requests;
    run.total.failures = failures;
    run.measured_counts = None;
    if let Some(cfg) = &cfg {
        run.label = cfg
            .title
            .clone()
            .or(cfg.system.clone())
            .unwrap_or_else(|| cfg.path.display().to_string());
    }
    Ok((run, Verdict { outcomes }))
}

/// Compare a baseline and an after run (`perfreport diff`), with the CPU and
/// memory of each side when its resource samples are given (from the flags,
/// or the config's `resources` of `[baseline]` and `[after]`).
pub fn diff(opts: &DiffOptions) -> Result<Comparison> {
    let comparison = diff_runs(opts)?;
    crate::model::check_spill()?;
    Ok(comparison)
}

fn diff_runs(opts: &DiffOptions) -> Result<Comparison> {
    let (baseline, after, res_b, res_a) = match &opts.config {
        Some(path) => {
            let cfg = config::load(path)?;
            match (&cfg.baseline, &cfg.after) {
                (Some(b), Some(a)) => {
                    let mut read = InputSet::new();
                    let mut b_in = b.clone();
                    let mut a_in = a.clone();
                    if opts.label_baseline.is_some() {
                        b_in.label = opts.label_baseline.clone();
                    }
                    if opts.label_after.is_some() {
                        a_in.label = opts.label_after.clone();
                    }
                    let pick = |flag: &ResourceInput, inputs: &RunInputs| {
                        let from_config = resource_input(&cfg, inputs);
                        if flag.path.is_some() {
                            ResourceInput {
                                cpu_cores: flag.cpu_cores.or(from_config.cpu_cores),
                                ..flag.clone()
                            }
                        } else {
                            ResourceInput {
                                cpu_cores: flag.cpu_cores.or(from_config.cpu_cores),
                                ..from_config
                            }
                        }
                    };
                    (
                        load_inputs(&b_in, &mut read)?,
                        load_inputs(&a_in, &mut read)?,
                        pick(&opts.resources_baseline, b),
                        pick(&opts.resources_after, a),
                    )
                }
                _ => {
                    return Err(Error::parse(
                        path,
                        None,
                        None,
                        "diff --config needs both [baseline] and [after] in the config",
                    ));
                }
            }
        }
        None => {
            if opts.baseline.is_empty() || opts.after.is_empty() {
                return Err(Error::Usage(
                    "diff needs --baseline FILE and --after FILE (or --config with [baseline] and [after])".into(),
                ));
            }
            (
                input::load_run(&opts.baseline, opts.label_baseline.as_deref())?,
                input::load_run(&opts.after, opts.label_after.as_deref())?,
                opts.resources_baseline.clone(),
                opts.resources_after.clone(),
            )
        }
    };
    compare::check_comparable(&baseline, &after, opts.force)?;
    Ok(compare::compare(
        &baseline,
        &after,
        side_with_resources(&baseline, &res_b)?,
        side_with_resources(&after, &res_a)?,
    ))
}

/// `perfreport digest`: read the inputs of one load generator and write them
/// as a digest (an HdrHistogram interval log) to `out`. Returns the number of
/// requests digested.
pub fn digest(inputs: &[PathBuf], out: &Path, interval_s: u64) -> Result<u64> {
    let mut read = InputSet::new();
    let run = load_recorded(inputs, None, &mut read)?;
    read.check_output(out, "--out")?;
    let mut plan = input::merge::plan_of_run(&run);
    for path in inputs {
        match input::detect(path)? {
            input::InputKind::GooseRequestLogCsv | input::InputKind::GooseRequestLogJson => {
                let log = input::merge::goose_log_plan(
                    path,
                    input::detect(path)? == input::InputKind::GooseRequestLogJson,
                )?;
                if plan.scenarios.is_empty() {
                    plan.scenarios = log.scenarios;
                }
                plan.hosts.extend(log.hosts);
            }
            input::InputKind::Digest => {
                let d = crate::digest::plan_of(path)?;
                plan.scenarios.extend(d.scenarios);
                plan.hosts.extend(d.hosts);
            }
            _ => {}
        }
    }
    let bytes = crate::digest::write(&run, &plan, interval_s)?;
    files::write_output(out, &bytes, &read, "--out")?;
    Ok(run.total.requests)
}

//! The `perfreport` command line: parses arguments, calls the library, maps
//! the outcome to an exit code.

use clap::{CommandFactory, Parser, Subcommand};
use perfreport::app;
use perfreport::input::stdin::SavedStdin;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit codes, as a literal so that `concat!` can put examples before them.
macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  every measured target met (warnings allowed); for render: report written
  1  a target (or regression check) missed, or a warning with --fail-on warn
  2  bad usage or unreadable input
  3  no target could be measured, or --require-all and something was not measured"
    };
}

/// Turn Locust and Goose load-test output into a CI verdict and a filled load-testing report.
#[derive(Parser)]
#[command(
    name = "perfreport",
    version,
    after_help = concat!(
        "Examples:
  perfreport sample --out resources.csv -- uvicorn app:app --port 8000
  perfreport gate --stats run_stats.csv --resources resources.csv --target 'p95<300ms'
  perfreport render --stats run_stats.csv --stats run.json --resources resources.csv --out report.html

",
        exit_codes!()
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print less: gate prints its verdict line only, render --out nothing.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more: gate prints each target's detail under it (where each
    /// figure came from, its precision).
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Largest input read whole (stats CSV/JSON, report.json, resources, config, template;
    /// not the streamed request logs and stats histories), counted after gzip decompression,
    /// e.g. 64M, 1G [env: PERFREPORT_MAX_INPUT_SIZE] [default: 64M]
    #[arg(long, global = true, value_name = "SIZE")]
    max_input_size: Option<String>,
    /// Longest record of a streamed request log or stats history, e.g. 16M [env: PERFREPORT_MAX_LINE_LENGTH]
    /// [default: 16M]
    #[arg(long, global = true, value_name = "SIZE")]
    max_line_length: Option<String>,
}

/// The input limits from the flags, else the environment, else the defaults.
fn limits(cli: &Cli) -> perfreport::Result<perfreport::input::Limits> {
    use perfreport::input::{MAX_INPUT_ENV, MAX_LINE_ENV, parse_size};
    let one = |flag: &Option<String>, name: &str, env: &str, default: u64| {
        let (text, from) = match flag {
            Some(t) => (t.clone(), format!("--{name}")),
            None => match std::env::var(env) {
                Ok(t) => (t, env.to_string()),
                Err(_) => return Ok(default),
            },
        };
        parse_size(&text).map_err(|m| perfreport::Error::Usage(format!("{from}: {m}")))
    };
    Ok(perfreport::input::Limits {
        max_input_bytes: one(
            &cli.max_input_size,
            "max-input-size",
            MAX_INPUT_ENV,
            perfreport::input::DEFAULT_MAX_INPUT_BYTES,
        )?,
        max_line_bytes: one(
            &cli.max_line_length,
            "max-line-length",
            MAX_LINE_ENV,
            perfreport::input::DEFAULT_MAX_LINE_BYTES,
        )?,
    })
}

#[derive(Subcommand)]
enum Command {
    /// Write the load-testing report (markdown, or HTML with --format html / an .html --out).
    #[command(after_help = concat!(
        "Examples:
  perfreport render --stats run_stats.csv --stats run.json --resources resources.csv --out report.html
  perfreport render --stats report.json --targets slo.toml --out report.md
  perfreport render --config perfreport.toml --out LOAD_TEST_REPORT.md --strict

",
        exit_codes!()
    ))]
    Render {
        /// A stats input: Locust PREFIX_stats.csv or --json-file output, Goose report.json or
        /// request log (recognised by content; `-` reads standard input). Give the CSV and the
        /// JSON of one run together.
        #[arg(long, required_unless_present_any = ["config", "model"])]
        stats: Vec<PathBuf>,
        /// A report file (perfreport.toml) naming several runs: scenarios, baseline/after,
        /// scalability runs. Paths in it are relative to it.
        #[arg(long, conflicts_with = "stats")]
        config: Option<PathBuf>,
        /// A report model saved with --format json: render it (markdown or HTML) without
        /// the runs.
        #[arg(long, conflicts_with_all = ["stats", "config"])]
        model: Option<PathBuf>,
        /// Exit 2, listing them, when sections still lack data.
        #[arg(long)]
        strict: bool,
        /// Compare baseline and after even when their users or durations differ by over 10 %.
        #[arg(long)]
        force: bool,
        /// Scenario name (default: the file prefix).
        #[arg(long)]
        label: Option<String>,
        /// A target such as 'p95<300ms', replacing the default of the same metric and scope (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// A targets file: `targets = ["p95<300ms", "rps>=50"]` and/or [[target]] tables
        /// with `name` and `expr`; applied after the config's [targets], before --target.
        #[arg(long = "targets", value_name = "FILE")]
        targets_file: Option<PathBuf>,
        /// Check only the targets given (--target, --targets, the config's [targets]),
        /// none of the built-in defaults.
        #[arg(long)]
        no_default_targets: bool,
        /// Write here (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format (default: from --out's extension, else md); json writes the report
        /// model (schemas/report.schema.json).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// A tera template to use instead of the built-in one.
        #[arg(long)]
        template: Option<PathBuf>,
        #[command(flatten)]
        resources: ResourceArgs,
        /// Recorded runs for the Trend section: db:perfreport.db, with filters
        /// ?branch=main&last=20&passing.
        #[arg(long, value_name = "db:FILE[?FILTERS]")]
        history: Option<String>,
    },
    /// Evaluate the targets and exit 0 (met), 1 (missed), 2 (bad input) or 3 (nothing measured, or unmeasured with --require-all).
    #[command(after_help = concat!(
        "Examples:
  perfreport gate --stats run_stats.csv --no-default-targets --target 'p95<300ms' --target 'rps>=50'
  perfreport gate --stats run_stats.csv --resources resources.csv --targets slo.toml --junit junit.xml
  perfreport gate --stats after/report.json --baseline before/report.json -q

",
        exit_codes!()
    ))]
    Gate {
        /// A stats input, as for render (`-` reads standard input).
        #[arg(long, required_unless_present = "config")]
        stats: Vec<PathBuf>,
        /// A target such as 'p95<300ms', replacing the default of the same metric and scope (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// A targets file: `targets = ["p95<300ms", "rps>=50"]` and/or [[target]] tables
        /// with `name` and `expr`; applied after the config's [targets], before --target.
        #[arg(long = "targets", value_name = "FILE")]
        targets_file: Option<PathBuf>,
        /// Check only the targets given (--target, --targets, the config's [targets]),
        /// none of the built-in defaults.
        #[arg(long)]
        no_default_targets: bool,
        /// A report file (perfreport.toml): gate every scenario it names, each with its
        /// resources, and its [after] run against its [baseline].
        #[arg(long, conflicts_with_all = ["stats", "baseline"])]
        config: Option<PathBuf>,
        /// Fail (exit 3) when a target could not be measured.
        #[arg(long)]
        require_all: bool,
        #[command(flatten)]
        resources: ResourceArgs,
        /// A baseline run's stats files, or recorded runs
        /// (db:perfreport.db?branch=main&last=5&passing): also judge the run against them, per
        /// endpoint, with confidence intervals (relative targets such as
        /// 'p95 <= +10% vs baseline'; defaults when none is given). Files of different runs
        /// (other folder or Locust prefix), like the recorded runs of db:, are several
        /// baseline runs, whose run-to-run spread widens the intervals.
        #[arg(long)]
        baseline: Vec<PathBuf>,
        /// Resource samples of the server during each baseline run, in the order of the
        /// baseline runs (for cpu_per_request).
        #[arg(
            long = "resources-baseline",
            alias = "baseline-resources",
            value_name = "FILE",
            requires = "baseline"
        )]
        resources_baseline: Vec<PathBuf>,
        /// With a single --baseline run: the run-to-run noise of a percentile beyond its
        /// sampling noise to assume, as the sd of its log between runs of one setting, in
        /// percent (default: sqrt(2.5 %² + (4.3 ms / value)²), fitted as the README's
        /// "Comparing with a baseline" says; wins over the config's `[regression] run_noise`).
        /// Several baselines measure it instead.
        #[arg(long, value_name = "PERCENT", value_parser = parse_percent, requires = "baseline")]
        run_noise: Option<f64>,
        /// Compare with --baseline even when users or durations differ by over 10 %.
        #[arg(long)]
        force: bool,
        /// Tolerance of the default per-endpoint p95/p99 and aggregate p95 checks against
        /// --baseline, in percent.
        #[arg(long, default_value_t = 10.0)]
        regression_latency_percent: f64,
        /// Not used any more: the statistical verdict replaced the fixed ms floor (kept so
        /// that old command lines still parse).
        #[arg(long, default_value_t = 5.0, hide = true)]
        regression_latency_ms: f64,
        /// Tolerance of the default rps check against --baseline: lower by more than this percent.
        #[arg(long, default_value_t = 10.0)]
        regression_rps_percent: f64,
        /// What fails the gate: a missed target (default), or also a warning (`warn:` targets).
        #[arg(long, value_enum, default_value = "miss")]
        fail_on: FailOn,
        /// Write the verdict as JUnit XML (GitLab, Jenkins, Azure DevOps, GitHub report actions).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write the verdict as JSON (schema: schemas/verdict.schema.json).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// GitHub Actions outputs: a summary table appended to $GITHUB_STEP_SUMMARY and
        /// ::error/::warning annotations (on by default when GITHUB_ACTIONS=true).
        #[arg(long)]
        github: bool,
        /// Record the judged run, with its verdict, into the run database (--db).
        #[arg(long)]
        record: bool,
        #[command(flatten)]
        record_to: RecordArgs,
    },
    /// Record a run (summary, per-endpoint distributions, resources, verdict against the
    /// targets, CI labels) into a SQLite run database.
    Record {
        /// A stats input, as for render.
        #[arg(long, required = true)]
        stats: Vec<PathBuf>,
        /// A target such as 'p95<300ms' for the verdict stored with the run (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        #[command(flatten)]
        resources: ResourceArgs,
        #[command(flatten)]
        record_to: RecordArgs,
    },
    /// List the recorded runs of a run database (table, or --json).
    History {
        /// The run database.
        #[arg(long, default_value = perfreport::history::DEFAULT_DB)]
        db: PathBuf,
        /// Only runs recorded on this branch.
        #[arg(long)]
        branch: Option<String>,
        /// Only the newest N runs.
        #[arg(long)]
        last: Option<usize>,
        /// Only runs whose recorded verdict passed.
        #[arg(long)]
        passing: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sample a process's CPU and memory into a CSV (the --resources format): either
    /// `--pid PID`, or a command after `--`, whose exit code becomes perfreport's.
    #[command(after_help = "Examples:
  perfreport sample --out resources.csv -- uvicorn app:app --port 8000
  perfreport sample --pid 4242 --interval 500ms --duration 2m --out resources.csv
  perfreport sample --children --out resources.csv -- gunicorn -w 4 app:app")]
    Sample {
        /// Sample this running process.
        #[arg(long, conflicts_with = "command")]
        pid: Option<u32>,
        /// Output CSV.
        #[arg(long, default_value = "resources.csv")]
        out: PathBuf,
        /// Time between samples: 500ms, 0.5s, or seconds (0.5).
        #[arg(long, default_value = "1s", value_name = "DURATION")]
        interval: String,
        /// Stop after this long (2m, 90s, or seconds); a command still running gets SIGTERM
        /// (SIGKILL 10 s later) and the exit code is 0.
        #[arg(long, value_name = "DURATION")]
        duration: Option<String>,
        /// Sum over the process and all its descendants.
        #[arg(long)]
        children: bool,
        /// Overwrite --out if it exists.
        #[arg(long)]
        force: bool,
        /// The command to start and sample (after `--`).
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Fill the placeholders (TBD, To be measured, [To be added after testing] ...) of your own
    /// report document from the runs a config names, leaving every other byte as it is.
    #[command(after_help = concat!(
        "Examples:
  perfreport fill LOAD_TEST_REPORT.md --config perfreport.toml --in-place
  perfreport fill template.md --config perfreport.toml --targets slo.toml --out filled.md --strict

",
        exit_codes!()
    ))]
    Fill {
        /// The report document (markdown) with placeholders.
        document: PathBuf,
        /// The report file (perfreport.toml) naming the runs. Paths in it are relative to it.
        #[arg(long)]
        config: PathBuf,
        /// Write the filled document here (atomically) instead of stdout.
        #[arg(long, conflicts_with = "in_place")]
        out: Option<PathBuf>,
        /// Replace the document itself, atomically, keeping its mode.
        #[arg(long)]
        in_place: bool,
        /// Exit 2, writing nothing, when a placeholder cannot be filled or the document's
        /// scenario sections do not match the config's scenarios.
        #[arg(long)]
        strict: bool,
        /// A targets file, applied after the config's [targets] (see `gate --help`).
        #[arg(long = "targets", value_name = "FILE")]
        targets_file: Option<PathBuf>,
        /// Check only the targets given (the config's [targets], --targets), none of the
        /// built-in defaults.
        #[arg(long)]
        no_default_targets: bool,
    },
    /// Reduce one shard (a request log, or any input with per-request times) to an HdrHistogram
    /// interval log that every command accepts as --stats; several digests given together merge.
    #[command(
        after_help = "Example: digest each shard where it lives, then merge:\n  perfreport digest shard1/requests.csv --out shard1.hlog\n  perfreport gate --stats shard1.hlog --stats shard2.hlog"
    )]
    Digest {
        /// The input(s) of one load generator, as for --stats.
        #[arg(required = true)]
        input: Vec<PathBuf>,
        /// The digest to write (atomically).
        #[arg(long)]
        out: PathBuf,
        /// Length of the timeline intervals in whole seconds.
        #[arg(long, default_value_t = 1)]
        interval: u64,
    },
    /// Compare a baseline run with an after run: RPS, p95, p99, CPU, memory and per endpoint.
    #[command(after_help = "Examples:
  perfreport diff --baseline before/run_stats.csv --after after/run_stats.csv --label-baseline v1.4 --label-after v1.5
  perfreport diff --baseline before/run_stats.csv --after after/run_stats.csv --resources-baseline before/resources.csv --resources-after after/resources.csv --cpu-cores 2
  perfreport diff --config perfreport.toml")]
    Diff {
        /// The baseline run's stats files.
        #[arg(long, required_unless_present = "config")]
        baseline: Vec<PathBuf>,
        /// The after run's stats files.
        #[arg(long, required_unless_present = "config")]
        after: Vec<PathBuf>,
        /// A report file with [baseline] and [after].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Compare even when users or durations differ by over 10 %.
        #[arg(long)]
        force: bool,
        /// The baseline's name in the comparison (default: from its files or folder).
        #[arg(long)]
        label_baseline: Option<String>,
        /// The after run's name in the comparison (default: from its files or folder).
        #[arg(long)]
        label_after: Option<String>,
        /// Resource samples of the server during the baseline run, for its CPU and memory
        /// (default with --config: its [baseline] resources).
        #[arg(long, value_name = "FILE")]
        resources_baseline: Option<PathBuf>,
        /// Resource samples of the server during the after run.
        #[arg(long, value_name = "FILE")]
        resources_after: Option<PathBuf>,
        /// Cores of the server's machine, for CPU % of the machine (default: the samples'
        /// cpu_count, else this machine's).
        #[arg(long)]
        cpu_cores: Option<u32>,
    },
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    #[command(after_help = "Examples:
  perfreport completions bash > ~/.local/share/bash-completion/completions/perfreport
  perfreport completions zsh > \"${fpath[1]}/_perfreport\"
  perfreport completions fish > ~/.config/fish/completions/perfreport.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    /// A missed target fails the gate.
    Miss,
    /// A missed target or a warning fails the gate.
    Warn,
}

/// Resource samples of the server under test (render and gate).
#[derive(clap::Args)]
struct ResourceArgs {
    /// Resource samples of the server: sampler CSV, psrecord --log, pidstat -h -r -u or
    /// timestamped docker stats JSON lines (recognised by content; `-` reads standard input).
    #[arg(long)]
    resources: Option<PathBuf>,
    /// Cores of the server's machine, for CPU % of the machine (default: this machine's).
    #[arg(long)]
    cpu_cores: Option<u32>,
    /// Start (unix seconds) of a psrecord log, which holds elapsed seconds only
    /// (default: the file's modification time minus its last elapsed value).
    #[arg(long)]
    resources_start: Option<f64>,
}

/// Where a run is recorded, and its labels (record and gate --record).
#[derive(clap::Args)]
struct RecordArgs {
    /// The run database (SQLite; created when missing).
    #[arg(long, default_value = perfreport::history::DEFAULT_DB)]
    db: PathBuf,
    /// Branch label [default: GITHUB_REF_NAME or CI_COMMIT_REF_NAME].
    #[arg(long)]
    branch: Option<String>,
    /// Commit label [default: GITHUB_SHA or CI_COMMIT_SHA].
    #[arg(long)]
    commit: Option<String>,
    /// Build URL [default: the GitHub Actions run URL or CI_JOB_URL].
    #[arg(long)]
    build_url: Option<String>,
    /// A free label KEY=VALUE (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl RecordArgs {
    fn into_record_to(self) -> perfreport::Result<app::RecordTo> {
        Ok(app::RecordTo {
            db: self.db,
            labels: perfreport::history::Labels::from_flags_and_env(
                self.branch,
                self.commit,
                self.build_url,
                &self.tags,
            )?,
        })
    }
}

impl From<ResourceArgs> for app::ResourceInput {
    fn from(a: ResourceArgs) -> Self {
        app::ResourceInput {
            path: a.resources,
            cpu_cores: a.cpu_cores,
            start_unix: a.resources_start,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Md,
    Html,
    Json,
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per
/// core); the request-log reader's worker threads then keep the per-second
/// maps they free in arenas of their own, and a busy log's peak RSS grows by
/// several MiB of fragmentation (issue 15: a 1 GB, 10-minute log went from 33
/// to 30 MiB with two arenas; `benches/rss.sh`). Two arenas still keep the
/// two workers from waiting on one lock.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only tunes the allocator; it is called first thing in
    // main, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // large request logs are read in place; the guard turns a log cut short
    // while it is read into an error instead of a SIGBUS
    perfreport::input::mapped::enable();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // kept until the message is printed, which names it `<stdin>`
    let mut stdin = None;
    match run(cli, &mut stdin) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let message = perfreport::input::stdin::shown_in(&e.to_string());
            // names and paths come from files: no raw terminal escapes
            eprintln!("perfreport: {}", terminal_text(&message));
            ExitCode::from(2)
        }
    }
}

/// Replace the one `-` among the file arguments with standard input, saved
/// to a file within the input size limit. A second `-` is a usage error:
/// standard input can be read once.
fn read_stdin(
    args: Vec<(&'static str, &mut PathBuf)>,
    keep: &mut Option<SavedStdin>,
) -> perfreport::Result<()> {
    let dashes: Vec<(&'static str, &mut PathBuf)> = args
        .into_iter()
        .filter(|(_, p)| p.as_os_str() == "-")
        .collect();
    match dashes.as_slice() {
        [] => return Ok(()),
        [_] => {}
        [(a, _), (b, _), ..] => {
            return Err(perfreport::Error::Usage(format!(
                "standard input (`-`) can be read once, but {a} and {b} both ask for it"
            )));
        }
    }
    let limit = perfreport::input::limits().max_input_bytes;
    let saved = perfreport::input::stdin::save(std::io::stdin().lock(), limit)?;
    for (_, p) in dashes {
        *p = saved.path().to_path_buf();
    }
    *keep = Some(saved);
    Ok(())
}

/// `--stats`-like lists and single files, each with its flag for messages.
fn file_args<'a>(
    lists: Vec<(&'static str, &'a mut Vec<PathBuf>)>,
    singles: Vec<(&'static str, &'a mut Option<PathBuf>)>,
) -> Vec<(&'static str, &'a mut PathBuf)> {
    let mut out = Vec::new();
    for (flag, list) in lists {
        out.extend(list.iter_mut().map(|p| (flag, p)));
    }
    for (flag, one) in singles {
        out.extend(one.as_mut().map(|p| (flag, p)));
    }
    out
}

/// A duration flag (`500ms`, `0.5s`, `0.5`) as a positive [`std::time::Duration`].
fn duration_arg(text: &str, flag: &str) -> perfreport::Result<std::time::Duration> {
    let secs = perfreport::targets::expr::parse_duration_s(text).map_err(|e| match e {
        perfreport::Error::Target {
            expr,
            position,
            message,
        } => perfreport::Error::Usage(format!(
            "--{flag} `{expr}`: {message} at character {}",
            position + 1
        )),
        other => other,
    })?;
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            perfreport::Error::Usage(format!(
                "--{flag} must be a positive duration, found `{text}`"
            ))
        })
}

fn run(cli: Cli, stdin: &mut Option<SavedStdin>) -> perfreport::Result<u8> {
    perfreport::input::set_limits(limits(&cli)?);
    let verbosity = if cli.quiet {
        perfreport::output::Verbosity::Quiet
    } else if cli.verbose {
        perfreport::output::Verbosity::Verbose
    } else {
        perfreport::output::Verbosity::Normal
    };
    match cli.command {
        Command::Render {
            mut stats,
            config,
            model,
            strict,
            force,
            label,
            targets,
            mut targets_file,
            no_default_targets,
            out,
            format,
            template,
            mut resources,
            history,
        } => {
            read_stdin(
                file_args(
                    vec![("--stats", &mut stats)],
                    vec![
                        ("--resources", &mut resources.resources),
                        ("--targets", &mut targets_file),
                    ],
                ),
                stdin,
            )?;
            let to_stdout = out.is_none();
            let opts = app::RenderOptions {
                stats,
                config,
                strict,
                force,
                label,
                targets,
                targets_file,
                no_default_targets,
                out,
                format: format.map(|f| match f {
                    Format::Md => app::ReportFormat::Markdown,
                    Format::Html => app::ReportFormat::Html,
                    Format::Json => app::ReportFormat::Json,
                }),
                template,
                resources: resources.into(),
                history,
            };
            let rendered = match &model {
                Some(m) => app::render_saved_model(m, &opts)?,
                None => app::render_report(&opts)?,
            };
            let text = &rendered.text;
            if to_stdout {
                if std::io::stdout().is_terminal() {
                    write_stdout(&terminal_text(text))?;
                } else {
                    write_stdout(text)?;
                }
            } else if verbosity != perfreport::output::Verbosity::Quiet {
                write_stdout(&format!("{}\n", terminal_text(&rendered.summary())))?;
            }
            // --strict fails after the report is out, so what it has stays usable
            match rendered.strict_error() {
                Some(e) if strict => Err(e),
                _ => Ok(0),
            }
        }
        Command::Gate {
            mut stats,
            config,
            targets,
            mut targets_file,
            no_default_targets,
            require_all,
            mut baseline,
            mut resources_baseline,
            run_noise,
            force,
            regression_latency_percent,
            regression_latency_ms,
            regression_rps_percent,
            mut resources,
            fail_on,
            junit,
            json,
            github,
            record,
            record_to,
        } => {
            read_stdin(
                file_args(
                    vec![
                        ("--stats", &mut stats),
                        ("--baseline", &mut baseline),
                        ("--resources-baseline", &mut resources_baseline),
                    ],
                    vec![
                        ("--resources", &mut resources.resources),
                        ("--targets", &mut targets_file),
                    ],
                ),
                stdin,
            )?;
            let gate = app::gate_run(&app::GateOptions {
                stats,
                config,
                targets,
                targets_file,
                no_default_targets,
                baseline,
                resources_baseline,
                run_noise,
                force,
                tolerance: perfreport::analysis::compare::Tolerance {
                    latency_fraction: regression_latency_percent / 100.0,
                    latency_ms: regression_latency_ms,
                    rps_fraction: regression_rps_percent / 100.0,
                },
                resources: resources.into(),
                require_all,
                fail_on_warn: fail_on == FailOn::Warn,
                junit,
                json,
                github: github || perfreport::output::github::in_actions(),
                step_summary: perfreport::output::github::step_summary_path(),
                record: record.then(|| record_to.into_record_to()).transpose()?,
            })?;
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            // the report escapes what came from files itself, keeping its own colours
            write_stdout(&perfreport::output::terminal_report(
                &gate.verdict,
                &gate.context,
                verbosity,
                colour,
            ))?;
            write_stdout(&terminal_text(&gate.annotations))?;
            for note in &gate.notes {
                eprintln!("perfreport: {}", terminal_text(note));
            }
            if let Some((db, id)) = &gate.recorded {
                eprintln!(
                    "perfreport: recorded run #{id} in {}",
                    terminal_text(&db.display().to_string())
                );
            }
            Ok(gate.exit_code() as u8)
        }
        Command::Record {
            stats,
            targets,
            resources,
            record_to,
        } => {
            let outcome = app::record(&app::RecordOptions {
                stats,
                targets,
                resources: resources.into(),
                to: record_to.into_record_to()?,
            })?;
            if let Some((db, id)) = &outcome.recorded {
                let code = outcome.exit_code();
                write_stdout(&terminal_text(&format!(
                    "recorded run #{id} in {}: {}; verdict against the targets: {}\n",
                    db.display(),
                    outcome.context.header().lines().next().unwrap_or_default(),
                    perfreport::output::overall_text(code)
                )))?;
            }
            Ok(0)
        }
        Command::History {
            db,
            branch,
            last,
            passing,
            json,
        } => {
            if last == Some(0) {
                return Err(perfreport::Error::Usage(
                    "--last must be a whole number of runs above 0".into(),
                ));
            }
            let text = app::history_text(&app::HistoryOptions {
                spec: perfreport::history::DbSpec {
                    path: db,
                    filter: perfreport::history::Filter {
                        branch,
                        last,
                        passing,
                    },
                },
                json,
            })?;
            write_stdout(&terminal_text(&text))?;
            Ok(0)
        }
        Command::Sample {
            pid,
            out,
            interval,
            duration,
            children,
            force,
            command,
        } => {
            let opts = perfreport::sample::SampleOptions {
                interval: duration_arg(&interval, "interval")?,
                duration: duration.map(|d| duration_arg(&d, "duration")).transpose()?,
                children,
                force,
            };
            match pid {
                Some(pid) => {
                    perfreport::sample::sample_pid(pid, &opts, &out)?;
                    Ok(0)
                }
                None if command.is_empty() => Err(perfreport::Error::Usage(
                    "give --pid PID or a command after `--` to sample".into(),
                )),
                None => {
                    let code = perfreport::sample::sample_command(&command, &opts, &out)?;
                    Ok(code.clamp(0, 255) as u8)
                }
            }
        }
        Command::Fill {
            document,
            config,
            out,
            in_place,
            strict,
            mut targets_file,
            no_default_targets,
        } => {
            read_stdin(
                file_args(vec![], vec![("--targets", &mut targets_file)]),
                stdin,
            )?;
            let to_stdout = out.is_none() && !in_place;
            let outcome = app::fill(&app::FillOptions {
                document: document.clone(),
                config,
                out,
                in_place,
                strict,
                targets_file,
                no_default_targets,
            })?;
            let filled = &outcome.filled;
            for w in &filled.warnings {
                eprintln!("perfreport: warning: {}", terminal_text(w));
            }
            for n in &filled.notes {
                eprintln!("perfreport: note: {}", terminal_text(n));
            }
            for u in &filled.unresolved {
                eprintln!(
                    "perfreport: {}:{}:{}: `{}` not filled (under {})",
                    terminal_text(&document.display().to_string()),
                    u.line,
                    u.column,
                    terminal_text(&u.text),
                    terminal_text(&u.heading_path)
                );
            }
            if to_stdout {
                if std::io::stdout().is_terminal() {
                    write_stdout(&terminal_text(&filled.text))?;
                } else {
                    write_stdout(&filled.text)?;
                }
            }
            Ok(0)
        }
        Command::Digest {
            input,
            out,
            interval,
        } => {
            if interval == 0 {
                return Err(perfreport::Error::Usage(
                    "--interval must be a positive number of seconds".into(),
                ));
            }
            let n = app::digest(&input, &out, interval)?;
            eprintln!("perfreport: {} written: {n} requests", out.display());
            Ok(0)
        }
        Command::Diff {
            mut baseline,
            mut after,
            config,
            force,
            label_baseline,
            label_after,
            mut resources_baseline,
            mut resources_after,
            cpu_cores,
        } => {
            read_stdin(
                file_args(
                    vec![("--baseline", &mut baseline), ("--after", &mut after)],
                    vec![
                        ("--resources-baseline", &mut resources_baseline),
                        ("--resources-after", &mut resources_after),
                    ],
                ),
                stdin,
            )?;
            let side = |path: Option<PathBuf>| app::ResourceInput {
                path,
                cpu_cores,
                start_unix: None,
            };
            let cmp = app::diff(&app::DiffOptions {
                baseline,
                after,
                config,
                force,
                label_baseline,
                label_after,
                resources_baseline: side(resources_baseline),
                resources_after: side(resources_after),
            })?;
            write_stdout(&terminal_text(&perfreport::render::diff::to_markdown(&cmp)))?;
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "perfreport", &mut script);
            write_stdout(&String::from_utf8_lossy(&script))?;
            Ok(0)
        }
    }
}

use perfreport::output::{files::write_stdout, terminal_text};

/// `25%` or `25` -> 0.25.
fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("expected a percentage such as 10% or 10, found `{s}`"))?;
    if !(0.0..=500.0).contains(&v) {
        return Err(format!("{v} % is out of range (0 to 500)"));
    }
    Ok(v / 100.0)
}

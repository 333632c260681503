//! The `perfreport` command line: parses arguments, calls the library, maps
//! the outcome to an exit code.

use clap::{Parser, Subcommand};
use perfreport::app;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_CODES: &str = "Exit codes:
  0  every measured target met (warnings allowed); for render: report written
  1  a target (or regression check) missed, or a warning with --fail-on warn
  2  bad usage or unreadable input
  3  no target could be measured, or --require-all and something was not measured";

/// Turn Locust and Goose load-test output into a CI verdict and a filled load-testing report.
#[derive(Parser)]
#[command(name = "perfreport", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Largest input read whole (stats CSV/JSON, report.json, resources, config, template),
    /// counted after gzip decompression, e.g. 64M, 1G [env: PERFREPORT_MAX_INPUT_SIZE] [default: 64M]
    #[arg(long, global = true, value_name = "SIZE")]
    max_input_size: Option<String>,
    /// Longest record of a streamed request log, e.g. 16M [env: PERFREPORT_MAX_LINE_LENGTH]
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
    #[command(after_help = EXIT_CODES)]
    Render {
        /// A stats input: Locust PREFIX_stats.csv or --json-file output, Goose report.json or
        /// request log (recognised by content). Give the CSV and the JSON of one run together.
        #[arg(long, required_unless_present = "config")]
        stats: Vec<PathBuf>,
        /// A report file (perfreport.toml) naming several runs: scenarios, baseline/after,
        /// scalability runs. Paths in it are relative to it.
        #[arg(long, conflicts_with = "stats")]
        config: Option<PathBuf>,
        /// Exit 2, listing them, when sections still lack data.
        #[arg(long)]
        strict: bool,
        /// Compare baseline and after even when their users or durations differ by over 10 %.
        #[arg(long)]
        force: bool,
        /// Scenario name (default: the file prefix).
        #[arg(long)]
        label: Option<String>,
        /// A target such as 'p95<300ms', overriding the default of the same metric (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Write here (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format (default: from --out's extension, else md).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// A tera template to use instead of the built-in one.
        #[arg(long)]
        template: Option<PathBuf>,
        #[command(flatten)]
        resources: ResourceArgs,
    },
    /// Evaluate the targets and exit 0 (met), 1 (missed), 2 (bad input) or 3 (nothing measured, or unmeasured with --require-all).
    #[command(after_help = EXIT_CODES)]
    Gate {
        /// A stats input, as for render.
        #[arg(long, required_unless_present = "config")]
        stats: Vec<PathBuf>,
        /// A target such as 'p95<300ms', overriding the default of the same metric (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// A report file (perfreport.toml): gate every scenario it names, each with its
        /// resources, and its [after] run against its [baseline].
        #[arg(long, conflicts_with_all = ["stats", "baseline"])]
        config: Option<PathBuf>,
        /// Fail (exit 3) when a target could not be measured.
        #[arg(long)]
        require_all: bool,
        #[command(flatten)]
        resources: ResourceArgs,
        /// A baseline run's stats files: also judge the run against it, per endpoint, with
        /// confidence intervals (relative targets such as 'p95 <= +10% vs baseline'; defaults
        /// when none is given). Files of different runs (other folder or Locust prefix) are
        /// several baseline runs, whose run-to-run spread widens the intervals.
        #[arg(long)]
        baseline: Vec<PathBuf>,
        /// Resource samples of the server during each baseline run, in the order of the
        /// baseline runs (for cpu_per_request).
        #[arg(long, value_name = "FILE", requires = "baseline")]
        baseline_resources: Vec<PathBuf>,
        /// With a single --baseline run: the run-to-run noise of a percentile to assume, as the
        /// sd of its log between runs of one setting, in percent (default 25, measured on a busy
        /// shared machine). Several baselines measure it instead.
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
    },
    /// Sample a process's CPU and memory into a CSV (the --resources format): either
    /// `--pid PID`, or a command after `--`, whose exit code becomes perfreport's.
    Sample {
        /// Sample this running process.
        #[arg(long, conflicts_with = "command")]
        pid: Option<u32>,
        /// Output CSV.
        #[arg(long, default_value = "resources.csv")]
        out: PathBuf,
        /// Seconds between samples.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Stop after this many seconds; a command still running gets SIGTERM (SIGKILL 10 s later) and the exit code is 0.
        #[arg(long)]
        duration: Option<f64>,
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
    #[command(after_help = EXIT_CODES)]
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
    },
    /// Compare a baseline run with an after run: RPS, p95, p99, CPU, memory and per endpoint.
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
    /// timestamped docker stats JSON lines (recognised by content).
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
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // names and paths come from files: no raw terminal escapes
            eprintln!("perfreport: {}", terminal_text(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> perfreport::Result<u8> {
    perfreport::input::set_limits(limits(&cli)?);
    match cli.command {
        Command::Render {
            stats,
            config,
            strict,
            force,
            label,
            targets,
            out,
            format,
            template,
            resources,
        } => {
            let to_stdout = out.is_none();
            let rendered = app::render_report(&app::RenderOptions {
                stats,
                config,
                strict,
                force,
                label,
                targets,
                out,
                format: format.map(|f| match f {
                    Format::Md => app::ReportFormat::Markdown,
                    Format::Html => app::ReportFormat::Html,
                }),
                template,
                resources: resources.into(),
            })?;
            let text = &rendered.text;
            if to_stdout {
                if std::io::stdout().is_terminal() {
                    write_stdout(&terminal_text(text))?;
                } else {
                    write_stdout(text)?;
                }
            }
            // --strict fails after the report is out, so what it has stays usable
            match rendered.strict_error() {
                Some(e) if strict => Err(e),
                _ => Ok(0),
            }
        }
        Command::Gate {
            stats,
            config,
            targets,
            require_all,
            baseline,
            baseline_resources,
            run_noise,
            force,
            regression_latency_percent,
            regression_latency_ms,
            regression_rps_percent,
            resources,
            fail_on,
            junit,
            json,
            github,
        } => {
            let gate = app::gate_run(&app::GateOptions {
                stats,
                config,
                targets,
                baseline,
                baseline_resources,
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
            })?;
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write_stdout(&terminal_text(&format!("{}\n\n", gate.context.header())))?;
            // the table escapes its cells itself, keeping its own colours
            write_stdout(&perfreport::output::terminal_table(&gate.verdict, colour))?;
            write_stdout(&terminal_text(&gate.annotations))?;
            for note in &gate.notes {
                eprintln!("perfreport: {}", terminal_text(note));
            }
            Ok(gate.exit_code() as u8)
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
            let secs = |s: f64, what: &str| {
                std::time::Duration::try_from_secs_f64(s)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        perfreport::Error::Usage(format!(
                            "--{what} must be a positive number of seconds"
                        ))
                    })
            };
            let opts = perfreport::sample::SampleOptions {
                interval: secs(interval, "interval")?,
                duration: duration.map(|d| secs(d, "duration")).transpose()?,
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
        } => {
            let to_stdout = out.is_none() && !in_place;
            let outcome = app::fill(&app::FillOptions {
                document: document.clone(),
                config,
                out,
                in_place,
                strict,
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
        Command::Diff {
            baseline,
            after,
            config,
            force,
        } => {
            let cmp = app::diff(&app::DiffOptions {
                baseline,
                after,
                config,
                force,
            })?;
            write_stdout(&terminal_text(&perfreport::analysis::compare::to_markdown(
                &cmp,
            )))?;
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

//! The `perfreport` command line: parses arguments, calls the library, maps
//! the outcome to an exit code.

use clap::{Parser, Subcommand};
use perfreport::app;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_CODES: &str = "Exit codes:
  0  every measured target met (warnings allowed); for render: report written
  1  a target (or regression check) missed, or a warning with --fail-on warn
  2  bad usage or unreadable input
  3  --require-all and something was not measured";

/// Turn Locust and Goose load-test output into a CI verdict and a filled load-testing report.
#[derive(Parser)]
#[command(name = "perfreport", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write the load-testing report (markdown, or HTML with --format html / an .html --out).
    #[command(after_help = EXIT_CODES)]
    Render {
        /// A stats input: Locust PREFIX_stats.csv or --json-file output, Goose report.json or
        /// request log (recognised by content). Give the CSV and the JSON of one run together.
        #[arg(long, required = true)]
        stats: Vec<PathBuf>,
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
    },
    /// Evaluate the targets and exit 0 (met), 1 (missed), 2 (bad input) or 3 (unmeasured, with --require-all).
    #[command(after_help = EXIT_CODES)]
    Gate {
        /// A stats input, as for render.
        #[arg(long, required = true)]
        stats: Vec<PathBuf>,
        /// A target such as 'p95<300ms', overriding the default of the same metric (repeatable).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Fail (exit 3) when a target could not be measured.
        #[arg(long)]
        require_all: bool,
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
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    /// A missed target fails the gate.
    Miss,
    /// A missed target or a warning fails the gate.
    Warn,
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
            eprintln!("perfreport: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> perfreport::Result<u8> {
    match cli.command {
        Command::Render {
            stats,
            label,
            targets,
            out,
            format,
            template,
        } => {
            let to_stdout = out.is_none();
            let text = app::render(&app::RenderOptions {
                stats,
                label,
                targets,
                out,
                format: format.map(|f| match f {
                    Format::Md => app::ReportFormat::Markdown,
                    Format::Html => app::ReportFormat::Html,
                }),
                template,
            })?;
            if to_stdout {
                write_stdout(&text);
            }
            Ok(0)
        }
        Command::Gate {
            stats,
            targets,
            require_all,
            fail_on,
            junit,
            json,
            github,
        } => {
            let gate = app::gate_run(&app::GateOptions {
                stats,
                targets,
                require_all,
                fail_on_warn: fail_on == FailOn::Warn,
                junit,
                json,
                github: github || perfreport::output::github::in_actions(),
                step_summary: perfreport::output::github::step_summary_path(),
            })?;
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write_stdout(&perfreport::output::terminal_table(&gate.verdict, colour));
            write_stdout(&gate.annotations);
            for note in &gate.notes {
                eprintln!("perfreport: {note}");
            }
            Ok(gate.exit_code() as u8)
        }
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

//! GitHub Actions outputs of `gate` (with `--github`, or when
//! `GITHUB_ACTIONS=true`): a markdown verdict table appended to the job
//! summary file named by `$GITHUB_STEP_SUMMARY`, and `::error` / `::warning`
//! workflow commands (annotations) on stdout.
//!
//! GitHub's limits shape both:
//! * the step summary is dropped whole above 1 MiB per step, so what is
//!   appended stays under [`SUMMARY_BUDGET`] minus what the file already
//!   holds: rows past the budget are left out with a note saying how many;
//! * a step shows at most 10 annotations of each kind and drops the rest
//!   silently, so only the worst failures are annotated (missed before
//!   warned, the furthest from their limit first), at most
//!   [`MAX_ANNOTATIONS`], followed by one `::notice` saying how many more
//!   there are and pointing to the summary.

use super::{Counts, GateContext, limit_text, outcome_line, overall_text, scope_text};
use crate::error::{Error, Result};
use crate::render::escape_markdown_string;
use crate::targets::{Op, Outcome, State, Verdict};
use std::io::Write;
use std::path::{Path, PathBuf};

/// GitHub drops a step summary above 1 MiB.
pub const SUMMARY_BUDGET: usize = 1024 * 1024;

/// Failure annotations printed per step at most (GitHub shows 10 of each kind).
pub const MAX_ANNOTATIONS: usize = 10;

/// Longest cell text in the summary table; longer texts are cut with `…`.
const MAX_CELL_CHARS: usize = 300;

/// Whether the process runs in GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// The job summary file named by `$GITHUB_STEP_SUMMARY`, when set and not empty.
pub fn step_summary_path() -> Option<PathBuf> {
    std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Escape the message of a workflow command: `%`, `\r`, `\n`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value of a workflow command (`title=...`): as
/// [`escape_data`], and also `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// How far an outcome is from its limit, as a ratio (larger is worse); used
/// to pick the worst failures.
fn badness(o: &Outcome) -> f64 {
    let (Some(m), limit) = (o.measured, o.target.expr.limit) else {
        return 0.0;
    };
    let ratio = match o.target.expr.op {
        Op::Lt | Op::Le => m / limit,
        Op::Gt | Op::Ge => limit / m,
        Op::Eq => (m - limit).abs() / limit.abs().max(1e-9),
    };
    if ratio.is_finite() { ratio } else { f64::MAX }
}

/// The outcomes that fail the gate or warn, worst first: missed, then warned,
/// then (with `--require-all`) not measured; within each, furthest from the
/// limit first.
pub fn worst_first<'a>(verdict: &'a Verdict, ctx: &GateContext) -> Vec<&'a Outcome> {
    let mut v: Vec<&Outcome> = verdict
        .outcomes
        .iter()
        .filter(|o| {
            matches!(o.state, State::Missed | State::Warned)
                || (o.state == State::NotMeasured && ctx.require_all)
        })
        .collect();
    v.sort_by(|a, b| {
        a.state
            .cmp(&b.state)
            .then(badness(b).total_cmp(&badness(a)))
    });
    v
}

/// The annotation lines for stdout (each ends with a newline): `::error` for
/// what fails the gate, `::warning` for warnings that do not.
pub fn annotations(verdict: &Verdict, ctx: &GateContext) -> String {
    let worst = worst_first(verdict, ctx);
    let mut out = String::new();
    for o in worst.iter().take(MAX_ANNOTATIONS) {
        let (command, what) = match o.state {
            State::Missed => ("error", "SLO missed"),
            State::Warned if ctx.fail_on_warn => ("error", "SLO warning (--fail-on warn)"),
            State::Warned => ("warning", "SLO warning"),
            _ => ("error", "SLO not measured (--require-all)"),
        };
        let title = format!("{what}: {}", o.target.title);
        let message = format!("{}; {}", outcome_line(o), o.detail);
        out.push_str(&format!(
            "::{command} title={}::{}\n",
            escape_property(&title),
            escape_data(&message)
        ));
    }
    if worst.len() > MAX_ANNOTATIONS {
        let more = worst.len() - MAX_ANNOTATIONS;
        out.push_str(&format!(
            "::notice title={}::{}\n",
            escape_property("perfreport"),
            escape_data(&format!(
                "{more} more failed or warned target(s) not annotated (GitHub shows 10 per step); see the job summary for all of them"
            ))
        ));
    }
    out
}

fn cell(s: &str) -> String {
    let cut: String = if s.chars().count() > MAX_CELL_CHARS {
        let mut c: String = s.chars().take(MAX_CELL_CHARS - 1).collect();
        c.push('…');
        c
    } else {
        s.to_string()
    };
    escape_markdown_string(&cut)
}

fn icon(o: &Outcome, ctx: &GateContext) -> &'static str {
    match o.state {
        State::Met => "✅",
        State::Warned if ctx.fail_on_warn => "❌",
        State::Warned => "⚠️",
        State::Missed => "❌",
        State::NotMeasured if ctx.require_all => "❌",
        State::NotMeasured => "➖",
    }
}

/// The markdown summary, at most `budget` bytes: a blank line (the file may
/// not end in one), a heading with the verdict,
/// the counts, and a table of every target (failures first). Rows that do not
/// fit are left out with a note saying how many.
pub fn summary_markdown(verdict: &Verdict, ctx: &GateContext, budget: usize) -> String {
    let exit = ctx.exit_code(verdict);
    let mark = if exit == 0 { "✅" } else { "❌" };
    let mut head = format!(
        "\n### {mark} perfreport gate: {} {} (exit {exit})\n\n{}",
        cell(&ctx.label),
        overall_text(exit),
        Counts::of(verdict)
    );
    if !ctx.sources.is_empty() {
        head.push_str(&format!(
            "; {} input: {}",
            ctx.tool,
            escape_markdown_string(&ctx.sources.join(", "))
        ));
    }
    head.push_str("\n\n| | target | scope | measured | limit | state | detail |\n|---|---|---|---|---|---|---|\n");
    let rows: Vec<String> = verdict
        .sorted()
        .iter()
        .map(|o| {
            format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                icon(o, ctx),
                cell(&o.target.title),
                cell(&scope_text(o)),
                cell(&o.measured_text),
                cell(&limit_text(o)),
                o.state.label(),
                cell(&o.detail),
            )
        })
        .collect();
    let mut out = head;
    // room for the truncation note and the closing blank line
    let reserve = 200;
    let mut shown = 0;
    for r in &rows {
        if out.len() + r.len() + reserve > budget {
            break;
        }
        out.push_str(r);
        shown += 1;
    }
    if shown < rows.len() {
        out.push_str(&format!(
            "\n_{} more target(s) left out to keep the job summary under GitHub's 1 MiB limit; the full verdict is in the `--json` / `--junit` output._\n",
            rows.len() - shown
        ));
    }
    out.push('\n');
    out
}

/// Append the summary to the job summary file (never truncating it), keeping
/// the file under GitHub's limit. Returns the bytes appended.
pub fn append_summary(path: &Path, verdict: &Verdict, ctx: &GateContext) -> Result<usize> {
    let existing = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let budget = SUMMARY_BUDGET.saturating_sub(existing);
    let text = summary_markdown(verdict, ctx, budget);
    if text.len() > budget {
        return Err(Error::Usage(format!(
            "{}: the job summary already holds {existing} bytes; appending the verdict would pass GitHub's 1 MiB limit",
            path.display()
        )));
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| Error::write(path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::write(path, e))?;
    Ok(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(
            escape_property("p95{name:a,b}<1%\n"),
            "p95{name%3Aa%2Cb}<1%25%0A"
        );
    }
}

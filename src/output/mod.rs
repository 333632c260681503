//! Machine and terminal outputs of `gate`: the terminal table here, the JSON
//! verdict in [`json`], JUnit XML in [`junit`], and the GitHub Actions job
//! summary and annotations in [`github`].

pub mod files;
pub mod github;
pub mod json;
pub mod junit;

use crate::model::{Run, Tool, UnixSeconds};
use crate::targets::{Outcome, State, Verdict};
use std::path::PathBuf;

/// What the machine outputs say about the run and how the gate was asked to
/// decide: everything besides the verdict they need.
#[derive(Debug, Clone)]
pub struct GateContext {
    /// The run's label (scenario name).
    pub label: String,
    /// The tool that wrote the input.
    pub tool: Tool,
    /// The tool's version, when the input says.
    pub tool_version: Option<String>,
    /// The `--stats` paths as given on the command line.
    pub sources: Vec<String>,
    /// Start of the test, when known.
    pub started: Option<UnixSeconds>,
    /// Length of the test in seconds, when known.
    pub duration_s: Option<f64>,
    /// Requests and failures in the run.
    pub requests: (u64, u64),
    /// Requests and failures in the tool's measured window, and its basis.
    pub measured: Option<(u64, u64, String)>,
    /// `--require-all`: a target not measured fails the gate (exit 3).
    pub require_all: bool,
    /// `--fail-on warn`: a warning fails the gate (exit 1).
    pub fail_on_warn: bool,
    /// Why the run stopped before its planned end, when it did.
    pub stopped_early: Option<String>,
    /// Load generators (or digested shards) merged into the run.
    pub generators: usize,
    /// The statistical comparison with the baseline (`gate --baseline`), whose
    /// checks are among the outcomes; the JSON verdict adds their intervals.
    pub comparison: Option<crate::analysis::regression::StatComparison>,
}

impl GateContext {
    /// The context of a run read from `sources`.
    pub fn new(run: &Run, sources: &[PathBuf], require_all: bool, fail_on_warn: bool) -> Self {
        GateContext {
            label: run.label.clone(),
            tool: run.tool,
            tool_version: run.tool_version.clone(),
            sources: sources
                .iter()
                .map(|p| crate::input::stdin::shown(p))
                .collect(),
            started: run.started,
            duration_s: run.duration_s,
            requests: (run.total.requests, run.total.failures),
            measured: run
                .measured_counts
                .as_ref()
                .map(|m| (m.requests, m.failures, m.basis.clone())),
            require_all,
            fail_on_warn,
            stopped_early: run.stopped_early.clone(),
            generators: run.generators,
            comparison: None,
        }
    }

    /// One line on what was read: `run X (Goose 0.19.0): 1,395 requests, 5 failed; ...`.
    pub fn header(&self) -> String {
        let mut line = format!(
            "run {} ({}{}): {} requests, {} failed",
            self.label,
            self.tool,
            self.tool_version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            crate::format::count(self.requests.0),
            crate::format::count(self.requests.1)
        );
        if self.generators > 1 {
            line.push_str(&format!(
                " from {} load generators, merged",
                self.generators
            ));
        }
        if let Some((r, f, basis)) = &self.measured {
            line.push_str(&format!(
                "; measured window: {} requests, {} failed ({basis})",
                crate::format::count(*r),
                crate::format::count(*f)
            ));
        }
        if let Some(why) = &self.stopped_early {
            line.push_str(&format!("\nthe run stopped early: {why}"));
        }
        line
    }

    /// The gate's exit code for a verdict (0, 1 or 3).
    pub fn exit_code(&self, verdict: &Verdict) -> i32 {
        verdict.exit_code(self.require_all, self.fail_on_warn)
    }

    /// Whether an outcome fails the gate under these settings: missed, warned
    /// with `--fail-on warn`, not measured with `--require-all`.
    pub fn fails(&self, o: &Outcome) -> bool {
        match o.state {
            State::Missed => true,
            State::Warned => self.fail_on_warn,
            State::NotMeasured => self.require_all,
            State::Met => false,
        }
    }
}

/// Text safe to print on a terminal: control characters (ESC, BEL, C1, ...)
/// from names and messages are shown escaped (`\u{1b}`) rather than obeyed;
/// newlines and tabs stay.
pub fn terminal_text(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `passed`, `failed` (exit 1) or `incomplete` (exit 3: nothing measured, or
/// `--require-all` and something not measured).
pub fn overall_text(exit_code: i32) -> &'static str {
    match exit_code {
        0 => "passed",
        3 => "incomplete",
        _ => "failed",
    }
}

/// The target's metric and scope as written: `p95{name:/api/*}`.
pub fn metric_text(o: &Outcome) -> String {
    format!("{}{}", o.target.expr.metric.key(), o.target.expr.scope)
}

/// One line on an outcome for annotations and JUnit messages:
/// `p95{name:/api/*} = 770 ms (limit < 300ms)`, or why it was not measured.
pub fn outcome_line(o: &Outcome) -> String {
    match o.state {
        State::NotMeasured => format!("{} not measured: {}", metric_text(o), o.detail),
        _ => format!(
            "{} = {} (limit {})",
            metric_text(o),
            o.measured_text,
            limit_text(o)
        ),
    }
}

pub use crate::targets::types::Counts;

/// Scope text of an outcome: `server` for resource metrics, `all requests`
/// when unscoped, else the scope as written (`{name:/api/*}`).
pub fn scope_text(o: &Outcome) -> String {
    let s = o.target.expr.scope.to_string();
    if o.target.expr.metric.is_resource() {
        "server".into()
    } else if o.target.is_api() && s.is_empty() {
        "HTTP requests".into()
    } else if s.is_empty() {
        "all requests".into()
    } else {
        s
    }
}

/// [`scope_text`], except that a check against the baseline names the one
/// endpoint it compared (its relative target's scope, `{name:*}`, matched many).
fn scope_cell(o: &Outcome, context: Option<&GateContext>) -> String {
    let check = context
        .and_then(|c| c.comparison.as_ref())
        .and_then(|c| c.check(&o.target.title));
    match check {
        Some(c) => match &c.endpoint {
            Some(e) => e.clone(),
            None if c.metric == "cpu_per_request" => "server".into(),
            None => scope_text(o),
        },
        None => scope_text(o),
    }
}

/// The limit as written: `< 200 ms`.
pub fn limit_text(o: &Outcome) -> String {
    let e = &o.target.expr;
    let text = e.text.trim_start_matches("warn:").trim();
    // the part after the operator, as the user wrote it; the operator comes
    // after the scope, whose names may hold `<`, `>` or `=` themselves
    let from = if e.scope.is_empty() {
        0
    } else {
        text.rfind('}').map_or(0, |i| i + 1)
    };
    let after_op = text[from..]
        .find(['<', '>', '='])
        .map(|i| text[from + i..].trim_start_matches(['<', '>', '=']).trim())
        .unwrap_or("");
    format!("{} {}", e.op.symbol(), after_op)
}

/// Longest cell of the terminal table; longer texts (a huge `--target`) are
/// cut with `…` (the JSON and JUnit outputs keep them whole).
const MAX_TERMINAL_CELL_CHARS: usize = 200;

fn table_cell(s: &str) -> String {
    let s = terminal_text(s);
    if s.chars().count() > MAX_TERMINAL_CELL_CHARS {
        let mut c: String = s.chars().take(MAX_TERMINAL_CELL_CHARS - 1).collect();
        c.push('…');
        c
    } else {
        s.into_owned()
    }
}

/// The terminal table: target, scope, measured, limit, state; failures first.
pub fn terminal_table(verdict: &Verdict, colour: bool) -> String {
    terminal_table_in(verdict, None, colour)
}

/// [`terminal_table`], naming each compared endpoint of a gate's checks.
fn terminal_table_in(verdict: &Verdict, context: Option<&GateContext>, colour: bool) -> String {
    let header = ["target", "scope", "measured", "limit", "state"];
    let rows: Vec<[String; 5]> = verdict
        .sorted()
        .iter()
        .map(|o| {
            [
                table_cell(&o.target.title),
                table_cell(&scope_cell(o, context)),
                table_cell(&o.measured_text),
                table_cell(&limit_text(o)),
                o.state.label().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        cells
            .iter()
            .zip(widths)
            // padded by hand: `{:<w$}` panics for widths over 65,535
            .map(|(c, w)| {
                let pad = w.saturating_sub(c.chars().count());
                format!("{c}{}", " ".repeat(pad))
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = String::new();
    out.push_str(&line(header));
    out.push('\n');
    for (r, o) in rows.iter().zip(verdict.sorted()) {
        let text = line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
        let (start, end) = if colour {
            match o.state {
                State::Missed => ("\x1b[31m", "\x1b[0m"),
                State::Warned => ("\x1b[33m", "\x1b[0m"),
                State::Met => ("\x1b[32m", "\x1b[0m"),
                State::NotMeasured => ("\x1b[2m", "\x1b[0m"),
            }
        } else {
            ("", "")
        };
        out.push_str(start);
        out.push_str(&text);
        out.push_str(end);
        out.push('\n');
        out.push_str(&format!("    {}\n", terminal_text(&o.detail)));
    }
    out.push_str(&format!("\n{}\n", Counts::of(verdict)));
    if verdict.measured_nothing() {
        out.push_str("nothing could be measured: the gate does not pass (exit 3)\n");
    }
    out
}

/// How much `gate` prints on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// `-q`: the verdict line only.
    Quiet,
    /// One line per target, the precision notes once, the verdict line.
    #[default]
    Normal,
    /// `-v`: the run header, the table with each target's detail under it.
    Verbose,
}

/// A row's detail without the precision notes it quotes, and which of
/// `notes` (added to as they are met) it quoted.
fn strip_notes(detail: &str, notes: &mut Vec<&'static str>) -> (String, Vec<usize>) {
    let mut text = detail.to_string();
    let mut used = Vec::new();
    for note in crate::latency::PRECISION_NOTES {
        let quoted = format!("; {note}");
        if text.contains(&quoted) {
            text = text.replace(&quoted, "");
            let i = notes.iter().position(|n| *n == note).unwrap_or_else(|| {
                notes.push(note);
                notes.len() - 1
            });
            used.push(i);
        }
    }
    (text, used)
}

/// The verdict line: `gate failed (exit 1): 1 met, 0 warned, 2 missed, 5 not
/// measured · run X (Locust 2.44 or later): 1,480 requests, 122 failed`, then
/// `latency` (the one precision note of the run's rows), when given.
pub fn verdict_line(verdict: &Verdict, context: &GateContext, latency: Option<&str>) -> String {
    let code = context.exit_code(verdict);
    let mut line = format!(
        "gate {} (exit {code}): {}",
        overall_text(code),
        Counts::of(verdict)
    );
    if verdict.measured_nothing() {
        line.push_str(" (nothing could be measured: the gate does not pass)");
    }
    line.push_str(&format!(" · {}", context.header().replace('\n', "; ")));
    if let Some(note) = latency {
        line.push_str(&format!(" · latency: {note}"));
    }
    terminal_text(&line).into_owned()
}

/// The gate's terminal output: with [`Verbosity::Normal`], one line per
/// target (failures first: target, scope, measured, limit, state, detail),
/// each precision note once, and the verdict line
/// last, so that a CI log shows the verdict at its end; with
/// [`Verbosity::Quiet`] the verdict line alone; with
/// [`Verbosity::Verbose`] the header and the [`terminal_table`].
pub fn terminal_report(
    verdict: &Verdict,
    context: &GateContext,
    verbosity: Verbosity,
    colour: bool,
) -> String {
    match verbosity {
        Verbosity::Quiet => return format!("{}\n", verdict_line(verdict, context, None)),
        Verbosity::Verbose => {
            return format!(
                "{}\n\n{}",
                terminal_text(&context.header()),
                terminal_table_in(verdict, Some(context), colour)
            );
        }
        Verbosity::Normal => {}
    }
    let mut notes = Vec::new();
    let rows: Vec<(&Outcome, [String; 6], Vec<usize>)> = verdict
        .sorted()
        .into_iter()
        .map(|o| {
            let (detail, used) = strip_notes(&o.detail, &mut notes);
            let cells = [
                table_cell(&o.target.title),
                table_cell(&scope_cell(o, Some(context))),
                // the state column already says so
                if o.state == State::NotMeasured && o.measured_text == "not measured" {
                    "-".to_string()
                } else {
                    table_cell(&o.measured_text)
                },
                table_cell(&limit_text(o)),
                o.state.label().to_string(),
                terminal_text(&detail).into_owned(),
            ];
            (o, cells, used)
        })
        .collect();
    let mut widths = [0usize; 5];
    for (_, cells, _) in &rows {
        for (w, c) in widths.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for (o, cells, used) in &rows {
        let mut line = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            // padded by hand: `{:<w$}` panics for widths over 65,535
            let pad = " ".repeat(w.saturating_sub(c.chars().count()));
            if i == 4 && colour {
                let start = match o.state {
                    State::Missed => "\x1b[31m",
                    State::Warned => "\x1b[33m",
                    State::Met => "\x1b[32m",
                    State::NotMeasured => "\x1b[2m",
                };
                line.push_str(&format!("{start}{c}\x1b[0m{pad}  "));
            } else {
                line.push_str(&format!("{c}{pad}  "));
            }
        }
        line.push_str(&cells[5]);
        if notes.len() > 1 {
            for i in used {
                line.push_str(&format!(" [{}]", i + 1));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let single = match notes.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    if single.is_none() {
        for (i, n) in notes.iter().enumerate() {
            out.push_str(&format!("[{}] latency: {n}\n", i + 1));
        }
    }
    out.push_str(&verdict_line(verdict, context, single));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_escapes_controls_but_keeps_newlines() {
        assert_eq!(
            terminal_text("a\x1b[31mb\x07\n\tc"),
            "a\\u{1b}[31mb\\u{7}\n\tc"
        );
        assert_eq!(terminal_text("\u{9b}31m"), "\\u{9b}31m");
    }

    #[test]
    fn table_cells_are_cut() {
        let long = "x".repeat(70_000);
        let cell = table_cell(&long);
        assert_eq!(cell.chars().count(), MAX_TERMINAL_CELL_CHARS);
        assert!(cell.ends_with('…'));
    }
}

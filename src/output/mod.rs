//! Machine and terminal outputs of `gate`: the terminal table (and later JSON
//! verdict, JUnit XML, GitHub summary).

use crate::targets::{Outcome, State, Verdict};

/// Scope text of an outcome: `server` for resource metrics, `all requests`
/// when unscoped, else the scope as written (`{name:/api/*}`).
pub fn scope_text(o: &Outcome) -> String {
    let s = o.target.expr.scope.to_string();
    if o.target.expr.metric.is_resource() {
        "server".into()
    } else if s.is_empty() {
        "all requests".into()
    } else {
        s
    }
}

/// The limit as written: `< 200 ms`.
pub fn limit_text(o: &Outcome) -> String {
    let e = &o.target.expr;
    let text = e.text.trim_start_matches("warn:").trim();
    // the part after the operator, as the user wrote it
    let after_op = text
        .find(['<', '>', '='])
        .map(|i| text[i..].trim_start_matches(['<', '>', '=']).trim())
        .unwrap_or("");
    format!("{} {}", e.op.symbol(), after_op)
}

/// The terminal table: target, scope, measured, limit, state; failures first.
pub fn terminal_table(verdict: &Verdict, colour: bool) -> String {
    let header = ["target", "scope", "measured", "limit", "state"];
    let rows: Vec<[String; 5]> = verdict
        .sorted()
        .iter()
        .map(|o| {
            [
                o.target.title.clone(),
                scope_text(o),
                o.measured_text.clone(),
                limit_text(o),
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
            .map(|(c, w)| format!("{c:<w$}"))
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
        out.push_str(&format!("    {}\n", o.detail));
    }
    let count = |s: State| verdict.outcomes.iter().filter(|o| o.state == s).count();
    out.push_str(&format!(
        "\n{} met, {} warned, {} missed, {} not measured\n",
        count(State::Met),
        count(State::Warned),
        count(State::Missed),
        count(State::NotMeasured)
    ));
    out
}

//! `perfreport diff` as markdown: the aggregate table, one row per
//! endpoint, and the statistical checks with their method.
use super::escape_markdown_string as esc;
use crate::analysis::compare::{Change, Comparison};
use crate::analysis::regression::StatComparison;
use crate::format;

/// The comparison as a markdown table, for `perfreport diff`.
pub fn to_markdown(cmp: &Comparison) -> String {
    let mut out = format!(
        "Baseline: {}\nAfter: {}\n\n| Metric | Baseline | After | Change | Improvement |\n| ------ | -------: | ----: | -----: | ----------: |\n",
        esc(&cmp.baseline.label),
        esc(&cmp.after.label)
    );
    let show = |c: &Change, v: Option<f64>| -> String {
        match (c.metric.as_str(), v) {
            (_, None) => "not measured".into(),
            ("RPS", Some(v)) => format::rps(v),
            ("CPU", Some(v)) => format::percent(v),
            ("Memory", Some(v)) => format::bytes(v),
            (_, Some(v)) => format::ms(v),
        }
    };
    for c in &cmp.changes {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.metric,
            show(c, c.before),
            show(c, c.after),
            c.change
                .map(|v| format::change(v * 100.0))
                .unwrap_or_else(|| "n/a".into()),
            c.improvement
                .map(|v| format::change(v * 100.0))
                .unwrap_or_else(|| "n/a".into()),
        ));
    }
    out.push_str("\n| Endpoint | Requests | p95 | p99 | Error rate |\n| -------- | -------- | --- | --- | ---------- |\n");
    for e in &cmp.endpoints {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            esc(&e.endpoint),
            e.requests,
            e.p95.text,
            e.p99.text,
            e.error_rate
        ));
    }
    if let Some(st) = &cmp.statistical {
        out.push_str(&statistical_markdown(st));
    }
    out
}

/// The statistical checks as a markdown table, with the method and the mix shift.
pub fn statistical_markdown(st: &StatComparison) -> String {
    let mut out = String::from(
        "\n| Check | Before → after, change [95 % interval], verdict (limit) |\n| ----- | ------------------------------------------------------- |\n",
    );
    for c in &st.checks {
        out.push_str(&format!("| {} | {} |\n", esc(&c.title), esc(&c.line())));
    }
    if let Some(m) = &st.mix_shift {
        out.push_str(&format!("\nMix shift: {}\n", esc(&m.text)));
    }
    if !st.added.is_empty() {
        out.push_str(&format!(
            "\nOnly in the after run (not compared): {}\n",
            esc(&st.added.join(", "))
        ));
    }
    if !st.removed.is_empty() {
        out.push_str(&format!(
            "\nOnly in the baseline (not compared): {}\n",
            esc(&st.removed.join(", "))
        ));
    }
    out.push_str(&format!("\nMethod: {}\n", esc(&st.method)));
    out
}

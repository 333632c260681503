//! Wording helpers shared by the section modules: figures as text, target
//! limits, state marks, error labels.

use crate::format;
use crate::latency::Percentile;
use crate::model::{Endpoint, Run};
use crate::targets::{Metric, Outcome, State, Target};

pub(crate) fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

pub(crate) fn limit_text(metric: Metric, limit: f64) -> String {
    match metric {
        Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => format::ms(limit),
        Metric::Rps => format!("{} req/s", trim_num(limit)),
        Metric::ErrorRate => format::fraction(limit),
        Metric::Errors => trim_num(limit),
        Metric::RssIdle | Metric::RssLoad => format::bytes(limit),
        Metric::CpuLoad => format::percent(limit),
        Metric::LeakSlope => format!("{}/min", format::bytes(limit)),
    }
}

pub(crate) fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

pub(crate) fn target_limit_text(t: &Target) -> String {
    let e = &t.expr;
    let mut s = format!("{} {}", e.op.symbol(), limit_text(e.metric, e.limit));
    if e.metric == Metric::Rps && e.scope.is_empty() {
        s.push_str(" sustained");
    }
    if let Some(o) = e.over_s {
        s.push_str(&format!(" in every {} window", format::duration(o)));
    }
    if let Some(d) = e.for_s {
        s.push_str(&format!(
            " unless breached for less than {} in a row",
            format::duration(d)
        ));
    }
    if e.warn {
        s.push_str(" (warning)");
    }
    s
}

/// A time of a run: UTC, or seconds into the test when the input has no clock.
pub(crate) fn when(run: &Run, t: f64) -> String {
    if run.relative_times {
        format!("{} into the test", format::duration(t))
    } else {
        format::time(t)
    }
}

/// `API Response Time (p95) (140 ms vs < 200 ms)`.
pub(crate) fn outcome_phrase(o: &Outcome) -> String {
    format!(
        "{} ({} vs {})",
        o.target.title,
        o.measured_text,
        target_limit_text(&o.target)
    )
}

pub(crate) fn state_mark(state: State) -> &'static str {
    match state {
        State::Met => "✅ Met",
        State::Warned => "⚠️ Warning",
        State::Missed => "❌ Missed",
        State::NotMeasured => "Not measured",
    }
}

pub(crate) fn pct_text(e: &Endpoint, p: f64) -> String {
    match e.latency.percentile(p) {
        Percentile::Value(v) => format::ms(v),
        Percentile::Between(a, b) => format!("{}–{}", format::ms(a), format::ms(b)),
        Percentile::NotAvailable => "n/a".into(),
    }
}

/// A name for an HTTP status.
pub fn status_name(code: u16) -> &'static str {
    match code {
        0 => "Connection Error",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Timeout",
        _ => "Other",
    }
}

pub(crate) fn error_label(status: Option<u16>, error: &str) -> String {
    match status {
        Some(0) => format!("connection error ({})", shorten(error, 60)),
        Some(c) => format!("{c} {}", status_name(c)),
        None => shorten(error, 80),
    }
}

pub(crate) fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

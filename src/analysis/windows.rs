//! Windowed criteria: `p95<200ms over 30s` must hold in every 30 s window of
//! the steady phase.
//!
//! Windows are consecutive, non-overlapping, `over` seconds long, starting at
//! the start of the steady window (see [`steady`](super::steady)); a last,
//! shorter window is dropped unless it is the only one. Per window:
//! * `rps`: requests in the window / its length, from the cumulative request
//!   count where the timeline has one (Locust history), else the mean of the
//!   per-second rates;
//! * `error_rate` / `errors`: failures over requests in the window, likewise;
//! * percentiles: the largest windowed percentile the tool reported inside the
//!   window (Locust's ~10 s "current" p95 with `--csv-full-history`, a Goose
//!   request log's per-second p95). Only p50 and p95 are in timelines.

use super::steady::steady_window;
use crate::format;
use crate::model::{Run, TimelinePoint};
use crate::targets::{Metric, Outcome, State, Target};

/// Evaluate a target that has `over N s`.
pub fn evaluate_windowed(run: &Run, target: &Target) -> Outcome {
    let e = &target.expr;
    let over = e.over_s.unwrap_or(0.0);
    let not = |why: String| Outcome {
        target: target.clone(),
        state: State::NotMeasured,
        measured: None,
        measured_text: "not measured".into(),
        detail: why,
        samples: None,
    };
    if !e.scope.is_empty() {
        return not(
            "windowed targets apply to all requests; the timeline has no per-endpoint series"
                .into(),
        );
    }
    let Some(steady) = steady_window(run) else {
        return not("a windowed target needs a timeline with user counts (Locust stats history or Goose history)".into());
    };
    let points: Vec<&TimelinePoint> = run
        .timeline
        .iter()
        .filter(|p| steady.contains(p.t))
        .collect();
    let mut windows = Vec::new();
    let mut start = steady.start;
    while start + over <= steady.end + 1e-9 || windows.is_empty() {
        let end = (start + over).min(steady.end);
        let inside: Vec<&TimelinePoint> = points
            .iter()
            .copied()
            .filter(|p| p.t >= start && p.t <= end)
            .collect();
        if let Some(v) = window_value(e.metric, &inside) {
            windows.push((start, end, v));
        }
        start += over;
        if end >= steady.end {
            break;
        }
    }
    if windows.is_empty() {
        return not(format!(
            "the timeline has no {} values in the steady window",
            e.metric.key()
        ));
    }
    let show = |v: f64| match e.metric {
        Metric::Rps => format::rps(v),
        Metric::ErrorRate => format::fraction(v),
        Metric::Errors => format!("{v:.0}"),
        _ => format::ms(v),
    };
    let first_bad = windows.iter().find(|(_, _, v)| !e.op.holds(*v, e.limit));
    match first_bad {
        Some(&(s, end, v)) => Outcome {
            target: target.clone(),
            state: if e.warn { State::Warned } else { State::Missed },
            measured: Some(v),
            measured_text: show(v),
            detail: format!(
                "first broken in the window {} to {} (+{:.0} s into the steady phase) of {} windows",
                format::time(s),
                format::time(end),
                s - steady.start,
                windows.len()
            ),
            samples: None,
        },
        None => {
            let worst = windows
                .iter()
                .map(|w| w.2)
                .fold(None, |acc: Option<f64>, v| {
                    Some(match acc {
                        None => v,
                        Some(a)
                            if matches!(e.op, crate::targets::Op::Gt | crate::targets::Op::Ge) =>
                        {
                            a.min(v)
                        }
                        Some(a) => a.max(v),
                    })
                })
                .unwrap_or(0.0);
            Outcome {
                target: target.clone(),
                state: State::Met,
                measured: Some(worst),
                measured_text: show(worst),
                detail: format!(
                    "held in all {} windows of {over:.0} s (worst shown)",
                    windows.len()
                ),
                samples: None,
            }
        }
    }
}

/// The metric's value over the points of one window.
pub fn window_value(metric: Metric, points: &[&TimelinePoint]) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    let span = last.t - first.t;
    let cumulative = |f: fn(&TimelinePoint) -> Option<u64>| -> Option<f64> {
        let (a, b) = (f(first)?, f(last)?);
        Some(b.saturating_sub(a) as f64)
    };
    match metric {
        Metric::Rps => {
            if span > 0.0
                && let Some(n) = cumulative(|p| p.total_requests)
            {
                return Some(n / span);
            }
            mean(points.iter().filter_map(|p| p.rps))
        }
        Metric::ErrorRate | Metric::Errors => {
            let (fails, reqs) = if span > 0.0 {
                match (
                    cumulative(|p| p.total_failures),
                    cumulative(|p| p.total_requests),
                ) {
                    (Some(f), Some(r)) => (f, r),
                    _ => sums(points),
                }
            } else {
                sums(points)
            };
            if metric == Metric::Errors {
                Some(fails)
            } else {
                (reqs > 0.0).then(|| fails / reqs)
            }
        }
        Metric::Percentile(50.0) => max(points.iter().filter_map(|p| p.p50_ms)),
        Metric::Percentile(95.0) => max(points.iter().filter_map(|p| p.p95_ms)),
        _ => None,
    }
}

fn sums(points: &[&TimelinePoint]) -> (f64, f64) {
    (
        points.iter().filter_map(|p| p.failures_per_s).sum(),
        points.iter().filter_map(|p| p.rps).sum(),
    )
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| s / n as f64)
}

fn max(v: impl Iterator<Item = f64>) -> Option<f64> {
    v.fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))))
}

//! Windowed criteria: `p95<200ms over 30s` must hold in every 30 s window of
//! the steady phase.
//!
//! Windows are consecutive, non-overlapping and `over` seconds long, starting
//! at the start of the steady window (see [`steady`](super::steady)). When the
//! steady phase is not a whole number of windows, one more full-length window
//! is laid to **end** at the end of the steady phase (overlapping the one
//! before it), so that the tail of the run is checked too: dropping it would
//! leave up to `over` seconds unchecked, which is where a slow leak shows.
//! When the steady phase is shorter than `over`, it is the only window.
//!
//! Per window:
//! * `rps`: requests in the window / its length, from the cumulative request
//!   count where the timeline has one (Locust history), else the mean of the
//!   per-second rates;
//! * `error_rate` / `errors`: failures over requests in the window, likewise;
//! * percentiles: the largest windowed percentile the tool reported for a
//!   stretch of time **inside** the window. Locust's history (with
//!   `--csv-full-history`) gives at each tick the p50/p95 of about the last
//!   10 s, so only ticks at least 10 s after the window's start count: the
//!   first tick of a window would otherwise speak for the 10 s before it
//!   (ramp-up, for the first window). The largest of those 10 s percentiles is
//!   an upper bound of the window's percentile, never an average of
//!   percentiles. Only p50 and p95 are in timelines.

use super::steady::steady_window;
use crate::format;
use crate::model::{Run, TimelinePoint, Tool, Window};
use crate::targets::{Metric, Op, Outcome, State, Target};

/// How many seconds before its tick a timeline's windowed percentile covers.
fn percentile_lookback_s(run: &Run) -> f64 {
    match run.tool {
        // `get_current_response_time_percentile`: the last ~10 s
        Tool::Locust => 10.0,
        // per-second values cover their own second
        Tool::Goose => 0.0,
    }
}

/// Most windows a windowed target is evaluated over (a day in 1 s windows is 86,400).
const MAX_WINDOWS: usize = 1_000_000;

/// The windows of `over` seconds laid over the steady phase (see the module docs).
pub fn windows(steady: Window, over: f64) -> Vec<Window> {
    let length = steady.seconds();
    if over <= 0.0 || length <= over + 1e-9 {
        return vec![steady];
    }
    let whole = ((length + 1e-9) / over).floor() as usize;
    let mut out: Vec<Window> = (0..whole)
        .map(|i| {
            let start = steady.start + i as f64 * over;
            Window {
                start,
                end: start + over,
            }
        })
        .collect();
    if out.last().is_some_and(|w| w.end < steady.end - 1e-9) {
        out.push(Window {
            start: steady.end - over,
            end: steady.end,
        });
    }
    out
}

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
    let lookback = match e.metric {
        Metric::Percentile(_) => percentile_lookback_s(run),
        _ => 0.0,
    };
    // windows are laid one by one; a steady phase read from an absurd
    // timestamp must not allocate or scan without bound
    if over > 0.0 && steady.seconds() / over > MAX_WINDOWS as f64 {
        return not(format!(
            "the steady phase ({:.0} s) holds more than {MAX_WINDOWS} windows of {over} s; check the input's timestamps",
            steady.seconds()
        ));
    }
    let laid = windows(steady, over);
    let mut values: Vec<(Window, f64)> = Vec::new();
    for w in &laid {
        let inside: Vec<&TimelinePoint> = run
            .timeline
            .iter()
            .filter(|p| p.t >= w.start + lookback - 1e-9 && p.t <= w.end + 1e-9)
            .collect();
        if let Some(v) = window_value(e.metric, &inside) {
            values.push((*w, v));
        }
    }
    if values.is_empty() {
        let why = if lookback > 0.0 && over < lookback {
            format!(
                "{}'s timeline percentiles each cover about {lookback:.0} s, longer than the {over:.0} s window",
                run.tool
            )
        } else {
            format!(
                "the timeline has no {} values in the steady window (Locust: percentiles need --csv-full-history)",
                e.metric.key()
            )
        };
        return not(why);
    }
    let show = |v: f64| match e.metric {
        Metric::Rps => format::rps(v),
        Metric::ErrorRate => format::fraction(v),
        Metric::Errors => format!("{v:.0}"),
        _ => format::ms(v),
    };
    let higher_is_better = matches!(e.op, Op::Gt | Op::Ge);
    let worst = values
        .iter()
        .map(|w| w.1)
        .reduce(|a, v| if higher_is_better { a.min(v) } else { a.max(v) })
        .unwrap_or(0.0);
    let unchecked = laid.len() - values.len();
    let unchecked_note = if unchecked > 0 {
        format!("; {unchecked} window(s) without data")
    } else {
        String::new()
    };
    let short_note = if steady.seconds() < over - 1e-9 {
        format!(
            "; the steady phase ({:.0} s) is shorter than the window",
            steady.seconds()
        )
    } else {
        String::new()
    };
    let bad: Vec<&(Window, f64)> = values
        .iter()
        .filter(|(_, v)| !e.op.holds(*v, e.limit))
        .collect();
    match bad.first() {
        Some(&&(w, v)) => Outcome {
            target: target.clone(),
            state: if e.warn { State::Warned } else { State::Missed },
            measured: Some(v),
            measured_text: show(v),
            detail: format!(
                "first broken in the window {} to {} (+{:.0} s into the steady phase, {} there); {} of {} windows of {over:.0} s broke, worst {}{unchecked_note}{short_note}",
                format::time(w.start),
                format::time(w.end),
                w.start - steady.start,
                show(v),
                bad.len(),
                values.len(),
                show(worst),
            ),
            samples: None,
        },
        None => Outcome {
            target: target.clone(),
            state: State::Met,
            measured: Some(worst),
            measured_text: show(worst),
            detail: format!(
                "held in all {} windows of {over:.0} s from {} (worst shown){unchecked_note}{short_note}",
                values.len(),
                format::time(steady.start),
            ),
            samples: None,
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start: f64, end: f64) -> Window {
        Window { start, end }
    }

    #[test]
    fn windows_tile_the_steady_phase_and_the_tail_is_checked() {
        // 57 s in 30 s windows: [0,30] and a last one ending at 57
        assert_eq!(
            windows(w(0.0, 57.0), 30.0),
            vec![w(0.0, 30.0), w(27.0, 57.0)]
        );
        // exact multiple: no extra window
        assert_eq!(
            windows(w(10.0, 70.0), 30.0),
            vec![w(10.0, 40.0), w(40.0, 70.0)]
        );
        // shorter than one window: the steady phase itself
        assert_eq!(windows(w(0.0, 20.0), 30.0), vec![w(0.0, 20.0)]);
    }

    fn point(t: f64, p95: Option<f64>, total: u64) -> TimelinePoint {
        TimelinePoint {
            t,
            users: Some(10),
            p95_ms: p95,
            total_requests: Some(total),
            total_failures: Some(0),
            ..TimelinePoint::default()
        }
    }

    #[test]
    fn a_window_value_from_cumulative_counts_and_windowed_percentiles() {
        let pts = [
            point(0.0, Some(100.0), 0),
            point(10.0, Some(300.0), 50),
            point(20.0, Some(200.0), 150),
        ];
        let refs: Vec<&TimelinePoint> = pts.iter().collect();
        // (150 - 0) requests over 20 s
        assert_eq!(window_value(Metric::Rps, &refs), Some(7.5));
        assert_eq!(window_value(Metric::Percentile(95.0), &refs), Some(300.0));
        assert_eq!(window_value(Metric::Percentile(99.0), &refs), None);
        assert_eq!(window_value(Metric::ErrorRate, &refs), Some(0.0));
    }
}

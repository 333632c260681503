//! Windowed criteria: `p95<200ms over 30s` must hold in every 30 s window of
//! the steady phase; `p95<200ms for 30s` fails only when the target is
//! breached continuously for at least 30 s.
//!
//! Windows are consecutive, non-overlapping and `over` seconds long, starting
//! at the start of the steady window (see [`steady`](super::steady)). When the
//! steady phase is not a whole number of windows, one more full-length window
//! is laid to **end** at the end of the steady phase (overlapping the one
//! before it), so that the tail of the run is checked too: dropping it would
//! leave up to `over` seconds unchecked, which is where a slow leak shows, and
//! a shorter last window would not be an `over`-long window.
//! When the steady phase is shorter than `over`, it is the only window.
//!
//! Two kinds of timeline:
//!
//! * **Per second** (Goose: a request log, or report.json with
//!   `--report-graph-data`): one point per whole second of test time, holding
//!   that second's requests, failures and, where the input has them, the
//!   latencies of its requests ([`PointLatency`]). Windows are laid over whole
//!   seconds (the steady phase's start and end rounded to the nearest second of
//!   test time) and a window's percentile is computed from the requests **in
//!   it**: exactly from a request log (3 significant digits), at bucket
//!   precision from Goose's heatmap (the verdict takes the bucket edge that is
//!   worse for the target, so it is never optimistic).
//! * **Ticks** (Locust's stats history): cumulative counts and, with
//!   `--csv-full-history`, Locust's own rolling percentiles. Locust computes
//!   those (`get_current_response_time_percentile`) from the difference of its
//!   cumulative histogram now and a cached copy from about 10 s before (its
//!   `response_times_cache`), so a tick's percentile covers roughly the last
//!   10 s. A window's percentile is then the largest tick value whose 10 s lie
//!   inside the window: the p-th percentile of a union of stretches is never
//!   above the largest of theirs, so this is an upper bound of the window's
//!   percentile, exact only for a 10 s window; the outcome says so.
//!
//! `rps`, `error_rate` and `errors` of a window come from the counts in it.

use super::steady::steady_window;
use crate::format;
use crate::latency::{bucket_quantile, exact_quantile};
use crate::model::{PointLatency, Run, TimelinePoint, Tool, Window};
// the leaf modules only: `targets::evaluate` calls into this module
use crate::targets::expr::{Metric, Op};
use crate::targets::types::{Outcome, State, Target};
use std::collections::BTreeMap;

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

/// Where test time starts (for naming windows) and whether wall time is known.
fn test_origin(run: &Run) -> (f64, bool) {
    if run.relative_times {
        return (0.0, false);
    }
    match run.steps.first().map(|s| s.start).or(run.started) {
        Some(t) => (t, true),
        None => (run.timeline.first().map_or(0.0, |p| p.t), false),
    }
}

/// `+3 s to +13 s into the test (2026-12-01T22:01:31Z to 2026-12-01T22:01:41Z)`,
/// the wall time only when the run's start is known.
pub fn name_span(run: &Run, start: f64, end: f64) -> String {
    let (origin, wall) = test_origin(run);
    let rel = format!(
        "+{} s to +{} s into the test",
        trim_s(start - origin),
        trim_s(end - origin)
    );
    if wall {
        format!("{rel} ({} to {})", format::time(start), format::time(end))
    } else {
        rel
    }
}

fn trim_s(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if (r - r.round()).abs() < 1e-9 {
        format!("{:.0}", r)
    } else {
        format!("{r:.1}")
    }
}

/// A measured value of a window or a second, with what the verdict compares.
#[derive(Debug, Clone, Copy)]
struct Value {
    /// What the verdict compares (for a bucket: its edge worse for the target).
    judged: f64,
    /// Bucket bounds, when the value is only known to a bucket.
    bucket: Option<(f64, f64)>,
    /// Requests behind the value, when known.
    samples: Option<u64>,
}

impl Value {
    fn plain(v: f64, samples: Option<u64>) -> Self {
        Value {
            judged: v,
            bucket: None,
            samples,
        }
    }
}

/// The percentile of the requests of some seconds, from their latencies.
/// `None` when none of them has requests with latencies.
fn percentile_of(points: &[&TimelinePoint], p: f64, op: Op) -> Option<Value> {
    let q = p / 100.0;
    let mut exact: BTreeMap<u64, u64> = BTreeMap::new();
    let mut buckets: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for pt in points {
        match &pt.latency {
            Some(PointLatency::Exact(v)) => {
                for (k, c) in v {
                    *exact.entry(k).or_insert(0) += c as u64;
                }
            }
            Some(PointLatency::Buckets(v)) => {
                for &(lo, hi, c) in v {
                    *buckets.entry((lo, hi)).or_insert(0) += c as u64;
                }
            }
            None => {}
        }
    }
    if !exact.is_empty() {
        let n = exact.values().sum();
        let sorted: Vec<(u64, u64)> = exact.into_iter().collect();
        return exact_quantile(&sorted, q).map(|us| Value::plain(us as f64 / 1000.0, Some(n)));
    }
    if buckets.is_empty() {
        return None;
    }
    let n = buckets.values().sum();
    let sorted: Vec<(u64, u64, u64)> = buckets.into_iter().map(|((a, b), c)| (a, b, c)).collect();
    let (lo, hi) = bucket_quantile(&sorted, q)?;
    let (lo, hi) = (lo as f64 / 1000.0, hi as f64 / 1000.0);
    let judged = match op {
        Op::Lt | Op::Le => hi,
        Op::Gt | Op::Ge => lo,
        Op::Eq => (lo + hi) / 2.0,
    };
    Some(Value {
        judged,
        bucket: Some((lo, hi)),
        samples: Some(n),
    })
}

/// The p-th percentile (ms) of the requests of some timeline points, from
/// their per-second latencies (exact, or a Goose heatmap bucket: then its
/// upper edge, so that a `<` target is never judged optimistically).
/// `None` when the points carry no latencies.
pub fn merged_percentile_ms(points: &[&TimelinePoint], p: f64) -> Option<f64> {
    percentile_of(points, p, Op::Lt).map(|v| v.judged)
}

/// The value of a metric over some whole seconds.
fn seconds_value(metric: Metric, op: Op, points: &[&TimelinePoint], seconds: f64) -> Option<Value> {
    let requests: f64 = points.iter().filter_map(|p| p.rps).sum();
    let any_counts = points.iter().any(|p| p.rps.is_some());
    match metric {
        Metric::Percentile(p) => percentile_of(points, p, op),
        Metric::Rps => (any_counts && seconds > 0.0)
            .then(|| Value::plain(requests / seconds, Some(requests as u64))),
        Metric::Errors => {
            let f = points.iter().filter_map(|p| p.failures_per_s).sum();
            any_counts.then(|| Value::plain(f, Some(requests as u64)))
        }
        Metric::ErrorRate => {
            let f: f64 = points.iter().filter_map(|p| p.failures_per_s).sum();
            (requests > 0.0).then(|| Value::plain(f / requests, Some(requests as u64)))
        }
        _ => None,
    }
}

/// The per-second kind of timeline (see the module docs).
fn per_second(run: &Run) -> bool {
    run.tool == Tool::Goose
}

/// The steady phase snapped to whole seconds of the per-second timeline.
fn snapped_steady(run: &Run, steady: Window) -> Option<Window> {
    let base = run.timeline.first()?.t;
    let snap = |x: f64| base + (x - base).round();
    let mut end = snap(steady.end);
    if run.measured_window.is_none() {
        // the peak-users window ends at the start of its last second
        end += 1.0;
    }
    let start = snap(steady.start);
    (end > start).then_some(Window { start, end })
}

/// A window and the value its verdict compares (`None`: no requests in it).
pub type WindowValue = (Window, Option<f64>);

/// For a per-second timeline (Goose), the snapped steady phase and the
/// windows an `over` target is judged on, each with the value its verdict
/// compares (`None`: no requests in it). `None` for other timelines or
/// without a steady phase.
pub fn per_second_windows(run: &Run, target: &Target) -> Option<(Window, Vec<WindowValue>)> {
    if !per_second(run) {
        return None;
    }
    let e = &target.expr;
    let steady = snapped_steady(run, steady_window(run)?)?;
    let over = e.over_s?.round().max(1.0);
    let out = windows(steady, over)
        .into_iter()
        .map(|w| {
            let inside: Vec<&TimelinePoint> = run
                .timeline
                .iter()
                .filter(|p| p.t >= w.start - 1e-6 && p.t < w.end - 1e-6)
                .collect();
            (
                w,
                seconds_value(e.metric, e.op, &inside, w.seconds()).map(|v| v.judged),
            )
        })
        .collect();
    Some((steady, out))
}

/// Evaluate a target that has `over N s` or `for N s`.
pub fn evaluate_windowed(run: &Run, target: &Target) -> Outcome {
    let e = &target.expr;
    let not = |why: String| not_measured(target, why);
    if !e.scope.is_empty() {
        return not(
            "windowed targets apply to all requests; the timeline has no per-endpoint series"
                .into(),
        );
    }
    // the timeline counts every request: an API (HTTP-only) target can use it
    // only when the run has no request the target leaves out
    if let Some((name, _)) = target.exclude.iter().find(|(_, s)| {
        run.endpoints
            .iter()
            .any(|ep| ep.requests > 0 && s.matches(&ep.kind, &ep.name))
    }) {
        return not(format!(
            "the timeline covers all requests, and this run also has {name} requests that an HTTP-only target leaves out; the timeline has no per-endpoint series, so this windowed figure would mix them in"
        ));
    }
    let Some(steady) = steady_window(run) else {
        return not("a windowed target needs a timeline with user counts (Locust stats history, a Goose request log or Goose report.json written with --report-graph-data)".into());
    };
    // windows (and for-D seconds) are laid one by one; a steady phase read
    // from an absurd timestamp must not allocate or scan without bound
    let step = e.over_s.or(e.for_s).unwrap_or(0.0).max(1.0);
    if steady.seconds() / step > MAX_WINDOWS as f64 {
        return not(format!(
            "the steady phase ({:.0} s) holds more than {MAX_WINDOWS} windows of {step} s; check the input's timestamps",
            steady.seconds()
        ));
    }
    if per_second(run) {
        let Some(steady) = snapped_steady(run, steady) else {
            return not("the steady phase is shorter than a second".into());
        };
        if let Some(d) = e.for_s {
            return sustained_breach_per_second(run, target, steady, d);
        }
        return over_per_second(run, target, steady);
    }
    if let Some(d) = e.for_s {
        return sustained_breach_ticks(run, target, steady, d);
    }
    over_ticks(run, target, steady)
}

fn show_value(metric: Metric, v: &Value) -> String {
    if let Some((lo, hi)) = v.bucket {
        return format!("{}–{}", format::ms(lo), format::ms(hi));
    }
    show(metric, v.judged)
}

fn show(metric: Metric, v: f64) -> String {
    match metric {
        Metric::Rps => format::rps(v),
        Metric::ErrorRate => format::fraction(v),
        Metric::Errors => format!("{v:.0}"),
        _ => format::ms(v),
    }
}

/// The basis sentence of per-second values.
fn per_second_basis(run: &Run, metric: Metric, points: &[&TimelinePoint]) -> String {
    let seconds = "seconds are whole seconds of test time by request send time";
    if !matches!(metric, Metric::Percentile(_)) {
        return format!("{seconds}; counts from the {} per second", source_name(run));
    }
    let heat = points
        .iter()
        .any(|p| matches!(p.latency, Some(PointLatency::Buckets(_))));
    if heat {
        format!(
            "{seconds}; percentiles from the requests of each window (or second), merged from Goose's per-second heatmap buckets (shown as the bucket; the verdict takes the bucket edge worse for the target)"
        )
    } else {
        format!(
            "{seconds}; percentiles from the exact times of the requests of each window (or second) (HdrHistogram, 3 significant digits, ±0.1 %)"
        )
    }
}

fn source_name(run: &Run) -> &'static str {
    if run
        .timeline
        .iter()
        .any(|p| matches!(p.latency, Some(PointLatency::Exact(_))))
    {
        "request log"
    } else {
        "report's graph data"
    }
}

/// A windowed target that could not be measured, and why.
fn not_measured(target: &Target, why: String) -> Outcome {
    Outcome {
        target: target.clone(),
        state: State::NotMeasured,
        measured: None,
        measured_text: "not measured".into(),
        detail: why,
        samples: None,
    }
}

/// Why the per-second timeline has nothing for this metric.
fn per_second_missing(run: &Run, metric: Metric) -> String {
    if matches!(metric, Metric::Percentile(_)) {
        no_latency_reason(run)
    } else {
        "the timeline has no per-second counts in the steady phase".into()
    }
}

/// Why the timeline has no per-second latencies, naming the input that has them.
fn no_latency_reason(run: &Run) -> String {
    format!(
        "{} has no per-second latencies: windowed percentiles need a Goose request log or report.json written with --report-graph-data (its heatmap)",
        if run.timeline.iter().any(|p| p.rps.is_some()) {
            "the timeline"
        } else {
            "the input"
        }
    )
}

fn over_per_second(run: &Run, target: &Target, steady: Window) -> Outcome {
    let e = &target.expr;
    let over = e.over_s.unwrap_or(0.0).round().max(1.0);
    let laid = windows(steady, over);
    let mut values: Vec<(Window, Value)> = Vec::new();
    let mut all_points: Vec<&TimelinePoint> = Vec::new();
    for w in &laid {
        let inside: Vec<&TimelinePoint> = run
            .timeline
            .iter()
            .filter(|p| p.t >= w.start - 1e-6 && p.t < w.end - 1e-6)
            .collect();
        all_points.extend(inside.iter().copied());
        if let Some(v) = seconds_value(e.metric, e.op, &inside, w.seconds()) {
            values.push((*w, v));
        }
    }
    if values.is_empty() {
        let why = per_second_missing(run, e.metric);
        return not_measured(target, why);
    }
    let basis = format!(
        "windows of {} from the start of the steady phase ({}); {}",
        format::duration(over),
        name_span(run, steady.start, steady.end),
        per_second_basis(run, e.metric, &all_points)
    );
    verdict(run, target, steady, over, &laid, values, basis)
}

fn over_ticks(run: &Run, target: &Target, steady: Window) -> Outcome {
    let e = &target.expr;
    let over = e.over_s.unwrap_or(0.0);
    let lookback = match e.metric {
        Metric::Percentile(_) => percentile_lookback_s(run),
        _ => 0.0,
    };
    let laid = windows(steady, over);
    let mut values: Vec<(Window, Value)> = Vec::new();
    let sorted = run.timeline.windows(2).all(|w| w[0].t <= w[1].t);
    for w in &laid {
        let inside = points_between(
            &run.timeline,
            w.start + lookback - 1e-9,
            w.end + 1e-9,
            sorted,
        );
        if let Some(v) = window_value(e.metric, &inside) {
            values.push((*w, Value::plain(v, None)));
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
        return not_measured(target, why);
    }
    let basis = if lookback > 0.0 {
        let approx = if (over - lookback).abs() < 0.5 {
            "each window's value is Locust's own rolling percentile at the window's end, which covers about the window".to_string()
        } else {
            format!(
                "approximation: Locust's history holds only its own rolling ~{lookback:.0} s percentiles (get_current_response_time_percentile), not the requests, so each {} window takes the largest of those that lie inside it, an upper bound of the window's {}",
                format::duration(over),
                e.metric.key()
            )
        };
        format!(
            "windows of {} from the start of the steady phase ({}); {approx}",
            format::duration(over),
            name_span(run, steady.start, steady.end)
        )
    } else {
        format!(
            "windows of {} from the start of the steady phase ({}); counts from the stats history's cumulative totals",
            format::duration(over),
            name_span(run, steady.start, steady.end)
        )
    };
    verdict(run, target, steady, over, &laid, values, basis)
}

/// The points with `lo <= t <= hi`. A day of ticks laid in 15 s windows is
/// 5,760 windows over 86,400 points: scanning the whole timeline for each
/// window is quadratic, so a timeline in time order (a stats history is: its
/// reader refuses one that runs backwards) is cut by binary search instead.
fn points_between(
    timeline: &[TimelinePoint],
    lo: f64,
    hi: f64,
    sorted: bool,
) -> Vec<&TimelinePoint> {
    if sorted {
        let a = timeline.partition_point(|p| p.t < lo);
        let b = timeline.partition_point(|p| p.t <= hi).max(a);
        timeline[a..b].iter().collect()
    } else {
        timeline.iter().filter(|p| p.t >= lo && p.t <= hi).collect()
    }
}

/// The outcome of `over` windows from their values.
fn verdict(
    run: &Run,
    target: &Target,
    steady: Window,
    over: f64,
    laid: &[Window],
    values: Vec<(Window, Value)>,
    basis: String,
) -> Outcome {
    let e = &target.expr;
    let higher_is_better = matches!(e.op, Op::Gt | Op::Ge);
    let worst = values
        .iter()
        .map(|w| w.1)
        .reduce(|a, v| {
            let better = if higher_is_better {
                v.judged < a.judged
            } else {
                v.judged > a.judged
            };
            if better { v } else { a }
        })
        .unwrap_or(Value::plain(0.0, None));
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
    let bad: Vec<&(Window, Value)> = values
        .iter()
        .filter(|(_, v)| !e.op.holds(v.judged, e.limit))
        .collect();
    match bad.first() {
        Some(&&(w, v)) => {
            let list: Vec<String> = bad
                .iter()
                .take(5)
                .map(|(w, v)| {
                    format!(
                        "{} {}",
                        name_span(run, w.start, w.end),
                        show_value(e.metric, v)
                    )
                })
                .collect();
            Outcome {
                target: target.clone(),
                state: if e.warn { State::Warned } else { State::Missed },
                measured: Some(v.judged),
                measured_text: show_value(e.metric, &v),
                detail: format!(
                    "first broken in the window {} ({} there); {} of {} windows of {} broke, worst {}{}{unchecked_note}{short_note}; {basis}",
                    name_span(run, w.start, w.end),
                    show_value(e.metric, &v),
                    bad.len(),
                    values.len(),
                    format::duration(over),
                    show_value(e.metric, &worst),
                    if bad.len() > 1 {
                        format!(
                            " (broken: {}{})",
                            list.join("; "),
                            if bad.len() > 5 { "; ..." } else { "" }
                        )
                    } else {
                        String::new()
                    },
                ),
                samples: v.samples,
            }
        }
        None => Outcome {
            target: target.clone(),
            state: State::Met,
            measured: Some(worst.judged),
            measured_text: show_value(e.metric, &worst),
            detail: format!(
                "held in all {} windows of {} (worst shown){unchecked_note}{short_note}; {basis}",
                values.len(),
                format::duration(over),
            ),
            samples: worst.samples,
        },
    }
}

/// A maximal stretch of breaching points: start, end, worst value.
#[derive(Debug, Clone, Copy)]
struct Stretch {
    start: f64,
    end: f64,
    worst: Value,
}

/// Stretches of consecutive breaching points. Each point covers `[t, t + dt)`;
/// a point without a value neither breaks nor extends a stretch, one that
/// holds ends it.
fn breach_stretches(points: &[(f64, f64, Option<Value>)], op: Op, limit: f64) -> Vec<Stretch> {
    let higher_is_better = matches!(op, Op::Gt | Op::Ge);
    let mut out: Vec<Stretch> = Vec::new();
    let mut open: Option<Stretch> = None;
    for &(t, dt, v) in points {
        let Some(v) = v else { continue };
        if op.holds(v.judged, limit) {
            out.extend(open.take());
            continue;
        }
        open = Some(match open {
            None => Stretch {
                start: t,
                end: t + dt,
                worst: v,
            },
            Some(s) => {
                let worse = if higher_is_better {
                    v.judged < s.worst.judged
                } else {
                    v.judged > s.worst.judged
                };
                Stretch {
                    start: s.start,
                    end: t + dt,
                    worst: if worse { v } else { s.worst },
                }
            }
        });
    }
    out.extend(open);
    out
}

fn sustained_breach_per_second(run: &Run, target: &Target, steady: Window, d: f64) -> Outcome {
    let e = &target.expr;
    let inside: Vec<&TimelinePoint> = run
        .timeline
        .iter()
        .filter(|p| p.t >= steady.start - 1e-6 && p.t < steady.end - 1e-6)
        .collect();
    let series: Vec<(f64, f64, Option<Value>)> = inside
        .iter()
        .map(|p| {
            let one = [*p];
            let v = match e.metric {
                // a second without requests has no latency, no error rate
                Metric::Percentile(_) | Metric::ErrorRate => {
                    seconds_value(e.metric, e.op, &one, 1.0)
                }
                _ => p.rps.and_then(|_| seconds_value(e.metric, e.op, &one, 1.0)),
            };
            (p.t, 1.0, v)
        })
        .collect();
    let basis = format!(
        "judged per second of the steady phase ({}); {}; a second without requests neither breaks nor extends a breach",
        name_span(run, steady.start, steady.end),
        per_second_basis(run, e.metric, &inside)
    );
    if series.iter().all(|s| s.2.is_none()) {
        let why = per_second_missing(run, e.metric);
        return not_measured(target, why);
    }
    sustained_verdict(run, target, &series, d, basis)
}

fn sustained_breach_ticks(run: &Run, target: &Target, steady: Window, d: f64) -> Outcome {
    let e = &target.expr;
    let ticks: Vec<&TimelinePoint> = run
        .timeline
        .iter()
        .filter(|p| p.t >= steady.start - 1e-9 && p.t <= steady.end + 1e-9)
        .collect();
    let mut gaps: Vec<f64> = ticks.windows(2).map(|w| w[1].t - w[0].t).collect();
    gaps.sort_by(f64::total_cmp);
    let typical = gaps.get(gaps.len() / 2).copied().unwrap_or(1.0);
    let series: Vec<(f64, f64, Option<Value>)> = ticks
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let dt = ticks.get(i + 1).map_or(typical, |n| n.t - p.t);
            let v = match e.metric {
                Metric::Percentile(50.0) => p.p50_ms,
                Metric::Percentile(95.0) => p.p95_ms,
                Metric::Percentile(99.0) => p.p99_ms,
                Metric::Rps => p.rps,
                Metric::ErrorRate => match (p.failures_per_s, p.rps) {
                    (Some(f), Some(r)) if r > 0.0 => Some(f / r),
                    _ => None,
                },
                _ => None,
            }
            // Locust writes 0 for a percentile it has no window data for
            .filter(|v| !(matches!(e.metric, Metric::Percentile(_)) && *v <= 0.0));
            (p.t, dt, v.map(|v| Value::plain(v, None)))
        })
        .collect();
    if series.iter().all(|s| s.2.is_none()) {
        return not_measured(
            target,
            format!(
                "the timeline has no {} values in the steady window (Locust: percentiles need --csv-full-history)",
                e.metric.key()
            ),
        );
    }
    let basis = format!(
        "judged per stats-history tick of the steady phase ({}) on Locust's own current values{}; a tick stands for the time to the next one",
        name_span(run, steady.start, steady.end),
        if matches!(e.metric, Metric::Percentile(_)) {
            " (rolling percentiles of about the last 10 s, so a breach shows up to ~10 s late and lingers as long)"
        } else {
            " (Locust's current rate over a ~10 s window)"
        }
    );
    sustained_verdict(run, target, &series, d, basis)
}

fn sustained_verdict(
    run: &Run,
    target: &Target,
    series: &[(f64, f64, Option<Value>)],
    d: f64,
    basis: String,
) -> Outcome {
    let e = &target.expr;
    let stretches = breach_stretches(series, e.op, e.limit);
    let longest = stretches
        .iter()
        .copied()
        .max_by(|a, b| (a.end - a.start).total_cmp(&(b.end - b.start)));
    let failing: Vec<&Stretch> = stretches
        .iter()
        .filter(|s| s.end - s.start >= d - 1e-9)
        .collect();
    let higher_is_better = matches!(e.op, Op::Gt | Op::Ge);
    let worst = series
        .iter()
        .filter_map(|s| s.2)
        .reduce(|a, v| {
            let worse = if higher_is_better {
                v.judged < a.judged
            } else {
                v.judged > a.judged
            };
            if worse { v } else { a }
        })
        .unwrap_or(Value::plain(0.0, None));
    match failing.first() {
        Some(s) => Outcome {
            target: target.clone(),
            state: if e.warn { State::Warned } else { State::Missed },
            measured: Some(s.worst.judged),
            measured_text: show_value(e.metric, &s.worst),
            detail: format!(
                "breached continuously for {} from {} (worst {} there), at least {} in a row fails; {} of {} breach(es) lasted that long; {basis}",
                format::duration(s.end - s.start),
                name_span(run, s.start, s.end),
                show_value(e.metric, &s.worst),
                format::duration(d),
                failing.len(),
                stretches.len(),
            ),
            samples: s.worst.samples,
        },
        None => Outcome {
            target: target.clone(),
            state: State::Met,
            measured: Some(worst.judged),
            measured_text: show_value(e.metric, &worst),
            detail: match longest {
                Some(l) => format!(
                    "breached {} time(s), never for {} in a row: longest {} from {} (worst value shown); {basis}",
                    stretches.len(),
                    format::duration(d),
                    format::duration(l.end - l.start),
                    name_span(run, l.start, l.end),
                ),
                None => format!("never breached (worst value shown); {basis}"),
            },
            samples: worst.samples,
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
    fn points_between_cuts_a_sorted_timeline_as_a_scan_would() {
        // repeated seconds (a clock step) and bounds on and between ticks
        let ts = [0.0, 1.0, 1.0, 2.0, 3.5, 4.0, 4.0, 9.0];
        let timeline: Vec<TimelinePoint> = ts
            .iter()
            .map(|&t| TimelinePoint {
                t,
                ..Default::default()
            })
            .collect();
        for lo in [-1.0, 0.0, 0.5, 1.0, 3.9, 4.0, 9.0, 10.0] {
            for hi in [-0.5, 0.0, 1.0, 2.5, 4.0, 8.9, 9.0, 20.0] {
                let by_search: Vec<f64> = super::points_between(&timeline, lo, hi, true)
                    .iter()
                    .map(|p| p.t)
                    .collect();
                let by_scan: Vec<f64> = ts
                    .iter()
                    .copied()
                    .filter(|t| *t >= lo && *t <= hi)
                    .collect();
                assert_eq!(by_search, by_scan, "[{lo}, {hi}]");
            }
        }
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

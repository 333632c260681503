//! Targets and their evaluation into a [`Verdict`].
//!
//! A target is a [`TargetExpr`] (`p95<200ms`, `p95{type:WS}<50ms`, ...). Each
//! comes out met, warned, missed or not measured, with the measured value and
//! where it came from, or the reason it could not be measured. A percentile of a
//! group of endpoints comes from merged histograms; from CSV columns alone it
//! is bounded, and the target is decided from the bounds when they suffice.

pub mod expr;
pub mod file;
pub mod types;

pub use expr::{Metric, Op, Scope, TargetExpr};
pub use types::{Counts, Outcome, ResourceFigures, State, Target, Verdict};

use crate::analysis::steady;
use crate::error::Result;
use crate::format;
use crate::latency::{Latency, Percentile};
use crate::model::{Endpoint, Run};

/// The reference report's target table, as expressions, with the row title it
/// fills in the report.
pub const DEFAULT_TARGETS: &[(&str, &str)] = &[
    ("API Response Time (p95)", "p95<200ms"),
    ("API Response Time (p99)", "p99<500ms"),
    ("Throughput", "rps>=100"),
    ("WebSocket Latency", "p95{type:WS}<50ms"),
    ("Database Queries (p95)", "p95{type:DB}<50ms"),
    ("Memory Usage (idle)", "rss_idle<512MiB"),
    ("Memory Usage (load)", "rss_load<1GiB"),
    ("CPU Usage (normal)", "cpu_load<50%"),
];

/// Default targets that cover HTTP requests only (the API rows).
const API_TITLES: &[&str] = &["API Response Time (p95)", "API Response Time (p99)"];

/// What the API targets leave out by default: request types with targets of
/// their own.
fn non_http() -> Vec<(String, Scope)> {
    [
        ("WebSocket (type WS)", "type:WS"),
        ("database (type DB)", "type:DB"),
    ]
    .iter()
    .map(|(n, s)| {
        (
            (*n).to_string(),
            expr::parse_scope(s).expect("built-in scopes parse"),
        )
    })
    .collect()
}

/// Leave a config's request groups out of the API targets as well: each has
/// its own section.
pub fn exclude_groups(targets: &mut [Target], groups: &[(String, Scope)]) {
    for t in targets.iter_mut().filter(|t| t.is_api()) {
        for (name, scope) in groups {
            if !t.exclude.iter().any(|(_, s)| s == scope) {
                t.exclude
                    .push((format!("group {name} ({scope})"), scope.clone()));
            }
        }
    }
}

/// The default targets.
pub fn default_targets() -> Vec<Target> {
    DEFAULT_TARGETS
        .iter()
        .map(|(title, text)| Target {
            title: (*title).to_string(),
            expr: expr::parse(text).expect("default targets parse"),
            exclude: if API_TITLES.contains(title) {
                non_http()
            } else {
                Vec::new()
            },
        })
        .collect()
}

/// Defaults with user targets applied: a user target replaces the default of
/// the same metric and scope (keeping its row title); others are added.
pub fn with_overrides(targets: Vec<Target>, overrides: &[TargetExpr]) -> Vec<Target> {
    with_titled_overrides(
        targets,
        overrides
            .iter()
            .map(|o| Target::new(o.text.clone(), o.clone())),
    )
}

/// [`with_overrides`] for targets that carry their own row title (a config's
/// `[targets]` keys): a replaced default keeps its title, a replaced user
/// target (titled by its text) takes the new title. A replaced API target
/// keeps covering HTTP requests only: `p95<150ms` sets the API row's limit.
///
/// A target given here replaces the one of the same metric, scope and tier
/// that it was given over, whatever its window (`p95<200ms over 30s`
/// replaces the default `p95<200ms`), once: targets given together in one
/// call stand side by side unless they are the same target, so `p95<300ms`
/// with `p95<200ms over 30s` checks both.
pub fn with_titled_overrides(
    mut targets: Vec<Target>,
    overrides: impl IntoIterator<Item = Target>,
) -> Vec<Target> {
    let given = targets.len();
    let mut replaced = vec![false; given];
    for o in overrides {
        let same = targets.iter().position(|t| t.expr.same_target(&o.expr));
        let like =
            || (0..given).find(|&i| !replaced[i] && targets[i].expr.same_metric_and_scope(&o.expr));
        if let Some(i) = same.or_else(like) {
            if i < given {
                replaced[i] = true;
            }
            let t = &mut targets[i];
            if t.title == t.expr.text {
                t.title = o.title;
            }
            t.expr = o.expr;
        } else {
            targets.push(o);
        }
    }
    targets
}

/// Parse `--target` expressions.
/// Relative targets (`... vs baseline`) are left out: they need a baseline
/// and are parsed by [`parse_relative_all`].
pub fn parse_all(texts: &[String]) -> Result<Vec<TargetExpr>> {
    texts
        .iter()
        .filter(|t| !expr::is_relative(t))
        .map(|t| expr::parse(t))
        .collect()
}

/// Parse the relative targets (`p95 <= +10% vs baseline`) among `--target` expressions.
pub fn parse_relative_all(texts: &[String]) -> Result<Vec<expr::RelativeExpr>> {
    texts
        .iter()
        .filter(|t| expr::is_relative(t))
        .map(|t| expr::parse_relative(t))
        .collect()
}

/// Evaluate targets on a run (and its resource figures, when supplied).
pub fn evaluate(run: &Run, targets: &[Target], resources: Option<&ResourceFigures>) -> Verdict {
    Verdict {
        outcomes: targets
            .iter()
            .map(|t| evaluate_one(run, t, resources))
            .collect(),
    }
}

fn not_measured(target: &Target, why: impl Into<String>) -> Outcome {
    Outcome {
        target: target.clone(),
        state: State::NotMeasured,
        measured: None,
        measured_text: "not measured".into(),
        detail: why.into(),
        samples: None,
    }
}

fn decide(target: &Target, value: f64) -> State {
    if target.expr.op.holds(value, target.expr.limit) {
        State::Met
    } else if target.expr.warn {
        State::Warned
    } else {
        State::Missed
    }
}

fn measured(
    target: &Target,
    value: f64,
    text: String,
    detail: String,
    samples: Option<u64>,
) -> Outcome {
    Outcome {
        target: target.clone(),
        state: decide(target, value),
        measured: Some(value),
        measured_text: text,
        detail,
        samples,
    }
}

/// Describe a scope for "no requests ..." messages.
fn scope_phrase(scope: &Scope) -> String {
    if let Some(k) = &scope.kind {
        let what = match k.to_ascii_uppercase().as_str() {
            "WS" => "WebSocket requests (type WS)".to_string(),
            "DB" => "database requests (type DB)".to_string(),
            other => format!("requests of type {other}"),
        };
        if scope.name.is_none() && scope.method.is_none() && scope.status.is_none() {
            return what;
        }
    }
    format!("requests matching {scope}")
}

/// Endpoints a target covers: its scope, less what it leaves out.
pub fn covered<'a>(run: &'a Run, target: &Target) -> Vec<&'a Endpoint> {
    scoped(run, &target.expr.scope)
        .into_iter()
        .filter(|e| {
            !target
                .exclude
                .iter()
                .any(|(_, s)| s.matches(&e.kind, &e.name))
        })
        .collect()
}

/// Which rows an API target covers, as a phrase (`HTTP requests: 9 of 12
/// rows, 467 of 1,318 requests; left out: WebSocket (type WS), ...`).
pub fn coverage_phrase(run: &Run, target: &Target) -> String {
    let rows = covered(run, target);
    let requests: u64 = rows.iter().map(|e| e.requests).sum();
    let left_out: Vec<&str> = target
        .exclude
        .iter()
        .filter(|(_, s)| run.endpoints.iter().any(|e| s.matches(&e.kind, &e.name)))
        .map(|(n, _)| n.as_str())
        .collect();
    format!(
        "HTTP requests: {} of {} rows, {} of {} requests{}",
        rows.len(),
        run.endpoints.len(),
        format::count(requests),
        format::count(run.total.requests),
        if left_out.is_empty() {
            String::new()
        } else {
            format!("; left out: {}", left_out.join(", "))
        }
    )
}

/// Endpoints a scope selects (the run's label is the scenario).
pub fn scoped<'a>(run: &'a Run, scope: &Scope) -> Vec<&'a Endpoint> {
    if let Some(s) = &scope.scenario
        && !s.eq_ignore_ascii_case(&run.label)
    {
        return Vec::new();
    }
    run.endpoints
        .iter()
        .filter(|e| scope.matches(&e.kind, &e.name))
        .collect()
}

fn evaluate_one(run: &Run, target: &Target, res: Option<&ResourceFigures>) -> Outcome {
    let e = &target.expr;
    let resource = |v: Option<f64>, what: &str, fmt: fn(f64) -> String| match res {
        None => not_measured(target, "no resource samples supplied (pass --resources)"),
        Some(r) => match v {
            Some(v) => {
                let detail = if e.metric == Metric::CpuLoad {
                    format!("{what}; {}", r.cpu_basis)
                } else {
                    what.to_string()
                };
                measured(target, v, fmt(v), detail, None)
            }
            // Machine-% CPU needs the measured machine's cores; the basis says how to give them.
            None if e.metric == Metric::CpuLoad => {
                not_measured(target, format!("{what}: {}", r.cpu_basis))
            }
            None => not_measured(target, format!("the resource samples do not give {what}")),
        },
    };
    match e.metric {
        Metric::RssIdle => {
            return resource(
                res.and_then(|r| r.rss_idle_bytes),
                "mean RSS while idle before the load",
                format::bytes,
            );
        }
        Metric::RssLoad => {
            return resource(
                res.and_then(|r| r.rss_load_bytes),
                "peak RSS under load",
                format::bytes,
            );
        }
        Metric::CpuLoad => {
            return resource(
                res.and_then(|r| r.cpu_load_percent),
                "mean CPU under load",
                format::percent,
            );
        }
        Metric::LeakSlope => {
            return resource(
                res.and_then(|r| r.leak_slope_bytes_per_min),
                "RSS slope under steady load",
                |v| format!("{}/min", format::bytes(v)),
            );
        }
        _ => {}
    }
    if e.over_s.is_some() || e.for_s.is_some() {
        return crate::analysis::windows::evaluate_windowed(run, target);
    }
    let whole_run = e.scope.is_empty() && !target.is_api();
    let endpoints = covered(run, target);
    if run.total.requests == 0 {
        return not_measured(target, "the input has no requests");
    }
    if target.is_api() && endpoints.is_empty() {
        return not_measured(
            target,
            format!(
                "no HTTP requests in the input ({})",
                coverage_phrase(run, target)
            ),
        );
    }
    if !whole_run && endpoints.is_empty() {
        return not_measured(
            target,
            format!("no {} in the input", scope_phrase(&e.scope)),
        );
    }
    let (latency, source) = if whole_run {
        (run.total.latency.clone(), "all requests".to_string())
    } else if target.is_api() {
        // nothing left out: the tool's own total (exact even from the CSV)
        let latency = if endpoints.len() == run.endpoints.len() {
            run.total.latency.clone()
        } else {
            Latency::merge(endpoints.iter().map(|e| &e.latency))
        };
        (latency, coverage_phrase(run, target))
    } else if endpoints.len() == 1 {
        (
            endpoints[0].latency.clone(),
            endpoints[0].label().to_string(),
        )
    } else {
        (
            Latency::merge(endpoints.iter().map(|e| &e.latency)),
            format!("{} endpoints merged", endpoints.len()),
        )
    };
    let requests: u64 = if whole_run || endpoints.len() == run.endpoints.len() {
        run.total.requests
    } else {
        endpoints.iter().map(|e| e.requests).sum()
    };
    match e.metric {
        Metric::Percentile(p) => match latency.percentile(p) {
            Percentile::Value(v) => {
                let out = measured(
                    target,
                    v,
                    format::ms(v),
                    format!("{source}; {}", latency.precision_note()),
                    Some(latency.count),
                );
                borderline(out, &latency, v)
            }
            Percentile::Between(lo, hi) => {
                let holds_lo = e.op.holds(lo, e.limit);
                let holds_hi = e.op.holds(hi, e.limit);
                let text = format!("between {} and {}", format::ms(lo), format::ms(hi));
                let detail = format!(
                    "{source}; from the CSV only the bounds of a mixture are known (its p{} lies between its parts')",
                    trim_pct(p)
                );
                if holds_lo && holds_hi {
                    let worst = if matches!(e.op, Op::Lt | Op::Le) {
                        hi
                    } else {
                        lo
                    };
                    measured(target, worst, text, detail, Some(latency.count))
                } else if !holds_lo && !holds_hi {
                    let best = if matches!(e.op, Op::Lt | Op::Le) {
                        lo
                    } else {
                        hi
                    };
                    measured(target, best, text, detail, Some(latency.count))
                } else {
                    Outcome {
                        measured_text: text,
                        detail: format!(
                            "{source}: not determinable from the CSV (the bounds straddle the limit); pass the JSON (--json-file) for exact percentiles"
                        ),
                        samples: Some(latency.count),
                        ..not_measured(target, "")
                    }
                }
            }
            Percentile::NotAvailable => not_measured(
                target,
                format!(
                    "{source}: the input has no p{} ({})",
                    trim_pct(p),
                    latency.precision_note()
                ),
            ),
        },
        Metric::Avg => match latency.mean_ms() {
            Some(v) => measured(target, v, format::ms(v), source, Some(latency.count)),
            None => not_measured(target, format!("{source}: no average in the input")),
        },
        Metric::Min => match latency.min_ms {
            Some(v) => measured(target, v, format::ms(v), source, Some(latency.count)),
            None => not_measured(target, format!("{source}: no minimum in the input")),
        },
        Metric::Max => match latency.max_ms {
            Some(v) => measured(target, v, format::ms(v), source, Some(latency.count)),
            None => not_measured(target, format!("{source}: no maximum in the input")),
        },
        Metric::Rps => {
            if whole_run {
                match steady::sustained_rps(run) {
                    Some(s) => measured(target, s.rps, format::rps(s.rps), s.basis, Some(requests)),
                    None => not_measured(target, "the input has no request rate"),
                }
            } else {
                let rps: Option<f64> = endpoints
                    .iter()
                    .map(|e| e.rps)
                    .try_fold(0.0, |a, r| r.map(|r| a + r));
                match rps {
                    Some(v) => measured(
                        target,
                        v,
                        format::rps(v),
                        format!("{source}; the tool's whole-window rate"),
                        Some(requests),
                    ),
                    None => not_measured(target, format!("{source}: no request rate")),
                }
            }
        }
        Metric::ErrorRate | Metric::Errors => {
            let failures = match &e.scope.status {
                None => {
                    if whole_run {
                        run.total.failures
                    } else {
                        endpoints.iter().map(|e| e.failures).sum()
                    }
                }
                Some(status) => {
                    match failures_with_status(run, &endpoints, whole_run, |c| status.matches(c)) {
                        Some(n) => n,
                        None => {
                            return not_measured(
                                target,
                                "the input has no status codes for the failures",
                            );
                        }
                    }
                }
            };
            if e.metric == Metric::Errors {
                measured(
                    target,
                    failures as f64,
                    format::count(failures),
                    format!("{source}; {} requests", format::count(requests)),
                    Some(requests),
                )
            } else {
                let rate = failures as f64 / requests.max(1) as f64;
                measured(
                    target,
                    rate,
                    format::fraction(rate),
                    format!(
                        "{source}; {} of {} requests failed",
                        format::count(failures),
                        format::count(requests)
                    ),
                    Some(requests),
                )
            }
        }
        Metric::RssIdle | Metric::RssLoad | Metric::CpuLoad | Metric::LeakSlope => {
            unreachable!("handled above")
        }
    }
}

/// Failures whose status matches, from per-endpoint status counts when the
/// input has them (Goose), else from the failure groups' parsed codes (Locust).
fn failures_with_status(
    run: &Run,
    endpoints: &[&Endpoint],
    whole_run: bool,
    matches: impl Fn(u16) -> bool,
) -> Option<u64> {
    let selected: Vec<&Endpoint> = if whole_run {
        run.endpoints.iter().collect()
    } else {
        endpoints.to_vec()
    };
    if selected.iter().any(|e| !e.status_counts.is_empty()) {
        return Some(
            selected
                .iter()
                .flat_map(|e| e.status_counts.iter())
                .filter(|(code, _)| **code >= 400 || **code == 0)
                .filter(|(code, _)| matches(**code))
                .map(|(_, n)| *n)
                .sum(),
        );
    }
    let in_scope = |kind: &str, name: &str| {
        whole_run || selected.iter().any(|e| e.kind == kind && e.name == name)
    };
    if run.failures.is_empty() && run.total.failures > 0 {
        return None;
    }
    Some(
        run.failures
            .iter()
            .filter(|f| in_scope(&f.kind, &f.name))
            .filter(|f| f.status.is_some_and(&matches))
            .map(|f| f.occurrences)
            .sum(),
    )
}

/// A percentile the tool only knows to its bucket: when the bucket straddles
/// the limit, the true value may lie on either side of it. The verdict is the
/// conservative one (missed, or warned for a `warn:` target) and says so.
fn borderline(mut out: Outcome, latency: &Latency, value: f64) -> Outcome {
    let Some((lo, hi)) = crate::latency::bucket_range(&latency.dist, value) else {
        return out;
    };
    let e = &out.target.expr;
    if e.op.holds(lo, e.limit) == e.op.holds(hi, e.limit) {
        return out;
    }
    out.state = if e.warn { State::Warned } else { State::Missed };
    out.measured_text = format!("{} (borderline)", format::ms(value));
    out.detail = format!(
        "borderline: Locust's {} stands for any time from {} to {}, a bucket that straddles the limit, so the verdict is the conservative one; {}",
        format::ms(value),
        format::ms(lo),
        format::ms(hi),
        out.detail
    );
    out
}

fn trim_pct(p: f64) -> String {
    let s = format!("{p}");
    s.trim_end_matches(".0").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warn_target_sits_beside_the_hard_limit_of_the_same_metric() {
        let overrides = parse_all(&["warn: p95<100ms".into(), "p95<1s".into()]).unwrap();
        let targets = with_overrides(default_targets(), &overrides);
        let p95: Vec<&Target> = targets
            .iter()
            .filter(|t| t.expr.metric == Metric::Percentile(95.0) && t.expr.scope.is_empty())
            .collect();
        assert_eq!(p95.len(), 2);
        // the hard limit replaced the default row (keeping its title) ...
        assert_eq!(p95[0].title, "API Response Time (p95)");
        assert!(!p95[0].expr.warn);
        assert_eq!(p95[0].expr.limit, 1000.0);
        // ... and the warning tier was added as its own target
        assert!(p95[1].expr.warn);
        assert_eq!(p95[1].expr.limit, 100.0);
        // a second warn: replaces the first
        let again = parse_all(&["warn: p95<150ms".into()]).unwrap();
        let targets = with_overrides(targets, &again);
        let warns: Vec<&Target> = targets.iter().filter(|t| t.expr.warn).collect();
        assert_eq!(warns.len(), 1);
        assert_eq!(warns[0].expr.limit, 150.0);
        assert_eq!(warns[0].title, "warn: p95<150ms");
    }

    #[test]
    fn a_windowed_target_replaces_the_default_of_its_metric_and_scope() {
        let given = parse_all(&["p95<250ms over 30s".into()]).unwrap();
        let targets = with_overrides(default_targets(), &given);
        assert_eq!(targets.len(), DEFAULT_TARGETS.len());
        let p95: Vec<&Target> = targets
            .iter()
            .filter(|t| t.expr.metric == Metric::Percentile(95.0) && t.expr.scope.is_empty())
            .collect();
        assert_eq!(p95.len(), 1);
        assert_eq!(p95[0].title, "API Response Time (p95)");
        assert_eq!(p95[0].expr.over_s, Some(30.0));
        assert!(p95[0].is_api());
        // given together, a plain and a windowed limit both stand
        let both = parse_all(&["p95<250ms over 30s".into(), "p95<300ms".into()]).unwrap();
        let targets = with_overrides(default_targets(), &both);
        assert_eq!(targets.len(), DEFAULT_TARGETS.len() + 1);
        let limits: Vec<(f64, Option<f64>)> = targets
            .iter()
            .filter(|t| t.expr.metric == Metric::Percentile(95.0) && t.expr.scope.is_empty())
            .map(|t| (t.expr.limit, t.expr.over_s))
            .collect();
        assert_eq!(limits, [(250.0, Some(30.0)), (300.0, None)]);
        // another scope is another target
        let ws = parse_all(&["p95{type:DB}<20ms over 10s".into()]).unwrap();
        let targets = with_overrides(default_targets(), &ws);
        assert_eq!(targets.len(), DEFAULT_TARGETS.len());
        assert!(targets.iter().all(|t| t.expr.text != "p95{type:DB}<50ms"));
    }
}

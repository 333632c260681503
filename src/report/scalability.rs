//! Scalability Analysis: single-instance capacity from the step run (or the
//! scenarios), and throughput at several instance or core counts.

use super::spec::{ReportSpec, ScalePoint, scaling_efficiency, scenario_title, user_levels};
use super::text::{dedup, trim_num};
use crate::analysis::steady;
use crate::format;
use crate::model::Run;
use crate::targets::{Metric, Target};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One run at an instance or core count, as figures (for `fill`'s
/// `- 2 instances: TBD req/s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScaleFigure {
    /// Instances or cores.
    pub n: u32,
    /// Sustained requests per second.
    pub rps: f64,
    /// Run label.
    pub label: String,
    /// RPS(N) / (N × RPS(1)), when there is a 1-instance (1-core) run.
    pub efficiency: Option<f64>,
}

/// The Scalability Analysis section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scalability {
    /// Highest rate held over a 10 s window, or what input would give it.
    pub max_throughput: String,
    /// Highest user level at which every latency target held.
    pub max_users: String,
    /// One line per user level with its latency figures.
    pub capacity_levels: Vec<String>,
    /// Runs by instance count.
    pub instances_points: Vec<ScaleFigure>,
    /// Runs by core count.
    pub cores_points: Vec<ScaleFigure>,
    /// Lines of the Multiple Instances subsection.
    pub instances_lines: Vec<String>,
    /// Lines of the Vertical Scaling subsection.
    pub cores_lines: Vec<String>,
}

/// What input gives a run series over time, for the tools of these runs only
/// (a Goose report names no Locust option); `latency` for windowed latency.
fn history_hint(runs: &[(String, &Run)], latency: bool) -> String {
    let tools = dedup(runs.iter().map(|(_, r)| r.tool.to_string()));
    let hint = |tool: &str| match (tool, latency) {
        ("Locust", false) => "Locust: the stats history CSV beside the stats CSV",
        ("Locust", true) => "Locust: run with --csv-full-history",
        (_, false) => "Goose: the request log, or report.json written with --report-graph-data",
        (_, true) => "Goose: the request log",
    };
    let hints: Vec<&str> = if tools.is_empty() {
        vec![hint("Locust"), hint("Goose")]
    } else {
        tools.iter().map(|t| hint(t)).collect()
    };
    dedup(hints.into_iter().map(String::from)).join("; ")
}

/// Derive the section; capacity, instances and cores are missing without runs for them.
pub fn build(spec: &ReportSpec, missing: &mut super::Missing) -> Scalability {
    // Single instance: from the step run when there is one, else from the scenarios.
    let candidates: Vec<(String, &Run)> = match &spec.step {
        Some(r) => vec![(r.label.clone(), r)],
        None => spec
            .scenarios
            .iter()
            .map(|s| (scenario_title(s), &s.run))
            .collect(),
    };
    let latency_targets: Vec<&Target> = spec
        .targets
        .iter()
        .filter(|t| {
            t.expr.scope.is_empty()
                && !t.expr.warn
                && matches!(t.expr.metric, Metric::Percentile(p) if p == 50.0 || p == 95.0 || p == 99.0)
        })
        .collect();
    let mut max_rps: Option<(f64, String)> = None;
    let mut max_users: Option<(u64, String)> = None;
    let mut levels_text = Vec::new();
    for (title, r) in &candidates {
        // the highest rate held over any 10 s window of the run
        let peak = peak_window_rps(r, 10.0);
        if let Some(v) = peak
            && max_rps.as_ref().is_none_or(|(m, _)| v > *m)
        {
            max_rps = Some((v, title.clone()));
        }
        for level in user_levels(r) {
            let points: Vec<&crate::model::TimelinePoint> = r
                .timeline
                .iter()
                .filter(|p| p.users == Some(level))
                .collect();
            let mut held = !latency_targets.is_empty();
            let mut worst = Vec::new();
            let mut exact_level = false;
            for t in &latency_targets {
                let Metric::Percentile(p) = t.expr.metric else {
                    continue;
                };
                // the requests at this level together where the timeline has
                // them per second; else the largest of the tool's own windowed
                // values (Locust's rolling ~10 s percentiles), an upper bound
                let merged = crate::analysis::windows::merged_percentile_ms(&points, p);
                let values: Vec<f64> = match merged {
                    Some(v) => vec![v],
                    None => points
                        .iter()
                        .filter_map(|x| match p {
                            50.0 => x.p50_ms,
                            95.0 => x.p95_ms,
                            _ => x.p99_ms,
                        })
                        .collect(),
                };
                if values.is_empty() {
                    held = false;
                    continue;
                }
                let w = values.iter().cloned().fold(0.0, f64::max);
                exact_level |= merged.is_some();
                worst.push(if merged.is_some() {
                    format!("p{} {} of its requests", trim_num(p), format::ms(w))
                } else {
                    format!("p{} up to {}", trim_num(p), format::ms(w))
                });
                if !t.expr.op.holds(w, t.expr.limit) {
                    held = false;
                }
            }
            if !worst.is_empty() {
                levels_text.push(format!(
                    "{level} users: {}{} ({})",
                    if exact_level { "" } else { "windowed " },
                    worst.join(", "),
                    if held {
                        "all latency targets held"
                    } else {
                        "a latency target missed"
                    }
                ));
            }
            if held && max_users.as_ref().is_none_or(|(u, _)| level > *u) {
                max_users = Some((level, title.clone()));
            }
        }
    }
    let max_throughput = max_rps
        .map(|(v, s)| format!("{} (highest 10 s window, {s})", format::rps(v)))
        .unwrap_or_else(|| {
            format!(
                "not measured: no run has requests per second over time ({})",
                history_hint(&candidates, false)
            )
        });
    let users_text = match (&max_users, levels_text.is_empty()) {
        (Some((u, s)), _) => {
            format!("{u} (the highest user level at which every latency target held, {s})")
        }
        (None, false) => "none of the tested user levels held every latency target".to_string(),
        (None, true) => {
            missing.push(("capacity", format!("Scalability Analysis / Single Instance: a step run (`[step]` in --config) with a windowed latency history ({})", history_hint(&candidates, true))));
            format!(
                "not determined: needs a run with a windowed latency series per user level ({})",
                history_hint(&candidates, true)
            )
        }
    };

    // The same points as the lines below, as figures, for `fill`
    // (`- 2 instances: TBD req/s`).
    let points_of = |key: fn(&ScalePoint) -> Option<u32>| -> Vec<ScaleFigure> {
        let mut points: Vec<ScaleFigure> = spec
            .scalability
            .iter()
            .filter_map(|p| {
                Some(ScaleFigure {
                    n: key(p)?,
                    rps: steady::sustained_rps(&p.run)?.rps,
                    label: p.run.label.clone(),
                    efficiency: None,
                })
            })
            .collect();
        points.sort_by_key(|p| p.n);
        let base = points.iter().find(|p| p.n == 1).map(|p| p.rps);
        for p in &mut points {
            p.efficiency = base
                .filter(|_| p.n > 1)
                .map(|b| scaling_efficiency(p.rps, p.n, b));
        }
        points
    };
    let instances_points = points_of(|p| p.instances);
    let cores_points = points_of(|p| p.cores);
    let scaling =
        |key: fn(&ScalePoint) -> Option<u32>, what: &str| -> (Vec<String>, Option<String>) {
            let mut points: Vec<(u32, f64, String)> = spec
                .scalability
                .iter()
                .filter_map(|p| {
                    let n = key(p)?;
                    let rps = steady::sustained_rps(&p.run)?.rps;
                    Some((n, rps, p.run.label.clone()))
                })
                .collect();
            points.sort_by_key(|p| p.0);
            let base = points.iter().find(|p| p.0 == 1).map(|p| p.1);
            let lines = points
                .iter()
                .map(|(n, rps, label)| {
                    let eff = base
                        .filter(|_| *n > 1)
                        .map(|b| {
                            format!(
                                ", scaling efficiency {}",
                                format::fraction(scaling_efficiency(*rps, *n, b))
                            )
                        })
                        .unwrap_or_default();
                    format!("{n} {what}: {}{eff} ({label})", format::rps(*rps))
                })
                .collect::<Vec<_>>();
            let note = if points.len() > 1 && base.is_none() {
                Some(format!(
                    "no run with 1 {what} to compute scaling efficiency against"
                ))
            } else {
                None
            };
            (lines, note)
        };
    let (instances, inote) = scaling(|p| p.instances, "instance(s)");
    let (cores, cnote) = scaling(|p| p.cores, "CPU core(s)");
    if instances.is_empty() {
        missing.push(("instances", "Scalability Analysis / Multiple Instances: `[[scalability]]` runs with `instances = N` in --config".into()));
    }
    if cores.is_empty() {
        missing.push(("cores", "Scalability Analysis / Vertical Scaling: `[[scalability]]` runs with `cores = N` in --config".into()));
    }
    let instances_lines = if instances.is_empty() {
        vec!["not tested: add `[[scalability]]` runs with `instances = N` to --config".to_string()]
    } else {
        instances.into_iter().chain(inote).collect()
    };
    let cores_lines = if cores.is_empty() {
        vec!["not tested: add `[[scalability]]` runs with `cores = N` to --config".to_string()]
    } else {
        cores.into_iter().chain(cnote).collect()
    };
    Scalability {
        max_throughput,
        max_users: users_text,
        capacity_levels: levels_text,
        instances_points,
        cores_points,
        instances_lines,
        cores_lines,
    }
}

/// The highest request rate over any window of `seconds` in the timeline.
fn peak_window_rps(run: &Run, seconds: f64) -> Option<f64> {
    let t = &run.timeline;
    let mut best: Option<f64> = None;
    for (i, a) in t.iter().enumerate() {
        let Some(end) = t[i..].iter().find(|b| b.t - a.t >= seconds) else {
            break;
        };
        let rate = match (a.total_requests, end.total_requests) {
            (Some(x), Some(y)) => y.saturating_sub(x) as f64 / (end.t - a.t),
            _ => {
                let rates: Vec<f64> = t
                    .iter()
                    .filter(|p| p.t >= a.t && p.t < end.t)
                    .filter_map(|p| p.rps)
                    .collect();
                // a timeline of load steps only (Goose report.json without
                // graph data) has no request counts: no rate, not zero
                if rates.is_empty() {
                    continue;
                }
                rates.iter().sum::<f64>() / (end.t - a.t)
            }
        };
        best = Some(best.map_or(rate, |b: f64| b.max(rate)));
    }
    best
}

//! Optimization recommendations from the data: each one is there because a
//! figure supports it, and carries that figure as its evidence line. Nothing
//! here is a fixed checklist: a run that shows no problem gets no item.
//!
//! Ranking: an endpoint over the p95 target weighs its excess (p95 / limit)
//! by how often it is called (its share of the run's requests); a query or
//! operation much slower than its siblings in the same group, a dominant
//! error, a suspected leak, CPU saturation and negative or flat scaling
//! follow the thresholds below. Within a priority, items are ordered by
//! their weight (each kind's own measure of how far off it is).

use super::spec::{ReportSpec, scaling_efficiency, scenario_title};
use crate::analysis::resources::LeakVerdict;
use crate::analysis::steady;
use crate::format;
use crate::model::Endpoint;
use crate::targets::Metric;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How urgent a recommendation is, from its evidence.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A target missed on a frequently called endpoint, a dominant error, a
    /// leak, saturation or negative scaling.
    High,
    /// A target missed on a less frequent endpoint, or a group outlier.
    Medium,
    /// A rarely called endpoint over the target.
    Low,
}

impl Priority {
    /// The reference report's heading for this priority.
    pub fn title(self) -> &'static str {
        match self {
            Priority::High => "High Priority",
            Priority::Medium => "Medium Priority",
            Priority::Low => "Low Priority",
        }
    }
}

/// One recommendation and the figure behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Recommendation {
    /// Priority, from the evidence.
    pub priority: Priority,
    /// What to do, naming the endpoint or resource.
    pub title: String,
    /// The figures that support it.
    pub evidence: String,
    /// Order within a priority: larger first.
    pub weight: f64,
}

/// An endpoint share of its run's requests at or above which it counts as
/// frequently called.
const FREQUENT_SHARE: f64 = 0.10;
/// A group member this many times slower (p95) than its siblings' median
/// stands out from them.
const OUTLIER_FACTOR: f64 = 3.0;
/// Machine CPU under load at or above which the server counts as saturated.
const CPU_SATURATED_PERCENT: f64 = 80.0;
/// Failures below this fraction of the requests are not a dominant error.
const ERROR_RATE_FLOOR: f64 = 0.01;
/// A dominant error failing this fraction of all requests is high priority.
const ERROR_RATE_HIGH: f64 = 0.05;
/// Throughput this far below the 1-instance (1-core) run is negative
/// scaling rather than run-to-run noise.
const NEGATIVE_SCALING: f64 = 0.95;
/// Scaling efficiency below this is flat scaling (medium priority).
const FLAT_SCALING: f64 = 0.6;

fn p95(e: &Endpoint) -> Option<f64> {
    e.latency.percentile(95.0).value()
}

/// Members of a request group whose p95 is [`OUTLIER_FACTOR`] times the
/// median p95 of the other members of the same run (at least two others), as
/// one evidence line each: "a query much slower than its siblings".
pub fn group_outliers(
    spec: &ReportSpec,
    select: &dyn Fn(&Endpoint) -> bool,
    what: &str,
) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    for s in &spec.scenarios {
        let members: Vec<(&Endpoint, f64)> = s
            .run
            .endpoints
            .iter()
            .filter(|e| select(e))
            .filter_map(|e| p95(e).map(|v| (e, v)))
            .collect();
        for (i, (e, v)) in members.iter().enumerate() {
            let mut others: Vec<f64> = members
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, v))| *v)
                .collect();
            if others.len() < 2 {
                continue;
            }
            others.sort_by(f64::total_cmp);
            let mid = others.len() / 2;
            let median = if others.len().is_multiple_of(2) {
                (others[mid - 1] + others[mid]) / 2.0
            } else {
                others[mid]
            };
            if median > 0.0 && *v >= OUTLIER_FACTOR * median {
                out.push((
                    e.label(),
                    format!(
                        "{}: p95 {}, {:.1}x the median p95 ({}) of the {} other {what} in {}",
                        e.label(),
                        format::ms(*v),
                        v / median,
                        format::ms(median),
                        others.len(),
                        scenario_title(s)
                    ),
                    v / median,
                ));
            }
        }
    }
    out
}

/// Every recommendation the data supports, highest priority and weight first.
/// `database` and `orchestrator` select the members of those groups.
pub fn recommendations(
    spec: &ReportSpec,
    database: &dyn Fn(&Endpoint) -> bool,
    orchestrator: &dyn Fn(&Endpoint) -> bool,
) -> Vec<Recommendation> {
    let mut recs: Vec<Recommendation> = Vec::new();

    // endpoints over the p95 target, by excess and how often they are called
    let p95_target = spec
        .targets
        .iter()
        .find(|t| t.expr.metric == Metric::Percentile(95.0) && t.expr.scope.is_empty());
    if let Some(t) = p95_target {
        let mut slow: Vec<Recommendation> = Vec::new();
        for s in &spec.scenarios {
            let total = s.run.total.requests.max(1) as f64;
            for e in &s.run.endpoints {
                let Some(v) = p95(e) else { continue };
                if t.expr.op.holds(v, t.expr.limit)
                    || e.failures >= e.requests
                    || t.expr.limit <= 0.0
                {
                    continue;
                }
                let excess = v / t.expr.limit;
                let share = e.requests as f64 / total;
                let priority = if share >= FREQUENT_SHARE {
                    Priority::High
                } else if share >= FREQUENT_SHARE / 5.0 {
                    Priority::Medium
                } else {
                    Priority::Low
                };
                let rec = Recommendation {
                    priority,
                    title: format!("Speed up {}", e.label()),
                    evidence: format!(
                        "p95 {} against the target {} ({:.1}x) in {}, {} requests ({} of the run's)",
                        format::ms(v),
                        format::ms(t.expr.limit),
                        excess,
                        scenario_title(s),
                        format::count(e.requests),
                        format::fraction(share)
                    ),
                    weight: excess * share,
                };
                // one item per endpoint: the scenario where it weighs most
                match slow.iter_mut().find(|r| r.title == rec.title) {
                    Some(old) if (old.priority, -old.weight) > (rec.priority, -rec.weight) => {
                        *old = rec
                    }
                    Some(_) => {}
                    None => slow.push(rec),
                }
            }
        }
        recs.extend(slow);
    }

    for (label, evidence, factor) in group_outliers(spec, database, "queries") {
        recs.push(Recommendation {
            priority: Priority::Medium,
            title: format!("Check the query plan and indexes of {label}"),
            evidence,
            weight: factor,
        });
    }
    for (label, evidence, factor) in group_outliers(spec, orchestrator, "operations") {
        recs.push(Recommendation {
            priority: Priority::Medium,
            title: format!("Look into {label}"),
            evidence,
            weight: factor,
        });
    }

    // a dominant error: one error makes most of the failures
    for s in &spec.scenarios {
        let failures: u64 = s.run.failures.iter().map(|f| f.occurrences).sum();
        let requests = s.run.total.requests;
        if requests == 0 || (s.run.total.failures as f64) < ERROR_RATE_FLOOR * requests as f64 {
            continue;
        }
        if let Some(top) = s.run.failures.iter().max_by_key(|f| f.occurrences)
            && failures > 0
            && top.occurrences * 2 > failures
        {
            let rate = s.run.total.failures as f64 / requests as f64;
            recs.push(Recommendation {
                priority: if rate >= ERROR_RATE_HIGH {
                    Priority::High
                } else {
                    Priority::Medium
                },
                title: format!("Fix the dominant error of {}", scenario_title(s)),
                evidence: format!(
                    "{} {}: {}, {} of the {} failures ({}), {} of all {} requests",
                    top.kind,
                    top.name,
                    match top.status {
                        Some(code) if code > 0 => {
                            format!("{code} {}", super::text::status_name(code))
                        }
                        _ => top.error.clone(),
                    },
                    format::count(top.occurrences),
                    format::count(failures),
                    format::fraction(top.occurrences as f64 / failures as f64),
                    format::fraction(s.run.total.failures as f64 / requests as f64),
                    format::count(requests)
                ),
                weight: s.run.total.failures as f64 / requests as f64,
            });
        }
    }

    // resources: a suspected leak, a saturated CPU
    let reports = spec
        .scenarios
        .iter()
        .filter_map(|s| s.resource_report.as_ref().map(|r| (scenario_title(s), r)))
        .chain(
            spec.step
                .as_ref()
                .zip(spec.step_resources.as_ref())
                .map(|(run, r)| (run.label.clone(), r)),
        );
    for (name, r) in reports {
        if r.leak.verdict == LeakVerdict::Suspected {
            recs.push(Recommendation {
                priority: Priority::High,
                title: format!("Find the memory growth in {name}"),
                evidence: r.leak.sentence.clone(),
                weight: r.leak.slope_mib_per_min.unwrap_or(0.0),
            });
        }
        if let Some(cpu) = r.cpu_load_percent
            && cpu >= CPU_SATURATED_PERCENT
        {
            recs.push(Recommendation {
                priority: Priority::High,
                title: format!("Relieve the CPU in {name}"),
                evidence: format!(
                    "CPU {} of the machine on average under load ({})",
                    format::percent(cpu),
                    r.cpu_basis.sentence
                ),
                weight: cpu / 100.0,
            });
        }
    }

    // negative scaling: more instances or cores, less throughput
    for (key, what) in [
        (
            (|p: &super::spec::ScalePoint| p.instances)
                as fn(&super::spec::ScalePoint) -> Option<u32>,
            "instances",
        ),
        (|p: &super::spec::ScalePoint| p.cores, "cores"),
    ] {
        let mut points: Vec<(u32, f64, String)> = spec
            .scalability
            .iter()
            .filter_map(|p| {
                Some((
                    key(p)?,
                    steady::sustained_rps(&p.run)?.rps,
                    p.run.label.clone(),
                ))
            })
            .collect();
        points.sort_by_key(|p| p.0);
        let Some(base) = points.iter().find(|p| p.0 == 1).cloned() else {
            continue;
        };
        for (n, rps, label) in points.iter().filter(|p| p.0 > 1) {
            let efficiency = scaling_efficiency(*rps, *n, base.1);
            let negative = *rps < NEGATIVE_SCALING * base.1;
            if negative || efficiency < FLAT_SCALING {
                recs.push(Recommendation {
                    priority: if negative {
                        Priority::High
                    } else {
                        Priority::Medium
                    },
                    title: format!("Find what {n} {what} contend for"),
                    evidence: format!(
                        "{} with {n} {what} ({label}) against {} with 1 ({}): scaling efficiency {}",
                        format::rps(*rps),
                        format::rps(base.1),
                        base.2,
                        format::fraction(efficiency)
                    ),
                    weight: 1.0 - efficiency,
                });
            }
        }
    }

    recs.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.weight.total_cmp(&a.weight))
    });
    recs
}
/// One numbered item under a priority heading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NumberedItem {
    /// Number over all priorities.
    pub number: usize,
    /// What to do.
    pub title: String,
    /// The figures that support it.
    pub evidence: String,
}

/// The items of one priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PriorityLevel {
    /// `High Priority`, ...
    pub title: String,
    /// Its items, numbered on from the previous level.
    pub items: Vec<NumberedItem>,
}

/// The Optimization Recommendations section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecommendationsSection {
    /// Every recommendation, ranked.
    pub recommendations: Vec<Recommendation>,
    /// The same, under their priority headings (every level, empty or not).
    pub recommendation_levels: Vec<PriorityLevel>,
}

/// Derive the section.
pub fn build(spec: &ReportSpec) -> RecommendationsSection {
    let recs = recommendations(
        spec,
        &super::spec::database_member(spec),
        &super::spec::orchestrator_member(spec),
    );
    let mut levels = Vec::new();
    let mut number = 0;
    for priority in [Priority::High, Priority::Medium, Priority::Low] {
        let items: Vec<NumberedItem> = recs
            .iter()
            .filter(|r| r.priority == priority)
            .map(|r| {
                number += 1;
                NumberedItem {
                    number,
                    title: r.title.clone(),
                    evidence: r.evidence.clone(),
                }
            })
            .collect();
        levels.push(PriorityLevel {
            title: priority.title().into(),
            items,
        });
    }
    RecommendationsSection {
        recommendations: recs,
        recommendation_levels: levels,
    }
}

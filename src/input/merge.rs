//! Several load generators of one run, merged exactly.
//!
//! Large tests run several load generators that each write their own files
//! (Goose instances, separate Locust masters), or a request log is split into
//! shards that are digested where they live ([`crate::digest`]). Given together
//! as `--stats`, each generator is read on its own and the runs are merged
//! here: counts add, histograms of the same kind merge exactly
//! ([`Latency::merge`]), the timelines align on wall time (per-second sums),
//! failures add per (endpoint, error). The report says how many generators
//! there were.
//!
//! Inputs that are clearly different runs are refused, naming both files:
//! different tools, time ranges that do not overlap (when both have clock
//! times), endpoint sets with nothing in common, or Goose inputs whose
//! scenarios or target hosts have nothing in common (different tests).

use crate::error::{Error, Result};
use crate::latency::{Latency, exact_quantile};
use crate::model::{
    Endpoint, ExceptionGroup, FailureGroup, MeasuredCounts, PointLatency, Run, TimelinePoint,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What identifies the test a generator ran, beyond its endpoints: Goose's
/// scenario names and the hosts it sent requests to (empty when unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestPlan {
    /// Scenario names (Goose `scenario_name`, or the report's scenarios).
    pub scenarios: BTreeSet<String>,
    /// Target hosts (`host:port` of the request URLs).
    pub hosts: BTreeSet<String>,
}

/// One generator's run, with the file that names it in messages and its plan.
#[derive(Debug, Clone)]
pub struct Part {
    /// The generator's run.
    pub run: Run,
    /// The file that names this generator in errors (its first `--stats` file).
    pub path: PathBuf,
    /// Its test plan, when the input says.
    pub plan: TestPlan,
}

/// The scenarios and hosts of a Goose request log, from the rows of its
/// first 64 KiB (a generator's first users start every scenario of its test,
/// and every row of one test names the same host).
pub fn goose_log_plan(path: &Path, json_lines: bool) -> Result<TestPlan> {
    let head = super::sniff(path)?;
    let mut plan = TestPlan::default();
    let mut add = |scenario: Option<&str>, url: Option<&str>| {
        if let Some(s) = scenario.filter(|s| !s.is_empty()) {
            plan.scenarios.insert(s.to_ascii_lowercase());
        }
        if let Some(h) = url.and_then(host_of) {
            plan.hosts.insert(h);
        }
    };
    if json_lines {
        // the last line of the head may be cut: it does not parse and is skipped
        for line in head.split(|&b| b == b'\n') {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
                add(
                    v.get("scenario_name").and_then(|s| s.as_str()),
                    v.get("final_url").and_then(|s| s.as_str()),
                );
            }
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(head.as_slice());
        let Ok(header) = rdr.headers().cloned() else {
            return Ok(plan);
        };
        let col = |name: &str| header.iter().position(|h| h == name);
        let (scenario, url) = (col("scenario_name"), col("final_url"));
        for row in rdr.records() {
            let Ok(row) = row else { break };
            // a row cut by the end of the head has fewer cells
            if row.len() != header.len() {
                break;
            }
            add(
                scenario.and_then(|i| row.get(i)),
                url.and_then(|i| row.get(i)),
            );
        }
    }
    Ok(plan)
}

/// `host:port` of an absolute URL.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| host.to_string())
}

/// The plan of a run read from a Goose report: its scenario names.
pub fn plan_of_run(run: &Run) -> TestPlan {
    TestPlan {
        scenarios: run
            .tool_scenarios
            .iter()
            .map(|s| s.name.to_ascii_lowercase())
            .collect(),
        hosts: BTreeSet::new(),
    }
}

/// Refuse parts that are clearly not generators of one run.
pub fn check_same_run(parts: &[Part]) -> Result<()> {
    for (i, a) in parts.iter().enumerate() {
        for b in &parts[i + 1..] {
            if same_requests(&a.run, &b.run) {
                return Err(Error::parse(
                    &b.path,
                    None,
                    None,
                    format!(
                        "holds the same {} requests as {}: on every endpoint the same count, failures and sum, least and most of the response times (the same run written twice, say as its CSV and its JSON Lines request log, or a copy); merged as two load generators they would count twice, so give one of them",
                        b.run.total.requests,
                        a.path.display()
                    ),
                ));
            }
            if let Some(why) = different_runs(a, b) {
                return Err(Error::parse(
                    &b.path,
                    None,
                    None,
                    format!(
                        "not the same run as {}: {why}; several --stats inputs of one tool are merged as load generators of one run, so give each run on its own",
                        a.path.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether two generators' runs hold the same requests: every endpoint with
/// the same counts and the same sum and extremes of its response times. Two
/// load generators of one test cannot agree on all of these (a sum of
/// response times to the µs or ms); two files of one generator do.
fn same_requests(a: &Run, b: &Run) -> bool {
    type Figures<'r> = Vec<((&'r str, &'r str, u64, u64), [Option<u64>; 3])>;
    fn figures(r: &Run) -> Figures<'_> {
        let mut v: Figures<'_> = r
            .endpoints
            .iter()
            .filter(|e| e.requests > 0)
            .map(|e| {
                (
                    (e.kind.as_str(), e.name.as_str(), e.requests, e.failures),
                    [e.latency.sum_ms, e.latency.min_ms, e.latency.max_ms]
                        .map(|x| x.map(f64::to_bits)),
                )
            })
            .collect();
        v.sort();
        v
    }
    a.total.requests > 0 && a.total.requests == b.total.requests && figures(a) == figures(b)
}

fn different_runs(a: &Part, b: &Part) -> Option<String> {
    if a.run.tool != b.run.tool {
        return Some(format!(
            "one was written by {}, the other by {}",
            a.run.tool, b.run.tool
        ));
    }
    if a.run.relative_times != b.run.relative_times {
        return Some(
            "one has clock times and the other only seconds since its start (give the report.json of every generator, or of none)"
                .into(),
        );
    }
    if !a.run.relative_times
        && let (Some(s1), Some(e1), Some(s2), Some(e2)) =
            (a.run.started, end_of(&a.run), b.run.started, end_of(&b.run))
        && (e1 < s2 || e2 < s1)
    {
        return Some(format!(
            "their time ranges do not overlap ({} to {} and {} to {})",
            crate::format::time(s1),
            crate::format::time(e1),
            crate::format::time(s2),
            crate::format::time(e2)
        ));
    }
    let names = |r: &Run| -> BTreeSet<(String, String)> {
        r.endpoints
            .iter()
            .filter(|e| e.requests > 0)
            .map(|e| (e.kind.clone(), e.name.clone()))
            .collect()
    };
    let (na, nb) = (names(&a.run), names(&b.run));
    if !na.is_empty() && !nb.is_empty() && na.is_disjoint(&nb) {
        return Some("they have no endpoint in common (different test plans)".into());
    }
    let disjoint = |x: &BTreeSet<String>, y: &BTreeSet<String>| {
        !x.is_empty() && !y.is_empty() && x.is_disjoint(y)
    };
    if disjoint(&a.plan.scenarios, &b.plan.scenarios) {
        return Some(format!(
            "they ran different scenarios ({} and {}), so different tests",
            join(&a.plan.scenarios),
            join(&b.plan.scenarios)
        ));
    }
    if disjoint(&a.plan.hosts, &b.plan.hosts) {
        return Some(format!(
            "they loaded different targets ({} and {})",
            join(&a.plan.hosts),
            join(&b.plan.hosts)
        ));
    }
    None
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn end_of(run: &Run) -> Option<f64> {
    run.ended.or_else(|| Some(run.started? + run.duration_s?))
}

/// Merge the runs of several load generators of one run (checked with
/// [`check_same_run`] first). One part is returned as it is.
pub fn merge(parts: Vec<Part>) -> Result<Run> {
    check_same_run(&parts)?;
    merge_parts(parts)
}

/// [`merge`] without the check.
fn merge_parts(parts: Vec<Part>) -> Result<Run> {
    let n = parts.len();
    let mut parts = parts;
    if n == 1 {
        return Ok(parts.remove(0).run);
    }
    let first = &parts[0].run;
    let mut run = Run::new(first.label.clone(), first.tool);
    run.relative_times = first.relative_times;
    run.tool_version = common(parts.iter().map(|p| p.run.tool_version.clone())).flatten();
    run.generators = parts.iter().map(|p| p.run.generators.max(1)).sum();
    run.sources = parts.iter().flat_map(|p| p.run.sources.clone()).collect();
    run.started = parts
        .iter()
        .map(|p| p.run.started)
        .try_fold(f64::INFINITY, |a, s| s.map(|s| a.min(s)));
    run.ended = parts
        .iter()
        .map(|p| end_of(&p.run))
        .try_fold(f64::NEG_INFINITY, |a, s| s.map(|s| a.max(s)));
    run.duration_s = match (run.started, run.ended) {
        (Some(s), Some(e)) if !run.relative_times => Some(e - s),
        _ => parts
            .iter()
            .map(|p| p.run.duration_s)
            .try_fold(0.0f64, |a, d| d.map(|d| a.max(d))),
    };

    // endpoints: by (kind, name), in the readers' order (name, kind)
    let mut by_key: BTreeMap<(String, String), Vec<&Endpoint>> = BTreeMap::new();
    for p in &parts {
        for e in &p.run.endpoints {
            by_key
                .entry((e.name.clone(), e.kind.clone()))
                .or_default()
                .push(e);
        }
    }
    let span = run.duration_s.filter(|d| *d > 0.0);
    run.endpoints = by_key
        .into_values()
        .map(|es| merge_endpoints(&es, span))
        .collect();
    run.total = super::locust_csv::aggregate(run.endpoints.iter());
    run.total.rps = span.map(|d| run.total.requests as f64 / d);
    run.rps_basis = Some(format!(
        "requests of all {n} load generators ÷ the span from the earliest start to the latest end ({})",
        if run.relative_times {
            "seconds since each generator's start"
        } else {
            "wall time"
        }
    ));

    run.timeline = merge_timelines(parts.iter().map(|p| &p.run));
    run.peak_users = if run.timeline.iter().any(|p| p.users.is_some()) {
        run.timeline.iter().filter_map(|p| p.users).max()
    } else {
        parts
            .iter()
            .map(|p| p.run.peak_users)
            .try_fold(0u64, |a, u| u.map(|u| a + u))
    };

    run.failures = merge_failures(parts.iter().flat_map(|p| p.run.failures.iter()));
    run.exceptions = merge_exceptions(parts.iter().flat_map(|p| p.run.exceptions.iter()));
    run.measured_counts = merge_measured(parts.iter().map(|p| p.run.measured_counts.as_ref()));
    run.measured_window = common(parts.iter().map(|p| p.run.measured_window))
        .flatten()
        .or_else(|| {
            let ws: Option<Vec<_>> = parts.iter().map(|p| p.run.measured_window).collect();
            ws.and_then(|ws| {
                let start = ws.iter().map(|w| w.start).fold(f64::INFINITY, f64::min);
                let end = ws.iter().map(|w| w.end).fold(f64::NEG_INFINITY, f64::max);
                (start <= end).then_some(crate::model::Window { start, end })
            })
        });
    // the load plan of the earliest generator: all of one run share it
    run.steps = parts
        .iter()
        .find(|p| !p.run.steps.is_empty())
        .map(|p| p.run.steps.clone())
        .unwrap_or_default();
    for p in &parts {
        for t in &p.run.tool_thresholds {
            let mut t = t.clone();
            t.rule = format!("{} ({})", t.rule, p.run.label);
            run.tool_thresholds.push(t);
        }
    }
    run.tool_scenarios = merge_scenarios(parts.iter().map(|p| &p.run));
    run.ended_by = common(parts.iter().map(|p| p.run.ended_by.clone())).flatten();
    run.stopped_early = parts
        .iter()
        .filter_map(|p| {
            p.run
                .stopped_early
                .as_ref()
                .map(|w| format!("{}: {w}", p.path.display()))
        })
        .reduce(|a, b| format!("{a}; {b}"));

    run.provenance.push(format!(
        "{} load generators merged ({}): counts add, histograms merge exactly, the timeline sums each second{}.",
        run.generators,
        parts
            .iter()
            .map(|p| p.path.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        if run.relative_times {
            " of `elapsed` (seconds since each generator's start: the generators are assumed to have started together)"
        } else {
            " of wall time"
        }
    ));
    let mut seen = BTreeSet::new();
    for p in &parts {
        for line in &p.run.provenance {
            if seen.insert(line.clone()) {
                run.provenance.push(line.clone());
            }
        }
    }
    Ok(run)
}

/// The value all parts agree on, if they do.
fn common<T: PartialEq>(mut values: impl Iterator<Item = T>) -> Option<T> {
    let first = values.next()?;
    values.all(|v| v == first).then_some(first)
}

fn merge_endpoints(es: &[&Endpoint], span_s: Option<f64>) -> Endpoint {
    let requests: u64 = es.iter().map(|e| e.requests).sum();
    let bytes: Option<f64> = es
        .iter()
        .map(|e| e.avg_content_bytes.map(|b| b * e.requests as f64))
        .try_fold(0.0, |a, b| b.map(|b| a + b));
    let mut status_counts = BTreeMap::new();
    for e in es {
        for (k, v) in &e.status_counts {
            *status_counts.entry(*k).or_insert(0) += v;
        }
    }
    Endpoint {
        kind: es[0].kind.clone(),
        name: es[0].name.clone(),
        requests,
        failures: es.iter().map(|e| e.failures).sum(),
        latency: Latency::merge(es.iter().map(|e| &e.latency)),
        rps: span_s.map(|d| requests as f64 / d),
        avg_content_bytes: bytes.filter(|_| requests > 0).map(|b| b / requests as f64),
        status_counts,
    }
}

/// One point per whole second present in any part; each part contributes the
/// last point it has in that second (its cumulative totals carried forward
/// into seconds where it has none).
fn merge_timelines<'a>(runs: impl Iterator<Item = &'a Run>) -> Vec<TimelinePoint> {
    #[derive(Default)]
    struct Acc {
        users: Option<u64>,
        rps: Option<f64>,
        failures_per_s: Option<f64>,
        exact: BTreeMap<u64, u64>,
        exact_parts: usize,
        parts: usize,
    }
    let runs: Vec<&Run> = runs.collect();
    let mut seconds: BTreeMap<i64, Acc> = BTreeMap::new();
    for run in &runs {
        let mut last_second = None;
        for p in &run.timeline {
            let s = p.t.floor() as i64;
            let acc = seconds.entry(s).or_default();
            // Locust's history can hold two rows in one second: the first counts
            if last_second == Some(s) {
                continue;
            }
            last_second = Some(s);
            acc.parts += 1;
            acc.users = add_opt(acc.users, p.users, |a, b| a + b);
            acc.rps = add_opt(acc.rps, p.rps, |a, b| a + b);
            acc.failures_per_s = add_opt(acc.failures_per_s, p.failures_per_s, |a, b| a + b);
            if let Some(PointLatency::Exact(v)) = &p.latency {
                acc.exact_parts += 1;
                for (k, c) in v {
                    *acc.exact.entry(k).or_insert(0) += c as u64;
                }
            }
        }
    }
    // cumulative totals: each part's last value at or before the second
    let mut cursors = vec![0usize; runs.len()];
    let mut last: Vec<(Option<u64>, Option<u64>)> = vec![(None, None); runs.len()];
    let mut out = Vec::with_capacity(seconds.len());
    for (s, acc) in seconds {
        let mut total_requests = Some(0u64);
        let mut total_failures = Some(0u64);
        for (i, run) in runs.iter().enumerate() {
            while cursors[i] < run.timeline.len() && run.timeline[cursors[i]].t.floor() as i64 <= s
            {
                let p = &run.timeline[cursors[i]];
                last[i] = (p.total_requests, p.total_failures);
                cursors[i] += 1;
            }
            let started = run
                .timeline
                .first()
                .is_some_and(|p| p.t.floor() as i64 <= s);
            let (r, f) = if started { last[i] } else { (Some(0), Some(0)) };
            total_requests = total_requests.zip(r).map(|(a, b)| a + b);
            total_failures = total_failures.zip(f).map(|(a, b)| a + b);
        }
        let all_exact = acc.exact_parts == acc.parts && acc.parts > 0;
        let exact: Vec<(u64, u64)> = acc.exact.into_iter().collect();
        let q = |q: f64| {
            all_exact
                .then(|| exact_quantile(&exact, q))
                .flatten()
                .map(|v| v as f64 / 1000.0)
        };
        out.push(TimelinePoint {
            t: s as f64,
            users: acc.users,
            rps: acc.rps,
            failures_per_s: acc.failures_per_s,
            p50_ms: q(0.5),
            p95_ms: q(0.95),
            p99_ms: None,
            total_requests,
            total_failures,
            latency: all_exact.then(|| {
                PointLatency::Exact(crate::model::ExactSecond::from_sorted(
                    exact
                        .iter()
                        .map(|&(k, c)| (k, c.min(u32::MAX as u64) as u32)),
                ))
            }),
        });
    }
    out
}

fn add_opt<T: Copy>(a: Option<T>, b: Option<T>, f: impl Fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

fn merge_failures<'a>(all: impl Iterator<Item = &'a FailureGroup>) -> Vec<FailureGroup> {
    let mut by: BTreeMap<(String, String, String), FailureGroup> = BTreeMap::new();
    for f in all {
        let key = (f.kind.clone(), f.name.clone(), f.error.clone());
        match by.get_mut(&key) {
            Some(g) => {
                g.occurrences += f.occurrences;
                g.first_seen = add_opt(g.first_seen, f.first_seen, f64::min);
                g.last_seen = add_opt(g.last_seen, f.last_seen, f64::max);
            }
            None => {
                by.insert(key, f.clone());
            }
        }
    }
    let mut out: Vec<FailureGroup> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

fn merge_exceptions<'a>(all: impl Iterator<Item = &'a ExceptionGroup>) -> Vec<ExceptionGroup> {
    let mut out: Vec<ExceptionGroup> = Vec::new();
    for e in all {
        match out
            .iter_mut()
            .find(|x| x.message == e.message && x.traceback == e.traceback)
        {
            Some(x) => {
                x.count += e.count;
                if !x.nodes.split(", ").any(|n| n == e.nodes) && !e.nodes.is_empty() {
                    x.nodes = format!("{}, {}", x.nodes, e.nodes);
                }
            }
            None => out.push(e.clone()),
        }
    }
    out
}

/// Summed only when every part measured the same window: a reset estimated
/// from one shard of a log (or each generator's own reset) is no window of
/// the merged run.
fn merge_measured<'a>(
    all: impl Iterator<Item = Option<&'a MeasuredCounts>>,
) -> Option<MeasuredCounts> {
    let all: Option<Vec<&MeasuredCounts>> = all.collect();
    let all = all?;
    let basis = common(all.iter().map(|m| m.basis.clone()))?;
    Some(MeasuredCounts {
        requests: all.iter().map(|m| m.requests).sum(),
        failures: all.iter().map(|m| m.failures).sum(),
        basis: format!("{basis}, summed over {} load generators", all.len()),
    })
}

fn merge_scenarios<'a>(runs: impl Iterator<Item = &'a Run>) -> Vec<crate::model::ToolScenario> {
    let mut out: Vec<crate::model::ToolScenario> = Vec::new();
    for run in runs {
        for s in &run.tool_scenarios {
            match out.iter_mut().find(|x| x.name == s.name) {
                Some(x) => {
                    let n = x.count + s.count;
                    x.avg_ms = match (x.avg_ms, s.avg_ms) {
                        (Some(a), Some(b)) if n > 0 => {
                            Some((a * x.count as f64 + b * s.count as f64) / n as f64)
                        }
                        _ => None,
                    };
                    x.users += s.users;
                    x.count = n;
                    for t in &s.transactions {
                        match x.transactions.iter_mut().find(|y| y.name == t.name) {
                            Some(y) => {
                                let m = y.count + t.count;
                                y.avg_ms = match (y.avg_ms, t.avg_ms) {
                                    (Some(a), Some(b)) if m > 0 => {
                                        Some((a * y.count as f64 + b * t.count as f64) / m as f64)
                                    }
                                    _ => None,
                                };
                                y.count = m;
                                y.failures += t.failures;
                            }
                            None => x.transactions.push(t.clone()),
                        }
                    }
                }
                None => out.push(s.clone()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(path: &str) -> Part {
        let path = PathBuf::from(path);
        Part {
            run: crate::input::load_run(std::slice::from_ref(&path), None).unwrap(),
            path,
            plan: TestPlan::default(),
        }
    }

    #[test]
    fn two_locust_masters_of_one_run_add_counts_and_histograms() {
        // the same master twice stands for two masters with identical loads:
        // every count doubles, every bucket doubles, percentiles stay (the
        // arithmetic alone: `merge` refuses a file given as two generators)
        let p = "fixtures/locust/monitoring_u30_60s/monitoring_u30_60s.json";
        let one = part(p).run;
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let raw_requests: u64 = raw
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["num_requests"].as_u64().unwrap())
            .sum();
        let merged = merge_parts(vec![part(p), part(p)]).unwrap();
        assert_eq!(merged.generators, 2);
        assert_eq!(merged.total.requests, 2 * raw_requests);
        for (m, o) in merged.endpoints.iter().zip(&one.endpoints) {
            assert_eq!(m.requests, 2 * o.requests);
            assert_eq!(m.failures, 2 * o.failures);
            for q in [50.0, 95.0, 99.0] {
                assert_eq!(m.latency.percentile(q), o.latency.percentile(q));
            }
        }
    }
}

//! Resource use of the server under test, split by load phase, with a leak check.
//!
//! **Phases.** A sample taken before the test started is `idle` (before); one
//! taken once the load ended is `idle` (after). The test's start is the run's
//! start (Locust: the first stats-history row or the JSON's `start_time`,
//! whichever is earlier; Goose: the report's `started` or its first plan step).
//! From the start until the first user level is held for 5 s is the `ramp-up`:
//! neither idle nor a level. After it, each user level held for 5 s or more is a
//! `load at N users` phase, 0 users is `idle`, and shorter levels and Goose's
//! Increasing/Decreasing steps are `changing users`. A held level with fewer than
//! 3 samples is flagged (a note) as too thin to characterise.
//!
//! Locust's users come from the history, whose rows are stamped with the whole
//! second they were written in; the users hold until the test stops, up to a
//! second after the last row, so the load ends at the end of the second of the
//! last row with users (a sample in that second is under load). Goose's load ends
//! at its Finished step. Without a user timeline the load is
//! `run.started..run.ended` at `run.peak_users`.
//!
//! **Idle RSS** is the mean RSS of the samples taken before the test started.
//! **Memory under load** is the largest RSS of any load sample; **peak** the
//! largest of all samples.
//!
//! **CPU** is reported on two bases: % of one core (as sampled, 100 = one core) and
//! % of the measured machine (÷ its cores: the samples' `cpu_count` column, else
//! `--cpu-cores`; never the cores of the machine running perfreport). Without
//! either, CPU is per core only and the machine-% figures are not measured. "CPU under normal load" (`cpu_load_percent`) is the
//! mean over all load samples on the machine basis. p95 is nearest-rank.
//!
//! **Leak check.** The steady window is: for a step run (two or more user levels
//! each held for at least 10 % of the load window) all load samples; otherwise the
//! load samples from the moment the peak user level is first reached to the end of
//! the load. Over it, RSS (MiB) is fitted against time (minutes) by least squares.
//! Retained memory = mean RSS of the idle samples after the load − idle RSS; growth
//! = memory under load − idle RSS. A leak is **suspected** when the slope exceeds
//! `leak_slope_mib_per_min` (default 1 MiB/min: 60 MiB an hour; normal warm-up in
//! the fixtures stays below 0.7 MiB/min), r² ≥ 0.8 (a steady climb, not noise) and
//! the retained memory is more than `retained_fraction` (default ½) of the growth.
//! Growth that is given back after the load is load-proportional memory, not a
//! leak; growth with no samples after the load is inconclusive.

use crate::error::{Error, Result};
use crate::model::{ResourceSample, ResourceSeries, Run, UnixSeconds};
use serde::Serialize;

const MIB: f64 = 1024.0 * 1024.0;

/// Options of the resource analysis.
#[derive(Debug, Clone)]
pub struct ResourceAnalysisOptions {
    /// Cores of the server's machine (`--cpu-cores`), for the machine-basis CPU %
    /// when the samples carry no `cpu_count`; `None` with no `cpu_count` leaves
    /// CPU per core only.
    pub cpu_cores: Option<u32>,
    /// RSS slope above which a steady climb counts as a leak, MiB per minute.
    pub leak_slope_mib_per_min: f64,
    /// Fraction of the growth under load that must still be held after the load
    /// for a leak to be suspected.
    pub retained_fraction: f64,
    /// Minimum r² of the RSS fit for a climb to count as steady.
    pub min_r_squared: f64,
}

impl Default for ResourceAnalysisOptions {
    fn default() -> Self {
        ResourceAnalysisOptions {
            cpu_cores: None,
            leak_slope_mib_per_min: 1.0,
            retained_fraction: 0.5,
            min_r_squared: 0.8,
        }
    }
}

/// Everything the report says about resources. Serialized into the template context.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    /// The sample file.
    pub source: String,
    /// The shape it was read as.
    pub format: String,
    /// Notes from reading and analysing (assumptions, guessed times).
    pub notes: Vec<String>,
    /// Number of samples.
    pub samples: usize,
    /// When the test started (unix s): samples before it are idle.
    pub test_start_unix: UnixSeconds,
    /// When the first user level was reached, after the ramp-up (unix s).
    pub load_start_unix: UnixSeconds,
    /// When the load ended (unix s): samples from it on are idle.
    pub load_end_unix: UnixSeconds,
    /// How the test's start and end were found.
    pub phase_basis: String,
    /// How CPU % is expressed.
    pub cpu_basis: CpuBasis,
    /// Phases in order: idle before, load levels by users, idle at 0 users, idle after.
    pub phases: Vec<Phase>,
    /// Contiguous stretches of samples with the same label, in time order (for charts).
    pub segments: Vec<Segment>,
    /// Memory summary.
    pub memory: Memory,
    /// CPU summary.
    pub cpu: Cpu,
    /// Leak analysis.
    pub leak: Leak,
    /// Bandwidth.
    pub network: Network,
    /// Connections, from open file descriptors.
    pub connections: Connections,
    /// Measured: mean RSS before the load, bytes.
    pub rss_idle_bytes: Option<f64>,
    /// Measured: largest RSS under load, bytes.
    pub rss_load_bytes: Option<f64>,
    /// Measured: mean CPU over the load samples, % of the machine.
    pub cpu_load_percent: Option<f64>,
    /// Measured: RSS slope over the steady window, bytes per minute.
    pub leak_slope_bytes_per_min: Option<f64>,
}

/// The basis of the machine-wide CPU figures.
#[derive(Debug, Clone, Serialize)]
pub struct CpuBasis {
    /// Cores of the measured machine divided by; `None` when unknown (CPU is
    /// then per core only).
    pub cores: Option<u32>,
    /// Where the core count came from.
    pub cores_from: String,
    /// One sentence for the report.
    pub sentence: String,
}

/// Which kind of phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    /// Before the test started.
    IdleBefore,
    /// From the test's start until the first user level is held: not idle, and
    /// not a level either.
    RampUp,
    /// A user level held for at least 5 s (or unknown users).
    Load,
    /// Between held levels: levels held for less than 5 s, ramping up or down.
    Transition,
    /// Inside the test at 0 users, after a level was held.
    IdleZeroUsers,
    /// After the load ended.
    IdleAfter,
}

/// Statistics of one quantity over a phase.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    /// Mean.
    pub mean: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Maximum.
    pub max: f64,
}

/// One phase of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// `idle` or `load at N users`.
    pub label: String,
    /// Which kind.
    pub kind: PhaseKind,
    /// Users at this level (load phases).
    pub users: Option<u64>,
    /// Samples in the phase.
    pub samples: usize,
    /// First sample time.
    pub start_unix: UnixSeconds,
    /// Last sample time.
    pub end_unix: UnixSeconds,
    /// Seconds from the first to the last sample.
    pub span_s: f64,
    /// Mean RSS, bytes.
    pub rss_mean_bytes: Option<f64>,
    /// Largest RSS, bytes.
    pub rss_max_bytes: Option<f64>,
    /// Mean VMS, bytes.
    pub vms_mean_bytes: Option<f64>,
    /// Largest VMS, bytes.
    pub vms_max_bytes: Option<f64>,
    /// CPU, % of one core.
    pub cpu_core_percent: Option<Stats>,
    /// CPU, % of the machine.
    pub cpu_machine_percent: Option<Stats>,
    /// Open file descriptors, largest.
    pub fds_max: Option<f64>,
    /// A held level with too few samples to characterise it.
    pub few_samples: bool,
}

/// Contiguous samples with one label.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// The phase label.
    pub label: String,
    /// Which kind.
    pub kind: PhaseKind,
    /// First sample time.
    pub start_unix: UnixSeconds,
    /// Last sample time.
    pub end_unix: UnixSeconds,
}

/// Memory summary.
#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Mean RSS before the load, bytes.
    pub rss_idle_bytes: Option<f64>,
    /// Mean VMS before the load, bytes.
    pub vms_idle_bytes: Option<f64>,
    /// Largest RSS under load, bytes.
    pub rss_load_bytes: Option<f64>,
    /// Largest RSS of all samples, bytes.
    pub rss_peak_bytes: Option<f64>,
    /// When the peak was sampled.
    pub rss_peak_unix: Option<UnixSeconds>,
    /// Mean RSS after the load, bytes.
    pub rss_after_bytes: Option<f64>,
    /// How idle RSS is defined, for the report.
    pub idle_definition: String,
}

/// CPU summary.
#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    /// Mean before the load, % of the machine.
    pub idle_machine_percent: Option<f64>,
    /// Mean before the load, % of one core.
    pub idle_core_percent: Option<f64>,
    /// Mean over all load samples, % of the machine.
    pub load_machine_percent: Option<f64>,
    /// Mean over all load samples, % of one core.
    pub load_core_percent: Option<f64>,
    /// Largest load-phase p95, % of one core.
    pub load_p95_core_percent: Option<f64>,
    /// Whether the CPU looks like the bottleneck.
    pub bottleneck: bool,
    /// A sentence on CPU bottlenecks.
    pub bottleneck_sentence: String,
}

/// Leak verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakVerdict {
    /// Steady growth that was not released after the load.
    Suspected,
    /// No steady growth, or growth that was released.
    NotSuspected,
    /// Not enough data to tell.
    Inconclusive,
}

/// Leak analysis over the steady window.
#[derive(Debug, Clone, Serialize)]
pub struct Leak {
    /// The verdict.
    pub verdict: LeakVerdict,
    /// The verdict as a plain sentence.
    pub sentence: String,
    /// How the steady window was chosen.
    pub window_definition: String,
    /// Start of the steady window (unix s).
    pub window_start_unix: Option<UnixSeconds>,
    /// End of the steady window (unix s).
    pub window_end_unix: Option<UnixSeconds>,
    /// Samples in the fit.
    pub samples: usize,
    /// Least-squares RSS slope, MiB per minute.
    pub slope_mib_per_min: Option<f64>,
    /// Coefficient of determination of the fit.
    pub r_squared: Option<f64>,
    /// Memory under load − idle RSS, bytes.
    pub growth_bytes: Option<f64>,
    /// Mean RSS after the load − idle RSS, bytes.
    pub retained_bytes: Option<f64>,
    /// The slope threshold used, MiB per minute.
    pub threshold_mib_per_min: f64,
    /// The r² threshold used.
    pub min_r_squared: f64,
    /// The retained fraction threshold used.
    pub retained_fraction: f64,
}

/// Bandwidth figures.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    /// Request (received by the server) bandwidth, bytes/s, from sampled counters.
    pub request_bytes_per_s: Option<f64>,
    /// Response bandwidth, bytes/s.
    pub response_bytes_per_s: Option<f64>,
    /// Where the response figure came from.
    pub response_from: String,
    /// Request + response, bytes/s, when both are known.
    pub total_bytes_per_s: Option<f64>,
    /// Bytes received by the server over the load window (sampled counters).
    pub received_bytes: Option<f64>,
    /// Bytes sent by the server over the load window (sampled counters).
    pub sent_bytes: Option<f64>,
    /// How the request figure was obtained, or why it is missing.
    pub request_from: String,
}

/// Connection figures from open file descriptors.
#[derive(Debug, Clone, Serialize)]
pub struct Connections {
    /// Whether `num_fds` was sampled.
    pub sampled: bool,
    /// Smallest fd count before the load (the server's own files and listening socket).
    pub baseline_fds: Option<f64>,
    /// Mean fds above the baseline under load: active connections, upper bound.
    pub active_mean: Option<f64>,
    /// Mean fds above the baseline after the load: connections left open, upper bound.
    pub idle_after: Option<f64>,
    /// Largest fds above the baseline under load.
    pub max: Option<f64>,
    /// How the figures are defined, or why they are missing.
    pub method: String,
}

/// A level must be held this long to be a "load at N users" phase; shorter
/// levels are steps of a ramp.
const MIN_HELD_S: f64 = 5.0;
/// A held level with fewer samples than this is flagged: its figures say little.
const MIN_LEVEL_SAMPLES: usize = 3;

/// What the run was doing from some moment on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stretch {
    /// Users at a level (`None` = unknown users).
    Users(Option<u64>),
    /// The tool was starting or stopping users (Goose's Increasing/Decreasing).
    Ramp,
}

/// How the run's users are laid out in time.
struct Plan {
    /// When the test started: every sample before it is idle.
    start: UnixSeconds,
    /// When the load ended: every sample from it on is idle.
    end: UnixSeconds,
    /// Inside the test: (from, kind, users) in time order.
    parts: Vec<(UnixSeconds, PhaseKind, Option<u64>)>,
    /// How the start and end were found, for the report.
    basis: String,
}

impl Plan {
    fn of(run: &Run) -> Result<Plan> {
        if !run.steps.is_empty() {
            return Ok(Self::of_steps(run));
        }
        let ticks: Vec<(f64, u64)> = run
            .timeline
            .iter()
            .filter_map(|p| p.users.map(|u| (p.t, u)))
            .collect();
        let first = ticks.iter().find(|(_, u)| *u > 0);
        let last = ticks.iter().rev().find(|(_, u)| *u > 0);
        if let (Some(f), Some(l)) = (first, last) {
            let start = run.started.unwrap_or(ticks[0].0).min(ticks[0].0).min(f.0);
            // Locust stamps history rows with the whole second they were written
            // in, and its users run on until the test stops, up to a second after
            // the last row: the load lasts to the end of that row's second.
            let mut end = if run.tool == crate::model::Tool::Locust {
                l.0 + 1.0
            } else {
                l.0
            };
            let history_end = ticks.last().map(|t| t.0).unwrap_or(l.0);
            if let Some(e) = run.ended.filter(|e| *e > history_end) {
                // The history stops before the run did (older Locust at shutdown).
                end = end.max(e);
            }
            let stretches = ticks
                .iter()
                .filter(|(t, _)| *t < end)
                .map(|(t, u)| (*t, Stretch::Users(Some(*u))))
                .collect();
            let basis = if run.tool == crate::model::Tool::Locust {
                format!(
                    "the test ran from {} to {}: from the run's start to the end of the second of the last stats-history row with users, as history rows are whole seconds",
                    utc(start),
                    utc(end)
                )
            } else {
                format!(
                    "the test ran from {} to {}, the last timeline point with users",
                    utc(start),
                    utc(end)
                )
            };
            return Ok(Self::build(start, end, stretches, basis));
        }
        if let (Some(s), Some(e)) = (run.started, run.ended) {
            return Ok(Plan {
                start: s,
                end: e,
                parts: vec![(s, PhaseKind::Load, run.peak_users)],
                basis: format!(
                    "the test ran from {} to {}, the run's start and end; without a user timeline no ramp-up is told apart",
                    utc(s),
                    utc(e)
                ),
            });
        }
        Err(Error::Usage(format!(
            "run `{}` has no timeline, load steps or start/end times, so resource samples cannot be placed in it; give Locust's stats history or Goose's report.json",
            run.label
        )))
    }

    /// Goose's plan history: Increasing/Decreasing steps are ramps, Maintaining
    /// holds the step's users, Finished (0 users) ends the load.
    fn of_steps(run: &Run) -> Plan {
        let mut steps = run.steps.clone();
        steps.sort_by(|a, b| a.start.total_cmp(&b.start));
        let first = steps[0].start;
        // Goose's `started` is a whole second, which may be before the first step.
        let start = run.started.map_or(first, |s| s.min(first));
        let finished = steps
            .iter()
            .skip(1)
            .find(|s| s.users == 0 && !is_ramp(&s.action));
        let end = match finished {
            Some(f) => f.start,
            None => run.ended.unwrap_or(first).max(steps[steps.len() - 1].start),
        };
        let stretches = steps
            .iter()
            .filter(|s| s.start < end)
            .map(|s| {
                let k = if is_ramp(&s.action) {
                    Stretch::Ramp
                } else {
                    Stretch::Users(Some(s.users))
                };
                (s.start, k)
            })
            .collect();
        let basis = format!(
            "the test ran from {} to {}: from the run's start to {}; Goose's Increasing and Decreasing steps are ramps",
            utc(start),
            utc(end),
            if finished.is_some() {
                "the Finished step"
            } else {
                "the run's end"
            }
        );
        Self::build(start, end, stretches, basis)
    }

    /// Name every stretch: the ones before the first level held for
    /// [`MIN_HELD_S`] are the ramp-up; after it, a held level is `load at N
    /// users`, 0 users is idle, anything shorter or ramping is a transition.
    fn build(
        start: UnixSeconds,
        end: UnixSeconds,
        stretches: Vec<(UnixSeconds, Stretch)>,
        basis: String,
    ) -> Plan {
        let mut merged: Vec<(UnixSeconds, Stretch)> = Vec::new();
        for (t, k) in stretches {
            if merged.last().is_none_or(|m| m.1 != k) {
                merged.push((t, k));
            }
        }
        let held: Vec<bool> = merged
            .iter()
            .enumerate()
            .map(|(i, (from, k))| {
                let to = merged.get(i + 1).map_or(end, |n| n.0);
                matches!(k, Stretch::Users(u) if *u != Some(0)) && to - from >= MIN_HELD_S
            })
            .collect();
        // A run too short to hold any level for MIN_HELD_S: its longest level is the load.
        let fallback = if held.iter().any(|h| *h) {
            None
        } else {
            (0..merged.len())
                .filter(|&i| matches!(merged[i].1, Stretch::Users(u) if u != Some(0)))
                .max_by(|&a, &b| {
                    let d = |i: usize| merged.get(i + 1).map_or(end, |n| n.0) - merged[i].0;
                    d(a).total_cmp(&d(b))
                })
        };
        let is_held = |i: usize| held[i] || fallback == Some(i);
        let first_held = (0..merged.len()).find(|&i| is_held(i));
        let parts = merged
            .iter()
            .enumerate()
            .map(|(i, (from, k))| {
                let users = match k {
                    Stretch::Users(u) => *u,
                    Stretch::Ramp => None,
                };
                let kind = match first_held {
                    None => PhaseKind::RampUp,
                    Some(f) if i < f => PhaseKind::RampUp,
                    _ if is_held(i) => PhaseKind::Load,
                    _ if users == Some(0) && *k != Stretch::Ramp => PhaseKind::IdleZeroUsers,
                    _ => PhaseKind::Transition,
                };
                let users = if kind == PhaseKind::Load || kind == PhaseKind::IdleZeroUsers {
                    users
                } else {
                    None
                };
                (from.max(start), kind, users)
            })
            .collect();
        Plan {
            start,
            end,
            parts,
            basis,
        }
    }

    /// The kind and users of a sample at `t`.
    fn classify(&self, t: UnixSeconds) -> (PhaseKind, Option<u64>) {
        if t < self.start {
            return (PhaseKind::IdleBefore, None);
        }
        if t >= self.end {
            return (PhaseKind::IdleAfter, None);
        }
        self.parts
            .iter()
            .rev()
            .find(|(from, _, _)| *from <= t)
            .map(|(_, k, u)| (*k, *u))
            // Between the start and the first timeline point: starting up.
            .unwrap_or((PhaseKind::RampUp, None))
    }

    /// Seconds each held user level lasts inside the load window.
    fn held_seconds(&self) -> Vec<(u64, f64)> {
        let mut out: Vec<(u64, f64)> = Vec::new();
        for (i, (from, kind, users)) in self.parts.iter().enumerate() {
            let (PhaseKind::Load, Some(u)) = (kind, users) else {
                continue;
            };
            let to = self
                .parts
                .get(i + 1)
                .map_or(self.end, |n| n.0)
                .min(self.end);
            let d = (to - from).max(0.0);
            match out.iter_mut().find(|(l, _)| *l == *u) {
                Some(e) => e.1 += d,
                None => out.push((*u, d)),
            }
        }
        out
    }

    /// When the first held level begins (the end of the ramp-up).
    fn load_start(&self) -> UnixSeconds {
        self.parts
            .iter()
            .find(|p| p.1 == PhaseKind::Load)
            .map_or(self.start, |p| p.0)
    }
}

/// Goose's plan steps that start or stop users.
fn is_ramp(action: &str) -> bool {
    matches!(action, "Increasing" | "Decreasing")
}

fn utc(t: f64) -> String {
    jiff::Timestamp::from_microsecond((t * 1e6) as i64)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| format!("{t}"))
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn max(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::max)
}

/// Mean, nearest-rank p95 and max.
fn stats(v: &[f64]) -> Option<Stats> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return None;
    }
    let rank = ((0.95 * n as f64).ceil() as usize).clamp(1, n);
    Some(Stats {
        mean: mean(&s)?,
        p95: s[rank - 1],
        max: s[n - 1],
    })
}

fn scale(s: Stats, by: f64) -> Stats {
    Stats {
        mean: s.mean / by,
        p95: s.p95 / by,
        max: s.max / by,
    }
}

/// Least-squares slope and r² of y against x.
pub fn linear_fit(xs: &[f64], ys: &[f64]) -> Option<(f64, f64)> {
    let n = xs.len();
    if n < 2 || n != ys.len() {
        return None;
    }
    let mx = mean(xs)?;
    let my = mean(ys)?;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
        syy += (y - my) * (y - my);
    }
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    // A flat line explains a flat series perfectly, but there is no trend: r² = 0.
    let r2 = if syy == 0.0 {
        0.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    Some((slope, r2))
}

fn rss(s: &[&ResourceSample]) -> Vec<f64> {
    s.iter().filter_map(|s| s.rss_bytes).collect()
}
fn vms(s: &[&ResourceSample]) -> Vec<f64> {
    s.iter().filter_map(|s| s.vms_bytes).collect()
}
fn cpu(s: &[&ResourceSample]) -> Vec<f64> {
    s.iter().filter_map(|s| s.cpu_percent).collect()
}
fn extra(s: &[&ResourceSample], name: &str) -> Vec<f64> {
    s.iter()
        .filter_map(|s| s.extra.get(name).copied())
        .collect()
}

fn phase_label(kind: PhaseKind, users: Option<u64>) -> String {
    match (kind, users) {
        (PhaseKind::Load, Some(u)) => format!("load at {u} users"),
        (PhaseKind::Load, None) => "load".into(),
        (PhaseKind::RampUp, _) => "ramp-up".into(),
        (PhaseKind::Transition, _) => "changing users".into(),
        _ => "idle".into(),
    }
}

/// The label of every sample, in order: `idle` or `load at N users`, with its kind and users.
pub fn label_samples(
    run: &Run,
    series: &ResourceSeries,
) -> Result<Vec<(PhaseKind, Option<u64>, String)>> {
    let plan = Plan::of(run)?;
    Ok(series
        .samples
        .iter()
        .map(|s| {
            let (k, u) = plan.classify(s.t);
            (k, u, phase_label(k, u))
        })
        .collect())
}

/// The measured machine's cores: the samples' `cpu_count` column, else the
/// given count, else unknown. Never this machine's: the file may be read
/// anywhere (`taskset -c 0` used to halve the figures).
fn core_count(
    series: &ResourceSeries,
    given: Option<u32>,
    notes: &mut Vec<String>,
) -> (Option<u32>, String) {
    let mut counts: Vec<u32> = series
        .samples
        .iter()
        .filter_map(|s| s.extra.get("cpu_count"))
        .filter(|c| c.is_finite() && **c >= 1.0 && c.fract() == 0.0 && **c <= 1e6)
        .map(|c| *c as u32)
        .collect();
    counts.sort_unstable();
    counts.dedup();
    let given = given.filter(|c| *c > 0);
    match (counts.last(), given) {
        (Some(&c), g) => {
            if counts.len() > 1 {
                notes.push(format!(
                    "The samples' cpu_count varies ({}); the largest, {c}, is used.",
                    counts
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if let Some(g) = g.filter(|g| *g != c) {
                notes.push(format!(
                    "--cpu-cores {g} was ignored: the samples say the measured machine has {c} logical CPUs (cpu_count)."
                ));
            }
            (Some(c), "the samples' cpu_count column".into())
        }
        (None, Some(g)) => (Some(g), "given: --cpu-cores or the config's cpu_cores".into()),
        (None, None) => (
            None,
            "the measured machine's core count is unknown (the samples have no cpu_count column and --cpu-cores was not given)".into(),
        ),
    }
}

/// Analyse resource samples against a run.
pub fn analyze(
    run: &Run,
    series: &ResourceSeries,
    opts: &ResourceAnalysisOptions,
) -> Result<ResourceReport> {
    let plan = Plan::of(run)?;
    let (Some(first), Some(last)) = (series.samples.first(), series.samples.last()) else {
        return Err(Error::Usage(format!(
            "{}: no resource samples",
            series.source.display()
        )));
    };
    if last.t < plan.start || first.t > plan.end {
        return Err(Error::Usage(format!(
            "{}: the resource samples ({} .. {}) and the run `{}` ({} .. {}) do not overlap in time; were they recorded for this run? (all times UTC)",
            series.source.display(),
            utc(first.t),
            utc(last.t),
            run.label,
            utc(plan.start),
            utc(plan.end)
        )));
    }
    let mut notes = series.notes.clone();
    let (cores, cores_from) = core_count(series, opts.cpu_cores, &mut notes);
    let cores_f = cores.map(f64::from);
    let classes: Vec<(PhaseKind, Option<u64>)> =
        series.samples.iter().map(|s| plan.classify(s.t)).collect();
    let pick = |f: &dyn Fn(PhaseKind, Option<u64>) -> bool| -> Vec<&ResourceSample> {
        series
            .samples
            .iter()
            .zip(&classes)
            .filter(|(_, (k, u))| f(*k, *u))
            .map(|(s, _)| s)
            .collect()
    };
    let before = pick(&|k, _| k == PhaseKind::IdleBefore);
    let after = pick(&|k, _| k == PhaseKind::IdleAfter);
    let load = pick(&|k, _| k == PhaseKind::Load);

    // Phases.
    let mut keys: Vec<(PhaseKind, Option<u64>)> = Vec::new();
    for c in &classes {
        if !keys.contains(c) {
            keys.push(*c);
        }
    }
    let order = |k: &(PhaseKind, Option<u64>)| match k.0 {
        PhaseKind::IdleBefore => (0, 0),
        PhaseKind::RampUp => (1, 0),
        PhaseKind::Load => (2, k.1.unwrap_or(0)),
        PhaseKind::Transition => (3, 0),
        PhaseKind::IdleZeroUsers => (4, 0),
        PhaseKind::IdleAfter => (5, 0),
    };
    keys.sort_by_key(order);
    let baseline_fds = {
        let b = extra(&before, "num_fds");
        b.into_iter().reduce(f64::min)
    };
    let phases: Vec<Phase> = keys
        .iter()
        .map(|key| {
            let s = pick(&|k, u| (k, u) == *key);
            let c = cpu(&s);
            let start = s.first().map(|x| x.t).unwrap_or(0.0);
            let end = s.last().map(|x| x.t).unwrap_or(0.0);
            Phase {
                label: phase_label(key.0, key.1),
                kind: key.0,
                users: key.1,
                samples: s.len(),
                start_unix: start,
                end_unix: end,
                span_s: end - start,
                rss_mean_bytes: mean(&rss(&s)),
                rss_max_bytes: max(&rss(&s)),
                vms_mean_bytes: mean(&vms(&s)),
                vms_max_bytes: max(&vms(&s)),
                cpu_core_percent: stats(&c),
                cpu_machine_percent: stats(&c).zip(cores_f).map(|(x, n)| scale(x, n)),
                fds_max: max(&extra(&s, "num_fds")),
                few_samples: key.0 == PhaseKind::Load && s.len() < MIN_LEVEL_SAMPLES,
            }
        })
        .collect();
    for p in phases.iter().filter(|p| p.few_samples) {
        notes.push(format!(
            "{}: only {} sample(s) in {:.0} s, too few to characterise the level; its figures are shown but say little (sample more often).",
            p.label, p.samples, p.span_s
        ));
    }
    let mut segments: Vec<Segment> = Vec::new();
    for (s, (k, u)) in series.samples.iter().zip(&classes) {
        let label = phase_label(*k, *u);
        match segments.last_mut() {
            Some(seg) if seg.label == label && seg.kind == *k => seg.end_unix = s.t,
            _ => segments.push(Segment {
                label,
                kind: *k,
                start_unix: s.t,
                end_unix: s.t,
            }),
        }
    }

    // Memory.
    let rss_idle = mean(&rss(&before));
    let rss_load = max(&rss(&load));
    let peak = series
        .samples
        .iter()
        .filter_map(|s| s.rss_bytes.map(|r| (r, s.t)))
        .reduce(|a, b| if b.0 > a.0 { b } else { a });
    let rss_after = mean(&rss(&after));
    let memory = Memory {
        rss_idle_bytes: rss_idle,
        vms_idle_bytes: mean(&vms(&before)),
        rss_load_bytes: rss_load,
        rss_peak_bytes: peak.map(|p| p.0),
        rss_peak_unix: peak.map(|p| p.1),
        rss_after_bytes: rss_after,
        idle_definition: format!(
            "mean of the {} samples taken before the test started; the ramp-up is not idle; {}",
            before.len(),
            plan.basis
        ),
    };

    // CPU.
    let idle_core = mean(&cpu(&before));
    let load_core = mean(&cpu(&load));
    let worst = phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Load)
        .filter_map(|p| p.cpu_core_percent.map(|c| (p, c.p95)))
        .reduce(|a, b| if b.1 > a.1 { b } else { a });
    let (bottleneck, bottleneck_sentence) = match (worst, cores) {
        (None, _) => (false, "CPU was not sampled under load.".to_string()),
        (Some((p, p95)), Some(cores)) if p95 / f64::from(cores) >= 85.0 => (
            true,
            format!(
                "CPU-bound: at {} the p95 is {:.0} % of the {cores}-core machine ({p95:.0} % of one core).",
                p.label,
                p95 / f64::from(cores)
            ),
        ),
        (Some((p, p95)), _) if p95 >= 85.0 => (
            true,
            format!(
                "Possibly CPU-bound on one core: at {} the p95 is {p95:.0} % of one core{}; a single-threaded server (one Python worker) cannot use more than one core.",
                p.label,
                cores.map_or(String::new(), |c| format!(
                    " ({:.0} % of the {c}-core machine)",
                    p95 / f64::from(c)
                ))
            ),
        ),
        (Some((p, p95)), _) => (
            false,
            format!(
                "No CPU bottleneck: the highest load-phase p95 is {p95:.1} % of one core{}, at {}.",
                cores.map_or(String::new(), |c| format!(
                    " ({:.1} % of the {c}-core machine)",
                    p95 / f64::from(c)
                )),
                p.label
            ),
        ),
    };
    let cpu_summary = Cpu {
        idle_machine_percent: idle_core.zip(cores_f).map(|(c, n)| c / n),
        idle_core_percent: idle_core,
        load_machine_percent: load_core.zip(cores_f).map(|(c, n)| c / n),
        load_core_percent: load_core,
        load_p95_core_percent: worst.map(|w| w.1),
        bottleneck,
        bottleneck_sentence,
    };

    let leak = leak(
        &plan,
        &load,
        &classes,
        series,
        rss_idle,
        rss_load,
        rss_after,
        after.len(),
        opts,
    );
    let network = network(run, &load);
    let connections = connections(baseline_fds, &load, &after, &before);

    if before.is_empty() {
        notes.push("No samples before the load: idle figures are missing; start the sampler before the test.".into());
    }
    if after.is_empty() {
        notes.push("No samples after the load: whether memory is released cannot be told; keep the sampler running after the test.".into());
    }
    Ok(ResourceReport {
        source: series.source.display().to_string(),
        format: series.format.clone(),
        notes,
        samples: series.samples.len(),
        test_start_unix: plan.start,
        load_start_unix: plan.load_start(),
        load_end_unix: plan.end,
        phase_basis: plan.basis.clone(),
        cpu_basis: CpuBasis {
            cores,
            sentence: match cores {
                Some(c) => {
                    format!("CPU % of the whole machine: % of one core ÷ {c} cores ({cores_from}).")
                }
                None => format!(
                    "CPU is shown in % of one core only: {cores_from}, so % of the machine is not measured (pass --cpu-cores N)."
                ),
            },
            cores_from,
        },
        rss_idle_bytes: rss_idle,
        rss_load_bytes: rss_load,
        cpu_load_percent: cpu_summary.load_machine_percent,
        leak_slope_bytes_per_min: leak.slope_mib_per_min.map(|s| s * MIB),
        phases,
        segments,
        memory,
        cpu: cpu_summary,
        leak,
        network,
        connections,
    })
}

#[allow(clippy::too_many_arguments)]
fn leak(
    plan: &Plan,
    load: &[&ResourceSample],
    classes: &[(PhaseKind, Option<u64>)],
    series: &ResourceSeries,
    rss_idle: Option<f64>,
    rss_load: Option<f64>,
    rss_after: Option<f64>,
    n_after: usize,
    opts: &ResourceAnalysisOptions,
) -> Leak {
    let load_s = plan.end - plan.start;
    let held: Vec<u64> = plan
        .held_seconds()
        .into_iter()
        .filter(|(_, d)| *d >= 0.1 * load_s)
        .map(|(u, _)| u)
        .collect();
    let peak_users = classes
        .iter()
        .filter(|(k, _)| *k == PhaseKind::Load)
        .filter_map(|(_, u)| *u)
        .max();
    let (window, definition): (Vec<&ResourceSample>, String) = if held.len() >= 2 {
        (
            load.to_vec(),
            format!(
                "all load samples (a step run: {} user levels each held for at least 10 % of the load)",
                held.len()
            ),
        )
    } else {
        let reached = series
            .samples
            .iter()
            .zip(classes)
            .find(|(_, (k, u))| *k == PhaseKind::Load && *u == peak_users)
            .map(|(s, _)| s.t);
        let w = load
            .iter()
            .filter(|s| reached.is_some_and(|r| s.t >= r))
            .copied()
            .collect();
        (
            w,
            "the load samples from when the peak user level was first reached to the end of the load".into(),
        )
    };
    let pts: Vec<(f64, f64)> = window
        .iter()
        .filter_map(|s| s.rss_bytes.map(|r| (s.t / 60.0, r / MIB)))
        .collect();
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let fit = if pts.len() >= 5 {
        linear_fit(&xs, &ys)
    } else {
        None
    };
    let growth = rss_load.zip(rss_idle).map(|(l, i)| l - i);
    let retained = rss_after.zip(rss_idle).map(|(a, i)| a - i);
    let mib = |b: f64| b / MIB;
    let (verdict, sentence) = match fit {
        None => (
            LeakVerdict::Inconclusive,
            format!(
                "Leak check inconclusive: only {} RSS samples in the steady window (at least 5 needed).",
                pts.len()
            ),
        ),
        Some((slope, r2)) if slope <= opts.leak_slope_mib_per_min || r2 < opts.min_r_squared => (
            LeakVerdict::NotSuspected,
            format!(
                "No memory leak suspected: RSS changed by {slope:.2} MiB/min (r² = {r2:.2}) under steady load, {}.",
                if slope <= opts.leak_slope_mib_per_min {
                    format!(
                        "at most the {} MiB/min threshold",
                        opts.leak_slope_mib_per_min
                    )
                } else {
                    format!("not a steady climb (r² below {})", opts.min_r_squared)
                }
            ),
        ),
        Some((slope, r2)) => match (retained, growth) {
            (Some(ret), Some(gr)) if ret > opts.retained_fraction * gr => (
                LeakVerdict::Suspected,
                format!(
                    "Memory leak suspected: RSS grew steadily by {slope:.2} MiB/min (r² = {r2:.2}) under load, and {} after the load (idle {:.1} MiB before, {:.1} MiB after).",
                    if ret >= gr {
                        format!(
                            "all of its {:.1} MiB growth was still held, {:.1} MiB above the idle level,",
                            mib(gr),
                            mib(ret)
                        )
                    } else {
                        format!(
                            "{:.1} MiB of the {:.1} MiB growth was still held",
                            mib(ret),
                            mib(gr)
                        )
                    },
                    mib(rss_idle.unwrap_or(0.0)),
                    mib(rss_after.unwrap_or(0.0))
                ),
            ),
            (Some(ret), Some(gr)) => (
                LeakVerdict::NotSuspected,
                format!(
                    "No memory leak suspected: RSS grew by {slope:.2} MiB/min (r² = {r2:.2}) under load but was released afterwards ({:.1} of {:.1} MiB retained): memory that follows the load.",
                    mib(ret),
                    mib(gr)
                ),
            ),
            _ => (
                LeakVerdict::Inconclusive,
                format!(
                    "Possible memory leak: RSS grew steadily by {slope:.2} MiB/min (r² = {r2:.2}) under load, but with {} the release of memory cannot be checked.",
                    if n_after == 0 {
                        "no samples after the load"
                    } else {
                        "no samples before the load"
                    }
                ),
            ),
        },
    };
    Leak {
        verdict,
        sentence,
        window_definition: definition,
        window_start_unix: window.first().map(|s| s.t),
        window_end_unix: window.last().map(|s| s.t),
        samples: pts.len(),
        slope_mib_per_min: fit.map(|f| f.0),
        r_squared: fit.map(|f| f.1),
        growth_bytes: growth,
        retained_bytes: retained,
        threshold_mib_per_min: opts.leak_slope_mib_per_min,
        min_r_squared: opts.min_r_squared,
        retained_fraction: opts.retained_fraction,
    }
}

/// Increase of a cumulative counter over the samples, with its time span.
fn counter_delta(s: &[&ResourceSample], names: &[&str]) -> Option<(f64, f64)> {
    let with: Vec<(f64, f64)> = s
        .iter()
        .filter_map(|x| {
            names
                .iter()
                .find_map(|n| x.extra.get(*n))
                .map(|v| (x.t, *v))
        })
        .collect();
    let (first, last) = (with.first()?, with.last()?);
    let span = last.0 - first.0;
    (span > 0.0 && last.1 >= first.1).then_some((last.1 - first.1, span))
}

fn network(run: &Run, load: &[&ResourceSample]) -> Network {
    let rx = counter_delta(load, &["net_rx_bytes", "bytes_recv"]);
    let tx = counter_delta(load, &["net_tx_bytes", "bytes_sent"]);
    let from_run = match (run.total.avg_content_bytes, run.duration_s) {
        (Some(avg), Some(d)) if d > 0.0 && run.total.requests > 0 => {
            Some(avg * run.total.requests as f64 / d)
        }
        _ => None,
    };
    let (response, response_from) = match (from_run, tx) {
        (Some(r), _) => (
            Some(r),
            "average response size × requests ÷ test duration, from the load-test stats (bodies only, no headers)".to_string(),
        ),
        (None, Some((b, span))) => (
            Some(b / span),
            "bytes sent by the server under load, from the sampled counters".to_string(),
        ),
        (None, None) => (None, "not measured: the stats have no response size".to_string()),
    };
    let request = rx.map(|(b, span)| b / span);
    Network {
        request_bytes_per_s: request,
        response_bytes_per_s: response,
        response_from,
        total_bytes_per_s: request.zip(response).map(|(a, b)| a + b),
        received_bytes: rx.map(|r| r.0),
        sent_bytes: tx.map(|t| t.0),
        request_from: if rx.is_some() {
            "bytes received by the server under load, from the sampled network counters".into()
        } else {
            "not sampled (the samples have no network counters such as docker stats NetIO)".into()
        },
    }
}

fn connections(
    baseline: Option<f64>,
    load: &[&ResourceSample],
    after: &[&ResourceSample],
    before: &[&ResourceSample],
) -> Connections {
    let load_fds = extra(load, "num_fds");
    let sampled = !load_fds.is_empty();
    let Some(base) = baseline.filter(|_| sampled) else {
        return Connections {
            sampled,
            baseline_fds: None,
            active_mean: None,
            idle_after: None,
            max: None,
            method: if sampled && before.is_empty() {
                "not measured: num_fds was sampled, but not before the load, so there is no baseline".into()
            } else {
                "not sampled (no num_fds column)".into()
            },
        };
    };
    let above = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| (x - base).max(0.0)).collect() };
    Connections {
        sampled,
        baseline_fds: Some(base),
        active_mean: mean(&above(&load_fds)),
        idle_after: mean(&above(&extra(after, "num_fds"))),
        max: max(&above(&load_fds)),
        method: format!(
            "open file descriptors above the idle baseline ({base:.0}, the fewest before the load): every open connection holds one, so these are upper bounds on connections (other files count too)"
        ),
    }
}

impl ResourceReport {
    /// The measured values the memory/CPU targets are evaluated against.
    pub fn figures(&self) -> crate::targets::ResourceFigures {
        crate::targets::ResourceFigures {
            rss_idle_bytes: self.rss_idle_bytes,
            rss_load_bytes: self.rss_load_bytes,
            cpu_load_percent: self.cpu_load_percent,
            leak_slope_bytes_per_min: self.leak_slope_bytes_per_min,
            cpu_basis: match self.cpu_basis.cores {
                Some(c) => format!(
                    "CPU in % of the machine's {c} cores ({})",
                    self.cpu_basis.cores_from
                ),
                None => format!(
                    "CPU % of the machine is not measured: {}; pass --cpu-cores N",
                    self.cpu_basis.cores_from
                ),
            },
        }
    }
}

//! The report's charts, as data: every series already reduced to what is
//! drawn (at most [`MAX_POINTS`] points a line), with its colours, bands and
//! reference lines, so that a saved model draws the same charts without the
//! runs. `render::svg` draws them.
//!
//! The charts are built from the run set ([`ReportSpec`]): latency and
//! throughput over time per run, the percentile spectrum, per-endpoint bars,
//! before/after changes, resources with their phases, and scalability.

use super::spec::{ReportSpec, resource_focus};
use crate::analysis::resources::{LeakVerdict, PhaseKind, ResourceReport};
use crate::analysis::{steady, windows};
use crate::model::{ResourceSeries, Run, TimelinePoint};
use crate::targets::{Metric, Target};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Points a time chart draws at most: a 1-hour run at 1 s resolution is
/// reduced by consecutive windows (latency keeps each window's maximum).
pub const MAX_POINTS: usize = 1500;

const MIB: f64 = 1024.0 * 1024.0;

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
pub const BLUE: &str = "#0072B2";
/// Orange (Okabe–Ito).
pub const ORANGE: &str = "#E69F00";
/// Bluish green (Okabe–Ito).
pub const GREEN: &str = "#009E73";
/// Vermillion (Okabe–Ito).
pub const VERMILLION: &str = "#D55E00";
/// Reddish purple (Okabe–Ito).
pub const PURPLE: &str = "#CC79A7";
/// Sky blue (Okabe–Ito).
pub const SKY: &str = "#56B4E9";
/// Near black.
pub const BLACK: &str = "#222222";
/// Series colours in order.
pub const PALETTE: [&str; 7] = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK];

/// One chart of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Figure {
    /// Short id, unique in the report (`latency-1`, `spectrum`, ...); the
    /// markdown report's file is `REPORT.<id>.svg`.
    pub id: String,
    /// Which of the eight kinds (`latency`, `throughput`, `spectrum`,
    /// `endpoints`, `comparison`, `resources`, `scalability`, `trend`).
    pub kind: String,
    /// Heading written above it.
    pub heading: String,
    /// One sentence on what it is drawn from.
    pub basis: String,
    /// What is drawn.
    pub chart: Chart,
}

/// What a chart draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Chart {
    /// Lines over a time, linear or percentile axis.
    Line(LineChart),
    /// Horizontal grouped bars with an optional limit line.
    Bars(BarChart),
    /// Diverging bars of relative changes.
    Changes(ChangeChart),
    /// Nothing to draw, and why.
    NoData(NoData),
}

/// Horizontal grouped bars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BarChart {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// X axis title, with unit.
    pub x_title: String,
    /// Rows, top to bottom.
    pub rows: Vec<BarRow>,
    /// A dashed limit line: (value, label).
    pub limit: Option<(f64, String)>,
}

/// Diverging bars: better to the right, worse to the left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangeChart {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Rows: (label, improvement as a fraction, better positive; text).
    pub rows: Vec<(String, f64, String)>,
}

/// A placeholder that says why there is nothing to draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoData {
    /// Element id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Why there is no chart.
    pub reason: String,
}

impl Chart {
    fn none(id: &str, title: &str, reason: &str) -> Chart {
        Chart::NoData(NoData {
            id: id.into(),
            title: title.into(),
            reason: reason.into(),
        })
    }
}

/// One plotted line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    /// Legend name.
    pub name: String,
    /// Stroke colour.
    pub colour: String,
    /// Dashed (ideal lines, second-axis series).
    pub dash: bool,
    /// Data points (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    /// Plotted against the right-hand axis.
    pub right: bool,
    /// Draw a marker on every point (few points, e.g. scalability).
    pub markers: bool,
}

impl Line {
    /// A solid line on the left axis.
    pub fn new(name: impl Into<String>, colour: &str, points: Vec<(f64, f64)>) -> Self {
        Line {
            name: name.into(),
            colour: colour.into(),
            dash: false,
            points,
            right: false,
            markers: false,
        }
    }
}

/// A shaded stretch of the x axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Band {
    /// Start, x units.
    pub x0: f64,
    /// End, x units.
    pub x1: f64,
    /// Text written at the top of the band (may be empty).
    pub label: String,
    /// Fill colour.
    pub fill: String,
    /// Fill opacity.
    pub opacity: f64,
}

/// A horizontal reference line (a target's limit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HLine {
    /// Value on the left axis.
    pub y: f64,
    /// Label drawn at its right end.
    pub label: String,
    /// Colour.
    pub colour: String,
}

/// The kind of x axis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum XAxis {
    /// Seconds since the run started, labelled `m:ss` / `h:mm:ss`.
    Time,
    /// Plain numbers.
    Linear,
    /// `-log10(1 - q)`, labelled as percentiles (50 %, 90 %, 99 %, ...).
    Nines,
}

/// A line chart with optional bands, reference lines and a second y axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LineChart {
    /// Element id (also the chart's file suffix).
    pub id: String,
    /// Title.
    pub title: String,
    /// X axis title.
    pub x_title: String,
    /// Left y axis title, with unit.
    pub y_title: String,
    /// Right y axis title, when a line uses it.
    pub y2_title: Option<String>,
    /// X axis kind.
    pub x: XAxis,
    /// Lines.
    pub lines: Vec<Line>,
    /// Shaded bands, drawn under the lines.
    pub bands: Vec<Band>,
    /// Legend entries for the bands: (name, fill, opacity).
    pub band_legend: Vec<(String, String, f64)>,
    /// Reference lines.
    pub hlines: Vec<HLine>,
}

/// One row of a horizontal bar chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BarRow {
    /// Row label.
    pub label: String,
    /// Bars: (series name, value when there is one, colour).
    pub bars: Vec<(String, Option<f64>, String)>,
    /// A note written after the bars (e.g. `✗ 12 failures`).
    pub note: Option<String>,
}

/// A number as a tick label: no needless decimals.
pub fn num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        trim(format!("{v:.1}"))
    } else if a >= 1.0 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The percentile (0..100) at a nines-axis position.
pub fn nines_to_percent(x: f64) -> f64 {
    100.0 * (1.0 - 10f64.powf(-x))
}

/// The nines-axis position of a percentile (0..100).
pub fn percent_to_nines(p: f64) -> f64 {
    -(1.0 - p / 100.0).max(1e-12).log10()
}

/// Reduce a series to at most `max` points by consecutive groups, keeping each
/// group's largest value (latency: a spike must stay visible) or its mean.
pub fn downsample(points: &[(f64, f64)], max: usize, keep_max: bool) -> Vec<(f64, f64)> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let group = points.len().div_ceil(max);
    points
        .chunks(group)
        .map(|c| {
            if keep_max {
                c.iter()
                    .copied()
                    .fold((c[0].0, f64::MIN), |a, p| if p.1 > a.1 { p } else { a })
            } else {
                let n = c.len() as f64;
                (
                    c.iter().map(|p| p.0).sum::<f64>() / n,
                    c.iter().map(|p| p.1).sum::<f64>() / n,
                )
            }
        })
        .collect()
}

fn slug(i: usize) -> String {
    format!("{}", i + 1)
}

/// Latency limits of the targets that apply to a whole run: (percentile, ms, title).
fn latency_limits(targets: &[Target]) -> Vec<(f64, f64, String)> {
    targets
        .iter()
        .filter(|t| !t.expr.warn && t.expr.scope.is_empty())
        .filter_map(|t| match t.expr.metric {
            Metric::Percentile(p) if [50.0, 95.0, 99.0].contains(&p) => Some((
                p,
                t.expr.limit,
                format!("{}: < {} ms", t.title, num(t.expr.limit)),
            )),
            _ => None,
        })
        .collect()
}

/// The p-th percentile of one timeline point: from its per-second latencies
/// when it has them (request logs, Goose heatmap), else the tool's column.
fn point_percentile(p: &TimelinePoint, q: f64) -> Option<f64> {
    if p.latency.is_some() {
        return windows::merged_percentile_ms(&[p], q);
    }
    match q {
        50.0 => p.p50_ms,
        95.0 => p.p95_ms,
        99.0 => p.p99_ms,
        _ => None,
    }
}

fn run_t0(run: &Run) -> Option<f64> {
    run.started
        .or_else(|| run.timeline.first().map(|p| p.t))
        .filter(|t| t.is_finite())
}

fn latency_chart(id: &str, run: &Run, targets: &[Target]) -> (LineChart, String) {
    let t0 = run_t0(run).unwrap_or(0.0);
    // drawn p99 first: with few requests a second p95 often equals p99, and
    // the lower percentile must stay visible on top
    let colours = [VERMILLION, ORANGE, BLUE];
    let mut lines: Vec<Line> = [99.0, 95.0, 50.0]
        .iter()
        .zip(colours)
        .map(|(q, c)| {
            let pts: Vec<(f64, f64)> = run
                .timeline
                .iter()
                .filter_map(|p| point_percentile(p, *q).map(|v| (p.t - t0, v)))
                .collect();
            Line::new(format!("p{q} (ms)"), c, downsample(&pts, MAX_POINTS, true))
        })
        .collect();
    let users: Vec<(f64, f64)> = run
        .timeline
        .iter()
        .filter_map(|p| p.users.map(|u| (p.t - t0, u as f64)))
        .collect();
    let mut u = Line::new("users", BLACK, downsample(&users, MAX_POINTS, true));
    u.right = true;
    u.dash = true;
    lines.push(u);
    let limits = latency_limits(targets);
    let mut bands = Vec::new();
    let mut hlines = Vec::new();
    for (q, limit, label) in &limits {
        hlines.push(HLine {
            y: *limit,
            label: label.clone(),
            colour: BLACK.into(),
        });
        // shade the stretches where the drawn percentile is above its limit
        let idx = [99.0, 95.0, 50.0].iter().position(|x| x == q).unwrap_or(0);
        let pts = &lines[idx].points;
        let mut start: Option<f64> = None;
        for (k, (x, y)) in pts.iter().enumerate() {
            let over = *y > *limit;
            match (over, start) {
                (true, None) => start = Some(*x),
                (false, Some(s)) => {
                    bands.push(breach(s, *x));
                    start = None;
                }
                _ => {}
            }
            if k + 1 == pts.len()
                && let Some(s) = start
            {
                bands.push(breach(s, *x + 1.0));
            }
        }
    }
    let basis = if run.timeline.iter().any(|p| p.latency.is_some()) {
        "per second, from the requests of each second (the windowed targets' source)".to_string()
    } else {
        format!(
            "per {} history row ({}'s rolling percentiles, the windowed targets' source)",
            run.tool, run.tool
        )
    };
    let band_legend = if bands.is_empty() {
        vec![]
    } else {
        vec![("above its target".to_string(), VERMILLION.into(), 0.15)]
    };
    (
        LineChart {
            id: id.into(),
            title: format!("Latency over time: {}", run.label),
            x_title: time_title(run),
            y_title: "response time (ms)".into(),
            y2_title: Some("users".into()),
            x: XAxis::Time,
            lines,
            bands,
            band_legend,
            hlines,
        },
        basis,
    )
}

fn breach(a: f64, b: f64) -> Band {
    Band {
        x0: a,
        x1: b,
        label: String::new(),
        fill: VERMILLION.into(),
        opacity: 0.15,
    }
}

fn time_title(run: &Run) -> String {
    match run_t0(run).filter(|_| !run.relative_times) {
        Some(t) => match jiff::Timestamp::from_second(t as i64) {
            Ok(ts) => format!(
                "time since the start (m:ss); started {} UTC",
                ts.strftime("%Y-%m-%d %H:%M:%S")
            ),
            Err(_) => "time since the start (m:ss)".into(),
        },
        None => "time since the start (m:ss)".into(),
    }
}

fn throughput_chart(id: &str, run: &Run) -> LineChart {
    let t0 = run_t0(run).unwrap_or(0.0);
    let series = |f: &dyn Fn(&TimelinePoint) -> Option<f64>| -> Vec<(f64, f64)> {
        let pts: Vec<(f64, f64)> = run
            .timeline
            .iter()
            .filter_map(|p| f(p).map(|v| (p.t - t0, v)))
            .collect();
        downsample(&pts, MAX_POINTS, false)
    };
    let mut users = Line::new("users", BLACK, series(&|p| p.users.map(|u| u as f64)));
    users.right = true;
    users.dash = true;
    let lines = vec![
        Line::new("requests/s", BLUE, series(&|p| p.rps)),
        Line::new("failures/s", VERMILLION, series(&|p| p.failures_per_s)),
        users,
    ];
    let mut bands = Vec::new();
    let mut band_legend = Vec::new();
    if let Some(w) = steady::steady_window(run) {
        bands.push(Band {
            x0: w.start - t0,
            x1: w.end - t0,
            label: "steady window".into(),
            fill: GREEN.into(),
            opacity: 0.12,
        });
        band_legend.push(("steady window".to_string(), GREEN.into(), 0.12));
    }
    LineChart {
        id: id.into(),
        title: format!("Throughput and errors over time: {}", run.label),
        x_title: time_title(run),
        y_title: "per second".into(),
        y2_title: Some("users".into()),
        x: XAxis::Time,
        lines,
        bands,
        band_legend,
        hlines: vec![],
    }
}

/// The nines-axis positions the spectrum is sampled at: 0 to 99.99 %.
pub fn spectrum_percentiles() -> Vec<f64> {
    let mut v: Vec<f64> = (0..=80)
        .map(|i| nines_to_percent(i as f64 * 0.05))
        .collect();
    for p in [50.0, 90.0, 95.0, 99.0, 99.9, 99.99] {
        if !v.iter().any(|x| (x - p).abs() < 1e-9) {
            v.push(p);
        }
    }
    v.sort_by(f64::total_cmp);
    v
}

/// One run's spectrum: (nines position, ms) from its whole distribution.
pub fn spectrum_points(run: &Run) -> Vec<(f64, f64)> {
    let lat = &run.total.latency;
    let top = if lat.count > 0 {
        // a spectrum beyond 1/count says nothing: stop at the last "nine" the
        // number of requests supports
        (lat.count as f64).log10().floor().clamp(1.0, 4.0)
    } else {
        0.0
    };
    spectrum_percentiles()
        .into_iter()
        .filter(|p| percent_to_nines(*p) <= top + 1e-9)
        .filter_map(|p| lat.percentile(p).value().map(|v| (percent_to_nines(p), v)))
        .collect()
}

fn spectrum_chart(id: &str, title: &str, runs: &[(&str, &Run)]) -> LineChart {
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, (name, run))| Line::new(*name, PALETTE[i % PALETTE.len()], spectrum_points(run)))
        .collect();
    LineChart {
        id: id.into(),
        title: title.into(),
        x_title: "percentile (log scale of 1 − q: each step one more nine)".into(),
        y_title: "response time (ms)".into(),
        y2_title: None,
        x: XAxis::Nines,
        lines,
        bands: vec![],
        band_legend: vec![],
        hlines: vec![],
    }
}

fn endpoint_chart(id: &str, run: &Run, targets: &[Target]) -> Chart {
    let mut eps: Vec<_> = run
        .endpoints
        .iter()
        .filter(|e| e.requests > 0)
        .map(|e| {
            let p95 = e.latency.percentile(95.0).value();
            let p99 = e.latency.percentile(99.0).value();
            (e, p95, p99)
        })
        .collect();
    eps.sort_by(|a, b| b.1.unwrap_or(f64::NAN).total_cmp(&a.1.unwrap_or(f64::NAN)));
    let rows: Vec<BarRow> = eps
        .iter()
        .map(|(e, p95, p99)| BarRow {
            label: e.label(),
            bars: vec![
                ("p95 (ms)".into(), *p95, BLUE.into()),
                ("p99 (ms)".into(), *p99, ORANGE.into()),
            ],
            note: (e.failures > 0).then(|| format!("✗ {} failed", e.failures)),
        })
        .collect();
    let limit = latency_limits(targets)
        .into_iter()
        .find(|(p, _, _)| *p == 95.0)
        .map(|(_, v, _)| (v, format!("p95 target {} ms", num(v))));
    Chart::Bars(BarChart {
        id: id.into(),
        title: format!("p95 and p99 per endpoint: {}", run.label),
        x_title: "response time (ms)".into(),
        rows,
        limit,
    })
}

fn resource_chart(id: &str, label: &str, series: &ResourceSeries, r: &ResourceReport) -> LineChart {
    let t0 = series.samples.first().map_or(0.0, |s| s.t);
    let rss: Vec<(f64, f64)> = series
        .samples
        .iter()
        .filter_map(|s| s.rss_bytes.map(|b| (s.t - t0, b / MIB)))
        .collect();
    let cores = r.cpu_basis.cores.map_or(1.0, |c| f64::from(c.max(1)));
    let cpu: Vec<(f64, f64)> = series
        .samples
        .iter()
        .filter_map(|s| s.cpu_percent.map(|c| (s.t - t0, c / cores)))
        .collect();
    let cpu_name = if r.cpu_basis.cores.is_some() {
        "CPU (% of the machine)"
    } else {
        "CPU (% of one core)"
    };
    let mut cpu_line = Line::new(cpu_name, GREEN, downsample(&cpu, MAX_POINTS, true));
    cpu_line.right = true;
    let mut lines = vec![
        Line::new("RSS (MiB)", VERMILLION, downsample(&rss, MAX_POINTS, true)),
        cpu_line,
    ];
    if r.leak.verdict == LeakVerdict::Suspected
        && let (Some(a), Some(b)) = (r.leak.window_start_unix, r.leak.window_end_unix)
    {
        let inside: Vec<(f64, f64)> = series
            .samples
            .iter()
            .filter(|s| s.t >= a && s.t <= b)
            .filter_map(|s| s.rss_bytes.map(|v| (s.t - t0, v / MIB)))
            .collect();
        if let Some((slope, icept)) = least_squares(&inside) {
            let mut fit = Line::new(
                format!("leak fit ({:+.2} MiB/min)", slope * 60.0),
                PURPLE,
                vec![
                    (a - t0, icept + slope * (a - t0)),
                    (b - t0, icept + slope * (b - t0)),
                ],
            );
            fit.dash = true;
            lines.push(fit);
        }
    }
    let mut levels: Vec<u64> = r
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Load)
        .filter_map(|p| p.users)
        .collect();
    levels.sort_unstable();
    levels.dedup();
    let mut bands = Vec::new();
    let mut legend: Vec<(String, String, f64)> = Vec::new();
    for seg in &r.segments {
        let phase = r.phases.iter().find(|p| p.label == seg.label);
        let (fill, opacity, text) = match seg.kind {
            PhaseKind::Load => {
                let users = phase.and_then(|p| p.users);
                let rank = users
                    .and_then(|u| levels.iter().position(|l| *l == u))
                    .unwrap_or(0);
                let op = 0.08 + 0.2 * (rank as f64 + 1.0) / levels.len().max(1) as f64;
                (
                    SKY,
                    op,
                    users.map_or("load".into(), |u| format!("{u} users")),
                )
            }
            PhaseKind::RampUp => (ORANGE, 0.15, "ramp-up".to_string()),
            PhaseKind::Transition => (ORANGE, 0.08, String::new()),
            _ => (BLACK_BAND, 0.08, "idle".to_string()),
        };
        bands.push(Band {
            x0: seg.start_unix - t0,
            x1: seg.end_unix - t0,
            label: text,
            fill: fill.into(),
            opacity,
        });
    }
    if r.segments.iter().any(|s| s.kind == PhaseKind::Load) {
        legend.push(("load levels (darker: more users)".into(), SKY.into(), 0.2));
    }
    if r.segments.iter().any(|s| s.kind == PhaseKind::RampUp) {
        legend.push(("ramp-up".into(), ORANGE.into(), 0.15));
    }
    if r.segments
        .iter()
        .any(|s| matches!(s.kind, PhaseKind::IdleBefore | PhaseKind::IdleZeroUsers))
        || r.segments.iter().any(|s| {
            !matches!(
                s.kind,
                PhaseKind::Load | PhaseKind::RampUp | PhaseKind::Transition
            )
        })
    {
        legend.push(("idle".into(), BLACK_BAND.into(), 0.08));
    }
    LineChart {
        id: id.into(),
        title: format!("Server resources over time: {label}"),
        x_title: "time since the first sample (m:ss)".into(),
        y_title: "RSS (MiB)".into(),
        y2_title: Some(cpu_name.into()),
        x: XAxis::Time,
        lines,
        bands,
        band_legend: legend,
        hlines: vec![],
    }
}

const BLACK_BAND: &str = "#777777";

fn least_squares(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| {
        let slope = sxy / sxx;
        (slope, my - slope * mx)
    })
}

fn scalability_chart(spec: &ReportSpec) -> Option<LineChart> {
    if spec.scalability.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    for (name, pick, colour) in [("instances", 0usize, BLUE), ("cores", 1usize, ORANGE)] {
        let mut pts: Vec<(f64, f64)> = spec
            .scalability
            .iter()
            .filter_map(|s| {
                let n = if pick == 0 { s.instances } else { s.cores }?;
                let rps = steady::sustained_rps(&s.run).map(|x| x.rps)?;
                Some((f64::from(n), rps))
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if pts.is_empty() {
            continue;
        }
        let (n1, r1) = pts[0];
        let ideal: Vec<(f64, f64)> = pts.iter().map(|(n, _)| (*n, r1 * n / n1)).collect();
        let mut l = Line::new(format!("measured, by {name}"), colour, pts);
        l.markers = true;
        lines.push(l);
        let mut i = Line::new(format!("ideal (linear), by {name}"), colour, ideal);
        i.dash = true;
        i.markers = true;
        lines.push(i);
    }
    Some(LineChart {
        id: "scalability".into(),
        title: "Scalability: sustained throughput against instances and cores".into(),
        x_title: "instances or cores".into(),
        y_title: "sustained requests/s".into(),
        y2_title: None,
        x: XAxis::Linear,
        lines,
        bands: vec![],
        band_legend: vec![],
        hlines: vec![],
    })
}

/// Every chart the report's data allows, in reading order.
pub fn build(spec: &ReportSpec) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut push = |id: String, kind: &str, heading: String, basis: String, chart: Chart| {
        out.push(Figure {
            id,
            kind: kind.into(),
            heading,
            basis,
            chart,
        })
    };
    for (i, sc) in spec.scenarios.iter().enumerate() {
        let run = &sc.run;
        let (c, basis) = latency_chart(&format!("latency-{}", slug(i)), run, &spec.targets);
        push(
            c.id.clone(),
            "latency",
            format!("Latency over time: {}", run.label),
            format!(
                "p50, p95 and p99 of all requests {basis}; the run-wide latency targets dashed (API targets are judged on HTTP requests only), stretches above a target shaded; users on the right axis."
            ),
            Chart::Line(c),
        );
        let c = throughput_chart(&format!("throughput-{}", slug(i)), run);
        push(
            c.id.clone(),
            "throughput",
            format!("Throughput and errors over time: {}", run.label),
            "requests and failures per second from the run's timeline; users on the right axis; the steady window shaded.".into(),
            Chart::Line(c),
        );
    }
    let runs: Vec<(&str, &Run)> = spec
        .scenarios
        .iter()
        .map(|s| (s.run.label.as_str(), &s.run))
        .collect();
    let c = spectrum_chart(
        "spectrum",
        "Latency percentile spectrum: all scenarios",
        &runs,
    );
    push(
        c.id.clone(),
        "spectrum",
        "Latency percentile spectrum".into(),
        "each run's whole distribution (histogram or request log), with the tool's percentile rule; drawn up to the last nine its request count supports.".into(),
        Chart::Line(c),
    );
    if let Some((b, a)) = &spec.compared {
        let c = spectrum_chart(
            "spectrum-compare",
            "Latency percentile spectrum: baseline against after",
            &[(b.label.as_str(), b), (a.label.as_str(), a)],
        );
        push(
            c.id.clone(),
            "spectrum",
            "Percentile spectrum: baseline against after".into(),
            "both runs' whole distributions, same rule.".into(),
            Chart::Line(c),
        );
    }
    for (i, sc) in spec.scenarios.iter().enumerate() {
        let id = format!("endpoints-{}", slug(i));
        push(
            id.clone(),
            "endpoints",
            format!("p95 and p99 per endpoint: {}", sc.run.label),
            "each endpoint's whole-run distribution, slowest first; the dashed line is the p95 target; ✗ marks endpoints with failures.".into(),
            endpoint_chart(&id, &sc.run, &spec.targets),
        );
    }
    if let Some(cmp) = &spec.comparison {
        let mut rows: Vec<(String, f64, String)> = cmp
            .changes
            .iter()
            .filter_map(|c| c.improvement.map(|v| (c.metric.clone(), v, c.text.clone())))
            .collect();
        for e in &cmp.endpoints {
            if let Some(v) = e.p95.improvement {
                rows.push((format!("p95 {}", e.endpoint), v, e.p95.text.clone()));
            }
        }
        push(
            "comparison".into(),
            "comparison",
            format!(
                "Before/after: {} against {}",
                cmp.baseline.label, cmp.after.label
            ),
            "relative change of each figure; bars to the right (blue, +, \"better\") are improvements, to the left (vermillion, −, \"worse\") regressions.".into(),
            Chart::Changes(ChangeChart {
                id: "comparison".into(),
                title: "Before/after: change per figure and per endpoint p95".into(),
                rows,
            }),
        );
    }
    if spec.comparison.is_none() {
        push(
            "comparison".into(),
            "comparison",
            "Before/after".into(),
            String::new(),
            Chart::none(
                "comparison",
                "Before/after",
                "no [baseline] and [after] runs were given",
            ),
        );
    }
    if let (Some(series), Some((label, r))) = (&spec.focus_series, resource_focus(spec)) {
        let c = resource_chart("resources", &label, series, r);
        push(
            c.id.clone(),
            "resources",
            format!("Server resources over time: {label}"),
            format!(
                "RSS and CPU of the server from the resource samples; phases shaded (idle, ramp-up, load levels); {} {}",
                r.cpu_basis.sentence,
                if r.leak.verdict == LeakVerdict::Suspected {
                    "The dashed line is the least-squares RSS fit over the leak window."
                } else {
                    ""
                }
            ),
            Chart::Line(c),
        );
    } else {
        push(
            "resources".into(),
            "resources",
            "Server resources over time".into(),
            String::new(),
            Chart::none(
                "resources",
                "Server resources over time",
                "no resource samples were given",
            ),
        );
    }
    match scalability_chart(spec) {
        Some(c) => push(
            c.id.clone(),
            "scalability",
            "Scalability".into(),
            "sustained throughput of each run against its instance or core count; the dashed ideal line scales the smallest run linearly.".into(),
            Chart::Line(c),
        ),
        None => push(
            "scalability".into(),
            "scalability",
            "Scalability".into(),
            String::new(),
            Chart::none(
                "scalability",
                "Scalability",
                "no runs at several instance or core counts were given",
            ),
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tool;

    /// A 1-hour run at 1 s resolution stays light, and a one-second latency
    /// spike survives the reduction.
    #[test]
    fn an_hour_at_one_second_is_drawn_with_at_most_max_points_keeping_the_spike() {
        let mut run = Run::new("hour", Tool::Locust);
        run.started = Some(1_000_000.0);
        run.timeline = (0..3600)
            .map(|i| TimelinePoint {
                t: 1_000_000.0 + i as f64,
                users: Some(10),
                rps: Some(20.0),
                p50_ms: Some(10.0),
                p95_ms: Some(if i == 2345 { 950.0 } else { 40.0 }),
                p99_ms: Some(60.0),
                ..TimelinePoint::default()
            })
            .collect();
        let (chart, _) = latency_chart("latency-1", &run, &[]);
        for l in &chart.lines {
            assert!(
                l.points.len() <= MAX_POINTS,
                "{}: {}",
                l.name,
                l.points.len()
            );
        }
        let p95 = chart
            .lines
            .iter()
            .find(|l| l.name.starts_with("p95"))
            .unwrap();
        assert!(p95.points.contains(&(2345.0, 950.0)));
        let svg = chart.svg();
        assert!(
            svg.matches(' ').count() < 40_000,
            "svg of {} bytes",
            svg.len()
        );
    }
}

//! The visual HTML report: the markdown report's body plus inline SVG charts,
//! in one self-contained file (no scripts, nothing loaded from elsewhere).
//!
//! The charts are built from the report model ([`ReportSpec`]): latency and
//! throughput over time per run, the percentile spectrum, per-endpoint bars,
//! before/after changes, resources with their phases, and scalability.

use super::report::ReportSpec;
use super::svg::{self, Band, BarRow, HLine, Line, LineChart, XAxis};
use crate::analysis::resources::{LeakVerdict, PhaseKind, ResourceReport};
use crate::analysis::{steady, windows};
use crate::model::{ResourceSeries, Run, TimelinePoint};
use crate::targets::{Metric, Target};

/// Points a time chart draws at most: a 1-hour run at 1 s resolution is
/// reduced by consecutive windows (latency keeps each window's maximum).
pub const MAX_POINTS: usize = 1500;

const MIB: f64 = 1024.0 * 1024.0;

/// One chart of the report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Short id, unique in the report (`latency-1`, `spectrum`, ...); the
    /// markdown report's file is `REPORT.<id>.svg`.
    pub id: String,
    /// Which of the seven kinds (`latency`, `throughput`, `spectrum`,
    /// `endpoints`, `comparison`, `resources`, `scalability`).
    pub kind: &'static str,
    /// Heading written above it.
    pub heading: String,
    /// One sentence on what it is drawn from.
    pub basis: String,
    /// The `<svg>` element.
    pub svg: String,
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
                format!("{}: < {} ms", t.title, svg::num(t.expr.limit)),
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
    let colours = [svg::VERMILLION, svg::ORANGE, svg::BLUE];
    let mut lines: Vec<Line> = [99.0, 95.0, 50.0]
        .iter()
        .zip(colours)
        .map(|(q, c)| {
            let pts: Vec<(f64, f64)> = run
                .timeline
                .iter()
                .filter_map(|p| point_percentile(p, *q).map(|v| (p.t - t0, v)))
                .collect();
            Line::new(
                format!("p{q} (ms)"),
                c,
                svg::downsample(&pts, MAX_POINTS, true),
            )
        })
        .collect();
    let users: Vec<(f64, f64)> = run
        .timeline
        .iter()
        .filter_map(|p| p.users.map(|u| (p.t - t0, u as f64)))
        .collect();
    let mut u = Line::new(
        "users",
        svg::BLACK,
        svg::downsample(&users, MAX_POINTS, true),
    );
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
            colour: svg::BLACK,
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
        vec![("above its target".to_string(), svg::VERMILLION, 0.15)]
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
        fill: svg::VERMILLION,
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
        svg::downsample(&pts, MAX_POINTS, false)
    };
    let mut users = Line::new("users", svg::BLACK, series(&|p| p.users.map(|u| u as f64)));
    users.right = true;
    users.dash = true;
    let lines = vec![
        Line::new("requests/s", svg::BLUE, series(&|p| p.rps)),
        Line::new("failures/s", svg::VERMILLION, series(&|p| p.failures_per_s)),
        users,
    ];
    let mut bands = Vec::new();
    let mut band_legend = Vec::new();
    if let Some(w) = steady::steady_window(run) {
        bands.push(Band {
            x0: w.start - t0,
            x1: w.end - t0,
            label: "steady window".into(),
            fill: svg::GREEN,
            opacity: 0.12,
        });
        band_legend.push(("steady window".to_string(), svg::GREEN, 0.12));
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
        .map(|i| svg::nines_to_percent(i as f64 * 0.05))
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
        .filter(|p| svg::percent_to_nines(*p) <= top + 1e-9)
        .filter_map(|p| {
            lat.percentile(p)
                .value()
                .map(|v| (svg::percent_to_nines(p), v))
        })
        .collect()
}

fn spectrum_chart(id: &str, title: &str, runs: &[(&str, &Run)]) -> LineChart {
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, (name, run))| {
            Line::new(
                *name,
                svg::PALETTE[i % svg::PALETTE.len()],
                spectrum_points(run),
            )
        })
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

fn endpoint_chart(id: &str, run: &Run, targets: &[Target]) -> String {
    let mut eps: Vec<_> = run
        .endpoints
        .iter()
        .filter(|e| e.requests > 0)
        .map(|e| {
            let p95 = e.latency.percentile(95.0).value().unwrap_or(f64::NAN);
            let p99 = e.latency.percentile(99.0).value().unwrap_or(f64::NAN);
            (e, p95, p99)
        })
        .collect();
    eps.sort_by(|a, b| b.1.total_cmp(&a.1));
    let rows: Vec<BarRow> = eps
        .iter()
        .map(|(e, p95, p99)| BarRow {
            label: e.label(),
            bars: vec![
                ("p95 (ms)".into(), *p95, svg::BLUE),
                ("p99 (ms)".into(), *p99, svg::ORANGE),
            ],
            note: (e.failures > 0).then(|| format!("✗ {} failed", e.failures)),
        })
        .collect();
    let limit = latency_limits(targets)
        .into_iter()
        .find(|(p, _, _)| *p == 95.0)
        .map(|(_, v, _)| (v, format!("p95 target {} ms", svg::num(v))));
    svg::bar_chart(
        id,
        &format!("p95 and p99 per endpoint: {}", run.label),
        "response time (ms)",
        &rows,
        limit,
    )
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
    let mut cpu_line = Line::new(
        cpu_name,
        svg::GREEN,
        svg::downsample(&cpu, MAX_POINTS, true),
    );
    cpu_line.right = true;
    let mut lines = vec![
        Line::new(
            "RSS (MiB)",
            svg::VERMILLION,
            svg::downsample(&rss, MAX_POINTS, true),
        ),
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
                svg::PURPLE,
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
    let mut legend: Vec<(String, &'static str, f64)> = Vec::new();
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
                    svg::SKY,
                    op,
                    users.map_or("load".into(), |u| format!("{u} users")),
                )
            }
            PhaseKind::RampUp => (svg::ORANGE, 0.15, "ramp-up".to_string()),
            PhaseKind::Transition => (svg::ORANGE, 0.08, String::new()),
            _ => (BLACK_BAND, 0.08, "idle".to_string()),
        };
        bands.push(Band {
            x0: seg.start_unix - t0,
            x1: seg.end_unix - t0,
            label: text,
            fill,
            opacity,
        });
    }
    if r.segments.iter().any(|s| s.kind == PhaseKind::Load) {
        legend.push(("load levels (darker: more users)".into(), svg::SKY, 0.2));
    }
    if r.segments.iter().any(|s| s.kind == PhaseKind::RampUp) {
        legend.push(("ramp-up".into(), svg::ORANGE, 0.15));
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
        legend.push(("idle".into(), BLACK_BAND, 0.08));
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
    for (name, pick, colour) in [
        ("instances", 0usize, svg::BLUE),
        ("cores", 1usize, svg::ORANGE),
    ] {
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
pub fn figures(spec: &ReportSpec) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut push = |id: String, kind, heading: String, basis: String, svg: String| {
        out.push(Figure {
            id,
            kind,
            heading,
            basis,
            svg,
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
            c.svg(),
        );
        let c = throughput_chart(&format!("throughput-{}", slug(i)), run);
        push(
            c.id.clone(),
            "throughput",
            format!("Throughput and errors over time: {}", run.label),
            "requests and failures per second from the run's timeline; users on the right axis; the steady window shaded.".into(),
            c.svg(),
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
        c.svg(),
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
            c.svg(),
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
            svg::change_chart(
                "comparison",
                "Before/after: change per figure and per endpoint p95",
                &rows,
            ),
        );
    }
    if spec.comparison.is_none() {
        push(
            "comparison".into(),
            "comparison",
            "Before/after".into(),
            String::new(),
            svg::no_data(
                "comparison",
                "Before/after",
                "no [baseline] and [after] runs were given",
            ),
        );
    }
    if let (Some(series), Some((label, r))) =
        (&spec.focus_series, super::report::resource_focus(spec))
    {
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
            c.svg(),
        );
    } else {
        push(
            "resources".into(),
            "resources",
            "Server resources over time".into(),
            String::new(),
            svg::no_data(
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
            c.svg(),
        ),
        None => push(
            "scalability".into(),
            "scalability",
            "Scalability".into(),
            String::new(),
            svg::no_data(
                "scalability",
                "Scalability",
                "no runs at several instance or core counts were given",
            ),
        ),
    }
    out
}

/// Status marks that need no emoji font: a small inline SVG before the word.
fn replace_marks(html: &str) -> String {
    const MET: &str = "<svg class=\"mark\" width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\"><circle cx=\"7\" cy=\"7\" r=\"7\" fill=\"#009E73\"/><path d=\"M3.5 7.3l2.4 2.4 4.6-5\" stroke=\"#fff\" stroke-width=\"2\" fill=\"none\"/></svg>";
    const MISSED: &str = "<svg class=\"mark\" width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect width=\"14\" height=\"14\" rx=\"2\" fill=\"#D55E00\"/><path d=\"M4 4l6 6M10 4l-6 6\" stroke=\"#fff\" stroke-width=\"2\"/></svg>";
    const WARN: &str = "<svg class=\"mark\" width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\"><path d=\"M7 0.5L13.5 13.5H0.5Z\" fill=\"#E69F00\"/><path d=\"M7 5v4.5M7 11v1.2\" stroke=\"#000\" stroke-width=\"1.6\"/></svg>";
    html.replace("⚠\u{fe0f}", WARN)
        .replace('⚠', WARN)
        .replace('✅', MET)
        .replace('❌', MISSED)
}

/// The HTML report: the markdown body, with the charts inserted after the
/// targets (before the third `<h2>`), as one self-contained page.
pub fn page(markdown: &str, title: &str, figures: &[Figure]) -> String {
    let body = replace_marks(&super::markdown_body(markdown));
    let mut charts = String::from("<section id=\"charts\">\n<h2>Charts</h2>\n");
    for f in figures {
        charts.push_str(&format!(
            "<figure class=\"chart\" id=\"fig-{id}\" data-kind=\"{kind}\">\n<h3>{h}</h3>\n{svg}\n<figcaption>{b}</figcaption>\n</figure>\n",
            id = svg::esc(&f.id),
            kind = f.kind,
            h = svg::esc(&f.heading),
            svg = f.svg,
            b = svg::esc(&f.basis),
        ));
    }
    charts.push_str("</section>\n");
    let at = body
        .match_indices("<h2")
        .nth(2)
        .map_or(body.len(), |(i, _)| i);
    let body = format!("{}{}{}", &body[..at], charts, &body[at..]);
    super::page(title, &body, EXTRA_CSS)
}

const EXTRA_CSS: &str = "figure.chart{margin:1.5rem 0;break-inside:avoid;page-break-inside:avoid}figure.chart svg{max-width:100%;height:auto;border:1px solid #ddd}figcaption{font-size:.9rem;color:#444;margin-top:.3rem}svg.mark{vertical-align:-2px;margin-right:.25em}@media print{body{max-width:none;margin:0}h2{break-before:auto}figure.chart{break-inside:avoid}}@page{size:A4;margin:15mm}";

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

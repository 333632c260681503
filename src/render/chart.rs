//! SVG charts. Drawn with plotters' SVG backend only: without its `ttf` feature
//! plotters estimates text sizes itself and writes plain `<text>` elements, so no
//! font files are read and the SVG is the same on every machine.

use crate::analysis::resources::{PhaseKind, ResourceReport};
use crate::error::{Error, Result};
use crate::model::ResourceSeries;
use plotters::prelude::*;

const MIB: f64 = 1024.0 * 1024.0;

fn chart_error(e: impl std::fmt::Display) -> Error {
    Error::Template {
        name: "resource chart".into(),
        message: e.to_string(),
    }
}

/// Fill colour of a phase band: load levels get darker with more users.
fn band_colour(rank: usize, levels: usize) -> RGBAColor {
    let alpha = 0.08 + 0.17 * (rank as f64 + 1.0) / levels.max(1) as f64;
    RGBColor(70, 130, 180).mix(alpha)
}

/// RSS (MiB) and CPU (% of the machine, on the report's basis) over time, seconds
/// from the first sample, with load phases shaded and labelled.
pub fn resource_chart_svg(series: &ResourceSeries, report: &ResourceReport) -> Result<String> {
    let (Some(first), Some(last)) = (series.samples.first(), series.samples.last()) else {
        return Err(Error::Usage("no resource samples to chart".into()));
    };
    let t0 = first.t;
    let x_max = (last.t - t0).max(1.0);
    let rss: Vec<(f64, f64)> = series
        .samples
        .iter()
        .filter_map(|s| s.rss_bytes.map(|r| (s.t - t0, r / MIB)))
        .collect();
    // Without the measured machine's cores the CPU panel is per core.
    let cores = report.cpu_basis.cores.map_or(1.0, |c| f64::from(c.max(1)));
    let cpu: Vec<(f64, f64)> = series
        .samples
        .iter()
        .filter_map(|s| s.cpu_percent.map(|c| (s.t - t0, c / cores)))
        .collect();
    let (rss_lo, rss_hi) = rss.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (rss_lo, rss_hi) = if rss.is_empty() {
        (0.0, 1.0)
    } else {
        let pad = ((rss_hi - rss_lo) * 0.1).max(0.5);
        ((rss_lo - pad).max(0.0), rss_hi + pad)
    };
    let cpu_hi = cpu.iter().map(|p| p.1).fold(0.0, f64::max).max(5.0) * 1.15;
    let mut levels: Vec<u64> = report
        .segments
        .iter()
        .filter(|s| s.kind == PhaseKind::Load)
        .filter_map(|s| report.phases.iter().find(|p| p.label == s.label))
        .filter_map(|p| p.users)
        .collect();
    levels.sort_unstable();
    levels.dedup();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let (top, bottom) = root.split_vertically(270);
        let panels = [
            (
                &top,
                "RSS (MiB)",
                rss_lo,
                rss_hi,
                &rss,
                RGBColor(178, 34, 34),
            ),
            (
                &bottom,
                if report.cpu_basis.cores.is_some() {
                    "CPU (% of machine)"
                } else {
                    "CPU (% of one core)"
                },
                0.0,
                cpu_hi,
                &cpu,
                RGBColor(34, 100, 34),
            ),
        ];
        for (i, (area, label, lo, hi, data, colour)) in panels.into_iter().enumerate() {
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .x_label_area_size(if i == 1 { 30 } else { 10 })
                .y_label_area_size(55)
                .caption(label, ("sans-serif", 16))
                .build_cartesian_2d(0.0..x_max, lo..hi)
                .map_err(chart_error)?;
            let mut mesh = chart.configure_mesh();
            mesh.disable_mesh();
            if i == 1 {
                mesh.x_desc("seconds from the first sample");
            }
            mesh.draw().map_err(chart_error)?;
            for seg in report.segments.iter().filter(|s| s.kind == PhaseKind::Load) {
                let users = report
                    .phases
                    .iter()
                    .find(|p| p.label == seg.label)
                    .and_then(|p| p.users);
                let rank = users
                    .and_then(|u| levels.iter().position(|l| *l == u))
                    .unwrap_or(0);
                let (a, b) = (seg.start_unix - t0, seg.end_unix - t0);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(a, lo), (b.max(a + 0.5), hi)],
                        band_colour(rank, levels.len()).filled(),
                    )))
                    .map_err(chart_error)?;
                if i == 0 && b - a >= x_max * 0.06 {
                    let text = users.map(|u| format!("{u} users")).unwrap_or("load".into());
                    chart
                        .draw_series(std::iter::once(Text::new(
                            text,
                            (a + 0.5, hi - (hi - lo) * 0.04),
                            ("sans-serif", 12),
                        )))
                        .map_err(chart_error)?;
                }
            }
            chart
                .draw_series(LineSeries::new(
                    data.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(chart_error)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

//! Small, dependency-free SVG charts for the HTML report.
//!
//! Written by hand rather than with plotters so that every plotted series
//! carries its data values (`data-series`, `data-points` in data units, not
//! pixels): a test can read back what was drawn and compare it with figures it
//! computes itself. All text is escaped; nothing is loaded from elsewhere.

use std::fmt::Write as _;

// The chart data lives in the report model; this module only draws it.
pub use crate::report::charts::{
    BLACK, BLUE, Band, BarRow, Chart, GREEN, HLine, Line, LineChart, ORANGE, PALETTE, PURPLE, SKY,
    VERMILLION, XAxis, downsample, nines_to_percent, num, percent_to_nines,
};

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 380.0;

/// Escape text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A placeholder chart that says why there is nothing to draw.
pub fn no_data(id: &str, title: &str, reason: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart nodata\" id=\"{id}\" data-chart=\"{id}\" width=\"{WIDTH}\" height=\"90\" viewBox=\"0 0 {WIDTH} 90\" role=\"img\" aria-label=\"{t}\"><rect x=\"0.5\" y=\"0.5\" width=\"{w}\" height=\"89\" fill=\"#fafafa\" stroke=\"#bbb\"/><text x=\"16\" y=\"30\" font-family=\"sans-serif\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\">{t}</text><text x=\"16\" y=\"60\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#444\">No chart: {r}</text></svg>",
        id = esc(id),
        t = esc(title),
        r = esc(reason),
        w = WIDTH - 1.0,
    )
}

/// A step of 1, 2 or 5 times a power of ten giving about `n` intervals.
fn nice_step(range: f64, n: f64) -> f64 {
    if range <= 0.0 || !range.is_finite() {
        return 1.0;
    }
    let raw = range / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn time_step(range: f64) -> f64 {
    const STEPS: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| range / s <= 10.0)
        .unwrap_or(14400.0)
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    y20: f64,
    y21: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x0) / (self.x1 - self.x0) * (self.right - self.left)
    }
    fn py(&self, y: f64) -> f64 {
        self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)
    }
    fn py2(&self, y: f64) -> f64 {
        self.bottom - (y - self.y20) / (self.y21 - self.y20) * (self.bottom - self.top)
    }
}

fn header(out: &mut String, id: &str, title: &str, height: f64) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" data-chart=\"{id}\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{t}\" font-family=\"sans-serif\"><title>{t}</title><rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#fff\"/><text x=\"{cx}\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\">{t}</text>",
        id = esc(id),
        t = esc(title),
        cx = WIDTH / 2.0,
    );
}

fn legend(out: &mut String, items: &[(String, &str, bool, f64)], y: f64) {
    // (name, colour, is_band, opacity or dash flag as 1.0)
    let mut x = 70.0;
    for (name, colour, band, extra) in items {
        if *band {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{}\" width=\"22\" height=\"12\" fill=\"{colour}\" fill-opacity=\"{extra}\" stroke=\"{colour}\" stroke-opacity=\"0.6\"/>",
                y - 10.0
            );
        } else {
            let dash = if *extra > 0.0 {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = write!(
                out,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"3\"{dash}/>",
                y - 4.0,
                x + 22.0,
                y - 4.0
            );
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{y}\" font-size=\"12\" fill=\"#222\">{}</text>",
            x + 28.0,
            esc(name)
        );
        x += 40.0 + 6.5 * name.chars().count() as f64;
        if x > WIDTH - 120.0 {
            break;
        }
    }
}

impl LineChart {
    /// Whether any line has a point.
    pub fn has_data(&self) -> bool {
        self.lines.iter().any(|l| !l.points.is_empty())
    }

    /// The chart as an `<svg>` element.
    pub fn svg(&self) -> String {
        let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
        let all: Vec<(f64, f64)> = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().filter(finite).copied())
            .collect();
        if all.is_empty() {
            return no_data(&self.id, &self.title, "the inputs have no data for it");
        }
        let has_right = self.lines.iter().any(|l| l.right && !l.points.is_empty());
        let mut x0 = all.iter().map(|p| p.0).fold(f64::MAX, f64::min);
        let mut x1 = all.iter().map(|p| p.0).fold(f64::MIN, f64::max);
        for b in &self.bands {
            x0 = x0.min(b.x0);
            x1 = x1.max(b.x1);
        }
        if self.x == XAxis::Time || self.x == XAxis::Nines {
            x0 = x0.min(0.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let left_max = self
            .lines
            .iter()
            .filter(|l| !l.right)
            .flat_map(|l| l.points.iter().filter(finite).map(|p| p.1))
            .chain(self.hlines.iter().map(|h| h.y))
            .fold(0.0, f64::max);
        let right_max = self
            .lines
            .iter()
            .filter(|l| l.right)
            .flat_map(|l| l.points.iter().filter(finite).map(|p| p.1))
            .fold(0.0, f64::max);
        let ystep = nice_step(left_max.max(1e-9) * 1.08, 5.0);
        let y1 = (left_max * 1.08 / ystep).ceil().max(1.0) * ystep;
        let y2step = nice_step(right_max.max(1e-9) * 1.08, 5.0);
        let y21 = (right_max * 1.08 / y2step).ceil().max(1.0) * y2step;
        let f = Frame {
            left: 78.0,
            right: if has_right {
                WIDTH - 78.0
            } else {
                WIDTH - 24.0
            },
            top: 40.0,
            bottom: HEIGHT - 78.0,
            x0,
            x1,
            y0: 0.0,
            y1,
            y20: 0.0,
            y21,
        };
        let mut out = String::new();
        header(&mut out, &self.id, &self.title, HEIGHT);
        // bands
        for b in &self.bands {
            let (a, c) = (f.px(b.x0.max(x0)), f.px(b.x1.min(x1)));
            let _ = write!(
                out,
                "<rect x=\"{a:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\" fill-opacity=\"{}\"><title>{}</title></rect>",
                f.top,
                (c - a).max(1.0),
                f.bottom - f.top,
                b.fill,
                b.opacity,
                esc(&b.label)
            );
            if !b.label.is_empty() && c - a > 60.0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#333\">{}</text>",
                    a + 4.0,
                    f.top + 13.0,
                    esc(&b.label)
                );
            }
        }
        // grid and y ticks
        let mut y = 0.0;
        while y <= y1 + ystep * 0.01 {
            let py = f.py(y);
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"#e3e3e3\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#333\">{}</text>",
                f.left,
                f.right,
                f.left - 6.0,
                py + 4.0,
                num(y)
            );
            y += ystep;
        }
        if has_right {
            let mut y = 0.0;
            while y <= y21 + y2step * 0.01 {
                let py = f.py2(y);
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{:.1}\" font-size=\"12\" fill=\"#555\">{}</text>",
                    f.right + 6.0,
                    py + 4.0,
                    num(y)
                );
                y += y2step;
            }
        }
        // x ticks
        let ticks: Vec<(f64, String)> = match self.x {
            XAxis::Time => {
                let step = time_step(x1 - x0);
                let mut t = (x0 / step).ceil() * step;
                let mut v = Vec::new();
                while t <= x1 + 1e-9 {
                    v.push((t, clock(t)));
                    t += step;
                }
                v
            }
            XAxis::Linear => {
                // counts of instances or cores: whole numbers only
                let step = nice_step(x1 - x0, 6.0).max(1.0);
                let mut t = (x0 / step).ceil() * step;
                let mut v = Vec::new();
                while t <= x1 + 1e-9 {
                    v.push((t, num(t)));
                    t += step;
                }
                v
            }
            XAxis::Nines => [0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999]
                .iter()
                .map(|p| (percent_to_nines(*p), format!("{p} %")))
                .filter(|(x, _)| *x <= x1 + 1e-9)
                .collect(),
        };
        for (t, label) in ticks {
            let px = f.px(t);
            let _ = write!(
                out,
                "<line x1=\"{px:.1}\" y1=\"{}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#eeeeee\"/><text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#333\">{}</text>",
                f.top,
                f.bottom,
                f.bottom + 16.0,
                esc(&label)
            );
        }
        // axes
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>",
            f.left,
            f.top,
            f.right - f.left,
            f.bottom - f.top
        );
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">{}</text>",
            (f.left + f.right) / 2.0,
            f.bottom + 36.0,
            esc(&self.x_title)
        );
        let _ = write!(
            out,
            "<text transform=\"translate(18 {:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">{}</text>",
            (f.top + f.bottom) / 2.0,
            esc(&self.y_title)
        );
        if let (true, Some(t)) = (has_right, &self.y2_title) {
            let _ = write!(
                out,
                "<text transform=\"translate({} {:.1}) rotate(90)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#555\">{}</text>",
                WIDTH - 14.0,
                (f.top + f.bottom) / 2.0,
                esc(t)
            );
        }
        // reference lines
        for h in &self.hlines {
            let py = f.py(h.y);
            let _ = write!(
                out,
                "<line class=\"limit\" data-limit=\"{}\" x1=\"{}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"8 4\"><title>{}</title></line><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"{}\">{}</text>",
                h.y,
                f.left,
                f.right,
                h.colour,
                esc(&h.label),
                f.right - 4.0,
                py - 4.0,
                h.colour,
                esc(&h.label)
            );
        }
        // lines
        for l in &self.lines {
            let pts: Vec<(f64, f64)> = l.points.iter().filter(finite).copied().collect();
            if pts.is_empty() {
                continue;
            }
            let data: Vec<String> = pts.iter().map(|(x, y)| format!("{x},{y}")).collect();
            let pixels: Vec<String> = pts
                .iter()
                .map(|&(x, y)| {
                    let py = if l.right { f.py2(y) } else { f.py(y) };
                    format!("{:.1},{:.1}", f.px(x), py)
                })
                .collect();
            let dash = if l.dash {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = write!(
                out,
                "<polyline class=\"series\" data-series=\"{}\" data-axis=\"{}\" data-points=\"{}\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"{dash}><title>{}</title></polyline>",
                esc(&l.name),
                if l.right { "right" } else { "left" },
                data.join(" "),
                pixels.join(" "),
                l.colour,
                esc(&l.name)
            );
            if l.markers || pts.len() == 1 {
                for (p, px) in pts.iter().zip(&pixels) {
                    let (cx, cy) = px.split_once(',').unwrap_or(("0", "0"));
                    let _ = write!(
                        out,
                        "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"4\" fill=\"{}\"><title>{}: {}, {}</title></circle>",
                        l.colour,
                        esc(&l.name),
                        num(p.0),
                        num(p.1)
                    );
                }
            }
        }
        let mut items: Vec<(String, &str, bool, f64)> = self
            .lines
            .iter()
            .filter(|l| !l.points.is_empty())
            .map(|l| {
                let name = if l.right && has_right {
                    format!("{} (right axis)", l.name)
                } else {
                    l.name.clone()
                };
                (
                    name,
                    l.colour.as_str(),
                    false,
                    if l.dash { 1.0 } else { 0.0 },
                )
            })
            .collect();
        for (name, fill, op) in &self.band_legend {
            items.push((name.clone(), fill.as_str(), true, *op));
        }
        legend(&mut out, &items, HEIGHT - 14.0);
        out.push_str("</svg>");
        out
    }
}

/// Horizontal grouped bars with an optional limit line.
pub fn bar_chart(
    id: &str,
    title: &str,
    x_title: &str,
    rows: &[BarRow],
    limit: Option<(f64, String)>,
) -> String {
    if rows.is_empty() {
        return no_data(id, title, "no rows to draw");
    }
    let per_bar = 11.0;
    let bars = rows.iter().map(|r| r.bars.len()).max().unwrap_or(1).max(1) as f64;
    let row_h = per_bar * bars + 10.0;
    let top = 58.0;
    let height = top + row_h * rows.len() as f64 + 78.0;
    let max = rows
        .iter()
        .flat_map(|r| r.bars.iter().filter_map(|b| b.1))
        .chain(limit.iter().map(|l| l.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let step = nice_step(max.max(1e-9) * 1.05, 6.0);
    let xmax = (max * 1.05 / step).ceil().max(1.0) * step;
    let (left, right) = (300.0, WIDTH - 140.0);
    let bottom = top + row_h * rows.len() as f64;
    let px = |v: f64| left + v / xmax * (right - left);
    let mut out = String::new();
    header(&mut out, id, title, height);
    let mut t = 0.0;
    while t <= xmax + step * 0.01 {
        let x = px(t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#e3e3e3\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#333\">{}</text>",
            bottom + 16.0,
            num(t)
        );
        t += step;
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h + 5.0;
        let label: String = if r.label.chars().count() > 44 {
            r.label.chars().take(43).collect::<String>() + "…"
        } else {
            r.label.clone()
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#222\">{}<title>{}</title></text>",
            left - 6.0,
            y + row_h / 2.0,
            esc(&label),
            esc(&r.label)
        );
        let mut end: f64 = left;
        for (k, (name, v, colour)) in r.bars.iter().enumerate() {
            let Some(v) = v.as_ref().filter(|v| v.is_finite()) else {
                continue;
            };
            let by = y + k as f64 * per_bar;
            let w = (px(*v) - left).max(1.0);
            end = end.max(left + w);
            let _ = write!(
                out,
                "<rect class=\"bar\" data-row=\"{}\" data-series=\"{}\" data-value=\"{v}\" x=\"{left}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {} {}</title></rect>",
                esc(&r.label),
                esc(name),
                per_bar - 2.0,
                esc(&r.label),
                esc(name),
                num(*v)
            );
        }
        if let Some(n) = &r.note {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"bold\" fill=\"{VERMILLION}\">{}</text>",
                end + 6.0,
                y + row_h / 2.0,
                esc(n)
            );
        }
    }
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"#888\"/><text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">{}</text>",
        (left + right) / 2.0,
        bottom + 36.0,
        esc(x_title)
    );
    if let Some((v, label)) = &limit {
        let x = px(*v);
        let _ = write!(
            out,
            "<line class=\"limit\" data-limit=\"{v}\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"{BLACK}\" stroke-width=\"2\" stroke-dasharray=\"8 4\"><title>{}</title></line><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"{BLACK}\">{}</text>",
            top - 4.0,
            esc(label),
            top - 6.0,
            esc(label)
        );
    }
    let mut names: Vec<(String, &str)> = Vec::new();
    for r in rows {
        for (n, _, c) in &r.bars {
            if !names.iter().any(|(m, _)| m == n) {
                names.push((n.clone(), c));
            }
        }
    }
    let items: Vec<(String, &str, bool, f64)> =
        names.into_iter().map(|(n, c)| (n, c, true, 1.0)).collect();
    legend(&mut out, &items, height - 14.0);
    out.push_str("</svg>");
    out
}

/// Diverging bars of relative changes: better to the right, worse to the
/// left, each with its sign and the word, so colour is never the only cue.
/// Rows: (label, improvement as a fraction, better-is-positive; text).
pub fn change_chart(id: &str, title: &str, rows: &[(String, f64, String)]) -> String {
    let rows: Vec<&(String, f64, String)> = rows.iter().filter(|r| r.1.is_finite()).collect();
    if rows.is_empty() {
        return no_data(id, title, "no figure is present on both sides");
    }
    let row_h = 24.0;
    let top = 48.0;
    let bottom = top + row_h * rows.len() as f64;
    let height = bottom + 60.0;
    let max = rows.iter().map(|r| r.1.abs()).fold(0.0, f64::max).max(0.01);
    let step = nice_step(max * 100.0 * 1.1, 4.0) / 100.0;
    let xmax = (max * 1.1 / step).ceil().max(1.0) * step;
    let (left, right) = (300.0, WIDTH - 40.0);
    let mid = (left + right) / 2.0;
    let px = |v: f64| mid + v / xmax * (right - left) / 2.0;
    let mut out = String::new();
    header(&mut out, id, title, height);
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"40\" text-anchor=\"end\" font-size=\"12\" fill=\"{VERMILLION}\">◀ worse</text><text x=\"{:.1}\" y=\"40\" font-size=\"12\" fill=\"{BLUE}\">better ▶</text>",
        mid - 8.0,
        mid + 8.0
    );
    let mut t = -xmax;
    while t <= xmax + step * 0.01 {
        let x = px(t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#eeeeee\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#333\">{}{} %</text>",
            bottom + 16.0,
            if t > 1e-12 { "+" } else { "" },
            num(if t.abs() < 1e-12 { 0.0 } else { t * 100.0 })
        );
        t += step;
    }
    for (i, (label, v, text)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let (x, w) = if *v >= 0.0 {
            (mid, px(*v) - mid)
        } else {
            (px(*v), mid - px(*v))
        };
        // under 0.05 % both ways is no change: neither colour nor word claims one
        let same = v.abs() < 0.0005;
        let colour = if same {
            "#777777"
        } else if *v >= 0.0 {
            BLUE
        } else {
            VERMILLION
        };
        let word = if same {
            "no change"
        } else if *v >= 0.0 {
            "better"
        } else {
            "worse"
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#222\">{}</text><rect class=\"bar\" data-row=\"{}\" data-value=\"{v}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{colour}\"><title>{}</title></rect>",
            left - 6.0,
            y + 16.0,
            esc(label),
            esc(label),
            y + 4.0,
            w.max(1.0),
            row_h - 8.0,
            esc(text)
        );
        let (tx, anchor) = if *v >= 0.0 {
            (x + w.max(1.0) + 5.0, "start")
        } else {
            (x - 5.0, "end")
        };
        let _ = write!(
            out,
            "<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"12\" font-weight=\"bold\" fill=\"{colour}\">{}{:.1} % {word}</text>",
            y + 16.0,
            if same {
                "±"
            } else if *v >= 0.0 {
                "+"
            } else {
                "−"
            },
            v.abs() * 100.0
        );
    }
    let _ = write!(
        out,
        "<line x1=\"{mid}\" y1=\"{top}\" x2=\"{mid}\" y2=\"{bottom}\" stroke=\"#444\"/><text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\" fill=\"#222\">change from baseline to after, signed so that better is positive</text>",
        bottom + 38.0
    );
    out.push_str("</svg>");
    out
}

impl Chart {
    /// The chart as an `<svg>` element.
    pub fn svg(&self) -> String {
        match self {
            Chart::Line(c) => c.svg(),
            Chart::Bars(b) => bar_chart(&b.id, &b.title, &b.x_title, &b.rows, b.limit.clone()),
            Chart::Changes(c) => change_chart(&c.id, &c.title, &c.rows),
            Chart::NoData(n) => no_data(&n.id, &n.title, &n.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_the_spike() {
        let pts: Vec<(f64, f64)> = (0..3600)
            .map(|i| (i as f64, if i == 1234 { 900.0 } else { 10.0 }))
            .collect();
        let d = downsample(&pts, 1000, true);
        assert!(d.len() <= 1000);
        assert!(d.iter().any(|p| p.1 == 900.0 && p.0 == 1234.0));
    }

    #[test]
    fn nines_axis_round_trips() {
        for p in [50.0, 90.0, 99.0, 99.9, 99.99] {
            assert!((nines_to_percent(percent_to_nines(p)) - p).abs() < 1e-9);
        }
        assert!((percent_to_nines(99.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn text_is_escaped_and_empty_charts_say_why() {
        let c = LineChart {
            id: "x".into(),
            title: "<script>".into(),
            x_title: "t".into(),
            y_title: "y".into(),
            y2_title: None,
            x: XAxis::Time,
            lines: vec![Line::new("a", BLUE, vec![])],
            bands: vec![],
            band_legend: vec![],
            hlines: vec![],
        };
        let s = c.svg();
        assert!(!s.contains("<script>") && s.contains("No chart"), "{s}");
    }
}

//! The visual HTML report: the markdown report's body plus inline SVG charts,
//! in one self-contained file (no scripts, nothing loaded from elsewhere).
//!
//! The charts come from the report model ([`crate::report::charts`]), drawn
//! by [`super::svg`].

use super::svg;
pub use crate::report::charts::{Figure, MAX_POINTS, spectrum_percentiles, spectrum_points};

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
            svg = f.chart.svg(),
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

//! Resource Utilization: memory, CPU, network and connections of the server,
//! from the resource analysis of the step run (else the first scenario with
//! samples), and the response bandwidth from the load-test data alone.

use super::spec::{ReportSpec, resource_focus, scenario_title};
use crate::format;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One user level of the Resource Utilization section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceLevelView {
    /// User level.
    pub users: String,
    /// Resource samples at this level.
    pub samples: usize,
    /// Mean RSS.
    pub rss: String,
    /// Mean virtual memory.
    pub vms: String,
    /// Largest RSS.
    pub peak: String,
    /// CPU figures.
    pub cpu: String,
}

/// The Resource Utilization section, formatted (first scenario with samples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceView {
    /// The samples: file, format, count, run.
    pub source: String,
    /// One line per run with samples.
    pub summaries: Vec<String>,
    /// File name of the resource chart next to the report, when written.
    pub chart: Option<String>,
    /// Idle RSS.
    pub idle_rss: String,
    /// Idle virtual memory.
    pub idle_vms: String,
    /// How the idle phase was found.
    pub idle_definition: String,
    /// One entry per load level.
    pub levels: Vec<ResourceLevelView>,
    /// Peak RSS and when.
    pub peak: String,
    /// The leak verdict, in words.
    pub leak_sentence: String,
    /// The leak fit figures and thresholds.
    pub leak_figures: String,
    /// CPU while idle.
    pub cpu_idle: String,
    /// What the CPU percentages are of.
    pub cpu_basis: String,
    /// Whether CPU saturated before latency.
    pub cpu_bottleneck: String,
    /// Request bandwidth.
    pub request_bw: String,
    /// Response bandwidth.
    pub response_bw: String,
    /// Total bandwidth.
    pub total_bw: String,
    /// Connections under load.
    pub active_connections: String,
    /// Connections after the load.
    pub idle_connections: String,
    /// Most connections under load.
    pub max_connections: String,
    /// How connections were counted.
    pub connections_method: String,
    /// Notes of the resource analysis.
    pub notes: Vec<String>,
}

/// The Resource Utilization section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Resources {
    /// What to pass when there are no samples.
    pub resources_missing: String,
    /// Response bandwidth from the load-test data (content size × requests ÷ duration).
    pub response_bandwidth: String,
    /// The section's figures, when a run has resource samples.
    pub res: Option<ResourceView>,
}

/// Derive the section.
pub fn build(spec: &ReportSpec) -> Resources {
    let (resources_missing, response_bandwidth) = without_samples(spec);
    Resources {
        resources_missing,
        response_bandwidth,
        res: resource_view(spec),
    }
}

/// The text without samples, and the response bandwidth.
fn without_samples(spec: &ReportSpec) -> (String, String) {
    let missing = "No resource samples supplied: pass --resources resources.csv (or psrecord/pidstat output) sampled from the server during the test.".to_string();
    // Response bandwidth needs only the load-test data.
    let mut lines = Vec::new();
    for s in &spec.scenarios {
        let r = &s.run;
        if let (Some(b), Some(d)) = (r.total.avg_content_bytes, r.duration_s)
            && d > 0.0
        {
            let mbs = b * r.total.requests as f64 / d / 1e6;
            lines.push(format!(
                "{}{:.3} MB/s (average content size {:.0} B × {} requests ÷ {})",
                if spec.scenarios.len() > 1 {
                    format!("{}: ", scenario_title(s))
                } else {
                    String::new()
                },
                mbs,
                b,
                format::count(r.total.requests),
                format::duration(d)
            ));
        }
    }
    if lines.is_empty() {
        lines.push("not available (the input has no content sizes)".into());
    }
    (missing, lines.join("; "))
}

/// One line per run with samples: idle and peak RSS, CPU under load, leak verdict.
fn resource_summaries(spec: &ReportSpec) -> Vec<String> {
    let mut out = Vec::new();
    let runs = spec
        .scenarios
        .iter()
        .filter_map(|s| s.resource_report.as_ref().map(|r| (scenario_title(s), r)))
        .chain(
            spec.step
                .iter()
                .zip(spec.step_resources.iter())
                .map(|(run, r)| (format!("step run {}", run.label), r)),
        );
    for (title, r) in runs {
        out.push(format!(
            "{title}: idle RSS {}, peak RSS under load {}, CPU under load {} of the machine; leak {}",
            r.rss_idle_bytes.map(format::bytes).unwrap_or_else(|| "not sampled".into()),
            r.rss_load_bytes.map(format::bytes).unwrap_or_else(|| "not sampled".into()),
            r.cpu_load_percent.map(format::percent).unwrap_or_else(|| "not sampled".into()),
            match r.leak.verdict {
                crate::analysis::resources::LeakVerdict::Suspected => "suspected",
                crate::analysis::resources::LeakVerdict::NotSuspected => "not suspected",
                _ => "inconclusive",
            }
        ));
    }
    out
}

fn resource_view(spec: &ReportSpec) -> Option<ResourceView> {
    use crate::analysis::resources::PhaseKind;
    let (focus, r) = resource_focus(spec)?;
    let b = |v: Option<f64>| v.map(format::bytes).unwrap_or_else(|| "not sampled".into());
    let mbs = |v: f64| format!("{:.3} MB/s", v / 1e6);
    let cpu = |core: Option<f64>, machine: Option<f64>| match (core, machine) {
        (Some(c), Some(m)) => format!(
            "{} of the machine ({} of one core)",
            format::percent(m),
            format::percent(c)
        ),
        _ => "not sampled".into(),
    };
    let levels = r
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Load)
        .map(|p| ResourceLevelView {
            users: p
                .users
                .map(|u| u.to_string())
                .unwrap_or_else(|| "unknown".into()),
            samples: p.samples,
            rss: format!("{} (mean of {} samples)", b(p.rss_mean_bytes), p.samples),
            vms: b(p.vms_mean_bytes),
            peak: b(p.rss_max_bytes),
            cpu: match (p.cpu_machine_percent, p.cpu_core_percent) {
                (Some(m), Some(c)) => format!(
                    "mean {}, p95 {}, max {} of the machine (mean {} of one core)",
                    format::percent(m.mean),
                    format::percent(m.p95),
                    format::percent(m.max),
                    format::percent(c.mean)
                ),
                _ => "not sampled".into(),
            },
        })
        .collect();
    let l = &r.leak;
    let leak_figures = match (l.slope_mib_per_min, l.r_squared) {
        (Some(s), Some(r2)) => format!(
            "Slope {s:.2} MiB/min, r² = {r2:.2} over {} ({} samples); retained after the load: {}; growth under load: {}. Suspected when slope > {} MiB/min, r² ≥ {} and more than {:.0} % of the growth is retained.",
            l.window_definition,
            l.samples,
            l.retained_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "unknown".into()),
            l.growth_bytes
                .map(format::bytes)
                .unwrap_or_else(|| "unknown".into()),
            l.threshold_mib_per_min,
            l.min_r_squared,
            l.retained_fraction * 100.0
        ),
        _ => String::new(),
    };
    let n = &r.network;
    let c = &r.connections;
    let conn = |v: Option<f64>, what: &str| match v {
        Some(v) => format!("≤ {v:.0} ({what})"),
        None => "not sampled".into(),
    };
    Some(ResourceView {
        source: format!(
            "{} ({}, {} samples of the server during {focus})",
            r.source, r.format, r.samples
        ),
        summaries: resource_summaries(spec),
        // set by the markdown renderer when it writes the chart file
        chart: None,
        idle_rss: b(r.memory.rss_idle_bytes),
        idle_vms: b(r.memory.vms_idle_bytes),
        idle_definition: r.memory.idle_definition.clone(),
        levels,
        peak: match (r.memory.rss_peak_bytes, r.memory.rss_peak_unix) {
            (Some(p), Some(t)) => format!("{} at {}", format::bytes(p), format::time(t)),
            _ => "not sampled".into(),
        },
        leak_sentence: l.sentence.clone(),
        leak_figures,
        cpu_idle: cpu(r.cpu.idle_core_percent, r.cpu.idle_machine_percent),
        cpu_basis: r.cpu_basis.sentence.clone(),
        cpu_bottleneck: r.cpu.bottleneck_sentence.clone(),
        request_bw: match n.request_bytes_per_s {
            Some(v) => format!("{} ({})", mbs(v), n.request_from),
            None => n.request_from.clone(),
        },
        response_bw: match n.response_bytes_per_s {
            Some(v) => format!("{} ({})", mbs(v), n.response_from),
            None => n.response_from.clone(),
        },
        total_bw: match n.total_bytes_per_s {
            Some(v) => mbs(v),
            None => "not sampled (needs the request bandwidth)".into(),
        },
        active_connections: conn(c.active_mean, "mean under load"),
        idle_connections: conn(c.idle_after, "mean after the load"),
        max_connections: conn(c.max, "largest under load"),
        connections_method: c.method.clone(),
        notes: r.notes.clone(),
    })
}

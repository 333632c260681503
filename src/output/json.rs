//! The verdict as JSON (`gate --json FILE`), for scripts and dashboards.
//!
//! The shape is described by the JSON Schema committed at
//! `schemas/verdict.schema.json` (draft 2020-12); the tests validate the
//! output against it. Limits and measured values are numbers in the metric's
//! canonical unit (named in `unit`: `ms`, `req/s`, `fraction`, `count`,
//! `bytes`, `percent`, `bytes/min`); `*_text` fields are the same figures as
//! shown to people.

use super::{Counts, GateContext, limit_text, overall_text, scope_text};
use crate::error::Result;
use crate::format;
use crate::targets::{Metric, Outcome, State, Verdict};
use serde::Serialize;

/// Version of the document's shape; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// The whole verdict document.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictJson {
    /// Version of this document's shape ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Version of perfreport that wrote it.
    pub perfreport_version: String,
    /// `passed`, `failed` or `incomplete` (a target not measured with `--require-all`).
    pub state: &'static str,
    /// The exit code of `gate`: 0 passed, 1 failed, 3 incomplete.
    pub exit_code: i32,
    /// Whether warnings fail the gate (`--fail-on warn`).
    pub fail_on_warn: bool,
    /// Whether an unmeasured target fails the gate (`--require-all`).
    pub require_all: bool,
    /// How many targets are in each state.
    pub counts: Counts,
    /// The run the targets were evaluated on.
    pub run: RunJson,
    /// Every target, in the order they were given (defaults first).
    pub targets: Vec<TargetJson>,
    /// The comparison with the baseline runs (`gate --baseline`), or null.
    pub comparison: Option<ComparisonJson>,
}

/// What `gate --baseline` compared, besides the checks among `targets`.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonJson {
    /// Baseline run labels.
    pub baselines: Vec<String>,
    /// Endpoints only in the after run (not compared).
    pub added: Vec<String>,
    /// Endpoints only in the baselines (not compared).
    pub removed: Vec<String>,
    /// Every endpoint present in both runs.
    pub endpoints: Vec<crate::analysis::regression::EndpointRow>,
    /// How much of the aggregate p95's change the request mix explains, or null.
    pub mix_shift: Option<crate::analysis::regression::MixShift>,
    /// The statistical method, in one sentence.
    pub method: String,
}

/// The run the verdict is about.
#[derive(Debug, Clone, Serialize)]
pub struct RunJson {
    /// Scenario name (the file prefix unless told otherwise).
    pub label: String,
    /// `Locust` or `Goose`.
    pub tool: String,
    /// The tool's version, when the input says.
    pub tool_version: Option<String>,
    /// The `--stats` paths as given on the command line.
    pub sources: Vec<String>,
    /// Start of the test (RFC 3339, UTC), when known.
    pub started: Option<String>,
    /// Length of the test in seconds, when known.
    pub duration_s: Option<f64>,
    /// Why the run stopped before its planned end (a tool threshold that
    /// aborted it), or null.
    pub stopped_early: Option<String>,
}

/// One evaluated target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetJson {
    /// Row title (`API Response Time (p95)`), or the expression for user targets.
    pub title: String,
    /// The expression as given (`warn: p95{name:/api/*}<300ms over 30s`).
    pub expression: String,
    /// `fail`, or `warn` for a `warn:` target (a miss is a warning).
    pub tier: &'static str,
    /// The metric key: `p95`, `avg`, `rps`, `error_rate`, `rss_load`, ...
    pub metric: String,
    /// The scope in canonical form (`{name:/api/*,type:GET}`), or null for all requests.
    pub scope: Option<String>,
    /// The scope as shown: `all requests`, `server` (resource metrics), or the scope.
    pub scope_text: String,
    /// The comparison: `<`, `<=`, `>`, `>=` or `==`.
    pub op: &'static str,
    /// The limit in the canonical unit.
    pub limit: f64,
    /// The canonical unit of `limit` and `measured`.
    pub unit: &'static str,
    /// The limit as written: `< 300ms`.
    pub limit_text: String,
    /// `over N s`: the window length in seconds, or null.
    pub over_s: Option<f64>,
    /// `for N s`: the shortest continuous breach, in seconds, that fails the target, or null.
    pub for_s: Option<f64>,
    /// The measured value in the canonical unit, or null when not measured.
    pub measured: Option<f64>,
    /// The measured value as shown (`770 ms`, `between 11 ms and 40 ms`, `not measured`).
    pub measured_text: String,
    /// `met`, `warned`, `missed` or `not_measured`.
    pub state: State,
    /// Whether this target fails the gate under the settings above.
    pub fails_gate: bool,
    /// Where the value came from, or why it is missing.
    pub detail: String,
    /// Requests behind the figure, for request metrics.
    pub samples: Option<u64>,
    /// For a check against the baseline (`... vs baseline`): the change, its
    /// interval and verdict; null for other targets.
    pub change: Option<crate::analysis::regression::Check>,
}

/// The canonical unit of a metric, as named in the JSON.
pub fn unit_name(metric: Metric) -> &'static str {
    match metric {
        Metric::ErrorRate => "fraction",
        Metric::Errors => "count",
        Metric::CpuLoad => "percent",
        other => other.unit_label(),
    }
}

impl TargetJson {
    /// The JSON form of one outcome.
    pub fn new(o: &Outcome, ctx: &GateContext) -> Self {
        let e = &o.target.expr;
        let scope = e.scope.to_string();
        let check = ctx
            .comparison
            .as_ref()
            .and_then(|c| c.check(&o.target.title));
        TargetJson {
            title: o.target.title.clone(),
            expression: e.text.clone(),
            tier: if e.warn { "warn" } else { "fail" },
            metric: check.map_or_else(|| e.metric.key(), |c| c.metric.clone()),
            scope: (!scope.is_empty()).then_some(scope),
            scope_text: scope_text(o),
            op: e.op.symbol(),
            limit: e.limit,
            unit: check.map_or_else(|| unit_name(e.metric), |c| c.change_unit),
            limit_text: limit_text(o),
            over_s: e.over_s,
            for_s: e.for_s,
            measured: o.measured.filter(|v| v.is_finite()),
            measured_text: o.measured_text.clone(),
            state: o.state,
            fails_gate: ctx.fails(o),
            detail: o.detail.clone(),
            samples: o.samples,
            change: ctx
                .comparison
                .as_ref()
                .and_then(|c| c.check(&o.target.title))
                .cloned(),
        }
    }
}

impl VerdictJson {
    /// The document for a verdict.
    pub fn new(verdict: &Verdict, ctx: &GateContext) -> Self {
        let exit_code = ctx.exit_code(verdict);
        VerdictJson {
            format_version: FORMAT_VERSION,
            perfreport_version: env!("CARGO_PKG_VERSION").to_string(),
            state: overall_text(exit_code),
            exit_code,
            fail_on_warn: ctx.fail_on_warn,
            require_all: ctx.require_all,
            counts: Counts::of(verdict),
            run: RunJson {
                label: ctx.label.clone(),
                tool: ctx.tool.to_string(),
                tool_version: ctx.tool_version.clone(),
                sources: ctx.sources.clone(),
                started: ctx.started.map(format::time),
                duration_s: ctx.duration_s.filter(|d| d.is_finite()),
                stopped_early: ctx.stopped_early.clone(),
            },
            targets: verdict
                .outcomes
                .iter()
                .map(|o| TargetJson::new(o, ctx))
                .collect(),
            comparison: ctx.comparison.as_ref().map(|c| ComparisonJson {
                baselines: c.baselines.clone(),
                added: c.added.clone(),
                removed: c.removed.clone(),
                endpoints: c.endpoints.clone(),
                mix_shift: c.mix_shift.clone(),
                method: c.method.clone(),
            }),
        }
    }
}

/// The verdict as pretty-printed JSON, with a final newline.
pub fn render(verdict: &Verdict, ctx: &GateContext) -> Result<String> {
    let mut text = serde_json::to_string_pretty(&VerdictJson::new(verdict, ctx))
        .map_err(|e| crate::Error::Usage(format!("cannot write the verdict as JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

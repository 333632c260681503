//! The report file (`--config perfreport.toml`): several runs and what the user
//! knows about them (scenario descriptions, expected results, baseline/after,
//! scalability runs). Paths are relative to the file. Unknown keys are errors
//! naming the key and its line, with a "did you mean" when one is close.
//!
//! ```toml
//! system = "AutoArr API"
//! environment = "Development (Local)"
//!
//! [targets]
//! "API Response Time (p95)" = "p95<200ms"
//!
//! [groups]
//! database = "type:DB"
//!
//! [sections]
//! orchestrator = "not applicable: no MCP servers in this service"
//!
//! [[scenario]]
//! name = "Configuration Audit Load"
//! stats = ["../locust/configaudit_u30_60s/configaudit_u30_60s_stats.csv"]
//! resources = "../locust/configaudit_u30_60s/resources.csv"
//! target_rps = [20, 30]
//!
//! [baseline]
//! stats = ["../locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv"]
//! [after]
//! stats = ["../locust/mixed_after_u50_90s/mixed_after_u50_90s_stats.csv"]
//!
//! [[scalability]]
//! instances = 2
//! stats = ["../locust/scale_instances2_nodelay_u30_40s/scale_instances2_nodelay_u30_40s_stats.csv"]
//! ```

use crate::error::{Error, Result};
use crate::targets::expr::{self, Scope, TargetExpr};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    title: Option<String>,
    system: Option<String>,
    environment: Option<String>,
    test_date: Option<String>,
    version: Option<String>,
    next_review: Option<String>,
    cpu_cores: Option<u32>,
    #[serde(default)]
    targets: crate::targets::file::TargetList,
    #[serde(default, rename = "target")]
    target: Vec<crate::targets::file::NamedTarget>,
    #[serde(default)]
    groups: BTreeMap<String, toml::Spanned<String>>,
    #[serde(default, rename = "scenario")]
    scenarios: Vec<RawScenario>,
    baseline: Option<RawRun>,
    after: Option<RawRun>,
    step: Option<RawRun>,
    #[serde(default)]
    scalability: Vec<RawScalability>,
    #[serde(default)]
    notes: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    sections: BTreeMap<String, toml::Spanned<String>>,
    template: Option<String>,
    regression: Option<RawTolerance>,
    history: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    label: Option<String>,
    stats: OneOrMany,
    resources: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    description: Option<String>,
    user_profile: Option<Vec<String>>,
    think_time: Option<String>,
    user_levels: Option<String>,
    expected_users: Option<u64>,
    expected_duration: Option<String>,
    target_rps: Option<[f64; 2]>,
    stats: OneOrMany,
    resources: Option<String>,
    notes: Option<OneOrMany>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScalability {
    label: Option<String>,
    instances: Option<u32>,
    cores: Option<u32>,
    stats: OneOrMany,
    resources: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    run_noise: Option<toml::Spanned<f64>>,
    latency_percent: Option<f64>,
    latency_ms: Option<f64>,
    rps_percent: Option<f64>,
}

/// The inputs of one run.
#[derive(Debug, Clone)]
pub struct RunInputs {
    /// Display name, when given.
    pub label: Option<String>,
    /// `--stats` files.
    pub stats: Vec<PathBuf>,
    /// Resource samples.
    pub resources: Option<PathBuf>,
}

/// A scenario as configured.
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    /// What the config says about it (its `name` is the title).
    pub info: crate::report::ScenarioInfo,
    /// Inputs.
    pub inputs: RunInputs,
}

/// A scalability run.
#[derive(Debug, Clone)]
pub struct ScalabilityConfig {
    /// Instances, for horizontal scaling.
    pub instances: Option<u32>,
    /// Cores, for vertical scaling.
    pub cores: Option<u32>,
    /// Inputs.
    pub inputs: RunInputs,
}

/// A parsed report file with paths resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file.
    pub path: PathBuf,
    /// Report title: the HTML page's title and `gate --config`'s run name (the
    /// markdown keeps the reference's heading).
    pub title: Option<String>,
    /// System under test.
    pub system: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Test date.
    pub test_date: Option<String>,
    /// Report version.
    pub version: Option<String>,
    /// Next review.
    pub next_review: Option<String>,
    /// Core count of the server, for the CPU basis.
    pub cpu_cores: Option<u32>,
    /// Target overrides: (row title, expression), from `[targets]` (a table
    /// of titles, or a list of expressions) and `[[target]]` tables.
    pub targets: Vec<(String, TargetExpr)>,
    /// Relative targets (`p95 <= +10% vs baseline`) for the `[after]` run
    /// against `[baseline]`; the defaults when empty.
    pub relative_targets: Vec<expr::RelativeExpr>,
    /// Request groups for the database / orchestrator sections.
    pub groups: Vec<(String, Scope)>,
    /// Scenarios.
    pub scenarios: Vec<ScenarioConfig>,
    /// Baseline run.
    pub baseline: Option<RunInputs>,
    /// After run.
    pub after: Option<RunInputs>,
    /// Step run for single-instance capacity.
    pub step: Option<RunInputs>,
    /// Scalability runs.
    pub scalability: Vec<ScalabilityConfig>,
    /// Notes per section.
    pub notes: BTreeMap<String, Vec<String>>,
    /// Sections marked not applicable to this system, with the reason
    /// (`[sections] orchestrator = "not applicable: no MCP servers"`).
    pub not_applicable: BTreeMap<String, String>,
    /// The config's own template (`template = "report.md.tera"`), which may
    /// extend the built-in one; `--template` wins over it.
    pub template: Option<PathBuf>,
    /// Recorded runs for the Trend section (`history = "db:perfreport.db?last=20"`),
    /// the database path relative to the config; `--history` wins over it.
    pub history: Option<String>,
    /// Regression tolerance.
    pub tolerance: crate::analysis::compare::Tolerance,
    /// `[regression] run_noise` (percent in the file, a fraction here): the
    /// run-to-run noise assumed with a single baseline run, as `--run-noise`
    /// (which wins over it).
    pub run_noise: Option<f64>,
}

/// `a/b/../c` -> `a/c`, without touching the file system, so that paths in
/// messages and reports read the way a user would write them.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// The 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

/// Add "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`".
pub(crate) fn did_you_mean(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|c| (strsim::levenshtein(field, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min();
    match best {
        Some((_, c)) => format!("{}; did you mean `{c}`?", message.trim_end()),
        None => message.to_string(),
    }
}

/// A `[targets]` or `[groups]` value that does not parse, placed at its line
/// and column in the config file. The column points into the string at the
/// character the expression parser stopped at, when the string has no escapes.
pub(crate) fn entry_error(
    path: &Path,
    text: &str,
    table: &str,
    key: &str,
    value: &toml::Spanned<String>,
    e: Error,
) -> Error {
    let span = value.span();
    let raw = text.get(span.clone()).unwrap_or("");
    let (message, offset) = match e {
        Error::Target {
            expr,
            position,
            message,
        } => {
            // skip the opening quote; escapes would shift the column, so only
            // point inside a string that is written exactly as parsed
            let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
            if inner == expr {
                let offset = 1 + expr
                    .char_indices()
                    .nth(position)
                    .map_or(expr.len(), |(i, _)| i);
                (
                    format!(
                        "[{table}] `{key}` = `{expr}`: {message} at character {}",
                        position + 1
                    ),
                    offset,
                )
            } else {
                // a group's scope is parsed wrapped in braces, or the string
                // has escapes: the character count would not match the file
                (format!("[{table}] `{key}` = {raw}: {message}"), 0)
            }
        }
        other => (format!("[{table}] `{key}`: {other}"), 0),
    };
    let (line, col) = line_col(text, span.start + offset);
    Error::parse(path, Some(line), Some(col), message)
}

/// Load and check a report file.
pub fn load(path: &Path) -> Result<Config> {
    let text = crate::input::read_text(path)?;
    let raw: RawConfig = toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| line_col(&text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Error::parse(path, line, col, did_you_mean(e.message()))
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let resolve = |p: &str| normalize(&dir.join(p));
    let inputs = |label: Option<String>, stats: OneOrMany, resources: Option<String>| RunInputs {
        label,
        stats: stats.into_vec().iter().map(|s| resolve(s)).collect(),
        resources: resources.as_deref().map(resolve),
    };
    let (targets, relative_targets) =
        crate::targets::file::parse_entries(path, &text, raw.targets, raw.target)?;
    let mut groups = Vec::new();
    for (name, value) in raw.groups {
        let parsed = expr::parse_scope(value.get_ref())
            .map_err(|e| entry_error(path, &text, "groups", &name, &value, e))?;
        groups.push((name, parsed));
    }
    for section in raw.notes.keys() {
        if !crate::report::NOTE_SECTIONS.contains(&section.as_str()) {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(section.as_str()))
                .map(|i| i as u64 + 1);
            let close = crate::report::NOTE_SECTIONS
                .iter()
                .map(|c| (strsim::levenshtein(section, c), *c))
                .min()
                .filter(|(d, _)| *d <= 3)
                .map(|(_, c)| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(Error::parse(
                path,
                line,
                None,
                format!(
                    "[notes] has no section `{section}`; expected one of {}{close}",
                    crate::report::NOTE_SECTIONS.join(", ")
                ),
            ));
        }
    }
    let mut not_applicable = BTreeMap::new();
    for (section, value) in &raw.sections {
        let (line, col) = line_col(&text, value.span().start);
        let here = |message: String| Error::parse(path, Some(line), Some(col), message);
        if !crate::report::SECTIONS.contains(&section.as_str()) {
            let close = crate::report::SECTIONS
                .iter()
                .map(|c| (strsim::levenshtein(section, c), *c))
                .min()
                .filter(|(d, _)| *d <= 3)
                .map(|(_, c)| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(here(format!(
                "[sections] has no section `{section}`; expected one of {}{close}",
                crate::report::SECTIONS.join(", ")
            )));
        }
        let reason = not_applicable_reason(value.get_ref()).ok_or_else(|| {
            here(format!(
                "[sections] `{section}`: expected \"not applicable: <why this system has no such input>\", found {:?}",
                value.get_ref()
            ))
        })?;
        not_applicable.insert(section.clone(), reason);
    }
    let mut tolerance = crate::analysis::compare::Tolerance::default();
    let mut run_noise = None;
    if let Some(t) = raw.regression {
        if let Some(v) = &t.run_noise {
            let x = *v.get_ref();
            if !(0.0..=500.0).contains(&x) {
                let (line, col) = line_col(&text, v.span().start);
                return Err(Error::parse(
                    path,
                    Some(line),
                    Some(col),
                    format!(
                        "[regression] run_noise: expected a percentage from 0 to 500 (the run-to-run sd of ln(percentile) assumed with one baseline, as --run-noise), found {x}"
                    ),
                ));
            }
            run_noise = Some(x / 100.0);
        }
        if let Some(v) = t.latency_percent {
            tolerance.latency_fraction = v / 100.0;
        }
        if let Some(v) = t.latency_ms {
            tolerance.latency_ms = v;
        }
        if let Some(v) = t.rps_percent {
            tolerance.rps_fraction = v / 100.0;
        }
    }
    let mut scalability = Vec::new();
    for s in raw.scalability {
        if s.instances.is_none() == s.cores.is_none() {
            return Err(Error::parse(
                path,
                None,
                None,
                "each [[scalability]] entry needs exactly one of `instances = N` or `cores = N`",
            ));
        }
        scalability.push(ScalabilityConfig {
            instances: s.instances,
            cores: s.cores,
            inputs: inputs(s.label, s.stats, s.resources),
        });
    }
    Ok(Config {
        path: path.to_path_buf(),
        title: raw.title,
        system: raw.system,
        environment: raw.environment,
        test_date: raw.test_date,
        version: raw.version,
        next_review: raw.next_review,
        cpu_cores: raw.cpu_cores,
        targets,
        relative_targets,
        groups,
        scenarios: raw
            .scenarios
            .into_iter()
            .map(|s| ScenarioConfig {
                info: crate::report::ScenarioInfo {
                    title: Some(s.name.clone()),
                    description: s.description,
                    user_profile: s.user_profile.unwrap_or_default(),
                    think_time: s.think_time,
                    user_levels: s.user_levels,
                    expected_users: s.expected_users,
                    expected_duration: s.expected_duration,
                    target_rps: s.target_rps.map(|[a, b]| (a, b)),
                    notes: s.notes.map(OneOrMany::into_vec).unwrap_or_default(),
                },
                inputs: inputs(Some(s.name), s.stats, s.resources),
            })
            .collect(),
        baseline: raw.baseline.map(|r| inputs(r.label, r.stats, r.resources)),
        after: raw.after.map(|r| inputs(r.label, r.stats, r.resources)),
        step: raw.step.map(|r| inputs(r.label, r.stats, r.resources)),
        scalability,
        notes: raw
            .notes
            .into_iter()
            .map(|(k, v)| (k, v.into_vec()))
            .collect(),
        not_applicable,
        template: raw.template.as_deref().map(resolve),
        history: raw.history.map(|h| match h.strip_prefix("db:") {
            Some(rest) => {
                let (db, query) = rest
                    .split_once('?')
                    .map_or((rest, None), |(d, q)| (d, Some(q)));
                let db = resolve(db).display().to_string();
                match query {
                    Some(q) => format!("db:{db}?{q}"),
                    None => format!("db:{db}"),
                }
            }
            // not a db: spec; the render refuses it with the expected form
            None => h,
        }),
        tolerance,
        run_noise,
    })
}

/// The reason of a `[sections]` value `"not applicable: <reason>"`; `None`
/// when the value says something else or gives no reason (a section is only
/// waived with a reason the report can print).
fn not_applicable_reason(value: &str) -> Option<String> {
    let v = value.trim();
    let prefix = "not applicable";
    let head = v.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let reason = v[prefix.len()..].trim_start().strip_prefix(':')?.trim();
    (!reason.is_empty()).then(|| reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("perfreport.toml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn unknown_keys_name_the_key_and_line_with_a_suggestion() {
        let err = load_text("system = \"x\"\n\n[[scenario]]\nname = \"a\"\nstat = [\"a.csv\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("unknown field `stat`"), "{err}");
        assert!(err.contains("did you mean `stats`?"), "{err}");
    }

    #[test]
    fn paths_are_relative_to_the_file_and_stats_may_be_one_string() {
        let c = load_text(
            "[[scenario]]\nname = \"a\"\nstats = \"runs/a_stats.csv\"\n[baseline]\nstats = [\"b.csv\", \"b.json\"]\n",
        )
        .unwrap();
        assert!(c.scenarios[0].inputs.stats[0].ends_with("runs/a_stats.csv"));
        assert!(c.scenarios[0].inputs.stats[0].is_absolute());
        assert_eq!(c.baseline.unwrap().stats.len(), 2);
    }

    #[test]
    fn notes_name_a_known_section() {
        let err = load_text("[notes]\nscalabilty = [\"x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("did you mean `scalability`?"), "{err}");
    }

    #[test]
    fn bad_targets_and_groups_name_the_file_line_and_column() {
        let text =
            "system = \"x\"\n\n[targets]\n\"API p95\" = \"p95<200ms\"\n\"Bad\" = \"p95<<200ms\"\n";
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.contains("perfreport.toml"), "{err}");
        // `"Bad" = "p95<<200ms"`: the parser stops at the second `<`, the 5th
        // character of the string, which starts in column 10 after its quote
        assert!(err.contains("line 5, column 14"), "{err}");
        assert!(err.contains("[targets] `Bad`"), "{err}");

        let text = "[groups]\ndatabase = \"type:DB\"\nbroken = \"colour:red\"\n";
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.contains("perfreport.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("[groups] `broken`"), "{err}");
    }

    #[test]
    fn sections_are_waived_only_with_a_reason_and_by_a_known_name() {
        let c = load_text(
            "[sections]\norchestrator = \"Not applicable: no MCP servers in this service\"\n",
        )
        .unwrap();
        assert_eq!(
            c.not_applicable.get("orchestrator").map(String::as_str),
            Some("no MCP servers in this service")
        );
        let err = load_text("[sections]\norchestrater = \"not applicable: x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("did you mean `orchestrator`?"), "{err}");
        for bad in ["\"not applicable\"", "\"n/a\"", "\"not applicable:  \""] {
            let err = load_text(&format!("[sections]\ndatabase = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("line 2"), "{err}");
            assert!(err.contains("not applicable: <why"), "{err}");
        }
    }

    #[test]
    fn targets_may_be_a_table_a_list_or_target_tables() {
        let c = load_text("[targets]\n\"Throughput\" = \"rps>=50\"\n").unwrap();
        assert_eq!(c.targets[0].0, "Throughput");
        assert_eq!(c.targets[0].1.limit, 50.0);
        let c = load_text(
            "targets = [\"p95<300ms\"]\n\n[[target]]\nname = \"Checkout p99\"\nexpr = \"p99<1s\"\n",
        )
        .unwrap();
        let titles: Vec<&str> = c.targets.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, ["p95<300ms", "Checkout p99"]);
        assert_eq!(c.targets[1].1.limit, 1000.0);
    }

    #[test]
    fn scalability_entries_need_instances_or_cores() {
        let err = load_text("[[scalability]]\nstats = \"a.csv\"\n").unwrap_err();
        assert!(err.to_string().contains("instances = N"));
    }
}

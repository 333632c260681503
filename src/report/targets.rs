//! Performance Targets: one row per target, its status over all scenarios.

use super::spec::{ReportSpec, Scenario, scenario_title};
use super::text::{state_mark, target_limit_text};
use crate::targets::{Counts, Outcome, State, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One row of the targets table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetRow {
    /// Row title (`API Response Time (p95)`).
    pub metric: String,
    /// The limit as written in the report (`< 200 ms`).
    pub target: String,
    /// Status over all scenarios, with the measured figures.
    pub status: String,
}

/// How the targets of every scenario came out, counted over all scenarios
/// (what `render --out` prints as its verdict summary).
pub fn counts(verdicts: &[Verdict]) -> Counts {
    let mut c = Counts::default();
    for v in verdicts {
        c.add(Counts::of(v));
    }
    c
}

/// The targets table.
pub fn build(spec: &ReportSpec, verdicts: &[Verdict]) -> Vec<TargetRow> {
    spec.targets
        .iter()
        .enumerate()
        .map(|(i, t)| TargetRow {
            metric: t.title.clone(),
            target: target_limit_text(t),
            status: combined_status(spec, verdicts, i),
        })
        .collect()
}

/// One status cell for a target over all scenarios.
fn combined_status(spec: &ReportSpec, verdicts: &[Verdict], index: usize) -> String {
    let outcomes: Vec<(&Scenario, &Outcome)> = spec
        .scenarios
        .iter()
        .zip(verdicts)
        .map(|(s, v)| (s, &v.outcomes[index]))
        .collect();
    if outcomes.len() == 1 {
        let o = outcomes[0].1;
        return match o.state {
            State::NotMeasured => format!("Not measured: {}", o.detail),
            s => format!("{} ({})", state_mark(s), o.measured_text),
        };
    }
    let measured: Vec<&(&Scenario, &Outcome)> = outcomes
        .iter()
        .filter(|(_, o)| o.state != State::NotMeasured)
        .collect();
    if measured.is_empty() {
        return format!("Not measured: {}", outcomes[0].1.detail);
    }
    let worst = measured
        .iter()
        .map(|(_, o)| o.state)
        .min()
        .unwrap_or(State::Met);
    let parts: Vec<String> = measured
        .iter()
        .map(|(s, o)| format!("{} {}", scenario_title(s), o.measured_text))
        .collect();
    let met = measured
        .iter()
        .filter(|(_, o)| o.state == State::Met)
        .count();
    format!(
        "{} in {} of {} measured scenarios ({})",
        state_mark(worst),
        if worst == State::Met {
            met
        } else {
            measured.len() - met
        },
        measured.len(),
        parts.join("; ")
    )
}

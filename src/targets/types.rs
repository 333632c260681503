//! The target and outcome types, a leaf module: `analysis::windows` builds
//! [`Outcome`]s from these without importing target evaluation
//! (`targets::evaluate`), which in turn calls the windowed evaluation.

use super::expr::{Scope, TargetExpr};

/// A target with the title of its row in the report.
#[derive(Debug, Clone)]
pub struct Target {
    /// Row title (`API Response Time (p95)`), or the expression for user targets.
    pub title: String,
    /// The expression.
    pub expr: TargetExpr,
    /// Requests left out of the expression's scope, each with a name: the API
    /// targets leave out WebSocket and database requests and the config's
    /// `[groups]`, which have targets and sections of their own. Empty for
    /// every other target.
    pub exclude: Vec<(String, Scope)>,
}

impl Target {
    /// A target over the expression's scope, nothing left out.
    pub fn new(title: impl Into<String>, expr: TargetExpr) -> Self {
        Target {
            title: title.into(),
            expr,
            exclude: Vec::new(),
        }
    }

    /// Whether this is an API target: HTTP requests only.
    pub fn is_api(&self) -> bool {
        !self.exclude.is_empty()
    }
}

/// Figures from resource samples that resource targets are evaluated against.
#[derive(Debug, Clone, Default)]
pub struct ResourceFigures {
    /// Mean RSS while idle before the load.
    pub rss_idle_bytes: Option<f64>,
    /// Largest RSS under load.
    pub rss_load_bytes: Option<f64>,
    /// Mean CPU under load, in percent of the basis below.
    pub cpu_load_percent: Option<f64>,
    /// RSS growth under steady load.
    pub leak_slope_bytes_per_min: Option<f64>,
    /// What the CPU percentage is of ("of the machine's 2 cores").
    pub cpu_basis: String,
}

/// The state of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The target failed.
    Missed,
    /// A warning-tier target failed.
    Warned,
    /// Nothing to measure it with.
    NotMeasured,
    /// The target held.
    Met,
}

impl State {
    /// `met`, `missed`, ...
    pub fn label(self) -> &'static str {
        match self {
            State::Met => "met",
            State::Warned => "warned",
            State::Missed => "missed",
            State::NotMeasured => "not measured",
        }
    }
}

/// One evaluated target.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target.
    pub target: Target,
    /// Its state.
    pub state: State,
    /// The measured value in the metric's canonical unit (for bounds: the bound
    /// that decided).
    pub measured: Option<f64>,
    /// The measured value as shown (`140 ms`, `between 11 ms and 40 ms`).
    pub measured_text: String,
    /// Where the value came from, or why it is missing.
    pub detail: String,
    /// Requests behind the figure, when it is a request metric.
    pub samples: Option<u64>,
}

/// The verdict on a run.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Every target, in the order given (with `gate --baseline`, the regression
    /// checks last).
    pub outcomes: Vec<Outcome>,
}

impl Verdict {
    /// Exit code: 1 if a target missed (or warned with `fail_on_warn`), else 3
    /// if nothing at all was measured, or `require_all` and something was not
    /// measured, else 0.
    pub fn exit_code(&self, require_all: bool, fail_on_warn: bool) -> i32 {
        let any = |s: State| self.outcomes.iter().any(|o| o.state == s);
        if any(State::Missed) || (fail_on_warn && any(State::Warned)) {
            1
        } else if (require_all && any(State::NotMeasured)) || self.measured_nothing() {
            3
        } else {
            0
        }
    }

    /// No target could be measured (or there was none): "I measured nothing"
    /// is never a pass.
    pub fn measured_nothing(&self) -> bool {
        self.outcomes.iter().all(|o| o.state == State::NotMeasured)
    }

    /// Outcomes with failures first (missed, warned, not measured, met).
    pub fn sorted(&self) -> Vec<&Outcome> {
        let mut v: Vec<&Outcome> = self.outcomes.iter().collect();
        v.sort_by_key(|o| o.state);
        v
    }
}

/// How many targets are in each state.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub struct Counts {
    /// Targets met.
    pub met: usize,
    /// Warning-tier targets missed.
    pub warned: usize,
    /// Targets missed.
    pub missed: usize,
    /// Targets that could not be measured.
    pub not_measured: usize,
}

impl Counts {
    /// Add another verdict's counts (a report's scenarios together).
    pub fn add(&mut self, other: Counts) {
        self.met += other.met;
        self.warned += other.warned;
        self.missed += other.missed;
        self.not_measured += other.not_measured;
    }

    /// Count the outcomes of a verdict.
    pub fn of(verdict: &Verdict) -> Self {
        let mut c = Counts::default();
        for o in &verdict.outcomes {
            match o.state {
                State::Met => c.met += 1,
                State::Warned => c.warned += 1,
                State::Missed => c.missed += 1,
                State::NotMeasured => c.not_measured += 1,
            }
        }
        c
    }
}

impl std::fmt::Display for Counts {
    /// `3 met, 0 warned, 1 missed, 5 not measured`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} met, {} warned, {} missed, {} not measured",
            self.met, self.warned, self.missed, self.not_measured
        )
    }
}

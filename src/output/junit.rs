//! The verdict as JUnit XML (`gate --junit FILE`), for GitLab
//! (`artifacts:reports:junit`), Jenkins (`junit`), Azure DevOps
//! (`PublishTestResults@2`) and GitHub's JUnit report actions.
//!
//! One `<testsuite>` per run, one `<testcase>` per target:
//! * `classname`: `slo.global` for a target over all requests, `slo.<scope>`
//!   (`slo.name:/api/v1/config/audit`) for a scoped one, `resources` for the
//!   server's memory and CPU;
//! * a missed target is a `<failure>` whose message gives the measured value
//!   and the limit, **repeated in the element text** with where the value came
//!   from: GitLab ignored the `message` attribute (gitlab-foss#53668) and
//!   shows the text;
//! * a warning is a passing testcase with `WARN: ...` in `<system-out>` (JUnit
//!   has no warning state); with `--fail-on warn` it is a failure instead,
//!   since it fails the gate;
//! * a target that could not be measured is `<skipped message="why"/>`; with
//!   `--require-all` it is a failure instead, for the same reason.
//!
//! The XML is written by the `quick-junit` crate, which escapes the text and
//! keeps the `tests`/`failures`/`skipped` counts of each level in step.

use super::{GateContext, outcome_line};
use crate::error::{Error, Result};
use crate::targets::{Outcome, State, Verdict};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The testcase `classname` of an outcome: `slo.global`, `slo.<scope>` or `resources`.
pub fn classname(o: &Outcome) -> String {
    let e = &o.target.expr;
    if e.metric.is_resource() {
        return "resources".into();
    }
    let scope = e.scope.to_string();
    match scope
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .filter(|s| !s.is_empty())
    {
        Some(inner) => format!("slo.{inner}"),
        None => "slo.global".into(),
    }
}

/// The testcase name: the row title and the expression
/// (`API Response Time (p95): p95<200ms`), or the expression alone for a
/// target the user added.
pub fn testcase_name(o: &Outcome) -> String {
    let t = &o.target;
    if t.title == t.expr.text {
        t.title.clone()
    } else {
        format!("{}: {}", t.title, t.expr.text)
    }
}

/// The failure text: the message, where the value came from and how many
/// requests it rests on.
fn failure_text(o: &Outcome) -> String {
    let mut text = outcome_line(o);
    if o.state != State::NotMeasured {
        text.push_str("\nsource: ");
        text.push_str(&o.detail);
    }
    if let Some(n) = o.samples {
        text.push_str(&format!("\nn={n}"));
    }
    text
}

fn testcase(o: &Outcome, ctx: &GateContext) -> TestCase {
    let failure = |ty: &str, message: String| {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message(message)
            .set_type(ty)
            .set_description(failure_text(o));
        status
    };
    let line = outcome_line(o);
    let mut system_out = None;
    let status = match o.state {
        State::Met => TestCaseStatus::success(),
        State::Missed => failure("slo", format!("missed: {line}")),
        State::Warned if ctx.fail_on_warn => failure(
            "slo-warning",
            format!("warning (fails with --fail-on warn): {line}"),
        ),
        State::Warned => {
            system_out = Some(format!("WARN: {line}\nsource: {}", o.detail));
            TestCaseStatus::success()
        }
        State::NotMeasured if ctx.require_all => failure(
            "not-measured",
            format!("not measured (fails with --require-all): {}", o.detail),
        ),
        State::NotMeasured => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("not measured: {}", o.detail));
            status
        }
    };
    let mut case = TestCase::new(testcase_name(o), status);
    case.set_classname(classname(o)).set_time(Duration::ZERO);
    if let Some(text) = system_out {
        case.set_system_out(text);
    }
    case
}

/// The verdict as a JUnit XML document.
pub fn render(verdict: &Verdict, ctx: &GateContext) -> Result<String> {
    let mut suite = TestSuite::new(format!("perfreport gate: {}", ctx.label));
    suite.add_property(Property::new("tool", ctx.tool.to_string()));
    if let Some(v) = &ctx.tool_version {
        suite.add_property(Property::new("tool_version", v.as_str()));
    }
    for s in &ctx.sources {
        suite.add_property(Property::new("source", s.as_str()));
    }
    if let Some(d) = ctx.duration_s.filter(|d| d.is_finite() && *d >= 0.0) {
        suite.set_time(Duration::from_secs_f64(d));
    }
    suite.add_test_cases(verdict.outcomes.iter().map(|o| testcase(o, ctx)));
    if verdict.measured_nothing() {
        // every target is only skipped, yet the gate fails (exit 3): without
        // a failing case a CI test view would show a clean run
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message("no target could be measured: the gate does not pass (exit 3)")
            .set_type("nothing-measured")
            .set_description(format!(
                "none of the {} targets could be measured from {}",
                verdict.outcomes.len(),
                ctx.sources.join(", ")
            ));
        let mut case = TestCase::new("nothing measured", status);
        case.set_classname("slo.gate").set_time(Duration::ZERO);
        suite.add_test_case(case);
    }
    let mut report = Report::new("perfreport");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| Error::Usage(format!("cannot write the JUnit XML: {e}")))
}

//! The CI gate: scoped and windowed targets on the shared Locust runs (values
//! checked against the CSV rows, read here with a plain CSV reader), and the
//! gate's outputs: exit codes, JUnit XML parsed back, the JSON verdict checked
//! against the committed schema, and the GitHub job summary and annotations.

mod common;
use common::{check_schema, records as rows};

use assert_cmd::Command;
use perfreport::targets::{self, Outcome, State};
use perfreport::{app, input};
use predicates::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const CONFIGAUDIT: &str = "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_stats.csv";
const CONFIGAUDIT_HISTORY: &str =
    "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_stats_history.csv";
const BASELINE: &str = "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv";
const BASELINE_FAILURES: &str =
    "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_failures.csv";
const CONTENT: &str = "fixtures/locust/contentrequest_u40_60s/contentrequest_u40_60s_stats.csv";
const CONTENT_FAILURES: &str =
    "fixtures/locust/contentrequest_u40_60s/contentrequest_u40_60s_failures.csv";
const AUDIT: &str = "/api/v1/config/audit";

/// `perfreport` with no GitHub Actions environment inherited from the machine.
fn perfreport() -> Command {
    let mut c = Command::cargo_bin("perfreport").unwrap();
    c.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NO_COLOR");
    c
}

fn row<'a>(rows: &'a [HashMap<String, String>], name: &str) -> &'a HashMap<String, String> {
    rows.iter().find(|r| r["Name"] == name).unwrap()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap()
}

fn evaluate(stats: &str, exprs: &[&str]) -> Vec<Outcome> {
    let run = input::load_run(&[PathBuf::from(stats)], None).unwrap();
    let parsed =
        targets::parse_all(&exprs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let ts: Vec<targets::Target> = parsed
        .into_iter()
        .map(|e| targets::Target::new(e.text.clone(), e))
        .collect();
    targets::evaluate(&run, &ts, None).outcomes
}

/// The HTTP status in a Locust error text such as
/// `HTTPError('504 Server Error: Gateway Timeout for url: ...')`.
fn status_in(error: &str) -> u16 {
    let at = error
        .find(" Server Error")
        .or(error.find(" Client Error"))
        .unwrap();
    error[at - 3..at].parse().unwrap()
}

// ---------------------------------------------------------------- scoped targets

#[test]
fn a_scoped_percentile_is_that_endpoints_csv_column() {
    let stats = rows(CONFIGAUDIT);
    let audit = row(&stats, AUDIT);
    let out = evaluate(
        CONFIGAUDIT,
        &[
            "p95{name:/api/v1/config/audit}<300ms",
            "p99{name:/api/v1/config/audit}<2s",
            "avg{method:POST}<1s",
            "max{name:/api/v1/config/audit}<1s",
        ],
    );
    assert_eq!(out[0].measured, Some(num(audit, "95%")));
    assert_eq!(out[0].state, State::Missed);
    assert_eq!(out[0].samples, Some(num(audit, "Request Count") as u64));
    assert_eq!(out[1].measured, Some(num(audit, "99%")));
    assert_eq!(out[1].state, State::Met);
    // POST selects the audit endpoint alone in this run
    assert_eq!(
        stats.iter().filter(|r| r["Type"] == "POST").count(),
        1,
        "one POST row"
    );
    let avg = out[2].measured.unwrap();
    assert!((avg - num(audit, "Average Response Time")).abs() < 1e-6);
    let max = out[3].measured.unwrap();
    assert!((max - num(audit, "Max Response Time")).abs() < 1e-6);
    assert_eq!(out[3].state, State::Missed);
}

#[test]
fn error_rate_by_status_class_comes_from_the_failures_csv() {
    for (stats, failures, class) in [
        (BASELINE, BASELINE_FAILURES, 5),
        (CONTENT, CONTENT_FAILURES, 4),
        (BASELINE, BASELINE_FAILURES, 4),
    ] {
        let total = num(row(&rows(stats), "Aggregated"), "Request Count");
        let failed: f64 = rows(failures)
            .iter()
            .filter(|r| status_in(&r["Error"]) / 100 == class)
            .map(|r| num(r, "Occurrences"))
            .sum();
        assert!(failed > 0.0, "{failures} has {class}xx failures");
        let expr = format!("error_rate{{status:{class}xx}}<1%");
        let out = evaluate(stats, &[&expr]);
        let measured = out[0].measured.unwrap();
        assert!(
            (measured - failed / total).abs() < 1e-12,
            "{stats} {expr}: {measured} vs {failed}/{total}"
        );
    }
    // mixed_baseline: the 5xx are one 500 on the audit endpoint and two 504 on the queue
    let out = evaluate(
        BASELINE,
        &[
            "errors{status:5xx}==3",
            "errors{name:/api/v1/downloads/queue,status:504}==2",
        ],
    );
    assert_eq!(out[0].state, State::Met, "{}", out[0].detail);
    assert_eq!(out[1].state, State::Met, "{}", out[1].detail);
}

#[test]
fn a_scope_matching_nothing_is_not_measured_and_says_why() {
    let out = evaluate(CONFIGAUDIT, &["p95{type:WS}<50ms", "p95{name:/nope/*}<1s"]);
    assert_eq!(out[0].state, State::NotMeasured);
    assert!(out[0].detail.contains("WebSocket"));
    assert_eq!(out[1].state, State::NotMeasured);
}

// ---------------------------------------------------------------- windowed criteria

/// One Aggregated tick of a stats history.
struct Tick {
    t: f64,
    users: u64,
    p95: Option<f64>,
    total: f64,
}

fn history(path: &str) -> Vec<Tick> {
    rows(path)
        .iter()
        .filter(|r| r["Name"] == "Aggregated")
        .map(|r| Tick {
            t: num(r, "Timestamp"),
            users: num(r, "User Count") as u64,
            // `0` means no cached window yet; N/A no requests
            p95: r["95%"].parse::<f64>().ok().filter(|v| *v > 0.0),
            total: num(r, "Total Request Count"),
        })
        .collect()
}

/// [`common::laid_windows`] over these ticks.
fn laid_windows(ticks: &[Tick], over: f64) -> Vec<(f64, f64)> {
    let ticks: Vec<(f64, u64)> = ticks.iter().map(|t| (t.t, t.users)).collect();
    common::laid_windows(&ticks, over)
}

fn time(t: f64) -> String {
    jiff::Timestamp::from_second(t as i64)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn a_windowed_p95_names_the_first_window_that_broke_it() {
    let ticks = history(CONFIGAUDIT_HISTORY);
    let windows = laid_windows(&ticks, 30.0);
    // 57 s at 30 users: [884, 914] and [911, 941] (+1795791000)
    assert_eq!(windows.len(), 2);
    // the p95 of a window: the largest ~10 s p95 Locust wrote for a stretch
    // inside it, i.e. at ticks from 10 s after the window's start
    let p95s: Vec<f64> = windows
        .iter()
        .map(|&(s, e)| {
            ticks
                .iter()
                .filter(|k| k.t >= s + 10.0 && k.t <= e)
                .filter_map(|k| k.p95)
                .fold(0.0, f64::max)
        })
        .collect();
    // by hand from the file: 400 ms in the first window, 520 ms (ticks 940 and 941) in the second
    assert_eq!(p95s, vec![400.0, 520.0]);

    let out = evaluate(
        CONFIGAUDIT,
        &[
            "p95<500ms over 30s",
            "p95<600ms over 30s",
            "p95<300ms over 30s",
        ],
    );
    let missed = &out[0];
    assert_eq!(missed.state, State::Missed);
    assert_eq!(missed.measured, Some(p95s[1]));
    let (s, e) = windows[1];
    assert!(
        missed.detail.contains("first broken in the window +")
            && missed
                .detail
                .contains(&format!("into the test ({} to {})", time(s), time(e))),
        "{}",
        missed.detail
    );
    assert!(
        missed.detail.contains("1 of 2 windows"),
        "{}",
        missed.detail
    );
    let met = &out[1];
    assert_eq!(met.state, State::Met);
    assert_eq!(met.measured, Some(520.0), "the worst window is shown");
    // 300 ms breaks in the first window already
    assert!(
        out[2].detail.contains(&time(windows[0].0)),
        "{}",
        out[2].detail
    );
    assert!(out[2].detail.contains("2 of 2 windows"));
}

#[test]
fn a_windowed_rate_is_the_count_difference_over_each_window() {
    let ticks = history(CONFIGAUDIT_HISTORY);
    let windows = laid_windows(&ticks, 20.0);
    let at = |t: f64| ticks.iter().find(|k| k.t == t).unwrap().total;
    let rates: Vec<f64> = windows
        .iter()
        .map(|&(s, e)| (at(e) - at(s)) / (e - s))
        .collect();
    let lowest = rates.iter().copied().fold(f64::MAX, f64::min);
    let first_below = rates.iter().position(|r| *r < 14.7).unwrap();
    let out = evaluate(CONFIGAUDIT, &["rps>=1 over 20s", "rps>=14.7 over 20s"]);
    assert_eq!(out[0].state, State::Met);
    assert!((out[0].measured.unwrap() - lowest).abs() < 1e-9);
    assert_eq!(out[1].state, State::Missed);
    assert!((out[1].measured.unwrap() - rates[first_below]).abs() < 1e-9);
    assert!(out[1].detail.contains(&time(windows[first_below].0)));
}

#[test]
fn windowed_targets_through_the_cli() {
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "p95<500ms over 30s", "--target", "p95<1s"])
        .args(["--target", "p99<2s", "--target", "rps>=1"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("first broken in the window"));
    // a window shorter than Locust's ~10 s percentile window cannot be checked
    let out = evaluate(CONFIGAUDIT, &["p95<1s over 5s"]);
    assert_eq!(out[0].state, State::NotMeasured);
    assert!(out[0].detail.contains("10 s"), "{}", out[0].detail);
}

// ---------------------------------------------------------------- exit codes

const PASSING: [&str; 6] = [
    "--target", "p95<1s", "--target", "p99<2s", "--target", "rps>=1",
];

#[test]
fn every_exit_code() {
    // 0: measured targets met, the unmeasured defaults do not fail
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(PASSING)
        .assert()
        .code(0);
    // 1: a target missed
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(PASSING)
        .args(["--target", "p95{name:/api/v1/config/audit}<300ms"])
        .assert()
        .code(1);
    // 2: bad target, pointing at the second `<`
    perfreport()
        .args(["gate", "--target", "p95<<200", "--stats", CONFIGAUDIT])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("at character 5"))
        .stderr(predicates::str::contains("\n      ^"));
    // 2: unknown --fail-on value
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT, "--fail-on", "sometimes"])
        .assert()
        .code(2);
    // 3: --require-all with the WS/DB/resource defaults not measured
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT, "--require-all"])
        .args(PASSING)
        .assert()
        .code(3);
}

#[test]
fn a_warning_passes_unless_fail_on_warn() {
    perfreport()
        .args([
            "gate",
            "--stats",
            CONFIGAUDIT,
            "--target",
            "warn: p95<100ms",
        ])
        .args(PASSING)
        .assert()
        .code(0)
        .stdout(
            predicates::str::is_match(
                r"warn: p95<100ms\s+all requests\s+370 ms\s+< 100ms\s+warned",
            )
            .unwrap(),
        )
        // the hard p95 limit is still there beside the warning
        .stdout(
            predicates::str::is_match(
                r"API Response Time \(p95\)\s+HTTP requests\s+370 ms\s+< 1s\s+met",
            )
            .unwrap(),
        )
        .stdout(predicates::str::contains("1 warned"));
    perfreport()
        .args([
            "gate",
            "--stats",
            CONFIGAUDIT,
            "--target",
            "warn: p95<100ms",
        ])
        .args(PASSING)
        .args(["--fail-on", "warn"])
        .assert()
        .code(1);
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT, "--fail-on", "miss"])
        .args(PASSING)
        .assert()
        .code(0);
}

#[test]
fn help_documents_the_exit_codes() {
    perfreport()
        .args(["gate", "--help"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("0  every measured target met"))
        .stdout(predicates::str::contains("--fail-on warn"))
        .stdout(predicates::str::contains(
            "3  no target could be measured, or --require-all",
        ));
}

// ---------------------------------------------------------------- JUnit

struct Case {
    classname: String,
    name: String,
    failure: Option<(String, String)>,
    skipped: Option<String>,
    system_out: Option<String>,
}

/// Attributes of one element.
type Attrs = HashMap<String, String>;

/// The `<testsuites>` attributes, each `<testsuite>`'s, and every testcase.
fn junit(path: &Path) -> (Attrs, Vec<Attrs>, Vec<Case>) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let attrs = |n: roxmltree::Node| -> Attrs {
        n.attributes()
            .map(|a| (a.name().to_string(), a.value().to_string()))
            .collect()
    };
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let cases = suites
        .iter()
        .flat_map(|s| s.children().filter(|n| n.has_tag_name("testcase")))
        .map(|c| {
            let child = |tag: &str| c.children().find(|n| n.has_tag_name(tag));
            Case {
                classname: c.attribute("classname").unwrap_or("").to_string(),
                name: c.attribute("name").unwrap_or("").to_string(),
                failure: child("failure").map(|f| {
                    (
                        f.attribute("message").unwrap_or("").to_string(),
                        f.text().unwrap_or("").to_string(),
                    )
                }),
                skipped: child("skipped").map(|s| s.attribute("message").unwrap_or("").to_string()),
                system_out: child("system-out").map(|s| s.text().unwrap_or("").to_string()),
            }
        })
        .collect();
    (attrs(root), suites.into_iter().map(attrs).collect(), cases)
}

#[test]
fn junit_has_exactly_the_failing_targets_as_failures() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("out.xml");
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "p95{name:/api/v1/config/audit}<300ms"])
        .args(PASSING)
        .args(["--target", "warn: p99<500ms"])
        .arg("--junit")
        .arg(&xml)
        .assert()
        .code(1);
    let (root, suites, cases) = junit(&xml);
    // 8 defaults (p95, p99, rps replaced) + the audit target + the warning tier
    assert_eq!(cases.len(), 10);
    let failing: Vec<&Case> = cases.iter().filter(|c| c.failure.is_some()).collect();
    let skipped: Vec<&Case> = cases.iter().filter(|c| c.skipped.is_some()).collect();
    assert_eq!(failing.len(), 1);
    // WS, DB and three resource targets have nothing to be measured with
    assert_eq!(skipped.len(), 5);
    for attrs in [&root, &suites[0]] {
        assert_eq!(attrs["tests"], "10");
        assert_eq!(attrs["failures"], "1");
        assert_eq!(attrs["skipped"], "5");
        assert_eq!(attrs["errors"], "0");
    }
    let audit_p95 = num(row(&rows(CONFIGAUDIT), AUDIT), "95%");
    let f = failing[0];
    assert_eq!(f.classname, "slo.name:/api/v1/config/audit");
    assert_eq!(f.name, "p95{name:/api/v1/config/audit}<300ms");
    let (message, text) = f.failure.as_ref().unwrap();
    let measured = format!("{audit_p95:.0} ms");
    for part in [measured.as_str(), "< 300ms"] {
        assert!(message.contains(part), "message {message:?} lacks {part}");
        // GitLab shows the text, not the message
        assert!(text.contains(part), "text {text:?} lacks {part}");
    }
    let requests = num(row(&rows(CONFIGAUDIT), AUDIT), "Request Count");
    assert!(text.contains(&format!("n={requests}")), "{text}");
    // the warning is a passing testcase with the note in system-out
    let warn = cases.iter().find(|c| c.name == "warn: p99<500ms").unwrap();
    assert!(warn.failure.is_none() && warn.skipped.is_none());
    let aggregated_p99 = num(row(&rows(CONFIGAUDIT), "Aggregated"), "99%");
    assert!(warn.system_out.as_deref().unwrap().starts_with(&format!(
        "WARN: p99 = {aggregated_p99:.0} ms (limit < 500ms)"
    )));
    let classes: Vec<&str> = cases.iter().map(|c| c.classname.as_str()).collect();
    assert_eq!(classes.iter().filter(|c| **c == "resources").count(), 3);
    assert!(classes.contains(&"slo.global") && classes.contains(&"slo.type:WS"));
    let ws = cases.iter().find(|c| c.classname == "slo.type:WS").unwrap();
    assert!(
        ws.skipped
            .as_deref()
            .unwrap()
            .contains("no WebSocket requests")
    );

    // the audit row's 95% column is 770 ms (530 ms is its 90% column): a
    // 600 ms limit still fails, 800 ms passes
    assert_eq!(audit_p95, 770.0);
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "p95{name:/api/v1/config/audit}<600ms"])
        .args(PASSING)
        .assert()
        .code(1);
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "p95{name:/api/v1/config/audit}<800ms"])
        .args(PASSING)
        .arg("--junit")
        .arg(&xml)
        .assert()
        .code(0);
    let (root, _, cases) = junit(&xml);
    assert_eq!(root["failures"], "0");
    assert!(cases.iter().all(|c| c.failure.is_none()));
}

#[test]
fn junit_follows_fail_on_warn_and_require_all() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("strict.xml");
    perfreport()
        .args([
            "gate",
            "--stats",
            CONFIGAUDIT,
            "--target",
            "warn: p95<100ms",
        ])
        .args(PASSING)
        .args(["--fail-on", "warn", "--require-all", "--junit"])
        .arg(&xml)
        .assert()
        .code(1);
    let (root, _, cases) = junit(&xml);
    // the warning and the 5 unmeasured targets all fail the gate here
    assert_eq!(root["failures"], "6");
    assert_eq!(root["skipped"], "0");
    let warn = cases.iter().find(|c| c.name == "warn: p95<100ms").unwrap();
    assert!(warn.failure.as_ref().unwrap().0.contains("--fail-on warn"));
}

/// A run with no request (header and an empty Aggregated row, made from a
/// real stats CSV by fixtures/bad/make_inconsistent.py): no target can be
/// measured, the gate exits 3, and JUnit must not look like a clean run.
#[test]
fn junit_of_a_gate_that_measured_nothing_has_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("nothing.xml");
    perfreport()
        .args([
            "gate",
            "--stats",
            "fixtures/bad/stats_no_requests_stats.csv",
            "--junit",
        ])
        .arg(&xml)
        .assert()
        .code(3);
    let (root, _, cases) = junit(&xml);
    assert_eq!(root["failures"], "1");
    let failed: Vec<&Case> = cases.iter().filter(|c| c.failure.is_some()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].name, "nothing measured");
    assert!(failed[0].failure.as_ref().unwrap().0.contains("exit 3"));
    // the targets themselves stay skipped, each with its reason
    assert_eq!(
        cases.iter().filter(|c| c.skipped.is_some()).count(),
        cases.len() - 1
    );
}

#[test]
fn junit_escapes_hostile_names() {
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("hostile.xml");
    perfreport()
        .args(["gate", "--stats", "fixtures/bad/hostile_names_stats.csv"])
        .args([
            "--target",
            "p95{name:*<script>*}<1ms",
            "--target",
            "p95{name:~a|b}<1ms",
        ])
        .arg("--junit")
        .arg(&xml)
        .assert()
        .code(predicates::ord::ne(2));
    // it parses, and the names came through as text
    let (_, _, cases) = junit(&xml);
    assert!(cases.iter().any(|c| c.name.contains("<script>")));
}

// ---------------------------------------------------------------- JSON

#[test]
fn the_json_verdict_follows_the_schema_and_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "p95{name:/api/v1/config/audit}<300ms"])
        .args(PASSING)
        .args([
            "--target",
            "warn: error_rate<0.1%",
            "--target",
            "p95<500ms over 30s",
        ])
        .arg("--json")
        .arg(&json)
        .assert()
        .code(1);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    check_schema("schemas/verdict.schema.json", &doc);
    assert_eq!(doc["state"], "failed");
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["run"]["tool"], "Locust");
    assert_eq!(doc["run"]["label"], "configaudit_u30_60s");
    assert_eq!(doc["run"]["sources"], serde_json::json!([CONFIGAUDIT]));
    let targets = doc["targets"].as_array().unwrap();
    let by_expr = |e: &str| targets.iter().find(|t| t["expression"] == e).unwrap();
    let stats = rows(CONFIGAUDIT);
    let audit = by_expr("p95{name:/api/v1/config/audit}<300ms");
    assert_eq!(audit["measured"], num(row(&stats, AUDIT), "95%"));
    assert_eq!(audit["limit"], 300.0);
    assert_eq!(audit["unit"], "ms");
    assert_eq!(audit["scope"], "{name:/api/v1/config/audit}");
    assert_eq!(audit["state"], "missed");
    assert_eq!(audit["fails_gate"], true);
    assert_eq!(
        audit["samples"],
        num(row(&stats, AUDIT), "Request Count") as u64
    );
    let agg = row(&stats, "Aggregated");
    let er = by_expr("warn: error_rate<0.1%");
    assert_eq!(er["tier"], "warn");
    assert_eq!(er["unit"], "fraction");
    assert_eq!(er["limit"], 0.001);
    let rate = num(agg, "Failure Count") / num(agg, "Request Count");
    assert!((er["measured"].as_f64().unwrap() - rate).abs() < 1e-12);
    assert_eq!(er["state"], "warned");
    assert_eq!(er["fails_gate"], false);
    let windowed = by_expr("p95<500ms over 30s");
    assert_eq!(windowed["over_s"], 30.0);
    let rss = targets.iter().find(|t| t["metric"] == "rss_idle").unwrap();
    assert_eq!(rss["measured"], serde_json::Value::Null);
    assert_eq!(rss["scope_text"], "server");
    assert_eq!(rss["state"], "not_measured");
    let counts = &doc["counts"];
    assert_eq!(counts["missed"], 2);
    assert_eq!(counts["warned"], 1);
    assert_eq!(counts["not_measured"], 5);
}

#[test]
fn the_schema_rejects_what_is_not_a_verdict() {
    let v = common::schema_validator("schemas/verdict.schema.json");
    assert!(!v.is_valid(&serde_json::json!({})));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    perfreport()
        .args(["gate", "--stats", BASELINE, "--json"])
        .arg(&json)
        .assert()
        .code(1);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    check_schema("schemas/verdict.schema.json", &doc);
    doc["targets"][0]["state"] = "fine".into();
    assert!(!v.is_valid(&doc));
}

#[test]
fn outputs_never_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x_stats.csv");
    std::fs::copy(CONFIGAUDIT, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    perfreport()
        .args(["gate", "--stats"])
        .arg(&input)
        .arg("--json")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("refusing to overwrite an input"));
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

// ---------------------------------------------------------------- GitHub Actions

#[test]
fn github_summary_is_appended_and_failures_are_annotated() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "# earlier step\n\n").unwrap();
    let out = perfreport()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "p95{name:/api/v1/config/audit}<300ms"])
        .args(PASSING)
        .args(["--target", "warn: p95<100ms"])
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{annotations:#?}");
    // missed before warned; `:` and `,` escaped in the title property
    assert!(
        annotations[0]
            .starts_with("::error title=SLO missed%3A p95{name%3A/api/v1/config/audit}<300ms::")
    );
    assert!(annotations[0].contains("= 770 ms (limit < 300ms)"));
    assert!(annotations[1].starts_with("::warning title=SLO warning%3A warn%3A p95<100ms::"));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("# earlier step\n\n\n### "),
        "appended, not truncated"
    );
    assert!(text.contains("perfreport gate: configaudit_u30_60s failed (exit 1)"));
    let table: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    // header + 8 defaults (3 replaced) + 2 added targets
    assert_eq!(table.len(), 1 + 10);
    assert!(table[1].contains("missed"), "failures first: {}", table[1]);
    assert!(text.contains("| server |"));

    // --github without GITHUB_STEP_SUMMARY: annotations, and a note on stderr
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT, "--github"])
        .args(PASSING)
        .args(["--target", "warn: p95<100ms"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("::warning title="))
        .stderr(predicates::str::contains("GITHUB_STEP_SUMMARY is not set"));
    // outside GitHub Actions: no annotations
    perfreport()
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(["--target", "warn: p95<100ms"])
        .assert()
        .stdout(predicates::str::contains("::").not());
}

#[test]
fn at_most_ten_annotations_then_one_line_for_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    // 11 latency figures of the Aggregated row, each above 1 ms, and 2 warnings
    let mut args = Vec::new();
    for m in [
        "p50", "p66", "p75", "p80", "p90", "p95", "p98", "p99", "p99.9", "avg", "max",
    ] {
        args.push("--target".to_string());
        args.push(format!("{m}<1ms"));
    }
    args.extend(["--target".into(), "warn: p99.99<1ms".into()]);
    args.extend(["--target".into(), "warn: min<1ms".into()]);
    let agg = row(&rows(CONFIGAUDIT), "Aggregated").clone();
    assert!(num(&agg, "Min Response Time") > 1.0);
    let out = perfreport()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["gate", "--stats", CONFIGAUDIT])
        .args(&args)
        .assert()
        .code(1);
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    let errors = lines.iter().filter(|l| l.starts_with("::error")).count();
    let warnings = lines.iter().filter(|l| l.starts_with("::warning")).count();
    assert_eq!(errors + warnings, 10);
    assert_eq!(warnings, 0, "missed targets come before warnings");
    let last = lines.last().unwrap();
    assert!(last.starts_with("::notice"), "{last}");
    // the missed: 11 latency targets + the default rps>=100 (14.7 req/s); then 2 warnings
    assert!(last.contains("4 more"), "{last}");
    assert!(last.contains("job summary"));
    assert_eq!(lines.len(), 11);
}

#[test]
fn the_job_summary_stays_under_githubs_limit() {
    use perfreport::output::github::SUMMARY_BUDGET;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    // earlier steps left the file 1.5 KiB short of 1 MiB
    let earlier = "x".repeat(SUMMARY_BUDGET - 1536) + "\n";
    std::fs::write(&summary, &earlier).unwrap();
    let gate = app::gate_run(&app::GateOptions {
        stats: vec![CONFIGAUDIT.into()],
        targets: vec!["p95{name:/api/v1/config/audit}<300ms".into()],
        github: true,
        step_summary: Some(summary.clone()),
        ..app::GateOptions::default()
    })
    .unwrap();
    assert!(gate.notes.is_empty(), "{:?}", gate.notes);
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with(&earlier));
    assert!(text.len() <= SUMMARY_BUDGET, "{} bytes", text.len());
    let appended = &text[earlier.len()..];
    assert!(appended.contains("more target(s) left out"), "{appended}");
    // the rows that fit are the failures (sorted first)
    let rows: Vec<&str> = appended.lines().filter(|l| l.starts_with("| ❌")).collect();
    assert!(!rows.is_empty());
    // a file already at the limit gets nothing more, and the gate still decides
    std::fs::write(&summary, "x".repeat(SUMMARY_BUDGET)).unwrap();
    let gate = app::gate_run(&app::GateOptions {
        stats: vec![CONFIGAUDIT.into()],
        github: true,
        step_summary: Some(summary.clone()),
        ..app::GateOptions::default()
    })
    .unwrap();
    assert_eq!(gate.exit_code(), 1);
    assert_eq!(
        std::fs::metadata(&summary).unwrap().len() as usize,
        SUMMARY_BUDGET
    );
    assert!(gate.notes[0].contains("job summary not written"));
}

//! The command line: exit codes, messages, and the rendered report's shape.

mod common;
use common::perfreport;

use predicates::prelude::*;

const BASELINE: &str = "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv";
const REFERENCE: &str = include_str!("reference/LOAD_TEST_REPORT.md");

/// Headings of a markdown text, with the scenario sections left out.
fn headings_outside_scenarios(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_scenarios = false;
    let mut in_code = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        if line.starts_with("## ") {
            in_scenarios = line == "## Test Scenarios";
            out.push(line.to_string());
        } else if !in_scenarios {
            out.push(line.to_string());
        }
    }
    out
}

#[test]
fn render_fills_every_tbd_and_keeps_the_reference_structure() {
    let out = perfreport()
        .args(["render", "--stats", BASELINE])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!text.contains("TBD"));
    assert!(!text.contains("To be"));
    // the reference's structure, less what is AutoArr's own text (the MCP
    // orchestrator and its Locust commands come from its config's template)
    let autoarr_only = [
        "### Prerequisites",
        "### Basic Load Test",
        "### Specific User Classes",
        "### Web UI",
    ];
    let expected: Vec<String> = headings_outside_scenarios(REFERENCE)
        .into_iter()
        .filter(|h| !autoarr_only.contains(&h.as_str()))
        .map(|h| h.replace("### MCP Orchestrator", "### Orchestrator"))
        .collect();
    assert_eq!(headings_outside_scenarios(&text), expected);
    // the CSV's Aggregated row: 50% 43, 95% 140, 99% 560
    assert!(text.contains("Median Response Time: 43 ms"));
    assert!(text.contains("95th Percentile: 140 ms"));
    assert!(text.contains("99th Percentile: 560 ms"));
    assert!(text.contains("### Scenario 1: mixed_baseline_u50_90s"));
}

#[test]
fn gate_exits_1_naming_the_missed_targets_and_0_with_looser_ones() {
    perfreport()
        .args(["gate", "--stats", BASELINE])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("API Response Time (p99)"))
        .stdout(predicate::str::contains("560 ms"))
        .stdout(
            predicate::str::is_match(r"Throughput\s+all requests\s+[\d.]+ req/s\s+>= 100\s+missed")
                .unwrap(),
        );
    perfreport()
        .args([
            "gate",
            "--stats",
            BASELINE,
            "--target",
            "p99<600ms",
            "--target",
            "rps>=10",
        ])
        .assert()
        .code(0);
}

#[test]
fn require_all_exits_3_when_something_is_unmeasured() {
    perfreport()
        .args([
            "gate",
            "--stats",
            BASELINE,
            "--target",
            "p99<600ms",
            "--target",
            "rps>=10",
            "--require-all",
        ])
        .assert()
        .code(3);
}

#[test]
fn a_failures_file_passed_as_stats_is_exit_2_with_a_clear_message() {
    perfreport()
        .args([
            "gate",
            "--stats",
            "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_failures.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("failures file"))
        .stderr(predicate::str::contains("not a stats file"));
}

#[test]
fn malformed_inputs_are_exit_2_naming_file_and_line() {
    perfreport()
        .args(["gate", "--stats", "fixtures/bad/malformed_empty_stats.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("malformed_empty_stats.csv"))
        .stderr(predicate::str::contains("empty"));
    perfreport()
        .args(["gate", "--stats", "fixtures/bad/malformed_truncated.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("malformed_truncated.json"))
        .stderr(predicate::str::contains("truncated"));
    perfreport()
        .args([
            "gate",
            "--stats",
            "fixtures/bad/malformed_not_a_number_stats.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3, column 3"))
        .stderr(predicate::str::contains("expected a number, found `12x`"));
    perfreport()
        .args(["gate", "--stats", "fixtures/does/not/exist_stats.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    perfreport()
        .args(["gate", "--stats", BASELINE, "--target", "p95<<200"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at character 5"));
    perfreport().args(["gate"]).assert().code(2);
}

#[test]
fn hostile_endpoint_names_are_escaped_in_markdown_and_html() {
    let out = perfreport()
        .args(["render", "--stats", "fixtures/bad/hostile_names_stats.csv"])
        .assert()
        .success();
    let md = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(md.contains("/api/a\\|b"));
    assert!(!md.contains("<script>"));
    // every table row of the endpoint table still has 8 columns
    for line in md.lines().filter(|l| l.contains("/api/a")) {
        if line.starts_with('|') {
            let cells = line.replace("\\|", "").matches('|').count();
            assert_eq!(cells, 9, "{line}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    perfreport()
        .args([
            "render",
            "--stats",
            "fixtures/bad/hostile_names_stats.csv",
            "--out",
        ])
        .arg(&html)
        .assert()
        .success();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<script>"));
    assert!(page.contains("&lt;script&gt;"));
}

#[test]
fn render_writes_atomically_and_never_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x_stats.csv");
    std::fs::copy(BASELINE, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    perfreport()
        .args(["render", "--stats"])
        .arg(&input)
        .arg("--out")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to overwrite an input"));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // a failed render leaves no output and no temp file behind
    let out = dir.path().join("report.md");
    perfreport()
        .args([
            "render",
            "--stats",
            "fixtures/bad/malformed_truncated.json",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the copied input remains");
}

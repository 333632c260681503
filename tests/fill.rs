//! `perfreport fill` on the reference report: only placeholders change, every
//! other byte survives, and the figures it writes are the raw runs' figures
//! (computed here from the Locust JSON and failures CSV, not from perfreport).

mod common;

use assert_cmd::Command;
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference() -> String {
    std::fs::read_to_string(root().join("tests/reference/LOAD_TEST_REPORT.md")).unwrap()
}

/// The placeholder forms of the reference report (with the unit after `TBD`).
fn placeholder() -> Regex {
    Regex::new(
        r"\[To be [^\]\n]*\]|To be measured|Not implemented yet|TBD(?: ?(?:MB/s|req/s|ms|MB|%))?",
    )
    .unwrap()
}

/// Table rows with their alignment padding collapsed: `fill` may widen a
/// column (padding only) where a filled value is wider.
fn unpad_tables(text: &str) -> String {
    let spaces = Regex::new(r" {2,}").unwrap();
    let dashes = Regex::new(r"-{2,}").unwrap();
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with('|') {
                dashes
                    .replace_all(&spaces.replace_all(line, " "), "-")
                    .into_owned()
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// `filled` is `original` with each placeholder replaced by some non-empty
/// text and nothing else changed: the literal text between placeholders must
/// appear in order, the first at the start and the last at the end.
fn only_placeholders_changed(original: &str, filled: &str) -> Result<(), String> {
    let (original, filled) = (unpad_tables(original), unpad_tables(filled));
    let segments: Vec<&str> = placeholder().split(&original).collect();
    assert!(segments.len() > 90, "the reference has its placeholders");
    let first = segments[0];
    if !filled.starts_with(first) {
        return Err("the text before the first placeholder changed".into());
    }
    let mut at = first.len();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate().skip(1) {
        if i == last {
            if !(filled.ends_with(seg) && filled.len() - seg.len() > at) {
                return Err(format!(
                    "the text after the last placeholder changed: {seg:?}"
                ));
            }
            return Ok(());
        }
        // leftmost match of each literal (holes are non-empty) decides a glob match
        // a hole holds at least one character
        let from = at + filled[at..].chars().next().map_or(1, char::len_utf8);
        match filled[from..].find(seg) {
            Some(k) => at = from + k + seg.len(),
            None => return Err(format!("segment {i} not found in order: {seg:?}")),
        }
    }
    Ok(())
}

fn fill(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("perfreport")
        .unwrap()
        .current_dir(root())
        .arg("fill")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn reference_in_tests_is_the_shared_reference() {
    let shared = root().join("../shared/reference/LOAD_TEST_REPORT.md");
    if let Ok(text) = std::fs::read_to_string(shared) {
        assert_eq!(text, reference());
    }
}

#[test]
fn fill_reference_strict_changes_only_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("filled.md");
    let o = fill(&[
        "tests/reference/LOAD_TEST_REPORT.md",
        "--config",
        "fixtures/autoarr/perfreport.toml",
        "--out",
        out.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let filled = std::fs::read_to_string(&out).unwrap();
    let left: Vec<&str> = placeholder()
        .find_iter(&filled)
        .map(|m| m.as_str())
        .collect();
    assert!(left.is_empty(), "placeholders left: {left:?}");
    only_placeholders_changed(&reference(), &filled).unwrap();
    // the check itself fails on a changed byte outside a placeholder
    let tampered = filled.replacen("## Performance Targets", "## Performance  Targets", 1);
    assert!(only_placeholders_changed(&reference(), &tampered).is_err());
    // ... and on a placeholder left empty
    assert!(
        only_placeholders_changed(
            &reference(),
            &reference().replacen("Total Requests: TBD", "Total Requests: ", 1)
        )
        .is_err()
    );
}

/// Locust's percentile over its rounded response-time histogram
/// (`calculate_response_time_percentile` in locust/stats.py).
fn locust_percentile(hist: &BTreeMap<u64, u64>, total: u64, percent: f64) -> u64 {
    let wanted = (total as f64 * percent) as u64;
    let mut processed = 0;
    for (rt, n) in hist.iter().rev() {
        processed += n;
        if total - processed <= wanted {
            return *rt;
        }
    }
    0
}

/// Requests, failures and the merged histogram of a Locust --json file.
fn json_figures(path: &Path) -> (u64, u64, BTreeMap<u64, u64>) {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (mut requests, mut failures, mut hist) = (0, 0, BTreeMap::new());
    for e in v.as_array().unwrap() {
        requests += e["num_requests"].as_u64().unwrap();
        failures += e["num_failures"].as_u64().unwrap();
        for (k, n) in e["response_times"].as_object().unwrap() {
            let ms = k.parse::<f64>().unwrap() as u64;
            *hist.entry(ms).or_insert(0) += n.as_u64().unwrap();
        }
    }
    (requests, failures, hist)
}

/// The lines of a scenario's Actual Results block in a filled document.
fn actual_block<'a>(filled: &'a str, heading: &str) -> &'a str {
    let start = filled.find(heading).unwrap();
    let rest = &filled[start..];
    let block = rest.find("**Actual Results**").unwrap();
    let end = rest[block..].find("**Analysis**").unwrap();
    &rest[block..block + end]
}

#[test]
fn filled_figures_are_the_runs_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("filled.md");
    let o = fill(&[
        "tests/reference/LOAD_TEST_REPORT.md",
        "--config",
        "fixtures/autoarr/perfreport.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let filled = std::fs::read_to_string(&out).unwrap();
    let runs = [
        (
            "Scenario 1: Configuration Audit Load",
            "configaudit_u30_60s",
        ),
        ("Scenario 2: Content Request Load", "contentrequest_u40_60s"),
        ("Scenario 3: Monitoring Load", "monitoring_u30_60s"),
        ("Scenario 4: Mixed Workload (Realistic)", "fullmix_u40_60s"),
    ];
    let mut all_requests = 0;
    let mut not_found = 0;
    for (heading, run) in runs {
        let dir = root().join("fixtures/locust").join(run);
        let (requests, failures, hist) = json_figures(&dir.join(format!("{run}.json")));
        all_requests += requests;
        let block = actual_block(&filled, heading);
        assert!(
            block.contains(&format!("\nTotal Requests: {requests}\n")),
            "{heading}: {block}"
        );
        assert!(
            block.contains(&format!("\nFailures: {failures} (")),
            "{heading}: {block}"
        );
        for (label, p) in [
            ("Median Response Time", 0.5),
            ("95th Percentile", 0.95),
            ("99th Percentile", 0.99),
        ] {
            let v = locust_percentile(&hist, requests, p);
            assert!(
                block.contains(&format!("\n{label}: {v} ms\n")),
                "{heading} {label} {v}: {block}"
            );
        }
        for r in common::records(dir.join(format!("{run}_failures.csv"))) {
            if r["Error"].contains("404") {
                not_found += r["Occurrences"].parse::<u64>().unwrap();
            }
        }
    }
    // the Error Types row keeps its label and code; count and share over every scenario's requests
    let row = filled
        .lines()
        .find(|l| l.starts_with("| Not Found"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], not_found.to_string());
    assert_eq!(
        cells[3],
        format!("{:.2}%", not_found as f64 * 100.0 / all_requests as f64)
    );
    assert_eq!(cells[4], "404");
}

#[test]
fn crlf_reworded_heading_added_paragraph_and_fifth_scenario_survive() {
    let dir = tempfile::tempdir().unwrap();
    let added =
        "A paragraph our team added.  \nIt has a trailing-space line break and | a pipe.\n\n";
    let doc = reference()
        .replacen(
            "### Scenario 2: Content Request Load",
            "### Scenario 2: Requesting movies and shows",
            1,
        )
        .replacen(
            "## Performance Targets\n",
            &format!("{added}## Performance Targets\n"),
            1,
        )
        .replace('\n', "\r\n");
    let doc_path = dir.path().join("REPORT.md");
    std::fs::write(&doc_path, &doc).unwrap();
    // the AutoArr config with absolute run paths and a fifth scenario the document lacks
    let locust = root().join("fixtures/locust");
    let mut config = std::fs::read_to_string(root().join("fixtures/autoarr/perfreport.toml"))
        .unwrap()
        .replace("\"../locust/", &format!("\"{}/", locust.display()));
    let step = locust.join("step_leak_25-50-100_90s/step_leak_25-50-100_90s_stats.csv");
    config = config.replacen(
        "[baseline]",
        &format!(
            "[[scenario]]\nname = \"Step Load\"\nstats = [\"{}\"]\n\n[baseline]",
            step.display()
        ),
        1,
    );
    let config_path = dir.path().join("perfreport.toml");
    std::fs::write(&config_path, &config).unwrap();
    let out = dir.path().join("filled.md");
    let args = [
        doc_path.to_str().unwrap(),
        "--config",
        config_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    // --strict refuses the mismatch and writes nothing
    let strict = fill(&[&args[..], &["--strict"]].concat());
    assert_eq!(strict.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("Step Load"));
    assert!(!out.exists());

    let o = fill(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("\"Step Load\" has no section"), "{stderr}");
    assert!(stderr.contains("note: section \"Scenario 2: Requesting movies and shows\" filled from config scenario \"Content Request Load\""), "{stderr}");
    let filled = std::fs::read_to_string(&out).unwrap();
    only_placeholders_changed(&doc, &filled).unwrap();
    assert_eq!(
        filled.matches('\n').count(),
        filled.matches("\r\n").count(),
        "CRLF kept everywhere"
    );
    assert!(filled.contains(&added.replace('\n', "\r\n")));
    assert!(filled.contains("### Scenario 2: Requesting movies and shows\r\n"));
    // the reworded section still gets its scenario's figures (by position)
    let run = root().join("fixtures/locust/contentrequest_u40_60s/contentrequest_u40_60s.json");
    let (requests, _, _) = json_figures(&run);
    let block = actual_block(&filled, "### Scenario 2: Requesting movies and shows");
    assert!(
        block.contains(&format!("Total Requests: {requests}\r\n")),
        "{block}"
    );
    assert!(placeholder().find(&filled).is_none());
}

#[test]
fn in_place_keeps_mode_and_refuses_out_over_input() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("REPORT.md");
    std::fs::write(&doc, reference()).unwrap();
    std::fs::set_permissions(&doc, std::fs::Permissions::from_mode(0o640)).unwrap();
    let config = root().join("fixtures/autoarr/perfreport.toml");
    // --out on the document itself is refused: it is an input
    let o = fill(&[
        doc.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        doc.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&doc).unwrap(), reference());
    let o = fill(&[
        doc.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--in-place",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let filled = std::fs::read_to_string(&doc).unwrap();
    only_placeholders_changed(&reference(), &filled).unwrap();
    let mode = std::fs::metadata(&doc).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn unknown_placeholder_is_left_and_listed_strict_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("REPORT.md");
    let text = reference().replacen(
        "## Conclusions\n",
        "## Conclusions\n\nCoffee consumed: TBD\n",
        1,
    );
    std::fs::write(&doc, &text).unwrap();
    let config = root().join("fixtures/autoarr/perfreport.toml");
    let o = fill(&[doc.to_str().unwrap(), "--config", config.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("\nCoffee consumed: TBD\n"));
    let line = text
        .lines()
        .position(|l| l == "Coffee consumed: TBD")
        .unwrap()
        + 1;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            ":{line}:18: `TBD` not filled (under Load Testing Report > Conclusions)"
        )),
        "{stderr}"
    );
    let o = fill(&[
        doc.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn a_reworded_heading_alone_passes_strict() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("REPORT.md");
    std::fs::write(
        &doc,
        reference().replacen(
            "### Scenario 3: Monitoring Load",
            "### Scenario 3: Watching downloads",
            1,
        ),
    )
    .unwrap();
    let config = root().join("fixtures/autoarr/perfreport.toml");
    let o = fill(&[
        doc.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--strict",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let run = root().join("fixtures/locust/monitoring_u30_60s/monitoring_u30_60s.json");
    let (requests, _, _) = json_figures(&run);
    let block = actual_block(&stdout, "### Scenario 3: Watching downloads");
    assert!(
        block.contains(&format!("Total Requests: {requests}\n")),
        "{block}"
    );
}

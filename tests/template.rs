//! The generic built-in template: no AutoArr text in a report of another
//! service, `[sections]` marked not applicable, `--strict` on what is left,
//! and recommendations that come from the data.

mod common;
use common::perfreport;

use std::path::{Path, PathBuf};

const REFERENCE: &str = include_str!("reference/LOAD_TEST_REPORT.md");

fn fixture(rel: &str) -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = perfreport().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The non-blank lines of a `###` section up to the next rule or heading.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| *l != "---" && !l.starts_with('#'))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn a_goose_report_carries_no_autoarr_text() {
    let text = stdout_of(&[
        "render",
        "--stats",
        "fixtures/goose/mixed-baseline-40u/report.json",
    ]);
    let lower = text.to_lowercase();
    for word in [
        "autoarr",
        "poetry",
        "locust -f",
        "locust ",
        "mcp",
        "cdn",
        "8088",
    ] {
        assert!(!lower.contains(word), "found {word:?} in:\n{text}");
    }
    // the reference's sections are all there
    let top = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.starts_with("## "))
            .map(String::from)
            .collect()
    };
    assert_eq!(top(&text), top(REFERENCE));
}

/// A config of one Locust run with its resources and expectations, plus the
/// given extra TOML; returns (dir, config path).
fn config_with(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run = fixture("fixtures/locust/configaudit_u30_60s");
    let text = format!(
        "environment = \"test VM\"\n{extra}\n\
         [[scenario]]\nname = \"Audit\"\nexpected_users = 30\nexpected_duration = \"1 minute\"\n\
         target_rps = [20, 30]\nstats = [{stats:?}, {json:?}]\nresources = {res:?}\n",
        stats = run.join("configaudit_u30_60s_stats.csv"),
        json = run.join("configaudit_u30_60s.json"),
        res = run.join("resources.csv"),
    );
    let path = dir.path().join("perfreport.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

const ALL_BUT_COMPARISON: &str = "[sections]\n\
    database = \"not applicable: this service keeps no database\"\n\
    orchestrator = \"not applicable: no downstream services\"\n\
    capacity = \"not applicable: one fixed load level by design\"\n\
    instances = \"not applicable: a single instance by design\"\n\
    cores = \"not applicable: a fixed machine\"\n";

#[test]
fn sections_marked_not_applicable_are_one_line_and_strict_accepts_them() {
    let (dir, config) = config_with(&format!(
        "{ALL_BUT_COMPARISON}comparison = \"not applicable: no earlier version to compare with\"\n"
    ));
    let out = dir.path().join("report.md");
    perfreport()
        .args(["render", "--strict", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        section(&text, "### Database Performance"),
        ["Not applicable: this service keeps no database"]
    );
    assert_eq!(
        section(&text, "### Orchestrator Performance"),
        ["Not applicable: no downstream services"]
    );
    assert_eq!(
        section(&text, "### Baseline (Before Optimization)"),
        ["Not applicable: no earlier version to compare with"]
    );
    assert_eq!(
        section(&text, "### Vertical Scaling"),
        ["**Resource Impact**:", "Not applicable: a fixed machine"]
    );
    assert!(
        text.contains("**Multiple Instances**:\n\nNot applicable: a single instance by design\n")
    );
}

#[test]
fn strict_names_an_applicable_section_without_data_and_still_writes_the_report() {
    let (dir, config) = config_with(ALL_BUT_COMPARISON);
    let out = dir.path().join("report.md");
    let assert = perfreport()
        .args(["render", "--strict", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("1 section(s) still lack data"), "{stderr}");
    assert!(stderr.contains("Before/After Comparison"), "{stderr}");
    assert!(!stderr.contains("Database Performance"), "{stderr}");
    // the rest of the work stays usable: the report is written, and the
    // missing section says which input would fill it
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("No baseline/after pair was supplied"));
    assert!(text.contains("Not applicable: this service keeps no database"));

    // without --strict the same config renders with exit 0
    perfreport()
        .args(["render", "--config"])
        .arg(&config)
        .assert()
        .success();
}

#[test]
fn a_config_template_extends_the_built_in_one() {
    let (dir, config) = config_with("template = \"mine.md.tera\"\n");
    std::fs::write(
        dir.path().join("mine.md.tera"),
        "{% extends \"perfreport/report.md\" %}{% block orchestrator_title %}Gateway Performance{% endblock orchestrator_title %}",
    )
    .unwrap();
    let text = stdout_of(&["render", "--config", config.to_str().unwrap()]);
    assert!(text.contains("\n### Gateway Performance\n"));
    assert!(!text.contains("### Orchestrator Performance"));
    assert!(text.contains("\n### Database Performance\n"));
}

fn csv_rows(path: &str) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(|x| x.unwrap()).collect()
}

#[test]
fn a_query_much_slower_than_its_siblings_is_recommended_with_its_evidence() {
    // Locust's own p95 column (index 16) of the DB rows
    let path = "fixtures/locust/fullmix_u40_60s/fullmix_u40_60s_stats.csv";
    let db: Vec<(String, f64)> = csv_rows(path)
        .iter()
        .filter(|r| &r[0] == "DB")
        .map(|r| (r[1].to_string(), r[16].parse().unwrap()))
        .collect();
    assert!(db.len() >= 3);
    let (slowest, p95) = db
        .iter()
        .cloned()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let mut others: Vec<f64> = db
        .iter()
        .filter(|(n, _)| *n != slowest)
        .map(|x| x.1)
        .collect();
    others.sort_by(f64::total_cmp);
    let median = if others.len().is_multiple_of(2) {
        (others[others.len() / 2 - 1] + others[others.len() / 2]) / 2.0
    } else {
        others[others.len() / 2]
    };
    assert!(p95 >= 3.0 * median, "{slowest}: {p95} vs {median}");

    let text = stdout_of(&[
        "render",
        "--stats",
        path,
        "--stats",
        "fixtures/locust/fullmix_u40_60s/fullmix_u40_60s.json",
    ]);
    let recs = section(&text, "### Database Performance");
    assert!(
        recs.iter().any(
            |l| l.starts_with("- [ ] Check its query plan and indexes: DB ")
                && l.contains(&slowest)
        ),
        "{recs:?}"
    );
    assert!(text.contains(&format!(
        "**Check the query plan and indexes of DB {slowest}**"
    )));
}

#[test]
fn a_run_that_meets_its_targets_gets_no_fixed_checklist() {
    let text = stdout_of(&[
        "render",
        "--stats",
        "fixtures/goose/mixed-baseline-40u/report.json",
        "--target",
        "p95<60s",
    ]);
    assert!(!text.contains("**Speed up"), "{text}");
    // the dominant 404 is still there: 176 of the 179 failures in Goose's
    // own error table (errors in report.json)
    let raw: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/goose/mixed-baseline-40u/report.json").unwrap(),
    )
    .unwrap();
    let counts: Vec<u64> = raw["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["occurrences"].as_u64().unwrap())
        .collect();
    let total: u64 = counts.iter().sum();
    let top = *counts.iter().max().unwrap();
    assert!(
        text.contains(&format!("{top} of the {total} failures")),
        "{text}"
    );
    for fixed in [
        "Redis",
        "Code Splitting",
        "Connection Pooling",
        "select_related",
    ] {
        assert!(!text.contains(fixed), "{fixed}");
    }
}

//! Command-line conventions: targets files and `--no-default-targets`, quiet
//! and verbose terminal output, labels from folders, `diff` labels and
//! resources, `sample --interval` durations, `--help` examples, shell
//! completions and `-` for standard input. Expected figures are read from the
//! raw fixtures here, never from perfreport's own output.

mod common;
use common::perfreport;

use assert_cmd::Command;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const BASELINE: &str = "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv";
const AFTER: &str = "fixtures/locust/mixed_after_u50_90s/mixed_after_u50_90s_stats.csv";
const GOOSE: &str = "fixtures/goose/configaudit-30u/report.json";

fn stdout_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code);
    String::from_utf8(out.get_output().stderr.clone()).unwrap()
}

/// The Aggregated row of a Locust stats CSV, read here.
fn aggregated(path: &str) -> HashMap<String, String> {
    common::records(Path::new(path))
        .into_iter()
        .find(|r| r["Name"] == "Aggregated")
        .expect("an Aggregated row")
}

fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `(expression, state)` of every target of a `gate --json` verdict.
fn targets_of(verdict: &serde_json::Value) -> Vec<(String, String)> {
    verdict["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["expression"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn no_default_targets_checks_exactly_the_one_target_given() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("verdict.json");
    let p95 = common::num(&aggregated(BASELINE), "95%");
    assert_eq!(p95, 140.0);
    let out = stdout_of(
        perfreport().args([
            "gate",
            "--stats",
            BASELINE,
            "--no-default-targets",
            "--target",
            "p95<300ms",
            "--json",
            json.to_str().unwrap(),
        ]),
        0,
    );
    let verdict = json_file(&json);
    assert_eq!(targets_of(&verdict), [("p95<300ms".into(), "met".into())]);
    assert_eq!(verdict["targets"][0]["measured"].as_f64(), Some(p95));
    // one target row and the verdict line
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().next().unwrap().contains("140 ms"), "{out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("gate passed (exit 0): 1 met, 0 warned, 0 missed, 0 not measured"),
        "{out}"
    );
    // and without any target there is nothing to pass
    let err = stderr_of(
        perfreport().args(["gate", "--stats", BASELINE, "--no-default-targets"]),
        2,
    );
    assert!(err.contains("no target given"), "{err}");
}

#[test]
fn a_targets_file_is_read_by_gate_render_and_fill() {
    let dir = tempfile::tempdir().unwrap();
    let slo = dir.path().join("slo.toml");
    std::fs::write(
        &slo,
        "targets = [\"p95<300ms\", \"p99 < 600ms\"]\n\n[[target]]\nname = \"Failures\"\nexpr = \"error_rate<10%\"\n",
    )
    .unwrap();
    let agg = aggregated(BASELINE);
    let json = dir.path().join("verdict.json");
    perfreport()
        .args([
            "gate",
            "--stats",
            BASELINE,
            "--no-default-targets",
            "--targets",
        ])
        .arg(&slo)
        .arg("--json")
        .arg(&json)
        .assert()
        .code(0);
    let verdict = json_file(&json);
    let targets = verdict["targets"].as_array().unwrap();
    let titles: Vec<&str> = targets
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["p95<300ms", "p99 < 600ms", "Failures"]);
    assert_eq!(
        targets[1]["measured"].as_f64(),
        Some(common::num(&agg, "99%"))
    );
    let rate = common::num(&agg, "Failure Count") / common::num(&agg, "Request Count");
    assert!((targets[2]["measured"].as_f64().unwrap() - rate).abs() < 1e-9);

    // with the defaults, the file's p95 and p99 replace theirs
    perfreport()
        .args(["gate", "--stats", BASELINE, "--targets"])
        .arg(&slo)
        .arg("--json")
        .arg(&json)
        .assert()
        .code(1);
    let verdict = json_file(&json);
    let exprs: Vec<String> = targets_of(&verdict).into_iter().map(|(e, _)| e).collect();
    assert_eq!(exprs.len(), 9, "{exprs:?}");
    assert!(exprs.contains(&"p99 < 600ms".to_string()));
    assert!(!exprs.contains(&"p99<500ms".to_string()));

    // render's target table has the file's rows
    let md = stdout_of(
        perfreport()
            .args([
                "render",
                "--stats",
                BASELINE,
                "--no-default-targets",
                "--targets",
            ])
            .arg(&slo),
        0,
    );
    assert!(md.contains("Failures"), "{md}");
    assert!(!md.contains("WebSocket Latency"));

    // a bad expression names the file, line and column, for every command
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "# SLO\ntargets = [\"p95<300ms\", \"p95<<1s\"]\n").unwrap();
    for args in [
        vec!["gate", "--stats", BASELINE],
        vec!["render", "--stats", BASELINE],
        vec![
            "fill",
            "LOAD_TEST_REPORT.md",
            "--config",
            "fixtures/autoarr/perfreport.toml",
        ],
    ] {
        let err = stderr_of(perfreport().args(&args).arg("--targets").arg(&bad), 2);
        assert!(
            err.contains("bad.toml: line 2, column 30"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_windowed_target_replaces_the_default_of_its_metric() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("verdict.json");
    perfreport()
        .args([
            "gate",
            "--stats",
            BASELINE,
            "--target",
            "p95<300ms over 30s",
        ])
        .arg("--json")
        .arg(&json)
        .assert()
        .code(1);
    let exprs: Vec<String> = targets_of(&json_file(&json))
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(exprs.len(), 8, "{exprs:?}");
    assert!(exprs.contains(&"p95<300ms over 30s".to_string()));
    assert!(!exprs.contains(&"p95<200ms".to_string()));
}

/// What the default targets come to on the baseline run, from its CSV:
/// p95 < 200 ms, p99 < 500 ms, rps >= 100, nothing of type WS or DB, and
/// three resource targets without samples.
fn expected_counts(stats: &str) -> (usize, usize, usize) {
    let rows = common::records(Path::new(stats));
    let agg = aggregated(stats);
    let ws_db = ["WS", "DB"]
        .iter()
        .filter(|t| !rows.iter().any(|r| r["Type"] == **t))
        .count();
    let met =
        (common::num(&agg, "95%") < 200.0) as usize + (common::num(&agg, "99%") < 500.0) as usize;
    // the whole-run rate is well under 100 req/s, so every window is
    assert!(common::num(&agg, "Requests/s") < 50.0);
    let missed = 2 - met + 1;
    (met, missed, ws_db + 3)
}

#[test]
fn gate_prints_one_line_per_target_and_the_precision_note_once() {
    let (met, missed, not_measured) = expected_counts(BASELINE);
    let out = stdout_of(perfreport().args(["gate", "--stats", BASELINE]), 1);
    let lines: Vec<&str> = out.lines().collect();
    let targets = met + missed + not_measured;
    assert_eq!(targets, 8);
    // one line per target, plus one for the one source (the verdict line,
    // which names the run and its precision note)
    assert!(lines.len() <= targets + 1, "{} lines:\n{out}", lines.len());
    let note = "Locust CSV percentile columns";
    assert_eq!(out.matches(note).count(), 1, "{out}");
    for title in [
        "API Response Time (p95)",
        "API Response Time (p99)",
        "Throughput",
        "WebSocket Latency",
        "Database Queries (p95)",
        "Memory Usage (idle)",
        "Memory Usage (load)",
        "CPU Usage (normal)",
    ] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(title)).count(),
            1,
            "{title}: {out}"
        );
    }
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!(
            "gate failed (exit 1): {met} met, 0 warned, {missed} missed, {not_measured} not measured"
        )),
        "{last}"
    );
    assert!(last.contains("1,480 requests"), "{last}");

    // -v: today's detail, the note under every latency row
    let verbose = stdout_of(perfreport().args(["gate", "-v", "--stats", BASELINE]), 1);
    assert!(verbose.matches(note).count() >= 2, "{verbose}");
    assert!(verbose.lines().count() > 2 * targets, "{verbose}");

    // -q: the verdict line only
    let quiet = stdout_of(perfreport().args(["gate", "--stats", BASELINE, "-q"]), 1);
    assert_eq!(quiet.lines().count(), 1, "{quiet}");
    assert!(quiet.starts_with(&format!(
        "gate failed (exit 1): {met} met, 0 warned, {missed} missed, {not_measured} not measured"
    )));
}

#[test]
fn render_out_says_in_one_line_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.md");
    let (met, missed, not_measured) = expected_counts(BASELINE);
    let said = stdout_of(
        perfreport()
            .args(["render", "--stats", BASELINE, "--out"])
            .arg(&out),
        0,
    );
    assert_eq!(said.lines().count(), 1, "{said}");
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    written.sort();
    assert!(written.len() > 1, "charts beside the report: {written:?}");
    for p in &written {
        assert!(
            said.contains(p.to_str().unwrap()),
            "{} not in {said}",
            p.display()
        );
    }
    assert!(
        said.starts_with(&format!("wrote {}", out.display())),
        "{said}"
    );
    assert!(said.trim_end().ends_with(&format!(
        "targets: {met} met, 0 warned, {missed} missed, {not_measured} not measured"
    )));
    let quiet = stdout_of(
        perfreport()
            .args(["render", "-q", "--stats", BASELINE, "--out"])
            .arg(&out),
        0,
    );
    assert_eq!(quiet, "");
}

/// A run's files copied under `dir/folder/` with Locust's `--csv run` names.
fn as_generic_run(src_stats: &str, dir: &Path, folder: &str) -> PathBuf {
    let to = dir.join(folder);
    std::fs::create_dir_all(&to).unwrap();
    let prefix = src_stats.trim_end_matches("_stats.csv");
    for suffix in ["_stats.csv", "_stats_history.csv", "_failures.csv"] {
        std::fs::copy(format!("{prefix}{suffix}"), to.join(format!("run{suffix}"))).unwrap();
    }
    to.join("run_stats.csv")
}

#[test]
fn a_generic_prefix_takes_its_label_from_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let stats = as_generic_run(BASELINE, dir.path(), "checkout-v2");
    let quiet = stdout_of(perfreport().args(["gate", "-q", "--stats"]).arg(&stats), 1);
    assert!(quiet.contains("run checkout-v2 (Locust"), "{quiet}");
    let md = stdout_of(perfreport().args(["render", "--stats"]).arg(&stats), 0);
    assert!(md.contains("### Scenario 1: checkout-v2"), "{md}");
    // a prefix that says something stays
    let quiet = stdout_of(perfreport().args(["gate", "-q", "--stats", BASELINE]), 1);
    assert!(quiet.contains("run mixed_baseline_u50_90s ("), "{quiet}");
}

/// The Memory row of the diff table: peak RSS under load, here the largest
/// sample of the file (its load phase holds it), in MiB.
fn peak_rss_mib(resources: &str) -> f64 {
    common::records(Path::new(resources))
        .iter()
        .map(|r| common::num(r, "rss_bytes"))
        .fold(0.0, f64::max)
        / (1024.0 * 1024.0)
}

#[test]
fn diff_takes_labels_and_each_sides_resources() {
    let dir = tempfile::tempdir().unwrap();
    let before = as_generic_run(BASELINE, dir.path(), "v1.4");
    let after = as_generic_run(AFTER, dir.path(), "v1.5");
    let out = stdout_of(
        perfreport()
            .args(["diff", "--baseline"])
            .arg(&before)
            .arg("--after")
            .arg(&after),
        0,
    );
    assert!(out.starts_with("Baseline: v1.4\nAfter: v1.5\n"), "{out}");
    let res_b = "fixtures/locust/mixed_baseline_u50_90s/resources.csv";
    let res_a = "fixtures/locust/mixed_after_u50_90s/resources.csv";
    let out = stdout_of(
        perfreport().args([
            "diff",
            "--baseline",
            BASELINE,
            "--after",
            AFTER,
            "--label-baseline",
            "before | fix",
            "--label-after",
            "after",
            "--resources-baseline",
            res_b,
            "--resources-after",
            res_a,
            "--cpu-cores",
            "2",
        ]),
        0,
    );
    assert!(
        out.starts_with("Baseline: before \\| fix\nAfter: after\n"),
        "{out}"
    );
    let row = |metric: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(&format!("| {metric} |")))
            .unwrap_or_else(|| panic!("no {metric} row: {out}"))
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let memory = row("Memory");
    for (cell, file) in [(&memory[2], res_b), (&memory[3], res_a)] {
        let mib: f64 = cell
            .trim_end_matches(" MiB")
            .parse()
            .unwrap_or_else(|_| panic!("{cell}"));
        assert!((mib - peak_rss_mib(file)).abs() < 0.05, "{cell} vs {file}");
    }
    let cpu = row("CPU");
    assert!(
        !cpu[2].contains("not measured") && !cpu[3].contains("not measured"),
        "{cpu:?}"
    );
}

#[test]
fn sample_interval_takes_durations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    perfreport()
        .args([
            "sample",
            "--interval",
            "200ms",
            "--duration",
            "1.5s",
            "--out",
        ])
        .arg(&out)
        .args(["--", "sleep", "5"])
        .assert()
        .code(0);
    let ts: Vec<f64> = common::records(&out)
        .iter()
        .map(|r| common::num(r, "timestamp"))
        .collect();
    assert!(ts.len() >= 3, "{ts:?}");
    let mut gaps: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!((0.15..0.6).contains(&median), "{gaps:?}");
    for bad in ["0", "0ms", "5 parsecs", "fast"] {
        let err = stderr_of(
            perfreport()
                .args(["sample", "--interval", bad, "--force", "--out"])
                .arg(&out)
                .args(["--", "true"]),
            2,
        );
        assert!(err.contains("--interval"), "{bad}: {err}");
    }
}

#[test]
fn every_command_ends_its_help_with_examples() {
    for cmd in ["gate", "render", "sample", "fill", "diff", "completions"] {
        let help = stdout_of(perfreport().args([cmd, "--help"]), 0);
        let examples = help
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{cmd}: no examples\n{help}"));
        let lines = examples
            .lines()
            .filter(|l| l.trim_start().starts_with(&format!("perfreport {cmd}")))
            .count();
        assert!((2..=3).contains(&lines), "{cmd}: {lines} examples\n{help}");
    }
}

#[test]
fn completions_name_the_commands() {
    let bash = stdout_of(perfreport().args(["completions", "bash"]), 0);
    assert!(bash.contains("gate"));
    assert!(bash.contains("--no-default-targets"));
    for shell in ["zsh", "fish"] {
        let script = stdout_of(perfreport().args(["completions", shell]), 0);
        assert!(script.contains("render"), "{shell}");
    }
    perfreport().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn a_dash_reads_standard_input_recognised_by_content() {
    let dir = tempfile::tempdir().unwrap();
    // a Goose report: the same verdict as from the file
    let (from_file, from_stdin) = (dir.path().join("f.json"), dir.path().join("s.json"));
    perfreport()
        .args(["gate", "--stats", GOOSE, "--json"])
        .arg(&from_file)
        .assert()
        .code(1);
    perfreport()
        .args(["gate", "--stats", "-", "--json"])
        .arg(&from_stdin)
        .write_stdin(std::fs::read(GOOSE).unwrap())
        .assert()
        .code(1);
    let (f, s) = (json_file(&from_file), json_file(&from_stdin));
    assert_eq!(f["targets"], s["targets"]);
    assert_eq!(s["run"]["sources"], serde_json::json!(["<stdin>"]));

    // a Goose request log (CSV): the same verdict as from the file
    let log = "fixtures/goose/monitoring-30u-reqlog-csv/requests.csv";
    perfreport()
        .args(["gate", "--stats", log, "--target", "rps>=1", "--json"])
        .arg(&from_file)
        .assert()
        .code(1);
    perfreport()
        .args(["gate", "--stats", "-", "--target", "rps>=1", "--json"])
        .arg(&from_stdin)
        .write_stdin(std::fs::read(log).unwrap())
        .assert()
        .code(1);
    let (f, s) = (json_file(&from_file), json_file(&from_stdin));
    assert_eq!(f["targets"], s["targets"]);
    // one request per row of the log
    let rows = common::records(Path::new(log)).len().to_string();
    let mut grouped = String::new();
    for (i, c) in rows.chars().enumerate() {
        if i > 0 && (rows.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let quiet = stdout_of(
        perfreport()
            .args(["gate", "-q", "--stats", "-", "--target", "rps>=1"])
            .write_stdin(std::fs::read(log).unwrap()),
        1,
    );
    assert!(
        quiet.contains(&format!(": {grouped} requests")),
        "{grouped}: {quiet}"
    );

    // a Locust stats CSV, and resource samples
    let quiet = stdout_of(
        perfreport()
            .args(["gate", "-q", "--stats", "-"])
            .write_stdin(std::fs::read(BASELINE).unwrap()),
        1,
    );
    assert!(quiet.contains("1,480 requests"), "{quiet}");
    let quiet = stdout_of(
        perfreport()
            .args(["gate", "-q", "--stats", BASELINE, "--resources", "-"])
            .write_stdin(
                std::fs::read("fixtures/locust/mixed_baseline_u50_90s/resources.csv").unwrap(),
            ),
        1,
    );
    // idle and load memory are measured from it; CPU needs the core count
    assert!(quiet.contains("3 met"), "{quiet}");

    // errors name <stdin>; one `-` per invocation; the size limit holds
    let err = stderr_of(
        perfreport()
            .args(["gate", "--stats", "-"])
            .write_stdin("Type,Name,Request Count\nGET,/a,many\n"),
        2,
    );
    assert!(err.starts_with("perfreport: <stdin>:"), "{err}");
    let err = stderr_of(
        perfreport()
            .args(["gate", "--stats", "-", "--resources", "-"])
            .write_stdin(""),
        2,
    );
    assert!(
        err.contains("--stats and --resources both ask for it"),
        "{err}"
    );
    let err = stderr_of(
        perfreport()
            .args(["gate", "--max-input-size", "1k", "--stats", "-"])
            .write_stdin(std::fs::read(BASELINE).unwrap()),
        2,
    );
    assert!(
        err.contains("<stdin>: larger than the input size limit of 1024 bytes"),
        "{err}"
    );
}

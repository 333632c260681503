//! The README's quick starts and the CI recipes in `docs/ci/`, run as written.
//!
//! The commands are read from the README's "Quick start" code blocks and from
//! the recipes' shell steps (so neither can drift from what is tested). The
//! load-test line of each is checked for the flags the perfreport lines rely
//! on, a bundled real run is copied under the names that line writes, and the
//! perfreport lines then run verbatim in that folder. Expected verdicts come
//! from the raw run (its stats history, its tool's own report), not from
//! perfreport. Also: the README names no file that a clone lacks.

mod common;
use common::records as csv_rows;

use assert_cmd::Command;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LOCUST_RUN: &str = "fixtures/locust/mixed_baseline_u50_90s";
const LOCUST_PREFIX: &str = "mixed_baseline_u50_90s";
const GOOSE_RUN: &str = "fixtures/goose/monitoring-30u-reqlog-csv";

/// `perfreport` with no GitHub Actions environment inherited from the machine.
fn perfreport() -> Command {
    let mut c = Command::cargo_bin("perfreport").unwrap();
    c.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NO_COLOR");
    c
}

fn readme() -> String {
    std::fs::read_to_string("README.md").unwrap()
}

/// The commands of a shell text: continuation lines joined, comments and blank
/// lines dropped.
fn commands(shell: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in shell.lines() {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(line);
            out.push(std::mem::take(&mut current));
        }
    }
    assert!(current.is_empty(), "a continuation line ends the text");
    out
}

/// The commands of the first ```sh block after the line `heading`.
fn readme_block(readme: &str, heading: &str) -> Vec<String> {
    let at = readme
        .lines()
        .position(|l| l == heading)
        .unwrap_or_else(|| panic!("README has no heading {heading:?}"));
    let lines: Vec<&str> = readme.lines().skip(at + 1).collect();
    let open = lines
        .iter()
        .position(|l| *l == "```sh")
        .unwrap_or_else(|| panic!("no ```sh block under {heading:?}"));
    let body: Vec<&str> = lines[open + 1..]
        .iter()
        .take_while(|l| **l != "```")
        .copied()
        .collect();
    commands(&body.join("\n"))
}

/// Shell words of a plain command: whitespace separated, with '...' and "..."
/// quoting; a trailing `&` is dropped. Anything else a shell would expand is
/// refused, so that a test running the words runs what the text says.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    assert!(q != '`' && q != '\\', "not a plain command: {command}");
                    word.push(q);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            ';' | '|' | '<' | '>' | '`' | '\\' | '*' | '(' | ')' => {
                panic!("not a plain command: {command}")
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    if words.last().map(String::as_str) == Some("&") {
        words.pop();
    }
    words
}

/// The values given to `flag` (`--flag VALUE`, repeatable).
fn values<'a>(words: &'a [String], flag: &str) -> Vec<&'a str> {
    words
        .windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

fn value<'a>(words: &'a [String], flag: &str) -> &'a str {
    let v = values(words, flag);
    assert_eq!(v.len(), 1, "{flag} once in {words:?}");
    v[0]
}

/// The perfreport commands of a list, by subcommand.
fn perfreport_commands(commands: &[String]) -> HashMap<String, Vec<String>> {
    let mut by_sub = HashMap::new();
    for c in commands {
        let w = words_unchecked(c);
        if w.first().map(String::as_str) == Some("perfreport") {
            let sub = w.get(1).cloned().unwrap_or_default();
            assert!(
                by_sub.insert(sub.clone(), w).is_none(),
                "two `perfreport {sub}` commands"
            );
        }
    }
    by_sub
}

/// Whitespace words, for commands that are only inspected, not run.
fn words_unchecked(command: &str) -> Vec<String> {
    command
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_string())
        .collect()
}

/// Copy a bundled Locust run into `dir` under the names `locust --csv CSV
/// --json-file JSON` writes.
fn lay_out_locust_run(dir: &Path, csv_prefix: &str, json_name: &str) {
    for suffix in [
        "_stats.csv",
        "_stats_history.csv",
        "_failures.csv",
        "_exceptions.csv",
    ] {
        copy(
            &format!("{LOCUST_RUN}/{LOCUST_PREFIX}{suffix}"),
            &dir.join(format!("{csv_prefix}{suffix}")),
        );
    }
    copy(
        &format!("{LOCUST_RUN}/{LOCUST_PREFIX}.json"),
        &dir.join(format!("{json_name}.json")),
    );
}

fn copy(from: &str, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {from} -> {}: {e}", to.display()));
}

/// The bundled Locust run's sustained rate, from its stats history's Aggregated
/// rows (computed in tests/common, not by perfreport).
fn locust_steady_rps() -> f64 {
    common::sustained_from_history(format!("{LOCUST_RUN}/{LOCUST_PREFIX}_stats_history.csv"))
}

/// A cell of the bundled Locust run's Aggregated stats row.
fn locust_aggregated(column: &str) -> f64 {
    let rows = csv_rows(format!("{LOCUST_RUN}/{LOCUST_PREFIX}_stats.csv"));
    let agg = rows.iter().find(|r| r["Name"] == "Aggregated").unwrap();
    agg[column].parse().unwrap()
}

/// JUnit testcases by name prefix (the target's row name) -> whether it failed.
fn junit_cases(path: &Path) -> HashMap<String, bool> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let name = n.attribute("name").unwrap();
            let row = name.split(": ").next().unwrap().to_string();
            (row, n.children().any(|c| c.has_tag_name("failure")))
        })
        .collect()
}

/// Run `perfreport sample` as written, but with `sleep` as the sampled
/// process: a `--pid` argument of `pid_word` is replaced by the pid of a
/// `sleep`, a command after `--` by `sleep`. Returns the CSV written.
fn run_sample(sample: &[String], pid_word: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = value(sample, "--out");
    if let Some(parent) = Path::new(out).parent() {
        std::fs::create_dir_all(dir.path().join(parent)).unwrap();
    }
    let mut args: Vec<String> = sample[1..].to_vec();
    let mut sleeper = None;
    if let Some(dash) = args.iter().position(|a| a == "--") {
        args.truncate(dash);
        args.extend(["--", "sleep", "2.5"].map(String::from));
    } else {
        let pid_word = pid_word.expect("sample by --pid");
        let child = std::process::Command::new("sleep")
            .arg("2.5")
            .spawn()
            .unwrap();
        let at = args.iter().position(|a| a == pid_word).unwrap();
        args[at] = child.id().to_string();
        sleeper = Some(child);
    }
    for a in &args {
        assert!(!a.contains('$'), "unexpanded {a} in {sample:?}");
    }
    perfreport()
        .current_dir(dir.path())
        .args(&args)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(0);
    if let Some(mut child) = sleeper {
        child.wait().unwrap();
    }
    std::fs::read_to_string(dir.path().join(out)).unwrap()
}

fn assert_sampled(csv: &str) {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(perfreport::sample::HEADER));
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty(), "no sample written in 2.5 s");
    for row in rows {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(cells[2].parse::<u64>().unwrap() > 0, "rss_bytes of {row}");
    }
}

/// The HTML report: a page, with the run's request count, and no TBD.
fn assert_html_report(path: &Path, requests: u64) {
    let html = std::fs::read_to_string(path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..50]);
    assert!(!html.contains("TBD"));
    let plain = requests.to_string();
    let grouped = plain
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    assert!(
        html.contains(&plain) || html.contains(&grouped),
        "report does not mention the run's {plain} requests"
    );
}

/// The Locust line: `locust -f ... --csv P --csv-full-history --json-file J
/// --exit-code-on-error 0`, possibly under `timeout`. Returns (P, J).
fn check_locust_line(commands: &[String]) -> (String, String) {
    let line = commands
        .iter()
        .map(|c| words_unchecked(c))
        .find(|w| w.iter().take(3).any(|x| x == "locust"))
        .expect("a locust command");
    for flag in ["--headless", "--csv-full-history"] {
        assert!(line.iter().any(|w| w == flag), "{flag} in {line:?}");
    }
    assert_eq!(value(&line, "--exit-code-on-error"), "0");
    assert_eq!(value(&line, "-t"), "20s");
    let host = value(&line, "--host");
    assert!(host.starts_with("http://127.0.0.1:"), "{host}");
    (
        value(&line, "--csv").to_string(),
        value(&line, "--json-file").to_string(),
    )
}

/// Gate and render read exactly what the load test and the sampler wrote.
fn check_inputs(pr: &HashMap<String, Vec<String>>, stats: &[String], resources: &str) {
    for sub in ["gate", "render"] {
        let w = &pr[sub];
        assert_eq!(values(w, "--stats"), stats, "{sub} --stats");
        assert_eq!(value(w, "--resources"), resources, "{sub} --resources");
    }
    assert!(value(&pr["render"], "--out").ends_with(".html"));
}

#[test]
fn readme_locust_quick_start_gives_a_verdict_and_an_html_report() {
    let block = readme_block(&readme(), "## Quick start: Locust");
    for c in &block {
        let first = words_unchecked(c)[0].clone();
        assert!(
            ["perfreport", "locust", "kill", "sleep"].contains(&first.as_str()),
            "unexpected command in the quick start: {c}"
        );
    }
    let (csv_prefix, json_name) = check_locust_line(&block);
    let pr = perfreport_commands(&block);
    let resources = value(&pr["sample"], "--out").to_string();
    check_inputs(
        &pr,
        &[
            format!("{csv_prefix}_stats.csv"),
            format!("{json_name}.json"),
        ],
        &resources,
    );

    assert_sampled(&run_sample(&words(&block[0]), None));

    let dir = tempfile::tempdir().unwrap();
    lay_out_locust_run(dir.path(), &csv_prefix, &json_name);
    copy(
        &format!("{LOCUST_RUN}/resources.csv"),
        &dir.path().join(&resources),
    );

    // The run's sustained rate is far under the default rps>=100, so the gate
    // must say "missed" (1); its p95 is well inside the default 200 ms.
    let steady_rps = locust_steady_rps();
    assert!(steady_rps < 50.0, "{steady_rps}");
    let p95_ms = locust_aggregated("95%");
    assert!(p95_ms + 5.0 < 200.0, "{p95_ms}");
    let gate = words(&block.iter().find(|c| c.contains(" gate ")).unwrap().clone());
    let junit = dir.path().join(value(&gate, "--junit"));
    perfreport()
        .current_dir(dir.path())
        .args(&gate[1..])
        .assert()
        .code(1);
    let cases = junit_cases(&junit);
    assert_eq!(cases.get("Throughput"), Some(&true), "{cases:?}");
    assert_eq!(
        cases.get("API Response Time (p95)"),
        Some(&false),
        "{cases:?}"
    );

    let render = words(block.iter().find(|c| c.contains(" render ")).unwrap());
    perfreport()
        .current_dir(dir.path())
        .args(&render[1..])
        .assert()
        .code(0);
    assert_html_report(
        &dir.path().join(value(&render, "--out")),
        locust_aggregated("Request Count") as u64,
    );
}

/// Goose's own markdown report: the Aggregated row of "Request Metrics" as
/// (requests, RPS).
fn goose_aggregated() -> (u64, f64) {
    let md = std::fs::read_to_string(format!("{GOOSE_RUN}/report.md")).unwrap();
    let section = md.split("## Request Metrics").nth(1).unwrap();
    let row = section
        .lines()
        .find(|l| l.contains("| Aggregated |"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // | (method) | Aggregated | # Requests | # Fails | Average | Min | Max | RPS | Failures/s |
    (cells[3].parse().unwrap(), cells[8].parse().unwrap())
}

#[test]
fn readme_goose_quick_start_gives_a_verdict_and_an_html_report() {
    let block = readme_block(&readme(), "## Quick start: Goose");
    for c in &block {
        let first = words_unchecked(c)[0].clone();
        assert!(
            ["perfreport", "cargo", "kill", "sleep"].contains(&first.as_str()),
            "unexpected command in the quick start: {c}"
        );
    }
    let load = block
        .iter()
        .map(|c| words_unchecked(c))
        .find(|w| w[0] == "cargo")
        .expect("the Goose load test line");
    let report = value(&load, "--report-file").to_string();
    let log = value(&load, "--request-log").to_string();
    assert_eq!(value(&load, "--request-format"), "csv");
    assert!(report.ends_with(".json"));
    let pr = perfreport_commands(&block);
    let resources = value(&pr["sample"], "--out").to_string();
    check_inputs(&pr, &[report.clone(), log.clone()], &resources);

    assert_sampled(&run_sample(&words(&block[0]), None));

    let dir = tempfile::tempdir().unwrap();
    copy(
        &format!("{GOOSE_RUN}/report.json"),
        &dir.path().join(&report),
    );
    copy(&format!("{GOOSE_RUN}/requests.csv"), &dir.path().join(&log));
    copy(
        &format!("{GOOSE_RUN}/resources.csv"),
        &dir.path().join(&resources),
    );

    // Goose's own figure for the measured window is far under rps>=100
    let (requests, rps) = goose_aggregated();
    assert!(rps < 50.0, "{rps}");
    let gate = words(block.iter().find(|c| c.contains(" gate ")).unwrap());
    perfreport()
        .current_dir(dir.path())
        .args(&gate[1..])
        .assert()
        .code(1);
    let cases = junit_cases(&dir.path().join(value(&gate, "--junit")));
    assert_eq!(cases.get("Throughput"), Some(&true), "{cases:?}");

    let render = words(block.iter().find(|c| c.contains(" render ")).unwrap());
    perfreport()
        .current_dir(dir.path())
        .args(&render[1..])
        .assert()
        .code(0);
    assert_html_report(&dir.path().join(value(&render, "--out")), requests);
}

/// Path-like words of the README's code spans and code blocks: `a/b`, `./x`,
/// `../x`, with trailing punctuation cut.
fn readme_paths(readme: &str) -> Vec<String> {
    let mut spans: Vec<&str> = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            spans.push(line);
        } else {
            spans.extend(line.split('`').skip(1).step_by(2));
        }
    }
    spans
        .iter()
        .flat_map(|s| s.split(|c: char| c.is_whitespace() || c == '=' || c == '"' || c == '\''))
        .map(|w| w.trim_end_matches(['.', ',', ':', ';', ')']))
        .filter(|w| w.contains('/'))
        .map(String::from)
        .collect()
}

#[test]
fn readme_names_no_path_a_clone_lacks() {
    let readme = readme();
    assert!(
        !readme.contains("../"),
        "the README points outside the clone"
    );
    // Repository paths: those under a top-level folder of the clone
    let top: Vec<String> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).is_dir() && n != "target" && n != ".git")
        .collect();
    let mut checked = 0;
    for p in readme_paths(&readme) {
        let first = p.split('/').next().unwrap();
        if !top.iter().any(|t| t == first) || p.contains(['*', '{', '<', '[']) || p.contains("...")
        {
            continue;
        }
        checked += 1;
        assert!(
            PathBuf::from(&p).exists(),
            "README names {p}, not in the clone"
        );
    }
    // the reference report, fixtures, tests, docs/ci, ci/ ...
    assert!(checked >= 20, "only {checked} paths checked");
    assert!(readme.contains("tests/reference/LOAD_TEST_REPORT.md"));
}

/// The shell texts of a GitHub Actions workflow (`run:` of every step) and the
/// `uses:` steps with their `with:`, per job.
fn github_steps(doc: &yaml_serde::Value) -> (Vec<String>, Vec<yaml_serde::Value>) {
    let mut runs = Vec::new();
    let mut steps = Vec::new();
    for (_, job) in doc["jobs"].as_mapping().expect("jobs") {
        for step in job["steps"].as_sequence().expect("steps") {
            if let Some(run) = step.get("run") {
                runs.push(run.as_str().unwrap().to_string());
            }
            steps.push(step.clone());
        }
    }
    (runs, steps)
}

/// The shell lines of the GitLab jobs (`before_script`, `script`,
/// `after_script`), with each job.
fn gitlab_scripts(doc: &yaml_serde::Value) -> Vec<(String, yaml_serde::Value)> {
    let mut out = Vec::new();
    for (name, job) in doc.as_mapping().unwrap() {
        let Some(script) = job.get("script") else {
            continue;
        };
        assert!(script.is_sequence(), "{name:?}: script is a list");
        let mut text = String::new();
        for key in ["before_script", "script", "after_script"] {
            if let Some(lines) = job.get(key) {
                for l in lines.as_sequence().unwrap() {
                    text.push_str(l.as_str().unwrap());
                    text.push('\n');
                }
            }
        }
        out.push((text, job.clone()));
    }
    out
}

/// Run a recipe's perfreport commands in a folder laid out as its load test
/// leaves it. `summary`: whether the gate writes GitHub's step summary.
fn run_recipe_commands(commands: &[String], github: bool) {
    let (csv_prefix, json_name) = check_locust_line(commands);
    let pr = perfreport_commands(commands);
    let mut subs: Vec<&String> = pr.keys().collect();
    subs.sort();
    assert_eq!(subs, ["gate", "render", "sample"]);
    let resources = value(&pr["sample"], "--out").to_string();
    check_inputs(
        &pr,
        &[
            format!("{csv_prefix}_stats.csv"),
            format!("{json_name}.json"),
        ],
        &resources,
    );

    let sample = commands
        .iter()
        .find(|c| c.starts_with("perfreport sample"))
        .unwrap();
    let sample = words(sample);
    let pid_word = value(&sample, "--pid").to_string();
    assert!(pid_word.starts_with('$'), "{pid_word}");
    assert_sampled(&run_sample(&sample, Some(&pid_word)));

    let dir = tempfile::tempdir().unwrap();
    lay_out_locust_run(dir.path(), &csv_prefix, &json_name);
    copy(
        &format!("{LOCUST_RUN}/resources.csv"),
        &dir.path().join(&resources),
    );
    let gate = words(
        commands
            .iter()
            .find(|c| c.starts_with("perfreport gate"))
            .unwrap(),
    );
    assert_eq!(gate.iter().any(|w| w == "--github"), github);
    let summary = dir.path().join("step_summary.md");
    let mut cmd = perfreport();
    cmd.current_dir(dir.path()).args(&gate[1..]);
    if github {
        cmd.env("GITHUB_STEP_SUMMARY", &summary);
    }
    assert!(locust_steady_rps() < 50.0);
    let out = cmd.assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    if github {
        let text = std::fs::read_to_string(&summary).unwrap();
        assert!(text.contains("Throughput"), "{text}");
        assert!(stdout.contains("::error"), "no annotation: {stdout}");
    }
    let cases = junit_cases(&dir.path().join(value(&gate, "--junit")));
    assert_eq!(cases.get("Throughput"), Some(&true), "{cases:?}");

    let render = words(
        commands
            .iter()
            .find(|c| c.starts_with("perfreport render"))
            .unwrap(),
    );
    perfreport()
        .current_dir(dir.path())
        .args(&render[1..])
        .assert()
        .code(0);
    assert_html_report(
        &dir.path().join(value(&render, "--out")),
        locust_aggregated("Request Count") as u64,
    );
}

#[test]
fn github_actions_recipe_gates_with_junit_and_summary_and_keeps_the_report() {
    let text = std::fs::read_to_string("docs/ci/github-actions.yml").unwrap();
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    let (runs, steps) = github_steps(&doc);
    let all: Vec<String> = runs.iter().flat_map(|r| commands(r)).collect();
    run_recipe_commands(&all, true);

    // the server listens on loopback; the report is kept even when the gate fails
    assert!(all.iter().any(|c| c.contains("--host 127.0.0.1")));
    let render_step = steps
        .iter()
        .find(|s| {
            s.get("run")
                .and_then(|r| r.as_str())
                .is_some_and(|r| r.contains("perfreport render"))
        })
        .unwrap();
    assert_eq!(render_step["if"].as_str(), Some("always()"));
    let upload = steps
        .iter()
        .find(|s| {
            s.get("uses")
                .and_then(|u| u.as_str())
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("an upload-artifact step");
    assert_eq!(upload["if"].as_str(), Some("always()"));
    let kept = upload["with"]["path"].as_str().unwrap();
    let report = all
        .iter()
        .find(|c| c.starts_with("perfreport render"))
        .map(|c| words(c))
        .unwrap();
    assert!(value(&report, "--out").starts_with(kept), "{kept}");
}

#[test]
fn gitlab_recipe_gates_with_junit_and_keeps_the_report() {
    let text = std::fs::read_to_string("docs/ci/gitlab-ci.yml").unwrap();
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    let jobs = gitlab_scripts(&doc);
    assert_eq!(jobs.len(), 1);
    let (script, job) = &jobs[0];
    let all = commands(script);
    run_recipe_commands(&all, false);

    assert!(all.iter().any(|c| c.contains("--host 127.0.0.1")));
    // the report is rendered before the gate can fail the job
    let at = |p: &str| all.iter().position(|c| c.starts_with(p)).unwrap();
    assert!(at("perfreport render") < at("perfreport gate"));
    let artifacts = &job["artifacts"];
    assert_eq!(artifacts["when"].as_str(), Some("always"));
    let gate = words(&all[at("perfreport gate")]);
    assert_eq!(
        artifacts["reports"]["junit"].as_str(),
        Some(value(&gate, "--junit"))
    );
    let paths: Vec<&str> = artifacts["paths"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let render = words(&all[at("perfreport render")]);
    let out = value(&render, "--out");
    assert!(paths.iter().any(|p| out.starts_with(p)), "{paths:?}");
}

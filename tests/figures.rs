//! Derived figures of issue 9 (items 2, 3, 4, 9, 12, 13), each recomputed here
//! from the raw fixture files with a reader of the test's own, or taken from
//! Locust's own HTML report (fixtures/locust/html_total_rps.json).

mod common;
use common::perfreport;

use common::{records, sustained_from_history};
use perfreport::analysis::steady::sustained_rps;
use perfreport::input::load_run;
use perfreport::model::Run;
use perfreport::targets::{self, State};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every shared Locust run that has both the stats CSV and the JSON.
fn runs_with_both() -> Vec<(String, PathBuf, PathBuf)> {
    let mut v: Vec<(String, PathBuf, PathBuf)> = std::fs::read_dir("fixtures/locust")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .filter_map(|d| {
            let name = d.file_name()?.to_string_lossy().to_string();
            let csv = d.join(format!("{name}_stats.csv"));
            let json = d.join(format!("{name}.json"));
            (csv.exists() && json.exists()).then_some((name, csv, json))
        })
        .collect();
    v.sort();
    assert!(v.len() >= 15, "expected the shared Locust runs");
    v
}

fn load(paths: &[&Path]) -> Run {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    load_run(&paths, None).unwrap_or_else(|e| panic!("{e}"))
}

/// The three ways to give one Locust run.
fn combinations(csv: &Path, json: &Path) -> Vec<(&'static str, Run)> {
    vec![
        ("CSV", load(&[csv])),
        ("CSV+JSON", load(&[csv, json])),
        ("JSON", load(&[json])),
    ]
}

/// Item 4: the average rate is Locust's `total_rps` (requests ÷ (last request
/// − test start)) from its own HTML report, within 0.5 %, for every input
/// combination; and the report states its basis.
#[test]
fn average_rps_is_locusts_total_rps_for_every_input_combination() {
    let oracle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/locust/html_total_rps.json").unwrap(),
    )
    .unwrap();
    for (name, csv, json) in runs_with_both() {
        let locust = oracle[&name]["total_rps"].as_f64().unwrap();
        for (how, run) in combinations(&csv, &json) {
            let ours = run.total.rps.unwrap();
            let off = (ours - locust).abs() / locust;
            assert!(
                off < 0.005,
                "{name} {how}: {ours:.3} req/s vs Locust's {locust:.3} ({:.2} % off)",
                off * 100.0
            );
            assert!(run.rps_basis.is_some(), "{name} {how}: no basis");
        }
    }
}

/// Items 2 and 4: the sustained rate and the windowed verdicts are the same
/// whichever of a run's files are given, and the sustained rate is the one
/// computed here from the history.
#[test]
fn sustained_rps_and_windows_do_not_depend_on_the_files_given() {
    let windowed = targets::parse_all(&["p95<200ms over 30s".to_string()]).unwrap();
    let windowed = vec![targets::Target::new("w", windowed[0].clone())];
    for (name, csv, json) in runs_with_both() {
        let history = csv.with_file_name(format!("{name}_stats_history.csv"));
        let expected = sustained_from_history(&history);
        let mut verdicts = Vec::new();
        for (how, run) in combinations(&csv, &json) {
            let s = sustained_rps(&run).unwrap();
            assert!(
                (s.rps - expected).abs() < 1e-9,
                "{name} {how}: sustained {} vs {expected} from the history",
                s.rps
            );
            assert!(s.window.is_some(), "{name} {how}: {}", s.basis);
            let o = &targets::evaluate(&run, &windowed, None).outcomes[0];
            assert_ne!(o.state, State::NotMeasured, "{name} {how}: {}", o.detail);
            verdicts.push((how, o.state, o.measured, o.detail.clone()));
            assert_eq!(
                run.peak_users,
                records(&history)
                    .iter()
                    .map(|r| r["User Count"].parse::<u64>().unwrap())
                    .max(),
                "{name} {how}: peak users"
            );
        }
        for v in &verdicts[1..] {
            assert_eq!(
                (v.1, v.2, &v.3),
                (verdicts[0].1, verdicts[0].2, &verdicts[0].3),
                "{name}: {} vs {}",
                v.0,
                verdicts[0].0
            );
        }
    }
}

/// Locust's percentile of a whole merged histogram.
fn pct(hist: &BTreeMap<u64, u64>, q: f64) -> u64 {
    common::locust_pct(hist, hist.values().sum(), q)
}

/// Merged histogram of the JSON entries whose method passes `keep`.
fn merged(json: &serde_json::Value, keep: impl Fn(&str) -> bool) -> BTreeMap<u64, u64> {
    let mut h = BTreeMap::new();
    for e in json.as_array().unwrap() {
        if !keep(e["method"].as_str().unwrap()) {
            continue;
        }
        for (k, v) in e["response_times"].as_object().unwrap() {
            *h.entry(k.parse::<f64>().unwrap().round() as u64)
                .or_insert(0) += v.as_u64().unwrap();
        }
    }
    h
}

/// Item 3: on fullmix_u40_60s the API targets cover the HTTP rows only; WS
/// and DB keep their own rows.
#[test]
fn api_targets_cover_http_requests_only() {
    let dir = Path::new("fixtures/locust/fullmix_u40_60s");
    let json_path = dir.join("fullmix_u40_60s.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let http = merged(&json, |m| m != "WS" && m != "DB");
    let http_n: u64 = http.values().sum();
    let (p95, p99) = (pct(&http, 0.95), pct(&http, 0.99));
    assert_eq!((http_n, p95, p99), (467, 140, 400), "the issue's figures");
    let ws = pct(&merged(&json, |m| m == "WS"), 0.95);
    let db = pct(&merged(&json, |m| m == "DB"), 0.95);

    let run = load(&[&dir.join("fullmix_u40_60s_stats.csv"), &json_path]);
    let verdict = targets::evaluate(&run, &targets::default_targets(), None);
    let by_title = |t: &str| {
        verdict
            .outcomes
            .iter()
            .find(|o| o.target.title == t)
            .unwrap()
    };
    let o95 = by_title("API Response Time (p95)");
    assert_eq!(o95.measured, Some(p95 as f64));
    assert_eq!(o95.samples, Some(http_n));
    assert!(
        o95.detail.contains("467 of 1,318 requests"),
        "{}",
        o95.detail
    );
    assert!(o95.detail.contains("WebSocket"), "{}", o95.detail);
    assert_eq!(
        by_title("API Response Time (p99)").measured,
        Some(p99 as f64)
    );
    assert_eq!(by_title("WebSocket Latency").measured, Some(ws as f64));
    assert_eq!(by_title("Database Queries (p95)").measured, Some(db as f64));

    // the gate's scope column and the report say which rows are covered
    perfreport()
        .args(["gate", "--stats"])
        .arg(dir.join("fullmix_u40_60s_stats.csv"))
        .arg("--stats")
        .arg(&json_path)
        .assert()
        .stdout(
            predicates::str::is_match(r"API Response Time \(p95\)\s+HTTP requests\s+140 ms")
                .unwrap(),
        );
    let out = perfreport()
        .args(["render", "--stats"])
        .arg(&json_path)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        text.contains(
            "The API Response Time targets cover HTTP requests: 5 of 10 rows, 467 of 1,318 requests"
        ),
        "{text}"
    );
}

/// Item 3 with the CSV alone: no histograms, so the HTTP group's percentile is
/// bounded by its rows' own percentiles (read here from the CSV), and the
/// detail says so.
#[test]
fn api_targets_from_the_csv_alone_are_bounds_of_the_http_rows() {
    let path = Path::new("fixtures/locust/fullmix_u40_60s/fullmix_u40_60s_stats.csv");
    let rows: Vec<_> = records(path)
        .into_iter()
        .filter(|r| !r["Type"].is_empty() && r["Type"] != "WS" && r["Type"] != "DB")
        .collect();
    let p95s: Vec<f64> = rows.iter().map(|r| r["95%"].parse().unwrap()).collect();
    let lo = p95s.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = p95s.iter().cloned().fold(0.0, f64::max);
    let run = load(&[path]);
    let verdict = targets::evaluate(&run, &targets::default_targets(), None);
    let o = &verdict.outcomes[0];
    assert_eq!(o.target.title, "API Response Time (p95)");
    assert_eq!(
        o.measured_text,
        format!("between {lo:.0} ms and {hi:.0} ms"),
        "{}",
        o.detail
    );
    assert!(
        o.detail.contains(&format!("{} of 10 rows", rows.len())),
        "{}",
        o.detail
    );
}

/// Item 12: monitoring_u30_60s's p95 is Locust's "200" (its stats CSV's
/// Aggregated 95% column), which stands for 195–205 ms; against `< 200ms` the
/// verdict stays missed and says it lies within the bucket; `< 210ms` is met
/// (205 < 210), `<= 200ms` is missed as borderline too.
#[test]
fn a_percentile_at_the_limit_within_locusts_bucket_is_a_borderline_miss() {
    let path = Path::new("fixtures/locust/monitoring_u30_60s/monitoring_u30_60s_stats.csv");
    let agg = records(path)
        .into_iter()
        .find(|r| r["Name"] == "Aggregated")
        .unwrap();
    let p95: f64 = agg["95%"].parse().unwrap();
    assert_eq!(p95, 200.0);
    let run = load(&[path]);
    let eval = |text: &str| {
        let e = targets::parse_all(&[text.to_string()]).unwrap();
        targets::evaluate(&run, &[targets::Target::new(text, e[0].clone())], None).outcomes[0]
            .clone()
    };
    for text in ["p95<200ms", "p95<=200ms", "p95<204ms"] {
        let o = eval(text);
        assert_eq!(o.state, State::Missed, "{text}");
        assert!(o.detail.starts_with("borderline"), "{text}: {}", o.detail);
        assert!(o.detail.contains("195 ms to 205 ms"), "{}", o.detail);
        assert_eq!(o.measured, Some(p95));
    }
    let o = eval("p95<210ms");
    assert_eq!(o.state, State::Met);
    assert!(!o.detail.contains("borderline"));
    let o = eval("p95<190ms");
    assert_eq!(o.state, State::Missed);
    assert!(
        !o.detail.contains("borderline"),
        "a clear miss is not borderline"
    );
    // a warn: target at the limit is warned, not met
    let o = eval("warn: p95<200ms");
    assert_eq!(o.state, State::Warned);
    // the gate prints it
    perfreport()
        .args(["gate", "--stats"])
        .arg(path)
        .args(["--target", "p95<200ms"])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("200 ms (borderline)"));
}

/// Item 9: contentrequest_u40_60s's JSON counts more failures than its
/// failures CSV (the stats CSV's snapshot) lists. The report uses one
/// denominator and says how many are not in the breakdown.
#[test]
fn failure_figures_come_from_one_source_or_say_which_is_older() {
    let dir = Path::new("fixtures/locust/contentrequest_u40_60s");
    let json_path = dir.join("contentrequest_u40_60s.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let json_failures: u64 = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["num_failures"].as_u64().unwrap())
        .sum();
    let listed: u64 = records(dir.join("contentrequest_u40_60s_failures.csv"))
        .iter()
        .map(|r| r["Occurrences"].parse::<u64>().unwrap())
        .sum();
    assert!(listed < json_failures, "the fixture's snapshot lags");
    let unlisted = json_failures - listed;
    for stats in [
        vec![json_path.clone()],
        vec![
            dir.join("contentrequest_u40_60s_stats.csv"),
            json_path.clone(),
        ],
    ] {
        let mut cmd = perfreport();
        cmd.arg("render");
        for s in &stats {
            cmd.arg("--stats").arg(s);
        }
        let out = cmd.assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(
            text.contains(&format!("Failures: {json_failures} (")),
            "{text}"
        );
        assert!(
            text.contains(&format!(" of {json_failures} failures")),
            "the breakdown's share uses the run's count: {text}"
        );
        assert!(
            text.contains(&format!(
                "{unlisted} of the {json_failures} failures are missing from the failure breakdown"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "it lists {listed} of the JSON's {json_failures} failures"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "| Not in the failure breakdown (after the failures CSV's last write) | {unlisted} |"
            )),
            "{text}"
        );
        assert!(
            !text.contains(&format!(" of {listed} failures")),
            "no figure uses the snapshot's count as the whole: {text}"
        );
    }
}

fn render(args: &[&str]) -> String {
    let out = perfreport().arg("render").args(args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

/// Item 13: "met wherever measured" never stands beside a missed target.
/// mixed_baseline_u50_90s misses p99 < 500 ms (its CSV's Aggregated 99%) and
/// meets p95 < 200 ms (its 95%).
#[test]
fn met_targets_beside_a_miss_are_not_called_met_wherever_measured() {
    let path = "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv";
    let agg = records(Path::new(path))
        .into_iter()
        .find(|r| r["Name"] == "Aggregated")
        .unwrap();
    let (p95, p99): (f64, f64) = (agg["95%"].parse().unwrap(), agg["99%"].parse().unwrap());
    assert!(
        p95 < 195.0 && p99 > 505.0,
        "the fixture: one met, one missed"
    );
    let text = render(&["--stats", path]);
    assert!(!text.contains("Met wherever measured"), "{text}");
    assert!(
        text.contains("The other measured targets were met"),
        "{text}"
    );
    assert!(!text.contains("Every measured target was met"), "{text}");
}

/// Item 13: a 404 is reported as what was observed, not as a guess at the
/// cause. contentrequest_u40_60s's failures CSV has only 404s on its POST rows.
#[test]
fn a_404_is_described_as_observed() {
    let dir = "fixtures/locust/contentrequest_u40_60s";
    let failures = records(Path::new(dir).join("contentrequest_u40_60s_failures.csv"));
    assert!(failures.iter().any(|r| r["Error"].contains("404")));
    let text = render(&[
        "--stats",
        &format!("{dir}/contentrequest_u40_60s_stats.csv"),
    ]);
    assert!(!text.contains("not implemented"), "{text}");
    assert!(text.contains("returned 404 Not Found for all"), "{text}");
}

/// Item 13: a Goose request log is not called a stats history (only Locust
/// writes one).
#[test]
fn a_goose_request_log_is_not_called_a_stats_history() {
    let log = "fixtures/goose/monitoring-30u-reqlog-csv/requests.csv";
    let text = render(&["--stats", log]);
    assert!(!text.contains("stats history"), "{text}");
    let out = perfreport()
        .args(["gate", "--stats", log, "--target", "rps>=1"])
        .assert();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!stdout.contains("stats history"), "{stdout}");
}

/// Item 13: "X MiB of the Y MiB growth was still held" never has X > Y. On
/// step_leak_25-50-100_90s more than the growth under load was held after it.
#[test]
fn retained_memory_is_not_a_part_larger_than_the_whole() {
    let dir = "fixtures/locust/step_leak_25-50-100_90s";
    let text = render(&[
        "--stats",
        &format!("{dir}/step_leak_25-50-100_90s_stats.csv"),
        "--resources",
        &format!("{dir}/resources.csv"),
    ]);
    let re = regex_lite(&text);
    for (held, growth) in re {
        assert!(
            held <= growth,
            "{held} MiB of the {growth} MiB growth: {text}"
        );
    }
    assert!(text.contains("Memory leak suspected"), "{text}");
}

/// Every "X MiB of the Y MiB growth" in a text.
fn regex_lite(text: &str) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices(" MiB growth") {
        let before = &text[..i];
        let Some(of) = before.rfind(" MiB of the ") else {
            continue;
        };
        let growth: f64 = before[of + " MiB of the ".len()..]
            .parse()
            .unwrap_or(f64::NAN);
        let start = before[..of].rfind(' ').map_or(0, |s| s + 1);
        if let Ok(held) = before[start..of].parse::<f64>() {
            out.push((held, growth));
        }
    }
    out
}

/// Item 13: a Goose run that a threshold stopped says so in the gate's
/// output and in the verdict JSON (the derived report of
/// fixtures/goose/derived: configaudit-30u with the run record of an aborted
/// run). The real run, which completed, says nothing of the kind.
#[test]
fn a_run_stopped_by_a_threshold_says_so_in_the_gate_and_the_json() {
    let path = "fixtures/goose/derived/report_stopped_by_threshold.json";
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rule = raw["raw_metrics"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["aborted"] == true)
        .unwrap();
    let expected = format!(
        "the run stopped early: Goose's threshold `{}` failed (observed {}) and stopped the run early, after {} s of measurement",
        rule["rule"].as_str().unwrap(),
        rule["observed"].as_str().unwrap(),
        raw["raw_metrics"]["duration"]
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("verdict.json");
    let out = perfreport()
        .args(["gate", "--stats", path, "--json"])
        .arg(&json)
        .assert();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains(&expected), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        v["run"]["stopped_early"]
            .as_str()
            .unwrap()
            .contains(rule["rule"].as_str().unwrap()),
        "{v}"
    );
    // the real, completed run
    let json2 = dir.path().join("verdict2.json");
    perfreport()
        .args([
            "gate",
            "--stats",
            "fixtures/goose/configaudit-30u/report.json",
            "--json",
        ])
        .arg(&json2)
        .assert()
        .code(1);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json2).unwrap()).unwrap();
    assert!(v["run"]["stopped_early"].is_null(), "{v}");
    let text = render(&["--stats", path]);
    assert!(text.contains("The run stopped early"), "{text}");
}

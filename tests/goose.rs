//! Goose inputs read through `perfreport::input::load_run`, checked against
//! Goose's own figures in each fixture (read here from the report's table rows,
//! which Goose computed independently of perfreport) and against counts
//! computed by hand with Python from the request log.

use perfreport::input::load_run;
use perfreport::latency::Percentile;
use perfreport::model::{Endpoint, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

const RUNS: [&str; 5] = [
    "configaudit-30u",
    "contentrequest-30u",
    "mixed-after-40u",
    "mixed-baseline-40u",
    "monitoring-30u-reqlog-csv",
];

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/goose")
        .join(rel)
}

fn load(paths: &[&str]) -> Run {
    let paths: Vec<PathBuf> = paths.iter().map(|p| fixture(p)).collect();
    load_run(&paths, None).unwrap_or_else(|e| panic!("{e}"))
}

fn load_err(paths: &[PathBuf]) -> String {
    match load_run(paths, None) {
        Ok(_) => panic!("expected an error for {paths:?}"),
        Err(e) => e.to_string(),
    }
}

fn report_json(run: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("{run}/report.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn endpoint<'a>(run: &'a Run, method: &str, name: &str) -> &'a Endpoint {
    if method.is_empty() && name == "Aggregated" {
        return &run.total;
    }
    run.endpoints
        .iter()
        .find(|e| e.kind == method && e.name == name)
        .unwrap_or_else(|| panic!("no endpoint {method} {name} in {}", run.label))
}

fn pct(e: &Endpoint, p: f64) -> f64 {
    match e.latency.percentile(p) {
        Percentile::Value(v) => v,
        other => panic!("{}: p{p} is {other:?}", e.label()),
    }
}

/// Goose's JSON table writes µs / 1000 truncated: ours must be in [table, table + 1).
fn assert_truncates_to(ours: f64, table: f64, what: &str) {
    assert!(
        ours >= table && ours < table + 1.0,
        "{what}: ours {ours} ms, Goose's table {table} ms (truncated)"
    );
}

#[test]
fn every_report_matches_goose_own_tables() {
    for name in RUNS {
        let run = load(&[&format!("{name}/report.json")]);
        let json = report_json(name);
        let duration = json["raw_metrics"]["duration"].as_f64().unwrap();
        assert_eq!(run.label, name);
        assert_eq!(run.duration_s, Some(duration));
        let rows = json["raw_request_metrics"].as_array().unwrap();
        // every table row plus the Aggregated one
        assert_eq!(rows.len(), run.endpoints.len() + 1, "{name}");
        for row in rows {
            let method = row["method"].as_str().unwrap();
            let rname = row["name"].as_str().unwrap();
            let e = endpoint(&run, method, rname);
            let what = format!("{name} {method} {rname}");
            assert_eq!(
                e.requests,
                row["number_of_requests"].as_u64().unwrap(),
                "{what}"
            );
            assert_eq!(
                e.failures,
                row["number_of_failures"].as_u64().unwrap(),
                "{what}"
            );
            let rps = row["requests_per_second"].as_f64().unwrap();
            // Goose's RPS is an f32: compare to 1e-5 relative
            let ours = e.rps.unwrap();
            assert!(
                (ours - rps).abs() <= rps * 1e-5,
                "{what}: rps {ours} vs {rps}"
            );
            let avg = row["response_time_average"].as_f64().unwrap();
            assert!(
                (e.latency.mean_ms().unwrap() - avg).abs() < 1e-9,
                "{what}: average"
            );
            assert_truncates_to(
                e.latency.min_ms.unwrap(),
                row["response_time_minimum"].as_f64().unwrap(),
                &format!("{what} min"),
            );
        }
        for row in json["raw_response_metrics"].as_array().unwrap() {
            let method = row["method"].as_str().unwrap();
            let rname = row["name"].as_str().unwrap();
            let e = endpoint(&run, method, rname);
            for p in [50, 95, 99, 100] {
                let table = row[format!("percentile_{p}")].as_f64().unwrap();
                assert_truncates_to(
                    pct(e, p as f64),
                    table,
                    &format!("{name} {method} {rname} p{p}"),
                );
            }
        }
    }
}

#[test]
fn mixed_baseline_aggregated_percentiles() {
    // The acceptance figures of issue 3 (report.json Aggregated row: p95 248, p99 522).
    let run = load(&["mixed-baseline-40u/report.json"]);
    assert_eq!(pct(&run.total, 95.0).floor(), 248.0);
    assert_eq!(pct(&run.total, 99.0).floor(), 522.0);
    // 796 requests, 179 failures (MANIFEST.md); 796 / 60 s = 13.2666...
    assert_eq!(run.total.requests, 796);
    assert_eq!(run.total.failures, 179);
    assert!((run.total.rps.unwrap() - 796.0 / 60.0).abs() < 1e-12);
}

#[test]
fn report_run_record_steps_window_and_statuses() {
    let run = load(&["monitoring-30u-reqlog-csv/report.json"]);
    assert_eq!(run.tool_version.as_deref(), Some("0.19.0"));
    assert_eq!(run.ended_by.as_deref(), Some("completed"));
    assert_eq!(run.peak_users, Some(30));
    // started 2026-11-27T15:12:02Z = 1795792322 (python datetime(...).timestamp())
    assert_eq!(run.started, Some(1_795_792_322.0));
    assert_eq!(run.ended, Some(1_795_792_385.0));
    let actions: Vec<&str> = run.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        actions,
        ["Increasing", "Maintaining", "Decreasing", "Finished"]
    );
    // Maintaining 15:12:05.171131170 -> Decreasing 15:13:05.325134473 (python: 60.154003303 s)
    let w = run.measured_window.unwrap();
    assert!((w.start - 1_795_792_325.171_131).abs() < 1e-6);
    assert!((w.seconds() - 60.154_003_303).abs() < 1e-5);
    // status_code_counts of GET /api/v1/downloads/queue: {"200": 406, "504": 5}
    let q = endpoint(&run, "GET", "/api/v1/downloads/queue");
    assert_eq!(q.status_counts.get(&200), Some(&406));
    assert_eq!(q.status_counts.get(&504), Some(&5));
    assert_eq!(run.total.status_counts.get(&200), Some(&1340));
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].status, Some(504));
    assert_eq!(run.failures[0].occurrences, 5);
    assert_eq!(run.failures[0].kind, "GET");
    // one timeline point per step when the report has no graph data
    assert_eq!(run.timeline.len(), 4);
    assert_eq!(run.timeline[1].users, Some(30));
    assert!(
        run.provenance
            .iter()
            .any(|p| p.starts_with("Percentiles from Goose's µs buckets"))
    );
}

#[test]
fn thresholds_of_the_run_are_kept() {
    // configaudit-30u ran with four --threshold rules; only error-rate passed (MANIFEST.md)
    let run = load(&["configaudit-30u/report.json"]);
    let t: Vec<(&str, bool)> = run
        .tool_thresholds
        .iter()
        .map(|t| (t.rule.as_str(), t.passed))
        .collect();
    assert_eq!(
        t,
        [
            ("p95<200ms", false),
            ("p99<500ms", false),
            ("rps>=100", false),
            ("error-rate<1%", true)
        ]
    );
    assert_eq!(run.tool_thresholds[0].observed, "362ms");
}

#[test]
fn contentrequest_failures_have_statuses() {
    // errors table: 1 x 400, 187 + 205 x 404 (393 failures, MANIFEST.md)
    let run = load(&["contentrequest-30u/report.json"]);
    assert_eq!(run.total.failures, 393);
    let by_status = perfreport::model::failures_by_status(&run.failures);
    assert_eq!(by_status.get(&Some(404)), Some(&392));
    assert_eq!(by_status.get(&Some(400)), Some(&1));
    assert_eq!(
        endpoint(&run, "POST", "/api/v1/content/request [tv]").failures,
        205
    );
}

#[test]
fn gzipped_report_reads_the_same() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("mixed-after-40u");
    std::fs::create_dir(&run_dir).unwrap();
    let gz = run_dir.join("report.json.gz");
    let bytes = std::fs::read(fixture("mixed-after-40u/report.json")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&bytes).unwrap();
    enc.finish().unwrap();
    let run = load_run(&[gz], None).unwrap();
    assert_eq!(run.label, "mixed-after-40u");
    // 793 requests (MANIFEST.md)
    assert_eq!(run.total.requests, 793);
}

#[test]
fn truncated_report_names_file_and_line() {
    let p = fixture("bad/report_truncated.json");
    let msg = load_err(&[p]);
    assert!(msg.contains("report_truncated.json"), "{msg}");
    assert!(msg.contains("line "), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn markdown_report_says_to_pass_report_json() {
    let msg = load_err(&[fixture("mixed-baseline-40u/report.md")]);
    assert!(msg.contains("report.md"), "{msg}");
    assert!(msg.contains("Markdown"), "{msg}");
    assert!(msg.contains("pass Goose's report.json"), "{msg}");
}

const LOG: &str = "monitoring-30u-reqlog-csv/requests.csv";

#[test]
fn request_log_alone_counts_every_row() {
    // python3 csv.DictReader over requests.csv: 1,395 rows, by name
    // history 289, queue 426 (5 x 504), activity 680; last elapsed 63,148 ms.
    let run = load(&[LOG]);
    assert_eq!(run.label, "monitoring-30u-reqlog-csv");
    assert_eq!(run.started, None);
    assert_eq!(run.total.requests, 1395);
    assert_eq!(run.total.failures, 5);
    assert_eq!(run.duration_s, Some(63.148));
    let h = endpoint(&run, "GET", "/api/v1/downloads/history");
    let q = endpoint(&run, "GET", "/api/v1/downloads/queue");
    let a = endpoint(&run, "GET", "/api/v1/monitoring/activity");
    assert_eq!((h.requests, q.requests, a.requests), (289, 426, 680));
    assert_eq!(q.status_counts.get(&504), Some(&5));
    assert_eq!(q.status_counts.get(&200), Some(&421));
    // exact sums and maxima of response_time_us (python sum()/max())
    assert!((h.latency.sum_ms.unwrap() - 34_347.722).abs() < 1e-6);
    assert_eq!(a.latency.max_ms, Some(753.403));
    // nearest-rank percentiles of response_time_us, sorted in python
    // (v[ceil(q*n)-1]); the HdrHistogram keeps 3 significant digits (±0.1 %)
    let close = |ours: f64, exact_us: f64, what: &str| {
        let exact = exact_us / 1000.0;
        assert!(
            (ours - exact).abs() <= exact * 0.001,
            "{what}: {ours} vs {exact}"
        );
    };
    close(pct(h, 50.0), 91_782.0, "history p50");
    close(pct(h, 95.0), 246_679.0, "history p95");
    close(pct(h, 99.0), 637_969.0, "history p99");
    close(pct(q, 95.0), 197_940.0, "queue p95");
    close(pct(a, 50.0), 45_859.0, "activity p50");
    close(pct(&run.total, 50.0), 58_286.0, "all p50");
    close(pct(&run.total, 95.0), 197_940.0, "all p95");
    close(pct(&run.total, 99.0), 581_309.0, "all p99");
    // the 5 failures: first/last elapsed 20,931 / 56,589 ms (seconds since the start)
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].status, Some(504));
    assert_eq!(run.failures[0].first_seen, Some(20.931));
    assert_eq!(run.failures[0].last_seen, Some(56.589));
}

#[test]
fn request_log_timeline_per_second() {
    // python: Counter(elapsed // 1000): second 0 -> 12 rows, 2 -> 23, 10 -> 23, 63 -> 5.
    // Users whose first..last request second spans t: t=0 -> 10, 1 -> 20, 2 -> 30, 63 -> 5.
    let run = load(&[LOG]);
    assert_eq!(run.timeline.len(), 64);
    let at = |t: usize| &run.timeline[t];
    assert_eq!(at(0).t, 0.0);
    assert_eq!(
        [at(0).rps, at(2).rps, at(10).rps, at(63).rps],
        [Some(12.0), Some(23.0), Some(23.0), Some(5.0)]
    );
    assert_eq!(
        [
            at(0).users,
            at(1).users,
            at(2).users,
            at(10).users,
            at(63).users
        ],
        [Some(10), Some(20), Some(30), Some(30), Some(5)]
    );
    assert_eq!(run.peak_users, Some(30));
    assert_eq!(at(63).total_requests, Some(1395));
    assert!(at(10).p50_ms.is_some() && at(10).p95_ms >= at(10).p50_ms);
}

#[test]
fn request_log_in_the_measured_window_gives_the_report_counts() {
    // The exact relation (checked in python on every bucket, sum, min and max
    // of raw_metrics.requests): Goose's report counts the log rows whose request
    // COMPLETED at or after the reset, elapsed + response_time_us / 1000 >=
    // Maintaining - Increasing = 3,001.797 ms. That gives 1,345 = the report;
    // counting by send time (elapsed >= 3,002) gives 1,342 (3 requests in
    // flight at the reset are counted by Goose); 50 rows are ramp-up.
    let run = load(&[LOG, "monitoring-30u-reqlog-csv/report.json"]);
    let json = report_json("monitoring-30u-reqlog-csv");
    assert_eq!(run.sources.len(), 2);
    for row in json["raw_request_metrics"].as_array().unwrap() {
        let method = row["method"].as_str().unwrap();
        let name = row["name"].as_str().unwrap();
        let e = endpoint(&run, method, name);
        assert_eq!(
            e.requests,
            row["number_of_requests"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            e.failures,
            row["number_of_failures"].as_u64().unwrap(),
            "{name}"
        );
        let rps = row["requests_per_second"].as_f64().unwrap();
        assert!((e.rps.unwrap() - rps).abs() <= rps * 1e-5, "{name} rps");
        let avg = row["response_time_average"].as_f64().unwrap();
        // same requests, exact µs sums: the mean is Goose's to the µs
        assert!(
            (e.latency.mean_ms().unwrap() - avg).abs() < 1e-9,
            "{name} avg"
        );
    }
    // Percentiles are now exact (HdrHistogram ±0.1 %) nearest-rank values of the
    // window's times, computed in python (sorted v, v[ceil(q*n)-1]):
    let close = |ours: f64, exact_us: f64, what: &str| {
        let exact = exact_us / 1000.0;
        assert!(
            (ours - exact).abs() <= exact * 0.001,
            "{what}: {ours} vs {exact}"
        );
    };
    let h = endpoint(&run, "GET", "/api/v1/downloads/history");
    let q = endpoint(&run, "GET", "/api/v1/downloads/queue");
    close(pct(h, 99.0), 637_969.0, "history p99");
    close(pct(q, 95.0), 198_065.0, "queue p95");
    close(pct(&run.total, 50.0), 58_713.0, "all p50");
    close(pct(&run.total, 95.0), 201_269.0, "all p95");
    close(pct(&run.total, 99.0), 581_309.0, "all p99");
    // Against Goose's table (bucket middle ±0.8 %, truncated): p50/p95 agree
    // within 1 % + 1 ms. p99 may pick another sample: Goose rounds the rank
    // (history: 284 x 0.99 = 281.16 -> 281st = 619,953 µs -> table 618) where
    // nearest rank takes the 282nd (637,969 µs).
    for row in json["raw_response_metrics"].as_array().unwrap() {
        let e = endpoint(
            &run,
            row["method"].as_str().unwrap(),
            row["name"].as_str().unwrap(),
        );
        for p in [50, 95] {
            let goose = row[format!("percentile_{p}")].as_f64().unwrap();
            let ours = pct(e, p as f64);
            assert!(
                (ours - goose).abs() <= goose * 0.01 + 1.0,
                "{} p{p}: {ours} vs {goose}",
                e.label()
            );
        }
    }
    let prov = run.provenance.join("\n");
    assert!(prov.contains("50 ramp-up rows were left out"), "{prov}");
    assert!(prov.contains("3 requests sent before the reset"), "{prov}");
    assert!(prov.contains("would give 1342"), "{prov}");
    assert!(
        prov.contains("equal the report's (1345 requests, 5 failures)"),
        "{prov}"
    );
    // the report's run record and steps are kept; the timeline is the log's,
    // placed at the start: second k covers `elapsed` k..k+1 s after the
    // Increasing step (2026-11-27T15:12:02.169334592Z = 1795792322.169...)
    assert_eq!(run.steps.len(), 4);
    assert!((run.timeline[0].t - 1_795_792_322.169_334_6).abs() < 1e-6);
    assert_eq!(run.timeline.len(), 64);
    // failures with absolute first/last seen: Increasing 15:12:02.169334592 + 20.931 s
    let f = &run.failures[0];
    assert!((f.first_seen.unwrap() - (1_795_792_322.169_334_6 + 20.931)).abs() < 1e-6);
}

#[test]
fn json_lines_log_reads_like_the_csv() {
    // 60 rows converted from requests.csv (fixtures/goose/converted/README.md):
    // python: activity 30, queue 20, history 10; sum of response_time_us 3,972,048; max 187,549.
    let run = load(&["converted/requests_converted_from_csv.jsonl"]);
    assert_eq!(run.total.requests, 60);
    assert_eq!(run.total.failures, 0);
    assert_eq!(
        endpoint(&run, "GET", "/api/v1/monitoring/activity").requests,
        30
    );
    assert_eq!(
        endpoint(&run, "GET", "/api/v1/downloads/queue").requests,
        20
    );
    assert_eq!(
        endpoint(&run, "GET", "/api/v1/downloads/history").requests,
        10
    );
    assert!((run.total.latency.sum_ms.unwrap() - 3_972.048).abs() < 1e-6);
    assert_eq!(run.total.latency.max_ms, Some(187.549));
}

#[test]
fn malformed_request_logs_name_the_line() {
    let msg = load_err(&[fixture("bad/requests_malformed_number.csv")]);
    assert!(msg.contains("requests_malformed_number.csv"), "{msg}");
    assert!(msg.contains("line 4, column 18"), "{msg}");
    assert!(
        msg.contains("`response_time_us`: expected a whole number, found `12x4`"),
        "{msg}"
    );

    let msg = load_err(&[fixture("bad/requests_malformed_columns.csv")]);
    assert!(msg.contains("line 3"), "{msg}");
    assert!(
        msg.contains("expected 18 cells as in the header, found 15"),
        "{msg}"
    );

    let msg = load_err(&[fixture("bad/requests_truncated.jsonl")]);
    assert!(msg.contains("requests_truncated.jsonl"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
}

#[test]
fn a_log_of_many_jobs_merges_like_one() {
    // The reader cuts files into ~1 MiB jobs for parallel workers; the fixture
    // (381 KB) fits in one. Its 1,395 rows repeated 8 times (3 MB) must give
    // 8 x every count of request_log_alone_counts_every_row / _timeline_per_second.
    let text = std::fs::read_to_string(fixture(LOG)).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    std::fs::write(&big, format!("{header}\n{}", rows.repeat(8))).unwrap();
    let run = load_run(&[big], None).unwrap();
    assert_eq!(run.total.requests, 8 * 1395);
    assert_eq!(run.total.failures, 8 * 5);
    let h = endpoint(&run, "GET", "/api/v1/downloads/history");
    assert_eq!(h.requests, 8 * 289);
    assert!((h.latency.sum_ms.unwrap() - 8.0 * 34_347.722).abs() < 1e-6);
    assert_eq!(run.failures.len(), 1);
    assert_eq!(run.failures[0].occurrences, 40);
    assert_eq!(run.timeline.len(), 64);
    assert_eq!(run.timeline[10].rps, Some(8.0 * 23.0));
    assert_eq!(run.timeline[63].total_requests, Some(8 * 1395));
    // every second got its p50/p95 even though its rows came in 8 jobs
    assert!(run.timeline.iter().all(|p| p.p50_ms.is_some()));
    // same percentiles as the single copy (same multiset of times, scaled)
    let single = load(&[LOG]);
    assert_eq!(
        run.total.latency.percentile(95.0),
        single.total.latency.percentile(95.0)
    );
}

#[test]
fn a_bad_row_deep_in_a_big_log_names_its_line() {
    // 8 copies of the 1,395 rows, then one bad row: line 1 + 8 x 1,395 + 1 = 11,162.
    let text = std::fs::read_to_string(fixture(LOG)).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let bad = rows.lines().next().unwrap().replacen("0,", "zero,", 1);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big_malformed.csv");
    std::fs::write(&big, format!("{header}\n{}{bad}\n", rows.repeat(8))).unwrap();
    let msg = load_err(&[big]);
    assert!(msg.contains("line 11162, column 1"), "{msg}");
    assert!(
        msg.contains("`elapsed`: expected a whole number, found `zero`"),
        "{msg}"
    );
}

/// The scenario and transaction tables of report.json, read here with
/// serde_json: every transaction that ran appears with its run count.
#[test]
fn goose_scenarios_and_transactions_are_read_for_the_scenario_sections() {
    let path = std::path::PathBuf::from("fixtures/goose/monitoring-30u-reqlog-csv/report.json");
    let run = perfreport::input::load_run(std::slice::from_ref(&path), None).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let ran: Vec<(String, u64)> = json["transaction_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["is_scenario"].as_bool().unwrap())
        // the table ends with an Aggregated row over all transactions
        .filter(|t| t["name"] != "Aggregated")
        .filter(|t| t["number_of_requests"].as_u64().unwrap() > 0)
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["number_of_requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(run.tool_scenarios.len(), 1);
    assert_eq!(run.tool_scenarios[0].name, "Monitoring");
    let got: Vec<(String, u64)> = run.tool_scenarios[0]
        .transactions
        .iter()
        .map(|t| (t.name.clone(), t.count))
        .collect();
    assert_eq!(got, ran);
}

/// Read alone, the request log cannot know the instant of Goose's metrics
/// reset; it is estimated from the users' start times. On the real run that
/// estimate gives the report's own counts (raw_request_metrics' Aggregated row).
#[test]
fn a_request_log_alone_estimates_the_reports_measured_window() {
    let dir = std::path::Path::new("fixtures/goose/monitoring-30u-reqlog-csv");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let agg = json["raw_request_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Aggregated")
        .unwrap();
    let log = perfreport::input::load_run(&[dir.join("requests.csv")], None).unwrap();
    let counts = log.measured_counts.expect("an estimate");
    assert_eq!(counts.requests, agg["number_of_requests"].as_u64().unwrap());
    assert_eq!(counts.failures, agg["number_of_failures"].as_u64().unwrap());
    // the whole log is still what the figures are computed from: 1,395 rows
    // (wc -l requests.csv minus the header)
    assert_eq!(log.total.requests, 1395);
    let out = assert_cmd::Command::cargo_bin("perfreport")
        .unwrap()
        .args(["gate", "--stats"])
        .arg(dir.join("requests.csv"))
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("measured window: 1,345 requests, 5 failed"),
        "{text}"
    );
}

/// A request log alone has no clock: its times are shown as time into the
/// test (never as 1970 dates), and resource samples, which need a clock to be
/// lined up with the test, are refused with a message naming what to add.
#[test]
fn a_request_log_alone_has_no_clock_and_says_so() {
    let dir = std::path::Path::new("fixtures/goose/monitoring-30u-reqlog-csv");
    let out = assert_cmd::Command::cargo_bin("perfreport")
        .unwrap()
        .args(["render", "--stats"])
        .arg(dir.join("requests.csv"))
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!text.contains("1970"));
    assert!(text.contains("into the test"));
    assert_cmd::Command::cargo_bin("perfreport")
        .unwrap()
        .args(["gate", "--stats"])
        .arg(dir.join("requests.csv"))
        .arg("--resources")
        .arg(dir.join("resources.csv"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("pass the run's report.json"));
}

/// Issue 9 item 8: the transaction table's closing Aggregated row (empty
/// `transaction` index) sums all transactions; it is no transaction of the
/// last scenario. Each scenario's transactions are the rows whose index starts
/// with the scenario's position, read here from report.json.
#[test]
fn the_aggregated_transaction_row_is_not_a_transaction() {
    for name in RUNS {
        let json = report_json(name);
        let run = load(&[&format!("{name}/report.json")]);
        let rows = json["transaction_metrics"].as_array().unwrap();
        let aggregated = rows
            .iter()
            .find(|t| t["name"] == "Aggregated" && t["transaction"] == "")
            .unwrap_or_else(|| panic!("{name}: no Aggregated row"));
        let scenarios: Vec<&str> = rows
            .iter()
            .filter(|t| t["is_scenario"].as_bool().unwrap())
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let mut all = 0;
        for sc in &run.tool_scenarios {
            let index = scenarios.iter().position(|s| *s == sc.name).unwrap();
            let expected: Vec<(String, u64)> = rows
                .iter()
                .filter(|t| {
                    t["transaction"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("{index}."))
                })
                .filter(|t| t["number_of_requests"].as_u64().unwrap() > 0)
                .map(|t| {
                    (
                        t["name"].as_str().unwrap().to_string(),
                        t["number_of_requests"].as_u64().unwrap(),
                    )
                })
                .collect();
            let got: Vec<(String, u64)> = sc
                .transactions
                .iter()
                .map(|t| (t.name.clone(), t.count))
                .collect();
            assert_eq!(got, expected, "{name} {}", sc.name);
            all += got.iter().map(|(_, n)| n).sum::<u64>();
        }
        assert_eq!(
            all,
            aggregated["number_of_requests"].as_u64().unwrap(),
            "{name}: the transactions add up to Goose's Aggregated row"
        );
    }
}

/// The converted JSON Lines log and the CSV rows it came from (its first 60
/// rows, copied byte for byte into a temporary file) give the same figures,
/// and those are the ones computed here from the raw JSON lines: per
/// endpoint the count, the exact µs sum, min and max, and the nearest-rank
/// p50/p95 within HdrHistogram's 3 significant digits.
#[test]
fn json_lines_and_csv_of_the_same_rows_give_the_same_figures() {
    use std::collections::BTreeMap;
    let jsonl = fixture("converted/requests_converted_from_csv.jsonl");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    // method + name -> µs of every row, from the JSON itself
    let mut times: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let us = v["response_time"].as_u64().unwrap() * 1000
            + v["response_time_fraction_us"].as_u64().unwrap();
        let method = v["raw"]["method"].as_str().unwrap().to_uppercase();
        let name = v["name"].as_str().unwrap().to_string();
        times.entry((method, name)).or_default().push(us);
    }
    let rows: usize = times.values().map(Vec::len).sum();
    assert_eq!(rows, 60);

    let csv_full = std::fs::read(fixture("monitoring-30u-reqlog-csv/requests.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(&csv_full[..]);
    let mut record = csv::ByteRecord::new();
    for _ in 0..rows {
        assert!(reader.read_byte_record(&mut record).unwrap());
    }
    let cut = reader.position().byte() as usize;
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("requests.csv");
    std::fs::write(&csv_path, &csv_full[..cut]).unwrap();

    let from_json = load_run(&[jsonl], None).unwrap();
    let from_csv = load_run(&[csv_path], None).unwrap();
    for run in [&from_json, &from_csv] {
        assert_eq!(run.total.requests, rows as u64);
        assert_eq!(run.endpoints.len(), times.len());
        for ((method, name), us) in &times {
            let e = endpoint(run, method, name);
            let mut sorted = us.clone();
            sorted.sort_unstable();
            assert_eq!(e.requests, us.len() as u64, "{method} {name}");
            let ms = |v: u64| v as f64 / 1000.0;
            let sum_ms = e.latency.sum_ms.unwrap();
            assert!((sum_ms - ms(us.iter().sum())).abs() < 1e-9, "{sum_ms}");
            assert_eq!(e.latency.min_ms, Some(ms(sorted[0])));
            assert_eq!(e.latency.max_ms, Some(ms(*sorted.last().unwrap())));
            for p in [50.0, 95.0] {
                let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).max(1);
                let exact = ms(sorted[rank - 1]);
                let got = pct(e, p);
                assert!(
                    (got - exact).abs() <= exact * 1e-3 + 1e-3,
                    "{method} {name} p{p}: {got} vs {exact}"
                );
            }
        }
    }
    // and the two formats agree on everything else they carry
    assert_eq!(
        format!("{:?}", from_json.endpoints),
        format!("{:?}", from_csv.endpoints)
    );
}

//! Many load generators of one run, and digests of request-log shards: the
//! merged figures are checked against the raw request log, parsed here with
//! the `csv` crate.

mod common;
use common::nearest_rank_ms;

use perfreport::input::load_run;
use perfreport::latency::Percentile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LOG: &str = "fixtures/goose/monitoring-30u-reqlog-csv/requests.csv";

/// One request-log row as the test reads it.
struct Row {
    elapsed_ms: u64,
    name: String,
    user: u64,
    status: u16,
    success: bool,
    response_us: u64,
}

fn raw_log() -> (String, Vec<String>, Vec<Row>) {
    let text = std::fs::read_to_string(LOG).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let records: Vec<String> = lines.map(str::to_string).collect();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(&r[col("update")], "false");
            Row {
                elapsed_ms: r[col("elapsed")].parse().unwrap(),
                name: r[col("name")].to_string(),
                user: r[col("user")].parse().unwrap(),
                status: r[col("status_code")].parse().unwrap(),
                success: &r[col("success")] == "true",
                response_us: r[col("response_time_us")].parse().unwrap(),
            }
        })
        .collect();
    (header, records, rows)
}

fn write_log(dir: &Path, header: &str, records: &[&String]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("requests.csv");
    let mut text = String::from(header);
    text.push('\n');
    for r in records {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Counts and percentiles of the merged run equal the raw log's: counts
/// exactly, percentiles within HdrHistogram's 3 significant digits.
fn assert_matches_raw(run: &perfreport::Run, rows: &[Row]) {
    assert_eq!(run.total.requests, rows.len() as u64);
    assert_eq!(
        run.total.failures,
        rows.iter().filter(|r| !r.success).count() as u64
    );
    let mut by_name: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_name.entry(&r.name).or_default().push(r);
    }
    assert_eq!(run.endpoints.len(), by_name.len());
    for (name, rs) in by_name {
        let e = run
            .endpoints
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(e.requests, rs.len() as u64, "{name}");
        assert_eq!(
            e.failures,
            rs.iter().filter(|r| !r.success).count() as u64,
            "{name}"
        );
        let mut status = BTreeMap::new();
        for r in &rs {
            *status.entry(r.status).or_insert(0u64) += 1;
        }
        assert_eq!(e.status_counts, status, "{name}");
        let mut us: Vec<u64> = rs.iter().map(|r| r.response_us).collect();
        for p in [50.0, 95.0, 99.0] {
            let want = nearest_rank_ms(&mut us, p / 100.0);
            let got = match e.latency.percentile(p) {
                Percentile::Value(v) => v,
                other => panic!("{name} p{p}: {other:?}"),
            };
            assert!(
                (got - want).abs() <= want * 0.001 + 0.001,
                "{name} p{p}: {got} vs raw {want}"
            );
        }
        let max = *us.iter().max().unwrap() as f64 / 1000.0;
        assert_eq!(e.latency.max_ms, Some(max), "{name}");
    }
    // the timeline: requests per second of `elapsed`, summed over the parts
    let mut per_second: BTreeMap<u64, u64> = BTreeMap::new();
    for r in rows {
        *per_second.entry(r.elapsed_ms / 1000).or_insert(0) += 1;
    }
    for (s, n) in per_second {
        let p = run
            .timeline
            .iter()
            .find(|p| p.t == s as f64)
            .unwrap_or_else(|| panic!("second {s} missing"));
        assert_eq!(p.rps, Some(n as f64), "second {s}");
    }
}

#[test]
fn a_log_split_into_4_digested_shards_merges_to_the_whole_log() {
    let (header, records, rows) = raw_log();
    let tmp = tempfile::tempdir().unwrap();
    let n = records.len();
    let mut digests = Vec::new();
    for i in 0..4 {
        let part: Vec<&String> = records[i * n / 4..(i + 1) * n / 4].iter().collect();
        let log = write_log(&tmp.path().join(format!("shard{i}")), &header, &part);
        let out = tmp.path().join(format!("shard{i}.hlog"));
        let digested = perfreport::app::digest(&[log], &out, 1).unwrap();
        assert_eq!(digested, part.len() as u64);
        digests.push(out);
    }
    let merged = load_run(&digests, None).unwrap();
    assert_eq!(merged.generators, 4);
    assert_matches_raw(&merged, &rows);
    // the same percentiles as the whole log read directly, not only close
    let whole = load_run(&[PathBuf::from(LOG)], None).unwrap();
    for (a, b) in merged.endpoints.iter().zip(&whole.endpoints) {
        for p in [50.0, 90.0, 95.0, 99.0, 99.9] {
            assert_eq!(a.latency.percentile(p), b.latency.percentile(p));
        }
    }
    assert!(
        merged
            .provenance
            .iter()
            .any(|l| l.starts_with("4 load generators merged")),
        "{:?}",
        merged.provenance
    );
}

#[test]
fn a_digest_is_a_standard_interval_log() {
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("whole.hlog");
    perfreport::app::digest(&[PathBuf::from(LOG)], &out, 10).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let (_, _, rows) = raw_log();
    let mut tags = BTreeMap::new();
    for e in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(iv) = e.unwrap() {
            *tags
                .entry(iv.tag().unwrap().as_str().to_string())
                .or_insert(0) += 1;
        }
    }
    // one interval per endpoint, and one `all` per 10 s of the ~64 s log
    let last_s = rows.iter().map(|r| r.elapsed_ms).max().unwrap() / 1000;
    assert_eq!(tags.get("all"), Some(&(last_s / 10 + 1)));
    assert_eq!(tags.get("GET:/api/v1/downloads/queue"), Some(&1));
    assert_eq!(tags.len(), 4);
}

#[test]
fn two_generators_of_one_run_merge_exactly() {
    let (header, records, rows) = raw_log();
    let tmp = tempfile::tempdir().unwrap();
    // generators split the users between them, as Goose instances do
    let mut paths = Vec::new();
    for g in 0..2 {
        let part: Vec<&String> = records
            .iter()
            .zip(&rows)
            .filter(|(_, r)| r.user % 2 == g)
            .map(|(l, _)| l)
            .collect();
        paths.push(write_log(
            &tmp.path().join(format!("gen{}", g + 1)),
            &header,
            &part,
        ));
    }
    let run = load_run(&paths, None).unwrap();
    assert_eq!(run.generators, 2);
    assert_matches_raw(&run, &rows);
    // each second's users: the generators' users together
    let mut users: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for r in &rows {
        let e = users.entry(r.user).or_insert((u64::MAX, 0));
        e.0 = e.0.min(r.elapsed_ms / 1000);
        e.1 = e.1.max(r.elapsed_ms / 1000);
    }
    let peak = (0..=70u64)
        .map(|s| users.values().filter(|(a, b)| *a <= s && s <= *b).count() as u64)
        .max();
    assert_eq!(run.peak_users, peak);
}

#[test]
fn the_csv_and_json_of_one_locust_run_stay_one_generator() {
    let dir = "fixtures/locust/monitoring_u30_60s";
    let run = load_run(
        &[
            format!("{dir}/monitoring_u30_60s_stats.csv").into(),
            format!("{dir}/monitoring_u30_60s.json").into(),
        ],
        None,
    )
    .unwrap();
    assert_eq!(run.generators, 1);
}

/// `a` and `b` given together are refused with an error that says `why` and
/// names both files.
fn assert_refused_naming_both(a: &Path, b: &Path, why: &str) {
    let err = load_run(&[a.to_path_buf(), b.to_path_buf()], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains(why), "{err}");
    assert!(err.contains(&a.display().to_string()), "{err}");
    assert!(err.contains(&b.display().to_string()), "{err}");
}

#[test]
fn goose_runs_of_different_tests_are_refused() {
    // request logs: different scenarios against different servers
    let a = PathBuf::from(LOG);
    let b = PathBuf::from("fixtures/goose/mixed-graph-jsonl-30u/requests.json");
    assert_refused_naming_both(&a, &b, "not the same run");
    // their digests too
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a.hlog"), tmp.path().join("b.hlog"));
    perfreport::app::digest(&[a], &da, 1).unwrap();
    perfreport::app::digest(&[b], &db, 1).unwrap();
    let err = load_run(&[da, db], None).unwrap_err().to_string();
    assert!(err.contains("different scenarios"), "{err}");
    // reports of two runs: their times do not overlap
    let err = load_run(
        &[
            "fixtures/goose/monitoring-30u-reqlog-csv/report.json".into(),
            "fixtures/goose/configaudit-30u/report.json".into(),
        ],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("do not overlap"), "{err}");
}

#[test]
fn the_csv_and_json_lines_logs_of_one_run_are_refused_not_counted_twice() {
    // the converted JSON Lines file holds the first 60 rows of the real CSV
    // log: the same requests in the other format
    let csv = std::fs::read_to_string(LOG).unwrap();
    let first_60: String = csv.lines().take(61).map(|l| format!("{l}\n")).collect();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (
        tmp.path().join("requests.csv"),
        tmp.path().join("requests.json"),
    );
    std::fs::write(&a, first_60).unwrap();
    std::fs::copy(
        "fixtures/goose/converted/requests_converted_from_csv.jsonl",
        &b,
    )
    .unwrap();
    let alone = load_run(std::slice::from_ref(&a), None).unwrap();
    assert_eq!(alone.total.requests, 60);
    assert_refused_naming_both(&a, &b, "holds the same 60 requests");
    // through the command: bad input, exit 2, not a verdict
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_perfreport"))
        .args(["gate", "--stats"])
        .arg(&a)
        .arg("--stats")
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // a copy of one log in another folder is the same requests too
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(&a, copy.join("requests.csv")).unwrap();
    let err = load_run(&[a, copy.join("requests.csv")], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds the same 60 requests"), "{err}");
}

#[test]
fn a_digest_whose_histograms_disagree_with_its_counts_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d.hlog");
    perfreport::app::digest(&[PathBuf::from(LOG)], &out, 1).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    // drop one endpoint's histogram line
    let cut: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("Tag=GET:/api/v1/downloads/queue,"))
        .collect();
    let bad = tmp.path().join("cut.hlog");
    std::fs::write(&bad, cut.join("\n")).unwrap();
    let err = load_run(&[bad], None).unwrap_err().to_string();
    assert!(err.contains("no interval is tagged"), "{err}");
}

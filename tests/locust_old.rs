//! Real output of old Locust versions (2.8.6 and 1.6.0, made for this test:
//! `fixtures/locust_old/README.md`), read through the library and checked
//! against the files' own numbers, which the test reads with a plain CSV reader.
//!
//! What these versions do differently (`../shared/formats/locust.md` §10): a
//! 4-column failures file (no First/Last Seen), `str(exc)` error texts with
//! absolute URLs and connection errors, `190.0`-style medians, a history
//! whose last seconds are missing, CRLF line ends.

mod common;

use assert_cmd::Command;
use common::{check_row, find, num, records};
use perfreport::input::load_run;
use perfreport::model::{Run, failures_by_status};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const RUNS: [&str; 3] = [
    "fixtures/locust_old/locust286_mixed_u20_30s",
    "fixtures/locust_old/locust160_mixed_u20_30s",
    "fixtures/locust_old/locust160_server_killed_u10_15s",
];

fn file(dir: &str, suffix: &str) -> PathBuf {
    let name = Path::new(dir).file_name().unwrap().to_string_lossy();
    Path::new(dir).join(format!("{name}{suffix}"))
}

fn stats_csv(dir: &str) -> PathBuf {
    file(dir, "_stats.csv")
}

fn load(dir: &str) -> Run {
    load_run(&[stats_csv(dir)], None).unwrap()
}

fn is_aggregated(m: &HashMap<String, String>) -> bool {
    (m["Type"].is_empty() || m["Type"] == "None") && m["Name"] == "Aggregated"
}

#[test]
fn the_old_files_are_what_the_tests_are_about() {
    for dir in RUNS {
        // CRLF everywhere, as Locust's csv module writes it
        for suffix in ["_stats.csv", "_stats_history.csv", "_failures.csv"] {
            let text = std::fs::read_to_string(file(dir, suffix)).unwrap();
            assert!(text.contains("\r\n"), "{dir}{suffix} has CRLF");
        }
        let mut r = csv::Reader::from_path(file(dir, "_failures.csv")).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, ["Method", "Name", "Error", "Occurrences"], "{dir}");
    }
    // 1.x/2.8 medians of buckets >= 100 ms are written as floats
    let medians: Vec<String> = RUNS
        .iter()
        .flat_map(|d| records(stats_csv(d)))
        .map(|m| m["Median Response Time"].clone())
        .collect();
    assert!(medians.iter().any(|m| m.ends_with(".0")), "{medians:?}");
}

#[test]
fn stats_rows_reproduce_the_csvs_own_numbers() {
    for dir in RUNS {
        let run = load(dir);
        let rows = records(stats_csv(dir));
        let agg = rows.iter().find(|m| is_aggregated(m)).unwrap();
        check_row(&run.total, agg, &format!("{dir} Aggregated"));
        // two endpoints: the most and the least requested
        let mut eps: Vec<&HashMap<String, String>> =
            rows.iter().filter(|m| !is_aggregated(m)).collect();
        eps.sort_by_key(|m| m["Request Count"].parse::<u64>().unwrap());
        for row in [eps[0], eps[eps.len() - 1]] {
            let e = find(&run, &row["Type"], &row["Name"]);
            check_row(e, row, &format!("{dir} {}", row["Name"]));
        }
        assert_eq!(run.endpoints.len(), rows.len() - 1, "{dir}");
        // Locust's Requests/s is requests over the run's length
        let d = run.duration_s.unwrap();
        let expected = num(agg, "Request Count") / num(agg, "Requests/s");
        assert!((d - expected).abs() < 1e-6, "{dir} duration {d}");
    }
}

/// The status an old-style (`str(exc)`) error text stands for, parsed here on
/// its own: a leading `NNN ` is the HTTP status; requests' connection errors
/// (`HTTPConnectionPool(...)`, `('Connection aborted.', ...)`) are 0.
fn status_of(error: &str) -> Option<u16> {
    let head = error.get(..4).unwrap_or("");
    if head.ends_with(' ') && head[..3].bytes().all(|b| b.is_ascii_digit()) {
        return head[..3].parse().ok();
    }
    if error.contains("Connection refused")
        || error.contains("Connection aborted")
        || error.starts_with("HTTPConnectionPool(")
    {
        return Some(0);
    }
    None
}

#[test]
fn failures_get_their_status_from_the_old_error_texts() {
    let mut absolute_urls = 0;
    let mut connection_errors = 0;
    for dir in RUNS {
        let run = load(dir);
        let rows = records(file(dir, "_failures.csv"));
        let mut expected: BTreeMap<Option<u16>, u64> = BTreeMap::new();
        for row in &rows {
            let status = status_of(&row["Error"]);
            assert!(status.is_some(), "{dir}: unparsed {}", row["Error"]);
            assert!(!row["Error"].starts_with("HTTPError("), "str, not repr");
            *expected.entry(status).or_insert(0) += num(row, "Occurrences") as u64;
            if row["Error"].contains("for url: http://") {
                absolute_urls += 1;
            }
            if status == Some(0) {
                connection_errors += 1;
            }
        }
        assert_eq!(failures_by_status(&run.failures), expected, "{dir}");
        assert_eq!(run.failures.len(), rows.len(), "{dir}");
        // every failure of these runs is in the failures file
        let agg = records(stats_csv(dir))
            .into_iter()
            .find(is_aggregated)
            .unwrap();
        let occurrences: u64 = expected.values().sum();
        assert_eq!(occurrences as f64, num(&agg, "Failure Count"), "{dir}");
        for f in &run.failures {
            assert_eq!(f.first_seen, None, "{dir}: no First Seen column");
            assert_eq!(f.last_seen, None, "{dir}: no Last Seen column");
            // the error text is kept as written, commas and quotes included
            assert!(rows.iter().any(|r| r["Error"] == f.error), "{}", f.error);
        }
    }
    assert!(absolute_urls >= 1, "a 1.6.0 error with an absolute URL");
    assert!(connection_errors >= 1, "a connection error row");
}

#[test]
fn the_history_gives_timeline_and_peak_users_though_its_tail_is_missing() {
    for dir in RUNS {
        let run = load(dir);
        let hist: Vec<HashMap<String, String>> = records(file(dir, "_stats_history.csv"))
            .into_iter()
            .filter(is_aggregated)
            .collect();
        assert_eq!(run.timeline.len(), hist.len(), "{dir}");
        let first = &hist[0];
        let last = &hist[hist.len() - 1];
        assert_eq!(run.started, Some(num(first, "Timestamp")), "{dir}");
        let peak = hist
            .iter()
            .map(|m| num(m, "User Count") as u64)
            .max()
            .unwrap();
        assert_eq!(run.peak_users, Some(peak), "{dir}");
        for (p, m) in run.timeline.iter().zip(&hist) {
            assert_eq!(p.t, num(m, "Timestamp"));
            assert_eq!(p.users, Some(num(m, "User Count") as u64));
            assert_eq!(p.total_requests, Some(num(m, "Total Request Count") as u64));
        }
        // the last seconds are missing from the history: the stats CSV has more
        let agg = records(stats_csv(dir))
            .into_iter()
            .find(is_aggregated)
            .unwrap();
        assert!(num(last, "Total Request Count") < num(&agg, "Request Count"));
        // so the run ends where Request Count / Requests/s says, after the last tick
        let end = num(first, "Timestamp") + num(&agg, "Request Count") / num(&agg, "Requests/s");
        let ended = run.ended.unwrap();
        assert!(ended > num(last, "Timestamp"), "{dir} ended {ended}");
        assert!((ended - end).abs() < 1e-6, "{dir} ended {ended} vs {end}");
        assert!(
            run.provenance.iter().any(|p| p.contains("history")),
            "{dir}: {:?}",
            run.provenance
        );
    }
}

#[test]
fn the_peak_users_are_the_runs_settings() {
    // -u 20 / -u 10 in each MANIFEST.md
    assert_eq!(load(RUNS[0]).peak_users, Some(20));
    assert_eq!(load(RUNS[1]).peak_users, Some(20));
    assert_eq!(load(RUNS[2]).peak_users, Some(10));
}

#[test]
fn render_fills_the_report_from_each_old_stats_csv() {
    for dir in RUNS {
        let path = stats_csv(dir);
        let out = Command::cargo_bin("perfreport")
            .unwrap()
            .args(["render", "--stats"])
            .arg(&path)
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(!text.contains("TBD"), "{dir}");
        assert!(!text.contains("To be"), "{dir}");
        let agg = records(&path).into_iter().find(is_aggregated).unwrap();
        assert!(
            text.contains(&format!("Median Response Time: {} ms", agg["50%"])),
            "{dir}"
        );
        assert!(
            text.contains(&format!("95th Percentile: {} ms", agg["95%"])),
            "{dir}"
        );
    }
}

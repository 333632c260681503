//! Consistency checks: every real run passes them, and truncated or
//! self-contradictory copies fail them with the file and line. Expected values
//! are computed here from the raw files.

mod common;

use perfreport::input::load_run;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn run_dirs(parent: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(parent))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.join("MANIFEST.md").is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_real_fixture_passes_the_consistency_checks() {
    let mut checked = 0;
    for dir in run_dirs("fixtures/locust")
        .into_iter()
        .chain(run_dirs("fixtures/locust_old"))
    {
        let csv = files_in(&dir, "_stats.csv");
        let json: Vec<PathBuf> = files_in(&dir, ".json");
        assert_eq!(csv.len(), 1, "{}", dir.display());
        let mut combos = vec![csv.clone()];
        if let Some(j) = json.first() {
            combos.push(vec![j.clone()]);
            combos.push(vec![csv[0].clone(), j.clone()]);
        }
        for paths in combos {
            if let Err(e) = load_run(&paths, None) {
                panic!("{paths:?} rejected: {e}");
            }
            checked += 1;
        }
    }
    for dir in run_dirs("fixtures/goose") {
        let report = dir.join("report.json");
        let mut combos = vec![vec![report.clone()]];
        for log in ["requests.csv", "requests.json"] {
            let log = dir.join(log);
            if log.is_file() {
                combos.push(vec![log.clone()]);
                combos.push(vec![report.clone(), log]);
            }
        }
        for paths in combos {
            if let Err(e) = load_run(&paths, None) {
                panic!("{paths:?} rejected: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} inputs found");
}

/// A stats CSV cut at any byte is refused: either its last row lacks its
/// newline, or the Aggregated row that Locust always writes last is missing.
#[test]
fn a_stats_csv_cut_anywhere_is_refused() {
    let real =
        root().join("fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv");
    let bytes = std::fs::read(&real).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut_stats.csv");
    std::fs::write(&cut, &bytes).unwrap();
    assert!(load_run(std::slice::from_ref(&cut), None).is_ok());
    for len in 1..bytes.len() {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        if let Ok(run) = load_run(std::slice::from_ref(&cut), None) {
            panic!(
                "cut at byte {len} of {} read as a run of {} requests",
                bytes.len(),
                run.total.requests
            );
        }
    }
}

/// The same for Goose's report.json (at a stride: each parse reads ~50 KB).
#[test]
fn a_goose_report_cut_anywhere_is_refused() {
    let real = root().join("fixtures/goose/mixed-baseline-40u/report.json");
    let bytes = std::fs::read(&real).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("report.json");
    for len in (1..bytes.len() - 2).step_by(211) {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        assert!(
            load_run(std::slice::from_ref(&cut), None).is_err(),
            "cut at byte {len} accepted"
        );
    }
}

/// The Aggregated row's count must be the sum of the rows: the error names
/// the Aggregated row's line and both numbers, computed here from the raw CSV.
#[test]
fn an_aggregated_row_that_disagrees_names_its_line_and_both_counts() {
    let real =
        root().join("fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv");
    let rows = common::records(&real);
    let sum: u64 = rows[..rows.len() - 1]
        .iter()
        .map(|r| r["Request Count"].parse::<u64>().unwrap())
        .sum();
    let text = std::fs::read_to_string(&real).unwrap();
    let agg_line = text.lines().count(); // the last line
    let agg = rows.last().unwrap()["Request Count"].clone();
    let bumped = (agg.parse::<u64>().unwrap() + 7).to_string();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let last = lines.last_mut().unwrap();
    *last = last.replacen(
        &format!(",Aggregated,{agg},"),
        &format!(",Aggregated,{bumped},"),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("agg_stats.csv");
    std::fs::write(&p, lines.join("\r\n") + "\r\n").unwrap();
    let err = load_run(&[p], None).unwrap_err().to_string();
    assert!(err.contains("agg_stats.csv"), "{err}");
    assert!(err.contains(&format!("line {agg_line}:")), "{err}");
    assert!(
        err.contains(&format!("Request Count {bumped} but the rows sum to {sum}")),
        "{err}"
    );
}

/// `--reset-stats` zeroes Locust's counts once, at the end of ramp-up: that
/// history is read (and said); a count that dips by a little is refused.
#[test]
fn a_history_reset_once_is_read_and_a_small_dip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let head = "Type,Name,Request Count,Failure Count,Median Response Time,\
                Average Response Time,Min Response Time,Max Response Time,\
                Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
    let pcts = "110,120,130,140,200,300,350,400,400,400,400";
    let stats = format!(
        "{head}\r\nGET,/a,100,0,110.0,120,10,400,5,4.0,0.0,{pcts}\r\n\
         ,Aggregated,100,0,110.0,120,10,400,5,4.0,0.0,{pcts}\r\n"
    );
    std::fs::write(dir.path().join("r_stats.csv"), stats).unwrap();
    let hist_head = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,\
                     99%,100%,Total Request Count,Total Failure Count";
    let history = |counts: &[u64]| {
        let mut s = format!("{hist_head}\r\n");
        for (i, n) in counts.iter().enumerate() {
            s.push_str(&format!(
                "{},5,,Aggregated,4,0,110,300,400,400,{n},0\r\n",
                1000 + i
            ));
        }
        s
    };
    let stats_path = dir.path().join("r_stats.csv");
    std::fs::write(
        dir.path().join("r_stats_history.csv"),
        history(&[0, 40, 80, 4, 8, 100]),
    )
    .unwrap();
    let run = load_run(std::slice::from_ref(&stats_path), None).unwrap();
    assert!(
        run.provenance.iter().any(|p| p.contains("--reset-stats")),
        "{:?}",
        run.provenance
    );
    // 80 then 75: rows out of order, not a reset (line 5 is the 4th tick)
    std::fs::write(
        dir.path().join("r_stats_history.csv"),
        history(&[0, 40, 80, 75, 100]),
    )
    .unwrap();
    let err = load_run(std::slice::from_ref(&stats_path), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("r_stats_history.csv: line 5:"), "{err}");
    assert!(
        err.contains("goes backwards, from 80 on line 4 to 75"),
        "{err}"
    );
    // a second reset is refused too
    std::fs::write(
        dir.path().join("r_stats_history.csv"),
        history(&[0, 40, 80, 4, 60, 2, 100]),
    )
    .unwrap();
    assert!(load_run(&[stats_path], None).is_err());
}

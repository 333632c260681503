//! A long `--csv-full-history` stats history (issue 15), generated here: 2
//! hours x 5 endpoints (plus one whose name holds a quoted newline), CRLF
//! like Locust. The history is streamed, not read whole; the windowed
//! figures must be those computed in this file from the raw CSV text, the
//! whole-file size limit must not apply to it, and errors deep in the file
//! must still name their line.

mod common;

use assert_cmd::Command;
use perfreport::targets::{self, Outcome, State};
use perfreport::{analysis, input};
use std::path::{Path, PathBuf};

const SECONDS: u64 = 7200;
const T0: u64 = 1_795_792_370;
const PCT_COLS: &str = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// Deterministic noise in 0..n (an LCG on the second and the row).
fn noise(s: u64, i: u64, n: u64) -> u64 {
    (s.wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(i.wrapping_mul(1_442_695_040_888_963_407))
        >> 33)
        % n
}

/// Users: ramp from 0 to 40 over 120 s, hold, then 0 for the last 60 s.
fn users(s: u64) -> u64 {
    if s >= SECONDS - 60 {
        0
    } else {
        (s * 40 / 120).min(40)
    }
}

/// Writes `dir/long_stats.csv` and `dir/long_stats_history.csv`; returns the stats path.
fn generate(dir: &Path) -> PathBuf {
    let names = [
        "/a",
        "/b",
        "/c",
        "/d",
        "/e",
        "\"/multi\nline\"", // quoted, as csv.writer does: one record over two lines
    ];
    let mut hist = format!(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PCT_COLS},Total Request Count,\
         Total Failure Count,Total Median Response Time,Total Average Response Time,\
         Total Min Response Time,Total Max Response Time,Total Average Content Size\r\n"
    );
    let mut totals = [0u64; 6];
    let mut fails = [0u64; 6];
    for s in 0..SECONDS {
        let t = T0 + s;
        let u = users(s);
        let mut sum_rate = 0u64;
        let mut sum_fail = 0u64;
        for (i, name) in names.iter().enumerate() {
            let rate = if u == 0 { 0 } else { 1 + noise(s, i as u64, 9) };
            let failed = u64::from(rate > 0 && noise(s, 100 + i as u64, 50) == 0);
            totals[i] += rate;
            fails[i] += failed;
            sum_rate += rate;
            sum_fail += failed;
            let p50 = 20 + noise(s, 10 + i as u64, 30);
            let cells = pcts_cells(rate > 0, p50, s > 10);
            hist.push_str(&format!(
                "{t},{u},GET,{name},{rate},{failed},{cells},{},{},20,25.5,3,400,100\r\n",
                totals[i], fails[i]
            ));
        }
        // a slow drift (so that windows differ) plus noise
        let p50 = 30 + (s / 700) % 5 * 10 + noise(s, 99, 10);
        let cells = pcts_cells(sum_rate > 0, p50, s > 10);
        hist.push_str(&format!(
            "{t},{u},,Aggregated,{sum_rate},{sum_fail},{cells},{},{},20,25.5,3,400,100\r\n",
            totals.iter().sum::<u64>(),
            fails.iter().sum::<u64>()
        ));
    }
    std::fs::write(dir.join("long_stats_history.csv"), hist).unwrap();
    // the stats CSV: every rate is its count over one duration (the run's)
    let duration = (SECONDS - 60) as f64;
    let mut stats = format!(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{PCT_COLS}\r\n"
    );
    let row = |kind: &str, name: &str, n: u64, f: u64| {
        format!(
            "{kind},{name},{n},{f},40,45.5,3,400,100,{},{},40,45,50,55,70,90,120,150,300,390,400\r\n",
            n as f64 / duration,
            f as f64 / duration
        )
    };
    for (i, name) in names.iter().enumerate() {
        stats.push_str(&row("GET", name, totals[i], fails[i]));
    }
    stats.push_str(&row(
        "",
        "Aggregated",
        totals.iter().sum(),
        fails.iter().sum(),
    ));
    let path = dir.join("long_stats.csv");
    std::fs::write(&path, stats).unwrap();
    path
}

/// Percentile cells: `N/A` without requests, `0` before Locust has a ~10 s
/// window cached, else rising from `p50`.
fn pcts_cells(requests: bool, p50: u64, cached: bool) -> String {
    if !requests {
        return ["N/A"; 11].join(",");
    }
    if !cached {
        return ["0"; 11].join(",");
    }
    [0, 5, 10, 15, 30, 50, 80, 110, 260, 350, 360]
        .iter()
        .map(|d| (p50 + d).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One Aggregated tick, read from the raw text with a plain split (the
/// Aggregated rows hold no quotes).
struct Tick {
    t: f64,
    users: u64,
    rps: f64,
    p95: Option<f64>,
    total: f64,
}

fn ticks(history: &Path) -> Vec<Tick> {
    let text = std::fs::read_to_string(history).unwrap();
    let mut lines = text.split("\r\n");
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (ct, cu, cn, cr, c95, ctot) = (
        col("Timestamp"),
        col("User Count"),
        col("Name"),
        col("Requests/s"),
        col("95%"),
        col("Total Request Count"),
    );
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c.len() > cn && c[cn] == "Aggregated")
        .map(|c| Tick {
            t: c[ct].parse().unwrap(),
            users: c[cu].parse().unwrap(),
            rps: c[cr].parse().unwrap(),
            // `0` is no cached window yet, N/A no requests
            p95: c[c95].parse::<f64>().ok().filter(|v| *v > 0.0),
            total: c[ctot].parse().unwrap(),
        })
        .collect()
}

/// [`common::laid_windows`] over these ticks.
fn laid_windows(ticks: &[Tick], over: f64) -> Vec<(f64, f64)> {
    let ticks: Vec<(f64, u64)> = ticks.iter().map(|t| (t.t, t.users)).collect();
    common::laid_windows(&ticks, over)
}

fn evaluate(stats: &Path, exprs: &[&str]) -> Vec<Outcome> {
    let run = input::load_run(&[stats.to_path_buf()], None).unwrap();
    let parsed =
        targets::parse_all(&exprs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let ts: Vec<targets::Target> = parsed
        .into_iter()
        .map(|e| targets::Target::new(e.text.clone(), e))
        .collect();
    targets::evaluate(&run, &ts, None).outcomes
}

#[test]
fn a_long_full_history_gives_the_windowed_figures_of_its_raw_rows() {
    let dir = tempfile::tempdir().unwrap();
    let stats = generate(dir.path());
    let ticks = ticks(&dir.path().join("long_stats_history.csv"));
    assert_eq!(ticks.len() as u64, SECONDS);

    // p95 over 5 min: per window, the largest ~10 s p95 Locust wrote at a
    // tick at least 10 s after the window's start
    let w5 = laid_windows(&ticks, 300.0);
    let p95s: Vec<f64> = w5
        .iter()
        .map(|&(s, e)| {
            ticks
                .iter()
                .filter(|k| k.t >= s + 10.0 && k.t <= e)
                .filter_map(|k| k.p95)
                .fold(0.0, f64::max)
        })
        .collect();
    let worst = p95s.iter().copied().fold(0.0, f64::max);
    let best = p95s.iter().copied().fold(f64::MAX, f64::min);
    let first_over_best = p95s.iter().position(|v| *v > best).unwrap();
    // rps over 10 min: the cumulative count difference over each window
    let w10 = laid_windows(&ticks, 600.0);
    let at = |t: f64| ticks.iter().find(|k| k.t == t).unwrap().total;
    let rates: Vec<f64> = w10
        .iter()
        .map(|&(s, e)| (at(e) - at(s)) / (e - s))
        .collect();
    let lowest = rates.iter().copied().fold(f64::MAX, f64::min);
    let highest = rates.iter().copied().fold(0.0, f64::max);
    let first_below_highest = rates.iter().position(|r| *r < highest).unwrap();

    let out = evaluate(
        &stats,
        &[
            &format!("p95<{}ms over 300s", worst + 1.0),
            &format!("p95<={best}ms over 300s"),
            "rps>=1 over 600s",
            &format!("rps>={highest} over 600s"),
        ],
    );
    assert_eq!(out[0].state, State::Met, "{}", out[0].detail);
    assert_eq!(out[0].measured, Some(worst), "the worst window is shown");
    assert_eq!(out[1].state, State::Missed, "{}", out[1].detail);
    assert_eq!(out[1].measured, Some(p95s[first_over_best]));
    let broken = p95s.iter().filter(|v| **v > best).count();
    assert!(
        out[1]
            .detail
            .contains(&format!("{broken} of {} windows", w5.len())),
        "{}",
        out[1].detail
    );
    assert_eq!(out[2].state, State::Met, "{}", out[2].detail);
    assert!((out[2].measured.unwrap() - lowest).abs() < 1e-9);
    assert_eq!(out[3].state, State::Missed, "{}", out[3].detail);
    assert!((out[3].measured.unwrap() - rates[first_below_highest]).abs() < 1e-9);

    // the steady window and its sustained rate, from the same ticks
    let run = input::load_run(std::slice::from_ref(&stats), None).unwrap();
    let sustained = analysis::steady::sustained_rps(&run).unwrap();
    let (s, e) = (w5[0].0, w5.last().unwrap().1);
    assert_eq!(sustained.window.map(|w| (w.start, w.end)), Some((s, e)));
    assert!((sustained.rps - (at(e) - at(s)) / (e - s)).abs() < 1e-9);
    // the timeline keeps the Aggregated ticks and nothing of the endpoint rows
    assert_eq!(run.timeline.len(), ticks.len());
    let mean_rps = |v: &mut dyn Iterator<Item = f64>| v.sum::<f64>() / ticks.len() as f64;
    assert_eq!(
        mean_rps(&mut run.timeline.iter().map(|p| p.rps.unwrap())),
        mean_rps(&mut ticks.iter().map(|k| k.rps))
    );

    // gzipped, the same figures
    let gz_dir = tempfile::tempdir().unwrap();
    let gz_stats = gz_dir.path().join("long_stats.csv");
    std::fs::copy(&stats, &gz_stats).unwrap();
    let raw = std::fs::read(dir.path().join("long_stats_history.csv")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &raw).unwrap();
    std::fs::write(
        gz_dir.path().join("long_stats_history.csv"),
        enc.finish().unwrap(),
    )
    .unwrap();
    let gz_out = evaluate(
        &gz_stats,
        &[
            &format!("p95<{}ms over 300s", worst + 1.0),
            "rps>=1 over 600s",
        ],
    );
    assert_eq!(gz_out[0].measured, out[0].measured);
    assert_eq!(gz_out[1].measured, out[2].measured);
}

/// `perfreport` with no GitHub Actions environment inherited from the machine.
fn perfreport() -> Command {
    let mut c = Command::cargo_bin("perfreport").unwrap();
    c.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove(input::MAX_INPUT_ENV)
        .env_remove("NO_COLOR");
    c
}

#[test]
fn a_streamed_history_is_not_held_to_the_whole_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let stats = generate(dir.path());
    let size = std::fs::metadata(dir.path().join("long_stats_history.csv"))
        .unwrap()
        .len();
    assert!(size > 2 << 20, "{size} bytes");
    // a 1 MiB limit is over the stats CSV, under the history
    perfreport()
        .args(["--max-input-size", "1M", "gate", "--stats"])
        .arg(&stats)
        .args(["--target", "rps>=1 over 600s"])
        .assert()
        .code(0);
    // ... but each record is held to the line-length limit
    perfreport()
        .args(["--max-line-length", "1k", "gate", "--stats"])
        .arg(&stats)
        .args(["--target", "rps>=1 over 600s"])
        .assert()
        .code(0);
    let mut text = std::fs::read_to_string(dir.path().join("long_stats_history.csv")).unwrap();
    let at = text.find("\r\n").unwrap() + 2 + 5000;
    let at = at + text[at..].find("\r\n").unwrap() + 2;
    let line = text[..at].matches('\n').count() + 1;
    text.insert_str(at, &format!("{}\r\n", "x".repeat(2 << 20)));
    std::fs::write(dir.path().join("long_stats_history.csv"), text).unwrap();
    perfreport()
        .args(["--max-line-length", "1M", "gate", "--stats"])
        .arg(&stats)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "long_stats_history.csv: line {line}"
        )))
        .stderr(predicates::str::contains("raise it with --max-line-length"));
}

#[test]
fn an_error_deep_in_a_streamed_history_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let stats = generate(dir.path());
    let path = dir.path().join("long_stats_history.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // the Aggregated row of second 5000, several MiB into the file (past the
    // quoted newlines of every second before it)
    let needle = format!("{},{},,Aggregated,", T0 + 5000, users(5000));
    let at = text.find(&needle).unwrap();
    let line = text[..at].matches('\n').count() + 1;
    assert!(at > 3 << 20, "{at}");
    let bad = text.replacen(
        &needle,
        &format!("{},{},,Aggregated,x1", T0 + 5000, users(5000)),
        1,
    );
    // `x1` then the original rate: one cell, not a number
    std::fs::write(&path, bad).unwrap();
    let err = input::load_run(std::slice::from_ref(&stats), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("long_stats_history.csv: line {line}, column 5"))
            && err.contains("`Requests/s`: expected a number"),
        "{err}"
    );

    // cut mid-row: the line of the cut row, as for a file read whole
    let cut = &text[..text.len() - 7];
    std::fs::write(&path, cut).unwrap();
    let line = cut.matches('\n').count() + 1;
    let err = input::load_run(&[stats], None).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "line {line}: the last row does not end with a newline"
        )),
        "{err}"
    );
}

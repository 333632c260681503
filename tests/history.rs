//! The run history: `record`, `gate --record`, `--baseline db:...`,
//! `history`, the Trend section, and the database's robustness (concurrent
//! writers, newer schema, foreign files). Expected figures are computed here
//! from the raw fixtures.

mod common;
use common::files_in;

use assert_cmd::Command;
use perfreport::history::sqlite::SqliteStore;
use perfreport::history::{DbSpec, Filter, Labels, RecordedRun, RunStore};
use perfreport::input;
use perfreport::latency::Percentile;
use perfreport::output::files::InputSet;
use predicates::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BASE: &str = "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s";
const AFTER: &str = "fixtures/locust/mixed_after_u50_90s/mixed_after_u50_90s";

fn perfreport() -> Command {
    let mut c = Command::cargo_bin("perfreport").unwrap();
    // labels must come from the flags a test gives, not from the CI running it
    for k in [
        "GITHUB_REF_NAME",
        "GITHUB_SHA",
        "GITHUB_SERVER_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_RUN_ID",
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
        "CI_COMMIT_REF_NAME",
        "CI_COMMIT_SHA",
        "CI_JOB_URL",
    ] {
        c.env_remove(k);
    }
    c
}

fn json_of(run: &str) -> String {
    format!("{run}.json")
}

fn csv_of(run: &str) -> String {
    format!("{run}_stats.csv")
}

/// Locust's JSON entries: (method, name, num_requests, num_failures, histogram, timed count).
type Entry = (String, String, u64, u64, BTreeMap<u64, u64>, u64);

fn json_entries(path: &str) -> Vec<Entry> {
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    entries
        .iter()
        .map(|e| {
            let mut h = BTreeMap::new();
            for (k, v) in e["response_times"].as_object().unwrap() {
                *h.entry(k.parse::<f64>().unwrap() as u64).or_default() += v.as_u64().unwrap();
            }
            let n = e["num_requests"].as_u64().unwrap();
            (
                e["method"].as_str().unwrap_or("").to_string(),
                e["name"].as_str().unwrap().to_string(),
                n,
                e["num_failures"].as_u64().unwrap(),
                h,
                n - e["num_none_requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Locust's rule (locust/stats.py `calculate_response_time_percentile`), written again here.
fn locust_rule(hist: &BTreeMap<u64, u64>, n: u64, q: f64) -> f64 {
    let k = (n as f64 * q) as u64;
    let mut done = 0;
    for (b, c) in hist.iter().rev() {
        done += c;
        if n - done <= k {
            return *b as f64;
        }
    }
    0.0
}

/// The whole run's histogram: every entry's buckets together.
fn merged(entries: &[Entry]) -> (BTreeMap<u64, u64>, u64) {
    let mut h = BTreeMap::new();
    let mut n = 0;
    for e in entries {
        for (k, v) in &e.4 {
            *h.entry(*k).or_default() += v;
        }
        n += e.5;
    }
    (h, n)
}

fn store_and_read_back(paths: &[&str]) -> (perfreport::Run, perfreport::Run) {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let run = input::load_run(&paths, None).unwrap();
    let rec = RecordedRun::from_run(&run, None, None, Labels::default(), 1.0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let mut store = SqliteStore::open_for_writing(&db, &InputSet::new()).unwrap();
    store.record(&rec).unwrap();
    let back = store.query(&Filter::default()).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].id, Some(1));
    let rebuilt = back[0].to_run(&db).unwrap();
    (run, rebuilt)
}

#[test]
fn a_recorded_locust_run_reads_back_with_locusts_own_percentiles_per_endpoint() {
    let json = json_of(BASE);
    let (_, back) = store_and_read_back(&[&json]);
    let entries = json_entries(&json);
    assert_eq!(back.endpoints.len(), entries.len());
    for (method, name, requests, failures, hist, timed) in &entries {
        let e = back
            .endpoints
            .iter()
            .find(|e| &e.kind == method && &e.name == name)
            .unwrap_or_else(|| panic!("{method} {name} not read back"));
        assert_eq!(e.requests, *requests, "{name}");
        assert_eq!(e.failures, *failures, "{name}");
        for q in [0.5, 0.9, 0.95, 0.99, 1.0] {
            assert_eq!(
                e.latency.percentile(q * 100.0),
                Percentile::Value(locust_rule(hist, *timed, q)),
                "{name} q={q}"
            );
        }
    }
    let (h, n) = merged(&entries);
    assert_eq!(
        back.total.requests,
        entries.iter().map(|e| e.2).sum::<u64>()
    );
    for q in [0.5, 0.95, 0.99] {
        assert_eq!(
            back.total.latency.percentile(q * 100.0),
            Percentile::Value(locust_rule(&h, n, q))
        );
    }
}

#[test]
fn goose_buckets_and_exact_request_times_read_back_with_the_same_percentiles() {
    for paths in [
        vec!["fixtures/goose/mixed-baseline-40u/report.json"],
        vec!["fixtures/goose/monitoring-30u-reqlog-csv/requests.csv"],
    ] {
        let (run, back) = store_and_read_back(&paths);
        let pairs = std::iter::once((&run.total, &back.total))
            .chain(run.endpoints.iter().zip(&back.endpoints));
        for (a, b) in pairs {
            assert_eq!((&a.kind, &a.name), (&b.kind, &b.name));
            assert_eq!(a.requests, b.requests, "{paths:?} {}", a.name);
            assert_eq!(a.latency.count, b.latency.count);
            for p in [0.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
                let v = a.latency.percentile(p);
                assert!(
                    matches!(v, Percentile::Value(_)),
                    "{paths:?} {} p{p}",
                    a.name
                );
                assert_eq!(v, b.latency.percentile(p), "{paths:?} {} p{p}", a.name);
            }
        }
    }
}

#[test]
fn db_specs_parse_their_filters_and_refuse_unknown_ones() {
    let s = DbSpec::parse("db:runs/perf.db?branch=main&last=5&passing").unwrap();
    assert_eq!(s.path, PathBuf::from("runs/perf.db"));
    assert_eq!(
        s.filter,
        Filter {
            branch: Some("main".into()),
            last: Some(5),
            passing: true
        }
    );
    assert_eq!(DbSpec::parse("db:x.db").unwrap().filter, Filter::default());
    for bad in [
        "db:x.db?lats=3",
        "db:x.db?last=0",
        "db:x.db?last=many",
        "db:",
        "x.db",
    ] {
        assert!(DbSpec::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn labels_default_from_the_ci_environment_and_flags_win() {
    let env: BTreeMap<&str, &str> = [
        ("GITHUB_REF_NAME", "main"),
        ("GITHUB_SHA", "abc123"),
        ("GITHUB_SERVER_URL", "https://github.example"),
        ("GITHUB_REPOSITORY", "team/app"),
        ("GITHUB_RUN_ID", "42"),
        ("CI_COMMIT_REF_NAME", "gitlab-branch"),
    ]
    .into();
    let get = |k: &str| env.get(k).map(|v| v.to_string());
    let l = Labels::with_ci_defaults(None, None, None, &["env=staging".into()], get).unwrap();
    assert_eq!(l.branch.as_deref(), Some("main"));
    assert_eq!(l.commit.as_deref(), Some("abc123"));
    assert_eq!(
        l.build_url.as_deref(),
        Some("https://github.example/team/app/actions/runs/42")
    );
    assert_eq!(l.tags["env"], "staging");
    let l = Labels::with_ci_defaults(Some("feature".into()), None, None, &[], get).unwrap();
    assert_eq!(l.branch.as_deref(), Some("feature"));
    let gitlab = |k: &str| match k {
        "CI_COMMIT_REF_NAME" => Some("dev".to_string()),
        "CI_JOB_URL" => Some("https://gitlab.example/-/jobs/7".to_string()),
        _ => None,
    };
    let l = Labels::with_ci_defaults(None, None, None, &[], gitlab).unwrap();
    assert_eq!(l.branch.as_deref(), Some("dev"));
    assert_eq!(
        l.build_url.as_deref(),
        Some("https://gitlab.example/-/jobs/7")
    );
    assert!(Labels::with_ci_defaults(None, None, None, &["novalue".into()], gitlab).is_err());
}

fn history_json(db: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = perfreport()
        .args(["history", "--json", "--db"])
        .arg(db)
        .args(extra)
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn record(db: &Path, run: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    perfreport()
        .args([
            "record",
            "--stats",
            &csv_of(run),
            "--stats",
            &json_of(run),
            "--db",
        ])
        .arg(db)
        .args(extra)
        .assert()
}

#[test]
fn record_three_runs_then_history_lists_them_with_their_labels_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    record(
        &db,
        BASE,
        &["--branch", "main", "--commit", "c1", "--tag", "env=ci"],
    )
    .success()
    .stdout(predicate::str::contains("recorded run #1"));
    record(&db, AFTER, &["--branch", "feature", "--commit", "c2"]).success();
    // a loose target: this one's stored verdict passes
    record(
        &db,
        BASE,
        &[
            "--branch",
            "main",
            "--commit",
            "c3",
            "--target",
            "p99<5s",
            "--target",
            "rps>1",
            "--target",
            "error_rate<50%",
        ],
    )
    .success();
    let runs = history_json(&db, &[]);
    assert_eq!(runs.len(), 3);
    let ids: Vec<i64> = runs.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3]);
    for (r, run, branch) in [(&runs[0], BASE, "main"), (&runs[1], AFTER, "feature")] {
        let entries = json_entries(&json_of(run));
        let (h, n) = merged(&entries);
        assert_eq!(r["labels"]["branch"], branch);
        assert_eq!(
            r["requests"].as_u64().unwrap(),
            entries.iter().map(|e| e.2).sum::<u64>(),
            "{run}: the JSON's counts (written at shutdown, the more complete source)"
        );
        assert_eq!(
            r["failures"].as_u64().unwrap(),
            entries.iter().map(|e| e.3).sum::<u64>()
        );
        assert_eq!(
            r["p95_ms"].as_f64().unwrap(),
            locust_rule(&h, n, 0.95),
            "{run}"
        );
        assert_eq!(
            r["p99_ms"].as_f64().unwrap(),
            locust_rule(&h, n, 0.99),
            "{run}"
        );
        assert!(r["rps"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(runs[0]["labels"]["tags"]["env"], "ci");
    assert_eq!(runs[0]["labels"]["commit"], "c1");
    // default targets: p99 560 ms misses 500 ms
    assert_eq!(runs[0]["verdict"]["exit_code"], 1);
    assert_eq!(runs[2]["verdict"]["exit_code"], 0);
    assert!(runs[0]["verdict"]["outcomes"]["targets"].is_array());
    // filters
    let main = history_json(&db, &["--branch", "main"]);
    assert_eq!(
        main.iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 3]
    );
    let last = history_json(&db, &["--last", "2"]);
    assert_eq!(
        last.iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );
    let passing = history_json(&db, &["--passing"]);
    assert_eq!(
        passing
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3]
    );
    // the table: one line per run, and the after run's p95 drop is no regression
    let out = perfreport()
        .args(["history", "--db"])
        .arg(&db)
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().nth(2).unwrap().contains("feature"));
}

#[test]
fn gate_against_the_last_three_recorded_runs_and_gate_record_stores_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    for run in [BASE, BASE, BASE] {
        record(&db, run, &["--branch", "main"]).success();
    }
    // three copies of the baseline pool into the baseline's own percentiles:
    // the after run's p95 and p99 are lower, so no latency regression
    let spec = format!("db:{}?last=3&branch=main", db.display());
    let verdict_json = dir.path().join("verdict.json");
    let out = perfreport()
        .args([
            "gate",
            "--stats",
            &csv_of(AFTER),
            "--stats",
            &json_of(AFTER),
        ])
        .arg("--json")
        .arg(&verdict_json)
        .args([
            "--baseline",
            &spec,
            "--record",
            "--branch",
            "feature",
            "--db",
        ])
        .arg(&db)
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let base = json_entries(&json_of(BASE));
    let (h, n) = merged(&base);
    let b95 = locust_rule(&h, n, 0.95);
    assert!(
        text.contains(&format!("{b95:.0} ms")),
        "baseline p95 {b95} not shown:\n{text}"
    );
    // the three recorded runs are three baselines of the statistical
    // comparison (their run-to-run spread measured), not one merged run
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&verdict_json).unwrap()).unwrap();
    let baselines = v["comparison"]["baselines"].as_array().unwrap();
    assert_eq!(baselines.len(), 3, "{v}");
    assert!(
        baselines
            .iter()
            .all(|b| b.as_str().unwrap().contains("recorded run #"))
    );
    let runs = history_json(&db, &[]);
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[3]["labels"]["branch"], "feature");
    assert_eq!(runs[3]["verdict"]["exit_code"], 1);
    // the reverse: the baseline judged against the recorded after runs
    // regresses. With a single recorded run the run-to-run noise is only
    // assumed and the slower endpoints are "too close to call"; two more
    // recordings make three baselines whose spread is measured.
    for _ in 0..2 {
        record(&db, AFTER, &["--branch", "feature"]).success();
    }
    let spec = format!("db:{}?branch=feature", db.display());
    perfreport()
        .args(["gate", "--stats", &json_of(BASE), "--baseline", &spec])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?i)regress").unwrap());
    // nothing matching: a clear error, not a silent pass
    let spec = format!("db:{}?branch=nope", db.display());
    perfreport()
        .args(["gate", "--stats", &json_of(AFTER), "--baseline", &spec])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no recorded runs"));
}

#[test]
fn eight_concurrent_recording_processes_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    let bin = assert_cmd::cargo::cargo_bin("perfreport");
    let children: Vec<std::process::Child> = (0..8)
        .map(|i| {
            std::process::Command::new(&bin)
                .args(["record", "--stats", &json_of(BASE), "--commit"])
                .arg(format!("c{i}"))
                .arg("--db")
                .arg(&db)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs = history_json(&db, &[]);
    assert_eq!(runs.len(), 8);
    let mut commits: Vec<String> = runs
        .iter()
        .map(|r| r["labels"]["commit"].as_str().unwrap().to_string())
        .collect();
    commits.sort();
    assert_eq!(commits, (0..8).map(|i| format!("c{i}")).collect::<Vec<_>>());
}

#[test]
fn a_database_from_a_newer_perfreport_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    record(&db, BASE, &[]).success();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    record(&db, AFTER, &[]).code(2).stderr(
        predicate::str::contains("version 99").and(predicate::str::contains("newer perfreport")),
    );
    perfreport()
        .args(["history", "--db"])
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("newer perfreport"));
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_file_that_is_not_a_run_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let notdb = dir.path().join("notes.db");
    std::fs::write(&notdb, "not a database\n").unwrap();
    record(&notdb, BASE, &[])
        .code(2)
        .stderr(predicate::str::contains("not a SQLite database"));
    assert_eq!(std::fs::read(&notdb).unwrap(), b"not a database\n");
    // another program's SQLite database
    let other = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    record(&other, BASE, &[])
        .code(2)
        .stderr(predicate::str::contains("not a perfreport run database"));
    assert_eq!(std::fs::read(&other).unwrap(), before);
    // the database is an output: never one of the inputs
    let copy = dir.path().join("stats.json");
    std::fs::copy(json_of(BASE), &copy).unwrap();
    perfreport()
        .args(["record", "--stats"])
        .arg(&copy)
        .arg("--db")
        .arg(&copy)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to record into an input"));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(json_of(BASE)).unwrap()
    );
    // a missing database to read from
    perfreport()
        .args(["history", "--db"])
        .arg(dir.path().join("none.db"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such run database"));
    assert!(!dir.path().join("none.db").exists());
}

/// `data-points="x,y x,y"` of the series named `name` in an SVG.
fn data_points(svg: &str, name: &str) -> Vec<(f64, f64)> {
    let key = format!("data-series=\"{name}\"");
    let at = svg.find(&key).unwrap_or_else(|| panic!("no series {name}"));
    let rest = &svg[at..];
    let p = rest.find("data-points=\"").unwrap() + "data-points=\"".len();
    let end = rest[p..].find('"').unwrap();
    rest[p..p + end]
        .split_whitespace()
        .map(|xy| {
            let (x, y) = xy.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

#[test]
fn the_report_shows_the_trend_of_the_recorded_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    for run in [BASE, AFTER, BASE] {
        record(&db, run, &[]).success();
    }
    let html = dir.path().join("report.html");
    perfreport()
        .args(["render", "--stats", &json_of(AFTER), "--history"])
        .arg(format!("db:{}", db.display()))
        .arg("--out")
        .arg(&html)
        .assert()
        .success();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<h2>Trend</h2>") || page.contains(">Trend</h2>"),
        "no Trend section"
    );
    let p95: Vec<f64> = [BASE, AFTER, BASE]
        .iter()
        .map(|r| {
            let (h, n) = merged(&json_entries(&json_of(r)));
            locust_rule(&h, n, 0.95)
        })
        .collect();
    let fig = &page[page.find("id=\"fig-trend\"").expect("trend figure")..];
    let points = data_points(fig, "p95");
    assert_eq!(points, vec![(1.0, p95[0]), (2.0, p95[1]), (3.0, p95[2])]);
    // run 3 is the baseline again after the faster run 2: its p95 rise is marked
    assert!(fig.contains("#3 regressed: p95"), "run 3 not marked");
    // markdown with --out: the trend charts are files linked from the section
    let md = dir.path().join("report.md");
    perfreport()
        .args(["render", "--stats", &json_of(AFTER), "--history"])
        .arg(format!("db:{}?last=2", db.display()))
        .arg("--out")
        .arg(&md)
        .assert()
        .success();
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("## Trend"));
    assert!(
        text.contains("![Trend: latency and throughput](report.trend.svg)"),
        "{text}"
    );
    assert!(dir.path().join("report.trend.svg").exists());
    // the report must not be written over the database it read
    perfreport()
        .args(["render", "--stats", &json_of(AFTER), "--history"])
        .arg(format!("db:{}", db.display()))
        .arg("--out")
        .arg(&db)
        .assert()
        .code(2);
    // without --history the report keeps its structure: no Trend section
    let out = perfreport()
        .args(["render", "--stats", &json_of(AFTER)])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains("## Trend"));
}

#[test]
fn a_saved_model_with_a_trend_renders_the_same_trend_charts_without_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    for run in [BASE, AFTER, BASE] {
        record(&db, run, &[]).success();
    }
    let history = format!("db:{}", db.display());
    let direct = dir.path().join("direct");
    let saved = dir.path().join("saved");
    std::fs::create_dir_all(&direct).unwrap();
    std::fs::create_dir_all(&saved).unwrap();
    for out in ["R.md", "R.html"] {
        perfreport()
            .args(["render", "--stats", &json_of(AFTER), "--history", &history])
            .arg("--out")
            .arg(direct.join(out))
            .assert()
            .success();
    }
    let model = dir.path().join("model.json");
    perfreport()
        .args(["render", "--stats", &json_of(AFTER), "--history", &history])
        .args(["--format", "json", "--out"])
        .arg(&model)
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    // the trend's figures are data in the model: p95 per run as Locust computes it
    let p95: Vec<f64> = [BASE, AFTER, BASE]
        .iter()
        .map(|r| {
            let (h, n) = merged(&json_entries(&json_of(r)));
            locust_rule(&h, n, 0.95)
        })
        .collect();
    let fig = json["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "trend")
        .expect("no trend figure in the model");
    assert_eq!(fig["kind"], "trend");
    let line = fig["chart"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "p95")
        .unwrap();
    let points: Vec<(f64, f64)> = line["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    assert_eq!(points, vec![(1.0, p95[0]), (2.0, p95[1]), (3.0, p95[2])]);
    assert_eq!(json["trend"]["rows"].as_array().unwrap().len(), 3);
    // the database is gone: the saved model alone draws the same report
    std::fs::remove_file(&db).unwrap();
    for out in ["R.md", "R.html"] {
        perfreport()
            .args(["render", "--model"])
            .arg(&model)
            .arg("--out")
            .arg(saved.join(out))
            .assert()
            .success();
    }
    let a = files_in(&direct);
    let b = files_in(&saved);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    assert!(
        names(&a).contains(&"R.trend.svg".to_string()),
        "{:?}",
        names(&a)
    );
    assert!(names(&a).contains(&"R.trend-errors.svg".to_string()));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs when rendered from the saved model");
    }
    // --history with --model: the model already holds its trend
    perfreport()
        .args(["render", "--history", &history, "--model"])
        .arg(&model)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--model alone"));
}

#[test]
fn a_config_names_the_history_relative_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    record(&db, BASE, &[]).success();
    record(&db, AFTER, &[]).success();
    let stats = std::fs::canonicalize(json_of(AFTER)).unwrap();
    let cfg = dir.path().join("perfreport.toml");
    std::fs::write(
        &cfg,
        format!(
            "history = \"db:runs.db?last=1\"\n\n[[scenario]]\nname = \"after\"\nstats = {:?}\n",
            stats.display().to_string()
        ),
    )
    .unwrap();
    let out = perfreport()
        .args(["render", "--config"])
        .arg(&cfg)
        .current_dir(std::env::temp_dir())
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let trend = &text[text.find("## Trend").expect("no Trend section")..];
    let rows: Vec<&str> = trend.lines().filter(|l| l.starts_with("| #")).collect();
    assert_eq!(rows.len(), 1, "{trend}");
    assert!(rows[0].starts_with("| #2 |"), "{trend}");
}

#[test]
fn stored_histograms_are_hdrhistogram_v2_deflate_of_the_inputs_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    record(&db, BASE, &[]).success();
    let c = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(String, String, String, Vec<u8>)> = c
        .prepare("SELECT kind, name, dist_kind, histogram_v2 FROM endpoints WHERE is_total = 0")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let entries = json_entries(&json_of(BASE));
    assert_eq!(rows.len(), entries.len());
    for (kind, name, dist, blob) in rows {
        assert_eq!(dist, "locust_buckets_ms");
        // V2 compressed cookie (HdrHistogram's encoding, big-endian)
        assert_eq!(&blob[..4], &0x1c84_9314u32.to_be_bytes(), "{name}");
        let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut &blob[..])
            .unwrap();
        let e = entries.iter().find(|e| e.0 == kind && e.1 == name).unwrap();
        let stored: BTreeMap<u64, u64> = h
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        assert_eq!(stored, e.4, "{name}: the JSON's buckets, key by key");
    }
}

#[test]
fn the_resources_summary_is_stored_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let res = "fixtures/locust/mixed_baseline_u50_90s/resources.csv";
    record(&db, BASE, &["--resources", res, "--cpu-cores", "2"]).success();
    let runs = history_json(&db, &[]);
    let r = &runs[0]["resources"];
    let rss: Vec<f64> = std::fs::read_to_string(res)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    let max = rss.iter().cloned().fold(0.0, f64::max);
    let min = rss.iter().cloned().fold(f64::MAX, f64::min);
    let load = r["rss_load_bytes"].as_f64().unwrap();
    let idle = r["rss_idle_bytes"].as_f64().unwrap();
    assert!(load >= min && load <= max, "{load}");
    assert!(idle >= min && idle <= load, "{idle}");
    assert!(r["cpu_load_percent"].as_f64().unwrap() > 0.0);
    assert!(r["cpu_basis"].as_str().unwrap().contains("2 cores"));
    // the verdict stored with it judged the memory targets on these figures
    let targets = runs[0]["verdict"]["outcomes"]["targets"]
        .as_array()
        .unwrap();
    assert!(
        targets.iter().any(|t| t["measured"].as_f64() == Some(load)),
        "{targets:?}"
    );
}

#[test]
fn the_trend_marks_what_the_gate_calls_regressed_against_the_run_before() {
    // run 2 is SLOW=0.5 (faster), run 3 the SLOW=1 baseline again; run 3 is
    // gated against run 2 alone (`last=1` before it is recorded) and recorded
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfreport.db");
    record(&db, BASE, &[]).success();
    record(&db, AFTER, &[]).success();
    let verdict = dir.path().join("v.json");
    perfreport()
        .args(["gate", "--stats", &json_of(BASE), "--baseline"])
        .arg(format!("db:{}?last=1", db.display()))
        .arg("--json")
        .arg(&verdict)
        .args(["--record", "--db"])
        .arg(&db)
        .assert()
        .code(1);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&verdict).unwrap()).unwrap();
    let mut gate: Vec<String> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["change"]["verdict"] == "regressed")
        .map(|t| {
            t["title"]
                .as_str()
                .unwrap()
                .trim_end_matches(" vs baseline")
                .to_string()
        })
        .collect();
    gate.sort();
    // the slowed endpoints' medians rose from run 2 to run 3 in the raw files
    let (a, b) = (json_entries(&json_of(AFTER)), json_entries(&json_of(BASE)));
    for ep in ["/api/v1/monitoring/activity", "/api/v1/downloads/queue"] {
        let of = |es: &[Entry]| {
            let e = es.iter().find(|e| e.1 == ep).unwrap();
            locust_rule(&e.4, e.5, 0.5)
        };
        assert!(of(&b) > of(&a), "{ep}");
        assert!(
            gate.iter().any(|g| g.starts_with("p50") && g.ends_with(ep)),
            "{gate:?}"
        );
    }
    let runs = history_json(&db, &[]);
    assert_eq!(runs.len(), 3);
    // run 2 (faster) regressed nothing against run 1
    assert_eq!(
        runs[1]["regressions"].as_array().unwrap().len(),
        0,
        "{}",
        runs[1]
    );
    let mut trend: Vec<String> = runs[2]["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // "p50 GET /x 35 ms → 63 ms +80% [...]": the check, without figures
            let head = r.as_str().unwrap().split(" → ").next().unwrap();
            let words: Vec<&str> = head.split(' ').collect();
            words[..words.len() - 2].join(" ")
        })
        .collect();
    trend.sort();
    assert_eq!(trend, gate);
}

//! Property tests on mutated real fixtures: random truncations, byte flips and
//! column drops of every input kind never panic (so the CLI always exits
//! 0..=3), and a Locust stats CSV or Goose report cut at any byte, or missing
//! a column, is an error (exit 2), never read as a shorter run.
//!
//! Most cases call the library directly (fast); a few run the binary.

use perfreport::app;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const STATS: &str = "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_stats.csv";
const HISTORY: &str = "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_stats_history.csv";
const FAILURES: &str = "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_failures.csv";
const LOCUST_JSON: &str = "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s.json";
const GOOSE_REPORT: &str = "fixtures/goose/configaudit-30u/report.json";
const REQLOG_CSV: &str = "fixtures/goose/monitoring-30u-reqlog-csv/requests.csv";
const REQLOG_JSONL: &str = "fixtures/goose/converted/requests_converted_from_csv.jsonl";
const RESOURCES: &str = "fixtures/goose/monitoring-30u-reqlog-csv/resources.csv";
const CONFIG: &str = "fixtures/autoarr/perfreport.toml";

/// `cases` cases, or PROPTEST_CASES when set (for a longer run by hand).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A change to a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Keep this fraction (0..1) of the bytes.
    Truncate(f64),
    /// Set the byte at this fraction of the file to this value.
    Flip(f64, u8),
    /// Drop the n-th comma-separated cell of every line (naive: quotes ignored).
    DropColumn(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64).prop_map(Mutation::Truncate),
        (0.0..1.0f64, any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (0usize..24).prop_map(Mutation::DropColumn),
    ]
}

fn apply(data: &[u8], m: &Mutation) -> Vec<u8> {
    match *m {
        Mutation::Truncate(f) => data[..(data.len() as f64 * f) as usize].to_vec(),
        Mutation::Flip(f, b) => {
            let mut d = data.to_vec();
            if !d.is_empty() {
                let at = ((d.len() as f64 * f) as usize).min(d.len() - 1);
                d[at] = b;
            }
            d
        }
        Mutation::DropColumn(n) => drop_column(data, n),
    }
}

fn drop_column(data: &[u8], n: usize) -> Vec<u8> {
    data.split(|&b| b == b'\n')
        .map(|line| {
            let cells: Vec<&[u8]> = line.split(|&b| b == b',').collect();
            if n < cells.len() && cells.len() > 1 {
                let kept: Vec<&[u8]> = cells
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != n)
                    .map(|(_, c)| *c)
                    .collect();
                kept.join(&b","[..])
            } else {
                line.to_vec()
            }
        })
        .collect::<Vec<_>>()
        .join(&b"\n"[..])
}

/// Write `data` as `name` in a fresh temp dir.
fn put(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn file_name(path: &str) -> &str {
    Path::new(path).file_name().unwrap().to_str().unwrap()
}

/// Render a report from stats files (and resources): the whole pipeline,
/// reading, analysis and rendering. Ok or Err, it must not panic.
fn render(stats: Vec<PathBuf>, resources: Option<PathBuf>) -> perfreport::Result<String> {
    app::render(&app::RenderOptions {
        stats,
        config: None,
        label: None,
        targets: Vec::new(),
        targets_file: None,
        no_default_targets: false,
        out: None,
        format: None,
        template: None,
        strict: false,
        force: false,
        resources: app::ResourceInput {
            path: resources,
            cpu_cores: Some(2),
            start_unix: None,
        },
        history: None,
    })
}

/// A mutated copy of one file of a run, with the run's other files intact.
fn mutated_run(which: &str, m: &Mutation) -> (tempfile::TempDir, Vec<PathBuf>, Option<PathBuf>) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = |p: &str| {
        let data = std::fs::read(p).unwrap();
        let data = if p == which { apply(&data, m) } else { data };
        put(tmp.path(), file_name(p), &data)
    };
    let (stats, resources) = match which {
        STATS | HISTORY | FAILURES => {
            copy(HISTORY);
            copy(FAILURES);
            (vec![copy(STATS)], None)
        }
        LOCUST_JSON => (vec![copy(LOCUST_JSON)], None),
        GOOSE_REPORT => (vec![copy(GOOSE_REPORT)], None),
        REQLOG_CSV => (vec![copy(REQLOG_CSV)], None),
        REQLOG_JSONL => (vec![copy(REQLOG_JSONL)], None),
        RESOURCES => (vec![copy(GOOSE_REPORT)], Some(copy(RESOURCES))),
        other => panic!("no run for {other}"),
    };
    (tmp, stats, resources)
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn mutated_inputs_of_every_kind_never_panic(
        which in prop::sample::select(vec![
            STATS, HISTORY, FAILURES, LOCUST_JSON, GOOSE_REPORT, REQLOG_CSV, REQLOG_JSONL, RESOURCES,
        ]),
        m in mutation(),
    ) {
        let (_tmp, stats, resources) = mutated_run(which, &m);
        // a panic fails the property; Ok and Err are both fine here
        let _ = render(stats, resources);
    }

    #[test]
    fn a_mutated_config_never_panics(m in mutation()) {
        let tmp = tempfile::tempdir().unwrap();
        let data = apply(&std::fs::read(CONFIG).unwrap(), &m);
        let p = put(tmp.path(), "perfreport.toml", &data);
        let _ = perfreport::config::load(&p);
    }

    #[test]
    fn a_goose_report_cut_at_any_byte_is_an_error(f in 0.0..1.0f64) {
        let data = std::fs::read(GOOSE_REPORT).unwrap();
        // anything up to (not including) the closing brace
        let last = data.iter().rposition(|&b| b == b'}').unwrap();
        let at = (last as f64 * f) as usize;
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), "report.json", &data[..at]);
        prop_assert!(perfreport::input::load_run(&[p], None).is_err(), "cut at byte {at} was read");
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Needs the "validation" branch (truncated stats CSVs exit 2).
    #[test]
    fn a_locust_stats_csv_cut_at_any_byte_is_an_error(f in 0.0..1.0f64) {
        let data = std::fs::read(STATS).unwrap();
        // from just past the header to before the final line ending
        let header = data.iter().position(|&b| b == b'\n').unwrap() + 1;
        let end = data.len() - data.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r').count();
        let at = header + ((end - header) as f64 * f) as usize;
        prop_assume!(at < end);
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), "run_stats.csv", &data[..at]);
        prop_assert!(perfreport::input::load_run(&[p], None).is_err(), "cut at byte {at} was read");
    }

    /// Needs the "validation" branch (a stats CSV missing a column exits 2).
    #[test]
    fn a_locust_stats_csv_missing_any_column_is_an_error(n in 0usize..22) {
        let data = drop_column(&std::fs::read(STATS).unwrap(), n);
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), "run_stats.csv", &data);
        prop_assert!(perfreport::input::load_run(&[p], None).is_err(), "column {n} dropped was read");
    }
}

proptest! {
    // the binary: a few cases, for the exit code itself
    #![proptest_config(config(12))]

    #[test]
    fn the_binary_exits_0_to_3_on_mutated_inputs(
        which in prop::sample::select(vec![STATS, LOCUST_JSON, GOOSE_REPORT, REQLOG_CSV, RESOURCES]),
        m in mutation(),
    ) {
        let (_tmp, stats, resources) = mutated_run(which, &m);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_perfreport"));
        cmd.arg("gate").env_remove("GITHUB_ACTIONS").env_remove("GITHUB_STEP_SUMMARY");
        for s in &stats {
            cmd.arg("--stats").arg(s);
        }
        if let Some(r) = &resources {
            cmd.arg("--resources").arg(r);
        }
        let out = cmd.output().unwrap();
        let code = out.status.code();
        prop_assert!(
            matches!(code, Some(0..=3)),
            "{which} {m:?}: exit {code:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

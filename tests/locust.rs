//! Locust inputs: every shared run read through the library and checked
//! against Locust's own numbers, which the test reads from the files with a
//! plain CSV/JSON reader of its own.

mod common;
use common::locust_pct;

use common::{check_row, find, num};
use perfreport::input::load_run;
use perfreport::latency::Percentile;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn runs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("fixtures/locust")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(
        v.len() >= 15,
        "expected the shared Locust runs in fixtures/locust"
    );
    v
}

fn stats_csv(dir: &Path) -> PathBuf {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    dir.join(format!("{name}_stats.csv"))
}

fn json_of(dir: &Path) -> PathBuf {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    dir.join(format!("{name}.json"))
}

/// The CSV rows as header -> value maps, keyed by (Type, Name).
fn csv_rows(path: &Path) -> HashMap<(String, String), HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let m: HashMap<String, String> = headers
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect();
            ((m["Type"].clone(), m["Name"].clone()), m)
        })
        .collect()
}

#[test]
fn every_stats_csv_reproduces_locusts_own_rows() {
    for dir in runs() {
        let path = stats_csv(&dir);
        let run = load_run(std::slice::from_ref(&path), None).unwrap();
        let rows = csv_rows(&path);
        check_row(
            &run.total,
            &rows[&(String::new(), "Aggregated".to_string())],
            "Aggregated",
        );
        // two endpoints: the most and the least requested
        let mut eps: Vec<&(String, String)> = rows.keys().filter(|k| !k.0.is_empty()).collect();
        eps.sort_by_key(|k| rows[*k]["Request Count"].parse::<u64>().unwrap());
        for key in [eps[0], eps[eps.len() - 1]] {
            check_row(find(&run, &key.0, &key.1), &rows[key], &key.1);
        }
        assert_eq!(run.endpoints.len(), rows.len() - 1, "{}", dir.display());
    }
}

#[test]
fn json_percentiles_equal_locusts_csv_where_counts_agree() {
    let mut compared = 0;
    for dir in runs() {
        let json = json_of(&dir);
        let run = load_run(std::slice::from_ref(&json), None).unwrap();
        let rows = csv_rows(&stats_csv(&dir));
        let entries: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        for entry in &entries {
            let kind = entry["method"].as_str().unwrap();
            let name = entry["name"].as_str().unwrap();
            let n = entry["num_requests"].as_u64().unwrap();
            let row = &rows[&(kind.to_string(), name.to_string())];
            let e = find(&run, kind, name);
            assert_eq!(e.requests, n);
            // the test's own port of the rule must agree with the library everywhere
            let hist: BTreeMap<u64, u64> = entry["response_times"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.parse::<f64>().unwrap() as u64, v.as_u64().unwrap()))
                .collect();
            for p in [0.5, 0.95, 0.99] {
                assert_eq!(
                    e.latency.percentile(p * 100.0),
                    Percentile::Value(locust_pct(&hist, n, p) as f64)
                );
            }
            // and with Locust's CSV, where the CSV snapshot has the same count
            if num(row, "Request Count") as u64 == n {
                for (p, col) in [
                    (50.0, "50%"),
                    (66.0, "66%"),
                    (90.0, "90%"),
                    (95.0, "95%"),
                    (99.0, "99%"),
                    (99.9, "99.9%"),
                ] {
                    assert_eq!(
                        e.latency.percentile(p),
                        Percentile::Value(num(row, col)),
                        "{} {name} p{p}",
                        dir.display()
                    );
                }
                compared += 1;
            }
        }
        // the merged histograms reproduce the Aggregated row when counts agree
        let agg = &rows[&(String::new(), "Aggregated".to_string())];
        if num(agg, "Request Count") as u64 == run.total.requests {
            for (p, col) in [(50.0, "50%"), (95.0, "95%"), (99.0, "99%")] {
                assert_eq!(
                    run.total.latency.percentile(p),
                    Percentile::Value(num(agg, col))
                );
            }
        }
    }
    // the CSV is a snapshot up to ~1 s before shutdown: counts agree for 10 entries
    // across the shared runs (counted with ../shared/formats/locust_percentiles.py)
    assert!(compared >= 10, "only {compared} entries compared");
}

#[test]
fn csv_and_json_together_take_counts_from_the_json_and_say_so() {
    let dir = Path::new("fixtures/locust/configaudit_u30_60s");
    let run = load_run(&[stats_csv(dir), json_of(dir)], None).unwrap();
    // CSV Aggregated: 870 requests / 2 failures; JSON (summed by hand): 880 / 3
    assert_eq!(run.total.requests, 880);
    assert_eq!(run.total.failures, 3);
    assert!(
        run.provenance
            .iter()
            .any(|p| p.contains("from the JSON") && p.contains("870"))
    );
    assert_eq!(run.label, "configaudit_u30_60s");
}

#[test]
fn failures_carry_status_codes_and_times() {
    let dir = Path::new("fixtures/locust/mixed_baseline_u50_90s");
    let run = load_run(&[stats_csv(dir)], None).unwrap();
    // the failures CSV: 119 x 404, 1 x 500, 2 x 504
    let by = perfreport::model::failures_by_status(&run.failures);
    assert_eq!(by.get(&Some(404)), Some(&119));
    assert_eq!(by.get(&Some(500)), Some(&1));
    assert_eq!(by.get(&Some(504)), Some(&2));
    let f404 = run.failures.iter().find(|f| f.status == Some(404)).unwrap();
    // First Seen 2026-11-27T15:09:08Z = 1795792148
    assert_eq!(f404.first_seen, Some(1795792148.0));
    // history: user count rose to 50
    assert_eq!(run.peak_users, Some(50));
}

#[test]
fn ws_and_db_groups_merge_histograms_from_json_and_bound_from_csv() {
    use perfreport::targets::{self, State};
    let dir = Path::new("fixtures/locust/fullmix_u40_60s");
    let t = targets::default_targets();
    let from_json = targets::evaluate(&load_run(&[json_of(dir)], None).unwrap(), &t, None);
    let from_csv = targets::evaluate(&load_run(&[stats_csv(dir)], None).unwrap(), &t, None);
    let ws = |v: &targets::Verdict| v.outcomes[3].clone();
    let db = |v: &targets::Verdict| v.outcomes[4].clone();
    // merged WS histogram p95 computed with python from fullmix_u40_60s.json: 40 ms; DB: 16 ms
    assert_eq!(ws(&from_json).measured, Some(40.0));
    assert_eq!(db(&from_json).measured, Some(16.0));
    assert_eq!(ws(&from_json).state, State::Met);
    assert_eq!(db(&from_json).state, State::Met);
    // CSV rows: WS p95 11 and 40; DB p95 1, 6 and 18 -> bounds decide "met"
    assert_eq!(ws(&from_csv).state, State::Met);
    assert_eq!(db(&from_csv).state, State::Met);
    assert!(
        ws(&from_csv)
            .measured_text
            .contains("between 11 ms and 40 ms")
    );
}

/// Locust's own percentiles, from the HTML reports of the same runs
/// (fixtures/locust/html_percentiles.json, extracted by
/// fixtures/locust/extract_html_figures.py): the HTML is written at
/// shutdown from the same stats as the JSON, so every entry and the Aggregated
/// row must match the percentiles perfreport recomputes from the JSON
/// histograms, at 50/60/70/80/90/95/99/100 %.
#[test]
fn json_percentiles_equal_the_html_reports_for_every_entry() {
    let oracle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("fixtures/locust/html_percentiles.json").unwrap(),
    )
    .unwrap();
    let mut compared = 0;
    for (run_name, entries) in oracle.as_object().unwrap() {
        let dir = Path::new("fixtures/locust").join(run_name);
        let run = load_run(&[json_of(&dir)], None).unwrap();
        for entry in entries.as_array().unwrap() {
            let (kind, name) = (
                entry["method"].as_str().unwrap(),
                entry["name"].as_str().unwrap(),
            );
            let e = if name == "Aggregated" && kind.is_empty() {
                &run.total
            } else {
                find(&run, kind, name)
            };
            assert_eq!(e.requests, entry["num_requests"].as_u64().unwrap());
            for (q, want) in entry["percentiles"].as_object().unwrap() {
                let p: f64 = q.parse::<f64>().unwrap() * 100.0;
                assert_eq!(
                    e.latency.percentile(p),
                    Percentile::Value(want.as_f64().unwrap()),
                    "{run_name} {kind} {name} p{p}"
                );
                compared += 1;
            }
        }
    }
    // 72 entries (15 runs, Aggregated rows included) x 8 percentiles
    assert_eq!(compared, 72 * 8);
}

//! Resource samples: reading every supported shape, phases, leak verdicts, the sampler.

use perfreport::analysis::resources::{
    LeakVerdict, PhaseKind, ResourceAnalysisOptions, ResourceReport, analyze,
};
use perfreport::input::resources::{ResourceOptions, read, read_with};
use perfreport::model::{LoadStep, ResourceSeries, Run, Tool};
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A Locust run from its folder under fixtures/locust.
fn locust_run(name: &str) -> Run {
    let stats = fixture(&format!("fixtures/locust/{name}/{name}_stats.csv"));
    perfreport::input::load_run(&[stats], None).expect("locust run reads")
}

/// A Goose run built from report.json's plan history (the Goose reader is issue 3):
/// steps with their start times and users, and the duration/totals are not needed here.
fn goose_run(name: &str) -> Run {
    let text = std::fs::read_to_string(fixture(&format!("fixtures/goose/{name}/report.json")))
        .expect("report.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut run = Run::new(name, Tool::Goose);
    for h in v["raw_metrics"]["history"].as_array().expect("history") {
        let ts: jiff::Timestamp = h["timestamp"].as_str().expect("ts").parse().expect("time");
        run.steps.push(LoadStep {
            action: h["action"].as_str().expect("action").to_string(),
            start: ts.as_microsecond() as f64 / 1e6,
            users: h["users"].as_u64().expect("users"),
        });
    }
    run
}

fn report(run: &Run, series: &ResourceSeries) -> ResourceReport {
    let opts = ResourceAnalysisOptions {
        cpu_cores: Some(2),
        ..ResourceAnalysisOptions::default()
    };
    analyze(run, series, &opts).expect("analyses")
}

/// The raw CSV columns `timestamp` and `rss_bytes`, parsed with plain code.
fn raw_rss(path: &Path) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let ti = header
        .iter()
        .position(|h| *h == "timestamp")
        .expect("timestamp");
    let ri = header.iter().position(|h| *h == "rss_bytes").expect("rss");
    lines
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[ti].parse().expect("t"), c[ri].parse().expect("rss"))
        })
        .collect()
}

fn step_leak() -> (Run, ResourceSeries, ResourceReport) {
    let run = locust_run("step_leak_25-50-100_90s");
    let series = read(&fixture(
        "fixtures/locust/step_leak_25-50-100_90s/resources.csv",
    ))
    .expect("reads");
    let r = report(&run, &series);
    (run, series, r)
}

#[test]
fn step_leak_has_three_load_levels_with_their_user_counts() {
    let (run, series, r) = step_leak();
    let load: Vec<_> = r
        .phases
        .iter()
        .filter(|p| p.kind == PhaseKind::Load)
        .collect();
    let users: Vec<_> = load.iter().map(|p| p.users).collect();
    assert_eq!(users, [Some(25), Some(50), Some(100)]);
    assert_eq!(load[0].label, "load at 25 users");
    // Independently: each sample's users = User Count of the latest Aggregated history
    // tick at or before it, inside [first tick with users > 0, last such tick].
    let hist = std::fs::read_to_string(fixture(
        "fixtures/locust/step_leak_25-50-100_90s/step_leak_25-50-100_90s_stats_history.csv",
    ))
    .expect("history");
    let ticks: Vec<(f64, u64)> = hist
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[3] == "Aggregated")
        .map(|c| (c[0].parse().expect("ts"), c[1].parse().expect("users")))
        .collect();
    // The test starts at the first history row; history rows are whole seconds
    // and users hold until the test stops, so the load runs to the end of the
    // second of the last row with users: the sample 63 ms into that second is
    // under load (it was dropped before).
    let start = ticks[0].0;
    let end = ticks.iter().rev().find(|t| t.1 > 0).expect("load").0 + 1.0;
    for level in [25u64, 50, 100] {
        let n = series
            .samples
            .iter()
            .filter(|s| s.t >= start && s.t < end)
            .filter(|s| ticks.iter().rev().find(|t| t.0 <= s.t).map(|t| t.1) == Some(level))
            .count();
        let phase = load.iter().find(|p| p.users == Some(level)).expect("phase");
        assert_eq!(phase.samples, n, "samples at {level} users");
        assert!(
            n >= 25,
            "about 30 one-second samples per 30 s step, got {n}"
        );
    }
    let idle: usize = r
        .phases
        .iter()
        .filter(|p| p.kind != PhaseKind::Load)
        .map(|p| p.samples)
        .sum();
    assert_eq!(
        idle + load.iter().map(|p| p.samples).sum::<usize>(),
        series.samples.len()
    );
    assert_eq!(run.peak_users, Some(100));
}

#[test]
fn idle_rss_is_the_mean_before_the_test_started() {
    let (_, _, r) = step_leak();
    // The run's start: the stats history's first row, read here from the raw file.
    let hist = std::fs::read_to_string(fixture(
        "fixtures/locust/step_leak_25-50-100_90s/step_leak_25-50-100_90s_stats_history.csv",
    ))
    .expect("history");
    let start: f64 = hist
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next())
        .and_then(|t| t.parse().ok())
        .expect("first row");
    assert_eq!(r.test_start_unix, start);
    let raw = raw_rss(&fixture(
        "fixtures/locust/step_leak_25-50-100_90s/resources.csv",
    ));
    let before: Vec<f64> = raw
        .iter()
        .filter(|(t, _)| *t < start)
        .map(|x| x.1)
        .collect();
    let mean = before.iter().sum::<f64>() / before.len() as f64;
    // 14, not 15: the sample at 1795792384.063 is inside the test's first second.
    assert_eq!(before.len(), 14);
    assert!((r.rss_idle_bytes.expect("idle") - mean).abs() < 1e-6);
    // python3 (see the comment in leak figures): idle mean = 48226304.0 bytes.
    assert_eq!(mean, 48_226_304.0);
    let max_load = raw
        .iter()
        .filter(|(t, _)| *t >= start && *t < r.load_end_unix)
        .map(|x| x.1)
        .fold(0.0, f64::max);
    assert_eq!(r.rss_load_bytes, Some(max_load));
}

// Leak figures computed independently with python3 from the fixture CSVs (steady
// window as documented in src/analysis/resources.rs: all load samples for the step
// run, from the first sample at peak users for the others; the test runs from the
// first history row to the end of the second of the last row with users; idle =
// samples before the start, after = samples from the end on; least squares of
// rss_bytes/2^20 against timestamp/60; r² = sxy²/(sxx·syy), 0 for a flat series):
//   step_leak_25-50-100_90s  n=90 slope=6.303216779167017 r2=0.9407275665268848 retained=10502144 B
//   mixed_baseline_u50_90s   n=88 slope=0.0 r2=0.0 retained=868352 B
//   mixed_after_u50_90s      n=88 slope=0.0 r2=0.0 retained=835584 B
#[test]
fn step_leak_is_flagged_with_slope_and_r_squared() {
    let (_, _, r) = step_leak();
    assert_eq!(
        r.leak.verdict,
        LeakVerdict::Suspected,
        "{}",
        r.leak.sentence
    );
    assert_eq!(r.leak.samples, 90);
    assert!((r.leak.slope_mib_per_min.expect("slope") - 6.303216779167017).abs() < 1e-9);
    assert!((r.leak.r_squared.expect("r2") - 0.9407275665268848).abs() < 1e-9);
    assert!((r.leak.retained_bytes.expect("retained") - 10_502_144.0).abs() < 1e-3);
    assert!(r.leak.sentence.contains("6.30 MiB/min") && r.leak.sentence.contains("r² = 0.94"));
    assert!(
        (r.leak_slope_bytes_per_min.expect("slope") - 6.303216779167017 * 1048576.0).abs() < 1e-3
    );
}

#[test]
fn mixed_pair_is_not_flagged() {
    for (name, retained) in [
        ("mixed_baseline_u50_90s", 868_352.0),
        ("mixed_after_u50_90s", 835_584.0),
    ] {
        let run = locust_run(name);
        let s = read(&fixture(&format!("fixtures/locust/{name}/resources.csv"))).expect("reads");
        let r = report(&run, &s);
        assert_eq!(
            r.leak.verdict,
            LeakVerdict::NotSuspected,
            "{name}: {}",
            r.leak.sentence
        );
        assert_eq!(r.leak.samples, 88);
        assert_eq!(r.leak.slope_mib_per_min, Some(0.0));
        assert_eq!(r.leak.r_squared, Some(0.0));
        assert!((r.leak.retained_bytes.expect("retained") - retained).abs() < 1e-6);
    }
}

const LOCUST_RUNS: [&str; 15] = [
    "configaudit_u30_60s",
    "contentrequest_u40_60s",
    "fullmix_u40_60s",
    "mixed_after_u50_90s",
    "mixed_baseline_u50_90s",
    "monitoring_u30_60s",
    "scale_cores1_cpubound_u30_40s",
    "scale_cores1_u30_40s",
    "scale_cores2_cpubound_u30_40s",
    "scale_cores2_u30_40s",
    "scale_instances1_cpubound_u30_40s",
    "scale_instances1_u30_40s",
    "scale_instances2_nodelay_u30_40s",
    "scale_instances2_u30_40s",
    "step_leak_25-50-100_90s",
];

#[test]
fn only_the_leaking_server_is_flagged() {
    for name in LOCUST_RUNS {
        let run = locust_run(name);
        let s = read(&fixture(&format!("fixtures/locust/{name}/resources.csv"))).expect("reads");
        let r = report(&run, &s);
        let expected = if name.starts_with("step_leak") {
            LeakVerdict::Suspected
        } else {
            LeakVerdict::NotSuspected
        };
        assert_eq!(r.leak.verdict, expected, "{name}: {}", r.leak.sentence);
    }
    for name in [
        "configaudit-30u",
        "contentrequest-30u",
        "mixed-after-40u",
        "mixed-baseline-40u",
        "monitoring-30u-reqlog-csv",
    ] {
        let run = goose_run(name);
        let s = read(&fixture(&format!("fixtures/goose/{name}/resources.csv"))).expect("reads");
        let r = report(&run, &s);
        assert_eq!(
            r.leak.verdict,
            LeakVerdict::NotSuspected,
            "{name}: {}",
            r.leak.sentence
        );
        let users: Vec<_> = r
            .phases
            .iter()
            .filter(|p| p.kind == PhaseKind::Load)
            .map(|p| p.users)
            .collect();
        let expected_users = if name.contains("40u") { 40 } else { 30 };
        assert_eq!(users, [Some(expected_users)], "{name}");
    }
}

#[test]
fn cpu_basis_divides_by_the_given_cores() {
    let (_, series, r) = step_leak();
    assert_eq!(r.cpu_basis.cores, Some(2));
    // Mean cpu_percent over the load samples, recomputed here, ÷ 2 cores.
    let load: Vec<f64> = series
        .samples
        .iter()
        .filter(|s| s.t >= r.load_start_unix && s.t <= r.load_end_unix)
        .filter_map(|s| s.cpu_percent)
        .collect();
    let mean = load.iter().sum::<f64>() / load.len() as f64;
    assert!((r.cpu_load_percent.expect("cpu") - mean / 2.0).abs() < 1e-9);
    let p = &r.phases[1];
    let (core, machine) = (
        p.cpu_core_percent.expect("c"),
        p.cpu_machine_percent.expect("m"),
    );
    assert!((core.max / 2.0 - machine.max).abs() < 1e-12);
}

#[test]
fn samples_that_do_not_overlap_the_run_are_refused() {
    let run = locust_run("step_leak_25-50-100_90s");
    let other = read(&fixture(
        "fixtures/locust/mixed_baseline_u50_90s/resources.csv",
    ))
    .expect("reads");
    let e = analyze(&run, &other, &ResourceAnalysisOptions::default()).expect_err("no overlap");
    assert!(matches!(e, perfreport::Error::Usage(_)));
    assert!(e.to_string().contains("do not overlap"), "{e}");
}

#[test]
fn network_response_bandwidth_comes_from_the_stats() {
    let (run, _, r) = step_leak();
    let expected = run.total.avg_content_bytes.expect("size") * run.total.requests as f64
        / run.duration_s.expect("duration");
    assert_eq!(r.network.response_bytes_per_s, Some(expected));
    assert_eq!(r.network.request_bytes_per_s, None);
    assert!(r.network.request_from.starts_with("not sampled"));
    // num_fds is 7 before the load and 107 at 100 users (the fixture CSV): 100 above baseline.
    assert_eq!(r.connections.baseline_fds, Some(7.0));
    assert_eq!(r.connections.max, Some(100.0));
}

// ------------------------------------------------------------- real tool samples

#[test]
fn psrecord_plain_real_sample() {
    let opts = ResourceOptions {
        start_unix: Some(1_795_900_000.0),
    };
    let s = read_with(
        &fixture("fixtures/resources/psrecord_plain_grow.txt"),
        &opts,
    )
    .expect("reads");
    assert_eq!(s.samples.len(), 13);
    assert_eq!(
        s.samples[0].cpu_percent, None,
        "psrecord's first CPU value is always 0.0"
    );
    assert_eq!(s.samples[1].t, 1_795_900_000.5);
    assert_eq!(s.samples[1].cpu_percent, Some(49.9));
    // Real (MB) 61.270 in the last row is MiB.
    assert!((s.samples[12].rss_bytes.expect("rss") - 61.270 * 1048576.0).abs() < 1e-6);
    assert_eq!(s.samples[12].extra.get("read_count"), Some(&672.0));
    assert!(s.notes.iter().any(|n| n.contains("(given)")));
}

#[test]
fn psrecord_csv_real_sample_without_start_uses_mtime() {
    let path = fixture("fixtures/resources/psrecord_csv_grow.txt");
    let s = read(&path).expect("reads");
    assert_eq!(s.samples.len(), 13);
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    // The last sample lands on the file's modification time.
    assert!((s.samples[12].t - mtime).abs() < 1e-3);
    assert!((s.samples[12].rss_bytes.expect("rss") - 61.28125 * 1048576.0).abs() < 1e-6);
    assert_eq!(s.samples[12].extra.get("nproc"), Some(&1.0));
    assert!(s.notes.iter().any(|n| n.contains("modification time")));
}

#[test]
fn pidstat_real_samples() {
    let h = read(&fixture("fixtures/resources/pidstat_h_grow.txt")).expect("reads");
    let hh = read(&fixture("fixtures/resources/pidstat_hH_grow.txt")).expect("reads");
    assert_eq!(h.samples.len(), 6);
    assert_eq!(hh.samples.len(), 6);
    // `21:16:04` on 11/28/26 read as UTC: date -u -d '2026-11-28 21:16:04' +%s = 1795900564.
    assert_eq!(h.samples[0].t, 1_795_900_564.0);
    assert_eq!(h.samples[0].cpu_percent, Some(53.0));
    assert_eq!(h.samples[0].rss_bytes, Some(21_560.0 * 1024.0));
    assert_eq!(h.samples[0].vms_bytes, Some(24_764.0 * 1024.0));
    assert_eq!(h.samples[0].extra.get("minflt/s"), Some(&4803.0));
    assert_eq!(hh.samples[5].t, 1_795_900_576.0);
    assert_eq!(hh.samples[5].rss_bytes, Some(62_644.0 * 1024.0));
    // RSS grows with the bytearrays.
    assert!(
        hh.samples
            .windows(2)
            .all(|w| w[1].rss_bytes > w[0].rss_bytes)
    );
}

#[test]
fn docker_illustrative_sample() {
    let s = read(&fixture("fixtures/resources/docker_stats_illustrative.txt")).expect("reads");
    assert_eq!(s.samples.len(), 3);
    assert_eq!(s.samples[0].t, 1_795_792_537.0);
    assert_eq!(s.samples[0].cpu_percent, Some(12.34));
    assert_eq!(s.samples[0].rss_bytes, Some(98.5 * 1048576.0));
    assert_eq!(s.samples[1].extra.get("net_tx_bytes"), Some(&1.21e6));
    assert_eq!(s.samples[2].extra.get("net_rx_bytes"), Some(&120e3));
    assert_eq!(s.samples[2].extra.get("pids"), Some(&13.0));
}

#[test]
fn malformed_files_name_the_line() {
    for (file, needle) in [
        (
            "sampler_malformed_number.csv",
            "line 3, column 3: `rss_bytes`: expected a number, found `4822x304`",
        ),
        (
            "psrecord_malformed_short_row.txt",
            "line 3: expected 4 columns as in the header, found 3",
        ),
        // column: python3 `line.index("lots") + 1` on line 5 = 105.
        (
            "pidstat_malformed_rss.txt",
            "line 5, column 105: `RSS`: expected a number, found `lots`",
        ),
        ("docker_stats_malformed_unit.txt", "line 2"),
    ] {
        let opts = ResourceOptions {
            start_unix: Some(0.0),
        };
        let e = read_with(&fixture(&format!("fixtures/resources/{file}")), &opts)
            .expect_err(file)
            .to_string();
        assert!(e.contains(file) && e.contains(needle), "{file}: {e}");
    }
    let e = read(&fixture(
        "fixtures/resources/docker_stats_malformed_unit.txt",
    ))
    .expect_err("unit")
    .to_string();
    assert!(e.contains("`Mb`"), "{e}");
}

// ------------------------------------------------------------- the sampler

#[test]
fn sampler_records_growing_rss() {
    use perfreport::sample::{SampleOptions, sample_command};
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("grow.csv");
    let cmd: Vec<String> = [
        "python3",
        "-c",
        "import time\nb=[]\nfor i in range(10):\n    b.append(bytearray(8*1024*1024))\n    time.sleep(0.25)\ntime.sleep(0.3)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let opts = SampleOptions {
        interval: std::time::Duration::from_millis(250),
        ..SampleOptions::default()
    };
    let code = sample_command(&cmd, &opts, &out).expect("samples");
    assert_eq!(code, 0);
    let s = read(&out).expect("the sampler's CSV reads back");
    assert!(s.samples.len() >= 5, "{} samples", s.samples.len());
    let rss: Vec<f64> = s.samples.iter().filter_map(|x| x.rss_bytes).collect();
    let first = rss[0];
    let most = rss.iter().cloned().fold(0.0, f64::max);
    // 10 × 8 MiB appended over ~2.5 s: later samples hold tens of MiB more (the
    // largest, not the last: on a loaded machine the last row may fall after
    // the interpreter began tearing down)
    assert!(most - first > 30.0 * 1048576.0, "{first} -> {most}");
}

#[test]
fn sampler_on_sleep_3_writes_about_3_rows() {
    use perfreport::sample::{HEADER, SampleOptions, sample_command};
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sleep.csv");
    let cmd = vec!["sleep".to_string(), "3".to_string()];
    let code = sample_command(&cmd, &SampleOptions::default(), &out).expect("samples");
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&out).expect("csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(HEADER));
    let rows: Vec<&str> = lines.collect();
    assert!((2..=4).contains(&rows.len()), "{} rows", rows.len());
    assert!(rows.iter().all(|r| r.split(',').count() == 9));
    read(&out).expect("valid CSV");
    // Never overwrite without force.
    let e = sample_command(&cmd, &SampleOptions::default(), &out).expect_err("exists");
    assert!(e.to_string().contains("already exists"), "{e}");
}

// ------------------------------------------------------------- the CLI

const STEP: &str = "fixtures/locust/step_leak_25-50-100_90s";

#[test]
fn cli_render_fills_resource_utilization_per_user_level() {
    let out = assert_cmd::Command::cargo_bin("perfreport")
        .expect("binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["render", "--stats"])
        .arg(format!("{STEP}/step_leak_25-50-100_90s_stats.csv"))
        .arg("--resources")
        .arg(format!("{STEP}/resources.csv"))
        .args(["--cpu-cores", "2"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).expect("utf8");
    let section = &md[md.find("## Resource Utilization").expect("section")
        ..md.find("## Error Analysis").expect("next")];
    for heading in [
        "### Memory Usage",
        "**Idle State**:",
        "**Under Load (25 users)**:",
        "**Under Load (50 users)**:",
        "**Under Load (100 users)**:",
        "**Memory Leaks**:",
        "### CPU Usage",
        "**CPU Bottlenecks**:",
        "### Network I/O",
        "**Bandwidth Usage**:",
        "**Connection Pool**:",
    ] {
        assert!(section.contains(heading), "missing {heading}");
    }
    assert!(
        section.contains("Memory leak suspected")
            && section.contains("6.30 MiB/min")
            && section.contains("r² = 0.94")
    );
    assert!(!section.contains("TBD") && !section.contains("No resource samples supplied"));
}

#[test]
fn cli_gate_reports_memory_and_cpu_targets_measured() {
    let out = assert_cmd::Command::cargo_bin("perfreport")
        .expect("binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["gate", "--stats"])
        .arg(format!("{STEP}/step_leak_25-50-100_90s_stats.csv"))
        .arg("--resources")
        .arg(format!("{STEP}/resources.csv"))
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf8");
    // 46.0 MiB = 48226304 B idle mean (python3, see above); 55.9 MiB = 58638336 B,
    // the RSS of the last load sample (1795792474.063, in the second of the last
    // history row with users).
    for (row, value) in [
        ("Memory Usage (idle)", "46.0 MiB"),
        ("Memory Usage (load)", "55.9 MiB"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no {row} in {text}"));
        assert!(
            line.contains(value) && !line.contains("not measured"),
            "{line}"
        );
    }
    // These samples carry no cpu_count and no --cpu-cores was given: % of the
    // machine is not measured, and the message says how to give the cores.
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("CPU Usage (normal)"))
        .unwrap_or_else(|| panic!("no CPU row in {text}"));
    assert!(lines[i].contains("not measured"), "{}", lines[i]);
    // the detail is on the target's own line
    assert!(lines[i].contains("--cpu-cores"), "{}", lines[i]);
}

#[test]
fn cli_sample_sleep_3_writes_about_3_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = assert_cmd::Command::cargo_bin("perfreport")
        .expect("binary")
        .current_dir(dir.path())
        .args(["sample", "--", "sleep", "3"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let series = read(&dir.path().join("resources.csv")).expect("valid CSV");
    assert!(
        (2..=4).contains(&series.samples.len()),
        "{} rows",
        series.samples.len()
    );
}

fn write_day_file(path: &Path, rows: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(f, "{}", perfreport::sample::HEADER).expect("write");
    let t0 = 1_795_792_370.0_f64;
    for i in 0..rows {
        writeln!(
            f,
            "{:.3},{:.1},{},{},1,7,385024,0,2",
            t0 + i as f64,
            (i % 17) as f64,
            48_226_304 + (i % 1000) * 4096,
            55_382_016
        )
        .expect("write");
    }
    f.flush().expect("flush");
}

/// Best of three reads, in seconds.
fn read_seconds(path: &Path, rows: usize) -> f64 {
    (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            let s = read(path).expect("reads");
            let took = start.elapsed().as_secs_f64();
            assert_eq!(s.samples.len(), rows);
            assert_eq!(s.samples[rows - 1].extra.get("cpu_count"), Some(&2.0));
            took
        })
        .fold(f64::INFINITY, f64::min)
}

/// A day of 1 Hz samples (86,400 rows) is read in linear time. Each row's line
/// number used to be found by re-reading the file from byte 0 (72 s for this
/// file): then 10x the rows took 100x the time. Timed against a tenth of the
/// file, so that a slow debug build on a shared machine does not matter; the
/// release timing (goal: well under 1 s) is benches/resources_day.sh.
#[test]
fn a_day_of_one_hz_samples_reads_in_linear_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (small, day) = (dir.path().join("small.csv"), dir.path().join("day.csv"));
    write_day_file(&small, 8_640);
    write_day_file(&day, 86_400);
    let t_small = read_seconds(&small, 8_640);
    let t_day = read_seconds(&day, 86_400);
    assert!(
        t_day < 35.0 * t_small.max(0.001),
        "10x the rows took {:.1}x the time ({t_small:.3} s, {t_day:.3} s)",
        t_day / t_small
    );
}

// ------------------------------------------------- idle, ramp-up, core count

/// `timestamp` and `cpu_percent` of a sampler CSV, parsed with plain code.
fn raw_cpu(path: &Path) -> Vec<(f64, f64)> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let t = header.iter().position(|h| *h == "timestamp").expect("t");
    let c = header
        .iter()
        .position(|h| *h == "cpu_percent")
        .expect("cpu");
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .map(|f| (f[t].parse().expect("t"), f[c].parse().expect("cpu")))
        .collect()
}

fn unix(text: &str) -> f64 {
    let ts: jiff::Timestamp = text.parse().expect("time");
    ts.as_microsecond() as f64 / 1e6
}

/// A Goose run read from report.json: idle is what was sampled before the
/// report's `started` (or its first plan step, if earlier); the Increasing step
/// is the ramp-up, not idle; Maintaining is the level. All recomputed here from
/// the raw report.json and resources.csv.
#[test]
fn goose_idle_is_before_the_start_and_the_increase_is_ramp_up() {
    for name in ["mixed-baseline-40u", "configaudit-30u"] {
        let dir = fixture(&format!("fixtures/goose/{name}"));
        let run = perfreport::input::load_run(&[dir.join("report.json")], None).expect("reads");
        let series = read(&dir.join("resources.csv")).expect("reads");
        let r = report(&run, &series);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("json"))
                .expect("json");
        let step = |action: &str| {
            v["raw_metrics"]["history"]
                .as_array()
                .expect("history")
                .iter()
                .find(|h| h["action"] == action)
                .map(|h| unix(h["timestamp"].as_str().expect("ts")))
                .expect(action)
        };
        let start = unix(v["started"].as_str().expect("started")).min(step("Increasing"));
        let (maintain, finished) = (step("Maintaining"), step("Finished"));
        let raw = raw_cpu(&dir.join("resources.csv"));
        let idle: Vec<f64> = raw.iter().filter(|s| s.0 < start).map(|s| s.1).collect();
        let ramp = raw
            .iter()
            .filter(|s| s.0 >= start && s.0 < maintain)
            .count();
        let after = raw.iter().filter(|s| s.0 >= finished).count();
        let idle_mean = idle.iter().sum::<f64>() / idle.len() as f64;
        let phase = |k: PhaseKind| r.phases.iter().find(|p| p.kind == k);
        assert_eq!(
            phase(PhaseKind::IdleBefore).expect("idle").samples,
            idle.len(),
            "{name}"
        );
        assert!(ramp >= 3, "{name}: a ramp of about 4 s, {ramp} samples");
        assert_eq!(
            phase(PhaseKind::RampUp).expect("ramp-up").samples,
            ramp,
            "{name}"
        );
        assert_eq!(
            phase(PhaseKind::IdleAfter).expect("after").samples,
            after,
            "{name}"
        );
        assert!(
            (r.cpu.idle_core_percent.expect("idle cpu") - idle_mean).abs() < 1e-9,
            "{name}"
        );
        assert!(
            r.memory
                .idle_definition
                .contains(&format!("{} samples", idle.len())),
            "{}",
            r.memory.idle_definition
        );
    }
}

/// A Locust run read with its JSON too: idle is still what was sampled before
/// the run's start (the earlier of the history's first row and the JSON's
/// start_time), and the first second of the test (the 0-user row) is ramp-up.
#[test]
fn locust_idle_is_before_the_start_with_csv_and_json() {
    let name = "step_leak_25-50-100_90s";
    let dir = fixture(&format!("fixtures/locust/{name}"));
    let run = perfreport::input::load_run(
        &[
            dir.join(format!("{name}_stats.csv")),
            dir.join(format!("{name}.json")),
        ],
        None,
    )
    .expect("reads");
    let series = read(&dir.join("resources.csv")).expect("reads");
    let r = report(&run, &series);
    let hist = std::fs::read_to_string(dir.join(format!("{name}_stats_history.csv"))).expect("h");
    let first_row: f64 = hist
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next())
        .and_then(|t| t.parse().ok())
        .expect("first row");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("j"),
    )
    .expect("json");
    let start_time = json
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["start_time"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let start = first_row.min(start_time);
    let raw = raw_cpu(&dir.join("resources.csv"));
    let idle = raw.iter().filter(|s| s.0 < start).count();
    let idle_phase = r
        .phases
        .iter()
        .find(|p| p.kind == PhaseKind::IdleBefore)
        .expect("idle");
    assert_eq!(idle_phase.samples, idle);
    let ramp = r
        .phases
        .iter()
        .find(|p| p.kind == PhaseKind::RampUp)
        .expect("ramp-up");
    // The sample in the first second (0 users in the history) is ramp-up.
    assert_eq!(ramp.samples, 1);
    assert!(ramp.start_unix >= start && ramp.start_unix < start + 1.0);
    assert!(
        !r.phases
            .iter()
            .any(|p| p.kind == PhaseKind::Load && p.samples < 3),
        "no level of one sample"
    );
}

/// The mixed-graph run's samples carry `cpu_count` (2): CPU % of the machine
/// divides by it whatever --cpu-cores says and whatever machine reads the file.
#[test]
fn cpu_count_from_the_samples_sets_the_machine_basis() {
    let path = fixture("fixtures/goose/mixed-graph-jsonl-30u/resources.csv");
    let series = read(&path).expect("reads");
    // Load start and end from the run's MANIFEST.md (timeline.json).
    let mut run = Run::new("mixed-graph-jsonl-30u", Tool::Goose);
    run.started = Some(1_796_162_488.864);
    run.ended = Some(1_796_162_537.556);
    run.peak_users = Some(30);
    let text = std::fs::read_to_string(&path).expect("csv");
    let header: Vec<&str> = text.lines().next().expect("h").split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "cpu_count")
        .expect("cpu_count");
    let counts: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col).expect("cell").parse().expect("n"))
        .collect();
    assert!(counts.iter().all(|c| *c == counts[0]));
    let load: Vec<f64> = raw_cpu(&path)
        .into_iter()
        .filter(|s| s.0 >= 1_796_162_488.864 && s.0 < 1_796_162_537.556)
        .map(|s| s.1)
        .collect();
    let expected = load.iter().sum::<f64>() / load.len() as f64 / counts[0];
    let mut figures = Vec::new();
    for given in [None, Some(1), Some(64)] {
        let opts = ResourceAnalysisOptions {
            cpu_cores: given,
            ..ResourceAnalysisOptions::default()
        };
        let r = analyze(&run, &series, &opts).expect("analyses");
        assert_eq!(r.cpu_basis.cores, Some(counts[0] as u32));
        assert!(r.cpu_basis.cores_from.contains("cpu_count"));
        let got = r.cpu_load_percent.expect("measured");
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
        figures.push(got);
    }
    assert!(figures.windows(2).all(|w| w[0] == w[1]));
}

/// Without cpu_count and without --cpu-cores, CPU is per core only: the
/// machine-% figure is not measured, and the basis names --cpu-cores.
#[test]
fn without_cpu_count_or_cores_cpu_is_per_core_only() {
    let (run, series, _) = step_leak();
    let r = analyze(&run, &series, &ResourceAnalysisOptions::default()).expect("analyses");
    assert_eq!(r.cpu_basis.cores, None);
    assert_eq!(r.cpu_load_percent, None);
    assert!(r.cpu.load_core_percent.is_some());
    assert!(r.phases.iter().all(|p| p.cpu_machine_percent.is_none()));
    assert!(r.figures().cpu_basis.contains("--cpu-cores"));
}

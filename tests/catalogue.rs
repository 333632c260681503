//! The catalogue of broken and hostile inputs (`fixtures/bad/CATALOGUE.tsv`):
//! every row runs the binary and must end with its exit code and message,
//! never with a panic (101), an abort (134) or a signal. Inputs too big to
//! commit (a 6 GiB gzip bomb, 10,000 endpoint names) are made here in a temp
//! dir, and run under a memory limit.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_perfreport");

/// Longest a case may run: none of them needs more than a second or two; a
/// hang (a FIFO opened for reading) must show up as a failure, not a stuck test.
const TIMEOUT: Duration = Duration::from_secs(60);

/// One row of the catalogue.
struct Case {
    id: String,
    args: String,
    exit: i32,
    message: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string("fixtures/bad/CATALOGUE.tsv").unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().map(|h| h.split('\t').collect::<Vec<_>>()),
        Some(vec!["case", "args", "exit", "message"])
    );
    lines
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "row `{l}`: expected 4 tab-separated columns");
            Case {
                id: cols[0].to_string(),
                args: cols[1].to_string(),
                exit: cols[2]
                    .parse()
                    .unwrap_or_else(|_| panic!("row `{}`: bad exit `{}`", cols[0], cols[2])),
                message: cols[3].to_string(),
            }
        })
        .collect()
}

/// The binary, with none of the environment that changes its behaviour.
fn perfreport() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("PERFREPORT_MAX_INPUT_SIZE")
        .env_remove("PERFREPORT_MAX_LINE_LENGTH");
    cmd
}

/// Run a command with a timeout; stdout and stderr are read as it runs (a
/// report larger than a pipe's buffer must not block it).
fn run(mut cmd: Command) -> (Output, bool) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn perfreport");
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            timed_out = true;
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    (out, timed_out)
}

/// Why an outcome is not a clean exit 0..=3, if it is not.
fn unclean(out: &Output, timed_out: bool) -> Option<String> {
    if timed_out {
        return Some(format!("did not end within {TIMEOUT:?}"));
    }
    match (out.status.code(), out.status.signal()) {
        (_, Some(sig)) => Some(format!("killed by signal {sig}")),
        (Some(c), _) if !(0..=3).contains(&c) => Some(format!(
            "exit {c} (101 is a panic, 134 an abort): {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        _ => None,
    }
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn every_catalogue_case_ends_with_its_exit_code_and_message() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let tmp = tempfile::tempdir().unwrap();
        mkfifo(&tmp.path().join("fifo"));
        let mut cmd = perfreport();
        for arg in case.args.split(' ').filter(|a| !a.is_empty()) {
            if let Some(kv) = arg.strip_prefix("{env:").and_then(|a| a.strip_suffix('}')) {
                let (k, v) = kv.split_once('=').expect("{env:KEY=VALUE}");
                cmd.env(k, v);
            } else {
                cmd.arg(
                    arg.replace("{tmp}", &tmp.path().to_string_lossy())
                        .replace("{sp}", " "),
                );
            }
        }
        let (out, timed_out) = run(cmd);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        if let Some(why) = unclean(&out, timed_out) {
            failures.push(format!("{}: {why}", case.id));
        } else if out.status.code() != Some(case.exit) {
            failures.push(format!(
                "{}: exit {:?}, expected {}: {}",
                case.id,
                out.status.code(),
                case.exit,
                text.lines().next().unwrap_or("")
            ));
        } else if !text.contains(&case.message) {
            failures.push(format!(
                "{}: message lacks `{}`: {}",
                case.id,
                case.message,
                text.chars().take(400).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_catalogue_file_has_a_maker_and_a_row() {
    let maker = std::fs::read_to_string("fixtures/bad/make_bad.py").unwrap();
    let table = std::fs::read_to_string("fixtures/bad/CATALOGUE.tsv").unwrap();
    // files made by make_bad.py (older hand-made files predate it)
    for entry in std::fs::read_dir("fixtures/bad").unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if maker.contains(&format!("\"{name}\"")) {
            // a history file is read beside its stats file
            let main = name.replace("_stats_history.csv", "_stats.csv");
            assert!(
                table.contains(&format!("fixtures/bad/{main}")),
                "{name} is made by make_bad.py but has no row in CATALOGUE.tsv"
            );
        }
    }
}

/// A target whose text is wider than 65,535 characters used to panic in the
/// terminal table after --json had already been written claiming exit 1.
#[test]
fn a_very_long_target_does_not_panic_and_json_agrees_with_the_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("verdict.json");
    let target = format!("p95{{name:/{}}}<300ms", "a".repeat(70_000));
    let mut cmd = perfreport();
    cmd.args([
        "gate",
        "--stats",
        "fixtures/locust/configaudit_u30_60s/configaudit_u30_60s_stats.csv",
        "--target",
        &target,
        "--json",
    ])
    .arg(&json);
    let (out, timed_out) = run(cmd);
    assert_eq!(unclean(&out, timed_out), None);
    let code = out.status.code().unwrap();
    if let Ok(text) = std::fs::read_to_string(&json) {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["exit_code"].as_i64(), Some(code as i64), "{text}");
    }
}

/// Run the binary with its address space limited to `bytes` (RLIMIT_AS).
fn run_limited(args: &[&std::ffi::OsStr], bytes: u64) -> (Output, bool) {
    let mut cmd = perfreport();
    cmd.args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run(cmd)
}

/// Address space allowed: threads and allocator arenas reserve far more
/// virtual memory than they touch, so this is looser than the 256 MB of
/// resident memory measured with `/usr/bin/time -v` (see README), but well
/// below what either input needed before the limits (over 4 GiB and 1.9 GB).
const AS_LIMIT: u64 = 1 << 30;

/// A gzip stream of `{"goose_version":"0.19.0","raw_metrics":` and then
/// `gib` GiB of spaces: the same full-flushed deflate block of 1 MiB of spaces
/// repeated (a full flush resets the compressor, so every block is byte for
/// byte the same), without a valid trailer (nothing reads that far).
fn write_gzip_bomb(path: &Path, gib: u64) {
    use flate2::{Compress, Compression, FlushCompress};
    let deflate = |input: &[u8], c: &mut Compress| {
        let mut out = Vec::with_capacity(64 * 1024);
        let mut at = 0;
        loop {
            let before_in = c.total_in();
            out.reserve(64 * 1024);
            c.compress_vec(&input[at..], &mut out, FlushCompress::Full)
                .unwrap();
            at += (c.total_in() - before_in) as usize;
            if at == input.len() && out.len() < out.capacity() {
                return out;
            }
        }
    };
    let mut c = Compress::new(Compression::best(), false);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3])
        .unwrap();
    file.write_all(&deflate(
        br#"{"goose_version": "0.19.0", "raw_metrics": "#,
        &mut c,
    ))
    .unwrap();
    let spaces = vec![b' '; 1 << 20];
    let first = deflate(&spaces, &mut c);
    let block = deflate(&spaces, &mut c);
    assert_eq!(first, block, "a full flush should make blocks repeat");
    for _ in 0..gib * 1024 {
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

#[test]
fn a_6_gib_gzip_bomb_exits_2_within_a_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = tmp.path().join("report.json.gz");
    write_gzip_bomb(&bomb, 6);
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 16 << 20, "the bomb should be small on disk: {size}");
    let (out, timed_out) = run_limited(
        &["gate".as_ref(), "--stats".as_ref(), bomb.as_os_str()],
        AS_LIMIT,
    );
    assert_eq!(unclean(&out, timed_out), None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("once decompressed"), "{err}");
    assert!(err.contains("--max-input-size"), "{err}");
}

/// The real request log with its rows' names replaced by 10,000 distinct
/// `/api/v1/item/N` (rows reused in turn); returns the rows written.
fn write_many_names_log(path: &Path, names: usize) -> usize {
    let text =
        std::fs::read_to_string("fixtures/goose/monitoring-30u-reqlog-csv/requests.csv").unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let name_col = headers.iter().position(|h| h == "name").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&headers).unwrap();
    for i in 0..names {
        let row = &rows[i % rows.len()];
        let name = format!("/api/v1/item/{i}");
        let rec: Vec<&str> = row
            .iter()
            .enumerate()
            .map(|(c, v)| if c == name_col { name.as_str() } else { v })
            .collect();
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
    names
}

#[test]
fn ten_thousand_names_are_read_within_a_memory_limit_and_collapsed() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("requests.csv");
    let rows = write_many_names_log(&log, 10_000);
    let out_md = tmp.path().join("report.md");
    let (out, timed_out) = run_limited(
        &[
            "render".as_ref(),
            "--stats".as_ref(),
            log.as_os_str(),
            "--out".as_ref(),
            out_md.as_os_str(),
        ],
        AS_LIMIT,
    );
    assert_eq!(unclean(&out, timed_out), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(&out_md).unwrap();
    // every row is its own name: all but the first 500 are collapsed
    let expected = format!(
        "{} names beyond the first 500 seen are collapsed",
        rows - 500
    );
    assert!(report.contains(&expected), "no `{expected}` in the report");
    assert!(report.contains("`/api/v1/item/{id}`"), "no grouping hint");
}

/// Every row must still be counted once: the library's total against the
/// rows written.
#[test]
fn collapsed_names_keep_every_request_in_the_total() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("requests.csv");
    let rows = write_many_names_log(&log, 2_000);
    let run = perfreport::input::load_run(&[PathBuf::from(&log)], None).unwrap();
    assert_eq!(run.total.requests, rows as u64);
    assert_eq!(run.endpoints.len(), 501);
    let other = run
        .endpoints
        .iter()
        .find(|e| e.name == perfreport::input::goose_log::OTHER_NAME)
        .unwrap();
    assert_eq!(other.requests, (rows - 500) as u64);
}

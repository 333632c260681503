//! Outputs never lose an input or replace what is not a regular file, follow
//! the umask, report write errors, and render data as text (no live links,
//! remote images or terminal escapes). Every case runs the CLI on copies of
//! real fixtures in a temporary folder.

use assert_cmd::Command;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

const RUN: &str = "mixed_baseline_u50_90s";

fn bin() -> Command {
    Command::cargo_bin("perfreport").unwrap()
}

/// A copy of a real Locust run (stats, history, failures, exceptions, JSON,
/// resources) in a fresh temporary folder.
fn run_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new("fixtures/locust").join(RUN);
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let d = dir.path().to_path_buf();
    (dir, d)
}

fn stats(d: &Path) -> PathBuf {
    d.join(format!("{RUN}_stats.csv"))
}

/// Every file of a folder with its bytes, to prove nothing changed.
fn snapshot(d: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Run `render` writing to `out`; the output must be refused (exit 2, naming
/// the output and the input) and the folder left exactly as it was.
fn assert_refused(args: &[&std::ffi::OsStr], d: &Path, input_name: &str) {
    let before = snapshot(d);
    let out = bin().args(args).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("refusing to overwrite an input"), "{err}");
    assert!(err.contains(input_name), "{err}");
    assert_eq!(snapshot(d), before, "a file changed");
}

#[test]
fn out_onto_the_resources_file_is_refused_and_it_is_unchanged() {
    let (_t, d) = run_copy();
    let res = d.join("resources.csv");
    assert_refused(
        &[
            "render".as_ref(),
            "--stats".as_ref(),
            stats(&d).as_os_str(),
            "--resources".as_ref(),
            res.as_os_str(),
            "--out".as_ref(),
            res.as_os_str(),
        ],
        &d,
        "resources.csv",
    );
}

#[test]
fn out_onto_files_found_beside_the_stats_is_refused() {
    let (_t, d) = run_copy();
    for beside in ["_stats_history.csv", "_failures.csv", "_exceptions.csv"] {
        let target = d.join(format!("{RUN}{beside}"));
        assert_refused(
            &[
                "render".as_ref(),
                "--stats".as_ref(),
                stats(&d).as_os_str(),
                "--out".as_ref(),
                target.as_os_str(),
            ],
            &d,
            beside,
        );
    }
}

#[test]
fn out_through_a_symlink_or_hard_link_to_an_input_is_refused() {
    let (_t, d) = run_copy();
    let link = d.join("report.md");
    std::os::unix::fs::symlink(stats(&d), &link).unwrap();
    assert_refused(
        &[
            "render".as_ref(),
            "--stats".as_ref(),
            stats(&d).as_os_str(),
            "--out".as_ref(),
            link.as_os_str(),
        ],
        &d,
        "_stats.csv",
    );
    let hard = d.join("hard.md");
    std::fs::hard_link(d.join("resources.csv"), &hard).unwrap();
    assert_refused(
        &[
            "render".as_ref(),
            "--stats".as_ref(),
            stats(&d).as_os_str(),
            "--resources".as_ref(),
            d.join("resources.csv").as_os_str(),
            "--out".as_ref(),
            hard.as_os_str(),
        ],
        &d,
        "resources.csv",
    );
}

#[test]
fn out_onto_the_template_or_the_config_is_refused() {
    let (_t, d) = run_copy();
    let template = d.join("t.md.tera");
    std::fs::write(&template, "{{ version }}\n").unwrap();
    assert_refused(
        &[
            "render".as_ref(),
            "--stats".as_ref(),
            stats(&d).as_os_str(),
            "--template".as_ref(),
            template.as_os_str(),
            "--out".as_ref(),
            template.as_os_str(),
        ],
        &d,
        "t.md.tera",
    );
    let config = d.join("perfreport.toml");
    std::fs::write(
        &config,
        format!(
            "system = \"S\"\n[[scenario]]\nname = \"S\"\nstats = \"{RUN}_stats.csv\"\nresources = \"resources.csv\"\n"
        ),
    )
    .unwrap();
    for target in ["perfreport.toml", "resources.csv", "_stats_history.csv"] {
        let out = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(target))
            .unwrap();
        assert_refused(
            &[
                "render".as_ref(),
                "--config".as_ref(),
                config.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ],
            &d,
            target,
        );
    }
}

#[test]
fn gate_outputs_never_overwrite_the_baseline_and_nothing_is_half_written() {
    let (_t, d) = run_copy();
    let after = Path::new("fixtures/locust/mixed_after_u50_90s/mixed_after_u50_90s_stats.csv");
    let junit = d.join("verdict.xml");
    for flag in ["--json", "--junit"] {
        let before = snapshot(&d);
        let mut cmd = bin();
        cmd.args(["gate", "--stats"])
            .arg(after)
            .arg("--baseline")
            .arg(stats(&d))
            .arg("--force")
            .arg(flag)
            .arg(stats(&d));
        // the other output is fine on its own, and must not be written either
        if flag == "--json" {
            cmd.arg("--junit").arg(&junit);
        }
        let out = cmd.output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(flag) && err.contains("_stats.csv"), "{err}");
        assert_eq!(snapshot(&d), before, "{flag}: a file changed");
        assert!(!junit.exists(), "--junit written before --json was refused");
    }
}

#[test]
fn step_summary_pointing_at_an_input_is_refused() {
    let (_t, d) = run_copy();
    let before = snapshot(&d);
    let out = bin()
        .args(["gate", "--github", "--stats"])
        .arg(stats(&d))
        .env("GITHUB_STEP_SUMMARY", d.join(format!("{RUN}_failures.csv")))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("GITHUB_STEP_SUMMARY"), "{err}");
    assert_eq!(snapshot(&d), before);
}

#[test]
fn out_onto_a_character_device_writes_through_and_keeps_it() {
    let (_t, d) = run_copy();
    let out = bin()
        .args(["render", "--stats"])
        .arg(stats(&d))
        .args(["--out", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let m = std::fs::metadata("/dev/null").unwrap();
    assert!(m.file_type().is_char_device());
}

#[test]
fn out_onto_a_fifo_is_written_through_with_a_reader_and_refused_without() {
    let (_t, d) = run_copy();
    let fifo = d.join("pipe.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // no reader: refused at once, never blocking, never replaced
    let out = bin()
        .args(["render", "--stats"])
        .arg(stats(&d))
        .arg("--out")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("FIFO"), "{err}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // with a reader: the report goes through the FIFO
    let reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait until cat has the FIFO open for reading
    let mut ok = None;
    for _ in 0..100 {
        let out = bin()
            .args(["render", "--stats"])
            .arg(stats(&d))
            .arg("--out")
            .arg(&fifo)
            .output()
            .unwrap();
        if out.status.code() == Some(0) {
            ok = Some(out);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ok.is_some(), "never written through the FIFO");
    let read = reader.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&read.stdout);
    assert!(text.contains("/api/v1/config/audit"), "{text}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn out_onto_a_dangling_symlink_or_a_directory_is_refused() {
    let (_t, d) = run_copy();
    let link = d.join("report.md");
    std::os::unix::fs::symlink(d.join("nowhere.md"), &link).unwrap();
    let out = bin()
        .args(["render", "--stats"])
        .arg(stats(&d))
        .arg("--out")
        .arg(&link)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("dangling"), "{err}");
    assert!(!d.join("nowhere.md").exists());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let sub = d.join("sub.md");
    std::fs::create_dir(&sub).unwrap();
    let out = bin()
        .args(["render", "--stats"])
        .arg(stats(&d))
        .arg("--out")
        .arg(&sub)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(sub.is_dir());
}

/// Render under a umask through the shell, as a user would.
fn render_under_umask(umask: &str, d: &Path, out: &Path) {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask {umask} && exec \"$0\" render --stats \"$1\" --out \"$2\""
        ))
        .arg(assert_cmd::cargo::cargo_bin("perfreport"))
        .arg(stats(d))
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn new_outputs_follow_the_umask_and_existing_ones_keep_their_mode() {
    let (_t, d) = run_copy();
    let a = d.join("a.md");
    render_under_umask("022", &d, &a);
    assert_eq!(mode(&a), 0o644);
    let b = d.join("b.md");
    render_under_umask("077", &d, &b);
    assert_eq!(mode(&b), 0o600);
    let c = d.join("c.md");
    std::fs::write(&c, "old").unwrap();
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o640)).unwrap();
    render_under_umask("022", &d, &c);
    assert_eq!(mode(&c), 0o640);
    assert_ne!(std::fs::read(&c).unwrap(), b"old");
}

#[test]
fn gate_outputs_follow_the_umask() {
    let (_t, d) = run_copy();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" gate --stats \"$1\" --json \"$2\" --junit \"$3\"")
        .arg(assert_cmd::cargo::cargo_bin("perfreport"))
        .arg(stats(&d))
        .arg(d.join("v.json"))
        .arg(d.join("v.xml"))
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{status}");
    assert_eq!(mode(&d.join("v.json")), 0o644);
    assert_eq!(mode(&d.join("v.xml")), 0o644);
}

#[test]
fn a_full_disk_on_stdout_is_an_error_and_a_closed_pipe_is_not() {
    let (_t, d) = run_copy();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("perfreport"))
        .args(["render", "--stats"])
        .arg(stats(&d))
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot write"), "{err}");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("perfreport"))
        .args(["render", "--stats"])
        .arg(stats(&d))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // close the read end before perfreport writes: its write gets EPIPE
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn out_onto_a_full_device_is_an_error() {
    let (_t, d) = run_copy();
    let out = bin()
        .args(["render", "--stats"])
        .arg(stats(&d))
        .args(["--out", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}

/// The names the hostile fixture gave its first rows, read from the file
/// itself (column Name), so the test does not trust perfreport to read them.
fn hostile_names() -> Vec<String> {
    let mut r = csv::Reader::from_path("fixtures/bad/hostile_markdown_names_stats.csv").unwrap();
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Name")
        .unwrap();
    r.records()
        .map(|rec| rec.unwrap()[col].to_string())
        .take(4)
        .collect()
}

#[test]
fn html_of_hostile_names_has_no_live_link_remote_image_or_escape_byte() {
    let names = hostile_names();
    assert!(names.iter().any(|n| n.contains("](javascript:")));
    assert!(names.iter().any(|n| n.starts_with("![x](https://")));
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("report.html");
    let out = bin()
        .args([
            "render",
            "--stats",
            "fixtures/bad/hostile_markdown_names_stats.csv",
            "--out",
        ])
        .arg(&html_path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let html = std::fs::read_to_string(&html_path).unwrap();
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<a href=\"javascript"),
        "live javascript link"
    );
    assert!(!lower.contains("href=\"javascript"));
    for tag in lower.split("<img").skip(1) {
        let src = tag.split('>').next().unwrap();
        assert!(
            !src.contains("src=\"http") && !src.contains("src=\"//"),
            "remote image: <img{src}>"
        );
    }
    assert!(!html.contains("<img src=https"), "raw HTML image passed");
    assert!(!html.contains('\x1b') && !html.contains('\x07'));
    assert!(html.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(html.contains("default-src 'none'"));
    // the names are still there, as text
    assert!(html.contains("[x](javascript:alert(1))"), "name lost");
    assert!(
        html.contains("![x](https://example.com/t.png)"),
        "name lost"
    );
}

#[test]
fn markdown_of_hostile_names_keeps_them_text() {
    let out = bin()
        .args([
            "render",
            "--stats",
            "fixtures/bad/hostile_markdown_names_stats.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(!md.contains("[x](javascript:"), "live markdown link");
    assert!(!md.contains("![x](https://"), "live markdown image");
    assert!(md.contains("[x\\](javascript:alert(1))"));
    assert!(!md.contains('\x1b'));
}

#[test]
fn gate_terminal_output_shows_escape_bytes_escaped() {
    let names = hostile_names();
    let esc = names.iter().find(|n| n.contains('\x1b')).unwrap();
    let out = bin()
        .args([
            "gate",
            "--stats",
            "fixtures/bad/hostile_markdown_names_stats.csv",
            "--target",
            "p95{name:/api/*}<1ms",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text}");
    let shown: String = esc
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    assert!(text.contains(&shown), "{shown} not in {text}");
}

#[test]
fn an_unrecognised_file_is_described_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("shadow");
    std::fs::write(
        &secret,
        "root:$6$saltsalt$S3cretHashValue:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    for flag in ["--stats", "--config"] {
        let out = bin().args(["render", flag]).arg(&secret).output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains("S3cret") && !err.contains("root:"), "{err}");
    }
    let out = bin()
        .args([
            "render",
            "--stats",
            "fixtures/locust/mixed_baseline_u50_90s/mixed_baseline_u50_90s_stats.csv",
            "--resources",
        ])
        .arg(&secret)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("S3cret") && !err.contains("root:"), "{err}");
}

#[test]
fn a_target_longer_than_65535_characters_does_not_panic() {
    let (_t, d) = run_copy();
    let target = format!("p95{{name:{}}}<1ms", "a".repeat(70_000));
    let out = bin()
        .args(["gate", "--stats"])
        .arg(stats(&d))
        .arg("--target")
        .arg(&target)
        .arg("--json")
        .arg(d.join("v.json"))
        .output()
        .unwrap();
    // no endpoint is named a...a: the target is not measured, the rest decide
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        stderr_of(&out)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("v.json")).unwrap()).unwrap();
    assert_eq!(json["exit_code"], out.status.code().unwrap());
}

#[test]
fn out_dev_stdout_appends_to_what_stdout_is_and_never_replaces_it() {
    let (_t, d) = run_copy();
    let log = d.join("log.txt");
    std::fs::write(&log, "earlier line\n").unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" render --stats \"$1\" --out /dev/stdout >> \"$2\"")
        .arg(assert_cmd::cargo::cargo_bin("perfreport"))
        .arg(stats(&d))
        .arg(&log)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("earlier line\n"), "{text}");
    assert!(text.contains("/api/v1/config/audit"));
    let m = std::fs::symlink_metadata("/dev/stdout").unwrap();
    assert!(m.file_type().is_symlink() || m.file_type().is_char_device());
}

#[test]
fn a_chart_that_would_replace_an_input_stops_the_report_too() {
    let (_t, d) = run_copy();
    // the chart of rep.md is rep.resources.svg, here the samples themselves
    let samples = d.join("rep.resources.svg");
    std::fs::rename(d.join("resources.csv"), &samples).unwrap();
    let before = snapshot(&d);
    let out = bin()
        .args(["render", "--stats"])
        .arg(stats(&d))
        .arg("--resources")
        .arg(&samples)
        .arg("--out")
        .arg(d.join("rep.md"))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("rep.resources.svg"), "{err}");
    assert_eq!(snapshot(&d), before, "something was written");
}

#[test]
fn gate_json_and_junit_onto_one_file_is_refused() {
    let (_t, d) = run_copy();
    let v = d.join("v.out");
    let out = bin()
        .args(["gate", "--stats"])
        .arg(stats(&d))
        .arg("--json")
        .arg(&v)
        .arg("--junit")
        .arg(&v)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(!v.exists());
}

#[test]
fn an_escape_byte_in_a_file_name_is_shown_escaped_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("x\x1b]0;pwned\x07_stats.csv");
    std::fs::write(&bad, "").unwrap();
    let out = bin().args(["gate", "--stats"]).arg(&bad).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains("x\\u{1b}]0;pwned\\u{7}_stats.csv"), "{err}");
}

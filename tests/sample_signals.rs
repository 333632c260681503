//! `perfreport sample -- CMD` and signals: SIGTERM/SIGINT are forwarded to the
//! command, which is waited for (no orphan), the CSV stays valid, and the exit
//! code is the command's (0 when `--duration` ended it).
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The parent PID of a process, from /proc/PID/stat (the field after the
/// parenthesised command name, which may itself hold spaces).
fn ppid_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(1)?.parse().ok()
}

/// Children of `parent` whose command is `name`, by scanning /proc.
fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| ppid_of(*pid) == Some(parent))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .collect()
}

/// True while `pid` exists and is not a zombie.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|i| s[i + 2..].chars().next())
            .is_some_and(|state| state != 'Z')
    })
}

fn spawn_sample(dir: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_perfreport"))
        .current_dir(dir)
        .args(["sample", "--out", "s.csv"])
        .args(extra)
        .args(["--", "sleep", "30"])
        .spawn()
        .expect("perfreport starts")
}

/// The `sleep` started by the sampler, once it is there.
fn the_sleep(parent: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let [pid] = children_named(parent, "sleep")[..] {
            return pid;
        }
        assert!(Instant::now() < deadline, "no sleep child appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_at_most(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("perfreport sample did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The CSV parses, independently of perfreport: a header and rows of 9 cells
/// with an increasing numeric timestamp and a positive RSS; and perfreport
/// reads it back too.
fn assert_valid_csv(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("csv written");
    assert!(text.ends_with('\n'), "the last row is complete");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header.len(), 9);
    assert_eq!(header[0], "timestamp");
    assert_eq!(header[8], "cpu_count");
    let mut prev = 0.0;
    let mut n = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 9, "{line}");
        let t: f64 = cells[0].parse().expect("timestamp");
        assert!(t >= prev, "{line}");
        prev = t;
        assert!(cells[2].parse::<u64>().expect("rss") > 0, "{line}");
        n += 1;
    }
    perfreport::input::resources::read(path).expect("perfreport reads it back");
    n
}

fn signal_test(sig: i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_sample(dir.path(), &[]);
    let sleep = the_sleep(child.id());
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: kill(2) on our own, not yet reaped, child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
    let status = wait_at_most(&mut child, 20);
    // sleep dies of the forwarded signal: the shell convention 128 + signal.
    assert_eq!(status.code(), Some(128 + sig), "{status:?}");
    assert!(!running(sleep), "sleep {sleep} was left running");
    let rows = assert_valid_csv(&dir.path().join("s.csv"));
    assert!(rows >= 2, "{rows} rows in 2 s");
}

#[test]
fn sigterm_is_forwarded_and_leaves_no_sleep() {
    signal_test(libc::SIGTERM);
}

#[test]
fn sigint_is_forwarded_and_leaves_no_sleep() {
    signal_test(libc::SIGINT);
}

#[test]
fn duration_stops_the_command_and_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = spawn_sample(dir.path(), &["--duration", "1.5"]);
    let sleep = the_sleep(child.id());
    let status = wait_at_most(&mut child, 20);
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(!running(sleep), "sleep {sleep} was left running");
    assert_valid_csv(&dir.path().join("s.csv"));
}

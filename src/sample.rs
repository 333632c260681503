//! The built-in resource sampler (`perfreport sample`), a Rust twin of
//! `../shared/loadgen/sample_resources.py`: it writes the same CSV, with the same
//! header and units, so its output reads back through
//! [`input::resources`](crate::input::resources):
//!
//! `timestamp,cpu_percent,rss_bytes,vms_bytes,num_threads,num_fds,read_bytes,write_bytes`
//!
//! - `timestamp`: unix seconds (UTC, 3 decimals) at the sample;
//! - `cpu_percent`: user+system CPU seconds used since the previous sample ÷ wall
//!   seconds × 100, so 100 = one core (can exceed 100); the first row is measured
//!   over the first interval, so it is meaningful too;
//! - `rss_bytes`, `vms_bytes`: resident and virtual size, bytes;
//! - `num_threads`, `num_fds` (empty where unknown), `read_bytes`, `write_bytes`
//!   (cumulative storage I/O).
//!
//! With `children`, every column is summed over the process and all its
//! descendants, as the Python sampler's `--children` does: a descendant first seen
//! contributes all the CPU time it used since it started; RSS double-counts shared
//! pages.
//!
//! Each row is flushed as it is written, so a file cut short (Ctrl-C, the process
//! exiting, a crash) is still valid CSV. Sampling stops when the process ends, when
//! `duration` elapses or on Ctrl-C (SIGINT), which is caught so the file ends cleanly.
//! An existing output file is never overwritten unless `force` is set.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

/// The header the sampler writes (the same as `sample_resources.py`).
pub const HEADER: &str =
    "timestamp,cpu_percent,rss_bytes,vms_bytes,num_threads,num_fds,read_bytes,write_bytes";

/// How to sample.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Time between samples.
    pub interval: Duration,
    /// Stop after this long (`None`: until the process ends or Ctrl-C).
    pub duration: Option<Duration>,
    /// Sum over the process and all its descendants.
    pub children: bool,
    /// Overwrite the output file if it exists.
    pub force: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            interval: Duration::from_secs(1),
            duration: None,
            children: false,
            force: false,
        }
    }
}

/// Set by Ctrl-C. The handler is installed once per process, on first use; if
/// the embedding program already installed its own, Ctrl-C is left to it.
fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // An error means another handler exists; then Ctrl-C is that handler's business.
        let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}

/// Sample a running process into `out` until it ends, `duration` elapses or Ctrl-C.
pub fn sample_pid(pid: u32, opts: &SampleOptions, out: &Path) -> Result<()> {
    let mut sampler = Sampler::new(Pid::from_u32(pid), opts.children)?;
    if !sampler.alive() {
        return Err(Error::Usage(format!("no process with PID {pid}")));
    }
    let mut file = create_out(out, opts.force)?;
    sampler.prime();
    run_loop(&mut sampler, opts, out, &mut file, || false)
}

/// Start `cmd` and sample it into `out` until it exits (or `duration` elapses,
/// which kills it, or Ctrl-C, which the command receives too from the terminal).
/// Returns the command's exit code (128 + signal number when a signal ended it).
pub fn sample_command(cmd: &[String], opts: &SampleOptions, out: &Path) -> Result<i32> {
    let Some((program, args)) = cmd.split_first() else {
        return Err(Error::Usage("no command given to sample".into()));
    };
    let mut file = create_out(out, opts.force)?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start `{program}`: {e}")))?;
    let mut sampler = Sampler::new(Pid::from_u32(child.id()), opts.children)?;
    sampler.prime();
    let mut exited = None;
    let result = run_loop(&mut sampler, opts, out, &mut file, || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if result.is_err() || matches!(child.try_wait(), Ok(None)) {
        // Duration elapsed (or writing failed) while the command still runs.
        let _ = child.kill();
    }
    result?;
    if let Ok(status) = child.wait() {
        exited = Some(exit_code(status));
    }
    exited.ok_or_else(|| Error::Usage(format!("could not get the exit status of `{program}`")))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    if let Some(c) = status.code() {
        return c;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(s) = status.signal() {
            return 128 + s;
        }
    }
    1
}

fn create_out(out: &Path, force: bool) -> Result<std::fs::File> {
    if out.exists() && !force {
        return Err(Error::Usage(format!(
            "{}: already exists; refusing to overwrite it (pass --force, or choose another --out)",
            out.display()
        )));
    }
    let mut f = std::fs::File::create(out).map_err(|e| Error::write(out, e))?;
    writeln!(f, "{HEADER}")
        .and_then(|_| f.flush())
        .map_err(|e| Error::write(out, e))?;
    Ok(f)
}

fn run_loop(
    sampler: &mut Sampler,
    opts: &SampleOptions,
    out: &Path,
    file: &mut std::fs::File,
    mut ended: impl FnMut() -> bool,
) -> Result<()> {
    let stop = stop_flag();
    let start = Instant::now();
    let interval = opts.interval.max(Duration::from_millis(10));
    // A first row soon after the start records the process before the load; the
    // rest fall on whole intervals, so `sample -- sleep 3` gives rows at about
    // 0.1, 1 and 2 s.
    let mut next = start + interval.min(Duration::from_millis(100));
    let mut rows: u32 = 0;
    loop {
        // Sleep in short steps so that the end of the process or Ctrl-C is seen soon.
        while Instant::now() < next {
            if stop.load(Ordering::SeqCst) || ended() {
                return Ok(());
            }
            let left = next.saturating_duration_since(Instant::now());
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        if opts
            .duration
            .is_some_and(|d| next.duration_since(start) > d + Duration::from_millis(1))
        {
            return Ok(());
        }
        rows += 1;
        next = start + interval * rows;
        if ended() {
            return Ok(());
        }
        let Some(row) = sampler.sample() else {
            return Ok(());
        };
        writeln!(file, "{row}")
            .and_then(|_| file.flush())
            .map_err(|e| Error::write(out, e))?;
    }
}

/// CPU/memory sums over a process (and its descendants).
struct Sampler {
    sys: System,
    root: Pid,
    children: bool,
    /// (pid, start time) -> CPU milliseconds at the previous sample.
    prev_cpu: HashMap<(Pid, u64), u64>,
    prev_wall: Instant,
}

impl Sampler {
    fn new(root: Pid, children: bool) -> Result<Sampler> {
        let sys = System::new()
            .map_err(|e| Error::Usage(format!("cannot read process information: {e}")))?;
        let mut s = Sampler {
            sys,
            root,
            children,
            prev_cpu: HashMap::new(),
            prev_wall: Instant::now(),
        };
        s.refresh();
        Ok(s)
    }

    fn refresh(&mut self) {
        let kind = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_disk_usage()
            .with_tasks();
        let root = [self.root];
        let which = if self.children {
            ProcessesToUpdate::All
        } else {
            ProcessesToUpdate::Some(&root)
        };
        self.sys.refresh_processes_specifics(which, true, kind);
    }

    fn alive(&self) -> bool {
        self.sys
            .process(self.root)
            .is_some_and(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
    }

    /// The root and (with `children`) its descendants, threads excluded.
    fn tree(&self) -> Vec<Pid> {
        let mut out = vec![self.root];
        if !self.children {
            return out;
        }
        let mut kids: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (pid, p) in self.sys.processes() {
            if p.thread_kind().is_some() {
                continue;
            }
            if let Some(parent) = p.parent() {
                kids.entry(parent).or_default().push(*pid);
            }
        }
        let mut i = 0;
        while i < out.len() {
            if let Some(k) = kids.get(&out[i]) {
                out.extend(k.iter().copied().filter(|p| *p != self.root));
            }
            i += 1;
        }
        out
    }

    fn prime(&mut self) {
        self.prev_wall = Instant::now();
        self.prev_cpu = self.cpu_times();
    }

    fn cpu_times(&self) -> HashMap<(Pid, u64), u64> {
        self.tree()
            .into_iter()
            .filter_map(|pid| {
                let p = self.sys.process(pid)?;
                Some(((pid, p.start_time()), p.accumulated_cpu_time()))
            })
            .collect()
    }

    /// One CSV row, or `None` when the root process is gone.
    fn sample(&mut self) -> Option<String> {
        self.refresh();
        if !self.alive() {
            return None;
        }
        let wall = Instant::now();
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let cur = self.cpu_times();
        let cpu_ms: u64 = cur
            .iter()
            .map(|(k, v)| v.saturating_sub(self.prev_cpu.get(k).copied().unwrap_or(0)))
            .sum();
        let dt = wall.duration_since(self.prev_wall).as_secs_f64();
        let cpu = if dt > 0.0 {
            cpu_ms as f64 / 1000.0 / dt * 100.0
        } else {
            0.0
        };
        self.prev_cpu = cur;
        self.prev_wall = wall;
        let (mut rss, mut vms, mut threads, mut fds, mut rb, mut wb) =
            (0u64, 0u64, 0usize, 0usize, 0u64, 0u64);
        let mut fds_ok = true;
        for pid in self.tree() {
            let Some(p) = self.sys.process(pid) else {
                continue;
            };
            rss += p.memory();
            vms += p.virtual_memory();
            threads += p.tasks().map(|t| t.len()).unwrap_or(1).max(1);
            match p.open_files() {
                Some(n) => fds += n,
                None => fds_ok = false,
            }
            let io = p.disk_usage();
            rb += io.total_read_bytes;
            wb += io.total_written_bytes;
        }
        // An exiting process has already given back its memory but is not yet a
        // zombie: a row of zeros would read as a real sample.
        if rss == 0 {
            return None;
        }
        let fds = if fds_ok {
            fds.to_string()
        } else {
            String::new()
        };
        Some(format!(
            "{ts:.3},{cpu:.1},{rss},{vms},{threads},{fds},{rb},{wb}"
        ))
    }
}

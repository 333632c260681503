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
//!   (cumulative storage I/O);
//! - `cpu_count`: logical CPUs of the sampled machine, the same on every row, so
//!   that CPU % of the machine is computed with the measured machine's cores and
//!   not those of the machine that later reads the file.
//!
//! With `children`, every column is summed over the process and all its
//! descendants, as the Python sampler's `--children` does: a descendant first seen
//! contributes all the CPU time it used since it started; RSS double-counts shared
//! pages.
//!
//! Each row is flushed as it is written, so a file cut short (Ctrl-C, the process
//! exiting, a crash) is still valid CSV. Sampling stops when the process ends, when
//! `duration` elapses or on SIGINT/SIGTERM, which are caught so the file ends
//! cleanly. A command started by the sampler is never left behind: SIGINT/SIGTERM
//! are forwarded to it and it is waited for (its status becomes the result); when
//! `duration` elapses it gets SIGTERM, then SIGKILL after a grace period; and on
//! Linux it gets SIGTERM if the sampler itself dies (parent-death signal).
//! An existing output file is never overwritten unless `force` is set.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

/// The header the sampler writes (the same as `sample_resources.py`).
pub const HEADER: &str = "timestamp,cpu_percent,rss_bytes,vms_bytes,num_threads,num_fds,read_bytes,write_bytes,cpu_count";

/// How long a command is given to exit after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(10);

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

/// The signal (SIGINT or SIGTERM) that asked the sampler to stop, 0 while none.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

#[cfg(unix)]
extern "C" fn on_stop_signal(sig: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP_SIGNAL.store(sig, Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM (once per process) so that sampling ends cleanly and
/// the signal can be passed on to a command started by the sampler. Installed
/// before the command starts, so a signal during its start is not lost; a
/// command's exec resets caught signals to their default, so it is unaffected.
fn install_stop_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only stores into an atomic; sigaction is given a
            // zeroed, then filled, struct that lives for the call.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_stop_signal as *const () as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
    });
}

/// The stop signal received so far, if any.
fn stop_signal() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Why sampling stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The sampled process ended.
    Ended,
    /// `duration` elapsed.
    Duration,
    /// SIGINT or SIGTERM (the number).
    Signal(i32),
}

/// Logical CPUs of this machine (what psutil.cpu_count() reports), for the
/// `cpu_count` column; empty when unknown.
fn cpu_count() -> String {
    let mut sys = System::new_with_specifics(sysinfo::RefreshKind::nothing()).ok();
    if let Some(s) = sys.as_mut() {
        s.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
    }
    let n = sys.map(|s| s.cpus().len()).filter(|n| *n > 0).or_else(|| {
        std::thread::available_parallelism()
            .ok()
            .map(std::num::NonZero::get)
    });
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// Sample a running process into `out` until it ends, `duration` elapses or Ctrl-C.
pub fn sample_pid(pid: u32, opts: &SampleOptions, out: &Path) -> Result<()> {
    let mut sampler = Sampler::new(Pid::from_u32(pid), opts.children)?;
    if !sampler.alive() {
        return Err(Error::Usage(format!("no process with PID {pid}")));
    }
    install_stop_handlers();
    let mut file = create_out(out, opts.force)?;
    sampler.prime();
    run_loop(&mut sampler, opts, out, &mut file, || false).map(|_| ())
}

/// Start `cmd` and sample it into `out` until it exits. When `duration` elapses
/// the command gets SIGTERM (SIGKILL after a grace period) and the result is 0;
/// SIGINT/SIGTERM sent to the sampler are forwarded to the command, which is
/// waited for. Returns the command's exit code (128 + signal number when a signal
/// ended it), so `sample -- CMD` ends the way CMD did.
pub fn sample_command(cmd: &[String], opts: &SampleOptions, out: &Path) -> Result<i32> {
    let Some((program, args)) = cmd.split_first() else {
        return Err(Error::Usage("no command given to sample".into()));
    };
    install_stop_handlers();
    let mut file = create_out(out, opts.force)?;
    let mut command = std::process::Command::new(program);
    command.args(args);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                // If the sampler dies without forwarding (SIGKILL), the command
                // gets SIGTERM instead of running on as an orphan.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
    }
    let mut child = command
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start `{program}`: {e}")))?;
    let result = Sampler::new(Pid::from_u32(child.id()), opts.children).and_then(|mut sampler| {
        sampler.prime();
        run_loop(&mut sampler, opts, out, &mut file, || {
            matches!(child.try_wait(), Ok(Some(_)))
        })
    });
    let status = match result {
        Ok(Stop::Ended) => child.wait(),
        Ok(Stop::Signal(sig)) => stop_child(&mut child, sig),
        Ok(Stop::Duration) => {
            stop_child(&mut child, TERM).map_err(|e| {
                Error::Usage(format!("could not stop `{program}` after --duration: {e}"))
            })?;
            return Ok(0);
        }
        Err(e) => {
            let _ = stop_child(&mut child, TERM);
            return Err(e);
        }
    };
    status
        .map(exit_code)
        .map_err(|e| Error::Usage(format!("could not get the exit status of `{program}`: {e}")))
}

#[cfg(unix)]
const TERM: i32 = libc::SIGTERM;
#[cfg(not(unix))]
const TERM: i32 = 15;

/// Send `sig` to the child, wait up to [`GRACE`] for it to exit, then kill it.
fn stop_child(
    child: &mut std::process::Child,
    sig: i32,
) -> std::io::Result<std::process::ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    #[cfg(unix)]
    {
        let pid = child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child, which has not been reaped yet
        // (try_wait above returned None), so the pid is still ours.
        unsafe {
            libc::kill(pid, sig);
        }
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    #[cfg(not(unix))]
    let _ = sig;
    child.kill()?;
    child.wait()
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
) -> Result<Stop> {
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
            if let Some(sig) = stop_signal() {
                return Ok(Stop::Signal(sig));
            }
            if ended() {
                return Ok(Stop::Ended);
            }
            let left = next.saturating_duration_since(Instant::now());
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        if opts
            .duration
            .is_some_and(|d| next.duration_since(start) > d + Duration::from_millis(1))
        {
            return Ok(Stop::Duration);
        }
        rows += 1;
        next = start + interval * rows;
        if ended() {
            return Ok(Stop::Ended);
        }
        let Some(row) = sampler.sample() else {
            return Ok(Stop::Ended);
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
    /// The `cpu_count` cell, the same on every row.
    cpu_count: String,
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
            cpu_count: cpu_count(),
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
            "{ts:.3},{cpu:.1},{rss},{vms},{threads},{fds},{rb},{wb},{}",
            self.cpu_count
        ))
    }
}

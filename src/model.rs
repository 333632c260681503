//! The normalized model: every input reader produces a [`Run`], and evaluation,
//! analysis and rendering consume it. Times are unix seconds (UTC) as `f64`,
//! latencies in ms, memory in bytes; fractions stay fractions.

use crate::latency::Latency;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Unix time in seconds, UTC.
pub type UnixSeconds = f64;

/// The load-testing tool that wrote an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Tool {
    /// Locust (Python).
    Locust,
    /// Goose (Rust).
    Goose,
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tool::Locust => "Locust",
            Tool::Goose => "Goose",
        })
    }
}

/// One load-test run, whatever tool wrote it.
#[derive(Debug, Clone)]
pub struct Run {
    /// Display name (the file prefix unless told otherwise).
    pub label: String,
    /// The tool.
    pub tool: Tool,
    /// The tool's version, when the input says.
    pub tool_version: Option<String>,
    /// The files this run was read from.
    pub sources: Vec<PathBuf>,
    /// Sentences on which input each figure came from (shown in the report).
    pub provenance: Vec<String>,
    /// Start of the test.
    pub started: Option<UnixSeconds>,
    /// End of the test.
    pub ended: Option<UnixSeconds>,
    /// Length of the test in seconds (known even when start and end are not).
    pub duration_s: Option<f64>,
    /// True when the input has no clock and every time in the run (timeline,
    /// failures' first/last seen) is seconds since the test started instead
    /// of unix time (a Goose request log read alone).
    pub relative_times: bool,
    /// Largest number of concurrent users seen.
    pub peak_users: Option<u64>,
    /// Per endpoint, sorted by (name, kind).
    pub endpoints: Vec<Endpoint>,
    /// All requests together (the tool's own Aggregated row where it has one).
    pub total: Endpoint,
    /// Time series, oldest first.
    pub timeline: Vec<TimelinePoint>,
    /// The window over which the tool's own totals were measured, when it is not
    /// the whole run (Goose resets its metrics after ramp-up).
    pub measured_window: Option<Window>,
    /// Requests counted in the tool's measured window, when it has one (Goose's
    /// report covers only the time after its metrics reset).
    pub measured_counts: Option<MeasuredCounts>,
    /// Load steps (Goose's history: Increasing, Maintaining, ...).
    pub steps: Vec<LoadStep>,
    /// Request failures grouped by endpoint and error.
    pub failures: Vec<FailureGroup>,
    /// Exceptions raised in load-test code (not requests).
    pub exceptions: Vec<ExceptionGroup>,
    /// Thresholds the tool itself evaluated (Goose `--threshold`).
    pub tool_thresholds: Vec<ToolThreshold>,
    /// Scenarios and their transactions as the tool reports them (Goose).
    pub tool_scenarios: Vec<ToolScenario>,
    /// How the run ended, when the tool says (`completed`, `canceled`, ...).
    pub ended_by: Option<String>,
    /// Resource samples of the server under test, when supplied.
    pub resources: Option<ResourceSeries>,
    /// What the average request rate (`total.rps`) divides by, once, as a
    /// phrase (`requests ÷ (last request − test start), Locust's Requests/s`).
    pub rps_basis: Option<String>,
    /// Why the run stopped before its planned end, when the tool says so (a
    /// Goose threshold that aborted it, a cancel): a verdict on a shortened
    /// run must say it.
    pub stopped_early: Option<String>,
    /// How many load generators (or digested shards) the run was merged
    /// from: 1 for a run read from one generator's files.
    pub generators: usize,
}

/// Requests of one endpoint (or all of them).
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// Request type: HTTP method (`GET`), or a custom type such as `WS` or `DB`.
    /// Empty for the aggregate.
    pub kind: String,
    /// Request name (path, or the name the load test gave).
    pub name: String,
    /// Completed requests, failures included.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Latency distribution.
    pub latency: Latency,
    /// Requests per second over the tool's own window (whole run for Locust).
    pub rps: Option<f64>,
    /// Average response size in bytes (Locust; for custom types whatever the event reported).
    pub avg_content_bytes: Option<f64>,
    /// Final HTTP status code -> count, when the input has it (0 = transport error).
    pub status_counts: BTreeMap<u16, u64>,
}

impl Endpoint {
    /// Failed fraction of requests (0..=1).
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.failures as f64 / self.requests as f64)
    }

    /// `GET /path` style label.
    pub fn label(&self) -> String {
        if self.kind.is_empty() {
            self.name.clone()
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }
}

/// Requests and failures in a run's measured window, and how it was found.
#[derive(Debug, Clone)]
pub struct MeasuredCounts {
    /// Requests in the window.
    pub requests: u64,
    /// Failed requests in the window.
    pub failures: u64,
    /// What the window is (`Goose's metrics reset at 3.002 s to the end`).
    pub basis: String,
}

/// A closed time window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Start.
    pub start: UnixSeconds,
    /// End.
    pub end: UnixSeconds,
}

impl Window {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.end - self.start
    }
    /// True when `t` lies inside.
    pub fn contains(&self, t: UnixSeconds) -> bool {
        t >= self.start && t <= self.end
    }
}

/// One point of the time series.
#[derive(Debug, Clone, Default)]
pub struct TimelinePoint {
    /// When.
    pub t: UnixSeconds,
    /// Running users.
    pub users: Option<u64>,
    /// Requests per second around this point, as the input defines it.
    pub rps: Option<f64>,
    /// Failures per second around this point.
    pub failures_per_s: Option<f64>,
    /// Window median, when the input has it.
    pub p50_ms: Option<f64>,
    /// Window p95, when the input has it.
    pub p95_ms: Option<f64>,
    /// Window p99, when the input has it.
    pub p99_ms: Option<f64>,
    /// Cumulative requests since the start, when the input has them.
    pub total_requests: Option<u64>,
    /// Cumulative failures since the start.
    pub total_failures: Option<u64>,
    /// The latencies of the requests sent in this second, when the input has
    /// them per second (a request log, Goose's heatmap), so that a window's
    /// percentile can be computed from the requests in it.
    pub latency: Option<PointLatency>,
}

/// The latencies of one second of the timeline, sparse (only values that
/// occurred), oldest input precision kept.
#[derive(Debug, Clone, PartialEq)]
pub enum PointLatency {
    /// Exact µs times quantised like the exact HdrHistogram (3 significant
    /// digits): (lowest equivalent µs, count), sorted by value, stored
    /// compactly ([`ExactSecond`]).
    Exact(ExactSecond),
    /// Goose heatmap buckets: (lowest µs, highest µs, count), sorted by value.
    Buckets(Vec<(u64, u64, u32)>),
}

/// The exact latencies of one second, (lowest equivalent µs, count) pairs
/// sorted by value, delta- and varint-encoded: a 24-hour run keeps one of these
/// per second for its windowed targets, and a pair typically takes 2 to 4
/// bytes instead of 16 (peak memory, issue 15). Iterating gives back exactly
/// the pairs it was built from.
///
/// The encoded bytes live either in memory or, once a reader has kept more
/// than [`ExactSpill`]'s budget in memory, in an anonymous temporary file
/// written sequentially and read back with `pread` when a window is evaluated
/// (not memory-mapped: mapped pages would count in the resident set again).
/// Either way the pairs read back are the same, so windowed figures do not
/// depend on where the bytes are.
#[derive(Debug, Clone, Default)]
pub struct ExactSecond(ExactBytes);

#[derive(Debug, Clone)]
enum ExactBytes {
    Inline(Box<[u8]>),
    Spilled {
        file: std::sync::Arc<std::fs::File>,
        offset: u64,
        len: u32,
    },
}

impl Default for ExactBytes {
    fn default() -> Self {
        ExactBytes::Inline(Box::default())
    }
}

impl PartialEq for ExactSecond {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for ExactSecond {}

/// Encode pairs sorted by strictly increasing value (equal values are
/// merged, counts saturating; a pair out of order is kept as a new value and
/// still reads back in the order given).
fn encode_pairs(pairs: impl IntoIterator<Item = (u64, u32)>, out: &mut Vec<u8>) {
    let mut prev = 0u64;
    let mut first = true;
    let mut pending: Option<(u64, u32)> = None;
    fn flush(out: &mut Vec<u8>, (k, c): (u64, u32), prev: &mut u64, first: &mut bool) {
        // the first value is stored whole, the others as the gap to the
        // previous one; a value below the previous one (not expected)
        // is escaped by a zero gap followed by the value whole
        if *first || k <= *prev {
            if !*first {
                put_varint(out, 0);
            }
            put_varint(out, k);
        } else {
            put_varint(out, k - *prev);
        }
        put_varint(out, c as u64);
        *prev = k;
        *first = false;
    }
    for (k, c) in pairs {
        match pending {
            Some((pk, pc)) if pk == k => pending = Some((pk, pc.saturating_add(c))),
            Some(p) => {
                flush(out, p, &mut prev, &mut first);
                pending = Some((k, c));
            }
            None => pending = Some((k, c)),
        }
    }
    if let Some(p) = pending {
        flush(out, p, &mut prev, &mut first);
    }
}

impl ExactSecond {
    /// Encode pairs sorted by strictly increasing value (equal values are
    /// merged, counts saturating; a pair out of order is kept as a new value
    /// and still reads back in the order given).
    pub fn from_sorted(pairs: impl IntoIterator<Item = (u64, u32)>) -> Self {
        let mut out: Vec<u8> = Vec::new();
        encode_pairs(pairs, &mut out);
        ExactSecond(ExactBytes::Inline(out.into_boxed_slice()))
    }

    /// The encoded bytes, read back from the spill file when they are there.
    ///
    /// The spill file is this process's own anonymous temporary file, fully
    /// written before any second is handed out. Failing to read it back means
    /// the system lost data under us: the second then reads as empty and the
    /// failure is kept for [`check_spill`], which every command calls before
    /// it gives a verdict or writes an output, so that a figure computed
    /// without those latencies is never shown (exit 2, not a panic).
    fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.0 {
            ExactBytes::Inline(b) => std::borrow::Cow::Borrowed(b),
            ExactBytes::Spilled { file, offset, len } => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; *len as usize];
                if let Err(e) = file.read_exact_at(&mut buf, *offset) {
                    let _ = SPILL_READ_ERROR.set(e.to_string());
                    return std::borrow::Cow::Owned(Vec::new());
                }
                std::borrow::Cow::Owned(buf)
            }
        }
    }

    /// The (lowest equivalent µs, count) pairs, in the order they were given.
    pub fn iter(&self) -> ExactSecondIter<'_> {
        ExactSecondIter {
            bytes: self.bytes(),
            at: 0,
            prev: 0,
            first: true,
        }
    }

    /// Whether it holds no pair.
    pub fn is_empty(&self) -> bool {
        self.encoded_bytes() == 0
    }

    /// Bytes the pairs take.
    pub fn encoded_bytes(&self) -> usize {
        match &self.0 {
            ExactBytes::Inline(b) => b.len(),
            ExactBytes::Spilled { len, .. } => *len as usize,
        }
    }

    /// Whether the bytes are in a spill file rather than in memory.
    pub fn is_spilled(&self) -> bool {
        matches!(self.0, ExactBytes::Spilled { .. })
    }
}

/// Where a reader puts the [`ExactSecond`]s it builds, in order: in memory up
/// to a budget, then appended to one anonymous temporary file (deleted by the
/// system when the last second referring to it is dropped), so that the
/// memory they take stays flat however many requests a long run has. If no
/// temporary file can be created, they stay in memory (correct, just larger).
#[derive(Debug)]
pub struct ExactSpill {
    budget_bytes: usize,
    inline_bytes: usize,
    file: Option<std::sync::Arc<std::fs::File>>,
    failed: bool,
    write_error: Option<std::io::Error>,
    written: u64,
    pending: Vec<u8>,
    pending_from: u64,
    scratch: Vec<u8>,
}

/// The first failure to read a spilled second back ([`ExactSecond`]).
static SPILL_READ_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn spill_error(message: &str, what: &str) -> crate::error::Error {
    crate::error::Error::Usage(format!(
        "cannot {what} the temporary file that holds the per-second latencies of a long run ({message}); no verdict can be given (free some space in the temporary directory, TMPDIR, and run again)"
    ))
}

/// Fails when a spilled second could not be read back in this process, so
/// that figures computed without it are not shown.
pub fn check_spill() -> crate::error::Result<()> {
    match SPILL_READ_ERROR.get() {
        Some(m) => Err(spill_error(m, "read back")),
        None => Ok(()),
    }
}

/// Encoded bytes an [`ExactSpill`] keeps in memory before it spills.
pub const EXACT_SPILL_BUDGET_BYTES: usize = 1 << 20;

/// Bytes gathered before one write to the spill file.
const SPILL_WRITE_BYTES: usize = 256 << 10;

impl ExactSpill {
    /// A spill that keeps up to `budget_bytes` of encoded pairs in memory.
    pub fn new(budget_bytes: usize) -> Self {
        ExactSpill {
            budget_bytes,
            inline_bytes: 0,
            file: None,
            failed: false,
            write_error: None,
            written: 0,
            pending: Vec::new(),
            pending_from: 0,
            scratch: Vec::new(),
        }
    }

    /// Encode one second's pairs (as [`ExactSecond::from_sorted`]). A spilled
    /// second can be read only after [`ExactSpill::finish`].
    pub fn push(&mut self, pairs: impl IntoIterator<Item = (u64, u32)>) -> ExactSecond {
        self.scratch.clear();
        encode_pairs(pairs, &mut self.scratch);
        // a boxed slice costs its bytes plus the allocator's ~16
        let cost = self.scratch.len() + 16;
        if self.inline_bytes + cost <= self.budget_bytes || !self.spill_ready() {
            self.inline_bytes += cost;
            return ExactSecond(ExactBytes::Inline(self.scratch.as_slice().into()));
        }
        let Some(file) = self.file.clone() else {
            return ExactSecond(ExactBytes::Inline(self.scratch.as_slice().into()));
        };
        let offset = self.pending_from + self.pending.len() as u64;
        self.pending.extend_from_slice(&self.scratch);
        let len = self.scratch.len() as u32;
        if self.pending.len() >= SPILL_WRITE_BYTES {
            self.write_pending();
        }
        ExactSecond(ExactBytes::Spilled { file, offset, len })
    }

    /// Whether the spill file is there (created on first need).
    fn spill_ready(&mut self) -> bool {
        if self.file.is_none() && !self.failed {
            match tempfile::tempfile() {
                Ok(f) => self.file = Some(std::sync::Arc::new(f)),
                Err(_) => self.failed = true,
            }
        }
        self.file.is_some() && !self.failed
    }

    fn write_pending(&mut self) {
        use std::os::unix::fs::FileExt;
        if let Some(f) = &self.file
            && !self.pending.is_empty()
        {
            if self.write_error.is_some() {
                self.pending.clear();
                return;
            }
            if let Err(e) = f.write_all_at(&self.pending, self.pending_from) {
                // a full disk: the seconds already handed out point at bytes
                // that are not there, so no windowed figure could be trusted;
                // `finish` reports it
                self.write_error = Some(e);
                self.pending.clear();
                return;
            }
            self.pending_from += self.pending.len() as u64;
            self.written = self.pending_from;
            self.pending.clear();
        }
    }

    /// Write what is still buffered; every second pushed can then be read.
    /// An error (a full disk) means some seconds were not written: the run
    /// cannot be used.
    pub fn finish(&mut self) -> crate::error::Result<()> {
        self.write_pending();
        self.pending = Vec::new();
        self.scratch = Vec::new();
        match self.write_error.take() {
            Some(e) => Err(spill_error(&e.to_string(), "write")),
            None => Ok(()),
        }
    }

    /// The pairs of a second this spill encoded, before [`ExactSpill::finish`]
    /// too (what is buffered is written first): a reader that gets more times
    /// for a second already encoded reads it back to encode it anew.
    pub fn pairs(&mut self, second: &ExactSecond) -> Vec<(u64, u32)> {
        if second.is_spilled() {
            self.write_pending();
        }
        second.iter().collect()
    }

    /// Bytes written to the spill file so far.
    pub fn spilled_bytes(&self) -> u64 {
        self.written
    }
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    // one or two bytes hold nearly every gap and count: no loop for them
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    if v < 0x4000 {
        out.extend_from_slice(&[(v as u8) | 0x80, (v >> 7) as u8]);
        return;
    }
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some((&b, rest)) = bytes.split_first() {
        *bytes = rest;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
    None
}

/// Iterator over the pairs of an [`ExactSecond`].
#[derive(Debug, Clone)]
pub struct ExactSecondIter<'a> {
    bytes: std::borrow::Cow<'a, [u8]>,
    at: usize,
    prev: u64,
    first: bool,
}

impl Iterator for ExactSecondIter<'_> {
    type Item = (u64, u32);
    fn next(&mut self) -> Option<(u64, u32)> {
        let mut rest = self.bytes.get(self.at..)?;
        let before = rest.len();
        let gap = get_varint(&mut rest)?;
        let k = if self.first {
            gap
        } else if gap == 0 {
            get_varint(&mut rest)?
        } else {
            self.prev + gap
        };
        let c = get_varint(&mut rest)?;
        self.at += before - rest.len();
        self.prev = k;
        self.first = false;
        Some((k, c as u32))
    }
}

impl<'a> IntoIterator for &'a ExactSecond {
    type Item = (u64, u32);
    type IntoIter = ExactSecondIter<'a>;
    fn into_iter(self) -> ExactSecondIter<'a> {
        self.iter()
    }
}

/// A load step of the test plan.
#[derive(Debug, Clone)]
pub struct LoadStep {
    /// What the step does: `Increasing`, `Maintaining`, `Decreasing`, ...
    pub action: String,
    /// When it started.
    pub start: UnixSeconds,
    /// Users at its start.
    pub users: u64,
}

/// Failures of one endpoint with one error.
#[derive(Debug, Clone)]
pub struct FailureGroup {
    /// Request type.
    pub kind: String,
    /// Request name.
    pub name: String,
    /// Error text as the tool wrote it.
    pub error: String,
    /// HTTP status, when recoverable; `Some(0)` for a transport error.
    pub status: Option<u16>,
    /// How many times.
    pub occurrences: u64,
    /// First seen.
    pub first_seen: Option<UnixSeconds>,
    /// Last seen.
    pub last_seen: Option<UnixSeconds>,
}

/// An exception raised by the load-test code itself.
#[derive(Debug, Clone)]
pub struct ExceptionGroup {
    /// How many times.
    pub count: u64,
    /// The message.
    pub message: String,
    /// The traceback.
    pub traceback: String,
    /// Where it happened.
    pub nodes: String,
}

/// A threshold the load-testing tool evaluated itself.
#[derive(Debug, Clone)]
pub struct ToolThreshold {
    /// The rule as written.
    pub rule: String,
    /// What the tool observed (its display text).
    pub observed: String,
    /// Whether it passed.
    pub passed: bool,
}

/// A scenario the load-testing tool ran, with its transactions (Goose's
/// scenario and transaction tables).
#[derive(Debug, Clone, Default)]
pub struct ToolScenario {
    /// Display name (`Monitoring`).
    pub name: String,
    /// Users that ran it.
    pub users: u64,
    /// Completed iterations (all transactions once, waits included).
    pub count: u64,
    /// Mean iteration time, ms.
    pub avg_ms: Option<f64>,
    /// Transactions: (name, runs, failed runs, mean ms).
    pub transactions: Vec<ToolTransaction>,
}

/// A transaction of a tool scenario.
#[derive(Debug, Clone, Default)]
pub struct ToolTransaction {
    /// Name (`get activity`).
    pub name: String,
    /// Runs.
    pub count: u64,
    /// Runs whose function returned an error.
    pub failures: u64,
    /// Mean run time, ms.
    pub avg_ms: Option<f64>,
}

/// Resource samples of the server under test.
#[derive(Debug, Clone, Default)]
pub struct ResourceSeries {
    /// The file they came from.
    pub source: PathBuf,
    /// The shape it was read as (`pidstat -h -r -u`, `psrecord --log (plain)`, ...).
    pub format: String,
    /// The samples, oldest first.
    pub samples: Vec<ResourceSample>,
    /// Sentences on assumptions made while reading (a guessed start time, units,
    /// summed processes), shown in the report.
    pub notes: Vec<String>,
}

/// One resource sample.
#[derive(Debug, Clone, Default)]
pub struct ResourceSample {
    /// When.
    pub t: UnixSeconds,
    /// CPU in percent of one core (100 = one core busy).
    pub cpu_percent: Option<f64>,
    /// Resident set size.
    pub rss_bytes: Option<f64>,
    /// Virtual memory size.
    pub vms_bytes: Option<f64>,
    /// Other numeric columns, by header name.
    pub extra: BTreeMap<String, f64>,
}

/// Find the endpoint a failure belongs to and sum failures by status code.
pub fn failures_by_status(failures: &[FailureGroup]) -> BTreeMap<Option<u16>, u64> {
    let mut out = BTreeMap::new();
    for f in failures {
        *out.entry(f.status).or_insert(0) += f.occurrences;
    }
    out
}

impl Run {
    /// Failures counted in the totals but missing from the failure groups: a
    /// Locust JSON counts up to shutdown, while its failures CSV is the stats
    /// CSV's snapshot, written up to ~1 s earlier. 0 when there are no groups.
    pub fn unlisted_failures(&self) -> u64 {
        if self.failures.is_empty() {
            return 0;
        }
        let listed: u64 = self.failures.iter().map(|f| f.occurrences).sum();
        self.total.failures.saturating_sub(listed)
    }

    /// An empty run of a tool, to be filled by a reader.
    pub fn new(label: impl Into<String>, tool: Tool) -> Self {
        Run {
            label: label.into(),
            tool,
            tool_version: None,
            sources: Vec::new(),
            provenance: Vec::new(),
            started: None,
            ended: None,
            duration_s: None,
            relative_times: false,
            peak_users: None,
            endpoints: Vec::new(),
            total: Endpoint {
                name: "Aggregated".into(),
                ..Endpoint::default()
            },
            timeline: Vec::new(),
            measured_window: None,
            measured_counts: None,
            steps: Vec::new(),
            failures: Vec::new(),
            exceptions: Vec::new(),
            tool_thresholds: Vec::new(),
            tool_scenarios: Vec::new(),
            ended_by: None,
            resources: None,
            rps_basis: None,
            stopped_early: None,
            generators: 1,
        }
    }
}

#[cfg(test)]
mod exact_second_tests {
    use super::ExactSecond;

    #[test]
    fn exact_second_gives_back_the_pairs_it_was_built_from() {
        // values like the exact histogram's keys: small, large, one near the
        // 1-hour cap, counts up to u32::MAX
        let mut pairs: Vec<(u64, u32)> = (0..3000u64)
            .map(|i| {
                (
                    1 + i * i * 977 % 3_600_000_000,
                    (i * 7919 % 1000) as u32 + 1,
                )
            })
            .collect();
        pairs.push((3_600_000_000, u32::MAX));
        pairs.push((0, 1));
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let e = ExactSecond::from_sorted(pairs.iter().copied());
        assert_eq!(e.iter().collect::<Vec<_>>(), pairs);
        assert!(e.encoded_bytes() < pairs.len() * 16);
        assert!(ExactSecond::from_sorted(std::iter::empty()).is_empty());
        assert_eq!(ExactSecond::default().iter().count(), 0);
    }

    /// Every varint length, at its edges (one and two bytes are written
    /// without the loop).
    #[test]
    fn varints_read_back_at_every_length_edge() {
        let mut values = vec![0u64, 1, u64::MAX];
        for bits in (7..64).step_by(7) {
            values.extend([(1u64 << bits) - 1, 1u64 << bits, (1u64 << bits) + 1]);
        }
        let mut out = Vec::new();
        for &v in &values {
            super::put_varint(&mut out, v);
        }
        let mut bytes = out.as_slice();
        for &v in &values {
            assert_eq!(super::get_varint(&mut bytes), Some(v));
        }
        assert!(bytes.is_empty());
        // one byte below 2^7, two below 2^14, three below 2^21
        for (v, len) in [(127u64, 1), (128, 2), (16_383, 2), (16_384, 3)] {
            let mut out = Vec::new();
            super::put_varint(&mut out, v);
            assert_eq!(out.len(), len, "{v}");
        }
    }

    #[test]
    fn spilled_seconds_read_back_what_was_pushed() {
        let seconds: Vec<Vec<(u64, u32)>> = (0..200u64)
            .map(|s| {
                (0..(s % 37))
                    .map(|i| (1 + i * 1000 + s, (i + s) as u32 + 1))
                    .collect()
            })
            .collect();
        // the first 100 bytes stay in memory, the rest goes to the file
        let mut spill = super::ExactSpill::new(100);
        let kept: Vec<ExactSecond> = seconds
            .iter()
            .map(|p| spill.push(p.iter().copied()))
            .collect();
        spill.finish().unwrap();
        assert!(kept.iter().any(|e| !e.is_spilled()));
        assert!(kept.iter().filter(|e| e.is_spilled()).count() > 150);
        assert!(spill.spilled_bytes() > 0);
        for (e, p) in kept.iter().zip(&seconds) {
            assert_eq!(&e.iter().collect::<Vec<_>>(), p);
            assert_eq!(e, &ExactSecond::from_sorted(p.iter().copied()));
        }
    }

    #[test]
    fn a_spill_file_that_cannot_be_written_is_an_error_not_a_panic() {
        // a file opened read-only stands for a full disk: every write fails
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spill");
        std::fs::write(&path, b"").unwrap();
        let mut spill = super::ExactSpill::new(100);
        spill.file = Some(std::sync::Arc::new(std::fs::File::open(&path).unwrap()));
        for s in 0..2000u64 {
            spill.push((0..20u64).map(|i| (1 + i * 1000 + s, 1)));
        }
        let e = spill.finish().unwrap_err();
        assert!(matches!(e, crate::error::Error::Usage(_)));
        assert!(
            e.to_string().contains("cannot write the temporary file"),
            "{e}"
        );
        assert_eq!(spill.spilled_bytes(), 0);
    }

    #[test]
    fn exact_second_merges_equal_values_and_keeps_unsorted_input() {
        let e = ExactSecond::from_sorted([(5, 1), (5, 2), (9, u32::MAX), (9, 3), (2, 4), (700, 1)]);
        assert_eq!(
            e.iter().collect::<Vec<_>>(),
            vec![(5, 3), (9, u32::MAX), (2, 4), (700, 1)]
        );
    }
}

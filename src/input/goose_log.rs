//! Goose request log (`--request-log FILE` with `--request-format csv` or
//! `json`, the latter JSON Lines; a `.gz` name is read through gzip). Seen:
//! Goose 0.19.0 (see `../shared/formats/goose.md`, section 8).
//!
//! One row per request of the **whole run, ramp-up included** (Goose does not
//! reset its logs). The file is streamed with bounded memory whatever its size:
//! per endpoint an HdrHistogram of the exact µs times (3 significant digits)
//! plus exact count/min/max/sum and status counts; failures grouped by
//! (method, name, error); a per-second timeline that keeps each second's
//! exact times (quantised like the exact histogram, only the values that
//! occurred), so that windowed targets merge the requests of a window
//! exactly. Rows are written when a request completes, so they arrive
//! roughly, not strictly, in `elapsed` order: a second stays open for
//! `OPEN_SECONDS` after the latest one seen, and a row that comes later
//! still is merged into its second afterwards (exactly; only rows more than
//! [`LATE_SECONDS`] late are left out of the exact times, and counted).
//!
//! The log has no absolute time, only `elapsed` (ms since the test started,
//! taken when the request was sent). Read alone, `started` is unknown and the
//! timeline's `t` and failures' first/last seen are **seconds since the start
//! of the test**; [`combine`] with the run's report.json turns them into unix
//! times.
//!
//! The CSV is split by a small hand-rolled RFC 4180 splitter (memchr to jump
//! between delimiters and quotes) rather than the `csv` crate: every row
//! carries a long quoted `raw` cell full of doubled quotes, and only 10 of its
//! 18 cells are needed, so skipping cells without unescaping them is about
//! twice as fast. The unit tests check it against the `csv` crate on the real
//! fixture. Its fast path (`fast_split`) does not walk the quotes: per 64-byte
//! block it takes bitmasks of `"`, `,` and `\n` (AVX-512BW or AVX2 where the
//! CPU has them, else SSE2), the quote parity as their prefix XOR (one
//! carry-less multiply), and so the separators outside quotes. A record is
//! delimited by storing the offset of each separator up to its newline (with
//! VBMI2, all of a block's at once: `vpcompressb` packs their indexes, which
//! are widened and stored 16 at a time; else take the lowest bit, store,
//! clear it, a few instructions a cell); whether a cell is quoted is looked
//! at only for the 10 cells a row uses. Where the CPU has AVX-512BW, VBMI2,
//! POPCNT and BMI1, the whole job loop is compiled for them
//! (`csv_job_avx512`), so that the classifier, the offset store and the
//! row's accumulation are inlined into it rather than called. A
//! per-block check that every quote stands where RFC 4180 puts one (an
//! opening quote after a separator or a closing quote, a closing quote before
//! a separator or an opening quote) makes that the general splitter's reading;
//! a record touching a block that fails it, a record without its newline or
//! one of more than 64 cells goes to the general splitter, and tests check
//! both give the same cells (random records) and the same scan. The main
//! thread cuts the file into ~2 MiB jobs at record boundaries (see
//! `scan_with`), and one worker per core (at most 4) parses them into its
//! own accumulators, merged at the end. Line numbers are not counted: an
//! error names its line within its job, turned into the file's line by
//! reading the file again up to that job. A plain file is memory-mapped
//! when the program has installed the guard of [`super::mapped`] (the
//! command does), so that the file is not copied into buffers (~10 % of the
//! CPU time), and a file cut short while it is read ends in an error, not in
//! SIGBUS; the worker releases the pages of its job every MiB as it goes.
//! Otherwise, and for gzip, the file is read into one buffer per worker. No
//! row allocates.
//!
//! Where the time goes now (`perf record` of `gate --stats` on the 1 GB,
//! 3.78 M-row log of `benches/reqlog.sh`, 2-core machine with AVX-512 and
//! VBMI2; issue 15, third round): ~70 % the workers' loop, everything of a
//! row inlined into it (classifying blocks, which mostly waits for the
//! file's bytes to come from memory, delimiting the cells, parsing, the
//! endpoint's and timeline's accumulation); ~5-7 % the per-second exact
//! times in the workers (`close_below`, sorting a closed second's keys) and
//! the batched bucket counts (`count_pending`, ~1.5-2.5 %); ~5-6 % merging
//! and encoding the exact seconds on the feeding thread (`encode_pairs`
//! ~3 %); ~14-24 % the kernel, mostly mapping the file's pages in and out
//! and the TLB-flush interrupts `madvise` sends to the other core (their
//! share varied from 3 % to 11 % between runs on this shared host). What
//! the third round changed, each step measured in paired runs against the
//! one before (`perf stat` CPU time, 12-16 interleaved runs each; the host's
//! noise was ±5-10 % a run): the separator offsets stored at once with VBMI2
//! and the loop compiled for AVX-512 with the per-block helpers inlined,
//! -11 % (the per-separator loop's exit was mispredicted about once a block:
//! `callgrind --branch-sim` counted ~4.9 of ~11.8 mispredictions a row in
//! `fast_split`); the recent-endpoint cache of two slots a key, -3 % (with
//! one slot, ~17 % of the benchmark log's rows went to the hash map, two
//! of its 12 endpoints taking turns in one slot); the key compare and the
//! method search inlined, -3.5 %; the first cell parsed as one word, the
//! method's end found in one word, inline key compares, one- and two-byte
//! varints without a loop, together ~-2 % (~1 misprediction a row each for
//! the first two). In all, -16.5 % CPU time (paired median of 16 runs), and
//! 0.35 s to 0.27 s of wall time in the benchmark's own interleaved runs
//! (`BASELINE=`). Tried and not kept: workers reading their jobs with
//! `pread` into buffers that stay in the L2 cache instead of mapping (the
//! copy costs what the mapping's faults, releases and cache misses cost),
//! releasing the pages behind done jobs every 4 jobs instead of every job
//! (1,501 to 1,131 `madvise` calls, no measurable gain, +0.4 MiB), the
//! exact seconds spilled to tmpfs instead of the disk's temporary directory
//! (~-1.5 %, within the noise; the directory is the user's `TMPDIR`).
//!
//! Where the time went before the third round (the same log, quiet 2-core
//! machine with AVX-512; issue 15, second round): ~39 % the workers' loop (delimiting the
//! 18 cells, parsing 4 numbers and 3 booleans, the row's glue), ~11 %
//! classifying blocks (`classify_avx512`: mostly waiting for the file's
//! bytes to come from memory; it took 9 % with AVX2, and prefetching ahead
//! did not help), ~14.5 % `Scan::add` (timeline, users, the endpoint's sums
//! and status counts) plus ~1.4 % adding batched rows to the endpoints'
//! bucket counts, ~8.5 % the per-second exact times (sorting and counting a
//! closed second's keys ~3 %, encoding [`crate::model::ExactSecond`] ~2.5 %,
//! finishing p50/p95 and merging the workers' ~2.5 %), ~17 % the kernel
//! mapping the file's pages in and out (faults, `madvise` and the TLB
//! flushes it sends to the other core), ~2.8 % finding the method in
//! `raw`, ~2.7 % comparing a row's name with its endpoint's key. Merging
//! the workers' accumulators is below 1 %.
//! Recording a latency is one byte incremented at HdrHistogram's bucket
//! index, computed once per row and shared with the per-second key; a full
//! byte is moved into the histogram (of `u32` counts while reading, widened
//! to `u64` once the total could pass `u32::MAX`), and the histograms are
//! built from the counts once the workers are done and the read buffers
//! freed (identical to recording each row: tested).
//! Changes of issue 15, each measured: `Histogram::record` into 8-byte counts
//! took ~22 % (cache misses more than instructions); the splitter's quote
//! walking ~35 %; counting newlines for line numbers ~2 %; hash maps of
//! the open seconds' times ~14 %; copying the file into read buffers ~11 %
//! (now mapped); counting quotes to cut jobs on record boundaries ~8 % (now
//! cut at the last newline, see `scan_with`); the bucket-count byte's
//! cache miss, taken row by row, ~10 % (now batched). Instructions
//! (callgrind, the first 113,000 rows): 3,100 a row at first, 2,900 before
//! the last four changes, 2,570 after; CPU time of the 1 GB run fell from
//! ~2.6 s to ~1.3 s (loaded machine, minimum of 5). The last round, on the
//! whole 1 GB log (callgrind: 2,261 instructions a row before, 1,751 after;
//! CPU time -14 %, wall time -20 %, 10 paired runs): a full `Cell` built for
//! every one of the 18 cells was ~14 % of the instructions (now offsets, see
//! above); `count_ones` without POPCNT in the x86_64 baseline, a dozen
//! instructions a block; `sort_unstable` of each closed second's keys (now
//! a radix sort, a tenth of the instructions at 1,000 rows a second); 1 MiB
//! jobs, whose per-job costs were ~5 % (now 2 MiB: 4 MiB was ~3 % faster
//! again, but the read buffers of a gzip log would have taken 12 MiB). The
//! ceiling set by reading is far below: `cat` into /dev/null takes ~0.09 s
//! and `wc -l` ~0.13 s on the quiet machine; the cost is the per-row work.
//! Peak memory is flat in the file's size, the run's length and the number
//! of names (issue 15: 19 to 29 MiB of peak RSS for `gate` on 100 MB to
//! 10 GB logs, 10-minute to 24-hour runs, 12 or 10,000 names, a 24-hour run
//! with 10,000 names included, up to ~6,000 requests/s; `benches/rss.sh`,
//! figures in the README). Open seconds are their rows' bucket indexes, 2
//! bytes a row, for `OPEN_SECONDS` + 1 seconds per thread (~0.4 MB a thread
//! at 63,000 requests/s; they were 121 hash maps, ~7 MB a thread). What held
//! the 24-hour, 10,000-name run at ~39 MiB: its ~15,000 failure groups (each
//! error names its URL; now at most [`MAX_FAILURE_GROUPS`]), ~6 MiB of the
//! peak in the reader threads; the glibc arenas keeping the threads' freed
//! memory under the timeline (now trimmed, `release_freed_memory`); 16-byte
//! per-second and 4-byte per-ms counts and 8-byte histogram counts per
//! thread (now 8, 2 and 4). What holds it:
//! - the exact (key, count) pairs of every second, which windowed targets
//!   merge exactly, grow with the number of requests: they are delta- and
//!   varint-encoded ([`crate::model::ExactSecond`], 2 to 4 bytes a pair) and,
//!   past 1 MiB, appended to an anonymous temporary file and read back with
//!   `pread` when a window is evaluated ([`crate::model::ExactSpill`]; read,
//!   not mapped, so that the pages do not count in the resident set). The
//!   pairs read back are the ones written: windowed figures are the same;
//! - per second of the run the reader keeps 8 bytes of counts per thread and,
//!   for seconds with times, its p50/p95 and pairs handle (~40 bytes, in
//!   chunks freed as the timeline takes them); the run's timeline itself is
//!   ~170 bytes a point (14 MB for 24 hours) and is the largest fixed cost;
//! - each of up to [`MAX_NAMES`] names keeps its times as a sorted list of
//!   (bucket, count) while it has at most 1,024 distinct buckets, and only
//!   then an HdrHistogram (8 to 95 KB of `u32` counts while reading, twice
//!   that once merged); the run gets the list as
//!   [`Distribution::ExactSparse`] (same buckets, same counts, so the same
//!   percentiles), so 500 rarely-requested names take a few MB, not ~90;
//! - while reading: for a mapped file, the pages of each worker's current
//!   MiB of its ~2 MiB job and the pages the kernel maps around them (a few
//!   MiB); for a read one (gzip), one ~2 MiB buffer per worker and the one
//!   being filled (~6 MiB, the largest cost there);
//! - per reader thread, the names collapsed into [`OTHER_NAME`] (for their
//!   count and the grouping hint; ~0.7 MB for 10,000 names) and at most
//!   [`MAX_FAILURE_GROUPS`] failure groups (~0.25 MB).
use crate::error::{Error, Result};
use crate::latency::{Distribution, Latency, exact_quantile, new_exact_histogram};
use crate::model::{Endpoint, FailureGroup, Run, TimelinePoint, Tool};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

/// Rows sent more than this many seconds before the latest row a reader
/// thread has seen are left out of their second's exact times (counted, and
/// said in the run's provenance); later rows within it are merged in exactly
/// (a row is written when its request completes, `elapsed` is when it was
/// sent). It bounds the work a log far out of order can cause.
pub const LATE_SECONDS: u64 = 120;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// Above this size a progress bar is shown (only when stderr is a terminal).
const PROGRESS_BYTES: u64 = 100 * 1024 * 1024;

/// Largest user index accepted (keeps the per-user table bounded).
const MAX_USERS: u64 = 1_000_000;

/// Distinct endpoint names (method + name) kept as their own row; the rest
/// are collapsed into one [`OTHER_NAME`] row. Each name holds a latency
/// histogram (tens of KB), so a log of unparameterised URLs (`/item/123`,
/// `/item/124`, ...) would otherwise need memory per distinct URL. Which names
/// keep a row depends on the order they first appear in the file.
pub const MAX_NAMES: usize = 500;

/// The name of the row that collects the names beyond [`MAX_NAMES`].
pub const OTHER_NAME: &str = "(other names)";

/// Collapsed names remembered (for the count and the grouping suggestion).
const MAX_COLLAPSED_TRACKED: usize = 100_000;

/// Latest `elapsed` accepted: 7 days in ms. The per-second timeline is sized
/// by the largest `elapsed` (about 100 bytes a second, 60 MB for 7 days), so a
/// value read from the file must be bounded.
pub const MAX_ELAPSED_MS: u64 = 7 * 24 * 3600 * 1000;

/// Largest response time recorded in a histogram (1 hour, in µs); larger
/// values count at this value (their exact sum and max are kept).
const MAX_RECORDED_US: u64 = 3_600_000_000;

/// Completions are counted per millisecond up to this point, so that the
/// requests after Goose's metrics reset can be counted exactly without a
/// second pass (ramp-ups longer than this are not estimated).
const EARLY_MS: u64 = 300_000;

/// Read a Goose request log, streaming; every row counts.
pub fn read(path: &Path, json_lines: bool) -> Result<Run> {
    read_window(path, json_lines, None)
}

/// Read a Goose request log, counting in the endpoints and failures only the
/// rows of requests that **completed** at or after `window_start_ms` (ms since
/// the start of the test: `elapsed + response time >= window_start_ms`).
///
/// That is how Goose's metrics reset decides what its report counts: the reset
/// happens when the Maintaining step begins, and a request in flight at that
/// moment is counted by the report when it completes. The timeline always
/// covers every row (ramp-up included).
pub fn read_window(path: &Path, json_lines: bool, window_start_ms: Option<f64>) -> Result<Run> {
    let stats = scan(path, json_lines, window_start_ms)?;
    // the reader threads' accumulators are freed: give their pages back
    // before the timeline is built, not after the peak
    release_freed_memory();
    let run = stats.into_run(path, window_start_ms);
    release_freed_memory();
    Ok(run)
}

/// Return the allocator's free pages to the system. glibc keeps memory
/// freed inside its arenas (the reader threads' accumulators once merged, the
/// finished seconds once the timeline has taken them) in the process's
/// resident set, and the timeline, the largest allocation, would then come on
/// top of it (issue 15, `benches/rss.sh`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free memory of the allocator's own
    // arenas to the system; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// One endpoint's accumulator.
struct EndpointAcc {
    /// Method, space, name, as in the log (the key of `Scan::index`).
    key: Vec<u8>,
    kind: String,
    name: String,
    /// The endpoint's times: a sorted list while it has few distinct
    /// buckets, then a histogram ([`Times`]).
    hist: Times,
    /// Once `hist` is a histogram: counts per HdrHistogram bucket index
    /// ([`hist_index`]) not yet in it, one byte each (a full one is moved
    /// into it): a row adds one to a slot of an array an eighth of the
    /// histogram's, which stays in the cache, instead of `Histogram::record`
    /// into 8-byte counts (a fifth of the reader's time, mostly cache
    /// misses). Moved in by [`Scan::build_histograms`] when the worker is done.
    counts: Vec<u8>,
    requests: u64,
    failures: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
    /// Count per status, in order of first appearance (a handful: a short
    /// list beats a map per row).
    status: Vec<(u16, u64)>,
}

/// Add `n` to the count of `status`.
#[inline]
fn count_status(counts: &mut Vec<(u16, u64)>, status: u16, n: u64) {
    match counts.iter_mut().find(|(s, _)| *s == status) {
        Some((_, c)) => *c += n,
        None => counts.push((status, n)),
    }
}

/// One failure group's accumulator.
struct FailureAcc {
    endpoint: usize,
    error: String,
    occurrences: u64,
    first_ms: u64,
    last_ms: u64,
    /// For the group of an endpoint's errors beyond [`MAX_FAILURE_GROUPS`]:
    /// their status (as [`super::locust_csv::status_from_error`] reads each
    /// error), the same for every error in it.
    other_errors: Option<Option<u16>>,
}

impl FailureAcc {
    fn add(&mut self, occurrences: u64, first_ms: u64, last_ms: u64) {
        self.occurrences += occurrences;
        self.first_ms = self.first_ms.min(first_ms);
        self.last_ms = self.last_ms.max(last_ms);
    }
}

/// Distinct (endpoint, error) failure groups kept apart. An error text
/// often carries the request's URL or an id, so a log of unparameterised
/// URLs (or of errors that quote a request id) has as many groups as
/// failures; each takes ~250 bytes in every reader thread (issue 15: 10,000
/// names made ~15,000 groups, ~6 MiB of a 24-hour log's peak). Errors first
/// seen after this many groups are counted per endpoint and status
/// (`other_errors_text`): the counts by endpoint and status stay exact.
pub const MAX_FAILURE_GROUPS: usize = 1000;

/// The header of a Goose CSV request log, for tests that write one.
#[cfg(test)]
const TEST_LOG_HEADER: &str = "elapsed,scenario_index,scenario_name,transaction_index,transaction_name,raw,name,final_url,redirected,response_time,status_code,success,update,user,error,coordinated_omission_elapsed,user_cadence,response_time_us\n";

/// One GET row of a Goose CSV request log, with its newline (tests);
/// `error` is written as given (quote it if it needs quotes).
#[cfg(test)]
fn test_log_row(
    elapsed_ms: u64,
    name: &str,
    response_us: u64,
    (status, ok): (u16, bool),
    user: u64,
    error: &str,
) -> String {
    format!(
        "{elapsed_ms},0,s,0,,\"GooseRawRequest {{ method: Get, url: \"\"http://h{name}\"\", headers: [], body: \"\"\"\", custom_method: \"\"\"\" }}\",{name},http://h{name},false,{},{status},{ok},false,{user},{error},0,0,{response_us}\n",
        response_us / 1000
    )
}

#[cfg(test)]
mod memory_tests {
    use super::*;
    use std::collections::BTreeMap;
    use tests::xorshift;

    /// What a generated failed row says: (name, status written, error).
    fn failed_row(i: u64) -> (&'static str, Option<u16>, String) {
        let name = ["/a", "/b", "/c"][(i / 2 % 3) as usize];
        // every error names its request: as many errors as failures
        match i % 4 {
            0 => (name, Some(404), format!("404 Not Found: {name}/{i}")),
            1 => (
                name,
                Some(500),
                format!("500 Internal Server Error: {name}/{i}"),
            ),
            2 => (
                name,
                Some(0),
                format!("error sending request {name}/{i}: client error (Connect)"),
            ),
            _ => (name, None, format!("assertion failed for item {i}")),
        }
    }

    /// A Goose CSV request log of `rows` rows, every third one successful,
    /// the others failing with an error of their own ([`failed_row`]).
    fn log(rows: u64) -> String {
        let mut out = String::from(TEST_LOG_HEADER);
        for i in 0..rows {
            let (name, status, error) = failed_row(i);
            let ok = i % 3 == 0;
            let (code, error) = match (ok, status) {
                (true, _) => (200, String::new()),
                (false, s) => (s.unwrap_or(200), error),
            };
            out.push_str(&test_log_row(
                i * 7,
                name,
                1000 + (i % 50) * 1000,
                (code, ok),
                i % 20,
                &error,
            ));
        }
        out
    }

    #[test]
    fn failures_beyond_the_cap_keep_exact_counts_per_endpoint_and_status() {
        // ~3.6 MB: several jobs, so several reader threads' groups are merged
        let rows = 30_000u64;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, log(rows)).unwrap();
        let mut want: BTreeMap<(String, Option<u16>), u64> = BTreeMap::new();
        for i in (0..rows).filter(|i| i % 3 != 0) {
            let (name, status, _) = failed_row(i);
            *want.entry((name.to_string(), status)).or_default() += 1;
        }
        let run = read(&path, false).unwrap();
        let mut got: BTreeMap<(String, Option<u16>), u64> = BTreeMap::new();
        for f in &run.failures {
            *got.entry((f.name.clone(), f.status)).or_default() += f.occurrences;
            assert!(f.first_seen <= f.last_seen);
        }
        assert_eq!(got, want);
        let others: Vec<_> = run
            .failures
            .iter()
            .filter(|f| f.error.contains("first seen after"))
            .collect();
        // one group of other errors per endpoint and status, the rest one error each
        assert_eq!(others.len(), want.len());
        assert_eq!(run.failures.len(), MAX_FAILURE_GROUPS + want.len());
        assert!(
            run.failures
                .iter()
                .filter(|f| !f.error.contains("first seen after"))
                .all(|f| f.occurrences == 1)
        );
        assert!(
            run.provenance
                .iter()
                .any(|p| p.contains("grouped by endpoint and status")),
            "{:?}",
            run.provenance
        );
        // the endpoints' own failure counts are untouched by the grouping
        for e in &run.endpoints {
            let n: u64 = want
                .iter()
                .filter(|((name, _), _)| *name == e.name)
                .map(|(_, n)| n)
                .sum();
            assert_eq!(e.failures, n, "{}", e.name);
        }
    }

    /// Rows go to their own endpoint whatever the recent-endpoint cache
    /// holds: 300 names of one length that share their last 8 bytes, short
    /// names, rows in random order; counts checked against the rows written.
    #[test]
    fn every_row_counts_for_its_own_endpoint_among_similar_names() {
        let mut names: Vec<String> = (0..300)
            .map(|i| format!("/x{i:03}/items/profile"))
            .collect();
        names.extend(["/", "/a", "/ab", "/abcdefg", "/abcdefgh"].map(String::from));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut out = String::from(TEST_LOG_HEADER);
        let mut want: BTreeMap<&str, u64> = BTreeMap::new();
        for i in 0..60_000u64 {
            // runs of one name now and then, as real logs have
            let name = &names[(xorshift(&mut x) % names.len() as u64) as usize];
            for _ in 0..1 + xorshift(&mut x) % 3 {
                *want.entry(name).or_default() += 1;
                out.push_str(&test_log_row(i, name, 1000, (200, true), 1, ""));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, out).unwrap();
        let run = read(&path, false).unwrap();
        let got: BTreeMap<&str, u64> = run
            .endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.requests))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_log_under_the_cap_keeps_every_error_apart() {
        let rows = 1200u64; // 800 failures, each its own error
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, log(rows)).unwrap();
        let run = read(&path, false).unwrap();
        assert_eq!(run.failures.len(), 800);
        assert!(run.failures.iter().all(|f| f.occurrences == 1));
        assert!(
            !run.provenance
                .iter()
                .any(|p| p.contains("grouped by endpoint and status"))
        );
    }

    #[test]
    fn a_busy_ms_before_the_reset_is_counted_exactly() {
        // 10 users start 100 ms apart (reset estimated at 900 + 100 ms); 700
        // requests complete in ms 500, more than a byte of `early` holds
        let mut rows: Vec<(u64, u64, bool)> = Vec::new(); // (elapsed ms, response ms, ok)
        for u in 0..10u64 {
            rows.push((u * 100, 3, true));
        }
        // twice: at the start and ~1.3 MB on, in another job, so that two
        // reader threads' full bytes are merged
        let busy = |rows: &mut Vec<(u64, u64, bool)>| {
            for i in 0..700u64 {
                rows.push((500 - i % 5, i % 5, i % 7 != 0));
            }
        };
        busy(&mut rows);
        for i in 0..12_000u64 {
            rows.push((1000 + i, 1 + i % 40, i % 11 != 0));
            if i == 7000 {
                busy(&mut rows);
            }
        }
        let mut text = String::from(TEST_LOG_HEADER);
        for (i, &(elapsed, ms, ok)) in rows.iter().enumerate() {
            let user = if i < 10 { i } else { i % 5 };
            let (code, error) = if ok {
                (200, "")
            } else {
                (500, "500 Internal Server Error")
            };
            text.push_str(&test_log_row(
                elapsed,
                "/x",
                ms * 1000,
                (code, ok),
                user as u64,
                error,
            ));
        }
        assert!(text.len() > 2 * JOB_BYTES);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, text).unwrap();
        let run = read(&path, false).unwrap();
        let counts = run.measured_counts.expect("a reset is estimated");
        assert!(
            counts.basis.contains("estimated at 1.000 s"),
            "{}",
            counts.basis
        );
        let after = rows.iter().filter(|r| r.0 + r.1 >= 1000);
        assert_eq!(counts.requests, after.clone().count() as u64);
        assert_eq!(counts.failures, after.filter(|r| !r.2).count() as u64);
    }

    #[test]
    fn narrow_histogram_counts_widen_before_they_could_saturate() {
        let mut t = Times::default();
        // more distinct buckets than the list keeps: a histogram of u32 counts
        for v in 0..2000u64 {
            t.record_n(v * 1000, 1);
        }
        assert!(matches!(t, Times::Dense32(_)));
        t.record_n(5_000, u32::MAX as u64);
        t.record_n(5_000, u32::MAX as u64);
        assert!(matches!(t, Times::Dense(_)));
        let h = t.into_wide();
        assert_eq!(h.len(), 2000 + 2 * u32::MAX as u64);
        assert_eq!(h.count_at(5_000), 1 + 2 * u32::MAX as u64);
    }

    #[test]
    fn the_other_errors_text_reads_back_as_its_status() {
        for status in [None, Some(0), Some(404), Some(500), Some(503), Some(302)] {
            assert_eq!(
                crate::input::locust_csv::status_from_error(&other_errors_text(status)),
                status
            );
        }
    }
}

/// The error text of an endpoint's group of errors beyond
/// [`MAX_FAILURE_GROUPS`], with status `status`; reading it back with
/// [`super::locust_csv::status_from_error`] gives the same status.
fn other_errors_text(status: Option<u16>) -> String {
    let cap = crate::format::count(MAX_FAILURE_GROUPS as u64);
    match status {
        Some(0) => format!(
            "(other connection errors: errors first seen after {cap} distinct ones, grouped by status)"
        ),
        Some(s) => format!(
            "{s} (other errors with this status: errors first seen after {cap} distinct ones)"
        ),
        None => {
            format!("(other errors without a status: errors first seen after {cap} distinct ones)")
        }
    }
}

/// Per-second counts of the timeline (8 bytes a second: a 24-hour run has
/// 86,400 of them per reader thread; the percentiles and exact times of a
/// second are kept apart, in [`Scan::finished`], only for seconds with times).
/// A `u32` holds any second of a real log (4.3 billion requests sent in one
/// second would be a log of hundreds of GB); more is an error, not a wrap.
#[derive(Default, Clone)]
struct Second {
    requests: u32,
    failures: u32,
}

/// The error for a second whose count does not fit [`Second`].
fn second_overflow() -> RowError {
    RowError {
        column: None,
        message: format!(
            "more than {} requests sent in one second of `elapsed`: not a request log this reader can count",
            u32::MAX
        ),
    }
}

/// The exact times of a closed second: (bucket index, count) sorted by index
/// (the index of HdrHistogram's bucket, [`hist_index`]; at most ~23,300 for
/// 1 hour, so it fits in a `u16`; [`hist_value`] gives the exact key).
type SecondPairs = Vec<(u16, u32)>;

/// Rows batched before they are added to their endpoints' bucket counts
/// ([`Scan::count_pending`]; 16 KB).
const PENDING_COUNTS: usize = 4096;

/// Seconds a reader thread keeps open behind the latest one it has seen:
/// rows arrive in completion order, so a second's rows are nearly all in by
/// then. An open second is only its rows' bucket indexes, appended (2 bytes a
/// row, sorted once when the second closes), which is both cheaper per row
/// than a hash map of counts (that took ~14 % of the reader's time, growing,
/// hashing and sorting) and small: 3 open seconds of a 63,000 requests/s run
/// are ~0.4 MB a thread, where 121 hash maps were ~7 MB. A row that comes
/// later than that (a request slower than ~3 s) goes to
/// [`SecondMerger`] on its own and is merged into its second there, exactly;
/// only one more than [`LATE_SECONDS`] behind is left out of the exact times.
const OPEN_SECONDS: u64 = 2;

/// Late rows a [`SecondMerger`] gathers before it merges them into their
/// seconds (8 bytes each).
const LATE_BATCH: usize = 1 << 16;

/// A problem with one row; the caller adds the file and line (counted only
/// when needed, so that rows need not count their newlines).
struct RowError {
    column: Option<u64>,
    message: String,
}

impl RowError {
    fn at(self, path: &Path, line: u64) -> Error {
        Error::parse(path, Some(line), self.column, self.message)
    }
}

/// FxHash-style hasher for the small endpoint and failure maps (keys are short
/// byte strings from the log, so SipHash's DoS resistance buys nothing here).
#[derive(Default, Clone, Copy)]
struct FastHash(u64);

impl std::hash::Hasher for FastHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    /// The per-second maps' exact keys: one round, and the product's high
    /// half folded into the low bits, which pick the table slot (a key above
    /// 2,048 µs is a multiple of its bucket's width, so its own low bits are
    /// often all zero).
    fn write_u32(&mut self, v: u32) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let h = (self.0.rotate_left(5) ^ v as u64).wrapping_mul(K);
        self.0 = h ^ (h >> 32);
    }
}

type FastMap<V> = HashMap<Vec<u8>, V, std::hash::BuildHasherDefault<FastHash>>;

/// What one row of either format carries that we use.
struct RowData<'a> {
    elapsed_ms: u64,
    method: &'a [u8],
    name: &'a [u8],
    response_us: u64,
    status: u16,
    success: bool,
    user: u64,
    error: &'a [u8],
}

/// Everything gathered in one pass.
struct Scan {
    endpoints: Vec<EndpointAcc>,
    index: FastMap<usize>,
    failures: Vec<FailureAcc>,
    failure_index: FastMap<usize>,
    /// Groups of `failures` that are one (endpoint, error), at most
    /// [`MAX_FAILURE_GROUPS`]; the others gather the errors beyond.
    kept_failure_groups: usize,
    seconds: Vec<Second>,
    /// The seconds the merger finished, in increasing order, in chunks of
    /// [`FINISHED_CHUNK`] (only on the merged accumulator): no doubling slack,
    /// and each chunk is freed as soon as the timeline has taken it.
    finished: Vec<Vec<FinishedSecond>>,
    /// Bucket indexes of the rows of the open seconds, `closed_below`
    /// onwards (at most [`OPEN_SECONDS`] + 1 of them).
    open: std::collections::VecDeque<Vec<u16>>,
    /// Emptied `open` vectors, kept for the next seconds.
    spare: Vec<Vec<u16>>,
    /// Room for [`sort_keys`].
    sort_scratch: Vec<u16>,
    /// Seconds closed since the merger last took them.
    closed_out: Vec<(u64, SecondPairs)>,
    /// Rows of already closed seconds, since the merger last took them:
    /// second << 16 | bucket index.
    late_out: Vec<u64>,
    closed_below: u64,
    /// Rows more than [`LATE_SECONDS`] behind the latest: counted in their
    /// second's rate, not in its exact times.
    late_rows: u64,
    users: Vec<(u32, u32)>,
    /// Per user, the elapsed ms of its first request (the ramp-up's shape).
    user_first_ms: Vec<u64>,
    /// Requests and failures completing in each ms below [`EARLY_MS`].
    /// One byte each (300 KB a thread where 4 bytes took 1.2 MB; issue 15):
    /// a count that passes 255 is moved into `early_full`.
    early: Vec<[u8; 2]>,
    /// Per ms, the counts moved out of full `early` bytes (a busy second).
    early_full: HashMap<u32, [u64; 2]>,
    rows: u64,
    update_rows: u64,
    rows_before: u64,
    sent_before_counted: u64,
    max_elapsed_ms: u64,
    window_start_us: Option<u64>,
    key: Vec<u8>,
    /// Endpoint last seen per [`recent_slots`] (a hit skips building and
    /// hashing the key; `usize::MAX`: none).
    recent: [usize; 64],
    /// Index of the [`OTHER_NAME`] endpoint, once a name was collapsed.
    other: Option<usize>,
    /// Rows of endpoints whose times are a histogram, not yet in their
    /// bucket counts: endpoint index << 16 | bucket index
    /// ([`Scan::count_pending`]).
    pending_counts: Vec<u32>,
    /// Keys collapsed into `other` (up to [`MAX_COLLAPSED_TRACKED`]).
    collapsed: std::collections::HashSet<Vec<u8>>,
    /// Whether more names were collapsed than `collapsed` holds.
    collapsed_overflow: bool,
}

/// Resize `v` to `len`, reserving in steps of 4,096 rather than doubling: the
/// per-second and per-ms tables of a long run would otherwise carry up to as
/// much unused capacity as they hold, per reader thread.
#[inline]
fn grow_to<T: Clone>(v: &mut Vec<T>, len: usize, fill: T) {
    if len > v.capacity() {
        v.reserve_exact(len.next_multiple_of(4096) - v.len());
    }
    v.resize(len, fill);
}

/// Two slots of `Scan::recent` for a row's method and name, from a cheap mix
/// of the method's first byte and length and the name's length, last 8 bytes
/// and middle 8 bytes. With one slot, two of a dozen endpoints sharing it
/// (likely: 12 keys in 64 slots) took turns evicting each other, and ~17 %
/// of the rows went to the hash map.
#[inline]
fn recent_slots(method: &[u8], name: &[u8]) -> (usize, usize) {
    let n = name.len();
    let word = |at: usize| u64::from_le_bytes(name[at..at + 8].try_into().unwrap_or_default());
    let (tail, middle) = if n >= 8 {
        (word(n - 8), word((n - 8) / 2))
    } else {
        let mut w = [0u8; 8];
        for (slot, &b) in w.iter_mut().zip(name) {
            *slot = b;
        }
        (u64::from_le_bytes(w), 0)
    };
    let m = method.first().copied().unwrap_or(0) as u64 | (method.len() as u64) << 8;
    let h = (tail ^ middle.rotate_left(23) ^ (n as u64).rotate_left(48) ^ m.rotate_left(32))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 58) as usize, (h >> 52) as usize & 63)
}

/// Whether `key` is `method`, a space, `name`.
#[inline(always)]
fn is_key(key: &[u8], method: &[u8], name: &[u8]) -> bool {
    key.len() == method.len() + 1 + name.len()
        && key[method.len()] == b' '
        && super::jsonl_fast::same_bytes(&key[..method.len()], method)
        && super::jsonl_fast::same_bytes(&key[method.len() + 1..], name)
}

impl Scan {
    fn new(window_start_ms: Option<f64>) -> Self {
        Scan {
            endpoints: Vec::new(),
            index: FastMap::default(),
            failures: Vec::new(),
            failure_index: FastMap::default(),
            kept_failure_groups: 0,
            seconds: Vec::new(),
            finished: Vec::new(),
            open: std::collections::VecDeque::new(),
            spare: Vec::new(),
            sort_scratch: Vec::new(),
            closed_out: Vec::new(),
            late_out: Vec::new(),
            closed_below: 0,
            late_rows: 0,
            users: Vec::new(),
            user_first_ms: Vec::new(),
            early: Vec::new(),
            early_full: HashMap::new(),
            rows: 0,
            update_rows: 0,
            rows_before: 0,
            sent_before_counted: 0,
            max_elapsed_ms: 0,
            window_start_us: window_start_ms.map(|ms| (ms.max(0.0) * 1000.0).round() as u64),
            key: Vec::with_capacity(256),
            recent: [usize::MAX; 64],
            other: None,
            pending_counts: Vec::with_capacity(PENDING_COUNTS),
            collapsed: std::collections::HashSet::new(),
            collapsed_overflow: false,
        }
    }

    /// Record one (non-update) row.
    #[inline(always)]
    fn add(&mut self, r: &RowData<'_>) -> std::result::Result<(), RowError> {
        if r.elapsed_ms > MAX_ELAPSED_MS {
            return Err(RowError {
                column: None,
                message: format!(
                    "`elapsed`: expected ms since the start of the test, at most {MAX_ELAPSED_MS} (7 days), found {}",
                    r.elapsed_ms
                ),
            });
        }
        self.rows += 1;
        self.max_elapsed_ms = self.max_elapsed_ms.max(r.elapsed_ms);
        let sec = r.elapsed_ms / 1000;
        let bucket = hist_index(r.response_us.min(MAX_RECORDED_US));

        // Timeline: every row, by send second.
        if sec as usize >= self.seconds.len() {
            grow_to(&mut self.seconds, sec as usize + 1, Second::default());
        }
        let s = &mut self.seconds[sec as usize];
        s.requests = s.requests.checked_add(1).ok_or_else(second_overflow)?;
        // at most `requests`: cannot overflow
        if !r.success {
            s.failures += 1;
        }
        // hist_value of this == exact_key(r.response_us), from the index
        // computed once; clamped to 1 hour, the index is below u16::MAX
        let key = bucket.max(1) as u16;
        if sec < self.closed_below {
            if sec + LATE_SECONDS >= self.max_elapsed_ms / 1000 {
                self.late_out.push(sec << 16 | key as u64);
            } else {
                self.late_rows += 1;
            }
        } else {
            if sec > OPEN_SECONDS + self.closed_below {
                self.close_below(sec - OPEN_SECONDS);
            }
            let at = (sec - self.closed_below) as usize;
            if at >= self.open.len() {
                let spare = &mut self.spare;
                self.open
                    .resize_with(at + 1, || spare.pop().unwrap_or_default());
            }
            self.open[at].push(key);
        }
        if r.user >= MAX_USERS {
            return Err(RowError {
                column: None,
                message: format!(
                    "`user`: expected a user index below {MAX_USERS}, found {}",
                    r.user
                ),
            });
        }
        let u = r.user as usize;
        if u >= self.users.len() {
            self.users.resize(u + 1, (u32::MAX, 0));
        }
        let span = &mut self.users[u];
        let sec32 = sec.min(u32::MAX as u64 - 1) as u32;
        span.0 = span.0.min(sec32);
        span.1 = span.1.max(sec32);
        if u >= self.user_first_ms.len() {
            self.user_first_ms.resize(u + 1, u64::MAX);
        }
        self.user_first_ms[u] = self.user_first_ms[u].min(r.elapsed_ms);
        let done_ms = r.elapsed_ms.saturating_add(r.response_us / 1000);
        if done_ms < EARLY_MS {
            let d = done_ms as usize;
            if d >= self.early.len() {
                grow_to(&mut self.early, d + 1, [0, 0]);
            }
            let slot = &mut self.early[d];
            if slot[0] < u8::MAX && slot[1] < u8::MAX {
                slot[0] += 1;
                slot[1] += u8::from(!r.success);
            } else {
                self.add_early(d, [1, u64::from(!r.success)]);
            }
        }

        // Endpoints and failures: only rows in the window.
        if let Some(from_us) = self.window_start_us {
            let sent_us = r.elapsed_ms.saturating_mul(1000);
            if sent_us.saturating_add(r.response_us) < from_us {
                self.rows_before += 1;
                return Ok(());
            }
            if sent_us < from_us {
                self.sent_before_counted += 1;
            }
        }
        let (first, second) = recent_slots(r.method, r.name);
        let is_row_key = |i: usize| {
            self.endpoints
                .get(i)
                .is_some_and(|e| is_key(&e.key, r.method, r.name))
        };
        let i = match (self.recent[first], self.recent[second]) {
            (i, _) if is_row_key(i) => i,
            (_, i) if is_row_key(i) => i,
            (taken, _) => {
                let i = self.endpoint_index(r)?;
                // the second slot when the first is taken, so that two
                // endpoints sharing their first slot both stay
                let slot = if taken == usize::MAX { first } else { second };
                self.recent[slot] = i;
                i
            }
        };
        let e = &mut self.endpoints[i];
        e.requests += 1;
        match &mut e.hist {
            Times::Sparse(_) => e.hist.record(r.response_us.min(MAX_RECORDED_US)),
            _ => {
                // counted in a batch: see `count_pending`
                self.pending_counts.push((i as u32) << 16 | bucket as u32);
                if self.pending_counts.len() == PENDING_COUNTS {
                    self.count_pending();
                }
            }
        }
        let e = &mut self.endpoints[i];
        e.sum_us = e.sum_us.saturating_add(r.response_us);
        e.min_us = e.min_us.min(r.response_us);
        e.max_us = e.max_us.max(r.response_us);
        count_status(&mut e.status, r.status, 1);
        if !r.success {
            e.failures += 1;
            self.count_failure(i, r.error, r.elapsed_ms);
        }
        Ok(())
    }

    /// Add the batched rows to their endpoints' bucket counts. A row's count
    /// is a byte at a random place in its endpoint's ~10-20 KB of counts,
    /// which the file streaming through the cache has evicted by the next
    /// time: incremented as each row was read, that load missed the cache
    /// nearly every row and was ~10 % of all the time; in a tight loop over a
    /// batch, the misses of many rows overlap.
    fn count_pending(&mut self) {
        for &entry in &self.pending_counts {
            let (i, bucket) = ((entry >> 16) as usize, (entry & 0xffff) as usize);
            let e = &mut self.endpoints[i];
            if bucket >= e.counts.len() {
                e.counts.resize(hist_len_for(bucket), 0);
            }
            let n = &mut e.counts[bucket];
            if *n == u8::MAX {
                e.hist.record_full_byte(bucket);
                *n = 0;
            }
            *n += 1;
        }
        self.pending_counts.clear();
    }

    /// Count one failed request of endpoint `i` in its (endpoint, error)
    /// group, or, once [`MAX_FAILURE_GROUPS`] groups exist, in the endpoint's
    /// group of other errors with the same status.
    fn count_failure(&mut self, i: usize, error: &[u8], at_ms: u64) {
        self.key.clear();
        self.key.extend_from_slice(&(i as u64).to_le_bytes());
        self.key.extend_from_slice(error);
        if let Some(&f) = self.failure_index.get(self.key.as_slice()) {
            self.failures[f].add(1, at_ms, at_ms);
            return;
        }
        let error = String::from_utf8_lossy(error).into_owned();
        self.add_failure_group(FailureAcc {
            endpoint: i,
            error,
            occurrences: 1,
            first_ms: at_ms,
            last_ms: at_ms,
            other_errors: None,
        });
    }

    /// Add a group that `self.key` (endpoint, error) did not find: as its own
    /// group below the cap, else into the endpoint's other errors of its
    /// status (found or created).
    fn add_failure_group(&mut self, mut f: FailureAcc) {
        if f.other_errors.is_none() && self.kept_failure_groups < MAX_FAILURE_GROUPS {
            self.kept_failure_groups += 1;
            self.failures.push(f);
            self.failure_index
                .insert(self.key.clone(), self.failures.len() - 1);
            return;
        }
        let status = match f.other_errors {
            Some(status) => status,
            None => super::locust_csv::status_from_error(&f.error),
        };
        self.key.clear();
        // not an endpoint index followed by an error: no real group's key
        self.key
            .extend_from_slice(&(f.endpoint as u64 | 1 << 63).to_le_bytes());
        self.key
            .extend_from_slice(&status.map_or(u32::MAX, u32::from).to_le_bytes());
        match self.failure_index.get(self.key.as_slice()) {
            Some(&k) => self.failures[k].add(f.occurrences, f.first_ms, f.last_ms),
            None => {
                f.error = other_errors_text(status);
                f.other_errors = Some(status);
                self.failures.push(f);
                self.failure_index
                    .insert(self.key.clone(), self.failures.len() - 1);
            }
        }
    }

    /// The endpoint of a row, created on its first row.
    fn endpoint_index(&mut self, r: &RowData<'_>) -> std::result::Result<usize, RowError> {
        self.key.clear();
        self.key.extend_from_slice(r.method);
        self.key.push(b' ');
        self.key.extend_from_slice(r.name);
        Ok(match self.index.get(self.key.as_slice()) {
            Some(&i) => i,
            None if self.index.len() >= MAX_NAMES => {
                let key = self.key.clone();
                self.note_collapsed(key);
                self.other_index()
            }
            None => {
                let text = |b: &[u8], what: &str| {
                    std::str::from_utf8(b)
                        .map(str::to_string)
                        .map_err(|_| RowError {
                            column: None,
                            message: format!("`{what}`: expected UTF-8 text"),
                        })
                };
                let kind = text(r.method, "raw.method")?.to_ascii_uppercase();
                let name = text(r.name, "name")?;
                self.endpoints.push(EndpointAcc {
                    key: self.key.clone(),
                    kind,
                    name,
                    hist: Times::default(),
                    counts: Vec::new(),
                    requests: 0,
                    failures: 0,
                    sum_us: 0,
                    min_us: u64::MAX,
                    max_us: 0,
                    status: Vec::new(),
                });
                self.index
                    .insert(self.key.clone(), self.endpoints.len() - 1);
                self.endpoints.len() - 1
            }
        })
    }

    /// Turn every endpoint's bucket counts into its histogram, with 8-byte
    /// counts (once, when the worker is done and the read buffers are freed;
    /// the histograms are what is merged and reported).
    fn build_histograms(&mut self) {
        self.count_pending();
        for e in &mut self.endpoints {
            let counts = std::mem::take(&mut e.counts);
            // counts are only kept once the times are a histogram
            if !matches!(e.hist, Times::Sparse(_)) {
                for (i, &n) in counts.iter().enumerate() {
                    if n > 0 {
                        e.hist.record_n(hist_value(i), n as u64);
                    }
                }
            }
            drop(counts);
            e.hist.widen();
        }
    }

    /// The [`OTHER_NAME`] endpoint, created on first use.
    fn other_index(&mut self) -> usize {
        if let Some(i) = self.other {
            return i;
        }
        self.endpoints.push(EndpointAcc {
            // not a `method name` key: no row's key can equal it
            key: Vec::new(),
            kind: String::new(),
            name: OTHER_NAME.to_string(),
            hist: Times::default(),
            counts: Vec::new(),
            requests: 0,
            failures: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            status: Vec::new(),
        });
        self.other = Some(self.endpoints.len() - 1);
        self.endpoints.len() - 1
    }

    /// Add requests and failures (`n`) completing in ms `d` (below
    /// [`EARLY_MS`], `early` long enough). Out of line: a row takes it only
    /// when a byte is full.
    #[inline(never)]
    fn add_early(&mut self, d: usize, n: [u64; 2]) {
        let slot = &mut self.early[d];
        for k in 0..2 {
            let t = slot[k] as u64 + n[k];
            if t <= u8::MAX as u64 {
                slot[k] = t as u8;
            } else {
                self.early_full.entry(d as u32).or_insert([0, 0])[k] += t;
                slot[k] = 0;
            }
        }
    }

    /// Remember a key collapsed into the other row.
    fn note_collapsed(&mut self, key: Vec<u8>) {
        if self.collapsed.len() < MAX_COLLAPSED_TRACKED {
            self.collapsed.insert(key);
        } else if !self.collapsed.contains(&key) {
            self.collapsed_overflow = true;
        }
    }

    /// Hand the per-second histograms of seconds below `limit` to the merger.
    fn close_below(&mut self, limit: u64) {
        while self.closed_below < limit {
            let Some(mut keys) = self.open.pop_front() else {
                break;
            };
            if !keys.is_empty() {
                sort_keys(&mut keys, &mut self.sort_scratch);
                self.closed_out
                    .push((self.closed_below, run_lengths(keys.iter().copied())));
            }
            if self.spare.len() <= OPEN_SECONDS as usize {
                keys.clear();
                self.spare.push(keys);
            }
            self.closed_below += 1;
        }
        self.closed_below = self.closed_below.max(limit);
    }

    /// Add another worker's accumulators to this one (per-second histograms
    /// are merged separately, by [`SecondMerger`]).
    fn merge(&mut self, other: Scan) -> std::result::Result<(), RowError> {
        let mut map = vec![0usize; other.endpoints.len()];
        let mut others: Vec<Option<EndpointAcc>> = other.endpoints.into_iter().map(Some).collect();
        for key in other.collapsed {
            self.note_collapsed(key);
        }
        self.collapsed_overflow |= other.collapsed_overflow;
        // the other worker's names in its order of first appearance, then its other row
        let mut order: Vec<(usize, Option<&Vec<u8>>)> =
            other.index.iter().map(|(k, &j)| (j, Some(k))).collect();
        order.sort_unstable_by_key(|&(j, _)| j);
        if let Some(j) = other.other {
            order.push((j, None));
        }
        for (j, key) in order {
            let Some(e) = others[j].take() else { continue };
            let found = match key {
                Some(k) => self.index.get(k.as_slice()).copied(),
                None => Some(self.other_index()),
            };
            let found = match (found, key) {
                (None, Some(k)) if self.index.len() >= MAX_NAMES => {
                    self.note_collapsed(k.clone());
                    Some(self.other_index())
                }
                (f, _) => f,
            };
            let i = match found {
                Some(i) => {
                    let mine = &mut self.endpoints[i];
                    mine.hist.add(e.hist).map_err(|err| RowError {
                        column: None,
                        message: format!("cannot merge histograms: {err:?}"),
                    })?;
                    mine.requests += e.requests;
                    mine.failures += e.failures;
                    mine.sum_us = mine.sum_us.saturating_add(e.sum_us);
                    mine.min_us = mine.min_us.min(e.min_us);
                    mine.max_us = mine.max_us.max(e.max_us);
                    for (k, v) in e.status {
                        count_status(&mut mine.status, k, v);
                    }
                    i
                }
                None => {
                    self.endpoints.push(e);
                    if let Some(k) = key {
                        self.index.insert(k.clone(), self.endpoints.len() - 1);
                    }
                    self.endpoints.len() - 1
                }
            };
            map[j] = i;
        }
        for f in other.failures {
            let endpoint = map[f.endpoint];
            let f = FailureAcc { endpoint, ..f };
            if f.other_errors.is_some() {
                self.add_failure_group(f);
                continue;
            }
            self.key.clear();
            self.key.extend_from_slice(&(endpoint as u64).to_le_bytes());
            self.key.extend_from_slice(f.error.as_bytes());
            match self.failure_index.get(self.key.as_slice()) {
                Some(&k) => self.failures[k].add(f.occurrences, f.first_ms, f.last_ms),
                None => self.add_failure_group(f),
            }
        }
        if other.seconds.len() > self.seconds.len() {
            self.seconds.resize(other.seconds.len(), Second::default());
        }
        for (mine, s) in self.seconds.iter_mut().zip(other.seconds) {
            mine.requests = mine
                .requests
                .checked_add(s.requests)
                .ok_or_else(second_overflow)?;
            mine.failures += s.failures;
        }
        if other.users.len() > self.users.len() {
            self.users.resize(other.users.len(), (u32::MAX, 0));
        }
        for (mine, u) in self.users.iter_mut().zip(other.users) {
            mine.0 = mine.0.min(u.0);
            mine.1 = mine.1.max(u.1);
        }
        if other.user_first_ms.len() > self.user_first_ms.len() {
            self.user_first_ms
                .resize(other.user_first_ms.len(), u64::MAX);
        }
        for (mine, f) in self.user_first_ms.iter_mut().zip(other.user_first_ms) {
            *mine = (*mine).min(f);
        }
        if other.early.len() > self.early.len() {
            self.early.resize(other.early.len(), [0, 0]);
        }
        for (d, e) in other.early.into_iter().enumerate() {
            self.add_early(d, e.map(u64::from));
        }
        for (d, e) in other.early_full {
            self.add_early(d as usize, e);
        }
        self.late_rows += other.late_rows;
        self.rows += other.rows;
        self.update_rows += other.update_rows;
        self.rows_before += other.rows_before;
        self.sent_before_counted += other.sent_before_counted;
        self.max_elapsed_ms = self.max_elapsed_ms.max(other.max_elapsed_ms);
        Ok(())
    }

    /// The requests Goose's report would count, from the log alone. Goose resets
    /// its metrics when the last user has been launched: users start one launch
    /// interval apart, so the reset is estimated as the last user's first
    /// request plus that interval ((last - first) / (users - 1)); the count is
    /// the requests that completed at or after it (completion = elapsed +
    /// response time, per ms).
    fn estimated_reset_counts(&self) -> Option<crate::model::MeasuredCounts> {
        let firsts: Vec<u64> = self
            .user_first_ms
            .iter()
            .copied()
            .filter(|f| *f != u64::MAX)
            .collect();
        let (first, last) = (*firsts.iter().min()?, *firsts.iter().max()?);
        let interval = if firsts.len() > 1 {
            (last - first) as f64 / (firsts.len() - 1) as f64
        } else {
            0.0
        };
        let reset_ms = last as f64 + interval;
        if reset_ms >= EARLY_MS as f64 {
            return None;
        }
        let cut = reset_ms.ceil() as usize;
        let (mut before, mut failed_before) = self
            .early
            .iter()
            .take(cut)
            .fold((0u64, 0u64), |(a, b), e| (a + e[0] as u64, b + e[1] as u64));
        for (&d, n) in &self.early_full {
            if (d as usize) < cut {
                before += n[0];
                failed_before += n[1];
            }
        }
        let failures: u64 = self.endpoints.iter().map(|e| e.failures).sum();
        Some(crate::model::MeasuredCounts {
            requests: self.rows - before,
            failures: failures.saturating_sub(failed_before),
            basis: format!(
                "estimated at {:.3} s (the last of {} users started at {:.3} s, one launch interval of {:.0} ms later), to the end",
                reset_ms / 1000.0,
                firsts.len(),
                last as f64 / 1000.0,
                interval
            ),
        })
    }

    fn into_run(mut self, path: &Path, window_start_ms: Option<f64>) -> Run {
        // before the endpoints are moved out below
        let reset_counts = self.estimated_reset_counts();
        let mut run = Run::new(label_of(path), Tool::Goose);
        run.sources.push(path.to_path_buf());
        // `combine` turns these into unix times when report.json is given
        run.relative_times = true;
        let duration = self.max_elapsed_ms as f64 / 1000.0;
        run.duration_s = Some(duration);

        // Users active in a second: those whose first..last request spans it.
        let n = self.seconds.len();
        let mut delta = vec![0i64; n + 1];
        for &(first, last) in &self.users {
            if first != u32::MAX {
                delta[first as usize] += 1;
                delta[(last as usize + 1).min(n)] -= 1;
            }
        }
        // freed before the timeline, the largest allocation, is built
        self.users = Vec::new();
        self.early = Vec::new();
        self.early_full = HashMap::new();
        self.user_first_ms = Vec::new();
        self.index = FastMap::default();
        self.failure_index = FastMap::default();
        let other_names = self.other.map(|_| {
            let shown = self.collapsed.len();
            format!(
                "The log names more than {MAX_NAMES} distinct endpoints: {}{shown} names beyond the first {MAX_NAMES} seen are collapsed into one `{OTHER_NAME}` row.{}",
                if self.collapsed_overflow { "over " } else { "" },
                grouping_hint(self.collapsed.iter())
            )
        });
        self.collapsed = std::collections::HashSet::new();
        let mut active = 0i64;
        let mut total_requests = 0u64;
        let mut total_failures = 0u64;
        let mut finished = std::mem::take(&mut self.finished)
            .into_iter()
            .flatten()
            .peekable();
        let seconds = std::mem::take(&mut self.seconds);
        run.timeline = seconds
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                if i > 0 && i % FINISHED_CHUNK == 0 {
                    // the finished seconds' chunks taken so far are freed, but
                    // the allocator keeps their pages while the timeline fills
                    // new ones: a 24-hour log peaked here ~3 MB higher
                    release_freed_memory();
                }
                active += delta[i];
                let mut fin = None;
                while let Some(f) = finished.next_if(|f| f.sec as usize <= i) {
                    if f.sec as usize == i {
                        fin = Some(f);
                    }
                }
                total_requests += s.requests as u64;
                total_failures += s.failures as u64;
                TimelinePoint {
                    t: i as f64,
                    users: Some(active.max(0) as u64),
                    rps: Some(s.requests as f64),
                    failures_per_s: Some(s.failures as f64),
                    p50_ms: fin.as_ref().map(|f| f.p50_us as f64 / 1000.0),
                    p95_ms: fin.as_ref().map(|f| f.p95_us as f64 / 1000.0),
                    p99_ms: None,
                    total_requests: Some(total_requests),
                    total_failures: Some(total_failures),
                    latency: fin.map(|f| crate::model::PointLatency::Exact(f.dist)),
                }
            })
            .collect();
        run.peak_users = run.timeline.iter().filter_map(|p| p.users).max();

        run.provenance.extend(other_names);
        let rps_divisor = duration;
        let labels: Vec<(String, String)> = self
            .endpoints
            .iter()
            .map(|e| (e.kind.clone(), e.name.clone()))
            .collect();
        run.endpoints = self
            .endpoints
            .drain(..)
            .map(|e| {
                let timed = e.requests > 0;
                Endpoint {
                    kind: e.kind,
                    name: e.name,
                    requests: e.requests,
                    failures: e.failures,
                    latency: Latency {
                        count: e.requests,
                        sum_ms: Some(e.sum_us as f64 / 1000.0),
                        min_ms: timed.then_some(e.min_us as f64 / 1000.0),
                        max_ms: timed.then_some(e.max_us as f64 / 1000.0),
                        dist: e.hist.into_distribution(),
                    },
                    rps: (rps_divisor > 0.0).then(|| e.requests as f64 / rps_divisor),
                    avg_content_bytes: None,
                    status_counts: e.status.into_iter().collect(),
                }
            })
            .collect();
        run.endpoints
            .sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
        run.total = super::locust_csv::aggregate(run.endpoints.iter());
        run.total.rps = (rps_divisor > 0.0).then(|| run.total.requests as f64 / rps_divisor);

        run.failures = self
            .failures
            .iter()
            .map(|f| {
                let e = &labels[f.endpoint];
                FailureGroup {
                    kind: e.0.clone(),
                    name: e.1.clone(),
                    status: match f.other_errors {
                        Some(status) => status,
                        None => super::locust_csv::status_from_error(&f.error),
                    },
                    error: f.error.clone(),
                    occurrences: f.occurrences,
                    first_seen: Some(f.first_ms as f64 / 1000.0),
                    last_seen: Some(f.last_ms as f64 / 1000.0),
                }
            })
            .collect();
        run.failures.sort_by(|a, b| {
            b.occurrences
                .cmp(&a.occurrences)
                .then_with(|| a.name.cmp(&b.name))
        });
        let beyond: u64 = self
            .failures
            .iter()
            .filter(|f| f.other_errors.is_some())
            .map(|f| f.occurrences)
            .sum();
        if beyond > 0 {
            run.provenance.push(format!(
                "The log has more than {} distinct (endpoint, error) failures: the {} failures whose error was first seen after them are grouped by endpoint and status (`(other ... errors ...)` rows); counts by endpoint and status are exact.",
                crate::format::count(MAX_FAILURE_GROUPS as u64),
                crate::format::count(beyond)
            ));
        }

        run.provenance.push(format!(
            "Percentiles from the request log's exact µs times (HdrHistogram, 3 significant digits, ±0.1 %); {} rows read{}.",
            self.rows,
            if self.update_rows > 0 {
                format!(
                    ", {} status-update rows (update=true) skipped",
                    self.update_rows
                )
            } else {
                String::new()
            }
        ));
        if window_start_ms.is_none() {
            run.provenance.push(
                "The request log has no absolute times and covers the whole run including ramp-up: times are seconds since the start of the test, RPS = requests / the last `elapsed`.".into(),
            );
            if let Some(counts) = reset_counts {
                run.provenance.push(format!(
                    "Goose's own report would count {} requests ({} failed): those completed after its metrics reset, {}. Pass the run's report.json too to apply the exact reset to every figure.",
                    counts.requests, counts.failures, counts.basis
                ));
                run.measured_counts = Some(counts);
            }
        }
        run.provenance.push(
            "Timeline: one point per second of `elapsed` (send time); users = users whose first and last request span that second; per-second p50/p95 from the exact times (±0.1 %).".into(),
        );
        if self.late_rows > 0 {
            run.provenance.push(format!(
                "{} rows arrived more than {LATE_SECONDS} s after later ones and are counted in their second's rate but not its p50/p95.",
                self.late_rows
            ));
        }
        run
    }
}

/// The label of a request log: the run folder for a generic `requests.*` name,
/// else the file stem.
fn label_of(path: &Path) -> String {
    super::label_from(path, &["requests", "request-log", "request_log"])
}

/// Distinct histogram values a name keeps as a sorted list before it gets a
/// histogram: 1,024 pairs take 8 KB, half the smallest histogram (a histogram
/// takes 16 to 190 KB, growing with the largest value).
const SPARSE_MAX: usize = 1024;

/// One name's exact times in one reader thread: a short sorted list of
/// (lowest equivalent µs, count) while the name has few distinct values (most
/// names beyond the busiest ones, e.g. `/item/123`), an HdrHistogram once it
/// has more. Both count by the same 3-significant-digit buckets, so the
/// histogram the run gets holds the same counts either way.
enum Times {
    /// (bucket floor in µs, at most 1 hour; count): 8 bytes a pair.
    Sparse(Vec<(u32, u32)>),
    /// While a reader thread counts: 4-byte counts, half the memory of a
    /// histogram of `u64` (issue 15: 1.5 MB of a 24-hour log's peak, 13 busy
    /// names a thread). Its total stays at most `u32::MAX` (it is widened
    /// first), so no count saturates.
    Dense32(Box<Histogram<u32>>),
    Dense(Box<Histogram<u64>>),
}

impl Default for Times {
    fn default() -> Self {
        Times::Sparse(Vec::new())
    }
}

impl Times {
    #[inline]
    fn record(&mut self, us: u64) {
        self.record_n(us, 1);
    }

    #[inline]
    fn record_n(&mut self, us: u64, n: u64) {
        match self {
            // cannot fail: the value is below the bound and the histogram resizes
            Times::Dense(h) => {
                let _ = h.record_n(us, n);
            }
            Times::Dense32(h) if h.len().saturating_add(n) <= u32::MAX as u64 => {
                let _ = h.record_n(us, n as u32);
            }
            Times::Dense32(_) => {
                self.widen();
                self.record_n(us, n);
            }
            Times::Sparse(_) => self.record_sparse(us, n),
        }
    }

    /// Record a full byte of bucket counts (255 at bucket index `bucket`);
    /// out of line, so that the per-row path stays small.
    #[inline(never)]
    fn record_full_byte(&mut self, bucket: usize) {
        self.record_n(hist_value(bucket), u8::MAX as u64);
    }

    /// The same counts in a histogram of `u64` counts ([`Times::Dense`]).
    fn widen(&mut self) {
        if matches!(self, Times::Dense32(_)) {
            let t = std::mem::take(self);
            *self = Times::Dense(t.into_wide());
        }
    }

    /// The times as a histogram of `u64` counts. Every bucket is recorded at
    /// its lowest equivalent value, as the bucket counts are ([`hist_value`]),
    /// so the histogram equals the one recording every value would give.
    fn into_wide(self) -> Box<Histogram<u64>> {
        match self {
            Times::Dense(h) => h,
            Times::Dense32(narrow) => {
                let mut h = new_endpoint_histogram();
                for v in narrow.iter_recorded() {
                    let at = narrow.lowest_equivalent(v.value_iterated_to());
                    // cannot fail: the value is below the bound and the histogram resizes
                    let _ = h.record_n(at, v.count_at_value() as u64);
                }
                Box::new(h)
            }
            Times::Sparse(pairs) => {
                let mut h = new_endpoint_histogram();
                for (k, c) in pairs {
                    let _ = h.record_n(k as u64, c as u64);
                }
                Box::new(h)
            }
        }
    }

    /// The list's side of [`Times::record_n`], kept out of line: busy names
    /// leave it after their first rows, so the per-row path stays small.
    #[inline(never)]
    fn record_sparse(&mut self, us: u64, n: u64) {
        let Times::Sparse(pairs) = self else {
            return self.record_n(us, n);
        };
        // floors of values clamped to 1 hour (3.6e9 µs) fit in a u32
        let key = crate::latency::exact_floor(us) as u32;
        let fits = u32::try_from(n).ok();
        match (pairs.binary_search_by_key(&key, |p| p.0), fits) {
            (Ok(i), Some(n)) if pairs[i].1.checked_add(n).is_some() => pairs[i].1 += n,
            (Err(i), Some(n)) if pairs.len() < SPARSE_MAX => pairs.insert(i, (key, n)),
            // too many distinct values, or a count beyond u32: a histogram
            _ => {
                let pairs = std::mem::take(pairs);
                *self = match Histogram::<u32>::new(3) {
                    Ok(h) => Times::Dense32(Box::new(h)),
                    Err(_) => Times::Dense(Box::new(new_endpoint_histogram())),
                };
                for (k, c) in pairs {
                    self.record_n(k as u64, c as u64);
                }
                self.record_n(key as u64, n);
            }
        }
    }

    /// Add another thread's times of the same name.
    fn add(&mut self, other: Times) -> std::result::Result<(), hdrhistogram::AdditionError> {
        match other {
            Times::Sparse(pairs) => {
                for (k, c) in pairs {
                    self.record_n(k as u64, c as u64);
                }
            }
            other => {
                let mut h = other.into_wide();
                match std::mem::take(self) {
                    Times::Sparse(pairs) => {
                        for (k, c) in pairs {
                            // cannot fail: the value is below the bound and the histogram resizes
                            let _ = h.record_n(k as u64, c as u64);
                        }
                    }
                    mine => h.add(&*mine.into_wide())?,
                }
                *self = Times::Dense(h);
            }
        }
        // a list that became a histogram on the way
        self.widen();
        Ok(())
    }

    /// The run's distribution: sparse names stay a short list
    /// ([`Distribution::ExactSparse`], the same counts as the histogram).
    fn into_distribution(self) -> Distribution {
        match self {
            Times::Sparse(pairs) => Distribution::ExactSparse(
                pairs
                    .into_iter()
                    .map(|(k, c)| (k as u64, c as u64))
                    .collect(),
            ),
            dense => Distribution::Exact(dense.into_wide()),
        }
    }
}

/// An endpoint's histogram: exact µs at 3 significant digits, like
/// [`new_exact_histogram`], but starting small and growing to the largest
/// value seen (a few KB for a fast endpoint instead of ~190 KB).
fn new_endpoint_histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap_or_else(|_| new_exact_histogram())
}

/// HdrHistogram's bucket index of `v` in an endpoint histogram (lowest
/// discernible value 1, 3 significant digits: 2048 sub-buckets, half 1024),
/// as `Histogram::record` computes it; `v` at most [`MAX_RECORDED_US`].
#[inline]
fn hist_index(v: u64) -> usize {
    // the leading-zero count base is 64 - 0 (unit magnitude) - 10 - 1
    let bucket = 53 - (v | 2047).leading_zeros();
    let sub = (v >> bucket) as usize;
    (((bucket as usize) + 1) << 10) + sub - 1024
}

/// The lowest value of bucket index `i` ([`hist_index`]'s inverse, as
/// HdrHistogram's `lowest_equivalent`).
#[inline]
fn hist_value(i: usize) -> u64 {
    let bucket = (i >> 10) as i64 - 1;
    let sub = ((i & 1023) + 1024) as u64;
    if bucket < 0 {
        sub - 1024
    } else {
        sub << bucket
    }
}

/// The length an endpoint histogram's counts grow to for index `i`: as
/// HdrHistogram's auto-resize, whole buckets, at least the 2048 slots of
/// `Histogram::new(3)`.
#[inline]
fn hist_len_for(i: usize) -> usize {
    (((i >> 10) + 1) << 10).max(2048)
}

/// A path with its numeric, hex and UUID-like segments replaced by `{id}`.
fn grouped_path(name: &str) -> String {
    let (path, query) = match name.split_once('?') {
        Some((p, _)) => (p, "?..."),
        None => (name, ""),
    };
    let segs: Vec<String> = path
        .split('/')
        .map(|seg| {
            let digits = seg.bytes().filter(u8::is_ascii_digit).count();
            let hexish = seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
            if !seg.is_empty() && digits > 0 && (digits == seg.len() || (hexish && seg.len() >= 8))
            {
                "{id}".to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    format!("{}{query}", segs.join("/"))
}

/// A sentence suggesting how to group the collapsed names (`/item/{id}`).
fn grouping_hint<'a>(keys: impl Iterator<Item = &'a Vec<u8>>) -> String {
    let mut patterns: HashMap<String, u64> = HashMap::new();
    for key in keys.take(10_000) {
        let text = String::from_utf8_lossy(key);
        let name = text.split_once(' ').map_or(&*text, |(_, n)| n);
        *patterns.entry(grouped_path(name)).or_default() += 1;
    }
    let mut top: Vec<(String, u64)> = patterns
        .into_iter()
        .filter(|(p, n)| *n > 1 && p.contains("{id}"))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if top.is_empty() {
        return " Name requests by their route in the load test (Goose: `.set_name(\"/item/{id}\")`) so that each route is one row.".into();
    }
    let shown: Vec<String> = top
        .iter()
        .take(3)
        .map(|(p, n)| format!("`{p}` ({n} names)"))
        .collect();
    format!(
        " They look like IDs in URLs: name the requests by route in the load test (Goose: `.set_name(\"{}\")`), e.g. {}.",
        top[0].0,
        shown.join(", ")
    )
}

/// Finished seconds per chunk of [`Scan::finished`].
const FINISHED_CHUNK: usize = 4096;

/// A finished second: p50 and p95 in µs, and its sorted (exact key, count)
/// pairs, compactly encoded (in memory or spilled, [`crate::model::ExactSpill`]).
struct FinishedSecond {
    /// At most 7 days of seconds ([`MAX_ELAPSED_MS`]).
    sec: u32,
    /// Highest equivalent values of keys clamped to 1 hour: below `u32::MAX`.
    p50_us: u32,
    p95_us: u32,
    dist: crate::model::ExactSecond,
}

/// Gathers the per-second maps the workers close, and turns a second into
/// p50/p95 once every worker has moved past it.
struct SecondMerger {
    open: BTreeMap<u64, SecondPairs>,
    /// Late rows not yet merged into their seconds ([`Scan::late_out`]).
    late: Vec<u64>,
    /// Seconds known only from late rows, with neither an open nor a finished
    /// entry when their rows came (merged into `finished` at the end).
    orphans: BTreeMap<u64, SecondPairs>,
    closed_below: Vec<u64>,
    /// The finished seconds, in increasing order (a second is finished once
    /// every worker has moved past it, so they finish in order), in chunks.
    finished: Vec<Vec<FinishedSecond>>,
    /// Whether a second finished before one it follows (not expected; then
    /// they are sorted at the end).
    unordered: bool,
    /// Where the exact pairs of finished seconds go.
    spill: crate::model::ExactSpill,
    /// Reused for sorting a second's pairs.
    sorted: Vec<(u64, u32)>,
    wide: Vec<(u64, u64)>,
}

// Encoded exact pairs kept in memory before they go to a temporary file
// (tests lower it to take the spill path on small fixtures).
thread_local! {
    // per thread (the one that calls the reader builds the merger), so that a
    // test lowering it does not change what tests running beside it read
    static SPILL_BUDGET_BYTES: std::cell::Cell<usize> =
        const { std::cell::Cell::new(crate::model::EXACT_SPILL_BUDGET_BYTES) };
}

impl SecondMerger {
    fn new(workers: usize) -> Self {
        SecondMerger {
            open: BTreeMap::new(),
            late: Vec::new(),
            orphans: BTreeMap::new(),
            closed_below: vec![0; workers],
            finished: Vec::new(),
            unordered: false,
            spill: crate::model::ExactSpill::new(SPILL_BUDGET_BYTES.get()),
            sorted: Vec::new(),
            wide: Vec::new(),
        }
    }

    fn take(
        &mut self,
        worker: usize,
        closed: Vec<(u64, SecondPairs)>,
        closed_below: u64,
        late: Vec<u64>,
    ) {
        for (sec, pairs) in closed {
            match self.open.entry(sec) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(pairs);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let merged = merge_pairs(o.get(), &pairs);
                    o.insert(merged);
                }
            }
        }
        self.closed_below[worker] = closed_below;
        let all_past = self.closed_below.iter().copied().min().unwrap_or(0);
        self.finalize_below(all_past);
        self.late.extend(late);
        if self.late.len() >= LATE_BATCH {
            self.merge_late();
        }
    }

    fn finalize_below(&mut self, limit: u64) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= limit {
                break;
            }
            let (sec, pairs) = entry.remove_entry();
            self.sorted.clear();
            self.sorted
                .extend(pairs.iter().map(|&(k, c)| (hist_value(k as usize), c)));
            let f = self.finish(sec);
            if let Some(last) = self.finished.last().and_then(|c| c.last()) {
                self.unordered |= last.sec >= f.sec;
            }
            match self.finished.last_mut() {
                Some(c) if c.len() < FINISHED_CHUNK => c.push(f),
                _ => {
                    let mut c = Vec::with_capacity(FINISHED_CHUNK);
                    c.push(f);
                    self.finished.push(c);
                }
            }
        }
    }

    /// The finished second `sec` from the sorted (exact key, count) pairs in
    /// `self.sorted`.
    fn finish(&mut self, sec: u64) -> FinishedSecond {
        self.wide.clear();
        self.wide
            .extend(self.sorted.iter().map(|&(k, c)| (k, c as u64)));
        let p50_us = exact_quantile(&self.wide, 0.5).unwrap_or(0);
        let p95_us = exact_quantile(&self.wide, 0.95).unwrap_or(0);
        let dist = self.spill.push(self.sorted.iter().copied());
        let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        FinishedSecond {
            sec: narrow(sec),
            p50_us: narrow(p50_us),
            p95_us: narrow(p95_us),
            dist,
        }
    }

    /// The finished second `sec`, if there is one (found by halving while
    /// the seconds finished in order).
    fn finished_mut(&mut self, sec: u64) -> Option<&mut FinishedSecond> {
        let sec = u32::try_from(sec).ok()?;
        if self.unordered {
            return self.finished.iter_mut().flatten().find(|f| f.sec == sec);
        }
        let chunk = self
            .finished
            .partition_point(|c| c.first().is_some_and(|f| f.sec <= sec))
            .checked_sub(1)?;
        let c = &mut self.finished[chunk];
        let at = c.binary_search_by_key(&sec, |f| f.sec).ok()?;
        Some(&mut c[at])
    }

    /// Merge the late rows gathered so far into their seconds: an open
    /// second takes them as more pairs, a finished one is finished again
    /// with them (its p50/p95 recomputed, its pairs written anew), the others
    /// wait as orphans.
    fn merge_late(&mut self) {
        let mut late = std::mem::take(&mut self.late);
        late.sort_unstable();
        for group in late.chunk_by(|a, b| a >> 16 == b >> 16) {
            let sec = group[0] >> 16;
            let pairs = run_lengths(group.iter().map(|&v| (v & 0xffff) as u16));
            if let Some(open) = self.open.get_mut(&sec) {
                *open = merge_pairs(open, &pairs);
            } else if !self.merge_into_finished(sec, &pairs) {
                let orphan = self.orphans.entry(sec).or_default();
                *orphan = merge_pairs(orphan, &pairs);
            }
        }
        late.clear();
        self.late = late;
    }

    /// Add `pairs` to the finished second `sec` (finishing it again); false
    /// if there is no such second.
    fn merge_into_finished(&mut self, sec: u64, pairs: &[(u16, u32)]) -> bool {
        let Some(f) = self.finished_mut(sec) else {
            return false;
        };
        let dist = std::mem::replace(&mut f.dist, crate::model::ExactSecond::from_sorted([]));
        let before = self.spill.pairs(&dist);
        let mut merged = Vec::with_capacity(before.len() + pairs.len());
        let mut added = pairs
            .iter()
            .map(|&(k, c)| (hist_value(k as usize), c))
            .peekable();
        for (k, c) in before {
            while let Some(&(ak, ac)) = added.peek().filter(|(ak, _)| *ak < k) {
                merged.push((ak, ac));
                added.next();
            }
            match added.peek() {
                Some(&(ak, ac)) if ak == k => {
                    merged.push((k, c.saturating_add(ac)));
                    added.next();
                }
                _ => merged.push((k, c)),
            }
        }
        merged.extend(added);
        self.sorted = merged;
        let refinished = self.finish(sec);
        if let Some(f) = self.finished_mut(sec) {
            *f = refinished;
        }
        true
    }

    /// Once every worker is done: every second finished, the late rows and
    /// orphans merged into theirs.
    fn finish_all(&mut self) {
        self.finalize_below(u64::MAX);
        self.merge_late();
        let orphans = std::mem::take(&mut self.orphans);
        if orphans.is_empty() && !self.unordered {
            return;
        }
        for (sec, pairs) in orphans {
            // every row of this second came late: it becomes a second of its own
            if !self.merge_into_finished(sec, &pairs) {
                self.open.insert(sec, pairs);
            }
        }
        self.finalize_below(u64::MAX);
        let mut all: Vec<FinishedSecond> = self.finished.drain(..).flatten().collect();
        all.sort_by_key(|f| f.sec);
        let mut all = all.into_iter().peekable();
        while all.peek().is_some() {
            self.finished
                .push(all.by_ref().take(FINISHED_CHUNK).collect());
        }
        self.unordered = false;
    }
}

/// Sort a closed second's bucket indexes: by radix (two passes of a byte)
/// once there are enough of them, which took a tenth of the instructions of
/// `sort_unstable` at 1,000 rows a second (that sort was ~4 % of the
/// reader's time); `scratch` is reused.
fn sort_keys(keys: &mut [u16], scratch: &mut Vec<u16>) {
    const RADIX_FROM: usize = 256;
    if keys.len() < RADIX_FROM {
        keys.sort_unstable();
        return;
    }
    let mut low = [0u32; 256];
    let mut high = [0u32; 256];
    for &k in keys.iter() {
        low[(k & 0xff) as usize] += 1;
        high[(k >> 8) as usize] += 1;
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    let starts = |counts: &mut [u32; 256]| {
        let mut at = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = at;
            at += n;
        }
    };
    starts(&mut low);
    starts(&mut high);
    for &k in keys.iter() {
        let slot = &mut low[(k & 0xff) as usize];
        scratch[*slot as usize] = k;
        *slot += 1;
    }
    for &k in scratch.iter() {
        let slot = &mut high[(k >> 8) as usize];
        keys[*slot as usize] = k;
        *slot += 1;
    }
}

/// Counts of equal values of a sorted sequence, in order.
fn run_lengths(sorted: impl Iterator<Item = u16>) -> SecondPairs {
    let mut out: SecondPairs = Vec::new();
    for k in sorted {
        match out.last_mut() {
            Some((last, n)) if *last == k => *n = n.saturating_add(1),
            _ => out.push((k, 1)),
        }
    }
    out
}

/// Two sorted pair lists as one, counts of equal keys added.
fn merge_pairs(a: &[(u16, u32)], b: &[(u16, u32)]) -> SecondPairs {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (ka, ca) = a[i];
        let (kb, cb) = b[j];
        if ka < kb {
            out.push(a[i]);
            i += 1;
        } else if kb < ka {
            out.push(b[j]);
            j += 1;
        } else {
            out.push((ka, ca.saturating_add(cb)));
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// A buffer over the (possibly gzipped) file, refilled as records are consumed.
struct Chunks {
    reader: Box<dyn Read>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    progress: Option<indicatif::ProgressBar>,
}

impl Chunks {
    fn open(path: &Path) -> Result<Chunks> {
        let file = super::open_input(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let reader = super::open_maybe_gz(path, file)?;
        use std::io::IsTerminal;
        let progress = (size > PROGRESS_BYTES && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(size);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("reading request log");
            bar
        });
        Ok(Chunks {
            reader,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            progress,
        })
    }

    /// The unconsumed bytes.
    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Read more: keep the unconsumed tail, grow only if one record fills the buffer.
    fn fill(&mut self, path: &Path) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let max = super::limits().max_line_bytes;
            if self.buf.len() as u64 >= max {
                return Err(line_too_long(path, Some(1), max));
            }
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    if let Some(p) = &self.progress {
                        p.finish_and_clear();
                    }
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    if let Some(p) = &self.progress {
                        p.inc(n as u64);
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(path, e)),
            }
        }
    }
}

/// A cell of a CSV record: byte range in the record, and whether it was quoted
/// with doubled quotes inside (then it needs unescaping).
#[derive(Clone, Copy, Default)]
struct Cell {
    start: usize,
    end: usize,
    escaped: bool,
}

/// Cells a record may have for the fast path ([`fast_split`]).
const FAST_CELLS: usize = 64;

/// Outcome of splitting one CSV record.
enum Split {
    /// A whole record: bytes consumed (terminator included).
    Record(usize),
    /// The data ends inside the record: read more first.
    NeedMore,
}

/// Split the CSV record at the start of `data` into `cells` (RFC 4180: a quoted
/// cell may hold `,`, newlines and doubled quotes). The error text is the
/// problem; the caller adds the file and line.
fn split_record(
    data: &[u8],
    at_eof: bool,
    cells: &mut Vec<Cell>,
) -> std::result::Result<Split, String> {
    cells.clear();
    let mut p = 0;
    loop {
        if data.get(p) == Some(&b'"') {
            let s = p + 1;
            let mut q = s;
            let mut escaped = false;
            let close = loop {
                match memchr::memchr(b'"', &data[q..]) {
                    None => {
                        return if at_eof {
                            Err("a quoted cell is not closed before the end of the file".into())
                        } else {
                            Ok(Split::NeedMore)
                        };
                    }
                    Some(i) => {
                        let k = q + i;
                        match data.get(k + 1) {
                            Some(b'"') => {
                                escaped = true;
                                q = k + 2;
                            }
                            None if !at_eof => return Ok(Split::NeedMore),
                            _ => break k,
                        }
                    }
                }
            };
            cells.push(Cell {
                start: s,
                end: close,
                escaped,
            });
            p = close + 1;
        } else {
            match memchr::memchr2(b',', b'\n', &data[p..]) {
                None => {
                    if !at_eof {
                        return Ok(Split::NeedMore);
                    }
                    let end = if data.last() == Some(&b'\r') {
                        data.len() - 1
                    } else {
                        data.len()
                    };
                    cells.push(Cell {
                        start: p,
                        end: end.max(p),
                        escaped: false,
                    });
                    return Ok(Split::Record(data.len()));
                }
                Some(i) => {
                    let k = p + i;
                    let end = if data[k] == b'\n' && k > p && data[k - 1] == b'\r' {
                        k - 1
                    } else {
                        k
                    };
                    cells.push(Cell {
                        start: p,
                        end,
                        escaped: false,
                    });
                    p = k;
                }
            }
        }
        match data.get(p) {
            Some(b',') => p += 1,
            Some(b'\n') => return Ok(Split::Record(p + 1)),
            Some(b'\r') if data.get(p + 1) == Some(&b'\n') => {
                return Ok(Split::Record(p + 2));
            }
            None if at_eof => return Ok(Split::Record(p)),
            None => return Ok(Split::NeedMore),
            Some(&c) => {
                return Err(format!(
                    "expected `,` or the end of the line after a quoted cell, found `{}`",
                    c as char
                ));
            }
        }
    }
}

/// The structure of a job in 64-byte blocks, read in order: bit `i` of a
/// mask stands for byte `base + i`. Quote parity runs on from block to block
/// (the prefix XOR of the quote bits), so that the separators outside quotes
/// are known without walking the quotes one by one.
///
/// That is [`split_record`]'s reading only where every quote is where RFC
/// 4180 puts one: a quote that opens (parity turns inside) follows a
/// separator, the start of the record or a quote that closed (a doubled
/// quote), and a quote that closes is followed by a separator or a quote that
/// opens. `bad` marks the quotes of a block that break that rule; records
/// touching such a block go to the general splitter.
struct Blocks<'a> {
    data: &'a [u8],
    /// The classifier this CPU runs ([`classify_with_parity`]).
    simd: Simd,
    base: usize,
    /// `,` or `\n` outside quotes.
    structural: u64,
    /// `\n` outside quotes.
    newlines: u64,
    /// Quotes out of place (see above).
    bad: u64,
    /// All ones when the byte after this block is inside quotes.
    carry: u64,
    /// Whether the last byte of the block is a separator (bit 0).
    last_sep: u64,
    /// Whether the last byte of the block is a closing quote (bit 0).
    last_close: u64,
}

impl<'a> Blocks<'a> {
    /// The blocks of `data`, classified at level `simd` (the reader's is
    /// [`Simd::detect`]'s; tests run every level the CPU has).
    fn with_simd(data: &'a [u8], simd: Simd) -> Self {
        let mut b = Blocks {
            data,
            simd,
            base: 0,
            structural: 0,
            newlines: 0,
            bad: 0,
            carry: 0,
            last_sep: 0,
            last_close: 0,
        };
        b.reset(0);
        b
    }

    /// Start again at `at`, a record boundary (outside quotes).
    fn reset(&mut self, at: usize) {
        self.load(at, 0, 1, 0);
    }

    #[inline(always)]
    fn load(&mut self, at: usize, carry: u64, prev_sep: u64, prev_close: u64) {
        self.base = at;
        let rest = self.data.get(at..).unwrap_or_default();
        // zeroed only for the last, short block (zeroing it for every block
        // was 4 stores each)
        let mut padded: [u8; 64];
        let block: &[u8; 64] = match rest.first_chunk::<64>() {
            Some(b) => b,
            None => {
                padded = [0u8; 64];
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            }
        };
        let (quotes, seps, newlines, parity) = classify_with_parity(block, self.simd);
        let inside = parity ^ carry;
        let open = quotes & inside;
        let close = quotes & !inside;
        let sep = seps & !inside;
        let after_sep = (sep << 1) | prev_sep;
        let after_close = (close << 1) | prev_close;
        self.bad = (open & !(after_sep | after_close)) | (after_close & !(sep | open));
        self.structural = sep;
        self.newlines = newlines & !inside;
        self.carry = 0u64.wrapping_sub(inside >> 63);
        self.last_sep = sep >> 63;
        self.last_close = close >> 63;
    }

    /// Move to the next block; false at the end of the data or when the
    /// next block has a quote out of place.
    #[inline(always)]
    fn advance(&mut self) -> bool {
        let next = self.base + 64;
        if next >= self.data.len() {
            return false;
        }
        self.load(next, self.carry, self.last_sep, self.last_close);
        self.bad == 0
    }
}

/// Bit `i` set when an odd number of bits `0..=i` of `x` are set.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The widest block classifier the CPU can run (ordered from narrowest).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Simd {
    /// SSE2 (every x86_64) or portable code, with the shifts of
    /// [`prefix_xor`].
    Baseline,
    /// AVX2 and carry-less multiplication ([`classify_avx2`]).
    Avx2,
    /// AVX-512BW and carry-less multiplication ([`classify_avx512`]).
    Avx512,
    /// [`Simd::Avx512`] plus VBMI2's byte compression, which stores a
    /// block's separator offsets at once ([`store_cuts_vbmi2`]), POPCNT and
    /// BMI1 (the CSV loop is compiled for them, [`csv_job_avx512`]).
    Avx512Vbmi2,
}

/// The level tests force on the reader (`u8::MAX`: none), so that whole
/// scans run at every level the CPU has ([`Simd::detect`]).
#[cfg(test)]
static FORCED_SIMD: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(u8::MAX);

impl Simd {
    fn detect() -> Simd {
        #[cfg(test)]
        {
            let forced = FORCED_SIMD.load(std::sync::atomic::Ordering::Relaxed);
            if let Some(&s) = Simd::available().iter().find(|&&s| s as u8 == forced) {
                return s;
            }
        }
        Simd::best()
    }

    /// The widest level this CPU runs.
    fn best() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            let clmul = std::is_x86_feature_detected!("pclmulqdq");
            if clmul && std::is_x86_feature_detected!("avx512bw") {
                if std::is_x86_feature_detected!("avx512vbmi2")
                    && std::is_x86_feature_detected!("popcnt")
                    && std::is_x86_feature_detected!("bmi1")
                {
                    return Simd::Avx512Vbmi2;
                }
                return Simd::Avx512;
            }
            if clmul && std::is_x86_feature_detected!("avx2") {
                return Simd::Avx2;
            }
        }
        Simd::Baseline
    }

    /// The levels this CPU can run, the baseline first (tests).
    #[cfg(test)]
    fn available() -> Vec<Simd> {
        let best = Simd::best();
        [Simd::Baseline, Simd::Avx2, Simd::Avx512, Simd::Avx512Vbmi2]
            .into_iter()
            .filter(|&s| s <= best)
            .collect()
    }
}

/// [`classify`] plus the quote parity ([`prefix_xor`] of the quote bits),
/// with the widest instructions the CPU has (`simd`, from [`Simd::detect`]):
/// AVX-512 compares 64 bytes at once into masks, AVX2 two halves of 32, and
/// both take the parity as one carry-less multiplication.
#[inline(always)]
fn classify_with_parity(block: &[u8; 64], simd: Simd) -> (u64, u64, u64, u64) {
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: `Simd::detect` chose this level only where the CPU has
        // AVX-512BW and PCLMULQDQ.
        Simd::Avx512 | Simd::Avx512Vbmi2 => return unsafe { classify_avx512(block) },
        // SAFETY: as above, AVX2 and PCLMULQDQ.
        Simd::Avx2 => return unsafe { classify_avx2(block) },
        Simd::Baseline => {}
    }
    let _ = simd;
    let (q, s, n) = classify(block);
    (q, s, n, prefix_xor(q))
}

/// [`classify_with_parity`] with AVX-512BW and PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,pclmulqdq")]
fn classify_avx512(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: 64 bytes at `block`; AVX-512BW is enabled.
    let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
    let q = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8));
    let c = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b',' as i8));
    let n = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8));
    (q, c | n, n, quote_parity(q))
}

/// The prefix XOR of the quote bits: their carry-less product with all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn quote_parity(q: u64) -> u64 {
    use std::arch::x86_64::*;
    _mm_cvtsi128_si64(_mm_clmulepi64_si128(
        _mm_set_epi64x(0, q as i64),
        _mm_set1_epi8(-1),
        0,
    )) as u64
}

/// [`classify_with_parity`] with AVX2 and PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,pclmulqdq")]
fn classify_avx2(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::*;
    let quote = _mm256_set1_epi8(b'"' as i8);
    let comma = _mm256_set1_epi8(b',' as i8);
    let newline = _mm256_set1_epi8(b'\n' as i8);
    let (mut q, mut s, mut n) = (0u64, 0u64, 0u64);
    for i in 0..2 {
        // SAFETY: 32 bytes at 32 * i < 64 are inside `block`; AVX2 is enabled.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * i).cast()) };
        let nl = _mm256_cmpeq_epi8(v, newline);
        let mq = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote)) as u32 as u64;
        let ms =
            _mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(v, comma), nl)) as u32 as u64;
        let mn = _mm256_movemask_epi8(nl) as u32 as u64;
        q |= mq << (32 * i);
        s |= ms << (32 * i);
        n |= mn << (32 * i);
    }
    (q, s, n, quote_parity(q))
}

/// Bitmasks of `"`, of `,`/`\n` and of `\n` in 64 bytes.
#[inline]
fn classify(block: &[u8; 64]) -> (u64, u64, u64) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: compiled only where SSE2 is enabled (every x86_64 target).
        unsafe { classify_sse2(block) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let (mut q, mut s, mut n) = (0u64, 0u64, 0u64);
        for (i, &c) in block.iter().enumerate() {
            q |= ((c == b'"') as u64) << i;
            s |= ((c == b',' || c == b'\n') as u64) << i;
            n |= ((c == b'\n') as u64) << i;
        }
        (q, s, n)
    }
}

/// [`classify`] with SSE2 (part of every x86_64).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn classify_sse2(block: &[u8; 64]) -> (u64, u64, u64) {
    {
        use std::arch::x86_64::*;
        let quote = _mm_set1_epi8(b'"' as i8);
        let comma = _mm_set1_epi8(b',' as i8);
        let newline = _mm_set1_epi8(b'\n' as i8);
        let (mut q, mut s, mut n) = (0u64, 0u64, 0u64);
        for i in 0..4 {
            // SAFETY: 16 bytes at 16 * i < 64 are inside `block`; SSE2 is part
            // of x86_64.
            let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * i).cast()) };
            let mq = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16 as u64;
            let nl = _mm_cmpeq_epi8(v, newline);
            let ms = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, comma), nl)) as u16 as u64;
            let mn = _mm_movemask_epi8(nl) as u16 as u64;
            q |= mq << (16 * i);
            s |= ms << (16 * i);
            n |= mn << (16 * i);
        }
        (q, s, n)
    }
}

/// The fast path of [`split_record`] for the record at `start` of a job, where
/// `blocks` stands (in its block or at the next one, outside quotes): the
/// separators outside quotes up to and including the record's newline, as
/// offsets from `start` into `ends` (cell `i` ends at `ends[i]`, see
/// [`FastCells`]), and the record's length with its newline. `None`
/// (nothing decided) for a record that touches a block with a quote out of
/// place ([`Blocks`]), a quoted cell before CRLF, a record without its
/// newline or one of more than [`FAST_CELLS`] cells: the general splitter
/// then takes that record, and reports any error.
///
/// Cells are only delimited here, a few instructions each (take the lowest
/// separator bit, store its offset, clear it); whether one is quoted is
/// looked at only for the cells a row uses. Building a full [`Cell`] for
/// each of the 18 cells was ~20 % of the reader's instructions.
#[inline(always)]
fn fast_split(blocks: &mut Blocks<'_>, start: usize, cuts: &mut Cuts) -> Option<usize> {
    while start >= blocks.base + 64 {
        if !blocks.advance() {
            return None;
        }
    }
    if blocks.bad != 0 {
        return None;
    }
    let mut n = 0;
    let mut m = blocks.structural & (u64::MAX << (start - blocks.base));
    loop {
        let newlines = blocks.newlines & m;
        // the separators up to and including the first newline, if any
        let take = if newlines != 0 {
            m & (newlines ^ (newlines - 1))
        } else {
            m
        };
        // at most 64 more cuts than FAST_CELLS: inside the array (and no
        // count of the bits first: without POPCNT in the baseline x86_64,
        // `count_ones` is a dozen instructions a block)
        if n > FAST_CELLS {
            return None;
        }
        let rel = blocks.base.wrapping_sub(start);
        n = store_cuts(take, rel, cuts, n, blocks.simd);
        if newlines != 0 {
            if n > FAST_CELLS {
                return None;
            }
            cuts.cells = n;
            let end = cuts.at[n & CUTS_MASK];
            // CRLF: the last cell ends before the CR (a quoted one cannot be
            // followed by it: `bad`)
            if end > cuts.at[(n - 1) & CUTS_MASK].wrapping_add(1)
                && blocks.data[start + end - 1] == b'\r'
            {
                cuts.at[n & CUTS_MASK] = end - 1;
            }
            return Some(end + 1);
        }
        if !blocks.advance() {
            return None;
        }
        m = blocks.structural;
    }
}

/// Store the offset (`rel` plus the bit's index) of each set bit of `take`,
/// lowest first, after the `n` cuts stored so far (`n` at most
/// [`FAST_CELLS`]); returns the new count.
#[inline(always)]
fn store_cuts(take: u64, rel: usize, cuts: &mut Cuts, mut n: usize, simd: Simd) -> usize {
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx512Vbmi2 {
        // SAFETY: `Simd::detect` chose this level only where the CPU has
        // AVX-512BW, AVX-512VBMI2 and POPCNT.
        return n + unsafe { store_cuts_vbmi2(take, rel, &mut cuts.at[n + 1..n + 65]) };
    }
    let _ = simd;
    let mut t = take;
    while t != 0 {
        n += 1;
        cuts.at[n & CUTS_MASK] = rel.wrapping_add(t.trailing_zeros() as usize);
        t &= t - 1;
    }
    n
}

/// [`store_cuts`] with VBMI2: the indexes of the set bits are compressed
/// into the low bytes of a vector in one instruction, then widened and
/// stored 8 at a time, from registers. The loop of one store per separator
/// ended after a number of separators that varies from block to block, and
/// its exit was mispredicted about once a block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,avx512vbmi2,popcnt")]
#[inline]
fn store_cuts_vbmi2(take: u64, rel: usize, out: &mut [usize]) -> usize {
    use std::arch::x86_64::*;
    static INDEXES: [u8; 64] = {
        let mut a = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            a[i] = i as u8;
            i += 1;
        }
        a
    };
    let out = &mut out[..64];
    let count = take.count_ones() as usize;
    // SAFETY: 64 bytes at `INDEXES`; the features are enabled.
    let packed =
        _mm512_maskz_compress_epi8(take, unsafe { _mm512_loadu_si512(INDEXES.as_ptr().cast()) });
    let rel = _mm512_set1_epi64(rel as i64);
    // 16 offsets from a 16-byte quarter of `packed`, at `out[at..at + 16]`
    let mut store16 = |quarter: __m128i, at: usize| {
        let low = _mm512_add_epi64(_mm512_cvtepu8_epi64(quarter), rel);
        let high = _mm512_add_epi64(
            _mm512_cvtepu8_epi64(_mm_unpackhi_epi64(quarter, quarter)),
            rel,
        );
        let slots = &mut out[at..at + 16];
        // SAFETY: 16 slots of 8 bytes at `slots`.
        unsafe {
            _mm512_storeu_si512(slots.as_mut_ptr().cast(), low);
            _mm512_storeu_si512(slots.as_mut_ptr().add(8).cast(), high);
        }
    };
    // the first 16 always (a record's separators in one block rarely pass
    // 16), so that there is no branch on the count below that
    store16(_mm512_castsi512_si128(packed), 0);
    if count > 16 {
        store16(_mm512_extracti32x4_epi32::<1>(packed), 16);
        if count > 32 {
            store16(_mm512_extracti32x4_epi32::<2>(packed), 32);
            if count > 48 {
                store16(_mm512_extracti32x4_epi32::<3>(packed), 48);
            }
        }
    }
    count
}

/// The separators of a record cut by [`fast_split`], as offsets from its
/// start: cell `i` lies between `at[i]` and `at[i + 1]` (`at[0]` stands one
/// before the record, wrapping; the last cell ends before a CR that
/// precedes the newline).
struct Cuts {
    at: [usize; CUTS_MASK + 1],
    cells: usize,
}

/// Indexes into [`Cuts::at`] are masked with this (one less than a power of
/// two, above [`FAST_CELLS`] + 64, what [`fast_split`] may write before it
/// gives up), which spares the bounds checks.
const CUTS_MASK: usize = 255;

impl Cuts {
    fn new() -> Self {
        let mut at = [0; CUTS_MASK + 1];
        at[0] = usize::MAX;
        Cuts { at, cells: 0 }
    }
}

/// The cells of a record, by column.
trait RecordCells {
    fn len(&self) -> usize;
    fn cell(&self, i: usize) -> Cell;
    /// Whether the record is an empty line.
    fn is_blank(&self) -> bool {
        self.len() == 1 && {
            let c = self.cell(0);
            c.start == c.end
        }
    }
}

impl RecordCells for [Cell] {
    #[inline]
    fn len(&self) -> usize {
        <[Cell]>::len(self)
    }
    #[inline]
    fn cell(&self, i: usize) -> Cell {
        self[i]
    }
}

/// A record cut by [`fast_split`]. A cell starting with a quote is what lies
/// between its quotes ([`Blocks`] has checked that the closing one is right
/// before the separator), marked `escaped` (it may hold doubled quotes).
struct FastCells<'a> {
    rec: &'a [u8],
    cuts: &'a Cuts,
}

impl RecordCells for FastCells<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.cuts.cells
    }
    #[inline]
    fn cell(&self, i: usize) -> Cell {
        let start = self.cuts.at[i & CUTS_MASK].wrapping_add(1);
        let end = self.cuts.at[(i + 1) & CUTS_MASK];
        if self.rec.get(start) == Some(&b'"') {
            return Cell {
                start: start + 1,
                end: end - 1,
                escaped: true,
            };
        }
        Cell {
            start,
            end,
            escaped: false,
        }
    }
}

/// Undo CSV quote doubling into `scratch` when needed.
#[inline]
fn unescape<'a>(raw: &'a [u8], escaped: bool, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if !escaped {
        return raw;
    }
    unescape_into(raw, scratch)
}

/// [`unescape`]'s copy, out of line (names and errors are rarely quoted).
#[inline(never)]
fn unescape_into<'a>(raw: &[u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    scratch.clear();
    let mut i = 0;
    while i < raw.len() {
        scratch.push(raw[i]);
        i += if raw[i] == b'"' && raw.get(i + 1) == Some(&b'"') {
            2
        } else {
            1
        };
    }
    scratch
}

#[inline]
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
}

#[inline]
fn parse_bool(b: &[u8]) -> Option<bool> {
    match b {
        b"true" => Some(true),
        b"false" => Some(false),
        _ => None,
    }
}

/// The method inside the CSV `raw` cell: `GooseRawRequest { method: Get, ...`.
#[inline(always)]
fn method_in_raw(raw: &[u8]) -> Option<&[u8]> {
    const PREFIX: &[u8; 26] = b"GooseRawRequest { method: ";
    // a fixed-size compare is inlined; `starts_with` called memcmp
    let at = if raw.first_chunk::<26>() == Some(PREFIX) {
        PREFIX.len()
    } else {
        memchr::memmem::find(raw, b"method: ")? + b"method: ".len()
    };
    let rest = &raw[at..];
    // a method of up to 7 letters ends within one 8-byte word: its end is
    // found without a loop whose exit, at 3 (Get) or 4 (Post) bytes from row
    // to row, was mispredicted
    let end = match rest.first_chunk::<8>() {
        Some(word) => match word_stop(u64::from_le_bytes(*word)) {
            Some(end) => end,
            None => method_end(rest),
        },
        None => method_end(rest),
    };
    (end > 0).then_some(&rest[..end])
}

/// Where the method in `rest` ends: the first `,`, ` ` or `}` (or the end).
fn method_end(rest: &[u8]) -> usize {
    memchr::memchr3(b',', b' ', b'}', rest).unwrap_or(rest.len())
}

/// The index of the first `,`, ` ` or `}` among the 8 bytes of `word`
/// (little-endian), if any.
#[inline]
fn word_stop(word: u64) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // a zero byte of `x` sets its high bit here; a bit above the lowest zero
    // byte may be set wrongly (a borrow), so only the lowest one is trusted
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let found = zero(word ^ (ONES * b',' as u64))
        | zero(word ^ (ONES * b' ' as u64))
        | zero(word ^ (ONES * b'}' as u64));
    (found != 0).then(|| found.trailing_zeros() as usize / 8)
}

/// Column indexes of the CSV cells we use.
struct Columns {
    count: usize,
    elapsed: usize,
    raw: Option<usize>,
    method: Option<usize>,
    name: usize,
    response_time: Option<usize>,
    response_time_us: Option<usize>,
    status_code: usize,
    success: usize,
    update: Option<usize>,
    user: usize,
    error: usize,
    headers: Vec<String>,
}

impl Columns {
    fn from_header(path: &Path, header: &[u8], cells: &[Cell]) -> Result<Columns> {
        let headers: Vec<String> = cells
            .iter()
            .map(|c| {
                String::from_utf8_lossy(&header[c.start..c.end])
                    .trim()
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let find = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
        let need = |n: &str| {
            find(n).ok_or_else(|| {
                Error::parse(
                    path,
                    Some(1),
                    None,
                    format!(
                        "expected a `{n}` column in the Goose request log header, found `{}`",
                        headers.join(",")
                    ),
                )
            })
        };
        let cols = Columns {
            count: headers.len(),
            elapsed: need("elapsed")?,
            raw: find("raw"),
            method: find("method"),
            name: need("name")?,
            response_time: find("response_time"),
            response_time_us: find("response_time_us"),
            status_code: need("status_code")?,
            success: need("success")?,
            update: find("update"),
            user: need("user")?,
            error: need("error")?,
            headers: Vec::new(),
        };
        if cols.raw.is_none() && cols.method.is_none() {
            return Err(Error::parse(
                path,
                Some(1),
                None,
                "expected a `raw` (or `method`) column in the Goose request log header: the method is only inside `raw`",
            ));
        }
        if cols.response_time.is_none() && cols.response_time_us.is_none() {
            return Err(Error::parse(
                path,
                Some(1),
                None,
                "expected a `response_time_us` or `response_time` column in the Goose request log header",
            ));
        }
        Ok(Columns { headers, ..cols })
    }

    fn name(&self, i: usize) -> &str {
        self.headers.get(i).map(String::as_str).unwrap_or("?")
    }
}

/// Bytes handed to a worker at a time. Each job costs tens of µs (messages,
/// waking threads, the pages two jobs share faulted in and released twice):
/// at 1 MiB that was ~5 % of the CPU time of a 1 GB log. Mapped jobs are
/// ranges, so their size costs no memory (the worker releases their pages
/// every [`RELEASE_STEP`]); read jobs are buffers, at most one per worker
/// plus the one being filled. Unit tests use 1 MiB, so that files of a few
/// MB make several jobs; the reading is the same at any size.
const JOB_BYTES: usize = if cfg!(test) { 1 << 20 } else { 2 << 20 };

/// A run of whole records for a worker (`buf[..len]`), with the offset of
/// its first byte in the (decompressed) file. The buffer is reused from job to
/// job and kept at its full size, so that refilling it does not zero it first.
///
/// Jobs carry no line numbers: a worker's error names the line within its
/// job, and the reader turns that into the file's line ([`resolve_line`])
/// only when it reports the error, so that no newline is counted otherwise.
struct Job<'m> {
    buf: Vec<u8>,
    len: usize,
    offset: u64,
    /// The mapped file, when the records are `len` bytes of it at `offset`
    /// instead of in `buf`.
    map: Option<&'m super::mapped::Mapping>,
}

impl Job<'_> {
    /// The records.
    fn data(&self) -> &[u8] {
        match self.map {
            Some(m) => &m.bytes()[self.offset as usize..self.offset as usize + self.len],
            None => &self.buf[..self.len],
        }
    }

    /// For a mapped job, release the pages of the records before `p` (bytes
    /// into the job) once [`RELEASE_STEP`] bytes more are done since
    /// `released`, so that a job's pages do not all stay resident until it
    /// ends.
    #[inline]
    fn release_done(&self, released: &mut usize, p: usize) {
        if p >= *released + RELEASE_STEP {
            if let Some(m) = self.map {
                let at = self.offset as usize;
                m.release(at + *released..at + p);
            }
            *released = p;
        }
    }
}

/// Bytes of a mapped job read between releases of their pages (smaller in
/// unit tests, so that it happens within their jobs).
const RELEASE_STEP: usize = if cfg!(test) { 256 << 10 } else { 1 << 20 };

/// A worker's answer to a job: the buffer back, the seconds it closed, any error.
struct Done {
    worker: usize,
    buf: Vec<u8>,
    closed: Vec<(u64, SecondPairs)>,
    closed_below: u64,
    late: Vec<u64>,
    /// Where the job starts in the file.
    offset: u64,
    /// The job's offset, and its error (the line counted within the job).
    error: Option<(u64, Error)>,
}

/// Mapped jobs queued per worker ahead of the one it reads.
const MAPPED_QUEUE_DEPTH: usize = 4;

/// Bytes behind the oldest job in flight that are released again each time
/// it moves on: the kernel maps pages around a faulting one (64 KB), so
/// reading the start of a job may map a few pages of the jobs before it back
/// in.
const RELEASE_MARGIN: usize = 256 << 10;

/// The mapped jobs sent and not yet all done, oldest first: the pages below
/// the oldest one still in flight are released ([`super::mapped::Mapping`]),
/// including the pages two jobs share, which neither job releases alone.
#[derive(Default)]
struct InFlight {
    /// (start, end, done) of each job.
    jobs: std::collections::VecDeque<(usize, usize, bool)>,
    released_to: usize,
}

impl InFlight {
    fn done(&mut self, start: u64, map: Option<&super::mapped::Mapping>) {
        if let Some(job) = self.jobs.iter_mut().find(|j| j.0 as u64 == start) {
            job.2 = true;
        }
        while let Some(&(_, end, true)) = self.jobs.front() {
            self.jobs.pop_front();
            if let Some(m) = map {
                m.release(self.released_to.saturating_sub(RELEASE_MARGIN)..end);
            }
            self.released_to = end;
        }
    }
}

/// The file's format, with the CSV header's columns.
enum Format {
    Csv(Columns),
    Json,
}

/// End of the last whole record in `buf` (which starts at a record boundary):
/// the last newline outside quotes for CSV (`outside_quotes`), the last
/// newline for JSON Lines (or for CSV read optimistically, [`scan_with`]).
fn record_boundary(buf: &[u8], outside_quotes: bool) -> Option<usize> {
    if !outside_quotes {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    let total = memchr::memchr_iter(b'"', buf).count();
    let mut quotes_after = 0;
    let mut end = buf.len();
    for pos in memchr::memrchr_iter(b'\n', buf) {
        quotes_after += memchr::memchr_iter(b'"', &buf[pos..end]).count();
        end = pos;
        if (total - quotes_after).is_multiple_of(2) {
            return Some(pos + 1);
        }
    }
    None
}

/// Read from `reader` into `buf[*len..]` until `*len` reaches `want` or the
/// input ends; true at the end of the input. `buf` only grows (zero-filled
/// once), its bytes past `*len` are don't-cares.
fn read_until(
    path: &Path,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    len: &mut usize,
    want: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<bool> {
    if buf.len() < want {
        buf.resize(want, 0);
    }
    while *len < want {
        match reader.read(&mut buf[*len..want]) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                *len += n;
                if let Some(p) = progress {
                    p.inc(n as u64);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(false)
}

/// Stream every record of the file into a [`Scan`].
///
/// The main thread reads (and decompresses) the file and cuts it into jobs of
/// about [`JOB_BYTES`] ending on a record boundary; workers (one per core, at
/// most 4) parse their jobs into their own accumulators, which are merged at the
/// end. Per-second histograms closed by the workers are merged as they come and
/// turned into p50/p95 once every worker has moved past that second, so memory
/// stays bounded: a few MB of buffers plus the per-endpoint histograms.
fn scan(path: &Path, json_lines: bool, window_start_ms: Option<f64>) -> Result<Scan> {
    scan_with(path, json_lines, window_start_ms, true)
}

/// [`scan`], with the CSV fast path ([`fast_split`]) or the JSON Lines one
/// ([`super::jsonl_fast`]) on or off.
///
/// Jobs are first cut at their last newline, as if no quoted cell held a
/// newline: finding the newlines outside quotes means counting every quote
/// before them, a pass over the whole file on the thread that feeds the
/// workers (~8 % of the CPU time). A cut that falls inside quotes leaves its
/// job ending in a quoted cell that is not closed, which is an error; so on
/// any error the file is read again with exact cuts, and that reading's
/// outcome (the same figures, or the error with its true line) is the
/// answer. Logs whose cells hold newlines, and broken ones, are read twice.
fn scan_with(
    path: &Path,
    json_lines: bool,
    window_start_ms: Option<f64>,
    fast: bool,
) -> Result<Scan> {
    if !json_lines
        && fast
        && let Ok(scan) = scan_pass(path, json_lines, window_start_ms, fast, false)
    {
        return Ok(scan);
    }
    scan_pass(path, json_lines, window_start_ms, fast, true)
}

/// One reading of the file; `exact_cuts`: jobs end at newlines outside
/// quotes (else at their last newline, see [`scan_with`]).
fn scan_pass(
    path: &Path,
    json_lines: bool,
    window_start_ms: Option<f64>,
    fast: bool,
    exact_cuts: bool,
) -> Result<Scan> {
    let mut chunks = Chunks::open(path)?;
    // bytes of the (decompressed) file before `carry`
    let mut offset = 0u64;
    let format = if json_lines {
        Format::Json
    } else {
        let mut cells = Vec::new();
        loop {
            let data = chunks.data();
            if data.is_empty() && chunks.eof {
                return Err(Error::parse(
                    path,
                    Some(1),
                    None,
                    "expected a CSV header, found an empty file",
                ));
            }
            match split_record(data, chunks.eof, &mut cells) {
                Ok(Split::Record(used)) => {
                    let columns = Columns::from_header(path, &data[..used], &cells)?;
                    offset += used as u64;
                    chunks.start += used;
                    break Format::Csv(columns);
                }
                Ok(Split::NeedMore) => chunks.fill(path)?,
                Err(msg) => return Err(Error::parse(path, Some(1), None, msg)),
            }
        }
    };
    let csv = matches!(format, Format::Csv(_));
    // the reference reading (tests) stays on `read`
    let mapping = if fast { map_plain_file(path) } else { None };
    let map = mapping.as_ref();
    let mut carry = chunks.data().to_vec();
    let mut eof = chunks.eof;
    let Chunks {
        mut reader,
        progress,
        ..
    } = chunks;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    let mut merger = SecondMerger::new(workers);
    let mut errors: Vec<(u64, Error)> = Vec::new();
    let scanned = std::thread::scope(|scope| -> Result<Vec<Scan>> {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Done>();
        let mut job_txs = Vec::new();
        let mut handles = Vec::new();
        for worker in 0..workers {
            // mapped jobs are ranges (nothing is read until a worker reads
            // them), so a deeper queue costs no memory and absorbs a worker
            // falling behind for a moment; jobs still go to the workers in
            // turn, so the merged result does not depend on timing
            // read jobs are handed over directly (a queue would hold another
            // buffer of JOB_BYTES per worker)
            let depth = if map.is_some() { MAPPED_QUEUE_DEPTH } else { 0 };
            let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(depth);
            job_txs.push(tx);
            let done_tx = done_tx.clone();
            let format = &format;
            handles.push(scope.spawn(move || {
                let mut acc = Scan::new(window_start_ms);
                let mut scratch = CsvScratch::default();
                for job in rx {
                    let outcome = match format {
                        Format::Csv(c) => csv_job(path, &job, c, &mut acc, &mut scratch, fast),
                        Format::Json => json_job(path, &job, &mut acc, fast),
                    };
                    if let Some(m) = job.map {
                        m.release(job.offset as usize..job.offset as usize + job.len);
                    }
                    let error = outcome.err().map(|e| (job.offset, e));
                    let failed = error.is_some();
                    let done = Done {
                        worker,
                        buf: job.buf,
                        closed: std::mem::take(&mut acc.closed_out),
                        closed_below: acc.closed_below,
                        late: std::mem::take(&mut acc.late_out),
                        offset: job.offset,
                        error,
                    };
                    if done_tx.send(done).is_err() || failed {
                        break;
                    }
                }
                acc.close_below(u64::MAX);
                acc
            }));
        }
        drop(done_tx);
        let mut free: Vec<Vec<u8>> = Vec::new();
        let mut in_flight = InFlight::default();
        let handle_done = |d: Done,
                           free: &mut Vec<Vec<u8>>,
                           merger: &mut SecondMerger,
                           errors: &mut Vec<(u64, Error)>,
                           in_flight: &mut InFlight| {
            in_flight.done(d.offset, map);
            merger.take(d.worker, d.closed, d.closed_below, d.late);
            free.push(d.buf);
            if let Some(e) = d.error {
                errors.push(e);
            }
        };
        let mut next = 0;
        let mut want = JOB_BYTES;
        if let Some(m) = map {
            // the records after the header, in place: jobs are ranges of the map
            let bytes = m.bytes();
            let mut end = (offset as usize + JOB_BYTES).min(bytes.len());
            while (offset as usize) < bytes.len() && errors.is_empty() {
                let from = offset as usize;
                let split = if end == bytes.len() {
                    end
                } else {
                    match record_boundary(&bytes[from..end], csv && exact_cuts) {
                        Some(split) => from + split,
                        None => {
                            // one record longer than a job: look further, up to the limit
                            let max = super::limits().max_line_bytes;
                            if (end - from) as u64 > max {
                                let line = resolve_line(path, offset, 1);
                                return Err(line_too_long(path, line, max));
                            }
                            end = (end + JOB_BYTES).min(bytes.len());
                            continue;
                        }
                    }
                };
                if let Some(p) = &progress {
                    p.inc((split - from) as u64);
                }
                while let Ok(d) = done_rx.try_recv() {
                    handle_done(d, &mut free, &mut merger, &mut errors, &mut in_flight);
                }
                let job = Job {
                    buf: Vec::new(),
                    len: split - from,
                    offset,
                    map: Some(m),
                };
                in_flight.jobs.push_back((from, split, false));
                offset = split as u64;
                end = (split + JOB_BYTES).min(bytes.len());
                if job_txs[next].send(job).is_err() {
                    break;
                }
                next = (next + 1) % workers;
            }
            eof = true;
            carry.clear();
        }
        while !(eof && carry.is_empty()) && errors.is_empty() {
            let mut buf = free.pop().unwrap_or_default();
            let mut len = carry.len();
            if buf.len() < len {
                buf.resize(len, 0);
            }
            buf[..len].copy_from_slice(&carry);
            carry.clear();
            if !eof {
                eof = read_until(
                    path,
                    &mut reader,
                    &mut buf,
                    &mut len,
                    want,
                    progress.as_ref(),
                )?;
            }
            let split = if eof {
                len
            } else {
                match record_boundary(&buf[..len], csv && exact_cuts) {
                    Some(split) => split,
                    None => {
                        // one record longer than a job: read on, up to the limit
                        let max = super::limits().max_line_bytes;
                        if len as u64 > max {
                            let line = resolve_line(path, offset, 1);
                            return Err(line_too_long(path, line, max));
                        }
                        want = len + JOB_BYTES;
                        buf.truncate(len);
                        carry = buf;
                        continue;
                    }
                }
            };
            want = JOB_BYTES;
            carry.extend_from_slice(&buf[split..len]);
            let job_offset = offset;
            offset += split as u64;
            while let Ok(d) = done_rx.try_recv() {
                handle_done(d, &mut free, &mut merger, &mut errors, &mut in_flight);
            }
            let job = Job {
                buf,
                len: split,
                offset: job_offset,
                map: None,
            };
            if job_txs[next].send(job).is_err() {
                break;
            }
            next = (next + 1) % workers;
        }
        if let Some(p) = &progress {
            p.finish_and_clear();
        }
        drop(job_txs);
        let mut scans = Vec::new();
        for h in handles {
            match h.join() {
                Ok(s) => scans.push(s),
                Err(_) => {
                    return Err(Error::Usage(format!(
                        "{}: a worker reading the request log stopped unexpectedly",
                        path.display()
                    )));
                }
            }
        }
        for d in done_rx {
            handle_done(d, &mut free, &mut merger, &mut errors, &mut in_flight);
        }
        Ok(scans)
    });
    // zeros stand where the file was cut: whatever they led to, the cut is the error
    if mapping.as_ref().is_some_and(|m| m.truncated()) {
        return Err(Error::parse(
            path,
            None,
            None,
            "the file became shorter while it was being read (another process truncated or rewrote it); read it again once it is complete",
        ));
    }
    let mut scans = scanned?;
    // The first error in file order is the one to report.
    if let Some((at, mut e)) = errors.into_iter().min_by_key(|(at, e)| match e {
        Error::Parse { line, .. } => (*at, line.unwrap_or(0)),
        _ => (*at, 0),
    }) {
        if let Error::Parse { line, .. } = &mut e {
            *line = line.and_then(|l| resolve_line(path, at, l));
        }
        return Err(e);
    }
    for (w, s) in scans.iter_mut().enumerate() {
        merger.take(
            w,
            std::mem::take(&mut s.closed_out),
            u64::MAX,
            std::mem::take(&mut s.late_out),
        );
        // here, not in the worker: the read buffers are freed by now
        s.build_histograms();
    }
    merger.finish_all();
    let mut scans = scans.into_iter();
    let Some(mut acc) = scans.next() else {
        return Err(Error::Usage("no worker ran".into()));
    };
    for s in scans {
        acc.merge(s).map_err(|e| e.at(path, 0))?;
    }
    merger.spill.finish()?;
    acc.finished = merger.finished;
    if acc.rows == 0 && acc.update_rows == 0 {
        return Err(Error::parse(
            path,
            resolve_line(path, offset, 1),
            None,
            "expected at least one request row, found none (Goose creates the log empty and fills it as the run goes)",
        ));
    }
    Ok(acc)
}

/// The whole file mapped ([`super::mapped`]), when it is a plain (not
/// gzipped) file and the program has enabled mapping; `None`: read it.
fn map_plain_file(path: &Path) -> Option<super::mapped::Mapping> {
    use std::os::unix::fs::FileExt;
    let file = super::open_input(path).ok()?;
    let mut magic = [0u8; 2];
    let n = file.read_at(&mut magic, 0).ok()?;
    if n == 2 && magic == [0x1f, 0x8b] {
        return None;
    }
    let len = file.metadata().ok()?.len();
    super::mapped::Mapping::new(&file, len)
}

/// The error for a record over [`super::Limits::max_line_bytes`].
fn line_too_long(path: &Path, line: Option<u64>, max: u64) -> Error {
    Error::parse(
        path,
        line,
        None,
        format!(
            "a record longer than the line-length limit of {max} bytes ({}); raise it with --max-line-length or {}",
            super::show_size(max),
            super::MAX_LINE_ENV
        ),
    )
}

/// 1-based line of byte `at` of a job, counted from the job's start.
fn line_in(job: &Job, at: usize) -> u64 {
    1 + memchr::memchr_iter(b'\n', &job.data()[..at]).count() as u64
}

/// The file's line of line `line_in_job` of the job at `offset`: the file is
/// read again up to there (only when an error is reported). `None` if it can
/// no longer be read that far.
fn resolve_line(path: &Path, offset: u64, line_in_job: u64) -> Option<u64> {
    let file = super::open_input(path).ok()?;
    let mut reader = super::open_maybe_gz(path, file).ok()?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut seen, mut newlines) = (0u64, 0u64);
    while seen < offset {
        let want = (offset - seen).min(buf.len() as u64) as usize;
        match reader.read(&mut buf[..want]) {
            Ok(0) => return None,
            Ok(n) => {
                newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                seen += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(newlines + line_in_job)
}

/// A CSV worker's buffers, reused from row to row: the general splitter's
/// cells, and a quoted name or error once its doubled quotes are undone.
#[derive(Default)]
struct CsvScratch {
    cells: Vec<Cell>,
    name: Vec<u8>,
    error: Vec<u8>,
}

fn csv_job(
    path: &Path,
    job: &Job,
    c: &Columns,
    acc: &mut Scan,
    scratch: &mut CsvScratch,
    fast: bool,
) -> Result<()> {
    let simd = Simd::detect();
    #[cfg(target_arch = "x86_64")]
    if fast && simd == Simd::Avx512Vbmi2 {
        // SAFETY: `Simd::detect` chose this level only where the CPU has
        // the features `csv_job_avx512` is compiled for.
        return unsafe { csv_job_avx512(path, job, c, acc, scratch) };
    }
    csv_job_at(path, job, c, acc, scratch, fast, simd)
}

/// [`csv_job_at`] compiled for [`Simd::Avx512Vbmi2`], so that the
/// per-block classifier and cut store are inlined into the loop and bit
/// operations use BMI1 and POPCNT. As calls (two a block, ~8 a row, which a
/// caller without the features cannot inline) they took ~22 % of the
/// samples; inlined, the CPU time fell ~11 %.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,avx512vbmi2,popcnt,pclmulqdq,bmi1")]
fn csv_job_avx512(
    path: &Path,
    job: &Job,
    c: &Columns,
    acc: &mut Scan,
    scratch: &mut CsvScratch,
) -> Result<()> {
    csv_job_at(path, job, c, acc, scratch, true, Simd::Avx512Vbmi2)
}

/// [`csv_job`] at a given SIMD level.
#[inline(always)]
fn csv_job_at(
    path: &Path,
    job: &Job,
    c: &Columns,
    acc: &mut Scan,
    scratch: &mut CsvScratch,
    fast: bool,
    simd: Simd,
) -> Result<()> {
    let CsvScratch {
        cells,
        name: s_name,
        error: s_err,
    } = scratch;
    let data = job.data();
    let mut blocks = Blocks::with_simd(data, simd);
    let mut cuts = Cuts::new();
    let mut p = 0;
    let mut released = 0;
    let max_line = super::limits().max_line_bytes;
    while p < data.len() {
        job.release_done(&mut released, p);
        let fast_used = if fast {
            fast_split(&mut blocks, p, &mut cuts)
        } else {
            None
        };
        let used = match fast_used {
            Some(used) => used,
            None => {
                let used = match split_record(&data[p..], true, cells) {
                    Ok(Split::Record(used)) => used,
                    Ok(Split::NeedMore) => data.len() - p,
                    Err(msg) => {
                        return Err(Error::parse(path, Some(line_in(job, p)), None, msg));
                    }
                };
                if fast {
                    blocks.reset(p + used);
                }
                used
            }
        };
        // a job may hold records longer than a lowered limit
        if used as u64 > max_line {
            return Err(line_too_long(path, Some(line_in(job, p)), max_line));
        }
        let rec = &data[p..p + used];
        // with up to 8 bytes before it, so that the record's first cell
        // (`elapsed`) is parsed as one word too
        let framed = &data[p.saturating_sub(8)..p + used];
        let outcome = match fast_used {
            Some(_) => csv_row(
                framed,
                rec,
                &FastCells { rec, cuts: &cuts },
                c,
                acc,
                s_name,
                s_err,
            ),
            None => csv_row(framed, rec, &cells[..], c, acc, s_name, s_err),
        };
        outcome.map_err(|e| e.at(path, line_in(job, p)))?;
        p += used;
    }
    Ok(())
}

/// One CSV record into `acc`; `framed` is the record with up to 8 bytes of
/// the job before it (see [`parse_u64_at`]).
#[inline(always)]
fn csv_row<C: RecordCells + ?Sized>(
    framed: &[u8],
    rec: &[u8],
    cells: &C,
    c: &Columns,
    acc: &mut Scan,
    s_name: &mut Vec<u8>,
    s_err: &mut Vec<u8>,
) -> std::result::Result<(), RowError> {
    if cells.is_blank() {
        return Ok(());
    }
    if cells.len() != c.count {
        return Err(RowError {
            column: None,
            message: format!(
                "expected {} cells as in the header, found {}",
                c.count,
                cells.len()
            ),
        });
    }
    let cell = |i: usize| cell_bytes(rec, cells, i);
    let bad = |i: usize, what: &str| bad_cell(rec, cells, c, i, what);
    let num = |i: usize| number_cell(framed, rec, cells, c, i);
    if let Some(u) = c.update
        && parse_bool(cell(u)).ok_or_else(|| bad(u, "true or false"))?
    {
        acc.update_rows += 1;
        return Ok(());
    }
    let elapsed_ms = num(c.elapsed)?;
    let response_us = match (c.response_time_us, c.response_time) {
        (Some(us), _) if !cell(us).is_empty() => num(us)?,
        (_, Some(ms)) => num(ms)?.saturating_mul(1000),
        (Some(us), None) => num(us)?,
        (None, None) => unreachable!("checked with the header"),
    };
    let status = num(c.status_code)?;
    let status = u16::try_from(status).map_err(|_| bad(c.status_code, "an HTTP status"))?;
    let success = parse_bool(cell(c.success)).ok_or_else(|| bad(c.success, "true or false"))?;
    let user = num(c.user)?;
    let method = match (c.method, c.raw) {
        (Some(m), _) if !cell(m).is_empty() => cell(m),
        // The method is a bare word (`Get`), so the escaped cell serves as it is.
        (_, Some(r)) => {
            method_in_raw(cell(r)).ok_or_else(|| bad(r, "`GooseRawRequest { method: Get, ...`"))?
        }
        (Some(m), None) => return Err(bad(m, "a method")),
        (None, None) => unreachable!("checked with the header"),
    };
    let name = cells.cell(c.name);
    let name = unescape(&rec[name.start..name.end], name.escaped, s_name);
    let error = cells.cell(c.error);
    let error = unescape(&rec[error.start..error.end], error.escaped, s_err);
    acc.add(&RowData {
        elapsed_ms,
        method,
        name,
        response_us,
        status,
        success,
        user,
        error,
    })
}

/// The bytes of cell `i` of a record (as functions, not closures, so that
/// they are inlined into the row's loop: the closures were calls, ~4 % of
/// the CPU time).
#[inline(always)]
fn cell_bytes<'r, C: RecordCells + ?Sized>(rec: &'r [u8], cells: &C, i: usize) -> &'r [u8] {
    let c = cells.cell(i);
    &rec[c.start..c.end]
}

/// Cell `i` of a record as a whole number.
#[inline(always)]
fn number_cell<C: RecordCells + ?Sized>(
    framed: &[u8],
    rec: &[u8],
    cells: &C,
    c: &Columns,
    i: usize,
) -> std::result::Result<u64, RowError> {
    let cell = cells.cell(i);
    // `rec` ends `framed`
    let shift = framed.len() - rec.len();
    match parse_u64_at(framed, cell.start + shift, cell.end + shift) {
        Some(v) => Ok(v),
        None => Err(bad_cell(rec, cells, c, i, "a whole number")),
    }
}

/// [`parse_u64`] of `rec[start..end]`. A number of 1 to 8 digits with 8
/// bytes of the record up to its end is read as one word, without a loop
/// (its length varies from row to row, and the loop's exit was mispredicted):
/// the bytes before the number are replaced by `0` digits, all 8 checked to
/// be digits, and the digits combined pairwise by three multiplications.
#[inline(always)]
fn parse_u64_at(rec: &[u8], start: usize, end: usize) -> Option<u64> {
    let len = end.wrapping_sub(start);
    if let (1..=8, Some(word)) = (len, end.checked_sub(8).and_then(|at| rec.get(at..end))) {
        let word = u64::from_le_bytes(word.try_into().ok()?);
        // the number is the high `len` bytes; the low ones become `0`s
        let low = u64::MAX.checked_shr(8 * len as u32).unwrap_or(0);
        let x = (word & !low) | (0x3030_3030_3030_3030 & low);
        let digits = x & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030
            && x.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
                == 0x3030_3030_3030_3030;
        if !digits {
            return None;
        }
        // byte k holds the k-th digit (most significant first): pairs, then
        // groups of 4, then all 8
        let v = x - 0x3030_3030_3030_3030;
        let v = (v * 10 + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
        let v = (v * 100 + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
        return Some((v * 10_000 + (v >> 32)) & 0xFFFF_FFFF);
    }
    parse_u64(rec.get(start..end)?)
}

/// The error for cell `i` of a record, which is not `what`.
#[cold]
#[inline(never)]
fn bad_cell<C: RecordCells + ?Sized>(
    rec: &[u8],
    cells: &C,
    c: &Columns,
    i: usize,
    what: &str,
) -> RowError {
    RowError {
        column: Some(i as u64 + 1),
        message: format!(
            "`{}`: expected {what}, found `{}`",
            c.name(i),
            String::from_utf8_lossy(cell_bytes(rec, cells, i))
        ),
    }
}

/// One JSON Lines record (`--request-format json`), borrowed where possible.
#[derive(serde::Deserialize)]
pub(super) struct JRow<'a> {
    pub(super) elapsed: u64,
    #[serde(borrow)]
    pub(super) raw: JRaw<'a>,
    #[serde(borrow)]
    pub(super) name: std::borrow::Cow<'a, str>,
    pub(super) response_time: u64,
    #[serde(default)]
    pub(super) response_time_fraction_us: u64,
    pub(super) status_code: u16,
    pub(super) success: bool,
    #[serde(default)]
    pub(super) update: bool,
    pub(super) user: u64,
    #[serde(borrow, default)]
    pub(super) error: std::borrow::Cow<'a, str>,
}

#[derive(serde::Deserialize)]
pub(super) struct JRaw<'a> {
    #[serde(borrow)]
    pub(super) method: std::borrow::Cow<'a, str>,
}

/// A JSON Lines job: each line through [`super::jsonl_fast`], or through
/// serde_json (the oracle, and the source of the errors) where the fast
/// scanner is not certain.
fn json_job(path: &Path, job: &Job, acc: &mut Scan, fast: bool) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    if fast && json_v3() {
        // SAFETY: `json_v3` found the features `json_job_v3` is compiled for.
        return unsafe { json_job_v3(path, job, acc) };
    }
    json_job_at(path, job, acc, fast)
}

/// Whether the CPU has what [`json_job_v3`] is compiled for.
#[cfg(target_arch = "x86_64")]
fn json_v3() -> bool {
    std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2")
        && std::is_x86_feature_detected!("popcnt")
        && std::is_x86_feature_detected!("lzcnt")
}

/// [`json_job_at`] compiled for AVX2, BMI and POPCNT, with the line scanner
/// inlined into it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,popcnt,lzcnt")]
fn json_job_v3(path: &Path, job: &Job, acc: &mut Scan) -> Result<()> {
    json_job_at(path, job, acc, true)
}

/// [`json_job`], for [`json_job_v3`] or the baseline.
#[inline(always)]
fn json_job_at(path: &Path, job: &Job, acc: &mut Scan, fast: bool) -> Result<()> {
    let data = job.data();
    let mut scratch = super::jsonl_fast::Scratch::default();
    let mut p = 0;
    let mut released = 0;
    let max_line = super::limits().max_line_bytes;
    while p < data.len() {
        job.release_done(&mut released, p);
        let end = memchr::memchr(b'\n', &data[p..]).map_or(data.len(), |i| p + i);
        // a job may hold records longer than a lowered limit
        if (end - p) as u64 > max_line {
            return Err(line_too_long(path, Some(line_in(job, p)), max_line));
        }
        let trimmed = data[p..end].trim_ascii();
        if !trimmed.is_empty() {
            let fields = if fast {
                super::jsonl_fast::scan_line(trimmed, &mut scratch)
            } else {
                None
            };
            let added = match fields {
                Some(f) if f.update => {
                    acc.update_rows += 1;
                    Ok(())
                }
                Some(f) => acc.add(&RowData {
                    elapsed_ms: f.elapsed_ms,
                    method: f.method,
                    name: f.name,
                    response_us: f
                        .response_time_ms
                        .saturating_mul(1000)
                        .saturating_add(f.fraction_us),
                    status: f.status,
                    success: f.success,
                    user: f.user,
                    error: f.error,
                }),
                None => json_row_serde(path, trimmed, acc, || line_in(job, p))?,
            };
            added.map_err(|e| e.at(path, line_in(job, p)))?;
        }
        p = end + 1;
    }
    Ok(())
}

/// One line read by serde_json: `Err` for a line that is not a request-log
/// object (with its line, from `line`, and column), `Ok(Err)` for a row
/// [`Scan::add`] refuses.
fn json_row_serde(
    path: &Path,
    line: &[u8],
    acc: &mut Scan,
    line_no: impl Fn() -> u64,
) -> Result<std::result::Result<(), RowError>> {
    let row: JRow<'_> = serde_json::from_slice(line).map_err(|e| {
        let what = if e.is_eof() {
            "the JSON object ends early (truncated line?)".to_string()
        } else {
            format!(
                "expected a Goose request-log JSON object: {}",
                super::json_message(&e)
            )
        };
        Error::parse(path, Some(line_no()), Some(e.column() as u64), what)
    })?;
    if row.update {
        acc.update_rows += 1;
        return Ok(Ok(()));
    }
    Ok(acc.add(&RowData {
        elapsed_ms: row.elapsed,
        method: row.raw.method.as_bytes(),
        name: row.name.as_bytes(),
        response_us: row
            .response_time
            .saturating_mul(1000)
            .saturating_add(row.response_time_fraction_us),
        status: row.status_code,
        success: row.success,
        user: row.user,
        error: row.error.as_bytes(),
    }))
}

/// Combine a report and a request log of the same run.
///
/// The report's run record, steps, thresholds and window are kept; the
/// endpoints, total and failures are re-read from the log restricted to Goose's
/// measured window (rows of requests that completed at or after the Maintaining
/// step, as Goose's reset counts them), so counts match the report while
/// percentiles come from the exact µs times. The timeline is the log's
/// per-second one, ramp-up included, placed at the report's start.
pub fn combine(report: Run, log: Run) -> Result<Run> {
    let Some(log_path) = log.sources.first().cloned() else {
        return Err(Error::Usage(
            "the request log run has no source file to re-read".into(),
        ));
    };
    let json_lines = super::detect(&log_path)? == super::InputKind::GooseRequestLogJson;
    // `elapsed` counts from the Increasing step (the run's start instant).
    let origin = report.steps.first().map(|s| s.start).or(report.started);
    let maintain = report
        .steps
        .iter()
        .find(|s| s.action == "Maintaining")
        .map(|s| s.start);
    let Some(origin) = origin else {
        return Err(Error::Usage(format!(
            "{}: the report has neither a plan history nor a start time, so the request log {} cannot be placed in time",
            report
                .sources
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            log_path.display()
        )));
    };
    let offset_ms = maintain.map(|m| (m - origin) * 1000.0);
    let (windowed, stats) = match offset_ms {
        Some(off) => {
            let scan = scan(&log_path, json_lines, Some(off))?;
            let stats = (scan.rows, scan.rows_before, scan.sent_before_counted);
            (scan.into_run(&log_path, Some(off)), Some(stats))
        }
        None => (log, None),
    };
    let mut run = report;
    let report_total = (run.total.requests, run.total.failures);
    let duration = run.duration_s.filter(|d| *d > 0.0);
    let mut endpoints = windowed.endpoints;
    for e in &mut endpoints {
        e.rps = duration.map(|d| e.requests as f64 / d);
    }
    // Endpoints the report has but the window of the log does not (no request).
    for r in &run.endpoints {
        if !endpoints
            .iter()
            .any(|e| e.kind == r.kind && e.name == r.name)
        {
            endpoints.push(r.clone());
        }
    }
    endpoints.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    let mut mismatches = Vec::new();
    for r in &run.endpoints {
        if let Some(e) = endpoints
            .iter()
            .find(|e| e.kind == r.kind && e.name == r.name)
            && (e.requests != r.requests || e.failures != r.failures)
        {
            mismatches.push(format!(
                "{}: {} / {} in the log, {} / {} in the report",
                r.label(),
                e.requests,
                e.failures,
                r.requests,
                r.failures
            ));
        }
    }
    run.endpoints = endpoints;
    let mut total = super::locust_csv::aggregate(run.endpoints.iter());
    total.rps = duration.map(|d| total.requests as f64 / d);
    if let Some(off) = offset_ms {
        run.measured_counts = Some(crate::model::MeasuredCounts {
            requests: total.requests,
            failures: total.failures,
            basis: format!(
                "requests of the log completed after Goose's metrics reset ({:.1} ms after the start, from report.json) to the end",
                off
            ),
        });
    }
    run.total = total;
    run.failures = windowed
        .failures
        .into_iter()
        .map(|mut f| {
            f.first_seen = f.first_seen.map(|s| origin + s);
            f.last_seen = f.last_seen.map(|s| origin + s);
            f
        })
        .collect();
    run.timeline = windowed
        .timeline
        .into_iter()
        .map(|mut p| {
            // second k of the log covers `elapsed` k to k+1 s: wall time origin + k
            p.t += origin;
            p
        })
        .collect();
    run.sources.push(log_path.clone());
    run.provenance
        .retain(|p| !p.starts_with("Percentiles from Goose's µs buckets"));
    match (offset_ms, stats) {
        (Some(off), Some((rows, before, straddling))) => run.provenance.push(format!(
            "Percentiles from the request log's exact µs times (HdrHistogram, ±0.1 %); counts from the {} of its {} rows whose request completed at or after Goose's metrics reset ({:.1} ms after the start, the Maintaining step), which is the rule Goose's report counts by: {} ramp-up rows were left out, and {} requests sent before the reset but completed after it are counted (counting by send time, `elapsed` >= {:.0} ms, would give {}).",
            rows - before,
            rows,
            off,
            before,
            straddling,
            off.ceil(),
            rows - before - straddling
        )),
        _ => run.provenance.push(
            "Percentiles from the request log's exact µs times (HdrHistogram, ±0.1 %); the report has no Maintaining step (no metrics reset), so every log row counts.".into(),
        ),
    }
    if mismatches.is_empty() {
        run.provenance.push(format!(
            "The log's counts in that window equal the report's ({} requests, {} failures).",
            report_total.0, report_total.1
        ));
    } else {
        run.provenance.push(format!(
            "The log's counts differ from the report's (requests / failures): {}. The log is written by a separate thread and may miss the last rows of an interrupted run.",
            mismatches.join("; ")
        ));
    }
    run.provenance.push(
        "Timeline from the request log: one point per second since the start (send time), ramp-up included; users = users whose first and last request span that second; per-second p50/p95 from the exact times (±0.1 %).".into(),
    );
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a xorshift sequence (tests' random inputs, the
    /// same every run).
    pub(super) fn xorshift(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    fn fixture(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    fn split_all(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut cells = Vec::new();
        let mut p = 0;
        let mut scratch = Vec::new();
        while p < data.len() {
            match split_record(&data[p..], true, &mut cells).unwrap() {
                Split::Record(used) => {
                    let rec = &data[p..p + used];
                    out.push(
                        cells
                            .iter()
                            .map(|c| {
                                unescape(&rec[c.start..c.end], c.escaped, &mut scratch).to_vec()
                            })
                            .collect(),
                    );
                    p += used;
                }
                Split::NeedMore => unreachable!("at_eof"),
            }
        }
        out
    }

    #[test]
    fn id_segments_are_grouped_for_the_hint() {
        assert_eq!(grouped_path("/item/123"), "/item/{id}");
        assert_eq!(
            grouped_path("/u/550e8400-e29b-41d4-a716-446655440000/x?q=1"),
            "/u/{id}/x?..."
        );
        assert_eq!(grouped_path("/api/v1/items"), "/api/v1/items");
        assert_eq!(grouped_path("/v2/deadbeef99"), "/v2/{id}");
        let keys: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("GET /item/{i}").into_bytes())
            .collect();
        assert!(grouping_hint(keys.iter()).contains("`/item/{id}` (5 names)"));
    }

    #[test]
    fn splitter_agrees_with_the_csv_crate_on_the_real_log() {
        let p = fixture("fixtures/goose/monitoring-30u-reqlog-csv/requests.csv");
        let data = std::fs::read(&p).unwrap();
        let ours = split_all(&data);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(data.as_slice());
        let theirs: Vec<Vec<Vec<u8>>> = rdr
            .byte_records()
            .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
            .collect();
        assert_eq!(ours.len(), 1396); // header + 1,395 rows (wc -l)
        assert_eq!(ours, theirs);
    }

    #[test]
    fn splitter_handles_quotes_newlines_and_crlf() {
        let data = b"a,\"b,\"\"c\"\"\",d\r\n\"x\ny\",,z";
        let rows = split_all(data);
        assert_eq!(
            rows,
            vec![
                vec![b"a".to_vec(), b"b,\"c\"".to_vec(), b"d".to_vec()],
                vec![b"x\ny".to_vec(), b"".to_vec(), b"z".to_vec()],
            ]
        );
        let mut cells = Vec::new();
        // an open quote at the end of a buffer asks for more data
        assert!(matches!(
            split_record(b"a,\"bc", false, &mut cells),
            Ok(Split::NeedMore)
        ));
        assert!(split_record(b"a,\"bc", true, &mut cells).is_err());
        assert!(split_record(b"a,\"b\"c,d\n", true, &mut cells).is_err());
    }

    #[test]
    fn jobs_end_on_a_record_boundary_outside_quotes() {
        // the newline inside the quoted cell is not a record end
        let buf = b"1,\"a\nb\",x\n2,\"c\nd";
        assert_eq!(record_boundary(buf, true), Some(10)); // `1,"a\nb",x\n` is 10 bytes
        assert_eq!(record_boundary(b"1,\"a\nb", true), None);
        assert_eq!(record_boundary(b"{}\n{\"a\":", false), Some(3));
    }

    #[test]
    fn method_comes_out_of_the_raw_cell() {
        assert_eq!(
            method_in_raw(b"GooseRawRequest { method: Get, url: \"http://x/\" }"),
            Some(&b"Get"[..])
        );
        assert_eq!(method_in_raw(b"nothing here"), None);
        // every end the word search can find, and methods past one word
        for method in [
            "Get",
            "Post",
            "Delete",
            "Options",
            "Custom8b",
            "VeryLongMethod",
        ] {
            for stop in [",", " ", "}", ""] {
                let raw = format!("GooseRawRequest {{ method: {method}{stop} url: \"/\" }}");
                let raw = raw.trim_end_matches([' ', '}', '"', '/', ':']).to_string();
                let expected = raw["GooseRawRequest { method: ".len()..]
                    .split([',', ' ', '}'])
                    .next()
                    .unwrap();
                assert_eq!(
                    method_in_raw(raw.as_bytes()),
                    Some(expected.as_bytes()),
                    "{raw}"
                );
            }
        }
        assert_eq!(method_in_raw(b"GooseRawRequest { method: , url }"), None);
    }

    /// Everything a scan yields, as text: the run (endpoints with their whole
    /// histograms and status counts, failures, per-second timeline) and the
    /// scan's own counters.
    fn scan_text(path: &Path, window: Option<f64>, fast: bool) -> String {
        scan_text_of(path, false, window, fast)
    }

    /// [`scan_text`] of a CSV or (`json_lines`) a JSON Lines log.
    fn scan_text_of(path: &Path, json_lines: bool, window: Option<f64>, fast: bool) -> String {
        match scan_with(path, json_lines, window, fast) {
            Ok(scan) => {
                let counters = (
                    scan.rows,
                    scan.update_rows,
                    scan.late_rows,
                    scan.rows_before,
                    scan.sent_before_counted,
                );
                format!("{counters:?} {:?}", scan.into_run(path, window))
            }
            Err(e) => format!("error: {e}"),
        }
    }

    /// The fast path's scan, at every SIMD level the CPU has, is the general
    /// splitter's.
    fn assert_fast_path_agrees(path: &Path) {
        // one forcing test at a time (the others' scans may run at the
        // forced level meanwhile, which gives the same figures)
        static FORCING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = FORCING.lock().unwrap_or_else(|e| e.into_inner());
        // the fast path reads a mapped file, the reference one reads it
        assert!(crate::input::mapped::enable());
        for simd in Simd::available() {
            FORCED_SIMD.store(simd as u8, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(Simd::detect(), simd);
            for window in [None, Some(1500.0)] {
                let general = scan_text(path, window, false);
                let fast = scan_text(path, window, true);
                assert!(!general.starts_with("error"), "{general}");
                assert!(
                    general == fast,
                    "fast and general paths differ on {path:?} at {simd:?}"
                );
            }
        }
        FORCED_SIMD.store(u8::MAX, std::sync::atomic::Ordering::Relaxed);
    }

    /// The JSON Lines fast scanner ([`super::super::jsonl_fast`]) gives the
    /// whole scan serde_json gives, on the real logs and on a file of awkward
    /// lines (escapes, unicode, reordered and extra keys, spaces and tabs,
    /// update rows, lines the scanner hands to serde) over several jobs.
    #[test]
    fn json_fast_path_agrees_with_serde_on_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let awkward = dir.path().join("awkward.jsonl");
        let lines = [
            r#"{"elapsed":1200,"raw":{"method":"Get","url":"/a"},"name":"/a","response_time":12,"response_time_fraction_us":345,"status_code":200,"success":true,"update":false,"user":1,"error":""}"#,
            r#"{ "user" : 2 , "error" : "Timeout: \"slow\" \u00e9" , "success" : false , "status_code" : 0 , "response_time" : 3000 , "name" : "/caf\u00e9\ud83d\ude00" , "raw" : { "headers" : [ ] , "method" : "Post" } , "elapsed" : 2500 , "extra" : {"a":[1,2.5e3,null,{"b":"}"}]} }"#,
            "{\"elapsed\":3100,\t\"raw\":{\"method\":\"Get\"},\"name\":\"/tab\",\"response_time\":7,\"status_code\":404,\"success\":false,\"user\":3,\"error\":\"404 Not Found\"}",
            r#"{"elapsed":3200,"raw":{"method":"Get"},"name":"/upd","response_time":7,"status_code":200,"success":true,"update":true,"user":3}"#,
            r#"{"elapsed":3300,"raw":{"method":"Get"},"n\u0061me":"/escaped-key","response_time":7,"status_code":200,"success":true,"user":4}"#,
            "{\"elapsed\":4000,\"raw\":{\"method\":\"Delete\"},\"name\":\"/ünï/😀\",\"response_time\":1,\"status_code\":500,\"success\":false,\"user\":5,\"error\":\"ошибка\"}",
            "",
            "   ",
        ];
        let mut text = String::new();
        while text.len() < 3 << 20 {
            for l in lines {
                text.push_str(l);
                text.push('\n');
            }
        }
        std::fs::write(&awkward, &text).unwrap();
        for path in [
            fixture("fixtures/goose/mixed-graph-jsonl-30u/requests.json"),
            fixture("fixtures/goose/converted/requests_converted_from_csv.jsonl"),
            awkward,
        ] {
            for window in [None, Some(1500.0)] {
                let serde = scan_text_of(&path, true, window, false);
                let fast = scan_text_of(&path, true, window, true);
                assert!(!serde.starts_with("error"), "{serde}");
                assert!(serde == fast, "fast and serde paths differ on {path:?}");
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_the_general_splitter_on_the_real_log() {
        assert_fast_path_agrees(&fixture(
            "fixtures/goose/monitoring-30u-reqlog-csv/requests.csv",
        ));
    }

    /// Rows the fast path must hand over, or get right: quoted names with
    /// commas, CRLF, update rows, quoted errors with doubled quotes, a newline
    /// inside `raw`, a literal quote inside an unquoted cell, an empty line and
    /// no newline at the end; over 1 MiB, so that several jobs and workers run.
    #[test]
    fn fast_path_agrees_with_the_general_splitter_on_awkward_rows() {
        let header = "elapsed,scenario_index,scenario_name,transaction_index,transaction_name,raw,name,final_url,redirected,response_time,status_code,success,update,user,error,coordinated_omission_elapsed,user_cadence,response_time_us\n";
        let raw = |method: &str| {
            format!(
                "\"GooseRawRequest {{ method: {method}, url: \"\"http://h/x\"\", headers: [], body: \"\"\"\", custom_method: \"\"\"\" }}\""
            )
        };
        let mut log = String::from(header);
        for i in 0..16_000u64 {
            let elapsed = i * 37 % 400_000 + (i % 7) * 900;
            let us = 150 + i * 7919 % 2_000_000;
            let user = i % 50;
            let row = match i % 10 {
                0 => format!(
                    "{elapsed},0,s,0,,{},\"/a, b\",http://h/a,false,{},200,true,false,{user},,0,0,{us}\n",
                    raw("Get"),
                    us / 1000
                ),
                1 => format!(
                    "{elapsed},0,s,0,,{},/crlf,http://h/c,false,{},200,true,false,{user},,0,0,{us}\r\n",
                    raw("Post"),
                    us / 1000
                ),
                2 => format!(
                    "{elapsed},0,s,0,,{},/u,http://h/u,false,{},200,true,true,{user},,0,0,{us}\n",
                    raw("Get"),
                    us / 1000
                ),
                3 => format!(
                    "{elapsed},0,s,0,,{},/e,http://h/e,false,{},500,false,false,{user},\"500 \"\"oops\"\", bad\",0,0,{us}\n",
                    raw("Get"),
                    us / 1000
                ),
                4 => format!(
                    "{elapsed},0,s,0,,\"GooseRawRequest {{ method: Put, url: \"\"x\ny\"\" }}\",/nl,http://h/n,false,{},404,false,false,{user},404 Not Found: /nl,0,0,{us}\r\n",
                    us / 1000
                ),
                5 => format!(
                    "{elapsed},0,s,0,,{},/q,http://h/a\"b,false,{},200,true,false,{user},,0,0,{us}\n",
                    raw("Get"),
                    us / 1000
                ),
                6 => "\n".to_string(),
                7 => format!(
                    "{elapsed},0,s,0,,{},\"/esc \"\"n\"\"\",http://h/a,false,{},0,false,false,{user},\"error sending request, \"\"x\"\"\",0,0,{us}\n",
                    raw("Delete"),
                    us / 1000
                ),
                _ => format!(
                    "{elapsed},1,t,2,tx,{},/plain,http://h/p,false,{},200,true,false,{user},,0,0,{us}\n",
                    raw("Get"),
                    us / 1000
                ),
            };
            log.push_str(&row);
        }
        log.push_str(&format!(
            "5,0,s,0,,{},/last,http://h/l,false,1,200,true,false,3,,0,0,1234",
            raw("Get")
        ));
        assert!(log.len() > 2 * JOB_BYTES);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, &log).unwrap();
        assert_fast_path_agrees(&path);
        let run = read(&path, false).unwrap();
        let names: Vec<&str> = run.endpoints.iter().map(|e| e.name.as_str()).collect();
        for name in ["/a, b", "/esc \"n\"", "/last", "/nl", "/q", "/crlf"] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        assert!(!names.contains(&"/u")); // update rows only
        assert!(run.failures.iter().any(|f| f.error == "500 \"oops\", bad"));

        // and a bad row gives the same error either way
        let bad = format!(
            "{header}1,0,s,0,,{},/x,u,false,1,200,true,false,3,,0,0,12\n2,0,s,0,,\"a\"b,/x,u,false,1,200,true,false,3,,0,0,12\n",
            raw("Get")
        );
        std::fs::write(&path, bad).unwrap();
        let (general, fast) = (scan_text(&path, None, false), scan_text(&path, None, true));
        assert!(
            general.starts_with("error") && general.contains("line 3"),
            "{general}"
        );
        assert_eq!(general, fast);
    }

    /// A timeline point's time and its exact pairs, read back.
    type PointPairs = (f64, Option<Vec<(u64, u32)>>);

    /// Each timeline point's exact pairs, read back.
    fn exact_pairs(run: &Run) -> Vec<PointPairs> {
        run.timeline
            .iter()
            .map(|p| {
                let pairs = match &p.latency {
                    Some(crate::model::PointLatency::Exact(e)) => Some(e.iter().collect()),
                    _ => None,
                };
                (p.t, pairs)
            })
            .collect()
    }

    #[test]
    fn spilled_seconds_read_back_the_pairs_kept_in_memory() {
        let p = fixture("fixtures/goose/monitoring-30u-reqlog-csv/requests.csv");
        let in_memory = read(&p, false).unwrap();
        let spilled_count = |run: &Run| {
            run.timeline
                .iter()
                .filter(|t| {
                    matches!(&t.latency, Some(crate::model::PointLatency::Exact(e)) if e.is_spilled())
                })
                .count()
        };
        assert_eq!(spilled_count(&in_memory), 0);
        // every second beyond the first 1 KB of pairs goes to the file
        SPILL_BUDGET_BYTES.set(1024);
        let spilled = read(&p, false);
        SPILL_BUDGET_BYTES.set(crate::model::EXACT_SPILL_BUDGET_BYTES);
        let spilled = spilled.unwrap();
        assert!(spilled_count(&spilled) > in_memory.timeline.len() / 2);
        let (a, b) = (exact_pairs(&in_memory), exact_pairs(&spilled));
        assert!(
            a.iter()
                .filter(|x| x.1.as_ref().is_some_and(|v| !v.is_empty()))
                .count()
                > 10
        );
        assert_eq!(a, b);
        // the rest of the run does not depend on where the pairs are
        for (x, y) in in_memory.timeline.iter().zip(&spilled.timeline) {
            assert_eq!((x.rps, x.p50_ms, x.p95_ms), (y.rps, y.p50_ms, y.p95_ms));
        }
    }

    /// A log whose rows come out of order: rows sent in a second arrive
    /// 5 to 60 s after later seconds' rows (past the open seconds), one second
    /// has only such rows, and rows more than [`LATE_SECONDS`] behind. Spread
    /// over several jobs, so that both workers see the seconds.
    fn write_out_of_order_log(path: &Path) -> Vec<(u64, u64, bool)> {
        // (elapsed ms, response µs) in file order
        let mut rows: Vec<(u64, u64)> = Vec::new();
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        for sec in 0..200u64 {
            if sec == 7 {
                continue; // second 7 only has late rows
            }
            for i in 0..60 {
                rows.push((sec * 1000 + i * 16, 1000 + next() % 400_000));
            }
            if sec >= 20 && sec % 10 == 0 {
                // late: sent 5, 17 and 60 seconds ago
                for back in [5, 17, 60] {
                    rows.push((
                        sec.saturating_sub(back) * 1000 + 500,
                        2000 + next() % 90_000_000,
                    ));
                }
                if sec <= 100 {
                    rows.push((7000 + sec, 50_000 + next() % 1000));
                }
            }
            if sec == 190 {
                // more than LATE_SECONDS behind
                rows.push((3000, 42_000));
                rows.push((10_000, 43_000));
            }
        }
        let mut text = String::from(TEST_LOG_HEADER);
        for (i, &(elapsed, us)) in rows.iter().enumerate() {
            text.push_str(&test_log_row(
                elapsed,
                "/api/v1/monitoring/queue",
                us,
                (200, true),
                i as u64 % 50,
                "",
            ));
        }
        assert!(text.len() > 2 * JOB_BYTES);
        std::fs::write(path, text).unwrap();
        // which rows are in the exact times: not those more than
        // LATE_SECONDS behind the latest second seen before them
        let mut max_sec = 0;
        rows.iter()
            .map(|&(elapsed, us)| {
                let sec = elapsed / 1000;
                max_sec = max_sec.max(sec);
                (sec, us, sec + LATE_SECONDS >= max_sec)
            })
            .collect()
    }

    /// An error message of many lines, most of the bytes of its row.
    const MULTILINE_ERROR: &str = "HTTP 500\nat a\nat b\nat c\nat d\nat e\nat f\nat g\nat h\nat i\nat j\nat k\nat l\nat m\nat n\nat o\nat p\nat q\nat r\nat s\nat t\nat u\nat v\nat w\nat x\nat y\nat z\nat aa\nat bb\nat cc\nat dd\nat ee\nat ff\nat gg\nat hh\nat ii\nat jj\nat kk\nat ll\nat mm\nat nn\nat oo\nat pp\nat qq\nat rr\nat ss\nat tt\nat uu\nat vv\nat ww\nat xx\nat yy\nat zz\nend";

    #[test]
    fn jobs_cut_inside_a_quoted_newline_are_read_again_exactly() {
        // every failed row's error cell holds a newline inside its quotes, so
        // a job cut at its last newline often falls inside one
        let mut text = String::from(TEST_LOG_HEADER);
        let mut rows = 0u64;
        while text.len() < 3 * JOB_BYTES {
            let failed = rows.is_multiple_of(3);
            let error = if failed {
                format!("\"{MULTILINE_ERROR}\"")
            } else {
                String::new()
            };
            text.push_str(&test_log_row(
                rows * 7,
                "/x",
                5000 + rows % 977,
                (if failed { 500 } else { 200 }, !failed),
                rows % 20,
                &error,
            ));
            rows += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, &text).unwrap();
        // the optimistic reading does trip over a cut inside quotes here
        assert!(scan_pass(&path, false, None, true, false).is_err());
        let scan = scan(&path, false, None).unwrap();
        assert_eq!(scan.rows, rows);
        let failures: u64 = scan.failures.iter().map(|f| f.occurrences).sum();
        assert_eq!(failures, rows.div_ceil(3));
        assert!(scan.failures.iter().all(|f| f.error == MULTILINE_ERROR));
        assert_fast_path_agrees(&path);
    }

    #[test]
    fn late_rows_are_merged_into_their_seconds_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        let rows = write_out_of_order_log(&path);
        // expected, from the rows: per second, the sorted exact keys and counts
        let mut want: BTreeMap<u64, BTreeMap<u64, u32>> = BTreeMap::new();
        let mut left_out = 0;
        for &(sec, us, counted) in &rows {
            if counted {
                *want
                    .entry(sec)
                    .or_default()
                    .entry(crate::latency::exact_key(us))
                    .or_default() += 1;
            } else {
                left_out += 1;
            }
        }
        assert_eq!(left_out, 2);
        for budget in [crate::model::EXACT_SPILL_BUDGET_BYTES, 512] {
            SPILL_BUDGET_BYTES.set(budget);
            let scan = scan(&path, false, None);
            SPILL_BUDGET_BYTES.set(crate::model::EXACT_SPILL_BUDGET_BYTES);
            let scan = scan.unwrap();
            assert_eq!(scan.late_rows, left_out);
            let run = scan.into_run(&path, None);
            let got: BTreeMap<u64, Vec<(u64, u32)>> = exact_pairs(&run)
                .into_iter()
                .filter_map(|(t, pairs)| Some((t as u64, pairs?)))
                .filter(|(_, pairs)| !pairs.is_empty())
                .collect();
            let want_pairs: BTreeMap<u64, Vec<(u64, u32)>> = want
                .iter()
                .map(|(&sec, keys)| (sec, keys.iter().map(|(&k, &c)| (k, c)).collect()))
                .collect();
            assert_eq!(got, want_pairs, "spill budget {budget}");
            // and each second's p95 is that of its exact times
            for point in &run.timeline {
                let Some(keys) = want.get(&(point.t as u64)) else {
                    continue;
                };
                let wide: Vec<(u64, u64)> = keys.iter().map(|(&k, &c)| (k, c as u64)).collect();
                let p95_us = crate::latency::exact_quantile(&wide, 0.95).unwrap();
                assert_eq!(
                    point.p95_ms,
                    Some(p95_us as f64 / 1000.0),
                    "second {}",
                    point.t
                );
            }
        }
    }

    #[test]
    fn sparse_times_count_like_a_histogram() {
        // values with repeats and 0: few distinct ones (stays a list) and more
        // than SPARSE_MAX distinct buckets (becomes a histogram on the way)
        for distinct in [10u64, 3000] {
            let values: Vec<u64> = (0..20_000u64)
                .map(|i| (i * 7919 % distinct) * 3 + (i % 3))
                .collect();
            let mut direct = new_endpoint_histogram();
            let (mut one, mut a, mut b) = (Times::default(), Times::default(), Times::default());
            for (i, &v) in values.iter().enumerate() {
                direct.record(v).unwrap();
                one.record(v);
                if i % 5 == 0 { a.record(v) } else { b.record(v) }
            }
            assert_eq!(matches!(one, Times::Sparse(_)), distinct == 10);
            let whole = Latency {
                count: values.len() as u64,
                max_ms: values.iter().max().map(|&m| m as f64 / 1000.0),
                dist: Distribution::Exact(Box::new(direct.clone())),
                ..Latency::default()
            };
            a.add(b).unwrap();
            for t in [one, a] {
                let lat = Latency {
                    dist: t.into_distribution(),
                    ..whole.clone()
                };
                for p in [0.0, 10.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
                    assert_eq!(lat.percentile(p), whole.percentile(p), "p{p}");
                }
                let h = lat.dist.exact_histogram().unwrap();
                assert_eq!(
                    (h.len(), h.min(), h.max()),
                    (direct.len(), direct.min(), direct.max())
                );
                let pairs = |h: &Histogram<u64>| -> Vec<(u64, u64)> {
                    h.iter_recorded()
                        .map(|v| (v.value_iterated_to(), v.count_at_value()))
                        .collect()
                };
                assert_eq!(pairs(&h), pairs(&direct));
            }
        }
    }

    #[test]
    fn bucket_counts_build_the_histogram_record_would() {
        let mut values: Vec<u64> = vec![0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096];
        // a bucket filled past a byte's range many times over
        values.extend(std::iter::repeat_n(30_000, 1000));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000u64 {
            xorshift(&mut x);
            // spread over every magnitude up to the recorded bound
            values.push((x >> (x % 40)) % (MAX_RECORDED_US + 1));
            values.push(i * 97);
        }
        values.push(MAX_RECORDED_US);
        let template = new_endpoint_histogram();
        let exact = new_exact_histogram();
        let mut direct = new_endpoint_histogram();
        let mut counts: Vec<u8> = Vec::new();
        let mut spilled = new_endpoint_histogram();
        for (n, &v) in values.iter().enumerate() {
            let i = hist_index(v);
            assert_eq!(hist_value(i), template.lowest_equivalent(v), "v={v}");
            assert_eq!(
                hist_value(i.max(1)),
                crate::latency::exact_key(v),
                "exact key of {v}"
            );
            if i >= counts.len() {
                counts.resize(hist_len_for(i), 0);
            }
            if counts[i] == u8::MAX {
                spilled.record_n(hist_value(i), 255).unwrap();
                counts[i] = 0;
            }
            counts[i] += 1;
            direct.record(v).unwrap();
            // the counts grow exactly as the histogram's own array
            if n % 997 == 0 {
                assert_eq!(counts.len().max(2048), direct.distinct_values(), "v={v}");
            }
            assert!(hist_value(i) <= exact.highest_equivalent(v));
        }
        let mut scan = Scan::new(None);
        scan.endpoints.push(EndpointAcc {
            key: Vec::new(),
            kind: String::new(),
            name: String::new(),
            hist: Times::Dense(Box::new(spilled)),
            counts,
            requests: 0,
            failures: 0,
            sum_us: 0,
            min_us: 0,
            max_us: 0,
            status: Vec::new(),
        });
        scan.build_histograms();
        let Times::Dense(built) = &scan.endpoints[0].hist else {
            panic!("the endpoint's times were given as a histogram");
        };
        assert_eq!(built.len(), direct.len());
        assert_eq!(built.distinct_values(), direct.distinct_values());
        assert_eq!(built.high(), direct.high());
        assert_eq!(built.min(), direct.min());
        assert_eq!(built.min_nz(), direct.min_nz());
        assert_eq!(built.max(), direct.max());
        assert_eq!(built.mean(), direct.mean());
        assert_eq!(built.stdev(), direct.stdev());
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            assert_eq!(built.value_at_quantile(q), direct.value_at_quantile(q));
        }
        let a: Vec<(u64, u64)> = built
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let b: Vec<(u64, u64)> = direct
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        assert_eq!(a, b);
        assert!(**built == direct);
    }

    /// The fast splitter either hands a record over or cuts it exactly as
    /// the general one: random records of the bytes that matter.
    #[test]
    fn fast_split_agrees_with_split_record_on_random_records() {
        for simd in Simd::available() {
            fast_split_agrees_at(simd, b"ab\",\"\n\r\"");
            // up to 64 separators in a block: every group of stored offsets
            fast_split_agrees_at(simd, b",,,,,,,a\"\n");
        }
    }

    fn fast_split_agrees_at(simd: Simd, alphabet: &[u8]) {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| xorshift(&mut x) % n;
        let (mut taken, mut handed) = (0, 0);
        for _ in 0..200_000 {
            let len = 1 + next(150) as usize;
            let mut data: Vec<u8> = (0..len)
                .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                .collect();
            if next(3) == 0 {
                // a well-formed record now and then
                data = b"1,\"x \"\"y\"\", z\",\"\",,\"a\nb\",c\n".to_vec();
                let cut = next(data.len() as u64 + 1) as usize;
                data.truncate(cut);
                data.extend_from_slice(b"q,\"\"\"\",x\n");
            }
            let start = next(3) as usize;
            let mut padded = vec![b'x'; start];
            padded.extend_from_slice(&data);
            let mut blocks = Blocks::with_simd(&padded, simd);
            blocks.reset(start);
            let mut cuts = Cuts::new();
            let mut cells = Vec::new();
            let Some(used) = fast_split(&mut blocks, start, &mut cuts) else {
                handed += 1;
                continue;
            };
            taken += 1;
            let Ok(Split::Record(expected)) = split_record(&data, true, &mut cells) else {
                panic!("fast split took a record the general one rejects: {data:?}");
            };
            assert_eq!(used, expected, "{:?}", String::from_utf8_lossy(&data));
            fn show<C: RecordCells + ?Sized>(c: &C, rec: &[u8]) -> Vec<Vec<u8>> {
                (0..c.len())
                    .map(|i| {
                        let c = c.cell(i);
                        unescape(&rec[c.start..c.end], c.escaped, &mut Vec::new()).to_vec()
                    })
                    .collect()
            }
            let rec = &padded[start..start + used];
            let fast = FastCells { rec, cuts: &cuts };
            assert_eq!(
                show(&fast, rec),
                show(&cells[..], &data),
                "{:?}",
                String::from_utf8_lossy(&data)
            );
        }
        assert!(
            taken > 5_000 && handed > 5_000,
            "{simd:?}: {taken} {handed}"
        );
    }

    /// An error far into the file (in a later job, on another worker) names
    /// its line in the file, counted here from the text itself.
    #[test]
    fn an_error_in_a_later_job_names_its_line_in_the_file() {
        let real = std::fs::read_to_string(fixture(
            "fixtures/goose/monitoring-30u-reqlog-csv/requests.csv",
        ))
        .unwrap();
        let (header, rows) = real.split_once('\n').unwrap();
        let mut log = format!("{header}\n");
        while log.len() < 3 * JOB_BYTES {
            log.push_str(rows);
            if !log.ends_with('\n') {
                log.push('\n');
            }
        }
        let line = log.lines().count() + 1;
        let bad_row = format!("x{}", rows.lines().next().unwrap());
        log.push_str(&bad_row);
        log.push('\n');
        log.push_str(rows);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.csv");
        std::fs::write(&path, &log).unwrap();
        for fast in [true, false] {
            let text = scan_text(&path, None, fast);
            assert!(
                text.starts_with("error") && text.contains(&format!("line {line}")),
                "{text} (expected line {line})"
            );
        }
    }

    #[test]
    fn word_parsed_numbers_equal_the_digit_loop() {
        // random cells of 0 to 20 bytes at offsets 0 to 11 of a record,
        // digits and four kinds of non-digit byte in any position
        let mut x = 0x5151_7e7e_3c3c_0101u64;
        for _ in 0..200_000 {
            xorshift(&mut x);
            let len = (x % 21) as usize;
            let before = ((x >> 8) % 12) as usize;
            let mut rec: Vec<u8> = (0..before).map(|k| b",x9\"/"[k % 5]).collect();
            let start = rec.len();
            for k in 0..len {
                let r = (x >> (16 + 2 * (k % 20))) % 16;
                rec.push(match r {
                    0 => b'/',
                    1 => b':',
                    2 => 0xB0,
                    3 => b' ',
                    _ => b'0' + (r % 10) as u8,
                });
            }
            let end = rec.len();
            rec.extend_from_slice(b",1\n");
            assert_eq!(
                parse_u64_at(&rec, start, end),
                parse_u64(&rec[start..end]),
                "{:?}",
                String::from_utf8_lossy(&rec[start..end])
            );
        }
        assert_eq!(parse_u64_at(b"a,12345678,", 2, 10), Some(12_345_678));
        assert_eq!(parse_u64_at(b"a,00000007,", 2, 10), Some(7));
        assert_eq!(parse_u64_at(b"xxxxxxxx,5", 9, 10), Some(5));
        assert_eq!(parse_u64_at(b"xxxxxxx,99999999", 8, 16), Some(99_999_999));
        assert_eq!(parse_u64_at(b"5,", 0, 1), Some(5));
    }

    #[test]
    fn radix_sorted_keys_equal_the_standard_sort() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        let mut scratch = Vec::new();
        for len in [0, 1, 2, 255, 256, 257, 1000, 5000, 70_000] {
            for spread in [1u64, 7, 300, 65_536] {
                let mut keys: Vec<u16> = (0..len)
                    .map(|_| {
                        xorshift(&mut x);
                        (1000 + x % spread) as u16
                    })
                    .collect();
                let mut expected = keys.clone();
                expected.sort();
                sort_keys(&mut keys, &mut scratch);
                assert_eq!(keys, expected, "{len} keys over {spread}");
            }
        }
    }

    #[test]
    fn simd_classifiers_agree_with_the_portable_one() {
        let mut x = 0x1234_5678_9abc_def1u64;
        for _ in 0..20_000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                xorshift(&mut x);
                *b = b"\",\nab\r"[(x % 6) as usize];
            }
            let (q, s, n) = classify(&block);
            let portable = (q, s, n, prefix_xor(q));
            let mut odd = false;
            let mut parity = 0u64;
            for (i, &b) in block.iter().enumerate() {
                odd ^= b == b'"';
                parity |= (odd as u64) << i;
            }
            assert_eq!(portable.3, parity);
            for simd in Simd::available() {
                assert_eq!(classify_with_parity(&block, simd), portable, "{simd:?}");
            }
        }
    }

    #[test]
    fn labels() {
        assert_eq!(label_of(Path::new("runs/mon-30u/requests.csv")), "mon-30u");
        assert_eq!(label_of(Path::new("runs/mon-30u/big.csv.gz")), "big");
    }
}

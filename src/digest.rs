//! `perfreport digest`: one shard of a run reduced to a standard HdrHistogram
//! interval log, and read back as a run.
//!
//! A team with terabytes of request logs reduces each shard where it lives (a
//! CI matrix, a job array, GNU parallel) and merges the small digests on one
//! machine: every command accepts a digest as `--stats`, and several digests
//! (or generators) given together merge exactly ([`crate::input::merge`]).
//!
//! # The file
//!
//! A plain HdrHistogram interval log, written with the `hdrhistogram` crate's
//! `interval_log` writer (V2 deflate-compressed histograms, base64), readable
//! by any HdrHistogram log tool. Latencies are **microseconds** at 3
//! significant digits, exactly the histograms perfreport keeps for a request
//! log, so a digest loses nothing perfreport uses.
//!
//! * line 1 `#[perfreport digest v1]` identifies the file;
//! * line 2 `#[perfreport-meta {JSON}]` holds what a histogram cannot: per
//!   endpoint the exact request and failure counts, status codes, exact
//!   sum/min/max; the failure groups with their error texts; the timeline's
//!   per-interval requests, failures and users; the run's times and notes;
//! * `#[StartTime: ...]` and `#[BaseTime: ...]`: interval timestamps are
//!   seconds since BaseTime, the start of the run in unix seconds, or `0` when
//!   the input had no clock (a Goose request log read alone: its times are
//!   seconds since the test started, and the meta says `relative_times`);
//! * one interval per endpoint, tagged `METHOD:name` (`%`, `,`, space, CR and
//!   LF of the name percent-encoded, as tags cannot hold them), spanning the
//!   whole shard: the latencies of all its requests;
//! * one interval per timeline interval (`--interval`, 1 s by default), tagged
//!   `all`: the latencies of the requests sent in it, every endpoint together.
//!
//! Only inputs with per-request times can be digested (a request log, or a
//! digest): Locust's and Goose's own bucketed histograms would be moved by
//! HdrHistogram's quantisation, and their files are small enough to be merged
//! as they are.

use crate::error::{Error, Result};
use crate::input::merge::TestPlan;
use crate::latency::{Distribution, Latency, exact_key, exact_quantile, new_exact_histogram};
use crate::model::{
    Endpoint, FailureGroup, MeasuredCounts, PointLatency, Run, TimelinePoint, Tool,
};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// The first line of a digest.
pub const MAGIC: &str = "#[perfreport digest v1]";

/// The start of the metadata line.
const META: &str = "#[perfreport-meta ";

/// The tag of the per-interval histograms of all endpoints together.
pub const ALL_TAG: &str = "all";

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    label: String,
    tool: String,
    tool_version: Option<String>,
    started: Option<f64>,
    ended: Option<f64>,
    duration_s: Option<f64>,
    relative_times: bool,
    peak_users: Option<u64>,
    generators: usize,
    interval_s: f64,
    provenance: Vec<String>,
    measured_counts: Option<(u64, u64, String)>,
    ended_by: Option<String>,
    stopped_early: Option<String>,
    scenarios: Vec<String>,
    hosts: Vec<String>,
    endpoints: Vec<MetaEndpoint>,
    failures: Vec<MetaFailure>,
    /// (t, users, requests/s, failures/s, cumulative requests, cumulative failures)
    timeline: Vec<MetaPoint>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MetaEndpoint {
    tag: String,
    kind: String,
    name: String,
    requests: u64,
    failures: u64,
    sum_ms: Option<f64>,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    status: Vec<(u16, u64)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MetaFailure {
    kind: String,
    name: String,
    error: String,
    status: Option<u16>,
    occurrences: u64,
    first_seen: Option<f64>,
    last_seen: Option<f64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct MetaPoint {
    t: f64,
    users: Option<u64>,
    rps: Option<f64>,
    failures_per_s: Option<f64>,
    total_requests: Option<u64>,
    total_failures: Option<u64>,
}

/// The tag of an endpoint: `METHOD:name`, with what a tag cannot hold
/// percent-encoded.
pub fn endpoint_tag(kind: &str, name: &str) -> String {
    let enc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '%' | ',' | ' ' | '\r' | '\n' | ':' => out.push_str(&format!("%{:02X}", c as u32)),
                c => out.push(c),
            }
        }
        out
    };
    format!("{}:{}", enc(kind), enc(name))
}

/// Reduce a run to a digest. `interval_s` is the length of the timeline
/// intervals (whole seconds, at least 1).
pub fn write(run: &Run, plan: &TestPlan, interval_s: u64) -> Result<Vec<u8>> {
    let interval_s = interval_s.max(1);
    let source = run
        .sources
        .first()
        .cloned()
        .unwrap_or_else(|| run.label.clone().into());
    for e in &run.endpoints {
        if e.requests > 0
            && !matches!(
                e.latency.dist,
                Distribution::Exact(_) | Distribution::ExactSparse(_)
            )
        {
            return Err(Error::parse(
                &source,
                None,
                None,
                format!(
                    "`{}` has no per-request times ({}); digest reduces request logs (or digests): pass Locust's and Goose's own reports to --stats as they are, several together merge",
                    e.label(),
                    e.latency.precision_note()
                ),
            ));
        }
    }
    let base = if run.relative_times {
        0.0
    } else {
        run.started
            .or_else(|| run.timeline.first().map(|p| p.t))
            .unwrap_or(0.0)
            .floor()
    };
    // timeline intervals: points grouped by `interval_s` seconds from the base
    struct Slot {
        t: f64,
        users: Option<u64>,
        requests: Option<f64>,
        failures: Option<f64>,
        total_requests: Option<u64>,
        total_failures: Option<u64>,
        hist: Option<Histogram<u64>>,
    }
    let mut slots: BTreeMap<i64, Slot> = BTreeMap::new();
    for p in &run.timeline {
        let i = ((p.t - base) / interval_s as f64).floor() as i64;
        let slot = slots.entry(i).or_insert_with(|| Slot {
            t: base + (i * interval_s as i64) as f64,
            users: None,
            requests: None,
            failures: None,
            total_requests: None,
            total_failures: None,
            hist: None,
        });
        slot.users = slot.users.max(p.users);
        slot.requests = Some(slot.requests.unwrap_or(0.0) + p.rps.unwrap_or(0.0));
        slot.failures = Some(slot.failures.unwrap_or(0.0) + p.failures_per_s.unwrap_or(0.0));
        slot.total_requests = p.total_requests.or(slot.total_requests);
        slot.total_failures = p.total_failures.or(slot.total_failures);
        if let Some(PointLatency::Exact(v)) = &p.latency {
            let h = slot.hist.get_or_insert_with(new_exact_histogram);
            for (k, c) in v {
                h.record_n(k, c as u64)
                    .map_err(|e| Error::parse(&source, None, None, format!("{e:?}")))?;
            }
        }
    }
    let meta = Meta {
        label: run.label.clone(),
        tool: run.tool.to_string(),
        tool_version: run.tool_version.clone(),
        started: run.started,
        ended: run.ended,
        duration_s: run.duration_s,
        relative_times: run.relative_times,
        peak_users: run.peak_users,
        generators: run.generators.max(1),
        interval_s: interval_s as f64,
        provenance: run.provenance.clone(),
        measured_counts: run
            .measured_counts
            .as_ref()
            .map(|m| (m.requests, m.failures, m.basis.clone())),
        ended_by: run.ended_by.clone(),
        stopped_early: run.stopped_early.clone(),
        scenarios: plan.scenarios.iter().cloned().collect(),
        hosts: plan.hosts.iter().cloned().collect(),
        endpoints: run
            .endpoints
            .iter()
            .map(|e| MetaEndpoint {
                tag: endpoint_tag(&e.kind, &e.name),
                kind: e.kind.clone(),
                name: e.name.clone(),
                requests: e.requests,
                failures: e.failures,
                sum_ms: e.latency.sum_ms,
                min_ms: e.latency.min_ms,
                max_ms: e.latency.max_ms,
                status: e.status_counts.iter().map(|(k, v)| (*k, *v)).collect(),
            })
            .collect(),
        failures: run
            .failures
            .iter()
            .map(|f| MetaFailure {
                kind: f.kind.clone(),
                name: f.name.clone(),
                error: f.error.clone(),
                status: f.status,
                occurrences: f.occurrences,
                first_seen: f.first_seen,
                last_seen: f.last_seen,
            })
            .collect(),
        timeline: slots
            .values()
            .map(|s| MetaPoint {
                t: s.t,
                users: s.users,
                rps: s.requests.map(|r| r / interval_s as f64),
                failures_per_s: s.failures.map(|f| f / interval_s as f64),
                total_requests: s.total_requests,
                total_failures: s.total_failures,
            })
            .collect(),
    };
    let meta_json = serde_json::to_string(&meta)
        .map_err(|e| Error::parse(&source, None, None, e.to_string()))?;
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let base_time = UNIX_EPOCH + Duration::from_secs_f64(base.max(0.0));
    let werr =
        |e: std::io::Error| Error::parse(&source, None, None, format!("writing the digest: {e}"));
    {
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment(&MAGIC[1..])
            .add_comment(&format!("{}{meta_json}]", &META[1..]))
            .add_comment("Latencies in microseconds (3 significant digits); tags: METHOD:name per endpoint over the shard, `all` per timeline interval")
            .with_start_time(base_time)
            .with_base_time(base_time)
            .begin_log_with(&mut out, &mut serializer)
            .map_err(werr)?;
        let span = run
            .duration_s
            .or_else(|| run.timeline.last().map(|p| p.t + 1.0 - base))
            .unwrap_or(0.0)
            .max(0.0);
        let start0 = if run.relative_times {
            0.0
        } else {
            (run.started.unwrap_or(base) - base).max(0.0)
        };
        for (e, m) in run.endpoints.iter().zip(&meta.endpoints) {
            let Some(h) = e.latency.dist.exact_histogram() else {
                continue;
            };
            let Some(tag) = Tag::new(&m.tag) else {
                continue;
            };
            w.write_histogram(
                &h,
                Duration::from_secs_f64(start0),
                Duration::from_secs_f64(span),
                Some(tag),
            )
            .map_err(|e| Error::parse(&source, None, None, format!("writing the digest: {e}")))?;
        }
        for s in slots.values() {
            if let Some(h) = &s.hist {
                w.write_histogram(
                    h,
                    Duration::from_secs_f64((s.t - base).max(0.0)),
                    Duration::from_secs(interval_s),
                    Tag::new(ALL_TAG),
                )
                .map_err(|e| {
                    Error::parse(&source, None, None, format!("writing the digest: {e}"))
                })?;
            }
        }
    }
    Ok(out)
}

fn meta_of(path: &Path, bytes: &[u8]) -> Result<(Meta, u64)> {
    let mut line_no = 0u64;
    for line in bytes.split(|&b| b == b'\n') {
        line_no += 1;
        if let Some(rest) = line.strip_prefix(META.as_bytes()) {
            let json = rest.strip_suffix(b"]").unwrap_or(rest);
            let meta: Meta = serde_json::from_slice(json).map_err(|e| {
                Error::parse(
                    path,
                    Some(line_no),
                    None,
                    format!(
                        "the perfreport-meta line is not the JSON perfreport writes: {}",
                        crate::input::json_message(&e)
                    ),
                )
            })?;
            return Ok((meta, line_no));
        }
        if !line.starts_with(b"#") {
            break;
        }
    }
    Err(Error::parse(
        path,
        None,
        None,
        "a perfreport digest without its `#[perfreport-meta {...}]` line (the counts and failures); write digests with `perfreport digest`",
    ))
}

/// The test plan stored in a digest (its scenarios and target hosts).
pub fn plan_of(path: &Path) -> Result<TestPlan> {
    let bytes = crate::input::read_all(path)?;
    let (meta, _) = meta_of(path, &bytes)?;
    Ok(TestPlan {
        scenarios: meta.scenarios.into_iter().collect(),
        hosts: meta.hosts.into_iter().collect(),
    })
}

fn decode(path: &Path, line: u64, encoded: &str) -> Result<Histogram<u64>> {
    use base64::Engine;
    let bad = |what: String| Error::parse(path, Some(line), None, what);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|e| {
            bad(format!(
                "expected a base64 HdrHistogram, found bad base64 ({e})"
            ))
        })?;
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(raw))
        .map_err(|e| bad(format!("expected a compressed HdrHistogram, found {e:?}")))
}

/// Read a digest back as a run.
pub fn read(path: &Path) -> Result<Run> {
    let mut bytes = crate::input::read_all(path)?;
    // the crate's parser needs every line ended, the last one too
    if bytes.last().is_some_and(|&b| b != b'\n') {
        bytes.push(b'\n');
    }
    let (meta, _) = meta_of(path, &bytes)?;
    let tool = match meta.tool.as_str() {
        "Goose" => Tool::Goose,
        "Locust" => Tool::Locust,
        other => {
            return Err(Error::parse(
                path,
                None,
                None,
                format!("expected tool Goose or Locust in the meta line, found `{other}`"),
            ));
        }
    };
    let mut base = 0.0;
    let mut endpoint_hists: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut seconds: BTreeMap<i64, Histogram<u64>> = BTreeMap::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| {
            let hdrhistogram::serialization::interval_log::LogIteratorError::ParseError {
                offset,
            } = e;
            Error::parse(
                path,
                Some(crate::input::line_at_offset(&bytes, offset)),
                None,
                "expected an interval log line (`Tag=...,start,length,max,histogram`), a comment or a header",
            )
        })?;
        match entry {
            LogEntry::BaseTime(d) => base = d.as_secs_f64(),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(iv) => {
                let offset = iv.encoded_histogram().as_ptr() as usize - bytes.as_ptr() as usize;
                let line = crate::input::line_at_offset(&bytes, offset);
                let h = decode(path, line, iv.encoded_histogram())?;
                match iv.tag().map(|t| t.as_str()) {
                    Some(ALL_TAG) => {
                        let s = (base + iv.start_timestamp().as_secs_f64()).round() as i64;
                        let slot = seconds.entry(s).or_insert_with(new_exact_histogram);
                        slot.add(&h)
                            .map_err(|e| Error::parse(path, Some(line), None, format!("{e:?}")))?;
                    }
                    Some(tag) => match endpoint_hists.get_mut(tag) {
                        Some(x) => x
                            .add(&h)
                            .map_err(|e| Error::parse(path, Some(line), None, format!("{e:?}")))?,
                        None => {
                            endpoint_hists.insert(tag.to_string(), h);
                        }
                    },
                    None => {
                        return Err(Error::parse(
                            path,
                            Some(line),
                            None,
                            "an interval without a tag; a perfreport digest tags each one (`METHOD:name` or `all`)",
                        ));
                    }
                }
            }
        }
    }
    let mut run = Run::new(meta.label, tool);
    run.sources.push(path.to_path_buf());
    run.tool_version = meta.tool_version;
    run.started = meta.started;
    run.ended = meta.ended;
    run.duration_s = meta.duration_s;
    run.relative_times = meta.relative_times;
    run.peak_users = meta.peak_users;
    run.generators = meta.generators.max(1);
    run.ended_by = meta.ended_by;
    run.stopped_early = meta.stopped_early;
    run.measured_counts = meta
        .measured_counts
        .map(|(requests, failures, basis)| MeasuredCounts {
            requests,
            failures,
            basis,
        });
    run.provenance = meta.provenance;
    run.provenance.push(format!(
        "Read from the digest {} (HdrHistogram interval log, exact µs times at 3 significant digits, timeline intervals of {} s).",
        path.display(),
        meta.interval_s
    ));
    let span = run.duration_s.filter(|d| *d > 0.0);
    for m in meta.endpoints {
        let hist = endpoint_hists.remove(&m.tag);
        if m.requests > 0 && hist.is_none() {
            return Err(Error::parse(
                path,
                None,
                None,
                format!(
                    "the meta line counts {} requests of `{}` but no interval is tagged `{}`",
                    m.requests, m.name, m.tag
                ),
            ));
        }
        let hist = hist.unwrap_or_else(new_exact_histogram);
        if hist.len() != m.requests {
            return Err(Error::parse(
                path,
                None,
                None,
                format!(
                    "the histograms tagged `{}` hold {} values but the meta line counts {} requests",
                    m.tag,
                    hist.len(),
                    m.requests
                ),
            ));
        }
        run.endpoints.push(Endpoint {
            kind: m.kind,
            name: m.name,
            requests: m.requests,
            failures: m.failures,
            latency: Latency {
                count: m.requests,
                sum_ms: m.sum_ms,
                min_ms: m.min_ms,
                max_ms: m.max_ms,
                dist: Distribution::Exact(Box::new(hist)),
            },
            rps: span.map(|d| m.requests as f64 / d),
            avg_content_bytes: None,
            status_counts: m.status.into_iter().collect(),
        });
    }
    if let Some(tag) = endpoint_hists.keys().next() {
        return Err(Error::parse(
            path,
            None,
            None,
            format!("intervals tagged `{tag}` name no endpoint of the meta line"),
        ));
    }
    run.total = crate::input::locust_csv::aggregate(run.endpoints.iter());
    run.total.rps = span.map(|d| run.total.requests as f64 / d);
    run.failures = meta
        .failures
        .into_iter()
        .map(|f| FailureGroup {
            kind: f.kind,
            name: f.name,
            error: f.error,
            status: f.status,
            occurrences: f.occurrences,
            first_seen: f.first_seen,
            last_seen: f.last_seen,
        })
        .collect();
    run.timeline = meta
        .timeline
        .into_iter()
        .map(|p| {
            let h = seconds.remove(&(p.t.round() as i64));
            let exact: Option<Vec<(u64, u64)>> = h.map(|h| {
                let mut v: BTreeMap<u64, u64> = BTreeMap::new();
                for x in h.iter_recorded() {
                    *v.entry(exact_key(x.value_iterated_to())).or_insert(0) += x.count_at_value();
                }
                v.into_iter().collect()
            });
            let q = |q: f64| {
                exact
                    .as_ref()
                    .and_then(|e| exact_quantile(e, q))
                    .map(|v| v as f64 / 1000.0)
            };
            TimelinePoint {
                t: p.t,
                users: p.users,
                rps: p.rps,
                failures_per_s: p.failures_per_s,
                p50_ms: q(0.5),
                p95_ms: q(0.95),
                p99_ms: None,
                total_requests: p.total_requests,
                total_failures: p.total_failures,
                latency: exact.as_ref().map(|e| {
                    PointLatency::Exact(crate::model::ExactSecond::from_sorted(
                        e.iter().map(|&(k, c)| (k, c.min(u32::MAX as u64) as u32)),
                    ))
                }),
            }
        })
        .collect();
    Ok(run)
}

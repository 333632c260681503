//! The run history: recorded runs (summary, per-endpoint distributions,
//! resources, verdict, CI labels) kept in a store, read back as baselines and
//! as the report's trend.
//!
//! Callers only see [`RunStore`]; [`sqlite::SqliteStore`] is the one
//! implementation today, so a team-wide store (PostgreSQL) can follow
//! without touching them. Distributions are kept as the input carried them
//! (Locust buckets, Goose buckets, exact HdrHistogram), each serialised with
//! HdrHistogram's V2 deflate format, so a percentile of a run rebuilt from
//! the store is the one computed when it was recorded, by the same rule.

pub mod sqlite;
pub mod trend;

use crate::error::{Error, Result};
use crate::latency::{Distribution, Latency};
use crate::model::{Endpoint, Run, Tool, Window};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The database `record`, `gate --record` and `history` use when not told.
pub const DEFAULT_DB: &str = "perfreport.db";

/// Identifier of a recorded run in its store.
pub type RunId = i64;

/// A store of recorded runs.
pub trait RunStore {
    /// Store one run; returns its id.
    fn record(&mut self, run: &RecordedRun) -> Result<RunId>;
    /// The runs matching the filter, oldest first.
    fn query(&self, filter: &Filter) -> Result<Vec<RecordedRun>>;
}

/// Which recorded runs to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only runs recorded with this branch label.
    pub branch: Option<String>,
    /// Only the newest N matching runs.
    pub last: Option<usize>,
    /// Only runs whose recorded verdict passed (exit code 0).
    pub passing: bool,
}

impl Filter {
    /// `branch main, last 5, passing` (or `all runs`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.last {
            parts.push(format!("last {n}"));
        }
        if self.passing {
            parts.push("passing".into());
        }
        if let Some(b) = &self.branch {
            parts.push(format!("on branch {b}"));
        }
        if parts.is_empty() {
            "all recorded runs".into()
        } else {
            format!("recorded runs: {}", parts.join(", "))
        }
    }
}

/// `db:perfreport.db?branch=main&last=5&passing`: a database and a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct DbSpec {
    /// The database file.
    pub path: PathBuf,
    /// The runs to read from it.
    pub filter: Filter,
}

impl DbSpec {
    /// True when `text` names a database (`db:...`) rather than a file.
    pub fn is_db(text: &str) -> bool {
        text.starts_with("db:")
    }

    /// Parse `db:PATH[?branch=B&last=N&passing]`.
    pub fn parse(text: &str) -> Result<DbSpec> {
        let bad = |m: String| Error::Usage(format!("`{text}`: {m}"));
        let rest = text
            .strip_prefix("db:")
            .ok_or_else(|| bad("expected db:PATH[?branch=B&last=N&passing]".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(bad(
                "no database path after `db:` (e.g. db:perfreport.db)".into()
            ));
        }
        let mut filter = Filter::default();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match k {
                "branch" if !v.is_empty() => filter.branch = Some(v.to_string()),
                "last" => {
                    filter.last =
                        Some(v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                            bad(format!("last={v}: expected a whole number of runs above 0"))
                        })?)
                }
                "passing" if v.is_empty() || v == "true" || v == "1" => filter.passing = true,
                _ => {
                    return Err(bad(format!(
                        "unknown filter `{part}`; the filters are branch=NAME, last=N and passing"
                    )));
                }
            }
        }
        Ok(DbSpec {
            path: PathBuf::from(path),
            filter,
        })
    }
}

/// Who and what a run was recorded for (CI labels).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Labels {
    /// Branch (`--branch`, else GITHUB_REF_NAME or CI_COMMIT_REF_NAME).
    pub branch: Option<String>,
    /// Commit (`--commit`, else GITHUB_SHA or CI_COMMIT_SHA).
    pub commit: Option<String>,
    /// Build URL (`--build-url`, else the GitHub run URL or CI_JOB_URL).
    pub build_url: Option<String>,
    /// Free tags (`--tag k=v`).
    pub tags: BTreeMap<String, String>,
}

impl Labels {
    /// The flags' labels, each missing one taken from the CI environment
    /// (GitHub Actions, GitLab CI) through `env`.
    pub fn with_ci_defaults(
        branch: Option<String>,
        commit: Option<String>,
        build_url: Option<String>,
        tags: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Labels> {
        let var = |k: &str| env(k).filter(|v| !v.is_empty());
        let github_url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(s), Some(r), Some(id)) => Some(format!("{s}/{r}/actions/runs/{id}")),
            _ => None,
        };
        let mut out = Labels {
            branch: branch
                .or_else(|| var("GITHUB_REF_NAME"))
                .or_else(|| var("CI_COMMIT_REF_NAME")),
            commit: commit
                .or_else(|| var("GITHUB_SHA"))
                .or_else(|| var("CI_COMMIT_SHA")),
            build_url: build_url.or(github_url).or_else(|| var("CI_JOB_URL")),
            tags: BTreeMap::new(),
        };
        for t in tags {
            let (k, v) = t.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "--tag {t}: expected KEY=VALUE (e.g. --tag env=staging)"
                ))
            })?;
            if k.is_empty() {
                return Err(Error::Usage(format!("--tag {t}: the key is empty")));
            }
            out.tags.insert(k.to_string(), v.to_string());
        }
        Ok(out)
    }

    /// [`Labels::with_ci_defaults`] from the process environment.
    pub fn from_flags_and_env(
        branch: Option<String>,
        commit: Option<String>,
        build_url: Option<String>,
        tags: &[String],
    ) -> Result<Labels> {
        Self::with_ci_defaults(branch, commit, build_url, tags, |k| std::env::var(k).ok())
    }
}

/// A latency distribution as stored: the summary figures and the
/// distribution in the shape its input carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredLatency {
    /// Timed requests.
    pub count: u64,
    /// Exact sum of all times, ms.
    pub sum_ms: Option<f64>,
    /// Exact minimum, ms.
    pub min_ms: Option<f64>,
    /// Exact maximum, ms.
    pub max_ms: Option<f64>,
    /// `locust_buckets_ms`, `goose_buckets_us`, `exact_us`, `columns`, `bounds` or `none`.
    pub kind: String,
    /// The HdrHistogram (V2 deflate) of the buckets or times, when the kind has one.
    pub histogram_v2: Option<Vec<u8>>,
    /// Percentile columns or bounds as JSON, for the kinds without a histogram.
    pub columns_json: Option<String>,
}

/// One endpoint (or the aggregate) of a recorded run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecordedEndpoint {
    /// Request type (`GET`); empty for the aggregate.
    pub kind: String,
    /// Request name.
    pub name: String,
    /// Requests, failures included.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Requests per second (the tool's figure for an endpoint; the
    /// sustained rate for the aggregate).
    pub rps: Option<f64>,
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// p95, ms.
    pub p95_ms: Option<f64>,
    /// p99, ms.
    pub p99_ms: Option<f64>,
    /// The distribution.
    #[serde(skip)]
    pub latency: StoredLatency,
}

/// Resource figures of the server under test during the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceSummary {
    /// Mean RSS while idle before the load.
    pub rss_idle_bytes: Option<f64>,
    /// Largest RSS under load.
    pub rss_load_bytes: Option<f64>,
    /// Mean CPU under load, percent of `cpu_basis`.
    pub cpu_load_percent: Option<f64>,
    /// What the CPU percentage is of.
    pub cpu_basis: String,
}

/// The verdict a run got when it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedVerdict {
    /// 0 met, 1 missed, 3 nothing measured.
    pub exit_code: i32,
    /// The per-target outcomes: the verdict JSON of `gate --json`.
    pub outcomes: serde_json::Value,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRun {
    /// Id in the store (None before it is stored).
    pub id: Option<RunId>,
    /// When it was recorded, unix seconds.
    pub recorded_at: f64,
    /// Run label.
    pub label: String,
    /// `Locust` or `Goose`.
    pub tool: String,
    /// Start of the test, unix seconds (or seconds from start for a relative run).
    pub started: Option<f64>,
    /// End of the test.
    pub ended: Option<f64>,
    /// Length of the test, s.
    pub duration_s: Option<f64>,
    /// Peak users.
    pub users: Option<u64>,
    /// Requests, failures included (the tool's totals).
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Sustained requests per second.
    pub rps: Option<f64>,
    /// What `rps` is measured over.
    pub rps_basis: Option<String>,
    /// The window `rps` is measured over, when it is not the whole run.
    pub rps_window: Option<(f64, f64)>,
    /// Median of all requests, ms.
    pub p50_ms: Option<f64>,
    /// p95 of all requests, ms.
    pub p95_ms: Option<f64>,
    /// p99 of all requests, ms.
    pub p99_ms: Option<f64>,
    /// CI labels.
    pub labels: Labels,
    /// All requests together.
    pub total: RecordedEndpoint,
    /// Per endpoint.
    pub endpoints: Vec<RecordedEndpoint>,
    /// Resources of the server, when sampled.
    pub resources: Option<ResourceSummary>,
    /// The verdict, when the run was judged.
    pub verdict: Option<RecordedVerdict>,
}

impl RecordedRun {
    /// Failed fraction of requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.failures as f64 / self.requests as f64)
    }

    /// What is kept of a run, its resource figures and its verdict.
    pub fn from_run(
        run: &Run,
        resources: Option<&crate::targets::ResourceFigures>,
        verdict: Option<RecordedVerdict>,
        labels: Labels,
        recorded_at: f64,
    ) -> Result<RecordedRun> {
        let sustained = crate::analysis::steady::sustained_rps(run);
        let mut total = stored_endpoint(&run.total)?;
        total.rps = sustained.as_ref().map(|s| s.rps);
        Ok(RecordedRun {
            id: None,
            recorded_at,
            label: run.label.clone(),
            tool: run.tool.to_string(),
            started: run.started,
            ended: run.ended,
            duration_s: run.duration_s,
            users: run.peak_users,
            requests: run.total.requests,
            failures: run.total.failures,
            rps: sustained.as_ref().map(|s| s.rps),
            rps_basis: sustained.as_ref().map(|s| s.basis.clone()),
            rps_window: sustained
                .as_ref()
                .and_then(|s| s.window)
                .map(|w| (w.start, w.end)),
            p50_ms: total.p50_ms,
            p95_ms: total.p95_ms,
            p99_ms: total.p99_ms,
            labels,
            total,
            endpoints: run
                .endpoints
                .iter()
                .map(stored_endpoint)
                .collect::<Result<_>>()?,
            resources: resources.map(|r| ResourceSummary {
                rss_idle_bytes: r.rss_idle_bytes,
                rss_load_bytes: r.rss_load_bytes,
                cpu_load_percent: r.cpu_load_percent,
                cpu_basis: r.cpu_basis.clone(),
            }),
            verdict,
        })
    }

    /// The run rebuilt from what was stored: its distributions are the
    /// recorded ones, so its percentiles are those computed when it was
    /// recorded. It has no timeline: its throughput is the stored sustained
    /// rate over the stored window.
    pub fn to_run(&self, db: &Path) -> Result<Run> {
        let tool = match self.tool.as_str() {
            "Goose" => Tool::Goose,
            _ => Tool::Locust,
        };
        let mut run = Run::new(self.label.clone(), tool);
        run.sources = vec![db.to_path_buf()];
        run.started = self.started;
        run.ended = self.ended;
        run.duration_s = self.duration_s;
        run.peak_users = self.users;
        run.total = rebuilt_endpoint(&self.total, db)?;
        run.total.rps = self.rps;
        run.endpoints = self
            .endpoints
            .iter()
            .map(|e| rebuilt_endpoint(e, db))
            .collect::<Result<_>>()?;
        // the stored rate was measured over this window; keeping it makes
        // the comparison read the same rate back
        run.measured_window = self
            .rps_window
            .map(|(start, end)| Window { start, end })
            .or(match (self.started, self.ended) {
                (Some(start), Some(end)) if end > start => Some(Window { start, end }),
                _ => None,
            });
        run.rps_basis = self.rps_basis.clone();
        run.provenance.push(format!(
            "recorded run #{} of {} ({})",
            self.id.unwrap_or_default(),
            db.display(),
            self.rps_basis.as_deref().unwrap_or("no throughput basis")
        ));
        Ok(run)
    }
}

fn stored_endpoint(e: &Endpoint) -> Result<RecordedEndpoint> {
    let p = |q: f64| e.latency.percentile(q).value();
    Ok(RecordedEndpoint {
        kind: e.kind.clone(),
        name: e.name.clone(),
        requests: e.requests,
        failures: e.failures,
        rps: e.rps,
        p50_ms: p(50.0),
        p95_ms: p(95.0),
        p99_ms: p(99.0),
        latency: store_latency(&e.latency)?,
    })
}

fn rebuilt_endpoint(e: &RecordedEndpoint, db: &Path) -> Result<Endpoint> {
    Ok(Endpoint {
        kind: e.kind.clone(),
        name: e.name.clone(),
        requests: e.requests,
        failures: e.failures,
        latency: load_latency(&e.latency, db, &e.name)?,
        rps: e.rps,
        ..Endpoint::default()
    })
}

/// A sparse bucket map as an HdrHistogram of 5 significant digits: every
/// Locust key (integer ms) and Goose floor (a multiple of its bucket width)
/// is a value of its own there, so the map comes back unchanged. Checked:
/// `None` when a value would not.
fn buckets_to_histogram(map: &BTreeMap<u64, u64>) -> Option<Histogram<u64>> {
    let max = map.keys().max().copied().unwrap_or(1).max(2);
    let mut h = Histogram::<u64>::new_with_max(max, 5).ok()?;
    for (&k, &c) in map {
        h.record_n(k, c).ok()?;
    }
    (histogram_to_buckets(&h) == *map).then_some(h)
}

fn histogram_to_buckets(h: &Histogram<u64>) -> BTreeMap<u64, u64> {
    h.iter_recorded()
        .map(|v| {
            (
                h.lowest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect()
}

fn serialise(h: &Histogram<u64>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut out)
        .map_err(|e| Error::Usage(format!("cannot serialise a latency histogram: {e:?}")))?;
    Ok(out)
}

/// The stored form of a distribution.
pub fn store_latency(l: &Latency) -> Result<StoredLatency> {
    let mut s = StoredLatency {
        count: l.count,
        sum_ms: l.sum_ms,
        min_ms: l.min_ms,
        max_ms: l.max_ms,
        ..StoredLatency::default()
    };
    match &l.dist {
        Distribution::LocustBuckets(b) | Distribution::GooseBuckets(b) => {
            let locust = matches!(l.dist, Distribution::LocustBuckets(_));
            match buckets_to_histogram(b) {
                Some(h) => {
                    s.kind = if locust {
                        "locust_buckets_ms"
                    } else {
                        "goose_buckets_us"
                    }
                    .into();
                    s.histogram_v2 = Some(serialise(&h)?);
                }
                None => {
                    // beyond what 5 significant digits keep apart: kept as a map
                    s.kind = if locust {
                        "locust_buckets_ms_json"
                    } else {
                        "goose_buckets_us_json"
                    }
                    .into();
                    s.columns_json = Some(to_json(b));
                }
            }
        }
        Distribution::Exact(_) | Distribution::ExactSparse(_) => {
            s.kind = "exact_us".into();
            if let Some(h) = l.dist.exact_histogram() {
                s.histogram_v2 = Some(serialise(&h)?);
            }
        }
        Distribution::Columns(c) => {
            s.kind = "columns".into();
            s.columns_json = Some(to_json(c));
        }
        Distribution::Bounds(b) => {
            s.kind = "bounds".into();
            s.columns_json = Some(to_json(b));
        }
        Distribution::None => s.kind = "none".into(),
    }
    Ok(s)
}

/// JSON of a bucket map or column list (these shapes cannot fail to serialise).
fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A stored distribution back as a [`Latency`].
pub fn load_latency(s: &StoredLatency, db: &Path, endpoint: &str) -> Result<Latency> {
    let bad = |m: String| {
        Error::parse(
            db,
            None,
            None,
            format!("recorded endpoint `{endpoint}`: {m}"),
        )
    };
    let histogram = || -> Result<Histogram<u64>> {
        let blob = s
            .histogram_v2
            .as_deref()
            .ok_or_else(|| bad(format!("a {} distribution without its histogram", s.kind)))?;
        Deserializer::new()
            .deserialize::<u64, _>(&mut &blob[..])
            .map_err(|e| bad(format!("unreadable histogram: {e:?}")))
    };
    let columns = || s.columns_json.as_deref().unwrap_or("null");
    let dist = match s.kind.as_str() {
        "locust_buckets_ms" => Distribution::LocustBuckets(histogram_to_buckets(&histogram()?)),
        "goose_buckets_us" => Distribution::GooseBuckets(histogram_to_buckets(&histogram()?)),
        "exact_us" => Distribution::Exact(Box::new(histogram()?)),
        "locust_buckets_ms_json" | "goose_buckets_us_json" => {
            let b: BTreeMap<u64, u64> = serde_json::from_str(columns())
                .map_err(|e| bad(format!("unreadable buckets: {e}")))?;
            if s.kind.starts_with("locust") {
                Distribution::LocustBuckets(b)
            } else {
                Distribution::GooseBuckets(b)
            }
        }
        "columns" => Distribution::Columns(
            serde_json::from_str(columns()).map_err(|e| bad(format!("unreadable columns: {e}")))?,
        ),
        "bounds" => Distribution::Bounds(
            serde_json::from_str(columns()).map_err(|e| bad(format!("unreadable bounds: {e}")))?,
        ),
        "none" => Distribution::None,
        other => return Err(bad(format!("unknown distribution kind `{other}`"))),
    };
    Ok(Latency {
        count: s.count,
        sum_ms: s.sum_ms,
        min_ms: s.min_ms,
        max_ms: s.max_ms,
        dist,
    })
}

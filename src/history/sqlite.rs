//! The SQLite run store (bundled SQLite: nothing to install).
//!
//! Several CI jobs may record into one database at once: it runs in WAL
//! mode with a busy timeout, and the schema is created in an immediate
//! transaction that re-reads the version, so the first job creates it and
//! the others wait and find it there. The schema version is SQLite's
//! `user_version`; a database written by a newer perfreport is refused
//! before anything is written to it, and so is a file that is not SQLite.

use super::{
    Filter, Labels, RecordedEndpoint, RecordedRun, RecordedVerdict, ResourceSummary, RunId,
    RunStore, StoredLatency,
};
use crate::error::{Error, Result};
use crate::output::files::InputSet;
use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema this perfreport writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

const SCHEMA_V1: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at REAL NOT NULL,
    label TEXT NOT NULL,
    tool TEXT NOT NULL,
    started REAL,
    ended REAL,
    duration_s REAL,
    users INTEGER,
    requests INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    rps REAL,
    rps_basis TEXT,
    rps_window_start REAL,
    rps_window_end REAL,
    p50_ms REAL,
    p95_ms REAL,
    p99_ms REAL,
    branch TEXT,
    commit_sha TEXT,
    build_url TEXT,
    tags_json TEXT NOT NULL,
    rss_idle_bytes REAL,
    rss_load_bytes REAL,
    cpu_load_percent REAL,
    cpu_basis TEXT,
    has_resources INTEGER NOT NULL,
    exit_code INTEGER,
    verdict_json TEXT
);
CREATE INDEX runs_branch ON runs(branch, id);
CREATE TABLE endpoints (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    is_total INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    requests INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    rps REAL,
    p50_ms REAL,
    p95_ms REAL,
    p99_ms REAL,
    lat_count INTEGER NOT NULL,
    lat_sum_ms REAL,
    lat_min_ms REAL,
    lat_max_ms REAL,
    dist_kind TEXT NOT NULL,
    histogram_v2 BLOB,
    columns_json TEXT,
    PRIMARY KEY (run_id, position)
);
";

/// A run store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

fn db_error(path: &Path, what: &str, e: rusqlite::Error) -> Error {
    Error::parse(path, None, None, format!("{what}: {e}"))
}

/// Refuse a path that cannot be a database of ours before SQLite opens it:
/// not a regular file, or a file that is not SQLite (SQLite would write its
/// header over it). A missing or empty file is a new database.
fn check_file(path: &Path, must_exist: bool) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Usage(format!(
                "{}: no such run database (record runs into it with `perfreport record --db {}`)",
                path.display(),
                path.display()
            )));
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if !meta.is_file() {
        return Err(Error::Usage(format!(
            "{}: not a regular file; a run database is a SQLite file",
            path.display()
        )));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| Error::io(path, e))?;
    if read < 16 || &head != b"SQLite format 3\0" {
        return Err(Error::wrong_kind(
            path,
            "not a SQLite database (its first bytes are not `SQLite format 3`); give --db a perfreport run database or a new file name",
        ));
    }
    Ok(())
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Run `f`, retrying while another connection holds the lock: changing the
/// journal mode does not always go through SQLite's busy handler.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = std::time::Instant::now();
    loop {
        match f() {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl SqliteStore {
    /// Open (creating when missing) a database to record into. `inputs`
    /// are the files the command read: the database must not be one.
    pub fn open_for_writing(path: &Path, inputs: &InputSet) -> Result<SqliteStore> {
        if let Some(input) = inputs.same_as(path) {
            return Err(Error::Usage(format!(
                "--db {}: this is the input file {}; refusing to record into an input (choose another database path)",
                path.display(),
                input.display()
            )));
        }
        Self::open(path, false)
    }

    /// Open an existing database to read from.
    pub fn open_existing(path: &Path) -> Result<SqliteStore> {
        Self::open(path, true)
    }

    fn open(path: &Path, must_exist: bool) -> Result<SqliteStore> {
        check_file(path, must_exist)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| db_error(path, "cannot open the run database", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| db_error(path, "cannot set the busy timeout", e))?;
        let store = SqliteStore {
            path: path.to_path_buf(),
            conn,
        };
        // read before anything is written: a newer schema is left as it is
        let version = store.user_version()?;
        store.check_version(version)?;
        if version == 0 {
            store.check_foreign()?;
        }
        retry_busy(|| {
            store
                .conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
        })
        .map_err(|e| db_error(path, "cannot switch the run database to WAL mode", e))?;
        store
            .conn
            .execute_batch("PRAGMA foreign_keys=ON")
            .map_err(|e| db_error(path, "cannot enable foreign keys", e))?;
        store.migrate()?;
        Ok(store)
    }

    fn user_version(&self) -> Result<i64> {
        retry_busy(|| {
            self.conn
                .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        })
        .map_err(|e| db_error(&self.path, "cannot read the schema version", e))
    }

    fn check_version(&self, version: i64) -> Result<()> {
        if version > SCHEMA_VERSION {
            return Err(Error::Usage(format!(
                "{}: run database schema version {version} was written by a newer perfreport (this one reads up to version {SCHEMA_VERSION}); left unchanged: use a newer perfreport, or another --db",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// A SQLite file of something else (version 0 with tables of its own)
    /// is not ours to add tables to.
    fn check_foreign(&self) -> Result<()> {
        let tables: Vec<String> = retry_busy(|| {
            let mut st = self.conn.prepare(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'",
            )?;
            st.query_map([], |r| r.get(0))?.collect()
        })
        .map_err(|e| db_error(&self.path, "cannot list the tables", e))?;
        let ours = tables.iter().any(|t| t == "runs") && tables.iter().any(|t| t == "endpoints");
        if !tables.is_empty() && !ours {
            return Err(Error::wrong_kind(
                &self.path,
                format!(
                    "a SQLite database of something else (tables: {}), not a perfreport run database; give --db another file",
                    tables.join(", ")
                ),
            ));
        }
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
        let path = &self.path;
        retry_busy(|| {
            // immediate: of several jobs creating the schema at once, one
            // does it and the others then see the new version
            let tx = rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version < 1 {
                tx.execute_batch(SCHEMA_V1)?;
            }
            // later versions: `if version < 2 { ALTER TABLE ... }`
            if version < SCHEMA_VERSION {
                tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
            }
            tx.commit()
        })
        .map_err(|e| db_error(path, "cannot create or migrate the schema", e))?;
        self.check_version(self.user_version()?)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl RunStore for SqliteStore {
    fn record(&mut self, run: &RecordedRun) -> Result<RunId> {
        let path = self.path.clone();
        let tags = serde_json::to_string(&run.labels.tags).unwrap_or_else(|_| "{}".into());
        let verdict_json = run
            .verdict
            .as_ref()
            .map(|v| serde_json::to_string(&v.outcomes).unwrap_or_default());
        let res = run.resources.as_ref();
        retry_busy(|| {
            let tx = rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            tx.execute(
                "INSERT INTO runs (recorded_at, label, tool, started, ended, duration_s, users, requests, failures, rps, rps_basis, rps_window_start, rps_window_end, p50_ms, p95_ms, p99_ms, branch, commit_sha, build_url, tags_json, rss_idle_bytes, rss_load_bytes, cpu_load_percent, cpu_basis, has_resources, exit_code, verdict_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
                params![
                    run.recorded_at,
                    run.label,
                    run.tool,
                    run.started,
                    run.ended,
                    run.duration_s,
                    run.users.map(to_i64),
                    to_i64(run.requests),
                    to_i64(run.failures),
                    run.rps,
                    run.rps_basis,
                    run.rps_window.map(|w| w.0),
                    run.rps_window.map(|w| w.1),
                    run.p50_ms,
                    run.p95_ms,
                    run.p99_ms,
                    run.labels.branch,
                    run.labels.commit,
                    run.labels.build_url,
                    tags,
                    res.and_then(|r| r.rss_idle_bytes),
                    res.and_then(|r| r.rss_load_bytes),
                    res.and_then(|r| r.cpu_load_percent),
                    res.map(|r| r.cpu_basis.clone()),
                    res.is_some(),
                    run.verdict.as_ref().map(|v| v.exit_code),
                    verdict_json,
                ],
            )?;
            let id = tx.last_insert_rowid();
            let mut st = tx.prepare(
                "INSERT INTO endpoints (run_id, position, is_total, kind, name, requests, failures, rps, p50_ms, p95_ms, p99_ms, lat_count, lat_sum_ms, lat_min_ms, lat_max_ms, dist_kind, histogram_v2, columns_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?;
            for (i, e) in std::iter::once(&run.total)
                .chain(&run.endpoints)
                .enumerate()
            {
                let l = &e.latency;
                st.execute(params![
                    id,
                    i as i64,
                    i == 0,
                    e.kind,
                    e.name,
                    to_i64(e.requests),
                    to_i64(e.failures),
                    e.rps,
                    e.p50_ms,
                    e.p95_ms,
                    e.p99_ms,
                    to_i64(l.count),
                    l.sum_ms,
                    l.min_ms,
                    l.max_ms,
                    l.kind,
                    l.histogram_v2,
                    l.columns_json,
                ])?;
            }
            drop(st);
            tx.commit()?;
            Ok(id)
        })
        .map_err(|e| db_error(&path, "cannot record the run", e))
    }

    fn query(&self, filter: &Filter) -> Result<Vec<RecordedRun>> {
        let path = &self.path;
        let mut sql = String::from(
            "SELECT id, recorded_at, label, tool, started, ended, duration_s, users, requests, failures, rps, rps_basis, rps_window_start, rps_window_end, p50_ms, p95_ms, p99_ms, branch, commit_sha, build_url, tags_json, rss_idle_bytes, rss_load_bytes, cpu_load_percent, cpu_basis, has_resources, exit_code, verdict_json FROM runs WHERE 1=1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(b) = &filter.branch {
            sql.push_str(" AND branch = ?");
            args.push(b.clone().into());
        }
        if filter.passing {
            sql.push_str(" AND exit_code = 0");
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(n) = filter.last {
            sql.push_str(" LIMIT ?");
            args.push(rusqlite::types::Value::Integer(
                i64::try_from(n).unwrap_or(i64::MAX),
            ));
        }
        let err = |e| db_error(path, "cannot read the recorded runs", e);
        let mut runs = retry_busy(|| {
            let mut st = self.conn.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
                let tags_json: String = r.get(20)?;
                let verdict_json: Option<String> = r.get(27)?;
                let exit_code: Option<i32> = r.get(26)?;
                let has_resources: bool = r.get(25)?;
                let w0: Option<f64> = r.get(12)?;
                let w1: Option<f64> = r.get(13)?;
                Ok(RecordedRun {
                    id: Some(r.get(0)?),
                    recorded_at: r.get(1)?,
                    label: r.get(2)?,
                    tool: r.get(3)?,
                    started: r.get(4)?,
                    ended: r.get(5)?,
                    duration_s: r.get(6)?,
                    users: opt_u64(r.get(7)?),
                    requests: opt_u64(r.get(8)?).unwrap_or(0),
                    failures: opt_u64(r.get(9)?).unwrap_or(0),
                    rps: r.get(10)?,
                    rps_basis: r.get(11)?,
                    rps_window: w0.zip(w1),
                    p50_ms: r.get(14)?,
                    p95_ms: r.get(15)?,
                    p99_ms: r.get(16)?,
                    labels: Labels {
                        branch: r.get(17)?,
                        commit: r.get(18)?,
                        build_url: r.get(19)?,
                        tags: serde_json::from_str(&tags_json).unwrap_or_default(),
                    },
                    total: RecordedEndpoint::default(),
                    endpoints: Vec::new(),
                    resources: if has_resources {
                        Some(ResourceSummary {
                            rss_idle_bytes: r.get(21)?,
                            rss_load_bytes: r.get(22)?,
                            cpu_load_percent: r.get(23)?,
                            cpu_basis: r.get::<_, Option<String>>(24)?.unwrap_or_default(),
                        })
                    } else {
                        None
                    },
                    verdict: exit_code.map(|exit_code| RecordedVerdict {
                        exit_code,
                        outcomes: verdict_json
                            .as_deref()
                            .and_then(|j| serde_json::from_str(j).ok())
                            .unwrap_or(serde_json::Value::Null),
                    }),
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(err)?;
        for run in &mut runs {
            let Some(id) = run.id else { continue };
            let mut endpoints = retry_busy(|| {
                let mut st = self.conn.prepare(
                    "SELECT is_total, kind, name, requests, failures, rps, p50_ms, p95_ms, p99_ms, lat_count, lat_sum_ms, lat_min_ms, lat_max_ms, dist_kind, histogram_v2, columns_json FROM endpoints WHERE run_id = ? ORDER BY position",
                )?;
                let rows = st.query_map([id], |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        RecordedEndpoint {
                            kind: r.get(1)?,
                            name: r.get(2)?,
                            requests: opt_u64(r.get(3)?).unwrap_or(0),
                            failures: opt_u64(r.get(4)?).unwrap_or(0),
                            rps: r.get(5)?,
                            p50_ms: r.get(6)?,
                            p95_ms: r.get(7)?,
                            p99_ms: r.get(8)?,
                            latency: StoredLatency {
                                count: opt_u64(r.get(9)?).unwrap_or(0),
                                sum_ms: r.get(10)?,
                                min_ms: r.get(11)?,
                                max_ms: r.get(12)?,
                                kind: r.get(13)?,
                                histogram_v2: r.get(14)?,
                                columns_json: r.get(15)?,
                            },
                        },
                    ))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(err)?;
            if let Some(i) = endpoints.iter().position(|(t, _)| *t) {
                run.total = endpoints.remove(i).1;
            }
            run.endpoints = endpoints.into_iter().map(|(_, e)| e).collect();
        }
        runs.reverse();
        Ok(runs)
    }
}

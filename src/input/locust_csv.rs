//! Locust CSV output (`locust --csv PREFIX`): `PREFIX_stats.csv` and its siblings
//! `PREFIX_stats_history.csv`, `PREFIX_failures.csv`, `PREFIX_exceptions.csv`,
//! found by prefix, each optional.
//!
//! Seen: Locust 2.47.0, 2.8.6 and 1.6.0 files (see `../shared/formats/locust.md`).
//! Columns are mapped by header name, with the 0.13/0.14 names accepted too;
//! the Aggregated row is recognised by an empty or `None` Type and the name
//! `Aggregated` (or `Total`); `N/A` cells are "no data"; CRLF and LF both work.

use crate::error::{Error, Result};
use crate::latency::{Distribution, Latency};
use crate::model::{Endpoint, ExceptionGroup, FailureGroup, Run, TimelinePoint, Tool};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A CSV file with its header mapped by name, for cell lookups with good errors.
pub(crate) struct Table {
    path: PathBuf,
    columns: HashMap<String, usize>,
    headers: Vec<String>,
}

/// One record with its 1-based line number.
pub(crate) struct Row<'a> {
    table: &'a Table,
    record: csv::StringRecord,
    byte: u64,
}

/// The 1-based line of a record that starts at a byte offset. The csv crate's
/// own line numbers are off by one on CRLF files (Locust writes CRLF): it ends
/// a record at the CR and starts the next at the LF. So errors count newlines
/// up to and including the record's first byte; this only runs when there is
/// an error to report.
pub(crate) fn line_at(path: &Path, byte: u64) -> Option<u64> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut prefix = Vec::new();
    file.take(byte + 1).read_to_end(&mut prefix).ok()?;
    Some(prefix.iter().filter(|&&b| b == b'\n').count() as u64 + 1)
}

impl Table {
    /// Open a CSV file and read its header.
    pub(crate) fn open(path: &Path) -> Result<(Table, csv::Reader<std::fs::File>)> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| csv_error(path, e))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let columns = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_ascii_lowercase(), i))
            .collect();
        Ok((
            Table {
                path: path.to_path_buf(),
                columns,
                headers,
            },
            reader,
        ))
    }

    /// Index of the first of `names` present in the header.
    pub(crate) fn column(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.columns.get(&n.to_ascii_lowercase()).copied())
    }

    /// The header name of a column, as written in the file.
    pub(crate) fn header(&self, col: usize) -> &str {
        self.headers.get(col).map(String::as_str).unwrap_or("?")
    }

    /// Number of columns in the header.
    pub(crate) fn width(&self) -> usize {
        self.headers.len()
    }

    /// Every record, with line numbers.
    pub(crate) fn rows<'a>(
        &'a self,
        reader: &'a mut csv::Reader<std::fs::File>,
    ) -> impl Iterator<Item = Result<Row<'a>>> + 'a {
        reader.records().map(move |r| {
            let record = r.map_err(|e| csv_error(&self.path, e))?;
            let byte = record.position().map(|p| p.byte()).unwrap_or(0);
            Ok(Row {
                table: self,
                record,
                byte,
            })
        })
    }
}

pub(crate) fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().and_then(|p| line_at(path, p.byte()));
    match e.kind() {
        csv::ErrorKind::Io(_) => {
            let csv::ErrorKind::Io(io) = e.into_kind() else {
                unreachable!()
            };
            Error::io(path, io)
        }
        csv::ErrorKind::Utf8 { .. } => Error::parse(path, line, None, "expected UTF-8 text"),
        _ => Error::parse(path, line, None, e.to_string()),
    }
}

impl Row<'_> {
    /// The cell at a column, as text ("" when the row is short).
    pub(crate) fn text(&self, col: usize) -> &str {
        self.record.get(col).unwrap_or("").trim()
    }

    /// Require a column by one of its names.
    pub(crate) fn required(&self, names: &[&str]) -> Result<usize> {
        self.table.column(names).ok_or_else(|| {
            Error::parse(
                &self.table.path,
                Some(1),
                None,
                format!("expected a `{}` column in the header", names[0]),
            )
        })
    }

    fn number_error(&self, col: usize, found: &str) -> Error {
        Error::parse(
            &self.table.path,
            Some(self.line()),
            Some(col as u64 + 1),
            format!(
                "`{}`: expected a number, found `{}`",
                self.table
                    .headers
                    .get(col)
                    .map(String::as_str)
                    .unwrap_or("?"),
                found
            ),
        )
    }

    /// A number; `N/A` and empty cells are `None`.
    pub(crate) fn opt_f64(&self, col: usize) -> Result<Option<f64>> {
        let t = self.text(col);
        if t.is_empty() || t.eq_ignore_ascii_case("N/A") {
            return Ok(None);
        }
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.number_error(col, t)),
        }
    }

    /// A number that must be there.
    pub(crate) fn f64(&self, col: usize) -> Result<f64> {
        self.opt_f64(col)?
            .ok_or_else(|| self.number_error(col, self.text(col)))
    }

    /// A non-negative whole count (Locust writes counts as ints; older files as `12.0`).
    pub(crate) fn count(&self, col: usize) -> Result<u64> {
        let v = self.f64(col)?;
        if v < 0.0 || v.fract() != 0.0 {
            return Err(self.number_error(col, self.text(col)));
        }
        Ok(v as u64)
    }

    /// 1-based line number.
    pub(crate) fn line(&self) -> u64 {
        line_at(&self.table.path, self.byte).unwrap_or(0)
    }
}

/// The prefix of a Locust CSV set: `dir/run_stats.csv` -> (`dir`, `run`).
fn prefix_of(path: &Path) -> (PathBuf, String) {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file
        .strip_suffix("_stats.csv")
        .or_else(|| file.strip_suffix(".csv"))
        .or_else(|| file.strip_suffix(".json"))
        .unwrap_or(&file)
        .to_string();
    (dir, stem)
}

/// Paths of the sibling files of a Locust run, when they exist.
pub(crate) struct Siblings {
    pub history: Option<PathBuf>,
    pub failures: Option<PathBuf>,
    pub exceptions: Option<PathBuf>,
}

pub(crate) fn siblings(path: &Path) -> Siblings {
    let (dir, prefix) = prefix_of(path);
    let find = |suffix: &str| {
        let p = dir.join(format!("{prefix}{suffix}"));
        p.is_file().then_some(p)
    };
    Siblings {
        history: find("_stats_history.csv"),
        failures: find("_failures.csv"),
        exceptions: find("_exceptions.csv"),
    }
}

/// The run's label from its file name.
pub(crate) fn label_of(path: &Path) -> String {
    prefix_of(path).1
}

/// Percentile columns (`50%`, `99.9%`, and 0.13's `99.999`) -> (percent, column).
fn percentile_columns(table: &Table) -> Vec<(f64, usize)> {
    table
        .headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let num = h.strip_suffix('%').unwrap_or(h);
            let looks_like = h.ends_with('%') || h.starts_with("99.9");
            if !looks_like {
                return None;
            }
            num.parse::<f64>()
                .ok()
                .filter(|p| (0.0..=100.0).contains(p))
                .map(|p| (p, i))
        })
        .collect()
}

/// Read `PREFIX_stats.csv` and whatever siblings exist.
pub fn read(path: &Path) -> Result<Run> {
    let mut run = Run::new(label_of(path), Tool::Locust);
    run.sources.push(path.to_path_buf());
    let (table, mut reader) = Table::open(path)?;
    let pcts = percentile_columns(&table);
    let mut rows = Vec::new();
    let mut saw_none_type = false;
    for row in table.rows(&mut reader) {
        let row = row?;
        let c_type = row.required(&["Type", "Method"])?;
        let c_name = row.required(&["Name"])?;
        let c_req = row.required(&["Request Count", "# requests"])?;
        let c_fail = row.required(&["Failure Count", "# failures"])?;
        let c_avg = table.column(&["Average Response Time", "Average response time"]);
        let c_min = table.column(&["Min Response Time", "Min response time"]);
        let c_max = table.column(&["Max Response Time", "Max response time"]);
        let c_size = table.column(&["Average Content Size"]);
        let c_rps = table.column(&["Requests/s"]);
        let kind = row.text(c_type).to_string();
        let name = row.record.get(c_name).unwrap_or("").to_string();
        let requests = row.count(c_req)?;
        let failures = row.count(c_fail)?;
        let opt = |c: Option<usize>| -> Result<Option<f64>> {
            match c {
                Some(c) => row.opt_f64(c),
                None => Ok(None),
            }
        };
        let avg = opt(c_avg)?;
        let mut columns = Vec::new();
        for &(p, c) in &pcts {
            if let Some(v) = row.opt_f64(c)? {
                columns.push((p, v));
            }
        }
        let timed = requests > 0;
        let latency = Latency {
            count: requests,
            sum_ms: avg.filter(|_| timed).map(|a| a * requests as f64),
            min_ms: opt(c_min)?.filter(|_| timed),
            max_ms: opt(c_max)?.filter(|_| timed),
            dist: if timed && !columns.is_empty() {
                Distribution::Columns(columns)
            } else {
                Distribution::None
            },
        };
        if kind == "None" {
            saw_none_type = true;
        }
        rows.push((
            row.line(),
            Endpoint {
                kind,
                name,
                requests,
                failures,
                latency,
                rps: opt(c_rps)?,
                avg_content_bytes: opt(c_size)?,
                status_counts: Default::default(),
            },
        ));
    }
    if rows.is_empty() {
        return Err(Error::parse(
            path,
            Some(2),
            None,
            "expected at least the Aggregated row after the header, found no rows",
        ));
    }
    let is_total = |e: &Endpoint| {
        (e.kind.is_empty() || e.kind == "None") && (e.name == "Aggregated" || e.name == "Total")
    };
    let last_is_total = rows.last().is_some_and(|(_, e)| is_total(e));
    if last_is_total {
        let (_, mut total) = rows.pop().expect("checked non-empty");
        total.kind.clear();
        run.total = total;
    } else {
        run.total = aggregate(rows.iter().map(|(_, e)| e));
        run.provenance.push(
            "The stats CSV has no Aggregated row; totals were summed from the endpoint rows."
                .into(),
        );
    }
    run.endpoints = rows.into_iter().map(|(_, e)| e).collect();
    run.endpoints
        .sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    if saw_none_type {
        run.tool_version = Some("1.0.x (Aggregated Type `None`)".into());
    }

    let sib = siblings(path);
    if let Some(h) = &sib.history {
        read_history(h, &mut run)?;
        run.sources.push(h.clone());
    }
    if let Some(f) = &sib.failures {
        run.failures = read_failures(f)?;
        run.sources.push(f.clone());
        if run.tool_version.is_none() {
            let (t, _) = Table::open(f)?;
            if t.column(&["First Seen"]).is_some() {
                run.tool_version = Some("2.44 or later".into());
            }
        }
    }
    if let Some(x) = &sib.exceptions {
        run.exceptions = read_exceptions(x)?;
        run.sources.push(x.clone());
    }
    // Locust's Requests/s is requests / (last request - test start), so the CSV
    // alone gives the run's length, more exactly than the history's ticks.
    if let Some(rps) = run.total.rps.filter(|r| *r > 0.0) {
        run.duration_s = Some(run.total.requests as f64 / rps);
        if sib.history.is_none() {
            run.provenance.push(
                "No stats history beside the CSV: the duration comes from Request Count / Requests/s; start and end times are unknown.".into(),
            );
        }
    }
    extend_past_missing_history_tail(&mut run);
    Ok(run)
}

/// Locust 1.x and 2.8 never flush the history file at shutdown, so its last
/// ~5 s are missing: the last row counts fewer requests than `_stats.csv`.
/// Then the run ends at start + Request Count / Requests/s, not at the last row.
fn extend_past_missing_history_tail(run: &mut Run) {
    let (Some(last), Some(start), Some(duration)) =
        (run.timeline.last(), run.started, run.duration_s)
    else {
        return;
    };
    let Some(logged) = last.total_requests.filter(|n| *n < run.total.requests) else {
        return;
    };
    let end = start + duration;
    if end <= last.t {
        return;
    }
    run.provenance.push(format!(
        "The stats history stops {:.1} s before the end, at {logged} of the stats CSV's {} requests (older Locust versions lose the history's last seconds at shutdown); the run's end is taken from Request Count / Requests/s.",
        end - last.t,
        run.total.requests
    ));
    run.ended = Some(end);
}

/// Sum endpoint rows into a total when a file has no Aggregated row.
pub(crate) fn aggregate<'a>(endpoints: impl Iterator<Item = &'a Endpoint> + Clone) -> Endpoint {
    let requests = endpoints.clone().map(|e| e.requests).sum();
    let failures = endpoints.clone().map(|e| e.failures).sum();
    let rps = endpoints
        .clone()
        .map(|e| e.rps)
        .try_fold(0.0, |a, r| r.map(|r| a + r));
    let bytes: Option<f64> = endpoints
        .clone()
        .map(|e| e.avg_content_bytes.map(|b| b * e.requests as f64))
        .try_fold(0.0, |a, b| b.map(|b| a + b));
    let mut status_counts = std::collections::BTreeMap::new();
    for e in endpoints.clone() {
        for (k, v) in &e.status_counts {
            *status_counts.entry(*k).or_insert(0) += v;
        }
    }
    Endpoint {
        kind: String::new(),
        name: "Aggregated".into(),
        requests,
        failures,
        latency: Latency::merge(endpoints.map(|e| &e.latency)),
        rps,
        avg_content_bytes: bytes.filter(|_| requests > 0).map(|b| b / requests as f64),
        status_counts,
    }
}

/// Read `PREFIX_stats_history.csv` into the run's timeline (Aggregated rows).
pub fn read_history(path: &Path, run: &mut Run) -> Result<()> {
    let (table, mut reader) = Table::open(path)?;
    let pcts = percentile_columns(&table);
    let p50 = pcts.iter().find(|(p, _)| *p == 50.0).map(|x| x.1);
    let p95 = pcts.iter().find(|(p, _)| *p == 95.0).map(|x| x.1);
    let p99 = pcts.iter().find(|(p, _)| *p == 99.0).map(|x| x.1);
    let mut points = Vec::new();
    let mut full_history = false;
    for row in table.rows(&mut reader) {
        let row = row?;
        let c_ts = row.required(&["Timestamp"])?;
        let c_name = row.required(&["Name"])?;
        let c_type = row.required(&["Type"])?;
        let kind = row.text(c_type);
        let name = row.text(c_name);
        let is_total = (kind.is_empty() || kind == "None") && name == "Aggregated";
        if !is_total {
            full_history = true;
            continue;
        }
        let users = match table.column(&["User Count"]) {
            Some(c) => Some(row.count(c)?),
            None => None,
        };
        let total_requests = match table.column(&["Total Request Count"]) {
            Some(c) => Some(row.count(c)?),
            None => None,
        };
        let total_failures = match table.column(&["Total Failure Count"]) {
            Some(c) => Some(row.count(c)?),
            None => None,
        };
        let opt = |c: Option<usize>| -> Result<Option<f64>> {
            match c {
                Some(c) => row.opt_f64(c),
                None => Ok(None),
            }
        };
        points.push(TimelinePoint {
            t: row.f64(c_ts)?,
            users,
            rps: opt(table.column(&["Requests/s"]))?,
            failures_per_s: opt(table.column(&["Failures/s"]))?,
            p50_ms: opt(p50)?,
            p95_ms: opt(p95)?,
            p99_ms: opt(p99)?,
            total_requests,
            total_failures,
            latency: None,
        });
    }
    if !full_history {
        // Without --csv-full-history Locust's history percentiles are cumulative
        // since the start, not a window: they would mislead as a time series.
        for p in &mut points {
            p.p50_ms = None;
            p.p95_ms = None;
            p.p99_ms = None;
        }
    } else {
        // A 0 in a windowed column means "no cached window yet" unless requests
        // really were that fast; with no requests in the window it is no data.
        for p in &mut points {
            if p.rps.unwrap_or(0.0) == 0.0 {
                if p.p50_ms == Some(0.0) {
                    p.p50_ms = None;
                }
                if p.p95_ms == Some(0.0) {
                    p.p95_ms = None;
                }
                if p.p99_ms == Some(0.0) {
                    p.p99_ms = None;
                }
            }
        }
    }
    // Rows written after the test stopped (distributed masters keep ticking) and
    // before it started carry no users; the run spans the first to the last tick.
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        run.started = Some(first.t);
        run.ended = Some(last.t);
    }
    run.peak_users = points.iter().filter_map(|p| p.users).max();
    run.timeline = points;
    Ok(())
}

/// The HTTP status inside an error text, or 0 for a connection-level error.
///
/// Handles Locust 2.x `HTTPError('404 Client Error: ...')`, 1.x's bare
/// `504 Server Error: ... for url: http://...`, and Goose's `404 Not Found: /path`.
pub fn status_from_error(error: &str) -> Option<u16> {
    let text = error
        .trim()
        .trim_start_matches("HTTPError(")
        .trim_start_matches("CatchResponseError(")
        .trim_start_matches(['\'', '"']);
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.len() == 3 && text[3..].starts_with(' ') {
        return digits.parse().ok().filter(|s| (100..600).contains(s));
    }
    // "Not Found for url" style without a leading code, or an embedded code;
    // not a port (`port=443`, `:443`), a path segment (`/404`) or part of an
    // address, which requests' connection errors carry.
    let bytes = text.as_bytes();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        // the word's byte offset in `text` (split yields sub-slices of it)
        let start = word.as_ptr() as usize - text.as_ptr() as usize;
        let before = start.checked_sub(1).and_then(|i| bytes.get(i)).copied();
        let after = bytes.get(start + word.len()).copied();
        if word.len() == 3
            && word.chars().all(|c| c.is_ascii_digit())
            && let Ok(s) = word.parse::<u16>()
            && (400..600).contains(&s)
            && text.contains("Error")
            && !matches!(before, Some(b':' | b'=' | b'/' | b'.'))
            && !matches!(after, Some(b'/' | b'.'))
        {
            return Some(s);
        }
    }
    let lower = error.to_ascii_lowercase();
    let transport = [
        "connection",
        "connect",
        "timed out",
        "timeout",
        "remotedisconnected",
        "refused",
        "reset by peer",
        "broken pipe",
        "error sending request",
    ];
    if transport.iter().any(|t| lower.contains(t)) {
        return Some(0);
    }
    None
}

fn parse_seen(path: &Path, line: u64, col: usize, text: &str) -> Result<Option<f64>> {
    if text.is_empty() {
        return Ok(None);
    }
    let ts: jiff::Timestamp = text.parse().map_err(|_| {
        Error::parse(
            path,
            Some(line),
            Some(col as u64 + 1),
            format!("expected a time like 2026-11-27T15:09:08Z, found `{text}`"),
        )
    })?;
    Ok(Some(ts.as_millisecond() as f64 / 1000.0))
}

/// Read `PREFIX_failures.csv` (4 or 6 columns).
pub fn read_failures(path: &Path) -> Result<Vec<FailureGroup>> {
    let (table, mut reader) = Table::open(path)?;
    if table.column(&["Occurrences"]).is_none() {
        return Err(Error::parse(
            path,
            Some(1),
            None,
            "expected a Locust failures header (Method,Name,Error,Occurrences[,First Seen,Last Seen])",
        ));
    }
    let first = table.column(&["First Seen"]);
    let last = table.column(&["Last Seen"]);
    let mut out = Vec::new();
    for row in table.rows(&mut reader) {
        let row = row?;
        let c_method = row.required(&["Method"])?;
        let c_name = row.required(&["Name"])?;
        let c_err = row.required(&["Error"])?;
        let c_occ = row.required(&["Occurrences"])?;
        let error = row.record.get(c_err).unwrap_or("").to_string();
        out.push(FailureGroup {
            kind: row.text(c_method).to_string(),
            name: row.record.get(c_name).unwrap_or("").to_string(),
            status: status_from_error(&error),
            error,
            occurrences: row.count(c_occ)?,
            first_seen: match first {
                Some(c) => parse_seen(path, row.line(), c, row.text(c))?,
                None => None,
            },
            last_seen: match last {
                Some(c) => parse_seen(path, row.line(), c, row.text(c))?,
                None => None,
            },
        });
    }
    // Locust orders failures by a hash; most frequent first reads better.
    out.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

/// Read `PREFIX_exceptions.csv`.
pub fn read_exceptions(path: &Path) -> Result<Vec<ExceptionGroup>> {
    let (table, mut reader) = Table::open(path)?;
    let mut out = Vec::new();
    for row in table.rows(&mut reader) {
        let row = row?;
        let c_count = row.required(&["Count"])?;
        let get = |names: &[&str]| {
            table
                .column(names)
                .and_then(|c| row.record.get(c))
                .unwrap_or("")
                .to_string()
        };
        out.push(ExceptionGroup {
            count: row.count(c_count)?,
            message: get(&["Message"]),
            traceback: get(&["Traceback"]),
            nodes: get(&["Nodes"]),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::status_from_error;

    #[test]
    fn status_codes_come_out_of_every_error_style() {
        assert_eq!(
            status_from_error(
                "HTTPError('404 Client Error: Not Found for url: /api/v1/content/request [movie]')"
            ),
            Some(404)
        );
        assert_eq!(
            status_from_error(
                "504 Server Error: Gateway Timeout for url: http://127.0.0.1:18118/api/v1/downloads/queue"
            ),
            Some(504)
        );
        assert_eq!(
            status_from_error("504 Gateway Timeout: /api/v1/downloads/queue"),
            Some(504)
        );
        assert_eq!(
            status_from_error(
                "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
            ),
            Some(0)
        );
        assert_eq!(status_from_error("CatchResponseError('wrong body')"), None);
    }

    #[test]
    fn ports_and_paths_in_connection_errors_are_not_status_codes() {
        // requests' str(exc) for a refused connection (Locust 1.6.0's failures
        // CSV); port 443 and a `/404` path segment once read as statuses
        let refused = |host_port: &str, path: &str| {
            format!(
                "HTTPSConnectionPool({host_port}): Max retries exceeded with url: {path} \
                 (Caused by NewConnectionError(\"HTTPSConnection({host_port}): Failed to \
                 establish a new connection: [Errno 111] Connection refused\"))"
            )
        };
        let e = refused("host='api.example.com', port=443", "/health");
        assert_eq!(status_from_error(&e), Some(0));
        let e = refused("host='127.0.0.1', port=18950", "/api/v1/items/404");
        assert_eq!(status_from_error(&e), Some(0));
        assert_eq!(
            status_from_error("Error: http://10.0.0.1:500/x timed out"),
            Some(0)
        );
        assert_eq!(
            status_from_error("Erreur — Error: réponse 502 du proxy"),
            Some(502)
        );
        // an embedded status in a message still counts
        assert_eq!(
            status_from_error("CatchResponseError('Error: got 503 from upstream')"),
            Some(503)
        );
    }

    #[test]
    fn a_history_without_its_last_seconds_does_not_end_the_run_early() {
        let dir = tempfile::tempdir().unwrap();
        let head = "Type,Name,Request Count,Failure Count,Median Response Time,\
                    Average Response Time,Min Response Time,Max Response Time,\
                    Average Content Size,Requests/s,Failures/s,50%,95%,99%,100%";
        // 100 requests at 4/s: the test ran 25 s from its first history row
        let stats = format!(
            "{head}\r\nGET,/a,100,0,110.0,120,10,400,5,4.0,0.0,110,300,400,400\r\n\
             ,Aggregated,100,0,110.0,120,10,400,5,4.0,0.0,110,300,400,400\r\n"
        );
        std::fs::write(dir.path().join("r_stats.csv"), stats).unwrap();
        let hist_head = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,\
                         99%,100%,Total Request Count,Total Failure Count";
        let history = format!(
            "{hist_head}\r\n1000,1,,Aggregated,0,0,N/A,N/A,N/A,N/A,0,0\r\n\
             1020,5,,Aggregated,4,0,110,300,400,400,80,0\r\n"
        );
        std::fs::write(dir.path().join("r_stats_history.csv"), &history).unwrap();
        let run = super::read(&dir.path().join("r_stats.csv")).unwrap();
        assert_eq!(run.started, Some(1000.0));
        assert_eq!(run.ended, Some(1025.0));
        assert_eq!(run.timeline.len(), 2);
        assert!(run.provenance.iter().any(|p| p.contains("80 of")));

        // a history that reaches the CSV's count (2.47 closes its files) ends at its last row
        let complete = history.replace(",80,0", ",100,0");
        std::fs::write(dir.path().join("r_stats_history.csv"), complete).unwrap();
        let run = super::read(&dir.path().join("r_stats.csv")).unwrap();
        assert_eq!(run.ended, Some(1020.0));
        assert!(!run.provenance.iter().any(|p| p.contains("history stops")));
    }
}

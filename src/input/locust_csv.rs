//! Locust CSV output (`locust --csv PREFIX`): `PREFIX_stats.csv` and its siblings
//! `PREFIX_stats_history.csv`, `PREFIX_failures.csv`, `PREFIX_exceptions.csv`,
//! found by prefix, each optional.
//!
//! Seen: Locust 2.47.0, 2.8.6 and 1.6.0 files (see `../shared/formats/locust.md`).
//! Columns are mapped by header name, with the 0.13/0.14 names accepted too;
//! the Aggregated row is recognised by an empty or `None` Type and the name
//! `Aggregated` (or `Total`); `N/A` cells are "no data"; CRLF and LF both work.
//!
//! The stats, failures and exceptions CSVs are small and read whole (within
//! `--max-input-size`); the stats history is streamed ([`read_history`]): with
//! `--csv-full-history` it has a row per endpoint per second, 435 MB for a day
//! of 50 endpoints, of which only the Aggregated rows are kept.

use crate::error::{Error, Result};
use crate::latency::{Distribution, Latency};
use crate::model::{Endpoint, ExceptionGroup, FailureGroup, Run, TimelinePoint, Tool};
use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A CSV file's path and header mapped by name, for cell lookups with good
/// errors; shared by the file read whole ([`Table`]) and the streamed stats
/// history ([`HistoryStream`]).
pub(crate) struct Head {
    path: PathBuf,
    columns: HashMap<String, usize>,
    headers: Vec<String>,
}

impl Head {
    fn new(path: &Path, record: &csv::StringRecord) -> Head {
        let headers: Vec<String> = record
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let columns = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_ascii_lowercase(), i))
            .collect();
        Head {
            path: path.to_path_buf(),
            columns,
            headers,
        }
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

    /// The error for a column the header lacks.
    fn missing(&self, name: &str) -> Error {
        Error::parse(
            &self.path,
            Some(1),
            None,
            format!("expected a `{name}` column in the header"),
        )
    }
}

/// A CSV file with its header mapped by name, for cell lookups with good errors.
pub(crate) struct Table {
    head: Head,
    /// The whole file (read once, within the input size limit), for line numbers.
    data: Arc<[u8]>,
    /// (byte offset, 1-based line at that offset) of the last record, so that
    /// each record's line is counted from the previous one: linear in the file.
    cursor: Cell<(usize, u64)>,
}

/// The reader of a [`Table`]'s records (over the bytes read by [`Table::open`]).
pub(crate) type Records = csv::Reader<std::io::Cursor<Arc<[u8]>>>;

impl std::ops::Deref for Table {
    type Target = Head;
    fn deref(&self) -> &Head {
        &self.head
    }
}

/// One record with its 1-based line number.
pub(crate) struct Row<'a> {
    table: &'a Head,
    record: csv::StringRecord,
    line: u64,
}

/// The 1-based line of a record that starts at a byte offset. The csv crate's
/// record positions can point at line endings before the record: on CRLF
/// files (Locust writes CRLF) it ends a record at the CR and starts the next at
/// the LF, and blank lines are skipped. So the record's line is that of its
/// first byte that is not a line ending.
pub(crate) fn line_in(data: &[u8], byte: u64) -> u64 {
    super::line_at_offset(data, first_content(data, byte))
}

/// The first byte at or after `byte` that is not CR or LF (or the end).
fn first_content(data: &[u8], byte: u64) -> usize {
    let mut at = (byte as usize).min(data.len());
    while matches!(data.get(at), Some(b'\r' | b'\n')) {
        at += 1;
    }
    at
}

impl Table {
    /// Open a CSV file and read its header.
    pub(crate) fn open(path: &Path) -> Result<(Table, Records)> {
        let data: Arc<[u8]> = super::read_all(path)?.into();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(std::io::Cursor::new(data.clone()));
        let head = Head::new(
            path,
            reader.headers().map_err(|e| csv_error_in(path, &data, e))?,
        );
        Ok((
            Table {
                head,
                data,
                cursor: Cell::new((0, 1)),
            },
            reader,
        ))
    }

    /// The 1-based line of the record at `byte`, counted on from the previous
    /// record (records come in file order).
    fn line_at_byte(&self, byte: u64) -> u64 {
        let (from, line) = self.cursor.get();
        let at = first_content(&self.data, byte);
        if at < from {
            return line_in(&self.data, byte);
        }
        let line = line + memchr::memchr_iter(b'\n', &self.data[from..at]).count() as u64;
        self.cursor.set((at, line));
        line
    }

    /// Every record, with line numbers.
    pub(crate) fn rows<'a>(
        &'a self,
        reader: &'a mut Records,
    ) -> impl Iterator<Item = Result<Row<'a>>> + 'a {
        reader.records().map(move |r| {
            let record = r.map_err(|e| csv_error_in(&self.path, &self.data, e))?;
            let byte = record.position().map(|p| p.byte()).unwrap_or(0);
            Ok(Row {
                table: &self.head,
                line: self.line_at_byte(byte),
                record,
            })
        })
    }
}

/// The bytes of a streamed CSV from the start of the current record to what
/// the csv reader has read ahead, so that records get their line numbers
/// without the file being held: memory is one record plus the reader's
/// buffer, whatever the file's length.
struct Tape {
    /// Bytes from absolute offset `kept_start` to `read`.
    kept: Vec<u8>,
    kept_start: u64,
    /// Bytes read so far.
    read: u64,
    /// (absolute offset, 1-based line) of the last record's first byte.
    cursor: (u64, u64),
    /// Set when a record outgrew the line-length limit.
    too_long: bool,
    max_record: u64,
}

impl Tape {
    /// The 1-based line of the record at absolute `byte` (records come in
    /// file order; see [`line_in`] for why line endings are skipped first).
    fn line_at(&mut self, byte: u64) -> u64 {
        let (from, line) = self.cursor;
        let mut at = byte.max(self.kept_start);
        while at < self.read && matches!(self.kept[(at - self.kept_start) as usize], b'\r' | b'\n')
        {
            at += 1;
        }
        if at < from {
            return line;
        }
        let (a, b) = (
            (from - self.kept_start) as usize,
            (at - self.kept_start) as usize,
        );
        let line = line + memchr::memchr_iter(b'\n', &self.kept[a..b]).count() as u64;
        self.cursor = (at, line);
        // drop what lies before the record, in large steps (amortised)
        if b > 1 << 20 {
            self.kept.drain(..b);
            self.kept_start = at;
        }
        line
    }
}

/// A reader that copies what it reads onto the [`Tape`] and refuses to read
/// more than a record's worth past the last record's start.
struct Taped<R> {
    inner: R,
    tape: std::rc::Rc<std::cell::RefCell<Tape>>,
}

impl<R: std::io::Read> std::io::Read for Taped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut tape = self.tape.borrow_mut();
        // the csv reader reads ahead by its buffer (64 KiB) past a record;
        // records up to 1 MiB are always accepted, as in a request log
        if tape.read - tape.cursor.0 > tape.max_record.max(1 << 20) + (64 << 10) {
            tape.too_long = true;
            return Err(std::io::Error::other("record longer than the limit"));
        }
        tape.kept.extend_from_slice(&buf[..n]);
        tape.read += n as u64;
        Ok(n)
    }
}

/// A stats history read as a stream (`--csv-full-history` writes a row per
/// endpoint per second: a day of 50 endpoints is 4.4 M rows, 435 MB), with
/// the same row API and errors as a [`Table`]. It is not held whole, so the
/// whole-file size limit (`--max-input-size`) does not apply; each record is
/// held to the line-length limit (`--max-line-length`) instead, as for a
/// request log.
pub(crate) struct HistoryStream {
    /// The header.
    pub(crate) head: Head,
    /// The records.
    pub(crate) rows: StreamRows,
}

/// The records of a [`HistoryStream`] (apart from its header, so that the
/// header can be looked up while a row is held).
pub(crate) struct StreamRows {
    reader: csv::Reader<Taped<Box<dyn std::io::Read>>>,
    tape: std::rc::Rc<std::cell::RefCell<Tape>>,
}

impl HistoryStream {
    /// Open a (possibly gzipped) history, check that it ends with a newline,
    /// and read its header.
    pub(crate) fn open(path: &Path) -> Result<HistoryStream> {
        check_final_newline_streamed(path)?;
        let file = super::open_input(path)?;
        let inner = super::open_maybe_gz(path, file)?;
        let tape = std::rc::Rc::new(std::cell::RefCell::new(Tape {
            kept: Vec::new(),
            kept_start: 0,
            read: 0,
            cursor: (0, 1),
            too_long: false,
            max_record: super::limits().max_line_bytes,
        }));
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .buffer_capacity(64 << 10)
            .from_reader(Taped {
                inner,
                tape: tape.clone(),
            });
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(stream_error(path, &tape, e)),
        };
        Ok(HistoryStream {
            head: Head::new(path, &header),
            rows: StreamRows { reader, tape },
        })
    }
}

impl StreamRows {
    /// The next record, taken out of `record` (hand it back for the next
    /// call: no allocation per row), with its 1-based line; `None` at the end.
    pub(crate) fn next<'a>(
        &mut self,
        head: &'a Head,
        record: &mut csv::StringRecord,
    ) -> Result<Option<Row<'a>>> {
        match self.reader.read_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let byte = record.position().map(|p| p.byte()).unwrap_or(0);
                let line = self.tape.borrow_mut().line_at(byte);
                Ok(Some(Row {
                    table: head,
                    record: std::mem::take(record),
                    line,
                }))
            }
            Err(e) => {
                if self.tape.borrow().too_long {
                    let at = self.reader.position().byte();
                    let line = self.tape.borrow_mut().line_at(at);
                    let max = self.tape.borrow().max_record;
                    return Err(Error::parse(
                        &head.path,
                        Some(line),
                        None,
                        format!(
                            "a record longer than the line-length limit of {max} bytes ({}); raise it with --max-line-length or {}",
                            super::show_size(max),
                            super::MAX_LINE_ENV
                        ),
                    ));
                }
                Err(stream_error(&head.path, &self.tape, e))
            }
        }
    }
}

/// A csv error on a streamed file.
fn stream_error(path: &Path, tape: &std::cell::RefCell<Tape>, e: csv::Error) -> Error {
    let line = e.position().map(|p| tape.borrow_mut().line_at(p.byte()));
    csv_error_at(path, line, e)
}

/// A csv error, at its line when known.
fn csv_error_at(path: &Path, line: Option<u64>, e: csv::Error) -> Error {
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "expected UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        _ => Error::parse(path, line, None, message),
    }
}

/// [`check_final_newline`] without holding the file: a plain file's last
/// byte is read by seeking; the whole file is scanned (newlines counted in
/// chunks) only to name the line of a missing newline, or when gzipped.
fn check_final_newline_streamed(path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = super::open_input(path)?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len == 0 {
        return Ok(());
    }
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    let gz = n == 2 && magic == [0x1f, 0x8b];
    if !gz {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .map_err(|e| Error::io(path, e))?;
        file.read_exact(&mut last).map_err(|e| Error::io(path, e))?;
        if last[0] == b'\n' {
            return Ok(());
        }
    }
    let mut reader = super::open_maybe_gz(path, super::open_input(path)?)?;
    let mut buf = vec![0u8; 64 << 10];
    let (mut newlines, mut last) = (0u64, None);
    loop {
        let n = reader.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last = Some(buf[n - 1]);
    }
    match last {
        None | Some(b'\n') => Ok(()),
        // the line of the last byte that is not a line ending (as line_in)
        Some(_) => Err(Error::parse(
            path,
            Some(newlines + 1),
            None,
            FINAL_NEWLINE_MISSING,
        )),
    }
}

const FINAL_NEWLINE_MISSING: &str = "the last row does not end with a newline: the file was cut mid-row (truncated?); Locust ends every row with CRLF";

/// A csv error on a file whose bytes are at hand.
pub(crate) fn csv_error_in(path: &Path, data: &[u8], e: csv::Error) -> Error {
    let line = e.position().map(|p| line_in(data, p.byte()));
    csv_error_at(path, line, e)
}

impl Row<'_> {
    /// The cell at a column, as text ("" when the row is short).
    pub(crate) fn text(&self, col: usize) -> &str {
        self.record.get(col).unwrap_or("").trim()
    }

    /// Require a column by one of its names.
    pub(crate) fn required(&self, names: &[&str]) -> Result<usize> {
        self.table
            .column(names)
            .ok_or_else(|| self.table.missing(names[0]))
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
            return Err(Error::parse(
                &self.table.path,
                Some(self.line()),
                Some(col as u64 + 1),
                format!(
                    "`{}`: expected a whole count of 0 or more, found `{}`",
                    self.table.header(col),
                    self.text(col)
                ),
            ));
        }
        Ok(v as u64)
    }

    /// 1-based line number.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }
}

impl Row<'_> {
    /// A Locust row has as many cells as the header: `csv.writer` quotes any
    /// comma inside a name, so a shorter row is a file cut mid-row.
    pub(crate) fn check_width(&self) -> Result<()> {
        let (found, expected) = (self.record.len(), self.table.width());
        if found != expected {
            return Err(Error::parse(
                &self.table.path,
                Some(self.line()),
                None,
                format!(
                    "expected {expected} cells as in the header, found {found} (a row cut short: truncated file?)"
                ),
            ));
        }
        Ok(())
    }
}

/// Locust's `csv.writer` ends every row, the last one included, with CRLF; a
/// file without a final newline was cut mid-row.
pub(crate) fn check_final_newline(table: &Table) -> Result<()> {
    match table.data.last() {
        None | Some(b'\n') => Ok(()),
        Some(_) => Err(Error::parse(
            &table.path,
            Some(line_in(&table.data, table.data.len() as u64 - 1)),
            None,
            FINAL_NEWLINE_MISSING,
        )),
    }
}

/// Locust's bucket width at a response time (`bucket_response_time`): 1 ms
/// below 100 ms, 10 ms below 1 s, 100 ms below 10 s, then 1 s.
pub(crate) fn bucket_width_ms(t: f64) -> f64 {
    if t < 100.0 {
        1.0
    } else if t < 1000.0 {
        10.0
    } else if t < 10_000.0 {
        100.0
    } else {
        1000.0
    }
}

/// No response time a load test records is a day long; such a value is a
/// corrupt cell (or a unit mix-up), not a slow request.
pub(crate) const ABSURD_RESPONSE_MS: f64 = 86_400_000.0;

/// What one stats row says, kept for the consistency checks.
struct RowFacts {
    /// The row's 1-based line.
    line: u64,
    requests: u64,
    failures: u64,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
    avg_ms: Option<f64>,
    pcts: Vec<(f64, f64, String)>,
    rps: Option<f64>,
    fail_rps: Option<f64>,
}

/// Check one row against itself: failures within requests, times in order,
/// percentiles non-decreasing and inside [min, max] widened by half a bucket
/// (a bucket key is the time rounded to its bucket, so it lies within half a
/// bucket width of the times in it).
fn check_row(path: &Path, what: &str, r: &RowFacts) -> Result<()> {
    let bad = |msg: String| {
        Err(Error::parse(
            path,
            Some(r.line),
            None,
            format!("{what}: {msg}"),
        ))
    };
    if r.failures > r.requests {
        return bad(format!(
            "Failure Count {} exceeds Request Count {}",
            r.failures, r.requests
        ));
    }
    for (label, v) in [
        ("Min Response Time", r.min_ms),
        ("Max Response Time", r.max_ms),
        ("Average Response Time", r.avg_ms),
        ("Requests/s", r.rps),
        ("Failures/s", r.fail_rps),
    ] {
        if let Some(v) = v
            && v < 0.0
        {
            return bad(format!("`{label}` is negative ({v})"));
        }
    }
    for (label, v) in [
        ("Min Response Time", r.min_ms),
        ("Max Response Time", r.max_ms),
        ("Average Response Time", r.avg_ms),
    ] {
        if let Some(v) = v
            && v > ABSURD_RESPONSE_MS
        {
            return bad(format!(
                "`{label}` is {v} ms, more than a day: not a response time"
            ));
        }
    }
    for (_, v, header) in &r.pcts {
        if *v < 0.0 || *v > ABSURD_RESPONSE_MS {
            return bad(format!("`{header}` is {v} ms: not a response time"));
        }
    }
    if r.requests == 0 {
        return Ok(());
    }
    if let (Some(min), Some(max)) = (r.min_ms, r.max_ms) {
        if min > max {
            return bad(format!(
                "Min Response Time {min} exceeds Max Response Time {max}"
            ));
        }
        // the average is exact; allow for float rounding of the sum only
        if let Some(avg) = r.avg_ms {
            let slack = 1e-9 * max.max(1.0);
            if avg < min - slack || avg > max + slack {
                return bad(format!(
                    "Average Response Time {avg} is outside [Min {min}, Max {max}]"
                ));
            }
        }
        for (_, v, header) in &r.pcts {
            let (lo, hi) = (
                min - bucket_width_ms(min) / 2.0,
                max + bucket_width_ms(max) / 2.0,
            );
            if *v < lo || *v > hi {
                return bad(format!(
                    "`{header}` = {v} ms lies outside the row's Min {min} / Max {max} ms (Locust's buckets round by at most half a bucket)"
                ));
            }
        }
    }
    for pair in r.pcts.windows(2) {
        let ((_, a, ha), (_, b, hb)) = (&pair[0], &pair[1]);
        if b < a {
            return bad(format!(
                "percentiles decrease: `{ha}` = {a} ms but `{hb}` = {b} ms"
            ));
        }
    }
    Ok(())
}

/// The Aggregated row is Locust's own entry that logs every request, written in
/// the same tick as the endpoint rows: its counts are the rows' sums, its min
/// and max the rows' extremes, exactly. Every Requests/s (and Failures/s) has
/// one global denominator (test start to last request), so each row's count
/// over its rate is the same duration.
fn check_aggregated(path: &Path, rows: &[RowFacts], total: &RowFacts) -> Result<()> {
    let bad = |msg: String| {
        Err(Error::parse(
            path,
            Some(total.line),
            None,
            format!("the Aggregated row disagrees with the rows above it: {msg}"),
        ))
    };
    let requests: u64 = rows.iter().map(|r| r.requests).sum();
    if requests != total.requests {
        return bad(format!(
            "Request Count {} but the rows sum to {requests}",
            total.requests
        ));
    }
    let failures: u64 = rows.iter().map(|r| r.failures).sum();
    if failures != total.failures {
        return bad(format!(
            "Failure Count {} but the rows sum to {failures}",
            total.failures
        ));
    }
    let timed: Vec<&RowFacts> = rows.iter().filter(|r| r.requests > 0).collect();
    if !timed.is_empty() {
        let min = timed
            .iter()
            .filter_map(|r| r.min_ms)
            .fold(f64::INFINITY, f64::min);
        let max = timed
            .iter()
            .filter_map(|r| r.max_ms)
            .fold(f64::NEG_INFINITY, f64::max);
        if let Some(m) = total.min_ms
            && min.is_finite()
            && m != min
        {
            return bad(format!(
                "Min Response Time {m} but the rows' smallest is {min}"
            ));
        }
        if let Some(m) = total.max_ms
            && max.is_finite()
            && m != max
        {
            return bad(format!(
                "Max Response Time {m} but the rows' largest is {max}"
            ));
        }
    }
    let Some(duration) = total
        .rps
        .filter(|r| *r > 0.0)
        .map(|r| total.requests as f64 / r)
    else {
        return Ok(());
    };
    for r in rows.iter().chain(std::iter::once(total)) {
        for (label, count, rate) in [
            ("Requests/s", r.requests, r.rps),
            ("Failures/s", r.failures, r.fail_rps),
        ] {
            let Some(rate) = rate else { continue };
            let expected = count as f64 / duration;
            // Python prints floats exactly (shortest round trip); 1e-6 leaves
            // room for older versions' formatting and nothing else
            if (rate - expected).abs() > 1e-6 * expected.max(rate).max(1e-9) {
                return Err(Error::parse(
                    path,
                    Some(r.line),
                    None,
                    format!(
                        "`{label}` = {rate} does not match the count {count} over the run's {duration:.3} s ({expected:.6}) that the Aggregated row implies: every Locust rate shares one duration"
                    ),
                ));
            }
        }
    }
    Ok(())
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

/// The run's label from its file name: its prefix, or its folder when the
/// prefix is a generic one (`--csv run`).
pub(crate) fn label_of(path: &Path) -> String {
    super::folder_if_generic(path, &prefix_of(path).1, &[])
}

/// Percentile columns (`50%`, `99.9%`, and 0.13's `99.999`) -> (percent, column).
fn percentile_columns(table: &Head) -> Vec<(f64, usize)> {
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

/// The columns Locust 1.x and 2.x write in every stats CSV (`requests_csv`).
const STATS_COLUMNS: [&str; 11] = [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
];

/// Locust's default `PERCENTILES_TO_REPORT`, as the stats CSV's columns.
const DEFAULT_PERCENTILES: [f64; 11] = [
    50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
];

/// A stats CSV with Locust's 1.x/2.x header must have every one of its
/// columns: a file that lost one (cut by a script, a spreadsheet export)
/// would otherwise be read as a run that measured less, and a target on the
/// lost column would go unmeasured instead of failing. A percentile set is
/// taken as customised (`PERCENTILES_TO_REPORT`) only when it has a
/// percentile Locust does not write by default; a subset of the default set
/// is a file that lost columns.
fn check_stats_columns(table: &Table) -> Result<()> {
    if table.column(&["Request Count"]).is_none() {
        // older layouts (`# requests`) are read by their own names
        return Ok(());
    }
    let missing = |what: String| {
        Err(Error::parse(
            &table.path,
            Some(1),
            None,
            format!(
                "the header lacks the column `{what}` that Locust writes in every stats CSV; was the file cut or edited?"
            ),
        ))
    };
    if let Some(name) = STATS_COLUMNS.iter().find(|c| table.column(&[c]).is_none()) {
        return missing(name.to_string());
    }
    let present: Vec<f64> = percentile_columns(table).iter().map(|&(p, _)| p).collect();
    let customised = present
        .iter()
        .any(|p| !DEFAULT_PERCENTILES.iter().any(|d| (d - p).abs() < 1e-9));
    if !customised
        && let Some(p) = DEFAULT_PERCENTILES
            .iter()
            .find(|d| !present.iter().any(|p| (*d - p).abs() < 1e-9))
    {
        return missing(format!("{p}%"));
    }
    Ok(())
}

/// Read `PREFIX_stats.csv` and whatever siblings exist.
pub fn read(path: &Path) -> Result<Run> {
    let mut run = Run::new(label_of(path), Tool::Locust);
    run.sources.push(path.to_path_buf());
    let (table, mut reader) = Table::open(path)?;
    check_final_newline(&table)?;
    check_stats_columns(&table)?;
    let pcts = percentile_columns(&table);
    let mut rows = Vec::new();
    let mut facts = Vec::new();
    let mut saw_none_type = false;
    for row in table.rows(&mut reader) {
        let row = row?;
        row.check_width()?;
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
        let mut pct_facts = Vec::new();
        for &(p, c) in &pcts {
            if let Some(v) = row.opt_f64(c)? {
                columns.push((p, v));
                pct_facts.push((p, v, table.header(c).to_string()));
            }
        }
        pct_facts.sort_by(|a, b| a.0.total_cmp(&b.0));
        facts.push(RowFacts {
            line: row.line(),
            requests,
            failures,
            min_ms: opt(c_min)?,
            max_ms: opt(c_max)?,
            avg_ms: avg,
            pcts: pct_facts,
            rps: opt(c_rps)?,
            fail_rps: opt(table.column(&["Failures/s"]))?,
        });
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
    for ((_, e), f) in rows.iter().zip(&facts) {
        let what = if is_total(e) {
            "Aggregated".to_string()
        } else {
            format!("`{} {}`", e.kind, e.name)
        };
        check_row(path, &what, f)?;
    }
    // Every Locust version writes the Aggregated row last (1.0.x with Type
    // `None`, 0.x as `Total`); without it the file was cut between rows.
    let last_is_total = rows.last().is_some_and(|(_, e)| is_total(e));
    if !last_is_total {
        let (line, _) = rows.last().expect("checked non-empty");
        return Err(Error::parse(
            path,
            Some(*line),
            None,
            "expected the Aggregated row (empty Type, Name `Aggregated`) last, found an endpoint row: the file was cut before its end (truncated?)",
        ));
    }
    let total_facts = facts.pop().expect("one fact per row");
    check_aggregated(path, &facts, &total_facts)?;
    let (_, mut total) = rows.pop().expect("checked non-empty");
    total.kind.clear();
    run.total = total;
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
        // the history's last tick is written with (or before) the stats CSV
        if let Some(logged) = run.timeline.last().and_then(|p| p.total_requests)
            && logged > run.total.requests
        {
            return Err(Error::parse(
                h,
                None,
                None,
                format!(
                    "the history's last row counts {logged} requests, more than the {} of {}: the files are not from the same run",
                    run.total.requests,
                    path.display()
                ),
            ));
        }
    }
    if let Some(f) = &sib.failures {
        run.failures = read_failures(f)?;
        check_failures_match(f, path, &run)?;
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
        run.rps_basis = Some(format!(
            "Locust's own Requests/s from the stats CSV: {} requests ÷ {:.1} s from the test start to the last request, as of the CSV's last write",
            crate::format::count(run.total.requests),
            run.total.requests as f64 / rps
        ));
        if sib.history.is_none() {
            run.provenance.push(
                "No stats history beside the CSV: the duration comes from Request Count / Requests/s; start and end times are unknown.".into(),
            );
        }
    }
    extend_past_missing_history_tail(&mut run);
    Ok(run)
}

/// The failures CSV is written in the same tick as the stats CSV: the
/// occurrences of each (method, name) sum to that row's Failure Count.
fn check_failures_match(failures_path: &Path, stats_path: &Path, run: &Run) -> Result<()> {
    let mut sums: HashMap<(&str, &str), u64> = HashMap::new();
    for f in &run.failures {
        *sums.entry((f.kind.as_str(), f.name.as_str())).or_default() += f.occurrences;
    }
    for e in &run.endpoints {
        let logged = sums
            .remove(&(e.kind.as_str(), e.name.as_str()))
            .unwrap_or(0);
        if logged != e.failures {
            return Err(Error::parse(
                failures_path,
                None,
                None,
                format!(
                    "the failures of `{} {}` add up to {logged}, but {} counts {} (same snapshot: they must agree)",
                    e.kind,
                    e.name,
                    stats_path.display(),
                    e.failures
                ),
            ));
        }
    }
    if let Some(((kind, name), n)) = sums.into_iter().find(|(_, n)| *n > 0) {
        return Err(Error::parse(
            failures_path,
            None,
            None,
            format!(
                "{n} failures of `{kind} {name}`, a request {} does not list",
                stats_path.display()
            ),
        ));
    }
    Ok(())
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

/// Longest run accepted (7 days, as for a Goose request log's `elapsed`).
const MAX_RUN_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// Most Aggregated history rows per second of the history's span (Locust
/// writes one per second; twice that leaves room for a shorter
/// `CSV_STATS_INTERVAL_SEC` and repeated seconds from clock steps).
const MAX_TICKS_PER_SECOND: f64 = 2.0;
/// Aggregated rows allowed on top of [`MAX_TICKS_PER_SECOND`].
const MAX_TICKS_SLACK: f64 = 600.0;

/// Read `PREFIX_stats_history.csv` into the run's timeline (Aggregated rows).
///
/// The file is streamed ([`HistoryStream`]): of a `--csv-full-history` file,
/// whose endpoint rows are 50 of every 51 rows of a 50-endpoint test, only the
/// Aggregated rows are kept, one [`TimelinePoint`] per tick; endpoint rows
/// are checked (width, order of time) and dropped, as nothing downstream
/// reads them (windowed targets, charts and scalability use all requests).
/// Memory is then the timeline (one point a second) plus one record.
///
/// Where the time goes (perf, a day of 50 endpoints, 4.4 M rows, ~3 s):
/// about half in the csv crate's record parser (csv_core), ~9 % counting
/// newlines for line numbers, ~7 % number parsing (timestamps of every row,
/// the Aggregated rows' cells), the rest trimming, UTF-8 validation and
/// copying; reading the file itself (`cat`) is ~0.1 s. A faster path would
/// split unquoted lines itself instead of running every row through csv_core.
pub fn read_history(path: &Path, run: &mut Run) -> Result<()> {
    let HistoryStream {
        head: table,
        mut rows,
    } = HistoryStream::open(path)?;
    let mut prev_ts: Option<(f64, u64)> = None;
    let mut prev_counts: Option<(u64, u64, u64)> = None;
    let mut reset: Option<u64> = None;
    let pcts = percentile_columns(&table);
    let p50 = pcts.iter().find(|(p, _)| *p == 50.0).map(|x| x.1);
    let p95 = pcts.iter().find(|(p, _)| *p == 95.0).map(|x| x.1);
    let p99 = pcts.iter().find(|(p, _)| *p == 99.0).map(|x| x.1);
    // looked up once: a day of history is millions of rows
    let (c_ts, c_name, c_type) = (
        table.column(&["Timestamp"]),
        table.column(&["Name"]),
        table.column(&["Type"]),
    );
    let c_users = table.column(&["User Count"]);
    let c_total_requests = table.column(&["Total Request Count"]);
    let c_total_failures = table.column(&["Total Failure Count"]);
    let c_rps = table.column(&["Requests/s"]);
    let c_fps = table.column(&["Failures/s"]);
    let mut points: Vec<TimelinePoint> = Vec::new();
    let mut full_history = false;
    let mut record = csv::StringRecord::new();
    while let Some(row) = rows.next(&table, &mut record)? {
        row.check_width()?;
        let c_ts = c_ts.ok_or_else(|| table.missing("Timestamp"))?;
        let c_name = c_name.ok_or_else(|| table.missing("Name"))?;
        let c_type = c_type.ok_or_else(|| table.missing("Type"))?;
        let kind = row.text(c_type);
        let name = row.text(c_name);
        let ts = row.f64(c_ts)?;
        // Locust appends a tick per second; a clock step may repeat a second
        // but never go back by one
        if let Some((before, before_line)) = prev_ts
            && ts < before
        {
            return Err(Error::parse(
                path,
                Some(row.line()),
                None,
                format!(
                    "the history runs backwards: Timestamp {ts} is earlier than {before} on line {}",
                    before_line
                ),
            ));
        }
        prev_ts = Some((ts, row.line()));
        let is_total = (kind.is_empty() || kind == "None") && name == "Aggregated";
        if !is_total {
            // an endpoint row: nothing of it is kept (the timeline and the
            // windows are all requests), only its order is checked
            full_history = true;
            record = row.record;
            continue;
        }
        let users = match c_users {
            Some(c) => Some(row.count(c)?),
            None => None,
        };
        let total_requests = match c_total_requests {
            Some(c) => Some(row.count(c)?),
            None => None,
        };
        let total_failures = match c_total_failures {
            Some(c) => Some(row.count(c)?),
            None => None,
        };
        let opt = |c: Option<usize>| -> Result<Option<f64>> {
            match c {
                Some(c) => row.opt_f64(c),
                None => Ok(None),
            }
        };
        for c in [c_rps, c_fps, p50, p95, p99].into_iter().flatten() {
            if let Some(v) = row.opt_f64(c)?
                && v < 0.0
            {
                return Err(Error::parse(
                    path,
                    Some(row.line()),
                    Some(c as u64 + 1),
                    format!("`{}` is negative ({v})", table.header(c)),
                ));
            }
        }
        if let (Some(n), Some(f)) = (total_requests, total_failures) {
            if f > n {
                return Err(Error::parse(
                    path,
                    Some(row.line()),
                    None,
                    format!("Total Failure Count {f} exceeds Total Request Count {n}"),
                ));
            }
            // cumulative counts only grow, except once when `--reset-stats`
            // zeroes them as the ramp-up ends: the next tick then counts about
            // one second of requests, far below the ramp-up's total (a count
            // that dips by a little is rows out of order, not a reset)
            if let Some((pn, pf, pline)) = prev_counts
                && (n < pn || f < pf)
            {
                let first_reset = reset.is_none() && n < pn && n * 2 < pn;
                if !first_reset {
                    let (what, a, b) = if n < pn {
                        ("Total Request Count", pn, n)
                    } else {
                        ("Total Failure Count", pf, f)
                    };
                    return Err(Error::parse(
                        path,
                        Some(row.line()),
                        None,
                        format!(
                            "the cumulative {what} goes backwards, from {a} on line {} to {b}{}",
                            pline,
                            if reset.is_some() {
                                " (a second reset: Locust's --reset-stats resets once)"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                reset = Some(row.line());
            }
            prev_counts = Some((n, f, row.line()));
        }
        // the timeline and windows are laid second by second from these
        if let Some(first) = points.first().map(|p: &TimelinePoint| p.t)
            && (ts - first).abs() > MAX_RUN_SECONDS
        {
            return Err(Error::parse(
                path,
                Some(row.line()),
                Some(c_ts as u64 + 1),
                format!(
                    "`Timestamp`: {ts} is {:.0} s from the first row's {first}; a run spans at most {MAX_RUN_SECONDS} s (7 days)",
                    (ts - first).abs()
                ),
            ));
        }
        // The Aggregated rows are all that is kept, one per tick: bound them by
        // the seconds they span, so that a file of repeated rows cannot grow
        // memory without bound now that no file size limit applies
        if let Some(first) = points.first().map(|p| p.t)
            && points.len() as f64 >= MAX_TICKS_PER_SECOND * (ts - first) + MAX_TICKS_SLACK
        {
            return Err(Error::parse(
                path,
                Some(row.line()),
                None,
                format!(
                    "more than {} Aggregated rows within {:.0} s of the first one: Locust writes one per tick (CSV_STATS_INTERVAL_SEC, 1 s)",
                    points.len(),
                    ts - first
                ),
            ));
        }
        points.push(TimelinePoint {
            t: ts,
            users,
            rps: opt(c_rps)?,
            failures_per_s: opt(c_fps)?,
            p50_ms: opt(p50)?,
            p95_ms: opt(p95)?,
            p99_ms: opt(p99)?,
            total_requests,
            total_failures,
            latency: None,
        });
        record = row.record;
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
    if let Some(line) = reset {
        run.provenance.push(format!(
            "The stats history's cumulative counts restart at line {line} (Locust --reset-stats at the end of ramp-up)."
        ));
    }
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
    check_final_newline(&table)?;
    let first = table.column(&["First Seen"]);
    let last = table.column(&["Last Seen"]);
    let mut out = Vec::new();
    for row in table.rows(&mut reader) {
        let row = row?;
        row.check_width()?;
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
    check_final_newline(&table)?;
    let mut out = Vec::new();
    for row in table.rows(&mut reader) {
        let row = row?;
        row.check_width()?;
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
    fn record_lines_are_counted_on_from_the_previous_record() {
        // CRLF, a quoted newline inside a cell, and a blank line
        let text = "Type,Name,Request Count\r\nGET,/a,1\r\nGET,\"/b\nc\",2\r\n\r\nGET,/d,3\r\n";
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, text).unwrap();
        let (table, mut reader) = super::Table::open(&p).unwrap();
        let lines: Vec<u64> = table.rows(&mut reader).map(|r| r.unwrap().line()).collect();
        // independently: the line each record starts on, by counting newlines
        let starts: Vec<u64> = ["GET,/a", "GET,\"/b", "GET,/d"]
            .iter()
            .map(|m| text[..text.find(m).unwrap()].matches('\n').count() as u64 + 1)
            .collect();
        assert_eq!(lines, starts);
    }

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
                    Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
        // 100 requests at 4/s: the test ran 25 s from its first history row
        let pcts = "110,120,130,140,200,300,350,400,400,400,400";
        let stats = format!(
            "{head}\r\nGET,/a,100,0,110.0,120,10,400,5,4.0,0.0,{pcts}\r\n\
             ,Aggregated,100,0,110.0,120,10,400,5,4.0,0.0,{pcts}\r\n"
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

//! Resource samples of the server under test, in any of these shapes (recognised
//! by content, see `../shared/formats/resources-and-ci.md` §1):
//!
//! - **sampler CSV**: `../shared/loadgen/sample_resources.py` and `perfreport sample`
//!   (`timestamp,cpu_percent,rss_bytes,vms_bytes,num_threads,num_fds,read_bytes,write_bytes`),
//!   and the common psutil-based variants: a time column `timestamp`/`time`/`ts`/`epoch`
//!   holding epoch seconds, epoch milliseconds (values above 10¹¹) or an ISO 8601 time
//!   with a UTC offset; memory as `rss_bytes`/`rss`/`memory_rss` (bytes) or
//!   `rss_mb`/`rss_mib`/`mem_mb` (read as MiB, which is what psutil-based scripts and
//!   psrecord compute, and said so in the series' notes); CPU as
//!   `cpu_percent`/`cpu_pct`/`cpu` (% of one core). Every other numeric column is kept
//!   in `extra` under its header name; all-text columns are ignored.
//! - **psrecord `--log`** (psrecord 1.3/1.4): the plain fixed-width format and
//!   `--log-format csv`, with or without `--include-io`. It holds elapsed seconds
//!   only, so the absolute start comes from [`ResourceOptions::start_unix`], or else
//!   from the file's modification time minus the last elapsed value (noted). Memory
//!   columns are MiB despite the "MB" label. psrecord's first CPU value is always 0.0
//!   (psutil needs two readings), so it is dropped.
//! - **`pidstat -h -r -u`** (sysstat 12.6): one header + one row per task and
//!   interval. Time is epoch seconds with `-H`, else `HH:MM:SS` (12 h `AM/PM` too)
//!   on the date of the `Linux ...` line (`MM/DD/YY`, `MM/DD/YYYY` or ISO), with a day
//!   added each time the clock goes back more than 12 h (midnight). pidstat prints
//!   local time and no zone: it is read as UTC and said so in the notes (record with
//!   `-H` or `TZ=UTC`). VSZ/RSS are KiB; `%CPU` is % of one core. Several PIDs in one
//!   interval are summed (noted). The form without `-h` (separate `-u`/`-r` blocks) is
//!   refused with a hint. Decimal commas are accepted.
//! - **`docker stats --no-stream --format '{{json .}}'`** lines prefixed with a unix
//!   timestamp (docker CLI 28.x): `MemUsage` used part (binary units; container memory
//!   minus page cache, not a process RSS: noted) becomes `rss_bytes`, `CPUPerc`
//!   `cpu_percent`; the limit, `MemPerc`, `PIDs` and the cumulative `NetIO`/`BlockIO`
//!   byte counters go to `extra` as `mem_limit_bytes`, `mem_percent`, `pids`,
//!   `net_rx_bytes`, `net_tx_bytes`, `block_read_bytes`, `block_write_bytes`. Several
//!   containers in one timestamp are summed (noted).
//!
//! Samples are returned oldest first; a timestamp going backwards is an error
//! (except pidstat's midnight rollover).

use crate::error::{Error, Result};
use crate::input::locust_csv::{Row, Table};
use crate::model::{ResourceSample, ResourceSeries, UnixSeconds};
use std::collections::BTreeMap;
use std::path::Path;

const MIB: f64 = 1024.0 * 1024.0;
const KIB: f64 = 1024.0;

/// Options for reading resource samples.
#[derive(Debug, Clone, Default)]
pub struct ResourceOptions {
    /// Absolute start (unix seconds, UTC) of a file that holds elapsed seconds only
    /// (psrecord). Ignored for formats with absolute timestamps.
    pub start_unix: Option<UnixSeconds>,
}

/// The shapes this reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    SamplerCsv,
    PsrecordPlain,
    PsrecordCsv,
    Pidstat,
    Docker,
    Prometheus,
}

impl Format {
    fn describe(self) -> &'static str {
        match self {
            Format::SamplerCsv => "sampler CSV (sample_resources.py / perfreport sample / psutil)",
            Format::PsrecordPlain => "psrecord --log (plain)",
            Format::PsrecordCsv => "psrecord --log --log-format csv",
            Format::Pidstat => "pidstat -h -r -u",
            Format::Docker => "docker stats --format '{{json .}}' with a unix timestamp prefix",
            Format::Prometheus => "Prometheus query_range JSON",
        }
    }
}

const TIME_NAMES: &[&str] = &["timestamp", "time", "ts", "epoch", "unix_time"];
const CPU_NAMES: &[&str] = &["cpu_percent", "cpu_pct", "cpu"];
const RSS_BYTES_NAMES: &[&str] = &["rss_bytes", "rss", "memory_rss"];
const RSS_MIB_NAMES: &[&str] = &["rss_mb", "rss_mib", "mem_mb", "memory_rss_mb"];
const VMS_BYTES_NAMES: &[&str] = &["vms_bytes", "vms", "memory_vms"];
const VMS_MIB_NAMES: &[&str] = &["vms_mb", "vms_mib"];

fn first_line(text: &str) -> &str {
    text.trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

fn csv_header(line: &str) -> Vec<String> {
    line.split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect()
}

fn detect_format(text: &str) -> Option<Format> {
    let first = first_line(text);
    if first.starts_with("# Elapsed time") {
        return Some(Format::PsrecordPlain);
    }
    if first.starts_with("Linux ") || (first.starts_with("# Time") && first.contains("PID")) {
        return Some(Format::Pidstat);
    }
    if first.trim_start().starts_with('{') && text.contains("\"resultType\"") {
        return Some(Format::Prometheus);
    }
    if let Some((ts, rest)) = first.trim().split_once(char::is_whitespace)
        && ts.parse::<f64>().is_ok()
        && rest.trim_start().starts_with('{')
    {
        return Some(Format::Docker);
    }
    let header = csv_header(first);
    let has_any = |names: &[&str]| header.iter().any(|h| names.contains(&h.as_str()));
    if has_any(&["elapsed_time"]) && has_any(&["mem_real", "cpu"]) {
        return Some(Format::PsrecordCsv);
    }
    if has_any(TIME_NAMES)
        && (has_any(RSS_BYTES_NAMES) || has_any(RSS_MIB_NAMES) || has_any(CPU_NAMES))
    {
        return Some(Format::SamplerCsv);
    }
    None
}

/// True when the text looks like a resource-sample file (any supported shape).
pub fn looks_like_resources(text: &str) -> bool {
    detect_format(text).is_some()
}

/// Read a resource-sample file with default options.
pub fn read(path: &Path) -> Result<ResourceSeries> {
    read_with(path, &ResourceOptions::default())
}

/// Read a resource-sample file, recognising its shape by content.
pub fn read_with(path: &Path, opts: &ResourceOptions) -> Result<ResourceSeries> {
    let bytes = crate::input::read_all(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::parse(path, None, None, "expected UTF-8 text"))?;
    let format = detect_format(&text).ok_or_else(|| {
        Error::parse(
            path,
            Some(1),
            None,
            format!(
                "unrecognised resource-sample {}; expected a sampler CSV (timestamp,cpu_percent,rss_bytes,...), psrecord --log output, pidstat -h -r -u output or timestamped docker stats JSON lines",
                crate::input::describe_header(first_line(&text))
            ),
        )
    })?;
    let mut series = ResourceSeries {
        source: path.to_path_buf(),
        format: format.describe().to_string(),
        ..ResourceSeries::default()
    };
    match format {
        Format::SamplerCsv => read_sampler_csv(path, &mut series)?,
        Format::PsrecordCsv => read_psrecord_csv(path, opts, &mut series)?,
        Format::PsrecordPlain => read_psrecord_plain(path, &text, opts, &mut series)?,
        Format::Pidstat => read_pidstat(path, &text, &mut series)?,
        Format::Docker => read_docker(path, &text, &mut series)?,
        Format::Prometheus => {
            return Err(Error::wrong_kind(
                path,
                "Prometheus query_range JSON is not supported yet; export the samples as CSV (timestamp,cpu_percent,rss_bytes)",
            ));
        }
    }
    if series.samples.is_empty() {
        return Err(Error::parse(
            path,
            None,
            None,
            format!("no samples found in this {} file", format.describe()),
        ));
    }
    Ok(series)
}

/// Error when a timestamp goes backwards. The line is asked for only then:
/// finding a CSV record's line re-reads the file up to it, which done for every
/// row made reading quadratic (72 s for a day of 1 Hz samples).
fn check_order(path: &Path, line: impl FnOnce() -> u64, prev: Option<f64>, t: f64) -> Result<()> {
    match prev {
        Some(p) if t < p => Err(Error::parse(
            path,
            Some(line()),
            None,
            format!("expected timestamps in increasing order, found {t} after {p}"),
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- sampler CSV

/// An ISO 8601 time with a zone, or epoch seconds / milliseconds.
fn parse_time_cell(text: &str) -> std::result::Result<f64, String> {
    if let Ok(v) = text.parse::<f64>() {
        if !v.is_finite() || v < 0.0 {
            return Err(format!("expected a unix time, found `{text}`"));
        }
        // 1e11 s is the year 5138; anything above is milliseconds.
        return Ok(if v > 1e11 { v / 1000.0 } else { v });
    }
    match text.parse::<jiff::Timestamp>() {
        Ok(ts) => Ok(ts.as_microsecond() as f64 / 1e6),
        Err(_) => Err(format!(
            "expected epoch seconds or an ISO 8601 time with a zone (`2026-11-27T15:15:27Z`), found `{text}`"
        )),
    }
}

fn read_sampler_csv(path: &Path, series: &mut ResourceSeries) -> Result<()> {
    let (table, mut reader) = Table::open(path)?;
    let c_time = table.column(TIME_NAMES);
    let c_cpu = table.column(CPU_NAMES);
    let c_rss = table.column(RSS_BYTES_NAMES);
    let c_rss_mib = table.column(RSS_MIB_NAMES);
    let c_vms = table.column(VMS_BYTES_NAMES);
    let c_vms_mib = table.column(VMS_MIB_NAMES);
    let Some(c_time) = c_time else {
        return Err(Error::parse(
            path,
            Some(1),
            None,
            "expected a `timestamp` (or time/ts/epoch) column in the header",
        ));
    };
    if c_rss.is_none() && c_rss_mib.is_some() {
        series.notes.push(format!(
            "memory column `{}` read as MiB (1024² bytes).",
            table.header(c_rss_mib.unwrap_or(0))
        ));
    }
    let known: Vec<usize> = [Some(c_time), c_cpu, c_rss, c_rss_mib, c_vms, c_vms_mib]
        .into_iter()
        .flatten()
        .collect();
    let rows: Vec<Row> = table.rows(&mut reader).collect::<Result<_>>()?;
    // Extra columns: numeric ones are kept; a column with no numeric cell at all is text.
    let extra_cols: Vec<usize> = (0..table.width())
        .filter(|c| !known.contains(c))
        .filter(|&c| {
            rows.iter()
                .any(|r| !r.text(c).is_empty() && r.text(c).parse::<f64>().is_ok())
        })
        .collect();
    let mut prev = None;
    for row in &rows {
        let time_text = row.text(c_time);
        let t = parse_time_cell(time_text)
            .map_err(|m| Error::parse(path, Some(row.line()), Some(c_time as u64 + 1), m))?;
        check_order(path, || row.line(), prev, t)?;
        prev = Some(t);
        let opt = |c: Option<usize>, scale: f64| -> Result<Option<f64>> {
            match c {
                Some(c) => Ok(row.opt_f64(c)?.map(|v| v * scale)),
                None => Ok(None),
            }
        };
        let rss_bytes = match c_rss {
            Some(_) => opt(c_rss, 1.0)?,
            None => opt(c_rss_mib, MIB)?,
        };
        let vms_bytes = match c_vms {
            Some(_) => opt(c_vms, 1.0)?,
            None => opt(c_vms_mib, MIB)?,
        };
        for (c, v) in [
            (c_rss.or(c_rss_mib), rss_bytes),
            (c_vms.or(c_vms_mib), vms_bytes),
        ] {
            if let (Some(c), Some(v)) = (c, v)
                && v < 0.0
            {
                return Err(Error::parse(
                    path,
                    Some(row.line()),
                    Some(c as u64 + 1),
                    format!("`{}`: expected a size ≥ 0, found {v}", table.header(c)),
                ));
            }
        }
        let mut extra = BTreeMap::new();
        for &c in &extra_cols {
            if let Some(v) = row.opt_f64(c)? {
                extra.insert(table.header(c).to_string(), v);
            }
        }
        series.samples.push(ResourceSample {
            t,
            cpu_percent: opt(c_cpu, 1.0)?,
            rss_bytes,
            vms_bytes,
            extra,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------- psrecord

/// The absolute start of a psrecord log, and a note when it was guessed.
fn psrecord_start(
    path: &Path,
    opts: &ResourceOptions,
    last_elapsed: f64,
    series: &mut ResourceSeries,
) -> Result<f64> {
    if let Some(s) = opts.start_unix {
        series.notes.push(format!(
            "psrecord holds elapsed seconds only; start taken as {s} (given)."
        ));
        return Ok(s);
    }
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| Error::io(path, e))?;
    let mtime = match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(_) => {
            return Err(Error::Usage(format!(
                "{}: psrecord logs hold elapsed seconds only and the file's modification time is before 1970; give the start time",
                path.display()
            )));
        }
    };
    let start = mtime - last_elapsed;
    series.notes.push(format!(
        "psrecord holds elapsed seconds only; start taken as the file's modification time ({}) minus the last elapsed value ({last_elapsed:.3} s) = {start:.3}. This is wrong if the file was copied or edited since; give the start time to be sure.",
        format_unix(mtime)
    ));
    Ok(start)
}

/// Unix seconds as an RFC 3339 UTC text.
fn format_unix(t: f64) -> String {
    jiff::Timestamp::from_microsecond((t * 1e6) as i64)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| format!("{t}"))
}

/// Samples in elapsed seconds, before the start is known.
struct Relative {
    elapsed: f64,
    sample: ResourceSample,
}

fn finish_relative(
    path: &Path,
    opts: &ResourceOptions,
    rel: Vec<Relative>,
    series: &mut ResourceSeries,
) -> Result<()> {
    let Some(last) = rel.last() else {
        return Ok(());
    };
    let start = psrecord_start(path, opts, last.elapsed, series)?;
    for (i, r) in rel.into_iter().enumerate() {
        let mut s = r.sample;
        s.t = start + r.elapsed;
        if i == 0 {
            // psutil's first cpu_percent() reading is always 0.0.
            s.cpu_percent = None;
        }
        series.samples.push(s);
    }
    Ok(())
}

fn read_psrecord_csv(
    path: &Path,
    opts: &ResourceOptions,
    series: &mut ResourceSeries,
) -> Result<()> {
    let (table, mut reader) = Table::open(path)?;
    let c_el = table.column(&["elapsed_time"]);
    let c_cpu = table.column(&["cpu"]);
    let c_real = table.column(&["mem_real"]);
    let c_virt = table.column(&["mem_virtual"]);
    let Some(c_el) = c_el else {
        return Err(Error::parse(
            path,
            Some(1),
            None,
            "expected an `elapsed_time` column",
        ));
    };
    let known = [Some(c_el), c_cpu, c_real, c_virt];
    let mut rel = Vec::new();
    let mut prev = None;
    for row in table.rows(&mut reader) {
        let row = row?;
        let elapsed = row.f64(c_el)?;
        check_order(path, || row.line(), prev, elapsed)?;
        prev = Some(elapsed);
        let opt = |c: Option<usize>| -> Result<Option<f64>> {
            c.map(|c| row.opt_f64(c)).transpose().map(Option::flatten)
        };
        let mut extra = BTreeMap::new();
        for c in (0..table.width()).filter(|c| !known.contains(&Some(*c))) {
            if let Some(v) = row.opt_f64(c)? {
                extra.insert(table.header(c).to_string(), v);
            }
        }
        rel.push(Relative {
            elapsed,
            sample: ResourceSample {
                t: 0.0,
                cpu_percent: opt(c_cpu)?,
                rss_bytes: opt(c_real)?.map(|v| v * MIB),
                vms_bytes: opt(c_virt)?.map(|v| v * MIB),
                extra,
            },
        });
    }
    finish_relative(path, opts, rel, series)
}

/// Whitespace-separated tokens with their 1-based character columns.
fn tokens(line: &str) -> Vec<(u64, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in line.char_indices() {
        match (ch.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out.into_iter()
        .map(|(s, t)| (line[..s].chars().count() as u64 + 1, t))
        .collect()
}

fn number(path: &Path, line: u64, col: u64, what: &str, text: &str) -> Result<f64> {
    match text.replace(',', ".").parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::parse(
            path,
            Some(line),
            Some(col),
            format!("`{what}`: expected a number, found `{text}`"),
        )),
    }
}

fn read_psrecord_plain(
    path: &Path,
    text: &str,
    opts: &ResourceOptions,
    series: &mut ResourceSeries,
) -> Result<()> {
    const BASE: [&str; 4] = ["elapsed_s", "cpu_percent", "real_mib", "virtual_mib"];
    const IO: [&str; 4] = ["read_count", "write_count", "read_bytes", "write_bytes"];
    let mut names: Vec<&str> = BASE.to_vec();
    let mut rel = Vec::new();
    let mut prev = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if line.contains("Read count") {
                names.extend(IO);
            }
            continue;
        }
        let toks = tokens(line);
        if toks.len() != names.len() {
            return Err(Error::parse(
                path,
                Some(line_no),
                None,
                format!(
                    "expected {} columns as in the header, found {}",
                    names.len(),
                    toks.len()
                ),
            ));
        }
        let vals: Vec<f64> = toks
            .iter()
            .zip(&names)
            .map(|((col, t), name)| number(path, line_no, *col, name, t))
            .collect::<Result<_>>()?;
        check_order(path, || line_no, prev, vals[0])?;
        prev = Some(vals[0]);
        let extra = names[4..]
            .iter()
            .zip(&vals[4..])
            .map(|(n, v)| (n.to_string(), *v))
            .collect();
        rel.push(Relative {
            elapsed: vals[0],
            sample: ResourceSample {
                t: 0.0,
                cpu_percent: Some(vals[1]),
                rss_bytes: Some(vals[2] * MIB),
                vms_bytes: Some(vals[3] * MIB),
                extra,
            },
        });
    }
    finish_relative(path, opts, rel, series)
}

// ---------------------------------------------------------------- pidstat

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of pidstat's `Linux ...` line: `MM/DD/YY`, `MM/DD/YYYY` or `YYYY-MM-DD`.
fn pidstat_date(line: &str) -> Option<i64> {
    for (_, tok) in tokens(line) {
        let parts: Vec<&str> = tok.split(['/', '-']).collect();
        if parts.len() != 3
            || !parts
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
        {
            continue;
        }
        let n: Vec<i64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        let (y, m, d) = if tok.contains('-') {
            (n[0], n[1], n[2])
        } else {
            let y = if n[2] < 100 { 2000 + n[2] } else { n[2] };
            (y, n[0], n[1])
        };
        if (1..=12).contains(&m) && (1..=31).contains(&d) {
            return Some(days_from_civil(y, m, d));
        }
    }
    None
}

/// Seconds since midnight of `HH:MM:SS`, with an optional AM/PM token.
fn time_of_day(text: &str, ampm: Option<&str>) -> Option<f64> {
    let p: Vec<&str> = text.split(':').collect();
    if p.len() != 3 {
        return None;
    }
    let mut h: f64 = p[0].parse().ok()?;
    let m: f64 = p[1].parse().ok()?;
    let s: f64 = p[2].parse().ok()?;
    match ampm {
        Some("AM") if h == 12.0 => h = 0.0,
        Some("PM") if h < 12.0 => h += 12.0,
        _ => {}
    }
    (h < 24.0 && m < 60.0 && s < 61.0).then_some(h * 3600.0 + m * 60.0 + s)
}

fn read_pidstat(path: &Path, text: &str, series: &mut ResourceSeries) -> Result<()> {
    let mut day: Option<i64> = None;
    let mut header: Option<Vec<String>> = None;
    let mut last_tod: Option<f64> = None;
    let mut day_offset = 0.0;
    let mut pids = std::collections::BTreeSet::new();
    let mut prev = None;
    let mut wall_clock = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("Linux ") {
            day = pidstat_date(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let h: Vec<String> = tokens(rest)
                .into_iter()
                .map(|(_, t)| t.to_string())
                .collect();
            header = Some(h);
            continue;
        }
        if line.starts_with("Average:") {
            continue;
        }
        let Some(h) = header.as_ref() else {
            return Err(Error::parse(
                path,
                Some(line_no),
                None,
                "expected a `# Time ... PID ...` header before the first row; record with `pidstat -h -r -u` (the form without -h prints separate -u and -r blocks)",
            ));
        };
        let col = |name: &str| h.iter().position(|x| x == name);
        let (Some(c_pid), Some(c_cpu), Some(c_rss)) = (col("PID"), col("%CPU"), col("RSS")) else {
            return Err(Error::parse(
                path,
                Some(line_no),
                None,
                "expected PID, %CPU and RSS columns in the header; record with `pidstat -h -r -u`",
            ));
        };
        let c_vsz = col("VSZ");
        let mut toks = tokens(line);
        // A 12-hour locale prints `03:15:27 PM`: fold the AM/PM token into the time.
        let ampm = match toks.get(1) {
            Some((_, t)) if *t == "AM" || *t == "PM" => {
                let t = *t;
                toks.remove(1);
                Some(t)
            }
            _ => None,
        };
        // The command (last column) may contain spaces with -l: it is the rest of the line.
        let n_numeric = h.len().saturating_sub(1);
        if toks.len() < n_numeric {
            return Err(Error::parse(
                path,
                Some(line_no),
                None,
                format!(
                    "expected {} columns as in the header, found {}",
                    h.len(),
                    toks.len()
                ),
            ));
        }
        let (time_col, time_text) = toks[0];
        let t = if let Ok(epoch) = time_text.parse::<f64>() {
            epoch
        } else {
            wall_clock = true;
            let Some(tod) = time_of_day(time_text, ampm) else {
                return Err(Error::parse(
                    path,
                    Some(line_no),
                    Some(time_col),
                    format!("`Time`: expected HH:MM:SS or epoch seconds, found `{time_text}`"),
                ));
            };
            let Some(d) = day else {
                return Err(Error::parse(
                    path,
                    Some(line_no),
                    Some(time_col),
                    "a wall-clock time but no date: expected the `Linux ... MM/DD/YY ...` line at the top (or record with -H for epoch times)",
                ));
            };
            if let Some(last) = last_tod
                && tod + 12.0 * 3600.0 < last
            {
                day_offset += 86_400.0;
            }
            last_tod = Some(tod);
            d as f64 * 86_400.0 + day_offset + tod
        };
        check_order(path, || line_no, prev, t)?;
        prev = Some(t);
        let num = |c: usize| -> Result<f64> {
            let (cc, text) = toks[c];
            number(path, line_no, cc, &h[c], text)
        };
        pids.insert(toks[c_pid].1.to_string());
        let cpu = num(c_cpu)?;
        let rss = num(c_rss)? * KIB;
        let vsz = c_vsz.map(num).transpose()?.map(|v| v * KIB);
        let mut extra = BTreeMap::new();
        for (c, name) in h.iter().enumerate().take(n_numeric).skip(1) {
            if [c_pid, c_cpu, c_rss].contains(&c) || Some(c) == c_vsz {
                continue;
            }
            if matches!(name.as_str(), "UID" | "CPU" | "USER" | "TGID" | "TID") {
                continue;
            }
            extra.insert(name.clone(), num(c)?);
        }
        let same_time = series.samples.last().is_some_and(|s| s.t == t);
        if same_time {
            // Another task in the same interval (-p ALL, several PIDs): sum.
            if let Some(s) = series.samples.last_mut() {
                s.cpu_percent = Some(s.cpu_percent.unwrap_or(0.0) + cpu);
                s.rss_bytes = Some(s.rss_bytes.unwrap_or(0.0) + rss);
                s.vms_bytes = match (s.vms_bytes, vsz) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                for (k, v) in extra {
                    *s.extra.entry(k).or_insert(0.0) += v;
                }
            }
        } else {
            series.samples.push(ResourceSample {
                t,
                cpu_percent: Some(cpu),
                rss_bytes: Some(rss),
                vms_bytes: vsz,
                extra,
            });
        }
    }
    if wall_clock {
        series.notes.push(
            "pidstat prints local wall-clock time without a zone; it was read as UTC (record with `pidstat -H` or `TZ=UTC` to be sure)."
                .into(),
        );
    }
    if pids.len() > 1 {
        series.notes.push(format!(
            "pidstat rows of {} PIDs ({}) were summed per interval.",
            pids.len(),
            pids.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- docker stats

/// One `docker stats --format '{{json .}}'` object (the fields used).
#[derive(serde::Deserialize)]
struct DockerStats {
    #[serde(rename = "CPUPerc")]
    cpu_perc: Option<String>,
    #[serde(rename = "MemUsage")]
    mem_usage: Option<String>,
    #[serde(rename = "MemPerc")]
    mem_perc: Option<String>,
    #[serde(rename = "NetIO")]
    net_io: Option<String>,
    #[serde(rename = "BlockIO")]
    block_io: Option<String>,
    #[serde(rename = "PIDs")]
    pids: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
}

/// A docker size such as `98.5MiB`, `1.2kB`, `796 KiB`, `0B`, in bytes.
fn docker_size(text: &str) -> std::result::Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a size such as `98.5MiB`, found `{t}`"))?;
    let factor = match unit.trim() {
        "B" | "" => 1.0,
        "KiB" => KIB,
        "MiB" => MIB,
        "GiB" => MIB * KIB,
        "TiB" => MIB * MIB,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        other => {
            return Err(format!(
                "expected a size unit B, KiB, MiB, GiB, kB, MB or GB, found `{other}` in `{t}`"
            ));
        }
    };
    Ok(v * factor)
}

/// `"<a> / <b>"` as two sizes.
fn docker_pair(text: &str) -> std::result::Result<(f64, f64), String> {
    let (a, b) = text
        .split_once('/')
        .ok_or_else(|| format!("expected `<used> / <limit>`, found `{text}`"))?;
    Ok((docker_size(a)?, docker_size(b)?))
}

fn docker_percent(text: &str) -> std::result::Result<f64, String> {
    text.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("expected a percentage such as `12.34%`, found `{text}`"))
}

fn read_docker(path: &Path, text: &str, series: &mut ResourceSeries) -> Result<()> {
    let mut names = std::collections::BTreeSet::new();
    let mut prev = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        let bad = |col: Option<u64>, m: String| Error::parse(path, Some(line_no), col, m);
        let Some((ts, json)) = line.split_once(char::is_whitespace) else {
            return Err(bad(
                Some(1),
                "expected `<unix seconds> {...docker stats JSON...}`".into(),
            ));
        };
        let t = ts
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(Some(1), format!("expected a unix timestamp, found `{ts}`")))?;
        let json_col = line.len() as u64 - json.trim_start().len() as u64 + 1;
        let d: DockerStats = serde_json::from_str(json.trim_start()).map_err(|e| {
            bad(
                Some(json_col + e.column().saturating_sub(1) as u64),
                format!(
                    "expected a docker stats JSON object: {}",
                    super::json_message(&e)
                ),
            )
        })?;
        check_order(path, || line_no, prev, t)?;
        prev = Some(t);
        let field = |name: &str, v: std::result::Result<f64, String>| {
            v.map_err(|m| bad(Some(json_col), format!("`{name}`: {m}")))
        };
        // `--` is what docker prints for a container that is not running.
        let present = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "--")
                .map(str::to_string)
        };
        let mut sample = ResourceSample {
            t,
            ..ResourceSample::default()
        };
        if let Some(c) = present(&d.cpu_perc) {
            sample.cpu_percent = Some(field("CPUPerc", docker_percent(&c))?);
        }
        if let Some(m) = present(&d.mem_usage) {
            let (used, limit) = field_pair("MemUsage", &m, &bad, json_col)?;
            sample.rss_bytes = Some(used);
            sample.extra.insert("mem_limit_bytes".into(), limit);
        }
        if let Some(p) = present(&d.mem_perc) {
            sample
                .extra
                .insert("mem_percent".into(), field("MemPerc", docker_percent(&p))?);
        }
        if let Some(n) = present(&d.net_io) {
            let (rx, tx) = field_pair("NetIO", &n, &bad, json_col)?;
            sample.extra.insert("net_rx_bytes".into(), rx);
            sample.extra.insert("net_tx_bytes".into(), tx);
        }
        if let Some(b) = present(&d.block_io) {
            let (r, w) = field_pair("BlockIO", &b, &bad, json_col)?;
            sample.extra.insert("block_read_bytes".into(), r);
            sample.extra.insert("block_write_bytes".into(), w);
        }
        if let Some(p) = present(&d.pids) {
            let v = p.parse::<f64>().map_err(|_| {
                bad(
                    Some(json_col),
                    format!("`PIDs`: expected a number, found `{p}`"),
                )
            })?;
            sample.extra.insert("pids".into(), v);
        }
        if let Some(n) = d.name {
            names.insert(n);
        }
        match series.samples.last_mut() {
            Some(last) if last.t == t => {
                // Another container in the same `docker stats` call: sum.
                last.cpu_percent = sum_opt(last.cpu_percent, sample.cpu_percent);
                last.rss_bytes = sum_opt(last.rss_bytes, sample.rss_bytes);
                for (k, v) in sample.extra {
                    *last.extra.entry(k).or_insert(0.0) += v;
                }
            }
            _ => series.samples.push(sample),
        }
    }
    series.notes.push(
        "docker stats memory is the container's usage minus page cache (all its processes), not a process RSS; it is shown as RSS.".into(),
    );
    if names.len() > 1 {
        series.notes.push(format!(
            "docker stats rows of {} containers ({}) were summed per timestamp.",
            names.len(),
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

fn field_pair(
    name: &str,
    text: &str,
    bad: &dyn Fn(Option<u64>, String) -> Error,
    col: u64,
) -> Result<(f64, f64)> {
    docker_pair(text).map_err(|m| bad(Some(col), format!("`{name}`: {m}")))
}

fn sum_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        f
    }

    #[test]
    fn detects_each_shape() {
        assert_eq!(
            detect_format("timestamp,cpu_percent,rss_bytes\n"),
            Some(Format::SamplerCsv)
        );
        assert_eq!(detect_format("ts,cpu,rss_mb\n"), Some(Format::SamplerCsv));
        assert_eq!(
            detect_format("elapsed_time,nproc,cpu,mem_real,mem_virtual\n"),
            Some(Format::PsrecordCsv)
        );
        assert_eq!(
            detect_format("# Elapsed time   CPU (%)\n"),
            Some(Format::PsrecordPlain)
        );
        assert_eq!(
            detect_format("Linux 6.1 (vm) \t11/27/26\n"),
            Some(Format::Pidstat)
        );
        assert_eq!(
            detect_format("1795792537 {\"CPUPerc\":\"1%\"}\n"),
            Some(Format::Docker)
        );
        assert_eq!(detect_format("Type,Name,Request Count\n"), None);
    }

    #[test]
    fn civil_days_match_known_epochs() {
        // 2026-11-27T00:00:00Z = 1795737600 (date -u -d 2026-11-27 +%s).
        assert_eq!(days_from_civil(2026, 11, 27) * 86_400, 1_795_737_600);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn pidstat_midnight_rollover_and_ampm() {
        let text = "Linux 6.1 (vm) \t12/31/26 \t_x86_64_\t(2 CPU)\n\n\
# Time        UID       PID    %usr %system  %guest   %wait    %CPU   CPU  minflt/s  majflt/s     VSZ     RSS   %MEM  Command\n\
11:59:59 PM     0       910   86.00   14.00    0.00    0.00  100,00     1  60878.00      0.00  312720  309740   1.25  python3 -m app\n\n\
# Time        UID       PID    %usr %system  %guest   %wait    %CPU   CPU  minflt/s  majflt/s     VSZ     RSS   %MEM  Command\n\
12:00:00 AM     0       910   81.00   19.00    0.00    0.00  100.00     1  59995.00      0.00  552624  549740   2.23  python3 -m app\n";
        let f = write(text);
        let s = read(f.path()).expect("reads");
        // 2026-12-31T23:59:59Z = 1798761599 (date -u -d '2026-12-31 23:59:59' +%s).
        assert_eq!(s.samples[0].t, 1_798_761_599.0);
        assert_eq!(s.samples[1].t, 1_798_761_600.0);
        assert_eq!(s.samples[0].cpu_percent, Some(100.0));
        assert_eq!(s.samples[1].rss_bytes, Some(549_740.0 * 1024.0));
        assert!(s.notes.iter().any(|n| n.contains("read as UTC")));
    }

    #[test]
    fn pidstat_without_h_is_refused_with_a_hint() {
        let text = "Linux 6.1 (vm) \t11/27/26 \t_x86_64_\t(2 CPU)\n\n\
15:15:28      UID       PID    %usr %system  %guest   %wait    %CPU   CPU  Command\n\
15:15:29        0       910   88.00   12.00    0.00    0.00  100.00     1  python3\n";
        let f = write(text);
        let e = read(f.path()).expect_err("refused").to_string();
        assert!(
            e.contains("line 3") && e.contains("pidstat -h -r -u"),
            "{e}"
        );
    }

    #[test]
    fn psutil_variants_iso_and_mib() {
        let f = write(
            "time,cpu,rss_mb,host\n2026-11-27T15:15:27Z,98.6,309.5,vm\n2026-11-27T15:15:28.5+00:00,50,310,vm\n",
        );
        let s = read(f.path()).expect("reads");
        // 2026-11-27T15:15:27Z = 1795792527 (date -u -d '2026-11-27 15:15:27' +%s).
        assert_eq!(s.samples[0].t, 1_795_792_527.0);
        assert_eq!(s.samples[1].t, 1_795_792_528.5);
        assert_eq!(s.samples[0].rss_bytes, Some(309.5 * 1024.0 * 1024.0));
        assert!(
            s.samples[0].extra.is_empty(),
            "text column `host` is ignored"
        );
        assert!(s.notes.iter().any(|n| n.contains("MiB")));
    }

    #[test]
    fn epoch_milliseconds_and_naive_iso() {
        let f = write("ts,rss\n1795792527500,100\n");
        let s = read(f.path()).expect("reads");
        assert_eq!(s.samples[0].t, 1_795_792_527.5);
        let f = write("timestamp,rss_bytes\n2026-11-27 15:15:27,100\n");
        let e = read(f.path()).expect_err("no zone").to_string();
        assert!(
            e.contains("line 2, column 1") && e.contains("with a zone"),
            "{e}"
        );
    }

    #[test]
    fn backwards_time_is_an_error() {
        let f = write("timestamp,rss_bytes\n10,1\n9,1\n");
        let e = read(f.path()).expect_err("backwards").to_string();
        assert!(
            e.contains("line 3") && e.contains("increasing order"),
            "{e}"
        );
    }

    #[test]
    fn docker_sizes() {
        assert_eq!(docker_size("98.5MiB"), Ok(98.5 * MIB));
        assert_eq!(docker_size("796 KiB"), Ok(796.0 * 1024.0));
        assert_eq!(docker_size("1.2kB"), Ok(1200.0));
        assert_eq!(docker_size("1.266 KB"), Ok(1266.0));
        assert_eq!(docker_size("0B"), Ok(0.0));
        assert!(docker_size("98.5Mb").is_err());
    }
}

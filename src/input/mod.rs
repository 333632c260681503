//! Input readers. Each file is recognised by its content (not only its name),
//! read through private structs that mirror the tool's format, and turned into
//! the normalized [`Run`].

pub mod goose_json;
pub mod goose_log;
mod jsonl_fast;
pub mod locust_csv;
pub mod locust_json;
pub mod mapped;
pub mod merge;
pub mod resources;
pub mod stdin;

use crate::error::{Error, Result};
use crate::model::Run;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Locust `PREFIX_stats.csv`.
    LocustStats,
    /// Locust `PREFIX_stats_history.csv`.
    LocustHistory,
    /// Locust `PREFIX_failures.csv`.
    LocustFailures,
    /// Locust `PREFIX_exceptions.csv`.
    LocustExceptions,
    /// Locust `--json` / `--json-file` output.
    LocustJson,
    /// Goose `--report-file report.json` (or `.json.gz`).
    GooseReport,
    /// Goose `--request-log` in CSV.
    GooseRequestLogCsv,
    /// Goose `--request-log` in JSON lines.
    GooseRequestLogJson,
    /// A resource-sample file (any of the supported shapes).
    Resources,
    /// Goose's Markdown report.
    GooseMarkdown,
    /// An HTML report (Locust or Goose).
    HtmlReport,
    /// A perfreport digest: an HdrHistogram interval log (`perfreport digest`).
    Digest,
}

/// How many bytes of a file are looked at to recognise it.
const SNIFF_BYTES: usize = 64 * 1024;

/// Default of [`Limits::max_input_bytes`]: 64 MiB. Real Goose reports and
/// Locust JSON/CSV files are kilobytes, a day of 1 Hz resource samples a few
/// MB; the cap keeps a gzip bomb or `/dev/zero`-like input well under 256 MB
/// of memory (a whole document is held in memory while parsed).
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// Default of [`Limits::max_line_bytes`]: 16 MiB for one record of a
/// streamed request log (a Goose row with its `raw` cell is under 1 KB).
pub const DEFAULT_MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// Environment variable that sets [`Limits::max_input_bytes`] (like `--max-input-size`).
pub const MAX_INPUT_ENV: &str = "PERFREPORT_MAX_INPUT_SIZE";

/// Environment variable that sets [`Limits::max_line_bytes`] (like `--max-line-length`).
pub const MAX_LINE_ENV: &str = "PERFREPORT_MAX_LINE_LENGTH";

/// Size limits on what is read from input files, so that memory stays bounded
/// whatever the input (`--max-input-size`, `--max-line-length`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read whole (stats CSVs, JSON documents, resource samples,
    /// config, template), counted after gzip decompression.
    pub max_input_bytes: u64,
    /// Longest record of a streamed request log, in bytes.
    pub max_line_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

static MAX_INPUT_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_INPUT_BYTES);
static MAX_LINE_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_LINE_BYTES);

/// Set the limits used by every reader of this process (the CLI sets them once
/// from its flags before reading anything).
pub fn set_limits(limits: Limits) {
    MAX_INPUT_BYTES.store(limits.max_input_bytes.max(1), Ordering::Relaxed);
    MAX_LINE_BYTES.store(limits.max_line_bytes.max(1), Ordering::Relaxed);
}

/// The limits in force.
pub fn limits() -> Limits {
    Limits {
        max_input_bytes: MAX_INPUT_BYTES.load(Ordering::Relaxed),
        max_line_bytes: MAX_LINE_BYTES.load(Ordering::Relaxed),
    }
}

/// Parse a size such as `64M`, `2GiB`, `500k` or `1048576` (bytes; k/M/G/T are
/// powers of 1024, an optional `B`/`iB` is ignored).
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let lower = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (num, shift) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 10),
        Some('m') => (&lower[..lower.len() - 1], 20),
        Some('g') => (&lower[..lower.len() - 1], 30),
        Some('t') => (&lower[..lower.len() - 1], 40),
        _ => (lower, 0),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected a size such as 64M, 2G or 1048576, found `{t}`"))?;
    n.checked_mul(1u64 << shift)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("expected a positive size below 16 EiB, found `{t}`"))
}

/// Show a byte count the way `--max-input-size` accepts it.
pub fn show_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "T"), (30, "G"), (20, "M"), (10, "k")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// The error for an input over [`Limits::max_input_bytes`].
pub(crate) fn too_big(path: &Path, limit: u64, decompressed: bool) -> Error {
    Error::parse(
        path,
        None,
        None,
        format!(
            "larger than the input size limit of {} bytes{} ({}); raise it with --max-input-size or {MAX_INPUT_ENV}",
            limit,
            if decompressed {
                " once decompressed"
            } else {
                ""
            },
            show_size(limit)
        ),
    )
}

/// Open an input file, refusing what is not a regular file. A FIFO would block
/// (or be consumed by the first of the two reads that recognise and then read
/// a file), and a device such as `/dev/zero` never ends.
pub(crate) fn open_input(path: &Path) -> Result<std::fs::File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    check_regular(path, &meta)?;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // the path may have been swapped between the check and the open
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    check_regular(path, &meta)?;
    Ok(file)
}

fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(());
    }
    let what = if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(Error::parse(
        path,
        None,
        None,
        format!(
            "is {what}; expected a regular file (inputs are read twice, to recognise them and to read them, and must have a size)"
        ),
    ))
}

/// Read up to [`SNIFF_BYTES`] of a file, decompressing gzip.
pub(crate) fn sniff(path: &Path) -> Result<Vec<u8>> {
    let file = open_input(path)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut reader = open_maybe_gz(path, file)?;
    reader
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    Ok(head)
}

/// Wrap a file in a gzip decoder when it starts with the gzip magic bytes.
pub(crate) fn open_maybe_gz(path: &Path, mut file: std::fs::File) -> Result<Box<dyn Read>> {
    use std::io::{Seek, SeekFrom};
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::GzDecoder::new(file)))
    } else {
        Ok(Box::new(file))
    }
}

/// Read a whole (possibly gzipped) file into memory, up to
/// [`Limits::max_input_bytes`] (after decompression).
pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>> {
    read_within(path, limits().max_input_bytes)
}

/// [`read_all`] with an explicit limit in bytes.
fn read_within(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = open_input(path)?;
    let on_disk = file.metadata().map(|m| m.len()).unwrap_or(0);
    if on_disk > limit {
        return Err(too_big(path, limit, false));
    }
    let mut reader = open_maybe_gz(path, file)?;
    let mut buf = Vec::with_capacity(on_disk.min(limit) as usize);
    reader
        .by_ref()
        .take(limit)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 == limit {
        let mut one = [0u8; 1];
        if reader.read(&mut one).map_err(|e| Error::io(path, e))? > 0 {
            return Err(too_big(path, limit, true));
        }
    }
    Ok(buf)
}

/// The 1-based line that holds the byte at `offset`.
pub(crate) fn line_at_offset(bytes: &[u8], offset: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..offset.min(bytes.len())]).count() as u64 + 1
}

/// Read a whole (possibly gzipped) UTF-8 text file, within the limits.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = read_all(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Error::parse(
            path,
            Some(line_at_offset(e.as_bytes(), at)),
            None,
            "expected UTF-8 text",
        )
    })
}

/// serde_json's message without its own " at line L column C": the error
/// already carries the position, in the file's numbering (a JSON-lines reader
/// parses one line at a time, so serde's line would always be 1).
pub(crate) fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) if text[i..].contains(" column ") => text[..i].to_string(),
        _ => text,
    }
}

/// Recognise a file by its content.
pub fn detect(path: &Path) -> Result<InputKind> {
    let head = sniff(path)?;
    let text = String::from_utf8_lossy(&head);
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Error::parse(
            path,
            Some(1),
            None,
            "the file is empty; expected a Locust stats CSV or JSON, or a Goose report.json or request log",
        ));
    }
    let first_line = trimmed.lines().next().unwrap_or("").trim_end_matches('\r');
    if trimmed.starts_with('[') {
        return Ok(InputKind::LocustJson);
    }
    if trimmed.starts_with('{') {
        // By content, not by line count: a report compacted onto one line
        // (`jq -c`) still names `goose_version` / `raw_metrics` near its start,
        // which no request-log row does.
        if first_line.starts_with("{\"elapsed\"") {
            return Ok(InputKind::GooseRequestLogJson);
        }
        if trimmed.contains("\"raw_metrics\"") || trimmed.contains("\"goose_version\"") {
            return Ok(InputKind::GooseReport);
        }
        if first_line.contains("\"scenario_index\"") {
            return Ok(InputKind::GooseRequestLogJson);
        }
        if trimmed.contains("\"resultType\"") {
            return Ok(InputKind::Resources);
        }
        return Err(Error::parse(
            path,
            Some(1),
            None,
            "a JSON object that is neither a Goose report (no `raw_metrics`) nor a Goose request log (no `elapsed`)",
        ));
    }
    if first_line.starts_with(crate::digest::MAGIC) {
        return Ok(InputKind::Digest);
    }
    let lower = first_line.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return Ok(InputKind::HtmlReport);
    }
    if first_line.starts_with('#')
        && !first_line.starts_with("# Elapsed")
        && !first_line.starts_with("# Time")
        || first_line.starts_with('|')
    {
        return Ok(InputKind::GooseMarkdown);
    }
    let header: Vec<&str> = first_line.split(',').map(|h| h.trim_matches('"')).collect();
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    if has("Timestamp") && has("User Count") {
        return Ok(InputKind::LocustHistory);
    }
    if (has("Request Count") || has("# requests")) && has("Name") {
        return Ok(InputKind::LocustStats);
    }
    if has("Method") && has("Error") && has("Occurrences") {
        return Ok(InputKind::LocustFailures);
    }
    if has("Count") && has("Message") && has("Traceback") {
        return Ok(InputKind::LocustExceptions);
    }
    if has("elapsed") && (has("response_time") || has("response_time_us")) && has("status_code") {
        return Ok(InputKind::GooseRequestLogCsv);
    }
    if resources::looks_like_resources(text) {
        return Ok(InputKind::Resources);
    }
    Err(Error::parse(
        path,
        Some(1),
        None,
        format!(
            "unrecognised {}; expected a Locust stats CSV (Type,Name,Request Count,...), a Locust JSON, a Goose report.json or a Goose request log",
            describe_header(first_line)
        ),
    ))
}

/// File names and prefixes that say nothing about the run (`locust --csv
/// run`, `--json-file results`): its label is then taken from its folder.
pub(crate) const GENERIC_NAMES: &[&str] = &[
    "run", "results", "stats", "test", "locust", "report", "out", "output",
];

/// A run's label from its file: the run folder when the file has one of the
/// tool's generic names (`report.json`, `requests.csv`) or a generic prefix
/// ([`GENERIC_NAMES`]), else the file stem.
pub(crate) fn label_from(path: &Path, generic: &[&str]) -> String {
    let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let stem = file.split('.').next().unwrap_or(file);
    folder_if_generic(path, stem, generic)
}

/// `name` (a file's stem or prefix), or the name of the file's folder when
/// `name` is generic: one of `generic` or of [`GENERIC_NAMES`].
pub(crate) fn folder_if_generic(path: &Path, name: &str, generic: &[&str]) -> String {
    let is_generic = generic
        .iter()
        .chain(GENERIC_NAMES)
        .any(|g| g.eq_ignore_ascii_case(name));
    if !is_generic {
        return name.to_string();
    }
    // a bare `run_stats.csv` lies in the current folder, which has a name
    let folder = |p: &Path| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|d| d.to_str())
            .map(str::to_string)
    };
    folder(path)
        .or_else(|| std::fs::canonicalize(path).ok().and_then(|p| folder(&p)))
        .unwrap_or_else(|| name.to_string())
}

/// The first line of an unrecognised file, for an error message: quoted
/// when it looks like a CSV header (short, plain column names), otherwise
/// only described, so that pointing perfreport at an arbitrary file (a
/// password file, a key) never prints its contents.
pub(crate) fn describe_header(line: &str) -> String {
    let fields: Vec<&str> = line
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect();
    let plain = |f: &str| {
        !f.is_empty()
            && f.chars().count() <= 40
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _-#%/().".contains(c))
    };
    if fields.len() >= 2 && fields.iter().all(|f| plain(f)) {
        format!("header `{}`", truncate(line, 120))
    } else {
        format!(
            "first line ({} characters, {} comma-separated field(s)), which is not a CSV header of a supported file",
            line.chars().count(),
            fields.len()
        )
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

/// Explain why a file of this kind cannot be used as `--stats`.
fn not_a_stats_file(path: &Path, kind: InputKind) -> Error {
    let msg = match kind {
        InputKind::LocustFailures => {
            "this is a Locust failures file (Method,Name,Error,Occurrences), not a stats file; pass PREFIX_stats.csv (its failures file is found beside it)"
        }
        InputKind::LocustExceptions => {
            "this is a Locust exceptions file (Count,Message,Traceback,Nodes), not a stats file; pass PREFIX_stats.csv"
        }
        InputKind::LocustHistory => {
            "this is a Locust stats history file, not a stats file; pass PREFIX_stats.csv (the history beside it is read too)"
        }
        InputKind::GooseMarkdown => {
            "this looks like a Markdown report, which perfreport cannot read numbers from; pass Goose's report.json (--report-file report.json)"
        }
        InputKind::HtmlReport => {
            "this is an HTML report; pass Locust's PREFIX_stats.csv or --json-file output, or Goose's report.json"
        }
        InputKind::Resources => {
            "this is a resource-sample file; pass it with --resources, not --stats"
        }
        _ => "not a stats file",
    };
    Error::wrong_kind(path, msg)
}

/// Locust writes the stats CSV every second and the JSON at shutdown, so the
/// JSON counts at least what the CSV does, per request: a CSV ahead of its
/// JSON is another run's file.
fn check_csv_not_ahead_of_json(
    csv_path: &Path,
    csv: &Run,
    json_path: &Path,
    json: &Run,
) -> Result<()> {
    for e in &csv.endpoints {
        let later = json
            .endpoints
            .iter()
            .find(|j| j.kind == e.kind && j.name == e.name);
        let (requests, failures) = later.map_or((0, 0), |j| (j.requests, j.failures));
        if e.requests > requests || e.failures > failures {
            return Err(Error::parse(
                csv_path,
                None,
                None,
                format!(
                    "`{} {}` has {} requests / {} failures here but {requests} / {failures} in {}, which Locust writes later, at shutdown: the CSV and the JSON are not from the same run",
                    e.kind,
                    e.name,
                    e.requests,
                    e.failures,
                    json_path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Load one run from the `--stats` files given for it (Locust CSV and/or JSON,
/// Goose report and/or request log, perfreport digests). `label` overrides the
/// name taken from the file prefix.
///
/// The files of one load generator are one folder's (for Locust, one prefix's:
/// `PREFIX_stats.csv` with `PREFIX.json`). Several generators given together
/// are read one by one and merged exactly ([`merge`]); inputs that are clearly
/// different runs are refused.
pub fn load_run(paths: &[PathBuf], label: Option<&str>) -> Result<Run> {
    let groups = generator_groups(paths)?;
    if groups.len() == 1 {
        return load_generator(&groups[0], label);
    }
    let mut parts = Vec::with_capacity(groups.len());
    for group in &groups {
        let run = load_generator(group, None)?;
        let plan = plan_of(group, &run)?;
        parts.push(merge::Part {
            run,
            path: group[0].0.clone(),
            plan,
        });
    }
    let mut run = merge::merge(parts)?;
    if let Some(l) = label {
        run.label = l.to_string();
    }
    Ok(run)
}

/// The test plan of one generator's files, for [`merge::check_same_run`].
fn plan_of(group: &[(PathBuf, InputKind)], run: &Run) -> Result<merge::TestPlan> {
    let mut plan = merge::plan_of_run(run);
    for (path, kind) in group {
        match kind {
            InputKind::GooseRequestLogCsv | InputKind::GooseRequestLogJson => {
                let log = merge::goose_log_plan(path, *kind == InputKind::GooseRequestLogJson)?;
                if plan.scenarios.is_empty() {
                    plan.scenarios = log
                        .scenarios
                        .iter()
                        .map(|s| s.to_ascii_lowercase())
                        .collect();
                }
                plan.hosts.extend(log.hosts);
            }
            InputKind::Digest => {
                let d = crate::digest::plan_of(path)?;
                plan.scenarios.extend(d.scenarios);
                plan.hosts.extend(d.hosts);
            }
            _ => {}
        }
    }
    Ok(plan)
}

/// Group `--stats` files by load generator: a Goose generator is a folder, a
/// Locust generator a folder and prefix, a digest a file of its own. A group
/// with two files of one kind (two request logs in one folder) is split into
/// one generator per file.
fn generator_groups(paths: &[PathBuf]) -> Result<Vec<Vec<(PathBuf, InputKind)>>> {
    let mut files = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        let kind = detect(path)?;
        if let Some(kind) = match kind {
            InputKind::LocustStats
            | InputKind::LocustJson
            | InputKind::GooseReport
            | InputKind::GooseRequestLogCsv
            | InputKind::GooseRequestLogJson
            | InputKind::Digest => None,
            other => Some(other),
        } {
            return Err(not_a_stats_file(path, kind));
        }
        if let Some(first) = paths[..i].iter().find(|p| same_file(p, path)) {
            return Err(Error::Usage(format!(
                "{} and {} are the same file, given twice; each --stats input counts once",
                first.display(),
                path.display()
            )));
        }
        files.push((path.clone(), kind));
    }
    // At most one file of each kind is one generator, wherever the files are
    // (a CSV and the `--json-file` of one Locust run may have any names).
    let repeated = files
        .iter()
        .enumerate()
        .any(|(i, a)| files[i + 1..].iter().any(|b| same_kind(a.1, b.1)));
    if !repeated && !files.iter().any(|f| f.1 == InputKind::Digest) {
        return Ok(if files.is_empty() {
            Vec::new()
        } else {
            vec![files]
        });
    }
    let mut groups: Vec<(String, Vec<(PathBuf, InputKind)>)> = Vec::new();
    for (path, kind) in files {
        let dir = path
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        let stem = file.split('.').next().unwrap_or(file);
        let key = match kind {
            InputKind::LocustStats => {
                format!("L\0{dir}\0{}", stem.strip_suffix("_stats").unwrap_or(stem))
            }
            InputKind::LocustJson => format!("L\0{dir}\0{stem}"),
            InputKind::GooseReport
            | InputKind::GooseRequestLogCsv
            | InputKind::GooseRequestLogJson => format!("G\0{dir}"),
            InputKind::Digest => format!("D\0{}", path.display()),
            other => return Err(not_a_stats_file(&path, other)),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push((path.clone(), kind)),
            None => groups.push((key, vec![(path.clone(), kind)])),
        }
    }
    let mut out = Vec::new();
    for (_, g) in groups {
        let duplicated = g
            .iter()
            .enumerate()
            .any(|(i, a)| g[i + 1..].iter().any(|b| same_kind(a.1, b.1)));
        if duplicated {
            // one generator per file, only when all are of one kind
            if g.iter().any(|b| !same_kind(g[0].1, b.1)) {
                return Err(Error::Usage(format!(
                    "{}: several inputs of one kind beside inputs of another in one folder; give each load generator its own folder (or prefix), or one kind of file per generator",
                    g[0].0.display()
                )));
            }
            out.extend(g.into_iter().map(|f| vec![f]));
        } else {
            out.push(g);
        }
    }
    // A CSV alone in one group and a JSON alone in another could be the two
    // files of one generator: merging them would count its requests twice.
    let only = |k: InputKind| {
        out.iter()
            .find(|g: &&Vec<(PathBuf, InputKind)>| g.iter().all(|f| f.1 == k))
    };
    if let (Some(c), Some(j)) = (only(InputKind::LocustStats), only(InputKind::LocustJson)) {
        return Err(Error::Usage(format!(
            "{} and {}: several Locust generators, some with only a stats CSV and some with only a JSON; a CSV and a JSON of one generator must share a folder and prefix (PREFIX_stats.csv, PREFIX.json), else give one kind for every generator",
            c[0].0.display(),
            j[0].0.display()
        )));
    }
    if out.is_empty() {
        return Err(Error::Usage(
            "no --stats input given; pass a Locust PREFIX_stats.csv / JSON or a Goose report.json / request log".into(),
        ));
    }
    Ok(out)
}

/// Both request logs (CSV and JSON lines) count as one kind.
fn same_kind(a: InputKind, b: InputKind) -> bool {
    let log = |k| {
        matches!(
            k,
            InputKind::GooseRequestLogCsv | InputKind::GooseRequestLogJson
        )
    };
    a == b || log(a) && log(b)
}

/// True when two paths name one file (hard links, `./x` and `x`).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Load the run of one load generator from its files.
fn load_generator(files: &[(PathBuf, InputKind)], label: Option<&str>) -> Result<Run> {
    let mut locust_csv = None;
    let mut locust_json = None;
    let mut goose_report = None;
    let mut goose_log = None;
    for (path, kind) in files {
        if *kind == InputKind::Digest {
            let mut run = crate::digest::read(path)?;
            if let Some(l) = label {
                run.label = l.to_string();
            }
            return Ok(run);
        }
        let slot = match kind {
            InputKind::LocustStats => &mut locust_csv,
            InputKind::LocustJson => &mut locust_json,
            InputKind::GooseReport => &mut goose_report,
            _ => &mut goose_log,
        };
        *slot = Some((path.clone(), *kind));
    }
    let locust = locust_csv.is_some() || locust_json.is_some();
    let goose = goose_report.is_some() || goose_log.is_some();
    if locust && goose {
        return Err(Error::Usage(
            "Locust and Goose inputs were given for one run; pass one tool's output per run".into(),
        ));
    }
    let mut run = if locust {
        let csv_run = locust_csv
            .as_ref()
            .map(|(p, _)| locust_csv::read(p))
            .transpose()?;
        let json_run = locust_json
            .as_ref()
            .map(|(p, _)| locust_json::read(p))
            .transpose()?;
        match (csv_run, json_run) {
            (Some(c), Some(j)) => {
                let csv_path = &locust_csv.as_ref().expect("read above").0;
                let json_path = &locust_json.as_ref().expect("read above").0;
                check_csv_not_ahead_of_json(csv_path, &c, json_path, &j)?;
                locust_json::combine(c, j)
            }
            (Some(c), None) => c,
            (None, Some(j)) => j,
            (None, None) => unreachable!("locust is true"),
        }
    } else if goose {
        let report = goose_report
            .as_ref()
            .map(|(p, _)| goose_json::read(p))
            .transpose()?;
        let log = goose_log
            .as_ref()
            .map(|(p, k)| goose_log::read(p, *k == InputKind::GooseRequestLogJson))
            .transpose()?;
        match (report, log) {
            (Some(r), Some(l)) => goose_log::combine(r, l)?,
            (Some(r), None) => r,
            (None, Some(l)) => l,
            (None, None) => unreachable!("goose is true"),
        }
    } else {
        return Err(Error::Usage(
            "no --stats input given; pass a Locust PREFIX_stats.csv / JSON or a Goose report.json / request log".into(),
        ));
    };
    if let Some(l) = label {
        run.label = l.to_string();
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500k"), Ok(500 << 10));
        assert_eq!(parse_size("1tb"), Ok(1 << 40));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(show_size(64 << 20), "64M");
        assert_eq!(show_size(1000), "1000");
    }

    #[test]
    fn a_gzip_that_inflates_past_the_limit_is_refused_and_one_within_is_read() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        enc.write_all(&vec![b' '; 3000]).unwrap();
        enc.finish().unwrap();
        let err = read_within(&p, 2999).unwrap_err().to_string();
        let ok = read_within(&p, 3000).map(|b| b.len());
        assert!(err.contains("once decompressed"), "{err}");
        assert!(err.contains("--max-input-size"), "{err}");
        assert_eq!(ok.unwrap(), 3000);
    }
}

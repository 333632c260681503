//! `perfreport fill`: the team's own report document, with its placeholders
//! (`TBD`, `To be measured`, `[To be added after testing]` ...) replaced by the
//! figures they stand for, and every other byte left as it was.
//!
//! The figures come from the same report model the built-in template renders
//! ([`crate::report::ReportModel::context`]); nothing is derived twice. The document is
//! parsed with pulldown-cmark only to learn where headings, code blocks and
//! tables are; edits are splices at source offsets, never a re-serialisation.

use super::escape_markdown_string;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

/// A placeholder `fill` left as it was, because its context names no figure it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Headings above it, outermost first, joined with ` > `.
    pub heading_path: String,
    /// The placeholder as written.
    pub text: String,
}

/// A filled document and what could not be filled.
#[derive(Debug, Clone)]
pub struct Filled {
    /// The document with its placeholders replaced.
    pub text: String,
    /// How many placeholders were replaced.
    pub filled: usize,
    /// Placeholders left as they were.
    pub unresolved: Vec<Unresolved>,
    /// Mismatches between the document and the data (scenario sections).
    pub warnings: Vec<String>,
    /// How a reworded scenario heading was matched (by position); not a mismatch.
    pub notes: Vec<String>,
}

/// The placeholder forms of the reference report. The unit written after a
/// `TBD` belongs to the placeholder, so the figure can be given in that unit.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\[To be [^\]\n]*\]|To be measured|Not implemented yet|TBD(?: ?(?:MB/s|req/s|ms|MB|%))?",
    )
    .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
});

static FIGURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<n>-?[0-9][0-9,]*(?:\.[0-9]+)?) ?(?P<u>MB/s|req/s|ms|MiB|GiB|KiB|MB|GB|kB|%|s|B)(?P<rest>(?:[^A-Za-z/].*)?)$")
        .unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"))
});

/// A filled table cell: line, column, the placeholder's span and its new text.
type CellFill = (usize, usize, Range<usize>, String);

struct Heading {
    start: usize,
    level: usize,
    text: String,
}

/// A table as source lines split at their unescaped pipes.
struct Table {
    /// Each line: its byte range (without the line ending) and the byte
    /// ranges of its cells (between pipes, padding included).
    lines: Vec<(Range<usize>, Vec<Range<usize>>)>,
}

impl Table {
    fn parse(doc: &str, range: &Range<usize>) -> Option<Table> {
        let start = doc[..range.start].rfind('\n').map_or(0, |i| i + 1);
        let mut lines = Vec::new();
        let mut at = start;
        while at < range.end.min(doc.len()) {
            let end = doc[at..].find('\n').map_or(doc.len(), |i| at + i);
            let content_end = if end > at && doc.as_bytes()[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let line = &doc[at..content_end];
            if !line.trim().is_empty() {
                let trimmed = line.trim();
                // only pipe-delimited rows are re-padded; others are spliced as they are
                if !(trimmed.starts_with('|') && trimmed.ends_with('|') && trimmed.len() > 1) {
                    return None;
                }
                let mut pipes = Vec::new();
                let bytes = line.as_bytes();
                for (i, b) in bytes.iter().enumerate() {
                    if *b == b'|' && (i == 0 || bytes[i - 1] != b'\\') {
                        pipes.push(at + i);
                    }
                }
                let cells = pipes.windows(2).map(|w| w[0] + 1..w[1]).collect();
                lines.push((at..content_end, cells));
            }
            at = end + 1;
        }
        Some(Table { lines })
    }

    /// (line, column) of a byte offset.
    fn locate(&self, offset: usize) -> Option<(usize, usize)> {
        self.lines.iter().enumerate().find_map(|(li, (_, cells))| {
            cells
                .iter()
                .position(|c| c.contains(&offset))
                .map(|ci| (li, ci))
        })
    }

    /// A cell's text, its escaped pipes unescaped (a row label compares with data as written).
    fn cell_text(&self, doc: &str, line: usize, col: usize) -> String {
        self.lines
            .get(line)
            .and_then(|(_, cells)| cells.get(col))
            .map_or(String::new(), |r| doc[r.clone()].trim().replace("\\|", "|"))
    }
}

/// Where a placeholder stands.
struct Place<'a> {
    token: &'a str,
    /// The unit written after `TBD` (` ms`, `%`), empty when none.
    unit: &'a str,
    h2: String,
    h3: String,
    /// Index of the h3 heading (for counting placeholders within a section).
    h3_index: Option<usize>,
    /// The label before the placeholder on its line, lowercased.
    label: String,
    /// The nearest `**Bold**` label at or above its line in its section, lowercased.
    sub_label: String,
    in_code: bool,
    eol: &'static str,
    /// Table: column header and the row's cells.
    cell: Option<(Vec<String>, Vec<String>, usize)>,
}

enum Fill {
    /// One figure or sentence (fitted to the written unit).
    Figure(String),
    /// Several lines: a bullet list (one line: the line alone).
    Lines(Vec<String>),
    /// Markdown already escaped, lines joined by `\n`.
    Markdown(String),
}

fn value_of(ctx: &tera::Context, key: &str) -> Value {
    ctx.get(key)
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(Value::Null)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default()
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Fill `doc`'s placeholders from a report context (see [`crate::report::ReportModel::context`]).
pub fn fill_document(doc: &str, ctx: &tera::Context) -> Filled {
    let mut headings: Vec<Heading> = Vec::new();
    let mut code_blocks: Vec<Range<usize>> = Vec::new();
    let mut table_ranges: Vec<Range<usize>> = Vec::new();
    let mut current: Option<Heading> = None;
    for (event, range) in Parser::new_ext(doc, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some(Heading {
                    start: range.start,
                    level: level as usize,
                    text: String::new(),
                })
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(current.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = current.as_mut() {
                    h.text.push_str(&t);
                }
            }
            Event::Start(Tag::CodeBlock(_)) => code_blocks.push(range),
            Event::Start(Tag::Table(_)) => table_ranges.push(range),
            _ => {}
        }
    }
    let tables: Vec<(Range<usize>, Option<Table>)> = table_ranges
        .iter()
        .map(|r| (r.clone(), Table::parse(doc, r)))
        .collect();

    let filler = Filler::new(ctx, &headings);
    let mut warnings = filler.scenario_warnings.clone();
    warnings.sort();
    warnings.dedup();

    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    // table -> (line, column, span, new text)
    let mut table_fills: HashMap<usize, Vec<CellFill>> = HashMap::new();
    let mut unresolved = Vec::new();
    let mut filled = 0;
    let mut ordinals: HashMap<(Option<usize>, String), usize> = HashMap::new();
    // the document's last key-finding slot takes the findings it has no slot for
    let mut last_finding: Option<(usize, usize, &str, usize)> = None;

    for m in PLACEHOLDER.find_iter(doc) {
        let span = m.range();
        let token_end = ["TBD", "To be measured", "Not implemented yet"]
            .iter()
            .find(|t| m.as_str().starts_with(**t))
            .map_or(m.as_str().len(), |t| t.len());
        let line_start = doc[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = doc[span.start..]
            .find('\n')
            .map_or(doc.len(), |i| span.start + i);
        let eol = if doc[..line_end].ends_with('\r') {
            "\r\n"
        } else {
            "\n"
        };
        // heading path
        let mut stack: Vec<(usize, usize)> = Vec::new(); // (level, index)
        for (i, h) in headings.iter().enumerate() {
            if h.start > span.start {
                break;
            }
            while stack.last().is_some_and(|(l, _)| *l >= h.level) {
                stack.pop();
            }
            stack.push((h.level, i));
        }
        let heading_at = |level: usize| stack.iter().find(|(l, _)| *l == level).map(|(_, i)| *i);
        let h2 = heading_at(2).map_or(String::new(), |i| headings[i].text.to_lowercase());
        let h3_index = heading_at(3);
        let h3 = h3_index.map_or(String::new(), |i| headings[i].text.to_lowercase());
        let section_start = stack.last().map_or(0, |(_, i)| headings[*i].start);
        let label = line_label(&doc[line_start..span.start]);
        let sub_label = sub_label(&doc[section_start.min(line_start)..line_end]);
        let table = tables.iter().position(|(r, _)| r.contains(&span.start));
        let cell = table.and_then(|t| {
            let tb = tables[t].1.as_ref()?;
            let (li, ci) = tb.locate(span.start)?;
            let headers: Vec<String> = (0..tb.lines[0].1.len())
                .map(|c| tb.cell_text(doc, 0, c))
                .collect();
            let row: Vec<String> = (0..tb.lines[li].1.len())
                .map(|c| tb.cell_text(doc, li, c))
                .collect();
            Some((headers, row, ci))
        });
        let token = &m.as_str()[..token_end];
        if token == "Not implemented yet"
            && !cell.as_ref().is_some_and(|(h, _, c)| {
                h.get(*c).is_some_and(|h| h.eq_ignore_ascii_case("status"))
            })
        {
            // only a Status cell's "Not implemented yet" stands for a figure
            continue;
        }
        let place = Place {
            token,
            unit: &m.as_str()[token_end..],
            h2,
            h3,
            h3_index,
            label,
            sub_label,
            in_code: code_blocks.iter().any(|r| r.contains(&span.start)),
            eol,
            cell,
        };
        let ordinal = {
            let n = ordinals
                .entry((place.h3_index, place.sub_label.clone() + place.token))
                .or_insert(0);
            *n += 1;
            *n - 1
        };
        let Some(fill) = filler.resolve(&place, ordinal) else {
            let path: Vec<&str> = stack
                .iter()
                .map(|(_, i)| headings[*i].text.as_str())
                .collect();
            unresolved.push(Unresolved {
                line: doc[..span.start].matches('\n').count() + 1,
                column: doc[line_start..span.start].chars().count() + 1,
                heading_path: path.join(" > "),
                text: m.as_str().to_string(),
            });
            continue;
        };
        let new = render_fill(fill, &place);
        filled += 1;
        if is_key_finding(&place) {
            last_finding = Some((edits.len(), ordinal, place.eol, line_start));
        }
        match (table, place.cell.as_ref()) {
            (Some(t), Some(_)) if tables[t].1.is_some() => {
                let tb = tables[t].1.as_ref().map(|tb| tb.locate(span.start));
                if let Some(Some((li, ci))) = tb {
                    table_fills.entry(t).or_default().push((li, ci, span, new));
                }
            }
            _ => edits.push((span, new)),
        }
    }
    if let Some((index, ordinal, eol, line_start)) = last_finding
        && let Some((_, text)) = edits.get_mut(index)
    {
        let line = &doc[line_start..];
        for (k, finding) in filler.key_findings.iter().enumerate().skip(ordinal + 1) {
            text.push_str(eol);
            text.push_str(&next_marker(line, k - ordinal));
            text.push_str(&escape_markdown_string(finding));
        }
    }
    for (t, fills) in table_fills {
        if let Some(tb) = &tables[t].1 {
            edits.extend(repad(doc, tb, &fills));
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(doc.len() + 4096);
    let mut at = 0;
    for (r, new) in edits {
        if r.start < at {
            continue;
        }
        out.push_str(&doc[at..r.start]);
        out.push_str(&new);
        at = r.end;
    }
    out.push_str(&doc[at..]);
    Filled {
        text: out,
        filled,
        unresolved,
        warnings,
        notes: filler.scenario_notes.clone(),
    }
}

/// The label a placeholder's line gives it: `95th Percentile` in
/// `95th Percentile: TBD ms`, `2 instances` in `- 2 instances: TBD req/s`.
fn line_label(before: &str) -> String {
    let mut s = before.trim_start();
    for prefix in ["- [ ] ", "- ", "* ", "+ "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
            break;
        }
    }
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && s[digits..].starts_with(". ") {
        s = &s[digits + 2..];
    }
    s.replace("**", "")
        .trim()
        .trim_end_matches(':')
        .trim()
        .to_lowercase()
}

/// The nearest `**Label**` line at or above the end of `section`.
fn sub_label(section: &str) -> String {
    section
        .lines()
        .rev()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix("**")?;
            let end = rest.find("**")?;
            Some(rest[..end].trim().trim_end_matches(':').to_lowercase())
        })
        .unwrap_or_default()
}

fn render_fill(fill: Fill, place: &Place) -> String {
    let esc = |s: &str| {
        // one line, always: a value must not end a code block or a table row
        let one = s.replace(['\r', '\n'], " ");
        if place.in_code {
            one
        } else {
            escape_markdown_string(&one)
        }
    };
    match fill {
        Fill::Figure(v) => esc(&fit_unit(&v, place.unit)),
        Fill::Lines(lines) => match lines.as_slice() {
            [] => esc("nothing to report from the data"),
            [one] => esc(one),
            _ => lines
                .iter()
                .map(|l| format!("- {}", esc(l)))
                .collect::<Vec<_>>()
                .join(place.eol),
        },
        Fill::Markdown(md) => md.replace('\n', place.eol),
    }
}

/// A figure in the unit the document wrote after `TBD`: `47.3 MiB (mean of
/// 30 samples)` for `TBD MB` is `49.6 MB = 47.3 MiB (mean of 30 samples)`.
/// Text that is not a figure (`not sampled (...)`) replaces the unit too.
pub fn fit_unit(value: &str, unit_written: &str) -> String {
    let unit = unit_written.trim();
    if unit.is_empty() {
        return value.to_string();
    }
    let Some(c) = FIGURE.captures(value) else {
        return value.to_string();
    };
    let (n, u, rest) = (&c["n"], &c["u"], &c["rest"]);
    if u == unit {
        return format!("{n}{unit_written}{rest}");
    }
    let Ok(x) = n.replace(',', "").parse::<f64>() else {
        return value.to_string();
    };
    let factor = match (unit, u) {
        ("ms", "s") => 1000.0,
        ("MB", "MiB") => 1.048_576,
        ("MB", "GiB") => 1_073.741_824,
        ("MB", "KiB") => 0.001_024,
        ("MB", "GB") => 1000.0,
        ("MB", "kB") => 0.001,
        ("MB", "B") => 0.000_001,
        _ => return value.to_string(),
    };
    let y = x * factor;
    let shown = if unit == "ms" || y >= 100.0 {
        format!("{y:.0}")
    } else if y >= 10.0 {
        format!("{y:.1}")
    } else {
        format!("{y:.2}")
    };
    format!("{shown}{unit_written} = {value}")
}

/// Edits re-writing the table rows a fill changed, widening a column (in every
/// row, delimiter included) only where a filled value is wider than it.
fn repad(doc: &str, tb: &Table, fills: &[CellFill]) -> Vec<(Range<usize>, String)> {
    let columns = tb.lines.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let width = |r: &Range<usize>| doc[r.clone()].chars().count();
    let mut old_w = vec![0usize; columns];
    for (_, cells) in &tb.lines {
        for (c, r) in cells.iter().enumerate() {
            old_w[c] = old_w[c].max(width(r));
        }
    }
    // new text of each filled cell
    let mut new_cells: HashMap<(usize, usize), String> = HashMap::new();
    // last first, so that an earlier span's offsets in the same cell still hold
    for (li, ci, span, new) in fills.iter().rev() {
        let cell = &tb.lines[*li].1[*ci];
        let entry = new_cells
            .entry((*li, *ci))
            .or_insert_with(|| doc[cell.clone()].to_string());
        entry.replace_range(span.start - cell.start..span.end - cell.start, new);
    }
    let mut new_w = old_w.clone();
    let mut padded: HashMap<(usize, usize), String> = HashMap::new();
    for ((li, ci), seg) in &new_cells {
        let lead: String = seg.chars().take_while(|c| *c == ' ').collect();
        let content = seg.trim();
        let mut s = format!("{lead}{content} ");
        let w = s.chars().count();
        new_w[*ci] = new_w[*ci].max(w);
        let orig = width(&tb.lines[*li].1[*ci]);
        if w < orig {
            s.push_str(&" ".repeat(orig - w));
        }
        padded.insert((*li, *ci), s);
    }
    let mut edits = Vec::new();
    for (li, (line, cells)) in tb.lines.iter().enumerate() {
        let widened = cells.iter().enumerate().any(|(c, _)| new_w[c] > old_w[c]);
        let touched = cells
            .iter()
            .enumerate()
            .any(|(c, _)| padded.contains_key(&(li, c)));
        if !widened && !touched {
            continue;
        }
        let mut out = String::new();
        let mut at = line.start;
        for (c, r) in cells.iter().enumerate() {
            out.push_str(&doc[at..r.start]);
            let extra = new_w[c] - old_w[c];
            let seg = match padded.get(&(li, c)) {
                Some(s) => {
                    let w = s.chars().count();
                    let target = width(r) + extra;
                    if w < target {
                        format!("{s}{}", " ".repeat(target - w))
                    } else {
                        s.clone()
                    }
                }
                None => {
                    let seg = &doc[r.clone()];
                    let is_delim = !seg.trim().is_empty()
                        && seg.trim().chars().all(|ch| ch == '-' || ch == ':');
                    match seg.rfind('-') {
                        Some(i) if is_delim && extra > 0 => {
                            format!("{}{}{}", &seg[..=i], "-".repeat(extra), &seg[i + 1..])
                        }
                        _ => format!("{seg}{}", " ".repeat(extra)),
                    }
                }
            };
            out.push_str(&seg);
            at = r.end;
        }
        out.push_str(&doc[at..line.end]);
        edits.push((line.clone(), out));
    }
    edits
}

struct Filler {
    scenarios: Vec<Value>,
    /// h3 heading index -> scenario index.
    scenario_of: HashMap<usize, usize>,
    scenario_warnings: Vec<String>,
    scenario_notes: Vec<String>,
    targets: Vec<Value>,
    achievement: Vec<Value>,
    error_rows: Vec<Value>,
    error_patterns: Vec<String>,
    db_findings: Vec<String>,
    mcp_findings: Vec<String>,
    api_tables: Vec<Value>,
    api_evidence: Vec<String>,
    res: Value,
    resources_missing: String,
    max_throughput: String,
    max_users: String,
    instances: Vec<Value>,
    cores: Vec<Value>,
    comparison: bool,
    comparison_missing: String,
    baseline_label: String,
    after_label: String,
    baseline_lines: Vec<String>,
    after_lines: Vec<String>,
    key_findings: Vec<String>,
}

impl Filler {
    fn new(ctx: &tera::Context, headings: &[Heading]) -> Filler {
        let scenarios = value_of(ctx, "scenarios")
            .as_array()
            .cloned()
            .unwrap_or_default();
        // the document's scenario sections: the h3s under an h2 about scenarios
        let mut sections = Vec::new();
        let mut in_scenarios = false;
        for (i, h) in headings.iter().enumerate() {
            match h.level {
                1 | 2 => in_scenarios = h.text.to_lowercase().contains("scenario"),
                3 if in_scenarios => sections.push(i),
                _ => {}
            }
        }
        let titles: Vec<String> = scenarios.iter().map(|s| text(&s["title"])).collect();
        let heading_name = |i: usize| {
            let t = headings[i].text.trim();
            // `Scenario 2: Content Request Load` names `Content Request Load`
            match t.split_once(':') {
                Some((head, rest)) if head.to_lowercase().starts_with("scenario") => {
                    rest.trim().to_string()
                }
                _ => t.to_string(),
            }
        };
        let mut scenario_of = HashMap::new();
        let mut taken = vec![false; titles.len()];
        for &h in &sections {
            let name = norm(&heading_name(h));
            if let Some(s) = titles.iter().position(|t| norm(t) == name)
                && !taken[s]
            {
                taken[s] = true;
                scenario_of.insert(h, s);
            }
        }
        // reworded headings take the remaining scenarios in order
        for &h in &sections {
            if scenario_of.contains_key(&h) {
                continue;
            }
            if let Some(s) = taken.iter().position(|t| !t) {
                taken[s] = true;
                scenario_of.insert(h, s);
            }
        }
        let mut scenario_warnings = Vec::new();
        if sections.len() != titles.len() {
            scenario_warnings.push(format!(
                "the document has {} scenario section(s), the config {} scenario(s)",
                sections.len(),
                titles.len()
            ));
        }
        for &h in &sections {
            if !scenario_of.contains_key(&h) {
                scenario_warnings.push(format!(
                    "section \"{}\" has no scenario in the config: its placeholders stay",
                    headings[h].text
                ));
            }
        }
        for (s, t) in titles.iter().enumerate() {
            if !taken[s] {
                scenario_warnings.push(format!(
                    "config scenario \"{t}\" has no section in the document: its figures are not in it"
                ));
            }
        }
        let mut scenario_notes = Vec::new();
        for &h in &sections {
            if let Some(&s) = scenario_of.get(&h)
                && norm(&heading_name(h)) != norm(&titles[s])
            {
                scenario_notes.push(format!(
                    "section \"{}\" filled from config scenario \"{}\" (by position: no section has its name)",
                    headings[h].text, titles[s]
                ));
            }
        }
        let arr = |k: &str| value_of(ctx, k).as_array().cloned().unwrap_or_default();
        Filler {
            scenarios,
            scenario_of,
            scenario_warnings,
            scenario_notes,
            targets: arr("targets"),
            achievement: arr("achievement"),
            error_rows: arr("error_rows"),
            error_patterns: strings(&value_of(ctx, "error_patterns")),
            db_findings: strings(&value_of(ctx, "db_findings")),
            mcp_findings: strings(&value_of(ctx, "mcp_findings")),
            api_tables: arr("api_tables"),
            api_evidence: strings(&value_of(ctx, "api_evidence")),
            res: value_of(ctx, "res"),
            resources_missing: text(&value_of(ctx, "resources_missing")),
            max_throughput: text(&value_of(ctx, "max_throughput")),
            max_users: text(&value_of(ctx, "max_users")),
            instances: arr("instances_points"),
            cores: arr("cores_points"),
            comparison: value_of(ctx, "comparison").as_bool().unwrap_or(false),
            comparison_missing: text(&value_of(ctx, "comparison_missing")),
            baseline_label: text(&value_of(ctx, "baseline_label")),
            after_label: text(&value_of(ctx, "after_label")),
            baseline_lines: strings(&value_of(ctx, "baseline_lines")),
            after_lines: strings(&value_of(ctx, "after_lines")),
            key_findings: strings(&value_of(ctx, "key_findings")),
        }
    }

    fn resolve(&self, p: &Place, ordinal: usize) -> Option<Fill> {
        if let Some((headers, row, col)) = &p.cell {
            return self.resolve_cell(headers, row, *col);
        }
        let bracket = p.token.starts_with('[');
        let fig = |s: String| Some(Fill::Figure(s));
        if p.h2.contains("scenario") {
            let s = &self.scenarios[*self.scenario_of.get(&p.h3_index?)?];
            if bracket && p.sub_label.contains("analysis") {
                return Some(Fill::Lines(strings(&s["analysis"])));
            }
            if bracket && p.in_code && p.label.is_empty() {
                return fig(format!("From: {}", text(&s["run_sources"])));
            }
            return lookup(&strings(&s["actual"]), &p.label).map(Fill::Figure);
        }
        if p.h2.contains("bottleneck") && p.sub_label.contains("finding") {
            if p.h3.contains("database") {
                return Some(Fill::Lines(self.db_findings.clone()));
            }
            if p.h3.contains("mcp") || p.h3.contains("orchestrator") {
                return Some(Fill::Lines(self.mcp_findings.clone()));
            }
            if p.h3.contains("api") {
                return Some(Fill::Markdown(self.api_markdown()));
            }
            return None;
        }
        if p.h2.contains("resource") {
            return self.resolve_resource(p, bracket);
        }
        if p.h2.contains("error") && p.h3.contains("pattern") && bracket {
            return Some(Fill::Lines(self.error_patterns.clone()));
        }
        if p.h2.contains("scalab") {
            return self.resolve_scaling(&p.label);
        }
        if p.h2.contains("before") || p.h2.contains("comparison") {
            if !self.comparison {
                return fig(self.comparison_missing.clone());
            }
            let (label, lines) = if p.h3.contains("after") {
                (&self.after_label, &self.after_lines)
            } else if p.h3.contains("baseline") || p.h3.contains("before") {
                (&self.baseline_label, &self.baseline_lines)
            } else {
                return None;
            };
            if bracket && p.label.is_empty() {
                return fig(format!("Run: {label}"));
            }
            return lookup(lines, &p.label).map(Fill::Figure);
        }
        if is_key_finding(p) {
            return fig(self.key_findings.get(ordinal).cloned().unwrap_or_else(|| {
                format!(
                    "(no further finding: the data gives {} key finding(s))",
                    self.key_findings.len()
                )
            }));
        }
        None
    }

    fn resolve_cell(&self, headers: &[String], row: &[String], col: usize) -> Option<Fill> {
        let lower: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
        let header = lower.get(col)?.as_str();
        let key = norm(row.first()?);
        let fig = |v: &Value| Some(Fill::Figure(text(v)));
        if lower.iter().any(|h| h == "metric") && header == "status" {
            let t = self
                .targets
                .iter()
                .find(|t| norm(&text(&t["metric"])) == key)?;
            return fig(&t["status"]);
        }
        if let Some(code_col) = lower.iter().position(|h| h == "status code") {
            let code = row.get(code_col)?.trim();
            let found = self.error_rows.iter().find(|r| text(&r["code"]) == code);
            return match (header, found) {
                ("count", Some(r)) => fig(&r["count"]),
                ("percentage", Some(r)) => fig(&r["percentage"]),
                // failures were read: a code among none of them occurred 0 times
                ("count", None) => Some(Fill::Figure("0".into())),
                ("percentage", None) => Some(Fill::Figure("0.00%".into())),
                _ => None,
            };
        }
        if lower.first().is_some_and(|h| h == "target") {
            let a = self
                .achievement
                .iter()
                .find(|a| norm(&text(&a["target"])) == key)?;
            return match header {
                "status" => fig(&a["status"]),
                "notes" => fig(&a["notes"]),
                _ => None,
            };
        }
        None
    }

    fn resolve_resource(&self, p: &Place, bracket: bool) -> Option<Fill> {
        let fig = |s: String| Some(Fill::Figure(s));
        let res = &self.res;
        if res.is_null() {
            return fig(self.resources_missing.clone());
        }
        let users: Option<String> = {
            let d: String = p.sub_label.chars().filter(char::is_ascii_digit).collect();
            (!d.is_empty()).then_some(d)
        };
        let level = users.as_ref().map(|u| {
            res["levels"]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| text(&l["users"]) == *u))
        });
        let not_at = |u: &str| {
            fig(format!(
                "not measured: needs resource samples of a run at {u} users (a [step] run or a scenario at that level)"
            ))
        };
        if p.h3.contains("memory") {
            if p.sub_label.contains("leak") {
                return fig(format!(
                    "{} {}",
                    text(&res["leak_sentence"]),
                    text(&res["leak_figures"])
                ));
            }
            if p.sub_label.contains("idle") {
                return match p.label.as_str() {
                    "" if bracket => fig(format!(
                        "{}; from {}",
                        text(&res["idle_definition"]),
                        text(&res["source"])
                    )),
                    "rss" => fig(text(&res["idle_rss"])),
                    "vms" => fig(text(&res["idle_vms"])),
                    _ => None,
                };
            }
            let (Some(u), Some(level)) = (users, level) else {
                return None;
            };
            let Some(l) = level else {
                return not_at(&u);
            };
            return match p.label.as_str() {
                "" if bracket => fig(format!(
                    "{u} users: RSS and VMS the mean of {} samples, Peak the largest RSS; from {}",
                    text(&l["samples"]),
                    text(&res["source"])
                )),
                "rss" => fig(text(&l["rss"])),
                "vms" => fig(text(&l["vms"])),
                "peak" => fig(text(&l["peak"])),
                _ => None,
            };
        }
        if p.h3.contains("cpu") {
            if p.sub_label.contains("bottleneck") {
                return fig(format!(
                    "{} {}",
                    text(&res["cpu_bottleneck"]),
                    text(&res["cpu_basis"])
                ));
            }
            if p.sub_label.contains("idle") {
                return fig(text(&res["cpu_idle"]));
            }
            let (Some(u), Some(level)) = (users, level) else {
                return None;
            };
            return match level {
                Some(l) => fig(text(&l["cpu"])),
                None => not_at(&u),
            };
        }
        if p.h3.contains("network") {
            let key = match p.label.as_str() {
                "request" => "request_bw",
                "response" => "response_bw",
                "total" => "total_bw",
                "active connections" => "active_connections",
                "idle connections" => "idle_connections",
                "max connections" => "max_connections",
                _ => return None,
            };
            return fig(text(&res[key]));
        }
        None
    }

    fn resolve_scaling(&self, label: &str) -> Option<Fill> {
        let fig = |s: String| Some(Fill::Figure(s));
        match label {
            "max throughput" => return fig(self.max_throughput.clone()),
            "max concurrent users" => return fig(self.max_users.clone()),
            "scaling efficiency" => {
                return fig(
                    match self.instances.iter().rev().find(|p| !p["efficiency"].is_null()) {
                        Some(p) => format!(
                            "{} ({} instances against 1, {})",
                            crate::format::fraction(p["efficiency"].as_f64()?),
                            text(&p["n"]),
                            text(&p["label"])
                        ),
                        None => "not measured: needs [[scalability]] runs with instances = 1 and instances = N".into(),
                    },
                );
            }
            _ => {}
        }
        let (n, rest) = label.split_once(' ')?;
        let n: u32 = n.parse().ok()?;
        let (points, key) = match rest {
            "instance" | "instances" => (&self.instances, "instances"),
            "cpu core" | "cpu cores" | "core" | "cores" => (&self.cores, "cores"),
            _ => return None,
        };
        match points.iter().find(|p| p["n"].as_u64() == Some(n as u64)) {
            Some(p) => fig(format!(
                "{} ({})",
                crate::format::rps(p["rps"].as_f64()?),
                text(&p["label"])
            )),
            None => fig(format!(
                "not measured: needs a [[scalability]] run with {key} = {n}"
            )),
        }
    }

    fn api_markdown(&self) -> String {
        let e = escape_markdown_string;
        let mut out = String::new();
        for t in &self.api_tables {
            let title = text(&t["title"]);
            if !title.is_empty() {
                out.push_str(&format!("\n{}:\n", e(&title)));
            }
            out.push_str("\n| Endpoint | Requests | Failures | p50 | p95 | p99 | RPS | Flags |\n| -------- | -------: | -------: | --: | --: | --: | --: | ----- |");
            for r in t["rows"].as_array().into_iter().flatten() {
                out.push('\n');
                out.push('|');
                for k in [
                    "endpoint", "requests", "failures", "p50", "p95", "p99", "rps", "flag",
                ] {
                    out.push_str(&format!(" {} |", e(&text(&r[k]))));
                }
            }
            out.push('\n');
        }
        if !self.api_evidence.is_empty() {
            out.push_str("\nEvidence from the data:\n");
            for l in &self.api_evidence {
                out.push_str(&format!("\n- {}", e(l)));
            }
        } else {
            out.pop();
        }
        out
    }
}

fn is_key_finding(p: &Place) -> bool {
    p.h2.contains("conclusion") && p.h3.contains("finding") && p.token.starts_with('[')
}

/// The list marker after `marker` (`3. ` -> `4. `, `- ` stays).
fn next_marker(line: &str, k: usize) -> String {
    let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
    let rest = line.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<usize>() {
        Ok(n) => format!("{indent}{}. ", n + k),
        Err(_) => format!("{indent}- "),
    }
}

/// The value of `Label: value` in `lines` whose label is `label`.
fn lookup(lines: &[String], label: &str) -> Option<String> {
    lines.iter().find_map(|l| {
        let (k, v) = l.split_once(": ")?;
        (k.trim().to_lowercase() == label).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_written_after_tbd_are_respected() {
        assert_eq!(fit_unit("380 ms", " ms"), "380 ms");
        assert_eq!(fit_unit("1.25 s", " ms"), "1250 ms = 1.25 s");
        // 46.0 MiB = 48.234496 MB
        assert_eq!(fit_unit("46.0 MiB", " MB"), "48.2 MB = 46.0 MiB");
        assert_eq!(
            fit_unit("0.10 % of the machine", "%"),
            "0.10% of the machine"
        );
        assert_eq!(
            fit_unit("not sampled (no counters)", " MB/s"),
            "not sampled (no counters)"
        );
        assert_eq!(fit_unit("3 (0.34 %)", ""), "3 (0.34 %)");
        // a unit it cannot convert to is not guessed
        assert_eq!(fit_unit("12 req/s", " ms"), "12 req/s");
    }

    fn ctx() -> tera::Context {
        let mut c = tera::Context::new();
        c.insert(
            "targets",
            &serde_json::json!([{"metric": "Latency | p95", "target": "< 1 s", "status": "Met (a|b)"}]),
        );
        c
    }

    #[test]
    fn a_wider_value_widens_its_column_in_every_row_only() {
        let doc = "# R\n\n| Metric         | Target | Status |\n| -------------- | :----: | ------ |\n| Latency \\| p95 | < 1 s  | TBD    |\n";
        let f = fill_document(doc, &ctx());
        assert!(f.unresolved.is_empty(), "{:?}", f.unresolved);
        assert_eq!(
            f.text,
            "# R\n\n| Metric         | Target | Status     |\n| -------------- | :----: | ---------- |\n| Latency \\| p95 | < 1 s  | Met (a\\|b) |\n"
        );
    }

    #[test]
    fn two_placeholders_in_one_cell_are_both_filled() {
        let mut c = tera::Context::new();
        c.insert(
            "error_rows",
            &serde_json::json!([{"label": "Not Found", "count": "7", "percentage": "1.50%", "code": "404"}]),
        );
        let doc = "| Error | Count | Status Code |\n| - | - | - |\n| x | TBD or TBD | 404 |\n";
        let f = fill_document(doc, &c);
        assert_eq!(
            f.text,
            "| Error | Count | Status Code |\n| - | - | - |\n| x | 7 or 7     | 404 |\n"
        );
    }

    #[test]
    fn a_narrower_value_keeps_the_row_width() {
        let doc = "| Metric | Status              |\n| ------ | ------------------- |\n| Latency \\| p95 | To be measured      |\n";
        let f = fill_document(doc, &ctx());
        assert_eq!(
            f.text,
            "| Metric | Status              |\n| ------ | ------------------- |\n| Latency \\| p95 | Met (a\\|b)          |\n"
        );
    }

    #[test]
    fn unknown_context_is_listed_with_line_column_and_path() {
        let doc = "# A\r\n\r\n## B\r\n\r\nWidgets: TBD\r\n";
        let f = fill_document(doc, &tera::Context::new());
        assert_eq!(f.text, doc);
        assert_eq!(
            f.unresolved,
            vec![Unresolved {
                line: 5,
                column: 10,
                heading_path: "A > B".into(),
                text: "TBD".into()
            }]
        );
    }
}

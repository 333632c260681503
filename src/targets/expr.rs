//! The target expression grammar.
//!
//! ```text
//! [warn:] METRIC [{SCOPE}] OP NUMBER [UNIT] [over DURATION | for DURATION]
//! ```
//!
//! `over 30s`: the criterion must hold in every 30 s window of the steady
//! phase; `for 30s`: the target fails only when it is breached continuously
//! for at least 30 s (a shorter breach is tolerated).
//!
//! Examples: `p95<300ms`, `p(99.99) < 2 s`, `error_rate{status:5xx}<0.5%`,
//! `p99{method:POST,name:~^/api/}<800ms`, `warn: p95<180ms`,
//! `p95<200ms over 30s`, `p95<200ms for 30s`, `rss_load<1GB`, `leak_slope<1MB/min`, `errors==0`.
//!
//! Limits are converted to one canonical unit per metric at parse time (see
//! [`Metric::unit_label`]): milliseconds for latencies, req/s for `rps`, a
//! fraction for `error_rate` (`1%` is `0.01`), bytes for RSS, percent for
//! `cpu_load` and bytes per minute for `leak_slope`.
//!
//! Every error is an [`Error::Target`] whose position is a 0-based character
//! (not byte) offset into the trimmed expression, which is also what the
//! error stores as `expr`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use crate::error::{Error, Result};

/// A parsed target expression such as `p95{name:/api/*}<300ms over 30s`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetExpr {
    /// The expression as given, trimmed.
    pub text: String,
    /// `warn:` prefix: a miss is a warning, not a failure.
    pub warn: bool,
    /// What is measured.
    pub metric: Metric,
    /// Which requests the metric is measured over; empty means all.
    pub scope: Scope,
    /// How the measured value is compared with the limit.
    pub op: Op,
    /// The limit, in the metric's canonical unit ([`Metric::unit_label`]).
    pub limit: f64,
    /// `over 30s`: the criterion must hold in every window of this many seconds.
    pub over_s: Option<f64>,
    /// `for 30s`: the target fails only when breached continuously for at
    /// least this many seconds.
    pub for_s: Option<f64>,
}

impl TargetExpr {
    /// Whether `other` constrains the same thing (metric, scope, window and
    /// tier), so that a `--target` given by the user can replace a default
    /// target. A `warn:` target only ever replaces a `warn:` target: `warn:
    /// p95<100ms` next to `p95<1s` is a second, stricter tier of the same
    /// metric, not a replacement for the hard limit.
    pub fn same_target(&self, other: &TargetExpr) -> bool {
        self.same_metric_and_scope(other)
            && self.over_s == other.over_s
            && self.for_s == other.for_s
    }

    /// Whether `other` measures the same metric over the same scope in the
    /// same tier, whatever its window or its kind of limit: a windowed (or
    /// relative) target given by the user replaces the default of the same
    /// metric and scope with this.
    pub fn same_metric_and_scope(&self, other: &TargetExpr) -> bool {
        self.metric == other.metric
            && self.scope.to_string() == other.scope.to_string()
            && self.warn == other.warn
    }
}

/// The measured quantity of a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency percentile, 0..=100 (`p95`, `p99.9`, `p(99.99)`, `median`).
    Percentile(f64),
    /// Mean latency.
    Avg,
    /// Minimum latency.
    Min,
    /// Maximum latency.
    Max,
    /// Throughput in requests per second.
    Rps,
    /// Failed requests as a fraction of all requests.
    ErrorRate,
    /// Number of failed requests.
    Errors,
    /// Resident memory of the server before load.
    RssIdle,
    /// Resident memory of the server under load.
    RssLoad,
    /// CPU use of the server under load, in percent.
    CpuLoad,
    /// Growth of resident memory under load, per minute.
    LeakSlope,
}

/// The named (non-percentile) metrics, as written in expressions.
const NAMED_METRICS: &[(&str, Metric)] = &[
    ("median", Metric::Percentile(50.0)),
    ("avg", Metric::Avg),
    ("min", Metric::Min),
    ("max", Metric::Max),
    ("rps", Metric::Rps),
    ("error_rate", Metric::ErrorRate),
    ("errors", Metric::Errors),
    ("rss_idle", Metric::RssIdle),
    ("rss_load", Metric::RssLoad),
    ("cpu_load", Metric::CpuLoad),
    ("leak_slope", Metric::LeakSlope),
];

/// Families of metrics that share units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Time,
    Rate,
    ErrorRate,
    Count,
    Bytes,
    Cpu,
    Slope,
}

impl Metric {
    /// The short name used in reports and JSON: `p95`, `p99.9`, `avg`, `rps`, `error_rate`, ...
    pub fn key(&self) -> String {
        match self {
            Metric::Percentile(p) => format!("p{p}"),
            Metric::Avg => "avg".into(),
            Metric::Min => "min".into(),
            Metric::Max => "max".into(),
            Metric::Rps => "rps".into(),
            Metric::ErrorRate => "error_rate".into(),
            Metric::Errors => "errors".into(),
            Metric::RssIdle => "rss_idle".into(),
            Metric::RssLoad => "rss_load".into(),
            Metric::CpuLoad => "cpu_load".into(),
            Metric::LeakSlope => "leak_slope".into(),
        }
    }

    /// The display unit: `ms`, `req/s`, `%` (error_rate is stored as a fraction,
    /// shown as a percentage), `""` for counts, `bytes`, `%`, `bytes/min`.
    pub fn unit_label(&self) -> &'static str {
        match self.family() {
            Family::Time => "ms",
            Family::Rate => "req/s",
            Family::ErrorRate => "%",
            Family::Count => "",
            Family::Bytes => "bytes",
            Family::Cpu => "%",
            Family::Slope => "bytes/min",
        }
    }

    fn family(&self) -> Family {
        match self {
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => Family::Time,
            Metric::Rps => Family::Rate,
            Metric::ErrorRate => Family::ErrorRate,
            Metric::Errors => Family::Count,
            Metric::RssIdle | Metric::RssLoad => Family::Bytes,
            Metric::CpuLoad => Family::Cpu,
            Metric::LeakSlope => Family::Slope,
        }
    }

    /// Whether the metric is measured on the server under test (resource
    /// samples: `rss_idle`, `rss_load`, `cpu_load`, `leak_slope`), not on requests.
    pub fn is_resource(&self) -> bool {
        matches!(self.family(), Family::Bytes | Family::Cpu | Family::Slope)
    }

    /// Whether an `over DURATION` window makes sense (request metrics only).
    fn allows_window(&self) -> bool {
        matches!(
            self.family(),
            Family::Time | Family::Rate | Family::ErrorRate | Family::Count
        )
    }
}

/// Which requests a target applies to; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// `name:` the request name, as a glob or a `~regex`.
    pub name: Option<NameMatch>,
    /// `type:` the request type (`GET`, `WS`, ...), compared case-insensitively.
    pub kind: Option<String>,
    /// `method:` the HTTP method, compared case-insensitively with the request type.
    pub method: Option<String>,
    /// `status:` a status code or class; checked by the caller.
    pub status: Option<StatusMatch>,
    /// `scenario:` a Goose scenario name; checked by the caller.
    pub scenario: Option<String>,
}

impl Scope {
    /// Whether no field is set, i.e. the scope covers every request.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.kind.is_none()
            && self.method.is_none()
            && self.status.is_none()
            && self.scenario.is_none()
    }

    /// Whether a request of this type and name is in scope. `type` and `method`
    /// are both compared case-insensitively with `kind` (Locust's "Type" column);
    /// `status` and `scenario` are not checked here.
    pub fn matches(&self, kind: &str, name: &str) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case(kind))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(kind))
            && self.name.as_ref().is_none_or(|n| n.matches(name))
    }
}

impl fmt::Display for Scope {
    /// `{name:/api/*,type:WS}` with fields in a fixed order, or nothing when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut fields = Vec::new();
        if let Some(n) = &self.name {
            let v = match n {
                NameMatch::Glob(g) => g.clone(),
                NameMatch::Regex(r) => format!("~{r}"),
            };
            fields.push(format!("name:{}", quote_if_needed(&v)));
        }
        if let Some(k) = &self.kind {
            fields.push(format!("type:{}", quote_if_needed(k)));
        }
        if let Some(m) = &self.method {
            fields.push(format!("method:{}", quote_if_needed(m)));
        }
        if let Some(s) = &self.status {
            fields.push(match s {
                StatusMatch::Code(c) => format!("status:{c}"),
                StatusMatch::Class(c) => format!("status:{c}xx"),
            });
        }
        if let Some(s) = &self.scenario {
            fields.push(format!("scenario:{}", quote_if_needed(s)));
        }
        if fields.is_empty() {
            Ok(())
        } else {
            write!(f, "{{{}}}", fields.join(","))
        }
    }
}

fn quote_if_needed(v: &str) -> String {
    let needs = v.is_empty()
        || v.contains([',', '}', '"', '\\'])
        || v.starts_with(char::is_whitespace)
        || v.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// How a request name is matched.
///
/// Globs use `*` (any run of characters, **including `/`**, so `/api/*` covers
/// `/api/v1/users` too) and `?` (one character), and must match the whole
/// name. A regex (`~` prefix in the expression, not stored here) is searched
/// anywhere in the name unless anchored with `^`/`$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameMatch {
    /// A glob over the whole name.
    Glob(String),
    /// A regular expression searched in the name.
    Regex(String),
}

/// A compiled [`NameMatch`]; patterns are validated at parse time.
enum Compiled {
    Glob(globset::GlobMatcher),
    Regex(regex::Regex),
    Invalid,
}

thread_local! {
    /// Compiled matchers by pattern, so that evaluating many endpoints against
    /// a target compiles its pattern once per thread.
    static MATCHERS: RefCell<HashMap<NameMatch, std::rc::Rc<Compiled>>> =
        RefCell::new(HashMap::new());
}

fn build_glob(pattern: &str) -> std::result::Result<globset::GlobMatcher, globset::Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
}

impl NameMatch {
    /// Whether a request name matches.
    pub fn matches(&self, name: &str) -> bool {
        let compiled = MATCHERS.with(|m| {
            m.borrow_mut()
                .entry(self.clone())
                .or_insert_with(|| {
                    std::rc::Rc::new(match self {
                        NameMatch::Glob(g) => {
                            build_glob(g).map_or(Compiled::Invalid, Compiled::Glob)
                        }
                        NameMatch::Regex(r) => {
                            regex::Regex::new(r).map_or(Compiled::Invalid, Compiled::Regex)
                        }
                    })
                })
                .clone()
        });
        match &*compiled {
            Compiled::Glob(g) => g.is_match(name),
            Compiled::Regex(r) => r.is_match(name),
            Compiled::Invalid => false,
        }
    }
}

/// A response status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    /// One status code, `404`.
    Code(u16),
    /// A class of codes by first digit: `5xx` is `Class(5)`.
    Class(u8),
}

impl StatusMatch {
    /// Whether a status code matches.
    pub fn matches(&self, code: u16) -> bool {
        match *self {
            StatusMatch::Code(c) => c == code,
            StatusMatch::Class(c) => code / 100 == u16::from(c),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` (with a relative tolerance of 1e-9, since limits went through unit conversion)
    Eq,
}

impl Op {
    /// Whether `measured OP limit` holds.
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Op::Lt => measured < limit,
            Op::Le => measured <= limit,
            Op::Gt => measured > limit,
            Op::Ge => measured >= limit,
            Op::Eq => (measured - limit).abs() <= 1e-9 * limit.abs().max(1.0),
        }
    }

    /// The operator as written: `<`, `<=`, `>`, `>=`, `==`.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        }
    }
}

/// Parses a target expression; see the module docs for the grammar.
pub fn parse(text: &str) -> Result<TargetExpr> {
    let trimmed = text.trim();
    let mut p = Parser {
        text: trimmed,
        chars: trimmed.chars().collect(),
        pos: 0,
    };
    p.expr()
}

/// Parses a scope on its own, with or without braces: `type:DB`, `{name:~mcp}`.
/// Used for the request groups of a config file.
pub fn parse_scope(text: &str) -> Result<Scope> {
    let trimmed = text.trim();
    let braced = if trimmed.starts_with('{') {
        trimmed.to_string()
    } else {
        format!("{{{trimmed}}}")
    };
    let mut p = Parser {
        text: &braced,
        chars: braced.chars().collect(),
        pos: 0,
    };
    let scope = p.scope()?;
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.err(p.pos, format!("unexpected `{c}` after the scope")));
    }
    Ok(scope)
}

const FIELDS: &[&str] = &["name", "type", "method", "status", "scenario"];

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, position: usize, message: impl Into<String>) -> Error {
        Error::Target {
            expr: self.text.to_string(),
            position,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// What is at the current position, for messages.
    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("found `{c}`"),
            None => "found the end of the expression".into(),
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn expr(&mut self) -> Result<TargetExpr> {
        let warn = self.warn_prefix();
        self.skip_ws();
        let metric = self.metric()?;
        self.skip_ws();
        let scope = if self.peek() == Some('{') {
            let s = self.scope()?;
            self.skip_ws();
            s
        } else {
            Scope::default()
        };
        let op = self.op()?;
        self.skip_ws();
        let limit = self.limit(metric)?;
        self.skip_ws();
        let (over_s, for_s) = match self.window(metric)? {
            Some((true, s)) => (Some(s), None),
            Some((false, s)) => (None, Some(s)),
            None => (None, None),
        };
        self.skip_ws();
        if let Some(c) = self.peek() {
            return Err(self.err(self.pos, format!("unexpected `{c}`")));
        }
        Ok(TargetExpr {
            text: self.text.to_string(),
            warn,
            metric,
            scope,
            op,
            limit,
            over_s,
            for_s,
        })
    }

    fn warn_prefix(&mut self) -> bool {
        let start = self.pos;
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        if word.eq_ignore_ascii_case("warn") {
            self.skip_ws();
            if self.peek() == Some(':') {
                self.pos += 1;
                return true;
            }
        }
        self.pos = start;
        false
    }

    /// Reads `[0-9]+(.[0-9]+)?` (or `.5`); `None` without moving if there is no digit here.
    fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        let mut s = self.take_while(|c| c.is_ascii_digit());
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
            s.push('.');
            s.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        match s.parse::<f64>() {
            Ok(v) if !s.is_empty() => Some(v),
            _ => {
                self.pos = start;
                None
            }
        }
    }

    fn percentile(&self, value: f64, position: usize) -> Result<Metric> {
        if (0.0..=100.0).contains(&value) {
            Ok(Metric::Percentile(value))
        } else {
            Err(self.err(
                position,
                format!("a percentile must be between 0 and 100, not {value}"),
            ))
        }
    }

    fn metric(&mut self) -> Result<Metric> {
        let start = self.pos;
        if matches!(self.peek(), Some('p' | 'P')) && self.peek_at(1) == Some('(') {
            self.pos += 2;
            self.skip_ws();
            let at = self.pos;
            let Some(v) = self.number() else {
                return Err(self.err(
                    at,
                    format!("expected a percentile between 0 and 100, {}", self.found()),
                ));
            };
            self.skip_ws();
            if self.peek() != Some(')') {
                return Err(self.err(
                    self.pos,
                    format!("expected `)` after the percentile, {}", self.found()),
                ));
            }
            self.pos += 1;
            return self.percentile(v, at);
        }
        let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if word.is_empty() {
            return Err(self.err(
                start,
                format!("expected a metric ({}), {}", known_metrics(), self.found()),
            ));
        }
        let lower = word.to_ascii_lowercase();
        if let Some((_, m)) = NAMED_METRICS.iter().find(|(n, _)| *n == lower) {
            return Ok(*m);
        }
        if let Some(rest) = lower.strip_prefix('p')
            && is_decimal(rest)
        {
            let v: f64 = rest.parse().unwrap_or(f64::NAN);
            return self.percentile(v, start + 1);
        }
        let mut candidates: Vec<String> =
            NAMED_METRICS.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(rest) = lower.get(1..).filter(|r| is_decimal(r)) {
            candidates.insert(0, format!("p{rest}"));
        }
        let hint = did_you_mean(&lower, candidates.iter().map(String::as_str));
        Err(self.err(
            start,
            format!(
                "unknown metric `{word}`{hint}; known metrics: {}",
                known_metrics()
            ),
        ))
    }

    fn scope(&mut self) -> Result<Scope> {
        let open = self.pos;
        self.pos += 1;
        let missing = |p: &Self| {
            p.err(
                p.pos,
                format!(
                    "missing `}}` to close the scope opened at character {}",
                    open + 1
                ),
            )
        };
        let mut scope = Scope::default();
        let mut seen: Vec<String> = Vec::new();
        loop {
            self.skip_ws();
            let fstart = self.pos;
            let field = self.take_while(|c| c.is_alphanumeric() || c == '_');
            if field.is_empty() {
                if self.peek().is_none() {
                    return Err(missing(self));
                }
                return Err(self.err(
                    fstart,
                    format!(
                        "expected a scope field ({}), {}",
                        FIELDS.join(", "),
                        self.found()
                    ),
                ));
            }
            let lower = field.to_ascii_lowercase();
            if !FIELDS.contains(&lower.as_str()) {
                let hint = did_you_mean(&lower, FIELDS.iter().copied());
                return Err(self.err(
                    fstart,
                    format!(
                        "unknown scope field `{field}`{hint}; fields are {}",
                        FIELDS.join(", ")
                    ),
                ));
            }
            if seen.contains(&lower) {
                return Err(self.err(fstart, format!("duplicate scope field `{field}`")));
            }
            seen.push(lower.clone());
            self.skip_ws();
            match self.peek() {
                Some(':') => self.pos += 1,
                None => return Err(missing(self)),
                Some(_) => {
                    return Err(self.err(
                        self.pos,
                        format!("expected `:` after `{field}`, {}", self.found()),
                    ));
                }
            }
            self.skip_ws();
            let vstart = self.pos;
            let (value, content_start) = if self.peek() == Some('"') {
                (self.quoted()?, vstart + 1)
            } else {
                let v = self.take_while(|c| c != ',' && c != '}');
                if self.peek().is_none() {
                    return Err(missing(self));
                }
                (v.trim_end().to_string(), vstart)
            };
            if value.is_empty() {
                return Err(self.err(vstart, format!("empty value for `{field}`")));
            }
            self.set_field(&mut scope, &lower, value, content_start)?;
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(scope);
                }
                None => return Err(missing(self)),
                Some(_) => {
                    return Err(self.err(
                        self.pos,
                        format!("expected `,` or `}}` after the value, {}", self.found()),
                    ));
                }
            }
        }
    }

    /// A double-quoted value with `\"` and `\\` escapes; the cursor is on the opening quote.
    fn quoted(&mut self) -> Result<String> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(open, "unterminated `\"`")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') if matches!(self.peek_at(1), Some('"' | '\\')) => {
                    out.extend(self.peek_at(1));
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn set_field(&self, scope: &mut Scope, field: &str, value: String, at: usize) -> Result<()> {
        match field {
            "name" => {
                scope.name = Some(if let Some(re) = value.strip_prefix('~') {
                    if re.is_empty() {
                        return Err(self.err(at + 1, "empty regex after `~`"));
                    }
                    if let Err(e) = regex::Regex::new(re) {
                        let msg = e.to_string().replace('\n', " ");
                        return Err(self.err(at + 1, format!("invalid regex: {msg}")));
                    }
                    NameMatch::Regex(re.to_string())
                } else {
                    if let Err(e) = build_glob(&value) {
                        return Err(self.err(at, format!("invalid glob: {}", e.kind())));
                    }
                    NameMatch::Glob(value)
                });
            }
            "type" => scope.kind = Some(value),
            "method" => scope.method = Some(value),
            "status" => scope.status = Some(self.status(&value, at)?),
            _ => scope.scenario = Some(value),
        }
        Ok(())
    }

    fn status(&self, value: &str, at: usize) -> Result<StatusMatch> {
        let lower = value.to_ascii_lowercase();
        let b = lower.as_bytes();
        if b.len() == 3 && &b[1..] == b"xx" && (b'1'..=b'5').contains(&b[0]) {
            return Ok(StatusMatch::Class(b[0] - b'0'));
        }
        match value.parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) && value.len() == 3 => Ok(StatusMatch::Code(c)),
            _ => Err(self.err(
                at,
                format!("bad status `{value}`: expected a code like `404` or a class like `5xx`"),
            )),
        }
    }

    fn op(&mut self) -> Result<Op> {
        let at = self.pos;
        let (op, len) = match (self.peek(), self.peek_at(1)) {
            (Some('<'), Some('=')) => (Op::Le, 2),
            (Some('<'), _) => (Op::Lt, 1),
            (Some('>'), Some('=')) => (Op::Ge, 2),
            (Some('>'), _) => (Op::Gt, 1),
            (Some('='), Some('=')) => (Op::Eq, 2),
            (Some('='), _) => return Err(self.err(at, "`=` is not an operator; use `==`")),
            _ => {
                return Err(self.err(
                    at,
                    format!("expected an operator (<, <=, >, >=, ==), {}", self.found()),
                ));
            }
        };
        self.pos += len;
        Ok(op)
    }

    /// Reads a unit token (letters, `%`, `/`); `None` if there is none or it is the `over` or `for` keyword.
    fn unit(&mut self) -> Option<(usize, String)> {
        let start = self.pos;
        let u = self.take_while(|c| c.is_alphabetic() || c == '%' || c == '/');
        if u.is_empty() || u.eq_ignore_ascii_case("over") || u.eq_ignore_ascii_case("for") {
            self.pos = start;
            None
        } else {
            Some((start, u))
        }
    }

    fn limit(&mut self, metric: Metric) -> Result<f64> {
        let at = self.pos;
        let Some(v) = self.number() else {
            return Err(self.err(at, format!("expected a number, {}", self.found())));
        };
        let end = self.pos;
        self.skip_ws();
        let unit = self.unit();
        if unit.is_none() {
            self.pos = end;
        }
        let key = metric.key();
        let Some((upos, u)) = unit else {
            return match metric.family() {
                Family::Time | Family::Rate | Family::Count | Family::Cpu => Ok(v),
                Family::Slope => Ok(v * MIB),
                Family::ErrorRate => {
                    Err(self.err(end, format!("{key} needs a `%` unit, e.g. `{key}<1%`")))
                }
                Family::Bytes => {
                    Err(self.err(end, format!("{key} needs a unit: {}", BYTE_UNITS_TEXT)))
                }
            };
        };
        let lower = u.to_lowercase();
        let converted = match metric.family() {
            Family::Time => time_ms(&lower).map(|f| v * f),
            Family::Rate => matches!(lower.as_str(), "/s" | "rps" | "req/s").then_some(v),
            Family::ErrorRate => (lower == "%").then_some(v / 100.0),
            Family::Count => None,
            Family::Bytes => byte_factor(&lower).map(|f| v * f),
            Family::Cpu => (lower == "%").then_some(v),
            Family::Slope => lower
                .strip_suffix("/min")
                .and_then(byte_factor)
                .map(|f| v * f),
        };
        converted.ok_or_else(|| {
            let accepted = match metric.family() {
                Family::Time => "ms, s or us (a bare number is ms)".to_string(),
                Family::Rate => "/s, rps or req/s, or no unit".to_string(),
                Family::ErrorRate => "%".to_string(),
                Family::Count => "no unit (it is a count)".to_string(),
                Family::Bytes => BYTE_UNITS_TEXT.to_string(),
                Family::Cpu => "% or no unit".to_string(),
                Family::Slope => {
                    "MB/min, MiB/min, KB/min or KiB/min (a bare number is MiB/min)".to_string()
                }
            };
            self.err(
                upos,
                format!("`{u}` is not a unit for {key}; it takes {accepted}"),
            )
        })
    }

    /// `over D` (`Some((true, D))`) or `for D` (`Some((false, D))`).
    fn window(&mut self, metric: Metric) -> Result<Option<(bool, f64)>> {
        let at = self.pos;
        let word = self.take_while(|c| c.is_alphabetic()).to_ascii_lowercase();
        let over = match word.as_str() {
            "over" => true,
            "for" => false,
            _ => {
                self.pos = at;
                return Ok(None);
            }
        };
        if !metric.allows_window() {
            return Err(self.err(
                at,
                format!(
                    "`{word}` only applies to request metrics (latency, rps, error_rate, errors), not {}",
                    metric.key()
                ),
            ));
        }
        self.skip_ws();
        let nat = self.pos;
        let Some(v) = self.number() else {
            return Err(self.err(
                nat,
                format!(
                    "expected a duration after `{word}` (like `30s`), {}",
                    self.found()
                ),
            ));
        };
        let end = self.pos;
        self.skip_ws();
        let uat = self.pos;
        let u = self.take_while(|c| c.is_alphabetic());
        let factor = match seconds_per(&u) {
            Some(f) => f,
            None if u.is_empty() => {
                return Err(self.err(end, "the duration needs a unit: ms, s, m or h"));
            }
            None => {
                return Err(self.err(
                    uat,
                    format!("`{u}` is not a duration unit; use ms, s, m or h"),
                ));
            }
        };
        if v <= 0.0 {
            return Err(self.err(nat, "the window must be longer than zero"));
        }
        Ok(Some((over, v * factor)))
    }
}

/// How far a relative target lets a figure move from the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// A fraction of the baseline value (`+10%` is `0.10`, `-10%` is `-0.10`).
    Fraction(f64),
    /// An amount in the metric's canonical unit: ms for latencies and
    /// `cpu_per_request`, a fraction for `error_rate` (`+0.5pp` is `0.005`),
    /// req/s for `rps`.
    Amount(f64),
}

/// What a relative target measures: a request metric of [`Metric`], or the
/// server's CPU time per request, which only exists against a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RelativeMetric {
    /// A request or resource metric of the ordinary grammar.
    Metric(Metric),
    /// Server CPU milliseconds per request (CPU-seconds under load ÷ requests).
    CpuPerRequest,
}

impl RelativeMetric {
    /// `p95`, `error_rate`, `cpu_per_request`, ...
    pub fn key(&self) -> String {
        match self {
            RelativeMetric::Metric(m) => m.key(),
            RelativeMetric::CpuPerRequest => "cpu_per_request".into(),
        }
    }
}

/// A target relative to a baseline run: `p95{name:/api/*} <= +10% vs baseline`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelativeExpr {
    /// The expression as given, trimmed.
    pub text: String,
    /// `warn:` prefix: a regression is a warning, not a failure.
    pub warn: bool,
    /// What is compared.
    pub metric: RelativeMetric,
    /// Which requests: with a scope the target applies to each matching
    /// endpoint on its own; without one, to all requests together.
    pub scope: Scope,
    /// `<=`/`<` bound the increase, `>=`/`>` the decrease.
    pub op: Op,
    /// How far the after run may move from the baseline.
    pub tolerance: Tolerance,
}

/// Whether an expression is a relative target (ends in `vs baseline`).
pub fn is_relative(text: &str) -> bool {
    relative_head(text.trim()).is_some()
}

/// The expression without its trailing `vs baseline`, when it has one.
fn relative_head(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let without = lower.strip_suffix("baseline")?.trim_end();
    let without = without.strip_suffix("vs")?;
    if !without.ends_with(char::is_whitespace) {
        return None;
    }
    Some(text[..without.len()].trim_end())
}

/// Parses a relative target: `[warn:] METRIC [{SCOPE}] OP (+|-)NUMBER UNIT vs baseline`,
/// where UNIT is `%` (of the baseline value), `pp` (percentage points, for
/// `error_rate`), a time unit (latencies, `cpu_per_request`) or `/s` (`rps`).
pub fn parse_relative(text: &str) -> Result<RelativeExpr> {
    let trimmed = text.trim();
    let Some(head) = relative_head(trimmed) else {
        return Err(Error::Target {
            expr: trimmed.to_string(),
            position: trimmed.chars().count(),
            message: "a relative target ends in `vs baseline`".into(),
        });
    };
    let mut p = Parser {
        text: trimmed,
        chars: head.chars().collect(),
        pos: 0,
    };
    let warn = p.warn_prefix();
    p.skip_ws();
    let start = p.pos;
    let word: String = p
        .take_while(|c| c.is_ascii_alphanumeric() || c == '_')
        .to_ascii_lowercase();
    let metric = if word == "cpu_per_request" {
        RelativeMetric::CpuPerRequest
    } else {
        p.pos = start;
        let m = p.metric()?;
        if matches!(m, Metric::Errors | Metric::LeakSlope | Metric::RssIdle) {
            return Err(p.err(
                start,
                format!(
                    "{} cannot be compared with a baseline; relative targets take a percentile, avg, rps, error_rate, rss_load, cpu_load or cpu_per_request",
                    m.key()
                ),
            ));
        }
        RelativeMetric::Metric(m)
    };
    p.skip_ws();
    let scope = if p.peek() == Some('{') {
        let s = p.scope()?;
        p.skip_ws();
        s
    } else {
        Scope::default()
    };
    let op = p.op()?;
    if op == Op::Eq {
        return Err(p.err(
            p.pos - 2,
            "a relative target bounds a change: use <=, <, >= or >",
        ));
    }
    p.skip_ws();
    let sign_at = p.pos;
    let sign = match p.peek() {
        Some('+') => 1.0,
        Some('-') => -1.0,
        _ => {
            return Err(p.err(
                sign_at,
                format!(
                    "expected a signed change such as `+10%` or `-5%`, {}",
                    p.found()
                ),
            ));
        }
    };
    p.pos += 1;
    let at = p.pos;
    let Some(v) = p.number() else {
        return Err(p.err(at, format!("expected a number, {}", p.found())));
    };
    p.skip_ws();
    let uat = p.pos;
    let unit = p
        .take_while(|c| c.is_alphabetic() || c == '%' || c == '/')
        .to_lowercase();
    let key = metric.key();
    let time_like = matches!(
        metric,
        RelativeMetric::CpuPerRequest
            | RelativeMetric::Metric(
                Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max
            )
    );
    let tolerance = match unit.as_str() {
        "%" => Tolerance::Fraction(sign * v / 100.0),
        "pp" if metric == RelativeMetric::Metric(Metric::ErrorRate) => {
            Tolerance::Amount(sign * v / 100.0)
        }
        u if time_like && time_ms(u).is_some() => {
            Tolerance::Amount(sign * v * time_ms(u).unwrap_or(1.0))
        }
        "/s" | "rps" | "req/s" if metric == RelativeMetric::Metric(Metric::Rps) => {
            Tolerance::Amount(sign * v)
        }
        "" => {
            return Err(p.err(
                uat,
                format!("the change needs a unit: `%` of the baseline, or an amount (`pp` for error_rate, `ms` for times, `/s` for rps) for {key}"),
            ));
        }
        _ => {
            return Err(p.err(
                uat,
                format!("`{unit}` is not a unit for a change of {key}; use `%` of the baseline, `pp` for error_rate, `ms` for times, `/s` for rps"),
            ));
        }
    };
    p.skip_ws();
    if let Some(c) = p.peek() {
        return Err(p.err(p.pos, format!("unexpected `{c}` before `vs baseline`")));
    }
    Ok(RelativeExpr {
        text: trimmed.to_string(),
        warn,
        metric,
        scope,
        op,
        tolerance,
    })
}

/// Seconds per duration unit (`ms`, `s`, `m`/`min`, `h`, any case).
fn seconds_per(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    })
}

/// A positive duration in seconds, written as in a target's window (`500ms`,
/// `0.5s`, `2m`) or as a bare number of seconds (`0.5`): what
/// `sample --interval` and `--duration` take. Errors are
/// [`Error::Target`]s pointing at the character.
pub fn parse_duration_s(text: &str) -> Result<f64> {
    let trimmed = text.trim();
    let mut p = Parser {
        text: trimmed,
        chars: trimmed.chars().collect(),
        pos: 0,
    };
    let Some(v) = p.number() else {
        return Err(p.err(
            0,
            format!(
                "expected a duration such as 500ms, 0.5s or 0.5 (seconds), {}",
                p.found()
            ),
        ));
    };
    p.skip_ws();
    let uat = p.pos;
    let u = p.take_while(|c| c.is_alphabetic());
    let factor = match seconds_per(&u) {
        Some(f) => f,
        None if u.is_empty() => 1.0,
        None => {
            return Err(p.err(
                uat,
                format!("`{u}` is not a duration unit; use ms, s, m or h"),
            ));
        }
    };
    p.skip_ws();
    if p.peek().is_some() {
        return Err(p.err(
            p.pos,
            format!("unexpected {} after the duration", p.found()),
        ));
    }
    let secs = v * factor;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(p.err(0, "expected a duration longer than zero"));
    }
    Ok(secs)
}

const MIB: f64 = 1024.0 * 1024.0;
const BYTE_UNITS_TEXT: &str = "B, KB, KiB, MB, MiB, GB or GiB";

/// Bytes per unit, for a lower-cased unit.
fn byte_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "b" => 1.0,
        "kb" => 1e3,
        "kib" => 1024.0,
        "mb" => 1e6,
        "mib" => MIB,
        "gb" => 1e9,
        "gib" => 1024.0 * MIB,
        _ => return None,
    })
}

/// Milliseconds per unit, for a lower-cased unit.
fn time_ms(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 1.0,
        "s" => 1000.0,
        "us" | "µs" | "μs" => 0.001,
        _ => return None,
    })
}

fn is_decimal(s: &str) -> bool {
    let mut parts = s.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

fn known_metrics() -> String {
    let names: Vec<&str> = NAMED_METRICS.iter().map(|(n, _)| *n).collect();
    format!("p<N> such as p95, p99.9 or p(99.99), {}", names.join(", "))
}

/// `"; did you mean `x`?"` for the closest candidate within a small edit distance, or `""`.
fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let max = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {

    #[test]
    fn relative_targets_parse_with_their_tolerance() {
        let r = parse_relative("p95 <= +10% vs baseline").unwrap();
        assert_eq!(r.metric, RelativeMetric::Metric(Metric::Percentile(95.0)));
        assert_eq!(r.tolerance, Tolerance::Fraction(0.10));
        assert!(r.scope.is_empty());
        let r = parse_relative("p99{name:/api/*} <= +50ms vs baseline").unwrap();
        assert_eq!(r.tolerance, Tolerance::Amount(50.0));
        assert!(r.scope.matches("GET", "/api/x"));
        let r = parse_relative("error_rate <= +0.5pp vs baseline").unwrap();
        assert!(matches!(r.tolerance, Tolerance::Amount(a) if (a - 0.005).abs() < 1e-12));
        let r = parse_relative("rps >= -10% vs baseline").unwrap();
        assert_eq!((r.op, r.tolerance), (Op::Ge, Tolerance::Fraction(-0.10)));
        let r = parse_relative("warn: cpu_per_request <= +20% VS Baseline").unwrap();
        assert!(r.warn);
        assert_eq!(r.metric, RelativeMetric::CpuPerRequest);
        assert!(is_relative("p95<=+10% vs baseline"));
        assert!(!is_relative("p95<300ms"));
    }

    #[test]
    fn relative_targets_reject_what_they_cannot_mean() {
        let e = parse_relative("p95 <= 10% vs baseline")
            .unwrap_err()
            .to_string();
        assert!(e.contains("signed change"), "{e}");
        let e = parse_relative("error_rate <= +5ms vs baseline")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a unit"), "{e}");
        let e = parse_relative("errors <= +1% vs baseline")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be compared"), "{e}");
        let e = parse_relative("p95 == +1% vs baseline")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bounds a change"), "{e}");
    }
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// (expression, metric, scope as displayed, op, limit in canonical units, over_s, warn)
    type Good = (
        &'static str,
        Metric,
        &'static str,
        Op,
        f64,
        Option<f64>,
        bool,
    );

    #[test]
    fn good_expressions() {
        use Metric::*;
        let kib = 1024.0;
        let table: &[Good] = &[
            (
                "p95<300ms",
                Percentile(95.0),
                "",
                Op::Lt,
                300.0,
                None,
                false,
            ),
            (
                "p99.9<1s",
                Percentile(99.9),
                "",
                Op::Lt,
                1000.0,
                None,
                false,
            ),
            (
                "p(99.99) < 2 s",
                Percentile(99.99),
                "",
                Op::Lt,
                2000.0,
                None,
                false,
            ),
            (
                "p( 50 )<250us",
                Percentile(50.0),
                "",
                Op::Lt,
                0.25,
                None,
                false,
            ),
            ("p0<1µs", Percentile(0.0), "", Op::Lt, 0.001, None, false),
            (
                "p100<=5s",
                Percentile(100.0),
                "",
                Op::Le,
                5000.0,
                None,
                false,
            ),
            ("avg<100ms", Avg, "", Op::Lt, 100.0, None, false),
            ("min>1", Min, "", Op::Gt, 1.0, None, false),
            ("max<2s", Max, "", Op::Lt, 2000.0, None, false),
            ("rps>=100", Rps, "", Op::Ge, 100.0, None, false),
            ("rps>=100/s", Rps, "", Op::Ge, 100.0, None, false),
            ("rps > 12.5 req/s", Rps, "", Op::Gt, 12.5, None, false),
            ("error_rate<1%", ErrorRate, "", Op::Lt, 0.01, None, false),
            (
                "median<=50",
                Percentile(50.0),
                "",
                Op::Le,
                50.0,
                None,
                false,
            ),
            (
                "p95{name:/api/v1/config/*}<300ms",
                Percentile(95.0),
                "{name:/api/v1/config/*}",
                Op::Lt,
                300.0,
                None,
                false,
            ),
            (
                "p95{type:WS}<50ms",
                Percentile(95.0),
                "{type:WS}",
                Op::Lt,
                50.0,
                None,
                false,
            ),
            (
                "error_rate{status:5xx}<0.5%",
                ErrorRate,
                "{status:5xx}",
                Op::Lt,
                0.005,
                None,
                false,
            ),
            (
                "p99{method:POST,name:~^/api/}<800ms",
                Percentile(99.0),
                "{name:~^/api/,method:POST}",
                Op::Lt,
                800.0,
                None,
                false,
            ),
            (
                "p95 { name : \"/a,b\" , status : 404 , scenario: Checkout }<1s",
                Percentile(95.0),
                "{name:\"/a,b\",status:404,scenario:Checkout}",
                Op::Lt,
                1000.0,
                None,
                false,
            ),
            (
                "warn: p95<180ms",
                Percentile(95.0),
                "",
                Op::Lt,
                180.0,
                None,
                true,
            ),
            (
                "warn:p95<180ms",
                Percentile(95.0),
                "",
                Op::Lt,
                180.0,
                None,
                true,
            ),
            (
                "p95<200ms over 30s",
                Percentile(95.0),
                "",
                Op::Lt,
                200.0,
                Some(30.0),
                false,
            ),
            (
                "p95<200 over 1m",
                Percentile(95.0),
                "",
                Op::Lt,
                200.0,
                Some(60.0),
                false,
            ),
            (
                "errors==0 over 500ms",
                Errors,
                "",
                Op::Eq,
                0.0,
                Some(0.5),
                false,
            ),
            ("rss_load<1GB", RssLoad, "", Op::Lt, 1e9, None, false),
            (
                "rss_idle<512MiB",
                RssIdle,
                "",
                Op::Lt,
                512.0 * kib * kib,
                None,
                false,
            ),
            (
                "rss_idle < 64 KiB",
                RssIdle,
                "",
                Op::Lt,
                64.0 * kib,
                None,
                false,
            ),
            ("cpu_load<50%", CpuLoad, "", Op::Lt, 50.0, None, false),
            ("cpu_load<50", CpuLoad, "", Op::Lt, 50.0, None, false),
            (
                "leak_slope<1MB/min",
                LeakSlope,
                "",
                Op::Lt,
                1e6,
                None,
                false,
            ),
            (
                "leak_slope<2",
                LeakSlope,
                "",
                Op::Lt,
                2.0 * kib * kib,
                None,
                false,
            ),
            ("errors==0", Errors, "", Op::Eq, 0.0, None, false),
            (
                "  p95<1s  ",
                Percentile(95.0),
                "",
                Op::Lt,
                1000.0,
                None,
                false,
            ),
        ];
        for &(text, metric, scope, op, limit, over_s, warn) in table {
            let t = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.text, text.trim(), "{text}");
            assert_eq!(t.metric, metric, "{text}");
            assert_eq!(t.scope.to_string(), scope, "{text}");
            assert_eq!(t.op, op, "{text}");
            assert!(close(t.limit, limit), "{text}: {} != {limit}", t.limit);
            assert_eq!(t.over_s, over_s, "{text}");
            assert_eq!(t.warn, warn, "{text}");
        }
    }

    #[test]
    fn bad_expressions() {
        // (expression, 0-based character position, fragment of the message)
        let table: &[(&str, usize, &str)] = &[
            ("p95<<200", 4, "expected a number, found `<`"),
            ("p95<", 4, "expected a number, found the end"),
            ("q95<1s", 0, "unknown metric `q95` (did you mean `p95`?)"),
            ("avgg<1s", 0, "did you mean `avg`?"),
            ("latency<1s", 0, "known metrics: p<N>"),
            ("p101<1s", 1, "between 0 and 100"),
            ("p(101)<1s", 2, "between 0 and 100"),
            ("p(99.9<1s", 6, "expected `)`"),
            ("", 0, "expected a metric"),
            (
                "p95{nme:x}<1s",
                4,
                "unknown scope field `nme` (did you mean `name`?)",
            ),
            (
                "p95{name:x<1s",
                13,
                "missing `}` to close the scope opened at character 4",
            ),
            ("p95{name:x", 10, "missing `}`"),
            ("p95{name:}<1s", 9, "empty value for `name`"),
            ("p95{name:a,name:b}<1s", 11, "duplicate scope field `name`"),
            ("p95{name:~(}<1s", 10, "invalid regex"),
            ("p95{name:\"~(\"}<1s", 11, "invalid regex"),
            ("p95{name:\"abc}<1s", 9, "unterminated"),
            ("p95{name:/a[}<1s", 9, "invalid glob"),
            ("p95{status:6xx}<1s", 11, "bad status `6xx`"),
            ("p95{status:42}<1s", 11, "bad status"),
            ("p95{type WS}<1s", 9, "expected `:` after `type`"),
            ("p95{}<1s", 4, "expected a scope field"),
            ("p95{name:\"a\" b}<1s", 13, "expected `,` or `}`"),
            ("p95=200", 3, "use `==`"),
            ("p95 200", 4, "expected an operator"),
            ("rps<5ms", 5, "`ms` is not a unit for rps"),
            ("p95<5MB", 5, "`MB` is not a unit for p95"),
            ("errors<1ms", 8, "takes no unit"),
            ("error_rate<1", 12, "needs a `%` unit"),
            ("cpu_load<1GB", 10, "not a unit for cpu_load"),
            ("leak_slope<1MB", 12, "not a unit for leak_slope"),
            ("p95<1s over", 11, "expected a duration after `over`"),
            ("p95<1s over 30", 14, "needs a unit"),
            ("p95<1s over 30x", 14, "not a duration unit"),
            ("p95<1s over 0s", 12, "longer than zero"),
            ("cpu_load<50% over 1m", 13, "`over` only applies"),
            ("rss_load<1GB over 1m", 13, "`over` only applies"),
            ("p95<1s junk", 7, "unexpected `j`"),
            ("p95<1µs junk", 8, "unexpected `j`"),
            ("  p95<1s junk", 7, "unexpected `j`"),
            ("p95<1s over 30s x", 16, "unexpected `x`"),
            ("p95<1s for", 10, "expected a duration after `for`"),
            ("p95<1s for 0s", 11, "longer than zero"),
            ("rss_load<1GB for 1m", 13, "`for` only applies"),
            ("p95<1s over 30s for 1m", 16, "unexpected `f`"),
            ("rss_idle<512", 12, "needs a unit: B, KB"),
            ("p95<1 junk", 6, "`junk` is not a unit"),
        ];
        for &(text, position, fragment) in table {
            match parse(text) {
                Err(Error::Target {
                    expr,
                    position: p,
                    message,
                }) => {
                    assert_eq!(expr, text.trim(), "{text}");
                    assert_eq!(p, position, "{text}: {message}");
                    assert!(message.contains(fragment), "{text}: {message}");
                }
                other => panic!("{text}: expected a target error, got {other:?}"),
            }
        }
    }

    #[test]
    fn error_display_points_at_the_character() {
        let e = parse("p95<<200").unwrap_err().to_string();
        assert!(e.contains("at character 5"), "{e}");
        assert!(e.ends_with("\n  p95<<200\n      ^"), "{e}");
    }

    #[test]
    fn glob_matching_crosses_slashes() {
        let g = NameMatch::Glob("/api/v1/config/*".into());
        assert!(g.matches("/api/v1/config/audit"));
        assert!(g.matches("/api/v1/config/a/b"), "`*` matches across `/`");
        assert!(g.matches("/api/v1/config/"));
        assert!(!g.matches("/api/v1/other"));
        assert!(
            !g.matches("x/api/v1/config/audit"),
            "globs match the whole name"
        );
        let q = NameMatch::Glob("/item/?".into());
        assert!(q.matches("/item/7"));
        assert!(!q.matches("/item/77"));
        let exact = NameMatch::Glob("/login".into());
        assert!(exact.matches("/login"));
        assert!(!exact.matches("/login/x"));
    }

    #[test]
    fn regex_matching_is_a_search() {
        let r = NameMatch::Regex("^/api/".into());
        assert!(r.matches("/api/x"));
        assert!(!r.matches("/x/api/"));
        assert!(NameMatch::Regex("users".into()).matches("/api/users/1"));
    }

    #[test]
    fn status_match() {
        assert!(StatusMatch::Code(404).matches(404));
        assert!(!StatusMatch::Code(404).matches(500));
        assert!(StatusMatch::Class(5).matches(503));
        assert!(StatusMatch::Class(5).matches(500));
        assert!(!StatusMatch::Class(5).matches(404));
        assert!(!StatusMatch::Class(5).matches(5));
    }

    #[test]
    fn scope_matches_kind_and_name() {
        let s = parse("p99{method:POST,name:~^/api/}<800ms").unwrap().scope;
        assert!(s.matches("post", "/api/orders"));
        assert!(!s.matches("GET", "/api/orders"));
        assert!(!s.matches("POST", "/login"));
        let ws = parse("p95{type:WS}<50ms").unwrap().scope;
        assert!(ws.matches("ws", "/chat"));
        assert!(!ws.is_empty());
        let all = Scope::default();
        assert!(all.is_empty());
        assert!(all.matches("GET", "anything"));
        assert_eq!(all.to_string(), "");
        // status and scenario are left to the caller
        let st = parse("error_rate{status:5xx}<1%").unwrap().scope;
        assert!(st.matches("GET", "/x"));
    }

    #[test]
    fn same_target() {
        let a = parse("p95{name:/api/*}<300ms").unwrap();
        let b = parse("p95 { name : /api/* } <= 250").unwrap();
        assert!(a.same_target(&b));
        // tiers never replace each other
        let w = parse("warn: p95 { name : /api/* } <= 250").unwrap();
        assert!(!a.same_target(&w));
        assert!(w.same_target(&parse("warn:p95{name:/api/*}<1s").unwrap()));
        assert!(!a.same_target(&parse("p95<300ms").unwrap()));
        assert!(!a.same_target(&parse("p99{name:/api/*}<300ms").unwrap()));
        assert!(!a.same_target(&parse("p95{name:/api/*}<300ms over 30s").unwrap()));
        assert!(!a.same_target(&parse("p95{name:/api/*}<300ms for 30s").unwrap()));
    }

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        for (text, secs) in [
            ("0.5", 0.5),
            ("0.5s", 0.5),
            ("500ms", 0.5),
            (" 2 m ", 120.0),
            ("1h", 3600.0),
        ] {
            assert!(close(parse_duration_s(text).unwrap(), secs), "{text}");
        }
        for bad in ["", "0", "-1s", "5 parsecs", "1s2", "ms"] {
            assert!(parse_duration_s(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn for_takes_a_duration() {
        let t = parse("p95 < 200ms for 30s").unwrap();
        assert_eq!((t.over_s, t.for_s), (None, Some(30.0)));
        let t = parse("warn: error_rate<1% FOR 2m").unwrap();
        assert_eq!(t.for_s, Some(120.0));
        assert!(t.warn);
        assert_eq!(parse("rps>=10 for 500ms").unwrap().for_s, Some(0.5));
    }

    #[test]
    fn keys_and_units() {
        assert_eq!(Metric::Percentile(95.0).key(), "p95");
        assert_eq!(Metric::Percentile(99.9).key(), "p99.9");
        assert_eq!(parse("median<1").unwrap().metric.key(), "p50");
        assert_eq!(Metric::ErrorRate.key(), "error_rate");
        assert_eq!(Metric::Avg.unit_label(), "ms");
        assert_eq!(Metric::Rps.unit_label(), "req/s");
        assert_eq!(Metric::ErrorRate.unit_label(), "%");
        assert_eq!(Metric::Errors.unit_label(), "");
        assert_eq!(Metric::RssIdle.unit_label(), "bytes");
        assert_eq!(Metric::CpuLoad.unit_label(), "%");
        assert_eq!(Metric::LeakSlope.unit_label(), "bytes/min");
        assert!(Metric::RssIdle.is_resource() && Metric::LeakSlope.is_resource());
        assert!(Metric::CpuLoad.is_resource() && Metric::RssLoad.is_resource());
        assert!(!Metric::Rps.is_resource() && !Metric::ErrorRate.is_resource());
    }

    #[test]
    fn ops() {
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && !Op::Le.holds(2.1, 2.0));
        assert!(Op::Gt.holds(3.0, 2.0) && !Op::Gt.holds(2.0, 2.0));
        assert!(Op::Ge.holds(2.0, 2.0) && !Op::Ge.holds(1.9, 2.0));
        assert!(Op::Eq.holds(0.0, 0.0) && Op::Eq.holds(0.1 + 0.2, 0.3) && !Op::Eq.holds(1.0, 0.0));
        let symbols: Vec<_> = [Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq]
            .map(Op::symbol)
            .into();
        assert_eq!(symbols, ["<", "<=", ">", ">=", "=="]);
    }
}

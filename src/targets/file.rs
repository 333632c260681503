//! A targets file (`--targets slo.toml`), shared by `gate`, `render` and
//! `fill`, and the target forms a report file's `[targets]` accepts.
//!
//! ```toml
//! # expressions alone: each row is titled by its expression
//! targets = ["p95<300ms", "rps>=50"]
//!
//! # or titled, one table per target
//! [[target]]
//! name = "API p95"
//! expr = "p95{type:HTTP}<200ms over 30s"
//! ```
//!
//! A report file's `[targets]` table (`"Row title" = "p95<200ms"`) is read
//! here too, so the same lists can move between the two files. Every error
//! names the file, the line and the column inside the expression.

use crate::config::entry_error;
use crate::error::{Error, Result};
use crate::targets::expr::{self, RelativeExpr, TargetExpr};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// `targets = [...]` (titled by their text) or a `[targets]` table of
/// `title = expr`, read with the span of every expression.
#[derive(Default)]
pub(crate) struct TargetList {
    /// (title, the title is the expression itself, expression with its span).
    entries: Vec<(String, bool, Spanned<String>)>,
}

impl<'de> Deserialize<'de> for TargetList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = TargetList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a list of target expressions ([\"p95<300ms\", \"rps>=50\"]) or a table of `\"Row title\" = \"p95<300ms\"`",
                )
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<TargetList, A::Error> {
                let mut entries = Vec::new();
                while let Some(e) = seq.next_element::<Spanned<String>>()? {
                    entries.push((e.get_ref().trim().to_string(), true, e));
                }
                Ok(TargetList { entries })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<TargetList, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    entries.push((k, false, map.next_value::<Spanned<String>>()?));
                }
                // a table's rows come in title order, as they always have
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(TargetList { entries })
            }
        }
        d.deserialize_any(Visit)
    }
}

/// `[[target]] name = "..." expr = "..."`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedTarget {
    name: Option<String>,
    expr: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargetsFile {
    #[serde(default)]
    targets: TargetList,
    #[serde(default, rename = "target")]
    target: Vec<NamedTarget>,
}

/// Targets of a file: (row title, expression), and the relative targets
/// (`p95 <= +10% vs baseline`), which are judged only against a baseline.
pub(crate) type Entries = (Vec<(String, TargetExpr)>, Vec<RelativeExpr>);

/// Parse the `targets` list or table and the `[[target]]` tables of a file,
/// in that order, into (row title, expression) and the relative targets;
/// errors point at the file, line and column of the expression.
pub(crate) fn parse_entries(
    path: &Path,
    text: &str,
    list: TargetList,
    named: Vec<NamedTarget>,
) -> Result<Entries> {
    let mut out = Vec::new();
    let mut relative = Vec::new();
    for (i, (title, untitled, value)) in list.entries.into_iter().enumerate() {
        let key = if untitled {
            format!("#{}", i + 1)
        } else {
            title.clone()
        };
        if expr::is_relative(value.get_ref()) {
            let parsed = expr::parse_relative(value.get_ref())
                .map_err(|e| entry_error(path, text, "targets", &key, &value, e))?;
            relative.push(parsed);
            continue;
        }
        let parsed = expr::parse(value.get_ref())
            .map_err(|e| entry_error(path, text, "targets", &key, &value, e))?;
        out.push((title, parsed));
    }
    for (i, t) in named.into_iter().enumerate() {
        let key = t.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        if expr::is_relative(t.expr.get_ref()) {
            let parsed = expr::parse_relative(t.expr.get_ref())
                .map_err(|e| entry_error(path, text, "target", &key, &t.expr, e))?;
            relative.push(parsed);
            continue;
        }
        let parsed = expr::parse(t.expr.get_ref())
            .map_err(|e| entry_error(path, text, "target", &key, &t.expr, e))?;
        let title = t.name.unwrap_or_else(|| parsed.text.clone());
        out.push((title, parsed));
    }
    Ok((out, relative))
}

/// Read a targets file: (row title, expression) in file order, the
/// `targets` list first, then the `[[target]]` tables; its relative targets
/// are left to [`load_relative`].
pub fn load(path: &Path) -> Result<Vec<(String, TargetExpr)>> {
    Ok(load_all(path)?.0)
}

/// The relative targets (`p95 <= +10% vs baseline`) of a targets file.
pub fn load_relative(path: &Path) -> Result<Vec<RelativeExpr>> {
    Ok(load_all(path)?.1)
}

/// Both kinds of target of a file; a file with neither is an error.
fn load_all(path: &Path) -> Result<Entries> {
    let text = crate::input::read_text(path)?;
    let raw: RawTargetsFile = toml::from_str(&text).map_err(|e| {
        let (line, col) = e
            .span()
            .map(|s| crate::config::line_col(&text, s.start))
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Error::parse(path, line, col, crate::config::did_you_mean(e.message()))
    })?;
    let entries = parse_entries(path, &text, raw.targets, raw.target)?;
    if entries.0.is_empty() && entries.1.is_empty() {
        return Err(Error::parse(
            path,
            None,
            None,
            "no targets in the file; expected `targets = [\"p95<300ms\", ...]` or [[target]] tables with `expr = \"...\"`",
        ));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Vec<(String, TargetExpr)>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("slo.toml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn a_list_and_named_tables_in_file_order() {
        let t = load_text(
            "targets = [\"p95<300ms\", \" rps>=50 \"]\n\n[[target]]\nname = \"API p95\"\nexpr = \"p95{type:HTTP}<200ms over 30s\"\n\n[[target]]\nexpr = \"errors==0\"\n",
        )
        .unwrap();
        let titles: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(titles, ["p95<300ms", "rps>=50", "API p95", "errors==0"]);
        assert_eq!(t[0].1.limit, 300.0);
        assert_eq!(t[1].1.limit, 50.0);
        assert_eq!(t[2].1.over_s, Some(30.0));
    }

    #[test]
    fn a_report_files_targets_table_reads_the_same() {
        let t = load_text("[targets]\n\"Throughput\" = \"rps>=50\"\n\"API p95\" = \"p95<250ms\"\n")
            .unwrap();
        assert_eq!(t[0].0, "API p95");
        assert_eq!(t[1].0, "Throughput");
        assert_eq!(t[1].1.limit, 50.0);
    }

    #[test]
    fn bad_expressions_name_the_file_line_and_column() {
        // the parser stops at the second `<`, the 5th character of the
        // string, whose opening quote is in column 25 of line 2: column 30
        let err = load_text("# SLO\ntargets = [\"p95<300ms\", \"p95<<1s\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("slo.toml"), "{err}");
        assert!(err.contains("line 2, column 30"), "{err}");
        assert!(err.contains("[targets] `#2`"), "{err}");

        let err = load_text("[[target]]\nname = \"x\"\nexpr = \"p95 < fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("[target] `x`"), "{err}");

        let err = load_text("[[target]]\nname = \"x\"\nexp = \"p95<1s\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("did you mean `expr`?"), "{err}");

        let err = load_text("targets = 3\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        assert!(err.contains("a list of target expressions"), "{err}");

        let err = load_text("# nothing\n").unwrap_err().to_string();
        assert!(err.contains("no targets"), "{err}");
    }
}

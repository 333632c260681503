//! Report rendering: markdown from the tera template, HTML from that markdown.
//!
//! Everything that comes from the data is escaped on its way into the markdown
//! (see [`escape_markdown`]): a `|` in an endpoint name cannot break a table and
//! a `<script>` cannot become markup. The HTML output additionally drops any raw
//! HTML the markdown might still contain.

pub mod chart;
pub mod report;

use crate::error::{Error, Result};
use std::path::Path;

/// The built-in report template (the reference report's structure).
pub const REPORT_TEMPLATE: &str = include_str!("../../templates/report.md.tera");

/// Escape text for markdown: table pipes, tag openers and emphasis marks.
/// Backticks are left alone: a code span cannot break a table (GFM handles `\|`
/// inside it) and HTML output escapes its content.
/// `<` is escaped only where it could open a tag, so `p95 < 200ms` stays legible.
pub fn escape_markdown(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.write_all(b"\\|")?,
            '\\' => out.write_all(b"\\\\")?,
            '*' => out.write_all(b"\\*")?,
            '\n' | '\r' => out.write_all(b" ")?,
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.write_all(b"&lt;")?
            }
            c => {
                let mut buf = [0u8; 4];
                out.write_all(c.encode_utf8(&mut buf).as_bytes())?
            }
        }
    }
    Ok(())
}

/// [`escape_markdown`] into a `String`.
pub fn escape_markdown_string(input: &str) -> String {
    let mut out = Vec::with_capacity(input.len());
    // Writing to a Vec cannot fail.
    let _ = escape_markdown(input, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Render a context with the built-in template, or with a user's template file.
pub fn render_markdown(context: &tera::Context, template: Option<&Path>) -> Result<String> {
    let mut tera = tera::Tera::default();
    tera.set_escape_fn(escape_markdown);
    tera.autoescape_on([".md"]);
    let (name, source) = match template {
        Some(p) => (p.display().to_string(), crate::input::read_text(p)?),
        None => ("report.md".to_string(), REPORT_TEMPLATE.to_string()),
    };
    // Registered under a `.md` name so that autoescaping (markdown flavour) applies.
    let registered = "report.md";
    tera.add_raw_template(registered, &source)
        .map_err(|e| template_error(&name, e))?;
    tera.render(registered, context)
        .map_err(|e| template_error(&name, e))
}

fn template_error(name: &str, e: tera::Error) -> Error {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Error::Template {
        name: name.to_string(),
        message,
    }
}

/// Markdown to a standalone HTML page. Raw HTML in the markdown is dropped, so
/// nothing from the data can inject markup.
pub fn markdown_to_html(markdown: &str, title: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, html};
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS).map(|ev| {
            match ev {
                Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
                other => other,
            }
        });
    let mut body = String::new();
    html::push_html(&mut body, parser);
    let mut escaped_title = String::new();
    for c in title.chars() {
        match c {
            '<' => escaped_title.push_str("&lt;"),
            '>' => escaped_title.push_str("&gt;"),
            '&' => escaped_title.push_str("&amp;"),
            c => escaped_title.push(c),
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{escaped_title}</title>\n<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2rem .5rem}}pre{{background:#f5f5f5;padding:.5rem}}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// Write a file atomically: a temporary file beside it, then a rename, so a
/// reader never sees half a report and a failure leaves nothing behind.
/// Refuses to write over any of `inputs`.
pub fn write_atomic(path: &Path, contents: &[u8], inputs: &[&Path]) -> Result<()> {
    use std::io::Write;
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(target) = canonical(path)
        && inputs
            .iter()
            .any(|i| canonical(i).as_ref() == Some(&target))
    {
        return Err(Error::Usage(format!(
            "{}: refusing to overwrite an input file",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".perfreport-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::write(path, e))?;
    tmp.write_all(contents).map_err(|e| Error::write(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::write(path, e))?;
    tmp.persist(path).map_err(|e| Error::write(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_tables_and_markup_safe() {
        assert_eq!(escape_markdown_string("a|b"), "a\\|b");
        assert_eq!(
            escape_markdown_string("<script>alert(1)</script>"),
            "&lt;script>alert(1)&lt;/script>"
        );
        assert_eq!(escape_markdown_string("p95 < 200ms"), "p95 < 200ms");
    }

    #[test]
    fn html_output_drops_raw_html() {
        let html = markdown_to_html("x <script>alert(1)</script> y", "t");
        assert!(!html.contains("<script>"));
    }
}

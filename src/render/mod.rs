//! Report rendering: markdown from the tera template, HTML from that markdown.
//!
//! Everything that comes from the data is escaped on its way into the markdown
//! (see [`escape_markdown`]): a `|` in an endpoint name cannot break a table and
//! a `<script>` cannot become markup. The HTML output additionally drops any raw
//! HTML the markdown might still contain.

pub mod diff;
pub mod fill;
pub mod html;
pub mod report;
pub mod svg;

use crate::error::{Error, Result};
use std::path::Path;

/// The built-in report template (the reference report's structure).
pub const REPORT_TEMPLATE: &str = include_str!("../../templates/report.md.tera");

/// Escape text for markdown: table pipes, tag openers, emphasis marks, the
/// `](` of links and images, and control characters (shown as `\u{1b}`).
/// Backticks are left alone: a code span cannot break a table (GFM handles `\|`
/// inside it) and HTML output escapes its content.
/// `<` is escaped only where it could open a tag, so `p95 < 200ms` stays legible.
pub fn escape_markdown(input: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let definition_end = definition_label_end(input);
    let mut chars = input.chars().peekable();
    let mut i = 0;
    while let Some(c) = chars.next() {
        i += 1;
        match c {
            '|' => out.write_all(b"\\|")?,
            '\\' => out.write_all(b"\\\\")?,
            '*' => out.write_all(b"\\*")?,
            // an inline link or image (`[x](javascript:...)`, `![x](https://...)`)
            // needs `](`; a Locust name such as `/request [tv]` stays as written
            ']' if chars.peek() == Some(&'(') => out.write_all(b"\\]")?,
            // a definition `[x]: url` at the start (reference links need one)
            ']' if i == definition_end => out.write_all(b"\\]")?,
            '\n' | '\r' => out.write_all(b" ")?,
            // a terminal escape in a name is shown, not kept as a raw byte
            c if c.is_control() && c != '\t' => write!(out, "{}", c.escape_unicode())?,
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

/// The 1-based char position of the `]` of `[label]:` when the text starts
/// with one (it could define a link target), else 0.
fn definition_label_end(input: &str) -> usize {
    let lead = input.chars().take_while(|c| *c == ' ').count();
    let mut it = input.chars().skip(lead);
    if it.next() != Some('[') {
        return 0;
    }
    for (k, c) in it.enumerate() {
        match c {
            '[' => return 0,
            ']' => {
                let end = lead + k + 2;
                return if input.chars().nth(end) == Some(':') {
                    end
                } else {
                    0
                };
            }
            _ => {}
        }
    }
    0
}

/// [`escape_markdown`] into a `String`.
pub fn escape_markdown_string(input: &str) -> String {
    let mut out = Vec::with_capacity(input.len());
    // Writing to a Vec cannot fail.
    let _ = escape_markdown(input, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The name a user's template extends the built-in one by
/// (`{% extends "perfreport/report.md" %}`).
pub const BUILTIN_TEMPLATE_NAME: &str = "perfreport/report.md";

/// Render a context with the built-in template, or with a user's template file.
pub fn render_markdown(context: &tera::Context, template: Option<&Path>) -> Result<String> {
    let mut tera = tera::Tera::default();
    tera.set_escape_fn(escape_markdown);
    tera.autoescape_on([".md"]);
    let (name, source) = match template {
        Some(p) => (p.display().to_string(), crate::input::read_text(p)?),
        None => ("report.md".to_string(), REPORT_TEMPLATE.to_string()),
    };
    // Registered under `.md` names so that autoescaping (markdown flavour)
    // applies; the built-in one is there too, so that a user's template can
    // `{% extends "perfreport/report.md" %}` and replace only some blocks.
    let registered = "report.md";
    tera.add_raw_templates([
        (BUILTIN_TEMPLATE_NAME, REPORT_TEMPLATE),
        (registered, source.as_str()),
    ])
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

/// The Content-Security-Policy of the HTML report: no scripts, nothing
/// loaded from elsewhere; images only from the report's folder or inline.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Whether a link target may stay a link: a relative path, an anchor, or
/// http(s)/mailto. `javascript:`, `data:` and other schemes may not.
fn safe_link(url: &str) -> bool {
    match scheme(url) {
        None => true,
        Some(s) => matches!(s.as_str(), "http" | "https" | "mailto"),
    }
}

/// Whether an image may be shown: only from the report's own folder or an
/// inline `data:image/...`, never from a remote host (a tracking pixel).
fn safe_image(url: &str) -> bool {
    let t = url.trim();
    match scheme(t) {
        None => !t.starts_with("//") && !t.starts_with("\\\\") && !t.starts_with("/\\"),
        Some(s) => {
            s == "data"
                && t[5..]
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("image/")
        }
    }
}

/// The URL's scheme, lower-cased, when it has one (`JaVaScript:` too).
fn scheme(url: &str) -> Option<String> {
    // browsers drop ASCII whitespace and controls inside a scheme
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    let end = cleaned.find([':', '/', '?', '#'])?;
    if cleaned[end..].starts_with(':') && end > 0 {
        Some(cleaned[..end].to_ascii_lowercase())
    } else {
        None
    }
}

/// Markdown to a standalone HTML page. Raw HTML in the markdown is shown as
/// text, links to anything but http(s), mailto and relative paths lose their
/// link, images from anywhere but the report's folder become their alt text,
/// and a Content-Security-Policy forbids scripts and remote loads, so nothing
/// from the data can inject markup.
pub fn markdown_to_html(markdown: &str, title: &str) -> String {
    page(title, &markdown_body(markdown), "")
}

/// The HTML of a markdown text, made safe as [`markdown_to_html`] says. Lines
/// written on separate lines stay on separate lines (a soft break becomes
/// `<br>`): the report writes fields such as `**Test Date**: ...` one a line.
pub fn markdown_body(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
    // links cannot nest, images can (in alt text): a stack per kind
    let mut links: Vec<bool> = Vec::new();
    let mut images: Vec<bool> = Vec::new();
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS)
        .filter_map(|ev| match ev {
            Event::Html(t) | Event::InlineHtml(t) => Some(Event::Text(t)),
            Event::SoftBreak => Some(Event::HardBreak),
            Event::Start(Tag::Link { ref dest_url, .. }) => {
                let keep = safe_link(dest_url);
                links.push(keep);
                keep.then_some(ev)
            }
            Event::End(TagEnd::Link) => links.pop().unwrap_or(true).then_some(ev),
            Event::Start(Tag::Image { ref dest_url, .. }) => {
                let keep = safe_image(dest_url);
                images.push(keep);
                keep.then_some(ev)
            }
            Event::End(TagEnd::Image) => images.pop().unwrap_or(true).then_some(ev),
            other => Some(other),
        });
    let mut body = String::new();
    html::push_html(&mut body, parser);
    body
}

/// A standalone page around an already safe body, with the CSP; `extra_css`
/// is appended to the built-in style sheet.
pub fn page(title: &str, body: &str, extra_css: &str) -> String {
    let escaped_title = svg::esc(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<title>{escaped_title}</title>\n<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2rem .5rem}}pre{{background:#f5f5f5;padding:.5rem;overflow-x:auto}}{extra_css}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// Write a file atomically (see [`crate::output::files`]), refusing to
/// write over any of `inputs` (compared by identity, not by name) or to
/// rename over what is not a regular file.
pub fn write_atomic(path: &Path, contents: &[u8], inputs: &[&Path]) -> Result<()> {
    let mut set = crate::output::files::InputSet::new();
    for i in inputs {
        set.add(i);
    }
    crate::output::files::write_output(path, contents, &set, "output")
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
        assert_eq!(escape_markdown_string("[a](b) [c]"), "[a\\](b) [c]");
        assert_eq!(escape_markdown_string(" [a]: http://x"), " [a\\]: http://x");
        assert_eq!(escape_markdown_string("[a] b [c]: d"), "[a] b [c]: d");
        assert_eq!(escape_markdown_string("a\x1bb"), "a\\u{1b}b");
    }

    #[test]
    fn data_cannot_make_links_or_images() {
        let md = format!(
            "| {} | {} |\n|---|---|\n",
            escape_markdown_string("[x](javascript:alert(1))"),
            escape_markdown_string("![x](https://example.com/t.png)")
        );
        let html = markdown_to_html(&md, "t");
        assert!(!html.contains("<a "), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("[x](javascript:alert(1))"), "{html}");
    }

    #[test]
    fn html_keeps_only_safe_links_and_local_images() {
        let md = "[a](JaVaScript:alert(1)) [a2](<java\tscript:alert(1)>) [b](https://example.com/) [c](other.md#x) \
                  ![d](https://example.com/t.png) ![e](//example.com/t.png) ![f](chart.svg) \
                  [g](data:text/html,x) ![h](data:image/png;base64,AAAA)";
        let html = markdown_to_html(md, "t");
        assert!(!html.to_ascii_lowercase().contains("href=\"java"), "{html}");
        assert!(
            html.contains(">b</a>") && !html.contains(">a</a>"),
            "{html}"
        );
        assert!(
            html.contains(r#"<a href="https://example.com/">b</a>"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="other.md#x">c</a>"#), "{html}");
        assert!(
            !html.contains(r#"src="https:"#) && !html.contains(r#"src="//"#),
            "{html}"
        );
        assert!(html.contains(r#"<img src="chart.svg""#), "{html}");
        assert!(!html.contains("data:text"), "{html}");
        assert!(html.contains(r#"<img src="data:image/png"#), "{html}");
        assert!(html.contains("Content-Security-Policy"), "{html}");
    }

    #[test]
    fn html_output_drops_raw_html() {
        let html = markdown_to_html("x <script>alert(1)</script> y", "t");
        assert!(!html.contains("<script>"));
    }
}

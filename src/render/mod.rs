//! Report rendering: markdown from the tera template, HTML from the markdown.
pub mod chart;

//! The one error type of the library.
//!
//! Every variant names the file it is about, and where it can, the line (1-based)
//! and column, what was expected and what was found, so that the CLI can print a
//! single line a user can act on. Errors are always "exit 2" material: they mean
//! perfreport could not read or use its input, never that the service was slow.

use std::path::{Path, PathBuf};

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading input, evaluating or rendering.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read at all.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file was read but its content is not what it should be.
    #[error("{}: {}{}", .path.display(), location(*.line, *.column), .message)]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<u64>,
        /// 1-based column, when it helps.
        column: Option<u64>,
        /// What was expected and what was found.
        message: String,
    },
    /// A file that is a valid output of some tool, but not the one expected here
    /// (a failures CSV passed as stats, a Goose Markdown report, ...).
    #[error("{}: {message}", .path.display())]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// What the file is and what to pass instead.
        message: String,
    },
    /// A target expression that does not parse.
    #[error("bad target `{expr}`: {message} at character {}\n  {expr}\n  {}^", .position + 1, " ".repeat(*.position))]
    Target {
        /// The expression as given.
        expr: String,
        /// 0-based character offset where parsing failed.
        position: usize,
        /// What was expected there.
        message: String,
    },
    /// Inputs that cannot be used together (runs too different to compare, no overlap in time, ...).
    #[error("{0}")]
    Usage(String),
    /// A template failed to render; a bug in a template, or a user's `--template`.
    #[error("template {name}: {message}")]
    Template {
        /// The template name.
        name: String,
        /// Tera's message.
        message: String,
    },
}

fn location(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

impl Error {
    /// A parse error at a line (and optional column) of a file.
    pub fn parse(
        path: &Path,
        line: Option<u64>,
        column: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An I/O error on a file.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An output file could not be written.
    pub fn write(path: &Path, source: std::io::Error) -> Self {
        // tempfile wraps errors with the temporary path; the user knows the target
        let text = source.to_string();
        let text = text.split(" at path ").next().unwrap_or(&text).to_string();
        let source = std::io::Error::new(source.kind(), text);
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The file is of another kind than expected.
    pub fn wrong_kind(path: &Path, message: impl Into<String>) -> Self {
        Error::WrongKind {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

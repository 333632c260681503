//! Goose request log (`--request-log`, CSV or JSON lines). Not implemented yet: see issue 3.

use crate::error::{Error, Result};
use crate::model::Run;
use std::path::Path;

/// Read a Goose request log, streaming.
pub fn read(path: &Path, _json_lines: bool) -> Result<Run> {
    Err(Error::wrong_kind(
        path,
        "Goose request logs are not supported yet",
    ))
}

/// Combine a report and a request log of the same run.
pub fn combine(report: Run, _log: Run) -> Result<Run> {
    Ok(report)
}

//! Goose 0.19 JSON report (`--report-file report.json`, also `.json.gz`).
//! Not implemented yet: see issue 3.

use crate::error::{Error, Result};
use crate::model::Run;
use std::path::Path;

/// Read a Goose JSON report.
pub fn read(path: &Path) -> Result<Run> {
    Err(Error::wrong_kind(
        path,
        "Goose JSON reports are not supported yet",
    ))
}

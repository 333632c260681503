//! Resource samples of the server under test. Not implemented yet: see issue 4.

use crate::error::{Error, Result};
use crate::model::ResourceSeries;
use std::path::Path;

/// True when the text looks like a resource-sample file.
pub fn looks_like_resources(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    first.starts_with("timestamp,") && first.contains("rss")
}

/// Read a resource-sample file.
pub fn read(path: &Path) -> Result<ResourceSeries> {
    Err(Error::wrong_kind(
        path,
        "resource samples are not supported yet",
    ))
}

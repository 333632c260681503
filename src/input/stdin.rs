//! `-` for standard input where one file is expected (`--stats -`,
//! `--resources -`). Readers recognise a file by its content and then read
//! it, twice over, so standard input is first saved to a private temporary
//! file, within the input size limit; messages call it `<stdin>`.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How messages and outputs name standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// The file standard input was saved to, for [`shown`].
static SAVED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Standard input saved to a file; removed when dropped.
#[derive(Debug)]
pub struct SavedStdin {
    // removed with the file in it when dropped
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SavedStdin {
    /// The file to read instead of `-`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SavedStdin {
    fn drop(&mut self) {
        if let Ok(mut s) = SAVED.lock() {
            *s = None;
        }
    }
}

/// Save `reader` (standard input) to a temporary file, refusing more than
/// `limit` bytes: the same `--max-input-size` a file is held to.
pub fn save(mut reader: impl Read, limit: u64) -> Result<SavedStdin> {
    let name = Path::new(STDIN_NAME);
    let dir = tempfile::Builder::new()
        .prefix("perfreport-stdin")
        .tempdir()
        .map_err(|e| Error::io(name, e))?;
    // not named `<stdin>`: a label comes from the file name
    let path = dir.path().join("stdin");
    let mut file = std::fs::File::create(&path).map_err(|e| Error::io(name, e))?;
    let copied = std::io::copy(&mut reader.by_ref().take(limit), &mut file)
        .map_err(|e| Error::io(name, e))?;
    if copied == limit {
        let mut one = [0u8; 1];
        if reader.read(&mut one).map_err(|e| Error::io(name, e))? > 0 {
            return Err(super::too_big(name, limit, false));
        }
    }
    if let Ok(mut s) = SAVED.lock() {
        *s = Some(path.clone());
    }
    Ok(SavedStdin { _dir: dir, path })
}

/// A path as messages and outputs show it: `<stdin>` for the file standard
/// input was saved to, else the path itself.
pub fn shown(path: &Path) -> String {
    match SAVED.lock().ok().and_then(|s| s.clone()) {
        Some(saved) if saved == path => STDIN_NAME.to_string(),
        _ => path.display().to_string(),
    }
}

/// A message with the saved file's path replaced by `<stdin>`.
pub fn shown_in(message: &str) -> String {
    match SAVED.lock().ok().and_then(|s| s.clone()) {
        Some(saved) => message.replace(&saved.display().to_string(), STDIN_NAME),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_input_is_held_to_the_size_limit() {
        let err = save(&b"0123456789"[..], 9).unwrap_err().to_string();
        assert!(
            err.starts_with("<stdin>: larger than the input size limit of 9 bytes"),
            "{err}"
        );
        let saved = save(&b"0123456789"[..], 10).unwrap();
        assert_eq!(std::fs::read(saved.path()).unwrap(), b"0123456789");
        assert_eq!(shown(saved.path()), STDIN_NAME);
        let msg = format!("{}: line 2: bad", saved.path().display());
        assert_eq!(shown_in(&msg), "<stdin>: line 2: bad");
    }
}

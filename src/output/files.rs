//! Writing output files without ever losing an input or replacing what is
//! not a regular file.
//!
//! * Inputs are compared by identity (device + inode, following symlinks), so
//!   a symlink, a hard link or `./x/../x` cannot slip an input past a check
//!   by name. Every output of a command is checked before the first is
//!   written, so a refusal leaves nothing half-written.
//! * A regular file is replaced atomically (a temporary file beside it, then
//!   a rename); an existing file keeps its mode, a new one gets `0666` minus
//!   the umask, like any Unix tool. A symlink to a regular file is followed
//!   and its target replaced; the link stays.
//! * A character device (`/dev/null`, `/dev/stdout` on a terminal) or a FIFO
//!   with a reader is written through; a FIFO without a reader, a socket, a
//!   block device, a directory or a dangling symlink is refused.

use crate::error::{Error, Result};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The files a command read, by identity, to refuse any output that would
/// replace or append to one of them.
#[derive(Debug, Clone, Default)]
pub struct InputSet {
    files: Vec<(PathBuf, (u64, u64))>,
}

impl InputSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a file that was (or will be) read; a path that does not exist
    /// is skipped, as it cannot be overwritten by mistake.
    pub fn add(&mut self, path: &Path) {
        if let Ok(m) = std::fs::metadata(path) {
            let id = (m.dev(), m.ino());
            if !self.files.iter().any(|(_, i)| *i == id) {
                self.files.push((path.to_path_buf(), id));
            }
        }
    }

    /// Record several files.
    pub fn extend<'a>(&mut self, paths: impl IntoIterator<Item = &'a PathBuf>) {
        for p in paths {
            self.add(p);
        }
    }

    /// The input that `path` is the same file as, if any.
    pub fn same_as(&self, path: &Path) -> Option<&Path> {
        let m = std::fs::metadata(path).ok()?;
        // a device such as /dev/null is no input's content, whatever was read from it
        if !m.file_type().is_file() {
            return None;
        }
        let id = (m.dev(), m.ino());
        self.files
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(p, _)| p.as_path())
    }

    /// Check that `path` may be written as an output: not an input, and a
    /// regular file, a writable device or FIFO, or not there yet.
    pub fn check_output(&self, path: &Path, flag: &str) -> Result<()> {
        if let Some(input) = self.same_as(path) {
            return Err(Error::Usage(format!(
                "{flag} {}: this is the input file {}; refusing to overwrite an input (choose another output path)",
                path.display(),
                input.display()
            )));
        }
        classify(path, flag).map(|_| ())
    }
}

/// What an output path is.
#[derive(Debug)]
enum Target {
    /// Not there yet: created atomically.
    New(PathBuf),
    /// A regular file (after following symlinks): replaced atomically.
    Regular(PathBuf, u32),
    /// A character device or FIFO: written through.
    Stream,
    /// `/dev/stdout` or `/dev/stderr`: written to the already open stream,
    /// so `>> log` appends and `> file` is not renamed over.
    Std(i32),
}

/// The standard stream a path names (`/dev/stdout`, `/dev/fd/1`, ...).
fn std_stream(path: &Path) -> Option<i32> {
    match path.to_str()? {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(1),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(2),
        _ => None,
    }
}

fn classify(path: &Path, flag: &str) -> Result<Target> {
    let refuse = |what: &str| {
        Err(Error::Usage(format!(
            "{flag} {}: {what}; refusing to write the output there",
            path.display()
        )))
    };
    if let Some(fd) = std_stream(path) {
        return Ok(Target::Std(fd));
    }
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target::New(path.to_path_buf()));
        }
        Err(e) => return Err(Error::write(path, e)),
    };
    let meta = if link.file_type().is_symlink() {
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(_) => return refuse("a symlink to nothing (dangling)"),
        }
    } else {
        link
    };
    let ft = meta.file_type();
    if ft.is_file() {
        // the rename must replace the file the link points to, never the link
        let real = if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::canonicalize(path).map_err(|e| Error::write(path, e))?
        } else {
            path.to_path_buf()
        };
        Ok(Target::Regular(real, meta.mode() & 0o7777))
    } else if ft.is_char_device() || ft.is_fifo() {
        Ok(Target::Stream)
    } else if ft.is_dir() {
        refuse("a directory")
    } else if ft.is_socket() {
        refuse("a socket")
    } else if ft.is_block_device() {
        refuse("a block device")
    } else {
        refuse("not a regular file")
    }
}

/// Write an output file: atomically when it is (or will be) a regular file,
/// through when it is a character device or a FIFO with a reader. Refuses to
/// write over any of `inputs`.
pub fn write_output(path: &Path, contents: &[u8], inputs: &InputSet, flag: &str) -> Result<()> {
    // a figure computed without a spilled second that could not be read back
    // must not reach a file
    crate::model::check_spill()?;
    inputs.check_output(path, flag)?;
    match classify(path, flag)? {
        Target::New(p) => write_atomic_at(&p, path, contents, None),
        Target::Regular(p, mode) => write_atomic_at(&p, path, contents, Some(mode)),
        Target::Stream => write_through(path, contents, flag),
        Target::Std(1) => write_stdout(&String::from_utf8_lossy(contents)),
        Target::Std(_) => {
            let mut err = std::io::stderr().lock();
            err.write_all(contents)
                .and_then(|_| err.flush())
                .map_err(|e| Error::write(path, e))
        }
    }
}

fn write_through(path: &Path, contents: &[u8], flag: &str) -> Result<()> {
    // O_NONBLOCK: opening a FIFO nobody reads fails (ENXIO) instead of hanging
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let file = match file {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(Error::Usage(format!(
                "{flag} {}: a FIFO that nobody reads; start its reader first",
                path.display()
            )));
        }
        Err(e) => return Err(Error::write(path, e)),
    };
    // back to blocking writes, so a slow reader is waited for
    // SAFETY: fcntl on a file descriptor this function owns.
    unsafe {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let mut file = file;
    file.write_all(contents)
        .and_then(|_| file.flush())
        .map_err(|e| Error::write(path, e))
}

fn write_atomic_at(real: &Path, shown: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = match real.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // 0666 at creation lets the kernel apply the umask (tempfile's default is 0600)
    let mut tmp = tempfile::Builder::new()
        .prefix(".perfreport-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(&dir)
        .map_err(|e| Error::write(shown, e))?;
    tmp.write_all(contents)
        .map_err(|e| Error::write(shown, e))?;
    if let Some(mode) = mode {
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::write(shown, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::write(shown, e))?;
    tmp.persist(real)
        .map_err(|e| Error::write(shown, e.error))?;
    Ok(())
}

/// Write to stdout. A closed pipe (`| head`) is success, like other Unix
/// filters; any other failure (`> /dev/full`) is an error.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::write(Path::new("<stdout>"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_is_refused_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "data").unwrap();
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let mut set = InputSet::new();
        set.add(&input);
        let err = write_output(&link, b"report", &set, "--out").unwrap_err();
        assert!(err.to_string().contains("in.csv"), "{err}");
        assert_eq!(std::fs::read(&input).unwrap(), b"data");
    }

    #[test]
    fn a_symlink_to_a_regular_file_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.md");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_output(&link, b"new", &InputSet::new(), "--out").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let mode = std::fs::metadata(&target).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_dangling_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let err = write_output(&link, b"x", &InputSet::new(), "--out").unwrap_err();
        assert!(err.to_string().contains("dangling"), "{err}");
    }
}

//! Memory-mapped reading of large uncompressed inputs (the request log), with
//! a guard so that a file cut short while it is mapped ends in an error the
//! reader can explain rather than in a crash.
//!
//! Why map: `read` copies every byte from the page cache into the reader's
//! buffers; for a 1 GB request log that copy was ~11 % of all the CPU time
//! of `gate` (issue 15). A mapping reads the page cache in place.
//!
//! Why a guard: touching a page of a mapped file past its end, as when
//! another process truncates the file while it is read, raises `SIGBUS`,
//! which kills the process, and a CI gate must end in an error it can
//! explain. [`enable`] installs a `SIGBUS` handler that, for an address inside
//! a mapping made here, maps a page of zeros in place of the missing one and
//! notes it, so that the read finishes and [`Mapping::truncated`] says what
//! happened; for any other address it restores the default action, which
//! then ends the process as before. The handler is installed only by a
//! program that asks for it (the `perfreport` command does, at start): a
//! library should not take over a process-wide signal unasked, and without it
//! readers use `read`.
//!
//! Pages are dropped from the process ([`Mapping::release`]) as soon as the
//! records in them are done, so that the resident set does not grow with the
//! file (the pages stay in the page cache; touching one again faults it back
//! in from there).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Mappings alive at once that the handler knows (one per request log being
/// read; a reader that finds no free slot uses `read`).
const SLOTS: usize = 16;

/// Start and end addresses of the live mappings (0, 0: a free slot).
static RANGES: [(AtomicUsize, AtomicUsize); SLOTS] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; SLOTS];
/// Per slot: whether a page of it was missing (the file was cut short).
static CUT: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
static PAGE_BYTES: AtomicUsize = AtomicUsize::new(4096);
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Install the `SIGBUS` guard and let readers map large files. Call once,
/// early, from a program (not from a library). Returns whether mapping is on.
pub fn enable() -> bool {
    if ENABLED.load(Ordering::Acquire) {
        return true;
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page <= 0 {
        return false;
    }
    PAGE_BYTES.store(page as usize, Ordering::Relaxed);
    // SAFETY: a zeroed sigaction is valid; the handler only uses
    // async-signal-safe operations (atomics, mmap, signal).
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) == 0
    };
    ENABLED.store(installed, Ordering::Release);
    installed
}

/// Whether [`enable`] has installed the guard.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

extern "C" fn on_sigbus(_signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    for (slot, (start, end)) in RANGES.iter().enumerate() {
        let (s, e) = (start.load(Ordering::Acquire), end.load(Ordering::Acquire));
        if s != 0 && addr >= s && addr < e {
            let page = PAGE_BYTES.load(Ordering::Relaxed);
            let at = addr & !(page - 1);
            // SAFETY: the page lies inside our own read-only mapping; a fixed
            // anonymous mapping replaces it with zeros.
            let zeros = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if zeros != libc::MAP_FAILED {
                CUT[slot].store(true, Ordering::Release);
                return;
            }
        }
    }
    // not ours (or no page could be put in): the default action, when the
    // faulting access runs again
    // SAFETY: signal is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

/// A read-only mapping of a whole file, known to the `SIGBUS` guard.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
    slot: usize,
}

// SAFETY: the mapping is read-only and lives as long as the value; its bytes
// may be read from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared reads only.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Map `file` (`len` bytes, its size now), or `None` when the guard is
    /// not installed, the file is empty, every slot is taken or the mapping
    /// fails: the caller then reads the file.
    pub fn new(file: &std::fs::File, len: u64) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        if !enabled() || len == 0 {
            return None;
        }
        let len = usize::try_from(len).ok()?;
        // SAFETY: a fresh shared read-only mapping of an open file.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        let start = ptr as usize;
        for (slot, (s, e)) in RANGES.iter().enumerate() {
            if s.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                CUT[slot].store(false, Ordering::Release);
                e.store(start + len, Ordering::Release);
                // SAFETY: advice on our own mapping; failure is harmless.
                unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
                return Some(Mapping { ptr, len, slot });
            }
        }
        // SAFETY: unmapping what was just mapped.
        unsafe { libc::munmap(ptr, len) };
        None
    }

    /// The file's bytes (zeros where it was cut short while mapped).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes at `ptr` for the mapping's lifetime
        // (missing pages are replaced by zeros, see the module docs).
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Drop the pages of `range` from the process (they stay in the page
    /// cache); reading them again is correct, just slower.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let page = PAGE_BYTES.load(Ordering::Relaxed);
        // only whole pages inside the range: its neighbours may be in use
        let from = range.start.next_multiple_of(page);
        let to = range.end.min(self.len) / page * page;
        if from < to {
            // SAFETY: whole pages of our own file-backed mapping; MADV_DONTNEED
            // on a shared file mapping only drops the page table entries.
            unsafe {
                libc::madvise(
                    (self.ptr as *mut u8).add(from).cast(),
                    to - from,
                    libc::MADV_DONTNEED,
                )
            };
        }
    }

    /// Whether a page was missing when read: the file became shorter while
    /// it was mapped, and what was read of it cannot be trusted.
    pub fn truncated(&self) -> bool {
        CUT[self.slot].load(Ordering::Acquire)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping, once.
        unsafe { libc::munmap(self.ptr, self.len) };
        RANGES[self.slot].1.store(0, Ordering::Release);
        RANGES[self.slot].0.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_file_cut_short_while_mapped_reads_as_zeros_and_says_so() {
        assert!(enable());
        let page = PAGE_BYTES.load(Ordering::Relaxed);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![b'x'; 4 * page]).unwrap();
        let map = Mapping::new(&file, (4 * page) as u64).expect("mapped");
        assert_eq!(map.bytes()[0], b'x');
        assert!(!map.truncated());
        file.set_len(page as u64).unwrap();
        // without the guard this read would end the process with SIGBUS
        assert_eq!(map.bytes()[3 * page + 5], 0);
        assert!(map.truncated());
        assert_eq!(map.bytes()[10], b'x');
    }

    #[test]
    fn released_pages_read_back_the_same_bytes() {
        assert!(enable());
        let page = PAGE_BYTES.load(Ordering::Relaxed);
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..3 * page).map(|i| (i % 251) as u8).collect();
        file.write_all(&data).unwrap();
        let map = Mapping::new(&file, data.len() as u64).expect("mapped");
        assert_eq!(map.bytes(), &data[..]);
        map.release(1..data.len());
        assert_eq!(map.bytes(), &data[..]);
        assert!(!map.truncated());
    }
}

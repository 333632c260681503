//! Fast path for one line of Goose's JSON Lines request log
//! (`--request-format json`): a hand-rolled, allocation-free scanner that
//! reads the fields the request-log reader uses (`elapsed`, `raw.method`,
//! `name`, `response_time`, `response_time_fraction_us`, `status_code`,
//! `success`, `update`, `user`, `error`) and checks the JSON syntax of the
//! rest without decoding it.
//!
//! serde_json stays the oracle: the scanner answers only for lines it reads
//! with certainty, and returns `None` for anything else, which the caller
//! hands to serde_json (so that an error keeps its line, column and wording,
//! and hostile input keeps serde_json's behaviour). It is deliberately
//! stricter than serde_json, never looser:
//! - a byte below 0x20 anywhere in the line (a control character in a string
//!   is an error; a tab or CR between tokens is valid but rare) -> serde;
//! - a non-ASCII byte: the whole line must be valid UTF-8 (serde_json checks
//!   the strings it decodes, not the ones it skips) -> else serde;
//! - a key with a backslash (serde_json would match it after unescaping), a
//!   known key twice (serde's derive refuses duplicates), a missing required
//!   field, a value of another type (`null`, a float, a negative number, a
//!   number of 20 digits or more, a status above 65,535, `raw` as an array),
//!   nesting deeper than [`MAX_DEPTH`], a lone or misordered UTF-16
//!   surrogate in a decoded string -> serde;
//! - anything after the closing brace -> serde.
//!
//! Keys are matched in any order; unknown keys' values are skipped with
//! JSON's grammar (strings with their escapes, numbers, literals, nested
//! objects and arrays). Strings are borrowed from the line unless they hold
//! a backslash, then decoded (escapes, `\uXXXX`, surrogate pairs) into
//! reused buffers.
//!
//! How a line is read (inlined into the request-log reader's job loop,
//! which is compiled for AVX2, BMI and POPCNT where the CPU has them:
//! -7.5 % CPU time in paired runs, issue 15's third round): one SIMD pass
//! ([`classify`], AVX2 where the CPU has it, else SSE2) makes bitmaps of its quotes and backslashes and flags any
//! control or non-ASCII byte; a string then ends at the next quote bit (with
//! backslashes: the next quote not consumed by an escape, each escape
//! checked). The first line of a job is read by the general path (keys in
//! any order, any spacing), which records the line's shape ([`Template`]):
//! the bytes between its values and each value's kind. Goose writes every
//! line with the same keys in the same order, so each next line is read by
//! comparing its bytes between values with the shape's, 8 at a time, and
//! parsing only the values; a line that differs anywhere is read by the
//! general path, whose shape becomes the template.
//!
//! Where the time goes (`perf record` of `gate --stats` on a 0.6 GB,
//! 1.14 M-line JSON Lines log of `JSONL=1 benches/reqlog.sh`'s shape, quiet
//! 2-core machine; issue 15, last round, the file memory-mapped as for the
//! CSV): ~43 % reading a line through the template (`scan_line`: comparing
//! ~24 literals, finding ~12 strings' ends, parsing ~10 numbers) and ~3 %
//! more skipping numbers we do not use, ~9 % the SIMD pass, ~3 % finding
//! newlines; ~9 % `Scan::add` (the same per-row accumulation as the CSV
//! path) and ~4 % more in its per-second exact times; ~16 % the kernel
//! mapping the file's pages in and out (the file is twice the CSV's
//! size for the same rows). Instructions (callgrind, the first 200,000
//! lines): ~5,650 a line with the general path alone, ~4,240 with the
//! template; with serde_json for every line (before) the reader was ~2.5x
//! slower in CPU time (10.5-10.8 s of user time against 2.3-3.3 s on the
//! loaded machine).
//! What is left is per-value work: ~2,300 instructions a line in
//! `scan_line` for ~23 values and ~24 literals, about 100 per value
//! (bounds checks, the slot dispatch, number parsing), which a further step
//! would cut by comparing literals and parsing numbers with SIMD across the
//! whole line, as simdjson's stage 2 does.
//!
//! The tests check it against serde_json on every line of the real fixtures
//! (through the template, and through the general path) and on generated
//! awkward lines (escapes, reordered and extra keys, whitespace, unicode,
//! hostile values, mutated lines of a known shape).

/// Deepest nesting of skipped values the fast path follows (the line's
/// object is depth 1); deeper lines go to serde_json.
pub(crate) const MAX_DEPTH: u32 = 32;

/// The fields of one request-log line the reader uses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Fields<'a> {
    pub elapsed_ms: u64,
    pub method: &'a [u8],
    pub name: &'a [u8],
    pub response_time_ms: u64,
    /// `response_time_fraction_us` (0 when absent, as serde's default).
    pub fraction_us: u64,
    pub status: u16,
    pub success: bool,
    pub update: bool,
    pub user: u64,
    /// `error` ("" when absent).
    pub error: &'a [u8],
}

/// Buffers for strings that held escapes, reused from line to line, the
/// last line's shape ([`Template`]), and whether the CPU has AVX2 (asked
/// once, not per line).
pub(crate) struct Scratch {
    method: Vec<u8>,
    name: Vec<u8>,
    error: Vec<u8>,
    avx2: bool,
    /// The shape of the last line the general path read.
    template: Option<Template>,
    /// Whether templates are made (off: every line takes the general path).
    templates: bool,
    /// Lines read through the template (for the tests).
    #[cfg(test)]
    templated: u64,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            method: Vec::new(),
            name: Vec::new(),
            error: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            avx2: std::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            avx2: false,
            template: None,
            templates: true,
            #[cfg(test)]
            templated: 0,
        }
    }
}

/// Lines up to this long get a bitmap of their quotes (longer ones, rare,
/// look for each string's end with memchr).
const MASK_BYTES: usize = 2048;

/// A string value's place in the line, between its quotes.
#[derive(Clone, Copy, Default)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

const ELAPSED: u16 = 1;
const RAW: u16 = 1 << 1;
const NAME: u16 = 1 << 2;
const RESPONSE_TIME: u16 = 1 << 3;
const FRACTION: u16 = 1 << 4;
const STATUS: u16 = 1 << 5;
const SUCCESS: u16 = 1 << 6;
const UPDATE: u16 = 1 << 7;
const USER: u16 = 1 << 8;
const ERROR: u16 = 1 << 9;
/// `raw.method` (set with [`RAW`]).
const METHOD: u16 = 1 << 10;
/// Every key [`scan_line`] looks for, at either level.
const NAMES: [&[u8]; 11] = [
    b"elapsed",
    b"raw",
    b"method",
    b"name",
    b"response_time",
    b"response_time_fraction_us",
    b"status_code",
    b"success",
    b"update",
    b"user",
    b"error",
];
const REQUIRED: u16 = ELAPSED | RAW | NAME | RESPONSE_TIME | STATUS | SUCCESS | USER;

/// Whether the line has no byte below 0x20 and, if it has non-ASCII bytes,
/// is valid UTF-8 (the check of a line whose bytes [`classify`] flagged, or
/// that is too long for it).
fn plain_text(line: &[u8]) -> bool {
    !line.iter().any(|&b| b < 0x20) && (line.is_ascii() || std::str::from_utf8(line).is_ok())
}

/// What one pass over a line finds: the bitmaps of its quotes and of its
/// backslashes (bit `i % 64` of word `i / 64`; the words past the line's end
/// are not written), and whether it has a backslash and a byte below 0x20 or
/// above 0x7f.
#[inline]
fn classify(line: &[u8], quotes: &mut [u64], backslashes: &mut [u64], avx2: bool) -> (bool, bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only where the CPU has AVX2 (Scratch::default).
        return unsafe { classify_line_avx2(line, quotes, backslashes) };
    }
    classify_line(line, quotes, backslashes, avx2)
}

/// [`classify`] compiled with AVX2, so that [`classify_avx2`] is inlined
/// into the loop and loads the line's bytes directly.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn classify_line_avx2(line: &[u8], quotes: &mut [u64], backslashes: &mut [u64]) -> (bool, bool) {
    classify_line(line, quotes, backslashes, true)
}

/// The loop of [`classify`].
#[inline(always)]
fn classify_line(
    line: &[u8],
    quotes: &mut [u64],
    backslashes: &mut [u64],
    avx2: bool,
) -> (bool, bool) {
    let (mut backslash, mut flagged) = (0u64, 0u64);
    let mut blocks = line.chunks_exact(64);
    for ((wq, ws), block) in quotes
        .iter_mut()
        .zip(backslashes.iter_mut())
        .zip(&mut blocks)
    {
        let Ok(b) = <&[u8; 64]>::try_from(block) else {
            break;
        };
        let (q, s, f) = classify_block(b, avx2);
        *wq = q;
        *ws = s;
        backslash |= s;
        flagged |= f;
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // spaces: neither quotes, backslashes nor flagged
        let mut b = [b' '; 64];
        b[..rest.len()].copy_from_slice(rest);
        let (q, s, f) = classify_block(&b, avx2);
        quotes[line.len() / 64] = q;
        backslashes[line.len() / 64] = s;
        backslash |= s;
        flagged |= f;
    }
    (backslash != 0, flagged != 0)
}

/// Bitmasks of `"`, of `\\` and of bytes below 0x20 or above 0x7f in 64 bytes.
#[inline]
fn classify_block(block: &[u8; 64], avx2: bool) -> (u64, u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2 {
            // SAFETY: `avx2` is true only where the CPU has AVX2 (Scratch::default).
            return unsafe { classify_avx2(block) };
        }
        // SAFETY: SSE2 is part of every x86_64 CPU.
        unsafe { classify_sse2(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = avx2;
        let (mut q, mut s, mut f) = (0u64, 0u64, 0u64);
        for (i, &c) in block.iter().enumerate() {
            q |= ((c == b'"') as u64) << i;
            s |= ((c == b'\\') as u64) << i;
            f |= ((c < 0x20 || c > 0x7f) as u64) << i;
        }
        (q, s, f)
    }
}

/// [`classify_block`] with SSE2 (part of every x86_64). A signed compare
/// with 0x20 catches both the control bytes and those above 0x7f (negative).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn classify_sse2(block: &[u8; 64]) -> (u64, u64, u64) {
    use std::arch::x86_64::*;
    let quote = _mm_set1_epi8(b'"' as i8);
    let backslash = _mm_set1_epi8(b'\\' as i8);
    let space = _mm_set1_epi8(0x20);
    let (mut q, mut s, mut f) = (0u64, 0u64, 0u64);
    for i in 0..4 {
        // SAFETY: 16 bytes at 16 * i < 64 are inside `block`.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * i).cast()) };
        q |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16 as u64) << (16 * i);
        s |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) as u16 as u64) << (16 * i);
        f |= (_mm_movemask_epi8(_mm_cmplt_epi8(v, space)) as u16 as u64) << (16 * i);
    }
    (q, s, f)
}

/// [`classify_sse2`] with AVX2: half the instructions.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn classify_avx2(block: &[u8; 64]) -> (u64, u64, u64) {
    use std::arch::x86_64::*;
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let space = _mm256_set1_epi8(0x20);
    let (mut q, mut s, mut f) = (0u64, 0u64, 0u64);
    for i in 0..2 {
        // SAFETY: 32 bytes at 32 * i < 64 are inside `block`; AVX2 is enabled.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(32 * i).cast()) };
        q |= (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote)) as u32 as u64) << (32 * i);
        s |= (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, backslash)) as u32 as u64) << (32 * i);
        // signed: bytes above 0x7f are negative
        f |= (_mm256_movemask_epi8(_mm256_cmpgt_epi8(space, v)) as u32 as u64) << (32 * i);
    }
    (q, s, f)
}

/// Position of the first bit at or after `from` in a [`classify`] bitmap.
#[inline(always)]
fn next_bit(quotes: &[u64], from: usize) -> Option<usize> {
    let mut w = from / 64;
    let mut bits = quotes.get(w)? & (!0u64 << (from % 64));
    while bits == 0 {
        w += 1;
        bits = *quotes.get(w)?;
    }
    Some(w * 64 + bits.trailing_zeros() as usize)
}

/// A cursor over one line.
struct Cursor<'a, 'q> {
    b: &'a [u8],
    i: usize,
    /// The line's quotes and backslashes ([`classify`]), unless the line is
    /// too long for them.
    masks: Option<(&'q [u64], &'q [u64])>,
    /// Whether the line has a backslash (else a string ends at the next quote).
    backslash: bool,
}

impl<'a> Cursor<'a, '_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skip spaces (the only whitespace left once control bytes are excluded).
    #[inline(always)]
    fn ws(&mut self) {
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string at the cursor (its opening quote); its escapes are checked
    /// as serde_json checks a skipped string's (a known escape, four hex
    /// digits after `\u`).
    #[inline(always)]
    fn string(&mut self) -> Option<Span> {
        self.eat(b'"')?;
        let start = self.i;
        if let Some((quotes, backslashes)) = self.masks {
            let end = next_bit(quotes, start)?;
            if !self.backslash {
                self.i = end + 1;
                return Some(Span {
                    start,
                    end,
                    escaped: false,
                });
            }
            return self.string_with_escapes(quotes, backslashes, start, end);
        }
        let mut escaped = false;
        loop {
            let at = self.i + memchr::memchr2(b'"', b'\\', &self.b[self.i..])?;
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Some(Span {
                    start,
                    end: at,
                    escaped,
                });
            }
            escaped = true;
            self.i = at + 2 + self.escape(at)?;
        }
    }

    /// The end of a string from `start` in a line with backslashes: each
    /// backslash before the next quote starts an escape, checked and
    /// stepped over (an escaped quote does not end the string).
    fn string_with_escapes(
        &mut self,
        quotes: &[u64],
        backslashes: &[u64],
        start: usize,
        mut end: usize,
    ) -> Option<Span> {
        let mut i = start;
        let mut escaped = false;
        while let Some(at) = next_bit(backslashes, i).filter(|&at| at < end) {
            escaped = true;
            i = at + 2 + self.escape(at)?;
            if end < i {
                end = next_bit(quotes, i)?;
            }
        }
        self.i = end + 1;
        Some(Span {
            start,
            end,
            escaped,
        })
    }

    /// Check the escape whose backslash is at `at`, as serde_json checks a
    /// skipped string's: bytes it has beyond the backslash and its letter.
    #[inline]
    fn escape(&self, at: usize) -> Option<usize> {
        match *self.b.get(at + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(0),
            b'u' => {
                let hex = self.b.get(at + 2..at + 6)?;
                hex.iter().all(u8::is_ascii_hexdigit).then_some(4)
            }
            _ => None,
        }
    }

    /// A whole number that fits a `u64` as serde_json reads one for a `u64`
    /// field: digits, no leading zero, at most 19 of them (longer ones go to
    /// serde, which turns overflowing ones into floats and refuses them). A
    /// fraction or exponent after it fails the caller's check for `,`/`}`.
    #[inline(always)]
    fn uint(&mut self) -> Option<u64> {
        let first = self.peek()?;
        if first == b'0' {
            self.i += 1;
            return match self.peek() {
                Some(b'0'..=b'9') => None,
                _ => Some(0),
            };
        }
        if !first.is_ascii_digit() {
            return None;
        }
        let start = self.i;
        let mut v = 0u64;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            // 19 digits always fit a u64
            if self.i - start == 19 {
                return None;
            }
            v = v * 10 + (d - b'0') as u64;
            self.i += 1;
        }
        Some(v)
    }

    #[inline(always)]
    fn boolean(&mut self) -> Option<bool> {
        let rest = &self.b[self.i..];
        if rest.starts_with(b"true") {
            self.i += 4;
            Some(true)
        } else if rest.starts_with(b"false") {
            self.i += 5;
            Some(false)
        } else {
            None
        }
    }

    #[inline]
    fn digits(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        (self.i > start).then_some(())
    }

    /// A number of any kind, checked against JSON's grammar.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits()?,
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// Skip any value at the cursor; `depth` is that of the value's
    /// container. Strings and whole numbers here, the rest in [`Self::skip`].
    #[inline(always)]
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'1'..=b'9' => {
                let start = self.i;
                self.i += 1;
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
                match self.peek() {
                    Some(b'.' | b'e' | b'E') => {
                        self.i = start;
                        self.number()
                    }
                    _ => Some(()),
                }
            }
            _ => self.skip(depth),
        }
    }

    /// Skip any value at the cursor (see [`Self::skip_value`]).
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.i += 1;
                            self.ws();
                        }
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.i += 1;
                            self.ws();
                        }
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' | b'f' => self.boolean().map(|_| ()),
            b'n' => {
                if self.b[self.i..].starts_with(b"null") {
                    self.i += 4;
                    Some(())
                } else {
                    None
                }
            }
            _ => self.number(),
        }
    }

    /// A key, then the colon. A key with escapes is decoded: serde_json
    /// compares the decoded key with the fields' names, so one that decodes
    /// to a name (or that serde_json cannot decode) is left to it; any other
    /// is an unknown key, returned as `""`.
    #[inline(always)]
    fn key(&mut self) -> Option<&'a [u8]> {
        let k = self.string()?;
        let key = if k.escaped {
            let mut buf = Vec::new();
            let name = decoded(self.b, k, &mut buf)?;
            if NAMES.contains(&name) {
                return None;
            }
            &b""[..]
        } else {
            &self.b[k.start..k.end]
        };
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(key)
    }

    /// After a member: true at `,` (and the next key), false at the end.
    #[inline(always)]
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let c = self.peek()?;
        self.i += 1;
        if c == b',' {
            self.ws();
            Some(true)
        } else if c == close {
            Some(false)
        } else {
            None
        }
    }

    /// The `raw` object: its `method`, other keys skipped.
    fn raw(&mut self) -> Option<Span> {
        self.eat(b'{')?;
        self.ws();
        let mut method = None;
        if self.peek() == Some(b'}') {
            return None;
        }
        loop {
            if self.key()? == b"method" {
                if method.is_some() {
                    return None;
                }
                method = Some(self.string()?);
            } else {
                self.skip_value(2)?;
            }
            if !self.next_member(b'}')? {
                return method;
            }
        }
    }
}

/// Set `bit` in `seen`; `None` if it was set (a duplicate key).
#[inline]
fn first(seen: &mut u16, bit: u16) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// The values found so far in a line.
#[derive(Default)]
struct Values {
    seen: u16,
    elapsed_ms: u64,
    response_time_ms: u64,
    fraction_us: u64,
    user: u64,
    status: u16,
    success: bool,
    update: bool,
    method: Span,
    name: Span,
    error: Option<Span>,
}

impl Values {
    /// A whole-number field's value.
    #[inline(always)]
    fn number(&mut self, field: u16, v: u64) -> Option<()> {
        first(&mut self.seen, field)?;
        match field {
            ELAPSED => self.elapsed_ms = v,
            RESPONSE_TIME => self.response_time_ms = v,
            FRACTION => self.fraction_us = v,
            USER => self.user = v,
            STATUS => self.status = u16::try_from(v).ok()?,
            _ => return None,
        }
        Some(())
    }

    /// A boolean field's value.
    #[inline(always)]
    fn boolean(&mut self, field: u16, v: bool) -> Option<()> {
        first(&mut self.seen, field)?;
        match field {
            SUCCESS => self.success = v,
            UPDATE => self.update = v,
            _ => return None,
        }
        Some(())
    }

    /// A string field's place.
    #[inline(always)]
    fn string(&mut self, field: u16, v: Span) -> Option<()> {
        first(&mut self.seen, field)?;
        match field {
            METHOD => {
                self.method = v;
                // `raw` holds the method: present once, as in the general path
                first(&mut self.seen, RAW)?;
            }
            NAME => self.name = v,
            ERROR => self.error = Some(v),
            _ => return None,
        }
        Some(())
    }
}

/// The field bit of a top-level key (0: not one we read).
#[inline(always)]
fn top_field(key: &[u8]) -> u16 {
    match key {
        b"elapsed" => ELAPSED,
        b"raw" => RAW,
        b"name" => NAME,
        b"response_time" => RESPONSE_TIME,
        b"response_time_fraction_us" => FRACTION,
        b"status_code" => STATUS,
        b"success" => SUCCESS,
        b"update" => UPDATE,
        b"user" => USER,
        b"error" => ERROR,
        _ => 0,
    }
}

/// The general reading of a line: keys in any order, any spacing.
fn general(c: &mut Cursor<'_, '_>, v: &mut Values) -> Option<()> {
    c.eat(b'{')?;
    c.ws();
    loop {
        match top_field(c.key()?) {
            0 => c.skip_value(1)?,
            RAW => {
                first(&mut v.seen, RAW)?;
                v.method = c.raw()?;
                v.seen |= METHOD;
            }
            f @ (NAME | ERROR) => v.string(f, c.string()?)?,
            f @ (SUCCESS | UPDATE) => v.boolean(f, c.boolean()?)?,
            f => v.number(f, c.uint()?)?,
        }
        if !c.next_member(b'}')? {
            return Some(());
        }
    }
}

/// What a [`Template`] slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    /// A string (of the field, 0 for one we skip).
    Str(u16),
    /// A number: a whole one for a field we read, any for one we skip.
    Num(u16),
    /// `true` or `false`.
    Bool(u16),
    /// Any value (an array), skipped.
    Any,
    /// The end of the line.
    End,
}

/// The shape of a line the general path read: the bytes between its values
/// (keys, punctuation, spacing, `null`s) and what each value is (arrays are
/// skipped whole). Goose writes every line with the same keys in the same order, so the
/// next line is read by comparing its bytes with the shape's and parsing
/// only the values: no key is tokenised or looked up. A line that differs
/// anywhere goes to the general path (and its shape becomes the template).
/// A line that matches is valid JSON with the template line's keys, since
/// every byte outside its values is the template line's and each value is
/// checked against JSON's grammar for its kind.
#[derive(Debug)]
pub(crate) struct Template {
    /// The literal bytes, back to back.
    lits: Vec<u8>,
    /// Each slot with the end of the literal before it in `lits`.
    slots: Vec<(u32, Slot)>,
}

/// Deepest object a template follows.
const TEMPLATE_DEPTH: usize = 8;

impl Template {
    /// The shape of `line`, which the general path has just read (so it is
    /// valid JSON); `None` for a shape a template does not describe (a key
    /// with an escape, objects nested deeper than [`TEMPLATE_DEPTH`]).
    fn of(line: &[u8]) -> Option<Template> {
        let mut lits = Vec::with_capacity(line.len());
        let mut slots = Vec::new();
        // the key of each open object, and the last key seen
        let mut parents: Vec<&[u8]> = Vec::new();
        let mut key: &[u8] = b"";
        let field = |parents: &[&[u8]], key: &[u8]| match parents {
            [_] => match top_field(key) {
                RAW => 0,
                f => f,
            },
            [_, b"raw"] if key == b"method" => METHOD,
            _ => 0,
        };
        let mut i = 0;
        while let Some(&ch) = line.get(i) {
            match ch {
                b'"' => {
                    let mut end = i + 1;
                    while line.get(end)? != &b'"' {
                        end += if line[end] == b'\\' { 2 } else { 1 };
                    }
                    let mut j = end + 1;
                    while line.get(j) == Some(&b' ') {
                        j += 1;
                    }
                    if line.get(j) == Some(&b':') {
                        key = &line[i + 1..end];
                        if key.contains(&b'\\') {
                            return None;
                        }
                        lits.extend_from_slice(&line[i..=end]);
                    } else {
                        slots.push((lits.len() as u32, Slot::Str(field(&parents, key))));
                    }
                    i = end + 1;
                }
                b'{' => {
                    if parents.len() == TEMPLATE_DEPTH {
                        return None;
                    }
                    parents.push(key);
                    lits.push(ch);
                    i += 1;
                }
                b'}' => {
                    parents.pop();
                    lits.push(ch);
                    i += 1;
                }
                b'[' => {
                    // any array (Goose's `headers`): skipped as a whole
                    slots.push((lits.len() as u32, Slot::Any));
                    let mut depth = 0usize;
                    loop {
                        match *line.get(i)? {
                            b'"' => {
                                i += 1;
                                while line.get(i)? != &b'"' {
                                    i += if line[i] == b'\\' { 2 } else { 1 };
                                }
                            }
                            b'[' | b'{' => depth += 1,
                            b']' | b'}' => depth -= 1,
                            _ => {}
                        }
                        i += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                }
                b':' | b',' | b' ' => {
                    lits.push(ch);
                    i += 1;
                }
                b'n' => {
                    lits.extend_from_slice(line.get(i..i + 4)?);
                    i += 4;
                }
                b't' | b'f' => {
                    slots.push((lits.len() as u32, Slot::Bool(field(&parents, key))));
                    i += if ch == b't' { 4 } else { 5 };
                }
                _ => {
                    slots.push((lits.len() as u32, Slot::Num(field(&parents, key))));
                    while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = line.get(i) {
                        i += 1;
                    }
                }
            }
        }
        slots.push((lits.len() as u32, Slot::End));
        Some(Template { lits, slots })
    }

    /// Read a line of this shape; `None` where it differs.
    #[inline]
    fn read(&self, c: &mut Cursor<'_, '_>, v: &mut Values) -> Option<()> {
        let mut from = 0;
        for &(to, slot) in &self.slots {
            let lit = &self.lits[from..to as usize];
            from = to as usize;
            if !same_bytes(c.b.get(c.i..c.i + lit.len())?, lit) {
                return None;
            }
            c.i += lit.len();
            match slot {
                Slot::Str(0) => {
                    c.string()?;
                }
                Slot::Str(f) => v.string(f, c.string()?)?,
                Slot::Num(0) => c.number()?,
                Slot::Num(f) => v.number(f, c.uint()?)?,
                Slot::Bool(0) => {
                    c.boolean()?;
                }
                Slot::Bool(f) => v.boolean(f, c.boolean()?)?,
                Slot::Any => c.skip_value(TEMPLATE_DEPTH as u32)?,
                Slot::End => break,
            }
        }
        Some(())
    }
}

/// Whether `a` and `b` (of the same length) hold the same bytes: 8 at a
/// time, inline (the literals of a template are short, ~12 bytes; calling
/// `memcmp` for each took a sixth of the reader's time; the CSV reader's
/// comparison of a row's method and name with its endpoint's key, ~4 % of
/// its instructions).
#[inline(always)]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    #[inline(always)]
    fn word(x: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&x[at..at + 8]);
        u64::from_ne_bytes(w)
    }
    #[inline(always)]
    fn half(x: &[u8], at: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&x[at..at + 4]);
        u32::from_ne_bytes(w)
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        // the last 8 bytes, overlapping the words before
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        // 0 to 3 bytes (a method such as `Get`): the first, middle and last
        // cover them all, with no call
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

/// The fields of one line (without its newline and surrounding whitespace),
/// or `None` where serde_json must decide.
#[inline(always)]
pub(crate) fn scan_line<'a>(line: &'a [u8], scratch: &'a mut Scratch) -> Option<Fields<'a>> {
    let mut quotes = [0u64; MASK_BYTES / 64];
    let mut backslashes = [0u64; MASK_BYTES / 64];
    let (masks, backslash) = if line.len() <= MASK_BYTES {
        let (backslash, flagged) = classify(line, &mut quotes, &mut backslashes, scratch.avx2);
        if flagged && !plain_text(line) {
            return None;
        }
        let words = line.len().div_ceil(64);
        (Some((&quotes[..words], &backslashes[..words])), backslash)
    } else {
        if !plain_text(line) {
            return None;
        }
        (None, true)
    };
    let mut c = Cursor {
        b: line,
        i: 0,
        masks,
        backslash,
    };
    let mut v = Values::default();
    let templated = scratch
        .template
        .as_ref()
        .is_some_and(|t| t.read(&mut c, &mut v).is_some())
        && c.i == line.len();
    if !templated {
        c.i = 0;
        v = Values::default();
        general(&mut c, &mut v)?;
        if c.i != line.len() {
            return None;
        }
        if scratch.templates {
            scratch.template = Template::of(line);
        }
    }
    if v.seen & REQUIRED != REQUIRED {
        return None;
    }
    #[cfg(test)]
    if templated {
        scratch.templated += 1;
    }
    let Scratch {
        method: s_method,
        name: s_name,
        error: s_error,
        ..
    } = scratch;
    Some(Fields {
        elapsed_ms: v.elapsed_ms,
        method: decoded(line, v.method, s_method)?,
        name: decoded(line, v.name, s_name)?,
        response_time_ms: v.response_time_ms,
        fraction_us: v.fraction_us,
        status: v.status,
        success: v.success,
        update: v.update,
        user: v.user,
        error: match v.error {
            Some(s) => decoded(line, s, s_error)?,
            None => b"",
        },
    })
}

/// A string's bytes: borrowed when it has no escape, else decoded into
/// `out`; `None` for a surrogate serde_json would refuse.
#[inline]
fn decoded<'a>(line: &'a [u8], s: Span, out: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let raw = &line[s.start..s.end];
    if !s.escaped {
        return Some(raw);
    }
    out.clear();
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'\\', &raw[i..]) {
        out.extend_from_slice(&raw[i..i + k]);
        i += k + 1;
        let e = raw[i];
        i += 1;
        let byte = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            _ => {
                // `u`: checked by the scanner to have four hex digits
                let hi = hex4(&raw[i..i + 4])?;
                i += 4;
                let ch = match hi {
                    0xD800..=0xDBFF => {
                        if raw.get(i..i + 2) != Some(b"\\u") {
                            return None;
                        }
                        let lo = hex4(raw.get(i + 2..i + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        i += 6;
                        0x10000 + ((hi as u32 - 0xD800) << 10) + (lo as u32 - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => hi as u32,
                };
                let ch = char::from_u32(ch)?;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                continue;
            }
        };
        out.push(byte);
    }
    out.extend_from_slice(&raw[i..]);
    let out: &'a Vec<u8> = out;
    Some(out)
}

/// Four hex digits' value.
#[inline]
fn hex4(h: &[u8]) -> Option<u16> {
    let mut v = 0u16;
    for &d in h.get(..4)? {
        v = v << 4 | (d as char).to_digit(16)? as u16;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::goose_log::JRow;

    /// The fields as owned values, to compare the two readers.
    type Owned = (
        u64,
        Vec<u8>,
        Vec<u8>,
        u64,
        u64,
        u16,
        bool,
        bool,
        u64,
        Vec<u8>,
    );

    /// The fast reading by the general path, the same with AVX2 (where the
    /// CPU has it) and SSE2.
    fn fast(line: &[u8]) -> Option<Owned> {
        let mut scratch = Scratch {
            templates: false,
            ..Scratch::default()
        };
        let first = fast_with(line, &mut scratch);
        scratch.avx2 = false;
        assert_eq!(first, fast_with(line, &mut scratch), "AVX2 and SSE2 differ");
        first
    }

    /// [`fast`], and the same through `scratch`, whose template (the shape
    /// of the line it read before) is tried first.
    fn fast_after(line: &[u8], scratch: &mut Scratch) -> Option<Owned> {
        let general = fast(line);
        assert_eq!(
            general,
            fast_with(line, scratch),
            "template and general paths differ on {:?}",
            String::from_utf8_lossy(line)
        );
        general
    }

    fn fast_with(line: &[u8], scratch: &mut Scratch) -> Option<Owned> {
        scan_line(line, scratch).map(|f| {
            (
                f.elapsed_ms,
                f.method.to_vec(),
                f.name.to_vec(),
                f.response_time_ms,
                f.fraction_us,
                f.status,
                f.success,
                f.update,
                f.user,
                f.error.to_vec(),
            )
        })
    }

    fn oracle(line: &[u8]) -> Option<Owned> {
        let r: JRow<'_> = serde_json::from_slice(line).ok()?;
        Some((
            r.elapsed,
            r.raw.method.as_bytes().to_vec(),
            r.name.as_bytes().to_vec(),
            r.response_time,
            r.response_time_fraction_us,
            r.status_code,
            r.success,
            r.update,
            r.user,
            r.error.as_bytes().to_vec(),
        ))
    }

    /// The fast reading, which must exist and be serde_json's.
    fn assert_taken(line: &[u8]) {
        let f = fast(line);
        assert!(
            f.is_some(),
            "fast path refused {:?}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(f, oracle(line), "{:?}", String::from_utf8_lossy(line));
    }

    /// Either no fast reading, or serde_json's.
    fn assert_never_wrong(line: &[u8]) -> bool {
        match fast(line) {
            None => false,
            Some(f) => {
                assert_eq!(
                    Some(f),
                    oracle(line),
                    "fast path differs from serde_json on {:?}",
                    String::from_utf8_lossy(line)
                );
                true
            }
        }
    }

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
            .expect("fixture readable")
    }

    #[test]
    fn every_line_of_the_real_logs_reads_as_serde_reads_it() {
        for rel in [
            "fixtures/goose/mixed-graph-jsonl-30u/requests.json",
            "fixtures/goose/converted/requests_converted_from_csv.jsonl",
        ] {
            let data = fixture(rel);
            let mut scratch = Scratch::default();
            let mut n = 0;
            for line in data.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
                if !line.is_empty() {
                    assert_taken(line);
                    assert!(fast_after(line, &mut scratch).is_some());
                    n += 1;
                }
            }
            assert!(n >= 60, "{rel}: {n} lines");
            // Goose writes one shape: every line but the first by the template
            assert_eq!(scratch.templated, n - 1, "{rel}");
        }
    }

    #[test]
    fn awkward_lines_read_as_serde_reads_them() {
        let taken: &[&[u8]] = &[
            br#"{"user":3,"error":"","update":false,"success":true,"status_code":200,"response_time":17,"name":"/a","raw":{"method":"Get"},"elapsed":5}"#,
            br#"{ "elapsed" : 5 , "raw" : { "url" : "x" , "method" : "Post" , "headers" : [ ] } , "name" : "/a" , "response_time" : 0 , "status_code" : 0 , "success" : false , "user" : 0 }"#,
            br#"{"elapsed":1,"raw":{"method":"G\u0065t","body":"{\"a\":[1,2]}"},"name":"\/q?x=\"1\"\\ \u00e9\ud83d\ude00 \t\n\r\b\f","response_time":1,"status_code":500,"success":false,"user":1,"error":"boom: \"quoted\""}"#,
            "{\"elapsed\":1,\"raw\":{\"method\":\"Get\"},\"name\":\"/é/😀/ü\",\"response_time\":1,\"status_code\":200,\"success\":true,\"user\":1,\"error\":\"ошибка\"}".as_bytes(),
            br#"{"x":{"y":[{"z":[[],{},"\"}]"]},-1.5e+3,0,1E9,true,false,null]},"elapsed":18446744073709551,"raw":{"method":"Get","x":[1]},"name":"","response_time":9999999999999999999,"response_time_fraction_us":999,"status_code":65535,"success":true,"update":true,"user":7}"#,
            br#"{"elapsed":0,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"elapsed2":1,"":"","name ":2}"#,
        ];
        for line in taken {
            assert_taken(line);
        }
        // past the quote bitmap's length: strings found with memchr
        let long = "é\\\"".repeat(1000);
        for line in [
            format!(
                "{{\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"/{long}\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}"
            ),
            format!(
                "{{\"x\":\"{long}\",\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}"
            ),
            format!(
                "{{\"x\":\"{}\",\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}",
                "a".repeat(2100)
            ),
        ] {
            assert!(line.len() > MASK_BYTES);
            assert_taken(line.as_bytes());
        }
        // what serde_json must decide (some it accepts, most it refuses)
        let handed: &[&[u8]] = &[
            br#"{"elapsed":1,"elapsed":2,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get","method":"Post"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":["Get"],"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":-0,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1.0,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1e3,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":01,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":18446744073709551616,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":65536,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":null,"response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"error":null}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":1,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"\ud83d","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"\ude00x","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"\ud83d\u0041","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"\x","response_time":3,"status_code":200,"success":true,"user":0}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"u":"\u12"}"#,
            br#"{"n\u0061me":"n","elapsed":1,"raw":{"method":"Get"},"response_time":3,"status_code":200,"success":true,"user":0}"#,
            b"{\"elapsed\":1,\t\"raw\":{\"method\":\"Get\"},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}",
            b"{\"elapsed\":1,\"raw\":{\"method\":\"Get\"},\"name\":\"a\tb\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}",
            b"{\"elapsed\":1,\"raw\":{\"method\":\"Get\"},\"name\":\"\xff\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}",
            b"{\"elapsed\":1,\"raw\":{\"method\":\"Get\"},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0,\"x\":\"\xc3\"}",
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0}x"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"x":[1,]}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"x":tru}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"x":-}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"x":1.}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0,"x":{1:2}}"#,
            br#"{"elapsed":1,"raw":{"method":"Get"},"name":"n","response_time":3,"status_code":200,"success":true,"user":0"#,
            br#"[1,{"method":"Get"},"n",3,0,200,true,false,0,""]"#,
            br#"{}"#,
            br#"{"#,
        ];
        for line in handed {
            assert_eq!(
                fast(line),
                None,
                "taken: {:?}",
                String::from_utf8_lossy(line)
            );
        }
        let deep = format!(
            "{{\"x\":{}{},\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(fast(deep.as_bytes()), None);
        assert!(oracle(deep.as_bytes()).is_some());
    }

    /// xorshift64: the same lines on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        /// A JSON string of random pieces: plain text, every kind of escape,
        /// a surrogate pair, raw non-ASCII, JSON's structural characters.
        fn string(&mut self) -> String {
            const PIECES: [&str; 20] = [
                "a",
                "/api/v1",
                " ",
                "\\\"",
                "\\\\",
                "\\/",
                "\\n",
                "\\t",
                "\\u00e9",
                "\\u0000",
                "\\ud83d\\ude00",
                "é",
                "😀",
                "{",
                "}",
                "[",
                "]",
                ",",
                ":",
                "\\u20AC",
            ];
            let mut s = String::from("\"");
            for _ in 0..self.next(6) {
                s.push_str(PIECES[self.next(PIECES.len() as u64) as usize]);
            }
            s.push('"');
            s
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let base: Vec<u8> = (0..40u8).collect();
        for n in 0..40 {
            for flip in 0..n {
                let a = &base[..n];
                let mut b = a.to_vec();
                assert!(same_bytes(a, &b), "{n}");
                b[flip] ^= 1;
                assert!(!same_bytes(a, &b), "{n} {flip}");
            }
            assert!(n == 0 || !same_bytes(&base[..n], &base[..n - 1]));
        }
    }

    /// One member of a random line's shape.
    #[derive(Clone, Copy)]
    enum Member {
        Elapsed,
        Raw,
        Name,
        ResponseTime,
        Status,
        Success,
        User,
        Error,
        Update,
        Fraction,
        /// An unknown key (its index in the shape) with a value of this kind.
        Extra(u64, u64),
    }

    /// Random request lines in random shapes: the fields in random order
    /// among unknown keys with nested values, random spacing; ten lines of
    /// each shape with random values (escapes and unicode in the strings),
    /// so that all but the first are read through the template. Clean lines
    /// must be taken and read as serde_json reads them; mutated ones (a
    /// byte replaced, dropped or doubled, a cut) either handed over or read
    /// as serde_json reads them, by the template and the general path alike.
    #[test]
    fn random_lines_read_as_serde_reads_them() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut scratch = Scratch::default();
        let (mut taken, mut mutated_taken) = (0, 0);
        for _shape in 0..2_000 {
            let mut shape = vec![
                Member::Elapsed,
                Member::Raw,
                Member::Name,
                Member::ResponseTime,
                Member::Status,
                Member::Success,
                Member::User,
            ];
            for m in [Member::Error, Member::Update, Member::Fraction] {
                if rng.next(2) == 0 {
                    shape.push(m);
                }
            }
            for k in 0..rng.next(4) {
                shape.push(Member::Extra(k, rng.next(6)));
            }
            for i in (1..shape.len()).rev() {
                shape.swap(i, rng.next(i as u64 + 1) as usize);
            }
            let sep = [",", ", ", " , "][rng.next(3) as usize];
            for round in 0..10 {
                let members: Vec<String> = shape
                    .iter()
                    .map(|m| match *m {
                        Member::Elapsed => format!("\"elapsed\":{}", rng.next(1 << 40)),
                        Member::Raw => format!(
                            "\"raw\":{{\"url\":{},\"method\":{},\"headers\":[]}}",
                            rng.string(),
                            rng.string()
                        ),
                        Member::Name => format!("\"name\":{}", rng.string()),
                        Member::ResponseTime => {
                            format!("\"response_time\":{}", rng.next(100_000))
                        }
                        Member::Status => format!("\"status_code\":{}", rng.next(70_000)),
                        Member::Success => format!("\"success\":{}", rng.next(2) == 0),
                        Member::User => format!("\"user\":{}", rng.next(1000)),
                        Member::Error => format!("\"error\":{}", rng.string()),
                        Member::Update => format!("\"update\":{}", rng.next(4) == 0),
                        Member::Fraction => {
                            format!("\"response_time_fraction_us\":{}", rng.next(1000))
                        }
                        Member::Extra(k, kind) => {
                            let v = match kind {
                                0 => rng.string(),
                                1 => format!("[{},{{\"k\":[{}]}}]", rng.string(), rng.next(9)),
                                2 => {
                                    ["-12.5e-3", "0", "7", "1E+2"][rng.next(4) as usize].to_string()
                                }
                                3 => "null".to_string(),
                                4 => format!("{{\"TransactionOnly\":{}}}", rng.string()),
                                _ => (rng.next(2) == 0).to_string(),
                            };
                            // keys may hold escapes (not read through a template)
                            let key = if k == 3 {
                                rng.string()
                            } else {
                                format!("\"x{k}\"")
                            };
                            format!("{key}:{v}")
                        }
                    })
                    .collect();
                let mut line = format!("{{{}}}", members.join(sep)).into_bytes();
                if round % 2 == 0 {
                    // clean: taken unless serde refuses it (a status over 65,535)
                    match oracle(&line) {
                        Some(_) => {
                            assert!(fast_after(&line, &mut scratch).is_some());
                            assert_taken(&line);
                            taken += 1;
                        }
                        None => assert_eq!(fast_after(&line, &mut scratch), None),
                    }
                    continue;
                }
                for _ in 0..1 + rng.next(3) {
                    if line.is_empty() {
                        break;
                    }
                    let at = rng.next(line.len() as u64) as usize;
                    match rng.next(4) {
                        0 => line[at] = b"\"\\{}[],:0a \t-.eu\xc3"[rng.next(17) as usize],
                        1 => {
                            line.remove(at);
                        }
                        2 => line.insert(at, line[at]),
                        _ => line.truncate(at.max(1)),
                    }
                }
                fast_after(&line, &mut scratch);
                if assert_never_wrong(&line) {
                    mutated_taken += 1;
                }
            }
        }
        // the clean lines with a status serde accepts (65,535 of 70,000)
        assert!(taken > 8_500, "{taken}");
        // the mutations that keep a valid line (a doubled digit, a space)
        assert!(mutated_taken > 100, "{mutated_taken}");
        // most clean lines after the first of their shape, and some mutated
        // ones, went through the template
        assert!(scratch.templated > 4_000, "{}", scratch.templated);
    }
}

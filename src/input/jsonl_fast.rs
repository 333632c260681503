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
//! The tests check it against serde_json on every line of the real fixtures
//! and on generated awkward lines (escapes, reordered and extra keys,
//! whitespace, unicode, hostile values).

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

/// Buffers for strings that held escapes, reused from line to line, and
/// whether the CPU has AVX2 (asked once, not per line).
pub(crate) struct Scratch {
    method: Vec<u8>,
    name: Vec<u8>,
    error: Vec<u8>,
    avx2: bool,
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
    let (mut backslash, mut flagged) = (0u64, 0u64);
    let mut blocks = line.chunks_exact(64);
    for ((wq, ws), block) in quotes.iter_mut().zip(backslashes.iter_mut()).zip(&mut blocks) {
        let mut b = [0u8; 64];
        b.copy_from_slice(block);
        let (q, s, f) = classify_block(&b, avx2);
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

/// The fields of one line (without its newline and surrounding whitespace),
/// or `None` where serde_json must decide.
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
    c.eat(b'{')?;
    c.ws();
    let mut seen = 0u16;
    let (mut elapsed_ms, mut response_time_ms, mut fraction_us, mut user) = (0, 0, 0, 0);
    let (mut status, mut success, mut update) = (0u16, false, false);
    let (mut method, mut name, mut error) = (Span::default(), Span::default(), None);
    loop {
        match c.key()? {
            b"elapsed" => {
                first(&mut seen, ELAPSED)?;
                elapsed_ms = c.uint()?;
            }
            b"raw" => {
                first(&mut seen, RAW)?;
                method = c.raw()?;
            }
            b"name" => {
                first(&mut seen, NAME)?;
                name = c.string()?;
            }
            b"response_time" => {
                first(&mut seen, RESPONSE_TIME)?;
                response_time_ms = c.uint()?;
            }
            b"response_time_fraction_us" => {
                first(&mut seen, FRACTION)?;
                fraction_us = c.uint()?;
            }
            b"status_code" => {
                first(&mut seen, STATUS)?;
                status = u16::try_from(c.uint()?).ok()?;
            }
            b"success" => {
                first(&mut seen, SUCCESS)?;
                success = c.boolean()?;
            }
            b"update" => {
                first(&mut seen, UPDATE)?;
                update = c.boolean()?;
            }
            b"user" => {
                first(&mut seen, USER)?;
                user = c.uint()?;
            }
            b"error" => {
                first(&mut seen, ERROR)?;
                error = Some(c.string()?);
            }
            _ => c.skip_value(1)?,
        }
        if !c.next_member(b'}')? {
            break;
        }
    }
    if c.i != line.len() || seen & REQUIRED != REQUIRED {
        return None;
    }
    let Scratch {
        method: s_method,
        name: s_name,
        error: s_error,
        ..
    } = scratch;
    Some(Fields {
        elapsed_ms,
        method: decoded(line, method, s_method)?,
        name: decoded(line, name, s_name)?,
        response_time_ms,
        fraction_us,
        status,
        success,
        update,
        user,
        error: match error {
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
    type Owned = (u64, Vec<u8>, Vec<u8>, u64, u64, u16, bool, bool, u64, Vec<u8>);

    /// The fast reading, the same with AVX2 (where the CPU has it) and SSE2.
    fn fast(line: &[u8]) -> Option<Owned> {
        let mut scratch = Scratch::default();
        let first = fast_with(line, &mut scratch);
        scratch.avx2 = false;
        assert_eq!(first, fast_with(line, &mut scratch), "AVX2 and SSE2 differ");
        first
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
            let mut n = 0;
            for line in data.split(|&b| b == b'\n').map(<[u8]>::trim_ascii) {
                if !line.is_empty() {
                    assert_taken(line);
                    n += 1;
                }
            }
            assert!(n >= 60, "{rel}: {n} lines");
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
            format!("{{\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"/{long}\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}"),
            format!("{{\"x\":\"{long}\",\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}"),
            format!("{{\"x\":\"{}\",\"elapsed\":1,\"raw\":{{\"method\":\"Get\"}},\"name\":\"n\",\"response_time\":3,\"status_code\":200,\"success\":true,\"user\":0}}", "a".repeat(2100)),
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
                "a", "/api/v1", " ", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u00e9", "\\u0000",
                "\\ud83d\\ude00", "é", "😀", "{", "}", "[", "]", ",", ":", "\\u20AC",
            ];
            let mut s = String::from("\"");
            for _ in 0..self.next(6) {
                s.push_str(PIECES[self.next(PIECES.len() as u64) as usize]);
            }
            s.push('"');
            s
        }
    }

    /// Random request lines: the fields in random order among unknown keys
    /// with nested values, random spacing, escapes and unicode in the
    /// strings; clean ones must be taken and read as serde_json reads them,
    /// mutated ones (a byte replaced, dropped or doubled, a cut) either handed
    /// over or read as serde_json reads them.
    #[test]
    fn random_lines_read_as_serde_reads_them() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut taken, mut mutated_taken) = (0, 0);
        for round in 0..20_000 {
            let mut members = vec![
                format!("\"elapsed\":{}", rng.next(1 << 40)),
                format!("\"raw\":{{\"url\":{},\"method\":{},\"headers\":[]}}", rng.string(), rng.string()),
                format!("\"name\":{}", rng.string()),
                format!("\"response_time\":{}", rng.next(100_000)),
                format!("\"status_code\":{}", rng.next(70_000)),
                format!("\"success\":{}", rng.next(2) == 0),
                format!("\"user\":{}", rng.next(1000)),
            ];
            if rng.next(2) == 0 {
                members.push(format!("\"error\":{}", rng.string()));
            }
            if rng.next(2) == 0 {
                members.push(format!("\"update\":{}", rng.next(4) == 0));
            }
            if rng.next(2) == 0 {
                members.push(format!("\"response_time_fraction_us\":{}", rng.next(1000)));
            }
            for _ in 0..rng.next(4) {
                let v = match rng.next(6) {
                    0 => rng.string(),
                    1 => format!("[{},{{\"k\":[{}]}}]", rng.string(), rng.next(9)),
                    2 => "-12.5e-3".to_string(),
                    3 => "null".to_string(),
                    4 => format!("{{\"TransactionOnly\":{}}}", rng.string()),
                    _ => "true".to_string(),
                };
                members.push(format!("{}:{v}", rng.string()));
            }
            for i in (1..members.len()).rev() {
                members.swap(i, rng.next(i as u64 + 1) as usize);
            }
            let sep = [",", ", ", " , "][rng.next(3) as usize];
            let mut line = format!("{{{}}}", members.join(sep)).into_bytes();
            if round % 2 == 0 {
                // clean: taken unless serde refuses it (a status over 65,535)
                match oracle(&line) {
                    Some(_) => {
                        assert_taken(&line);
                        taken += 1;
                    }
                    None => assert_eq!(fast(&line), None),
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
            if assert_never_wrong(&line) {
                mutated_taken += 1;
            }
        }
        // the clean lines with a status serde accepts (65,535 of 70,000)
        assert!(taken > 8_500, "{taken}");
        // the mutations that keep a valid line (a doubled digit, a space)
        assert!(mutated_taken > 100, "{mutated_taken}");
    }
}

//! Report XML decoded to UTF-8 as it streams, with its raw bytes hashed on the way.
//!
//! The XML reader needs UTF-8. Receivers send UTF-8 with stray invalid bytes, UTF-16 with or
//! without a byte-order mark, and windows-1252 (often labelled Latin-1); any other encoding
//! an XML declaration names is decoded by `encoding_rs` when the Encoding Standard knows it
//! (ISO-8859-15, KOI8-R, Shift_JIS, GBK, …). Decoding the whole
//! document first would hold it in memory twice; this reader transcodes one chunk at a time,
//! carrying an incomplete character over to the next chunk, so a report of any size costs a
//! fixed buffer. Undecodable bytes become U+FFFD and are counted, never fatal: the repair
//! notes say how many and where. The SHA-256 of the raw bytes (a bare file's evidence hash)
//! is computed from the same pass when asked for.

use sha2::{Digest, Sha256};
use std::io::{self, BufRead};

/// Raw bytes read per refill.
const CHUNK: usize = 64 * 1024;
/// Bytes looked at to find the XML declaration's `encoding`.
const HEAD: usize = 512;
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16 {
        little: bool,
    },
    Windows1252,
    /// Any other encoding a document declares that the Encoding Standard knows (ISO-8859-15,
    /// KOI8-R, Shift_JIS, GBK, …), decoded by `encoding_rs`.
    Other(&'static encoding_rs::Encoding),
}

/// A `BufRead` of valid UTF-8 decoded from `inner`.
///
/// UTF-8 input, nearly every report, is read straight into the output buffer and validated
/// in place: no copy. Only a chunk with invalid bytes, or another encoding, goes through a
/// scratch buffer.
pub struct Utf8Stream<R> {
    inner: R,
    /// The streaming decoder for [`Encoding::Other`], which carries a character split by a
    /// chunk boundary itself.
    legacy: Option<encoding_rs::Decoder>,
    /// `None` once [`Utf8Stream::skip_hash`] said the hash is not wanted.
    hasher: Option<Sha256>,
    raw_bytes: u64,
    /// Known once the first chunk has been read.
    encoding: Option<Encoding>,
    /// Bytes stripped from the front (a byte-order mark).
    skipped: u64,
    /// Raw bytes of a character split by the chunk boundary, decoded with the next chunk.
    carry: Vec<u8>,
    /// Raw bytes being transcoded or repaired.
    scratch: Vec<u8>,
    /// Raw bytes decoded so far, for positions in repair notes.
    decoded: u64,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
    invalid: u64,
    first_invalid: Option<u64>,
    notes: Vec<String>,
}

thread_local! {
    /// The output buffer of the last stream, kept for the next: a folder of thousands of
    /// reports would otherwise allocate and grow a buffer per report.
    static SPARE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<R> Drop for Utf8Stream<R> {
    fn drop(&mut self) {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if out.capacity() > spare.capacity() {
                *spare = out;
            }
        });
    }
}

impl<R: BufRead> Utf8Stream<R> {
    pub fn new(inner: R) -> Self {
        let out = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
        Utf8Stream {
            inner,
            legacy: None,
            hasher: Some(Sha256::new()),
            raw_bytes: 0,
            encoding: None,
            skipped: 0,
            carry: Vec::new(),
            scratch: Vec::new(),
            decoded: 0,
            out,
            pos: 0,
            eof: false,
            invalid: 0,
            first_invalid: None,
            notes: Vec::new(),
        }
    }

    /// Bytes removed before the text (a byte-order mark), to turn text positions into file
    /// positions.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Whether a position in the decoded text is also a position in the raw bytes: true for
    /// UTF-8 that needed no repair.
    pub fn positions_exact(&self) -> bool {
        matches!(self.encoding, None | Some(Encoding::Utf8)) && self.invalid == 0
    }

    /// The encoding, when it is not UTF-8, for error messages ("in the text decoded from …").
    pub fn transcoded_from(&self) -> Option<&'static str> {
        match self.encoding {
            Some(Encoding::Utf16 { .. }) => Some("UTF-16"),
            Some(Encoding::Windows1252) => Some("windows-1252"),
            Some(Encoding::Other(e)) => Some(e.name()),
            _ => None,
        }
    }

    /// Decodes ahead until the whole rest of the document is buffered or `limit` bytes are;
    /// returns whether the whole rest is buffered ([`Self::buffer`]). Lets a document of
    /// ordinary size be parsed from memory, the fastest way, while a huge one streams.
    pub fn fill_whole(&mut self, limit: usize) -> io::Result<bool> {
        if self.pos > 0 {
            self.out.drain(..self.pos);
            self.pos = 0;
        }
        while !self.eof && self.out.len() < limit {
            self.decode_chunk()?;
        }
        Ok(self.eof)
    }

    /// The decoded text buffered and not yet consumed.
    pub fn buffer(&self) -> &[u8] {
        &self.out[self.pos..]
    }

    /// Reads to the end, so the hash covers the whole document and a container's late errors
    /// (a gzip checksum) surface. Returns whether the rest held `needle` (found across chunk
    /// boundaries too): what follows the report is otherwise never looked at.
    pub fn drain(&mut self, needle: &[u8]) -> io::Result<bool> {
        let mut found = false;
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let chunk = self.fill_buf()?;
            let n = chunk.len();
            if n == 0 {
                return Ok(found);
            }
            if !found && !needle.is_empty() {
                tail.extend_from_slice(&chunk[..n.min(needle.len())]);
                found = tail.windows(needle.len()).any(|w| w == needle)
                    || chunk.windows(needle.len()).any(|w| w == needle);
                let keep = needle.len() - 1;
                tail.clear();
                tail.extend_from_slice(&chunk[n.saturating_sub(keep)..]);
            }
            self.consume(n);
        }
    }

    /// Whether the whole input has been read.
    pub fn at_end(&self) -> bool {
        self.eof && self.pos >= self.out.len()
    }

    /// SHA-256 (hex) and length of the raw bytes read so far.
    pub fn digest(&self) -> (String, u64) {
        let hex = self
            .hasher
            .as_ref()
            .map(|h| hex::encode(h.clone().finalize()))
            .unwrap_or_default();
        (hex, self.raw_bytes)
    }

    /// No hash is computed ([`Self::digest`] then gives an empty string).
    pub fn skip_hash(&mut self) {
        self.hasher = None;
    }

    /// What decoding repaired, in order; call after the stream is read.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        match self.encoding {
            Some(Encoding::Utf16 { .. }) if self.invalid > 0 => notes.push(format!(
                "replaced {} invalid UTF-16 sequence(s) with U+FFFD",
                self.invalid
            )),
            Some(Encoding::Other(e)) if self.invalid > 0 => notes.push(format!(
                "replaced byte sequence(s) invalid in {} with U+FFFD",
                e.name()
            )),
            Some(Encoding::Utf8) if self.invalid > 0 => notes.push(format!(
                "invalid UTF-8: {} byte sequence(s) replaced with U+FFFD (first at byte {})",
                self.invalid,
                self.first_invalid.unwrap_or(0)
            )),
            _ => {}
        }
        notes
    }

    /// Appends up to [`CHUNK`] raw bytes to `out` or `scratch`, copied once out of the
    /// source's own buffer and hashed; returns how many. Fewer than [`CHUNK`] means the input
    /// ended.
    fn read_raw(&mut self, to_scratch: bool) -> io::Result<usize> {
        let dst = if to_scratch {
            &mut self.scratch
        } else {
            &mut self.out
        };
        let start = dst.len();
        let mut result = Ok(());
        while dst.len() - start < CHUNK {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if available.is_empty() {
                break;
            }
            let n = available.len().min(CHUNK - (dst.len() - start));
            dst.extend_from_slice(&available[..n]);
            self.inner.consume(n);
        }
        let n = dst.len() - start;
        if let Some(h) = &mut self.hasher {
            h.update(&dst[start..]);
        }
        self.raw_bytes += n as u64;
        result.map(|()| n)
    }

    /// Decodes one more chunk onto the end of `out` (possibly nothing at the very end).
    fn decode_chunk(&mut self) -> io::Result<()> {
        if matches!(self.encoding, None | Some(Encoding::Utf8)) {
            let start = self.out.len();
            let carry = std::mem::take(&mut self.carry);
            self.out.extend_from_slice(&carry);
            let n = match self.read_raw(false) {
                Ok(n) => n,
                Err(e) => {
                    // Never serve bytes that were not validated.
                    self.out.truncate(start);
                    return Err(e);
                }
            };
            let last = n < CHUNK;
            if self.encoding.is_none() {
                let (encoding, bom) = self.detect(start);
                self.encoding = Some(encoding);
                self.skipped = bom as u64;
                self.decoded = bom as u64;
                self.out.drain(start..start + bom);
                if encoding != Encoding::Utf8 {
                    // Transcode what was read as the encoding it turned out to be.
                    self.scratch.clear();
                    self.scratch.extend_from_slice(&self.out[start..]);
                    self.out.truncate(start);
                    let raw = std::mem::take(&mut self.scratch);
                    let left = self.decode(&raw, last);
                    self.finish_chunk(raw, left, last);
                    return Ok(());
                }
            }
            match std::str::from_utf8(&self.out[start..]) {
                Ok(_) => self.decoded += (self.out.len() - start) as u64,
                Err(e) if e.error_len().is_none() && !last => {
                    // Only a character cut by the chunk boundary: carry it over.
                    let good = start + e.valid_up_to();
                    self.carry.extend_from_slice(&self.out[good..]);
                    self.out.truncate(good);
                    self.decoded += (good - start) as u64;
                }
                Err(_) => {
                    let raw = self.out.split_off(start);
                    let left = self.decode_utf8(&raw, last);
                    self.finish_chunk(raw, left, last);
                    return Ok(());
                }
            }
            self.eof = last;
            return Ok(());
        }
        let mut raw = std::mem::take(&mut self.scratch);
        raw.clear();
        raw.extend_from_slice(&self.carry);
        self.carry.clear();
        self.scratch = raw;
        let n = self.read_raw(true)?;
        let last = n < CHUNK;
        let raw = std::mem::take(&mut self.scratch);
        let left = self.decode(&raw, last);
        self.finish_chunk(raw, left, last);
        Ok(())
    }

    /// Keeps the `left` undecoded bytes at the end of `raw` for the next chunk.
    fn finish_chunk(&mut self, raw: Vec<u8>, left: usize, last: bool) {
        self.decoded += (raw.len() - left) as u64;
        self.carry.extend_from_slice(&raw[raw.len() - left..]);
        self.scratch = raw;
        self.eof = last;
    }

    /// The encoding of the first chunk (at `out[start..]`), and the byte-order mark's length.
    fn detect(&mut self, start: usize) -> (Encoding, usize) {
        let head = &self.out[start..];
        let utf16 = if head.starts_with(&[0xff, 0xfe]) {
            Some((true, 2))
        } else if head.starts_with(&[0xfe, 0xff]) {
            Some((false, 2))
        } else {
            utf16_without_bom(head).map(|little| (little, 0))
        };
        if let Some((little, bom)) = utf16 {
            self.notes.push("decoded from UTF-16".to_string());
            return (Encoding::Utf16 { little }, bom);
        }
        // A UTF-8 byte-order mark is skipped; the declaration still decides, as before the
        // mark was common (mislabelled Latin-1 with a mark exists).
        let bom = if head.starts_with(b"\xef\xbb\xbf") {
            3
        } else {
            0
        };
        let encoding = match declared_encoding(&head[bom..]).as_deref() {
            None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => Encoding::Utf8,
            // WHATWG maps the Latin-1 labels to windows-1252 too: mislabelled Latin-1 is common.
            Some("windows-1252" | "cp1252" | "iso-8859-1" | "iso8859-1" | "latin1" | "l1") => {
                Encoding::Windows1252
            }
            Some(other) => match encoding_rs::Encoding::for_label(other.as_bytes()) {
                // A UTF-16 label on bytes that do not look like UTF-16, and the
                // "replacement" encoding (which decodes everything to U+FFFD), are not
                // believed: the bytes are read as UTF-8.
                Some(e)
                    if e != encoding_rs::UTF_8
                        && e != encoding_rs::UTF_16LE
                        && e != encoding_rs::UTF_16BE
                        && e != encoding_rs::REPLACEMENT =>
                {
                    self.notes.push(format!("decoded from {}", e.name()));
                    self.legacy = Some(e.new_decoder_without_bom_handling());
                    Encoding::Other(e)
                }
                _ => {
                    self.notes.push(format!(
                        "declared encoding {other:?} is not supported; read as UTF-8"
                    ));
                    Encoding::Utf8
                }
            },
        };
        (encoding, bom)
    }

    /// Decodes `raw` onto `out`; returns how many bytes at its end were left for the next
    /// chunk (an incomplete character), which `last` forbids.
    fn decode(&mut self, raw: &[u8], last: bool) -> usize {
        match self.encoding {
            Some(Encoding::Windows1252) => {
                for &b in raw {
                    if b.is_ascii() {
                        self.out.push(b);
                    } else {
                        let mut tmp = [0u8; 4];
                        self.out
                            .extend_from_slice(cp1252(b).encode_utf8(&mut tmp).as_bytes());
                    }
                }
                0
            }
            Some(Encoding::Utf16 { little }) => self.decode_utf16(raw, little, last),
            Some(Encoding::Other(_)) => {
                if let Some(decoder) = &mut self.legacy {
                    let start = self.out.len();
                    let room = decoder
                        .max_utf8_buffer_length(raw.len())
                        .unwrap_or(raw.len().saturating_mul(3).saturating_add(16));
                    self.out.resize(start + room, 0);
                    let (_, _, written, replaced) =
                        decoder.decode_to_utf8(raw, &mut self.out[start..], last);
                    self.out.truncate(start + written);
                    if replaced {
                        self.invalid += 1;
                        self.first_invalid.get_or_insert(self.decoded);
                    }
                }
                0
            }
            _ => self.decode_utf8(raw, last),
        }
    }

    fn bad(&mut self, at: usize) {
        self.invalid += 1;
        self.first_invalid.get_or_insert(self.decoded + at as u64);
        self.out.extend_from_slice(REPLACEMENT);
    }

    fn decode_utf8(&mut self, raw: &[u8], last: bool) -> usize {
        let mut at = 0;
        loop {
            let rest = &raw[at..];
            match std::str::from_utf8(rest) {
                Ok(_) => {
                    self.out.extend_from_slice(rest);
                    return 0;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    self.out.extend_from_slice(&rest[..good]);
                    match e.error_len() {
                        Some(len) => {
                            self.bad(at + good);
                            at += good + len;
                        }
                        None if last => {
                            self.bad(at + good);
                            return 0;
                        }
                        None => return rest.len() - good,
                    }
                }
            }
        }
    }

    fn decode_utf16(&mut self, raw: &[u8], little: bool, last: bool) -> usize {
        let unit = |i: usize| {
            let pair = [raw[i], raw[i + 1]];
            if little {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        };
        let mut i = 0;
        let mut tmp = [0u8; 4];
        while i + 2 <= raw.len() {
            let u = unit(i);
            match u {
                0xD800..=0xDBFF => {
                    if i + 4 > raw.len() {
                        if last {
                            self.bad(i);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    let low = unit(i + 2);
                    if (0xDC00..=0xDFFF).contains(&low) {
                        let c =
                            0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        match char::from_u32(c) {
                            Some(ch) => self
                                .out
                                .extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes()),
                            None => self.bad(i),
                        }
                        i += 4;
                    } else {
                        self.bad(i);
                        i += 2;
                    }
                }
                0xDC00..=0xDFFF => {
                    self.bad(i);
                    i += 2;
                }
                _ => {
                    let ch = char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER);
                    self.out
                        .extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                    i += 2;
                }
            }
        }
        let left = raw.len() - i;
        if last && left > 0 {
            // An odd byte at the end.
            self.bad(i);
            return 0;
        }
        left
    }
}

impl<R: BufRead> io::Read for Utf8Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Utf8Stream<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.out.len() && !self.eof {
            self.out.clear();
            self.pos = 0;
            while self.out.is_empty() && !self.eof {
                self.decode_chunk()?;
            }
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = self.pos.saturating_add(amt).min(self.out.len());
    }
}

/// UTF-16 without a byte-order mark, recognized by its first markup: `<` (after any blank
/// space) as one code unit whose other byte is zero. `Some(true)` for little-endian.
pub(super) fn utf16_without_bom(head: &[u8]) -> Option<bool> {
    let units = head.chunks_exact(2).take(64);
    for little in [true, false] {
        let first = units
            .clone()
            .map(|u| if little { (u[0], u[1]) } else { (u[1], u[0]) })
            .find(|&(low, high)| !(high == 0 && low.is_ascii_whitespace()));
        if first == Some((b'<', 0)) && head.len() >= 4 {
            return Some(little);
        }
    }
    None
}

/// The `encoding` pseudo-attribute of the XML declaration, lower-cased.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &bytes[start..bytes.len().min(start + HEAD)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}',
        '\u{017D}', '\u{008F}', '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}',
        '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}',
        '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Reads through a reader that hands out `step` bytes at a time, so characters and
    /// surrogate pairs are split across chunks.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn decode_all(data: &[u8], step: usize) -> (String, Vec<String>, String) {
        let reader = io::BufReader::with_capacity(step, Trickle { data, step });
        let mut s = Utf8Stream::new(reader);
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (sha, n) = s.digest();
        assert_eq!(n, data.len() as u64);
        (out, s.notes(), sha)
    }

    #[test]
    fn utf8_passes_through_and_is_hashed() {
        let text = "<a>héllo 𝄞 wörld</a>".repeat(200);
        for step in [1, 2, 3, 7, 4096] {
            let (out, notes, sha) = decode_all(text.as_bytes(), step);
            assert_eq!(out, text, "step {step}");
            assert!(notes.is_empty());
            assert_eq!(sha, hex::encode(Sha256::digest(text.as_bytes())));
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_and_located() {
        let mut data = b"<a>ok".to_vec();
        data.extend_from_slice(b"\xff\xfe");
        data.extend_from_slice("é</a>".as_bytes());
        data.push(0xc3); // incomplete at the very end
        for step in [1, 3, 1000] {
            let (out, notes, _) = decode_all(&data, step);
            assert_eq!(out, "<a>ok\u{FFFD}\u{FFFD}é</a>\u{FFFD}", "step {step}");
            assert_eq!(
                notes,
                vec![
                    "invalid UTF-8: 3 byte sequence(s) replaced with U+FFFD (first at byte 5)"
                        .to_string()
                ]
            );
        }
    }

    #[test]
    fn utf16_both_orders_with_and_without_bom() {
        let text = "<feedback>𝄞 ü</feedback>";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (data, skipped) in [
            ([&[0xff, 0xfe][..], &le].concat(), 2),
            ([&[0xfe, 0xff][..], &be].concat(), 2),
            (le.clone(), 0),
            (be.clone(), 0),
        ] {
            for step in [1, 3, 5, 999] {
                let reader = io::BufReader::with_capacity(step, Trickle { data: &data, step });
                let mut s = Utf8Stream::new(reader);
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                assert_eq!(out, text);
                assert_eq!(s.notes(), vec!["decoded from UTF-16".to_string()]);
                assert_eq!(s.skipped(), skipped);
                assert!(!s.positions_exact());
            }
        }
        let mut odd = le.clone();
        odd.push(b'x');
        let (out, notes, _) = decode_all(&odd, 4);
        assert!(out.ends_with('\u{FFFD}'));
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn drain_finds_a_needle_across_chunk_boundaries() {
        for at in [0, CHUNK - 5, CHUNK - 1, CHUNK, 2 * CHUNK - 3] {
            let mut data = vec![b' '; 3 * CHUNK];
            data[at..at + 9].copy_from_slice(b"<feedback");
            let mut s = Utf8Stream::new(&data[..]);
            assert!(s.drain(b"<feedback").unwrap(), "at {at}");
            assert!(s.at_end());
        }
        let data = vec![b'x'; 2 * CHUNK];
        assert!(!Utf8Stream::new(&data[..]).drain(b"<feedback").unwrap());
    }

    #[test]
    fn utf16_without_a_mark_after_blank_space() {
        let text = "\r\n  <feedback>é</feedback>";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(utf16_without_bom(&le), Some(true));
        assert_eq!(utf16_without_bom(&be), Some(false));
        assert_eq!(utf16_without_bom(b"  <feedback>"), None);
        assert_eq!(utf16_without_bom(b"\0\0\0\0"), None);
        for data in [le, be] {
            let mut s = Utf8Stream::new(&data[..]);
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
        }
    }

    #[test]
    fn other_declared_encodings_are_decoded() {
        // ISO-8859-15 has the euro sign at 0xA4 (Latin-1 has the currency sign there).
        let data = b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><a>\xa4 caf\xe9</a>";
        let mut s = Utf8Stream::new(&data[..]);
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.ends_with("<a>\u{20ac} caf\u{e9}</a>"), "{out}");
        assert_eq!(s.notes(), vec!["decoded from ISO-8859-15".to_string()]);
        assert_eq!(s.transcoded_from(), Some("ISO-8859-15"));
        // KOI8-R, split across chunk boundaries one byte at a time.
        let data = b"<?xml version=\"1.0\" encoding=\"koi8-r\"?><a>\xf0\xd2\xc9\xd7\xc5\xd4</a>";
        let mut s = Utf8Stream::new(std::io::BufReader::with_capacity(1, &data[..]));
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(
            out.ends_with("<a>\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}</a>"),
            "{out}"
        );
        // The replacement encoding is not believed.
        let data = b"<?xml version=\"1.0\" encoding=\"iso-2022-kr\"?><a>x</a>";
        let mut s = Utf8Stream::new(&data[..]);
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.ends_with("<a>x</a>"));
        assert!(s.notes()[0].contains("not supported"));
    }

    #[test]
    fn declared_windows_1252() {
        let data = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9 \x80</a>";
        let (out, notes, _) = decode_all(data, 7);
        assert!(out.ends_with("<a>café €</a>"), "{out}");
        assert!(notes.is_empty());
        // A UTF-8 byte-order mark in front of a Latin-1 declaration: the declaration decides.
        let data = b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"latin1\"?><a>caf\xe9</a>";
        let (out, notes, _) = decode_all(data, 5);
        assert!(out.ends_with("<a>café</a>"), "{out}");
        assert!(notes.is_empty());
        let data = b"<?xml version='1.0' encoding='no-such-charset'?><a/>";
        let (_, notes, _) = decode_all(data, 100);
        assert_eq!(
            notes,
            vec![
                "declared encoding \"no-such-charset\" is not supported; read as UTF-8".to_string()
            ]
        );
    }

    #[test]
    fn bom_is_skipped_and_counted() {
        let (out, _, _) = decode_all(b"\xef\xbb\xbf<a/>", 2);
        assert_eq!(out, "<a/>");
        assert_eq!(decode_all(b"", 2).0, "");
    }
}

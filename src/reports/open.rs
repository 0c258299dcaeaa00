//! Turning one input file's bytes into the report documents it carries: DMARC aggregate
//! report XML, and SMTP TLS report JSON (RFC 8460), which receivers mail to the same places.
//!
//! Receivers send aggregate reports as bare XML, gzip, zip or inside whole saved emails, and
//! file names lie (a `.xml` that is gzip, a `.zip` that is XML). So the content is sniffed,
//! never the extension. Nothing is extracted to disk, and nothing is held whole that need not
//! be: gzip, zlib and zip members are decompressed as the XML reader consumes them, so a
//! 250 MB report costs a few buffers. Only an email (the MIME parser needs all of it) and a
//! zip nested in something else (its directory is at the end) are read into memory, both
//! bounded. Decompressed output is bounded absolutely and relative to the input's size,
//! because these files come from strangers and a zip bomb must cost us a rejection, not the
//! machine.

use super::inflate::{Budget, Decompressed, GzStream, Peeked, open_error};
use super::mbox;
use super::model::Origin;
use flate2::bufread::ZlibDecoder;
use mail_parser::{Encoding, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};
use std::path::Path;

/// Distinct report rows one run keeps, across every file. Memory grows with them (about a
/// kilobyte each with their keys and tallies), and one report may hold 50,000
/// (`MAX_DISTINCT_ROWS` of the XML reader), so without a budget a handful of crafted reports
/// would cost gigabytes. Real months merge to far fewer: identical rows from many reports are
/// one. A report that would pass the budget is rejected whole, named with this reason.
pub const MAX_RUN_ROWS: usize = 100_000;

/// Resource bounds for one input file. The defaults suit real report mailboxes: the largest
/// real aggregate reports are tens of MB of XML, while anything expanding over 1000:1 past a
/// few MB is not something a receiver's report generator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read. Files are streamed, so this bounds time, not memory.
    pub max_file_bytes: u64,
    /// Largest email (a saved `.eml` or one message of a mailbox): the MIME parser needs
    /// the whole message in memory. Mail systems refuse messages past 25–50 MB.
    pub max_message_bytes: u64,
    /// Total decompressed bytes allowed across every member of one file.
    pub max_total_bytes: u64,
    /// Decompressed-to-file-size ratio above which output is a suspected bomb...
    pub max_ratio: u64,
    /// ...once the output is larger than this (small files legitimately compress well).
    pub ratio_floor: u64,
    /// Containers (gzip, zlib, zip, email) nested inside each other.
    pub max_depth: usize,
    /// Zip archives nested inside zip archives: one level is tolerated.
    pub max_zip_depth: usize,
    /// Members read from one archive, or parts from one email.
    pub max_members: usize,
    /// Distinct report rows kept across the whole run ([`MAX_RUN_ROWS`]).
    pub max_run_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_message_bytes: 64 << 20,
            max_total_bytes: 256 << 20,
            max_ratio: 1000,
            ratio_floor: 8 << 20,
            max_depth: 5,
            max_zip_depth: 2,
            max_members: 10_000,
            max_run_rows: MAX_RUN_ROWS,
        }
    }
}

/// What a byte stream looks like, judged by its content alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Empty,
    Xml,
    Gzip,
    Zlib,
    Zip,
    Eml,
    /// A Unix mailbox: several emails behind `From ` lines ([`is_mbox`]; [`sniff`] says
    /// `Eml` for one message).
    Mbox,
    /// A JSON document: never a DMARC report, but SMTP TLS reports (RFC 8460) are JSON and
    /// arrive at the same mailboxes; [`super::tlsrpt`] judges whether it is one.
    Json,
    Unknown,
}

impl Kind {
    /// The name recorded in [`super::model::InputFile::kind`].
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::Xml => "xml",
            Kind::Gzip => "gzip",
            Kind::Zlib => "zlib",
            Kind::Zip => "zip",
            Kind::Eml => "eml",
            Kind::Mbox => "mbox",
            Kind::Json => "json",
            Kind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file, or one member of it, yields no report XML. The text is shown to the user as
/// the rejection reason, so it names the cause in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("empty file (no content)")]
    Empty,
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("unrecognized content (not XML, gzip, zlib, zip or an email); starts with {0}")]
    Unrecognized(String),
    #[error("corrupt gzip data: {0}")]
    Gzip(String),
    #[error("corrupt zlib data: {0}")]
    Zlib(String),
    #[error("corrupt or unsupported zip archive: {0}")]
    Zip(String),
    #[error("encrypted zip member (no password support)")]
    Encrypted,
    #[error(
        "suspected zip bomb: expands beyond {limit} bytes from a {input}-byte file (over {ratio}:1)"
    )]
    Bomb { input: u64, limit: u64, ratio: u64 },
    #[error("decompressed data exceeds the {0}-byte limit for one file")]
    TooLarge(u64),
    #[error("containers nested too deeply ({0} levels)")]
    TooDeep(usize),
    #[error("archive has more than {0} members")]
    TooManyMembers(usize),
    #[error("email message exceeds the {0}-byte limit for one message")]
    MessageTooLarge(u64),
    #[error(
        "decompressing this file took over {0} bytes of output in all (many members over the limits)"
    )]
    TooMuchWork(u64),
    #[error("one piece of markup or text is longer than {0} bytes")]
    EventTooLong(u64),
    #[error("mailbox holds no messages")]
    EmptyMailbox,
    #[error("empty message (a separator line with nothing after it)")]
    EmptyMessage,
    #[error("not a readable email message")]
    Email,
    #[error(
        "email has more than {MAX_MIME_PARTS} MIME parts (no report email has more than a few); not read"
    )]
    TooManyParts,
    #[error(
        "email header block at byte {at} is over the {MAX_HEADER_BYTES}-byte limit (mail systems refuse headers that large); not read"
    )]
    HeaderTooLarge { at: usize },
    #[error("failure report (ruf), not an aggregate report")]
    FailureReport,
    #[error("email holds no aggregate report attachment (parts: {0})")]
    NoReport(String),
    #[error("email's report attachment cannot be read: {0}")]
    DamagedAttachment(String),
    #[error(
        "decompressed content is unrecognized (not XML, gzip, zlib, zip or an email); starts with {0}"
    )]
    UnrecognizedInside(String),
}

/// MIME parts read from one email. A report email has one to three; mail-parser keeps every
/// part (and its headers) in memory, so a crafted message of many tiny parts would otherwise
/// cost gigabytes.
pub const MAX_MIME_PARTS: usize = 1_000;
/// Largest header block (of the message or of one part). Mail systems refuse more than about
/// 1 MB of headers; report emails carry a few kilobytes.
pub const MAX_HEADER_BYTES: usize = 256 * 1024;

/// Checks an email's shape before it is parsed: at most [`MAX_MIME_PARTS`] boundary lines
/// (lines starting `--` and a non-space: a signature's `-- ` is not one) and no header block
/// over [`MAX_HEADER_BYTES`]. One pass, no allocation.
fn email_shape(bytes: &[u8]) -> Result<(), OpenError> {
    let mut parts = 0usize;
    let mut in_header = true;
    let mut header_start = 0usize;
    let mut at = 0usize;
    while at < bytes.len() {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| at + i + 1);
        let line = &bytes[at..end];
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if content.len() > 2 && content.starts_with(b"--") && !content[2].is_ascii_whitespace() {
            parts += 1;
            if parts > MAX_MIME_PARTS {
                return Err(OpenError::TooManyParts);
            }
            in_header = true;
            header_start = end;
        } else if in_header {
            if content.is_empty() {
                in_header = false;
            } else if end - header_start > MAX_HEADER_BYTES {
                return Err(OpenError::HeaderTooLarge { at: header_start });
            }
        }
        at = end;
    }
    Ok(())
}

/// Judges the content by its first bytes. Email is recognized by a header line first.
pub fn sniff(bytes: &[u8]) -> Kind {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Kind::Empty;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if let [a, b, ..] = bytes
        && *a == 0x78
        && (u16::from(*a) << 8 | u16::from(*b)) % 31 == 0
    {
        return Kind::Zlib;
    }
    if looks_like_xml(bytes) {
        return Kind::Xml;
    }
    if looks_like_json(bytes) {
        return Kind::Json;
    }
    if looks_like_email(bytes) {
        return Kind::Eml;
    }
    Kind::Unknown
}

fn looks_like_json(bytes: &[u8]) -> bool {
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut it = rest.iter().filter(|b| !b.is_ascii_whitespace());
    matches!(it.next(), Some(b'{')) && matches!(it.next(), Some(b'"' | b'}'))
}

fn looks_like_xml(bytes: &[u8]) -> bool {
    // UTF-16 with or without a byte-order mark: `<` followed or preceded by a zero byte.
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return true;
    }
    if super::decode::utf16_without_bom(bytes).is_some() {
        return true;
    }
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    rest.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

pub(super) fn looks_like_email(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    let mut lines = bytes[start..].split(|&b| b == b'\n');
    let Some(mut first) = lines.next() else {
        return false;
    };
    // An mbox "From " separator line may precede the headers.
    if first.starts_with(b"From ") {
        match lines.next() {
            Some(l) => first = l,
            None => return false,
        }
    }
    let Some(colon) = first.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0 && first[..colon].iter().all(|&b| (0x21..=0x7e).contains(&b))
}

/// Bytes read ahead of a stream to judge its kind.
const SNIFF_BYTES: usize = 8 * 1024;
/// Buffer between a decompressor and the next stage.
const STREAM_BUFFER: usize = 64 * 1024;

/// Which reader a document goes to, judged by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    /// XML: a DMARC aggregate report (or XML that is not one, which the XML reader names).
    Xml,
    /// A JSON object: an SMTP TLS report (or JSON that is not one, which the TLS-RPT reader
    /// names).
    Json,
}

/// A report document found in a file, handed to the caller to read as a byte stream. The
/// document is never held whole: the reader decompresses as it is read.
pub struct Document<'r> {
    pub origin: Origin,
    pub format: DocFormat,
    pub reader: &'r mut dyn BufRead,
    /// The document is the whole file (not inside a container): its hash is the file's.
    pub whole_file: bool,
    budget: &'r Budget,
}

impl Document<'_> {
    /// Damage noticed only once the document's stream ended (trailing bytes after gzip).
    /// Call after reading the document to its end.
    pub fn late_notes(&self) -> Vec<String> {
        self.budget.take_late_notes()
    }

    /// The file's resource bounds, which a reader that holds its document whole (JSON)
    /// must stay within.
    pub fn limits(&self) -> &Limits {
        self.budget.limits()
    }
}

/// What was found in a file: a document to read, or a part that holds no report.
pub enum Found<'r> {
    Document(Document<'r>),
    Unusable { origin: Origin, error: OpenError },
}

/// The hash and length of a document read to its end, which the caller hands back so a file
/// that is one bare document is not hashed twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentHash {
    pub sha256: String,
    pub bytes: u64,
}

/// Receives what a file holds, one item at a time; returns the document's [`ContentHash`]
/// when it read the document to its end.
pub type Sink<'s> = dyn FnMut(Found<'_>) -> Option<ContentHash> + 's;

/// One file as evidence: its kind, size and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub kind: Kind,
    pub bytes: u64,
    pub sha256: String,
}

/// Reads every report document in the file at `path`, streaming: memory does not grow with
/// the file's size (emails, which a MIME parser needs whole, are bounded by
/// [`Limits::max_message_bytes`]). `name` names the file in origins. Returns the file's kind,
/// size and hash for the evidence; an unreadable file is an error, everything inside a
/// readable file (however broken) goes to `sink`.
pub fn open_file(
    path: &Path,
    name: &str,
    limits: &Limits,
    sink: &mut Sink<'_>,
) -> Result<FileSummary, OpenError> {
    let file = std::fs::File::open(path).map_err(|e| OpenError::Io(e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| OpenError::Io(e.to_string()))?
        .len();
    if size > limits.max_file_bytes {
        return Err(OpenError::FileTooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let mut reader = BufReader::with_capacity(STREAM_BUFFER, file);
    let head = reader
        .fill_buf()
        .map_err(|e| OpenError::Io(e.to_string()))?;
    let budget = Budget::new(*limits, size);
    let mut walker = Walker {
        file: name,
        budget: &budget,
    };
    if mbox::is_mbox(&head[..head.len().min(4096)]) {
        let mut hashing = HashingReader::new(reader);
        walker.mbox(&mut hashing, sink);
        return Ok(hashing.finish(Kind::Mbox));
    }
    let kind = sniff(head);
    match kind {
        Kind::Zip => {
            walker.zip_archive(reader, &[], 0, 0, sink);
            let (sha256, bytes) = hash_file(path).map_err(|e| OpenError::Io(e.to_string()))?;
            Ok(FileSummary {
                kind,
                bytes,
                sha256,
            })
        }
        Kind::Xml => {
            let mut limited = reader.take(limits.max_file_bytes);
            let hash = walker.document(&mut limited, DocFormat::Xml, &[], 0, sink);
            let (sha256, bytes) = match hash {
                Some(h) if h.bytes == size => (h.sha256, h.bytes),
                _ => hash_file(path).map_err(|e| OpenError::Io(e.to_string()))?,
            };
            Ok(FileSummary {
                kind,
                bytes,
                sha256,
            })
        }
        _ => {
            let mut hashing = HashingReader::new(reader);
            walker.walk(Input::Stream(&mut hashing), &[], 0, 0, sink);
            Ok(hashing.finish(kind))
        }
    }
}

/// [`open_file`] for bytes already in memory (tests, fuzzing, one message of a mailbox):
/// nothing is copied. Returns the outermost kind ([`Kind::Mbox`] for a mailbox).
pub fn open_slice(file: &str, bytes: &[u8], limits: &Limits, sink: &mut Sink<'_>) -> Kind {
    let budget = Budget::new(*limits, bytes.len() as u64);
    let mut walker = Walker {
        file,
        budget: &budget,
    };
    if mbox::is_mbox(&bytes[..bytes.len().min(4096)]) {
        walker.mbox(&mut &bytes[..], sink);
        return Kind::Mbox;
    }
    walker.walk(Input::Slice(bytes), &[], 0, 0, sink);
    sniff(bytes)
}

/// The kind of a file, judged by its first bytes (for files that are not otherwise read).
pub fn sniff_file(path: &Path) -> Kind {
    let mut head = Vec::with_capacity(4096);
    match std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head)) {
        Ok(_) if mbox::is_mbox(&head) => Kind::Mbox,
        Ok(_) => sniff(&head),
        Err(_) => Kind::Unknown,
    }
}

/// SHA-256 (hex) and length of a file, read in one streaming pass.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let file = std::fs::File::open(path)?;
    let mut hashing = HashingReader::new(BufReader::with_capacity(STREAM_BUFFER, file));
    std::io::copy(&mut hashing, &mut std::io::sink())?;
    let summary = hashing.finish(Kind::Unknown);
    Ok((summary.sha256, summary.bytes))
}

/// Hashes what passes through, so a streamed file still gets its evidence hash.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: BufRead> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads what is left (so the hash covers the whole file) and summarizes it. A read
    /// error here leaves the hash of what was read; the caller already has the error.
    fn finish(mut self, kind: Kind) -> FileSummary {
        let _ = std::io::copy(&mut self, &mut std::io::sink());
        FileSummary {
            kind,
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

impl<R: BufRead> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.hasher.update(&buf[..n]);
            self.bytes += n as u64;
        }
        self.inner.consume(amt);
    }
}

/// Where the walker reads from: bytes in memory (an email part, a mailbox message), which
/// zip and MIME parsing use without a copy, or a stream (a file, a decompressor).
enum Input<'i> {
    Slice(&'i [u8]),
    Stream(&'i mut dyn BufRead),
}

struct Walker<'a> {
    file: &'a str,
    budget: &'a Budget,
}

impl Walker<'_> {
    fn origin(&self, path: &[String]) -> Origin {
        Origin {
            file: self.file.to_string(),
            member: if path.is_empty() {
                None
            } else {
                Some(path.join(" > "))
            },
        }
    }

    fn unusable(&self, path: &[String], error: OpenError, sink: &mut Sink<'_>) {
        // Damage noticed in a stream that held no document is not carried to the next one.
        self.budget.take_late_notes();
        let origin = self.origin(path);
        sink(Found::Unusable { origin, error });
    }

    /// Hands a document to the sink; `depth` 0 with no member path means the document is the
    /// file itself (not decompressed from it).
    fn document(
        &self,
        reader: &mut dyn BufRead,
        format: DocFormat,
        path: &[String],
        depth: usize,
        sink: &mut Sink<'_>,
    ) -> Option<ContentHash> {
        sink(Found::Document(Document {
            origin: self.origin(path),
            format,
            reader,
            whole_file: path.is_empty() && depth == 0,
            budget: self.budget,
        }))
    }

    fn walk(
        &mut self,
        input: Input<'_>,
        path: &[String],
        depth: usize,
        zip_depth: usize,
        sink: &mut Sink<'_>,
    ) {
        let mut peeked;
        let (kind, input) = match input {
            Input::Slice(bytes) => (sniff(bytes), Input::Slice(bytes)),
            Input::Stream(stream) => {
                peeked = match Peeked::new(stream, SNIFF_BYTES) {
                    Ok(p) => p,
                    Err(e) => return self.unusable(path, open_error(&e, OpenError::Io), sink),
                };
                let head = peeked.head();
                let kind = if head.iter().all(u8::is_ascii_whitespace) {
                    // Only the whole stream being blank makes it empty; the XML reader judges
                    // a long run of whitespace.
                    if head.len() < SNIFF_BYTES {
                        Kind::Empty
                    } else {
                        Kind::Xml
                    }
                } else {
                    sniff(head)
                };
                (kind, Input::Stream(&mut peeked))
            }
        };
        let limits = *self.budget.limits();
        if depth > limits.max_depth && !matches!(kind, Kind::Xml | Kind::Empty) {
            return self.unusable(path, OpenError::TooDeep(depth), sink);
        }
        match (kind, input) {
            (Kind::Empty, _) => self.unusable(path, OpenError::Empty, sink),
            (Kind::Unknown, Input::Slice(bytes)) => {
                self.unusable(path, OpenError::Unrecognized(describe_start(bytes)), sink)
            }
            (Kind::Json, Input::Slice(mut bytes)) => {
                self.document(&mut bytes, DocFormat::Json, path, depth, sink);
            }
            (Kind::Json, Input::Stream(stream)) => {
                self.document(stream, DocFormat::Json, path, depth, sink);
            }
            (Kind::Unknown, Input::Stream(stream)) => {
                let head = stream.fill_buf().unwrap_or_default();
                // Streams come out of a decompressor: say the file was one.
                let err = if depth > 0 {
                    OpenError::UnrecognizedInside(describe_start(head))
                } else {
                    OpenError::Unrecognized(describe_start(head))
                };
                self.unusable(path, err, sink)
            }
            (Kind::Xml, Input::Slice(mut bytes)) => {
                self.document(&mut bytes, DocFormat::Xml, path, depth, sink);
            }
            (Kind::Xml, Input::Stream(stream)) => {
                self.document(stream, DocFormat::Xml, path, depth, sink);
            }
            (Kind::Gzip, input) => {
                let mut slice;
                let source: &mut dyn BufRead = match input {
                    Input::Slice(bytes) => {
                        slice = bytes;
                        &mut slice
                    }
                    Input::Stream(stream) => stream,
                };
                let gz = GzStream::new(source, self.budget);
                let decompressed = Decompressed::new(gz, self.budget, OpenError::Gzip);
                let mut reader = BufReader::with_capacity(STREAM_BUFFER, decompressed);
                let input = Input::Stream(&mut reader);
                self.walk(input, path, depth + 1, zip_depth, sink);
            }
            (Kind::Zlib, input) => {
                let mut slice;
                let source: &mut dyn BufRead = match input {
                    Input::Slice(bytes) => {
                        slice = bytes;
                        &mut slice
                    }
                    Input::Stream(stream) => stream,
                };
                let z = ZlibDecoder::new(source);
                let decompressed = Decompressed::new(z, self.budget, OpenError::Zlib);
                let mut reader = BufReader::with_capacity(STREAM_BUFFER, decompressed);
                let input = Input::Stream(&mut reader);
                self.walk(input, path, depth + 1, zip_depth, sink);
            }
            (Kind::Zip, _) if zip_depth >= limits.max_zip_depth => {
                self.unusable(path, OpenError::TooDeep(depth), sink)
            }
            (Kind::Zip, Input::Slice(bytes)) => {
                self.zip_archive(Cursor::new(bytes), path, depth, zip_depth, sink)
            }
            (Kind::Zip, Input::Stream(stream)) => {
                // A zip's directory is at its end: a nested archive must be in memory.
                // Its bytes were already counted by the decompressor that produced them.
                match read_bounded(stream, limits.max_total_bytes, OpenError::TooLarge) {
                    Ok(bytes) => {
                        self.zip_archive(Cursor::new(&bytes[..]), path, depth, zip_depth, sink)
                    }
                    Err(e) => self.unusable(path, e, sink),
                }
            }
            (Kind::Eml | Kind::Mbox, Input::Slice(bytes)) => {
                self.email(bytes, path, depth, zip_depth, sink)
            }
            (Kind::Eml | Kind::Mbox, Input::Stream(stream)) => {
                match read_bounded(stream, limits.max_message_bytes, |_| {
                    OpenError::MessageTooLarge(limits.max_message_bytes)
                }) {
                    Ok(bytes) => self.email(&bytes, path, depth, zip_depth, sink),
                    Err(e) => self.unusable(path, e, sink),
                }
            }
        }
    }

    /// Every message of a mailbox, one at a time, each under its own budget.
    fn mbox(&mut self, reader: &mut dyn BufRead, sink: &mut Sink<'_>) {
        let limits = *self.budget.limits();
        let mut messages = 0usize;
        for (n, message) in mbox::MboxReader::new(reader, limits.max_message_bytes) {
            messages += 1;
            let path = [format!("mbox:message {n}")];
            match message {
                Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                    self.unusable(&path, OpenError::EmptyMessage, sink)
                }
                Ok(bytes) => {
                    let budget = Budget::new(limits, bytes.len() as u64);
                    let mut walker = Walker {
                        file: self.file,
                        budget: &budget,
                    };
                    walker.walk(Input::Slice(&bytes), &path, 0, 0, sink);
                }
                Err(e) => self.unusable(&path, e, sink),
            }
        }
        if messages == 0 {
            self.unusable(&[], OpenError::EmptyMailbox, sink);
        }
        tracing::info!(file = self.file, messages, "read mailbox");
    }

    fn zip_archive<R: Read + Seek>(
        &mut self,
        reader: R,
        path: &[String],
        depth: usize,
        zip_depth: usize,
        sink: &mut Sink<'_>,
    ) {
        let limits = *self.budget.limits();
        let mut reader = reader;
        // The directory is parsed whole by the zip reader: refuse an archive announcing too
        // many entries before it is read.
        if let Some(count) = zip_entry_count(&mut reader)
            && count > limits.max_members as u64
        {
            return self.unusable(path, OpenError::TooManyMembers(limits.max_members), sink);
        }
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => return self.unusable(path, OpenError::Zip(e.to_string()), sink),
        };
        if archive.len() > limits.max_members {
            return self.unusable(path, OpenError::TooManyMembers(limits.max_members), sink);
        }
        let mut found = 0usize;
        for i in 0..archive.len() {
            let mut member_path = path.to_vec();
            let listed_name = match archive.name_for_index(i) {
                Some(Ok(n)) if !n.is_empty() => Some(n.into_owned()),
                _ => None,
            };
            let entry = match archive.by_index(i) {
                Ok(entry) => entry,
                Err(e) => {
                    // The member exists but cannot be opened: it is named (by its name when
                    // the directory gives one) and counted, so the archive is not also called
                    // empty.
                    found += 1;
                    match &listed_name {
                        Some(n) => member_path.push(format!("zip:{n}")),
                        None => member_path.push(format!("zip:#{}", i + 1)),
                    }
                    let err = match e {
                        zip::result::ZipError::UnsupportedArchive(m)
                            if m == zip::result::ZipError::PASSWORD_REQUIRED =>
                        {
                            OpenError::Encrypted
                        }
                        other => OpenError::Zip(other.to_string()),
                    };
                    self.unusable(&member_path, err, sink);
                    continue;
                }
            };
            let name = match entry.name() {
                Ok(n) => n.into_owned(),
                Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
            };
            if entry.is_dir() || is_metadata_member(&name) {
                continue;
            }
            found += 1;
            member_path.push(format!("zip:{name}"));
            if entry.encrypted() {
                self.unusable(&member_path, OpenError::Encrypted, sink);
                continue;
            }
            let decompressed = Decompressed::new(entry, self.budget, OpenError::Zip);
            let mut reader = BufReader::with_capacity(STREAM_BUFFER, decompressed);
            let input = Input::Stream(&mut reader);
            self.walk(input, &member_path, depth + 1, zip_depth + 1, sink);
        }
        if found == 0 {
            let err = OpenError::Zip("archive has no file members".to_string());
            self.unusable(path, err, sink);
        }
    }

    fn email(
        &mut self,
        bytes: &[u8],
        path: &[String],
        depth: usize,
        zip_depth: usize,
        sink: &mut Sink<'_>,
    ) {
        let limits = *self.budget.limits();
        if let Err(e) = email_shape(bytes) {
            return self.unusable(path, e, sink);
        }
        // mail-parser 0.11 asserts on some malformed multipart structures in debug builds
        // (found by fuzzing); a stranger's email must cost a rejection, never the run.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            MessageParser::new().parse(bytes)
        }));
        let Ok(Some(message)) = parsed else {
            return self.unusable(path, OpenError::Email, sink);
        };
        // The shape check bounds the parts; should mail-parser still find more, the message is
        // refused whole rather than read in part.
        if message.parts.len() > MAX_MIME_PARTS.min(limits.max_members) + 1 {
            return self.unusable(path, OpenError::TooManyParts, sink);
        }
        let parts = &message.parts[..];
        // A failure report (RFC 6591) carries the original message as message/rfc822; it is
        // known from its structure, which may come after that part.
        let failure_report = parts.iter().any(|part| {
            part.content_type().is_some_and(|ct| {
                let (t, sub) = (ct.ctype(), ct.subtype().unwrap_or(""));
                (t.eq_ignore_ascii_case("multipart")
                    && sub.eq_ignore_ascii_case("report")
                    && ct
                        .attribute("report-type")
                        .is_some_and(|r| r.eq_ignore_ascii_case("feedback-report")))
                    || (t.eq_ignore_ascii_case("message")
                        && sub.eq_ignore_ascii_case("feedback-report"))
            })
        });
        let mut seen_types = Vec::new();
        let mut damaged: Vec<String> = Vec::new();
        let mut candidates = 0usize;
        for (i, part) in parts.iter().enumerate() {
            let ctype = part
                .content_type()
                .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")))
                .unwrap_or_else(|| "text/plain".to_string())
                .to_ascii_lowercase();
            let name = part.attachment_name().unwrap_or("");
            let mut member_path = path.to_vec();
            if name.is_empty() {
                member_path.push(format!("mime:part {} ({ctype})", i + 1));
            } else {
                member_path.push(format!("mime:part {} ({ctype}; {name})", i + 1));
            }
            let contents = match &part.body {
                PartType::Multipart(_) => continue,
                // A forwarded message ("forward as attachment") is opened like a saved email;
                // a failure report's copy of the original message never holds a report.
                PartType::Message(inner) => {
                    if failure_report {
                        seen_types.push(ctype);
                    } else {
                        candidates += 1;
                        let inner = inner.raw_message();
                        self.walk(
                            Input::Slice(inner),
                            &member_path,
                            depth + 1,
                            zip_depth,
                            sink,
                        );
                    }
                    continue;
                }
                PartType::Text(_)
                | PartType::Html(_)
                | PartType::Binary(_)
                | PartType::InlineBinary(_) => part_bytes(&message.raw_message, part),
            };
            let contents = &contents[..];
            let kind = sniff(contents);
            let wanted = match kind {
                Kind::Gzip | Kind::Zip | Kind::Zlib => true,
                Kind::Xml => {
                    ctype.contains("xml")
                        || name.to_ascii_lowercase().ends_with(".xml")
                        || contains(&contents[..contents.len().min(4096)], b"<feedback")
                }
                // `application/tlsrpt+json` (RFC 8460 §5.3), or JSON named or shaped as one.
                Kind::Json => {
                    ctype.contains("json")
                        || ctype.contains("tlsrpt")
                        || name.to_ascii_lowercase().ends_with(".json")
                        || contains(
                            &contents[..contents.len().min(4096)],
                            b"\"organization-name\"",
                        )
                }
                _ => false,
            };
            if !wanted {
                // A part labelled as a report attachment whose bytes are none of the formats:
                // say that, rather than "no attachment".
                let lname = name.to_ascii_lowercase();
                let labelled = ["gzip", "zip", "xml", "octet-stream", "tlsrpt", "json"]
                    .iter()
                    .any(|t| ctype.contains(t))
                    || [".xml", ".gz", ".zip", ".json"]
                        .iter()
                        .any(|e| lname.ends_with(e));
                if labelled && kind != Kind::Empty {
                    damaged.push(format!(
                        "part {} ({ctype}) decodes to unrecognized content (damaged or not base64); starts with {}",
                        i + 1,
                        describe_start(contents)
                    ));
                }
                seen_types.push(ctype);
                continue;
            }
            candidates += 1;
            self.walk(
                Input::Slice(contents),
                &member_path,
                depth + 1,
                zip_depth,
                sink,
            );
        }
        if candidates == 0 {
            let err = if failure_report {
                OpenError::FailureReport
            } else if !damaged.is_empty() {
                OpenError::DamagedAttachment(damaged.join("; "))
            } else {
                seen_types.dedup();
                OpenError::NoReport(if seen_types.is_empty() {
                    "none".to_string()
                } else {
                    seen_types.join(", ")
                })
            };
            self.unusable(path, err, sink);
        }
    }
}

/// The bytes a MIME part carries, decoded from its transfer encoding only.
///
/// mail-parser converts text parts to UTF-8 by their declared charset, which destroys a
/// gzip or zip labelled `text/plain` (or given no Content-Type at all) and decodes XML that
/// declares its own encoding a second time. So a text part is decoded here from the raw
/// message: base64 leniently (a missing final boundary, missing padding or a stray character
/// must not cost the report), quoted-printable with mail-parser's decoder, anything else as
/// the bytes stand. Only a text part whose charset is not UTF-8 and whose content declares no
/// encoding of its own keeps mail-parser's conversion, since nothing else says how to read it.
fn part_bytes<'m>(raw: &'m [u8], part: &'m mail_parser::MessagePart<'_>) -> Cow<'m, [u8]> {
    let bytes = transfer_decoded(raw, part);
    // When mail-parser gives up on a damaged base64 part (a missing closing boundary, say) it
    // keeps the encoded text: decode that here rather than lose the report.
    if matches!(sniff(&bytes), Kind::Unknown)
        && looks_like_base64(&bytes)
        && let Some(decoded) = lenient_base64(&bytes)
        && recognized(&decoded)
    {
        return Cow::Owned(decoded);
    }
    bytes
}

/// How many bytes the base64 text in `body` encodes (up to a leaked boundary line).
fn b64_len(body: &[u8]) -> usize {
    b64_symbols(body).count() * 3 / 4
}

/// The base64 symbols of a part body as damaged mail carries them: line breaks and stray
/// characters skipped, ending at padding or at a leaked MIME boundary line (`--…`).
fn b64_symbols(body: &[u8]) -> impl Iterator<Item = u8> + '_ {
    body.split(|&b| b == b'\n')
        .take_while(|line| !line.starts_with(b"--"))
        .flatten()
        .copied()
        .take_while(|&b| b != b'=')
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
}

/// Bytes the walker can open (a container or XML), as opposed to text or noise.
fn recognized(bytes: &[u8]) -> bool {
    !matches!(sniff(bytes), Kind::Unknown | Kind::Empty | Kind::Eml)
}

/// Base64 text: its first kilobyte is the alphabet, padding and line breaks, but for a rare
/// stray character (which is what made the strict decoder give up).
fn looks_like_base64(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let other = head
        .iter()
        .filter(|&&b| {
            !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n'))
        })
        .count();
    head.len() >= 16 && other * 50 <= head.len()
}

fn transfer_decoded<'m>(raw: &'m [u8], part: &'m mail_parser::MessagePart<'_>) -> Cow<'m, [u8]> {
    let decoded = part.contents();
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    let is_text = matches!(part.body, PartType::Text(_) | PartType::Html(_));
    match part.encoding {
        // mail-parser drops a final group that lacks its padding, which truncates a gzip
        // stream; the lenient decoding keeps it, and is otherwise the same bytes.
        // A binary part that decoded whole and recognizable is kept without decoding again.
        Encoding::Base64 if !is_text && recognized(decoded) && decoded.len() >= b64_len(body) => {
            Cow::Borrowed(decoded)
        }
        Encoding::Base64 => match lenient_base64(body) {
            Some(bytes) if is_text && keeps_own_encoding(part, &bytes) => Cow::Owned(bytes),
            Some(bytes)
                if !is_text
                    && (bytes.len() > decoded.len()
                        || (!recognized(decoded) && recognized(&bytes))) =>
            {
                Cow::Owned(bytes)
            }
            _ => Cow::Borrowed(decoded),
        },
        Encoding::QuotedPrintable if is_text => {
            match mail_parser::decoders::quoted_printable::quoted_printable_decode(body) {
                Some(bytes) if keeps_own_encoding(part, &bytes) => Cow::Owned(bytes),
                _ => Cow::Borrowed(decoded),
            }
        }
        Encoding::None if is_text && !body.is_empty() && keeps_own_encoding(part, body) => {
            Cow::Borrowed(body)
        }
        _ => Cow::Borrowed(decoded),
    }
}

/// Whether the raw bytes of a text part can be handed on unconverted: they are not text at
/// all (compressed), the part's charset is UTF-8 or ASCII (or absent), or the content names
/// its own encoding (an XML declaration or byte-order mark), which the XML reader honours.
fn keeps_own_encoding(part: &mail_parser::MessagePart<'_>, bytes: &[u8]) -> bool {
    if matches!(sniff(bytes), Kind::Gzip | Kind::Zip | Kind::Zlib) {
        return true;
    }
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(|c| c.trim().to_ascii_lowercase());
    if charset
        .as_deref()
        .is_none_or(|c| matches!(c, "utf-8" | "utf8" | "us-ascii" | "ascii"))
    {
        return true;
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let head = &bytes[start..bytes.len().min(start + 256)];
    head.starts_with(b"\xef\xbb\xbf")
        || head.starts_with(&[0xff, 0xfe])
        || head.starts_with(&[0xfe, 0xff])
        || (head.starts_with(b"<?xml") && contains(head, b"encoding"))
}

/// Base64 as damaged mail carries it ([`b64_symbols`]), missing padding tolerated, and a
/// final lone character (which encodes no byte) dropped. `None` when nothing decodes.
fn lenient_base64(body: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut clean: Vec<u8> = b64_symbols(body).collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    if clean.is_empty() {
        return None;
    }
    LENIENT.decode(&clean).ok()
}

/// The entry count a zip's end-of-central-directory record announces (65,535 stands for
/// "see the zip64 record", which is more than any limit here anyway), if the record is found.
fn zip_entry_count<R: Read + Seek>(reader: &mut R) -> Option<u64> {
    use std::io::SeekFrom;
    let len = reader.seek(SeekFrom::End(0)).ok()?;
    // The record is 22 bytes plus a comment of at most 65,535.
    let tail_len = len.min(22 + 65_535);
    reader.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    reader.take(tail_len).read_to_end(&mut tail).ok()?;
    reader.seek(SeekFrom::Start(0)).ok()?;
    let at = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .filter(|&at| at + 22 <= tail.len())?;
    let total = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    Some(u64::from(total))
}

/// Reads a whole stream that must be in memory (an email, a nested zip), refusing it past
/// `limit` bytes.
fn read_bounded(
    stream: &mut dyn BufRead,
    limit: u64,
    too_large: impl Fn(u64) -> OpenError,
) -> Result<Vec<u8>, OpenError> {
    let mut out = Vec::new();
    stream
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| open_error(&e, OpenError::Io))?;
    if out.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(out)
}

/// macOS resource forks and folder metadata that archivers add next to the real files.
fn is_metadata_member(name: &str) -> bool {
    name.starts_with("__MACOSX/") || name.rsplit('/').next().is_some_and(|b| b.starts_with("._"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A short, printable description of the first bytes, for "unrecognized content" reasons.
fn describe_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    format!("bytes {}", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;

    const XML: &[u8] = b"<?xml version=\"1.0\"?><feedback><report_metadata/></feedback>";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// One found item, with a document read to its end.
    struct Member {
        origin: Origin,
        notes: Vec<String>,
        /// The reader the document is handed to (`None` for an unusable part).
        format: Option<DocFormat>,
        xml: Result<Vec<u8>, OpenError>,
    }

    struct Opened {
        kind: Kind,
        members: Vec<Member>,
    }

    fn open_bytes_with(file: &str, bytes: &[u8], limits: &Limits) -> Opened {
        let mut members = Vec::new();
        let kind = open_slice(file, bytes, limits, &mut |found| {
            match found {
                Found::Document(doc) => {
                    let mut xml = Vec::new();
                    let read = doc.reader.read_to_end(&mut xml);
                    let notes = doc.late_notes();
                    members.push(Member {
                        origin: doc.origin,
                        notes,
                        format: Some(doc.format),
                        xml: read.map(|_| xml).map_err(|e| open_error(&e, OpenError::Io)),
                    });
                }
                Found::Unusable { origin, error } => members.push(Member {
                    origin,
                    notes: Vec::new(),
                    format: None,
                    xml: Err(error),
                }),
            }
            None
        });
        Opened { kind, members }
    }

    fn open_bytes(file: &str, bytes: &[u8]) -> Opened {
        open_bytes_with(file, bytes, &Limits::default())
    }

    fn xmls(opened: &Opened) -> Vec<Vec<u8>> {
        opened
            .members
            .iter()
            .filter_map(|m| m.xml.clone().ok())
            .collect()
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff(b""), Kind::Empty);
        assert_eq!(sniff(b"  \r\n"), Kind::Empty);
        assert_eq!(sniff(XML), Kind::Xml);
        assert_eq!(sniff(b"\xef\xbb\xbf  \n<feedback/>"), Kind::Xml);
        assert_eq!(sniff(&gzip(XML)), Kind::Gzip);
        assert_eq!(sniff(&zip_of(&[("a.xml", XML)])), Kind::Zip);
        assert_eq!(
            sniff(b"Received: from x\r\nSubject: y\r\n\r\nbody"),
            Kind::Eml
        );
        assert_eq!(sniff(b"hello world"), Kind::Unknown);
        assert_eq!(sniff(b"\x00\x01\x02\x03garbage"), Kind::Unknown);
    }

    #[test]
    fn gzip_with_trailing_crlf_is_tolerated() {
        let mut data = gzip(XML);
        data.extend_from_slice(b"\r\n");
        let opened = open_bytes("r.xml.gz", &data);
        assert_eq!(opened.kind, Kind::Gzip);
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
        assert_eq!(
            opened.members[0].notes,
            vec!["ignored 2 trailing bytes after the gzip stream".to_string()]
        );
    }

    #[test]
    fn gzip_inside_gzip_and_concatenated_members() {
        let twice = gzip(&gzip(XML));
        let opened = open_bytes("r.gz", &twice);
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);

        let half = XML.len() / 2;
        let mut two = gzip(&XML[..half]);
        two.extend(gzip(&XML[half..]));
        let opened = open_bytes("r.gz", &two);
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
        assert!(opened.members[0].notes.is_empty());
    }

    #[test]
    fn raw_zlib() {
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(XML).unwrap();
        let data = enc.finish().unwrap();
        let opened = open_bytes("r.z", &data);
        assert_eq!(opened.kind, Kind::Zlib);
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
    }

    #[test]
    fn zip_yields_every_member_and_nested_zip() {
        let other =
            b"<feedback><report_metadata><report_id>2</report_id></report_metadata></feedback>";
        let inner = zip_of(&[("inner.xml", other.as_slice())]);
        let data = zip_of(&[
            ("a.xml", XML),
            ("b.xml.gz", &gzip(other)),
            ("nested.zip", &inner),
            ("readme.txt", b"not a report"),
        ]);
        let opened = open_bytes("r.zip", &data);
        assert_eq!(opened.kind, Kind::Zip);
        assert_eq!(
            xmls(&opened),
            vec![XML.to_vec(), other.to_vec(), other.to_vec()]
        );
        assert_eq!(
            opened.members[2].origin.member.as_deref(),
            Some("zip:nested.zip > zip:inner.xml")
        );
        let rejected = &opened.members[3];
        assert_eq!(rejected.origin.member.as_deref(), Some("zip:readme.txt"));
        assert!(matches!(
            rejected.xml,
            Err(OpenError::UnrecognizedInside(_))
        ));
    }

    #[test]
    fn a_zip_announcing_too_many_entries_is_refused_before_its_directory_is_read() {
        let names: Vec<String> = (0..30).map(|i| format!("m{i}.xml")).collect();
        let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), XML)).collect();
        let data = zip_of(&members);
        let mut cursor = Cursor::new(&data[..]);
        assert_eq!(zip_entry_count(&mut cursor), Some(30));
        let limits = Limits {
            max_members: 10,
            ..Limits::default()
        };
        let opened = open_bytes_with("many.zip", &data, &limits);
        assert_eq!(opened.members.len(), 1);
        assert_eq!(opened.members[0].xml, Err(OpenError::TooManyMembers(10)));
        assert_eq!(open_bytes("many.zip", &data).members.len(), 30);
    }

    /// Found by fuzzing: mail-parser 0.11 asserts on this multipart structure in debug builds.
    /// It must cost a rejection (or a parse), never a panic.
    #[test]
    fn a_malformed_multipart_email_does_not_panic() {
        const EMAIL: &[u8] = b"From dmarc-noredi\r\nContent-Type: multipart/report;   boundary=\"_----abcdefghijklmnopqrstuv===_AA/01-16018-D1AA1CC5\"\r\n\x02\x00\x00\x00-S in:example.m\r\n\r\n--_----abcdefghijklmnopqrstuv===_AA/01-16018-D1AA1CC5\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\nRettosted\r\nx.111111CC5\r\nContent-Type: message/rfc822\r\nContentntae\r\n\r\nAlternative\r\n\n--_----abcdefghijklmnopqrstuv===_AA/01-16018-D1AA1CC5--\r\n";
        let opened = open_bytes("fuzz.eml", EMAIL);
        assert!(!opened.members.is_empty());
        assert!(opened.members.iter().all(|m| m.xml.is_err()));
    }

    #[test]
    fn zip_nested_two_levels_is_refused() {
        let level2 = zip_of(&[("x.xml", XML)]);
        let level1 = zip_of(&[("l2.zip", &level2)]);
        let level0 = zip_of(&[("l1.zip", &level1)]);
        let opened = open_bytes("r.zip", &level0);
        assert_eq!(opened.members.len(), 1);
        assert!(matches!(opened.members[0].xml, Err(OpenError::TooDeep(_))));
    }

    #[test]
    fn eml_with_octet_stream_attachment() {
        let zipped = zip_of(&[("google.com!example.com!1!2.xml", XML)]);
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &zipped);
        let eml = format!(
            "From: noreply-dmarc-support@google.com\r\nTo: dmarc@example.com\r\n\
             Subject: Report domain: example.com\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
             --XX\r\nContent-Type: text/plain\r\n\r\nThis is an aggregate report.\r\n\
             --XX\r\nContent-Type: application/octet-stream; name=\"report\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--XX--\r\n"
        );
        let opened = open_bytes("r.eml", eml.as_bytes());
        assert_eq!(opened.kind, Kind::Eml);
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
        let member = opened.members[0].origin.member.clone().unwrap_or_default();
        assert!(member.contains("application/octet-stream"), "{member}");
        assert!(
            member.ends_with("zip:google.com!example.com!1!2.xml"),
            "{member}"
        );
    }

    #[test]
    fn eml_not_multipart_body_is_the_attachment() {
        let gz = gzip(XML);
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &gz);
        let eml = format!(
            "Received: from mx\r\nFrom: a@b.test\r\nContent-Type: application/gzip\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n"
        );
        let opened = open_bytes("r.eml", eml.as_bytes());
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
    }

    fn b64(data: &[u8]) -> String {
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, data)
    }

    /// A multipart email whose second part has these headers and body.
    fn eml_with(part_headers: &str, body: &str, closing: &str) -> String {
        format!(
            "From: dmarc@reporter.test\r\nTo: rua@example.test\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
             --XX\r\nContent-Type: text/plain\r\n\r\nReport attached.\r\n\
             --XX\r\n{part_headers}\r\n\r\n{body}\r\n{closing}"
        )
    }

    #[test]
    fn mime_part_and_header_bounds_hold_at_the_limit_and_refuse_past_it() {
        let gz = gzip(XML);
        let attachment = "Content-Type: application/gzip; name=\"r.xml.gz\"\r\n\
             Content-Transfer-Encoding: base64";
        // `extra` empty parts before the report's: the message has extra + 2 boundary lines
        // that open a part, plus the closing one.
        let with_parts = |extra: usize| {
            let mut e = String::from(
                "From: dmarc@reporter.test\r\nTo: rua@example.test\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n",
            );
            for _ in 0..extra {
                e.push_str("--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n");
            }
            e.push_str(&format!(
                "--XX\r\n{attachment}\r\n\r\n{}\r\n--XX--\r\n",
                b64(&gz)
            ));
            e
        };
        // MAX_MIME_PARTS boundary lines in all: read, the report in the last part found.
        let opened = open_bytes("r.eml", with_parts(MAX_MIME_PARTS - 2).as_bytes());
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
        // One more: refused whole, with the bound in the reason, never read in part.
        let opened = open_bytes("r.eml", with_parts(MAX_MIME_PARTS - 1).as_bytes());
        assert!(xmls(&opened).is_empty());
        let why = format!("{:?}", opened.members[0].xml);
        assert!(why.contains("TooManyParts"), "{why}");
        assert!(
            OpenError::TooManyParts
                .to_string()
                .contains("more than 1000 MIME parts")
        );
        // A header block of MAX_HEADER_BYTES is read; one byte more is refused.
        let header = |n: usize| {
            let fixed = "From: dmarc@reporter.test\r\nX-Pad: \r\n".len();
            format!(
                "From: dmarc@reporter.test\r\nX-Pad: {}\r\n",
                "p".repeat(n - fixed)
            )
        };
        let eml = |n: usize| {
            format!(
                "{}Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                header(n),
                b64(&gz)
            )
        };
        let fixed_tail =
            "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n".len();
        let at = eml(MAX_HEADER_BYTES - fixed_tail);
        assert_eq!(
            xmls(&open_bytes("h.eml", at.as_bytes())),
            vec![XML.to_vec()]
        );
        let over = eml(MAX_HEADER_BYTES - fixed_tail + 1);
        let opened = open_bytes("h.eml", over.as_bytes());
        assert!(xmls(&opened).is_empty());
        let why = format!("{:?}", opened.members[0].xml);
        assert!(why.contains("HeaderTooLarge"), "{why}");
    }

    #[test]
    fn damaged_attachments_and_encrypted_members_say_what_happened() {
        // A report attachment whose base64 is garbage: the reason says so.
        let eml = "From: r@x\r\nTo: d@y\r\nMIME-Version: 1.0\r\n\
                   Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                   !!!!****not base64****!!!!\r\n";
        let opened = open_bytes("b.eml", eml.as_bytes());
        let why = opened.members[0].xml.clone().unwrap_err().to_string();
        assert!(
            why.contains("report attachment cannot be read") && why.contains("not base64"),
            "{why}"
        );
        // An encrypted member is named once, by its name, and the archive is not also
        // called empty.
        let mut zipped = zip_of(&[("r.xml", XML)]);
        zipped[6] |= 1;
        if let Some(i) = zipped.windows(4).position(|w| w == b"PK\x01\x02") {
            zipped[i + 8] |= 1;
        }
        let opened = open_bytes("e.zip", &zipped);
        assert_eq!(opened.members.len(), 1);
        assert_eq!(
            opened.members[0].origin.member.as_deref(),
            Some("zip:r.xml")
        );
        assert_eq!(opened.members[0].xml, Err(OpenError::Encrypted));
    }

    #[test]
    fn eml_binary_attachment_labelled_text_is_not_mangled() {
        let gz = gzip(XML);
        for headers in [
            "Content-Type: text/plain; name=\"r.xml.gz\"\r\nContent-Transfer-Encoding: base64",
            // No Content-Type at all: text/plain by default.
            "Content-Disposition: attachment; filename=\"r.xml.gz\"\r\n\
             Content-Transfer-Encoding: base64",
        ] {
            let eml = eml_with(headers, &b64(&gz), "--XX--\r\n");
            let opened = open_bytes("r.eml", eml.as_bytes());
            assert_eq!(xmls(&opened), vec![XML.to_vec()], "{headers}");
        }
    }

    /// The email yields exactly the test report, or the failure shows what it yielded.
    fn yields_the_report(name: &str, eml: &str) {
        let opened = open_bytes(name, eml.as_bytes());
        let got: Vec<_> = opened
            .members
            .iter()
            .map(|m| (&m.origin, m.xml.as_ref().err()))
            .collect();
        assert_eq!(xmls(&opened), vec![XML.to_vec()], "{name}: {got:?}");
    }

    #[test]
    fn eml_damaged_base64_still_yields_the_report() {
        let gz = gzip(XML);
        let encoded = b64(&gz);
        let wrapped: Vec<String> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let wrapped = wrapped.join("\r\n");
        let headers = "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64";
        // The closing boundary is missing.
        yields_the_report("a.eml", &eml_with(headers, &wrapped, ""));
        // The padding is missing.
        let unpadded = wrapped.trim_end_matches('=');
        assert_ne!(
            unpadded.len(),
            wrapped.len(),
            "the test data must have padding"
        );
        yields_the_report("b.eml", &eml_with(headers, unpadded, "--XX--\r\n"));
        // A stray character inside the data.
        let stray = format!("{}*{}", &wrapped[..10], &wrapped[10..]);
        let eml = eml_with(headers, &stray, "--XX--\r\n");
        assert_eq!(
            xmls(&open_bytes("c.eml", eml.as_bytes())),
            vec![XML.to_vec()]
        );
    }

    #[test]
    fn eml_xml_with_declared_charset_is_decoded_once() {
        // windows-1252 bytes, declared both by MIME and by the XML declaration: the XML
        // reader must see the original bytes, not mail-parser's UTF-8 conversion.
        let xml = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><feedback><org_name>T\xe9l\xe9com</org_name></feedback>";
        let headers = "Content-Type: text/xml; charset=windows-1252; name=\"r.xml\"\r\n\
                       Content-Transfer-Encoding: 8bit";
        let mut eml = eml_with(headers, "BODY", "--XX--\r\n").into_bytes();
        // Put the raw (non-UTF-8) body in place.
        let at = eml.windows(4).position(|w| w == b"BODY").unwrap();
        eml.splice(at..at + 4, xml.iter().copied());
        assert_eq!(xmls(&open_bytes("r.eml", &eml)), vec![xml.to_vec()]);
        // Base64 and quoted-printable bodies likewise.
        let headers =
            "Content-Type: text/xml; charset=windows-1252\r\nContent-Transfer-Encoding: base64";
        let eml = eml_with(headers, &b64(xml), "--XX--\r\n");
        assert_eq!(
            xmls(&open_bytes("s.eml", eml.as_bytes())),
            vec![xml.to_vec()]
        );
        let qp = String::from_utf8_lossy(xml)
            .replace('\u{fffd}', "=E9")
            .replace("encoding=", "encoding=3D")
            .replace("version=", "version=3D");
        let headers = "Content-Type: text/xml; charset=windows-1252\r\n\
                       Content-Transfer-Encoding: quoted-printable";
        let eml = eml_with(headers, &qp, "--XX--\r\n");
        assert_eq!(
            xmls(&open_bytes("q.eml", eml.as_bytes())),
            vec![xml.to_vec()]
        );
    }

    #[test]
    fn eml_forwarded_as_attachment_is_opened() {
        let inner = format!(
            "From: noreply-dmarc-support@google.com\r\nSubject: Report domain: example.test\r\n\
             Content-Type: application/gzip; name=\"r.xml.gz\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64(&gzip(XML))
        );
        let eml = eml_with("Content-Type: message/rfc822", &inner, "--XX--\r\n");
        let opened = open_bytes("fwd.eml", eml.as_bytes());
        assert_eq!(xmls(&opened), vec![XML.to_vec()]);
        let member = opened.members[0].origin.member.clone().unwrap_or_default();
        assert!(member.contains("message/rfc822"), "{member}");
    }

    /// JSON is handed on as a JSON document wherever it is found (bare, gzip, zip, an email's
    /// `application/tlsrpt+gzip` or `+json` part): the TLS-RPT reader judges whether it is an
    /// SMTP TLS report and names what it is when not (see `store`'s tests).
    #[test]
    fn tls_reports_and_other_json_are_named() {
        let tls = br#"{"organization-name":"Google Inc.","date-range":{},"policies":[]}"#;
        let json_docs = |opened: &Opened| -> Vec<Vec<u8>> {
            opened
                .members
                .iter()
                .filter(|m| m.format == Some(DocFormat::Json))
                .filter_map(|m| m.xml.clone().ok())
                .collect()
        };
        for (name, bytes) in [
            ("tls.json", tls.to_vec()),
            ("tls.json.gz", gzip(tls)),
            ("tls.zip", zip_of(&[("t.json", tls)])),
        ] {
            let opened = open_bytes(name, &bytes);
            assert_eq!(opened.members.len(), 1, "{name}");
            assert_eq!(json_docs(&opened), vec![tls.to_vec()], "{name}");
        }
        for (ctype, body) in [
            (
                "application/tlsrpt+gzip; name=\"t.json.gz\"",
                b64(&gzip(tls)),
            ),
            ("application/tlsrpt+json", b64(tls)),
        ] {
            let headers = format!("Content-Type: {ctype}\r\nContent-Transfer-Encoding: base64");
            let eml = eml_with(&headers, &body, "--XX--\r\n");
            let opened = open_bytes("t.eml", eml.as_bytes());
            assert_eq!(json_docs(&opened), vec![tls.to_vec()], "{ctype}");
            let member = opened.members[0].origin.member.clone().unwrap_or_default();
            assert!(member.contains("application/tlsrpt+"), "{member}");
        }
        // A tlsrpt part whose bytes are none of the formats says so.
        let eml = eml_with(
            "Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64",
            "!!!!****not base64****!!!!",
            "--XX--\r\n",
        );
        let opened = open_bytes("t.eml", eml.as_bytes());
        assert!(matches!(
            opened.members[0].xml,
            Err(OpenError::DamagedAttachment(_))
        ));
        // Other JSON is handed on too, and XML stays XML.
        let opened = open_bytes("x.json", br#"{"hello": 1}"#);
        assert_eq!(opened.members[0].format, Some(DocFormat::Json));
        assert_eq!(
            open_bytes("r.xml", XML).members[0].format,
            Some(DocFormat::Xml)
        );
        // A JSON body is not an email header.
        assert_eq!(sniff(b"{\"organization-name\":\"x\"}"), Kind::Json);
    }

    #[test]
    fn eml_failure_report_is_named() {
        let eml = "From: a@b.test\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"B\"\r\n\r\n\
                   --B\r\nContent-Type: text/plain\r\n\r\nauth failure\r\n\
                   --B\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\n\r\n\
                   --B--\r\n";
        let opened = open_bytes("f.eml", eml.as_bytes());
        assert_eq!(opened.members.len(), 1);
        assert_eq!(opened.members[0].xml, Err(OpenError::FailureReport));
        assert!(
            OpenError::FailureReport
                .to_string()
                .contains("not an aggregate report")
        );
    }

    #[test]
    fn garbage_and_empty_are_rejected() {
        let opened = open_bytes("x", b"\x00\x01\x02garbage");
        assert!(matches!(
            opened.members[0].xml,
            Err(OpenError::Unrecognized(_))
        ));
        let opened = open_bytes("x", b"");
        assert_eq!(opened.members[0].xml, Err(OpenError::Empty));
        assert!(OpenError::Empty.to_string().contains("empty"));
        // Truncated gzip: corrupt, not a panic.
        let gz = gzip(XML);
        let opened = open_bytes("x", &gz[..gz.len() / 2]);
        assert!(matches!(opened.members[0].xml, Err(OpenError::Gzip(_))));
        // A zip signature with nothing behind it.
        let opened = open_bytes("x", b"PK\x03\x04garbage");
        assert!(matches!(opened.members[0].xml, Err(OpenError::Zip(_))));
    }

    #[test]
    fn bomb_ratio_is_rejected() {
        let mut doc = b"<feedback>".to_vec();
        doc.resize(4 << 20, b' ');
        let data = gzip(&gzip(&doc));
        let limits = Limits {
            ratio_floor: 1 << 20,
            ..Limits::default()
        };
        let opened = open_bytes_with("bomb.gz", &data, &limits);
        let err = opened.members[0].xml.clone().unwrap_err();
        assert!(matches!(err, OpenError::Bomb { .. }), "{err}");
        assert!(err.to_string().contains("zip bomb"));
        // Under the floor the same content is fine: small reports compress very well.
        let small = gzip(&doc[..1000]);
        let opened = open_bytes_with("ok.gz", &small, &limits);
        assert_eq!(opened.members[0].xml, Ok(doc[..1000].to_vec()));
        // A bomb that does not even look like a report is refused after its first bytes,
        // without decompressing the rest.
        let zeros = gzip(&gzip(&vec![0u8; 4 << 20]));
        let opened = open_bytes_with("zeros.gz", &zeros, &limits);
        assert!(matches!(
            opened.members[0].xml,
            Err(OpenError::UnrecognizedInside(_))
        ));
    }

    #[test]
    fn zip_member_bomb_is_rejected_and_other_members_survive() {
        let zeros = vec![b' '; 16 << 20];
        let data = zip_of(&[("bomb.xml", &zeros), ("ok.xml", XML)]);
        let limits = Limits {
            ratio_floor: 1 << 20,
            ..Limits::default()
        };
        let opened = open_bytes_with("r.zip", &data, &limits);
        assert_eq!(opened.members.len(), 2);
        let err = opened.members[0].xml.clone().unwrap_err();
        assert!(matches!(err, OpenError::Bomb { .. }), "{err}");
        // The budget is per file: what the bomb used up is not held against the next member.
        // (It was never granted: the read stopped at the cap.)
        assert!(opened.members[1].xml.is_ok(), "{:?}", opened.members[1].xml);
    }

    #[test]
    fn total_cap_is_enforced() {
        let data = gzip(&vec![b' '; 100_000]);
        let limits = Limits {
            max_total_bytes: 10_000,
            ..Limits::default()
        };
        let opened = open_bytes_with("big.gz", &data, &limits);
        assert_eq!(opened.members[0].xml, Err(OpenError::TooLarge(10_000)));
    }
}

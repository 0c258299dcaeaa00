//! Turning one input file's bytes into the report XML documents it carries.
//!
//! Receivers send aggregate reports as bare XML, gzip, zip or inside whole saved emails, and
//! file names lie (a `.xml` that is gzip, a `.zip` that is XML). So the content is sniffed,
//! never the extension. Everything happens in memory: nothing is extracted to disk, and the
//! decompressed size is bounded both absolutely and relative to the input's size, because
//! these files come from strangers and a zip bomb must cost us a rejection, not the machine.

use super::model::Origin;
use flate2::bufread::{GzDecoder, ZlibDecoder};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use std::borrow::Cow;
use std::io::{Cursor, Read};
use std::path::Path;

/// Resource bounds for one input file. The defaults suit real report mailboxes: the largest
/// real aggregate reports are tens of MB of XML, while anything expanding over 1000:1 past a
/// few MB is not something a receiver's report generator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file read from disk.
    pub max_file_bytes: u64,
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_total_bytes: 256 << 20,
            max_ratio: 1000,
            ratio_floor: 8 << 20,
            max_depth: 5,
            max_zip_depth: 2,
            max_members: 10_000,
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
    #[error("not a readable email message")]
    Email,
    #[error("failure report (ruf), not an aggregate report")]
    FailureReport,
    #[error("email holds no aggregate report attachment (parts: {0})")]
    NoReport(String),
}

/// One document found in a file: the decoded XML, or why this member was unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'b> {
    pub origin: Origin,
    /// Tolerated damage on the way to the XML (e.g. trailing bytes after a gzip stream);
    /// recorded as repairs of the report so the evidence shows them.
    pub notes: Vec<String>,
    /// Borrowed from the input when the file is bare XML, so it is never copied.
    pub xml: Result<Cow<'b, [u8]>, OpenError>,
}

/// Everything found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<'b> {
    /// The outermost content kind.
    pub kind: Kind,
    pub members: Vec<Member<'b>>,
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
    if looks_like_email(bytes) {
        return Kind::Eml;
    }
    Kind::Unknown
}

fn looks_like_xml(bytes: &[u8]) -> bool {
    // UTF-16 with or without a byte-order mark: `<` followed or preceded by a zero byte.
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return true;
    }
    if bytes.starts_with(b"<\0") || bytes.starts_with(b"\0<") {
        return true;
    }
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    rest.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

fn looks_like_email(bytes: &[u8]) -> bool {
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

/// Reads a file's bytes, refusing files over the size limit before reading them.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, OpenError> {
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
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against a file that grows while being read.
    file.take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| OpenError::Io(e.to_string()))?;
    if out.len() as u64 > limits.max_file_bytes {
        return Err(OpenError::FileTooLarge {
            size: out.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    Ok(out)
}

/// Finds every report XML document in `bytes` with the default limits. `file` names the
/// origin in results and errors.
pub fn open_bytes<'b>(file: &str, bytes: &'b [u8]) -> Opened<'b> {
    open_bytes_with(file, bytes, &Limits::default())
}

/// [`open_bytes`] with explicit limits (tests use small ones).
pub fn open_bytes_with<'b>(file: &str, bytes: &'b [u8], limits: &Limits) -> Opened<'b> {
    open_member_with(file, None, bytes, limits)
}

/// [`open_bytes_with`] for one piece of a file (a message of an mbox): `member` starts the
/// origin's member path, and the limits apply to this piece alone.
pub fn open_member_with<'b>(
    file: &str,
    member: Option<&str>,
    bytes: &'b [u8],
    limits: &Limits,
) -> Opened<'b> {
    let kind = sniff(bytes);
    let mut walker = Walker {
        file,
        limits,
        input_len: bytes.len() as u64,
        used: 0,
        out: Vec::new(),
    };
    let prefix: Vec<String> = member.map(str::to_string).into_iter().collect();
    walker.walk(Cow::Borrowed(bytes), &prefix, Vec::new(), 0, 0);
    tracing::debug!(
        file,
        kind = kind.as_str(),
        members = walker.out.len(),
        "opened"
    );
    Opened {
        kind,
        members: walker.out,
    }
}

struct Walker<'a, 'b> {
    file: &'a str,
    limits: &'a Limits,
    input_len: u64,
    /// Decompressed bytes produced so far for this file.
    used: u64,
    out: Vec<Member<'b>>,
}

impl<'b> Walker<'_, 'b> {
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

    fn push(&mut self, path: &[String], notes: Vec<String>, xml: Result<Cow<'b, [u8]>, OpenError>) {
        let origin = self.origin(path);
        self.out.push(Member { origin, notes, xml });
    }

    fn walk(
        &mut self,
        bytes: Cow<'b, [u8]>,
        path: &[String],
        notes: Vec<String>,
        depth: usize,
        zip_depth: usize,
    ) {
        let kind = sniff(&bytes);
        if depth > self.limits.max_depth && !matches!(kind, Kind::Xml | Kind::Empty) {
            self.push(path, notes, Err(OpenError::TooDeep(depth)));
            return;
        }
        match kind {
            Kind::Empty => self.push(path, notes, Err(OpenError::Empty)),
            Kind::Xml => self.push(path, notes, Ok(bytes)),
            Kind::Unknown => {
                let err = OpenError::Unrecognized(describe_start(&bytes));
                self.push(path, notes, Err(err));
            }
            Kind::Gzip => match self.gunzip(&bytes) {
                Ok((data, trailing)) => {
                    let mut notes = notes;
                    if trailing > 0 {
                        notes.push(format!(
                            "ignored {trailing} trailing byte(s) after the gzip stream"
                        ));
                    }
                    self.walk(Cow::Owned(data), path, notes, depth + 1, zip_depth);
                }
                Err(e) => self.push(path, notes, Err(e)),
            },
            Kind::Zlib => {
                let reader = ZlibDecoder::new(&bytes[..]);
                match self.read_limited(reader, 0, OpenError::Zlib) {
                    Ok(data) => self.walk(Cow::Owned(data), path, notes, depth + 1, zip_depth),
                    Err(e) => self.push(path, notes, Err(e)),
                }
            }
            Kind::Zip => {
                if zip_depth >= self.limits.max_zip_depth {
                    self.push(path, notes, Err(OpenError::TooDeep(depth)));
                } else {
                    self.unzip(&bytes, path, &notes, depth, zip_depth);
                }
            }
            Kind::Eml | Kind::Mbox => self.email(&bytes, path, &notes, depth, zip_depth),
        }
    }

    /// Decompresses with the per-file budget: the lower of the absolute cap and the ratio cap.
    /// `size_hint` (the gzip trailer's length, untrusted) presizes the buffer so a large
    /// report is not copied while the buffer doubles; it is clamped to the budget.
    fn read_limited(
        &mut self,
        reader: impl Read,
        size_hint: u64,
        wrap: fn(String) -> OpenError,
    ) -> Result<Vec<u8>, OpenError> {
        let by_total = self.limits.max_total_bytes.saturating_sub(self.used);
        let ratio_cap = self
            .limits
            .ratio_floor
            .max(self.input_len.saturating_mul(self.limits.max_ratio));
        let by_ratio = ratio_cap.saturating_sub(self.used);
        let cap = by_total.min(by_ratio);
        // The hint is what the archive claims; never trust it beyond a modest first buffer.
        let presize = size_hint.min(cap).min(1 << 20);
        let mut out = Vec::with_capacity(usize::try_from(presize).unwrap_or(0));
        reader
            .take(cap.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| wrap(e.to_string()))?;
        let produced = out.len() as u64;
        if produced > cap {
            return Err(if by_ratio <= by_total {
                OpenError::Bomb {
                    input: self.input_len,
                    limit: ratio_cap,
                    ratio: self.limits.max_ratio,
                }
            } else {
                OpenError::TooLarge(self.limits.max_total_bytes)
            });
        }
        self.used += produced;
        Ok(out)
    }

    /// Gzip, including concatenated members; bytes after the last member that are not
    /// another gzip member are tolerated and counted (some gateways append `\r\n`).
    fn gunzip(&mut self, bytes: &[u8]) -> Result<(Vec<u8>, usize), OpenError> {
        let mut rest = bytes;
        let mut data = Vec::new();
        // ISIZE, the trailer's uncompressed length of the (last) member: only a hint.
        let hint = match bytes {
            [.., a, b, c, d] => u64::from(u32::from_le_bytes([*a, *b, *c, *d])),
            _ => 0,
        };
        loop {
            let mut decoder = GzDecoder::new(rest);
            let chunk = self.read_limited(&mut decoder, hint, OpenError::Gzip)?;
            let remaining = decoder.into_inner();
            if data.is_empty() {
                data = chunk;
            } else {
                data.extend_from_slice(&chunk);
            }
            if remaining.len() >= rest.len() {
                // No progress: cannot happen with a valid stream, but never loop forever.
                return Ok((data, remaining.len()));
            }
            rest = remaining;
            if !rest.starts_with(&[0x1f, 0x8b]) {
                return Ok((data, rest.len()));
            }
        }
    }

    fn unzip(
        &mut self,
        bytes: &[u8],
        path: &[String],
        notes: &[String],
        depth: usize,
        zip_depth: usize,
    ) {
        let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(a) => a,
            Err(e) => {
                self.push(path, notes.to_vec(), Err(OpenError::Zip(e.to_string())));
                return;
            }
        };
        if archive.len() > self.limits.max_members {
            let err = OpenError::TooManyMembers(self.limits.max_members);
            self.push(path, notes.to_vec(), Err(err));
            return;
        }
        let mut found = 0usize;
        for i in 0..archive.len() {
            let mut member_path = path.to_vec();
            let entry = match archive.by_index(i) {
                Ok(entry) => entry,
                Err(e) => {
                    member_path.push(format!("zip:#{}", i + 1));
                    let err = match e {
                        zip::result::ZipError::UnsupportedArchive(m)
                            if m == zip::result::ZipError::PASSWORD_REQUIRED =>
                        {
                            OpenError::Encrypted
                        }
                        other => OpenError::Zip(other.to_string()),
                    };
                    self.push(&member_path, notes.to_vec(), Err(err));
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
                self.push(&member_path, notes.to_vec(), Err(OpenError::Encrypted));
                continue;
            }
            let hint = entry.size();
            match self.read_limited(entry, hint, OpenError::Zip) {
                Ok(data) => self.walk(
                    Cow::Owned(data),
                    &member_path,
                    notes.to_vec(),
                    depth + 1,
                    zip_depth + 1,
                ),
                Err(e) => self.push(&member_path, notes.to_vec(), Err(e)),
            }
        }
        if found == 0 {
            let err = OpenError::Zip("archive has no file members".to_string());
            self.push(path, notes.to_vec(), Err(err));
        }
    }

    fn email(
        &mut self,
        bytes: &[u8],
        path: &[String],
        notes: &[String],
        depth: usize,
        zip_depth: usize,
    ) {
        let Some(message) = MessageParser::new().parse(bytes) else {
            self.push(path, notes.to_vec(), Err(OpenError::Email));
            return;
        };
        let mut failure_report = false;
        let mut seen_types = Vec::new();
        let mut candidates = 0usize;
        for (i, part) in message
            .parts
            .iter()
            .enumerate()
            .take(self.limits.max_members)
        {
            let ctype = part
                .content_type()
                .map(|ct| {
                    let sub = ct.subtype().unwrap_or("");
                    let t = format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase();
                    if t == "multipart/report"
                        && ct
                            .attribute("report-type")
                            .is_some_and(|r| r.eq_ignore_ascii_case("feedback-report"))
                    {
                        failure_report = true;
                    }
                    t
                })
                .unwrap_or_else(|| "text/plain".to_string());
            if ctype == "message/feedback-report" {
                failure_report = true;
            }
            let contents: &[u8] = match &part.body {
                PartType::Multipart(_) => continue,
                // A forwarded or attached message is not opened: failure reports carry the
                // original message this way, and it is never a report itself.
                PartType::Message(_) => {
                    seen_types.push(ctype);
                    continue;
                }
                PartType::Text(_)
                | PartType::Html(_)
                | PartType::Binary(_)
                | PartType::InlineBinary(_) => part.contents(),
            };
            let name = part.attachment_name().unwrap_or("");
            let kind = sniff(contents);
            let wanted = match kind {
                Kind::Gzip | Kind::Zip | Kind::Zlib => true,
                Kind::Xml => {
                    ctype.contains("xml")
                        || name.to_ascii_lowercase().ends_with(".xml")
                        || contains(&contents[..contents.len().min(4096)], b"<feedback")
                }
                _ => false,
            };
            if !wanted {
                seen_types.push(ctype);
                continue;
            }
            candidates += 1;
            let mut member_path = path.to_vec();
            if name.is_empty() {
                member_path.push(format!("mime:part {} ({ctype})", i + 1));
            } else {
                member_path.push(format!("mime:part {} ({ctype}; {name})", i + 1));
            }
            self.walk(
                Cow::Owned(contents.to_vec()),
                &member_path,
                notes.to_vec(),
                depth + 1,
                zip_depth,
            );
        }
        if candidates == 0 {
            let err = if failure_report {
                OpenError::FailureReport
            } else {
                seen_types.dedup();
                OpenError::NoReport(if seen_types.is_empty() {
                    "none".to_string()
                } else {
                    seen_types.join(", ")
                })
            };
            self.push(path, notes.to_vec(), Err(err));
        }
    }
}

/// Whether a file is a Unix mailbox: it starts with a `From ` separator line followed by a
/// header line. Such files can hold thousands of messages, so they are read message by
/// message ([`MboxReader`]) instead of whole.
pub fn is_mbox(head: &[u8]) -> bool {
    // Mail exports often start with a byte-order mark or blank lines before the first
    // separator; the reader skips those too.
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = &head[start..];
    head.starts_with(b"From ") && looks_like_email(head)
}

/// Splits a Unix mailbox (mboxo/mboxrd) into messages while reading it, holding one message
/// at a time. A message starts at a `From ` line at the start of the file or after an empty
/// line; `>From ` quoting (mboxrd) is undone. A message over `max_message` bytes is reported
/// as too large and skipped, so one oversized message costs neither memory nor the rest.
/// The longest mbox line kept in memory; longer lines mark their message as too large.
pub const MBOX_MAX_LINE: u64 = 4 << 20;

pub struct MboxReader<R> {
    reader: R,
    max_message: u64,
    line: Vec<u8>,
    /// The separator line already read for the next message.
    pending: bool,
    number: usize,
    done: bool,
    overlong: bool,
}

/// One message of a mailbox: its 1-based number and content, or why it was skipped.
pub type MboxMessage = (usize, Result<Vec<u8>, OpenError>);

impl<R: std::io::BufRead> MboxReader<R> {
    pub fn new(reader: R, max_message: u64) -> Self {
        MboxReader {
            reader,
            max_message,
            line: Vec::new(),
            overlong: false,
            pending: false,
            number: 0,
            done: false,
        }
    }

    /// Reads one line, keeping at most [`MBOX_MAX_LINE`] bytes of it: the rest of an overlong
    /// line is skipped without being stored (a 600 MB line must not cost 600 MB), and
    /// `overlong` is set so the message it belongs to is dropped as too large.
    fn read_line(&mut self) -> Result<bool, OpenError> {
        use std::io::BufRead as _;
        self.line.clear();
        let io = |e: std::io::Error| OpenError::Io(e.to_string());
        let n = (&mut self.reader)
            .take(MBOX_MAX_LINE)
            .read_until(b'\n', &mut self.line)
            .map_err(io)?;
        if n as u64 == MBOX_MAX_LINE && self.line.last() != Some(&b'\n') {
            self.overlong = true;
            loop {
                let buf = self.reader.fill_buf().map_err(io)?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.reader.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = buf.len();
                        self.reader.consume(len);
                    }
                }
            }
        }
        Ok(n > 0)
    }
}

impl<R: std::io::BufRead> Iterator for MboxReader<R> {
    type Item = MboxMessage;

    fn next(&mut self) -> Option<MboxMessage> {
        if self.done {
            return None;
        }
        if !self.pending {
            // Skip to the first separator (leading blank lines are tolerated).
            loop {
                match self.read_line() {
                    Ok(true) if self.line.starts_with(b"From ") => break,
                    Ok(true) => continue,
                    Ok(false) => {
                        self.done = true;
                        return None;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some((self.number + 1, Err(e)));
                    }
                }
            }
        }
        self.pending = false;
        self.number += 1;
        let mut message: Vec<u8> = Vec::new();
        let mut too_large = false;
        let mut previous_blank = false;
        loop {
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    self.done = true;
                    return Some((self.number, Err(e)));
                }
            }
            if previous_blank && self.line.starts_with(b"From ") {
                self.pending = true;
                break;
            }
            previous_blank = self.line == b"\n" || self.line == b"\r\n";
            if std::mem::take(&mut self.overlong) {
                too_large = true;
                message = Vec::new();
            }
            if too_large {
                continue;
            }
            let body: &[u8] = match self.line.iter().position(|&b| b != b'>') {
                Some(q) if q > 0 && self.line[q..].starts_with(b"From ") => &self.line[1..],
                _ => &self.line,
            };
            if (message.len() + body.len()) as u64 > self.max_message {
                too_large = true;
                message = Vec::new();
                continue;
            }
            message.extend_from_slice(body);
        }
        if too_large {
            return Some((
                self.number,
                Err(OpenError::FileTooLarge {
                    size: self.max_message.saturating_add(1),
                    limit: self.max_message,
                }),
            ));
        }
        Some((self.number, Ok(message)))
    }
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

    fn xmls(opened: &Opened) -> Vec<Vec<u8>> {
        opened
            .members
            .iter()
            .filter_map(|m| m.xml.clone().ok().map(Cow::into_owned))
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
            vec!["ignored 2 trailing byte(s) after the gzip stream".to_string()]
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
        assert!(matches!(rejected.xml, Err(OpenError::Unrecognized(_))));
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
        let zeros = vec![0u8; 4 << 20];
        let data = gzip(&gzip(&zeros));
        let limits = Limits {
            ratio_floor: 1 << 20,
            ..Limits::default()
        };
        let opened = open_bytes_with("bomb.gz", &data, &limits);
        let err = opened.members[0].xml.clone().unwrap_err();
        assert!(matches!(err, OpenError::Bomb { .. }), "{err}");
        assert!(err.to_string().contains("zip bomb"));
        // Under the floor the same content is fine: small reports compress very well.
        let small = gzip(&zeros[..1000]);
        let opened = open_bytes_with(
            "ok.gz",
            &small,
            &Limits {
                ratio_floor: 1 << 20,
                ..Limits::default()
            },
        );
        assert!(matches!(
            opened.members[0].xml,
            Err(OpenError::Unrecognized(_))
        ));
    }

    #[test]
    fn mbox_is_split_into_messages_and_unquoted() {
        let mbox = b"From a@b Mon Nov  2 10:00:00 2026\nSubject: one\n\nbody 1\n>From quoted\n\n\
From c@d Mon Nov  2 11:00:00 2026\nSubject: two\n\nbody 2\nFrom not-a-separator\n\n\
From e@f Mon Nov  2 12:00:00 2026\nSubject: 3\n\nx\n";
        assert!(is_mbox(mbox));
        assert!(!is_mbox(b"Subject: x\n\nFrom y"));
        let mut padded = b"\xEF\xBB\xBF\r\n\n".to_vec();
        padded.extend_from_slice(mbox);
        assert!(is_mbox(&padded), "leading BOM and blank lines");
        let msgs: Vec<MboxMessage> = MboxReader::new(&mbox[..], 1 << 20).collect();
        assert_eq!(msgs.len(), 3);
        assert_eq!(
            msgs[0],
            (1, Ok(b"Subject: one\n\nbody 1\nFrom quoted\n\n".to_vec()))
        );
        assert_eq!(
            msgs[1],
            (
                2,
                Ok(b"Subject: two\n\nbody 2\nFrom not-a-separator\n\n".to_vec())
            )
        );
        // An oversized message is skipped with a reason; the next one still arrives.
        let msgs: Vec<MboxMessage> = MboxReader::new(&mbox[..], 40).collect();
        assert!(msgs[0].1.is_ok());
        assert!(matches!(msgs[1].1, Err(OpenError::FileTooLarge { .. })));
        assert_eq!(msgs[2], (3, Ok(b"Subject: 3\n\nx\n".to_vec())));
        assert_eq!(MboxReader::new(&b""[..], 10).count(), 0);
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

#[cfg(test)]
mod overlong {
    use super::*;

    #[test]
    fn an_overlong_line_drops_its_message_not_the_mailbox() {
        let mut mbox = b"From a@b Mon Jan  1 00:00:00 2026\nSubject: one\n\n".to_vec();
        mbox.extend(std::iter::repeat_n(b'x', (MBOX_MAX_LINE as usize) * 2 + 10));
        mbox.extend_from_slice(b"\n\nFrom c@d Mon Jan  1 00:00:00 2026\nSubject: two\n\nbody\n");
        let msgs: Vec<MboxMessage> =
            MboxReader::new(std::io::Cursor::new(mbox), 64 << 20).collect();
        assert_eq!(msgs.len(), 2);
        assert!(
            msgs[0].1.is_err(),
            "the message with the overlong line is refused"
        );
        let second = msgs[1].1.as_ref().unwrap();
        assert!(second.windows(4).any(|w| w == b"body"));
    }
}

//! Parsing one DMARC aggregate report from XML, tolerant of what receivers really send.
//!
//! The document is read as a stream of quick-xml events, never as a DOM, so memory stays
//! proportional to the parsed rows and a bad `<record>` (an unparsable IP, a non-numeric
//! count) is skipped with a repair note while the rest of the report survives. Everything
//! accepted across schema generations (RFC 7489 Appendix C, RFC 9990, the dmarc.org draft) is
//! matched on local element names, case-insensitively, so namespace prefixes and default
//! namespaces make no difference. Entities other than the five predefined ones and character
//! references are never expanded.

use super::decode::Utf8Stream;
use super::inflate::open_error;
use super::model::{
    AggregateReport, Alignment, AuthResult, DkimAuth, Origin, OverrideReason, PolicyPublished, Row,
    SpfAuth,
};
use super::open::OpenError;
use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use std::hash::BuildHasher;
use std::io::BufRead;
use std::net::IpAddr;

/// Element nesting allowed; real reports use 5 levels, extensions a few more.
pub const MAX_DEPTH: usize = 64;
/// Longest value of one report field, in bytes. Real values are domains (at most 253), ids
/// and short comments; a longer one is a payload, and it would reach every listing and the PDF.
pub const MAX_TEXT: usize = 2 * 1024;
/// Longest element name, in bytes. The schema's longest is under 30; a longer one is a
/// payload, and quick-xml holds a whole start tag in memory.
pub const MAX_NAME: usize = 256;
/// Repair notes kept per report; beyond this they are summarized.
const MAX_NOTES: usize = 50;

const DMARC_2_NS: &str = "urn:ietf:params:xml:ns:dmarc-2.0";
const DRAFT_NS_PREFIX: &str = "http://dmarc.org/dmarc-xml/0.1";

/// Why a document is not a usable aggregate report. The text becomes the rejection reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("empty document")]
    Empty,
    /// The bytes could not be read: a corrupt or oversized container, or a read error.
    #[error("{0}")]
    Input(OpenError),
    #[error("not well-formed XML at byte {pos}: {msg}")]
    Syntax { pos: u64, msg: String },
    #[error("not a DMARC aggregate report (root element <{0}>)")]
    NotAggregate(String),
    #[error("not a DMARC aggregate report (no root element)")]
    NoRoot,
    #[error("XML nested deeper than {MAX_DEPTH} elements at byte {0}")]
    TooDeep(u64),
    #[error(
        "element name at byte {pos} is {len} bytes long, over the limit of {MAX_NAME} (it starts <{start}>)"
    )]
    NameTooLong { pos: u64, len: usize, start: String },
    #[error(
        "text of <{name}> at byte {pos} is longer than {MAX_TEXT} bytes, the limit for one report field"
    )]
    TextTooLong { name: String, pos: u64 },
    #[error("more than {0} distinct rows in one report (no receiver sends that many)")]
    TooManyRows(usize),
    #[error("truncated XML: document ends at byte {0} before </feedback>")]
    Truncated(u64),
    #[error("no <{0}>")]
    Missing(&'static str),
    #[error("invalid <{field}> {value:?}: {why}")]
    Invalid {
        field: &'static str,
        value: String,
        why: String,
    },
}

/// What reading one document gave: the report or why not, and the hash and length of the
/// bytes read (the whole document when `complete`).
#[derive(Debug)]
pub struct Parsed {
    pub report: Result<AggregateReport, XmlError>,
    pub sha256: String,
    pub bytes: u64,
    /// The document was read to its end, so `sha256` covers all of it.
    pub complete: bool,
}

/// Parses one aggregate report held in memory. `origin` says where the bytes came from; its
/// file or member name is used as a fallback for an empty `org_name`
/// (`receiver!domain!begin!end` naming).
pub fn parse(xml: &[u8], origin: &Origin) -> Result<AggregateReport, XmlError> {
    parse_stream(&mut &xml[..], origin, true).report
}

/// Parses one aggregate report from a stream, holding a fixed-size buffer and the distinct
/// rows, never the document. The stream is read to its end even after `</feedback>`, so the
/// hash covers the whole document and a container's late error (a gzip checksum) is seen.
/// `hash` asks for the SHA-256 of the bytes read: wanted when the document is a whole file
/// (it is then the file's evidence hash), and skipped inside containers, where hashing every
/// decompressed byte cost more than a tenth of ingestion for no evidence.
pub fn parse_stream(reader: &mut dyn BufRead, origin: &Origin, hash: bool) -> Parsed {
    parse_stream_with(reader, origin, hash, IN_MEMORY)
}

/// [`parse_stream`] with the size up to which a document is read from memory (tests compare
/// the two readings on small documents).
fn parse_stream_with(
    reader: &mut dyn BufRead,
    origin: &Origin,
    hash: bool,
    in_memory: usize,
) -> Parsed {
    let mut stream = Utf8Stream::new(reader);
    if !hash {
        stream.skip_hash();
    }
    let mut notes = Vec::new();
    let mut raw = read_document(&mut stream, &mut notes, in_memory);
    let drained = stream.drain(b"<feedback");
    if let (Ok(_), Err(e)) = (&raw, &drained) {
        raw = Err(XmlError::Input(open_error(e, OpenError::Io)));
    }
    if raw.is_ok() && matches!(drained, Ok(true)) {
        notes.push(
            "text after </feedback> names another <feedback>: only the first report of the \
             document was read"
                .to_string(),
        );
    }
    let (sha256, bytes) = stream.digest();
    let complete = drained.is_ok() && stream.at_end();
    let mut repairs = stream.notes();
    repairs.append(&mut notes);
    let report = raw
        .and_then(|raw| assemble(raw, origin, repairs))
        .map(|mut report| {
            report.xml_sha256 = sha256.clone();
            tracing::debug!(
                origin = %report.origin,
                report_id = %report.report_id,
                rows = report.rows.len(),
                repairs = report.repairs.len(),
                "parsed aggregate report"
            );
            // A record that is not counted is never dropped quietly: the run's log names it
            // (and the evidence keeps every note with the report).
            if report.skipped_records > 0 {
                let first = report
                    .repairs
                    .iter()
                    .find(|n| n.starts_with("record "))
                    .map(String::as_str)
                    .unwrap_or("");
                tracing::warn!(
                    origin = %report.origin,
                    report_id = %crate::text::excerpt(&report.report_id, 80),
                    skipped = report.skipped_records,
                    first = %first,
                    "report records not counted"
                );
            }
            report
        });
    Parsed {
        report,
        sha256,
        bytes,
        complete,
    }
}

// ---------------------------------------------------------------------------------------------
// Event reading

/// Values as found, before validation.
#[derive(Debug, Default)]
struct Raw {
    version: Option<String>,
    namespace: Option<String>,
    bis_elements: bool,
    wrapper: Option<String>,
    org_name: Option<String>,
    email: Option<String>,
    report_id: Option<String>,
    begin: Option<String>,
    end: Option<String>,
    generator: Option<String>,
    extensions: Vec<String>,
    policy: RawPolicy,
    rows: RowBuffer,
    records_seen: usize,
    /// The first non-empty header From, the fallback for a missing policy domain.
    first_header_from: Option<String>,
}

#[derive(Debug, Default)]
struct RawPolicy {
    domain: Option<String>,
    adkim: Option<String>,
    aspf: Option<String>,
    p: Option<String>,
    sp: Option<String>,
    np: Option<String>,
    pct: Option<String>,
    fo: Option<String>,
    testing: Option<String>,
    discovery_method: Option<String>,
}

#[derive(Debug, Default)]
struct RawRecord {
    source_ip: Option<String>,
    count: Option<String>,
    disposition: Option<String>,
    dkim: Option<String>,
    spf: Option<String>,
    reasons: Vec<(Option<String>, Option<String>)>,
    header_from: Option<String>,
    envelope_from: Option<String>,
    envelope_to: Option<String>,
    dkim_auth: Vec<RawAuth>,
    spf_auth: Vec<RawAuth>,
}

#[derive(Debug, Default)]
struct RawAuth {
    domain: Option<String>,
    selector: Option<String>,
    scope: Option<String>,
    result: Option<String>,
    human_result: Option<String>,
}

/// Element names the reader acts on, matched once per element on the local name (any
/// namespace prefix, any case), so paths compare as small integers instead of strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Feedback,
    Version,
    ReportMetadata,
    OrgName,
    Email,
    ReportId,
    DateRange,
    Begin,
    End,
    Generator,
    PolicyPublished,
    Domain,
    Adkim,
    Aspf,
    P,
    Sp,
    Np,
    Pct,
    Fo,
    Testing,
    DiscoveryMethod,
    Record,
    Row,
    SourceIp,
    Count,
    PolicyEvaluated,
    Disposition,
    Dkim,
    Spf,
    Reason,
    Type,
    Comment,
    Identifiers,
    HeaderFrom,
    EnvelopeFrom,
    EnvelopeTo,
    AuthResults,
    Selector,
    Scope,
    Result,
    HumanResult,
    Extensions,
    Other,
}

fn tag_of(local: &[u8]) -> Tag {
    // Nearly every report writes its element names in lower case: match them as they are,
    // and lower-case a copy only for the rest.
    if !local.iter().any(u8::is_ascii_uppercase) {
        return tag_of_lower(local);
    }
    let mut lower = [0u8; 24];
    if local.len() > lower.len() {
        return Tag::Other;
    }
    for (d, s) in lower.iter_mut().zip(local) {
        *d = s.to_ascii_lowercase();
    }
    tag_of_lower(&lower[..local.len()])
}

fn tag_of_lower(lower: &[u8]) -> Tag {
    match lower {
        b"feedback" => Tag::Feedback,
        b"version" => Tag::Version,
        b"report_metadata" => Tag::ReportMetadata,
        b"org_name" => Tag::OrgName,
        b"email" => Tag::Email,
        b"report_id" => Tag::ReportId,
        b"date_range" => Tag::DateRange,
        b"begin" => Tag::Begin,
        b"end" => Tag::End,
        b"generator" => Tag::Generator,
        b"policy_published" => Tag::PolicyPublished,
        b"domain" => Tag::Domain,
        b"adkim" => Tag::Adkim,
        b"aspf" => Tag::Aspf,
        b"p" => Tag::P,
        b"sp" => Tag::Sp,
        b"np" => Tag::Np,
        b"pct" => Tag::Pct,
        b"fo" => Tag::Fo,
        b"testing" => Tag::Testing,
        b"discovery_method" => Tag::DiscoveryMethod,
        b"record" => Tag::Record,
        b"row" => Tag::Row,
        b"source_ip" => Tag::SourceIp,
        b"count" => Tag::Count,
        b"policy_evaluated" => Tag::PolicyEvaluated,
        b"disposition" => Tag::Disposition,
        b"dkim" => Tag::Dkim,
        b"spf" => Tag::Spf,
        b"reason" => Tag::Reason,
        b"type" => Tag::Type,
        b"comment" => Tag::Comment,
        b"identifiers" => Tag::Identifiers,
        b"header_from" => Tag::HeaderFrom,
        b"envelope_from" => Tag::EnvelopeFrom,
        b"envelope_to" => Tag::EnvelopeTo,
        b"auth_results" => Tag::AuthResults,
        b"selector" => Tag::Selector,
        b"scope" => Tag::Scope,
        b"result" => Tag::Result,
        b"human_result" => Tag::HumanResult,
        b"extensions" => Tag::Extensions,
        _ => Tag::Other,
    }
}

/// Whether an element's text is read: every element the report model takes a value from.
fn holds_value(t: Tag) -> bool {
    !matches!(
        t,
        Tag::Feedback
            | Tag::ReportMetadata
            | Tag::DateRange
            | Tag::PolicyPublished
            | Tag::Record
            | Tag::Row
            | Tag::PolicyEvaluated
            | Tag::Reason
            | Tag::Identifiers
            | Tag::AuthResults
            | Tag::Extensions
            | Tag::Other
    )
}

/// Extension element names kept per report.
const MAX_EXTENSIONS: usize = 20;

/// Where events come from: a document in memory (quick-xml's borrowing reader, the fast path
/// for the documents of ordinary size) or a stream (a fixed buffer, for the rare huge one).
/// Positions are in the decoded text.
trait Events {
    fn next_event(&mut self) -> quick_xml::Result<Event<'_>>;
    fn position(&self) -> u64;
    fn error_position(&self) -> u64;
    /// The text between two positions, when it is still at hand: repairs that keep what the
    /// XML reader skipped (an unescaped `&`) need it.
    fn text_between(&self, from: u64, to: u64) -> Option<&str>;
}

struct SliceEvents<'a> {
    reader: Reader<&'a [u8]>,
    text: &'a [u8],
}

impl Events for SliceEvents<'_> {
    fn next_event(&mut self) -> quick_xml::Result<Event<'_>> {
        self.reader.read_event()
    }
    fn position(&self) -> u64 {
        self.reader.buffer_position()
    }
    fn error_position(&self) -> u64 {
        self.reader.error_position()
    }
    fn text_between(&self, from: u64, to: u64) -> Option<&str> {
        let range = usize::try_from(from).ok()?..usize::try_from(to).ok()?;
        std::str::from_utf8(self.text.get(range)?).ok()
    }
}

/// The longest single piece of markup or text read from a streamed document. quick-xml holds
/// one event in memory; without a bound, one 200 MB text node or comment would cost 200 MB.
const MAX_EVENT: u64 = 4 << 20;

struct StreamEvents<R> {
    reader: Reader<EventLimit<R>>,
    buf: Vec<u8>,
}

impl<R: BufRead> Events for StreamEvents<R> {
    fn next_event(&mut self) -> quick_xml::Result<Event<'_>> {
        self.buf.clear();
        self.reader.get_mut().allowance = MAX_EVENT;
        self.reader.read_event_into(&mut self.buf)
    }
    fn position(&self) -> u64 {
        self.reader.buffer_position()
    }
    fn error_position(&self) -> u64 {
        self.reader.error_position()
    }
    fn text_between(&self, from: u64, to: u64) -> Option<&str> {
        // The buffer holds the bytes of the last event read, when they were copied whole.
        let len = usize::try_from(to.checked_sub(from)?).ok()?;
        (self.buf.len() == len)
            .then(|| std::str::from_utf8(&self.buf).ok())
            .flatten()
    }
}

/// Serves at most `allowance` bytes per event to the XML reader, then fails with
/// [`OpenError::EventTooLong`].
struct EventLimit<R> {
    inner: R,
    allowance: u64,
}

impl<R: BufRead> std::io::Read for EventLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
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

impl<R: BufRead> BufRead for EventLimit<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let available = self.inner.fill_buf()?;
        if self.allowance == 0 && !available.is_empty() {
            return Err(super::inflate::io_error(OpenError::EventTooLong(MAX_EVENT)));
        }
        let n = available
            .len()
            .min(usize::try_from(self.allowance).unwrap_or(usize::MAX));
        Ok(&available[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.allowance = self.allowance.saturating_sub(amt as u64);
        self.inner.consume(amt);
    }
}

/// Documents up to this size (decoded) are parsed from memory; larger ones stream.
const IN_MEMORY: usize = 4 << 20;

/// Reads the decoded document's events into [`Raw`], from memory when it is small enough.
/// Error positions are made file positions (the byte-order mark added back) and say when
/// they are positions in transcoded text.
fn read_document<R: BufRead>(
    stream: &mut Utf8Stream<R>,
    notes: &mut Vec<String>,
    in_memory: usize,
) -> Result<Raw, XmlError> {
    let whole = stream
        .fill_whole(in_memory)
        .map_err(|e| XmlError::Input(open_error(&e, OpenError::Io)))?;
    let result = if whole {
        let text = stream.buffer();
        let mut reader = Reader::from_reader(text);
        // End tags are matched by [`read_events`] itself, which can repair a stray one.
        reader.config_mut().check_end_names = false;
        // Indentation between elements then never becomes an event (about 40% fewer events
        // in a pretty-printed report); a value whose text was split by markup is read again
        // from `text` ([`value_text`]), so no space inside it is lost.
        reader.config_mut().trim_text(true);
        let mut events = SliceEvents { reader, text };
        let result = read_events(&mut events, Some(text), notes);
        // What the reader used is consumed, so what follows the report is what remains.
        let used = usize::try_from(events.reader.buffer_position()).unwrap_or(usize::MAX);
        stream.consume(used);
        result
    } else {
        let mut reader = Reader::from_reader(EventLimit {
            inner: &mut *stream,
            allowance: MAX_EVENT,
        });
        reader.config_mut().check_end_names = false;
        let mut events = StreamEvents {
            reader,
            buf: Vec::with_capacity(4096),
        };
        read_events(&mut events, None, notes)
    };
    let skipped = stream.skipped();
    let decoded_from =
        (!stream.positions_exact()).then(|| stream.transcoded_from().unwrap_or("repaired UTF-8"));
    result.map_err(|e| match e {
        XmlError::Syntax { pos, mut msg } => {
            if let Some(from) = decoded_from {
                msg.push_str(&format!(" (position in the text decoded from {from})"));
            }
            XmlError::Syntax {
                pos: pos + skipped,
                msg,
            }
        }
        XmlError::TooDeep(pos) => XmlError::TooDeep(pos + skipped),
        XmlError::TextTooLong { name, pos } => XmlError::TextTooLong {
            name,
            pos: pos + skipped,
        },
        XmlError::Truncated(pos) => XmlError::Truncated(pos + skipped),
        other => other,
    })
}

/// `source` is the whole decoded document when it is in memory: the reader then trims text
/// events, and a value element whose content held markup (an entity, CDATA, a comment, a
/// repaired `&` or `<`) is decoded again from its exact bytes.
fn read_events(
    reader: &mut impl Events,
    source: Option<&[u8]>,
    notes: &mut Vec<String>,
) -> Result<Raw, XmlError> {
    // Anything but blank text: tells an empty document from one without a root element.
    let mut saw_content = false;
    let mut raw = Raw::default();
    // The open elements.
    let mut stack: Vec<Tag> = Vec::new();
    // Index in `stack` of the `<feedback>` element once found.
    let mut feedback_at: Option<usize> = None;
    let mut root: Option<String> = None;
    let mut record: Option<RawRecord> = None;
    let mut buf = String::new();
    let mut overflow = false;
    let mut closed = false;
    // The open elements the report model knows, without unknown ones in between, so an
    // unknown element (a vendor's wrapper, a stray unclosed tag) does not hide the known
    // elements inside it: the paths the model matches are taken from this stack.
    let mut known: Vec<Tag> = Vec::new();
    let mut known_fb = 0usize;
    // The qualified names of the open elements, to match end tags ourselves.
    let mut open_names = OpenNames::default();
    // Why the open `<record>` cannot be trusted (markup inside it had to be repaired).
    let mut record_damage: Option<String> = None;
    // Where the content of the innermost open element starts (once its start tag is read),
    // and whether that content held markup that trimmed text events would mangle.
    let mut content_start: Option<u64> = None;
    let mut content_pending = false;
    let mut content_irregular = false;

    'events: loop {
        let pos = reader.position();
        if content_pending {
            content_start = Some(pos);
            content_pending = false;
        }
        // The event is used where quick-xml wrote it, by reference: moving it out of the
        // `Result` cost a stalled 16-byte copy per event (store forwarding), a tenth of
        // ingestion in profiles.
        let result = reader.next_event();
        let event = match &result {
            Ok(ev) => ev,
            Err(e) => {
                let e = e.clone();
                drop(result);
                match e {
                    quick_xml::Error::Io(e) => {
                        return Err(XmlError::Input(open_error(&e, OpenError::Io)));
                    }
                    quick_xml::Error::IllFormed(
                        quick_xml::errors::IllFormedError::UnclosedReference,
                    ) => {
                        // A bare `&` (`AT&T`): the reader skipped to the next markup; keep the skipped
                        // text literally, as the sender meant it.
                        let wants_text =
                            feedback_at.is_some() && stack.last().is_some_and(|t| holds_value(*t));
                        content_irregular |= wants_text;
                        let skipped = reader.text_between(pos, reader.position());
                        match (wants_text, skipped) {
                            (false, _) => {}
                            (true, Some(text)) => {
                                append(&mut buf, &normalize_eol(text), &mut overflow);
                                note(notes, "kept an unescaped & literally".to_string());
                            }
                            (true, None) => note(
                                notes,
                                format!("dropped text after an unescaped & at byte {pos}"),
                            ),
                        }
                        continue;
                    }
                    e => {
                        // A non-report that is also malformed (an HTML page) is named as a non-report.
                        if feedback_at.is_none()
                            && let Some(r) = root
                        {
                            return Err(XmlError::NotAggregate(r));
                        }
                        return Err(XmlError::Syntax {
                            pos: reader.error_position(),
                            msg: e.to_string(),
                        });
                    }
                }
            }
        };
        // With trimmed text events, the reader's position before a tag can be the start of the
        // indentation before it: positions in messages name the tag itself.
        let pos = match (source, event) {
            (Some(src), Event::Start(_) | Event::Empty(_) | Event::End(_)) => {
                let at = usize::try_from(pos).unwrap_or(usize::MAX);
                let blank = src.get(at..).map_or(0, |rest| {
                    rest.iter().take_while(|b| b.is_ascii_whitespace()).count()
                });
                pos + blank as u64
            }
            _ => pos,
        };
        if !saw_content {
            saw_content = match &event {
                Event::Text(t) => !t.trim_ascii().is_empty(),
                Event::Eof => false,
                _ => true,
            };
        }
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        // The element's tag, from its local name (found with a plain byte scan: names are
        // short, and quick-xml's search set up a character searcher per element).
        let tag = start.map(|e| {
            let qname = e.name();
            let qname: &[u8] = qname.as_ref().as_bytes();
            let local = match qname.iter().position(|&b| b == b':') {
                Some(i) => &qname[i + 1..],
                None => qname,
            };
            (tag_of(local), qname.contains(&b':'))
        });
        // A name the report model knows is a valid XML name; others, and any with a prefix
        // (`<user@host:x>` in a value), are checked.
        if let Some(e) = start
            && feedback_at.is_some()
            && tag.is_some_and(|(t, prefixed)| t == Tag::Other || prefixed)
            && !is_xml_name(e.name().as_ref())
        {
            // `<` that starts no element (`x < y`, `<user@example.com>` in a value): the
            // sender forgot to escape it. Keep it as the text it was.
            if stack.last().is_some_and(|t| holds_value(*t)) {
                content_irregular = true;
                let close = if empty { "/>" } else { ">" };
                let literal = format!("<{}{close}", e.as_ref());
                append(&mut buf, &normalize_eol(&literal), &mut overflow);
                note(notes, "kept an unescaped < literally".to_string());
            } else {
                note(notes, format!("ignored stray markup at byte {pos}"));
            }
            continue;
        }
        if let (Some(e), Some((tag, _))) = (start, tag) {
            if stack.len() >= MAX_DEPTH {
                return Err(XmlError::TooDeep(pos));
            }
            let name = e.name();
            if name.as_ref().len() > MAX_NAME {
                return Err(XmlError::NameTooLong {
                    pos,
                    len: name.as_ref().len(),
                    start: clip(name.as_ref()),
                });
            }
            if root.is_none() {
                root = Some(clip(e.name().as_ref()));
            }
            if feedback_at.is_none() && tag == Tag::Feedback {
                feedback_at = Some(stack.len());
                known_fb = known.len();
                raw.namespace = namespace_of(e);
                if !stack.is_empty() {
                    let outer = root.clone().unwrap_or_default();
                    notes.push(format!(
                        "ignored enclosing <{outer}> element around <feedback>"
                    ));
                    raw.wrapper = Some(outer);
                }
            }
            if let Some(fb) = feedback_at
                && stack.len() == fb + 2
                && stack[fb + 1] == Tag::Extensions
                && raw.extensions.len() < MAX_EXTENSIONS
            {
                let name = clip(e.local_name().as_ref());
                if !raw.extensions.contains(&name) {
                    raw.extensions.push(name);
                }
            }
            stack.push(tag);
            if tag != Tag::Other {
                known.push(tag);
            }
            open_names.push(e.name().as_ref());
            buf.clear();
            overflow = false;
            content_pending = !empty;
            content_start = None;
            content_irregular = false;
            if feedback_at.is_some() && tag != Tag::Other {
                on_start(&known[known_fb + 1..], &mut raw, &mut record);
            }
            if !empty {
                continue;
            }
        }
        // Text matters only inside value elements of the report; the indentation between
        // elements (most text events of a pretty-printed report) is not even decoded.
        let wants_text = feedback_at.is_some() && stack.last().is_some_and(|t| holds_value(*t));
        if wants_text
            && matches!(
                event,
                Event::CData(_)
                    | Event::GeneralRef(_)
                    | Event::Comment(_)
                    | Event::PI(_)
                    | Event::Decl(_)
                    | Event::DocType(_)
            )
        {
            content_irregular = true;
        }
        match event {
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if !wants_text => {}
            Event::Text(t) => append(&mut buf, &t.xml10_content(), &mut overflow),
            Event::CData(t) => append(&mut buf, &t.xml10_content(), &mut overflow),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => match &**r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                    Err(_) => None,
                };
                match resolved {
                    Some(c) => append(&mut buf, c.encode_utf8(&mut [0; 4]), &mut overflow),
                    None => {
                        let literal = format!("&{};", &**r);
                        note(notes, format!("kept unknown entity {literal} literally"));
                        append(&mut buf, &literal, &mut overflow);
                    }
                }
            }
            Event::DocType(_) => note(notes, "ignored DOCTYPE declaration".to_string()),
            Event::Start(_) | Event::Empty(_) | Event::End(_) => {
                // How many open elements this closes: an empty element itself; an end tag,
                // the innermost open element of its name and whatever was left open in it.
                let closes = match &event {
                    Event::End(e) => open_names.closes(e.name().as_ref()),
                    _ => Some(1),
                };
                let Some(closes) = closes else {
                    content_irregular |= wants_text;
                    if let Event::End(e) = &event {
                        let name = clip(e.name().as_ref());
                        note(
                            notes,
                            format!("ignored stray end tag </{name}> at byte {pos}"),
                        );
                    }
                    continue;
                };
                if closes > 1 {
                    let left_open = clip(open_names.innermost());
                    let why = format!("<{left_open}> was not closed (byte {pos})");
                    if record.is_some() {
                        record_damage.get_or_insert(why);
                    } else {
                        note(notes, format!("closed {why}"));
                    }
                }
                // The exact content of a value whose trimmed events could have lost spaces
                // (the innermost element closed: its text since its start tag, or since its
                // last child closed, as the streamed reading keeps it).
                if content_irregular
                    && matches!(event, Event::End(_))
                    && let (Some(src), Some(from)) = (source, content_start)
                    && let Some(content) = usize::try_from(from)
                        .ok()
                        .zip(usize::try_from(pos).ok())
                        .and_then(|(a, b)| src.get(a..b))
                {
                    buf.clear();
                    value_text(content, &mut buf);
                    overflow |= buf.len() > MAX_TEXT;
                }
                for _ in 0..closes {
                    if let Some(fb) = feedback_at {
                        if stack.len() == fb + 1 {
                            closed = true;
                            break 'events;
                        }
                        if overflow {
                            let name = clip(open_names.innermost());
                            return Err(XmlError::TextTooLong { name, pos });
                        }
                        let path = &known[known_fb + 1..];
                        if stack.last() == Some(&Tag::Other) {
                            // Unknown elements carry no value of the report.
                        } else if path == [Tag::Record]
                            && let Some(why) = record_damage.take()
                        {
                            record.take();
                            let n = raw.records_seen;
                            note(notes, format!("record {n} skipped: {why}"));
                        } else {
                            on_end(path, &mut buf, &mut raw, &mut record, notes);
                        }
                    }
                    if stack.pop().is_some_and(|t| t != Tag::Other) {
                        known.pop();
                    }
                    open_names.pop();
                    buf.clear();
                    if stack.is_empty() && feedback_at.is_none() {
                        return Err(XmlError::NotAggregate(root.unwrap_or_default()));
                    }
                }
                // The parent's text starts again after a child element.
                content_pending = true;
                content_start = None;
                content_irregular = false;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    match (feedback_at, root) {
        (Some(_), _) if closed => Ok(raw),
        (Some(_), _) => Err(XmlError::Truncated(reader.position())),
        (None, Some(r)) => Err(XmlError::NotAggregate(r)),
        (None, None) if saw_content => Err(XmlError::NoRoot),
        (None, None) => Err(XmlError::Empty),
    }
}

/// The text of an element's content as written, for a value whose content held markup:
/// CDATA kept, comments and processing instructions dropped, the predefined entities and
/// character references resolved, and anything else (an unknown entity, a bare `&` or `<`)
/// kept literally, as the repairs during the event pass do.
fn value_text(content: &[u8], out: &mut String) {
    let text = String::from_utf8_lossy(content);
    let mut rest: &str = &text;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some((cdata, after)) = enclosed("<![CDATA[", "]]>", rest) {
            out.push_str(cdata);
            rest = after;
        } else if let Some((_, after)) = enclosed("<!--", "-->", rest)
            .or_else(|| enclosed("<?", "?>", rest))
            .or_else(|| enclosed("<!", ">", rest))
            .or_else(|| enclosed("</", ">", rest))
        {
            // Comments, processing instructions, declarations and stray end tags are dropped,
            // as the event reading drops them.
            rest = after;
        } else if let Some(after) = rest.strip_prefix('&')
            && let Some(end) = after.find(';').filter(|&e| e <= 12)
            && let Some(c) = entity(&after[..end])
        {
            out.push(c);
            rest = &after[end + 1..];
        } else if let Some(tag) = rest.strip_prefix('<')
            && let Some(close) = tag.find('>')
        {
            // `<` that starts no element: the reader took everything up to the next `>` as a
            // tag, which the event reading keeps literally.
            out.push_str(&rest[..close + 2]);
            rest = &tag[close + 1..];
        } else {
            // A literal `&` or `<`: kept, as the sender meant it.
            let c = rest.chars().next().unwrap_or('&');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(rest);
    if let std::borrow::Cow::Owned(normalized) = normalize_eol(out) {
        *out = normalized;
    }
    let trimmed = out.trim();
    if trimmed.len() != out.len() {
        *out = trimmed.to_string();
    }
}

/// Line ends as XML reads them: `\r\n` and a lone `\r` become `\n`.
fn normalize_eol(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// `rest` starting with `open`: what stands before `close` and what follows it (all of it
/// when `close` never comes).
fn enclosed<'t>(open: &str, close: &str, rest: &'t str) -> Option<(&'t str, &'t str)> {
    let r = rest.strip_prefix(open)?;
    Some(match r.find(close) {
        Some(j) => (&r[..j], &r[j + close.len()..]),
        None => (r, ""),
    })
}

/// A predefined entity or a character reference (`#38`, `#x26`), by its name.
fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            // As quick-xml reads them: `#x` and hex digits, or `#` and decimal digits only.
            let num = name.strip_prefix('#')?;
            let (digits, radix) = match num.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            let code = u32::from_str_radix(digits, radix).ok()?;
            char::from_u32(code).filter(|&c| c != '\0')
        }
    }
}

/// Whether `name` can be an element name (XML 1.0 `Name`, ASCII part checked): what is not
/// was a stray `<` in text.
fn is_xml_name(name: &str) -> bool {
    // Bytes, not chars: this runs for every element, and any non-ASCII byte (part of a
    // multi-byte character) is allowed anyway.
    let start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':' || !b.is_ascii();
    match name.as_bytes() {
        [first, rest @ ..] => {
            start(*first)
                && rest
                    .iter()
                    .all(|&b| start(b) || b.is_ascii_digit() || b == b'-' || b == b'.')
        }
        [] => false,
    }
}

/// The qualified names of the open elements, in one string (no allocation per element).
#[derive(Debug, Default)]
struct OpenNames {
    text: String,
    ends: Vec<usize>,
}

impl OpenNames {
    fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    fn pop(&mut self) {
        self.ends.pop();
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn innermost(&self) -> &str {
        self.ends.len().checked_sub(1).map_or("", |i| self.get(i))
    }

    /// How many elements an end tag named `name` closes: up to and including the innermost
    /// open element of that name; `None` when no open element has it (a stray end tag).
    /// An end tag differing only in case (`</Record>` for `<record>`) closes its element too:
    /// the exact name is looked for first.
    fn closes(&self, name: &str) -> Option<usize> {
        let innermost = |same: &dyn Fn(&str) -> bool| {
            (0..self.ends.len())
                .rev()
                .find(|&i| same(self.get(i)))
                .map(|i| self.ends.len() - i)
        };
        innermost(&|open| open == name)
            .or_else(|| innermost(&|open| open.eq_ignore_ascii_case(name)))
    }
}

fn namespace_of(e: &BytesStart<'_>) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        (key == "xmlns").then(|| a.value.trim().to_string())
    })
}

fn append(buf: &mut String, s: &str, overflow: &mut bool) {
    if buf.len() + s.len() > MAX_TEXT {
        *overflow = true;
    } else {
        buf.push_str(s);
    }
}

fn note(notes: &mut Vec<String>, n: String) {
    if notes.len() < MAX_NOTES && !notes.contains(&n) {
        notes.push(n);
    }
}

/// Elements that open a new repeated item inside a record.
fn on_start(path: &[Tag], raw: &mut Raw, record: &mut Option<RawRecord>) {
    use Tag::*;
    match path {
        [Record] => {
            raw.records_seen += 1;
            *record = Some(RawRecord::default());
        }
        [Record, AuthResults, Dkim] => {
            if let Some(r) = record {
                r.dkim_auth.push(RawAuth::default());
            }
        }
        [Record, AuthResults, Spf] => {
            if let Some(r) = record {
                r.spf_auth.push(RawAuth::default());
            }
        }
        [Record, Row, PolicyEvaluated, Reason] => {
            if let Some(r) = record {
                r.reasons.push((None, None));
            }
        }
        _ => {}
    }
}

/// The trimmed text of the element being closed, taken out of `buf`.
fn take_text(buf: &mut String) -> String {
    let t = buf.trim();
    if t.len() == buf.len() {
        std::mem::take(buf)
    } else {
        t.to_string()
    }
}

fn on_end(
    path: &[Tag],
    buf: &mut String,
    raw: &mut Raw,
    record: &mut Option<RawRecord>,
    notes: &mut Vec<String>,
) {
    use Tag::*;
    let pol = &mut raw.policy;
    let slot = match path {
        [Version] => &mut raw.version,
        [ReportMetadata, OrgName] => &mut raw.org_name,
        [ReportMetadata, Email] => &mut raw.email,
        [ReportMetadata, ReportId] => &mut raw.report_id,
        [ReportMetadata, DateRange, Begin] => &mut raw.begin,
        [ReportMetadata, DateRange, End] => &mut raw.end,
        [ReportMetadata, Generator] => {
            raw.bis_elements = true;
            &mut raw.generator
        }
        [PolicyPublished, field] => match field {
            Domain => &mut pol.domain,
            Adkim => &mut pol.adkim,
            Aspf => &mut pol.aspf,
            P => &mut pol.p,
            Sp => &mut pol.sp,
            Pct => &mut pol.pct,
            Fo => &mut pol.fo,
            Np => {
                raw.bis_elements = true;
                &mut pol.np
            }
            Testing => {
                raw.bis_elements = true;
                &mut pol.testing
            }
            DiscoveryMethod => {
                raw.bis_elements = true;
                &mut pol.discovery_method
            }
            _ => return,
        },
        [Record] => {
            let n = raw.records_seen;
            if let Some(r) = record.take() {
                match finish_record(r, notes) {
                    Ok(row) => {
                        if raw.first_header_from.is_none() && !row.header_from.is_empty() {
                            raw.first_header_from = Some(row.header_from.clone());
                        }
                        raw.rows.push(row);
                    }
                    Err(why) => note(notes, format!("record {n} skipped: {why}")),
                }
            }
            return;
        }
        [Record, rest @ ..] => {
            if let Some(r) = record {
                record_field(rest, buf, r);
            }
            return;
        }
        _ => return,
    };
    *slot = Some(take_text(buf));
}

fn record_field(p: &[Tag], buf: &mut String, r: &mut RawRecord) {
    use Tag::*;
    let slot = match p {
        [Row, SourceIp] => &mut r.source_ip,
        [Row, Count] => &mut r.count,
        [Row, PolicyEvaluated, Disposition] => &mut r.disposition,
        [Row, PolicyEvaluated, Dkim] => &mut r.dkim,
        [Row, PolicyEvaluated, Spf] => &mut r.spf,
        [Row, PolicyEvaluated, Reason, Type] => match r.reasons.last_mut() {
            Some(last) => &mut last.0,
            None => return,
        },
        [Row, PolicyEvaluated, Reason, Comment] => match r.reasons.last_mut() {
            Some(last) => &mut last.1,
            None => return,
        },
        [Identifiers, HeaderFrom] => &mut r.header_from,
        [Identifiers, EnvelopeFrom] => &mut r.envelope_from,
        [Identifiers, EnvelopeTo] => &mut r.envelope_to,
        [AuthResults, kind @ (Dkim | Spf), field] => {
            let list = if *kind == Dkim {
                &mut r.dkim_auth
            } else {
                &mut r.spf_auth
            };
            let Some(auth) = list.last_mut() else {
                return;
            };
            match field {
                Domain => &mut auth.domain,
                Selector => &mut auth.selector,
                Scope => &mut auth.scope,
                Result => &mut auth.result,
                HumanResult => &mut auth.human_result,
                _ => return,
            }
        }
        _ => return,
    };
    *slot = Some(take_text(buf));
}
// ---------------------------------------------------------------------------------------------
// Rows of one report

/// Rows kept in arrival order until a report has this many; past it, identical rows merge.
const MERGE_FROM: usize = 1024;
/// Distinct rows accepted in one report. The largest real reports hold tens of thousands of
/// rows; each distinct row costs about a kilobyte, so this bounds one report's memory to
/// tens of MB whatever its size.
pub const MAX_DISTINCT_ROWS: usize = 50_000;

/// A report's usable rows as they stream in. A receiver's report is usually a few rows, but a
/// large one can hold hundreds of thousands of records that repeat the same source with the
/// same results (one per recipient domain, per hour, …). Past [`MERGE_FROM`] rows, a row equal
/// in everything but `count` to one already kept adds its count instead of a new row, so a
/// report's memory grows with its distinct rows, not its size. Nothing is lost: the merged
/// rows are the same evidence, and the number of usable records is counted separately.
#[derive(Debug, Default)]
struct RowBuffer {
    rows: Vec<Row>,
    index: Option<(HashTable<usize>, foldhash::fast::RandomState)>,
    /// Usable records pushed, before merging.
    records: usize,
    /// A distinct row past [`MAX_DISTINCT_ROWS`] arrived.
    overflow: bool,
}

/// Everything in a row but its count: what makes two rows the same evidence.
fn row_identity(r: &Row) -> impl std::hash::Hash + Eq + '_ {
    (
        (
            &r.source_ip,
            &r.disposition,
            &r.dkim_evaluated,
            &r.spf_evaluated,
        ),
        (&r.reasons, &r.header_from, &r.envelope_from, &r.envelope_to),
        (&r.dkim, &r.spf),
    )
}

impl RowBuffer {
    fn push(&mut self, row: Row) {
        self.records += 1;
        if self.index.is_none() && self.rows.len() >= MERGE_FROM {
            let kept = std::mem::take(&mut self.rows);
            self.index = Some((HashTable::new(), foldhash::fast::RandomState::default()));
            for r in kept {
                self.insert(r);
            }
        }
        self.insert(row);
    }

    fn insert(&mut self, row: Row) {
        let RowBuffer {
            rows,
            index,
            overflow,
            ..
        } = self;
        let Some((table, state)) = index else {
            rows.push(row);
            return;
        };
        let hash = state.hash_one(row_identity(&row));
        match table.find(hash, |&i| row_identity(&rows[i]) == row_identity(&row)) {
            Some(&i) => rows[i].count = rows[i].count.saturating_add(row.count),
            None if rows.len() >= MAX_DISTINCT_ROWS => *overflow = true,
            None => {
                table.insert_unique(hash, rows.len(), |&i| {
                    state.hash_one(row_identity(&rows[i]))
                });
                rows.push(row);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation and normalization

/// The largest `<count>` accepted in one row.
pub const MAX_ROW_COUNT: u64 = 1_000_000_000;

fn finish_record(r: RawRecord, notes: &mut Vec<String>) -> Result<Row, String> {
    let ip_text = r.source_ip.unwrap_or_default();
    if ip_text.is_empty() {
        return Err("no <source_ip>".to_string());
    }
    let source_ip = parse_ip(&ip_text, notes)
        .ok_or_else(|| format!("<source_ip> {:?} is not an IP address", clip(&ip_text)))?;
    let count_text = r.count.unwrap_or_default();
    if count_text.is_empty() {
        return Err("no <count>".to_string());
    }
    let count = parse_u64(&count_text, notes).ok_or_else(|| {
        let t = count_text.trim();
        if t.starts_with('-') {
            format!(
                "<count> {:?} is negative; a message count is 0 or more",
                clip(t)
            )
        } else if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
            format!(
                "<count> {} exceeds {MAX_ROW_COUNT}, which no real report row reaches",
                clip(t)
            )
        } else {
            format!("<count> {:?} is not a whole number", clip(&count_text))
        }
    })?;
    // No receiver reports a billion messages from one source in one row; a larger number is
    // corrupt or hostile, and would make period totals meaningless (or overflow them).
    if count > MAX_ROW_COUNT {
        return Err(format!(
            "<count> {count} exceeds {MAX_ROW_COUNT}, which no real report row reaches"
        ));
    }
    let disposition = match r.disposition.map(lower_owned) {
        Some(d) if !d.is_empty() => d,
        _ => {
            note(
                notes,
                "record without <disposition> read as none".to_string(),
            );
            "none".to_string()
        }
    };
    if r.dkim.as_deref().is_none_or(str::is_empty) && r.spf.as_deref().is_none_or(str::is_empty) {
        note(
            notes,
            "record without <policy_evaluated> results: the reporter's verdict is unknown"
                .to_string(),
        );
    }
    let header_from = domain_owned(r.header_from.unwrap_or_default());
    if header_from.is_empty() {
        note(notes, "record without <header_from>".to_string());
    }
    let reasons = r
        .reasons
        .into_iter()
        .filter_map(|(kind, comment)| {
            let kind = kind.unwrap_or_default().to_ascii_lowercase();
            let comment = comment.filter(|c| !c.is_empty());
            (!kind.is_empty() || comment.is_some()).then(|| OverrideReason {
                kind: if kind.is_empty() {
                    "other".to_string()
                } else {
                    kind
                },
                comment,
            })
        })
        .collect();
    let dkim = r
        .dkim_auth
        .into_iter()
        .map(|a| DkimAuth {
            domain: domain_owned(a.domain.unwrap_or_default()),
            selector: a.selector.filter(|s| !s.is_empty()),
            result: AuthResult::parse(a.result.as_deref().unwrap_or("")),
            human_result: a.human_result.filter(|s| !s.is_empty()).map(|s| clip(&s)),
        })
        .collect();
    let spf = r
        .spf_auth
        .into_iter()
        .map(|a| SpfAuth {
            domain: domain_owned(a.domain.unwrap_or_default()),
            scope: a.scope.map(lower_owned).filter(|s| !s.is_empty()),
            result: AuthResult::parse(a.result.as_deref().unwrap_or("")),
            human_result: a.human_result.filter(|s| !s.is_empty()).map(|s| clip(&s)),
        })
        .collect();
    Ok(Row {
        source_ip,
        count,
        disposition,
        dkim_evaluated: AuthResult::parse(r.dkim.as_deref().unwrap_or("")),
        spf_evaluated: AuthResult::parse(r.spf.as_deref().unwrap_or("")),
        reasons,
        header_from,
        envelope_from: Some(domain_owned(r.envelope_from.unwrap_or_default()))
            .filter(|s| !s.is_empty()),
        envelope_to: Some(domain_owned(r.envelope_to.unwrap_or_default()))
            .filter(|s| !s.is_empty()),
        dkim,
        spf,
    })
}

/// A source address as reporters write it. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`)
/// is the IPv4 sender, so it is stored as IPv4: inventory ranges then match it and its rows
/// merge with the same sender's plain-IPv4 rows. Zero-padded IPv4 (`192.000.002.001`) is
/// read as decimal, the way the padding is meant.
fn parse_ip(s: &str, notes: &mut Vec<String>) -> Option<IpAddr> {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    let ip = match t.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            let ip = padded_ipv4(t)?;
            note(
                notes,
                "read zero-padded IPv4 source address(es) as decimal".to_string(),
            );
            IpAddr::V4(ip)
        }
    };
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                note(
                    notes,
                    "read IPv4-mapped IPv6 source address(es) as IPv4".to_string(),
                );
                Some(IpAddr::V4(v4))
            }
            None => Some(ip),
        },
        IpAddr::V4(_) => Some(ip),
    }
}

/// `192.000.002.001`: four decimal octets of at most three digits each.
fn padded_ipv4(t: &str) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = t.split('.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = p.parse().ok()?;
    }
    parts
        .next()
        .is_none()
        .then_some(std::net::Ipv4Addr::from(octets))
}

/// Whole numbers, tolerating surrounding spaces, a leading `+` and an integral `.0`.
fn parse_u64(s: &str, notes: &mut Vec<String>) -> Option<u64> {
    let t = s.trim().trim_start_matches('+');
    if let Ok(n) = t.parse::<u64>() {
        return Some(n);
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if let Ok(n) = compact.parse::<u64>() {
        note(notes, format!("removed spaces inside number {:?}", clip(s)));
        return Some(n);
    }
    let f: f64 = t.parse().ok()?;
    if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 {
        note(
            notes,
            format!("read decimal {:?} as a whole number", clip(s)),
        );
        // In range and integral by the checks above.
        Some(f as u64)
    } else {
        None
    }
}

/// Lower-cased, trimmed, without a trailing root dot.
/// [`domain`] reusing the string's buffer: this runs for several fields of every row.
fn domain_owned(mut s: String) -> String {
    let t = s.trim().trim_end_matches('.');
    if t.len() != s.len() {
        return domain(t);
    }
    s.make_ascii_lowercase();
    s
}

fn lower_owned(mut s: String) -> String {
    s.make_ascii_lowercase();
    s
}

fn domain(s: &str) -> String {
    let t = s.trim().trim_end_matches('.');
    t.to_ascii_lowercase()
}

/// Report ids are compared and printed: strip whitespace, control characters and the angle
/// brackets some reporters copy from Message-IDs.
fn clean_id(s: &str) -> String {
    let t = s.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(t);
    t.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

fn clip(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

fn timestamp(
    field: &'static str,
    value: Option<String>,
    notes: &mut Vec<String>,
) -> Result<DateTime<Utc>, XmlError> {
    let text = value
        .filter(|v| !v.is_empty())
        .ok_or(XmlError::Missing(field))?;
    let invalid = |why: &str| XmlError::Invalid {
        field,
        value: clip(&text),
        why: why.to_string(),
    };
    let Some(mut secs) = parse_u64(&text, notes) else {
        // A few generators write ISO 8601 instead of the schema's Unix seconds.
        let t = text.trim();
        let iso = DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S"))
                    .ok()
                    .map(|n| n.and_utc())
            });
        return match iso {
            Some(d) => {
                note(
                    notes,
                    format!("<{field}> {:?} read as an ISO 8601 time (UTC)", clip(t)),
                );
                Ok(d)
            }
            None => Err(invalid("not a Unix timestamp")),
        };
    };
    // Milliseconds since the epoch (13 digits) would put the report in the year 50,000; no
    // report is dated after 5138 (10^11 seconds), so such a value is read as milliseconds.
    if secs >= 100_000_000_000 {
        secs /= 1000;
        note(
            notes,
            format!("<{field}> {:?} read as milliseconds", clip(&text)),
        );
    }
    // Nothing after the year 9999 is a report date, and times near chrono's limit cannot be
    // placed on a calendar day in every time zone.
    if secs > LAST_DATE {
        return Err(invalid("after the year 9999"));
    }
    let secs = i64::try_from(secs).map_err(|_| invalid("out of range"))?;
    DateTime::from_timestamp(secs, 0).ok_or_else(|| invalid("out of range"))
}

/// 9999-12-31T23:59:59Z.
const LAST_DATE: u64 = 253_402_300_799;

/// `receiver!policy-domain!begin!end[!id]` — the file naming RFC 7489 §7.2.1.1 recommends.
fn receiver_from_name(origin: &Origin) -> Option<String> {
    let last = match &origin.member {
        Some(m) => m.rsplit(" > ").next().unwrap_or(m),
        None => origin.file.as_str(),
    };
    let last = last.strip_prefix("zip:").unwrap_or(last);
    let base = last.rsplit(['/', '\\']).next().unwrap_or(last);
    let mut parts = base.split('!');
    let receiver = domain(parts.next()?);
    let has_more = parts.next().is_some();
    (has_more && receiver.contains('.') && !receiver.contains(' ')).then_some(receiver)
}

fn email_domain(email: &str) -> Option<String> {
    let e = email.trim().trim_start_matches("mailto:");
    let (_, d) = e.rsplit_once('@')?;
    let d = domain(d.trim_end_matches('>'));
    (!d.is_empty() && !d.contains(char::is_whitespace)).then_some(d)
}

fn alignment(field: &str, v: Option<String>, notes: &mut Vec<String>) -> Option<Alignment> {
    let v = v?.to_ascii_lowercase();
    match v.as_str() {
        "" => None,
        "r" | "relaxed" => Some(Alignment::Relaxed),
        "s" | "strict" => Some(Alignment::Strict),
        other => {
            note(
                notes,
                format!("ignored unknown <{field}> value {:?}", clip(other)),
            );
            None
        }
    }
}

fn lower_opt(v: Option<String>) -> Option<String> {
    v.map(|s| s.to_ascii_lowercase()).filter(|s| !s.is_empty())
}

fn assemble(
    raw: Raw,
    origin: &Origin,
    mut notes: Vec<String>,
) -> Result<AggregateReport, XmlError> {
    let report_id = clean_id(raw.report_id.as_deref().unwrap_or(""));
    if report_id.is_empty() {
        return Err(XmlError::Missing("report_metadata>/<report_id"));
    }
    if raw.report_id.as_deref().is_some_and(|r| r != report_id) {
        note(&mut notes, "cleaned the report id".to_string());
    }
    let mut begin = timestamp(
        "report_metadata>/<date_range>/<begin",
        raw.begin,
        &mut notes,
    )?;
    let mut end = timestamp("report_metadata>/<date_range>/<end", raw.end, &mut notes)?;
    if end < begin {
        std::mem::swap(&mut begin, &mut end);
        note(
            &mut notes,
            "date range was reversed; swapped begin and end".to_string(),
        );
    }
    let email = raw
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    let mut org_from_file_name = false;
    let org_name = match raw.org_name.as_deref().map(str::trim) {
        Some(o) if !o.is_empty() => o.chars().filter(|c| !c.is_control()).collect(),
        _ => {
            let fallback = email
                .as_deref()
                .and_then(email_domain)
                .map(|d| (d, false))
                .or_else(|| receiver_from_name(origin).map(|d| (d, true)));
            match fallback {
                Some((name, from_file)) => {
                    let from = if from_file {
                        "the file name"
                    } else {
                        "the email domain"
                    };
                    note(
                        &mut notes,
                        format!("empty <org_name>; took {name:?} from {from}"),
                    );
                    org_from_file_name = from_file;
                    name
                }
                None => {
                    note(&mut notes, "empty <org_name> and no fallback".to_string());
                    "(unknown)".to_string()
                }
            }
        }
    };
    let p = raw.policy;
    let mut policy_domain = domain(p.domain.as_deref().unwrap_or(""));
    if policy_domain.is_empty() {
        match raw.first_header_from.clone() {
            Some(from) => {
                policy_domain = from;
                note(
                    &mut notes,
                    format!(
                        "no <policy_published>/<domain>; took {policy_domain:?} from the first record"
                    ),
                );
            }
            None => return Err(XmlError::Missing("policy_published>/<domain")),
        }
    }
    let pct = match p.pct.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => match parse_u64(t, &mut notes).and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                note(&mut notes, format!("ignored invalid <pct> {:?}", clip(t)));
                None
            }
        },
    };
    let policy = PolicyPublished {
        domain: policy_domain,
        adkim: alignment("adkim", p.adkim, &mut notes),
        aspf: alignment("aspf", p.aspf, &mut notes),
        p: lower_opt(p.p),
        sp: lower_opt(p.sp),
        np: lower_opt(p.np),
        pct,
        fo: p.fo.filter(|s| !s.is_empty()),
        testing: lower_opt(p.testing),
        discovery_method: lower_opt(p.discovery_method),
    };
    let namespace = raw.namespace.unwrap_or_default();
    let version = raw.version.unwrap_or_default();
    let schema = if namespace == DMARC_2_NS || version.starts_with('2') || raw.bis_elements {
        "2.0"
    } else if namespace.starts_with(DRAFT_NS_PREFIX) {
        "draft"
    } else {
        "1.0"
    };
    if raw.records_seen > 0 && raw.rows.records == 0 {
        note(&mut notes, "every record was unusable".to_string());
    }
    if notes.len() >= MAX_NOTES {
        notes.truncate(MAX_NOTES);
        notes.push("further repairs not listed".to_string());
    }
    if raw.rows.overflow {
        return Err(XmlError::TooManyRows(MAX_DISTINCT_ROWS));
    }
    let records = raw.rows.records;
    let skipped_records = raw.records_seen.saturating_sub(records);
    let rows = raw.rows.rows;
    let message_count = rows.iter().fold(0u64, |n, r| n.saturating_add(r.count));
    Ok(AggregateReport {
        org_from_file_name,
        origin: origin.clone(),
        schema: schema.to_string(),
        org_name,
        email,
        report_id,
        begin,
        end,
        policy,
        rows,
        repairs: notes,
        xml_sha256: String::new(),
        records,
        message_count,
        skipped_records,
        generator: raw.generator.filter(|g| !g.is_empty()).map(|g| clip(&g)),
        extensions: raw.extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn origin(name: &str) -> Origin {
        Origin {
            file: name.to_string(),
            member: None,
        }
    }

    fn report(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\
             <report_metadata><org_name>Example Org</org_name><email>dmarc@example.org</email>\
             <report_id> id-1 </report_id><date_range><begin>1700000000</begin>\
             <end>1700086399</end></date_range></report_metadata>\
             <policy_published><domain>Example.COM</domain><adkim>r</adkim><p>none</p>\
             </policy_published>{body}</feedback>"
        )
    }

    const RECORD: &str = "<record><row><source_ip>192.0.2.1</source_ip><count>3</count>\
        <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf>\
        </policy_evaluated></row><identifiers><header_from>example.com</header_from>\
        </identifiers><auth_results><dkim><domain>example.com</domain><selector>s1</selector>\
        <result>pass</result></dkim><spf><domain>bounce.example.com</domain>\
        <result>softfail</result></spf></auth_results></record>";

    #[test]
    fn each_bound_holds_at_its_limit_and_refuses_one_past_it() {
        // A field of exactly MAX_TEXT bytes is read; one byte more rejects the report.
        let at = report(RECORD).replace("Example Org", &"o".repeat(MAX_TEXT));
        let r = parse(at.as_bytes(), &origin("m.xml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.org_name.len(), MAX_TEXT);
        let over = report(RECORD).replace("Example Org", &"o".repeat(MAX_TEXT + 1));
        let e = parse(over.as_bytes(), &origin("m.xml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("text of <org_name>") && e.contains("2048"),
            "{e}"
        );
        // An element name of MAX_NAME bytes is an unknown element, ignored; one more is refused
        // and the reason quotes only its start.
        let name = |n: usize| "x".repeat(n);
        let at = report(&format!("<{0}>v</{0}>{RECORD}", name(MAX_NAME)));
        assert!(parse(at.as_bytes(), &origin("m.xml")).is_ok());
        let over = report(&format!("<{0}>v</{0}>{RECORD}", name(MAX_NAME + 1)));
        let e = parse(over.as_bytes(), &origin("m.xml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("257 bytes long, over the limit of 256"), "{e}");
        assert!(e.len() < 200, "the reason quotes the whole name: {e}");
        let root = format!("<{}/>", name(1_000_000));
        let e = parse(root.as_bytes(), &origin("m.xml"))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 200, "{}", &e[..200.min(e.len())]);
        // Nesting of MAX_DEPTH elements is read; one more is refused.
        let nest = |n: usize| format!("{}{}", "<x>".repeat(n), "</x>".repeat(n));
        let at = report(&format!("{}{RECORD}", nest(MAX_DEPTH - 1)));
        assert!(parse(at.as_bytes(), &origin("m.xml")).is_ok());
        let over = report(&format!("{}{RECORD}", nest(MAX_DEPTH)));
        let e = parse(over.as_bytes(), &origin("m.xml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested deeper"), "{e}");
    }

    /// A report of `n` records cycling over `distinct` sources, each record 1 message.
    fn big_report(n: usize, distinct: usize) -> String {
        let mut body = String::with_capacity(n * RECORD.len());
        for i in 0..n {
            let ip = format!("192.0.2.{}", i % distinct);
            body.push_str(
                &RECORD
                    .replace("192.0.2.1", &ip)
                    .replace("<count>3", "<count>1"),
            );
        }
        report(&body)
    }

    /// One of the report's repair notes mentions `phrase`.
    fn assert_noted(r: &AggregateReport, phrase: &str) {
        assert!(
            r.repairs.iter().any(|n| n.contains(phrase)),
            "no note with {phrase:?}: {:?}",
            r.repairs
        );
    }

    #[test]
    fn source_addresses_in_mapped_and_padded_forms() {
        let body = [
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("[::FFFF:198.51.100.1]", "198.51.100.1"),
            ("192.000.002.001", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
        ]
        .iter()
        .map(|(ip, _)| RECORD.replace("192.0.2.1", ip))
        .collect::<String>();
        let r = parse(report(&body).as_bytes(), &origin("ips.xml")).unwrap();
        let ips: Vec<String> = r.rows.iter().map(|row| row.source_ip.to_string()).collect();
        assert_eq!(
            ips,
            ["192.0.2.7", "198.51.100.1", "192.0.2.1", "2001:db8::1"]
        );
        assert_noted(&r, "IPv4-mapped");
        assert_noted(&r, "zero-padded");
        // Five octets, or a four-digit one, is no address: that record is skipped.
        let bad = report(&RECORD.replace("192.0.2.1", "192.0.2.1.5"));
        let r = parse(bad.as_bytes(), &origin("bad.xml")).unwrap();
        assert!(r.rows.is_empty());
        assert!(padded_ipv4("0192.0.2.1").is_none());
    }

    #[test]
    fn millisecond_and_iso_timestamps() {
        let ms = report(RECORD)
            .replace("<begin>1700000000<", "<begin>1700000000000<")
            .replace("<end>1700086399<", "<end>2023-11-15T22:13:19Z<");
        let r = parse(ms.as_bytes(), &origin("t.xml")).unwrap();
        assert_eq!(r.begin.timestamp(), 1_700_000_000);
        assert_eq!(r.end.timestamp(), 1_700_086_399);
        assert_noted(&r, "milliseconds");
        assert_noted(&r, "ISO 8601");
        let naive = report(RECORD).replace("<end>1700086399<", "<end>2023-11-15 22:13:19<");
        let r = parse(naive.as_bytes(), &origin("n.xml")).unwrap();
        assert_eq!(r.end.timestamp(), 1_700_086_399);
        let far = report(RECORD).replace("<end>1700086399<", "<end>8210266876799000<");
        assert!(matches!(
            parse(far.as_bytes(), &origin("f.xml")),
            Err(XmlError::Invalid { .. })
        ));
        let junk = report(RECORD).replace("<end>1700086399<", "<end>yesterday<");
        assert!(matches!(
            parse(junk.as_bytes(), &origin("j.xml")),
            Err(XmlError::Invalid { .. })
        ));
    }

    #[test]
    fn a_row_without_policy_evaluated_has_no_reporter_verdict() {
        let start = RECORD.find("<policy_evaluated>").unwrap();
        let end = RECORD.find("</policy_evaluated>").unwrap() + "</policy_evaluated>".len();
        let bare = format!("{}{}", &RECORD[..start], &RECORD[end..]);
        let r = parse(report(&bare).as_bytes(), &origin("p.xml")).unwrap();
        assert!(!r.rows[0].reporter_gave_verdict());
        assert_noted(&r, "verdict is unknown");
        let r = parse(report(RECORD).as_bytes(), &origin("q.xml")).unwrap();
        assert!(r.rows[0].reporter_gave_verdict());
    }

    #[test]
    fn values_split_by_markup_keep_their_spaces_in_memory_and_streamed() {
        let cases = [
            ("Example <!-- note --> Org", "Example  Org"),
            ("A <![CDATA[B & C]]> D", "A B & C D"),
            ("x &#38; y &amp; z", "x & y & z"),
            ("  R &amp; D  ", "R & D"),
            ("Q <?pi x?> R", "Q  R"),
            ("plain", "plain"),
            // Text after a child element is the value, as streamed.
            ("<x></x>R &amp; D", "R & D"),
            ("<x/>R &amp; D", "R & D"),
            ("by <b>list</b> &amp; co", "& co"),
            // A misplaced declaration.
            ("A <?xml version=\"1.0\"?> B", "A  B"),
            ("&#X41; &#x41; &#+65;", "&#X41; A &#+65;"),
            ("big<!-- COMMENT -->", "big"),
        ];
        let comment = "c".repeat(MAX_TEXT + 10);
        for (written, want) in cases {
            let written = written.replace("COMMENT", &comment);
            let doc = report(RECORD).replace("Example Org", &written);
            let r = parse(doc.as_bytes(), &origin("m.xml"))
                .unwrap_or_else(|e| panic!("{written:.60}: {e}"));
            assert_eq!(r.org_name, want, "in memory: {written:.60}");
            // Past IN_MEMORY the same document streams, without trimming.
            let big = big_report(25_000, 3).replace("Example Org", &written);
            assert!(big.len() > IN_MEMORY);
            let r = parse_stream(&mut big.as_bytes(), &origin("s.xml"), false)
                .report
                .unwrap();
            assert_eq!(r.org_name, want, "streamed: {written:.60}");
        }
        // An element left open inside report_metadata: its value is read up to the closing
        // of its parent, spaces kept, and the repair is noted.
        let open = report(RECORD)
            .replace("<org_name>Example Org</org_name>", "")
            .replace(
                "</report_metadata>",
                "<org_name>R &amp; D</report_metadata>",
            );
        let r = parse(open.as_bytes(), &origin("o.xml")).unwrap();
        assert_eq!(r.org_name, "R & D");
        assert_noted(&r, "was not closed");
        // A prefixed name that is no XML name, inside a value, stays text.
        let odd = report(RECORD).replace("Example Org", "see <a@b:count> here");
        let r = parse(odd.as_bytes(), &origin("p.xml")).unwrap();
        assert_eq!(r.org_name, "see <a@b:count> here");
    }

    #[test]
    fn value_text_resolves_references_and_keeps_the_rest() {
        let mut out = String::new();
        value_text(b"a &lt;b&gt; &#x41; &bogus; & < c <!-- x", &mut out);
        assert_eq!(out, "a <b> A &bogus; & < c");
        assert_eq!(entity("#0"), None);
        assert_eq!(entity("#x110000"), None);
        assert_eq!(entity("#65"), Some('A'));
    }

    #[test]
    fn a_second_report_in_one_document_is_noted() {
        let one = report(RECORD);
        let r = parse(one.as_bytes(), &origin("one.xml")).unwrap();
        assert!(!r.repairs.iter().any(|n| n.contains("another <feedback>")));
        let two = format!("{one}\n{one}");
        let r = parse(two.as_bytes(), &origin("two.xml")).unwrap();
        assert_eq!(r.rows.len(), 1);
        assert_noted(&r, "only the first report");
        // Streamed, the same.
        let r = parse_stream_with(&mut two.as_bytes(), &origin("s.xml"), true, 0)
            .report
            .unwrap();
        assert_noted(&r, "only the first report");
        // A comment after the report that merely mentions feedback is no report.
        let after = format!("{one}<!-- feedback welcome -->");
        let r = parse(after.as_bytes(), &origin("c.xml")).unwrap();
        assert!(!r.repairs.iter().any(|n| n.contains("another <feedback>")));
    }

    #[test]
    fn end_tags_differing_in_case_close_their_element() {
        let odd = RECORD
            .replace("</record>", "</Record>")
            .replace("</source_ip>", "</Source_IP>");
        let r = parse(report(&odd).as_bytes(), &origin("case.xml")).unwrap();
        assert_eq!(r.rows.len(), 1, "{:?}", r.repairs);
        assert_eq!(r.rows[0].source_ip.to_string(), "192.0.2.1");
        assert_eq!(r.message_count, 3);
    }

    #[test]
    fn large_reports_stream_and_merge_identical_rows() {
        // Past IN_MEMORY the document streams through a fixed buffer.
        let xml = big_report(25_000, 3);
        assert!(xml.len() > IN_MEMORY, "{} bytes", xml.len());
        let parsed = parse_stream(&mut xml.as_bytes(), &origin("big.xml"), true);
        assert!(parsed.complete);
        assert_eq!(parsed.bytes, xml.len() as u64);
        let r = parsed.report.unwrap();
        assert_eq!(r.records, 25_000);
        assert_eq!(r.message_count, 25_000);
        // Identical rows merged: one row per distinct source, counts summed.
        assert_eq!(r.rows.len(), 3);
        assert_eq!(
            r.rows.iter().map(|row| row.count).collect::<Vec<_>>(),
            vec![8334, 8333, 8333]
        );
        assert_eq!(r.xml_sha256, hex::encode(Sha256::digest(xml.as_bytes())));
        // Small reports keep their rows as they came.
        let r = parse(big_report(10, 3).as_bytes(), &origin("small.xml")).unwrap();
        assert_eq!(r.rows.len(), 10);
    }

    #[test]
    fn distinct_rows_per_report_are_bounded() {
        let body = |n: usize| {
            (0..n)
                .map(|i| RECORD.replace("192.0.2.1", &format!("2001:db8::{i:x}")))
                .collect::<String>()
        };
        let at_cap = report(&body(MAX_DISTINCT_ROWS));
        let r = parse(at_cap.as_bytes(), &origin("cap.xml")).unwrap();
        assert_eq!(r.rows.len(), MAX_DISTINCT_ROWS);
        let over = report(&body(MAX_DISTINCT_ROWS + 1));
        assert_eq!(
            parse(over.as_bytes(), &origin("over.xml")).unwrap_err(),
            XmlError::TooManyRows(MAX_DISTINCT_ROWS)
        );
    }

    #[test]
    fn streamed_errors_name_the_file_position() {
        let mut xml = big_report(25_000, 3);
        let at = xml.rfind("<record>").unwrap_or(0);
        xml.insert_str(at, "<!-- never closed ");
        let err = parse(xml.as_bytes(), &origin("bad.xml")).unwrap_err();
        assert_eq!(
            err,
            XmlError::Syntax {
                pos: at as u64,
                msg: "syntax error: comment not closed: `-->` not found before end of input"
                    .to_string()
            }
        );
        // Truncated mid-stream: the position is where the document ends.
        let cut = &xml.as_bytes()[..IN_MEMORY + 1000];
        assert_eq!(
            parse(cut, &origin("cut.xml")).unwrap_err(),
            XmlError::Truncated(cut.len() as u64)
        );
    }

    #[test]
    fn parses_a_plain_report() {
        let xml = report(RECORD);
        let r = parse(xml.as_bytes(), &origin("a.xml")).unwrap();
        assert_eq!(r.org_name, "Example Org");
        assert_eq!(r.report_id, "id-1");
        assert_eq!(r.begin.timestamp(), 1_700_000_000);
        assert_eq!(r.end.timestamp(), 1_700_086_399);
        assert_eq!(r.policy.domain, "example.com");
        assert_eq!(r.policy.adkim, Some(Alignment::Relaxed));
        assert_eq!(r.schema, "1.0");
        assert_eq!(r.rows.len(), 1);
        let row = &r.rows[0];
        assert_eq!(row.source_ip.to_string(), "192.0.2.1");
        assert_eq!(row.count, 3);
        assert!(row.reporter_dmarc_pass());
        assert_eq!(row.dkim[0].selector.as_deref(), Some("s1"));
        assert_eq!(row.spf[0].result, AuthResult::Softfail);
        assert_eq!(r.xml_sha256, hex::encode(Sha256::digest(xml.as_bytes())));
        assert!(r.repairs.is_empty(), "{:?}", r.repairs);
    }

    #[test]
    fn namespace_prefixes_and_rfc9990() {
        let xml = "<d:feedback xmlns:d=\"urn:ietf:params:xml:ns:dmarc-2.0\">\
            <d:version>1.0</d:version><d:report_metadata><d:org_name>R</d:org_name>\
            <d:report_id>x</d:report_id><d:date_range><d:begin>1</d:begin><d:end>2</d:end>\
            </d:date_range><d:generator>gen</d:generator></d:report_metadata>\
            <d:policy_published><d:domain>ex.test</d:domain><d:np>reject</d:np>\
            <d:testing>n</d:testing><d:discovery_method>treewalk</d:discovery_method>\
            </d:policy_published><d:record><d:row><d:source_ip>2001:db8::1</d:source_ip>\
            <d:count>7</d:count><d:policy_evaluated><d:disposition>pass</d:disposition>\
            <d:dkim>Pass</d:dkim><d:spf>hardfail</d:spf></d:policy_evaluated></d:row>\
            <d:identifiers><d:header_from>ex.test</d:header_from></d:identifiers>\
            <d:auth_results><d:spf><d:domain>ex.test</d:domain><d:result>fail</d:result>\
            <d:human_result>x</d:human_result></d:spf></d:auth_results></d:record>\
            <d:extensions><x:y xmlns:x=\"urn:x\">z</x:y></d:extensions></d:feedback>";
        let r = parse(xml.as_bytes(), &origin("b.xml")).unwrap();
        assert_eq!(r.schema, "2.0");
        assert_eq!(r.policy.np.as_deref(), Some("reject"));
        assert_eq!(r.policy.discovery_method.as_deref(), Some("treewalk"));
        assert_eq!(r.rows[0].count, 7);
        assert_eq!(r.rows[0].disposition, "pass");
        assert_eq!(r.rows[0].dkim_evaluated, AuthResult::Pass);
        assert_eq!(r.rows[0].spf_evaluated, AuthResult::Fail);
        assert_eq!(r.generator.as_deref(), Some("gen"));
        assert_eq!(r.extensions, vec!["y".to_string()]);
        assert_eq!(r.rows[0].spf[0].human_result.as_deref(), Some("x"));
        assert_eq!((r.records, r.message_count), (1, 7));
    }

    #[test]
    fn bom_spaces_in_numbers_and_empty_elements() {
        let body = "<record><row><source_ip> 192.0.2.9 </source_ip><count> 2 </count>\
            <policy_evaluated><disposition>None</disposition><dkim/><spf>PASS</spf>\
            </policy_evaluated></row><identifiers><header_from>A.Example.</header_from>\
            <envelope_from/></identifiers><auth_results/><unknown_thing>q</unknown_thing>\
            </record>";
        let xml = report(body).replace("1700000000", "1700000000 ");
        let mut bytes = b"\xef\xbb\xbf\n  ".to_vec();
        bytes.extend_from_slice(xml.as_bytes());
        let r = parse(&bytes, &origin("c.xml")).unwrap();
        let row = &r.rows[0];
        assert_eq!(row.count, 2);
        assert_eq!(row.disposition, "none");
        assert_eq!(row.dkim_evaluated, AuthResult::None);
        assert_eq!(row.spf_evaluated, AuthResult::Pass);
        assert_eq!(row.header_from, "a.example");
        assert_eq!(row.envelope_from, None);
        assert!(row.dkim.is_empty() && row.spf.is_empty());
        assert_eq!(r.begin.timestamp(), 1_700_000_000);
    }

    #[test]
    fn bad_record_is_skipped_others_survive() {
        let bad = RECORD.replace("192.0.2.1", "not-an-ip");
        let bad_count = RECORD.replace("<count>3</count>", "<count>three</count>");
        let xml = report(&format!("{RECORD}{bad}{RECORD}{bad_count}"));
        let r = parse(xml.as_bytes(), &origin("d.xml")).unwrap();
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.messages(), 6);
        assert!(
            r.repairs
                .iter()
                .any(|n| n.starts_with("record 2 skipped") && n.contains("not-an-ip")),
            "{:?}",
            r.repairs
        );
        assert!(r.repairs.iter().any(|n| n.starts_with("record 4 skipped")));
    }

    #[test]
    fn invalid_utf8_and_windows_1252() {
        let xml = report(RECORD).replace("Example Org", "Caf\u{e9}");
        let bytes = xml.replace("Caf\u{e9}", "Caf\u{1}").into_bytes();
        let bytes: Vec<u8> = bytes
            .iter()
            .map(|&b| if b == 1 { 0xe9 } else { b })
            .collect();
        let r = parse(&bytes, &origin("e.xml")).unwrap();
        assert_eq!(r.org_name, "Caf\u{fffd}");
        assert!(r.repairs.iter().any(|n| n.contains("invalid UTF-8")));

        let declared: Vec<u8> = String::from_utf8_lossy(&bytes)
            .replace("UTF-8", "windows-1252")
            .replace('\u{fffd}', "\u{1}")
            .bytes()
            .map(|b| if b == 1 { 0x92 } else { b })
            .collect();
        let r = parse(&declared, &origin("e.xml")).unwrap();
        assert_eq!(r.org_name, "Caf\u{2019}");
        assert!(r.repairs.is_empty(), "{:?}", r.repairs);
    }

    #[test]
    fn utf16_with_bom() {
        let xml = report(RECORD).replace(" encoding=\"UTF-8\"", "");
        let mut bytes = vec![0xff, 0xfe];
        for u in xml.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let r = parse(&bytes, &origin("f.xml")).unwrap();
        assert_eq!(r.rows.len(), 1);
    }

    #[test]
    fn org_name_fallbacks() {
        let xml = report(RECORD).replace("Example Org", "");
        let r = parse(xml.as_bytes(), &origin("x.xml")).unwrap();
        assert_eq!(r.org_name, "example.org");
        let xml = xml.replace("<email>dmarc@example.org</email>", "");
        let o = Origin {
            file: "mail.eml".to_string(),
            member: Some(
                "mime:part 2 (application/zip) > zip:Google.com!example.com!1!2.xml".to_string(),
            ),
        };
        let r = parse(xml.as_bytes(), &o).unwrap();
        assert_eq!(r.org_name, "google.com");
    }

    #[test]
    fn errors_name_the_cause() {
        let err = |s: &str| {
            parse(s.as_bytes(), &origin("z.xml"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err(""), "empty document");
        assert_eq!(
            err("<html><body>hi</body></html>"),
            "not a DMARC aggregate report (root element <html>)"
        );
        assert!(
            err("<feedback><a><!-- never closed</a></feedback>")
                .starts_with("not well-formed XML at byte 13"),
            "{}",
            err("<feedback><a><!-- never closed</a></feedback>")
        );
        assert_eq!(
            err(&report(RECORD).replace("<report_id> id-1 </report_id>", "<report_id/>")),
            "no <report_metadata>/<report_id>"
        );
        let full = report(RECORD);
        let cut = full.find("<record>").unwrap_or(0);
        assert!(err(&full[..cut]).starts_with("truncated XML: document ends at byte"));
        assert!(err(&full[..cut + 4]).starts_with("not well-formed XML"));
        assert!(err(&report(RECORD).replace("1700086399", "soon")).contains("date_range>/<end"));
        let deep = format!("<feedback>{}", "<x>".repeat(100));
        assert!(err(&deep).contains("nested deeper"));
        let long = report(RECORD).replace("id-1", &"a".repeat(MAX_TEXT + 1));
        assert!(err(&long).contains("longer than"));
        // Garbage never panics.
        for junk in [
            &b"\x00\x00<"[..],
            b"<",
            b"<?xml",
            b"<feedback",
            b"\xff\xfe<\x00",
        ] {
            assert!(parse(junk, &origin("j")).is_err());
        }
    }

    #[test]
    fn stray_and_unclosed_tags_are_repaired_and_bad_records_skipped() {
        let good = RECORD.replace("192.0.2.1", "192.0.2.9");
        // Inside a record: the record is dropped, the ones around it survive.
        let broken = RECORD.replace("<count>3</count>", "<count>3</count><foo>");
        let xml = report(&format!("{good}{broken}{good}"));
        let r = parse(xml.as_bytes(), &origin("r.xml")).unwrap();
        assert_eq!(r.records, 2);
        assert_eq!(r.message_count, 6);
        assert!(
            r.repairs
                .iter()
                .any(|n| n.starts_with("record 2 skipped: <foo> was not closed")),
            "{:?}",
            r.repairs
        );
        // Outside records: closed and noted; a stray end tag is ignored and noted.
        let xml = report(RECORD)
            .replace(
                "<email>dmarc@example.org</email>",
                "<email>dmarc@example.org</email><x>",
            )
            .replace("</policy_published>", "</policy_published></stray>");
        let r = parse(xml.as_bytes(), &origin("r.xml")).unwrap();
        assert_eq!(r.records, 1);
        assert_eq!(r.report_id, "id-1");
        assert!(
            r.repairs
                .iter()
                .any(|n| n.starts_with("closed <x> was not closed")),
            "{:?}",
            r.repairs
        );
        assert!(
            r.repairs
                .iter()
                .any(|n| n.starts_with("ignored stray end tag </stray>")),
            "{:?}",
            r.repairs
        );
    }

    #[test]
    fn unescaped_ampersands_are_kept_literally() {
        let xml = report(RECORD).replace("Example Org", "AT&T Services & Co &amp; more");
        let r = parse(xml.as_bytes(), &origin("r.xml")).unwrap();
        assert_eq!(r.org_name, "AT&T Services & Co & more");
        assert!(
            r.repairs
                .contains(&"kept an unescaped & literally".to_string())
        );
        // The same in a streamed document.
        let big = big_report(25_000, 3).replace("Example Org", "AT&T Services");
        let r = parse(big.as_bytes(), &origin("big.xml")).unwrap();
        assert_eq!(r.org_name, "AT&T Services");
    }

    #[test]
    fn one_enormous_piece_of_text_is_refused_not_buffered() {
        let mut xml = big_report(25_000, 3);
        let at = xml.find("<record>").unwrap_or(0);
        xml.insert_str(at, &" ".repeat((MAX_EVENT as usize) + 10));
        let err = parse(xml.as_bytes(), &origin("big.xml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("one piece of markup or text is longer than {MAX_EVENT} bytes")
        );
    }

    #[test]
    fn no_entity_expansion() {
        let xml = "<!DOCTYPE feedback [<!ENTITY x \"EXPANDED\">]>".to_string()
            + &report(RECORD).replace("Example Org", "A &amp; B &x; &#67;");
        let xml = xml.replacen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "", 1);
        let r = parse(xml.as_bytes(), &origin("g.xml")).unwrap();
        assert_eq!(r.org_name, "A & B &x; C");
        assert!(r.repairs.iter().any(|n| n.contains("&x;")));
    }

    #[test]
    fn stray_wrapper_is_repaired() {
        let xml = report(RECORD).replacen(
            "\n<feedback>",
            " <xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n<feedback>",
            1,
        );
        let r = parse(xml.as_bytes(), &origin("h.xml")).unwrap();
        assert_eq!(r.rows.len(), 1);
        assert!(r.repairs[0].contains("<xs:schema>"), "{:?}", r.repairs);
    }
}

#[cfg(test)]
mod parity {
    use super::*;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "A",
        "b c",
        " ",
        "&amp;",
        "&lt;",
        "&#65;",
        "&#x42;",
        "&bogus;",
        "&",
        "<!-- n -->",
        "<![CDATA[ d & e ]]>",
        "<?pi x?>",
        "<x/>",
        "<x>y</x>",
        "\r\n",
        "\t",
        "é",
        "<",
        "<a@b:c>",
        "<!DOCTYPE z>",
        "]]>",
        ">",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A report read from memory (trimmed text events, values re-decoded from their
        /// bytes) and the same report streamed (every text event kept) give the same values,
        /// rows and counts, whatever markup the values hold.
        #[test]
        fn in_memory_and_streamed_readings_agree(
            org in prop::collection::vec(prop::sample::select(PIECES), 0..8),
            from in prop::collection::vec(prop::sample::select(PIECES), 0..5),
            comment in prop::collection::vec(prop::sample::select(PIECES), 0..6),
            pretty in prop::bool::ANY,
        ) {
            let nl = if pretty { "\n    " } else { "" };
            let doc = format!(
                "<?xml version=\"1.0\"?>{nl}<feedback>{nl}<report_metadata>{nl}\
                 <org_name>{}</org_name>{nl}<report_id>p-1</report_id>{nl}<date_range>\
                 <begin>1790812800</begin><end>1790899199</end></date_range>{nl}\
                 </report_metadata>{nl}<policy_published><domain>ex.test</domain>\
                 </policy_published>{nl}<record>{nl}<row><source_ip>192.0.2.1</source_ip>\
                 <count>3</count><policy_evaluated><disposition>none</disposition>\
                 <dkim>pass</dkim><spf>fail</spf><reason><type>forwarded</type>\
                 <comment>{}</comment></reason></policy_evaluated></row>{nl}\
                 <identifiers><header_from>{}ex.test</header_from></identifiers>{nl}\
                 <auth_results/></record>{nl}</feedback>",
                org.concat(),
                comment.concat(),
                from.concat(),
            );
            let origin = Origin { file: "p.xml".into(), member: None };
            let memory = parse_stream_with(&mut doc.as_bytes(), &origin, true, IN_MEMORY);
            let streamed = parse_stream_with(&mut doc.as_bytes(), &origin, true, 0);
            match (memory.report, streamed.report) {
                (Ok(m), Ok(s)) => {
                    prop_assert_eq!(&m.org_name, &s.org_name);
                    prop_assert_eq!(&m.rows, &s.rows);
                    prop_assert_eq!(m.records, s.records);
                    prop_assert_eq!(m.message_count, s.message_count);
                    prop_assert_eq!(m.skipped_records, s.skipped_records);
                }
                (Err(m), Err(s)) => prop_assert_eq!(
                    std::mem::discriminant(&m),
                    std::mem::discriminant(&s)
                ),
                (m, s) => prop_assert!(false, "memory {:?} vs streamed {:?}", m, s),
            }
        }
    }
}

//! Reading one SMTP TLS report (RFC 8460 §4.4 JSON) into a [`TlsReport`].
//!
//! Reporters deviate from the RFC's schema in ways whose meaning is still plain: `mx-host` as
//! one string (the RFC's own example) or as objects (older drafts), counts written as strings,
//! RFC 3339 datetimes with offsets, fractions or a lower-case `t`, members nobody defined.
//! Those are read, and each leniency that changes a value's form is noted in `repairs`.
//! Where the meaning is not plain (a negative count, a policy type the RFC does not define, an
//! address that is no IP address) the report is rejected with the member's path, because a
//! guessed number in an auditor's evidence is worse than a named gap.
//!
//! The JSON comes from strangers, so nothing here trusts its shape: the document is bounded
//! in bytes, the policy and failure-detail lists keep their first entries and count the rest,
//! every value below them is read with bounded breadth and depth (a member holding a million-
//! element array costs nothing), and serde_json's recursion limit stops deep nesting.

use super::inflate::open_error;
use super::model::Origin;
use super::open::OpenError;
use super::tls_model::{FailureDetail, PolicyType, ResultType, TlsPolicy, TlsReport};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::io::{BufRead, Read};
use std::marker::PhantomData;
use std::net::IpAddr;

/// Largest TLS report read. Real ones are kilobytes (a busy receiver's day is a few hundred
/// failure details); the bound keeps a hostile or decompressed-bomb document from costing
/// more than this much memory before it is judged.
pub const MAX_TLSRPT_BYTES: u64 = 8 << 20;
/// Policies kept per report; the rest are counted in `policies_dropped`.
pub const MAX_POLICIES: usize = 1_000;
/// Failure details kept per policy; the rest are counted in `failures_dropped`.
pub const MAX_FAILURE_DETAILS: usize = 1_000;
/// Entries kept of a list inside a value (`policy-string`, `mx-host`).
const MAX_LIST_ITEMS: usize = 100;
/// Containers nested inside one value: `mx-host` as a list of objects needs two.
const MAX_VALUE_DEPTH: usize = 3;
/// Longest text kept in one member (a host name is at most 253; free text gets more room).
const MAX_TEXT_CHARS: usize = 4_096;

/// Why a JSON document yields no TLS report. Shown as the rejection reason, so each variant
/// names the cause and, for a bad value, the member's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsRptError {
    /// The stream failed (a decompression bomb, corrupt gzip): the container's own reason.
    #[error("{0}")]
    Open(OpenError),
    #[error("SMTP TLS report is over the {0}-byte limit for one report")]
    TooLarge(u64),
    #[error("JSON document is not valid JSON (truncated or damaged): {0}")]
    Syntax(String),
    #[error(
        "JSON document, neither a DMARC aggregate report nor an SMTP TLS report (RFC 8460): it has none of the members organization-name, date-range, report-id, policies"
    )]
    NotTlsReport,
    #[error("SMTP TLS report (RFC 8460) cannot be used: {0}")]
    Shape(String),
    #[error("SMTP TLS report (RFC 8460) cannot be used: `{member}` {problem}")]
    Member { member: String, problem: String },
}

fn bad(member: &str, problem: impl Into<String>) -> TlsRptError {
    TlsRptError::Member {
        member: member.to_string(),
        problem: problem.into(),
    }
}

/// Reads a TLS report from a stream, at most [`MAX_TLSRPT_BYTES`] (or the file's own
/// decompression bound, whichever is smaller).
pub fn read(
    reader: &mut dyn BufRead,
    origin: &Origin,
    max_bytes: u64,
) -> Result<TlsReport, TlsRptError> {
    let limit = max_bytes.min(MAX_TLSRPT_BYTES);
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| TlsRptError::Open(open_error(&e, OpenError::Io)))?;
    if bytes.len() as u64 > limit {
        return Err(TlsRptError::TooLarge(limit));
    }
    parse(&bytes, origin)
}

/// Parses one TLS report held in memory.
pub fn parse(bytes: &[u8], origin: &Origin) -> Result<TlsReport, TlsRptError> {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    // Mail systems pad attachments with NULs now and then; they carry nothing.
    let end = body.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let body = &body[..end];
    let wire: Wire = serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        // An error inside a list entry comes back re-labelled as data (it carries the
        // entry's path); damage to the JSON itself is named as such.
        let syntax = |e: &serde_json::Error| {
            matches!(
                e.classify(),
                Category::Syntax | Category::Eof | Category::Io
            )
        };
        match serde_json::from_slice::<IgnoredAny>(body) {
            Err(plain) if syntax(&plain) => TlsRptError::Syntax(plain.to_string()),
            _ if syntax(&e) => TlsRptError::Syntax(e.to_string()),
            _ => TlsRptError::Shape(e.to_string()),
        }
    })?;
    let report = convert(wire, origin)?;
    tracing::debug!(
        origin = %origin,
        org = %report.org_name,
        id = %report.report_id,
        policies = report.policies.len(),
        "read SMTP TLS report"
    );
    Ok(report)
}

// ---- The document as sent: every member optional, so a missing one is named, not a serde
// ---- message about a struct field.

#[derive(Deserialize)]
#[serde(expecting = "an SMTP TLS report (a JSON object)")]
struct Wire {
    #[serde(rename = "organization-name")]
    organization_name: Option<Bounded>,
    #[serde(rename = "date-range")]
    date_range: Option<WireRange>,
    #[serde(rename = "contact-info")]
    contact_info: Option<Bounded>,
    #[serde(rename = "report-id")]
    report_id: Option<Bounded>,
    policies: Option<Capped<WirePolicy>>,
}

#[derive(Deserialize)]
#[serde(expecting = "`date-range`: an object with start-datetime and end-datetime")]
struct WireRange {
    #[serde(rename = "start-datetime")]
    start: Option<Bounded>,
    #[serde(rename = "end-datetime")]
    end: Option<Bounded>,
}

#[derive(Deserialize)]
#[serde(expecting = "a policy entry: an object with policy, summary and failure-details")]
struct WirePolicy {
    policy: Option<WirePolicyDesc>,
    summary: Option<WireSummary>,
    #[serde(rename = "failure-details")]
    failure_details: Option<Capped<WireFailure>>,
}

#[derive(Deserialize)]
#[serde(expecting = "`policy`: an object with policy-type and policy-domain")]
struct WirePolicyDesc {
    #[serde(rename = "policy-type")]
    policy_type: Option<Bounded>,
    #[serde(rename = "policy-string")]
    policy_string: Option<Bounded>,
    #[serde(rename = "policy-domain")]
    policy_domain: Option<Bounded>,
    #[serde(rename = "mx-host")]
    mx_host: Option<Bounded>,
}

#[derive(Deserialize)]
#[serde(expecting = "`summary`: an object with the session counts")]
struct WireSummary {
    #[serde(rename = "total-successful-session-count")]
    successful: Option<Bounded>,
    #[serde(rename = "total-failure-session-count")]
    failed: Option<Bounded>,
}

#[derive(Deserialize)]
#[serde(expecting = "a failure detail: an object with result-type and failed-session-count")]
struct WireFailure {
    #[serde(rename = "result-type")]
    result_type: Option<Bounded>,
    #[serde(rename = "sending-mta-ip")]
    sending_mta_ip: Option<Bounded>,
    #[serde(rename = "receiving-mx-hostname")]
    receiving_mx_hostname: Option<Bounded>,
    #[serde(rename = "receiving-mx-helo")]
    receiving_mx_helo: Option<Bounded>,
    #[serde(rename = "receiving-ip")]
    receiving_ip: Option<Bounded>,
    #[serde(rename = "failed-session-count")]
    failed_session_count: Option<Bounded>,
    #[serde(rename = "additional-information")]
    additional_information: Option<Bounded>,
    #[serde(rename = "failure-reason-code")]
    failure_reason_code: Option<Bounded>,
}

/// A list member whose entries are kept up to a cap and counted past it, so a report of a
/// million policies costs the cap, not a million structures.
struct Capped<T> {
    kept: Vec<T>,
    dropped: usize,
}

/// The member name and cap of a [`Capped`] list.
trait Listed {
    const NAME: &'static str;
    const CAP: usize;
}

impl Listed for WirePolicy {
    const NAME: &'static str = "policies";
    const CAP: usize = MAX_POLICIES;
}

impl Listed for WireFailure {
    const NAME: &'static str = "failure-details";
    const CAP: usize = MAX_FAILURE_DETAILS;
}

/// serde_json appends the position to every error; an entry's error is wrapped with its
/// path and gets the position again, so the inner one is cut.
fn without_position(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(at) => s[..at].to_string(),
        None => s,
    }
}

impl<'de, T: Deserialize<'de> + Listed> Deserialize<'de> for Capped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Listed> Visitor<'de> for V<T> {
            type Value = Capped<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "`{}`: an array", T::NAME)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut kept = Vec::new();
                let mut dropped = 0usize;
                loop {
                    if kept.len() < T::CAP {
                        let at = kept.len();
                        match seq.next_element::<T>() {
                            Ok(Some(item)) => kept.push(item),
                            Ok(None) => break,
                            Err(e) => {
                                return Err(de::Error::custom(format!(
                                    "{}[{at}]: {}",
                                    T::NAME,
                                    without_position(&e)
                                )));
                            }
                        }
                    } else {
                        match seq.next_element::<IgnoredAny>()? {
                            Some(_) => dropped += 1,
                            None => break,
                        }
                    }
                }
                Ok(Capped { kept, dropped })
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// A member's value, read with bounded breadth ([`MAX_LIST_ITEMS`]) and depth
/// ([`MAX_VALUE_DEPTH`]); `dropped` counts list entries past the cap anywhere inside it.
struct Bounded {
    value: Value,
    dropped: usize,
}

impl<'de> Deserialize<'de> for Bounded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BoundedSeed { depth: 0 }.deserialize(d)
    }
}

struct BoundedSeed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for BoundedSeed {
    type Value = Bounded;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Bounded, D::Error> {
        d.deserialize_any(self)
    }
}

fn plain(value: Value) -> Bounded {
    Bounded { value, dropped: 0 }
}

impl<'de> Visitor<'de> for BoundedSeed {
    type Value = Bounded;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Bounded, E> {
        Ok(plain(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Bounded, E> {
        Ok(plain(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Bounded, E> {
        Ok(plain(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Bounded, E> {
        Ok(plain(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Bounded, E> {
        Ok(plain(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Bounded, E> {
        Ok(plain(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Bounded, E> {
        Ok(plain(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Bounded, E> {
        Ok(plain(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bounded, A::Error> {
        if self.depth >= MAX_VALUE_DEPTH {
            return Err(de::Error::custom(format!(
                "a value nested more than {MAX_VALUE_DEPTH} levels deep"
            )));
        }
        let mut items = Vec::new();
        let mut dropped = 0usize;
        loop {
            if items.len() < MAX_LIST_ITEMS {
                let seed = BoundedSeed {
                    depth: self.depth + 1,
                };
                match seq.next_element_seed(seed)? {
                    Some(b) => {
                        dropped += b.dropped;
                        items.push(b.value);
                    }
                    None => break,
                }
            } else {
                match seq.next_element::<IgnoredAny>()? {
                    Some(_) => dropped += 1,
                    None => break,
                }
            }
        }
        Ok(Bounded {
            value: Value::Array(items),
            dropped,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bounded, A::Error> {
        if self.depth >= MAX_VALUE_DEPTH {
            return Err(de::Error::custom(format!(
                "a value nested more than {MAX_VALUE_DEPTH} levels deep"
            )));
        }
        let mut members = serde_json::Map::new();
        let mut dropped = 0usize;
        while let Some(key) = map.next_key::<String>()? {
            if members.len() < MAX_LIST_ITEMS {
                let b = map.next_value_seed(BoundedSeed {
                    depth: self.depth + 1,
                })?;
                dropped += b.dropped;
                members.insert(key, b.value);
            } else {
                map.next_value::<IgnoredAny>()?;
                dropped += 1;
            }
        }
        Ok(Bounded {
            value: Value::Object(members),
            dropped,
        })
    }
}

// ---- From the wire to the model, naming the member of every value that cannot be used.

/// What a value is, for "expected X, found Y" reasons.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Collects the leniencies applied while converting one report.
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn add(&mut self, note: String) {
        if self.0.len() < 50 && !self.0.contains(&note) {
            self.0.push(note);
        }
    }
}

fn required<'a>(v: &'a Option<Bounded>, path: &str) -> Result<&'a Value, TlsRptError> {
    match v {
        Some(b) if !b.value.is_null() => Ok(&b.value),
        _ => Err(bad(path, "is missing")),
    }
}

fn present(v: &Option<Bounded>) -> Option<&Value> {
    v.as_ref().map(|b| &b.value).filter(|v| !v.is_null())
}

/// A text member, trimmed. A number where text is expected (a numeric report id) is read as
/// its digits, which is all it can mean.
fn text(v: &Value, path: &str, notes: &mut Notes) -> Result<String, TlsRptError> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => {
            notes.add(format!("`{path}` was a number; read as text"));
            n.to_string()
        }
        other => {
            return Err(bad(
                path,
                format!("must be a string, found {}", kind_of(other)),
            ));
        }
    };
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(
            path,
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(s)
}

fn nonempty_text(v: &Value, path: &str, notes: &mut Notes) -> Result<String, TlsRptError> {
    let s = text(v, path, notes)?;
    if s.is_empty() {
        return Err(bad(path, "is empty"));
    }
    Ok(s)
}

/// A DNS name as reports write it: case and a trailing dot carry no meaning.
fn host(v: &Value, path: &str, notes: &mut Notes) -> Result<String, TlsRptError> {
    let s = nonempty_text(v, path, notes)?;
    Ok(crate::snapshot::normalize_name(&s))
}

/// A session count: a non-negative integer. Written as a string of digits, or as a number
/// with a zero fraction, it still means that integer.
fn count(v: &Value, path: &str, notes: &mut Notes) -> Result<u64, TlsRptError> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return Ok(u);
            }
            if n.as_i64().is_some_and(|i| i < 0) {
                return Err(bad(path, format!("is negative ({n})")));
            }
            match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0 => {
                    notes.add(format!("`{path}` was written as a decimal ({n})"));
                    Ok(f as u64)
                }
                Some(f) if f < 0.0 => Err(bad(path, format!("is negative ({n})"))),
                _ => Err(bad(
                    path,
                    format!("is not a whole number of sessions ({n}) or is too large"),
                )),
            }
        }
        Value::String(s) => match s.trim().parse::<u64>() {
            Ok(u) => {
                notes.add(format!("`{path}` was a string (\"{}\")", s.trim()));
                Ok(u)
            }
            Err(_) => Err(bad(
                path,
                format!(
                    "must be a non-negative whole number, found the string \"{}\"",
                    s.chars().take(40).collect::<String>()
                ),
            )),
        },
        other => Err(bad(
            path,
            format!(
                "must be a non-negative whole number, found {}",
                kind_of(other)
            ),
        )),
    }
}

/// An RFC 3339 date-time. Its variants (a `z`/`t` in lower case, a space for `T`, an offset
/// with or without a colon, a fraction of a second) all name one instant. One without any
/// zone is read as UTC, which RFC 8460 reports use throughout, and noted; a bare number is
/// read as Unix seconds and noted. A date without a time is refused: it does not say whether
/// it opens or closes the day.
fn datetime(v: &Value, path: &str, notes: &mut Notes) -> Result<DateTime<Utc>, TlsRptError> {
    let s = match v {
        Value::String(s) => s.trim(),
        Value::Number(n) => {
            let secs = n
                .as_i64()
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
                .ok_or_else(|| bad(path, format!("is not a date-time ({n})")))?;
            notes.add(format!("`{path}` was a Unix timestamp ({n})"));
            return Ok(secs);
        }
        other => {
            return Err(bad(
                path,
                format!("must be an RFC 3339 date-time, found {}", kind_of(other)),
            ));
        }
    };
    let mut t: Vec<char> = s.chars().take(64).collect();
    if t.len() > 10 && matches!(t[10], 't' | ' ') {
        t[10] = 'T';
    }
    if let Some(last) = t.last_mut()
        && *last == 'z'
    {
        *last = 'Z';
    }
    let t: String = t.into_iter().collect();
    if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(n) = NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f") {
        notes.add(format!("`{path}` (\"{s}\") has no time zone; read as UTC"));
        return Ok(n.and_utc());
    }
    let shown: String = s.chars().take(40).collect();
    Err(bad(
        path,
        format!("is not an RFC 3339 date-time with a time of day (\"{shown}\")"),
    ))
}

/// An IP address, optionally in brackets (`[2001:db8::1]`) as some MTAs log them.
fn ip(v: &Value, path: &str, notes: &mut Notes) -> Result<IpAddr, TlsRptError> {
    let s = nonempty_text(v, path, notes)?;
    let inner = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(&s);
    inner.parse::<IpAddr>().map_err(|_| {
        let shown: String = s.chars().take(60).collect();
        bad(path, format!("is not an IP address (\"{shown}\")"))
    })
}

/// The names an older draft's `mx-host` object could carry its host under.
const MX_OBJECT_KEYS: &[&str] = &["hostname", "mx-host", "host", "name", "mx-host-pattern"];

/// `mx-host`: a list of names or patterns, one string, or (older drafts) objects naming the
/// host. An object with no such name is refused: its host cannot be told.
fn mx_hosts(b: &Bounded, path: &str, notes: &mut Notes) -> Result<Vec<String>, TlsRptError> {
    let one = |v: &Value, at: &str, notes: &mut Notes| -> Result<String, TlsRptError> {
        match v {
            Value::Object(m) => {
                let name = MX_OBJECT_KEYS.iter().find_map(|k| m.get(*k));
                match name {
                    Some(n) => {
                        notes.add(format!(
                            "`{at}` was an object (older draft); its host name was read"
                        ));
                        host(n, at, notes)
                    }
                    None => Err(bad(
                        at,
                        "is an object naming no host (expected a `hostname` member)",
                    )),
                }
            }
            other => host(other, at, notes),
        }
    };
    let mut out = Vec::new();
    match &b.value {
        Value::Null => {}
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let h = one(v, &format!("{path}[{i}]"), notes)?;
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
        other => out.push(one(other, path, notes)?),
    }
    if b.dropped > 0 {
        notes.add(format!(
            "`{path}` lists more than {MAX_LIST_ITEMS} hosts; {} not kept",
            b.dropped
        ));
    }
    Ok(out)
}

/// `policy-string`: the policy's lines. One string is one line.
fn policy_lines(b: &Bounded, path: &str, notes: &mut Notes) -> Result<Vec<String>, TlsRptError> {
    let mut out = Vec::new();
    match &b.value {
        Value::Null => {}
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                out.push(text(v, &format!("{path}[{i}]"), notes)?);
            }
        }
        other => out.push(text(other, path, notes)?),
    }
    if b.dropped > 0 {
        notes.add(format!(
            "`{path}` has more than {MAX_LIST_ITEMS} lines; {} not kept",
            b.dropped
        ));
    }
    Ok(out)
}

fn optional<T>(
    v: &Option<Bounded>,
    path: &str,
    notes: &mut Notes,
    read: impl Fn(&Value, &str, &mut Notes) -> Result<T, TlsRptError>,
) -> Result<Option<T>, TlsRptError> {
    present(v).map(|v| read(v, path, notes)).transpose()
}

fn convert(wire: Wire, origin: &Origin) -> Result<TlsReport, TlsRptError> {
    if wire.organization_name.is_none()
        && wire.date_range.is_none()
        && wire.report_id.is_none()
        && wire.policies.is_none()
    {
        return Err(TlsRptError::NotTlsReport);
    }
    let mut notes = Notes::default();
    let org_name = nonempty_text(
        required(&wire.organization_name, "organization-name")?,
        "organization-name",
        &mut notes,
    )?;
    let report_id = nonempty_text(
        required(&wire.report_id, "report-id")?,
        "report-id",
        &mut notes,
    )?;
    let contact_info =
        optional(&wire.contact_info, "contact-info", &mut notes, text)?.filter(|s| !s.is_empty());
    let range = wire
        .date_range
        .as_ref()
        .ok_or_else(|| bad("date-range", "is missing"))?;
    let begin = datetime(
        required(&range.start, "date-range.start-datetime")?,
        "date-range.start-datetime",
        &mut notes,
    )?;
    let end = datetime(
        required(&range.end, "date-range.end-datetime")?,
        "date-range.end-datetime",
        &mut notes,
    )?;
    if end < begin {
        return Err(bad(
            "date-range",
            format!("ends ({end}) before it starts ({begin})"),
        ));
    }
    let listed = wire.policies.ok_or_else(|| bad("policies", "is missing"))?;
    let mut policies = Vec::with_capacity(listed.kept.len());
    for (i, p) in listed.kept.into_iter().enumerate() {
        policies.push(convert_policy(p, &format!("policies[{i}]"), &mut notes)?);
    }
    if listed.dropped > 0 {
        notes.add(format!(
            "more than {MAX_POLICIES} policies: the first {MAX_POLICIES} kept, {} counted but not read",
            listed.dropped
        ));
    }
    Ok(TlsReport {
        origin: origin.clone(),
        org_name,
        report_id,
        contact_info,
        begin,
        end,
        policies,
        policies_dropped: listed.dropped,
        repairs: notes.0,
    })
}

fn convert_policy(p: WirePolicy, at: &str, notes: &mut Notes) -> Result<TlsPolicy, TlsRptError> {
    let desc = p
        .policy
        .as_ref()
        .ok_or_else(|| bad(&format!("{at}.policy"), "is missing"))?;
    let type_path = format!("{at}.policy.policy-type");
    let type_word = nonempty_text(required(&desc.policy_type, &type_path)?, &type_path, notes)?;
    let policy_type = PolicyType::parse(&type_word).ok_or_else(|| {
        let shown: String = type_word.chars().take(40).collect();
        bad(
            &type_path,
            format!("is \"{shown}\", not one RFC 8460 defines (tlsa, sts, no-policy-found)"),
        )
    })?;
    let domain_path = format!("{at}.policy.policy-domain");
    let policy_domain = host(
        required(&desc.policy_domain, &domain_path)?,
        &domain_path,
        notes,
    )?;
    let policy_string = match &desc.policy_string {
        Some(b) => policy_lines(b, &format!("{at}.policy.policy-string"), notes)?,
        None => Vec::new(),
    };
    let mx_hosts = match &desc.mx_host {
        Some(b) => mx_hosts(b, &format!("{at}.policy.mx-host"), notes)?,
        None => Vec::new(),
    };
    let summary = p
        .summary
        .as_ref()
        .ok_or_else(|| bad(&format!("{at}.summary"), "is missing"))?;
    let ok_path = format!("{at}.summary.total-successful-session-count");
    let successful_sessions = count(required(&summary.successful, &ok_path)?, &ok_path, notes)?;
    let fail_path = format!("{at}.summary.total-failure-session-count");
    let failed_sessions = count(required(&summary.failed, &fail_path)?, &fail_path, notes)?;
    let (details, failures_dropped) = match p.failure_details {
        Some(c) => (c.kept, c.dropped),
        None => (Vec::new(), 0),
    };
    let mut failures = Vec::with_capacity(details.len());
    for (j, f) in details.into_iter().enumerate() {
        failures.push(convert_failure(
            f,
            &format!("{at}.failure-details[{j}]"),
            notes,
        )?);
    }
    if failures_dropped > 0 {
        notes.add(format!(
            "`{at}.failure-details` has more than {MAX_FAILURE_DETAILS} entries: the first {MAX_FAILURE_DETAILS} kept, {failures_dropped} counted but not read"
        ));
    }
    Ok(TlsPolicy {
        policy_type,
        policy_string,
        policy_domain,
        mx_hosts,
        successful_sessions,
        failed_sessions,
        failures,
        failures_dropped,
    })
}

fn convert_failure(
    f: WireFailure,
    at: &str,
    notes: &mut Notes,
) -> Result<FailureDetail, TlsRptError> {
    let rt_path = format!("{at}.result-type");
    let word = nonempty_text(required(&f.result_type, &rt_path)?, &rt_path, notes)?;
    let result_type = ResultType::parse(&word);
    if let ResultType::Other(w) = &result_type {
        notes.add(format!(
            "`{rt_path}` \"{w}\" is not a result type RFC 8460 defines; kept as written"
        ));
    }
    let count_path = format!("{at}.failed-session-count");
    let failed_sessions = count(
        required(&f.failed_session_count, &count_path)?,
        &count_path,
        notes,
    )?;
    Ok(FailureDetail {
        result_type,
        sending_mta_ip: optional(
            &f.sending_mta_ip,
            &format!("{at}.sending-mta-ip"),
            notes,
            ip,
        )?,
        receiving_mx_hostname: optional(
            &f.receiving_mx_hostname,
            &format!("{at}.receiving-mx-hostname"),
            notes,
            host,
        )?,
        receiving_mx_helo: optional(
            &f.receiving_mx_helo,
            &format!("{at}.receiving-mx-helo"),
            notes,
            host,
        )?,
        receiving_ip: optional(&f.receiving_ip, &format!("{at}.receiving-ip"), notes, ip)?,
        failed_sessions,
        additional_information: optional(
            &f.additional_information,
            &format!("{at}.additional-information"),
            notes,
            text,
        )?
        .filter(|s| !s.is_empty()),
        failure_reason_code: optional(
            &f.failure_reason_code,
            &format!("{at}.failure-reason-code"),
            notes,
            text,
        )?
        .filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            file: "t.json".into(),
            member: None,
        }
    }

    fn parse_str(json: &str) -> Result<TlsReport, TlsRptError> {
        parse(json.as_bytes(), &origin())
    }

    /// A report with `policy` (the members of one `policies[]` entry) spliced in.
    fn with_policy(policy: &str) -> String {
        format!(
            r#"{{"organization-name":"Org","report-id":"id-1","contact-info":"a@b.test",
            "date-range":{{"start-datetime":"2026-10-01T00:00:00Z","end-datetime":"2026-10-01T23:59:59Z"}},
            "policies":[{{{policy}}}]}}"#
        )
    }

    const STS: &str = r#""policy":{"policy-type":"sts","policy-domain":"portal.test","mx-host":["mx.portal.test"]},
        "summary":{"total-successful-session-count":7,"total-failure-session-count":2}"#;

    fn reason(r: Result<TlsReport, TlsRptError>) -> String {
        match r {
            Ok(rep) => panic!("accepted: {rep:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_the_rfc_shape() {
        let r = parse_str(&with_policy(&format!(
            r#"{STS}, "failure-details":[{{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1",
            "receiving-mx-hostname":"MX.portal.test.","receiving-mx-helo":"mx.portal.test","receiving-ip":"198.51.100.1",
            "failed-session-count":2,"additional-information":"https://x.test/i","failure-reason-code":"X509_ERR"}}]"#
        )))
        .unwrap();
        assert_eq!((r.org_name.as_str(), r.report_id.as_str()), ("Org", "id-1"));
        assert_eq!(r.contact_info.as_deref(), Some("a@b.test"));
        assert_eq!(r.begin.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        let p = &r.policies[0];
        assert_eq!(p.policy_type, PolicyType::Sts);
        assert_eq!(p.mx_hosts, vec!["mx.portal.test".to_string()]);
        assert_eq!((p.successful_sessions, p.failed_sessions), (7, 2));
        let f = &p.failures[0];
        assert_eq!(f.result_type, ResultType::CertificateExpired);
        assert_eq!(f.receiving_mx_hostname.as_deref(), Some("mx.portal.test"));
        assert_eq!(f.sending_mta_ip, "192.0.2.1".parse().ok());
        assert_eq!(f.failure_reason_code.as_deref(), Some("X509_ERR"));
        assert!(r.repairs.is_empty(), "{:?}", r.repairs);
    }

    #[test]
    fn lenient_where_the_meaning_is_plain_and_says_so() {
        let r = parse_str(
            r#"{"organization-name":" Org ","report-id":12345,"unknown-member":{"a":[1,2,3]},
            "date-range":{"start-datetime":"2026-10-01t00:00:00.5z","end-datetime":"2026-10-01 23:59:59+02:00"},
            "policies":[{"policy":{"policy-type":"STS","policy-domain":"Portal.Test",
                "mx-host":[{"hostname":"mx1.portal.test","failure-count":3},"mx2.portal.test"],
                "policy-string":"version: STSv1"},
              "summary":{"total-successful-session-count":"10","total-failure-session-count":3.0},
              "failure-details":[{"result-type":"STARTTLS_NOT_SUPPORTED","sending-mta-ip":"[2001:db8::1]",
                 "failed-session-count":"3"}]}]}"#,
        )
        .unwrap();
        assert_eq!(r.org_name, "Org");
        assert_eq!(r.report_id, "12345");
        assert_eq!(r.begin.to_rfc3339(), "2026-10-01T00:00:00.500+00:00");
        assert_eq!(r.end.to_rfc3339(), "2026-10-01T21:59:59+00:00");
        let p = &r.policies[0];
        assert_eq!(p.policy_domain, "portal.test");
        assert_eq!(p.mx_hosts, vec!["mx1.portal.test", "mx2.portal.test"]);
        assert_eq!(p.policy_string, vec!["version: STSv1"]);
        assert_eq!((p.successful_sessions, p.failed_sessions), (10, 3));
        assert_eq!(p.failures[0].result_type, ResultType::StarttlsNotSupported);
        assert_eq!(p.failures[0].sending_mta_ip, "2001:db8::1".parse().ok());
        let notes = r.repairs.join("\n");
        for needle in [
            "`report-id` was a number",
            "total-successful-session-count` was a string",
            "total-failure-session-count` was written as a decimal",
            "mx-host[0]` was an object",
        ] {
            assert!(notes.contains(needle), "{needle:?} not in {notes}");
        }
        // A date-time with no zone is read as UTC, and noted.
        let r = parse_str(&with_policy(STS).replace("2026-10-01T00:00:00Z", "2026-10-01T00:00:00"))
            .unwrap();
        assert!(r.repairs.iter().any(|n| n.contains("no time zone")));
        // An unknown result type is kept as written, and noted.
        let r = parse_str(&with_policy(&format!(
            r#"{STS},"failure-details":[{{"result-type":"new-kind","failed-session-count":1}}]"#
        )))
        .unwrap();
        assert_eq!(
            r.policies[0].failures[0].result_type,
            ResultType::Other("new-kind".into())
        );
    }

    #[test]
    fn rejects_what_it_cannot_read_naming_the_member() {
        let cases: &[(String, &str)] = &[
            (
                with_policy(STS).replace("\"sts\"", "\"dane\""),
                "`policies[0].policy.policy-type` is \"dane\", not one RFC 8460 defines",
            ),
            (
                with_policy(STS).replace(":7,", ":-7,"),
                "`policies[0].summary.total-successful-session-count` is negative",
            ),
            (
                with_policy(STS).replace(":7,", ":\"seven\","),
                "found the string \"seven\"",
            ),
            (with_policy(STS).replace(":7,", ":1e30,"), "too large"),
            (
                with_policy(STS).replace(":7,", ":[7],"),
                "must be a non-negative whole number, found an array",
            ),
            (
                with_policy(STS).replace("\"summary\"", "\"summery\""),
                "`policies[0].summary` is missing",
            ),
            (
                with_policy(STS).replace("\"report-id\":\"id-1\",", ""),
                "`report-id` is missing",
            ),
            (
                with_policy(STS)
                    .replace("\"organization-name\":\"Org\"", "\"organization-name\":{}"),
                "`organization-name` must be a string, found an object",
            ),
            (
                with_policy(STS).replace("2026-10-01T23:59:59Z", "2026-09-01T00:00:00Z"),
                "`date-range` ends",
            ),
            (
                with_policy(STS).replace("2026-10-01T00:00:00Z", "2026-10-01"),
                "`date-range.start-datetime` is not an RFC 3339 date-time",
            ),
            (
                with_policy(STS).replace("[\"mx.portal.test\"]", "[{\"weight\":1}]"),
                "`policies[0].policy.mx-host[0]` is an object naming no host",
            ),
            (
                with_policy(&format!(
                    r#"{STS},"failure-details":[{{"result-type":"x","sending-mta-ip":"not-an-ip","failed-session-count":1}}]"#
                )),
                "`policies[0].failure-details[0].sending-mta-ip` is not an IP address",
            ),
            (
                with_policy(&format!(
                    r#"{STS},"failure-details":[{{"result-type":"x"}}]"#
                )),
                "`policies[0].failure-details[0].failed-session-count` is missing",
            ),
            (
                with_policy(&format!(r#"{STS},"failure-details":[5]"#)),
                "policies[0]: failure-details[0]: invalid type: integer `5`, expected a failure detail",
            ),
            (
                with_policy(STS)
                    .replace("\"policies\":[{", "\"policies\":{\"x\":{")
                    .replace("}]}", "}}}"),
                "expected `policies`: an array",
            ),
            (
                r#"{"organization-name":"a","organization-name":"b"}"#.to_string(),
                "duplicate field `organization-name`",
            ),
            (
                r#"{"hello":1}"#.to_string(),
                "neither a DMARC aggregate report nor an SMTP TLS report",
            ),
        ];
        for (json, want) in cases {
            let why = reason(parse_str(json));
            assert!(why.contains(want), "{want:?} not in {why:?}");
        }
    }

    #[test]
    fn hostile_documents_are_rejected_with_a_reason_never_a_panic() {
        let good = with_policy(STS);
        // Truncated anywhere: a reason, never a panic.
        for cut in 0..good.len() {
            match parse_str(&good[..cut]) {
                Ok(_) => panic!("a report cut at {cut} was accepted"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        let why = reason(parse_str(&good[..good.len() - 3]));
        assert!(
            why.contains("not valid JSON (truncated or damaged)"),
            "{why}"
        );
        // Deep nesting, in a known member and in an unknown one.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let why = reason(parse_str(&format!(r#"{{"organization-name":{deep}}}"#)));
        assert!(why.contains("nested"), "{why}");
        // An unknown member is skipped without recursion (serde_json walks it with a loop),
        // however deep: the document is judged by the members it has.
        let why = reason(parse_str(&format!(r#"{{"x":{deep}}}"#)));
        assert!(why.contains("neither a DMARC"), "{why}");
        let r = parse_str(&with_policy(STS).replacen('{', &format!("{{\"x\":{deep},"), 1));
        assert!(r.is_ok(), "{r:?}");
        // A huge list inside a value costs the cap, and is noted.
        let hosts: Vec<String> = (0..5_000)
            .map(|i| format!("\"mx{i}.portal.test\""))
            .collect();
        let r = parse_str(
            &with_policy(STS).replace("[\"mx.portal.test\"]", &format!("[{}]", hosts.join(","))),
        )
        .unwrap();
        assert_eq!(r.policies[0].mx_hosts.len(), MAX_LIST_ITEMS);
        assert!(r.repairs.iter().any(|n| n.contains("4900 not kept")));
        // Failure details past the cap are counted, not kept.
        let detail = r#"{"result-type":"validation-failure","failed-session-count":1}"#;
        let many = vec![detail; MAX_FAILURE_DETAILS + 5].join(",");
        let r = parse_str(&with_policy(&format!(
            r#"{STS},"failure-details":[{many}]"#
        )))
        .unwrap();
        assert_eq!(r.policies[0].failures.len(), MAX_FAILURE_DETAILS);
        assert_eq!(r.policies[0].failures_dropped, 5);
        // Policies likewise.
        let policy = format!("{{{STS}}}");
        let many = vec![policy.as_str(); MAX_POLICIES + 2].join(",");
        let doc = with_policy(STS).replace(&format!("[{{{STS}}}]"), &format!("[{many}]"));
        let r = parse_str(&doc).unwrap();
        assert_eq!((r.policies.len(), r.policies_dropped), (MAX_POLICIES, 2));
        // The largest count there is, and one past it.
        let r = parse_str(&with_policy(STS).replace(":7,", ":18446744073709551615,")).unwrap();
        assert_eq!(r.policies[0].successful_sessions, u64::MAX);
        let why = reason(parse_str(
            &with_policy(STS).replace(":7,", ":18446744073709551616,"),
        ));
        assert!(why.contains("too large"), "{why}");
        // Over the byte bound: refused before parsing.
        let big = format!("{}{}", good, " ".repeat(2_000));
        let why = read(&mut big.as_bytes(), &origin(), 1_000)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(why.contains("over the 1000-byte limit"), "{why}");
        // Text past the bound is refused, naming the member.
        let why = reason(parse_str(
            &with_policy(STS).replace("\"Org\"", &format!("\"{}\"", "O".repeat(5_000))),
        ));
        assert!(why.contains("`organization-name` is longer than"), "{why}");
        // Not UTF-8.
        let mut bytes = good.clone().into_bytes();
        bytes[30] = 0xff;
        assert!(parse(&bytes, &origin()).is_err());
    }
}

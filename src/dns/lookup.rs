//! One DNS question → one stored [`Lookup`], with the outcome mapped exactly.

use super::DnsClient;
use crate::snapshot::{Lookup, Outcome, Rtype, normalize_name};
use hickory_resolver::net::xfer::{DnsHandle, FirstAnswer};
use hickory_resolver::net::{DnsError as HDnsError, NetError};
use hickory_resolver::proto::op::{
    DnsRequest, DnsRequestOptions, DnsResponse, Query, ResponseCode,
};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::time::Instant;

/// Authoritative servers answer a cross-zone CNAME with the CNAME alone; we follow at most this
/// many hops, as hickory's own resolver does.
pub(crate) const MAX_CNAME_HOPS: usize = 8;

pub(crate) fn record_type(rtype: Rtype) -> RecordType {
    match rtype {
        Rtype::Txt => RecordType::TXT,
        Rtype::Mx => RecordType::MX,
        Rtype::A => RecordType::A,
        Rtype::Aaaa => RecordType::AAAA,
        Rtype::Cname => RecordType::CNAME,
        Rtype::Ptr => RecordType::PTR,
        Rtype::Tlsa => RecordType::TLSA,
    }
}

/// Answer data of one record in the stored form: presentation text, plus the raw strings for
/// TXT.
struct Datum {
    text: String,
    strings: Option<Vec<String>>,
    /// MX preference, so MX answers sort by preference rather than as text.
    pref: u16,
}

/// A name as its raw labels joined by dots, lower case. Unlike `to_ascii`, this keeps octets
/// such as `:` or a space unescaped, so a stored name can be asked again exactly as served.
pub(crate) fn raw_name(name: &Name) -> String {
    name.iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join(".")
        .to_ascii_lowercase()
}

fn host(name: &Name) -> String {
    let mut s = raw_name(name);
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

fn datum(data: &RData) -> Datum {
    let plain = |text: String| Datum {
        text,
        strings: None,
        pref: 0,
    };
    match data {
        RData::TXT(txt) => {
            let strings: Vec<String> = txt
                .txt_data
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect();
            Datum {
                text: strings.concat(),
                strings: Some(strings),
                pref: 0,
            }
        }
        RData::MX(mx) => Datum {
            text: format!("{} {}", mx.preference, host(&mx.exchange)),
            strings: None,
            pref: mx.preference,
        },
        RData::A(a) => plain(a.0.to_string()),
        RData::AAAA(a) => plain(a.0.to_string()),
        RData::CNAME(c) => plain(host(&c.0)),
        RData::PTR(p) => plain(host(&p.0)),
        other => plain(other.to_string()),
    }
}

fn same_name(a: &Name, b: &Name) -> bool {
    raw_name(a) == raw_name(b)
}

/// What one hop's response said about `current`.
enum Hop {
    /// Records of the asked type.
    Data(Vec<Datum>),
    /// Only a CNAME chain (within the response) ending at a name with no data here: ask the
    /// last target next.
    Follow(Name),
    /// The response had neither: the rcode decides absent vs. empty.
    Empty(ResponseCode),
}

fn read_hop(resp: &DnsResponse, current: &Name, want: RecordType) -> (Vec<Name>, Hop) {
    // Walk the CNAME chain inside this response first; servers may include several hops.
    let mut chain: Vec<Name> = Vec::new();
    let mut at = current.clone();
    while chain.len() < MAX_CNAME_HOPS && want != RecordType::CNAME {
        let next = resp.answers.iter().find_map(|r: &Record| match &r.data {
            RData::CNAME(c) if same_name(&r.name, &at) => Some(c.0.clone()),
            _ => None,
        });
        match next {
            Some(t) if !chain.iter().any(|n| same_name(n, &t)) && !same_name(&t, current) => {
                chain.push(t.clone());
                at = t;
            }
            _ => break,
        }
    }
    let data: Vec<Datum> = resp
        .answers
        .iter()
        .filter(|r| r.record_type() == want && same_name(&r.name, &at))
        .map(|r| datum(&r.data))
        .collect();
    if !data.is_empty() {
        (chain, Hop::Data(data))
    } else if !chain.is_empty() {
        (chain, Hop::Follow(at))
    } else {
        (chain, Hop::Empty(resp.metadata.response_code))
    }
}

/// Maps a resolver error to the stored outcome. NXDOMAIN and NODATA both arrive as
/// `NoRecordsFound`; only the response code tells them apart.
pub(crate) fn outcome_of_error(err: &NetError) -> (Outcome, Option<String>) {
    match err {
        NetError::Dns(HDnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => (Outcome::Nxdomain, None),
            ResponseCode::NoError => (Outcome::Nodata, None),
            ResponseCode::ServFail => (Outcome::Servfail, Some(err.to_string())),
            ResponseCode::Refused => (Outcome::Refused, Some(err.to_string())),
            _ => (Outcome::Error, Some(err.to_string())),
        },
        NetError::Dns(HDnsError::ResponseCode(ResponseCode::ServFail)) => {
            (Outcome::Servfail, Some(err.to_string()))
        }
        NetError::Dns(HDnsError::ResponseCode(ResponseCode::Refused)) => {
            (Outcome::Refused, Some(err.to_string()))
        }
        NetError::Timeout => (Outcome::Timeout, Some(err.to_string())),
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            (Outcome::Timeout, Some(err.to_string()))
        }
        _ => (Outcome::Error, Some(err.to_string())),
    }
}

/// Failures worth asking again: the server may answer next time.
fn is_transient(e: &NetError) -> bool {
    matches!(
        e,
        NetError::Timeout
            | NetError::Io(_)
            | NetError::NoConnections
            | NetError::Busy
            | NetError::Dns(HDnsError::ResponseCode(ResponseCode::ServFail))
    )
}

/// 25 ms, 50 ms, 100 ms … capped at 1 s: quick on loopback, gentle on a struggling resolver.
pub(crate) fn backoff(attempt: usize) -> std::time::Duration {
    let ms = 25u64.saturating_mul(1u64 << attempt.min(6));
    std::time::Duration::from_millis(ms.min(1000))
}

fn empty_outcome(rcode: ResponseCode) -> (Outcome, Option<String>) {
    match rcode {
        ResponseCode::NXDomain => (Outcome::Nxdomain, None),
        ResponseCode::NoError => (Outcome::Nodata, None),
        ResponseCode::ServFail => (Outcome::Servfail, None),
        ResponseCode::Refused => (Outcome::Refused, None),
        other => (Outcome::Error, Some(format!("response code {other}"))),
    }
}

/// The wire name for a stored name: fully qualified, so no search domain is ever appended.
fn query_name(name: &str) -> Result<Name, String> {
    if name.is_empty() {
        return Err("empty domain name".to_string());
    }
    // Labels are sent as the raw octets written (RFC 7208 §7.3 names built from macros may
    // hold any of them); only the DNS length limits are enforced.
    if name.len() > 253 {
        return Err(format!(
            "invalid domain name {name:?}: longer than 253 octets"
        ));
    }
    if let Some(l) = name.split('.').find(|l| l.is_empty() || l.len() > 63) {
        return Err(format!(
            "invalid domain name {name:?}: label {l:?} is empty or longer than 63 octets"
        ));
    }
    let mut n = Name::from_labels(name.split('.').map(str::as_bytes))
        .map_err(|e| format!("invalid domain name {name:?}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

impl DnsClient {
    fn request_options(&self) -> DnsRequestOptions {
        let mut o = DnsRequestOptions::default();
        o.use_edns = true;
        o.edns_payload_len = self.edns_payload_len;
        o.recursion_desired = true;
        o
    }

    /// One question, retried with exponential backoff while the failure looks transient
    /// (timeout, connection trouble, SERVFAIL), up to the configured number of retries.
    async fn exchange(&self, name: &Name, rtype: RecordType) -> Result<DnsResponse, NetError> {
        let mut attempt = 0;
        loop {
            let mut req =
                DnsRequest::from_query(Query::query(name.clone(), rtype), self.request_options());
            // RFC 6840 §5.7: AD=1 in a query asks a validating resolver to tell us whether the
            // answer was DNSSEC-validated; it asks for no validation work of its own.
            req.metadata.authentic_data = true;
            let res = self.handle.send(req).first_answer().await;
            let transient = match &res {
                Ok(r) => r.metadata.response_code == ResponseCode::ServFail,
                Err(e) => is_transient(e),
            };
            if !transient || attempt >= self.retries {
                return res;
            }
            let wait = backoff(attempt);
            tracing::debug!(name = %name, ?rtype, attempt, ?wait, "retrying DNS question");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Asks one question, following cross-zone CNAMEs, and records how it ended. Never fails:
    /// every problem becomes an outcome of the returned lookup.
    pub async fn lookup(&self, name: &str, rtype: Rtype, purpose: &str) -> Lookup {
        let name = normalize_name(name);
        let started = Instant::now();
        let mut lookup = Lookup {
            name: name.clone(),
            rtype,
            outcome: Outcome::Error,
            error: None,
            answers: Vec::new(),
            txt_strings: Vec::new(),
            cname_chain: Vec::new(),
            dnssec: None,
            elapsed_ms: 0,
            purpose: purpose.to_string(),
        };
        let finish = |mut l: Lookup| {
            l.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            tracing::debug!(
                name = %l.name,
                rtype = l.rtype.label(),
                outcome = l.outcome.label(),
                "dns lookup"
            );
            l
        };
        let mut current = match query_name(&name) {
            Ok(n) => n,
            Err(e) => {
                lookup.error = Some(e);
                return finish(lookup);
            }
        };
        let want = record_type(rtype);
        let mut authentic = true;
        for _ in 0..=MAX_CNAME_HOPS {
            let resp = match self.exchange(&current, want).await {
                Ok(r) => r,
                Err(e) => {
                    let (outcome, error) = outcome_of_error(&e);
                    lookup.outcome = outcome;
                    lookup.error = error;
                    return finish(lookup);
                }
            };
            authentic &= resp.metadata.authentic_data;
            let (chain, hop) = read_hop(&resp, &current, want);
            for t in &chain {
                let t = normalize_name(&raw_name(t));
                if t == name || lookup.cname_chain.contains(&t) {
                    lookup.outcome = Outcome::Error;
                    lookup.error = Some(format!("CNAME loop at {t}"));
                    return finish(lookup);
                }
                lookup.cname_chain.push(t);
            }
            match hop {
                Hop::Data(mut data) => {
                    data.sort_by(|a, b| a.pref.cmp(&b.pref).then_with(|| a.text.cmp(&b.text)));
                    data.dedup_by(|a, b| a.text == b.text && a.strings == b.strings);
                    for d in data {
                        if let Some(s) = d.strings {
                            lookup.txt_strings.push(s);
                        }
                        lookup.answers.push(d.text);
                    }
                    lookup.outcome = Outcome::Answer;
                    lookup.dnssec = authentic.then_some(true);
                    return finish(lookup);
                }
                Hop::Empty(rcode) => {
                    let (outcome, error) = empty_outcome(rcode);
                    lookup.outcome = outcome;
                    lookup.error = error;
                    return finish(lookup);
                }
                Hop::Follow(target) => {
                    if lookup.cname_chain.len() > MAX_CNAME_HOPS {
                        break;
                    }
                    current = target;
                }
            }
        }
        lookup.outcome = Outcome::Error;
        lookup.error = Some(format!(
            "CNAME chain longer than {MAX_CNAME_HOPS} hops: {}",
            lookup.cname_chain.join(" -> ")
        ));
        finish(lookup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::net::NoRecords;

    fn nr(code: ResponseCode) -> NetError {
        let q = Query::query(Name::from_ascii("x.test.").unwrap(), RecordType::TXT);
        NetError::Dns(HDnsError::NoRecordsFound(NoRecords::new(q, code)))
    }

    #[test]
    fn error_outcomes_are_distinct() {
        assert_eq!(
            outcome_of_error(&nr(ResponseCode::NXDomain)).0,
            Outcome::Nxdomain
        );
        assert_eq!(
            outcome_of_error(&nr(ResponseCode::NoError)).0,
            Outcome::Nodata
        );
        let sf = NetError::Dns(HDnsError::ResponseCode(ResponseCode::ServFail));
        assert_eq!(outcome_of_error(&sf).0, Outcome::Servfail);
        let rf = NetError::Dns(HDnsError::ResponseCode(ResponseCode::Refused));
        assert_eq!(outcome_of_error(&rf).0, Outcome::Refused);
        assert_eq!(outcome_of_error(&NetError::Timeout).0, Outcome::Timeout);
        let (o, text) = outcome_of_error(&NetError::NoConnections);
        assert_eq!(o, Outcome::Error);
        assert!(text.is_some_and(|t| t.contains("no connections")));
        let fe = NetError::Dns(HDnsError::ResponseCode(ResponseCode::FormErr));
        assert_eq!(outcome_of_error(&fe).0, Outcome::Error);
    }

    #[test]
    fn query_names_are_fully_qualified() {
        let n = query_name("_dmarc.example.test").unwrap();
        assert!(n.is_fqdn());
        assert_eq!(n.to_ascii(), "_dmarc.example.test.");
        assert!(query_name("").is_err());
        assert!(query_name(&"a".repeat(300)).is_err());
        assert!(query_name("a..b").is_err());
    }
}

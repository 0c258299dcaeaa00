//! DNS snapshots: the raw answers and lookup outcomes captured on one date.
//!
//! A snapshot stores what the DNS said, never what we concluded from it, so an old snapshot can
//! be re-assessed under newer rules and still be faithful evidence of that date.

pub mod diff;
pub mod dnssec;
pub mod store;
pub mod transport;
mod transport_diff;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "mailproof.snapshot/1";

/// How one DNS question ended. A failure is never the same as "no record".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Answer,
    Nxdomain,
    Nodata,
    Servfail,
    Refused,
    Timeout,
    Error,
}

impl Outcome {
    /// The name exists in DNS with no data of this type, or does not exist: the record is
    /// provably absent.
    pub fn is_absent(self) -> bool {
        matches!(self, Outcome::Nxdomain | Outcome::Nodata)
    }

    /// We could not learn the truth: evidence is incomplete (DNS-001).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Servfail | Outcome::Refused | Outcome::Timeout | Outcome::Error
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Answer => "answer",
            Outcome::Nxdomain => "nxdomain",
            Outcome::Nodata => "nodata",
            Outcome::Servfail => "servfail",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
            Outcome::Error => "error",
        }
    }
}

/// Record types the capture asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "UPPERCASE")]
pub enum Rtype {
    Txt,
    Mx,
    A,
    Aaaa,
    Cname,
    Ptr,
    Tlsa,
}

impl Rtype {
    pub fn label(self) -> &'static str {
        match self {
            Rtype::Txt => "TXT",
            Rtype::Mx => "MX",
            Rtype::A => "A",
            Rtype::Aaaa => "AAAA",
            Rtype::Cname => "CNAME",
            Rtype::Ptr => "PTR",
            Rtype::Tlsa => "TLSA",
        }
    }
}

/// One DNS question and everything it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// Queried name, lower case, no trailing dot.
    pub name: String,
    pub rtype: Rtype,
    pub outcome: Outcome,
    /// Resolver error text for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Answer data of the asked type, in presentation form: a TXT record's strings
    /// concatenated; MX as `"10 mx1.example."`; A/AAAA as the address.
    #[serde(default)]
    pub answers: Vec<String>,
    /// For TXT answers, the individual character-strings of each record, as served (the
    /// split matters for the 255-octet rule and for evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub txt_strings: Vec<Vec<String>>,
    /// CNAMEs followed to reach the answer, in order (vendor-hosted DKIM keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<String>,
    /// Whether the answer was DNSSEC-authenticated (AD flag), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnssec: Option<bool>,
    pub elapsed_ms: u64,
    /// Why this name was asked (e.g. `spf`, `spf-include`, `dmarc`, `dkim`, `mx`, `mta-sts`),
    /// so the appendix can group evidence.
    pub purpose: String,
}

/// A report source's reverse DNS as the snapshot found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReverseDns {
    /// A PTR name whose A/AAAA answer includes the address.
    Confirmed(String),
    /// PTR names none of which resolves back to the address.
    Unconfirmed(Vec<String>),
    /// No PTR record (NXDOMAIN or no data).
    Missing,
    /// The PTR lookup, or the forward lookup of every name it gave, failed (or was not asked):
    /// nothing is known.
    Failed(Outcome),
}

/// The address an `in-addr.arpa` / `ip6.arpa` name stands for.
pub fn ip_of_reverse_name(name: &str) -> Option<std::net::IpAddr> {
    let name = normalize_name(name);
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let mut octets: Vec<u8> = rest
            .split('.')
            .map(|o| o.parse().ok())
            .collect::<Option<_>>()?;
        if octets.len() != 4 {
            return None;
        }
        octets.reverse();
        return Some(std::net::IpAddr::from([
            octets[0], octets[1], octets[2], octets[3],
        ]));
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = rest
        .split('.')
        .map(|n| u8::from_str_radix(n, 16).ok().filter(|_| n.len() == 1))
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, pair) in nibbles.rchunks(2).enumerate() {
        // Reversed: the last label is the most significant nibble.
        bytes[i] = (pair[1] << 4) | pair[0];
    }
    Some(std::net::IpAddr::from(bytes))
}

/// A domain in scope on the snapshot's date, with the selectors that were probed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopedDomain {
    pub name: String,
    pub role: crate::config::Role,
    /// DKIM selectors probed, with where each came from (`config`, `inventory`, `reports`).
    pub selectors: Vec<SelectorSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SelectorSource {
    pub selector: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema: String,
    pub taken_at: DateTime<Utc>,
    pub tool: String,
    pub tool_version: String,
    /// Servers asked, as `ip:port`, or `system` for the system resolver configuration.
    pub nameservers: Vec<String>,
    pub domains: Vec<ScopedDomain>,
    pub lookups: Vec<Lookup>,
    /// The organization whose config took the snapshot, so `diff` never compares two
    /// organizations' records. Absent in snapshots of `check` and of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// SHA-256 of the config's scope (domains, roles and configured selectors, in order), so
    /// `diff` can say that the scope itself changed between two snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_sha256: Option<String>,
    /// What the transport probes met: MTA-STS policy fetches and STARTTLS probes. Absent in
    /// snapshots of earlier versions, whose transport is then "not assessed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<transport::TransportCapture>,
    /// mailproof's own DNSSEC validation of the domains, their MX hosts and TLSA names.
    /// Absent in snapshots taken before it existed; their posture falls back to the
    /// resolver's AD flag, labelled as such.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnssec: Option<dnssec::DnssecCapture>,
}

impl Snapshot {
    /// The MX host names of `domain` as captured, in answer order; a null MX (`0 .`) names
    /// none, and a failed or absent lookup gives none.
    pub fn mx_hosts(&self, domain: &str) -> Vec<String> {
        self.get(domain, Rtype::Mx)
            .map(|l| {
                l.answers
                    .iter()
                    .filter_map(|a| a.split_whitespace().nth(1).map(normalize_name))
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The names whose DNSSEC status speaks for `domain`'s transport: its MX RRset, then for
    /// each MX host its TLSA RRset and its address records. One list for validation, posture,
    /// status and diff, so they always judge the same names.
    pub fn dnssec_names(&self, domain: &str) -> Vec<(String, Rtype)> {
        let mut names = vec![(normalize_name(domain), Rtype::Mx)];
        for h in self.mx_hosts(domain) {
            names.push((format!("_25._tcp.{h}"), Rtype::Tlsa));
            names.push((h, Rtype::A));
        }
        names
    }

    /// What the transport probes could not learn, one line each (NET-001).
    pub fn probe_gaps(&self) -> Vec<String> {
        self.transport
            .as_ref()
            .map(|t| t.gaps())
            .unwrap_or_default()
    }

    /// Names whose DNSSEC status could not be determined, one line each: evidence
    /// incomplete (exit 4), never "insecure".
    pub fn dnssec_gaps(&self) -> Vec<String> {
        self.dnssec
            .iter()
            .flat_map(|v| &v.names)
            .filter(|n| n.status == dnssec::DnssecStatus::Indeterminate)
            .map(|n| {
                format!(
                    "{} {}: {}",
                    n.name,
                    n.rtype.label(),
                    n.detail.as_deref().unwrap_or("indeterminate")
                )
            })
            .collect()
    }

    /// Report source addresses whose reverse-DNS name is known and forward-confirmed (the
    /// name's A/AAAA answer includes the address), with the first such name. Unconfirmed PTR
    /// names are ignored: a sender controls its own reverse zone.
    pub fn confirmed_ptr_names(&self) -> std::collections::BTreeMap<std::net::IpAddr, String> {
        self.reverse_dns()
            .into_iter()
            .filter_map(|(ip, r)| match r {
                ReverseDns::Confirmed(name) => Some((ip, name)),
                _ => None,
            })
            .collect()
    }

    /// What the snapshot learned of each report source's reverse DNS it asked about: a
    /// forward-confirmed name, names that do not resolve back, no PTR at all, or a failed
    /// lookup (evidence incomplete, never "no PTR").
    pub fn reverse_dns(&self) -> std::collections::BTreeMap<std::net::IpAddr, ReverseDns> {
        let mut out = std::collections::BTreeMap::new();
        for ptr in self
            .lookups
            .iter()
            .filter(|l| l.rtype == Rtype::Ptr && l.purpose == "source-ptr")
        {
            let Some(ip) = ip_of_reverse_name(&ptr.name) else {
                continue;
            };
            let status = match ptr.outcome {
                Outcome::Answer if !ptr.answers.is_empty() => {
                    let forward = if ip.is_ipv4() { Rtype::A } else { Rtype::Aaaa };
                    let confirmed = ptr.answers.iter().find(|name| {
                        self.get(name, forward).is_some_and(|l| {
                            l.answers
                                .iter()
                                .any(|a| a.parse::<std::net::IpAddr>().is_ok_and(|a| a == ip))
                        })
                    });
                    // A name whose forward lookup failed (or was never asked) proves nothing
                    // either way: only answers that leave the address out are "unconfirmed".
                    let unanswered = ptr.answers.iter().any(|name| {
                        self.get(name, forward).is_none_or(|l| {
                            !(l.outcome == Outcome::Answer || l.outcome.is_absent())
                        })
                    });
                    match confirmed {
                        Some(name) => ReverseDns::Confirmed(normalize_name(name)),
                        None if unanswered => ReverseDns::Failed(Outcome::Error),
                        None => ReverseDns::Unconfirmed(
                            ptr.answers.iter().map(|n| normalize_name(n)).collect(),
                        ),
                    }
                }
                o if o.is_absent() || o == Outcome::Answer => ReverseDns::Missing,
                o => ReverseDns::Failed(o),
            };
            out.insert(ip, status);
        }
        out
    }

    /// The lookups that are evidence about the organization's records (its own names and
    /// every name they lead to). Reverse DNS of report sources only helps tell senders apart
    /// and is left out: strangers' reverse zones fail often, and that leaves no gap in the
    /// evidence of our records.
    pub fn evidence_lookups(&self) -> impl Iterator<Item = &Lookup> {
        self.lookups
            .iter()
            .filter(|l| !l.purpose.starts_with("source-ptr"))
    }

    /// Evidence lookups that ended without an answer or a proof of absence: each is a gap.
    pub fn evidence_gaps(&self) -> impl Iterator<Item = &Lookup> {
        self.evidence_lookups().filter(|l| l.outcome.is_failure())
    }

    /// True when lookups were asked and not one was answered: the capture holds no evidence
    /// at all (no resolver reachable), and must neither be stored nor assessed.
    pub fn nothing_answered(&self) -> bool {
        let mut asked = self.evidence_lookups().peekable();
        asked.peek().is_some() && self.evidence_lookups().all(|l| l.outcome.is_failure())
    }

    /// The stored lookup of `name`/`rtype`, if the capture asked it.
    pub fn get(&self, name: &str, rtype: Rtype) -> Option<&Lookup> {
        let name = normalize_name(name);
        self.lookups
            .iter()
            .find(|l| l.rtype == rtype && l.name == name)
    }

    /// TXT answers at `name` that start with `prefix` (case-insensitive), e.g. `v=spf1`.
    /// Returns `None` when the lookup was never made.
    pub fn txt_with_prefix(&self, name: &str, prefix: &str) -> Option<(&Lookup, Vec<&str>)> {
        let l = self.get(name, Rtype::Txt)?;
        let hits = l
            .answers
            .iter()
            .filter(|a| starts_with_tag(a, prefix))
            .map(String::as_str)
            .collect();
        Some((l, hits))
    }

    pub fn domain(&self, name: &str) -> Option<&ScopedDomain> {
        self.domains.iter().find(|d| d.name == name)
    }
}

/// `v=spf1` must be followed by a space or end; `v=DMARC1` by `;`, space or end.
pub fn starts_with_tag(text: &str, prefix: &str) -> bool {
    let t = text.trim_start();
    if t.len() < prefix.len() || !t.is_char_boundary(prefix.len()) {
        return false;
    }
    let (head, rest) = t.split_at(prefix.len());
    head.eq_ignore_ascii_case(prefix)
        && rest
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == ';' || c == '\t')
}

/// Lower-case, no trailing dot: the one spelling of a name used as a key everywhere.
pub fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_prefix_needs_a_boundary() {
        assert!(starts_with_tag("v=spf1 -all", "v=spf1"));
        assert!(starts_with_tag("V=SPF1", "v=spf1"));
        assert!(!starts_with_tag("v=spf10 -all", "v=spf1"));
        assert!(starts_with_tag("v=DMARC1; p=none", "v=dmarc1"));
        assert!(!starts_with_tag("é", "v=spf1"));
    }
}

#[cfg(test)]
mod reverse_tests {
    use super::*;

    #[test]
    fn reverse_names_round_trip() {
        for ip in ["192.0.2.45", "2001:db8::a:bc01", "::1", "255.255.255.255"] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let name = crate::records::spf_eval::reverse_name(ip);
            assert_eq!(ip_of_reverse_name(&name), Some(ip), "{name}");
            assert_eq!(
                ip_of_reverse_name(&format!("{}.", name.to_uppercase())),
                Some(ip)
            );
        }
        for bad in [
            "1.2.3.in-addr.arpa",
            "256.2.3.4.in-addr.arpa",
            "x.ip6.arpa",
            "example.com",
        ] {
            assert_eq!(ip_of_reverse_name(bad), None, "{bad}");
        }
    }
}

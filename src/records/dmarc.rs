//! DMARC record parser (RFC 9989, with RFC 7489 compatibility) and policy discovery.
//!
//! Receivers still run both specifications, so the parser accepts RFC 7489 tags that RFC 9989
//! removed (`pct`, `rf`, `ri`) and flags them, instead of treating them as unknown.

use serde::{Deserialize, Serialize};

use super::{Diagnostic, Level, Tag, clip, error, parse_tag_list, warning};
use crate::snapshot::{Outcome, Rtype, Snapshot, normalize_name, starts_with_tag};

/// Requested handling of failing mail, ordered by strength so "weaker than" is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    None,
    Quarantine,
    Reject,
}

impl Policy {
    /// Policy values are case-insensitive in practice; receivers accept `Reject`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
}

/// Identifier alignment mode (`adkim`, `aspf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Alignment {
    Relaxed,
    Strict,
}

/// The `psd` tag of RFC 9989: whether the record's domain is a Public Suffix Domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Psd {
    Yes,
    No,
    Unknown,
}

/// One destination from `rua` or `ruf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportUri {
    /// The URI as written, without the `!size` suffix.
    pub uri: String,
    /// Lower-case scheme, e.g. `mailto`.
    pub scheme: String,
    /// For `mailto:`, the address.
    pub address: Option<String>,
    /// For `mailto:`, the lower-case host part of the address (for external-destination checks).
    pub host: Option<String>,
    /// The `!size` limit in bytes, if given.
    pub max_size: Option<u64>,
    /// Byte offset of the URI in the record text.
    pub pos: usize,
}

/// A parsed DMARC policy record.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DmarcRecord {
    pub text: String,
    /// Tags in order; for duplicated tags only the first is kept.
    pub tags: Vec<Tag>,
    pub rua: Vec<ReportUri>,
    pub ruf: Vec<ReportUri>,
    pub diagnostics: Vec<Diagnostic>,
}

const REMOVED: &str = "removed in RFC 9989 (still honoured by RFC 7489 receivers)";

/// Parses DMARC record text. Never fails: problems are positioned diagnostics.
pub fn parse(text: &str) -> DmarcRecord {
    let mut diags = Vec::new();
    let tags = parse_tag_list(text, &mut diags);
    let mut rec = DmarcRecord {
        text: text.to_string(),
        ..Default::default()
    };

    match tags.first() {
        Some(t) if t.name == "v" => {
            if t.value != "DMARC1" {
                diags.push(error(
                    t.value_pos,
                    format!("version must be `DMARC1`, found `{}`", clip(&t.value)),
                ));
            }
        }
        Some(t) if t.name.eq_ignore_ascii_case("v") => {
            diags.push(error(t.pos, "tag names are case-sensitive: write `v`"));
        }
        _ => {
            let pos = tags.iter().find(|t| t.name == "v").map_or(0, |t| t.pos);
            diags.push(error(pos, "`v=DMARC1` must be the first tag"));
        }
    }

    for t in tags.iter().skip(1) {
        check_tag(t, &mut rec, &mut diags);
    }
    if !tags.iter().any(|t| t.name == "p") {
        diags.push(warning(
            text.len(),
            "no `p` tag: receivers treat the policy as `none` (RFC 9989 §4.7)",
        ));
    }
    diags.sort_by_key(|d| d.pos);
    rec.tags = tags;
    rec.diagnostics = diags;
    rec
}

fn check_tag(t: &Tag, rec: &mut DmarcRecord, diags: &mut Vec<Diagnostic>) {
    let bad = |diags: &mut Vec<Diagnostic>, expected: &str| {
        diags.push(error(
            t.value_pos,
            format!(
                "invalid `{}` value `{}`: expected {expected}",
                t.name,
                clip(&t.value)
            ),
        ));
    };
    let v = t.value.as_str();
    match t.name.as_str() {
        "v" => diags.push(error(t.pos, "`v` must appear only as the first tag")),
        "p" | "sp" | "np" => {
            if Policy::parse(v).is_none() {
                bad(diags, "none, quarantine or reject");
            }
        }
        "adkim" | "aspf" => {
            if !matches!(v, "r" | "s") {
                bad(diags, "r or s");
            }
        }
        "t" => {
            if !matches!(v, "y" | "n") {
                bad(diags, "y or n");
            }
        }
        "psd" => {
            if !matches!(v, "y" | "n" | "u") {
                bad(diags, "y, n or u");
            }
        }
        "fo" => {
            let ok = !v.is_empty()
                && v.split(':')
                    .all(|o| matches!(o.trim(), "0" | "1" | "d" | "s"));
            if !ok {
                bad(diags, "a colon-separated list of 0, 1, d, s");
            }
        }
        "pct" => {
            diags.push(warning(t.pos, format!("`pct` {REMOVED}")));
            if parse_int(v).is_none_or(|n| n > 100) {
                bad(diags, "an integer 0-100");
            }
        }
        "ri" => {
            diags.push(warning(t.pos, format!("`ri` {REMOVED}")));
            if parse_int(v).is_none_or(|n| n > u64::from(u32::MAX)) {
                bad(diags, "a number of seconds");
            }
        }
        "rf" => {
            diags.push(warning(t.pos, format!("`rf` {REMOVED}")));
            let ok = !v.is_empty()
                && v.split(':').all(|f| {
                    let f = f.trim();
                    !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !ok {
                bad(
                    diags,
                    "a colon-separated list of report formats such as afrf",
                );
            }
        }
        "rua" => rec.rua = report_uris(t, diags),
        "ruf" => rec.ruf = report_uris(t, diags),
        other => {
            if [
                "P", "SP", "NP", "RUA", "RUF", "PCT", "ADKIM", "ASPF", "FO", "RF", "RI", "T", "PSD",
            ]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(other))
            {
                diags.push(error(
                    t.pos,
                    format!(
                        "tag names are case-sensitive: `{other}` is not `{}`",
                        other.to_ascii_lowercase()
                    ),
                ));
            } else {
                diags.push(warning(
                    t.pos,
                    format!("unknown tag `{}` (ignored)", clip(other)),
                ));
            }
        }
    }
}

fn parse_int(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]`, comma-separated.
fn report_uris(t: &Tag, diags: &mut Vec<Diagnostic>) -> Vec<ReportUri> {
    let mut out = Vec::new();
    let mut off = 0usize;
    for raw in t.value.split(',') {
        let lead = raw.len() - raw.trim_start().len();
        let item = raw.trim();
        let pos = t.value_pos + off + lead;
        off += raw.len() + 1;
        if item.is_empty() {
            diags.push(error(pos, format!("empty URI in `{}`", t.name)));
            continue;
        }
        let (uri, size) = match item.rfind('!') {
            Some(i) => (&item[..i], Some((&item[i + 1..], pos + i))),
            None => (item, None),
        };
        let max_size = match size {
            None => None,
            Some((s, spos)) => match parse_size(s) {
                Some(n) => Some(n),
                None => {
                    diags.push(error(spos, format!("invalid size limit `!{}`", clip(s))));
                    continue;
                }
            },
        };
        let Some(colon) = uri.find(':') else {
            diags.push(error(
                pos,
                format!("`{}` is not a URI (expected mailto:…)", clip(uri)),
            ));
            continue;
        };
        let scheme = uri[..colon].to_ascii_lowercase();
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            diags.push(error(pos, format!("`{}` is not a URI", clip(uri))));
            continue;
        }
        let (address, host) = if scheme == "mailto" {
            let addr = uri[colon + 1..].split('?').next().unwrap_or_default();
            match addr.rsplit_once('@') {
                Some((local, host))
                    if !local.is_empty() && !host.is_empty() && host.contains('.') =>
                {
                    (Some(addr.to_string()), Some(normalize_name(host)))
                }
                _ => {
                    diags.push(error(
                        pos,
                        format!("`{}` is not a valid mailto: address", clip(uri)),
                    ));
                    continue;
                }
            }
        } else {
            diags.push(warning(
                pos,
                format!(
                    "`{scheme}:` report URIs are not supported by major receivers; use mailto:"
                ),
            ));
            (None, None)
        };
        out.push(ReportUri {
            uri: uri.to_string(),
            scheme,
            address,
            host,
            max_size,
            pos,
        });
    }
    out
}

fn parse_size(s: &str) -> Option<u64> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        Some(b't' | b'T') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    parse_int(digits)?.checked_mul(mult)
}

impl DmarcRecord {
    /// The first occurrence of tag `name` (names are case-sensitive).
    pub fn tag(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name)
    }

    fn policy_tag(&self, name: &str) -> Option<Policy> {
        self.tag(name).and_then(|t| Policy::parse(&t.value))
    }

    /// Domain policy; `none` when absent or invalid, as receivers apply it.
    pub fn p(&self) -> Policy {
        self.policy_tag("p").unwrap_or(Policy::None)
    }

    /// Subdomain policy, defaulting to `p`.
    pub fn sp(&self) -> Policy {
        self.policy_tag("sp").unwrap_or_else(|| self.p())
    }

    /// Non-existent subdomain policy, defaulting to `sp`, then `p`.
    pub fn np(&self) -> Policy {
        self.policy_tag("np").unwrap_or_else(|| self.sp())
    }

    /// RFC 7489 sampling rate; 100 when absent or invalid.
    pub fn pct(&self) -> u8 {
        self.tag("pct")
            .and_then(|t| parse_int(&t.value))
            .filter(|&n| n <= 100)
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(100)
    }

    /// RFC 9989 `t=y`: receivers apply one policy level below `p`.
    pub fn testing(&self) -> bool {
        self.tag("t").is_some_and(|t| t.value == "y")
    }

    pub fn psd(&self) -> Option<Psd> {
        self.tag("psd").and_then(|t| match t.value.as_str() {
            "y" => Some(Psd::Yes),
            "n" => Some(Psd::No),
            "u" => Some(Psd::Unknown),
            _ => None,
        })
    }

    pub fn adkim(&self) -> Alignment {
        alignment(self.tag("adkim"))
    }

    pub fn aspf(&self) -> Alignment {
        alignment(self.tag("aspf"))
    }

    /// `v=DMARC1` first and no Error diagnostics.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(|d| d.level == Level::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Warning)
    }
}

fn alignment(t: Option<&Tag>) -> Alignment {
    match t {
        Some(t) if t.value == "s" => Alignment::Strict,
        _ => Alignment::Relaxed,
    }
}

/// Whether two names belong to the same organization: one is the other or a subdomain of it,
/// or they have the same registrable domain under the Public Suffix List. RFC 7489 §7.1 /
/// RFC 9990 §3 only require the `_report._dmarc` authorization when the destination is in a
/// different Organizational Domain, so a provider's private suffix (each customer its own
/// organization) must not read as "same".
pub fn same_organization(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_name(a), normalize_name(b));
    a == b
        || a.ends_with(&format!(".{b}"))
        || b.ends_with(&format!(".{a}"))
        || crate::suffix::same_organization(&a, &b)
}

/// The name a report destination publishes to accept reports about `domain`
/// (RFC 7489 §7.1, RFC 9990 §3): `<domain>._report._dmarc.<host>`.
pub fn report_authorization_name(domain: &str, host: &str) -> String {
    format!(
        "{}._report._dmarc.{}",
        normalize_name(domain),
        normalize_name(host)
    )
}

/// `rua`/`ruf` `mailto:` hosts of a record published for `domain` that lie in another
/// organization, each with the authorization name to ask.
pub fn external_destinations(rec: &DmarcRecord, domain: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for u in rec.rua.iter().chain(&rec.ruf) {
        if let Some(h) = &u.host
            && !same_organization(h, domain)
            && !out.iter().any(|(x, _)| x == h)
        {
            out.push((h.clone(), report_authorization_name(domain, h)));
        }
    }
    out
}

/// Outcome of DMARC policy discovery for one author domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryStatus {
    /// A single valid record applies.
    Found,
    /// No record at the domain or any parent the walk visits.
    Missing,
    /// Several `v=DMARC1` records were discarded and no other record applies.
    Multiple,
    /// The record that applies has errors.
    Invalid,
    /// A lookup the answer depends on failed or was never captured.
    Incomplete,
}

/// Where the DMARC policy for a domain comes from, per RFC 9989 §4.10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DmarcDiscovery {
    pub domain: String,
    pub status: DiscoveryStatus,
    /// Text of the record that applies.
    pub record: Option<String>,
    /// The parsed record that applies.
    pub parsed: Option<DmarcRecord>,
    /// The `_dmarc.` name the record was found at.
    pub location: Option<String>,
    /// Organizational Domain per RFC 9989 §4.10.2.
    pub org_domain: String,
    /// `_dmarc.` names whose several `v=DMARC1` records were all discarded.
    pub multiple_at: Vec<String>,
    /// `_dmarc.` names the walk needed that are not in the snapshot.
    pub not_captured: Vec<String>,
    /// Lookups that ended in SERVFAIL, REFUSED, timeout or another error.
    pub failed_lookups: Vec<(String, Outcome)>,
}

/// The `_dmarc.` names the RFC 9989 §4.10 tree walk for `domain` may query, in walk order, so
/// the capture can ask every one of them. The TLD is not queried.
pub fn tree_walk_names(domain: &str) -> Vec<String> {
    walk_domains(domain)
        .into_iter()
        .map(|d| format!("_dmarc.{d}"))
        .collect()
}

/// The domains the tree walk visits: the domain itself, then (jumping to the last seven
/// labels when it has eight or more) one label shorter each step, stopping before the TLD.
fn walk_domains(domain: &str) -> Vec<String> {
    let name = normalize_name(domain);
    if name.is_empty() {
        return Vec::new();
    }
    let labels: Vec<&str> = name.split('.').collect();
    let mut out = vec![name.clone()];
    // After the first query the walk continues at 7 labels at most, then one label less each
    // step, down to two labels (the TLD is not queried).
    let mut n = labels.len().min(8);
    while n > 2 {
        n -= 1;
        out.push(labels[labels.len() - n..].join("."));
    }
    out
}

/// The name one label longer than `psd`, taken from the right end of `start`.
fn one_label_below(start: &str, psd: &str) -> String {
    let want = psd.split('.').count() + 1;
    let labels: Vec<&str> = start.split('.').collect();
    if labels.len() >= want {
        labels[labels.len() - want..].join(".")
    } else {
        start.to_string()
    }
}

enum AtName {
    One(String),
    None,
    Multiple,
    Failed(Outcome),
    NotCaptured,
}

fn dmarc_at(snap: &Snapshot, name: &str) -> AtName {
    match snap.get(name, Rtype::Txt) {
        None => AtName::NotCaptured,
        Some(l) if l.outcome.is_failure() => AtName::Failed(l.outcome),
        Some(l) if l.outcome != Outcome::Answer => AtName::None,
        Some(l) => {
            let hits: Vec<&String> = l
                .answers
                .iter()
                .filter(|a| starts_with_tag(a, "v=DMARC1"))
                .collect();
            match hits.as_slice() {
                [] => AtName::None,
                [one] => AtName::One(one.to_string()),
                _ => AtName::Multiple,
            }
        }
    }
}

/// Finds the DMARC record that applies to `domain` and its Organizational Domain, reading only
/// the `_dmarc.` TXT lookups stored in the snapshot.
pub fn discover(domain: &str, snap: &Snapshot) -> DmarcDiscovery {
    let domains = walk_domains(domain);
    let mut d = DmarcDiscovery {
        domain: normalize_name(domain),
        status: DiscoveryStatus::Missing,
        record: None,
        parsed: None,
        location: None,
        org_domain: normalize_name(domain),
        multiple_at: Vec::new(),
        not_captured: Vec::new(),
        failed_lookups: Vec::new(),
    };
    // (domain, record) for every single record on the way up; collected once, used twice.
    let mut found: Vec<(usize, String, DmarcRecord)> = Vec::new();
    // Index of the first name whose lookup failed or was not captured.
    let mut first_gap: Option<usize> = None;
    for (i, dom) in domains.iter().enumerate() {
        let name = format!("_dmarc.{dom}");
        match dmarc_at(snap, &name) {
            AtName::One(text) => {
                let parsed = parse(&text);
                found.push((i, text, parsed));
            }
            AtName::None => {}
            AtName::Multiple => d.multiple_at.push(name),
            AtName::Failed(o) => {
                d.failed_lookups.push((name, o));
                first_gap.get_or_insert(i);
            }
            AtName::NotCaptured => {
                d.not_captured.push(name);
                first_gap.get_or_insert(i);
            }
        }
    }

    // Policy discovery: the first record on the way up, unless a gap comes before it.
    match found.first() {
        Some((i, text, parsed)) if first_gap.is_none_or(|g| g > *i) => {
            d.location = Some(format!("_dmarc.{}", domains[*i]));
            d.record = Some(text.clone());
            d.status = if parsed.is_valid() {
                DiscoveryStatus::Found
            } else {
                DiscoveryStatus::Invalid
            };
            d.parsed = Some(parsed.clone());
        }
        _ if first_gap.is_some() => d.status = DiscoveryStatus::Incomplete,
        _ if !d.multiple_at.is_empty() => d.status = DiscoveryStatus::Multiple,
        _ => d.status = DiscoveryStatus::Missing,
    }

    // Organizational Domain (RFC 9989 §4.10.2): the first psd=n, or one label below the first
    // psd=y above the start, else the valid record with the fewest labels, else the domain.
    let valid: Vec<usize> = found
        .iter()
        .filter(|(_, _, p)| p.is_valid())
        .map(|(i, _, _)| *i)
        .collect();
    let mut org = None;
    for (i, _, p) in found.iter().filter(|(_, _, p)| p.is_valid()) {
        match p.psd() {
            Some(Psd::No) => {
                org = Some(domains[*i].clone());
                break;
            }
            Some(Psd::Yes) if *i != 0 => {
                org = Some(one_label_below(&domains[0], &domains[*i]));
                break;
            }
            _ => {}
        }
    }
    if let Some(o) = org.or_else(|| valid.last().map(|&i| domains[i].clone())) {
        d.org_domain = o;
    }
    tracing::debug!(domain = %d.domain, status = ?d.status, org = %d.org_domain, "DMARC discovery");
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Outcome::{Answer, Nodata, Nxdomain, Servfail};
    use crate::snapshot::Rtype::Txt;

    fn errs(r: &DmarcRecord) -> Vec<(usize, String)> {
        r.errors().map(|d| (d.pos, d.message.clone())).collect()
    }

    #[test]
    fn full_record_with_defaults() {
        let r = parse(
            "v=DMARC1; p=reject; rua=mailto:dmarc@example.com,mailto:agg@vendor.test!10m; \
             ruf=mailto:forensic@example.com; adkim=s; fo=1:d",
        );
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.p(), Policy::Reject);
        assert_eq!(r.sp(), Policy::Reject, "sp defaults to p");
        assert_eq!(r.np(), Policy::Reject, "np defaults to sp, then p");
        assert_eq!(r.pct(), 100);
        assert!(!r.testing());
        assert_eq!(r.adkim(), Alignment::Strict);
        assert_eq!(r.aspf(), Alignment::Relaxed);
        assert_eq!(r.psd(), None);
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.rua[0].address.as_deref(), Some("dmarc@example.com"));
        assert_eq!(r.rua[0].host.as_deref(), Some("example.com"));
        assert_eq!(r.rua[0].pos, 24);
        assert_eq!(r.rua[1].host.as_deref(), Some("vendor.test"));
        assert_eq!(r.rua[1].max_size, Some(10 * 1024 * 1024));
        assert_eq!(r.rua[1].uri, "mailto:agg@vendor.test");
        assert_eq!(r.ruf.len(), 1);
        assert_eq!(r.tag("p").map(|t| (t.pos, t.value_pos)), Some((10, 12)));
    }

    #[test]
    fn policy_order_and_fallbacks() {
        assert!(Policy::None < Policy::Quarantine && Policy::Quarantine < Policy::Reject);
        let r = parse("v=DMARC1; p=reject; sp=none");
        assert_eq!(
            (r.p(), r.sp(), r.np()),
            (Policy::Reject, Policy::None, Policy::None)
        );
        let r = parse("v=DMARC1; p=quarantine; np=reject; t=y");
        assert_eq!((r.sp(), r.np()), (Policy::Quarantine, Policy::Reject));
        assert!(r.testing());
        let r = parse("v=DMARC1; rua=mailto:a@b.test");
        assert_eq!(r.p(), Policy::None);
        assert!(r.is_valid(), "missing p is a warning only");
        assert_eq!(r.warnings().count(), 1);
    }

    #[test]
    fn version_must_be_first() {
        let r = parse("p=none; v=DMARC1");
        assert!(!r.is_valid());
        assert_eq!(errs(&r)[0].0, 8);
        assert!(errs(&r).iter().any(|(_, m)| m.contains("first")));
        let r = parse("v=DMARC2; p=none");
        assert_eq!(
            errs(&r),
            vec![(2, "version must be `DMARC1`, found `DMARC2`".to_string())]
        );
        let r = parse("v=DMARC1 p=none");
        assert!(!r.is_valid(), "a missing `;` glues p into the version");
        assert!(!parse("").is_valid());
    }

    #[test]
    fn invalid_values_are_errors_at_the_value() {
        for (rec, pos) in [
            ("v=DMARC1; p=rejected", 12),
            ("v=DMARC1; p=none; sp=Block", 21),
            ("v=DMARC1; p=none; np=", 21),
            ("v=DMARC1; p=none; adkim=x", 24),
            ("v=DMARC1; p=none; aspf=relaxed", 23),
            ("v=DMARC1; p=none; t=yes", 20),
            ("v=DMARC1; p=none; psd=maybe", 22),
            ("v=DMARC1; p=none; fo=2", 21),
            ("v=DMARC1; p=none; pct=101", 22),
            ("v=DMARC1; p=none; pct=-5", 22),
            ("v=DMARC1; p=none; ri=soon", 21),
            ("v=DMARC1; p=none; rua=dmarc@example.com", 22),
            ("v=DMARC1; p=none; rua=mailto:nobody", 22),
            ("v=DMARC1; p=none; rua=mailto:a@b.test!10x", 37),
            ("v=DMARC1; p=none; rua=mailto:a@b.test,,mailto:c@d.test", 38),
        ] {
            let r = parse(rec);
            let e = errs(&r);
            assert_eq!(e.len(), 1, "{rec}: {e:?}");
            assert_eq!(e[0].0, pos, "{rec}: {e:?}");
        }
    }

    #[test]
    fn removed_unknown_and_duplicate_tags() {
        let r = parse("v=DMARC1; p=none; pct=50; rf=afrf; ri=86400; foo=bar");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.pct(), 50);
        let w: Vec<(usize, String)> = r.warnings().map(|d| (d.pos, d.message.clone())).collect();
        assert_eq!(w.len(), 4, "{w:?}");
        assert_eq!(w[0].0, 18);
        assert!(
            w[0].1
                .contains("removed in RFC 9989 (still honoured by RFC 7489 receivers)")
        );
        assert!(w[3].1.contains("unknown tag `foo`"));

        let r = parse("v=DMARC1; p=none; p=reject");
        assert_eq!(errs(&r).len(), 1);
        assert_eq!(errs(&r)[0].0, 18);
        assert_eq!(r.p(), Policy::None, "first occurrence kept");

        let r = parse("v=DMARC1; P=reject");
        assert!(!r.is_valid(), "tag names are case-sensitive");
    }

    #[test]
    fn non_mailto_uris_are_kept_with_a_warning() {
        let r = parse("v=DMARC1; p=none; rua=https://example.com/r, mailto:x@y.test!5");
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        assert_eq!(r.rua.len(), 2);
        assert_eq!(r.rua[0].scheme, "https");
        assert_eq!(r.rua[0].address, None);
        assert_eq!(r.rua[1].pos, 45);
        assert_eq!(r.rua[1].max_size, Some(5));
    }

    #[test]
    fn walk_names_skip_the_tld_and_jump_long_names() {
        assert_eq!(
            tree_walk_names("Mail.Example.COM."),
            vec!["_dmarc.mail.example.com", "_dmarc.example.com"]
        );
        assert_eq!(tree_walk_names("example.com"), vec!["_dmarc.example.com"]);
        assert_eq!(tree_walk_names("localhost"), vec!["_dmarc.localhost"]);
        assert!(tree_walk_names("").is_empty());
        let long = "a.b.c.d.e.f.g.h.i.example.com";
        let names = tree_walk_names(long);
        assert_eq!(names.len(), 7);
        assert_eq!(names[0], format!("_dmarc.{long}"));
        assert_eq!(names[1], "_dmarc.e.f.g.h.i.example.com", "jump to 7 labels");
        assert_eq!(names[6], "_dmarc.example.com");
        assert!(names.len() <= 8);
    }

    #[test]
    fn discovery_at_the_domain_and_by_walking_up() {
        let s = snapshot(&[
            (
                "_dmarc.example.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:d@example.test"],
            ),
            ("_dmarc.mail.example.test", Txt, Nxdomain, &[]),
            (
                "_dmarc.deep.mail.example.test",
                Txt,
                Answer,
                &["some other text"],
            ),
        ]);
        let d = discover("example.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Found);
        assert_eq!(d.location.as_deref(), Some("_dmarc.example.test"));
        assert_eq!(d.org_domain, "example.test");
        assert_eq!(d.parsed.as_ref().map(DmarcRecord::p), Some(Policy::Reject));

        let d = discover("deep.mail.example.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Found);
        assert_eq!(d.location.as_deref(), Some("_dmarc.example.test"));
        assert_eq!(d.org_domain, "example.test");
        assert!(d.failed_lookups.is_empty() && d.not_captured.is_empty());
    }

    #[test]
    fn discovery_multiple_invalid_missing_incomplete() {
        let s = snapshot(&[
            (
                "_dmarc.two.test",
                Txt,
                Answer,
                &["v=DMARC1; p=none", "v=DMARC1; p=reject"],
            ),
            ("_dmarc.bad.test", Txt, Answer, &["v=DMARC1; p=maybe"]),
            ("_dmarc.none.test", Txt, Nodata, &[]),
            ("_dmarc.flaky.test", Txt, Servfail, &[]),
            (
                "_dmarc.sub.ok.test",
                Txt,
                Answer,
                &["v=DMARC1; p=none", "v=DMARC1; p=none"],
            ),
            ("_dmarc.ok.test", Txt, Answer, &["v=DMARC1; p=quarantine"]),
        ]);
        let d = discover("two.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Multiple);
        assert_eq!(d.record, None);
        assert_eq!(d.multiple_at, vec!["_dmarc.two.test"]);

        let d = discover("bad.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Invalid);
        assert_eq!(d.record.as_deref(), Some("v=DMARC1; p=maybe"));

        assert_eq!(discover("none.test", &s).status, DiscoveryStatus::Missing);

        let d = discover("flaky.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Incomplete);
        assert_eq!(
            d.failed_lookups,
            vec![("_dmarc.flaky.test".to_string(), Servfail)]
        );

        // Never captured: incomplete, not missing.
        let d = discover("x.none.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Incomplete);
        assert_eq!(d.not_captured, vec!["_dmarc.x.none.test"]);

        // Multiple at the subdomain are discarded; the parent's record applies.
        let d = discover("sub.ok.test", &s);
        assert_eq!(d.status, DiscoveryStatus::Found);
        assert_eq!(d.location.as_deref(), Some("_dmarc.ok.test"));
        assert_eq!(d.multiple_at, vec!["_dmarc.sub.ok.test"]);
    }

    #[test]
    fn organizational_domain_honours_psd() {
        let s = snapshot(&[
            ("_dmarc.a.b.corp.example.test", Txt, Nxdomain, &[]),
            ("_dmarc.b.corp.example.test", Txt, Nxdomain, &[]),
            ("_dmarc.corp.example.test", Txt, Nxdomain, &[]),
            (
                "_dmarc.example.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; psd=y"],
            ),
            ("_dmarc.x.dept.org.test", Txt, Answer, &["v=DMARC1; p=none"]),
            (
                "_dmarc.dept.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; psd=n"],
            ),
            ("_dmarc.org.test", Txt, Answer, &["v=DMARC1; p=reject"]),
        ]);
        let d = discover("a.b.corp.example.test", &s);
        assert_eq!(d.location.as_deref(), Some("_dmarc.example.test"));
        assert_eq!(d.org_domain, "corp.example.test", "one label below the PSD");

        let d = discover("x.dept.org.test", &s);
        assert_eq!(d.location.as_deref(), Some("_dmarc.x.dept.org.test"));
        assert_eq!(d.org_domain, "dept.org.test", "psd=n stops the walk");

        // Without psd tags the record with the fewest labels wins.
        let s = snapshot(&[
            ("_dmarc.x.plain.test", Txt, Answer, &["v=DMARC1; p=none"]),
            ("_dmarc.plain.test", Txt, Answer, &["v=DMARC1; p=reject"]),
        ]);
        assert_eq!(discover("x.plain.test", &s).org_domain, "plain.test");
        // No record anywhere: the domain itself.
        let s = snapshot(&[("_dmarc.lonely.test", Txt, Nxdomain, &[])]);
        assert_eq!(discover("lonely.test", &s).org_domain, "lonely.test");
    }

    #[test]
    fn hostile_records_never_panic() {
        for t in [
            ";;;",
            "=",
            "v=",
            "v=DMARC1;rua=",
            "v=DMARC1; rua=!",
            "v=DMARC1; rua=mailto:@",
            "v=DMARC1; rua=mailto:a@b.c!99999999999999t",
            "v=DMARC1; pct=99999999999999999999",
            "v=DMARC1; é=1",
            "v=DMARC1; p=\u{0}",
            "\u{feff}v=DMARC1",
        ] {
            let r = parse(t);
            assert!(!r.is_valid(), "{t:?}");
        }
    }
}

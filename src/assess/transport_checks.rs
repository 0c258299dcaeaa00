//! Transport checks: what a sender meets when it delivers mail to our domains (the
//! interception risk of §164.312(e)). They read the snapshot only: its DNS answers (MX,
//! `_mta-sts`, `_smtp._tls`, TLSA) and its transport section (the policy as fetched, the
//! STARTTLS probes). A snapshot without a transport section is "not assessed", never clean,
//! and a probe that could not connect is NET-001, never "no STARTTLS".

use crate::config::{DomainConfig, Role};
use crate::evidence::Finding;
use crate::records::mta_sts::{self, MAX_AGE_LIMIT, Mode};
use crate::records::tls_rpt;
use crate::snapshot::dnssec::DnssecStatus;
use crate::snapshot::{Outcome as Dns, Rtype, Snapshot, normalize_name};
use crate::transport::{Outcome, PolicyFetch, SmtpProbe, TransportCapture};

use super::basis::Harm;
use super::finding::Draft;
use super::risk::Level;

/// Under one week a policy expires between two monthly runs of a sender's cache refresh: a
/// tool heuristic (RFC 8461 §3.2 expects "weeks or greater").
pub const MIN_MAX_AGE: u64 = 604_800;

/// Lines of an SMTP transcript quoted in a finding.
const TRANSCRIPT_LINES: usize = 8;

/// One domain's MX hosts as the snapshot has them.
struct MxSet {
    hosts: Vec<String>,
    null: bool,
    /// The MX lookup failed: nothing about the domain's mail hosts is known (DNS-001).
    failed: bool,
    absent: bool,
}

fn mx_set(snap: &Snapshot, domain: &str) -> MxSet {
    let Some(l) = snap.get(domain, Rtype::Mx) else {
        return MxSet {
            hosts: vec![],
            null: false,
            failed: true,
            absent: false,
        };
    };
    let mut hosts: Vec<(u16, String)> = l
        .answers
        .iter()
        .filter_map(|a| {
            let mut parts = a.split_whitespace();
            let pref = parts.next()?.parse().ok()?;
            Some((pref, normalize_name(parts.next()?)))
        })
        .collect();
    hosts.sort();
    let null = hosts.len() == 1 && hosts[0].1.is_empty();
    MxSet {
        hosts: hosts
            .into_iter()
            .map(|(_, h)| h)
            .filter(|h| !h.is_empty())
            .collect(),
        null,
        failed: l.outcome.is_failure(),
        absent: l.outcome.is_absent(),
    }
}

pub fn assess(domains: &[DomainConfig], snap: &Snapshot, label: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in domains {
        let mx = mx_set(snap, &d.name);
        if mx.failed {
            continue;
        }
        if d.role == Role::Parked {
            parked(d, snap, &mx, label, &mut out);
        }
        if mx.hosts.is_empty() {
            continue;
        }
        mta_sts(d, snap, &mx, label, &mut out);
        // A valid record announces a policy, fetched or not.
        let announced = snap
            .get(&format!("_mta-sts.{}", d.name), Rtype::Txt)
            .is_some_and(|l| {
                l.answers
                    .iter()
                    .any(|a| mta_sts::is_sts_record(a) && mta_sts::parse_record(a).is_valid())
            });
        tls_rpt(d, snap, announced, label, &mut out);
        if let Some(t) = &snap.transport {
            smtp(d, t, &mx, label, &mut out);
            dane(d, snap, t, &mx, label, &mut out);
        }
    }
    out
}

/// MX-001 and PARK-001: a domain that sends and receives nothing says so in DNS.
fn parked(d: &DomainConfig, snap: &Snapshot, mx: &MxSet, label: &str, out: &mut Vec<Finding>) {
    if mx.absent {
        out.push(
            Draft::new("MX-001", d.name.clone())
                .domain(&d.name)
                .title(format!(
                    "Parked domain {} has no MX and no null MX: senders may fall back to its address records (RFC 5321 §5.1) and retry for days",
                    d.name
                ))
                .evidence(format!(
                    "{} MX → {}",
                    d.name,
                    snap.get(&d.name, Rtype::Mx)
                        .map_or("not captured", |l| l.outcome.label())
                ))
                .build(label),
        );
    }
    let txt = |name: &str| -> Option<(Dns, Vec<String>)> {
        snap.get(name, Rtype::Txt)
            .map(|l| (l.outcome, l.answers.clone()))
    };
    let mut missing: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut have: Vec<String> = Vec::new();
    // SPF: exactly `v=spf1 -all`.
    match txt(&d.name) {
        Some((o, _)) if o.is_failure() => unknown.push("SPF (lookup failed)".into()),
        Some((_, answers)) => {
            let spf: Vec<String> = answers
                .iter()
                .filter(|a| crate::snapshot::starts_with_tag(a, "v=spf1"))
                .map(|a| {
                    a.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_ascii_lowercase()
                })
                .collect();
            if spf.len() == 1 && spf[0] == "v=spf1 -all" {
                have.push("`v=spf1 -all`".into());
            } else {
                missing.push(match spf.as_slice() {
                    [] => "`v=spf1 -all` (no SPF record)".to_string(),
                    [one] => format!("`v=spf1 -all` (published: `{one}`)"),
                    _ => format!("`v=spf1 -all` ({} SPF records, a permerror)", spf.len()),
                });
            }
        }
        None => unknown.push("SPF (not captured)".into()),
    }
    // DMARC p=reject, at the domain itself.
    match txt(&format!("_dmarc.{}", d.name)) {
        Some((o, _)) if o.is_failure() => unknown.push("DMARC (lookup failed)".into()),
        Some((_, answers)) => {
            let recs: Vec<crate::records::dmarc::DmarcRecord> = answers
                .iter()
                .filter(|a| crate::snapshot::starts_with_tag(a, "v=DMARC1"))
                .map(|a| crate::records::dmarc::parse(a))
                .collect();
            let reject = recs.len() == 1
                && recs[0].p() == crate::records::dmarc::Policy::Reject
                && recs[0].is_valid();
            if reject {
                have.push("DMARC `p=reject`".into());
            } else {
                missing.push(match recs.len() {
                    0 => "DMARC `p=reject` (no DMARC record)".to_string(),
                    1 => "DMARC `p=reject` (the record does not reject)".to_string(),
                    n => format!("DMARC `p=reject` ({n} DMARC records: all are discarded)"),
                });
            }
        }
        None => unknown.push("DMARC (not captured)".into()),
    }
    if mx.null {
        have.push("null MX".into());
    } else if mx.hosts.is_empty() {
        missing.push("null MX `MX 0 .` (no MX at all)".into());
    } else {
        missing.push(format!(
            "null MX `MX 0 .` (MX hosts published: {})",
            crate::text::and_list(&mx.hosts)
        ));
    }
    match txt(&format!("*._domainkey.{}", d.name)) {
        Some((o, _)) if o.is_failure() => unknown.push("wildcard DKIM (lookup failed)".into()),
        Some((_, answers)) => {
            let revoked = answers.iter().any(|a| {
                crate::records::dkim::is_key_record(a)
                    && crate::records::dkim::parse(a).status
                        == crate::records::dkim::DkimStatus::Revoked
            });
            if revoked {
                have.push("wildcard revoked DKIM key".into());
            } else {
                missing.push("`*._domainkey` `v=DKIM1; p=` (no revoked wildcard key)".into());
            }
        }
        None => unknown.push("wildcard DKIM (not captured in this snapshot)".into()),
    }
    if missing.is_empty() {
        return;
    }
    let mut draft = Draft::new("PARK-001", d.name.clone())
        .domain(&d.name)
        .title(if missing.len() == 4 {
            format!(
                "Parked domain {} has none of the four lock-down records",
                d.name
            )
        } else {
            format!(
                "Parked domain {} lacks {} of the four lock-down records",
                d.name,
                missing.len()
            )
        })
        .evidence_all(missing.iter().map(|m| format!("missing: {m}")));
    if !have.is_empty() {
        draft = draft.evidence(format!("present: {}", crate::text::and_list(&have)));
    }
    if !unknown.is_empty() {
        draft = draft.evidence(format!(
            "not determined: {}",
            crate::text::and_list(&unknown)
        ));
    }
    out.push(draft.build(label));
}

/// STS-001…004 for one domain that receives mail; the policy when one applies.
fn mta_sts(
    d: &DomainConfig,
    snap: &Snapshot,
    mx: &MxSet,
    label: &str,
    out: &mut Vec<Finding>,
) -> Option<mta_sts::StsPolicy> {
    let name = format!("_mta-sts.{}", d.name);
    let l = snap.get(&name, Rtype::Txt)?;
    if l.outcome.is_failure() {
        // DNS-001 says so; nothing is known about the policy.
        return None;
    }
    let records: Vec<&String> = l
        .answers
        .iter()
        .filter(|a| mta_sts::is_sts_record(a))
        .collect();
    let sts = |title: String| {
        Draft::new("STS-001", d.name.clone())
            .domain(&d.name)
            .title(title)
    };
    let record = match records.as_slice() {
        [] => {
            out.push(
                sts(format!(
                    "{} publishes no MTA-STS policy: senders cannot require TLS for its mail",
                    d.name
                ))
                .evidence(format!("{name} TXT → {}", l.outcome.label()))
                .build(label),
            );
            return None;
        }
        [one] => mta_sts::parse_record(one),
        many => {
            out.push(
                sts(format!(
                    "{} publishes {} MTA-STS records: senders discard them all",
                    d.name,
                    many.len()
                ))
                .evidence_all(many.iter().map(|r| format!("{name} TXT \"{r}\"")))
                .build(label),
            );
            return None;
        }
    };
    if !record.is_valid() {
        out.push(
            sts(format!(
                "The MTA-STS record of {} is invalid: senders ignore it",
                d.name
            ))
            .evidence(format!("{name} TXT \"{}\"", record.text))
            .evidence_all(record.diagnostics.iter().map(|x| x.to_string()))
            .build(label),
        );
        return None;
    }
    // The policy, as a sender fetched it.
    let transport = snap.transport.as_ref()?;
    let fetch = transport
        .sts_policies
        .iter()
        .find(|f| f.domain.eq_ignore_ascii_case(&d.name))?;
    if fetch.outcome.is_failure() {
        out.push(unreachable_policy(d, fetch, label));
        return None;
    }
    let s3 = |title: String| {
        Draft::new("STS-003", format!("{} policy", d.name))
            .domain(&d.name)
            .title(title)
            .evidence(format!("GET {} → {}", fetch.url, fetch_summary(fetch)))
    };
    if fetch.outcome != Outcome::Ok {
        let mut draft = s3(format!(
            "The MTA-STS policy of {} cannot be fetched as senders fetch it: {}",
            d.name,
            fetch.error.as_deref().unwrap_or(fetch.outcome.label())
        ));
        if let Some(c) = &fetch.certificate {
            draft = draft.evidence_all(certificate_lines(c));
        }
        if let Some(b) = &fetch.body {
            draft = draft.evidence(format!(
                "body: {}",
                crate::text::excerpt(&b.replace('\n', " ⏎ "), 160)
            ));
        }
        out.push(draft.build(label));
        return None;
    }
    let body = fetch.body.clone().unwrap_or_default();
    let policy = mta_sts::parse_policy(&body);
    let quoted: Vec<String> = body
        .lines()
        .take(12)
        .map(|l| format!("policy: {}", crate::text::excerpt(l, 120)))
        .collect();
    if !policy.is_valid() {
        out.push(
            s3(format!(
                "The MTA-STS policy of {} is invalid: senders do not apply it",
                d.name
            ))
            .evidence_all(quoted.clone())
            .evidence_all(policy.diagnostics.iter().map(|x| x.message.clone()))
            .build(label),
        );
        return None;
    }
    let mode = policy.mode.unwrap_or(Mode::None);
    let uncovered: Vec<&String> = mx.hosts.iter().filter(|h| !policy.covers(h)).collect();
    if !uncovered.is_empty() && mode != Mode::None {
        let patterns: Vec<&str> = policy.mx.iter().map(|p| p.pattern.as_str()).collect();
        let mut draft = s3(format!(
            "The MTA-STS policy of {} does not cover {}",
            d.name,
            crate::text::and_list(&uncovered)
        ))
        .evidence_all(quoted.clone())
        .evidence(format!(
            "MX hosts: {}; policy patterns: {}",
            crate::text::and_list(&mx.hosts),
            crate::text::and_list(&patterns)
        ));
        draft = if mode == Mode::Enforce {
            // RFC 8461 §5.1: a sender applying an enforced policy refuses an MX no pattern
            // matches, so mail routed there is not delivered.
            draft.harm(Harm::Delivery).exposure(
                Level::High,
                format!(
                    "the policy enforces: senders that apply it refuse to deliver to {}",
                    crate::text::and_list(&uncovered)
                ),
            )
        } else {
            draft.exposure(
                Level::Moderate,
                "the policy is in testing mode: senders report the mismatch but still deliver",
            )
        };
        out.push(draft.build(label));
    }
    if mode != Mode::Enforce {
        out.push(
            Draft::new("STS-002", format!("{} policy", d.name))
                .domain(&d.name)
                .title(format!(
                    "The MTA-STS policy of {} is in mode {}: senders still deliver when TLS fails or is stripped",
                    d.name,
                    mode.as_str()
                ))
                .evidence_all(quoted.clone())
                .build(label),
        );
    }
    if let Some(age) = policy
        .max_age
        .filter(|a| *a > MAX_AGE_LIMIT || *a < MIN_MAX_AGE)
    {
        out.push(
            Draft::new("STS-004", format!("{} policy", d.name))
                .domain(&d.name)
                .title(format!(
                    "The MTA-STS max_age of {} is {age} seconds ({}): outside {MIN_MAX_AGE} to {MAX_AGE_LIMIT}",
                    d.name,
                    if age > MAX_AGE_LIMIT { "over a year" } else { "under a week" }
                ))
                .evidence_all(quoted)
                .build(label),
        );
    }
    Some(policy)
}

fn fetch_summary(f: &PolicyFetch) -> String {
    let mut s = f.outcome.label().to_string();
    if let Some(st) = f.status {
        s.push_str(&format!(", HTTP {st}"));
    }
    if let Some(ct) = &f.content_type {
        s.push_str(&format!(", Content-Type {ct}"));
    }
    if let Some(loc) = &f.location {
        s.push_str(&format!(", Location {loc}"));
    }
    if let Some(a) = &f.address {
        s.push_str(&format!(" (from {a})"));
    }
    s
}

fn unreachable_policy(d: &DomainConfig, f: &PolicyFetch, label: &str) -> Finding {
    Draft::new("NET-001", format!("mta-sts.{}", d.name))
        .domain(&d.name)
        .title(format!(
            "The MTA-STS policy host of {} could not be reached ({}): the policy checks are indeterminate",
            d.name,
            f.outcome.label()
        ))
        .evidence(format!(
            "GET {} → {}: {}",
            f.url,
            f.outcome.label(),
            f.error.as_deref().unwrap_or("")
        ))
        .build(label)
}

/// TLSRPT-001: no (usable) TLS reporting record.
fn tls_rpt(d: &DomainConfig, snap: &Snapshot, sts: bool, label: &str, out: &mut Vec<Finding>) {
    let name = format!("_smtp._tls.{}", d.name);
    let Some(l) = snap.get(&name, Rtype::Txt) else {
        return;
    };
    if l.outcome.is_failure() {
        return;
    }
    let records: Vec<&String> = l
        .answers
        .iter()
        .filter(|a| tls_rpt::is_tls_rpt_record(a))
        .collect();
    let problem = match records.as_slice() {
        [] => Some((
            format!("{} publishes no TLS-RPT record", d.name),
            vec![format!("{name} TXT → {}", l.outcome.label())],
        )),
        [one] => {
            let r = tls_rpt::parse(one);
            (!r.is_valid()).then(|| {
                let mut lines = vec![format!("{name} TXT \"{one}\"")];
                lines.extend(r.diagnostics.iter().map(|x| x.to_string()));
                (
                    format!(
                        "The TLS-RPT record of {} is invalid: senders send no reports",
                        d.name
                    ),
                    lines,
                )
            })
        }
        many => Some((
            format!(
                "{} publishes {} TLS-RPT records: senders send no reports (RFC 8460 §3)",
                d.name,
                many.len()
            ),
            many.iter().map(|r| format!("{name} TXT \"{r}\"")).collect(),
        )),
    };
    let Some((title, lines)) = problem else {
        return;
    };
    let mut draft = Draft::new("TLSRPT-001", d.name.clone())
        .domain(&d.name)
        .title(title)
        .evidence_all(lines);
    if sts {
        draft = draft.evidence(
            "the domain publishes an MTA-STS policy: without reports, a sender's failure to validate it goes unseen",
        );
    }
    out.push(draft.build(label));
}

/// NET-001, TLS-001 and TLS-003 from the STARTTLS probes of the domain's MX hosts.
fn smtp(d: &DomainConfig, t: &TransportCapture, mx: &MxSet, label: &str, out: &mut Vec<Finding>) {
    if !t.probed {
        return;
    }
    for host in &mx.hosts {
        let probes: Vec<&SmtpProbe> = t.smtp.iter().filter(|p| &p.host == host).collect();
        if probes.is_empty() {
            continue;
        }
        let answered: Vec<&&SmtpProbe> = probes
            .iter()
            .filter(|p| !p.outcome.is_failure() && p.outcome != Outcome::Protocol)
            .collect();
        if answered.is_empty() {
            out.push(
                Draft::new("NET-001", host.clone())
                    .domain(&d.name)
                    .title(format!(
                        "MX host {host} of {} could not be probed: whether it offers TLS is unknown",
                        d.name
                    ))
                    .evidence_all(probes.iter().map(|p| {
                        format!(
                            "{}:{} → {}: {}",
                            if p.address.is_empty() { host.as_str() } else { p.address.as_str() },
                            p.port,
                            p.outcome.label(),
                            p.error.as_deref().unwrap_or("")
                        )
                    }))
                    .build(label),
            );
            continue;
        }
        let transcript = |p: &SmtpProbe| -> Vec<String> {
            p.transcript
                .iter()
                .take(TRANSCRIPT_LINES)
                .map(|l| format!("{} {}", p.address, crate::text::excerpt(l, 120)))
                .collect()
        };
        if let Some(p) = answered.iter().find(|p| p.starttls == Some(false)) {
            out.push(
                Draft::new("TLS-001", host.clone())
                    .domain(&d.name)
                    .title(format!(
                        "MX host {host} of {} does not offer STARTTLS: mail to it crosses the network unencrypted",
                        d.name
                    ))
                    .evidence_all(transcript(p))
                    .evidence(format!(
                        "EHLO keywords: {}",
                        if p.ehlo.is_empty() { "none".to_string() } else { p.ehlo.join(", ") }
                    ))
                    .build(label),
            );
            continue;
        }
        if let Some(p) = answered.iter().find(|p| p.outcome == Outcome::TlsError) {
            out.push(
                Draft::new("TLS-001", host.clone())
                    .domain(&d.name)
                    .title(format!(
                        "MX host {host} of {} offers STARTTLS but no TLS session can be made: senders fall back to plain text",
                        d.name
                    ))
                    .evidence_all(transcript(p))
                    .evidence(p.error.clone().unwrap_or_default())
                    .build(label),
            );
            continue;
        }
        // TLS-002: what the legacy offers met, on every address of the host.
        let accepted: Vec<String> = answered
            .iter()
            .flat_map(|p| {
                p.legacy
                    .iter()
                    .filter(|l| l.accepted == Some(true))
                    .map(move |l| {
                        format!(
                            "{}:{} accepts {}: {}",
                            p.address, p.port, l.offered, l.detail
                        )
                    })
            })
            .collect();
        if !accepted.is_empty() {
            let offers: std::collections::BTreeSet<&str> = answered
                .iter()
                .flat_map(|p| p.legacy.iter())
                .filter(|l| l.accepted == Some(true))
                .map(|l| l.offered.as_str())
                .collect();
            let refused: Vec<String> = answered
                .iter()
                .flat_map(|p| p.legacy.iter())
                .filter(|l| l.accepted != Some(true))
                .map(|l| format!("{}: {}", l.offered, l.detail))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let offers: Vec<&str> = offers.into_iter().collect();
            out.push(
                Draft::new("TLS-002", host.clone())
                    .domain(&d.name)
                    .title(format!(
                        "MX host {host} of {} still accepts {}: an attacker on the path can push senders down to it",
                        d.name,
                        crate::text::and_list(&offers)
                    ))
                    .evidence_all(accepted)
                    .evidence_all(refused.into_iter().map(|r| format!("not accepted: {r}")))
                    .build(label),
            );
        }
        if let Some((p, c)) = answered
            .iter()
            .filter_map(|p| p.certificate.as_ref().map(|c| (p, c)))
            .find(|(_, c)| !c.valid)
        {
            out.push(
                Draft::new("TLS-003", host.clone())
                    .domain(&d.name)
                    .title(format!(
                        "The certificate of MX host {host} ({}) is not one a validating sender accepts: {}",
                        d.name,
                        c.error.as_deref().unwrap_or("invalid")
                    ))
                    .evidence(format!(
                        "{}:{} {} {}",
                        p.address,
                        p.port,
                        p.tls_version.as_deref().unwrap_or("?"),
                        p.cipher.as_deref().unwrap_or("?")
                    ))
                    .evidence_all(certificate_lines(c))
                    .build(label),
            );
        }
    }
}

fn certificate_lines(c: &crate::transport::PresentedChain) -> Vec<String> {
    let mut lines: Vec<String> = c
        .chain
        .iter()
        .enumerate()
        .map(|(i, x)| {
            format!(
                "certificate {}: subject {}; SAN {}; issuer {}; valid {} to {}; {} {}; {}; SHA-256 {}",
                i + 1,
                x.subject,
                if x.sans.is_empty() { "none".to_string() } else { x.sans.join(", ") },
                x.issuer,
                x.not_before,
                x.not_after,
                x.key_type,
                x.key_bits,
                x.signature_algorithm,
                x.sha256
            )
        })
        .collect();
    lines.push(format!(
        "validated for {}: {}",
        c.validated_for,
        if c.valid {
            "valid".to_string()
        } else {
            c.error.clone().unwrap_or_else(|| "invalid".into())
        }
    ));
    lines
}

/// One TLSA record in presentation form: `usage selector matching-type data`.
struct Tlsa {
    usage: u8,
    selector: u8,
    mtype: u8,
    data: String,
    text: String,
}

fn tlsa(text: &str) -> Option<Tlsa> {
    let mut parts = text.split_whitespace();
    let usage = parts.next()?.parse().ok()?;
    let selector = parts.next()?.parse().ok()?;
    let mtype = parts.next()?.parse().ok()?;
    let data: String = parts.collect::<Vec<_>>().concat().to_ascii_lowercase();
    Some(Tlsa {
        usage,
        selector,
        mtype,
        data,
        text: text.to_string(),
    })
}

/// Whether one TLSA record pins certificate `c`. A full-data record (matching type 0) is
/// compared through its SHA-256, which the snapshot keeps for the certificate and its key.
fn tlsa_matches(r: &Tlsa, c: &crate::transport::CertSummary) -> bool {
    use sha2::{Digest, Sha256};
    let (sha256, sha512) = if r.selector == 0 {
        (&c.sha256, &c.sha512)
    } else {
        (&c.spki_sha256, &c.spki_sha512)
    };
    match r.mtype {
        0 => hex::decode(&r.data).is_ok_and(|der| hex::encode(Sha256::digest(&der)) == *sha256),
        1 => *sha256 == r.data,
        2 => !sha512.is_empty() && *sha512 == r.data,
        _ => false,
    }
}

/// DANE-001 (usages a sender should not rely on) and DANE-002 (no TLSA record matches what
/// the host presents) for MX hosts that publish TLSA.
fn dane(
    d: &DomainConfig,
    snap: &Snapshot,
    t: &TransportCapture,
    mx: &MxSet,
    label: &str,
    out: &mut Vec<Finding>,
) {
    for host in &mx.hosts {
        let name = format!("_25._tcp.{host}");
        let Some(l) = snap.get(&name, Rtype::Tlsa) else {
            continue;
        };
        if l.outcome != Dns::Answer || l.answers.is_empty() {
            continue;
        }
        let records: Vec<Tlsa> = l.answers.iter().filter_map(|a| tlsa(a)).collect();
        let pkix: Vec<&Tlsa> = records.iter().filter(|r| r.usage <= 1).collect();
        // RFC 7672 §2.2: a sender uses TLSA records only when they validate as secure. An
        // indeterminate status is evidence incomplete (exit 4), not a finding.
        let validation = snap
            .dnssec
            .as_ref()
            .and_then(|v| v.status(&name, Rtype::Tlsa))
            .filter(|n| matches!(n.status, DnssecStatus::Insecure | DnssecStatus::Bogus));
        let title = match (validation.map(|n| n.status), pkix.is_empty()) {
            (Some(DnssecStatus::Bogus), _) => format!(
                "TLSA records of MX host {host} fail DNSSEC validation (bogus): validating senders cannot look them up and defer mail to the host"
            ),
            (Some(_), _) => format!(
                "TLSA records of MX host {host} are not DNSSEC-signed (insecure): DANE senders ignore them, so they protect nothing"
            ),
            (None, false) => format!(
                "TLSA records of MX host {host} use PKIX usages, which SMTP senders should not rely on"
            ),
            (None, true) => String::new(),
        };
        if !title.is_empty() {
            let mut draft = Draft::new("DANE-001", host.clone())
                .domain(&d.name)
                .title(title)
                .evidence_all(records.iter().map(|r| format!("{name} TLSA {}", r.text)));
            if let (Some(n), Some(v)) = (validation, snap.dnssec.as_ref()) {
                draft = draft.evidence(format!(
                    "DNSSEC validation of {name} TLSA: {}{} (chain built by mailproof from the {})",
                    n.status.label(),
                    n.detail
                        .as_deref()
                        .map(|d| format!(", {d}"))
                        .unwrap_or_default(),
                    v.anchor
                ));
            }
            if !pkix.is_empty() {
                draft = draft.evidence(format!(
                    "{} of {} records use usage 0 or 1 (PKIX-TA, PKIX-EE), which RFC 7672 §3.1.3 says SMTP senders should not rely on",
                    pkix.len(),
                    records.len()
                ));
            }
            out.push(draft.build(label));
        }
        if !t.probed {
            continue;
        }
        let Some(p) = t
            .smtp
            .iter()
            .find(|p| &p.host == host && p.certificate.is_some())
        else {
            continue;
        };
        let Some(chain) = &p.certificate else {
            continue;
        };
        // Usages 2 and 3 with any selector and matching type (RFC 6698 §2.1), as far as the
        // stored digests can tell: type 2 needs the SHA-512 digests newer snapshots keep.
        let checkable: Vec<&Tlsa> = records
            .iter()
            .filter(|r| matches!(r.usage, 2 | 3) && r.selector <= 1)
            .filter(|r| match r.mtype {
                0 | 1 => true,
                2 => chain.chain.iter().all(|c| !c.sha512.is_empty()),
                _ => false,
            })
            .collect();
        if checkable.is_empty() {
            continue;
        }
        let matches = checkable.iter().any(|r| {
            let certs: Vec<&crate::transport::CertSummary> = match r.usage {
                3 => chain.chain.iter().take(1).collect(),
                _ => chain.chain.iter().skip(1).collect(),
            };
            certs.iter().any(|c| tlsa_matches(r, c))
        });
        if !matches {
            let leaf = chain.chain.first();
            out.push(
                Draft::new("DANE-002", host.clone())
                    .domain(&d.name)
                    .title(format!(
                        "No TLSA record of MX host {host} matches the certificate it presents: DANE senders refuse to deliver to it"
                    ))
                    .evidence_all(checkable.iter().map(|r| format!("{name} TLSA {}", r.text)))
                    .evidence(format!(
                        "presented by {}: certificate SHA-256 {}; public key (SPKI) SHA-256 {}",
                        p.address,
                        leaf.map_or("?", |c| c.sha256.as_str()),
                        leaf.map_or("?", |c| c.spki_sha256.as_str())
                    ))
                    .build(label),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Lookup, ScopedDomain};

    fn lookup(name: &str, rtype: Rtype, outcome: Dns, answers: &[&str]) -> Lookup {
        Lookup {
            name: name.into(),
            rtype,
            outcome,
            error: None,
            answers: answers.iter().map(|s| s.to_string()).collect(),
            txt_strings: vec![],
            cname_chain: vec![],
            dnssec: None,
            elapsed_ms: 0,
            purpose: "test".into(),
        }
    }

    fn snapshot(lookups: Vec<Lookup>, transport: Option<TransportCapture>) -> Snapshot {
        Snapshot {
            schema: crate::snapshot::SCHEMA.into(),
            taken_at: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default(),
            tool: "mailproof".into(),
            tool_version: "test".into(),
            nameservers: vec![],
            domains: vec![ScopedDomain {
                name: "a.test".into(),
                role: Role::Workforce,
                selectors: vec![],
            }],
            lookups,
            organization: None,
            scope_sha256: None,
            transport,
            dnssec: None,
        }
    }

    fn domain(name: &str, role: Role) -> DomainConfig {
        DomainConfig {
            name: name.into(),
            role,
            selectors: vec![],
            owner: None,
        }
    }

    fn probe(host: &str, outcome: Outcome, starttls: Option<bool>) -> SmtpProbe {
        SmtpProbe {
            host: host.into(),
            address: "127.0.0.9".into(),
            port: 25,
            outcome,
            error: (outcome != Outcome::Ok).then(|| "connect refused".to_string()),
            banner: vec![],
            ehlo: vec!["PIPELINING".into()],
            starttls,
            tls_version: None,
            cipher: None,
            certificate: None,
            transcript: vec!["S: 220 mx ESMTP".into(), "C: EHLO x".into()],
            legacy: vec![],
            elapsed_ms: 1,
        }
    }

    fn ids(f: &[Finding]) -> Vec<String> {
        f.iter()
            .map(|x| format!("{}:{}", x.check, x.subject))
            .collect()
    }

    #[test]
    fn a_refused_probe_is_evidence_incomplete_never_no_starttls() {
        let s = snapshot(
            vec![
                lookup(
                    "a.test",
                    Rtype::Mx,
                    Dns::Answer,
                    &["10 mx1.a.test.", "20 mx2.a.test."],
                ),
                lookup("_mta-sts.a.test", Rtype::Txt, Dns::Nxdomain, &[]),
                lookup(
                    "_smtp._tls.a.test",
                    Rtype::Txt,
                    Dns::Answer,
                    &["v=TLSRPTv1; rua=mailto:t@a.test"],
                ),
            ],
            Some(TransportCapture {
                probed: true,
                smtp_port: 25,
                sts_policies: vec![],
                smtp: vec![
                    probe("mx1.a.test", Outcome::Refused, None),
                    probe("mx2.a.test", Outcome::Ok, Some(false)),
                ],
            }),
        );
        let f = assess(&[domain("a.test", Role::Workforce)], &s, "2026-11");
        assert_eq!(
            ids(&f),
            ["STS-001:a.test", "NET-001:mx1.a.test", "TLS-001:mx2.a.test"]
        );
        assert!(f[2].evidence.iter().any(|e| e.contains("S: 220 mx ESMTP")));
    }

    #[test]
    fn without_a_transport_section_only_dns_is_judged() {
        let s = snapshot(
            vec![
                lookup("a.test", Rtype::Mx, Dns::Answer, &["10 mx1.a.test."]),
                lookup(
                    "_mta-sts.a.test",
                    Rtype::Txt,
                    Dns::Answer,
                    &["v=STSv1; id=1"],
                ),
                lookup("_smtp._tls.a.test", Rtype::Txt, Dns::Nodata, &[]),
            ],
            None,
        );
        let f = assess(&[domain("a.test", Role::Patient)], &s, "2026-11");
        assert_eq!(ids(&f), ["TLSRPT-001:a.test"]);
        assert!(f[0].evidence.iter().any(|e| e.contains("MTA-STS policy")));
    }

    #[test]
    fn a_policy_is_judged_by_mode_coverage_and_age() {
        let fetch = PolicyFetch {
            domain: "a.test".into(),
            url: "https://mta-sts.a.test/.well-known/mta-sts.txt".into(),
            outcome: Outcome::Ok,
            error: None,
            address: Some("127.0.0.8".into()),
            status: Some(200),
            content_type: Some("text/plain".into()),
            location: None,
            body: Some("version: STSv1\nmode: enforce\nmx: mx1.a.test\nmax_age: 86400\n".into()),
            certificate: None,
            elapsed_ms: 1,
        };
        let s = snapshot(
            vec![
                lookup(
                    "a.test",
                    Rtype::Mx,
                    Dns::Answer,
                    &["10 mx1.a.test.", "20 backup.b.test."],
                ),
                lookup(
                    "_mta-sts.a.test",
                    Rtype::Txt,
                    Dns::Answer,
                    &["v=STSv1; id=1"],
                ),
                lookup(
                    "_smtp._tls.a.test",
                    Rtype::Txt,
                    Dns::Answer,
                    &["v=TLSRPTv1; rua=mailto:t@a.test"],
                ),
            ],
            Some(TransportCapture {
                probed: false,
                smtp_port: 25,
                sts_policies: vec![fetch],
                smtp: vec![],
            }),
        );
        let f = assess(&[domain("a.test", Role::Workforce)], &s, "2026-11");
        assert_eq!(ids(&f), ["STS-003:a.test policy", "STS-004:a.test policy"]);
        assert!(f[0].title.contains("does not cover backup.b.test"));
        assert_eq!(f[0].basis.harm, Some(Harm::Delivery));
        assert!(f[1].title.contains("under a week"));
    }

    #[test]
    fn a_parked_domain_is_told_which_lock_down_records_are_missing() {
        let mut s = snapshot(
            vec![
                lookup("p.test", Rtype::Mx, Dns::Nodata, &[]),
                lookup("p.test", Rtype::Txt, Dns::Answer, &["v=spf1 -all"]),
                lookup(
                    "_dmarc.p.test",
                    Rtype::Txt,
                    Dns::Answer,
                    &["v=DMARC1; p=none"],
                ),
                lookup(
                    "*._domainkey.p.test",
                    Rtype::Txt,
                    Dns::Answer,
                    &["v=DKIM1; p="],
                ),
            ],
            None,
        );
        s.domains[0].name = "p.test".into();
        let f = assess(&[domain("p.test", Role::Parked)], &s, "2026-11");
        assert_eq!(ids(&f), ["MX-001:p.test", "PARK-001:p.test"]);
        let park = &f[1];
        assert!(park.title.contains("lacks 2 of the four"), "{}", park.title);
        assert!(
            park.evidence
                .iter()
                .any(|e| e.contains("the record does not reject"))
        );
        assert!(
            park.evidence
                .iter()
                .any(|e| e.starts_with("present:") && e.contains("wildcard revoked DKIM key"))
        );
    }

    #[test]
    fn tlsa_matching_types_full_sha256_and_sha512() {
        use sha2::{Digest, Sha256, Sha512};
        let (der, spki) = (b"certificate DER".as_slice(), b"key DER".as_slice());
        let c = crate::transport::CertSummary {
            sha256: hex::encode(Sha256::digest(der)),
            spki_sha256: hex::encode(Sha256::digest(spki)),
            sha512: hex::encode(Sha512::digest(der)),
            spki_sha512: hex::encode(Sha512::digest(spki)),
            ..Default::default()
        };
        let cases = [
            (format!("3 0 0 {}", hex::encode(der)), true),
            (format!("3 1 0 {}", hex::encode(spki)), true),
            (format!("3 1 0 {}", hex::encode(der)), false),
            (format!("3 0 1 {}", hex::encode(Sha256::digest(der))), true),
            (format!("3 1 1 {}", hex::encode(Sha256::digest(spki))), true),
            (format!("3 0 2 {}", hex::encode(Sha512::digest(der))), true),
            (format!("3 1 2 {}", hex::encode(Sha512::digest(der))), false),
            ("3 1 0 not-hex".to_string(), false),
        ];
        for (text, want) in cases {
            let r = tlsa(&text).unwrap();
            assert_eq!(tlsa_matches(&r, &c), want, "{text}");
        }
        // Without the SHA-512 digests (older snapshots) a type-2 record cannot match.
        let old = crate::transport::CertSummary {
            sha512: String::new(),
            spki_sha512: String::new(),
            ..c
        };
        let r = tlsa(&format!("3 1 2 {}", hex::encode(Sha512::digest(spki)))).unwrap();
        assert!(!tlsa_matches(&r, &old));
    }
}

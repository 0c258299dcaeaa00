//! The monthly capture: every question the checks need, asked concurrently, stored raw.

use super::{DnsClient, DnsError, ResolverSettings};
use crate::config::Role;
use crate::records::spf_eval::Request;
use crate::snapshot::{
    Lookup, Outcome, Rtype, SCHEMA, ScopedDomain, SelectorSource, Snapshot, normalize_name,
    starts_with_tag,
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// SPF evaluation stops at 10 DNS-querying terms (RFC 7208 §4.6.4); a hostile record could
/// still fan out widely, so the walk is bounded per domain as well as in depth.
const MAX_SPF_NAMES_PER_DOMAIN: usize = 50;
const MAX_SPF_DEPTH: usize = 10;

/// One question still to ask.
#[derive(Debug, Clone)]
struct Question {
    name: String,
    rtype: Rtype,
    purpose: String,
    /// Index into the scoped domains, for the per-domain SPF budget.
    domain: usize,
    /// 0 for the fixed questions, n for a name reached through n SPF hops.
    depth: usize,
}

/// `_dmarc` names a receiver may consult for `domain` (the RFC 9989 tree walk), so a stored
/// snapshot can answer the walk without asking DNS again.
fn dmarc_names(domain: &str) -> Vec<String> {
    crate::records::dmarc::tree_walk_names(domain)
}

fn fixed_questions(idx: usize, d: &ScopedDomain) -> Vec<Question> {
    let name = normalize_name(&d.name);
    let q = |n: String, rtype: Rtype, purpose: &str| Question {
        name: n,
        rtype,
        purpose: purpose.to_string(),
        domain: idx,
        depth: 0,
    };
    let mut out = vec![
        q(name.clone(), Rtype::Txt, "spf"),
        q(name.clone(), Rtype::Mx, "mx"),
    ];
    out.extend(
        dmarc_names(&name)
            .into_iter()
            .map(|n| q(n, Rtype::Txt, "dmarc")),
    );
    for sel in &d.selectors {
        let sel = normalize_name(&sel.selector);
        if !sel.is_empty() {
            out.push(q(format!("{sel}._domainkey.{name}"), Rtype::Txt, "dkim"));
        }
    }
    // A parked domain revokes every key with a wildcard (PARK-001): the literal `*` name is
    // what a resolver answers from the wildcard record.
    if d.role == crate::config::Role::Parked {
        out.push(q(
            format!("*._domainkey.{name}"),
            Rtype::Txt,
            "dkim-wildcard",
        ));
    }
    out.push(q(format!("_mta-sts.{name}"), Rtype::Txt, "mta-sts"));
    out.push(q(format!("_smtp._tls.{name}"), Rtype::Txt, "tls-rpt"));
    out.push(q(format!("default._bimi.{name}"), Rtype::Txt, "bimi"));
    out
}

/// Questions an SPF-related answer leads to: the terms of an SPF record published at
/// `l.name`, or the addresses of the hosts an SPF `mx` mechanism names (a receiver resolves
/// those too, and they count toward the void-lookup limit).
fn spf_followups(l: &Lookup, from: &Question) -> Vec<Question> {
    if l.outcome != Outcome::Answer || !from.purpose.starts_with("spf") {
        return Vec::new();
    }
    let next = |name: String, rtype: Rtype, purpose: &str| Question {
        name: normalize_name(&name),
        rtype,
        purpose: purpose.to_string(),
        domain: from.domain,
        depth: from.depth + 1,
    };
    match l.rtype {
        Rtype::Txt => l
            .answers
            .iter()
            .filter(|a| starts_with_tag(a, "v=spf1"))
            .flat_map(|text| crate::records::spf::parse(text).queries(&l.name))
            .map(|(name, rtype, purpose)| next(name, rtype, purpose))
            .collect(),
        Rtype::Mx if from.purpose == "spf-mx" => l
            .answers
            .iter()
            .filter_map(|mx| mx.split_whitespace().nth(1))
            .flat_map(|host| {
                [
                    next(host.to_string(), Rtype::A, "spf-mx-a"),
                    next(host.to_string(), Rtype::Aaaa, "spf-mx-a"),
                ]
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Questions a DMARC answer leads to: the mail exchangers of every `rua`/`ruf` host (can the
/// reports be delivered at all?) and, for hosts in another organization, the
/// `<domain>._report._dmarc.<host>` TXT that authorizes them to receive our reports (a
/// wildcard `*._report._dmarc.<host>` answers this name too).
fn dmarc_followups(l: &Lookup, from: &Question) -> Vec<Question> {
    if l.outcome != Outcome::Answer || from.purpose != "dmarc" {
        return Vec::new();
    }
    let Some(domain) = l.name.strip_prefix("_dmarc.") else {
        return Vec::new();
    };
    let next = |name: String, rtype: Rtype, purpose: &str| Question {
        name: normalize_name(&name),
        rtype,
        purpose: purpose.to_string(),
        domain: from.domain,
        depth: from.depth + 1,
    };
    let mut out = Vec::new();
    for text in l.answers.iter().filter(|a| starts_with_tag(a, "v=DMARC1")) {
        let rec = crate::records::dmarc::parse(text);
        for u in rec.rua.iter().chain(&rec.ruf) {
            if let Some(h) = &u.host {
                out.push(next(h.clone(), Rtype::Mx, "dmarc-report-mx"));
            }
        }
        for (_, auth) in crate::records::dmarc::external_destinations(&rec, domain) {
            out.push(next(auth, Rtype::Txt, "dmarc-report-auth"));
        }
    }
    out
}

/// Questions the transport evidence needs (issue: interception, §164.312(e)): the addresses
/// and the DANE TLSA record (`_25._tcp.<host>`, RFC 7672 §2.2) of every MX host of a domain
/// in scope, and the addresses of `mta-sts.<domain>` once the domain announces MTA-STS, so
/// the probes connect to what the snapshot says and the evidence shows where they went.
fn transport_followups(l: &Lookup, from: &Question) -> Vec<Question> {
    if l.outcome != Outcome::Answer {
        return Vec::new();
    }
    let next = |name: String, rtype: Rtype, purpose: &str| Question {
        name: normalize_name(&name),
        rtype,
        purpose: purpose.to_string(),
        domain: from.domain,
        depth: from.depth + 1,
    };
    match (from.purpose.as_str(), l.rtype) {
        ("mx", Rtype::Mx) => l
            .answers
            .iter()
            .filter_map(|mx| mx.split_whitespace().nth(1))
            .map(normalize_name)
            // A null MX (`0 .`) names no host.
            .filter(|h| !h.is_empty())
            .take(MAX_MX_HOSTS)
            .flat_map(|h| {
                [
                    next(h.clone(), Rtype::A, "mx-host"),
                    next(h.clone(), Rtype::Aaaa, "mx-host"),
                    next(format!("_25._tcp.{h}"), Rtype::Tlsa, "tlsa"),
                ]
            })
            .collect(),
        ("mta-sts", Rtype::Txt)
            if l.answers
                .iter()
                .any(|a| crate::records::mta_sts::is_sts_record(a)) =>
        {
            let Some(domain) = l.name.strip_prefix("_mta-sts.") else {
                return Vec::new();
            };
            vec![
                next(format!("mta-sts.{domain}"), Rtype::A, "mta-sts-host"),
                next(format!("mta-sts.{domain}"), Rtype::Aaaa, "mta-sts-host"),
            ]
        }
        _ => Vec::new(),
    }
}

/// MX hosts followed per domain: RFC 5321 sets no limit, but a domain with more than this many
/// is broken or hostile, and each host costs three lookups and a probe.
pub const MAX_MX_HOSTS: usize = 20;

async fn ask_all(
    client: &DnsClient,
    sem: &Arc<Semaphore>,
    questions: Vec<Question>,
) -> Result<Vec<(Question, Lookup)>, DnsError> {
    let mut set = JoinSet::new();
    for q in questions {
        let client = client.clone();
        let sem = Arc::clone(sem);
        set.spawn(async move {
            // The semaphore is never closed, so acquiring only fails if it were; ask anyway.
            let _permit = sem.acquire_owned().await.ok();
            let l = client.lookup(&q.name, q.rtype, &q.purpose).await;
            (q, l)
        });
    }
    let mut out = Vec::new();
    while let Some(res) = set.join_next().await {
        out.push(res.map_err(|e| DnsError::Task(e.to_string()))?);
    }
    Ok(out)
}

/// Captures the email-authentication DNS of `domains` as of `taken_at`.
///
/// Every name is asked once per type even when several domains share it (a common parent's
/// `_dmarc`, a shared include); SPF includes, redirects and `a`/`mx`/`exists` targets are
/// followed breadth-first so the stored snapshot alone is enough to walk the SPF tree later.
pub async fn capture(
    domains: &[ScopedDomain],
    settings: &ResolverSettings,
    taken_at: DateTime<Utc>,
) -> Result<Snapshot, DnsError> {
    capture_probed(domains, &[], settings, taken_at).await
}

/// An address the assessment will ask "is it authorized to send as `domain`?" about (a
/// sample of a vendor's `ip_ranges`, VEN-002). The capture evaluates SPF for it so the
/// snapshot also holds the answers that depend on the address (`ptr`, `%{i}` macros).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfProbe {
    pub domain: String,
    pub ip: std::net::IpAddr,
}

/// [`capture`], then the SPF fixpoint for each probe: evaluate `check_host(ip, domain,
/// postmaster@domain)` over what was captured, ask whatever it was missing, and repeat until
/// the evaluation needs nothing new, so re-evaluating over the stored snapshot is exact.
pub async fn capture_probed(
    domains: &[ScopedDomain],
    probes: &[SpfProbe],
    settings: &ResolverSettings,
    taken_at: DateTime<Utc>,
) -> Result<Snapshot, DnsError> {
    capture_with_sources(domains, probes, &[], settings, taken_at).await
}

/// Reverse-DNS names asked per source address at most (a PTR may list several).
const MAX_PTR_NAMES: usize = 3;

/// [`capture_probed`], plus the reverse-DNS names of `sources` (the report sources the
/// assessment cannot otherwise attribute), each confirmed forward: a PTR name counts only if
/// it resolves back to the address, because anyone controlling an address's reverse zone can
/// make its PTR say `mta.vendor.example`. Lookups are tagged `source-ptr` and
/// `source-ptr-confirm`; [`Snapshot::confirmed_ptr_names`] reads them back.
pub async fn capture_with_sources(
    domains: &[ScopedDomain],
    probes: &[SpfProbe],
    sources: &[std::net::IpAddr],
    settings: &ResolverSettings,
    taken_at: DateTime<Utc>,
) -> Result<Snapshot, DnsError> {
    let mut snapshot = capture_core(domains, probes, settings, taken_at).await?;
    if sources.is_empty() {
        return Ok(snapshot);
    }
    let client = DnsClient::new(settings)?;
    let sem = Arc::new(Semaphore::new(settings.effective_concurrency()));
    let mut seen: HashSet<(String, Rtype)> = snapshot
        .lookups
        .iter()
        .map(|l| (l.name.clone(), l.rtype))
        .collect();
    let question = |name: String, rtype: Rtype, purpose: &str| Question {
        name,
        rtype,
        purpose: purpose.to_string(),
        domain: 0,
        depth: 0,
    };
    let reverse: Vec<Question> = sources
        .iter()
        .map(|ip| {
            question(
                crate::records::spf_eval::reverse_name(*ip),
                Rtype::Ptr,
                "source-ptr",
            )
        })
        .filter(|q| seen.insert((q.name.clone(), q.rtype)))
        .collect();
    let asked = reverse.len();
    let answered = ask_all(&client, &sem, reverse).await?;
    let forward: Vec<Question> = answered
        .iter()
        .flat_map(|(_, l)| {
            let v6 = l.name.ends_with("ip6.arpa");
            l.answers.iter().take(MAX_PTR_NAMES).map(move |n| {
                let rtype = if v6 { Rtype::Aaaa } else { Rtype::A };
                question(normalize_name(n), rtype, "source-ptr-confirm")
            })
        })
        .filter(|q| !q.name.is_empty() && seen.insert((q.name.clone(), q.rtype)))
        .collect();
    let confirmed = ask_all(&client, &sem, forward).await?;
    snapshot
        .lookups
        .extend(answered.into_iter().chain(confirmed).map(|(_, l)| l));
    snapshot
        .lookups
        .sort_by(|a, b| (&a.name, a.rtype).cmp(&(&b.name, b.rtype)));
    tracing::info!(sources = asked, "reverse DNS of report sources captured");
    Ok(snapshot)
}

async fn capture_core(
    domains: &[ScopedDomain],
    probes: &[SpfProbe],
    settings: &ResolverSettings,
    taken_at: DateTime<Utc>,
) -> Result<Snapshot, DnsError> {
    let client = DnsClient::new(settings)?;
    let sem = Arc::new(Semaphore::new(settings.effective_concurrency()));
    let mut seen: HashSet<(String, Rtype)> = HashSet::new();
    let mut spf_budget = vec![MAX_SPF_NAMES_PER_DOMAIN; domains.len()];
    let mut lookups: Vec<Lookup> = Vec::new();

    let mut wave: Vec<Question> = domains
        .iter()
        .enumerate()
        .flat_map(|(i, d)| fixed_questions(i, d))
        .filter(|q| seen.insert((q.name.clone(), q.rtype)))
        .collect();
    tracing::info!(
        domains = domains.len(),
        questions = wave.len(),
        "capturing DNS snapshot"
    );

    // Index of each finished lookup in `lookups`, by question.
    let mut done: HashMap<(String, Rtype), usize> = HashMap::new();
    while !wave.is_empty() {
        let mut answered = ask_all(&client, &sem, wave).await?;
        // Deterministic order of follow-ups regardless of which answer arrived first.
        answered.sort_by(|a, b| (&a.1.name, a.1.rtype).cmp(&(&b.1.name, b.1.rtype)));
        let first = lookups.len();
        let mut asked = Vec::with_capacity(answered.len());
        for (q, l) in answered {
            done.insert((l.name.clone(), l.rtype), lookups.len());
            lookups.push(l);
            asked.push(q);
        }
        // Transport questions go last: a name asked for several reasons keeps the SPF or
        // DMARC purpose, which the SPF lookup accounting reads.
        let mut pending: VecDeque<Question> = asked
            .iter()
            .zip(&lookups[first..])
            .flat_map(|(q, l)| {
                let mut f = spf_followups(l, q);
                f.extend(dmarc_followups(l, q));
                f
            })
            .collect();
        let transport: Vec<Question> = asked
            .iter()
            .zip(&lookups[first..])
            .flat_map(|(q, l)| transport_followups(l, q))
            .collect();
        let mut next = Vec::new();
        let mut transport = transport.into_iter();
        while let Some(f) = pending.pop_front().or_else(|| transport.next()) {
            if f.depth > MAX_SPF_DEPTH || f.name.is_empty() {
                continue;
            }
            let key = (f.name.clone(), f.rtype);
            if seen.contains(&key) {
                // Asked already for another reason (an SPF `mx` naming the domain's own MX):
                // that answer still leads to the hosts' addresses.
                if let Some(earlier) = done.get(&key).and_then(|&i| lookups.get(i))
                    && f.purpose == "spf-mx"
                    && earlier.purpose != "spf-mx"
                {
                    pending.extend(spf_followups(earlier, &f));
                }
                continue;
            }
            let Some(budget) = spf_budget.get_mut(f.domain) else {
                continue;
            };
            if !f.purpose.starts_with("spf") {
                seen.insert(key);
                next.push(f);
                continue;
            }
            if *budget == 0 {
                tracing::warn!(
                    domain = domains.get(f.domain).map(|d| d.name.as_str()),
                    name = %f.name,
                    "SPF walk budget of {MAX_SPF_NAMES_PER_DOMAIN} names exhausted; not asked"
                );
                continue;
            }
            *budget -= 1;
            seen.insert(key);
            next.push(f);
        }
        wave = next;
    }

    if !probes.is_empty() {
        let mut held: HashMap<(String, Rtype), Lookup> = lookups
            .drain(..)
            .map(|l| ((l.name.clone(), l.rtype), l))
            .collect();
        let requests: Vec<(String, Request)> = probes
            .iter()
            .map(|p| {
                let d = normalize_name(&p.domain);
                (
                    d.clone(),
                    Request {
                        ip: p.ip,
                        sender: format!("postmaster@{d}"),
                        helo: d,
                    },
                )
            })
            .collect();
        let before = held.len();
        super::fixpoint::spf_fixpoint_many(&client, &mut held, &requests).await;
        tracing::info!(
            probes = probes.len(),
            added = held.len() - before,
            "SPF evaluation fixpoint reached"
        );
        lookups = held.into_values().collect();
    }
    lookups.sort_by(|a, b| (&a.name, a.rtype).cmp(&(&b.name, b.rtype)));
    let failures = lookups.iter().filter(|l| l.outcome.is_failure()).count();
    tracing::info!(lookups = lookups.len(), failures, "DNS snapshot captured");
    Ok(Snapshot {
        schema: SCHEMA.to_string(),
        taken_at,
        tool: crate::TOOL_NAME.to_string(),
        tool_version: crate::TOOL_VERSION.to_string(),
        nameservers: settings.nameserver_labels(),
        domains: domains.to_vec(),
        lookups,
        organization: None,
        scope_sha256: None,
        transport: None,
        dnssec: None,
    })
}

/// Ad-hoc capture for `mailproof check DOMAIN... --selector SEL`: every domain is treated as a
/// workforce domain and probed for every selector given on the command line.
pub async fn capture_names(
    names: &[String],
    selectors: &[String],
    settings: &ResolverSettings,
    taken_at: DateTime<Utc>,
) -> Result<Snapshot, DnsError> {
    let selectors: Vec<SelectorSource> = selectors
        .iter()
        .map(|s| SelectorSource {
            selector: normalize_name(s),
            sources: vec!["cli".to_string()],
        })
        .collect();
    let domains: Vec<ScopedDomain> = names
        .iter()
        .map(|n| ScopedDomain {
            name: normalize_name(n),
            role: Role::Workforce,
            selectors: selectors.clone(),
        })
        .collect();
    capture(&domains, settings, taken_at).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_questions_cover_every_record_kind() {
        let d = ScopedDomain {
            name: "Mail.Example.Test.".to_string(),
            role: Role::Patient,
            selectors: vec![SelectorSource {
                selector: "S1".to_string(),
                sources: vec!["config".to_string()],
            }],
        };
        let qs: Vec<(String, Rtype, String)> = fixed_questions(0, &d)
            .into_iter()
            .map(|q| (q.name, q.rtype, q.purpose))
            .collect();
        let has = |n: &str, t: Rtype, p: &str| {
            qs.iter().any(|(qn, qt, qp)| qn == n && *qt == t && qp == p)
        };
        assert!(has("mail.example.test", Rtype::Txt, "spf"));
        assert!(has("mail.example.test", Rtype::Mx, "mx"));
        assert!(has("_dmarc.mail.example.test", Rtype::Txt, "dmarc"));
        assert!(has("_dmarc.example.test", Rtype::Txt, "dmarc"));
        assert!(!has("_dmarc.test", Rtype::Txt, "dmarc"));
        assert!(has("s1._domainkey.mail.example.test", Rtype::Txt, "dkim"));
        assert!(has("_mta-sts.mail.example.test", Rtype::Txt, "mta-sts"));
        assert!(has("_smtp._tls.mail.example.test", Rtype::Txt, "tls-rpt"));
        assert!(has("default._bimi.mail.example.test", Rtype::Txt, "bimi"));
    }
}

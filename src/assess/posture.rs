//! A domain's posture as the snapshot shows it: parsed SPF, DMARC, DKIM and MX, ready for the
//! checks, the `check` command and the executive summary.

use crate::config::DomainConfig;
use crate::evidence::{DkimPosture, DmarcPosture, DomainPosture, RawLookup, SpfPosture};
use crate::records::{dkim, dmarc, spf_walk};
use crate::snapshot::{Lookup, Rtype, ScopedDomain, Snapshot, starts_with_tag};

pub fn build(d: &DomainConfig, scoped: &[ScopedDomain], snap: &Snapshot) -> DomainPosture {
    build_with(
        d,
        scoped,
        snap,
        crate::config::PolicyConfig::default().min_dkim_bits,
    )
}

/// Like [`build`], judging RSA keys below `min_dkim_bits` as weak, so the summary never counts
/// a key the findings call too short as "valid".
pub fn build_with(
    d: &DomainConfig,
    scoped: &[ScopedDomain],
    snap: &Snapshot,
    min_dkim_bits: u32,
) -> DomainPosture {
    let mut spf = spf_posture(&d.name, snap);
    // Receivers return permerror (and SPF protects nothing) over the 10-lookup limit, and for
    // every error the walk reports: loops, >10 MX hosts, include targets without SPF, syntax.
    if spf.status == "found" && (spf.lookups > 10 || !spf.errors.is_empty()) {
        spf.status = "permerror".into();
    }
    let dmarc = dmarc_posture(&d.name, snap);
    let selectors = scoped
        .iter()
        .find(|s| s.name == d.name)
        .or_else(|| snap.domain(&d.name))
        .map(|s| s.selectors.clone())
        .unwrap_or_default();
    let dkim = selectors
        .iter()
        .map(|s| dkim_posture(&d.name, &s.selector, s.sources.clone(), snap))
        .collect();
    let mx = snap
        .get(&d.name, Rtype::Mx)
        .map(|l| l.answers.clone())
        .unwrap_or_default();
    let txt_record = |name: String, prefix: &str| {
        snap.txt_with_prefix(&name, prefix)
            .and_then(|(_, v)| v.first().map(|s| s.to_string()))
    };
    let mut dkim: Vec<DkimPosture> = dkim;
    for k in &mut dkim {
        if k.status == "valid" && k.key_type.as_deref() == Some("rsa") {
            match k.key_bits {
                // RFC 8301 §3.2: verifiers must not accept such signatures.
                Some(b) if b < 1024 => k.status = "unusable".into(),
                Some(b) if b < min_dkim_bits => k.status = "weak".into(),
                _ => {}
            }
        }
    }
    let mut p = DomainPosture {
        domain: d.name.clone(),
        role: d.role.label().to_string(),
        spf,
        dmarc,
        dkim,
        mx,
        mta_sts: txt_record(format!("_mta-sts.{}", d.name), "v=STSv1"),
        tls_rpt: txt_record(format!("_smtp._tls.{}", d.name), "v=TLSRPTv1"),
        bimi: txt_record(format!("default._bimi.{}", d.name), "v=BIMI1"),
        grade: String::new(),
        raw: raw_lookups(&d.name, snap),
        spf_size_octets: spf_walk::walk(&d.name, snap).size_octets,
        dnssec: None,
        dnssec_validation: dnssec_validation(&d.name, snap),
        transport: Some(transport(&d.name, snap)),
    };
    p.dnssec = match &snap.dnssec {
        Some(v) => v
            .status(&d.name, Rtype::Mx)
            .map(|n| n.status.label().to_string()),
        None => dnssec(&p.raw, snap).map(|s| format!("AD flag: {s}")),
    };
    p.grade = grade(&p);
    p
}

fn spf_posture(domain: &str, snap: &Snapshot) -> SpfPosture {
    let w = spf_walk::walk(domain, snap);
    let status = serde_json::to_value(w.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let tree = w
        .tree
        .iter()
        .map(|n| {
            let mut line = format!("{}{}", "  ".repeat(n.depth), n.term);
            if n.lookups > 0 {
                line.push_str(&format!(
                    "  [{} lookup{}]",
                    n.lookups,
                    if n.lookups == 1 { "" } else { "s" }
                ));
            }
            if let Some(o) = n.outcome
                && o != crate::snapshot::Outcome::Answer
            {
                line.push_str(&format!("  ({})", o.label()));
            }
            if n.over_limit {
                line.push_str("  PAST THE 10-LOOKUP LIMIT");
            }
            for note in &n.notes {
                line.push_str(&format!("  — {note}"));
            }
            line
        })
        .collect();
    SpfPosture {
        record: w.record,
        status,
        lookups: w.lookups,
        void_lookups: w.void_lookups,
        all: w.all,
        tree,
        errors: w.errors,
        warnings: w.warnings,
    }
}

/// The validated names that belong to `domain`: the domain itself, its MX hosts and their
/// TLSA names, in the order they were validated.
fn dnssec_validation(domain: &str, snap: &Snapshot) -> Option<crate::evidence::DnssecPosture> {
    let v = snap.dnssec.as_ref()?;
    let wanted = snap.dnssec_names(domain);
    Some(crate::evidence::DnssecPosture {
        anchor: v.anchor.clone(),
        names: v
            .names
            .iter()
            .filter(|n| wanted.iter().any(|(w, t)| *w == n.name && *t == n.rtype))
            .cloned()
            .collect(),
    })
}

/// Whether the answers shown for a domain were DNSSEC-validated (AD flag on every answer).
fn dnssec(raw: &[RawLookup], snap: &Snapshot) -> Option<String> {
    let answered: Vec<bool> = raw
        .iter()
        .filter(|l| l.outcome == crate::snapshot::Outcome::Answer)
        .filter_map(|l| {
            let rtype = match l.rtype.as_str() {
                "TXT" => Rtype::Txt,
                "MX" => Rtype::Mx,
                "A" => Rtype::A,
                "AAAA" => Rtype::Aaaa,
                "PTR" => Rtype::Ptr,
                "CNAME" => Rtype::Cname,
                "TLSA" => Rtype::Tlsa,
                _ => return None,
            };
            snap.get(&l.name, rtype).map(|x| x.dnssec == Some(true))
        })
        .collect();
    if answered.is_empty() {
        None
    } else if answered.iter().all(|v| *v) {
        Some("validated".into())
    } else if answered.iter().any(|v| *v) {
        Some("partial".into())
    } else {
        Some("not validated".into())
    }
}

/// Each `mailto:` destination of `rec` (published for `domain`), with its authorization and
/// MX as the snapshot recorded them.
fn destinations(
    rec: &dmarc::DmarcRecord,
    domain: &str,
    snap: &Snapshot,
) -> Vec<crate::evidence::ReportDestination> {
    let mut out = Vec::new();
    for (kind, list) in [("rua", &rec.rua), ("ruf", &rec.ruf)] {
        for u in list {
            let Some(host) = u.host.clone() else {
                continue;
            };
            let external = !dmarc::same_organization(&host, domain);
            let mut d = crate::evidence::ReportDestination {
                kind: kind.into(),
                uri: u.uri.clone(),
                host: host.clone(),
                external,
                authorization: "not needed".into(),
                ..Default::default()
            };
            if external {
                let name = dmarc::report_authorization_name(domain, &host);
                d.authorization = match snap.get(&name, Rtype::Txt) {
                    None => "not captured".into(),
                    Some(l) if l.outcome.is_failure() => "incomplete".into(),
                    Some(l) => match l.answers.iter().find(|a| starts_with_tag(a, "v=DMARC1")) {
                        Some(r) => {
                            d.authorization_record = Some(r.clone());
                            "authorized".into()
                        }
                        None => "not authorized".into(),
                    },
                };
                d.authorization_name = Some(name);
            }
            match snap.get(&host, Rtype::Mx) {
                Some(l) => {
                    d.mx = l.answers.clone();
                    d.mx_outcome = l.outcome.label().into();
                }
                None => d.mx_outcome = "not captured".into(),
            }
            out.push(d);
        }
    }
    out
}

pub(crate) fn dmarc_posture(domain: &str, snap: &Snapshot) -> DmarcPosture {
    let disc = dmarc::discover(domain, snap);
    let status = serde_json::to_value(disc.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut p = DmarcPosture {
        status,
        record: disc.record.clone(),
        location: disc.location.clone(),
        ..Default::default()
    };
    for (name, outcome) in &disc.failed_lookups {
        p.errors.push(format!(
            "lookup of {name} ended {}: evidence incomplete",
            outcome.label()
        ));
    }
    for name in &disc.multiple_at {
        p.errors.push(format!(
            "{name} has several v=DMARC1 records: all are discarded (RFC 9989 §4.10)"
        ));
    }
    if let Some(r) = &disc.parsed {
        p.p = r.tag("p").map(|_| r.p().as_str().to_string());
        p.sp = r.tag("sp").map(|t| t.value.to_ascii_lowercase());
        p.np = r.tag("np").map(|t| t.value.to_ascii_lowercase());
        p.pct = r.tag("pct").map(|_| r.pct() as u32);
        p.t = r.tag("t").map(|t| t.value.to_ascii_lowercase());
        p.adkim = Some(
            if r.adkim() == dmarc::Alignment::Strict {
                "s"
            } else {
                "r"
            }
            .into(),
        );
        p.aspf = Some(
            if r.aspf() == dmarc::Alignment::Strict {
                "s"
            } else {
                "r"
            }
            .into(),
        );
        p.rua = r.rua.iter().map(|u| u.uri.clone()).collect();
        p.ruf = r.ruf.iter().map(|u| u.uri.clone()).collect();
        let published_for = disc
            .location
            .as_deref()
            .and_then(|l| l.strip_prefix("_dmarc."))
            .unwrap_or(domain);
        p.destinations = destinations(r, published_for, snap);
        p.org_domain = Some(disc.org_domain.clone());
        let loc = disc.location.clone().unwrap_or_default();
        for diag in &r.diagnostics {
            let msg = format!("{loc} {diag}");
            match diag.level {
                crate::records::Level::Error => p.errors.push(msg),
                crate::records::Level::Warning => p.warnings.push(msg),
            }
        }
    }
    p
}

fn dkim_posture(
    domain: &str,
    selector: &str,
    sources: Vec<String>,
    snap: &Snapshot,
) -> DkimPosture {
    let name = format!("{selector}._domainkey.{domain}");
    let mut p = DkimPosture {
        selector: selector.to_string(),
        sources,
        ..Default::default()
    };
    let Some(l) = snap.get(&name, Rtype::Txt) else {
        p.status = "incomplete".into();
        p.errors
            .push(format!("{name} was not captured in this snapshot"));
        return p;
    };
    p.cname_chain = l.cname_chain.clone();
    if l.outcome.is_failure() {
        p.status = "incomplete".into();
        p.errors.push(format!(
            "lookup of {name} ended {}: evidence incomplete",
            l.outcome.label()
        ));
        return p;
    }
    // A key record is any TXT with `p=` (v=DKIM1 is optional); prefer one starting with v=DKIM1.
    let keys: Vec<&String> = l
        .answers
        .iter()
        .filter(|a| dkim::is_key_record(a))
        .collect();
    let Some(text) = keys.first() else {
        p.status = "missing".into();
        return p;
    };
    if keys.len() > 1 {
        p.warnings.push(format!(
            "{name} has {} key records; verifiers may pick either",
            keys.len()
        ));
    }
    p.record = Some(text.to_string());
    let k = dkim::parse(text);
    p.key_type = k.key_type.map(|t| t.as_str().to_string());
    p.key_bits = k.bits;
    p.fingerprint = k.fingerprint.clone();
    p.hash_algorithms = k.hash_algorithms.clone();
    p.testing = k.testing;
    p.services = k.services.clone();
    p.status = serde_json::to_value(k.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    for diag in &k.diagnostics {
        let msg = format!("{name} {diag}");
        match diag.level {
            crate::records::Level::Error => p.errors.push(msg),
            crate::records::Level::Warning => p.warnings.push(msg),
        }
    }
    p
}

fn raw_lookups(domain: &str, snap: &Snapshot) -> Vec<RawLookup> {
    let mut names: Vec<&Lookup> = snap
        .lookups
        .iter()
        .filter(|l| l.name == domain || l.name.ends_with(&format!(".{domain}")) || is_spf_helper(l))
        .collect();
    // Include targets outside the domain belong to whichever domain's SPF tree reaches them;
    // list them under every domain whose tree mentions them.
    let spf = spf_walk::walk(domain, snap);
    let reached: std::collections::BTreeSet<String> =
        spf.tree.iter().filter_map(|n| n.target.clone()).collect();
    names.retain(|l| {
        l.name == domain || l.name.ends_with(&format!(".{domain}")) || reached.contains(&l.name)
    });
    names.sort_by(|a, b| (&a.purpose, &a.name, a.rtype).cmp(&(&b.purpose, &b.name, b.rtype)));
    names
        .into_iter()
        .map(|l| RawLookup {
            name: l.name.clone(),
            rtype: l.rtype.label().to_string(),
            outcome: l.outcome,
            answers: l.answers.clone(),
            cname_chain: l.cname_chain.clone(),
            error: l.error.clone(),
            purpose: l.purpose.clone(),
        })
        .collect()
}

fn is_spf_helper(l: &Lookup) -> bool {
    l.purpose.starts_with("spf-")
}

/// One word for the executive summary.
fn grade(p: &DomainPosture) -> String {
    if p.spf.status == "incomplete" || p.dmarc.status == "incomplete" {
        return "incomplete".into();
    }
    if p.dmarc.status != "found" {
        return "unprotected".into();
    }
    let pol = p.dmarc.p.as_deref().unwrap_or("none");
    let sp_weak = p.dmarc.sp.as_deref().is_some_and(|sp| rank(sp) < rank(pol));
    let partial =
        p.dmarc.pct.is_some_and(|x| x < 100) || p.dmarc.t.as_deref() == Some("y") || sp_weak;
    match pol {
        "reject" | "quarantine" if !partial && p.spf.status == "found" => "enforced".into(),
        "reject" | "quarantine" => "partial".into(),
        // RFC 9989 monitoring mode means p=none while aggregate reports arrive; without rua
        // nothing is monitored.
        _ if p.dmarc.rua.is_empty() => "unprotected".into(),
        _ => "monitoring".into(),
    }
}

pub(crate) fn rank(p: &str) -> u8 {
    match p {
        "reject" => 2,
        "quarantine" => 1,
        _ => 0,
    }
}

/// The domain's transport as the snapshot holds it: what each MX probe met, the MTA-STS record
/// and fetched policy, the TLS-RPT record.
pub fn transport(domain: &str, snap: &Snapshot) -> crate::evidence::transport::TransportPosture {
    use crate::evidence::transport::{
        MxHost, StsFetch, StsState, TlsRptState, TlsSession, TransportPosture,
    };
    use crate::records::{mta_sts, tls_rpt};
    let t = snap.transport.as_ref();
    let mut hosts: Vec<(u16, String)> = snap
        .get(domain, Rtype::Mx)
        .map(|l| {
            l.answers
                .iter()
                .filter_map(|a| {
                    let mut p = a.split_whitespace();
                    Some((
                        p.next()?.parse().ok()?,
                        crate::snapshot::normalize_name(p.next()?),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    hosts.sort();
    let null_mx = hosts.len() == 1 && hosts[0].1.is_empty();
    hosts.retain(|(_, h)| !h.is_empty());

    // MTA-STS: the record, then the policy when a valid one was fetched.
    let mut sts = StsState::default();
    let records: Vec<String> = snap
        .get(&format!("_mta-sts.{domain}"), Rtype::Txt)
        .map(|l| {
            l.answers
                .iter()
                .filter(|a| mta_sts::is_sts_record(a))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut policy = None;
    if let [one] = records.as_slice() {
        let r = mta_sts::parse_record(one);
        sts.record = Some(one.clone());
        sts.id = r.id.clone();
        sts.record_valid = r.is_valid();
        sts.errors
            .extend(r.diagnostics.iter().map(|d| format!("record {d}")));
    } else if records.len() > 1 {
        sts.errors.push(format!(
            "{} MTA-STS records: senders discard them all",
            records.len()
        ));
    }
    if let Some(f) = t.and_then(|t| {
        t.sts_policies
            .iter()
            .find(|f| f.domain.eq_ignore_ascii_case(domain))
    }) {
        sts.fetch = Some(StsFetch {
            url: f.url.clone(),
            outcome: f.outcome.label().to_string(),
            status: f.status,
            error: f.error.clone(),
            certificate_valid: f.certificate.as_ref().map(|c| c.valid),
        });
        if f.outcome == crate::transport::Outcome::Ok {
            let p = mta_sts::parse_policy(f.body.as_deref().unwrap_or_default());
            sts.errors.extend(
                p.diagnostics
                    .iter()
                    .map(|d| format!("policy {}", d.message)),
            );
            if p.is_valid() {
                sts.mode = p.mode.map(|m| m.as_str().to_string());
                sts.max_age = p.max_age;
                sts.mx_patterns = p.mx.iter().map(|m| m.pattern.clone()).collect();
                policy = Some(p);
            }
        }
    }

    let mx = hosts
        .into_iter()
        .map(|(preference, host)| {
            let addresses: Vec<String> = [Rtype::A, Rtype::Aaaa]
                .into_iter()
                .filter_map(|r| snap.get(&host, r))
                .flat_map(|l| l.answers.clone())
                .collect();
            let tlsa = snap
                .get(&format!("_25._tcp.{host}"), Rtype::Tlsa)
                .map(|l| l.answers.clone())
                .unwrap_or_default();
            let probes: Vec<&crate::transport::SmtpProbe> = t
                .map(|t| t.smtp.iter().filter(|p| p.host == host).collect())
                .unwrap_or_default();
            // The probe that got furthest speaks for the host.
            let best = probes
                .iter()
                .find(|p| p.certificate.is_some())
                .or_else(|| probes.iter().find(|p| p.starttls.is_some()))
                .or_else(|| probes.first());
            let validated = |name: &str, rtype: Rtype| {
                snap.dnssec
                    .as_ref()
                    .and_then(|v| v.status(name, rtype))
                    .map(|n| n.status.label().to_string())
            };
            MxHost {
                dnssec: validated(&host, Rtype::A),
                tlsa_dnssec: validated(&format!("_25._tcp.{host}"), Rtype::Tlsa),
                sts_covered: policy.as_ref().map(|p| p.covers(&host)),
                host,
                preference,
                addresses,
                probe: match (t, best) {
                    (Some(t), _) if !t.probed => "not probed".to_string(),
                    (_, Some(p)) => p.outcome.label().to_string(),
                    _ => "not probed".to_string(),
                },
                error: best.and_then(|p| p.error.clone()),
                starttls: best.and_then(|p| p.starttls),
                tls: best.and_then(|p| {
                    Some(TlsSession {
                        version: p.tls_version.clone()?,
                        cipher: p.cipher.clone().unwrap_or_default(),
                    })
                }),
                certificate: best.and_then(|p| p.certificate.clone()),
                legacy_accepted: probes
                    .iter()
                    .flat_map(|p| p.legacy.iter())
                    .filter(|l| l.accepted == Some(true))
                    .map(|l| l.offered.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                tlsa,
            }
        })
        .collect();

    let mut rpt = TlsRptState::default();
    let records: Vec<String> = snap
        .get(&format!("_smtp._tls.{domain}"), Rtype::Txt)
        .map(|l| {
            l.answers
                .iter()
                .filter(|a| tls_rpt::is_tls_rpt_record(a))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let [one] = records.as_slice() {
        let r = tls_rpt::parse(one);
        rpt.record = Some(one.clone());
        rpt.rua = r.rua.iter().map(|u| u.uri.clone()).collect();
        rpt.valid = r.is_valid();
        rpt.errors = r.diagnostics.iter().map(|d| d.to_string()).collect();
    } else if records.len() > 1 {
        rpt.errors.push(format!(
            "{} TLS-RPT records: senders send no reports",
            records.len()
        ));
    }
    TransportPosture {
        assessed: t.is_some(),
        probed: t.is_some_and(|t| t.probed),
        null_mx,
        mx,
        mta_sts: sts,
        tls_rpt: rpt,
    }
}

//! Checks over the DNS snapshot: DNS-001, SPF-*, DKIM-*, DMARC-*.

use super::finding::{Draft, role_impact};
use super::posture::rank;
use super::risk::{Level, Severity};
use crate::config::{DomainConfig, PolicyConfig, Role};
use crate::evidence::{DomainPosture, Finding};
use crate::inventory::Inventory;
use crate::reports::ReportSet;
use crate::snapshot::Snapshot;

pub struct Context<'a> {
    pub domains: &'a [DomainConfig],
    pub postures: &'a [DomainPosture],
    pub snapshot: &'a Snapshot,
    pub inventory: &'a Inventory,
    pub reports: &'a ReportSet,
    pub policy: &'a PolicyConfig,
    pub label: &'a str,
}

pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in cx.postures {
        let role = cx
            .domains
            .iter()
            .find(|d| d.name == p.domain)
            .map(|d| d.role)
            .unwrap_or(Role::Workforce);
        dns_failures(cx, p, &mut out);
        spf(cx, p, role, &mut out);
        dmarc(cx, p, role, &mut out);
        dkim(cx, p, role, &mut out);
    }
    out
}

fn draft(id: &str, subject: impl Into<String>, p: &DomainPosture, role: Role) -> Draft {
    let d = Draft::new(id, subject).domain(&p.domain);
    let imp = super::catalog::get(id)
        .map(|c| c.impact)
        .unwrap_or(Level::Moderate);
    d.impact(role_impact(role, imp))
}

fn dns_failures(cx: &Context<'_>, p: &DomainPosture, out: &mut Vec<Finding>) {
    for l in p.raw.iter().filter(|l| l.outcome.is_failure()) {
        let subject = format!("{} {}", l.name, l.rtype);
        out.push(
            Draft::new("DNS-001", subject.clone())
                .domain(&p.domain)
                .title(format!(
                    "Lookup of {subject} failed ({}): evidence incomplete",
                    l.outcome.label()
                ))
                .evidence(format!(
                    "{} {} → {}{}",
                    l.name,
                    l.rtype,
                    l.outcome.label(),
                    l.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ))
                .evidence(format!(
                    "purpose: {} — the checks that need this answer are indeterminate, not failed",
                    l.purpose
                ))
                .build(cx.label),
        );
    }
}

fn spf(cx: &Context<'_>, p: &DomainPosture, role: Role, out: &mut Vec<Finding>) {
    let s = &p.spf;
    let rec = s.record.clone().unwrap_or_default();
    let at = |d: Draft| d.evidence(format!("{} TXT \"{}\"", p.domain, rec));
    match s.status.as_str() {
        "missing" => {
            let mut d = draft("SPF-001", &p.domain, p, role)
                .evidence(format!("{} has no v=spf1 TXT record", p.domain));
            if role == Role::Parked {
                d = d.remediation(
                    "Publish `v=spf1 -all` so no host is authorized to send as this parked domain.",
                );
            }
            out.push(d.build(cx.label));
            return;
        }
        "multiple" => {
            out.push(
                draft("SPF-002", &p.domain, p, role)
                    .evidence_all(s.errors.iter().cloned())
                    .evidence(format!("{} v=spf1 records published", p.domain))
                    .build(cx.label),
            );
            return;
        }
        "incomplete" if s.record.is_none() => return,
        _ => {}
    }
    if s.lookups > 10 {
        out.push(
            at(draft("SPF-003", &p.domain, p, role))
                .title(format!(
                    "SPF needs {} DNS lookups (limit 10): receivers return permerror",
                    s.lookups
                ))
                .evidence_all(s.tree.iter().cloned())
                .build(cx.label),
        );
    }
    if s.void_lookups > 2 {
        out.push(
            at(draft("SPF-004", &p.domain, p, role))
                .title(format!(
                    "SPF has {} void lookups (more than 2)",
                    s.void_lookups
                ))
                .evidence_all(
                    s.tree
                        .iter()
                        .filter(|l| l.contains("(nxdomain)") || l.contains("(nodata)"))
                        .cloned(),
                )
                .build(cx.label),
        );
    }
    let all = s.all.as_deref().unwrap_or("");
    let weak = match all {
        "+all" => Some((
            "+all authorizes every host on the internet to send as this domain",
            Severity::Critical,
        )),
        "?all" => Some((
            "?all (neutral) gives no protection against unauthorized senders",
            Severity::High,
        )),
        "" if s.record.is_some() => Some((
            "no `all` term and no redirect: the default result is neutral",
            Severity::High,
        )),
        _ => None,
    };
    if let Some((why, sev)) = weak {
        let mut d = at(draft("SPF-005", &p.domain, p, role))
            .severity(sev)
            .evidence(why.to_string());
        if all == "+all" {
            d = d
                .likelihood(Level::VeryHigh)
                .title("SPF ends in +all: every host is authorized");
        }
        out.push(d.build(cx.label));
    }
    let ptr_terms: Vec<&String> = s.tree.iter().filter(|l| is_ptr_term(l)).collect();
    if !ptr_terms.is_empty() {
        out.push(
            at(draft("SPF-006", &p.domain, p, role))
                .evidence_all(ptr_terms.into_iter().cloned())
                .build(cx.label),
        );
    }
}

fn is_ptr_term(line: &str) -> bool {
    let t = line.trim_start().trim_start_matches(['+', '-', '~', '?']);
    t == "ptr" || t.starts_with("ptr:") || t.starts_with("ptr ")
}

fn dmarc(cx: &Context<'_>, p: &DomainPosture, role: Role, out: &mut Vec<Finding>) {
    let m = &p.dmarc;
    let loc = m
        .location
        .clone()
        .unwrap_or_else(|| format!("_dmarc.{}", p.domain));
    let rec_line = || format!("{loc} TXT \"{}\"", m.record.clone().unwrap_or_default());
    match m.status.as_str() {
        "missing" => {
            out.push(
                draft("DMARC-001", &p.domain, p, role)
                    .evidence(format!("no v=DMARC1 record at _dmarc.{} or any parent the RFC 9989 tree walk visits", p.domain))
                    .build(cx.label),
            );
            return;
        }
        "multiple" => {
            out.push(
                draft("DMARC-002", &p.domain, p, role)
                    .evidence_all(m.errors.iter().cloned())
                    .build(cx.label),
            );
            return;
        }
        "invalid" => {
            let id = if m
                .record
                .as_deref()
                .is_some_and(|r| !crate::snapshot::starts_with_tag(r, "v=DMARC1"))
            {
                "DMARC-002"
            } else {
                "DMARC-001"
            };
            out.push(
                draft(id, &p.domain, p, role)
                    .evidence(rec_line())
                    .evidence_all(m.errors.iter().cloned())
                    .build(cx.label),
            );
            return;
        }
        "found" => {}
        _ => return,
    }
    // A record found at a parent applies to this domain through sp (RFC 9989 §4.10).
    let inherited = loc != format!("_dmarc.{}", p.domain);
    let p_eff = if inherited {
        m.sp.clone().or(m.p.clone())
    } else {
        m.p.clone()
    }
    .unwrap_or_else(|| "none".into());
    let inherit_note = inherited.then(|| {
        format!(
            "{} has no record of its own; the policy at {loc} applies through sp",
            p.domain
        )
    });
    let base = |id: &str| {
        let mut d = draft(id, &p.domain, p, role).evidence(rec_line());
        if let Some(n) = &inherit_note {
            d = d.evidence(n.clone());
        }
        d
    };
    match p_eff.as_str() {
        "none" => {
            let mut d = base("DMARC-003");
            if role == Role::Parked {
                d = d.remediation("Publish `p=reject` for this parked domain: it sends no mail, so nothing legitimate can fail.");
            }
            out.push(d.build(cx.label));
        }
        "quarantine" => out.push(base("DMARC-004").build(cx.label)),
        _ => {}
    }
    let pct = m.pct.unwrap_or(100);
    if (pct < 100 || m.t.as_deref() == Some("y")) && p_eff != "none" {
        let why = if pct < 100 {
            format!(
                "pct={pct}: the policy applies to {pct}% of failing mail (RFC 7489); RFC 9989 removed pct, and receivers following it treat the record as t=y"
            )
        } else {
            "t=y: test mode, receivers apply one level below p (RFC 9989)".to_string()
        };
        out.push(base("DMARC-005").evidence(why).build(cx.label));
    }
    if !inherited
        && let Some(sp) = m.sp.as_deref()
        && rank(sp) < rank(&p_eff)
    {
        out.push(
                    base("DMARC-006")
                        .evidence(format!("p={p_eff} but sp={sp}: subdomains (including ones that do not exist) are protected less"))
                        .build(cx.label),
                );
    }
    let strongest =
        m.sp.as_deref()
            .map(|sp| rank(sp).max(rank(&p_eff)))
            .unwrap_or(rank(&p_eff));
    match m.np.as_deref() {
        None if rank(&p_eff) > 0 => out.push(
            base("DMARC-007")
                .severity(Severity::Low)
                .evidence("no np tag: non-existent subdomains fall back to sp, then p".to_string())
                .build(cx.label),
        ),
        Some(np) if rank(np) < strongest => out.push(
            base("DMARC-007")
                .evidence(format!(
                    "np={np} is weaker than the policy for existing domains"
                ))
                .build(cx.label),
        ),
        _ => {}
    }
    if m.rua.is_empty() {
        out.push(base("DMARC-008").build(cx.label));
    }
}

fn dkim(cx: &Context<'_>, p: &DomainPosture, role: Role, out: &mut Vec<Finding>) {
    for k in &p.dkim {
        let subject = format!("{}._domainkey.{}", k.selector, p.domain);
        let rec = || format!("{subject} TXT \"{}\"", k.record.clone().unwrap_or_default());
        let chain = (!k.cname_chain.is_empty())
            .then(|| format!("reached through CNAME {}", k.cname_chain.join(" → ")));
        let sending = k.sources.iter().any(|s| s == "inventory" || s == "reports");
        match k.status.as_str() {
            "missing" if sending && role != Role::Parked => {
                let mut d = draft("DKIM-001", subject.clone(), p, role).evidence(format!(
                    "{subject} has no DKIM key record; selector known from: {}",
                    k.sources.join(", ")
                ));
                if let Some(c) = &chain {
                    d = d.evidence(c.clone());
                }
                let vendors: Vec<&str> = cx
                    .inventory
                    .vendors
                    .iter()
                    .filter(|v| {
                        v.dkim_selectors.iter().any(|s| s == &k.selector)
                            && v.domains.iter().any(|x| x == &p.domain)
                    })
                    .map(|v| v.vendor.as_str())
                    .collect();
                if !vendors.is_empty() {
                    d = d.evidence(format!(
                        "inventory vendor(s) using this selector: {}",
                        vendors.join(", ")
                    ));
                }
                if cx.reports.reports.iter().any(|r| {
                    r.rows.iter().any(|row| {
                        row.dkim.iter().any(|s| {
                            s.selector.as_deref() == Some(k.selector.as_str())
                                && s.domain.eq_ignore_ascii_case(&p.domain)
                        })
                    })
                }) {
                    d = d.evidence(format!(
                        "signatures with s={} d={} appear in this period's reports",
                        k.selector, p.domain
                    ));
                }
                out.push(d.build(cx.label));
            }
            _ => {}
        }
        if k.key_type.as_deref() == Some("rsa")
            && let Some(bits) = k.key_bits
        {
            if bits < 1024 {
                out.push(
                    draft("DKIM-002", subject.clone(), p, role)
                        .title(format!(
                            "DKIM key {subject} is RSA-{bits}: receivers must treat it as unsigned"
                        ))
                        .evidence(rec())
                        .evidence(format!("RSA modulus {bits} bits"))
                        .build(cx.label),
                );
            } else if bits < cx.policy.min_dkim_bits {
                out.push(
                    draft("DKIM-003", subject.clone(), p, role)
                        .title(format!(
                            "DKIM key {subject} is RSA-{bits} (policy minimum {})",
                            cx.policy.min_dkim_bits
                        ))
                        .evidence(rec())
                        .evidence(format!(
                            "RSA modulus {bits} bits; fingerprint {}",
                            k.fingerprint.as_deref().unwrap_or("-")
                        ))
                        .build(cx.label),
                );
            }
        }
    }
}

//! Checks over the DNS snapshot: DNS-001, SPF-*, DKIM-*, DMARC-*.

use super::basis::Reach;
pub use super::dns_context::Context;
use super::finding::Draft;
use super::posture::rank;
use super::risk::{Level, Severity};
use crate::config::Role;
use crate::evidence::{DomainPosture, Finding};

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
        report_destinations(cx, p, role, &mut out);
    }
    vendor_authorization(cx, &mut out);
    ended_vendors(cx, &mut out);
    out
}

/// VEN-005 for a vendor whose contract ended: the SPF includes and DKIM selectors it was
/// given are excess authorization while still published (RFC 9989 §7.1).
fn ended_vendors(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for v in cx
        .inventory
        .vendors
        .iter()
        .filter(|v| v.ended_by(cx.period_end))
    {
        let mut still: Vec<String> = Vec::new();
        let mut steps: Vec<String> = Vec::new();
        for p in cx.postures {
            if !v.domains.is_empty() && !v.domains.iter().any(|d| d == &p.domain) {
                continue;
            }
            for inc in &v.spf_includes {
                if p.spf.tree.iter().any(|l| {
                    l.split_whitespace().any(|t| {
                        t.trim_start_matches(['+', '-', '~', '?'])
                            .eq_ignore_ascii_case(&format!("include:{inc}"))
                    })
                }) {
                    // What is wrong first: a long record is cut to an excerpt in the PDF.
                    still.push(format!(
                        "the SPF record of {} still has include:{inc}: {} TXT \"{}\"",
                        p.domain,
                        p.domain,
                        p.spf.record.clone().unwrap_or_default()
                    ));
                    steps.push(format!(
                        "remove `include:{inc}` from the SPF record of {}",
                        p.domain
                    ));
                }
            }
            for k in p.dkim.iter().filter(|k| {
                v.dkim_selectors
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&k.selector))
                    && matches!(k.status.as_str(), "valid" | "weak")
            }) {
                still.push(format!(
                    "{}._domainkey.{} still publishes a key",
                    k.selector, p.domain
                ));
                steps.push(format!(
                    "revoke `{}._domainkey.{}` (publish `v=DKIM1; p=`)",
                    k.selector, p.domain
                ));
            }
        }
        if still.is_empty() {
            continue;
        }
        let when = v
            .ended_on
            .map(|d| format!("on {d}"))
            .unwrap_or_else(|| "(no end date recorded)".into());
        let sent = cx
            .reports
            .aggregate
            .rows
            .iter()
            .filter(|m| v.ip_ranges.iter().any(|n| n.contains(&m.row.source_ip)))
            .map(|m| m.row.count)
            .sum::<u64>();
        out.push(
            Draft::new("VEN-005", v.vendor.clone())
                .domain(v.domains.first().map(String::as_str).unwrap_or_default())
                .vendor(&v.vendor)
                .owner(&v.owner)
                .title(format!(
                    "{}: contract ended {when}, but our DNS still authorizes it to send as us",
                    v.vendor
                ))
                .evidence(format!(
                    "{} line {}: status = ended, ended_on = {}",
                    cx.inventory.source.as_deref().unwrap_or("inventory"),
                    v.line,
                    v.ended_on.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
                ))
                .evidence_all(still)
                .evidence(format!(
                    "{} from its ranges in this period's reports",
                    crate::text::count(sent as usize, "message", "messages")
                ))
                .remediation(format!(
                    "The contract ended, so nothing should send as us through {}: {}. Do not add its include or selectors back; if mail still arrives from it, find who still uses it.{}",
                    v.vendor,
                    steps.join("; "),
                    if v.phi == Some(true) {
                        " It handled PHI: confirm the business associate agreement's termination terms were carried out (PHI returned or destroyed, 45 CFR 164.504(e)(2)(ii)(J))."
                    } else {
                        ""
                    }
                ))
                .build(cx.label),
        );
    }
}

/// RFC 7208 §3.4: answers over 450 octets risk UDP truncation and TCP-less receivers.
const SPF_SIZE_LIMIT: usize = 450;

/// Whether the reports still arrive elsewhere when this destination drops them: another rua
/// address in our own domain or one that has authorized them; failure reports are not what
/// the activity review reads.
fn other_rua(
    m: &crate::evidence::DmarcPosture,
    d: &crate::evidence::ReportDestination,
) -> Option<(Reach, String)> {
    if d.kind == "ruf" {
        return Some((
            Reach::Minimal,
            "failure reports are not what the activity review reads: aggregate reports are".into(),
        ));
    }
    m.destinations
        .iter()
        .find(|o| {
            o.kind == "rua" && o.uri != d.uri && (!o.external || o.authorization == "authorized")
        })
        .map(|o| {
            (
                Reach::Minimal,
                format!(
                    "aggregate reports still arrive at {}: only the copies for {} are lost",
                    o.uri, d.host
                ),
            )
        })
}

/// When non-existent subdomains get no policy at all, forging mail from a made-up subdomain
/// takes nothing but typing it: the gap is as open as a missing `sp` (DMARC-006), not the
/// partial one the catalog assumes for a missing `np`.
fn open_to_anyone(d: Draft, effective: &str) -> Draft {
    if effective == "none" {
        d.exposure(
            Level::High,
            "non-existent subdomains get p=none: anyone can send forged mail from any made-up subdomain, and it is delivered",
        )
    } else {
        d
    }
}

/// DMARC-009 (external destination not authorized) and DMARC-010 (failure reports asked).
fn report_destinations(cx: &Context<'_>, p: &DomainPosture, role: Role, out: &mut Vec<Finding>) {
    let m = &p.dmarc;
    if m.status != "found" {
        return;
    }
    let loc = m.location.clone().unwrap_or_default();
    let rec_line = format!("{loc} TXT \"{}\"", m.record.clone().unwrap_or_default());
    for d in m.destinations.iter().filter(|d| d.external) {
        let name = d.authorization_name.clone().unwrap_or_default();
        match d.authorization.as_str() {
            "not authorized" => out.push(
                draft("DMARC-009", format!("{} {}", p.domain, d.uri), p, role)
                    .reach_if(other_rua(m, d))
                    .title(format!(
                        "{} reports go to {}, which has not authorized them",
                        d.kind, d.host
                    ))
                    .evidence(rec_line.clone())
                    .evidence(format!(
                        "{name} TXT: no v=DMARC1 record (RFC 7489 §7.1): receivers will not send {} reports there",
                        d.kind
                    ))
                    .evidence(format!(
                        "{} MX: {}",
                        d.host,
                        if d.mx.is_empty() {
                            d.mx_outcome.clone()
                        } else {
                            d.mx.join(", ")
                        }
                    ))
                    .remediation(match cx.report_processor(&d.host) {
                        // A processor under a BAA is meant to receive them: it must authorize.
                        Some(v) if d.kind == "ruf" && v.baa_current(cx.period_end) => format!(
                            "Ask {}, which processes the failure reports under a business associate agreement, to publish `{name}` TXT \"v=DMARC1\"; until then receivers that check send nothing there. Remove the ruf address instead if failure reports are not needed, since they can carry PHI.",
                            v.vendor
                        ),
                        _ if d.kind == "ruf" => format!(
                            "Remove this ruf address: its operator has not authorized reports for {} ({name} has no v=DMARC1 record), so receivers that check send nothing there, and failure reports can carry PHI.",
                            p.domain
                        ),
                        _ => format!(
                            "Ask the operator of {} to publish `{name}` TXT \"v=DMARC1\" (or a wildcard for all our domains), or remove the address from rua; until then receivers that check drop the reports for it.",
                            d.host
                        ),
                    })
                    .build(cx.label),
            ),
            "not captured" => tracing::debug!(%name, "report authorization not in the snapshot"),
            _ => {}
        }
    }
    if let Some(first) = m.destinations.iter().find(|d| d.kind == "ruf") {
        let ruf: Vec<&crate::evidence::ReportDestination> =
            m.destinations.iter().filter(|d| d.kind == "ruf").collect();
        let third = ruf.iter().any(|d| d.external);
        let mut f = draft("DMARC-010", format!("{} ruf", p.domain), p, role)
            .title(format!(
                "{} asks receivers for failure reports (ruf){}",
                p.domain,
                if third { ", sent to a third party" } else { "" }
            ))
            .evidence(rec_line.clone())
            .evidence_all(ruf.iter().map(|d| {
                format!(
                    "ruf {} → {} ({})",
                    d.uri,
                    d.host,
                    if d.external {
                        "another organization"
                    } else {
                        "our own domain"
                    }
                )
            }))
            .evidence(
                "failure reports can include message headers and content, which may hold PHI (RFC 9989 §10.2)"
                    .to_string(),
            );
        let hosts: Vec<String> = ruf
            .iter()
            .filter(|d| d.external)
            .map(|d| d.host.clone())
            .collect();
        if !hosts.is_empty() {
            f = f.party(&hosts.join(", "));
        }
        // The processor, when the inventory lists it (by a name under the destination's domain).
        if let Some(v) = hosts.iter().find_map(|h| cx.report_processor(h)) {
            if v.baa_current(cx.period_end) {
                f = f.remediation(format!(
                    "{} receives the failure reports under a business associate agreement (signed{}): keep it current and confirm the processor's safeguards at its review; remove `ruf` if failure reports are not needed, since they can carry PHI.",
                    v.vendor,
                    v.baa_expires
                        .map(|e| format!(", expires {e}"))
                        .unwrap_or_default()
                ));
            }
            f = f.vendor(&v.vendor).evidence(format!(
                "the processor is inventory vendor {} (phi = {}, BAA {}{})",
                v.vendor,
                v.phi_word(),
                v.baa.map(|b| b.label()).unwrap_or("unknown"),
                v.baa_expires
                    .map(|e| format!(", expires {e}"))
                    .unwrap_or_default()
            ));
        }
        if !third {
            f = f.severity(Severity::Medium).reach(
                Reach::Minimal,
                "the failure reports go to a mailbox in our own domain, under our safeguards",
            );
        } else if ruf
            .iter()
            .filter(|d| d.external)
            .all(|d| d.authorization == "not authorized")
        {
            // RFC 7489 §7.1: receivers that verify external destinations send nothing there.
            f = f.exposure(
                Level::Low,
                "the third party has not authorized the reports (DMARC-009), so receivers that verify external destinations send none; receivers that do not verify still may",
            );
        }
        tracing::debug!(first = %first.uri, "DMARC-010");
        out.push(f.build(cx.label));
    }
}

/// VEN-002: for each PHI vendor, a few addresses of each of its ranges are run through
/// RFC 7208 `check_host()` over the snapshot, for every domain it sends as. A range the SPF
/// record does not pass, from a vendor without a DKIM key published under that domain, is a
/// stream that fails DMARC once the policy is enforced.
fn vendor_authorization(cx: &Context<'_>, out: &mut Vec<Finding>) {
    use crate::records::spf_eval::{SpfResult, check_host, sample_addresses};
    for v in cx.inventory.vendors.iter().filter(|v| {
        // Selectors that could not be read are unknown, not absent: no claim about them.
        (v.phi == Some(true) || v.unknown("phi"))
            && !v.ip_ranges.is_empty()
            && !v.ended_by(cx.period_end)
            && !v.unknown("dkim_selectors")
    }) {
        for dom in &v.domains {
            let Some(p) = cx
                .postures
                .iter()
                .find(|p| p.domain.eq_ignore_ascii_case(dom))
            else {
                continue;
            };
            let role = cx
                .domains
                .iter()
                .find(|d| d.name == p.domain)
                .map(|d| d.role)
                .unwrap_or(Role::Workforce);
            let sender = format!("postmaster@{}", p.domain);
            let mut refused: Vec<String> = Vec::new();
            let mut unknown: Vec<String> = Vec::new();
            let mut all_permerror = true;
            for net in &v.ip_ranges {
                for ip in sample_addresses(net) {
                    let e = check_host(cx.snapshot, ip, &p.domain, &sender);
                    match e.result {
                        SpfResult::Pass => {}
                        SpfResult::TempError => unknown.push(format!(
                            "{ip} (range {net}): {} — {}",
                            e.result.label(),
                            e.reason
                        )),
                        r => refused.push({
                            all_permerror &= r == SpfResult::PermError;
                            format!(
                                "{ip} (range {net}): SPF {}{}",
                                r.label(),
                                e.matched
                                    .map(|m| format!(" — matched `{m}`"))
                                    .unwrap_or_else(|| format!(" — {}", e.reason))
                            )
                        }),
                    }
                }
            }
            if refused.is_empty() && !unknown.is_empty() {
                // Evidence incomplete is said out loud, never silently treated as a pass.
                out.push(
                    Draft::new("DNS-001", format!("SPF for {} as {}", v.vendor, p.domain))
                        .domain(&p.domain)
                        .title(format!(
                            "SPF authorization of PHI vendor {} on {} could not be evaluated: evidence incomplete",
                            v.vendor, p.domain
                        ))
                        .evidence_all(unknown.iter().take(10).cloned())
                        .evidence(
                            "VEN-002 is indeterminate for this vendor until a snapshot holds the answers listed"
                                .to_string(),
                        )
                        .build(cx.label),
                );
                continue;
            }
            if refused.is_empty() {
                continue;
            }
            let aligned: Vec<String> = p
                .dkim
                .iter()
                .filter(|k| {
                    v.dkim_selectors
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(&k.selector))
                })
                // A weak key still aligns at receivers; its size is DKIM-003's business.
                .filter(|k| matches!(k.status.as_str(), "valid" | "weak"))
                .map(|k| format!("{}._domainkey.{}", k.selector, p.domain))
                .collect();
            if !aligned.is_empty() {
                continue;
            }
            // When the record's own error fails every address, the vendor's authorization is
            // not what is missing: say so, and leave the record to its SPF finding.
            let title = if all_permerror {
                format!(
                    "PHI vendor {} has no aligned DKIM for {}, and the SPF record of {} returns permerror for each of its addresses, so its mail can pass DMARC only by DKIM or by a MAIL FROM subdomain with its own SPF record",
                    v.vendor, p.domain, p.domain
                )
            } else {
                format!(
                    "PHI vendor {} sends as {} from addresses SPF does not authorize, without aligned DKIM",
                    v.vendor, p.domain
                )
            };
            let mut f = draft("VEN-002", format!("{} as {}", v.vendor, p.domain), p, role)
                .owner(&v.owner)
                .title(title)
                .evidence(match &p.spf.record {
                    Some(r) => format!("{} TXT \"{r}\"", p.domain),
                    None => format!("{} SPF status: {}", p.domain, p.spf.status),
                })
                .evidence_all(refused)
                .evidence_all(unknown)
                .evidence(if v.dkim_selectors.is_empty() {
                    format!(
                        "inventory lists no DKIM selector for {} (line {})",
                        v.vendor, v.line
                    )
                } else {
                    format!(
                        "no valid DKIM key under {} for the vendor's selectors: {}",
                        p.domain,
                        v.dkim_selectors.join(", ")
                    )
                });
            if !v.spf_includes.is_empty() {
                f = f.evidence(format!(
                    "inventory expects SPF include {}",
                    v.spf_includes.join(", ")
                ));
            }
            // The record's own error fails every address: the record is the cause.
            // The evaluation is a what-if: the inventory does not say which MAIL FROM the vendor
            // uses, so its listed ranges are checked as if it were this domain.
            f = f.evidence(format!(
                "evaluated as if {}'s MAIL FROM were {} (the inventory does not say which it uses; the reports show what receivers checked)",
                v.vendor, p.domain
            ));
            if all_permerror {
                f = f
                    .evidence(format!(
                        "SPF at {} ends in permerror for every address, so no address could pass there (see its SPF finding)",
                        p.domain
                    ))
                    .remediation(format!(
                        "If {} sends with a MAIL FROM under {}, SPF there must first work (see its SPF finding); either way, have it sign with DKIM under {} so its mail aligns without SPF.",
                        v.vendor, p.domain, p.domain
                    ));
            } else {
                let published: Vec<&String> = v
                    .spf_includes
                    .iter()
                    .filter(|i| {
                        p.spf.tree.iter().any(|l| {
                            l.split_whitespace()
                                .next()
                                .is_some_and(|t| t.eq_ignore_ascii_case(&format!("include:{i}")))
                        })
                    })
                    .collect();
                if !published.is_empty() {
                    f = f.remediation(format!(
                        "The vendor's include ({}) is published, yet addresses of its listed ranges do not pass: the include does not cover them. Ask {} which include or ranges cover its senders, or correct the inventory's ip_ranges; or have it sign with DKIM under {}.",
                        published.iter().map(|s| format!("include:{s}")).collect::<Vec<_>>().join(", "),
                        v.vendor,
                        p.domain
                    ));
                }
            }
            out.push(f.vendor(&v.vendor).build(cx.label));
        }
    }
}

fn draft(id: &str, subject: impl Into<String>, p: &DomainPosture, role: Role) -> Draft {
    let d = Draft::new(id, subject).domain(&p.domain);
    // Bulk-sender rules do not reach a domain that sends no mail: the parked-domain practice does.
    match (role, id) {
        (Role::Parked, "DMARC-001") => d.authority(
            "RFC 9989 §4.10.1 (without a record no policy applies); M3AAWG Protecting Parked Domains BCP (2015): publish p=reject",
        ),
        (Role::Parked, "SPF-001") => d.authority(
            "RFC 7208 §4.5 (result none); M3AAWG Protecting Parked Domains BCP (2015): publish v=spf1 -all",
        ),
        _ => d,
    }
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
        let mut d = at(draft("SPF-003", &p.domain, p, role))
            .title(format!(
                "SPF needs {} DNS lookups (limit 10): receivers that reach the 11th return permerror",
                s.lookups
            ))
            .evidence_all(s.tree.iter().cloned());
        if let Some(r) = lookup_remedy(cx, p, s.lookups as usize) {
            d = d.remediation(r);
        }
        out.push(d.build(cx.label));
    }
    // Other causes of permerror (loops, >10 MX hosts, include targets without SPF, syntax):
    // receivers fail SPF for every message, so it is reported with the lookup-limit check.
    let other_permerrors: Vec<String> = s
        .errors
        .iter()
        .filter(|e| !e.contains("DNS-querying terms;") && !e.contains("void lookups;"))
        .cloned()
        .collect();
    if s.status == "permerror" && !other_permerrors.is_empty() {
        out.push(
            at(draft("SPF-003", format!("{} permerror", p.domain), p, role))
                .title("SPF evaluation ends in permerror: receivers treat SPF as failed")
                .evidence_all(other_permerrors)
                .evidence_all(s.tree.iter().cloned())
                .remediation(
                    "Fix the errors listed: remove include loops, keep `mx` to 10 hosts or use ip4/ip6, and point includes only at names that publish one v=spf1 record.",
                )
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
        // With incomplete evidence a missing `all` may sit behind a failed redirect.
        "" if s.record.is_some() && s.status != "incomplete" => Some((
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
            d = d.title("SPF ends in +all: every host is authorized");
        }
        out.push(d.build(cx.label));
    }
    if p.spf_size_octets > SPF_SIZE_LIMIT {
        out.push(
            at(draft("SPF-007", &p.domain, p, role))
                .evidence(format!(
                    "the record is {} octets; RFC 7208 §3.4 advises at most {SPF_SIZE_LIMIT}",
                    p.spf_size_octets
                ))
                .build(cx.label),
        );
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

/// The includes at the top of an SPF record that are candidates to remove: an ended vendor's,
/// or one no inventory vendor names (whose user must be found first). Named with their lookup cost, so the fix is exact.
fn lookup_remedy(cx: &Context<'_>, p: &DomainPosture, lookups: usize) -> Option<String> {
    let mut drop: Vec<(String, usize, String)> = Vec::new();
    for line in p.spf.tree.iter().filter(|l| !l.starts_with(' ')) {
        let Some(rest) = line.strip_prefix("include:") else {
            continue;
        };
        let name = rest.split_whitespace().next().unwrap_or("").to_string();
        let cost = line
            .split('[')
            .nth(1)
            .and_then(|x| x.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1);
        let users: Vec<&crate::inventory::Vendor> = cx
            .inventory
            .vendors
            .iter()
            .filter(|v| v.spf_includes.iter().any(|i| i.eq_ignore_ascii_case(&name)))
            .collect();
        if users.is_empty() {
            drop.push((
                name,
                cost,
                "no inventory vendor names it: first find out who sends through it, and list it in the inventory or remove it".into(),
            ));
        } else if users.iter().all(|v| v.ended_by(cx.period_end)) {
            let v = users[0];
            drop.push((
                name,
                cost,
                format!(
                    "{}'s contract ended{}",
                    v.vendor,
                    v.ended_on.map(|d| format!(" on {d}")).unwrap_or_default()
                ),
            ));
        }
    }
    if drop.is_empty() {
        return None;
    }
    let saved: usize = drop.iter().map(|(_, c, _)| c).sum();
    let list = drop
        .iter()
        .map(|(n, c, why)| {
            format!(
                "`include:{n}` ({c} lookup{}; {why})",
                if *c == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "The record needs {lookups} lookups; 10 is the limit. These includes are candidates to remove: {list}. Removing them saves {saved} lookup{} ({}). Otherwise replace includes with the ip4/ip6 ranges they resolve to, or move senders to subdomains.",
        if saved == 1 { "" } else { "s" },
        if lookups.saturating_sub(saved) <= 10 {
            format!("{} in all: within the limit", lookups - saved)
        } else {
            format!("still {} in all: more must go", lookups - saved)
        }
    ))
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
    let (p_eff, inherited) = p.effective_policy();
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
        "quarantine" => out.push(
            base("DMARC-004")
                .reach(
                    Reach::Partial,
                    "p=quarantine: forged mail is junked, not refused",
                )
                .build(cx.label),
        ),
        _ => {}
    }
    let pct = m.pct.unwrap_or(100);
    if (pct < 100 || m.t.as_deref() == Some("y")) && p_eff != "none" {
        let why = if pct < 100 {
            format!(
                "pct={pct}: RFC 7489 receivers apply the policy to {pct}% of failing mail and the next weaker policy to the rest; RFC 9989 removed pct, so receivers following it ignore the tag and apply the policy to all failing mail (only pct=0 maps to t=y)"
            )
        } else {
            "t=y: test mode, receivers apply one level below p (RFC 9989)".to_string()
        };
        out.push(
            base("DMARC-005")
                .evidence(why)
                .reach(
                    Reach::Partial,
                    "part of the failing mail is treated one level more leniently",
                )
                .build(cx.label),
        );
    }
    if !inherited
        && let Some(sp) = m.sp.as_deref()
        && rank(sp) < rank(&p_eff)
    {
        let mut d = base("DMARC-006").evidence(format!(
            "p={p_eff} but sp={sp}: subdomains (including ones that do not exist) are protected less"
        ));
        if sp != "none" {
            d = d.reach(
                Reach::Partial,
                format!("sp={sp} still junks forged subdomain mail"),
            );
        }
        out.push(d.build(cx.label));
    }
    let strongest =
        m.sp.as_deref()
            .map(|sp| rank(sp).max(rank(&p_eff)))
            .unwrap_or(rank(&p_eff));
    // What non-existent subdomains get (RFC 9989 §4.7: np, else sp, else p) decides how far
    // the gap reaches. pct below 100 (or t=y) applies that policy to part of the failing mail
    // only, and one level weaker to the rest: the rest decides.
    let part = if pct < 100 {
        Some(format!(
            ", applied to {pct}% of failing mail (pct={pct}) and one level weaker to the rest"
        ))
    } else if m.t.as_deref() == Some("y") {
        Some(", in test mode (t=y): applied one level weaker".to_string())
    } else {
        None
    };
    let np_reach = |effective: &str, how: String| {
        let how = format!("{how}{}", part.as_deref().unwrap_or(""));
        match (effective, part.is_some()) {
            ("reject", false) => (
                Reach::Minimal,
                format!("{how}: mail from non-existent subdomains is already refused"),
            ),
            // Part of the mail meets the policy and the rest the next weaker one: the gap
            // reaches part of the mail, as DMARC-005 says of the domain itself.
            ("reject", true) => (
                Reach::Partial,
                format!(
                    "{how}: mail from non-existent subdomains is refused in part and junked for the rest"
                ),
            ),
            ("quarantine", false) => (
                Reach::Partial,
                format!("{how}: mail from non-existent subdomains is junked, not refused"),
            ),
            ("quarantine", true) => (
                Reach::Partial,
                format!(
                    "{how}: mail from non-existent subdomains is junked in part and delivered for the rest"
                ),
            ),
            _ => (
                Reach::Full,
                format!("{how}: mail from non-existent subdomains is delivered"),
            ),
        }
    };
    match m.np.as_deref() {
        None if rank(&p_eff) > 0 => {
            let (fallback, tag) = match (inherited, m.sp.as_deref()) {
                (false, Some(sp)) => (sp.to_string(), "sp"),
                _ => (p_eff.clone(), if inherited { "sp" } else { "p" }),
            };
            let (reach, why) = np_reach(
                &fallback,
                format!("np is absent and falls back to {tag}={fallback}"),
            );
            out.push(
                open_to_anyone(
                    base("DMARC-007")
                        .severity(Severity::Low)
                        .title(format!(
                            "No np policy: non-existent subdomains of {} fall back to {tag}={fallback}",
                            p.domain
                        ))
                        .evidence(format!(
                            "no np tag: non-existent subdomains fall back to {tag}={fallback} (RFC 9989 §4.7)"
                        ))
                        .reach(reach, why),
                    &fallback,
                )
                .build(cx.label),
            )
        }
        Some(np) if rank(np) < strongest => {
            let (reach, why) = np_reach(np, format!("np={np}"));
            out.push(
                open_to_anyone(
                    base("DMARC-007")
                        .evidence(format!(
                            "np={np} is weaker than the policy for existing domains"
                        ))
                        .reach(reach, why),
                    np,
                )
                .build(cx.label),
            )
        }
        _ => {}
    }
    if m.rua.is_empty() {
        out.push(base("DMARC-008").build(cx.label));
    } else {
        // Every rua host provably cannot receive mail (it does not exist, or publishes a null
        // MX): no aggregate report can arrive, which is DMARC-008 in effect. An MX lookup that
        // found no MX is not enough: mail then falls back to the host's address records.
        let dead = |d: &crate::evidence::ReportDestination| {
            d.mx_outcome == "nxdomain"
                || (d.mx.len() == 1 && d.mx[0].split_whitespace().nth(1) == Some("."))
        };
        let rua: Vec<&crate::evidence::ReportDestination> =
            m.destinations.iter().filter(|d| d.kind == "rua").collect();
        if !rua.is_empty() && rua.iter().all(|d| dead(d)) {
            out.push(
                base("DMARC-008")
                    .title("Aggregate-report destinations cannot receive mail: no reports arrive")
                    .evidence_all(rua.iter().map(|d| {
                        format!(
                            "{} → {}: MX {}{}",
                            d.uri,
                            d.host,
                            d.mx_outcome,
                            if d.mx.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", d.mx.join(", "))
                            }
                        )
                    }))
                    .build(cx.label),
            );
        }
    }
}

fn dkim(cx: &Context<'_>, p: &DomainPosture, role: Role, out: &mut Vec<Finding>) {
    for k in &p.dkim {
        let subject = format!("{}._domainkey.{}", k.selector, p.domain);
        let rec = || format!("{subject} TXT \"{}\"", k.record.clone().unwrap_or_default());
        let chain = (!k.cname_chain.is_empty())
            .then(|| format!("reached through CNAME {}", k.cname_chain.join(" → ")));
        let sending = k.sources.iter().any(|s| s == "inventory" || s == "reports");
        let seen_signing = k.sources.iter().any(|s| s == "reports");
        let only_sha1 = !k.hash_algorithms.is_empty()
            && k.hash_algorithms
                .iter()
                .all(|h| h.eq_ignore_ascii_case("sha1"));
        // A key nothing signed with in this period's reports: the delivery checks weigh that.
        let signed = |d: Draft| {
            if seen_signing || cx.reports.reports.is_empty() {
                d
            } else {
                d.messages(0)
            }
        };
        if only_sha1 {
            out.push(
                signed(draft("DKIM-004", subject.clone(), p, role))
                    .evidence(rec())
                    .evidence(format!(
                        "h={}: only SHA-1 signatures verify with this key",
                        k.hash_algorithms.join(":")
                    ))
                    .build(cx.label),
            );
        }
        if k.testing {
            let mut d = signed(draft("DKIM-005", subject.clone(), p, role))
                .evidence(rec())
                .evidence(
                    "t=y: receivers must treat mail signed with this key as unsigned (RFC 6376 §3.6.1)"
                        .to_string(),
                );
            if let Some(target) = k.cname_chain.last() {
                d = d.remediation(format!(
                    "The key is hosted by the sender: {subject} is a CNAME to {target}. Ask that vendor to remove `t=y` from the key once its signing is verified; we cannot edit the record."
                ));
            }
            out.push(d.build(cx.label));
        }
        let unusable = match k.status.as_str() {
            "revoked" if seen_signing => Some(
                "the key is revoked (empty p=) but signatures with this selector appear in this period's reports",
            ),
            "invalid" if sending => {
                Some("the key record is malformed, so no signature with this selector can verify")
            }
            _ => None,
        };
        if let Some(why) = unusable {
            out.push(
                signed(draft("DKIM-006", subject.clone(), p, role))
                    .evidence(rec())
                    .evidence(why.to_string())
                    .evidence_all(k.errors.iter().cloned())
                    .build(cx.label),
            );
        }
        match k.status.as_str() {
            "missing" if sending && role != Role::Parked => {
                let mut d = draft("DKIM-001", subject.clone(), p, role)
                    .remediation(format!(
                        "Publish the key for {subject} (the public key, or the CNAME to the key the sender hosts, as the sender gives it), then confirm that mail signed with s={} d={} passes DKIM in the next reports.",
                        k.selector, p.domain
                    ))
                    .evidence(format!(
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
                    .filter(|v| v.signs_with(&k.selector, &p.domain))
                    .map(|v| v.vendor.as_str())
                    .collect();
                if let Some(first) = vendors.first() {
                    d = d.vendor(first).evidence(format!(
                        "inventory vendors using this selector: {}",
                        vendors.join(", ")
                    ));
                }
                if cx.reports.dkim_signatures().any(|(domain, selector)| {
                    selector == k.selector.as_str() && domain.eq_ignore_ascii_case(&p.domain)
                }) {
                    d = d.evidence(format!(
                        "signatures with s={} d={} appear in this period's reports",
                        k.selector, p.domain
                    ));
                } else if !cx.reports.reports.is_empty() {
                    // The stream's traffic, not this selector's, says whether mail is affected:
                    // a vendor that signs with another selector still sends unaligned mail.
                    d = d.evidence(format!(
                        "no signature with s={} d={} appears in this period's reports",
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
                let mut d = draft("DKIM-002", subject.clone(), p, role)
                    .title(format!(
                        "DKIM key {subject} is RSA-{bits}: receivers must treat it as unsigned"
                    ))
                    .evidence(rec())
                    .evidence(format!(
                        "RSA modulus {bits} bits; fingerprint {}",
                        k.fingerprint.as_deref().unwrap_or("-")
                    ));
                // RFC 8301 §3.2: receivers ignore keys under 1024 bits. Mail signed with it is
                // unsigned where that holds (delivery); where it does not, anyone who factors
                // the key (hours for RSA-512) signs as us (forgery through the key).
                d = if seen_signing {
                    d.harm(super::basis::Harm::Delivery).exposure(
                        Level::High,
                        "receivers that follow RFC 8301 treat every signature made with it as absent",
                    )
                } else {
                    d.exposure(
                        Level::Moderate,
                        format!("the gap can be used only in part: an RSA-{bits} modulus is factored in hours with public tools, but receivers that follow RFC 8301 ignore keys under 1024 bits, and only older ones accept signatures made with it"),
                    )
                };
                if !seen_signing {
                    d = d
                        .evidence(format!(
                            "no signature with s={} d={} appears in this period's reports: nothing signs with this key",
                            k.selector, p.domain
                        ))
                        .remediation(format!(
                            "Revoke the key: publish `{subject}` TXT \"v=DKIM1; p=\" (an empty p= revokes it, RFC 6376 §3.6.1) or delete the record. No mail in this period's reports is signed with it, so nothing needs a replacement key; anyone who factors it can sign mail as {}.",
                            p.domain
                        ));
                }
                out.push(d.build(cx.label));
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{DomainConfig, PolicyConfig};
    use crate::records::spf_walk::tests::snapshot;
    use crate::reports::ReportSet;
    use crate::snapshot::Outcome::{Answer, Nodata, Nxdomain};
    use crate::snapshot::Rtype::{Mx, Txt};
    use crate::snapshot::Snapshot;

    const CSV: &str = "vendor,domains,spf_includes,dkim_selectors,ip_ranges,phi,baa\n\
        PortalCo,org.test,spf.portal.test,,198.51.100.0/24,yes,signed\n\
        SignedCo,org.test,,sc1,203.0.113.0/28,yes,signed\n\
        MailCo,org.test,,,192.0.2.0/25,yes,signed\n\
        NewsCo,org.test,,,233.252.0.0/24,no,none\n";

    /// The DNS checks over `snap` for the one domain `org.test` (patient), with the inventory
    /// `csv`, default policy and no reports.
    pub(crate) fn run(snap: &mut Snapshot, csv: &str) -> Vec<Finding> {
        run_with(snap, csv, &PolicyConfig::default(), &ReportSet::default())
    }

    /// [`run`] with a policy and this period's reports.
    pub(crate) fn run_with(
        snap: &mut Snapshot,
        csv: &str,
        policy: &PolicyConfig,
        reports: &ReportSet,
    ) -> Vec<Finding> {
        crate::assess::dns_context::testing::run_with(snap, csv, policy, reports, &[assess])
    }

    fn key() -> String {
        // A 1024-bit RSA SubjectPublicKeyInfo is not needed: a valid ed25519 key suffices.
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".into()
    }

    #[test]
    fn ven_002_names_unauthorized_phi_vendor_ranges() {
        let k = key();
        let mut s = snapshot(&[
            (
                "org.test",
                Txt,
                Answer,
                &["v=spf1 ip4:192.0.2.0/24 include:spf.portal.test ~all"],
            ),
            (
                "spf.portal.test",
                Txt,
                Answer,
                &["v=spf1 ip4:198.51.100.0/25 -all"],
            ),
            ("org.test", Mx, Answer, &["10 mx.org.test."]),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:d@org.test"],
            ),
            ("sc1._domainkey.org.test", Txt, Answer, &[k.as_str()]),
        ]);
        let f = run(&mut s, CSV);
        let ven: Vec<&Finding> = f.iter().filter(|f| f.check == "VEN-002").collect();
        // PortalCo: half its /24 is outside the include (198.51.100.128/25). SignedCo has an
        // aligned DKIM key; MailCo is fully covered by ip4; NewsCo carries no PHI.
        assert_eq!(ven.len(), 1, "{ven:#?}");
        assert_eq!(ven[0].subject, "PortalCo as org.test");
        assert!(
            ven[0]
                .evidence
                .iter()
                .any(|e| e.starts_with("198.51.100.254 (range 198.51.100.0/24): SPF softfail")),
            "{:#?}",
            ven[0].evidence
        );
        assert!(
            !ven[0]
                .evidence
                .iter()
                .any(|e| e.starts_with("198.51.100.1 ")),
            "covered addresses are not listed"
        );

        // Without the key, SignedCo's range (not in SPF at all) is flagged too.
        let mut s2 = s.clone();
        s2.lookups.retain(|l| l.name != "sc1._domainkey.org.test");
        s2.lookups
            .extend(snapshot(&[("sc1._domainkey.org.test", Txt, Nxdomain, &[])]).lookups);
        let f = run(&mut s2, CSV);
        let subjects: Vec<&str> = f
            .iter()
            .filter(|f| f.check == "VEN-002")
            .map(|f| f.subject.as_str())
            .collect();
        assert_eq!(
            subjects,
            vec!["PortalCo as org.test", "SignedCo as org.test"]
        );
    }

    #[test]
    fn dmarc_009_and_010_for_report_destinations() {
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &[
                    "v=DMARC1; p=reject; rua=mailto:a@reports.org.test,mailto:agg@vendor.test,mailto:x@ok.test; ruf=mailto:f@vendor.test",
                ],
            ),
            ("org.test._report._dmarc.vendor.test", Txt, Nxdomain, &[]),
            (
                "org.test._report._dmarc.ok.test",
                Txt,
                Answer,
                &["v=DMARC1"],
            ),
            ("vendor.test", Mx, Answer, &["10 in.vendor.test."]),
            ("ok.test", Mx, Nodata, &[]),
        ]);
        let f = run(&mut s, "vendor\n");
        let d9: Vec<&Finding> = f.iter().filter(|f| f.check == "DMARC-009").collect();
        let subjects: Vec<&str> = d9.iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(
            subjects,
            vec![
                "org.test mailto:agg@vendor.test",
                "org.test mailto:f@vendor.test"
            ]
        );
        assert!(
            d9[0]
                .evidence
                .iter()
                .any(|e| e.contains("10 in.vendor.test."))
        );
        let d10: Vec<&Finding> = f.iter().filter(|f| f.check == "DMARC-010").collect();
        assert_eq!(d10.len(), 1);
        assert!(d10[0].title.contains("third party"), "{}", d10[0].title);
        assert_eq!(d10[0].severity, Severity::High);

        // Same-organization ruf: still reported, at a lower rating.
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:a@org.test; ruf=mailto:f@org.test"],
            ),
        ]);
        let f = run(&mut s, "vendor\n");
        assert!(!f.iter().any(|f| f.check == "DMARC-009"));
        let d10: Vec<&Finding> = f.iter().filter(|f| f.check == "DMARC-010").collect();
        assert_eq!(d10.len(), 1);
        assert_eq!(d10[0].severity, Severity::Medium);
    }

    #[test]
    fn spf_007_for_records_over_450_octets() {
        let big = format!(
            "v=spf1 {} -all",
            (0..40)
                .map(|i| format!("ip4:192.0.2.{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(big.len() > 450);
        let mut s = snapshot(&[("org.test", Txt, Answer, &[big.as_str()])]);
        let f = run(&mut s, "vendor\n");
        let hit = f.iter().find(|f| f.check == "SPF-007").expect("SPF-007");
        assert!(
            hit.evidence
                .iter()
                .any(|e| e.contains(&format!("{} octets", big.len())))
        );
        let mut s = snapshot(&[("org.test", Txt, Answer, &["v=spf1 -all"])]);
        assert!(!run(&mut s, "vendor\n").iter().any(|f| f.check == "SPF-007"));
    }

    #[test]
    fn dkim_004_005_006_from_key_flags() {
        let base = |dkim: &str| {
            snapshot(&[
                ("org.test", Txt, Answer, &["v=spf1 -all"]),
                (
                    "_dmarc.org.test",
                    Txt,
                    Answer,
                    &["v=DMARC1; p=reject; rua=mailto:d@org.test"],
                ),
                ("sc1._domainkey.org.test", Txt, Answer, &[dkim]),
            ])
        };
        let k = key();
        let checks = |rec: &str| -> Vec<String> {
            let mut s = base(rec);
            run(&mut s, CSV)
                .into_iter()
                .filter(|f| f.check.starts_with("DKIM-"))
                .map(|f| f.check)
                .collect()
        };
        assert!(checks(&k).is_empty());
        assert_eq!(checks(&format!("{k}; h=sha1")), ["DKIM-004"]);
        assert_eq!(checks(&format!("{k}; t=y")), ["DKIM-005"]);
        // Malformed key for a selector the inventory says is in use.
        assert_eq!(checks("v=DKIM1; k=rsa; p=!!!notbase64"), ["DKIM-006"]);
        // Revoked, but only the inventory mentions it (no signatures seen): not DKIM-006.
        assert!(checks("v=DKIM1; p=").is_empty());
    }

    #[test]
    fn include_loop_and_missing_target_are_permerror_not_found() {
        let k = key();
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 include:a.org.test -all"]),
            ("a.org.test", Txt, Answer, &["v=spf1 include:org.test -all"]),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:d@org.test"],
            ),
            ("sc1._domainkey.org.test", Txt, Answer, &[k.as_str()]),
        ]);
        let f = run(&mut s, CSV);
        let spf: Vec<&Finding> = f.iter().filter(|f| f.check == "SPF-003").collect();
        assert_eq!(spf.len(), 1, "{spf:#?}");
        assert!(
            spf[0].evidence.iter().any(|e| e.contains("loops back")),
            "{:?}",
            spf[0].evidence
        );
        let postures = crate::assess::posture::build(
            &DomainConfig {
                name: "org.test".into(),
                role: Role::Patient,
                selectors: vec![],
                owner: None,
            },
            &s.domains,
            &s,
        );
        assert_eq!(postures.spf.status, "permerror");
    }

    #[test]
    fn vendor_spf_that_cannot_be_evaluated_is_dns_001_not_silence() {
        let k = key();
        let mut s = snapshot(&[
            // The include target was never captured: every vendor address is temperror.
            (
                "org.test",
                Txt,
                Answer,
                &["v=spf1 include:uncaptured.test -all"],
            ),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:d@org.test"],
            ),
            ("sc1._domainkey.org.test", Txt, Answer, &[k.as_str()]),
        ]);
        let f = run(&mut s, CSV);
        let dns: Vec<&Finding> = f
            .iter()
            .filter(|f| f.check == "DNS-001" && f.subject.starts_with("SPF for "))
            .collect();
        assert!(
            dns.iter()
                .any(|f| f.subject == "SPF for PortalCo as org.test"),
            "{dns:#?}"
        );
        assert!(
            !f.iter()
                .any(|f| f.check == "VEN-002" && f.subject.starts_with("PortalCo"))
        );
    }

    #[test]
    fn rua_to_a_host_that_does_not_exist_is_dmarc_008() {
        let k = key();
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:r@gone.test"],
            ),
            ("gone.test", Mx, Nxdomain, &[]),
            ("org.test._report._dmarc.gone.test", Txt, Nxdomain, &[]),
            ("sc1._domainkey.org.test", Txt, Answer, &[k.as_str()]),
        ]);
        let f = run(&mut s, CSV);
        let d8: Vec<&Finding> = f.iter().filter(|f| f.check == "DMARC-008").collect();
        assert_eq!(d8.len(), 1, "{d8:#?}");
        assert!(d8[0].title.contains("cannot receive"), "{}", d8[0].title);
        // The same record with a host that has MX records is fine.
        let mut ok = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:r@org.test"],
            ),
            ("org.test", Mx, Answer, &["10 mx.org.test."]),
            ("sc1._domainkey.org.test", Txt, Answer, &[k.as_str()]),
        ]);
        assert!(!run(&mut ok, CSV).iter().any(|f| f.check == "DMARC-008"));
    }
}

//! BULK-001 and BULK-002: the mailbox providers' rules for bulk senders. Gmail (since
//! February 2024) and Outlook.com (since May 2025) call a domain a bulk sender once it sends
//! them more than 5,000 messages a day, and then refuse or junk its mail unless it is
//! authenticated their way. Their own aggregate reports say how much they got: the check
//! reads the volume from them, and the requirements from the snapshot and the same reports.

use super::*;

/// The inventory vendor whose own servers sent a row: matched by address range, reverse DNS
/// or SPF identity. A row matched only by a passing DKIM signature may be a forwarded copy
/// (signatures survive forwarding), whose address and SPF result are the forwarder's.
fn sending_vendor(cx: &Checks<'_>, row: &Row) -> Option<String> {
    let ptr = cx.ptr.get(&row.source_ip).map(String::as_str);
    attribution::attribute_with_ptr(row, cx.inv, ptr)
        .filter(|a| {
            matches!(
                a.basis,
                Basis::IpRange | Basis::PtrSuffix | Basis::SpfDomain
            )
        })
        .map(|a| a.vendor.vendor.clone())
}

/// A provider's rule, as the check applies it.
struct Provider {
    check: &'static str,
    name: &'static str,
    /// Whether a report's `org_name` is this provider's consumer mailbox service.
    reporter: fn(&str) -> bool,
    /// Outlook.com wants SPF *and* DKIM to pass; Gmail wants either aligned, plus both set up.
    needs_both: bool,
}

const PROVIDERS: [Provider; 2] = [
    Provider {
        check: "BULK-001",
        name: "Gmail",
        reporter: |org| org.eq_ignore_ascii_case("google.com"),
        needs_both: false,
    },
    Provider {
        check: "BULK-002",
        name: "Outlook.com",
        // Outlook.com's consumer reports; "Enterprise Outlook" reports are Microsoft 365
        // tenants, to which the rule does not apply.
        reporter: |org| org.eq_ignore_ascii_case("outlook.com"),
        needs_both: true,
    },
];

/// The provider's busiest day for one domain: (messages, day), from its reports (a report
/// longer than a day is spread evenly over its days).
fn busiest_day(set: &ReportSet, domain: &str, p: &Provider) -> Option<(u64, chrono::NaiveDate)> {
    let mut per_day: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
    for r in set.reports.iter().filter(|r| {
        (p.reporter)(r.org_name.trim())
            && crate::snapshot::normalize_name(&r.policy.domain) == domain
    }) {
        let days = ((r.end - r.begin).num_seconds().max(1) as u64).div_ceil(86_400);
        let day = crate::period::midpoint(r.begin, r.end).date_naive();
        let e = per_day.entry(day).or_default();
        *e = e.saturating_add(r.messages() / days.max(1));
    }
    per_day.into_iter().map(|(d, n)| (n, d)).max()
}

/// What the provider's reports show of one domain's inventory mail: per vendor, messages and
/// how many lacked what the provider asks.
#[derive(Default)]
struct Streams {
    /// Vendor → (messages, not aligned, missing SPF pass, missing DKIM pass).
    vendors: BTreeMap<String, (u64, u64, u64, u64)>,
    /// Messages of ours whose DKIM signature (aligned) passed.
    dkim_aligned: u64,
}

fn streams(cx: &Checks<'_>, domain: &str, p: &Provider) -> Streams {
    let mut out = Streams::default();
    for m in &cx.set.aggregate.rows {
        if !cx
            .set
            .aggregate
            .reporters_of(m)
            .any(|(r, _)| (p.reporter)(r.trim()))
        {
            continue;
        }
        let row = &m.row;
        if owning_domain(&row.header_from, cx.domains).map(|d| d.name.as_str()) != Some(domain) {
            continue;
        }
        // Only this provider's share of a merged row.
        let n: u64 = cx
            .set
            .aggregate
            .reporters_of(m)
            .filter(|(r, _)| (p.reporter)(r.trim()))
            .map(|(_, n)| n)
            .sum();
        if row.dkim_evaluated.is_pass() {
            out.dkim_aligned = out.dkim_aligned.saturating_add(n);
        }
        let Some(vendor) = sending_vendor(cx, row) else {
            continue;
        };
        let e = out.vendors.entry(vendor).or_default();
        e.0 = e.0.saturating_add(n);
        if !row.reporter_dmarc_pass() {
            e.1 = e.1.saturating_add(n);
        }
        if !row.spf.iter().any(|s| s.result.is_pass()) {
            e.2 = e.2.saturating_add(n);
        }
        if !row.dkim.iter().any(|s| s.result.is_pass()) {
            e.3 = e.3.saturating_add(n);
        }
    }
    out
}

pub(super) fn bulk_sender_rules(cx: &Checks<'_>) -> Vec<Finding> {
    let limit = cx.policy.bulk_daily_messages;
    let mut out = Vec::new();
    for p in &PROVIDERS {
        for d in cx.domains {
            let Some((busiest, day)) = busiest_day(cx.set, &d.name, p) else {
                continue;
            };
            if busiest <= limit {
                continue;
            }
            let s = streams(cx, &d.name, p);
            let mut unmet: Vec<String> = Vec::new();
            // What the snapshot could not read is not judged: it is said.
            let mut unknown: Vec<&str> = Vec::new();
            match cx.facts.spf_status.get(&d.name).map(String::as_str) {
                Some("found") => {}
                None | Some("incomplete") => unknown.push("SPF"),
                Some(status) => unmet.push(format!(
                    "SPF: the domain's own record does not evaluate ({status}), so mail using it as MAIL FROM cannot pass SPF"
                )),
            }
            if !p.needs_both && s.dkim_aligned == 0 {
                unmet.push(format!(
                    "DKIM: none of the domain's mail {} reported carried a passing signature of the domain",
                    p.name
                ));
            }
            match cx.facts.dmarc_status.get(&d.name).map(String::as_str) {
                Some("found") if cx.facts.dmarc_now.contains_key(&d.name) => {}
                None | Some("incomplete") => unknown.push("DMARC"),
                Some(status) => unmet.push(format!(
                    "DMARC: the domain has no valid DMARC record ({status}); p=none at least is required"
                )),
            }
            for (vendor, (n, unaligned, no_spf, no_dkim)) in &s.vendors {
                if p.needs_both && (*no_spf > 0 || *no_dkim > 0 || *unaligned > 0) {
                    let lacks: Vec<String> = [
                        (*no_spf, "an SPF pass"),
                        (*no_dkim, "a DKIM pass"),
                        (*unaligned, "DMARC alignment"),
                    ]
                    .iter()
                    .filter(|(k, _)| *k > 0)
                    .map(|(k, what)| format!("{} lacked {what}", crate::text::int(*k)))
                    .collect();
                    unmet.push(format!(
                        "{vendor}: of {} to {}, {}",
                        crate::text::count(*n as usize, "message", "messages"),
                        p.name,
                        crate::text::and_list(&lacks)
                    ));
                } else if !p.needs_both && *unaligned > 0 {
                    unmet.push(format!(
                        "alignment: {} of {vendor}'s {} to {} were not aligned (DMARC failed)",
                        crate::text::int(*unaligned),
                        crate::text::count(*n as usize, "message", "messages"),
                        p.name
                    ));
                }
            }
            if unmet.is_empty() {
                continue;
            }
            if !unknown.is_empty() {
                unmet.push(format!(
                    "evidence incomplete: the snapshot could not read the domain's {} record, so {} not judged here",
                    unknown.join(" and "),
                    if unknown.len() == 1 { "that requirement is" } else { "those requirements are" }
                ));
            }
            let failing: u64 = s.vendors.values().map(|v| v.1).sum();
            out.push(
                Draft::new(p.check, d.name.clone())
                    .domain(&d.name)
                    .messages(failing)
                    .title(format!(
                        "{name}'s reports show {} messages from {} on {day}, above the {} a day at which {name}'s bulk-sender rules apply, and its mail misses them",
                        crate::text::int(busiest),
                        d.name,
                        crate::text::int(limit),
                        name = p.name,
                    ))
                    .evidence(format!(
                        "{}'s own aggregate reports: {} messages from {} on its busiest day ({day}); the rule applies above {} a day ([policy] bulk_daily_messages) and, once met, to all the domain's mail",
                        p.name,
                        crate::text::int(busiest),
                        d.name,
                        crate::text::int(limit)
                    ))
                    .evidence_all(unmet)
                    .build(cx.label),
            );
        }
    }
    out
}

/// BULK-003: the inventory's sending addresses without forward-confirmed reverse DNS. Gmail
/// asks it of every sender, bulk or not, and many receivers refuse mail without it. Only
/// addresses the snapshot asked about are judged; a failed lookup is no verdict.
pub(super) fn senders_without_reverse_dns(cx: &Checks<'_>) -> Vec<Finding> {
    use crate::snapshot::ReverseDns;
    // Vendor → address → messages.
    let mut per_vendor: BTreeMap<String, BTreeMap<IpAddr, u64>> = BTreeMap::new();
    for m in &cx.set.aggregate.rows {
        let row = &m.row;
        if owning_domain(&row.header_from, cx.domains).is_none() {
            continue;
        }
        if let Some(vendor) = sending_vendor(cx, row) {
            let e = per_vendor
                .entry(vendor)
                .or_default()
                .entry(row.source_ip)
                .or_default();
            *e = e.saturating_add(row.count);
        }
    }
    let mut out = Vec::new();
    for (vendor, ips) in per_vendor {
        let judged: Vec<(&IpAddr, &u64, &ReverseDns)> = ips
            .iter()
            .filter_map(|(ip, n)| cx.facts.reverse_dns.get(ip).map(|r| (ip, n, r)))
            .collect();
        let bad: Vec<&(&IpAddr, &u64, &ReverseDns)> = judged
            .iter()
            .filter(|(_, _, r)| matches!(r, ReverseDns::Missing | ReverseDns::Unconfirmed(_)))
            .collect();
        if bad.is_empty() {
            continue;
        }
        let messages: u64 = bad.iter().map(|(_, n, _)| **n).sum();
        let failed = judged
            .iter()
            .filter(|(_, _, r)| matches!(r, ReverseDns::Failed(_)))
            .count();
        let mut d = Draft::new("BULK-003", vendor.clone())
            .vendor(&vendor)
            .messages(messages)
            .title(if bad.len() == 1 && judged.len() == 1 {
                format!(
                    "{vendor}'s sending address has no forward-confirmed reverse DNS ({} this period)",
                    crate::text::count(messages as usize, "message", "messages")
                )
            } else {
                format!(
                    "{} of {vendor}'s {} sending addresses looked up {} no forward-confirmed reverse DNS ({} this period)",
                    bad.len(),
                    judged.len(),
                    if bad.len() == 1 { "has" } else { "have" },
                    crate::text::count(messages as usize, "message", "messages")
                )
            })
            .evidence_all(bad.iter().map(|(ip, n, r)| {
                format!(
                    "{ip} ({}): {}",
                    crate::text::count(**n as usize, "message", "messages"),
                    match r {
                        ReverseDns::Missing => "no PTR record".to_string(),
                        ReverseDns::Unconfirmed(names) => format!(
                            "PTR {} does not resolve back to the address",
                            names.join(", ")
                        ),
                        _ => String::new(),
                    }
                )
            }))
            .evidence(format!(
                "{} of the vendor's {} addresses in this period's reports {} looked up{}{}",
                judged.len(),
                ips.len(),
                if judged.len() == 1 { "was" } else { "were" },
                match judged.len() - bad.len() - failed {
                    0 => String::new(),
                    ok => format!("; {ok} of them {} forward-confirmed names", if ok == 1 { "has" } else { "have" }),
                },
                if failed > 0 {
                    format!(
                        "; {} failed: evidence incomplete, not judged",
                        crate::text::count(failed, "lookup", "lookups")
                    )
                } else {
                    String::new()
                }
            ));
        if let Some(v) = cx.inv.vendors.iter().find(|v| v.vendor == vendor) {
            d = d.phi(v.phi);
        }
        out.push(d.build(cx.label));
    }
    out
}

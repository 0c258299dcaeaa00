//! What changed between two snapshots, and what each change means for the organization's
//! protection. The CHG-* checks and `mailproof diff` both read this.

use super::{Rtype, Snapshot, starts_with_tag};
use crate::evidence::{Change, Effect};
use crate::inventory::Inventory;
use crate::records::{dkim, dmarc, spf, spf_walk};
use std::collections::BTreeSet;

/// Changes for every domain present in `new` (domains only in `old` are reported as removed
/// from scope).
pub fn diff(old: &Snapshot, new: &Snapshot, inv: &Inventory) -> Vec<Change> {
    let mut out = Vec::new();
    for d in &new.domains {
        if old.domain(&d.name).is_none() {
            out.push(change(
                &d.name,
                "scope",
                &d.name,
                None,
                Some("in scope".into()),
                "added",
                "domain added to the assessment scope",
            ));
            continue;
        }
        spf_changes(&d.name, old, new, inv, &mut out);
        dmarc_changes(&d.name, old, new, inv, &mut out);
        dkim_changes(&d.name, old, new, inv, &mut out);
        simple_txt(
            &d.name,
            &format!("_mta-sts.{}", d.name),
            "v=STSv1",
            "mta-sts",
            old,
            new,
            &mut out,
        );
        sts_policy_changes(&d.name, old, new, &mut out);
        simple_txt(
            &d.name,
            &format!("_smtp._tls.{}", d.name),
            "v=TLSRPTv1",
            "tls-rpt",
            old,
            new,
            &mut out,
        );
        simple_txt(
            &d.name,
            &format!("default._bimi.{}", d.name),
            "v=BIMI1",
            "bimi",
            old,
            new,
            &mut out,
        );
        mx_changes(&d.name, old, new, inv, &mut out);
        let mut deltas = Vec::new();
        super::transport_diff::dnssec_changes(&d.name, old, new, &mut deltas);
        super::transport_diff::starttls_changes(&d.name, old, new, &mut deltas);
        out.extend(deltas.into_iter().map(|x| {
            change(
                &d.name,
                x.area,
                &x.name,
                x.before,
                x.after,
                x.direction,
                &x.meaning,
            )
        }));
    }
    for d in &old.domains {
        if new.domain(&d.name).is_none() {
            out.push(change(
                &d.name,
                "scope",
                &d.name,
                Some("in scope".into()),
                None,
                "removed",
                "domain no longer in the assessment scope",
            ));
        }
    }
    out
}

fn change(
    domain: &str,
    area: &str,
    name: &str,
    before: Option<String>,
    after: Option<String>,
    direction: &str,
    meaning: &str,
) -> Change {
    let (effect, check) = rule(domain, area, name, direction, meaning);
    Change {
        domain: domain.into(),
        area: area.into(),
        name: name.into(),
        before,
        after,
        direction: direction.into(),
        meaning: meaning.into(),
        effect,
        check: check.map(str::to_string),
        risk: None,
    }
}

/// Sets each change's `risk` from the finding its check raised on the same record (the
/// findings' ids are `CHECK:subject`, and the CHG checks take the change's name as subject).
pub fn attach_risks(changes: &mut [Change], findings: &[crate::evidence::Finding]) {
    for c in changes.iter_mut() {
        if let Some(check) = &c.check {
            let id = format!("{check}:{}", c.name);
            c.risk = findings.iter().find(|f| f.id == id).map(|f| f.risk);
        }
    }
}

/// The one rule that gives every change its effect and, where the catalog has one, its check.
/// A record that protected and is gone, a lowered policy, a smaller key, or a sender nobody
/// listed becoming authorized is a weakening; narrower authorization, a record published or a
/// stronger policy is a strengthening; a lookup that failed in either snapshot leaves the
/// change unverified, never "unchanged" or "removed".
pub fn rule(
    domain: &str,
    area: &str,
    name: &str,
    direction: &str,
    meaning: &str,
) -> (Effect, Option<&'static str>) {
    use Effect::*;
    let unlisted = meaning.contains("no inventory vendor");
    // An SPF include or range, not the record itself.
    let spf_term = area == "spf" && name != domain;
    match (area, direction) {
        (_, "unverified") => (Unverified, None),
        ("scope" | "bimi", _) => (Neutral, None),
        ("dmarc", "weakened") => (Weakened, Some("CHG-001")),
        ("spf", "weakened") => (Weakened, Some("CHG-002")),
        ("mta-sts", "weakened") => (Weakened, Some("CHG-006")),
        (_, "weakened") => (Weakened, None),
        ("dkim", "unchanged") => (Neutral, Some("CHG-003")),
        ("spf", "removed") if spf_term => (Strengthened, None),
        (_, "removed") => (Weakened, Some("CHG-004")),
        ("spf" | "dkim", "added") if unlisted => (Weakened, Some("CHG-005")),
        ("spf", "added") if spf_term => (Neutral, None),
        ("dkim", "added") => (Neutral, None),
        (_, "added" | "strengthened") => (Strengthened, None),
        ("dkim", "rotated") => (Strengthened, None),
        _ => (Neutral, None),
    }
}

/// CHG-006: the MTA-STS policy as both snapshots fetched it. A body that changed under the same
/// `id` is never refetched by senders that cached the old one (RFC 8461 §3.1); an MX set that
/// changed while the policy's `mx` lines did not leaves a new MX the policy does not cover.
/// Only fetches that succeeded in both snapshots are compared: a failed one says nothing.
fn sts_policy_changes(domain: &str, old: &Snapshot, new: &Snapshot, out: &mut Vec<Change>) {
    use crate::records::mta_sts;
    let fetched = |s: &Snapshot| -> Option<String> {
        s.transport
            .as_ref()?
            .sts_policies
            .iter()
            .find(|f| f.domain.eq_ignore_ascii_case(domain))
            .filter(|f| f.outcome == crate::snapshot::transport::Outcome::Ok)
            .and_then(|f| f.body.clone())
    };
    let id = |s: &Snapshot| -> Option<String> {
        let (_, records) = s.txt_with_prefix(&format!("_mta-sts.{domain}"), "v=STSv1")?;
        match records.as_slice() {
            [one] => mta_sts::parse_record(one).id,
            _ => None,
        }
    };
    let (Some(a), Some(b)) = (fetched(old), fetched(new)) else {
        return;
    };
    let norm = |t: &str| {
        t.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let name = format!("mta-sts.{domain} policy");
    let (ida, idb) = (id(old), id(new));
    if norm(&a) != norm(&b) && ida.is_some() && ida == idb {
        out.push(change(
            domain,
            "mta-sts",
            &name,
            Some(format!("{} (id {})", norm(&a), ida.as_deref().unwrap_or_default())),
            Some(format!("{} (id {})", norm(&b), idb.as_deref().unwrap_or_default())),
            "weakened",
            "the policy changed but the record's id did not: senders that cached the old policy keep applying it until its max_age runs out (RFC 8461 §3.1)",
        ));
    }
    let hosts = |s: &Snapshot| -> BTreeSet<String> { s.mx_hosts(domain).into_iter().collect() };
    let policy = mta_sts::parse_policy(&b);
    if !policy.is_valid() || policy.mode == Some(mta_sts::Mode::None) {
        return;
    }
    let (ha, hb) = (hosts(old), hosts(new));
    let uncovered: Vec<&String> = hb.difference(&ha).filter(|h| !policy.covers(h)).collect();
    if !uncovered.is_empty() && norm(&a) == norm(&b) {
        let list: Vec<&str> = uncovered.iter().map(|h| h.as_str()).collect();
        out.push(change(
            domain,
            "mta-sts",
            &name,
            Some(ha.iter().cloned().collect::<Vec<_>>().join(", ")),
            Some(hb.iter().cloned().collect::<Vec<_>>().join(", ")),
            "weakened",
            &format!(
                "the MX set changed without the MTA-STS policy: its mx lines do not cover {}, so senders applying it refuse or flag that host",
                list.join(", ")
            ),
        ));
    }
}

/// Record text when the lookup answered; `Err(())` when the lookup failed or was not asked,
/// so a DNS failure is never mistaken for a removal.
fn txt(snap: &Snapshot, name: &str, prefix: &str) -> Result<Option<String>, ()> {
    match snap.get(name, Rtype::Txt) {
        Some(l) if l.outcome.is_failure() => Err(()),
        Some(l) => Ok(l
            .answers
            .iter()
            .find(|a| starts_with_tag(a, prefix))
            .cloned()),
        None => Err(()),
    }
}

/// A change that cannot be judged because a lookup failed (or was not asked) in either
/// snapshot: it is listed as unverified, so a failure never reads as "no change".
fn unverified(
    domain: &str,
    area: &str,
    name: &str,
    rtype: Rtype,
    old: &Snapshot,
    new: &Snapshot,
) -> Change {
    let state = |s: &Snapshot| match s.get(name, rtype) {
        Some(l) if l.outcome.is_failure() => Some(l.outcome.label()),
        Some(_) => None,
        None => Some("not asked"),
    };
    let parts: Vec<String> = [("older", state(old)), ("newer", state(new))]
        .into_iter()
        .filter_map(|(which, st)| st.map(|st| format!("{which} snapshot: {st}")))
        .collect();
    change(
        domain,
        area,
        name,
        None,
        None,
        "unverified",
        &format!(
            "the {} lookup of {name} did not complete ({}): whether it changed cannot be told",
            rtype.label(),
            parts.join("; ")
        ),
    )
}

/// An SPF record as it means: mechanisms are case-insensitive and separated by any whitespace.
fn norm_spf(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// More than one `v=spf1` record at the name: SPF is permerror whatever they say (RFC 7208
/// §4.5). Returns whether that decided the comparison.
fn several_records(
    domain: &str,
    wa: &spf_walk::SpfWalk,
    wb: &spf_walk::SpfWalk,
    out: &mut Vec<Change>,
) -> bool {
    let set = |w: &spf_walk::SpfWalk| -> BTreeSet<String> {
        w.records.iter().map(|r| norm_spf(r)).collect()
    };
    let shown = |w: &spf_walk::SpfWalk| Some(w.records.join("  |  "));
    match (wa.record_count > 1, wb.record_count > 1) {
        (false, true) => out.push(change(
            domain,
            "spf",
            domain,
            wa.record.clone(),
            shown(wb),
            "weakened",
            &format!(
                "{} SPF records now answer at {domain}: receivers return permerror for every message (RFC 7208 §4.5), so SPF authorizes no one; delete all but one",
                wb.record_count
            ),
        )),
        (true, false) if wb.record.is_some() => out.push(change(
            domain,
            "spf",
            domain,
            shown(wa),
            wb.record.clone(),
            "strengthened",
            "one SPF record again: SPF no longer returns permerror for every message",
        )),
        (true, true) if set(wa) != set(wb) => {
            let open = wb
                .records
                .iter()
                .any(|r| r.split_whitespace().any(|t| t.eq_ignore_ascii_case("+all") || t.eq_ignore_ascii_case("all")));
            let (direction, meaning) = if open {
                ("weakened", format!("the SPF records changed, and one now authorizes every host (+all); there are still {}, so SPF stays permerror, but deleting the wrong duplicate would leave the domain open", wb.record_count))
            } else {
                ("changed", format!("the SPF records changed; there are still {}, so SPF stays permerror", wb.record_count))
            };
            out.push(change(domain, "spf", domain, shown(wa), shown(wb), direction, &meaning));
        }
        (true, _) => {}
        (false, false) => return false,
    }
    true
}

/// The networks each top-level include (or redirect) authorizes through its whole subtree,
/// with how its own target's lookup ended.
fn include_subtrees(
    w: &spf_walk::SpfWalk,
) -> std::collections::BTreeMap<String, (Option<super::Outcome>, bool, BTreeSet<ipnet::IpNet>)> {
    let mut map = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for n in &w.tree {
        let term = n.term.to_ascii_lowercase();
        if n.depth == 0 {
            current = (term.starts_with("include:") || term.starts_with("redirect="))
                .then(|| n.target.clone())
                .flatten()
                .map(|t| t.to_ascii_lowercase());
            if let Some(t) = &current {
                map.insert(t.clone(), (n.outcome, n.record.is_some(), BTreeSet::new()));
            }
        }
        let (Some(t), Some(rec)) = (&current, &n.record) else {
            continue;
        };
        if let Some(entry) = map.get_mut(t) {
            entry.2.extend(
                spf::parse(rec)
                    .networks()
                    .into_iter()
                    .filter(|(q, _)| *q == spf::Qualifier::Pass)
                    .map(|(_, net)| net),
            );
        }
    }
    map
}

/// Changes inside included records: a vendor's record that now authorizes more (or fewer)
/// addresses, or an include target that no longer exists.
fn included_changes(
    domain: &str,
    wa: &spf_walk::SpfWalk,
    wb: &spf_walk::SpfWalk,
    inv: &Inventory,
    out: &mut Vec<Change>,
) {
    let (ia, ib) = (include_subtrees(wa), include_subtrees(wb));
    for (target, (oa, had, nets_a)) in &ia {
        let Some((ob, has, nets_b)) = ib.get(target) else {
            continue;
        };
        let name = format!("include:{target}");
        if ob.is_some_and(|o| o.is_failure()) || oa.is_some_and(|o| o.is_failure()) {
            out.push(change(
                domain,
                "spf",
                &name,
                None,
                None,
                "unverified",
                &format!(
                    "the lookup of the included record {target} did not complete in one of the snapshots: whether what it authorizes changed cannot be told"
                ),
            ));
            continue;
        }
        if *had && !*has {
            out.push(change(
                domain,
                "spf",
                &name,
                Some(target.clone()),
                Some(format!(
                    "{target}: {}",
                    ob.map(|o| o.label()).unwrap_or("no v=spf1 record")
                )),
                "weakened",
                &format!(
                    "the included name {target} no longer publishes an SPF record: receivers return permerror for {domain} (RFC 7208 §5.2)"
                ),
            ));
            continue;
        }
        let vendor = inv.vendors.iter().find(|v| {
            v.spf_includes
                .iter()
                .any(|i| i.eq_ignore_ascii_case(target))
        });
        let whose = vendor
            .map(|v| format!("{}'s include {target}", v.vendor))
            .unwrap_or_else(|| format!("the include {target}"));
        let added: Vec<&ipnet::IpNet> = nets_b.difference(nets_a).collect();
        for net in added.iter().take(20) {
            let listed = inv
                .vendors
                .iter()
                .any(|v| v.ip_ranges.iter().any(|r| r.contains(*net)));
            let note = if inv.vendors.is_empty() || listed {
                String::new()
            } else {
                " — no inventory vendor lists this range".to_string()
            };
            let v = if net.addr().is_ipv4() { "ip4" } else { "ip6" };
            out.push(change(
                domain,
                "spf",
                &format!("{v}:{net} via {target}"),
                None,
                Some(net.to_string()),
                "added",
                &format!(
                    "{whose} now authorizes {net} ({} addresses) to send as {domain}{note}",
                    net_size(net)
                ),
            ));
        }
        let removed: Vec<String> = nets_a.difference(nets_b).map(|n| n.to_string()).collect();
        if !removed.is_empty() {
            out.push(change(
                domain,
                "spf",
                &format!("{name} ranges"),
                Some(removed.join(" ")),
                None,
                "removed",
                &format!("{whose} no longer authorizes {}", removed.join(", ")),
            ));
        }
    }
}

/// A DMARC record as it means: tag names case-folded, values without whitespace, any order.
fn dmarc_tags(r: &dmarc::DmarcRecord) -> BTreeSet<(String, String)> {
    r.tags
        .iter()
        .map(|t| {
            (
                t.name.to_ascii_lowercase(),
                t.value.split_whitespace().collect::<String>(),
            )
        })
        .collect()
}

/// A new report destination, in words: where it is, whether it agreed to receive the
/// domain's reports (RFC 9989 external authorization), and for `ruf`, whether the party holds
/// a BAA. Returns whether it weakens: an external destination that has not authorized reports
/// (they are never sent, so abuse goes unseen), or failure reports (message content, possibly
/// PHI) going to a party with no BAA on record.
fn destination(
    kind: &str,
    u: &dmarc::ReportUri,
    domain: &str,
    snap: &Snapshot,
    inv: &Inventory,
) -> (bool, String) {
    let Some(host) = &u.host else {
        return (false, format!("{kind} now also sends to {}", u.uri));
    };
    if dmarc::same_organization(host, domain) {
        return (
            false,
            format!(
                "{kind} now also sends to {} (the organization's own domain)",
                u.uri
            ),
        );
    }
    let name = dmarc::report_authorization_name(domain, host);
    let authorized = match snap.get(&name, Rtype::Txt) {
        None => None,
        Some(l) if l.outcome.is_failure() => None,
        Some(l) => Some(l.answers.iter().any(|a| starts_with_tag(a, "v=DMARC1"))),
    };
    let vendor = inv.vendors.iter().find(|v| {
        v.domains
            .iter()
            .chain(&v.spf_includes)
            .chain(&v.dkim_domains)
            .chain(&v.ptr_suffixes)
            .any(|d| dmarc::same_organization(d, host))
    });
    let baa = vendor.is_some_and(|v| matches!(v.baa, Some(crate::inventory::Baa::Signed)));
    let party = match vendor {
        Some(v) if baa => format!("{} (inventory vendor, BAA signed)", v.vendor),
        Some(v) => format!("{} (inventory vendor, no BAA on record)", v.vendor),
        None => "a party no inventory vendor covers".to_string(),
    };
    let auth = match authorized {
        Some(true) => format!("authorized by {name}"),
        Some(false) => {
            format!("NOT authorized: {name} has no v=DMARC1 record, so receivers send it nothing")
        }
        None => format!("authorization {name} not verified"),
    };
    let weak = authorized == Some(false) || (kind == "ruf" && !baa);
    let phi = if kind == "ruf" && !baa {
        "; failure reports carry message content, which can include PHI"
    } else {
        ""
    };
    (
        weak,
        format!("{kind} now sends to {} at {party}, {auth}{phi}", u.uri),
    )
}

/// Whether either snapshot asked the question: one neither asked is outside both captures (a
/// hand-made or older snapshot), not a failed lookup.
fn asked_either(name: &str, rtype: Rtype, old: &Snapshot, new: &Snapshot) -> bool {
    old.get(name, rtype).is_some() || new.get(name, rtype).is_some()
}

fn all_rank(all: Option<&str>) -> u8 {
    match all {
        Some("-all") => 3,
        Some("~all") => 2,
        Some("?all") => 1,
        _ => 0,
    }
}

fn spf_changes(
    domain: &str,
    old: &Snapshot,
    new: &Snapshot,
    inv: &Inventory,
    out: &mut Vec<Change>,
) {
    let (Ok(a), Ok(b)) = (txt(old, domain, "v=spf1"), txt(new, domain, "v=spf1")) else {
        if asked_either(domain, Rtype::Txt, old, new) {
            out.push(unverified(domain, "spf", domain, Rtype::Txt, old, new));
        }
        return;
    };
    match (&a, &b) {
        (Some(_), None) => {
            out.push(change(
                domain,
                "spf",
                domain,
                a.clone(),
                None,
                "removed",
                "SPF record removed: receivers now get SPF result none for this domain",
            ));
            return;
        }
        (None, Some(_)) => {
            out.push(change(
                domain,
                "spf",
                domain,
                None,
                b.clone(),
                "added",
                "SPF record published",
            ));
            return;
        }
        (None, None) => return,
        _ => {}
    }
    let (wa, wb) = (spf_walk::walk(domain, old), spf_walk::walk(domain, new));
    if several_records(domain, &wa, &wb, out) {
        return;
    }
    // Every include's whole subtree, compared as sets of authorized networks.
    included_changes(domain, &wa, &wb, inv, out);
    if a.as_deref().map(norm_spf) == b.as_deref().map(norm_spf) {
        // The record means the same; an include's content may have changed the counts.
        if wa.lookups <= 10 && wb.lookups > 10 {
            out.push(change(domain, "spf", domain, Some(format!("{} lookups", wa.lookups)), Some(format!("{} lookups", wb.lookups)), "weakened",
                "an included record grew: the SPF lookup count crossed the limit of 10, so receivers return permerror for mail the record's earlier terms do not match"));
        }
        if wa.void_lookups <= 2 && wb.void_lookups > 2 {
            out.push(change(domain, "spf", domain, Some(format!("{} void lookups", wa.void_lookups)), Some(format!("{} void lookups", wb.void_lookups)), "weakened",
                "names the record looks up stopped existing: void lookups passed the limit of 2 (RFC 7208 §4.6.4), so receivers return permerror for mail that reaches them"));
        }
        return;
    }
    let mut meanings = Vec::new();
    let mut direction = "changed";
    if wa.lookups <= 10 && wb.lookups > 10 {
        meanings.push(format!(
            "DNS lookups went from {} to {}, over the limit of 10: receivers return permerror for mail the record's earlier terms do not match",
            wa.lookups, wb.lookups
        ));
        direction = "weakened";
    } else if wa.lookups > 10 && wb.lookups <= 10 {
        meanings.push(format!(
            "DNS lookups went from {} to {}, back within the limit",
            wa.lookups, wb.lookups
        ));
        direction = "strengthened";
    } else if wa.lookups != wb.lookups {
        meanings.push(format!("DNS lookups {} → {}", wa.lookups, wb.lookups));
    }
    let (ra, rb) = (all_rank(wa.all.as_deref()), all_rank(wb.all.as_deref()));
    if rb < ra {
        meanings.push(format!(
            "qualifier weakened from {} to {}",
            wa.all.as_deref().unwrap_or("(none)"),
            wb.all.as_deref().unwrap_or("(none)")
        ));
        direction = "weakened";
    } else if rb > ra {
        meanings.push(format!(
            "qualifier strengthened from {} to {}",
            wa.all.as_deref().unwrap_or("(none)"),
            wb.all.as_deref().unwrap_or("(none)")
        ));
        if direction == "changed" {
            direction = "strengthened";
        }
    }
    let inc_a: BTreeSet<String> = a
        .as_deref()
        .map(spf::parse)
        .map(|r| {
            r.includes()
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let inc_b: BTreeSet<String> = b
        .as_deref()
        .map(spf::parse)
        .map(|r| {
            r.includes()
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    for added in inc_b.difference(&inc_a) {
        let known = inv
            .vendors
            .iter()
            .any(|v| v.spf_includes.iter().any(|i| i.eq_ignore_ascii_case(added)));
        let note = if inv.vendors.is_empty() {
            String::new()
        } else if known {
            " (matches an inventory vendor)".to_string()
        } else {
            " — no inventory vendor lists this include".to_string()
        };
        out.push(change(
            domain,
            "spf",
            &format!("include:{added}"),
            None,
            Some(added.clone()),
            "added",
            &format!("new SPF include authorizes another sender{note}"),
        ));
    }
    let nets = |t: &Option<String>| -> BTreeSet<ipnet::IpNet> {
        t.as_deref()
            .map(spf::parse)
            .map(|r| {
                r.networks()
                    .into_iter()
                    .filter(|(q, _)| *q == spf::Qualifier::Pass)
                    .map(|(_, n)| n)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (net_a, net_b) = (nets(&a), nets(&b));
    for added in net_b.difference(&net_a) {
        let known = inv
            .vendors
            .iter()
            .any(|v| v.ip_ranges.iter().any(|r| r.contains(added)));
        let note = if inv.vendors.is_empty() {
            String::new()
        } else if known {
            " (within an inventory vendor's ip_ranges)".to_string()
        } else {
            " — no inventory vendor lists this range".to_string()
        };
        let v = if added.addr().is_ipv4() { "ip4" } else { "ip6" };
        out.push(change(
            domain,
            "spf",
            &format!("{v}:{added}"),
            None,
            Some(added.to_string()),
            "added",
            &format!(
                "new SPF {v} range authorizes {} address(es){note}",
                net_size(added)
            ),
        ));
    }
    for removed in net_a.difference(&net_b) {
        let v = if removed.addr().is_ipv4() {
            "ip4"
        } else {
            "ip6"
        };
        out.push(change(
            domain,
            "spf",
            &format!("{v}:{removed}"),
            Some(removed.to_string()),
            None,
            "removed",
            "SPF range removed: senders there are no longer authorized",
        ));
    }
    for removed in inc_a.difference(&inc_b) {
        out.push(change(
            domain,
            "spf",
            &format!("include:{removed}"),
            Some(removed.clone()),
            None,
            "removed",
            "SPF include removed: that sender is no longer authorized",
        ));
    }
    if meanings.is_empty() {
        meanings.push("record text changed".into());
    }
    out.push(change(
        domain,
        "spf",
        domain,
        a,
        b,
        direction,
        &meanings.join("; "),
    ));
}

fn dmarc_changes(
    domain: &str,
    old: &Snapshot,
    new: &Snapshot,
    inv: &Inventory,
    out: &mut Vec<Change>,
) {
    let (da, db) = (dmarc::discover(domain, old), dmarc::discover(domain, new));
    use dmarc::DiscoveryStatus as S;
    if da.status == S::Incomplete || db.status == S::Incomplete {
        let name = format!("_dmarc.{domain}");
        if asked_either(&name, Rtype::Txt, old, new) {
            out.push(unverified(domain, "dmarc", &name, Rtype::Txt, old, new));
        }
        return;
    }
    let loc = db
        .location
        .clone()
        .or(da.location.clone())
        .unwrap_or_else(|| format!("_dmarc.{domain}"));
    match (&da.parsed, &db.parsed) {
        (Some(_), None) if db.status == S::Multiple => {
            let at = db.multiple_at.join(", ");
            out.push(change(
                domain,
                "dmarc",
                &loc,
                da.record.clone(),
                Some(format!("several v=DMARC1 records at {at}")),
                "weakened",
                &format!(
                    "several DMARC records now answer at {at}: receivers discard them all and apply no policy (RFC 9989 §4.10); the record was not removed, so delete all but one"
                ),
            ));
        }
        (Some(_), None) => {
            out.push(change(
                domain,
                "dmarc",
                &loc,
                da.record.clone(),
                None,
                "removed",
                "DMARC record removed: receivers no longer apply any policy",
            ));
        }
        (None, Some(_)) => out.push(change(
            domain,
            "dmarc",
            &loc,
            None,
            db.record.clone(),
            "strengthened",
            "DMARC record published",
        )),
        (Some(ra), Some(rb)) if dmarc_tags(ra) != dmarc_tags(rb) => {
            let mut weaker = Vec::new();
            let mut stronger = Vec::new();
            let mut cmp = |what: &str, x: dmarc::Policy, y: dmarc::Policy| {
                if y < x {
                    weaker.push(format!(
                        "{what} lowered from {} to {}",
                        x.as_str(),
                        y.as_str()
                    ));
                } else if y > x {
                    stronger.push(format!(
                        "{what} raised from {} to {}",
                        x.as_str(),
                        y.as_str()
                    ));
                }
            };
            cmp("p", ra.p(), rb.p());
            // sp and np default to the tag before them: a change through the default is the
            // p (or sp) change already named, so they are compared only when one record
            // states them.
            let states = |tag: &str| ra.tag(tag).is_some() || rb.tag(tag).is_some();
            if states("sp") {
                cmp("sp", ra.sp(), rb.sp());
            }
            if states("np") {
                cmp("np", ra.np(), rb.np());
            }
            // pct and t only qualify an enforcing policy, so they are compared only when p is
            // unchanged: none → quarantine with pct=50 is a strengthening, not a weakening.
            if ra.p() == rb.p() && rb.p() != dmarc::Policy::None {
                if rb.pct() < ra.pct() {
                    weaker.push(format!("pct lowered from {} to {}", ra.pct(), rb.pct()));
                } else if rb.pct() > ra.pct() {
                    stronger.push(format!("pct raised from {} to {}", ra.pct(), rb.pct()));
                }
                if rb.testing() && !ra.testing() {
                    weaker.push("t=y (test mode) added".into());
                } else if ra.testing() && !rb.testing() {
                    stronger.push("t=y (test mode) removed".into());
                }
            } else if rb.p() > ra.p() && (rb.pct() < 100 || rb.testing()) {
                // The raise reaches only part of the failing mail: say so in the same phrase.
                let part = match (rb.pct() < 100, rb.testing()) {
                    (true, true) => format!(
                        ", applied to {}% of failing mail (pct={}) and in test mode (t=y: receivers apply one level lower)",
                        rb.pct(),
                        rb.pct()
                    ),
                    (true, false) => format!(
                        ", applied to {}% of failing mail (pct={})",
                        rb.pct(),
                        rb.pct()
                    ),
                    _ => " in test mode (t=y: receivers apply one level lower)".to_string(),
                };
                if let Some(raise) = stronger.iter_mut().find(|s| s.starts_with("p raised")) {
                    raise.push_str(&part);
                }
            }
            if !ra.rua.is_empty() && rb.rua.is_empty() {
                weaker.push("rua removed: aggregate reports stop".into());
            } else if ra.rua.is_empty() && !rb.rua.is_empty() {
                stronger.push("rua added".into());
            }
            let mut other = Vec::new();
            for (tag, what) in [("adkim", "DKIM alignment"), ("aspf", "SPF alignment")] {
                let mode = |r: &dmarc::DmarcRecord| {
                    r.tag(tag)
                        .map(|t| t.value.to_ascii_lowercase())
                        .filter(|v| v == "s")
                        .map_or("relaxed", |_| "strict")
                };
                match (mode(ra), mode(rb)) {
                    ("strict", "relaxed") => weaker.push(format!(
                        "{tag} relaxed: {what} now accepts any subdomain of the organizational domain"
                    )),
                    ("relaxed", "strict") => stronger.push(format!("{tag} made strict: {what} now requires the exact domain")),
                    _ => {}
                }
            }
            for tag in ["fo", "ri", "rf"] {
                let v = |r: &dmarc::DmarcRecord| {
                    r.tag(tag).map(|t| t.value.replace(char::is_whitespace, ""))
                };
                if v(ra) != v(rb) {
                    other.push(format!(
                        "{tag} {} → {}",
                        v(ra).unwrap_or_else(|| "(default)".into()),
                        v(rb).unwrap_or_else(|| "(default)".into())
                    ));
                }
            }
            for (kind, a_list, b_list) in [("rua", &ra.rua, &rb.rua), ("ruf", &ra.ruf, &rb.ruf)] {
                let uris = |l: &[dmarc::ReportUri]| -> BTreeSet<String> {
                    l.iter().map(|u| u.uri.to_ascii_lowercase()).collect()
                };
                let before = uris(a_list);
                for u in b_list
                    .iter()
                    .filter(|u| !before.contains(&u.uri.to_ascii_lowercase()))
                {
                    let (w, text) = destination(kind, u, domain, new, inv);
                    if w {
                        weaker.push(text);
                    } else {
                        other.push(text);
                    }
                }
                // All of rua gone is already said ("rua removed").
                if kind == "rua" && b_list.is_empty() {
                    continue;
                }
                let after = uris(b_list);
                for u in a_list
                    .iter()
                    .filter(|u| !after.contains(&u.uri.to_ascii_lowercase()))
                {
                    other.push(format!("{kind} no longer sends to {}", u.uri));
                }
            }
            let (direction, mut meaning) = if !weaker.is_empty() {
                ("weakened", weaker.join("; "))
            } else if !stronger.is_empty() {
                ("strengthened", stronger.join("; "))
            } else {
                (
                    "changed",
                    if other.is_empty() {
                        "the record's tags changed without changing the policy".to_string()
                    } else {
                        other.join("; ")
                    },
                )
            };
            if !weaker.is_empty() && !stronger.is_empty() {
                meaning.push_str(&format!("; also {}", stronger.join("; ")));
            }
            if direction != "changed" && !other.is_empty() {
                meaning.push_str(&format!("; {}", other.join("; ")));
            }
            out.push(change(
                domain,
                "dmarc",
                &loc,
                da.record.clone(),
                db.record.clone(),
                direction,
                &meaning,
            ));
        }
        _ => {}
    }
}

fn key_of(snap: &Snapshot, name: &str) -> Result<Option<(String, dkim::DkimKey)>, ()> {
    let Some(l) = snap.get(name, Rtype::Txt) else {
        return Err(());
    };
    if l.outcome.is_failure() {
        return Err(());
    }
    Ok(l.answers
        .iter()
        .find(|a| dkim::is_key_record(a))
        .map(|t| (t.clone(), dkim::parse(t))))
}

fn dkim_changes(
    domain: &str,
    old: &Snapshot,
    new: &Snapshot,
    inv: &Inventory,
    out: &mut Vec<Change>,
) {
    let sels = |s: &Snapshot| -> BTreeSet<String> {
        s.domain(domain)
            .map(|d| d.selectors.iter().map(|x| x.selector.clone()).collect())
            .unwrap_or_default()
    };
    let all: BTreeSet<String> = sels(old).union(&sels(new)).cloned().collect();
    for sel in all {
        let name = format!("{sel}._domainkey.{domain}");
        let asked = |s: &Snapshot| s.get(&name, Rtype::Txt).is_some();
        if !asked(old) && !asked(new) {
            continue;
        }
        if asked(old) && !asked(new) {
            out.push(change(
                domain,
                "dkim",
                &name,
                None,
                None,
                "unverified",
                "selector no longer queried (it left the config, the inventory and the reports): its key is no longer monitored, so a change to it would go unseen",
            ));
            continue;
        }
        if !asked(old) && asked(new) {
            if let Ok(Some((tb, _))) = key_of(new, &name) {
                out.push(change(
                    domain,
                    "dkim",
                    &name,
                    None,
                    Some(tb),
                    "monitored",
                    "selector queried for the first time: its key was not looked up before, so this is not known to be new",
                ));
            }
            continue;
        }
        let (Ok(a), Ok(b)) = (key_of(old, &name), key_of(new, &name)) else {
            out.push(unverified(domain, "dkim", &name, Rtype::Txt, old, new));
            continue;
        };
        match (a, b) {
            (Some((ta, _)), None) => out.push(change(
                domain,
                "dkim",
                &name,
                Some(ta),
                None,
                "removed",
                "DKIM key removed: mail still signed with this selector fails DKIM",
            )),
            (None, Some((tb, _))) => {
                let known = inv.vendors.is_empty()
                    || inv
                        .vendors
                        .iter()
                        .any(|v| v.dkim_selectors.iter().any(|s| s == &sel));
                let note = if known {
                    "new DKIM selector published"
                } else {
                    "new DKIM selector published; no inventory vendor lists it"
                };
                out.push(change(domain, "dkim", &name, None, Some(tb), "added", note));
            }
            (Some((ta, ka)), Some((tb, kb))) => {
                if let Some((direction, meaning)) = key_change(&ka, &kb) {
                    out.push(change(
                        domain,
                        "dkim",
                        &name,
                        Some(ta),
                        Some(tb),
                        direction,
                        &meaning,
                    ));
                }
            }
            (None, None) => {}
        }
    }
}

/// What changed between two key records at one selector, by their parsed meaning: whitespace
/// and tag order are no change. `None` when they mean the same.
fn key_change(a: &dkim::DkimKey, b: &dkim::DkimKey) -> Option<(&'static str, String)> {
    use dkim::DkimStatus as S;
    let revoked = |k: &dkim::DkimKey| k.status == S::Revoked;
    match (revoked(a), revoked(b)) {
        (false, true) => {
            return Some((
                "revoked",
                "key revoked (empty p=): signatures with this selector no longer verify, as intended when the selector is retired".into(),
            ));
        }
        (true, false) => {
            return Some((
                "added",
                "a key is published again at a revoked selector".into(),
            ));
        }
        (true, true) => return None,
        _ => {}
    }
    if a.fingerprint != b.fingerprint {
        let size = match (a.bits, b.bits) {
            (Some(x), Some(y)) if y < x => {
                return Some((
                    "weakened",
                    format!("key replaced by a smaller one: {x} → {y} bits (RSA)"),
                ));
            }
            (Some(x), Some(y)) if x != y => format!("; key size {x} → {y} bits"),
            _ => String::new(),
        };
        let kind = match (&a.key_type, &b.key_type) {
            (Some(x), Some(y)) if x != y => format!("; key type {x:?} → {y:?}"),
            _ => String::new(),
        };
        // The key's SHA-256 fingerprints, as the key-age finding (CHG-003) names keys: the
        // reader matches them without comparing hundreds of base64 characters.
        let fps = match (&a.fingerprint, &b.fingerprint) {
            (Some(x), Some(y)) => format!(
                "; sha256 {}… → {}…",
                x.get(..16).unwrap_or(x),
                y.get(..16).unwrap_or(y)
            ),
            _ => String::new(),
        };
        return Some((
            "rotated",
            format!("key rotated (public key changed){size}{kind}{fps}"),
        ));
    }
    let norm = |k: &dkim::DkimKey| -> BTreeSet<(String, String)> {
        k.tags
            .iter()
            .map(|t| {
                (
                    t.name.to_ascii_lowercase(),
                    t.value.split_whitespace().collect::<String>(),
                )
            })
            .collect()
    };
    let (ta, tb) = (norm(a), norm(b));
    if ta == tb {
        return None;
    }
    let named = |set: &BTreeSet<(String, String)>, other: &BTreeSet<(String, String)>| {
        set.difference(other)
            .filter(|(n, _)| n != "p")
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
    };
    let (gone, new) = (named(&ta, &tb), named(&tb, &ta));
    let mut parts = Vec::new();
    if !gone.is_empty() {
        parts.push(format!("was {}", gone.join("; ")));
    }
    if !new.is_empty() {
        parts.push(format!("now {}", new.join("; ")));
    }
    let detail = parts.join(", ");
    if b.testing && !a.testing {
        return Some((
            "weakened",
            format!(
                "t=y (testing) set: verifiers may treat its signatures as if the mail were unsigned; the key itself is unchanged ({detail})"
            ),
        ));
    }
    if a.testing && !b.testing {
        return Some((
            "strengthened",
            format!(
                "t=y (testing) removed: its signatures count fully; the key itself is unchanged ({detail})"
            ),
        ));
    }
    Some((
        "changed",
        format!("key record tags changed ({detail}); the key itself is unchanged"),
    ))
}

/// How many addresses a network holds, in words a reader can weigh (`256`, `2^64`).
fn net_size(n: &ipnet::IpNet) -> String {
    let bits = u32::from(n.max_prefix_len() - n.prefix_len());
    if bits < 32 {
        (1u64 << bits).to_string()
    } else {
        format!("2^{bits}")
    }
}

/// DKIM keys in `new` that have stayed the same for longer than `max_age_days`, judged over
/// `history` (stored snapshots, any order; those after `new` are ignored). `direction` is
/// `unchanged`: an auditor reading the diff sees a key that should have been rotated.
pub fn stale_keys(history: &[&Snapshot], new: &Snapshot, max_age_days: u32) -> Vec<Change> {
    let mut older: Vec<&Snapshot> = history
        .iter()
        .copied()
        .filter(|h| h.taken_at < new.taken_at)
        .collect();
    older.sort_by_key(|h| std::cmp::Reverse(h.taken_at));
    let mut out = Vec::new();
    for d in &new.domains {
        for s in &d.selectors {
            let name = format!("{}._domainkey.{}", s.selector, d.name);
            let Ok(Some((text, key))) = key_of(new, &name) else {
                continue;
            };
            let Some(fp) = key.fingerprint.clone() else {
                continue;
            };
            let mut since = new.taken_at;
            for h in &older {
                match key_of(h, &name) {
                    Ok(Some((_, k))) if k.fingerprint.as_deref() == Some(fp.as_str()) => {
                        since = h.taken_at;
                    }
                    _ => break,
                }
            }
            let days = (new.taken_at - since).num_days();
            if days > i64::from(max_age_days) {
                out.push(change(
                    &d.name,
                    "dkim",
                    &name,
                    Some(format!("key sha256 {fp} since {}", since.format("%Y-%m-%d"))),
                    Some(text),
                    "unchanged",
                    &format!(
                        "DKIM key not rotated for {days} days, past the rotation window of {max_age_days} days (policy.dkim_max_age_days)"
                    ),
                ));
            }
        }
    }
    out
}

fn simple_txt(
    domain: &str,
    name: &str,
    prefix: &str,
    area: &str,
    old: &Snapshot,
    new: &Snapshot,
    out: &mut Vec<Change>,
) {
    let (Ok(a), Ok(b)) = (txt(old, name, prefix), txt(new, name, prefix)) else {
        if asked_either(name, Rtype::Txt, old, new) {
            out.push(unverified(domain, area, name, Rtype::Txt, old, new));
        }
        return;
    };
    match (&a, &b) {
        (Some(_), None) => out.push(change(
            domain,
            area,
            name,
            a.clone(),
            None,
            "removed",
            &format!("{area} record removed"),
        )),
        (None, Some(_)) => out.push(change(
            domain,
            area,
            name,
            None,
            b.clone(),
            "added",
            &format!("{area} record published"),
        )),
        (Some(x), Some(y)) if x != y => out.push(change(
            domain,
            area,
            name,
            a.clone(),
            b.clone(),
            "changed",
            &format!("{area} record changed"),
        )),
        _ => {}
    }
}

fn mx_changes(
    domain: &str,
    old: &Snapshot,
    new: &Snapshot,
    inv: &Inventory,
    out: &mut Vec<Change>,
) {
    let get = |s: &Snapshot| {
        s.get(domain, Rtype::Mx)
            .filter(|l| !l.outcome.is_failure())
            .map(|l| l.answers.clone())
    };
    let (Some(a), Some(b)) = (get(old), get(new)) else {
        if asked_either(domain, Rtype::Mx, old, new) {
            out.push(unverified(domain, "mx", domain, Rtype::Mx, old, new));
        }
        return;
    };
    // Preference and host, case-folded and without the root dot: answer order is no change.
    let set = |v: &[String]| -> BTreeSet<(String, String)> {
        v.iter()
            .map(|r| {
                let mut it = r.split_whitespace();
                let pref = it.next().unwrap_or_default().to_string();
                let host = it
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                (pref, host)
            })
            .collect()
    };
    let (sa, sb) = (set(&a), set(&b));
    if sa == sb {
        return;
    }
    let is_null =
        |v: &[String]| v.len() == 1 && v[0].split_whitespace().nth(1).is_some_and(|h| h == ".");
    let (direction, meaning) = if is_null(&a) && !is_null(&b) {
        (
            "removed",
            "null MX removed: the domain now appears to accept mail".to_string(),
        )
    } else if b.is_empty() {
        ("removed", "MX records removed".to_string())
    } else if is_null(&b) {
        (
            "strengthened",
            "null MX published: the domain says it accepts no mail (RFC 7505)".to_string(),
        )
    } else {
        let hosts_a: BTreeSet<&String> = sa.iter().map(|(_, h)| h).collect();
        let ours = |h: &str| {
            new.domains
                .iter()
                .any(|d| h == d.name || h.ends_with(&format!(".{}", d.name)))
        };
        let covered = |h: &str| {
            inv.vendors.iter().any(|v| {
                v.domains
                    .iter()
                    .chain(&v.spf_includes)
                    .chain(&v.dkim_domains)
                    .chain(&v.ptr_suffixes)
                    .any(|d| dmarc::same_organization(d, h))
            })
        };
        let strangers: Vec<&str> = sb
            .iter()
            .map(|(_, h)| h.as_str())
            .filter(|h| !hosts_a.contains(&h.to_string()) && !ours(h))
            .filter(|h| !inv.vendors.is_empty() && !covered(h))
            .collect();
        if strangers.is_empty() {
            (
                "changed",
                "mail exchangers changed (check MTA-STS policy mx patterns)".to_string(),
            )
        } else {
            (
                "weakened",
                format!(
                    "mail for {domain} now goes to {}, which neither the organization's domains nor any inventory vendor covers: inbound mail, which can hold PHI, reaches a party with no BAA on record",
                    strangers.join(", ")
                ),
            )
        }
    };
    out.push(change(
        domain,
        "mx",
        domain,
        Some(mx_text(&a)),
        Some(mx_text(&b)),
        direction,
        &meaning,
    ));
}

/// An MX answer as the report shows it; no records at all is said, never left blank.
fn mx_text(v: &[String]) -> String {
    if v.is_empty() {
        "(no MX record: senders fall back to the domain's A/AAAA records if it has any, RFC 5321 §5.1; those are not captured)".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Lookup, Outcome, SCHEMA, ScopedDomain};

    fn snap(dmarc: &str, spf: &str) -> Snapshot {
        let l = |name: &str, ans: &str| Lookup {
            name: name.into(),
            rtype: Rtype::Txt,
            outcome: Outcome::Answer,
            error: None,
            answers: vec![ans.into()],
            txt_strings: vec![],
            cname_chain: vec![],
            dnssec: None,
            elapsed_ms: 0,
            purpose: "t".into(),
        };
        Snapshot {
            schema: SCHEMA.into(),
            taken_at: chrono::DateTime::UNIX_EPOCH,
            tool: "t".into(),
            tool_version: "0".into(),
            nameservers: vec![],
            domains: vec![ScopedDomain {
                name: "a.example".into(),
                role: crate::config::Role::Patient,
                selectors: vec![],
            }],
            lookups: vec![l("_dmarc.a.example", dmarc), l("a.example", spf)],
            organization: None,
            scope_sha256: None,
            transport: None,
            dnssec: None,
        }
    }

    /// A snapshot of a.example with an MTA-STS record, an MX set and the policy as fetched.
    fn sts_snap(id: &str, mx: &[&str], body: &str) -> Snapshot {
        let mut s = snap("v=DMARC1; p=reject", "v=spf1 -all");
        s.lookups.push(Lookup {
            name: "_mta-sts.a.example".into(),
            answers: vec![format!("v=STSv1; id={id}")],
            ..s.lookups[0].clone()
        });
        s.lookups.push(Lookup {
            name: "a.example".into(),
            rtype: Rtype::Mx,
            answers: mx.iter().map(|h| format!("10 {h}.")).collect(),
            ..s.lookups[0].clone()
        });
        s.transport = Some(crate::snapshot::transport::TransportCapture {
            probed: false,
            smtp_port: 25,
            sts_policies: vec![crate::snapshot::transport::PolicyFetch {
                domain: "a.example".into(),
                url: "https://mta-sts.a.example/.well-known/mta-sts.txt".into(),
                outcome: crate::snapshot::transport::Outcome::Ok,
                error: None,
                address: None,
                status: Some(200),
                content_type: Some("text/plain".into()),
                location: None,
                body: Some(body.into()),
                certificate: None,
                elapsed_ms: 0,
            }],
            smtp: vec![],
        });
        s
    }

    #[test]
    fn a_policy_changed_under_the_same_id_or_left_behind_by_the_mx_is_chg_006() {
        let p1 = "version: STSv1\nmode: enforce\nmx: mx1.a.example\nmax_age: 604800\n";
        let p2 = "version: STSv1\nmode: enforce\nmx: mx2.a.example\nmax_age: 604800\n";
        let inv = Inventory::default();
        let chg = |old: &Snapshot, new: &Snapshot| -> Vec<Change> {
            diff(old, new, &inv)
                .into_iter()
                .filter(|c| c.check.as_deref() == Some("CHG-006"))
                .collect()
        };
        // Same id, new body: senders keep the cached policy.
        let c = chg(
            &sts_snap("1", &["mx1.a.example"], p1),
            &sts_snap("1", &["mx1.a.example"], p2),
        );
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].meaning.contains("the record's id did not"));
        // A new id with the new body is the right way: nothing to say.
        assert!(
            chg(
                &sts_snap("1", &["mx1.a.example"], p1),
                &sts_snap("2", &["mx1.a.example"], p2)
            )
            .is_empty()
        );
        // The MX moved, the policy did not.
        let c = chg(
            &sts_snap("1", &["mx1.a.example"], p1),
            &sts_snap("1", &["mx2.a.example"], p1),
        );
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(
            c[0].meaning.contains("do not cover mx2.a.example"),
            "{}",
            c[0].meaning
        );
        assert_eq!(c[0].effect, Effect::Weakened);
        // Without a fetch in both snapshots nothing is claimed.
        let mut old = sts_snap("1", &["mx1.a.example"], p1);
        old.transport = None;
        assert!(chg(&old, &sts_snap("1", &["mx1.a.example"], p2)).is_empty());
    }

    fn dmarc_dir(a: &str, b: &str) -> (String, String) {
        let ch = diff(
            &snap(a, "v=spf1 -all"),
            &snap(b, "v=spf1 -all"),
            &Inventory::default(),
        );
        let c = ch
            .iter()
            .find(|c| c.area == "dmarc")
            .expect("a dmarc change");
        (c.direction.clone(), c.meaning.clone())
    }

    #[test]
    fn dmarc_direction() {
        let (d, m) = dmarc_dir(
            "v=DMARC1; p=none; rua=mailto:r@a.example",
            "v=DMARC1; p=quarantine; pct=50; rua=mailto:r@a.example",
        );
        assert_eq!(d, "strengthened");
        assert_eq!(
            m,
            "p raised from none to quarantine, applied to 50% of failing mail (pct=50)"
        );
        assert_eq!(
            dmarc_dir("v=DMARC1; p=reject", "v=DMARC1; p=reject; pct=20").0,
            "weakened"
        );
        assert_eq!(
            dmarc_dir(
                "v=DMARC1; p=reject; rua=mailto:r@a.example",
                "v=DMARC1; p=reject"
            )
            .0,
            "weakened"
        );
        let (d, m) = dmarc_dir(
            "v=DMARC1; p=reject; sp=reject",
            "v=DMARC1; p=reject; sp=none",
        );
        assert_eq!(d, "weakened");
        assert!(m.contains("sp lowered from reject to none"), "{m}");
    }

    #[test]
    fn spf_qualifier_weakened_and_failure_is_not_removal() {
        let ch = diff(
            &snap("v=DMARC1; p=reject", "v=spf1 -all"),
            &snap("v=DMARC1; p=reject", "v=spf1 ~all"),
            &Inventory::default(),
        );
        let c = ch.iter().find(|c| c.area == "spf").unwrap();
        assert_eq!(c.direction, "weakened");
        assert!(c.meaning.contains("-all to ~all"), "{}", c.meaning);
        let mut failed = snap("v=DMARC1; p=reject", "v=spf1 -all");
        for l in &mut failed.lookups {
            l.outcome = Outcome::Servfail;
            l.answers.clear();
        }
        let ch = diff(
            &snap("v=DMARC1; p=reject", "v=spf1 -all"),
            &failed,
            &Inventory::default(),
        );
        // Unverified, never removed, and never silently "no change".
        assert_eq!(ch.len(), 2, "{ch:?}");
        for c in &ch {
            assert_eq!(c.effect, Effect::Unverified, "{c:?}");
            assert_eq!(c.direction, "unverified");
            assert!(c.meaning.contains("newer snapshot: servfail"), "{c:?}");
            assert!(c.check.is_none());
        }
    }

    fn at(day: u32, lookups: &[(&str, Rtype, Outcome, &[&str])]) -> Snapshot {
        use chrono::TimeZone;
        let mut s = crate::records::spf_walk::tests::snapshot(lookups);
        s.taken_at = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::days(i64::from(day));
        s.domains = vec![ScopedDomain {
            name: "a.example".into(),
            role: crate::config::Role::Patient,
            selectors: vec![crate::snapshot::SelectorSource {
                selector: "s1".into(),
                sources: vec!["config".into()],
            }],
        }];
        s
    }

    const KEY1: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const KEY2: &str = "v=DKIM1; k=ed25519; p=7a3FFknv0OTXJJRtIWbLqi7AX7S1Ik7mwGd3/ckhWcQ=";

    fn inventory(csv: &str) -> Inventory {
        Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap()
    }

    #[test]
    fn new_ranges_and_includes_are_checked_against_the_inventory() {
        use Outcome::Answer;
        use Rtype::Txt;
        let old = at(
            0,
            &[("a.example", Txt, Answer, &["v=spf1 ip4:192.0.2.0/24 -all"])],
        );
        let new = at(
            30,
            &[(
                "a.example",
                Txt,
                Answer,
                &[
                    "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 ip4:203.0.113.0/24 include:mail.vendor.test include:new.test -all",
                ],
            )],
        );
        let inv =
            inventory("vendor,spf_includes,ip_ranges\nVendorCo,mail.vendor.test,198.51.100.0/23\n");
        let ch = diff(&old, &new, &inv);
        let find = |n: &str| {
            ch.iter()
                .find(|c| c.name == n)
                .unwrap_or_else(|| panic!("{n}: {ch:#?}"))
        };
        assert!(
            find("ip4:198.51.100.0/24")
                .meaning
                .contains("within an inventory vendor")
        );
        let unknown = find("ip4:203.0.113.0/24");
        assert_eq!(unknown.direction, "added");
        assert!(
            unknown.meaning.contains("256 address"),
            "{}",
            unknown.meaning
        );
        assert!(
            unknown.meaning.contains("no inventory vendor"),
            "{}",
            unknown.meaning
        );
        assert!(
            find("include:mail.vendor.test")
                .meaning
                .contains("matches an inventory vendor")
        );
        assert!(
            find("include:new.test")
                .meaning
                .contains("no inventory vendor")
        );
        // CHG-005 reads exactly those.
        let f = crate::assess::change_checks::assess(
            &ch,
            &[],
            None,
            &crate::config::PolicyConfig::default(),
            "2026-02",
        );
        let chg5: Vec<&str> = f
            .iter()
            .filter(|f| f.check == "CHG-005")
            .map(|f| f.subject.as_str())
            .collect();
        assert_eq!(chg5, vec!["include:new.test", "ip4:203.0.113.0/24"]);
    }

    #[test]
    fn lookup_count_crossing_ten_through_an_include_is_a_weakening() {
        use Outcome::Answer;
        use Rtype::{A, Txt};
        let small = ["v=spf1 exists:e.test ~all"];
        let big = [
            "v=spf1 exists:e1.test exists:e2.test exists:e3.test exists:e4.test exists:e5.test exists:e6.test exists:e7.test exists:e8.test exists:e9.test exists:e10.test ~all",
        ];
        let top = ["v=spf1 include:v.test -all"];
        let old = at(
            0,
            &[
                ("a.example", Txt, Answer, &top),
                ("v.test", Txt, Answer, &small),
                ("e.test", A, Answer, &["127.0.0.2"]),
            ],
        );
        let new = at(
            30,
            &[
                ("a.example", Txt, Answer, &top),
                ("v.test", Txt, Answer, &big),
            ],
        );
        let ch = diff(&old, &new, &Inventory::default());
        let c = ch.iter().find(|c| c.area == "spf").expect("spf change");
        assert_eq!(c.direction, "weakened");
        assert!(
            c.meaning.contains("crossed the limit of 10"),
            "{}",
            c.meaning
        );
        assert_eq!(c.before.as_deref(), Some("2 lookups"));
        assert_eq!(c.after.as_deref(), Some("11 lookups"));
    }

    #[test]
    fn dkim_rotation_removal_and_keys_past_the_rotation_window() {
        use Outcome::{Answer, Nxdomain};
        use Rtype::Txt;
        let k1 = at(0, &[("s1._domainkey.a.example", Txt, Answer, &[KEY1])]);
        let k1_later = at(200, &[("s1._domainkey.a.example", Txt, Answer, &[KEY1])]);
        let k1_last = at(400, &[("s1._domainkey.a.example", Txt, Answer, &[KEY1])]);
        let k2 = at(430, &[("s1._domainkey.a.example", Txt, Answer, &[KEY2])]);
        let gone = at(460, &[("s1._domainkey.a.example", Txt, Nxdomain, &[])]);

        let ch = diff(&k1_last, &k2, &Inventory::default());
        assert_eq!(ch.len(), 1, "{ch:#?}");
        assert_eq!(ch[0].direction, "rotated");
        // The fingerprints name the keys, as the key-age finding does.
        assert!(
            ch[0].meaning.contains("; sha256 ") && ch[0].meaning.contains("… → "),
            "{}",
            ch[0].meaning
        );
        let ch = diff(&k2, &gone, &Inventory::default());
        assert_eq!(
            (ch[0].direction.as_str(), ch[0].area.as_str()),
            ("removed", "dkim")
        );

        let stale = stale_keys(&[&k1, &k1_later], &k1_last, 365);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].direction, "unchanged");
        assert!(
            stale[0].meaning.contains("400 days"),
            "{}",
            stale[0].meaning
        );
        assert!(
            stale[0]
                .before
                .as_deref()
                .is_some_and(|b| b.ends_with("since 2026-01-01"))
        );
        // A rotation resets the clock; a gap in history ends the walk back.
        assert!(stale_keys(&[&k1, &k1_later, &k1_last], &k2, 365).is_empty());
        assert!(
            stale_keys(&[&k1_later], &k1_last, 365).is_empty(),
            "200 days only"
        );
    }

    #[test]
    fn keys_are_compared_by_meaning_revoked_and_testing_are_named() {
        use Outcome::Answer;
        use Rtype::Txt;
        let key = |text: &str, day| at(day, &[("s1._domainkey.a.example", Txt, Answer, &[text])]);
        let one = |a: &Snapshot, b: &Snapshot| {
            let ch = diff(a, b, &Inventory::default());
            assert!(ch.len() <= 1, "{ch:#?}");
            ch.into_iter().next()
        };
        // Whitespace inside p= and tag order are no change.
        let (k1, spaced) = (
            key(KEY1, 0),
            key(
                &format!(
                    "k=ed25519; v=DKIM1; p={}",
                    KEY1.split("p=")
                        .nth(1)
                        .unwrap_or_default()
                        .replace("7Ty", "7 Ty")
                ),
                1,
            ),
        );
        assert!(one(&k1, &spaced).is_none());
        // Revoked is revoked, not rotated.
        let c = one(&k1, &key("v=DKIM1; k=ed25519; p=", 2)).unwrap();
        assert_eq!(
            (c.direction.as_str(), c.effect),
            ("revoked", Effect::Neutral)
        );
        // t=y is named, and weakens.
        let c = one(&k1, &key(&format!("{KEY1}; t=y"), 3)).unwrap();
        assert_eq!(c.effect, Effect::Weakened);
        assert!(c.meaning.starts_with("t=y (testing) set"), "{}", c.meaning);
        assert!(c.meaning.contains("now t=y"), "{}", c.meaning);
    }

    #[test]
    fn includes_compare_without_case_and_two_dmarc_records_are_not_a_removal() {
        let a = snap(
            "v=DMARC1; p=reject",
            "v=spf1 include:_spf.Vendor.example -all",
        );
        let b = snap(
            "v=DMARC1; p=reject",
            "v=spf1 include:_spf.vendor.example -all",
        );
        let ch = diff(&a, &b, &Inventory::default());
        assert!(
            ch.iter().all(|c| !c.name.starts_with("include:")),
            "{ch:#?}"
        );

        let mut two = snap("v=DMARC1; p=reject", "v=spf1 -all");
        for l in two
            .lookups
            .iter_mut()
            .filter(|l| l.name == "_dmarc.a.example")
        {
            l.answers.push("v=DMARC1; p=none".into());
        }
        let ch = diff(&a, &two, &Inventory::default());
        let c = ch.iter().find(|c| c.area == "dmarc").expect("dmarc change");
        assert_eq!(c.direction, "weakened");
        assert_eq!(c.check.as_deref(), Some("CHG-001"));
        assert!(c.meaning.contains("several DMARC records"), "{}", c.meaning);
        assert!(c.meaning.contains("not removed"), "{}", c.meaning);
    }

    #[test]
    fn included_records_are_compared_as_networks_and_a_vanished_include_is_permerror() {
        use Outcome::{Answer, Nxdomain};
        use Rtype::Txt;
        let top: &[&str] = &["v=spf1 include:v.test -all"];
        let old = at(
            0,
            &[
                ("a.example", Txt, Answer, top),
                ("v.test", Txt, Answer, &["v=spf1 ip4:192.0.2.0/27 -all"]),
            ],
        );
        // The vendor widened its record from a /27 to a /16; our record is unchanged.
        let wide = at(
            30,
            &[
                ("a.example", Txt, Answer, &["V=SPF1   INCLUDE:v.test -all"]),
                ("v.test", Txt, Answer, &["v=spf1 ip4:10.1.0.0/16 -all"]),
            ],
        );
        let inv = inventory("vendor,spf_includes,ip_ranges\nVendorCo,v.test,192.0.2.0/27\n");
        let ch = diff(&old, &wide, &inv);
        let added = ch
            .iter()
            .find(|c| c.name == "ip4:10.1.0.0/16 via v.test")
            .unwrap_or_else(|| panic!("{ch:#?}"));
        assert_eq!(added.effect, Effect::Weakened);
        assert_eq!(added.check.as_deref(), Some("CHG-005"));
        assert!(
            added
                .meaning
                .contains("VendorCo's include v.test now authorizes 10.1.0.0/16 (65536 addresses)"),
            "{}",
            added.meaning
        );
        let gone = ch
            .iter()
            .find(|c| c.name == "include:v.test ranges")
            .unwrap_or_else(|| panic!("{ch:#?}"));
        assert_eq!(gone.effect, Effect::Strengthened);
        // Case and spacing of our own record are no change.
        assert!(ch.iter().all(|c| c.name != "a.example"), "{ch:#?}");

        // The include target vanished: permerror, a weakening (CHG-002), not a quiet diff.
        let vanished = at(
            60,
            &[
                ("a.example", Txt, Answer, top),
                ("v.test", Txt, Nxdomain, &[]),
            ],
        );
        let ch = diff(&old, &vanished, &inv);
        let c = ch
            .iter()
            .find(|c| c.name == "include:v.test")
            .unwrap_or_else(|| panic!("{ch:#?}"));
        assert_eq!(
            (c.effect, c.check.as_deref()),
            (Effect::Weakened, Some("CHG-002"))
        );
        assert!(
            c.meaning.contains("no longer publishes an SPF record"),
            "{}",
            c.meaning
        );

        // A second SPF record at the name: permerror.
        let two = at(
            90,
            &[
                (
                    "a.example",
                    Txt,
                    Answer,
                    &["v=spf1 include:v.test -all", "v=spf1 +all"],
                ),
                ("v.test", Txt, Answer, &["v=spf1 ip4:192.0.2.0/27 -all"]),
            ],
        );
        let ch = diff(&old, &two, &inv);
        let c = ch
            .iter()
            .find(|c| c.name == "a.example")
            .unwrap_or_else(|| panic!("{ch:#?}"));
        assert_eq!(
            (c.effect, c.check.as_deref()),
            (Effect::Weakened, Some("CHG-002"))
        );
        assert!(
            c.meaning.contains("2 SPF records now answer"),
            "{}",
            c.meaning
        );
    }

    #[test]
    fn report_destinations_are_named_with_their_authorization_and_baa() {
        use Outcome::{Answer, Nxdomain};
        use Rtype::Txt;
        let rec = |r: &str, day| {
            at(
                day,
                &[
                    ("_dmarc.a.example", Txt, Answer, &[r]),
                    (
                        "a.example._report._dmarc.collector.test",
                        Txt,
                        Nxdomain,
                        &[],
                    ),
                ],
            )
        };
        let old = rec("v=DMARC1; p=reject; rua=mailto:d@a.example", 0);
        let new = rec(
            "v=DMARC1; p=reject; rua=mailto:d@collector.test; ruf=mailto:f@collector.test; adkim=r; fo=1",
            30,
        );
        let ch = diff(&old, &new, &Inventory::default());
        let c = ch
            .iter()
            .find(|c| c.area == "dmarc")
            .unwrap_or_else(|| panic!("{ch:#?}"));
        assert_eq!(
            (c.effect, c.check.as_deref()),
            (Effect::Weakened, Some("CHG-001"))
        );
        for part in [
            "rua now sends to mailto:d@collector.test at a party no inventory vendor covers, NOT authorized",
            "ruf now sends to mailto:f@collector.test",
            "can include PHI",
            "rua no longer sends to mailto:d@a.example",
            "fo (default) → 1",
        ] {
            assert!(c.meaning.contains(part), "{part}: {}", c.meaning);
        }
        // Reordered tags and spacing are no change.
        let same = rec("v=DMARC1;rua=mailto:d@a.example;  p=reject", 60);
        assert!(
            diff(&old, &same, &Inventory::default())
                .iter()
                .all(|c| c.area != "dmarc")
        );
    }

    #[test]
    fn an_mx_move_outside_the_inventory_weakens_and_answer_order_is_no_change() {
        use Outcome::Answer;
        use Rtype::Mx;
        let mx = |answers: &[&str], day| at(day, &[("a.example", Mx, Answer, answers)]);
        let old = mx(&["10 mx1.a.example.", "20 mx.mailhost.test."], 0);
        let inv = inventory("vendor,spf_includes\nMailHost,spf.mailhost.test\n");
        let reordered = mx(&["20 MX.mailhost.test.", "10 mx1.a.example."], 30);
        assert!(diff(&old, &reordered, &inv).is_empty());
        let moved = mx(&["10 inbound.stranger.test."], 60);
        let ch = diff(&old, &moved, &inv);
        assert_eq!(ch.len(), 1, "{ch:#?}");
        assert_eq!(ch[0].effect, Effect::Weakened);
        assert!(
            ch[0].meaning.contains("now goes to inbound.stranger.test"),
            "{}",
            ch[0].meaning
        );
        let vendor = mx(&["10 mx2.mailhost.test."], 60);
        assert_eq!(diff(&old, &vendor, &inv)[0].effect, Effect::Neutral);
    }
}

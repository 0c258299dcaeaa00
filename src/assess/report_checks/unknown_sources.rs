//! Sources no inventory vendor accounts for: forged mail (RPT-001), a service sending as us
//! (VEN-006), or forwarded mail (no finding). Every source is listed with what became of it.

use super::*;

/// RPT-001 and VEN-006 findings, and every unknown source with its class, largest first.
pub(super) fn classify(
    cx: &Checks<'_>,
    unknown: &BTreeMap<SourceKey, SourceAcc>,
    verdicts: &BTreeMap<SourceKey, senders::Verdict>,
    vendor_fail: &BTreeMap<String, VendorFail>,
) -> (Vec<Finding>, Vec<SourceStat>) {
    let Checks {
        inv, facts, label, ..
    } = *cx;
    let DnsFacts { policy_none, .. } = facts;
    let mut findings = Vec::new();
    // RPT-001 (spoofing) per domain and VEN-006 (a service) per organization or network.
    type Listed<'a> = Vec<(&'a SourceKey, &'a SourceAcc, String)>;
    let mut spoof: BTreeMap<String, Listed<'_>> = BTreeMap::new();
    let mut shadow: BTreeMap<(String, senders::ServiceBasis), Listed<'_>> = BTreeMap::new();
    let mut unknown_sources = Vec::new();
    for (k, acc) in unknown {
        let Some(verdict) = verdicts.get(k) else {
            continue;
        };
        unknown_sources.push(SourceStat {
            source_ip: k.1.to_string(),
            vendor: None,
            header_from: k.2.clone(),
            messages: acc.messages,
            dmarc_pass: acc.pass,
            reporters: acc.reporters.iter().cloned().collect(),
            class: Some(format!("{} [{}]", verdict.why, acc.quoted_auth(4))),
        });
        let listed = (k, acc, verdict.why.clone());
        match &verdict.kind {
            SourceKind::Service { org, basis } => {
                let group = org.clone().unwrap_or_else(|| network_of(k.1));
                shadow.entry((group, *basis)).or_default().push(listed);
            }
            SourceKind::Spoofing => spoof.entry(k.0.clone()).or_default().push(listed),
            SourceKind::Forwarder | SourceKind::Unknown => {}
        }
    }
    unknown_sources.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(a.source_ip.cmp(&b.source_ip))
    });
    for (domain, mut srcs) in spoof {
        srcs.sort_by_key(|s| std::cmp::Reverse(s.1.messages));
        let total: u64 = srcs.iter().map(|(_, a, _)| a.failing()).sum();
        let mut d = Draft::new("RPT-001", domain.clone())
            .domain(&domain)
            .title(format!(
                "{} from {} claimed to be from {domain}",
                crate::text::count(total as usize, "message", "messages"),
                crate::text::count(
                    srcs.iter()
                        .map(|(k, _, _)| k.1)
                        .collect::<BTreeSet<_>>()
                        .len(),
                    "unauthorized address",
                    "unauthorized addresses"
                )
            ))
            .messages(total);
        // What receivers did with it decides how far the harm reached: refused mail harmed
        // no one, delivered mail reached its targets.
        let disposed = |which: &str| -> u64 {
            srcs.iter()
                .map(|(_, a, _)| a.dispositions.get(which).copied().unwrap_or(0))
                .sum()
        };
        let (rejected, delivered, all) = (
            disposed("reject"),
            disposed("none"),
            srcs.iter().map(|(_, a, _)| a.messages).sum::<u64>(),
        );
        let incident = INCIDENT;
        d = d.remediation(if all > 0 && rejected == all {
            format!("Receivers refused all of this mail, as the policy of {domain} asks: no DNS change is needed. {incident} Watch for sources that start to pass. The finding closes in the first period whose reports show no forged mail using {domain}.")
        } else if policy_none.contains(&domain) {
            format!("{incident} Move {domain} from p=none to p=quarantine, then p=reject, once its legitimate senders pass aligned (see the vendor table), so receivers refuse this mail instead of delivering it.")
        } else {
            let failing: Vec<&str> = vendor_fail
                .keys()
                .filter(|name| {
                    inv.vendors.iter().any(|v| {
                        &v.vendor == *name && v.domains.first().map(String::as_str) == Some(domain.as_str())
                    })
                })
                .map(String::as_str)
                .collect();
            if failing.is_empty() {
                format!("{incident} Move {domain} to p=reject so receivers refuse this mail instead of junking or delivering it.")
            } else {
                format!(
                    "{incident} Move {domain} to p=reject so receivers refuse this mail, but only after {} pass{} DMARC aligned (the cause cards in section 3 say how): until then p=reject would refuse {} mail too.",
                    crate::text::and_list(&failing),
                    if failing.len() == 1 { "es" } else { "" },
                    if failing.len() == 1 { "its" } else { "their" }
                )
            }
        });
        if all > 0 && rejected == all {
            d = d.reach(
                Reach::Minimal,
                format!(
                    "receivers refused all {} of these messages (disposition reject)",
                    crate::text::int(all)
                ),
            );
        } else if delivered == 0 && all > 0 {
            d = d.reach(
                Reach::Partial,
                "receivers junked or refused these messages; none was delivered as asked",
            );
        }
        let sub: u64 = srcs
            .iter()
            .filter(|(k, _, _)| !k.2.eq_ignore_ascii_case(&domain))
            .map(|(_, a, _)| a.failing())
            .sum();
        d = d.subdomain_messages(sub).delivered(delivered);
        if policy_none.contains(&domain) {
            d = d.severity(Severity::Critical).evidence(format!(
                "{domain} publishes p=none, or no usable DMARC record: receivers were asked to deliver this mail"
            ));
        }
        d = d.evidence_all(srcs.iter().take(10).map(|(k, a, why)| {
            format!(
                "{} sent {} as {} (reporters: {}; dispositions: {}); authentication seen: {}; {why}",
                k.1,
                crate::text::count(
                    (a.failing()) as usize,
                    "failing message",
                    "failing messages"
                ),
                k.2,
                join(&a.reporters),
                a.dispositions
                    .iter()
                    .map(|(d, n)| format!("{d} {}", crate::text::int(*n)))
                    .collect::<Vec<_>>()
                    .join(", "),
                a.quoted_auth(4),
            )
        }));
        if srcs.len() > 10 {
            let rest: u64 = srcs[10..].iter().map(|(_, a, _)| a.failing()).sum();
            d = d.evidence(format!(
                "and {} more source{}, {}: grouped by network in evidence.json (reports.detail), each row in the report files it lists (inputs)",
                srcs.len() - 10,
                if srcs.len() - 10 == 1 { "" } else { "s" },
                crate::text::count(rest as usize, "failing message", "failing messages")
            ));
        }
        findings.push(d.build(label));
    }
    for ((net, basis), srcs) in shadow {
        findings.push(service_finding(cx, &net, basis, &srcs));
    }
    (findings, unknown_sources)
}

/// VEN-006 for one service (an organization, or a network when only our SPF names it): a
/// sender outside the inventory with an identity of its own, quoted with what it passed.
fn service_finding(
    cx: &Checks<'_>,
    net: &str,
    basis: senders::ServiceBasis,
    srcs: &[(&SourceKey, &SourceAcc, String)],
) -> Finding {
    use senders::ServiceBasis;
    let total: u64 = srcs.iter().map(|(_, a, _)| a.messages).sum();
    let passing: u64 = srcs.iter().map(|(_, a, _)| a.pass).sum();
    let authorized: BTreeSet<String> = srcs
        .iter()
        .flat_map(|(_, a, _)| a.third_party.iter())
        .filter(|d| cx.facts.authorized.iter().any(|x| same_base(x, d)))
        .cloned()
        .collect();
    let hints: BTreeSet<String> = srcs
        .iter()
        .flat_map(|(_, a, _)| a.selectors.iter().chain(a.envelope.iter()).cloned())
        .collect();
    let doms: BTreeSet<String> = srcs.iter().map(|(k, _, _)| k.0.clone()).collect();
    let froms: BTreeSet<String> = srcs.iter().map(|(k, _, _)| k.2.clone()).collect();
    let mut d = Draft::new("VEN-006", net.to_string())
        .messages(total)
        .title(format!(
            "{net} sent {} as {} and is not in the inventory: possibly a business associate without a BAA",
            crate::text::count(total as usize, "message", "messages"),
            crate::text::and_list(&froms.iter().collect::<Vec<_>>()),
        ))
        .evidence(format!(
            "sending as {}; {} of {} messages passed DMARC",
            join(&froms),
            crate::text::int(passing),
            crate::text::int(total)
        ))
        .evidence_all(srcs.iter().take(8).map(|(k, a, why)| {
            format!(
                "{} sent {} ({} passing DMARC) as {} (reporters: {}); authentication seen: {}; {why}",
                k.1,
                crate::text::count(a.messages as usize, "message", "messages"),
                crate::text::int(a.pass),
                k.2,
                join(&a.reporters),
                a.quoted_auth(4),
            )
        }));
    if doms.len() == 1
        && let Some(dn) = doms.iter().next()
    {
        d = d.domain(dn);
    }
    let ba = "Find who in the organization uses it and whether its mail creates, receives or transmits PHI: if so it is a business associate and needs a BAA before it sends PHI (§164.308(b)(1)).";
    d = match basis {
        ServiceBasis::OwnIdentity => d.remediation(format!(
            "No inventory vendor and no part of our SPF names {net}, yet it sends as {} under an identity of its own, day after day: the pattern of a service a department signed up for. {ba} Then add it to the inventory with its PHI and BAA status and align its mail (a DKIM selector under our domain, or a MAIL FROM subdomain our SPF authorizes), or have the department stop using it.",
            join(&doms)
        )),
        ServiceBasis::OurInclude => d
            .evidence(format!(
                "authenticates as {} and our SPF record publishes that provider's include: a real service, not a spoofer",
                join(&authorized)
            ))
            .remediation(format!(
                "Our own SPF record includes {} (whether receivers reach the include depends on the record's lookup count), yet no inventory vendor names it. {ba} Add it to the inventory with its PHI and BAA status, or, if nobody owns it, remove its include from our SPF.",
                join(&authorized)
            )),
        ServiceBasis::OurSpf => d.remediation(format!(
            "Our own SPF record authorizes {net}, yet no inventory vendor's ranges cover it. Find which system or provider sends from there (the SPF tree in section 4 says which term authorizes it). {ba} Add it to the inventory with its ranges, PHI and BAA status, or remove the authorization if nobody owns it."
        )),
        ServiceBasis::OurKey => d.remediation(format!(
            "{net} signs mail as {} with one of our own published DKIM keys, which neither the configuration nor any inventory vendor names: whoever holds that key can send mail that passes DMARC as us. {ba} Add the sender and its selector to the inventory, or revoke the key (publish `p=` empty) if nobody owns it.",
            join(&doms)
        )),
    };
    if !hints.is_empty() {
        d = d.evidence(format!(
            "DKIM signatures / envelope domains seen: {}",
            join(&hints)
        ));
    }
    d.build(cx.label)
}

//! Sources no inventory vendor accounts for: forged mail (RPT-001), a service sending as us
//! (VEN-006), or forwarded mail (no finding). Every source is listed with what became of it.

use super::*;

/// RPT-001 and VEN-006 findings, and every unknown source with its class, largest first.
pub(super) fn classify(
    cx: &Checks<'_>,
    unknown: &BTreeMap<SourceKey, SourceAcc>,
    vendor_fail: &BTreeMap<String, VendorFail>,
) -> (Vec<Finding>, Vec<SourceStat>) {
    let Checks {
        inv, facts, label, ..
    } = *cx;
    let DnsFacts {
        policy_none,
        authorized,
        ..
    } = facts;
    let mut findings = Vec::new();
    // RPT-001 (failing, unknown, not forwarded) and VEN-006 (unknown but passing).
    let mut spoof: BTreeMap<String, Vec<(&SourceKey, &SourceAcc)>> = BTreeMap::new();
    let mut shadow: BTreeMap<String, Vec<(&SourceKey, &SourceAcc)>> = BTreeMap::new();
    let mut unknown_sources = Vec::new();
    for (k, acc) in unknown {
        let class = match acc.kind(authorized) {
            SourceKind::Service => "a service sending as us (VEN-006)".to_string(),
            SourceKind::Unauthorized => {
                "spoofing: no authentication of its own (RPT-001)".to_string()
            }
            SourceKind::Forwarder if acc.forwarded > 0 => format!(
                "forwarded: receivers reported a forwarding or mailing-list override for {} (no finding)",
                crate::text::count(acc.forwarded as usize, "message", "messages")
            ),
            SourceKind::Forwarder => format!(
                "forwarded: our own DKIM signature passed on {} (no finding)",
                crate::text::count(acc.pass as usize, "message", "messages")
            ),
        };
        unknown_sources.push(SourceStat {
            source_ip: k.1.to_string(),
            vendor: None,
            header_from: k.2.clone(),
            messages: acc.messages,
            dmarc_pass: acc.pass,
            reporters: acc.reporters.iter().cloned().collect(),
            class: Some(class),
        });
        match acc.kind(authorized) {
            SourceKind::Service => {
                let group = acc
                    .third_party
                    .iter()
                    .find(|d| authorized.iter().any(|a| same_base(a, d)))
                    .map(|d| base(d).to_string())
                    .unwrap_or_else(|| network_of(k.1));
                shadow.entry(group).or_default().push((k, acc));
            }
            SourceKind::Unauthorized => spoof.entry(k.0.clone()).or_default().push((k, acc)),
            SourceKind::Forwarder => {}
        }
    }
    unknown_sources.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(a.source_ip.cmp(&b.source_ip))
    });
    for (domain, mut srcs) in spoof {
        srcs.sort_by_key(|s| std::cmp::Reverse(s.1.messages));
        let total: u64 = srcs.iter().map(|(_, a)| a.messages - a.pass).sum();
        let mut d = Draft::new("RPT-001", domain.clone())
            .domain(&domain)
            .title(format!(
                "{total} messages from {} claimed to be from {domain}",
                crate::text::count(srcs.len(), "unauthorized source", "unauthorized sources")
            ))
            .messages(total);
        // What receivers did with it decides how far the harm reached: refused mail harmed
        // no one, delivered mail reached its targets.
        let disposed = |which: &str| -> u64 {
            srcs.iter()
                .map(|(_, a)| a.dispositions.get(which).copied().unwrap_or(0))
                .sum()
        };
        let (rejected, delivered, all) = (
            disposed("reject"),
            disposed("none"),
            srcs.iter().map(|(_, a)| a.messages).sum::<u64>(),
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
                format!("receivers refused all {all} of these messages (disposition reject)"),
            );
        } else if delivered == 0 && all > 0 {
            d = d.reach(
                Reach::Partial,
                "receivers junked or refused these messages; none was delivered as asked",
            );
        }
        let sub: u64 = srcs
            .iter()
            .filter(|(k, _)| !k.2.eq_ignore_ascii_case(&domain))
            .map(|(_, a)| a.messages - a.pass)
            .sum();
        d = d.subdomain_messages(sub).delivered(delivered);
        if policy_none.contains(&domain) {
            d = d.severity(Severity::Critical).evidence(format!(
                "{domain} publishes p=none: receivers were asked to deliver this mail"
            ));
        }
        d = d.evidence_all(srcs.iter().take(10).map(|(k, a)| {
            format!(
                "{} sent {} as {} (reporters: {}; dispositions: {})",
                k.1,
                crate::text::count(
                    (a.messages - a.pass) as usize,
                    "failing message",
                    "failing messages"
                ),
                k.2,
                join(&a.reporters),
                a.dispositions
                    .iter()
                    .map(|(d, n)| format!("{d} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
        if srcs.len() > 10 {
            let rest: u64 = srcs[10..].iter().map(|(_, a)| a.messages - a.pass).sum();
            d = d.evidence(format!(
                "and {} more source{}, {rest} failing message{}: grouped by network in evidence.json (reports.detail), each row in the report files it lists (inputs)",
                srcs.len() - 10,
                if srcs.len() - 10 == 1 { "" } else { "s" },
                if rest == 1 { "" } else { "s" }
            ));
        }
        findings.push(d.build(label));
    }
    for (net, srcs) in shadow {
        let total: u64 = srcs.iter().map(|(_, a)| a.messages).sum();
        let passing: u64 = srcs.iter().map(|(_, a)| a.pass).sum();
        let services: BTreeSet<String> = srcs
            .iter()
            .flat_map(|(_, a)| a.third_party.iter().cloned())
            .collect();
        let hints: BTreeSet<String> = srcs
            .iter()
            .flat_map(|(_, a)| a.selectors.iter().chain(a.envelope.iter()).cloned())
            .collect();
        let doms: BTreeSet<String> = srcs.iter().map(|(k, _)| k.0.clone()).collect();
        let mut d = Draft::new("VEN-006", net.clone())
            .messages(total)
            .title(format!(
                "{total} messages from {net}, a sender that matches no inventory vendor"
            ))
            .evidence(format!(
                "sending as {}; {passing} of {total} messages passed DMARC",
                join(&doms)
            ))
            .evidence_all(srcs.iter().take(8).map(|(k, a)| {
                format!(
                    "{} sent {} ({} passing DMARC) as {} (reporters: {})",
                    k.1,
                    crate::text::count(a.messages as usize, "message", "messages"),
                    a.pass,
                    k.2,
                    join(&a.reporters)
                )
            }));
        if doms.len() == 1
            && let Some(dn) = doms.iter().next()
        {
            d = d.domain(dn);
        }
        if !services.is_empty() {
            d = d
                .evidence(format!(
                    "authenticates as {} and our SPF record publishes that provider's include: a real service, not a spoofer",
                    join(&services)
                ))
                .remediation(format!(
                    "Our own SPF record includes {} (whether receivers reach the include depends on the record's lookup count), yet no inventory vendor names it. Find who in the organization uses the service and whether it creates, receives or transmits PHI: if it does, it is a business associate and needs a BAA before it sends PHI (§164.308(b)(1)). Add it to the inventory with its PHI and BAA status, or, if nobody owns it, remove its include from our SPF.",
                    join(&services)
                ));
        }
        if !hints.is_empty() {
            d = d.evidence(format!(
                "DKIM signatures / envelope domains seen: {}",
                join(&hints)
            ));
        }
        findings.push(d.build(label));
    }
    (findings, unknown_sources)
}

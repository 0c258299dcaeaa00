//! SPF-008: address blocks so broad that strangers can pass SPF as us.
//!
//! Every `+` (pass) term of a configured domain's SPF tree is judged, the vendors' includes
//! too: an include that authorizes a provider's whole shared block lets every customer of that
//! provider, and anyone who rents an address in it, pass SPF with our MAIL FROM, and so pass
//! DMARC through SPF alignment. "Broad" is a prefix shorter than the configured minimum
//! (`policy.spf_min_ip4_prefix`, default /16; `policy.spf_min_ip6_prefix`, default /32), for
//! `ip4`/`ip6` terms and for the CIDR length of `a`/`mx` terms, which widen every address the
//! name resolves to. That limit is a tool heuristic: RFC 9989 §7.1 asks only that broad
//! records be reviewed. No list of providers' blocks is kept: a block is judged by its size.

use super::dns_context::Context;
use super::finding::Draft;
use crate::evidence::{DomainPosture, Finding};
use crate::records::spf::{self, Mechanism, Qualifier, TermKind};
use crate::records::spf_walk;

/// One authorizing term found too broad, with where it sits in the tree.
struct Broad {
    /// The name whose record holds the term (the domain, or an include target).
    record_of: String,
    /// That record's text.
    record: Option<String>,
    term: String,
    /// What the term authorizes, in words.
    size: String,
    /// The top-level include or redirect it was reached through, if any.
    via: Option<String>,
}

/// SPF-008 for every configured domain whose SPF tree authorizes a block broader than policy.
pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    cx.postures.iter().filter_map(|p| domain(cx, p)).collect()
}

fn domain(cx: &Context<'_>, p: &DomainPosture) -> Option<Finding> {
    // A record receivers cannot use (none, several, or evidence incomplete) authorizes nothing
    // that can be judged here; its own findings say why.
    p.spf.record.as_ref()?;
    let (min4, min6) = (cx.policy.spf_min_ip4_prefix, cx.policy.spf_min_ip6_prefix);
    let w = spf_walk::walk(&p.domain, cx.snapshot);
    let mut broad: Vec<Broad> = Vec::new();
    // The name whose record holds the terms at each depth, and the top-level term each
    // subtree was reached through.
    let mut holder: Vec<(String, Option<String>)> = vec![(p.domain.clone(), w.record.clone())];
    let mut via: Option<String> = None;
    for n in &w.tree {
        holder.truncate(n.depth + 1);
        if n.depth == 0 {
            via = None;
        }
        let parsed = spf::parse(&format!("v=spf1 {}", n.term));
        let Some(kind) = parsed.terms.first().map(|t| &t.kind) else {
            continue;
        };
        // Descend: the terms at depth+1 belong to this term's target record.
        if let Some(target) = &n.target
            && matches!(
                kind,
                TermKind::Directive {
                    mechanism: Mechanism::Include { .. },
                    ..
                } | TermKind::Redirect { .. }
            )
        {
            if n.depth == 0 {
                via = Some(n.term.trim().to_string());
            }
            holder.push((target.clone(), n.record.clone()));
        }
        // Terms past the lookup limit are never reached: receivers stop with permerror.
        if n.over_limit {
            continue;
        }
        let TermKind::Directive {
            qualifier: Qualifier::Pass,
            mechanism,
        } = kind
        else {
            continue;
        };
        let size = match mechanism {
            Mechanism::Ip4 { net } if net.prefix_len() < min4 => Some(format!(
                "{} IPv4 addresses (/{}; the policy accepts /{min4} or narrower)",
                crate::text::int(1u64 << (32 - u32::from(net.prefix_len()))),
                net.prefix_len()
            )),
            Mechanism::Ip6 { net } if net.prefix_len() < min6 => Some(format!(
                "an IPv6 block of /{} (the policy accepts /{min6} or narrower): {} times a /{min6}",
                net.prefix_len(),
                crate::text::int(1u64 << (u32::from(min6 - net.prefix_len())).min(63))
            )),
            Mechanism::A { cidr4, cidr6, .. } | Mechanism::Mx { cidr4, cidr6, .. } => {
                let wide4 = cidr4.filter(|c| *c < min4);
                let wide6 = cidr6.filter(|c| *c < min6);
                match (wide4, wide6) {
                    (None, None) => None,
                    _ => Some(format!(
                        "every address the name resolves to, widened to {} (the policy accepts /{min4} for IPv4 and /{min6} for IPv6, or narrower)",
                        [
                            wide4.map(|c| format!("/{c} for IPv4")),
                            wide6.map(|c| format!("/{c} for IPv6"))
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" and ")
                    )),
                }
            }
            _ => None,
        };
        if let Some(size) = size {
            let (record_of, record) = holder
                .get(n.depth)
                .cloned()
                .unwrap_or_else(|| (p.domain.clone(), w.record.clone()));
            broad.push(Broad {
                record_of,
                record,
                term: n.term.trim().to_string(),
                size,
                via: via.clone(),
            });
        }
    }
    if broad.is_empty() {
        return None;
    }
    // The inventory vendors whose includes carry the broad blocks: theirs to narrow.
    let vendor_of = |via: &str| {
        let name = via
            .trim_start_matches(['+', '-', '~', '?'])
            .split_once(':')
            .map(|(_, n)| n)
            .unwrap_or("");
        cx.inventory.vendors.iter().find(|v| {
            v.spf_includes
                .iter()
                .any(|i| i.eq_ignore_ascii_case(name.trim_end_matches('.')))
        })
    };
    let vendors: Vec<&crate::inventory::Vendor> = {
        let mut vs: Vec<&crate::inventory::Vendor> = Vec::new();
        for b in &broad {
            if let Some(v) = b.via.as_deref().and_then(vendor_of)
                && !vs.iter().any(|x| x.vendor == v.vendor)
            {
                vs.push(v);
            }
        }
        vs
    };
    let first = &broad[0];
    let through = match (&first.via, vendors.first()) {
        (Some(via), Some(v)) => format!(" through {via} ({})", v.vendor),
        (Some(via), None) => format!(" through {via}"),
        (None, _) => String::new(),
    };
    let mut d = Draft::new("SPF-008", p.domain.clone())
        .domain(&p.domain)
        .title(format!(
            "SPF of {} authorizes {}{through}: anyone sending from that block passes SPF as {}",
            p.domain,
            if broad.len() == 1 {
                format!("`{}`", first.term)
            } else {
                format!("{} overly broad blocks", broad.len())
            },
            p.domain
        ))
        .evidence(format!(
            "{} TXT \"{}\"",
            p.domain,
            p.spf.record.clone().unwrap_or_default()
        ));
    for b in &broad {
        let place = if b.record_of == p.domain {
            "in the domain's own record".to_string()
        } else {
            format!(
                "in {} TXT \"{}\", reached through {}",
                b.record_of,
                b.record.clone().unwrap_or_default(),
                b.via.as_deref().unwrap_or("the tree")
            )
        };
        d = d.evidence(format!("`{}` {place}: authorizes {}", b.term, b.size));
    }
    let shared = broad.iter().any(|b| b.record_of != p.domain);
    if shared {
        d = d.evidence(
            "a block in a provider's include is usually its shared sending network: every customer of that provider, and anyone who rents an address in it, passes SPF with our MAIL FROM and so passes DMARC through SPF alignment".to_string(),
        );
    }
    if let Some(v) = vendors.first() {
        d = d.vendor(&v.vendor).owner(&v.owner);
    }
    let steps: Vec<String> = broad
        .iter()
        .map(|b| {
            if b.record_of == p.domain {
                format!(
                    "replace `{}` in the SPF record of {} with the addresses that actually send",
                    b.term, p.domain
                )
            } else {
                let who = b
                    .via
                    .as_deref()
                    .and_then(vendor_of)
                    .map(|v| v.vendor.clone())
                    .unwrap_or_else(|| format!("the operator of {}", b.record_of));
                format!(
                    "ask {who} to narrow `{}` in {} to its dedicated senders (or to give us a per-customer include or dedicated addresses), or drop {} and have it sign with DKIM under {}",
                    b.term,
                    b.record_of,
                    b.via.as_deref().unwrap_or("the include"),
                    p.domain
                )
            }
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    d = d.remediation(format!(
        "{}. A broad block lets strangers pass SPF as {}; until it is narrowed, DMARC enforcement protects only as far as DKIM does.",
        sentence(&steps.join("; ")),
        p.domain
    ));
    Some(d.build(cx.label))
}

/// The text with its first letter in upper case, to start a sentence.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::assess::dns_context::testing::Harness;

    /// This family's checks with the general DNS checks beside them, as a run has both.
    const FAMILIES: Harness = Harness(&[super::assess, crate::assess::dns_checks::assess]);
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Outcome::Answer;
    use crate::snapshot::Rtype::Txt;

    const INV: &str = "vendor,domains,spf_includes,phi,baa,owner\n\
        CloudMail,org.test,spf.cloud.test,yes,signed,IT (A. B.)\n";

    #[test]
    fn broad_blocks_in_own_record_and_in_a_vendor_include() {
        let mut s = snapshot(&[
            (
                "org.test",
                Txt,
                Answer,
                &["v=spf1 ip4:192.0.2.0/24 include:spf.cloud.test -ip4:10.0.0.0/8 -all"],
            ),
            (
                "spf.cloud.test",
                Txt,
                Answer,
                &["v=spf1 ip4:198.51.100.0/24 ip4:198.18.0.0/15 ip6:2001:db8::/28 -all"],
            ),
        ]);
        let f = FAMILIES.run(&mut s, INV);
        let hits: Vec<_> = f.iter().filter(|f| f.check == "SPF-008").collect();
        assert_eq!(hits.len(), 1, "{hits:#?}");
        let h = hits[0];
        assert_eq!(h.subject, "org.test");
        assert!(h.title.contains("2 overly broad blocks"), "{}", h.title);
        // The /15 and the ip6 /28 in the include; the -ip4:/8 refuses, so it is not reported,
        // and the /24s are within policy.
        assert!(
            h.evidence.iter().any(
                |e| e.starts_with("`ip4:198.18.0.0/15` in spf.cloud.test TXT")
                    && e.contains("131,072 IPv4 addresses")
                    && e.contains("include:spf.cloud.test")
            ),
            "{:#?}",
            h.evidence
        );
        assert!(
            h.evidence
                .iter()
                .any(|e| e.starts_with("`ip6:2001:db8::/28`") && e.contains("16 times a /32"))
        );
        assert!(!h.evidence.iter().any(|e| e.contains("10.0.0.0/8`")));
        assert_eq!(h.basis.vendor.as_deref(), Some("CloudMail"));
        assert_eq!(h.owner.as_deref(), Some("IT (A. B.)"));
        assert!(
            h.remediation.contains("Ask CloudMail to narrow"),
            "{}",
            h.remediation
        );
    }

    #[test]
    fn own_record_a_cidr_and_the_configured_threshold() {
        let rec = "v=spf1 a:relay.org.test/14 ip4:203.0.113.0/20 -all";
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &[rec]),
            (
                "relay.org.test",
                crate::snapshot::Rtype::A,
                Answer,
                &["192.0.2.25"],
            ),
        ]);
        let f = FAMILIES.run(&mut s, "vendor\n");
        let h = f.iter().find(|f| f.check == "SPF-008").expect("SPF-008");
        assert!(h.title.contains("`a:relay.org.test/14`"), "{}", h.title);
        assert!(
            h.evidence
                .iter()
                .any(|e| e.contains("in the domain's own record") && e.contains("/14 for IPv4"))
        );
        assert!(h.basis.vendor.is_none());
        // A stricter policy (/21) also reports the /20; a looser one (/12) reports nothing.
        let strict = crate::config::PolicyConfig {
            spf_min_ip4_prefix: 21,
            ..Default::default()
        };
        let f = FAMILIES.run_policy(&mut s, "vendor\n", &strict);
        let h = f.iter().find(|f| f.check == "SPF-008").expect("SPF-008");
        assert!(
            h.evidence
                .iter()
                .any(|e| e.starts_with("`ip4:203.0.113.0/20`"))
        );
        let loose = crate::config::PolicyConfig {
            spf_min_ip4_prefix: 12,
            ..Default::default()
        };
        assert!(
            !FAMILIES
                .run_policy(&mut s, "vendor\n", &loose)
                .iter()
                .any(|f| f.check == "SPF-008")
        );
    }
}

//! VEN-004: a PHI vendor signs as us with a key shorter than policy, or one it has not rotated
//! within the organization's window.
//!
//! DKIM-003 and CHG-003 say the same of the key; VEN-004 is the vendor-accountability view of
//! it: the vendor holds the private key under its business associate agreement (§164.314(a)),
//! so the fix is asked of it. It names the key as its subject, so causes.rs groups it with the
//! key's own findings as one cause, and the vendor's inventory row lists it.

use super::change_checks::key_age;
use super::finding::Draft;
use crate::config::PolicyConfig;
use crate::evidence::{DomainPosture, Finding};
use crate::inventory::Inventory;
use crate::snapshot::Snapshot;

/// What VEN-004 reads: the current snapshot's postures and the stored history for key age.
pub struct Context<'a> {
    pub postures: &'a [DomainPosture],
    pub current: &'a Snapshot,
    /// Every stored snapshot up to this period's, oldest first.
    pub history: &'a [&'a Snapshot],
    pub inventory: &'a Inventory,
    pub policy: &'a PolicyConfig,
    pub period_end: chrono::NaiveDate,
    pub label: &'a str,
}

/// VEN-004 for each key an active PHI vendor signs with under our domains.
pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let window = i64::from(cx.policy.dkim_max_age_days);
    for v in cx
        .inventory
        .vendors
        .iter()
        .filter(|v| v.phi == Some(true) && !v.ended_by(cx.period_end))
    {
        for p in cx.postures {
            for k in p.dkim.iter().filter(|k| {
                v.signs_with(&k.selector, &p.domain)
                    && matches!(k.status.as_str(), "valid" | "weak" | "unusable" | "testing")
            }) {
                let name = format!("{}._domainkey.{}", k.selector, p.domain);
                let short = k.key_bits.filter(|b| {
                    k.key_type.as_deref() == Some("rsa") && *b < cx.policy.min_dkim_bits
                });
                let age = key_age(cx.history, cx.current, &name).filter(|a| a.days > window);
                if short.is_none() && age.is_none() {
                    continue;
                }
                let mut what: Vec<String> = Vec::new();
                if let Some(bits) = short {
                    what.push(format!("an RSA-{bits} key"));
                }
                if let Some(a) = &age {
                    what.push(format!(
                        "not rotated for {}{} days",
                        if a.at_edge { "at least " } else { "" },
                        a.days
                    ));
                }
                let mut d = Draft::new("VEN-004", name.clone())
                    .domain(&p.domain)
                    .vendor(&v.vendor)
                    .owner(&v.owner)
                    .title(format!(
                        "PHI vendor {} signs as {} with {name}: {}",
                        v.vendor,
                        p.domain,
                        what.join(", ")
                    ))
                    .evidence(format!(
                        "{} line {}: {} signs with selector {} (phi = yes, BAA {})",
                        cx.inventory.source.as_deref().unwrap_or("inventory"),
                        v.line,
                        v.vendor,
                        k.selector,
                        v.baa.map(|b| b.label()).unwrap_or("unknown")
                    ));
                if let Some(bits) = short {
                    d = d.evidence(format!(
                        "RSA modulus {bits} bits, below the policy minimum of {} (policy.min_dkim_bits); fingerprint {}",
                        cx.policy.min_dkim_bits,
                        k.fingerprint.as_deref().unwrap_or("-")
                    ));
                }
                if let Some(a) = &age {
                    d = d.evidence(format!(
                        "same public key in every snapshot since {}{}: {} days, past the rotation window of {window} days (policy.dkim_max_age_days)",
                        a.since.format("%Y-%m-%d"),
                        if a.at_edge {
                            ", the oldest snapshot kept: the key may be older"
                        } else {
                            ""
                        },
                        a.days
                    ));
                }
                if let Some(target) = k.cname_chain.last() {
                    d = d.evidence(format!(
                        "the key is hosted by the vendor: CNAME to {target}"
                    ));
                }
                d = d.remediation(format!(
                    "Ask {} (under its business associate agreement, which makes it answer for the safeguards of the PHI it sends) to {}publish the new key under a new selector{}, move signing to it, and then revoke `{name}`. Record the new selector in the inventory.",
                    v.vendor,
                    match short {
                        Some(_) => format!(
                            "generate a key of at least {} bits, ",
                            cx.policy.min_dkim_bits.max(2048)
                        ),
                        None => "generate a new key, ".to_string(),
                    },
                    if k.cname_chain.is_empty() {
                        format!(" under {}", p.domain)
                    } else {
                        " (on its side, behind our CNAME)".to_string()
                    }
                ));
                out.push(d.build(cx.label));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DomainConfig, Role};
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Outcome::Answer;
    use crate::snapshot::Rtype::Txt;
    use crate::snapshot::{ScopedDomain, SelectorSource};
    use chrono::TimeZone;

    /// A real 1024-bit RSA key (the samples' hr2019) and an Ed25519 one.
    const RSA1024: &str = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCniE9XYdVHH3XG9Ih4uv4AzgZgDxHAdZ2I0Y89ci2b09fmGTbY/n4ti+H/qk2urtuBWGImYc47Fo0L3wVBlMWn2ogEcH0fdYJdIUAqudfG/IQJFMvpXVDXI1ez53HQSvDJ4hLLMyPgZMQoR4dKQu1HsP3uVG5uF0xYLzumqhi6qQIDAQAB";
    const ED: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    fn at(snap: &mut Snapshot, y: i32, m: u32) {
        snap.taken_at = chrono::Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
    }

    fn run(history: &[&Snapshot], cur: &Snapshot, csv: &str) -> Vec<Finding> {
        let mut cur = cur.clone();
        cur.domains = vec![ScopedDomain {
            name: "org.test".into(),
            role: Role::Workforce,
            selectors: ["hr", "ed"]
                .iter()
                .map(|s| SelectorSource {
                    selector: s.to_string(),
                    sources: vec!["inventory".into()],
                })
                .collect(),
        }];
        let d = DomainConfig {
            name: "org.test".into(),
            role: Role::Workforce,
            selectors: vec![],
            owner: None,
        };
        let postures = vec![crate::assess::posture::build(&d, &cur.domains, &cur)];
        let inv = Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap();
        assess(&Context {
            postures: &postures,
            current: &cur,
            history,
            inventory: &inv,
            policy: &PolicyConfig::default(),
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
            label: "2026-10",
        })
    }

    #[test]
    fn short_and_old_keys_of_phi_vendors() {
        let keys = |hr: &str| {
            snapshot(&[
                ("hr._domainkey.org.test", Txt, Answer, &[hr]),
                ("ed._domainkey.org.test", Txt, Answer, &[ED]),
            ])
        };
        let mut old = keys(RSA1024);
        at(&mut old, 2025, 6);
        let mut cur = keys(RSA1024);
        at(&mut cur, 2026, 11);
        let csv = "vendor,domains,dkim_selectors,phi,baa,owner\n\
            HR,org.test,hr,yes,signed,HR (D. O.)\n\
            Portal,org.test,ed,yes,signed,\n\
            News,org.test,ed,no,not-required,\n";
        // Short key, with one snapshot only: the size alone.
        let f = run(&[&cur], &cur, csv);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].subject, "hr._domainkey.org.test");
        assert!(f[0].title.contains("an RSA-1024 key"), "{}", f[0].title);
        assert!(!f[0].title.contains("rotated"));
        assert_eq!(f[0].owner.as_deref(), Some("HR (D. O.)"));
        // With a 17-month history both keys are past the 365-day window; the Ed25519 key of
        // the PHI portal is reported for its age only, and News (no PHI) not at all.
        let f = run(&[&old, &cur], &cur, csv);
        let titles: Vec<&str> = f.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(f.len(), 2, "{titles:#?}");
        assert!(titles[0].contains("an RSA-1024 key, not rotated for at least 518 days"));
        assert!(titles[1].starts_with("PHI vendor Portal signs as org.test with ed._domainkey"));
        assert!(!titles[1].contains("RSA"));
        // A rotation inside the window clears the age: a different key a month ago.
        let mut rotated = keys(RSA1024);
        at(&mut rotated, 2026, 10);
        let mut before = snapshot(&[
            ("hr._domainkey.org.test", Txt, Answer, &[ED]),
            ("ed._domainkey.org.test", Txt, Answer, &[RSA1024]),
        ]);
        at(&mut before, 2026, 9);
        let f = run(&[&before, &rotated, &cur], &cur, csv);
        assert_eq!(f.len(), 1);
        assert!(!f[0].title.contains("rotated"), "{}", f[0].title);
    }
}

//! VEN-003: a PHI sender of the inventory with no usable DKIM key under the domain it sends as.
//!
//! DKIM-001 speaks of one selector: it is listed (or seen signing) and has no key. VEN-003
//! speaks of the vendor: none of its selectors under our domain holds a key receivers verify,
//! or it has none listed at all (it signs with its own domain, or not at all), so its PHI mail
//! can pass DMARC only through SPF alignment, which breaks whenever the mail is forwarded or
//! the vendor's MAIL FROM is its own. Both group under the vendor's cause (causes.rs).

use super::dns_context::Context;
use super::finding::Draft;
use crate::evidence::Finding;
use crate::inventory::{Baa, Vendor};

/// VEN-003 for each active PHI sender and each configured domain it sends as.
pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for v in cx.inventory.vendors.iter().filter(|v| {
        // Unknown PHI flag or selectors: no claim (INV-001 names the row).
        v.phi == Some(true)
            && sends(v)
            && !v.ended_by(cx.period_end)
            && !v.unknown("dkim_selectors")
            && !v.unknown("dkim_domains")
    }) {
        for dom in &v.domains {
            if let Some(f) = vendor_domain(cx, v, dom) {
                out.push(f);
            }
        }
    }
    out
}

/// Whether the inventory shows the vendor sending mail at all: addresses, an SPF include or a
/// DKIM signing domain or selector (or one of those columns unreadable, so it may). A row for
/// a service that only receives (a report processor) has nothing to sign.
fn sends(v: &Vendor) -> bool {
    !v.ip_ranges.is_empty()
        || !v.spf_includes.is_empty()
        || !v.dkim_selectors.is_empty()
        || !v.dkim_domains.is_empty()
        || ["ip_ranges", "spf_includes"].iter().any(|c| v.unknown(c))
}

fn vendor_domain(cx: &Context<'_>, v: &Vendor, dom: &str) -> Option<Finding> {
    let p = cx
        .postures
        .iter()
        .find(|p| p.domain.eq_ignore_ascii_case(dom))?;
    // The selectors it signs with under this domain, by the inventory.
    let ours: Vec<&String> = v
        .dkim_selectors
        .iter()
        .filter(|s| v.signs_with(s, &p.domain))
        .collect();
    let keys: Vec<&crate::evidence::DkimPosture> = p
        .dkim
        .iter()
        .filter(|k| ours.iter().any(|s| s.eq_ignore_ascii_case(&k.selector)))
        .collect();
    // A key that verifies (a short one still aligns; its size is DKIM-003's and VEN-004's).
    if keys
        .iter()
        .any(|k| matches!(k.status.as_str(), "valid" | "weak"))
    {
        return None;
    }
    // A lookup that failed leaves it open: DNS-001 says so.
    if keys.iter().any(|k| k.status == "incomplete") {
        return None;
    }
    let sender = if v.baa == Some(Baa::NotRequired) {
        "PHI sender"
    } else {
        "PHI vendor"
    };
    let own_domains: Vec<&String> = v
        .dkim_domains
        .iter()
        .filter(|d| !cx.domains.iter().any(|c| c.name.eq_ignore_ascii_case(d)))
        .collect();
    let title = if ours.is_empty() {
        format!(
            "{sender} {} has no DKIM selector under {}: its PHI mail can pass DMARC only through SPF",
            v.vendor, p.domain
        )
    } else {
        format!(
            "{sender} {}'s DKIM selector{} under {} ({}) {} no usable key: its PHI mail can pass DMARC only through SPF",
            v.vendor,
            if ours.len() == 1 { "" } else { "s" },
            p.domain,
            ours.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if ours.len() == 1 { "has" } else { "have" }
        )
    };
    let source = cx.inventory.source.as_deref().unwrap_or("inventory");
    let mut d = Draft::new("VEN-003", format!("{} as {}", v.vendor, p.domain))
        .domain(&p.domain)
        .vendor(&v.vendor)
        .owner(&v.owner)
        .title(title)
        .evidence(format!(
            "{source} line {}: phi = yes, dkim_selectors = {}, dkim_domains = {}",
            v.line,
            if v.dkim_selectors.is_empty() {
                "(none)".to_string()
            } else {
                v.dkim_selectors.join(", ")
            },
            if v.dkim_domains.is_empty() {
                "(none)".to_string()
            } else {
                v.dkim_domains.join(", ")
            }
        ));
    if ours.is_empty() {
        d = d.evidence(if own_domains.is_empty() {
            format!(
                "the inventory lists no DKIM signing for {} at all: no selector under {}",
                v.vendor, p.domain
            )
        } else {
            format!(
                "{} signs only with its own domain ({}), which does not align with {} (RFC 9989 §4.4.1)",
                v.vendor,
                own_domains
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                p.domain
            )
        });
    }
    for k in &keys {
        d = d.evidence(format!(
            "{}._domainkey.{}: {}{}",
            k.selector,
            p.domain,
            match k.status.as_str() {
                "missing" => "no key record in the snapshot (DKIM-001)".to_string(),
                "revoked" => "key revoked (empty p=)".to_string(),
                "testing" => "key in test mode (t=y): receivers treat it as unsigned".to_string(),
                "unusable" => format!(
                    "RSA-{} key, refused by verifiers (RFC 8301)",
                    k.key_bits.unwrap_or(0)
                ),
                other => format!("key {other}"),
            },
            if k.cname_chain.is_empty() {
                String::new()
            } else {
                format!(" (CNAME {})", k.cname_chain.join(" → "))
            }
        ));
    }
    if v.baa == Some(Baa::NotRequired) {
        d = d.evidence(format!(
            "the inventory records no BAA as required for {} (the organization's own systems, or a conduit): the stream is the organization's to fix",
            v.vendor
        ));
    }
    d = d.evidence(format!(
        "without an aligned DKIM signature, its mail passes DMARC only when the MAIL FROM is under {} and SPF authorizes the sending address: forwarding, or a MAIL FROM of its own, makes it fail (see VEN-002 and RPT-002 for what SPF and the reports show)",
        p.domain
    ));
    d = d.remediation(if ours.is_empty() {
        format!(
            "Ask {} to sign with d={}: it gives a selector and either a public key to publish at `<selector>._domainkey.{}` or a CNAME to a key it hosts; then list the selector in the inventory and confirm aligned DKIM passes in the next reports.",
            v.vendor, p.domain, p.domain
        )
    } else {
        format!(
            "Publish a usable key for {} under {} (the public key {} gives, or the CNAME to the key it hosts), then confirm that its mail passes DKIM aligned in the next reports.",
            ours.iter()
                .map(|s| format!("`{s}._domainkey.{}`", p.domain))
                .collect::<Vec<_>>()
                .join(", "),
            p.domain,
            v.vendor
        )
    });
    Some(d.build(cx.label))
}

#[cfg(test)]
mod tests {
    use crate::assess::dns_context::testing::Harness;

    /// This family's checks with the general DNS checks beside them, as a run has both.
    const FAMILIES: Harness = Harness(&[super::assess, crate::assess::dns_checks::assess]);
    use crate::evidence::Finding;
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Outcome::{Answer, Nxdomain};
    use crate::snapshot::Rtype::Txt;

    const KEY: &str = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    const CSV: &str = "vendor,domains,dkim_selectors,dkim_domains,ip_ranges,phi,baa,owner,status\n\
        Signs,org.test,sc1,org.test,,yes,signed,A,\n\
        OwnDomain,org.test,,billing.test,,yes,signed,B,\n\
        Nothing,org.test,,,192.0.2.0/28,yes,signed,C,\n\
        Unpublished,org.test,tv1,org.test,,yes,signed,D,\n\
        Relay,org.test,,,192.0.2.16/28,yes,not-required,E,\n\
        Receiver,org.test,,,,yes,signed,H,\n\
        Marketing,org.test,,,192.0.2.32/28,no,not-required,F,\n\
        Gone,org.test,,,192.0.2.48/28,yes,signed,G,ended\n";

    fn ven003(s: &mut crate::snapshot::Snapshot) -> Vec<Finding> {
        FAMILIES
            .run(s, CSV)
            .into_iter()
            .filter(|f| f.check == "VEN-003")
            .collect()
    }

    #[test]
    fn phi_senders_without_a_usable_key_under_our_domain() {
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            ("sc1._domainkey.org.test", Txt, Answer, &[KEY]),
            ("tv1._domainkey.org.test", Txt, Nxdomain, &[]),
        ]);
        let f = ven003(&mut s);
        let subjects: Vec<&str> = f.iter().map(|f| f.subject.as_str()).collect();
        // Signs has a key; Receiver sends nothing (no addresses, include or DKIM listed);
        // Marketing carries no PHI; Gone has ended.
        assert_eq!(
            subjects,
            [
                "OwnDomain as org.test",
                "Nothing as org.test",
                "Unpublished as org.test",
                "Relay as org.test"
            ]
        );
        let by = |s: &str| f.iter().find(|f| f.subject.starts_with(s)).unwrap();
        assert!(
            by("OwnDomain")
                .evidence
                .iter()
                .any(|e| e.contains("signs only with its own domain (billing.test)"))
        );
        assert!(
            by("Unpublished")
                .evidence
                .iter()
                .any(|e| e.starts_with("tv1._domainkey.org.test: no key record"))
        );
        assert!(by("Unpublished").title.contains("(tv1) has no usable key"));
        assert!(by("Relay").title.starts_with("PHI sender Relay"));
        assert_eq!(by("Nothing").basis.vendor.as_deref(), Some("Nothing"));
        assert_eq!(by("Nothing").owner.as_deref(), Some("C"));

        // A revoked key is no key: Signs is reported once its key is revoked.
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            ("sc1._domainkey.org.test", Txt, Answer, &["v=DKIM1; p="]),
            ("tv1._domainkey.org.test", Txt, Nxdomain, &[]),
        ]);
        let f = ven003(&mut s);
        let signs = f.iter().find(|f| f.subject == "Signs as org.test").unwrap();
        assert!(signs.evidence.iter().any(|e| e.contains("revoked")));
    }
}

//! VEN-007: who processes our DMARC reports. Aggregate reports (rua) show every source that
//! sends as our domains and how much; failure reports (ruf) can carry message headers and
//! content, so PHI (RFC 9989 §10.2). A third party receiving them is a vendor: it belongs in the
//! inventory, and when it receives failure reports it needs a business associate agreement.
//!
//! A destination is a third party's when its registrable domain (Public Suffix List) is none
//! of the configured domains'; the processor is the inventory vendor listed under that base
//! (`Context::report_processor`, as DMARC-009/010 find it). One finding per processor,
//! listing every domain and address that reports to it.

use super::dns_context::Context;
use super::finding::Draft;
use crate::evidence::Finding;
use crate::inventory::Vendor;
use crate::suffix::{registrable, same_organization};
use std::collections::BTreeMap;

/// One report address of ours that goes to a third party.
struct Route {
    domain: String,
    kind: String,
    uri: String,
    record: String,
}

/// VEN-007 for each third-party report processor that is unlisted, ended, or receives
/// failure reports without a current BAA.
pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    let mut by_org: BTreeMap<String, Vec<Route>> = BTreeMap::new();
    for p in cx.postures.iter().filter(|p| p.dmarc.status == "found") {
        let record = format!(
            "{} TXT \"{}\"",
            p.dmarc
                .location
                .clone()
                .unwrap_or_else(|| format!("_dmarc.{}", p.domain)),
            p.dmarc.record.clone().unwrap_or_default()
        );
        for d in &p.dmarc.destinations {
            if d.host.is_empty()
                || cx
                    .domains
                    .iter()
                    .any(|c| same_organization(&c.name, &d.host))
            {
                continue;
            }
            by_org
                .entry(registrable(&d.host).to_ascii_lowercase())
                .or_default()
                .push(Route {
                    domain: p.domain.clone(),
                    kind: d.kind.clone(),
                    uri: d.uri.clone(),
                    record: record.clone(),
                });
        }
    }
    let mut out = Vec::new();
    for (org, routes) in by_org {
        let host = routes
            .first()
            .and_then(|r| r.uri.rsplit_once('@'))
            .map(|(_, h)| h.to_string())
            .unwrap_or_else(|| org.clone());
        let processor = cx.report_processor(&host);
        let ruf = routes.iter().any(|r| r.kind == "ruf");
        if let Some(f) = finding(cx, &org, &routes, processor, ruf) {
            out.push(f);
        }
    }
    out
}

fn finding(
    cx: &Context<'_>,
    org: &str,
    routes: &[Route],
    processor: Option<&Vendor>,
    ruf: bool,
) -> Option<Finding> {
    let mut domains: Vec<&str> = routes.iter().map(|r| r.domain.as_str()).collect();
    domains.dedup();
    let domains = crate::text::and_list(&domains);
    let source = cx.inventory.source.as_deref().unwrap_or("inventory");
    let mut d = match processor {
        None => Draft::new("VEN-007", org.to_string())
            .title(format!(
                "DMARC reports of {domains} go to {org}, a third party not in the vendor inventory"
            ))
            .party(org)
            // Aggregate reports hold sources and counts, not message content; failure
            // reports may hold PHI, and nothing says they do not.
            .phi(if ruf { None } else { Some(false) })
            .evidence(format!(
                "no vendor in {source} is listed under {org} (by its reverse-DNS suffixes or DKIM domains)"
            ))
            .remediation(format!(
                "Find out who set up the report address at {org} and why. If the service is wanted, list it in the vendor inventory (phi = {}, with its BAA status){}; if not, remove its address from the DMARC record{}.",
                if ruf { "yes, since failure reports can hold message content" } else { "no for aggregate reports alone" },
                if ruf { " and put a business associate agreement in place before failure reports go to it" } else { "" },
                if routes.len() == 1 { "" } else { "s" }
            )),
        Some(v) if v.ended_by(cx.period_end) => Draft::new("VEN-007", org.to_string())
            .title(format!(
                "DMARC reports of {domains} still go to {}, whose contract ended",
                v.vendor
            ))
            .vendor(&v.vendor)
            .owner(&v.owner)
            .evidence(format!(
                "{source} line {}: {} status = ended{}",
                v.line,
                v.vendor,
                v.ended_on.map(|e| format!(", ended_on = {e}")).unwrap_or_default()
            ))
            .remediation(format!(
                "Remove the report addresses at {org} from the DMARC records: the contract with {} ended, so nothing of ours should reach it.",
                v.vendor
            )),
        Some(v) if ruf && !v.baa_current(cx.period_end) => Draft::new("VEN-007", org.to_string())
            .title(format!(
                "{} receives failure reports (ruf) for {domains} without a current business associate agreement",
                v.vendor
            ))
            .vendor(&v.vendor)
            .owner(&v.owner)
            // Failure reports can carry message content: PHI, whatever the row says of it.
            .phi(Some(true))
            .evidence(format!(
                "{source} line {}: {} phi = {}, baa = {}{}",
                v.line,
                v.vendor,
                v.phi_word(),
                v.baa.map(|b| b.label()).unwrap_or("unknown"),
                v.baa_expires
                    .map(|e| format!(", baa_expires = {e}"))
                    .unwrap_or_default()
            ))
            .remediation(format!(
                "Put a business associate agreement with {} in place (or renew it), or remove the ruf address at {org}: failure reports can carry message content, which may hold PHI (RFC 9989 §10.2).",
                v.vendor
            )),
        Some(_) => return None,
    };
    let first = routes.first().map(|r| r.domain.clone()).unwrap_or_default();
    d = d.domain(&first);
    let mut records: Vec<&str> = routes.iter().map(|r| r.record.as_str()).collect();
    records.dedup();
    d = d.evidence_all(records.iter().map(|r| r.to_string()));
    d = d.evidence_all(routes.iter().map(|r| {
        format!(
            "{} {} of {} → {org} ({})",
            r.kind,
            r.uri,
            r.domain,
            if r.kind == "ruf" {
                "failure reports: can hold message content"
            } else {
                "aggregate reports: every source sending as the domain, with counts"
            }
        )
    }));
    Some(d.build(cx.label))
}

#[cfg(test)]
mod tests {
    use crate::assess::dns_context::testing::Harness;

    /// This family's checks with the general DNS checks beside them, as a run has both.
    const FAMILIES: Harness = Harness(&[super::assess, crate::assess::dns_checks::assess]);
    use crate::evidence::Finding;
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Outcome::Answer;
    use crate::snapshot::Rtype::{Mx, Txt};

    fn ven007(dmarc: &str, csv: &str) -> Vec<Finding> {
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            ("_dmarc.org.test", Txt, Answer, &[dmarc]),
            ("dmarc.vault.test", Mx, Answer, &["10 mx.vault.test."]),
            ("lens.test", Mx, Answer, &["10 mx.lens.test."]),
            (
                "org.test._report._dmarc.dmarc.vault.test",
                Txt,
                Answer,
                &["v=DMARC1"],
            ),
            (
                "org.test._report._dmarc.lens.test",
                Txt,
                Answer,
                &["v=DMARC1"],
            ),
        ]);
        FAMILIES
            .run(&mut s, csv)
            .into_iter()
            .filter(|f| f.check == "VEN-007")
            .collect()
    }

    const VAULT_BAA: &str = "vendor,domains,ptr_suffixes,phi,baa,baa_expires,owner\n\
        Vault,org.test,vault.test,yes,signed,2027-01-31,IT\n";
    const VAULT_NO_BAA: &str = "vendor,domains,ptr_suffixes,phi,baa,owner\n\
        Vault,org.test,vault.test,no,none,IT\n";

    #[test]
    fn unlisted_processor_and_failure_reports_without_a_baa() {
        let rec = "v=DMARC1; p=reject; rua=mailto:a@org.test,mailto:r@dmarc.vault.test,mailto:x@lens.test; ruf=mailto:f@dmarc.vault.test";
        // Vault is listed with a current BAA: nothing about it. Lens is not listed.
        let f = ven007(rec, VAULT_BAA);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].subject, "lens.test");
        assert!(
            f[0].title.contains("not in the vendor inventory"),
            "{}",
            f[0].title
        );
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.starts_with("rua mailto:x@lens.test of org.test → lens.test"))
        );
        assert_eq!(f[0].basis.phi, Some(false), "aggregate reports only");
        // Vault without a BAA: its ruf is a finding, on the vendor.
        let f = ven007(rec, VAULT_NO_BAA);
        let vault = f.iter().find(|f| f.subject == "vault.test").expect("vault");
        assert!(
            vault.title.starts_with("Vault receives failure reports"),
            "{}",
            vault.title
        );
        assert_eq!(vault.basis.vendor.as_deref(), Some("Vault"));
        assert_eq!(vault.basis.phi, Some(true));
        // Without ruf, a listed processor needs no BAA for aggregate reports.
        let f = ven007(
            "v=DMARC1; p=reject; rua=mailto:r@dmarc.vault.test",
            VAULT_NO_BAA,
        );
        assert!(f.is_empty(), "{f:#?}");
        // Our own addresses are never a third party.
        assert!(
            ven007(
                "v=DMARC1; p=reject; rua=mailto:a@org.test; ruf=mailto:f@org.test",
                "vendor\n"
            )
            .is_empty()
        );
    }
}

//! Attributing report rows to inventory vendors.
//!
//! A row belongs to a vendor when its source IP falls in the vendor's `ip_ranges`, or its
//! reverse-DNS name (when known) ends in one of the vendor's `ptr_suffixes`, or when a
//! passing DKIM signature uses the vendor's `dkim_domains` or (under one of our domains) its
//! `dkim_selectors`, or when SPF passed for a MAIL FROM under one of its `spf_includes`' base
//! domains. Network evidence (IP, then PTR) is strongest, because it cannot be claimed by a
//! sender; signature and envelope evidence follow. Rows are the merged rows of
//! `reports::aggregate`, so each distinct tuple is attributed once, not once per report.

use crate::inventory::{Inventory, Vendor};
use crate::reports::model::Row;
use serde::Serialize;

/// Why a row was attributed to a vendor, for the evidence trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    IpRange,
    PtrSuffix,
    DkimDomain,
    DkimSelector,
    SpfDomain,
}

impl Basis {
    pub fn label(self) -> &'static str {
        match self {
            Basis::IpRange => "source IP in the vendor's ip_ranges",
            Basis::PtrSuffix => "source's reverse-DNS name ends in the vendor's ptr_suffixes",
            Basis::DkimDomain => "DKIM d= is one of the vendor's dkim_domains",
            Basis::DkimSelector => "DKIM selector is one of the vendor's dkim_selectors",
            Basis::SpfDomain => "SPF domain matches the vendor",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Attribution<'a> {
    pub vendor: &'a Vendor,
    pub basis: Basis,
}

/// Attributes one row, or `None` for an unknown source.
pub fn attribute<'a>(row: &Row, inv: &'a Inventory) -> Option<Attribution<'a>> {
    attribute_with_ptr(row, inv, None)
}

/// [`attribute`], also matching `ptr_suffixes` against the source's reverse-DNS name when it
/// is known (reports carry no PTR names; they come from a lookup).
pub fn attribute_with_ptr<'a>(
    row: &Row,
    inv: &'a Inventory,
    ptr: Option<&str>,
) -> Option<Attribution<'a>> {
    let from = crate::snapshot::normalize_name(&row.header_from);
    let candidates = || {
        inv.vendors
            .iter()
            // A vendor listed for a domain also sends for its subdomains (a mailing list on
            // `lists.<domain>`): the header From then sits under the listed domain.
            .filter(|v| v.domains.is_empty() || v.domains.iter().any(|d| is_sub_or_same(&from, d)))
    };
    if let Some(v) = candidates().find(|v| v.ip_ranges.iter().any(|n| n.contains(&row.source_ip))) {
        return Some(Attribution {
            vendor: v,
            basis: Basis::IpRange,
        });
    }
    if let Some(name) = ptr.map(crate::snapshot::normalize_name)
        && !name.is_empty()
        && let Some(v) = candidates().find(|v| {
            v.ptr_suffixes.iter().any(|suf| {
                let suf = suf.trim_start_matches('.');
                crate::reports::align::is_under(&name, suf)
            })
        })
    {
        return Some(Attribution {
            vendor: v,
            basis: Basis::PtrSuffix,
        });
    }
    // Only a passing signature or SPF check proves who sent: anyone can put a vendor's domain
    // or selector into a forged message, and it then fails.
    for sig in row.dkim.iter().filter(|s| s.result.is_pass()) {
        let d = crate::snapshot::normalize_name(&sig.domain);
        if d.is_empty() {
            continue;
        }
        if let Some(v) = candidates().find(|v| {
            v.dkim_domains
                .iter()
                .any(|vd| vd == &d && !is_ours(&d, &from))
        }) {
            return Some(Attribution {
                vendor: v,
                basis: Basis::DkimDomain,
            });
        }
        if let Some(sel) = sig.selector.as_deref().map(str::to_ascii_lowercase)
            && let Some(v) = candidates().find(|v| {
                v.dkim_selectors.contains(&sel)
                    && (v.dkim_domains.is_empty() || v.dkim_domains.iter().any(|vd| vd == &d))
            })
        {
            return Some(Attribution {
                vendor: v,
                basis: Basis::DkimSelector,
            });
        }
    }
    for spf in row.spf.iter().filter(|s| s.result.is_pass()) {
        let d = crate::snapshot::normalize_name(&spf.domain);
        if d.is_empty() || is_ours(&d, &from) {
            continue;
        }
        // The envelope domain must sit under the include host's parent (bounce.vendor.example
        // for spf.vendor.example), not merely share a public suffix such as co.uk.
        if let Some(v) = candidates().find(|v| {
            v.spf_includes.iter().any(|inc| under_parent(&d, inc))
                || v.dkim_domains
                    .iter()
                    .any(|vd| crate::reports::align::is_under(&d, vd))
        }) {
            return Some(Attribution {
                vendor: v,
                basis: Basis::SpfDomain,
            });
        }
    }
    None
}

/// `name` is `host`'s parent domain or below it, and that parent has at least two labels.
fn under_parent(name: &str, host: &str) -> bool {
    match host.split_once('.') {
        Some((_, parent)) if parent.contains('.') => crate::reports::align::is_under(name, parent),
        _ => false,
    }
}

/// `d` is the From domain or a subdomain of it (or the reverse): it belongs to us.
fn is_ours(d: &str, from: &str) -> bool {
    is_sub_or_same(d, from) || is_sub_or_same(from, d)
}

fn is_sub_or_same(child: &str, parent: &str) -> bool {
    child == parent
        || child
            .strip_suffix(parent)
            .is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::model::{AuthResult, DkimAuth, SpfAuth};

    fn inv() -> Inventory {
        let csv = "vendor,domains,ip_ranges,dkim_selectors,dkim_domains,spf_includes,phi,baa,ptr_suffixes\n\
Mailer,news.example,198.51.100.0/24,,,,no,none,\n\
Relay,news.example,,,,,no,none,.outbound.relay.example\n\
Portal,portal.example,,epic1,portal.example,,yes,signed,\n\
Billing,portal.example,,,billvendor.example,spf.billvendor.example,yes,signed,\n";
        Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap()
    }

    fn row(ip: &str, from: &str) -> Row {
        Row {
            source_ip: ip.parse().unwrap(),
            count: 1,
            disposition: "none".into(),
            dkim_evaluated: AuthResult::Fail,
            spf_evaluated: AuthResult::Fail,
            reasons: vec![],
            header_from: from.into(),
            envelope_from: None,
            envelope_to: None,
            dkim: vec![],
            spf: vec![],
        }
    }

    #[test]
    fn attributes_by_each_basis() {
        let inv = inv();
        let a = attribute(&row("198.51.100.9", "news.example"), &inv).unwrap();
        assert_eq!(
            (a.vendor.vendor.as_str(), a.basis),
            ("Mailer", Basis::IpRange)
        );
        // Right IP, wrong From domain: not this vendor.
        assert!(attribute(&row("198.51.100.9", "portal.example"), &inv).is_none());

        let mut r = row("203.0.113.5", "portal.example");
        r.dkim.push(DkimAuth {
            domain: "portal.example".into(),
            selector: Some("EPIC1".into()),
            result: AuthResult::Pass,
            human_result: None,
        });
        let a = attribute(&r, &inv).unwrap();
        assert_eq!(
            (a.vendor.vendor.as_str(), a.basis),
            ("Portal", Basis::DkimSelector)
        );

        let mut r = row("203.0.113.5", "portal.example");
        r.dkim.push(DkimAuth {
            domain: "billvendor.example".into(),
            selector: None,
            result: AuthResult::Pass,
            human_result: None,
        });
        assert_eq!(attribute(&r, &inv).unwrap().basis, Basis::DkimDomain);

        let mut r = row("203.0.113.5", "portal.example");
        r.spf.push(SpfAuth {
            domain: "bounce.billvendor.example".into(),
            scope: None,
            result: AuthResult::Pass,
            human_result: None,
        });
        assert_eq!(attribute(&r, &inv).unwrap().basis, Basis::SpfDomain);

        assert!(attribute(&row("192.0.2.1", "portal.example"), &inv).is_none());

        // Reverse DNS, when known, attributes by ptr_suffixes (on a label boundary only).
        let r = row("192.0.2.77", "news.example");
        assert!(attribute(&r, &inv).is_none());
        let a = attribute_with_ptr(&r, &inv, Some("mta-3.Outbound.Relay.example.")).unwrap();
        assert_eq!(
            (a.vendor.vendor.as_str(), a.basis),
            ("Relay", Basis::PtrSuffix)
        );
        assert!(attribute_with_ptr(&r, &inv, Some("evil-outbound.relay.example.test")).is_none());
        assert!(attribute_with_ptr(&r, &inv, Some("xoutbound.relay.example")).is_none());
    }
}

#[cfg(test)]
mod forged {
    use super::*;
    use crate::reports::model::{AuthResult, DkimAuth, Row, SpfAuth};

    #[test]
    fn failing_signatures_and_lookalike_envelopes_prove_nothing() {
        let csv = "vendor,domains,dkim_selectors,dkim_domains,spf_includes,phi,baa\n\
M365,corp.example,selector1,corp.example,spf.m365.example,yes,signed\n\
Payroll,corp.example,,,spf.payroll.co.uk,no,none\n";
        let inv = Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap();
        let mut row = Row {
            source_ip: "192.0.2.66".parse().unwrap(),
            count: 9000,
            disposition: "reject".into(),
            dkim_evaluated: AuthResult::Fail,
            spf_evaluated: AuthResult::Fail,
            reasons: vec![],
            header_from: "corp.example".into(),
            envelope_from: None,
            envelope_to: None,
            dkim: vec![DkimAuth {
                domain: "corp.example".into(),
                selector: Some("selector1".into()),
                result: AuthResult::Fail,
                human_result: None,
            }],
            spf: vec![SpfAuth {
                domain: "evil.co.uk".into(),
                scope: None,
                result: AuthResult::Pass,
                human_result: None,
            }],
        };
        assert!(
            attribute(&row, &inv).is_none(),
            "a forged, failing selector or a shared suffix attributed the row"
        );
        row.dkim[0].result = AuthResult::Pass;
        assert_eq!(attribute(&row, &inv).unwrap().vendor.vendor, "M365");
    }
}

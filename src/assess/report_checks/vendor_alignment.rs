//! RPT-002: an inventory vendor's mail that fails DMARC alignment.

use super::*;

/// RPT-002 for each vendor with failing mail.
pub(super) fn failing_vendors(
    cx: &Checks<'_>,
    vendor_fail: &BTreeMap<String, VendorFail>,
) -> Vec<Finding> {
    let Checks {
        domains,
        inv,
        facts,
        label,
        ..
    } = *cx;
    let DnsFacts {
        spf_trees,
        spf_broken,
        ..
    } = facts;
    let mut findings = Vec::new();
    // RPT-002: vendor failing alignment.
    for (vendor, vf) in vendor_fail {
        let msgs = vf.messages;
        let v = inv.vendors.iter().find(|v| &v.vendor == vendor);
        let phi = v.and_then(|v| v.phi).unwrap_or(false);
        let mut d = Draft::new("RPT-002", vendor.clone())
            .title(format!("{vendor}: {msgs} messages failed DMARC alignment"))
            .evidence(format!(
                "{msgs} messages failing DMARC in {} report rows, reported by {}",
                vf.rows,
                join(&vf.reporters)
            ))
            .evidence_all(vf.samples.iter().cloned());
        if vf.rows > vf.samples.len() {
            let more = vf.rows - vf.samples.len();
            d = d.evidence(format!(
                "and {more} more row{}, {} message{}: the vendor's totals are in evidence.json (reports.detail.per_vendor), every row in the report files it lists (inputs)",
                if more == 1 { "" } else { "s" },
                vf.left_out,
                if vf.left_out == 1 { "" } else { "s" }
            ));
        }
        d = d.vendor(vendor).messages(msgs);
        // Our own infrastructure: its reverse DNS or signing domain is one of ours.
        let ours = |n: &str| {
            let n = crate::snapshot::normalize_name(n);
            domains
                .iter()
                .any(|x| n == x.name || n.ends_with(&format!(".{}", x.name)))
        };
        let own = v.is_some_and(|v| v.ptr_suffixes.iter().any(|p| ours(p)));
        let dom = v
            .and_then(|v| v.domains.first().cloned())
            .unwrap_or_default();
        // SPF at the domain errs for every failing message; but only a vendor our SPF
        // authorizes at all (its include or its ranges are in the record) fails because of it.
        let in_tree = |bad: &str| {
            let tree = spf_trees.get(bad).map(Vec::as_slice).unwrap_or_default();
            v.is_some_and(|v| {
                tree.iter().any(|line| {
                    let t = line.split_whitespace().next().unwrap_or("");
                    v.spf_includes
                        .iter()
                        .any(|i| t.eq_ignore_ascii_case(&format!("include:{i}")))
                        || v.ip_ranges
                            .iter()
                            .any(|n| t == format!("ip4:{n}") || t == format!("ip6:{n}"))
                })
            })
        };
        if let Some(sub) = &vf.spf_none_ours {
            let ranges = v
                .map(|v| {
                    v.ip_ranges
                        .iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            d = d.remediation(format!(
                "{vendor} sends with a MAIL FROM under {sub}, which has no SPF record (result none), so SPF cannot align. Publish `{sub}` TXT \"v=spf1 {}-all\" authorizing its senders, or have {vendor} sign with DKIM d={dom} (publish the selector it signs with). Either makes its mail pass DMARC aligned.",
                if ranges.is_empty() {
                    "<its sending ranges> ".to_string()
                } else {
                    ranges
                        .split(' ')
                        .map(|r| {
                            if r.contains(':') {
                                format!("ip6:{r} ")
                            } else {
                                format!("ip4:{r} ")
                            }
                        })
                        .collect::<String>()
                }
            ));
        } else if let (Some(bad), true, true) = (
            &vf.spf_error_domain,
            vf.spf_error == msgs,
            vf.spf_error_domain.as_deref().is_some_and(in_tree),
        ) {
            d = d
                .spf_error_domain(bad)
                .evidence(format!(
                    "every failing message met SPF permerror or temperror at {bad}: the SPF record of {bad} is the cause, not the sender"
                ))
                .remediation(format!(
                    "Fix the SPF record of {bad} (see its SPF finding): these messages fail only because SPF at {bad} ends in an error.{}",
                    if own {
                        format!(" This is our own infrastructure: also sign its mail with DKIM d={dom}, so one broken record cannot stop it again.")
                    } else {
                        format!(" Also ask {vendor} to sign with DKIM d={dom}, so one broken record cannot stop its mail again.")
                    }
                ));
        } else if let (Some(bad), Some(v)) = (&vf.spf_error_domain, v) {
            // SPF at our domain errs, but would not authorize this vendor even when fixed.
            let ranges: Vec<String> = v.ip_ranges.iter().map(|n| n.to_string()).collect();
            d = d.remediation(format!(
                "{vendor} sends with a MAIL FROM under {bad}, whose SPF record ends in an error (see its SPF finding); even once fixed, the record does not authorize {vendor}'s senders{}. After fixing it, add them to the record, or have {vendor} sign with DKIM d={dom}.",
                if ranges.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", ranges.join(", "))
                }
            ));
        } else if own {
            d = d.remediation(format!(
                "This is our own infrastructure: configure DKIM signing on it with d={dom} (publish the selector's public key under {dom}) and send with a MAIL FROM under {dom} that our SPF authorizes; its mail then passes DMARC aligned."
            ));
        } else if let Some(v) = v {
            let theirs: Vec<&str> = v
                .dkim_domains
                .iter()
                .filter(|x| !ours(x))
                .map(String::as_str)
                .collect();
            let spf_route = match spf_broken.get(dom.as_str()) {
                Some(status) => format!(
                    " The SPF record at {dom} itself ends in an error ({}; see its SPF finding), so a MAIL FROM of {dom} fails SPF until that is fixed; a MAIL FROM subdomain with its own SPF record (e.g. bounces.{dom} with v=spf1 and {vendor}'s ranges, then -all) is not affected and aligns under relaxed SPF alignment.",
                    if status == "multiple" {
                        "two v=spf1 records"
                    } else {
                        status.as_str()
                    }
                ),
                None => String::new(),
            };
            d = d.remediation(format!(
                "Ask {vendor} to sign with DKIM d={dom} (it gives you a selector to publish, usually as a CNAME to its key), or to send with a MAIL FROM under {dom} that our SPF authorizes.{spf_route}{} {}",
                if theirs.is_empty() {
                    String::new()
                } else {
                    format!(" Its mail now authenticates only as {}, which does not align with {dom}.", theirs.join(", "))
                },
                {
                    let n = |k: &str| vf.dispositions.get(k).copied().unwrap_or(0);
                    let (q, r) = (n("quarantine"), n("reject"));
                    if q + r == 0 {
                        format!("Receivers still delivered all of it this period; do this before {dom} enforces DMARC, or its mail is junked or refused.")
                    } else {
                        format!("Receivers already junked {q} and refused {r} of its {msgs} failing messages this period.")
                    }
                }
            ));
        }
        if !phi {
            d = d.severity(Severity::Medium);
        } else {
            d = d.evidence("vendor is flagged phi=yes in the inventory");
        }
        if let Some(v) = v {
            d = d
                .domain(v.domains.first().map(String::as_str).unwrap_or_default())
                .owner(&v.owner);
        }
        findings.push(d.build(label));
    }
    findings
}

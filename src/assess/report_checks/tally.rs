//! The tally: every merged report row counted once, attributed to a vendor or kept as an
//! unknown source, with the recomputed alignment verdicts and the detail tables' accumulators.
//! The checks read what this builds; nothing here judges.

use super::*;

/// What the rows add up to, for the checks and the statistics.
pub(super) struct Tally {
    pub per_domain: BTreeMap<String, DomainAcc>,
    pub per_vendor: BTreeMap<String, PassRates>,
    /// (domain, ip, header_from) → accumulated, for sources no vendor accounts for.
    pub unknown: BTreeMap<SourceKey, SourceAcc>,
    pub vendor_fail: BTreeMap<String, VendorFail>,
    pub spf_checked: BTreeMap<String, u64>,
    pub spf_errors: BTreeMap<String, u64>,
    pub vendor_spf: BTreeMap<String, BTreeSet<String>>,
    pub detail: ReportDetail,
    pub domain_detail: BTreeMap<String, DetailAcc>,
    pub vendor_detail: BTreeMap<String, DetailAcc>,
    /// Unattributed (ip, from) → (messages, pass) for the network / PTR groupings.
    pub unattributed: BTreeMap<(IpAddr, String), (u64, u64)>,
    /// Vendor mail signed with one of our domains' keys: (vendor, `d=`, selector) → (messages
    /// signed, of which the signature failed), for RPT-010.
    pub own_dkim: BTreeMap<(String, String, String), (u64, u64)>,
}

/// Counts every merged row of `set`; `hints` are the organizational domains alignment may
/// trust (configured ones and those the DMARC tree walk found).
pub(super) fn rows(
    set: &ReportSet,
    domains: &[DomainConfig],
    inv: &Inventory,
    ptr: &PtrNames,
    hints: &[&str],
    (known_selectors, claimed_selectors): (&BTreeSet<String>, &BTreeSet<String>),
    stats: &mut ReportStats,
) -> Tally {
    let mut per_domain: BTreeMap<String, DomainAcc> = BTreeMap::new();
    let mut per_vendor: BTreeMap<String, PassRates> = BTreeMap::new();
    // (domain, ip, header_from) → accumulated; vendor-attributed failures kept apart.
    let mut unknown: BTreeMap<SourceKey, SourceAcc> = BTreeMap::new();
    // Vendor → (failing messages, reporters, sample rows, failing messages whose SPF check of
    // a domain of ours erred: the SPF record, not the vendor, is then the cause).
    let mut vendor_fail: BTreeMap<String, VendorFail> = BTreeMap::new();
    let mut spf_checked: BTreeMap<String, u64> = BTreeMap::new();
    let mut spf_errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut vendor_spf: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut detail = ReportDetail {
        source_rows: set.aggregate.source_rows,
        distinct_rows: set.aggregate.rows.len(),
        ..Default::default()
    };
    let mut domain_detail: BTreeMap<String, DetailAcc> = BTreeMap::new();
    let mut vendor_detail: BTreeMap<String, DetailAcc> = BTreeMap::new();
    // Unattributed (ip, from) → (messages, pass) for the network / PTR groupings.
    let mut unattributed: BTreeMap<(IpAddr, String), (u64, u64)> = BTreeMap::new();
    let mut own_dkim: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    {
        for merged in &set.aggregate.rows {
            let row = &merged.row;
            let reporters: Vec<(&str, u64)> = set.aggregate.reporters_of(merged).collect();
            let view = MergedView {
                row,
                reporters: &reporters,
                verdict: align::evaluate(row, merged.adkim, merged.aspf, hints),
            };
            let n = row.count;
            // Headline totals cover our configured domains only: anyone can send a report about
            // any domain to our rua address. Other From domains are shown as "(other)" rows.
            let ours = owning_domain(&row.header_from, domains).is_some();
            if ours {
                tally_verdict(
                    &mut detail.recomputed,
                    &mut detail.disagreements,
                    Some(&mut detail.reporter_lenient),
                    &view,
                );
            }
            let ptr_name = ptr.get(&row.source_ip).map(String::as_str);
            let attributed_early = attribution::attribute_with_ptr(row, inv, ptr_name);
            let dom_key = owning_domain(&row.header_from, domains)
                .map(|d| d.name.clone())
                .unwrap_or_else(|| {
                    format!(
                        "(other) {}",
                        crate::snapshot::normalize_name(&row.header_from)
                    )
                });
            domain_detail
                .entry(dom_key)
                .or_default()
                .add(&view, attributed_early.map(|a| a.vendor.vendor.as_str()));
            match attributed_early {
                Some(a) => vendor_detail
                    .entry(a.vendor.vendor.clone())
                    .or_default()
                    .add(&view, Some(&a.vendor.vendor)),
                None => {
                    if owning_domain(&row.header_from, domains).is_some() {
                        let e = unattributed
                            .entry((row.source_ip, row.header_from.clone()))
                            .or_default();
                        e.0 += n;
                        if row.reporter_dmarc_pass() {
                            e.1 += n;
                        }
                    }
                }
            }
            if ours {
                add(&mut stats.rates, row);
                stats.messages += row.count;
            }
            let dom = owning_domain(&row.header_from, domains).map(|d| d.name.clone());
            for d in domains {
                let mine: Vec<&crate::reports::model::SpfAuth> = row
                    .spf
                    .iter()
                    .filter(|s| crate::snapshot::normalize_name(&s.domain) == d.name)
                    .collect();
                if !mine.is_empty() {
                    *spf_checked.entry(d.name.clone()).or_default() += row.count;
                }
                if mine
                    .iter()
                    .any(|s| matches!(s.result, AuthResult::Permerror | AuthResult::Temperror))
                {
                    *spf_errors.entry(d.name.clone()).or_default() += row.count;
                }
            }
            let key = dom.clone().unwrap_or_else(|| {
                format!(
                    "(other) {}",
                    crate::snapshot::normalize_name(&row.header_from)
                )
            });
            let e = per_domain.entry(key).or_default();
            add(&mut e.0, row);
            *e.1.entry(row.disposition.clone()).or_default() += row.count;
            for (name, n) in &reporters {
                *e.2.entry((*name).to_string()).or_default() += n;
            }

            let attributed = attributed_early;
            if let Some(a) = attributed {
                for sig in row.dkim.iter().filter(|s| {
                    let d = crate::snapshot::normalize_name(&s.domain);
                    domains
                        .iter()
                        .any(|c| d == c.name || d.ends_with(&format!(".{}", c.name)))
                }) {
                    let e = own_dkim
                        .entry((
                            a.vendor.vendor.clone(),
                            crate::snapshot::normalize_name(&sig.domain),
                            sig.selector
                                .clone()
                                .unwrap_or_default()
                                .to_ascii_lowercase(),
                        ))
                        .or_default();
                    e.0 += row.count;
                    if sig.result == AuthResult::Fail {
                        e.1 += row.count;
                    }
                }
                add(per_vendor.entry(a.vendor.vendor.clone()).or_default(), row);
                vendor_spf
                    .entry(a.vendor.vendor.clone())
                    .or_default()
                    .extend(
                        row.spf
                            .iter()
                            .map(|s| crate::snapshot::normalize_name(&s.domain)),
                    );
                if !row.reporter_dmarc_pass() && dom.is_some() {
                    let vf = vendor_fail.entry(a.vendor.vendor.clone()).or_default();
                    vf.messages += row.count;
                    *vf.dispositions.entry(row.disposition.clone()).or_default() += row.count;
                    vf.reporters
                        .extend(reporters.iter().map(|(r, _)| (*r).to_string()));
                    vf.rows += 1;
                    if vf.samples.len() < 6 {
                        vf.samples.push(describe_row(row, Some(a.basis)));
                    } else {
                        vf.left_out += row.count;
                    }
                    if let Some(s) = row.spf.iter().find(|s| {
                        matches!(s.result, AuthResult::Permerror | AuthResult::Temperror)
                            && domains
                                .iter()
                                .any(|d| crate::snapshot::normalize_name(&s.domain) == d.name)
                    }) {
                        vf.spf_error += row.count;
                        vf.spf_error_domain = Some(crate::snapshot::normalize_name(&s.domain));
                    }
                    if let Some(s) = row.spf.iter().find(|s| {
                        matches!(s.result, AuthResult::None) && {
                            let n = crate::snapshot::normalize_name(&s.domain);
                            domains.iter().any(|d| n.ends_with(&format!(".{}", d.name)))
                        }
                    }) {
                        vf.spf_none_ours = Some(crate::snapshot::normalize_name(&s.domain));
                    }
                }
                continue;
            }
            let Some(dom) = dom else { continue };
            let acc = unknown
                .entry((
                    dom,
                    row.source_ip,
                    crate::snapshot::normalize_name(&row.header_from),
                ))
                .or_default();
            acc.add(
                row,
                &senders::RowFacts {
                    reporters: &reporters,
                    reports: merged.reports,
                    seen: merged.seen,
                    known_selectors,
                    claimed_selectors,
                    domains,
                },
            );
        }
    }
    Tally {
        per_domain,
        per_vendor,
        unknown,
        vendor_fail,
        spf_checked,
        spf_errors,
        vendor_spf,
        detail,
        domain_detail,
        vendor_detail,
        unattributed,
        own_dkim,
    }
}

//! RPT-003: the share of known senders' mail that passes DMARC, per domain, against the
//! threshold in `[policy] pass_rate_threshold`. RFC 9989 asks domain owners to make their
//! legitimate mail pass before enforcing; a rate below the threshold says how much of the
//! organization's own mail an enforcing policy refuses or junks.

use super::*;

/// Known senders' messages per configured domain: (messages, DMARC pass), and per vendor.
type Rates = BTreeMap<String, ((u64, u64), BTreeMap<String, (u64, u64)>)>;

fn known_sender_rates(cx: &Checks<'_>) -> Rates {
    let mut out: Rates = BTreeMap::new();
    for m in &cx.set.aggregate.rows {
        let row = &m.row;
        let Some(dom) = owning_domain(&row.header_from, cx.domains) else {
            continue;
        };
        let ptr = cx.ptr.get(&row.source_ip).map(String::as_str);
        let Some(a) = attribution::attribute_with_ptr(row, cx.inv, ptr) else {
            continue;
        };
        let pass = if row.reporter_dmarc_pass() {
            row.count
        } else {
            0
        };
        let e = out.entry(dom.name.clone()).or_default();
        e.0.0 = e.0.0.saturating_add(row.count);
        e.0.1 = e.0.1.saturating_add(pass);
        let v = e.1.entry(a.vendor.vendor.clone()).or_default();
        v.0 = v.0.saturating_add(row.count);
        v.1 = v.1.saturating_add(pass);
    }
    out
}

pub(super) fn below_threshold(cx: &Checks<'_>) -> Vec<Finding> {
    let t = cx.policy.pass_rate_threshold;
    let mut out = Vec::new();
    for (domain, ((n, pass), vendors)) in known_sender_rates(cx) {
        let Some(r) = rate(pass, n) else { continue };
        if r >= t {
            continue;
        }
        let enforcing = !cx.facts.policy_none.contains(&domain);
        let mut below: Vec<(&String, &(u64, u64))> = vendors
            .iter()
            .filter(|(_, (n, p))| rate(*p, *n).is_some_and(|r| r < t))
            .collect();
        below.sort_by_key(|(_, (n, p))| std::cmp::Reverse(n - p));
        // Rounded, except that a rate below the threshold never prints as the threshold
        // (97.96% is shown as 97.9%, not 98.0%).
        let pct = |x: f64| {
            let shown = (x * 1000.0).round() / 10.0;
            let shown = if x < t && shown >= t * 100.0 {
                (x * 1000.0).floor() / 10.0
            } else {
                shown
            };
            format!("{shown:.1}%")
        };
        out.push(
            Draft::new("RPT-003", domain.clone())
                .domain(&domain)
                .messages(n - pass)
                .title(format!(
                    "{} of the inventory's mail as {domain} passed DMARC, below the {} threshold",
                    pct(r),
                    pct(t)
                ))
                .evidence(format!(
                    "{} of {} messages from inventory vendors passed DMARC this period ({}); threshold {} ([policy] pass_rate_threshold)",
                    crate::text::int(pass),
                    crate::text::int(n),
                    pct(r),
                    pct(t)
                ))
                .evidence_all(below.iter().take(8).map(|(v, (n, p))| {
                    format!(
                        "{v}: {} of {} passed ({})",
                        crate::text::int(*p),
                        crate::text::int(*n),
                        pct(*p as f64 / *n as f64)
                    )
                }))
                .remediation(if enforcing {
                    format!("{domain} already enforces its policy, so receivers refuse or junk the failing share of its legitimate mail: fix the vendors listed (their cause cards say how) until the rate is back above {}.", pct(t))
                } else {
                    format!("Keep {domain} at p=none until the vendors listed pass aligned and the rate stays above {} for a full period; only then move to p=quarantine and p=reject, or the policy will refuse the organization's own mail.", pct(t))
                })
                .build(cx.label),
        );
    }
    out
}

//! RPT-006: receivers that did not apply a domain's DMARC policy to failing mail and said why
//! (RFC 9990 "Policy Override Reason"): forwarding and mailing lists are usually benign, a
//! receiver's `local_policy` or `trusted_forwarder` is mail delivered that the policy asked
//! to refuse. The share of the failing mail tells how far the published policy is applied.

use super::*;

/// RPT-006 for each configured domain whose failing mail receivers overrode.
pub(super) fn receiver_overrides(
    cx: &Checks<'_>,
    detail: &ReportDetail,
    per_domain: &[DomainReportStat],
) -> Vec<Finding> {
    let Checks { domains, label, .. } = *cx;
    let mut out = Vec::new();
    for d in domains {
        let Some(dd) = detail.per_domain.iter().find(|x| x.domain == d.name) else {
            continue;
        };
        let overridden: u64 = dd.reasons.iter().map(|(_, n)| n).sum();
        if overridden == 0 {
            continue;
        }
        let failing = per_domain
            .iter()
            .find(|x| x.domain == d.name)
            .map(|x| x.rates.messages.saturating_sub(x.rates.dmarc_pass))
            .unwrap_or(0);
        let share = if failing > 0 {
            format!(
                "{:.1}% of the {} that failed DMARC",
                overridden.min(failing) as f64 * 100.0 / failing as f64,
                crate::text::count(failing as usize, "message", "messages")
            )
        } else {
            "none of its mail failed DMARC".to_string()
        };
        let mut draft = Draft::new("RPT-006", d.name.clone())
            .domain(&d.name)
            .title(format!(
                "Receivers overrode {}'s DMARC policy for {} ({share})",
                d.name,
                crate::text::count(overridden as usize, "message", "messages"),
            ))
            .evidence_all(dd.reasons.iter().map(|(reason, n)| {
                format!(
                    "{reason}: {} ({})",
                    crate::text::count(*n as usize, "message", "messages"),
                    meaning(reason)
                )
            }));
        if dd
            .reasons
            .iter()
            .any(|(r, _)| r == "local_policy" || r == "trusted_forwarder" || r == "other")
        {
            draft = draft.evidence(
                "local_policy, trusted_forwarder and other are mail delivered although the policy asked otherwise: look at those sources in the report rows before relying on enforcement".to_string(),
            );
        }
        out.push(draft.build(label));
    }
    out
}

/// What a receiver means by an override reason (RFC 9990; RFC 7489 Appendix C).
fn meaning(reason: &str) -> &'static str {
    match reason {
        "forwarded" => "relayed by a forwarder, which breaks SPF",
        "mailing_list" => "resent by a mailing list, which alters the message",
        "trusted_forwarder" => "the receiver trusts the relaying host and delivered it",
        "local_policy" => "the receiver's own rules decided",
        "sampled_out" => "left out by pct sampling",
        "policy_test_mode" => "the policy is in test mode (t=y)",
        _ => "a reason the receiver did not name",
    }
}

//! RPT-010: an inventory vendor's mail carried a signature with one of our domains' keys and
//! receivers found it broken (`fail`, not `none`). The key published under the selector is not
//! the one the vendor signs with, or something rewrites the message after signing; either way
//! the signature that should carry the vendor's mail through DMARC does not.

use super::*;

/// A broken signature on under this share of the selector's mail is a message altered on the
/// way (a footer, a gateway), not a key that does not match.
const MIN_SHARE: f64 = 0.01;

/// RPT-010 for each vendor and selector of ours whose signatures failed at receivers.
pub(super) fn own_signatures_failing(
    cx: &Checks<'_>,
    own_dkim: &BTreeMap<(String, String, String), (u64, u64)>,
) -> Vec<Finding> {
    let Checks { domains, label, .. } = *cx;
    let mut out = Vec::new();
    for ((vendor, d, selector), (signed, failed)) in own_dkim {
        if *failed == 0 || (*failed as f64) < MIN_SHARE * (*signed as f64) {
            continue;
        }
        let Some(domain) = owning_domain(d, domains) else {
            continue;
        };
        let key = if selector.is_empty() {
            format!("{d} (no selector reported)")
        } else {
            format!("{selector}._domainkey.{d}")
        };
        let all = failed == signed;
        out.push(
            Draft::new("RPT-010", key.clone())
                .domain(&domain.name)
                .title(format!(
                    "{vendor}'s DKIM signatures with {key} failed for {} of {}",
                    crate::text::int(*failed),
                    crate::text::count(*signed as usize, "message", "messages"),
                ))
                .evidence(format!(
                    "{vendor}: {} signed d={d} s={} per the reports' auth_results; receivers reported dkim=fail for {} ({:.1}%)",
                    crate::text::count(*signed as usize, "message", "messages"),
                    if selector.is_empty() { "?" } else { selector.as_str() },
                    crate::text::int(*failed),
                    *failed as f64 * 100.0 / (*signed).max(1) as f64
                ))
                .evidence(if all {
                    "every signature failed: the key published under the selector is not the one the vendor signs with (compare the vendor's key with the DNS record)".to_string()
                } else {
                    "some signatures failed: the key matches, but part of the mail is altered after signing (a footer, a gateway rewriting it) or signed by a second system with another key".to_string()
                })
                .build(label),
        );
    }
    out
}

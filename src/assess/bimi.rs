//! BIMI-001: a brand logo record (`default._bimi`) on a domain whose DMARC policy is not strong
//! enough for receivers to show it. BIMI receivers display the logo only when the Author
//! Domain and its Organizational Domain enforce DMARC: quarantine applied to all failing mail,
//! or reject, with subdomains not left at none (BIMI draft, "Receiver Actions" steps 7–9).
//!
//! This is brand presentation, not a safeguard of ePHI: the finding cites no HIPAA standard
//! (CHECKS.md "— (brand)"), and says so, so the record is fixed or removed without being read
//! as a compliance gap.

use super::dns_context::Context;
use super::finding::Draft;
use crate::evidence::{DomainPosture, Finding};

/// BIMI-001 for each configured domain publishing a BIMI record that DMARC does not back.
pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    cx.postures.iter().filter_map(|p| domain(cx, p)).collect()
}

/// Why BIMI receivers will not show the logo for `p`, one reason each (a short label and the
/// sentence); empty when they can. `None` when the DMARC lookup was incomplete: nothing can be
/// said.
fn reasons(p: &DomainPosture) -> Option<Vec<(String, String)>> {
    let m = &p.dmarc;
    match m.status.as_str() {
        "found" => {}
        "incomplete" => return None,
        other => {
            return Some(vec![(
                "no usable record".to_string(),
                format!("no usable DMARC record (status: {other}): BIMI needs an enforcing policy"),
            )]);
        }
    }
    // A record found at the organizational domain applies to this one through sp.
    let (p_eff, inherited) = p.effective_policy();
    let mut why = Vec::new();
    match p_eff.as_str() {
        "none" => {
            let tag = if inherited { "sp=none" } else { "p=none" };
            why.push((
                tag.to_string(),
                format!("{tag}: monitoring only, not enforcement"),
            ))
        }
        "quarantine" if m.pct.is_some_and(|n| n < 100) => {
            let n = m.pct.unwrap_or(100);
            why.push((
                format!("p=quarantine; pct={n}"),
                format!(
                    "p=quarantine with pct={n}: the policy covers only part of the failing mail"
                ),
            ))
        }
        _ => {}
    }
    if !inherited && m.sp.as_deref() == Some("none") {
        why.push((
            "sp=none".to_string(),
            "sp=none: subdomains are not protected, which BIMI requires".to_string(),
        ));
    }
    if m.t.as_deref() == Some("y") {
        why.push((
            "t=y".to_string(),
            "t=y: test mode, receivers apply one level below p (RFC 9989)".to_string(),
        ));
    }
    Some(why)
}

fn domain(cx: &Context<'_>, p: &DomainPosture) -> Option<Finding> {
    let bimi = p.bimi.as_deref()?;
    let why = reasons(p)?;
    if why.is_empty() {
        return None;
    }
    let m = &p.dmarc;
    let mut d = Draft::new("BIMI-001", p.domain.clone())
        .domain(&p.domain)
        .title(format!(
            "{} publishes a BIMI logo record, but its DMARC policy ({}) is not enforcement: receivers will not show the logo",
            p.domain,
            why.iter()
                .map(|(short, _)| short.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .evidence(format!("default._bimi.{} TXT \"{bimi}\"", p.domain));
    if let Some(r) = &m.record {
        d = d.evidence(format!(
            "{} TXT \"{r}\"",
            m.location
                .clone()
                .unwrap_or_else(|| format!("_dmarc.{}", p.domain))
        ));
    }
    d = d.evidence_all(why.into_iter().map(|(_, long)| long)).evidence(
        "brand presentation only: the logo is not a safeguard of ePHI, so no HIPAA standard is cited; the DMARC findings for this domain carry the security gap".to_string(),
    );
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
    use crate::snapshot::Rtype::Txt;

    fn bimi(dmarc: &str) -> Vec<Finding> {
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            ("_dmarc.org.test", Txt, Answer, &[dmarc]),
            (
                "default._bimi.org.test",
                Txt,
                Answer,
                &["v=BIMI1; l=https://org.test/logo.svg;"],
            ),
        ]);
        FAMILIES
            .run(&mut s, "vendor\n")
            .into_iter()
            .filter(|f| f.check == "BIMI-001")
            .collect()
    }

    #[test]
    fn fires_only_when_dmarc_does_not_enforce() {
        let f = bimi("v=DMARC1; p=none; sp=none; rua=mailto:d@org.test");
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("p=none, sp=none"), "{}", f[0].title);
        assert!(f[0].hipaa.is_empty(), "brand only: no citation");
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.starts_with("default._bimi.org.test TXT \"v=BIMI1"))
        );
        let q = bimi("v=DMARC1; p=quarantine; pct=50; rua=mailto:d@org.test");
        assert_eq!(q.len(), 1);
        assert!(q[0].evidence.iter().any(|e| e.contains("pct=50")));
        // Enforcement: no finding.
        assert!(bimi("v=DMARC1; p=reject; rua=mailto:d@org.test").is_empty());
        assert!(bimi("v=DMARC1; p=quarantine; rua=mailto:d@org.test").is_empty());
        // No BIMI record: nothing to say, whatever the policy.
        let mut s = snapshot(&[
            ("org.test", Txt, Answer, &["v=spf1 -all"]),
            ("_dmarc.org.test", Txt, Answer, &["v=DMARC1; p=none"]),
        ]);
        assert!(
            !FAMILIES
                .run(&mut s, "vendor\n")
                .iter()
                .any(|f| f.check == "BIMI-001")
        );
    }
}

//! SPF-009 (Info): a domain ends its SPF record in `-all` while part of its mail reaches
//! receivers through forwarders and mailing lists, where it passes DMARC by DKIM alone.
//!
//! That is not a failure: DMARC is built to pass such mail through DKIM alignment. But RFC 9989
//! §7.1 warns that a receiver may act on an SPF `fail` before DMARC runs, and mail it refuses
//! that way never reaches the aggregate reports. The reports show the forwarded mail that got
//! through; what `-all` cost elsewhere cannot be counted, and the reader should know that.
//!
//! Evidence comes from this period's report rows for the domain: rows the receivers marked
//! `forwarded`, `mailing_list` or `trusted_forwarder`, and rows whose SPF check of our own
//! MAIL FROM failed while DKIM passed aligned (the signature of a forward).

use super::dns_context::Context;
use super::finding::Draft;
use crate::evidence::{DomainPosture, Finding};
use crate::reports::model::AuthResult;
use std::collections::BTreeMap;

/// Override reasons that mean an intermediary relayed the mail.
const RELAYED: &[&str] = &["forwarded", "mailing_list", "trusted_forwarder"];

/// SPF-009 for each configured domain publishing `-all` whose reports show relayed mail.
pub fn assess(cx: &Context<'_>) -> Vec<Finding> {
    cx.postures.iter().filter_map(|p| domain(cx, p)).collect()
}

fn domain(cx: &Context<'_>, p: &DomainPosture) -> Option<Finding> {
    // A record in permerror still ends in -all: receivers that reach the error do not act on
    // it this period, but fixing the error brings it back, so the note stands (and says so).
    if !matches!(p.spf.status.as_str(), "found" | "permerror")
        || p.spf.all.as_deref() != Some("-all")
    {
        return None;
    }
    let ours = |d: &str| {
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        d == p.domain || d.ends_with(&format!(".{}", p.domain))
    };
    // Per source address: messages, and why the row counts as relayed.
    let mut sources: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut total = 0u64;
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for m in &cx.reports.aggregate.rows {
        let r = &m.row;
        if !r.header_from.eq_ignore_ascii_case(&p.domain) {
            continue;
        }
        let reason = r
            .reasons
            .iter()
            .find(|x| RELAYED.contains(&x.kind.as_str()))
            .map(|x| x.kind.clone());
        let forward_shape = r.dkim_evaluated.is_pass()
            && r.spf
                .iter()
                .any(|s| ours(&s.domain) && s.result == AuthResult::Fail);
        let why = match (reason, forward_shape) {
            (Some(k), _) => format!("receiver's reason: {k}"),
            (None, true) => "SPF fail for our MAIL FROM, DKIM aligned pass".to_string(),
            (None, false) => continue,
        };
        total = total.saturating_add(r.count);
        *by_reason.entry(why.clone()).or_default() += r.count;
        let e = sources
            .entry(r.source_ip.to_string())
            .or_insert((0, why.clone()));
        e.0 = e.0.saturating_add(r.count);
    }
    if total == 0 {
        return None;
    }
    let mut top: Vec<(&String, &(u64, String))> = sources.iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    let policy = p
        .dmarc
        .p
        .as_deref()
        .map(|x| format!("p={x}"))
        .unwrap_or_else(|| "no DMARC policy".into());
    let mut d = Draft::new("SPF-009", p.domain.clone())
        .domain(&p.domain)
        .title(format!(
            "{} ends SPF in -all while {} this period reached receivers through forwarders or lists, passing DMARC only by DKIM (information)",
            p.domain,
            crate::text::count(total as usize, "message", "messages")
        ))
        .evidence(format!(
            "{} TXT \"{}\"",
            p.domain,
            p.spf.record.clone().unwrap_or_default()
        ))
        .evidence(format!(
            "{} TXT \"{}\" ({policy})",
            p.dmarc
                .location
                .clone()
                .unwrap_or_else(|| format!("_dmarc.{}", p.domain)),
            p.dmarc.record.clone().unwrap_or_default()
        ))
        .evidence_all(by_reason.iter().map(|(why, n)| {
            format!(
                "{}: {}",
                why,
                crate::text::count(*n as usize, "message", "messages")
            )
        }))
        .evidence_all(top.iter().take(5).map(|(ip, (n, why))| {
            format!(
                "source {ip}: {} ({why})",
                crate::text::count(*n as usize, "message", "messages")
            )
        }));
    if top.len() > 5 {
        d = d.evidence(format!("and {} more sources", top.len() - 5));
    }
    if p.spf.status == "permerror" {
        d = d.evidence(format!(
            "the SPF record of {} ends in permerror this period (see its SPF findings): a receiver that meets the error before a match returns permerror, not fail, and does not act on -all; once the error is fixed, -all applies again",
            p.domain
        ));
    }
    d = d.evidence(
        "RFC 9989 §7.1: a receiver may reject on an SPF fail before DMARC runs; mail refused that way never reaches the aggregate reports, so the counts above are what got through, not what was lost. This is information, not a failure".to_string(),
    );
    Some(d.build(cx.label))
}

#[cfg(test)]
mod tests {
    use crate::assess::dns_context::testing::Harness;

    /// This family's checks with the general DNS checks beside them, as a run has both.
    const FAMILIES: Harness = Harness(&[super::assess, crate::assess::dns_checks::assess]);
    use crate::config::PolicyConfig;
    use crate::evidence::Finding;
    use crate::records::spf_walk::tests::snapshot;
    use crate::reports::ReportSet;
    use crate::reports::aggregate::MergedRow;
    use crate::reports::model::{AuthResult, DkimAuth, OverrideReason, Row, SpfAuth};
    use crate::snapshot::Outcome::{self, Answer};
    use crate::snapshot::Rtype::{self, Txt};

    fn row(ip: &str, count: u64, spf: &str, dkim_pass: bool, reason: Option<&str>) -> MergedRow {
        MergedRow {
            reporters: vec![(0, count)],
            policy_domain: "org.test".into(),
            adkim: Default::default(),
            aspf: Default::default(),
            reports: 1,
            seen: None,
            row: Row {
                source_ip: ip.parse().unwrap(),
                count,
                disposition: "none".into(),
                dkim_evaluated: if dkim_pass {
                    AuthResult::Pass
                } else {
                    AuthResult::Fail
                },
                spf_evaluated: AuthResult::Fail,
                reasons: reason
                    .map(|k| OverrideReason {
                        kind: k.into(),
                        comment: None,
                    })
                    .into_iter()
                    .collect(),
                header_from: "org.test".into(),
                envelope_from: Some("org.test".into()),
                envelope_to: None,
                dkim: vec![DkimAuth {
                    domain: "org.test".into(),
                    selector: Some("sc1".into()),
                    result: if dkim_pass {
                        AuthResult::Pass
                    } else {
                        AuthResult::Fail
                    },
                    human_result: None,
                }],
                spf: vec![SpfAuth {
                    domain: "org.test".into(),
                    scope: None,
                    result: AuthResult::parse(spf),
                    human_result: None,
                }],
            },
        }
    }

    fn spf009(record: &str, rows: Vec<MergedRow>) -> Vec<Finding> {
        // Eleven hosts for a record over the lookup limit, each answered.
        let hosts: Vec<String> = (0..11).map(|i| format!("h{i}.org.test")).collect();
        let mut lookups: Vec<(&str, Rtype, Outcome, &[&str])> = vec![
            ("org.test", Txt, Answer, std::slice::from_ref(&record)),
            (
                "_dmarc.org.test",
                Txt,
                Answer,
                &["v=DMARC1; p=reject; rua=mailto:d@org.test"],
            ),
        ];
        for h in &hosts {
            lookups.push((h.as_str(), Rtype::A, Answer, &["192.0.2.200"]));
            lookups.push((h.as_str(), Rtype::Aaaa, Outcome::Nodata, &[]));
        }
        let mut s = snapshot(&lookups);
        let mut reports = ReportSet::default();
        reports.aggregate.rows = rows;
        FAMILIES
            .run_with(&mut s, "vendor\n", &PolicyConfig::default(), &reports)
            .into_iter()
            .filter(|f| f.check == "SPF-009")
            .collect()
    }

    #[test]
    fn minus_all_with_forwarded_mail_is_information() {
        let rows = || {
            vec![
                row("198.51.100.240", 25, "fail", true, Some("forwarded")),
                row("192.0.2.160", 7, "fail", true, None),
                // A spoofer: SPF fail and no DKIM. Not forwarding.
                row("203.0.113.9", 400, "fail", false, None),
            ]
        };
        let f = spf009("v=spf1 ip4:192.0.2.0/28 -all", rows());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::assess::risk::Severity::Info);
        assert!(f[0].title.contains("32 messages"), "{}", f[0].title);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e == "source 198.51.100.240: 25 messages (receiver's reason: forwarded)")
        );
        assert!(!f[0].evidence.iter().any(|e| e.contains("203.0.113.9")));
        assert!(f[0].evidence.iter().any(|e| e.contains("(p=reject)")));
        // Over the lookup limit (permerror), the -all is still there: reported, with a note.
        let eleven = format!(
            "v=spf1 {} -all",
            (0..11)
                .map(|i| format!("a:h{i}.org.test"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let f = spf009(&eleven, rows());
        assert_eq!(f.len(), 1);
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("ends in permerror"))
        );
        // ~all: receivers do not reject on SPF alone; nothing to say.
        assert!(spf009("v=spf1 ip4:192.0.2.0/28 ~all", rows()).is_empty());
        // -all, but no relayed mail in the reports.
        assert!(
            spf009(
                "v=spf1 ip4:192.0.2.0/28 -all",
                vec![row("203.0.113.9", 400, "fail", false, None)]
            )
            .is_empty()
        );
    }
}

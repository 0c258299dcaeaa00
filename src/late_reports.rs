//! Reports that arrived after their period was published. Receivers send a day's report a day
//! or two later, and some much later; a report for a period already assessed is counted in
//! neither that assessment nor the current one, so the next run lists it, once, with its
//! messages and what its failing mail would have added to that period's findings.

use crate::evidence::{Evidence, LateReport};
use crate::inventory::Inventory;
use crate::period::{Month, midpoint};
use crate::reports::model::EarlierReport;
use chrono_tz::Tz;
use std::collections::{BTreeMap, BTreeSet};

/// A report's identity as the dedupe sees it: reporter (case-folded) and report id.
type Key = (String, String);

fn key(reporter: &str, report_id: &str) -> Key {
    (reporter.to_ascii_lowercase(), report_id.to_string())
}

/// Where the run finds what an earlier period published.
pub trait Published {
    /// The reports a published period counted, or `None` when the period was never published
    /// (then its reports are simply counted in another period, not late).
    fn counted(&mut self, month: Month) -> Option<BTreeSet<(String, String)>>;
}

/// The published evidence of a period, as (reporter, report id) pairs.
pub fn counted_in(evidence: &Evidence) -> BTreeSet<(String, String)> {
    evidence
        .reports
        .reports
        .iter()
        .map(|r| key(&r.org_name, &r.report_id))
        .collect()
}

/// The late reports among `earlier` (reports counting toward periods before `month`): those
/// whose period was published without them, and which the previous assessment did not
/// already list as late.
pub fn find(
    month: Month,
    tz: Tz,
    earlier: &[EarlierReport],
    published: &mut dyn Published,
    previous: Option<&Evidence>,
    domains: &[String],
    inv: &Inventory,
) -> Vec<LateReport> {
    let listed: BTreeSet<Key> = previous
        .map(|e| {
            e.late_reports
                .iter()
                .map(|l| key(&l.reporter, &l.report_id))
                .collect()
        })
        .unwrap_or_default();
    let mut cache: BTreeMap<Month, Option<BTreeSet<Key>>> = BTreeMap::new();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for r in earlier {
        let of = Month::containing(midpoint(r.begin, r.end), tz);
        if of >= month {
            continue;
        }
        let k = key(&r.org_name, &r.report_id);
        let counted = cache.entry(of).or_insert_with(|| published.counted(of));
        let Some(counted) = counted else {
            continue;
        };
        if counted.contains(&k) || listed.contains(&k) || !seen.insert(k) {
            continue;
        }
        out.push(LateReport {
            file: r.origin.file.clone(),
            member: r.origin.member.clone(),
            reporter: r.org_name.clone(),
            report_id: r.report_id.clone(),
            domain: r.domain.clone(),
            period: of.to_string(),
            begin: r.begin,
            end: r.end,
            messages: r.messages,
            dmarc_fail: r.dmarc_fail,
            would_raise: would_raise(r, domains, inv),
        });
    }
    out.sort_by(|a, b| (&a.period, a.begin, &a.reporter).cmp(&(&b.period, b.begin, &b.reporter)));
    out
}

/// What the report's failing rows would have added: forged or unknown mail (RPT-001) and
/// known vendors failing DMARC (RPT-002), by the same attribution the assessment uses. Only
/// the largest failing rows are kept per report, so the counts are of those rows.
fn would_raise(r: &EarlierReport, domains: &[String], inv: &Inventory) -> Vec<String> {
    let ours = |from: &str| {
        let from = crate::snapshot::normalize_name(from);
        domains
            .iter()
            .any(|d| from == *d || crate::reports::align::is_under(&from, d))
    };
    let mut unknown: (u64, BTreeSet<String>) = (0, BTreeSet::new());
    let mut vendors: BTreeMap<String, u64> = BTreeMap::new();
    for row in r.failing.iter().filter(|row| ours(&row.header_from)) {
        match crate::attribution::attribute(row, inv) {
            Some(a) => {
                let n = vendors.entry(a.vendor.vendor.clone()).or_default();
                *n = n.saturating_add(row.count);
            }
            None => {
                unknown.0 = unknown.0.saturating_add(row.count);
                unknown.1.insert(row.source_ip.to_string());
            }
        }
    }
    let mut out = Vec::new();
    if unknown.0 > 0 {
        let ips: Vec<&str> = unknown.1.iter().map(String::as_str).take(5).collect();
        out.push(format!(
            "RPT-001: {} failing DMARC from {} no inventory vendor covers ({}{})",
            crate::text::count(
                usize::try_from(unknown.0).unwrap_or(usize::MAX),
                "message",
                "messages"
            ),
            crate::text::count(unknown.1.len(), "source", "sources"),
            ips.join(", "),
            if unknown.1.len() > ips.len() {
                ", …"
            } else {
                ""
            }
        ));
    }
    for (vendor, n) in vendors {
        out.push(format!(
            "RPT-002: {vendor}, {} failing DMARC",
            crate::text::count(
                usize::try_from(n).unwrap_or(usize::MAX),
                "message",
                "messages"
            )
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::model::{AuthResult, Origin, Row};
    use chrono::{TimeZone, Utc};

    struct Outputs(BTreeMap<Month, BTreeSet<Key>>);
    impl Published for Outputs {
        fn counted(&mut self, month: Month) -> Option<BTreeSet<Key>> {
            self.0.get(&month).cloned()
        }
    }

    fn report(id: &str, day: u32, rows: Vec<Row>) -> EarlierReport {
        let begin = Utc.with_ymd_and_hms(2026, 10, day, 0, 0, 0).unwrap();
        EarlierReport {
            origin: Origin {
                file: format!("reports/{id}.xml"),
                member: None,
            },
            org_name: "google.com".into(),
            report_id: id.into(),
            domain: "example.org".into(),
            begin,
            end: begin + chrono::Duration::seconds(86399),
            messages: rows.iter().map(|r| r.count).sum(),
            dmarc_fail: rows.iter().map(|r| r.count).sum(),
            failing: rows,
        }
    }

    fn failing(ip: &str, count: u64) -> Row {
        Row {
            source_ip: ip.parse().unwrap(),
            count,
            disposition: "none".into(),
            dkim_evaluated: AuthResult::Fail,
            spf_evaluated: AuthResult::Fail,
            reasons: vec![],
            header_from: "example.org".into(),
            envelope_from: None,
            envelope_to: None,
            dkim: vec![],
            spf: vec![],
        }
    }

    #[test]
    fn only_reports_missing_from_a_published_period_are_late_and_only_once() {
        let oct = Month {
            year: 2026,
            month: 10,
        };
        let nov = oct.next();
        let counted: BTreeSet<Key> = [key("Google.com", "counted")].into();
        let mut published = Outputs([(oct, counted)].into());
        let earlier = vec![
            report("counted", 30, vec![]),
            report("late", 31, vec![failing("192.0.2.7", 3158)]),
            report("late", 31, vec![]),
        ];
        let domains = vec!["example.org".to_string()];
        let inv = Inventory::default();
        let late = find(
            nov,
            chrono_tz::UTC,
            &earlier,
            &mut published,
            None,
            &domains,
            &inv,
        );
        assert_eq!(late.len(), 1, "{late:?}");
        assert_eq!(late[0].report_id, "late");
        assert_eq!(late[0].period, "2026-10");
        assert_eq!(late[0].messages, 3158);
        assert_eq!(
            late[0].would_raise,
            [
                "RPT-001: 3,158 messages failing DMARC from 1 source no inventory vendor covers (192.0.2.7)"
            ]
        );

        // The next run sees the previous assessment listed it: not again.
        let mut prev = crate::evidence::tests_support::evidence_with(vec![], "2026-11");
        prev.late_reports = late;
        let dec = nov.next();
        let again = find(
            dec,
            chrono_tz::UTC,
            &earlier,
            &mut published,
            Some(&prev),
            &domains,
            &inv,
        );
        assert!(again.is_empty(), "{again:?}");

        // A period never published does not make its reports late.
        let mut nothing = Outputs(BTreeMap::new());
        assert!(
            find(
                nov,
                chrono_tz::UTC,
                &earlier,
                &mut nothing,
                None,
                &domains,
                &inv
            )
            .is_empty()
        );
    }
}

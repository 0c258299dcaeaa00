//! Statistics and checks derived from the period's DMARC aggregate reports (RPT-*, VEN-006).

use super::finding::{Draft, role_impact};
use super::risk::{Level, Severity};
use crate::attribution::{self, Basis};
use crate::config::{DomainConfig, Role};
use crate::evidence::{
    DomainReportStat, Finding, PassRates, ReportStats, ReportSummary, SourceStat, VendorReportStat,
};
use crate::inventory::Inventory;
use crate::reports::model::{ReportSet, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Override reasons that explain a legitimate failure (mail relayed by a third party).
const FORWARDING_REASONS: &[&str] = &["forwarded", "trusted_forwarder", "mailing_list"];

/// The configured domain a header From belongs to (itself or a parent).
pub fn owning_domain<'a>(
    header_from: &str,
    domains: &'a [DomainConfig],
) -> Option<&'a DomainConfig> {
    let from = crate::snapshot::normalize_name(header_from);
    domains
        .iter()
        .filter(|d| from == d.name || from.ends_with(&format!(".{}", d.name)))
        .max_by_key(|d| d.name.len())
}

fn add(r: &mut PassRates, row: &Row) {
    r.messages += row.count;
    if row.reporter_dmarc_pass() {
        r.dmarc_pass += row.count;
    }
    if row.spf_evaluated.is_pass() {
        r.spf_aligned += row.count;
    }
    if row.dkim_evaluated.is_pass() {
        r.dkim_aligned += row.count;
    }
}

#[derive(Default)]
struct SourceAcc {
    messages: u64,
    pass: u64,
    reporters: BTreeSet<String>,
    dispositions: BTreeMap<String, u64>,
    forwarded: u64,
    selectors: BTreeSet<String>,
    envelope: BTreeSet<String>,
    /// Messages whose SPF passed aligned with the From domain.
    spf_aligned: u64,
    /// Domains other than ours for which DKIM or SPF passed: the mark of a real service.
    third_party: BTreeSet<String>,
}

/// What an unattributed source looks like from its authentication results.
#[derive(Debug, PartialEq, Eq)]
enum SourceKind {
    /// A service authenticating as itself or authorized by our SPF: shadow IT (VEN-006).
    Service,
    /// Our own signed mail relayed by a forwarder or list: DKIM survives, SPF does not.
    Forwarder,
    /// No authentication of its own: spoofing (RPT-001).
    Unauthorized,
}

impl SourceAcc {
    /// `authorized`: names our SPF trees include or redirect to. A sender whose own domain shares
    /// a base with one of them is a service we authorized; spoofers often pass SPF or DKIM for a
    /// domain of their own, which alone proves nothing.
    fn kind(&self, authorized: &BTreeSet<String>) -> SourceKind {
        let ours_authorizes = self
            .third_party
            .iter()
            .any(|d| authorized.iter().any(|a| same_base(a, d)));
        if ours_authorizes || self.spf_aligned > 0 {
            SourceKind::Service
        } else if self.forwarded > 0 || self.pass > 0 {
            SourceKind::Forwarder
        } else {
            SourceKind::Unauthorized
        }
    }
}

/// Messages per (configured domain, source IP, header From).
type SourceKey = (String, IpAddr, String);
/// Pass rates, dispositions and reporters for one domain.
type DomainAcc = (PassRates, BTreeMap<String, u64>, BTreeMap<String, u64>);

/// Output of the report stage of the assessment.
pub struct ReportAssessment {
    pub stats: ReportStats,
    pub findings: Vec<Finding>,
    /// Messages per vendor name, and their DMARC pass count.
    pub vendor_volume: BTreeMap<String, (u64, u64)>,
    pub unknown_sources: Vec<SourceStat>,
}

pub fn assess(
    set: &ReportSet,
    domains: &[DomainConfig],
    inv: &Inventory,
    policy_none: &BTreeSet<String>,
    authorized: &BTreeSet<String>,
    period: &crate::period::Period,
) -> ReportAssessment {
    let label = period.month.to_string();
    let mut stats = ReportStats {
        files: set.files.len(),
        accepted: set.reports.len(),
        rejected: set.rejected.clone(),
        duplicates: set.duplicates.len(),
        out_of_period: set.out_of_period,
        ..Default::default()
    };
    let mut per_domain: BTreeMap<String, DomainAcc> = BTreeMap::new();
    let mut per_vendor: BTreeMap<String, PassRates> = BTreeMap::new();
    // (domain, ip, header_from) → accumulated; vendor-attributed failures kept apart.
    let mut unknown: BTreeMap<SourceKey, SourceAcc> = BTreeMap::new();
    let mut vendor_fail: BTreeMap<String, (u64, BTreeSet<String>, Vec<String>)> = BTreeMap::new();
    let mut crossing = 0usize;

    for rep in &set.reports {
        if rep.begin < period.start || rep.end > period.end {
            crossing += 1;
        }
        stats.reports.push(ReportSummary {
            file: rep.origin.file.clone(),
            member: rep.origin.member.clone(),
            org_name: rep.org_name.clone(),
            report_id: rep.report_id.clone(),
            domain: rep.policy.domain.clone(),
            begin: rep.begin,
            end: rep.end,
            records: rep.rows.len(),
            messages: rep.messages(),
            repairs: rep.repairs.clone(),
        });
        for row in &rep.rows {
            add(&mut stats.rates, row);
            stats.messages += row.count;
            let dom = owning_domain(&row.header_from, domains).map(|d| d.name.clone());
            let key = dom.clone().unwrap_or_else(|| {
                format!(
                    "(other) {}",
                    crate::snapshot::normalize_name(&row.header_from)
                )
            });
            let e = per_domain.entry(key).or_default();
            add(&mut e.0, row);
            *e.1.entry(row.disposition.clone()).or_default() += row.count;
            *e.2.entry(rep.org_name.clone()).or_default() += row.count;

            let attributed = attribution::attribute(row, inv);
            if let Some(a) = attributed {
                add(per_vendor.entry(a.vendor.vendor.clone()).or_default(), row);
                if !row.reporter_dmarc_pass() && dom.is_some() {
                    let vf = vendor_fail.entry(a.vendor.vendor.clone()).or_default();
                    vf.0 += row.count;
                    vf.1.insert(rep.org_name.clone());
                    if vf.2.len() < 6 {
                        vf.2.push(describe_row(row, Some(a.basis)));
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
            acc.messages += row.count;
            if row.reporter_dmarc_pass() {
                acc.pass += row.count;
            }
            acc.reporters.insert(rep.org_name.clone());
            *acc.dispositions.entry(row.disposition.clone()).or_default() += row.count;
            if row
                .reasons
                .iter()
                .any(|r| FORWARDING_REASONS.contains(&r.kind.as_str()))
            {
                acc.forwarded += row.count;
            }
            for d in &row.dkim {
                if let Some(s) = &d.selector {
                    acc.selectors.insert(format!("{}/{}", d.domain, s));
                }
            }
            if let Some(env) = &row.envelope_from {
                acc.envelope.insert(env.to_ascii_lowercase());
            }
            if row.spf_evaluated.is_pass() {
                acc.spf_aligned += row.count;
            }
            let from = crate::snapshot::normalize_name(&row.header_from);
            let ours = |d: &str| {
                let d = crate::snapshot::normalize_name(d);
                !d.is_empty()
                    && (d == from
                        || d.ends_with(&format!(".{from}"))
                        || from.ends_with(&format!(".{d}")))
            };
            for sig in row
                .dkim
                .iter()
                .filter(|s| s.result.is_pass() && !ours(&s.domain))
            {
                acc.third_party
                    .insert(crate::snapshot::normalize_name(&sig.domain));
            }
            for spf in row
                .spf
                .iter()
                .filter(|s| s.result.is_pass() && !ours(&s.domain))
            {
                acc.third_party
                    .insert(crate::snapshot::normalize_name(&spf.domain));
            }
        }
    }

    stats.per_domain = per_domain
        .into_iter()
        .map(|(domain, (rates, disp, reps))| DomainReportStat {
            domain,
            rates,
            dispositions: disp.into_iter().collect(),
            reporters: reps.into_iter().collect(),
        })
        .collect();
    let vendor_volume = per_vendor
        .iter()
        .map(|(k, r)| (k.clone(), (r.messages, r.dmarc_pass)))
        .collect();
    stats.per_vendor = per_vendor
        .into_iter()
        .map(|(vendor, rates)| VendorReportStat { vendor, rates })
        .collect();
    stats.counting_rule = format!(
        "A report is counted in full in every period its date range overlaps (report ranges are \
         reporter-chosen, usually 24 hours in UTC, and cannot be split by message). {crossing} of \
         {} accepted reports extend past a boundary of this period ({} to {} UTC).",
        set.reports.len(),
        period.start.format("%Y-%m-%d %H:%M"),
        period.end.format("%Y-%m-%d %H:%M"),
    );

    let mut findings = Vec::new();
    // RPT-000: rejected and duplicated files.
    if !set.rejected.is_empty() || !set.duplicates.is_empty() {
        let share = set.rejected.len() as f64 / set.files.len().max(1) as f64;
        let mut d = Draft::new("RPT-000", "report-inputs")
            .title(format!(
                "{} report file(s) rejected, {} duplicate(s) ignored",
                set.rejected.len(),
                set.duplicates.len()
            ))
            .evidence(format!(
                "{} files read, {} reports accepted, {} rejected ({:.1}%), {} duplicates",
                set.files.len(),
                set.reports.len(),
                set.rejected.len(),
                share * 100.0,
                set.duplicates.len()
            ));
        if share > 0.05 {
            d = d.severity(Severity::High).likelihood(Level::High);
        }
        d = d.evidence_all(
            set.rejected
                .iter()
                .take(20)
                .map(|r| format!("rejected {}: {}", r.file, r.reason)),
        );
        d = d.evidence_all(set.duplicates.iter().take(10).map(|x| {
            format!(
                "duplicate {} (reporter {}, id {}) of {}",
                x.origin, x.org_name, x.report_id, x.kept
            )
        }));
        findings.push(d.build(&label));
    }

    // RPT-002: vendor failing alignment.
    for (vendor, (msgs, reporters, samples)) in &vendor_fail {
        let v = inv.vendors.iter().find(|v| &v.vendor == vendor);
        let phi = v.and_then(|v| v.phi).unwrap_or(false);
        let mut d = Draft::new("RPT-002", vendor.clone())
            .title(format!("{vendor}: {msgs} messages failed DMARC alignment"))
            .evidence(format!(
                "{msgs} messages failing DMARC, reported by {}",
                join(reporters)
            ))
            .evidence_all(samples.iter().cloned());
        if !phi {
            d = d.impact(Level::Moderate).severity(Severity::Medium);
        } else {
            d = d.evidence("vendor is flagged phi=yes in the inventory");
        }
        if let Some(v) = v {
            d = d.domain(v.domains.first().map(String::as_str).unwrap_or_default());
        }
        findings.push(d.build(&label));
    }

    // RPT-001 (failing, unknown, not forwarded) and VEN-006 (unknown but passing).
    let mut spoof: BTreeMap<String, Vec<(&SourceKey, &SourceAcc)>> = BTreeMap::new();
    let mut shadow: BTreeMap<String, Vec<(&SourceKey, &SourceAcc)>> = BTreeMap::new();
    let mut unknown_sources = Vec::new();
    for (k, acc) in &unknown {
        unknown_sources.push(SourceStat {
            source_ip: k.1.to_string(),
            vendor: None,
            header_from: k.2.clone(),
            messages: acc.messages,
            dmarc_pass: acc.pass,
            reporters: acc.reporters.iter().cloned().collect(),
        });
        match acc.kind(authorized) {
            SourceKind::Service => {
                let group = acc
                    .third_party
                    .iter()
                    .find(|d| authorized.iter().any(|a| same_base(a, d)))
                    .map(|d| base(d).to_string())
                    .unwrap_or_else(|| network_of(k.1));
                shadow.entry(group).or_default().push((k, acc));
            }
            SourceKind::Unauthorized => spoof.entry(k.0.clone()).or_default().push((k, acc)),
            SourceKind::Forwarder => {}
        }
    }
    unknown_sources.sort_by(|a, b| {
        b.messages
            .cmp(&a.messages)
            .then(a.source_ip.cmp(&b.source_ip))
    });
    for (domain, mut srcs) in spoof {
        srcs.sort_by_key(|s| std::cmp::Reverse(s.1.messages));
        let total: u64 = srcs.iter().map(|(_, a)| a.messages - a.pass).sum();
        let role = domains
            .iter()
            .find(|d| d.name == domain)
            .map(|d| d.role)
            .unwrap_or(Role::Workforce);
        let mut d = Draft::new("RPT-001", domain.clone())
            .domain(&domain)
            .title(format!(
                "{total} messages from {} unauthorized source(s) claimed to be from {domain}",
                srcs.len()
            ))
            .likelihood(Level::VeryHigh)
            .impact(role_impact(role, Level::High));
        if policy_none.contains(&domain) {
            d = d.severity(Severity::Critical).evidence(format!(
                "{domain} publishes p=none: receivers were asked to deliver this mail"
            ));
        }
        d = d.evidence_all(srcs.iter().take(10).map(|(k, a)| {
            format!(
                "{} sent {} failing message(s) as {} (reporters: {}; dispositions: {})",
                k.1,
                a.messages - a.pass,
                k.2,
                join(&a.reporters),
                a.dispositions
                    .iter()
                    .map(|(d, n)| format!("{d} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
        if srcs.len() > 10 {
            d = d.evidence(format!("… and {} more sources", srcs.len() - 10));
        }
        findings.push(d.build(&label));
    }
    for (net, srcs) in shadow {
        let total: u64 = srcs.iter().map(|(_, a)| a.messages).sum();
        let passing: u64 = srcs.iter().map(|(_, a)| a.pass).sum();
        let services: BTreeSet<String> = srcs
            .iter()
            .flat_map(|(_, a)| a.third_party.iter().cloned())
            .collect();
        let hints: BTreeSet<String> = srcs
            .iter()
            .flat_map(|(_, a)| a.selectors.iter().chain(a.envelope.iter()).cloned())
            .collect();
        let doms: BTreeSet<String> = srcs.iter().map(|(k, _)| k.0.clone()).collect();
        let mut d = Draft::new("VEN-006", net.clone())
            .title(format!(
                "{total} messages from {net}, a sender that matches no inventory vendor"
            ))
            .evidence(format!(
                "sending as {}; {passing} of {total} messages passed DMARC",
                join(&doms)
            ))
            .evidence_all(srcs.iter().take(8).map(|(k, a)| {
                format!(
                    "{} sent {} passing message(s) as {} (reporters: {})",
                    k.1,
                    a.pass,
                    k.2,
                    join(&a.reporters)
                )
            }));
        if doms.len() == 1
            && let Some(dn) = doms.iter().next()
        {
            d = d.domain(dn);
        }
        if !services.is_empty() {
            d = d.evidence(format!(
                "authenticates as {} and our SPF authorizes that provider: a real service, not a spoofer",
                join(&services)
            ));
        }
        if !hints.is_empty() {
            d = d.evidence(format!(
                "DKIM signatures / envelope domains seen: {}",
                join(&hints)
            ));
        }
        findings.push(d.build(&label));
    }

    stats.top_failing = unknown_sources
        .iter()
        .filter(|s| s.messages > s.dmarc_pass)
        .take(15)
        .cloned()
        .collect();
    ReportAssessment {
        stats,
        findings,
        vendor_volume,
        unknown_sources,
    }
}

fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

fn join<'a>(it: impl IntoIterator<Item = &'a String>) -> String {
    it.into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_row(row: &Row, basis: Option<Basis>) -> String {
    let dkim = row
        .dkim
        .iter()
        .map(|d| {
            format!(
                "dkim d={} s={} {:?}",
                d.domain,
                d.selector.as_deref().unwrap_or("-"),
                d.result
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let spf = row
        .spf
        .iter()
        .map(|s| format!("spf {} {:?}", s.domain, s.result))
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "{} × {} from {} ({}{}{}){}",
        row.count,
        row.header_from,
        row.source_ip,
        dkim,
        if dkim.is_empty() || spf.is_empty() {
            ""
        } else {
            "; "
        },
        spf,
        basis
            .map(|b| format!(" [matched: {}]", b.label()))
            .unwrap_or_default()
    )
    .replace("Pass", "pass")
    .replace("Fail", "fail")
}

pub(crate) fn rate(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The last two labels of a name: the provider a host name belongs to, for grouping.
fn base(n: &str) -> &str {
    let mut dots = n.rmatch_indices('.');
    dots.next();
    match dots.next() {
        Some((i, _)) => &n[i + 1..],
        None => n,
    }
}

/// Whether two names share their last two labels (`spf.vendor.example` ~ `vendor.example`).
fn same_base(a: &str, b: &str) -> bool {
    base(a) == base(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DomainConfig;
    use crate::period::{Month, Period};
    use crate::reports::model::*;

    fn row(
        ip: &str,
        dkim: Option<(&str, AuthResult)>,
        spf: (&str, AuthResult),
        eval_dkim: AuthResult,
        reason: Option<&str>,
    ) -> Row {
        Row {
            source_ip: ip.parse().unwrap(),
            count: 10,
            disposition: "none".into(),
            dkim_evaluated: eval_dkim,
            spf_evaluated: AuthResult::Fail,
            reasons: reason
                .map(|r| {
                    vec![OverrideReason {
                        kind: r.into(),
                        comment: None,
                    }]
                })
                .unwrap_or_default(),
            header_from: "portal.example".into(),
            envelope_from: None,
            envelope_to: None,
            dkim: dkim
                .map(|(d, r)| {
                    vec![DkimAuth {
                        domain: d.into(),
                        selector: Some("s".into()),
                        result: r,
                    }]
                })
                .unwrap_or_default(),
            spf: vec![SpfAuth {
                domain: spf.0.into(),
                scope: None,
                result: spf.1,
            }],
        }
    }

    #[test]
    fn spoofers_services_and_forwarders_are_told_apart() {
        let period = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let t = period.start + chrono::Duration::days(3);
        let report = AggregateReport {
            origin: Origin {
                file: "r.xml".into(),
                member: None,
            },
            schema: "1.0".into(),
            org_name: "google.com".into(),
            email: None,
            report_id: "1".into(),
            begin: t,
            end: t + chrono::Duration::days(1),
            policy: PolicyPublished {
                domain: "portal.example".into(),
                ..Default::default()
            },
            rows: vec![
                // A phisher with SPF and DKIM for its own domain: still unauthorized.
                row(
                    "192.0.2.1",
                    Some(("phish.example", AuthResult::Pass)),
                    ("phish.example", AuthResult::Pass),
                    AuthResult::Fail,
                    None,
                ),
                // A survey tool our SPF includes, signing as itself: shadow IT.
                row(
                    "198.51.100.7",
                    Some(("surveytool.example", AuthResult::Pass)),
                    ("bounce.surveytool.example", AuthResult::Pass),
                    AuthResult::Fail,
                    None,
                ),
                // Our signed mail through a mailing list.
                row(
                    "203.0.113.9",
                    Some(("portal.example", AuthResult::Pass)),
                    ("portal.example", AuthResult::Fail),
                    AuthResult::Pass,
                    Some("mailing_list"),
                ),
            ],
            repairs: vec![],
            xml_sha256: "x".into(),
        };
        let set = ReportSet {
            reports: vec![report],
            ..Default::default()
        };
        let domains = vec![DomainConfig {
            name: "portal.example".into(),
            role: crate::config::Role::Patient,
            selectors: vec![],
        }];
        let authorized: BTreeSet<String> = ["spf.surveytool.example".to_string()].into();
        let none: BTreeSet<String> = ["portal.example".to_string()].into();
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            &none,
            &authorized,
            &period,
        );
        let by: Vec<(&str, &str)> = out
            .findings
            .iter()
            .map(|f| (f.check.as_str(), f.subject.as_str()))
            .collect();
        assert_eq!(
            by,
            vec![
                ("RPT-001", "portal.example"),
                ("VEN-006", "surveytool.example")
            ]
        );
        let rpt = &out.findings[0];
        assert_eq!(
            rpt.severity,
            Severity::Critical,
            "p=none makes spoofing critical"
        );
        assert!(rpt.evidence.iter().any(|e| e.contains("192.0.2.1")));
        assert!(
            !rpt.evidence.iter().any(|e| e.contains("203.0.113.9")),
            "forwarder counted as spoofing"
        );
        assert_eq!(out.stats.messages, 30);
        assert_eq!(out.stats.rates.dmarc_pass, 10);
    }
}

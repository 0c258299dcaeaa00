//! Statistics and checks derived from the period's DMARC aggregate reports (RPT-*, VEN-006).

use super::basis::Reach;
use super::finding::Draft;
use super::risk::{Level, Severity};
use crate::attribution::{self, Basis};
use crate::config::DomainConfig;
use crate::evidence::{
    DomainReportStat, Finding, PassRates, ReportStats, ReportSummary, SourceStat, VendorReportStat,
};
use crate::inventory::Inventory;
use crate::reports::align;
use crate::reports::model::{AuthResult, ReportSet, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

mod bulk;
mod detail;
mod dkim_failures;
mod gaps;
mod input_files;
mod overrides;
mod pass_rate;
mod published;
pub use published::PolicyView;
mod senders;
use senders::{SourceAcc, SourceKind};
mod spf_errors;
use detail::*;
mod tally;
use tally::Tally;
mod unknown_sources;
mod vendor_alignment;

/// What every check of the reports reads besides the tally: the inputs, the inventory, what
/// the DNS snapshot says, and the period's label.
#[derive(Clone, Copy)]
struct Checks<'a> {
    set: &'a ReportSet,
    domains: &'a [DomainConfig],
    inv: &'a Inventory,
    facts: DnsFacts<'a>,
    label: &'a str,
    policy: &'a crate::config::PolicyConfig,
    ptr: &'a PtrNames,
}

/// Sources listed per domain or vendor in the detail tables.
const TOP_SOURCES: usize = 10;

/// Override reasons that explain a legitimate failure (mail relayed by a third party).
const FORWARDING_REASONS: &[&str] = &["forwarded", "trusted_forwarder", "mailing_list"];

/// What every forged-mail finding (RPT-001) asks first, whatever else its remediation says.
pub const INCIDENT: &str = "Record it in the security incident log as attempted impersonation, with the organization's decision on whether it meets §164.304's definition of a security incident (§164.308(a)(6)(ii)), and confirm the sources are not an unlisted vendor.";

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

/// Messages per (configured domain, source IP, header From).
type SourceKey = (String, IpAddr, String);
/// What an inventory vendor's failing rows add up to this period.
#[derive(Default)]
struct VendorFail {
    messages: u64,
    rows: usize,
    reporters: BTreeSet<String>,
    samples: Vec<String>,
    /// Messages in the rows not sampled.
    left_out: u64,
    /// Failing messages whose SPF check of one of our domains ended in permerror/temperror.
    spf_error: u64,
    spf_error_domain: Option<String>,
    /// A MAIL FROM under one of our domains whose SPF result was `none`: it has no SPF record.
    spf_none_ours: Option<String>,
    /// What receivers did with the failing messages (`none`, `quarantine`, `reject`).
    dispositions: BTreeMap<String, u64>,
}

/// Pass rates, dispositions and reporters for one domain.
type DomainAcc = (PassRates, BTreeMap<String, u64>, BTreeMap<String, u64>);

/// Output of the report stage of the assessment.
pub struct ReportAssessment {
    pub stats: ReportStats,
    pub findings: Vec<Finding>,
    /// Messages per vendor name, and their DMARC pass count.
    pub vendor_volume: BTreeMap<String, (u64, u64)>,
    pub unknown_sources: Vec<SourceStat>,
    /// Messages per configured domain whose SPF check was of that domain's own record: whether
    /// anything in the period depended on it.
    pub spf_checked: BTreeMap<String, u64>,
    /// Of those, the messages whose SPF check of that record ended in permerror or temperror.
    pub spf_errors: BTreeMap<String, u64>,
    /// The SPF (MAIL FROM) domains receivers checked for each inventory vendor's mail.
    pub vendor_spf: BTreeMap<String, BTreeSet<String>>,
    /// Statistics beyond [`ReportStats`] (recomputed alignment, reasons, daily series,
    /// grouped unknown sources), for the evidence JSON and the PDF.
    pub detail: ReportDetail,
}

// The detail types are part of the evidence document; they live with it.
pub use crate::evidence::report_detail::{
    DayPoint, DomainDetail, ReportDetail, SourceGroup, VendorDetail,
};

/// Unattributed source groups kept in the evidence; the rest are summed into one line.
pub const MAX_SOURCE_GROUPS: usize = 200;

/// A merged row with what the loop derives from it.
struct MergedView<'a> {
    row: &'a Row,
    reporters: &'a [(&'a str, u64)],
    verdict: align::Verdict,
}

/// Reverse-DNS names known for source IPs (from a capture that resolved them); empty when
/// none were looked up.
pub type PtrNames = BTreeMap<IpAddr, String>;

/// What the DNS snapshot tells the report checks.
#[derive(Clone, Copy)]
pub struct DnsFacts<'a> {
    /// Configured domains whose DMARC policy is none (or missing): spoofing there is Critical.
    pub policy_none: &'a BTreeSet<String>,
    /// Names our SPF records include or redirect to.
    pub authorized: &'a BTreeSet<String>,
    /// Organizational domains found by the DMARC tree walk, for alignment.
    pub org_domains: &'a BTreeSet<String>,
    /// Each configured domain's SPF tree as the posture shows it (one term per line): whether
    /// a vendor is authorized at all.
    pub spf_trees: &'a BTreeMap<String, Vec<String>>,
    /// Configured domains whose own SPF record cannot authorize anyone now (`permerror`,
    /// `multiple`), with that status: a MAIL FROM of that very domain fails SPF until fixed.
    pub spf_broken: &'a BTreeMap<String, String>,
    /// `domain/selector` pairs of ours the snapshot found published: a failing signature under
    /// one of them is our own mail altered in transit, under any other a forgery.
    pub known_selectors: &'a BTreeSet<String>,
    /// Each configured domain's DMARC policy in this period's snapshot and in the one before:
    /// what receivers should have seen (RPT-007).
    pub dmarc_now: &'a BTreeMap<String, PolicyView>,
    pub dmarc_before: &'a BTreeMap<String, PolicyView>,
    /// Configured domains whose DMARC record asks for aggregate reports (RPT-008), now and in
    /// the previous snapshot (`None` without one): a rua added during the period does not
    /// make its first weeks silent.
    pub rua_now: &'a BTreeSet<String>,
    pub rua_before: Option<&'a BTreeSet<String>>,
    /// Each configured domain's DMARC status as the posture read it (`found`, `missing`,
    /// `multiple`, `incomplete`, …); empty without a snapshot.
    pub dmarc_status: &'a BTreeMap<String, String>,
    /// Each configured domain's SPF status as the posture read it (`found`, `permerror`,
    /// `multiple`, `missing`, …): the bulk-sender rules ask for a working record.
    pub spf_status: &'a BTreeMap<String, String>,
    /// Reverse DNS of the report sources the snapshot asked about (BULK-003).
    pub reverse_dns: &'a BTreeMap<IpAddr, crate::snapshot::ReverseDns>,
}

impl DnsFacts<'static> {
    /// What the checks know without a DNS snapshot: nothing. Every fact is empty, so no check
    /// reads a missing snapshot as a missing record.
    pub fn without_snapshot() -> DnsFacts<'static> {
        static SET: std::sync::LazyLock<BTreeSet<String>> = std::sync::LazyLock::new(BTreeSet::new);
        static TREES: std::sync::LazyLock<BTreeMap<String, Vec<String>>> =
            std::sync::LazyLock::new(BTreeMap::new);
        static WORDS: std::sync::LazyLock<BTreeMap<String, String>> =
            std::sync::LazyLock::new(BTreeMap::new);
        static POLICIES: std::sync::LazyLock<BTreeMap<String, PolicyView>> =
            std::sync::LazyLock::new(BTreeMap::new);
        static REVERSE: std::sync::LazyLock<BTreeMap<IpAddr, crate::snapshot::ReverseDns>> =
            std::sync::LazyLock::new(BTreeMap::new);
        DnsFacts {
            policy_none: &SET,
            authorized: &SET,
            org_domains: &SET,
            spf_trees: &TREES,
            spf_broken: &WORDS,
            known_selectors: &SET,
            dmarc_now: &POLICIES,
            dmarc_before: &POLICIES,
            rua_now: &SET,
            rua_before: None,
            dmarc_status: &WORDS,
            spf_status: &WORDS,
            reverse_dns: &REVERSE,
        }
    }
}

pub fn assess(
    set: &ReportSet,
    domains: &[DomainConfig],
    inv: &Inventory,
    facts: DnsFacts<'_>,
    period: &crate::period::Period,
) -> ReportAssessment {
    assess_with_ptr(
        set,
        domains,
        inv,
        facts,
        period,
        &PtrNames::new(),
        &crate::config::PolicyConfig::default(),
    )
}

/// [`assess`] with known reverse-DNS names, which enable `ptr_suffixes` attribution and the
/// grouping of unknown sources by reverse-DNS base domain.
pub fn assess_with_ptr(
    set: &ReportSet,
    domains: &[DomainConfig],
    inv: &Inventory,
    facts: DnsFacts<'_>,
    period: &crate::period::Period,
    ptr: &PtrNames,
    policy: &crate::config::PolicyConfig,
) -> ReportAssessment {
    let DnsFacts { org_domains, .. } = facts;
    let label = period.month.to_string();
    let mut stats = ReportStats {
        files: set.files.len(),
        accepted: set.reports.len(),
        rejected: set.rejected.clone(),
        duplicates: set.duplicates.len(),
        out_of_period: set.out_of_period,
        straddling_elsewhere: set.straddling_elsewhere,
        ..Default::default()
    };
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
            records: rep.record_count(),
            messages: rep.messages(),
            repairs: rep.repairs.clone(),
        });
    }
    // Organizational-domain hints for alignment, from our own evidence only: configured domains
    // and the organizational domains the DMARC tree walk found. Never from report content.
    let mut hint_set: BTreeSet<&str> = domains.iter().map(|d| d.name.as_str()).collect();
    hint_set.extend(org_domains.iter().map(String::as_str));
    let hints: Vec<&str> = hint_set.into_iter().collect();
    // A selector is ours when the snapshot found it published, or when a signature under it
    // verified at some receiver this period (only a published key verifies).
    let mut known_selectors = facts.known_selectors.clone();
    for m in &set.aggregate.rows {
        for sig in m.row.dkim.iter().filter(|s| s.result.is_pass()) {
            known_selectors.insert(format!(
                "{}/{}",
                crate::snapshot::normalize_name(&sig.domain),
                sig.selector.as_deref().unwrap_or("").to_ascii_lowercase()
            ));
        }
    }
    // Selectors our own senders use: the configuration's and the inventory vendors'.
    let mut claimed_selectors: BTreeSet<String> = domains
        .iter()
        .flat_map(|d| {
            d.selectors
                .iter()
                .map(move |s| format!("{}/{}", d.name, s.to_ascii_lowercase()))
        })
        .collect();
    for v in &inv.vendors {
        let signing = if v.dkim_domains.is_empty() {
            &v.domains
        } else {
            &v.dkim_domains
        };
        for d in signing {
            for s in &v.dkim_selectors {
                claimed_selectors.insert(format!(
                    "{}/{}",
                    crate::snapshot::normalize_name(d),
                    s.to_ascii_lowercase()
                ));
            }
        }
    }
    let Tally {
        per_domain,
        per_vendor,
        unknown,
        vendor_fail,
        spf_checked,
        spf_errors,
        vendor_spf,
        mut detail,
        domain_detail,
        vendor_detail,
        unattributed,
        own_dkim,
    } = tally::rows(
        set,
        domains,
        inv,
        ptr,
        &hints,
        (&known_selectors, &claimed_selectors),
        &mut stats,
    );

    finish_detail(
        &mut detail,
        domain_detail,
        vendor_detail,
        &unattributed,
        set,
        domains,
        ptr,
    );

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
        "Each report counts toward exactly one period: the one containing the midpoint of its \
         date range (report ranges are reporter-chosen, usually 24 hours in UTC, and cannot be \
         split by message), so consecutive months add up and no report is counted twice. \
         {crossing} of the {} reports counted here extend past a boundary of this period ({} to \
         {} UTC); {} counted in the neighbouring period.",
        set.reports.len(),
        period.start.format("%Y-%m-%d %H:%M"),
        period.end.format("%Y-%m-%d %H:%M"),
        if set.straddling_elsewhere == 1 {
            "1 report that shares time with it was".to_string()
        } else {
            format!(
                "{} reports that share time with it were",
                set.straddling_elsewhere
            )
        },
    );

    let cx = Checks {
        set,
        domains,
        inv,
        facts,
        label: &label,
        policy,
        ptr,
    };
    let mut findings: Vec<Finding> = input_files::rejected_and_duplicates(&cx)
        .into_iter()
        .collect();
    findings.extend(vendor_alignment::failing_vendors(&cx, &vendor_fail));
    findings.extend(dkim_failures::own_signatures_failing(&cx, &own_dkim));
    findings.extend(spf_errors::own_record_errors(
        &cx,
        &spf_checked,
        &spf_errors,
    ));
    let verdicts = senders::verdicts(&cx, &unknown);
    let (unknown_findings, unknown_sources) =
        unknown_sources::classify(&cx, &unknown, &verdicts, &vendor_fail);
    findings.extend(unknown_findings);

    findings.extend(published::checks(&cx, &unknown, &verdicts));
    findings.extend(gaps::silent_domains(&cx, period));
    findings.extend(pass_rate::below_threshold(&cx));
    findings.extend(bulk::bulk_sender_rules(&cx));
    findings.extend(bulk::senders_without_reverse_dns(&cx));
    findings.extend(overrides::receiver_overrides(
        &cx,
        &detail,
        &stats.per_domain,
    ));
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
        spf_checked,
        spf_errors,
        vendor_spf,
        detail,
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
                "dkim d={} s={} {}",
                d.domain,
                d.selector.as_deref().unwrap_or("-"),
                d.result.word()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let spf = row
        .spf
        .iter()
        .map(|s| format!("spf {} {}", s.domain, s.result.word()))
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

/// The registrable domain of a name (Public Suffix List): the provider a host name belongs to,
/// for grouping.
pub(crate) fn base(n: &str) -> &str {
    crate::suffix::registrable(n)
}

/// Whether two names have the same registrable domain (`spf.vendor.example` ~
/// `vendor.example`, but not `a.github.io` ~ `b.github.io`).
fn same_base(a: &str, b: &str) -> bool {
    crate::suffix::same_organization(a, b)
}

/// One report as the parser hands it over (rows not yet folded), for the tests of this
/// module's checks.
/// Reports folded into one period's set, as ingestion folds them, for the tests.
#[cfg(test)]
fn test_set(mut reports: Vec<crate::reports::model::AggregateReport>) -> ReportSet {
    let mut builder = crate::reports::aggregate::AggregateBuilder::new();
    for r in &mut reports {
        builder.fold(r, chrono_tz::UTC);
    }
    ReportSet {
        reports,
        aggregate: builder.finish(),
        ..Default::default()
    }
}

/// An inventory of one vendor sending as `domain` from `range`, for the tests.
#[cfg(test)]
fn test_inventory(vendor: &str, domain: &str, range: &str) -> Inventory {
    Inventory {
        vendors: vec![crate::inventory::Vendor {
            line: 2,
            vendor: vendor.into(),
            domains: vec![domain.into()],
            ip_ranges: range.parse().into_iter().collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[cfg(test)]
fn test_report(
    org: &str,
    id: &str,
    policy: crate::reports::model::PolicyPublished,
    range: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    rows: Vec<Row>,
) -> crate::reports::model::AggregateReport {
    crate::reports::model::AggregateReport {
        origin: crate::reports::model::Origin {
            file: format!("{id}.xml"),
            member: None,
        },
        schema: "1.0".into(),
        org_name: org.into(),
        email: None,
        report_id: id.into(),
        begin: range.0,
        end: range.1,
        policy,
        records: rows.len(),
        message_count: rows.iter().map(|r| r.count).sum(),
        rows,
        repairs: vec![],
        xml_sha256: format!("sha-{org}-{id}"),
        org_from_file_name: false,
        skipped_records: 0,
        generator: None,
        extensions: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DomainConfig;
    use crate::period::{Month, Period};
    use crate::reports::model::*;

    fn october() -> Period {
        Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        )
    }

    /// One report of one day starting at `t`, folded into a set as ingestion would.
    fn report_set(
        org: &str,
        id: &str,
        policy_domain: &str,
        rows: Vec<Row>,
        t: chrono::DateTime<chrono::Utc>,
    ) -> ReportSet {
        let report = test_report(
            org,
            id,
            PolicyPublished {
                domain: policy_domain.into(),
                ..Default::default()
            },
            (t, t + chrono::Duration::days(1)),
            rows,
        );
        test_set(vec![report])
    }

    fn portal() -> Vec<DomainConfig> {
        vec![DomainConfig {
            name: "portal.example".into(),
            role: crate::config::Role::Patient,
            selectors: vec![],
            owner: None,
        }]
    }

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
                        human_result: None,
                    }]
                })
                .unwrap_or_default(),
            spf: vec![SpfAuth {
                domain: spf.0.into(),
                scope: None,
                result: spf.1,
                human_result: None,
            }],
        }
    }

    /// RPT-009: our own MAIL FROM checked against our record and erring, cross-checked with
    /// what the snapshot says of the record; a stray temperror below 1% is not a finding.
    #[test]
    fn own_spf_errors_at_receivers_are_rpt_009() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        let mut rows = vec![
            row(
                "192.0.2.10",
                Some(("portal.example", AuthResult::Pass)),
                ("portal.example", AuthResult::Permerror),
                AuthResult::Pass,
                None,
            ),
            row(
                "192.0.2.11",
                Some(("portal.example", AuthResult::Pass)),
                ("portal.example", AuthResult::Pass),
                AuthResult::Pass,
                None,
            ),
        ];
        rows[1].count = 30;
        let set = report_set("google.com", "9", "portal.example", rows.clone(), t);
        let domains = portal();
        let broken: BTreeMap<String, String> =
            [("portal.example".to_string(), "permerror".to_string())].into();
        let working = BTreeMap::<String, String>::new();
        let facts = |spf_broken| DnsFacts {
            spf_broken,
            ..DnsFacts::without_snapshot()
        };
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            facts(&broken),
            &period,
        );
        let f = out
            .findings
            .iter()
            .find(|f| f.check == "RPT-009")
            .expect("RPT-009");
        assert_eq!(f.subject, "portal.example");
        assert!(f.title.contains("10 messages (25.0%"), "{}", f.title);
        assert!(
            f.evidence[0].starts_with("10 of 40 messages"),
            "{:?}",
            f.evidence
        );
        assert!(f.evidence[1].contains("fails the same way (permerror)"));
        // The record evaluates now: the finding says the errors came from before.
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            facts(&working),
            &period,
        );
        let f = out.findings.iter().find(|f| f.check == "RPT-009").unwrap();
        assert!(f.evidence[1].contains("evaluates now"));
        // One erring message in a thousand is a receiver's DNS, not the record.
        rows[0].count = 1;
        rows[1].count = 999;
        let set = report_set("google.com", "10", "portal.example", rows, t);
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            facts(&broken),
            &period,
        );
        assert!(!out.findings.iter().any(|f| f.check == "RPT-009"));
    }

    /// RPT-010: a vendor's signatures with our key that receivers found broken, all of them
    /// (the key does not match) or some (mail altered after signing); our own DKIM-less or
    /// passing mail raises nothing.
    #[test]
    fn vendor_signatures_with_our_key_failing_are_rpt_010() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        let mut failing = row(
            "198.51.100.20",
            Some(("portal.example", AuthResult::Fail)),
            ("bounce.mailer.example", AuthResult::Pass),
            AuthResult::Fail,
            None,
        );
        failing.dkim[0].selector = Some("mlr1".into());
        let mut passing = failing.clone();
        passing.dkim[0].result = AuthResult::Pass;
        passing.count = 30;
        let inv = Inventory {
            vendors: vec![crate::inventory::Vendor {
                line: 2,
                vendor: "Mailer".into(),
                service: "appointment mail".into(),
                domains: vec!["portal.example".into()],
                spf_includes: vec![],
                dkim_selectors: vec!["mlr1".into()],
                dkim_domains: vec![],
                ip_ranges: vec!["198.51.100.0/24".parse().unwrap()],
                ptr_suffixes: vec![],
                phi: Some(false),
                baa: None,
                baa_expires: None,
                owner: String::new(),
                ended: false,
                ended_on: None,
                notes: String::new(),
                incomplete: vec![],
                unreadable: vec![],
            }],
            ..Default::default()
        };
        let broken = BTreeMap::<String, String>::new();
        let facts = DnsFacts {
            spf_broken: &broken,
            ..DnsFacts::without_snapshot()
        };
        let run = |rows: Vec<Row>| {
            let set = report_set("google.com", "11", "portal.example", rows, t);
            assess(&set, &portal(), &inv, facts, &period).findings
        };
        let some = run(vec![failing.clone(), passing.clone()]);
        let f = some.iter().find(|f| f.check == "RPT-010").expect("RPT-010");
        assert_eq!(f.subject, "mlr1._domainkey.portal.example");
        assert!(f.title.contains("10 of 40 messages"), "{}", f.title);
        assert!(f.evidence[1].contains("altered after signing"));
        let all = run(vec![failing]);
        let f = all.iter().find(|f| f.check == "RPT-010").unwrap();
        assert!(f.evidence[1].contains("not the one the vendor signs with"));
        assert!(!run(vec![passing]).iter().any(|f| f.check == "RPT-010"));
    }

    /// RPT-006: overrides counted against the failing mail, each reason explained; a domain
    /// whose failing mail nobody overrode raises nothing.
    #[test]
    fn receiver_overrides_are_rpt_006() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        let listed = row(
            "203.0.113.9",
            Some(("portal.example", AuthResult::Fail)),
            ("lists.example", AuthResult::Pass),
            AuthResult::Fail,
            Some("mailing_list"),
        );
        let mut local = row(
            "192.0.2.77",
            None,
            ("elsewhere.example", AuthResult::Pass),
            AuthResult::Fail,
            Some("local_policy"),
        );
        local.count = 30;
        let mut plain = local.clone();
        plain.reasons.clear();
        plain.count = 60;
        let broken = BTreeMap::<String, String>::new();
        let facts = DnsFacts {
            spf_broken: &broken,
            ..DnsFacts::without_snapshot()
        };
        let run = |rows: Vec<Row>| {
            let set = report_set("google.com", "12", "portal.example", rows, t);
            assess(&set, &portal(), &Inventory::default(), facts, &period).findings
        };
        let found = run(vec![listed, local, plain.clone()]);
        let f = found
            .iter()
            .find(|f| f.check == "RPT-006")
            .expect("RPT-006");
        assert!(
            f.title
                .contains("for 40 messages (40.0% of the 100 messages"),
            "{}",
            f.title
        );
        assert!(f.evidence.iter().any(|e| e.starts_with("local_policy: 30")));
        assert!(f.evidence.iter().any(|e| e.contains("delivered although")));
        assert_eq!(f.severity, Severity::Info);
        assert!(!run(vec![plain]).iter().any(|f| f.check == "RPT-006"));
    }

    #[test]
    fn spoofers_services_and_forwarders_are_told_apart() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        let set = report_set(
            "google.com",
            "1",
            "portal.example",
            vec![
                // A phisher passing SPF for its own domain, signing nothing: still spoofing.
                row(
                    "192.0.2.1",
                    None,
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
            t,
        );
        let domains = portal();
        let authorized: BTreeSet<String> = ["spf.surveytool.example".to_string()].into();
        let none: BTreeSet<String> = ["portal.example".to_string()].into();
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            DnsFacts {
                policy_none: &none,
                authorized: &authorized,
                ..DnsFacts::without_snapshot()
            },
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
                ("VEN-006", "surveytool.example"),
                // The mailing list's override of the policy for our signed mail.
                ("RPT-006", "portal.example")
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

        // Recomputed alignment agrees with the reporter here.
        let d = &out.detail;
        assert_eq!(d.recomputed.messages, 30);
        assert_eq!(d.recomputed.dmarc_pass, 10);
        assert_eq!(d.recomputed.dkim_aligned, 10);
        assert_eq!(d.disagreements, 0);
        assert_eq!((d.source_rows, d.distinct_rows), (3, 3));
        let dom = &d.per_domain[0];
        assert_eq!(dom.domain, "portal.example");
        assert_eq!(dom.reasons, vec![("mailing_list".to_string(), 10)]);
        assert_eq!(dom.daily.len(), 1);
        assert_eq!(dom.daily[0].messages, 30);
        assert_eq!(dom.daily[0].day, "2026-10-04");
        let failing: Vec<&str> = dom
            .top_failing
            .iter()
            .map(|s| s.source_ip.as_str())
            .collect();
        assert_eq!(failing, vec!["192.0.2.1", "198.51.100.7"]);
        let nets: Vec<(&str, u64)> = d
            .unattributed_networks
            .iter()
            .map(|g| (g.group.as_str(), g.messages))
            .collect();
        assert_eq!(
            nets,
            vec![
                ("192.0.2.0/24", 10),
                ("198.51.100.0/24", 10),
                ("203.0.113.0/24", 10)
            ]
        );
        assert!(d.unattributed_ptr.is_empty(), "no PTR names known");
    }

    #[test]
    fn a_strangers_report_cannot_move_our_totals_or_alignment() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        // A spoofed row whose DKIM passes for the attacker's domain, published under a policy
        // domain of "example" (a top-level name), plus a row about a domain we do not own.
        let mut spoof = row(
            "192.0.2.1",
            Some(("attacker.example", AuthResult::Pass)),
            ("attacker.example", AuthResult::Pass),
            AuthResult::Fail,
            None,
        );
        spoof.dkim_evaluated = AuthResult::Fail;
        let mut other = row(
            "192.0.2.3",
            None,
            ("elsewhere.example", AuthResult::Pass),
            AuthResult::Fail,
            None,
        );
        other.header_from = "elsewhere.example".into();
        other.spf_evaluated = AuthResult::Pass;
        let set = report_set("evil.example", "e1", "example", vec![spoof, other], t);
        let domains = portal();
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            DnsFacts {
                ..DnsFacts::without_snapshot()
            },
            &period,
        );
        assert_eq!(
            out.stats.messages, 10,
            "a row about elsewhere.example counted in our totals"
        );
        assert_eq!(out.detail.recomputed.messages, 10);
        assert_eq!(
            out.detail.recomputed.dmarc_pass, 0,
            "the attacker's signature was taken as aligned"
        );
        assert!(
            out.stats
                .per_domain
                .iter()
                .any(|d| d.domain == "(other) elsewhere.example")
        );
    }

    #[test]
    fn lenient_reporter_verdicts_are_counted_and_ptr_groups_sources() {
        let period = october();
        let t = period.start + chrono::Duration::days(10);
        // The reporter says DKIM passed aligned, but the only passing signature is the
        // forwarder's own domain: mailproof disagrees.
        let lenient = row(
            "192.0.2.50",
            Some(("list.example", AuthResult::Pass)),
            ("list.example", AuthResult::Pass),
            AuthResult::Pass,
            None,
        );
        let set = report_set(
            "yahoo.com",
            "9",
            "portal.example",
            vec![lenient.clone(), lenient],
            t,
        );
        let domains = portal();
        let ptr: PtrNames = [(
            "192.0.2.50".parse().unwrap(),
            "out-7.lists.list.example.".to_string(),
        )]
        .into();
        let out = assess_with_ptr(
            &set,
            &domains,
            &Inventory::default(),
            DnsFacts {
                ..DnsFacts::without_snapshot()
            },
            &period,
            &ptr,
            &crate::config::PolicyConfig::default(),
        );
        assert_eq!(set.aggregate.rows.len(), 1, "identical rows merged");
        assert_eq!(out.stats.rates.dmarc_pass, 20, "reporter's verdict");
        assert_eq!(out.detail.recomputed.dmarc_pass, 0, "our verdict");
        assert_eq!(out.detail.disagreements, 20);
        assert_eq!(out.detail.reporter_lenient, 20);
        assert_eq!(out.detail.per_domain[0].disagreements, 20);
        assert_eq!(out.detail.unattributed_ptr.len(), 1);
        assert_eq!(out.detail.unattributed_ptr[0].group, "list.example");
        assert_eq!(out.detail.unattributed_ptr[0].messages, 20);
        assert_eq!(out.detail.unattributed_ptr[0].sources, 1);
    }

    #[test]
    fn source_groups_are_capped_with_the_rest_summed() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        let rows: Vec<Row> = (0..300u32)
            .map(|i| {
                let ip = format!("10.{}.{}.1", i / 200, i % 200);
                row(
                    &ip,
                    None,
                    ("x.example", AuthResult::Fail),
                    AuthResult::Fail,
                    None,
                )
            })
            .collect();
        let set = report_set("r.example", "w1", "portal.example", rows, t);
        let domains = portal();
        let none = BTreeSet::new();
        let out = assess(
            &set,
            &domains,
            &Inventory::default(),
            DnsFacts {
                policy_none: &none,
                authorized: &none,
                org_domains: &none,
                ..DnsFacts::without_snapshot()
            },
            &period,
        );
        let g = &out.detail.unattributed_networks;
        assert_eq!(g.len(), MAX_SOURCE_GROUPS);
        assert_eq!(g.last().unwrap().group, "(101 more groups)");
        assert_eq!(
            g.iter().map(|x| x.messages).sum::<u64>(),
            3000,
            "no message lost in the fold"
        );
    }

    /// The sender rule over a month: a service signing as itself day after day is VEN-006
    /// with its authentication quoted; a spoofer rotating throwaway domains stays RPT-001; our
    /// own signature broken by a list that passes SPF for itself is a forwarder; a one-day
    /// signer is unknown; a vendor's list on a subdomain of its listed domain is the vendor's.
    #[test]
    fn sender_rule_reads_identities_across_days() {
        let period = october();
        let mut all = Vec::new();
        for day in 0..5i64 {
            let t = period.start + chrono::Duration::days(2 + day);
            let mut ips = vec![
                "198.51.100.40",
                "203.0.113.250",
                "192.0.2.160",
                "198.51.100.70",
            ];
            if day == 0 {
                ips.push("192.0.2.240");
            }
            all.push(test_report(
                "google.com",
                &format!("d{day}"),
                PolicyPublished {
                    domain: "portal.example".into(),
                    ..Default::default()
                },
                (t, t + chrono::Duration::days(1)),
                ips.iter().map(|ip| rows_for(day, ip)).collect(),
            ));
        }
        let set = test_set(all);
        let inv = test_inventory("ListHost", "portal.example", "198.51.100.64/28");
        let known: BTreeSet<String> = ["portal.example/mychart".to_string()].into();
        // The portal's own selector, as the configuration names it.
        let mut domains = portal();
        domains[0].selectors = vec!["mychart".into()];
        let out = assess(
            &set,
            &domains,
            &inv,
            DnsFacts {
                known_selectors: &known,
                ..DnsFacts::without_snapshot()
            },
            &period,
        );
        let class = |ip: &str| {
            out.unknown_sources
                .iter()
                .find(|s| s.source_ip == ip)
                .and_then(|s| s.class.clone())
                .unwrap_or_default()
        };
        assert!(
            class("198.51.100.40").starts_with("unlisted service"),
            "{}",
            class("198.51.100.40")
        );
        assert!(class("198.51.100.40").contains("seen on at least 5 days"));
        assert!(
            class("203.0.113.250")
                .starts_with("spoofing: rotates throwaway identities (5 organizations"),
            "{}",
            class("203.0.113.250")
        );
        assert!(
            class("192.0.2.160").starts_with(
                "forwarder or mailing list: carries our own DKIM signature (selector mychart)"
            ),
            "{}",
            class("192.0.2.160")
        );
        assert!(
            class("192.0.2.160")
                .contains("SPF passed for the relaying host's own domain support.example")
        );
        assert!(
            class("192.0.2.240")
                .starts_with("unknown: signs as regdesk.example, provably on 1 day only"),
            "{}",
            class("192.0.2.240")
        );
        assert_eq!(
            class("198.51.100.70"),
            "",
            "the vendor's list host is the vendor's"
        );
        assert_eq!(out.vendor_volume.get("ListHost").map(|v| v.0), Some(50));

        let ven = out
            .findings
            .iter()
            .find(|f| f.check == "VEN-006")
            .expect("VEN-006");
        assert_eq!(ven.subject, "mailsprout.example");
        assert!(
            ven.title
                .contains("possibly a business associate without a BAA"),
            "{}",
            ven.title
        );
        assert!(
            ven.evidence
                .iter()
                .any(|e| e.contains("dkim d=mailsprout.example s=s pass 50")
                    && e.contains("spf bounce.mailsprout.example pass 50")),
            "{:?}",
            ven.evidence
        );
        let spoof: Vec<_> = out
            .findings
            .iter()
            .filter(|f| f.check == "RPT-001")
            .collect();
        assert_eq!(spoof.len(), 1);
        assert!(spoof[0].evidence.iter().any(|e| e.contains("203.0.113.250")
            && e.contains("authentication seen: ")
            && e.contains("rotates throwaway")));
        assert!(
            !spoof[0]
                .evidence
                .iter()
                .any(|e| e.contains("192.0.2.160") || e.contains("192.0.2.240"))
        );
    }

    /// The rows of one day of [`sender_rule_reads_identities_across_days`], per source.
    fn rows_for(day: i64, ip: &str) -> Row {
        match ip {
            "198.51.100.40" => row(
                ip,
                Some(("mailsprout.example", AuthResult::Pass)),
                ("bounce.mailsprout.example", AuthResult::Pass),
                AuthResult::Fail,
                None,
            ),
            "203.0.113.250" => {
                let d = format!(
                    "{}-pay.example",
                    ["a1", "b2", "c3", "d4", "e5"][day as usize]
                );
                row(
                    ip,
                    Some((&d, AuthResult::Pass)),
                    (&d, AuthResult::Pass),
                    AuthResult::Fail,
                    None,
                )
            }
            "192.0.2.160" => {
                let mut r = row(
                    ip,
                    Some(("portal.example", AuthResult::Fail)),
                    ("lists.support.example", AuthResult::Pass),
                    AuthResult::Fail,
                    None,
                );
                r.dkim[0].selector = Some("mychart".into());
                r
            }
            "198.51.100.70" => {
                let mut r = row(
                    ip,
                    Some(("portal.example", AuthResult::Pass)),
                    ("portal.example", AuthResult::Fail),
                    AuthResult::Pass,
                    None,
                );
                r.header_from = "lists.portal.example".into();
                r
            }
            _ => row(
                ip,
                Some(("regdesk.example", AuthResult::Pass)),
                ("bounce.regdesk.example", AuthResult::Pass),
                AuthResult::Fail,
                None,
            ),
        }
    }
}

#[cfg(test)]
mod published_tests {
    use super::*;
    use crate::reports::model::*;

    /// RPT-004/005/007/008/003 on one month: what receivers say the domain published, the
    /// days no report covers, and the inventory's pass rate.
    #[test]
    fn policy_in_reports_gaps_and_pass_rate() {
        let period = crate::period::Period::new(
            crate::period::Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let domains = vec![DomainConfig {
            name: "portal.example".into(),
            role: crate::config::Role::Patient,
            selectors: vec![],
            owner: None,
        }];
        let mut reports = Vec::new();
        // Reports on days 1-3 and 20-31: a 16-day hole. Day 25's reporter saw p=quarantine
        // without sp (a stale server); the rest saw p=reject; sp=none.
        for day in (1..=3).chain(20..=31) {
            let begin = period.start + chrono::Duration::days(day - 1);
            let stale = day == 25;
            let r = test_report(
                if stale { "stale.example" } else { "google.com" },
                &format!("r{day}"),
                PolicyPublished {
                    domain: "portal.example".into(),
                    p: Some(if stale { "quarantine" } else { "reject" }.into()),
                    sp: (!stale).then(|| "none".into()),
                    ..Default::default()
                },
                (begin, begin + chrono::Duration::seconds(86_399)),
                vec![Row {
                    source_ip: "198.51.100.5".parse().unwrap(),
                    count: 10,
                    disposition: "none".into(),
                    dkim_evaluated: if day % 2 == 0 {
                        AuthResult::Pass
                    } else {
                        AuthResult::Fail
                    },
                    spf_evaluated: AuthResult::Fail,
                    reasons: vec![],
                    header_from: "portal.example".into(),
                    envelope_from: None,
                    envelope_to: None,
                    dkim: vec![],
                    spf: vec![],
                }],
            );
            reports.push(r);
        }
        let set = test_set(reports);
        let inv = test_inventory("Portal", "portal.example", "198.51.100.0/24");
        let now: BTreeMap<String, PolicyView> = [(
            "portal.example".to_string(),
            PolicyView::new(Some("reject"), Some("none"), None, None, None).unwrap(),
        )]
        .into();
        let rua: BTreeSet<String> = ["portal.example".to_string()].into();
        let found: BTreeMap<String, String> =
            [("portal.example".to_string(), "found".to_string())].into();
        let out = assess(
            &set,
            &domains,
            &inv,
            DnsFacts {
                dmarc_now: &now,
                rua_now: &rua,
                dmarc_status: &found,
                ..DnsFacts::without_snapshot()
            },
            &period,
        );
        let f = |id: &str| out.findings.iter().find(|f| f.check == id);
        // The stale report states no sp: only its p disagrees, and that is enough.
        let rpt7 = f("RPT-007").expect("RPT-007");
        assert!(
            rpt7.title.starts_with("1 report for portal.example states"),
            "{}",
            rpt7.title
        );
        assert!(
            rpt7.evidence
                .iter()
                .any(|e| e.contains("p=quarantine in 1 report from stale.example"))
        );
        // sp=none under p=reject, as receivers applied it.
        let rpt5 = f("RPT-005").expect("RPT-005");
        assert!(rpt5.title.contains("(p=reject; sp=none)"), "{}", rpt5.title);
        // Enforcing throughout: no RPT-004.
        assert!(f("RPT-004").is_none());
        // 4 to 19 October uncovered: 16 days.
        let rpt8 = f("RPT-008").expect("RPT-008");
        assert!(
            rpt8.title
                .contains("for 16 days (2026-10-04 to 2026-10-19)"),
            "{}",
            rpt8.title
        );
        // 70 of 150 inventory messages passed: 46.7% < 98%.
        let rpt3 = f("RPT-003").expect("RPT-003");
        assert!(
            rpt3.title.starts_with("46.7% of the inventory's mail"),
            "{}",
            rpt3.title
        );
        assert!(
            rpt3.evidence[0].starts_with("70 of 150 messages"),
            "{:?}",
            rpt3.evidence
        );
    }
}

#[cfg(test)]
mod bulk_tests {
    use super::*;
    use crate::reports::model::*;

    fn report(org: &str, day: i64, count: u64, pass: bool) -> AggregateReport {
        let begin = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
            + chrono::Duration::days(day);
        test_report(
            org,
            &format!("{org}{day}"),
            PolicyPublished {
                domain: "news.example".into(),
                p: Some("none".into()),
                ..Default::default()
            },
            (begin, begin + chrono::Duration::seconds(86_399)),
            vec![Row {
                source_ip: "198.51.100.5".parse().unwrap(),
                count,
                disposition: "none".into(),
                dkim_evaluated: if pass {
                    AuthResult::Pass
                } else {
                    AuthResult::Fail
                },
                spf_evaluated: AuthResult::Fail,
                reasons: vec![],
                header_from: "news.example".into(),
                envelope_from: None,
                envelope_to: None,
                dkim: vec![DkimAuth {
                    domain: if pass { "news.example" } else { "esp.example" }.into(),
                    selector: Some("s1".into()),
                    result: AuthResult::Pass,
                    human_result: None,
                }],
                spf: vec![SpfAuth {
                    domain: "news.example".into(),
                    scope: None,
                    result: AuthResult::Permerror,
                    human_result: None,
                }],
            }],
        )
    }

    /// Gmail above 5,000 a day with a broken SPF record and an unaligned vendor is BULK-001;
    /// Outlook.com below the line raises nothing, whatever the mail lacks.
    #[test]
    fn bulk_rules_follow_each_providers_own_reports() {
        let period = crate::period::Period::new(
            crate::period::Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let reports = vec![
            report("google.com", 1, 5_600, true),
            report("google.com", 2, 4_000, false),
            report("Outlook.com", 1, 4_900, false),
        ];
        let set = test_set(reports);
        let inv = test_inventory("Esp", "news.example", "198.51.100.0/24");
        let domains = vec![DomainConfig {
            name: "news.example".into(),
            role: crate::config::Role::Marketing,
            selectors: vec![],
            owner: None,
        }];
        let now: BTreeMap<String, PolicyView> = [(
            "news.example".to_string(),
            PolicyView::new(Some("none"), None, None, None, None).unwrap(),
        )]
        .into();
        let spf: BTreeMap<String, String> =
            [("news.example".to_string(), "permerror".to_string())].into();
        let rdns: BTreeMap<IpAddr, crate::snapshot::ReverseDns> = [(
            "198.51.100.5".parse().unwrap(),
            crate::snapshot::ReverseDns::Unconfirmed(vec!["mta.esp.example".into()]),
        )]
        .into();
        let out = assess(
            &set,
            &domains,
            &inv,
            DnsFacts {
                dmarc_now: &now,
                spf_status: &spf,
                reverse_dns: &rdns,
                ..DnsFacts::without_snapshot()
            },
            &period,
        );
        let bulk: Vec<&Finding> = out
            .findings
            .iter()
            .filter(|f| f.check.starts_with("BULK"))
            .collect();
        assert_eq!(bulk.len(), 2, "{bulk:?}");
        // Every sender needs forward-confirmed reverse DNS, bulk or not.
        assert_eq!(bulk[1].check, "BULK-003");
        assert_eq!(
            bulk[1].title,
            "Esp's sending address has no forward-confirmed reverse DNS (14,500 messages this period)"
        );
        assert!(bulk[1].evidence[0].contains("PTR mta.esp.example does not resolve back"));
        let f = bulk[0];
        assert_eq!(f.check, "BULK-001");
        assert!(
            f.title
                .contains("5,600 messages from news.example on 2026-10-02"),
            "{}",
            f.title
        );
        assert!(
            f.evidence.iter().any(
                |e| e.starts_with("SPF: the domain's own record does not evaluate (permerror)")
            )
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e == "alignment: 4,000 of Esp's 9,600 messages to Gmail were not aligned (DMARC failed)"),
            "{:?}",
            f.evidence
        );
    }
}

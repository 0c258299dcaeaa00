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

/// Per-source tally for the top-failing tables.
#[derive(Default)]
struct SourceTally {
    messages: u64,
    pass: u64,
    reporters: BTreeSet<String>,
    vendor: Option<String>,
}

/// Adds one merged row to mailproof's own pass rates, counting where the reporter's verdict
/// differs (and, when asked, where the reporter passed what we fail).
fn tally_verdict(
    rates: &mut PassRates,
    disagreements: &mut u64,
    lenient: Option<&mut u64>,
    m: &MergedView<'_>,
) {
    let n = m.row.count;
    rates.messages += n;
    if m.verdict.dmarc_pass() {
        rates.dmarc_pass += n;
    }
    if m.verdict.dkim_aligned {
        rates.dkim_aligned += n;
    }
    if m.verdict.spf_aligned {
        rates.spf_aligned += n;
    }
    let reporter = m.row.reporter_dmarc_pass();
    if m.row.reporter_gave_verdict() && m.verdict.dmarc_pass() != reporter {
        *disagreements += n;
        if reporter && let Some(l) = lenient {
            *l += n;
        }
    }
}

#[derive(Default)]
struct DetailAcc {
    recomputed: PassRates,
    disagreements: u64,
    dispositions: BTreeMap<String, u64>,
    reasons: BTreeMap<String, u64>,
    sources: BTreeMap<(IpAddr, String), SourceTally>,
}

impl DetailAcc {
    fn add(&mut self, m: &MergedView<'_>, vendor: Option<&str>) {
        let row = m.row;
        let n = row.count;
        tally_verdict(&mut self.recomputed, &mut self.disagreements, None, m);
        *self
            .dispositions
            .entry(row.disposition.clone())
            .or_default() += n;
        for r in &row.reasons {
            *self.reasons.entry(r.kind.clone()).or_default() += n;
        }
        let t = self
            .sources
            .entry((row.source_ip, row.header_from.clone()))
            .or_default();
        t.messages += n;
        if row.reporter_dmarc_pass() {
            t.pass += n;
        }
        for (name, _) in m.reporters {
            if t.reporters.len() < 20 {
                t.reporters.insert((*name).to_string());
            }
        }
        if t.vendor.is_none() {
            t.vendor = vendor.map(str::to_string);
        }
    }

    fn top_failing(&self) -> Vec<SourceStat> {
        let mut v: Vec<SourceStat> = self
            .sources
            .iter()
            .filter(|(_, t)| t.messages > t.pass)
            .map(|((ip, from), t)| SourceStat {
                source_ip: ip.to_string(),
                vendor: t.vendor.clone(),
                header_from: from.clone(),
                messages: t.messages,
                dmarc_pass: t.pass,
                reporters: t.reporters.iter().cloned().collect(),
                class: None,
            })
            .collect();
        v.sort_by(|a, b| {
            (b.messages - b.dmarc_pass)
                .cmp(&(a.messages - a.dmarc_pass))
                .then_with(|| a.source_ip.cmp(&b.source_ip))
        });
        v.truncate(TOP_SOURCES);
        v
    }
}

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
}

pub fn assess(
    set: &ReportSet,
    domains: &[DomainConfig],
    inv: &Inventory,
    facts: DnsFacts<'_>,
    period: &crate::period::Period,
) -> ReportAssessment {
    assess_with_ptr(set, domains, inv, facts, period, &PtrNames::new())
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
) -> ReportAssessment {
    let DnsFacts {
        policy_none,
        authorized,
        org_domains,
        spf_trees,
        spf_broken,
    } = facts;
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
    let mut detail = ReportDetail {
        source_rows: set.aggregate.source_rows,
        distinct_rows: set.aggregate.rows.len(),
        ..Default::default()
    };
    let mut domain_detail: BTreeMap<String, DetailAcc> = BTreeMap::new();
    let mut vendor_detail: BTreeMap<String, DetailAcc> = BTreeMap::new();
    // Unattributed (ip, from) → (messages, pass) for the network / PTR groupings.
    let mut unattributed: BTreeMap<(IpAddr, String), (u64, u64)> = BTreeMap::new();
    {
        for merged in &set.aggregate.rows {
            let row = &merged.row;
            let reporters: Vec<(&str, u64)> = set.aggregate.reporters_of(merged).collect();
            let view = MergedView {
                row,
                reporters: &reporters,
                verdict: align::evaluate(row, merged.adkim, merged.aspf, &hints),
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
            acc.messages += row.count;
            if row.reporter_dmarc_pass() {
                acc.pass += row.count;
            }
            acc.reporters
                .extend(reporters.iter().map(|(r, _)| (*r).to_string()));
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

    let mut findings = Vec::new();
    // RPT-000: rejected and duplicated files.
    if !set.rejected.is_empty() || !set.duplicates.is_empty() {
        // The share is of the files that could have counted toward this period: a rejected
        // file's period is unknown, so it is counted here, while files that parsed and belong
        // to other months are not, or a year of archive would dilute a broken month.
        let candidates = set.reports.len() + set.rejected.len() + set.duplicates.len();
        let share = set.rejected.len() as f64 / candidates.max(1) as f64;
        let mut d = Draft::new("RPT-000", "report-inputs")
            .title(format!(
                "{}, {} ignored",
                crate::text::count(
                    set.rejected.len(),
                    "report file rejected",
                    "report files rejected"
                ),
                crate::text::count(set.duplicates.len(), "duplicate", "duplicates")
            ))
            .evidence(format!(
                "{} read, {} counted in other periods; of the {} left, {} accepted, {} rejected ({:.1}%), {}",
                crate::text::count(set.files.len(), "file", "files"),
                set.out_of_period,
                candidates,
                crate::text::count(set.reports.len(), "report", "reports"),
                set.rejected.len(),
                share * 100.0,
                crate::text::count(set.duplicates.len(), "duplicate", "duplicates")
            ));
        if share > 0.05 {
            d = d.severity(Severity::High).exposure(
                Level::High,
                format!(
                    "{:.1}% of the files were rejected (more than 5%): a real gap in the activity review",
                    share * 100.0
                ),
            );
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
    for (vendor, vf) in &vendor_fail {
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
        findings.push(d.build(&label));
    }

    // RPT-001 (failing, unknown, not forwarded) and VEN-006 (unknown but passing).
    let mut spoof: BTreeMap<String, Vec<(&SourceKey, &SourceAcc)>> = BTreeMap::new();
    let mut shadow: BTreeMap<String, Vec<(&SourceKey, &SourceAcc)>> = BTreeMap::new();
    let mut unknown_sources = Vec::new();
    for (k, acc) in &unknown {
        let class = match acc.kind(authorized) {
            SourceKind::Service => "a service sending as us (VEN-006)".to_string(),
            SourceKind::Unauthorized => {
                "spoofing: no authentication of its own (RPT-001)".to_string()
            }
            SourceKind::Forwarder if acc.forwarded > 0 => format!(
                "forwarded: receivers reported a forwarding or mailing-list override for {} (no finding)",
                crate::text::count(acc.forwarded as usize, "message", "messages")
            ),
            SourceKind::Forwarder => format!(
                "forwarded: our own DKIM signature passed on {} (no finding)",
                crate::text::count(acc.pass as usize, "message", "messages")
            ),
        };
        unknown_sources.push(SourceStat {
            source_ip: k.1.to_string(),
            vendor: None,
            header_from: k.2.clone(),
            messages: acc.messages,
            dmarc_pass: acc.pass,
            reporters: acc.reporters.iter().cloned().collect(),
            class: Some(class),
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
        let mut d = Draft::new("RPT-001", domain.clone())
            .domain(&domain)
            .title(format!(
                "{total} messages from {} claimed to be from {domain}",
                crate::text::count(srcs.len(), "unauthorized source", "unauthorized sources")
            ))
            .messages(total);
        // What receivers did with it decides how far the harm reached: refused mail harmed
        // no one, delivered mail reached its targets.
        let disposed = |which: &str| -> u64 {
            srcs.iter()
                .map(|(_, a)| a.dispositions.get(which).copied().unwrap_or(0))
                .sum()
        };
        let (rejected, delivered, all) = (
            disposed("reject"),
            disposed("none"),
            srcs.iter().map(|(_, a)| a.messages).sum::<u64>(),
        );
        let incident = INCIDENT;
        d = d.remediation(if all > 0 && rejected == all {
            format!("Receivers refused all of this mail, as the policy of {domain} asks: no DNS change is needed. {incident} Watch for sources that start to pass. The finding closes in the first period whose reports show no forged mail using {domain}.")
        } else if policy_none.contains(&domain) {
            format!("{incident} Move {domain} from p=none to p=quarantine, then p=reject, once its legitimate senders pass aligned (see the vendor table), so receivers refuse this mail instead of delivering it.")
        } else {
            let failing: Vec<&str> = vendor_fail
                .keys()
                .filter(|name| {
                    inv.vendors.iter().any(|v| {
                        &v.vendor == *name && v.domains.first().map(String::as_str) == Some(domain.as_str())
                    })
                })
                .map(String::as_str)
                .collect();
            if failing.is_empty() {
                format!("{incident} Move {domain} to p=reject so receivers refuse this mail instead of junking or delivering it.")
            } else {
                format!(
                    "{incident} Move {domain} to p=reject so receivers refuse this mail, but only after {} pass{} DMARC aligned (the cause cards in section 3 say how): until then p=reject would refuse {} mail too.",
                    crate::text::and_list(&failing),
                    if failing.len() == 1 { "es" } else { "" },
                    if failing.len() == 1 { "its" } else { "their" }
                )
            }
        });
        if all > 0 && rejected == all {
            d = d.reach(
                Reach::Minimal,
                format!("receivers refused all {all} of these messages (disposition reject)"),
            );
        } else if delivered == 0 && all > 0 {
            d = d.reach(
                Reach::Partial,
                "receivers junked or refused these messages; none was delivered as asked",
            );
        }
        let sub: u64 = srcs
            .iter()
            .filter(|(k, _)| !k.2.eq_ignore_ascii_case(&domain))
            .map(|(_, a)| a.messages - a.pass)
            .sum();
        d = d.subdomain_messages(sub).delivered(delivered);
        if policy_none.contains(&domain) {
            d = d.severity(Severity::Critical).evidence(format!(
                "{domain} publishes p=none: receivers were asked to deliver this mail"
            ));
        }
        d = d.evidence_all(srcs.iter().take(10).map(|(k, a)| {
            format!(
                "{} sent {} as {} (reporters: {}; dispositions: {})",
                k.1,
                crate::text::count(
                    (a.messages - a.pass) as usize,
                    "failing message",
                    "failing messages"
                ),
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
            let rest: u64 = srcs[10..].iter().map(|(_, a)| a.messages - a.pass).sum();
            d = d.evidence(format!(
                "and {} more source{}, {rest} failing message{}: grouped by network in evidence.json (reports.detail), each row in the report files it lists (inputs)",
                srcs.len() - 10,
                if srcs.len() - 10 == 1 { "" } else { "s" },
                if rest == 1 { "" } else { "s" }
            ));
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
            .messages(total)
            .title(format!(
                "{total} messages from {net}, a sender that matches no inventory vendor"
            ))
            .evidence(format!(
                "sending as {}; {passing} of {total} messages passed DMARC",
                join(&doms)
            ))
            .evidence_all(srcs.iter().take(8).map(|(k, a)| {
                format!(
                    "{} sent {} ({} passing DMARC) as {} (reporters: {})",
                    k.1,
                    crate::text::count(a.messages as usize, "message", "messages"),
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
            d = d
                .evidence(format!(
                    "authenticates as {} and our SPF record publishes that provider's include: a real service, not a spoofer",
                    join(&services)
                ))
                .remediation(format!(
                    "Our own SPF record includes {} (whether receivers reach the include depends on the record's lookup count), yet no inventory vendor names it. Find who in the organization uses the service and whether it creates, receives or transmits PHI: if it does, it is a business associate and needs a BAA before it sends PHI (§164.308(b)(1)). Add it to the inventory with its PHI and BAA status, or, if nobody owns it, remove its include from our SPF.",
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
        spf_checked,
        spf_errors,
        vendor_spf,
        detail,
    }
}

fn sorted_counts(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn finish_detail(
    detail: &mut ReportDetail,
    domain_detail: BTreeMap<String, DetailAcc>,
    vendor_detail: BTreeMap<String, DetailAcc>,
    unattributed: &BTreeMap<(IpAddr, String), (u64, u64)>,
    set: &ReportSet,
    domains: &[DomainConfig],
    ptr: &PtrNames,
) {
    // Daily series per owning domain, from the aggregate's per-(From, day) table.
    let mut daily: BTreeMap<String, BTreeMap<chrono::NaiveDate, DayPoint>> = BTreeMap::new();
    for d in &set.aggregate.days {
        let key = owning_domain(&d.header_from, domains)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| {
                format!(
                    "(other) {}",
                    crate::snapshot::normalize_name(&d.header_from)
                )
            });
        let p = daily
            .entry(key)
            .or_default()
            .entry(d.day)
            .or_insert_with(|| DayPoint {
                day: d.day.format("%Y-%m-%d").to_string(),
                ..Default::default()
            });
        p.messages += d.messages;
        p.dmarc_pass += d.dmarc_pass;
        p.dkim_aligned += d.dkim_aligned;
        p.spf_aligned += d.spf_aligned;
        p.quarantine += d.quarantine;
        p.reject += d.reject;
    }
    detail.per_domain = domain_detail
        .into_iter()
        .map(|(domain, acc)| DomainDetail {
            top_failing: acc.top_failing(),
            daily: daily
                .remove(&domain)
                .map(|m| m.into_values().collect())
                .unwrap_or_default(),
            domain,
            recomputed: acc.recomputed,
            disagreements: acc.disagreements,
            reasons: sorted_counts(acc.reasons),
        })
        .collect();
    detail.per_vendor = vendor_detail
        .into_iter()
        .map(|(vendor, acc)| VendorDetail {
            top_failing: acc.top_failing(),
            vendor,
            recomputed: acc.recomputed,
            dispositions: sorted_counts(acc.dispositions),
            reasons: sorted_counts(acc.reasons),
        })
        .collect();
    let group = |key_of: &dyn Fn(IpAddr) -> Option<String>| {
        let mut groups: BTreeMap<String, (SourceGroup, BTreeSet<IpAddr>, BTreeSet<String>)> =
            BTreeMap::new();
        for ((ip, from), (msgs, pass)) in unattributed {
            let Some(k) = key_of(*ip) else { continue };
            let g = groups.entry(k.clone()).or_insert_with(|| {
                (
                    SourceGroup {
                        group: k,
                        ..Default::default()
                    },
                    BTreeSet::new(),
                    BTreeSet::new(),
                )
            });
            g.0.messages += msgs;
            g.0.dmarc_pass += pass;
            g.1.insert(*ip);
            g.2.insert(from.clone());
        }
        let mut out: Vec<SourceGroup> = groups
            .into_values()
            .map(|(mut g, ips, froms)| {
                g.sources = ips.len();
                g.header_from = froms.into_iter().collect();
                g
            })
            .collect();
        out.sort_by(|a, b| {
            b.messages
                .cmp(&a.messages)
                .then_with(|| a.group.cmp(&b.group))
        });
        // One hostile report can name 50,000 networks: keep the largest groups and fold the
        // rest into one line, so the evidence and the PDF stay a readable size.
        if out.len() > MAX_SOURCE_GROUPS {
            let rest = out.split_off(MAX_SOURCE_GROUPS - 1);
            let mut tail = SourceGroup {
                group: format!("({} more groups)", rest.len()),
                ..Default::default()
            };
            for g in rest {
                tail.sources += g.sources;
                tail.messages = tail.messages.saturating_add(g.messages);
                tail.dmarc_pass = tail.dmarc_pass.saturating_add(g.dmarc_pass);
            }
            out.push(tail);
        }
        out
    };
    detail.unattributed_networks = group(&|ip| Some(network_of(ip)));
    detail.unattributed_ptr = group(&|ip| ptr.get(&ip).map(|n| ptr_base(n).to_string()));
    detail.daily_rule = "Each report's messages are placed on the day (in the period's time \
        zone) containing the midpoint of the report's date range; a report is never split."
        .to_string();
}

/// The base domain of a reverse-DNS name (`mail-1.outbound.vendor.example` → `vendor.example`).
fn ptr_base(name: &str) -> &str {
    base(name.trim_end_matches('.'))
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
        let mut report = AggregateReport {
            origin: Origin {
                file: format!("{id}.xml"),
                member: None,
            },
            schema: "1.0".into(),
            org_name: org.into(),
            email: None,
            report_id: id.into(),
            begin: t,
            end: t + chrono::Duration::days(1),
            policy: PolicyPublished {
                domain: policy_domain.into(),
                ..Default::default()
            },
            rows,
            repairs: vec![],
            xml_sha256: format!("sha-{id}"),
            org_from_file_name: false,
            records: 0,
            message_count: 0,
            skipped_records: 0,
            generator: None,
            extensions: vec![],
        };
        let mut builder = crate::reports::aggregate::AggregateBuilder::new();
        builder.fold(&mut report, chrono_tz::UTC);
        ReportSet {
            reports: vec![report],
            aggregate: builder.finish(),
            ..Default::default()
        }
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

    #[test]
    fn spoofers_services_and_forwarders_are_told_apart() {
        let period = october();
        let t = period.start + chrono::Duration::days(3);
        let set = report_set(
            "google.com",
            "1",
            "portal.example",
            vec![
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
                org_domains: &BTreeSet::new(),
                spf_trees: &BTreeMap::new(),
                spf_broken: &BTreeMap::new(),
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
                policy_none: &BTreeSet::new(),
                authorized: &BTreeSet::new(),
                org_domains: &BTreeSet::new(),
                spf_trees: &BTreeMap::new(),
                spf_broken: &BTreeMap::new(),
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
                policy_none: &BTreeSet::new(),
                authorized: &BTreeSet::new(),
                org_domains: &BTreeSet::new(),
                spf_trees: &BTreeMap::new(),
                spf_broken: &BTreeMap::new(),
            },
            &period,
            &ptr,
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
                spf_trees: &BTreeMap::new(),
                spf_broken: &BTreeMap::new(),
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
}

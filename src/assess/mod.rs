//! Assessment: pure checks over collected evidence. Nothing here does I/O; everything it
//! concludes lands in [`crate::evidence::Evidence`], which the templates only present.

pub mod basis;
pub mod bimi;
pub mod catalog;
pub mod causes;
pub mod change_checks;
pub mod controls;
pub mod dns_checks;
pub mod dns_context;
pub mod finding;
pub mod hipaa;
pub mod history;
pub mod posture;
pub mod rating;
pub mod report_checks;
pub mod report_processors;
pub mod risk;
pub mod spf_breadth;
pub mod spf_forwarding;
pub mod status;
pub mod tls_checks;
pub mod tls_stats;
pub mod transport_checks;
pub mod treatment;
pub mod vendor_checks;
pub mod vendor_dkim;
pub mod vendor_keys;

use crate::config::{ControlConfig, DomainConfig, Governance, PolicyConfig};
use crate::decisions::RiskDecision;
use crate::evidence::{self, Evidence, PeriodInfo, PreviousRef, SnapshotRef, ToolInfo};
use crate::inventory::Inventory;
use crate::period::Period;
use crate::reports::ReportSet;
use crate::reports::model::InputFile;
use crate::snapshot::{ScopedDomain, Snapshot};
use chrono::{DateTime, Datelike, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Everything the assessment reads. Borrowed: assessment never owns or mutates its inputs.
pub struct Inputs<'a> {
    pub organization: &'a str,
    pub period: &'a Period,
    pub generated_at: DateTime<Utc>,
    pub domains: &'a [DomainConfig],
    pub scoped: &'a [ScopedDomain],
    pub policy: &'a PolicyConfig,
    pub snapshot: Option<(&'a Snapshot, SnapshotRef)>,
    pub previous_snapshot: Option<(&'a Snapshot, SnapshotRef)>,
    /// Every stored snapshot up to this period's (oldest first), with its file name: key-age
    /// tracking across months and the DMARC policy timeline.
    pub history: &'a [(String, Snapshot)],
    /// Earlier periods' evidence found in the output folder (trends, time to remediate).
    pub earlier: &'a [history::Earlier],
    pub governance: &'a Governance,
    /// Existing controls the organization declares (`[[control]]`).
    pub controls: &'a [ControlConfig],
    /// The risk decisions file's entries, and its path and SHA-256 when the config names one.
    pub decisions: &'a [RiskDecision],
    pub decisions_file: Option<(String, String)>,
    pub previous_evidence: Option<&'a Evidence>,
    pub previous_evidence_path: Option<String>,
    pub reports: &'a ReportSet,
    pub inventory: &'a Inventory,
    pub inputs: Vec<InputFile>,
}

/// Each domain's DMARC policy as the posture read it, for comparison with the reports.
fn policy_views(
    postures: &[evidence::DomainPosture],
) -> BTreeMap<String, report_checks::PolicyView> {
    postures
        .iter()
        .filter_map(|d| {
            let m = &d.dmarc;
            report_checks::PolicyView::new(
                m.p.as_deref(),
                m.sp.as_deref(),
                m.np.as_deref(),
                m.pct,
                m.t.as_deref(),
            )
            .map(|v| (d.domain.clone(), v))
        })
        .collect()
}

pub fn assess(i: &Inputs<'_>) -> Evidence {
    let label = i.period.month.to_string();
    let mut findings = Vec::new();

    let domains: Vec<evidence::DomainPosture> = match &i.snapshot {
        Some((snap, _)) => i
            .domains
            .iter()
            .map(|d| posture::build_with(d, i.scoped, snap, i.policy.min_dkim_bits))
            .collect(),
        None => Vec::new(),
    };
    if let Some((snap, _)) = &i.snapshot {
        let dns = dns_context::Context {
            domains: i.domains,
            postures: &domains,
            snapshot: snap,
            inventory: i.inventory,
            reports: i.reports,
            policy: i.policy,
            label: &label,
            period_end: i.period.month.last_day(),
        };
        // Each family of DNS checks reads the same context; none calls another.
        let families: [fn(&dns_context::Context<'_>) -> Vec<evidence::Finding>; 6] = [
            dns_checks::assess,
            spf_breadth::assess,
            spf_forwarding::assess,
            bimi::assess,
            vendor_dkim::assess,
            report_processors::assess,
        ];
        for family in families {
            findings.extend(family(&dns));
        }
        findings.extend(transport_checks::assess(i.domains, snap, &label));
    }

    let policy_none = domains
        .iter()
        // p=none, or no usable record (receivers then apply none); a lookup that failed says
        // nothing of the policy and is left out.
        .filter(|d| {
            d.dmarc.p.as_deref() == Some("none")
                || (d.dmarc.record.is_none() && d.dmarc.status != "incomplete")
        })
        .map(|d| d.domain.clone())
        .collect();
    // Providers our SPF records authorize (include/redirect targets), to tell a service that
    // sends as us from a spoofer.
    let authorized: BTreeSet<String> = domains
        .iter()
        .flat_map(|d| d.raw.iter())
        .filter(|l| l.purpose == "spf-include" || l.purpose == "spf-redirect")
        .map(|l| l.name.clone())
        .collect();
    // Reverse-DNS names of report sources, forward-confirmed, when the snapshot holds them.
    let ptr = i
        .snapshot
        .as_ref()
        .map(|(s, _)| s.confirmed_ptr_names())
        .unwrap_or_default();
    // The previous snapshot's postures: the policy and rua receivers may have seen early in
    // the period.
    let previous_postures: Option<Vec<evidence::DomainPosture>> =
        i.previous_snapshot.as_ref().map(|(prev, _)| {
            i.domains
                .iter()
                .map(|d| posture::build_with(d, i.scoped, prev, i.policy.min_dkim_bits))
                .collect()
        });
    let rua_before: Option<BTreeSet<String>> = previous_postures.as_ref().map(|ps| {
        ps.iter()
            .filter(|d| !d.dmarc.rua.is_empty())
            .map(|d| d.domain.clone())
            .collect()
    });
    let rep = report_checks::assess_with_ptr(
        i.reports,
        i.domains,
        i.inventory,
        report_checks::DnsFacts {
            policy_none: &policy_none,
            authorized: &authorized,
            org_domains: &domains
                .iter()
                .filter_map(|d| d.dmarc.org_domain.clone())
                .collect(),
            spf_trees: &domains
                .iter()
                .map(|d| {
                    (
                        d.domain.clone(),
                        d.spf.tree.iter().map(|l| l.trim().to_string()).collect(),
                    )
                })
                .collect(),
            spf_broken: &domains
                .iter()
                .filter(|d| matches!(d.spf.status.as_str(), "permerror" | "multiple"))
                .map(|d| (d.domain.clone(), d.spf.status.clone()))
                .collect(),
            dmarc_now: &policy_views(&domains),
            dmarc_before: &previous_postures
                .as_deref()
                .map(policy_views)
                .unwrap_or_default(),
            rua_before: rua_before.as_ref(),
            dmarc_status: &domains
                .iter()
                .map(|d| (d.domain.clone(), d.dmarc.status.clone()))
                .collect(),
            reverse_dns: &i
                .snapshot
                .as_ref()
                .map(|(s, _)| s.reverse_dns())
                .unwrap_or_default(),
            spf_status: &domains
                .iter()
                .map(|d| (d.domain.clone(), d.spf.status.clone()))
                .collect(),
            rua_now: &domains
                .iter()
                .filter(|d| !d.dmarc.rua.is_empty())
                .map(|d| d.domain.clone())
                .collect(),
            known_selectors: &domains
                .iter()
                .flat_map(|d| {
                    d.dkim
                        .iter()
                        .filter(|k| {
                            !matches!(k.status.as_str(), "missing" | "invalid" | "incomplete")
                        })
                        .map(move |k| format!("{}/{}", d.domain, k.selector.to_ascii_lowercase()))
                })
                .collect(),
        },
        i.period,
        &ptr,
        i.policy,
    );
    findings.extend(rep.findings);
    let tls = tls_stats::build(&i.reports.tls);
    findings.extend(tls_checks::assess(
        &tls,
        &tls_checks::Context {
            domains: i.domains,
            inventory: i.inventory,
            period_end: i.period.month.last_day(),
            label: &label,
        },
    ));

    // The run's date where the organization is: decisions approved later are not in force,
    // and breach-notification clocks are read against it.
    let tz: chrono_tz::Tz = i.period.timezone.parse().unwrap_or(chrono_tz::UTC);
    // The period's last calendar day, where the organization is (the same date in any zone).
    let period_end_local = i.period.month.last_day();
    let scope: Vec<String> = i.domains.iter().map(|d| d.name.clone()).collect();
    let (mut vendors, vfind) = vendor_checks::assess(
        i.inventory,
        period_end_local,
        &label,
        &scope,
        &rep.vendor_volume,
        rep.unknown_sources,
        &vendor_checks::Discovery {
            today: i.generated_at.with_timezone(&tz).date_naive(),
            tz,
            previous: i.previous_evidence,
            earlier: i.earlier,
        },
    );
    findings.extend(vfind);

    let mut changes = match (&i.previous_snapshot, &i.snapshot) {
        (Some((old, _)), Some((new, _))) => crate::snapshot::diff::diff(old, new, i.inventory),
        _ => Vec::new(),
    };
    let history: Vec<&Snapshot> = i.history.iter().map(|(_, s)| s).collect();
    findings.extend(change_checks::assess(
        &changes,
        &history,
        i.snapshot.as_ref().map(|(s, _)| *s),
        i.policy,
        &label,
    ));
    if let Some((snap, _)) = &i.snapshot {
        findings.extend(vendor_keys::assess(&vendor_keys::Context {
            postures: &domains,
            current: snap,
            history: &history,
            inventory: i.inventory,
            policy: i.policy,
            period_end: i.period.month.last_day(),
            label: &label,
        }));
    }

    // VEN-002 evaluates the inventory's ranges as if the vendor's MAIL FROM were the domain;
    // the reports say which MAIL FROM receivers actually checked, and the reader needs both.
    for f in findings.iter_mut().filter(|f| f.check == "VEN-002") {
        let seen = f.basis.vendor.as_ref().and_then(|v| rep.vendor_spf.get(v));
        if let Some(seen) = seen.filter(|s| !s.is_empty()) {
            let names: Vec<&str> = seen.iter().map(String::as_str).collect();
            let domain = f.domain.clone().unwrap_or_default();
            // What receivers saw leads; the inventory's what-if follows, labelled as such.
            f.evidence.insert(
                0,
                format!(
                    "observed: this period's reports show receivers checking its mail against MAIL FROM {}; the results below are what SPF gives for its inventory ranges if its mail used {domain}",
                    names.join(", ")
                ),
            );
        }
    }

    // Record-level SPF findings weigh whether any message of the period was checked against
    // the record at all (a stream with its own MAIL FROM never is).
    if !i.reports.reports.is_empty() {
        for f in findings.iter_mut().filter(|f| {
            matches!(
                f.check.as_str(),
                "SPF-002" | "SPF-003" | "SPF-004" | "SPF-007" | "CHG-002"
            ) && f.basis.messages.is_none()
        }) {
            let n = f
                .domain
                .as_ref()
                .and_then(|d| rep.spf_checked.get(d))
                .copied()
                .unwrap_or(0);
            f.basis.messages = Some(n);
        }
    }
    // One rating rule for every finding built this period (resolved ones, added below from
    // the previous evidence, keep the rating they had).
    let covered: BTreeSet<String> = rep
        .stats
        .per_domain
        .iter()
        .filter(|d| d.rates.messages > 0)
        .map(|d| d.domain.clone())
        .collect();
    // Domains whose DMARC policy was raised between the two snapshots, with the first day
    // receivers applied quarantine or reject to them this period.
    let policy_raised: std::collections::BTreeMap<String, Option<chrono::NaiveDate>> = changes
        .iter()
        .filter(|c| c.area == "dmarc" && c.meaning.starts_with("p raised"))
        .map(|c| {
            let first = rep
                .detail
                .per_domain
                .iter()
                .find(|d| d.domain == c.domain)
                .and_then(|d| {
                    d.daily
                        .iter()
                        .filter(|p| p.quarantine + p.reject > 0)
                        .filter_map(|p| p.day.parse().ok())
                        .min()
                });
            (c.domain.clone(), first)
        })
        .collect();
    // Forged mail earlier periods' assessments recorded per domain (RPT-001 not resolved
    // then), with that month's DMARC-failing messages: a domain no report covers now is not
    // without a history of abuse.
    let mut past_abuse: std::collections::BTreeMap<String, Vec<(crate::period::Month, u64)>> =
        std::collections::BTreeMap::new();
    for e in i.earlier {
        let history::Found::Read { evidence, .. } = &e.found else {
            continue;
        };
        for f in evidence
            .findings
            .iter()
            .filter(|f| f.check == "RPT-001" && f.status != crate::evidence::Status::Resolved)
        {
            let Some(d) = f.domain.as_deref() else {
                continue;
            };
            let failing = evidence
                .reports
                .per_domain
                .iter()
                .find(|s| s.domain == d)
                .map_or(0, |s| s.rates.messages.saturating_sub(s.rates.dmarc_pass));
            let months = past_abuse.entry(d.to_string()).or_default();
            if !months.iter().any(|(m, _)| *m == e.month) {
                months.push((e.month, failing));
            }
        }
    }
    for months in past_abuse.values_mut() {
        months.sort();
    }
    rating::apply(
        &mut findings,
        &rating::Facts {
            domains: i.domains,
            inventory: i.inventory,
            vendor_volume: &rep.vendor_volume,
            covered: &covered,
            any_reports: !i.reports.reports.is_empty(),
            controls: i.controls,
            vendor_spf: &rep.vendor_spf,
            spf_errors: &rep.spf_errors,
            spf_checked: &rep.spf_checked,
            period_end: i.period.month.last_day(),
            policy_raised: &policy_raised,
            past_abuse: &past_abuse,
        },
    );

    // A domain whose reported mail begins or ends more than 10 days from the month's edge
    // (reports began or stopped: a `rua` added or removed) has counts for part of the month
    // only; every finding counted from its reports says so (the PDF's partial-month note
    // applies the same rule).
    let month_end = i.period.month.last_day();
    let month_start = month_end.with_day(1).unwrap_or(month_end);
    for d in &rep.detail.per_domain {
        let days: Vec<chrono::NaiveDate> = d
            .daily
            .iter()
            .filter(|p| p.messages > 0)
            .filter_map(|p| p.day.parse().ok())
            .collect();
        let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
            continue;
        };
        if first.signed_duration_since(month_start).num_days() <= 10
            && month_end.signed_duration_since(*last).num_days() <= 10
        {
            continue;
        }
        let line = format!(
            "{}'s reports cover mail from {first} to {last} only (the period runs {month_start} to {month_end}): the counts here are for those days, not the whole month",
            d.domain
        );
        for f in findings.iter_mut().filter(|f| {
            f.domain.as_deref() == Some(d.domain.as_str())
                && (f.check.starts_with("RPT-") || f.basis.messages.is_some())
        }) {
            f.evidence.push(line.clone());
        }
    }

    // The mailbox providers' bulk-sender rules bind a domain that sends about 5,000 messages a
    // day to them. A domain whose busiest reported day stays below that (all receivers
    // together) is not reached by them: its findings say so instead of citing them as binding.
    const BULK_CLAUSE: &str = "requirements for bulk senders (about 5,000 or more messages a day to those providers; cited as the receivers' practice)";
    for d in &rep.detail.per_domain {
        let peak = d.daily.iter().map(|p| p.messages).max().unwrap_or(0);
        if peak == 0 || peak >= 5_000 {
            continue;
        }
        for f in findings.iter_mut().filter(|f| {
            f.domain.as_deref() == Some(d.domain.as_str()) && f.authority.contains(BULK_CLAUSE)
        }) {
            f.authority = f.authority.replace(
                BULK_CLAUSE,
                &format!(
                    "requirements for bulk senders (about 5,000 or more messages a day to those providers), which {} does not reach (its busiest day in this period's reports: {} messages to all receivers), so they are cited as practice, not as binding",
                    d.domain,
                    crate::text::int(peak)
                ),
            );
        }
    }

    // Each change that raised a finding carries that finding's risk, so the changes list and
    // the findings agree.
    crate::snapshot::diff::attach_risks(&mut changes, &findings);

    // A key only one inventory vendor signs with is that vendor's to fix (a new key, a revoked
    // one, a rotation): its findings go to whoever answers for the vendor, not to the domain.
    for f in findings.iter_mut().filter(|f| f.owner.is_none()) {
        let Some((sel, dom)) = f.subject.split_once("._domainkey.") else {
            continue;
        };
        let mut signers = i
            .inventory
            .vendors
            .iter()
            .filter(|v| v.signs_with(sel, dom));
        if let (Some(v), None) = (signers.next(), signers.next())
            && !v.owner.trim().is_empty()
        {
            f.owner = Some(v.owner.trim().to_string());
        }
    }

    let blind = status::Blind {
        dns_incomplete: findings
            .iter()
            .filter(|f| f.check == "DNS-001")
            .filter_map(|f| f.domain.clone())
            .collect(),
        no_reports: i.reports.reports.is_empty(),
        probe_incomplete: findings
            .iter()
            .filter(|f| f.check == "NET-001")
            .filter_map(|f| f.domain.clone())
            .collect(),
        no_transport: i
            .snapshot
            .as_ref()
            .is_some_and(|(s, _)| s.transport.is_none()),
        no_tls_reports: i.reports.tls.reports.is_empty(),
        dnssec_incomplete: i
            .snapshot
            .as_ref()
            .map(|(s, _)| {
                s.domains
                    .iter()
                    .filter(|d| dnssec_incomplete(&d.name, s))
                    .map(|d| d.name.clone())
                    .collect()
            })
            .unwrap_or_default(),
    };
    status::mark(&mut findings, i.previous_evidence, &label, &blind);
    let outcome = treatment::apply(
        &mut findings,
        &treatment::Context {
            domains: i.domains,
            governance: i.governance,
            due_days: &i.policy.due_days,
            month: i.period.month,
            previous: i.previous_evidence,
            decisions: i.decisions,
            today: i.generated_at.with_timezone(&tz).date_naive(),
        },
    );
    let risk_decisions = i.decisions_file.clone().map(|(source, sha256)| {
        treatment::summary(source, sha256, i.decisions, &findings, outcome)
    });
    finding::sort(&mut findings);
    // Each vendor's row lists every open finding raised against it (VEN-*, RPT-002, …),
    // and those on the DKIM keys the inventory says it signs with.
    for row in &mut vendors.vendors {
        let vendor = i.inventory.vendors.iter().find(|v| v.vendor == row.vendor);
        // The inventory finding is against every vendor it names: incomplete rows, cells
        // that could not be read, and domains outside the configured ones.
        let incomplete = vendor.is_some_and(|v| {
            !v.incomplete.is_empty()
                || !v.unreadable.is_empty()
                || v.domains
                    .iter()
                    .any(|d| !i.domains.iter().any(|c| c.name.eq_ignore_ascii_case(d)))
        });
        let signs_with = |subject: &str| {
            subject
                .split_once("._domainkey.")
                .is_some_and(|(sel, dom)| vendor.is_some_and(|v| v.signs_with(sel, dom)))
        };
        row.status = findings
            .iter()
            .filter(|f| f.status != evidence::Status::Resolved)
            .filter(|f| {
                f.subject == row.vendor
                    || f.basis.vendor.as_deref() == Some(row.vendor.as_str())
                    || (f.check == "INV-001" && incomplete)
                    || signs_with(&f.subject)
            })
            .map(|f| f.check.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    let roles: std::collections::BTreeMap<String, crate::config::Role> =
        i.domains.iter().map(|d| (d.name.clone(), d.role)).collect();
    let causes = causes::build(&mut findings, &roles, &domains);
    let cause_counts = causes::count(&causes);
    let controls = controls::map(
        &findings,
        i.snapshot
            .as_ref()
            .is_some_and(|(s, _)| s.transport.as_ref().is_some_and(|t| t.probed)),
    );
    let risk_counts = controls::count(&findings);

    let g = i.generated_at;
    let retain_until = g
        .with_year(g.year() + 6)
        .unwrap_or(g + chrono::Duration::days(6 * 365 + 2))
        .date_naive()
        .to_string();
    let previous = if i.previous_evidence.is_some() || i.previous_snapshot.is_some() {
        Some(PreviousRef {
            period: i.period.month.prev().to_string(),
            evidence: i.previous_evidence_path.clone(),
            sha256: None,
            snapshot: i.previous_snapshot.as_ref().map(|(_, r)| r.clone()),
        })
    } else {
        None
    };

    let mut evidence = Evidence {
        schema: evidence::SCHEMA.to_string(),
        organization: i.organization.to_string(),
        period: PeriodInfo {
            label,
            timezone: i.period.timezone.clone(),
            start: i.period.start,
            end: i.period.end,
        },
        generated_at: i.generated_at,
        tool: ToolInfo {
            name: crate::TOOL_NAME.into(),
            version: crate::TOOL_VERSION.into(),
            public_suffix_list: Some(crate::suffix::LIST.into()),
        },
        scope: i
            .domains
            .iter()
            .map(|d| (d.name.clone(), d.role.label().to_string()))
            .collect(),
        snapshot: i.snapshot.as_ref().map(|(_, r)| r.clone()),
        previous,
        inputs: i.inputs.clone(),
        domains,
        reports: evidence::ReportStats {
            detail: rep.detail,
            tls,
            ..rep.stats
        },
        vendors,
        findings,
        causes,
        cause_counts,
        risk_counts,
        controls,
        changes,
        policy: i.policy.clone(),
        retain_until,
        risk_matrix: risk::matrix(),
        governance: i.governance.clone(),
        existing_controls: i.controls.to_vec(),
        risk_decisions,
        history: None,
        input_root: None,
        snapshots_used: Vec::new(),
        completeness: None,
        checks_not_run: catalog::NOT_YET_RUN.iter().map(|s| s.to_string()).collect(),
        partial: false,
        cut_off: None,
        final_at: None,
        late_reports: Vec::new(),
    };
    let stored: Vec<history::StoredSnapshot<'_>> = i
        .history
        .iter()
        .map(|(file, snapshot)| history::StoredSnapshot {
            file: file.clone(),
            snapshot,
        })
        .collect();
    evidence.history = Some(history::build(
        &evidence,
        i.earlier,
        i.policy.history_months,
        &stored,
    ));
    evidence
}

/// Whether any DNSSEC verdict about `domain` (its MX records, its MX hosts, their TLSA
/// records) is indeterminate in `snap`.
fn dnssec_incomplete(domain: &str, snap: &crate::snapshot::Snapshot) -> bool {
    use crate::snapshot::dnssec::DnssecStatus;
    let Some(v) = &snap.dnssec else {
        return false;
    };
    snap.dnssec_names(domain).iter().any(|(n, t)| {
        v.status(n, *t)
            .is_some_and(|x| x.status == DnssecStatus::Indeterminate)
    })
}

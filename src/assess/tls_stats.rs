//! Summing the period's SMTP TLS reports per policy domain and per MX host, for the evidence
//! (`reports.tls`) and for TLSRPT-002. Pure: it reads the [`TlsReports`] ingestion kept.

use crate::evidence::tls::{
    IpCount, MAX_LISTED_IPS, ReporterCount, ResultCount, TlsDomainStats, TlsMxStats,
    TlsReportSummary, TlsStats,
};
use crate::reports::tls_model::{FailureDetail, PolicyType, ResultType, TlsReports};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The MX host a failure detail without `receiving-mx-hostname` is listed under.
pub const UNNAMED_MX: &str = "(not named)";

/// Report ids kept per reporter and domain.
const MAX_REPORT_IDS: usize = 10;

/// Failure tallies shared by a domain and an MX host.
#[derive(Default)]
struct Failures {
    failed: u64,
    results: BTreeMap<ResultType, u64>,
    sending: BTreeMap<IpAddr, u64>,
    receiving: BTreeMap<IpAddr, u64>,
}

impl Failures {
    fn add(&mut self, f: &FailureDetail) {
        let n = f.failed_sessions;
        self.failed = self.failed.saturating_add(n);
        let r = self.results.entry(f.result_type.clone()).or_default();
        *r = r.saturating_add(n);
        if let Some(ip) = f.sending_mta_ip {
            let e = self.sending.entry(ip).or_default();
            *e = e.saturating_add(n);
        }
        if let Some(ip) = f.receiving_ip {
            let e = self.receiving.entry(ip).or_default();
            *e = e.saturating_add(n);
        }
    }
}

/// Most sessions first, then by value, so the order is the same every run.
fn ranked<K: Ord + Clone>(m: &BTreeMap<K, u64>) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = m.iter().map(|(k, n)| (k.clone(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

fn results(m: &BTreeMap<ResultType, u64>) -> Vec<ResultCount> {
    ranked(m)
        .into_iter()
        .map(|(result_type, sessions)| ResultCount {
            result_type,
            sessions,
        })
        .collect()
}

fn ips(m: &BTreeMap<IpAddr, u64>) -> Vec<IpCount> {
    ranked(m)
        .into_iter()
        .take(MAX_LISTED_IPS)
        .map(|(ip, sessions)| IpCount { ip, sessions })
        .collect()
}

#[derive(Default)]
struct ReporterAcc {
    reports: BTreeSet<String>,
    successful: u64,
    failed: u64,
}

#[derive(Default)]
struct DomainAcc {
    types: BTreeSet<PolicyType>,
    patterns: BTreeSet<String>,
    successful: u64,
    failed: u64,
    failures: Failures,
    mx: BTreeMap<String, Failures>,
    reporters: BTreeMap<String, ReporterAcc>,
}

/// Sums the counted reports. Sessions come from each policy's summary; the breakdown by
/// result type, MX host and address comes from its failure details (which a reporter may
/// leave out, or count differently from its summary).
pub fn build(tls: &TlsReports) -> TlsStats {
    let mut domains: BTreeMap<String, DomainAcc> = BTreeMap::new();
    let mut stats = TlsStats {
        accepted: tls.reports.len(),
        duplicates: tls.duplicates.len(),
        out_of_period: tls.out_of_period,
        ..TlsStats::default()
    };
    for r in &tls.reports {
        let mut ok = 0u64;
        let mut failed = 0u64;
        for p in &r.policies {
            ok = ok.saturating_add(p.successful_sessions);
            failed = failed.saturating_add(p.failed_sessions);
            let d = domains.entry(p.policy_domain.clone()).or_default();
            d.types.insert(p.policy_type);
            d.patterns.extend(p.mx_hosts.iter().cloned());
            d.successful = d.successful.saturating_add(p.successful_sessions);
            d.failed = d.failed.saturating_add(p.failed_sessions);
            for f in &p.failures {
                d.failures.add(f);
                let mx = f
                    .receiving_mx_hostname
                    .clone()
                    .unwrap_or_else(|| UNNAMED_MX.to_string());
                d.mx.entry(mx).or_default().add(f);
            }
            let rep = d.reporters.entry(r.org_name.clone()).or_default();
            if rep.reports.len() < MAX_REPORT_IDS {
                rep.reports.insert(r.report_id.clone());
            }
            rep.successful = rep.successful.saturating_add(p.successful_sessions);
            rep.failed = rep.failed.saturating_add(p.failed_sessions);
        }
        stats.successful = stats.successful.saturating_add(ok);
        stats.failed = stats.failed.saturating_add(failed);
        stats.reports.push(TlsReportSummary {
            file: r.origin.file.clone(),
            member: r.origin.member.clone(),
            org_name: r.org_name.clone(),
            report_id: r.report_id.clone(),
            begin: r.begin,
            end: r.end,
            successful: ok,
            failed,
            repairs: r.repairs.clone(),
        });
    }
    stats.domains = domains
        .into_iter()
        .map(|(policy_domain, d)| {
            let mut mx_hosts: Vec<TlsMxStats> =
                d.mx.iter()
                    .map(|(host, f)| TlsMxStats {
                        mx_host: host.clone(),
                        failed: f.failed,
                        result_types: results(&f.results),
                        sending_ips: ips(&f.sending),
                        sending_ip_count: f.sending.len(),
                        receiving_ips: ips(&f.receiving),
                        receiving_ip_count: f.receiving.len(),
                    })
                    .collect();
            mx_hosts.sort_by(|a, b| b.failed.cmp(&a.failed).then(a.mx_host.cmp(&b.mx_host)));
            TlsDomainStats {
                policy_domain,
                policy_types: d.types.into_iter().collect(),
                mx_patterns: d.patterns.into_iter().collect(),
                successful: d.successful,
                failed: d.failed,
                result_types: results(&d.failures.results),
                mx_hosts,
                sending_ips: ips(&d.failures.sending),
                sending_ip_count: d.failures.sending.len(),
                receiving_ips: ips(&d.failures.receiving),
                receiving_ip_count: d.failures.receiving.len(),
                reporters: d
                    .reporters
                    .into_iter()
                    .map(|(org_name, a)| ReporterCount {
                        org_name,
                        reports: a.reports.len(),
                        successful: a.successful,
                        failed: a.failed,
                        report_ids: a.reports.into_iter().collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::model::Origin;
    use crate::reports::tlsrpt;

    fn report(json: &str, file: &str) -> crate::reports::tls_model::TlsReport {
        let origin = Origin {
            file: file.into(),
            member: None,
        };
        tlsrpt::parse(json.as_bytes(), &origin).unwrap()
    }

    #[test]
    fn sums_per_domain_and_mx_host_with_saturation() {
        let a = report(
            r#"{"organization-name":"A","report-id":"1","date-range":{"start-datetime":"2026-10-01T00:00:00Z","end-datetime":"2026-10-01T23:59:59Z"},
            "policies":[{"policy":{"policy-type":"sts","policy-domain":"portal.test","mx-host":["mx1.portal.test"]},
              "summary":{"total-successful-session-count":10,"total-failure-session-count":18446744073709551615},
              "failure-details":[
                {"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"mx1.portal.test","receiving-ip":"198.51.100.1","failed-session-count":18446744073709551615},
                {"result-type":"starttls-not-supported","sending-mta-ip":"192.0.2.2","failed-session-count":4}]}]}"#,
            "a.json",
        );
        let b = report(
            r#"{"organization-name":"B","report-id":"2","date-range":{"start-datetime":"2026-10-02T00:00:00Z","end-datetime":"2026-10-02T23:59:59Z"},
            "policies":[{"policy":{"policy-type":"no-policy-found","policy-domain":"PORTAL.test."},
              "summary":{"total-successful-session-count":5,"total-failure-session-count":1},
              "failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.1","receiving-mx-hostname":"MX1.portal.test","failed-session-count":1}]}]}"#,
            "b.json",
        );
        let tls = TlsReports {
            reports: vec![a, b],
            ..TlsReports::default()
        };
        let s = build(&tls);
        assert_eq!(s.accepted, 2);
        assert_eq!(s.failed, u64::MAX, "saturates, never overflows");
        assert_eq!(s.domains.len(), 1);
        let d = &s.domains[0];
        assert_eq!(d.policy_domain, "portal.test");
        assert_eq!(d.successful, 15);
        assert_eq!(
            d.policy_types,
            vec![PolicyType::Sts, PolicyType::NoPolicyFound]
        );
        assert_eq!(
            d.result_types[0].result_type,
            ResultType::CertificateExpired
        );
        assert_eq!(d.result_types[0].sessions, u64::MAX);
        assert_eq!(d.result_types[1].sessions, 4);
        assert_eq!(d.mx_hosts[0].mx_host, "mx1.portal.test");
        assert_eq!(d.mx_hosts[1].mx_host, UNNAMED_MX);
        assert_eq!(d.mx_hosts[1].failed, 4);
        assert_eq!(d.sending_ip_count, 2);
        assert_eq!(d.receiving_ips[0].ip.to_string(), "198.51.100.1");
        assert_eq!(d.reporters.len(), 2);
        assert_eq!(d.reporters[1].report_ids, vec!["2".to_string()]);
    }
}

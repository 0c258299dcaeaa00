//! TLSRPT-002: SMTP TLS reports (RFC 8460) that show sessions to one of our domains failing
//! TLS. The DNS checks say whether MTA-STS, DANE and STARTTLS are configured; only these
//! reports say whether senders actually got TLS this period, so a broken certificate or a
//! stripped STARTTLS shows here first.

use super::finding::Draft;
use super::rating;
use super::risk::{Level, Severity};
use crate::config::DomainConfig;
use crate::evidence::Finding;
use crate::evidence::tls::{IpCount, ResultCount, TlsDomainStats, TlsStats};
use crate::inventory::Inventory;
use crate::reports::tls_model::ResultType;

/// MX hosts and addresses quoted per finding; the evidence JSON keeps the full lists.
const QUOTED: usize = 5;

/// What the check reads besides the statistics.
pub struct Context<'a> {
    pub domains: &'a [DomainConfig],
    pub inventory: &'a Inventory,
    /// The period's last day: a PHI vendor whose contract ended by then no longer counts.
    pub period_end: chrono::NaiveDate,
    pub label: &'a str,
}

/// One finding per configured domain whose sessions failed TLS in the period.
pub fn assess(stats: &TlsStats, cx: &Context<'_>) -> Vec<Finding> {
    stats
        .domains
        .iter()
        .filter_map(|d| {
            let config = cx
                .domains
                .iter()
                .find(|c| crate::snapshot::normalize_name(&c.name) == d.policy_domain)?;
            let detailed: u64 = d
                .result_types
                .iter()
                .fold(0u64, |n, r| n.saturating_add(r.sessions));
            let failed = d.failed.max(detailed);
            (failed > 0).then(|| finding(d, &config.name, failed, cx))
        })
        .collect()
}

fn results(list: &[ResultCount]) -> String {
    list.iter()
        .map(|r| format!("{} {}", r.result_type, crate::text::int(r.sessions)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn addresses(list: &[IpCount], distinct: usize) -> String {
    let mut s = list
        .iter()
        .take(QUOTED)
        .map(|i| format!("{} ({})", i.ip, crate::text::int(i.sessions)))
        .collect::<Vec<_>>()
        .join(", ");
    if distinct > QUOTED.min(list.len()) {
        s.push_str(&format!(" and {} more", distinct - QUOTED.min(list.len())));
    }
    s
}

/// What to fix first, from the result types the reports give (RFC 8460 §4.3).
fn remediation(d: &TlsDomainStats, domain: &str) -> Option<String> {
    let has = |t: &ResultType| d.result_types.iter().any(|r| &r.result_type == t);
    let mut steps = Vec::new();
    if has(&ResultType::StarttlsNotSupported) {
        steps.push("enable STARTTLS on the MX hosts that did not offer it (starttls-not-supported can also mean something on the path stripped it)".to_string());
    }
    if has(&ResultType::CertificateExpired) {
        steps.push("renew the expired MX certificate and automate its renewal".to_string());
    }
    if has(&ResultType::CertificateHostMismatch) || has(&ResultType::CertificateNotTrusted) {
        steps.push(
            "serve a certificate from a public CA whose names cover the MX host name".to_string(),
        );
    }
    if has(&ResultType::ValidationFailure) {
        steps.push("check the certificate chain the MX presents (validation-failure: the failure-reason-code in the reports names the error)".to_string());
    }
    if has(&ResultType::StsPolicyFetchError)
        || has(&ResultType::StsPolicyInvalid)
        || has(&ResultType::StsWebpkiInvalid)
    {
        steps.push(format!(
            "make https://mta-sts.{domain}/.well-known/mta-sts.txt reachable with a valid certificate and a well-formed policy whose mx lines cover every MX"
        ));
    }
    if has(&ResultType::TlsaInvalid)
        || has(&ResultType::DnssecInvalid)
        || has(&ResultType::DaneRequired)
    {
        steps.push("republish TLSA records that match the certificates the MX hosts present, in a zone that validates under DNSSEC".to_string());
    }
    if steps.is_empty() {
        return None;
    }
    Some(format!(
        "{}; then check that the next reports show no failed sessions.",
        crate::text::and_list(&steps)
    ))
}

fn finding(d: &TlsDomainStats, domain: &str, failed: u64, cx: &Context<'_>) -> Finding {
    let total = d.successful.saturating_add(d.failed);
    let phi = rating::domain_carries_phi(cx.domains, cx.inventory, cx.period_end, domain);
    let reporters: Vec<String> = d
        .reporters
        .iter()
        .filter(|r| r.failed > 0)
        .map(|r| {
            format!(
                "{} ({} failed; report {})",
                r.org_name,
                crate::text::int(r.failed),
                r.report_ids.join(", ")
            )
        })
        .collect();
    let mut d_ = Draft::new("TLSRPT-002", domain)
        .domain(domain)
        .title(format!(
            "{domain}: {} failed TLS in this period's SMTP TLS reports",
            crate::text::count(failed as usize, "session", "sessions")
        ))
        .severity(if phi { Severity::High } else { Severity::Medium })
        .exposure(
            Level::High,
            format!(
                "this period's SMTP TLS reports show {} to {domain} failing TLS: the failure is occurring now",
                crate::text::count(failed as usize, "session", "sessions")
            ),
        )
        .evidence(format!(
            "{} of {} sessions to {domain} failed TLS (policy {}), reported by {}",
            crate::text::int(d.failed),
            crate::text::int(total),
            d.policy_types
                .iter()
                .map(|p| p.word())
                .collect::<Vec<_>>()
                .join(", "),
            if reporters.is_empty() {
                "reporters whose summaries show no failures".to_string()
            } else {
                reporters.join("; ")
            }
        ));
    if d.result_types.is_empty() {
        d_ = d_.evidence("the reports give no failure details (result types, hosts, addresses)");
    } else {
        d_ = d_.evidence(format!(
            "failed sessions by result type (RFC 8460 §4.3): {}",
            results(&d.result_types)
        ));
    }
    for mx in d.mx_hosts.iter().take(QUOTED) {
        let mut line = format!(
            "MX host {}: {} failed ({})",
            mx.mx_host,
            crate::text::int(mx.failed),
            results(&mx.result_types)
        );
        if !mx.receiving_ips.is_empty() {
            line.push_str(&format!(
                "; at {}",
                addresses(&mx.receiving_ips, mx.receiving_ip_count)
            ));
        }
        d_ = d_.evidence(line);
    }
    if d.mx_hosts.len() > QUOTED {
        d_ = d_.evidence(format!(
            "{} more MX hosts in the evidence's reports.tls",
            d.mx_hosts.len() - QUOTED
        ));
    }
    if !d.mx_patterns.is_empty() {
        d_ = d_.evidence(format!("policy mx-host: {}", d.mx_patterns.join(", ")));
    }
    if !d.sending_ips.is_empty() {
        d_ = d_.evidence(format!(
            "sending MTAs: {}",
            addresses(&d.sending_ips, d.sending_ip_count)
        ));
    }
    if let Some(r) = remediation(d, domain) {
        d_ = d_.remediation(r);
    }
    d_.build(cx.label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use crate::reports::model::Origin;
    use crate::reports::tls_model::TlsReports;
    use crate::reports::tlsrpt;

    fn cx<'a>(domains: &'a [DomainConfig], inv: &'a Inventory) -> Context<'a> {
        Context {
            domains,
            inventory: inv,
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
            label: "2026-10",
        }
    }

    fn domain(name: &str, role: Role) -> DomainConfig {
        DomainConfig {
            name: name.into(),
            role,
            selectors: vec![],
            owner: None,
        }
    }

    fn stats(json: &str) -> TlsStats {
        let origin = Origin {
            file: "t.json".into(),
            member: None,
        };
        let report = tlsrpt::parse(json.as_bytes(), &origin).unwrap();
        super::super::tls_stats::build(&TlsReports {
            reports: vec![report],
            ..TlsReports::default()
        })
    }

    const TWO_DOMAINS: &str = r#"{"organization-name":"Mail.example","report-id":"r-1",
        "date-range":{"start-datetime":"2026-10-05T00:00:00Z","end-datetime":"2026-10-05T23:59:59Z"},
        "policies":[
          {"policy":{"policy-type":"sts","policy-domain":"portal.test","mx-host":"mx.portal.test"},
           "summary":{"total-successful-session-count":90,"total-failure-session-count":10},
           "failure-details":[{"result-type":"certificate-expired","sending-mta-ip":"192.0.2.7",
             "receiving-mx-hostname":"mx.portal.test","receiving-ip":"198.51.100.25","failed-session-count":10}]},
          {"policy":{"policy-type":"no-policy-found","policy-domain":"news.test"},
           "summary":{"total-successful-session-count":5,"total-failure-session-count":2}},
          {"policy":{"policy-type":"sts","policy-domain":"other.example"},
           "summary":{"total-successful-session-count":0,"total-failure-session-count":7}},
          {"policy":{"policy-type":"sts","policy-domain":"staff.test"},
           "summary":{"total-successful-session-count":50,"total-failure-session-count":0}}]}"#;

    #[test]
    fn one_finding_per_configured_domain_with_failures_quoting_the_evidence() {
        let domains = vec![
            domain("portal.test", Role::Patient),
            domain("news.test", Role::Marketing),
            domain("staff.test", Role::Workforce),
        ];
        let inv = Inventory::default();
        let found = assess(&stats(TWO_DOMAINS), &cx(&domains, &inv));
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, vec!["TLSRPT-002:news.test", "TLSRPT-002:portal.test"]);
        let portal = &found[1];
        assert_eq!(portal.severity, Severity::High);
        let text = portal.evidence.join("\n");
        for needle in [
            "10 of 100 sessions to portal.test failed TLS (policy sts)",
            "Mail.example (10 failed; report r-1)",
            "certificate-expired 10",
            "MX host mx.portal.test: 10 failed",
            "198.51.100.25",
            "sending MTAs: 192.0.2.7 (10)",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        assert!(
            portal
                .remediation
                .contains("renew the expired MX certificate")
        );
        assert_eq!(
            crate::assess::catalog::get("TLSRPT-002").map(|c| c.harm),
            Some(crate::assess::basis::Harm::Interception)
        );
        let news = &found[0];
        assert_eq!(
            news.severity,
            Severity::Medium,
            "no PHI on a marketing domain"
        );
        assert!(news.evidence.join("\n").contains("no failure details"));
    }

    #[test]
    fn the_rating_rule_gives_high_for_a_phi_domain_and_lower_otherwise() {
        let domains = vec![
            domain("portal.test", Role::Patient),
            domain("news.test", Role::Marketing),
        ];
        let inv = Inventory::default();
        let mut found = assess(&stats(TWO_DOMAINS), &cx(&domains, &inv));
        let empty = std::collections::BTreeMap::new();
        let spf = std::collections::BTreeMap::new();
        let covered = std::collections::BTreeSet::new();
        let vendor_spf = std::collections::BTreeMap::new();
        let raised = std::collections::BTreeMap::new();
        let past = std::collections::BTreeMap::new();
        rating::apply(
            &mut found,
            &rating::Facts {
                domains: &domains,
                inventory: &inv,
                vendor_volume: &empty,
                covered: &covered,
                any_reports: true,
                controls: &[],
                spf_errors: &spf,
                spf_checked: &spf,
                vendor_spf: &vendor_spf,
                period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
                policy_raised: &raised,
                past_abuse: &past,
            },
        );
        let portal = &found[1];
        assert_eq!(
            (portal.likelihood, portal.impact),
            (Level::High, Level::High)
        );
        assert_eq!(portal.risk, Level::High);
        assert!(
            portal
                .threat
                .as_deref()
                .is_some_and(|t| t.contains("communications interception")),
            "{:?}",
            portal.threat
        );
        let news = &found[0];
        assert_eq!(news.impact, Level::Moderate);
        assert!(news.risk < Level::High);
    }
}

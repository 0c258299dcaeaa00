//! New / persisting / resolved: comparing this period's findings with the previous period's
//! evidence, which is what lets an auditor see that problems were tracked to closure.

use crate::evidence::{Evidence, Finding, Status};
use std::collections::{BTreeMap, BTreeSet};

/// What this period could not observe, so that absence of a finding is not taken as a fix.
#[derive(Debug, Default)]
pub struct Blind {
    /// Domains with a failed DNS lookup (DNS-001) this period.
    pub dns_incomplete: BTreeSet<String>,
    /// No report was accepted this period: report-derived findings cannot be re-checked.
    pub no_reports: bool,
    /// Domains a transport probe could not reach this period (NET-001).
    pub probe_incomplete: BTreeSet<String>,
    /// The snapshot holds no transport section (probes not run): probe-derived findings
    /// cannot be re-checked.
    pub no_transport: bool,
    /// No SMTP TLS report was accepted this period: TLSRPT-002 cannot be re-checked.
    pub no_tls_reports: bool,
    /// Domains whose DNSSEC status (domain, MX host or TLSA) could not be determined this
    /// period: DANE-001, which rests on it, cannot be re-checked.
    pub dnssec_incomplete: BTreeSet<String>,
}

impl Blind {
    /// Why `f` could not be re-verified this period, if it could not.
    fn reason(&self, f: &Finding) -> Option<String> {
        let tls_report_check = f.check == "TLSRPT-002";
        let dns_check = [
            "SPF-", "DKIM-", "DMARC-", "CHG-", "MX-", "TLS", "STS-", "BIMI-", "PARK-",
        ]
        .iter()
        .any(|p| f.check.starts_with(p))
            && !tls_report_check;
        let report_check = f.check.starts_with("RPT-") || f.check == "VEN-006";
        // Judged from what the probes met (DNS alone decides STS-001 and TLSRPT-001).
        let probe_check = matches!(
            f.check.as_str(),
            "TLS-001"
                | "TLS-002"
                | "TLS-003"
                | "STS-002"
                | "STS-003"
                | "STS-004"
                | "DANE-002"
                | "NET-001"
        );
        match &f.domain {
            Some(d) if f.check == "DANE-001" && self.dnssec_incomplete.contains(d) => {
                Some(format!(
                    "not re-verified: the DNSSEC status of {d}'s names could not be determined this period"
                ))
            }
            _ if probe_check && self.no_transport => Some(
                "not re-verified: this period's snapshot holds no transport probes".to_string(),
            ),
            Some(d) if probe_check && self.probe_incomplete.contains(d) => Some(format!(
                "not re-verified: a transport probe for {d} could not reach its server this period (see NET-001)"
            )),
            Some(d) if dns_check && self.dns_incomplete.contains(d) => Some(format!(
                "not re-verified: DNS evidence for {d} is incomplete this period (see DNS-001)"
            )),
            _ if report_check && self.no_reports => {
                Some("not re-verified: no DMARC reports were accepted this period".to_string())
            }
            _ if tls_report_check && self.no_tls_reports => {
                Some("not re-verified: no SMTP TLS reports were accepted this period".to_string())
            }
            _ => None,
        }
    }
}

/// Marks each current finding against `previous`. Previous findings that are gone become
/// `resolved` — unless this period could not have seen them (`blind`), in which case they are
/// carried as `persisting` with the reason, never silently closed.
pub fn mark(current: &mut Vec<Finding>, previous: Option<&Evidence>, label: &str, blind: &Blind) {
    let Some(prev) = previous else { return };
    let before: BTreeMap<&str, &Finding> = prev
        .findings
        .iter()
        .filter(|f| f.status != Status::Resolved)
        .map(|f| (f.id.as_str(), f))
        .collect();
    for f in current.iter_mut() {
        if let Some(old) = before.get(f.id.as_str()) {
            f.status = Status::Persisting;
            f.first_seen = old.first_seen.clone();
        }
    }
    let now: BTreeSet<String> = current.iter().map(|f| f.id.clone()).collect();
    for (id, old) in before {
        if now.contains(id) {
            continue;
        }
        let mut r = old.clone();
        match blind.reason(old) {
            Some(why) => {
                r.status = Status::Persisting;
                r.evidence.insert(0, why);
            }
            None => {
                r.status = Status::Resolved;
                r.evidence.insert(
                    0,
                    format!(
                        "not observed in {label}; last reported in {}",
                        prev.period.label
                    ),
                );
            }
        }
        current.push(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;

    #[test]
    fn new_persisting_resolved() {
        let old_a = Draft::new("SPF-001", "a.example").build("2026-08");
        let old_b = Draft::new("DMARC-003", "b.example").build("2026-09");
        let mut cur = vec![
            Draft::new("SPF-001", "a.example").build("2026-10"),
            Draft::new("SPF-006", "c.example").build("2026-10"),
        ];
        let prev = crate::evidence::tests_support::evidence_with(vec![old_a, old_b], "2026-09");
        mark(&mut cur, Some(&prev), "2026-10", &Blind::default());
        let by: BTreeMap<_, _> = cur
            .iter()
            .map(|f| (f.id.as_str(), (f.status, f.first_seen.as_str())))
            .collect();
        assert_eq!(by["SPF-001:a.example"], (Status::Persisting, "2026-08"));
        assert_eq!(by["SPF-006:c.example"], (Status::New, "2026-10"));
        assert_eq!(by["DMARC-003:b.example"], (Status::Resolved, "2026-09"));
    }

    #[test]
    fn a_dns_failure_never_resolves_a_finding() {
        let old = Draft::new("DMARC-001", "b.example")
            .domain("b.example")
            .build("2026-09");
        let rpt = Draft::new("RPT-001", "b.example")
            .domain("b.example")
            .build("2026-09");
        let prev = crate::evidence::tests_support::evidence_with(vec![old, rpt], "2026-09");
        let mut cur = vec![
            Draft::new("DNS-001", "_dmarc.b.example TXT")
                .domain("b.example")
                .build("2026-10"),
        ];
        let blind = Blind {
            dns_incomplete: ["b.example".to_string()].into(),
            no_reports: true,
            no_tls_reports: true,
            ..Default::default()
        };
        mark(&mut cur, Some(&prev), "2026-10", &blind);
        let f = cur.iter().find(|f| f.check == "DMARC-001").unwrap();
        assert_eq!(f.status, Status::Persisting);
        assert!(f.evidence[0].contains("incomplete"), "{:?}", f.evidence);
        let r = cur.iter().find(|f| f.check == "RPT-001").unwrap();
        assert_eq!(r.status, Status::Persisting);
    }

    #[test]
    fn a_probe_that_could_not_connect_never_resolves_a_transport_finding() {
        let old = |id: &str, host: &str| Draft::new(id, host).domain("b.example").build("2026-09");
        let prev = crate::evidence::tests_support::evidence_with(
            vec![old("TLS-001", "mx.b.example"), old("STS-001", "b.example")],
            "2026-09",
        );
        let mut cur = vec![
            Draft::new("NET-001", "mx.b.example")
                .domain("b.example")
                .build("2026-10"),
        ];
        let blind = Blind {
            probe_incomplete: ["b.example".to_string()].into(),
            ..Default::default()
        };
        mark(&mut cur, Some(&prev), "2026-10", &blind);
        let tls = cur.iter().find(|f| f.check == "TLS-001").unwrap();
        assert_eq!(tls.status, Status::Persisting);
        assert!(tls.evidence[0].contains("NET-001"), "{:?}", tls.evidence);
        // STS-001 is judged from DNS alone: gone means fixed.
        let sts = cur.iter().find(|f| f.check == "STS-001").unwrap();
        assert_eq!(sts.status, Status::Resolved);
        // A snapshot without probes re-verifies nothing the probes judged.
        let mut cur = vec![];
        let blind = Blind {
            no_transport: true,
            ..Default::default()
        };
        mark(&mut cur, Some(&prev), "2026-10", &blind);
        let tls = cur.iter().find(|f| f.check == "TLS-001").unwrap();
        assert_eq!(tls.status, Status::Persisting);
    }

    /// TLSRPT-002 is re-checked by TLS reports, not DNS: a month without them carries it,
    /// a DNS gap alone does not, and a month with them that shows no failure resolves it.
    #[test]
    fn tls_report_findings_wait_for_tls_reports() {
        let old = Draft::new("TLSRPT-002", "b.example")
            .domain("b.example")
            .build("2026-09");
        let prev = crate::evidence::tests_support::evidence_with(vec![old], "2026-09");
        let mark_with = |blind: Blind| {
            let mut cur = Vec::new();
            mark(&mut cur, Some(&prev), "2026-10", &blind);
            cur.remove(0)
        };
        let f = mark_with(Blind {
            no_tls_reports: true,
            ..Blind::default()
        });
        assert_eq!(f.status, Status::Persisting);
        assert!(
            f.evidence[0].contains("no SMTP TLS reports"),
            "{:?}",
            f.evidence
        );
        let f = mark_with(Blind {
            dns_incomplete: ["b.example".to_string()].into(),
            ..Blind::default()
        });
        assert_eq!(f.status, Status::Resolved);
    }

    /// DANE-001 rests on the TLSA records' DNSSEC status: a month whose validation could not
    /// finish carries it; a month that validated and no longer raises it resolves it.
    #[test]
    fn an_undetermined_dnssec_status_never_resolves_dane_001() {
        let old = Draft::new("DANE-001", "mx.b.example")
            .domain("b.example")
            .build("2026-09");
        let prev = crate::evidence::tests_support::evidence_with(vec![old], "2026-09");
        let mark_with = |blind: Blind| {
            let mut cur = Vec::new();
            mark(&mut cur, Some(&prev), "2026-10", &blind);
            cur.remove(0)
        };
        let f = mark_with(Blind {
            dnssec_incomplete: ["b.example".to_string()].into(),
            ..Blind::default()
        });
        assert_eq!(f.status, Status::Persisting);
        assert!(f.evidence[0].contains("DNSSEC"), "{:?}", f.evidence);
        assert_eq!(mark_with(Blind::default()).status, Status::Resolved);
    }
}

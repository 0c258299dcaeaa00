//! A failing DNS server must yield "evidence incomplete" (DNS-001), never "record missing".

mod support;

use serde_json::Value;
use std::process::Command;

/// `check` of the given domains; the exit code must be `code` (0 all answered, 4 some lookups
/// failed, 1 none answered), and the JSON is printed in every case.
fn check_domains(addr: std::net::SocketAddr, domains: &[&str], code: i32) -> (Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_mailproof"))
        .arg("check")
        .args(domains)
        .args(["--selector", "s1", "--format", "json", "--nameserver"])
        .arg(addr.to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "{err}");
    (serde_json::from_slice(&o.stdout).unwrap(), err)
}

fn check(addr: std::net::SocketAddr, code: i32) -> Value {
    check_domains(addr, &["clinic.test"], code).0
}

fn checks_of(v: &Value) -> Vec<String> {
    v[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn servfail_and_refused_are_dns_001_not_missing_records() {
    for fault in [support::Fault::ServFail, support::Fault::Refused] {
        let dns = support::start_fault(fault);
        // Not one lookup answered: exit 1, as a run would, though the posture is printed.
        let v = check(dns.addr, 1);
        let checks = checks_of(&v);
        assert!(checks.iter().any(|c| c == "DNS-001"), "{checks:?}");
        for wrong in ["SPF-001", "DMARC-001", "DKIM-001"] {
            assert!(
                !checks.iter().any(|c| c == wrong),
                "{wrong} raised on a failed lookup: {checks:?}"
            );
        }
        assert_eq!(v[0]["spf"]["status"], "incomplete");
        assert_eq!(v[0]["dmarc"]["status"], "incomplete");
        assert_eq!(v[0]["dkim"][0]["status"], "incomplete");
        let dns001 = v[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "DNS-001")
            .unwrap();
        assert!(
            dns001["title"]
                .as_str()
                .unwrap()
                .contains("evidence incomplete")
        );
    }
}

#[test]
fn an_answering_server_with_no_records_gives_missing_records() {
    // The same name served by a real zone that lacks the records: now they are missing.
    let zone = support::tests_dir().join("zones/faults/empty-clinic.test.zone");
    // Under a signed root, so the zone is provably unsigned and the check complete (exit 0).
    let world = support::signed::start_signed(&[("clinic.test", zone)], &[], &[], None);
    let o = Command::new(env!("CARGO_BIN_EXE_mailproof"))
        .args([
            "check",
            "clinic.test",
            "--selector",
            "s1",
            "--format",
            "json",
        ])
        .arg("--nameserver")
        .arg(world.dns.addr.to_string())
        .arg("--dnssec-anchor")
        .arg(&world.anchor)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["dnssec"], "insecure");
    let checks = checks_of(&v);
    assert!(checks.iter().any(|c| c == "SPF-001"), "{checks:?}");
    assert!(checks.iter().any(|c| c == "DMARC-001"), "{checks:?}");
    assert!(!checks.iter().any(|c| c == "DNS-001"), "{checks:?}");
    assert_eq!(v[0]["spf"]["status"], "missing");
}

/// A server that never answers: every lookup is recorded as `timeout`, and the assessment of
/// that snapshot says DNS-001 (evidence incomplete), never "no SPF/DMARC record".
#[tokio::test]
async fn a_silent_server_gives_timeouts_and_dns_001() {
    use mailproof::assess::{dns_checks, posture};
    use mailproof::config::{DomainConfig, PolicyConfig, Role};
    use mailproof::dns::{ResolverSettings, capture_names};
    use mailproof::snapshot::Outcome;
    let dns = support::start_fault(support::Fault::Silent);
    let settings = ResolverSettings {
        nameservers: vec![dns.addr],
        timeout: std::time::Duration::from_millis(200),
        attempts: 1,
        concurrency: 8,
    };
    let snap = capture_names(
        &["clinic.test".to_string()],
        &["s1".to_string()],
        &settings,
        chrono::Utc::now(),
    )
    .await
    .expect("capture runs");
    assert!(snap.lookups.iter().all(|l| l.outcome == Outcome::Timeout));
    // One retry after a 25 ms backoff: at least two timeouts' worth per lookup.
    assert!(
        snap.lookups.iter().all(|l| l.elapsed_ms >= 400),
        "{:?}",
        snap.lookups
    );
    let domains = vec![DomainConfig {
        name: "clinic.test".into(),
        role: Role::Patient,
        selectors: vec![],
        owner: None,
    }];
    let postures: Vec<_> = domains
        .iter()
        .map(|d| posture::build(d, &snap.domains, &snap))
        .collect();
    let findings = dns_checks::assess(&dns_checks::Context {
        domains: &domains,
        postures: &postures,
        snapshot: &snap,
        inventory: &Default::default(),
        reports: &Default::default(),
        policy: &PolicyConfig::default(),
        label: "2026-10",
        period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
    });
    let checks: Vec<&str> = findings.iter().map(|f| f.check.as_str()).collect();
    assert!(checks.contains(&"DNS-001"), "{checks:?}");
    for wrong in ["SPF-001", "DMARC-001", "DKIM-001"] {
        assert!(!checks.contains(&wrong), "{wrong} on a timeout: {checks:?}");
    }
    assert_eq!(postures[0].spf.status, "incomplete");
    assert_eq!(postures[0].grade, "incomplete");
}

#[test]
fn a_check_that_could_ask_only_some_names_exits_4_and_names_them() {
    // clinic.test is served; elsewhere.test is in no zone of this server, which refuses it.
    let zone = support::tests_dir().join("zones/faults/empty-clinic.test.zone");
    let dns = support::start(&[("clinic.test", zone)]);
    let (v, err) = check_domains(dns.addr, &["clinic.test", "elsewhere.test"], 4);
    assert_eq!(v[0]["spf"]["status"], "missing");
    assert_eq!(v[1]["spf"]["status"], "incomplete");
    assert!(err.contains("evidence incomplete (exit 4)"), "{err}");
    assert!(err.contains("elsewhere.test TXT: refused"), "{err}");
    assert!(!err.contains("clinic.test TXT"), "{err}");
}

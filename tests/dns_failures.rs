//! A failing DNS server must yield "evidence incomplete" (DNS-001), never "record missing".

mod support;

use serde_json::Value;
use std::process::Command;

fn check(addr: std::net::SocketAddr) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_mailproof"))
        .args([
            "check",
            "clinic.test",
            "--selector",
            "s1",
            "--format",
            "json",
            "--nameserver",
        ])
        .arg(addr.to_string())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
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
        let v = check(dns.addr);
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
    let dns = support::start(&[("clinic.test", zone)]);
    let v = check(dns.addr);
    let checks = checks_of(&v);
    assert!(checks.iter().any(|c| c == "SPF-001"), "{checks:?}");
    assert!(checks.iter().any(|c| c == "DMARC-001"), "{checks:?}");
    assert!(!checks.iter().any(|c| c == "DNS-001"), "{checks:?}");
    assert_eq!(v[0]["spf"]["status"], "missing");
}

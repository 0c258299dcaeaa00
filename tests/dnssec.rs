//! DNSSEC validated by mailproof itself, against a signed world on loopback: a signed zone
//! (secure), a zone delegated without DS (insecure), and a zone whose parent publishes the DS
//! of another key, as after a botched key rollover (bogus). The chain runs from a test root
//! whose key is handed to `--dnssec-anchor`, exactly as the IANA root anchors the real one.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailproof"));
    c.env_remove("MAILPROOF_LOG");
    c
}

/// A TLSA record that a DANE sender would use (DANE-EE, SPKI, SHA-256).
const TLSA: &str = "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6";

fn zone(dir: &Path, origin: &str) -> PathBuf {
    let text = format!(
        "$ORIGIN {origin}.\n$TTL 3600\n\
         @ IN SOA ns.{origin}. hostmaster.{origin}. 1 7200 3600 1209600 300\n\
         @ IN NS ns.{origin}.\n\
         ns IN A 127.0.0.53\n\
         @ IN MX 10 mx.{origin}.\n\
         @ IN TXT \"v=spf1 -all\"\n\
         _dmarc IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{origin}\"\n\
         mx IN A 127.0.0.25\n\
         _25._tcp.mx IN TLSA {TLSA}\n"
    );
    let path = dir.join(format!("{origin}.zone"));
    std::fs::write(&path, text).unwrap();
    path
}

struct World {
    dns: support::signed::SignedDns,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let zones: Vec<(&str, PathBuf)> = ["secure.test", "plain.test", "broken.test"]
        .into_iter()
        .map(|o| (o, zone(dir.path(), o)))
        .collect();
    let dns = support::signed::start_signed(&zones, &["secure.test"], &["broken.test"], None);
    World { dns, _dir: dir }
}

fn check(w: &World, anchor: Option<&Path>) -> (Option<i32>, Value, String) {
    let mut c = bin();
    c.args([
        "check",
        "secure.test",
        "plain.test",
        "broken.test",
        "--format",
        "json",
        "--no-probe",
        "--nameserver",
    ])
    .arg(w.dns.dns.addr.to_string());
    if let Some(a) = anchor {
        c.arg("--dnssec-anchor").arg(a);
    }
    let o = c.output().expect("check");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("check json: {e}\n{stderr}"));
    (o.status.code(), v, stderr)
}

fn names(d: &Value) -> Vec<(String, String, String)> {
    d["dnssec_validation"]["names"]
        .as_array()
        .unwrap_or_else(|| panic!("no dnssec_validation in {d}"))
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["rtype"].as_str().unwrap().to_string(),
                n["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn checks(d: &Value) -> Vec<String> {
    d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn secure_insecure_and_bogus_against_the_test_root() {
    let w = world();
    let (code, v, stderr) = check(&w, Some(&w.dns.anchor));
    assert_eq!(code, Some(0), "{stderr}");
    let (secure, plain, broken) = (&v[0], &v[1], &v[2]);

    assert_eq!(secure["dnssec"], "secure");
    assert_eq!(
        names(secure),
        vec![
            ("secure.test".into(), "MX".into(), "secure".into()),
            ("mx.secure.test".into(), "A".into(), "secure".into()),
            (
                "_25._tcp.mx.secure.test".into(),
                "TLSA".into(),
                "secure".into()
            ),
        ]
    );
    assert_eq!(secure["mx"][0]["tlsa_dnssec"], "secure");
    assert!(
        secure["dnssec_validation"]["anchor"]
            .as_str()
            .unwrap()
            .contains("SHA-256"),
        "{}",
        secure["dnssec_validation"]
    );
    assert!(!checks(secure).contains(&"DANE-001".to_string()));

    assert_eq!(plain["dnssec"], "insecure");
    assert!(names(plain).iter().all(|(_, _, s)| s == "insecure"));
    assert!(checks(plain).contains(&"DANE-001".to_string()));

    assert_eq!(broken["dnssec"], "bogus");
    assert_eq!(broken["mx"][0]["tlsa_dnssec"], "bogus");
    assert!(checks(broken).contains(&"DANE-001".to_string()));
}

/// A world without a signed root, as behind a resolver that strips DNSSEC records: no chain
/// can start, so every name is indeterminate and the evidence incomplete (exit 4). Never
/// "insecure", never "bogus", and never a DANE-001 about signing.
#[test]
fn no_chain_from_the_anchor_is_evidence_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let z = zone(dir.path(), "plain.test");
    let dns = support::start(&[("plain.test", z.as_path())]);
    let o = bin()
        .args([
            "check",
            "plain.test",
            "--format",
            "json",
            "--no-probe",
            "--nameserver",
        ])
        .arg(dns.addr.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("DNSSEC status of 3 names could not be determined")
            && stderr.contains("trust anchor's own DNSKEY set (.) does not validate"),
        "{stderr}"
    );
    // hickory's own warnings stay out of the operator's terminal.
    assert!(!stderr.contains("WARN"), "{stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["dnssec"], "indeterminate");
    assert!(names(&v[0]).iter().all(|(_, _, s)| s == "indeterminate"));
    assert!(
        v[0]["dnssec_validation"]["anchor"]
            .as_str()
            .unwrap()
            .starts_with("IANA root")
    );
    assert!(!checks(&v[0]).contains(&"DANE-001".to_string()));
}

/// An anchor file that is not one stops the run before any capture, naming the file.
#[test]
fn a_bad_anchor_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("root.anchor");
    std::fs::write(&bad, "this is not a DNSKEY\n").unwrap();
    let o = bin()
        .args([
            "check",
            "plain.test",
            "--no-probe",
            "--nameserver",
            "127.0.0.1:9",
        ])
        .arg("--dnssec-anchor")
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("root.anchor") && stderr.contains("DNSKEY"),
        "{stderr}"
    );
}

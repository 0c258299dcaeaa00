//! `mailproof check` (JSON contract and text form) and `mailproof diff` (text, JSON, markdown,
//! with `--inventory`), run as a user would, against real DNS on 127.0.0.1.

mod support;

use serde_json::Value;
use std::process::Command;
use support::Rr;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailproof"))
}

fn txt(s: &str) -> Rr {
    Rr::Txt(vec![s.as_bytes().to_vec()])
}

fn clinic_zone() -> support::MemoryZone {
    [
        (
            "clinic.test",
            vec![
                txt("v=spf1 include:spf.vendor.test +all"),
                Rr::Mx(10, "mx.clinic.test".into()),
            ],
        ),
        ("mx.clinic.test", vec![Rr::A("192.0.2.25".parse().unwrap())]),
        ("spf.vendor.test", vec![txt("v=spf1 ip4:198.51.100.0/24 -all")]),
        (
            "_dmarc.clinic.test",
            vec![txt(
                "v=DMARC1; p=reject; pct=50; rua=mailto:agg@reports.vendor.test; ruf=mailto:forensic@reports.vendor.test",
            )],
        ),
        (
            "reports.vendor.test",
            vec![Rr::Mx(5, "in.reports.vendor.test".into())],
        ),
        (
            "s1._domainkey.clinic.test",
            vec![txt(
                "v=DKIM1; k=ed25519; t=y; h=sha256; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            )],
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn check(addr: std::net::SocketAddr, format: &str) -> std::process::Output {
    let o = bin()
        .args([
            "check",
            "clinic.test",
            "--selector",
            "s1",
            "--format",
            format,
            // The fixture's MX host is a documentation address: no server to probe.
            "--no-probe",
        ])
        .arg("--nameserver")
        .arg(addr.to_string())
        .output()
        .unwrap();
    // The in-memory server serves no DNSSEC records, so no chain can start from the root
    // anchor: exit 4 for that alone, with every DNS lookup answered.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("DNSSEC status of 3 names could not be determined")
            && !stderr.contains("DNS lookups failed")
            && !stderr.contains("transport probe"),
        "{stderr}"
    );
    o
}

#[test]
fn check_json_keeps_the_contract_and_verifies_report_destinations() {
    let dns = support::start_memory(clinic_zone());
    let v: Value = serde_json::from_slice(&check(dns.addr, "json").stdout).unwrap();
    let d = &v[0];
    assert_eq!(d["domain"], "clinic.test");
    // Transport (contract): mx[] entries are objects; with --no-probe none was contacted.
    assert_eq!(d["mx"][0]["host"], "mx.clinic.test", "{}", d["mx"]);
    assert_eq!(d["mx"][0]["probe"], "not probed");
    // DNSSEC (contract): the domain's status, and each name validated with the reason.
    assert_eq!(d["dnssec"], "indeterminate");
    assert!(
        d["dnssec_validation"]["names"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("does not validate"),
        "{}",
        d["dnssec_validation"]
    );
    assert_eq!(d["mx"][0]["addresses"][0], "192.0.2.25");
    assert!(d["mta_sts"].is_object() && d["tls_rpt"].is_object(), "{d}");
    assert_eq!(d["transport_probed"], false);
    // DESIGN.md contract keys.
    for k in [
        "record",
        "lookups",
        "void_lookups",
        "all",
        "errors",
        "warnings",
    ] {
        assert!(d["spf"].get(k).is_some(), "spf.{k}");
    }
    for k in [
        "record", "location", "p", "sp", "np", "rua", "errors", "warnings",
    ] {
        assert!(d["dmarc"].get(k).is_some(), "dmarc.{k}");
    }
    for k in [
        "selector", "status", "key_type", "key_bits", "errors", "warnings",
    ] {
        assert!(d["dkim"][0].get(k).is_some(), "dkim.{k}");
    }
    // mx[] entries are objects (issue 15's contract change): host, preference, addresses.
    assert_eq!(d["mx"][0]["preference"], 10);
    assert_eq!(d["mx"].as_array().unwrap().len(), 1);
    assert_eq!(d["spf"]["all"], "+all");
    assert_eq!(d["spf"]["lookups"], 1);
    assert_eq!(d["dkim"][0]["key_type"], "ed25519");
    assert_eq!(d["dkim"][0]["testing"], true);
    assert_eq!(
        d["dkim"][0]["hash_algorithms"],
        serde_json::json!(["sha256"])
    );

    let dest = d["dmarc"]["destinations"].as_array().unwrap();
    assert_eq!(dest.len(), 2);
    assert_eq!(dest[0]["kind"], "rua");
    assert_eq!(dest[0]["external"], true);
    assert_eq!(dest[0]["authorization"], "not authorized");
    assert_eq!(
        dest[0]["authorization_name"],
        "clinic.test._report._dmarc.reports.vendor.test"
    );
    assert_eq!(
        dest[0]["mx"],
        serde_json::json!(["5 in.reports.vendor.test."])
    );

    let checks: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    for want in ["SPF-005", "DMARC-005", "DMARC-009", "DMARC-010"] {
        assert!(checks.contains(&want), "{want} missing from {checks:?}");
    }
    let spf5 = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "SPF-005")
        .unwrap();
    assert_eq!(spf5["severity"], "critical", "+all is critical");
}

#[test]
fn check_text_reads_like_a_report() {
    let dns = support::start_memory(clinic_zone());
    let o = check(dns.addr, "text");
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "clinic.test  [",
        "SPF    found: v=spf1 include:spf.vendor.test +all",
        "1 DNS lookups (limit 10), 0 void (limit 2)",
        "include:spf.vendor.test  [1 lookup]",
        "p=reject sp=(p) np=(sp) pct=50",
        "rua mailto:agg@reports.vendor.test: external, not authorized; MX 5 in.reports.vendor.test.",
        "DKIM   s1: testing ed25519",
        "[t=y (testing), h=sha256]",
        "MX     10 mx.clinic.test [192.0.2.25]: not probed",
        "warning: clinic.test: offset 31: `+all` authorizes every host",
        "DMARC-009 [",
        "DMARC-010 [",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn diff(format: &str) -> String {
    diff_with(format, &[])
}

fn diff_with(format: &str, extra: &[&str]) -> String {
    let snaps = samples().join("snapshots");
    let o = bin()
        .arg("diff")
        .arg(snaps.join("2026-10-01T110000Z.json"))
        .arg(snaps.join("2026-11-01T120000Z.json"))
        .arg("--inventory")
        .arg(samples().join("vendors.csv"))
        .args(["--format", format])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn diff_names_what_each_change_means_in_every_format() {
    let v: Value = serde_json::from_str(&diff("json")).unwrap();
    let changes = v.as_array().unwrap();
    let find = |name: &str, direction: &str| {
        changes
            .iter()
            .find(|c| c["name"] == name && c["direction"] == direction)
            .unwrap_or_else(|| panic!("no {direction} change for {name}: {v:#}"))
    };
    let inc = find("include:spf.surveyspark.example", "added");
    assert!(
        inc["meaning"]
            .as_str()
            .unwrap()
            .contains("no inventory vendor lists this include")
    );
    let spf = find("riversidehealth.example", "weakened");
    assert!(
        spf["meaning"]
            .as_str()
            .unwrap()
            .contains("over the limit of 10")
    );
    assert_eq!(
        find("mychart._domainkey.myriversidechart.example", "rotated")["area"],
        "dkim"
    );
    // Only the two files are read: no key is past its window between them.
    assert!(
        changes.iter().all(|c| c["direction"] != "unchanged"),
        "{v:#}"
    );
    let tls = find("_smtp._tls.myriversidechart.example", "removed");
    assert_eq!(tls["effect"], "weakened");
    assert_eq!(tls["check"], "CHG-004");
    assert_eq!(
        find("include:spf.surveyspark.example", "added")["effect"],
        "weakened"
    );
    assert_eq!(
        find("include:spf.surveyspark.example", "added")["check"],
        "CHG-005"
    );
    assert!(find("riversidehealth.example", "weakened")["risk"].is_string());

    // With the stored history, keys the same since the oldest snapshot (2025-10-01) are past
    // 365 days.
    let snaps = samples().join("snapshots");
    let h: Value =
        serde_json::from_str(&diff_with("json", &["--history", snaps.to_str().unwrap()])).unwrap();
    let stale = h
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["name"] == "selector1._domainkey.riversidehealth.example"
                && c["direction"] == "unchanged"
        })
        .unwrap_or_else(|| panic!("no stale key: {h:#}"));
    assert!(stale["meaning"].as_str().unwrap().contains("396 days"));
    assert_eq!(stale["check"], "CHG-003");

    let text = diff("text");
    assert!(text.contains("!! spf      weakened"), "{text}");
    assert!(text.contains("\nriversidehealth.example\n"), "{text}");
    let md = diff("markdown");
    assert!(
        md.starts_with("## DNS changes: 2026-10-01 → 2026-11-01"),
        "{md}"
    );
    assert!(
        md.contains("| riversidehealth.example | spf | include:spf.surveyspark.example | weakened | CHG-005 |"),
        "{md}"
    );
}

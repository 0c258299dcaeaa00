//! SMTP TLS reports (RFC 8460): every sample in the shared corpus's `parsedmarc/samples/smtp_tls`
//! read with the values it really holds, hostile variants of them refused with a reason, and a
//! monthly run over the bundled samples with a TLS report among them.

mod common;

use mailproof::reports::model::Origin;
use mailproof::reports::open::Limits;
use mailproof::reports::store::{ingest, ingest_bytes, ingest_bytes_with};
use mailproof::reports::tls_model::{PolicyType, ResultType, TlsReport};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The corpus's TLS samples folder, or `None` (after saying so) when the corpus is absent
/// outside CI; under `CI=true` its absence fails.
fn smtp_tls() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILPROOF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("parsedmarc/samples/smtp_tls");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "corpus not found at {} (required when CI=true)",
        dir.display()
    );
    println!("skipped: corpus not found at {}", dir.display());
    None
}

/// The one TLS report a corpus file holds; fails naming what else it yielded.
fn one(dir: &Path, name: &str) -> TlsReport {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out = ingest_bytes(name, &bytes);
    assert!(
        out.rejected.is_empty() && out.reports.is_empty() && out.tls_reports.len() == 1,
        "{name}: rejected {:?}, DMARC reports {}, TLS reports {}",
        out.rejected,
        out.reports.len(),
        out.tls_reports.len()
    );
    let r = out.tls_reports.remove(0);
    assert!(r.repairs.is_empty(), "{name}: {:?}", r.repairs);
    r
}

fn ip(s: &str) -> Option<std::net::IpAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn the_rfc_example_is_read_whole() {
    let Some(dir) = smtp_tls() else { return };
    let r = one(&dir, "rfc8460.json");
    assert_eq!(r.org_name, "Company-X");
    assert_eq!(r.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    assert_eq!(
        r.contact_info.as_deref(),
        Some("sts-reporting@company-x.example")
    );
    assert_eq!(r.begin.to_rfc3339(), "2016-04-01T00:00:00+00:00");
    assert_eq!(r.end.to_rfc3339(), "2016-04-01T23:59:59+00:00");
    assert_eq!(r.policies.len(), 1);
    let p = &r.policies[0];
    assert_eq!(p.policy_type, PolicyType::Sts);
    assert_eq!(p.policy_domain, "company-y.example");
    // The RFC's own example gives `mx-host` as one string.
    assert_eq!(p.mx_hosts, vec!["*.mail.company-y.example"]);
    assert_eq!(
        p.policy_string,
        vec![
            "version: STSv1",
            "mode: testing",
            "mx: *.mail.company-y.example",
            "max_age: 86400"
        ]
    );
    assert_eq!((p.successful_sessions, p.failed_sessions), (5326, 303));
    assert_eq!(p.failures.len(), 3);
    let f = &p.failures;
    assert_eq!(f[0].result_type, ResultType::CertificateExpired);
    assert_eq!(f[0].sending_mta_ip, ip("2001:db8:abcd:12::1"));
    assert_eq!(
        f[0].receiving_mx_hostname.as_deref(),
        Some("mx1.mail.company-y.example")
    );
    assert_eq!(f[0].failed_sessions, 100);
    assert_eq!(f[1].result_type, ResultType::StarttlsNotSupported);
    assert_eq!(f[1].receiving_ip, ip("203.0.113.56"));
    assert_eq!(f[1].failed_sessions, 200);
    assert_eq!(
        f[1].additional_information.as_deref(),
        Some("https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported")
    );
    assert_eq!(f[2].result_type, ResultType::ValidationFailure);
    assert_eq!(f[2].sending_mta_ip, ip("198.51.100.62"));
    assert_eq!(f[2].receiving_ip, ip("203.0.113.58"));
    assert_eq!(
        f[2].receiving_mx_hostname.as_deref(),
        Some("mx-backup.mail.company-y.example")
    );
    assert_eq!(f[2].failed_sessions, 3);
    assert_eq!(
        f[2].failure_reason_code.as_deref(),
        Some("X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED")
    );
    assert_eq!(p.detailed_failures(), 303);
}

#[test]
fn the_anonymised_report_and_mail_ru_are_read_with_their_counts() {
    let Some(dir) = smtp_tls() else { return };
    let r = one(&dir, "smtp_tls.json");
    assert_eq!(r.org_name, "Example Inc.");
    assert_eq!(r.report_id, "2024-01-09T00:00:00Z_example.com");
    assert_eq!(
        r.contact_info.as_deref(),
        Some("smtp-tls-reporting@example.com")
    );
    let p = &r.policies[0];
    assert_eq!(
        (p.policy_type, p.policy_domain.as_str()),
        (PolicyType::Sts, "example.com")
    );
    assert!(p.mx_hosts.is_empty());
    assert_eq!((p.successful_sessions, p.failed_sessions), (0, 3));
    let got: Vec<_> = p
        .failures
        .iter()
        .map(|f| {
            (
                f.result_type.word().to_string(),
                f.sending_mta_ip,
                f.receiving_ip,
                f.failed_sessions,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "validation-failure".to_string(),
                ip("209.85.222.201"),
                ip("173.212.201.41"),
                2
            ),
            (
                "validation-failure".to_string(),
                ip("209.85.208.176"),
                ip("173.212.201.41"),
                1
            ),
        ]
    );

    // Mail.ru's summary counts one failed session; its details list two fetch errors.
    let r = one(&dir, "mail.ru.json");
    assert_eq!(r.org_name, "Mail.ru");
    assert_eq!(r.report_id, "b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru");
    assert_eq!(r.contact_info.as_deref(), Some("tls_support@corp.mail.ru"));
    assert_eq!(r.begin.to_rfc3339(), "2024-02-22T00:00:00+00:00");
    assert_eq!(r.end.to_rfc3339(), "2024-02-23T00:00:00+00:00");
    let p = &r.policies[0];
    assert_eq!(
        (p.policy_type, p.policy_domain.as_str()),
        (PolicyType::Sts, "example.com")
    );
    assert_eq!((p.successful_sessions, p.failed_sessions), (0, 1));
    let got: Vec<_> = p
        .failures
        .iter()
        .map(|f| {
            (
                f.result_type.clone(),
                f.failed_sessions,
                f.failure_reason_code.as_deref(),
                f.sending_mta_ip,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ResultType::StsPolicyFetchError,
                1,
                Some("bad https response code: 404"),
                None
            ),
            (
                ResultType::StsPolicyFetchError,
                1,
                Some("bad https response code: 500"),
                None
            ),
        ]
    );
}

#[test]
fn googles_report_email_is_opened_to_its_gzip_part() {
    let Some(dir) = smtp_tls() else { return };
    let r = one(&dir, "google.com_smtp_tls_report.eml");
    assert_eq!(r.org_name, "Google Inc.");
    assert_eq!(r.report_id, "2024-09-03T00:00:00Z_cardinalhealth.ca");
    assert_eq!(
        r.contact_info.as_deref(),
        Some("smtp-tls-reporting@google.com")
    );
    assert_eq!(r.begin.to_rfc3339(), "2024-09-03T00:00:00+00:00");
    assert_eq!(r.end.to_rfc3339(), "2024-09-03T23:59:59+00:00");
    let member = r.origin.member.clone().unwrap_or_default();
    assert!(
        member.contains("application/tlsrpt+gzip")
            && member.contains("google.com!cardinalhealth.ca!1725321600!1725407999!001.json.gz"),
        "{member}"
    );
    let p = &r.policies[0];
    assert_eq!(p.policy_type, PolicyType::NoPolicyFound);
    assert_eq!(p.policy_domain, "cardinalhealth.ca");
    assert_eq!((p.successful_sessions, p.failed_sessions), (48, 0));
    assert!(p.failures.is_empty());
}

#[test]
fn the_folder_is_four_tls_reports_nothing_rejected_and_periods_apply() {
    let Some(dir) = smtp_tls() else { return };
    let set = ingest(std::slice::from_ref(&dir), None);
    assert!(set.rejected.is_empty(), "{:?}", set.rejected);
    assert!(set.reports.is_empty());
    assert_eq!(set.files.len(), 4);
    let ids: Vec<&str> = set
        .tls
        .reports
        .iter()
        .map(|r| r.org_name.as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["Company-X", "Example Inc.", "Mail.ru", "Google Inc."]
    );
    // Twice the same folder: four duplicates, each naming the copy kept.
    let twice = ingest(&[dir.clone(), dir.join("../smtp_tls")], None);
    assert_eq!(twice.tls.reports.len(), 4);
    assert_eq!(twice.tls.duplicates.len(), 4);
    // By the midpoint rule, September 2024 holds Google's report only; Mail.ru's range
    // (Feb 22 00:00 to Feb 23 00:00) is counted in February.
    let sept = mailproof::period::Period::new(
        mailproof::period::Month {
            year: 2024,
            month: 9,
        },
        chrono_tz::UTC,
    );
    let set = ingest(std::slice::from_ref(&dir), Some(&sept));
    assert_eq!(set.tls.reports.len(), 1);
    assert_eq!(set.tls.reports[0].org_name, "Google Inc.");
    assert_eq!(set.tls.out_of_period, 3);

    // Per policy domain: example.com sums Example Inc.'s and Mail.ru's reports.
    let all = ingest(std::slice::from_ref(&dir), None);
    let stats = mailproof::assess::tls_stats::build(&all.tls);
    assert_eq!((stats.successful, stats.failed), (5326 + 48, 303 + 3 + 1));
    let ex = stats
        .domains
        .iter()
        .find(|d| d.policy_domain == "example.com")
        .unwrap();
    assert_eq!((ex.successful, ex.failed), (0, 4));
    let results: Vec<(String, u64)> = ex
        .result_types
        .iter()
        .map(|r| (r.result_type.word().to_string(), r.sessions))
        .collect();
    assert_eq!(
        results,
        vec![
            ("validation-failure".to_string(), 3),
            ("sts-policy-fetch-error".to_string(), 2)
        ]
    );
    let reporters: Vec<&str> = ex.reporters.iter().map(|r| r.org_name.as_str()).collect();
    assert_eq!(reporters, vec!["Example Inc.", "Mail.ru"]);
    assert_eq!(ex.sending_ip_count, 2);
    let y = stats
        .domains
        .iter()
        .find(|d| d.policy_domain == "company-y.example")
        .unwrap();
    let mx: Vec<(&str, u64)> = y
        .mx_hosts
        .iter()
        .map(|m| (m.mx_host.as_str(), m.failed))
        .collect();
    assert_eq!(
        mx,
        vec![
            ("mx2.mail.company-y.example", 200),
            ("mx1.mail.company-y.example", 100),
            ("mx-backup.mail.company-y.example", 3)
        ]
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// The one rejection reason `bytes` yields as a file named `name`.
fn rejected(name: &str, bytes: &[u8], limits: &Limits) -> String {
    let out = ingest_bytes_with(name, bytes, limits);
    assert!(
        out.tls_reports.is_empty() && out.rejected.len() == 1,
        "{name}: {} TLS reports, rejected {:?}",
        out.tls_reports.len(),
        out.rejected
    );
    out.rejected[0].reason.clone()
}

#[test]
fn hostile_tls_reports_are_rejected_with_a_reason_never_a_panic() {
    let Some(dir) = smtp_tls() else { return };
    let rfc = std::fs::read_to_string(dir.join("rfc8460.json")).unwrap();
    let limits = Limits::default();

    // Truncated, bare and gzipped.
    let why = rejected("t.json", &rfc.as_bytes()[..rfc.len() / 2], &limits);
    assert!(
        why.contains("not valid JSON (truncated or damaged)"),
        "{why}"
    );
    let why = rejected("t.json.gz", &gzip(&rfc.as_bytes()[..700]), &limits);
    assert!(why.contains("not valid JSON"), "{why}");

    // Wrong types and counts no one can mean.
    for (from, to, want) in [
        (
            "5326",
            "\"lots\"",
            "total-successful-session-count` must be a non-negative whole number",
        ),
        ("5326", "-5326", "is negative"),
        ("5326", "1e300", "too large"),
        ("5326", "99999999999999999999", "too large"),
        (
            "\"sts\"",
            "[\"sts\"]",
            "`policies[0].policy.policy-type` must be a string, found an array",
        ),
        (
            "\"198.51.100.62\"",
            "\"198.51.100.999\"",
            "`policies[0].failure-details[2].sending-mta-ip` is not an IP address",
        ),
    ] {
        let why = rejected("t.json", rfc.replacen(from, to, 1).as_bytes(), &limits);
        assert!(why.contains(want), "{from} -> {to}: {why}");
    }
    // The largest count u64 holds is read; summing it saturates.
    let big = rfc.replacen("5326", "18446744073709551615", 1);
    let out = ingest_bytes("big.json", big.as_bytes());
    assert_eq!(out.tls_reports[0].policies[0].successful_sessions, u64::MAX);

    // Deep nesting inside a member.
    let deep = rfc.replacen(
        "\"Company-X\"",
        &format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)),
        1,
    );
    let why = rejected("deep.json", deep.as_bytes(), &limits);
    assert!(why.contains("nested"), "{why}");

    // A gzip bomb: the file's decompression bounds (the same as for DMARC reports) stop it.
    let padded = rfc.replacen("{", &format!("{{\"pad\":\"{}\",", " ".repeat(4 << 20)), 1);
    let bomb = gzip(&gzip(padded.as_bytes()));
    let tight = Limits {
        ratio_floor: 1 << 20,
        ..Limits::default()
    };
    let why = rejected("bomb.json.gz", &bomb, &tight);
    assert!(why.contains("suspected zip bomb"), "{why}");
    // Under the default bounds, the TLS report's own size limit stops it first.
    let padded = rfc.replacen("{", &format!("{{\"pad\":\"{}\",", " ".repeat(12 << 20)), 1);
    let why = rejected("big.json.gz", &gzip(padded.as_bytes()), &limits);
    assert!(why.contains("over the 8388608-byte limit"), "{why}");

    // Every single-byte damage of the RFC example: a report or a reason, never a panic.
    let bytes = rfc.as_bytes();
    for at in 0..bytes.len() {
        for b in [b'"', b'{', b'9', b'\0'] {
            let mut damaged = bytes.to_vec();
            damaged[at] = b;
            let out = ingest_bytes("d.json", &damaged);
            assert!(
                out.tls_reports.len() + out.rejected.len() == 1
                    && out.rejected.iter().all(|r| !r.reason.is_empty()),
                "byte {at} = {b}: {:?}",
                out.rejected
            );
        }
    }
    // Hand-fed through the parser directly too (no panic on any prefix).
    let origin = Origin {
        file: "p.json".into(),
        member: None,
    };
    for cut in 0..bytes.len() {
        let _ = mailproof::reports::tlsrpt::parse(&bytes[..cut], &origin);
    }
}

/// A TLS report for the samples' patient domain, with failures on its MX.
fn sample_tls_report() -> String {
    r#"{"organization-name":"Google Inc.","contact-info":"smtp-tls-reporting@google.com",
    "report-id":"2026-10-14T00:00:00Z_myriversidechart.example",
    "date-range":{"start-datetime":"2026-10-14T00:00:00Z","end-datetime":"2026-10-14T23:59:59Z"},
    "policies":[{"policy":{"policy-type":"sts","policy-domain":"myriversidechart.example",
      "policy-string":["version: STSv1","mode: enforce","mx: *.mail.protection.outlook.com","max_age: 604800"],
      "mx-host":["*.mail.protection.outlook.com"]},
     "summary":{"total-successful-session-count":1200,"total-failure-session-count":14},
     "failure-details":[{"result-type":"certificate-host-mismatch","sending-mta-ip":"209.85.220.41",
       "receiving-mx-hostname":"myriversidechart-example.mail.protection.outlook.com",
       "receiving-ip":"52.101.40.2","failed-session-count":14}]}]}"#
        .to_string()
}

#[test]
fn a_run_counts_a_tls_report_raises_tlsrpt_002_and_still_renders() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::sample_config(dir.path(), "");
    let tls_dir = dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    std::fs::write(
        tls_dir.join("google.com!myriversidechart.example!1791936000!1792022399.json.gz"),
        gzip(sample_tls_report().as_bytes()),
    )
    .unwrap();
    let samples = common::repo().join("samples/reports");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("reports = [{samples:?}]"),
        &format!("reports = [{samples:?}, {tls_dir:?}]"),
    );
    assert!(text.contains(&format!("{tls_dir:?}")), "config not edited");
    std::fs::write(&cfg, text).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mailproof"))
        .args(["run", "--offline", "--period", "2026-10", "--config"])
        .arg(&cfg)
        .env("SOURCE_DATE_EPOCH", "1793793600")
        .env_remove("MAILPROOF_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        matches!(o.status.code(), Some(0 | 3 | 4)),
        "run failed: {err}"
    );
    let out = dir.path().join("out/2026-10");
    assert!(out.join("report.pdf").is_file());
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("evidence.json")).unwrap()).unwrap();
    let rejected = ev["reports"]["rejected"].to_string();
    assert!(!rejected.contains("json.gz"), "{rejected}");
    let tls = &ev["reports"]["tls"];
    // The samples' own two October TLS reports (one clean, one with 1,412 validation
    // failures on the patient domain) and this one.
    assert_eq!(tls["accepted"], 3);
    assert_eq!(tls["failed"], 1_426);
    let patient = tls["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["policy_domain"] == "myriversidechart.example")
        .expect("patient domain statistics");
    let types = patient["result_types"].to_string();
    assert!(
        types.contains("certificate-host-mismatch") && types.contains("validation-failure"),
        "{types}"
    );
    let f = ev["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "TLSRPT-002:myriversidechart.example")
        .expect("TLSRPT-002 raised");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["risk"], "high");
    let evidence = f["evidence"].to_string();
    for needle in [
        "1,426 of 2,626 sessions",
        "certificate-host-mismatch 14",
        "validation-failure 1,412",
        "myriversidechart-example.mail.protection.outlook.com",
        "209.85.220.41",
        "Google Inc.",
    ] {
        assert!(evidence.contains(needle), "{needle:?} not in {evidence}");
    }
    assert!(
        f["hipaa"]
            .as_array()
            .is_some_and(|h| h.iter().any(|c| c == "164.312(e)(1)"))
    );
}

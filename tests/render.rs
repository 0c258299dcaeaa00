//! The report PDF and findings CSV, rendered from a small but complete evidence fixture.

use chrono::{TimeZone, Utc};
use mailproof::assess::risk::{Level, Severity};
use mailproof::config::PolicyConfig;
use mailproof::evidence::*;
use mailproof::render::{RenderError, evidence_json, findings_csv, render_pdf};
use mailproof::reports::model::{InputFile, Rejected};
use mailproof::snapshot::Outcome;
use std::path::Path;
use std::process::Command;

const HOSTILE_FILE: &str = "#set page(width: 1pt) ]]]";
const HOSTILE_TITLE: &str = "Sender *bold* _under_ $x^2$ <lbl> @ref #panic()";

fn dkim_key() -> String {
    // 400 characters without a space: must wrap inside the table, not overflow the page.
    let mut s = String::from("v=DKIM1; k=rsa; p=");
    while s.len() < 418 {
        s.push_str("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA");
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn finding(
    check: &str,
    subject: &str,
    title: &str,
    severity: Severity,
    likelihood: Level,
    impact: Level,
    risk: Level,
    status: Status,
) -> Finding {
    Finding {
        id: format!("{check}:{subject}"),
        check: check.into(),
        subject: subject.into(),
        domain: Some("riverside-health.test".into()),
        title: title.into(),
        severity,
        likelihood,
        impact,
        risk,
        hipaa: vec!["164.308(a)(1)(ii)(B)".into(), "164.312(e)(1)".into()],
        authority: "RFC 9989 §4.7".into(),
        evidence: vec!["v=DMARC1; p=none; rua=mailto:d@riverside-health.test".into()],
        remediation: "Move to p=quarantine, then p=reject.".into(),
        status,
        first_seen: "2026-09".into(),
        residual_likelihood: None,
        residual_risk: None,
        owner: None,
        due: None,
        due_basis: None,
        due_extended_days: None,
        overdue_days: None,
        treatment: None,
        treatment_status: None,
        threat: None,
        likelihood_reason: None,
        impact_reason: None,
        cause: None,
        basis: Default::default(),
    }
}

fn raw(name: &str, rtype: &str, outcome: Outcome, answers: Vec<String>) -> RawLookup {
    RawLookup {
        name: name.into(),
        rtype: rtype.into(),
        outcome,
        answers,
        cname_chain: vec![],
        error: None,
        purpose: "spf".into(),
    }
}

fn fixture() -> Evidence {
    use Level::*;
    let ts = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap();
    let mut findings = vec![
        finding(
            "DMARC-003",
            "riverside-health.test",
            "DMARC policy is p=none (monitoring only)",
            Severity::High,
            High,
            High,
            High,
            Status::Persisting,
        ),
        finding(
            "RPT-001",
            "203.0.113.9",
            HOSTILE_TITLE,
            Severity::Critical,
            VeryHigh,
            High,
            High,
            Status::New,
        ),
        finding(
            "DKIM-003",
            "s1024._domainkey.riverside-health.test",
            "DKIM key shorter than 2048 bits",
            Severity::Medium,
            Moderate,
            Moderate,
            Moderate,
            Status::New,
        ),
        finding(
            "DNS-001",
            "_dmarc.rhs-mail.test",
            "DNS lookup failed: evidence incomplete",
            Severity::Medium,
            Moderate,
            Moderate,
            Moderate,
            Status::New,
        ),
        finding(
            "SPF-006",
            "riverside-health.test",
            "SPF uses the ptr mechanism",
            Severity::Low,
            Low,
            Low,
            Low,
            Status::Persisting,
        ),
        finding(
            "VEN-001",
            "Mailchimp",
            "PHI vendor without a signed BAA",
            Severity::Critical,
            High,
            VeryHigh,
            VeryHigh,
            Status::New,
        ),
        finding(
            "SPF-005",
            "rhs-mail.test",
            "SPF record ends in ?all",
            Severity::High,
            High,
            High,
            High,
            Status::Resolved,
        ),
    ];
    findings[2].evidence = vec![dkim_key()];
    findings[1].evidence = vec!["=HYPERLINK(\"http://evil.test\")".into()];

    let spf = SpfPosture {
        record: Some("v=spf1 include:servers.mcsv.net ptr ~all".into()),
        status: "found".into(),
        lookups: 4,
        void_lookups: 0,
        all: Some("~all".into()),
        tree: vec![],
        errors: vec![],
        warnings: vec![],
    };
    let dmarc = DmarcPosture {
        record: Some("v=DMARC1; p=none; rua=mailto:d@riverside-health.test".into()),
        status: "found".into(),
        location: Some("_dmarc.riverside-health.test".into()),
        p: Some("none".into()),
        ..Default::default()
    };
    let dkim = DkimPosture {
        selector: "s1024".into(),
        status: "valid".into(),
        key_type: Some("rsa".into()),
        key_bits: Some(1024),
        record: Some(dkim_key()),
        sources: vec!["config".into()],
        ..Default::default()
    };
    let d1 = DomainPosture {
        domain: "riverside-health.test".into(),
        role: "patient".into(),
        spf,
        dmarc,
        dkim: vec![dkim],
        mx: vec!["10 mx1.riverside-health.test.".into()],
        grade: "monitoring".into(),
        raw: vec![
            raw(
                "riverside-health.test",
                "TXT",
                Outcome::Answer,
                vec!["v=spf1 include:servers.mcsv.net ptr ~all".into()],
            ),
            raw(
                "s1024._domainkey.riverside-health.test",
                "TXT",
                Outcome::Answer,
                vec![dkim_key()],
            ),
        ],
        ..Default::default()
    };
    let mut failed = raw("_dmarc.rhs-mail.test", "TXT", Outcome::Servfail, vec![]);
    failed.error = Some("SERVFAIL from 127.0.0.1:5353".into());
    let d2 = DomainPosture {
        domain: "rhs-mail.test".into(),
        role: "marketing".into(),
        spf: SpfPosture {
            status: "found".into(),
            all: Some("-all".into()),
            record: Some("v=spf1 -all".into()),
            ..Default::default()
        },
        dmarc: DmarcPosture {
            status: "incomplete".into(),
            ..Default::default()
        },
        grade: "incomplete".into(),
        raw: vec![failed],
        ..Default::default()
    };
    let rates = PassRates {
        messages: 12840,
        dmarc_pass: 11990,
        spf_aligned: 11020,
        dkim_aligned: 11800,
    };
    Evidence {
        schema: SCHEMA.into(),
        organization: "Riverside Health System".into(),
        period: PeriodInfo {
            label: "2026-10".into(),
            timezone: "America/Chicago".into(),
            start: ts(2026, 10, 1, 5),
            end: ts(2026, 11, 1, 5),
        },
        generated_at: ts(2026, 11, 2, 6),
        tool: ToolInfo {
            name: "mailproof".into(),
            version: "0.1.0".into(),
            public_suffix_list: None,
        },
        scope: vec![
            ("riverside-health.test".into(), "patient".into()),
            ("rhs-mail.test".into(), "marketing".into()),
        ],
        snapshot: Some(SnapshotRef {
            path: "snapshots/2026-11-01T060000Z.json".into(),
            taken_at: ts(2026, 11, 1, 6),
            sha256: "ab".repeat(32),
            selection: "captured live".into(),
            nameservers: vec!["127.0.0.1:5353".into()],
        }),
        previous: Some(PreviousRef {
            period: "2026-09".into(),
            evidence: Some("out/2026-09/evidence.json".into()),
            sha256: Some("ef".repeat(32)),
            snapshot: None,
        }),
        inputs: vec![InputFile {
            path: "reports/google.com!riverside-health.test!1759276800!1759363199.xml.gz".into(),
            kind: "gzip".into(),
            bytes: 2143,
            sha256: "cd".repeat(32),
        }],
        domains: vec![d1, d2],
        reports: ReportStats {
            files: 3,
            accepted: 2,
            rejected: vec![Rejected {
                file: HOSTILE_FILE.into(),
                reason: format!(
                    "not a DMARC aggregate report (no <feedback> root): {}",
                    "x".repeat(300)
                ),
            }],
            duplicates: 0,
            out_of_period: 0,
            straddling_elsewhere: 0,
            messages: rates.messages,
            rates: rates.clone(),
            per_domain: vec![DomainReportStat {
                domain: "riverside-health.test".into(),
                rates: rates.clone(),
                dispositions: vec![("none".into(), 12840)],
                reporters: vec![("google.com".into(), 9000)],
            }],
            per_vendor: vec![VendorReportStat {
                vendor: "Mailchimp".into(),
                rates: rates.clone(),
            }],
            top_failing: vec![SourceStat {
                source_ip: "203.0.113.9".into(),
                vendor: None,
                header_from: "riverside-health.test".into(),
                messages: 850,
                dmarc_pass: 0,
                reporters: vec!["google.com".into()],
                class: None,
            }],
            reports: vec![ReportSummary {
                file: "reports/google.xml.gz".into(),
                member: None,
                org_name: "google.com".into(),
                report_id: "1234567890123456789".into(),
                domain: "riverside-health.test".into(),
                begin: ts(2026, 10, 1, 0),
                end: ts(2026, 10, 2, 0),
                records: 4,
                messages: 12840,
                repairs: vec![],
            }],
            counting_rule: "A report is counted in the period that contains most of its range."
                .into(),
            detail: Default::default(),
            tls: Default::default(),
        },
        vendors: VendorCoverage {
            source: Some("vendors.csv".into()),
            vendors: vec![VendorRow {
                vendor: "Mailchimp".into(),
                service: "Patient newsletters".into(),
                domains: vec!["riverside-health.test".into()],
                phi: Some(true),
                baa: "none".into(),
                baa_expires: None,
                owner: "Marketing".into(),
                ended: false,
                ended_on: None,
                messages: 12000,
                dmarc_pass_rate: Some(0.934),
                status: vec!["VEN-001".into()],
            }],
            rejected_rows: vec!["line 7, column `ip_ranges`: bad CIDR 10.0.0.0/33".into()],
            unknown_sources: vec![],
            unreadable_cells: 0,
        },
        findings,
        risk_counts: RiskCounts {
            very_high: 1,
            high: 2,
            moderate: 2,
            low: 1,
            very_low: 0,
            resolved: 1,
            accepted: 0,
            overdue: 0,
        },
        controls: vec![Control {
            citation: "164.308(a)(1)(ii)(B)".into(),
            title: "Risk management".into(),
            kind: "Required".into(),
            status: "findings".into(),
            highest_risk: Some(High),
            findings: vec!["DMARC-003:riverside-health.test".into()],
            causes: vec![],
            checks: vec!["DMARC-003".into()],
            via: vec![],
        }],
        changes: vec![Change {
            domain: "riverside-health.test".into(),
            area: "dmarc".into(),
            name: "_dmarc.riverside-health.test".into(),
            before: Some("v=DMARC1; p=quarantine".into()),
            after: Some("v=DMARC1; p=none".into()),
            direction: "weakened".into(),
            meaning: "Policy lowered from quarantine to none.".into(),
            effect: mailproof::evidence::Effect::Weakened,
            check: Some("CHG-001".into()),
            risk: None,
        }],
        policy: PolicyConfig::default(),
        causes: Vec::new(),
        cause_counts: Default::default(),
        retain_until: "2032-11-02".into(),
        risk_matrix: mailproof::assess::risk::matrix(),
        input_root: Some("../..".into()),
        snapshots_used: vec![],
        governance: Default::default(),
        existing_controls: Vec::new(),
        risk_decisions: None,
        history: None,
        completeness: None,
        checks_not_run: vec!["TLS-001".into()],
        partial: false,
        cut_off: None,
        final_at: None,
        late_reports: vec![],
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

fn pdf_text(pdf: &[u8]) -> Option<String> {
    if !have("pdftotext") {
        eprintln!("pdftotext not installed: text checks skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    // Zero-width spaces are break opportunities inserted into long tokens.
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn report_pdf_is_complete_deterministic_and_prints_data_literally() {
    let e = fixture();
    let csv = findings_csv(&e);
    let a = render_pdf(&e, &csv, None).unwrap_or_else(|err| panic!("{err}"));
    if let Ok(out) = std::env::var("MAILPROOF_RENDER_OUT") {
        std::fs::write(out, &a).unwrap();
    }
    assert!(a.starts_with(b"%PDF-"), "not a PDF");
    let b = render_pdf(&e, &csv, None).unwrap();
    assert!(a == b, "two renders of the same evidence differ");

    let Some(text) = pdf_text(&a) else { return };
    for title in [
        "Email Authentication Risk Assessment",
        "Executive Summary",
        "Findings",
        "HIPAA Control Mapping",
        "Vendor Coverage",
        "DMARC Report Statistics",
        "Changes Since the Last Period",
        "Evidence Appendix",
        "Method Details",
        "October 2026",
        "Riverside Health System",
        "CONFIDENTIAL",
        "Page 2 of",
        "§164.316(b)",
    ] {
        assert!(text.contains(title), "missing {title:?} in PDF text");
    }
    assert!(text.contains(HOSTILE_FILE), "hostile file name not literal");
    assert!(text.contains(HOSTILE_TITLE), "hostile title not literal");
    // The 400-character key wraps instead of running off the page, and survives intact.
    assert!(text.contains("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"));
    // Sections come in the order an auditor reads them: scope and the rating method before
    // any rating, then the summary, the findings (skip the table of contents on page 2).
    let body = &text[text.find("Scope. This is").expect("scope body")..];
    let mut last = 0;
    for title in [
        "How risk is rated",
        "Table I-2: level of risk",
        "2 Executive Summary",
        "3 Findings",
        "4 Risk Register and Treatment Plan",
        "5 HIPAA Control Mapping",
        "6 Vendor Coverage",
        "7 Transport Security",
        "8 DMARC Report Statistics",
        "9 Changes Since the Last Period",
        "10 Progress Over the Year",
        "11 Evidence Appendix",
        "12 Method Details",
    ] {
        let at = body
            .find(title)
            .unwrap_or_else(|| panic!("{title} missing"));
        assert!(at > last, "{title} out of order");
        last = at;
    }
}

#[test]
fn pdf_carries_exact_evidence_and_csv_attachments() {
    let e = fixture();
    let csv = findings_csv(&e);
    let pdf = render_pdf(&e, &csv, None).unwrap();
    let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(b"<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"),
        "not declared PDF/A-3b"
    );
    if !have("pdfdetach") {
        eprintln!("pdfdetach not installed: attachment check skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = Command::new("pdfdetach")
        .arg("-saveall")
        .arg("-o")
        .arg(dir.path())
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read(dir.path().join("evidence.json")).unwrap();
    assert_eq!(json, evidence_json(&e));
    assert_eq!(std::fs::read(dir.path().join("findings.csv")).unwrap(), csv);
    // And the attached JSON reads back into the same evidence.
    let back: Evidence = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, e);
}

fn template_dir(main: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.typ"), main).unwrap();
    dir
}

#[test]
fn broken_user_template_names_file_line_and_column() {
    let e = fixture();
    let dir = template_dir(
        "#let data = json(\"/data.json\")\n= Report\n#data.organization\n  #undefined-thing\n",
    );
    let err = render_pdf(&e, b"", Some(dir.path())).unwrap_err();
    let RenderError::Template(diags) = &err else {
        panic!("expected a template error, got {err}")
    };
    let d = &diags[0];
    assert!(
        d.file.as_deref().is_some_and(|f| f.ends_with("main.typ")),
        "{d}"
    );
    assert_eq!((d.line, d.column), (Some(4), Some(4)), "{d}");
    assert!(d.message.contains("unknown variable"), "{d}");
    let shown = err.to_string();
    assert!(shown.contains("main.typ:4:4"), "{shown}");
    assert!(!shown.contains("--root"), "{shown}");
}

#[test]
fn user_template_errors_in_imported_files_point_there() {
    let e = fixture();
    let dir = template_dir("#import \"parts/x.typ\": f\n#f()\n");
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    std::fs::write(
        dir.path().join("parts/x.typ"),
        "#let f() = {\n  1 + \"a\"\n}\n",
    )
    .unwrap();
    let err = render_pdf(&e, b"", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.typ:2:"), "{err}");
}

#[test]
fn package_imports_and_escapes_are_refused() {
    let e = fixture();
    let dir = template_dir("#import \"@preview/cetz:0.3.0\": *\n");
    let err = render_pdf(&e, b"", Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("package imports are disabled"), "{err}");

    // A symlink pointing out of the template folder is not followed.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let dir = template_dir("#read(\"leak.txt\")\n");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            dir.path().join("leak.txt"),
        )
        .unwrap();
        let err = render_pdf(&e, b"", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("main.typ:1:") && err.contains("access denied"),
            "{err}"
        );
    }

    let missing = render_pdf(&e, b"", Some(Path::new("/nonexistent/templates"))).unwrap_err();
    assert!(
        matches!(missing, RenderError::TemplateDir { .. }),
        "{missing}"
    );
}

#[test]
fn today_is_the_document_date_not_the_wall_clock() {
    let e = fixture();
    let dir = template_dir("#datetime.today().display(\"[year]-[month]-[day]\")\n");
    let pdf = render_pdf(&e, b"", Some(dir.path())).unwrap();
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("2026-11-02"), "{text}");
    }
}

#[test]
fn findings_csv_is_sorted_complete_and_defused() {
    let e = fixture();
    let csv = findings_csv(&e);
    let mut r = csv::Reader::from_reader(csv.as_slice());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "check",
            "subject",
            "domain",
            "title",
            "severity",
            "likelihood",
            "impact",
            "risk",
            "status",
            "first_seen",
            "hipaa",
            "evidence",
            "remediation",
            "residual_risk",
            "owner",
            "due",
            "overdue_days",
            "decision",
            "treatment_status"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), e.findings.len(), "resolved findings included");
    let checks: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    // Very High first; among High: Critical RPT-001 before High DMARC-003 and SPF-005; then
    // Moderate by check; Low last.
    assert_eq!(
        checks,
        [
            "VEN-001",
            "RPT-001",
            "DMARC-003",
            "SPF-005",
            "DKIM-003",
            "DNS-001",
            "SPF-006"
        ]
    );
    let spf005 = rows.iter().find(|r| &r[1] == "SPF-005").unwrap();
    assert_eq!(&spf005[9], "resolved");
    let dmarc = rows.iter().find(|r| &r[1] == "DMARC-003").unwrap();
    assert_eq!(&dmarc[8], "High");
    assert_eq!(&dmarc[11], "164.308(a)(1)(ii)(B); 164.312(e)(1)");
    // A spreadsheet must not execute a formula planted in a report.
    let rpt = rows.iter().find(|r| &r[1] == "RPT-001").unwrap();
    assert!(rpt[12].starts_with("'="), "{}", &rpt[12]);
    assert_eq!(&rpt[4], HOSTILE_TITLE);
}

#[test]
fn long_tables_break_across_pages_with_repeated_headers() {
    let mut e = fixture();
    e.reports.rejected = (0..140)
        .map(|i| Rejected {
            file: format!("reports/junk-{i:03}.xml"),
            reason: "XML syntax error at line 1, column 1".into(),
        })
        .collect();
    let pdf = render_pdf(&e, b"", None).unwrap();
    let Some(text) = pdf_text(&pdf) else { return };
    assert!(text.contains("junk-000.xml") && text.contains("junk-139.xml"));
    // The header row ("File" / "Reason") is repeated on every page the table spans.
    let headers = text.matches("Reason").count();
    assert!(headers >= 3, "table header shown {headers} times");
}

#[test]
fn first_run_with_nothing_found_still_renders_every_section() {
    let mut e = fixture();
    e.snapshot = None;
    e.previous = None;
    e.findings.clear();
    e.changes.clear();
    e.controls.clear();
    e.domains.clear();
    e.inputs.clear();
    e.reports = ReportStats::default();
    e.vendors = VendorCoverage::default();
    e.risk_counts = RiskCounts::default();
    // Hand-edited evidence must not break the template either.
    e.period.label = "ab-cd".into();
    let pdf = render_pdf(&e, &findings_csv(&e), None).unwrap_or_else(|err| panic!("{err}"));
    let Some(text) = pdf_text(&pdf) else { return };
    for expected in [
        "No DNS snapshot was available",
        "There is no previous period on record",
        "No open findings in this period.",
        "No report file was rejected.",
        "No vendor inventory was supplied",
        "Assessment period: ab-cd",
        "n/a",
    ] {
        assert!(text.contains(expected), "missing {expected:?}");
    }
}

/// The fixture with every field added after the first evidence schema filled in: report
/// destinations, DKIM flags, SPF size, DNSSEC, the organizational domain, and mailproof's own
/// re-evaluation of the reports (`reports.detail`).
fn fixture_with_detail() -> Evidence {
    use mailproof::assess::report_checks::{
        DayPoint, DomainDetail, ReportDetail, SourceGroup, VendorDetail,
    };
    let mut e = fixture();
    let d = &mut e.domains[0];
    d.spf_size_octets = 477;
    d.dnssec = Some("partial".into());
    d.spf.status = "permerror".into();
    d.dmarc.org_domain = Some("riverside-health.test".into());
    d.dmarc.destinations = vec![ReportDestination {
        kind: "ruf".into(),
        uri: "mailto:forensic@reports.vault.test".into(),
        host: "reports.vault.test".into(),
        external: true,
        authorization: "not authorized".into(),
        authorization_name: Some("riverside-health.test._report._dmarc.reports.vault.test".into()),
        authorization_record: None,
        mx: vec!["10 mx.vault.test.".into()],
        mx_outcome: "answer".into(),
    }];
    d.dkim[0].status = "weak".into();
    d.dkim[0].hash_algorithms = vec!["sha256".into()];
    d.dkim[0].services = vec!["email".into()];
    d.dkim.push(DkimPosture {
        selector: "old512".into(),
        status: "unusable".into(),
        key_type: Some("rsa".into()),
        key_bits: Some(512),
        testing: true,
        sources: vec!["reports".into()],
        ..Default::default()
    });
    d.dkim.push(DkimPosture {
        selector: "k2048".into(),
        status: "valid".into(),
        ..Default::default()
    });
    let recomputed = PassRates {
        messages: 12840,
        dmarc_pass: 10990,
        spf_aligned: 11020,
        dkim_aligned: 10800,
    };
    let day = |day: &str, messages, dmarc_pass| DayPoint {
        day: day.into(),
        messages,
        dmarc_pass,
        ..Default::default()
    };
    let failing = e.reports.top_failing[0].clone();
    e.reports.detail = ReportDetail {
        recomputed: recomputed.clone(),
        disagreements: 1000,
        reporter_lenient: 1000,
        source_rows: 40,
        distinct_rows: 12,
        per_domain: vec![DomainDetail {
            domain: "riverside-health.test".into(),
            recomputed,
            disagreements: 1000,
            reasons: vec![("mailing_list".into(), 321)],
            top_failing: vec![],
            daily: vec![
                day("2026-10-01", 6000, 5900),
                day("2026-10-17", 6840, 5090),
                // Not a day: skipped by the chart, not fatal.
                day("yesterday", 5, 5),
            ],
        }],
        per_vendor: vec![VendorDetail {
            vendor: "Mailchimp".into(),
            recomputed: PassRates::default(),
            dispositions: vec![("quarantine".into(), 4321)],
            reasons: vec![("sampled_out".into(), 765)],
            top_failing: vec![SourceStat {
                source_ip: "198.51.100.77".into(),
                vendor: Some("Mailchimp".into()),
                ..failing
            }],
        }],
        unattributed_networks: vec![SourceGroup {
            group: "203.0.113.0/24".into(),
            sources: 3,
            messages: 850,
            dmarc_pass: 0,
            header_from: vec!["riverside-health.test".into()],
        }],
        unattributed_ptr: vec![],
        daily_rule: "Messages are placed on the midpoint day of each report.".into(),
    };
    e
}

#[test]
fn new_evidence_fields_are_shown_where_they_belong() {
    let e = fixture_with_detail();
    let pdf = render_pdf(&e, &findings_csv(&e), None).unwrap_or_else(|err| panic!("{err}"));
    assert!(
        pdf == render_pdf(&e, &findings_csv(&e), None).unwrap(),
        "two renders of the same evidence differ"
    );
    let Some(text) = pdf_text(&pdf) else { return };
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // The body, after the table of contents.
    let flat = &flat[flat.find("Posture at a glance").expect("summary body")..];
    let section = |from: &str, to: &str| {
        let a = flat
            .find(from)
            .unwrap_or_else(|| panic!("{from:?} missing"));
        let b = flat[a..].find(to).map_or(flat.len(), |b| a + b);
        flat[a..b].to_string()
    };
    // Summary: SPF permerror is shown; weak and unusable keys are not counted valid.
    let summary = section("Posture at a glance", "Risk profile");
    assert!(summary.contains("permerror"), "{summary}");
    assert!(summary.contains("1 of 3 meet policy"), "{summary}");

    let stats = section("8 DMARC Report Statistics", "9 Changes Since");
    for expected in [
        "Our evaluation vs. the reporters",
        // Reporters' 93.4% beside our 85.6% DMARC pass, 91.9% / 84.1% DKIM aligned.
        "93.4% / 85.6%",
        "91.9% / 84.1%",
        "For 1,000 of 12,840 messages (7.8%) the two verdicts differ; in 1,000 of them the reporter passed",
        "40 rows, merged into 12 distinct",
        "Daily volume",
        "12,840 messages, 85.6% pass; peak 6,840/day",
        "2026-10-01",
        "2026-10-31",
        "5 messages on other days not drawn",
        "Messages are placed on the midpoint day of each report.",
        "mailing_list 321",
        "quarantine 4,321",
        "sampled_out 765",
        "198.51.100.77",
        "203.0.113.0/24",
    ] {
        assert!(
            stats.contains(expected),
            "missing {expected:?} in:\n{stats}"
        );
    }

    let appendix = section("11 Evidence Appendix", "11.2 Input files");
    for expected in [
        "Organizational domain riverside-health.test",
        "SPF record 477 octets",
        "DNSSEC partial",
        "mailto:forensic@reports.vault.test",
        "not authorized",
        "10 mx.vault.test.",
        "h=sha256",
        "s=email",
        "t=y testing",
        "unusable",
        "rsa 512",
    ] {
        assert!(
            appendix.contains(expected),
            "missing {expected:?} in:\n{appendix}"
        );
    }
}

#[test]
fn evidence_without_the_new_fields_renders_with_fallbacks() {
    // The base fixture leaves every newer field at its default, as an older evidence file
    // deserializes (the template's handling of absent keys is tested in `render::pdf`).
    let e = fixture();
    let pdf = render_pdf(&e, &findings_csv(&e), None).unwrap_or_else(|err| panic!("{err}"));
    let Some(text) = pdf_text(&pdf) else { return };
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "No re-evaluated verdicts are available for this period",
        "No daily series is recorded for this period.",
        "1 of 1 meet policy",
    ] {
        assert!(flat.contains(expected), "missing {expected:?}");
    }
    for absent in [
        "DMARC report destinations",
        "Organizational domain",
        "DNSSEC",
    ] {
        assert!(!flat.contains(absent), "{absent:?} shown without data");
    }
}

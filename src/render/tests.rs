//! Properties of the built-in report that an auditor relies on and that only show in the laid-out
//! PDF: the text layer holds exactly the data (searchable, copyable), catalog prose shows record
//! syntax as code, and short tables and finding cards are never split across a page break.
//!
//! The text checks read the PDF back with poppler's `pdftotext`; without it they are skipped
//! (with a note on stderr), as in `tests/render.rs`.

use super::{findings_csv, render_pdf};
use crate::assess::report_checks::{SourceGroup, VendorDetail};
use crate::assess::risk::{Level, Severity};
use crate::evidence::tests_support::evidence_with;
use crate::evidence::{
    Change, DkimPosture, DomainPosture, Evidence, Finding, PassRates, PreviousRef, RawLookup,
    ReportSummary, SourceStat, SpfPosture, Status, VendorReportStat,
};
use crate::reports::model::{InputFile, Rejected};
use crate::snapshot::Outcome;
use chrono::{TimeZone, Utc};
use std::process::Command;

/// Characters that are invisible on the page but end up in copied or searched text.
const INVISIBLE: &[char] = &[
    '\u{00ad}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}',
];

/// Right edge of the text area on US Letter with 0.85in side margins, in PDF points.
const RIGHT_EDGE: f64 = 612.0 - 0.85 * 72.0;

fn dkim_key() -> String {
    let mut s = String::from("v=DKIM1; k=rsa; p=");
    while s.len() < 418 {
        s.push_str("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx+/");
    }
    s
}

fn finding(n: usize, title: &str, remediation: &str, evidence: Vec<String>) -> Finding {
    Finding {
        id: format!("TST-{n:03}:subject-{n}.example"),
        check: format!("TST-{n:03}"),
        subject: format!("subject-{n}.example"),
        domain: Some("riverside-health.test".into()),
        title: title.into(),
        severity: Severity::Medium,
        likelihood: Level::Moderate,
        impact: Level::Moderate,
        risk: Level::Moderate,
        hipaa: vec!["164.308(a)(1)(ii)(A)".into()],
        authority: "RFC 7489 §6.3".into(),
        evidence,
        remediation: remediation.into(),
        status: Status::New,
        first_seen: "2026-10".into(),
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

fn render(e: &Evidence) -> Vec<u8> {
    render_pdf(e, &findings_csv(e), None).unwrap_or_else(|err| panic!("{err}"))
}

/// Runs a poppler tool on the PDF; `None` when poppler is not installed.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Option<String> {
    if Command::new(tool).arg("-v").output().is_err() {
        eprintln!("{tool} not installed: PDF text checks skipped");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).expect("write PDF");
    let out = Command::new(tool)
        .args(args)
        .arg(&path)
        .arg("-")
        .output()
        .expect("run poppler");
    assert!(out.status.success(), "{tool} failed");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The text of each page, in order.
fn pages(pdf: &[u8]) -> Option<Vec<String>> {
    poppler("pdftotext", &[], pdf).map(|t| t.split('\u{c}').map(String::from).collect())
}

fn page_of(pages: &[String], needle: &str) -> usize {
    pages
        .iter()
        .position(|p| p.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the PDF"))
}

#[test]
fn long_tokens_wrap_without_adding_characters_to_the_text_layer() {
    let key = dkim_key();
    let path = "reports/mailbox/outlook-riverside-health.test-20261010-resent.eml";
    let sha = "3f9a".repeat(16);
    let mut e = evidence_with(
        vec![finding(
            1,
            "DKIM key published",
            "Rotate it.",
            vec![key.clone()],
        )],
        "2026-10",
    );
    e.generated_at = Utc
        .timestamp_opt(1_793_512_800, 675_500_786)
        .single()
        .expect("valid time");
    e.domains = vec![DomainPosture {
        domain: "riverside-health.test".into(),
        raw: vec![RawLookup {
            name: "selector1-riverside-health-test._domainkey.riverside-health.test".into(),
            rtype: "TXT".into(),
            outcome: Outcome::Answer,
            answers: vec![key.clone()],
            cname_chain: vec![],
            error: None,
            purpose: "dkim".into(),
        }],
        ..Default::default()
    }];
    e.inputs = vec![InputFile {
        path: path.into(),
        // Listed one by one (report files are counted by kind).
        kind: "inventory".into(),
        bytes: 2143,
        sha256: sha.clone(),
    }];
    let pdf = render(&e);
    let Some(text) = poppler("pdftotext", &[], &pdf) else {
        return;
    };
    let bad: Vec<char> = text.chars().filter(|c| INVISIBLE.contains(c)).collect();
    assert!(bad.is_empty(), "invisible characters in the text: {bad:?}");
    // Wrapped, yet the lines join back into exactly the record, the path and the hash: in
    // reading order for the key (what the brief's manual check does), and in content-stream
    // order for all three (what a viewer copies; immune to pdftotext's column guessing).
    assert!(key.len() > 400);
    let joined = text.replace('\n', "");
    assert_eq!(
        joined.matches(key.as_str()).count(),
        2,
        "key in card and appendix"
    );
    let Some(raw) = poppler("pdftotext", &["-raw"], &pdf) else {
        return;
    };
    let raw = raw.replace('\n', "");
    assert_eq!(
        raw.matches(key.as_str()).count(),
        2,
        "key in card and appendix"
    );
    assert!(raw.contains(path), "file name with hyphens not intact");
    assert!(raw.contains(&sha), "hash not intact");
    assert!(
        text.contains("(2026-11-01 06:00:00 UTC)"),
        "time not trimmed"
    );

    // Nothing runs past the right margin.
    let Some(bbox) = poppler("pdftotext", &["-bbox"], &pdf) else {
        return;
    };
    let mut words = 0;
    for word in bbox.split("<word ").skip(1) {
        let x: f64 = word
            .split("xMax=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse().ok())
            .expect("xMax value");
        let shown = word.split('>').nth(1).unwrap_or_default();
        // Typst lets punctuation hang slightly into the margin of justified lines (overhang);
        // anything past a few points is content running off the page.
        assert!(x <= RIGHT_EDGE + 3.0, "{shown:?} ends at x = {x}");
        words += 1;
    }
    assert!(words > 100, "only {words} words found");
}

#[test]
fn backtick_spans_are_set_as_code_without_the_backticks() {
    let mut e = evidence_with(
        vec![finding(
            1,
            "Policy is `p=none`",
            "Publish `v=spf1 -all` at the apex; quote `#panic()` and `$x$` as written. Keep `odd",
            vec!["column `ip_ranges` is empty".into()],
        )],
        "2026-10",
    );
    e.changes = vec![Change {
        domain: "riverside-health.test".into(),
        area: "dmarc".into(),
        name: "_dmarc.riverside-health.test".into(),
        before: Some("v=DMARC1; p=reject".into()),
        after: Some("v=DMARC1; p=none".into()),
        direction: "weakened".into(),
        meaning: "Policy lowered from `reject` to `none`.".into(),
        effect: crate::evidence::Effect::Weakened,
        check: Some("CHG-001".into()),
        risk: None,
    }];
    // Changes are only listed when there is a previous period to compare with.
    e.previous = Some(PreviousRef {
        period: "2026-09".into(),
        evidence: None,
        sha256: None,
        snapshot: None,
    });
    let Some(text) = poppler("pdftotext", &[], &render(&e)) else {
        return;
    };
    let text = text.replace('\n', " ");
    for expected in [
        "Policy is p=none",
        "Publish v=spf1 -all at the apex; quote #panic() and $x$ as written.",
        // An unmatched backtick is text, not the start of a code span.
        "Keep `odd",
        "Policy lowered from reject to none.",
        // Evidence is data, printed verbatim.
        "column `ip_ranges` is empty",
    ] {
        assert!(text.contains(expected), "missing {expected:?}");
    }
    assert!(!text.contains("`v=spf1"), "backticks of a code span shown");
}

#[test]
fn short_tables_and_finding_cards_are_never_split_across_pages() {
    let rejected: Vec<Rejected> = (0..6)
        .map(|i| Rejected {
            file: format!("reports/junk-{i:03}.xml"),
            reason: "XML syntax error at line 1, column 1".into(),
        })
        .collect();
    let evidence_lines: Vec<String> = (0..4)
        .map(|i| format!("line {i} of the evidence for this finding"))
        .collect();
    // Varying the amount of material before them moves the page breaks across the whole
    // range of positions.
    for n in (0..36).step_by(5) {
        let findings = (0..(n / 5 + 4))
            .map(|i| {
                finding(
                    i,
                    &format!("Finding number {i}"),
                    "Fix it.",
                    evidence_lines.clone(),
                )
            })
            .collect();
        let mut e = evidence_with(findings, "2026-10");
        e.reports.rejected = rejected.clone();
        e.reports.per_vendor = (0..n)
            .map(|i| VendorReportStat {
                vendor: format!("Vendor {i}"),
                rates: PassRates::default(),
            })
            .collect();
        let Some(pages) = pages(&render(&e)) else {
            return;
        };
        let table = page_of(&pages, "Rejected report files");
        for r in &rejected {
            assert_eq!(
                page_of(&pages, &r.file),
                table,
                "n = {n}: {} split off",
                r.file
            );
        }
        for f in &e.findings {
            assert_eq!(
                page_of(&pages, &format!("{} — {}", f.check, f.title)),
                page_of(&pages, &f.id),
                "n = {n}: card {} split",
                f.id
            );
        }
    }
}

/// The summary's SPF and DKIM cells: tone (the cell colour) and text, read through a template
/// that prints what `spf-summary` / `dkim-summary` in the built-in `lib.typ` decide.
#[test]
fn summary_cells_colour_permerror_weak_and_unusable_as_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("lib.typ"),
        include_str!("../../templates/lib.typ"),
    )
    .expect("write lib.typ");
    std::fs::write(
        dir.path().join("main.typ"),
        "#import \"lib.typ\": *\n#let data = json(\"/data.json\")\n\
         #for d in data.domains [#d.domain: #dkim-summary(d.dkim).join(\" \") / \
         #spf-summary(d.spf).join(\" \") \\\n]\n",
    )
    .expect("write main.typ");
    let key = |status: &str| DkimPosture {
        selector: "s".into(),
        status: status.into(),
        ..Default::default()
    };
    let spf = |status: &str, all: Option<&str>| SpfPosture {
        status: status.into(),
        all: all.map(String::from),
        ..Default::default()
    };
    let cases = [
        (
            "a.test",
            vec![key("valid"), key("valid")],
            spf("found", Some("-all")),
            "good 2 of 2 meet policy / good -all",
        ),
        (
            "b.test",
            vec![key("valid"), key("weak")],
            spf("permerror", None),
            "warn 1 of 2 meet policy; 1 weak / bad permerror",
        ),
        (
            "c.test",
            vec![key("weak")],
            spf("found", Some("~all")),
            "warn 0 of 1 meet policy; 1 weak / warn ~all",
        ),
        (
            "d.test",
            vec![key("valid"), key("unusable")],
            spf("incomplete", None),
            "bad 1 of 2 meet policy; 1 unusable / unknown incomplete",
        ),
        (
            "e.test",
            vec![key("valid"), key("incomplete")],
            spf("missing", None),
            "unknown 1 of 2 meet policy; 1 incomplete / bad missing",
        ),
        (
            "f.test",
            vec![key("missing"), key("revoked")],
            spf("found", Some("+all")),
            "bad 0 of 2 meet policy; 1 revoked, 1 missing / bad +all",
        ),
        (
            "g.test",
            vec![],
            spf("multiple", None),
            "unknown none probed / bad multiple",
        ),
    ];
    let mut e = evidence_with(vec![], "2026-10");
    e.domains = cases
        .iter()
        .map(|(name, keys, spf, _)| DomainPosture {
            domain: (*name).into(),
            dkim: keys.clone(),
            spf: spf.clone(),
            ..Default::default()
        })
        .collect();
    let pdf = render_pdf(&e, b"", Some(dir.path())).unwrap_or_else(|err| panic!("{err}"));
    let Some(text) = poppler("pdftotext", &[], &pdf) else {
        return;
    };
    for (name, _, _, want) in cases {
        assert!(
            text.contains(&format!("{name}: {want}")),
            "{name}: expected {want:?} in\n{text}"
        );
    }
}

/// Pages in a PDF, counted from its page objects (Typst writes them uncompressed), so the
/// check does not need poppler.
fn page_count(pdf: &[u8]) -> usize {
    (0..pdf.len())
        .filter(|&i| {
            let Some(rest) = pdf[i..].strip_prefix(b"/Type") else {
                return false;
            };
            let rest = rest.trim_ascii_start();
            rest.strip_prefix(b"/Page")
                .is_some_and(|after| !after.first().is_some_and(u8::is_ascii_alphabetic))
        })
        .count()
}

fn source(i: usize, messages: u64) -> SourceStat {
    SourceStat {
        source_ip: format!("198.51.{}.{}", i / 250, i % 250),
        vendor: None,
        header_from: "riverside-health.test".into(),
        messages,
        dmarc_pass: 0,
        reporters: vec!["google.com".into()],
        class: None,
    }
}

/// A hostile month: thousands of reports, input files, failing sources and source groups, and
/// a finding with hundreds of evidence lines. Every list is cut to its first rows with an exact
/// "… and K more (M messages)" note, and the report stays a readable size.
#[test]
fn huge_lists_are_capped_with_exact_counts_of_what_was_left_out() {
    let lines: Vec<String> = (0..500).map(|i| format!("evidence line {i:04}")).collect();
    let mut e = evidence_with(
        vec![finding(1, "Many sources", "Fix it.", lines)],
        "2026-10",
    );
    let t = Utc
        .timestamp_opt(1_790_000_000, 0)
        .single()
        .expect("valid time");
    // Message counts: row i carries i + 1 messages, so the left-out sum is checkable.
    e.reports.reports = (0..5_000)
        .map(|i| ReportSummary {
            file: format!("reports/r{i:05}.xml"),
            member: None,
            org_name: "Reporter".into(),
            report_id: format!("id-{i:05}"),
            domain: "riverside-health.test".into(),
            begin: t,
            end: t,
            records: 1,
            messages: i + 1,
            repairs: vec![],
        })
        .collect();
    e.reports.files = 5_000;
    e.reports.accepted = 5_000;
    e.inputs = (0..5_000)
        .map(|i| InputFile {
            path: format!("reports/r{i:05}.xml"),
            kind: "xml".into(),
            bytes: 700,
            sha256: "ab".repeat(32),
        })
        .collect();
    e.reports.rejected = (0..2_000)
        .map(|i| Rejected {
            file: format!("reports/bad{i:05}.xml"),
            reason: "XML syntax error".into(),
        })
        .collect();
    let groups: Vec<SourceGroup> = (0..2_000)
        .map(|i| SourceGroup {
            group: format!("203.0.{i}.0/24"),
            sources: 1,
            messages: 2,
            dmarc_pass: 0,
            header_from: vec!["riverside-health.test".into()],
        })
        .collect();
    e.reports.detail.unattributed_networks = groups.clone();
    e.reports.detail.unattributed_ptr = groups;
    e.reports.top_failing = (0..2_000).map(|i| source(i, 3)).collect();
    e.vendors.unknown_sources = (0..2_000).map(|i| source(i, 1)).collect();
    e.reports.per_vendor = vec![VendorReportStat {
        vendor: "Acme Mail".into(),
        rates: PassRates::default(),
    }];
    e.reports.detail.per_vendor = vec![VendorDetail {
        vendor: "Acme Mail".into(),
        top_failing: (0..40).map(|i| source(i, 5)).collect(),
        ..Default::default()
    }];
    e.domains = vec![DomainPosture {
        domain: "riverside-health.test".into(),
        raw: (0..300)
            .map(|i| RawLookup {
                name: format!("s{i}._domainkey.riverside-health.test"),
                rtype: "TXT".into(),
                outcome: Outcome::Nxdomain,
                answers: vec![],
                cname_chain: vec![],
                error: None,
                purpose: "dkim".into(),
            })
            .collect(),
        ..Default::default()
    }];

    let pdf = render(&e);
    let pages_n = page_count(&pdf);
    eprintln!("hostile month: {pages_n} pages");
    assert!(pages_n < 60, "{pages_n} pages");
    assert!(
        pages_n > 10,
        "page count {pages_n} implausible: is the counter broken?"
    );

    let Some(text) = poppler("pdftotext", &[], &pdf) else {
        return;
    };
    let text = text.replace('\n', " ");
    let tail = "— all listed in the attached evidence.json";
    // Reports: 5,000 - 100 left out, carrying messages 101 ..= 5,000.
    let report_messages: u64 = (101..=5_000).sum();
    assert_eq!(report_messages, 12_497_450);
    for expected in [
        format!("… and 1,850 more {tail}"),
        // Both source-group tables: 1,975 groups of 2 messages each.
        format!("… and 1,975 more (3,950 messages) {tail}"),
        // Top failing: 1,975 sources of 3 messages; unknown sources: 1,975 of 1.
        format!("… and 1,975 more (5,925 messages) {tail}"),
        format!("… and 1,975 more (1,975 messages) {tail}"),
        format!("Acme Mail: … and 30 more (150 messages) {tail}"),
        format!("… and 220 more lookups {tail}"),
        format!("… and 440 more {tail}"),
    ] {
        assert!(text.contains(&expected), "missing {expected:?}");
    }
    assert_eq!(text.matches("… and 1,975 more (3,950 messages)").count(), 2);
    // The first rows are shown, the rest only counted; totals stay exact.
    assert!(text.contains("evidence line 0059") && !text.contains("evidence line 0060"));
    // Report and input listings are summaries in the PDF (every entry is in evidence.json):
    // 5,000 reports from one reporter are one row, 5,000 XML files one row by kind.
    assert!(!text.contains("reports/r00099.xml") && !text.contains("id-00100"));
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("The 5,000 accepted reports, by reporter"),
        "reports summary"
    );
    assert!(flat.contains("xml 5,000 3,500,000"), "inputs by kind");
    assert_eq!(report_messages + (1..=100).sum::<u64>(), 12_502_500);
    assert!(
        flat.contains("Reporter 5,000 1 5,000 12,502,500"),
        "reporter row"
    );
    assert!(
        flat.contains("5,000 DMARC aggregate reports counted in the period (of 5,000 files read)")
    );
    assert!(text.contains("2,000 rejected"));
}

/// A generated 200-domain organization through the real assessment and render: the same gaps
/// on many domains are one cause each, the cover and the scope do not list every domain, and
/// the document stays a readable size.
#[test]
fn a_200_domain_organization_stays_readable() {
    use crate::assess::{self, Inputs};
    use crate::config::{DomainConfig, Governance, PolicyConfig, Role};
    use crate::evidence::SnapshotRef;
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::Rtype;
    use crate::snapshot::ScopedDomain;

    let names: Vec<String> = (0..200).map(|i| format!("clinic{i:03}.test")).collect();
    // Every domain enforces p=reject without np; every fourth is still at p=none.
    let records: Vec<(String, String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = if i % 4 == 0 { "none" } else { "reject" };
            (
                d.clone(),
                format!("_dmarc.{d}"),
                format!("v=DMARC1; p={p}; rua=mailto:dmarc@{d}"),
            )
        })
        .collect();
    let spf = "v=spf1 -all".to_string();
    let mx = "10 mx.test.".to_string();
    let mut lookups: Vec<(&str, Rtype, Outcome, Vec<&str>)> = Vec::new();
    for (d, dm, rec) in &records {
        lookups.push((d.as_str(), Rtype::Txt, Outcome::Answer, vec![spf.as_str()]));
        lookups.push((dm.as_str(), Rtype::Txt, Outcome::Answer, vec![rec.as_str()]));
        lookups.push((d.as_str(), Rtype::Mx, Outcome::Answer, vec![mx.as_str()]));
    }
    let refs: Vec<(&str, Rtype, Outcome, &[&str])> = lookups
        .iter()
        .map(|(n, t, o, a)| (*n, *t, *o, a.as_slice()))
        .collect();
    let mut snap = snapshot(&refs);
    let roles = [Role::Patient, Role::Workforce, Role::Marketing];
    let domains: Vec<DomainConfig> = names
        .iter()
        .enumerate()
        .map(|(i, n)| DomainConfig {
            name: n.clone(),
            role: roles[i % 3],
            selectors: vec![],
            owner: None,
        })
        .collect();
    snap.domains = domains
        .iter()
        .map(|d| ScopedDomain {
            name: d.name.clone(),
            role: d.role,
            selectors: vec![],
        })
        .collect();
    let period = crate::period::Period::new("2026-10".parse().expect("month"), chrono_tz::UTC);
    let snap_ref = SnapshotRef {
        path: "snapshots/x.json".into(),
        taken_at: snap.taken_at,
        sha256: "00".repeat(32),
        selection: "test".into(),
        nameservers: vec![],
    };
    let policy = PolicyConfig::default();
    let reports = crate::reports::ReportSet::default();
    let inventory = crate::inventory::Inventory::default();
    let governance = Governance::default();
    let e = assess::assess(&Inputs {
        organization: "Two Hundred Clinics",
        period: &period,
        generated_at: Utc.timestamp_opt(1_793_534_400, 0).single().expect("time"),
        domains: &domains,
        scoped: &snap.domains,
        policy: &policy,
        snapshot: Some((&snap, snap_ref)),
        previous_snapshot: None,
        history: &[],
        earlier: &[],
        governance: &governance,
        controls: &[],
        decisions: &[],
        decisions_file: None,
        previous_evidence: None,
        previous_evidence_path: None,
        reports: &reports,
        inventory: &inventory,
        inputs: vec![],
    });
    // 150 DMARC-007 findings and 50 DMARC-003 findings are two causes, not 200 cards.
    let np: Vec<&crate::evidence::Cause> =
        e.causes.iter().filter(|c| c.id == "DMARC-007").collect();
    assert_eq!(
        np.len(),
        1,
        "{:?}",
        e.causes.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    assert_eq!(np[0].subjects.len(), 150);
    assert!(
        e.causes.len() <= 4,
        "{:?}",
        e.causes.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    assert!(e.findings.len() >= 200);

    let pdf = render(&e);
    let pages_n = page_count(&pdf);
    eprintln!("200-domain organization: {pages_n} pages");
    // To look at it: MAILPROOF_KEEP_PDF=/tmp/x.pdf cargo test --lib a_200_domain
    if let Ok(keep) = std::env::var("MAILPROOF_KEEP_PDF") {
        std::fs::write(keep, &pdf).expect("write the kept PDF");
    }
    assert!(pages_n < 40, "{pages_n} pages");
    let Some(text) = poppler("pdftotext", &["-l", "1"], &pdf) else {
        return;
    };
    assert!(
        text.contains("and 194 more domains"),
        "cover lists every domain:\n{text}"
    );
    assert!(!text.contains("clinic199.test"));
}

/// The transport section and the posture's transport cell, from a domain as the probes met it:
/// an MX without STARTTLS, one with an invalid certificate, a policy in testing mode.
#[test]
fn transport_section_shows_what_the_probes_met() {
    use crate::evidence::transport::{MxHost, StsState, TlsRptState, TlsSession, TransportPosture};
    use crate::transport::{CertSummary, PresentedChain};
    let mut e = evidence_with(vec![], "2026-10");
    e.domains = vec![DomainPosture {
        domain: "portal.test".into(),
        role: "patient".into(),
        transport: Some(TransportPosture {
            assessed: true,
            probed: true,
            null_mx: false,
            mx: vec![
                MxHost {
                    host: "mx1.portal.test".into(),
                    preference: 10,
                    addresses: vec!["192.0.2.1".into()],
                    probe: "ok".into(),
                    starttls: Some(false),
                    ..Default::default()
                },
                MxHost {
                    host: "mx2.portal.test".into(),
                    preference: 20,
                    addresses: vec!["192.0.2.2".into()],
                    probe: "ok".into(),
                    starttls: Some(true),
                    tls: Some(TlsSession {
                        version: "TLSv1.3".into(),
                        cipher: "TLS13_AES_256_GCM_SHA384".into(),
                    }),
                    certificate: Some(PresentedChain {
                        chain: vec![CertSummary {
                            issuer: "CN=Test CA".into(),
                            not_after: "2021-01-01T00:00:00Z".into(),
                            key_type: "ec".into(),
                            key_bits: 256,
                            ..Default::default()
                        }],
                        validated_for: "mx2.portal.test".into(),
                        valid: false,
                        error: Some("the certificate has expired".into()),
                    }),
                    tlsa: vec!["3 1 1 abcdef".into()],
                    legacy_accepted: vec!["TLSv1.0".into(), "TLSv1.1".into()],
                    sts_covered: Some(false),
                    ..Default::default()
                },
            ],
            mta_sts: StsState {
                record: Some("v=STSv1; id=1".into()),
                id: Some("1".into()),
                record_valid: true,
                mode: Some("testing".into()),
                max_age: Some(86_400),
                mx_patterns: vec!["mx1.portal.test".into()],
                ..Default::default()
            },
            tls_rpt: TlsRptState::default(),
        }),
        ..Default::default()
    }];
    let pdf = render(&e);
    let Some(text) = poppler("pdftotext", &[], &pdf) else {
        return;
    };
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "STARTTLS 1 of 2; MTA-STS testing",
        "Transport Security",
        "not offered",
        "TLSv1.3",
        "invalid the certificate",
        "expires 2021-01-01",
        "7.2 DNSSEC",
        "holds no DNSSEC validation",
        "not in the MTA",
        "3 1 1 …",
        "max_age 86,400",
        "No SMTP TLS report",
        "also accepts TLSv1.0, TLSv1.1",
    ] {
        assert!(flat.contains(want), "{want:?} missing from\n{flat}");
    }
}

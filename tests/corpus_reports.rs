//! Every real-world aggregate report sample in the shared corpus, with the outcome we decided
//! is correct for it: parsed (with its id, row and message counts) or rejected (with a phrase
//! its reason must contain). A new corpus file without an entry here fails the test, so the
//! table stays complete.

mod common;
use mailproof::reports::model::AuthResult;
use mailproof::reports::store::{BytesOutcome, ingest, ingest_bytes};
use std::path::Path;

enum Expect {
    Parsed {
        report_id: &'static str,
        records: usize,
        messages: u64,
        /// A phrase one of the repair notes must contain, or `None` for no repairs at all.
        repair: Option<&'static str>,
    },
    Rejected(&'static str),
}

use Expect::{Parsed, Rejected};

const fn parsed(report_id: &'static str, records: usize, messages: u64) -> Expect {
    Parsed {
        report_id,
        records,
        messages,
        repair: None,
    }
}

const fn repaired(
    report_id: &'static str,
    records: usize,
    messages: u64,
    repair: &'static str,
) -> Expect {
    Parsed {
        report_id,
        records,
        messages,
        repair: Some(repair),
    }
}

const TABLE: &[(&str, Expect)] = &[
    (
        "parsedmarc/samples/aggregate/!example.com!1538204542!1538463818.xml",
        repaired(
            "example.com:1538463741",
            1,
            1,
            "took \"accurateplastics.com\"",
        ),
    ),
    (
        "parsedmarc/samples/aggregate/!large-example.com!1711897200!1711983600.xml",
        repaired("example.com:1711897200", 2286, 2286, "empty <org_name>"),
    ),
    (
        "parsedmarc/samples/aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml",
        parsed("949348866075514174", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml",
        parsed("3ceb5548498640beaeb47327e202b0b9", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate/empty_reason.xml",
        parsed("20240125141224705995", 1, 2),
    ),
    (
        "parsedmarc/samples/aggregate/estadocuenta1.infonacot.gob.mx!example.com!1536853302!1536939702!2940.xml.zip",
        parsed("2940", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate/example.net!example.com!1529366400!1529452799.xml",
        parsed("b043f0e264cf4ea995e93765242f6dfb", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate/fastmail.com!example.com!1516060800!1516147199!102675056.xml.gz",
        parsed("102675056", 1, 1),
    ),
    // A stray, never-closed <xs:schema> wraps the report: the report inside is intact, so it
    // is read and the wrapper is noted.
    (
        "parsedmarc/samples/aggregate/ikea.com!example.de!1538690400!1538776800.xml",
        repaired("aggr_report_2018_10_05_5bc7e9b4f3e8a", 1, 1, "<xs:schema>"),
    ),
    (
        "parsedmarc/samples/aggregate/invalid_utf_8.xml",
        repaired("example.com:1538463741", 1, 1, "invalid UTF-8"),
    ),
    // parsedmarc's "invalid XML" sample: a bare `<` in <email> and one in the record's
    // <header_from>, which swallows its end tag. The first is kept as text; the record cannot
    // be trusted and is skipped with its reason, the report's metadata survives.
    (
        "parsedmarc/samples/aggregate/invalid_xml.xml",
        repaired(
            "sonexushealth.com:1530233361",
            0,
            0,
            "record 1 skipped: <header_from> was not closed (byte 727)",
        ),
    ),
    (
        "parsedmarc/samples/aggregate/mimecast-weird-gzip.eml",
        repaired(
            "157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e",
            1,
            1,
            "2 trailing bytes after the gzip stream",
        ),
    ),
    (
        "parsedmarc/samples/aggregate/old_draft_from_wiki.xml",
        parsed("9391651994964116463", 1, 2),
    ),
    (
        "parsedmarc/samples/aggregate/protection.outlook.com!example.com!1711756800!1711843200.xml",
        parsed("cfeafefe4129445e8c81018bd9177197", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml",
        parsed("dmarcbis-test-report-001", 2, 7),
    ),
    (
        "parsedmarc/samples/aggregate/rfc9990-sample.xml",
        parsed("3v98abbp8ya9n3va8yr8oa3ya", 1, 123),
    ),
    (
        "parsedmarc/samples/aggregate/twilight.eml",
        parsed("1627703331531660819", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate/usssa.com!example.com!1538784000!1538870399.xml",
        parsed("8953b4d4a4ee4218b6ac0e2cb2667ee1", 2, 2),
    ),
    (
        "parsedmarc/samples/aggregate/veeam.com!example.com!1530133200!1530219600.xml",
        parsed("sonexushealth.com:1530233361", 1, 1),
    ),
    (
        "parsedmarc/samples/aggregate_invalid/report_with_upper_cased_pass.xml",
        parsed("aggr_report_example.com_20191202_1638", 1, 1),
    ),
    ("parsedmarc/samples/empty.xml", Rejected("empty")),
    (
        "parsedmarc/samples/failure/[Netease DMARC Failure Report] Rent Reminder.eml",
        Rejected("failure report (ruf), not an aggregate report"),
    ),
    (
        "parsedmarc/samples/failure/dmarc_ruf_report_linkedin.crlf.eml",
        Rejected("failure report (ruf), not an aggregate report"),
    ),
    (
        "parsedmarc/samples/failure/dmarc_ruf_report_linkedin.eml",
        Rejected("failure report (ruf), not an aggregate report"),
    ),
    (
        "ietf-dmarc-aggregate-reporting/dmarc-xmlalt-0.2.xml",
        parsed("3v98abbp8ya9n3va8yr8oa3ya", 1, 123),
    ),
    // The schema itself mentions every element name but holds no report.
    (
        "ietf-dmarc-aggregate-reporting/dmarc-xml-0.2.xsd",
        Rejected("not a DMARC aggregate report (root element <xs:schema>)"),
    ),
];

/// The corpus folder, or `None` (after saying so) when it is absent outside CI.
use common::corpus;

/// Every file the brief puts under test: the aggregate sample folders, empty.xml, the failure
/// samples and the IETF folder.
fn corpus_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let folders = [
        "parsedmarc/samples/aggregate",
        "parsedmarc/samples/aggregate_invalid",
        "parsedmarc/samples/failure",
        "ietf-dmarc-aggregate-reporting",
    ];
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && !name.starts_with('.') {
                out.push(format!("{folder}/{name}"));
            }
        }
    }
    out.push("parsedmarc/samples/empty.xml".to_string());
    out.sort();
    out
}

fn outcome(root: &Path, rel: &str) -> BytesOutcome {
    let bytes = std::fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    ingest_bytes(rel, &bytes)
}

#[test]
fn every_corpus_file_has_the_expected_outcome() {
    let Some(root) = corpus() else { return };
    let listed: Vec<&str> = TABLE.iter().map(|(p, _)| *p).collect();
    for file in corpus_files(&root) {
        assert!(
            listed.contains(&file.as_str()),
            "corpus file {file} has no expected outcome in TABLE"
        );
    }
    let mut failures = Vec::new();
    for (rel, expect) in TABLE {
        let out = outcome(&root, rel);
        let got = format!(
            "reports {:?}, rejected {:?}",
            out.reports
                .iter()
                .map(|r| (&r.report_id, r.rows.len(), r.messages(), &r.repairs))
                .collect::<Vec<_>>(),
            out.rejected
        );
        let ok = match expect {
            Parsed {
                report_id,
                records,
                messages,
                repair,
            } => {
                out.rejected.is_empty()
                    && out.reports.len() == 1
                    && out.reports[0].report_id == *report_id
                    && out.reports[0].rows.len() == *records
                    && out.reports[0].messages() == *messages
                    && match repair {
                        None => out.reports[0].repairs.is_empty(),
                        Some(p) => out.reports[0].repairs.iter().any(|n| n.contains(p)),
                    }
            }
            Rejected(phrase) => {
                out.reports.is_empty()
                    && !out.rejected.is_empty()
                    && out.rejected.iter().all(|r| r.reason.contains(phrase))
            }
        };
        if !ok {
            failures.push(format!("{rel}: {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "unexpected outcomes:\n{}",
        failures.join("\n")
    );
}

#[test]
fn corpus_quirks_are_normalized() {
    let Some(root) = corpus() else { return };
    let one = |rel: &str| {
        let mut out = outcome(&root, rel);
        assert_eq!(out.reports.len(), 1, "{rel}: {:?}", out.rejected);
        out.reports.remove(0)
    };

    let r = one("parsedmarc/samples/aggregate_invalid/report_with_upper_cased_pass.xml");
    assert_eq!(
        r.org_name, "example.com",
        "spaces around org_name are trimmed"
    );
    assert!(
        r.rows
            .iter()
            .any(|row| row.dkim_evaluated == AuthResult::Pass
                || row.spf_evaluated == AuthResult::Pass)
    );

    let r = one("parsedmarc/samples/aggregate/rfc9990-sample.xml");
    assert_eq!(r.schema, "2.0");
    assert_eq!(r.org_name, "Sample Reporter");
    assert_eq!(r.policy.np.as_deref(), Some("none"));
    assert_eq!(r.policy.testing.as_deref(), Some("n"));
    assert_eq!(r.policy.discovery_method.as_deref(), Some("treewalk"));
    assert_eq!(r.rows[0].disposition, "pass");
    assert_eq!(r.rows[0].dkim[0].selector.as_deref(), Some("abc123"));
    assert_eq!(
        r.generator.as_deref(),
        Some("Example DMARC Aggregate Reporter v1.2")
    );

    // RFC 9990 human_result is kept; an empty one is dropped.
    let r = one("parsedmarc/samples/aggregate/empty_reason.xml");
    assert!(
        r.rows[0]
            .dkim
            .iter()
            .any(|d| d.human_result.as_deref() == Some("2048-bit key")),
        "{:?}",
        r.rows[0].dkim
    );
    // The wiki's draft example has no namespace, so it reads as the RFC 7489 shape it shares.
    let r = one("parsedmarc/samples/aggregate/old_draft_from_wiki.xml");
    assert!(r.rows[0].dkim.iter().all(|d| d.human_result.is_none()));
    assert!(r.rows[0].spf.iter().all(|d| d.human_result.is_none()));

    let r = one(
        "parsedmarc/samples/aggregate/rfc9990-example.net!example.com!1700000000!1700086399.xml",
    );
    assert_eq!(r.schema, "2.0");
    assert_eq!(r.begin.timestamp(), 1_700_000_000);

    let r =
        one("parsedmarc/samples/aggregate/addisonfoods.com!example.com!1536105600!1536191999.xml");
    assert_eq!(r.schema, "1.0");
    assert_eq!(r.policy.domain, "example.com");

    let r = one(
        "parsedmarc/samples/aggregate/Report domain- borschow.com Submitter- google.com Report-ID- 949348866075514174.eml",
    );
    assert_eq!(r.org_name, "google.com");
    let member = r.origin.member.clone().unwrap_or_default();
    assert!(member.contains("application/zip"), "{member}");
    assert!(member.contains("zip:google.com!borschow.com!"), "{member}");

    let r = one("parsedmarc/samples/aggregate/!example.com!1538204542!1538463818.xml");
    assert_eq!(r.org_name, "accurateplastics.com");
    assert_eq!(r.begin, r.end);
}

#[test]
fn whole_folder_ingest() {
    let Some(root) = corpus() else { return };
    let set = ingest(&[root.join("parsedmarc/samples")], None);
    // 19 aggregate + 1 aggregate_invalid + empty.xml + 3 failure samples, and the SMTP TLS
    // reports (RFC 8460) the corpus gained for transport security: each is read as one (see
    // tests/tls_reports.rs), never mistaken for an aggregate report, rejected or lost.
    let tls = std::fs::read_dir(root.join("parsedmarc/samples/smtp_tls"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(set.files.len(), 24 + tls);
    let reasons: Vec<&str> = set.rejected.iter().map(|r| r.reason.as_str()).collect();
    // empty.xml and the three failure reports.
    assert_eq!(set.rejected.len(), 4, "{reasons:?}");
    assert_eq!(set.tls.reports.len(), tls);
    // invalid_utf_8.xml repeats !example.com!…'s reporter and report id; invalid_xml.xml is
    // a damaged copy of veeam.com's report: read first (path order), but the intact copy
    // read after it is the one kept.
    assert_eq!(set.duplicates.len(), 2);
    assert_eq!(set.duplicates[0].report_id, "example.com:1538463741");
    let damaged = &set.duplicates[1];
    assert!(damaged.origin.file.ends_with("invalid_xml.xml"));
    assert!(
        damaged
            .kept
            .file
            .ends_with("veeam.com!example.com!1530133200!1530219600.xml")
    );
    let veeam = set
        .reports
        .iter()
        .find(|r| r.report_id == "sonexushealth.com:1530233361")
        .map(|r| (r.records, r.skipped_records));
    assert_eq!(veeam, Some((1, 0)));
    assert_eq!(set.reports.len(), 24 - 4 - 2);
    assert!(
        set.reports
            .windows(2)
            .all(|w| (w[0].begin, &w[0].org_name, &w[0].report_id)
                <= (w[1].begin, &w[1].org_name, &w[1].report_id))
    );
    // Rows were folded into the aggregate as they streamed: summaries only on the reports,
    // and the aggregate holds every message exactly once.
    assert!(set.reports.iter().all(|r| r.rows.is_empty()));
    let summed: u64 = set.reports.iter().map(|r| r.messages()).sum();
    assert_eq!(set.aggregate.messages(), summed);
    let records: usize = set.reports.iter().map(|r| r.record_count()).sum();
    assert_eq!(set.aggregate.source_rows, records as u64);
    assert!(set.aggregate.rows.len() <= records);
    // The 2,286-record report is in it.
    assert!(records > 2286);
    let kinds: Vec<&str> = set.files.iter().map(|f| f.kind.as_str()).collect();
    // The two LinkedIn samples begin with an mbox `From ` line: read as one-message mailboxes.
    let tls_eml = std::fs::read_dir(root.join("parsedmarc/samples/smtp_tls"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(kinds.iter().filter(|k| **k == "eml").count(), 4 + tls_eml);
    assert_eq!(kinds.iter().filter(|k| **k == "mbox").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "gzip").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "zip").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "empty").count(), 1);
}

/// A hostile `<count>` (u64::MAX in two rows) must be refused with a reason, never overflow.
#[test]
fn absurd_counts_are_refused_not_summed() {
    let row = |ip: &str| {
        format!(
            "<record><row><source_ip>{ip}</source_ip><count>18446744073709551615</count>\
<policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>\
<identifiers><header_from>example.com</header_from></identifiers><auth_results/></record>"
        )
    };
    let xml = format!(
        "<feedback><report_metadata><org_name>x.example</org_name><email>r@x.example</email>\
<report_id>ovf-1</report_id><date_range><begin>1790000000</begin><end>1790086399</end></date_range>\
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>{}{}\
<record><row><source_ip>192.0.2.9</source_ip><count>5</count><policy_evaluated><disposition>none</disposition>\
<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>\
</identifiers><auth_results/></record></feedback>",
        row("192.0.2.1"),
        row("192.0.2.2")
    );
    let out = mailproof::reports::store::ingest_bytes("overflow.xml", xml.as_bytes());
    assert_eq!(out.reports.len(), 1, "rejected: {:?}", out.rejected);
    let r = &out.reports[0];
    assert_eq!(r.messages(), 5);
    assert!(
        r.repairs.iter().any(|n| n.contains("exceeds")),
        "{:?}",
        r.repairs
    );
}

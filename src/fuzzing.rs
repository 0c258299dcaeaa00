//! The fuzz targets, as plain functions: `fuzz/` runs each under AFL++ (`make fuzz`), and
//! `tests/fuzz_smoke.rs` runs each over its seeds and mutations of them in `make test`. Each
//! takes any bytes and panics only when an invariant breaks, so a crash is a finding.

use crate::reports::model::Origin;
use crate::reports::open::Limits;
use std::path::Path;

/// One fuzz target: any bytes in, a panic only when an invariant breaks.
pub type Target = fn(&[u8]);

/// The targets by name, as `make fuzz` and the smoke test list them.
pub const TARGETS: &[(&str, Target)] = &[
    ("report_bytes", report_bytes),
    ("xml", xml),
    ("tlsrpt_json", tlsrpt_json),
    ("spf_record", spf_record),
    ("dmarc_record", dmarc_record),
    ("dkim_record", dkim_record),
    ("mta_sts_policy", mta_sts_policy),
    ("transport_records", transport_records),
    ("tls_server_hello", tls_server_hello),
    ("inventory_csv", inventory_csv),
    ("config_toml", config_toml),
    ("decisions_toml", decisions_toml),
    ("document_text", document_text),
];

/// Any bytes as a report file through the whole opener (XML, gzip, zlib, zip, email, mbox):
/// never a panic, and every input accounted for as reports or a rejection.
pub fn report_bytes(data: &[u8]) {
    // Small limits keep each execution fast and exercise the bomb and size checks.
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
        ratio_floor: 1 << 20,
        ..Limits::default()
    };
    let out = crate::reports::store::ingest_bytes_with("fuzz", data, &limits);
    assert!(
        !out.reports.is_empty() || !out.tls_reports.is_empty() || !out.rejected.is_empty(),
        "input neither read nor rejected"
    );
}

/// Any bytes straight into the SMTP TLS report reader (RFC 8460 JSON): a report within its
/// caps, or a reason.
pub fn tlsrpt_json(data: &[u8]) {
    use crate::reports::tlsrpt;
    let origin = Origin {
        file: "fuzz.json".to_string(),
        member: None,
    };
    match tlsrpt::parse(data, &origin) {
        Ok(report) => {
            assert!(!report.org_name.is_empty() && !report.report_id.is_empty());
            assert!(report.begin <= report.end);
            assert!(report.policies.len() <= tlsrpt::MAX_POLICIES);
            assert!(
                report
                    .policies
                    .iter()
                    .all(|p| p.failures.len() <= tlsrpt::MAX_FAILURE_DETAILS
                        && !p.policy_domain.is_empty())
            );
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Any bytes straight into the XML report parser, past the container sniffing.
pub fn xml(data: &[u8]) {
    let origin = Origin {
        file: "fuzz.xml".to_string(),
        member: None,
    };
    if let Ok(report) = crate::reports::xml::parse(data, &origin) {
        // Identical rows merge, so there are at most as many rows as usable records, and
        // no message is lost in merging.
        assert!(report.rows.len() <= report.record_count());
        let summed = report
            .rows
            .iter()
            .fold(0u64, |n, r| n.saturating_add(r.count));
        assert_eq!(report.message_count, summed);
        assert!(!report.report_id.is_empty());
        assert!(report.org_name.len() <= crate::reports::xml::MAX_TEXT);
    }
}

/// TXT record text as DNS would hand it over (lossy UTF-8, as the snapshot stores it).
fn record_text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// SPF record parser; a parsed record prints back to text without panicking.
pub fn spf_record(data: &[u8]) {
    let text = record_text(data);
    let record = crate::records::spf::parse(&text);
    let _ = format!("{record:?}");
}

pub fn dmarc_record(data: &[u8]) {
    let text = record_text(data);
    let record = crate::records::dmarc::parse(&text);
    let _ = format!("{record:?}");
}

pub fn dkim_record(data: &[u8]) {
    let text = record_text(data);
    let key = crate::records::dkim::parse(&text);
    let _ = format!("{key:?}");
}

/// An MTA-STS policy body as a web server (anyone's) serves it: a valid policy has what a
/// sender needs, every diagnostic points at a line of the body, and matching any host name
/// against its patterns never panics.
pub fn mta_sts_policy(data: &[u8]) {
    let body = String::from_utf8_lossy(data);
    let p = crate::records::mta_sts::parse_policy(&body);
    if p.is_valid() {
        assert!(p.mode.is_some() && p.max_age.is_some());
    }
    let lines = body.split('\n').count();
    for d in &p.diagnostics {
        assert!(
            d.pos >= 1 && d.pos <= lines,
            "diagnostic at line {} of {lines}",
            d.pos
        );
    }
    for host in [
        "mx.example.com",
        "a.b.example.com",
        "",
        ".",
        "*.example.com",
    ] {
        let _ = p.covers(host);
    }
    for line in body.lines().take(4) {
        let _ = p.covers(line.trim());
    }
}

/// The `_mta-sts` and `_smtp._tls` TXT records: parsed with positioned diagnostics or
/// refused, never a panic.
pub fn transport_records(data: &[u8]) {
    let text = record_text(data);
    let sts = crate::records::mta_sts::parse_record(&text);
    if sts.is_valid() {
        assert!(sts.id.is_some(), "a valid MTA-STS record without an id");
    }
    let rpt = crate::records::tls_rpt::parse(&text);
    if rpt.is_valid() {
        assert!(!rpt.rua.is_empty(), "a valid TLS-RPT record without rua");
    }
}

/// A server's answer to the legacy ClientHello (SSLv3, TLS 1.0/1.1, RC4, 3DES): the server
/// is a stranger, so its bytes are hostile. Acceptance needs at least a record header; every
/// answer comes with words.
pub fn tls_server_hello(data: &[u8]) {
    let (version, suites): (u16, &[u16]) = match data.first().map(|b| b % 4) {
        Some(0) => (0x0300, &[0x000a]),
        Some(1) => (0x0301, &[0x0005, 0x0004]),
        Some(2) => (0x0302, &[0x002f, 0x0035]),
        _ => (0x0303, &[0x000a]),
    };
    let bytes = data.get(1..).unwrap_or_default();
    let (accepted, words) = crate::transport::legacy::read_answer(bytes, version, suites);
    if accepted == Some(true) {
        assert!(bytes.len() > 5, "accepted without a record");
    }
    assert!(!words.is_empty());
}

/// The vendor inventory CSV: parsed or refused with a message, every rejected row named with
/// its line.
pub fn inventory_csv(data: &[u8]) {
    match crate::inventory::Inventory::parse(data, Path::new("fuzz.csv")) {
        Ok(inv) => {
            for r in &inv.rejected {
                assert!(r.line >= 1, "a rejected row has no line number");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// The config TOML: parsed and validated, or refused with a message naming the file.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = crate::config::Config::from_str(text, Path::new("fuzz.toml")) {
        assert!(e.to_string().contains("fuzz.toml"), "{e}");
    }
}

/// The risk decisions TOML.
pub fn decisions_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::decisions::parse(text);
}

/// Any text through the document's one door into a PDF/A page: rendering never fails.
pub fn document_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = crate::render::pdf::probe_text(&text) {
        panic!("text {text:?} does not render: {e}");
    }
}

/// Seed inputs for `target`, from the bundled samples under `repo` and the shared corpus
/// (`MAILPROOF_CORPUS`), so the fuzzer starts from real reports, records and files.
pub fn seeds(target: &str, repo: &Path, corpus: &Path) -> Vec<Vec<u8>> {
    let samples = repo.join("samples");
    let mut out: Vec<Vec<u8>> = Vec::new();
    let small_files = |dir: &Path| -> Vec<Vec<u8>> {
        let mut files = Vec::new();
        walk(dir, &mut files);
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .filter(|b| b.len() <= 256 * 1024)
            .collect()
    };
    match target {
        "report_bytes" => {
            out.extend(small_files(&samples.join("reports")));
            out.extend(small_files(&corpus.join("parsedmarc/samples")));
            out.extend(small_files(&corpus.join("ietf-dmarc-aggregate-reporting")));
        }
        "tlsrpt_json" => {
            let all = small_files(&corpus.join("parsedmarc/samples/smtp_tls"));
            out.extend(all.into_iter().filter(|b| b.first() == Some(&b'{')));
        }
        "xml" => {
            let mut all = small_files(&samples.join("reports"));
            all.extend(small_files(&corpus.join("parsedmarc/samples/aggregate")));
            out.extend(all.into_iter().filter(|b| b.first() == Some(&b'<')));
        }
        "spf_record" | "dmarc_record" | "dkim_record" => {
            let mut texts: Vec<String> = Vec::new();
            let mut snaps = Vec::new();
            walk(&samples.join("snapshots"), &mut snaps);
            for p in snaps {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(
                    &std::fs::read(&p).unwrap_or_default(),
                ) {
                    strings(&v, &mut texts);
                }
            }
            let mut docs = Vec::new();
            walk(&corpus.join("pyspf"), &mut docs);
            walk(&corpus.join("mail-auth/resources"), &mut docs);
            for p in docs {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned();
                texts.extend(text.lines().map(|l| l.trim().trim_matches('"').to_string()));
                if p.extension().is_some_and(|e| e == "txt") {
                    texts.push(text.trim().to_string());
                }
            }
            let wanted = |t: &str| match target {
                "spf_record" => t.contains("v=spf1"),
                "dmarc_record" => t.contains("v=DMARC1"),
                _ => t.contains("p=") && (t.contains("k=") || t.contains("v=DKIM1")),
            };
            texts.retain(|t| wanted(t));
            texts.sort();
            texts.dedup();
            out.extend(texts.into_iter().map(String::into_bytes));
        }
        "mta_sts_policy" => {
            for body in [
                "version: STSv1\nmode: enforce\nmx: *.mail.protection.m365mail.example\nmax_age: 1209600\n",
                "version: STSv1\r\nmode: testing\r\nmx: mx1.example\r\nmx: .example\r\nmax_age: 604800\r\n",
                "version: STSv1\nmode: none\nmax_age: 86400\n",
            ] {
                out.push(body.as_bytes().to_vec());
            }
        }
        "transport_records" => {
            for t in [
                "v=STSv1; id=20260301T120000",
                "v=STSv1;id=abc123;",
                "v=TLSRPTv1; rua=mailto:tlsrpt@example.org,https://reports.example.net/tlsrpt",
                "v=TLSRPTv1;rua=mailto:a@b.example!10m",
            ] {
                out.push(t.as_bytes().to_vec());
            }
        }
        "tls_server_hello" => {
            // A TLS 1.0 ServerHello choosing RC4-SHA, an alert, and a truncated record.
            let hello = [
                1u8, 22, 3, 1, 0, 42, 2, 0, 0, 38, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0,
            ];
            out.push(hello.to_vec());
            out.push(vec![0, 21, 3, 0, 0, 2, 2, 40]);
            out.push(vec![2, 22, 3, 2, 0]);
        }
        "inventory_csv" => {
            out.extend(std::fs::read(samples.join("vendors.csv")));
            // The workbook form reaches the .xlsx reader (a zip of XML parts).
            out.extend(std::fs::read(samples.join("vendors.xlsx")));
        }
        "config_toml" => out.extend(std::fs::read(samples.join("mailproof.toml"))),
        "decisions_toml" => out.extend(std::fs::read(samples.join("decisions.toml"))),
        "document_text" => {
            for s in [
                "Riverside Health System",
                "中文 日本語かな 한국어 العربية עברית हिन्दी ภาษาไทย Ελληνικά Кириллица",
                "e\u{301} o\u{20dd} \u{1b}[31m \u{202e}gnp.exe \u{fffe} \u{1f600}\u{fe0f}",
                "selector1._domainkey.riversidehealth.example",
            ] {
                out.push(s.as_bytes().to_vec());
            }
        }
        _ => {}
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&p, out),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

//! Report-ingestion benchmark (`make bench`): throughput and peak memory of
//! `mailproof reports` on a synthetic corpus, and parsedmarc's on the same files when it is
//! installed.
//!
//! The corpus is generated into a temporary folder (never committed): at least
//! `MAILPROOF_BENCH_MB` (default 220) MB of report XML over thousands of files, in every form
//! the reader accepts (bare XML, gzip, zip with one or two members, raw zlib, emails with a
//! base64 gzip attachment, and mailboxes of several emails), plus a few multi-MB reports.
//! The release binary runs pinned to one core (`taskset -c 0` when available) under
//! `/usr/bin/time -v`, which gives the peak RSS. Throughput is uncompressed XML bytes over
//! wall-clock seconds, the median of three runs (each printed); peak RSS is the largest.

use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const REPORTERS: &[(&str, &str)] = &[
    ("google.com", "noreply-dmarc-support@google.com"),
    ("Yahoo", "dmarchelp@yahooinc.com"),
    ("Enterprise Outlook", "dmarcreport@microsoft.com"),
    ("Mail.Ru", "dmarc_support@corp.mail.ru"),
    ("comcast.net", "dmarc@comcast.net"),
    ("Fastmail Pty Ltd", "dmarc@fastmail.com"),
    ("", "dmarc@emptyorg.example"),
    ("proofpoint.com", "dmarc_rua@emaildefense.proofpoint.com"),
];
const DOMAINS: &[&str] = &[
    "riverside-health.example",
    "portal.riverside-health.example",
    "rhs-mail.example",
    "riverside-news.example",
];
const DKIM: &[(&str, &str)] = &[
    ("riverside-health.example", "selector1"),
    ("riverside-health.example", "selector2"),
    ("mcsv.net", "k1"),
    ("sendgrid.info", "s1"),
    ("phish.example", "x"),
];

/// xorshift64*: deterministic, so every run measures the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Distinct sending IPs: one organization's senders, vendors and spoofers.
const SOURCES: u64 = 400;

fn source_ip(n: u64) -> String {
    match n % 4 {
        0 => format!("192.0.2.{}", n / 4 % 250 + 1),
        1 => format!("198.51.100.{}", n / 4 % 250 + 1),
        2 => format!("203.0.113.{}", n / 4 % 250 + 1),
        _ => format!("2001:db8:{:x}::{:x}", n % 7, n),
    }
}

/// One report of `records` rows; `ns` picks the RFC 9990 namespace and elements.
fn report(rng: &mut Rng, id: u64, records: usize, ns: bool) -> String {
    let (org, email) = *rng.pick(REPORTERS);
    let domain = *rng.pick(DOMAINS);
    // Days in October 2026 (UTC): 1790812800 is Oct 1.
    let begin = 1_790_812_800 + rng.below(31) * 86_400;
    let mut x = String::with_capacity(records * 700 + 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if ns {
        x.push_str(
            "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n<version>1.0</version>\n",
        );
    } else {
        x.push_str("<feedback>\n");
    }
    x.push_str(&format!(
        "  <report_metadata>\n    <org_name>{org}</org_name>\n    <email>{email}</email>\n    \
         <report_id>bench-{id}</report_id>\n    <date_range>\n      <begin>{begin}</begin>\n      \
         <end>{}</end>\n    </date_range>\n",
        begin + 86_399
    ));
    if ns {
        x.push_str("    <generator>bench 1.0</generator>\n");
    }
    x.push_str(&format!(
        "  </report_metadata>\n  <policy_published>\n    <domain>{domain}</domain>\n    \
         <adkim>r</adkim>\n    <aspf>r</aspf>\n    <p>quarantine</p>\n    <sp>none</sp>\n    \
         <pct>100</pct>\n"
    ));
    if ns {
        x.push_str("    <np>reject</np>\n    <testing>n</testing>\n    <discovery_method>treewalk</discovery_method>\n");
    }
    x.push_str("  </policy_published>\n");
    for _ in 0..records {
        record(rng, domain, &mut x);
    }
    x.push_str("</feedback>\n");
    x
}

/// Appends one `<record>` for `domain`.
fn record(rng: &mut Rng, domain: &str, x: &mut String) {
    // Each source has a stable profile (its signer, whether it is legitimate), as real
    // senders do; a few rows vary (a forwarded copy, a transient failure).
    let n = rng.below(SOURCES);
    let ip = source_ip(n);
    let heavy = rng.below(10) == 0;
    let count = 1 + rng.below(if heavy { 5000 } else { 40 });
    let (dkim_d, sel) = DKIM[(n % DKIM.len() as u64) as usize];
    let good = !dkim_d.starts_with("phish") && !n.is_multiple_of(11) && rng.below(50) != 0;
    let verdict = if good { "pass" } else { "fail" };
    let disposition = if good { "none" } else { "quarantine" };
    let spf_verdict = if n.is_multiple_of(3) { "fail" } else { verdict };
    x.push_str(&format!(
        "  <record>\n    <row>\n      <source_ip>{ip}</source_ip>\n      <count>{count}</count>\n      \
         <policy_evaluated>\n        <disposition>{disposition}</disposition>\n        \
         <dkim>{verdict}</dkim>\n        <spf>{}</spf>\n",
        spf_verdict
    ));
    if rng.below(20) == 0 {
        x.push_str("        <reason>\n          <type>forwarded</type>\n          <comment>list</comment>\n        </reason>\n");
    }
    x.push_str(&format!(
        "      </policy_evaluated>\n    </row>\n    <identifiers>\n      <header_from>{domain}</header_from>\n      \
         <envelope_from>bounce.{domain}</envelope_from>\n    </identifiers>\n    <auth_results>\n      \
         <dkim>\n        <domain>{dkim_d}</domain>\n        <selector>{sel}</selector>\n        \
         <result>{verdict}</result>\n      </dkim>\n      <spf>\n        <domain>bounce.{domain}</domain>\n        \
         <scope>mfrom</scope>\n        <result>{verdict}</result>\n      </spf>\n    </auth_results>\n  </record>\n"
    ));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn zip(members: &[(String, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, data) in members {
        if w.start_file(name.as_str(), opts).is_err() || w.write_all(data).is_err() {
            break;
        }
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

fn email(id: u64, xml: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(gzip(xml));
    let mut wrapped = String::with_capacity(b64.len() + b64.len() / 76 * 2);
    for chunk in b64.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        wrapped.push_str("\r\n");
    }
    format!(
        "From: noreply-dmarc-support@google.com\r\nTo: dmarc@riverside-health.example\r\n\
         Subject: Report Domain: riverside-health.example Report-ID: bench-{id}\r\n\
         Date: Mon, 2 Nov 2026 00:00:00 +0000\r\nMessage-ID: <bench-{id}@bench.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B{id}\"\r\n\r\n\
         --B{id}\r\nContent-Type: text/plain\r\n\r\nAggregate report.\r\n\
         --B{id}\r\nContent-Type: application/octet-stream; name=\"r{id}.xml.gz\"\r\n\
         Content-Disposition: attachment; filename=\"r{id}.xml.gz\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{wrapped}--B{id}--\r\n"
    )
}

struct Corpus {
    files: usize,
    xml_bytes: u64,
    disk_bytes: u64,
    reports: u64,
}

fn generate(dir: &Path, target_mb: u64) -> std::io::Result<Corpus> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let target = target_mb << 20;
    let mut c = Corpus {
        files: 0,
        xml_bytes: 0,
        disk_bytes: 0,
        reports: 0,
    };
    let mut id = 0u64;
    let mut next_report = |rng: &mut Rng, records: usize, c: &mut Corpus| {
        id += 1;
        c.reports += 1;
        let ns = rng.below(5) == 0;
        let x = report(rng, id, records, ns);
        c.xml_bytes += x.len() as u64;
        (id, x)
    };
    let write = |name: String, data: &[u8], c: &mut Corpus| -> std::io::Result<()> {
        let sub = dir.join(format!("d{:02}", c.files % 16));
        std::fs::create_dir_all(&sub)?;
        std::fs::write(sub.join(name), data)?;
        c.files += 1;
        c.disk_bytes += data.len() as u64;
        Ok(())
    };
    // A few large reports, as the biggest receivers send.
    for _ in 0..4 {
        let (id, x) = next_report(&mut rng, 8000, &mut c);
        write(format!("big-{id}.xml.gz"), &gzip(x.as_bytes()), &mut c)?;
    }
    while c.xml_bytes < target {
        let records = 20 + rng.below(200) as usize;
        let form = rng.below(20);
        match form {
            0..=6 => {
                let (id, x) = next_report(&mut rng, records, &mut c);
                write(format!("r{id}.xml"), x.as_bytes(), &mut c)?;
            }
            7..=11 => {
                let (id, x) = next_report(&mut rng, records, &mut c);
                // Some gzip files carry trailing CRLF, as Mimecast's do.
                let mut g = gzip(x.as_bytes());
                if id % 7 == 0 {
                    g.extend_from_slice(b"\r\n");
                }
                write(format!("r{id}.xml.gz"), &g, &mut c)?;
            }
            12..=14 => {
                let (id, x) = next_report(&mut rng, records, &mut c);
                let mut members = vec![(format!("google.com!x!{id}.xml"), x.into_bytes())];
                if rng.below(3) == 0 {
                    let (id2, y) = next_report(&mut rng, records / 2 + 1, &mut c);
                    members.push((format!("second!{id2}.xml"), y.into_bytes()));
                }
                let refs: Vec<(String, &[u8])> = members
                    .iter()
                    .map(|(n, d)| (n.clone(), d.as_slice()))
                    .collect();
                write(format!("r{id}.zip"), &zip(&refs), &mut c)?;
            }
            15 => {
                let (id, x) = next_report(&mut rng, records, &mut c);
                write(format!("r{id}.bin"), &zlib(x.as_bytes()), &mut c)?;
            }
            16..=18 => {
                let (id, x) = next_report(&mut rng, records, &mut c);
                write(
                    format!("r{id}.eml"),
                    email(id, x.as_bytes()).as_bytes(),
                    &mut c,
                )?;
            }
            _ => {
                let mut mbox = String::new();
                let mut first = 0;
                for _ in 0..8 {
                    let (id, x) = next_report(&mut rng, records / 4 + 5, &mut c);
                    if first == 0 {
                        first = id;
                    }
                    mbox.push_str("From MAILER-DAEMON Mon Nov  2 00:00:00 2026\n");
                    mbox.push_str(&email(id, x.as_bytes()).replace("\r\n", "\n"));
                    mbox.push('\n');
                }
                write(format!("box{first}.mbox"), mbox.as_bytes(), &mut c)?;
            }
        }
    }
    Ok(c)
}

/// Runs `cmd` pinned to one core under `/usr/bin/time -v`; returns (seconds, peak RSS KiB,
/// stdout).
fn measure(cmd: &[&str], stdout_to: &Path) -> Option<(f64, u64, String)> {
    let mut argv: Vec<String> = Vec::new();
    if Path::new("/usr/bin/taskset").exists() {
        argv.extend(["taskset".into(), "-c".into(), "0".into()]);
    }
    let timed = Path::new("/usr/bin/time").exists();
    if timed {
        argv.extend(["/usr/bin/time".into(), "-v".into()]);
    }
    argv.extend(cmd.iter().map(|s| s.to_string()));
    let out_file = std::fs::File::create(stdout_to).ok()?;
    let start = Instant::now();
    let output = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let secs = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes):")
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0);
    if !output.status.success() {
        eprintln!(
            "{} exited with {}:\n{}",
            cmd[0],
            output.status,
            tail(&stderr, 15)
        );
    }
    Some((secs, rss, stderr))
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Writes one report of at least `target` bytes of XML to `xml_path` and, gzipped, to
/// `gz_path`, record by record (the generator never holds it). Returns (XML bytes, records).
fn generate_huge(xml_path: &Path, gz_path: &Path, target: u64) -> std::io::Result<(u64, u64)> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut plain = std::io::BufWriter::new(std::fs::File::create(xml_path)?);
    let mut gz = GzEncoder::new(
        std::io::BufWriter::new(std::fs::File::create(gz_path)?),
        Compression::fast(),
    );
    let head = report(&mut rng, 1, 0, false);
    let head = head.trim_end().trim_end_matches("</feedback>");
    let mut written = 0u64;
    let mut records = 0u64;
    let mut put = |chunk: &str, written: &mut u64| -> std::io::Result<()> {
        plain.write_all(chunk.as_bytes())?;
        gz.write_all(chunk.as_bytes())?;
        *written += chunk.len() as u64;
        Ok(())
    };
    put(head, &mut written)?;
    let mut chunk = String::with_capacity(1 << 20);
    while written < target {
        chunk.clear();
        for _ in 0..1000 {
            record(&mut rng, "riverside-health.example", &mut chunk);
            records += 1;
        }
        put(&chunk, &mut written)?;
    }
    put("</feedback>\n", &mut written)?;
    plain.flush()?;
    gz.finish()?.flush()?;
    Ok((written, records))
}

/// One very large report, bare and gzipped: memory must not grow with the size of a file.
fn huge_file(bin: &str, tmp: &Path) {
    let target_mb: u64 = std::env::var("MAILPROOF_BENCH_HUGE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    let (xml_dir, gz_dir) = (tmp.join("huge-xml"), tmp.join("huge-gz"));
    if std::fs::create_dir_all(&xml_dir).is_err() || std::fs::create_dir_all(&gz_dir).is_err() {
        eprintln!("cannot create the huge-report folders");
        return;
    }
    let (xml_path, gz_path) = (xml_dir.join("huge.xml"), gz_dir.join("huge.xml.gz"));
    let (bytes, records) = match generate_huge(&xml_path, &gz_path, target_mb << 20) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot write the huge report: {e}");
            return;
        }
    };
    let mb = bytes as f64 / (1024.0 * 1024.0);
    let gz_mb = std::fs::metadata(&gz_path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0));
    println!("one report: {mb:.1} MB of XML, {records} records ({gz_mb:.1} MB gzipped)");
    for (form, dir) in [("bare XML", &xml_dir), ("gzip", &gz_dir)] {
        let dir_s = dir.display().to_string();
        let json_out = tmp.join("huge.json");
        let Some((secs, rss, _)) =
            measure(&[bin, "reports", &dir_s, "--format", "json"], &json_out)
        else {
            eprintln!("could not run {bin}");
            return;
        };
        let totals = std::fs::read(&json_out)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .map(|v| v["totals"].clone())
            .unwrap_or_default();
        let rss_mb = rss as f64 / 1024.0;
        println!(
            "one report, {form}: {secs:.2}s on one core, {:.0} MB/s of XML, peak RSS {rss_mb:.1} MB \
             (target <= 64 MB {}); {} report(s), {} records read",
            mb / secs,
            if rss > 0 && rss_mb <= 64.0 {
                "met"
            } else {
                "MISSED"
            },
            totals["reports"],
            totals["records"],
        );
        if totals["records"].as_u64() != Some(records) {
            println!(
                "WARNING: wrote {records} records but mailproof read {}",
                totals["records"]
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a 220 MB benchmark has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("report-ingestion benchmark: run `make bench` (or `cargo bench --bench ingest`)");
        return;
    }
    let target_mb: u64 = std::env::var("MAILPROOF_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(220);
    let bin = std::env::var_os("MAILPROOF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/mailproof"));
    if !bin.exists() {
        eprintln!(
            "{} not found: run `cargo build --release` first",
            bin.display()
        );
        std::process::exit(1);
    }
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot create a temporary folder: {e}");
            std::process::exit(1);
        }
    };
    // MAILPROOF_BENCH_DIR keeps the corpus for inspection (it must not exist yet).
    let corpus_dir = std::env::var_os("MAILPROOF_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("corpus"));
    let t = Instant::now();
    let corpus = match generate(&corpus_dir, target_mb) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot write the corpus: {e}");
            std::process::exit(1);
        }
    };
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "corpus: {} files, {} reports, {:.1} MB of XML ({:.1} MB on disk), generated in {:.1}s",
        corpus.files,
        corpus.reports,
        mb(corpus.xml_bytes),
        mb(corpus.disk_bytes),
        t.elapsed().as_secs_f64()
    );

    let json_out = tmp.path().join("reports.json");
    let bin_s = bin.display().to_string();
    let dir_s = corpus_dir.display().to_string();
    // Three runs: the median time (one run on a shared machine varies by a few percent) and
    // the largest peak RSS; every run is printed.
    let mut runs = Vec::new();
    for _ in 0..3 {
        let Some((secs, rss, _)) =
            measure(&[&bin_s, "reports", &dir_s, "--format", "json"], &json_out)
        else {
            eprintln!("could not run {bin_s}");
            std::process::exit(1);
        };
        runs.push((secs, rss));
    }
    let mut times: Vec<f64> = runs.iter().map(|r| r.0).collect();
    times.sort_by(f64::total_cmp);
    let secs = times[1];
    let rss = runs.iter().map(|r| r.1).max().unwrap_or(0);
    println!(
        "mailproof runs: {}",
        runs.iter()
            .map(|(s, r)| format!("{s:.2}s/{:.1} MB", *r as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let totals = std::fs::read(&json_out)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .map(|v| v["totals"].clone())
        .unwrap_or_default();
    let rate = mb(corpus.xml_bytes) / secs;
    let rss_mb = rss as f64 / 1024.0;
    println!(
        "mailproof: {} reports, {} records, {} messages (reported totals)",
        totals["reports"], totals["records"], totals["messages"]
    );
    println!(
        "mailproof: {secs:.2}s on one core (median of 3), {rate:.0} MB/s of XML, peak RSS \
         {rss_mb:.1} MB (targets: >= 150 MB/s {}, <= 64 MB {})",
        if rate >= 150.0 { "met" } else { "MISSED" },
        if rss > 0 && rss_mb <= 64.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    if totals["reports"].as_u64() != Some(corpus.reports) {
        println!(
            "WARNING: generated {} reports but mailproof accepted {}",
            corpus.reports, totals["reports"]
        );
    }

    huge_file(&bin_s, tmp.path());

    let parsedmarc = Command::new("parsedmarc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !parsedmarc {
        println!("parsedmarc: not installed (pip install parsedmarc) — no comparison");
        return;
    }
    let out_dir = tmp.path().join("parsedmarc-out");
    let out_s = out_dir.display().to_string();
    // -r: the folder recursively, as mailproof reads it; -s: no JSON on stdout.
    let cmd: Vec<&str> = vec!["parsedmarc", "--offline", "-s", "-r", "-o", &out_s, &dir_s];
    let Some((p_secs, p_rss, p_err)) = measure(&cmd, &tmp.path().join("parsedmarc.json")) else {
        println!("parsedmarc: could not be run");
        return;
    };
    let p_rate = mb(corpus.xml_bytes) / p_secs;
    println!(
        "parsedmarc --offline: {p_secs:.2}s on one core, {p_rate:.1} MB/s, peak RSS {:.1} MB",
        p_rss as f64 / 1024.0
    );
    let errors = p_err.lines().filter(|l| l.contains("ERROR")).count();
    if errors > 0 {
        println!("parsedmarc: {errors} error line(s) on stderr");
    }
    let parsed = std::fs::read(out_dir.join("aggregate.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.as_array().map(Vec::len));
    if let Some(n) = parsed {
        println!("parsedmarc: {n} aggregate reports in its output");
    }
    println!(
        "ratio: mailproof is {:.1}x parsedmarc's throughput, with {:.1}x less peak memory",
        p_secs / secs,
        p_rss as f64 / rss.max(1) as f64
    );
}

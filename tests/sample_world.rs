//! The sample world end to end: the real binary against a real DNS server on 127.0.0.1 serving
//! `samples/zones/`, and the monthly run over the bundled samples.

mod common;
mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailproof"));
    c.env_remove("MAILPROOF_LOG");
    c
}

/// Each zone folder with the UTC instant its snapshot is taken (the cron run after the month,
/// 06:00 in Chicago): a year-old baseline, then six months of history.
const WORLD: &[(&str, &str, i64)] = &[
    ("2025-09", "2025-10-01T110000Z", 1_759_316_400),
    ("2026-05", "2026-06-01T110000Z", 1_780_311_600),
    ("2026-06", "2026-07-01T110000Z", 1_782_903_600),
    ("2026-07", "2026-08-01T110000Z", 1_785_582_000),
    ("2026-08", "2026-09-01T110000Z", 1_788_260_400),
    ("2026-09", "2026-10-01T110000Z", 1_790_852_400),
    ("2026-10", "2026-11-01T120000Z", 1_793_534_400),
];

fn world(label: &str) -> (&'static str, &'static str, i64) {
    *WORLD
        .iter()
        .find(|w| w.0 == label)
        .unwrap_or_else(|| panic!("no zone set {label} in WORLD"))
}

/// The zones signed in the sample world: the workforce domain and the mail provider that
/// hosts its MX (and its TLSA record). Every other zone is delegated without a DS: insecure.
const SIGNED: &[&str] = &["riversidehealth.example", "m365mail.example"];

/// The month's zones under the sample world's signed root (samples/dnssec/), whose anchor the
/// sample config names: the DNSSEC verdicts are those a validator meets on the Internet.
fn serve(label: &str) -> support::signed::SignedDns {
    let zones = zone_files(label, &[]);
    let refs: Vec<(&str, &Path)> = zones
        .iter()
        .map(|(o, p)| (o.as_str(), p.as_path()))
        .collect();
    let root_key = repo().join("samples/dnssec/root-key.pk8");
    let dns = support::signed::start_signed(&refs, SIGNED, &[], Some(&root_key));
    let committed = repo().join("samples/dnssec/root.anchor");
    assert_eq!(
        std::fs::read_to_string(&dns.anchor).unwrap(),
        std::fs::read_to_string(&committed).unwrap_or_default(),
        "{} no longer matches samples/dnssec/root-key.pk8",
        committed.display()
    );
    dns
}

fn zone_files(label: &str, left_out: &[&str]) -> Vec<(String, PathBuf)> {
    let dir = repo().join("samples/zones").join(label);
    let mut zones: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zone"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .filter(|(origin, _)| !left_out.contains(&origin.as_str()))
        .collect();
    zones.sort();
    assert!(!zones.is_empty(), "no zone files in {}", dir.display());
    zones
}

/// The month's zones except `left_out`, whose names the server then refuses to answer (it is
/// not authoritative for them): a partial outage as a real resolver shows it.
fn serve_without(label: &str, left_out: &[&str]) -> support::TestDns {
    let zones = zone_files(label, left_out);
    let refs: Vec<(&str, &Path)> = zones
        .iter()
        .map(|(o, p)| (o.as_str(), p.as_path()))
        .collect();
    support::start(&refs)
}

fn snapshot_via_cli(ns: std::net::SocketAddr, epoch: i64, out: &Path) {
    let o = bin()
        .args(["snapshot", "--config"])
        .arg(repo().join("samples/mailproof.toml"))
        .arg("--nameserver")
        .arg(ns.to_string())
        .arg("--out")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .output()
        .unwrap();
    // The sample world's MX and MTA-STS hosts are documentation addresses: their probes
    // cannot connect (exit 4, NET-001), while every DNS lookup must be answered.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success()
            || (o.status.code() == Some(4)
                && stderr.contains("(0 failed")
                && stderr.contains("transport probe")),
        "snapshot failed: {stderr}"
    );
}

/// Captures the missing `samples/snapshots/` files (run by `make sample-snapshots`).
/// `MAILPROOF_REGENERATE=all` rewrites every file instead; a capture records the test server's
/// port and the selectors and report sources of the month's reports as they are now, so the
/// committed files would change even when the zones did not.
#[test]
#[ignore]
fn regenerate_sample_snapshots() {
    let Some(mode) = std::env::var_os("MAILPROOF_REGENERATE") else {
        eprintln!(
            "set MAILPROOF_REGENERATE=1 to capture missing samples/snapshots/ (=all: every one)"
        );
        return;
    };
    // The sample world's servers (samples/tls/README.md), for the transport probes.
    let _servers = sample_servers();
    for (label, file, epoch) in WORLD {
        if !repo().join("samples/zones").join(label).is_dir() {
            continue;
        }
        let out = repo()
            .join("samples/snapshots")
            .join(format!("{file}.json"));
        if out.exists() && mode != "all" {
            eprintln!("kept {}", out.display());
            continue;
        }
        let dns = serve(label);
        snapshot_via_cli(dns.dns.addr, *epoch, &out);
        eprintln!("wrote {}", out.display());
    }
}

/// Serves October's sample world (DNS under its signed root, and the mail and policy servers
/// when run as root) for `MAILPROOF_SERVE_SECS` seconds, printing the DNS address: for trying
/// `mailproof check` by hand, or a peer tool, against it. Run by `make sample-world`.
#[test]
#[ignore]
fn serve_sample_world() {
    let Some(secs) = std::env::var("MAILPROOF_SERVE_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    else {
        eprintln!("set MAILPROOF_SERVE_SECS=N to serve the sample world for N seconds");
        return;
    };
    let _servers = sample_servers();
    let dns = serve("2026-10");
    println!("sample world DNS at {}", dns.dns.addr);
    println!(
        "try: mailproof check riversidehealth.example --nameserver {} --dnssec-anchor samples/dnssec/root.anchor --ca-file samples/tls/ca.pem",
        dns.dns.addr
    );
    std::thread::sleep(std::time::Duration::from_secs(secs));
}

/// The sample world's mail and policy servers on 127.0.1.0/24, with the committed sample
/// certificates: a hardened MX, one with Postfix's defaults, one without STARTTLS, and two
/// MTA-STS policy hosts (samples/tls/README.md). Needs root, Postfix and nginx.
fn sample_servers() -> Option<(support::servers::Postfix, support::servers::Nginx)> {
    use support::servers::{Leaf, Nginx, Postfix, Site, SmtpService};
    if !support::servers::available() {
        return None;
    }
    let tls = repo().join("samples/tls");
    let leaf = |host: &str| Leaf {
        cert_pem: std::fs::read_to_string(tls.join(format!("{host}.pem"))).unwrap(),
        key_pem: std::fs::read_to_string(tls.join(format!("{host}.key"))).unwrap(),
    };
    let health = leaf("riversidehealth-example.mail.protection.m365mail.example");
    let chart = leaf("myriversidechart-example.mail.protection.m365mail.example");
    let sts_health = leaf("mta-sts.riversidehealth.example");
    let sts_chart = leaf("mta-sts.myriversidechart.example");
    let base = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let postfix = Postfix::start(
        &base.join("sample-postfix"),
        "mail.protection.m365mail.example",
        &[
            SmtpService {
                listen: "127.0.1.20:25",
                tls: Some(&health),
                options: &[
                    "smtpd_tls_protocols=>=TLSv1.2",
                    "smtpd_tls_mandatory_protocols=>=TLSv1.2",
                ],
            },
            SmtpService {
                listen: "127.0.1.21:25",
                tls: Some(&chart),
                options: &[],
            },
            SmtpService {
                listen: "127.0.1.22:25",
                tls: None,
                options: &[],
            },
        ],
    );
    let nginx = Nginx::start(
        &base.join("sample-nginx"),
        &[
            Site {
                listen: "127.0.1.80:443",
                server_name: "mta-sts.riversidehealth.example",
                tls: &sts_health,
                files: &[(
                    "/.well-known/mta-sts.txt",
                    "version: STSv1\nmode: enforce\nmx: riversidehealth-example.mail.protection.m365mail.example\nmax_age: 1209600\n",
                    "text/plain",
                    200,
                )],
            },
            Site {
                listen: "127.0.1.81:443",
                server_name: "mta-sts.myriversidechart.example",
                tls: &sts_chart,
                files: &[(
                    "/.well-known/mta-sts.txt",
                    "version: STSv1\nmode: testing\nmx: mx.myriversidechart.example\nmax_age: 604800\n",
                    "text/plain",
                    200,
                )],
            },
        ],
    );
    Some((postfix, nginx))
}

/// The comparable part of a lookup: everything but the timing.
fn lookup_key(l: &Value) -> String {
    let mut l = l.clone();
    if let Some(o) = l.as_object_mut() {
        o.remove("elapsed_ms");
    }
    l.to_string()
}

#[test]
fn live_capture_of_sample_zones_matches_committed_snapshot() {
    let (label, file, epoch) = world("2026-10");
    let dns = serve(label);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    snapshot_via_cli(dns.dns.addr, epoch, &out);
    let got: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let want: Value = serde_json::from_slice(
        &std::fs::read(
            repo()
                .join("samples/snapshots")
                .join(format!("{file}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(got["schema"], "mailproof.snapshot/1");
    assert_eq!(got["taken_at"], want["taken_at"]);
    let g: Vec<String> = got["lookups"]
        .as_array()
        .unwrap()
        .iter()
        .map(lookup_key)
        .collect();
    let w: Vec<String> = want["lookups"]
        .as_array()
        .unwrap()
        .iter()
        .map(lookup_key)
        .collect();
    assert!(g.len() > 40, "only {} lookups captured", g.len());
    for (a, b) in g.iter().zip(&w) {
        assert_eq!(a, b);
    }
    assert_eq!(g.len(), w.len());
    // Every outcome is a real answer/absence: the loopback server never fails.
    assert!(got["lookups"].as_array().unwrap().iter().all(|l| {
        matches!(
            l["outcome"].as_str(),
            Some("answer" | "nxdomain" | "nodata")
        )
    }));
}

#[test]
fn check_json_against_sample_zones() {
    let dns = serve("2026-10");
    let o = bin()
        .args([
            "check",
            "riversidehealth.example",
            "myriversidechart.example",
            "riverside-health.example",
        ])
        .args([
            "--selector",
            "selector1",
            "--format",
            "json",
            "--nameserver",
        ])
        .arg(dns.dns.addr.to_string())
        .arg("--no-probe")
        .arg("--dnssec-anchor")
        .arg(repo().join("samples/dnssec/root.anchor"))
        .output()
        .unwrap();
    // The MTA-STS hosts are served only while `make sample-snapshots` runs: their policy fetches
    // cannot connect (NET-001, exit 4), while every DNS lookup is answered and every DNSSEC
    // status determined.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(4)
            && stderr.contains("2 transport probes could not reach")
            && stderr.contains("mta-sts.riversidehealth.example")
            && !stderr.contains("DNSSEC"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    // The sample world's signed zones validate from its own root; the rest are provably
    // unsigned. The workforce domain's MX and its TLSA record live in the signed mail
    // provider's zone, so DANE is usable there.
    let dnssec: Vec<(&str, &str, &str)> = arr
        .iter()
        .map(|d| {
            (
                d["domain"].as_str().unwrap(),
                d["dnssec"].as_str().unwrap(),
                d["mx"][0]["tlsa_dnssec"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        dnssec,
        vec![
            ("riversidehealth.example", "secure", "secure"),
            ("myriversidechart.example", "insecure", "secure"),
            ("riverside-health.example", "insecure", "-"),
        ]
    );
    for d in arr {
        for key in ["domain", "spf", "dmarc", "dkim", "mx", "findings"] {
            assert!(d.get(key).is_some(), "missing {key} in {d}");
        }
        for key in [
            "record",
            "lookups",
            "void_lookups",
            "all",
            "errors",
            "warnings",
        ] {
            assert!(d["spf"].get(key).is_some(), "spf.{key}");
        }
        for key in [
            "record", "location", "p", "sp", "np", "rua", "errors", "warnings",
        ] {
            assert!(d["dmarc"].get(key).is_some(), "dmarc.{key}");
        }
    }
    let by = |name: &str| arr.iter().find(|d| d["domain"] == name).unwrap().clone();
    let work = by("riversidehealth.example");
    assert_eq!(work["dmarc"]["location"], "_dmarc.riversidehealth.example");
    assert!(
        work["spf"]["record"]
            .as_str()
            .unwrap()
            .starts_with("v=spf1")
    );
    assert_eq!(work["dkim"][0]["selector"], "selector1");
    let parked = by("riverside-health.example");
    assert_eq!(parked["spf"]["all"], "-all");
}

fn write_config(dir: &Path) -> PathBuf {
    common::sample_config(dir, "")
}

/// A monthly run over the samples that publishes its period: it ends with exit 4, since the
/// samples' inventory holds a row mailproof rejects (FaxBridge), leaving the evidence
/// incomplete; every file is written all the same.
fn publish_offline(cfg: &Path, period: &str, epoch: &str) {
    let o = run_offline(cfg, period, epoch);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{period}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn run_offline(cfg: &Path, period: &str, epoch: &str) -> std::process::Output {
    bin()
        .args(["run", "--offline", "--period", period, "--config"])
        .arg(cfg)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap()
}

fn pdftotext(pdf: &Path) -> Option<String> {
    pdftotext_with(pdf, "-layout")
}

/// The text in content-stream order: a value wrapped inside a table cell joins back up.
fn pdftotext_with(pdf: &Path, mode: &str) -> Option<String> {
    let o = Command::new("pdftotext")
        .arg(mode)
        .arg(pdf)
        .arg("-")
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn monthly_run_on_samples() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    // September first, so October can mark findings new / persisting / resolved.
    publish_offline(&cfg, "2026-09", "1791111600");
    publish_offline(&cfg, "2026-10", "1793793600");
    let month = dir.path().join("out/2026-10");
    for f in ["report.pdf", "evidence.json", "findings.csv", "SHA256SUMS"] {
        assert!(month.join(f).is_file(), "{f} missing");
    }
    let sums = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&month)
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );

    let ev: Value =
        serde_json::from_slice(&std::fs::read(month.join("evidence.json")).unwrap()).unwrap();
    assert_eq!(ev["schema"], "mailproof.evidence/1");
    assert_eq!(ev["period"]["label"], "2026-10");
    // The generator's own record of every report, counted by the rule the PDF states: a report
    // counts toward the month (Chicago) holding the midpoint of its range, once.
    let truth: Value = serde_json::from_slice(
        &std::fs::read(repo().join("samples/expected/reports.json")).unwrap(),
    )
    .unwrap();
    let (lo, hi) = (1_790_830_800.0, 1_793_509_200.0);
    let mut counted = std::collections::BTreeMap::new();
    for m in truth["reports"].as_array().unwrap() {
        let mid = (m["begin"].as_f64().unwrap() + m["end"].as_f64().unwrap()) / 2.0;
        if lo <= mid && mid < hi {
            counted.insert(
                (m["org_name"].to_string(), m["report_id"].to_string()),
                m["messages"].as_u64().unwrap(),
            );
        }
    }
    assert_eq!(counted.len(), 67);
    assert_eq!(history()["months"]["2026-10"]["reports"], counted.len());
    assert_eq!(ev["reports"]["accepted"], counted.len());
    assert_eq!(ev["reports"]["messages"], counted.values().sum::<u64>());
    // One report straddling 1 Nov (midpoint after the period) counts toward November.
    assert_eq!(ev["reports"]["straddling_elsewhere"], 1);
    let findings = ev["findings"].as_array().unwrap();
    let has = |check: &str, subject: &str| {
        findings
            .iter()
            .any(|f| f["check"] == check && f["subject"].as_str().unwrap_or("").contains(subject))
    };
    let checks: std::collections::BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    eprintln!("checks raised: {checks:?}");
    assert!(has("RPT-000", "report-inputs"));
    assert!(has("INV-001", "vendor-inventory"));
    assert!(has("VEN-001", "Remindly"));
    // Unattributed sources grouped by their forward-confirmed reverse-DNS names; the names
    // two spoofers claim (Microsoft's relay, a payroll look-alike) are not confirmed.
    let ptr_groups: Vec<&str> = ev["reports"]["detail"]["unattributed_ptr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["group"].as_str())
        .collect();
    assert_eq!(
        ptr_groups,
        [
            "surveyspark.example",
            "supportgroups.example",
            "secure-payportal.example"
        ]
    );
    for f in findings {
        // BIMI-001 is brand presentation: CHECKS.md cites no HIPAA standard for it.
        assert_eq!(
            f["hipaa"].as_array().unwrap().is_empty(),
            f["check"] == "BIMI-001",
            "{f}"
        );
        assert!(["new", "persisting", "resolved"].contains(&f["status"].as_str().unwrap()));
    }
    assert!(
        findings.iter().any(|f| f["status"] == "persisting"),
        "nothing persisted from September"
    );
    // What September's reports already showed persists (the look-alike sender and the marketing
    // spoofer, DonorCloud unaligned); what October brought is new (the patient phishing
    // campaign, the rua removal).
    let status = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("no finding {id}"))["status"]
            .clone()
    };
    assert_eq!(status("RPT-001:riversidehealth.example"), "persisting");
    assert_eq!(status("RPT-001:riversidecares.example"), "persisting");
    assert_eq!(status("RPT-002:DonorCloud"), "persisting");
    assert_eq!(status("RPT-001:myriversidechart.example"), "new");
    assert_eq!(status("DMARC-008:riversidecares.example"), "new");
    // The summary's posture agrees with the findings.
    let dom = |n: &str| {
        ev["domains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["domain"] == n)
            .unwrap()
            .clone()
    };
    let work = dom("riversidehealth.example");
    assert_eq!(
        work["spf"]["status"], "permerror",
        "11 lookups must not read as a working SPF record"
    );
    assert_eq!(work["spf"]["lookups"], 11);
    assert_ne!(work["grade"], "enforced");
    let key = |d: &serde_json::Value, sel: &str| {
        d["dkim"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["selector"] == sel)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(key(&work, "hr2019"), "weak");
    assert_eq!(
        key(&dom("riversidecares.example"), "donate2016"),
        "unusable"
    );
    let rejected = ev["reports"]["rejected"].as_array().unwrap();
    assert!(
        rejected
            .iter()
            .any(|r| r["file"].as_str().unwrap().ends_with("garbage.xml.gz"))
    );
    assert!(
        !ev["changes"].as_array().unwrap().is_empty(),
        "no changes between September and October"
    );

    the_assessment_reads_as_an_auditor_expects(&ev);

    // Reproducible: the same SOURCE_DATE_EPOCH gives byte-identical files.
    let first: Vec<Vec<u8>> = ["report.pdf", "evidence.json", "findings.csv", "SHA256SUMS"]
        .iter()
        .map(|f| std::fs::read(month.join(f)).unwrap())
        .collect();
    publish_offline(&cfg, "2026-10", "1793793600");
    for (i, f) in ["report.pdf", "evidence.json", "findings.csv", "SHA256SUMS"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            first[i],
            std::fs::read(month.join(f)).unwrap(),
            "{f} differs between identical runs"
        );
    }

    match pdftotext(&month.join("report.pdf")) {
        Some(text) => {
            for title in [
                "Executive summary",
                "Findings",
                "HIPAA control mapping",
                "Vendor coverage",
                "DMARC report statistics",
                "Changes since the last period",
                "Evidence appendix",
                "Scope, method and sign-off",
                "How risk is rated",
                "Method details",
            ] {
                assert!(
                    text.to_lowercase().contains(&title.to_lowercase()),
                    "PDF lacks section {title:?}"
                );
            }
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                compact.contains("samples/reports/garbage.xml.gz"),
                "rejected file not listed in the PDF"
            );
            assert!(text.contains("Riverside Health System"));
            // Hashes copied out of the PDF must match the files: no invisible break characters.
            let sha = ev["snapshot"]["sha256"].as_str().unwrap();
            // A hash may wrap in its table cell; joined, the lines hold it exactly.
            let raw = pdftotext_with(&month.join("report.pdf"), "-raw").unwrap_or_default();
            assert!(
                raw.replace('\n', "").contains(sha),
                "snapshot SHA-256 {sha} not found verbatim in the PDF text"
            );
            assert!(
                !text.contains('\u{200b}'),
                "zero-width spaces in the PDF text layer"
            );
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("pdftotext is required under CI (apt-get install poppler-utils)")
        }
        None => eprintln!("skipped PDF text checks: pdftotext not installed"),
    }
}

fn history() -> Value {
    serde_json::from_slice(&std::fs::read(repo().join("samples/expected/history.json")).unwrap())
        .unwrap()
}

/// Parses the tags of one DMARC record (enough for the timeline: p, sp, np, pct, t).
fn dmarc_tag(record: &str, tag: &str) -> Value {
    record
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == tag)
        .map_or(Value::Null, |(_, v)| Value::String(v.trim().to_string()))
}

/// The DMARC policy timeline: each committed snapshot captured exactly the `_dmarc` record(s)
/// `expected/history.json` lists for its date, and those records carry the listed tags.
#[test]
fn snapshots_hold_the_dmarc_policy_timeline() {
    let truth = history();
    let snaps = truth["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), WORLD.len());
    let mut workforce_p = Vec::new();
    for (snap, (label, file, _)) in snaps.iter().zip(WORLD) {
        assert_eq!(snap["zones"], *label);
        assert_eq!(snap["file"], format!("snapshots/{file}.json"));
        let captured: Value = serde_json::from_slice(
            &std::fs::read(repo().join("samples").join(snap["file"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        assert_eq!(captured["taken_at"], snap["taken_at"]);
        for (domain, want) in snap["dmarc"].as_object().unwrap() {
            let name = format!("_dmarc.{domain}");
            let lookup = captured["lookups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["name"] == name.as_str() && l["rtype"] == "TXT")
                .unwrap_or_else(|| panic!("{file}: no lookup of {name}"));
            let mut got: Vec<&str> = lookup["answers"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            got.sort();
            let records: Vec<&str> = want["records"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(got, records, "{file}: {name}");
            assert_eq!(want["valid"], records.len() == 1, "{file}: {name}");
            for tag in ["p", "sp", "np", "pct", "t"] {
                let published = match records.as_slice() {
                    [one] => dmarc_tag(one, tag),
                    _ => Value::Null,
                };
                assert_eq!(want[tag], published, "{file}: {name} {tag}");
            }
        }
        workforce_p.push(snap["dmarc"]["riversidehealth.example"]["p"].clone());
    }
    // The staff domain's roll-back and ramp-up, as the README tells it.
    assert_eq!(
        workforce_p,
        [
            "reject",
            "none",
            "quarantine",
            "quarantine",
            "reject",
            "reject",
            "reject"
        ]
    );
}

/// Six months of cron runs, May to October in order: each month's evidence counts the reports
/// `expected/history.json` says count toward it (the month holding the midpoint of the
/// report's range), with the same messages and, per domain, the same messages and
/// reporter-evaluated DMARC passes; it assesses the snapshot taken after the month; and the DMARC
/// posture it reports is the one that snapshot holds.
#[test]
fn six_months_of_history_match_the_truth() {
    let truth = history();
    let months = truth["months"].as_object().unwrap();
    assert_eq!(
        months.keys().collect::<Vec<_>>(),
        [
            "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path());
    for (label, t) in months {
        let (_, file, epoch) = world(label);
        // The run is dated once the month is final (report_grace_days = 3).
        publish_offline(&cfg, label, &(epoch + 3 * 86_400).to_string());
        let ev: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("out").join(label).join("evidence.json")).unwrap(),
        )
        .unwrap();
        let r = &ev["reports"];
        assert_eq!(r["accepted"], t["reports"], "{label}: reports counted");
        assert_eq!(r["messages"], t["messages"], "{label}: messages");
        assert_eq!(
            r["straddling_elsewhere"], t["straddling_elsewhere"],
            "{label}: reports counted in a neighbouring month"
        );
        for (domain, want) in t["domains"].as_object().unwrap() {
            let got = r["per_domain"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["domain"] == domain.as_str());
            let (messages, passed) = got.map_or((0, 0), |d| {
                (
                    d["rates"]["messages"].as_u64().unwrap(),
                    d["rates"]["dmarc_pass"].as_u64().unwrap(),
                )
            });
            assert_eq!(messages, want["messages"], "{label} {domain}: messages");
            assert_eq!(passed, want["dmarc_pass"], "{label} {domain}: DMARC passes");
        }
        let snap_path = ev["snapshot"]["path"].as_str().unwrap();
        assert!(
            snap_path.ends_with(&format!("{file}.json")),
            "{label} assessed {snap_path}"
        );
        if label != "2026-05" {
            assert!(!ev["previous"].is_null(), "{label}: no previous period");
        }
        // The posture the month reports is the record its snapshot holds.
        let snap = truth["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["zones"] == label.as_str())
            .unwrap();
        for d in ev["domains"].as_array().unwrap() {
            let want = &snap["dmarc"][d["domain"].as_str().unwrap()];
            let status = match want["records"].as_array().unwrap().len() {
                0 => "missing",
                1 => "found",
                _ => "multiple",
            };
            assert_eq!(d["dmarc"]["status"], status, "{label} {}", d["domain"]);
            assert_eq!(d["dmarc"]["p"], want["p"], "{label} {}", d["domain"]);
            let pct = want["pct"].as_str().map(|p| p.parse::<u64>().unwrap());
            assert_eq!(d["dmarc"]["pct"].as_u64(), pct, "{label} {}", d["domain"]);
        }
    }
    history_of_october_matches_the_months(dir.path(), &truth);
}

fn evidence_of(out: &Path, label: &str) -> (Value, Vec<u8>) {
    let bytes = std::fs::read(out.join(label).join("evidence.json")).unwrap();
    (serde_json::from_slice(&bytes).unwrap(), bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// October's history, built from the five earlier periods' own evidence and the seven stored
/// snapshots: trend points, the DMARC policy timeline, due dates carried forward, time to
/// remediate, and the chain `verify` walks.
fn history_of_october_matches_the_months(dir: &Path, truth: &Value) {
    let out = dir.join("out");
    let (oct, _) = evidence_of(&out, "2026-10");
    let h = &oct["history"];
    let months = truth["months"].as_object().unwrap();

    // riverside-health.example has no report in October, but June and July recorded forged
    // mail using it: silence now does not rule abuse out, and the rating says whence it rose.
    let parked = oct["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "DMARC-002:riverside-health.example")
        .unwrap();
    assert_eq!(parked["likelihood"], "high");
    let why = parked["likelihood_reason"].as_str().unwrap();
    assert!(
        why.contains("June 2026 and July 2026 recorded forged mail using it")
            && why.contains("540 messages failing DMARC"),
        "{why}"
    );

    // One trend point per month, each with the numbers of that month's own evidence and the
    // hash of the file it was read from.
    let points = h["months"].as_array().unwrap();
    let labels: Vec<&str> = points
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        months.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for p in points {
        let label = p["period"].as_str().unwrap();
        let t = &months[label];
        assert_eq!(p["reports"], t["reports"], "{label} trend: reports");
        assert_eq!(p["messages"], t["messages"], "{label} trend: messages");
        for (domain, want) in t["domains"].as_object().unwrap() {
            let got = p["domains"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["domain"] == domain.as_str())
                .unwrap_or_else(|| panic!("{label}: {domain} missing from the trend"));
            assert_eq!(got["messages"], want["messages"], "{label} {domain}");
            assert_eq!(got["dmarc_pass"], want["dmarc_pass"], "{label} {domain}");
        }
        let (ev, bytes) = evidence_of(&out, label);
        let open: u64 = ["very_high", "high", "moderate", "low", "very_low"]
            .iter()
            .map(|k| ev["risk_counts"][k].as_u64().unwrap())
            .sum();
        assert_eq!(
            p["open_total"].as_u64(),
            Some(open),
            "{label}: open findings"
        );
        assert_eq!(p["accepted"], ev["risk_counts"]["accepted"], "{label}");
        if label == "2026-10" {
            assert_eq!(p["state"], "this period");
        } else {
            assert_eq!(p["state"], "read", "{label}");
            assert_eq!(p["sha256"].as_str(), Some(sha256_hex(&bytes).as_str()));
        }
    }

    // The policy timeline: every snapshot, with the record the zones held.
    let snaps = truth["snapshots"].as_array().unwrap();
    for t in h["dmarc_timeline"].as_array().unwrap() {
        let domain = t["domain"].as_str().unwrap();
        let entries = t["entries"].as_array().unwrap();
        assert_eq!(
            entries.len(),
            snaps.len(),
            "{domain}: one entry per snapshot"
        );
        for (e, s) in entries.iter().zip(snaps) {
            assert_eq!(e["taken_at"], s["taken_at"], "{domain}");
            let want = &s["dmarc"][domain];
            let n = want["records"].as_array().unwrap().len();
            let status = ["missing", "found"].get(n).copied().unwrap_or("multiple");
            assert_eq!(e["status"], status, "{domain} at {}", s["taken_at"]);
            if n == 1 {
                assert_eq!(e["p"], want["p"], "{domain} at {}", s["taken_at"]);
                assert_eq!(e["effective"], want["p"], "{domain} at {}", s["taken_at"]);
                let pct = want["pct"].as_str().map(|p| p.parse::<u64>().unwrap());
                assert_eq!(e["pct"].as_u64(), pct, "{domain} at {}", s["taken_at"]);
            }
        }
    }
    // The workforce domain's progression none -> quarantine 25% -> quarantine -> reject, each
    // step marked strengthened.
    let workforce = h["dmarc_timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["domain"] == "riversidehealth.example")
        .unwrap();
    let steps: Vec<(String, String)> = workforce["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["changes"].as_array().unwrap().is_empty())
        .map(|e| {
            (
                e["effective"].as_str().unwrap().to_string(),
                e["direction"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let strengthened: Vec<&str> = steps
        .iter()
        .filter(|(_, d)| d == "strengthened")
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(
        strengthened,
        ["quarantine", "quarantine", "reject"],
        "{steps:?}"
    );

    // Due dates: set when first seen, never later afterwards.
    let (may, _) = evidence_of(&out, "2026-05");
    let mut carried = 0;
    for f in oct["findings"].as_array().unwrap() {
        let Some(first) = may["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == f["id"])
        else {
            continue;
        };
        // Resolved since, or resolved and back again (a new finding with a new due date).
        if f["status"] == "resolved" || f["first_seen"] != "2026-05" {
            continue;
        }
        let (old, new) = (first["due"].as_str().unwrap(), f["due"].as_str().unwrap());
        assert!(new <= old, "{}: due moved later, {old} -> {new}", f["id"]);
        if first["risk"] == f["risk"] && f["treatment"]["due"].is_null() {
            assert_eq!(new, old, "{}", f["id"]);
        }
        carried += 1;
    }
    assert!(carried >= 10, "only {carried} findings persisted since May");
    let overdue = oct["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["treatment_status"] == "overdue")
        .count() as u64;
    assert_eq!(oct["risk_counts"]["overdue"].as_u64(), Some(overdue));
    assert!(
        overdue > 0,
        "findings open since May are overdue by October"
    );

    // Time to remediate counts every resolution the six periods recorded.
    let resolved: u64 = months
        .keys()
        .map(|label| {
            evidence_of(&out, label).0["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["status"] == "resolved")
                .count() as u64
        })
        .sum();
    let counted: u64 = h["mttr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resolved"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, resolved);
    assert!(resolved > 0);

    // The chain: each period names the previous one's evidence by its hash, back to May, and
    // `verify --chain` agrees.
    for pair in months.keys().collect::<Vec<_>>().windows(2) {
        let (prev_bytes, (ev, _)) = (evidence_of(&out, pair[0]).1, evidence_of(&out, pair[1]));
        assert_eq!(
            ev["previous"]["sha256"].as_str(),
            Some(sha256_hex(&prev_bytes).as_str()),
            "{} -> {}",
            pair[1],
            pair[0]
        );
    }
    let v = bin()
        .args(["verify", "--chain", "--format", "json"])
        .arg(out.join("2026-10"))
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
    let report: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["links"].as_array().unwrap().len(),
        5,
        "five links back to May"
    );
    assert_eq!(report["first_period"], "2026-05");

    // The PDF shows the trends and the timeline.
    if let Some(text) = common::pdftotext(&out.join("2026-10/report.pdf")) {
        for needle in [
            "Progress Over the Year",
            "Open findings by risk level",
            "DMARC pass rate per domain",
            "Messages and reports received",
            "DMARC policy timeline",
            "quarantine 25%",
            "Mean time to remediate",
            "No period between the first assessment on record and this one is missing",
            "Snapshots read",
        ] {
            assert!(text.contains(needle), "PDF lacks {needle:?}");
        }
    }

    // A missing or unreadable earlier period (other than the previous one) is a gap in the
    // trends, stated in the PDF, never a failed run.
    std::fs::remove_dir_all(out.join("2026-06")).unwrap();
    std::fs::write(out.join("2026-07/evidence.json"), b"{ not json").unwrap();
    let (_, _, epoch) = world("2026-10");
    publish_offline(
        &dir.join("mailproof.toml"),
        "2026-10",
        &(epoch + 3 * 86_400).to_string(),
    );
    let (oct, _) = evidence_of(&out, "2026-10");
    let states: Vec<(&str, &str)> = oct["history"]["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["period"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("2026-05", "read"),
            ("2026-06", "missing"),
            ("2026-07", "unreadable"),
            ("2026-08", "read"),
            ("2026-09", "read"),
            ("2026-10", "this period")
        ]
    );
    if let Some(text) = common::pdftotext(&out.join("2026-10/report.pdf")) {
        assert!(
            text.contains("2 periods in the window have no usable evidence"),
            "the gap is stated"
        );
    }
}

/// The October assessment's ratings, causes, remediation and citations, case by case, as an
/// auditor reviewing the samples found them wrong before the rating rule and root causes.
fn the_assessment_reads_as_an_auditor_expects(ev: &Value) {
    let findings = ev["findings"].as_array().unwrap();
    let f = |id: &str| -> &Value {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    let rank = |v: &Value| match v.as_str().unwrap_or("") {
        "very-low" => 0,
        "low" => 1,
        "moderate" => 2,
        "high" => 3,
        "very-high" => 4,
        other => panic!("not a level: {other}"),
    };
    // A PHI processor that sends no mail (ReportVault) is no stream relying on SPF; the streams
    // that are, are named; RPT-002 states the failures observed, not "each time".
    let spf3 = f("SPF-003:riversidehealth.example")["impact_reason"]
        .as_str()
        .unwrap();
    assert!(
        spf3.contains("ClaimsLink") && !spf3.contains("ReportVault"),
        "{spf3}"
    );
    let claims = f("RPT-002:ClaimsLink")["likelihood_reason"]
        .as_str()
        .unwrap();
    assert!(
        claims.contains("of the 145 messages from ClaimsLink failed DMARC"),
        "{claims}"
    );
    // Forged mail at the domain itself does not raise the sp/rua weakening, and `?all` is not
    // reached when every SPF check of the domain ended in permerror.
    for id in [
        "CHG-001:_dmarc.riversidecares.example",
        "SPF-005:riversidecares.example",
    ] {
        assert_ne!(
            f(id)["likelihood"],
            "very-high",
            "{id}: {}",
            f(id)["likelihood_reason"]
        );
    }
    // Findings on a domain with no ePHI cite risk management, not the ePHI safeguards.
    let hipaa = f("DKIM-002:donate2016._domainkey.riversidecares.example")["hipaa"].to_string();
    assert!(!hipaa.contains("164.312"), "{hipaa}");

    // Every finding of the period carries its threat and the reasons for its rating, and
    // belongs to a listed cause.
    let causes = ev["causes"].as_array().unwrap();
    let cause_ids: Vec<&str> = causes.iter().map(|c| c["id"].as_str().unwrap()).collect();
    for x in findings.iter().filter(|x| x["status"] != "resolved") {
        for key in ["threat", "likelihood_reason", "impact_reason", "cause"] {
            assert!(x[key].is_string(), "{} lacks {key}", x["id"]);
        }
        assert!(
            cause_ids.contains(&x["cause"].as_str().unwrap()),
            "{}",
            x["id"]
        );
    }
    let open = findings
        .iter()
        .filter(|x| x["status"] != "resolved")
        .count();
    assert!(
        causes.len() * 3 <= open * 2,
        "{} causes for {open} findings",
        causes.len()
    );

    // Key findings on the marketing domain share its impact; the patient domain's are higher.
    let donate = "donate2016._domainkey.riversidecares.example";
    assert_eq!(
        f(&format!("DKIM-002:{donate}"))["impact"],
        f(&format!("CHG-003:{donate}"))["impact"]
    );
    assert_eq!(f(&format!("CHG-003:{donate}"))["impact"], "moderate");
    assert_eq!(
        f("CHG-003:rmd1._domainkey.myriversidechart.example")["impact"],
        "high"
    );
    // np falling back to sp=none is no better than np falling back to quarantine.
    assert!(
        rank(&f("DMARC-007:riversidehealth.example")["impact"])
            >= rank(&f("DMARC-007:myriversidechart.example")["impact"])
    );
    // myriversidechart.example's fallback p=quarantine has pct=50: the reason says half the
    // mail is delivered, and the gap is one step lower as one reaching part of the mail, as
    // DMARC-005 is on the same record.
    let np = f("DMARC-007:myriversidechart.example");
    assert_eq!(
        np["impact"],
        f("DMARC-005:myriversidechart.example")["impact"],
        "{np}"
    );
    assert!(
        np["impact_reason"]
            .as_str()
            .unwrap()
            .contains("pct=50) and one level weaker to the rest: mail from non-existent subdomains is junked in part and delivered for the rest"),
        "{np}"
    );
    // The policy was raised in mid-October: the month's deliveries mix both policies, and
    // the rating says so instead of reading them as the new policy failing.
    assert!(
        f("DMARC-004:myriversidechart.example")["impact_reason"]
            .as_str()
            .unwrap()
            .contains("receivers first applied it on 2026-10-15")
    );
    // Parked domains with no report data are exposed, not observed: never Very High.
    for id in [
        "DMARC-001:myriverside-chart.example",
        "DMARC-002:riverside-health.example",
    ] {
        assert_ne!(f(id)["likelihood"], "very-high", "{id}");
        assert!(
            f(id)["likelihood_reason"]
                .as_str()
                .unwrap()
                .contains("neither seen nor ruled out"),
            "{id}"
        );
    }
    // DocuSign's contract ended: no VEN-002 advising its include, a VEN-005 to remove it.
    assert!(
        !findings
            .iter()
            .any(|x| x["id"].as_str().unwrap().starts_with("VEN-002:DocuSign"))
    );
    let docu = f("VEN-005:DocuSign");
    assert!(
        docu["remediation"]
            .as_str()
            .unwrap()
            .contains("remove `include:spf.esignmail.example`")
    );

    // Causes: one SPF record, one surveyspark service, one key, one vendor stream.
    assert_eq!(
        f("CHG-002:riversidehealth.example")["cause"],
        "SPF-003:riversidehealth.example"
    );
    assert_eq!(
        f("RPT-002:Riverside Health IT on-premises relay")["cause"],
        "SPF-003:riversidehealth.example",
        "the relay fails only through the SPF permerror"
    );
    assert_eq!(
        f("CHG-005:include:spf.surveyspark.example")["cause"],
        "VEN-006:surveyspark.example"
    );
    assert_eq!(
        f(&format!("CHG-003:{donate}"))["cause"],
        format!("DKIM-002:{donate}")
    );
    assert_eq!(
        f("DKIM-001:tv1._domainkey.myriversidechart.example")["cause"],
        "RPT-002:Televisit"
    );
    // VEN-002 is a what-if on the inventory's ranges: it stays with the vendor's own cause,
    // and says so.
    assert_eq!(
        f("VEN-002:Televisit as myriversidechart.example")["cause"],
        "RPT-002:Televisit"
    );
    assert!(
        f("VEN-002:Televisit as myriversidechart.example")["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap_or("").contains("evaluated as if"))
    );
    // SPF-002's impact counts only PHI streams whose mail receivers checked against the apex
    // record: PayNotice's MAIL FROM is its own, so it is not one of them, and the reason says
    // why, stream by stream.
    let spf002 = f("SPF-002:myriversidechart.example");
    let why = spf002["impact_reason"].as_str().unwrap();
    assert!(
        why.contains("no PHI stream relies on the SPF record of myriversidechart.example"),
        "{why}"
    );
    assert!(
        why.contains("PayNotice: receivers checked it against MAIL FROM bounces.paynotice.example"),
        "{why}"
    );
    assert_ne!(spf002["impact"], "high", "{why}");
    // A quarantine policy raised during the period is credited as the rule says: its
    // deliveries mix the old policy and the new (the reason says so, asserted above).
    assert_eq!(
        f("DMARC-004:myriversidechart.example")["impact"],
        "moderate"
    );

    // Remediation from the evidence.
    let cause = |id: &str| -> &Value {
        causes
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("cause {id} missing"))
    };
    let spf = cause("SPF-003:riversidehealth.example")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!spf.contains("restore the stricter"), "{spf}");
    assert!(
        !f("RPT-002:Riverside Health IT on-premises relay")["remediation"]
            .as_str()
            .unwrap()
            .contains("Have the vendor")
    );
    let parked = cause("DMARC-001:myriverside-chart.example")["remediation"]
        .as_str()
        .unwrap();
    assert!(
        parked.contains("p=reject") && !parked.contains("p=none"),
        "{parked}"
    );
    assert!(
        f(&format!("DKIM-002:{donate}"))["remediation"]
            .as_str()
            .unwrap()
            .starts_with("Revoke")
    );
    // Facts: a key age at the edge of the history is a lower bound; no phantom np change.
    assert!(
        f(&format!("CHG-003:{donate}"))["title"]
            .as_str()
            .unwrap()
            .contains("at least")
    );
    // A key past the window says when it was only the half-window warning earlier periods
    // listed (first seen before it passed the window).
    let age = f(&format!("CHG-003:{donate}"))["evidence"].to_string();
    assert!(
        age.contains("this check warns from half the window (182 days)")
            && age.contains("past it from 2026-10-02 at the latest"),
        "{age}"
    );
    for c in ev["changes"].as_array().unwrap() {
        assert!(
            !c["meaning"].as_str().unwrap_or("").contains("np lowered"),
            "{c}"
        );
        if c["area"] == "mx" {
            assert!(!c["after"].as_str().unwrap_or("").is_empty(), "{c}");
        }
    }
    // Business associates: the PHI vendor with an unreadable cell is named and stays in the
    // vendor table; VEN-001 points at the breach risk assessment. Its unreadable cell is an
    // address range, so what it costs is mail counted as unknown senders: the likelihood
    // follows the unattributed mail the period shows for its domain (impact stays High).
    let inv = f("INV-001:vendor-inventory");
    let title = inv["title"].as_str().unwrap();
    assert!(
        title.contains("FaxBridge") && title.contains("incomplete: ShiftSpring"),
        "{title}"
    );
    assert_eq!(inv["impact"], "high");
    assert_eq!(inv["likelihood"], "moderate");
    assert!(
        inv["likelihood_reason"]
            .as_str()
            .unwrap()
            .contains("sent as its domains this period without being attributed to any vendor"),
        "{inv}"
    );
    let fax = ev["vendors"]["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["vendor"] == "FaxBridge")
        .expect("FaxBridge stays in the vendor table");
    // Its row names the inventory finding that names it, never "ok".
    assert!(
        fax["status"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "INV-001"),
        "{fax}"
    );
    assert_eq!(ev["vendors"]["unreadable_cells"], 1);
    // The bulk-sender rules are not cited as binding on a domain below their threshold.
    let spf = f("SPF-003:riversidehealth.example");
    assert!(
        spf["authority"]
            .as_str()
            .unwrap()
            .contains("which riversidehealth.example does not reach"),
        "{spf}"
    );
    // riversidecares.example's reports stop on 16 October (its rua was removed): counts from
    // them say they cover part of the month.
    assert!(
        f("RPT-001:riversidecares.example")["evidence"]
            .to_string()
            .contains("reports cover mail from 2026-10-01 to 2026-10-16 only")
    );
    // Every finding id is unique: no vendor's rows are counted twice.
    let ids: Vec<&str> = ev["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len());
    assert!(
        f("VEN-001:Remindly")["hipaa"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h == "Breach 164.402")
    );
    // The notification clock: PayNotice's from the lapse the inventory dates; Remindly's from
    // the September assessment (run 2026-10-01 here) that first reported it. Neither has run
    // out by this report's date (2026-11-02).
    let fix = |id: &str| f(id)["remediation"].as_str().unwrap().to_string();
    assert!(
        fix("VEN-001:PayNotice").contains(
            "known from 2026-10-01 at the latest, and 60 days from then end on 2026-11-30"
        ),
        "{}",
        fix("VEN-001:PayNotice")
    );
    assert!(
        fix("VEN-001:Remindly")
            .contains("the assessment for September 2026, generated on 2026-10-0"),
        "{}",
        fix("VEN-001:Remindly")
    );
    // A key only one vendor signs with is that vendor's owner's to fix.
    assert_eq!(
        f("DKIM-003:hr2019._domainkey.riversidehealth.example")["owner"],
        "Human Resources (D. Osei)"
    );
    assert_eq!(
        f("DKIM-001:tv1._domainkey.myriversidechart.example")["owner"],
        "Virtual Care (S. Iyer)"
    );
    let vendors = ev["vendors"]["vendors"].as_array().unwrap();
    let row = |n: &str| vendors.iter().find(|v| v["vendor"] == n).unwrap();
    assert_eq!(row("PayNotice")["baa"], "expired");
    assert!(
        row("ShiftSpring")["status"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "INV-001")
    );
    // Controls: the sample snapshots hold no STARTTLS probes, so encryption is judged from DNS
    // alone; the missing MTA-STS policies are findings against it.
    let enc = ev["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["citation"] == "164.312(e)(2)(ii)")
        .unwrap();
    assert_eq!(enc["status"], "findings");
    // The patient domain's MX still accepts TLS 1.0 and 1.1, and its policy only tests.
    let f = enc["findings"].to_string();
    assert!(f.contains("TLS-002") && f.contains("STS-002"), "{enc}");
    // The unknown source with a mailing-list override says why it raised nothing.
    let src = ev["vendors"]["unknown_sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source_ip"] == "192.0.2.160")
        .expect("192.0.2.160 listed");
    assert!(
        src["class"]
            .as_str()
            .unwrap()
            .starts_with("forwarder or mailing list: receivers reported mailing_list"),
        "{src}"
    );
    // One sample source of each class, each with the authentication it rests on quoted.
    let class = |ip: &str| {
        ev["vendors"]["unknown_sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source_ip"] == ip)
            .and_then(|s| s["class"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    for (ip, starts) in [
        (
            "203.0.113.226",
            "unlisted service sending as us: authenticates as mailsprout.example",
        ),
        ("203.0.113.250", "spoofing: rotates throwaway identities"),
        ("192.0.2.147", "spoofing: authenticated as no one"),
        ("192.0.2.241", "unknown: signs as regdesk.example"),
    ] {
        let c = class(ip);
        assert!(c.starts_with(starts) && c.ends_with(']'), "{ip}: {c}");
    }
    let ven = findings
        .iter()
        .find(|f| f["check"] == "VEN-006" && f["subject"] == "mailsprout.example")
        .expect("VEN-006 mailsprout.example");
    assert!(
        ven["title"]
            .as_str()
            .unwrap()
            .ends_with("possibly a business associate without a BAA"),
        "{ven}"
    );
    assert!(
        ven["evidence"]
            .to_string()
            .contains("dkim d=mailsprout.example s=ms1 pass")
    );
    // Every check of the catalog runs, and the report-derived ones fire on their sample case.
    assert_eq!(ev["checks_not_run"].as_array().map(Vec::len), Some(0));
    for (check, subject) in [
        ("RPT-003", "myriversidechart.example"),
        ("RPT-004", "riversidecares.example"),
        ("RPT-005", "riversidehealth.example"),
        ("RPT-007", "riversidehealth.example"),
        ("RPT-008", "myriversidechart.example"),
        ("RPT-010", "rmd1._domainkey.myriversidechart.example"),
        ("BULK-001", "riversidecares.example"),
        ("BULK-002", "riversidecares.example"),
        ("BULK-003", "ClaimsLink"),
        ("BULK-003", "PayNotice"),
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f["check"] == check
                    && f["subject"].as_str().unwrap_or("").contains(subject)),
            "{check} {subject}"
        );
    }
}

/// A DNS outage during `run` never passes for a month. With no resolver answering, the run
/// exits 1, writes nothing and stores no snapshot. With part of the names failing, it keeps the
/// published month (whose evidence is more complete) unless --force; forced, it exits 4 and
/// names every failed lookup, on stderr and in evidence.json.
#[test]
fn a_dns_outage_never_passes_for_a_good_month() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    for e in std::fs::read_dir(repo().join("samples/snapshots")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, snaps.join(p.file_name().unwrap())).unwrap();
    }
    let cfg = write_config(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("snapshots = {:?}", repo().join("samples/snapshots")),
        &format!("snapshots = {snaps:?}"),
    );
    // Short timeouts: the silent server below costs one timeout per lookup.
    std::fs::write(
        &cfg,
        format!("{text}\n[dns]\ntimeout_ms = 300\nattempts = 1\n"),
    )
    .unwrap();
    // October published from its stored snapshot.
    publish_offline(&cfg, "2026-10", "1793793600");
    let month = dir.path().join("out/2026-10");
    let files = |d: &Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
    };
    let published = files(&month);
    let stored = files(&snaps);
    // Live runs a few days later (a clock that names a new snapshot file).
    let live = |ns: &str, extra: &[&str]| {
        bin()
            .args(["run", "--period", "2026-10", "--nameserver", ns])
            .args(extra)
            .arg("--config")
            .arg(&cfg)
            .env("SOURCE_DATE_EPOCH", "1794052800")
            .output()
            .unwrap()
    };

    // Nothing listens on port 9: every lookup times out.
    let o = live("127.0.0.1:9", &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no DNS lookup was answered"), "{err}");
    assert!(
        err.contains("nothing was written and no snapshot stored"),
        "{err}"
    );
    assert_eq!(files(&month), published, "the published month was touched");
    assert_eq!(files(&snaps), stored, "a failed capture was stored");

    // The patient domain's zone is not served: its lookups are refused, the rest answered.
    let dns = serve_without("2026-10", &["myriversidechart.example"]);
    let ns = dns.addr.to_string();
    let o = live(&ns, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("its evidence is more complete than this run's"),
        "{err}"
    );
    assert!(
        err.contains("DNS lookups failed (the published output: 0)"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        files(&month),
        published,
        "a less complete run replaced the month"
    );
    assert_eq!(files(&snaps), stored, "the refused run's snapshot was kept");

    // Forced: the month is replaced, and exit 4 names each failed lookup.
    let o = live(&ns, &["--force"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("evidence incomplete (exit 4)"), "{err}");
    assert!(
        err.contains("_dmarc.myriversidechart.example TXT: refused"),
        "{err}"
    );
    assert_ne!(files(&month), published);
    assert_eq!(files(&snaps).len(), stored.len() + 1);
    let ev: Value =
        serde_json::from_slice(&std::fs::read(month.join("evidence.json")).unwrap()).unwrap();
    let failed = ev["completeness"]["failed_lookups"].as_array().unwrap();
    assert!(
        failed.iter().any(|l| l
            .as_str()
            .unwrap()
            .starts_with("_dmarc.myriversidechart.example TXT: refused")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .all(|l| l.as_str().unwrap().contains("myriversidechart.example")),
        "only the unserved zone fails: {failed:?}"
    );
}

/// The snapshot diff against a real DNS server: the sample zones of October, then the same
/// zones edited the way the issue found changes missed. A vendor's included record widened, a
/// failure-report destination added at a stranger, and a zone that stopped answering must read
/// as a weakening, a weakening and unverified (never "removed" or "no change"); `--fail-on
/// weakened` exits 3, and the files given the wrong way round are refused.
#[test]
fn the_diff_of_two_captures_says_what_each_change_means() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a.json"), t.path().join("b.json"));
    let dns = serve("2026-10");
    snapshot_via_cli(dns.dns.addr, 1_793_534_400, &a);
    drop(dns);

    let edited = t.path().join("zones");
    std::fs::create_dir(&edited).unwrap();
    let src = repo().join("samples/zones/2026-10");
    let mut zones = Vec::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let origin = p.file_stem().unwrap().to_string_lossy().into_owned();
        if origin == "riversidecares.example" {
            continue; // now refused: its lookups fail
        }
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("ip4:198.51.100.112/28", "ip4:10.64.0.0/16")
            .replace(
                "rua=mailto:dmarc-rua@riversidehealth.example\"",
                "rua=mailto:dmarc-rua@riversidehealth.example; ruf=mailto:copies@collector.test\"",
            )
            // The patient record's rua list ends with the analytics trial's address (VEN-007).
            .replace(
                "mailto:rua@dmarc.inboxlens.example\"",
                "mailto:rua@dmarc.inboxlens.example; ruf=mailto:copies@collector.test\"",
            );
        let out = edited.join(p.file_name().unwrap());
        std::fs::write(&out, text).unwrap();
        zones.push((origin, out));
    }
    let refs: Vec<(&str, &Path)> = zones
        .iter()
        .map(|(o, p)| (o.as_str(), p.as_path()))
        .collect();
    let dns = support::start(&refs);
    let o = bin()
        .args(["snapshot", "--config"])
        .arg(repo().join("samples/mailproof.toml"))
        .arg("--nameserver")
        .arg(dns.addr.to_string())
        .arg("--out")
        .arg(&b)
        .env("SOURCE_DATE_EPOCH", "1793620800")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    drop(dns);

    let diff = |x: &Path, y: &Path, extra: &[&str]| {
        bin()
            .arg("diff")
            .arg(x)
            .arg(y)
            .arg("--inventory")
            .arg(repo().join("samples/vendors.csv"))
            .args(extra)
            .output()
            .unwrap()
    };
    let o = diff(&a, &b, &["--format", "json", "--fail-on", "weakened"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let changes = v.as_array().unwrap();
    let widened = changes
        .iter()
        .find(|c| c["name"] == "ip4:10.64.0.0/16 via _spf.payrollplus.example")
        .unwrap_or_else(|| panic!("widened include missing: {v:#}"));
    assert_eq!(widened["effect"], "weakened");
    assert_eq!(widened["check"], "CHG-005");
    assert!(
        widened["meaning"]
            .as_str()
            .unwrap()
            .contains("ADP's include"),
        "{widened}"
    );
    let ruf = changes
        .iter()
        .find(|c| c["area"] == "dmarc" && c["domain"] == "myriversidechart.example")
        .unwrap_or_else(|| panic!("ruf change missing: {v:#}"));
    assert_eq!(ruf["effect"], "weakened");
    assert!(
        ruf["meaning"]
            .as_str()
            .unwrap()
            .contains("ruf now sends to mailto:copies@collector.test"),
        "{ruf}"
    );
    let cares: Vec<&Value> = changes
        .iter()
        .filter(|c| c["domain"] == "riversidecares.example")
        .collect();
    assert!(!cares.is_empty(), "{v:#}");
    for c in &cares {
        assert_eq!(c["effect"], "unverified", "{c}");
        assert_ne!(c["direction"], "removed", "{c}");
    }

    // The text marks agree with the JSON; unverified gets its own mark.
    let o = diff(&a, &b, &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("?? spf      unverified   riversidecares.example"),
        "{text}"
    );
    assert!(
        text.contains("!! spf      weakened     ip4:10.64.0.0/16 via"),
        "{text}"
    );
    assert_eq!(o.status.code(), Some(0), "no --fail-on: exit 0");

    // Given the wrong way round: refused, naming both times.
    let o = diff(&b, &a, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is newer than NEW"));

    // Another organization's snapshot: refused.
    let mut other: Value = serde_json::from_slice(&std::fs::read(&b).unwrap()).unwrap();
    assert_eq!(other["organization"], "Riverside Health System");
    other["organization"] = "Lakeside Clinics".into();
    let c = t.path().join("c.json");
    std::fs::write(&c, serde_json::to_vec(&other).unwrap()).unwrap();
    let o = diff(&a, &c, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("two organizations"));
}

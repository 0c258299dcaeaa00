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

/// Each zone folder with the UTC instant its snapshot is taken (the cron run after the month).
const WORLD: &[(&str, &str, i64)] = &[
    ("2025-09", "2025-10-01T110000Z", 1_759_316_400),
    ("2026-09", "2026-10-01T110000Z", 1_790_852_400),
    ("2026-10", "2026-11-01T120000Z", 1_793_534_400),
];

fn serve(label: &str) -> support::TestDns {
    let dir = repo().join("samples/zones").join(label);
    let mut zones: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zone"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    zones.sort();
    assert!(!zones.is_empty(), "no zone files in {}", dir.display());
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
    assert!(
        o.status.success(),
        "snapshot failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Regenerates the committed `samples/snapshots/` (run by `make sample-snapshots`).
#[test]
#[ignore]
fn regenerate_sample_snapshots() {
    if std::env::var_os("MAILPROOF_REGENERATE").is_none() {
        eprintln!("set MAILPROOF_REGENERATE=1 to rewrite samples/snapshots/");
        return;
    }
    for (label, file, epoch) in WORLD {
        if !repo().join("samples/zones").join(label).is_dir() {
            continue;
        }
        let dns = serve(label);
        let out = repo()
            .join("samples/snapshots")
            .join(format!("{file}.json"));
        snapshot_via_cli(dns.addr, *epoch, &out);
        eprintln!("wrote {}", out.display());
    }
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
    let (label, file, epoch) = WORLD[2];
    let dns = serve(label);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.json");
    snapshot_via_cli(dns.addr, epoch, &out);
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
        .arg(dns.addr.to_string())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
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

fn run_offline(cfg: &Path, period: &str, epoch: &str) -> std::process::Output {
    bin()
        .args(["run", "--offline", "--period", period, "--config"])
        .arg(cfg)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap()
}

fn pdftotext(pdf: &Path) -> Option<String> {
    let o = Command::new("pdftotext")
        .arg("-layout")
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
    let o = run_offline(&cfg, "2026-09", "1790852400");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run_offline(&cfg, "2026-10", "1793534400");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
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
    assert_eq!(counted.len(), 78);
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
        assert!(!f["hipaa"].as_array().unwrap().is_empty(), "{f}");
        assert!(["new", "persisting", "resolved"].contains(&f["status"].as_str().unwrap()));
    }
    assert!(
        findings.iter().any(|f| f["status"] == "persisting"),
        "nothing persisted from September"
    );
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

    // Reproducible: the same SOURCE_DATE_EPOCH gives byte-identical files.
    let first: Vec<Vec<u8>> = ["report.pdf", "evidence.json", "findings.csv", "SHA256SUMS"]
        .iter()
        .map(|f| std::fs::read(month.join(f)).unwrap())
        .collect();
    let o = run_offline(&cfg, "2026-10", "1793534400");
    assert!(o.status.success());
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
                "Method and framing",
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
            assert!(
                text.contains(sha),
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

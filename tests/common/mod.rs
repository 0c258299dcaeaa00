//! Helpers shared by the integration tests that run the monthly job on the bundled samples.

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of `samples/mailproof.toml` whose inputs point at the bundled samples and whose
/// output goes to `dir/out`. `policy_line` replaces the commented-out `fail_on` line.
#[allow(dead_code)]
pub fn sample_config(dir: &Path, policy_line: &str) -> PathBuf {
    let s = repo().join("samples");
    let text = std::fs::read_to_string(s.join("mailproof.toml"))
        .unwrap()
        .replace(
            "inventory = \"vendors.csv\"",
            &format!("inventory = {:?}", s.join("vendors.csv")),
        )
        .replace(
            "reports = [\"reports/\"]",
            &format!("reports = [{:?}]", s.join("reports")),
        )
        .replace(
            "snapshots = \"snapshots/\"",
            &format!("snapshots = {:?}", s.join("snapshots")),
        )
        .replace(
            "output = \"../out/\"",
            &format!("output = {:?}", dir.join("out")),
        )
        .replace(
            "risk_decisions = \"decisions.toml\"",
            &format!("risk_decisions = {:?}", s.join("decisions.toml")),
        )
        .replace(
            "ca_file = \"tls/ca.pem\"",
            &format!("ca_file = {:?}", s.join("tls/ca.pem")),
        )
        .replace(
            "dnssec_trust_anchor = \"dnssec/root.anchor\"",
            &format!("dnssec_trust_anchor = {:?}", s.join("dnssec/root.anchor")),
        )
        .replace("# fail_on = \"very-high\"", policy_line);
    let p = dir.join("mailproof.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// [`sample_config`] with an inventory whose every row is read: the samples' own holds one
/// rejected row (FaxBridge, line 15), which leaves every run's evidence incomplete (exit 4), so
/// the exit-3 threshold is tested without it.
#[allow(dead_code)]
pub fn sample_config_complete(dir: &Path, policy_line: &str) -> PathBuf {
    let cfg = sample_config(dir, policy_line);
    let samples_csv = repo().join("samples/vendors.csv");
    let csv = std::fs::read_to_string(&samples_csv).unwrap();
    let kept: Vec<&str> = csv
        .lines()
        .filter(|l| !l.starts_with("FaxBridge,"))
        .collect();
    assert_eq!(
        kept.len() + 1,
        csv.lines().count(),
        "FaxBridge row not found"
    );
    let inv = dir.join("vendors.csv");
    std::fs::write(&inv, kept.join("\n") + "\n").unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("inventory = {samples_csv:?}"),
        &format!("inventory = {inv:?}"),
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// The PDF's text with whitespace collapsed, or `None` (test skipped, with a note) when
/// poppler's pdftotext is not installed.
#[allow(dead_code)]
pub fn pdftotext(pdf: &Path) -> Option<String> {
    let out = std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output();
    match out {
        Ok(o) if o.status.success() => Some(
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => {
            eprintln!("pdftotext not available: PDF text checks skipped");
            None
        }
    }
}

/// The shared corpus (`MAILPROOF_CORPUS`, default `../shared/corpus`), or `None` with a note
/// when it is absent; under `CI=true` its absence fails the test instead of skipping it.
#[allow(dead_code)]
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILPROOF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus"));
    if dir.join("parsedmarc").is_dir() {
        return Some(dir);
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "corpus not found at {} (required when CI=true)",
        dir.display()
    );
    println!("skipped: corpus not found at {}", dir.display());
    None
}

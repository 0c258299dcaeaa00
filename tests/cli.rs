//! The CLI contract: exit codes, error messages that name the cause, help with examples.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailproof"))
}

fn samples() -> PathBuf {
    common::repo().join("samples")
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    common::sample_config(dir, extra)
}

fn run(cfg: &Path) -> Output {
    bin()
        .args(["run", "--offline", "--period", "2026-10", "-q", "--config"])
        .arg(cfg)
        .env("SOURCE_DATE_EPOCH", "1793534400")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn config_complete(dir: &Path, extra: &str) -> PathBuf {
    common::sample_config_complete(dir, extra)
}

#[test]
fn fail_on_threshold_gives_exit_3_and_still_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&config_complete(dir.path(), "fail_on = \"very-high\""));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(dir.path().join("out/2026-10/report.pdf").is_file());
    let e = stderr(&o);
    assert!(e.contains("at or above policy.fail_on (exit 3)"), "{e}");
    // The ids that tripped it, one per line.
    assert!(e.lines().any(|l| l.trim() == "VEN-001:PayNotice"), "{e}");
}

/// Incomplete evidence outranks the threshold (exit 4), and stderr says both: the findings over
/// the threshold, and the inventory row that was not read.
#[test]
fn incomplete_evidence_exits_4_and_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&config(dir.path(), "fail_on = \"very-high\""));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{e}");
    assert!(dir.path().join("out/2026-10/report.pdf").is_file());
    assert!(e.contains("at or above policy.fail_on"), "{e}");
    assert!(
        e.contains("evidence incomplete (exit 4): 1 row of the vendor inventory rejected; fix it"),
        "{e}"
    );
    assert!(e.contains("vendors.csv line 15 (FaxBridge)"), "{e}");
}

#[test]
fn unknown_config_key_is_exit_1_naming_key_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "fial_on = \"high\"");
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("fial_on") && e.contains("mailproof.toml") && e.contains("line "),
        "{e}"
    );
    assert!(
        !dir.path().join("out/2026-10").exists(),
        "nothing may be written on error"
    );
}

#[test]
fn failed_run_leaves_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_complete(dir.path(), "");
    assert_eq!(run(&cfg).status.code(), Some(0));
    let before = std::fs::read(dir.path().join("out/2026-10/evidence.json")).unwrap();
    // Point the inventory at a missing file: the run must fail and keep last output.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("vendors.csv", "missing.csv");
    std::fs::write(&cfg, text).unwrap();
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.csv"), "{}", stderr(&o));
    assert_eq!(
        before,
        std::fs::read(dir.path().join("out/2026-10/evidence.json")).unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".mailproof-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left behind: {leftovers:?}"
    );
}

#[test]
fn check_refuses_names_that_are_not_domains() {
    let o = bin().args(["check", "a b..c"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a domain name"), "{}", stderr(&o));
}

#[test]
fn usage_errors_are_exit_2() {
    let o = bin().args(["run"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = bin()
        .args(["run", "--config", "x.toml", "--period", "2026-13"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("YYYY-MM"), "{}", stderr(&o));
}

#[test]
fn every_command_help_ends_with_an_example() {
    for cmd in [
        "run",
        "snapshot",
        "check",
        "reports",
        "diff",
        "inventory",
        "render",
    ] {
        let o = bin().args([cmd, "--help"]).output().unwrap();
        assert!(o.status.success());
        let text = String::from_utf8_lossy(&o.stdout);
        let example = text.rsplit("Example").next().unwrap_or("");
        assert!(
            text.contains("Example") && example.contains(&format!("mailproof {cmd} ")),
            "{cmd} --help does not end with an example:\n{text}"
        );
    }
}

#[test]
fn inventory_command_exits_1_on_rejected_rows_with_line_and_column() {
    let o = bin()
        .arg("inventory")
        .arg(samples().join("vendors.csv"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("line 15 (FaxBridge), column `ip_ranges`"), "{e}");
}

#[test]
fn reports_json_contract() {
    let o = bin()
        .args(["reports", "--format", "json", "--period", "2026-10"])
        .arg(samples().join("reports"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["reports", "rejected", "duplicates", "totals"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let r = &v["reports"][0];
    for k in [
        "file",
        "org_name",
        "report_id",
        "domain",
        "begin",
        "end",
        "records",
        "messages",
    ] {
        assert!(r.get(k).is_some(), "report lacks {k}");
    }
    for k in ["files", "reports", "records", "messages"] {
        assert!(v["totals"][k].as_u64().is_some(), "totals lacks {k}");
    }
    // Every file under samples/reports, whatever its month (the generator's own count).
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples().join("expected/reports.json")).unwrap())
            .unwrap();
    assert_eq!(v["totals"]["files"], truth["totals"]["files"]);
    assert_eq!(
        v["reports"].as_array().unwrap().len() as u64,
        truth["totals"]["counted_in_october_chicago"]
            .as_u64()
            .unwrap()
    );
    assert_eq!(v["duplicates"], 1);
    assert_eq!(v["rejected"].as_array().unwrap().len(), 2);
    let sum: u64 = v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["messages"].as_u64().unwrap())
        .sum();
    assert_eq!(v["totals"]["messages"].as_u64().unwrap(), sum);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Cron runs from anywhere: the evidence must not depend on the working directory.
#[test]
fn evidence_is_the_same_whatever_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&samples(), &dir.path().join("samples"));
    let run_from = |cwd: &Path, cfg: &str| {
        let o = bin()
            .args([
                "run",
                "--offline",
                "--period",
                "2026-10",
                "-q",
                "--config",
                cfg,
            ])
            .current_dir(cwd)
            .env("SOURCE_DATE_EPOCH", "1793534400")
            .output()
            .unwrap();
        // 4: the samples' inventory has a rejected row (evidence incomplete).
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        std::fs::read(dir.path().join("out/2026-10/evidence.json")).unwrap()
    };
    let a = run_from(dir.path(), "samples/mailproof.toml");
    let b = run_from(&dir.path().join("samples"), "mailproof.toml");
    assert!(a == b, "evidence.json differs between working directories");
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert!(
        v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["path"] == "reports/garbage.xml.gz")
    );
}

//! Risk treatment through the real binary: accepted risks leave the exit-code threshold and
//! expired ones return to it; a bad decisions file stops the run before anything is written.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailproof"));
    c.env_remove("MAILPROOF_LOG");
    c
}

/// October 2026 assessed at the cron run of 1 November.
fn run(cfg: &Path) -> Output {
    bin()
        .args(["run", "--offline", "--period", "2026-10", "-q", "--config"])
        .arg(cfg)
        .env("SOURCE_DATE_EPOCH", "1793793600")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn evidence(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("out/2026-10/evidence.json")).unwrap()).unwrap()
}

/// The sample config with its decisions file replaced by `decisions`.
fn config_with(dir: &Path, policy_line: &str, decisions: &str) -> PathBuf {
    let cfg = common::sample_config_complete(dir, policy_line);
    let file = dir.join("decisions.toml");
    std::fs::write(&file, decisions).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let samples_file = format!("{:?}", common::repo().join("samples/decisions.toml"));
    assert!(
        text.contains(&samples_file),
        "sample config names its decisions file"
    );
    std::fs::write(&cfg, text.replace(&samples_file, &format!("{file:?}"))).unwrap();
    cfg
}

fn acceptance(id: &str, expires: &str) -> String {
    format!(
        "[[decision]]\nfinding = {id:?}\ndecision = \"accept\"\njustification = \"test\"\napproved_by = \"CISO\"\napproved_on = 2026-10-01\nexpires = {expires}\n\n"
    )
}

#[test]
fn accepted_high_findings_leave_the_threshold_and_expired_ones_return() {
    let dir = tempfile::tempdir().unwrap();
    // First: which open findings are High or above?
    let cfg = config_with(dir.path(), "fail_on = \"high\"", "");
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let ev = evidence(dir.path());
    let high: Vec<String> = ev["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "resolved")
        .filter(|f| matches!(f["risk"].as_str(), Some("high" | "very-high")))
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        high.len() >= 2,
        "the samples have several high risks: {high:?}"
    );
    for id in &high {
        assert!(stderr(&o).contains(id.as_str()), "exit 3 names {id}");
    }

    // Accept every one of them: the run exits 0, and they are still in every output.
    let all: String = high.iter().map(|id| acceptance(id, "2027-03-31")).collect();
    let cfg = config_with(dir.path(), "fail_on = \"high\"", &all);
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let ev = evidence(dir.path());
    for id in &high {
        let f = ev["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} still in evidence"));
        assert_eq!(f["treatment_status"], "accepted", "{id}");
        assert_eq!(f["treatment"]["decision"], "accept");
        assert_eq!(f["treatment"]["expired"], false);
    }
    assert_eq!(
        ev["risk_counts"]["accepted"].as_u64(),
        Some(high.len() as u64)
    );
    assert_eq!(ev["risk_counts"]["very_high"], 0);
    assert_eq!(ev["risk_counts"]["high"], 0);
    let poam = std::fs::read_to_string(dir.path().join("out/2026-10/poam.csv")).unwrap();
    let findings_csv =
        std::fs::read_to_string(dir.path().join("out/2026-10/findings.csv")).unwrap();
    for id in &high {
        let row = poam.lines().find(|l| l.starts_with(id.as_str())).unwrap();
        assert!(row.contains(",accepted,accept,"), "{row}");
        assert!(findings_csv.contains(id.as_str()));
    }

    // One acceptance ran out on 15 October: exit 3 again, naming that finding alone.
    let (first, rest) = high.split_first().unwrap();
    let mut mixed = acceptance(first, "2026-10-15");
    mixed.extend(rest.iter().map(|id| acceptance(id, "2027-03-31")));
    let cfg = config_with(dir.path(), "fail_on = \"high\"", &mixed);
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains(first.as_str()));
    for id in rest {
        assert!(
            !stderr(&o).contains(&format!("  {id}\n")),
            "{id} stays accepted"
        );
    }
    let ev = evidence(dir.path());
    let expired = &ev["risk_decisions"]["expired"];
    assert_eq!(expired[0]["finding"], first.as_str());
    assert_eq!(expired[0]["expired_on"], "2026-10-15");
}

#[test]
fn a_bad_decisions_file_is_exit_1_naming_file_line_and_key_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = acceptance("DMARC-003:riversidecares.example", "2028-01-01");
    let cfg = config_with(dir.path(), "", &bad);
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("decisions.toml:7:") && e.contains("`expires`") && e.contains("12 months"),
        "{e}"
    );
    assert!(!dir.path().join("out/2026-10").exists(), "nothing written");
    // A typo in a key.
    let cfg = config_with(
        dir.path(),
        "",
        &bad.replace("justification", "justificaton"),
    );
    let e = stderr(&run(&cfg));
    assert!(
        e.contains("decisions.toml:4:") && e.contains("justificaton"),
        "{e}"
    );
    assert!(!dir.path().join("out/2026-10").exists(), "nothing written");
}

/// The bundled decisions file shows each kind: a valid acceptance, an expired one, a transfer,
/// a mitigation with its own due date, and a stale entry.
#[test]
fn sample_decisions_show_every_kind_in_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::sample_config(dir.path(), "");
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let ev = evidence(dir.path());
    let find = |id: &str| {
        ev["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not found"))
    };
    assert_eq!(
        find("DMARC-003:riversidecares.example")["treatment_status"],
        "accepted"
    );
    let hr = find("DKIM-003:hr2019._domainkey.riversidehealth.example");
    assert_eq!(hr["treatment"]["expired"], true);
    assert_ne!(hr["treatment_status"], "accepted");
    assert_eq!(
        find("DMARC-010:riversidehealth.example ruf")["treatment"]["decision"],
        "transfer"
    );
    let pay = find("RPT-002:PayNotice");
    assert_eq!(pay["due"], "2026-12-15");
    assert!(pay["due_basis"].as_str().unwrap().contains("risk decision"));
    let rd = &ev["risk_decisions"];
    assert_eq!(
        rd["stale"][0]["finding"],
        "DMARC-008:myriversidechart.example"
    );
    assert_eq!(rd["entries"], 5);
    // Owners: the patient domain's owner, the security officer for parked domains.
    assert_eq!(
        find("DMARC-002:riverside-health.example")["owner"],
        "Dana Ortiz, HIPAA Security Officer"
    );

    let Some(text) = common::pdftotext(&dir.path().join("out/2026-10/report.pdf")) else {
        return;
    };
    for needle in [
        "Risk Register and Treatment Plan",
        "Scope, Method and Sign-off",
        "OCR risk-analysis elements",
        "Periodic review and updates",
        "Expired acceptances",
        "Stale decisions",
        "DMARC-008:myriversidechart.example",
        "Accepted risks",
        "BOD 19-02",
        "Reviewed by",
        "Alex Chen, IT Compliance Manager",
        "Progress Over the Year",
        "Mean time to remediate",
        "DMARC policy timeline",
        "sha256sum -c SHA256SUMS",
    ] {
        assert!(text.contains(needle), "PDF lacks {needle:?}");
    }
}

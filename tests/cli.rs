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
        .env("SOURCE_DATE_EPOCH", "1793793600")
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
        e.contains("evidence incomplete (exit 4): 1 rejection in the vendor inventory; fix it"),
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

/// The corpus's SMTP TLS samples, or `None` (said) when the corpus is absent outside CI.
fn smtp_tls_corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILPROOF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("../shared/corpus"))
        .join("parsedmarc/samples/smtp_tls");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "corpus not found at {} (required when CI=true)",
        dir.display()
    );
    println!("skipped: corpus not found at {}", dir.display());
    None
}

/// The keys of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    k.sort_unstable();
    k
}

#[test]
fn reports_json_lists_tls_reports_in_the_contract_shape() {
    let Some(tls) = smtp_tls_corpus() else { return };
    let o = bin()
        .args(["reports", "--format", "json", "--period", "2026-10"])
        .arg(samples().join("reports"))
        .arg(&tls)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The DMARC side is what it was without the TLS files, but for the files they add.
    let alone = bin()
        .args(["reports", "--format", "json", "--period", "2026-10"])
        .arg(samples().join("reports"))
        .output()
        .unwrap();
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
    for k in ["reports", "rejected", "duplicates"] {
        assert_eq!(v[k], alone[k], "{k} changed");
    }
    for k in ["reports", "records", "messages"] {
        assert_eq!(v["totals"][k], alone["totals"][k], "totals.{k} changed");
    }
    assert_eq!(
        v["totals"]["files"].as_u64(),
        alone["totals"]["files"].as_u64().map(|n| n + 4)
    );
    // Of the TLS reports, only the samples' own two count toward October 2026 (the corpus's
    // are from other years); without --period the corpus's four are listed.
    let ids: Vec<&str> = v["tls_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["report_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "2026-10-20T00:00:00Z_riversidehealth.example",
            "2026-10-21T00:00:00Z_myriversidechart.example"
        ]
    );
    assert_eq!(alone["tls_reports"], v["tls_reports"]);
    let o = bin()
        .args(["reports", "--format", "json"])
        .arg(&tls)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rejected"], serde_json::json!([]));
    let list = v["tls_reports"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    for r in list {
        assert_eq!(
            keys(r),
            vec![
                "begin",
                "end",
                "file",
                "member",
                "org_name",
                "policies",
                "report_id"
            ]
        );
        for p in r["policies"].as_array().unwrap() {
            assert_eq!(
                keys(p),
                vec![
                    "failed",
                    "failures",
                    "mx_host",
                    "policy_domain",
                    "policy_type",
                    "successful"
                ]
            );
            assert!(p["mx_host"].is_array());
            for f in p["failures"].as_array().unwrap() {
                assert_eq!(
                    keys(f),
                    vec![
                        "count",
                        "receiving_mx_hostname",
                        "result_type",
                        "sending_ip"
                    ]
                );
            }
        }
    }
    let rfc = list
        .iter()
        .find(|r| r["org_name"] == "Company-X")
        .expect("the RFC example");
    assert!(rfc["file"].as_str().unwrap().ends_with("rfc8460.json"));
    assert_eq!(rfc["member"], serde_json::Value::Null);
    assert_eq!(rfc["report_id"], "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
    assert_eq!(rfc["begin"], "2016-04-01T00:00:00Z");
    assert_eq!(rfc["end"], "2016-04-01T23:59:59Z");
    let p = &rfc["policies"][0];
    assert_eq!(p["policy_type"], "sts");
    assert_eq!(p["policy_domain"], "company-y.example");
    assert_eq!(
        p["mx_host"],
        serde_json::json!(["*.mail.company-y.example"])
    );
    assert_eq!(
        (p["successful"].as_u64(), p["failed"].as_u64()),
        (Some(5326), Some(303))
    );
    assert_eq!(
        p["failures"][1],
        serde_json::json!({
            "result_type": "starttls-not-supported",
            "sending_ip": "2001:db8:abcd:13::1",
            "receiving_mx_hostname": "mx2.mail.company-y.example",
            "count": 200
        })
    );
    let google = list
        .iter()
        .find(|r| r["org_name"] == "Google Inc.")
        .expect("Google's email");
    assert!(google["file"].as_str().unwrap().ends_with(".eml"));
    assert!(
        google["member"]
            .as_str()
            .is_some_and(|m| m.contains("application/tlsrpt+gzip"))
    );
    assert_eq!(google["policies"][0]["policy_type"], "no-policy-found");
    assert_eq!(google["policies"][0]["failures"], serde_json::json!([]));

    // CSV: the DMARC columns, then the TLS ones; one row per failure detail (3 + 2 + 2),
    // and one for Google's policy without details.
    let o = bin()
        .args(["reports", "--format", "csv"])
        .arg(&tls)
        .output()
        .unwrap();
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "file,org_name,report_id,domain,begin,end,records,messages,kind,member,policy_type,policy_domain,mx_host,successful,failed,result_type,sending_ip,receiving_mx_hostname,count"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 8, "{csv}");
    assert!(rows.iter().all(|r| r.contains(",tlsrpt,")));
    assert!(
        rows.iter()
            .any(|r| r.ends_with(",sts,example.com,,0,1,sts-policy-fetch-error,,,1"))
    );

    // Text: one line per policy, one per failure detail.
    let o = bin().args(["reports"]).arg(&tls).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("TLS Company-X"), "{text}");
    assert!(text.contains("certificate-expired"), "{text}");
    assert!(!text.contains("rejected"), "{text}");
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
            .env("SOURCE_DATE_EPOCH", "1793793600")
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

/// A month is final `policy.report_grace_days` (3) after it ends: before that `run` refuses,
/// or with --allow-partial publishes a period marked partial, which the final run replaces. A
/// report that arrives after its period was published is listed by the next run, once.
#[test]
fn periods_wait_for_their_grace_and_late_reports_are_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_complete(dir.path(), "");
    let late_dir = dir.path().join("late");
    std::fs::create_dir(&late_dir).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    let reports_line = text
        .lines()
        .find(|l| l.starts_with("reports = ["))
        .unwrap()
        .to_string();
    let with_late = reports_line.replace("]", &format!(", {late_dir:?}]"));
    std::fs::write(&cfg, text.replace(&reports_line, &with_late)).unwrap();
    let at = |period: &str, epoch: &str, extra: &[&str]| {
        bin()
            .args(["run", "--offline", "--period", period, "--config"])
            .arg(&cfg)
            .args(extra)
            .env("SOURCE_DATE_EPOCH", epoch)
            .output()
            .unwrap()
    };
    let evidence = |period: &str| -> serde_json::Value {
        let p = dir.path().join("out").join(period).join("evidence.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };

    // November 2, 12:00 UTC: October (Chicago) is final on November 4 at 00:00 CST.
    let o = at("2026-10", "1793620800", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2026-10 is not final until 2026-11-04 00:00 CST"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out/2026-10").exists());

    let o = at("2026-10", "1793620800", &["--allow-partial"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = evidence("2026-10");
    assert_eq!(e["partial"], true);
    assert_eq!(e["cut_off"], "2026-11-02T12:00:00Z");
    assert_eq!(e["final_at"], "2026-11-04T06:00:00Z");
    if let Some(text) = common::pdftotext(&dir.path().join("out/2026-10/report.pdf")) {
        assert!(
            text.contains("PARTIAL: this period was not final when assessed"),
            "cover"
        );
    }

    // The final run replaces the partial one, and says so.
    let o = at("2026-10", "1793793600", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("replaced the earlier output of 2026-10")
            && stderr(&o).contains("generated 2026-11-02 12:00 UTC, partial"),
        "{}",
        stderr(&o)
    );
    let e = evidence("2026-10");
    assert_eq!(e["partial"], false);
    assert!(e.get("cut_off").is_none());

    // A report for October 31 arrives after October was published.
    let src =
        samples().join("reports/comcast.net!myriversidechart.example!1792627200!1792713599.xml");
    let xml = std::fs::read_to_string(src)
        .unwrap()
        .replace("1d67aa67-a867-49bb-a2b0-0c16e17410c6", "late-oct31-1")
        .replace("1792627200", "1793404800")
        .replace("1792713599", "1793491199");
    std::fs::write(late_dir.join("comcast-late.xml"), xml).unwrap();

    let o = at("2026-11", "1796472000", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let late = evidence("2026-11")["late_reports"].clone();
    assert_eq!(late.as_array().map(Vec::len), Some(1), "{late}");
    assert_eq!(late[0]["period"], "2026-10");
    assert_eq!(late[0]["report_id"], "late-oct31-1");
    assert_eq!(late[0]["messages"], 449);
    let raise = late[0]["would_raise"].to_string();
    assert!(
        raise.contains("RPT-001") && raise.contains("RPT-002: PayNotice"),
        "{raise}"
    );
    if let Some(text) = common::pdftotext(&dir.path().join("out/2026-11/report.pdf")) {
        assert!(text.contains("Late reports"), "section");
        assert!(text.contains("late-oct31-1"), "report id listed");
    }
    // October's published output is untouched by the late report.
    assert_eq!(evidence("2026-10")["partial"], false);

    // December does not list it again.
    let o = at("2026-12", "1799150400", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(evidence("2026-12")["late_reports"], serde_json::json!([]));

    // A month that has not begun is refused, partial or not.
    let o = at("2027-06", "1799150400", &["--allow-partial"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("2027-06 has not begun"),
        "{}",
        stderr(&o)
    );
}

/// The inventory as a spreadsheet keeps it, through a whole run: the bundled workbook gives
/// the same findings as the CSV, and a CSV with PayNotice's row twice (once exactly, once with
/// another BAA) counts its mail once, keeps every finding id unique and says why on stderr.
#[test]
fn a_workbook_or_duplicated_rows_give_the_same_assessment() {
    let ids = |dir: &Path| -> Vec<String> {
        let ev: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("out/2026-10/evidence.json")).unwrap())
                .unwrap();
        let mut v: Vec<String> = ev["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        let n = v.len();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), n, "finding ids repeat");
        v
    };
    let base = tempfile::tempdir().unwrap();
    let o = run(&config(base.path(), ""));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let want = ids(base.path());

    let xlsx = tempfile::tempdir().unwrap();
    let cfg = config(xlsx.path(), "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("vendors.csv\"", "vendors.xlsx\"");
    std::fs::write(&cfg, text).unwrap();
    let o = run(&cfg);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(ids(xlsx.path()), want);

    let dup = tempfile::tempdir().unwrap();
    let cfg = config(dup.path(), "");
    let csv = std::fs::read_to_string(samples().join("vendors.csv")).unwrap();
    let pay = csv.lines().find(|l| l.starts_with("PayNotice,")).unwrap();
    let inv = dup.path().join("vendors.csv");
    std::fs::write(
        &inv,
        format!("{csv}{pay}\n{}\n", pay.replace(",signed,", ",none,")),
    )
    .unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("inventory = {:?}", samples().join("vendors.csv")),
        &format!("inventory = {inv:?}"),
    );
    std::fs::write(&cfg, text).unwrap();
    let o = run(&cfg);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{e}");
    assert!(e.contains("both name PayNotice but differ in `baa`"), "{e}");
    let got = ids(dup.path());
    assert!(got.contains(&"VEN-001:PayNotice".to_string()), "{got:?}");
    let ev: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dup.path().join("out/2026-10/evidence.json")).unwrap(),
    )
    .unwrap();
    let sum: u64 = ev["vendors"]["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["messages"].as_u64().unwrap())
        .sum();
    assert!(sum <= ev["reports"]["messages"].as_u64().unwrap());
}

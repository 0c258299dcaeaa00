//! `mailproof verify` on real output: the binary runs September then October (offline, fixed
//! clock) over a copy of the bundled samples, laid out as in the repository (`samples/` beside
//! `out/`). Each case verifies its own copy of that tree, so every case also shows that a moved
//! tree still verifies.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const SEPTEMBER: &str = "1791111600";
const OCTOBER: &str = "1793793600";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailproof"));
    c.env_remove("MAILPROOF_LOG");
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn run(root: &Path, period: &str, epoch: &str) {
    let o = bin()
        .args(["-q", "run", "--offline", "--period", period, "--config"])
        .arg(root.join("samples/mailproof.toml"))
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap();
    // 4: the samples' inventory holds a rejected row (evidence incomplete); all is written.
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The generated tree, made once per test process (each `run` renders a PDF). It lives under
/// Cargo's test scratch folder; trees left by earlier processes are removed once an hour old.
fn base() -> &'static Path {
    static BASE: OnceLock<tempfile::TempDir> = OnceLock::new();
    BASE.get_or_init(|| {
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for old in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
            let stale = old
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if stale
                && old
                    .file_name()
                    .to_string_lossy()
                    .starts_with("verify-base-")
            {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let t = tempfile::Builder::new()
            .prefix("verify-base-")
            .tempdir_in(scratch)
            .unwrap();
        let samples = repo().join("samples");
        for f in [
            "mailproof.toml",
            "vendors.csv",
            "decisions.toml",
            "reports",
            "snapshots",
        ] {
            let from = samples.join(f);
            let to = t.path().join("samples").join(f);
            if from.is_dir() {
                copy_dir(&from, &to);
            } else {
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&from, &to).unwrap();
            }
        }
        run(t.path(), "2026-09", SEPTEMBER);
        run(t.path(), "2026-10", OCTOBER);
        t
    })
    .path()
}

/// A private copy of the generated tree.
fn case() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    copy_dir(base(), t.path());
    t
}

fn verify(root: &Path, args: &[&str]) -> Output {
    bin()
        .arg("verify")
        .args(args)
        .current_dir(root)
        .output()
        .unwrap()
}

fn json(root: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let o = verify(root, &args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "verify --format json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    });
    (o.status.code(), v)
}

fn sha256(path: &Path) -> String {
    mailproof::verify::sha256_file(path).unwrap()
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

fn middle(path: &Path) -> usize {
    std::fs::metadata(path).unwrap().len() as usize / 2
}

#[test]
fn the_sample_chain_verifies() {
    let t = case();
    let o = verify(t.path(), &["out/2026-10", "--chain"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for expected in [
        "period 2026-10 (out/2026-10)",
        "period 2026-09 (out/2026-09)",
        "link 2026-10 -> 2026-09: ok out/2026-09/evidence.json",
        "ok   attachment out/2026-10/evidence.json",
        "ok   snapshot   out/2026-10/../../samples/snapshots/2025-10-01T110000Z.json",
        "verified: 2 periods, 1 link",
        "2026-09 is the first period of the chain",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }

    let (code, v) = json(t.path(), &["out/2026-10", "--chain"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["ok"], true);
    assert_eq!(v["first_failure"], Value::Null);
    assert_eq!(v["first_period"], "2026-09");
    let periods = v["periods"].as_array().unwrap();
    let labels: Vec<&str> = periods
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2026-10", "2026-09"]);
    assert_eq!(periods[0]["dir"], "out/2026-10");
    let link = &v["links"][0];
    assert_eq!(
        (&link["from"], &link["to"], &link["ok"]),
        (&"2026-10".into(), &"2026-09".into(), &true.into())
    );
    let checks = periods[0]["checks"].as_array().unwrap();
    for c in checks {
        for k in [
            "kind", "file", "ok", "problem", "expected", "actual", "detail",
        ] {
            assert!(c.get(k).is_some(), "{k} missing in {c}");
        }
    }
    let count = |kind: &str| checks.iter().filter(|c| c["kind"] == kind).count();
    assert_eq!(count("sha256"), 4); // evidence.json, findings.csv, poam.csv, report.pdf
    assert_eq!(count("attachment"), 3); // evidence.json, findings.csv, poam.csv inside the PDF
    // Every stored snapshot up to October's: the seven of the sample world.
    assert_eq!(count("snapshot"), 7);

    // The evidence fields the chain rests on.
    let ev: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("out/2026-10/evidence.json")).unwrap())
            .unwrap();
    assert_eq!(ev["input_root"], "../../samples");
    assert_eq!(ev["previous"]["period"], "2026-09");
    assert_eq!(
        ev["previous"]["sha256"],
        sha256(&t.path().join("out/2026-09/evidence.json"))
    );
    let used: Vec<(&str, &str)> = ev["snapshots_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap(), s["sha256"].as_str().unwrap()))
        .collect();
    // Every stored snapshot up to October's (file names sort by capture time).
    let mut want: Vec<String> = std::fs::read_dir(t.path().join("samples/snapshots"))
        .unwrap()
        .map(|e| format!("snapshots/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".json"))
        .collect();
    want.sort();
    assert_eq!(want.len(), 7);
    assert_eq!(used.iter().map(|u| u.0).collect::<Vec<_>>(), want);
    for (path, sha) in used {
        assert_eq!(sha, sha256(&t.path().join("samples").join(path)));
    }
    assert_eq!(ev["snapshot"]["path"], want[6]);
    assert_eq!(ev["previous"]["snapshot"]["path"], want[5]);
    // The first period has no previous evidence, so no sha256 to chain to.
    let sep: Value =
        serde_json::from_slice(&std::fs::read(t.path().join("out/2026-09/evidence.json")).unwrap())
            .unwrap();
    assert!(sep["previous"].get("sha256").is_none());

    // From anywhere, by absolute path.
    let dir = t.path().join("out/2026-10");
    let o = bin()
        .arg("verify")
        .arg(&dir)
        .arg("--chain")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn one_changed_byte_anywhere_is_named() {
    // (file to damage, byte to flip or None for the middle, --chain, file named, check kind)
    let cases: &[(&str, Option<usize>, bool, &str, &str)] = &[
        (
            "out/2026-10/report.pdf",
            None,
            false,
            "out/2026-10/report.pdf",
            "sha256",
        ),
        (
            "out/2026-10/evidence.json",
            None,
            false,
            "out/2026-10/evidence.json",
            "sha256",
        ),
        (
            "out/2026-10/findings.csv",
            None,
            false,
            "out/2026-10/findings.csv",
            "sha256",
        ),
        (
            "out/2026-10/poam.csv",
            None,
            false,
            "out/2026-10/poam.csv",
            "sha256",
        ),
        // The separator after the first hash: the line is no longer `<sha256>  <name>`.
        (
            "out/2026-10/SHA256SUMS",
            Some(64),
            false,
            "out/2026-10/SHA256SUMS",
            "sha256sums",
        ),
        (
            "samples/snapshots/2026-11-01T120000Z.json",
            None,
            false,
            "samples/snapshots/2026-11-01T120000Z.json",
            "snapshot",
        ),
        // Only read for key-age history, so listed in snapshots_used alone.
        (
            "samples/snapshots/2025-10-01T110000Z.json",
            None,
            false,
            "samples/snapshots/2025-10-01T110000Z.json",
            "snapshot",
        ),
        (
            "out/2026-09/evidence.json",
            None,
            true,
            "out/2026-09/evidence.json",
            "link",
        ),
        (
            "out/2026-09/report.pdf",
            None,
            true,
            "out/2026-09/report.pdf",
            "sha256",
        ),
    ];
    for (file, at, chain, named, kind) in cases {
        let t = case();
        let path = t.path().join(file);
        flip(&path, at.unwrap_or_else(|| middle(&path)));
        let mut args = vec!["out/2026-10"];
        if *chain {
            args.push("--chain");
        }
        let o = verify(t.path(), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{file}: {err}");
        let first = err
            .lines()
            .find(|l| l.starts_with("mailproof: verify failed: "))
            .unwrap_or_else(|| panic!("{file}: no failure line in {err}"));
        assert!(first.contains(named), "{file}: {first}");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("NOT VERIFIED"), "{file}: {text}");

        let (code, v) = json(t.path(), &args);
        assert_eq!(code, Some(1));
        assert_eq!(v["ok"], false);
        let f = &v["first_failure"];
        assert_eq!(f["kind"], *kind, "{file}: {f}");
        assert!(f["file"].as_str().unwrap().ends_with(named), "{file}: {f}");
        assert!(!f["detail"].as_str().unwrap().is_empty());
        if *kind != "sha256sums" {
            // What differs: the recorded hash against the file's.
            assert_ne!(f["expected"], f["actual"], "{file}: {f}");
            assert_eq!(f["problem"], "mismatch", "{file}: {f}");
        }
        if *chain {
            // The earlier period's damage only shows through the chain.
            assert_eq!(verify(t.path(), &["out/2026-10"]).status.code(), Some(0));
        }
    }

    // A hash digit in SHA256SUMS changed to another digit: the files still match the copies
    // the PDF carries, so the list is what changed.
    let t = case();
    let sums = t.path().join("out/2026-10/SHA256SUMS");
    let mut b = std::fs::read(&sums).unwrap();
    b[0] = if b[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&sums, b).unwrap();
    let (code, v) = json(t.path(), &["out/2026-10"]);
    assert_eq!(code, Some(1));
    assert!(
        v["first_failure"]["file"]
            .as_str()
            .unwrap()
            .ends_with("out/2026-10/SHA256SUMS"),
        "{}",
        v["first_failure"]
    );
}

#[test]
fn a_regenerated_earlier_period_breaks_only_the_link() {
    let t = case();
    // September re-run a day later: a complete, self-consistent period, but not the one
    // October was assessed against.
    run(t.path(), "2026-09", "1791198000");
    assert_eq!(verify(t.path(), &["out/2026-09"]).status.code(), Some(0));
    assert_eq!(verify(t.path(), &["out/2026-10"]).status.code(), Some(0));
    let (code, v) = json(t.path(), &["out/2026-10", "--chain"]);
    assert_eq!(code, Some(1));
    for p in v["periods"].as_array().unwrap() {
        assert_eq!(p["ok"], true, "{}", p["period"]);
    }
    let link = &v["links"][0];
    assert_eq!(link["ok"], false);
    assert_eq!(link["problem"], "mismatch");
    assert_eq!(
        link["actual"],
        sha256(&t.path().join("out/2026-09/evidence.json"))
    );
    let f = &v["first_failure"];
    assert_eq!(f["kind"], "link");
    assert_eq!(f["file"], "out/2026-09/evidence.json");
    let o = verify(t.path(), &["out/2026-10", "--chain"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("previous.sha256") && err.contains("restore"),
        "{err}"
    );
}

#[test]
fn moved_snapshots_are_found_with_the_snapshots_option() {
    let t = case();
    std::fs::rename(
        t.path().join("samples/snapshots"),
        t.path().join("archived-snapshots"),
    )
    .unwrap();
    let o = verify(t.path(), &["out/2026-10", "--chain"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("2026-11-01T120000Z.json") && err.contains("--snapshots DIR"),
        "{err}"
    );
    let (_, v) = json(t.path(), &["out/2026-10"]);
    assert_eq!(v["first_failure"]["problem"], "missing");
    let o = verify(
        t.path(),
        &[
            "out/2026-10",
            "--chain",
            "--snapshots",
            "archived-snapshots",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn evidence_from_an_older_mailproof() {
    // October republished without the fields this version adds, as an older version wrote it.
    let t = case();
    let dir = t.path().join("out/2026-10");
    let mut ev: mailproof::evidence::Evidence =
        serde_json::from_slice(&std::fs::read(dir.join("evidence.json")).unwrap()).unwrap();
    if let Some(p) = ev.previous.as_mut() {
        p.sha256 = None;
    }
    ev.input_root = None;
    ev.snapshots_used.clear();
    mailproof::run::publish(&ev, &dir, None).unwrap();

    // Relative snapshot paths cannot be found without input_root: said, with the way out.
    let (code, v) = json(t.path(), &["out/2026-10"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["first_failure"]["problem"], "unverifiable");
    assert!(
        v["first_failure"]["detail"]
            .as_str()
            .unwrap()
            .contains("--snapshots")
    );
    let snaps = ["out/2026-10", "--snapshots", "samples/snapshots"];
    assert_eq!(json(t.path(), &snaps).0, Some(0));

    // The link cannot be checked: reported as such, not as a pass; September is still checked.
    let (code, v) = json(t.path(), &[&snaps[..], &["--chain"]].concat());
    assert_eq!(code, Some(1));
    assert_eq!(v["links"][0]["problem"], "unverifiable");
    assert_eq!(v["first_failure"]["kind"], "link");
    assert_eq!(v["periods"].as_array().unwrap().len(), 2);
    assert!(
        v["periods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ok"] == true)
    );
}

#[test]
fn usage_errors_exit_2() {
    let t = case();
    for args in [
        &["out/2099-01"][..],
        &["samples"],
        &["out/2026-10/report.pdf"],
        &["out/2026-10", "--format", "xml"],
        &["out/2026-10", "--snapshots", "nowhere"],
    ] {
        let o = verify(t.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty());
    }
}

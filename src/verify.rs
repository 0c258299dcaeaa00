//! `mailproof verify`: checks, years after the fact, that a period's output is what mailproof
//! wrote and rests on the inputs it names (45 CFR 164.316(b)(2)(i) asks for six years of
//! retention; retention is worth little if nobody can tell whether the files changed).
//!
//! A period folder is checked three ways: `SHA256SUMS` against the files; the files the PDF
//! carries (PDF/A-3 attachments) against the files beside it; and every snapshot the evidence
//! names against its recorded SHA-256. With `chain`, the `previous.sha256` link is followed to
//! the previous period's folder, which is checked the same way, back to the first period.
//!
//! Problems found in the files are results, not errors: an auditor wants the whole list, and
//! the first failure named. [`VerifyError`] is only for a request that cannot be carried out
//! (no such folder).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The files `run` writes into a period folder besides `SHA256SUMS` (`poam.csv` once the plan
/// of action is written). One of these present but not listed is reported: whoever added it
/// did not go through mailproof.
pub const ARTIFACTS: &[&str] = &["evidence.json", "findings.csv", "poam.csv", "report.pdf"];
const SUMS: &str = "SHA256SUMS";
const PDF: &str = "report.pdf";
const EVIDENCE: &str = "evidence.json";
/// Files read whole into memory (the PDF to find its attachments, evidence.json to read it)
/// are refused past this size: ours are a few MB, and a hostile folder must not exhaust memory.
const MAX_READ_BYTES: u64 = 512 << 20;
/// Bound on one attachment's decompressed size and on the name tree walked to find them.
const MAX_ATTACHMENT_BYTES: usize = 256 << 20;
const MAX_NAME_TREE_NODES: usize = 10_000;
const MAX_NAME_TREE_DEPTH: usize = 32;
/// Periods followed by `chain` at most (a century of months): the walk ends even on a folder
/// tree crafted to loop.
const MAX_CHAIN: usize = 1200;

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Follow `previous.sha256` back to the first period.
    pub chain: bool,
    /// Where snapshot files were moved to: looked up here by file name before the recorded path.
    pub snapshots: Option<PathBuf>,
}

/// A request that cannot be carried out at all (as opposed to files that fail to verify).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0} does not exist; give a period's output folder, such as out/2026-10")]
    NoSuchDir(PathBuf),
    #[error(
        "{0} is not a folder; give a period's output folder (the one holding SHA256SUMS), such as out/2026-10"
    )]
    NotADir(PathBuf),
    #[error(
        "{0} holds no SHA256SUMS, evidence.json or report.pdf, so it is not a mailproof period folder; give one such as out/2026-10"
    )]
    NotAPeriod(PathBuf),
    #[error("--snapshots {0} is not a folder; give the folder the snapshot files were moved to")]
    SnapshotsDir(PathBuf),
}

/// What was checked, so a script can tell a damaged artifact from a broken chain or a lost
/// snapshot without parsing sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// `SHA256SUMS` itself: present and well-formed.
    Sha256sums,
    /// A file listed in `SHA256SUMS` hashes as listed.
    Sha256,
    /// An artifact in the folder that `SHA256SUMS` does not list.
    Unlisted,
    /// `evidence.json` can be read (the snapshot and chain checks need it).
    Evidence,
    /// A file attached to the PDF is byte-identical to the file beside it.
    Attachment,
    /// A data file listed in `SHA256SUMS` is attached to the PDF.
    Attached,
    /// A snapshot the evidence names still has its recorded SHA-256.
    Snapshot,
    /// The previous period's `evidence.json` hashes to the recorded `previous.sha256`.
    Link,
}

/// What went wrong, in a word a script can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Missing,
    Mismatch,
    NotListed,
    NotAttached,
    AttachmentDiffers,
    Unreadable,
    Malformed,
    /// The evidence predates the field this check needs (`previous.sha256`, `input_root`).
    Unverifiable,
}

/// One check, kept whether it passed or not: an auditor's record shows what was verified, not
/// only what failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub kind: CheckKind,
    /// The file, as a path the user can open from where `verify` was run.
    pub file: String,
    pub ok: bool,
    pub problem: Option<Problem>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// What was found, and on failure what to do next.
    pub detail: String,
}

/// The checks of one period folder, grouped so a chain's report reads period by period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodReport {
    /// `YYYY-MM` from the evidence, or the folder name when the evidence cannot be read.
    pub period: String,
    pub dir: String,
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// One step of the chain: `from`'s evidence records the SHA-256 of `to`'s `evidence.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub from: String,
    pub to: String,
    /// The previous period's `evidence.json`.
    pub file: String,
    pub ok: bool,
    pub problem: Option<Problem>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub detail: String,
}

/// The first thing that did not verify, in the order checks ran (newest period first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub period: String,
    pub kind: CheckKind,
    pub file: String,
    pub problem: Option<Problem>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub detail: String,
}

/// The `verify --format json` document (a contract: extend, don't rename).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub periods: Vec<PeriodReport>,
    pub links: Vec<Link>,
    pub first_failure: Option<Failure>,
    /// With `chain`: the period the walk ended at because its evidence names no earlier
    /// evidence (the start of the chain); `None` when the walk stopped before reaching it.
    pub first_period: Option<String>,
}

/// The fields of `evidence.json` that verification reads. Read on their own rather than as
/// [`crate::evidence::Evidence`] so that evidence written by any version, older or newer,
/// still verifies as long as these keep their meaning.
#[derive(Debug, Deserialize)]
struct EvidenceView {
    schema: String,
    period: PeriodView,
    #[serde(default)]
    snapshot: Option<SnapshotView>,
    #[serde(default)]
    previous: Option<PreviousView>,
    #[serde(default)]
    input_root: Option<String>,
    #[serde(default)]
    snapshots_used: Vec<SnapshotView>,
}

#[derive(Debug, Deserialize)]
struct PeriodView {
    label: String,
}

#[derive(Debug, Deserialize)]
struct SnapshotView {
    path: String,
    sha256: String,
}

#[derive(Debug, Deserialize)]
struct PreviousView {
    period: String,
    #[serde(default)]
    evidence: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    snapshot: Option<SnapshotView>,
}

/// Verifies the period folder `dir` (and with `opts.chain` every period before it). Every check
/// runs even after a failure, so one call gives the auditor the whole picture; the first
/// failure is singled out because it is what to restore first.
pub fn verify(dir: &Path, opts: &Options) -> Result<Report, VerifyError> {
    match std::fs::metadata(dir) {
        Err(_) => return Err(VerifyError::NoSuchDir(dir.into())),
        Ok(m) if !m.is_dir() => return Err(VerifyError::NotADir(dir.into())),
        Ok(_) => {}
    }
    if ![SUMS, EVIDENCE, PDF].iter().any(|f| dir.join(f).exists()) {
        return Err(VerifyError::NotAPeriod(dir.into()));
    }
    if let Some(s) = &opts.snapshots
        && !s.is_dir()
    {
        return Err(VerifyError::SnapshotsDir(s.clone()));
    }

    let mut report = Report {
        ok: true,
        periods: Vec::new(),
        links: Vec::new(),
        first_failure: None,
        first_period: None,
    };
    let mut visited = BTreeSet::new();
    let mut dir = dir.to_path_buf();
    for _ in 0..MAX_CHAIN {
        visited.insert(dir.canonicalize().unwrap_or_else(|_| dir.clone()));
        let (period, evidence) = verify_period(&dir, opts);
        let label = period.period.clone();
        for c in period.checks.iter().filter(|c| !c.ok) {
            report.fail(Failure {
                period: label.clone(),
                kind: c.kind,
                file: c.file.clone(),
                problem: c.problem,
                expected: c.expected.clone(),
                actual: c.actual.clone(),
                detail: c.detail.clone(),
            });
        }
        report.periods.push(period);
        if !opts.chain {
            break;
        }
        let Some(evidence) = evidence else {
            break; // Unreadable: already a failure, and nothing to follow.
        };
        let Some(prev) = evidence
            .previous
            .filter(|p| p.evidence.is_some() || p.sha256.is_some())
        else {
            // The first period: its run found no earlier evidence.
            report.first_period = Some(label);
            break;
        };
        let (link, next) = follow(&dir, &label, &prev, &visited);
        if !link.ok {
            report.fail(Failure {
                period: label.clone(),
                kind: CheckKind::Link,
                file: link.file.clone(),
                problem: link.problem,
                expected: link.expected.clone(),
                actual: link.actual.clone(),
                detail: link.detail.clone(),
            });
        }
        report.links.push(link);
        match next {
            Some(next) => dir = next,
            None => break,
        }
    }
    Ok(report)
}

impl Report {
    fn fail(&mut self, f: Failure) {
        self.ok = false;
        if self.first_failure.is_none() {
            self.first_failure = Some(f);
        }
    }

    /// The human-readable report: one line per check, each link, and the verdict.
    pub fn write_text(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mark = |ok: bool| if ok { "ok  " } else { "FAIL" };
        let mut links = self.links.iter();
        for (i, p) in self.periods.iter().enumerate() {
            if i > 0
                && let Some(l) = links.next()
            {
                write_link(out, l, mark(l.ok))?;
            }
            writeln!(out, "period {} ({})", p.period, p.dir)?;
            for c in &p.checks {
                let kind = serde_json::to_value(c.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                writeln!(out, "  {} {:<10} {}", mark(c.ok), kind, c.file)?;
                if !c.ok {
                    writeln!(out, "       {}", c.detail)?;
                }
            }
        }
        for l in links {
            write_link(out, l, mark(l.ok))?;
        }
        if let Some(first) = &self.first_period {
            writeln!(
                out,
                "{first} is the first period of the chain (its evidence names no earlier evidence)"
            )?;
        }
        let checks: usize = self.periods.iter().map(|p| p.checks.len()).sum();
        let failed = self
            .periods
            .iter()
            .flat_map(|p| &p.checks)
            .filter(|c| !c.ok)
            .count()
            + self.links.iter().filter(|l| !l.ok).count();
        writeln!(
            out,
            "{}: {}, {}, {}, {} failed",
            if self.ok { "verified" } else { "NOT VERIFIED" },
            crate::text::count(self.periods.len(), "period", "periods"),
            crate::text::count(self.links.len(), "link", "links"),
            crate::text::count(checks, "check", "checks"),
            failed
        )?;
        if let Some(f) = &self.first_failure {
            writeln!(out, "first failure: {}: {}", f.file, f.detail)?;
        }
        Ok(())
    }
}

fn write_link(out: &mut impl Write, l: &Link, mark: &str) -> std::io::Result<()> {
    writeln!(
        out,
        "link {} -> {}: {} {}",
        l.from,
        l.to,
        mark.trim_end(),
        l.file
    )?;
    writeln!(out, "       {}", l.detail)
}

struct PeriodChecks {
    dir: PathBuf,
    checks: Vec<Check>,
}

impl PeriodChecks {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn shown(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
    fn ok(&mut self, kind: CheckKind, file: String, detail: String) {
        self.checks.push(Check {
            kind,
            file,
            ok: true,
            problem: None,
            expected: None,
            actual: None,
            detail,
        });
    }
    fn fail(
        &mut self,
        kind: CheckKind,
        file: String,
        problem: Problem,
        diff: Option<(String, String)>,
        detail: String,
    ) {
        let (expected, actual) = diff.unzip();
        self.checks.push(Check {
            kind,
            file,
            ok: false,
            problem: Some(problem),
            expected,
            actual,
            detail,
        });
    }
}

/// One line of `SHA256SUMS`.
struct Entry {
    line: usize,
    sha256: String,
    name: String,
}

fn verify_period(dir: &Path, opts: &Options) -> (PeriodReport, Option<EvidenceView>) {
    let mut p = PeriodChecks {
        dir: dir.to_path_buf(),
        checks: Vec::new(),
    };
    let entries = check_sums_file(&mut p);
    let actual: Vec<Result<String, std::io::Error>> = entries
        .iter()
        .map(|e| sha256_file(&p.path(&e.name)))
        .collect();
    let attachments = read_attachments(&p.path(PDF));
    let pdf_intact = entries
        .iter()
        .zip(&actual)
        .any(|(e, a)| e.name == PDF && a.as_ref().is_ok_and(|a| same_hex(a, &e.sha256)));

    for (e, a) in entries.iter().zip(actual) {
        let shown = p.shown(&e.name);
        match a {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => p.fail(
                CheckKind::Sha256,
                shown,
                Problem::Missing,
                None,
                format!(
                    "listed in {SUMS} (line {}) but not in the folder; restore it from a backup of this period",
                    e.line
                ),
            ),
            Err(err) => p.fail(
                CheckKind::Sha256,
                shown,
                Problem::Unreadable,
                None,
                format!("cannot read it ({err}); check the file's permissions"),
            ),
            Ok(a) if same_hex(&a, &e.sha256) => {
                p.ok(CheckKind::Sha256, shown, format!("sha256 {a} as listed"))
            }
            Ok(a) => {
                // A data file identical to the copy inside an intact PDF is as mailproof wrote
                // it: then the line in SHA256SUMS is what changed.
                let attached = attachments.as_ref().ok().and_then(|list| {
                    list.iter()
                        .find(|x| x.name == e.name)
                        .map(|x| sha256_hex(&x.bytes))
                });
                if pdf_intact && attached.as_deref().is_some_and(|x| same_hex(x, &a)) {
                    p.fail(
                        CheckKind::Sha256,
                        p.shown(SUMS),
                        Problem::Mismatch,
                        Some((e.sha256.clone(), a.clone())),
                        format!(
                            "line {} lists {} with sha256 {}, but {} hashes to {a} and is identical to the copy attached to {PDF}: {SUMS} was changed; restore it from a backup (or run `sha256sum {} > {SUMS}` only if you have established the files are genuine)",
                            e.line, e.name, e.sha256, e.name,
                            ARTIFACTS.iter().filter(|f| p.path(f).exists()).copied().collect::<Vec<_>>().join(" ")
                        ),
                    );
                } else {
                    p.fail(
                        CheckKind::Sha256,
                        shown,
                        Problem::Mismatch,
                        Some((e.sha256.clone(), a.clone())),
                        format!(
                            "{SUMS} lists sha256 {}, the file hashes to {a}: it was changed after mailproof wrote it (or that line of {SUMS} was); restore the original from a backup{}",
                            e.sha256,
                            if e.name == PDF {
                                String::new()
                            } else {
                                format!(" — {PDF} carries the original as an attachment")
                            }
                        ),
                    );
                }
            }
        }
    }

    let listed: BTreeSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for name in ARTIFACTS {
        if !listed.contains(name) && p.path(name).exists() {
            p.fail(
                CheckKind::Unlisted,
                p.shown(name),
                Problem::NotListed,
                None,
                format!(
                    "{name} is in the folder but {SUMS} does not list it, so nothing vouches for it; mailproof lists every file it writes — find out who added it"
                ),
            );
        }
    }

    check_attachments(&mut p, &entries, attachments);

    let evidence = read_evidence(&mut p);
    if let Some(ev) = &evidence {
        check_snapshots(&mut p, ev, opts);
    }

    let period = evidence
        .as_ref()
        .map(|e| e.period.label.clone())
        .or_else(|| dir_label(dir))
        .unwrap_or_else(|| dir.display().to_string());
    let ok = p.checks.iter().all(|c| c.ok);
    (
        PeriodReport {
            period,
            dir: dir.display().to_string(),
            ok,
            checks: p.checks,
        },
        evidence,
    )
}

fn dir_label(dir: &Path) -> Option<String> {
    dir.canonicalize()
        .ok()
        .as_deref()
        .unwrap_or(dir)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

/// Reads and parses `SHA256SUMS` (`sha256sum` output: `<hex>  <name>` or `<hex> *<name>`),
/// recording a check for the file itself; the well-formed lines come back.
fn check_sums_file(p: &mut PeriodChecks) -> Vec<Entry> {
    let shown = p.shown(SUMS);
    let bytes = match read_limited(&p.path(SUMS)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            p.fail(
                CheckKind::Sha256sums,
                shown,
                Problem::Missing,
                None,
                format!(
                    "{SUMS} is missing, so nothing in the folder can be checked against it; restore it from a backup of this period"
                ),
            );
            return Vec::new();
        }
        Err(e) => {
            p.fail(
                CheckKind::Sha256sums,
                shown,
                Problem::Unreadable,
                None,
                format!("cannot read it ({e}); check the file's permissions"),
            );
            return Vec::new();
        }
    };
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        match parse_sums_line(raw) {
            Ok((sha256, name)) => entries.push(Entry {
                line: i + 1,
                sha256,
                name,
            }),
            Err(why) => bad.push(format!("line {}: {why}", i + 1)),
        }
    }
    if entries.is_empty() && bad.is_empty() {
        bad.push("lists no file".into());
    }
    if bad.is_empty() {
        p.ok(
            CheckKind::Sha256sums,
            shown,
            format!("{} files listed", entries.len()),
        );
    } else {
        p.fail(
            CheckKind::Sha256sums,
            shown,
            Problem::Malformed,
            None,
            format!(
                "{}; mailproof writes one `<sha256>  <file name>` line per file, so {SUMS} was changed: restore it from a backup of this period",
                bad.join("; ")
            ),
        );
    }
    entries
}

fn parse_sums_line(raw: &[u8]) -> Result<(String, String), String> {
    let text = std::str::from_utf8(raw).map_err(|_| "not UTF-8 text".to_string())?;
    let (hash, rest) = text
        .split_at_checked(64)
        .ok_or_else(|| format!("{text:?} is not `<sha256>  <file name>`"))?;
    if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{hash:?} is not a SHA-256 in hex"));
    }
    let name = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))
        .ok_or_else(|| format!("{text:?} is not `<sha256>  <file name>`"))?;
    if !is_plain_name(name) {
        return Err(format!("{name:?} is not the name of a file in this folder"));
    }
    Ok((hash.to_ascii_lowercase(), name.to_string()))
}

/// A bare file name: no folder part, so a listing or an attachment can never make `verify`
/// read outside the period folder.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with(char::is_whitespace)
}

/// A file carried inside the PDF: the copy the report was rendered with, which is what the
/// files beside it are compared against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

fn read_attachments(pdf: &Path) -> Result<Vec<Attachment>, String> {
    let bytes = read_limited(pdf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "missing".to_string()
        } else {
            e.to_string()
        }
    })?;
    pdf_attachments(&bytes).map_err(|e| e.0)
}

fn check_attachments(
    p: &mut PeriodChecks,
    entries: &[Entry],
    attachments: Result<Vec<Attachment>, String>,
) {
    let pdf_shown = p.shown(PDF);
    let attachments = match attachments {
        Ok(a) => a,
        Err(why) => {
            let missing = why == "missing";
            p.fail(
                CheckKind::Attachment,
                pdf_shown,
                if missing {
                    Problem::Missing
                } else {
                    Problem::Unreadable
                },
                None,
                if missing {
                    format!(
                        "{PDF} is missing, so the files it carries cannot be compared; restore it from a backup of this period"
                    )
                } else {
                    format!(
                        "cannot read the files attached to {PDF} ({why}); it is damaged or not the PDF mailproof wrote: restore it from a backup of this period"
                    )
                },
            );
            return;
        }
    };
    for a in &attachments {
        if !is_plain_name(&a.name) {
            p.fail(
                CheckKind::Attachment,
                pdf_shown.clone(),
                Problem::Malformed,
                None,
                format!(
                    "{PDF} carries an attachment named {:?}, which mailproof never writes; the PDF was altered: restore it from a backup",
                    a.name
                ),
            );
            continue;
        }
        let shown = p.shown(&a.name);
        let inside = sha256_hex(&a.bytes);
        match sha256_file(&p.path(&a.name)) {
            Ok(beside) if same_hex(&beside, &inside) => p.ok(
                CheckKind::Attachment,
                shown,
                format!("identical to the copy attached to {PDF} (sha256 {inside})"),
            ),
            Ok(beside) => p.fail(
                CheckKind::Attachment,
                shown,
                Problem::AttachmentDiffers,
                Some((inside.clone(), beside.clone())),
                format!(
                    "differs from the copy attached to {PDF}: attached sha256 {inside}, file sha256 {beside}; the attached copy is what the report was made from — extract it with a PDF tool to restore the file, or restore both from a backup"
                ),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => p.fail(
                CheckKind::Attachment,
                shown,
                Problem::Missing,
                Some((inside.clone(), String::new())),
                format!(
                    "{PDF} carries {} (sha256 {inside}) but the file is not beside it; extract the attached copy with a PDF tool, or restore it from a backup",
                    a.name
                ),
            ),
            Err(e) => p.fail(
                CheckKind::Attachment,
                shown,
                Problem::Unreadable,
                None,
                format!("cannot read it ({e}); check the file's permissions"),
            ),
        }
    }
    for e in entries.iter().filter(|e| e.name != PDF) {
        let shown = p.shown(&e.name);
        if attachments.iter().any(|a| a.name == e.name) {
            p.ok(CheckKind::Attached, shown, format!("attached to {PDF}"));
        } else {
            p.fail(
                CheckKind::Attached,
                shown,
                Problem::NotAttached,
                None,
                format!(
                    "listed in {SUMS} but not attached to {PDF}, which carries every data file mailproof writes; one of the two was replaced: restore the period from a backup"
                ),
            );
        }
    }
}

fn read_evidence(p: &mut PeriodChecks) -> Option<EvidenceView> {
    let shown = p.shown(EVIDENCE);
    let fail = |p: &mut PeriodChecks, problem, detail: String| {
        p.fail(CheckKind::Evidence, shown.clone(), problem, None, detail);
        None
    };
    let bytes = match read_limited(&p.path(EVIDENCE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(
                p,
                Problem::Missing,
                format!(
                    "{EVIDENCE} is missing, so the snapshots and the chain cannot be checked; restore it from a backup (or extract the copy attached to {PDF})"
                ),
            );
        }
        Err(e) => {
            return fail(
                p,
                Problem::Unreadable,
                format!("cannot read it ({e}); check the file's permissions"),
            );
        }
    };
    let view: EvidenceView = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                p,
                Problem::Malformed,
                format!(
                    "not a readable evidence document ({e}), so the snapshots and the chain cannot be checked; restore it from a backup (or extract the copy attached to {PDF})"
                ),
            );
        }
    };
    if !view.schema.starts_with("mailproof.evidence/") {
        return fail(
            p,
            Problem::Malformed,
            format!(
                "its schema is {:?}, not mailproof.evidence/…; this is not a mailproof evidence document",
                view.schema
            ),
        );
    }
    // Folders are named by period, and the chain finds them by name: a period's files in
    // another period's folder would be checked against the wrong neighbours.
    if let Some(folder) = dir_label(&p.dir).filter(|f| is_month(f))
        && folder != view.period.label
    {
        p.fail(
            CheckKind::Evidence,
            shown,
            Problem::Mismatch,
            Some((folder.clone(), view.period.label.clone())),
            format!(
                "the folder is named {folder} but holds the evidence of period {}; put the files back in the folder of their period",
                view.period.label
            ),
        );
        return Some(view);
    }
    p.ok(
        CheckKind::Evidence,
        shown,
        format!("{} for period {}", view.schema, view.period.label),
    );
    Some(view)
}

fn check_snapshots(p: &mut PeriodChecks, ev: &EvidenceView, opts: &Options) {
    let mut seen = BTreeSet::new();
    let named = ev
        .snapshot
        .iter()
        .chain(ev.previous.as_ref().and_then(|x| x.snapshot.as_ref()))
        .chain(&ev.snapshots_used)
        .filter(|s| seen.insert((s.path.clone(), s.sha256.to_ascii_lowercase())));
    for s in named {
        let recorded = Path::new(&s.path);
        let moved = opts
            .snapshots
            .as_ref()
            .zip(recorded.file_name())
            .map(|(d, n)| d.join(n))
            .filter(|c| c.is_file());
        let path = match moved {
            Some(c) => c,
            None if recorded.is_absolute() => recorded.to_path_buf(),
            None => match &ev.input_root {
                Some(root) => p.dir.join(root).join(recorded),
                None => {
                    p.fail(
                        CheckKind::Snapshot,
                        s.path.clone(),
                        Problem::Unverifiable,
                        None,
                        format!(
                            "{EVIDENCE} was written by an older mailproof that did not record input_root, so the relative path {} cannot be found from here; pass --snapshots DIR (the folder holding the snapshot files)",
                            s.path
                        ),
                    );
                    continue;
                }
            },
        };
        let shown = path.display().to_string();
        match sha256_file(&path) {
            Ok(a) if same_hex(&a, &s.sha256) => p.ok(
                CheckKind::Snapshot,
                shown,
                format!("sha256 {a} as recorded for {}", s.path),
            ),
            Ok(a) => p.fail(
                CheckKind::Snapshot,
                shown,
                Problem::Mismatch,
                Some((s.sha256.to_ascii_lowercase(), a.clone())),
                format!(
                    "{EVIDENCE} records sha256 {} for {}, the file hashes to {a}: the snapshot was changed after the assessment; restore it from a backup",
                    s.sha256, s.path
                ),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => p.fail(
                CheckKind::Snapshot,
                shown,
                Problem::Missing,
                Some((s.sha256.to_ascii_lowercase(), String::new())),
                format!(
                    "the snapshot {} ({EVIDENCE} records sha256 {}) is not there; restore it, or if the snapshot files were moved pass --snapshots DIR to look them up by file name",
                    s.path, s.sha256
                ),
            ),
            Err(e) => p.fail(
                CheckKind::Snapshot,
                shown,
                Problem::Unreadable,
                None,
                format!("cannot read it ({e}); check the file's permissions"),
            ),
        }
    }
}

/// Checks the link from period `label` (in `dir`) to the previous period, and returns the
/// previous period's folder when the walk can go on.
fn follow(
    dir: &Path,
    label: &str,
    prev: &PreviousView,
    visited: &BTreeSet<PathBuf>,
) -> (Link, Option<PathBuf>) {
    let mut link = Link {
        from: label.to_string(),
        to: prev.period.clone(),
        file: String::new(),
        ok: false,
        problem: None,
        expected: prev.sha256.as_ref().map(|s| s.to_ascii_lowercase()),
        actual: None,
        detail: String::new(),
    };
    if !is_month(&prev.period) || prev.period.as_str() >= label {
        link.problem = Some(Problem::Malformed);
        link.file = dir.join(EVIDENCE).display().to_string();
        link.detail = format!(
            "{EVIDENCE} names {:?} as the previous period, which is not a month before {label}; the evidence was altered",
            prev.period
        );
        return (link, None);
    }
    let prev_dir = sibling(dir, &prev.period);
    let file = prev_dir.join(EVIDENCE);
    link.file = file.display().to_string();
    if visited.contains(&prev_dir.canonicalize().unwrap_or_else(|_| prev_dir.clone())) {
        link.problem = Some(Problem::Malformed);
        link.detail = format!(
            "{} was already verified: the chain loops",
            prev_dir.display()
        );
        return (link, None);
    }
    let actual = match sha256_file(&file) {
        Ok(a) => a,
        Err(e) => {
            let missing = e.kind() == std::io::ErrorKind::NotFound;
            link.problem = Some(if missing {
                Problem::Missing
            } else {
                Problem::Unreadable
            });
            link.detail = if missing {
                format!(
                    "{label}'s evidence names period {}, whose evidence.json is not at {}; the chain walks sibling folders of the output folder: restore {} (or copy it back beside {})",
                    prev.period,
                    link.file,
                    prev_dir.display(),
                    dir.display()
                )
            } else {
                format!("cannot read it ({e}); check the file's permissions")
            };
            return (link, prev_dir.is_dir().then_some(prev_dir));
        }
    };
    link.actual = Some(actual.clone());
    match &prev.sha256 {
        None => {
            link.problem = Some(Problem::Unverifiable);
            link.detail = format!(
                "{label}'s evidence.json was written by an older mailproof that did not record previous.sha256, so nothing vouches that {} is the evidence {label} was assessed against; its own files are checked below",
                link.file
            );
        }
        Some(expected) if same_hex(expected, &actual) => {
            link.ok = true;
            link.detail = format!("sha256 {actual} as recorded in {label}'s previous.sha256");
        }
        Some(expected) => {
            link.problem = Some(Problem::Mismatch);
            link.detail = format!(
                "{label}'s evidence records previous.sha256 {expected}, but {} hashes to {actual}: period {}'s evidence was changed or re-generated after {label} was assessed; restore the original from a backup",
                link.file, prev.period
            );
        }
    }
    (link, Some(prev_dir))
}

/// The folder of period `label` beside `dir` (`out/2026-10` → `out/2026-09`), written so the
/// user recognizes it: lexically when `dir` ends in a name, from the real path otherwise
/// (`.`, `..`).
fn sibling(dir: &Path, label: &str) -> PathBuf {
    if dir.file_name().is_some()
        && let Some(parent) = dir.parent()
    {
        return parent.join(label);
    }
    match dir
        .canonicalize()
        .ok()
        .and_then(|d| d.parent().map(Path::to_path_buf))
    {
        Some(parent) => parent.join(label),
        None => dir.join("..").join(label),
    }
}

/// The path leading from folder `from` to `to` (both absolute, free of `.`/`..`), so that
/// evidence can say where its inputs are in a way that survives moving the whole tree; `None`
/// when they share no root (e.g. two Windows drives).
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    if !from.is_absolute() || !to.is_absolute() || a.first() != b.first() {
        return None;
    }
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Some(out)
}

fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(
            &s[5..],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        )
}

fn same_hex(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Streams the file through SHA-256 (any size: snapshots and PDFs are not held in memory).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = open_regular(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// Opens a regular file only: a folder, a FIFO or a device named by hostile evidence
/// (`/dev/zero` as a snapshot) would otherwise block or never end.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    std::fs::File::open(path)
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = open_regular(path)?;
    let mut bytes = Vec::new();
    f.take(MAX_READ_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_READ_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB, far beyond any file mailproof writes",
            MAX_READ_BYTES >> 20
        )));
    }
    Ok(bytes)
}

/// The embedded files of a PDF (PDF/A-3 attachments): the catalog's `/Names /EmbeddedFiles`
/// name tree and its `/AF` array, each file's content decompressed. A damaged or hostile PDF
/// gives an error, never a panic: the parser runs under `catch_unwind` as a last guard, and
/// every walk is bounded.
pub fn pdf_attachments(pdf: &[u8]) -> Result<Vec<Attachment>, PdfError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| attachments_inner(pdf)))
        .unwrap_or_else(|_| Err("the PDF parser gave up on this file".into()))
        .map_err(PdfError)
}

/// Why the attachments of a PDF could not be read: the file is damaged, or is not the PDF
/// mailproof wrote. The text says which structure was at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PdfError(pub String);

fn attachments_inner(pdf: &[u8]) -> Result<Vec<Attachment>, String> {
    use lopdf::{Document, LoadOptions, Object};
    let doc = Document::load_mem_with_options(
        pdf,
        LoadOptions {
            max_decompressed_size: Some(MAX_ATTACHMENT_BYTES),
            ..LoadOptions::default()
        },
    )
    .map_err(|e| format!("not a readable PDF: {e}"))?;
    let catalog = doc
        .catalog()
        .map_err(|e| format!("no document catalog: {e}"))?;

    let mut specs: Vec<Spec<'_>> = Vec::new();
    if let Ok(names) = catalog.get_deref(b"Names", &doc).and_then(Object::as_dict)
        && let Ok(tree) = names.get(b"EmbeddedFiles")
    {
        let mut budget = MAX_NAME_TREE_NODES;
        let mut seen = BTreeSet::new();
        walk_name_tree(&doc, tree, 0, &mut budget, &mut seen, &mut specs)?;
    }
    if let Ok(af) = catalog.get_deref(b"AF", &doc).and_then(Object::as_array) {
        for item in af.iter().take(MAX_NAME_TREE_NODES) {
            let (id, obj) = doc
                .dereference(item)
                .map_err(|e| format!("broken /AF entry: {e}"))?;
            let dict = obj
                .as_dict()
                .map_err(|e| format!("/AF entry is not a file specification: {e}"))?;
            specs.push((id, dict, None));
        }
    }

    let mut seen_ids = BTreeSet::new();
    let mut out: Vec<Attachment> = Vec::new();
    for (id, spec, key) in specs {
        if let Some(id) = id
            && !seen_ids.insert(id)
        {
            continue;
        }
        let name = ["UF", "F"]
            .iter()
            .find_map(|k| spec.get(k.as_bytes()).ok())
            .and_then(|o| lopdf::decode_text_string(o).ok())
            .or(key)
            .ok_or("an attachment has no file name")?;
        let ef = spec
            .get_deref(b"EF", &doc)
            .and_then(Object::as_dict)
            .map_err(|e| format!("attachment {name:?} has no embedded file: {e}"))?;
        let stream = ef
            .get_deref(b"UF", &doc)
            .or_else(|_| ef.get_deref(b"F", &doc))
            .and_then(Object::as_stream)
            .map_err(|e| format!("attachment {name:?} has no embedded file stream: {e}"))?;
        let bytes = stream
            .decompressed_content_with_limit(MAX_ATTACHMENT_BYTES)
            .map_err(|e| format!("attachment {name:?} cannot be decompressed: {e}"))?;
        let a = Attachment { name, bytes };
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

type Spec<'a> = (
    Option<lopdf::ObjectId>,
    &'a lopdf::Dictionary,
    Option<String>,
);

/// Collects the file specifications of a name tree (`/Names [key spec …]`, `/Kids [node …]`).
fn walk_name_tree<'a>(
    doc: &'a lopdf::Document,
    node: &'a lopdf::Object,
    depth: usize,
    budget: &mut usize,
    seen: &mut BTreeSet<lopdf::ObjectId>,
    out: &mut Vec<Spec<'a>>,
) -> Result<(), String> {
    use lopdf::Object;
    if depth > MAX_NAME_TREE_DEPTH || *budget == 0 {
        return Err("the attachment name tree is too deep or too large".into());
    }
    *budget -= 1;
    let (id, obj) = doc
        .dereference(node)
        .map_err(|e| format!("broken attachment name tree: {e}"))?;
    if let Some(id) = id
        && !seen.insert(id)
    {
        return Err("the attachment name tree loops".into());
    }
    let dict = obj
        .as_dict()
        .map_err(|e| format!("broken attachment name tree: {e}"))?;
    if let Ok(names) = dict.get_deref(b"Names", doc).and_then(Object::as_array) {
        for pair in names.chunks(2) {
            let [key, spec] = pair else {
                return Err("the attachment name tree has a name without a file".into());
            };
            let key = lopdf::decode_text_string(key).ok();
            let (sid, sobj) = doc
                .dereference(spec)
                .map_err(|e| format!("broken attachment entry: {e}"))?;
            let sdict = sobj
                .as_dict()
                .map_err(|e| format!("attachment entry is not a file specification: {e}"))?;
            out.push((sid, sdict, key));
        }
    }
    if let Ok(kids) = dict.get_deref(b"Kids", doc).and_then(Object::as_array) {
        for kid in kids {
            walk_name_tree(doc, kid, depth + 1, budget, seen, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{Dictionary, Document, Object, Stream, dictionary};
    use serde_json::json;

    /// A PDF carrying `files` the way PDF/A-3 does: a `/Names /EmbeddedFiles` tree (split into
    /// one leaf per file under `/Kids` when `kids`) and the catalog's `/AF`, each file
    /// Flate-compressed; with `modern`, objects are packed into object streams.
    fn pdf_with(files: &[(&str, &[u8])], kids: bool, modern: bool) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let mut pairs = Vec::new();
        let mut af = Vec::new();
        for (name, bytes) in files {
            let mut s = Stream::new(dictionary! { "Type" => "EmbeddedFile" }, bytes.to_vec());
            s.compress().unwrap();
            let sid = doc.add_object(s);
            let spec = doc.add_object(dictionary! {
                "Type" => "Filespec",
                "F" => Object::string_literal(*name),
                "UF" => lopdf::text_string(name),
                "EF" => dictionary! { "F" => sid, "UF" => sid },
                "AFRelationship" => "Data",
            });
            pairs.push((lopdf::text_string(name), spec));
            af.push(Object::from(spec));
        }
        let tree: Dictionary = if kids {
            let leaves: Vec<Object> = pairs
                .into_iter()
                .map(|(k, spec)| {
                    Object::from(doc.add_object(dictionary! {
                        "Names" => vec![k.clone(), spec.into()],
                        "Limits" => vec![k.clone(), k],
                    }))
                })
                .collect();
            dictionary! { "Kids" => leaves }
        } else {
            dictionary! {
                "Names" => pairs.into_iter().flat_map(|(k, s)| [k, s.into()]).collect::<Vec<Object>>(),
            }
        };
        let tree = doc.add_object(tree);
        let pages = doc.add_object(dictionary! {
            "Type" => "Pages", "Kids" => Vec::<Object>::new(), "Count" => 0,
        });
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages,
            "Names" => dictionary! { "EmbeddedFiles" => tree },
            "AF" => af,
        });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        if modern {
            doc.save_modern(&mut out).unwrap();
        } else {
            doc.save_to(&mut out).unwrap();
        }
        out
    }

    fn names(pdf: &[u8]) -> Vec<(String, Vec<u8>)> {
        attachments_inner(pdf)
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.bytes))
            .collect()
    }

    #[test]
    fn attachments_are_found_whatever_the_layout() {
        let json = br#"{"schema":"mailproof.evidence/1"}"#.repeat(50);
        let csv = b"id,title\nDMARC-001:x,\"a, b\"\n".repeat(40);
        let want = vec![
            ("evidence.json".to_string(), json.clone()),
            ("findings.csv".to_string(), csv.clone()),
        ];
        for (kids, modern) in [(false, false), (true, false), (false, true), (true, true)] {
            let pdf = pdf_with(
                &[("evidence.json", &json), ("findings.csv", &csv)],
                kids,
                modern,
            );
            assert_eq!(pdf.windows(6).any(|w| w == b"ObjStm"), modern);
            // Compressed: the content is not in the file as written.
            assert!(!pdf.windows(20).any(|w| w == &json[..20]));
            // The name tree and /AF point at the same specifications: each file once.
            assert_eq!(names(&pdf), want, "kids={kids} modern={modern}");
        }
        assert!(names(&pdf_with(&[], false, false)).is_empty());
    }

    #[test]
    fn a_damaged_pdf_is_an_error_not_a_panic() {
        let pdf = pdf_with(
            &[("evidence.json", b"{}"), ("findings.csv", b"a\n")],
            true,
            true,
        );
        for bad in [
            &b""[..],
            b"%PDF-1.7\n",
            b"not a pdf at all",
            b"%PDF-1.7\n%%EOF\n",
        ] {
            assert!(attachments_inner(bad).is_err());
        }
        // Every truncation and a flipped byte at every position: Ok or Err, never a panic.
        for cut in 0..pdf.len() {
            let _ = attachments_inner(&pdf[..cut]);
            let mut flipped = pdf.clone();
            flipped[cut] ^= 0x20;
            let _ = attachments_inner(&flipped);
        }
    }

    /// The PDF as Typst writes it: attachments found and identical to what was attached; the
    /// same file damaged anywhere (flipped bytes, truncated) gives Ok or Err, never a panic.
    #[test]
    fn typst_output_attachments_and_damage() {
        let e = crate::evidence::tests_support::evidence_with(vec![], "2026-10");
        let csv = b"id,title\nX-001:a,t\n".to_vec();
        let pdf = crate::render::pdf::render_pdf(&e, &csv, None).unwrap();
        let got = names(&pdf);
        assert_eq!(
            got,
            [
                (EVIDENCE.to_string(), crate::render::evidence_json(&e)),
                ("findings.csv".to_string(), csv),
                ("poam.csv".to_string(), crate::render::poam_csv(&e)),
            ]
        );
        let n = pdf.len();
        for i in 0..400 {
            let at = (i * 7919 + i * i * 31) % n;
            let mut bad = pdf.clone();
            bad[at] ^= 0x55;
            let _ = attachments_inner(&bad);
            let _ = attachments_inner(&pdf[..(i * n / 400)]);
        }
    }

    #[test]
    fn a_name_tree_that_loops_or_is_malformed_is_refused() {
        let mut doc = Document::with_version("1.7");
        let node = doc.new_object_id();
        doc.objects.insert(
            node,
            Object::Dictionary(dictionary! { "Kids" => vec![Object::from(node)] }),
        );
        let odd = doc.add_object(dictionary! { "Names" => vec![lopdf::text_string("x")] });
        let pages = doc.add_object(
            dictionary! { "Type" => "Pages", "Kids" => Vec::<Object>::new(), "Count" => 0 },
        );
        for tree in [node, odd] {
            let catalog = doc.add_object(dictionary! {
                "Type" => "Catalog", "Pages" => pages,
                "Names" => dictionary! { "EmbeddedFiles" => tree },
            });
            doc.trailer.set("Root", catalog);
            let mut out = Vec::new();
            doc.save_to(&mut out).unwrap();
            assert!(attachments_inner(&out).is_err());
            assert!(pdf_attachments(&out).is_err());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Random damage anywhere (several bytes at once) never panics the attachment reader.
        #[test]
        fn damaged_pdfs_never_panic(edits in proptest::collection::vec((0usize..1_000_000, proptest::prelude::any::<u8>()), 1..8)) {
            let pdf = pdf_with(&[("evidence.json", b"{\"a\":1}"), ("findings.csv", b"id\n")], true, true);
            let mut bad = pdf.clone();
            for (at, b) in edits {
                let i = at % bad.len();
                bad[i] = b;
            }
            let _ = attachments_inner(&bad);
        }
    }

    #[test]
    fn sums_lines() {
        let h = "ab".repeat(32);
        assert_eq!(
            parse_sums_line(format!("{h}  report.pdf").as_bytes()),
            Ok((h.clone(), "report.pdf".into()))
        );
        assert_eq!(
            parse_sums_line(format!("{}  x.csv", h.to_uppercase()).as_bytes()),
            Ok((h.clone(), "x.csv".into()))
        );
        assert!(parse_sums_line(format!("{h} *report.pdf").as_bytes()).is_ok());
        for bad in [
            format!("{h} report.pdf"),
            format!("{h}  ../2026-09/evidence.json"),
            format!("{h}  /etc/passwd"),
            format!("{h}  "),
            format!("{}g  report.pdf", &h[..63]),
            "short  report.pdf".into(),
            "é".repeat(40),
        ] {
            assert!(parse_sums_line(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_sums_line(b"\xff\xfe").is_err());
    }

    #[test]
    fn relative_paths() {
        let r = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b));
        assert_eq!(
            r("/w/out/2026-10", "/w/samples"),
            Some("../../samples".into())
        );
        assert_eq!(r("/w/out/2026-10", "/w"), Some("../..".into()));
        assert_eq!(
            r("/w/samples/out/2026-10", "/w/samples"),
            Some("../..".into())
        );
        assert_eq!(r("/w", "/w"), Some(".".into()));
        assert_eq!(r("/", "/etc/mailproof"), Some("etc/mailproof".into()));
        assert_eq!(r("w/out", "/w"), None);
    }

    #[test]
    fn months() {
        assert!(is_month("2026-09"));
        for bad in [
            "2026-13", "2026-00", "../2026", "2026-9", "20260-09", "2026/09", "",
        ] {
            assert!(!is_month(bad), "{bad}");
        }
    }

    // ---- whole period folders, with PDFs made by lopdf (no Typst needed) ----

    struct World {
        root: tempfile::TempDir,
    }

    impl World {
        fn new() -> World {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(root.path().join("cfg/snapshots")).unwrap();
            std::fs::create_dir_all(root.path().join("out")).unwrap();
            World { root }
        }
        fn snapshot(&self, name: &str, body: &str) -> serde_json::Value {
            let p = self.root.path().join("cfg/snapshots").join(name);
            std::fs::write(&p, body).unwrap();
            json!({ "path": format!("snapshots/{name}"), "taken_at": "2026-10-01T11:00:00Z",
                    "sha256": sha256_file(&p).unwrap(), "selection": "test", "nameservers": [] })
        }
        fn dir(&self, label: &str) -> PathBuf {
            self.root.path().join("out").join(label)
        }
        fn sha(&self, label: &str) -> String {
            sha256_file(&self.dir(label).join(EVIDENCE)).unwrap()
        }
        /// Writes a period folder as `run` would: evidence, findings, a PDF attaching both,
        /// SHA256SUMS.
        fn period(&self, evidence: serde_json::Value) -> PathBuf {
            let label = evidence["period"]["label"].as_str().unwrap().to_string();
            let dir = self.dir(&label);
            std::fs::create_dir_all(&dir).unwrap();
            let json = serde_json::to_vec_pretty(&evidence).unwrap();
            let csv = format!("id,title\nX-001:{label},t\n").into_bytes();
            let pdf = pdf_with(&[(EVIDENCE, &json), ("findings.csv", &csv)], false, false);
            let mut sums = String::new();
            for (name, bytes) in [(EVIDENCE, &json), ("findings.csv", &csv), (PDF, &pdf)] {
                std::fs::write(dir.join(name), bytes).unwrap();
                sums.push_str(&format!("{}  {name}\n", sha256_hex(bytes)));
            }
            std::fs::write(dir.join(SUMS), sums).unwrap();
            dir
        }
        fn evidence(
            &self,
            label: &str,
            previous: Option<serde_json::Value>,
            snap: &serde_json::Value,
        ) -> serde_json::Value {
            json!({
                "schema": "mailproof.evidence/1", "period": { "label": label },
                "snapshot": snap, "previous": previous, "input_root": "../../cfg",
                "snapshots_used": [snap],
            })
        }
        /// Three chained periods, 2026-08 to 2026-10.
        fn chain(&self) -> PathBuf {
            let s = self.snapshot("a.json", "{\"a\":1}\n");
            self.period(self.evidence("2026-08", None, &s));
            let prev = json!({ "period": "2026-08", "evidence": "out/2026-08/evidence.json",
                               "sha256": self.sha("2026-08"), "snapshot": s });
            self.period(self.evidence("2026-09", Some(prev), &s));
            let prev = json!({ "period": "2026-09", "evidence": "out/2026-09/evidence.json",
                               "sha256": self.sha("2026-09") });
            self.period(self.evidence("2026-10", Some(prev), &s))
        }
    }

    fn chain() -> Options {
        Options {
            chain: true,
            snapshots: None,
        }
    }

    fn first(r: &Report) -> &Failure {
        r.first_failure.as_ref().expect("a failure")
    }

    #[test]
    fn a_chain_of_three_verifies() {
        let w = World::new();
        let dir = w.chain();
        let r = verify(&dir, &chain()).unwrap();
        assert!(r.ok, "{r:#?}");
        let labels: Vec<&str> = r.periods.iter().map(|p| p.period.as_str()).collect();
        assert_eq!(labels, ["2026-10", "2026-09", "2026-08"]);
        assert_eq!(r.links.len(), 2);
        assert!(r.links.iter().all(|l| l.ok));
        assert_eq!(r.first_period.as_deref(), Some("2026-08"));
        // Without --chain only the folder given.
        let r = verify(&dir, &Options::default()).unwrap();
        assert!(r.ok && r.periods.len() == 1 && r.links.is_empty());
        assert_eq!(r.first_period, None);
        // The text report says so.
        let mut text = Vec::new();
        verify(&dir, &chain())
            .unwrap()
            .write_text(&mut text)
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("link 2026-10 -> 2026-09: ok"), "{text}");
        assert!(text.starts_with("period 2026-10"), "{text}");
        assert!(text.contains("verified: 3 periods, 2 links"), "{text}");
    }

    #[test]
    fn evidence_from_before_the_chain_is_unverifiable_not_a_pass() {
        let w = World::new();
        let s = w.snapshot("a.json", "{}\n");
        w.period(w.evidence("2026-09", None, &s));
        // Written by an older mailproof: previous without sha256.
        let prev = json!({ "period": "2026-09", "evidence": "out/2026-09/evidence.json" });
        let dir = w.period(w.evidence("2026-10", Some(prev), &s));
        let r = verify(&dir, &chain()).unwrap();
        assert!(!r.ok);
        assert_eq!(r.links.len(), 1);
        assert_eq!(r.links[0].problem, Some(Problem::Unverifiable));
        assert_eq!(first(&r).kind, CheckKind::Link);
        assert!(first(&r).file.ends_with("2026-09/evidence.json"));
        // The earlier period's own files are still checked.
        assert_eq!(r.periods.len(), 2);
        assert!(r.periods.iter().all(|p| p.ok));
    }

    #[test]
    fn snapshots_without_input_root_need_the_snapshots_option() {
        let w = World::new();
        let s = w.snapshot("a.json", "{}\n");
        let mut ev = w.evidence("2026-10", None, &s);
        ev.as_object_mut().unwrap().remove("input_root");
        let dir = w.period(ev);
        let r = verify(&dir, &Options::default()).unwrap();
        assert_eq!(first(&r).problem, Some(Problem::Unverifiable));
        assert!(first(&r).detail.contains("--snapshots"));
        let opts = Options {
            chain: false,
            snapshots: Some(w.root.path().join("cfg/snapshots")),
        };
        assert!(verify(&dir, &opts).unwrap().ok);
        // A damaged snapshot found there is still caught.
        std::fs::write(w.root.path().join("cfg/snapshots/a.json"), "{ }\n").unwrap();
        let r = verify(&dir, &opts).unwrap();
        assert_eq!(first(&r).kind, CheckKind::Snapshot);
        assert_eq!(first(&r).problem, Some(Problem::Mismatch));
    }

    #[test]
    fn a_missing_snapshot_is_named_with_what_to_do() {
        let w = World::new();
        let dir = w.chain();
        std::fs::remove_file(w.root.path().join("cfg/snapshots/a.json")).unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        let f = first(&r);
        assert_eq!(
            (f.kind, f.problem),
            (CheckKind::Snapshot, Some(Problem::Missing))
        );
        assert!(
            f.file.ends_with("a.json") && f.detail.contains("--snapshots"),
            "{f:?}"
        );
    }

    #[test]
    fn unlisted_and_unattached_files_are_reported() {
        let w = World::new();
        let dir = w.chain();
        std::fs::write(dir.join("poam.csv"), "id\n").unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        assert_eq!(first(&r).problem, Some(Problem::NotListed));
        assert!(first(&r).file.ends_with("poam.csv"));
        // Listed now, but the PDF does not carry it.
        let mut sums = std::fs::read_to_string(dir.join(SUMS)).unwrap();
        sums.push_str(&format!("{}  poam.csv\n", sha256_hex(b"id\n")));
        std::fs::write(dir.join(SUMS), sums).unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        let f = first(&r);
        assert_eq!(
            (f.kind, f.problem),
            (CheckKind::Attached, Some(Problem::NotAttached))
        );
        assert!(f.file.ends_with("poam.csv"));
    }

    #[test]
    fn a_file_replaced_along_with_its_sums_line_differs_from_the_attachment() {
        let w = World::new();
        let dir = w.chain();
        let csv = b"id,title\nforged\n";
        std::fs::write(dir.join("findings.csv"), csv).unwrap();
        let sums = std::fs::read_to_string(dir.join(SUMS)).unwrap();
        let sums: String = sums
            .lines()
            .map(|l| {
                if l.ends_with("findings.csv") {
                    format!("{}  findings.csv\n", sha256_hex(csv))
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(dir.join(SUMS), sums).unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        let f = first(&r);
        assert_eq!(
            (f.kind, f.problem),
            (CheckKind::Attachment, Some(Problem::AttachmentDiffers))
        );
        assert!(f.file.ends_with("findings.csv"));
        assert_eq!(f.actual.as_deref(), Some(sha256_hex(csv).as_str()));
    }

    #[test]
    fn a_changed_sums_line_is_blamed_on_sha256sums() {
        let w = World::new();
        let dir = w.chain();
        let sums = std::fs::read_to_string(dir.join(SUMS)).unwrap();
        // The evidence.json line's first hex digit changed to another hex digit.
        let first_digit = if sums.starts_with('0') { "1" } else { "0" };
        std::fs::write(dir.join(SUMS), format!("{first_digit}{}", &sums[1..])).unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        let f = first(&r);
        assert_eq!(
            (f.kind, f.problem),
            (CheckKind::Sha256, Some(Problem::Mismatch))
        );
        assert!(f.file.ends_with(SUMS), "{f:?}");
        // A line that is not `<sha256>  <name>` at all.
        std::fs::write(
            dir.join(SUMS),
            format!("{}  ../../etc/passwd\n", "0".repeat(64)),
        )
        .unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        assert_eq!(first(&r).kind, CheckKind::Sha256sums);
        assert_eq!(first(&r).problem, Some(Problem::Malformed));
        // Gone altogether.
        std::fs::remove_file(dir.join(SUMS)).unwrap();
        let r = verify(&dir, &Options::default()).unwrap();
        assert_eq!(first(&r).problem, Some(Problem::Missing));
        assert!(first(&r).file.ends_with(SUMS));
    }

    #[test]
    fn hostile_previous_periods_end_the_walk() {
        let w = World::new();
        let s = w.snapshot("a.json", "{}\n");
        for (prev, problem) in [
            ("../../etc", Problem::Malformed),
            ("2026-10", Problem::Malformed), // itself: would loop
            ("2027-01", Problem::Malformed), // later than the period
            ("2026-07", Problem::Missing),   // no such folder
        ] {
            let p = json!({ "period": prev, "evidence": "x", "sha256": "00".repeat(32) });
            let dir = w.period(w.evidence("2026-10", Some(p), &s));
            let r = verify(&dir, &chain()).unwrap();
            assert_eq!(r.links.len(), 1, "{prev}");
            assert_eq!(r.links[0].problem, Some(problem), "{prev}");
            assert_eq!(r.periods.len(), 1, "{prev}");
        }
    }

    #[test]
    fn a_period_in_another_periods_folder_is_caught() {
        let w = World::new();
        let dir = w.chain();
        let moved = w.dir("2026-11");
        std::fs::rename(&dir, &moved).unwrap();
        let r = verify(&moved, &Options::default()).unwrap();
        let f = first(&r);
        assert_eq!(
            (f.kind, f.problem),
            (CheckKind::Evidence, Some(Problem::Mismatch))
        );
        assert_eq!(f.expected.as_deref(), Some("2026-11"));
        // Copied out for review under another name: fine.
        let review = w.dir("review");
        std::fs::rename(&moved, &review).unwrap();
        assert!(verify(&review, &Options::default()).unwrap().ok);
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_not_read() {
        let w = World::new();
        let s = json!({ "path": "/dev/zero", "sha256": "00".repeat(32) });
        let dir = w.period(w.evidence("2026-10", None, &s));
        let r = verify(&dir, &Options::default()).unwrap();
        let f = first(&r);
        assert_eq!(
            (f.kind, f.problem),
            (CheckKind::Snapshot, Some(Problem::Unreadable))
        );
    }

    #[test]
    fn requests_that_cannot_be_carried_out() {
        let w = World::new();
        let missing = w.root.path().join("nope");
        assert!(matches!(
            verify(&missing, &Options::default()),
            Err(VerifyError::NoSuchDir(_))
        ));
        assert!(matches!(
            verify(w.root.path(), &Options::default()),
            Err(VerifyError::NotAPeriod(_))
        ));
        let dir = w.chain();
        assert!(matches!(
            verify(&dir.join(SUMS), &Options::default()),
            Err(VerifyError::NotADir(_))
        ));
        let opts = Options {
            chain: false,
            snapshots: Some(missing),
        };
        assert!(matches!(
            verify(&dir, &opts),
            Err(VerifyError::SnapshotsDir(_))
        ));
    }

    #[test]
    fn json_shape() {
        let w = World::new();
        let dir = w.chain();
        std::fs::write(dir.join("findings.csv"), "changed\n").unwrap();
        let v = serde_json::to_value(verify(&dir, &chain()).unwrap()).unwrap();
        assert_eq!(v["ok"], false);
        let c = &v["periods"][0]["checks"][0];
        for k in [
            "kind", "file", "ok", "problem", "expected", "actual", "detail",
        ] {
            assert!(c.get(k).is_some(), "check lacks {k}: {c}");
        }
        for k in [
            "from", "to", "file", "ok", "problem", "expected", "actual", "detail",
        ] {
            assert!(v["links"][0].get(k).is_some(), "link lacks {k}");
        }
        let f = &v["first_failure"];
        assert_eq!(f["kind"], "sha256");
        assert_eq!(f["problem"], "mismatch");
        assert_eq!(f["period"], "2026-10");
        assert!(f["file"].as_str().unwrap().ends_with("findings.csv"));
    }
}

//! Ingesting a folder of report files into one deduplicated, period-filtered [`ReportSet`].
//!
//! Inputs are files or folders, read recursively in path order: single reports in any form
//! [`super::open`] recognizes, Unix mailboxes (streamed one message at a time, so a mailbox of
//! 100k messages never sits in memory) and Maildir folders (`cur/` and `new/`; `tmp/` holds
//! half-delivered messages and is skipped). Each accepted report is folded into the
//! [`super::aggregate`] as soon as it is parsed and keeps only its summary.
//!
//! One bad file never aborts the run: every file or archive member that yields no report
//! becomes a [`Rejected`] entry with its reason, which the assessment lists, because an
//! auditor must see which evidence was left out and why. Receivers resend reports and users
//! save the same email twice, so reports are deduplicated by reporter and id and by content.

use super::aggregate::AggregateBuilder;
use super::model::{AggregateReport, Duplicate, InputFile, Origin, Rejected, ReportSet};
use super::open::{self, ContentHash, DocFormat, Found, Kind, Limits};
use super::tls_model::TlsReport;
use super::{tlsrpt, xml};
use crate::period::Period;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Folder nesting followed under one input path.
const MAX_DIR_DEPTH: usize = 32;

pub use super::open::MAX_RUN_ROWS;

/// What one file (or in-memory byte string) yielded.
#[derive(Debug, Clone, PartialEq)]
pub struct BytesOutcome {
    pub kind: Kind,
    pub reports: Vec<AggregateReport>,
    pub rejected: Vec<Rejected>,
    /// SMTP TLS reports (RFC 8460) among the documents.
    pub tls_reports: Vec<TlsReport>,
}

/// A document that could be read: which kind of report it was.
enum Parsed {
    Aggregate(Box<AggregateReport>),
    Tls(TlsReport),
}

/// Every TLS-report failure detail kept across one run. Each costs a few hundred bytes; a real
/// month has hundreds, so this bounds only a flood of crafted reports, which past it are
/// rejected whole with this reason rather than read in part.
pub const MAX_RUN_TLS_DETAILS: usize = 200_000;

/// Opens and parses one file's bytes without touching the disk: the entry point for tests
/// and fuzzing. `name` is used as the origin's file name.
pub fn ingest_bytes(name: &str, bytes: &[u8]) -> BytesOutcome {
    ingest_bytes_with(name, bytes, &Limits::default())
}

/// [`ingest_bytes`] with explicit resource limits.
pub fn ingest_bytes_with(name: &str, bytes: &[u8], limits: &Limits) -> BytesOutcome {
    let mut reports = Vec::new();
    let mut rejected = Vec::new();
    let mut tls_reports = Vec::new();
    let kind = open::open_slice(name, bytes, limits, &mut |found| {
        let (outcome, hash) = read_found(found);
        match outcome {
            Ok(Parsed::Aggregate(report)) => reports.push(*report),
            Ok(Parsed::Tls(report)) => tls_reports.push(report),
            Err(r) => rejected.push(r),
        }
        hash
    });
    BytesOutcome {
        kind,
        reports,
        rejected,
        tls_reports,
    }
}

/// Reads one thing found in a file: a document becomes a report or a rejection naming the
/// cause; the document's hash is handed back when it was read to its end.
fn read_found(found: Found<'_>) -> (Result<Parsed, Rejected>, Option<ContentHash>) {
    match found {
        Found::Unusable { origin, error } => (
            Err(Rejected {
                file: origin.to_string(),
                reason: error.to_string(),
            }),
            None,
        ),
        // A bare JSON file is hashed by the caller as it streams past, so no hash is handed
        // back for it.
        Found::Document(doc) if doc.format == DocFormat::Json => {
            let max = doc.limits().max_total_bytes;
            let parsed = tlsrpt::read(doc.reader, &doc.origin, max);
            let late = doc.late_notes();
            let outcome = match parsed {
                Ok(mut report) => {
                    if !late.is_empty() {
                        let mut repairs = late;
                        repairs.append(&mut report.repairs);
                        report.repairs = repairs;
                    }
                    Ok(Parsed::Tls(report))
                }
                Err(e) => Err(Rejected {
                    file: doc.origin.to_string(),
                    reason: e.to_string(),
                }),
            };
            (outcome, None)
        }
        Found::Document(doc) => {
            let parsed = xml::parse_stream(doc.reader, &doc.origin, doc.whole_file);
            let late = doc.late_notes();
            let hash = (parsed.complete && doc.whole_file).then(|| ContentHash {
                sha256: parsed.sha256.clone(),
                bytes: parsed.bytes,
            });
            let outcome = match parsed.report {
                Ok(mut report) => {
                    if !late.is_empty() {
                        let mut repairs = late;
                        repairs.append(&mut report.repairs);
                        report.repairs = repairs;
                    }
                    Ok(Parsed::Aggregate(Box::new(report)))
                }
                Err(e) => Err(Rejected {
                    file: doc.origin.to_string(),
                    reason: e.to_string(),
                }),
            };
            (outcome, hash)
        }
    }
}

/// Where ingestion is, for a progress display: files done out of the total, and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub files_done: usize,
    pub files_total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub reports: usize,
    pub rejected: usize,
}

/// Reads every report file under `paths` (files or folders, recursively, hidden entries
/// skipped) in sorted path order, and keeps the unique reports that count toward `period`
/// ([`Period::counts_report`]: the period holds the midpoint of the report's range; all of
/// them when `period` is `None`), sorted by (begin, org_name, report_id).
///
/// Rows are folded into [`ReportSet::aggregate`] as each report is accepted and the reports
/// keep only their summaries, so memory stays flat however many files there are.
pub fn ingest(paths: &[PathBuf], period: Option<&Period>) -> ReportSet {
    ingest_with(paths, period, &Limits::default())
}

/// [`ingest`] with explicit resource limits.
pub fn ingest_with(paths: &[PathBuf], period: Option<&Period>, limits: &Limits) -> ReportSet {
    ingest_with_progress(paths, period, limits, &mut |_| {})
}

/// [`ingest_with`], calling `progress` after each file.
pub fn ingest_with_progress(
    paths: &[PathBuf],
    period: Option<&Period>,
    limits: &Limits,
    progress: &mut dyn FnMut(Progress),
) -> ReportSet {
    let mut set = ReportSet::default();
    let mut files = Vec::new();
    for path in paths {
        collect(path, 0, true, &mut files, &mut set.rejected);
    }
    files.sort();
    files.dedup();
    let tz: Tz = period
        .and_then(|p| p.timezone.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let mut state = Progress {
        files_total: files.len(),
        bytes_total: files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum(),
        ..Progress::default()
    };
    let mut acc = Accumulator {
        set,
        period,
        tz,
        dedupe: Deduper::default(),
        tls_seen: HashMap::new(),
        tls_details: 0,
        builder: AggregateBuilder::new(),
        pending: Vec::new(),
        max_rows: limits.max_run_rows,
    };

    for path in &files {
        let name = path.display().to_string();
        let size = match read_one(path, &name, limits, &mut acc) {
            Ok(size) => size,
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "report file rejected");
                acc.set.rejected.push(Rejected {
                    file: name.clone(),
                    reason: e.to_string(),
                });
                // The evidence lists every input with its hash, the unusable ones too, so an
                // auditor can tell exactly which file was left out; a file far over the size
                // limit is not read at all (it would cost the time the limit is there to save).
                let size = std::fs::metadata(path).map_or(u64::MAX, |m| m.len());
                let hashable = size <= limits.max_file_bytes.saturating_mul(4);
                let hashed = if hashable {
                    open::hash_file(path).ok()
                } else {
                    None
                };
                match hashed {
                    Some((sha256, bytes)) => {
                        acc.set.files.push(InputFile {
                            path: name,
                            kind: open::sniff_file(path).as_str().to_string(),
                            bytes,
                            sha256,
                        });
                        bytes
                    }
                    None => 0,
                }
            }
        };
        state.files_done += 1;
        state.bytes_done = state.bytes_done.saturating_add(size);
        state.reports = acc.set.reports.len();
        state.rejected = acc.set.rejected.len();
        progress(state);
    }

    acc.finish();
    let Accumulator {
        mut set, builder, ..
    } = acc;
    set.aggregate = builder.finish();
    set.reports.sort_by(|a, b| {
        (a.begin, &a.org_name, &a.report_id).cmp(&(b.begin, &b.org_name, &b.report_id))
    });
    set.tls.reports.sort_by(|a, b| {
        (a.begin, &a.org_name, &a.report_id).cmp(&(b.begin, &b.org_name, &b.report_id))
    });
    if !set.tls.reports.is_empty() || !set.tls.duplicates.is_empty() {
        tracing::info!(
            tls_reports = set.tls.reports.len(),
            tls_duplicates = set.tls.duplicates.len(),
            tls_out_of_period = set.tls.out_of_period,
            "SMTP TLS reports read"
        );
    }
    tracing::info!(
        files = set.files.len(),
        reports = set.reports.len(),
        rejected = set.rejected.len(),
        duplicates = set.duplicates.len(),
        out_of_period = set.out_of_period,
        distinct_rows = set.aggregate.rows.len(),
        "report ingestion done"
    );
    set
}

/// Ingestion state carried from file to file.
struct Accumulator<'p> {
    set: ReportSet,
    period: Option<&'p Period>,
    tz: Tz,
    dedupe: Deduper,
    /// Each TLS report's (reporter, id), with the copy kept.
    tls_seen: HashMap<(String, String), Origin>,
    /// Failure details kept across the run's TLS reports ([`MAX_RUN_TLS_DETAILS`]).
    tls_details: usize,
    builder: AggregateBuilder,
    /// Reports with unusable records, held back ([`Accumulator::take`]).
    pending: Vec<AggregateReport>,
    /// The run's row budget ([`MAX_RUN_ROWS`] unless the limits say otherwise).
    max_rows: usize,
}

impl Accumulator<'_> {
    fn reject(&mut self, rejected: Rejected) {
        tracing::warn!(file = %rejected.file, reason = %rejected.reason, "report rejected");
        self.set.rejected.push(rejected);
    }

    /// Takes one parsed report: dedupe, period filter, fold. A report with unusable records
    /// is held back until the end: receivers resend reports, and when an intact copy of the
    /// same report arrives later, it is the one kept.
    fn take(&mut self, report: AggregateReport) {
        if let Some(kept) = self.dedupe.check(&report) {
            let damaged = (report.skipped_records == 0)
                .then(|| {
                    self.pending
                        .iter()
                        .position(|p| p.origin == kept && p.key() == report.key())
                })
                .flatten();
            if let Some(i) = damaged {
                let damaged = self.pending.swap_remove(i);
                self.dedupe.replace(&report);
                self.set.duplicates.push(Duplicate {
                    origin: damaged.origin,
                    org_name: damaged.org_name,
                    report_id: damaged.report_id,
                    kept: report.origin.clone(),
                });
                self.accept(report);
                return;
            }
            self.set.duplicates.push(Duplicate {
                origin: report.origin,
                org_name: report.org_name,
                report_id: report.report_id,
                kept,
            });
            return;
        }
        // A damaged report waits for an intact copy, unless holding it would pass the row
        // budget: then it is taken as it is (a later intact copy is a duplicate).
        if report.skipped_records > 0
            && self.builder.distinct() + self.pending_rows() + report.rows.len() <= self.max_rows
        {
            self.pending.push(report);
        } else {
            self.accept(report);
        }
    }

    /// Period filter and fold of a unique report.
    fn accept(&mut self, mut report: AggregateReport) {
        match self.period {
            Some(p) if !p.counts_report(report.begin, report.end) => {
                self.set.out_of_period += 1;
                if p.overlaps(report.begin, report.end) {
                    self.set.straddling_elsewhere += 1;
                }
                if crate::period::midpoint(report.begin, report.end) < p.start {
                    if self.set.earlier.len() < super::model::MAX_EARLIER {
                        self.set
                            .earlier
                            .push(super::model::EarlierReport::of(&report));
                    } else {
                        self.set.earlier_dropped += 1;
                    }
                }
            }
            _ => {
                if let Some(reason) = self.over_budget(&report) {
                    let rejected = Rejected {
                        file: report.origin.to_string(),
                        reason,
                    };
                    return self.reject(rejected);
                }
                self.builder.fold(&mut report, self.tz);
                self.set.reports.push(report);
            }
        }
    }

    /// Takes one TLS report: dedupe by (reporter, id), then the period's midpoint rule, as
    /// for DMARC reports.
    fn take_tls(&mut self, report: TlsReport) {
        let key = report.key();
        if let Some(kept) = self.tls_seen.get(&key) {
            self.set.tls.duplicates.push(Duplicate {
                origin: report.origin,
                org_name: report.org_name,
                report_id: report.report_id,
                kept: kept.clone(),
            });
            return;
        }
        self.tls_seen.insert(key, report.origin.clone());
        if let Some(p) = self.period
            && !p.counts_report(report.begin, report.end)
        {
            self.set.tls.out_of_period += 1;
            return;
        }
        let details = report.detail_count();
        if self.tls_details + details > MAX_RUN_TLS_DETAILS {
            let reason = format!(
                "SMTP TLS report not counted: its {details} failure details would pass the run's budget of {MAX_RUN_TLS_DETAILS} ({} already kept); remove the flood of reports from this sender",
                self.tls_details
            );
            return self.reject(Rejected {
                file: report.origin.to_string(),
                reason,
            });
        }
        self.tls_details += details;
        self.set.tls.reports.push(report);
    }

    /// Why folding `report` would pass [`MAX_RUN_ROWS`], if it would.
    fn over_budget(&self, report: &AggregateReport) -> Option<String> {
        let kept = self.builder.distinct() + self.pending_rows();
        let budget = self.max_rows;
        if kept + report.rows.len() <= budget {
            return None;
        }
        let new = self.builder.new_tuples(report);
        (kept + new > budget).then(|| {
            format!(
                "not counted: its {} would pass the run's budget of {budget} distinct report rows ({kept} already kept); split the month's reports across runs, or remove the flood of reports from this sender",
                crate::text::count(new, "new distinct row", "new distinct rows")
            )
        })
    }

    /// Rows held by damaged reports waiting for an intact copy.
    fn pending_rows(&self) -> usize {
        self.pending.iter().map(|r| r.rows.len()).sum()
    }

    /// Accepts the damaged reports no intact copy replaced.
    fn finish(&mut self) {
        for report in std::mem::take(&mut self.pending) {
            self.accept(report);
        }
    }
}

/// Reads one file into the accumulator, streaming; returns its size.
fn read_one(
    path: &Path,
    name: &str,
    limits: &Limits,
    acc: &mut Accumulator<'_>,
) -> Result<u64, open::OpenError> {
    let summary = open::open_file(path, name, limits, &mut |found| {
        let (outcome, hash) = read_found(found);
        match outcome {
            Ok(Parsed::Aggregate(report)) => acc.take(*report),
            Ok(Parsed::Tls(report)) => acc.take_tls(report),
            Err(r) => acc.reject(r),
        }
        hash
    })?;
    tracing::debug!(file = %name, kind = summary.kind.as_str(), "read report file");
    acc.set.files.push(InputFile {
        path: name.to_string(),
        kind: summary.kind.as_str().to_string(),
        bytes: summary.bytes,
        sha256: summary.sha256,
    });
    Ok(summary.bytes)
}

/// Remembers every accepted (reporter, id) and XML hash; the first seen is kept.
#[derive(Debug, Default)]
struct Deduper {
    by_key: HashMap<(String, String), Origin>,
    by_sha: HashMap<String, Origin>,
}

impl Deduper {
    /// The origin of the report this one duplicates, or `None` (and it is remembered).
    fn check(&mut self, report: &AggregateReport) -> Option<Origin> {
        let key = report.key();
        // Only whole-file reports carry a content hash (see `AggregateReport::xml_sha256`).
        let sha = Some(&report.xml_sha256).filter(|h| !h.is_empty());
        if let Some(o) = self
            .by_key
            .get(&key)
            .or_else(|| sha.and_then(|h| self.by_sha.get(h)))
        {
            return Some(o.clone());
        }
        self.by_key.insert(key, report.origin.clone());
        if let Some(h) = sha {
            self.by_sha.insert(h.clone(), report.origin.clone());
        }
        None
    }

    /// Makes `report` the kept copy of its (reporter, id).
    fn replace(&mut self, report: &AggregateReport) {
        self.by_key.insert(report.key(), report.origin.clone());
        if !report.xml_sha256.is_empty() {
            self.by_sha
                .insert(report.xml_sha256.clone(), report.origin.clone());
        }
    }
}

/// Keeps the first of each (reporter, id) and of each identical XML document.
#[cfg(test)]
fn dedupe(reports: Vec<AggregateReport>) -> (Vec<AggregateReport>, Vec<Duplicate>) {
    let mut d = Deduper::default();
    let mut kept = Vec::new();
    let mut duplicates = Vec::new();
    for report in reports {
        match d.check(&report) {
            Some(k) => duplicates.push(Duplicate {
                origin: report.origin,
                org_name: report.org_name,
                report_id: report.report_id,
                kept: k,
            }),
            None => kept.push(report),
        }
    }
    (kept, duplicates)
}

fn is_maildir(path: &Path) -> bool {
    ["cur", "new", "tmp"].iter().all(|d| path.join(d).is_dir())
}

/// A real folder (not a link) that is a Maildir.
fn is_maildir_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) && is_maildir(path)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Expands `path` into the files beneath it. Symlinked folders found while walking are not
/// followed (a loop must not hang the monthly job); a path given explicitly always is.
fn collect(
    path: &Path,
    depth: usize,
    explicit: bool,
    out: &mut Vec<PathBuf>,
    rejected: &mut Vec<Rejected>,
) {
    let reject = |rejected: &mut Vec<Rejected>, reason: String| {
        tracing::warn!(file = %path.display(), reason = %reason, "report path skipped");
        rejected.push(Rejected {
            file: path.display().to_string(),
            reason,
        });
    };
    let meta = if explicit {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    let meta = match meta {
        Ok(m) => m,
        Err(e) => {
            reject(rejected, unreadable(&e));
            return;
        }
    };
    if meta.file_type().is_symlink() {
        // Found while walking: follow links to files only.
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => out.push(path.to_path_buf()),
            Ok(m) if m.is_dir() => reject(
                rejected,
                "symbolic link to a folder: not followed (a link could lead outside the report folders or in a circle); list the folder itself under `reports`".to_string(),
            ),
            Ok(_) => reject(rejected, not_regular()),
            Err(e) => reject(rejected, unreadable(&e)),
        }
        return;
    }
    if meta.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    if !meta.is_dir() {
        reject(rejected, not_regular());
        return;
    }
    if depth >= MAX_DIR_DEPTH {
        reject(
            rejected,
            format!("folders nested deeper than {MAX_DIR_DEPTH}"),
        );
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            reject(rejected, format!("cannot list folder: {}", unreadable(&e)));
            return;
        }
    };
    // A Maildir: `cur` and `new` hold delivered messages (read like any saved email);
    // `tmp` holds deliveries still being written, which must not be read half-done. Its
    // Maildir++ subfolders (`.DMARC`, `.INBOX.Reports`) are Maildirs of their own, and the
    // files beside them are the mail server's bookkeeping (`dovecot-uidlist`,
    // `subscriptions`, `maildirfolder`), never messages.
    let is_maildir = is_maildir(path);
    let mut children: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            if !is_maildir {
                return !is_hidden(p);
            }
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name == "cur" || name == "new" || (is_hidden(p) && is_maildir_dir(p))
        })
        .collect();
    children.sort();
    if is_maildir {
        tracing::debug!(path = %path.display(), "Maildir: reading cur/, new/ and subfolders");
    }
    for child in children {
        collect(&child, depth + 1, false, out, rejected);
    }
}

/// Why a path among the reports is skipped when it is neither a file nor a folder.
fn not_regular() -> String {
    "not a regular file or folder (a FIFO, socket or device): skipped, since reading it could block the run or never end".to_string()
}

/// An I/O error on a report path, in words that say what happened and what to do.
fn unreadable(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        // ELOOP
        Some(40) => {
            "symbolic link loop: the link leads back to itself; remove or fix it".to_string()
        }
        _ if e.kind() == std::io::ErrorKind::NotFound => {
            "not found: nothing at this path (or a symbolic link whose target is gone)".to_string()
        }
        _ if e.kind() == std::io::ErrorKind::PermissionDenied => format!(
            "permission denied ({e}): the user running mailproof needs read permission on the file and read and execute (x) permission on every folder above it"
        ),
        _ => format!("cannot read: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Month;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use sha2::{Digest, Sha256};
    use std::io::Write;

    fn xml(org: &str, id: &str, begin: i64, count: u32) -> String {
        format!(
            "<feedback><report_metadata><org_name>{org}</org_name><report_id>{id}</report_id>\
             <date_range><begin>{begin}</begin><end>{}</end></date_range></report_metadata>\
             <policy_published><domain>example.com</domain><p>none</p></policy_published>\
             <record><row><source_ip>192.0.2.1</source_ip><count>{count}</count>\
             <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>\
             </policy_evaluated></row><identifiers><header_from>example.com</header_from>\
             </identifiers><auth_results/></record></feedback>",
            begin + 86_399
        )
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    // 2026-10-01T00:00:00Z and neighbours.
    const OCT1: i64 = 1_790_812_800;

    /// A report whose rows come from the given last octets of 192.0.2.x, one message each.
    fn rows_report(id: &str, octets: std::ops::Range<u32>) -> String {
        let one = xml("R", id, OCT1, 1);
        let (head, rest) = one.split_at(one.find("<record>").unwrap_or(0));
        let record_end = rest.find("</record>").map_or(0, |i| i + "</record>".len());
        let record = &rest[..record_end];
        let rows: String = octets
            .map(|o| record.replace("192.0.2.1<", &format!("192.0.2.{o}<")))
            .collect();
        format!("{head}{rows}{}", &rest[record_end..])
    }

    #[test]
    fn the_run_row_budget_holds_at_its_limit_and_names_what_passes_it() {
        let dir = tempfile::tempdir().unwrap();
        // a: 6 distinct rows; b: 4 new (10 in all, the budget); c: 1 new row, refused;
        // d: 12 rows all already kept, read although its raw rows exceed the budget.
        std::fs::write(dir.path().join("a.xml"), rows_report("a", 1..7)).unwrap();
        std::fs::write(dir.path().join("b.xml"), rows_report("b", 7..11)).unwrap();
        std::fs::write(dir.path().join("c.xml"), rows_report("c", 11..12)).unwrap();
        let again: String = rows_report("d", 1..11).replace(
            "</feedback>",
            &rows_report("x", 1..3)[rows_report("x", 1..3).find("<record>").unwrap_or(0)..],
        );
        std::fs::write(dir.path().join("d.xml"), again).unwrap();
        let limits = Limits {
            max_run_rows: 10,
            ..Limits::default()
        };
        let set = ingest_with(&[dir.path().to_path_buf()], None, &limits);
        let ids: Vec<&str> = set.reports.iter().map(|r| r.report_id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{ids:?} {:?}", set.rejected);
        assert!(ids.contains(&"a") && ids.contains(&"b") && ids.contains(&"d"));
        assert_eq!(set.aggregate.rows.len(), 10);
        assert_eq!(set.rejected.len(), 1);
        assert!(set.rejected[0].file.ends_with("c.xml"));
        assert!(
            set.rejected[0]
                .reason
                .contains("its 1 new distinct row would pass the run's budget of 10"),
            "{}",
            set.rejected[0].reason
        );
        assert_eq!(Limits::default().max_run_rows, MAX_RUN_ROWS);
    }

    #[test]
    fn nothing_among_the_reports_is_skipped_without_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A FIFO would block a read forever; it is named and skipped.
        let fifo = root.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        // A link to itself, and a link to a folder.
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("linked")).unwrap();
        // A mailbox whose first message is empty: the report after it is still read.
        let report = xml("Mbox", "m1", OCT1, 2);
        std::fs::write(
            root.join("box.mbox"),
            format!(
                "From MAILER-DAEMON Thu Oct  1 00:00:00 2026\n\n\
                 From MAILER-DAEMON Thu Oct  1 00:00:00 2026\nFrom: r@x\nTo: d@y\n\
                 Content-Type: application/xml\n\n{report}\n"
            ),
        )
        .unwrap();
        // Rows with counts no report can hold are named with why.
        std::fs::write(
            root.join("counts.xml"),
            xml("Counts", "c1", OCT1, 1).replace(
                "</feedback>",
                &format!("{}</feedback>", {
                    let r = xml("x", "x", OCT1, 1);
                    let a = r.find("<record>").unwrap_or(0);
                    let b = r.find("</record>").map_or(0, |i| i + 9);
                    r[a..b].replace("<count>1</count>", "<count>-5</count>")
                }),
            ),
        )
        .unwrap();
        let set = ingest(&[root.to_path_buf()], None);
        let reason = |file: &str| -> String {
            set.rejected
                .iter()
                .find(|r| r.file.ends_with(file))
                .map(|r| r.reason.clone())
                .unwrap_or_else(|| panic!("{file} not named: {:?}", set.rejected))
        };
        if made.is_ok_and(|s| s.success()) {
            assert!(reason("pipe").contains("not a regular file or folder"));
        }
        assert!(reason("loop").contains("symbolic link loop"));
        assert!(reason("linked").contains("symbolic link to a folder"));
        assert!(reason("box.mbox [mbox:message 1]").contains("empty message"));
        assert!(set.reports.iter().any(|r| r.report_id == "m1"));
        let counts = set.reports.iter().find(|r| r.report_id == "c1").unwrap();
        assert_eq!(counts.skipped_records, 1);
        assert!(
            counts
                .repairs
                .iter()
                .any(|n| n.contains("<count> \"-5\" is negative")),
            "{:?}",
            counts.repairs
        );
    }

    #[test]
    fn ingest_walks_dedupes_filters_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::write(root.join("b.xml"), xml("Yahoo", "y1", OCT1 + 86_400 * 5, 2)).unwrap();
        std::fs::write(
            root.join("a.xml"),
            xml("Google", "g1", OCT1 + 86_400 * 9, 3),
        )
        .unwrap();
        // Same reporter and id in another form: a duplicate.
        std::fs::write(
            root.join("sub/a-again.gz"),
            gzip(xml("google", "g1", OCT1 + 86_400 * 9, 3).as_bytes()),
        )
        .unwrap();
        // Outside October.
        std::fs::write(
            root.join("sub/deeper/old.xml"),
            xml("Google", "g0", OCT1 - 86_400 * 40, 1),
        )
        .unwrap();
        std::fs::write(root.join("sub/junk.bin"), b"\x00\x01\x02\x03").unwrap();
        std::fs::write(root.join(".hidden/h.xml"), xml("H", "h", OCT1, 1)).unwrap();
        std::fs::write(root.join(".dotfile.xml"), xml("H", "h2", OCT1, 1)).unwrap();

        let period = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let set = ingest(&[root.to_path_buf()], Some(&period));
        let ids: Vec<&str> = set.reports.iter().map(|r| r.report_id.as_str()).collect();
        assert_eq!(ids, vec!["y1", "g1"]);
        assert_eq!(set.out_of_period, 1);
        assert_eq!(set.duplicates.len(), 1);
        assert!(set.duplicates[0].origin.file.ends_with("a-again.gz"));
        assert!(set.duplicates[0].kept.file.ends_with("a.xml"));
        assert_eq!(set.rejected.len(), 1);
        assert!(set.rejected[0].file.ends_with("junk.bin"));
        assert!(set.rejected[0].reason.contains("unrecognized"));
        let names: Vec<String> = set
            .files
            .iter()
            .map(|f| {
                Path::new(&f.path)
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            vec![
                "a.xml",
                "b.xml",
                "sub/a-again.gz",
                "sub/deeper/old.xml",
                "sub/junk.bin"
            ]
        );
        assert_eq!(set.files[2].kind, "gzip");
        let a = std::fs::read(root.join("a.xml")).unwrap();
        assert_eq!(set.files[0].sha256, hex::encode(Sha256::digest(&a)));
        assert_eq!(set.files[0].bytes, a.len() as u64);

        // Without a period, everything unique is kept.
        let all = ingest(&[root.to_path_buf()], None);
        assert_eq!(all.reports.len(), 3);
        assert_eq!(all.reports[0].report_id, "g0");
    }

    #[test]
    fn reports_naming_no_reporter_dedupe_by_content_not_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // No org_name and no email: the reporter comes from the file name.
        let anon = |begin: i64| xml("", "1", begin, 2).replace("<org_name></org_name>", "");
        let gz = |s: &str| gzip(s.as_bytes());
        std::fs::write(root.join("a.test!example.com!1!2.xml.gz"), gz(&anon(OCT1))).unwrap();
        // The same report again under another receiver's name: a duplicate.
        std::fs::write(root.join("b.test!example.com!1!2.xml.gz"), gz(&anon(OCT1))).unwrap();
        // Another unnamed reporter that also numbers its report 1, for another day: kept.
        std::fs::write(
            root.join("c.test!example.com!3!4.xml.gz"),
            gz(&anon(OCT1 + 86_400)),
        )
        .unwrap();
        let set = ingest(&[root.to_path_buf()], None);
        assert_eq!(set.reports.len(), 2, "{:?}", set.duplicates);
        assert_eq!(set.duplicates.len(), 1);
        assert!(set.duplicates[0].origin.file.contains("b.test"));
    }

    #[test]
    fn maildir_plus_plus_subfolders_are_read_and_bookkeeping_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Maildir");
        for d in [
            "cur",
            "new",
            "tmp",
            ".DMARC/cur",
            ".DMARC/new",
            ".DMARC/tmp",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::create_dir_all(root.join(".Trash.notmaildir")).unwrap();
        let report = |id: &str| xml("web.de", id, OCT1, 1);
        std::fs::write(root.join("cur/1.host:2,S"), report("top")).unwrap();
        std::fs::write(root.join(".DMARC/new/2.host"), report("sub")).unwrap();
        std::fs::write(root.join(".DMARC/tmp/3.host"), report("half")).unwrap();
        std::fs::write(root.join(".Trash.notmaildir/x.xml"), report("hidden")).unwrap();
        for f in ["dovecot-uidlist", "subscriptions", ".DMARC/maildirfolder"] {
            std::fs::write(root.join(f), b"3 V1 N5\n").unwrap();
        }
        let set = ingest(std::slice::from_ref(&root), None);
        let mut ids: Vec<&str> = set.reports.iter().map(|r| r.report_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["sub", "top"]);
        assert!(set.rejected.is_empty(), "{:?}", set.rejected);
        assert_eq!(set.files.len(), 2, "{:?}", set.files);
    }

    #[test]
    fn mbox_and_maildir_are_read_and_rows_are_folded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let eml = |org: &str, id: &str, n: u32| {
            format!(
                "From: dmarc@{org}\nSubject: Report\nContent-Type: application/gzip\n\
                 Content-Transfer-Encoding: base64\n\n{}\n",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    gzip(xml(org, id, OCT1 + 86_400, n).as_bytes())
                )
            )
        };
        // A mailbox with two reports and a non-report message between them.
        let mbox = format!(
            "From a Mon Oct  5 00:00:00 2026\n{}\nFrom b Mon Oct  5 00:00:01 2026\n\
             Subject: hello\n\njust text\n\nFrom c Mon Oct  5 00:00:02 2026\n{}",
            eml("google.com", "m1", 2),
            eml("yahoo.com", "m2", 5)
        );
        std::fs::write(root.join("inbox.mbox"), &mbox).unwrap();
        // A Maildir: cur/ and new/ are read, tmp/ (half-delivered) is not.
        for d in ["Maildir/cur", "Maildir/new", "Maildir/tmp"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("Maildir/cur/1.host:2,S"),
            eml("outlook.com", "c1", 3),
        )
        .unwrap();
        std::fs::write(root.join("Maildir/new/2.host"), eml("mail.ru", "n1", 4)).unwrap();
        std::fs::write(root.join("Maildir/tmp/3.host"), b"half-writ").unwrap();
        let set = ingest(&[root.to_path_buf()], None);
        let mut ids: Vec<&str> = set.reports.iter().map(|r| r.report_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec!["c1", "m1", "m2", "n1"]);
        assert!(set.files.iter().all(|f| !f.path.contains("Maildir/tmp")));
        let mbox_file = set.files.iter().find(|f| f.kind == "mbox").unwrap();
        assert_eq!(mbox_file.bytes, mbox.len() as u64);
        assert_eq!(
            mbox_file.sha256,
            hex::encode(Sha256::digest(mbox.as_bytes()))
        );
        assert_eq!(set.rejected.len(), 1, "{:?}", set.rejected);
        assert!(set.rejected[0].file.contains("[mbox:message 2]"));
        let m2 = set.reports.iter().find(|r| r.report_id == "m2").unwrap();
        assert_eq!(
            m2.origin
                .member
                .as_deref()
                .map(|m| m.starts_with("mbox:message 3")),
            Some(true)
        );
        // Rows were folded: reports keep their counts but no rows.
        assert!(set.reports.iter().all(|r| r.rows.is_empty()));
        assert_eq!(m2.messages(), 5);
        assert_eq!(m2.record_count(), 1);
        assert_eq!(set.aggregate.messages(), 14);
        // Four reporters saw the same source with the same results: one merged tuple.
        assert_eq!(set.aggregate.rows.len(), 1);
        assert_eq!(set.aggregate.rows[0].reports, 4);
        let mut by: Vec<(&str, u64)> = set.aggregate.reporters_of(&set.aggregate.rows[0]).collect();
        by.sort_unstable();
        assert_eq!(
            by,
            vec![
                ("google.com", 2),
                ("mail.ru", 4),
                ("outlook.com", 3),
                ("yahoo.com", 5)
            ]
        );
        assert_eq!(set.aggregate.source_rows, 4);

        // The same mailbox given as bytes.
        let out = ingest_bytes("inbox.mbox", mbox.as_bytes());
        assert_eq!(out.kind, Kind::Mbox);
        assert_eq!(out.reports.len(), 2);
        assert_eq!(out.rejected.len(), 1);
    }

    #[test]
    fn identical_content_under_other_names_is_a_duplicate() {
        let doc = xml("Google", "g1", OCT1, 1);
        let a = ingest_bytes("a.xml", doc.as_bytes());
        let b = ingest_bytes("b.xml.gz", &gzip(doc.as_bytes()));
        let (kept, dups) = dedupe(a.reports.into_iter().chain(b.reports).collect());
        assert_eq!(kept.len(), 1);
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].kept.file, "a.xml");
    }

    #[test]
    fn missing_path_is_rejected_not_fatal() {
        let set = ingest(&[PathBuf::from("/nonexistent/mailproof/reports")], None);
        assert!(set.reports.is_empty());
        assert_eq!(set.rejected.len(), 1);
        assert!(set.rejected[0].reason.contains("not found"));
    }

    #[test]
    fn files_are_streamed_hashed_and_listed_even_when_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A report several MB long, gzipped: read from the decompressor, never whole.
        let mut body = String::new();
        let record = xml("r", "x", 0, 1);
        let record = &record[record.find("<record>").unwrap()..record.find("</feedback>").unwrap()];
        for _ in 0..20_000 {
            body.push_str(record);
        }
        let big = xml("Big Receiver", "big-1", 1_790_812_800, 1).replace(record, &body);
        let gz = gzip(big.as_bytes());
        std::fs::write(dir.path().join("a-big.xml.gz"), &gz).unwrap();
        let bare = xml("Small", "small-1", 1_790_812_800, 5);
        std::fs::write(dir.path().join("b-small.xml"), &bare).unwrap();
        std::fs::write(dir.path().join("c-huge.xml"), vec![b' '; 100_000]).unwrap();
        let limits = Limits {
            max_file_bytes: 64 << 10,
            ..Limits::default()
        };
        // With a 64 KiB file limit the gzip (small on disk, 8 MB of XML) and the small
        // report are read; the 100 KB file is refused.
        let set = ingest_with(&[dir.path().to_path_buf()], None, &limits);
        assert_eq!(set.reports.len(), 2, "{:?}", set.rejected);
        let big_report = set.reports.iter().find(|r| r.report_id == "big-1").unwrap();
        assert_eq!(big_report.records, 20_000);
        assert_eq!(big_report.message_count, 20_000);
        // A report inside a container is not hashed (its key finds its copies); a bare
        // file's report carries the file's hash.
        assert_eq!(big_report.xml_sha256, "");
        let small = set
            .reports
            .iter()
            .find(|r| r.report_id == "small-1")
            .unwrap();
        assert_eq!(
            small.xml_sha256,
            hex::encode(Sha256::digest(bare.as_bytes()))
        );
        // 20,000 identical rows, and the small report's same row, fold into one.
        assert_eq!(set.aggregate.rows.len(), 1);
        assert_eq!(set.aggregate.rows[0].row.count, 20_005);
        // Every file is evidence with its own hash, the refused one too.
        let hashes: Vec<(&str, &str, String)> = set
            .files
            .iter()
            .map(|f| {
                let name = f.path.rsplit('/').next().unwrap_or("");
                (name, f.kind.as_str(), f.sha256.clone())
            })
            .collect();
        assert_eq!(
            hashes,
            vec![
                ("a-big.xml.gz", "gzip", hex::encode(Sha256::digest(&gz))),
                (
                    "b-small.xml",
                    "xml",
                    hex::encode(Sha256::digest(bare.as_bytes()))
                ),
                (
                    "c-huge.xml",
                    "empty",
                    hex::encode(Sha256::digest(vec![b' '; 100_000]))
                ),
            ]
        );
        assert_eq!(set.rejected.len(), 1);
        assert!(set.rejected[0].file.ends_with("c-huge.xml"));
        assert!(
            set.rejected[0].reason.contains("over the 65536-byte limit"),
            "{}",
            set.rejected[0].reason
        );
    }

    #[test]
    fn an_intact_copy_wins_over_a_damaged_one_in_either_order() {
        let intact = xml("Rcv", "r-1", 1_790_812_800, 4);
        let damaged = intact.replace("<count>4</count>", "<count>4</count><oops>");
        let other_damaged = xml("Rcv", "r-2", 1_790_812_800, 2).replace("<row>", "<row><oops>");
        for (first, second) in [(&damaged, &intact), (&intact, &damaged)] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a.xml"), first).unwrap();
            std::fs::write(dir.path().join("b.xml"), second).unwrap();
            std::fs::write(dir.path().join("c.xml"), &other_damaged).unwrap();
            let set = ingest(&[dir.path().to_path_buf()], None);
            let kept: Vec<(&str, usize, usize)> = set
                .reports
                .iter()
                .map(|r| (r.report_id.as_str(), r.records, r.skipped_records))
                .collect();
            // r-2 has no intact copy: accepted with its skipped record counted.
            assert_eq!(kept, vec![("r-1", 1, 0), ("r-2", 0, 1)]);
            assert_eq!(set.duplicates.len(), 1);
            assert!(set.duplicates[0].kept.file.ends_with(if first == &intact {
                "a.xml"
            } else {
                "b.xml"
            }));
            assert_eq!(set.aggregate.messages(), 4);
        }
    }

    fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file(name, opts).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap().into_inner()
    }

    /// Truncations and byte flips of every container kind: no panic, and every input is
    /// accounted for as a report or a rejection.
    #[test]
    fn mutated_inputs_never_panic_and_are_always_explained() {
        let doc = xml("Google", "g1", OCT1, 1);
        let bases = [
            doc.clone().into_bytes(),
            gzip(doc.as_bytes()),
            zip_of("r.xml", doc.as_bytes()),
            format!(
                "From: a@b.test\r\nContent-Type: application/gzip\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    gzip(doc.as_bytes())
                )
            )
            .into_bytes(),
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut parsed = 0usize;
        for base in &bases {
            let whole = ingest_bytes("t", base);
            assert_eq!(whole.reports.len(), 1, "{:?}", whole.rejected);
            let mut inputs: Vec<Vec<u8>> = (0..base.len())
                .step_by(5)
                .map(|cut| base[..cut].to_vec())
                .collect();
            for _ in 0..200 {
                let mut m = base.clone();
                for _ in 0..3 {
                    let r = next();
                    let i = (r % m.len() as u64) as usize;
                    m[i] ^= ((r >> 32) as u8) | 1;
                }
                inputs.push(m);
            }
            for input in inputs {
                let out = ingest_bytes("t", &input);
                assert!(
                    !out.reports.is_empty() || !out.rejected.is_empty(),
                    "{:?} gave neither a report nor a reason",
                    String::from_utf8_lossy(&input)
                );
                parsed += out.reports.len();
            }
        }
        // Some byte flips land in harmless places (e.g. inside the org name).
        assert!(parsed > 0);
    }

    #[test]
    fn open_notes_become_repairs() {
        let mut data = gzip(xml("Mimecast", "m1", OCT1, 4).as_bytes());
        data.extend_from_slice(b"\r\n");
        let out = ingest_bytes("m.eml", &data);
        assert_eq!(out.reports.len(), 1);
        assert_eq!(out.reports[0].messages(), 4);
        assert!(out.reports[0].repairs[0].contains("trailing"));
    }

    fn tls_json(org: &str, id: &str, day: &str) -> String {
        format!(
            r#"{{"organization-name":"{org}","report-id":"{id}",
            "date-range":{{"start-datetime":"{day}T00:00:00Z","end-datetime":"{day}T23:59:59Z"}},
            "policies":[{{"policy":{{"policy-type":"sts","policy-domain":"example.com"}},
            "summary":{{"total-successful-session-count":5,"total-failure-session-count":1}}}}]}}"#
        )
    }

    #[test]
    fn tls_reports_are_read_beside_dmarc_reports_deduped_and_counted_by_midpoint() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("dmarc.xml"), xml("G", "g1", OCT1, 3)).unwrap();
        std::fs::write(
            root.join("a.json"),
            tls_json("Google Inc.", "t1", "2026-10-05"),
        )
        .unwrap();
        // The same report again, gzipped, under another reporter spelling: a duplicate.
        std::fs::write(
            root.join("z-again.json.gz"),
            gzip(tls_json("GOOGLE INC.", "t1", "2026-10-05").as_bytes()),
        )
        .unwrap();
        // Its midpoint is in September.
        std::fs::write(
            root.join("b.json"),
            tls_json("Google Inc.", "t0", "2026-09-30"),
        )
        .unwrap();
        // Its midpoint is October 1st although it starts in September.
        std::fs::write(
            root.join("c.json"),
            tls_json("Mail.ru", "t2", "2026-09-30")
                .replace("2026-09-30T23:59:59Z", "2026-10-01T12:00:00Z")
                .replace("2026-09-30T00:00:00Z", "2026-09-30T13:00:00Z"),
        )
        .unwrap();
        std::fs::write(root.join("other.json"), br#"{"hello": 1}"#).unwrap();
        std::fs::write(
            root.join("broken.json"),
            &tls_json("X", "x", "2026-10-05")[..60],
        )
        .unwrap();
        let period = Period::new(
            Month {
                year: 2026,
                month: 10,
            },
            chrono_tz::UTC,
        );
        let set = ingest(&[root.to_path_buf()], Some(&period));
        assert_eq!(set.reports.len(), 1, "the DMARC report is unaffected");
        assert_eq!(set.duplicates.len(), 0);
        let ids: Vec<&str> = set
            .tls
            .reports
            .iter()
            .map(|r| r.report_id.as_str())
            .collect();
        assert_eq!(ids, vec!["t2", "t1"]);
        assert_eq!(set.tls.out_of_period, 1);
        assert_eq!(set.tls.duplicates.len(), 1);
        assert!(
            set.tls.duplicates[0]
                .origin
                .file
                .ends_with("z-again.json.gz")
        );
        assert!(set.tls.duplicates[0].kept.file.ends_with("a.json"));
        assert_eq!(set.rejected.len(), 2, "{:?}", set.rejected);
        let why = |name: &str| {
            set.rejected
                .iter()
                .find(|r| r.file.ends_with(name))
                .map(|r| r.reason.clone())
                .unwrap_or_default()
        };
        assert!(
            why("other.json").contains("neither a DMARC aggregate report nor an SMTP TLS report")
        );
        assert!(why("broken.json").contains("not valid JSON"));
        assert!(
            !set.rejected
                .iter()
                .any(|r| r.reason.contains("SMTP TLS report (TLS-RPT"))
        );
        // Every file is listed with its hash, the JSON ones too.
        assert_eq!(set.files.len(), 7);
        assert!(set.files.iter().all(|f| f.sha256.len() == 64));
        let json = set
            .files
            .iter()
            .find(|f| f.path.ends_with("a.json"))
            .unwrap();
        assert_eq!(json.kind, "json");
    }

    #[test]
    fn a_flood_of_tls_failure_details_passes_the_run_budget_only_by_rejection() {
        let detail = r#"{"result-type":"validation-failure","failed-session-count":1}"#;
        let many = vec![detail; 1_000].join(",");
        let mut acc = Accumulator {
            set: ReportSet::default(),
            period: None,
            tz: chrono_tz::UTC,
            dedupe: Deduper::default(),
            tls_seen: HashMap::new(),
            tls_details: MAX_RUN_TLS_DETAILS - 1_500,
            builder: AggregateBuilder::new(),
            pending: Vec::new(),
            max_rows: MAX_RUN_ROWS,
        };
        for id in ["a", "b"] {
            let json = tls_json("R", id, "2026-10-05").replace(
                r#""total-failure-session-count":1}"#,
                &format!(r#""total-failure-session-count":1000}},"failure-details":[{many}]"#),
            );
            let out = ingest_bytes("f.json", json.as_bytes());
            assert_eq!(out.tls_reports.len(), 1, "{:?}", out.rejected);
            acc.take_tls(out.tls_reports.into_iter().next().unwrap());
        }
        assert_eq!(acc.set.tls.reports.len(), 1);
        assert!(acc.set.rejected[0].reason.contains("budget of 200000"));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary bytes, and arbitrary bytes behind each container's magic number: never a
        /// panic, and always a report or a reason.
        #[test]
        fn arbitrary_input_never_panics(
            prefix in prop::sample::select(vec![
                &b""[..], b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"\x78\x9c", b"<feedback>",
                b"\xef\xbb\xbf<?xml version=\"1.0\"?><feedback>", b"From x\nSubject: y\n\n",
                b"Content-Type: application/zip\n\n", b"\xff\xfe<\x00", b"{\"policies\"",
                b"Content-Type: message/rfc822\n\nContent-Type: text/plain\n\n",
            ]),
            body in prop::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut input = prefix.to_vec();
            input.extend_from_slice(&body);
            let out = ingest_bytes("p", &input);
            prop_assert!(!out.reports.is_empty() || !out.rejected.is_empty());
        }

        /// Emails whose report part is damaged in every way the part decoder repairs (any
        /// label, any transfer encoding, random or truncated content, a missing boundary):
        /// never a panic, always a report or a reason.
        #[test]
        fn damaged_email_parts_never_panic(
            ctype in prop::sample::select(vec![
                "application/gzip", "text/plain; charset=windows-1252", "text/xml",
                "application/octet-stream", "message/rfc822", "application/tlsrpt+gzip",
            ]),
            cte in prop::sample::select(vec!["base64", "quoted-printable", "8bit", "x-unknown"]),
            payload in prop::collection::vec(any::<u8>(), 0..400),
            as_base64 in prop::bool::ANY,
            cut in 0usize..600,
            closing in prop::bool::ANY,
        ) {
            let body = if as_base64 {
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &payload)
            } else {
                String::from_utf8_lossy(&payload).into_owned()
            };
            let body: String = body.chars().take(cut).collect();
            let eml = format!(
                "From: a@b.test\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
                 --B\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n\
                 {body}\r\n{}",
                if closing { "--B--\r\n" } else { "" }
            );
            let out = ingest_bytes("e.eml", eml.as_bytes());
            prop_assert!(!out.reports.is_empty() || !out.rejected.is_empty());
        }

        /// Well-formed reports with hostile field text parse with the exact row and message
        /// counts, whatever the text holds.
        #[test]
        fn generated_reports_keep_their_counts(
            org in "\\PC{0,40}",
            id in "[A-Za-z0-9.:_-]{1,40}",
            rows in prop::collection::vec(
                (any::<[u8; 4]>(), 0u64..1_000_000, "\\PC{0,30}", prop::bool::ANY),
                0..20,
            ),
        ) {
            let mut body = String::new();
            for (ip, count, from, pass) in &rows {
                let ip = std::net::Ipv4Addr::from(*ip);
                let verdict = if *pass { "Pass" } else { "hardfail" };
                body.push_str(&format!(
                    "<record><row><source_ip>{ip}</source_ip><count> {count} </count>\
                     <policy_evaluated><disposition>none</disposition><dkim>{verdict}</dkim>\
                     <spf>{verdict}</spf></policy_evaluated></row><identifiers>\
                     <header_from>{}</header_from></identifiers><auth_results/></record>",
                    escape(from)
                ));
            }
            let doc = format!(
                "<feedback><report_metadata><org_name>{}</org_name><report_id>{id}</report_id>\
                 <date_range><begin>1790812800</begin><end>1790899199</end></date_range>\
                 </report_metadata><policy_published><domain>ex.test</domain></policy_published>\
                 {body}</feedback>",
                escape(&org)
            );
            let out = ingest_bytes("g.xml", doc.as_bytes());
            prop_assert!(out.rejected.is_empty(), "{:?}", out.rejected);
            prop_assert_eq!(out.reports.len(), 1);
            let r = &out.reports[0];
            prop_assert_eq!(r.record_count(), rows.len());
            prop_assert_eq!(r.messages(), rows.iter().map(|r| r.1).sum::<u64>());
            let passing = r.rows.iter().filter(|x| x.reporter_dmarc_pass()).count();
            prop_assert_eq!(passing, rows.iter().filter(|r| r.3).count());
        }
    }
}

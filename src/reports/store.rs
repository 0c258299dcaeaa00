//! Ingesting a folder of report files into one deduplicated, period-filtered [`ReportSet`].
//!
//! One bad file never aborts the run: every file or archive member that yields no report
//! becomes a [`Rejected`] entry with its reason, which the assessment lists, because an
//! auditor must see which evidence was left out and why. Receivers resend reports and users
//! save the same email twice, so reports are deduplicated by reporter and id and by content.

use super::model::{AggregateReport, Duplicate, InputFile, Origin, Rejected, ReportSet};
use super::open::{self, Kind, Limits};
use super::xml;
use crate::period::Period;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Folder nesting followed under one input path.
const MAX_DIR_DEPTH: usize = 32;

/// What one file (or in-memory byte string) yielded.
#[derive(Debug, Clone, PartialEq)]
pub struct BytesOutcome {
    pub kind: Kind,
    pub reports: Vec<AggregateReport>,
    pub rejected: Vec<Rejected>,
}

/// Opens and parses one file's bytes without touching the disk: the entry point for tests
/// and fuzzing. `name` is used as the origin's file name.
pub fn ingest_bytes(name: &str, bytes: &[u8]) -> BytesOutcome {
    ingest_bytes_with(name, bytes, &Limits::default())
}

/// [`ingest_bytes`] with explicit resource limits.
pub fn ingest_bytes_with(name: &str, bytes: &[u8], limits: &Limits) -> BytesOutcome {
    let opened = open::open_bytes_with(name, bytes, limits);
    let mut reports = Vec::new();
    let mut rejected = Vec::new();
    for member in opened.members {
        let reject = |reason: String| Rejected {
            file: member.origin.to_string(),
            reason,
        };
        match member.xml {
            Err(e) => rejected.push(reject(e.to_string())),
            Ok(xml_bytes) => match xml::parse(&xml_bytes, &member.origin) {
                Ok(mut report) => {
                    if !member.notes.is_empty() {
                        let mut repairs = member.notes.clone();
                        repairs.append(&mut report.repairs);
                        report.repairs = repairs;
                    }
                    reports.push(report);
                }
                Err(e) => rejected.push(reject(e.to_string())),
            },
        }
    }
    BytesOutcome {
        kind: opened.kind,
        reports,
        rejected,
    }
}

/// Reads every report file under `paths` (files or folders, recursively, hidden entries
/// skipped) in sorted path order, and keeps the unique reports overlapping `period` (all of
/// them when `period` is `None`), sorted by (begin, org_name, report_id).
pub fn ingest(paths: &[PathBuf], period: Option<&Period>) -> ReportSet {
    ingest_with(paths, period, &Limits::default())
}

/// [`ingest`] with explicit resource limits.
pub fn ingest_with(paths: &[PathBuf], period: Option<&Period>, limits: &Limits) -> ReportSet {
    let mut set = ReportSet::default();
    let mut files = Vec::new();
    for path in paths {
        collect(path, 0, true, &mut files, &mut set.rejected);
    }
    files.sort();
    files.dedup();

    let mut parsed = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        let bytes = match open::read_file(path, limits) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "report file rejected");
                set.rejected.push(Rejected {
                    file: name,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let outcome = ingest_bytes_with(&name, &bytes, limits);
        tracing::info!(
            file = %name,
            kind = outcome.kind.as_str(),
            reports = outcome.reports.len(),
            rejected = outcome.rejected.len(),
            "read report file"
        );
        for r in &outcome.rejected {
            tracing::warn!(file = %r.file, reason = %r.reason, "report rejected");
        }
        set.files.push(InputFile {
            path: name,
            kind: outcome.kind.as_str().to_string(),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
        set.rejected.extend(outcome.rejected);
        parsed.extend(outcome.reports);
    }

    let (unique, duplicates) = dedupe(parsed);
    set.duplicates = duplicates;
    for report in unique {
        match period {
            Some(p) if !p.overlaps(report.begin, report.end) => set.out_of_period += 1,
            _ => set.reports.push(report),
        }
    }
    set.reports.sort_by(|a, b| {
        (a.begin, &a.org_name, &a.report_id).cmp(&(b.begin, &b.org_name, &b.report_id))
    });
    tracing::info!(
        files = set.files.len(),
        reports = set.reports.len(),
        rejected = set.rejected.len(),
        duplicates = set.duplicates.len(),
        out_of_period = set.out_of_period,
        "report ingestion done"
    );
    set
}

/// Keeps the first of each (reporter, id) and of each identical XML document.
fn dedupe(reports: Vec<AggregateReport>) -> (Vec<AggregateReport>, Vec<Duplicate>) {
    let mut kept: Vec<AggregateReport> = Vec::new();
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    let mut by_sha: HashMap<String, usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for report in reports {
        let key = report.key();
        let seen = by_key
            .get(&key)
            .or_else(|| by_sha.get(&report.xml_sha256))
            .copied();
        match seen {
            Some(i) => {
                let kept_origin: Origin = kept[i].origin.clone();
                duplicates.push(Duplicate {
                    origin: report.origin,
                    org_name: report.org_name,
                    report_id: report.report_id,
                    kept: kept_origin,
                });
            }
            None => {
                let i = kept.len();
                by_key.insert(key, i);
                by_sha.insert(report.xml_sha256.clone(), i);
                kept.push(report);
            }
        }
    }
    (kept, duplicates)
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
            reject(rejected, format!("cannot read: {e}"));
            return;
        }
    };
    if meta.file_type().is_symlink() {
        // Found while walking: follow links to files only.
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => out.push(path.to_path_buf()),
            Ok(_) => tracing::debug!(path = %path.display(), "symlinked folder not followed"),
            Err(e) => reject(rejected, format!("cannot read: {e}")),
        }
        return;
    }
    if meta.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    if !meta.is_dir() {
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
            reject(rejected, format!("cannot read folder: {e}"));
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !is_hidden(p))
        .collect();
    children.sort();
    for child in children {
        collect(&child, depth + 1, false, out, rejected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Month;
    use flate2::Compression;
    use flate2::write::GzEncoder;
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
        assert!(set.rejected[0].reason.contains("cannot read"));
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
}

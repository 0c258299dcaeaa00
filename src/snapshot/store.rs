//! Reading and writing snapshot files: `<snapshots>/<UTC timestamp>.json`.

use super::{SCHEMA, Snapshot};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read snapshot {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("snapshot {path} is not valid JSON at line {line}, column {column}: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path} has schema {found:?}; expected {SCHEMA:?}")]
    Schema { path: PathBuf, found: String },
    #[error("cannot list snapshot folder {path}: {cause}")]
    List {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write snapshot {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "a snapshot taken at the same second already exists: {path}. It was kept, since published evidence may name it with its SHA-256; wait a second and run again (or unset SOURCE_DATE_EPOCH, which fixes the clock)"
    )]
    Exists { path: PathBuf },
}

/// Largest snapshot read. One of a thousand domains is a few megabytes.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 << 20;

pub fn load(path: &Path) -> Result<Snapshot, StoreError> {
    let bytes = crate::local_file::read(path, MAX_SNAPSHOT_BYTES, "snapshot").map_err(|cause| {
        StoreError::Read {
            path: path.into(),
            cause,
        }
    })?;
    let snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| StoreError::Json {
        path: path.into(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if snap.schema != SCHEMA {
        return Err(StoreError::Schema {
            path: path.into(),
            found: snap.schema,
        });
    }
    Ok(snap)
}

/// Whether the file is named as [`file_name`] names snapshots.
pub fn is_snapshot_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"))
        .is_some_and(|stem| chrono::NaiveDateTime::parse_from_str(stem, "%Y-%m-%dT%H%M%SZ").is_ok())
}

/// File name for a snapshot taken at `t`: sortable, colon-free (portable to every file system).
pub fn file_name(t: DateTime<Utc>) -> String {
    format!("{}.json", t.format("%Y-%m-%dT%H%M%SZ"))
}

/// Writes atomically (temp file + rename) so a crash never leaves half a snapshot behind.
/// Never replaces a stored snapshot: evidence of earlier periods names each by its SHA-256.
pub fn save(dir: &Path, snap: &Snapshot) -> Result<PathBuf, StoreError> {
    let path = dir.join(file_name(snap.taken_at));
    write(&path, snap, false)?;
    Ok(path)
}

/// Writes `snap` to a path the user chose (`snapshot --out`), replacing what is there.
pub fn write_to(path: &Path, snap: &Snapshot) -> Result<(), StoreError> {
    write(path, snap, true)
}

fn write(path: &Path, snap: &Snapshot, replace: bool) -> Result<(), StoreError> {
    let werr = |cause| StoreError::Write {
        path: path.into(),
        cause,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(werr)?;
    let mut json = serde_json::to_vec_pretty(snap).map_err(|e| werr(std::io::Error::other(e)))?;
    json.push(b'\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(werr)?;
    std::io::Write::write_all(&mut tmp, &json).map_err(werr)?;
    // Temp files are created 0600; a snapshot is evidence meant to be read by the team.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(werr)?;
    }
    if replace {
        tmp.persist(path).map_err(|e| werr(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::Exists { path: path.into() }
            } else {
                werr(e.error)
            }
        })?;
    }
    Ok(())
}

/// Every stored snapshot in `dir`, oldest first, by `taken_at` as recorded inside the file.
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, Snapshot)>, StoreError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => {
            return Err(StoreError::List {
                path: dir.into(),
                cause,
            });
        }
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|cause| StoreError::List {
            path: dir.into(),
            cause,
        })?;
        let path = entry.path();
        // Only files named as `save` names them: other JSON beside them (an evidence file, a
        // FIFO someone named .json) is not a snapshot and is never opened.
        if !is_snapshot_name(&path) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        match load(&path) {
            Ok(s) => out.push((path, s)),
            Err(e) => tracing::warn!("skipping {}: {e}", path.display()),
        }
    }
    out.sort_by(|a, b| a.1.taken_at.cmp(&b.1.taken_at).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// How `run --offline` chose its snapshot, in words for the report.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub path: PathBuf,
    pub snapshot: Snapshot,
    pub reason: String,
}

/// The snapshot that shows the records in force when the period ended: the first one taken
/// after the end (a later one could show changes made months afterwards, which would misstate
/// that period), or failing that the newest taken before the end.
pub fn choose_for_period(
    dir: &Path,
    period_end: DateTime<Utc>,
) -> Result<Option<Chosen>, StoreError> {
    let all = list(dir)?;
    let (after, before): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|(_, s)| s.taken_at >= period_end);
    if let Some((path, snapshot)) = after.into_iter().next() {
        let reason = format!(
            "offline: first stored snapshot taken after the period ended ({})",
            snapshot.taken_at.to_rfc3339()
        );
        return Ok(Some(Chosen {
            path,
            snapshot,
            reason,
        }));
    }
    Ok(before.into_iter().next_back().map(|(path, snapshot)| {
        let reason = format!(
            "offline: no snapshot after the period ended; newest stored snapshot, taken {} (before the period ended)",
            snapshot.taken_at.to_rfc3339()
        );
        Chosen { path, snapshot, reason }
    }))
}

/// The newest snapshot taken strictly before `before`: the baseline for the month-to-month diff
/// when the previous period's evidence does not name one.
pub fn previous_before(
    dir: &Path,
    before: DateTime<Utc>,
) -> Result<Option<(PathBuf, Snapshot)>, StoreError> {
    Ok(list(dir)?.into_iter().rfind(|(_, s)| s.taken_at < before))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::spf_walk::tests::snapshot;
    use crate::snapshot::{Outcome, Rtype};

    #[test]
    fn a_stored_snapshot_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = snapshot(&[("a.example", Rtype::Txt, Outcome::Answer, &["v=spf1 -all"])]);
        let path = save(dir.path(), &first).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // A second capture stamped the same second (a fixed SOURCE_DATE_EPOCH) is refused.
        let mut second = first.clone();
        second.lookups.clear();
        let err = save(dir.path(), &second).unwrap_err();
        assert!(matches!(err, StoreError::Exists { .. }), "{err}");
        assert!(err.to_string().contains("It was kept"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // `snapshot --out` writes where the user said, replacing what is there.
        write_to(&path, &second).unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), bytes);
    }
}

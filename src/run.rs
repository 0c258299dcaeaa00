//! The monthly job: collect, assess, publish — and write `<output>/<YYYY-MM>/` atomically.

use crate::assess::{self, Inputs};
use crate::config::Config;
use crate::evidence::{Evidence, SnapshotRef};
use crate::inventory::Inventory;
use crate::period::{Month, Period};
use crate::reports::model::InputFile;
use crate::snapshot::{ScopedDomain, SelectorSource, Snapshot, store};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::store::StoreError),
    #[error("DNS capture failed: {0}")]
    Dns(String),
    /// The transport probes could not start (a bad `[tls] ca_file`): probe failures of single
    /// hosts are outcomes in the snapshot, never this.
    #[error("transport probes: {0}; fix [tls] in the config, or set probe = false")]
    Transport(String),
    #[error(
        "--offline: no stored snapshot in {0}; run `mailproof snapshot --config …` first, or run without --offline"
    )]
    NoSnapshot(PathBuf),
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "another mailproof run holds the lock {0}; wait for it to finish (or remove the file if no run is active)"
    )]
    Locked(PathBuf),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(
        "{path}: {message}. Findings are compared with the previous period's evidence to mark them new, persisting or resolved; restore that file, or move it aside to assess this period without the comparison"
    )]
    PreviousEvidence { path: PathBuf, message: String },
    #[error(transparent)]
    Decisions(#[from] crate::decisions::DecisionsError),
    #[error(
        "{path} (listed in `reports` in {config}) does not exist; fix the path, or create the folder if no reports have arrived yet"
    )]
    ReportsPath { path: PathBuf, config: PathBuf },
    #[error(
        "no DNS lookup was answered ({lookups} asked of {servers}, every one failed, the first: {first}): there is no evidence to assess, so nothing was written and no snapshot stored. Check that the resolver is reachable from this machine (`[dns] nameservers` in the config, or --nameserver), then run again"
    )]
    NothingAnswered {
        lookups: usize,
        servers: String,
        first: String,
    },
    #[error(
        "{dir} already holds this period's assessment, and its evidence is more complete than this run's: {losses}. It was kept as it is{removed}. Run again when the evidence is back, or pass --force to replace it anyway"
    )]
    LessComplete {
        dir: PathBuf,
        losses: String,
        removed: String,
    },
    #[error(
        "{month} has not begun in {timezone}: there is nothing to assess yet. Give the month that just ended (or omit --period, which picks it)"
    )]
    NotBegun { month: Month, timezone: String },
    #[error(
        "{month} is not final until {final_at} ({grace} after it ended: policy.report_grace_days), because receivers send a day's report a day or two later. Nothing was written. Run again after that time, or pass --allow-partial to publish it now marked as partial (the final run replaces it)"
    )]
    NotFinal {
        month: Month,
        final_at: String,
        grace: String,
    },
}

/// What the caller asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub period: Option<Month>,
    pub offline: bool,
    /// `--nameserver` overrides.
    pub nameservers: Vec<SocketAddr>,
    /// The run's clock: `SOURCE_DATE_EPOCH` when set, so reruns are byte-identical.
    pub now: DateTime<Utc>,
    /// Replace the period's output even when its evidence is more complete than this run's.
    pub force: bool,
    /// Assess a period that has not reached its grace end, marked as partial.
    pub allow_partial: bool,
}

/// What the run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub evidence: Evidence,
    /// Ids of the open findings at or above `policy.fail_on` (exit code 3 when any).
    /// Accepted risks are not among them; an expired acceptance is.
    pub over_threshold: Vec<String>,
    /// The period's earlier output this run replaced, when there was one, in words: a rerun
    /// never replaces a published assessment silently.
    pub replaced: Option<String>,
}

/// The run's clock: `SOURCE_DATE_EPOCH` (reproducible builds convention) or the wall clock.
pub fn clock() -> DateTime<Utc> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .unwrap_or_else(Utc::now)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How a path is written into evidence: relative to the config file's folder when inside it,
/// so the evidence is the same whichever directory cron runs from, and the next month can find
/// the files again.
pub fn evidence_path(cfg: &Config, path: &Path) -> String {
    let base = cfg.path.parent().unwrap_or(Path::new(""));
    let shown = if base.as_os_str().is_empty() {
        Some(path)
    } else {
        path.strip_prefix(base).ok()
    };
    shown.unwrap_or(path).display().to_string()
}

/// Report file names in evidence are written like every other path: relative to the config.
fn relativize_report_paths(cfg: &Config, set: &mut crate::reports::ReportSet) {
    let rel = |s: &mut String| *s = evidence_path(cfg, Path::new(s.as_str()));
    set.files.iter_mut().for_each(|f| rel(&mut f.path));
    set.rejected.iter_mut().for_each(|r| rel(&mut r.file));
    set.reports.iter_mut().for_each(|r| rel(&mut r.origin.file));
    for d in &mut set.duplicates {
        rel(&mut d.origin.file);
        rel(&mut d.kept.file);
    }
    set.tls
        .reports
        .iter_mut()
        .for_each(|r| rel(&mut r.origin.file));
    for d in &mut set.tls.duplicates {
        rel(&mut d.origin.file);
        rel(&mut d.kept.file);
    }
}

/// The inverse of [`evidence_path`].
pub fn resolve_evidence_path(cfg: &Config, recorded: &str) -> PathBuf {
    let p = Path::new(recorded);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cfg.path.parent().unwrap_or(Path::new("")).join(p)
    }
}

fn file_input(cfg: &Config, path: &Path, kind: &str) -> Result<InputFile, RunError> {
    let bytes = std::fs::read(path).map_err(|cause| RunError::Read {
        path: path.into(),
        cause,
    })?;
    Ok(InputFile {
        path: evidence_path(cfg, path),
        kind: kind.into(),
        bytes: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
    })
}

/// DKIM selectors to probe per domain: from the config, the inventory and the period's reports.
pub fn scoped_domains(
    cfg: &Config,
    inv: &Inventory,
    reports: &crate::reports::ReportSet,
) -> Vec<ScopedDomain> {
    cfg.domains
        .iter()
        .map(|d| {
            let mut sel: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for s in &d.selectors {
                sel.entry(s.to_ascii_lowercase())
                    .or_default()
                    .insert("config".into());
            }
            for v in inv
                .vendors
                .iter()
                .filter(|v| v.domains.iter().any(|x| x == &d.name))
            {
                let signs_as_us =
                    v.dkim_domains.is_empty() || v.dkim_domains.iter().any(|x| x == &d.name);
                if signs_as_us {
                    for s in &v.dkim_selectors {
                        sel.entry(s.clone()).or_default().insert("inventory".into());
                    }
                }
            }
            for (domain, s) in reports.dkim_signatures() {
                if crate::snapshot::normalize_name(domain) == d.name {
                    let s = s.trim().to_ascii_lowercase();
                    if !s.is_empty() && s.len() <= 63 && !s.contains(char::is_whitespace) {
                        sel.entry(s).or_default().insert("reports".into());
                    }
                }
            }
            ScopedDomain {
                name: d.name.clone(),
                role: d.role,
                selectors: sel
                    .into_iter()
                    .map(|(selector, sources)| SelectorSource {
                        selector,
                        sources: sources.into_iter().collect(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Captures a live snapshot for the configured domains and stores it.
/// Addresses whose SPF verdict the assessment needs (VEN-002): a few sampled from each PHI
/// vendor's ranges, for each configured domain it sends as. The capture evaluates SPF for each
/// and stores every answer that evaluation needed (macros and `ptr` depend on the address).
pub fn spf_probes(cfg: &Config, inv: &Inventory) -> Vec<crate::dns::SpfProbe> {
    let mut out = Vec::new();
    for v in inv.vendors.iter().filter(|v| v.phi == Some(true)) {
        for d in cfg
            .domains
            .iter()
            .filter(|d| v.domains.is_empty() || v.domains.contains(&d.name))
        {
            for net in &v.ip_ranges {
                for ip in crate::records::spf_eval::sample_addresses(net) {
                    out.push(crate::dns::SpfProbe {
                        domain: d.name.clone(),
                        ip,
                    });
                }
            }
        }
    }
    out
}

/// Report sources whose reverse-DNS name is worth asking, the ones sending the most messages
/// first: those the inventory does not attribute by address or authentication (at most
/// [`MAX_PTR_SOURCES`]), so `ptr_suffixes` can attribute them and the rest can be grouped by
/// the organization that runs them; and the inventory's own sending addresses (at most
/// [`MAX_SENDER_PTR`]), because mailbox providers refuse mail from an address without
/// forward-confirmed reverse DNS (BULK-003).
pub fn ptr_sources(reports: &crate::reports::ReportSet, inv: &Inventory) -> Vec<std::net::IpAddr> {
    let mut unknown: std::collections::HashMap<std::net::IpAddr, u64> =
        std::collections::HashMap::new();
    let mut senders: std::collections::HashMap<std::net::IpAddr, u64> =
        std::collections::HashMap::new();
    for m in &reports.aggregate.rows {
        let which = if crate::attribution::attribute(&m.row, inv).is_none() {
            &mut unknown
        } else {
            &mut senders
        };
        let n = which.entry(m.row.source_ip).or_default();
        *n = n.saturating_add(m.row.count);
    }
    let ranked = |m: std::collections::HashMap<std::net::IpAddr, u64>, max: usize| {
        let mut v: Vec<(std::net::IpAddr, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().take(max).map(|(ip, _)| ip)
    };
    ranked(unknown, MAX_PTR_SOURCES)
        .chain(ranked(senders, MAX_SENDER_PTR))
        .collect()
}

/// The inventory's sending addresses whose reverse DNS one run asks at most.
pub const MAX_SENDER_PTR: usize = 100;

/// Report sources whose reverse DNS one run asks at most.
pub const MAX_PTR_SOURCES: usize = 500;

pub fn capture_and_store(
    cfg: &Config,
    domains: &[ScopedDomain],
    probes: &[crate::dns::SpfProbe],
    sources: &[std::net::IpAddr],
    nameservers: &[SocketAddr],
    now: DateTime<Utc>,
    out: Option<&Path>,
) -> Result<(PathBuf, Snapshot), RunError> {
    let settings =
        crate::dns::ResolverSettings::from_config(&cfg.dns).with_nameserver_override(nameservers);
    // A bad anchor file is a setup error: say so before a capture that could not validate.
    let anchor = crate::dns::Anchor::load(cfg.tls.dnssec_trust_anchor.as_deref())
        .map_err(|e| RunError::Dns(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Dns(e.to_string()))?;
    let mut snap = rt
        .block_on(crate::dns::capture_with_sources(
            domains, probes, sources, &settings, now,
        ))
        .map_err(|e| RunError::Dns(e.to_string()))?;
    snap.organization = Some(cfg.organization.clone());
    snap.scope_sha256 = Some(scope_sha256(cfg));
    if !snap.nothing_answered() {
        // The transport probes connect where the DNS just said; a DNS that answered nothing
        // is refused below instead.
        snap.dnssec = Some(
            rt.block_on(crate::dns::validate_dnssec(&snap, &settings, &anchor))
                .map_err(|e| RunError::Dns(e.to_string()))?,
        );
        snap.transport = Some(
            rt.block_on(crate::transport::capture(&snap, &cfg.tls))
                .map_err(RunError::Transport)?,
        );
    }
    if snap.nothing_answered() {
        let first = snap
            .evidence_gaps()
            .next()
            .map(gap_line)
            .unwrap_or_default();
        return Err(RunError::NothingAnswered {
            lookups: snap.evidence_lookups().count(),
            servers: snap.nameservers.join(", "),
            first,
        });
    }
    let path = match out {
        Some(p) => {
            store::write_to(p, &snap)?;
            p.to_path_buf()
        }
        None => store::save(&cfg.snapshots, &snap)?,
    };
    Ok((path, snap))
}

/// SHA-256 over the config's scope: each domain's name, role and configured selectors, in
/// config order. Two snapshots with the same value were taken for the same scope.
pub fn scope_sha256(cfg: &Config) -> String {
    let mut text = String::new();
    for d in &cfg.domains {
        text.push_str(&format!(
            "{} {:?} {}\n",
            d.name,
            d.role,
            d.selectors.join(",")
        ));
    }
    sha256_hex(text.as_bytes())
}

/// A failed lookup as the run names it on stderr and in evidence.json.
pub fn gap_line(l: &crate::snapshot::Lookup) -> String {
    format!(
        "{} {}: {}{}",
        l.name,
        l.rtype.label(),
        l.outcome.label(),
        l.error
            .as_deref()
            .map(|e| format!(" ({})", crate::text::excerpt(e, 200)))
            .unwrap_or_default()
    )
}

fn snapshot_ref(
    cfg: &Config,
    path: &Path,
    snap: &Snapshot,
    selection: String,
) -> Result<SnapshotRef, RunError> {
    let bytes = std::fs::read(path).map_err(|cause| RunError::Read {
        path: path.into(),
        cause,
    })?;
    Ok(SnapshotRef {
        path: evidence_path(cfg, path),
        taken_at: snap.taken_at,
        sha256: sha256_hex(&bytes),
        selection,
        nameservers: snap.nameservers.clone(),
    })
}

pub fn run(cfg: &Config, opts: &RunOptions) -> Result<RunOutcome, RunError> {
    let month = opts
        .period
        .unwrap_or_else(|| Month::previous_of(opts.now, cfg.timezone));
    let period = Period::new(month, cfg.timezone);
    tracing::info!(period = %month, organization = %cfg.organization, "mailproof run");
    let final_at = period.final_at(cfg.policy.report_grace_days, cfg.timezone);
    if opts.now < period.start {
        return Err(RunError::NotBegun {
            month,
            timezone: period.timezone.clone(),
        });
    }
    let partial = opts.now < final_at;
    if partial && !opts.allow_partial {
        return Err(RunError::NotFinal {
            month,
            final_at: final_at
                .with_timezone(&cfg.timezone)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string(),
            grace: crate::text::count(
                usize::try_from(cfg.policy.report_grace_days).unwrap_or(usize::MAX),
                "day",
                "days",
            ),
        });
    }
    std::fs::create_dir_all(&cfg.output).map_err(|cause| RunError::Write {
        path: cfg.output.clone(),
        cause,
    })?;
    let lock_path = cfg.output.join(".mailproof.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|cause| RunError::Write {
            path: lock_path.clone(),
            cause,
        })?;
    if lock.try_lock().is_err() {
        return Err(RunError::Locked(lock_path));
    }

    let mut inputs = vec![file_input(cfg, &cfg.path, "config")?];
    // The decisions file is read first: a bad one stops the run before anything is written.
    let (decisions, decisions_file) = match &cfg.risk_decisions {
        Some(p) => {
            let (d, bytes) = crate::decisions::load(p)?;
            let input = InputFile {
                path: evidence_path(cfg, p),
                kind: "risk-decisions".into(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            };
            let file = (input.path.clone(), input.sha256.clone());
            inputs.push(input);
            (d.entries, Some(file))
        }
        None => (Vec::new(), None),
    };
    let inventory = match &cfg.inventory {
        Some(p) => {
            inputs.push(file_input(cfg, p, "inventory")?);
            let mut inv = Inventory::load_sheet(p, cfg.inventory_sheet.as_deref())?;
            inv.source = Some(inv.named(&evidence_path(cfg, p)));
            // What the reader of stderr must know at once: how the file was read, and the
            // columns not read. Normalized values are listed by `mailproof inventory`.
            let file = p.display();
            for n in inv.notes.iter().filter(|n| !n.starts_with("line ")) {
                tracing::warn!("{file}: {n}");
            }
            let normalized = inv.notes.iter().filter(|n| n.starts_with("line ")).count();
            if normalized > 0 {
                tracing::info!(
                    "{file}: {normalized} values read in a normalized form (`mailproof inventory {file}` lists them)"
                );
            }
            for c in &inv.unknown_columns {
                tracing::warn!("{file}: column `{c}` is not one mailproof reads and is ignored");
            }
            inv
        }
        None => Inventory::default(),
    };
    for p in &cfg.reports {
        if !p.exists() {
            return Err(RunError::ReportsPath {
                path: p.clone(),
                config: cfg.path.clone(),
            });
        }
    }
    let mut reports = crate::reports::store::ingest(&cfg.reports, Some(&period));
    relativize_report_paths(cfg, &mut reports);
    tracing::info!(
        files = reports.files.len(),
        accepted = reports.reports.len(),
        rejected = reports.rejected.len(),
        "reports ingested"
    );
    inputs.extend(reports.files.iter().cloned());

    let scoped = scoped_domains(cfg, &inventory, &reports);
    let (snap_path, snapshot, selection) = if opts.offline {
        let chosen = store::choose_for_period(&cfg.snapshots, period.end)?
            .ok_or_else(|| RunError::NoSnapshot(cfg.snapshots.clone()))?;
        let gap = (chosen.snapshot.taken_at - period.end).num_days().abs();
        let mut reason = chosen.reason;
        if gap > 7 {
            reason.push_str(&format!(
                "; NOTE: taken {gap} days from the end of the period, so it may not show the records in force then"
            ));
            tracing::warn!(snapshot = %chosen.path.display(), gap_days = gap, "offline snapshot is far from the period end");
        }
        tracing::info!(snapshot = %chosen.path.display(), "{reason}");
        (chosen.path, chosen.snapshot, reason)
    } else {
        let (p, s) = capture_and_store(
            cfg,
            &scoped,
            &spf_probes(cfg, &inventory),
            &ptr_sources(&reports, &inventory),
            &opts.nameservers,
            opts.now,
            None,
        )?;
        (p, s, "captured live for this run".to_string())
    };
    let snap_ref = snapshot_ref(cfg, &snap_path, &snapshot, selection)?;
    inputs.push(InputFile {
        path: snap_ref.path.clone(),
        kind: "snapshot".into(),
        bytes: std::fs::metadata(&snap_path).map(|m| m.len()).unwrap_or(0),
        sha256: snap_ref.sha256.clone(),
    });

    // The previous period: its evidence (for new/persisting/resolved) and its snapshot (diff).
    let prev_label = month.prev().to_string();
    let prev_evidence_path = cfg.output.join(&prev_label).join("evidence.json");
    let (previous_evidence, previous_sha256) = match load_previous_evidence(&prev_evidence_path)? {
        Some((e, sha)) => (Some(e), Some(sha)),
        None => (None, None),
    };
    let previous_snapshot = previous_evidence
        .as_ref()
        .and_then(|e| e.snapshot.as_ref())
        .and_then(|r| {
            let p = resolve_evidence_path(cfg, &r.path);
            store::load(&p).ok().map(|s| (p, s))
        })
        .filter(|(p, _)| p != &snap_path)
        .or(store::previous_before(&cfg.snapshots, snapshot.taken_at)?);
    let previous_ref = match &previous_snapshot {
        Some((p, s)) => Some(snapshot_ref(
            cfg,
            p,
            s,
            "previous period's snapshot".into(),
        )?),
        None => None,
    };

    let listed = store::list(&cfg.snapshots)?
        .into_iter()
        .filter(|(_, s)| s.taken_at <= snapshot.taken_at)
        .collect::<Vec<_>>();
    let mut snapshots_used = vec![snap_ref.clone()];
    snapshots_used.extend(previous_ref.clone());
    for (p, s) in &listed {
        // This period's and the previous period's snapshots are already hashed above.
        if snapshots_used
            .iter()
            .any(|r| r.path == evidence_path(cfg, p))
        {
            continue;
        }
        snapshots_used.push(snapshot_ref(
            cfg,
            p,
            s,
            "stored snapshot read for history and key-age tracking".into(),
        )?);
    }
    let history: Vec<(String, Snapshot)> = listed
        .into_iter()
        .map(|(p, s)| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, s)
        })
        .collect();
    let earlier = earlier_periods(
        cfg,
        month,
        previous_evidence.as_ref(),
        previous_sha256.as_deref(),
    );
    let mut evidence = assess::assess(&Inputs {
        history: &history,
        organization: &cfg.organization,
        period: &period,
        generated_at: opts.now,
        domains: &cfg.domains,
        scoped: &scoped,
        policy: &cfg.policy,
        snapshot: Some((&snapshot, snap_ref)),
        previous_snapshot: previous_snapshot.as_ref().map(|(_, s)| s).zip(previous_ref),
        previous_evidence: previous_evidence.as_ref(),
        previous_evidence_path: previous_evidence
            .as_ref()
            .map(|_| evidence_path(cfg, &prev_evidence_path)),
        reports: &reports,
        inventory: &inventory,
        inputs,
        earlier: &earlier,
        governance: &cfg.governance,
        controls: &cfg.controls,
        decisions: &decisions,
        decisions_file,
    });
    evidence.partial = partial;
    evidence.cut_off = partial.then_some(opts.now);
    evidence.final_at = Some(final_at);
    evidence.late_reports = crate::late_reports::find(
        month,
        cfg.timezone,
        &reports.earlier,
        &mut OutputFolder(cfg),
        previous_evidence.as_ref(),
        &cfg.domains
            .iter()
            .map(|d| d.name.clone())
            .collect::<Vec<_>>(),
        &inventory,
    );
    if reports.earlier_dropped > 0 {
        tracing::warn!(
            kept = reports.earlier.len(),
            dropped = reports.earlier_dropped,
            "too many reports for earlier periods to check them all for lateness"
        );
    }
    // The evidence holds all the PDF needs; the reports' rows and the snapshot history are
    // freed before Typst lays out the document, so the two peaks never add up.
    drop(reports);
    drop(history);

    let dir = cfg.output.join(month.to_string());
    record_provenance(&mut evidence, cfg, &dir, previous_sha256, snapshots_used);
    evidence.completeness = Some(crate::evidence::Completeness {
        lookups: snapshot.evidence_lookups().count(),
        failed_lookups: snapshot.evidence_gaps().map(gap_line).collect(),
        rejected_inventory_rows: evidence
            .vendors
            .rejected_rows
            .iter()
            .map(|r| match &evidence.vendors.source {
                Some(file) => format!("{file} {r}"),
                None => r.clone(),
            })
            .collect(),
        accepted_reports: evidence.reports.accepted,
        failed_probes: snapshot.probe_gaps(),
        failed_dnssec: snapshot.dnssec_gaps(),
    });
    // A rerun must not trade a complete month for a worse one (a DNS outage, a reports folder
    // not mounted): the published output stays unless the operator says otherwise.
    if !opts.force
        && let Some(published) = published_completeness(&dir.join("evidence.json"))
    {
        let losses = evidence
            .completeness
            .as_ref()
            .map(|c| c.losses_against(&published))
            .unwrap_or_default();
        if !losses.is_empty() {
            let removed = if opts.offline {
                String::new()
            } else {
                match std::fs::remove_file(&snap_path) {
                    Ok(()) => format!(
                        "; the snapshot this run captured ({}) was removed, so it is not read as evidence later",
                        snap_path.display()
                    ),
                    Err(e) => format!(
                        "; the snapshot this run captured ({}) could not be removed ({e}): delete it by hand",
                        snap_path.display()
                    ),
                }
            };
            return Err(RunError::LessComplete {
                dir,
                losses: losses.join("; "),
                removed,
            });
        }
    }
    let replaced = match load_previous_evidence(&dir.join("evidence.json")) {
        Ok(Some((e, sha))) => Some(format!(
            "replaced the earlier output of {month} in {}, generated {}{} (its evidence.json had SHA-256 {sha}; the earlier PDF is no longer on disk unless kept elsewhere)",
            dir.display(),
            e.generated_at.format("%Y-%m-%d %H:%M UTC"),
            if e.partial { ", partial" } else { "" }
        )),
        _ => None,
    };
    publish(&evidence, &dir, cfg.templates.as_deref())?;
    if let Some(r) = &replaced {
        tracing::warn!("{r}");
    }
    let over_threshold = match cfg.policy.fail_on {
        Some(t) => evidence
            .findings
            .iter()
            .filter(|f| f.is_open() && f.risk >= t.level())
            .map(|f| f.id.clone())
            .collect(),
        None => Vec::new(),
    };
    drop(lock);
    Ok(RunOutcome {
        dir,
        evidence,
        over_threshold,
        replaced,
    })
}

/// Earlier periods as published in the output folder, for [`crate::late_reports`].
struct OutputFolder<'a>(&'a Config);

impl crate::late_reports::Published for OutputFolder<'_> {
    fn counted(&mut self, month: Month) -> Option<BTreeSet<(String, String)>> {
        let path = self.0.output.join(month.to_string()).join("evidence.json");
        match load_previous_evidence(&path) {
            Ok(found) => found.map(|(e, _)| crate::late_reports::counted_in(&e)),
            Err(e) => {
                tracing::warn!(period = %month, "cannot tell which of its reports arrived late: {e}");
                None
            }
        }
    }
}

/// The completeness of a period's published evidence, when there is one that can be read.
/// Unreadable evidence protects nothing: it is replaced (publishing writes atomically).
fn published_completeness(path: &Path) -> Option<crate::evidence::Completeness> {
    match load_previous_evidence(path) {
        Ok(Some((e, _))) => Some(e.completeness()),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "the period's published evidence cannot be read and will be replaced: {e}");
            None
        }
    }
}

/// The earlier periods of the history window (`policy.history_months`), as found in the
/// output folder. The previous period was already read (and is required to be sound); the
/// others are optional: a missing or unreadable one is recorded, never fatal.
fn earlier_periods(
    cfg: &Config,
    month: Month,
    previous: Option<&Evidence>,
    previous_sha256: Option<&str>,
) -> Vec<crate::assess::history::Earlier> {
    use crate::assess::history::{Earlier, Found};
    let mut out = Vec::new();
    let mut m = month;
    for k in 1..=cfg.policy.history_months {
        m = m.prev();
        let path = cfg.output.join(m.to_string()).join("evidence.json");
        let shown = evidence_path(cfg, &path);
        let found = if k == 1 {
            match previous.zip(previous_sha256) {
                Some((e, sha)) => Found::Read {
                    evidence: Box::new(e.clone()),
                    sha256: sha.to_string(),
                    path: shown,
                },
                None => Found::Missing { path: shown },
            }
        } else {
            match load_previous_evidence(&path) {
                Ok(Some((e, sha256))) => Found::Read {
                    evidence: Box::new(e),
                    sha256,
                    path: shown,
                },
                Ok(None) => Found::Missing { path: shown },
                Err(err) => {
                    tracing::warn!(period = %m, "earlier period left out of the trends: {err}");
                    Found::Unreadable {
                        path: shown,
                        reason: match err {
                            RunError::PreviousEvidence { message, .. } => message,
                            other => other.to_string(),
                        },
                    }
                }
            }
        };
        out.push(Earlier { month: m, found });
    }
    // Months before the first period ever assessed are not gaps: drop the missing ones older
    // than the oldest period found.
    let oldest_found = out
        .iter()
        .filter(|e| !matches!(e.found, Found::Missing { .. }))
        .map(|e| e.month)
        .min();
    out.retain(|e| match oldest_found {
        Some(o) => e.month >= o,
        None => false,
    });
    out
}

/// What `verify` needs to check this period years later, added once the assessment is done
/// (it is about where the evidence came from, not what it concludes): the hash that chains
/// this period to the previous one, where the inputs are seen from the output folder, and
/// every snapshot read, once each (by recorded path), oldest first.
fn record_provenance(
    evidence: &mut Evidence,
    cfg: &Config,
    dir: &Path,
    previous_sha256: Option<String>,
    mut snapshots_used: Vec<SnapshotRef>,
) {
    if let Some(prev) = evidence.previous.as_mut() {
        prev.sha256 = previous_sha256;
    }
    evidence.input_root = Some(input_root(cfg, dir));
    let mut seen = BTreeSet::new();
    snapshots_used.retain(|r| seen.insert(r.path.clone()));
    snapshots_used.sort_by(|a, b| {
        a.taken_at
            .cmp(&b.taken_at)
            .then_with(|| a.path.cmp(&b.path))
    });
    evidence.snapshots_used = snapshots_used;
}

/// The config file's folder as seen from the period folder `dir`, from canonical paths (so a
/// symlinked output folder still leads back to the inputs). Absolute when no relative path
/// exists (different drives) or a folder cannot be resolved.
fn input_root(cfg: &Config, dir: &Path) -> String {
    let base = cfg
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = base
        .canonicalize()
        .or_else(|_| std::path::absolute(base))
        .unwrap_or_else(|_| base.to_path_buf());
    // The period folder may not exist yet; its parent (the output folder) does.
    let out = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            parent.canonicalize().ok().map(|p| p.join(name))
        }
        _ => None,
    };
    out.and_then(|out| crate::verify::relative_path(&out, &base))
        .unwrap_or(base)
        .to_string_lossy()
        .into_owned()
}

/// The previous period's evidence, if it exists, with the SHA-256 of the bytes read (the
/// chain link). A file that exists but is not a mailproof evidence document is an error:
/// silently skipping it would mark every finding "new".
fn load_previous_evidence(path: &Path) -> Result<Option<(Evidence, String)>, RunError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(RunError::Read {
                path: path.into(),
                cause: e,
            });
        }
    };
    let err = |message: String| RunError::PreviousEvidence {
        path: path.into(),
        message,
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| err(format!("not valid JSON ({e})")))?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(crate::evidence::SCHEMA) {
        return Err(err(format!("not a {} document", crate::evidence::SCHEMA)));
    }
    serde_json::from_value(v)
        .map(|e| Some((e, sha256_hex(&bytes))))
        .map_err(|e| err(format!("unreadable evidence ({e})")))
}

/// Writes the five artifacts into a temporary folder beside `dir`, then swaps it into place, so
/// a reader never sees a half-written month and a failed run leaves the old one untouched.
pub fn publish(evidence: &Evidence, dir: &Path, templates: Option<&Path>) -> Result<(), RunError> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| RunError::Write { path, cause }
    };
    std::fs::create_dir_all(parent).map_err(werr(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".mailproof-")
        .tempdir_in(parent)
        .map_err(werr(parent))?;

    let json = crate::render::evidence_json(evidence);
    let csv = crate::render::csv::findings_csv(evidence);
    let poam = crate::render::csv::poam_csv(evidence);
    let pdf = crate::render::pdf::render_pdf(evidence, &csv, templates)?;
    let files: [(&str, &[u8]); 4] = [
        ("evidence.json", &json),
        ("findings.csv", &csv),
        ("poam.csv", &poam),
        ("report.pdf", &pdf),
    ];
    let mut sums = String::new();
    for (name, bytes) in files {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).map_err(werr(&p))?;
        sums.push_str(&format!("{}  {}\n", sha256_hex(bytes), name));
    }
    let p = tmp.path().join("SHA256SUMS");
    std::fs::write(&p, sums).map_err(werr(&p))?;

    let staged = tmp.keep();
    let old = parent.join(format!(
        ".mailproof-old-{}",
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    // A crash between the two renames below leaves only the old copy: put it back first, so
    // the previous month's output is never lost.
    if old.exists() && !dir.exists() {
        std::fs::rename(&old, dir).map_err(werr(dir))?;
    }
    let _ = std::fs::remove_dir_all(&old);
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).map_err(werr(dir))?;
    }
    if let Err(e) = std::fs::rename(&staged, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(RunError::Write {
            path: dir.into(),
            cause: e,
        });
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

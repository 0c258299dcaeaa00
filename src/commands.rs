//! Command handlers: the binary edge, where library errors gain context for the user.

use crate::cli::{Cli, Command, DiffFormat, TextJson, TextJsonCsv};
use anyhow::{Context, Result, bail};
use mailproof::config::Config;
use mailproof::evidence::{DomainPosture, Finding};
use mailproof::period::Period;
use mailproof::terminal::Escaping;
use mailproof::text::count;
use mailproof::{assess, inventory::Inventory, reports, run, snapshot};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// `println!` through [`Escaping`]: a stranger's file name cannot drive the terminal. A closed
/// stdout (a pipe to `head`) is not an error worth a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(Escaping::new(std::io::stdout().lock()), $($arg)*);
    }};
}

/// `eprintln!` through [`Escaping`].
macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(Escaping::new(std::io::stderr().lock()), $($arg)*);
    }};
}

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let ns = cli.global.nameservers.clone();
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Run {
            config,
            period,
            offline,
            force,
            allow_partial,
        } => {
            let cfg = load_config(&config)?;
            let opts = run::RunOptions {
                period,
                offline,
                nameservers: ns,
                now: run::clock(),
                force,
                allow_partial,
            };
            let out = run::run(&cfg, &opts)
                .with_context(|| format!("run with {} failed", config.display()))?;
            let c = &out.evidence.risk_counts;
            if !quiet {
                errln!(
                    "mailproof: wrote {} — open findings: {} very high, {} high, {} moderate, {} low, {} very low ({} overdue); {} accepted; {} resolved; reports: {} accepted, {} rejected",
                    tidy(&out.dir).display(),
                    c.very_high,
                    c.high,
                    c.moderate,
                    c.low,
                    c.very_low,
                    c.overdue,
                    c.accepted,
                    c.resolved,
                    out.evidence.reports.accepted,
                    out.evidence.reports.rejected.len()
                );
                if !out.evidence.late_reports.is_empty() {
                    errln!(
                        "mailproof: {} for earlier, already published periods arrived late; listed under \"Late reports\" (late_reports[] in evidence.json)",
                        count(out.evidence.late_reports.len(), "report", "reports")
                    );
                }
                if out.evidence.partial {
                    errln!(
                        "mailproof: PARTIAL: the period is not final until {}; run again then, and the final assessment replaces this one",
                        out.evidence
                            .final_at
                            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                            .unwrap_or_default()
                    );
                }
            }
            if !out.over_threshold.is_empty() {
                errln!(
                    "mailproof: {} at or above policy.fail_on (exit 3); accept or fix them:",
                    mailproof::text::count(
                        out.over_threshold.len(),
                        "open finding",
                        "open findings"
                    )
                );
                for id in &out.over_threshold {
                    errln!("  {id}");
                }
            }
            // Incomplete evidence outranks the threshold: cron must see that the month's
            // findings may be missing some, whatever they are.
            let complete = out.evidence.completeness.clone().unwrap_or_default();
            if complete.is_incomplete() {
                report_gaps(&complete);
                return Ok(ExitCode::from(4));
            }
            if !out.over_threshold.is_empty() {
                return Ok(ExitCode::from(3));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Snapshot { config, out } => {
            let cfg = load_config(&config)?;
            let inv = match &cfg.inventory {
                Some(p) => Inventory::load_sheet(p, cfg.inventory_sheet.as_deref())?,
                None => Inventory::default(),
            };
            let now = run::clock();
            let month = mailproof::period::Month::previous_of(now, cfg.timezone);
            let period = Period::new(month, cfg.timezone);
            let reports = reports::store::ingest(&cfg.reports, Some(&period));
            let scoped = run::scoped_domains(&cfg, &inv, &reports);
            let (path, snap) = run::capture_and_store(
                &cfg,
                &scoped,
                &run::spf_probes(&cfg, &inv),
                &run::ptr_sources(&reports, &inv),
                &ns,
                now,
                out.as_deref(),
            )?;
            let gaps: Vec<String> = snap.evidence_gaps().map(run::gap_line).collect();
            outln!("{}", path.display());
            errln!(
                "mailproof: {} lookups for {} domains ({} failed: evidence incomplete for those names)",
                snap.lookups.len(),
                snap.domains.len(),
                gaps.len()
            );
            Ok(exit_for_gaps(&snap, gaps))
        }
        Command::Check {
            domains,
            selectors,
            format,
            smtp_port,
            ca_file,
            dnssec_anchor,
            no_probe,
        } => {
            let bad: Vec<&String> = domains
                .iter()
                .chain(&selectors)
                .filter(|d| !is_dns_name(d))
                .collect();
            if !bad.is_empty() {
                for b in bad {
                    errln!(
                        "mailproof: error: {b:?} is not a domain name or selector (letters, digits, '-' and '_' in dot-separated labels of 1-63 characters)"
                    );
                }
                return Ok(ExitCode::from(2));
            }
            for f in ca_file.iter().chain(&dnssec_anchor) {
                if !f.is_file() {
                    bail!("{} does not exist: give a PEM or zone file", f.display());
                }
            }
            let tls = mailproof::config::TlsConfig {
                probe: !no_probe,
                smtp_port,
                ca_file,
                dnssec_trust_anchor: dnssec_anchor,
                ..Default::default()
            };
            check(&domains, &selectors, format, &ns, &tls)
        }
        Command::Reports {
            paths,
            period,
            format,
        } => {
            for p in &paths {
                if !p.exists() {
                    bail!(
                        "{} does not exist: give report files or folders",
                        p.display()
                    );
                }
            }
            let period = period.map(|m| Period::new(m, chrono_tz::UTC));
            // A progress bar only when a person watches: never in cron mail or pipes.
            let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} files, {msg} [{elapsed}<{eta}]",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                Some(bar)
            } else {
                None
            };
            let started = std::time::Instant::now();
            let set = reports::store::ingest_with_progress(
                &paths,
                period.as_ref(),
                &reports::open::Limits::default(),
                &mut |p| {
                    if let Some(bar) = &bar {
                        bar.set_length(p.files_total as u64);
                        bar.set_position(p.files_done as u64);
                        bar.set_message(format!(
                            "{} MB, {} reports, {} rejected",
                            p.bytes_done >> 20,
                            p.reports,
                            p.rejected
                        ));
                    }
                },
            );
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            print_reports(&set, format)?;
            let secs = started.elapsed().as_secs_f64();
            errln!(
                "mailproof: {}, {}, {} rejected, {}, {} out of period, {}, {} in {:.1}s",
                count(set.files.len(), "file", "files"),
                count(set.reports.len(), "report", "reports"),
                set.rejected.len(),
                count(set.duplicates.len(), "duplicate", "duplicates"),
                set.out_of_period,
                count(
                    set.reports.iter().map(|r| r.record_count()).sum::<usize>(),
                    "record",
                    "records"
                ),
                count(
                    usize::try_from(set.reports.iter().map(|r| r.messages()).sum::<u64>())
                        .unwrap_or(usize::MAX),
                    "message",
                    "messages"
                ),
                secs
            );
            let tls = &set.tls;
            if !tls.reports.is_empty() || !tls.duplicates.is_empty() || tls.out_of_period > 0 {
                errln!(
                    "mailproof: {}, {}, {} out of period",
                    count(tls.reports.len(), "SMTP TLS report", "SMTP TLS reports"),
                    count(tls.duplicates.len(), "duplicate", "duplicates"),
                    tls.out_of_period
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            old,
            new,
            config,
            period,
            format,
            inventory,
            history,
            fail_on,
        } => {
            let pair = match (config, old, new) {
                (Some(c), _, _) => {
                    DiffPair::from_config(&load_config(&c)?, period, inventory, history)?
                }
                (None, Some(old), Some(new)) => DiffPair::files(old, new, inventory, history)?,
                _ => bail!("give OLD and NEW snapshot files, or --config FILE"),
            };
            diff(pair, format, fail_on.is_some())
        }
        Command::Inventory { file, sheet } => {
            let inv = Inventory::load_sheet(&file, sheet.as_deref())?;
            let mut out = Escaping::new(std::io::stdout().lock());
            let rows_out = inv.rejected.iter().filter(|r| !r.kept).count();
            writeln!(
                out,
                "{}: {}, {} rejected, {} unreadable",
                file.display(),
                count(inv.vendors.len(), "vendor", "vendors"),
                count(rows_out, "row", "rows"),
                count(inv.rejected.len() - rows_out, "cell", "cells")
            )?;
            for v in &inv.vendors {
                writeln!(
                    out,
                    "  line {:>3}  {:<28} phi={:<7} baa={:<12} domains={}",
                    v.line,
                    v.vendor,
                    if v.unknown("phi") {
                        "unreadable"
                    } else {
                        v.phi
                            .map(|p| if p { "yes" } else { "no" })
                            .unwrap_or("unknown")
                    },
                    if v.unknown("baa") {
                        "unreadable"
                    } else {
                        v.baa.map(|b| b.label()).unwrap_or("unknown")
                    },
                    v.domains.join(",")
                )?;
                for m in &v.incomplete {
                    writeln!(out, "            incomplete: {m}")?;
                }
            }
            for n in &inv.notes {
                writeln!(out, "  note: {n}")?;
            }
            for c in &inv.unknown_columns {
                writeln!(
                    out,
                    "  warning: column `{c}` is not one mailproof reads and is ignored (columns: vendor, service, domains, spf_includes, dkim_selectors, dkim_domains, ip_ranges, ptr_suffixes, phi, baa, baa_expires, owner, status, ended_on, notes; the README lists the other names each is known by)"
                )?;
            }
            for c in &inv.missing_columns {
                errln!(
                    "{}: line 1 (header): no `{c}` column (nor one of its aliases): every vendor's `{c}` is unknown and no BAA can be checked; add the column",
                    file.display()
                );
            }
            for r in &inv.rejected {
                errln!("{}: {r}", file.display());
            }
            Ok(
                if inv.rejected.is_empty() && inv.missing_columns.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                },
            )
        }
        Command::Render {
            evidence,
            out,
            templates,
        } => {
            let bytes = mailproof::local_file::read(&evidence, 256 << 20, "evidence file")
                .with_context(|| format!("cannot read {}", evidence.display()))?;
            // The schema is checked before the content: a newer or foreign schema would be
            // read with fields missing or misread, and the PDF would say something untrue.
            let schema = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("schema").and_then(|s| s.as_str()).map(String::from));
            match schema.as_deref() {
                Some(mailproof::evidence::SCHEMA) => {}
                Some(other) => bail!(
                    "{} has schema {:?}; this mailproof renders {:?} only (render it with the mailproof version that wrote it)",
                    evidence.display(),
                    mailproof::text::excerpt(other, 80),
                    mailproof::evidence::SCHEMA
                ),
                None => bail!(
                    "{} is not a mailproof evidence.json (no \"schema\" field)",
                    evidence.display()
                ),
            }
            let ev: mailproof::evidence::Evidence =
                serde_json::from_slice(&bytes).with_context(|| {
                    format!("{} is not a mailproof evidence.json", evidence.display())
                })?;
            let csv = mailproof::render::csv::findings_csv(&ev);
            let pdf = mailproof::render::pdf::render_pdf(&ev, &csv, templates.as_deref())?;
            write_atomically(&out, &pdf)?;
            errln!("mailproof: wrote {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            dir,
            chain,
            snapshots,
            format,
        } => verify(&dir, chain, snapshots, format),
    }
}

/// `mailproof verify`: the report on stdout, the verdict (and the first failure) on stderr so
/// cron mail and scripts reading JSON both see it.
/// Exit 4's explanation on stderr: what is missing, and what to do about it.
fn report_gaps(c: &mailproof::evidence::Completeness) {
    if !c.failed_lookups.is_empty() {
        errln!(
            "mailproof: evidence incomplete (exit 4): {} of {} failed; the findings on those names cannot be confirmed, and none of them is read as a missing record. Check the resolver, then run again:",
            mailproof::text::count(c.failed_lookups.len(), "DNS lookup", "DNS lookups"),
            c.lookups
        );
        for l in &c.failed_lookups {
            errln!("  {l}");
        }
    }
    if !c.failed_probes.is_empty() {
        errln!(
            "mailproof: evidence incomplete (exit 4): {} could not reach their server; whether those hosts offer TLS, or what their MTA-STS policy says, is unknown (NET-001). Check that outbound ports 25 and 443 are open from this machine, then run again:",
            mailproof::text::count(c.failed_probes.len(), "transport probe", "transport probes")
        );
        for l in &c.failed_probes {
            errln!("  {l}");
        }
    }
    if !c.failed_dnssec.is_empty() {
        errln!(
            "mailproof: evidence incomplete (exit 4): the DNSSEC status of {} could not be determined: the validator could not fetch the DNSKEY and DS records of its chain. Check that the resolver passes DNSSEC records (EDNS, DO bit) and that the trust anchor is current, then run again:",
            mailproof::text::count(c.failed_dnssec.len(), "name", "names")
        );
        for l in &c.failed_dnssec {
            errln!("  {l}");
        }
    }
    if !c.rejected_inventory_rows.is_empty() {
        errln!(
            "mailproof: evidence incomplete (exit 4): {} in the vendor inventory; fix {} so every vendor is fully assessed:",
            mailproof::text::count(c.rejected_inventory_rows.len(), "rejection", "rejections"),
            if c.rejected_inventory_rows.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
        for r in &c.rejected_inventory_rows {
            errln!("  {r}");
        }
    }
}

fn verify(
    dir: &std::path::Path,
    chain: bool,
    snapshots: Option<std::path::PathBuf>,
    format: TextJson,
) -> Result<ExitCode> {
    let opts = mailproof::verify::Options { chain, snapshots };
    let report = match mailproof::verify::verify(dir, &opts) {
        Ok(r) => r,
        Err(e) => {
            errln!("mailproof: error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut out = Escaping::new(std::io::stdout().lock());
    match format {
        TextJson::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        TextJson::Text => report.write_text(&mut out)?,
    }
    out.flush()?;
    match &report.first_failure {
        None => Ok(ExitCode::SUCCESS),
        Some(f) => {
            errln!("mailproof: verify failed: {}: {}", f.file, f.detail);
            Ok(ExitCode::from(1))
        }
    }
}

/// The two snapshots `diff` compares, and what else it may read.
struct DiffPair {
    old: (std::path::PathBuf, snapshot::Snapshot),
    new: (std::path::PathBuf, snapshot::Snapshot),
    inventory: Option<std::path::PathBuf>,
    /// The workbook sheet, when the inventory is an `.xlsx` named by the config.
    sheet: Option<String>,
    /// Folder of stored snapshots for key ages; `None`: only the two files.
    history: Option<std::path::PathBuf>,
    max_age_days: u32,
}

impl DiffPair {
    fn files(
        old: std::path::PathBuf,
        new: std::path::PathBuf,
        inventory: Option<std::path::PathBuf>,
        history: Option<std::path::PathBuf>,
    ) -> Result<DiffPair> {
        let a = snapshot::store::load(&old)?;
        let b = snapshot::store::load(&new)?;
        Ok(DiffPair {
            old: (old, a),
            new: (new, b),
            inventory,
            sheet: None,
            history,
            max_age_days: mailproof::config::PolicyConfig::default().dkim_max_age_days,
        })
    }

    /// The period's snapshot (as `run --offline` picks it) and the one stored before it.
    fn from_config(
        cfg: &Config,
        period: Option<mailproof::period::Month>,
        inventory: Option<std::path::PathBuf>,
        history: Option<std::path::PathBuf>,
    ) -> Result<DiffPair> {
        let month = period
            .unwrap_or_else(|| mailproof::period::Month::previous_of(run::clock(), cfg.timezone));
        let p = Period::new(month, cfg.timezone);
        let chosen =
            snapshot::store::choose_for_period(&cfg.snapshots, p.end)?.with_context(|| {
                format!(
                    "no stored snapshot in {}: run `mailproof snapshot --config …` first",
                    cfg.snapshots.display()
                )
            })?;
        let (old_path, old) = snapshot::store::previous_before(
            &cfg.snapshots,
            chosen.snapshot.taken_at,
        )?
        .with_context(|| {
            format!(
                "{} is the oldest snapshot in {}: there is nothing before it to compare with",
                chosen.path.display(),
                cfg.snapshots.display()
            )
        })?;
        Ok(DiffPair {
            old: (old_path, old),
            new: (chosen.path, chosen.snapshot),
            sheet: if inventory.is_none() {
                cfg.inventory_sheet.clone()
            } else {
                None
            },
            inventory: inventory.or(cfg.inventory.clone()),
            history: history.or(Some(cfg.snapshots.clone())),
            max_age_days: cfg.policy.dkim_max_age_days,
        })
    }
}

/// `mailproof diff`: what changed between two snapshots and what it means. Keys unchanged past
/// the rotation window are judged over `--history` (or the config's snapshot folder), so the age
/// is the key's real age; without one, only the two files are read.
fn diff(pair: DiffPair, format: DiffFormat, fail_on_weakened: bool) -> Result<ExitCode> {
    let (old_path, a) = &pair.old;
    let (new_path, b) = &pair.new;
    if a.taken_at > b.taken_at {
        errln!(
            "mailproof: error: OLD ({}, taken {}) is newer than NEW ({}, taken {}): give the older snapshot first",
            old_path.display(),
            a.taken_at.format("%Y-%m-%d %H:%M UTC"),
            new_path.display(),
            b.taken_at.format("%Y-%m-%d %H:%M UTC")
        );
        return Ok(ExitCode::from(2));
    }
    if let (Some(x), Some(y)) = (&a.organization, &b.organization)
        && x != y
    {
        errln!(
            "mailproof: error: the snapshots are of two organizations ({x:?} in {}, {y:?} in {}): compare snapshots of one organization",
            old_path.display(),
            new_path.display()
        );
        return Ok(ExitCode::from(2));
    }
    let scope_changed = matches!((&a.scope_sha256, &b.scope_sha256), (Some(x), Some(y)) if x != y);
    let inv = match &pair.inventory {
        Some(p) => Inventory::load_sheet(p, pair.sheet.as_deref())?,
        None => Inventory::default(),
    };
    let mut changes = snapshot::diff::diff(a, b, &inv);
    let stored = match &pair.history {
        Some(d) => snapshot::store::list(d)
            .with_context(|| format!("cannot read the snapshot history in {}", d.display()))?,
        None => Vec::new(),
    };
    let mut history: Vec<&snapshot::Snapshot> = stored.iter().map(|(_, s)| s).collect();
    history.push(a);
    changes.extend(snapshot::diff::stale_keys(&history, b, pair.max_age_days));
    rate_changes(&mut changes, b, &history, &inv, pair.max_age_days);
    // One block per domain, in the snapshot's domain order (the sort is stable).
    let rank = |d: &str| {
        b.domains
            .iter()
            .position(|x| x.name == d)
            .unwrap_or(usize::MAX)
    };
    changes.sort_by_key(|c| rank(&c.domain));
    let mut out = Escaping::new(std::io::stdout().lock());
    let head = DiffHead {
        old: old_path,
        new: new_path,
        a,
        b,
        scope_changed,
    };
    match format {
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &changes)?;
            writeln!(out)?;
        }
        DiffFormat::Text => print_diff_text(&mut out, &head, &changes)?,
        DiffFormat::Markdown => print_diff_markdown(&mut out, &head, &changes)?,
    }
    out.flush()?;
    let weakened = changes
        .iter()
        .filter(|c| c.effect == mailproof::evidence::Effect::Weakened)
        .count();
    if fail_on_weakened && weakened > 0 {
        errln!(
            "mailproof: {} weakened protection (exit 3, --fail-on weakened)",
            count(weakened, "change", "changes")
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// Each change's risk by the same rule a run uses, with what `diff` knows (the snapshots and
/// the inventory; no reports).
fn rate_changes(
    changes: &mut [mailproof::evidence::Change],
    b: &snapshot::Snapshot,
    history: &[&snapshot::Snapshot],
    inv: &Inventory,
    max_age_days: u32,
) {
    let policy = mailproof::config::PolicyConfig {
        dkim_max_age_days: max_age_days,
        ..Default::default()
    };
    let mut findings = assess::change_checks::assess(changes, history, Some(b), &policy, "diff");
    rate_without_reports(&mut findings, &snapshot_domains(b), inv, b);
    snapshot::diff::attach_risks(changes, &findings);
}

/// The snapshot's domains as configured domains (role kept, no selectors or owner), for the
/// commands that assess a snapshot without a config.
fn snapshot_domains(snap: &snapshot::Snapshot) -> Vec<mailproof::config::DomainConfig> {
    snap.domains
        .iter()
        .map(|d| mailproof::config::DomainConfig {
            name: d.name.clone(),
            role: d.role,
            selectors: vec![],
            owner: None,
        })
        .collect()
}

/// The same rating rule as a run, with what `check` and `diff` know: no reports.
fn rate_without_reports(
    findings: &mut [Finding],
    domains: &[mailproof::config::DomainConfig],
    inv: &Inventory,
    snap: &snapshot::Snapshot,
) {
    assess::rating::apply(
        findings,
        &assess::rating::Facts {
            domains,
            inventory: inv,
            vendor_volume: &Default::default(),
            covered: &Default::default(),
            any_reports: false,
            controls: &[],
            vendor_spf: &Default::default(),
            spf_errors: &Default::default(),
            spf_checked: &Default::default(),
            period_end: snap.taken_at.date_naive(),
            policy_raised: &Default::default(),
            past_abuse: &Default::default(),
        },
    );
}

/// What the diff's heading names: both files with their times, and whether the scope changed.
struct DiffHead<'a> {
    old: &'a std::path::Path,
    new: &'a std::path::Path,
    a: &'a snapshot::Snapshot,
    b: &'a snapshot::Snapshot,
    scope_changed: bool,
}

impl DiffHead<'_> {
    fn lines(&self, changes: &[mailproof::evidence::Change]) -> Vec<String> {
        use mailproof::evidence::Effect;
        let n = |e: Effect| changes.iter().filter(|c| c.effect == e).count();
        let mut out = vec![
            format!(
                "older: {} (taken {})",
                self.old.display(),
                self.a.taken_at.format("%Y-%m-%d %H:%M UTC")
            ),
            format!(
                "newer: {} (taken {})",
                self.new.display(),
                self.b.taken_at.format("%Y-%m-%d %H:%M UTC")
            ),
            format!(
                "{} weakened, {} strengthened, {} neutral, {} unverified (a lookup failed: whether it changed cannot be told)",
                n(Effect::Weakened),
                n(Effect::Strengthened),
                n(Effect::Neutral),
                n(Effect::Unverified)
            ),
        ];
        if self.scope_changed {
            out.push("note: the config's scope (domains, roles or selectors) changed between the two snapshots".into());
        }
        out
    }
}

/// Marks a change by its effect, so what got weaker stands out and a failed lookup is never
/// mistaken for a quiet record.
fn diff_marker(effect: mailproof::evidence::Effect) -> &'static str {
    use mailproof::evidence::Effect;
    match effect {
        Effect::Weakened => "!!",
        Effect::Strengthened => "++",
        Effect::Neutral => "  ",
        Effect::Unverified => "??",
    }
}

fn print_diff_text(
    out: &mut impl Write,
    head: &DiffHead,
    changes: &[mailproof::evidence::Change],
) -> Result<()> {
    writeln!(out, "DNS changes")?;
    for l in head.lines(changes) {
        writeln!(out, "  {l}")?;
    }
    if changes.is_empty() {
        writeln!(
            out,
            "  no changes: every record in scope was answered in both and means the same"
        )?;
    }
    let mut domain = "";
    for c in changes {
        if c.domain != domain {
            domain = &c.domain;
            writeln!(out, "\n{domain}")?;
        }
        writeln!(
            out,
            "  {} {:<8} {:<12} {}: {}{}",
            diff_marker(c.effect),
            c.area,
            c.effect.word(),
            c.name,
            c.meaning,
            match (&c.check, c.risk) {
                (Some(id), Some(r)) => format!(" [{id}, risk {}]", r.label()),
                (Some(id), None) => format!(" [{id}]"),
                _ => String::new(),
            }
        )?;
        if let Some(x) = &c.before {
            writeln!(out, "        - {x}")?;
        }
        if let Some(x) = &c.after {
            writeln!(out, "        + {x}")?;
        }
    }
    Ok(())
}

fn print_diff_markdown(
    out: &mut impl Write,
    head: &DiffHead,
    changes: &[mailproof::evidence::Change],
) -> Result<()> {
    writeln!(
        out,
        "## DNS changes: {} → {}\n",
        head.a.taken_at.format("%Y-%m-%d"),
        head.b.taken_at.format("%Y-%m-%d")
    )?;
    for l in head.lines(changes) {
        writeln!(out, "- {}", md(&l))?;
    }
    writeln!(out)?;
    if changes.is_empty() {
        writeln!(out, "No changes.")?;
        return Ok(());
    }
    writeln!(
        out,
        "| Domain | Area | Name | Effect | Check | Risk | Meaning | Before | After |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
    for c in changes {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&c.domain),
            md(&c.area),
            md(&c.name),
            c.effect.word(),
            c.check.as_deref().unwrap_or(""),
            c.risk.map(|r| r.label()).unwrap_or(""),
            md(&c.meaning),
            c.before.as_deref().map(md).unwrap_or_default(),
            c.after.as_deref().map(md).unwrap_or_default()
        )?;
    }
    Ok(())
}

fn load_config(path: &std::path::Path) -> Result<Config> {
    Config::load(path)
        .context("fix the configuration file and run again (see README.md, \"Configuration\")")
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[derive(Serialize)]
struct CheckOut<'a> {
    #[serde(flatten)]
    posture: &'a DomainPosture,
    findings: Vec<&'a Finding>,
}

fn check(
    domains: &[String],
    selectors: &[String],
    format: TextJson,
    ns: &[std::net::SocketAddr],
    tls: &mailproof::config::TlsConfig,
) -> Result<ExitCode> {
    let settings = mailproof::dns::ResolverSettings::from_config(&Default::default())
        .with_nameserver_override(ns);
    let anchor = mailproof::dns::Anchor::load(tls.dnssec_trust_anchor.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut snap = rt.block_on(mailproof::dns::capture_names(
        domains,
        selectors,
        &settings,
        run::clock(),
    ))?;
    if !snap.nothing_answered() {
        snap.dnssec =
            Some(rt.block_on(mailproof::dns::validate_dnssec(&snap, &settings, &anchor))?);
        snap.transport = Some(
            rt.block_on(mailproof::transport::capture(&snap, tls))
                .map_err(|e| anyhow::anyhow!("transport probes: {e}"))?,
        );
    }
    let cfgs = snapshot_domains(&snap);
    let postures: Vec<DomainPosture> = cfgs
        .iter()
        .map(|d| assess::posture::build(d, &snap.domains, &snap))
        .collect();
    let policy = mailproof::config::PolicyConfig::default();
    let inv = Inventory::default();
    let reps = reports::ReportSet::default();
    let mut findings = assess::dns_checks::assess(&assess::dns_checks::Context {
        domains: &cfgs,
        postures: &postures,
        snapshot: &snap,
        inventory: &inv,
        reports: &reps,
        policy: &policy,
        label: "check",
        period_end: snap.taken_at.date_naive(),
    });
    findings.extend(assess::transport_checks::assess(&cfgs, &snap, "check"));
    rate_without_reports(&mut findings, &cfgs, &inv, &snap);
    let outs: Vec<CheckOut> = postures
        .iter()
        .map(|p| CheckOut {
            posture: p,
            findings: findings
                .iter()
                .filter(|f| f.domain.as_deref() == Some(p.domain.as_str()))
                .collect(),
        })
        .collect();
    let mut out = Escaping::new(std::io::stdout().lock());
    match format {
        TextJson::Json => {
            let json: Vec<serde_json::Value> =
                outs.iter().map(check_json).collect::<Result<_>>()?;
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        TextJson::Text => {
            for o in &outs {
                print_posture_text(&mut out, o)?;
            }
        }
    }
    out.flush()?;
    // The same exit codes as `run`: a check that could not ask is an error, one that could
    // not ask everything is incomplete, never a clean bill of health.
    if snap.nothing_answered() {
        errln!(
            "mailproof: error: no DNS lookup was answered ({} asked of {}, every one failed): nothing above is evidence. Check that the resolver is reachable from this machine (--nameserver), then run again",
            snap.evidence_lookups().count(),
            snap.nameservers.join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    let gaps: Vec<String> = snap.evidence_gaps().map(run::gap_line).collect();
    Ok(exit_for_gaps(&snap, gaps))
}

/// Exit 4 with the failed lookups on stderr when a capture is incomplete, else 0: the same
/// answer from `snapshot` and `check`.
fn exit_for_gaps(snap: &snapshot::Snapshot, gaps: Vec<String>) -> ExitCode {
    let probes = snap.probe_gaps();
    let dnssec = snap.dnssec_gaps();
    if gaps.is_empty() && probes.is_empty() && dnssec.is_empty() {
        return ExitCode::SUCCESS;
    }
    report_gaps(&mailproof::evidence::Completeness {
        lookups: snap.evidence_lookups().count(),
        failed_lookups: gaps,
        failed_probes: probes,
        failed_dnssec: dnssec,
        ..Default::default()
    });
    ExitCode::from(4)
}

/// One domain of `check --format json`: the posture, with `mx[]` as objects (host, the
/// probe's STARTTLS, TLS session and certificate, TLSA) and `mta_sts{}` and `tls_rpt{}` as
/// objects, per the DESIGN.md contract; the raw records stay under their own keys.
fn check_json(o: &CheckOut) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(o)?;
    if let (Some(obj), Some(t)) = (v.as_object_mut(), &o.posture.transport) {
        obj.insert("mx".into(), serde_json::to_value(&t.mx)?);
        obj.insert("null_mx".into(), serde_json::Value::Bool(t.null_mx));
        obj.insert("mta_sts".into(), serde_json::to_value(&t.mta_sts)?);
        obj.insert("tls_rpt".into(), serde_json::to_value(&t.tls_rpt)?);
        obj.insert("transport_probed".into(), serde_json::Value::Bool(t.probed));
        obj.remove("transport");
    }
    Ok(v)
}

fn print_transport_text(
    out: &mut impl Write,
    t: &mailproof::evidence::transport::TransportPosture,
) -> Result<()> {
    if t.null_mx {
        writeln!(out, "  MX     null MX (0 .): the domain takes no mail")?;
    }
    for m in &t.mx {
        let tls = match (&m.starttls, &m.tls) {
            (_, Some(s)) => format!("STARTTLS {} {}", s.version, s.cipher),
            (Some(false), _) => "no STARTTLS".to_string(),
            (Some(true), None) => "STARTTLS offered, no TLS session".to_string(),
            (None, _) => m.probe.clone(),
        };
        writeln!(
            out,
            "  MX     {} {} [{}]: {}{}",
            m.preference,
            m.host,
            m.addresses.join(", "),
            tls,
            m.error
                .as_deref()
                .filter(|_| m.probe != "ok")
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )?;
        if let Some(c) = &m.certificate {
            let leaf = c.chain.first();
            writeln!(
                out,
                "         certificate {}: {}; issuer {}; expires {}",
                if c.valid { "valid" } else { "INVALID" },
                c.error.as_deref().unwrap_or("trusted, names the host"),
                leaf.map_or("-", |l| l.issuer.as_str()),
                leaf.map_or("-", |l| l.not_after.as_str())
            )?;
        }
        for r in &m.tlsa {
            writeln!(out, "         TLSA {r}")?;
        }
        if let (Some(h), Some(t)) = (&m.dnssec, &m.tlsa_dnssec) {
            writeln!(
                out,
                "         DNSSEC {h} (address), {t} (TLSA{})",
                if m.tlsa.is_empty() { " absence" } else { "" }
            )?;
        }
        if m.sts_covered == Some(false) {
            writeln!(
                out,
                "         not covered by the MTA-STS policy's mx patterns"
            )?;
        }
    }
    let s = &t.mta_sts;
    match (&s.record, &s.fetch) {
        (None, _) => writeln!(out, "  MTA-STS none")?,
        (Some(r), None) => writeln!(out, "  MTA-STS {r} (policy not fetched)")?,
        (Some(r), Some(f)) => writeln!(
            out,
            "  MTA-STS {r}; policy {}: {}{}",
            f.url,
            f.outcome,
            match (&s.mode, s.max_age) {
                (Some(m), Some(a)) =>
                    format!(", mode {m}, max_age {a}, mx {}", s.mx_patterns.join(" ")),
                _ => f
                    .error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default(),
            }
        )?,
    }
    writeln!(
        out,
        "  TLSRPT {}",
        t.tls_rpt.record.as_deref().unwrap_or("none")
    )?;
    Ok(())
}

fn print_posture_text(out: &mut impl Write, o: &CheckOut) -> Result<()> {
    let p = o.posture;
    writeln!(
        out,
        "{}  [{}]{}",
        p.domain,
        p.grade,
        p.dnssec
            .as_deref()
            .map(|d| format!("  DNSSEC: {d}"))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "  SPF    {}: {}",
        p.spf.status,
        p.spf.record.as_deref().unwrap_or("-")
    )?;
    writeln!(
        out,
        "         {} DNS lookups (limit 10), {} void (limit 2), {} octets; all = {}",
        p.spf.lookups,
        p.spf.void_lookups,
        p.spf_size_octets,
        p.spf.all.as_deref().unwrap_or("-")
    )?;
    for line in &p.spf.tree {
        writeln!(out, "         {line}")?;
    }
    writeln!(
        out,
        "  DMARC  {}: {}{}",
        p.dmarc.status,
        p.dmarc.record.as_deref().unwrap_or("-"),
        p.dmarc
            .location
            .as_deref()
            .map(|l| format!("  (at {l})"))
            .unwrap_or_default()
    )?;
    if p.dmarc.status == "found" {
        writeln!(
            out,
            "         p={} sp={} np={}{}{}; organizational domain {}",
            p.dmarc.p.as_deref().unwrap_or("none"),
            p.dmarc.sp.as_deref().unwrap_or("(p)"),
            p.dmarc.np.as_deref().unwrap_or("(sp)"),
            p.dmarc.pct.map(|x| format!(" pct={x}")).unwrap_or_default(),
            p.dmarc
                .t
                .as_deref()
                .map(|t| format!(" t={t}"))
                .unwrap_or_default(),
            p.dmarc.org_domain.as_deref().unwrap_or("-")
        )?;
    }
    for d in &p.dmarc.destinations {
        writeln!(
            out,
            "         {} {}: {}{}; MX {}",
            d.kind,
            d.uri,
            if d.external {
                "external, "
            } else {
                "own organization"
            },
            if d.external {
                d.authorization.as_str()
            } else {
                ""
            },
            if d.mx.is_empty() {
                d.mx_outcome.clone()
            } else {
                d.mx.join(", ")
            }
        )?;
    }
    for k in &p.dkim {
        let mut flags = Vec::new();
        if k.testing {
            flags.push("t=y (testing)".to_string());
        }
        if !k.hash_algorithms.is_empty() {
            flags.push(format!("h={}", k.hash_algorithms.join(":")));
        }
        if !k.cname_chain.is_empty() {
            flags.push(format!("via CNAME {}", k.cname_chain.join(" → ")));
        }
        writeln!(
            out,
            "  DKIM   {}: {} {}{}{}{}",
            k.selector,
            k.status,
            k.key_type.as_deref().unwrap_or(""),
            k.key_bits.map(|b| format!(" {b} bits")).unwrap_or_default(),
            k.fingerprint
                .as_deref()
                .map(|f| format!(" sha256:{}", f.get(..16).unwrap_or(f)))
                .unwrap_or_default(),
            if flags.is_empty() {
                String::new()
            } else {
                format!("  [{}]", flags.join(", "))
            }
        )?;
    }
    match &p.transport {
        Some(t) => print_transport_text(out, t)?,
        None => writeln!(
            out,
            "  MX     {}",
            if p.mx.is_empty() {
                "-".to_string()
            } else {
                p.mx.join(", ")
            }
        )?,
    }
    let dkim_msgs = |f: fn(&mailproof::evidence::DkimPosture) -> &Vec<String>| {
        p.dkim.iter().flat_map(f).cloned().collect::<Vec<String>>()
    };
    for m in p
        .spf
        .errors
        .iter()
        .chain(&p.dmarc.errors)
        .chain(&dkim_msgs(|k| &k.errors))
    {
        writeln!(out, "  error: {m}")?;
    }
    for m in p
        .spf
        .warnings
        .iter()
        .chain(&p.dmarc.warnings)
        .chain(&dkim_msgs(|k| &k.warnings))
    {
        writeln!(out, "  warning: {m}")?;
    }
    for f in &o.findings {
        writeln!(
            out,
            "  {} [{} risk, {}] {}",
            f.check,
            f.risk.label(),
            f.severity.label(),
            f.title
        )?;
    }
    writeln!(out)?;
    Ok(())
}

#[derive(Serialize)]
struct ReportsJson<'a> {
    reports: Vec<ReportLine<'a>>,
    rejected: &'a [reports::Rejected],
    duplicates: usize,
    totals: Totals,
    /// SMTP TLS reports (RFC 8460), in DESIGN.md's contract shape.
    tls_reports: Vec<TlsReportLine<'a>>,
    /// Second copies of a TLS report already listed, each with the copy kept.
    tls_duplicates: Vec<TlsDuplicateLine<'a>>,
}

#[derive(Serialize)]
struct TlsReportLine<'a> {
    file: &'a str,
    member: Option<&'a str>,
    org_name: &'a str,
    report_id: &'a str,
    begin: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    policies: Vec<TlsPolicyLine<'a>>,
}

#[derive(Serialize)]
struct TlsPolicyLine<'a> {
    policy_type: &'static str,
    policy_domain: &'a str,
    mx_host: &'a [String],
    successful: u64,
    failed: u64,
    failures: Vec<TlsFailureLine<'a>>,
}

#[derive(Serialize)]
struct TlsFailureLine<'a> {
    result_type: &'a str,
    sending_ip: Option<std::net::IpAddr>,
    receiving_mx_hostname: Option<&'a str>,
    count: u64,
}

#[derive(Serialize)]
struct TlsDuplicateLine<'a> {
    file: &'a str,
    member: Option<&'a str>,
    kept_file: &'a str,
    kept_member: Option<&'a str>,
}

fn tls_lines(set: &reports::ReportSet) -> Vec<TlsReportLine<'_>> {
    set.tls
        .reports
        .iter()
        .map(|r| TlsReportLine {
            file: &r.origin.file,
            member: r.origin.member.as_deref(),
            org_name: &r.org_name,
            report_id: &r.report_id,
            begin: r.begin,
            end: r.end,
            policies: r
                .policies
                .iter()
                .map(|p| TlsPolicyLine {
                    policy_type: p.policy_type.word(),
                    policy_domain: &p.policy_domain,
                    mx_host: &p.mx_hosts,
                    successful: p.successful_sessions,
                    failed: p.failed_sessions,
                    failures: p
                        .failures
                        .iter()
                        .map(|f| TlsFailureLine {
                            result_type: f.result_type.word(),
                            sending_ip: f.sending_mta_ip,
                            receiving_mx_hostname: f.receiving_mx_hostname.as_deref(),
                            count: f.failed_sessions,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// Columns the CSV adds after the DMARC ones for SMTP TLS reports: one row per failure
/// detail, or one per policy that has none (README, "`reports`").
const TLS_CSV_COLUMNS: [&str; 11] = [
    "kind",
    "member",
    "policy_type",
    "policy_domain",
    "mx_host",
    "successful",
    "failed",
    "result_type",
    "sending_ip",
    "receiving_mx_hostname",
    "count",
];

#[derive(Serialize)]
struct ReportLine<'a> {
    file: String,
    org_name: &'a str,
    report_id: &'a str,
    domain: &'a str,
    begin: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    records: usize,
    messages: u64,
}

#[derive(Serialize)]
struct Totals {
    files: usize,
    reports: usize,
    records: usize,
    messages: u64,
}

fn print_reports(set: &reports::ReportSet, format: TextJsonCsv) -> Result<()> {
    let lines: Vec<ReportLine> = set
        .reports
        .iter()
        .map(|r| ReportLine {
            file: r.origin.to_string(),
            org_name: &r.org_name,
            report_id: &r.report_id,
            domain: &r.policy.domain,
            begin: r.begin,
            end: r.end,
            records: r.record_count(),
            messages: r.messages(),
        })
        .collect();
    let totals = Totals {
        files: set.files.len(),
        reports: lines.len(),
        records: lines.iter().map(|l| l.records).sum(),
        messages: lines.iter().map(|l| l.messages).sum(),
    };
    let mut out = Escaping::new(std::io::stdout().lock());
    match format {
        TextJsonCsv::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &ReportsJson {
                    reports: lines,
                    rejected: &set.rejected,
                    duplicates: set.duplicates.len(),
                    totals,
                    tls_reports: tls_lines(set),
                    tls_duplicates: set
                        .tls
                        .duplicates
                        .iter()
                        .map(|d| TlsDuplicateLine {
                            file: &d.origin.file,
                            member: d.origin.member.as_deref(),
                            kept_file: &d.kept.file,
                            kept_member: d.kept.member.as_deref(),
                        })
                        .collect(),
                },
            )?;
            writeln!(out)?;
        }
        TextJsonCsv::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let mut header = vec![
                "file",
                "org_name",
                "report_id",
                "domain",
                "begin",
                "end",
                "records",
                "messages",
            ];
            header.extend(TLS_CSV_COLUMNS);
            w.write_record(&header)?;
            let blank_tls = [""; 11];
            for l in &lines {
                let mut row = vec![
                    l.file.clone(),
                    l.org_name.to_string(),
                    l.report_id.to_string(),
                    l.domain.to_string(),
                    l.begin.to_rfc3339(),
                    l.end.to_rfc3339(),
                    l.records.to_string(),
                    l.messages.to_string(),
                ];
                row.extend(blank_tls.iter().map(|s| s.to_string()));
                row[8] = "dmarc".to_string();
                w.write_record(&row)?;
            }
            for r in tls_lines(set) {
                for p in &r.policies {
                    let head = |f: Option<&TlsFailureLine<'_>>| -> Vec<String> {
                        vec![
                            r.file.to_string(),
                            r.org_name.to_string(),
                            r.report_id.to_string(),
                            p.policy_domain.to_string(),
                            r.begin.to_rfc3339(),
                            r.end.to_rfc3339(),
                            String::new(),
                            String::new(),
                            "tlsrpt".to_string(),
                            r.member.unwrap_or_default().to_string(),
                            p.policy_type.to_string(),
                            p.policy_domain.to_string(),
                            p.mx_host.join(" "),
                            p.successful.to_string(),
                            p.failed.to_string(),
                            f.map(|f| f.result_type.to_string()).unwrap_or_default(),
                            f.and_then(|f| f.sending_ip)
                                .map(|ip| ip.to_string())
                                .unwrap_or_default(),
                            f.and_then(|f| f.receiving_mx_hostname)
                                .unwrap_or_default()
                                .to_string(),
                            f.map(|f| f.count.to_string()).unwrap_or_default(),
                        ]
                    };
                    if p.failures.is_empty() {
                        w.write_record(head(None))?;
                    }
                    for f in &p.failures {
                        w.write_record(head(Some(f)))?;
                    }
                }
            }
            w.flush()?;
        }
        TextJsonCsv::Text => {
            for l in &lines {
                writeln!(
                    out,
                    "{}  {:<24} {:<28} {:>5} rows {:>7} msgs  {}",
                    l.begin.format("%Y-%m-%d"),
                    l.org_name,
                    l.domain,
                    l.records,
                    l.messages,
                    l.file
                )?;
            }
            for r in tls_lines(set) {
                let origin = match r.member {
                    Some(m) => format!("{} [{m}]", r.file),
                    None => r.file.to_string(),
                };
                for p in &r.policies {
                    writeln!(
                        out,
                        "{}  TLS {:<20} {:<28} {:<15} {:>7} ok {:>7} failed  {}",
                        r.begin.format("%Y-%m-%d"),
                        r.org_name,
                        p.policy_domain,
                        p.policy_type,
                        p.successful,
                        p.failed,
                        origin
                    )?;
                    for f in &p.failures {
                        writeln!(
                            out,
                            "            {:<28} {:>7} sessions  from {}  to {}",
                            f.result_type,
                            f.count,
                            f.sending_ip
                                .map_or("(not given)".to_string(), |ip| ip.to_string()),
                            f.receiving_mx_hostname.unwrap_or("(not given)")
                        )?;
                    }
                }
            }
            for r in &set.rejected {
                writeln!(out, "rejected  {}: {}", r.file, r.reason)?;
            }
        }
    }
    Ok(())
}

/// Writes via a temporary file in the same folder and a rename, so a reader never sees half a PDF.
fn write_atomically(out: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", out.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// `samples/../out/2026-10` → `out/2026-10`, for messages only (no file-system access).
fn tidy(p: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A plausible DNS name for `check`: refusing garbage here is a usage error (exit 2), not a run
/// that records lookup errors.
fn is_dns_name(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

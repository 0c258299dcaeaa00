//! Rows of many reports folded into one bounded summary while ingestion streams.
//!
//! A month of reports for a busy organization is tens of thousands of files, and each file
//! repeats the same few senders with the same results. Keeping every row of every report
//! made memory grow with the corpus (parsedmarc users run out of memory on large mailboxes).
//! Instead, each accepted report's rows are merged into one entry per distinct
//! (published policy, source, identifiers, results, disposition, reasons) tuple as soon as
//! the report is parsed, and the report itself keeps only its summary. The reporters of a
//! tuple are kept as a short list of interned ids with their messages, because the same
//! sender shows up in every large receiver's reports. Memory then grows with the number of
//! distinct senders and verdicts, which is bounded by the organization's real mail flows, not
//! with the number or size of files.
//!
//! The per-day series is a separate small table keyed by (header From, day). **Counting
//! rule for the series:** every message of a report is placed on the calendar day (in the
//! period's time zone, UTC without a period) that contains the midpoint of the report's date
//! range. Reports are usually 24-hour windows aligned on UTC midnight, sometimes shifted by a
//! few hours, sometimes several days long; a report cannot be split by message, and the
//! midpoint puts each one on the day most of its window covers.

use super::model::{AggregateReport, Alignment, Row};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Merging hashes every row of every report, so SipHash showed up in profiles; foldhash is
/// several times faster and still seeded per process, so report content chosen by a stranger
/// cannot precompute collisions to slow the monthly job down.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// The merged-row and daily tables are probed once per row with borrowed keys
/// ([`hashbrown::Equivalent`]), so a row that repeats a known tuple costs no clone.
type ProbeMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// `(day, header_from)` borrowed; hashes as the owned key does (a `&str` hashes as its
/// `String`).
#[derive(Hash)]
struct DayKey<'a>(NaiveDate, &'a str);

impl hashbrown::Equivalent<(NaiveDate, String)> for DayKey<'_> {
    fn equivalent(&self, key: &(NaiveDate, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// [`Key`] borrowed.
#[derive(Hash)]
struct KeyRef<'a>(&'a str, Alignment, Alignment, &'a Row);

impl hashbrown::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0 && self.1 == key.1 && self.2 == key.2 && *self.3 == key.3
    }
}

/// One distinct tuple of results, with the messages of every report that had it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergedRow {
    /// Reporters (indices into [`Aggregate::reporters`]) with the messages each reported.
    pub reporters: Vec<(u32, u64)>,
    /// `policy_published/domain` of the reports this came from.
    pub policy_domain: String,
    /// Alignment modes in force (relaxed when not published).
    pub adkim: Alignment,
    pub aspf: Alignment,
    /// Reports that contributed rows to this tuple.
    pub reports: u32,
    /// The earliest end and the latest begin of the reports that had this tuple: how far apart
    /// in time its mail provably was, whatever the reports' lengths (a weekly report cannot
    /// place a message on a day). Whether a sender's identity repeats or was used once.
    #[serde(default)]
    pub seen: Option<Seen>,
    /// The row; `count` is the total over all contributing reports, `envelope_to` and
    /// `human_result` are dropped (they vary per message and would defeat merging).
    pub row: Row,
}

/// The earliest end and the latest begin of the reports that carried something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub first_end: DateTime<Utc>,
    pub last_begin: DateTime<Utc>,
}

impl Seen {
    pub fn of(begin: DateTime<Utc>, end: DateTime<Utc>) -> Seen {
        Seen {
            first_end: end,
            last_begin: begin,
        }
    }

    /// Both spans together.
    pub fn widen(a: Option<Seen>, b: Option<Seen>) -> Option<Seen> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Seen {
                first_end: a.first_end.min(b.first_end),
                last_begin: a.last_begin.max(b.last_begin),
            }),
            (x, None) | (None, x) => x,
        }
    }

    /// Distinct days the mail provably fell on: 1 when every report overlaps the earliest
    /// one's end, 2 for two consecutive daily reports, n for reports n−1 days apart.
    pub fn days(self) -> i64 {
        let gap = (self.last_begin - self.first_end).num_seconds();
        (gap.div_euclid(86_400) + 2).max(1)
    }
}

/// Messages for one header From domain on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStat {
    pub day: NaiveDate,
    pub header_from: String,
    pub messages: u64,
    /// As the reporters evaluated DMARC (`policy_evaluated`).
    pub dmarc_pass: u64,
    pub dkim_aligned: u64,
    pub spf_aligned: u64,
    pub quarantine: u64,
    pub reject: u64,
}

/// The folded rows of every accepted report, in first-seen order (deterministic, because
/// files are read in path order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub rows: Vec<MergedRow>,
    /// Sorted by (day, header_from).
    pub days: Vec<DayStat>,
    /// Rows before merging, across all accepted reports.
    pub source_rows: u64,
    /// Reporter names (`org_name`), indexed by [`MergedRow::reporters`].
    pub reporters: Vec<String>,
}

impl Aggregate {
    /// The reporters of a merged row, by name, with their messages.
    pub fn reporters_of<'a>(&'a self, m: &'a MergedRow) -> impl Iterator<Item = (&'a str, u64)> {
        m.reporters.iter().map(|(i, n)| {
            let name = self
                .reporters
                .get(*i as usize)
                .map_or("(unknown)", String::as_str);
            (name, *n)
        })
    }

    /// Total messages in the merged rows.
    pub fn messages(&self) -> u64 {
        self.rows.iter().map(|m| m.row.count).sum()
    }
}

type Key = (String, Alignment, Alignment, Row);

#[derive(Debug, Clone)]
struct Tally {
    count: u64,
    reports: u32,
    order: u32,
    /// Index of the last report that touched this tuple, to count reports once.
    last_report: u32,
    reporters: Vec<(u32, u64)>,
    seen: Option<Seen>,
}

impl Tally {
    fn add(&mut self, count: u64, reporter: u32, report_no: u32, seen: Seen) {
        self.count = self.count.saturating_add(count);
        self.seen = Seen::widen(self.seen, Some(seen));
        match self.reporters.iter_mut().find(|(id, _)| *id == reporter) {
            Some((_, n)) => *n = n.saturating_add(count),
            None => self.reporters.push((reporter, count)),
        }
        if self.last_report != report_no {
            self.last_report = report_no;
            self.reports = self.reports.saturating_add(1);
        }
    }
}

impl DayStat {
    fn add(&mut self, row: &Row) {
        let count = row.count;
        self.messages = self.messages.saturating_add(count);
        if row.reporter_dmarc_pass() {
            self.dmarc_pass = self.dmarc_pass.saturating_add(count);
        }
        if row.dkim_evaluated.is_pass() {
            self.dkim_aligned = self.dkim_aligned.saturating_add(count);
        }
        if row.spf_evaluated.is_pass() {
            self.spf_aligned = self.spf_aligned.saturating_add(count);
        }
        match row.disposition.as_str() {
            "quarantine" => self.quarantine = self.quarantine.saturating_add(count),
            "reject" => self.reject = self.reject.saturating_add(count),
            _ => {}
        }
    }
}

/// Accumulates reports one at a time; [`AggregateBuilder::finish`] gives the [`Aggregate`].
#[derive(Debug, Default)]
pub struct AggregateBuilder {
    rows: ProbeMap<Key, Tally>,
    days: ProbeMap<(NaiveDate, String), DayStat>,
    reports: u32,
    source_rows: u64,
    reporter_ids: FastMap<String, u32>,
    reporter_names: Vec<String>,
}

impl AggregateBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds the report's rows in and empties `report.rows`; `tz` places it on a day.
    pub fn fold(&mut self, report: &mut AggregateReport, tz: Tz) {
        self.reports = self.reports.saturating_add(1);
        let report_no = self.reports;
        let day = midpoint_day(report.begin, report.end, tz);
        let adkim = report.policy.dkim_mode();
        let aspf = report.policy.spf_mode();
        let reporter = match self.reporter_ids.get(&report.org_name) {
            Some(id) => *id,
            None => {
                let id = u32::try_from(self.reporter_names.len()).unwrap_or(u32::MAX);
                self.reporter_ids.insert(report.org_name.clone(), id);
                self.reporter_names.push(report.org_name.clone());
                id
            }
        };
        for row in report.rows.drain(..) {
            self.source_rows += 1;
            let count = row.count;
            // Both tables are probed with borrowed keys: the same few header From domains and
            // tuples repeat in every report, and a clone per row showed in profiles.
            let day_key = DayKey(day, row.header_from.as_str());
            if let Some(day_stat) = self.days.get_mut(&day_key) {
                day_stat.add(&row);
            } else {
                let mut day_stat = DayStat {
                    day,
                    header_from: row.header_from.clone(),
                    messages: 0,
                    dmarc_pass: 0,
                    dkim_aligned: 0,
                    spf_aligned: 0,
                    quarantine: 0,
                    reject: 0,
                };
                day_stat.add(&row);
                self.days.insert((day, row.header_from.clone()), day_stat);
            }
            let mut key_row = row;
            key_row.count = 0;
            key_row.envelope_to = None;
            for d in &mut key_row.dkim {
                d.human_result = None;
            }
            for s in &mut key_row.spf {
                s.human_result = None;
            }
            let probe = KeyRef(report.policy.domain.as_str(), adkim, aspf, &key_row);
            if let Some(t) = self.rows.get_mut(&probe) {
                t.add(
                    count,
                    reporter,
                    report_no,
                    Seen::of(report.begin, report.end),
                );
            } else {
                let order = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
                let mut t = Tally {
                    count: 0,
                    reports: 0,
                    order,
                    last_report: 0,
                    reporters: Vec::new(),
                    seen: None,
                };
                t.add(
                    count,
                    reporter,
                    report_no,
                    Seen::of(report.begin, report.end),
                );
                let key = (report.policy.domain.clone(), adkim, aspf, key_row);
                self.rows.insert(key, t);
            }
        }
        // `drain` keeps the capacity: release it, or every kept summary would hold its
        // report's row buffer and memory would grow with the corpus after all.
        report.rows = Vec::new();
    }

    /// Distinct tuples so far (what memory grows with).
    pub fn distinct(&self) -> usize {
        self.rows.len()
    }

    /// How many distinct tuples folding `report` would add (rows already seen merge).
    pub fn new_tuples(&self, report: &AggregateReport) -> usize {
        let adkim = report.policy.dkim_mode();
        let aspf = report.policy.spf_mode();
        let mut fresh: std::collections::HashSet<Row> = std::collections::HashSet::new();
        for row in &report.rows {
            let key_row = row.merge_key();
            let probe = KeyRef(report.policy.domain.as_str(), adkim, aspf, &key_row);
            if self.rows.get(&probe).is_none() {
                fresh.insert(key_row);
            }
        }
        fresh.len()
    }

    pub fn finish(self) -> Aggregate {
        let mut rows: Vec<(u32, MergedRow)> = self
            .rows
            .into_iter()
            .map(|((policy_domain, adkim, aspf, mut row), t)| {
                row.count = t.count;
                (
                    t.order,
                    MergedRow {
                        reporters: t.reporters,
                        policy_domain,
                        adkim,
                        aspf,
                        reports: t.reports,
                        seen: t.seen,
                        row,
                    },
                )
            })
            .collect();
        rows.sort_by_key(|(o, _)| *o);
        let mut days: Vec<DayStat> = self.days.into_values().collect();
        days.sort_by(|a, b| (a.day, &a.header_from).cmp(&(b.day, &b.header_from)));
        Aggregate {
            rows: rows.into_iter().map(|(_, m)| m).collect(),
            days,
            source_rows: self.source_rows,
            reporters: self.reporter_names,
        }
    }
}

/// The calendar day in `tz` containing the midpoint of `[begin, end]`.
pub fn midpoint_day(begin: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> NaiveDate {
    crate::period::midpoint(begin, end)
        .with_timezone(&tz)
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::model::{AuthResult, DkimAuth, Origin, PolicyPublished};

    fn row(ip: &str, count: u64, dkim: AuthResult, human: Option<&str>) -> Row {
        Row {
            source_ip: ip.parse().unwrap(),
            count,
            disposition: "none".into(),
            dkim_evaluated: dkim.clone(),
            spf_evaluated: AuthResult::Fail,
            reasons: vec![],
            header_from: "ex.test".into(),
            envelope_from: None,
            envelope_to: Some(format!("to{count}.test")),
            dkim: vec![DkimAuth {
                domain: "ex.test".into(),
                selector: Some("s1".into()),
                result: dkim,
                human_result: human.map(str::to_string),
            }],
            spf: vec![],
        }
    }

    fn report(org: &str, begin: i64, hours: i64, rows: Vec<Row>) -> AggregateReport {
        let begin = DateTime::from_timestamp(begin, 0).unwrap();
        AggregateReport {
            origin: Origin {
                file: "f".into(),
                member: None,
            },
            schema: "1.0".into(),
            org_name: org.into(),
            email: None,
            report_id: "1".into(),
            begin,
            end: begin + chrono::Duration::hours(hours),
            policy: PolicyPublished {
                domain: "ex.test".into(),
                ..Default::default()
            },
            records: rows.len(),
            message_count: rows.iter().map(|r| r.count).sum(),
            skipped_records: 0,
            rows,
            repairs: vec![],
            xml_sha256: String::new(),
            org_from_file_name: false,
            generator: None,
            extensions: vec![],
        }
    }

    // 2026-10-01T00:00:00Z
    const OCT1: i64 = 1_790_812_800;

    #[test]
    fn identical_tuples_merge_across_reports_and_days_follow_the_midpoint() {
        let mut b = AggregateBuilder::new();
        let mut r1 = report(
            "google.com",
            OCT1,
            24,
            vec![
                row("192.0.2.1", 3, AuthResult::Pass, Some("sig ok")),
                row("192.0.2.2", 1, AuthResult::Fail, None),
            ],
        );
        // Same tuple as r1's first row (human_result and envelope_to differ), next day; this
        // report starts at 20:00 the day before, so its midpoint is on Oct 2.
        let mut r2 = report(
            "google.com",
            OCT1 + 20 * 3600,
            24,
            vec![row("192.0.2.1", 5, AuthResult::Pass, Some("other text"))],
        );
        // Another reporter's identical row merges too, its messages kept apart.
        let mut r3 = report(
            "yahoo.com",
            OCT1,
            24,
            vec![row("192.0.2.1", 7, AuthResult::Pass, None)],
        );
        b.fold(&mut r1, chrono_tz::UTC);
        b.fold(&mut r2, chrono_tz::UTC);
        b.fold(&mut r3, chrono_tz::UTC);
        assert!(r1.rows.is_empty() && r2.rows.is_empty());
        assert_eq!(r1.messages(), 4, "summary survives folding");
        assert_eq!(b.distinct(), 2);
        let agg = b.finish();
        assert_eq!(agg.source_rows, 4);
        assert_eq!(agg.messages(), 16);
        let first = &agg.rows[0];
        assert_eq!(first.row.count, 15);
        assert_eq!(first.reports, 3);
        assert_eq!(first.row.dkim[0].human_result, None);
        let by: Vec<(&str, u64)> = agg.reporters_of(first).collect();
        assert_eq!(by, vec![("google.com", 8), ("yahoo.com", 7)]);
        let days: Vec<(String, u64, u64)> = agg
            .days
            .iter()
            .map(|d| (d.day.to_string(), d.messages, d.dmarc_pass))
            .collect();
        assert_eq!(
            days,
            vec![
                ("2026-10-01".to_string(), 11, 10),
                ("2026-10-02".to_string(), 5, 5)
            ]
        );
    }

    #[test]
    fn midpoint_day_uses_the_time_zone() {
        let begin = DateTime::from_timestamp(OCT1, 0).unwrap();
        let end = begin + chrono::Duration::seconds(86_399);
        assert_eq!(
            midpoint_day(begin, end, chrono_tz::UTC).to_string(),
            "2026-10-01"
        );
        // Noon UTC is 07:00 in Chicago (CDT): still Oct 1 there.
        assert_eq!(
            midpoint_day(begin, end, chrono_tz::America::Chicago).to_string(),
            "2026-10-01"
        );
        // A report from Sep 30 06:00 to Oct 1 00:00 UTC: midpoint Sep 30 15:00 UTC.
        let b2 = begin - chrono::Duration::hours(18);
        assert_eq!(
            midpoint_day(b2, begin, chrono_tz::UTC).to_string(),
            "2026-09-30"
        );
        // Reversed bounds do not panic.
        assert_eq!(
            midpoint_day(end, begin, chrono_tz::UTC).to_string(),
            "2026-10-01"
        );
    }
}

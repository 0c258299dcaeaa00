//! RPT-000: report files the period could not count (rejected or duplicated).

use super::*;

/// RPT-000, when any file was rejected or duplicated.
pub(super) fn rejected_and_duplicates(cx: &Checks<'_>) -> Option<Finding> {
    let Checks { set, label, .. } = *cx;
    if set.rejected.is_empty() && set.duplicates.is_empty() {
        return None;
    }
    // The share is of the files that could have counted toward this period: a rejected
    // file's period is unknown, so it is counted here, while files that parsed and belong
    // to other months are not, or a year of archive would dilute a broken month.
    let candidates = set.reports.len() + set.rejected.len() + set.duplicates.len();
    let share = set.rejected.len() as f64 / candidates.max(1) as f64;
    let mut d = Draft::new("RPT-000", "report-inputs")
        .title(format!(
            "{}, {} ignored",
            crate::text::count(
                set.rejected.len(),
                "report file rejected",
                "report files rejected"
            ),
            crate::text::count(set.duplicates.len(), "duplicate", "duplicates")
        ))
        .evidence(format!(
            "{} read, {} counted in other periods; of the {} left, {} accepted, {} rejected ({:.1}%), {}",
            crate::text::count(set.files.len(), "file", "files"),
            set.out_of_period,
            candidates,
            crate::text::count(set.reports.len(), "report", "reports"),
            set.rejected.len(),
            share * 100.0,
            crate::text::count(set.duplicates.len(), "duplicate", "duplicates")
        ));
    if share > 0.05 {
        d = d.severity(Severity::High).exposure(
            Level::High,
            format!(
                "{:.1}% of the files were rejected (more than 5%): a real gap in the activity review",
                share * 100.0
            ),
        );
    }
    d = d.evidence_all(
        set.rejected
            .iter()
            .take(20)
            .map(|r| format!("rejected {}: {}", r.file, r.reason)),
    );
    d = d.evidence_all(set.duplicates.iter().take(10).map(|x| {
        format!(
            "duplicate {} (reporter {}, id {}) of {}",
            x.origin, x.org_name, x.report_id, x.kept
        )
    }));
    Some(d.build(label))
}

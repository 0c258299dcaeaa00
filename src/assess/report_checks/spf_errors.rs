//! RPT-009: receivers checked mail against one of our domains' own SPF record and the check
//! ended in permerror or temperror. The snapshot says what the record is now; the reports say
//! what receivers met all month, so each cross-checks the other (SPF-003 and SPF-004 are the
//! usual causes).

use super::*;

/// Shares below this are one receiver's passing DNS trouble, not the record: a temperror here
/// and there is the DNS, a steady share is the record.
const MIN_SHARE: f64 = 0.01;

/// RPT-009 for each configured domain whose own SPF checks erred in the period.
pub(super) fn own_record_errors(
    cx: &Checks<'_>,
    spf_checked: &BTreeMap<String, u64>,
    spf_errors: &BTreeMap<String, u64>,
) -> Vec<Finding> {
    let Checks {
        domains,
        facts,
        label,
        ..
    } = *cx;
    let mut out = Vec::new();
    for d in domains {
        let errors = spf_errors.get(&d.name).copied().unwrap_or(0);
        let checked = spf_checked.get(&d.name).copied().unwrap_or(0);
        if errors == 0 || checked == 0 {
            continue;
        }
        let share = errors as f64 / checked as f64;
        if share < MIN_SHARE {
            continue;
        }
        let now = match facts.spf_broken.get(&d.name) {
            Some(status) => format!(
                "the snapshot's record fails the same way ({status}): the errors are the record's, not the receivers'"
            ),
            None => "the snapshot's record evaluates now: the errors came from an earlier state of the record or from DNS trouble while receivers checked it".to_string(),
        };
        out.push(
            Draft::new("RPT-009", d.name.clone())
                .domain(&d.name)
                .title(format!(
                    "Receivers could not evaluate {}'s own SPF record for {} ({:.1}% of the mail checked against it)",
                    d.name,
                    crate::text::count(errors as usize, "message", "messages"),
                    share * 100.0
                ))
                .evidence(format!(
                    "{} of {} whose SPF check was of {}'s own record ended in permerror or temperror (report auth_results)",
                    crate::text::int(errors),
                    crate::text::count(checked as usize, "message", "messages"),
                    d.name
                ))
                .evidence(now)
                .build(label),
        );
    }
    out
}

//! New / persisting / resolved: comparing this period's findings with the previous period's
//! evidence, which is what lets an auditor see that problems were tracked to closure.

use crate::evidence::{Evidence, Finding, Status};
use std::collections::BTreeMap;

/// Marks each current finding against `previous`, and appends the previous findings that are
/// gone as `resolved` (a finding resolved last period is not carried again).
pub fn mark(current: &mut Vec<Finding>, previous: Option<&Evidence>, label: &str) {
    let Some(prev) = previous else { return };
    let before: BTreeMap<&str, &Finding> = prev
        .findings
        .iter()
        .filter(|f| f.status != Status::Resolved)
        .map(|f| (f.id.as_str(), f))
        .collect();
    for f in current.iter_mut() {
        if let Some(old) = before.get(f.id.as_str()) {
            f.status = Status::Persisting;
            f.first_seen = old.first_seen.clone();
        }
    }
    let now: std::collections::BTreeSet<String> = current.iter().map(|f| f.id.clone()).collect();
    for (id, old) in before {
        if !now.contains(id) {
            let mut r = old.clone();
            r.status = Status::Resolved;
            r.evidence.insert(
                0,
                format!(
                    "not observed in {label}; last reported in {}",
                    prev.period.label
                ),
            );
            current.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::finding::Draft;

    #[test]
    fn new_persisting_resolved() {
        let old_a = Draft::new("SPF-001", "a.example").build("2026-08");
        let old_b = Draft::new("DMARC-003", "b.example").build("2026-09");
        let prev_json = serde_json::json!(null);
        let _ = prev_json;
        let mut cur = vec![
            Draft::new("SPF-001", "a.example").build("2026-10"),
            Draft::new("SPF-006", "c.example").build("2026-10"),
        ];
        let prev = crate::evidence::tests_support::evidence_with(vec![old_a, old_b], "2026-09");
        mark(&mut cur, Some(&prev), "2026-10");
        let by: BTreeMap<_, _> = cur
            .iter()
            .map(|f| (f.id.as_str(), (f.status, f.first_seen.as_str())))
            .collect();
        assert_eq!(by["SPF-001:a.example"], (Status::Persisting, "2026-08"));
        assert_eq!(by["SPF-006:c.example"], (Status::New, "2026-10"));
        assert_eq!(by["DMARC-003:b.example"], (Status::Resolved, "2026-09"));
    }
}

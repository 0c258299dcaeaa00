//! What every check of the DNS snapshot reads: the configured domains, their postures, the
//! snapshot itself, the inventory, the period's reports and the policy. The checks of each
//! family (dns_checks, spf_breadth, spf_forwarding, bimi, vendor_dkim, report_processors)
//! take it and nothing else, and none of them calls another: the assessment runs each.

use crate::config::{DomainConfig, PolicyConfig};
use crate::evidence::DomainPosture;
use crate::inventory::Inventory;
use crate::reports::ReportSet;
use crate::snapshot::Snapshot;

pub struct Context<'a> {
    pub domains: &'a [DomainConfig],
    pub postures: &'a [DomainPosture],
    pub snapshot: &'a Snapshot,
    pub inventory: &'a Inventory,
    pub reports: &'a ReportSet,
    pub policy: &'a PolicyConfig,
    pub label: &'a str,
    /// The period's last day: a vendor whose contract ended by then should not send.
    pub period_end: chrono::NaiveDate,
}

impl<'a> Context<'a> {
    /// The inventory vendor that processes reports sent to `host` (by a name it is listed
    /// with under the same registrable domain), if the inventory lists one.
    pub fn report_processor(&self, host: &str) -> Option<&'a crate::inventory::Vendor> {
        let base = super::report_checks::base;
        self.inventory.vendors.iter().find(|v| {
            v.ptr_suffixes
                .iter()
                .chain(v.dkim_domains.iter())
                .any(|s| base(s) == base(host))
        })
    }
}

/// The DNS checks' test harness: one patient domain `org.test`, an inventory from CSV text,
/// and the check families a test names.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::config::Role;
    use crate::evidence::Finding;
    use crate::snapshot::{ScopedDomain, SelectorSource};

    /// A family of checks, as the assessment runs it.
    pub(crate) type Checks = fn(&Context<'_>) -> Vec<Finding>;

    /// The check families a test runs together, as a run has them side by side.
    pub(crate) struct Harness(pub &'static [Checks]);

    impl Harness {
        /// The families over `snap` with the inventory `csv`, default policy and no reports.
        pub(crate) fn run(&self, snap: &mut Snapshot, csv: &str) -> Vec<Finding> {
            run_with(
                snap,
                csv,
                &PolicyConfig::default(),
                &ReportSet::default(),
                self.0,
            )
        }

        /// [`Harness::run`] under another policy.
        pub(crate) fn run_policy(
            &self,
            snap: &mut Snapshot,
            csv: &str,
            policy: &PolicyConfig,
        ) -> Vec<Finding> {
            run_with(snap, csv, policy, &ReportSet::default(), self.0)
        }

        /// [`Harness::run`] with a policy and this period's reports.
        pub(crate) fn run_with(
            &self,
            snap: &mut Snapshot,
            csv: &str,
            policy: &PolicyConfig,
            reports: &ReportSet,
        ) -> Vec<Finding> {
            run_with(snap, csv, policy, reports, self.0)
        }
    }

    /// `checks` over `snap` for the one domain `org.test` (patient), with the inventory `csv`,
    /// `policy` and this period's `reports`.
    pub(crate) fn run_with(
        snap: &mut Snapshot,
        csv: &str,
        policy: &PolicyConfig,
        reports: &ReportSet,
        checks: &[Checks],
    ) -> Vec<Finding> {
        let inv = Inventory::parse(csv.as_bytes(), std::path::Path::new("v.csv")).unwrap();
        // sc1, and every selector the inventory lists for org.test, as the capture scopes them.
        let mut selectors = vec![SelectorSource {
            selector: "sc1".into(),
            sources: vec!["inventory".into()],
        }];
        for v in inv
            .vendors
            .iter()
            .filter(|v| v.domains.iter().any(|d| d == "org.test"))
        {
            for sel in &v.dkim_selectors {
                if !selectors.iter().any(|s| &s.selector == sel) {
                    selectors.push(SelectorSource {
                        selector: sel.clone(),
                        sources: vec!["inventory".into()],
                    });
                }
            }
        }
        snap.domains = vec![ScopedDomain {
            name: "org.test".into(),
            role: Role::Patient,
            selectors,
        }];
        let domains = vec![DomainConfig {
            name: "org.test".into(),
            role: Role::Patient,
            selectors: vec![],
            owner: None,
        }];
        let postures: Vec<DomainPosture> = domains
            .iter()
            .map(|d| {
                crate::assess::posture::build_with(d, &snap.domains, snap, policy.min_dkim_bits)
            })
            .collect();
        let cx = Context {
            domains: &domains,
            postures: &postures,
            snapshot: snap,
            inventory: &inv,
            reports,
            policy,
            label: "2026-10",
            period_end: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
        };
        checks.iter().flat_map(|c| c(&cx)).collect()
    }
}

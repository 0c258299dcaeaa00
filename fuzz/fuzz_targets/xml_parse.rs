//! Any bytes straight into the XML report parser, past the container sniffing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailproof::reports::model::Origin;

fuzz_target!(|data: &[u8]| {
    let origin = Origin {
        file: "fuzz.xml".to_string(),
        member: None,
    };
    if let Ok(report) = mailproof::reports::xml::parse(data, &origin) {
        // Identical rows of a large report merge, so there are at most as many rows as
        // usable records, and no message is lost in merging.
        assert!(report.rows.len() <= report.record_count());
        let summed = report.rows.iter().fold(0u64, |n, r| n.saturating_add(r.count));
        assert_eq!(report.message_count, summed);
        assert!(!report.report_id.is_empty());
    }
});

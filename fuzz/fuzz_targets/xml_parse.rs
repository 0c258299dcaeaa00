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
        assert_eq!(report.record_count(), report.rows.len());
        assert!(!report.report_id.is_empty());
    }
});

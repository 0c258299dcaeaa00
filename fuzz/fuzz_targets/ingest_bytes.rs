//! Any bytes as a report file (XML, gzip, zlib, zip, email, mbox, or garbage): the reader
//! must never panic, and must account for the input as a report or a rejection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailproof::reports::open::Limits;
use mailproof::reports::store::ingest_bytes_with;

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run fast and exercise the bomb and size checks.
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
        ratio_floor: 1 << 20,
        ..Limits::default()
    };
    let out = ingest_bytes_with("fuzz", data, &limits);
    assert!(!out.reports.is_empty() || !out.rejected.is_empty());
});

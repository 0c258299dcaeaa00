//! AFL++ target: `mailproof::fuzzing::report_bytes`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::report_bytes(data);
    });
}

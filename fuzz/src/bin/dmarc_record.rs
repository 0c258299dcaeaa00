//! AFL++ target: `mailproof::fuzzing::dmarc_record`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::dmarc_record(data);
    });
}

//! AFL++ target: `mailproof::fuzzing::spf_record`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::spf_record(data);
    });
}

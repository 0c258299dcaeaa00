//! AFL++ target: `mailproof::fuzzing::dkim_record`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::dkim_record(data);
    });
}

//! AFL++ target: `mailproof::fuzzing::xml`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::xml(data);
    });
}

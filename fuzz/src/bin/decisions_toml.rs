//! AFL++ target: `mailproof::fuzzing::decisions_toml`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::decisions_toml(data);
    });
}

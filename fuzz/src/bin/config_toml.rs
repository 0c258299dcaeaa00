//! AFL++ target: `mailproof::fuzzing::config_toml`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::config_toml(data);
    });
}

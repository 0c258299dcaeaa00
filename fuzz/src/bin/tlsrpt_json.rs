//! AFL++ target: `mailproof::fuzzing::tlsrpt_json`.
fn main() {
    afl::fuzz_nohook!(|data: &[u8]| {
        mailproof::fuzzing::tlsrpt_json(data);
    });
}

//! AFL++ target: `mailproof::fuzzing::transport_records`.
//! `fuzz_nohook!`: a panic the product itself catches (mail-parser's debug assertions, caught
//! in `reports::open`) is not a crash; one that escapes the target still aborts, and AFL++
//! records it.
fn main() {
    afl::fuzz_nohook!(|data: &[u8]| {
        mailproof::fuzzing::transport_records(data);
    });
}

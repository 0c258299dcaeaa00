//! AFL++ target: `mailproof::fuzzing::document_text`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::document_text(data);
    });
}

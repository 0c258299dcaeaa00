//! AFL++ target: `mailproof::fuzzing::inventory_csv`.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        mailproof::fuzzing::inventory_csv(data);
    });
}

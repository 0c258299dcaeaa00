//! Helpers shared by the integration tests that run the monthly job on the bundled samples.

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of `samples/mailproof.toml` whose inputs point at the bundled samples and whose
/// output goes to `dir/out`. `policy_line` replaces the commented-out `fail_on` line.
pub fn sample_config(dir: &Path, policy_line: &str) -> PathBuf {
    let s = repo().join("samples");
    let text = std::fs::read_to_string(s.join("mailproof.toml"))
        .unwrap()
        .replace(
            "inventory = \"vendors.csv\"",
            &format!("inventory = {:?}", s.join("vendors.csv")),
        )
        .replace(
            "reports = [\"reports/\"]",
            &format!("reports = [{:?}]", s.join("reports")),
        )
        .replace(
            "snapshots = \"snapshots/\"",
            &format!("snapshots = {:?}", s.join("snapshots")),
        )
        .replace(
            "output = \"../out/\"",
            &format!("output = {:?}", dir.join("out")),
        )
        .replace("# fail_on = \"critical\"", policy_line);
    let p = dir.join("mailproof.toml");
    std::fs::write(&p, text).unwrap();
    p
}

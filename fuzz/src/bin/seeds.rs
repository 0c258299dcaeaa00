//! Writes each target's seed corpus to `<out>/<target>/`, from the samples and the shared
//! corpus (`MAILPROOF_CORPUS`): `seeds <out>`.
fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "seeds".to_string());
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = std::env::var_os("MAILPROOF_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/corpus"));
    for (name, _) in mailproof::fuzzing::TARGETS {
        let dir = std::path::Path::new(&out).join(name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("seeds: {}: {e}", dir.display());
            std::process::exit(1);
        }
        let seeds = mailproof::fuzzing::seeds(name, &repo, &corpus);
        for (i, s) in seeds.iter().enumerate() {
            if let Err(e) = std::fs::write(dir.join(format!("{i:04}")), s) {
                eprintln!("seeds: {}: {e}", dir.display());
                std::process::exit(1);
            }
        }
        println!("{name}: {} seeds", seeds.len());
    }
}

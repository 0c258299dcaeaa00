//! A short run of every fuzz target (`mailproof::fuzzing`), part of `make test`: each target
//! over its seeds from the samples and `../shared/corpus`, then over deterministic mutations
//! of them (bit flips, cuts, splices, repeats). `make fuzz` runs the same targets under AFL++
//! for as long as FUZZ_SECONDS says; this only proves every target runs and holds on what it
//! starts from.

mod common;

use mailproof::fuzzing::{TARGETS, seeds};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    std::env::var_os("MAILPROOF_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("../shared/corpus"))
}

/// xorshift64*: deterministic, so a failure here reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(seed: &[u8], other: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.truncate(i);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                let j = rng.below(other.len().max(1));
                let piece = &other[j.min(other.len())..(j + 64).min(other.len())];
                v.splice(i..i, piece.iter().copied());
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                let end = (i + 1 + rng.below(32)).min(v.len());
                let piece: Vec<u8> = v[i..end].to_vec();
                for _ in 0..rng.below(50) {
                    v.splice(i..i, piece.iter().copied());
                }
            }
            4 => {
                let bytes = [0u8, 0x1b, b'<', b'>', b'&', b';', b'"', 0xff, b'\n', b'='];
                let i = rng.below(v.len() + 1);
                v.insert(i, bytes[rng.below(bytes.len())]);
            }
            _ if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            _ => v.push(rng.below(256) as u8),
        }
    }
    v
}

#[test]
fn every_fuzz_target_holds_on_its_seeds_and_their_mutations() {
    let repo = common::repo();
    let corpus = corpus();
    for (name, target) in TARGETS {
        let seeds = seeds(name, &repo, &corpus);
        assert!(!seeds.is_empty(), "{name}: no seeds found");
        for s in &seeds {
            target(s);
        }
        // Rendering is slow (a PDF per input); the parsers get many more mutations.
        let rounds = if *name == "document_text" { 60 } else { 2000 };
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
        for _ in 0..rounds {
            let a = &seeds[rng.below(seeds.len())];
            let b = &seeds[rng.below(seeds.len())];
            let input = mutate(a, b, &mut rng);
            target(&input);
        }
    }
}

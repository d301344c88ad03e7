//! The single-byte walk over real trained artifacts, one of each model kind
//! (the CSV reader's fuzzing lives with it, in the `dataset` crate).

use fraud_core::{Artifact, ModelKind};
use native_train::boost::BoostOptions;
use native_train::pipeline::{run, CandidateKind, Config, Source};
use native_train::synth;

fn trained(candidates: &[CandidateKind], boost: BoostOptions) -> Vec<u8> {
    let data = synth::generate(20_000, 0.02, 3);
    let source = Source { name: "synthetic".into(), sha256: String::new(), synthetic: true };
    let cfg = Config { candidates: candidates.to_vec(), boost, ..Config::default() };
    run(&data, &source, &cfg, &indicatif::ProgressBar::hidden()).unwrap().artifact.encode().unwrap()
}

fn walk(bytes: &[u8]) -> usize {
    let original = Artifact::load(bytes).unwrap().artifact;
    let mut tried = 0;
    for pos in 0..bytes.len() {
        for mask in 1..=255u8 {
            let mut b = bytes.to_vec();
            b[pos] ^= mask;
            tried += 1;
            // CRC-32 catches every single-byte change; were one to pass, it must be the same model.
            if let Ok(fraud_core::Loaded { artifact: changed, .. }) = Artifact::load(&b) {
                assert_eq!(changed, original, "byte {pos} ^ {mask:#x} loaded a different model");
            }
        }
    }
    tried
}

#[test]
fn every_single_byte_change_of_a_trained_artifact_is_detected() {
    let logistic = trained(&[CandidateKind::Baseline, CandidateKind::ClassWeighted], BoostOptions::default());
    // A small ensemble keeps the walk (255 changes a byte, each decoded in full) quick.
    let small = BoostOptions { rounds: 6, max_leaves: 8, ..BoostOptions::default() };
    let trees = trained(&[CandidateKind::Trees], small);
    assert_eq!(Artifact::decode(&trees).unwrap().kind(), ModelKind::Trees);
    for (kind, bytes) in [("logistic", logistic), ("trees", trees)] {
        let tried = walk(&bytes);
        println!(
            "{kind} artifact byte walk: {} bytes x 255 changes = {tried} corrupted artifacts, all refused",
            bytes.len()
        );
        assert_eq!(tried, bytes.len() * 255);
    }
}

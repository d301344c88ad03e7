//! The single-byte walk over a real trained artifact (the CSV reader's fuzzing
//! lives with it, in the `dataset` crate).

use fraud_core::Artifact;
use native_train::pipeline::{run, Config, Source};
use native_train::synth;

#[test]
fn every_single_byte_change_of_a_trained_artifact_is_detected() {
    let data = synth::generate(20_000, 0.02, 3);
    let source = Source { name: "synthetic".into(), sha256: String::new(), synthetic: true };
    let outcome = run(&data, &source, &Config::default(), &indicatif::ProgressBar::hidden()).unwrap();
    let bytes = outcome.artifact.encode().unwrap();
    let (original, _) = Artifact::load(&bytes).unwrap();
    let mut tried = 0;
    for pos in 0..bytes.len() {
        for mask in 1..=255u8 {
            let mut b = bytes.clone();
            b[pos] ^= mask;
            tried += 1;
            // CRC-32 catches every single-byte change; were one to pass, it must be the same model.
            if let Ok((changed, _)) = Artifact::load(&b) {
                assert_eq!(changed, original, "byte {pos} ^ {mask:#x} loaded a different model");
            }
        }
    }
    println!("artifact byte walk: {} bytes x 255 changes = {tried} corrupted artifacts, all refused", bytes.len());
    assert_eq!(tried, bytes.len() * 255);
}

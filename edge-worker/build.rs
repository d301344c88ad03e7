//! Puts the trained artifact into the Worker at build time, after checking it
//! with `core`'s own decoder: a Worker with a corrupt model never builds.
//!
//! The artifact is `../model/model.bin` (what `native-train train` writes), or
//! the file named by `FRAUD_MODEL`. Native builds of this crate (lints, the
//! workspace's tests) do not need one; a wasm build without one stops here and
//! says how to make it.

use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts"));
    let model =
        std::env::var_os("FRAUD_MODEL").map(PathBuf::from).unwrap_or_else(|| manifest.join("../model/model.bin"));
    println!("cargo:rerun-if-changed={}", model.display());
    println!("cargo:rerun-if-env-changed=FRAUD_MODEL");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts")).join("model.bin");
    let for_wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let bytes = match std::fs::read(&model) {
        Ok(bytes) => bytes,
        Err(e) if !for_wasm => {
            println!("cargo:warning=no model artifact at {} ({e}): this native build serves none", model.display());
            Vec::new()
        }
        Err(e) => {
            eprintln!(
                "\nerror: the Worker needs a trained model, and {} cannot be read ({e}).\n\
                 Train one first: `cargo xtask run` (or `cargo run --release -p native-train -- train`),\n\
                 or point FRAUD_MODEL at an artifact.\n",
                model.display()
            );
            std::process::exit(1);
        }
    };
    if !bytes.is_empty() {
        if let Err(e) = fraud_core::Artifact::load(&bytes) {
            eprintln!("\nerror: {} is not a valid model artifact: {}\n", model.display(), e.full_message());
            std::process::exit(1);
        }
    }
    if let Err(e) = std::fs::write(&out, &bytes) {
        eprintln!("error: cannot write {}: {e}", out.display());
        std::process::exit(1);
    }
}

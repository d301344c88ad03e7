//! Puts the trained artifact — and the rules deciding over it, with their
//! lists — into the Worker at build time, after checking them with `core`'s
//! own decoder and compiler: a Worker with a corrupt model or rules that do
//! not compile never builds.
//!
//! The artifact is `../model/model.bin` (what `native-train train` writes), or
//! the file named by `FRAUD_MODEL`. The rules are the file named by
//! `FRAUD_RULES` (lists: `FRAUD_LISTS`, default `lists/` beside it); without
//! it, none: the model decides. Native builds of this crate (lints, the
//! workspace's tests) do not need a model; a wasm build without one stops
//! here and says how to make it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
    let mut schema = None;
    if !bytes.is_empty() {
        match fraud_core::Artifact::load(&bytes) {
            Ok(loaded) => schema = Some(loaded.model.schema().clone()),
            Err(e) => fail(&format!("{} is not a valid model artifact: {}", model.display(), e.full_message())),
        }
    }
    write(&out, &bytes);
    rules(out.parent().unwrap_or(Path::new(".")), schema.as_ref());
}

fn fail(message: &str) -> ! {
    eprintln!("\nerror: {message}\n");
    std::process::exit(1);
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = std::fs::write(path, bytes) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

/// Writes `rules.rs` into `out`: the rules file's text and its lists' texts
/// (`RULES: Option<&str>`, `LISTS: &[(&str, &str)]`), compiled once here
/// against the model's schema so a Worker never starts with rules that fail.
fn rules(out: &Path, schema: Option<&fraud_core::Schema>) {
    println!("cargo:rerun-if-env-changed=FRAUD_RULES");
    println!("cargo:rerun-if-env-changed=FRAUD_LISTS");
    let mut code = String::new();
    let Some(rules) = std::env::var_os("FRAUD_RULES").map(PathBuf::from) else {
        write(
            &out.join("rules.rs"),
            b"pub static RULES: Option<&str> = None;\npub static LISTS: &[(&str, &str)] = &[];\n",
        );
        return;
    };
    let files = fraud_core::rules::RulesFiles { rules, lists: std::env::var_os("FRAUD_LISTS").map(PathBuf::from) };
    let paths = files.paths().unwrap_or_else(|e| fail(&format!("FRAUD_RULES: {e}")));
    for p in &paths {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    if let Some(dir) = files.lists_dir() {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    match schema {
        Some(schema) => {
            if let Err(e) = files.load(schema) {
                fail(&format!("the Worker's rules do not compile against its model: {e}"));
            }
        }
        None => println!("cargo:warning=FRAUD_RULES is set but there is no model to compile them against"),
    }
    let copy = |from: &Path, name: &str| -> String {
        let to = out.join(name);
        let bytes = std::fs::read(from).unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", from.display())));
        write(&to, &bytes);
        format!("{:?}", to.display().to_string())
    };
    let _ = writeln!(code, "pub static RULES: Option<&str> = Some(include_str!({}));", copy(&paths[0], "rules.txt"));
    code.push_str("pub static LISTS: &[(&str, &str)] = &[\n");
    for (i, p) in paths[1..].iter().enumerate() {
        let name = p.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let _ = writeln!(code, "    ({name:?}, include_str!({})),", copy(p, &format!("list-{i}.txt")));
    }
    code.push_str("];\n");
    write(&out.join("rules.rs"), code.as_bytes());
}

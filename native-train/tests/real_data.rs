//! The real-data quality gate: at split seed 42 the selected model must reach
//! test average precision >= 0.80 and test F1 >= 0.80. Runs when the real file
//! is at `data/creditcard.csv`, or as `../shared/data/creditcard.csv.xz` beside
//! the checkout (decompressed once into `target/`); otherwise says it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::ProgressBar;
use native_train::data::load_creditcard as load_csv;
use native_train::pipeline::{run, Config, Source};

fn real_file() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let direct = root.join("data/creditcard.csv");
    if direct.exists() {
        return Some(direct);
    }
    let xz = root.parent()?.join("shared/data/creditcard.csv.xz");
    if !xz.exists() {
        return None;
    }
    let cached = root.join("target/real-data/creditcard.csv");
    if !cached.exists() {
        std::fs::create_dir_all(cached.parent()?).ok()?;
        let tmp = cached.with_extension("csv.tmp");
        let out = std::fs::File::create(&tmp).ok()?;
        let ok = Command::new("xz").arg("-dc").arg(&xz).stdout(out).status().ok()?.success();
        if !ok {
            eprintln!("could not decompress {} (is `xz` installed?)", xz.display());
            return None;
        }
        std::fs::rename(&tmp, &cached).ok()?;
    }
    Some(cached)
}

#[test]
fn real_data_quality_gate_at_seed_42() {
    let Some(path) = real_file() else {
        println!("SKIPPED real-data check: no data/creditcard.csv and no ../shared/data/creditcard.csv.xz");
        return;
    };
    let loaded = load_csv(&path).unwrap();
    assert_eq!(loaded.sha256, dataset::KAGGLE_SHA256, "{} is not the real dataset", path.display());
    let source = Source { name: path.display().to_string(), sha256: loaded.sha256.clone(), synthetic: false };
    let outcome = run(&loaded.data, &source, &Config::default(), &ProgressBar::hidden()).unwrap();
    let a = &outcome.artifact;
    for c in &outcome.candidates {
        println!(
            "{:<15} val F1 {:.4}  test AP {:.4}  F1 {:.4}  P {:.4}  R {:.4}",
            c.name(),
            c.validation.f1,
            c.test.average_precision,
            c.test.f1,
            c.test.precision,
            c.test.recall
        );
    }
    println!(
        "real data, seed 42: selected {} — test AP {:.4}, F1 {:.4} (gate: AP >= 0.80, F1 >= 0.80)",
        a.model_name, a.test.average_precision, a.test.f1
    );
    assert_eq!(a.provenance.rows_test, 56_962);
    assert!(a.test.average_precision >= 0.80, "test AP {}", a.test.average_precision);
    assert!(a.test.f1 >= 0.80, "test F1 {}", a.test.f1);
}

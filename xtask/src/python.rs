//! The Python package (`python/`): its wheel built by maturin into the test
//! environment, then pytest against a model folder and a running server.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::checks::decision_rules;
use crate::cmd::{build_release, sh, step, workspace_root};
use crate::models::{real_data, train_kind, KINDS};
use crate::processes::{fraud_server, ServerConfig};
use crate::tools::{self, venv_bin, Tool, COMPARE_VENV, PYTHON_VENV};

/// Where the wheel is written.
const WHEELS: &str = "target/wheels";
/// The wheel's size budget (the target).
const MAX_WHEEL_BYTES: u64 = 5 * 1024 * 1024;

/// Builds the wheel (`maturin build --release`) and installs it, alone, into the test
/// environment: what a user's `pip install` of the file does, no compiler involved.
pub(crate) fn build_wheel() -> Result<PathBuf> {
    tools::ensure(&[Tool::PythonPackage])?;
    step("python: the wheel (maturin build --release, abi3 for Python >= 3.9)");
    let root = workspace_root();
    let out = root.join(WHEELS);
    // Only this build's wheel is there afterwards, so the one installed is this one.
    let _ = std::fs::remove_dir_all(&out);
    sh(Command::new(root.join(venv_bin(PYTHON_VENV, "maturin")))
        .args(["build", "--release", "--quiet", "--out"])
        .arg(&out)
        .current_dir(root.join("python")))?;
    let wheel = std::fs::read_dir(&out)
        .with_context(|| format!("reading {}", out.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .with_context(|| format!("maturin wrote no wheel into {}", out.display()))?;
    let bytes = std::fs::metadata(&wheel)?.len();
    eprintln!("wheel: {} ({:.2} MB; budget {} MB)", wheel.display(), bytes as f64 / 1e6, MAX_WHEEL_BYTES >> 20);
    if bytes > MAX_WHEEL_BYTES {
        bail!("the wheel is {bytes} bytes, over its {MAX_WHEEL_BYTES}-byte budget");
    }
    sh(Command::new(root.join(venv_bin(PYTHON_VENV, "pip")))
        .args(["install", "--quiet", "--force-reinstall", "--no-deps", "--no-index"])
        .arg(&wheel))?;
    installs_alone(&wheel)?;
    Ok(wheel)
}

/// The wheel into a new, empty environment with binaries only (`--only-binary :all:`:
/// nothing may be compiled), its one dependency from PyPI, then imported and used.
fn installs_alone(wheel: &Path) -> Result<()> {
    step("python: the wheel in a new environment (binaries only: no compiler)");
    let venv = workspace_root().join("target/python-install-check");
    let _ = std::fs::remove_dir_all(&venv);
    sh(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    sh(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--only-binary", ":all:"]).arg(wheel))?;
    let probe = "import fraud_detector as fd, numpy\n\
                 try:\n    fd.Model.from_bytes(b'not a model')\n\
                 except fd.InvalidModel as e:\n    print('installed; a foreign file is refused:', e)\n";
    sh(Command::new(venv.join("bin/python")).args(["-c", probe]))?;
    let _ = std::fs::remove_dir_all(&venv);
    Ok(())
}

/// What pytest is told about the model folder and the server.
pub(crate) struct Suite<'a> {
    pub(crate) dir: &'a Path,
    /// Also run scikit-learn's estimator checks and the training tests (once per run).
    pub(crate) estimator_checks: bool,
}

/// pytest on `python/tests` against `dir`'s model, with the release server serving it
/// (and its parity rules) for the comparisons with the server's answers.
pub(crate) fn check(suite: &Suite<'_>) -> Result<()> {
    step(&format!("python: pytest against {} and the server", suite.dir.display()));
    let root = workspace_root();
    let mut args = Vec::new();
    let rules = decision_rules(suite.dir);
    if let Some((rules, lists)) = &rules {
        args.extend(["--rules".to_string(), rules.display().to_string()]);
        if lists.is_dir() {
            args.extend(["--lists".to_string(), lists.display().to_string()]);
        }
    }
    let server = fraud_server(&ServerConfig { args, ..ServerConfig::new(&suite.dir.join("model.bin")) })?;
    let mut pytest = Command::new(root.join(venv_bin(PYTHON_VENV, "python")));
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "python/tests"])
        .current_dir(&root)
        .env("FRAUD_MODEL_DIR", root.join(suite.dir))
        .env("FRAUD_SERVER_URL", server.url())
        .env("FRAUD_ESTIMATOR_CHECKS", if suite.estimator_checks { "1" } else { "0" });
    if let Some((rules, lists)) = &rules {
        pytest.env("FRAUD_RULES", root.join(rules));
        if lists.is_dir() {
            pytest.env("FRAUD_LISTS", root.join(lists));
        }
    }
    let ran = sh(&mut pytest);
    server.stop()?;
    ran
}

/// `cargo xtask bench-python`: `python/bench.py` in compare's environment (XGBoost,
/// LightGBM, pandas) with this build's wheel, on the Kaggle-schema models.
pub(crate) fn bench(runs: usize, fit_runs: usize) -> Result<()> {
    build_release(&["native-train"])?;
    let wheel = build_wheel()?;
    tools::ensure(&[Tool::CompareLibraries, Tool::CompareTabular])?;
    let root = workspace_root();
    sh(Command::new(root.join(venv_bin(COMPARE_VENV, "pip")))
        .args(["install", "--quiet", "--force-reinstall", "--no-deps", "--no-index"])
        .arg(&wheel))?;
    let data = real_data();
    if data.is_none() {
        eprintln!("no real dataset: timing on synthetic data (`cargo xtask fetch-data` for the real file)");
    }
    for (k, name) in ["logistic", "trees"].into_iter().enumerate() {
        let Some(model) = KINDS.iter().find(|m| m.name == name) else { bail!("KINDS has no {name} model") };
        let dir = PathBuf::from(format!("target/bench-{name}"));
        train_kind(&dir, model)?;
        step(&format!("python: the package's figures on the {name} model"));
        let mut bench = Command::new(root.join(venv_bin(COMPARE_VENV, "python")));
        bench.arg("python/bench.py").arg("--model").arg(&dir).args(["--runs", &runs.to_string()]);
        if let (Some(data), true) = (data, fit_runs > 0) {
            bench.arg("--data").arg(data).args(["--fit-runs", &fit_runs.to_string()]);
            bench.args(["--candidates", if k == 0 { "baseline,smote,class_weighted" } else { "trees" }]);
        }
        sh(bench.current_dir(&root))?;
    }
    eprintln!("wheel: {} ({:.2} MB)", wheel.display(), std::fs::metadata(&wheel)?.len() as f64 / 1e6);
    Ok(())
}

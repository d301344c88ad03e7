//! Building what is shipped: the wasm package, the Worker and the web page's site folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::cmd::{on_path, sh, step, workspace_root};
use crate::tools::{edge_dir, edge_path, esbuild_bin, tools_bin, tools_path};

/// The browser package's size budget, raw bytes: a regression check. The trees
/// issue's target was 96 KiB; decisions in money (calibration, costs,
/// policies, their figures in the card, the format-3 decoder) took the package
/// past it, to ~115 KiB — reported as missed, not hidden. The way back is to
/// compile the artifact decoder (cold code) for size in its own crate while the
/// scoring loops stay speed-optimised. Any schema (names from the artifact,
/// the schema's checks and lookup table, the format-4 decoder, generic row
/// widths) added 9 KB more, to ~125 KiB. The page's `description` and
/// `pacingName` getters (so it never branches on the kind or names `Time`)
/// added 1 KB, to 126.2 KiB. Categorical features and missing values (format
/// 5: vocabularies and their lookups, the general tree walk beside the fast
/// one, the logistic expansion, the card's kinds, `rowValue`) took it to
/// 157.6 KiB — over the 144 KiB target, reported as missed; float
/// formatting in core (22 KB) was already cut. Imported models (format 6:
/// its decoder and the model's origin, `f32` sums, zero-as-missing splits)
/// added 6.7 KB, to 163.6 KiB. The decision layer (the rules compiler and
/// evaluator, SHA-256 for the rules' version, backtests, the bindings) added
/// 65.5 KB, to 229.1 KiB — after cutting 78 KB of it: `str::parse::<f64>`
/// (its own exact decimal reader instead), float formatting in messages,
/// `escape_debug`'s tables and the standard sorts (a heapsort instead). The
/// compiler's functions are big because core is built at opt-level 3 for the
/// scoring loop. Next: find the rest with twiggy.
const WASM_BUDGET_BYTES: u64 = 232 * 1024;

pub(crate) fn gzip_size(path: &Path) -> Option<usize> {
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).output().ok()?;
    out.status.success().then_some(out.stdout.len())
}

/// Builds the wasm package for the browser and for Node and prints its size.
pub(crate) fn build_wasm() -> Result<()> {
    for (target, dir) in [("web", "pkg-web"), ("nodejs", "pkg-node")] {
        step(&format!("wasm-pack build --target {target} (wasm/{dir})"));
        sh(Command::new("wasm-pack")
            .args([
                "build",
                "wasm",
                "--profile",
                "wasm-release",
                "--no-typescript",
                "--target",
                target,
                "--out-dir",
                dir,
                // The crate is `wasm` (after its folder); what ships is named for what it is.
                "--out-name",
                "fraud_wasm",
            ])
            .env("PATH", tools_path()))?;
    }
    let wasm = Path::new("wasm/pkg-web/fraud_wasm_bg.wasm");
    let raw = std::fs::metadata(wasm).with_context(|| format!("{} was not built", wasm.display()))?.len();
    let gz = gzip_size(wasm).map_or("?".into(), |n| n.to_string());
    eprintln!(
        "wasm size: {raw} bytes raw ({:.1} KiB), {gz} bytes gzip -9 (budget {} KiB raw)",
        raw as f64 / 1024.0,
        WASM_BUDGET_BYTES / 1024
    );
    // Size is deterministic for a given build, so the budget is a check, not a figure.
    if raw > WASM_BUDGET_BYTES {
        bail!("{} is {raw} bytes, over the {WASM_BUDGET_BYTES}-byte budget", wasm.display());
    }
    Ok(())
}

/// Builds the Worker with the model of the folder `dir` compiled in, and the
/// rules its golden file is decided by (`checks::decision_rules`), using local
/// tools only (worker-build would otherwise download wasm-bindgen, wasm-opt and esbuild).
pub(crate) fn build_worker(dir: &Path) -> Result<()> {
    let model = dir.join("model.bin");
    let rules = crate::checks::decision_rules(dir);
    let with = rules.as_ref().map_or(String::new(), |(r, _)| format!(", rules {}", r.display()));
    step(&format!("worker-build --profile worker-release (edge-worker/, model {}{with})", model.display()));
    let bindgen = on_path("wasm-bindgen").context("wasm-bindgen is not on PATH")?;
    let model = std::fs::canonicalize(&model).with_context(|| format!("no model at {}", model.display()))?;
    let mut build = Command::new("worker-build");
    build
        .args(["--profile", "worker-release"])
        .current_dir(edge_dir())
        .env("PATH", edge_path())
        .env("WASM_BINDGEN_BIN", bindgen)
        .env("WASM_OPT_BIN", tools_bin().join("wasm-opt"))
        .env("ESBUILD_BIN", esbuild_bin())
        .env("FRAUD_MODEL", model)
        .env_remove("FRAUD_RULES")
        .env_remove("FRAUD_LISTS");
    if let Some((rules, lists)) = rules {
        build.env("FRAUD_RULES", std::fs::canonicalize(&rules)?);
        if lists.is_dir() {
            build.env("FRAUD_LISTS", std::fs::canonicalize(&lists)?);
        }
    }
    sh(&mut build)?;
    for entry in std::fs::read_dir(edge_dir().join("build"))?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let raw = std::fs::metadata(&path)?.len();
            let gz = gzip_size(&path).map_or("?".into(), |n| n.to_string());
            eprintln!("Worker wasm {}: {raw} bytes raw, {gz} bytes gzip -9", path.display());
        }
    }
    Ok(())
}

/// Assembles the web page (web/ + the wasm package + a model folder's
/// artifact and replay file) into target/site, which the server serves at `/`.
pub(crate) fn build_site(model_dir: &Path) -> Result<PathBuf> {
    let site = workspace_root().join("target/site");
    std::fs::create_dir_all(site.join("pkg"))?;
    let copy = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to).with_context(|| format!("copying {} to {}", from.display(), to.display())).map(|_| ())
    };
    // The page's own files: web/, web/lib/ (the modules it shares with the Node checks) and
    // web/review/ (the review queue, for a server with a decision log).
    for dir in ["", "lib", "review"] {
        std::fs::create_dir_all(site.join(dir))?;
        let from = Path::new("web").join(dir);
        for entry in std::fs::read_dir(&from).with_context(|| format!("listing {}", from.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "html" || e == "js" || e == "css") {
                let name = path.file_name().context("a listed file has a name")?;
                copy(path.clone(), site.join(dir).join(name))?;
            }
        }
    }
    for file in ["fraud_wasm.js", "fraud_wasm_bg.wasm"] {
        copy(Path::new("wasm/pkg-web").join(file), site.join("pkg").join(file))?;
    }
    for file in ["model.bin", "replay.csv"] {
        copy(model_dir.join(file), site.join(file))?;
    }
    // The rules the trainer proposed, for the page's editor (a comment when it proposed none).
    match model_dir.join("rules.txt") {
        rules if rules.exists() => copy(rules, site.join("rules.txt"))?,
        _ => std::fs::write(site.join("rules.txt"), "# No rules were proposed for this model: write some.\n")?,
    }
    Ok(site)
}

//! `native-train publish`: a trained model (and its rules and lists) into the
//! fleet's JetStream object store, where every `fraud-server --model-from` and
//! `fraud-consumer --model-from` picks it up. Checked first, as every instance
//! checks it: a bundle they would refuse is not put.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fleet::{Bundle, Source};
use fraud_core::rules::{RulesFiles, MAX_LIST_FILE_BYTES, MAX_RULES_BYTES};

/// What `publish` reads and where it puts it.
#[derive(Clone, Debug)]
pub struct PublishCommand {
    /// The model folder (its `model.bin`) or the artifact itself.
    pub model: PathBuf,
    /// The rules file (default: `rules.txt` in the model folder, when there is one).
    pub rules: Option<PathBuf>,
    /// The rules' lists folder (default: `lists/` beside the rules file).
    pub lists: Option<PathBuf>,
    /// `nats://host:port/bucket`.
    pub nats: String,
}

fn read_limited(path: &Path, limit: u64) -> Result<String> {
    let len = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    anyhow::ensure!(len <= limit, "{}: {len} bytes, at most {limit}", path.display());
    std::fs::read_to_string(path).with_context(|| format!("reading {} (UTF-8 text)", path.display()))
}

/// The bundle `cmd` names, read from disk.
pub fn bundle(cmd: &PublishCommand) -> Result<Bundle> {
    let (artifact_path, folder) = if cmd.model.is_dir() {
        (cmd.model.join("model.bin"), Some(cmd.model.as_path()))
    } else {
        (cmd.model.clone(), None)
    };
    let artifact = std::fs::read(&artifact_path).with_context(|| format!("reading {}", artifact_path.display()))?;
    let rules = cmd.rules.clone().or_else(|| folder.map(|f| f.join("rules.txt")).filter(|p| p.is_file()));
    let Some(rules) = rules else { return Ok(Bundle { artifact, rules: None, lists: Vec::new() }) };
    let files = RulesFiles { rules: rules.clone(), lists: cmd.lists.clone() };
    let paths = files.paths().map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = read_limited(&rules, MAX_RULES_BYTES as u64)?;
    let mut lists = Vec::new();
    for path in &paths[1..] {
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        lists.push((name, read_limited(path, MAX_LIST_FILE_BYTES)?));
    }
    Ok(Bundle { artifact, rules: Some(text), lists })
}

/// Publishes; prints what was put.
pub fn run(cmd: &PublishCommand) -> Result<fleet::Published> {
    let source = Source::parse(&cmd.nats).map_err(anyhow::Error::msg)?;
    let bundle = bundle(cmd)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let published = runtime.block_on(fleet::publish(&source, &bundle))?;
    println!(
        "published model {} to {source} ({} bytes{}{})",
        published.model_id,
        published.bytes,
        bundle.rules.as_ref().map_or(String::new(), |_| format!(", with rules and {} lists", bundle.lists.len())),
        published.digest.as_deref().map_or(String::new(), |d| format!(", {d}"))
    );
    Ok(published)
}

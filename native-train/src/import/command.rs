//! `native-train import` as one function: read the model file, then either
//! write the artifact as the model was, or — with labelled rows — calibrate,
//! choose the policy and measure it as `train` does, and write every output.

use std::path::PathBuf;
use std::time::Instant;

use std::io::Write as _;

use anyhow::{bail, Context as _, Result};
use dataset::{Features, Spec};
use ndarray::Array2;

use super::{artifact_of, native_calibration, read_model, schema_of, training_of, ImportOptions, Library};
use crate::data::{Cell, Dataset};
use crate::input::ScoringFiles;
use crate::output::{write_atomic, write_outputs, ARTIFACT_FILE, ARTIFACT_JSON_FILE, REPLAY_FILE};
use crate::pipeline::{run_imported, Config, Source};
use crate::train::progress_bar;

/// What `native-train import` was asked to do.
pub struct ImportCommand {
    /// The model file and its library.
    pub model: (Library, PathBuf),
    /// How to serve it.
    pub options: ImportOptions,
    /// Labelled rows to calibrate and measure on (none: the model as it was).
    pub data: Option<PathBuf>,
    /// The protocol's settings for labelled rows (seed, calibration, policy, split).
    pub config: Config,
    /// The costs for the model's schema (their defaults depend on whether it has an amount).
    pub costs: Box<dyn Fn(&fraud_core::Schema) -> fraud_core::Costs>,
    /// The output folder.
    pub out: PathBuf,
}

/// Runs the command; prints what was written.
pub fn run(cmd: &ImportCommand) -> Result<()> {
    let t = Instant::now();
    let (library, path) = &cmd.model;
    let (trees, imported) = read_model(path, *library)?;
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    tracing::info!(
        trees = trees.ensemble.trees.len(),
        features = trees.feature_names.len(),
        ms = format!("{read_ms:.0}"),
        "read {} {} model {}",
        imported.library,
        imported.version,
        path.display()
    );
    std::fs::create_dir_all(&cmd.out).with_context(|| format!("creating {}", cmd.out.display()))?;
    let Some(data_path) = &cmd.data else {
        let mut artifact = artifact_of(&trees, &imported, &cmd.options)?;
        artifact.rule.costs = (cmd.costs)(&artifact.schema);
        artifact.model()?;
        let bytes = artifact.encode()?;
        let json = cmd.out.join(ARTIFACT_JSON_FILE);
        write_atomic(&json, |w| {
            serde_json::to_writer_pretty(&mut *w, &artifact.to_wire())?;
            w.write_all(b"\n")
        })
        .with_context(|| format!("writing {}", json.display()))?;
        let bin = cmd.out.join(ARTIFACT_FILE);
        write_atomic(&bin, |w| w.write_all(&bytes)).with_context(|| format!("writing {}", bin.display()))?;
        println!(
            "imported {} {} ({} trees, {} features) from its {} file in {:.0} ms\nartifact  {} ({} bytes, model id {}), \
             threshold {} on the probability, no calibration",
            imported.library,
            imported.version,
            trees.ensemble.trees.len(),
            trees.feature_names.len(),
            imported.format,
            t.elapsed().as_secs_f64() * 1e3,
            bin.display(),
            bytes.len(),
            fraud_core::artifact::model_id(&bytes),
            cmd.options.threshold,
        );
        return Ok(());
    };

    let schema = schema_of(&trees, &cmd.options)?;
    let load = Instant::now();
    let spec = Spec {
        features: Features::Named(schema.features().to_vec()),
        label: cmd.options.label.clone(),
        id: cmd.options.id.clone(),
    };
    let bytes = std::fs::read(data_path).with_context(|| format!("reading {}", data_path.display()))?;
    // Scoring files may leave the label out; labelled rows may not.
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let has_label = String::from_utf8_lossy(header)
        .trim_end_matches('\r')
        .split(',')
        .any(|c| c.trim().trim_matches('"') == cmd.options.label);
    if !has_label {
        bail!("{}: no label column {:?} in the header (name it with --label)", data_path.display(), cmd.options.label);
    }
    let table =
        dataset::parse_csv_for(&bytes, &spec, &schema).with_context(|| format!("loading {}", data_path.display()))?;
    let (rows, width) = (table.len(), table.width());
    if rows == 0 {
        bail!("{}: no rows", data_path.display());
    }
    let x = Array2::from_shape_vec((rows, width), table.values().to_vec())?;
    let data = Dataset {
        x,
        y: table.labels().to_vec(),
        schema: schema.clone(),
        ids: table.ids().map(|(_, ids)| ids.to_vec()),
        cells: Some(std::sync::Arc::new(vec![Cell::Number; width])),
    };
    let source =
        Source { name: data_path.display().to_string(), sha256: crate::data::sha256_hex(&bytes), synthetic: false };
    let load_seconds = load.elapsed().as_secs_f64();
    let model = {
        let served = artifact_of(&trees, &imported, &ImportOptions { threshold: 0.5, ..cmd.options.clone() })?;
        served.model()?
    };
    debug_assert_eq!(model.calibration(), &native_calibration(&trees));
    let config = Config { costs: (cmd.costs)(&schema), ..cmd.config.clone() };
    let bar = progress_bar();
    let outcome = run_imported(&data, &source, model, (training_of(&trees), imported), &config, &bar)?;
    bar.finish_and_clear();
    drop(data);
    let written = write_outputs(&cmd.out, &outcome, &config, load_seconds)?;
    crate::golden::write(
        &ScoringFiles { model: written.artifact.clone(), replay: cmd.out.join(REPLAY_FILE) },
        None,
        &cmd.out.join("golden.csv"),
    )?;
    crate::summary::print(&outcome, &source, &written);
    Ok(())
}

//! What the commands read: the training data — a CSV the user names, the
//! Kaggle file when it is there, or synthetic data — with errors that say what
//! to do; and, for the scoring commands, an artifact with rows to score.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use dataset::table::TableError;
use dataset::{CsvError, Features, Spec, Table};
use fraud_core::schema::{DEFAULT_AMOUNT, DEFAULT_LABEL};
use fraud_core::{Loaded, Schema};

use crate::data::{self, load_bytes, load_csv, Dataset, LoadError};
use crate::pipeline::Source;
use crate::synth::{SchemaKind, Synthetic};

/// Where the Kaggle file is looked for when no data is named.
const KAGGLE_PATH: &str = "data/creditcard.csv";

/// Which data to train on, and what its columns are.
#[derive(Clone, Debug)]
pub struct DataChoice {
    /// The CSV; without one, the Kaggle file if present, else synthetic data.
    pub path: Option<PathBuf>,
    /// The label column (default: the file's `Class`, or the synthetic schema's).
    pub label: Option<String>,
    /// The feature columns in order (default: every column but the label and the id).
    pub features: Option<Vec<String>>,
    /// The id column, never a feature (default: none, or the synthetic schema's).
    pub id: Option<String>,
    /// The amount column (default: the file's `Amount` when it has one, or the synthetic schema's).
    pub amount: Option<String>,
    /// Numeric columns to use as categories (`--categorical`); text columns always are.
    pub categorical: Vec<String>,
    /// The data to generate when there is no file.
    pub synthetic: Synthetic,
}

/// Loaded training data and where it came from.
pub struct Input {
    /// The rows.
    pub data: Dataset,
    /// Their provenance.
    pub source: Source,
    /// How long reading (and hashing) took.
    pub load_time: Duration,
}

/// Where the rows come from, which sets the columns' defaults: a file's are
/// the Kaggle file's (`Class`, no id, `Amount`), synthetic data's its schema's.
enum Origin {
    File(PathBuf),
    Synthetic(Synthetic),
}

impl Origin {
    fn default_label(&self) -> &'static str {
        match self {
            Origin::File(_) => DEFAULT_LABEL,
            Origin::Synthetic(s) => s.schema.label(),
        }
    }

    fn default_id(&self) -> Option<&'static str> {
        match self {
            Origin::File(_) => None,
            Origin::Synthetic(s) => s.schema.id(),
        }
    }

    fn default_amount(&self) -> &'static str {
        match self {
            Origin::File(_) => DEFAULT_AMOUNT,
            Origin::Synthetic(s) => s.schema.amount(),
        }
    }
}

impl DataChoice {
    /// The named file, else the Kaggle file if present (for the creditcard schema), else synthetic data.
    fn origin(&self) -> Origin {
        let default = Path::new(KAGGLE_PATH);
        match &self.path {
            Some(p) => Origin::File(p.clone()),
            None if default.exists() && self.synthetic.schema == SchemaKind::Creditcard => {
                Origin::File(default.to_path_buf())
            }
            None => Origin::Synthetic(self.synthetic),
        }
    }

    /// The columns to read: those named, the rest `origin`'s defaults.
    fn spec(&self, origin: &Origin) -> Result<Spec> {
        let spec = Spec {
            features: match &self.features {
                Some(names) => Features::Named(names.clone()),
                None => Features::All,
            },
            label: self.label.clone().unwrap_or_else(|| origin.default_label().to_string()),
            id: self.id.clone().or_else(|| origin.default_id().map(String::from)),
        };
        if let Features::Named(names) = &spec.features {
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    bail!("--features lists {name:?} twice");
                }
                if *name == spec.label || Some(name) == spec.id.as_ref() {
                    bail!("--features lists {name:?}, which is the label or the id column, never a feature");
                }
            }
        }
        Ok(spec)
    }
}

/// Loads the data `choice` names, or the default, and logs what it is.
pub fn load(choice: &DataChoice) -> Result<Input> {
    let t = Instant::now();
    let origin = choice.origin();
    let spec = choice.spec(&origin)?;
    let default_amount = origin.default_amount();
    let amount = Amount { named: choice.amount.as_deref(), default: default_amount };
    let (loaded, source) = match origin {
        Origin::File(path) => {
            let loaded = with_hints(load_csv(&path, &spec, &choice.categorical, None), &spec, amount)
                .with_context(|| format!("loading {}", path.display()))?;
            let source = Source { name: path.display().to_string(), sha256: loaded.sha256.clone(), synthetic: false };
            (loaded, source)
        }
        Origin::Synthetic(synthetic) => {
            let kind = synthetic.schema;
            tracing::warn!(
                "no dataset given{}: training on SYNTHETIC {} data (run `cargo xtask fetch-data` for the real file)",
                if kind == SchemaKind::Creditcard { " and data/creditcard.csv is absent" } else { "" },
                SchemaKind::NAMES[kind as usize],
            );
            let csv = synthetic.csv();
            let loaded = with_hints(load_bytes(&csv, &spec, &choice.categorical, None), &spec, amount)
                .context("parsing synthetic data")?;
            let source = Source { name: synthetic.name(), sha256: loaded.sha256.clone(), synthetic: true };
            (loaded, source)
        }
    };
    log_schema(&loaded.data, default_amount);
    let load_time = t.elapsed();
    tracing::info!(
        rows = loaded.data.len(),
        frauds = loaded.data.frauds(),
        ms = format!("{:.0}", load_time.as_secs_f64() * 1e3),
        "loaded {}",
        source.name
    );
    Ok(Input { data: loaded.data, source, load_time })
}

/// Tells what the columns turned out to be, and warns when money cannot depend on the amount.
fn log_schema(data: &Dataset, default_amount: &str) {
    let schema = &data.schema;
    match schema.amount_name() {
        Some(amount) => tracing::info!("amount column: {amount}"),
        None => tracing::warn!(
            "no amount column (no feature is named {default_amount} or {}; name one with --amount): every cost is \
             fixed per outcome and the cost-optimal policy is unavailable",
            default_amount.to_lowercase()
        ),
    }
    tracing::info!(
        features = schema.len(),
        label = schema.label(),
        id = schema.id().unwrap_or("none"),
        "schema: {}",
        schema.describe()
    );
}

/// The amount column: the one the user named, else the default if the data has it.
#[derive(Clone, Copy)]
struct Amount<'a> {
    named: Option<&'a str>,
    default: &'a str,
}

/// Data loaded without an amount column, with it resolved: the one named,
/// else the default (`Amount`, else `amount`) when it is a feature — without
/// one, money is fixed per outcome.
fn with_amount(mut loaded: data::Loaded, amount: Amount) -> Result<data::Loaded, LoadError> {
    let schema = &loaded.data.schema;
    let name = match amount.named {
        Some(name) => Some(name.to_string()),
        None => {
            [amount.default.to_string(), amount.default.to_lowercase()].into_iter().find(|n| schema.index(n).is_some())
        }
    };
    if let Some(name) = name {
        loaded.data.schema = Schema::new(schema.features().to_vec(), Some(&name), schema.label(), schema.id())
            .map_err(LoadError::Schema)?;
    }
    Ok(loaded)
}

/// The loaded data with the amount column resolved, or an error that says what to do.
fn with_hints(loaded: Result<data::Loaded, LoadError>, spec: &Spec, amount: Amount) -> Result<data::Loaded> {
    loaded.and_then(|l| with_amount(l, amount)).map_err(|e| {
        let hint = match &e {
            LoadError::Csv(CsvError::Header { missing, .. })
            | LoadError::Table(TableError::Csv(CsvError::Header { missing, .. }))
                if missing.contains(&spec.label) =>
            {
                format!(" (name the label column with --label; it is {:?} now)", spec.label)
            }
            _ => String::new(),
        };
        anyhow::anyhow!("{e}{hint}")
    })
}

/// An artifact and rows to score with it.
#[derive(Clone, Debug)]
pub struct ScoringFiles {
    /// The model artifact.
    pub model: PathBuf,
    /// A CSV with the model's feature columns (any others, its id and label included, are ignored).
    pub replay: PathBuf,
}

impl ScoringFiles {
    /// The artifact, and the replay's features in the model's order.
    pub fn load(&self) -> Result<(Loaded, Table)> {
        let loaded = fraud_core::artifact::read_file(&self.model)?;
        let rows = dataset::read_csv_for(&self.replay, &Self::spec(&loaded), loaded.model.schema())
            .with_context(|| format!("loading {}", self.replay.display()))?;
        Ok((loaded, rows))
    }

    /// [`ScoringFiles::load`] with the replay's ids, when the schema names an
    /// id column and the replay has it (what a rule's `:id:` sees).
    pub fn load_with_ids(&self) -> Result<(Loaded, Table)> {
        let loaded = fraud_core::artifact::read_file(&self.model)?;
        let schema = loaded.model.schema();
        if let Some(id) = schema.id() {
            let spec = Spec { id: Some(id.to_string()), ..Spec::of_schema(schema) };
            if let Ok(rows) = dataset::read_csv_for(&self.replay, &spec, schema) {
                return Ok((loaded, rows));
            }
        }
        let rows = dataset::read_csv_for(&self.replay, &Self::spec(&loaded), schema)
            .with_context(|| format!("loading {}", self.replay.display()))?;
        Ok((loaded, rows))
    }

    /// [`ScoringFiles::load`], with each replay row's cells as written (what a client sends).
    pub fn load_with_cells(&self) -> Result<(Loaded, Table, Vec<Vec<dataset::Cell>>)> {
        let loaded = fraud_core::artifact::read_file(&self.model)?;
        let (rows, cells) = dataset::read_cells_for(&self.replay, &Self::spec(&loaded), loaded.model.schema())
            .with_context(|| format!("loading {}", self.replay.display()))?;
        Ok((loaded, rows, cells))
    }

    /// Only the features are scored: the id column need not be there.
    fn spec(loaded: &Loaded) -> Spec {
        Spec { id: None, ..Spec::of_schema(loaded.model.schema()) }
    }
}

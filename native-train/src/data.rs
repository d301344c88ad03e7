//! The dataset as the trainer holds it: the shared `dataset` crate's rows in an
//! `ndarray` matrix, plus the file's SHA-256 for provenance.

use std::path::Path;
use std::thread;

use dataset::{CsvError, Spec, Table};
use fraud_core::{Schema, SchemaError};
use ndarray::{Array2, ArrayView2};
use sha2::{Digest, Sha256};

/// Features (n × schema width, schema order), labels (1 = fraud), the
/// schema and, when the file had an id column, the ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Raw feature rows in schema order.
    pub x: Array2<f64>,
    /// Labels, 0 or 1.
    pub y: Vec<u8>,
    /// Feature names and order, label, id and amount columns.
    pub schema: Schema,
    /// One id per row, when the schema has an id column.
    pub ids: Option<Vec<String>>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Number of frauds.
    pub fn frauds(&self) -> usize {
        self.y.iter().filter(|&&y| y == 1).count()
    }
}

impl Dataset {
    /// A table as the trainer holds it; `amount` names the amount feature, if any.
    pub fn from_table(table: Table, amount: Option<&str>) -> Result<Dataset, SchemaError> {
        let ids = table.ids().map(|(name, ids)| (name.to_string(), ids.to_vec()));
        let schema = Schema::new(
            table.names().to_vec(),
            amount,
            table.label_name(),
            ids.as_ref().map(|(name, _)| name.as_str()),
        )?;
        let (rows, width) = (table.len(), table.width());
        let (values, labels) = table.into_parts();
        let x = Array2::from_shape_vec((rows, width), values).expect("a Table holds exactly rows × width values");
        Ok(Dataset { x, y: labels, schema, ids: ids.map(|(_, ids)| ids) })
    }

    /// The rows as a `dataset` table (for writing).
    pub fn to_table(&self) -> Table {
        let table = Table::new(
            self.schema.features().to_vec(),
            self.schema.label().to_string(),
            rows_of(self.x.view()).into_owned(),
            self.y.clone(),
        )
        .expect("a dataset's matrix has one row per label and one column per feature");
        match (&self.ids, self.schema.id()) {
            (Some(ids), Some(name)) => {
                table.with_ids(name.to_string(), ids.clone()).expect("a dataset has one id per row")
            }
            _ => table,
        }
    }
}

/// The rows of a feature matrix as one row-major slice, copying only when the
/// matrix is not already laid out that way (a view of selected columns, say).
pub fn rows_of<'a>(x: ArrayView2<'a, f64>) -> std::borrow::Cow<'a, [f64]> {
    match x.to_slice() {
        Some(rows) => std::borrow::Cow::Borrowed(rows),
        None => std::borrow::Cow::Owned(x.iter().copied().collect()),
    }
}

/// Why a file could not become a training set.
#[derive(Debug)]
pub enum LoadError {
    /// The CSV is unreadable or malformed.
    Csv(CsvError),
    /// Its columns make no valid schema (e.g. the amount column is not a feature).
    Schema(SchemaError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Csv(e) => e.fmt(f),
            LoadError::Schema(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Csv(e) => e.source(),
            LoadError::Schema(_) => None,
        }
    }
}

/// A loaded file: its data and the SHA-256 of its bytes.
pub struct Loaded {
    /// The parsed rows.
    pub data: Dataset,
    /// SHA-256 of the file (hex), for provenance.
    pub sha256: String,
}

/// Reads and parses a CSV file, hashing it for provenance; `amount` names the amount feature, if any.
pub fn load_csv(path: &Path, spec: &Spec, amount: Option<&str>) -> Result<Loaded, LoadError> {
    load_bytes(&dataset::read_bytes(path).map_err(LoadError::Csv)?, spec, amount)
}

/// The Kaggle file (or a file in its layout): its 30 features, `Class`, `Amount`.
pub fn load_creditcard(path: &Path) -> Result<Loaded, LoadError> {
    load_csv(path, &Spec::creditcard(), Some(fraud_core::schema::DEFAULT_AMOUNT))
}

/// Parses CSV bytes and hashes them (the hash runs beside the parser).
pub fn load_bytes(bytes: &[u8], spec: &Spec, amount: Option<&str>) -> Result<Loaded, LoadError> {
    let (table, sha256) = thread::scope(|s| {
        let hash = s.spawn(|| sha256_hex(bytes));
        let table = dataset::parse_csv(bytes, spec);
        // Hashing bytes in memory cannot fail; a panic there is a bug, raised as such.
        (table, hash.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    let data = Dataset::from_table(table.map_err(LoadError::Csv)?, amount).map_err(LoadError::Schema)?;
    Ok(Loaded { data, sha256 })
}

/// Writes a dataset as CSV (see [`dataset::write_csv`]).
pub fn write_csv<W: std::io::Write>(out: &mut W, data: &Dataset) -> std::io::Result<()> {
    dataset::write_csv(out, &data.to_table())
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

//! The dataset as the trainer holds it: the shared `dataset` crate's rows in an
//! `ndarray` matrix, plus the file's SHA-256 for provenance.

use std::path::Path;
use std::thread;

use dataset::{CsvError, Table};
use fraud_core::N_FEATURES;
use ndarray::{Array2, ArrayView2};
use sha2::{Digest, Sha256};

/// Features (n × 30, schema order) and labels (1 = fraud).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Raw feature rows in schema order.
    pub x: Array2<f64>,
    /// Labels, 0 or 1.
    pub y: Vec<u8>,
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

impl From<Table> for Dataset {
    fn from(table: Table) -> Dataset {
        let rows = table.len();
        let (values, labels) = table.into_parts();
        let x =
            Array2::from_shape_vec((rows, N_FEATURES), values).expect("a Table holds exactly rows × N_FEATURES values");
        Dataset { x, y: labels }
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

/// A loaded file: its data and the SHA-256 of its bytes.
pub struct Loaded {
    /// The parsed rows.
    pub data: Dataset,
    /// SHA-256 of the file (hex), for provenance.
    pub sha256: String,
}

/// Reads and parses a CSV file, hashing it for provenance.
pub fn load_csv(path: &Path) -> Result<Loaded, CsvError> {
    load_bytes(&dataset::read_bytes(path)?)
}

/// Parses CSV bytes and hashes them (the hash runs beside the parser).
pub fn load_bytes(bytes: &[u8]) -> Result<Loaded, CsvError> {
    let (table, sha256) = thread::scope(|s| {
        let hash = s.spawn(|| sha256_hex(bytes));
        let table = dataset::parse_csv(bytes);
        // Hashing bytes in memory cannot fail; a panic there is a bug, raised as such.
        (table, hash.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    Ok(Loaded { data: table?.into(), sha256 })
}

/// Writes a dataset as CSV (see [`dataset::write_csv`]).
pub fn write_csv<W: std::io::Write>(out: &mut W, data: &Dataset) -> std::io::Result<()> {
    let values = rows_of(data.x.view());
    let (rows, _) = values.as_chunks::<N_FEATURES>();
    dataset::write_csv(out, rows, &data.y)
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

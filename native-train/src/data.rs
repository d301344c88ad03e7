//! The dataset as the trainer holds it: the shared `dataset` crate's rows in an
//! `ndarray` matrix, plus the file's SHA-256 for provenance.
//!
//! A table with text columns or empty cells is read by [`dataset::read_typed`]
//! and held *as read* ([`Dataset::cells`]): a text cell is its index in the
//! column's dictionary, an empty cell NaN. The vocabulary that turns cells
//! into codes is learned on the train split only, so coding waits for the
//! split ([`crate::tabular::encode`]).

use std::path::Path;
use std::sync::Arc;
use std::thread;

use dataset::table::{ColumnData, TableError, TypedSpec, TypedTable};
use dataset::{CsvError, Spec, Table, ValueProblem};
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
    /// How a table with categorical columns or empty cells was read (per
    /// feature, what `x` holds); `None`: every value is a finite number.
    pub cells: Option<Arc<Vec<Cell>>>,
}

/// What a feature's values in [`Dataset::x`] are, for a table read with
/// categorical columns or empty cells. NaN is an empty cell in every kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A number.
    Number,
    /// A text category: the index of its text in this dictionary.
    Text(Vec<String>),
    /// A numeric-coded category (`--categorical`): the number itself.
    CodedNumber,
}

impl Cell {
    /// True for a categorical column.
    pub fn is_categorical(&self) -> bool {
        !matches!(self, Cell::Number)
    }
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
        Ok(Dataset { x, y: labels, schema, ids: ids.map(|(_, ids)| ids), cells: None })
    }

    /// A typed table as the trainer holds it: numeric only (as [`Dataset::from_table`])
    /// when no column is categorical and no cell is empty, else *as read* (see [`Dataset::cells`]).
    /// `label` and `id` are the spec's columns.
    pub fn from_typed(
        table: TypedTable,
        label: &str,
        id: Option<&str>,
        amount: Option<&str>,
    ) -> Result<Dataset, SchemaError> {
        let schema = Schema::new(table.names.clone(), amount, label, id)?;
        let (rows, width) = (table.len(), table.columns.len());
        let mut x = Array2::<f64>::zeros((rows, width));
        let mut cells = Vec::with_capacity(width);
        let mut tabular = false;
        for (j, column) in table.columns.into_iter().enumerate() {
            let mut out = x.column_mut(j);
            match column {
                ColumnData::Numeric(v) => {
                    tabular |= v.iter().any(|x| x.is_nan());
                    out.assign(&ndarray::ArrayView1::from(&v));
                    cells.push(Cell::Number);
                }
                ColumnData::CodedNumbers(v) => {
                    out.assign(&ndarray::ArrayView1::from(&v));
                    cells.push(Cell::CodedNumber);
                    tabular = true;
                }
                ColumnData::Text { values, dictionary } => {
                    for (o, &v) in out.iter_mut().zip(&values) {
                        *o = if v == u32::MAX { f64::NAN } else { f64::from(v) };
                    }
                    cells.push(Cell::Text(dictionary));
                    tabular = true;
                }
            }
        }
        Ok(Dataset { x, y: table.labels, schema, ids: table.ids, cells: tabular.then(|| Arc::new(cells)) })
    }

    /// True when the rows hold categorical cells or empty ones (see [`Dataset::cells`]).
    pub fn is_tabular(&self) -> bool {
        self.cells.is_some()
    }

    /// The rows as a `dataset` table (for writing numeric rows).
    fn to_table(&self) -> Table {
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
    /// A table with text columns or empty cells is malformed (mixed column, missing label, …).
    Table(TableError),
    /// Its columns make no valid schema (e.g. the amount column is not a feature).
    Schema(SchemaError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Csv(e) => e.fmt(f),
            LoadError::Table(e) => e.fmt(f),
            LoadError::Schema(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Csv(e) => e.source(),
            LoadError::Table(e) => e.source(),
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

/// Reads and parses a CSV file, hashing it for provenance; `amount` names the
/// amount feature, if any; `categorical` the numeric columns read as categories.
pub fn load_csv(path: &Path, spec: &Spec, categorical: &[String], amount: Option<&str>) -> Result<Loaded, LoadError> {
    load_bytes(&dataset::read_bytes(path).map_err(LoadError::Csv)?, spec, categorical, amount)
}

/// The Kaggle file (or a file in its layout): its 30 features, `Class`, `Amount`.
pub fn load_creditcard(path: &Path) -> Result<Loaded, LoadError> {
    load_csv(path, &Spec::creditcard(), &[], Some(fraud_core::schema::DEFAULT_AMOUNT))
}

/// Parses CSV bytes and hashes them (the hash runs beside the parser). A file
/// of finite numbers takes the numeric reader (parallel, row-major); one with
/// a text cell or an empty one, or with `categorical` columns, the typed
/// reader (column kinds from the cells; see [`dataset::table`]).
pub fn load_bytes(
    bytes: &[u8],
    spec: &Spec,
    categorical: &[String],
    amount: Option<&str>,
) -> Result<Loaded, LoadError> {
    let (data, sha256) = thread::scope(|s| {
        let hash = s.spawn(|| sha256_hex(bytes));
        let data = parse(bytes, spec, categorical, amount);
        // Hashing bytes in memory cannot fail; a panic there is a bug, raised as such.
        (data, hash.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    Ok(Loaded { data: data?, sha256 })
}

fn parse(bytes: &[u8], spec: &Spec, categorical: &[String], amount: Option<&str>) -> Result<Dataset, LoadError> {
    if categorical.is_empty() {
        match dataset::parse_csv(bytes, spec) {
            Ok(table) => return Dataset::from_table(table, amount).map_err(LoadError::Schema),
            // A feature's text or empty cell (or an empty label): the typed reader decides, and says why not.
            Err(CsvError::Value { problem: ValueProblem::NotNumeric(_) | ValueProblem::BadLabel(_), .. }) => {}
            Err(e) => return Err(LoadError::Csv(e)),
        }
    }
    let typed = TypedSpec {
        label: spec.label.clone(),
        id: spec.id.clone(),
        features: match &spec.features {
            dataset::Features::All => None,
            dataset::Features::Named(names) => Some(names.clone()),
        },
        categorical: categorical.to_vec(),
    };
    let table = dataset::table::read_typed(bytes, &typed).map_err(LoadError::Table)?;
    Dataset::from_typed(table, &spec.label, spec.id.as_deref(), amount).map_err(LoadError::Schema)
}

/// Writes a dataset as CSV (see [`dataset::write_csv`]); a table held as read
/// ([`Dataset::cells`]) is written back as read: text as text, empty cells empty.
pub fn write_csv<W: std::io::Write>(out: &mut W, data: &Dataset) -> std::io::Result<()> {
    match &data.cells {
        None => dataset::write_csv(out, &data.to_table()),
        Some(cells) => write_cells(out, data, cells),
    }
}

/// The id first, then the features, then the label, like [`dataset::write_csv`].
fn write_cells<W: std::io::Write>(out: &mut W, data: &Dataset, cells: &[Cell]) -> std::io::Result<()> {
    let schema = &data.schema;
    let mut header: Vec<&str> = Vec::with_capacity(schema.len() + 2);
    header.extend(schema.id().filter(|_| data.ids.is_some()));
    header.extend(schema.features().iter().map(String::as_str));
    header.push(schema.label());
    let header: Vec<String> = header.iter().map(|h| quoted(h).into_owned()).collect();
    writeln!(out, "{}", header.join(","))?;
    let mut ryu = ryu::Buffer::new();
    let mut line = String::new();
    for (i, row) in data.x.rows().into_iter().enumerate() {
        line.clear();
        if let Some(ids) = &data.ids {
            line.push_str(&quoted(&ids[i]));
            line.push(',');
        }
        for (x, cell) in row.iter().zip(cells) {
            if !x.is_nan() {
                match cell {
                    Cell::Text(dictionary) => line.push_str(&quoted(&dictionary[*x as usize])),
                    Cell::Number | Cell::CodedNumber => line.push_str(ryu.format_finite(*x)),
                }
            }
            line.push(',');
        }
        line.push(if data.y[i] == 1 { '1' } else { '0' });
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A CSV field for `text`: bare when it reads back the same, else quoted with `""` escapes.
fn quoted(text: &str) -> std::borrow::Cow<'_, str> {
    let bare = !text.is_empty() && !text.contains([',', '"', '\n', '\r']) && text.trim() == text;
    if bare {
        text.into()
    } else {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    }
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

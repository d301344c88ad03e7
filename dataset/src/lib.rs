//! Transaction CSVs: the one reader and writer every tool shares.
//!
//! The trainer, the streamer, the soak driver, the scorer and xtask all read
//! transactions through this crate: by header name, any column order, extra
//! columns ignored, quoted or bare values, parsed on every core. Errors name
//! the line (1-based, the header is line 1) and the column. A bad file yields
//! an error and no data: nothing is half-loaded.
//!
//! Which columns are features is the caller's [`Spec`]: the trainer takes
//! every column but the label and the id (or the ones a user names), every
//! other tool takes the features of the model it talks to (its artifact's
//! schema), so a team's own `amount, merchant_risk, …` file reads like the
//! Kaggle one.
//!
//! Why a crate of its own: clients need to read transactions without pulling in
//! the trainer (ndarray, rand, hashing). Rows come back as plain row-major `f64`
//! in the spec's feature order — the layout `fraud_core`'s batch scorer takes —
//! and each tool wraps them as it likes.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::thread;

use fraud_core::schema::{Schema, CREDITCARD_FEATURES, DEFAULT_LABEL, MAX_FEATURES};
use fraud_core::Categories;

pub mod table;

/// SHA-256 of Kaggle's `creditcard.csv` (284,807 rows, 150,828,752 bytes): the
/// real dataset, as `data/README.md` describes it. xtask's `fetch-data` and the
/// real-data gate check files against it.
pub const KAGGLE_SHA256: &str = "76274b691b16a6c49d3f159c883398e03ccd6d1ee12d9d8ee38f4b4b98551a89";

/// Which columns are the features.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Features {
    /// Every column but the label and the id, in the file's order (training's default).
    All,
    /// These, in this order (a model's schema, or a user's `--features`).
    Named(Vec<String>),
}

/// What to read from a file: the features, the label column and an optional id column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The feature columns.
    pub features: Features,
    /// The label column (0/1, "0"/"1" or true/false).
    pub label: String,
    /// A column carried with each row, never a feature.
    pub id: Option<String>,
}

impl Spec {
    /// The Kaggle file: `Time, V1..V28, Amount` and `Class`.
    pub fn creditcard() -> Spec {
        Spec {
            features: Features::Named(CREDITCARD_FEATURES.iter().map(|s| s.to_string()).collect()),
            label: DEFAULT_LABEL.to_string(),
            id: None,
        }
    }

    /// A model's inputs, label and id column (the id is read when the file has it).
    pub fn of_schema(schema: &Schema) -> Spec {
        Spec {
            features: Features::Named(schema.features().to_vec()),
            label: schema.label().to_string(),
            id: schema.id().map(str::to_string),
        }
    }
}

/// Transactions: feature rows (in their names' order), labels (1 = fraud)
/// and, when the file had an id column, the ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    names: Vec<String>,
    label: String,
    values: Vec<f64>,
    labels: Vec<u8>,
    ids: Option<(String, Vec<String>)>,
}

impl Table {
    /// A table of `labels.len()` rows of `names.len()` values (row-major);
    /// `None` when the lengths disagree or there are no feature names.
    pub fn new(names: Vec<String>, label: String, values: Vec<f64>, labels: Vec<u8>) -> Option<Table> {
        (!names.is_empty() && values.len() == labels.len() * names.len()).then_some(Table {
            names,
            label,
            values,
            labels,
            ids: None,
        })
    }

    /// The same table with an id per row (`None` when the count differs).
    pub fn with_ids(mut self, column: String, ids: Vec<String>) -> Option<Table> {
        (ids.len() == self.labels.len()).then(|| {
            self.ids = Some((column, ids));
            self
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// The feature names, in row order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The label column's name.
    pub fn label_name(&self) -> &str {
        &self.label
    }

    /// The id column's name and the ids, when the file had one.
    pub fn ids(&self) -> Option<(&str, &[String])> {
        self.ids.as_ref().map(|(name, ids)| (name.as_str(), ids.as_slice()))
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.width()..(i + 1) * self.width()]
    }

    /// The rows, each in feature order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.width())
    }

    /// All values, row-major (what `Model::score_batch` takes).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Labels, 0 or 1, one per row.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Number of frauds.
    pub fn frauds(&self) -> usize {
        self.labels.iter().filter(|&&y| y == 1).count()
    }

    /// The row-major values and the labels, moved out.
    pub fn into_parts(self) -> (Vec<f64>, Vec<u8>) {
        (self.values, self.labels)
    }
}

/// What is wrong with one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueProblem {
    /// Not parseable as a number (the value, cut to 40 bytes).
    NotNumeric(String),
    /// NaN or infinite.
    NonFinite(String),
    /// A label other than 0/1 or true/false.
    BadLabel(String),
    /// An empty text category, for a model that does not accept missing values.
    Missing,
}

/// Why a CSV could not be loaded.
#[derive(Debug)]
pub enum CsvError {
    /// The file could not be read.
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is empty (no header).
    Empty,
    /// The header lacks required columns or repeats one.
    Header {
        /// Required columns absent from the header.
        missing: Vec<String>,
        /// Used columns present more than once.
        duplicate: Vec<String>,
        /// The header's columns (for the message; cut to 40).
        found: Vec<String>,
    },
    /// More feature columns than a model may have.
    TooManyFeatures {
        /// How many the header gives.
        count: usize,
    },
    /// No column is left to be a feature.
    NoFeatures,
    /// A line has a different number of fields than the header.
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// A quoted field is not closed on its line.
    UnclosedQuote {
        /// 1-based line number.
        line: usize,
    },
    /// A value is not acceptable.
    Value {
        /// 1-based line number.
        line: usize,
        /// Column name.
        column: String,
        /// What is wrong.
        problem: ValueProblem,
    },
    /// A header but no data rows.
    NoRows,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Io { path, .. } => write!(f, "cannot read {path}"),
            CsvError::Empty => f.write_str("the file is empty: expected a header line naming the columns"),
            CsvError::TooManyFeatures { count } => write!(
                f,
                "line 1 (header): {count} feature columns, at most {MAX_FEATURES} are supported \
                 (choose some with --features)"
            ),
            CsvError::NoFeatures => f.write_str("line 1 (header): no feature columns besides the label and the id"),
            CsvError::Header { missing, duplicate, found } => {
                f.write_str("line 1 (header): ")?;
                if !missing.is_empty() {
                    write!(f, "missing column(s) {}", missing.join(", "))?;
                }
                if !duplicate.is_empty() {
                    if !missing.is_empty() {
                        f.write_str("; ")?;
                    }
                    write!(f, "duplicate column(s) {}", duplicate.join(", "))?;
                }
                if !missing.is_empty() {
                    write!(f, " (the header has: {})", found.join(", "))?;
                }
                Ok(())
            }
            CsvError::FieldCount { line, expected, found } => {
                write!(f, "line {line}: {found} fields, the header has {expected}")
            }
            CsvError::UnclosedQuote { line } => write!(f, "line {line}: a quoted field is not closed"),
            CsvError::Value { line, column, problem } => {
                write!(f, "line {line}, column {column}: ")?;
                match problem {
                    ValueProblem::NotNumeric(v) => write!(f, "{v:?} is not a number"),
                    ValueProblem::NonFinite(v) => write!(f, "{v:?} is not a finite number"),
                    ValueProblem::BadLabel(v) => write!(f, "label {v:?} is not 0/1 or true/false"),
                    ValueProblem::Missing => f.write_str("empty, and this model does not accept missing values"),
                }
            }
            CsvError::NoRows => f.write_str("the file has a header but no data rows"),
        }
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CsvError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads a file's bytes (the error names the path and keeps the OS error as its source).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CsvError> {
    std::fs::read(path).map_err(|source| CsvError::Io { path: path.display().to_string(), source })
}

/// Reads and parses a CSV file.
pub fn read_csv(path: &Path, spec: &Spec) -> Result<Table, CsvError> {
    parse_csv(&read_bytes(path)?, spec)
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Target {
    Feature(usize),
    Label,
    /// The id column of a file being scored: carried through, never a feature.
    Id,
    Ignore,
}

/// Splits the next field off `line` at `*pos`; returns the field without
/// surrounding quotes. `None` when a quote is not closed.
#[inline]
pub(crate) fn next_field<'a>(line: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let start = *pos;
    if line.get(start) == Some(&b'"') {
        // Quoted: "" is an escaped quote; the field ends at a lone quote.
        let mut i = start + 1;
        loop {
            let q = i + memchr::memchr(b'"', &line[i..])?;
            if line.get(q + 1) == Some(&b'"') {
                i = q + 2;
                continue;
            }
            let field = &line[start + 1..q];
            // Skip to the next comma (tolerating spaces after the closing quote).
            *pos = match memchr::memchr(b',', &line[q + 1..]) {
                Some(c) => q + 1 + c + 1,
                None => line.len() + 1,
            };
            return Some(field);
        }
    }
    match memchr::memchr(b',', &line[start..]) {
        Some(c) => {
            *pos = start + c + 1;
            Some(&line[start..start + c])
        }
        None => {
            *pos = line.len() + 1;
            Some(&line[start..])
        }
    }
}

pub(crate) fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

pub(crate) fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(40)];
    String::from_utf8_lossy(cut).into_owned()
}

/// How a file's header maps onto a spec.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub(crate) targets: Vec<Target>,
    /// Feature names, in row order.
    pub(crate) names: Vec<String>,
}

pub(crate) fn parse_header(line: &[u8], spec: &Spec, label_required: bool) -> Result<Header, CsvError> {
    let mut columns = Vec::new();
    let mut pos = 0;
    while pos <= line.len() {
        let name = next_field(line, &mut pos).ok_or(CsvError::UnclosedQuote { line: 1 })?;
        columns.push(String::from_utf8_lossy(trim(name)).into_owned());
    }
    let named: HashMap<&str, usize> = match &spec.features {
        Features::All => HashMap::new(),
        Features::Named(names) => names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect(),
    };
    let mut names: Vec<String> = match &spec.features {
        Features::All => Vec::new(),
        Features::Named(names) => names.clone(),
    };
    let mut seen = vec![0usize; names.len()];
    let mut all_seen: HashMap<&str, usize> = HashMap::new();
    let (mut labels, mut ids) = (0, 0);
    let mut duplicate = Vec::new();
    let mut targets = Vec::with_capacity(columns.len());
    for name in &columns {
        let target = if *name == spec.label {
            labels += 1;
            Target::Label
        } else if Some(name) == spec.id.as_ref() {
            ids += 1;
            Target::Id
        } else {
            match &spec.features {
                Features::All => {
                    let count = all_seen.entry(name).or_insert(0);
                    *count += 1;
                    if *count == 2 {
                        duplicate.push(name.clone());
                    }
                    names.push(name.clone());
                    Target::Feature(names.len() - 1)
                }
                Features::Named(_) => match named.get(name.as_str()) {
                    Some(&i) => {
                        seen[i] += 1;
                        if seen[i] == 2 {
                            duplicate.push(name.clone());
                        }
                        Target::Feature(i)
                    }
                    None => Target::Ignore,
                },
            }
        };
        targets.push(target);
    }
    let mut missing: Vec<String> =
        names.iter().zip(&seen).filter(|(_, &n)| n == 0).map(|(name, _)| name.clone()).collect();
    if labels == 0 && label_required {
        missing.push(spec.label.clone());
    }
    if labels > 1 {
        duplicate.push(spec.label.clone());
    }
    match (&spec.id, ids) {
        (Some(id), 0) => missing.push(id.clone()),
        (Some(id), n) if n > 1 => duplicate.push(id.clone()),
        _ => {}
    }
    if !missing.is_empty() || !duplicate.is_empty() {
        let found = columns.iter().take(40).cloned().collect();
        return Err(CsvError::Header { missing, duplicate, found });
    }
    if names.is_empty() {
        return Err(CsvError::NoFeatures);
    }
    if names.len() > MAX_FEATURES {
        return Err(CsvError::TooManyFeatures { count: names.len() });
    }
    Ok(Header { targets, names })
}

fn column_name(header: &Header, targets: &[Target], col: usize, label: &str) -> String {
    match targets[col] {
        Target::Feature(i) => header.names[i].clone(),
        _ => label.to_string(),
    }
}

/// A label: 0/1 (as numbers, so `"1"` and `1.0` too) or true/false in any case.
pub(crate) fn parse_label(field: &[u8]) -> Option<u8> {
    match fast_float2::parse::<f64, _>(field) {
        Ok(v) if v == 0.0 || v == 1.0 => Some(v as u8),
        Ok(_) => None,
        Err(_) if field.eq_ignore_ascii_case(b"true") => Some(1),
        Err(_) if field.eq_ignore_ascii_case(b"false") => Some(0),
        Err(_) => None,
    }
}

/// The columns of a file read line by line (for scoring files that do not
/// fit in memory): where each of a spec's features is, and the optional id
/// column. The label is optional here and read when present.
///
/// For a model with categories or missing values ([`Columns::with_schema`]
/// of a schema that [`Schema::is_tabular`]), an empty field is a missing value
/// (NaN) when the schema accepts them, and a categorical feature's cell is
/// stored as its code (unseen categories get the "other" code).
#[derive(Clone, Debug)]
pub struct Columns {
    header: Header,
    label: String,
    /// Per feature (row order) how to read it; `None` for a numeric-only schema.
    tabular: Option<Tabular>,
}

/// How a tabular schema's features are read.
#[derive(Clone, Debug)]
struct Tabular {
    /// Per feature, in row order.
    kinds: Vec<Kind>,
    /// An empty field is a missing value (NaN); otherwise today's error.
    missing: bool,
}

/// How one feature's cell is read.
#[derive(Clone, Debug)]
enum Kind {
    /// A finite number.
    Number,
    /// A text category: its code.
    Text(Categories),
    /// A numeric-coded category: the number's code.
    Coded(Categories),
}

impl Columns {
    /// From the header line (without its newline). Every feature of `spec`
    /// is required; its id, when given, names a column that must be there once.
    pub fn from_header(line: &[u8], spec: &Spec) -> Result<Columns, CsvError> {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim(line).is_empty() {
            return Err(CsvError::Empty);
        }
        Ok(Columns { header: parse_header(line, spec, false)?, label: spec.label.clone(), tabular: None })
    }

    /// The same columns read as `schema`'s features: when it
    /// [`is_tabular`](Schema::is_tabular), empty fields are missing values (if
    /// it accepts them) and categorical cells become codes; otherwise nothing
    /// changes (every cell a finite number). Features are matched by name.
    pub fn with_schema(mut self, schema: &Schema) -> Columns {
        self.tabular = schema.is_tabular().then(|| Tabular {
            kinds: self
                .header
                .names
                .iter()
                .map(|name| match schema.index(name).and_then(|i| schema.categories(i)) {
                    None => Kind::Number,
                    Some(c) if c.is_text() => Kind::Text(c.clone()),
                    Some(c) => Kind::Coded(c.clone()),
                })
                .collect(),
            missing: schema.accepts_missing(),
        });
        self
    }

    /// True when the file has the label column.
    pub fn has_label(&self) -> bool {
        self.header.targets.contains(&Target::Label)
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.header.names.len()
    }
}

/// One data line, parsed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Line<'a> {
    /// The id column's field (quotes removed), when the columns have one.
    pub id: Option<&'a [u8]>,
    /// The label, when the file has one.
    pub label: Option<u8>,
}

/// Parses one data line (no newline; a trailing `\r` is dropped) into `row`
/// ([`Columns::width`] values), in the spec's order. `Ok(None)` for a blank
/// line. Errors name the column; their line is 0 — [`CsvError::at_line`] sets it.
pub fn parse_line<'a>(line: &'a [u8], columns: &Columns, row: &mut [f64]) -> Result<Option<Line<'a>>, CsvError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if trim(line).is_empty() {
        return Ok(None);
    }
    let mut label = 0u8;
    // Once per line: the numeric-only parser has no per-cell kind checks.
    let id = match &columns.tabular {
        None => parse_fields::<false>(line, &columns.header, None, row, &mut label, &columns.label)?,
        Some(t) => parse_fields::<true>(line, &columns.header, Some(t), row, &mut label, &columns.label)?,
    };
    Ok(Some(Line { id, label: columns.has_label().then_some(label) }))
}

impl CsvError {
    /// The same error at 1-based line `line` (errors of [`parse_line`] carry 0).
    pub fn at_line(self, line: usize) -> CsvError {
        with_line(self, line)
    }
}

/// A finite number of feature `kind`, as stored in a row: itself, or its code.
#[inline]
fn number_of(kind: Option<&Kind>, v: f64) -> f64 {
    match kind {
        Some(Kind::Coded(c)) => c.code_of_number(v).unwrap_or(c.other()) as f64,
        _ => v,
    }
}

/// A text category's code: the field (trimmed; `""` unescaped when it was
/// quoted). Text that is not UTF-8 is no category of the vocabulary: "other".
fn text_code(c: &Categories, field: &[u8], quoted: bool) -> f64 {
    let code = if quoted && memchr::memchr(b'"', field).is_some() {
        let text = String::from_utf8_lossy(field).replace("\"\"", "\"");
        c.code_of_text(&text)
    } else {
        std::str::from_utf8(field).ok().and_then(|t| c.code_of_text(t))
    };
    code.unwrap_or(c.other()) as f64
}

/// The fields of one non-blank line into `row` and `label`; returns the id
/// field. `TABULAR` (with `tabular`) reads missing values and categories; without
/// it the kind checks compile away.
#[inline]
fn parse_fields<'a, const TABULAR: bool>(
    line: &'a [u8],
    header: &Header,
    tabular: Option<&Tabular>,
    row: &mut [f64],
    label: &mut u8,
    label_name: &str,
) -> Result<Option<&'a [u8]>, CsvError> {
    let targets = &header.targets;
    let mut id = None;
    let mut pos = 0;
    let mut col = 0;
    while pos <= line.len() {
        // Fast path: a bare number ending at a comma or the line's end is
        // parsed in one pass, without first searching for the comma.
        if let Some(Target::Feature(i)) = targets.get(col) {
            let kind = if TABULAR { tabular.map(|t| &t.kinds[*i]) } else { None };
            if !matches!(kind, Some(Kind::Text(_))) {
                if let Ok((v, n)) = fast_float2::parse_partial::<f64, _>(&line[pos..]) {
                    let end = pos + n;
                    if n > 0 && v.is_finite() && line.get(end).is_none_or(|&b| b == b',') {
                        row[*i] = number_of(kind, v);
                        pos = end + 1;
                        col += 1;
                        continue;
                    }
                }
            }
        }
        let quoted = TABULAR && line.get(pos) == Some(&b'"');
        let field = next_field(line, &mut pos).ok_or(CsvError::UnclosedQuote { line: 0 })?;
        let Some(&target) = targets.get(col) else {
            // Count the rest for a precise message.
            let mut found = col + 1;
            while pos <= line.len() {
                next_field(line, &mut pos);
                found += 1;
            }
            return Err(CsvError::FieldCount { line: 0, expected: targets.len(), found });
        };
        match target {
            Target::Ignore => {}
            Target::Id => id = Some(trim(field)),
            Target::Label => {
                let field = trim(field);
                match parse_label(field) {
                    Some(y) => *label = y,
                    None => {
                        let column = column_name(header, targets, col, label_name);
                        return Err(CsvError::Value { line: 0, column, problem: ValueProblem::BadLabel(shown(field)) });
                    }
                }
            }
            Target::Feature(i) => {
                let field = trim(field);
                let value_error = |problem| CsvError::Value {
                    line: 0,
                    column: column_name(header, targets, col, label_name),
                    problem,
                };
                let kind = if TABULAR { tabular.map(|t| &t.kinds[i]) } else { None };
                if TABULAR && field.is_empty() && tabular.is_some_and(|t| t.missing) {
                    row[i] = f64::NAN;
                    col += 1;
                    continue;
                }
                if let Some(Kind::Text(c)) = kind {
                    if field.is_empty() {
                        return Err(value_error(ValueProblem::Missing));
                    }
                    row[i] = text_code(c, field, quoted);
                    col += 1;
                    continue;
                }
                match fast_float2::parse::<f64, _>(field) {
                    Ok(v) if v.is_finite() => row[i] = number_of(kind, v),
                    Ok(_) => return Err(value_error(ValueProblem::NonFinite(shown(field)))),
                    Err(_) => return Err(value_error(ValueProblem::NotNumeric(shown(field)))),
                }
            }
        }
        col += 1;
    }
    if col != targets.len() {
        return Err(CsvError::FieldCount { line: 0, expected: targets.len(), found: col });
    }
    Ok(id)
}

/// Parses one chunk of data lines into `x`/`y` (sized for every line in the
/// chunk) and, when the spec has an id column, `ids`. Returns the rows
/// written; errors carry chunk-relative line indexes.
fn parse_chunk(
    chunk: &[u8],
    header: &Header,
    label_name: &str,
    x: &mut [f64],
    y: &mut [u8],
    ids: Option<&mut Vec<String>>,
) -> Result<usize, (usize, CsvError)> {
    let width = header.names.len();
    let mut rows = 0;
    let mut ids = ids;
    for (line_idx, raw) in chunk.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if trim(line).is_empty() {
            continue;
        }
        let row = &mut x[rows * width..(rows + 1) * width];
        let id = parse_fields::<false>(line, header, None, row, &mut y[rows], label_name).map_err(|e| (line_idx, e))?;
        if let Some(ids) = ids.as_deref_mut() {
            ids.push(String::from_utf8_lossy(id.unwrap_or_default()).into_owned());
        }
        rows += 1;
    }
    Ok(rows)
}

fn with_line(e: CsvError, line: usize) -> CsvError {
    match e {
        CsvError::FieldCount { expected, found, .. } => CsvError::FieldCount { line, expected, found },
        CsvError::UnclosedQuote { .. } => CsvError::UnclosedQuote { line },
        CsvError::Value { column, problem, .. } => CsvError::Value { line, column, problem },
        other => other,
    }
}

/// Reads a file of `schema`'s rows (see [`parse_csv_for`]).
pub fn read_csv_for(path: &Path, spec: &Spec, schema: &Schema) -> Result<Table, CsvError> {
    parse_csv_for(&read_bytes(path)?, spec, schema)
}

/// Parses CSV bytes as rows of `schema`: exactly [`parse_csv`] for a
/// numeric-only schema; for one that [`Schema::is_tabular`], line by line as
/// [`Columns::with_schema`] reads them (empty fields missing, categories their
/// codes). The label is optional there (0 when absent); the id required when named.
pub fn parse_csv_for(bytes: &[u8], spec: &Spec, schema: &Schema) -> Result<Table, CsvError> {
    if !schema.is_tabular() {
        return parse_csv(bytes, spec);
    }
    parse_tabular(bytes, spec, schema, None)
}

/// A tabular schema's rows, line by line; with `cells`, each row's cells as written too.
fn parse_tabular(
    bytes: &[u8],
    spec: &Spec,
    schema: &Schema,
    mut cells: Option<&mut Vec<Vec<Cell>>>,
) -> Result<Table, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines = bytes.split(|&b| b == b'\n');
    let columns = Columns::from_header(lines.next().unwrap_or_default(), spec)?.with_schema(schema);
    let width = columns.width();
    let (mut values, mut labels, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    let mut row = vec![0.0; width];
    for (k, line) in lines.enumerate() {
        let Some(parsed) = parse_line(line, &columns, &mut row).map_err(|e| e.at_line(k + 2))? else { continue };
        values.extend_from_slice(&row);
        labels.push(parsed.label.unwrap_or(0));
        if let Some(id) = parsed.id {
            ids.push(String::from_utf8_lossy(id).into_owned());
        }
        if let Some(cells) = cells.as_mut() {
            cells.push(cells_of(line, &columns));
        }
    }
    if labels.is_empty() {
        return Err(CsvError::NoRows);
    }
    let ids = spec.id.clone().map(|name| (name, ids));
    Ok(Table { names: columns.header.names, label: spec.label.clone(), values, labels, ids })
}

/// One feature's cell as the file wrote it: what a request replaying the row
/// sends (a JSON number, string or `null`).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// A number (of a numeric feature, or of a numeric-coded category).
    Number(f64),
    /// A text category, as spelled.
    Text(String),
    /// An empty cell: a missing value.
    Missing,
}

impl Cell {
    /// The cell as core validates it.
    pub fn raw(&self) -> fraud_core::RawValue<'_> {
        match self {
            Cell::Number(v) => fraud_core::RawValue::Number(*v),
            Cell::Text(t) => fraud_core::RawValue::Text(t),
            Cell::Missing => fraud_core::RawValue::Null,
        }
    }
}

/// Rows of `schema` (validated and coded as [`parse_csv_for`] reads them),
/// with each row's cells as written, in the spec's feature order: for
/// replaying a file as requests, where a category rare in training must be
/// sent as spelled, not as its code.
pub fn read_cells_for(path: &Path, spec: &Spec, schema: &Schema) -> Result<(Table, Vec<Vec<Cell>>), CsvError> {
    let bytes = read_bytes(path)?;
    if !schema.is_tabular() {
        let table = parse_csv(&bytes, spec)?;
        let cells = table.rows().map(|r| r.iter().map(|&v| Cell::Number(v)).collect()).collect();
        return Ok((table, cells));
    }
    let mut cells = Vec::new();
    let table = parse_tabular(&bytes, spec, schema, Some(&mut cells))?;
    Ok((table, cells))
}

/// The feature cells of a line `parse_line` accepted, as written (spec order).
fn cells_of(line: &[u8], columns: &Columns) -> Vec<Cell> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let kinds = columns.tabular.as_ref().map(|t| &t.kinds[..]).unwrap_or_default();
    let mut row = vec![Cell::Missing; columns.width()];
    let (mut pos, mut col) = (0, 0);
    while pos <= line.len() {
        let quoted = line.get(pos) == Some(&b'"');
        // The line parsed: every field is there and closed.
        let Some(field) = next_field(line, &mut pos) else { break };
        if let Some(Target::Feature(i)) = columns.header.targets.get(col) {
            let field = trim(field);
            row[*i] = match kinds.get(*i) {
                _ if field.is_empty() => Cell::Missing,
                Some(Kind::Text(_)) => Cell::Text(table::text_of(field, quoted).into_owned()),
                _ => fast_float2::parse::<f64, _>(field).map_or(Cell::Missing, Cell::Number),
            };
        }
        col += 1;
    }
    row
}

/// Parses CSV bytes (see the module docs): the spec's features and label
/// (required) and its id column (required when named).
pub fn parse_csv(bytes: &[u8], spec: &Spec) -> Result<Table, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if trim(bytes).is_empty() {
        return Err(CsvError::Empty);
    }
    let header_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let header_line = &bytes[..header_end];
    let header = parse_header(header_line.strip_suffix(b"\r").unwrap_or(header_line), spec, true)?;
    let width = header.names.len();
    let with_ids = spec.id.is_some();
    // Everything after the header line; nothing when the file ends with it.
    let body = if header_end < bytes.len() { &bytes[header_end + 1..] } else { &[] };

    // Cut the body into one chunk per core, at line boundaries.
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let threads = if body.len() < 1 << 20 { 1 } else { threads };
    let mut cuts = vec![0];
    for k in 1..threads {
        let guess = (body.len() * k / threads).max(*cuts.last().unwrap_or(&0));
        let cut = memchr::memchr(b'\n', &body[guess..]).map_or(body.len(), |i| guess + i + 1);
        cuts.push(cut);
    }
    cuts.push(body.len());
    let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    // Lines per chunk bound the rows: allocate once, exactly, then fill in place.
    let lines: Vec<usize> = chunks.iter().map(|c| memchr::memchr_iter(b'\n', c).count() + 1).collect();
    let capacity: usize = lines.iter().sum();
    let mut x = vec![0.0f64; capacity * width];
    let mut y = vec![0u8; capacity];

    type ChunkResult = Result<(usize, Vec<String>), (usize, CsvError)>;
    let results: Vec<ChunkResult> = thread::scope(|s| {
        let mut x_rest = x.as_mut_slice();
        let mut y_rest = y.as_mut_slice();
        let mut handles = Vec::new();
        for (chunk, &n) in chunks.iter().zip(&lines) {
            let (xc, xr) = x_rest.split_at_mut(n * width);
            let (yc, yr) = y_rest.split_at_mut(n);
            x_rest = xr;
            y_rest = yr;
            let header = &header;
            let label = spec.label.as_str();
            handles.push(s.spawn(move || {
                let mut ids = Vec::new();
                let rows = parse_chunk(chunk, header, label, xc, yc, with_ids.then_some(&mut ids))?;
                Ok((rows, ids))
            }));
        }
        // A parser thread only panics on a bug: re-raise it rather than report it as bad data.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });

    // Report the first error in file order; compact the chunks' rows together.
    let mut first_line = 2;
    let mut rows = 0;
    let mut chunk_start = 0;
    let mut all_ids = Vec::new();
    for (result, &n) in results.into_iter().zip(&lines) {
        let (written, ids) = result.map_err(|(idx, e)| with_line(e, first_line + idx))?;
        if chunk_start != rows {
            x.copy_within(chunk_start * width..(chunk_start + written) * width, rows * width);
            y.copy_within(chunk_start..chunk_start + written, rows);
        }
        all_ids.extend(ids);
        rows += written;
        chunk_start += n;
        first_line += n - 1;
    }
    if rows == 0 {
        return Err(CsvError::NoRows);
    }
    x.truncate(rows * width);
    y.truncate(rows);
    let ids = spec.id.clone().map(|name| (name, all_ids));
    Ok(Table { names: header.names, label: spec.label.clone(), values: x, labels: y, ids })
}

/// Writes `path` through a temporary sibling (`NAME.PID.tmp`) that is synced
/// and renamed over it once `write` succeeds: a crash or an error mid-write
/// never leaves a half-written file at `path` (the old one, if any, stays), and
/// the temporary file is removed. Returns what `write` returned.
pub fn write_atomic<T, E: From<std::io::Error>>(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<T, E>,
) -> Result<T, E> {
    use std::io::{Error, ErrorKind};
    let Some(name) = path.file_name() else {
        return Err(Error::new(ErrorKind::InvalidInput, format!("{} is not a file path", path.display())).into());
    };
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        let value = write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes a table as CSV in the real file's header style (quoted names, the
/// label as a quoted "0"/"1", the id column first when there is one). Floats
/// use the shortest representation that reads back to the same bits; rows are
/// formatted on every core.
pub fn write_csv<W: std::io::Write>(out: &mut W, table: &Table) -> std::io::Result<()> {
    let quoted = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let ids = table.ids();
    let header: Vec<String> = ids
        .map(|(name, _)| name)
        .into_iter()
        .chain(table.names().iter().map(String::as_str))
        .chain([table.label_name()])
        .map(quoted)
        .collect();
    writeln!(out, "{}", header.join(","))?;
    let n = table.len();
    let width = table.width();
    let parts = thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8);
    let ranges: Vec<std::ops::Range<usize>> = (0..parts).map(|k| n * k / parts..n * (k + 1) / parts).collect();
    let chunks: Vec<Vec<u8>> = thread::scope(|s| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|range| {
                s.spawn(move || {
                    let mut buf = Vec::with_capacity(range.len() * 24 * width);
                    let mut ryu = ryu::Buffer::new();
                    for r in range {
                        if let Some((_, ids)) = ids {
                            buf.extend_from_slice(quoted(&ids[r]).as_bytes());
                            buf.push(b',');
                        }
                        for &v in table.row(r) {
                            buf.extend_from_slice(ryu.format(v).as_bytes());
                            buf.push(b',');
                        }
                        buf.extend_from_slice(if table.labels()[r] == 1 { b"\"1\"\n" } else { b"\"0\"\n" });
                    }
                    buf
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    for chunk in chunks {
        out.write_all(&chunk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const N_FEATURES: usize = 30;
    const FEATURE_NAMES: [&str; 30] = CREDITCARD_FEATURES;

    fn parse_csv(bytes: &[u8]) -> Result<Table, CsvError> {
        super::parse_csv(bytes, &Spec::creditcard())
    }

    fn all(label: &str, id: Option<&str>) -> Spec {
        Spec { features: Features::All, label: label.into(), id: id.map(String::from) }
    }

    fn header() -> String {
        let mut h: Vec<String> = FEATURE_NAMES.iter().map(|n| format!("\"{n}\"")).collect();
        h.push("\"Class\"".into());
        h.join(",")
    }

    fn row(v: f64, label: &str) -> String {
        let mut r: Vec<String> = (0..N_FEATURES).map(|i| format!("{}", v + i as f64)).collect();
        r.push(label.into());
        r.join(",")
    }

    #[test]
    fn parses_quoted_header_and_labels() {
        let csv = format!("{}\n{}\n{}\r\n\n", header(), row(0.5, "\"0\""), row(-1.0, "\"1\""));
        let d = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.labels(), [0, 1]);
        assert_eq!(d.row(0)[0], 0.5);
        assert_eq!(d.row(1)[29], 28.0);
    }

    #[test]
    fn any_column_order_and_extra_columns() {
        let mut names: Vec<&str> = FEATURE_NAMES.to_vec();
        names.reverse();
        let mut lines = vec![format!("id,Class,{},\"note, with comma\"", names.join(","))];
        let values: Vec<String> = (0..N_FEATURES).rev().map(|i| (i as f64 * 1.5).to_string()).collect();
        lines.push(format!("7,1,{},\"a, \"\"quoted\"\" note\"", values.join(",")));
        let d = parse_csv(lines.join("\n").as_bytes()).unwrap();
        for i in 0..N_FEATURES {
            assert_eq!(d.row(0)[i], i as f64 * 1.5);
        }
        assert_eq!(d.labels(), [1]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let check = |csv: String, expected: &str| {
            let err = parse_csv(csv.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        };
        let good = row(1.0, "0");
        check(
            format!("{}\n{good}\n{}", header(), row(1.0, "2")),
            "line 3, column Class: label \"2\" is not 0/1 or true/false",
        );
        check(
            format!("{}\n{good}\n{good}\n{}", header(), good.replacen("3", "abc", 1)),
            "line 4, column V2: \"abc\" is not a number",
        );
        check(
            format!("{}\n{}", header(), good.replacen("1", "NaN", 1)),
            "line 2, column Time: \"NaN\" is not a finite number",
        );
        check(format!("{}\n{}", header(), good.replacen("1", "inf", 1)), "is not a finite number");
        check(format!("{}\n{}", header(), good.replacen("1,", "", 1)), "line 2: 30 fields, the header has 31");
        check(format!("{}\n{good},9", header()), "line 2: 32 fields, the header has 31");
        check(format!("{}\n{}", header(), good.replacen("1", "", 1)), "line 2, column Time: \"\" is not a number");
        check(header().replace("\"V7\",", ""), "missing column(s) V7");
        check(header().replace("\"Class\"", "\"Label\""), "missing column(s) Class");
        check(format!("{},V3", header()), "duplicate column(s) V3");
        check(format!("{}\n\"1,2", header()), "line 2: a quoted field is not closed");
        check(String::new(), "the file is empty");
        check("\n\n".into(), "the file is empty");
        check(header(), "header but no data rows");
    }

    #[test]
    fn parallel_chunks_keep_order_and_line_numbers() {
        // Over 1 MiB, so the parser splits it across threads; blank lines inside.
        let mut csv = header();
        let n = 15_000;
        for r in 0..n {
            csv.push('\n');
            csv.push_str(&row(r as f64, if r % 7 == 0 { "\"1\"" } else { "\"0\"" }));
            if r % 1000 == 0 {
                csv.push_str("\n\r");
            }
        }
        assert!(csv.len() > 1 << 20);
        let d = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(d.len(), n);
        for r in 0..n {
            assert_eq!(d.row(r)[0], r as f64);
            assert_eq!(d.labels()[r], (r % 7 == 0) as u8);
        }
        // An error near the end reports its true line number (header + 6 blank lines before it).
        let mut lines: Vec<&str> = csv.lines().collect();
        let last = lines.len() - 1;
        let broken = lines[last].replacen(',', ",x", 1);
        lines[last] = &broken;
        let err = parse_csv(lines.join("\n").as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with(&format!("line {}, column V1", last + 1)), "{err}");
    }

    #[test]
    fn write_then_parse_round_trips() {
        let csv = format!("{}\n{}\n{}", header(), row(0.1, "0"), row(-7.25e-5, "1"));
        let d = parse_csv(csv.as_bytes()).unwrap();
        let mut out = Vec::new();
        write_csv(&mut out, &d).unwrap();
        assert!(out.starts_with(b"\"Time\",\"V1\""));
        assert_eq!(parse_csv(&out).unwrap(), d);
    }

    #[test]
    fn any_schema_every_column_but_the_label_and_id() {
        let csv = "tx,amount,merchant_risk,is_fraud,hour\n\"a-1\",12.5,0.25,true,3\nb-2,99,0.75,FALSE,23\nc-3,5,0.5,\"1\",0\n";
        let d = super::parse_csv(csv.as_bytes(), &all("is_fraud", Some("tx"))).unwrap();
        assert_eq!(d.names(), ["amount", "merchant_risk", "hour"]);
        assert_eq!(d.row(1), [99.0, 0.75, 23.0]);
        assert_eq!(d.labels(), [1, 0, 1]);
        assert_eq!(d.ids().unwrap().1, ["a-1", "b-2", "c-3"]);
        // Written with the id first and read back the same.
        let mut out = Vec::new();
        write_csv(&mut out, &d).unwrap();
        assert!(out.starts_with(b"\"tx\",\"amount\",\"merchant_risk\",\"hour\",\"is_fraud\"\n\"a-1\",12.5,"));
        assert_eq!(super::parse_csv(&out, &all("is_fraud", Some("tx"))).unwrap(), d);
        // Named features pick and order the columns; the rest is ignored.
        let named = Spec { features: Features::Named(vec!["hour".into(), "amount".into()]), ..all("is_fraud", None) };
        let d = super::parse_csv(csv.as_bytes(), &named).unwrap();
        assert_eq!(d.row(0), [3.0, 12.5]);
        assert!(d.ids().is_none());
    }

    #[test]
    fn schema_errors_name_the_column() {
        let check = |csv: &str, spec: &Spec, expected: &str| {
            let err = super::parse_csv(csv.as_bytes(), spec).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        };
        let spec = all("is_fraud", None);
        check("amount,risk\n1,2\n", &spec, "missing column(s) is_fraud (the header has: amount, risk)");
        check("amount,risk,amount,is_fraud\n1,2,3,0\n", &spec, "duplicate column(s) amount");
        check("amount,is_fraud,is_fraud\n1,0,0\n", &spec, "duplicate column(s) is_fraud");
        check("amount,merchant,is_fraud\n1,acme,0\n", &spec, "line 2, column merchant: \"acme\" is not a number");
        check("amount,is_fraud\n1,0\n2,2\n", &spec, "line 3, column is_fraud: label \"2\" is not 0/1 or true/false");
        check("amount,is_fraud\n1,yes\n", &spec, "label \"yes\" is not 0/1 or true/false");
        check("is_fraud,tx\n1,a\n", &all("is_fraud", Some("tx")), "no feature columns");
        check("amount,is_fraud\n1,0\n", &all("is_fraud", Some("tx")), "missing column(s) tx");
        let wide: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
        let csv = format!("{},y\n{}0\n", wide.join(","), "1,".repeat(300));
        check(&csv, &all("y", None), "300 feature columns, at most 256");
    }

    /// `amount, country (text), mcc (numeric-coded), risk`, missing values accepted.
    fn tabular(accepts_missing: bool) -> Schema {
        use fraud_core::Vocabulary;
        let features = ["amount", "country", "mcc", "risk"].map(String::from).to_vec();
        Schema::new(features, Some("amount"), "is_fraud", Some("tx"))
            .unwrap()
            .with_kinds(
                vec![
                    None,
                    Some(Vocabulary::Text(vec!["FR".into(), "DE".into(), "a, \"b\"".into()])),
                    Some(Vocabulary::Numbers(vec![5411.0])),
                    None,
                ],
                accepts_missing,
            )
            .unwrap()
    }

    /// Every data line of `csv` (header first) through the line parser of `schema`.
    fn lines(csv: &str, schema: &Schema) -> Result<Vec<Vec<f64>>, CsvError> {
        let mut it = csv.split('\n');
        let spec = Spec { id: None, ..Spec::of_schema(schema) };
        let columns = Columns::from_header(it.next().unwrap().as_bytes(), &spec)?.with_schema(schema);
        let mut out = Vec::new();
        for (k, line) in it.enumerate() {
            let mut row = vec![0.0; columns.width()];
            if parse_line(line.as_bytes(), &columns, &mut row).map_err(|e| e.at_line(k + 2))?.is_some() {
                out.push(row);
            }
        }
        Ok(out)
    }

    #[test]
    fn tabular_schemas_read_missing_values_and_codes() {
        let schema = tabular(true);
        // Any column order, an id and an extra column; quoted and bare cells.
        let csv = "tx,risk,mcc,note,country,amount,is_fraud\n\
                   a,0.5,5411,x,FR,12.5,0\n\
                   b,,\"\",,\"\",,1\n\
                   c,1,7995,,US,3,0\n\
                   d,2,5411.0,,\"a, \"\"b\"\"\",4,0\n\
                   e,3,\" 5411 \",, DE ,5,0\n\
                   f,4,1e3,,\"123\",6,0\n";
        let rows = lines(csv, &schema).unwrap();
        assert_eq!(rows[0], [12.5, 0.0, 0.0, 0.5]);
        assert!(rows[1].iter().all(|v| v.is_nan()), "{:?}", rows[1]);
        // Unseen categories: the "other" code (3 for country, 1 for mcc), never an error.
        assert_eq!(rows[2], [3.0, 3.0, 1.0, 1.0]);
        // Quoted text with a comma and escaped quotes; a number's spelling does not matter.
        assert_eq!(rows[3], [4.0, 2.0, 0.0, 2.0]);
        assert_eq!(rows[4], [5.0, 1.0, 0.0, 3.0]);
        // Digits in a text column are text; numeric-coded columns take any number.
        assert_eq!(rows[5], [6.0, 3.0, 1.0, 4.0]);
    }

    #[test]
    fn tabular_schemas_keep_the_numeric_errors() {
        let check = |csv: &str, schema: &Schema, expected: &str| {
            let err = lines(csv, schema).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        };
        let head = "amount,country,mcc,risk,is_fraud\n1,FR,5411,0,0\n";
        let schema = tabular(true);
        check(&format!("{head}2,FR,5411,abc,0"), &schema, "line 3, column risk: \"abc\" is not a number");
        check(&format!("{head}2,FR,grocery,1,0"), &schema, "line 3, column mcc: \"grocery\" is not a number");
        check(&format!("{head}NaN,FR,5411,1,0"), &schema, "line 3, column amount: \"NaN\" is not a finite number");
        check(&format!("{head}2,FR,inf,1,0"), &schema, "line 3, column mcc: \"inf\" is not a finite number");
        check(&format!("{head}2,FR,5411,1"), &schema, "line 3: 4 fields, the header has 5");
        // Categories but no missing values: empty cells are refused.
        let strict = tabular(false);
        assert!(strict.is_tabular());
        check(&format!("{head}2,FR,5411,,0"), &strict, "line 3, column risk: \"\" is not a number");
        check(&format!("{head}2,FR,,1,0"), &strict, "line 3, column mcc: \"\" is not a number");
        check(&format!("{head}2,\"\",5411,1,0"), &strict, "line 3, column country: empty, and this model");
        assert_eq!(lines(head, &strict).unwrap(), [[1.0, 0.0, 0.0, 0.0]]);
        // A numeric-only schema: unchanged, empty cells and text refused.
        let plain = Schema::new(["amount", "risk"].map(String::from).to_vec(), None, "is_fraud", None).unwrap();
        assert!(!plain.is_tabular());
        let head = "amount,risk,is_fraud\n1,2,0\n";
        check(&format!("{head}1,,0"), &plain, "line 3, column risk: \"\" is not a number");
        check(&format!("{head}1,\"\",0"), &plain, "line 3, column risk: \"\" is not a number");
        check(&format!("{head}1,FR,0"), &plain, "line 3, column risk: \"FR\" is not a number");
        assert_eq!(lines(head, &plain).unwrap(), [[1.0, 2.0]]);
    }
}

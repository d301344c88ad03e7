//! Transaction CSVs: the one reader and writer every tool shares.
//!
//! The trainer, the streamer, the soak driver and xtask all read the dataset
//! (and the trainer's replay file) through [`read_csv`]: by header name, any
//! column order, extra columns ignored, quoted or bare values, parsed on every
//! core. Errors name the line (1-based, the header is line 1) and the column.
//! A bad file yields an error and no data: nothing is half-loaded.
//!
//! Why a crate of its own: clients need to read transactions without pulling in
//! the trainer (ndarray, rand, hashing). Rows come back as plain row-major `f64`
//! in the schema's order — the layout `fraud_core`'s batch scorer takes — and
//! each tool wraps them as it likes.

use std::fmt;
use std::path::Path;
use std::thread;

use fraud_core::feature_index;
/// The schema rows come in (re-exported so readers need no other crate).
pub use fraud_core::schema::{FEATURE_NAMES, LABEL_NAME, N_FEATURES};

/// SHA-256 of Kaggle's `creditcard.csv` (284,807 rows, 150,828,752 bytes): the
/// real dataset, as `data/README.md` describes it. xtask's `fetch-data` and the
/// real-data gate check files against it.
pub const KAGGLE_SHA256: &str = "76274b691b16a6c49d3f159c883398e03ccd6d1ee12d9d8ee38f4b4b98551a89";

/// Transactions: feature rows (schema order) and labels (1 = fraud).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    values: Vec<f64>,
    labels: Vec<u8>,
}

impl Table {
    /// A table from row-major values (`labels.len()` rows of [`N_FEATURES`]);
    /// `None` when the lengths disagree.
    pub fn new(values: Vec<f64>, labels: Vec<u8>) -> Option<Table> {
        (values.len() == labels.len() * N_FEATURES).then_some(Table { values, labels })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The rows, each in schema order.
    pub fn rows(&self) -> &[[f64; N_FEATURES]] {
        let (rows, rest) = self.values.as_chunks::<N_FEATURES>();
        debug_assert!(rest.is_empty(), "Table::new checks the length");
        rows
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
    /// A label other than 0 or 1.
    BadLabel(String),
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
        /// Required columns present more than once.
        duplicate: Vec<String>,
    },
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
            CsvError::Empty => {
                f.write_str("the file is empty: expected a header line with Time, V1..V28, Amount, Class")
            }
            CsvError::Header { missing, duplicate } => {
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
                    ValueProblem::BadLabel(v) => write!(f, "label {v:?} is not 0 or 1"),
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
pub fn read_csv(path: &Path) -> Result<Table, CsvError> {
    parse_csv(&read_bytes(path)?)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Feature(usize),
    Label,
    /// The id column of a file being scored: carried through, never a feature.
    Id,
    Ignore,
}

/// Splits the next field off `line` at `*pos`; returns the field without
/// surrounding quotes. `None` when a quote is not closed.
#[inline]
fn next_field<'a>(line: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
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

fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn shown(b: &[u8]) -> String {
    let cut = &b[..b.len().min(40)];
    String::from_utf8_lossy(cut).into_owned()
}

fn parse_header(line: &[u8], label_required: bool, id: Option<&str>) -> Result<Vec<Target>, CsvError> {
    let mut targets = Vec::new();
    let mut seen = [0usize; N_FEATURES + 1];
    let mut ids = 0;
    let mut pos = 0;
    while pos <= line.len() {
        let name = next_field(line, &mut pos).ok_or(CsvError::UnclosedQuote { line: 1 })?;
        let name = String::from_utf8_lossy(trim(name));
        let target = if Some(name.as_ref()) == id {
            ids += 1;
            Target::Id
        } else if name == LABEL_NAME {
            seen[N_FEATURES] += 1;
            Target::Label
        } else if let Some(i) = feature_index(&name) {
            seen[i] += 1;
            Target::Feature(i)
        } else {
            Target::Ignore
        };
        targets.push(target);
    }
    let names = |pred: fn(usize) -> bool| -> Vec<String> {
        FEATURE_NAMES
            .iter()
            .copied()
            .chain([LABEL_NAME])
            .zip(seen)
            .filter(|(_, n)| pred(*n))
            .map(|(name, _)| name.to_string())
            .collect()
    };
    let mut missing = names(|n| n == 0);
    if !label_required {
        missing.retain(|n| n != LABEL_NAME);
    }
    let mut duplicate = names(|n| n > 1);
    match (id, ids) {
        (Some(id), 0) => missing.push(id.to_string()),
        (Some(id), n) if n > 1 => duplicate.push(id.to_string()),
        _ => {}
    }
    if missing.is_empty() && duplicate.is_empty() {
        Ok(targets)
    } else {
        Err(CsvError::Header { missing, duplicate })
    }
}

fn column_name(targets: &[Target], col: usize) -> String {
    match targets[col] {
        Target::Feature(i) => FEATURE_NAMES[i].to_string(),
        _ => LABEL_NAME.to_string(),
    }
}

/// The columns of a file read line by line (for scoring files that do not
/// fit in memory): where each schema feature is, and the optional id column.
/// The label is optional here and read when present.
#[derive(Clone, Debug)]
pub struct Columns {
    targets: Vec<Target>,
}

impl Columns {
    /// From the header line (without its newline). Every schema feature is
    /// required; `id`, when given, names a column that must be there once.
    pub fn from_header(line: &[u8], id: Option<&str>) -> Result<Columns, CsvError> {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if trim(line).is_empty() {
            return Err(CsvError::Empty);
        }
        Ok(Columns { targets: parse_header(line, false, id)? })
    }

    /// True when the file has the label column.
    pub fn has_label(&self) -> bool {
        self.targets.contains(&Target::Label)
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

/// Parses one data line (no newline; a trailing `\r` is dropped) into `row`,
/// in schema order. `Ok(None)` for a blank line. Errors name the column; their
/// line is 0 — [`CsvError::at_line`] sets it.
pub fn parse_line<'a>(
    line: &'a [u8],
    columns: &Columns,
    row: &mut [f64; N_FEATURES],
) -> Result<Option<Line<'a>>, CsvError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if trim(line).is_empty() {
        return Ok(None);
    }
    let mut label = 0u8;
    let id = parse_fields(line, &columns.targets, row, &mut label)?;
    Ok(Some(Line { id, label: columns.has_label().then_some(label) }))
}

impl CsvError {
    /// The same error at 1-based line `line` (errors of [`parse_line`] carry 0).
    pub fn at_line(self, line: usize) -> CsvError {
        with_line(self, line)
    }
}

/// The fields of one non-blank line into `row` and `label`; returns the id field.
#[inline]
fn parse_fields<'a>(
    line: &'a [u8],
    targets: &[Target],
    row: &mut [f64],
    label: &mut u8,
) -> Result<Option<&'a [u8]>, CsvError> {
    let mut id = None;
    let mut pos = 0;
    let mut col = 0;
    while pos <= line.len() {
        // Fast path: a bare number ending at a comma or the line's end is
        // parsed in one pass, without first searching for the comma.
        if let Some(Target::Feature(i)) = targets.get(col) {
            if let Ok((v, n)) = fast_float2::parse_partial::<f64, _>(&line[pos..]) {
                let end = pos + n;
                if n > 0 && v.is_finite() && line.get(end).is_none_or(|&b| b == b',') {
                    row[*i] = v;
                    pos = end + 1;
                    col += 1;
                    continue;
                }
            }
        }
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
            Target::Feature(_) | Target::Label => {
                let field = trim(field);
                let value_error = |problem| CsvError::Value { line: 0, column: column_name(targets, col), problem };
                let v: f64 = match fast_float2::parse(field) {
                    Ok(v) => v,
                    Err(_) if target == Target::Label => return Err(value_error(ValueProblem::BadLabel(shown(field)))),
                    Err(_) => return Err(value_error(ValueProblem::NotNumeric(shown(field)))),
                };
                match target {
                    Target::Feature(i) if v.is_finite() => row[i] = v,
                    Target::Feature(_) => return Err(value_error(ValueProblem::NonFinite(shown(field)))),
                    Target::Label if v == 0.0 || v == 1.0 => *label = v as u8,
                    _ => return Err(value_error(ValueProblem::BadLabel(shown(field)))),
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
/// chunk). Returns the rows written; errors carry chunk-relative line indexes.
fn parse_chunk(chunk: &[u8], targets: &[Target], x: &mut [f64], y: &mut [u8]) -> Result<usize, (usize, CsvError)> {
    let mut rows = 0;
    for (line_idx, raw) in chunk.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if trim(line).is_empty() {
            continue;
        }
        let row = &mut x[rows * N_FEATURES..(rows + 1) * N_FEATURES];
        parse_fields(line, targets, row, &mut y[rows]).map_err(|e| (line_idx, e))?;
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

/// Parses CSV bytes (see the module docs).
pub fn parse_csv(bytes: &[u8]) -> Result<Table, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if trim(bytes).is_empty() {
        return Err(CsvError::Empty);
    }
    let header_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let header = &bytes[..header_end];
    let targets = parse_header(header.strip_suffix(b"\r").unwrap_or(header), true, None)?;
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
    let mut x = vec![0.0f64; capacity * N_FEATURES];
    let mut y = vec![0u8; capacity];

    let results: Vec<Result<usize, (usize, CsvError)>> = thread::scope(|s| {
        let mut x_rest = x.as_mut_slice();
        let mut y_rest = y.as_mut_slice();
        let mut handles = Vec::new();
        for (chunk, &n) in chunks.iter().zip(&lines) {
            let (xc, xr) = x_rest.split_at_mut(n * N_FEATURES);
            let (yc, yr) = y_rest.split_at_mut(n);
            x_rest = xr;
            y_rest = yr;
            let targets = &targets;
            handles.push(s.spawn(move || parse_chunk(chunk, targets, xc, yc)));
        }
        // A parser thread only panics on a bug: re-raise it rather than report it as bad data.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });

    // Report the first error in file order; compact the chunks' rows together.
    let mut first_line = 2;
    let mut rows = 0;
    let mut chunk_start = 0;
    for (result, &n) in results.into_iter().zip(&lines) {
        let written = result.map_err(|(idx, e)| with_line(e, first_line + idx))?;
        if chunk_start != rows {
            x.copy_within(chunk_start * N_FEATURES..(chunk_start + written) * N_FEATURES, rows * N_FEATURES);
            y.copy_within(chunk_start..chunk_start + written, rows);
        }
        rows += written;
        chunk_start += n;
        first_line += n - 1;
    }
    if rows == 0 {
        return Err(CsvError::NoRows);
    }
    x.truncate(rows * N_FEATURES);
    y.truncate(rows);
    Ok(Table { values: x, labels: y })
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

/// Writes rows and their labels as CSV in the real file's header style (quoted
/// names, `Class` as a quoted "0"/"1"). Floats use the shortest representation
/// that reads back to the same bits; rows are formatted on every core.
pub fn write_csv<W: std::io::Write>(out: &mut W, rows: &[[f64; N_FEATURES]], labels: &[u8]) -> std::io::Result<()> {
    if rows.len() != labels.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} rows but {} labels", rows.len(), labels.len()),
        ));
    }
    let header: Vec<String> = FEATURE_NAMES.iter().chain([&LABEL_NAME]).map(|n| format!("\"{n}\"")).collect();
    writeln!(out, "{}", header.join(","))?;
    let n = labels.len();
    let parts = thread::available_parallelism().map_or(1, |p| p.get()).clamp(1, 8);
    let ranges: Vec<std::ops::Range<usize>> = (0..parts).map(|k| n * k / parts..n * (k + 1) / parts).collect();
    let chunks: Vec<Vec<u8>> = thread::scope(|s| {
        let handles: Vec<_> = ranges
            .into_iter()
            .map(|range| {
                s.spawn(move || {
                    let mut buf = Vec::with_capacity(range.len() * 32 * N_FEATURES);
                    let mut ryu = ryu::Buffer::new();
                    for (row, &label) in rows[range.clone()].iter().zip(&labels[range]) {
                        for &v in row {
                            buf.extend_from_slice(ryu.format(v).as_bytes());
                            buf.push(b',');
                        }
                        buf.extend_from_slice(if label == 1 { b"\"1\"\n" } else { b"\"0\"\n" });
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
        assert_eq!(d.rows()[0][0], 0.5);
        assert_eq!(d.rows()[1][29], 28.0);
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
            assert_eq!(d.rows()[0][i], i as f64 * 1.5);
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
        check(format!("{}\n{good}\n{}", header(), row(1.0, "2")), "line 3, column Class: label \"2\" is not 0 or 1");
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
            assert_eq!(d.rows()[r][0], r as f64);
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
        write_csv(&mut out, d.rows(), d.labels()).unwrap();
        assert!(out.starts_with(b"\"Time\",\"V1\""));
        assert_eq!(parse_csv(&out).unwrap(), d);
    }
}

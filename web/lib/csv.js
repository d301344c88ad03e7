// Transaction CSVs in JavaScript, with the rules of the Rust reader (the `dataset` crate): columns by
// header name in any order, extra columns ignored, quoted ("" escapes a quote) or bare values, blank
// lines skipped, and errors that name the line (the header is line 1) and the column.
// One module for the page (a user's file, the replay file) and the Node checks (parity, tests).

/** The Kaggle file's label column (a model's own is in its schema: `FraudModel.labelName`). */
export const LABEL = "Class";

/** A CSV the page or a check cannot use; `code` is core's error code when core refused a value. */
export class CsvError extends Error {
  constructor(message, code = undefined) {
    super(message);
    if (code) this.code = code;
  }
}

// A decimal number as the Rust reader accepts it (no hex, no "Infinity" spelled out).
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Splits one line into trimmed, unquoted fields; throws on an unclosed quote. */
export function splitLine(line, lineNo) {
  const fields = [];
  let pos = 0;
  for (;;) {
    while (line[pos] === " " || line[pos] === "\t") pos++;
    if (line[pos] === '"') {
      let value = "";
      let i = pos + 1;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new CsvError(`line ${lineNo}: a quoted field is not closed`);
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        pos = q + 1;
        break;
      }
      fields.push(value.trim());
      const comma = line.indexOf(",", pos);
      if (comma < 0) return fields;
      pos = comma + 1;
    } else {
      const comma = line.indexOf(",", pos);
      fields.push((comma < 0 ? line.slice(pos) : line.slice(pos, comma)).trim());
      if (comma < 0) return fields;
      pos = comma + 1;
    }
  }
}

const shown = (raw) => JSON.stringify(raw.slice(0, 40));

// A label as the Rust reader takes it: 0/1 as numbers ("1", 1.0) or true/false in any case.
function labelValue(raw) {
  if (DECIMAL.test(raw)) return Number(raw);
  const lower = raw.toLowerCase();
  return lower === "true" ? 1 : lower === "false" ? 0 : NaN;
}

/**
 * Parses CSV text. `names` are the feature columns wanted, in the order rows are returned (default: every
 * column but the label and the id, in file order). The `label` column (default `Class`) is optional:
 * `labels` is null without it. The `id` column, when named and present, is carried as text (`ids`).
 *
 * Numeric models (no `schema`, or a card's `schema` without `kinds`): every feature cell is a finite number.
 * Returns { names, rows: Float64Array (n × names.length, row-major), cells: null, labels: Uint8Array | null,
 * ids: string[] | null, n }.
 *
 * Tabular models (artifact format 5: `schema` is a model card's schema with `kinds`, and `accepts_missing`):
 * each cell is read by its feature's kind, as the Rust reader does — an empty cell (bare, `""` or blanks) is a
 * missing value (`null`) where the model accepts them; a text feature's cell is its text (trimmed; `""`
 * unescaped), whatever it looks like; a numeric or numeric-coded feature's cell a finite number (the numeric
 * errors). `cells` holds those raw values, per row in `names` order (string | number | null: what a
 * transaction object takes). `rowValue(name, value)` (the model's `FraudModel.rowValue`) gives `rows` —
 * what a batch row holds: the number, a category's code, NaN for missing; its errors come back with the line
 * and column. Without `rowValue`, `rows` is null (the raw values only, e.g. for JSON requests).
 */
export function parseCsv(text, names = null, { label = LABEL, id = null, schema = null, rowValue = null } = {}) {
  const lines = text.replace(/^\uFEFF/, "").split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.every((l) => l.trim() === "")) throw new CsvError("the file is empty: line 1 must be the header");
  const header = splitLine(lines[0], 1);
  const wanted = names ?? header.filter((h) => h !== label && h !== id);
  const columns = wanted.map((name) => header.indexOf(name));
  const missing = wanted.filter((_, j) => columns[j] < 0);
  const duplicate = [...new Set([...wanted, label, ...(id ? [id] : [])])].filter((name) => header.indexOf(name) !== header.lastIndexOf(name));
  if (missing.length || duplicate.length) {
    const parts = [];
    if (missing.length) parts.push(`missing column(s) ${missing.join(", ")}`);
    if (duplicate.length) parts.push(`duplicate column(s) ${duplicate.join(", ")}`);
    throw new CsvError(`line 1 (header): ${parts.join("; ")}`);
  }
  const labelCol = header.indexOf(label);
  const idCol = id ? header.indexOf(id) : -1;
  const width = wanted.length;
  const tabular = tabularReader(schema, wanted, rowValue);
  const rows = [];
  const cellRows = [];
  const labels = [];
  const ids = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const lineNo = i + 1;
    const cells = splitLine(lines[i], lineNo);
    if (cells.length !== header.length) throw new CsvError(`line ${lineNo}: ${cells.length} fields, the header has ${header.length}`);
    if (tabular) {
      const raw = new Array(width);
      for (let j = 0; j < width; j++) raw[j] = tabular.read(j, cells[columns[j]], lineNo);
      cellRows.push(raw);
      if (rowValue) for (let j = 0; j < width; j++) rows.push(tabular.rowValue(j, raw[j], lineNo, cells[columns[j]]));
    } else {
      for (let j = 0; j < width; j++) rows.push(finiteNumber(cells[columns[j]], lineNo, wanted[j]));
    }
    if (labelCol >= 0) {
      const raw = cells[labelCol];
      const v = labelValue(raw);
      if (v !== 0 && v !== 1) throw new CsvError(`line ${lineNo}, column ${label}: label ${shown(raw)} is not 0/1 or true/false`);
      labels.push(v);
    }
    if (idCol >= 0) ids.push(cells[idCol]);
  }
  const n = tabular ? cellRows.length : rows.length / Math.max(1, width);
  if (n === 0) throw new CsvError("the file has a header but no data rows");
  return {
    names: wanted,
    rows: tabular && !rowValue ? null : Float64Array.from(rows),
    cells: tabular ? cellRows : null,
    labels: labelCol >= 0 ? Uint8Array.from(labels) : null,
    ids: idCol >= 0 ? ids : null,
    n,
  };
}

/** A numeric feature's cell: a finite decimal, or the numeric reader's error naming line and column. */
function finiteNumber(raw, lineNo, column) {
  if (!DECIMAL.test(raw)) {
    const what = /^[+-]?(inf|infinity|nan)$/i.test(raw) ? "is not a finite number" : "is not a number";
    throw new CsvError(`line ${lineNo}, column ${column}: ${shown(raw)} ${what}`);
  }
  // Number() is correctly rounded: shortest round-trip decimals give back the exact bits.
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new CsvError(`line ${lineNo}, column ${column}: ${shown(raw)} is not a finite number`);
  return v;
}

/** The feature kinds of a model card's schema (`numeric`, `text`, `numbers`) by name, or null for a numeric model. */
export function kindsOf(schema) {
  if (!schema || !(schema.kinds?.length || schema.accepts_missing)) return null;
  const kinds = new Map((schema.kinds ?? []).map((k) => [k.feature, k.kind]));
  return kinds;
}

/** How a tabular model's cells are read (null for a numeric model: the numeric path, unchanged). */
function tabularReader(schema, wanted, rowValue) {
  const kinds = kindsOf(schema);
  if (!kinds) return null;
  const text = wanted.map((name) => kinds.get(name) === "text");
  const acceptsMissing = Boolean(schema.accepts_missing);
  // A category's code does not change within a file: one wasm call per distinct text of a column.
  const codes = wanted.map(() => new Map());
  return {
    read(j, raw, lineNo) {
      if (raw === "") {
        if (acceptsMissing) return null;
        if (text[j]) throw new CsvError(`line ${lineNo}, column ${wanted[j]}: empty, and this model does not accept missing values`);
      }
      return text[j] ? raw : finiteNumber(raw, lineNo, wanted[j]);
    },
    rowValue(j, value, lineNo, written) {
      const cached = typeof value === "number" ? undefined : codes[j].get(value);
      if (cached !== undefined) return cached;
      let x;
      try {
        x = rowValue(wanted[j], value);
      } catch (e) {
        // core's message starts with the field's name: the column says it already.
        const why = String(e?.message ?? e).replace(`${wanted[j]}: `, "");
        throw new CsvError(`line ${lineNo}, column ${wanted[j]}: ${shown(written)} refused: ${why}`, e?.code);
      }
      if (typeof value !== "number") codes[j].set(value, x);
      return x;
    },
  };
}

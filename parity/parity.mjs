// Parity harness: checks a runtime's scores against the native core's golden file.
//
// One module for every runtime: the wasm package in Node, the native HTTP server,
// the Worker under `wrangler dev` and the browser page each supply `scoreOne`
// and `scoreBatch`; this module owns the reading of the files and the comparison.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { bitsOf } from "../web/lib/bits.js";
import { parseCsv } from "../web/lib/csv.js";

export { bitsOf };

/**
 * Reads a CSV with the schema (the trainer's replay file) with the page's own reader: feature names in file
 * order, row-major values (exact bits: the file holds shortest round-trip decimals), labels and ids.
 * `columns` names the model's label and id columns (its card's `schema.label` and `schema.id`); for a model
 * with categorical features or missing values (format 5) it also takes the card's `schema` (its `kinds`) and,
 * where batch rows are needed, the model's `rowValue`: `cells` are then each row's raw values (text, numbers,
 * null for an empty cell) and `values` the codes/NaN a batch row holds (null without `rowValue`).
 */
export function loadReplay(path, columns = {}) {
  const { label, id, schema = null, rowValue = null } = columns;
  const { names, rows, cells, labels, ids, n } = parseCsv(readFileSync(path, "utf8"), null, { label, id, schema, rowValue });
  return { names, values: rows, cells, labels: labels ?? new Uint8Array(n), ids, rows: n };
}

/** How many of a replay's cells are text and how many missing (0 and 0 for a numeric model's). */
export function cellCounts(replay) {
  let text = 0;
  let missing = 0;
  for (const row of replay.cells ?? []) {
    for (const v of row) {
      if (v === null) missing++;
      else if (typeof v === "string") text++;
    }
  }
  return { text, missing };
}

/**
 * Row `r` of a replay as a plain `{ name: value }` object, in the order `order` (default: file order): what a
 * single request sends. A numeric model's values are finite numbers; a tabular one's are its raw cells
 * (strings for text categories, `null` for missing values: never NaN, which JSON cannot say).
 */
export function rowObject(replay, r, order = replay.names) {
  const obj = {};
  const w = replay.names.length;
  if (replay.cells) {
    const row = replay.cells[r];
    for (const name of order) obj[name] = row[replay.names.indexOf(name)];
  } else {
    for (const name of order) obj[name] = replay.values[r * w + replay.names.indexOf(name)];
  }
  return obj;
}

/** Row-major rows in the schema order `featureNames` (what batch scoring takes: numbers, codes, NaN). */
export function schemaRows(replay, featureNames) {
  if (!replay.values) throw new Error("the replay was read without the model's rowValue: it has no batch rows (codes)");
  const idx = featureNames.map((f) => {
    const i = replay.names.indexOf(f);
    if (i < 0) throw new Error(`replay file lacks feature ${f}`);
    return i;
  });
  const width = replay.names.length;
  const out = new Float64Array(replay.rows * featureNames.length);
  for (let r = 0; r < replay.rows; r++) {
    for (let j = 0; j < idx.length; j++) out[r * idx.length + j] = replay.values[r * width + idx[j]];
  }
  return out;
}

/**
 * Reads the golden file: model id, probability bit patterns, the model's decisions and, when the golden file was
 * decided by rules, its ruleset version and each row's action and deciding rule ('' where the model decided).
 */
export function loadGolden(file) {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
  const meta = lines[0].match(/^# model_id (\S+) rows (\d+)(?: ruleset (\S+))?/);
  if (!meta) throw new Error(`${file}: missing '# model_id ... rows ...' line`);
  const body = lines.slice(2);
  const bits = new Array(body.length);
  const decisions = new Uint8Array(body.length);
  const actions = new Array(body.length);
  const rules = new Array(body.length);
  body.forEach((line, i) => {
    const [row, hex, , dec, action, rule = ""] = line.split(",");
    if (Number(row) !== i) throw new Error(`${file}: row ${row} out of order at line ${i + 3}`);
    bits[i] = hex;
    decisions[i] = Number(dec);
    actions[i] = action;
    rules[i] = rule;
  });
  if (body.length !== Number(meta[2])) throw new Error(`${file}: ${body.length} rows, header says ${meta[2]}`);
  const hasActions = lines[1].split(",").includes("action");
  return { modelId: meta[1], ruleset: meta[3] ?? null, bits, decisions, actions: hasActions ? actions : null, rules, rows: body.length };
}

/**
 * The rules the golden file beside `goldenFile` was decided by (`parity-rules.txt` and the lists in
 * `parity-lists/`, which `cargo xtask` writes; else the trainer's `rules.txt` with `lists/`, as `cargo xtask run`
 * serves them): `{ path, text, lists: { name: text }, listsDir }`, or null.
 */
export function loadParityRules(goldenFile) {
  const dir = path.dirname(goldenFile);
  const found = [["parity-rules.txt", "parity-lists"], ["rules.txt", "lists"]].find(([f]) => existsSync(path.join(dir, f)));
  if (!found) return null;
  const file = path.join(dir, found[0]);
  const listsDir = path.join(dir, found[1]);
  const lists = {};
  if (existsSync(listsDir)) {
    for (const name of readdirSync(listsDir)) {
      if (name.endsWith(".txt")) lists[name.slice(0, -4)] = readFileSync(path.join(listsDir, name), "utf8");
    }
  }
  return { path: file, text: readFileSync(file, "utf8"), lists, listsDir };
}

/** The id a runtime sends with replay row `r`: its id column's value, else the row's index. */
export function rowId(replay, r) {
  return replay.ids ? replay.ids[r] : r;
}

/** Action codes (wasm batches) as names. */
export const ACTIONS = ["accept", "review", "refuse"];

/**
 * Compares a runtime against the golden file, one row at a time and in batches.
 * scoreOne(obj, row) -> { fraud_probability, is_fraud, action, rule }; scoreBatch(rows Float64Array, count, start) ->
 * { probabilities, decisions, actions, rules } (actions as names, rules as ids or null; both compared when the
 * golden file has actions) (`rows`: schema order, null when the replay has no batch rows — a runtime that
 * sends JSON builds its objects with `rowObject(replay, start + k, featureNames)`). `concurrency` (default 1) scores that many rows at once in single mode.
 * Returns counts; prints a summary line per mode.
 */
export async function compare({ runtime, golden, replay, featureNames, scoreOne, scoreBatch, batchSize, limit, concurrency = 1 }) {
  if (replay.rows !== golden.rows) throw new Error(`replay has ${replay.rows} rows, golden ${golden.rows}`);
  const n = Math.min(limit ?? golden.rows, golden.rows);
  const report = { runtime, rows: n, single: { compared: 0, mismatches: 0 }, batch: { compared: 0, mismatches: 0 }, examples: [] };
  const check = (mode, r, p, decision, action, rule) => {
    report[mode].compared++;
    const got = bitsOf(p);
    const sameVerdict = !golden.actions || (action === golden.actions[r] && (rule ?? "") === golden.rules[r]);
    if (got !== golden.bits[r] || Number(decision) !== golden.decisions[r] || !sameVerdict) {
      report[mode].mismatches++;
      if (report.examples.length < 5) {
        report.examples.push({ mode, row: r, got, want: golden.bits[r], decision, wantDecision: golden.decisions[r], action, wantAction: golden.actions?.[r], rule, wantRule: golden.rules[r] });
      }
    }
  };
  if (scoreOne) {
    // `concurrency` rows in flight at once (for runtimes behind a network hop); results are checked per row.
    for (let start = 0; start < n; start += concurrency) {
      const rows = Array.from({ length: Math.min(concurrency, n - start) }, (_, k) => start + k);
      const results = await Promise.all(rows.map((r) => scoreOne(rowObject(replay, r), r)));
      rows.forEach((r, k) => check("single", r, results[k].fraud_probability, results[k].is_fraud ? 1 : 0, results[k].action, results[k].rule));
    }
  }
  if (scoreBatch) {
    const all = replay.values ? schemaRows(replay, featureNames) : null;
    const size = batchSize ?? n;
    for (let start = 0; start < n; start += size) {
      const count = Math.min(size, n - start);
      const rows = all ? all.subarray(start * featureNames.length, (start + count) * featureNames.length) : null;
      const res = await scoreBatch(rows, count, start);
      for (let k = 0; k < count; k++) check("batch", start + k, res.probabilities[k], res.decisions[k], res.actions?.[k], res.rules?.[k]);
    }
  }
  for (const mode of ["single", "batch"]) {
    if (report[mode].compared > 0) {
      const what = golden.actions ? `probability bits, decision, action and rule (ruleset ${golden.ruleset})` : "probability bits and decision";
      console.log(`parity ${runtime} (${mode}): compared ${report[mode].compared} rows (${what}), ${report[mode].mismatches} differed`);
    }
  }
  for (const e of report.examples) console.log("  mismatch", JSON.stringify(e));
  return report;
}

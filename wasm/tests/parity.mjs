// Node parity test of the wasm package (nodejs build) against the native golden file.
// Usage: node wasm/tests/parity.mjs <pkg-node dir> <model.bin> <replay.csv> <golden.csv>
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ACTIONS, bitsOf, cellCounts, compare, loadGolden, loadParityRules, loadReplay, rowId, rowObject, schemaRows } from "../../parity/parity.mjs";

const [pkgDir, modelPath, replayPath, goldenPath] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { FraudModel } = require(path.resolve(pkgDir, "fraud_wasm.js"));

const bytes = readFileSync(modelPath);
const golden = loadGolden(goldenPath);
// The rules the golden file was decided by, compiled by core inside the module (`withRules`).
const parityRules = loadParityRules(goldenPath);
const bare = new FraudModel(new Uint8Array(bytes));
const model = parityRules ? bare.withRules(parityRules.text, parityRules.lists) : bare;
if (golden.ruleset && model.rulesetVersion !== golden.ruleset) {
  throw new Error(`rules version ${model.rulesetVersion}, the golden file was decided by ${golden.ruleset}`);
}
// A model with categorical features or missing values (format 5) reads text and empty cells by its card's
// kinds: single predictions take the raw values (strings, null), batch rows the codes/NaN rowValue gives.
const { schema } = model.summary;
const replay = loadReplay(replayPath, { label: model.labelName, id: model.idName, schema, rowValue: (f, v) => model.rowValue(f, v) });
if (model.modelId !== golden.modelId) throw new Error(`model id ${model.modelId} != golden ${golden.modelId}`);
if (replay.cells) {
  const { text, missing } = cellCounts(replay);
  const kinds = schema.kinds.map((k) => `${k.feature}:${k.kind}`).join(", ");
  console.log(`replay: ${replay.rows} rows with ${text} text and ${missing} missing cells (format ${model.summary.format_version}; ${kinds})`);
}

const ids = Array.from({ length: replay.rows }, (_, r) => rowId(replay, r));
const ruleIds = model.rules.map((r) => r.id);
// A wasm batch's action codes and rule indices as the golden file writes them.
function batchVerdicts(res) {
  return { ...res, actions: Array.from(res.actions, (a) => ACTIONS[a]), rules: Array.from(res.rules, (i) => (i < 0 ? null : ruleIds[i])) };
}

const report = await compare({
  runtime: "wasm (node)",
  golden,
  replay,
  featureNames: model.featureNames,
  scoreOne: (obj, r) => model.predict({ id: rowId(replay, r), ...obj }),
  scoreBatch: (rows, count, start) => batchVerdicts(model.predictBatch(rows, ids.slice(start, start + count))),
});

// The zero-copy path (rows written straight into wasm memory) scores the same bits.
const rows = schemaRows(replay, model.featureNames);
model.batchInput(replay.rows).set(rows);
const zeroCopy = batchVerdicts(model.scoreInput(ids));
let zeroCopyDiffs = 0;
for (let r = 0; r < replay.rows; r++) {
  const verdict = !golden.actions || (zeroCopy.actions[r] === golden.actions[r] && (zeroCopy.rules[r] ?? "") === golden.rules[r]);
  if (bitsOf(zeroCopy.probabilities[r]) !== golden.bits[r] || zeroCopy.decisions[r] !== golden.decisions[r] || !verdict) zeroCopyDiffs++;
}
console.log(`parity wasm (node) (zero-copy batch): compared ${replay.rows} rows, ${zeroCopyDiffs} differed`);

// The summary getter is hand-built (size budget): it must say what the artifact's JSON says.
const jsonPath = modelPath.replace(/\.bin$/, ".json");
if (existsSync(jsonPath)) {
  const card = JSON.parse(readFileSync(jsonPath, "utf8"));
  for (const key of ["training", "provenance", "validation", "test"]) {
    const [got, want] = [JSON.stringify(model.summary[key]), JSON.stringify(card[key])];
    if (got !== want) throw new Error(`summary.${key} differs from ${jsonPath}:\n got ${got}\nwant ${want}`);
  }
  console.log(`summary getter agrees with ${jsonPath}`);
}

// The getters the page shows instead of looking at the kind or naming columns itself.
const s = model.summary;
const described = s.kind === "trees" ? `${s.parameters.trees} boosted trees, TreeSHAP explanations` : "logistic regression";
if (model.description !== described) throw new Error(`description ${JSON.stringify(model.description)}, the card says ${described}`);
const pacing = model.featureNames.includes("Time") ? "Time" : null;
if (model.pacingName !== pacing) throw new Error(`pacingName ${model.pacingName}, want ${pacing} for features ${model.featureNames}`);
console.log(`description "${model.description}", pacingName ${model.pacingName}: as the schema and card say`);

// Timing (not a test): batch over the whole split, zero-copy scoring, and single predict calls.
const median = (f) => {
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t = process.hrtime.bigint();
    f();
    times.push(Number(process.hrtime.bigint() - t) / replay.rows);
  }
  return times.sort((a, b) => a - b);
};
const times = median(() => model.predictBatch(rows));
bare.batchInput(replay.rows).set(rows);
const bareScore = median(() => bare.scoreInput());
const fill = median(() => model.batchInput(replay.rows).set(rows));
const score = median(() => model.scoreInput());
const objs = Array.from({ length: Math.min(2000, replay.rows) }, (_, r) => rowObject(replay, r));
const single = [];
for (let i = 0; i < 7; i++) {
  const t = process.hrtime.bigint();
  for (const o of objs) model.predict(o);
  single.push(Number(process.hrtime.bigint() - t) / objs.length);
}
single.sort((a, b) => a - b);
// The page's Backtest button: the parity rules over every replay row (scoring included), in the module.
let backtestMs = null;
if (parityRules) {
  model.batchInput(replay.rows).set(rows);
  const runs = [];
  let bt = null;
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    bt = model.backtestInput(replay.labels, ids, parityRules.text, parityRules.lists, 3);
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  backtestMs = runs.sort((a, b) => a - b)[2];
  const counted = bt.actions.accept + bt.actions.review + bt.actions.refuse;
  const byAction = { accept: 0, review: 0, refuse: 0 };
  for (const a of golden.actions ?? []) byAction[a]++;
  if (counted !== replay.rows || (golden.actions && JSON.stringify(byAction) !== JSON.stringify(bt.actions))) {
    throw new Error(`backtest counted ${JSON.stringify(bt.actions)}, the golden file ${JSON.stringify(byAction)}`);
  }
  const decided = bt.rules.filter((r) => !r.shadow).reduce((n, r) => n + r.decided, bt.model.decided);
  if (decided !== replay.rows) throw new Error(`backtest: rules and model decided ${decided} of ${replay.rows} rows`);
  console.log(`backtest in wasm: actions ${JSON.stringify(bt.actions)} as the golden file's; net benefit ${bt.total.net_benefit.toFixed(2)} ${bt.currency}`);
}
console.log(
  `wasm timing over ${replay.rows} rows: predictBatch ${times[7].toFixed(1)} ns/row median (min ${times[0].toFixed(1)}); ` +
    `zero-copy: scoreInput ${score[7].toFixed(1)} ns/row median with ${ruleIds.length} rules (min ${score[0].toFixed(1)}), ` +
    `${bareScore[7].toFixed(1)} ns/row without rules, ` +
    `filling the input view ${fill[7].toFixed(1)} ns/row; ` +
    `predict(object) ${(single[3] / 1000).toFixed(2)} µs/call median (min ${(single[0] / 1000).toFixed(2)})` +
    (backtestMs === null ? "" : `; backtestInput ${backtestMs.toFixed(1)} ms for ${replay.rows} rows (${((backtestMs * 1e6) / replay.rows).toFixed(0)} ns/row)`),
);

const bad = report.single.mismatches + report.batch.mismatches + zeroCopyDiffs;
if (bad > 0 || report.single.compared === 0 || report.batch.compared === 0) {
  console.error(`PARITY FAILED: ${bad} mismatches`);
  process.exit(1);
}
console.log(`parity OK: ${report.single.compared + report.batch.compared + replay.rows} comparisons, 0 differed`);

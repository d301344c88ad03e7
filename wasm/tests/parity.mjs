// Node parity test of the wasm package (nodejs build) against the native golden file.
// Usage: node wasm/tests/parity.mjs <pkg-node dir> <model.bin> <replay.csv> <golden.csv>
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { bitsOf, cellCounts, compare, loadGolden, loadReplay, rowObject, schemaRows } from "../../parity/parity.mjs";

const [pkgDir, modelPath, replayPath, goldenPath] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { FraudModel } = require(path.resolve(pkgDir, "fraud_wasm.js"));

const bytes = readFileSync(modelPath);
const model = new FraudModel(new Uint8Array(bytes));
const golden = loadGolden(goldenPath);
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

const report = await compare({
  runtime: "wasm (node)",
  golden,
  replay,
  featureNames: model.featureNames,
  scoreOne: (obj) => model.predict(obj),
  scoreBatch: (rows) => model.predictBatch(rows),
});

// The zero-copy path (rows written straight into wasm memory) scores the same bits.
const rows = schemaRows(replay, model.featureNames);
model.batchInput(replay.rows).set(rows);
const zeroCopy = model.scoreInput();
let zeroCopyDiffs = 0;
for (let r = 0; r < replay.rows; r++) {
  if (bitsOf(zeroCopy.probabilities[r]) !== golden.bits[r] || zeroCopy.decisions[r] !== golden.decisions[r]) zeroCopyDiffs++;
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
console.log(
  `wasm timing over ${replay.rows} rows: predictBatch ${times[7].toFixed(1)} ns/row median (min ${times[0].toFixed(1)}); ` +
    `zero-copy: scoreInput ${score[7].toFixed(1)} ns/row median (min ${score[0].toFixed(1)}), ` +
    `filling the input view ${fill[7].toFixed(1)} ns/row; ` +
    `predict(object) ${(single[3] / 1000).toFixed(2)} µs/call median (min ${(single[0] / 1000).toFixed(2)})`,
);

const bad = report.single.mismatches + report.batch.mismatches + zeroCopyDiffs;
if (bad > 0 || report.single.compared === 0 || report.batch.compared === 0) {
  console.error(`PARITY FAILED: ${bad} mismatches`);
  process.exit(1);
}
console.log(`parity OK: ${report.single.compared + report.batch.compared + replay.rows} comparisons, 0 differed`);

// Checks a running HTTP server — the native fraud-server or the Worker under `wrangler dev` — against
// the native core: (1) the golden file, via POST /predict one row at a time and POST /predict/batch,
// bit for bit; (2) every case of http-cases.json, status and error code.
//
// Usage: node parity/http-check.mjs <base-url> <model.bin> <replay.csv> <golden.csv> [--single-limit N] [--wait-s S]
// Exits non-zero on any difference. Prints how many rows and cases it checked.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { contractCases } from "./cases.mjs";
import { cellCounts, compare, loadGolden, loadReplay, rowId, rowObject } from "./parity.mjs";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [v] = args.splice(i, 2).slice(1);
  return Number(v);
};
const singleLimit = flag("--single-limit", Infinity);
const waitSeconds = flag("--wait-s", 60);
const [base, modelPath, replayPath, goldenPath] = args;
if (!goldenPath) {
  console.error("usage: node parity/http-check.mjs <base-url> <model.bin> <replay.csv> <golden.csv> [--single-limit N]");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));

async function waitForHealth() {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.status === 200) return r.json();
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${base}/health did not answer 200 within ${waitSeconds} s`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

let socketRetries = 0;
async function post(route, body) {
  const init = { method: "POST", headers: { "content-type": "application/json" }, body };
  let r;
  try {
    r = await fetch(`${base}${route}`, init);
  } catch (e) {
    // A keep-alive connection the server closed as idle just as it was reused: send once more
    // on a fresh one (scoring is idempotent). Anything else, or a second failure, fails the check.
    if (e?.cause?.code !== "UND_ERR_SOCKET") throw e;
    socketRetries++;
    r = await fetch(`${base}${route}`, init);
  }
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${route}: HTTP ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const started = Date.now();
const health = await waitForHealth();
const golden = loadGolden(goldenPath);
if (health.model.id !== golden.modelId) {
  throw new Error(`server serves model ${health.model.id}, the golden file is for ${golden.modelId} (${modelPath})`);
}

const card = await (await fetch(`${base}/model`)).json();
const featureNames = card.schema.features;
// A model with categorical features or missing values (its card lists `kinds`): every request, single or
// batch, carries the replay's raw cells — text as strings, empty cells as null — as a client would send them.
const replay = loadReplay(replayPath, { label: card.schema.label, id: card.schema.id, schema: card.schema });
if (replay.cells) {
  const { text, missing } = cellCounts(replay);
  console.log(`replay: ${replay.rows} rows with ${text} text and ${missing} missing (null) cells, sent as JSON strings and nulls`);
}
// Batches as large as the server says it takes.
const batchLimit = card.limits.max_batch;

// (1) Parity. One by one (up to --single-limit rows), then every row in batches of the contract's limit.
const single = await compare({
  runtime: `HTTP ${base} /predict`,
  golden,
  replay,
  featureNames,
  limit: Math.min(singleLimit, golden.rows),
  concurrency: 8,
  scoreOne: async (obj, r) => {
    // The id column's value (what rules' `:id:` sees), else the row's index.
    const id = rowId(replay, r);
    const res = await post("/predict", JSON.stringify({ id, ...obj }));
    if (res.id !== id) throw new Error(`row ${r}: id echoed as ${res.id}`);
    if (golden.ruleset && res.ruleset !== golden.ruleset) throw new Error(`row ${r}: ruleset ${res.ruleset}, the golden file's is ${golden.ruleset}`);
    return res;
  },
});
const batch = await compare({
  runtime: `HTTP ${base} /predict/batch`,
  golden,
  replay,
  featureNames,
  batchSize: batchLimit,
  scoreBatch: async (_rows, count, start) => {
    // Objects in schema order, from the replay's values (numeric model) or raw cells (format 5).
    const transactions = [];
    for (let k = 0; k < count; k++) transactions.push({ id: rowId(replay, start + k), ...rowObject(replay, start + k, featureNames) });
    const res = await post("/predict/batch", JSON.stringify({ transactions }));
    if (golden.ruleset && res.ruleset !== golden.ruleset) throw new Error(`batch at ${start}: ruleset ${res.ruleset}, want ${golden.ruleset}`);
    return {
      probabilities: res.results.map((x) => x.fraud_probability),
      decisions: res.results.map((x) => (x.is_fraud ? 1 : 0)),
      actions: res.results.map((x) => x.action),
      rules: res.results.map((x) => x.rule),
    };
  },
});


// (2) The shared contract cases.
// Written for the Kaggle schema, renamed for the one this server serves (with the categorical and missing-value
// cases when its card lists kinds).
const cases = contractCases(card.schema);
const tabularCount = cases.filter((c) => c.tabular).length;
const failures = [];
for (const c of cases) {
  let body = c.raw;
  if (c.pad_to) body = body + " ".repeat(c.pad_to - body.length);
  const init = { method: c.method, headers: { "content-type": c.content_type ?? "application/json", ...(c.headers ?? {}) } };
  if (c.method !== "GET" && c.method !== "HEAD" && c.method !== "OPTIONS") init.body = body ?? "";
  const r = await fetch(`${base}${c.path}`, init);
  const text = await r.text();
  const problems = [];
  for (const [name, want] of Object.entries(c.response_headers ?? {})) {
    const got = r.headers.get(name);
    if (got?.toLowerCase() !== want) problems.push(`header ${name}: ${got}, want ${want}`);
  }
  let json = null;
  if (!c.no_json) {
    try {
      json = JSON.parse(text);
    } catch {
      failures.push(`${c.name}: body is not JSON: ${text.slice(0, 200)}`);
      continue;
    }
  }
  if (r.status !== c.status) problems.push(`status ${r.status}, want ${c.status}`);
  if (c.code && json?.error?.code !== c.code) problems.push(`code ${json?.error?.code}, want ${c.code}`);
  if (c.fields) {
    const got = (json?.error?.fields ?? []).map((f) => f.field);
    if (JSON.stringify(got) !== JSON.stringify(c.fields)) problems.push(`fields ${JSON.stringify(got)}, want ${JSON.stringify(c.fields)}`);
  }
  if (c.items) {
    const got = (json?.error?.items ?? []).map((i) => i.index);
    if (JSON.stringify(got) !== JSON.stringify(c.items)) problems.push(`items ${JSON.stringify(got)}, want ${JSON.stringify(c.items)}`);
  }
  if (c.same_score_raw && r.status === 200) {
    // A second body that must score the same bits (two categories never seen in training: both "other").
    const r2 = await fetch(`${base}${c.path}`, { ...init, body: c.same_score_raw });
    const json2 = await r2.json().catch(() => null);
    const [p1, p2] = [json?.fraud_probability, json2?.fraud_probability];
    if (r2.status !== 200 || typeof p1 !== "number" || p1 !== p2) problems.push(`second body: status ${r2.status}, probability ${p2}, want the first one's ${p1}`);
  }
  if (problems.length) failures.push(`${c.name}: ${problems.join("; ")}`);
}
const ofTabular = tabularCount ? ` (${tabularCount} of them for categories and missing values)` : "";
const leftOut = cases.leftOut ? `; ${cases.leftOut} left out: the schema is too narrow for their fields` : "";
console.log(`contract cases against ${base}: checked ${cases.length}${ofTabular}, ${failures.length} failed${leftOut}`);
if (socketRetries) console.log(`(${socketRetries} requests re-sent after the server closed an idle keep-alive connection)`);
for (const f of failures) console.log(`  FAILED ${f}`);

const mismatches = single.single.mismatches + batch.batch.mismatches;
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (mismatches > 0 || failures.length > 0 || single.single.compared === 0 || batch.batch.compared === 0) {
  console.error(`HTTP CHECK FAILED against ${base}: ${mismatches} score mismatches, ${failures.length} contract failures`);
  process.exit(1);
}
console.log(
  `HTTP check OK against ${base} (model ${health.model.id}): ${single.single.compared} rows one by one + ` +
    `${batch.batch.compared} in batches, 0 differed; ${cases.length} contract cases; ${seconds} s`,
);

// Unit tests (node --test web/tests/tabular.unit.mjs) of what the page and the parity checks share for
// tables with text and empty cells (artifact format 5): lib/csv.js's two modes, parity.mjs's row objects and
// batch rows, the contract cases' renaming and the feed's wording. Uses the pinned format-5 fixture
// (core/tests/fixtures/payments-trees-v5.hex) through the Node wasm package, when it is built.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { contractCases } from "../../parity/cases.mjs";
import { loadReplay, rowObject, schemaRows } from "../../parity/parity.mjs";
import { CsvError, parseCsv } from "../lib/csv.js";
import { MISSING, shownContributions, shownValue } from "../view.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixture = (name) => readFileSync(path.join(root, "core/tests/fixtures", name), "utf8");
const card = JSON.parse(fixture("payments-trees-card.json"));
const pkg = path.join(root, "wasm/pkg-node/fraud_wasm.js");
const model = existsSync(pkg)
  ? new (createRequire(import.meta.url)(pkg).FraudModel)(Uint8Array.from(fixture("payments-trees-v5.hex").replace(/\s+/g, "").match(/../g), (h) => parseInt(h, 16)))
  : null;
const needsWasm = { skip: model ? false : "wasm/pkg-node is not built" };
const rowValue = (f, v) => model.rowValue(f, v);

const throwsCsv = (f, message) => assert.throws(f, (e) => e instanceof CsvError && e.message === message, message);

test("numeric models: numbers only, the same errors as before", () => {
  const text = "Time,V1,Class\n0,1.5,0\n\n2,-3e-2,1\n";
  const out = parseCsv(text, ["V1", "Time"]);
  assert.deepEqual([...out.rows], [1.5, 0, -0.03, 2]);
  assert.equal(out.cells, null);
  assert.deepEqual([...out.labels], [0, 1]);
  throwsCsv(() => parseCsv("a,Class\n,0\n", ["a"]), 'line 2, column a: "" is not a number');
  throwsCsv(() => parseCsv("a,Class\nFR,0\n", ["a"]), 'line 2, column a: "FR" is not a number');
  throwsCsv(() => parseCsv("a,Class\nNaN,0\n", ["a"]), 'line 2, column a: "NaN" is not a finite number');
  throwsCsv(() => parseCsv("a,Class\n1e400,0\n", ["a"]), 'line 2, column a: "1e400" is not a finite number');
  throwsCsv(() => parseCsv("a,Class\n1,2\n", ["a"]), 'line 2, column Class: label "2" is not 0/1 or true/false');
  throwsCsv(() => parseCsv("a,Class\n1\n", ["a"]), "line 2: 1 fields, the header has 2");
  throwsCsv(() => parseCsv("b,Class\n1,0\n", ["a"]), "line 1 (header): missing column(s) a");
  // A card schema without kinds (formats 1–4) reads the same way.
  throwsCsv(() => parseCsv("a,Class\n,0\n", ["a"], { schema: { features: ["a"] } }), 'line 2, column a: "" is not a number');
});

const TABLE = [
  "payment_id,ip_distance_km,mcc_code,country,amount,is_fraud",
  'p1,,5411,C05,10.5,0',
  'p2,"",7995," C17 ",20,1', // a quoted empty cell is missing too; blanks are trimmed
  'p3,3.25,1234,"ZZ, ""odd""",30,0', // an unseen code; text with a comma and quotes
  'p4,4,5411,,40,0', // a missing category
  'p5,5,5411,123,50,0', // a text feature's "123" is text
].join("\n");

test("tabular models: raw cells (text, numbers, null) by the card's kinds", () => {
  const out = parseCsv(TABLE, card.schema.features, { label: "is_fraud", id: "payment_id", schema: card.schema });
  assert.equal(out.rows, null, "no rowValue: no batch rows");
  assert.deepEqual(out.cells, [
    [10.5, "C05", 5411, null],
    [20, "C17", 7995, null],
    [30, 'ZZ, "odd"', 1234, 3.25],
    [40, null, 5411, 4],
    [50, "123", 5411, 5],
  ]);
  assert.deepEqual(out.ids, ["p1", "p2", "p3", "p4", "p5"]);
  // Numbers are still numbers where the kind says so.
  throwsCsv(() => parseCsv("amount,country,mcc_code,ip_distance_km,is_fraud\nabc,C05,5411,1,0\n", null, { label: "is_fraud", schema: card.schema }), 'line 2, column amount: "abc" is not a number');
  throwsCsv(() => parseCsv("amount,country,mcc_code,ip_distance_km,is_fraud\n1,C05,FR,1,0\n", null, { label: "is_fraud", schema: card.schema }), 'line 2, column mcc_code: "FR" is not a number');
  // A model that takes no missing values refuses an empty text cell by name.
  const strict = { ...card.schema, accepts_missing: false };
  throwsCsv(() => parseCsv("country,is_fraud\n,0\n", ["country"], { label: "is_fraud", schema: strict }), "line 2, column country: empty, and this model does not accept missing values");
  throwsCsv(() => parseCsv("amount,is_fraud\n,0\n", ["amount"], { label: "is_fraud", schema: strict }), 'line 2, column amount: "" is not a number');
});

test("tabular models: rowValue gives the batch rows (codes, NaN), its errors with line and column", needsWasm, () => {
  const out = parseCsv(TABLE, card.schema.features, { label: "is_fraud", id: "payment_id", schema: card.schema, rowValue });
  // country: C00 C05 C17 → 0 1 2, other 3; mcc_code: 5411 7995 → 0 1, other 2.
  assert.deepEqual([...out.rows], [10.5, 1, 0, NaN, 20, 2, 1, NaN, 30, 3, 2, 3.25, 40, NaN, 0, 4, 50, 3, 0, 5]);
  const big = "amount,country,mcc_code,ip_distance_km,is_fraud\n1,C05,5411,1,0\n2e13,C05,5411,1,0\n";
  assert.throws(
    () => parseCsv(big, null, { label: "is_fraud", schema: card.schema, rowValue }),
    (e) => e instanceof CsvError && e.code === "out_of_range" && e.message.startsWith('line 3, column amount: "2e13" refused: out of range'),
  );
  // Batch and single scoring agree on every row.
  const batch = model.predictBatch(out.rows);
  out.cells.forEach((row, r) => {
    const obj = Object.fromEntries(card.schema.features.map((f, j) => [f, row[j]]));
    assert.equal(model.predict(obj).fraud_probability, batch.probabilities[r], `row ${r}`);
  });
});

test("parity: row objects carry raw cells (null, never NaN), batch rows the codes", needsWasm, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "tabular-"));
  const file = path.join(dir, "replay.csv");
  writeFileSync(file, TABLE);
  const raw = loadReplay(file, { label: "is_fraud", id: "payment_id", schema: card.schema });
  assert.equal(raw.values, null);
  assert.throws(() => schemaRows(raw, card.schema.features), /rowValue/);
  assert.deepEqual(rowObject(raw, 2, card.schema.features), { amount: 30, country: 'ZZ, "odd"', mcc_code: 1234, ip_distance_km: 3.25 });
  assert.equal(JSON.stringify(rowObject(raw, 0)), '{"ip_distance_km":null,"mcc_code":5411,"country":"C05","amount":10.5}');
  const replay = loadReplay(file, { label: "is_fraud", id: "payment_id", schema: card.schema, rowValue });
  assert.deepEqual([...schemaRows(replay, card.schema.features).subarray(8, 12)], [30, 3, 2, 3.25]);
  // A numeric replay: values as before, no cells.
  const numeric = path.join(dir, "numeric.csv");
  writeFileSync(numeric, "Time,V1,Class\n1,2.5,0\n");
  const n = loadReplay(numeric);
  assert.equal(n.cells, null);
  assert.deepEqual(rowObject(n, 0), { Time: 1, V1: 2.5 });
});

test("contract cases: null stays 422 for numeric models; format 5 gets its own cases", () => {
  const kaggle = ["Time", ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`), "Amount"];
  const plain = contractCases(kaggle);
  assert.equal(plain.find((c) => c.name === "null value")?.code, "non_numeric");
  assert.ok(!plain.some((c) => c.tabular));
  const retail = contractCases(JSON.parse(fixture("retail-card.json")).schema);
  assert.equal(retail.find((c) => c.name === "null value")?.status, 422);

  const features = ["amount", "country", "merchant_category", "device_os", "mcc_code", "ip_distance_km", "device_age_days", "tx_count_24h", "account_age_days", "hour_of_day"];
  const kindOf = (f) => (["country", "merchant_category", "device_os"].includes(f) ? "text" : f === "mcc_code" ? "numbers" : "numeric");
  const kinds = features.map((f) => ({ feature: f, kind: kindOf(f), missing_rate: 0, other_rate: 0, ...(kindOf(f) === "text" ? { categories: ["A", "B"] } : {}) }));
  const cases = contractCases({ features, amount: "amount", accepts_missing: true, kinds });
  assert.equal(cases.leftOut, 0);
  assert.ok(!cases.some((c) => c.name === "null value"), "null is a missing value here");
  const byName = (n) => cases.find((c) => c.name === n);
  // The wrong-value cases land on numeric features; text features get categories in the valid bodies.
  for (const [name, code] of [["non-numeric string", "non_numeric"], ["boolean value", "non_numeric"], ["nested object value", "non_numeric"], ["out of range value", "out_of_range"]]) {
    assert.equal(byName(name).code, code);
    assert.notEqual(kindOf(byName(name).fields[0]), "text", name);
  }
  const valid = JSON.parse(byName("valid transaction").raw);
  assert.deepEqual(Object.keys(valid).sort(), [...features].sort());
  for (const f of features) assert.equal(typeof valid[f], kindOf(f) === "text" ? "string" : "number", f);
  assert.deepEqual(byName("a number where a text category is expected").fields, ["country"]);
  assert.equal(byName("a number where a text category is expected").code, "not_a_category");
  assert.deepEqual(byName("text where a numeric-coded category is expected").fields, ["mcc_code"]);
  assert.equal(JSON.parse(byName("null for a text category: a missing value").raw).country, null);
  assert.ok(byName('a category never seen in training is scored as "other"').same_score_raw);
  // Without missing values or numeric-coded features, those cases are left out.
  const noMissing = contractCases({ features, amount: "amount", kinds: kinds.map((k) => (k.kind === "numbers" ? { ...k, kind: "numeric" } : k)) });
  assert.ok(!noMissing.some((c) => c.when?.includes("accepts_missing") || c.when?.includes("numbers")));
  assert.equal(noMissing.find((c) => c.name === "null value")?.code, "non_numeric");
  // The 4-feature fixture is too narrow for the Kaggle-named cases: they are counted as left out.
  const narrow = contractCases(card.schema);
  assert.ok(narrow.leftOut > 0 && narrow.some((c) => c.tabular) && narrow.every((c) => !/"(V\d+|Time|Amount)"/.test(c.raw ?? "")));
});

test("the feed shows a row's own values, not codes", () => {
  assert.equal(shownValue(null), MISSING);
  assert.equal(shownValue(NaN), MISSING);
  assert.equal(shownValue("FR"), "FR");
  assert.equal(shownValue(5411), "5411");
  assert.equal(shownContributions([{ feature: "V14", contribution: 2.314 }, { feature: "Amount", contribution: -0.4 }]), "V14 +2.31, Amount -0.40");
  assert.equal(shownContributions([{ feature: "country", value: "FR", contribution: 1.2 }, { feature: "ip", value: null, contribution: -0.5 }]), `country=FR +1.20, ip=${MISSING} -0.50`);
});

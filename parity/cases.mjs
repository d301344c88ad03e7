// The shared contract cases (http-cases.json) for the schema a server serves.
//
// The cases are written once, for the Kaggle file's schema (Time, V1..V28, Amount). A model of another
// schema must answer the same cases the same way, with its own names: each case's bodies and expected
// field lists are rewritten by position — Time → the first feature, V1.. → the next ones, Amount → the
// last — and the Kaggle fields beyond the schema's width are dropped. The statuses and codes stay.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const KAGGLE = ["Time", ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`), "Amount"];
// The cases name fields up to V9 (and a few unknown ones): a schema needs room for Time, V1..V9 and Amount.
const MIN_WIDTH = 11;

/** Kaggle name → the schema's name at the same role (null: dropped). */
function renaming(features) {
  const map = new Map();
  KAGGLE.forEach((name, i) => {
    if (name === "Amount") map.set(name, features[features.length - 1]);
    else map.set(name, i < features.length - 1 ? features[i] : null);
  });
  return map;
}

// A Kaggle key and its value in a case's body: a number, a string, a literal, or a flat object/array.
const PAIR = /"(Time|V\d{1,2}|Amount)"(\s*:\s*)("(?:[^"\\]|\\.)*"|\{[^{}]*\}|\[[^[\]]*\]|[^,{}[\]\s]+)(\s*,\s*)?/g;

function rewrite(raw, map) {
  const renamed = raw.replace(PAIR, (whole, key, colon, value, comma = "") => {
    const name = map.get(key);
    if (name === null) return ""; // beyond the schema: the key, its value and its comma go
    return `${JSON.stringify(name)}${colon}${value}${comma}`;
  });
  // A dropped pair that closed its object leaves the comma before it.
  return renamed.replace(/,\s*\}/g, "}");
}

/** The contract cases for a model whose card lists `features`. */
export function contractCases(features) {
  const { cases } = JSON.parse(readFileSync(path.join(here, "http-cases.json"), "utf8"));
  if (features.length === KAGGLE.length && features.every((f, i) => f === KAGGLE[i])) return cases;
  if (features.length < MIN_WIDTH) throw new Error(`the contract cases need a schema of at least ${MIN_WIDTH} features, this one has ${features.length}`);
  const map = renaming(features);
  return cases.map((c) => {
    const out = { ...c };
    if (typeof c.raw === "string") {
      out.raw = rewrite(c.raw, map);
      // Oversized bodies stay oversized.
      if (c.pad_to) out.pad_to = Math.max(c.pad_to, out.raw.length);
    }
    if (c.fields) out.fields = c.fields.map((f) => (map.has(f) ? map.get(f) : f));
    return out;
  });
}

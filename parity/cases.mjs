// The shared contract cases (http-cases.json) for the schema a server serves.
//
// The cases are written once, for the Kaggle file's schema (Time, V1..V28, Amount). A model of another
// schema must answer the same cases the same way, with its own names: each case's bodies and expected
// field lists are rewritten by position — Time → the first feature, V1.. → the next ones, Amount → the
// last — and the Kaggle fields beyond the schema's width are dropped. The statuses and codes stay.
//
// A model with categorical features or missing values (format 5, its card's `schema.kinds`) is renamed by
// role instead: the Kaggle fields whose cases send a wrong value (a string, a boolean, an object, a huge
// number) go to its numeric features, the others to the rest, and a text category's plain numbers become
// one of its categories (a number is `not_a_category` there). Its `null` is a missing value, so the case
// marked `unless: accepts_missing` is left out, and the file's `tabular_cases` — built from a valid
// transaction of the schema with placeholder edits — come in for what that schema has.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const KAGGLE = ["Time", ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`), "Amount"];
// The cases name fields up to V9 (and a few unknown ones): a schema needs room for Time, V1..V9 and Amount.
const MIN_WIDTH = 11;
// Format-5 schemas, by role: the fields some case sends a wrong value in (they need a numeric feature, where a
// string, a boolean or an object is `non_numeric` and 1e13 `out_of_range`), the fields a case leaves out or
// repeats (any kind), then the fields that only ever hold plain numbers (dropped when the schema is narrower).
const NEEDS_NUMBER = ["V1", "V2", "V4", "V5", "Amount"];
const ANY_KIND = ["Time", "V3", "V9"];
const PLAIN = KAGGLE.filter((k) => !NEEDS_NUMBER.includes(k) && !ANY_KIND.includes(k));

/** Kaggle name → the schema's name at the same role (null: dropped). */
function renaming(features) {
  const map = new Map();
  KAGGLE.forEach((name, i) => {
    if (name === "Amount") map.set(name, features[features.length - 1]);
    else map.set(name, i < features.length - 1 ? features[i] : null);
  });
  return map;
}

/**
 * A format-5 schema's renaming by role (see the top of the file). `complete` is false when the schema is too
 * narrow for every role (fewer than 5 numeric features or 8 in all): the cases that name Kaggle fields are
 * then left out, the others (routes, bodies that are not transactions) and the tabular cases still run.
 */
function renamingByRole(schema, kinds) {
  const features = schema.features;
  const numeric = features.filter((f) => kinds.get(f) !== "text");
  const map = new Map();
  const free = new Set(features);
  const take = (name, feature) => {
    map.set(name, feature ?? null);
    if (feature) free.delete(feature);
  };
  // The amount stays the amount when it is numeric.
  if (schema.amount && numeric.includes(schema.amount)) take("Amount", schema.amount);
  for (const name of NEEDS_NUMBER) if (!map.has(name)) take(name, numeric.find((f) => free.has(f)));
  for (const name of [...ANY_KIND, ...PLAIN]) take(name, features.find((f) => free.has(f)));
  const complete = [...NEEDS_NUMBER, ...ANY_KIND].every((name) => map.get(name) !== null);
  return { map, complete };
}

// A Kaggle key and its value in a case's body: a number, a string, a literal, or a flat object/array.
const PAIR = /"(Time|V\d{1,2}|Amount)"(\s*:\s*)("(?:[^"\\]|\\.)*"|\{[^{}]*\}|\[[^[\]]*\]|[^,{}[\]\s]+)(\s*,\s*)?/g;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

function rewrite(raw, map, categoryOf = () => null) {
  const renamed = raw.replace(PAIR, (whole, key, colon, value, comma = "") => {
    const name = map.get(key);
    if (name === null) return ""; // beyond the schema: the key, its value and its comma go
    // A text category takes text: its plain numbers become one of its categories (a valid value there).
    const category = PLAIN_NUMBER.test(value) ? categoryOf(name) : null;
    return `${JSON.stringify(name)}${colon}${category === null ? value : JSON.stringify(category)}${comma}`;
  });
  // A dropped pair that closed its object leaves the comma before it.
  return renamed.replace(/,\s*\}/g, "}");
}

/** The kinds of a card's schema by feature name, or null for a model of formats 1–4 (numbers only). */
function kindsOf(schema) {
  if (!schema?.kinds?.length) return null;
  return new Map(schema.kinds.map((k) => [k.feature, k.kind]));
}

/** A valid transaction of a format-5 schema: a number, a category of each text feature, a code of each coded one. */
export function validTransaction(schema) {
  const byName = new Map(schema.kinds.map((k) => [k.feature, k]));
  const tx = {};
  schema.features.forEach((f, i) => {
    const k = byName.get(f);
    if (k?.kind === "text") tx[f] = k.categories?.[0] ?? "a category";
    else if (k?.kind === "numbers") tx[f] = k.codes?.[0] ?? 1;
    else tx[f] = 1.5 + i;
  });
  return tx;
}

/** What a format-5 schema has, for the cases' `when`. */
function traits(schema, kinds) {
  const has = new Set(["tabular"]);
  if (schema.accepts_missing) has.add("accepts_missing");
  if (schema.amount) has.add("amount");
  for (const kind of kinds.values()) has.add(kind);
  return has;
}

/**
 * A placeholder (`$numeric`, `$text`, `$numbers`) → the schema's first feature of that kind, the amount left out
 * (it may never be missing); `$amount` → the amount.
 */
function placeholders(schema, kinds) {
  const first = (kind) =>
    schema.features.find((f) => f !== schema.amount && (kinds.get(f) ?? "numeric") === kind) ?? null;
  return { $numeric: first("numeric"), $text: first("text"), $numbers: first("numbers"), $amount: schema.amount ?? null };
}

/** `$every` edits every feature but the amount (money is reckoned from it: never missing). */
function applyEdit(base, edit, names, features) {
  const tx = { ...base };
  for (const [key, value] of Object.entries(edit ?? {})) {
    if (key === "$every") {
      for (const f of features) if (f !== names.$amount) tx[f] = value;
    } else {
      const name = names[key];
      if (!name) throw new Error(`contract case edit: the schema has no ${key} feature`);
      tx[name] = value;
    }
  }
  return tx;
}

/** The tabular cases that apply to a format-5 schema, with their bodies and expected fields in its names. */
function tabularCases(list, schema, kinds) {
  const has = traits(schema, kinds);
  const names = placeholders(schema, kinds);
  const base = validTransaction(schema);
  const body = (edit) => JSON.stringify(applyEdit(base, edit, names, schema.features));
  return list
    .filter((c) => (c.when ?? []).every((w) => has.has(w)))
    .map((c) => {
      const out = { ...c, tabular: true };
      out.raw = c.batch ? JSON.stringify({ transactions: c.batch.map((e) => JSON.parse(body(e))) }) : body(c.edit);
      if (c.same_score_as) out.same_score_raw = body(c.same_score_as);
      if (c.fields) out.fields = c.fields.map((f) => names[f] ?? f);
      return out;
    });
}

/**
 * The contract cases for a model whose card's schema is `schema` (`{ features, amount, accepts_missing,
 * kinds }`; a bare list of feature names is taken as a numeric model's). Cases from `tabular_cases` have
 * `tabular: true`, and `same_score_raw` when a second body must score the same. The list's `leftOut` counts
 * the cases a format-5 schema too narrow for their roles cannot take (see `renamingByRole`).
 */
export function contractCases(schema) {
  if (Array.isArray(schema)) schema = { features: schema };
  const features = schema.features;
  const doc = JSON.parse(readFileSync(path.join(here, "http-cases.json"), "utf8"));
  const kinds = kindsOf(schema);
  const cases = doc.cases.filter((c) => !(c.unless === "accepts_missing" && schema.accepts_missing));
  if (!kinds && features.length === KAGGLE.length && features.every((f, i) => f === KAGGLE[i])) return cases;
  if (!kinds && features.length < MIN_WIDTH) throw new Error(`the contract cases need a schema of at least ${MIN_WIDTH} features, this one has ${features.length}`);
  const { map, complete } = kinds ? renamingByRole(schema, kinds) : { map: renaming(features), complete: true };
  const categories = new Map((schema.kinds ?? []).filter((k) => k.kind === "text").map((k) => [k.feature, k.categories?.[0] ?? "a category"]));
  const categoryOf = (name) => categories.get(name) ?? null;
  const namesKaggleFields = (c) => Boolean(c.fields?.some((f) => map.has(f))) || (typeof c.raw === "string" && new RegExp(PAIR.source).test(c.raw));
  const kept = complete ? cases : cases.filter((c) => !namesKaggleFields(c));
  const renamed = kept.map((c) => {
    const out = { ...c };
    if (typeof c.raw === "string") {
      out.raw = rewrite(c.raw, map, categoryOf);
      // Oversized bodies stay oversized.
      if (c.pad_to) out.pad_to = Math.max(c.pad_to, out.raw.length);
    }
    if (c.fields) out.fields = c.fields.map((f) => (map.has(f) ? map.get(f) : f));
    return out;
  });
  const all = kinds ? [...renamed, ...tabularCases(doc.tabular_cases ?? [], schema, kinds)] : renamed;
  all.leftOut = cases.length - kept.length;
  return all;
}

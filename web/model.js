// The model, as the page uses it: loading the wasm build of `core` and the calls that score many rows.
// Every probability, decision, explanation and row check is a FraudModel call; nothing here computes one.
import init, { FraudModel } from "./pkg/fraud_wasm.js";
import { CsvError } from "./lib/csv.js";

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

/** Fetches a URL's text, failing on an HTTP error. */
export async function fetchText(url) {
  return (await fetchOk(url)).text();
}

/** Instantiates the wasm module and loads the artifact at `url`. */
export async function loadModel(url) {
  await init();
  return new FraudModel(new Uint8Array(await (await fetchOk(url)).arrayBuffer()));
}

/** An error as the page shows it: core's message and code when it has them. */
export function describe(e) {
  return e && e.code ? `${e.message} (${e.code})` : String(e?.message ?? e);
}

/** Scores every row in one zero-copy call (core validates them too); a bad row is reported by its CSV line. */
export function scoreAll(model, data) {
  const t0 = performance.now();
  model.batchInput(data.n).set(data.rows);
  const t1 = performance.now();
  try {
    const out = model.scoreInput();
    return { out, ms: performance.now() - t0, scoringMs: performance.now() - t1 };
  } catch (e) {
    if (e && typeof e.row === "number") {
      const fields = (e.fields ?? []).map((f) => `${f.field} (${f.code})`).join(", ");
      throw new CsvError(`line ${e.row + 2}: ${fields || e.message}`);
    }
    throw e;
  }
}

/** Puts every loaded row into `model`'s input buffer: core decides and counts money from there. */
export function stage(model, data) {
  model.batchInput(data.n).set(data.rows);
}

/** Core's decisions for every staged row. */
export function decideStaged(model) {
  return model.scoreInput().decisions;
}

// The order of `tallyInput`'s figures (core's Tally; the card's `policies` use the same names).
const TALLY = ["transactions", "frauds_stopped", "frauds_missed", "false_alarms", "stopped_amount", "missed_amount", "false_alarm_cost", "net_benefit", "accept_all", "refuse_all"];

/** Core's tally of the first `count` staged rows' decisions against their labels (null without labels). */
export function moneyOf(model, labels, decisions, count) {
  if (!labels) return null;
  const figures = model.tallyInput(labels.subarray(0, count), decisions.subarray(0, count));
  const m = Object.fromEntries(TALLY.map((k, i) => [k, figures[i]]));
  m.currency = model.currency;
  return m;
}

/** The card's costs (`{ currency, refused_fraud: { fixed, per_amount }, ... }`) as `withCosts` takes them. */
export function withCosts(model, costs) {
  const outcomes = ["refused_fraud", "accepted_fraud", "refused_legitimate", "accepted_legitimate"];
  return model.withCosts(costs.currency, new Float64Array(outcomes.flatMap((o) => [costs[o].fixed, costs[o].per_amount])));
}

/** An amount of money as people read it ("−1,234 €"); any currency name, ISO code or not. */
export function formatMoney(x, currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: 0 }).format(x);
  } catch {
    return `${Math.round(x).toLocaleString("en")} ${currency}`;
  }
}

/** The `k` largest contributions to a transaction's score, as text ("V14 +2.31, Amount -0.40"). */
export function explanationText(model, transaction, k) {
  return model
    .explain(transaction, k)
    .contributions.map((x) => `${x.feature} ${x.contribution >= 0 ? "+" : ""}${x.contribution.toFixed(2)}`)
    .join(", ");
}

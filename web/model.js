// The models: the wasm build of `core` and the page's instances of it. Every probability, decision,
// explanation, money tally and row check is a FraudModel call made here; nothing here computes one.
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

/** An error as the page shows it: core's message and code when it has them. */
export function describe(e) {
  return e && e.code ? `${e.message} (${e.code})` : String(e?.message ?? e);
}

// The order of `withCosts`' values and of `tallyInput`'s figures (core's; the card uses the same names).
const OUTCOMES = ["refused_fraud", "accepted_fraud", "refused_legitimate", "accepted_legitimate"];
const TALLY = ["transactions", "frauds_stopped", "frauds_missed", "false_alarms", "stopped_amount", "missed_amount", "false_alarm_cost", "net_benefit", "accept_all", "refuse_all", "reviews", "reviewed_frauds", "review_cost"];
/** Core's action codes (wasm batches), in order. */
export const ACTIONS = ["accept", "review", "refuse"];

/**
 * The trained model and the one deciding now: the trained one with the page's costs (`base`), or `base` at
 * the slider's threshold. Owns the wasm instances (frees the ones it drops) and the rows staged in the
 * deciding model's input buffer, where core decides and counts money.
 */
export class Models {
  #trained;
  #base;
  #deciding;
  #manual = false;
  #staged = null;
  #decider;
  #schema;
  #card;
  #version = 0;
  /** The rules deciding over the model (`{ text, lists }`), or null: the model decides. */
  #rules = null;
  #ruleIds = [];
  reviewCost = 3;

  /** Instantiates the wasm module and loads the artifact at `url`. */
  static async load(url) {
    await init();
    return new Models(new FraudModel(new Uint8Array(await (await fetchOk(url)).arrayBuffer())));
  }

  constructor(trained) {
    this.#trained = this.#base = this.#deciding = trained;
    const card = trained.summary;
    // Read once: each getter call crosses into wasm and builds fresh JS values.
    const features = trained.featureNames;
    // Format 5: each feature's kind ("numeric", "text", "numbers") from the card; older formats: all numeric.
    const kindOf = new Map((card.schema.kinds ?? []).map((k) => [k.feature, k.kind]));
    this.#schema = Object.freeze({
      features,
      label: trained.labelName,
      id: trained.idName ?? null,
      amount: card.schema.amount ?? null,
      pacing: trained.pacingName,
      kinds: Object.freeze(features.map((f) => kindOf.get(f) ?? "numeric")),
      acceptsMissing: Boolean(card.schema.accepts_missing),
      // What lib/csv.js reads a file by (text and empty cells for a format-5 model; numbers only otherwise).
      card: card.schema,
    });
    this.#card = Object.freeze({ ...card, description: trained.description });
    this.#describeDecider();
  }

  /**
   * The model's columns: `{ features (row order), label, id, amount, pacing }` (null where it has none), each
   * feature's `kinds` ("numeric", "text" or "numbers": a category sent as a number), `acceptsMissing`, and
   * `card` (the card's schema, as lib/csv.js takes it).
   */
  get schema() {
    return this.#schema;
  }

  /** The trained model's card (`summary`), with its `description` in words. */
  get card() {
    return this.#card;
  }

  /** The deciding model's `{ threshold, policy, currency }`. */
  get decider() {
    return this.#decider;
  }

  /** Bumped whenever the deciding model changes: what its decisions and tallies are cached by. */
  get version() {
    return this.#version;
  }

  /** The deciding model's threshold, policy and currency, read once per model (frames use them). */
  #describeDecider() {
    const d = this.#deciding;
    this.#decider = Object.freeze({ threshold: d.threshold, policy: d.policy, currency: d.currency });
  }

  /** The threshold of the policy without the slider (with the page's costs). */
  get policyThreshold() {
    return this.#base.threshold;
  }

  /** The slider: a manual threshold on the calibrated probability. */
  useThreshold(t) {
    this.#manual = true;
    this.#decideWith(this.#base.withThreshold(t));
  }

  /** Back to the trained policy (with the page's costs). */
  usePolicy() {
    this.#manual = false;
    this.#decideWith(this.#base);
  }

  /**
   * Edited costs (`{ currency, refused_fraud: { fixed, per_amount }, ... }`, as the card has them): core
   * re-decides with them (a manual threshold stays). Throws core's error for bad costs, changing nothing.
   */
  useCosts(costs) {
    const base = this.#trained.withCosts(costs.currency || this.#trained.currency, new Float64Array(OUTCOMES.flatMap((o) => [costs[o].fixed, costs[o].per_amount])));
    const previous = this.#base;
    this.#base = base;
    this.#release(previous);
    this.#decideWith(this.#manual ? base.withThreshold(this.decider.threshold) : base);
  }

  /**
   * Rules over the model (a rules file's text and `{ name: text }` lists): core compiles them, and from now
   * on the replay, its money and every re-decision go by them. Throws core's error (code `invalid_rules`,
   * `line`, `column`, `reason`) for a file that does not compile, changing nothing.
   */
  useRules(text, lists) {
    this.#deciding.withRules(text, lists).free(); // compiles, or throws before anything changes
    this.#rules = { text, lists };
    this.#decideWith(this.#manual ? this.#base.withThreshold(this.decider.threshold) : this.#base);
  }

  /** Back to the model alone deciding. */
  clearRules() {
    this.#rules = null;
    this.#decideWith(this.#manual ? this.#base.withThreshold(this.decider.threshold) : this.#base);
  }

  /** The deciding rules: `{ version, rules: [{ id, action, shadow, line }], notes }`, or null. */
  get rules() {
    if (!this.#rules) return null;
    return { version: this.#deciding.rulesetVersion, rules: this.#deciding.rules, notes: this.#deciding.ruleNotes };
  }

  /**
   * Backtests a rules file on every staged row against its labels (core's, in the module): per rule, the
   * model where no rule matched, the total tally and the count per action, with the milliseconds it took.
   */
  backtest(text, lists) {
    const data = this.#staged;
    if (!data?.labels) throw new Error("a backtest needs labelled rows: load a file with the label column");
    const t0 = performance.now();
    const result = this.#deciding.backtestInput(data.labels, data.ids ?? undefined, text, lists, this.reviewCost);
    return { ...result, ms: performance.now() - t0, n: data.n };
  }

  #decideWith(next) {
    const previous = this.#deciding;
    let deciding = next;
    if (this.#rules) {
      deciding = next.withRules(this.#rules.text, this.#rules.lists);
      if (next !== this.#trained && next !== this.#base) next.free();
    }
    this.#deciding = deciding;
    this.#ruleIds = deciding.rules.map((r) => r.id);
    this.#release(previous);
    this.#describeDecider();
    if (this.#staged) this.stage(this.#staged);
    this.#version++;
  }

  /** Frees a wasm model unless it is still in use. */
  #release(model) {
    if (model !== this.#trained && model !== this.#base && model !== this.#deciding) model.free();
  }

  /**
   * What a batch row holds for `value` of `feature` (core's: the number, a category's code, NaN for null);
   * throws core's error, naming the field, for a value of the wrong type.
   */
  rowValue(feature, value) {
    return this.#trained.rowValue(feature, value);
  }

  /** Puts every loaded row (`{ rows, n }`, schema order) into the deciding model's input buffer. */
  stage(data) {
    this.#staged = data;
    this.#deciding.batchInput(data.n).set(data.rows);
  }

  /**
   * Scores every row of `data` in one zero-copy call (core validates them too) and keeps them staged. A bad
   * row is reported by its CSV line, and the rows staged before come back.
   */
  scoreAll(data) {
    const t0 = performance.now();
    this.#deciding.batchInput(data.n).set(data.rows);
    const t1 = performance.now();
    try {
      const out = this.#deciding.scoreInput(data.ids ?? undefined);
      const scoringMs = performance.now() - t1;
      this.#staged = data;
      return { out, ms: performance.now() - t0, scoringMs };
    } catch (e) {
      if (this.#staged) this.stage(this.#staged);
      if (e && typeof e.row === "number") {
        const fields = (e.fields ?? []).map((f) => `${f.field} (${f.code})`).join(", ");
        throw new CsvError(`line ${e.row + 2}: ${fields || e.message}`);
      }
      throw e;
    }
  }

  /**
   * Core's verdicts for every staged row, by the deciding model and its rules: `{ actions (0 accept, 1 review,
   * 2 refuse), rules (ids, null where the model decided) }`.
   */
  decideAll() {
    const out = this.#deciding.scoreInput(this.#staged?.ids ?? undefined);
    return { actions: out.actions, rules: Array.from(out.rules, (i) => (i < 0 ? null : this.#ruleIds[i])) };
  }

  /**
   * Core's money tally of the first `count` staged rows' actions (0 accept, 1 review, 2 refuse) against their
   * labels, a review costing `reviewCost` (null without labels).
   */
  tally(labels, actions, count) {
    if (!labels) return null;
    const figures = this.#deciding.tallyActions(labels.subarray(0, count), actions.subarray(0, count), this.reviewCost);
    const m = Object.fromEntries(TALLY.map((k, i) => [k, figures[i]]));
    m.currency = this.decider.currency;
    return m;
  }

  /**
   * One transaction (`{ name: value }`, its `id` too) scored and decided as a live feed would: `{ probability,
   * refused (the model's policy), action (what happens: a rule's, else the model's), rule (null: the model) }`.
   */
  predict(transaction) {
    const res = this.#deciding.predict(transaction);
    return { probability: res.fraud_probability, refused: res.is_fraud, action: ACTIONS.indexOf(res.action), rule: res.rule };
  }

  /** The `k` largest contributions to a transaction's score (logit units, largest first): `[{ feature, contribution }]`. */
  explain(transaction, k) {
    // The trained model: contributions do not depend on the threshold or the costs. (Their `value` is what
    // the row holds — a category's code — so it is left out: the feed shows the transaction's own values.)
    return this.#trained.explain(transaction, k).contributions.map(({ feature, contribution }) => ({ feature, contribution }));
  }
}

// The controller: user actions (from the view) become calls on the models and the replay, and it computes
// what the view draws. A frame is computed only when the replay's or the models' version has moved (rows
// scored, decisions changed), so redraws with nothing new call no wasm; explanations once per row.
import { confusion, rates } from "./lib/confusion.js";
import { parseCsv } from "./lib/csv.js";
import { describe, fetchText } from "./model.js";
import { Replay } from "./replay.js";

const FEED_ROWS = 40;
const CHART_POINTS = 400;
const EXPLAIN_TOP = 3;

export class Controller {
  #models;
  #view;
  #replay;
  #explanations = new Map();
  #drawn = ""; // the versions the frame on screen was computed from
  #drawQueued = false;

  constructor(models, view) {
    this.#models = models;
    this.#view = view;
    const { schema, card } = models;
    this.#replay = new Replay({
      features: schema.features,
      pacing: schema.pacing,
      score: (transaction) => models.predict(transaction),
      onChange: () => this.#scheduleDraw(),
      onStatus: (text) => view.status(text),
    });
    view.showSchema(schema);
    view.showModel({
      name: card.model_name,
      description: card.description,
      id: card.model_id,
      test: card.test,
      calibration: card.calibration_test,
      policy: card.policy,
      served: card.policies.find((p) => p.policy === card.policy)?.test,
      currency: card.costs.currency,
    });
    view.showCosts(card.costs);
    view.setSlider(models.decider.threshold);
    view.showDecider(models.decider);
    view.bind({
      play: () => this.#replay.play(() => view.pace()),
      pause: () => this.#replay.pause(),
      step: () => {
        this.#replay.step();
        this.#draw();
      },
      reset: () => this.#startOver(this.#replay.data, this.#replay.data.source),
      scoreAll: () => this.#scoreEverything(),
      threshold: (t) => this.#decide(() => models.useThreshold(t)),
      resetPolicy: () => {
        this.#decide(() => models.usePolicy());
        view.setSlider(models.policyThreshold);
      },
      costs: () => this.#applyCosts(),
      file: (file) => this.#loadFile(file),
      rulesApply: () => this.#applyRules(),
      rulesOff: () => {
        this.#decide(() => models.clearRules());
        view.rulesStatus({ text: "The model alone decides (accept or refuse by its policy)." });
      },
      rulesBacktest: () => this.#backtest(),
      rulesLists: (files) => this.#loadLists(files),
      reviewCost: (cost) => this.#decide(() => (models.reviewCost = cost)),
    });
    this.#lists = {};
    // The rules the trainer proposed, beside the page (absent: an empty editor).
    fetchText("rules.txt").then(
      (text) => view.setRulesText(text),
      () => {},
    );
  }

  #lists;

  /** Compiles the editor's rules in core; the replay and its money then go by them. */
  #applyRules() {
    const { text } = this.#view.rules();
    try {
      this.#decide(() => this.#models.useRules(text, this.#lists));
      const { version, rules, notes } = this.#models.rules;
      const shadows = rules.filter((r) => r.shadow).length;
      this.#view.rulesStatus({
        text: `Deciding by ${rules.length - shadows} rules (${shadows} shadow), version ${version}.` + (notes.length ? ` Notes: ${notes.join("; ")}` : ""),
        ok: true,
      });
    } catch (e) {
      this.#view.rulesStatus({ text: describe(e), error: e, source: text });
    }
  }

  /** Runs the editor's rules over every loaded row (core's backtest in the module) and shows each rule's money. */
  #backtest() {
    const { text } = this.#view.rules();
    try {
      this.#view.showBacktest(this.#models.backtest(text, this.#lists));
    } catch (e) {
      this.#view.rulesStatus({ text: describe(e), error: e, source: text });
    }
  }

  /** List files (`NAME.txt`, one value a line) become `@NAME` for the rules. */
  async #loadLists(files) {
    const lists = {};
    for (const f of files) lists[f.name.replace(/\.txt$/i, "")] = await f.text();
    this.#lists = lists;
    this.#view.rulesStatus({ text: `Lists: ${Object.keys(lists).map((n) => `@${n}`).join(", ") || "none"}.` });
  }

  /** Loads the replay file at `url` and starts over with it. */
  async start(url) {
    this.#view.status("Loading the replay file…");
    const data = this.#parse(await fetchText(url));
    this.#models.scoreAll(data); // core validates every row before the replay starts
    this.#startOver(data, "the test split (replay.csv)");
    this.#view.ready();
  }

  /**
   * A CSV in the model's feature order. A format-5 model's file may hold text and empty cells: they are kept
   * (`cells`, what single predictions and the feed use) and the batch rows hold core's codes and NaN.
   */
  #parse(text) {
    const { features, label, id, card } = this.#models.schema;
    return parseCsv(text, features, { label, id, schema: card, rowValue: (f, v) => this.#models.rowValue(f, v) });
  }

  /**
   * Runs `change` on the models (a new threshold, policy or costs), then core re-decides every loaded row:
   * the scored ones take those decisions and the net benefit over the whole loaded file is shown.
   */
  #decide(change = () => {}) {
    change();
    this.#view.showDecider(this.#models.decider);
    const data = this.#replay.data;
    if (!data) return; // the slider before the replay file is in: nothing to re-decide yet
    const all = this.#models.decideAll();
    this.#replay.redecide(all);
    this.#view.showNetOfFile(data.n, this.#models.tally(data.labels, all.actions, data.n));
  }

  /** Edited costs: core re-decides with them (the cost-optimal policy moves; threshold policies only re-count). */
  #applyCosts() {
    try {
      this.#decide(() => this.#models.useCosts(this.#view.costs()));
      this.#view.costsStatus("");
    } catch (e) {
      this.#view.costsStatus(describe(e));
    }
  }

  #startOver(data, source) {
    this.#replay.load(data, source);
    this.#explanations.clear();
    this.#models.stage(data);
    this.#decide();
    this.#view.startOver();
    this.#draw(); // now, not on the next frame: the counters must never show the previous data
  }

  #scoreEverything() {
    this.#replay.pause();
    const data = this.#replay.data;
    try {
      const { out, ms, scoringMs } = this.#models.scoreAll(data);
      this.#view.showEverything({
        n: data.n,
        ms,
        scoringMs,
        // Stopped: refused, or held for review by a rule.
        counts: confusion(out.actions.map((a) => (a === 0 ? 0 : 1)), data.labels, data.n),
        labelled: Boolean(data.labels),
        policy: this.#models.decider.policy,
        money: this.#models.tally(data.labels, out.actions, data.n),
      });
    } catch (e) {
      this.#view.status(`Could not score everything: ${describe(e)}`, true);
    }
  }

  async #loadFile(file) {
    this.#view.fileStatus(`reading ${file.name}…`);
    try {
      const data = this.#parse(await file.text());
      this.#models.scoreAll(data); // core validates every row; on a bad one the replay set stays staged
      this.#startOver(data, file.name);
      this.#view.fileStatus(`${file.name}: ${data.n.toLocaleString()} transactions loaded.`, true);
    } catch (e) {
      this.#view.fileStatus(`${file.name} was not loaded: ${describe(e)}`, false);
    }
  }

  /** Redraws on the next animation frame (once, however often it is asked). */
  #scheduleDraw() {
    if (this.#drawQueued) return;
    this.#drawQueued = true;
    requestAnimationFrame(() => {
      this.#drawQueued = false;
      this.#draw();
    });
  }

  #draw() {
    if (!this.#replay.data) return;
    const key = `${this.#replay.version}/${this.#models.version}`;
    if (key === this.#drawn) return; // nothing changed since the frame on screen was computed
    this.#drawn = key;
    this.#view.draw(this.#frame());
  }

  /** What the view draws for the replay as it is now. */
  #frame() {
    const replay = this.#replay;
    const { labels, ids } = replay.data;
    const n = replay.played;
    const decisions = replay.decisions;
    const probabilities = replay.probabilities;
    const c = confusion(decisions, labels, n);
    const { features, amount, kinds } = this.#models.schema;
    const amountIdx = amount === null ? -1 : features.indexOf(amount);
    // A format-5 model's categorical features: the feed shows each row's own values of them (text, not codes).
    const categorical = features.flatMap((f, j) => (kinds[j] === "numeric" ? [] : [j]));
    const feed = [];
    for (let r = n - 1; r >= Math.max(0, n - FEED_ROWS); r--) {
      const refused = decisions[r] === 1;
      feed.push({
        row: r,
        // The id column when the model has one, else the pacing column.
        key: ids ? ids[r] : (replay.pacingValue(r) ?? ""),
        // undefined: no amount column; null: missing in this row.
        amount: amountIdx >= 0 ? replay.cell(r, amountIdx) : undefined,
        inputs: categorical.length ? categorical.map((j) => replay.cell(r, j)) : null,
        probability: probabilities[r],
        refused,
        action: replay.actions[r],
        rule: replay.rules[r],
        fraud: labels ? labels[r] === 1 : null,
        why: refused ? this.#explanation(r) : [],
      });
    }
    const start = Math.max(0, n - CHART_POINTS);
    return {
      scored: n,
      flagged: c.flagged,
      counts: labels ? c : null,
      rates: rates(c),
      rate: replay.rate(),
      money: this.#models.tally(labels, replay.actions, n),
      feed,
      chart: {
        threshold: this.#models.decider.threshold,
        probabilities: probabilities.subarray(start, n),
        decisions: decisions.subarray(start, n),
        labels: labels ? labels.subarray(start, n) : null,
        capacity: CHART_POINTS,
      },
    };
  }

  /**
   * Row r's top contributions (core's, computed once per loaded row): `[{ feature, contribution, value? }]`,
   * with the row's own value of each feature (text, a number, null) when the file has raw cells (format 5).
   */
  #explanation(r) {
    if (!this.#explanations.has(r)) {
      const replay = this.#replay;
      const { features } = this.#models.schema;
      const top = this.#models.explain(replay.transaction(r), EXPLAIN_TOP);
      const withValues = replay.data.cells ? top.map((c) => ({ ...c, value: replay.cell(r, features.indexOf(c.feature)) })) : top;
      this.#explanations.set(r, withValues);
    }
    return this.#explanations.get(r);
  }
}

// The replay: which transactions are loaded, how far the replay has got, its pacing, and each scored
// row's probability and decision. Scoring is the `score` function it is given (the models'); it tells the
// controller through `onChange` (redraw) and `onStatus` (news).

const MAX_GAP_MS = 2000;
// Rows scored per timer tick at most: a far-behind replay (a background tab) never bursts.
const TICK_BUDGET = 2000;

export class Replay {
  #features;
  #pacing;
  #score;
  #onChange;
  #onStatus;
  #data = null;
  #times = null;
  #probabilities = new Float64Array(0);
  #decisions = new Uint8Array(0);
  #actions = new Uint8Array(0);
  #rules = [];
  #played = 0;
  #playing = false;
  #timer = 0;
  #nextDue = 0;
  #runStart = 0;
  #runCount = 0;
  #version = 0;

  /**
   * `features`: the model's names in row order; `pacing`: the feature whose gaps pace the replay (seconds;
   * null: one second per transaction); `score(transaction)` → `{ probability, action (0 accept, 1 review,
   * 2 refuse), rule (null: the model decided) }`.
   */
  constructor({ features, pacing, score, onChange, onStatus }) {
    this.#features = features;
    this.#pacing = pacing === null ? -1 : features.indexOf(pacing);
    this.#score = score;
    this.#onChange = onChange;
    this.#onStatus = onStatus;
  }

  /** Bumped on every change: what the controller's frames are computed by. */
  get version() {
    return this.#version;
  }

  /**
   * `{ rows: Float64Array (n × features, schema order: numbers, codes, NaN), cells (format 5: each row's raw
   * values — text, numbers, null — in schema order; else null), labels: Uint8Array | null, ids, n, source }`, or null.
   */
  get data() {
    return this.#data;
  }
  get played() {
    return this.#played;
  }
  get playing() {
    return this.#playing;
  }
  /** Probabilities of the scored rows (entries past `played` are 0). */
  get probabilities() {
    return this.#probabilities;
  }
  /** Decisions of the scored rows, 1 = stopped: refused or held for review (entries past `played` are 0). */
  get decisions() {
    return this.#decisions;
  }
  /** Actions of the scored rows: 0 accept, 1 review, 2 refuse (entries past `played` are 0). */
  get actions() {
    return this.#actions;
  }
  /** The rule that decided each scored row (null: the model). */
  get rules() {
    return this.#rules;
  }

  /** Transactions per second of the current run (0 when paused). */
  rate(now = performance.now()) {
    const seconds = (now - this.#runStart) / 1000;
    return this.#playing && seconds > 0 ? this.#runCount / seconds : 0;
  }

  /** Row `r`'s pacing value (the data's seconds; NaN when missing), or null without a pacing column. */
  pacingValue(r) {
    return this.#pacing >= 0 ? this.#data.rows[r * this.#features.length + this.#pacing] : null;
  }

  /**
   * Row `r` of the loaded data as a `{ name: value }` transaction: the file's own values (a category's text,
   * null for an empty cell) when it has raw cells, as a client would send them; else the row's numbers.
   */
  transaction(r) {
    const obj = {};
    const w = this.#features.length;
    const cells = this.#data.cells?.[r];
    if (cells) for (let j = 0; j < w; j++) obj[this.#features[j]] = cells[j];
    else for (let j = 0; j < w; j++) obj[this.#features[j]] = this.#data.rows[r * w + j];
    // The id column, when the file has one: what a rule's `:id:` sees (never a feature).
    if (this.#data.ids) obj.id = this.#data.ids[r];
    return obj;
  }

  /** Row `r`'s raw value of feature `j` (schema order): text, a number, or null for a missing value. */
  cell(r, j) {
    const cells = this.#data.cells?.[r];
    return cells ? cells[j] : this.#data.rows[r * this.#features.length + j];
  }

  /** Starts over with new data (parsed by lib/csv.js in the model's feature order). */
  load(data, source) {
    this.pause();
    const times = new Float64Array(data.n);
    for (let r = 0; r < data.n; r++) times[r] = this.#pacing >= 0 ? data.rows[r * this.#features.length + this.#pacing] : r;
    this.#data = { ...data, source };
    this.#times = times;
    this.#probabilities = new Float64Array(data.n);
    this.#decisions = new Uint8Array(data.n);
    this.#actions = new Uint8Array(data.n);
    this.#rules = new Array(data.n).fill(null);
    this.#played = 0;
    this.#onStatus(`Ready: ${data.n.toLocaleString()} transactions from ${source}${data.labels ? "" : " (no labels: no confusion matrix)"}.`);
    this.#changed();
  }

  /** The scored rows take core's verdicts for every loaded row (`{ actions, rules }`: a new threshold, costs or rules). */
  redecide({ actions, rules }) {
    for (let r = 0; r < this.#played; r++) {
      this.#actions[r] = actions[r];
      this.#decisions[r] = actions[r] === 0 ? 0 : 1;
      this.#rules[r] = rules[r];
    }
    this.#changed();
  }

  /** Pauses and scores exactly one more transaction (none past the end). */
  step() {
    this.pause();
    if (this.#played < this.#data.n) this.#scoreNext();
    this.#changed();
  }

  /** Plays from where it is; `pace()` returns { mode: "delay" | "gaps", delayMs, speed }, read at every row. */
  play(pace) {
    if (this.#playing || !this.#data || this.#played >= this.#data.n) return;
    this.#playing = true;
    this.#nextDue = this.#runStart = performance.now();
    this.#runCount = 0;
    this.#onStatus(`Replaying ${this.#data.source}…`);
    this.#tick(pace);
  }

  pause() {
    if (this.#playing && this.#played < this.#data.n) this.#onStatus(`Paused after ${this.#played.toLocaleString()} transactions.`);
    this.#playing = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = 0;
    this.#changed();
  }

  #changed() {
    this.#version++;
    this.#onChange();
  }

  /** Scores the next transaction one by one, as a live feed would. */
  #scoreNext() {
    const r = this.#played;
    const { probability, action, rule } = this.#score(this.transaction(r));
    this.#probabilities[r] = probability;
    this.#actions[r] = action;
    this.#decisions[r] = action === 0 ? 0 : 1;
    this.#rules[r] = rule;
    this.#played++;
    this.#runCount++;
  }

  #gapMs(r, pace) {
    if (pace.mode === "delay") return Math.max(0, pace.delayMs);
    const speed = Math.max(1e-6, pace.speed);
    const gap = r + 1 < this.#data.n ? (this.#times[r + 1] - this.#times[r]) * 1000 : 0;
    // A missing pacing value (NaN) gives no gap.
    return Number.isFinite(gap) ? Math.min(MAX_GAP_MS, Math.max(0, gap) / speed) : 0;
  }

  #tick(pace) {
    this.#timer = 0;
    if (!this.#playing) return;
    const now = performance.now();
    let budget = TICK_BUDGET;
    while (this.#played < this.#data.n && this.#nextDue <= now && budget-- > 0) {
      this.#scoreNext();
      this.#nextDue += this.#gapMs(this.#played - 1, pace());
    }
    if (this.#nextDue < now - 1000) this.#nextDue = now;
    this.#changed();
    if (this.#played >= this.#data.n) {
      this.pause();
      this.#onStatus(`Replay finished: ${this.#played.toLocaleString()} transactions scored.`);
      return;
    }
    this.#timer = setTimeout(() => this.#tick(pace), Math.max(0, this.#nextDue - performance.now()));
  }
}

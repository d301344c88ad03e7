// The replay: which transactions are loaded, how far the replay has got, and its pacing. Scores come from
// the model (model.js); drawing is view.js's job, told through `onChange`.
import { explanationText } from "./model.js";

const MAX_GAP_MS = 2000;
// Rows scored per timer tick at most: a far-behind replay (a background tab) never bursts.
const TICK_BUDGET = 2000;

export const state = {
  trained: null, // the model as trained
  base: null, // the trained model with the page's costs
  model: null, // the model deciding now: `base`, or `base` at the slider's threshold (core decides, not this file)
  names: [], // the model's features, in row order
  columns: { label: "Class", id: null }, // the model's label and id columns
  amountName: null, // the model's amount feature (null: none)
  data: null, // { rows: Float64Array (n × names.length, schema order), labels: Uint8Array | null, ids, times, n, source }
  probs: null,
  decisions: null,
  played: 0,
  playing: false,
  timer: 0,
  nextDue: 0,
  runStart: 0,
  runCount: 0,
  explanations: new Map(),
};

let onChange = () => {};
let onStatus = () => {};

/** Registers what to call when the replay changes (redraw) and when it has news (status line). */
export function listen(change, status) {
  onChange = change;
  onStatus = status;
}

/** Row `r` of the loaded data as a `{ name: value }` transaction. */
export function rowObject(r) {
  const obj = {};
  const w = state.names.length;
  for (let j = 0; j < w; j++) obj[state.names[j]] = state.data.rows[r * w + j];
  return obj;
}

/** Starts over with new data (parsed by lib/csv.js in the model's feature order). */
export function load(data, source) {
  pause();
  // The Kaggle file's seconds; a schema without a Time column replays one second per transaction.
  const timeIdx = state.names.indexOf("Time");
  const times = new Float64Array(data.n);
  for (let r = 0; r < data.n; r++) times[r] = timeIdx >= 0 ? data.rows[r * state.names.length + timeIdx] : r;
  state.data = { ...data, times, source };
  state.probs = new Float64Array(data.n);
  state.decisions = new Uint8Array(data.n);
  state.played = 0;
  state.explanations.clear();
  onStatus(`Ready: ${data.n.toLocaleString()} transactions from ${source}${data.labels ? "" : " (no labels: no confusion matrix)"}.`);
  onChange();
}

function gapMs(r, pace) {
  if (pace.mode === "delay") return Math.max(0, pace.delayMs);
  const speed = Math.max(1e-6, pace.speed);
  const gap = r + 1 < state.data.n ? (state.data.times[r + 1] - state.data.times[r]) * 1000 : 0;
  return Math.min(MAX_GAP_MS, Math.max(0, gap) / speed);
}

/** Scores the next transaction one by one, as a live feed would. */
export function scoreNext() {
  const r = state.played;
  const res = state.model.predict(rowObject(r));
  state.probs[r] = res.fraud_probability;
  state.decisions[r] = res.is_fraud ? 1 : 0;
  state.played++;
  state.runCount++;
}

function tick(pace) {
  state.timer = 0;
  if (!state.playing) return;
  const now = performance.now();
  let budget = TICK_BUDGET;
  while (state.played < state.data.n && state.nextDue <= now && budget-- > 0) {
    scoreNext();
    state.nextDue += gapMs(state.played - 1, pace());
  }
  if (state.nextDue < now - 1000) state.nextDue = now;
  onChange();
  if (state.played >= state.data.n) {
    pause();
    onStatus(`Replay finished: ${state.played.toLocaleString()} transactions scored.`);
    return;
  }
  state.timer = setTimeout(() => tick(pace), Math.max(0, state.nextDue - performance.now()));
}

/** Plays from where it is; `pace()` returns { mode: "delay" | "time", delayMs, speed }, read at every row. */
export function play(pace) {
  if (state.playing || !state.data || state.played >= state.data.n) return;
  state.playing = true;
  state.nextDue = performance.now();
  state.runStart = performance.now();
  state.runCount = 0;
  onStatus(`Replaying ${state.data.source}…`);
  tick(pace);
}

export function pause() {
  if (state.playing && state.played < state.data.n) onStatus(`Paused after ${state.played.toLocaleString()} transactions.`);
  state.playing = false;
  if (state.timer) clearTimeout(state.timer);
  state.timer = 0;
  onChange();
}

/** The top-3 explanation of row r (computed once, by core). */
export function explanation(r) {
  if (!state.explanations.has(r)) state.explanations.set(r, explanationText(state.trained, rowObject(r), 3));
  return state.explanations.get(r);
}

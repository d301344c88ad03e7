// The replay page. Every probability, decision, explanation and validation comes from the wasm
// build of `core` (FraudModel); this file only reads files, paces the replay and draws.
import init, { FraudModel } from "./pkg/fraud_wasm.js";

const $ = (id) => document.getElementById(id);
const FEED_ROWS = 40;
const CHART_POINTS = 400;
const MAX_GAP_MS = 2000;

const state = {
  trained: null, // the model as trained
  model: null, // the same model at the slider's threshold (core decides, not this file)
  names: [],
  data: null, // { rows: Float64Array (n × 30, schema order), labels: Uint8Array | null, times: Float64Array, n, source }
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

const view = new DataView(new ArrayBuffer(8));
function bitsOf(x) {
  view.setFloat64(0, x);
  return view.getBigUint64(0).toString(16).padStart(16, "0");
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function describe(e) {
  return e && e.code ? `${e.message} (${e.code})` : String(e?.message ?? e);
}

// ---------- CSV: by header name, any column order, errors name line and column ----------

class CsvError extends Error {}

export function parseCsv(text, names) {
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length < 2) throw new CsvError("the file has no data rows (line 1 must be the header)");
  const header = lines[0].split(",").map((h) => h.trim().replace(/^"(.*)"$/, "$1"));
  const seen = new Set();
  for (const h of header) {
    if (seen.has(h)) throw new CsvError(`line 1: column ${h} appears twice`);
    seen.add(h);
  }
  const columns = names.map((name) => header.indexOf(name));
  const missing = names.filter((_, j) => columns[j] < 0);
  if (missing.length) throw new CsvError(`line 1: missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
  const classCol = header.indexOf("Class");
  const n = lines.length - 1;
  const rows = new Float64Array(n * names.length);
  const labels = classCol >= 0 ? new Uint8Array(n) : null;
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const cells = lines[r + 1].split(",");
    if (cells.length !== header.length) {
      throw new CsvError(`line ${lineNo}: ${cells.length} fields, the header has ${header.length}`);
    }
    for (let j = 0; j < names.length; j++) {
      const raw = cells[columns[j]].trim().replace(/^"(.*)"$/, "$1");
      const v = raw === "" ? NaN : Number(raw);
      if (!Number.isFinite(v)) {
        throw new CsvError(`line ${lineNo}, column ${names[j]}: ${JSON.stringify(raw.slice(0, 40))} is not a finite number`);
      }
      rows[r * names.length + j] = v;
    }
    if (labels) {
      const raw = cells[classCol].trim().replace(/^"(.*)"$/, "$1");
      if (raw !== "0" && raw !== "1") throw new CsvError(`line ${lineNo}, column Class: ${JSON.stringify(raw.slice(0, 40))} is not 0 or 1`);
      labels[r] = raw === "1" ? 1 : 0;
    }
  }
  const times = new Float64Array(n);
  const timeIdx = names.indexOf("Time");
  for (let r = 0; r < n; r++) times[r] = rows[r * names.length + timeIdx];
  return { rows, labels, times, n };
}

/** Scores every row in one call (core validates them too); a bad row is reported by its CSV line. */
function scoreAll(model, data) {
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

// ---------- the replay ----------

function rowObject(r) {
  const obj = {};
  const w = state.names.length;
  for (let j = 0; j < w; j++) obj[state.names[j]] = state.data.rows[r * w + j];
  return obj;
}

function load(data, source) {
  pause();
  state.data = { ...data, source };
  state.probs = new Float64Array(data.n);
  state.decisions = new Uint8Array(data.n);
  state.played = 0;
  state.explanations.clear();
  $("everything").hidden = true;
  for (const id of ["play", "pause", "step", "reset", "score-all"]) $(id).disabled = false;
  setStatus(`Ready: ${data.n.toLocaleString()} transactions from ${source}${data.labels ? "" : " (no labels: no confusion matrix)"}.`);
  render();
}

function gapMs(r) {
  const pace = document.querySelector("input[name=pace]:checked").value;
  if (pace === "delay") return Math.max(0, Number($("delay").value) || 0);
  const speed = Math.max(1e-6, Number($("speed").value) || 1);
  const gap = r + 1 < state.data.n ? (state.data.times[r + 1] - state.data.times[r]) * 1000 : 0;
  return Math.min(MAX_GAP_MS, Math.max(0, gap) / speed);
}

function scoreNext() {
  const r = state.played;
  const res = state.model.predict(rowObject(r));
  state.probs[r] = res.fraud_probability;
  state.decisions[r] = res.is_fraud ? 1 : 0;
  state.played++;
  state.runCount++;
}

function tick() {
  state.timer = 0;
  if (!state.playing) return;
  const now = performance.now();
  let budget = 2000;
  while (state.played < state.data.n && state.nextDue <= now && budget-- > 0) {
    scoreNext();
    state.nextDue += gapMs(state.played - 1);
  }
  // Far behind (e.g. a background tab): do not burst to catch up.
  if (state.nextDue < now - 1000) state.nextDue = now;
  scheduleRender();
  if (state.played >= state.data.n) {
    pause();
    setStatus(`Replay finished: ${state.played.toLocaleString()} transactions scored.`);
    return;
  }
  state.timer = setTimeout(tick, Math.max(0, state.nextDue - performance.now()));
}

function play() {
  if (state.playing || !state.data || state.played >= state.data.n) return;
  state.playing = true;
  state.nextDue = performance.now();
  state.runStart = performance.now();
  state.runCount = 0;
  setStatus(`Replaying ${state.data.source}…`);
  tick();
}

function pause() {
  if (state.playing && state.played < state.data.n) setStatus(`Paused after ${state.played.toLocaleString()} transactions.`);
  state.playing = false;
  if (state.timer) clearTimeout(state.timer);
  state.timer = 0;
  scheduleRender();
}

// ---------- threshold: core re-decides every scored row ----------

function logit(p) {
  return Math.log(p / (1 - p));
}

function showThreshold(t) {
  const out = $("threshold-value");
  out.textContent = t > 0.999 ? `1 − ${(1 - t).toExponential(2)}` : t < 0.001 ? t.toExponential(2) : t.toFixed(4);
  out.dataset.threshold = String(t);
}

function setThreshold(t) {
  const next = state.trained.withThreshold(t);
  if (state.model !== state.trained) state.model.free();
  state.model = next;
  showThreshold(state.model.threshold);
  if (state.played > 0) {
    const w = state.names.length;
    state.model.batchInput(state.played).set(state.data.rows.subarray(0, state.played * w));
    state.decisions.set(state.model.scoreInput().decisions);
  }
  scheduleRender();
}

// ---------- drawing ----------

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function counts(decisions, labels, n) {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0, flagged: 0 };
  for (let r = 0; r < n; r++) {
    const d = decisions[r];
    c.flagged += d;
    if (!labels) continue;
    if (labels[r]) d ? c.tp++ : c.fn++;
    else d ? c.fp++ : c.tn++;
  }
  return c;
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(4) : "–");

function render() {
  if (!state.data) return;
  const n = state.played;
  const c = counts(state.decisions, state.data.labels, n);
  $("scored").textContent = n.toLocaleString();
  $("flagged").textContent = c.flagged.toLocaleString();
  for (const k of ["tp", "fp", "fn", "tn"]) $(k).textContent = state.data.labels ? c[k] : "–";
  const precision = c.tp / (c.tp + c.fp);
  const recall = c.tp / (c.tp + c.fn);
  $("precision").textContent = state.data.labels ? fmt(precision) : "–";
  $("recall").textContent = state.data.labels ? fmt(recall) : "–";
  $("f1").textContent = state.data.labels ? fmt((2 * precision * recall) / (precision + recall)) : "–";
  const seconds = (performance.now() - state.runStart) / 1000;
  $("rate").textContent = state.playing && seconds > 0 ? Math.round(state.runCount / seconds).toLocaleString() : "0";
  renderFeed();
  renderChart();
}

function explanation(r) {
  if (!state.explanations.has(r)) {
    const top = state.trained.explain(rowObject(r), 3).contributions;
    state.explanations.set(r, top.map((x) => `${x.feature} ${x.contribution >= 0 ? "+" : ""}${x.contribution.toFixed(2)}`).join(", "));
  }
  return state.explanations.get(r);
}

function renderFeed() {
  const body = $("feed");
  const w = state.names.length;
  const amountIdx = state.names.indexOf("Amount");
  const timeIdx = state.names.indexOf("Time");
  const rows = [];
  for (let r = state.played - 1; r >= Math.max(0, state.played - FEED_ROWS); r--) {
    const p = state.probs[r];
    const flagged = state.decisions[r] === 1;
    const label = state.data.labels ? (state.data.labels[r] ? "fraud" : "legit") : "?";
    rows.push(
      `<tr class="${flagged ? "flagged" : ""}" data-row="${r}" data-bits="${bitsOf(p)}" data-decision="${flagged ? 1 : 0}">` +
        `<td>${r}</td><td>${state.data.rows[r * w + timeIdx]}</td><td>${state.data.rows[r * w + amountIdx].toFixed(2)}</td>` +
        `<td class="p">${p.toPrecision(6)}</td><td class="decision">${flagged ? "FRAUD" : "ok"}</td><td>${label}</td>` +
        `<td class="why">${flagged ? explanation(r) : ""}</td></tr>`,
    );
  }
  body.innerHTML = rows.join("");
}

function renderChart() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const lo = -20;
  const hi = 20;
  const y = (p) => {
    const z = Math.min(hi, Math.max(lo, logit(Math.min(Math.max(p, 1e-300), 1 - 1e-16))));
    return H - 10 - ((z - lo) / (hi - lo)) * (H - 20);
  };
  ctx.strokeStyle = "#c0392b";
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  const ty = y(state.model.threshold);
  ctx.moveTo(0, ty);
  ctx.lineTo(W, ty);
  ctx.stroke();
  ctx.setLineDash([]);
  const start = Math.max(0, state.played - CHART_POINTS);
  const step = W / CHART_POINTS;
  for (let r = start; r < state.played; r++) {
    ctx.fillStyle = state.decisions[r] ? "#c0392b" : state.data.labels?.[r] ? "#e67e22" : "#2e86c1";
    ctx.fillRect((r - start) * step, y(state.probs[r]) - 2, 3, 4);
  }
}

// ---------- score everything ----------

function scoreEverything() {
  pause();
  try {
    const { out, ms, scoringMs } = scoreAll(state.model, state.data);
    const c = counts(out.decisions, state.data.labels, state.data.n);
    const summary = $("everything-summary");
    summary.textContent =
      `${state.data.n.toLocaleString()} transactions scored in ${ms.toFixed(2)} ms ` +
      `(${scoringMs.toFixed(2)} ms in the scorer, ${((scoringMs * 1e6) / state.data.n).toFixed(1)} ns per transaction); ` +
      `${c.flagged.toLocaleString()} flagged at threshold ${$("threshold-value").textContent}.`;
    summary.dataset.ms = String(ms);
    summary.dataset.n = String(state.data.n);
    summary.dataset.flagged = String(c.flagged);
    for (const k of ["tp", "fp", "fn", "tn"]) document.querySelector(`[data-testid=all-${k}]`).textContent = state.data.labels ? c[k] : "–";
    $("everything").hidden = false;
  } catch (e) {
    setStatus(`Could not score everything: ${describe(e)}`, true);
  }
}

// ---------- your own CSV ----------

async function loadFile(file) {
  const status = $("file-status");
  status.textContent = `reading ${file.name}…`;
  try {
    const data = parseCsv(await file.text(), state.names);
    scoreAll(state.model, data); // core validates every row before the replay starts
    load(data, file.name);
    status.textContent = `${file.name}: ${data.n.toLocaleString()} transactions loaded.`;
    status.dataset.ok = "1";
  } catch (e) {
    status.textContent = `${file.name} was not loaded: ${describe(e)}`;
    status.dataset.ok = "0";
  }
}

// ---------- start ----------

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

async function main() {
  await init();
  const bytes = new Uint8Array(await (await fetchOk("model.bin")).arrayBuffer());
  state.trained = new FraudModel(bytes);
  state.model = state.trained;
  state.names = state.trained.featureNames;
  const s = state.trained.summary;
  $("model-name").textContent = s.model_name;
  $("model-id").textContent = s.model_id;
  $("model-metrics").textContent =
    `On its held-out test split: precision ${s.test.precision.toFixed(3)}, recall ${s.test.recall.toFixed(3)}, ` +
    `F1 ${s.test.f1.toFixed(3)}, average precision ${s.test.average_precision.toFixed(3)}.`;
  const slider = $("threshold");
  slider.value = String(logit(state.trained.threshold));
  showThreshold(state.trained.threshold);
  slider.addEventListener("input", () => setThreshold(1 / (1 + Math.exp(-Number(slider.value)))));
  $("threshold-reset").addEventListener("click", () => {
    slider.value = String(logit(state.trained.threshold));
    setThreshold(state.trained.threshold);
  });
  $("play").addEventListener("click", play);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", () => {
    pause();
    if (state.played < state.data.n) scoreNext();
    render();
  });
  $("reset").addEventListener("click", () => load(state.data, state.data.source));
  $("score-all").addEventListener("click", scoreEverything);
  $("file").addEventListener("change", (e) => e.target.files[0] && loadFile(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    if (e.dataTransfer.files[0]) loadFile(e.dataTransfer.files[0]);
  });
  setStatus("Loading the replay file…");
  const text = await (await fetchOk("replay.csv")).text();
  const data = parseCsv(text, state.names);
  scoreAll(state.model, data);
  load(data, "the test split (replay.csv)");
  document.body.dataset.ready = "1";
}

main().catch((e) => setStatus(`The page could not start: ${describe(e)}`, true));

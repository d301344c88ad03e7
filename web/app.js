// The replay page: wiring only. model.js loads and calls the wasm build of `core` (every probability,
// decision, explanation and row check), replay.js paces the replay, view.js draws, lib/ holds the
// modules shared with the Node checks (CSV, bit patterns, confusion counts).
import { confusion } from "./lib/confusion.js";
import { parseCsv } from "./lib/csv.js";
import { decide, describe, fetchText, loadModel, scoreAll } from "./model.js";
import { listen, load, pause, play, scoreNext, state } from "./replay.js";
import { $, logit, render, scheduleRender, setStatus, showThreshold } from "./view.js";

function pace() {
  const mode = document.querySelector("input[name=pace]:checked").value;
  return { mode, delayMs: Number($("delay").value) || 0, speed: Number($("speed").value) || 1 };
}

/** Core re-decides every scored row at the slider's threshold. */
function setThreshold(t) {
  const next = state.trained.withThreshold(t);
  if (state.model !== state.trained) state.model.free();
  state.model = next;
  showThreshold(state.model.threshold);
  if (state.played > 0) state.decisions.set(decide(state.model, state.data.rows, state.played, state.names.length));
  scheduleRender();
}

function startOver(data, source) {
  load(data, source);
  $("everything").hidden = true;
  for (const id of ["play", "pause", "step", "reset", "score-all"]) $(id).disabled = false;
  render(); // now, not on the next frame: the counters must never show the previous data
}

function scoreEverything() {
  pause();
  try {
    const { out, ms, scoringMs } = scoreAll(state.model, state.data);
    const c = confusion(out.decisions, state.data.labels, state.data.n);
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

async function loadFile(file) {
  const status = $("file-status");
  status.textContent = `reading ${file.name}…`;
  try {
    const data = parseCsv(await file.text(), state.names);
    scoreAll(state.model, data); // core validates every row before the replay starts
    startOver(data, file.name);
    status.textContent = `${file.name}: ${data.n.toLocaleString()} transactions loaded.`;
    status.dataset.ok = "1";
  } catch (e) {
    status.textContent = `${file.name} was not loaded: ${describe(e)}`;
    status.dataset.ok = "0";
  }
}

async function main() {
  state.trained = await loadModel("model.bin");
  state.model = state.trained;
  state.names = state.trained.featureNames;
  listen(scheduleRender, setStatus);
  const s = state.trained.summary;
  const kind = s.kind === "trees" ? `${s.parameters.trees} boosted trees, TreeSHAP explanations` : "logistic regression";
  $("model-name").textContent = `${s.model_name} (${kind})`;
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
  $("play").addEventListener("click", () => play(pace));
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", () => {
    pause();
    if (state.played < state.data.n) scoreNext();
    render();
  });
  $("reset").addEventListener("click", () => startOver(state.data, state.data.source));
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
  const data = parseCsv(await fetchText("replay.csv"), state.names);
  scoreAll(state.model, data);
  startOver(data, "the test split (replay.csv)");
  document.body.dataset.ready = "1";
}

main().catch((e) => setStatus(`The page could not start: ${describe(e)}`, true));

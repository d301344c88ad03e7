// The replay page: wiring only. model.js loads and calls the wasm build of `core` (every probability,
// decision, explanation and row check), replay.js paces the replay, view.js draws, lib/ holds the
// modules shared with the Node checks (CSV, bit patterns, confusion counts).
import { confusion } from "./lib/confusion.js";
import { parseCsv } from "./lib/csv.js";
import { decideStaged, describe, fetchText, formatMoney, loadModel, moneyOf, scoreAll, stage, withCosts } from "./model.js";
import { listen, load, pause, play, scoreNext, state } from "./replay.js";
import { $, logit, render, scheduleRender, setStatus, showPolicy, showThreshold } from "./view.js";

function pace() {
  const mode = document.querySelector("input[name=pace]:checked").value;
  return { mode, delayMs: Number($("delay").value) || 0, speed: Number($("speed").value) || 1 };
}

/** Frees a wasm model unless it is still in use. */
function release(model) {
  if (model && model !== state.trained && model !== state.base && model !== state.model) model.free();
}

/**
 * Makes `next` the deciding model: core re-decides every loaded row (the scored ones keep those decisions)
 * and the net benefit over the whole loaded file is shown.
 */
function decideWith(next) {
  const previous = state.model;
  state.model = next;
  release(previous);
  showThreshold(state.model.threshold);
  showPolicy(state.model.policy);
  stage(state.model, state.data);
  const all = decideStaged(state.model);
  state.decisions.set(all.subarray(0, state.played), 0);
  const m = moneyOf(state.model, state.data.labels, all, state.data.n);
  const out = $("net-at-threshold");
  out.textContent = m
    ? `On all ${state.data.n.toLocaleString()} loaded transactions: net ${formatMoney(m.net_benefit, m.currency)}, ` +
      `${formatMoney(m.net_benefit - m.accept_all, m.currency)} against accepting everything.`
    : "";
  out.dataset.net = m ? String(m.net_benefit) : "";
  scheduleRender();
}

/** The slider: a manual threshold on the calibrated probability. */
function setThreshold(t) {
  state.manual = true;
  decideWith(state.base.withThreshold(t));
}

/** Back to the trained policy (with the page's costs). */
function resetPolicy() {
  state.manual = false;
  $("threshold").value = String(logit(state.base.threshold));
  decideWith(state.base);
}

/** Edited costs: core re-decides with them (the cost-optimal policy moves; threshold policies only re-count). */
function applyCosts() {
  const costs = { currency: $("c-currency").value.trim() || state.trained.currency };
  for (const input of document.querySelectorAll("[data-cost]")) {
    const [outcome, part] = input.dataset.cost.split(".");
    costs[outcome] ??= {};
    costs[outcome][part] = input.value === "" ? NaN : Number(input.value);
  }
  const status = $("costs-status");
  try {
    const base = withCosts(state.trained, costs);
    const previous = state.base;
    state.base = base;
    release(previous);
    decideWith(state.manual ? base.withThreshold(Number($("threshold-value").dataset.threshold)) : base);
    status.textContent = "";
  } catch (e) {
    status.textContent = describe(e);
  }
}

function showCosts(costs) {
  for (const input of document.querySelectorAll("[data-cost]")) {
    const [outcome, part] = input.dataset.cost.split(".");
    input.value = String(costs[outcome][part]);
  }
  $("c-currency").value = costs.currency;
}

function startOver(data, source) {
  load(data, source);
  decideWith(state.model);
  $("everything").hidden = true;
  for (const id of ["play", "pause", "step", "reset", "score-all"]) $(id).disabled = false;
  render(); // now, not on the next frame: the counters must never show the previous data
}

function scoreEverything() {
  pause();
  try {
    const { out, ms, scoringMs } = scoreAll(state.model, state.data);
    const c = confusion(out.decisions, state.data.labels, state.data.n);
    const m = moneyOf(state.model, state.data.labels, out.decisions, state.data.n);
    const summary = $("everything-summary");
    summary.textContent =
      `${state.data.n.toLocaleString()} transactions scored in ${ms.toFixed(2)} ms ` +
      `(${scoringMs.toFixed(2)} ms in the scorer, ${((scoringMs * 1e6) / state.data.n).toFixed(1)} ns per transaction); ` +
      `${c.flagged.toLocaleString()} refused (${state.model.policy.replaceAll("_", " ")})` +
      (m ? `; net ${formatMoney(m.net_benefit, m.currency)} vs ${formatMoney(m.accept_all, m.currency)} accepting everything.` : ".");
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
    const data = parseCsv(await file.text(), state.names, state.columns);
    scoreAll(state.model, data); // core validates every row before the replay starts
    startOver(data, file.name);
    status.textContent = `${file.name}: ${data.n.toLocaleString()} transactions loaded.`;
    status.dataset.ok = "1";
  } catch (e) {
    if (state.data) stage(state.model, state.data); // core's input buffer holds the replay set again
    status.textContent = `${file.name} was not loaded: ${describe(e)}`;
    status.dataset.ok = "0";
  }
}

async function main() {
  state.trained = await loadModel("model.bin");
  state.base = state.trained;
  state.model = state.trained;
  state.manual = false;
  state.names = state.trained.featureNames;
  // The model's own label and id columns (a team's schema, not only the Kaggle file's).
  state.columns = { label: state.trained.labelName, id: state.trained.idName ?? null };
  listen(scheduleRender, setStatus);
  const s = state.trained.summary;
  state.amountName = s.schema.amount;
  $("feed-key").textContent = state.columns.id ?? (state.names.includes("Time") ? "Time" : "—");
  $("feed-amount").textContent = state.amountName ?? "—";
  const { label, id } = state.columns;
  $("schema-columns").textContent =
    `${state.names.join(", ")}; label ${label}${id ? `; id ${id}` : ""} (any order, other columns ignored)`;
  const kind = s.kind === "trees" ? `${s.parameters.trees} boosted trees, TreeSHAP explanations` : "logistic regression";
  $("model-name").textContent = `${s.model_name} (${kind})`;
  $("model-id").textContent = s.model_id;
  const served = s.policies.find((p) => p.policy === s.policy);
  $("model-metrics").textContent =
    `On its held-out test split: precision ${s.test.precision.toFixed(3)}, recall ${s.test.recall.toFixed(3)}, ` +
    `F1 ${s.test.f1.toFixed(3)} at its F1 threshold, average precision ${s.test.average_precision.toFixed(3)}` +
    (s.calibration_test ? `; ${s.calibration_test.expected_frauds.toFixed(1)} frauds expected by its probabilities, ${s.calibration_test.observed_frauds} observed` : "") +
    (served ? `; ${s.policy.replaceAll("_", " ")} made ${formatMoney(served.test.net_benefit, s.costs.currency)} (accepting everything: ${formatMoney(served.test.accept_all, s.costs.currency)}).` : ".");
  showCosts(s.costs);
  for (const input of document.querySelectorAll(".cost-grid input")) input.addEventListener("change", applyCosts);
  const slider = $("threshold");
  slider.value = String(logit(state.trained.threshold));
  showThreshold(state.trained.threshold);
  showPolicy(state.trained.policy);
  slider.addEventListener("input", () => setThreshold(1 / (1 + Math.exp(-Number(slider.value)))));
  $("threshold-reset").addEventListener("click", resetPolicy);
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
  const data = parseCsv(await fetchText("replay.csv"), state.names, state.columns);
  scoreAll(state.model, data);
  startOver(data, "the test split (replay.csv)");
  document.body.dataset.ready = "1";
}

main().catch((e) => setStatus(`The page could not start: ${describe(e)}`, true));

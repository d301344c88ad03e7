// Drawing: counters, the live feed, the chart and the status line. Reads the replay's state; changes nothing.
import { bitsOf } from "./lib/bits.js";
import { confusion, rates } from "./lib/confusion.js";
import { formatMoney, moneyOf } from "./model.js";
import { explanation, state } from "./replay.js";

const FEED_ROWS = 40;
const CHART_POINTS = 400;
// The chart's logit axis: probabilities from ~2e-9 to 1 - 2e-9.
const LOGIT_RANGE = [-20, 20];

export const $ = (id) => document.getElementById(id);

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text made safe for innerHTML (feature names and values come from files the user chose). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

export function logit(p) {
  return Math.log(p / (1 - p));
}

export function showThreshold(t) {
  const out = $("threshold-value");
  out.textContent = t > 0.999 ? `1 − ${(1 - t).toExponential(2)}` : t < 0.001 ? t.toExponential(2) : t.toFixed(4);
  out.dataset.threshold = String(t);
}

const POLICY_NAMES = {
  f1_threshold: "F1-optimal threshold",
  net_benefit_threshold: "net-benefit-optimal threshold",
  cost_optimal: "cost-optimal per transaction (threshold moves with the amount)",
  manual_threshold: "your threshold",
};

export function showPolicy(policy) {
  const out = $("policy");
  out.textContent = POLICY_NAMES[policy] ?? policy;
  out.dataset.policy = policy;
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(4) : "–");

let renderQueued = false;
/** Redraws on the next animation frame (once, however often it is asked). */
export function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

export function render() {
  if (!state.data) return;
  const n = state.played;
  const labelled = Boolean(state.data.labels);
  const c = confusion(state.decisions, state.data.labels, n);
  const r = rates(c);
  $("scored").textContent = n.toLocaleString();
  $("flagged").textContent = c.flagged.toLocaleString();
  for (const k of ["tp", "fp", "fn", "tn"]) $(k).textContent = labelled ? c[k] : "–";
  $("precision").textContent = labelled ? fmt(r.precision) : "–";
  $("recall").textContent = labelled ? fmt(r.recall) : "–";
  $("f1").textContent = labelled ? fmt(r.f1) : "–";
  const seconds = (performance.now() - state.runStart) / 1000;
  $("rate").textContent = state.playing && seconds > 0 ? Math.round(state.runCount / seconds).toLocaleString() : "0";
  renderMoney(n);
  renderFeed();
  renderChart();
}

/** Money of the replayed decisions: core's tally, with the costs of the deciding model. */
function renderMoney(n) {
  const m = moneyOf(state.model, state.data.labels, state.decisions, n);
  const show = (id, text, value) => {
    $(id).textContent = text;
    $(id).dataset.value = value === undefined ? "" : String(value);
  };
  if (!m) {
    for (const id of ["stopped", "missed", "alarms", "net", "gain"]) show(id, "–");
    return;
  }
  const money = (x) => formatMoney(x, m.currency);
  show("stopped", `${money(m.stopped_amount)} (${m.frauds_stopped})`, m.stopped_amount);
  show("missed", `${money(m.missed_amount)} (${m.frauds_missed})`, m.missed_amount);
  show("alarms", `${money(m.false_alarm_cost)} (${m.false_alarms})`, m.false_alarm_cost);
  show("net", money(m.net_benefit), m.net_benefit);
  const gain = m.net_benefit - m.accept_all;
  show("gain", `${gain >= 0 ? "+" : ""}${money(gain)}`, gain);
  $("gain").className = gain > 0 ? "gain-up" : gain < 0 ? "gain-down" : "";
}

function renderFeed() {
  const w = state.names.length;
  // The id column when the model has one, else the Kaggle file's Time; the model's amount column.
  const amountIdx = state.names.indexOf(state.amountName);
  const timeIdx = state.names.indexOf("Time");
  const key = (r) => (state.data.ids ? state.data.ids[r] : timeIdx >= 0 ? state.data.rows[r * w + timeIdx] : "");
  const rows = [];
  for (let r = state.played - 1; r >= Math.max(0, state.played - FEED_ROWS); r--) {
    const p = state.probs[r];
    const flagged = state.decisions[r] === 1;
    const label = state.data.labels ? (state.data.labels[r] ? "fraud" : "legit") : "?";
    const cells = [
      r,
      key(r),
      amountIdx >= 0 ? state.data.rows[r * w + amountIdx].toFixed(2) : "",
      p.toPrecision(6),
      flagged ? "FRAUD" : "ok",
      label,
      flagged ? explanation(r) : "",
    ].map(escapeHtml);
    rows.push(
      `<tr class="${flagged ? "flagged" : ""}" data-row="${r}" data-bits="${bitsOf(p)}" data-decision="${flagged ? 1 : 0}">` +
        `<td>${cells[0]}</td><td>${cells[1]}</td><td>${cells[2]}</td><td class="p">${cells[3]}</td>` +
        `<td class="decision">${cells[4]}</td><td>${cells[5]}</td><td class="why">${cells[6]}</td></tr>`,
    );
  }
  $("feed").innerHTML = rows.join("");
}

function renderChart() {
  const canvas = $("chart");
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const [lo, hi] = LOGIT_RANGE;
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

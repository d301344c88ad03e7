// The DOM: draws what the controller gives it (a frame of counters, money, feed and chart; the model's
// card; panels) and hands user actions to the handlers it is given. No model or replay state, no wasm.
import { bitsOf } from "./lib/bits.js";

// The chart's logit axis: probabilities from ~2e-9 to 1 - 2e-9.
const LOGIT_RANGE = [-20, 20];
const OUTCOMES = ["tp", "fp", "fn", "tn"];
const CONTROLS = ["play", "pause", "step", "reset", "score-all"];

const $ = (id) => document.getElementById(id);

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text made safe for innerHTML (feature names and values come from files the user chose). */
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** An amount of money as people read it ("−1,234 €"); any currency name, ISO code or not. */
function formatMoney(x, currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: 0 }).format(x);
  } catch {
    return `${Math.round(x).toLocaleString("en")} ${currency}`;
  }
}

/** How the feed shows a missing value (a JSON null, an empty CSV cell). */
export const MISSING = "—";
/** A transaction's own value as the feed shows it: text as written, a number, "—" when missing. */
export function shownValue(v) {
  return v === null || v === undefined || (typeof v === "number" && Number.isNaN(v)) ? MISSING : String(v);
}
/** Contributions as the feed shows them: "V14 +2.31, Amount -0.40", with the row's values when given ("country=FR +1.20"). */
export function shownContributions(contributions) {
  return contributions
    .map(({ feature, value, contribution: c }) => `${feature}${value === undefined ? "" : `=${shownValue(value)}`} ${c >= 0 ? "+" : ""}${c.toFixed(2)}`)
    .join(", ");
}
const KIND_NAMES = { text: "text", numbers: "category codes" };
/** How the feed says each action (0 accept, 1 review, 2 refuse). */
const ACTION_WORDS = ["ok", "REVIEW", "FRAUD"];

const logit = (p) => Math.log(p / (1 - p));
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(4) : "–");
const words = (policy) => policy.replaceAll("_", " ");

const POLICY_NAMES = {
  f1_threshold: "F1-optimal threshold",
  net_benefit_threshold: "net-benefit-optimal threshold",
  cost_optimal: "cost-optimal per transaction (threshold moves with the amount)",
  manual_threshold: "your threshold",
};

export class View {
  /**
   * Shows the model's columns: what a user's file needs (each categorical feature's kind, and whether a cell
   * may be empty), and the feed's key, amount, pacing and categorical columns.
   */
  showSchema({ features, label, id, amount, pacing, kinds, acceptsMissing }) {
    const named = features.map((f, j) => (KIND_NAMES[kinds[j]] ? `${f} (${KIND_NAMES[kinds[j]]})` : f));
    $("schema-columns").textContent =
      `${named.join(", ")}; label ${label}${id ? `; id ${id}` : ""} (any order, other columns ignored` +
      `${acceptsMissing ? "; an empty cell is a missing value" : ""})`;
    const categorical = features.filter((_, j) => kinds[j] !== "numeric");
    $("feed-inputs").hidden = categorical.length === 0;
    $("feed-inputs").textContent = categorical.join(" · ");
    $("feed-key").textContent = id ?? pacing ?? "—";
    $("feed-amount").textContent = amount ?? "—";
    // Without a pacing column the replay's clock is one second per transaction.
    if (pacing) $("pacing-name").textContent = pacing;
    else $("pacing-label").textContent = "One second per transaction ×";
  }

  /** The footer: the model's name, description, id and held-out figures (`served`: its policy's money on test). */
  showModel({ name, description, id, test, calibration, policy, served, currency }) {
    $("model-name").textContent = `${name} (${description})`;
    $("model-id").textContent = id;
    $("model-metrics").textContent =
      `On its held-out test split: precision ${test.precision.toFixed(3)}, recall ${test.recall.toFixed(3)}, ` +
      `F1 ${test.f1.toFixed(3)} at its F1 threshold, average precision ${test.average_precision.toFixed(3)}` +
      (calibration ? `; ${calibration.expected_frauds.toFixed(1)} frauds expected by its probabilities, ${calibration.observed_frauds} observed` : "") +
      (served ? `; ${words(policy)} made ${formatMoney(served.net_benefit, currency)} (accepting everything: ${formatMoney(served.accept_all, currency)}).` : ".");
  }

  /** Fills the cost inputs (`{ currency, refused_fraud: { fixed, per_amount }, ... }`). */
  showCosts(costs) {
    for (const input of document.querySelectorAll("[data-cost]")) {
      const [outcome, part] = input.dataset.cost.split(".");
      input.value = String(costs[outcome][part]);
    }
    $("c-currency").value = costs.currency;
  }

  /** The cost inputs as `showCosts` takes them (an empty field is NaN, for core to refuse). */
  costs() {
    const costs = { currency: $("c-currency").value.trim() };
    for (const input of document.querySelectorAll("[data-cost]")) {
      const [outcome, part] = input.dataset.cost.split(".");
      costs[outcome] ??= {};
      costs[outcome][part] = input.value === "" ? NaN : Number(input.value);
    }
    return costs;
  }

  costsStatus(text) {
    $("costs-status").textContent = text;
  }

  /** The pacing controls: `{ mode: "delay" | "gaps", delayMs, speed }`. */
  pace() {
    const mode = document.querySelector("input[name=pace]:checked").value;
    return { mode, delayMs: Number($("delay").value) || 0, speed: Number($("speed").value) || 1 };
  }

  /** The deciding model's threshold and policy. */
  showDecider({ threshold: t, policy }) {
    const out = $("threshold-value");
    out.textContent = t > 0.999 ? `1 − ${(1 - t).toExponential(2)}` : t < 0.001 ? t.toExponential(2) : t.toFixed(4);
    out.dataset.threshold = String(t);
    const p = $("policy");
    p.textContent = POLICY_NAMES[policy] ?? policy;
    p.dataset.policy = policy;
  }

  /** Puts the slider (a log-odds scale) at threshold `t`. */
  setSlider(t) {
    $("threshold").value = String(logit(t));
  }

  /** The net benefit of the deciding model over all `n` loaded rows (`money` null: no labels). */
  showNetOfFile(n, money) {
    const out = $("net-at-threshold");
    out.textContent = money
      ? `On all ${n.toLocaleString()} loaded transactions: net ${formatMoney(money.net_benefit, money.currency)}, ` +
        `${formatMoney(money.net_benefit - money.accept_all, money.currency)} against accepting everything.`
      : "";
    out.dataset.net = money ? String(money.net_benefit) : "";
  }

  /** "Score everything": `{ n, ms, scoringMs, counts, labelled, policy, money }`. */
  showEverything({ n, ms, scoringMs, counts, labelled, policy, money }) {
    const summary = $("everything-summary");
    summary.textContent =
      `${n.toLocaleString()} transactions scored in ${ms.toFixed(2)} ms ` +
      `(${scoringMs.toFixed(2)} ms in the scorer, ${((scoringMs * 1e6) / n).toFixed(1)} ns per transaction); ` +
      `${counts.flagged.toLocaleString()} refused (${words(policy)})` +
      (money ? `; net ${formatMoney(money.net_benefit, money.currency)} vs ${formatMoney(money.accept_all, money.currency)} accepting everything.` : ".");
    summary.dataset.ms = String(ms);
    summary.dataset.n = String(n);
    summary.dataset.flagged = String(counts.flagged);
    for (const k of OUTCOMES) document.querySelector(`[data-testid=all-${k}]`).textContent = labelled ? counts[k] : "–";
    $("everything").hidden = false;
  }

  /** A new replay set: the batch panel of the previous one goes, the controls come on. */
  startOver() {
    $("everything").hidden = true;
    for (const id of CONTROLS) $(id).disabled = false;
  }

  status(text, isError = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", isError);
  }

  /** The file line: progress (`ok` undefined), loaded (true) or refused (false). */
  fileStatus(text, ok) {
    const status = $("file-status");
    status.textContent = text;
    if (ok !== undefined) status.dataset.ok = ok ? "1" : "0";
  }

  /** The rules editor's text. */
  rules() {
    return { text: $("rules-text").value };
  }

  setRulesText(text) {
    if ($("rules-text").value === "") $("rules-text").value = text;
  }

  /**
   * The rules line: news, or core's error (`error.line`, `error.column`) shown with the line it names and a
   * caret under the column.
   */
  rulesStatus({ text, ok, error, source }) {
    const out = $("rules-status");
    let shown = text;
    if (error?.line > 0 && source !== undefined) {
      const line = source.split("\n")[error.line - 1] ?? "";
      shown += `\n${line}` + (error.column > 0 ? `\n${" ".repeat(error.column - 1)}^` : "");
    }
    out.textContent = shown;
    out.dataset.line = error ? String(error.line ?? 0) : "";
    out.dataset.column = error ? String(error.column ?? 0) : "";
    out.dataset.code = error?.code ?? "";
    out.classList.toggle("error", Boolean(error));
    out.dataset.ok = ok ? "1" : "";
  }

  /** A backtest's table: per rule, the model where none matched, and the totals. */
  showBacktest(bt) {
    const money = (x) => formatMoney(x, bt.currency);
    const row = (name, action, t, cls = "") =>
      `<tr class="${cls}" data-rule="${escapeHtml(name)}"><td>${escapeHtml(name)}</td><td>${escapeHtml(action)}</td>` +
      `<td>${t.decided}</td><td>${t.frauds}</td><td>${t.legitimate}</td><td>${money(t.fraud_amount_stopped)}</td>` +
      `<td>${money(t.legitimate_amount_refused)}</td><td>${t.reviews}</td><td>${money(t.net_benefit)}</td></tr>`;
    const rows = bt.rules.map((r) => row(r.id, r.shadow ? `shadow ${r.action}` : r.action, r, r.shadow ? "shadow" : ""));
    rows.push(row("(model)", "accept / refuse", bt.model, "model"));
    $("backtest-rows").innerHTML = rows.join("");
    const t = bt.total;
    const summary = $("backtest-summary");
    summary.textContent =
      `${bt.n.toLocaleString()} transactions in ${bt.ms.toFixed(1)} ms (scoring included): accept ${bt.actions.accept}, ` +
      `review ${bt.actions.review}, refuse ${bt.actions.refuse}; net ${money(t.net_benefit)} with ${t.reviews} reviews ` +
      `costing ${money(t.review_cost)} (accepting everything: ${money(t.accept_all)}).`;
    summary.dataset.ms = String(bt.ms);
    summary.dataset.actions = JSON.stringify(bt.actions);
    summary.dataset.net = String(t.net_benefit);
    $("backtest").hidden = false;
  }

  /** Tells the page's test everything is in place. */
  ready() {
    document.body.dataset.ready = "1";
  }

  /**
   * Hands user actions to `on`: play, pause, step, reset, scoreAll, resetPolicy, costs (any cost edited),
   * threshold(t) (the slider, as a probability) and file(File) (chosen or dropped).
   */
  bind(on) {
    $("play").addEventListener("click", () => on.play());
    $("pause").addEventListener("click", () => on.pause());
    $("step").addEventListener("click", () => on.step());
    $("reset").addEventListener("click", () => on.reset());
    $("score-all").addEventListener("click", () => on.scoreAll());
    $("threshold-reset").addEventListener("click", () => on.resetPolicy());
    for (const input of document.querySelectorAll(".cost-grid input")) input.addEventListener("change", () => on.costs());
    const slider = $("threshold");
    slider.addEventListener("input", () => on.threshold(1 / (1 + Math.exp(-Number(slider.value)))));
    $("file").addEventListener("change", (e) => e.target.files[0] && on.file(e.target.files[0]));
    $("rules-apply").addEventListener("click", () => on.rulesApply());
    $("rules-off").addEventListener("click", () => on.rulesOff());
    $("rules-backtest").addEventListener("click", () => on.rulesBacktest());
    $("rules-lists").addEventListener("change", (e) => on.rulesLists([...e.target.files]));
    $("review-cost").addEventListener("change", (e) => {
      const cost = Number(e.target.value);
      if (Number.isFinite(cost) && cost >= 0) on.reviewCost(cost);
    });
    const drop = $("drop");
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("dragging");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("dragging");
      if (e.dataTransfer.files[0]) on.file(e.dataTransfer.files[0]);
    });
  }

  /**
   * Draws a frame: `{ scored, flagged, counts (null: no labels), rates, rate, money (null: no labels),
   * feed: [{ row, key, amount (undefined: no amount column; null: missing), inputs (the categorical features'
   * own values, or null), probability, refused, fraud, why: [{ feature, contribution, value? }] }], chart:
   * { threshold, probabilities, decisions, labels, capacity } }`.
   */
  draw(frame) {
    const { counts, rates } = frame;
    $("scored").textContent = frame.scored.toLocaleString();
    $("flagged").textContent = frame.flagged.toLocaleString();
    for (const k of OUTCOMES) $(k).textContent = counts ? counts[k] : "–";
    $("precision").textContent = counts ? fmt(rates.precision) : "–";
    $("recall").textContent = counts ? fmt(rates.recall) : "–";
    $("f1").textContent = counts ? fmt(rates.f1) : "–";
    $("rate").textContent = Math.round(frame.rate).toLocaleString();
    drawMoney(frame.money);
    drawFeed(frame.feed);
    drawChart(frame.chart);
  }
}

/** Money of the replayed decisions (null: no labels). */
function drawMoney(m) {
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

/** The newest rows first; flagged ones with their explanation (`why`). Values from the file are escaped. */
function drawFeed(feed) {
  const rows = feed.map(({ row, key, amount, inputs, probability: p, refused, action, rule, fraud, why }) => {
    const money = amount === undefined ? "" : amount === null || Number.isNaN(amount) ? MISSING : Number(amount).toFixed(2);
    const said = rule ? `${ACTION_WORDS[action]} (${rule})` : ACTION_WORDS[action];
    const cells = [row, shownValue(key), money, p.toPrecision(6), said, fraud === null ? "?" : fraud ? "fraud" : "legit", shownContributions(why)].map(escapeHtml);
    const own = inputs ? `<td class="inputs">${inputs.map((v) => (v === null ? `<i title="missing">${MISSING}</i>` : escapeHtml(v))).join(" · ")}</td>` : "";
    const actionName = ["accept", "review", "refuse"][action];
    return (
      `<tr class="${refused ? "flagged" : ""} ${actionName}" data-row="${row}" data-bits="${bitsOf(p)}" data-decision="${refused ? 1 : 0}" ` +
      `data-action="${actionName}" data-rule="${escapeHtml(rule ?? "")}">` +
      `<td>${cells[0]}</td><td>${cells[1]}</td><td>${cells[2]}</td>${own}<td class="p">${cells[3]}</td>` +
      `<td class="decision">${cells[4]}</td><td>${cells[5]}</td><td class="why">${cells[6]}</td></tr>`
    );
  });
  $("feed").innerHTML = rows.join("");
}

/** The last `capacity` probabilities on a log-odds axis, and the threshold as a dashed line. */
function drawChart({ threshold, probabilities, decisions, labels, capacity }) {
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
  const ty = y(threshold);
  ctx.moveTo(0, ty);
  ctx.lineTo(W, ty);
  ctx.stroke();
  ctx.setLineDash([]);
  const step = W / capacity;
  for (let i = 0; i < probabilities.length; i++) {
    ctx.fillStyle = decisions[i] ? "#c0392b" : labels?.[i] ? "#e67e22" : "#2e86c1";
    ctx.fillRect(i * step, y(probabilities[i]) - 2, 3, 4);
  }
}

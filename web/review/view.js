// The review queue's view: the DOM only. It draws what it is given and hands events to handlers;
// every value from the log (ids, feature values, rule names, notes) is escaped.

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const money = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const age = (seconds) =>
  seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;

export class ReviewView {
  #el;

  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.#el = {
      token: $("token"), load: $("load"), status: $("status"), open: $("open"), queue: $("queue"),
      case: $("case"), caseId: $("case-id"), facts: $("case-facts"), reasons: $("case-reasons"), values: $("case-values"),
      note: $("note"), list: $("list"), listValue: $("list-value"), fraud: $("mark-fraud"), legit: $("mark-legitimate"),
    };
  }

  onLoad(handler) {
    this.#el.load.addEventListener("click", () => handler(this.#el.token.value));
    this.#el.token.addEventListener("keydown", (e) => e.key === "Enter" && handler(this.#el.token.value));
  }

  onSelect(handler) {
    this.#el.queue.addEventListener("click", (e) => {
      const row = e.target.closest("tr[data-id]");
      if (row) handler(row.dataset.id);
    });
  }

  onClose(handler) {
    const send = (outcome) => {
      const list = this.#el.list.value.trim();
      const value = this.#el.listValue.value.trim();
      handler(outcome, this.#el.note.value, list && value ? { list, value } : null);
    };
    this.#el.fraud.addEventListener("click", () => send("fraud"));
    this.#el.legit.addEventListener("click", () => send("legitimate"));
  }

  status(text, isError = false) {
    this.#el.status.textContent = text;
    this.#el.status.classList.toggle("error", isError);
  }

  /** The open cases, largest expected loss first. */
  queue({ open, cases }, selected) {
    this.#el.open.textContent = String(open);
    this.#el.queue.innerHTML = cases
      .map((c) => {
        const d = c.decision;
        const cls = c.id === selected ? ' class="selected"' : "";
        return (
          `<tr data-id="${escapeHtml(c.id)}"${cls}><td>${escapeHtml(c.id)}</td><td class="num">${money(c.expected_loss)}</td>` +
          `<td class="num">${d.probability.toPrecision(4)}</td><td>${escapeHtml(d.rule ?? "model")}</td>` +
          `<td>${escapeHtml(d.model_id)}</td><td>${escapeHtml(d.ruleset ?? "–")}</td><td class="num">${age(c.age_seconds)}</td></tr>`
        );
      })
      .join("");
  }

  /** One case: its facts, reasons and the values the model saw. */
  showCase(view) {
    const d = view.decision;
    this.#el.case.hidden = false;
    this.#el.caseId.textContent = d.id;
    this.#el.facts.innerHTML = [
      ["probability", d.probability.toPrecision(6)],
      ["action", d.action],
      ["rule", d.rule ?? "model"],
      ["shadow rules", d.shadow_rules.join(", ") || "–"],
      ["expected loss", money(d.expected_loss)],
      ["model", d.model_id],
      ["ruleset", d.ruleset ?? "–"],
      ["labels", view.labels.map((l) => `${l.label} (${l.source})`).join(", ") || "none"],
    ]
      .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
      .join("");
    this.#el.reasons.innerHTML = (d.reasons ?? [])
      .map((r) => `<li><b>${escapeHtml(r.feature)}</b> ${r.contribution >= 0 ? "+" : ""}${r.contribution.toFixed(3)}</li>`)
      .join("");
    this.#el.values.innerHTML = Object.entries(d.features ?? {})
      .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${v === null ? "<i>missing</i>" : escapeHtml(v)}</td></tr>`)
      .join("");
    this.#el.note.value = "";
    this.#el.listValue.value = "";
  }

  hideCase() {
    this.#el.case.hidden = true;
  }

  busy(on) {
    for (const b of [this.#el.load, this.#el.fraud, this.#el.legit]) b.disabled = on;
  }
}

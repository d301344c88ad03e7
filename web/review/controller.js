// The review queue's controller: the analyst's token, the open queue, one case, the two buttons.

import { ReviewApi } from "./api.js";
import { ReviewView } from "./view.js";

export class ReviewController {
  #api;
  #view;
  #selected = null;

  constructor(api, view) {
    this.#api = api;
    this.#view = view;
    view.onLoad((token) => this.#load(token));
    view.onSelect((id) => this.#select(id));
    view.onClose((outcome, note, addToList) => this.#close(outcome, note, addToList));
  }

  async #guard(work) {
    this.#view.busy(true);
    try {
      await work();
    } catch (e) {
      this.#view.status(`${e.code ? `${e.code}: ` : ""}${e.message}`, true);
    } finally {
      this.#view.busy(false);
    }
  }

  async #refresh() {
    const queue = await this.#api.queue(100);
    this.#view.queue(queue, this.#selected);
    return queue;
  }

  #load(token) {
    this.#api.setToken(token);
    return this.#guard(async () => {
      const queue = await this.#refresh();
      this.#view.status(`${queue.open} open case${queue.open === 1 ? "" : "s"}; the largest expected loss first.`);
      document.body.dataset.loaded = "1";
    });
  }

  #select(id) {
    return this.#guard(async () => {
      this.#selected = id;
      this.#view.showCase(await this.#api.decision(id));
      await this.#refresh();
    });
  }

  #close(outcome, note, addToList) {
    const id = this.#selected;
    if (!id) return;
    return this.#guard(async () => {
      const closed = await this.#api.close(id, outcome, note, addToList);
      this.#selected = null;
      this.#view.hideCase();
      await this.#refresh();
      const added = closed.added_to_list ? `; ${closed.added_to_list.value} added to @${closed.added_to_list.list}` : "";
      this.#view.status(`${closed.id} closed as ${closed.outcome} by ${closed.closed_by}${added}.`);
    });
  }
}

export function start(doc = document) {
  return new ReviewController(new ReviewApi(new URL("../", doc.location.href).href), new ReviewView(doc));
}

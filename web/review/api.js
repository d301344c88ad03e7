// The review queue's model: the decision log's admin routes, called with the analyst's token.
// Errors keep the contract's code and message (401 for a wrong token, 409 for a case already closed).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class ReviewApi {
  #base;
  #token = "";

  /** @param {string} base the server's URL, e.g. `http://127.0.0.1:8000/` */
  constructor(base) {
    this.#base = base;
  }

  /** The token is kept in memory only (never stored, never in a URL). */
  setToken(token) {
    this.#token = token.trim();
  }

  get hasToken() {
    return this.#token.length > 0;
  }

  async #call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(new URL(path, this.#base), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const error = json?.error;
      throw new ApiError(response.status, error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`);
    }
    return json;
  }

  /** Open cases, largest expected loss first: `{ open, cases }`. */
  queue(limit = 50) {
    return this.#call("GET", `reviews?status=open&limit=${limit}`);
  }

  /** A logged decision with its labels and case. */
  decision(id) {
    return this.#call("GET", `decisions/${encodeURIComponent(id)}`);
  }

  /** Closes a case; `addToList` is `{ list, value }` or null. */
  close(id, outcome, note, addToList) {
    const body = { outcome, note: note || null };
    if (addToList) body.add_to_list = addToList;
    return this.#call("POST", `reviews/${encodeURIComponent(id)}`, body);
  }
}

// Confusion counts and the figures derived from them, for the page's counters and the tests that check
// them. One module, so the page and its test cannot count differently.

/**
 * Counts over the first `n` rows: `decisions[r]` is 1 when row r is flagged, `labels[r]` 1 when it is a
 * fraud (`labels` null: only `flagged` is counted).
 */
export function confusion(decisions, labels, n = decisions.length) {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0, flagged: 0 };
  for (let r = 0; r < n; r++) {
    const d = decisions[r] ? 1 : 0;
    c.flagged += d;
    if (!labels) continue;
    if (labels[r]) d ? c.tp++ : c.fn++;
    else d ? c.fp++ : c.tn++;
  }
  return c;
}

/** Precision, recall and F1 of confusion counts (NaN where undefined, e.g. nothing flagged). */
export function rates({ tp, fp, fn }) {
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  return { precision, recall, f1: (2 * precision * recall) / (precision + recall) };
}

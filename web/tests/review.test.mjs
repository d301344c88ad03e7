// The review queue page in a real headless Chromium against fraud-server with a SQLite decision log.
// Usage: node web/tests/review.test.mjs <server-url> <admin-token> <open-cases>
// Checks: a wrong token is refused with the contract's 401 message; the right one loads every open case,
// largest expected loss first; a case shows its reasons and the values the model saw; "Fraud" closes it
// (the log then holds an analyst label and the case closed, read back through the API); no console errors.
import { chromium } from "playwright-core";

const [url, token, openArg] = process.argv.slice(2);
if (!openArg) {
  console.error("usage: node web/tests/review.test.mjs <server-url> <admin-token> <open-cases>");
  process.exit(2);
}
const expectedOpen = Number(openArg);
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1200, height: 1000 } })).newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && !m.text().includes("401") && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(new URL("review/", url).href, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });

  // A wrong token: the contract's 401, shown; nothing listed.
  await page.fill("[data-testid=token]", "not-the-token");
  await page.click("[data-testid=load]");
  await page.waitForFunction(() => document.querySelector("[data-testid=status]").classList.contains("error"), null, { timeout: 10_000 });
  const refused = await page.textContent("[data-testid=status]");
  check(refused.startsWith("unauthorized:"), `a wrong token is refused: ${JSON.stringify(refused)}`);
  check((await page.$$("[data-testid=queue] tr")).length === 0, "nothing listed without a valid token");

  // The right token: every open case, largest expected loss first.
  await page.fill("[data-testid=token]", token);
  await page.click("[data-testid=load]");
  await page.waitForSelector("body[data-loaded='1']", { timeout: 10_000 });
  const open = Number(await page.textContent("[data-testid=open]"));
  check(open === expectedOpen, `open cases: ${open} (${expectedOpen} sent to review)`);
  const rows = await page.$$eval("[data-testid=queue] tr", (trs) => trs.map((tr) => [tr.dataset.id, Number(tr.cells[1].textContent)]));
  check(rows.length === Math.min(open, 100), `${rows.length} cases listed`);
  check(rows.every((r, i) => i === 0 || rows[i - 1][1] >= r[1]), "by expected loss, largest first");

  // One case: its facts, reasons and values.
  const [id] = rows[0];
  await page.click(`[data-testid=queue] tr[data-id="${id}"]`);
  await page.waitForFunction((want) => document.querySelector("[data-testid=case-id]").textContent === want, id, { timeout: 10_000 });
  const reasons = await page.$$("[data-testid=case-reasons] li");
  const values = await page.$$("[data-testid=case-values] tr");
  const card = await (await fetch(new URL("model", url))).json();
  check(reasons.length > 0, `the case shows ${reasons.length} reasons`);
  check(values.length === card.schema.features.length, `the case shows the ${values.length} values the model saw`);

  // "Fraud" closes it: gone from the queue, closed in the log with an analyst label.
  await page.fill("[data-testid=note]", "confirmed with the card holder");
  await page.click("[data-testid=mark-fraud]");
  await page.waitForFunction(() => /closed as fraud/.test(document.querySelector("[data-testid=status]").textContent), null, { timeout: 10_000 });
  check(Number(await page.textContent("[data-testid=open]")) === open - 1, "one case fewer open");
  const logged = await (await fetch(new URL(`decisions/${encodeURIComponent(id)}`, url), { headers: { Authorization: `Bearer ${token}` } })).json();
  check(logged.review?.status === "closed" && logged.review?.outcome === "fraud", `the log holds the case closed: ${JSON.stringify(logged.review)}`);
  check(logged.labels.some((l) => l.source === "analyst" && l.label === "fraud"), "and the analyst's label");
  check(errors.length === 0, `no console errors${errors.length ? `: ${errors.join(" | ")}` : ""}`);
} finally {
  await browser.close();
}
if (failures > 0) {
  console.error(`${failures} check(s) failed`);
  process.exit(1);
}

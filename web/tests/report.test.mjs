// The training report in a real headless Chromium at 1280 px: every chart's text stays inside its chart and
// no two texts overlap; the money table and the calibration figures are there; nothing overflows the page.
// Saves a full-page screenshot.
// Usage: node web/tests/report.test.mjs <report.html> <screenshot.png>
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [reportPath, shotPath] = process.argv.slice(2);
if (!shotPath) {
  console.error("usage: node web/tests/report.test.mjs <report.html> <screenshot.png>");
  process.exit(2);
}

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(pathToFileURL(path.resolve(reportPath)).href, { waitUntil: "load" });

  // Geometry of every chart's text, measured by the browser that draws it.
  const charts = await page.$$eval("svg", (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      const texts = [...svg.querySelectorAll("text")].map((t) => {
        const r = t.getBoundingClientRect();
        return { text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
      });
      return { title: svg.getAttribute("aria-label") ?? "(untitled)", box: { left: box.left, right: box.right, top: box.top, bottom: box.bottom }, texts };
    }),
  );
  check(charts.length >= 6, `${charts.length} charts drawn (precision–recall, F1, net benefit, score distribution, reliability, importance)`);
  const SLACK = 0.5;
  for (const c of charts) {
    const outside = c.texts.filter(
      (t) => t.left < c.box.left - SLACK || t.right > c.box.right + SLACK || t.top < c.box.top - SLACK || t.bottom > c.box.bottom + SLACK,
    );
    const overlaps = [];
    for (let i = 0; i < c.texts.length; i++) {
      for (let j = i + 1; j < c.texts.length; j++) {
        const a = c.texts[i];
        const b = c.texts[j];
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) overlaps.push(`"${a.text}" × "${b.text}"`);
      }
    }
    check(outside.length === 0, `${c.title}: ${c.texts.length} texts inside the chart${outside.length ? `; outside: ${outside.map((t) => `"${t.text}"`).join(", ")}` : ""}`);
    check(overlaps.length === 0, `${c.title}: no overlapping texts${overlaps.length ? `: ${overlaps.slice(0, 5).join(", ")}` : ""}`);
  }

  const body = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, text: document.body.innerText }));
  check(body.scroll <= 1280, `the page fits 1280 px (scroll width ${body.scroll})`);
  for (const needle of ["Decisions in money", "net-benefit threshold", "cost-optimal", "accept everything", "refuse everything", "expected frauds", "Brier"]) {
    check(body.text.includes(needle), `the report says "${needle}"`);
  }
  await page.screenshot({ path: shotPath, fullPage: true });
  check(errors.length === 0, `no page errors${errors.length ? ": " + errors.join(" | ") : ""}`);
} finally {
  await browser.close();
}
console.log(failures === 0 ? "report test OK" : `report test FAILED: ${failures} checks`);
process.exit(failures === 0 ? 0 : 1);

// Usage: node sink_page.mjs <sink page URL> <screenshot path> <generation id to open>
// Loads the page in Debian's chromium, checks the list and the detail view, writes a screenshot, and
// prints one JSON line with what it saw (the pytest wrapper asserts on it).
import { chromium } from "playwright-core";

const [url, screenshot, openId] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],  // playwright gives every launch a fresh, empty profile directory of its own
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("#rows tr");
  const rows = await page.$$eval("#rows tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  const summary = await page.textContent("#summary");
  await page.click(`#rows tr[data-id="${openId}"]`);
  await page.waitForSelector("#detail h2");
  const detail = await page.textContent("#detail");
  const selected = await page.$$eval("#rows tr.selected", (trs) => trs.map((tr) => tr.dataset.id));
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ rows, summary, detail, selected, errors }));
} finally {
  await browser.close();
}

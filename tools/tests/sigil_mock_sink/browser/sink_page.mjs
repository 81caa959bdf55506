// Usage: node sink_page.mjs <sink page URL> <screenshot path> <generation id to open> <tenant> <id with markup>
// Loads the mock sink's page in Debian's chromium (never a downloaded browser), checks the list, that
// it refreshes by itself when a generation arrives, the detail view with the generation's trace, and that
// recorded markup stays text;
// writes a screenshot; prints
// one JSON line with what it saw (the pytest wrapper asserts on it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, screenshot, openId, tenant, markupId] = process.argv.slice(2);
const rowsOf = (page) =>
  page.$$eval("#rows tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));

const profile = mkdtempSync(join(tmpdir(), "sink-page-chromium-"));  // a fresh, empty profile
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const dialogs = [];
  page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(url);
  await page.waitForSelector("#rows tr");
  const rows = await rowsOf(page);
  const summary = await page.textContent("#summary");

  // a generation arrives while the page is open: it must show up without a reload
  const arrived = await fetch(new URL("api/v1/generations:export", url), {
    method: "POST",
    headers: { "X-Scope-OrgID": tenant, "Content-Type": "application/json" },
    body: JSON.stringify({ generations: [{
      id: "late", agent_name: "late-bot", conversation_id: "conv-late", model: { provider: "openai", name: "gpt-4o" },
      usage: { input_tokens: 12, output_tokens: 30 },
    }] }),
  });
  await page.waitForFunction((n) => document.querySelectorAll("#rows tr").length > n, rows.length, { timeout: 10000 });
  const refreshedRows = await rowsOf(page);

  await page.click(`#rows tr[data-id="${openId}"]`);
  await page.waitForSelector("#detail h2");
  await page.waitForFunction((id) => document.querySelector("#detail h2").textContent.includes(id), openId);
  await page.waitForSelector("#trace");  // the generation's trace, from the OTLP receiver
  const detail = await page.textContent("#detail");
  const traceRows = await page.$$eval("#trace tbody tr", (trs) =>
    trs.map((tr) => [tr.classList.contains("own"), Number(tr.dataset.depth), ...[...tr.cells].map((td) => td.textContent.trim())]));
  const selected = await page.$$eval("#rows tr.selected", (trs) => trs.map((tr) => tr.dataset.id));
  await page.screenshot({ path: screenshot, fullPage: true });

  await page.click(`#rows tr[data-id="${markupId}"]`);
  await page.waitForFunction((id) => document.querySelector("#detail h2").textContent.includes(id), markupId);
  const markupDetail = await page.textContent("#detail");
  const injected = await page.$$eval("#detail script", (nodes) => nodes.length);
  console.log(JSON.stringify({
    rows, summary, arrivedStatus: arrived.status, refreshedRows, detail, traceRows, selected, markupDetail, injected,
    dialogs, errors,
  }));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

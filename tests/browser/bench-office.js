// Head office's dashboard at scale (`cargo xtask bench office`): headless Chromium against a release server holding
// the data `fieldsync-server seed-scale` made; each tab, the dealer page and the manager page opened five times by
// clicking as a user does, timed from the click until the view shows its data. Writes a Markdown table to
// FIELDSYNC_BENCH_OUT and fails when a tab's median is a second or more.
import { writeFileSync } from 'node:fs';
import { BASE, launch, context, login } from './harness.js';

const TOKEN = process.env.FIELDSYNC_TOKEN_HO;
const ROUNDS = 5;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const browser = await launch();
const ctx = await context(browser, { viewport: { width: 1280, height: 900 } });
const page = await login(ctx, TOKEN);
await page.goto(`${BASE}/#/office/territories`);
await page.locator('.office-body[data-ready=territories]').waitFor({ timeout: 60_000 });
const tabs = await page.locator('nav.tabs a').evaluateAll((xs) => xs.map((x) => x.dataset.tab));
const dealer = (await (await fetch(`${BASE}/api/dealers?per_page=1`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()).items[0].id;

/** Opens `hash` (as a link does) and waits for `ready`; the time in ms. */
async function open(hash, ready) {
  const t0 = performance.now();
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.locator(ready).waitFor({ timeout: 30_000 });
  return performance.now() - t0;
}

const times = new Map();
for (let round = 0; round < ROUNDS; round += 1) {
  for (const tab of tabs) {
    // Start each from another view, so the click opens the tab afresh.
    const from = tab === 'territories' ? 'dealers' : 'territories';
    await open(`#/office/${from}`, `.office-body[data-ready=${from}]`);
    const t0 = performance.now();
    await page.click(`[data-tab=${tab}]`);
    await page.locator(`.office-body[data-ready=${tab}]`).waitFor({ timeout: 30_000 });
    const ms = performance.now() - t0;
    times.set(tab, [...(times.get(tab) ?? []), ms]);
  }
  times.set('dealer page', [...(times.get('dealer page') ?? []), await open(`#/office/dealer/${dealer}`, '.office-body[data-ready=dealer]')]);
  times.set('manager page', [...(times.get('manager page') ?? []), await open('#/office/manager/m01', '.office-body[data-ready=manager]')]);
}
await browser.close();

const rows = [...times].map(([view, xs]) => [view, median(xs), Math.max(...xs)]);
const table = ['| view | median ms | slowest ms | under 1 s |', '|---|---:|---:|:---:|',
  ...rows.map(([v, m, x]) => `| ${v} | ${Math.round(m)} | ${Math.round(x)} | ${m < 1000 ? 'yes' : 'no'} |`)].join('\n');
console.log(table);
if (process.env.FIELDSYNC_BENCH_OUT) writeFileSync(process.env.FIELDSYNC_BENCH_OUT, `${table}\n`);
if (rows.some(([, m]) => m >= 1000)) process.exitCode = 1;

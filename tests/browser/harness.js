// Shared helpers for the browser tests: Debian's chromium through playwright-core, the
// server under test (started by `cargo xtask test`), seeding through the real wasm, screenshots.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { initSync, Replica } from '../../web/dist/pkg/fieldsync_wasm.js';

export const BASE = process.env.FIELDSYNC_URL ?? 'http://127.0.0.1:8080';
export const SHOTS = process.env.FIELDSYNC_SCREENSHOTS ?? join(process.cwd(), '../screenshots');
export const TOKENS = {
  ho: process.env.FIELDSYNC_TOKEN_HO, lin: process.env.FIELDSYNC_TOKEN_LIN, chen: process.env.FIELDSYNC_TOKEN_CHEN,
  bench: process.env.FIELDSYNC_TOKEN_BENCH,
};

initSync({ module: readFileSync(new URL('../../web/dist/pkg/fieldsync_wasm_bg.wasm', import.meta.url)) });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

/** Debian's chromium; playwright gives every launch a fresh temporary profile. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
}

/** A browser with a real profile on disk (in a fresh temporary folder), as an installed app has. */
export async function persistent() {
  const dir = mkdtempSync(join(tmpdir(), 'fieldsync-profile-'));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS });
  ctx.setDefaultTimeout(20_000);
  return { ctx, done: async () => { await ctx.close(); rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }); } };
}

/** A fresh browser profile (its own IndexedDB and service worker), phone-sized unless told otherwise. */
export async function context(browser, { locale = 'zh-TW', viewport = { width: 412, height: 915 } } = {}) {
  const ctx = await browser.newContext({ locale, viewport, serviceWorkers: 'allow' });
  ctx.setDefaultTimeout(20_000);
  return ctx;
}

/** Opens the login link head office would send and waits for the app to be ready. */
export async function login(ctx, token) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${BASE}/#/login?token=${encodeURIComponent(token)}`);
  await page.waitForFunction(() => !location.hash.startsWith('#/login'));
  return page;
}

/** Waits until the page is controlled by the service worker, so it can reload offline. */
export async function swReady(page) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 })
    .catch(async () => { await page.reload(); await page.waitForFunction(() => navigator.serviceWorker?.controller != null); });
}

export async function shot(page, name) {
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the sync indicator shows nothing pending, no error, and a last sync time. */
export async function synced(page) {
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-test=sync]');
    return s && s.dataset.state === 'online' && s.dataset.pending === '0' && s.dataset.syncing === 'false' && !/—|尚未|never/.test(s.querySelector('[data-test=last-synced]')?.textContent ?? '—');
  }, null, { timeout: 30_000 });
}

const stamp = (user, at) => JSON.stringify({ user, device: 'seed', at });

/** Head office creates a territory and its dealers through the real sync endpoint (as the server's seed would). */
export async function seedTerritory({ territory, name, region, managers, dealers, at = Date.now() - 40 * 86_400_000, each }) {
  const r = new Replica();
  r.createTerritory(territory, JSON.stringify({ name, region, managers: Object.fromEntries(managers.map((m) => [m, true])) }), stamp('ho', at));
  const ids = [];
  for (const d of dealers) {
    ids.push(r.createDealer(territory, d.id, JSON.stringify({
      name: d.name, kind: d.kind ?? 'retailer', tier: d.tier ?? 2, status: d.status ?? 'active', address: d.address ?? '',
      downline: d.downline ?? {}, contacts: d.contacts ?? {}, brands: d.brands ?? {},
    }), stamp('ho', at)));
    each?.(r, `dealer:${ids.at(-1)}`, (user, when) => stamp(user, when ?? at));
  }
  const res = await fetch(`${BASE}/v1/sync`, {
    method: 'POST', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' }, body: r.syncRequest(),
  });
  const body = await res.json();
  if (!res.ok || body.rejected?.length) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(body.rejected ?? body).slice(0, 800)}`);
  r.free();
  return ids;
}

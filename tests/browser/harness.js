// Shared helpers for the browser tests: Debian's chromium through playwright-core, the
// server under test (started by `cargo xtask test`), seeding through the real wasm, screenshots.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { initSync, Replica } from '../../web/dist/pkg/fieldsync_wasm.js';

export const BASE = process.env.FIELDSYNC_URL ?? 'http://127.0.0.1:8080';
export const SHOTS = process.env.FIELDSYNC_SCREENSHOTS ?? join(process.cwd(), '../screenshots');
export const TOKENS = {
  ho: process.env.FIELDSYNC_TOKEN_HO, lin: process.env.FIELDSYNC_TOKEN_LIN, chen: process.env.FIELDSYNC_TOKEN_CHEN,
  bench: process.env.FIELDSYNC_TOKEN_BENCH, wu: process.env.FIELDSYNC_TOKEN_WU,
  zhao: process.env.FIELDSYNC_TOKEN_ZHAO, gao: process.env.FIELDSYNC_TOKEN_GAO, lee: process.env.FIELDSYNC_TOKEN_LEE,
  kuo: process.env.FIELDSYNC_TOKEN_KUO, hsu: process.env.FIELDSYNC_TOKEN_HSU, tsai: process.env.FIELDSYNC_TOKEN_TSAI,
  yang: process.env.FIELDSYNC_TOKEN_YANG,
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

/** A one-time login code for the device holding `token`, from the server. */
export async function loginCode(token) {
  const r = await fetch(`${BASE}/v1/login-codes`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 201) throw new Error(`POST /v1/login-codes: ${r.status} ${await r.text()}`);
  return (await r.json()).code;
}

/** The login PIN every test user has: chosen at their first login through a link, given at every later one. */
export const PIN = '246810';

/** Answers a login link's PIN question as its person: chooses `pin` at the user's first login, gives it after. */
export async function enterPin(page, pin = PIN) {
  const form = page.locator('form[data-test=pin], form[data-test=pin-new]');
  await form.waitFor();
  const fresh = (await form.getAttribute('data-test')) === 'pin-new';
  await form.locator('input[name=pin]').fill(pin);
  if (fresh) await form.locator('input[name=pin2]').fill(pin);
  await form.locator('button[type=submit]').click();
}

/** Opens a login link for the device holding `token` in `page`, and gives the user's PIN. */
export async function openLink(page, token) {
  await page.goto(`${BASE}/#/login?code=${encodeURIComponent(await loginCode(token))}`);
  await enterPin(page);
}

/** Opens a login link (with a one-time code, as head office would send), gives the PIN, and waits for the app to be ready. */
export async function login(ctx, token) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  let loads = 0;
  page.on('load', () => { loads += 1; });
  await openLink(page, token);
  // Logging in reloads the page (the app opens the user's own database): wait for that second load,
  // so a test's next navigation cannot race it.
  await eventually(() => loads >= 2, true);
  await page.waitForFunction(() => !location.hash.startsWith('#/login') && document.querySelector('.who'));
  return page;
}

/** Waits until the page is controlled by the service worker, so it can reload offline. */
export async function swReady(page) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 })
    .catch(async () => { await page.reload(); await page.waitForFunction(() => navigator.serviceWorker?.controller != null); });
}

/** Takes a context offline as a person would: once the app is installed (every page is controlled by the
 * service worker, which has cached every screen a manager needs), so a screen not opened yet still opens. */
export async function offline(ctx) {
  for (const page of ctx.pages()) await swReady(page);
  await ctx.setOffline(true);
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

const devices = new Map();
/** The server's id of the device a token belongs to: the server refuses a change stamped with any other. */
export async function deviceOf(token) {
  if (!devices.has(token)) {
    const res = await fetch(`${BASE}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`/v1/me answered ${res.status}`);
    devices.set(token, (await res.json()).device);
  }
  return devices.get(token);
}

const stamp = (user, at, device) => JSON.stringify({ user, device, at });

/** Head office creates a territory and its dealers through the real sync endpoint (as the server's seed would). */
export async function seedTerritory({ territory, name, region, managers, dealers, at = Date.now() - 40 * 86_400_000, each }) {
  const r = new Replica();
  const device = await deviceOf(TOKENS.ho);
  r.createTerritory(territory, JSON.stringify({ name, region, managers: Object.fromEntries(managers.map((m) => [m, true])) }), stamp('ho', at, device));
  const ids = [];
  for (const d of dealers) {
    ids.push(r.createDealer(territory, d.id, JSON.stringify({
      name: d.name, kind: d.kind ?? 'retailer', tier: d.tier ?? 2, status: d.status ?? 'active', address: d.address ?? '',
      downline: d.downline ?? {}, contacts: d.contacts ?? {}, brands: d.brands ?? {},
    }), stamp('ho', at, device)));
    each?.(r, `dealer:${ids.at(-1)}`, (user, when) => stamp(user, when ?? at, device));
  }
  const res = await fetch(`${BASE}/v1/sync`, {
    method: 'POST', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' }, body: r.syncRequest(),
  });
  const body = await res.json();
  if (!res.ok || body.rejected?.length) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(body.rejected ?? body).slice(0, 800)}`);
  r.free();
  // The document's manager list grants nothing: head office assigns the territory to each manager.
  for (const m of managers) await assignTerritory(m, territory);
  return ids;
}

/** Head office adds `territory` to the territories assigned to `user` (whose token is TOKENS[user]). */
export async function assignTerritory(user, territory) {
  const me = await (await fetch(`${BASE}/v1/me`, { headers: { Authorization: `Bearer ${TOKENS[user]}` } })).json();
  const mine = me.territories.map((t) => t.id);
  if (mine.includes(territory)) return;
  const res = await fetch(`${BASE}/api/users/${user}/territories`, {
    method: 'PUT', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ territories: [...mine, territory] }),
  });
  if (!res.ok) throw new Error(`assigning ${territory} to ${user} failed: ${res.status} ${await res.text()}`);
}

/**
 * Waits until `read()` gives `expected` (deep-equal), then returns it; fails after `ms` with the last value seen.
 * Every assertion on what the page shows goes through this: a re-render after a click is never synchronous.
 */
export async function eventually(read, expected, ms = 20_000) {
  let last;
  for (const end = Date.now() + ms; ;) {
    last = await read();
    if (isDeepStrictEqual(last, expected)) return last;
    if (Date.now() > end) {
      throw new Error(`gave up after ${ms} ms waiting for ${JSON.stringify(expected)}; the page shows ${JSON.stringify(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the locator's visible text is `text`. */
export const seeText = (locator, text, ms) => eventually(() => locator.innerText(), text, ms);

/** Waits until the locator matches exactly `n` elements. */
export const seeCount = (locator, n, ms) => eventually(() => locator.count(), n, ms);

/**
 * `user` (holding `token`) does field work as the server requires, under their own name: a fresh
 * replica reads what `user` may see, `work(r, by)` edits it (`by(at)` is `user`'s stamp at `at`),
 * and it is pushed with `user`'s token. (Head office cannot record a manager's visit.)
 */
export async function seedAs(token, user, work) {
  const device = await replicaOf(token, user);
  work(device.r, device.by);
  await device.sync();
  device.r.free();
}

/**
 * A replica of `user` on the device of `token`, synced: `{r, by, sync}`. Pull two, edit each, then sync
 * both to make concurrent edits (neither saw the other's).
 */
export async function replicaOf(token, user) {
  const r = new Replica();
  const round = async () => {
    const res = await fetch(`${BASE}/v1/sync`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: r.syncRequest(),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`seeding as ${user} failed: ${res.status} ${text.slice(0, 800)}`);
    const report = JSON.parse(r.applyResponse(text));
    if (report.rejected?.length) throw new Error(`seeding as ${user} refused: ${JSON.stringify(report.rejected).slice(0, 800)}`);
    return report.more;
  };
  const sync = async () => { while (await round()); };
  await sync();
  const device = await deviceOf(token);
  return { r, by: (at = Date.now()) => stamp(user, at, device), sync };
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious and critical axe-core violations on the page as it is, and every control smaller than 44 × 44 px (a11y.test.js). */
export async function audit(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE); // through devtools: the app's CSP allows no inline script
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  const small = await page.evaluate(() => [...document.querySelectorAll('button, .button, select, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), .tabs a, header a, label.inline')]
    .filter((el) => el.getClientRects().length && !el.closest('[hidden]'))
    .map((el) => [el, el.getBoundingClientRect()])
    .filter(([, r]) => r.height < 44 || r.width < 44)
    .map(([el, r]) => `${el.tagName.toLowerCase()}${el.name ? `[name=${el.name}]` : ''} "${el.textContent.trim().slice(0, 20)}" ${Math.round(r.width)}×${Math.round(r.height)}`));
  return [...found, ...(small.length ? [`target smaller than 44 px: ${small.join('; ')}`] : [])];
}

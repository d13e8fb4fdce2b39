// A new version of the app is deployed while phones have it open. The server serves web/dist from
// disk, so a test deploys a version by rewriting files there (and sw.js's list of their hashes), as
// `cargo xtask build-web` would; the original files are put back afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';
import { BASE, TOKENS, launch, context, login, swReady, synced, seedTerritory, eventually, seeText } from './harness.js';

const DIST = new URL('../../web/dist/', import.meta.url).pathname;
const DEALER = { id: 'd-upd', name: '更新商行', kind: 'retailer', address: '新竹縣竹北市' };
const originals = new Map(); // file in web/dist → its bytes before the tests (null: it did not exist)
let browser;

before(async () => {
  await seedTerritory({ territory: 't-north', name: '北區', region: '中部', managers: ['lin', 'chen'], dealers: [DEALER] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const [f, bytes] of originals) {
    if (bytes) writeFileSync(DIST + f, bytes);
    else rmSync(DIST + f, { force: true });
  }
});

const hash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Deploys a new version: each of `files` ({path in dist: new text}) is written with its .br and .gz; sw.js lists the new hashes. */
function deploy(files) {
  const write = (f, bytes) => {
    if (!originals.has(f)) originals.set(f, existsSync(DIST + f) ? readFileSync(DIST + f) : null);
    writeFileSync(DIST + f, bytes);
  };
  const pack = (f, bytes) => {
    write(f, bytes);
    write(`${f}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    write(`${f}.gz`, gzipSync(bytes, { level: 9 }));
  };
  let sw = readFileSync(DIST + 'sw.js', 'utf8');
  for (const [path, text] of Object.entries(files)) {
    const bytes = Buffer.from(text);
    pack(path, bytes);
    const entry = new RegExp(`\\['\\./${escape(path)}', '[0-9a-f]+'\\]`);
    assert.match(sw, entry, `sw.js lists ${path}`);
    sw = sw.replace(entry, `['./${path}', '${hash(bytes)}']`);
  }
  const version = hash(Buffer.from(sw.match(/const FILES = (.*);/)[1]));
  pack('sw.js', Buffer.from(sw.replace(/const VERSION = '[0-9a-f]+'/, `const VERSION = '${version}'`)));
  return version;
}

const dist = (f) => readFileSync(DIST + f, 'utf8');
const versionOf = () => dist('sw.js').match(/const VERSION = '([0-9a-f]+)'/)[1];
/** The versions whose files the browser holds, sorted. */
const cached = (page) => page.evaluate(async () => (await caches.keys()).filter((k) => k !== 'fieldsync-meta').map((k) => k.replace('fieldsync-', '')).sort());
const sorted = (...xs) => [...xs].sort();
/** Asks the browser to look for a new service worker now (as it does on its own after a navigation), and waits until one is waiting. */
async function checkForUpdate(page) {
  await page.evaluate(async () => { await (await navigator.serviceWorker.getRegistration()).update(); });
  await eventually(() => page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.waiting), true, 30_000);
}
/** The build marker a deployed dealer.js leaves on the page (null: the original file ran). */
const build = (page) => page.evaluate(() => document.documentElement.dataset.build ?? null);
/** Waits until the banner tells, in the page's language (zh-Hant here), that an update is ready. */
async function bannerShows(page) {
  await seeText(page.locator('[data-test=update] span'), '新版本已準備好。');
  await seeText(page.locator('[data-test=update] [data-action=update]'), '重新載入以更新');
}
/** Clicks the banner's "reload to update" and waits for the new page to be running. */
async function reloadToUpdate(page) {
  const loaded = page.waitForEvent('load');
  await page.click('[data-test=update] [data-action=update]');
  await loaded;
}
/** App files the service worker downloaded (not copied from an older version's cache), besides sw.js itself. */
function swDownloads(ctx) {
  const paths = [];
  ctx.on('requestfinished', (req) => {
    const path = new URL(req.url()).pathname;
    if (req.serviceWorker() && path !== '/sw.js' && !/^\/(v1|api)\//.test(path)) paths.push(path);
  });
  return { take: () => paths.splice(0).sort(), peek: () => [...paths].sort() };
}

test('an update while a visit form is open: the form survives, the banner waits, the update applies on reload, versions never mix', async () => {
  const ctx = await context(browser);
  const downloads = swDownloads(ctx);
  const a = await login(ctx, TOKENS.chen);
  await a.locator(`[data-dealer=${DEALER.id}]`).waitFor();
  await synced(a);
  await swReady(a);
  const v1 = versionOf();
  await eventually(() => cached(a), [v1]);
  downloads.take();

  // Tab A has a visit half filled in when version 2 (a changed dealer page) is deployed.
  await a.goto(`${BASE}/#/dealer/${DEALER.id}/visit`);
  await a.fill('input[name=summary]', '改版時填到一半的拜訪');
  const v2 = deploy({ 'js/views/dealer.js': `${dist('js/views/dealer.js')}\ndocument.documentElement.dataset.build = 'v2';\n` });
  await checkForUpdate(a);
  // Only the changed file was downloaded; the rest was copied from version 1's cache, which stays.
  await eventually(() => downloads.peek(), ['/js/views/dealer.js']);
  downloads.take();
  assert.deepEqual(await cached(a), sorted(v1, v2));
  // The page knows the update is ready, but the form is untouched and no banner interrupts it.
  await a.locator('[data-test=update][data-ready=true]').waitFor({ state: 'attached' });
  assert.equal(await a.locator('[data-test=update]').isHidden(), true);
  assert.equal(await a.inputValue('input[name=summary]'), '改版時填到一半的拜訪');

  // Tab B opens now (still version 1) straight into a visit form: it has not loaded the dealer page's module.
  const b = await ctx.newPage();
  await b.goto(`${BASE}/#/dealer/${DEALER.id}/visit`);
  await b.fill('input[name=summary]', '另一個分頁的拜訪');

  // A saves: the visit is kept, the dealer page is version 1's, and now the banner shows.
  await a.click('[data-action=save-visit]');
  await a.waitForURL(new RegExp(`#/dealer/${DEALER.id}$`));
  await a.getByText('改版時填到一半的拜訪').first().waitFor();
  assert.equal(await build(a), null);
  await bannerShows(a);

  // Reloading applies version 2 in A.
  await reloadToUpdate(a);
  await a.getByText('改版時填到一半的拜訪').first().waitFor();
  await eventually(() => build(a), 'v2');

  // B kept its form, and the dealer page it opens next is still version 1's, although version 2 now
  // answers its requests: version 1's files are kept while a page runs them.
  assert.equal(await b.inputValue('input[name=summary]'), '另一個分頁的拜訪');
  assert.deepEqual(await cached(b), sorted(v1, v2));
  await b.click('[data-action=save-visit]');
  await b.waitForURL(new RegExp(`#/dealer/${DEALER.id}$`));
  await b.getByText('另一個分頁的拜訪').first().waitFor();
  assert.equal(await build(b), null);
  await bannerShows(b);
  await reloadToUpdate(b);
  await eventually(() => build(b), 'v2');
  // With no page left on version 1, its files go.
  await eventually(() => cached(b), [v2]);
  assert.deepEqual(downloads.take(), []);
  await ctx.close();
});

test('a version that fails to start leaves the previous one cached, and a fix installs from it', async () => {
  const ctx = await context(browser);
  const downloads = swDownloads(ctx);
  const page = await login(ctx, TOKENS.lin);
  await page.locator(`[data-dealer=${DEALER.id}]`).waitFor();
  await swReady(page);
  const good = versionOf();
  await eventually(() => cached(page), [good]);
  downloads.take();
  const list = dist('js/views/dealers.js');

  // A broken dealer list: the new version's page never gets to say it started.
  const broken = deploy({ 'js/views/dealers.js': `throw new Error('this version cannot start');\n${list}` });
  await checkForUpdate(page);
  await bannerShows(page);
  const failed = page.waitForEvent('pageerror');
  await reloadToUpdate(page);
  await failed;
  await seeText(page.locator('main'), '…'); // the list never came
  assert.deepEqual(await cached(page), sorted(good, broken));

  // The fix (the working list back, and a style change) downloads only the style: the list comes
  // from the cache of the version that last started.
  const css = dist('app.css');
  const fixed = deploy({ 'js/views/dealers.js': list, 'app.css': `${css}\n/* fixed */\n` });
  downloads.take();
  await checkForUpdate(page);
  await eventually(() => downloads.peek(), ['/app.css']);
  downloads.take();
  await bannerShows(page);
  await reloadToUpdate(page);
  await page.locator(`[data-dealer=${DEALER.id}]`).waitFor();
  await eventually(() => cached(page), [fixed]);
  await ctx.close();
});

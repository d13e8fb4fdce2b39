// The phone in real life (issue 11): two tabs of one profile, logging out or switching users with
// unsynced work (in this tab or another), a failed IndexedDB write, a damaged stored document, an
// incoming document that cannot be applied, a request that hangs, a visit form reloaded half filled
// (the draft), a GPS that is denied, slow or silent, photos pruned once the server has them.
// Every check waits for what the user sees, or for what head office's API holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import * as Automerge from '@automerge/automerge';
import { BASE, TOKENS, launch, context, login, openLink, synced, seedTerritory, seedAs, deviceOf, eventually, seeText, seeCount, offline } from './harness.js';
import { Replica } from '../../web/dist/pkg/fieldsync_wasm.js';

let browser;
const DEALERS = ['p-one', 'p-two', 'p-three', 'p-four', 'p-five', 'p-six'].map((id, i) => ({ id, name: `電話測試商行${i + 1}`, address: `南投縣埔里鎮${i + 1}號` }));

/** Head office adds this file's dealers to t-north (after app.test.js made it), or makes t-north when run alone. */
async function addDealers() {
  const r = new Replica();
  const call = async (body) => {
    const res = await fetch(`${BASE}/v1/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' }, body });
    assert.ok(res.ok, `sync as head office: ${res.status}`);
    return res.text();
  };
  for (let more = true; more;) more = JSON.parse(r.applyResponse(await call(r.syncRequest()))).more;
  if (!r.docMeta('territory:t-north')) {
    r.free();
    return seedTerritory({ territory: 't-north', name: '北區', region: '中部', managers: ['lin', 'chen'], dealers: DEALERS });
  }
  const at = Date.now() - 40 * 86_400_000;
  const device = await deviceOf(TOKENS.ho);
  for (const d of DEALERS) {
    r.createDealer('t-north', d.id, JSON.stringify({ name: d.name, kind: 'retailer', tier: 2, status: 'active', address: d.address, downline: {}, contacts: {}, brands: {} }),
      JSON.stringify({ user: 'ho', device, at }));
  }
  const resp = JSON.parse(await call(r.syncRequest()));
  assert.deepEqual(resp.rejected ?? [], []);
  r.free();
}

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.lin && TOKENS.chen, 'tokens come from `cargo xtask test`');
  await addDealers();
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** Summaries of the visits head office's API holds. */
async function onServer() {
  const res = await fetch(`${BASE}/api/visits?per_page=500`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } });
  return (await res.json()).items.map((v) => v.summary);
}
const serverHas = (summary) => eventually(async () => (await onServer()).includes(summary), true, 30_000);

/** Records a visit with `summary` on dealer `id` through the form, and waits for the dealer page to show it. */
async function recordVisit(page, id, summary) {
  await page.goto(`${BASE}/#/dealer/${id}/visit`);
  await page.fill('input[name=summary]', summary);
  await page.check('input[value=training]');
  await page.click('[data-action=save-visit]');
  await page.waitForURL(new RegExp(`#/dealer/${id}$`));
  await page.locator('[data-section=visits]').getByText(summary).waitFor();
}

const pendingCount = async (page) => Number((await page.locator('[data-test=pending]').innerText()).split(' ')[0]);

test('two tabs of one profile, offline, an edit in each: both reach the server and both tabs show both', async () => {
  const ctx = await context(browser);
  const a = await login(ctx, TOKENS.lin);
  await a.locator('[data-dealer=p-one]').waitFor();
  await synced(a);
  const b = await ctx.newPage();
  await b.goto(`${BASE}/#/dealers`);
  await b.locator('[data-dealer=p-one]').waitFor();
  await offline(ctx);
  await recordVisit(a, 'p-one', '甲分頁的拜訪');
  await recordVisit(b, 'p-one', '乙分頁的拜訪');
  for (const p of [a, b]) {
    await p.goto(`${BASE}/#/dealer/p-one`);
    await p.locator('[data-section=visits]').getByText('甲分頁的拜訪').waitFor();
    await p.locator('[data-section=visits]').getByText('乙分頁的拜訪').waitFor();
    await eventually(async () => (await pendingCount(p)) >= 2, true);
  }
  await ctx.setOffline(false);
  await synced(a);
  await synced(b);
  await serverHas('甲分頁的拜訪');
  await serverHas('乙分頁的拜訪');

  // The owning tab closes: the other takes over, and its next edit reaches the server too.
  await a.close();
  await recordVisit(b, 'p-one', '接手後的拜訪');
  await synced(b);
  await serverHas('接手後的拜訪');
  await ctx.close();
});

test('logging out with an unsynced visit warns; the visit stays and syncs after logging back in', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-two]').waitFor();
  await synced(page);
  await offline(ctx);
  await recordVisit(page, 'p-two', '登出前記下的拜訪');
  await page.click('[data-action=logout]');
  const dialog = page.locator('dialog[data-test=dialog]');
  await dialog.getByText('尚未上傳').waitFor();
  // Sync first does not get through offline: the question comes back.
  await dialog.locator('[data-choice=sync]').click();
  await dialog.getByText('尚未上傳').waitFor();
  await dialog.locator('[data-choice=cancel]').click();
  await seeCount(dialog, 0);
  await page.locator('[data-section=visits]').getByText('登出前記下的拜訪').waitFor();
  await page.click('[data-action=logout]');
  await dialog.locator('[data-choice=keep]').click();
  await page.locator('form.login').waitFor();

  await ctx.setOffline(false);
  await openLink(page, TOKENS.lin);
  await page.locator('[data-dealer=p-two]').waitFor();
  await synced(page);
  await serverHas('登出前記下的拜訪');
  await page.click('[data-dealer=p-two]');
  await page.locator('[data-section=visits]').getByText('登出前記下的拜訪').waitFor();
  await ctx.close();
});

test('a login link for another user with an unsynced visit keeps it under the first user until it is synced', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-three]').waitFor();
  await synced(page);
  await ctx.route('**/v1/sync', (route) => route.abort('connectionrefused')); // the server is unreachable for syncs
  await recordVisit(page, 'p-three', '換人前記下的拜訪');
  await eventually(() => pendingCount(page), 1);
  await openLink(page, TOKENS.chen);
  await page.locator('dialog[data-test=dialog]').getByText('尚未上傳').waitFor();
  await page.locator('[data-choice=keep]').click();
  await page.locator('.who', { hasText: '陳大文' }).waitFor();
  await ctx.unroute('**/v1/sync');
  await page.locator('[data-dealer=p-three]').waitFor();
  await synced(page);
  assert.ok(!(await onServer()).includes('換人前記下的拜訪'), 'chen did not send lin\'s visit');

  // Back to lin (chen has nothing unsent, so no question): the visit is there and goes out.
  await openLink(page, TOKENS.lin);
  await page.locator('.who', { hasText: '林小美' }).waitFor();
  await synced(page);
  await serverHas('換人前記下的拜訪');
  await page.click('[data-dealer=p-three]');
  await page.locator('[data-section=visits]').getByText('換人前記下的拜訪').waitFor();
  await ctx.close();
});

test('a failed IndexedDB write tells the user, rolls memory back to the disk, and the app keeps working', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-four]').waitFor();
  await synced(page);
  await page.click('[data-dealer=p-four]');
  await page.locator('[data-field=address]', { hasText: '南投縣埔里鎮4號' }).waitFor();
  await page.evaluate(() => {
    window.realPut = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function put() { throw new DOMException('The disk is full', 'QuotaExceededError'); };
  });
  await page.click('[data-action=edit-profile]');
  await page.fill('form.edit input[name=address]', '寫不進去的地址');
  await page.click('form.edit button[type=submit]');
  await page.locator('[data-test=toast].error', { hasText: '儲存空間不足' }).waitFor();
  await eventually(() => page.evaluate(async () => (await import('/js/local.js')).state('dealer:p-four').profile.address), '南投縣埔里鎮4號');
  await eventually(() => pendingCount(page), 0);
  // Nothing typed is lost from the screen: the form stays open with it, to try again.
  assert.equal(await page.inputValue('form.edit input[name=address]'), '寫不進去的地址');

  // The disk fails no more: the same form saves, and a reload shows what the disk holds.
  await page.evaluate(() => { IDBObjectStore.prototype.put = window.realPut; });
  await page.fill('form.edit input[name=address]', '埔里鎮中山路 5 號');
  await page.click('form.edit button[type=submit]');
  await page.locator('[data-field=address]', { hasText: '埔里鎮中山路 5 號' }).waitFor();
  await synced(page);
  await page.reload();
  await page.locator('[data-field=address]', { hasText: '埔里鎮中山路 5 號' }).waitFor();
  await ctx.close();
});

test('a damaged stored document: the app starts, opening it lists it as damaged, the rest works, and it can be fetched again', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-five]').waitFor();
  await synced(page);
  await page.evaluate(async () => (await import('/js/db.js')).write({ docs: { 'dealer:p-five': new Uint8Array([1, 2, 3, 4]) } }));
  await page.reload();
  // The list reads each dealer's summary; the document itself is read when opened.
  await page.locator('[data-dealer=p-six]').waitFor();
  await page.goto(`${BASE}/#/dealer/p-five`);
  await page.locator('[data-test=damaged] [data-doc="dealer:p-five"]').waitFor();
  await page.goto(`${BASE}/#/dealers`);
  await page.locator('[data-dealer=p-six]').waitFor();
  await seeCount(page.locator('[data-dealer=p-five]'), 0);
  await page.locator('[data-action=logout]').waitFor(); // the header is there: one can still log out
  await recordVisit(page, 'p-six', '壞資料旁的拜訪');
  await synced(page);
  await serverHas('壞資料旁的拜訪');

  await page.goto(`${BASE}/#/dealers`);
  await page.click('[data-test=damaged] [data-action=refetch]');
  await page.locator('[data-dealer=p-five]').waitFor();
  await seeCount(page.locator('[data-test=damaged]'), 0);
  await synced(page);
  await page.reload();
  await page.locator('[data-dealer=p-five]').waitFor();
  await seeCount(page.locator('[data-test=damaged]'), 0);
  await ctx.close();
});

test('the stored dealer summaries cannot be read: the list is made from the documents, no dealer missing', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-five]').waitFor();
  await synced(page);
  await ctx.addInitScript(() => {
    const getAll = IDBObjectStore.prototype.getAll;
    IDBObjectStore.prototype.getAll = function (...args) {
      if (this.name === 'summary') throw new DOMException('The disk could not be read', 'UnknownError');
      return getAll.apply(this, args);
    };
  });
  await page.reload();
  await page.locator('[data-dealer=p-five]').waitFor();
  await page.locator('[data-dealer=p-six]').waitFor();
  await ctx.close();
});

test('a phone holding an earlier version\'s data (bookkeeping saved whole) opens with all of it, and its unsent visit reaches the server', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.chen);
  await page.locator('[data-dealer=p-four]').waitFor();
  await synced(page);
  await ctx.route('**/v1/sync', (route) => route.abort('connectionrefused'));
  await recordVisit(page, 'p-four', '舊版資料裡的拜訪');
  // The version before per-document bookkeeping kept it whole, in the replica's meta.
  await page.evaluate(async () => {
    const db = await import('/js/db.js');
    const [docmeta, meta] = [await db.entries('docmeta'), await db.get('meta', 'replica')];
    const none = Object.fromEntries(Object.keys(docmeta).map((k) => [k, undefined]));
    const docs = Object.fromEntries(Object.entries(docmeta).map(([k, v]) => [k, JSON.parse(v)]));
    await db.write({ meta: { replica: JSON.stringify({ ...JSON.parse(meta), docs }) }, docmeta: none, summary: none });
  });
  await page.reload(); // on the dealer's page still
  await page.locator('[data-section=visits]').getByText('舊版資料裡的拜訪').waitFor();
  await page.goto(`${BASE}/#/dealers`);
  await page.locator('[data-dealer=p-three]').waitFor();
  await eventually(() => pendingCount(page), 1); // it still waits to be sent
  await ctx.unroute('**/v1/sync');
  await serverHas('舊版資料裡的拜訪');
  await synced(page);
  await ctx.close();
});

test('a sync request that hangs times out and is retried; the visit reaches the server', async () => {
  const ctx = await context(browser);
  await ctx.addInitScript(() => { globalThis.fieldsyncTimeout = 3000; });
  let calls = 0;
  await ctx.route('**/v1/sync', (route) => {
    calls += 1;
    if (calls === 1) return; // never answers
    return route.continue();
  });
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-six]').waitFor();
  await synced(page);
  assert.ok(calls >= 2, `the hung request was retried (${calls} calls)`);
  await recordVisit(page, 'p-six', '訊號不穩時的拜訪');
  await synced(page);
  await serverHas('訊號不穩時的拜訪');
  await ctx.close();
});

/** The body of a sync request as JSON (browsers gzip bodies over 1 KB). */
function syncBody(req) {
  const raw = req.postDataBuffer();
  return JSON.parse((req.headers()['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString());
}

/** A camera picture: a PNG the page compresses to JPEG. */
const picture = async (page) => ({ name: 'shelf.png', mimeType: 'image/png', buffer: await page.screenshot({ type: 'png' }) });

test('a visit form half filled survives a reload as a draft; saving clears it, and so does discarding', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-one]').waitFor();
  await page.goto(`${BASE}/#/dealer/p-one/visit`);
  await page.locator('[data-test=draft][data-restored=false]').waitFor({ state: 'attached' });
  await page.setInputFiles('input[name=photos]', await picture(page));
  await page.locator('.visit-form .thumbs img').waitFor();
  await page.click('[data-action=add-commitment]');
  await page.fill('[data-sub=commitment] input[name=what]', '下週送海報');
  await page.check('input[value=promotion_planning]');
  await page.fill('input[name=lat]', '23.9717');
  await page.fill('input[name=lon]', '120.9601');
  await page.fill('input[name=summary]', '填到一半的拜訪');
  await seeText(page.locator('[data-test=draft-saved]'), '草稿已儲存在這台裝置');

  // The page is killed (a reload does the same): the form comes back as it was, and says so.
  await page.reload();
  await page.locator('[data-test=draft][data-restored=true]', { hasText: '已還原上次沒填完的拜訪草稿' }).waitFor();
  assert.equal(await page.inputValue('input[name=summary]'), '填到一半的拜訪');
  assert.equal(await page.inputValue('input[name=lat]'), '23.9717');
  assert.equal(await page.isChecked('input[value=promotion_planning]'), true);
  assert.equal(await page.inputValue('[data-sub=commitment] input[name=what]'), '下週送海報');
  await seeCount(page.locator('.visit-form .thumbs img'), 1);

  // Saved: the visit has everything, and the next form starts empty.
  await page.click('[data-action=save-visit]');
  await page.waitForURL(/#\/dealer\/p-one$/);
  const visit = page.locator('[data-section=visits] [data-visit]', { hasText: '填到一半的拜訪' });
  await visit.locator('.thumbs img').waitFor();
  await page.locator('[data-section=commitments]').getByText('下週送海報').waitFor();
  await page.click('[data-action=record-visit]');
  await page.locator('[data-test=draft][data-restored=false]').waitFor({ state: 'attached' });
  assert.equal(await page.inputValue('input[name=summary]'), '');

  // Discarded: gone, here and after a reload.
  await page.fill('input[name=summary]', '不要了的草稿');
  await seeText(page.locator('[data-test=draft-saved]'), '草稿已儲存在這台裝置');
  await page.reload();
  await page.locator('[data-test=draft][data-restored=true]').waitFor();
  await page.click('[data-action=discard-draft]');
  await page.locator('[data-test=draft][data-restored=false]').waitFor({ state: 'attached' });
  assert.equal(await page.inputValue('input[name=summary]'), '');
  await page.reload();
  await page.locator('[data-test=draft][data-restored=false]').waitFor({ state: 'attached' });
  assert.equal(await page.inputValue('input[name=summary]'), '');
  await ctx.close();
});

test('an incoming sync does not redraw a profile form someone is filling in; the page catches up when they leave it', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-two]').waitFor();
  await synced(page);
  await page.click('[data-dealer=p-two]');
  await page.click('[data-action=edit-profile]');
  await page.selectOption('form.edit select[name=status]', 'dormant');
  await page.locator('form.edit select[name=status]').blur();
  // Head office changes the tier meanwhile; the phone receives it.
  await seedAs(TOKENS.ho, 'ho', (r, by) => r.updateProfile('dealer:p-two', JSON.stringify({ tier: 4 }), by()));
  await eventually(() => page.evaluate(async () => (await import('/js/local.js')).state('dealer:p-two').profile.tier), 4);
  await synced(page);
  assert.equal(await page.inputValue('form.edit select[name=status]'), 'dormant', 'the half-filled form is still there');
  await page.click('form.edit button[type=button]'); // cancel: the page now shows what arrived
  await page.locator('[data-section=profile] dd', { hasText: /^4$/ }).waitFor();
  await ctx.close();
});

/** The visit form's GPS block, after clicking "use my location". */
async function locate(ctx, init) {
  if (init) await ctx.addInitScript(init);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-three]').waitFor();
  await page.goto(`${BASE}/#/dealer/p-three/visit`);
  await page.click('[data-action=locate]');
  return page;
}

test('GPS refused: the form says so and hands over to typed coordinates, saved as entered by hand', async () => {
  const ctx = await context(browser); // no geolocation permission: Chromium refuses
  const page = await locate(ctx);
  await seeText(page.locator('[data-test=gps-status]'), '沒有使用位置的權限，請手動輸入緯度和經度。');
  await eventually(() => page.evaluate(() => document.activeElement?.name), 'lat');
  await page.keyboard.type('23.9717');
  await page.fill('input[name=lon]', '120.9601');
  await page.fill('input[name=summary]', '手動定位的拜訪');
  await page.click('[data-action=save-visit]');
  await page.locator('[data-section=visits] [data-visit]', { hasText: '手動定位的拜訪' }).getByText('23.97170, 120.96010 ±1 m (手動輸入)').waitFor();
  await ctx.close();
});

test('GPS silent (a cold start with no signal): the wait ends with a clear message and typed coordinates', async () => {
  const ctx = await context(browser);
  const page = await locate(ctx, () => {
    globalThis.fieldsyncGpsWait = 1500;
    Object.defineProperty(navigator, 'geolocation', { value: { watchPosition: () => 1, clearWatch() {} } });
  });
  await page.locator('[data-test=gps-status][data-state=locating]', { hasText: '定位中' }).waitFor();
  await seeText(page.locator('[data-test=gps-status]'), '等候許久仍無法定位，請手動輸入緯度和經度。');
  await eventually(() => page.evaluate(() => document.activeElement?.name), 'lat');
  await ctx.close();
});

test('GPS warming up: rough fixes first, the best one is kept and a good one ends the wait', async () => {
  const ctx = await context(browser);
  const page = await locate(ctx, () => {
    const fixes = [[24.1, 120.6, 900], [24.2, 120.7, 60], [24.253, 120.717, 400], [24.2531, 120.7171, 8]];
    Object.defineProperty(navigator, 'geolocation', { value: {
      watchPosition(ok) {
        fixes.forEach(([latitude, longitude, accuracy], i) => setTimeout(() => ok({ coords: { latitude, longitude, accuracy } }), 400 * (i + 1)));
        return 7;
      },
      clearWatch() {},
    } });
  });
  await page.locator('[data-test=gps-status][data-state=locating]', { hasText: '±60 m' }).waitFor();
  await seeText(page.locator('[data-test=gps-status]'), '±8 m');
  assert.equal(await page.inputValue('input[name=lat]'), '24.253100');
  assert.equal(await page.inputValue('input[name=accuracy]'), '8');
  await page.fill('input[name=summary]', '等到好訊號的拜訪');
  await page.click('[data-action=save-visit]');
  await page.locator('[data-section=visits] [data-visit]', { hasText: '等到好訊號的拜訪' }).getByText('24.25310, 120.71710 ±8 m').waitFor();
  await ctx.close();
});

/**
 * A newer version of the server migrated `doc` to schema 2 and wrote the change into its database (into
 * the territory's feed and the document's stored snapshot, as that version would); this app's version cannot read schema 2.
 */
async function migrateOnServer(doc, territory) {
  const r = new Replica();
  for (let more = true; more;) {
    const res = await fetch(`${BASE}/v1/sync`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' }, body: r.syncRequest() });
    more = JSON.parse(r.applyResponse(await res.text())).more;
  }
  let d = Automerge.load(r.saveDoc(doc), { actor: Buffer.from(`fieldsync-migration/2/${doc}`).toString('hex') });
  r.free();
  d = Automerge.change(d, { message: JSON.stringify({ user: 'ho', device: 'server', at: Date.now() }), time: 0 }, (x) => { x.schema = 2; });
  const change = Automerge.getLastLocalChange(d);
  const { hash } = Automerge.decodeChange(change);
  execFileSync('sqlite3', ['-cmd', '.timeout 10000', process.env.FIELDSYNC_DB_FILE, `BEGIN IMMEDIATE;
    UPDATE feed_counters SET seq = seq + 1 WHERE territory = '${territory}';
    INSERT INTO feed (territory, seq, doc, hash, change, device, origin, committed_at)
      SELECT '${territory}', seq, '${doc}', '${hash}', X'${Buffer.from(change).toString('hex')}', NULL, '', ${Date.now()} FROM feed_counters WHERE territory = '${territory}';
    UPDATE documents SET snapshot = X'${Buffer.from(Automerge.save(d)).toString('hex')}' WHERE id = '${doc}';
    COMMIT;`]);
}

test('an incoming document that cannot be applied is listed, holds nothing else back, is not downloaded again, and a re-fetch reads only its territory', async () => {
  assert.ok(TOKENS.wu && process.env.FIELDSYNC_DB_FILE, 'wu (t-north and t-far) and the database file come from `cargo xtask test`');
  await seedTerritory({ territory: 't-far', name: '離島區', region: '外島', managers: ['wu'], dealers: [{ id: 'f-ok', name: '澎湖商行' }, { id: 'f-new', name: '金門商號' }] });
  const ctx = await context(browser);
  const responses = [];
  ctx.on('response', async (res) => { if (res.url().endsWith('/v1/sync') && res.ok()) responses.push(await res.json().catch(() => ({}))); });
  const page = await login(ctx, TOKENS.wu);
  await page.locator('[data-dealer=f-new]').waitFor();
  await page.locator('[data-dealer=p-one]').waitFor(); // t-north's too
  await synced(page);

  await migrateOnServer('dealer:f-new', 't-far');
  // Head office then renames the other dealer of the territory (after the migration, in the same feed).
  await seedAs(TOKENS.ho, 'ho', (r, by) => r.updateProfile('dealer:f-ok', JSON.stringify({ name: '澎湖商行（新址）' }), by()));
  await page.locator('[data-dealer=f-ok]', { hasText: '澎湖商行（新址）' }).waitFor();
  const listed = page.locator('[data-test=damaged] [data-doc="dealer:f-new"][data-stored=false]');
  await listed.getByText('資料來自較新版本，請更新 App').waitFor(); // schema_too_new, in the reader's language
  await page.locator('[data-dealer=f-new]').waitFor(); // what it held before the migration stays readable
  await synced(page);

  // Later syncs do not bring it again (the cursor went past it).
  const seen = responses.length;
  await recordVisit(page, 'f-ok', '離島的拜訪');
  await synced(page);
  await eventually(() => responses.length > seen, true);
  assert.ok(responses.slice(seen).every((r) => !(r.changes ?? []).some((c) => c.doc === 'dealer:f-new')), 'not downloaded again');

  // Re-fetch: the request reads t-far from the start and keeps t-north's place; only t-far's documents come.
  const request = page.waitForRequest((r) => r.url().endsWith('/v1/sync') && !/t-far:/.test(syncBody(r).cursor));
  await page.goto(`${BASE}/#/dealers`);
  await listed.locator('[data-action=refetch]').click();
  const sent = syncBody(await request);
  assert.match(sent.cursor, /t-north:\d+/);
  const answer = await (await (await request).response()).json();
  // Read from the start, the territory comes as its documents' snapshots (and any changes after them).
  const docs = [...new Set([...(answer.snapshots ?? []), ...(answer.changes ?? [])].map((c) => c.doc))].sort();
  assert.deepEqual(docs, ['dealer:f-new', 'dealer:f-ok', 'territory:t-far']);
  // This version still cannot read schema 2: it stays listed, the rest works.
  await listed.getByText('資料來自較新版本，請更新 App').waitFor(); // schema_too_new, in the reader's language
  await synced(page);
  await page.locator('[data-dealer=f-ok]', { hasText: '澎湖商行（新址）' }).waitFor();
  await ctx.close();
});

/** Every change a sync request pushes was signed by the user whose token sends it. */
function signedBySender(req, users) {
  const who = users[req.headers().authorization?.replace('Bearer ', '')];
  for (const p of syncBody(req).push ?? []) {
    for (const c of p.changes) {
      const { message } = Automerge.decodeChange(Buffer.from(c, 'base64'));
      const signer = message ? JSON.parse(message).user : who; // the skeleton (genesis) is nobody's
      if (signer !== who) return `${p.doc}: a change by ${signer} sent with ${who}'s token`;
    }
  }
  return null;
}

test('another tab logs in as someone else: this tab stops at once, never sends with the other token, and its unsent visit waits for its user', async () => {
  const ctx = await context(browser);
  const wrong = [];
  ctx.on('request', (r) => { if (r.url().endsWith('/v1/sync')) { const w = signedBySender(r, { [TOKENS.lin]: 'lin', [TOKENS.chen]: 'chen' }); if (w) wrong.push(w); } });
  const a = await login(ctx, TOKENS.lin);
  await a.locator('[data-dealer=p-four]').waitFor();
  await synced(a);
  const b = await ctx.newPage();
  await b.goto(`${BASE}/#/dealers`);
  await b.locator('[data-dealer=p-four]').waitFor();
  await ctx.route('**/v1/sync', (route) => route.abort('connectionrefused'));
  await recordVisit(a, 'p-four', '甲分頁未送出的拜訪');
  await eventually(() => pendingCount(b), 1);

  // Tab B opens a login link for chen, keeping lin's visit on the device.
  await openLink(b, TOKENS.chen);
  await b.locator('dialog[data-test=dialog] [data-choice=keep]').click();
  await b.locator('.who', { hasText: '陳大文' }).waitFor();
  // Tab A follows at once: it is chen's app now, not lin's with chen's token.
  await a.locator('.who', { hasText: '陳大文' }).waitFor();
  await ctx.unroute('**/v1/sync');
  await synced(a);
  await synced(b);
  assert.deepEqual(wrong, []);
  assert.ok(!(await onServer()).includes('甲分頁未送出的拜訪'));

  // lin again: the visit was kept for her, and goes out under her name.
  await openLink(a, TOKENS.lin);
  await a.locator('.who', { hasText: '林小美' }).waitFor();
  await b.locator('.who', { hasText: '林小美' }).waitFor();
  await synced(a);
  await serverHas('甲分頁未送出的拜訪');
  assert.deepEqual(wrong, []);
  await ctx.close();
});

test('logging out in a tab that does not hold the replica: the holder stops first, and the database goes only once nothing is unsent', async () => {
  const ctx = await context(browser);
  const a = await login(ctx, TOKENS.lin);
  await a.locator('[data-dealer=p-five]').waitFor();
  await synced(a);
  const b = await ctx.newPage();
  await b.goto(`${BASE}/#/dealers`);
  await b.locator('[data-dealer=p-five]').waitFor();
  // A sync of tab A is in flight (the server is slow to answer) when B logs out.
  let held;
  const arrived = new Promise((resolve) => ctx.route('**/v1/sync', (route) => { held = route; resolve(); }));
  await a.evaluate(async () => { (await import('/js/sync.js')).syncNow(); });
  await arrived;
  await b.click('[data-action=logout]');
  await b.locator('form.login').waitFor();
  await a.locator('form.login').waitFor();
  const databases = () => b.evaluate(async () => (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith('fieldsync')).sort());
  await eventually(databases, []);
  // The answer A was waiting for comes now: A aborted that sync, and nothing writes the database back.
  await held.continue().catch(() => {});
  await b.reload();
  await b.locator('form.login').waitFor();
  assert.deepEqual(await databases(), []);
  await ctx.close();
});

test('a photo the server has confirmed leaves the device (beyond a bounded cache), one it has not stays, and both still show', async () => {
  const ctx = await context(browser);
  await ctx.addInitScript(() => { globalThis.fieldsyncPhotoCache = 0; }); // keep no confirmed photo
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=p-six]').waitFor();
  await synced(page);
  await offline(ctx);
  await page.goto(`${BASE}/#/dealer/p-six/visit`);
  await page.setInputFiles('input[name=photos]', await picture(page));
  await page.locator('.visit-form .thumbs img').waitFor();
  await page.fill('input[name=summary]', '照片會清掉的拜訪');
  await page.click('[data-action=save-visit]');
  const thumb = page.locator('[data-section=visits] [data-visit]', { hasText: '照片會清掉的拜訪' }).locator('.thumbs img');
  await thumb.waitFor();
  const stored = () => page.evaluate(async () => (await (await import('/js/db.js')).all('photos')).map((p) => p.uploaded));
  assert.deepEqual(await stored(), [false], 'not confirmed: kept');
  await ctx.setOffline(false);
  await synced(page);
  await eventually(stored, []);
  await page.reload();
  await thumb.waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-section=visits] .thumbs img')].some((i) => i.naturalWidth > 0));
  await ctx.close();
});

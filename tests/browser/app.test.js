// The end-to-end story in headless Chromium against the real server:
// a manager records a visit offline, it survives a reload, syncs when the network
// returns, head office sees it; two managers' concurrent edits show as a conflict, which head office resolves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BASE, TOKENS, launch, context, persistent, login, swReady, shot, synced, seedTerritory, eventually, seeText, seeCount, offline } from './harness.js';

let browser;
const DEALERS = [
  { id: 'd-lin', name: '林記商行', kind: 'retailer', address: '台中市北屯區崇德路一段 100 號',
    downline: { 'c-1': { name: '大雅雜貨店', core: true, note: '' }, 'c-2': { name: '潭子便利商店', core: false, note: '' } },
    contacts: { 'k-1': { name: '林老闆', role: '負責人', phone: '04-2233-4455' } }, brands: { 好食: { exclusive: true } } },
  { id: 'd-hua', name: '華興分銷', kind: 'distributor', tier: 1, address: '台中市豐原區中正路 8 號' },
  { id: 'd-bank', name: '彰銀豐原分行', kind: 'bank_branch', status: 'prospect', address: '台中市豐原區' },
  { id: 'd-old', name: '老街商號', kind: 'retailer', status: 'dormant', address: '苗栗縣三義鄉' },
];

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.lin && TOKENS.chen, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-north', name: '北區', region: '中部', managers: ['lin', 'chen'], dealers: DEALERS });
  browser = await launch();
});

after(async () => { await browser?.close(); });

const pending = (page) => page.locator('[data-test=pending]').innerText();

/** Calls `f` until it returns something truthy, or fails after `ms`. */
async function poll(f, ms = 20_000) {
  for (const end = Date.now() + ms; ;) {
    const out = await f();
    if (out) return out;
    if (Date.now() > end) throw new Error(`gave up after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a visit with a commitment recorded offline survives a reload, syncs, and head office sees it', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=d-lin]').waitFor();
  await synced(page);
  await swReady(page);
  await seeCount(page.locator('#dealer-list [data-dealer]'), DEALERS.length);
  await shot(page, '01-manager-dealer-list-zh');

  // Filters: kind, status, text.
  await page.selectOption('select[name=kind]', 'bank_branch');
  await eventually(() => page.locator('#dealer-list [data-dealer]').evaluateAll((xs) => xs.map((x) => x.dataset.dealer)), ['d-bank']);
  await page.selectOption('select[name=kind]', '');
  await page.fill('input[name=q]', '豐原');
  await seeCount(page.locator('#dealer-list [data-dealer]'), 2);
  await page.fill('input[name=q]', '');

  // The network goes away.
  await offline(ctx);
  await page.locator('[data-test=sync][data-state=offline]').waitFor();

  await page.click('[data-dealer=d-lin]');
  await page.locator('[data-section=downline]').getByText('大雅雜貨店').waitFor();
  await page.click('[data-action=record-visit]');
  await page.fill('input[name=lat]', '24.1818');
  await page.fill('input[name=lon]', '120.6925');
  await page.fill('input[name=accuracy]', '25');
  await page.check('input[value=training]');
  await page.check('input[value=joint_visit]');
  await page.fill('input[name=summary]', '新品教育訓練，陪同拜訪大雅雜貨店');
  await page.fill('textarea[name=notes]', '老闆希望下月加碼鋪貨');
  await page.fill('input[name=attendees]', '林老闆、店員阿美');
  // A photo from the camera input (here: a screenshot as the picture), compressed to JPEG on the device.
  const picture = await page.screenshot({ type: 'png' });
  await page.setInputFiles('input[name=photos]', { name: 'shelf.png', mimeType: 'image/png', buffer: picture });
  await page.locator('.visit-form .thumbs img').waitFor();
  await page.click('[data-action=add-commitment]');
  await page.fill('[data-sub=commitment] input[name=what]', '下週三前送 20 箱試用品');
  await page.fill('[data-sub=commitment] input[name=to_whom]', '林老闆');
  const due = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  await page.fill('[data-sub=commitment] input[name=due]', due);
  await page.click('[data-action=add-problem]');
  await page.fill('[data-sub=problem] input[name=title]', '競品降價 15%');
  await page.selectOption('[data-sub=problem] select[name=category]', 'competitor');
  await page.selectOption('[data-sub=problem] select[name=severity]', 'high');
  await page.click('[data-action=add-claim]');
  await page.selectOption('[data-sub=claim] select[name=category]', 'placement');
  await page.fill('[data-sub=claim] input[name=amount]', '3000');
  await page.fill('[data-sub=claim] input[name=purpose]', '大雅雜貨店鋪市費用');
  await shot(page, '02-record-visit-offline');
  await page.click('[data-action=save-visit]');
  await page.waitForURL(/#\/dealer\/d-lin$/).catch(async (e) => {
    throw new Error(`the visit was not saved: ${await page.locator('[data-test=visit-status]').innerText()} (${e.message})`);
  });
  await page.locator('[data-section=visits]').getByText('新品教育訓練').waitFor();
  await page.locator('[data-section=commitments]').getByText('下週三前送 20 箱試用品').waitFor();
  await page.locator('[data-section=problems]').getByText('競品降價 15%').waitFor();
  await page.locator('[data-section=claims]').getByText('大雅雜貨店鋪市費用').waitFor();
  await eventually(async () => /^[1-9]\d* /.test(await pending(page)), true); // the visit waits to be sent
  await shot(page, '03-dealer-page-after-offline-visit');

  // Reload with no network: the service worker serves the app, IndexedDB the data.
  await page.reload();
  await page.locator('[data-section=visits]').getByText('新品教育訓練').waitFor();
  await page.locator('[data-section=commitments]').getByText('下週三前送 20 箱試用品').waitFor();
  await page.locator('[data-section=visits]').getByText('老闆希望下月加碼鋪貨').waitFor();
  // The photo is kept on the device by the SHA-256 of its JPEG bytes; the visit names only the hash.
  await page.locator('[data-section=visits] .thumbs img').waitFor();
  const photo = await page.evaluate(async () => {
    const local = await import('/js/local.js');
    const [v] = Object.values(local.state('dealer:d-lin').visits);
    const [hash] = Object.keys(v.photos);
    const db = await import('/js/db.js');
    const stored = await db.get('photos', hash);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', stored.bytes));
    return { hash, meta: v.photos[hash], size: stored.bytes.length, uploaded: stored.uploaded, again: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  });
  assert.equal(photo.hash, photo.again);
  assert.equal(photo.meta.mime, 'image/jpeg');
  assert.ok(photo.meta.bytes < picture.length, 'compressed');
  assert.equal(photo.uploaded, false, 'not uploaded while offline');
  assert.equal(photo.size, photo.meta.bytes);
  await eventually(async () => /^[1-9]\d* /.test(await pending(page)), true);
  await shot(page, '04-after-offline-reload');

  // The network returns: it syncs by itself.
  await ctx.setOffline(false);
  await synced(page);
  await shot(page, '05-synced');
  // After the sync the photo is uploaded by its hash: head office can fetch the very bytes.
  const fromServer = await poll(async () => {
    const res = await fetch(`${BASE}/v1/photos/${photo.hash}`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } });
    return res.ok && { type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
  });
  assert.equal(fromServer.type, 'image/jpeg');
  assert.equal(fromServer.bytes.length, photo.size);
  assert.equal(createHash('sha256').update(fromServer.bytes).digest('hex'), photo.hash);
  await poll(() => page.evaluate(async (hash) => (await (await import('/js/db.js')).get('photos', hash)).uploaded === true, photo.hash));
  await page.goto(`${BASE}/#/dealers`);
  await page.fill('input[name=days]', '30');
  await page.locator('[data-dealer=d-hua]').waitFor();
  await seeCount(page.locator('[data-dealer=d-lin]'), 0); // visited today, so not in "not visited for 30 days"
  await page.fill('input[name=days]', '');

  // Head office, in another browser profile on a desktop screen.
  const ho = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(ho, TOKENS.ho);
  await office.locator('[data-territory=t-north]').waitFor();
  await shot(office, '06-office-territories');
  await office.click('[data-tab=visits]');
  await office.getByText('新品教育訓練，陪同拜訪大雅雜貨店').waitFor();
  await shot(office, '07-office-visit-timeline');
  await office.click('[data-tab=commitments]');
  await office.getByText('下週三前送 20 箱試用品').waitFor();
  await shot(office, '08-office-commitments');
  await office.click('[data-tab=problems]');
  await office.locator('[data-problem]', { hasText: '競品降價 15%' }).waitFor();
  await shot(office, '08b-office-problems');
  await office.click('[data-tab=claims]');
  await office.locator('[data-stage=requested] [data-claim]', { hasText: '大雅雜貨店鋪市費用' }).waitFor();
  await shot(office, '08c-office-claims');
  await office.click('[data-tab=dealers]');
  await office.locator('[data-dealer=d-lin]').waitFor();
  await shot(office, '09-office-dealers');
  // Head office's dealer page shows the photo; a photo is immutable, so showing it again downloads nothing.
  const photoLoads = () => office.evaluate((hash) => performance.getEntriesByType('resource')
    .filter((e) => e.name.endsWith(`/v1/photos/${hash}`)).map((e) => (e.transferSize > 0 ? 'network' : 'cache')), photo.hash);
  for (const expected of [['network'], ['network', 'cache']]) {
    await office.goto(`${BASE}/#/office/dealer/d-lin`);
    await office.waitForFunction(() => document.querySelector('[data-dealer-page] .photos img')?.naturalWidth > 0);
    await eventually(photoLoads, expected);
    await office.goto(`${BASE}/#/office/dealers`);
    await office.locator('.office-body[data-ready=dealers]').waitFor();
  }
  await ho.close();

  // Another manager's device does not hold the photo: the dealer page fetches it from the server.
  const other = await context(browser);
  const chen = await login(other, TOKENS.chen);
  await chen.locator('[data-dealer=d-lin]').waitFor();
  await synced(chen);
  const fetched = chen.waitForResponse((r) => r.url().endsWith(`/v1/photos/${photo.hash}`) && r.status() === 200);
  await chen.click('[data-dealer=d-lin]');
  await fetched;
  await chen.waitForFunction(() => document.querySelector('[data-section=visits] .thumbs img')?.naturalWidth > 0);
  assert.equal(await chen.evaluate(async (hash) => (await import('/js/db.js')).get('photos', hash), photo.hash), undefined, 'not stored on this device');
  await shot(chen, '05b-other-manager-sees-photo-from-server');
  // A photo never changes (it is named by its hash): once seen, the browser's cache shows it again offline.
  await offline(other);
  await chen.goto(`${BASE}/#/dealers`);
  await chen.click('[data-dealer=d-lin]');
  await chen.locator('[data-section=visits]').getByText('新品教育訓練').waitFor();
  await chen.waitForFunction(() => document.querySelector('[data-section=visits] .thumbs img')?.naturalWidth > 0);
  await other.close();
  await ctx.close();
});

test('two managers edit the same dealer field offline; head office sees the conflict with both values and keeps one; both phones show it', async () => {
  const a = await context(browser);
  const b = await context(browser);
  const lin = await login(a, TOKENS.lin);
  const chen = await login(b, TOKENS.chen);
  for (const p of [lin, chen]) { await p.locator('[data-dealer=d-hua]').waitFor(); await synced(p); }
  await offline(a);
  await offline(b);
  for (const [p, address] of [[lin, '台中市豐原區中正路 10 號'], [chen, '台中市豐原區復興路 22 號']]) {
    await p.click('[data-dealer=d-hua]');
    await p.click('[data-action=edit-profile]');
    await p.fill('form.edit input[name=address]', address);
    await p.click('form.edit button[type=submit]');
    await p.locator('[data-field=address]', { hasText: address }).waitFor();
  }
  await a.setOffline(false);
  await synced(lin);
  await b.setOffline(false);
  await synced(chen);
  // chen's device receives lin's edit too and shows the conflict locally.
  await chen.locator('[data-section=conflicts]').waitFor();
  await shot(chen, '10-manager-sees-conflict');
  // lin's page, open and online, hears of chen's edit on the live channel and pulls it unasked.
  await lin.locator('[data-section=conflicts]', { hasText: '復興路 22 號' }).waitFor();

  const ho = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(ho, TOKENS.ho);
  await office.click('[data-tab=conflicts]'); // as a person would: the landing page's tab
  const row = office.locator('tr.conflict', { hasText: '華興分銷' });
  await row.getByText('中正路 10 號').waitFor();
  await row.getByText('復興路 22 號').waitFor();
  await shot(office, '11-office-conflicts');

  // Head office keeps the value not shown now, after a confirmation: one signed change that every phone receives.
  const other = row.locator('[data-action=keep][data-which=other]');
  const chosen = (await other.getAttribute('aria-label')).replace(/^[^:]*: /, '');
  assert.match(chosen, /號$/, chosen);
  await other.click();
  const dialog = office.getByRole('dialog');
  await dialog.locator('p', { hasText: chosen }).waitFor();
  await dialog.getByRole('button', { name: '採用這個值', exact: true }).click();
  await seeCount(office.locator('tr.conflict', { hasText: '華興分銷' }), 0);
  await shot(office, '11b-office-conflict-resolved');
  // Both phones, open and online, pull it unasked: the chosen address, and no conflict left.
  for (const p of [lin, chen]) {
    await p.locator('[data-field=address]', { hasText: chosen }).waitFor();
    await seeCount(p.locator('[data-section=conflicts]'), 0);
  }
  await shot(chen, '11c-manager-after-resolution');
  await Promise.all([a.close(), b.close(), ho.close()]);
});

test('offline before the app finished installing: a screen not on the device says so, and opens once back online', async () => {
  const ctx = await browser.newContext({ locale: 'zh-TW', viewport: { width: 412, height: 915 }, serviceWorkers: 'block' });
  ctx.setDefaultTimeout(20_000);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=d-hua]').waitFor();
  await ctx.setOffline(true); // no service worker: nothing but the list has been fetched
  await page.click('[data-dealer=d-hua]');
  await seeText(page.locator('[data-test=screen-missing] p'), '這個畫面還沒有存到這台裝置上，請連上網路後再試一次。');
  await ctx.setOffline(false);
  await page.locator('[data-test=screen-missing] button').click();
  await page.locator('[data-action=edit-profile]').waitFor();
  await ctx.close();
});

test('the language is remembered; the default follows the browser', async () => {
  const ctx = await context(browser, { locale: 'en-US' });
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=d-lin]').waitFor();
  await seeText(page.locator('h1'), "My territory's dealers");
  await page.click('[data-action=lang]');
  await seeText(page.locator('h1'), '我的區域經銷商');
  await page.reload();
  await page.locator('[data-dealer=d-lin]').waitFor();
  await seeText(page.locator('h1'), '我的區域經銷商');
  await page.click('[data-action=lang]');
  await seeText(page.locator('h1'), "My territory's dealers");
  await page.click('[data-dealer=d-lin]');
  await page.locator('[data-section=visits]').waitFor();
  await shot(page, '13-dealer-page-en');
  await ctx.close();
});

test("the visit form reads the browser's GPS fix with its accuracy", async () => {
  const ctx = await context(browser);
  await ctx.grantPermissions(['geolocation']);
  await ctx.setGeolocation({ latitude: 24.2531, longitude: 120.7171, accuracy: 18 });
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=d-hua]').waitFor();
  await page.goto(`${BASE}/#/dealer/d-hua/visit`);
  await page.click('[data-action=locate]');
  await seeText(page.locator('[data-test=gps-status]'), '±18 m'); // good enough: the wait ends
  assert.equal(await page.inputValue('input[name=lat]'), '24.253100');
  assert.equal(await page.inputValue('input[name=accuracy]'), '18');
  await page.click('[data-action=save-visit]');
  const visit = page.locator('[data-section=visits] [data-visit]').first();
  await visit.getByText('24.25310, 120.71710 ±18 m').waitFor();
  assert.doesNotMatch(await visit.innerText(), /手動|by hand/);
  await ctx.close();
});

test('the app is installable: manifest, icon and service worker pass Chromium\'s checks', async () => {
  // Installing needs a real (not incognito) profile.
  const { ctx, done } = await persistent();
  const page = await login(ctx, TOKENS.lin);
  await swReady(page);
  const cdp = await ctx.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);
  await done();
});

test('a failed sync shows the error with a retry button, and retrying sends the change', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.chen);
  await page.locator('[data-dealer=d-bank]').waitFor();
  await synced(page);
  // The server is unreachable while the browser still believes it is online.
  await ctx.route('**/v1/sync', (route) => route.abort('connectionrefused'));
  await page.click('[data-dealer=d-bank]');
  await page.fill('[data-section=downline] input[name=customer]', '豐原農會');
  await page.click('[data-section=downline] button[type=submit]');
  await page.locator('[data-section=downline]').getByText('豐原農會').waitFor();
  await page.locator('[data-test=sync][data-state=error] [data-test=sync-error]').waitFor();
  await eventually(async () => /^1 /.test(await pending(page)), true);
  await shot(page, '15-sync-error-retry');
  await ctx.unroute('**/v1/sync');
  await page.click('[data-action=retry]');
  await synced(page);
  await ctx.close();
});

test('a wrong token is refused at login', async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(`${BASE}/#/login`);
  await page.fill('input[name=token]', 'not-a-token');
  await page.click('form.login button[type=submit]');
  await page.locator('form.login .error', { hasText: '登入失敗' }).waitFor();
  await shot(page, '00-login');
  await ctx.close();
});

test('a visit whose commitment breaks a rule is refused whole, and nothing of it is kept', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=d-old]').waitFor();
  await page.goto(`${BASE}/#/dealer/d-old/visit`);
  const later = new Date(Date.now() + 10 * 86_400_000);
  await page.fill('input[name=at]', new Date(later - later.getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
  await page.fill('input[name=summary]', '不該留下的拜訪');
  await page.click('[data-action=add-commitment]');
  await page.fill('[data-sub=commitment] input[name=what]', '到期日早於拜訪日');
  await page.click('[data-action=save-visit]');
  // The core's refusal, in the reader's language (from its code, never the core's English).
  await page.locator('[data-test=visit-status][data-code=invalid]', { hasText: '資料不符合規定：到期日不能早於承諾的日期' }).waitFor();
  await page.goto(`${BASE}/#/dealer/d-old`);
  // The dealer page, drawn from memory, says there is no visit; so does the disk after a reload.
  await seeText(page.locator('[data-section=visits] li.muted'), '尚無拜訪紀錄');
  await page.reload();
  await seeText(page.locator('[data-section=visits] li.muted'), '尚無拜訪紀錄');
  await ctx.close();
});

test('an edit the server refuses is shown with its reason and can be discarded', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.lin);
  await page.locator('[data-dealer=d-lin]').waitFor();
  await synced(page);
  // A manager may not approve an expense claim; the UI offers no such button, so make the edit directly.
  await page.evaluate(async () => {
    const local = await import('/js/local.js');
    const { stamp } = await import('/js/session.js');
    const doc = 'dealer:d-lin';
    const [claim] = Object.keys(local.state(doc).claims);
    await local.edit('advance', doc, 'claims', claim, 'approved', '', stamp());
  });
  const refused = page.locator('[data-test=rejected]', { hasText: 'dealer:d-lin' });
  await refused.waitFor();
  // The server's refusal, by its code and rule, in Chinese: no English from the server reaches the reader.
  await page.locator('[data-test=rejected][data-code=forbidden]', { hasText: '被伺服器拒絕：你的職務不能做這項修改' }).waitFor();
  assert.doesNotMatch(await refused.innerText(), /approve|role|[a-z]{4,} [a-z]{4,}/);
  await shot(page, '14-refused-edit');
  await refused.locator('button').click();
  // Discarding cannot be undone: it asks first.
  await page.getByRole('dialog', { name: /無法復原/ }).locator('[data-choice=confirm]').click();
  await synced(page);
  await seeCount(page.locator('[data-test=rejected]'), 0);
  await page.click('[data-dealer=d-lin]');
  await page.locator('[data-section=claims] [data-claim]', { hasText: '已申請' }).waitFor();
  await page.locator('[data-section=visits]').getByText('新品教育訓練').waitFor();
  await ctx.close();
});

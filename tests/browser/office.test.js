// Head office's picture in headless Chromium against the real server: filter the visits by manager, open the
// dealer page and see the visit, open the manager page with its charts, export the visits to CSV (BOM, header,
// rows) in both languages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, TOKENS, launch, context, login, shot, seedTerritory, seedAs, eventually, seeText, seeCount } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
let browser;

// t-office: 晨光商行 (tier 1) visited by 陳大文 today, 東昇行 (tier 2) visited 3 days ago, 西湖商號 (tier 3) never:
// the only dealer due a visit. 陳大文 (chen) made 5 visits, 林小美 (lin) 3.
const VISITS = [
  ['v-of-1', 'chen', 0, 0, '陳列調整，晨光老闆同意加購'],
  ['v-of-2', 'chen', 1, 3, '東昇行教育訓練'],
  ['v-of-3', 'chen', 0, 9, '晨光商行月結對帳'],
  ['v-of-4', 'chen', 1, 16, '東昇行新品介紹'],
  ['v-of-5', 'chen', 0, 23, '晨光商行客訴處理'],
  ['v-of-6', 'lin', 1, 4, '林小美陪同拜訪'],
  ['v-of-7', 'lin', 1, 11, '林小美促銷規劃'],
  ['v-of-8', 'lin', 0, 18, '林小美教育訓練'],
];

before(async () => {
  assert.ok(TOKENS.ho, 'tokens come from `cargo xtask test`');
  const dealers = [
    { id: 'd-of-1', name: '晨光商行', tier: 1, address: '台北市大安區' },
    { id: 'd-of-2', name: '東昇行', tier: 2, address: '新北市板橋區' },
    { id: 'd-of-3', name: '西湖商號', tier: 3, address: '桃園市中壢區' },
  ];
  await seedTerritory({ territory: 't-office', name: '總部測試區', region: '北部', managers: ['lin', 'chen'], dealers, at: now - 60 * DAY });
  // Each manager records their own visits (the server refuses a visit signed by anyone else).
  for (const [who, token] of [['chen', TOKENS.chen], ['lin', TOKENS.lin]]) {
    await seedAs(token, who, (r, by) => {
      for (const [id, manager, d, daysAgo, summary] of VISITS.filter((v) => v[1] === who)) {
        const doc = `dealer:${dealers[d].id}`;
        const at = now - daysAgo * DAY - 60_000;
        const gps = id === 'v-of-1' ? { lat: 25.033, lon: 121.5654, accuracy_m: 12 } : undefined;
        const v = r.insert(doc, 'visits', id, JSON.stringify({ manager, at, gps, purposes: { training: true }, summary, attendees: { 晨光老闆: true } }), by(at));
        if (id === 'v-of-1') r.addNote(doc, 'visits', v, '下週補貨 20 箱', by(at));
      }
      if (who !== 'chen') return;
      // 晨光商行 also has a commitment, a claim and a problem, for the dealer page and the manager's numbers.
      const doc = `dealer:${dealers[0].id}`;
      const at = now - 2 * DAY;
      const step = { open: { by: 'chen', at } };
      r.insert(doc, 'commitments', 'c-of-1', JSON.stringify({ what: '送試用品 10 箱', to_whom: '晨光老闆', made_by: 'chen', owner: 'chen', made_at: at,
        due: new Date(now + 10 * DAY).toISOString().slice(0, 10), status: step }), by(at));
      r.insert(doc, 'claims', 'k-of-1', JSON.stringify({ category: 'event', purpose: '客戶聯誼會場地', amount: { minor: 500000, currency: 'TWD' },
        status: { requested: { by: 'chen', at } } }), by(at));
      r.insert(doc, 'problems', 'p-of-1', JSON.stringify({ category: 'competitor', severity: 'high', title: '競品降價 10%', status: step }), by(at));
    });
  }
  browser = await launch();
});

after(async () => { await browser?.close(); });

/** Clicks the CSV button and returns the downloaded file's text, BOM included. */
async function exportCsv(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action=csv]')]);
  return readFileSync(await download.path(), 'utf8');
}

test('head office filters visits by manager, opens the dealer and manager pages, and exports the visits to CSV', async () => {
  const ctx = await context(browser, { viewport: { width: 1280, height: 900 } });
  const page = await login(ctx, TOKENS.ho);
  // The visits tab, as a user opens it (again, should the login's reload land after the first click).
  const ready = page.locator('.office-body[data-ready=visits]');
  await eventually(async () => {
    if (!(await ready.count())) await page.click('[data-tab=visits]', { timeout: 2_000 }).catch(() => {});
    return ready.count();
  }, 1);

  // Territory, then manager: only 陳大文's five visits, and the server's total says so.
  await page.selectOption('select[name=territory]', 't-office');
  await page.locator('select[name=manager] option[value=chen]').waitFor({ state: 'attached' });
  await seeText(page.locator('[data-test=total]'), '共 8');
  await page.selectOption('select[name=manager]', 'chen');
  await seeText(page.locator('[data-test=total]'), '共 5');
  await eventually(() => page.locator('.timeline [data-visit]').evaluateAll((xs) => xs.map((x) => x.dataset.visit)),
    ['v-of-1', 'v-of-2', 'v-of-3', 'v-of-4', 'v-of-5']);
  await eventually(async () => (await page.locator('figure.chart svg rect').count()) > 0, true);

  // The dealer page, from the visit's dealer link: the visit with its note and attendees.
  await page.click('[data-visit=v-of-1] [data-dealer-link]');
  const dealer = page.locator('[data-dealer-page=d-of-1]');
  await dealer.waitFor().catch(async (e) => { console.error(await page.locator('.office-body').innerText()); throw e; });
  await eventually(async () => (await dealer.locator('h2').first().innerText()).startsWith('晨光商行'), true);
  const visit = dealer.locator('[data-visit=v-of-1]');
  await visit.getByText('陳列調整，晨光老闆同意加購').waitFor();
  await visit.getByText('下週補貨 20 箱').waitFor();
  await visit.getByText('在場人員: 晨光老闆').waitFor();
  await visit.getByText('GPS 25.0330, 121.5654 ±12 m').waitFor();
  await seeCount(dealer.locator('[data-section=visits] [data-visit]'), 4);
  await dealer.locator('[data-section=commitments] [data-commitments=c-of-1]', { hasText: '送試用品 10 箱' }).waitFor();
  await dealer.locator('[data-section=claims] [data-claims=k-of-1]', { hasText: '客戶聯誼會場地' }).waitFor();
  await dealer.locator('[data-section=problems] [data-problems=p-of-1]', { hasText: '競品降價 10%' }).waitFor();
  await shot(page, '20-office-dealer-page');

  // The manager page, from the visit's manager: charts, and the one dealer due a visit.
  await visit.locator('[data-manager-link=chen]').click();
  const manager = page.locator('[data-manager-page=chen]');
  await manager.waitFor();
  await eventually(async () => (await manager.locator('h2').first().innerText()).startsWith('陳大文 '), true);
  // Of this territory's dealers only 西湖商號 (tier 3, never visited) is due; the others were visited in time.
  await eventually(() => manager.locator('[data-section=coverage] [data-dealer]').evaluateAll((xs) => xs.map((x) => x.dataset.dealer).filter((d) => d.startsWith('d-of-'))),
    ['d-of-3']);
  await eventually(async () => (await manager.locator('figure.chart').first().locator('rect').count()) >= 4, true);
  await shot(page, '21-office-manager-page');

  // Back to the visits: the filters are kept; the CSV holds every filtered visit, Excel-ready.
  await page.click('[data-tab=visits]');
  await seeText(page.locator('[data-test=total]'), '共 5');
  let csv = await exportCsv(page);
  assert.equal(csv.charCodeAt(0), 0xfeff, 'starts with a byte-order mark');
  let lines = csv.slice(1).trim().split('\r\n');
  assert.equal(lines[0], '時間,經銷商,區域,經理,拜訪目的,摘要,GPS');
  assert.equal(lines.length, 6);
  assert.ok(lines.slice(1).every((l) => l.includes('陳大文') && l.includes('t-office')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('陳列調整，晨光老闆同意加購')));

  // In English, the same file with English headers.
  await page.click('[data-action=lang]');
  await seeText(page.locator('[data-test=total]'), 'Total 5');
  csv = await exportCsv(page);
  lines = csv.slice(1).trim().split('\r\n');
  assert.equal(csv.charCodeAt(0), 0xfeff);
  assert.equal(lines[0], 'When,Dealer,Territory,Manager,Purposes,Summary,GPS');
  assert.equal(lines.length, 6);
  await page.click('[data-action=lang]');
  await seeText(page.locator('[data-test=total]'), '共 5');
  // Head office's screens, which a manager's first visit does not download, are cached for
  // head office once its page runs under the service worker (so they open offline too).
  await page.reload();
  await page.locator('.office-body').waitFor();
  await eventually(() => page.evaluate(async () => {
    const keys = await Promise.all((await caches.keys()).filter((k) => k !== 'fieldsync-meta').map(async (k) => (await (await caches.open(k)).keys()).map((r) => new URL(r.url).pathname)));
    return keys.flat().includes('/js/views/office-dealer.js');
  }), true);
  await ctx.close();
});

// A record's audit history at head office, in headless Chromium against the real server, in both languages: a manager
// records a commitment, another manager's phone edits it while the first edits it too (neither saw the other), both
// sync; head office opens the dealer page, then the commitment's history, and sees each write with its user, the
// device's time, the server's receive time, the GPS fix taken with it, and which value lost the concurrent edit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, seedTerritory, replicaOf, deviceOf, eventually, seeText, seeCount, shot } from './harness.js';

const HOUR = 3_600_000;
const now = Date.now();
const doc = 'dealer:d-hist-1';
const ID = 'c-hist-1';
// The phones were offline: their clocks say when the edits were made, hours before the server received them.
const MADE = now - 5 * HOUR;
const CHEN_AT = now - 2 * HOUR;
const LIN_AT = now - 90 * 60_000;
const GPS = { lat: 25.033, lon: 121.5654, accuracy_m: 8 };
let browser;
let synced; // [first, last] moment of the edits' sync, by this machine's clock (the server's)

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.chen && TOKENS.lin, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-history', name: '歷程測試區', region: '北部', managers: ['chen', 'lin'], at: now - 30 * 24 * HOUR,
    dealers: [{ id: 'd-hist-1', name: '歷程商行', address: '新竹市東區' }] });
  const chen = await replicaOf(TOKENS.chen, 'chen');
  chen.r.insert(doc, 'commitments', ID, JSON.stringify({ what: '送試用品 5 箱', to_whom: '歷程老闆', made_by: 'chen', owner: 'chen', made_at: MADE,
    due: new Date(now + 10 * 24 * HOUR).toISOString().slice(0, 10), status: { open: { by: 'chen', at: MADE } } }), chen.by(MADE));
  await chen.sync();
  const lin = await replicaOf(TOKENS.lin, 'lin');
  // Concurrent edits of what was promised: chen on his phone, lin on hers with a GPS fix.
  chen.r.update(doc, 'commitments', ID, JSON.stringify({ what: '送試用品 8 箱' }), chen.by(CHEN_AT));
  const linStamp = JSON.stringify({ user: 'lin', device: await deviceOf(TOKENS.lin), at: LIN_AT, gps: GPS });
  lin.r.update(doc, 'commitments', ID, JSON.stringify({ what: '送試用品 12 箱' }), linStamp);
  const start = Date.now();
  await chen.sync();
  await lin.sync();
  synced = [start, Date.now()];
  chen.r.free();
  lin.r.free();
  browser = await launch();
});
after(async () => { await browser?.close(); });

for (const [lang, locale, words] of [
  ['zh-Hant', 'zh-TW', { open: '歷程', title: (what) => `「${what}」的修改歷程`, lost: '未採用（同時修改時落選）', close: '關閉' }],
  ['en', 'en-US', { open: 'History', title: (what) => `Edit history of “${what}”`, lost: 'Lost to a concurrent edit', close: 'Close' }],
]) {
  test(`head office opens a commitment's history and sees the device's and the server's time (${lang})`, async () => {
    const ctx = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const page = await login(ctx, TOKENS.ho);
    await page.goto(`${BASE}/#/office/dealer/d-hist-1`);
    const button = page.locator(`[data-commitments=${ID}] [data-action=history]`);
    await seeText(button, words.open);
    await button.click();

    const dialog = page.locator(`dialog[data-history="commitment:${ID}"]`);
    await dialog.locator('[data-test=history-body][data-ready=true]').waitFor();

    const what = dialog.locator('[data-field=what] tbody tr');
    await seeCount(what, 3);
    // Each write: its value, who, the device's clock and the server's, formatted the way the page formats them.
    const rows = await what.evaluateAll((trs) => trs.map((tr) => ({
      value: tr.querySelector('[data-test=value]').textContent,
      device: Number(tr.querySelector('[data-test=device-time]').dataset.ms),
      deviceText: tr.querySelector('[data-test=device-time]').textContent,
      server: Number(tr.querySelector('[data-test=server-time]').dataset.ms),
      serverText: tr.querySelector('[data-test=server-time]').textContent,
      gps: tr.querySelector('[data-test=gps]').textContent,
      lost: tr.dataset.lost === 'true',
      beat: [...tr.querySelectorAll('[data-test=lost-value]')].map((x) => x.textContent),
    })));
    assert.equal(rows[0].value, '送試用品 5 箱');
    assert.equal(rows[0].device, MADE);
    const chenRow = rows.find((r) => r.value === '送試用品 8 箱');
    const linRow = rows.find((r) => r.value === '送試用品 12 箱');
    assert.equal(chenRow.device, CHEN_AT);
    assert.equal(linRow.device, LIN_AT);
    // The texts are those moments in the dealer's zone, to the second.
    const { zone } = await (await fetch(`${BASE}/api/dealers/d-hist-1`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } })).json();
    const text = (ms) => page.evaluate(async ([m, z]) => (await import('/js/views/office-history.js')).stamp(m, z), [ms, zone]);
    for (const r of [chenRow, linRow]) {
      assert.ok(r.server >= synced[0] && r.server <= synced[1], `server time ${r.server} within the sync ${synced}`);
      assert.equal(r.deviceText, await text(r.device));
      assert.equal(r.serverText, await text(r.server));
      assert.notEqual(r.deviceText, r.serverText, 'the device made it hours before the server received it');
    }
    assert.match(linRow.gps, /25\.03300, 121\.56540 ±8 m/);
    assert.equal(chenRow.gps, '—');
    // One of the concurrent values lost; the winner names it, and it is what the dealer page shows.
    const [winner, loser] = chenRow.lost ? [linRow, chenRow] : [chenRow, linRow];
    assert.equal(loser.lost, true);
    assert.equal(winner.lost, false);
    assert.equal(winner.beat.length, 1);
    assert.ok(winner.beat[0].includes(loser.value), winner.beat[0]);
    await seeText(dialog.locator('tr[data-lost=true] [data-test=lost]'), words.lost);
    // The dialog is named by its heading (the record as it reads now), which has the focus.
    await eventually(() => page.evaluate(() => `${document.activeElement.tagName} ${document.activeElement.textContent}`), `H2 ${words.title(winner.value)}`);
    if (lang === 'zh-Hant') await shot(page, 'office-history');

    await dialog.locator('[data-action=close-history]').click();
    await dialog.waitFor({ state: 'detached' });
    await eventually(() => page.evaluate(() => document.activeElement?.dataset.action), 'history');
    await seeText(page.locator(`[data-commitments=${ID}] td`).first(), winner.value);
    await ctx.close();
  });
}

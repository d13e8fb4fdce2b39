// One truth everywhere: a commitment marked kept on one phone and broken on another at the same time reads the
// same on the phone and at head office (the core decides, both sides show the conflict) until head office keeps one
// of them; a step that cannot be
// undone asks first; "overdue" starts at midnight in the territory's zone (Asia/Taipei), whatever the phone's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENS, launch, context, login, seedTerritory, replicaOf, eventually, seeText, seeCount, BASE } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
/** A day as Taipei writes it (UTC+8, no daylight saving). */
const taipeiDay = (ms) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);
// Due three days from now in Taipei; the phone's clock is then set to 00:30 the day after, in Taipei.
const DUE = taipeiDay(now + 3 * DAY);
const AFTER = Date.parse(`${DUE}T00:30:00+08:00`) + DAY;
let browser;

before(async () => {
  assert.ok(TOKENS.ho, 'tokens come from `cargo xtask test`');
  await seedTerritory({
    territory: 't-truth', name: '一致性測試區', region: '北部', managers: ['lin', 'chen'], at: now - 10 * DAY,
    dealers: [{ id: 'd-truth', name: '同步商行', tier: 1, address: '台中市西屯區' }],
  });
  const chen = await replicaOf(TOKENS.chen, 'chen');
  const at = now - 5 * DAY;
  for (const [id, what, due] of [['c-both', '月底前補貨 30 箱', taipeiDay(now + 20 * DAY)], ['c-keep', '教育訓練講義', taipeiDay(now + 20 * DAY)], ['c-due', '送新品海報', DUE]]) {
    chen.r.insert('dealer:d-truth', 'commitments', id, JSON.stringify({ what, to_whom: '王老闆', made_by: 'chen', owner: 'chen', made_at: at, due,
      status: { open: { by: 'chen', at } } }), chen.by(at));
  }
  await chen.sync();
  // Two phones read the open commitment, then, neither seeing the other, one marks it kept and the other broken.
  const lin = await replicaOf(TOKENS.lin, 'lin');
  lin.r.advance('dealer:d-truth', 'commitments', 'c-both', 'kept', '', lin.by(now - DAY));
  chen.r.advance('dealer:d-truth', 'commitments', 'c-both', 'broken', '', chen.by(now - DAY));
  await lin.sync();
  await chen.sync();
  lin.r.free();
  chen.r.free();
  browser = await launch();
});

after(async () => { await browser?.close(); });

test('a concurrent kept and broken read the same on the phone and at head office, both marked as conflicted', async () => {
  const ctx = await context(browser);
  const phone = await login(ctx, TOKENS.lin);
  await phone.goto(`${BASE}/#/dealer/d-truth`);
  const badge = phone.locator('[data-commitment=c-both] [data-status]');
  await badge.waitFor();
  const onPhone = await badge.innerText();
  assert.match(onPhone, /未兌現/);
  assert.match(onPhone, /已兌現/, 'the other concurrent step is named');
  assert.equal(await badge.getAttribute('data-also'), 'kept');
  // No step is offered on a commitment that is no longer open.
  await seeCount(phone.locator('[data-commitment=c-both] button'), 0);

  const office = await login(await context(browser, { viewport: { width: 1280, height: 900 } }), TOKENS.ho);
  await office.goto(`${BASE}/#/office/dealer/d-truth`);
  const row = office.locator('tr[data-commitments=c-both]');
  await row.waitFor();
  assert.ok((await row.innerText()).includes(onPhone), `head office shows "${onPhone}" too: ${await row.innerText()}`);
  await office.context().close();
  await ctx.close();
});

test('the concurrent kept and broken are a conflict at head office, who keeps "kept": the phone then shows it settled', async () => {
  const ctx = await context(browser);
  const phone = await login(ctx, TOKENS.lin);
  await phone.goto(`${BASE}/#/dealer/d-truth`);
  // On the phone: listed as a conflict of the commitment's status, with both steps.
  const onPhone = phone.locator('[data-section=conflicts]', { hasText: '承諾狀態' });
  await onPhone.getByText(/已兌現/).waitFor();
  await onPhone.getByText(/未兌現/).waitFor();

  const ho = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(ho, TOKENS.ho);
  await office.click('[data-tab=conflicts]');
  const row = office.locator('tr.conflict[data-kind=steps][data-doc="dealer:d-truth"]');
  await row.getByText('承諾狀態').waitFor();
  await row.getByRole('button', { name: '採用這個值: 已兌現' }).click();
  const dialog = office.getByRole('dialog');
  await dialog.locator('p', { hasText: '已兌現' }).waitFor();
  await dialog.getByRole('button', { name: '採用這個值', exact: true }).click();
  await seeCount(row, 0);
  // Head office's dealer page and the phone both read it kept, no longer conflicted; both steps stay recorded.
  await office.goto(`${BASE}/#/office/dealer/d-truth`);
  const hoRow = office.locator('tr[data-commitments=c-both]');
  await hoRow.waitFor();
  await eventually(async () => { const x = await hoRow.innerText(); return x.includes('已兌現') && !x.includes('未兌現'); }, true);
  await phone.reload();
  await phone.locator('[data-section=commitments]').waitFor();
  await seeCount(phone.locator('[data-section=conflicts]'), 0);
  await seeCount(phone.locator('[data-commitment=c-both]'), 0); // settled: no longer among the open ones
  await Promise.all([ho.close(), ctx.close()]);
});

test('marking a commitment kept asks first, and Cancel changes nothing', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.chen);
  await page.goto(`${BASE}/#/dealer/d-truth`);
  const item = page.locator('[data-commitment=c-keep]');
  await item.getByRole('button', { name: '已兌現' }).click();
  const dialog = page.getByRole('dialog', { name: /教育訓練講義.*無法復原/ });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: '取消' }).click();
  await seeCount(dialog, 0);
  await seeText(item.locator('[data-status]'), '待兌現');
  await item.getByRole('button', { name: '已兌現' }).click();
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.closest('dialog') != null), true, 'focus is in the dialog');
  await dialog.getByRole('button', { name: '已兌現' }).click();
  // Kept: it leaves the open commitments.
  await seeCount(page.locator('[data-commitment=c-keep]'), 0);
  await ctx.close();
});

test('"overdue" starts at midnight in the territory\'s zone (Asia/Taipei), not the phone\'s', async () => {
  // A phone set to Los Angeles, at 23:30 on the due day in Taipei (07:30 that day in LA).
  const ctx = await browser.newContext({ locale: 'zh-TW', timezoneId: 'America/Los_Angeles', viewport: { width: 412, height: 915 } });
  ctx.setDefaultTimeout(20_000);
  await ctx.clock.setFixedTime(AFTER - 60 * 60_000);
  const page = await login(ctx, TOKENS.lin);
  assert.equal(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), 'America/Los_Angeles');
  await page.goto(`${BASE}/#/dealer/d-truth`);
  const item = page.locator('[data-commitment=c-due]');
  await item.waitFor();
  await seeCount(item.locator('[data-test=overdue]'), 0);
  // Midnight passes in Taipei: overdue, though the phone's own calendar still shows the due day.
  await ctx.clock.setFixedTime(AFTER);
  await page.reload();
  assert.equal(await page.evaluate(() => new Date().toLocaleDateString('sv-SE')), DUE, "the phone's own day is the due day");
  await item.locator('[data-test=overdue]', { hasText: '逾期' }).waitFor();
  await ctx.close();
});

test('the home screen\'s "my commitments" turns overdue at midnight in the zone, from what it stored the day before', async () => {
  const ctx = await browser.newContext({ locale: 'zh-TW', timezoneId: 'America/Los_Angeles', viewport: { width: 412, height: 915 } });
  ctx.setDefaultTimeout(20_000);
  await ctx.clock.setFixedTime(AFTER - 60 * 60_000);
  const page = await login(ctx, TOKENS.chen);
  await page.goto(`${BASE}/#/commitments`);
  const item = (overdue) => page.locator(`[data-section=my-commitments] [data-commitment=c-due][data-overdue=${overdue}]`);
  await item(false).waitFor();
  // The list is drawn from each dealer's stored summary; the next day in Taipei it is made again.
  await ctx.clock.setFixedTime(AFTER);
  await page.reload();
  await item(true).waitFor();
  await ctx.close();
});

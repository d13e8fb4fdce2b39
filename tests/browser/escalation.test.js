// Problems escalated to head office in headless Chromium against the real server: a manager escalates a problem
// on the phone, it waits in head office's escalation queue with its age bucket, head office answers and assigns
// it (an ordinary signed change), and the manager's phone shows the answer after sync.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, shot, seedTerritory, seedAs, synced, eventually, seeText } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const DOC = 'dealer:d-esc-1';
let browser;

const problem = (title, at) => JSON.stringify({ category: 'dealer', severity: 'high', title, status: { open: { by: 'chen', at } } });

before(async () => {
  assert.ok(TOKENS.chen, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-esc', name: '上呈測試區', region: '中部', managers: ['chen'],
    dealers: [{ id: 'd-esc-1', name: '大成商行', tier: 1, address: '台中市西屯區' }], at: now - 60 * DAY });
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.insert(DOC, 'problems', 'pr-esc-1', problem('八月業務員工資尚未結清', now - 10 * DAY), by(now - 10 * DAY));
    r.insert(DOC, 'problems', 'pr-esc-2', problem('陳列架損壞待更換', now - 2 * DAY), by(now - 2 * DAY));
    r.escalate(DOC, 'pr-esc-2', by(now - DAY));
  });
  browser = await launch();
});

after(async () => { await browser?.close(); });

test('a manager escalates a problem, head office answers from the queue, and the phone shows the answer', async () => {
  const ctx = await context(browser);
  const phone = await login(ctx, TOKENS.chen);
  await phone.goto(`${BASE}/#/dealer/d-esc-1`);
  await synced(phone);
  const mine = phone.locator('[data-section=problems] [data-problem=pr-esc-1]');
  await mine.locator('[data-action=escalate]').click();
  await seeText(mine.locator('.escalation .badge'), '已上呈，等候總部回覆');
  await synced(phone);

  const hoCtx = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(hoCtx, TOKENS.ho);
  await office.goto(`${BASE}/#/office/escalations`);
  await office.locator('.office-body[data-ready=escalations]').waitFor();
  const row = office.locator('[data-section=escalations] [data-problem=pr-esc-1]');
  await row.waitFor();
  await office.locator('[data-section=escalations] [data-problem=pr-esc-2]').waitFor();
  assert.ok(Number(await office.locator('[data-age=month] b').innerText()) >= 1, 'a problem raised 10 days ago is under a month old');
  await shot(office, '32-escalation-queue');
  await row.locator('textarea[name=response]').fill('總部本週撥款，請與經銷商結清');
  await row.locator('input[name=assign]').fill('chen');
  await row.locator('button[type=submit]').click();
  await eventually(() => office.locator('[data-section=escalations] [data-problem=pr-esc-1]').getAttribute('data-answered'), 'true', 30_000);
  await hoCtx.close();

  // The phone hears from the live channel (or its next sync) and shows the answer.
  await eventually(() => mine.locator('[data-escalation]').getAttribute('data-escalation'), 'responded', 30_000);
  await seeText(mine.locator('[data-test=response]'), '總部回覆: 總部本週撥款，請與經銷商結清');
  await ctx.close();
});

// Head office's activities tab in headless Chromium against the real server: a joint promotion and a customer event a
// manager recorded at a dealer, filtered by territory and status, with the budget of those not cancelled, and the
// list exported to CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TOKENS, launch, context, login, seedTerritory, seedAs, eventually, seeText } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const DOC = 'dealer:d-act-1';
let browser;

before(async () => {
  assert.ok(TOKENS.chen, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-act', name: '活動測試區', region: '北部', managers: ['chen'],
    dealers: [{ id: 'd-act-1', name: '旭日商行', tier: 1 }], at: now - 30 * DAY });
  const day = (n) => new Date(now + n * DAY).toISOString().slice(0, 10);
  const step = { planned: { by: 'chen', at: now - DAY } };
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.insert(DOC, 'activities', 'a-act-1', JSON.stringify({ kind: 'promotion', title: '週年慶聯合促銷', starts: day(5), ends: day(7),
      budget: { minor: 3_000_000, currency: 'TWD' }, status: step }), by(now - DAY));
    r.insert(DOC, 'activities', 'a-act-2', JSON.stringify({ kind: 'customer_event', title: '核心客戶聯誼會', starts: day(10), ends: day(10),
      budget: { minor: 1_000_000, currency: 'TWD' }, status: step }), by(now - DAY));
  });
  await seedAs(TOKENS.chen, 'chen', (r, by) => r.advance(DOC, 'activities', 'a-act-2', 'cancelled', '', by(now)));
  browser = await launch();
});

after(async () => { await browser?.close(); });

test('head office lists the activities held with dealers, filters them and exports them', async () => {
  const ctx = await context(browser, { viewport: { width: 1280, height: 900 } });
  const page = await login(ctx, TOKENS.ho);
  const ready = page.locator('.office-body[data-ready=activities]');
  await eventually(async () => {
    if (!(await ready.count())) await page.click('[data-tab=activities]', { timeout: 2_000 }).catch(() => {});
    return ready.count();
  }, 1);
  await page.selectOption('select[name=territory]', 't-act');
  await seeText(page.locator('[data-test=total]'), '共 2');
  await page.locator('tr[data-activity=a-act-1]', { hasText: '週年慶聯合促銷' }).waitFor();
  await page.locator('tr[data-activity=a-act-1]', { hasText: '旭日商行' }).waitFor();
  await page.locator('tr[data-activity=a-act-2]', { hasText: '已取消' }).waitFor();
  // The cancelled event's budget is not counted.
  await eventually(async () => (await page.locator('[data-test=activity-budget] b').innerText()).replace(/\s+/g, ' '), 'TWD 30,000');
  await page.selectOption('select[name=status]', 'cancelled');
  await seeText(page.locator('[data-test=total]'), '共 1');
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('[data-action=csv]')]);
  const csv = readFileSync(await file.path(), 'utf8');
  assert.equal(csv.charCodeAt(0), 0xfeff);
  const lines = csv.slice(1).trim().split('\r\n');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.ok(lines[1].startsWith('核心客戶聯誼會,旭日商行,客戶聯誼會,'), lines[1]);
  await ctx.close();
});

// Reconciliation ageing in headless Chromium against the real server: a claim spent a month ago and not
// reconciled is overdue on the manager's home screen (core's rule through wasm) and on head office's claims
// dashboard (the server's count, by the same rule); head office lengthens the period and it is no longer overdue.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, seedTerritory, seedAs, assignTerritory, synced, eventually, seeText } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const DOC = 'dealer:d-age-1';
let browser;

const claim = (purpose, minor, at) => JSON.stringify({ category: 'event', purpose, amount: { minor, currency: 'TWD' },
  status: { requested: { by: 'chen', at } } });
const spent = (minor) => JSON.stringify({ spent: { minor, currency: 'TWD' } });

async function setDays(days) {
  const res = await fetch(`${BASE}/api/claim-ageing`, {
    method: 'PUT', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ days }),
  });
  assert.equal(res.status, 200, await res.text());
}

before(async () => {
  assert.ok(TOKENS.lee, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-age', name: '核報測試區', region: '北部', managers: ['chen'],
    dealers: [{ id: 'd-age-1', name: '曉光商行', tier: 1, address: '桃園市中壢區' }], at: now - 60 * DAY });
  await assignTerritory('lee', 't-age');
  await setDays(14);
  const at = now - 40 * DAY;
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.insert(DOC, 'claims', 'k-age-late', claim('經銷商說明會餐費', 100_000, at), by(at));
    r.insert(DOC, 'claims', 'k-age-fresh', claim('新品試用活動', 50_000, at + 1000), by(at + 1000));
  });
  await seedAs(TOKENS.lee, 'lee', (r, by) => {
    r.advance(DOC, 'claims', 'k-age-late', 'approved', '', by(at + 2000));
    r.advance(DOC, 'claims', 'k-age-fresh', 'approved', '', by(at + 3000));
  });
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.advance(DOC, 'claims', 'k-age-late', 'spent', spent(90_000), by(now - 30 * DAY));
    r.advance(DOC, 'claims', 'k-age-fresh', 'spent', spent(40_000), by(now - 2 * DAY));
  });
  browser = await launch();
});

after(async () => {
  await setDays(14);
  await browser?.close();
});

test('a claim spent a month ago and not reconciled is overdue on the phone and at head office', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.chen);
  await page.goto(`${BASE}/#/dealers`);
  await synced(page);
  const news = page.locator('[data-section=my-claims]');
  await eventually(() => news.locator('li[data-overdue=true]').evaluateAll((els) => els.map((e) => e.dataset.claim)), ['k-age-late']);
  await seeText(news.locator('[data-claim=k-age-late] .badge.overdue'), '逾期未核報');
  assert.equal(await news.locator('[data-claim=k-age-fresh]').getAttribute('data-status'), 'spent');
  await ctx.close();

  const hoCtx = await context(browser, { locale: 'en-US', viewport: { width: 1280, height: 900 } });
  const office = await login(hoCtx, TOKENS.ho);
  await office.goto(`${BASE}/#/office/claims`);
  await office.locator('.office-body[data-ready=claims]').waitFor();
  await seeText(office.locator('[data-section=ageing] .tile.overdue span'), 'Overdue for reconciliation');
  await office.locator('input[name=overdue]').check();
  const listed = () => office.locator('.office-body[data-ready=claims] .pipeline [data-claim]').evaluateAll((els) => els.map((e) => e.dataset.claim).filter((c) => c.startsWith('k-age')));
  await eventually(listed, ['k-age-late']);
  // Head office allows 45 days: a claim spent 30 days ago is on time again.
  await office.fill('input[name=ageing-days]', '45');
  await office.click('[data-action=ageing-form] button[type=submit]');
  await eventually(listed, []);
  await eventually(() => office.locator('input[name=ageing-days]').inputValue(), '45');
  await hoCtx.close();
});

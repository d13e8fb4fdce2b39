// Expense claims end to end in headless Chromium against the real server: a regional manager approves a claim
// within their limit from the approvals inbox and the manager's phone shows it approved; a claim above the limit
// cannot be approved by the regional manager and head office approves it; the manager records the amount actually
// spent with a receipt photo and reconciles it with the dealer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, shot, seedTerritory, seedAs, assignTerritory, synced, eventually, seeText } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const DOC = 'dealer:d-ap-1';
let browser;

const claim = (id, purpose, minor, at) => JSON.stringify({ category: 'placement', purpose, amount: { minor, currency: 'TWD' },
  status: { requested: { by: 'chen', at } } });

before(async () => {
  assert.ok(TOKENS.lee, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-appr', name: '批復測試區', region: '北部', managers: ['chen'],
    dealers: [{ id: 'd-ap-1', name: '晨曦商行', tier: 1, address: '新竹市東區' }], at: now - 30 * DAY });
  await assignTerritory('lee', 't-appr');
  // Head office: the regional manager approves up to NT$5,000 a claim in this territory.
  const res = await fetch(`${BASE}/api/approval-limits`, {
    method: 'PUT', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ limits: [{ role: 'regional', territory: 't-appr', currency: 'TWD', max_minor: 500_000 }] }),
  });
  assert.equal(res.status, 200, await res.text());
  const at = now - 2 * DAY;
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.insert(DOC, 'claims', 'k-ap-1', claim('k-ap-1', '端午節鋪市陳列', 300_000, at), by(at));
    r.insert(DOC, 'claims', 'k-ap-2', claim('k-ap-2', '年度經銷商大會場地', 800_000, at + 1000), by(at + 1000));
    r.insert(DOC, 'claims', 'k-ap-3', claim('k-ap-3', '業務員八月工資補貼', 120_000, at + 2000), by(at + 2000));
    r.insert(DOC, 'claims', 'k-ap-4', claim('k-ap-4', '門市海報印刷', 50_000, at + 4000), by(at + 4000));
  });
  // k-ap-3 was approved already (by the regional manager, through the sync path).
  await seedAs(TOKENS.lee, 'lee', (r, by) => r.advance(DOC, 'claims', 'k-ap-3', 'approved', '', by(at + 3000)));
  browser = await launch();
});

after(async () => { await browser?.close(); });

/** The manager's phone on the dealer's page, synced. */
async function phone() {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.chen);
  await page.goto(`${BASE}/#/dealer/d-ap-1`);
  await synced(page);
  return { ctx, page };
}

/** An approver's browser on the approvals inbox. */
async function inbox(token, locale = 'zh-TW') {
  const ctx = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
  const page = await login(ctx, token);
  await page.goto(`${BASE}/#/office/approvals`);
  await page.locator('.office-body[data-ready=approvals]').waitFor();
  return { ctx, page };
}

const status = (page, id) => page.locator(`[data-section=claims] [data-claim=${id}]`).getAttribute('data-status');

test('a regional manager approves a claim within the limit and the manager\'s phone shows it approved after sync', async () => {
  const m = await phone();
  await eventually(() => status(m.page, 'k-ap-1'), 'requested');
  const r = await inbox(TOKENS.lee);
  const row = r.page.locator('[data-section=approvals] [data-claim=k-ap-1]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-above'), 'false');
  await seeText(r.page.locator('[data-section=approvals] [data-claim=k-ap-2] [data-test=above-limit]'), '超過你的核准額度，由總部核准');
  await shot(r.page, '30-approvals-inbox');
  await row.locator('[data-action=approve]').click();
  await row.waitFor({ state: 'detached' });
  // The phone hears from the live channel, syncs, and shows the decision.
  await eventually(() => status(m.page, 'k-ap-1'), 'approved', 30_000);
  await seeText(m.page.locator('[data-claim=k-ap-1] .badge.cl-approved'), '已核准');
  // A rejection needs a reason, and the manager reads it.
  const other = r.page.locator('[data-section=approvals] [data-claim=k-ap-4]');
  await other.locator('input[name=reason]').fill('請改用總部統一印製的海報');
  await other.locator('[data-action=reject]').click();
  await other.waitFor({ state: 'detached' });
  await eventually(() => status(m.page, 'k-ap-4'), 'rejected', 30_000);
  await seeText(m.page.locator('[data-claim=k-ap-4] [data-test=reason]'), '駁回原因: 請改用總部統一印製的海報');
  // The home screen lists both decisions: what to do next, and why one was rejected.
  await m.page.goto(`${BASE}/#/dealers`);
  const news = m.page.locator('[data-section=my-claims]');
  await eventually(() => news.locator('li[data-claim^=k-ap-]').evaluateAll((els) => els.map((e) => [e.dataset.claim, e.dataset.status]).sort()),
    [['k-ap-1', 'approved'], ['k-ap-3', 'approved'], ['k-ap-4', 'rejected']]);
  await seeText(news.locator('[data-claim=k-ap-4] .muted').last(), '駁回原因: 請改用總部統一印製的海報');
  await r.ctx.close();
  await m.ctx.close();
});

test('a claim above the limit cannot be approved by the regional manager and is approved by head office', async () => {
  const r = await inbox(TOKENS.lee, 'en-US');
  const row = r.page.locator('[data-section=approvals] [data-claim=k-ap-2]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-above'), 'true');
  await seeText(row.locator('[data-test=above-limit]'), 'Above your approval limit: head office decides');
  assert.equal(await row.locator('[data-action=approve]').isDisabled(), true);
  await r.ctx.close();
  const ho = await inbox(TOKENS.ho);
  const hoRow = ho.page.locator('[data-section=approvals] [data-claim=k-ap-2]');
  await hoRow.waitFor();
  assert.equal(await hoRow.getAttribute('data-above'), 'false');
  await hoRow.locator('[data-action=approve]').click();
  await hoRow.waitFor({ state: 'detached' });
  await ho.ctx.close();
  const m = await phone();
  await eventually(() => status(m.page, 'k-ap-2'), 'approved', 30_000);
  await m.ctx.close();
});

test('the manager enters the amount actually spent with a receipt photo, and reconciles with the dealer', async () => {
  const m = await phone();
  const item = m.page.locator('[data-section=claims] [data-claim=k-ap-3]');
  await eventually(() => item.getAttribute('data-status'), 'approved');
  await item.locator('[data-action=spent]').click();
  await item.locator('input[name=spent]').fill('1150');
  const picture = await m.page.screenshot({ type: 'png' });
  await item.locator('input[name=receipt]').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: picture });
  await item.locator('[data-action=spent-form] .thumbs img').waitFor();
  await shot(m.page, '31-claim-spent-with-receipt');
  await item.locator('[data-action=save-spent]').click();
  await eventually(() => item.getAttribute('data-status'), 'spent');
  await seeText(item.locator('[data-test=spent]'), '已支用: TWD\u00a01,150' /* Intl puts a no-break space after the code */);
  await item.locator('[data-test=receipts] img').waitFor();
  await synced(m.page);
  await item.locator('[data-action=reconcile]').click();
  // Reconciled cannot be undone: the app asks first.
  await m.page.getByRole('dialog').getByRole('button', { name: '與經銷商核銷完成' }).click();
  await eventually(() => item.getAttribute('data-status'), 'reconciled');
  await synced(m.page);
  // Head office's picture has it reconciled, with what was spent, and the receipt is on the server.
  const api = (path) => fetch(`${BASE}${path}`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } });
  const claims = await eventually(async () => {
    const p = await (await api('/api/claims?dealer=d-ap-1&status=reconciled')).json();
    return p.items.map((c) => [c.id, c.spent_minor]);
  }, [['k-ap-3', 115_000]]);
  assert.equal(claims.length, 1);
  const dealer = await (await api('/api/dealers/d-ap-1')).json();
  const [hash] = Object.keys(dealer.claims.find((c) => c.id === 'k-ap-3').receipts);
  await eventually(async () => (await api(`/v1/photos/${hash}`)).status, 200);
  await m.ctx.close();
  // Head office's dealer page shows it reconciled, with the amount spent, its receipt and its edit history.
  const ho = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(ho, TOKENS.ho);
  await office.goto(`${BASE}/#/office/dealer/d-ap-1`);
  const row = office.locator('[data-section=claims] [data-claims=k-ap-3] td');
  await eventually(() => row.allInnerTexts(), ['業務員八月工資補貼', '上架費', 'TWD\u00a01,200', 'TWD\u00a01,150', '已核銷', '1', '', '歷程']);
  await ho.close();
});

// Commitments within authority in headless Chromium against the real server: a manager's commitment above their
// authority shows "pending approval" on the phone and cannot be marked kept; a regional manager approves it from the
// approvals inbox (asked first); after the sync the phone shows it approved, made, and the manager can keep it. The
// manager's own open commitments across dealers are one tap from the home screen, overdue first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, shot, seedTerritory, seedAs, assignTerritory, synced, eventually, seeText, offline } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const DOC = 'dealer:d-cm-1';
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
let browser;

const commitment = (what, minor, at) => JSON.stringify({ what, to_whom: '林老闆', made_by: 'chen', owner: 'chen', made_at: at,
  due: day(at + 14 * DAY), amount: { minor, currency: 'TWD' }, status: { open: { by: 'chen', at } } });

before(async () => {
  assert.ok(TOKENS.lee, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-cmt', name: '承諾測試區', region: '北部', managers: ['chen'],
    dealers: [{ id: 'd-cm-1', name: '永豐商行', tier: 1, address: '桃園市中壢區' }, { id: 'd-cm-2', name: '大發行', tier: 2, address: '桃園市平鎮區' }],
    at: now - 30 * DAY });
  await assignTerritory('lee', 't-cmt');
  // Head office: managers promise up to NT$1,000 alone here; regional managers approve up to NT$5,000.
  const res = await fetch(`${BASE}/api/approval-limits`, {
    method: 'PUT', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ limits: [
      { kind: 'commitment', role: 'manager', territory: 't-cmt', currency: 'TWD', max_minor: 100_000 },
      { role: 'regional', territory: 't-cmt', currency: 'TWD', max_minor: 500_000 },
    ] }),
  });
  assert.equal(res.status, 200, await res.text());
  const at = now - DAY;
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.insert(DOC, 'commitments', 'p-cm-1', commitment('結算八月業務員工資', 300_000, at), by(at));
    r.insert(DOC, 'commitments', 'p-cm-2', commitment('補寄海報', 50_000, at + 1000), by(at + 1000));
    // At another dealer, made twenty days ago and due six days ago: overdue.
    r.insert('dealer:d-cm-2', 'commitments', 'p-cm-3', commitment('對帳上架費', 20_000, now - 20 * DAY), by(now - 20 * DAY));
  });
  browser = await launch();
});

after(async () => { await browser?.close(); });

test('a commitment above the manager\'s authority is pending until a regional manager approves it from the inbox', async () => {
  const ctx = await context(browser);
  const phone = await login(ctx, TOKENS.chen);
  await phone.goto(`${BASE}/#/dealer/d-cm-1`);
  await synced(phone);
  const big = phone.locator('[data-section=commitments] [data-commitment=p-cm-1]');
  await seeText(big.locator('[data-test=pending-approval]'), '待主管核准');
  // Pending: nothing to mark kept or broken yet; the one within the authority can be.
  assert.equal(await big.locator('.actions button').count(), 0);
  assert.equal(await phone.locator('[data-commitment=p-cm-2] [data-test=pending-approval]').count(), 0);
  await phone.locator('[data-commitment=p-cm-2] .actions button').first().waitFor();
  await shot(phone, '32-commitment-pending-approval');

  const rctx = await context(browser, { viewport: { width: 1280, height: 900 } });
  const inbox = await login(rctx, TOKENS.lee);
  await inbox.goto(`${BASE}/#/office/approvals`);
  await inbox.locator('.office-body[data-ready=approvals]').waitFor();
  const row = inbox.locator('[data-section=commitment-approvals] [data-commitment=p-cm-1]');
  await row.waitFor();
  assert.equal(await row.getAttribute('data-above'), 'false');
  assert.equal(await inbox.locator('[data-section=commitment-approvals] [data-commitment=p-cm-2]').count(), 0);
  await row.locator('[data-action=approve]').click();
  // Asked first: the decision cannot be undone.
  await inbox.getByRole('dialog').locator('[data-choice=confirm]').click();
  await row.waitFor({ state: 'detached' });
  await rctx.close();

  // The phone syncs (the live channel tells it) and shows the commitment approved: made, to keep.
  await eventually(() => big.locator('.badge[data-status]').getAttribute('data-status'), 'approved', 30_000);
  await seeText(big.locator('.badge[data-status=approved]'), '已核准');
  assert.equal(await big.locator('[data-test=pending-approval]').count(), 0);
  await big.locator('.actions button').first().waitFor();
  const made = await eventually(async () => {
    const p = await (await fetch(`${BASE}/api/commitments?dealer=d-cm-1`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } })).json();
    return p.items.map((c) => [c.id, c.status]);
  }, [['p-cm-1', 'open'], ['p-cm-2', 'open']]);
  assert.equal(made.length, 2);
  await ctx.close();
});

test('the manager\'s open commitments across dealers are one tap from the home screen, overdue first, offline too', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.chen);
  await synced(page);
  await offline(ctx); // in the field, no signal: the list is on the phone
  await page.locator('[data-action=my-commitments]').click();
  const list = page.locator('[data-section=my-commitments]');
  await seeText(list.locator('h1'), '我的承諾');
  const ours = () => list.locator('li[data-commitment]').evaluateAll((els) => els
    .map((e) => [e.dataset.commitment, e.dataset.overdue]).filter(([id]) => id.startsWith('p-cm-')));
  await eventually(ours, [['p-cm-3', 'true'], ['p-cm-1', 'false'], ['p-cm-2', 'false']]);
  await seeText(list.locator('[data-commitment=p-cm-3] .badge.overdue'), '逾期');
  await shot(page, '33-my-commitments');
  await list.locator('[data-commitment=p-cm-3] a').click();
  await page.locator('[data-section=commitments] [data-commitment=p-cm-3]').waitFor();
  await ctx.close();
});

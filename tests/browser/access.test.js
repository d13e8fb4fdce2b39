// Access taken away (issue 7): a manager with a visit not yet sent loses their territory. After the next
// sync the dealer is gone from the phone, and the visit is listed as not delivered (exportable, kept across
// a reload) instead of being dropped; when access comes back it reaches the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, synced, seedTerritory, eventually, seeCount, shot } from './harness.js';

let browser;

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.gao, 'tokens come from `cargo xtask browser`');
  await seedTerritory({ territory: 't-west', name: '西區', region: '西部', managers: ['gao'], dealers: [{ id: 'w-one', name: '西區測試商行', address: '彰化縣鹿港鎮1號' }] });
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function assign(territories) {
  const r = await fetch(`${BASE}/api/users/gao/territories`, {
    method: 'PUT', headers: { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ territories }),
  });
  assert.equal(r.status, 200, await r.text());
}

async function onServer() {
  const res = await fetch(`${BASE}/api/visits?per_page=500`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } });
  return (await res.json()).items.map((v) => v.summary);
}

test('a visit not yet sent when the territory is taken away is listed as not delivered, never dropped', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.gao);
  await page.locator('[data-dealer=w-one]').waitFor();
  await synced(page);

  // The visit is recorded while the server cannot be reached.
  await ctx.route('**/v1/sync', (route) => route.abort('connectionrefused'));
  await page.goto(`${BASE}/#/dealer/w-one/visit`);
  await page.fill('input[name=summary]', '權限移除前的拜訪');
  await page.check('input[value=training]');
  await page.click('[data-action=save-visit]');
  await page.locator('[data-section=visits]').getByText('權限移除前的拜訪').waitFor();
  await eventually(async () => Number((await page.locator('[data-test=pending]').innerText()).split(' ')[0]) >= 1, true);

  // Head office takes t-west away; then the phone reaches the server again.
  await assign([]);
  await page.goto(`${BASE}/#/dealers`);
  await ctx.unroute('**/v1/sync');
  const kept = page.locator('[data-test=undelivered]');
  await kept.getByText('西區測試商行').waitFor({ timeout: 30_000 });
  await kept.getByText(/拜訪 1/).waitFor();
  await seeCount(page.locator('[data-dealer=w-one]'), 0);
  await synced(page);
  assert.ok(!(await onServer()).includes('權限移除前的拜訪'), 'nothing of the lost territory was accepted');
  await shot(page, '30-access-removed-visit-not-delivered');

  // It can be exported as an Automerge file, and it is still there after a reload.
  const [file] = await Promise.all([page.waitForEvent('download'), kept.locator('[data-action=export]').click()]);
  assert.equal(file.suggestedFilename(), 'dealer-w-one.automerge');
  await page.reload();
  await page.locator('[data-test=undelivered]').getByText('西區測試商行').waitFor();
  await seeCount(page.locator('[data-dealer=w-one]'), 0);

  // Access comes back: the kept visit is delivered and the list goes away.
  await assign(['t-west']);
  await page.locator('[data-dealer=w-one]').waitFor({ timeout: 30_000 });
  await seeCount(page.locator('[data-test=undelivered]'), 0, 30_000);
  await eventually(async () => (await onServer()).includes('權限移除前的拜訪'), true, 30_000);
  await ctx.close();
});

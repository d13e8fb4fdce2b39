// The territory handover (交接) in headless Chromium against the real server: head office hands t-hand over from
// hsu to tsai; tsai's phone shows the checklist of hsu's open items (Pending, then Flagged, then Accepted), takes
// one over (asked first) and flags one (with a reason); after the sync the server shows tsai as the owner. Head
// office's handovers tab shows the open handover and the items at risk, a flagged one with its age. Both screens
// pass axe-core in zh-Hant and in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, shot, seedTerritory, seedAs, replicaOf, synced, eventually, seeText, audit } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const LANGS = [['zh-Hant', 'zh-TW'], ['en', 'en-US']];
const ho = { Authorization: `Bearer ${TOKENS.ho}`, 'Content-Type': 'application/json' };
let browser, hid;

const day = (ms) => new Date(ms).toISOString().slice(0, 10);

before(async () => {
  assert.ok(TOKENS.hsu && TOKENS.tsai, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-hand', name: '交接測試區', region: '北部', managers: ['hsu'], at: now - 60 * DAY,
    dealers: [{ id: 'd-hand-1', name: '永和商行', address: '新北市永和區' }, { id: 'd-hand-2', name: '中和百貨', address: '新北市中和區' }] });
  // hsu's open work: a commitment, a claim and a problem at one dealer, an older problem at the other.
  await seedAs(TOKENS.hsu, 'hsu', (r, by) => {
    const doc = 'dealer:d-hand-1';
    const made = now - 20 * DAY;
    r.insert(doc, 'commitments', 'hc-1', JSON.stringify({ what: '補寄新品海報', to_whom: '王老闆', made_by: 'hsu', owner: 'hsu', made_at: made,
      due: day(now + 10 * DAY), status: { open: { by: 'hsu', at: made } } }), by(made));
    const asked = now - 15 * DAY;
    r.insert(doc, 'claims', 'hcl-1', JSON.stringify({ category: 'event', purpose: '週年慶場地', amount: { minor: 80_000, currency: 'TWD' },
      status: { requested: { by: 'hsu', at: asked } } }), by(asked));
    const raised = now - 10 * DAY;
    r.insert(doc, 'problems', 'hp-1', JSON.stringify({ category: 'market', severity: 'medium', title: '貨架位置被競品占用',
      status: { open: { by: 'hsu', at: raised } } }), by(raised));
    const old = now - 45 * DAY;
    r.insert('dealer:d-hand-2', 'problems', 'hp-2', JSON.stringify({ category: 'dealer', severity: 'high', title: '對帳金額不符',
      status: { open: { by: 'hsu', at: old } } }), by(old));
  });
  const res = await fetch(`${BASE}/api/territories/t-hand/handover`, { method: 'POST', headers: ho,
    body: JSON.stringify({ from: 'hsu', to: 'tsai', deadline_days: 14, grace_days: 3 }) });
  const body = await res.text();
  assert.equal(res.status, 201, body);
  hid = JSON.parse(body).id;
  browser = await launch();
});

after(async () => { await browser?.close(); });

/** The checklist's groups in order, each with its items' ids. */
const groups = (page) => page.locator('[data-section=handover] [data-group]').evaluateAll((els) => els
  .map((g) => [g.dataset.group, [...g.querySelectorAll('[data-item]')].map((li) => `${li.dataset.item}:${li.dataset.state}`)]));

test('the incoming manager\'s phone shows the handover checklist and accepting an item moves it', async () => {
  const ctx = await context(browser);
  const phone = await login(ctx, TOKENS.tsai);
  await synced(phone); // t-hand's dealers are on the phone now
  await seeText(phone.locator('[data-action=handover]'), '交接清單 (4)');
  await phone.click('[data-action=handover]');
  await seeText(phone.locator('[data-section=handover] h1'), '交接清單');
  // Oldest first; nothing reviewed yet.
  await eventually(() => groups(phone), [['pending', ['hp-2:pending', 'hc-1:pending', 'hcl-1:pending', 'hp-1:pending']], ['flagged', []], ['accepted', []]]);
  await seeText(phone.locator('[data-item=hc-1] strong'), '補寄新品海報');
  await shot(phone, '34-handover-checklist');

  // Taking over asks first; a flag needs a reason.
  await phone.click('[data-item=hc-1] [data-action=accept]');
  await phone.getByRole('dialog').locator('[data-choice=confirm]').click();
  await phone.locator('[data-group=accepted] [data-item=hc-1][data-state=accepted]').waitFor();
  await phone.click('[data-item=hp-1] [data-action=flag]');
  const dialog = phone.getByRole('dialog');
  await dialog.locator('[data-choice=flag]').click(); // no reason: the dialog stays
  await dialog.locator('[data-test=dialog-text]').fill('競品已簽約，需要總部協調');
  await dialog.locator('[data-choice=flag]').click();
  await seeText(phone.locator('[data-group=flagged] [data-item=hp-1] [data-test=reason]'), '問題說明：競品已簽約，需要總部協調');
  await eventually(() => groups(phone), [['pending', ['hp-2:pending', 'hcl-1:pending']], ['flagged', ['hp-1:flagged']], ['accepted', ['hc-1:accepted']]]);
  // Done waits for the pending ones.
  assert.equal(await phone.locator('[data-handover] [data-action=complete]').isDisabled(), true);
  await shot(phone, '34b-handover-accepted');

  // After the sync the server holds tsai's review, and the commitment is tsai's.
  await synced(phone);
  await eventually(async () => {
    const p = await (await fetch(`${BASE}/api/commitments?dealer=d-hand-1`, { headers: ho })).json();
    return p.items.map((c) => [c.id, c.owner]);
  }, [['hc-1', 'tsai']]);
  await ctx.close();
});

test('head office sees a flagged item at risk with its age', async () => {
  // tsai flags the older problem from another device of theirs.
  const device = await replicaOf(TOKENS.tsai, 'tsai');
  device.r.review('dealer:d-hand-2', 'problems', 'hp-2', hid, 'flagged', '金額差三千元，前任經理未說明', device.by());
  await device.sync();
  device.r.free();

  const ctx = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(ctx, TOKENS.ho);
  await office.goto(`${BASE}/#/office/handovers`);
  await office.locator('.office-body[data-ready=handovers]').waitFor();
  const open = office.locator(`[data-section=open-handovers] [data-handover="${hid}"]`);
  await open.waitFor();
  await seeText(open.locator('[data-count=pending] b'), '1'); // the claim
  const row = office.locator('[data-section=at-risk] tr[data-item=hp-2]');
  await eventually(() => row.getAttribute('data-state'), 'flagged');
  assert.equal(await row.locator('[data-age-days]').getAttribute('data-age-days'), '45');
  await seeText(row.locator('[data-age-days]'), '45 天');
  await seeText(row.locator('td').nth(7), '金額差三千元，前任經理未說明');
  // Taken over: not at risk; still open and pending or flagged: at risk, oldest first.
  const ids = () => office.locator('[data-section=at-risk] tr[data-item]').evaluateAll((els) => els.map((e) => e.dataset.item));
  await eventually(ids, ['hp-2', 'hcl-1', 'hp-1']);
  await shot(office, '35-handover-at-risk');
  await ctx.close();
});

for (const [lang, locale] of LANGS) {
  test(`the handover checklist and head office's handovers tab pass axe-core (${lang})`, async () => {
    const problems = [];
    const ctx = await context(browser, { locale });
    const phone = await login(ctx, TOKENS.tsai);
    await phone.goto(`${BASE}/#/handover`);
    await phone.locator('[data-section=handover] [data-item=hcl-1] [data-action=accept]').waitFor();
    for (const p of await audit(phone)) problems.push(`checklist: ${p}`);
    await ctx.close();
    const hoCtx = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const office = await login(hoCtx, TOKENS.ho);
    await office.goto(`${BASE}/#/office/handovers`);
    await office.locator('.office-body[data-ready=handovers] [data-section=at-risk] tr[data-item]').first().waitFor();
    for (const p of await audit(office)) problems.push(`head office: ${p}`);
    await hoCtx.close();
    assert.deepEqual(problems, []);
  });
}

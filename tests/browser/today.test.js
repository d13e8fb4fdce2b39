// The manager's day (issue 10, items 3 and 4) in headless Chromium against the real server, in zh-Hant and in English:
// the home screen's "today" card lists a dealer past its tier's visit frequency (not one visited in time) and head
// office's answer to an escalated problem until it is opened; a commitment and a problem added to a dealer outside
// any visit show on its page, and the commitment (due today) on the card; a joint visit naming two downline customers
// shows them on the phone's dealer page and, after sync, on head office's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, shot, seedTerritory, seedAs, synced, seeText, seeCount } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const LANGS = [
  ['zh-Hant', 'zh-TW', { visits: '該去拜訪的經銷商', answers: '總部的新回覆', commitments: '今天到期及逾期的承諾', seen: '陪同拜訪' }],
  ['en', 'en-US', { visits: 'Dealers due a visit', answers: 'New answers from head office', commitments: 'Commitments due today or overdue', seen: 'Visited with' }],
];
const DOWNLINE = { 'c-1': { name: '王記小吃', core: true, note: '' }, 'c-2': { name: '美玲商店', core: false, note: '' }, 'c-3': { name: '大同五金', core: false, note: '' } };
let browser;

const visit = (at) => JSON.stringify({ manager: 'zhao', at, purposes: { training: true }, summary: '例行拜訪' });

before(async () => {
  assert.ok(TOKENS.zhao && TOKENS.ho, 'tokens come from `cargo xtask test`');
  // Per language: a dealer to visit with its downline (visited yesterday), a tier-1 dealer last visited 20 days ago
  // (due: every 14 days by default) and one visited 3 days ago (not due).
  const dealers = LANGS.flatMap(([l]) => [
    { id: `j-${l}`, name: `聯誼商行 ${l}`, tier: 2, downline: DOWNLINE },
    { id: `late-${l}`, name: `久未拜訪商號 ${l}`, tier: 1 },
    { id: `fresh-${l}`, name: `剛拜訪商號 ${l}`, tier: 1 },
  ]);
  await seedTerritory({ territory: 't-today', name: '今日測試區', region: '南部', managers: ['zhao'], dealers, at: now - 60 * DAY });
  await seedAs(TOKENS.zhao, 'zhao', (r, by) => {
    for (const [l] of LANGS) {
      r.insert(`dealer:j-${l}`, 'visits', undefined, visit(now - DAY), by(now - DAY));
      r.insert(`dealer:late-${l}`, 'visits', undefined, visit(now - 20 * DAY), by(now - 20 * DAY));
      r.insert(`dealer:fresh-${l}`, 'visits', undefined, visit(now - 3 * DAY), by(now - 3 * DAY));
      r.insert(`dealer:j-${l}`, 'problems', `pr-${l}`, JSON.stringify({ category: 'dealer', severity: 'high', title: `貨架損壞 ${l}`,
        status: { open: { by: 'zhao', at: now - 5 * DAY } } }), by(now - 5 * DAY));
      r.escalate(`dealer:j-${l}`, `pr-${l}`, by(now - 4 * DAY));
    }
  });
  await seedAs(TOKENS.ho, 'ho', (r, by) => {
    for (const [l] of LANGS) r.respond(`dealer:j-${l}`, `pr-${l}`, `總部下週派人更換 ${l}`, undefined, by(now - DAY));
  });
  browser = await launch();
});

after(async () => { await browser?.close(); });

for (const [l, locale, words] of LANGS) {
  test(`the day on the home screen, records outside a visit and a joint visit (${l})`, async () => {
    const ctx = await context(browser, { locale });
    const phone = await login(ctx, TOKENS.zhao);
    const card = phone.locator('[data-section=today]');
    const group = (key) => card.locator(`[data-today=${key}]`);
    await group('answers').locator('summary').waitFor();
    await synced(phone);

    // Due a visit: the tier-1 dealer last seen 20 days ago, not the one seen 3 days ago.
    await group('visits').locator('summary', { hasText: words.visits }).click();
    await group('visits').locator(`[data-dealer=late-${l}]`).waitFor();
    await seeCount(group('visits').locator(`[data-dealer=fresh-${l}], [data-dealer=j-${l}]`), 0);

    // Head office's answer, until opened.
    await group('answers').locator('summary', { hasText: words.answers }).click();
    const answer = group('answers').locator(`[data-problem=pr-${l}]`);
    await answer.getByText(`總部下週派人更換 ${l}`).waitFor();

    // A commitment and a problem added to the dealer outside any visit.
    await answer.locator('a').click();
    await phone.waitForURL(new RegExp(`#/dealer/j-${l}$`));
    await phone.locator('[data-action=record-commitment]').click();
    await phone.fill('[data-record=commitment] input[name=what]', `補送展示架 ${l}`);
    await phone.fill('[data-record=commitment] input[name=to_whom]', '王老闆');
    await phone.click('[data-record=commitment] [data-action=save-record]');
    await phone.locator('[data-section=commitments]').getByText(`補送展示架 ${l}`).waitFor();
    await phone.locator('[data-action=record-problem]').click();
    await phone.fill('[data-record=problem] input[name=title]', `促銷品短少 ${l}`);
    await phone.click('[data-record=problem] [data-action=save-record]');
    await phone.locator('[data-section=problems]').getByText(`促銷品短少 ${l}`).waitFor();

    // A joint visit naming two of the dealer's downline customers (core ones listed first).
    await phone.click('[data-action=record-visit]');
    const boxes = phone.locator('[data-test=customers] input[name=customers]');
    await seeCount(boxes, 3);
    assert.equal(await boxes.first().getAttribute('value'), 'c-1', 'the core customer comes first');
    await phone.check('[data-test=customers] input[value=c-1]');
    await phone.check('[data-test=customers] input[value=c-2]');
    await phone.fill('input[name=summary]', `陪同拜訪下線客戶 ${l}`);
    await phone.click('[data-action=save-visit]');
    await phone.waitForURL(new RegExp(`#/dealer/j-${l}$`));
    const joint = phone.locator('[data-section=visits] li.visit', { hasText: `陪同拜訪下線客戶 ${l}` });
    await seeText(joint.locator('[data-test=customers]'), `${words.seen}: 王記小吃、美玲商店`);
    await synced(phone);

    // Home again: the new commitment is due today (or already overdue in the territory's zone); the answer was opened.
    await phone.goto(`${BASE}/#/`);
    await group('commitments').locator('summary', { hasText: words.commitments }).click();
    await group('commitments').getByText(`補送展示架 ${l}`).waitFor();
    await seeCount(group('answers').locator(`[data-problem=pr-${l}]`), 0);
    if (l === 'zh-Hant') {
      await group('visits').locator('summary').click();
      await group('visits').locator(`[data-dealer=late-${l}]`).waitFor();
      await seeCount(phone.locator('[data-test=toast]'), 0); // the dealer page's "saved" has gone
      await shot(phone, 'home');
    }
    await ctx.close();

    // Head office's dealer page names the customers visited.
    const hoCtx = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const office = await login(hoCtx, TOKENS.ho);
    await office.goto(`${BASE}/#/office/dealer/j-${l}`);
    await office.locator('.office-body[data-ready=dealer]').waitFor();
    await office.getByText('王記小吃、美玲商店').first().waitFor();
    await hoCtx.close();
  });
}

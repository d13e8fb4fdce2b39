// Accessibility (issue 11): axe-core runs on every screen — the manager's dealer list, new dealer form, dealer page (with its
// edit form and an activity's plan and held forms), visit form (with its sub-records) and dialog; head office's every tab, dealer page (and a record's
// history dialog) and manager page; the login screen and a login link's PIN question — in zh-Hant and in English, and fails on any serious or critical violation
// (the handover checklist and head office's handovers tab with items in them: handover.test.js). Every
// control is at least 44 px square; focus moves to the new view's heading and the window title follows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, loginCode, synced, seedTerritory, seedAs, eventually, seeText, offline, audit } from './harness.js';

const DAY = 86_400_000;
const LANGS = [['zh-Hant', 'zh-TW'], ['en', 'en-US']];
const OFFICE_TABS = ['territories', 'dealers', 'visits', 'commitments', 'problems', 'activities', 'claims', 'sales', 'pnl', 'approvals', 'escalations', 'handovers', 'conflicts'];
let browser;

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.zhao, 'tokens come from `cargo xtask test`');
  const now = Date.now();
  await seedTerritory({ territory: 't-south', name: '南區', region: '南部', managers: ['zhao'], at: now - 60 * DAY,
    dealers: [{ id: 'a-one', name: '無障礙商行', address: '台中市西區', downline: { 'c-1': { name: '西區小舖', core: true, note: '' } } }, { id: 'a-two', name: '第二商號' }] });
  // A visit with a commitment, a problem and a claim, so every section of the pages has rows.
  await seedAs(TOKENS.zhao, 'zhao', (r, by) => {
    const doc = 'dealer:a-one';
    const at = now - 2 * DAY;
    const v = r.insert(doc, 'visits', undefined, JSON.stringify({ manager: 'zhao', at, gps: { lat: 24.14, lon: 120.66, accuracy_m: 15 }, purposes: { training: true }, summary: '無障礙測試拜訪', attendees: { 老闆: true } }), by(at));
    r.addNote(doc, 'visits', v, '一則備註', by(at));
    const open = { open: { by: 'zhao', at } };
    r.insert(doc, 'commitments', undefined, JSON.stringify({ what: '送樣品', to_whom: '老闆', made_by: 'zhao', owner: 'zhao', made_at: at, due: new Date(now - DAY).toISOString().slice(0, 10), status: open }), by(at));
    r.insert(doc, 'problems', undefined, JSON.stringify({ category: 'market', severity: 'high', title: '缺貨', status: open }), by(at));
    r.insert(doc, 'claims', undefined, JSON.stringify({ category: 'event', purpose: '活動場地', amount: { minor: 120000, currency: 'TWD' }, status: { requested: { by: 'zhao', at } } }), by(at));
    const day = new Date(now + 5 * DAY).toISOString().slice(0, 10);
    r.insert(doc, 'activities', undefined, JSON.stringify({ kind: 'promotion', title: '無障礙促銷', starts: day, ends: day, invited: { 'c-1': true }, status: { planned: { by: 'zhao', at } } }), by(at));
  });
  browser = await launch();
});
after(async () => { await browser?.close(); });

for (const [lang, locale] of LANGS) {
  test(`every screen passes axe-core (${lang}): login, the manager's screens and dialog, head office's tabs and pages`, async () => {
    const problems = [];
    const check = async (page, screen) => { for (const p of await audit(page)) problems.push(`${screen}: ${p}`); };

    const guest = await context(browser, { locale });
    const door = await guest.newPage();
    await door.goto(`${BASE}/#/login`);
    await door.locator('form.login').waitFor();
    await check(door, 'login');
    // A login link's PIN question (choose one at the first login, give it after).
    await door.goto(`${BASE}/#/login?code=${encodeURIComponent(await loginCode(TOKENS.zhao))}`);
    await door.locator('form[data-test=pin], form[data-test=pin-new]').waitFor();
    await check(door, 'login PIN');
    await guest.close();

    const ctx = await context(browser, { locale });
    const page = await login(ctx, TOKENS.zhao);
    await page.locator('[data-dealer=a-one]').waitFor();
    await synced(page);
    await check(page, 'dealer list');
    // The day's card atop it, every list opened.
    for (const summary of await page.locator('[data-section=today] summary').all()) await summary.click();
    await page.locator('[data-section=today] details[open] li').first().waitFor();
    await check(page, 'today card');
    await page.click('[data-action=new-dealer]');
    await page.locator('form.new-dealer').waitFor();
    await check(page, 'new dealer form');
    await page.goBack();
    await page.click('[data-dealer=a-one]');
    await page.locator('[data-section=visits] [data-visit]').first().waitFor();
    await check(page, 'dealer page');
    await page.click('[data-action=edit-profile]');
    await page.locator('form.edit input[name=name]').waitFor();
    await check(page, 'dealer page, profile form open');
    await page.click('[data-action=plan-activity]');
    await page.locator('[data-form=plan-activity] input[name=title]').waitFor();
    await page.click('[data-section=activities] [data-action=hold-activity]');
    await page.locator('[data-form=hold-activity] textarea[name=result]').waitFor();
    await check(page, 'dealer page, activity plan and held forms open');
    await page.click('[data-action=record-visit]');
    await page.locator('.visit-form').waitFor();
    for (const kind of ['commitment', 'problem', 'claim']) {
      await page.click(`[data-action=add-${kind}]`);
      await page.locator(`[data-sub=${kind}]`).waitFor();
    }
    await check(page, 'visit form with a commitment, a problem and a claim');
    // The question before logging out with unsent work (the sub-records go first: they are empty).
    while (await page.locator('[data-sub]').count()) await page.locator('[data-sub] button.link').first().click();
    await offline(ctx);
    await page.fill('input[name=summary]', `未送出的拜訪 ${lang}`);
    await page.click('[data-action=save-visit]');
    await page.locator('[data-section=visits]').getByText(`未送出的拜訪 ${lang}`).waitFor();
    await page.click('[data-action=logout]');
    await page.locator('dialog[data-test=dialog]').waitFor();
    await check(page, 'unsent-work dialog');
    await page.locator('dialog [data-choice=cancel]').click();
    await ctx.setOffline(false);
    await synced(page);
    await ctx.close();

    const hoCtx = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const office = await login(hoCtx, TOKENS.ho);
    for (const tab of OFFICE_TABS) {
      await office.goto(`${BASE}/#/office/${tab}`);
      await office.locator(`.office-body[data-ready=${tab}]`).waitFor();
      await check(office, `head office: ${tab}`);
    }
    await office.goto(`${BASE}/#/office/dealer/a-one`);
    await office.locator('[data-dealer-page=a-one] [data-visit]').first().waitFor();
    await check(office, 'head office: dealer page');
    await office.locator('[data-section=commitments] [data-action=history]').first().click();
    await office.locator('dialog[data-history] [data-test=history-body][data-ready=true]').waitFor();
    await check(office, 'head office: a record\'s history');
    await office.locator('[data-action=close-history]').click();
    await office.locator('dialog[data-history]').waitFor({ state: 'detached' });
    await office.goto(`${BASE}/#/office/manager/zhao`);
    await office.locator('[data-manager-page=zhao]').waitFor();
    await check(office, 'head office: manager page');
    await hoCtx.close();

    assert.deepEqual(problems, []);
  });
}

test('navigating moves focus to the new view\'s heading, and the window title follows the view', async () => {
  const ctx = await context(browser);
  const page = await login(ctx, TOKENS.zhao);
  await page.locator('[data-dealer=a-one]').waitFor();
  await eventually(() => page.title(), '我的區域經銷商 · 渠道通');
  await page.click('[data-dealer=a-one]');
  const focused = () => page.evaluate(() => `${document.activeElement.tagName} ${document.activeElement.textContent}`);
  await eventually(focused, 'H1 無障礙商行');
  await eventually(() => page.title(), '無障礙商行 · 渠道通');
  await page.click('[data-action=record-visit]');
  await eventually(focused, 'H1 記錄拜訪 · 無障礙商行');
  await page.goBack();
  await eventually(focused, 'H1 無障礙商行');
  // The sync status is a live region that speaks when the state changes.
  await seeText(page.locator('[data-test=sync] [role=status]'), '已連線');
  await offline(ctx);
  await seeText(page.locator('[data-test=sync] [role=status]'), '離線');
  await ctx.close();

  const ho = await context(browser, { viewport: { width: 1280, height: 900 } });
  const office = await login(ho, TOKENS.ho);
  await office.locator('.office-body[data-ready=territories]').waitFor();
  await office.click('[data-tab=visits]');
  await eventually(() => office.title(), '拜訪時間軸 · 總部看板 · 渠道通');
  await eventually(() => office.evaluate(() => document.activeElement.tagName), 'H1');
  await ho.close();
});

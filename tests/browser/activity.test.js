// A manager's promotions and customer events in headless Chromium against the real server, in zh-Hant and in English:
// offline, they plan a promotion with a budget inviting two downline customers and turn the budget into an expense
// claim, hold a customer event (who came, headcount, result, a photo) and cancel a third; after the sync, head office's
// dealer page shows each activity's invited and attended customers, headcount, result, photo and claim.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, synced, seedTerritory, offline, seeText, shot } from './harness.js';

const LANGS = [
  ['zh-Hant', 'zh-TW', { planned: '規劃中', held: '已舉辦', cancelled: '已取消', requested: '已申請' }],
  ['en', 'en-US', { planned: 'Planned', held: 'Held', cancelled: 'Cancelled', requested: 'Requested' }],
];
const DOWNLINE = { 'k-1': { name: '王記五金', core: true, note: '' }, 'k-2': { name: '陳家行', core: false, note: '' }, 'k-3': { name: '大發', core: false, note: '' } };
let browser;

before(async () => {
  assert.ok(TOKENS.zhao, 'tokens come from `cargo xtask browser`');
  await seedTerritory({ territory: 't-event', name: '活動區', region: '中部', managers: ['zhao'],
    dealers: LANGS.map(([lang]) => ({ id: `e-${lang}`, name: `活動商行 ${lang}`, downline: DOWNLINE })) });
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** Opens the plan form, fills it and saves; returns the new activity's row. */
async function plan(page, { kind, title, budget, invited }) {
  const card = page.locator('[data-section=activities]');
  await card.locator('[data-action=plan-activity]').click();
  const form = card.locator('[data-form=plan-activity]');
  await form.locator('select[name=kind]').selectOption(kind);
  await form.locator('input[name=title]').fill(title);
  await form.locator('input[name=starts]').fill(new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10));
  if (budget) await form.locator('input[name=budget]').fill(budget);
  for (const k of invited) await form.locator(`input[name=invited][value=${k}]`).check();
  await form.locator('button[type=submit]').click();
  const row = card.locator('li[data-activity]', { hasText: title });
  await row.waitFor();
  return row;
}

for (const [lang, locale, words] of LANGS) {
  test(`a manager plans, holds and cancels activities offline and turns a budget into a claim; head office sees them (${lang})`, async () => {
    const dealer = `e-${lang}`;
    const ctx = await context(browser, { locale });
    const page = await login(ctx, TOKENS.zhao);
    await page.locator(`[data-dealer=${dealer}]`).waitFor();
    await synced(page);
    await offline(ctx);
    await page.locator('[data-test=sync][data-state=offline]').waitFor();
    await page.click(`[data-dealer=${dealer}]`);
    await page.locator('[data-section=activities]').waitFor();

    // A promotion with a NT$30,000 budget, inviting two downline customers; its budget becomes a claim, once.
    const promo = await plan(page, { kind: 'promotion', title: `春季聯合促銷 ${lang}`, budget: '30000', invited: ['k-1', 'k-2'] });
    await seeText(promo.locator('[data-status]').first(), words.planned);
    await seeText(promo.locator('[data-test=invited]'), `${lang === 'en' ? 'Invited downline customers: ' : '邀請的下線客戶：'}王記五金、陳家行`);
    await promo.locator('[data-action=budget-claim]').click();
    await seeText(promo.locator('[data-test=claim]'), `${lang === 'en' ? 'Expense claim: ' : '費用申請：'}${words.requested}`);
    await promo.locator('[data-action=budget-claim]').waitFor({ state: 'detached' });
    const claim = page.locator('[data-section=claims] [data-claim]', { hasText: `春季聯合促銷 ${lang}` });
    await claim.waitFor();
    await claim.getByText(/30,000/).waitFor();

    // A customer event held: one of the two invited came, 25 people in all, a result and a photo.
    const event = await plan(page, { kind: 'customer_event', title: `客戶聯誼會 ${lang}`, invited: ['k-1', 'k-3'] });
    await event.locator('[data-action=hold-activity]').click();
    const held = event.locator('[data-form=hold-activity]');
    await held.locator('input[name=attended][value=k-3]').check();
    await held.locator('input[name=attendance]').fill('25');
    await held.locator('textarea[name=result]').fill('現場簽下三張訂單');
    await held.locator('input[name=photos]').setInputFiles({ name: 'event.png', mimeType: 'image/png', buffer: await page.screenshot({ type: 'png' }) });
    await held.locator('.thumbs img').waitFor();
    await held.locator('button[type=submit]').click();
    const done = page.locator(`li[data-activity][data-status=held]`, { hasText: `客戶聯誼會 ${lang}` });
    await seeText(done.locator('[data-test=result]'), `${lang === 'en' ? 'Result: ' : '活動成果：'}現場簽下三張訂單`);
    await done.locator('[data-test=attended]', { hasText: '大發' }).waitFor();
    await done.locator('.thumbs img').waitFor();

    // A third, cancelled after the question that says it cannot be undone.
    const dropped = await plan(page, { kind: 'promotion', title: `取消的促銷 ${lang}`, invited: [] });
    await dropped.locator('[data-action=cancel-activity]').click();
    await page.getByRole('dialog').locator('[data-choice=confirm]').click();
    await page.locator('li[data-activity][data-status=cancelled]', { hasText: `取消的促銷 ${lang}` }).waitFor();
    await shot(page, `activity-dealer-page-${lang}`);

    await ctx.setOffline(false);
    await synced(page);
    await ctx.close();

    const ho = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const office = await login(ho, TOKENS.ho);
    await office.goto(`${BASE}/#/office/dealer/${dealer}`);
    const rows = office.locator(`[data-dealer-page=${dealer}] [data-section=activities] tr[data-activities]`);
    const row = (title) => rows.filter({ hasText: title });
    await row(`春季聯合促銷 ${lang}`).waitFor();
    await row(`春季聯合促銷 ${lang}`).getByText('王記五金、陳家行').waitFor();
    await row(`春季聯合促銷 ${lang}`).getByText(`春季聯合促銷 ${lang} · ${words.requested}`).waitFor();
    const ev = row(`客戶聯誼會 ${lang}`);
    await ev.getByText(words.held).waitFor();
    await ev.getByText('王記五金、大發').waitFor();
    await ev.getByText('現場簽下三張訂單').waitFor();
    await ev.locator('td', { hasText: /^25$/ }).waitFor();
    await row(`取消的促銷 ${lang}`).getByText(words.cancelled).waitFor();
    // The event's photo, uploaded after the sync, as head office reads it.
    await office.waitForFunction(() => document.querySelector('[data-section=activity-photos] img')?.naturalWidth > 0, null, { timeout: 30_000 });
    await shot(office, `activity-office-dealer-page-${lang}`);
    await ho.close();
  });
}

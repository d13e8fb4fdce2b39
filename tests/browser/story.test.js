// Issue 10's whole story in headless Chromium against the real server, in zh-Hant and in English. A manager, offline
// with the phone's GPS, adds a prospect, gives it a contact and two downline customers, records a joint visit naming
// both, a commitment and a note outside the visit, plans a promotion with a budget and turns the budget into a claim.
// Online, after the sync, head office finds the dealer by filtering the visits on that manager, opens the dealer page
// and sees all of it, opens the manager page, exports the visits to CSV (the test reads the file) and opens the
// commitment's audit history, which shows the phone's time and the server's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, TOKENS, launch, context, login, synced, seedTerritory, offline, eventually, seeText } from './harness.js';

const LANGS = [
  ['zh-Hant', 'zh-TW', { territory: 't-story-zh', total: '共 1', requested: '已申請' }],
  ['en', 'en-US', { territory: 't-story-en', total: 'Total 1', requested: 'Requested' }],
];
let browser;

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.yang, 'tokens come from `cargo xtask test`');
  // yang's own territories, one per language, each with a dealer already there (so the phone has something to sync).
  for (const [lang, , { territory }] of LANGS) {
    await seedTerritory({ territory, name: `故事區 ${lang}`, region: '東部', managers: ['yang'], dealers: [{ id: `s-old-${lang}`, name: `老主顧商行 ${lang}` }] });
  }
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function exportCsv(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-action=csv]')]);
  return readFileSync(await download.path(), 'utf8');
}

const month = new Date().toISOString().slice(0, 7);

for (const [lang, locale, words] of LANGS) {
  test(`a manager's offline day reaches head office whole: prospect, customers, joint visit, promotion, claim, history (${lang})`, async () => {
    const name = `花蓮新商行 ${lang}`;
    const visitSummary = `與經銷商陪同拜訪兩家下線 ${lang}`;
    const what = `下月送陳列架 ${lang}`;
    const promo = `開幕聯合促銷 ${lang}`;
    const noteText = `老闆希望週三上午拜訪 ${lang}`;

    // ---- The manager's phone, offline.
    const ctx = await context(browser, { locale });
    await ctx.grantPermissions(['geolocation']);
    await ctx.setGeolocation({ latitude: 23.9769, longitude: 121.6044, accuracy: 9 });
    const page = await login(ctx, TOKENS.yang);
    await page.locator(`[data-dealer=s-old-${lang}]`).waitFor();
    await synced(page);
    await offline(ctx);

    // A prospect where the manager stands.
    await page.click('[data-action=new-dealer]');
    const form = page.locator('form.new-dealer');
    await form.locator('input[name=name]').fill(name);
    await form.locator('select[name=kind]').selectOption('retailer');
    await form.locator('select[name=territory]').selectOption(words.territory);
    await form.locator('input[name=address]').fill('花蓮市中山路 100 號');
    await form.locator('[data-action=locate]').click();
    await form.locator('[data-test=gps-status][data-state=fix]').waitFor();
    await form.locator('[data-action=save-dealer]').click();
    await page.waitForURL(/#\/dealer\/[0-9a-z]{26}$/);
    const id = page.url().split('/').at(-1);
    await seeText(page.locator('h1'), name);

    // Its contact and two downline customers.
    const contacts = page.locator('[data-part=contacts]');
    await contacts.locator('[data-action=add-contact]').click();
    await contacts.locator('form.record:visible input[name=name]').fill('林店長');
    await contacts.locator('form.record:visible input[name=phone]').fill('03-8330000');
    await contacts.locator('form.record:visible button[type=submit]').click();
    await contacts.locator('[data-contact]', { hasText: '林店長' }).waitFor();
    const downline = page.locator('[data-section=downline]');
    for (const [customer, core] of [['七星潭民宿', true], ['太魯閣小吃', false]]) {
      await downline.locator('form.add-row input[name=customer]').fill(customer);
      if (core) await downline.locator('form.add-row input[name=core]').check();
      await downline.locator('form.add-row button[type=submit]').click();
      await downline.locator('[data-customer]', { hasText: customer }).waitFor();
    }

    // A joint visit naming both.
    await page.click('[data-action=record-visit]');
    const boxes = page.locator('[data-test=customers] input[name=customers]');
    await eventually(() => boxes.count(), 2);
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.fill('input[name=summary]', visitSummary);
    await page.click('[data-action=save-visit]');
    await page.waitForURL(new RegExp(`#/dealer/${id}$`));
    const joint = page.locator('[data-section=visits] li.visit', { hasText: visitSummary });
    await joint.locator('[data-test=customers]', { hasText: '七星潭民宿' }).waitFor();
    await joint.locator('[data-test=customers]', { hasText: '太魯閣小吃' }).waitFor();

    // A commitment and a note outside the visit.
    await page.click('[data-action=record-commitment]');
    await page.fill('[data-record=commitment] input[name=what]', what);
    await page.fill('[data-record=commitment] input[name=to_whom]', '林店長');
    await page.click('[data-record=commitment] [data-action=save-record]');
    await page.locator('[data-section=commitments]').getByText(what).waitFor();
    await page.fill('[data-form=note] textarea[name=note]', noteText);
    await page.click('[data-form=note] button[type=submit]');
    await page.locator('[data-section=notes] [data-note]', { hasText: noteText }).waitFor();

    // A promotion with a budget, inviting both customers, whose budget becomes a claim.
    const acts = page.locator('[data-section=activities]');
    await acts.locator('[data-action=plan-activity]').click();
    const plan = acts.locator('[data-form=plan-activity]');
    await plan.locator('select[name=kind]').selectOption('promotion');
    await plan.locator('input[name=title]').fill(promo);
    await plan.locator('input[name=starts]').fill(new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10));
    await plan.locator('input[name=budget]').fill('12000');
    for (const box of await plan.locator('input[name=invited]').all()) await box.check();
    await plan.locator('button[type=submit]').click();
    const row = acts.locator('li[data-activity]', { hasText: promo });
    await row.locator('[data-action=budget-claim]').click();
    await page.locator('[data-section=claims] [data-claim]', { hasText: promo }).waitFor();

    // Online: everything goes up.
    const online = Date.now();
    await ctx.setOffline(false);
    await synced(page);

    // Online, the dealer page's sales card (sales live on the server): this month's actual, entered on the phone.
    await page.click('[data-section=sales] [data-action=show-sales]');
    const sales = page.locator('[data-section=sales] [data-form=sales-actual]');
    await sales.waitFor();
    await sales.locator('input[name=amount]').fill('150000');
    await sales.locator('button[type=submit]').click();
    await page.locator(`[data-section=sales] tr[data-sales="${month}"]`, { hasText: '150,000' }).waitFor();
    await ctx.close();

    // ---- Head office.
    const ho = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const office = await login(ho, TOKENS.ho);
    const ready = office.locator('.office-body[data-ready=visits]');
    await eventually(async () => {
      if (!(await ready.count())) await office.click('[data-tab=visits]', { timeout: 2_000 }).catch(() => {});
      return ready.count();
    }, 1);
    await office.selectOption('select[name=territory]', words.territory);
    await office.locator('select[name=manager] option[value=yang]').waitFor({ state: 'attached' });
    await office.selectOption('select[name=manager]', 'yang');
    await seeText(office.locator('[data-test=total]'), words.total);

    // The dealer page, from the visit: all of the day's work.
    await office.locator('.timeline [data-visit] [data-dealer-link]').first().click();
    const dealer = office.locator(`[data-dealer-page="${id}"]`);
    await dealer.waitFor();
    await eventually(async () => (await dealer.locator('h2').first().innerText()).startsWith(name), true);
    const profile = dealer.locator('[data-section=profile]');
    await profile.getByText('林店長').waitFor();
    await profile.getByText('七星潭民宿').waitFor();
    await profile.getByText('太魯閣小吃').waitFor();
    const visit = dealer.locator('[data-section=visits] [data-visit]', { hasText: visitSummary });
    await visit.getByText(/七星潭民宿、太魯閣小吃|太魯閣小吃、七星潭民宿/).waitFor();
    await dealer.locator('[data-section=notes] tr', { hasText: noteText }).waitFor();
    await dealer.locator('[data-section=commitments] tr', { hasText: what }).waitFor();
    await dealer.locator('[data-section=claims] tr', { hasText: promo }).waitFor();
    const activity = dealer.locator('[data-section=activities] tr', { hasText: promo });
    await activity.getByText(`${promo} · ${words.requested}`).waitFor();
    await dealer.locator(`[data-section=sales] tr[data-sales="${month}"]`, { hasText: '150,000' }).waitFor();

    // The manager page, from the visit's manager.
    await visit.locator('[data-manager-link=yang]').click();
    const manager = office.locator('[data-manager-page=yang]');
    await manager.waitFor();
    await eventually(async () => (await manager.locator('h2').first().innerText()).startsWith('楊志豪'), true);

    // The visits, filtered, as a CSV file Excel opens.
    await office.click('[data-tab=visits]');
    await seeText(office.locator('[data-test=total]'), words.total);
    const csv = await exportCsv(office);
    assert.equal(csv.charCodeAt(0), 0xfeff, 'starts with a byte-order mark');
    const lines = csv.slice(1).trim().split('\r\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.ok(lines[1].includes(name) && lines[1].includes(visitSummary) && lines[1].includes('楊志豪'), lines[1]);

    // The activities tab: the promotion with its two invited customers and the claim its budget became.
    await office.click('[data-tab=activities]');
    const listed = office.locator('tr[data-activity]', { hasText: promo });
    await listed.locator('td', { hasText: /^2$/ }).waitFor();
    await listed.locator('td', { hasText: '✓' }).waitFor();

    // The commitment's history: the phone's time (offline, earlier) and the server's (at the sync).
    await office.goto(`${BASE}/#/office/dealer/${id}`);
    await dealer.locator('[data-section=commitments] tr', { hasText: what }).locator('[data-action=history]').click();
    const dialog = office.locator('dialog[data-history^="commitment:"]');
    await dialog.locator('[data-test=history-body][data-ready=true]').waitFor();
    const first = dialog.locator('[data-field=what] tbody tr').first();
    const device = Number(await first.locator('[data-test=device-time]').getAttribute('data-ms'));
    const server = Number(await first.locator('[data-test=server-time]').getAttribute('data-ms'));
    assert.ok(device < online, `made offline (${device}) before going online (${online})`);
    assert.ok(server >= online, `received (${server}) once online (${online})`);
    for (const cell of ['device-time', 'server-time']) assert.match(await first.locator(`[data-test=${cell}]`).innerText(), /\d{1,2}:\d{2}:\d{2}/);
    await ho.close();
  });
}

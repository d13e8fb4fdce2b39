// The dealer network on the phone (issue 10): a manager offline adds a prospect where they stand (the phone's GPS),
// edits its contacts, brands and downline customers, and it reaches the server once online; terminating a dealer
// with open work warns and lists it first. In zh-Hant and in English. Every check waits for what the user sees,
// or for what head office's API holds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, launch, context, login, synced, seedTerritory, seedAs, eventually, seeText, seeCount, offline, shot } from './harness.js';

const DAY = 86_400_000;
const LANGS = [['zh-Hant', 'zh-TW'], ['en', 'en-US']];
let browser;

before(async () => {
  assert.ok(TOKENS.ho && TOKENS.tsai, 'tokens come from `cargo xtask test`');
  const at = Date.now() - 30 * DAY;
  // tsai manages two territories of this file's own (and, after handover.test.js, t-hand): the form asks which.
  await seedTerritory({ territory: 't-net-east', name: '東網區', region: '東部', managers: ['tsai'], at, dealers: [] });
  await seedTerritory({ territory: 't-net-west', name: '西網區', region: '西部', managers: ['tsai'], at,
    dealers: LANGS.map(([lang], i) => ({ id: `n-open-${i}`, name: `未結商行 ${lang}` })) });
  // An open commitment and a claim not reconciled on each of those dealers.
  await seedAs(TOKENS.tsai, 'tsai', (r, by) => {
    for (const i of LANGS.keys()) {
      const doc = `dealer:n-open-${i}`;
      r.insert(doc, 'commitments', undefined, JSON.stringify({ what: '年底前補貨架', to_whom: '老闆', made_by: 'tsai', owner: 'tsai', made_at: at,
        due: new Date(Date.now() + 7 * DAY).toISOString().slice(0, 10), status: { open: { by: 'tsai', at } } }), by(at));
      r.insert(doc, 'claims', undefined, JSON.stringify({ category: 'event', purpose: '開幕活動場地', amount: { minor: 350000, currency: 'TWD' },
        status: { requested: { by: 'tsai', at } } }), by(at));
    }
  });
  browser = await launch();
});
after(async () => { await browser?.close(); });

/** Head office's view of a dealer. */
async function onServer(id) {
  const res = await fetch(`${BASE}/api/dealers/${id}`, { headers: { Authorization: `Bearer ${TOKENS.ho}` } });
  return res.ok ? res.json() : null;
}

for (const [i, [lang, locale]] of LANGS.entries()) {
  test(`offline, a manager adds a prospect with the phone's GPS and edits its contacts, brands and customers; online, the server has it (${lang})`, async () => {
    const zh = lang === 'zh-Hant';
    const ctx = await context(browser, { locale });
    await ctx.grantPermissions(['geolocation']);
    await ctx.setGeolocation({ latitude: 23.5655, longitude: 119.5862, accuracy: 12 });
    const page = await login(ctx, TOKENS.tsai);
    await page.locator(`[data-dealer=n-open-${i}]`).waitFor();
    await synced(page);
    await offline(ctx);

    await page.click('[data-action=new-dealer]');
    const form = page.locator('form.new-dealer');
    await form.waitFor();
    const name = `馬公新商行 ${lang}`;
    await form.locator('input[name=name]').fill(name);
    await form.locator('select[name=kind]').selectOption('distributor');
    await form.locator('input[name=tier]').fill('2');
    await form.locator('select[name=territory]').selectOption('t-net-east');
    await form.locator('input[name=address]').fill('澎湖縣馬公市中正路 1 號');
    await form.locator('[data-action=locate]').click();
    await form.locator('[data-test=gps-status][data-state=fix]').waitFor();
    await eventually(() => form.locator('input[name=lat]').inputValue(), '23.565500');
    await shot(page, `network-new-dealer-${lang}`);
    await form.locator('[data-action=save-dealer]').click();
    await page.waitForURL(/#\/dealer\/[0-9a-z]{26}$/);
    const id = page.url().split('/').at(-1);
    await seeText(page.locator('h1'), name);
    await seeText(page.locator('[data-field=status]'), zh ? '開發中' : 'Prospect');
    await seeText(page.locator('[data-field=location]'), '23.56550, 119.58620');

    // Contacts: one added, then its phone number corrected.
    const contacts = page.locator('[data-part=contacts]');
    await contacts.locator('[data-action=add-contact]').click();
    const add = contacts.locator('form.record:visible');
    await add.locator('input[name=name]').fill('陳老闆');
    await add.locator('input[name=role]').fill(zh ? '負責人' : 'Owner');
    await add.locator('input[name=phone]').fill('06-9270000');
    await add.locator('input[name=email]').fill('chen@example.tw');
    await add.locator('button[type=submit]').click();
    const boss = contacts.locator('[data-contact]', { hasText: '陳老闆' });
    await boss.getByText('☎ 06-9270000').waitFor();
    await boss.locator('[data-action=edit-contact]').click();
    await boss.locator('input[name=phone]').fill('0912-345678');
    await boss.locator('button[type=submit]').click();
    await contacts.locator('[data-contact]', { hasText: '☎ 0912-345678' }).waitFor();
    // A second contact who left: marked gone, no longer shown.
    await contacts.locator('[data-action=add-contact]').click();
    await contacts.locator('form.record:visible input[name=name]').fill('林會計');
    await contacts.locator('form.record:visible button[type=submit]').click();
    const clerk = contacts.locator('[data-contact]', { hasText: '林會計' });
    await clerk.locator('[data-action=remove-contact]').click();
    await page.locator('dialog[data-test=dialog] [data-choice=confirm]').click();
    await clerk.waitFor({ state: 'detached' });

    // Brands: two added, one made exclusive, the other carried no longer.
    const brands = page.locator('[data-part=brands]');
    for (const brand of ['海鷗牌', '老街牌']) {
      await brands.locator('input[name=brand]').fill(brand);
      await brands.locator('form button[type=submit]').click();
      await brands.locator(`[data-brand="${brand}"]`).waitFor();
    }
    await brands.locator('[data-brand="海鷗牌"] input[name=exclusive]').click();
    await brands.locator('[data-brand="海鷗牌"] input[name=exclusive]:checked').waitFor();
    await brands.locator('[data-brand="老街牌"] [data-action=remove-brand]').click();
    await page.locator('dialog[data-test=dialog] [data-choice=confirm]').click();
    await brands.locator('[data-brand="老街牌"]').waitFor({ state: 'detached' });

    // Downline customers: a core one with a note, whose note is then edited.
    const downline = page.locator('[data-section=downline]');
    await downline.locator('input[name=customer]').fill('西嶼雜貨店');
    await downline.locator('form.add-row input[name=core]').check();
    await downline.locator('form.add-row input[name=note]').fill(zh ? '每週進貨' : 'orders weekly');
    await downline.locator('form.add-row button[type=submit]').click();
    const shop = downline.locator('[data-customer]', { hasText: '西嶼雜貨店' });
    await shop.locator('.badge', { hasText: zh ? '核心客戶' : 'core customer' }).waitFor();
    await shop.locator('[data-action=edit-customer]').click();
    await shop.locator('input[name=note]').fill(zh ? '每週二進貨' : 'orders every Tuesday');
    await shop.locator('button[type=submit]').click();
    await downline.locator('[data-customer]', { hasText: zh ? '每週二進貨' : 'orders every Tuesday' }).waitFor();
    await shot(page, `network-dealer-profile-${lang}`);
    assert.equal(await onServer(id), null, 'nothing reached the server offline');

    await ctx.setOffline(false);
    await synced(page);
    await eventually(async () => (await onServer(id)) !== null, true, 30_000);
    const d = await onServer(id);
    assert.equal(d.territory, 't-net-east');
    const p = d.profile;
    assert.deepEqual([p.name, p.kind, p.tier, p.status, p.address], [name, 'distributor', 2, 'prospect', '澎湖縣馬公市中正路 1 號']);
    assert.deepEqual(p.location, { lat: 23.5655, lon: 119.5862 });
    const people = Object.values(p.contacts).map((c) => [c.name, c.phone, !!c.gone]).sort();
    assert.deepEqual(people, [['林會計', '', true], ['陳老闆', '0912-345678', false]]);
    assert.deepEqual(p.brands, { 海鷗牌: { exclusive: true }, 老街牌: { exclusive: false, gone: true } });
    assert.deepEqual(Object.values(p.downline), [{ name: '西嶼雜貨店', core: true, note: zh ? '每週二進貨' : 'orders every Tuesday' }]);
    await ctx.close();

    // Head office's dealer page shows who is there and what is carried, not who left or what was dropped.
    const hoCtx = await context(browser, { locale, viewport: { width: 1280, height: 900 } });
    const office = await login(hoCtx, TOKENS.ho);
    await office.goto(`${BASE}/#/office/dealer/${id}`);
    const facts = office.locator(`[data-dealer-page="${id}"] [data-section=profile]`);
    await facts.getByText('陳老闆').waitFor();
    await facts.getByText('西嶼雜貨店').waitFor();
    await seeCount(facts.getByText('林會計'), 0);
    await seeCount(facts.getByText('老街牌'), 0);
    await facts.getByText('海鷗牌').waitFor();
    await hoCtx.close();
  });

  test(`terminating a dealer with an open commitment and an unreconciled claim warns and lists them first (${lang})`, async () => {
    const zh = lang === 'zh-Hant';
    const ctx = await context(browser, { locale });
    const page = await login(ctx, TOKENS.tsai);
    await page.click(`[data-dealer=n-open-${i}]`);
    const status = page.locator('[data-field=status]');
    await seeText(status, zh ? '合作中' : 'Active');
    await page.click('[data-action=edit-profile]');
    await page.selectOption('form.edit select[name=status]', 'terminated');
    const save = () => page.click('form.edit button[type=submit]');
    await save();
    const dialog = page.locator('dialog[data-test=dialog]');
    await dialog.getByText(`${zh ? '未兌現的承諾：' : 'Open commitment: '}年底前補貨架`).waitFor();
    await dialog.getByText(`${zh ? '未核報的費用：' : 'Claim not reconciled: '}開幕活動場地`).waitFor();
    await shot(page, `network-terminate-warning-${lang}`);
    await dialog.locator('[data-choice=cancel]').click();
    await dialog.waitFor({ state: 'detached' });
    await seeText(status, zh ? '合作中' : 'Active');
    await save();
    await dialog.locator('[data-choice=confirm]').click();
    await seeText(status, zh ? '終止合作' : 'Terminated');
    await synced(page);
    await eventually(async () => (await onServer(`n-open-${i}`)).profile.status, 'terminated');
    await ctx.close();
  });
}

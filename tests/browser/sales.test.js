// Monthly sales and the profit and loss at head office, in headless Chromium against the real server: head office
// sets a dealer's target, imports the actuals from a CSV file (Excel's UTF-8 with a byte-order mark), sees the
// achievement, then opens the P&L: sales against the claim spent there, per month, dealer and category, exported
// to CSV; the same screen in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKENS, launch, context, login, shot, seedTerritory, seedAs, assignTerritory, eventually, seeText } from './harness.js';

const DAY = 86_400_000;
const now = Date.now();
const MONTH = new Date(now).toISOString().slice(0, 7);
const DOC = 'dealer:d-sa-1';
let browser;

before(async () => {
  assert.ok(TOKENS.lee, 'tokens come from `cargo xtask test`');
  await seedTerritory({ territory: 't-sales', name: '業績測試區', region: '中部', managers: ['chen'],
    dealers: [{ id: 'd-sa-1', name: '晨星商行', tier: 1 }, { id: 'd-sa-2', name: '北辰行', tier: 2 }], at: now - 60 * DAY });
  await assignTerritory('lee', 't-sales');
  // A joint promotion's claim at 晨星商行: NT$20,000 requested today, approved, NT$15,000 spent.
  await seedAs(TOKENS.chen, 'chen', (r, by) => {
    r.insert(DOC, 'claims', 'k-sa-1', JSON.stringify({ category: 'event', purpose: '聯合促銷攤位', amount: { minor: 2_000_000, currency: 'TWD' },
      status: { requested: { by: 'chen', at: now - 60_000 } } }), by(now - 60_000));
  });
  await seedAs(TOKENS.lee, 'lee', (r, by) => r.advance(DOC, 'claims', 'k-sa-1', 'approved', '', by(now - 50_000)));
  await seedAs(TOKENS.chen, 'chen', (r, by) => r.advance(DOC, 'claims', 'k-sa-1', 'spent', JSON.stringify({ spent: { minor: 1_500_000, currency: 'TWD' } }), by(now - 40_000)));
  browser = await launch();
});

after(async () => { await browser?.close(); });

async function openTab(page, tab) {
  const ready = page.locator(`.office-body[data-ready=${tab}]`);
  await eventually(async () => {
    if (!(await ready.count())) await page.click(`[data-tab=${tab}]`, { timeout: 2_000 }).catch(() => {});
    return ready.count();
  }, 1);
}

async function download(page, locator) {
  const [file] = await Promise.all([page.waitForEvent('download'), locator.click()]);
  return readFileSync(await file.path(), 'utf8');
}

test('head office sets a target, imports actuals from CSV and reads the profit and loss', async () => {
  const ctx = await context(browser, { viewport: { width: 1280, height: 1000 } });
  const page = await login(ctx, TOKENS.ho);
  await openTab(page, 'sales');
  await page.selectOption('select[name=territory]', 't-sales');
  // The page shown again for the territory (typing into the page before would type into one about to go).
  await page.locator('.office-body[data-ready=sales][data-territory=t-sales] [data-test=sales-pick]').waitFor();

  // The dealer, picked in the filters: its target for this month.
  const dealer = page.locator('input[name=dealer]');
  await dealer.fill('晨星商行');
  await dealer.press('Enter');
  const form = page.locator('form[data-form=sales]');
  await form.waitFor();
  await form.locator('select[name=figure]').selectOption('target');
  await form.locator('input[name=amount]').fill('100000');
  await form.locator('button[type=submit]').click();
  const row = page.locator(`tr[data-sales="d-sa-1/${MONTH}"]`);
  await eventually(async () => (await row.count()) && (await row.innerText()).includes('100,000'), true);

  // The actuals of both dealers from Excel's CSV UTF-8 (a byte-order mark, Chinese headers).
  const dir = mkdtempSync(join(tmpdir(), 'fieldsync-sales-'));
  const file = join(dir, '業績.csv');
  writeFileSync(file, `\uFEFF經銷商,月份,銷售額,幣別\r\nd-sa-1,${MONTH},"80,000",TWD\r\nd-sa-2,${MONTH},30000,TWD\r\n`);
  await page.locator('input[name=csv]').setInputFiles(file);
  await page.click('[data-action=import]');
  await seeText(page.locator('[data-test=toast]').last(), '已匯入 2 筆');
  await eventually(async () => row.locator('.achievement').innerText(), '80%');
  await eventually(async () => (await row.innerText()).includes('總部匯入'), true);

  // A file with a bad line imports nothing, and says which line.
  writeFileSync(file, `dealer,month,amount,currency\nd-sa-1,${MONTH},1,TWD\nd-sa-2,2026-13,1,TWD\n`);
  await page.locator('input[name=csv]').setInputFiles(file);
  await page.click('[data-action=import]');
  await seeText(page.locator('[data-test=bad-lines]'), '第 3 行有誤');
  await seeText(page.locator('.import-result p.error'), '檔案有誤，沒有匯入任何資料');
  await eventually(async () => row.locator('.achievement').innerText(), '80%');
  await shot(page, '36-office-sales');

  // The P&L of that dealer (the filters are kept): NT$80,000 sold, NT$15,000 spent on the promotion.
  await openTab(page, 'pnl');
  const total = page.locator('[data-test=pnl-total][data-currency=TWD]');
  const figures = () => total.evaluate((e) => [e.dataset.sales, e.dataset.spend, e.dataset.net], null, { timeout: 1_000 }).catch(() => null);
  await eventually(figures, ['8000000', '1500000', '6500000']);
  await eventually(async () => (await total.locator('b').innerText()).replace(/\s+/g, ' '), 'TWD 65,000');
  await page.locator('tr[data-category=event]', { hasText: 'TWD 15,000' }).waitFor();
  await page.locator(`tr[data-month="${MONTH}"]`, { hasText: 'TWD 65,000' }).waitFor();
  const months = await download(page, page.locator('[data-action=csv]').first());
  assert.equal(months.charCodeAt(0), 0xfeff, 'Excel-ready: a byte-order mark');
  const lines = months.slice(1).trim().split('\r\n');
  assert.equal(lines[0], '月份,幣別,銷售額,目標,費用,銷售減費用');
  assert.deepEqual(lines.slice(1), [`${MONTH},TWD,80000,100000,15000,65000`]);
  // The whole territory: both dealers' sales, the one claim's spend.
  await page.click('[data-action=clear-filters]');
  // Clearing redraws the filters: choose the territory again until the redrawn form shows it applied.
  await eventually(async () => { await page.selectOption('select[name=territory]', 't-sales', { timeout: 1_000 }).catch(() => {}); return figures(); },
    ['11000000', '1500000', '9500000']);
  await eventually(() => page.locator('tr[data-dealer]').evaluateAll((xs) => xs.map((x) => x.dataset.dealer)), ['d-sa-1', 'd-sa-2']);
  await eventually(async () => (await page.locator('figure.chart svg rect').count()) >= 2, true);
  await shot(page, '37-office-pnl');

  // In English.
  await page.click('[data-action=lang]');
  await seeText(page.locator('[data-tab=pnl]'), 'Profit & loss');
  await page.locator('h2', { hasText: 'Spend by category' }).waitFor();
  await page.click('[data-action=lang]');
  await seeText(page.locator('[data-tab=pnl]'), '損益');
  await ctx.close();
});

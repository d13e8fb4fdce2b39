// A login link is of use only to its person (issue 7): the first link a manager opens asks them to choose a login
// PIN, and every later one asks for it, so head office, which issues devices and their links, cannot log in as them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, TOKENS, PIN, launch, context, loginCode, eventually, shot } from './harness.js';

let browser;

before(async () => {
  assert.ok(TOKENS.kuo, 'tokens come from `cargo xtask browser`');
  browser = await launch();
});
after(async () => { await browser?.close(); });

const submit = (form) => form.locator('button[type=submit]').click();

test('a manager chooses a PIN at the first login link; the next link asks for it and refuses a wrong one; a reset is shown', async () => {
  // The first link: choose a PIN, typed twice alike.
  const first = await context(browser);
  const page = await first.newPage();
  await page.goto(`${BASE}/#/login?code=${encodeURIComponent(await loginCode(TOKENS.kuo))}`);
  const choose = page.locator('form[data-test=pin-new]');
  await choose.locator('h1', { hasText: '設定登入密碼' }).waitFor();
  await choose.locator('input[name=pin]').fill(PIN);
  await choose.locator('input[name=pin2]').fill('246811');
  await submit(choose);
  await choose.locator('[data-test=login-error]', { hasText: '兩次輸入的密碼不一樣' }).waitFor();
  await shot(page, '00-login-pin-new');
  await choose.locator('input[name=pin2]').fill(PIN);
  await submit(choose);
  await page.locator('.who', { hasText: '郭新人' }).waitFor();
  await first.close();

  // Another link, in another browser (in English): the PIN is asked for; a wrong one is refused, translated.
  const second = await context(browser, { locale: 'en-US' });
  const other = await second.newPage();
  await other.goto(`${BASE}/#/login?code=${encodeURIComponent(await loginCode(TOKENS.kuo))}`);
  const ask = other.locator('form[data-test=pin]');
  await ask.locator('h1', { hasText: 'Enter your login PIN' }).waitFor();
  assert.equal(await ask.locator('input[name=pin2]').count(), 0);
  // Switching the language keeps the link: the question is asked again in Chinese.
  await other.click('[data-action=lang]');
  await other.locator('form[data-test=pin] h1', { hasText: '輸入登入密碼' }).waitFor();
  await other.click('[data-action=lang]');
  await ask.locator('h1', { hasText: 'Enter your login PIN' }).waitFor();
  await ask.locator('input[name=pin]').fill('135790');
  await submit(ask);
  await ask.locator('[data-test=login-error]', { hasText: 'Wrong login PIN' }).waitFor();
  await shot(other, '00-login-pin-wrong');
  // The link is not spent by a wrong PIN: the right one logs in.
  await ask.locator('input[name=pin]').fill(PIN);
  await submit(ask);
  await other.locator('.who', { hasText: '郭新人' }).waitFor();

  // Head office resets the PIN: never silently. The manager's app says who did, from its next start.
  const r = await fetch(`${BASE}/api/users/kuo/secret-reset`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.ho}` } });
  assert.equal(r.status, 200, await r.text());
  await other.reload();
  await other.locator('.who', { hasText: '郭新人' }).waitFor();
  await eventually(() => other.evaluate(() => JSON.parse(localStorage.getItem('fieldsync.session')).secret_reset_by), 'ho');
  await other.reload();
  await other.locator('[data-test=pin-reset]', { hasText: 'ho' }).waitFor();
  await second.close();
});

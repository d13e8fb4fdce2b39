// Pushes that fit and bytes on the wire: a manager back from a day offline uploads
// a backlog larger than one request may carry (the server's 413 makes the app send
// smaller requests, batch after batch, never the same one again), every sync body
// worth it goes out gzip-compressed, and the bytes per visit are measured. A 408 (the server
// could not decide a request in time) makes the next request smaller without refusing anything.
// Runs after app.test.js, whose `before` seeds t-north (lin and chen manage it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { TOKENS, launch, login, synced, eventually } from './harness.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** A context without the service worker, so every sync request passes `ctx.route`. */
async function plainContext() {
  const ctx = await browser.newContext({ locale: 'zh-TW', viewport: { width: 412, height: 915 }, serviceWorkers: 'block' });
  ctx.setDefaultTimeout(20_000);
  return ctx;
}

/** Records every POST /v1/sync: wire bytes, encoding, the JSON it carried, the status; `answer` may replace the server. */
function recordSyncs(ctx, answer) {
  const seen = [];
  ctx.route('**/v1/sync', async (route) => {
    const req = route.request();
    const wire = req.postDataBuffer() ?? Buffer.alloc(0);
    const encoding = (await req.allHeaders())['content-encoding'] ?? 'identity';
    const json = (encoding === 'gzip' ? gunzipSync(wire) : wire).toString('utf8');
    const entry = { wire: wire.length, raw: Buffer.byteLength(json), encoding, body: JSON.parse(json), status: 0 };
    seen.push(entry);
    entry.status = (await answer?.(route, entry)) ?? (await route.continue(), 200);
  });
  return seen;
}

/** Records `perDealer` visits on each of the first `n` dealers shown, through the app's own replica, while offline. */
async function visitsOffline(page, n, perDealer) {
  return page.evaluate(async ({ n, perDealer }) => {
    const local = await import('/js/local.js');
    const { stamp, session } = await import('/js/session.js');
    const ids = [...document.querySelectorAll('#dealer-list [data-dealer]')].slice(0, n).map((a) => `dealer:${a.dataset.dealer}`);
    for (const doc of ids) {
      for (let k = 0; k < perDealer; k++) {
        await local.edit('recordVisit', doc, {
          manager: session().user, at: Date.now(), purposes: { training: true, joint_visit: true },
          summary: `離線拜訪第 ${k + 1} 次：新品教育訓練，陪同拜訪下游門市`, attendees: { 老闆: true, 店員: true },
        }, '', [], stamp());
      }
    }
    return ids.length;
  }, { n, perDealer });
}

test('a backlog over the server limit goes up in smaller requests after a 413, gzip-compressed', async () => {
  const LIMITS = { max_docs: 2, max_changes: 10_000, max_bytes: 16 * 1024 * 1024, max_change_bytes: 256 * 1024 };
  const ctx = await plainContext();
  // A server whose limit drops to two documents a request (a new release, say) while the phone is offline:
  // it answers 413 with its limits, and states them on every answer from then on.
  let lowered = false;
  const seen = recordSyncs(ctx, async (route, entry) => {
    if (lowered && (entry.body.push ?? []).length > LIMITS.max_docs) {
      await route.fulfill({ status: 413, contentType: 'application/json', body: JSON.stringify({ code: 'too_large', message: 'too many documents', limits: LIMITS }) });
      return 413;
    }
    if (!lowered) return undefined;
    const res = await route.fetch();
    const body = await res.json();
    await route.fulfill({ status: res.status(), contentType: 'application/json', body: JSON.stringify({ ...body, limits: LIMITS }) });
    return res.status();
  });
  const page = await login(ctx, TOKENS.chen);
  await page.locator('#dealer-list [data-dealer]').nth(3).waitFor();
  await synced(page);

  await ctx.setOffline(true);
  await page.locator('[data-test=sync][data-state=offline]').waitFor();
  const dealers = await visitsOffline(page, 4, 3);
  assert.equal(dealers, 4);
  await eventually(() => page.locator('[data-test=sync]').getAttribute('data-pending'), '12');
  const before = seen.length;
  lowered = true;
  await ctx.setOffline(false);
  await synced(page);

  const upload = seen.slice(before).filter((s) => s.body.push?.length);
  const refused = upload.filter((s) => s.status === 413);
  assert.equal(refused.length, 1, `one 413 only: ${upload.map((s) => `${s.body.push.length}→${s.status}`).join(', ')}`);
  assert.equal(upload[0].status, 413, 'the first, too-big request');
  const after413 = upload.slice(1);
  assert.ok(after413.length >= 2, `${after413.length} smaller requests`);
  assert.ok(after413.every((s) => s.status === 200 && s.body.push.length <= LIMITS.max_docs));
  assert.deepEqual(new Set(after413.flatMap((s) => s.body.push.map((p) => p.doc))).size, 4, 'every edited dealer went up');
  for (const s of upload) {
    assert.equal(s.encoding, s.raw > 1024 ? 'gzip' : 'identity', `a ${s.raw}-byte body sent as ${s.encoding}`);
  }
  assert.ok(upload.some((s) => s.encoding === 'gzip'));
  await ctx.close();
});

test('a backlog the server cannot decide in time goes up in smaller requests after a 408, none refused', async () => {
  const ctx = await plainContext();
  // A server that takes too long over more than one document a request (answers 408, as its request timeout does).
  let slow = false;
  const seen = recordSyncs(ctx, async (route, entry) => {
    if (!slow || (entry.body.push ?? []).length <= 1) return undefined;
    await route.fulfill({ status: 408, contentType: 'application/json', body: JSON.stringify({ code: 'timeout', message: 'the request took too long' }) });
    return 408;
  });
  const page = await login(ctx, TOKENS.chen);
  await page.locator('#dealer-list [data-dealer]').nth(3).waitFor();
  await synced(page);
  await ctx.setOffline(true);
  await page.locator('[data-test=sync][data-state=offline]').waitFor();
  assert.equal(await visitsOffline(page, 4, 2), 4);
  await eventually(() => page.locator('[data-test=sync]').getAttribute('data-pending'), '8');
  const before = seen.length;
  slow = true;
  await ctx.setOffline(false);
  await synced(page);

  const upload = seen.slice(before).filter((s) => s.body.push?.length);
  const shapes = upload.map((s) => `${s.body.push.length}→${s.status}`).join(', ');
  assert.equal(upload[0].status, 408, shapes);
  upload.forEach((s, i) => {
    if (s.status === 408) assert.ok(upload[i + 1].body.push.length < s.body.push.length, `smaller after a 408: ${shapes}`);
  });
  // 4 → 2 → 1 document; after an answer it tries 2 again (408), then waits for two answers before the next try.
  assert.ok(upload.filter((s) => s.status === 408).length <= 3, `a halving per 408, one doubling tried: ${shapes}`);
  const delivered = upload.filter((s) => s.status === 200).flatMap((s) => s.body.push.map((p) => p.doc));
  assert.equal(new Set(delivered).size, 4, `every edited dealer went up: ${shapes}`);
  assert.equal(await page.locator('[data-test=sync]').getAttribute('data-pending'), '0');
  assert.equal(await page.locator('[data-test=rejected]').count(), 0, 'nothing is shown refused');
  await ctx.close();
});

test('an upload of visits costs few bytes on the wire, and none of it comes back', async () => {
  const ctx = await plainContext();
  const seen = recordSyncs(ctx);
  const responses = [];
  ctx.on('response', async (r) => { if (r.url().endsWith('/v1/sync')) responses.push(await r.json().catch(() => ({}))); });
  const page = await login(ctx, TOKENS.lin);
  await page.locator('#dealer-list [data-dealer]').nth(3).waitFor();
  await synced(page);
  await ctx.setOffline(true);
  await page.locator('[data-test=sync][data-state=offline]').waitFor();
  const VISITS = 20;
  await visitsOffline(page, 4, VISITS / 4);
  const from = seen.length, fromResp = responses.length;
  await ctx.setOffline(false);
  await synced(page);
  const upload = seen.slice(from).filter((s) => s.body.push?.length);
  assert.ok(upload.length >= 1);
  assert.ok(upload.every((s) => s.encoding === 'gzip'), 'the upload is compressed');
  const wire = upload.reduce((n, s) => n + s.wire, 0), raw = upload.reduce((n, s) => n + s.raw, 0);
  console.log(`upload of ${VISITS} visits: ${wire} B on the wire (${(wire / VISITS).toFixed(0)} B/visit), ${raw} B uncompressed (${(raw / VISITS).toFixed(0)} B/visit)`);
  assert.ok(wire < raw / 2, `${wire} B gzipped of ${raw} B`);
  await eventually(() => responses.length > fromResp, true);
  const mine = upload.flatMap((s) => s.body.push.map((p) => p.doc));
  const back = responses.slice(fromResp).flatMap((r) => (r.changes ?? []).map((c) => c.doc)).filter((d) => mine.includes(d));
  assert.deepEqual(back, [], 'its own visits do not come back');
  await ctx.close();
});

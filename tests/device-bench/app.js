// One run of the web app on a phone, in a worker thread: the browser's wasm build with the
// app's own web/dist/js/local.js (replica + IndexedDB persistence) and sync.js (syncNow), on
// fake-indexeddb. A worker is a fresh JS realm, so a new worker over the same stored IndexedDB
// contents is an app restart. The main thread (bench.js) keeps the "disk" between runs: the
// worker restores it before anything is timed and hands it back when asked.
import 'fake-indexeddb/auto';
import { parentPort, workerData } from 'node:worker_threads';

const { base, session, dbName, disk, wasm, dist } = workerData;

// What the browser gives the app, and nothing more than it uses.
const store = new Map();
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
Object.defineProperty(globalThis, 'navigator', { value: { onLine: true }, configurable: true, writable: true });
globalThis.window = globalThis;
globalThis.location = new URL(base);
const realFetch = globalThis.fetch;
// The app fetches relative URLs with `cache: 'no-store'`; Node's fetch needs the origin.
globalThis.fetch = (url, init = {}) => {
  const { cache: _cache, ...rest } = init;
  return realFetch(new URL(url, base), rest);
};
localStorage.setItem('fieldsync.session', JSON.stringify(session));
// FIELDSYNC_BENCH_PLAIN=1: a browser without CompressionStream (sync bodies go uncompressed), to compare.
if (process.env.FIELDSYNC_BENCH_PLAIN) delete globalThis.CompressionStream;

// The wasm is compiled once by the main thread and instantiated here (as the browser's code cache would).
const glue = await import(new URL('pkg/fieldsync_wasm.js', dist));
await glue.default({ module_or_path: wasm });
const db = await import(new URL('js/db.js', dist));
if (disk) {
  db.use(dbName);
  await db.write(disk);
  db.use('fieldsync-bench-closed'); // closes the connection: the app opens it itself, as after a restart
}
const local = await import(new URL('js/local.js', dist));
const sync = await import(new URL('js/sync.js', dist));
const { stamp } = await import(new URL('js/session.js', dist));

const ms = (t0) => performance.now() - t0;

let errors = [];
sync.onStatus((st) => { if (st.error && errors.at(-1) !== st.error) errors.push(st.error); });

/**
 * A sync as the app runs it: syncNow(), and when it fails the app's own retry (sync.js schedules
 * it with backoff) until one succeeds or ten minutes pass. Reports every failure on the way.
 */
async function syncNow() {
  const t0 = performance.now();
  errors = [];
  await sync.syncNow();
  const deadline = t0 + 600_000;
  while (sync.status.error || sync.status.syncing) {
    if (performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const took = ms(t0);
  const failures = errors.map((e) => `${e.status ?? ''} ${e.code ?? ''} ${e.message}`.trim());
  if (sync.status.error) throw new Error(`sync failed for ten minutes: ${failures.join('; ')}`);
  return { ms: took, rejected: local.rejections().length, pending: local.pending(), failures };
}

const visit = (k) => ({
  manager: session.user, at: Date.now(), purposes: { training: true, joint_visit: true },
  summary: `離線拜訪第 ${k + 1} 次：新品教育訓練，陪同拜訪下游門市`, attendees: { 老闆: true, 店員: true },
});

const commands = {
  /** Opens the app's replica (IndexedDB → wasm), as at start-up. */
  async load() {
    const t0 = performance.now();
    await local.load(dbName);
    return { ms: ms(t0) };
  },
  /** What the home screen reads: every dealer's summary (made first where missing, as the app's route does). */
  async list() {
    const t0 = performance.now();
    await local.summarise();
    const n = local.summaries().length;
    return { ms: ms(t0), dealers: n };
  },
  sync: syncNow,
  /**
   * The day offline: `dealers` new dealers in `territory` (created through the replica and saved
   * by local.save as an edit is: documents and bookkeeping in one transaction, a hundred dealers
   * at a time), then `visits` visits on each through local.edit('recordVisit'), timed one by one.
   */
  async record({ territory, dealers, visits, from = 0 }) {
    const r = await local.load(dbName);
    await local.ensureAll('territory');
    const ids = [];
    for (let i = 0; i < dealers; i += 100) {
      const batch = [];
      for (let j = i; j < Math.min(dealers, i + 100); j++) {
        const profile = { name: `經銷商 Dealer ${String(from + j).padStart(5, '0')}`, kind: 'retailer', tier: 2, status: 'active', address: '台中市西屯區' };
        const id = r.createDealer(territory, undefined, JSON.stringify(profile), stamp());
        ids.push(`dealer:${id}`);
        batch.push(`dealer:${id}`);
      }
      await local.save([...batch, `territory:${territory}`]);
    }
    const times = [];
    for (let k = 0; k < visits; k++) {
      for (const doc of ids) {
        const t0 = performance.now();
        await local.edit('recordVisit', doc, visit(k), '', [], stamp());
        times.push(ms(t0));
      }
    }
    return { ids, times };
  },
  /** One visit on each of `docs`, through the app's edit path, timed one by one. */
  async visit({ docs }) {
    const times = [];
    for (const doc of docs) {
      const t0 = performance.now();
      await local.edit('recordVisit', doc, visit(99), '', [], stamp());
      times.push(ms(t0));
    }
    return { times };
  },
  /** The dealers the app lists (ids). */
  async dealers() {
    await local.summarise();
    return { ids: local.summaries().map((d) => `dealer:${d.id}`) };
  },
  /** What is stored in IndexedDB, to start a later run from (an app restart). */
  async disk() {
    const out = {};
    for (const s of ['docs', 'docmeta', 'meta', 'photos', 'summary']) {
      const [keys, values] = [await db.all(s, 1), await db.all(s)];
      out[s] = Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    }
    return out;
  },
};

parentPort.on('message', async ({ id, cmd, args }) => {
  try {
    parentPort.postMessage({ id, ok: await commands[cmd](args) });
  } catch (e) {
    parentPort.postMessage({ id, error: `${e?.code ?? ''} ${e?.message ?? e}\n${e?.stack ?? ''}` });
  }
});
parentPort.postMessage({ ready: true });

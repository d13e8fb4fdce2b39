// Per-device sync scenarios (issue 8's table), with the browser's wasm build (web/dist/pkg) and
// the app's own web/dist/js/local.js and sync.js, in Node on fake-indexeddb, against a fresh
// release server on SQLite for every repetition. Each app run is a worker thread (a fresh JS
// realm); a new worker over the IndexedDB contents the previous one left is an app restart.
//
//   FIELDSYNC_SERVER_BIN=target/release/fieldsync-server node tests/device-bench/bench.js
//
// FIELDSYNC_BENCH_ONLY=50,1000,5000 picks configurations (by dealer count); FIELDSYNC_BENCH_REPS
// overrides the repetitions; FIELDSYNC_BENCH_PLAIN=1 runs the app without CompressionStream (plain
// sync bodies, to compare). The Markdown table goes to stdout and to FIELDSYNC_BENCH_OUT if set.
import { Worker } from 'node:worker_threads';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import net from 'node:net';

const BIN = process.env.FIELDSYNC_SERVER_BIN;
if (!BIN) throw new Error('set FIELDSYNC_SERVER_BIN to the fieldsync-server binary (cargo xtask bench device does)');
const DIST = new URL('../../web/dist/', import.meta.url);
const wasm = new WebAssembly.Module(readFileSync(new URL('pkg/fieldsync_wasm_bg.wasm', DIST)));
const { initSync, Replica } = await import(new URL('pkg/fieldsync_wasm.js', DIST));
initSync({ module: wasm });

const CONFIGS = [
  { name: '50 dealers × 20 visits', dealers: 50, visits: 20, reps: 5 },
  { name: '1,000 dealers × 1 visit', dealers: 1000, visits: 1, reps: 5 },
  { name: '5,000 dealers × 1 visit', dealers: 5000, visits: 1, reps: 1 },
].filter((c) => !process.env.FIELDSYNC_BENCH_ONLY || process.env.FIELDSYNC_BENCH_ONLY.split(',').includes(String(c.dealers)));
const REPS = Number(process.env.FIELDSYNC_BENCH_REPS) || null;
const TERRITORY = 't-bench';

function cli(db, args) {
  return execFileSync(BIN, ['--database', db, ...args], { env: { ...process.env, RUST_LOG: process.env.FIELDSYNC_BENCH_RUST_LOG ?? 'warn' } }).toString();
}
const token = (db, user) => cli(db, ['device', 'issue', '--user', user, '--label', 'bench']).match(/token \(shown once\): (\S+)/)[1];

/** A fresh release server on a new SQLite file, behind a proxy that counts the bytes each way. */
async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'fieldsync-device-bench-'));
  const db = `sqlite://${dir}/bench.sqlite`;
  cli(db, ['user', 'add', '--id', 'ho', '--name', 'ho', '--role', 'head_office']);
  cli(db, ['user', 'add', '--id', 'a', '--name', 'a', '--role', 'manager', '--territory', TERRITORY]);
  const tokens = { ho: token(db, 'ho'), a: token(db, 'a'), b: token(db, 'a') };
  const child = spawn(BIN, ['--database', db, 'serve', '--listen', '127.0.0.1:0'], { env: { ...process.env, RUST_LOG: process.env.FIELDSYNC_BENCH_RUST_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited: ${code}`)));
    lines.on('line', (l) => {
      const m = l.match(/fieldsync server on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
      else if (process.env.FIELDSYNC_BENCH_RUST_LOG) console.error(l); // the server's log, asked for
    });
  });
  const wire = { up: 0, down: 0 };
  const proxy = net.createServer((client) => {
    const up = net.connect(port, '127.0.0.1');
    client.on('data', (d) => { wire.up += d.length; up.write(d); });
    up.on('data', (d) => { wire.down += d.length; client.write(d); });
    client.on('end', () => up.end()); up.on('end', () => client.end());
    client.on('error', () => up.destroy()); up.on('error', () => client.destroy());
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${proxy.address().port}/`;
  return {
    base, tokens, wire: () => ({ ...wire }),
    stop() { proxy.close(); child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Head office creates the territory (a plain wasm replica, as the browser tests seed). */
async function createTerritory(server) {
  // Stamped with the device the token belongs to: the server refuses a stamp naming another.
  const me = await (await fetch(new URL('v1/me', server.base), { headers: { Authorization: `Bearer ${server.tokens.ho}` } })).json();
  const r = new Replica();
  r.createTerritory(TERRITORY, JSON.stringify({ name: '效能區', region: '中部', managers: { a: true } }), JSON.stringify({ user: 'ho', device: me.device, at: Date.now() }));
  const res = await fetch(new URL('v1/sync', server.base), { method: 'POST', headers: { Authorization: `Bearer ${server.tokens.ho}`, 'Content-Type': 'application/json' }, body: r.syncRequest() });
  const text = await res.text();
  if (!res.ok || JSON.parse(text).rejected?.length) throw new Error(`head office: ${res.status} ${text.slice(0, 500)}`);
  r.free();
}

/** Seconds the server spent handling sync requests so far (its `/metrics`). */
async function serverSeconds(server) {
  const text = await (await fetch(new URL('metrics', server.base))).text();
  return Number(/^fieldsync_sync_duration_seconds_sum ([0-9.e+-]+)$/m.exec(text)?.[1] ?? NaN);
}

/** A run of the app in a worker. */
class App {
  static async open(server, tok, disk) {
    const me = await (await fetch(new URL('v1/me', server.base), { headers: { Authorization: `Bearer ${tok}` } })).json();
    const app = new App();
    app.worker = new Worker(new URL('./app.js', import.meta.url), {
      workerData: { base: server.base, session: { ...me, token: tok }, dbName: `fieldsync:${me.user}`, disk, wasm, dist: DIST.href },
    });
    app.pending = new Map();
    app.next = 0;
    await new Promise((resolve, reject) => {
      app.worker.on('message', (m) => {
        if (m.ready) return resolve();
        const p = app.pending.get(m.id);
        app.pending.delete(m.id);
        if (m.error) p.reject(new Error(m.error)); else p.resolve(m.ok);
      });
      app.worker.on('error', reject);
    });
    return app;
  }

  call(cmd, args) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, cmd, args });
    });
  }

  close() { return this.worker.terminate(); }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

/** One repetition of every scenario for `cfg`; returns its measurements. */
async function once(cfg) {
  const server = await startServer();
  const m = {};
  try {
    await createTerritory(server);
    // Device A's first run: it reads the territory, then the day offline.
    let a = await App.open(server, server.tokens.a);
    await a.call('load');
    await a.call('sync');
    const rec = await a.call('record', { territory: TERRITORY, dealers: cfg.dealers, visits: cfg.visits });
    m.record = median(rec.times);
    m.recordLast = median(rec.times.slice(-50));
    m.recordTotal = rec.times.reduce((x, y) => x + y, 0);

    const busy = await serverSeconds(server);
    let w = server.wire();
    const up = await a.call('sync');
    let w2 = server.wire();
    m.uploadServer = (await serverSeconds(server) - busy) * 1000;
    Object.assign(m, { upload: up.ms, uploadSent: w2.up - w.up, uploadReceived: w2.down - w.down, uploadRejected: up.rejected, uploadPending: up.pending, uploadFailures: up.failures.length });
    if (up.failures.length) m.uploadFailure = up.failures[0];
    m.noChange = (await a.call('sync')).ms;
    let disk = await a.call('disk');
    await a.close();

    // A new phone of the same manager downloads everything.
    w = server.wire();
    const b = await App.open(server, server.tokens.b);
    const t0 = performance.now();
    await b.call('load');
    const fresh = await b.call('sync');
    m.fresh = performance.now() - t0;
    m.freshFailures = fresh.failures.length;
    w2 = server.wire();
    m.freshReceived = w2.down - w.down;

    // The app restarted, nothing to do.
    a = await App.open(server, server.tokens.a, disk);
    m.restartLoad = (await a.call('load')).ms;
    m.restartSync = (await a.call('sync')).ms;
    m.restart = m.restartLoad + m.restartSync;
    m.list = (await a.call('list')).ms;
    disk = await a.call('disk');
    await a.close();

    // Ten dealers edited on the other phone; the app restarted and syncs.
    await b.call('visit', { docs: rec.ids.slice(0, 10) });
    await b.call('sync');
    await b.close();
    a = await App.open(server, server.tokens.a, disk);
    m.deltaLoad = (await a.call('load')).ms;
    w = server.wire();
    m.deltaSync = (await a.call('sync')).ms;
    w2 = server.wire();
    m.delta = m.deltaLoad + m.deltaSync;
    m.deltaReceived = w2.down - w.down;
    // The home screen again: the summaries stored at the last showing, the ten changed ones made anew.
    m.listAgain = (await a.call('list')).ms;
    // Recording one visit now, with every dealer on the device.
    m.visitNow = median((await a.call('visit', { docs: rec.ids.slice(10, 15) })).times);
    await a.close();
  } catch (e) {
    m.failed = String(e.message ?? e).split('\n')[0];
  } finally {
    server.stop();
  }
  return m;
}

const fmt = (x) => (Number.isNaN(x) || x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const kb = (x) => (x === undefined || Number.isNaN(x) ? '—' : (x / 1000).toFixed(0));

const out = [];
out.push(`Per-device scenarios, medians of the repetitions shown (wasm build + web/dist/js/local.js + sync.js in Node ${process.version}, fake-indexeddb; release server on SQLite, loopback). Bytes: TCP, both directions counted by a proxy, headers included.`);
out.push('');
const cols = [];
for (const cfg of CONFIGS) {
  const reps = REPS ?? cfg.reps;
  const runs = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = await once(cfg);
    console.error(`${cfg.name}, run ${i + 1} of ${reps} (${((performance.now() - t0) / 1000).toFixed(0)} s): ${JSON.stringify(r)}`);
    runs.push(r);
  }
  const ok = runs.filter((r) => !r.failed);
  const med = (k) => median(ok.map((r) => r[k]).filter((x) => x !== undefined));
  cols.push({ cfg, reps, failed: runs.filter((r) => r.failed).map((r) => r.failed), med, firstFailure: ok.find((r) => r.uploadFailure)?.uploadFailure });
}
const row = (label, f) => out.push(`| ${label} | ${cols.map(f).join(' | ')} |`);
out.push(`| | ${cols.map((c) => `${c.cfg.name} (${c.reps} run${c.reps > 1 ? 's' : ''})`).join(' | ')} |`);
out.push(`|---|${cols.map(() => '---:').join('|')}|`);
row('upload after a day offline', (c) => `${fmt(c.med('upload'))} ms, ${kb(c.med('uploadSent'))} KB sent, ${kb(c.med('uploadReceived'))} KB received`);
row('upload: the server handling its requests (fieldsync_sync_duration_seconds)', (c) => `${fmt(c.med('uploadServer'))} ms`);
row('upload bytes per visit (sent)', (c) => `${fmt(c.med('uploadSent') / (c.cfg.dealers * c.cfg.visits))} B`);
row('fresh device downloads everything (start + sync)', (c) => `${fmt(c.med('fresh'))} ms, ${kb(c.med('freshReceived'))} KB received`);
row('no-change sync, app open', (c) => `${fmt(c.med('noChange'))} ms`);
row('app restarted, no-change sync (load + sync)', (c) => `${fmt(c.med('restart'))} ms (${fmt(c.med('restartLoad'))} + ${fmt(c.med('restartSync'))})`);
row('app restarted, 10 dealers edited elsewhere (load + sync)', (c) => `${fmt(c.med('delta'))} ms (${fmt(c.med('deltaLoad'))} + ${fmt(c.med('deltaSync'))}), ${kb(c.med('deltaReceived'))} KB received`);
row('home screen\'s dealer summaries after a restart, none stored yet (every document loaded)', (c) => `${fmt(c.med('list'))} ms`);
row('home screen\'s dealer summaries after the 10-dealer delta (stored, 10 made anew)', (c) => `${fmt(c.med('listAgain'))} ms`);
row('record one visit: median while recording / last 50 / afterwards, holding every dealer', (c) => `${fmt(c.med('record'))} / ${fmt(c.med('recordLast'))} / ${fmt(c.med('visitNow'))} ms`);
row('recording the whole day offline', (c) => `${fmt(c.med('recordTotal') / 1000)} s`);
row('refused documents, pending after the upload', (c) => `${fmt(c.med('uploadRejected'))}, ${fmt(c.med('uploadPending'))}`);
row('syncs that failed first and were retried by the app (upload, fresh device)', (c) => `${fmt(c.med('uploadFailures'))}, ${fmt(c.med('freshFailures'))}${c.firstFailure ? ` (${c.firstFailure})` : ''}`);
row('failed runs', (c) => (c.failed.length ? `${c.failed.length}: ${c.failed[0]}` : '0'));
const text = out.join('\n');
console.log(text);
if (process.env.FIELDSYNC_BENCH_OUT) writeFileSync(process.env.FIELDSYNC_BENCH_OUT, text + '\n');

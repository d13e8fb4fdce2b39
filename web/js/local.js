// The device's replica (core in wasm) and its persistence in IndexedDB.
// One tab owns the replica (a Web Lock per user): only it edits, syncs and writes IndexedDB, so
// no two writers ever share an Automerge actor. Other tabs read the same database, send their
// edits to the owner as named operations over a BroadcastChannel, and read it again when the
// owner says something changed; when the owner closes, the lock passes to the next tab, which
// restores from IndexedDB and takes over. An edit is written (documents and bookkeeping in one
// transaction) before the caller hears it is saved; a failed write puts memory back to what is
// on disk and throws.
// Documents load lazily: a start reads the bookkeeping (db.js) and loads only the documents with
// changes to send; the others come into wasm when shown (`ensure`, `ensureAll`), edited, or named
// by a sync response. An edit writes its documents, their bookkeeping and the small global part.
// The home screen reads a small summary per dealer (`summarise`, `summaries`: its store `summary`), dropped with
// every write of the document and made again, from the document, when next listed.
import init, { Replica } from '../pkg/fieldsync_wasm.js';
import * as db from './db.js';
import * as photos from './photos.js';
import { offsetSeconds, dayIn } from './zone.js';

let replica = null, chan = null, owner = true, remote = {}, reloading = Promise.resolve(), device = null;
// Leaving this user (a logout or another user's login, here or in another tab): no more edits, calls or
// writes from this page; `unlock` gives the lock up, `unqueue` drops a wait for it, `tookOver` hears it came.
let closed = false, unlock = () => {}, unqueue = new AbortController(), tookOver = () => {};
const listeners = new Set(), calls = new Map();
/** Every stored document's bookkeeping as on disk (id → docMeta JSON), and the ids loaded into wasm. */
let stored = new Map(), loaded = new Set();
/** Each dealer's summary (`summaryOf`) as last read or made (null: not read since the last restore); writes in flight. */
let sums = null, writing = 0, writes = 0;
/** Documents that cannot be read: `{doc, code, message, stored}` (stored: the saved bytes will not load; else an incoming change failed). */
export let damaged = [];
/** Documents of territories this device lost, with edits the server never received (kept in the replica's bookkeeping): `[{doc, territory, name, changes, records, bytes}]`. */
export let undelivered = [];
const readUndelivered = () => { undelivered = replica ? JSON.parse(replica.globalMeta()).undelivered ?? [] : []; };

/** The edits views make, as data (so another tab can ask the owner to make them). */
const OPS = {
  updateProfile: (r, doc, patch, by) => r.updateProfile(doc, JSON.stringify(patch), by),
  /** A new dealer (its id, made by core, is the result), listed in the index of territory document `doc`. */
  createDealer: (r, doc, profile, by) => r.createDealer(doc.slice('territory:'.length), undefined, JSON.stringify(profile), by),
  advance: (r, doc, coll, id, stage, extra, by) => r.advance(doc, coll, id, stage, extra, by),
  escalate: (r, doc, id, by) => r.escalate(doc, id, by),
  /** A record of `coll` outside any visit (views/record.js: a commitment or problem added to a dealer at any time). */
  insert: (r, doc, coll, rec, by) => r.insert(doc, coll, undefined, JSON.stringify(rec), by),
  /** The incoming manager takes over (`accepted`, the record becomes theirs) or flags (with `reason`) an item of a handover. */
  review: (r, doc, coll, id, handover, stage, reason, by) => r.review(doc, coll, id, handover, stage, reason, by),
  /** A visit with its note and its commitments, problems and claims (`[[collection, record]]`): one edit. */
  recordVisit: (r, doc, visit, note, subs, by) => {
    const v = r.insert(doc, 'visits', undefined, JSON.stringify(visit), by);
    if (note) r.addNote(doc, 'visits', v, note, by);
    for (const [coll, rec] of subs) r.insert(doc, coll, undefined, JSON.stringify({ ...rec, visit: v }), by);
    Object.keys(visit.photos ?? {}).forEach((p) => photos.waiting.add(p));
    return v;
  },
};

const hold = () => new Promise((resolve) => { unlock = resolve; });
const gone = () => Object.assign(new Error('this page left its user'), { code: 'busy' });

/** Opens database `name`, becomes its owner if no other tab is, and reads the replica (syncing as server device `dev`). */
export async function load(name, dev) {
  if (replica) return replica;
  device = dev ?? null;
  await init();
  db.use(name);
  const lock = `fieldsync-replica:${name}`;
  if (navigator.locks && window.BroadcastChannel) {
    owner = await new Promise((resolve) => navigator.locks.request(lock, { ifAvailable: true }, (l) => { resolve(!!l); return l && hold(); }));
    chan = new BroadcastChannel(name);
    chan.onmessage = ({ data }) => onMessage(data);
    if (!owner) {
      navigator.locks.request(lock, { signal: unqueue.signal }, async () => {
        owner = true;
        await reload();
        if (!closed) {
          await ownDevice();
          notify('owner');
        }
        tookOver();
        return hold();
      }).catch(() => {}); // the wait was dropped (release)
    }
  }
  if (owner) await db.adoptLegacy();
  await reload();
  if (owner) await ownDevice();
  return replica;
}

/** The owner records which device the replica syncs as: a newly issued one means a fresh actor (the server ties each to one device). */
async function ownDevice() {
  if (!device) return;
  // A replica that never knew its device keeps its actor only if it wrote nothing: it must see a document to know.
  if (!loaded.size && stored.size && !JSON.parse(replica.globalMeta()).device) await loadDocs([stored.keys().next().value]);
  if (replica.setDevice(device)) await persist([]);
}

export const isOwner = () => owner;

function onMessage(m) {
  if (m.t === 'call' && owner && closed) {
    chan.postMessage({ t: 'done', id: m.id, error: { code: 'busy', message: gone().message } });
  } else if (m.t === 'call' && owner) {
    run[m.name](...m.args).then((out) => { notify('sync'); chan.postMessage({ t: 'done', id: m.id, out }); },
      (e) => chan.postMessage({ t: 'done', id: m.id, error: { code: e.code, message: e.message } }));
  } else if (m.t === 'changed' && !owner) {
    reload().then(() => notify('sync'));
  } else if (m.t === 'status' && !owner) {
    remote = m.status;
    photos.waiting.clear();
    m.waiting.forEach((p) => photos.waiting.add(p));
    notify('status');
  } else if (m.t === 'done' && calls.has(m.id)) {
    const c = calls.get(m.id);
    calls.delete(m.id);
    reloading.then(() => (m.error ? c.reject(Object.assign(new Error(m.error.message), { code: m.error.code })) : c.resolve(m.out)));
  }
}

/** Runs `run[name]` here if this tab owns the replica, else in the owner's tab. */
async function viaOwner(name, args) {
  if (closed) throw gone();
  if (owner) return run[name](...args);
  const id = `${Date.now()}-${Math.random()}`;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    chan.postMessage({ t: 'call', id, name, args });
    setTimeout(() => calls.delete(id) && reject(Object.assign(new Error('no answer from the tab that saves'), { code: 'busy' })), 15_000);
  });
}

/** The owner tells the other tabs how syncing goes (they show the same sync bar). */
export function announce(status) {
  if (owner && chan) chan.postMessage({ t: 'status', status, waiting: [...photos.waiting] });
}
export const remoteStatus = () => remote;

const reload = () => (reloading = reloading.then(restore, restore));

/** Reads the replica back from IndexedDB (what the device holds for sure): its bookkeeping, the documents with changes to
 * send, and the ones loaded before (the views read them). Bookkeeping of the first version (saved whole) is moved over. */
async function restore() {
  const keep = [...loaded];
  const s = await db.bookkeeping();
  replica?.free();
  replica = null;
  stored = new Map();
  loaded = new Set();
  sums = null;
  damaged = s.damaged ?? [];
  if (s.meta && JSON.parse(s.meta).docs) {
    await restoreWhole(s.meta);
  } else if (s.meta) {
    replica = Replica.restore(s.meta);
    s.keys.forEach((k, i) => stored.set(k, s.metas[i]));
    await loadDocs([...s.keys.filter((k, i) => s.metas[i].includes('"dirty":true')), ...keep]);
  } else {
    replica = new Replica();
    if (owner) await db.write({ meta: { replica: replica.globalMeta() } });
  }
  readUndelivered();
  return replica;
}

/** Restores bookkeeping saved whole (every document's in it), loading every document; the owner saves it split. */
async function restoreWhole(meta) {
  const s = await db.entries('docs'), old = JSON.parse(meta).docs;
  replica = Replica.restore(meta);
  for (const [id, bytes] of Object.entries(s)) {
    // An unreadable document keeps what was known of it (unsent: loaded, and so listed, at every start).
    const m = JSON.stringify(old[id] ?? { acked: [], dirty: true });
    stored.set(id, m);
    try {
      replica.loadDoc(bytes, m);
      loaded.add(id);
      stored.set(id, replica.docMeta(id));
    } catch (e) {
      damaged = [...damaged.filter((d) => d.doc !== id), { doc: id, code: e.code, message: e.message, stored: true }];
    }
  }
  if (owner) await db.write({ docmeta: Object.fromEntries(stored), meta: { replica: replica.globalMeta() } });
}

/** Loads stored documents not in wasm yet; one that will not load is listed as damaged. */
async function loadDocs(ids) {
  for (;;) {
    const r = replica;
    const want = [...new Set(ids)].filter((id) => !loaded.has(id) && stored.has(id));
    if (!want.length || !r) return;
    const got = await db.docs(want);
    if (replica !== r) continue; // read again from disk meanwhile: load into the new one
    let bad = false;
    want.forEach((id, i) => {
      const { bytes, meta } = got[i];
      if (!bytes || loaded.has(id)) return;
      try {
        replica.loadDoc(bytes, meta ?? '{"acked":[],"dirty":true}');
        loaded.add(id);
      } catch (e) {
        if (damaged.some((d) => d.doc === id)) return;
        damaged = [...damaged, { doc: id, code: e.code, message: e.message, stored: true }];
        bad = true;
      }
    });
    if (bad) queueMicrotask(() => notify('status'));
    return;
  }
}

/** A stored document's territory, from its bookkeeping (null: not known). */
const territoryOfStored = (id) => { try { return JSON.parse(stored.get(id)).territory ?? null; } catch { return null; } };

/** Loads documents (and each one's territory document: its time zone) before `state`, `conflicts` read them. */
export async function ensure(ids) {
  await reloading;
  const terr = ids.map(territoryOfStored).filter(Boolean).map((t) => `territory:${t}`);
  await loadDocs([...ids, ...terr]);
}

/** Loads every stored document of `kind` (`dealer` or `territory`) and the territories' before `dealers`, `territories` list them. */
export async function ensureAll(kind) {
  await reloading;
  await loadDocs([...stored.keys()].filter((k) => k.startsWith(kind) || k.startsWith('territory')));
}

export const onChange = (f) => listeners.add(f);
const notify = (what) => listeners.forEach((f) => f(what));

/** Saves the named documents (deleting `removed` ones), the bookkeeping of those and of `also`, and the global part, in one
 * transaction; if that fails, memory goes back to what is on disk. */
async function persist(docIds, removed = [], also = []) {
  const docs = {}, docmeta = {}, saved = new Set(docIds);
  for (const id of new Set([...docIds, ...also])) {
    const bytes = saved.has(id) && replica.saveDoc(id);
    if (bytes) docs[id] = bytes;
    const m = replica.docMeta(id);
    if (m && m !== stored.get(id)) docmeta[id] = m;
  }
  for (const id of removed) docs[id] = docmeta[id] = undefined;
  // A written document's summary goes with the write (made again when next listed).
  const summary = Object.fromEntries(Object.keys(docs).filter((id) => id.startsWith('dealer:')).map((id) => [id, undefined]));
  Object.keys(summary).forEach((id) => sums?.delete(id));
  writes++; // a read of the summaries begun before this write must not keep what it drops
  writing++;
  try {
    await db.write({ docs, docmeta, summary, meta: { replica: replica.globalMeta(), damaged: damaged.filter((d) => !d.stored) } });
  } catch (e) {
    await restore();
    notify('sync');
    throw e;
  } finally {
    writing--;
  }
  for (const [id, m] of Object.entries(docmeta)) {
    if (m === undefined) { stored.delete(id); loaded.delete(id); } else { stored.set(id, m); loaded.add(id); }
  }
  chan?.postMessage({ t: 'changed' });
}

/** Saves documents edited through the replica directly (`load`'s result), as an edit saves them (the device bench's dealers). */
export const save = (docIds) => persist(docIds);

/** Runs edit `op` (a key of OPS) with `args` (the document first), persists, tells listeners. Throws core's or storage's error, with nothing kept. */
async function apply(op, ...args) {
  await reloading;
  await loadDocs([args[0]]);
  let out;
  writing++; // memory may hold what is undone below: no summary of it is stored meanwhile
  try {
    try {
      out = OPS[op](replica, ...args);
    } catch (e) {
      // Several changes make one edit (a visit and its commitments): if one is refused,
      // the ones before it must not stay in memory either.
      await restore();
      throw e;
    }
    // The document the edit names; a new dealer's too.
    await persist(op === 'createDealer' ? [args[0], `dealer:${out}`] : [args[0]]);
  } finally {
    writing--;
  }
  notify('edit');
  return out;
}

export const edit = (op, ...args) => viaOwner('edit', [op, ...args]);
export const discard = (docId) => viaOwner('discard', [docId]);
export const refetch = (docId) => viaOwner('refetch', [docId]);

export const pending = () => (replica ? replica.pending() : 0);
/** Edits and photos not on the server yet, undelivered ones included (NaN if the replica could not be read). */
export const unsent = () => (replica ? replica.pending() + photos.waiting.size + undelivered.length : NaN);
/** A document as JSON; each tracked record's `standing` (status, open, overdue) is the core's, as of now in its territory's zone. */
export const state = (docId) => JSON.parse(replica.state(docId, Date.now(), offsetSeconds));
/** The loaded documents of `kind` read (`ensureAll` first loads them all); one that cannot be read is listed as damaged instead. */
const all = (kind) => [...loaded].filter((k) => k.startsWith(kind)).map(readable).filter(Boolean);
/** Each readable dealer's state. */
export const dealers = () => all('dealer');

/** A loaded document's state, or null (one that will not read is listed as damaged). */
function readable(id) {
  try {
    return state(id);
  } catch (e) {
    if (!damaged.some((d) => d.doc === id)) {
      damaged = [...damaged, { doc: id, code: e.code, message: e.message, stored: true }];
      queueMicrotask(() => notify('status'));
    }
    return null;
  }
}

/** What the home screen shows of a dealer (the list row, today's card, claims, my commitments): its state with the
 * last visit only, the open commitments, the claims not reconciled and the problems head office answered. */
function summaryOf(d) {
  const keep = (m, f) => Object.fromEntries(Object.entries(m).filter(([, r]) => f(r)));
  const last = Object.entries(d.visits).reduce((a, b) => (b[1].at > (a?.[1].at ?? -Infinity) ? b : a), null);
  return { ...d, visits: last ? { [last[0]]: { at: last[1].at } } : {}, activities: {},
    commitments: keep(d.commitments, (c) => c.standing.open || c.standing.also?.length),
    claims: keep(d.claims, (c) => c.standing.status !== 'reconciled'), problems: keep(d.problems, (p) => p.escalation?.responded) };
}

/** A summary made on another day in its zone, when its commitments may have fallen due since. */
function stale(x, now) {
  try { return Object.keys(x.commitments).length > 0 && x.today !== dayIn(x.zone, now); } catch { return true; }
}

/** Makes every dealer's summary current: reads the stored ones (once), makes the missing and stale ones from their
 * documents (loading them) and, in the tab that writes, stores those. */
export async function summarise() {
  await reloading;
  const r = replica, w = writes;
  // Unreadable stored summaries are made again from the documents: the list is slower, never empty.
  const read = sums ?? new Map(Object.entries(await db.entries('summary').catch(() => ({}))));
  if (replica !== r || writes !== w) return summarise(); // read again from disk, or written, meanwhile
  sums ??= read;
  const now = Date.now(), fresh = {};
  const want = [...stored.keys()].filter((k) => k.startsWith('dealer:') && (!sums.has(k) || stale(sums.get(k), now)));
  if (!want.length) return;
  await ensure(want);
  if (replica !== r) return summarise();
  for (const id of want) {
    const d = loaded.has(id) && readable(id);
    if (d) sums.set(id, (fresh[id] = summaryOf(d)));
  }
  // Not while an edit is being written: a summary of what may yet be undone.
  if (owner && !closed && !writing && replica === r && Object.keys(fresh).length) await db.write({ summary: fresh }).catch(() => {});
}

/** Every dealer's summary (`summarise` first), but those whose stored bytes proved unreadable. */
export const summaries = () => [...stored.keys()].filter((k) => !damaged.some((d) => d.stored && d.doc === k)).map((k) => sums?.get(k)).filter(Boolean);
/** The territory documents loaded (`ensureAll('territory')` first; their `profile`: name, region, managers). */
export const territories = () => all('territory');
export const conflicts = (docId) => JSON.parse(replica.conflicts(docId));
export const rejections = () => (replica ? JSON.parse(replica.rejections()) : []);
export const syncRequest = () => replica.syncRequest();
export const tooLarge = (limits) => replica.tooLarge(JSON.stringify(limits ?? null));
export const tooSlow = () => replica.tooSlow();

/** Rewrites the global bookkeeping as JSON (what wasm has no call for), writes it with `docs` (their bookkeeping goes with
 * them) and `extra` meta, and reads the replica again. */
async function rewrite(docId, f, docs, extra = {}) {
  const meta = JSON.parse(replica.globalMeta());
  f(meta);
  damaged = damaged.filter((d) => d.doc !== docId);
  const docmeta = Object.fromEntries(Object.keys(docs).map((k) => [k, undefined]));
  writes++;
  writing++;
  try {
    await db.write({ docs, docmeta, summary: docmeta, meta: { replica: JSON.stringify(meta), damaged: damaged.filter((d) => !d.stored), ...extra } });
    await restore();
  } finally {
    writing--;
  }
  chan?.postMessage({ t: 'changed' });
  notify('sync');
}

/** A cursor without `territory`'s position: the next sync reads that territory's feed from the start. */
const withoutTerritory = (cursor, territory) => cursor.split(',').filter((e) => e && !e.startsWith(`${territory}:`)).join(',');

/** The territory of a document, from itself or from the territory document listing it (null: no one says). */
async function territoryOf(docId) {
  const [kind, id] = [docId.slice(0, docId.indexOf(':')), docId.slice(docId.indexOf(':') + 1)];
  if (kind === 'territory') return id;
  if (territoryOfStored(docId)) return territoryOfStored(docId);
  try { return state(docId).territory; } catch { /* not readable here */ }
  await loadDocs([...stored.keys()].filter((k) => k.startsWith('territory:')));
  return territories().find((x) => x.dealers?.[id])?.id ?? null;
}

/** A fresh actor for the next edits, after documents are dropped: the server may hold changes of the old one
 * (reusing their sequence numbers would be refused), and never sends a replica what it pushed itself. */
function freshActor(meta) {
  meta.past_actors = [...(meta.past_actors ?? []), meta.actor];
  meta.actor = Array.from(crypto.getRandomValues(new Uint8Array(13)), (b) => b.toString(16).padStart(2, '0')).join('');
}

const run = {
  edit: apply,
  /**
   * Drops a document the server refused, with its unsent edits, and reads its territory's
   * feed again from the start, so the next sync brings back what the server holds.
   * (Not in wasm: core's `discard_pending` would add ~9 KB gzipped to a first visit.)
   */
  discard: async (docId) => {
    const territory = await territoryOf(docId);
    return rewrite(docId, (meta) => {
      meta.rejections = meta.rejections.filter((r) => r.doc !== docId);
      meta.cursor = withoutTerritory(meta.cursor, territory);
      freshActor(meta);
    }, { [docId]: undefined });
  },
  /**
   * A damaged document is fetched again: its territory's feed is read from the start (the whole
   * feed only if no readable document says which territory it is in); unreadable stored bytes are
   * kept aside, never deleted.
   */
  refetch: async (docId) => {
    const unreadable = damaged.some((d) => d.doc === docId && d.stored);
    const bytes = unreadable && (await db.get('docs', docId));
    const territory = await territoryOf(docId);
    const reset = (meta) => { meta.cursor = territory ? withoutTerritory(meta.cursor, territory) : ''; freshActor(meta); };
    return bytes ? rewrite(docId, reset, { [docId]: undefined }, { [`damaged:${docId}`]: bytes }) : rewrite(docId, reset, {});
  },
};

/** Applies a sync response and persists what it changed; returns the report. A document that fails to apply is listed as damaged;
 * documents of a revoked territory are deleted (their undelivered edits stay in the bookkeeping). The stored documents it names
 * are loaded first (all of a revoked territory's; every one when the server's database went back in time). */
export async function applyResponse(text) {
  if (closed) throw gone();
  const named = namedBy(text);
  await loadDocs(named);
  if (closed) throw gone();
  const report = JSON.parse(replica.applyResponse(text));
  const removed = report.removed ?? [];
  const failed = report.errors.filter((e) => !damaged.some((d) => d.doc === e.doc));
  damaged = [...damaged.filter((d) => (d.stored || !report.updated.includes(d.doc)) && !removed.includes(d.doc)), ...failed];
  // Bookkeeping a sync may change besides the documents it updates: the ones it names, and those that had changes to send.
  const before = [...loaded].filter((id) => !stored.has(id) || stored.get(id).includes('"dirty":true'));
  await persist(report.updated, removed, [...named, ...before].filter((id) => !removed.includes(id)));
  if (removed.length || undelivered.length) readUndelivered();
  if (report.updated.length || failed.length || removed.length) notify('sync');
  return report;
}

/** The stored documents a sync response acknowledges, changes, or revokes, or all of them after a reset. */
function namedBy(text) {
  let r;
  try { r = JSON.parse(text); } catch { return []; } // the replica says what is wrong with it
  if (r.reset) return [...stored.keys()];
  const ids = [...(r.accepted ?? []), ...(r.changes ?? []), ...(r.snapshots ?? [])].map((d) => d.doc);
  for (const t of r.revoked ?? []) ids.push(...[...stored.keys()].filter((k) => k === `territory:${t}` || [t, null].includes(territoryOfStored(k))));
  return ids;
}

/** Another tab logged out or in as someone else: this page stops editing and gives the replica up. */
export function release() {
  closed = true;
  unqueue.abort();
  unlock();
  chan?.close();
}

/**
 * This page leaves its user (logout, another user's login), with the session already changed so the
 * owner tab lets go: once this page owns the replica (waiting up to `wait` ms), it reads what is on
 * disk and deletes the database only if nothing in it waits to be sent (edits, photos, visit drafts,
 * unreadable bytes, undelivered edits of a lost territory). Otherwise everything stays for the next login of this user. True if deleted.
 */
export async function dropIfClean(wait = 10_000) {
  closed = true;
  if (!owner) {
    await new Promise((resolve) => { tookOver = resolve; setTimeout(resolve, wait); });
    if (!owner) return false;
  }
  await reload();
  await photos.scan();
  const kept = (await db.all('meta', 1)).some((k) => /^(draft|damaged):/.test(k));
  if (!replica || replica.pending() || photos.waiting.size || undelivered.length || damaged.some((d) => d.stored) || kept) return false;
  await db.drop();
  return true;
}

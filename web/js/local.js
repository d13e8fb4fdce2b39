// The device's replica (core in wasm) and its persistence in IndexedDB.
// An edit runs in wasm, then the changed documents and the bookkeeping are written
// in one IndexedDB transaction; only then does the caller hear it is saved.
import init, { Replica } from '../pkg/fieldsync_wasm.js';
import * as db from './db.js';

let replica = null;
const listeners = new Set();

export async function load() {
  if (replica) return replica;
  await init();
  return restore();
}

/** Reads the replica back from IndexedDB (what the device holds for sure). */
async function restore() {
  const meta = await db.get('meta', 'replica');
  if (meta) {
    const docs = await db.all('docs');
    replica = Replica.restore(meta, docs);
  } else {
    replica = new Replica();
    await db.write({ meta: { replica: replica.meta() } });
  }
  return replica;
}

export const onChange = (f) => listeners.add(f);
const notify = (what) => listeners.forEach((f) => f(what));

/** Saves the named documents and the bookkeeping in one transaction. */
export async function persist(docIds) {
  const docs = {};
  for (const id of new Set(docIds)) {
    const bytes = replica.saveDoc(id);
    if (bytes) docs[id] = bytes;
  }
  await db.write({ docs, meta: { replica: replica.meta() } });
}

/** Runs `fn(replica)` (which edits `docIds`), persists, then tells listeners. Throws core's error, with nothing written. */
export async function edit(docIds, fn) {
  let out;
  try {
    out = fn(replica);
  } catch (e) {
    // Several changes make one edit (a visit and its commitments): if one is refused,
    // the ones before it must not stay in memory either.
    replica.free();
    replica = null;
    await restore();
    throw e;
  }
  await persist(docIds);
  notify('edit');
  return out;
}

export const pending = () => (replica ? replica.pending() : 0);
export const state = (docId) => JSON.parse(replica.state(docId));
export const dealers = () => JSON.parse(replica.states('dealer')).items;
export const conflicts = (docId) => JSON.parse(replica.conflicts(docId));
export const rejections = () => (replica ? JSON.parse(replica.rejections()) : []);
export const syncRequest = () => replica.syncRequest();

/**
 * Drops a document the server refused, with its unsent edits, and reads its territory's
 * feed again from the start, so the next sync brings back what the server holds.
 * (Not in wasm: core's `discard_pending` would add ~9 KB gzipped to a first visit.)
 */
export async function discard(docId) {
  const territory = JSON.parse(replica.state(docId)).territory;
  const meta = JSON.parse(replica.meta());
  delete meta.docs[docId];
  meta.rejections = meta.rejections.filter((r) => r.doc !== docId);
  meta.cursor = meta.cursor.split(',').filter((e) => e && !e.startsWith(`${territory}:`)).join(',');
  await db.write({ docs: { [docId]: undefined }, meta: { replica: JSON.stringify(meta) } });
  replica.free();
  replica = null;
  await restore();
  notify('sync');
}

/** Applies a sync response and persists what it changed; returns the report. */
export async function applyResponse(text) {
  const report = JSON.parse(replica.applyResponse(text));
  await persist(report.updated);
  if (report.updated.length) notify('sync');
  return report;
}

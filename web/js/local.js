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

export const ready = () => replica != null;
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
export const territories = () => JSON.parse(replica.states('territory')).items;
export const conflicts = (docId) => JSON.parse(replica.conflicts(docId));
export const rejections = () => (replica ? JSON.parse(replica.rejections()) : []);
export const syncRequest = () => replica.syncRequest();

/** Drops a refused document's unsent edits, going back to what the server holds. */
export async function discard(docId) {
  replica.discardPending(docId);
  const bytes = replica.saveDoc(docId);
  await db.write({ docs: { [docId]: bytes }, meta: { replica: replica.meta() } });
  notify('sync');
}

/** Applies a sync response and persists what it changed; returns the report. */
export async function applyResponse(text) {
  const report = JSON.parse(replica.applyResponse(text));
  await persist(report.updated);
  if (report.updated.length) notify('sync');
  return report;
}

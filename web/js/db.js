// IndexedDB: saved documents, the replica's bookkeeping and photos, one database per user
// (switching users never wipes the other's unsynced work). Store `docs` holds each document's
// bytes and `docmeta` its bookkeeping (acknowledged hashes, dirty, territory), written together;
// `meta` key `replica` the small rest (actor, cursor, refusals), so an edit writes what it touched
// and a start reads the bookkeeping only; `summary` each dealer's summary for the home screen (local.js). Every write resolves only once its transaction has
// committed ('strict' durability), so the UI never says "saved" before the change is on the
// device; a failed write rejects with code 'quota' or 'storage'.

const STORES = ['docs', 'meta', 'photos', 'docmeta', 'summary'];
const LEGACY = 'fieldsync'; // the one database of earlier versions
let name = LEGACY, opening, dropped = false; // dropped: this page deleted its database, which must not come back empty

/** Chooses the database (before first use); closes the one in use if it differs. */
export function use(n) {
  if (n === name) return;
  forget();
  name = n;
  dropped = false;
}

function forget() {
  opening?.then((d) => d.close(), () => {});
  opening = null;
}

export function open() {
  if (dropped) return Promise.reject(Object.assign(new Error(`${name} was deleted`), { code: 'storage' }));
  opening ??= new Promise((resolve, reject) => {
    // Version 2 adds `docmeta` (what version 1 kept stays; local.js moves its bookkeeping over), 3 `summary`.
    const req = indexedDB.open(name, 3);
    req.onupgradeneeded = () => STORES.forEach((s) => req.result.objectStoreNames.contains(s) || req.result.createObjectStore(s));
    req.onsuccess = () => {
      const d = req.result;
      // The browser may close the connection (storage cleared, the OS reclaiming it), or a
      // newer version or a deletion needs it: the next access opens it again.
      d.onclose = () => { if (opening) opening = null; };
      d.onversionchange = () => { d.close(); opening = null; };
      resolve(d);
    };
    req.onerror = () => { opening = null; reject(storageError(req.error)); };
  });
  return opening;
}

const storageError = (e) => Object.assign(new Error(e?.message || 'IndexedDB'), { code: e?.name === 'QuotaExceededError' ? 'quota' : 'storage' });

/** A transaction, reopening once if the browser closed the connection under us. */
async function txn(stores, mode, opts) {
  try {
    return (await open()).transaction(stores, mode, opts);
  } catch (e) {
    if (e.name !== 'InvalidStateError') throw storageError(e);
    opening = null;
    return (await open()).transaction(stores, mode, opts);
  }
}

const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(storageError(tx.error));
  tx.onabort = () => reject(storageError(tx.error));
});

const result = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(storageError(req.error));
});

/** Writes `{store: {key: value|undefined}}` in one transaction; undefined deletes. */
export async function write(changes) {
  const stores = Object.keys(changes);
  const tx = await txn(stores, 'readwrite', { durability: 'strict' });
  const committed = done(tx);
  try {
    for (const s of stores) {
      for (const [k, v] of Object.entries(changes[s])) {
        if (v === undefined) tx.objectStore(s).delete(k);
        else tx.objectStore(s).put(v, k);
      }
    }
  } catch (e) {
    committed.catch(() => {});
    try { tx.abort(); } catch { /* already finished */ }
    throw storageError(e);
  }
  await committed;
}

export async function get(store, key) {
  return result((await txn(store)).objectStore(store).get(key));
}

/** Every value of a store (or every key). */
export async function all(store, keys) {
  return result((await txn(store)).objectStore(store)[keys ? 'getAllKeys' : 'getAll']());
}

/** A store's contents as `{key: value}`, read in one transaction. */
export async function entries(store) {
  const tx = await txn(store), s = tx.objectStore(store);
  const [keys, values] = await Promise.all([s.getAllKeys(), s.getAll()].map(result));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
}

/** The replica's bookkeeping (`meta`'s and every document's, with their keys), read in one transaction. */
export async function bookkeeping() {
  const tx = await txn(['docmeta', 'meta']);
  const d = tx.objectStore('docmeta'), m = tx.objectStore('meta');
  const [meta, damaged, keys, metas] = await Promise.all([m.get('replica'), m.get('damaged'), d.getAllKeys(), d.getAll()].map(result));
  return { meta, damaged, keys, metas };
}

/** The named documents' bytes and bookkeeping (`[{bytes, meta}]`, undefined where not stored), read in one transaction. */
export async function docs(ids) {
  const tx = await txn(['docs', 'docmeta']);
  const d = tx.objectStore('docs'), m = tx.objectStore('docmeta');
  if (ids.length > 20) {
    // Many (a list of every dealer): one read of each store beats a read per document.
    const [keys, bytes, mkeys, metas] = await Promise.all([d.getAllKeys(), d.getAll(), m.getAllKeys(), m.getAll()].map(result));
    const b = new Map(keys.map((k, i) => [k, bytes[i]])), mm = new Map(mkeys.map((k, i) => [k, metas[i]]));
    return ids.map((id) => ({ bytes: b.get(id), meta: mm.get(id) }));
  }
  return Promise.all(ids.map(async (id) => {
    const [bytes, meta] = await Promise.all([result(d.get(id)), result(m.get(id))]);
    return { bytes, meta };
  }));
}

/** Moves an earlier version's single database into this user's (once; nothing is dropped before it is copied). */
export async function adoptLegacy() {
  if (name === LEGACY || !(await indexedDB.databases?.())?.some((x) => x.name === LEGACY) || (await get('meta', 'replica'))) return;
  const mine = name, data = {};
  use(LEGACY);
  for (const s of STORES) data[s] = await entries(s);
  use(mine);
  await write(data);
  await drop(LEGACY);
}

/** Deletes a database (this user's by default), once nothing in it is unsynced. */
export function drop(n = name) {
  if (n === name) { forget(); dropped = true; }
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(n);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(storageError(req.error));
  });
}

// IndexedDB: saved documents, the replica's bookkeeping, the session and photos.
// Every write resolves only once its transaction has committed ('strict' durability),
// so the UI never says "saved" before the change is on the device.

const NAME = 'fieldsync';
let opening;

export function open() {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(NAME, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('docs');
      db.createObjectStore('meta');
      db.createObjectStore('photos');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opening;
}

const done = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
});

const result = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/** Writes `{store: {key: value|undefined}}` in one transaction; undefined deletes. */
export async function write(changes) {
  const db = await open();
  const stores = Object.keys(changes);
  const tx = db.transaction(stores, 'readwrite', { durability: 'strict' });
  for (const s of stores) {
    for (const [k, v] of Object.entries(changes[s])) {
      if (v === undefined) tx.objectStore(s).delete(k);
      else tx.objectStore(s).put(v, k);
    }
  }
  await done(tx);
}

export async function get(store, key) {
  const db = await open();
  return result(db.transaction(store).objectStore(store).get(key));
}

/** Every value of a store (or every key). */
export async function all(store, keys) {
  const db = await open();
  return result(db.transaction(store).objectStore(store)[keys ? 'getAllKeys' : 'getAll']());
}

export async function clear() {
  const db = await open();
  const tx = db.transaction(['docs', 'meta', 'photos'], 'readwrite');
  for (const s of ['docs', 'meta', 'photos']) tx.objectStore(s).clear();
  await done(tx);
}

// Service worker: the app's files, one cache per version, so that the app opens with no network
// and a page only ever runs the files of the version it was loaded with.
// The build writes VERSION and FILES ([path, content hash, lazy] of every file; see xtask/src/web.rs).
// - install: each file is cached under its hash; one an older version already holds is copied,
//   not downloaded, and a download is checked against its hash. Head office's screens (lazy) are
//   not: a manager's phone never shows them, so its first visit does not download them; a page of
//   head office asks for them ('precache-all') so that they open offline too, and until then
//   they come from the network. No skipWaiting here: the page asks
//   for it ('skip-waiting') when the user chose to reload into the new version.
// - fetch: a navigation gets this version's index.html and the new page is pinned to this version;
//   any other request is answered from the cache of the version its page was loaded with.
// - a page of this version that has started says 'booted'; only then are older versions' caches
//   that no open page still uses deleted (so a version that fails to start leaves the last one).
const VERSION = '__VERSION__';
const FILES = __FILES__;
const PREFIX = 'fieldsync-';
const CACHE = PREFIX + VERSION;
const META = PREFIX + 'meta'; // which open page runs which version, kept across restarts of this worker

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

self.addEventListener('install', (e) => e.waitUntil(install()));
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

const install = () => cacheFiles(FILES.filter(([, , lazy]) => !lazy));

async function cacheFiles(files) {
  const cache = await caches.open(CACHE);
  await Promise.all(files.map(async ([path, hash]) => {
    const key = `${path}?h=${hash}`;
    if (await cache.match(key)) return; // an interrupted install goes on where it stopped
    let res = await caches.match(key); // the same file in an older version's cache
    if (!res) {
      res = await fetch(path, { cache: 'no-cache' });
      if (!res.ok || !hex(await crypto.subtle.digest('SHA-256', await res.clone().arrayBuffer())).startsWith(hash)) {
        throw new Error(`${path} is not the file of version ${VERSION}`);
      }
    }
    await cache.put(key, res);
  }));
}

let pinned; // a promise of {clientId: version}
const pages = () => (pinned ??= caches.match('pages', { cacheName: META }).then((r) => (r ? r.json() : {})));
const live = async () => new Set((await self.clients.matchAll({ includeUncontrolled: true, type: 'all' })).map((c) => c.id));

async function pin(id) {
  const map = await pages();
  const open = await live();
  for (const k of Object.keys(map)) if (!open.has(k)) delete map[k];
  if (id) map[id] = VERSION;
  await (await caches.open(META)).put('pages', new Response(JSON.stringify(map)));
}

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/api/')) return; // data: always the network
  e.respondWith(serve(e, url));
});

async function serve(e, url) {
  let version = VERSION;
  if (e.request.mode === 'navigate') {
    url = new URL('./index.html', location);
    e.waitUntil(pin(e.resultingClientId));
  } else {
    version = (await pages())[e.clientId] ?? VERSION;
  }
  return (await caches.match(url.origin + url.pathname, { cacheName: PREFIX + version, ignoreSearch: true })) ?? fetch(e.request);
}

self.addEventListener('message', (e) => {
  if (e.data === 'skip-waiting') self.skipWaiting();
  else if (e.data === 'booted') e.waitUntil(booted(e.source.id));
  else if (e.data === 'precache-all') e.waitUntil(cacheFiles(FILES).catch(() => {})); // a later visit tries again
});

async function booted(id) {
  if (((await pages())[id] ?? VERSION) !== VERSION) return; // a page of an older version
  const names = await caches.keys();
  if (self.registration.installing || self.registration.waiting) return; // a newer version is being cached
  const open = await live();
  const used = new Set(Object.entries(await pages()).filter(([k]) => open.has(k)).map(([, v]) => PREFIX + v));
  await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE && n !== META && !used.has(n)).map((n) => caches.delete(n)));
}

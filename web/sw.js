// Service worker: precaches the app shell and the wasm so the app opens with no network.
// The build writes the version and the file list below (see xtask/src/web.rs).
const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const CACHE = `fieldsync-${VERSION}`;

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE.map((p) => new Request(p, { cache: 'reload' })))).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('fieldsync-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/api/')) return; // data: always the network
  // App files: the cache first (they are versioned by the cache name); navigations get index.html.
  const key = e.request.mode === 'navigate' ? './index.html' : e.request;
  e.respondWith(caches.open(CACHE).then(async (c) => (await c.match(key, { ignoreSearch: true })) ?? fetch(e.request)));
});

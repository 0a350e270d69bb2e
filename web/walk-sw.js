// Service worker of the safety-walk app (/walk): keeps the page and the
// files it loads, so that the app opens without a connection. Findings are
// never sent from here: they wait in the page's outbox (queue.js).
//
// Only public, unchanging-per-release files are cached: the page, its
// scripts, styles and messages, MapLibre, the UI settings and the category
// list. API answers with findings, tokens or anything personal pass through
// untouched and are never stored.
const CACHE = 'trygg-walk-v1';
const SHELL = [
  '/walk',
  '/static/walk.js',
  '/static/walk.css',
  '/static/style.css',
  '/static/i18n.js',
  '/static/queue.js',
  '/static/messages/sv.json',
  '/static/messages/sv-lattlast.json',
  '/static/messages/en.json',
  '/static/messages/fi.json',
  '/static/messages/ar.json',
  '/vendor/maplibre-gl/maplibre-gl.mjs',
  '/vendor/maplibre-gl/maplibre-gl-worker.mjs',
  '/vendor/maplibre-gl/maplibre-gl.css',
  '/ui-config.json',
  '/api/v1/taxonomy',
];
// How long a slow network may keep the participant waiting before the
// cached copy is shown (the network answer still refreshes the cache).
const PATIENCE_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

/** The cache key of a request this worker handles, or null to leave it alone. */
function shellKey(request) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  // /walk?lang=fi is the same page.
  if (request.mode === 'navigate') return url.pathname === '/walk' ? '/walk' : null;
  // MapLibre asks for its worker with ?v=<version>: one copy whatever the query.
  if (url.pathname.startsWith('/vendor/maplibre-gl/')) return url.pathname;
  if (url.search) return null;
  return SHELL.includes(url.pathname) || url.pathname.startsWith('/static/') ? url.pathname : null;
}

// Network first, so that an update arrives as soon as there is a
// connection; the cached copy when there is none (or it is too slow).
self.addEventListener('fetch', (event) => {
  const key = shellKey(event.request);
  if (!key) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const network = fetch(event.request).then((r) => {
      if (r.ok) cache.put(key, r.clone());
      return r;
    });
    network.catch(() => {}); // a failure is answered from the cache below
    const late = new Promise((resolve) => { setTimeout(resolve, PATIENCE_MS, null); });
    const answer = await Promise.race([network, late]).catch(() => null);
    if (answer?.ok) return answer;
    return (await cache.match(key)) || answer || network;
  })());
});

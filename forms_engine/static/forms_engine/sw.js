/* Outbreak Desk service worker: keeps the form pages a person opened, their static files and
 * their schemas, so that a form opened once can be opened and filled again without a network.
 *
 * Served at /sw.js by forms_engine.pwa.service_worker, which prepends
 *   const CONFIG = {"staticUrl": "/static/", "precache": [...]};  const VERSION = "...";
 * Submissions never pass through here: POSTs go to the network, and the page's IndexedDB
 * outbox (outbox.js) keeps and resends them.
 */
/* global CONFIG, VERSION */
"use strict";

const PAGES = "od-pages-v1"; // form pages the person opened (registered by the page)
const STATIC = "od-static-v1"; // scripts, styles, vendored Leaflet
const DATA = "od-data-v1"; // schemas, area and place lists
const KNOWN_CACHES = [PAGES, STATIC, DATA];
const NETWORK_WAIT_MS = 6000; // on a bad network, a saved copy beats waiting longer
const API_CACHED = [/^\/api\/v1\/forms\/[^/]+\/?$/, /^\/api\/v1\/areas\/?$/, /^\/api\/v1\/places\/?$/];
const HASHED = /\.[0-9a-f]{12}\.[a-z0-9]+$/; // ManifestStaticFilesStorage names never change content

self.addEventListener("install", (event) => {
  // Fresh copies of the files every form page needs, so that no saved page is left without
  // the scripts of the deployment it came from.
  event.waitUntil(
    caches
      .open(STATIC)
      .then((cache) =>
        Promise.all(
          CONFIG.precache.map((url) =>
            fetch(url, { cache: "no-cache" })
              .then((response) => (response.ok ? cache.put(url, response) : null))
              .catch(() => null),
          ),
        ),
      )
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n.startsWith("od-") && !KNOWN_CACHES.includes(n)).map((n) => caches.delete(n))),
      )
      .then(() => self.clients.claim()),
  );
});

function bucketFor(url) {
  if (url.pathname.startsWith(CONFIG.staticUrl)) return STATIC;
  if (API_CACHED.some((re) => re.test(url.pathname))) return DATA;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/admin/")) return null;
  return PAGES;
}

function cacheable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

/** The page asks: keep these URLs (itself, its schema, its static files). A page this worker
 * served (`controlled`) was refreshed on the way, so only a first visit fetches it again. */
async function cacheUrls(pageUrl, urls, controlled) {
  let page = false;
  await Promise.all(
    urls.map(async (raw) => {
      const url = new URL(raw, self.location.origin);
      url.hash = "";
      const bucket = url.origin === self.location.origin ? bucketFor(url) : null;
      if (!bucket) return;
      const cache = await caches.open(bucket);
      const saved = await cache.match(url.href, { ignoreVary: true });
      if (saved && (bucket !== PAGES || controlled)) {
        if (url.href === pageUrl) page = true;
        return; // static files and lists are fetched once; they refresh as they are used
      }
      try {
        const response = await fetch(url.href, { credentials: "same-origin", cache: "no-cache" });
        if (cacheable(response)) {
          await cache.put(url.href, response);
          if (url.href === pageUrl) page = true;
        }
      } catch (_) {
        if (url.href === pageUrl && (await cache.match(url.href, { ignoreVary: true }))) page = true;
      }
    }),
  );
  return { page, version: VERSION };
}

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type !== "cache-urls") return;
  const reply = event.ports && event.ports[0];
  event.waitUntil(
    cacheUrls(message.page, message.urls || [], !!message.controlled).then(
      (result) => reply && reply.postMessage(result),
      () => reply && reply.postMessage({ page: false }),
    ),
  );
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

function offlinePage() {
  const html =
    '<!doctype html><html lang="vi"><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Không có mạng</title>' +
    '<body style="font:16px/1.5 system-ui,sans-serif;padding:1rem"><h1>Không có kết nối mạng</h1>' +
    "<p>Trang này chưa được lưu trên máy. Hãy mở nó một lần khi có mạng để dùng được khi mất mạng.</p>" +
    '<p><a href="javascript:location.reload()">Thử lại</a></p></body></html>';
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

/** Pages: the network first; the saved copy when it fails or is too slow. Only pages the
 * person registered are saved (and refreshed on every visit). */
async function pageResponse(event) {
  const request = event.request;
  const cache = await caches.open(PAGES);
  const saved = await cache.match(request.url, { ignoreVary: true });
  const network = fetch(request).then(async (response) => {
    if (saved && cacheable(response)) await cache.put(request.url, response.clone());
    return response;
  });
  if (!saved) {
    try {
      return await network;
    } catch (_) {
      // Same page with another ?qr=…: better than nothing.
      return (await cache.match(request.url, { ignoreSearch: true, ignoreVary: true })) || offlinePage();
    }
  }
  event.waitUntil(network.then(() => null, () => null));
  try {
    const response = await Promise.race([network, timeout(NETWORK_WAIT_MS)]);
    return response.status >= 500 ? saved : response;
  } catch (_) {
    return saved;
  }
}

/** Static files: the saved copy at once; unhashed names are refreshed in the background. */
async function staticResponse(event) {
  const request = event.request;
  const cache = await caches.open(STATIC);
  const saved = await cache.match(request, { ignoreVary: true });
  const url = new URL(request.url);
  if (saved && HASHED.test(url.pathname)) return saved;
  const network = fetch(request).then(async (response) => {
    if (cacheable(response)) await cache.put(request, response.clone());
    return response;
  });
  if (saved) {
    event.waitUntil(network.then(() => null, () => null));
    return saved;
  }
  return network;
}

/** Schemas and lists: the network first (they change), the saved copy offline. */
async function dataResponse(event) {
  const request = event.request;
  const cache = await caches.open(DATA);
  const network = fetch(request).then(async (response) => {
    if (cacheable(response)) await cache.put(request, response.clone());
    return response;
  });
  event.waitUntil(network.then(() => null, () => null));
  try {
    return await Promise.race([network, timeout(NETWORK_WAIT_MS)]);
  } catch (error) {
    const saved = await cache.match(request, { ignoreVary: true });
    if (saved) return saved;
    return network; // nothing saved: wait for the network after all
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // submissions and uploads: straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return; // map tiles
  if (request.mode === "navigate") {
    if (bucketFor(url) === PAGES) event.respondWith(pageResponse(event));
    return;
  }
  const bucket = bucketFor(url);
  if (bucket === STATIC) event.respondWith(staticResponse(event));
  else if (bucket === DATA) event.respondWith(dataResponse(event));
});

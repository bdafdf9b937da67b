// sw.js is Waxwing's service worker (W3C Service Workers: install, activate,
// fetch, Cache Storage), served by `waxwing serve` at /sw.js with scope /.
//
// The server puts one line before this file (static.ServiceWorker):
//   self.WAXWING = {"version": "<build>", "base": "/static/<build>/",
//                   "assets": ["/static/<build>/app.css", …every versioned asset]};
// so a new build is a byte-different script, which the browser installs as a
// new worker beside the running one.
//
// Sections, each registering its listeners at the top level (a listener added
// after the script's first evaluation is never called):
//   1. configuration
//   2. the shell cache: install, activate, fetch
//   3. messages from pages ("Reload to update")
// Later sections, by the issues that need them: push and notificationclick;
// the Go core running in this worker (wasm_exec.js through importScripts),
// which takes the Web Lock "waxwing-session" before it runs the XMPP session,
// so that it and the tabs never run two sessions at once.
//
// Plain ES2017, no eval: the script is served under the page's
// Content-Security-Policy.
'use strict';

// --- 1. configuration ---------------------------------------------------------

var WAXWING = self.WAXWING;
if (!WAXWING || typeof WAXWING.version !== 'string' || typeof WAXWING.base !== 'string' || !Array.isArray(WAXWING.assets)) {
  // Served without the server's first line: registering must fail loudly.
  throw new Error('sw.js: self.WAXWING is missing; serve this file through waxwing serve at /sw.js');
}

// CACHE_PREFIX marks the caches this worker owns; CACHE is this build's.
var CACHE_PREFIX = 'waxwing-';
var CACHE = CACHE_PREFIX + WAXWING.version;

// SHELL is the app shell's URL: the root of the worker's scope.
var SHELL = self.registration.scope;
var SHELL_PATH = new URL(SHELL).pathname;

// NAVIGATION_TIMEOUT_MS is how long a navigation waits for the network
// before the cached shell is shown; the network's answer still refreshes
// the cache when it comes.
var NAVIGATION_TIMEOUT_MS = 3000;

// VERSION_HEADER names the build of a shell response; a shell of another
// build is never cached here, since it refers to assets this cache lacks.
var VERSION_HEADER = 'X-Waxwing-Version';

// --- 2. the shell cache ---------------------------------------------------------

self.addEventListener('install', function (event) {
  event.waitUntil(precache());
});

self.addEventListener('activate', function (event) {
  event.waitUntil(Promise.all([dropOtherCaches(), enableNavigationPreload()]).then(function () {
    return self.clients.claim();
  }));
});

self.addEventListener('fetch', function (event) {
  var req = event.request;
  if (req.method !== 'GET' || req.headers.has('Range')) {
    return; // the network answers; nothing is cached
  }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.indexOf(WAXWING.base) === 0) {
    event.respondWith(cacheFirst(event));
  } else if (req.mode === 'navigate' && url.pathname === SHELL_PATH) {
    event.respondWith(networkFirst(event));
  } else if (req.mode === 'navigate') {
    // Another page of this origin opened in a tab (/healthz, …): its
    // navigation preload is the network's answer, never cached.
    event.respondWith(fromNetwork(event));
  }
  // Anything else (other builds' assets, /xmpp-websocket, …) goes to the
  // network untouched and is never cached.
});

// precache stores the shell and every asset of this build; any failure
// fails the install, and the browser tries again later.
async function precache() {
  var cache = await caches.open(CACHE);
  await Promise.all([SHELL].concat(WAXWING.assets).map(async function (url) {
    // The shell is revalidated; the assets are immutable, so the HTTP cache
    // (which the page has just filled) may answer.
    var res = await fetch(url, { cache: url === SHELL ? 'no-cache' : 'default', credentials: 'same-origin' });
    if (!res.ok) {
      throw new Error('precache ' + url + ': HTTP ' + res.status);
    }
    if (url === SHELL && res.headers.get(VERSION_HEADER) !== WAXWING.version) {
      throw new Error('precache ' + url + ': the server runs build ' + res.headers.get(VERSION_HEADER) + ', not ' + WAXWING.version);
    }
    await cache.put(url, identity(res));
  }));
}

// enableNavigationPreload has the browser request a navigation's page while
// this worker starts, rather than once its fetch handler asks for it
// (NavigationPreloadManager): a returning visit whose worker had stopped
// waits for the slower of the two, not for both in turn. Browsers without it
// leave event.preloadResponse undefined, and the handler fetches.
function enableNavigationPreload() {
  if (!self.registration.navigationPreload) {
    return Promise.resolve();
  }
  return self.registration.navigationPreload.enable().catch(function () {});
}

// dropOtherCaches deletes the caches of every other build.
async function dropOtherCaches() {
  var keys = await caches.keys();
  await Promise.all(keys.filter(function (k) {
    return k.indexOf(CACHE_PREFIX) === 0 && k !== CACHE;
  }).map(function (k) {
    return caches.delete(k);
  }));
}

// cacheFirst answers a versioned asset from the cache; a miss (the cache
// was evicted, or the file is not one of this build's) goes to the network,
// and a listed asset is stored again.
async function cacheFirst(event) {
  var req = event.request;
  var cache = await caches.open(CACHE);
  var hit = await cache.match(req, { ignoreSearch: true, ignoreVary: true });
  if (hit) {
    return hit;
  }
  var res = await fetch(req);
  var path = new URL(req.url).pathname;
  if (res.ok && WAXWING.assets.indexOf(path) >= 0) {
    event.waitUntil(cache.put(path, identity(res.clone())).catch(function () {}));
  }
  return res;
}

// networkFirst answers a navigation to the shell from the network (the
// navigation preload's response, or a fetch), or from the cache when the
// network fails or takes longer than NAVIGATION_TIMEOUT_MS. A fresh shell of
// this build replaces the cached one.
function networkFirst(event) {
  var network = fromNetwork(event);
  event.waitUntil(network.then(function (res) {
    if (!res.ok || res.headers.get(VERSION_HEADER) !== WAXWING.version) {
      return undefined;
    }
    var copy = identity(res.clone()); // now, before the page reads the body
    return caches.open(CACHE).then(function (cache) {
      return cache.put(SHELL, copy);
    });
  }).catch(function () {}));
  return Promise.race([network, timeout(NAVIGATION_TIMEOUT_MS)]).catch(async function () {
    var cached = await caches.match(SHELL, { cacheName: CACHE, ignoreVary: true });
    return cached || network; // nothing cached: whatever the network ends with
  });
}

// fromNetwork is a navigation's answer from the network: the navigation
// preload's response, or a fetch where there is none.
function fromNetwork(event) {
  return Promise.resolve(event.preloadResponse).then(function (res) {
    return res || fetch(event.request);
  });
}

// timeout rejects after ms.
function timeout(ms) {
  return new Promise(function (resolve, reject) {
    setTimeout(function () {
      reject(new Error('no answer within ' + ms + ' ms'));
    }, ms);
  });
}

// identity returns a copy of res fit for Cache Storage. fetch() has already
// decoded the Content-Encoding (the wasm comes as br or gzip), so the body
// is the identity form: the headers describing the encoded body go
// (Content-Encoding, Content-Length, Vary: Accept-Encoding), every other one
// stays — the shell's Content-Security-Policy above all, which applies again
// when the cached shell is served.
function identity(res) {
  var headers = new Headers(res.headers);
  headers.delete('Content-Encoding');
  headers.delete('Content-Length');
  headers.delete('Vary');
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: headers });
}

// --- 3. messages from pages -------------------------------------------------------

self.addEventListener('message', function (event) {
  var data = event.data;
  if (data && data.type === 'skip-waiting') {
    // The person chose "Reload to update": this waiting worker takes over,
    // and the page reloads on controllerchange.
    self.skipWaiting();
  }
});

// Offline copies: the emergency page, the contacts page as last seen and the quick reference.
// Each is fetched from the network when there is one (and the copy refreshed); with no network the
// last copy is shown, and it says when it was saved ("Numbers as of ..."). Any other page asked for
// offline gets the emergency page, so 999 and the numbers are always there. Nothing else is cached.
"use strict";
var CACHE = "cse-offline-v2";
var PAGES = __OFFLINE_PAGES__;
var ASSETS = ["/static/ds.css", "/static/app.js", "/static/icon.svg"];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(PAGES.concat(ASSETS).map(function (u) {
        return new Request(u, { credentials: "omit" });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var saved = PAGES.indexOf(url.pathname) !== -1 || ASSETS.indexOf(url.pathname) !== -1;
  if (!saved && request.mode !== "navigate") { return; }
  event.respondWith(
    fetch(request).then(function (response) {
      if (saved && response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(saved ? url.pathname : "/look/emergency").then(function (hit) {
        return hit || caches.match("/look/emergency");
      });
    })
  );
});

// The verifier's service worker: it keeps the verifier page, its scripts
// and the trust list, so that a checkpoint keeps working when the network
// goes. Network first (a fresh page and trust list whenever the server
// answers), the cache when it does not. Only same-origin GET requests are
// touched; verifying (POST) always goes to the network, and verify.js
// falls back to checking on the device.
"use strict";
var CACHE = "healthcode-verify-v1";
var SHELL = ["/verify", "/static/app.css", "/static/jsQR.js", "/static/verify.js", "/api/v1/trust"];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function kept(url) {
  return url.pathname === "/verify" || url.pathname === "/api/v1/trust" ||
    url.pathname === "/static/app.css" || url.pathname === "/static/jsQR.js" || url.pathname === "/static/verify.js";
}

self.addEventListener("fetch", function (ev) {
  var url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== self.location.origin || !kept(url)) return;
  // One copy of the page whatever its query (?lang=…): the language is the
  // one of the last load.
  var key = url.pathname === "/verify" ? "/verify" : ev.request;
  ev.respondWith(fetch(ev.request).then(function (resp) {
    if (resp.ok) {
      var copy = resp.clone();
      caches.open(CACHE).then(function (c) { return c.put(key, copy); });
    }
    return resp;
  }).catch(function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});

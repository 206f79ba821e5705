// The venue poster: the venue's live code, redrawn every 30-second slot, on
// a tablet that stays on for hours without being reloaded. So:
//   - one canvas, redrawn in place (qrcode.js encodes; nothing is added to
//     the page per slot), and timers that reschedule themselves one at a
//     time (no setInterval piling up behind a slow network);
//   - the code is fetched from GET /api/v1/venues/{id}/code with the
//     session cookie shortly after each slot starts; a failed fetch is
//     retried with exponential backoff (1 s … 60 s), and as soon as the
//     code on screen is past its slot the QR is taken down and "offline" is
//     shown instead: a stale code is never left up;
//   - the countdown uses the node's clock (the page's and, when the answer
//     carries it, each answer's "now"), not the tablet's, which may be
//     wrong.
// The QR holds <this node>/c#<code>: a phone's camera opens the check-in
// page, and the code, in the fragment, never reaches a server log.
(function () {
  "use strict";

  var M = JSON.parse(document.getElementById("msgs").textContent || "{}");
  function t(key) { return Object.prototype.hasOwnProperty.call(M, key) ? M[key] : key; }
  function tf(key) {
    var args = Array.prototype.slice.call(arguments, 1), i = 0;
    return t(key).replace(/%[sd]/g, function () { return String(args[i++]); });
  }

  var SLOT = 30000, GRACE = 3000, MAX_BACKOFF = 60000, TIMEOUT = 10000;
  var data = JSON.parse(document.getElementById("poster-data").textContent);
  var api = "/api/v1/venues/" + encodeURIComponent(data.venue) + "/code";
  var base = location.origin + "/c#";

  var figure = document.getElementById("poster-code");
  var canvas = document.getElementById("venue-qr");
  var ctx = canvas.getContext("2d");
  var countdown = document.getElementById("countdown");
  var status = document.getElementById("poster-status");
  var offline = document.getElementById("poster-offline");
  var problem = document.getElementById("poster-problem");
  var relogin = document.getElementById("poster-relogin");

  // offset is the node's clock minus this device's, in ms.
  var offset = Date.parse(data.now) - Date.now();
  function nodeNow() { return Date.now() + offset; }

  var current = null;    // { live, refreshAt } of the code on screen
  var failures = 0;      // fetches failed in a row
  var lastStatus = 0;    // HTTP status of the last failure (0: no answer)
  var fetchTimer = 0, tickTimer = 0, inFlight = false;

  // draw encodes text and paints it on the one canvas, 4 modules of quiet
  // zone around, in whole pixels per module so that cameras read it.
  function draw(text) {
    var q = qrcode(0, "M");
    q.addData(text, "Byte");
    q.make();
    var n = q.getModuleCount(), size = n + 8, cell = Math.max(2, Math.floor(800 / size)), px = size * cell;
    if (canvas.width !== px) { canvas.width = px; canvas.height = px; }
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, px, px);
    ctx.fillStyle = "#000";
    for (var r = 0; r < n; r++) {
      for (var c = 0; c < n; c++) {
        if (q.isDark(r, c)) ctx.fillRect((c + 4) * cell, (r + 4) * cell, cell, cell);
      }
    }
    canvas.setAttribute("data-text", text);
  }

  function setState(state) {
    figure.setAttribute("data-state", state);
    var off = state === "offline";
    canvas.hidden = off || state === "loading";
    offline.hidden = !off;
  }

  function show(d) {
    if (d.now) offset = Date.parse(d.now) - Date.now();
    var refreshAt = Date.parse(d.refresh_at);
    var left = refreshAt - nodeNow();
    if (!d.now && (left <= 0 || left > SLOT + GRACE)) {
      // The clock estimate disagrees with the node: assume the slot has
      // just begun (the code then stays up at most one slot too long, when
      // it still proves presence).
      offset = refreshAt - SLOT - Date.now();
    }
    if (!current || current.live !== d.live) draw(base + d.live);
    current = { live: d.live, refreshAt: refreshAt };
    canvas.setAttribute("data-refresh-at", d.refresh_at);
    setState("live");
    status.textContent = "";
  }

  function schedule(ms) {
    clearTimeout(fetchTimer);
    fetchTimer = setTimeout(refresh, Math.max(0, ms));
  }

  function refresh() {
    if (inFlight) return;
    inFlight = true;
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timeout = setTimeout(function () { if (ctl) ctl.abort(); }, TIMEOUT);
    fetch(api, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" }, signal: ctl ? ctl.signal : undefined })
      .then(function (r) {
        if (!r.ok) { var e = new Error("HTTP " + r.status); e.status = r.status; throw e; }
        return r.json();
      })
      .then(function (d) {
        if (!d || typeof d.live !== "string" || !d.refresh_at) throw new Error("malformed answer");
        failures = 0;
        lastStatus = 0;
        show(d);
        // Just after the next slot starts.
        schedule(Math.min(Math.max(current.refreshAt - nodeNow(), 1000), SLOT) + 500);
      })
      .catch(function (e) {
        failures++;
        lastStatus = e && e.status || 0;
        var delay = Math.min(MAX_BACKOFF, 1000 * Math.pow(2, Math.min(failures - 1, 6)));
        status.textContent = tf("poster.retry", Math.round(delay / 1000));
        schedule(delay);
        tick();
      })
      .then(function () {
        clearTimeout(timeout);
        inFlight = false;
      });
  }

  // tick updates the countdown once a second and takes the code down once
  // it is past its slot with no new one.
  function tick() {
    clearTimeout(tickTimer);
    var now = nodeNow();
    if (current && now < current.refreshAt + (failures ? 0 : GRACE)) {
      countdown.textContent = tf("poster.seconds", Math.max(0, Math.ceil((current.refreshAt - now) / 1000)));
    } else if (failures) {
      if (current) {
        // Wipe the pixels too: nothing of a stale code stays up.
        current = null;
        canvas.removeAttribute("data-text");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
      }
      countdown.textContent = "–";
      problem.textContent = lastStatus === 401 ? t("poster.session") :
        lastStatus === 404 || lastStatus === 409 ? t("poster.not_active") : t("poster.offline.help");
      relogin.hidden = lastStatus !== 401;
      setState("offline");
    }
    tickTimer = setTimeout(tick, 1000 - (Date.now() % 1000) + 20);
  }

  window.addEventListener("online", function () { failures = Math.min(failures, 1); schedule(0); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { schedule(0); keepAwake(); }
  });

  // Full screen on request, and the screen kept on where the browser can.
  var fsButton = document.getElementById("fullscreen");
  if (document.documentElement.requestFullscreen) {
    fsButton.hidden = false;
    fsButton.addEventListener("click", function () {
      document.documentElement.requestFullscreen().catch(function () { /* refused: stay as we are */ });
    });
  }
  var wakeLock = null;
  function keepAwake() {
    if (!navigator.wakeLock || wakeLock) return;
    navigator.wakeLock.request("screen").then(function (l) {
      wakeLock = l;
      l.addEventListener("release", function () { wakeLock = null; });
    }).catch(function () { /* not allowed here */ });
  }
  keepAwake();

  // The page came with the code of its slot: show it at once.
  show({ live: data.live, refresh_at: data.refresh_at, now: data.now });
  schedule(Math.min(Math.max(current.refreshAt - nodeNow(), 1000), SLOT) + 500);
  tick();
})();

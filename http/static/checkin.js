// The check-in page (/c). A venue poster's QR holds <node>/c#<venue code>:
// the code is in the fragment, so it never reaches the server in a URL or
// a log. This script
//   - on the login form (not logged in as a citizen), keeps the code in
//     sessionStorage, so that the check-in happens once the citizen has
//     logged in and is back here;
//   - on the check-in page, takes the code from the fragment (or from
//     sessionStorage), removes it from the address bar, and posts it to
//     POST /api/v1/checkins with the session cookie; then shows the result:
//     verified presence, or unverified ("a printed or forwarded code proves
//     nothing"), and the citizen's own colour large for the door keeper,
//     as a word, a shape and a colour, with the masked name and a live
//     clock (static/clock.js);
//   - without a code, scans one: camera, photo or pasted text, read with
//     jsQR, which is loaded only then (it is large; a phone that comes from
//     a poster never needs it).
// No request leaves this origin.
(function () {
  "use strict";

  var KEY = "healthcode.pendingCheckin";
  var PREFIX = "HCV1:";

  // codeOf returns the venue code in a scanned or pasted text: the code
  // itself, or a check-in URL that carries it in its fragment; null if
  // there is none.
  function codeOf(text) {
    text = String(text || "").trim();
    var hash = text.indexOf("#");
    if (text.indexOf(PREFIX) !== 0 && hash >= 0) text = text.slice(hash + 1);
    try { text = decodeURIComponent(text); } catch (e) { /* keep it as it is */ }
    text = text.trim();
    return text.indexOf(PREFIX) === 0 && text.length <= 300 ? text : null;
  }

  // A kept code waits at most STASH_MS for the login: one left behind by
  // a login given up must not check in the next time the page opens.
  var STASH_MS = 10 * 60 * 1000;
  function stash(code) {
    try { sessionStorage.setItem(KEY, JSON.stringify({ code: code, at: Date.now() })); } catch (e) { /* private mode */ }
  }
  function unstash() {
    try {
      var v = JSON.parse(sessionStorage.getItem(KEY));
      sessionStorage.removeItem(KEY);
      return v && typeof v.code === "string" && Math.abs(Date.now() - v.at) < STASH_MS ? codeOf(v.code) : null;
    } catch (e) { return null; }
  }

  var fromHash = location.hash.length > 1 ? codeOf(location.hash.slice(1)) : null;

  // The login form: keep the code for after logging in.
  if (!document.getElementById("scanner")) {
    if (fromHash) stash(fromHash);
    return;
  }

  var M = JSON.parse(document.getElementById("msgs").textContent || "{}");
  function t(key) { return Object.prototype.hasOwnProperty.call(M, key) ? M[key] : key; }
  function tf(key) {
    var args = Array.prototype.slice.call(arguments, 1), i = 0;
    return t(key).replace(/%[sd]/g, function () { return String(args[i++]); });
  }

  var SHAPES = { green: "circle", yellow: "triangle", red: "square" };
  var result = document.getElementById("result");
  var errorBox = document.getElementById("checkin-error");
  var working = document.getElementById("checkin-working");

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // fmtTime shows a time in Beijing time, as the server's pages do.
  function fmtTime(iso) {
    var d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + t("time.zone");
  }
  function text(id, s) { document.getElementById(id).textContent = s; }

  function showError(message) {
    working.textContent = "";
    result.hidden = true;
    result.setAttribute("data-state", "failed");
    errorBox.textContent = "";
    var mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = "!";
    errorBox.append(mark, " " + tf("checkin.failed", message));
    errorBox.hidden = false;
  }

  function showResult(c) {
    working.textContent = "";
    errorBox.hidden = true;
    var verified = c.verified === true;
    var colour = SHAPES[c.colour] ? c.colour : "red";
    var presence = document.getElementById("presence");
    presence.className = "verdict " + (verified ? "valid" : "unchecked");
    text("presence-mark", verified ? "✓" : "!");
    text("presence-word", t(verified ? "checkin.verified" : "checkin.unverified"));
    var note = document.getElementById("presence-note");
    note.textContent = t(verified ? "checkin.verified.note" : c.crowded === true ? "checkin.crowded.note" : "checkin.unverified.note");
    note.className = "presence-note" + (verified ? "" : " alert notice");
    var door = document.getElementById("door");
    door.className = "code door c-" + colour;
    Array.prototype.forEach.call(door.querySelectorAll("[data-shape]"), function (el) {
      el.hidden = el.getAttribute("data-shape") !== SHAPES[colour];
    });
    text("door-word", t("colour." + colour));
    text("door-means", t("colour." + colour + ".means") + " (" + t("shape." + SHAPES[colour]) + ")");
    text("holder", c.masked_name || "");
    text("venue-name", c.venue && c.venue.name || "");
    var at = document.getElementById("checkin-at");
    at.textContent = fmtTime(c.at);
    at.setAttribute("datetime", c.at);
    result.setAttribute("data-state", "done");
    result.setAttribute("data-verified", String(verified));
    result.setAttribute("data-colour", colour);
    result.hidden = false;
    result.scrollIntoView({ block: "start" });
  }

  var busy = false;
  async function checkIn(code, attempt) {
    if (busy && !attempt) return;
    busy = true;
    attempt = attempt || 0;
    errorBox.hidden = true;
    result.setAttribute("data-state", "working");
    working.textContent = t("checkin.working");
    var r, body = {};
    try {
      r = await fetch("/api/v1/checkins", {
        method: "POST", cache: "no-store", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ code: code })
      });
      try { body = await r.json(); } catch (e) { body = {}; }
    } catch (e) {
      busy = false;
      showError(t("checkin.offline"));
      return;
    }
    if (r.status === 401) {
      // The session ended meanwhile: log in again, and come back.
      stash(code);
      location.replace("/c");
      return;
    }
    if (r.status === 503 && attempt < 5) {
      // A full queue is refused at once and never loses a check-in: wait
      // as told and try again.
      working.textContent = t("checkin.busy");
      var wait = Math.min(10, parseInt(r.headers.get("Retry-After"), 10) || 2);
      setTimeout(function () { checkIn(code, attempt + 1); }, wait * 1000);
      return;
    }
    busy = false;
    if (r.ok) {
      showResult(body);
      return;
    }
    var key = "checkin.error." + (body.reason || "");
    showError(Object.prototype.hasOwnProperty.call(M, key) ? M[key] : t("checkin.error.unknown"));
  }

  function scanned(raw) {
    var code = codeOf(raw);
    if (!code) {
      showError(t("checkin.not_venue"));
      return;
    }
    checkIn(code);
  }

  // ---- reading QR codes (jsQR, loaded on first use) --------------------------

  var jsQRLoading = null;
  function loadJsQR() {
    if (window.jsQR) return Promise.resolve();
    if (!jsQRLoading) {
      jsQRLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = "/static/jsQR.js";
        s.onload = resolve;
        s.onerror = function () { jsQRLoading = null; reject(new Error("jsQR did not load")); };
        document.head.appendChild(s);
      });
    }
    return jsQRLoading;
  }

  var work = document.createElement("canvas");
  var workCtx = work.getContext("2d", { willReadFrequently: true });
  function readQR(source, width, height) {
    if (work.width !== width || work.height !== height) { work.width = width; work.height = height; }
    workCtx.drawImage(source, 0, 0, width, height);
    var img = workCtx.getImageData(0, 0, width, height);
    var code = window.jsQR(img.data, width, height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : null;
  }

  var file = document.getElementById("file");
  file.addEventListener("change", async function () {
    var f = file.files && file.files[0];
    if (!f) return;
    working.textContent = t("checkin.working");
    var bmp;
    try {
      await loadJsQR();
      bmp = await createImageBitmap(f);
    } catch (e) {
      showError(t("checkin.bad_image"));
      return;
    }
    var scale = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
    var found = readQR(bmp, Math.round(bmp.width * scale), Math.round(bmp.height * scale));
    if (bmp.close) bmp.close();
    if (!found) {
      showError(t("checkin.no_qr"));
      return;
    }
    scanned(found);
  });

  document.getElementById("paste-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    scanned(document.getElementById("paste").value);
  });

  var video = document.getElementById("camera");
  var startBtn = document.getElementById("camera-start");
  var stopBtn = document.getElementById("camera-stop");
  var camStatus = document.getElementById("camera-status");
  var stream = null;

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      camStatus.textContent = t("checkin.camera.unavailable");
      return;
    }
    try {
      await loadJsQR();
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      camStatus.textContent = t("checkin.camera.unavailable");
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    startBtn.hidden = true;
    stopBtn.hidden = false;
    camStatus.textContent = t("checkin.camera.on");
    try { await video.play(); } catch (e) { /* autoplay of a muted stream is allowed */ }
    scan();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    camStatus.textContent = "";
  }

  // scan reads a few frames a second until it finds a venue code, then
  // stops the camera and checks in once.
  function scan() {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      var found = readQR(video, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale));
      var code = found && codeOf(found);
      if (code) {
        stopCamera();
        checkIn(code);
        return;
      }
    }
    setTimeout(function () { requestAnimationFrame(scan); }, 200);
  }

  startBtn.addEventListener("click", startCamera);
  stopBtn.addEventListener("click", stopCamera);

  // ---- the code this page was opened with ---------------------------------------

  var pending = fromHash || unstash();
  if (fromHash) unstash();
  if (location.hash && history.replaceState) history.replaceState(null, "", location.pathname + location.search);
  if (pending) checkIn(pending);

  // A code scanned by the phone's own camera app while this page is open
  // may arrive as a new fragment of the same page.
  window.addEventListener("hashchange", function () {
    var code = location.hash.length > 1 ? codeOf(location.hash.slice(1)) : null;
    if (history.replaceState) history.replaceState(null, "", location.pathname + location.search);
    if (code) checkIn(code);
  });
})();

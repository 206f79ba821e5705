// The checkpoint verifier. It reads a health QR (camera, uploaded picture or
// pasted text) with jsQR, decodes the token here (base45, zlib, COSE_Sign1,
// CBOR claims; the format is described in qr/qr.go), and verifies it:
//   - online: POST /api/v1/verify, the server's verdict;
//   - offline (the server cannot be reached): the Ed25519 or ECDSA P-256
//     signature is checked with WebCrypto against the trust list cached in
//     localStorage from /api/v1/trust; a browser without the algorithm shows
//     the claims marked "signature not checked".
// A valid code shows its colour as a shape and a word, the masked name, the
// validity and the issuing region; nothing else is in a token. A code that
// is not valid (altered, expired, not yet valid, signed by an unknown key,
// malformed) or that this device cannot check shows one full-screen verdict,
// "not valid: do not accept" in Chinese and English with the reason, and
// nothing from the code: no colour, no name, no date, for a forged green
// code must not look green to a guard in a hurry. static/sw.js keeps the
// page and its scripts for offline use. No request leaves this origin.
(function () {
  "use strict";

  var M = JSON.parse(document.getElementById("msgs").textContent || "{}");
  function t(key) { return Object.prototype.hasOwnProperty.call(M, key) ? M[key] : key; }
  function tf(key) {
    var args = Array.prototype.slice.call(arguments, 1), i = 0;
    return t(key).replace(/%[sd]/g, function () { return String(args[i++]); });
  }

  var TRUST_KEY = "healthcode.trust.v1";
  var PREFIX = "HCN1:";
  var MAX_TOKEN = 4296, MAX_INFLATED = 16384, CLOCK_SKEW = 300;
  var COLOURS = { 1: "green", 2: "yellow", 3: "red" };
  var SHAPES = { green: "circle", yellow: "triangle", red: "square" };

  // ---- decoding -------------------------------------------------------

  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  function base45(s) {
    var out = [];
    for (var i = 0; i < s.length; i += 3) {
      var c = s.slice(i, i + 3), v = [];
      for (var j = 0; j < c.length; j++) {
        var x = B45.indexOf(c[j]);
        if (x < 0) throw new Error("base45: bad character");
        v.push(x);
      }
      if (v.length === 3) {
        var n = v[0] + v[1] * 45 + v[2] * 2025;
        if (n > 0xffff) throw new Error("base45: value out of range");
        out.push(n >> 8, n & 0xff);
      } else if (v.length === 2) {
        var m = v[0] + v[1] * 45;
        if (m > 0xff) throw new Error("base45: value out of range");
        out.push(m);
      } else {
        throw new Error("base45: bad length");
      }
    }
    return new Uint8Array(out);
  }

  // inflate reads a zlib stream (RFC 1950) with the browser's own decoder,
  // stopping beyond MAX_INFLATED bytes.
  async function inflate(bytes) {
    if (typeof DecompressionStream === "undefined") throw new Error("zlib: no decoder in this browser");
    var reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
    var chunks = [], total = 0;
    for (;;) {
      var r = await reader.read();
      if (r.done) break;
      total += r.value.length;
      if (total > MAX_INFLATED) { reader.cancel(); throw new Error("zlib: too large"); }
      chunks.push(r.value);
    }
    var out = new Uint8Array(total), p = 0;
    chunks.forEach(function (c) { out.set(c, p); p += c.length; });
    return out;
  }

  // cbor decodes one CBOR item that fills bytes exactly. Maps become Map
  // (keys are small integers), byte strings Uint8Array, tags {tag, value}.
  function cbor(bytes) {
    var p = 0;
    var dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    function need(n) { if (p + n > bytes.length) throw new Error("cbor: truncated"); }
    function arg(ai) {
      var v;
      if (ai < 24) return ai;
      if (ai === 24) { need(1); return bytes[p++]; }
      if (ai === 25) { need(2); v = dv.getUint16(p); p += 2; return v; }
      if (ai === 26) { need(4); v = dv.getUint32(p); p += 4; return v; }
      if (ai === 27) {
        need(8);
        var hi = dv.getUint32(p), lo = dv.getUint32(p + 4);
        p += 8;
        if (hi > 0x1fffff) throw new Error("cbor: integer too large");
        return hi * 4294967296 + lo;
      }
      throw new Error("cbor: indefinite or reserved length");
    }
    function item(depth) {
      if (depth > 8) throw new Error("cbor: too deep");
      need(1);
      var ib = bytes[p++], mt = ib >> 5, ai = ib & 31, n, i, v;
      switch (mt) {
        case 0: return arg(ai);
        case 1: return -1 - arg(ai);
        case 2: n = arg(ai); need(n); v = bytes.slice(p, p + n); p += n; return v;
        case 3:
          n = arg(ai); need(n);
          v = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(p, p + n));
          p += n; return v;
        case 4:
          n = arg(ai); if (n > 32) throw new Error("cbor: array too long");
          v = [];
          for (i = 0; i < n; i++) v.push(item(depth + 1));
          return v;
        case 5:
          n = arg(ai); if (n > 32) throw new Error("cbor: map too long");
          v = new Map();
          for (i = 0; i < n; i++) {
            var k = item(depth + 1);
            if (v.has(k)) throw new Error("cbor: duplicate key");
            v.set(k, item(depth + 1));
          }
          return v;
        case 6: n = arg(ai); return { tag: n, value: item(depth + 1) };
        default:
          if (ai === 20) return false;
          if (ai === 21) return true;
          if (ai === 22) return null;
          throw new Error("cbor: unsupported simple value");
      }
    }
    var out = item(0);
    if (p !== bytes.length) throw new Error("cbor: trailing data");
    return out;
  }

  function isBytes(x) { return x instanceof Uint8Array; }
  function isText(x) { return typeof x === "string" && x !== ""; }
  function isInt(x) { return typeof x === "number" && Math.floor(x) === x; }

  // decode turns a token into its parts; it checks form, not authenticity.
  async function decode(text) {
    text = text.trim();
    if (text.length > MAX_TOKEN || text.indexOf(PREFIX) !== 0) throw new Error("not a token");
    var signed = await inflate(base45(text.slice(PREFIX.length)));
    var msg = cbor(signed);
    if (msg && msg.tag !== undefined) {
      if (msg.tag !== 18) throw new Error("COSE: not COSE_Sign1");
      msg = msg.value;
    }
    if (!Array.isArray(msg) || msg.length !== 4) throw new Error("COSE: not COSE_Sign1");
    var prot = msg[0], unprot = msg[1], payload = msg[2], sig = msg[3];
    if (!isBytes(prot) || !(unprot instanceof Map) || unprot.size !== 0 || !isBytes(payload) || !isBytes(sig)) {
      throw new Error("COSE: malformed");
    }
    var hdr = cbor(prot);
    if (!(hdr instanceof Map) || !isBytes(hdr.get(4)) || !isInt(hdr.get(1))) throw new Error("COSE: no alg or kid");
    var c = cbor(payload);
    if (!(c instanceof Map)) throw new Error("claims: not a map");
    // Exactly these claims, as the node's own verifier: a token with any
    // other (a log index, say, which would lead into the log) is refused.
    var known = [1, 2, 4, 6, -1, -2, -3];
    c.forEach(function (v, k) {
      if (known.indexOf(k) < 0) throw new Error("claims: unknown claim " + k);
    });
    var claims = {
      region: c.get(1), subject: c.get(2), expires: c.get(4), issued: c.get(6),
      colour: COLOURS[c.get(-1)], maskedName: c.get(-2), ruleset: c.get(-3)
    };
    if (!/^[0-9]{6}$/.test(claims.region) || !isText(claims.subject) || !isText(claims.maskedName) ||
        !claims.colour || !isInt(claims.issued) || !isInt(claims.expires) || claims.expires <= claims.issued ||
        !isText(claims.ruleset)) {
      throw new Error("claims: missing or out of range");
    }
    return { claims: claims, alg: hdr.get(1), kid: hdr.get(4), protected: prot, payload: payload, signature: sig };
  }

  // ---- verifying --------------------------------------------------------

  function b64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }
  function unb64(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function bstrHead(n) {
    if (n < 24) return [0x40 | n];
    if (n < 256) return [0x58, n];
    return [0x59, n >> 8, n & 0xff];
  }
  // sigStructure is the COSE Sig_structure: ["Signature1", protected, h'', payload].
  function sigStructure(tok) {
    var label = [0x6a, 83, 105, 103, 110, 97, 116, 117, 114, 101, 49]; // text(10) "Signature1"
    var parts = [[0x84], label, bstrHead(tok.protected.length), tok.protected, [0x40], bstrHead(tok.payload.length), tok.payload];
    var len = parts.reduce(function (a, x) { return a + x.length; }, 0);
    var out = new Uint8Array(len), p = 0;
    parts.forEach(function (x) { out.set(x, p); p += x.length; });
    return out;
  }

  function loadTrust() {
    try {
      var rec = JSON.parse(localStorage.getItem(TRUST_KEY));
      return rec && rec.list && Array.isArray(rec.list.keys) ? rec : null;
    } catch (e) { return null; }
  }

  function showTrust(rec) {
    var el = document.getElementById("trust-status");
    if (!el) return;
    el.textContent = rec ? tf("verify.trust.status", rec.list.keys.length, fmtTime(rec.fetched / 1000)) : t("verify.trust.none");
  }

  async function refreshTrust() {
    try {
      var r = await fetch("/api/v1/trust", { cache: "no-store", credentials: "omit" });
      if (!r.ok) throw new Error("trust list: HTTP " + r.status);
      var list = await r.json();
      if (!list || !Array.isArray(list.keys)) throw new Error("trust list: malformed");
      var rec = { fetched: Date.now(), list: list };
      localStorage.setItem(TRUST_KEY, JSON.stringify(rec));
      showTrust(rec);
    } catch (e) {
      showTrust(loadTrust());
    }
  }

  // verifyOnline asks the server; null when the server cannot be reached.
  async function verifyOnline(text) {
    var r, body;
    try {
      r = await fetch("/api/v1/verify", {
        method: "POST", cache: "no-store", credentials: "omit",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code: text })
      });
      body = await r.json();
    } catch (e) {
      return null;
    }
    if (r.status >= 500) return null;
    if (r.ok && body.valid) return { verdict: "valid", mode: "online" };
    return { verdict: "invalid", mode: "online", reason: "reason." + (body.reason || "unknown") };
  }

  // verifyOffline checks the signature on this device against the cached
  // trust list, in the order the server does.
  async function verifyOffline(tok) {
    var rec = loadTrust();
    if (!rec) return { verdict: "unchecked", mode: "no_trust" };
    var kid = b64(tok.kid), key = null;
    rec.list.keys.forEach(function (k) { if (k.kid === kid) key = k; });
    if (!key) return { verdict: "invalid", mode: "offline", reason: "reason.qr.unknown_key" };
    var algo, params;
    if (key.alg === "Ed25519" && tok.alg === -8) {
      algo = { name: "Ed25519" }; params = { name: "Ed25519" };
    } else if (key.alg === "ES256" && tok.alg === -7) {
      algo = { name: "ECDSA", namedCurve: "P-256" }; params = { name: "ECDSA", hash: "SHA-256" };
    } else {
      return { verdict: "invalid", mode: "offline", reason: "reason.qr.bad_signature" };
    }
    var ok;
    try {
      if (!window.crypto || !crypto.subtle) throw new Error("no WebCrypto");
      var pub = await crypto.subtle.importKey("spki", unb64(key.public_key), algo, false, ["verify"]);
      ok = await crypto.subtle.verify(params, pub, tok.signature, sigStructure(tok));
    } catch (e) {
      return { verdict: "unchecked", mode: "unchecked" };
    }
    if (!ok) return { verdict: "invalid", mode: "offline", reason: "reason.qr.bad_signature" };
    if (tok.claims.region !== key.region) return { verdict: "invalid", mode: "offline", reason: "reason.qr.wrong_region" };
    var now = Date.now() / 1000;
    if (now > tok.claims.expires) return { verdict: "invalid", mode: "offline", reason: "reason.qr.expired" };
    if (tok.claims.issued - now > CLOCK_SKEW) return { verdict: "invalid", mode: "offline", reason: "reason.qr.not_yet_valid" };
    return { verdict: "valid", mode: "offline" };
  }

  // ---- showing ------------------------------------------------------------

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // fmtTime shows a Unix time in Beijing time, as the server's pages do.
  function fmtTime(sec) {
    var d = new Date(sec * 1000 + 8 * 3600 * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + t("time.zone");
  }
  // regionName names a GB/T 2260 code as the server's pages do: within its
  // province and prefecture, with the code; a city is never its province.
  function regionName(code) {
    var p = M["province." + code.slice(0, 2)];
    if (!p) return code + " (" + t("code.region.unknown") + ")";
    if (code.slice(2) === "0000") return tf("code.region.named", p, code);
    var own = M["region." + code];
    if (!own) return tf("code.region.unlisted", p, code);
    var parts = [p], pref = M["region." + code.slice(0, 4) + "00"];
    if (code.slice(4) !== "00" && pref && pref !== own) parts.push(pref);
    parts.push(own);
    var en = document.documentElement.lang === "en";
    return tf("code.region.named", en ? parts.reverse().join(", ") : parts.join(""), code);
  }

  var SVG = "http://www.w3.org/2000/svg";
  function shapeSVG(shape) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "shape");
    svg.setAttribute("viewBox", "0 0 20 20");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var el;
    if (shape === "circle") {
      el = document.createElementNS(SVG, "circle");
      el.setAttribute("cx", "10"); el.setAttribute("cy", "10"); el.setAttribute("r", "9");
    } else if (shape === "triangle") {
      el = document.createElementNS(SVG, "path");
      el.setAttribute("d", "M10 1 19 19H1z");
    } else {
      el = document.createElementNS(SVG, "rect");
      el.setAttribute("x", "1.5"); el.setAttribute("y", "1.5"); el.setAttribute("width", "17"); el.setAttribute("height", "17");
    }
    svg.appendChild(el);
    return svg;
  }
  function node(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  var result = document.getElementById("result");
  var body = document.getElementById("result-body");

  function setState(state, verdict) {
    result.setAttribute("data-state", state);
    if (verdict) result.setAttribute("data-verdict", verdict); else result.removeAttribute("data-verdict");
  }

  function showMessage(state, verdict, text) {
    body.replaceChildren();
    if (verdict) {
      var v = node("p", "verdict " + verdict);
      var mark = node("span", "mark", verdict === "valid" ? "✓" : "✗");
      mark.setAttribute("aria-hidden", "true");
      v.append(mark, " " + t(verdict === "valid" ? "verify.valid" : "verify.invalid"));
      body.append(v);
    }
    body.append(node("p", "", text));
    result.removeAttribute("data-colour");
    result.removeAttribute("data-mode");
    result.removeAttribute("data-reason");
    setState(state, verdict);
    result.scrollIntoView({ block: "nearest" });
  }

  // showResult shows a valid code: its colour, holder and validity.
  // Anything else goes to reject, which shows nothing of the code.
  function showResult(tok, res) {
    if (res.verdict !== "valid") {
      reject(res.verdict === "unchecked" ? "unchecked" : "invalid", res.reason || "verify.mode." + res.mode, res.mode);
      return;
    }
    var c = tok.claims;
    body.replaceChildren();
    var band = node("div", "band c-" + c.colour);
    var word = node("p", "colour-word");
    word.append(shapeSVG(SHAPES[c.colour]), " ", node("span", "", t("colour." + c.colour)));
    band.append(word, node("p", "means", t("colour." + c.colour + ".means") + " (" + t("shape." + SHAPES[c.colour]) + ")"));
    var wrap = node("div", "c-" + c.colour);
    wrap.append(band);

    var v = node("p", "verdict valid");
    var mark = node("span", "mark", "✓");
    mark.setAttribute("aria-hidden", "true");
    v.append(mark, " " + t("verify.valid"));

    var how = node("p", "how", t("verify.mode." + res.mode));
    var dl = node("dl");
    function row(k, val) { dl.append(node("dt", "", t(k)), node("dd", "", val)); }
    row("verify.holder", c.maskedName);
    row("verify.region", regionName(c.region));
    row("verify.valid_until", fmtTime(c.expires));
    row("verify.issued", fmtTime(c.issued));
    row("verify.ruleset", c.ruleset);

    body.append(v, wrap, how, dl);
    result.setAttribute("data-colour", c.colour);
    result.setAttribute("data-mode", res.mode);
    result.removeAttribute("data-reason");
    setState("done", "valid");
    result.scrollIntoView({ block: "nearest" });
  }

  // both returns the message key in Chinese and in English: the verdict
  // on an invalid code is shown in both, whatever the page's language.
  function both(key) {
    var zh = M["zh:" + key], en = M["en:" + key];
    if (zh === undefined || en === undefined) { zh = M["zh:reason.unknown"]; en = M["en:reason.unknown"]; }
    return [zh, en];
  }

  // reject covers the screen with the verdict on a code that must not be
  // accepted, in both languages, with the reason (a message key): nothing
  // else, and nothing from the code. verdict is "invalid" or "unchecked".
  function reject(verdict, reason, mode) {
    body.replaceChildren();
    var box = node("div", "reject");
    box.id = "reject";
    var mark = node("p", "reject-mark", "✗");
    mark.setAttribute("aria-hidden", "true");
    var title = both(verdict === "unchecked" ? "reject.unchecked" : "reject.invalid");
    var why = both(reason);
    var zh = node("div", "reject-lang"), en = node("div", "reject-lang");
    zh.lang = "zh-CN";
    en.lang = "en";
    zh.append(node("p", "reject-word", title[0]), node("p", "reject-why", why[0]));
    en.append(node("p", "reject-word", title[1]), node("p", "reject-why", why[1]));
    var next = node("button", "reject-next");
    next.type = "button";
    next.id = "reject-next";
    var nzh = node("span", "", both("reject.next")[0]), nen = node("span", "", both("reject.next")[1]);
    nzh.lang = "zh-CN";
    nen.lang = "en";
    next.append(nzh, " / ", nen);
    next.addEventListener("click", function () {
      showMessage("idle", null, t("verify.waiting"));
      (startBtn.hidden ? stopBtn : startBtn).focus();
    });
    box.append(mark, zh, en, next);
    body.append(box);
    result.removeAttribute("data-colour");
    if (mode) result.setAttribute("data-mode", mode); else result.removeAttribute("data-mode");
    result.setAttribute("data-reason", reason);
    setState("done", verdict);
    next.focus();
  }

  var busy = false;
  async function check(text) {
    if (busy) return;
    busy = true;
    showMessage("working", null, t("verify.working"));
    try {
      var tok;
      try {
        tok = await decode(text);
      } catch (e) {
        reject("invalid", "reason.qr.malformed");
        return;
      }
      var res = await verifyOnline(text.trim());
      if (res) {
        refreshTrust();
      } else {
        res = await verifyOffline(tok);
      }
      showResult(tok, res);
    } finally {
      busy = false;
    }
  }

  // ---- reading QR codes ------------------------------------------------------

  function readQR(source, width, height) {
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, width, height);
    var img = ctx.getImageData(0, 0, width, height);
    var code = jsQR(img.data, width, height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : null;
  }

  var file = document.getElementById("file");
  file.addEventListener("change", async function () {
    var f = file.files && file.files[0];
    if (!f) return;
    showMessage("working", null, t("verify.working"));
    var bmp;
    try {
      bmp = await createImageBitmap(f);
    } catch (e) {
      showMessage("done", "invalid", t("verify.bad_image"));
      return;
    }
    var scale = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
    var text = readQR(bmp, Math.round(bmp.width * scale), Math.round(bmp.height * scale));
    if (!text) {
      showMessage("done", "invalid", t("verify.no_qr"));
      return;
    }
    check(text);
  });

  document.getElementById("paste-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    check(document.getElementById("paste").value);
  });

  var video = document.getElementById("camera");
  var startBtn = document.getElementById("camera-start");
  var stopBtn = document.getElementById("camera-stop");
  var camStatus = document.getElementById("camera-status");
  var stream = null, last = "", lastAt = 0;

  async function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      camStatus.textContent = t("verify.camera.unavailable");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      camStatus.textContent = t("verify.camera.unavailable");
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    startBtn.hidden = true;
    stopBtn.hidden = false;
    camStatus.textContent = t("verify.camera.on");
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

  // scan reads a few frames a second (cheap phones), and checks a code
  // again only after a pause, so a checkpoint can scan one person after
  // another without touching the screen.
  function scan() {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      var text = readQR(video, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale));
      if (text && text.indexOf(PREFIX) === 0 && (text !== last || Date.now() - lastAt > 5000)) {
        last = text;
        lastAt = Date.now();
        check(text);
      }
    }
    setTimeout(function () { requestAnimationFrame(scan); }, 200);
  }

  startBtn.addEventListener("click", startCamera);
  stopBtn.addEventListener("click", stopCamera);

  // ---- offline ---------------------------------------------------------------

  showTrust(loadTrust());
  refreshTrust();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/static/sw.js", { scope: "/verify" }).catch(function () { /* online only */ });
  }
})();

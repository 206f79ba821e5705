// The citizen page: a live clock (the device's, in Beijing time), so that a screenshot of the code is
// visibly stale, and the QR's remaining validity, counted from the server's
// own figure (the device's clock may be wrong). When the QR expires it is
// greyed out, said to be expired, and the page reloads for a fresh one.
(function () {
  "use strict";
  var clock = document.getElementById("clock");
  var validity = document.getElementById("validity");
  var left = document.getElementById("left");
  var qr = document.getElementById("qr");
  var expiredNote = document.getElementById("qr-expired");
  var start = Date.now();
  var seconds = validity ? parseInt(validity.getAttribute("data-seconds"), 10) || 0 : 0;
  var reloading = false;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Beijing time, like every other time on the page.
  function tick() {
    var now = new Date(), d = new Date(now.getTime() + 8 * 3600 * 1000);
    if (clock) {
      clock.textContent = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
        pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
      clock.setAttribute("datetime", now.toISOString());
    }
    if (!validity || !left) return;
    var remain = Math.max(0, seconds - Math.floor((Date.now() - start) / 1000));
    left.textContent = Math.floor(remain / 60) + ":" + pad(remain % 60);
    if (remain === 0 && !reloading) {
      reloading = true;
      if (qr) qr.classList.add("expired");
      if (expiredNote) expiredNote.hidden = false;
      setTimeout(function () { location.reload(); }, 2000);
    }
  }
  tick();
  setInterval(tick, 1000);
})();

// The sampling page: reads the person's health code with the camera into
// the form's code field (jsQR, loaded by the page). A handheld scanner, or
// typing, fills the fields as well: the form works without this script.
(function () {
  "use strict";
  var el = document.getElementById("msgs");
  var msgs = el ? JSON.parse(el.textContent || "{}") : {};
  function t(k) { return msgs[k] || k; }
  var video = document.getElementById("camera");
  var startBtn = document.getElementById("camera-start");
  var stopBtn = document.getElementById("camera-stop");
  var status = document.getElementById("camera-status");
  var code = document.getElementById("s-code");
  if (!video || !startBtn || !code) return;
  var canvas = document.createElement("canvas");
  var stream = null;

  function readQR(src, w, h) {
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(src, 0, 0, w, h);
    var img = ctx.getImageData(0, 0, w, h);
    var found = window.jsQR ? window.jsQR(img.data, w, h) : null;
    return found ? found.data : null;
  }

  function stop() {
    if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    startBtn.hidden = false;
    stopBtn.hidden = true;
  }

  function scan() {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var scale = Math.min(1, 800 / Math.max(video.videoWidth, video.videoHeight));
      var text = readQR(video, Math.round(video.videoWidth * scale), Math.round(video.videoHeight * scale));
      if (text) {
        stop();
        code.value = text;
        status.textContent = t("sample.js.read");
        var tube = document.getElementById("s-tube");
        if (tube) tube.focus();
        return;
      }
    }
    setTimeout(function () { requestAnimationFrame(scan); }, 200);
  }

  startBtn.hidden = false;
  startBtn.addEventListener("click", async function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = t("sample.js.no_camera");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (e) {
      status.textContent = t("sample.js.no_camera");
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    startBtn.hidden = true;
    stopBtn.hidden = false;
    status.textContent = t("sample.js.scanning");
    try { await video.play(); } catch (e) { /* a muted stream may play */ }
    scan();
  });
  stopBtn.addEventListener("click", function () { stop(); status.textContent = ""; });
})();

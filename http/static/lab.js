// The lab's page: sends the batch file with the upload's progress shown,
// then shows the node's report of every row in place of the page. Without
// this script the form posts as any form does, and the report comes back
// the same; only the progress bar is missing.
(function () {
  "use strict";
  var el = document.getElementById("msgs");
  var msgs = el ? JSON.parse(el.textContent || "{}") : {};
  function t(k) { return msgs[k] || k; }
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var status = document.getElementById("upload-status");
    var button = form.querySelector("button[type=submit]");
    box.hidden = false;
    button.disabled = true;
    bar.value = 0;
    status.textContent = t("lab.js.sending").replace("%d", "0");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "text/html");
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var pc = Math.round(100 * e.loaded / e.total);
      bar.value = pc;
      status.textContent = t("lab.js.sending").replace("%d", String(pc));
    };
    xhr.upload.onload = function () {
      bar.removeAttribute("value"); // indeterminate: the node checks the rows
      status.textContent = t("lab.js.checking");
    };
    xhr.onload = function () {
      // The answer is the whole page (the report, or the refusal).
      document.open();
      document.write(xhr.responseText);
      document.close();
    };
    xhr.onerror = function () {
      box.hidden = false;
      bar.value = 0;
      status.textContent = t("lab.js.failed");
      button.disabled = false;
    };
    xhr.send(new FormData(form));
  });
})();

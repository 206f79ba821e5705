// A live clock, so that a screenshot of the code is visibly stale.
(function () {
  var el = document.getElementById("clock");
  if (!el) return;
  function tick() {
    var d = new Date();
    function p(n) { return (n < 10 ? "0" : "") + n; }
    el.textContent = d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
      p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  tick();
  setInterval(tick, 1000);
})();

// Every page's tables: each body cell gets the name of its column
// (data-label), which the stylesheet shows above the cell when a phone's
// narrow screen stacks a table's rows into blocks.
(function () {
  "use strict";
  document.querySelectorAll("table").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) return;
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      var col = 0;
      Array.prototype.forEach.call(tr.children, function (cell) {
        var h = heads[col];
        if (h && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", h.textContent.trim());
        col += cell.colSpan || 1;
      });
    });
  });
})();

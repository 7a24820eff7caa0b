// Keeps the status of reports being made up to date: asks the status URL every second while
// any listed report is queued or rendering, and shows the download link when one is done.
// Polling, not the live socket: it works behind any proxy, and a page opened late catches up.
(function () {
  "use strict";
  var script = document.currentScript;
  var statusUrl = script && script.dataset.statusUrl;
  var PENDING = { queued: true, rendering: true };
  var LABELS = {};

  function pendingCells() {
    return Array.prototype.filter.call(
      document.querySelectorAll("td.situation-status[data-report]"),
      function (cell) { return PENDING[cell.dataset.status]; }
    );
  }

  function show(cell, state) {
    var bar = cell.querySelector("progress");
    if (bar) { bar.value = state.progress; bar.textContent = state.progress + "%"; }
    cell.dataset.status = state.status;
    var label = cell.querySelector(".situation-status-label");
    if (label && LABELS[state.status]) { label.textContent = LABELS[state.status]; }
    if (state.status === "failed") { window.location.reload(); return; }
    var link = document.querySelector('.situation-download[data-report="' + cell.dataset.report + '"]');
    if (state.status === "done" && state.download && link && !link.querySelector("a")) {
      window.location.reload();  // the row's download link, date and author, as the listing draws them
    }
  }

  function poll() {
    var cells = pendingCells();
    if (!statusUrl || !cells.length) { return; }
    var query = cells.map(function (cell) { return "id=" + encodeURIComponent(cell.dataset.report); }).join("&");
    fetch(statusUrl + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { reports: {} }; })
      .then(function (body) {
        cells.forEach(function (cell) {
          var state = body.reports[cell.dataset.report];
          if (state) { show(cell, state); }
        });
      })
      .catch(function () { /* the network came and went: the next tick asks again */ })
      .then(function () { window.setTimeout(poll, 1000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var labels = document.getElementById("situation-status-labels");
    if (labels) { LABELS = JSON.parse(labels.textContent); }
    window.setTimeout(poll, 1000);
  });
})();

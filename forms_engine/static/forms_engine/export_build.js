// The background export's page: polls the build's status, then reloads to show the download.
(function () {
  "use strict";
  var box = document.getElementById("export-build");
  if (!box || box.dataset.status === "done" || box.dataset.status === "failed") return;
  function show(state) {
    document.getElementById("export-fill").style.width = state.progress + "%";
    document.getElementById("export-progress").textContent = state.progress;
  }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state) {
          show(state);
          if (state.status === "done" || state.status === "failed") { window.location.reload(); return; }
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();

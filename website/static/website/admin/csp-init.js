/* Wagtail's admin initialises its date and time pickers and its inline panels with inline
 * <script> elements, which the Content-Security-Policy (script-src 'self' + nonce) blocks. Our
 * overrides of those templates (website/templates/wagtailadmin/) leave data attributes instead;
 * this calls the same functions for them, for the page as loaded and for every form or dialog
 * the admin adds later (an inline panel's new child, the schedule-publishing dialog). */
(function () {
  "use strict";

  function initialise(element) {
    if (element.dataset.cspDone) return;
    var chooser = element.dataset.cspInit;
    var panel = element.dataset.cspPanel;
    if (chooser && typeof window[chooser] === "function") {
      if (element.dataset.cspTarget.indexOf("__prefix__") !== -1) return; // still a template
      element.dataset.cspDone = "1";
      window[chooser](element.dataset.cspTarget, JSON.parse(element.dataset.cspConfig || "{}"));
    } else if (panel && typeof window[panel] === "function") {
      element.dataset.cspDone = "1";
      new window[panel](JSON.parse(element.dataset.cspOptions));
    }
  }

  function scan(root) {
    if (root.nodeType !== 1) return;
    if (root.matches("[data-csp-init], [data-csp-panel]")) initialise(root);
    root.querySelectorAll("[data-csp-init], [data-csp-panel]").forEach(initialise);
  }

  function start() {
    scan(document.body);
    new MutationObserver(function (mutations) {
      mutations.forEach(function (mutation) {
        mutation.addedNodes.forEach(scan);
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

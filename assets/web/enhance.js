// Progressive enhancement only: every page works the same with JavaScript off.
// Bundled by build.mjs with the design system's checkbox behaviour into bot/web/static/app.js.
import Checkboxes from "@scottish-government/design-system/dist/scripts/components/checkbox/checkboxes.js";

(function () {
  // "None of these" is exclusive: ticking it unticks the others, and a tick unticks it. With
  // JavaScript off the server refuses the two together and keeps the ticks.
  document.querySelectorAll('[data-module="ds-checkboxes"]').forEach(function (group) {
    new Checkboxes(group).init();
  });

  // A refused form: the error summary takes the focus, so it is read out first.
  var summary = document.querySelector(".ds_error-summary");
  if (summary) { summary.focus(); }

  // "Copy for your records": the anonymous read-out as plain text, one line each.
  var copy = document.querySelector(".js-copy");
  var readout = document.getElementById("readout");
  if (copy && readout) {
    var status = document.getElementById("copy-status");
    var lines = [];
    readout.querySelectorAll("h2, li").forEach(function (el) { lines.push(el.textContent.trim()); });
    var text = lines.join("\n");
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = function () { if (status) { status.textContent = copy.getAttribute("data-done"); } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
      } else {
        fallback(text);
        done();
      }
    });
  }

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the read-out stays on the page to select */ }
    document.body.removeChild(area);
  }

  // "Print or save" on the outcome: the browser's print dialog (it can also save a PDF).
  var print = document.querySelector(".js-print");
  if (print) {
    print.hidden = false;
    var hint = document.querySelector(".print-hint");
    if (hint) { hint.hidden = true; }
    print.addEventListener("click", function () { window.print(); });
  }

  // Offline copies of the emergency page, the contacts and the quick reference (sw.js).
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
})();

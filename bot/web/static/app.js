// Progressive enhancement only: the page works the same with JavaScript off.
"use strict";
(function () {
  // After ticking an item the page comes back at that item: keep the keyboard focus there.
  if (location.hash.length > 1) {
    var target = document.getElementById(location.hash.slice(1));
    if (target) { target.focus(); }
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

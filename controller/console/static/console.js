// The staff console works without this file; with it, "/" puts the cursor
// in the search field (as in most tools clerks use), and a page's
// data-focus field gets the cursor after an htmx swap.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var s = document.getElementById("search");
    if (s) { e.preventDefault(); s.focus(); s.select(); }
  });
  // The batch screen's account field: Down goes to the first match.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown" || !e.target || e.target.id !== "account") return;
    var m = document.querySelector("#account-results button.match");
    if (m) { e.preventDefault(); m.focus(); }
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var f = e.target && e.target.querySelector && e.target.querySelector("[autofocus]");
    if (f) f.focus();
  });
})();

// Follows the restore after a payment with server-sent events, so the page
// says "Service restored" the moment the network confirms it. Without
// JavaScript the page refreshes itself instead.
(function () {
  "use strict";
  var el = document.getElementById("restore-status");
  if (!el || !el.dataset.follow || !window.EventSource) return;
  var es = new EventSource(el.dataset.follow);
  es.addEventListener("restore", function (ev) {
    var st = JSON.parse(ev.data);
    el.textContent = st.message;
    el.dataset.state = st.state;
    el.className = "restore restore-" + st.state;
    if (st.done) es.close();
  });
  es.onerror = function () {
    // The stream ended (done, or the wait is over): reload once to show
    // the final state rendered by the server.
    es.close();
    if (el.dataset.state === "restoring") setTimeout(function () { location.reload(); }, 2000);
  };
})();

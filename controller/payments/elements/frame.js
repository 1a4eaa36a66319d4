// The sandbox processor's card and bank-account fields. This page runs in
// an iframe on the sandbox's own origin; the numbers typed here are posted
// to this origin only. The embedding page (data-parent, checked by the
// server) gets, by postMessage, only the new method's id, brand and last 4.
(function () {
  "use strict";
  var parentOrigin = document.documentElement.getAttribute("data-parent");
  var form = document.getElementById("fields");
  var errorBox = document.getElementById("error");
  function send(msg) { window.parent.postMessage(msg, parentOrigin); }
  function val(id) { return document.getElementById(id).value; }
  function kind() { return form.querySelector("input[name=type]:checked").value; }
  function resize() { send({ type: "tollgate-resize", height: document.documentElement.scrollHeight }); }
  function showKind() {
    var card = kind() === "card";
    document.getElementById("card").hidden = !card;
    document.getElementById("bank").hidden = card;
    resize();
  }
  function fail(message) {
    errorBox.textContent = message;
    resize();
    send({ type: "tollgate-error", message: message });
  }
  function create() {
    errorBox.textContent = "";
    var body = { type: kind() };
    if (body.type === "card") {
      body.number = val("number"); body.expiry = val("expiry"); body.cvc = val("cvc"); body.name = val("name");
    } else {
      body.routing = val("routing"); body.account = val("account");
    }
    fetch("/v1/elements/payment_methods", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "omit"
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.error) { fail(j.error.message); return; }
      send({ type: "tollgate-method", id: j.id, kind: j.kind, brand: j.brand, last4: j.last4 });
    }).catch(function () { fail("The payment processor could not be reached. Try again."); });
  }
  form.addEventListener("change", function (e) { if (e.target.name === "type") showKind(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); create(); });
  window.addEventListener("message", function (e) {
    if (e.origin !== parentOrigin || e.source !== window.parent || !e.data) return;
    if (e.data.type === "tollgate-create-method") create();
  });
  window.addEventListener("resize", resize);
  send({ type: "tollgate-ready" });
  resize();
})();

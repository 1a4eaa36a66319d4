// Takes a card or US bank account with the payment processor's own fields
// and puts only the processor's payment-method id into the form, so that
// the card number and security code never reach Tollgate (PCI DSS SAQ A).
//
// The page has one element [data-payelement] inside the form, with
//   data-gateway="sandbox" data-origin="http://127.0.0.1:8091", or
//   data-gateway="stripe" data-key="pk_…" data-mode="payment|setup"
//     data-amount="6500" data-currency="usd" (Stripe.js loaded from js.stripe.com),
// a hidden input name=payment_method, and an element [data-payelement-error].
// When the form has radio buttons name=method, the fields are used only
// while the "new" one is chosen. Served by the portal and the console from
// their own origins.
(function () {
  "use strict";
  var box = document.querySelector("[data-payelement]");
  if (!box) return;
  var form = box.closest("form");
  var hidden = form.querySelector("input[name=payment_method]");
  var errorBox = form.querySelector("[data-payelement-error]");
  var button = form.querySelector("button[type=submit]");
  var sending = false;
  box.hidden = false;
  var fallback = form.querySelector("[data-payelement-nojs]");
  if (fallback) fallback.hidden = true;

  function wanted() {
    var chosen = form.querySelector("input[name=method]:checked");
    return !chosen || chosen.value === "new";
  }
  function showError(msg) {
    sending = false;
    if (button) button.disabled = false;
    errorBox.textContent = msg;
    errorBox.hidden = !msg;
  }
  function done(id) {
    hidden.value = id;
    form.submit(); // submit() skips the submit event: no loop
  }

  if (box.dataset.gateway === "sandbox") {
    var origin = box.dataset.origin;
    var frame = document.createElement("iframe");
    frame.src = origin + "/elements/frame?parent=" + encodeURIComponent(location.origin);
    frame.title = "Card or bank account details, entered with the payment processor";
    frame.className = "payelement-frame";
    box.appendChild(frame);
    window.addEventListener("message", function (e) {
      if (e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
      var d = e.data;
      if (d.type === "tollgate-resize" && d.height > 0) frame.style.height = Math.min(d.height + 4, 900) + "px";
      if (d.type === "tollgate-method" && sending) done(String(d.id));
      if (d.type === "tollgate-error") showError(String(d.message));
    });
    form.addEventListener("submit", function (e) {
      if (!wanted() || hidden.value) return;
      e.preventDefault();
      if (sending) return;
      showError("");
      sending = true;
      if (button) button.disabled = true;
      frame.contentWindow.postMessage({ type: "tollgate-create-method" }, origin);
    });
    return;
  }

  if (box.dataset.gateway === "stripe" && window.Stripe) {
    var stripe = window.Stripe(box.dataset.key);
    var opts = { mode: box.dataset.mode || "payment", currency: (box.dataset.currency || "usd").toLowerCase(),
      paymentMethodCreation: "manual", paymentMethodTypes: ["card", "us_bank_account"] };
    if (opts.mode === "payment") opts.amount = Math.max(parseInt(box.dataset.amount, 10) || 100, 50);
    else opts.setupFutureUsage = "off_session";
    var elements = stripe.elements(opts);
    var mount = document.createElement("div");
    box.appendChild(mount);
    elements.create("payment").mount(mount);
    form.addEventListener("submit", function (e) {
      if (!wanted() || hidden.value) return;
      e.preventDefault();
      if (sending) return;
      showError("");
      sending = true;
      if (button) button.disabled = true;
      elements.submit().then(function (r) {
        if (r.error) throw r.error;
        return stripe.createPaymentMethod({ elements: elements });
      }).then(function (r) {
        if (r.error) throw r.error;
        done(r.paymentMethod.id);
      }).catch(function (err) { showError(err && err.message ? err.message : "The payment processor could not be reached."); });
    });
  }
})();

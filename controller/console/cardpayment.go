package console

import (
	"fmt"
	"net/http"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// contentSecurityPolicy allows the console nothing from another origin —
// its scripts (its own and the vendored htmx) and styles are served by the
// controller — except what the payment processor's fields need
// (payments.Element.CSP): frame-src of the sandbox's origin, or exactly
// Stripe's documented origins with Stripe.
func contentSecurityPolicy(e payments.Element) string {
	d := map[string][]string{
		"default-src": {"'none'"}, "style-src": {"'self'"}, "script-src": {"'self'"}, "img-src": {"'self'", "data:"},
		"connect-src": {"'self'"}, "form-action": {"'self'"}, "frame-ancestors": {"'none'"}, "base-uri": {"'none'"},
	}
	e.CSP(d)
	return payments.FormatCSP([]string{"default-src", "style-src", "script-src", "img-src", "connect-src", "frame-src",
		"form-action", "frame-ancestors", "base-uri"}, d)
}

func servePayElementJS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = w.Write(payments.PayElementJS())
}

// takeCard is a card or US bank account a subscriber gives staff over the
// phone: staff type it into the processor's own fields on the account page
// (the number goes from the browser to the processor; the console gets
// only its payment-method id), and the API saves it through a SetupIntent
// and, with an amount, charges it. The review step restates what will
// happen; nothing is sent to the processor before the apply step.
func takeCard(c actionCall) (confirmation, error) {
	method := c.text("payment_method")
	if method == "" {
		return confirmation{}, billing.Errorf(billing.EINVALID, "payment_method: type the card or account into the processor's fields (they need JavaScript)")
	}
	var amount int64
	if c.text("amount") != "" {
		var err error
		if amount, err = c.amount("amount"); err != nil {
			return confirmation{}, err
		}
	}
	makeDefault := c.form.Get("default") != ""
	if c.preview {
		sum := []string{fmt.Sprintf("Save the card or bank account the subscriber gave (processor's reference %s) on account %s%s.",
			method, c.account.Number, map[bool]string{true: " as the default method", false: ""}[makeDefault])}
		if amount > 0 {
			sum = append(sum, fmt.Sprintf("Then charge %s to it through the payment processor; a success posts the payment (balance now %s, after %s).",
				c.money(amount), c.money(c.account.Balance), c.money(c.account.Balance-amount)))
		}
		return confirmation{Summary: sum}, nil
	}
	var saved struct {
		Status        string                `json:"status"`
		Method        *billing.StoredMethod `json:"method"`
		NextActionURL string                `json:"next_action_url"`
	}
	if err := c.api.Do(c.ctx, http.MethodPost, c.path("/payment-methods/setup"), nil, c.idem,
		map[string]any{"payment_method": method, "default": makeDefault}, &saved); err != nil {
		return confirmation{}, err
	}
	if saved.Method == nil {
		return confirmation{}, billing.Errorf(billing.EINVALID,
			"payment_method: the card's bank asks the cardholder to confirm it (3-D Secure), which cannot be done by phone; ask the subscriber to add it in the portal")
	}
	if amount == 0 {
		return confirmation{}, nil
	}
	var a billing.PaymentAttempt
	if err := c.api.Do(c.ctx, http.MethodPost, c.path("/gateway-payments"), nil, c.idem+"-charge",
		map[string]any{"amount": amount, "payment_method_id": saved.Method.ID}, &a); err != nil {
		return confirmation{}, err
	}
	if a.Status == "failed" || a.Status == "error" {
		return confirmation{}, billing.Errorf(billing.EINVALID, "amount: the charge was not made: %s (the card is on file)", a.FailureMessage)
	}
	return confirmation{}, nil
}

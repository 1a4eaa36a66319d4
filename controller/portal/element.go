package portal

import (
	"net/http"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/payments"
)

// contentSecurityPolicy is the portal's CSP: its own origin only, plus,
// for the payment fields, frame-src of the sandbox's origin, or exactly
// what Stripe documents for Stripe.js (payments.Element.CSP).
func contentSecurityPolicy(e payments.Element) string {
	d := map[string][]string{
		"default-src": {"'none'"}, "style-src": {"'self'"}, "script-src": {"'self'"}, "img-src": {"'self'"},
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

// elementView is what a page with the payment fields needs.
type elementView struct {
	payments.Element
	// StripeJS is Stripe.js's address when the gateway is Stripe.
	StripeJS string
	// Mode is "payment" or "setup"; Amount and Currency (lower case) are
	// for Stripe's deferred Payment Element.
	Mode     string
	Amount   int64
	Currency string
}

func (s *Server) elementView(mode string, amount int64, currency string) elementView {
	v := elementView{Element: s.cfg.Element, Mode: mode, Amount: amount, Currency: strings.ToLower(currency)}
	if v.Gateway == "stripe" {
		v.StripeJS = payments.StripeJS
	}
	return v
}

// authenticateData is the page that sends the browser to the bank's
// authentication (3-D Secure) page.
type authenticateData struct {
	URL   string
	Setup bool
}

package payments

import (
	"net/url"
	"strings"
)

// Element says whose fields a page uses to take a card or bank account in
// the browser, so the card never reaches Tollgate: Stripe's Payment Element
// (Stripe.js from js.stripe.com, the one outside origin Tollgate's pages
// ever load, and only with payments.gateway: stripe) or the sandbox's
// iframe from its own origin. The portal and the console build their
// Content-Security-Policy from it.
type Element struct {
	// Gateway is "sandbox" or "stripe" ("" means no browser capture).
	Gateway string
	// Origin is the sandbox's browser origin ("http://127.0.0.1:8091").
	Origin string
	// PublishableKey is Stripe's publishable key ("pk_…").
	PublishableKey string
}

// StripeJS is Stripe.js v3, which Stripe requires be loaded from Stripe.
const StripeJS = "https://js.stripe.com/v3"

// Enabled reports whether the page can take a new card.
func (e Element) Enabled() bool {
	return (e.Gateway == "stripe" && e.PublishableKey != "") || (e.Gateway == "sandbox" && e.Origin != "")
}

// CSP adds to a Content-Security-Policy's directives what the fields need:
// for Stripe exactly what Stripe documents (script-src and frame-src
// https://js.stripe.com, frame-src https://hooks.stripe.com, connect-src
// https://api.stripe.com); for the sandbox frame-src of its origin; no
// outside origin otherwise. directives maps a directive to its sources.
func (e Element) CSP(directives map[string][]string) {
	switch {
	case e.Gateway == "stripe" && e.PublishableKey != "":
		directives["script-src"] = append(directives["script-src"], "https://js.stripe.com")
		directives["frame-src"] = append(directives["frame-src"], "https://js.stripe.com", "https://hooks.stripe.com")
		directives["connect-src"] = append(directives["connect-src"], "https://api.stripe.com")
	case e.Gateway == "sandbox" && e.Origin != "":
		directives["frame-src"] = append(directives["frame-src"], e.Origin)
	}
}

// FormatCSP writes directives in the given order; a directive with no
// sources is left out.
func FormatCSP(order []string, directives map[string][]string) string {
	var parts []string
	for _, d := range order {
		if src := directives[d]; len(src) > 0 {
			parts = append(parts, d+" "+strings.Join(src, " "))
		}
	}
	return strings.Join(parts, "; ")
}

// OriginOf is the scheme://host[:port] of a URL ("" if it has none).
func OriginOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

package payments

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The sandbox's browser origin: what Stripe's Payment Element and its
// 3-D Secure pages are for Stripe, served by [Sandbox.ElementsHandler] on a
// listener and origin of its own (payments.sandbox.listen), never the
// portal's or the console's:
//
//	GET  /elements/frame?parent=ORIGIN   the card and bank-account fields, a page
//	                                     for an iframe in a page of ORIGIN
//	                                     (one of the allowed origins)
//	GET  /elements/frame.js, frame.css   its script and style (vendored here)
//	POST /v1/elements/payment_methods    the fields' JSON, from that page only →
//	                                     {"id","kind","brand","last4"} or
//	                                     {"error":{"message"}}
//	GET  /authenticate/{intent}          the sandbox bank's 3-D Secure page
//	POST /authenticate/{intent}          approve=1|0 → 303 to the return URL
//
// The frame posts the card to its own origin and tells the embedding page
// (postMessage, to the parent's origin only) nothing but the new method's
// id, brand and last 4. The embedding page's script is payelement.js,
// served by the portal and the console from their own origins.

//go:embed elements
var elementsAssets embed.FS

// ElementsOptions configures the browser origin.
type ElementsOptions struct {
	// AllowedOrigins are the origins ("https://pay.example.net") whose
	// pages may embed the fields and receive method ids: the portal's and
	// the console's.
	AllowedOrigins []string
}

var elementsPages = template.Must(template.ParseFS(elementsAssets, "elements/*.html"))

// ElementsHandler serves the sandbox's browser origin (see above).
func (s *Sandbox) ElementsHandler(opts ElementsOptions) http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(elementsAssets, "elements")
	files := http.StripPrefix("/elements/", http.FileServerFS(static))
	allowed := func(o string) bool { return o != "" && slices.Contains(opts.AllowedOrigins, o) }
	ancestors := strings.Join(opts.AllowedOrigins, " ")
	if ancestors == "" {
		ancestors = "'none'"
	}
	csp := func(w http.ResponseWriter, frameAncestors, formAction string) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "+
			"form-action "+formAction+"; frame-ancestors "+frameAncestors+"; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
	}
	mux.HandleFunc("GET /elements/frame.js", func(w http.ResponseWriter, r *http.Request) {
		csp(w, "'none'", "'none'")
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /elements/frame.css", func(w http.ResponseWriter, r *http.Request) {
		csp(w, "'none'", "'none'")
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /elements/frame", func(w http.ResponseWriter, r *http.Request) {
		parent := r.URL.Query().Get("parent")
		if !allowed(parent) {
			http.Error(w, "this page may be embedded only by the portal or the console (payments.sandbox: allowed origins)", http.StatusForbidden)
			return
		}
		csp(w, parent, "'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = elementsPages.ExecuteTemplate(w, "frame.html", map[string]any{"Parent": parent, "Year": s.clock.Now().Year()})
	})
	mux.HandleFunc("POST /v1/elements/payment_methods", func(w http.ResponseWriter, r *http.Request) {
		csp(w, "'none'", "'none'")
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			writeElementsError(w, http.StatusForbidden, "only the sandbox's own fields may create payment methods")
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeElementsError(w, http.StatusUnsupportedMediaType, "send JSON")
			return
		}
		var in elementsMethodBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeElementsError(w, http.StatusBadRequest, "the fields could not be read")
			return
		}
		var pm PaymentMethod
		var err error
		switch in.Type {
		case "card":
			month, year, ok := parseExpiry(in.Expiry)
			if !ok {
				writeElementsError(w, http.StatusBadRequest, "Expiry: enter the month and year as MM/YY.")
				return
			}
			pm, err = s.Tokenize(r.Context(), CardInput{Number: in.Number, ExpMonth: month, ExpYear: year, CVC: strings.TrimSpace(in.CVC), Name: in.Name})
		case "us_bank_account":
			pm, err = s.TokenizeBank(r.Context(), in.Routing, in.Account)
		default:
			err = billing.Errorf(billing.EINVALID, "choose card or bank account")
		}
		if err != nil {
			status := http.StatusBadRequest
			if billing.ErrorCode(err) == billing.EINTERNAL {
				status = http.StatusInternalServerError
			}
			writeElementsError(w, status, upperFirst(billing.ErrorMessage(err))+".")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": pm.Token, "kind": string(pm.Kind), "brand": pm.Brand, "last4": pm.Last4})
	})
	mux.HandleFunc("GET /authenticate/{id}", func(w http.ResponseWriter, r *http.Request) {
		in, err := s.RetrieveIntent(r.Context(), r.PathValue("id"))
		if err != nil {
			http.Error(w, "no such payment", http.StatusNotFound)
			return
		}
		// The form's post is answered with a redirect to the return URL,
		// which form-action covers: the pages that may ask for it.
		csp(w, "'none'", strings.TrimSpace("'self' "+strings.Join(opts.AllowedOrigins, " ")))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = elementsPages.ExecuteTemplate(w, "authenticate.html", map[string]any{"Intent": in,
			"Amount": billing.Money{Amount: in.Amount, Currency: in.Currency}.String(), "Waiting": in.Status == IntentRequiresAction})
	})
	mux.HandleFunc("POST /authenticate/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, back, err := s.Authenticate(r.Context(), r.PathValue("id"), r.PostFormValue("approve") == "1")
		if err != nil {
			http.Error(w, "no such payment", http.StatusNotFound)
			return
		}
		u, perr := url.Parse(back)
		if back == "" || perr != nil || !allowed(u.Scheme+"://"+u.Host) {
			csp(w, "'none'", "'none'")
			http.Error(w, "authentication recorded; the page that asked for it is not one the sandbox may send you back to", http.StatusOK)
			return
		}
		csp(w, "'none'", "'none'")
		http.Redirect(w, r, back, http.StatusSeeOther)
	})
	return mux
}

// PayElementJS is payelement.js, the embedding page's side of the fields
// (Stripe's Payment Element or the sandbox's iframe), which the portal and
// the console serve from their own origins.
func PayElementJS() []byte {
	b, _ := elementsAssets.ReadFile("elements/payelement.js")
	return b
}

type elementsMethodBody struct {
	Type    string `json:"type"`
	Number  string `json:"number,omitempty"`
	Expiry  string `json:"expiry,omitempty"`
	CVC     string `json:"cvc,omitempty"`
	Name    string `json:"name,omitempty"`
	Routing string `json:"routing,omitempty"`
	Account string `json:"account,omitempty"`
}

func writeElementsError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]map[string]string{"error": {"message": msg}})
}

// parseExpiry reads "MM/YY" or "MM/YYYY".
func parseExpiry(s string) (month, year int, ok bool) {
	m, y, found := strings.Cut(strings.ReplaceAll(strings.TrimSpace(s), " ", ""), "/")
	if !found {
		return 0, 0, false
	}
	month, err1 := strconv.Atoi(m)
	year, err2 := strconv.Atoi(y)
	return month, year, err1 == nil && err2 == nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

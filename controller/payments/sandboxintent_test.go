package payments

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

func TestSandboxPaymentIntents(t *testing.T) {
	ctx := context.Background()
	s := newTestSandbox(t)
	s.SetElementsURL("http://127.0.0.1:8091")
	pay := func(method, key string) Intent {
		t.Helper()
		in, err := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 6500, Currency: "USD", PaymentMethod: method, IdempotencyKey: key, AttemptID: "9"})
		if err != nil {
			t.Fatalf("create with %s: %v", method, err)
		}
		if in.Status != IntentRequiresConfirmation || in.AttemptID != "9" || !strings.HasPrefix(in.ClientSecret, in.ID+"_secret_") {
			t.Fatalf("created = %+v", in)
		}
		in, err = s.ConfirmPaymentIntent(ctx, in.ID, ConfirmRequest{ReturnURL: "https://pay.example.net/portal/pay/return?restore=1"})
		if err != nil {
			t.Fatalf("confirm with %s: %v", method, err)
		}
		return in
	}

	if in := pay("pm_card_visa", "k1"); in.Status != IntentSucceeded || in.PaymentMethod.Brand != "visa" || in.PaymentMethod.Last4 != "4242" {
		t.Fatalf("visa: %+v", in)
	} else if _, err := s.Refund(ctx, RefundRequest{ChargeID: in.ID, Amount: 100}); err != nil {
		t.Fatalf("refunding a succeeded intent: %v", err)
	}
	if in := pay("pm_card_chargeDeclinedInsufficientFunds", "k2"); in.Status != IntentRequiresPaymentMethod || in.FailureCode != FailureInsufficientFunds {
		t.Fatalf("insufficient funds: %+v", in)
	}

	// 3-D Secure: requires_action with the sandbox bank's page, then the
	// bank's answer and the way back with Stripe's query parameters.
	in := pay("pm_card_authenticationRequired", "k3")
	if in.Status != IntentRequiresAction || in.NextActionURL != "http://127.0.0.1:8091/authenticate/"+in.ID {
		t.Fatalf("3-D Secure: %+v", in)
	}
	got, back, err := s.Authenticate(ctx, in.ID, true)
	if err != nil || got.Status != IntentSucceeded {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	u, _ := url.Parse(back)
	if u.Host != "pay.example.net" || u.Query().Get("payment_intent") != in.ID || u.Query().Get("redirect_status") != "succeeded" || u.Query().Get("restore") != "1" {
		t.Fatalf("return URL = %s", back)
	}
	if again, _ := s.RetrieveIntent(ctx, in.ID); again.Status != IntentSucceeded {
		t.Fatalf("retrieved after approval: %+v", again)
	}
	refused := pay("pm_card_authenticationRequired", "k4")
	if got, _, _ := s.Authenticate(ctx, refused.ID, false); got.Status != IntentRequiresPaymentMethod || got.FailureCode != FailureAuthenticationRequired {
		t.Fatalf("refused authentication: %+v", got)
	}
	// Off session, nobody is there to authenticate.
	ch, err := s.Charge(ctx, ChargeRequest{Token: "pm_card_authenticationRequired", Amount: 100, Currency: "USD", IdempotencyKey: "off"})
	if err != nil || ch.Status != ChargeFailed || ch.FailureCode != FailureAuthenticationRequired {
		t.Fatalf("off-session charge of a 3-D Secure card: %+v, %v", ch, err)
	}

	// Keys: the same request replays the intent; other parameters conflict.
	first, _ := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 100, Currency: "USD", PaymentMethod: "pm_card_visa", IdempotencyKey: "same", AttemptID: "1"})
	replay, err := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 100, Currency: "USD", PaymentMethod: "pm_card_visa", IdempotencyKey: "same", AttemptID: "1"})
	if err != nil || replay.ID != first.ID {
		t.Fatalf("replay = %+v, %v; want %s", replay, err, first.ID)
	}
	if _, err := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 200, Currency: "USD", PaymentMethod: "pm_card_visa", IdempotencyKey: "same", AttemptID: "1"}); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("same key, other amount: %v", err)
	}
	if _, err := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 100, Currency: "USD", PaymentMethod: "pm_nope"}); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := s.RetrievePaymentMethod(ctx, "4242424242424242"); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("a card number as a method id: %v", err)
	}
}

func TestSandboxSetupIntents(t *testing.T) {
	ctx := context.Background()
	s := newTestSandbox(t)
	s.SetElementsURL("http://sandbox.test")
	si, err := s.CreateSetupIntent(ctx, SetupIntentRequest{AccountID: "3", PaymentMethod: "pm_card_mastercard", IdempotencyKey: "s1"})
	if err != nil || si.Status != IntentSucceeded || !si.Setup || si.AccountID != "3" || !strings.HasPrefix(si.Customer, "cus_sandbox_") ||
		si.PaymentMethod.Customer != si.Customer || si.PaymentMethod.Brand != "mastercard" {
		t.Fatalf("mastercard: %+v, %v", si, err)
	}
	// The saved method charges off session.
	if ch, err := s.Charge(ctx, ChargeRequest{Token: si.PaymentMethod.Token, Customer: si.Customer, Amount: 500, Currency: "USD"}); err != nil || ch.Status != ChargeSucceeded {
		t.Fatalf("charging the saved method: %+v, %v", ch, err)
	}
	if si, _ := s.CreateSetupIntent(ctx, SetupIntentRequest{PaymentMethod: "pm_card_chargeDeclined"}); si.Status != IntentRequiresPaymentMethod || si.FailureCode != FailureCardDeclined {
		t.Fatalf("declined card saved: %+v", si)
	}
	if si, _ := s.CreateSetupIntent(ctx, SetupIntentRequest{PaymentMethod: "pm_card_chargeCustomerFail"}); si.Status != IntentSucceeded {
		t.Fatalf("0341 attaches fine: %+v", si)
	}
	if si, _ := s.CreateSetupIntent(ctx, SetupIntentRequest{PaymentMethod: "pm_usBankAccount"}); si.Status != IntentSucceeded || si.PaymentMethod.Kind != KindBankAccount {
		t.Fatalf("bank account: %+v", si)
	}
	si, _ = s.CreateSetupIntent(ctx, SetupIntentRequest{PaymentMethod: "pm_card_authenticationRequired", ReturnURL: "https://pay.example.net/portal/methods/return"})
	if si.Status != IntentRequiresAction || si.NextActionURL == "" {
		t.Fatalf("3-D Secure setup: %+v", si)
	}
	_, back, _ := s.Authenticate(ctx, si.ID, true)
	if !strings.Contains(back, "setup_intent="+si.ID) {
		t.Fatalf("return URL %s", back)
	}
}

// The browser origin: the frame only for allowed parents, card data
// accepted only as JSON from its own origin, strict CSP everywhere, and the
// 3-D Secure page sends the browser back only to allowed origins.
func TestSandboxElementsHandler(t *testing.T) {
	s := newTestSandbox(t)
	h := s.ElementsHandler(ElementsOptions{AllowedOrigins: []string{"https://pay.example.net"}})
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	w := get("/elements/frame?parent=" + url.QueryEscape("https://pay.example.net"))
	csp := w.Header().Get("Content-Security-Policy")
	if w.Code != 200 || !strings.Contains(csp, "frame-ancestors https://pay.example.net") || !strings.Contains(csp, "script-src 'self'") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(w.Body.String(), `data-parent="https://pay.example.net"`) {
		t.Fatalf("frame: %d %s\n%s", w.Code, csp, w.Body)
	}
	if w := get("/elements/frame?parent=" + url.QueryEscape("https://evil.example")); w.Code != http.StatusForbidden {
		t.Fatalf("frame for another site: %d", w.Code)
	}
	if w := get("/elements/frame.js"); w.Code != 200 || !strings.Contains(w.Body.String(), "tollgate-create-method") {
		t.Fatalf("frame.js: %d", w.Code)
	}

	post := func(ct, site, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/elements/payment_methods", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	card := `{"type":"card","number":"4242 4242 4242 4242","expiry":"12/30","cvc":"123"}`
	if w := post("application/json", "same-origin", card); w.Code != 200 || !strings.Contains(w.Body.String(), `"last4":"4242"`) || strings.Contains(w.Body.String(), "4242424242424242") {
		t.Fatalf("card: %d %s", w.Code, w.Body)
	}
	if w := post("application/json", "cross-site", card); w.Code != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", w.Code)
	}
	if w := post("application/x-www-form-urlencoded", "same-origin", "number=4242424242424242"); w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("form post: %d", w.Code)
	}
	if w := post("application/json", "same-origin", `{"type":"card","number":"4242 4242 4242 4241","expiry":"12/30"}`); w.Code != 400 || !strings.Contains(w.Body.String(), "Card number is not valid") {
		t.Fatalf("bad card: %d %s", w.Code, w.Body)
	}

	ctx := context.Background()
	in, _ := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 100, Currency: "USD", PaymentMethod: "pm_card_authenticationRequired", AttemptID: "1"})
	in, _ = s.ConfirmPaymentIntent(ctx, in.ID, ConfirmRequest{ReturnURL: "https://pay.example.net/portal/pay/return"})
	if w := get("/authenticate/" + in.ID); w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "form-action 'self' https://pay.example.net") {
		t.Fatalf("authentication page: %d %s", w.Code, w.Header())
	}
	r := httptest.NewRequest(http.MethodPost, "/authenticate/"+in.ID, strings.NewReader("approve=1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "https://pay.example.net/portal/pay/return?") {
		t.Fatalf("approval: %d %s", w.Code, w.Header().Get("Location"))
	}
	other, _ := s.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 100, Currency: "USD", PaymentMethod: "pm_card_authenticationRequired", AttemptID: "2"})
	_, _ = s.ConfirmPaymentIntent(ctx, other.ID, ConfirmRequest{ReturnURL: "https://evil.example/steal"})
	r = httptest.NewRequest(http.MethodPost, "/authenticate/"+other.ID, strings.NewReader("approve=1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code == http.StatusSeeOther {
		t.Fatalf("sent back to a page that is not allowed: %s", w.Header().Get("Location"))
	}
}

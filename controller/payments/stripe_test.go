package payments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// What stripe-mock (v0.203.0, OpenAPI spec 2026-08-26.dahlia) does and does
// not check, which decides what these tests can assert:
//
//   - It checks authentication (any "sk_test_…" key), routes every endpoint
//     and validates each request's parameters against the spec: names,
//     types, required ones, enum values, nesting. A 200 from it means the
//     request was well formed for the real API.
//   - It is stateless and answers with canned fixtures, reflecting scalar
//     request parameters into them (amount, currency, customer, …). Created
//     ids are fresh but nothing is stored: a PaymentIntent always comes back
//     "requires_payment_method", a card always "visa"/"4242", a refund
//     "succeeded".
//   - It ignores Idempotency-Key (accepts it, never replays) and, without
//     -strict-version-check, the Stripe-Version header.
//   - It never declines a card or produces a card_error.
//
// So the stripe-mock tests assert on the requests (through a recording
// proxy) and on ids and reflected values; declines, idempotency conflicts
// and server errors are mapped from Stripe-shaped error bodies served by
// httptest (TestStripeErrorMapping).

func newStripeForMock(t *testing.T, cfg StripeConfig) (*Stripe, *recorder) {
	t.Helper()
	rec := newRecorder(t, stripeMockURL(t))
	if cfg.APIKey == "" {
		cfg.APIKey = "sk_test_123"
	}
	cfg.BaseURL = rec.srv.URL
	cfg.MaxNetworkRetries = -1
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg.Clock = clock.NewFixed(sandboxNow)
	g, err := NewStripe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, rec
}

func mustRequest(t *testing.T, rec *recorder, method, path string) recordedRequest {
	t.Helper()
	r, err := rec.last(method, path)
	if err != nil {
		var seen []string
		for _, r := range rec.requests() {
			seen = append(seen, r.Method+" "+r.Path)
		}
		t.Fatalf("no %s %s request; saw %v", method, path, seen)
	}
	if r.Status != http.StatusOK {
		t.Fatalf("stripe-mock answered %s %s with HTTP %d", method, path, r.Status)
	}
	return r
}

func wantForm(t *testing.T, r recordedRequest, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Form.Get(k); got != v || (v == "" && r.Form.Has(k)) {
			t.Errorf("%s %s: %s = %q, want %q (form %v)", r.Method, r.Path, k, got, v, r.Form)
		}
	}
}

func TestStripeRoundTrip(t *testing.T) {
	g, rec := newStripeForMock(t, StripeConfig{})
	ctx := context.Background()

	// A method the Payment Element created in a browser (here Stripe's
	// test id), saved to a customer.
	pm, err := g.RetrievePaymentMethod(ctx, "pm_card_visa")
	if err != nil {
		t.Fatalf("RetrievePaymentMethod: %v", err)
	}
	if !strings.HasPrefix(pm.Token, "pm_") || pm.Kind != KindCard || pm.Brand == "" || len(pm.Last4) != 4 {
		t.Fatalf("payment method = %+v", pm)
	}
	pm.Customer = "cus_123"
	r := mustRequest(t, rec, http.MethodGet, "/v1/payment_methods/pm_card_visa")
	if got := r.Header.Get("Stripe-Version"); got != stripe.APIVersion {
		t.Errorf("Stripe-Version = %q, want %q", got, stripe.APIVersion)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk_test_123" {
		t.Errorf("Authorization = %q", got)
	}

	// Charge: one confirmed, off-session PaymentIntent with our key.
	rec.reset()
	req := ChargeRequest{Token: pm.Token, Amount: 4999, Currency: "USD", Description: "Invoice 1001",
		IdempotencyKey: "charge-7f3a", Customer: pm.Customer, AttemptID: "31"}
	ch, err := g.Charge(ctx, req)
	if err != nil {
		t.Fatalf("Charge: %v", err)
	}
	if !strings.HasPrefix(ch.ID, "pi_") {
		t.Fatalf("charge = %+v, want a PaymentIntent id", ch)
	}
	// stripe-mock's canned PaymentIntent is "requires_payment_method", which
	// reads as a failed charge; what matters is that it is one of ours.
	if ch.Status != ChargeFailed && ch.Status != ChargeSucceeded && ch.Status != ChargePending {
		t.Fatalf("status = %q", ch.Status)
	}
	if n := len(rec.requests()); n != 1 {
		t.Fatalf("Charge with a customer made %d requests, want 1", n)
	}
	r = mustRequest(t, rec, http.MethodPost, "/v1/payment_intents")
	wantForm(t, r, map[string]string{
		"amount": "4999", "currency": "usd", "payment_method": pm.Token, "customer": pm.Customer,
		"confirm": "true", "off_session": "true", "description": "Invoice 1001",
		"automatic_payment_methods[enabled]": "true", "automatic_payment_methods[allow_redirects]": "never",
		"metadata[tollgate_attempt_id]": "31",
	})
	if got := r.Header.Get("Idempotency-Key"); got != "charge-7f3a" {
		t.Errorf("Idempotency-Key = %q, want charge-7f3a", got)
	}
	// The retry of a charge sends the same key again (Stripe replays).
	if _, err := g.Charge(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := mustRequest(t, rec, http.MethodPost, "/v1/payment_intents").Header.Get("Idempotency-Key"); got != "charge-7f3a" {
		t.Errorf("retry Idempotency-Key = %q", got)
	}

	// Without a customer, the adapter looks the method's customer up first.
	rec.reset()
	if _, err := g.Charge(ctx, ChargeRequest{Token: pm.Token, Amount: 100, Currency: "EUR", IdempotencyKey: "k2"}); err != nil {
		t.Fatalf("Charge without customer: %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/payment_methods/"+pm.Token {
		t.Fatalf("requests = %+v, want GET the payment method then create the intent", reqs)
	}
	wantForm(t, mustRequest(t, rec, http.MethodPost, "/v1/payment_intents"), map[string]string{"currency": "eur", "amount": "100", "description": ""})

	// Refund: part of the PaymentIntent, with our key.
	rec.reset()
	rf, err := g.Refund(ctx, RefundRequest{ChargeID: ch.ID, Amount: 1000, IdempotencyKey: "refund-1", RefundID: "42"})
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if !strings.HasPrefix(rf.ID, "re_") || rf.ChargeID != ch.ID || rf.Amount != 1000 || rf.Status != "succeeded" {
		t.Fatalf("refund = %+v", rf)
	}
	r = mustRequest(t, rec, http.MethodPost, "/v1/refunds")
	wantForm(t, r, map[string]string{"payment_intent": ch.ID, "amount": "1000", "charge": "", "metadata[tollgate_refund_id]": "42"})
	if got := r.Header.Get("Idempotency-Key"); got != "refund-1" {
		t.Errorf("refund Idempotency-Key = %q", got)
	}
	// A full refund of a legacy charge: charge=, no amount.
	if _, err := g.Refund(ctx, RefundRequest{ChargeID: "ch_legacy", Amount: 0, IdempotencyKey: "refund-2"}); err != nil {
		t.Fatalf("Refund of a charge: %v", err)
	}
	wantForm(t, mustRequest(t, rec, http.MethodPost, "/v1/refunds"), map[string]string{"charge": "ch_legacy", "amount": "", "payment_intent": ""})

	// Listing a PaymentIntent's refunds (to find a refund by its
	// metadata after a crash): GET /v1/refunds?payment_intent=…, which
	// stripe-mock validates against the spec.
	rec.reset()
	list, err := g.ListRefunds(ctx, ch.ID)
	if err != nil {
		t.Fatalf("ListRefunds: %v", err)
	}
	if len(list) == 0 || !strings.HasPrefix(list[0].ID, "re_") || list[0].ChargeID != ch.ID {
		t.Fatalf("refunds = %+v", list)
	}
	wantForm(t, mustRequest(t, rec, http.MethodGet, "/v1/refunds"), map[string]string{"payment_intent": ch.ID, "charge": "", "limit": "100"})
	if _, err := g.ListRefunds(ctx, "ch_legacy"); err != nil {
		t.Fatalf("ListRefunds of a charge: %v", err)
	}
	wantForm(t, mustRequest(t, rec, http.MethodGet, "/v1/refunds"), map[string]string{"charge": "ch_legacy", "payment_intent": ""})
}

// Bad input is refused before anything is sent to Stripe.
func TestStripeValidatesLocally(t *testing.T) {
	g, rec := newStripeForMock(t, StripeConfig{})
	ctx := context.Background()
	_, err := g.Charge(ctx, ChargeRequest{Token: "pm_1", Amount: 0, Currency: "USD"})
	wantCode(t, err, billing.EINVALID, "positive")
	_, err = g.Charge(ctx, ChargeRequest{Token: "pm_1", Amount: 10, Currency: "ZZZ"})
	wantCode(t, err, billing.EINVALID, "currency")
	_, err = g.Charge(ctx, ChargeRequest{Token: "4242 4242 4242 4242", Amount: 10, Currency: "USD"})
	wantCode(t, err, billing.EINVALID, "card number")
	_, err = g.Refund(ctx, RefundRequest{ChargeID: "pi_1", Amount: -1, IdempotencyKey: ""})
	wantCode(t, err, billing.EINVALID, "negative")
	_, err = g.Refund(ctx, RefundRequest{ChargeID: "", Amount: 1, IdempotencyKey: ""})
	wantCode(t, err, billing.EINVALID, "required")
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests sent for invalid input", n)
	}
}

// stripe-mock refuses a key that is not a test-mode secret key; the
// adapter reports that as its own trouble (EINTERNAL), not the caller's.
func TestStripeRejectedAPIKey(t *testing.T) {
	g, rec := newStripeForMock(t, StripeConfig{APIKey: "sk_live_not_for_tests"})
	_, err := g.Charge(context.Background(), ChargeRequest{Token: "pm_1", Amount: 100, Currency: "USD", Customer: "cus_1", IdempotencyKey: "k"})
	var se *StripeError
	if !errors.As(err, &se) || se.Err.HTTPStatusCode != http.StatusUnauthorized {
		t.Fatalf("error = %v, want a *StripeError with HTTP 401", err)
	}
	if billing.ErrorCode(err) != billing.EINTERNAL || billing.ErrorMessage(err) != "internal error" {
		t.Fatalf("code %s message %q", billing.ErrorCode(err), billing.ErrorMessage(err))
	}
	if !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "create payment intent") {
		t.Fatalf("error text %q should name the call and the status", err.Error())
	}
	if r, _ := rec.last(http.MethodPost, "/v1/payment_intents"); r.Status != http.StatusUnauthorized {
		t.Fatalf("stripe-mock status = %d", r.Status)
	}
}

// stripeErrorServer answers every request with one Stripe-shaped error.
func stripeErrorServer(t *testing.T, status int, body string) (*Stripe, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	g, err := NewStripe(StripeConfig{APIKey: "sk_test_123", BaseURL: srv.URL, MaxNetworkRetries: -1,
		Logger: slog.New(slog.DiscardHandler), Clock: clock.NewFixed(sandboxNow)})
	if err != nil {
		t.Fatal(err)
	}
	return g, &calls
}

func cardError(code, decline, msg string) string {
	return fmt.Sprintf(`{"error":{"type":"card_error","code":%q,"decline_code":%q,"message":%q,
		"payment_intent":{"id":"pi_declined","object":"payment_intent","status":"requires_payment_method"}}}`, code, decline, msg)
}

// Stripe's error responses (as the real API sends them; stripe-mock cannot
// produce them) map to failed charges or coded errors.
func TestStripeErrorMapping(t *testing.T) {
	ctx := context.Background()
	charge := ChargeRequest{Token: "pm_1", Amount: 100, Currency: "USD", Customer: "cus_1", IdempotencyKey: "k"}

	declines := []struct {
		name, body string
		want       string
	}{
		{"generic decline", cardError("card_declined", "generic_decline", "Your card was declined."), FailureCardDeclined},
		{"insufficient funds", cardError("card_declined", "insufficient_funds", "Your card has insufficient funds."), FailureInsufficientFunds},
		{"expired", cardError("expired_card", "expired_card", "Your card has expired."), FailureExpiredCard},
		{"incorrect cvc", cardError("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."), FailureIncorrectCVC},
		{"processing error", cardError("processing_error", "processing_error", "An error occurred while processing your card."), FailureProcessingError},
		{"authentication required", cardError("authentication_required", "authentication_required", "This payment requires authentication."), FailureAuthenticationRequired},
		{"lost card", cardError("card_declined", "lost_card", "Your card was declined."), FailureCardDeclined},
	}
	for _, tc := range declines {
		t.Run("charge/"+tc.name, func(t *testing.T) {
			g, _ := stripeErrorServer(t, http.StatusPaymentRequired, tc.body)
			ch, err := g.Charge(ctx, charge)
			if err != nil {
				t.Fatalf("a decline is not an error: %v", err)
			}
			if ch.Status != ChargeFailed || ch.FailureCode != tc.want || ch.ID != "pi_declined" || ch.FailureMessage == "" {
				t.Fatalf("charge = %+v, want failed %s", ch, tc.want)
			}
		})
	}

	errorsTable := []struct {
		name   string
		status int
		body   string
		code   billing.Code
	}{
		{"idempotency key reused", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`, billing.ECONFLICT},
		{"key in use: retry later", 409, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Stripe-Idempotency-Key."}}`, billing.EINTERNAL},
		{"no such payment method", 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_1'"}}`, billing.ENOTFOUND},
		{"invalid request", 400, `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","message":"Invalid integer: abc"}}`, billing.EINVALID},
		{"server error", 500, `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`, billing.EINTERNAL},
		{"rate limited", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`, billing.EINTERNAL},
		{"bad key", 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_***123"}}`, billing.EINTERNAL},
		{"not JSON", 502, `<html>Bad Gateway</html>`, billing.EINTERNAL},
	}
	for _, tc := range errorsTable {
		t.Run("charge/"+tc.name, func(t *testing.T) {
			g, calls := stripeErrorServer(t, tc.status, tc.body)
			_, err := g.Charge(ctx, charge)
			if got := billing.ErrorCode(err); got != tc.code {
				t.Fatalf("error = %v (code %s), want %s", err, got, tc.code)
			}
			if *calls != 1 {
				t.Fatalf("%d calls with retries disabled", *calls)
			}
		})
	}

	t.Run("refund of too much", func(t *testing.T) {
		g, _ := stripeErrorServer(t, 400, `{"error":{"type":"invalid_request_error","code":"amount_too_large","param":"amount","message":"Refund amount ($60.00) is greater than unrefunded amount on charge ($50.00)"}}`)
		_, err := g.Refund(ctx, RefundRequest{ChargeID: "pi_1", Amount: 6000, IdempotencyKey: "r"})
		wantCode(t, err, billing.EINVALID, "greater than unrefunded")
	})
	t.Run("refund of a refunded charge", func(t *testing.T) {
		g, _ := stripeErrorServer(t, 400, `{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"Charge ch_1 has already been refunded."}}`)
		_, err := g.Refund(ctx, RefundRequest{ChargeID: "ch_1", Amount: 0, IdempotencyKey: "r"})
		wantCode(t, err, billing.EINVALID, "already been refunded")
	})
	t.Run("declined when saving", func(t *testing.T) {
		g, _ := stripeErrorServer(t, http.StatusPaymentRequired, cardError("card_declined", "generic_decline", "Your card was declined."))
		in, err := g.CreateSetupIntent(ctx, SetupIntentRequest{PaymentMethod: "pm_1", Customer: "cus_1"})
		if err != nil || in.Status != IntentRequiresPaymentMethod || in.FailureCode != FailureCardDeclined || in.FailureMessage != "Your card was declined." {
			t.Fatalf("declined setup = %+v, %v", in, err)
		}
	})
	t.Run("declined when confirming", func(t *testing.T) {
		g, _ := stripeErrorServer(t, http.StatusPaymentRequired, cardError("card_declined", "insufficient_funds", "Your card has insufficient funds."))
		in, err := g.ConfirmPaymentIntent(ctx, "pi_1", ConfirmRequest{ReturnURL: "https://pay.example.net/portal/pay/return"})
		if err != nil || in.Status != IntentRequiresPaymentMethod || in.FailureCode != FailureInsufficientFunds {
			t.Fatalf("declined confirmation = %+v, %v", in, err)
		}
	})
	t.Run("network failure", func(t *testing.T) {
		g, err := NewStripe(StripeConfig{APIKey: "sk_test_123", BaseURL: "http://127.0.0.1:1", MaxNetworkRetries: -1, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Charge(ctx, charge)
		if err == nil || billing.ErrorCode(err) != billing.EINTERNAL || !strings.Contains(err.Error(), "stripe: create payment intent") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestChargeFromIntent(t *testing.T) {
	tests := []struct {
		pi   stripe.PaymentIntent
		want Charge
	}{
		{stripe.PaymentIntent{ID: "pi_1", Status: stripe.PaymentIntentStatusSucceeded}, Charge{ID: "pi_1", Status: ChargeSucceeded}},
		{stripe.PaymentIntent{ID: "pi_2", Status: stripe.PaymentIntentStatusProcessing}, Charge{ID: "pi_2", Status: ChargePending}},
		{stripe.PaymentIntent{ID: "pi_3", Status: stripe.PaymentIntentStatusRequiresPaymentMethod,
			LastPaymentError: &stripe.Error{Type: stripe.ErrorTypeCard, Code: stripe.ErrorCodeCardDeclined, DeclineCode: stripe.DeclineCodeInsufficientFunds, Msg: "Your card has insufficient funds."}},
			Charge{ID: "pi_3", Status: ChargeFailed, FailureCode: FailureInsufficientFunds, FailureMessage: "Your card has insufficient funds."}},
		{stripe.PaymentIntent{ID: "pi_4", Status: stripe.PaymentIntentStatusRequiresPaymentMethod,
			LastPaymentError: &stripe.Error{Code: stripe.ErrorCodeAccountClosed, Msg: "closed"}},
			Charge{ID: "pi_4", Status: ChargeFailed, FailureCode: FailureAccountClosed, FailureMessage: "closed"}},
		{stripe.PaymentIntent{ID: "pi_5", Status: stripe.PaymentIntentStatusRequiresAction}, Charge{ID: "pi_5", Status: ChargeFailed, FailureCode: FailureAuthenticationRequired}},
		{stripe.PaymentIntent{ID: "pi_6", Status: stripe.PaymentIntentStatusCanceled}, Charge{ID: "pi_6", Status: ChargeFailed, FailureCode: FailureProcessingError}},
	}
	for _, tc := range tests {
		got := chargeFromIntent(&tc.pi)
		if tc.want.FailureCode == FailureAuthenticationRequired {
			tc.want.FailureMessage = got.FailureMessage
		}
		if got != tc.want {
			t.Errorf("%s %s: got %+v, want %+v", tc.pi.ID, tc.pi.Status, got, tc.want)
		}
	}
}

func TestNewStripeConfig(t *testing.T) {
	if _, err := NewStripe(StripeConfig{}); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("no key: %v", err)
	}
	if _, err := NewStripe(StripeConfig{APIKey: "pk_test_123"}); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("publishable key: %v", err)
	}
	g, err := NewStripe(StripeConfig{APIKey: "sk_test_123"})
	if err != nil || g.Name() != "stripe" {
		t.Fatalf("%v %v", g, err)
	}
}

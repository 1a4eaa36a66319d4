package payments

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// The intents' request shapes against stripe-mock: what the server sends
// to create, confirm and retrieve PaymentIntents and SetupIntents.
func TestStripeIntentRequests(t *testing.T) {
	g, rec := newStripeForMock(t, StripeConfig{})
	ctx := context.Background()

	pi, err := g.CreatePaymentIntent(ctx, PaymentIntentRequest{Amount: 6500, Currency: "USD", PaymentMethod: "pm_card_visa",
		Customer: "cus_123", Description: "Account A-1", SaveForLater: true, IdempotencyKey: "portal:1:k", AttemptID: "42"})
	if err != nil {
		t.Fatalf("CreatePaymentIntent: %v", err)
	}
	if !strings.HasPrefix(pi.ID, "pi_") || pi.ClientSecret == "" {
		t.Fatalf("intent = %+v", pi)
	}
	r := mustRequest(t, rec, http.MethodPost, "/v1/payment_intents")
	wantForm(t, r, map[string]string{"amount": "6500", "currency": "usd", "payment_method": "pm_card_visa", "customer": "cus_123",
		"setup_future_usage": "off_session", "metadata[tollgate_attempt_id]": "42", "description": "Account A-1",
		"payment_method_types[0]": "card", "payment_method_types[1]": "us_bank_account", "confirm": "", "off_session": ""})
	if got := r.Header.Get("Idempotency-Key"); got != "portal:1:k" {
		t.Errorf("Idempotency-Key = %q", got)
	}

	rec.reset()
	if _, err := g.ConfirmPaymentIntent(ctx, pi.ID, ConfirmRequest{ReturnURL: "https://pay.example.net/portal/pay/return", IdempotencyKey: "portal:1:k/confirm"}); err != nil {
		t.Fatalf("ConfirmPaymentIntent: %v", err)
	}
	r = mustRequest(t, rec, http.MethodPost, "/v1/payment_intents/"+pi.ID+"/confirm")
	wantForm(t, r, map[string]string{"return_url": "https://pay.example.net/portal/pay/return"})
	if got := r.Header.Get("Idempotency-Key"); got != "portal:1:k/confirm" {
		t.Errorf("confirm Idempotency-Key = %q", got)
	}

	rec.reset()
	if _, err := g.RetrieveIntent(ctx, pi.ID); err != nil {
		t.Fatalf("RetrieveIntent: %v", err)
	}
	r = mustRequest(t, rec, http.MethodGet, "/v1/payment_intents/"+pi.ID)
	if got := r.Form.Get("expand[0]"); got != "payment_method" {
		t.Errorf("retrieve expand = %q", got)
	}

	// A SetupIntent for a new customer: the customer first, then the
	// intent, confirmed at once for off-session use.
	rec.reset()
	si, err := g.CreateSetupIntent(ctx, SetupIntentRequest{AccountID: "7", PaymentMethod: "pm_usBankAccount",
		ReturnURL: "https://pay.example.net/portal/methods/return", IdempotencyKey: "portal-setup:7:k"})
	if err != nil {
		t.Fatalf("CreateSetupIntent: %v", err)
	}
	if !si.Setup || !strings.HasPrefix(si.ID, "seti_") || si.Customer == "" {
		t.Fatalf("setup intent = %+v", si)
	}
	r = mustRequest(t, rec, http.MethodPost, "/v1/customers")
	if got := r.Header.Get("Idempotency-Key"); got != "portal-setup:7:k/customer" {
		t.Errorf("customer Idempotency-Key = %q", got)
	}
	r = mustRequest(t, rec, http.MethodPost, "/v1/setup_intents")
	wantForm(t, r, map[string]string{"payment_method": "pm_usBankAccount", "usage": "off_session", "confirm": "true",
		"return_url": "https://pay.example.net/portal/methods/return", "metadata[tollgate_account_id]": "7",
		"payment_method_types[0]": "card", "payment_method_types[1]": "us_bank_account", "expand[0]": "payment_method"})
	if !strings.HasPrefix(r.Form.Get("customer"), "cus_") {
		t.Errorf("setup intent customer = %q", r.Form.Get("customer"))
	}

	rec.reset()
	if _, err := g.RetrieveIntent(ctx, si.ID); err != nil {
		t.Fatalf("RetrieveIntent(seti): %v", err)
	}
	mustRequest(t, rec, http.MethodGet, "/v1/setup_intents/"+si.ID)

	rec.reset()
	pm, err := g.RetrievePaymentMethod(ctx, "pm_123")
	if err != nil || pm.Token == "" || pm.Last4 == "" {
		t.Fatalf("RetrievePaymentMethod = %+v, %v", pm, err)
	}
	mustRequest(t, rec, http.MethodGet, "/v1/payment_methods/pm_123")

	// A card number where an id belongs goes nowhere.
	rec.reset()
	if _, err := g.RetrievePaymentMethod(ctx, "4242 4242 4242 4242"); err == nil || len(rec.requests()) != 0 {
		t.Fatalf("a card number as a method id: err %v, %d requests", err, len(rec.requests()))
	}
}

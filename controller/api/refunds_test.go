package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/payments"
)

// cardPayment puts a test card on account 1 and charges amount through the
// sandbox; it returns the payment's id and the gateway's charge id.
func cardPayment(t *testing.T, e *env, amount int64) (paymentID, chargeID string) {
	t.Helper()
	tok := tokenize(t, e, "pm_card_visa")
	body := fmt.Sprintf(`{"token":%q,"kind":"card","brand":"visa","last4":"4242","exp_month":12,"exp_year":2030}`, tok["token"])
	if r := e.do("POST", "/api/v1/accounts/1/payment-methods", billingToken, "m-"+fmt.Sprint(tok["token"]), body); r.status != 200 {
		t.Fatalf("add method: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/v1/accounts/1/gateway-payments", billingToken, "charge-"+fmt.Sprint(amount), fmt.Sprintf(`{"amount":%d}`, amount))
	if r.status != 200 || r.json(t)["status"] != "succeeded" {
		t.Fatalf("charge: %d %s", r.status, r.body)
	}
	paymentID = fmt.Sprint(r.json(t)["payment_id"])
	p := e.do("GET", "/api/v1/payments/"+paymentID, readerToken, "", "").json(t)
	return paymentID, p["gateway_charge"].(string)
}

// TestConcurrentRefundsReserveFirst: 40 concurrent USD 10 refunds (distinct
// keys) of a USD 100 card payment. The refund is reserved under the
// payment's lock before the gateway is called, so exactly 10 succeed; the
// sum the gateway was asked to refund (the sandbox's own log of every
// refund request it received) equals the ledger's refunds, and every
// refused request was refused before the gateway was called (the gateway
// saw exactly the 10 that succeeded). A memo with a NUL byte is refused
// with 422 before anything is reserved or sent. On the old code the
// gateway was called first: it refunded up to USD 100 while the journal
// recorded less, and a NUL memo was refunded at the gateway and then
// failed with 500.
func TestConcurrentRefundsReserveFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	ctx := context.Background()
	pid, chargeID := cardPayment(t, e, 10000)

	// Validation first: a NUL memo never reaches the gateway or the ledger.
	r := e.do("POST", "/api/v1/payments/"+pid+"/refund", billingToken, "nul", `{"amount":1000,"memo":"bad\u0000memo"}`)
	if r.status != 422 || !strings.Contains(string(r.body), "memo") {
		t.Fatalf("NUL memo: %d %s", r.status, r.body)
	}
	if n := len(e.sandbox.RefundLog()); n != 0 {
		t.Fatalf("the gateway was asked %d times for a refund the ledger refuses", n)
	}

	const clients = 40
	statuses := make([]int, clients)
	bodies := make([]string, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			r := e.do("POST", "/api/v1/payments/"+pid+"/refund", billingToken, fmt.Sprintf("refund-%d", i), `{"amount":1000,"memo":"goodwill"}`)
			statuses[i], bodies[i] = r.status, string(r.body)
		})
	}
	wg.Wait()
	ok := 0
	for i, s := range statuses {
		switch s {
		case 200:
			ok++
		case 422:
		default:
			t.Errorf("refund %d answered %d: %s", i, s, bodies[i])
		}
	}
	if ok != 10 {
		t.Errorf("%d refunds of 10.00 succeeded on a 100.00 payment, want 10", ok)
	}

	log := e.sandbox.RefundLog()
	var asked, made int64
	for _, a := range log {
		asked += a.Amount
		if a.Error == "" {
			made += a.Amount
		}
	}
	p, err := e.db.Payment(ctx, mustInt(t, pid))
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != ok {
		t.Errorf("the gateway received %d refund requests for %d successful refunds: a refused request reached the gateway", len(log), ok)
	}
	if asked != p.Refunded || made != p.Refunded || e.sandbox.Refunded(chargeID) != p.Refunded {
		t.Errorf("gateway asked %d, refunded %d (sandbox says %d); the ledger's refunds are %d", asked, made, e.sandbox.Refunded(chargeID), p.Refunded)
	}
	if p.Refunded != int64(ok)*1000 || p.RefundReserved != 0 {
		t.Errorf("payment refunded %d, reserved %d; want %d, 0", p.Refunded, p.RefundReserved, ok*1000)
	}
	if bal, _ := e.db.Balance(ctx, 1); bal != -10000+p.Refunded {
		t.Errorf("balance %d, want %d", bal, -10000+p.Refunded)
	}
	rs, err := e.db.Refunds(ctx, billing.RefundFilter{PaymentID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	completed := 0
	for _, r := range rs {
		if r.Status == billing.RefundCompleted {
			completed++
		}
		if r.Status == billing.RefundPending {
			t.Errorf("refund %d is still pending", r.ID)
		}
	}
	if completed != ok || len(rs) != ok {
		t.Errorf("%d refund rows (%d completed) for %d successful refunds", len(rs), completed, ok)
	}

	// A retry with a key that succeeded replays; nothing more is sent.
	if r := e.do("POST", "/api/v1/payments/"+pid+"/refund", billingToken, "refund-0", `{"amount":1000,"memo":"goodwill"}`); r.status != statuses[0] {
		t.Errorf("retry of refund-0: %d, first answer %d", r.status, statuses[0])
	}
	if n := len(e.sandbox.RefundLog()); n != ok {
		t.Errorf("a retry reached the gateway: %d requests", n)
	}
	// The refunds are listed through the API.
	if r := e.do("GET", "/api/v1/refunds?payment_id="+pid+"&status=completed", readerToken, "", ""); r.status != 200 ||
		len(r.json(t)["items"].([]any)) != ok {
		t.Errorf("list refunds: %d %s", r.status, r.body)
	}
}

// TestFlaggedRefundSettledByStaff: a refund the recovery job flagged (its
// key too old to re-send, nothing at the gateway) is listed as needing
// attention and is settled by staff through the API; a refund still being
// settled automatically cannot be settled by hand; a retry of the flagged
// refund's request never reaches the gateway.
func TestFlaggedRefundSettledByStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	ctx := context.Background()
	pid, _ := cardPayment(t, e, 10000)
	id := mustInt(t, pid)
	old := time.Now().Add(-24 * time.Hour)
	flagged, _, err := e.db.ReserveRefund(ctx, billing.RefundRequest{PaymentID: id, Amount: 3000, IdempotencyKey: "clerk:old-key"}, "clerk", old)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.FlagRefund(ctx, flagged.ID, "no refund with its id at the gateway"); err != nil {
		t.Fatal(err)
	}
	fresh, _, err := e.db.ReserveRefund(ctx, billing.RefundRequest{PaymentID: id, Amount: 1000, IdempotencyKey: "clerk:new-key"}, "clerk", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/v1/refunds?needs_attention=true", readerToken, "", "")
	items, _ := r.json(t)["items"].([]any)
	if r.status != 200 || len(items) != 1 || items[0].(map[string]any)["id"].(float64) != float64(flagged.ID) {
		t.Fatalf("refunds needing attention: %d %s", r.status, r.body)
	}
	// The client's retry with the old key is not sent to the gateway.
	if r := e.do("POST", "/api/v1/payments/"+pid+"/refund", billingToken, "old-key", `{"amount":3000}`); r.status != 503 {
		t.Fatalf("retry of the flagged refund: %d %s", r.status, r.body)
	}
	if n := len(e.sandbox.RefundLog()); n != 0 {
		t.Fatalf("a refund with an expired key reached the gateway (%d requests)", n)
	}
	settle := func(id int64, body string) response {
		return e.do("POST", fmt.Sprintf("/api/v1/refunds/%d/settle", id), billingToken, fmt.Sprintf("settle-%d-%d", id, len(body)), body)
	}
	if r := settle(fresh.ID, `{"outcome":"released"}`); r.status != 409 {
		t.Fatalf("settling a refund that is not flagged: %d %s", r.status, r.body)
	}
	if r := settle(flagged.ID, `{"outcome":"completed"}`); r.status != 422 {
		t.Fatalf("completing without the gateway's refund id: %d %s", r.status, r.body)
	}
	if r := settle(flagged.ID, `{"outcome":"released","reason":"not at Stripe"}`); r.status != 200 || r.json(t)["status"] != "released" {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	p, err := e.db.Payment(ctx, id)
	if err != nil || p.RefundReserved != 1000 || p.Refunded != 0 || p.Unallocated != 9000 {
		t.Fatalf("payment after the release: %+v %v", p, err)
	}
}

// TestWebhooksSettleWhatTheGatewaySettlesLater: an ACH debit the gateway
// reports processing is recorded as a processing attempt (not failed, as
// before: the money then arrived with no payment), and its charge.succeeded
// webhook posts the payment, once. A dispute that arrives while a refund of
// the payment is pending is answered non-2xx (409) and not remembered, so the
// gateway's redelivery reverses the payment once the refund is settled.
func TestWebhooksSettleWhatTheGatewaySettlesLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	ctx := context.Background()
	pid, chargeID := cardPayment(t, e, 10000)
	deliver := func(ev payments.Event) response {
		payload, sig := e.sandbox.SignedEvent(ev, webhookSecret, time.Now())
		return e.doHeader("POST", "/api/v1/webhooks/sandbox", string(payload), map[string]string{"Stripe-Signature": sig})
	}

	// A processing ACH attempt (as Stripe answers for a bank debit).
	a, _, err := e.db.BeginAttempt(ctx, billing.PaymentAttempt{AccountID: 1, PaymentMethodID: 1, Amount: 2500, Currency: "USD",
		Trigger: billing.TriggerPortal, Gateway: "sandbox", IdempotencyKey: "ach-1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a, err = e.db.FinishAttempt(ctx, a.ID, billing.PaymentAttempt{Status: "processing", ChargeID: "pi_ach_1"}, time.Now()); err != nil || a.Status != "processing" {
		t.Fatalf("processing attempt: %+v %v", a, err)
	}
	bal0, _ := e.db.Balance(ctx, 1)
	for i, want := range []string{`"settled":true`, `"duplicate":true`} {
		if r := deliver(payments.Event{ID: "evt_ach_1", Type: payments.EventChargeSucceeded, ChargeID: "pi_ach_1", Amount: 2500}); r.status != 200 ||
			!strings.Contains(string(r.body), want) {
			t.Fatalf("charge.succeeded delivery %d: %d %s", i+1, r.status, r.body)
		}
	}
	if bal, _ := e.db.Balance(ctx, 1); bal != bal0-2500 {
		t.Fatalf("balance %d after the ACH debit settled, want %d", bal, bal0-2500)
	}

	// A dispute while a refund is pending.
	id := mustInt(t, pid)
	rf, _, err := e.db.ReserveRefund(ctx, billing.RefundRequest{PaymentID: id, Amount: 1000, IdempotencyKey: "clerk:r-pending"}, "clerk", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dispute := payments.Event{ID: "evt_dispute_9", Type: payments.EventChargeDisputeCreated, ChargeID: chargeID, Amount: 10000}
	if r := deliver(dispute); r.status < 300 {
		t.Fatalf("dispute during a pending refund: %d %s", r.status, r.body)
	}
	if _, err := e.db.ReleaseRefund(ctx, rf.ID, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := deliver(dispute); r.status != 200 || !strings.Contains(string(r.body), `"reversed":true`) {
		t.Fatalf("redelivered dispute: %d %s", r.status, r.body)
	}
}

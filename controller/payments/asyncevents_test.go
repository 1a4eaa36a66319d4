package payments

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestNewsOfStripeEvents: each Stripe event body (as the webhook delivers
// it) reads as the news billing decides on, with the charge (the
// PaymentIntent), the attempt named in its metadata, an ACH return's code
// and a dashboard refund's missing tollgate_refund_id; events Tollgate
// does not act on, and a dispute closed neither won nor lost, are not news.
func TestNewsOfStripeEvents(t *testing.T) {
	for name, tc := range map[string]struct {
		body            string
		ok              bool
		kind            billing.GatewayEventKind
		charge, attempt string
		reason          string
		refunds         int
	}{
		"processing": {`{"id":"evt_1","type":"payment_intent.processing","created":1700000000,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":5000,"status":"processing","metadata":{"tollgate_attempt_id":"7"}}}}`,
			true, billing.GatewayProcessing, "pi_1", "7", "", 0},
		"intent failed": {`{"id":"evt_2","type":"payment_intent.payment_failed","created":1700000000,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":5000,"last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","message":"no"}}}}`,
			true, billing.GatewayFailed, "pi_1", "", "insufficient_funds", 0},
		"ACH return": {`{"id":"evt_3","type":"charge.failed","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge","amount":5000,"payment_intent":"pi_1","failure_code":"R01"}}}`,
			true, billing.GatewayReturned, "pi_1", "", "R01", 0},
		"dispute won": {`{"id":"evt_4","type":"charge.dispute.closed","created":1700000000,"data":{"object":{"id":"dp_1","object":"dispute","amount":5000,"charge":"ch_1","payment_intent":"pi_1","status":"won"}}}`,
			true, billing.GatewayDisputeWon, "pi_1", "", "", 0},
		"dispute under review": {`{"id":"evt_5","type":"charge.dispute.closed","created":1700000000,"data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1","status":"warning_closed"}}}`,
			false, "", "ch_1", "", "", 0},
		"dashboard refund": {`{"id":"evt_6","type":"charge.refunded","created":1700000000,"data":{"object":{"id":"ch_1","object":"charge","amount":5000,"amount_refunded":700,"payment_intent":"pi_1","refunds":{"data":[{"id":"re_1","amount":200,"status":"succeeded","metadata":{"tollgate_refund_id":"4"}},{"id":"re_2","amount":500,"status":"succeeded","metadata":{}}]}}}}`,
			true, billing.GatewayRefunded, "pi_1", "", "", 2},
		"not acted on": {`{"id":"evt_7","type":"customer.created","created":1700000000,"data":{"object":{"id":"cus_1","object":"customer"}}}`,
			false, "", "cus_1", "", "", 0},
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := decodeEvent([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			news, ok := NewsOf(ev)
			if ok != tc.ok || news.Kind != tc.kind || ev.ChargeID != tc.charge || ev.AttemptID != tc.attempt || news.Reason != tc.reason ||
				len(news.Refunds) != tc.refunds || !news.At.Equal(time.Unix(1700000000, 0)) {
				t.Fatalf("event %+v: news %+v %v", ev, news, ok)
			}
			if tc.refunds > 0 && (news.Refunds[0].TollgateRefundID != "4" || news.Refunds[1].TollgateRefundID != "" || !news.Refunds[1].Settled ||
				news.Amount != 700) {
				t.Fatalf("refunds %+v", news.Refunds)
			}
		})
	}
}

// TestNewsOfIntent: a retrieved intent settles its attempt when it
// succeeded, is processing, was cancelled or reports a failed try; one
// awaiting confirmation or authentication settles nothing yet.
func TestNewsOfIntent(t *testing.T) {
	for status, want := range map[string]billing.GatewayEventKind{
		"succeeded": billing.GatewaySucceeded, "processing": billing.GatewayProcessing, "canceled": billing.GatewayFailed,
		"requires_payment_method": "", "requires_action": "", "requires_confirmation": "",
	} {
		news, ok := NewsOfIntent(PaymentIntent{ID: "pi_1", Status: status})
		if ok != (want != "") || news.Kind != want {
			t.Errorf("%s: %+v %v, want %q", status, news, ok, want)
		}
	}
	if news, ok := NewsOfIntent(PaymentIntent{Status: "requires_payment_method", FailureCode: "R01"}); !ok || news.Kind != billing.GatewayFailed || news.Reason != "R01" {
		t.Errorf("a failed try: %+v %v", news, ok)
	}
}

// TestStripeRetrievePaymentIntent: the Stripe adapter retrieves an intent
// with GET /v1/payment_intents/{id} (stripe-mock checks the request's
// shape) and refuses an id that is not an intent's before any call; the
// sandbox answers for its own charges.
func TestStripeRetrievePaymentIntent(t *testing.T) {
	g, rec := newStripeForMock(t, StripeConfig{})
	ctx := context.Background()
	pi, err := g.RetrievePaymentIntent(ctx, "pi_123")
	if err != nil || pi.ID == "" || pi.Status == "" {
		t.Fatalf("retrieve: %+v %v", pi, err)
	}
	mustRequest(t, rec, http.MethodGet, "/v1/payment_intents/pi_123")
	if _, err := g.RetrievePaymentIntent(ctx, "ch_123"); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("a charge id: %v", err)
	}

	sb := NewSandbox()
	pm, err := sb.Tokenize(ctx, CardInput{Number: "4000 0000 0000 9995", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sb.Charge(ctx, ChargeRequest{Token: pm.Token, Amount: 500, Currency: "USD", IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sb.RetrievePaymentIntent(ctx, ch.ID)
	if err != nil || got.Status != "requires_payment_method" || got.FailureCode != FailureInsufficientFunds || got.Amount != 500 {
		t.Fatalf("sandbox: %+v %v", got, err)
	}
	if _, err := sb.RetrievePaymentIntent(ctx, "ch_sandbox_none"); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("unknown: %v", err)
	}
}

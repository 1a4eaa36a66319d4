package payments

import (
	"errors"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
)

var (
	whNow    = time.Date(2026, time.November, 3, 10, 0, 0, 0, time.UTC)
	whSecret = "whsec_current_0123456789abcdef"
	whOld    = "whsec_previous_fedcba9876543210"
)

func TestDecodeEvent(t *testing.T) {
	created := time.Unix(1793700000, 0).UTC()
	tests := []struct {
		name    string
		body    string
		want    Event
		wantErr bool
	}{
		{"charge with a payment intent", `{"id":"evt_1","object":"event","api_version":"2026-03-25.dahlia","type":"charge.succeeded","created":1793700000,
			"data":{"object":{"id":"ch_3","object":"charge","amount":4999,"amount_refunded":0,"currency":"usd","payment_intent":"pi_3","status":"succeeded"}},
			"livemode":false,"pending_webhooks":1,"request":{"id":"req_1","idempotency_key":"k"}}`,
			Event{ID: "evt_1", Type: EventChargeSucceeded, ChargeID: "pi_3", Amount: 4999, Created: created}, false},
		{"legacy charge without a payment intent", `{"id":"evt_2","type":"charge.failed","created":1793700000,"data":{"object":{"id":"ch_4","object":"charge","amount":100,"payment_intent":null}}}`,
			Event{ID: "evt_2", Type: EventChargeFailed, ChargeID: "ch_4", Amount: 100, Created: created}, false},
		{"refund: amount refunded so far", `{"id":"evt_3","type":"charge.refunded","created":1793700000,"data":{"object":{"id":"ch_5","object":"charge","amount":5000,"amount_refunded":1500,"payment_intent":"pi_5"}}}`,
			Event{ID: "evt_3", Type: EventChargeRefunded, ChargeID: "pi_5", Amount: 1500, Created: created}, false},
		{"dispute", `{"id":"evt_4","type":"charge.dispute.created","created":1793700000,"data":{"object":{"id":"dp_1","object":"dispute","amount":5000,"charge":"ch_6","payment_intent":"pi_6","reason":"fraudulent"}}}`,
			Event{ID: "evt_4", Type: EventChargeDisputeCreated, ChargeID: "pi_6", Amount: 5000, Created: created}, false},
		{"dispute without a payment intent", `{"id":"evt_5","type":"charge.dispute.created","created":1793700000,"data":{"object":{"id":"dp_2","object":"dispute","amount":700,"charge":"ch_7"}}}`,
			Event{ID: "evt_5", Type: EventChargeDisputeCreated, ChargeID: "ch_7", Amount: 700, Created: created}, false},
		{"expanded payment intent", `{"id":"evt_6","type":"charge.succeeded","created":1793700000,"data":{"object":{"id":"ch_8","object":"charge","amount":1,"payment_intent":{"id":"pi_8","object":"payment_intent"}}}}`,
			Event{ID: "evt_6", Type: EventChargeSucceeded, ChargeID: "pi_8", Amount: 1, Created: created}, false},
		{"not JSON", `id=evt_1`, Event{}, true},
		{"no id", `{"type":"charge.succeeded","created":1793700000,"data":{"object":{"id":"ch_1"}}}`, Event{}, true},
		{"no data.object", `{"id":"evt_7","type":"charge.succeeded","created":1793700000,"data":{}}`, Event{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeEvent([]byte(tc.body))
			if tc.wantErr {
				if billing.ErrorCode(err) != billing.EINVALID {
					t.Fatalf("error = %v, want EINVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// Both gateways verify through the same code: a delivery that one accepts
// the other (configured with the same secrets) accepts too.
func TestParseWebhookBothGateways(t *testing.T) {
	sb := NewSandbox(whSecret, whOld)
	st, err := NewStripe(StripeConfig{APIKey: "sk_test_123", WebhookSecrets: []string{whSecret, whOld}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []Gateway{sb, st} {
		t.Run(g.Name(), func(t *testing.T) {
			for _, secret := range []string{whSecret, whOld} {
				body, header := sb.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: "ch_sandbox_1", Amount: 2500}, secret, whNow)
				ev, err := g.ParseWebhook(body, header, whNow)
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				if ev.Type != EventChargeSucceeded || ev.ChargeID != "ch_sandbox_1" || ev.Amount != 2500 || !ev.Created.Equal(whNow) {
					t.Fatalf("event = %+v", ev)
				}
			}
			body, header := sb.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: "ch_1", Amount: 1}, "whsec_nope", whNow)
			if _, err := g.ParseWebhook(body, header, whNow); !errors.Is(err, webhooksig.ErrMismatch) {
				t.Fatalf("foreign secret: %v", err)
			}
			if _, err := g.ParseWebhook(body, "", whNow); !errors.Is(err, webhooksig.ErrMissing) {
				t.Fatalf("no header: %v", err)
			}
			body, header = sb.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: "ch_1", Amount: 1}, whSecret, whNow.Add(-301*time.Second))
			if _, err := g.ParseWebhook(body, header, whNow); !errors.Is(err, webhooksig.ErrTimestamp) {
				t.Fatalf("stale: %v", err)
			}
			// A verified body that is not an event.
			junk := []byte(`{"hello":"world"}`)
			if _, err := g.ParseWebhook(junk, webhooksig.SignStripe(junk, whSecret, whNow), whNow); billing.ErrorCode(err) != billing.EINVALID {
				t.Fatalf("verified non-event: %v", err)
			}
		})
	}
	unconfigured := NewSandbox()
	body, header := sb.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: "ch_1", Amount: 1}, whSecret, whNow)
	if _, err := unconfigured.ParseWebhook(body, header, whNow); !errors.Is(err, webhooksig.ErrNoSecret) {
		t.Fatalf("sandbox without secrets: %v", err)
	}
}

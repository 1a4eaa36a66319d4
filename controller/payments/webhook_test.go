package payments

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

var (
	whNow     = time.Date(2026, time.November, 3, 10, 0, 0, 0, time.UTC)
	whSecret  = "whsec_current_0123456789abcdef"
	whOld     = "whsec_previous_fedcba9876543210"
	whPayload = []byte(`{"id":"evt_1","object":"event","type":"charge.succeeded","created":1793700000,"data":{"object":{"id":"ch_1","object":"charge","amount":4999}}}`)
)

// v1 returns just the hex signature of payload signed with secret at t.
func v1(payload []byte, secret string, t time.Time) string {
	h := Sign(payload, secret, t)
	return h[strings.Index(h, "v1=")+3:]
}

func TestVerifySignature(t *testing.T) {
	ts := strconv.FormatInt(whNow.Unix(), 10)
	tests := []struct {
		name    string
		payload []byte
		header  string
		secrets []string
		want    error // nil: accepted
	}{
		{"valid", whPayload, Sign(whPayload, whSecret, whNow), []string{whSecret}, nil},
		{"rotation: signed with the new secret", whPayload, Sign(whPayload, whSecret, whNow), []string{whSecret, whOld}, nil},
		{"rotation: signed with the old secret", whPayload, Sign(whPayload, whOld, whNow), []string{whSecret, whOld}, nil},
		{"rotation: both signatures in one header", whPayload,
			"t=" + ts + ",v1=" + v1(whPayload, whSecret, whNow) + ",v1=" + v1(whPayload, whOld, whNow), []string{whOld}, nil},
		{"multiple v1, the second one right", whPayload,
			"t=" + ts + ",v1=" + v1(whPayload, "whsec_other", whNow) + ",v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, nil},
		{"multiple v1, none right", whPayload,
			"t=" + ts + ",v1=" + v1(whPayload, "whsec_a", whNow) + ",v1=" + v1(whPayload, "whsec_b", whNow), []string{whSecret}, ErrSignatureMismatch},
		{"v0 scheme ignored", whPayload,
			"t=" + ts + ",v1=" + v1(whPayload, whSecret, whNow) + ",v0=" + strings.Repeat("0", 64), []string{whSecret}, nil},
		{"spaces around parts", whPayload, "t=" + ts + ", v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, nil},
		{"wrong secret", whPayload, Sign(whPayload, "whsec_wrong", whNow), []string{whSecret}, ErrSignatureMismatch},
		{"old secret after rotation ended", whPayload, Sign(whPayload, whOld, whNow), []string{whSecret}, ErrSignatureMismatch},
		{"tampered body", []byte(strings.Replace(string(whPayload), "4999", "9999", 1)), Sign(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMismatch},
		{"body with a trailing newline", append(append([]byte(nil), whPayload...), '\n'), Sign(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMismatch},
		{"timestamp changed after signing", whPayload,
			"t=" + strconv.FormatInt(whNow.Unix()+1, 10) + ",v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMismatch},
		{"300 s old", whPayload, Sign(whPayload, whSecret, whNow.Add(-300*time.Second)), []string{whSecret}, nil},
		{"301 s old", whPayload, Sign(whPayload, whSecret, whNow.Add(-301*time.Second)), []string{whSecret}, ErrSignatureTimestamp},
		{"300 s in the future", whPayload, Sign(whPayload, whSecret, whNow.Add(300*time.Second)), []string{whSecret}, nil},
		{"301 s in the future", whPayload, Sign(whPayload, whSecret, whNow.Add(301*time.Second)), []string{whSecret}, ErrSignatureTimestamp},
		{"a year old", whPayload, Sign(whPayload, whSecret, whNow.AddDate(-1, 0, 0)), []string{whSecret}, ErrSignatureTimestamp},
		{"timestamp at the epoch", whPayload, Sign(whPayload, whSecret, time.Unix(0, 0)), []string{whSecret}, ErrSignatureTimestamp},
		{"missing header", whPayload, "", []string{whSecret}, ErrSignatureMissing},
		{"blank header", whPayload, "   ", []string{whSecret}, ErrSignatureMissing},
		{"malformed: no key=value", whPayload, "garbage", []string{whSecret}, ErrSignatureMalformed},
		{"malformed: no timestamp", whPayload, "v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMalformed},
		{"malformed: no v1", whPayload, "t=" + ts, []string{whSecret}, ErrSignatureMalformed},
		{"malformed: only v0", whPayload, "t=" + ts + ",v0=" + v1(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMalformed},
		{"malformed: timestamp not a number", whPayload, "t=yesterday,v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMalformed},
		{"malformed: empty timestamp", whPayload, "t=,v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMalformed},
		{"malformed: two timestamps", whPayload, "t=" + ts + ",t=" + ts + ",v1=" + v1(whPayload, whSecret, whNow), []string{whSecret}, ErrSignatureMalformed},
		{"malformed: v1 not hex", whPayload, "t=" + ts + ",v1=" + strings.Repeat("zz", 32), []string{whSecret}, ErrSignatureMalformed},
		{"malformed: v1 too short", whPayload, "t=" + ts + ",v1=abcd", []string{whSecret}, ErrSignatureMalformed},
		{"malformed: trailing comma", whPayload, Sign(whPayload, whSecret, whNow) + ",", []string{whSecret}, ErrSignatureMalformed},
		{"no secret configured", whPayload, Sign(whPayload, whSecret, whNow), nil, ErrNoWebhookSecret},
		{"only empty secrets configured", whPayload, Sign(whPayload, "", whNow), []string{"", ""}, ErrNoWebhookSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(tc.payload, tc.header, tc.secrets, whNow, DefaultTolerance)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifySignature: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			wantCode := billing.EUNAUTHORIZED
			if tc.want == ErrNoWebhookSecret {
				wantCode = billing.EINTERNAL
			}
			if code := billing.ErrorCode(err); code != wantCode {
				t.Fatalf("code = %s, want %s", code, wantCode)
			}
			if msg := billing.ErrorMessage(err); msg == "" || msg == "internal error" || msg != err.Error() {
				t.Fatalf("message %q is not a clear message (Error() = %q)", msg, err.Error())
			}
		})
	}
}

func TestVerifySignatureTolerance(t *testing.T) {
	h := Sign(whPayload, whSecret, whNow.Add(-90*time.Second))
	if err := VerifySignature(whPayload, h, []string{whSecret}, whNow, time.Minute); !errors.Is(err, ErrSignatureTimestamp) {
		t.Fatalf("90 s old with a 60 s tolerance: %v", err)
	}
	if err := VerifySignature(whPayload, h, []string{whSecret}, whNow, 0); err != nil {
		t.Fatalf("tolerance 0 means the default: %v", err)
	}
	err := VerifySignature(whPayload, Sign(whPayload, whSecret, whNow.Add(-301*time.Second)), []string{whSecret}, whNow, 0)
	if err == nil || !strings.Contains(err.Error(), "5m1s old") {
		t.Fatalf("error should say how old the timestamp is: %v", err)
	}
	err = VerifySignature(whPayload, Sign(whPayload, whSecret, whNow.Add(301*time.Second)), []string{whSecret}, whNow, 0)
	if err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Fatalf("error should say the timestamp is in the future: %v", err)
	}
}

// Our Sign and VerifySignature speak Stripe's scheme: stripe-go's own
// implementation accepts what we sign and we accept what it signs.
func TestSignatureInteroperatesWithStripeGo(t *testing.T) {
	now := time.Now()
	if err := webhook.ValidatePayloadWithTolerance(whPayload, Sign(whPayload, whSecret, now), whSecret, DefaultTolerance); err != nil {
		t.Fatalf("stripe-go rejects our signature: %v", err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: whPayload, Secret: whSecret, Timestamp: now})
	if err := VerifySignature(whPayload, signed.Header, []string{whSecret}, now, DefaultTolerance); err != nil {
		t.Fatalf("we reject stripe-go's signature %q: %v", signed.Header, err)
	}
}

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
			if _, err := g.ParseWebhook(body, header, whNow); !errors.Is(err, ErrSignatureMismatch) {
				t.Fatalf("foreign secret: %v", err)
			}
			if _, err := g.ParseWebhook(body, "", whNow); !errors.Is(err, ErrSignatureMissing) {
				t.Fatalf("no header: %v", err)
			}
			body, header = sb.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: "ch_1", Amount: 1}, whSecret, whNow.Add(-301*time.Second))
			if _, err := g.ParseWebhook(body, header, whNow); !errors.Is(err, ErrSignatureTimestamp) {
				t.Fatalf("stale: %v", err)
			}
			// A verified body that is not an event.
			junk := []byte(`{"hello":"world"}`)
			if _, err := g.ParseWebhook(junk, Sign(junk, whSecret, whNow), whNow); billing.ErrorCode(err) != billing.EINVALID {
				t.Fatalf("verified non-event: %v", err)
			}
		})
	}
	unconfigured := NewSandbox()
	body, header := sb.SignedEvent(Event{Type: EventChargeSucceeded, ChargeID: "ch_1", Amount: 1}, whSecret, whNow)
	if _, err := unconfigured.ParseWebhook(body, header, whNow); !errors.Is(err, ErrNoWebhookSecret) {
		t.Fatalf("sandbox without secrets: %v", err)
	}
}

package payments

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// DefaultTolerance is how far a webhook's signed timestamp may be from now,
// in either direction, before the delivery is refused as a possible replay
// (Stripe's default).
const DefaultTolerance = 300 * time.Second

// SignatureHeader is the HTTP header that carries a webhook's signature.
const SignatureHeader = "Stripe-Signature"

// Sentinels for the ways a webhook signature check fails; match them with
// errors.Is. The errors VerifySignature returns also carry a [billing.Code]
// (EUNAUTHORIZED, or EINTERNAL for ErrNoWebhookSecret) and a message for
// people.
var (
	ErrSignatureMissing   = errors.New("webhook signature header is missing")
	ErrSignatureMalformed = errors.New("webhook signature header is malformed")
	ErrSignatureMismatch  = errors.New("webhook signature does not match")
	ErrSignatureTimestamp = errors.New("webhook signature timestamp is outside the tolerance")
	ErrNoWebhookSecret    = errors.New("no webhook signing secret is configured")
)

// signatureError is both a sentinel (errors.Is) and a *billing.Error
// (billing.ErrorCode, billing.ErrorMessage).
type signatureError struct {
	sentinel error
	coded    *billing.Error
}

func (e *signatureError) Error() string   { return e.coded.Message }
func (e *signatureError) Unwrap() []error { return []error{e.sentinel, e.coded} }

func sigErr(sentinel error, code billing.Code, format string, args ...any) error {
	return &signatureError{sentinel: sentinel, coded: billing.Errorf(code, format, args...)}
}

// Sign returns a Stripe-Signature header value for payload signed with
// secret at time t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">".
func Sign(payload []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(signature(payload, secret, ts))
}

func signature(payload []byte, secret, ts string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(payload)
	return mac.Sum(nil)
}

// VerifySignature checks a Stripe-Signature header against the raw request
// body. The header is a comma-separated list of key=value pairs: exactly one
// t (Unix seconds) and one or more v1 (hex HMAC-SHA256 over t + "." +
// payload); other schemes (v0) are ignored. The delivery is accepted when
// any v1 matches any of secrets (several during rotation), compared in
// constant time, and t is within tolerance of now in either direction
// (tolerance <= 0 means [DefaultTolerance]). The signature is checked
// before the timestamp, so a forged header learns nothing about the clock.
func VerifySignature(payload []byte, header string, secrets []string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var keys []string
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return sigErr(ErrNoWebhookSecret, billing.EINTERNAL, "no webhook signing secret is configured")
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return sigErr(ErrSignatureMissing, billing.EUNAUTHORIZED, "webhook %s header is missing", SignatureHeader)
	}

	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sigErr(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s header is malformed: %q is not key=value", SignatureHeader, clip(part))
		}
		switch k {
		case "t":
			if ts != "" {
				return sigErr(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s header is malformed: more than one timestamp", SignatureHeader)
			}
			if _, err := strconv.ParseInt(v, 10, 64); err != nil || v == "" {
				return sigErr(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s header is malformed: timestamp %q is not Unix seconds", SignatureHeader, clip(v))
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return sigErr(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s header is malformed: v1 signature is not 64 hex digits", SignatureHeader)
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return sigErr(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s header is malformed: no timestamp (t=)", SignatureHeader)
	}
	if len(sigs) == 0 {
		return sigErr(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s header is malformed: no v1 signature", SignatureHeader)
	}

	matched := false
	for _, key := range keys {
		want := signature(payload, key, ts)
		for _, sig := range sigs {
			// No early exit: every comparison runs, in constant time.
			if hmac.Equal(want, sig) {
				matched = true
			}
		}
	}
	if !matched {
		return sigErr(ErrSignatureMismatch, billing.EUNAUTHORIZED, "webhook signature does not match any configured signing secret")
	}

	t, _ := strconv.ParseInt(ts, 10, 64)
	tol := int64(tolerance / time.Second)
	n := now.Unix() // a real clock: n±tol cannot overflow
	if t < n-tol {
		return sigErr(ErrSignatureTimestamp, billing.EUNAUTHORIZED, "webhook signature timestamp is %s old, more than the %s tolerance", age(n, t), tolerance)
	}
	if t > n+tol {
		return sigErr(ErrSignatureTimestamp, billing.EUNAUTHORIZED, "webhook signature timestamp is %s in the future, more than the %s tolerance", age(t, n), tolerance)
	}
	return nil
}

func age(later, earlier int64) string {
	d := later - earlier
	if d < 0 || d > int64(math.MaxInt64/time.Second) {
		return "too far"
	}
	return (time.Duration(d) * time.Second).String()
}

// clip shortens attacker-controlled text quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// wireEvent is the Stripe event shape, as far as Tollgate reads it.
type wireEvent struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object *wireObject `json:"object"`
	} `json:"data"`
}

// wireObject is data.object: a charge, or a dispute for charge.dispute.*.
type wireObject struct {
	ID             string          `json:"id"`
	Object         string          `json:"object"`
	Amount         int64           `json:"amount"`
	AmountRefunded int64           `json:"amount_refunded,omitempty"`
	Currency       string          `json:"currency,omitempty"`
	Charge         json.RawMessage `json:"charge,omitempty"`
	PaymentIntent  json.RawMessage `json:"payment_intent,omitempty"`
}

// expandableID reads a Stripe field that is either an id string or an
// expanded object with an id.
func expandableID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.ID
	}
	return ""
}

// decodeEvent reads a verified webhook body. ChargeID is the PaymentIntent
// when the object has one (that is what the Stripe adapter returns as
// Charge.ID), else the charge: the object's own id, or a dispute's charge.
func decodeEvent(payload []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(payload, &w); err != nil {
		return Event{}, billing.Errorf(billing.EINVALID, "webhook body is not a JSON event: %v", err)
	}
	if w.ID == "" || w.Type == "" || w.Created == 0 || w.Data.Object == nil {
		return Event{}, billing.Errorf(billing.EINVALID, "webhook event lacks id, type, created or data.object")
	}
	o := w.Data.Object
	ev := Event{ID: w.ID, Type: w.Type, Created: time.Unix(w.Created, 0).UTC(), Amount: o.Amount}
	if w.Type == EventChargeRefunded {
		ev.Amount = o.AmountRefunded
	}
	switch {
	case expandableID(o.PaymentIntent) != "":
		ev.ChargeID = expandableID(o.PaymentIntent)
	case o.Object == "dispute" || expandableID(o.Charge) != "":
		ev.ChargeID = expandableID(o.Charge)
	default:
		ev.ChargeID = o.ID
	}
	return ev, nil
}

// encodeEvent writes ev in the Stripe event shape (what decodeEvent reads).
// The sandbox's charges have no PaymentIntent, so data.object is the charge
// itself, or a dispute naming it.
func encodeEvent(ev Event, disputeID string) []byte {
	var w wireEvent
	w.ID, w.Object, w.Type, w.Created = ev.ID, "event", ev.Type, ev.Created.Unix()
	o := &wireObject{ID: ev.ChargeID, Object: "charge", Amount: ev.Amount}
	switch ev.Type {
	case EventChargeRefunded:
		o.AmountRefunded = ev.Amount
	case EventChargeDisputeCreated:
		chargeID, _ := json.Marshal(ev.ChargeID)
		o = &wireObject{ID: disputeID, Object: "dispute", Amount: ev.Amount, Charge: chargeID}
	}
	w.Data.Object = o
	b, err := json.Marshal(w)
	if err != nil {
		panic("payments: encoding an event: " + err.Error()) // only strings and integers: cannot fail
	}
	return b
}

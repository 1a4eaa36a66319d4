package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Webhook signature headers, as Lob sends them.
const (
	// SignatureHeader carries the hex HMAC-SHA256 of timestamp + "." +
	// body, keyed with the webhook secret.
	SignatureHeader = "Lob-Signature"
	// TimestampHeader carries the signed timestamp (Unix milliseconds;
	// seconds are accepted too).
	TimestampHeader = "Lob-Signature-Timestamp"
)

// DefaultWebhookTolerance is how far a webhook's signed timestamp may be
// from now, either way, before it is refused as a possible replay.
const DefaultWebhookTolerance = 5 * time.Minute

// Sentinels for the ways a webhook signature check fails (errors.Is). The
// errors VerifyWebhook returns are also *billing.Error with code
// EUNAUTHORIZED, or EINTERNAL for ErrNoWebhookSecret.
var (
	ErrSignatureMissing   = errors.New("webhook signature or timestamp header is missing")
	ErrSignatureMalformed = errors.New("webhook signature header is malformed")
	ErrSignatureMismatch  = errors.New("webhook signature does not match")
	ErrSignatureTimestamp = errors.New("webhook timestamp is outside the tolerance")
	ErrNoWebhookSecret    = errors.New("no webhook signing secret is configured")
)

type sigError struct {
	sentinel error
	coded    *billing.Error
}

func (e *sigError) Error() string   { return e.coded.Message }
func (e *sigError) Unwrap() []error { return []error{e.sentinel, e.coded} }

func newSigError(sentinel error, code billing.Code, format string, args ...any) error {
	return &sigError{sentinel: sentinel, coded: billing.Errorf(code, format, args...)}
}

// SignWebhook signs body as the vendor does at t: the values of the
// Lob-Signature and Lob-Signature-Timestamp headers (timestamp in Unix
// milliseconds).
func SignWebhook(body []byte, secret string, t time.Time) (signature, timestamp string) {
	timestamp = strconv.FormatInt(t.UnixMilli(), 10)
	return hex.EncodeToString(mac(body, secret, timestamp)), timestamp
}

func mac(body []byte, secret, timestamp string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhook checks a status webhook's signature against the raw body:
// the Lob-Signature header must be the hex HMAC-SHA256, under any of
// secrets (several during a rotation), of the Lob-Signature-Timestamp header
// + "." + body, compared in constant time; the timestamp (Unix milliseconds
// or seconds) must be within tolerance of now either way (tolerance <= 0:
// [DefaultWebhookTolerance]). The signature is checked before the
// timestamp, so a forged request learns nothing about the clock.
func VerifyWebhook(body []byte, signature, timestamp string, secrets []string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	var keys []string
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return newSigError(ErrNoWebhookSecret, billing.EINTERNAL, "no print-mail webhook signing secret is configured")
	}
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return newSigError(ErrSignatureMissing, billing.EUNAUTHORIZED, "webhook %s or %s header is missing", SignatureHeader, TimestampHeader)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts <= 0 {
		return newSigError(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s %q is not a Unix timestamp", TimestampHeader, clip(timestamp, 40))
	}
	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size {
		return newSigError(ErrSignatureMalformed, billing.EUNAUTHORIZED, "webhook %s is not 64 hex digits", SignatureHeader)
	}
	matched := false
	for _, k := range keys {
		// Every key is tried, in constant time.
		if hmac.Equal(mac(body, k, timestamp), sig) {
			matched = true
		}
	}
	if !matched {
		return newSigError(ErrSignatureMismatch, billing.EUNAUTHORIZED, "webhook signature does not match any configured signing secret")
	}
	at := timeFromMillisOrSeconds(ts)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return newSigError(ErrSignatureTimestamp, billing.EUNAUTHORIZED, "webhook timestamp %s is more than %s from now", at.UTC().Format(time.RFC3339), tolerance)
	}
	return nil
}

// Event is the vendor's webhook event, as far as Tollgate reads it.
type Event struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	ReferenceID string `json:"reference_id"`
	DateCreated string `json:"date_created"`
	EventType   struct {
		ID       string `json:"id"`
		Resource string `json:"resource"`
	} `json:"event_type"`
	Body struct {
		ID       string            `json:"id"`
		Metadata map[string]string `json:"metadata"`
	} `json:"body"`
}

// Letter metadata keys Tollgate sets, which come back in events.
const (
	MetaDeliveryID     = "tollgate_delivery_id"
	MetaIdempotencyKey = "tollgate_key"
	MetaInvoice        = "invoice"
)

// Letter event types and what they mean for a delivery: the USPS has the
// letter (mailed, and every tracking event after it), or it came back.
var letterEventStatus = map[string]billing.DeliveryStatus{
	"letter.mailed":                 billing.DeliveryMailed,
	"letter.in_transit":             billing.DeliveryMailed,
	"letter.in_local_area":          billing.DeliveryMailed,
	"letter.processed_for_delivery": billing.DeliveryMailed,
	"letter.re-routed":              billing.DeliveryMailed,
	"letter.delivered":              billing.DeliveryMailed,
	"letter.returned_to_sender":     billing.DeliveryReturned,
}

// ParseLetterEvent reads a verified webhook body. The event's letter is
// body.id (or reference_id); the delivery and idempotency key come from the
// letter's metadata. ok is false for events that are not about letters
// (they are acknowledged and ignored). EINVALID if the body is not an event.
func ParseLetterEvent(body []byte) (ev billing.LetterEvent, key string, ok bool, err error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return ev, "", false, billing.Errorf(billing.EINVALID, "webhook body is not a JSON event: %v", err)
	}
	if e.ID == "" || e.EventType.ID == "" {
		return ev, "", false, billing.Errorf(billing.EINVALID, "webhook event lacks id or event_type.id")
	}
	ev = billing.LetterEvent{ID: e.ID, Type: e.EventType.ID, LetterID: e.Body.ID, Status: letterEventStatus[e.EventType.ID]}
	if ev.LetterID == "" {
		ev.LetterID = e.ReferenceID
	}
	if t, err := time.Parse(time.RFC3339Nano, e.DateCreated); err == nil {
		ev.At = t
	}
	if !strings.HasPrefix(ev.Type, "letter.") || ev.LetterID == "" {
		return ev, "", false, nil
	}
	ev.DeliveryID, _ = strconv.ParseInt(e.Body.Metadata[MetaDeliveryID], 10, 64)
	return ev, e.Body.Metadata[MetaIdempotencyKey], true, nil
}

package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// DefaultTolerance is how far a delivery's signed timestamp may be from now,
// in either direction, before it is refused as a possible replay (Stripe's
// default, and Lob's).
const DefaultTolerance = 300 * time.Second

// The vendors' signature headers.
const (
	// StripeHeader carries "t=<Unix seconds>,v1=<hex signature>"; more than
	// one v1 during the sender's own secret rotation.
	StripeHeader = "Stripe-Signature"
	// LobSignatureHeader carries the hex signature.
	LobSignatureHeader = "Lob-Signature"
	// LobTimestampHeader carries the signed timestamp (Unix milliseconds;
	// seconds are accepted too).
	LobTimestampHeader = "Lob-Signature-Timestamp"
)

// Sentinels for the ways a check fails (errors.Is); see [Error].
var (
	ErrMissing   = errors.New("webhook signature header is missing")
	ErrMalformed = errors.New("webhook signature header is malformed")
	ErrMismatch  = errors.New("webhook signature does not match")
	ErrTimestamp = errors.New("webhook signature timestamp is outside the tolerance")
	ErrNoSecret  = errors.New("no webhook signing secret is configured")
)

// Error is a failed check. Kind is one of the sentinels; the error matches
// Kind with errors.Is and carries a [billing.Code] (EUNAUTHORIZED for a
// rejected delivery, EINTERNAL for ErrNoSecret) and a message for people,
// which quotes at most a clipped piece of what was sent.
type Error struct {
	Kind  error
	coded *billing.Error
}

func (e *Error) Error() string {
	if e.coded == nil { // not made by this package
		return e.Kind.Error()
	}
	return e.coded.Message
}

// Unwrap exposes Kind and the coded error to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.coded == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.coded}
}

// Rejected reports whether the delivery itself was refused (a missing,
// malformed, mismatching or out-of-tolerance signature), as opposed to the
// receiver having no secret configured.
func (e *Error) Rejected() bool { return e.Kind != ErrNoSecret }

func fail(kind error, format string, args ...any) error {
	code := billing.EUNAUTHORIZED
	if kind == ErrNoSecret {
		code = billing.EINTERNAL
	}
	return &Error{Kind: kind, coded: billing.Errorf(code, format, args...)}
}

// Signed is what a delivery's signature headers say, parsed.
type Signed struct {
	// Timestamp is the signed timestamp exactly as sent: the signature
	// covers this text, not a reformatting of it.
	Timestamp string
	// At is the time Timestamp names.
	At time.Time
	// Signatures are the candidate HMAC-SHA256 values (32 bytes each); one
	// match with one secret accepts the delivery.
	Signatures [][]byte
}

// ParseStripe reads a Stripe-Signature header: comma-separated key=value
// pairs (spaces around them allowed) with exactly one t (Unix seconds) and
// one or more v1 (64 hex digits); other schemes such as v0 are ignored.
// Errors: ErrMissing for an empty or blank header, ErrMalformed for anything
// else that does not fit.
func ParseStripe(header string) (Signed, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Signed{}, fail(ErrMissing, "webhook %s header is missing", StripeHeader)
	}
	var s Signed
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Signed{}, fail(ErrMalformed, "webhook %s header is malformed: %q is not key=value", StripeHeader, clip(part))
		}
		switch k {
		case "t":
			if s.Timestamp != "" {
				return Signed{}, fail(ErrMalformed, "webhook %s header is malformed: more than one timestamp", StripeHeader)
			}
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Signed{}, fail(ErrMalformed, "webhook %s header is malformed: timestamp %q is not Unix seconds", StripeHeader, clip(v))
			}
			s.Timestamp, s.At = v, unixSeconds(sec)
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return Signed{}, fail(ErrMalformed, "webhook %s header is malformed: v1 signature is not 64 hex digits", StripeHeader)
			}
			s.Signatures = append(s.Signatures, sig)
		}
	}
	if s.Timestamp == "" {
		return Signed{}, fail(ErrMalformed, "webhook %s header is malformed: no timestamp (t=)", StripeHeader)
	}
	if len(s.Signatures) == 0 {
		return Signed{}, fail(ErrMalformed, "webhook %s header is malformed: no v1 signature", StripeHeader)
	}
	return s, nil
}

// ParseLob reads the Lob-Signature (64 hex digits) and
// Lob-Signature-Timestamp (a positive Unix timestamp in milliseconds, or in
// seconds) header values. Errors: ErrMissing when either is empty or blank,
// ErrMalformed when either does not fit.
func ParseLob(signature, timestamp string) (Signed, error) {
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return Signed{}, fail(ErrMissing, "webhook %s or %s header is missing", LobSignatureHeader, LobTimestampHeader)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts <= 0 {
		return Signed{}, fail(ErrMalformed, "webhook %s %q is not a Unix timestamp", LobTimestampHeader, clip(timestamp))
	}
	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) != sha256.Size {
		return Signed{}, fail(ErrMalformed, "webhook %s is not 64 hex digits", LobSignatureHeader)
	}
	return Signed{Timestamp: timestamp, At: unixMillisOrSeconds(ts), Signatures: [][]byte{sig}}, nil
}

// Verify checks s against the raw body: some signature in s must be the
// HMAC-SHA256 of s.Timestamp + "." + body under some non-empty secret in
// secrets (several during a rotation), and s.At must be within tolerance of
// now either way (tolerance <= 0 means [DefaultTolerance]; the bounds are
// inclusive). Errors: ErrNoSecret when no secret is configured, ErrMismatch,
// ErrTimestamp — checked in that order.
func Verify(body []byte, s Signed, secrets []string, now time.Time, tolerance time.Duration) error {
	keys, err := usable(secrets)
	if err != nil {
		return err
	}
	return verify(body, s, keys, now, tolerance)
}

// VerifyStripe checks a Stripe-Signature header against the raw body
// ([ParseStripe], then [Verify]). Errors: ErrNoSecret first (whatever was
// sent), then those of ParseStripe and Verify.
func VerifyStripe(body []byte, header string, secrets []string, now time.Time, tolerance time.Duration) error {
	keys, err := usable(secrets)
	if err != nil {
		return err
	}
	s, err := ParseStripe(header)
	if err != nil {
		return err
	}
	return verify(body, s, keys, now, tolerance)
}

// VerifyLob checks the Lob-Signature and Lob-Signature-Timestamp header
// values against the raw body ([ParseLob], then [Verify]). Errors:
// ErrNoSecret first (whatever was sent), then those of ParseLob and Verify.
func VerifyLob(body []byte, signature, timestamp string, secrets []string, now time.Time, tolerance time.Duration) error {
	keys, err := usable(secrets)
	if err != nil {
		return err
	}
	s, err := ParseLob(signature, timestamp)
	if err != nil {
		return err
	}
	return verify(body, s, keys, now, tolerance)
}

// SignStripe returns the Stripe-Signature header value for body signed
// with secret at t: "t=<Unix seconds>,v1=<hex HMAC-SHA256>".
func SignStripe(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(body, secret, ts))
}

// SignLob returns the Lob-Signature and Lob-Signature-Timestamp header
// values for body signed with secret at t (the timestamp in Unix
// milliseconds, as Lob sends it).
func SignLob(body []byte, secret string, t time.Time) (signature, timestamp string) {
	timestamp = strconv.FormatInt(t.UnixMilli(), 10)
	return hex.EncodeToString(mac(body, secret, timestamp)), timestamp
}

func usable(secrets []string) ([]string, error) {
	var keys []string
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return nil, fail(ErrNoSecret, "no webhook signing secret is configured")
	}
	return keys, nil
}

func verify(body []byte, s Signed, keys []string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	matched := false
	for _, k := range keys {
		want := mac(body, k, s.Timestamp)
		for _, sig := range s.Signatures {
			// No early exit: every comparison runs, in constant time.
			if hmac.Equal(want, sig) {
				matched = true
			}
		}
	}
	if !matched {
		return fail(ErrMismatch, "webhook signature does not match any configured signing secret")
	}
	switch d := now.Sub(s.At); {
	case d > tolerance:
		return fail(ErrTimestamp, "webhook signature timestamp is %s old, more than the %s tolerance", age(d), tolerance)
	case d < -tolerance:
		return fail(ErrTimestamp, "webhook signature timestamp is %s in the future, more than the %s tolerance", age(-d), tolerance)
	}
	return nil
}

func mac(body []byte, secret, timestamp string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// maxUnix bounds parsed timestamps (about the year 36800) so a huge one
// cannot overflow time.Time's arithmetic; any such time is far outside the
// tolerance anyway.
const maxUnix = 1 << 40

func unixSeconds(sec int64) time.Time {
	return time.Unix(min(max(sec, -maxUnix), maxUnix), 0)
}

// unixMillisOrSeconds reads a positive Unix timestamp in milliseconds, or in
// seconds when it is too small to be milliseconds of this century.
func unixMillisOrSeconds(v int64) time.Time {
	if v > 100_000_000_000 {
		return time.UnixMilli(min(v, maxUnix*1000))
	}
	return time.Unix(v, 0)
}

// age writes a positive distance in time for an error message.
func age(d time.Duration) string {
	if d >= 100*365*24*time.Hour || d < 0 { // saturated or absurd
		return "more than a century"
	}
	return d.Truncate(time.Second).String()
}

// clip shortens sender-controlled text quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

package webhooksig_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v85/webhook"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"github.com/tollgate-isp/tollgate/internal/printmailsim"
)

var (
	now     = time.Date(2026, time.November, 3, 10, 0, 0, 0, time.UTC)
	secret  = "whsec_current_0123456789abcdef"
	old     = "whsec_previous_fedcba9876543210"
	payload = []byte(`{"id":"evt_1","object":"event","type":"charge.succeeded","created":1793700000,"data":{"object":{"id":"ch_1","object":"charge","amount":4999}}}`)
	letter  = []byte(`{"id":"evt_1","event_type":{"id":"letter.mailed"},"body":{"id":"ltr_1"}}`)
)

// v1 returns just the hex signature of body signed with key at t.
func v1(body []byte, key string, t time.Time) string {
	h := webhooksig.SignStripe(body, key, t)
	return h[strings.Index(h, "v1=")+3:]
}

// lobSeconds signs body as Lob does, but with the timestamp in seconds.
func lobSeconds(body []byte, key string, t time.Time) (signature, timestamp string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(timestamp + "." + string(body)))
	return hex.EncodeToString(m.Sum(nil)), timestamp
}

func tampered(b []byte) []byte {
	return []byte(strings.Replace(string(b), "evt_1", "evt_2", 1))
}

// assertFailure checks err is want, with the right code and a clear
// message.
func assertFailure(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	wantCode := billing.EUNAUTHORIZED
	if want == webhooksig.ErrNoSecret {
		wantCode = billing.EINTERNAL
	}
	if code := billing.ErrorCode(err); code != wantCode {
		t.Fatalf("code = %s, want %s", code, wantCode)
	}
	if msg := billing.ErrorMessage(err); msg == "" || msg == "internal error" || msg != err.Error() {
		t.Fatalf("message %q is not a clear message (Error() = %q)", msg, err.Error())
	}
	var e *webhooksig.Error
	if !errors.As(err, &e) || e.Kind != want || e.Rejected() != (want != webhooksig.ErrNoSecret) {
		t.Fatalf("%v is not a *webhooksig.Error of kind %v", err, want)
	}
}

// TestVerifyStripe: the Stripe-Signature scheme, as the payment gateways
// (the sandbox and Stripe) receive it.
func TestVerifyStripe(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name    string
		payload []byte
		header  string
		secrets []string
		want    error // nil: accepted
	}{
		{"valid", payload, webhooksig.SignStripe(payload, secret, now), []string{secret}, nil},
		{"rotation: signed with the new secret", payload, webhooksig.SignStripe(payload, secret, now), []string{secret, old}, nil},
		{"rotation: signed with the old secret", payload, webhooksig.SignStripe(payload, old, now), []string{secret, old}, nil},
		{"rotation: both signatures in one header", payload,
			"t=" + ts + ",v1=" + v1(payload, secret, now) + ",v1=" + v1(payload, old, now), []string{old}, nil},
		{"multiple v1, the second one right", payload,
			"t=" + ts + ",v1=" + v1(payload, "whsec_other", now) + ",v1=" + v1(payload, secret, now), []string{secret}, nil},
		{"multiple v1, none right", payload,
			"t=" + ts + ",v1=" + v1(payload, "whsec_a", now) + ",v1=" + v1(payload, "whsec_b", now), []string{secret}, webhooksig.ErrMismatch},
		{"v0 scheme ignored", payload,
			"t=" + ts + ",v1=" + v1(payload, secret, now) + ",v0=" + strings.Repeat("0", 64), []string{secret}, nil},
		{"spaces around parts", payload, "t=" + ts + ", v1=" + v1(payload, secret, now), []string{secret}, nil},
		{"empty secrets are skipped", payload, webhooksig.SignStripe(payload, secret, now), []string{"", secret}, nil},
		{"wrong secret", payload, webhooksig.SignStripe(payload, "whsec_wrong", now), []string{secret}, webhooksig.ErrMismatch},
		{"old secret after rotation ended", payload, webhooksig.SignStripe(payload, old, now), []string{secret}, webhooksig.ErrMismatch},
		{"tampered body", []byte(strings.Replace(string(payload), "4999", "9999", 1)), webhooksig.SignStripe(payload, secret, now), []string{secret}, webhooksig.ErrMismatch},
		{"body with a trailing newline", append(append([]byte(nil), payload...), '\n'), webhooksig.SignStripe(payload, secret, now), []string{secret}, webhooksig.ErrMismatch},
		{"timestamp changed after signing", payload,
			"t=" + strconv.FormatInt(now.Unix()+1, 10) + ",v1=" + v1(payload, secret, now), []string{secret}, webhooksig.ErrMismatch},
		{"300 s old", payload, webhooksig.SignStripe(payload, secret, now.Add(-300*time.Second)), []string{secret}, nil},
		{"301 s old", payload, webhooksig.SignStripe(payload, secret, now.Add(-301*time.Second)), []string{secret}, webhooksig.ErrTimestamp},
		{"300 s in the future", payload, webhooksig.SignStripe(payload, secret, now.Add(300*time.Second)), []string{secret}, nil},
		{"301 s in the future", payload, webhooksig.SignStripe(payload, secret, now.Add(301*time.Second)), []string{secret}, webhooksig.ErrTimestamp},
		{"a year old", payload, webhooksig.SignStripe(payload, secret, now.AddDate(-1, 0, 0)), []string{secret}, webhooksig.ErrTimestamp},
		{"timestamp at the epoch", payload, webhooksig.SignStripe(payload, secret, time.Unix(0, 0)), []string{secret}, webhooksig.ErrTimestamp},
		{"timestamp far beyond time.Time", payload,
			"t=9223372036854775807,v1=" + hex.EncodeToString(mac(payload, secret, "9223372036854775807")), []string{secret}, webhooksig.ErrTimestamp},
		{"negative timestamp", payload, "t=-5,v1=" + hex.EncodeToString(mac(payload, secret, "-5")), []string{secret}, webhooksig.ErrTimestamp},
		{"missing header", payload, "", []string{secret}, webhooksig.ErrMissing},
		{"blank header", payload, "   ", []string{secret}, webhooksig.ErrMissing},
		{"malformed: no key=value", payload, "garbage", []string{secret}, webhooksig.ErrMalformed},
		{"malformed: no timestamp", payload, "v1=" + v1(payload, secret, now), []string{secret}, webhooksig.ErrMalformed},
		{"malformed: no v1", payload, "t=" + ts, []string{secret}, webhooksig.ErrMalformed},
		{"malformed: only v0", payload, "t=" + ts + ",v0=" + v1(payload, secret, now), []string{secret}, webhooksig.ErrMalformed},
		{"malformed: timestamp not a number", payload, "t=yesterday,v1=" + v1(payload, secret, now), []string{secret}, webhooksig.ErrMalformed},
		{"malformed: empty timestamp", payload, "t=,v1=" + v1(payload, secret, now), []string{secret}, webhooksig.ErrMalformed},
		{"malformed: two timestamps", payload, "t=" + ts + ",t=" + ts + ",v1=" + v1(payload, secret, now), []string{secret}, webhooksig.ErrMalformed},
		{"malformed: v1 not hex", payload, "t=" + ts + ",v1=" + strings.Repeat("zz", 32), []string{secret}, webhooksig.ErrMalformed},
		{"malformed: v1 too short", payload, "t=" + ts + ",v1=abcd", []string{secret}, webhooksig.ErrMalformed},
		{"malformed: trailing comma", payload, webhooksig.SignStripe(payload, secret, now) + ",", []string{secret}, webhooksig.ErrMalformed},
		{"no secret configured", payload, webhooksig.SignStripe(payload, secret, now), nil, webhooksig.ErrNoSecret},
		{"only empty secrets configured", payload, webhooksig.SignStripe(payload, "", now), []string{"", ""}, webhooksig.ErrNoSecret},
		{"no secret configured and no header", payload, "", nil, webhooksig.ErrNoSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertFailure(t, webhooksig.VerifyStripe(tc.payload, tc.header, tc.secrets, now, webhooksig.DefaultTolerance), tc.want)
		})
	}
}

// TestVerifyLob: the Lob-Signature scheme, as the print-and-mail webhook
// receives it.
func TestVerifyLob(t *testing.T) {
	sig, ts := webhooksig.SignLob(letter, secret, now)
	secSig, secTS := lobSeconds(letter, secret, now)
	staleSig, staleTS := webhooksig.SignLob(letter, secret, now.Add(-301*time.Second))
	futureSig, futureTS := webhooksig.SignLob(letter, secret, now.Add(301*time.Second))
	edgeSig, edgeTS := webhooksig.SignLob(letter, secret, now.Add(-300*time.Second))
	oldSig, oldTS := webhooksig.SignLob(letter, old, now)
	tests := []struct {
		name    string
		body    []byte
		sig, ts string
		secrets []string
		want    error
	}{
		{"valid", letter, sig, ts, []string{secret}, nil},
		{"timestamp in seconds", letter, secSig, secTS, []string{secret}, nil},
		{"spaces around the values", letter, " " + sig + " ", " " + ts, []string{secret}, nil},
		{"upper-case hex", letter, strings.ToUpper(sig), ts, []string{secret}, nil},
		{"rotation: signed with the new secret", letter, sig, ts, []string{old, secret}, nil},
		{"rotation: signed with the old secret", letter, oldSig, oldTS, []string{secret, old}, nil},
		{"old secret after rotation ended", letter, oldSig, oldTS, []string{secret}, webhooksig.ErrMismatch},
		{"wrong secret", letter, sig, ts, []string{"not-the-secret"}, webhooksig.ErrMismatch},
		{"tampered body", tampered(letter), sig, ts, []string{secret}, webhooksig.ErrMismatch},
		{"tampered timestamp", letter, sig, strconv.FormatInt(now.UnixMilli()+1, 10), []string{secret}, webhooksig.ErrMismatch},
		{"forged: zeros", letter, strings.Repeat("0", 64), ts, []string{secret}, webhooksig.ErrMismatch},
		{"300 s old", letter, edgeSig, edgeTS, []string{secret}, nil},
		{"301 s old", letter, staleSig, staleTS, []string{secret}, webhooksig.ErrTimestamp},
		{"301 s in the future", letter, futureSig, futureTS, []string{secret}, webhooksig.ErrTimestamp},
		{"missing signature", letter, "", ts, []string{secret}, webhooksig.ErrMissing},
		{"missing timestamp", letter, sig, "", []string{secret}, webhooksig.ErrMissing},
		{"both missing", letter, "", " ", []string{secret}, webhooksig.ErrMissing},
		{"malformed: signature not hex", letter, "zz", ts, []string{secret}, webhooksig.ErrMalformed},
		{"malformed: signature too short", letter, sig[:62], ts, []string{secret}, webhooksig.ErrMalformed},
		{"malformed: timestamp not a number", letter, sig, "yesterday", []string{secret}, webhooksig.ErrMalformed},
		{"malformed: timestamp zero", letter, sig, "0", []string{secret}, webhooksig.ErrMalformed},
		{"malformed: timestamp negative", letter, sig, "-1", []string{secret}, webhooksig.ErrMalformed},
		{"timestamp far beyond time.Time", letter, hex.EncodeToString(mac(letter, secret, "9223372036854775807")), "9223372036854775807", []string{secret}, webhooksig.ErrTimestamp},
		{"no secret configured", letter, sig, ts, nil, webhooksig.ErrNoSecret},
		{"no secret configured and no headers", letter, "", "", []string{""}, webhooksig.ErrNoSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertFailure(t, webhooksig.VerifyLob(tc.body, tc.sig, tc.ts, tc.secrets, now, 0), tc.want)
		})
	}
}

func mac(body []byte, key, ts string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

func TestTolerance(t *testing.T) {
	h := webhooksig.SignStripe(payload, secret, now.Add(-90*time.Second))
	if err := webhooksig.VerifyStripe(payload, h, []string{secret}, now, time.Minute); !errors.Is(err, webhooksig.ErrTimestamp) {
		t.Fatalf("90 s old with a 60 s tolerance: %v", err)
	}
	if err := webhooksig.VerifyStripe(payload, h, []string{secret}, now, 0); err != nil {
		t.Fatalf("tolerance 0 means the default: %v", err)
	}
	err := webhooksig.VerifyStripe(payload, webhooksig.SignStripe(payload, secret, now.Add(-301*time.Second)), []string{secret}, now, 0)
	if err == nil || !strings.Contains(err.Error(), "5m1s old") {
		t.Fatalf("error should say how old the timestamp is: %v", err)
	}
	err = webhooksig.VerifyStripe(payload, webhooksig.SignStripe(payload, secret, now.Add(301*time.Second)), []string{secret}, now, 0)
	if err == nil || !strings.Contains(err.Error(), "in the future") {
		t.Fatalf("error should say the timestamp is in the future: %v", err)
	}
	sig, ts := webhooksig.SignLob(letter, secret, now)
	if err := webhooksig.VerifyLob(letter, sig, ts, []string{secret}, now.Add(6*time.Minute), 0); !errors.Is(err, webhooksig.ErrTimestamp) {
		t.Fatalf("a Lob delivery replayed 6 minutes later: %v", err)
	}
}

// Verify takes either parser's result: the scheme is one check.
func TestVerifyParsed(t *testing.T) {
	s, err := webhooksig.ParseStripe(webhooksig.SignStripe(payload, secret, now))
	if err != nil {
		t.Fatal(err)
	}
	if s.Timestamp != strconv.FormatInt(now.Unix(), 10) || !s.At.Equal(now) || len(s.Signatures) != 1 {
		t.Fatalf("parsed %+v", s)
	}
	if err := webhooksig.Verify(payload, s, []string{old, secret}, now, 0); err != nil {
		t.Fatal(err)
	}
	l, err := webhooksig.ParseLob(webhooksig.SignLob(letter, secret, now))
	if err != nil {
		t.Fatal(err)
	}
	if !l.At.Equal(now) {
		t.Fatalf("Lob timestamp read as %s", l.At)
	}
	if err := webhooksig.Verify(tampered(letter), l, []string{secret}, now, 0); !errors.Is(err, webhooksig.ErrMismatch) {
		t.Fatalf("tampered: %v", err)
	}
	if err := webhooksig.Verify(letter, l, nil, now, 0); !errors.Is(err, webhooksig.ErrNoSecret) {
		t.Fatalf("no secret: %v", err)
	}
}

// SignStripe and VerifyStripe speak Stripe's scheme: stripe-go's own
// implementation accepts what we sign and we accept what it signs.
func TestStripeInteroperatesWithStripeGo(t *testing.T) {
	now := time.Now()
	if err := stripewebhook.ValidatePayloadWithTolerance(payload, webhooksig.SignStripe(payload, secret, now), secret, webhooksig.DefaultTolerance); err != nil {
		t.Fatalf("stripe-go rejects our signature: %v", err)
	}
	signed := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: now})
	if err := webhooksig.VerifyStripe(payload, signed.Header, []string{secret}, now, 0); err != nil {
		t.Fatalf("we reject stripe-go's signature %q: %v", signed.Header, err)
	}
}

// SignLob and the fake print-and-mail vendor (written separately, from
// Lob's documentation) sign alike.
func TestLobInteroperatesWithTheVendorFake(t *testing.T) {
	sig, ts := webhooksig.SignLob(letter, "new", now)
	simSig, simTS := printmailsim.Sign(letter, "new", now)
	if sig != simSig || ts != simTS {
		t.Fatalf("the client and the fake vendor sign differently: %s/%s vs %s/%s", sig, ts, simSig, simTS)
	}
	if err := webhooksig.VerifyLob(letter, simSig, simTS, []string{"old", "new"}, now, 0); err != nil {
		t.Fatalf("the fake vendor's delivery: %v", err)
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/webhooksig"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// newWebhookEnv serves both webhooks: the sandbox gateway's, and the
// print-and-mail vendor's (the delivery service on the real store), each
// with its own signing secrets (none: unconfigured).
func newWebhookEnv(t *testing.T, gatewaySecrets, printMailSecrets []string) *env {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	sandbox := payments.NewSandbox(gatewaySecrets...)
	deliveries := delivery.NewService(db, nil, delivery.ServiceOptions{WebhookSecrets: printMailSecrets, Log: log})
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Methods: db,
		Charger: charge.New(sandbox, db, clock.Real{}, log), Delivery: deliveries}, nil, clock.Real{}, log, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &env{t: t, url: hs.URL, db: db, sandbox: sandbox, logs: logs}
}

// webhookDelivery is one POST to a webhook endpoint.
type webhookDelivery struct {
	path    string
	body    []byte
	headers map[string]string
}

// gatewayDelivery signs a Stripe-shaped event as the gateway would, with
// key at t; tweak changes the header value before sending.
func gatewayDelivery(e *env, key string, t time.Time, tweak func(string) string) webhookDelivery {
	body, header := e.sandbox.SignedEvent(payments.Event{Type: payments.EventChargeSucceeded, ChargeID: "ch_sandbox_x", Amount: 100}, key, t)
	return webhookDelivery{"/api/v1/webhooks/sandbox", body, map[string]string{webhooksig.StripeHeader: tweak(header)}}
}

var letterEvent = []byte(`{"id":"evt_lob_1","event_type":{"id":"letter.mailed"},"body":{"id":"ltr_unknown","metadata":{}}}`)

// printMailDelivery signs a letter event as the vendor would, with key at
// t; tweak changes the signature and timestamp before sending.
func printMailDelivery(key string, t time.Time, tweak func(sig, ts string) (string, string)) webhookDelivery {
	sig, ts := webhooksig.SignLob(letterEvent, key, t)
	sig, ts = tweak(sig, ts)
	return webhookDelivery{"/api/v1/webhooks/print-mail", letterEvent,
		map[string]string{webhooksig.LobSignatureHeader: sig, webhooksig.LobTimestampHeader: ts}}
}

func (e *env) post(d webhookDelivery) response {
	e.t.Helper()
	return e.doHeader("POST", d.path, string(d.body), d.headers)
}

// assertProblem checks r is an RFC 9457 problem document with status and
// a detail containing want.
func assertProblem(t *testing.T, what string, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != status || !strings.Contains(p.Detail, want) {
		t.Fatalf("%s: problem %s (%v), want status %d and a detail with %q", what, r.body, err, status, want)
	}
}

// TestWebhookBadSignatureAnswers400 sends each way a signature can be bad
// to both webhook endpoints: every one answers 400 problem+json naming what
// was wrong (the print-mail webhook answered 401 before), and nothing is
// recorded; the same deliveries signed properly, with either secret of a
// rotation, are accepted.
func TestWebhookBadSignatureAnswers400(t *testing.T) {
	t.Parallel()
	const current, previous, wrong = "whsec_current_1", "whsec_previous_1", "whsec_wrong_1"
	e := newWebhookEnv(t, []string{current, previous}, []string{current, previous})
	now := time.Now()
	same := func(h string) string { return h }
	sameLob := func(sig, ts string) (string, string) { return sig, ts }

	type attempt struct {
		name, detail string
		d            webhookDelivery
	}
	tamperedGateway := gatewayDelivery(e, current, now, same)
	tamperedGateway.body = []byte(strings.Replace(string(tamperedGateway.body), `"amount":100`, `"amount":900`, 1))
	tamperedLetter := printMailDelivery(current, now, sameLob)
	tamperedLetter.body = []byte(strings.Replace(string(letterEvent), "ltr_unknown", "ltr_other", 1))
	bad := map[string][]attempt{
		"gateway": {
			{"wrong secret", "does not match", gatewayDelivery(e, wrong, now, same)},
			{"tampered body", "does not match", tamperedGateway},
			{"forged", "does not match", gatewayDelivery(e, current, now, func(string) string {
				return "t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + strings.Repeat("0", 64)
			})},
			{"expired", "old", gatewayDelivery(e, current, now.Add(-6*time.Minute), same)},
			{"from the future", "in the future", gatewayDelivery(e, current, now.Add(6*time.Minute), same)},
			{"malformed", "malformed", gatewayDelivery(e, current, now, func(h string) string { return h + ",garbage" })},
			{"missing", "missing", gatewayDelivery(e, current, now, func(string) string { return "" })},
		},
		"print-mail": {
			{"wrong secret", "does not match", printMailDelivery(wrong, now, sameLob)},
			{"tampered body", "does not match", tamperedLetter},
			{"forged", "does not match", printMailDelivery(current, now, func(_, ts string) (string, string) { return strings.Repeat("0", 64), ts })},
			{"expired", "old", printMailDelivery(current, now.Add(-6*time.Minute), sameLob)},
			{"from the future", "in the future", printMailDelivery(current, now.Add(6*time.Minute), sameLob)},
			{"malformed", "not 64 hex digits", printMailDelivery(current, now, func(sig, ts string) (string, string) { return sig[:10], ts })},
			{"missing", "missing", printMailDelivery(current, now, func(string, string) (string, string) { return "", "" })},
		},
	}
	for endpoint, attempts := range bad {
		for _, a := range attempts {
			r := e.post(a.d)
			assertProblem(t, endpoint+" "+a.name, r, 400, "webhook rejected: ")
			assertProblem(t, endpoint+" "+a.name, r, 400, a.detail)
			if endpoint != "gateway" {
				continue
			}
			// The refused event was not recorded: recording it now is fresh.
			var ev struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(a.d.body, &ev); err != nil || ev.ID == "" {
				t.Fatalf("event id of %s: %v", a.d.body, err)
			}
			if fresh, err := e.db.RecordWebhookEvent(context.Background(), "sandbox", ev.ID, "probe", now); err != nil || !fresh {
				t.Fatalf("gateway %s: the refused event %s was recorded (fresh=%v, %v)", a.name, ev.ID, fresh, err)
			}
		}
	}

	// Signed properly, with either secret: accepted.
	for _, key := range []string{current, previous} {
		if r := e.post(gatewayDelivery(e, key, now, same)); r.status != 200 || !strings.Contains(string(r.body), `"received":true`) {
			t.Fatalf("gateway delivery signed with %s: %d %s", key, r.status, r.body)
		}
		if r := e.post(printMailDelivery(key, now, sameLob)); r.status != 200 || !strings.Contains(string(r.body), `"received":true`) {
			t.Fatalf("print-mail delivery signed with %s: %d %s", key, r.status, r.body)
		}
	}
}

// TestWebhookWithoutSecretAnswers404: an endpoint with no signing secret
// configured answers 404 problem+json naming the setting, on both.
func TestWebhookWithoutSecretAnswers404(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t, nil, nil)
	now := time.Now()
	r := e.post(gatewayDelivery(e, "whsec_any", now, func(h string) string { return h }))
	assertProblem(t, "gateway", r, 404, "payments.webhook_secrets_file")
	r = e.post(printMailDelivery("any", now, func(sig, ts string) (string, string) { return sig, ts }))
	assertProblem(t, "print-mail", r, 404, "delivery.print_mail.webhook_secret_file")
}

// TestWebhookOpenAPIDocumentsSignatureErrors: the OpenAPI document lists
// 400 (and no 401) for both webhooks and says why.
func TestWebhookOpenAPIDocumentsSignatureErrors(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t, []string{"k"}, []string{"k"})
	r := e.doHeader("GET", "/api/v1/openapi.json", "", nil)
	if r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Description string                     `json:"description"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/webhooks/{gateway}", "/api/v1/webhooks/print-mail"} {
		op, ok := doc.Paths[path]["post"]
		if !ok {
			t.Fatalf("openapi.json lacks POST %s", path)
		}
		if _, ok := op.Responses["400"]; !ok {
			t.Errorf("POST %s: no 400 response documented", path)
		}
		if _, ok := op.Responses["401"]; ok {
			t.Errorf("POST %s: still documents 401", path)
		}
		if !strings.Contains(op.Description, "answers 400") {
			t.Errorf("POST %s: the description does not say a bad signature answers 400: %q", path, op.Description)
		}
	}
}

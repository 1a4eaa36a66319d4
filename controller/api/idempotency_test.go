package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/delivery"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// sendDuplicates sends n copies of one request at once (released together)
// and returns their responses.
func sendDuplicates(e *env, n int, method, path, token, key, body string) []response {
	var wg sync.WaitGroup
	start := make(chan struct{})
	out := make([]response, n)
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = e.do(method, path, token, key, body)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// checkOneAnswer fails t unless every response is the first execution's:
// status want and one body for all, exactly one not replayed (the first),
// every other marked Idempotent-Replayed: true.
func checkOneAnswer(t *testing.T, what string, rs []response, want int) {
	t.Helper()
	first := 0
	for i, r := range rs {
		if r.status != want || !bytes.Equal(r.body, rs[0].body) {
			t.Fatalf("%s: duplicate %d answered %d %s; want %d %s (every duplicate gets the first response)", what, i, r.status, r.body, want, rs[0].body)
		}
		switch r.header.Get("Idempotent-Replayed") {
		case "":
			first++
		case "true":
		default:
			t.Fatalf("%s: Idempotent-Replayed: %q", what, r.header.Get("Idempotent-Replayed"))
		}
	}
	if first != 1 {
		t.Fatalf("%s: %d of %d duplicates answered as the first execution (not replayed), want 1", what, first, len(rs))
	}
}

// Concurrent duplicates of a manual payment all wait for the first and get
// its response: its status and body, replays marked, none 409; one payment
// is posted. Duplicates of a refused payment get the first's refusal alike.
func TestConcurrentDuplicatePaymentsGetTheFirstResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	const n = 20
	rs := sendDuplicates(e, n, "POST", "/api/v1/accounts/1/payments", billingToken, "dup-pay", `{"method":"check","amount":2500,"reference":"1001","payer":"Jane"}`)
	checkOneAnswer(t, "payment", rs, 200)
	var payments int
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&payments)
	if payments != 1 {
		t.Fatalf("%d payments posted by %d duplicates, want 1", payments, n)
	}

	rs = sendDuplicates(e, n, "POST", "/api/v1/accounts/99/payments", billingToken, "dup-unknown", `{"method":"cash","amount":100}`)
	checkOneAnswer(t, "payment to an unknown account", rs, 404)
	rs = sendDuplicates(e, n, "POST", "/api/v1/accounts/1/payments", billingToken, "dup-bad", `{"method":"check","amount":100}`)
	checkOneAnswer(t, "check without number", rs, 422)
	_ = e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&payments)
	if payments != 1 {
		t.Fatalf("refused duplicates posted payments: %d in all, want 1", payments)
	}
}

// Every mutating operation of the served OpenAPI document declares how it
// keeps its Idempotency-Key (x-idempotency-key), so a new route cannot skip
// the protocol unnoticed; the manual payment stores its key in its own
// transaction, the webhooks and the sandbox's tokenization take none, and
// an operation takes the key's header exactly when it declares one.
func TestEveryMutatingOperationDeclaresItsKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner, err := jobs.New(jobs.Config{DisableSchedule: true}, e.db, clock.Real{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// Every store the API serves, so that every operation is served.
	srv := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db, Billing: e.db, Runner: runner, Payments: e.db,
		Charger: charge.New(e.sandbox, e.db, clock.Real{}, quiet), Methods: e.db, DevClock: jobs.NewDevClock(runner, &clock.Offset{}),
		Importer: e.db, Collections: e.db, Delivery: delivery.NewService(e.db, nil, delivery.ServiceOptions{Log: quiet}), Tickets: e.db},
		nil, clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	r := e.do("GET", "/api/v1/openapi.json", "", "", "")
	if r.status != 200 {
		t.Fatalf("openapi.json: %d", r.status)
	}
	declared := map[string]string{} // "POST /path" → declaration
	for path, item := range r.json(t)["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			if method != "post" && method != "put" && method != "patch" && method != "delete" {
				continue
			}
			o := o.(map[string]any)
			name := strings.ToUpper(method) + " " + path
			d, _ := o["x-idempotency-key"].(string)
			declared[name] = d
			takesKey := false
			for _, p := range asSlice(o["parameters"]) {
				if p := p.(map[string]any); p["name"] == "Idempotency-Key" && p["in"] == "header" && p["required"] == true {
					takesKey = true
				}
			}
			switch {
			case d != "separate-transactions" && d != "operation-transaction" && d != "none":
				t.Errorf("%s (%s) declares no way to keep its Idempotency-Key (x-idempotency-key: %q)", name, o["operationId"], d)
			case takesKey != (d != "none"):
				t.Errorf("%s declares x-idempotency-key %q but requires the Idempotency-Key header: %v", name, d, takesKey)
			}
		}
	}
	if len(declared) < 40 {
		t.Fatalf("only %d mutating operations served: is every store wired?", len(declared))
	}
	var inTx, none []string
	for name, d := range declared {
		switch d {
		case "operation-transaction":
			inTx = append(inTx, name)
		case "none":
			none = append(none, name)
		}
	}
	sort.Strings(inTx)
	sort.Strings(none)
	if got := strings.Join(inTx, ", "); got != "POST /api/v1/accounts/{id}/payments" {
		t.Errorf("operations storing their key in their own transaction: %s; want the manual payment", got)
	}
	if got, want := strings.Join(none, ", "), "POST /api/v1/sandbox/tokens, POST /api/v1/webhooks/print-mail, POST /api/v1/webhooks/{gateway}"; got != want {
		t.Errorf("operations taking no key: %s; want %s", got, want)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

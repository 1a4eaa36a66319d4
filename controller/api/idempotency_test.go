package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
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
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, e.db, clock.Real{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// Every store the API serves, so that every operation is served.
	srv := api.NewServer(api.Config{}, api.Deps{Services: e.db, Idempotency: e.db, Billing: e.db, Runner: runner, Payments: e.db,
		Charger: charge.New(e.sandbox, e.db, clock.Real{}, quiet), Methods: e.db, DevClock: jobs.NewDevClock(runner, &clock.Offset{}),
		Importer: e.db, Collections: e.db, Delivery: delivery.NewService(e.db, nil, delivery.ServiceOptions{Log: quiet}), Tickets: e.db, Accounts: e.db},
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
	if got, want := strings.Join(none, ", "), "POST /api/v1/webhooks/print-mail, POST /api/v1/webhooks/{gateway}"; got != want {
		t.Errorf("operations taking no key: %s; want %s", got, want)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// holdKey leaves the key of a request as a first execution still running
// would: claimed, with no response yet. The request hash is the
// middleware's: SHA-256 of the query, a zero byte, and the body.
func holdKey(t *testing.T, e *env, principal, key, method, path, body string) {
	t.Helper()
	hash := sha256.Sum256([]byte("\x00" + body))
	if _, err := e.db.Pool.Exec(context.Background(), `INSERT INTO idempotency_keys (principal, key, method, path, request_hash, locked_at, created_at)
		VALUES ($1, $2, $3, $4, $5, now(), now())`, principal, key, method, path, hash[:]); err != nil {
		t.Fatal(err)
	}
}

// A duplicate sent while the first execution of its key is running waits
// for it and gets its response, whichever way the operation keeps its key
// (the manual payment's transaction, or separate transactions); one still
// running when the wait's bound (Config.IdempotencyWait) has passed gets
// 409, and nothing is executed twice.
func TestDuplicateWaitsForTheFirstExecution(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setupAccount(t, e)
	ctx := context.Background()
	cases := []struct{ name, path, body string }{
		{"payment", "/api/v1/accounts/1/payments", `{"method":"cash","amount":700}`},
		{"service", "/api/v1/services", newService},
	}
	for _, c := range cases {
		holdKey(t, e, "clerk", "held-"+c.name, "POST", c.path, c.body)
		done := make(chan response)
		go func() { done <- e.do("POST", c.path, billingToken, "held-"+c.name, c.body) }()
		// The first execution answers a moment later (the duplicate is
		// answered with it whether it arrived before or after).
		time.Sleep(200 * time.Millisecond)
		first := billing.StoredResponse{StatusCode: 201, ContentType: "application/json", Body: []byte(`{"first":"` + c.name + `"}`)}
		if err := e.db.CompleteIdempotent(ctx, "clerk", "held-"+c.name, first); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.status != 201 || string(r.body) != string(first.Body) || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s: duplicate of a running request answered %d %v %s; want the first's response, replayed", c.name, r.status, r.header, r.body)
		}
	}

	// Past the bound: 409.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.NewServer(api.Config{IdempotencyWait: 100 * time.Millisecond}, api.Deps{Services: e.db, Idempotency: e.db, Payments: e.db},
		[]api.Token{api.NewToken("clerk", api.RoleBilling, billingToken)}, clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.url = hs.URL
	for _, c := range cases {
		holdKey(t, e, "clerk", "stuck-"+c.name, "POST", c.path, c.body)
		if r := e.do("POST", c.path, billingToken, "stuck-"+c.name, c.body); r.status != 409 || !contains(r.body, "still in progress") {
			t.Errorf("%s: duplicate of a request still running past the wait: %d %s; want 409", c.name, r.status, r.body)
		}
	}
	var payments, services int
	if err := e.db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM payments), (SELECT count(*) FROM services)`).Scan(&payments, &services); err != nil {
		t.Fatal(err)
	}
	if payments != 0 || services != 0 {
		t.Fatalf("duplicates of running requests executed: %d payments, %d services", payments, services)
	}
}

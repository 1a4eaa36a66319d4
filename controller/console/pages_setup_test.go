package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
)

// subscriber is an account made through the API for a test.
type subscriber struct {
	ID     int64
	Number string
}

// addSubscriber creates an account of typ (anchored on 2026-12-01) with
// one $50 service on POP north-1.
func (e *env) addSubscriber(typ billing.AccountType, name, email string) subscriber {
	e.t.Helper()
	return e.addSubscriberWith(typ, name, map[string]any{"email": email})
}

// addSubscriberWith is addSubscriber with the account's fields in extra
// (email, delivery, address, …).
func (e *env) addSubscriberWith(typ billing.AccountType, name string, extra map[string]any) subscriber {
	e.t.Helper()
	ctx := context.Background()
	var plan struct {
		ID int64 `json:"id"`
	}
	if err := e.api.Do(ctx, http.MethodPost, "/api/v1/plans", nil, client.NewIdempotencyKey(),
		map[string]any{"name": "Fiber " + name, "price": 5000, "currency": "USD"}, &plan); err != nil {
		e.t.Fatal(err)
	}
	var a struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	body := map[string]any{"name": name, "account_type_id": typ.ID, "currency": "USD", "anchor_date": "2026-12-01"}
	for k, v := range extra {
		body[k] = v
	}
	if err := e.api.Do(ctx, http.MethodPost, "/api/v1/accounts", nil, client.NewIdempotencyKey(), body, &a); err != nil {
		e.t.Fatal(err)
	}
	if err := e.api.Do(ctx, http.MethodPost, "/api/v1/services", nil, client.NewIdempotencyKey(),
		map[string]any{"pop": "north-1", "binding": map[string]any{"method": "log"}, "account_id": a.ID, "plan_id": plan.ID,
			"start_date": "2026-12-01"}, nil); err != nil {
		e.t.Fatal(err)
	}
	return subscriber{ID: a.ID, Number: a.Number}
}

// countRows runs a count(*) query with args.
func (e *env) countRows(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// mustContain fails unless body has every one of want.
func pageHas(t *testing.T, what string, p page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Fatalf("%s (%d): no %q in:\n%s", what, p.status, w, p.body)
		}
	}
}

// mustNotContain fails if body has any of bad.
func mustNotContain(t *testing.T, what string, p page, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(p.body, b) {
			t.Fatalf("%s (%d): %q should not be in:\n%s", what, p.status, b, p.body)
		}
	}
}

// form returns a form with the CSRF token and Idempotency-Key of page p
// plus kv (pairs).
func form(t *testing.T, p page, kv ...string) url.Values {
	t.Helper()
	f := url.Values{"csrf": {field(t, p.body, "csrf")}, "idem": {field(t, p.body, "idem")}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

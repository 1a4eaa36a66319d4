package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// lifecycleEnv is an env with a residential type (Chicago, periods on the
// 1st, pauses of at most 30 days), plans Fiber 50 (1) and Fiber 100 (2),
// an account (1) and service 1 on Fiber 50 from the first of this month,
// invoiced by a billing run today. It returns today in Chicago.
func lifecycleEnv(t *testing.T) (*env, billing.Date) {
	t.Helper()
	e := newEnv(t)
	loc, _ := time.LoadLocation("America/Chicago")
	today := billing.DateIn(time.Now(), loc)
	start := billing.NewDate(today.Year, today.Month, 1)
	typ := strings.Replace(residential, `"time_zone"`, `"lifecycle":{"max_pause_days":30},"time_zone"`, 1)
	for i, c := range []struct{ path, body string }{
		{"/api/v1/account-types", typ},
		{"/api/v1/plans", `{"name":"Fiber 50","price":5000,"currency":"USD"}`},
		{"/api/v1/plans", `{"name":"Fiber 100","price":8000,"currency":"USD"}`},
		{"/api/v1/accounts", `{"name":"Jane","email":"jane@example.net","account_type_id":1,"currency":"USD"}`},
		{"/api/v1/services", fmt.Sprintf(`{"pop":"p1","binding":{"method":"log"},"account_id":1,"plan_id":1,"start_date":"%s"}`, start)},
	} {
		if r := e.do("POST", c.path, adminToken, fmt.Sprint("setup-", i), c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	ctx := context.Background()
	var run billing.BillingRun
	err := pgx.BeginTxFunc(ctx, e.db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, 1, today, billing.TriggerOnDemand, "test", 10, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for b := range run.TotalBatches {
		if _, err := e.db.RunBillingBatch(ctx, run.ID, b, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return e, today
}

func (e *env) lifecycle(path, key, ifMatch, body string) response {
	e.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + billingToken, "Idempotency-Key": key}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	return e.doHeader("POST", path, body, h)
}

func (e *env) rows(table string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

type lifecycleAnswer struct {
	Preview bool
	Plan    struct {
		Kind  string
		Lines []struct {
			Kind   string
			Amount int64
		}
		Why []string
	}
	Service *struct {
		Version int64
		PlanID  int64 `json:"plan_id"`
	}
}

func TestServicePlanChangePreviewIfMatchAndReplay(t *testing.T) {
	t.Parallel()
	e, _ := lifecycleEnv(t)
	if n := e.rows("service_billed_spans"); n == 0 {
		t.Fatal("the billing run stored no coverage")
	}
	change := `{"plan_id":2,"reason":"upgrade"}`

	// A preview answers the lines and writes nothing.
	r := e.lifecycle("/api/v1/services/1/plan-change?preview=true", "p1", "", change)
	var a lifecycleAnswer
	if err := json.Unmarshal(r.body, &a); r.status != 200 || err != nil {
		t.Fatalf("preview: %d %v %s", r.status, err, r.body)
	}
	if !a.Preview || a.Plan.Kind != "plan_change" || len(a.Plan.Lines) < 2 || a.Plan.Lines[0].Amount >= 0 || a.Plan.Lines[1].Amount <= 0 ||
		a.Service != nil || r.header.Get("ETag") != "" {
		t.Fatalf("preview answered %s", r.body)
	}
	if n := e.rows("audit_log") + e.rows("one_time_charges") + e.rows("service_terms"); n != 0 {
		t.Fatalf("a preview wrote %d rows", n)
	}

	// Bad input: 422 naming the field; a reader may not change a service.
	for i, c := range []struct{ body, field string }{
		{`{"plan_id":1}`, "plan_id"},
		{`{"plan_id":99}`, "plan_id"},
		{`{"quantity":0}`, "plan_id or quantity"},
		{`{"plan_id":2,"effective_date":"2001-01-01"}`, "effective_date"},
	} {
		if r := e.lifecycle("/api/v1/services/1/plan-change", fmt.Sprint("bad-", i), `"1"`, c.body); r.status != 422 || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.body, r.status, r.body, c.field)
		}
	}
	if r := e.doHeader("POST", "/api/v1/services/1/plan-change", change, map[string]string{"Authorization": "Bearer " + readerToken, "Idempotency-Key": "r"}); r.status != 403 {
		t.Errorf("reader: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/services/1", readerToken, "", ""); r.header.Get("ETag") != `"1"` {
		t.Errorf("get-service ETag %q, want \"1\"", r.header.Get("ETag"))
	}
	// A stale If-Match: 412 with the current version.
	if r := e.lifecycle("/api/v1/services/1/plan-change", "stale", `"7"`, change); r.status != 412 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("stale: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}

	r = e.lifecycle("/api/v1/services/1/plan-change", "c1", `"1"`, change)
	a = lifecycleAnswer{}
	if err := json.Unmarshal(r.body, &a); r.status != 200 || err != nil || a.Preview || a.Service == nil || a.Service.PlanID != 2 ||
		a.Service.Version != 2 || r.header.Get("ETag") != `"2"` {
		t.Fatalf("change: %d %v ETag %q %s", r.status, err, r.header.Get("ETag"), r.body)
	}
	if e.rows("audit_log") != 1 || e.rows("one_time_charges") < 2 {
		t.Fatalf("the change wrote %d audit rows and %d pending lines", e.rows("audit_log"), e.rows("one_time_charges"))
	}
	// The same key and body: the first answer, replayed; nothing written.
	if again := e.lifecycle("/api/v1/services/1/plan-change", "c1", `"1"`, change); again.status != 200 ||
		again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(r.body) {
		t.Errorf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
	}
	if e.rows("audit_log") != 1 {
		t.Errorf("the replay wrote again")
	}
	r = e.do("GET", "/api/v1/services/1/history", readerToken, "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"action":"plan_change"`) || !strings.Contains(string(r.body), "upgrade") {
		t.Errorf("history: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/services/1/coverage", readerToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), "Fiber 100") {
		t.Errorf("coverage: %d %s", r.status, r.body)
	}
}

func TestServiceCancelAndPauseRefusals(t *testing.T) {
	t.Parallel()
	e, today := lifecycleEnv(t)
	start := billing.NewDate(today.Year, today.Month, 1)
	for i, c := range []struct{ path, body, field string }{
		{"cancel", fmt.Sprintf(`{"date":"%s"}`, start.AddDays(-1)), "before the service's start"},
		{"pause", fmt.Sprintf(`{"from":"%s","to":"%s"}`, today, today.AddDays(40)), "max_pause_days"},
		{"pause", fmt.Sprintf(`{"from":"%s","to":"%s"}`, today.AddDays(3), today.AddDays(1)), "to"},
	} {
		if r := e.lifecycle("/api/v1/services/1/"+c.path, fmt.Sprint("bad-", i), `"1"`, c.body); r.status != 422 || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s %s: %d %s, want 422 naming %s", c.path, c.body, r.status, r.body, c.field)
		}
	}
	if r := e.lifecycle("/api/v1/services/1/cancel", "no-if-match", "", `{}`); r.status != 428 || !strings.Contains(string(r.body), "If-Match") {
		t.Errorf("a cancel without If-Match: %d %s", r.status, r.body)
	}
	if r := e.lifecycle("/api/v1/services/9/cancel", "unknown", `"1"`, `{}`); r.status != 404 {
		t.Errorf("unknown service: %d %s", r.status, r.body)
	}
	// Cancelled today (on_cancel keep_suspended by default): suspended now,
	// through the outbox, in the same transaction as the audit row.
	before := e.rows("enforcement_changes")
	r := e.lifecycle("/api/v1/services/1/cancel", "cancel", `"1"`, `{"reason":"moving away"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"kind":"cancel"`) {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if e.rows("enforcement_changes") != before+1 || e.rows("audit_log") != 1 {
		t.Fatalf("cancel wrote %d enforcement changes and %d audit rows", e.rows("enforcement_changes")-before, e.rows("audit_log"))
	}
	r = e.do("GET", "/api/v1/services/1", readerToken, "", "")
	if m := r.json(t); m["desired_state"] != "suspended" || m["end_date"] != today.String() {
		t.Errorf("service after the cancel: %s", r.body)
	}
}

func TestPlanPriceChangeAndRetire(t *testing.T) {
	t.Parallel()
	e, today := lifecycleEnv(t)
	admin := func(path, key, body string) response { return e.do("POST", path, adminToken, key, body) }
	if r := admin("/api/v1/plans/1/prices", "past", fmt.Sprintf(`{"price":6000,"effective_date":"%s"}`, today.AddDays(-10))); r.status != 422 ||
		!strings.Contains(string(r.body), "effective_date") {
		t.Errorf("a price change in the past: %d %s", r.status, r.body)
	}
	future := fmt.Sprintf(`{"price":6000,"effective_date":"%s"}`, today.AddDays(40))
	if r := e.do("POST", "/api/v1/plans/1/prices", billingToken, "clerk", future); r.status != 403 {
		t.Errorf("billing role on a plan price: %d", r.status)
	}
	r := admin("/api/v1/plans/1/prices?preview=true", "preview", future)
	if r.status != 200 || !strings.Contains(string(r.body), `"services":1`) || !strings.Contains(string(r.body), `"revenue_change":1000`) {
		t.Fatalf("price preview: %d %s", r.status, r.body)
	}
	if e.rows("plan_price_versions") != 0 {
		t.Fatal("a preview stored a version")
	}
	if r := admin("/api/v1/plans/1/prices", "commit", future); r.status != 200 || e.rows("plan_price_versions") != 1 || e.rows("audit_log") != 1 {
		t.Fatalf("price change: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/plans/1/prices", readerToken, "", ""); r.status != 200 || !strings.Contains(string(r.body), `"price":6000`) {
		t.Errorf("versions: %d %s", r.status, r.body)
	}

	if r := admin("/api/v1/plans/2/retire", "retire", `{"reason":"replaced"}`); r.status != 200 || !strings.Contains(string(r.body), "retired_at") {
		t.Fatalf("retire: %d %s", r.status, r.body)
	}
	if r := admin("/api/v1/plans/2/retire", "retire-again", `{}`); r.status != 422 {
		t.Errorf("retire twice: %d %s", r.status, r.body)
	}
	svc := fmt.Sprintf(`{"pop":"p1","binding":{"method":"log"},"account_id":1,"plan_id":2,"start_date":"%s"}`, today)
	if r := admin("/api/v1/services", "on-retired", svc); r.status != 422 || !strings.Contains(string(r.body), "retired") {
		t.Errorf("a service on a retired plan: %d %s", r.status, r.body)
	}
	if r := e.lifecycle("/api/v1/services/1/plan-change", "to-retired", `"1"`, `{"plan_id":2}`); r.status != 422 || !strings.Contains(string(r.body), "retired") {
		t.Errorf("a change to a retired plan: %d %s", r.status, r.body)
	}
}

func TestAccountTypeLifecycleSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, c := range []struct{ lifecycle, field string }{
		{`{"on_cancel":"explode"}`, "on_cancel"},
		{`{"max_pause_days":400}`, "max_pause_days"},
		{`{"pause_hold_fee":-1}`, "pause_hold_fee"},
	} {
		body := strings.Replace(residential, `"time_zone"`, `"lifecycle":`+c.lifecycle+`,"time_zone"`, 1)
		if r := e.do("POST", "/api/v1/account-types", adminToken, fmt.Sprint("bad-", i), body); r.status != 422 || !strings.Contains(string(r.body), c.field) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.lifecycle, r.status, r.body, c.field)
		}
	}
	body := strings.Replace(residential, `"time_zone"`, `"lifecycle":{"on_cancel":"remove","suspend_while_paused":true},"time_zone"`, 1)
	r := e.do("POST", "/api/v1/account-types", adminToken, "good", body)
	if r.status != 200 || !strings.Contains(string(r.body), `"on_cancel":"remove"`) || !strings.Contains(string(r.body), `"max_pause_days":90`) {
		t.Fatalf("type with lifecycle settings: %d %s", r.status, r.body)
	}
}

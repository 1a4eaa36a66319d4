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

// An account whose amounts cannot be summed (two 5e18 charges, entered
// before amounts were bounded) is reported by the preview and the run,
// and every other account is billed: it does not fail the whole run.
func TestBillingIsolatesAnAccountThatCannotBeBilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, c := range []struct{ path, body string }{
		{"/api/v1/account-types", residential},
		{"/api/v1/plans", `{"name":"Fiber","price":5000,"currency":"USD"}`},
		{"/api/v1/accounts", `{"name":"Jane","account_type_id":1,"currency":"USD","anchor_date":"2026-12-01"}`},
		{"/api/v1/accounts", `{"name":"Bob","account_type_id":1,"currency":"USD","anchor_date":"2026-12-01"}`},
		{"/api/v1/services", `{"pop":"p1","binding":{"method":"log"},"account_id":1,"plan_id":1,"start_date":"2026-12-01"}`},
		{"/api/v1/services", `{"pop":"p1","binding":{"method":"log"},"account_id":2,"plan_id":1,"start_date":"2026-12-01"}`},
	} {
		if r := e.do("POST", c.path, adminToken, fmt.Sprintf("setup-%d", i), c.body); r.status != 200 {
			t.Fatalf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	// The API refuses such charges now; they come from older data.
	if r := e.do("POST", "/api/v1/accounts/2/charges", adminToken, "huge", `{"description":"x","amount":5000000000000000000,"charge_date":"2026-11-20"}`); r.status != 422 {
		t.Fatalf("a 5e18 charge: %d %s", r.status, r.body)
	}
	ctx := context.Background()
	for range 2 {
		if _, err := e.db.Pool.Exec(ctx, `INSERT INTO one_time_charges (account_id, description, amount, taxable, charge_date, created_at)
			VALUES (2, 'legacy', 5000000000000000000, false, '2026-11-20', now())`); err != nil {
			t.Fatal(err)
		}
	}
	r := e.do("GET", "/api/v1/billing-runs/preview?date=2026-11-28", readerToken, "", "")
	if r.status != 200 {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	var p struct {
		Invoices, Failed int
		Total            int64
		Items            []billing.PreviewItem
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Invoices != 1 || p.Failed != 1 || p.Total != 5000 || len(p.Items) != 2 {
		t.Fatalf("preview: %s", r.body)
	}
	for _, it := range p.Items {
		if (it.AccountID == 2) != strings.Contains(it.Error, "overflow") {
			t.Errorf("preview item of account %d: error %q", it.AccountID, it.Error)
		}
	}

	now := time.Now()
	var run billing.BillingRun
	if err := pgx.BeginTxFunc(ctx, e.db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		run, _, err = postgres.CreateBillingRunTx(ctx, tx, 1, billing.NewDate(2026, 11, 28), billing.TriggerOnDemand, "test", 10, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for b := range run.TotalBatches {
		if _, err := e.db.RunBillingBatch(ctx, run.ID, b, now); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	var jane, bob int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE account_id = 1), count(*) FILTER (WHERE account_id = 2) FROM invoices`).Scan(&jane, &bob); err != nil {
		t.Fatal(err)
	}
	if jane != 1 || bob != 0 {
		t.Fatalf("invoices: Jane %d, Bob %d; want 1 and 0", jane, bob)
	}
	var failed int
	if err := e.db.Pool.QueryRow(ctx, `SELECT failed_accounts FROM billing_runs WHERE id = $1`, run.ID).Scan(&failed); err != nil || failed != 1 {
		t.Fatalf("the run reports %d failed account(s) (%v), want 1", failed, err)
	}
}

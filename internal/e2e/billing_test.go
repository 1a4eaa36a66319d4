package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/api/client"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestBillingRunSurvivesSIGKILL kills a real controller in the middle of a
// billing run and starts it again: the run must finish with exactly one
// invoice per account, none missing and none twice.
func TestBillingRunSurvivesSIGKILL(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "controller.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
database_url: %q
http: {listen: %q}
grpc: {listen: %q, insecure_plaintext: true}
jobs: {workers: 1, batch_size: 20, job_timeout: 2s, rescue_after: 3s, tick_interval: 24h}
api:
  tokens:
    - {name: ops, role: admin, token: %q}
`, dbURL, httpAddr, grpcAddr, adminToken)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + httpAddr
	ctrl := start(t, "tollgate-controller", nil, "--config", cfg)
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)
	c := client.New(base, adminToken)

	var typ billing.AccountType
	err = c.Do(ctx, http.MethodPost, "/api/v1/account-types", nil, "type-1", billing.AccountType{
		Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1, InvoiceLeadDays: 3, DueDays: 14, GraceDays: 7,
		TimeZone: "America/Chicago"}, &typ)
	if err != nil {
		t.Fatal(err)
	}
	var plan billing.Plan
	if err := c.Do(ctx, http.MethodPost, "/api/v1/plans", nil, "plan-1",
		billing.Plan{Name: "Fiber 100", Price: 5000, Currency: "USD", Interval: billing.IntervalMonthly}, &plan); err != nil {
		t.Fatal(err)
	}
	// Many accounts, written straight into the database to keep the test
	// short; the billing run is what is under test.
	const accounts = 6000
	// Services start on the first of the month after next (real time, the
	// controller's clock here) and the run is for that period's issue date,
	// so the scheduler's own daily run (it ticks at start) has nothing of
	// that period due today and never races this run, whatever the date.
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	nowLocal := time.Now().In(chicago)
	startDate := time.Date(nowLocal.Year(), nowLocal.Month()+2, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	runDate := time.Date(nowLocal.Year(), nowLocal.Month()+2, 1-3, 0, 0, 0, 0, time.UTC).Format(time.DateOnly) // lead 3 days
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO accounts (number, name, account_type_id, currency, anchor_date, created_at)
			SELECT 'A-' || lpad(nextval('account_number_seq')::text, 6, '0'), 'Subscriber ' || g, $1, 'USD', $3::date, now()
			FROM generate_series(1, $2) g`, []any{typ.ID, accounts, startDate}},
		{`INSERT INTO pops (id, created_at) VALUES ('pop-1', now())`, nil},
		{`INSERT INTO services (pop_id, method, desired_state, revision, created_at, updated_at, account_id, plan_id, start_date)
			SELECT 'pop-1', 'log', 'active', 0, now(), now(), id, $1, $2::date FROM accounts`, []any{plan.ID, startDate}},
	} {
		if _, err := conn.Exec(ctx, stmt.sql, stmt.args...); err != nil {
			t.Fatal(err)
		}
	}

	var runs struct{ Items []billing.BillingRun }
	if err := c.Do(ctx, http.MethodPost, "/api/v1/billing-runs", nil, "run-1", map[string]any{"date": runDate}, &runs); err != nil {
		t.Fatal(err)
	}
	run := runs.Items[0]
	path := "/api/v1/billing-runs/" + strconv.FormatInt(run.ID, 10)

	// Kill the controller once some batches are done and most are not.
	deadline := time.Now().Add(30 * time.Second)
	for run.DoneBatches < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("billing run made no progress: %+v", run)
		}
		time.Sleep(5 * time.Millisecond)
		if err := c.Do(ctx, http.MethodGet, path, nil, "", nil, &run); err != nil {
			t.Fatal(err)
		}
	}
	if err := ctrl.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-ctrl.done
	var done, total int
	if err := conn.QueryRow(ctx, `SELECT done_batches, total_batches FROM billing_runs WHERE id = $1`, run.ID).Scan(&done, &total); err != nil {
		t.Fatal(err)
	}
	if done >= total {
		t.Fatalf("the run finished (%d/%d batches) before the kill landed; make it longer", done, total)
	}
	t.Logf("killed the controller with %d of %d batches done", done, total)

	start(t, "tollgate-controller", nil, "--config", cfg)
	waitHTTP(t, base+"/readyz", 200, 30*time.Second)
	deadline = time.Now().Add(3 * time.Minute)
	for run.Status != billing.RunCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish after the restart: %+v", run)
		}
		time.Sleep(200 * time.Millisecond)
		if err := c.Do(ctx, http.MethodGet, path, nil, "", nil, &run); err != nil {
			t.Fatal(err)
		}
	}

	var invoices, distinct, unbalanced int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT account_id) FROM invoices`).Scan(&invoices, &distinct); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT tx_id FROM journal_entries GROUP BY tx_id HAVING sum(amount) <> 0) s`).Scan(&unbalanced); err != nil {
		t.Fatal(err)
	}
	if invoices != accounts || distinct != accounts || run.InvoicesCreated != accounts || unbalanced != 0 {
		t.Fatalf("after the restart: %d invoices for %d distinct accounts (run counted %d), %d unbalanced; want exactly %d",
			invoices, distinct, run.InvoicesCreated, unbalanced, accounts)
	}
}

package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// billingTables are the tables a billing run writes, with their columns.
var billingTables = []struct{ name, cols string }{
	{"invoices", "id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date, currency, subtotal, tax, total, status, why, billing_run_id, created_at"},
	{"invoice_lines", "invoice_id, line_no, kind, description, service_id, charge_id, period_start, period_end, amount, taxable"},
	{"journal_transactions", "id, kind, account_id, invoice_id, currency, memo, effective_date, posted_at"},
	{"journal_entries", "tx_id, entry_no, account_id, ledger, amount"},
	{"service_billed_spans", "service_id, from_date, to_date, period_start, period_end, plan_id, plan_name, unit_price, quantity, price, taxable, hold"},
}

func rowsWritten(ctx context.Context, b *testing.B, db *postgres.DB) int64 {
	var total int64
	for _, t := range billingTables {
		var n int64
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+t.name).Scan(&n); err != nil {
			b.Fatal(err)
		}
		total += n
	}
	return total
}

// BenchmarkBillingRun bills 100,000 seeded accounts (one taxed monthly
// service each) through the real path: a billing run opened by the jobs
// runner, its batches worked by River (2 workers) writing invoices, lines,
// journal entries and the services' invoiced spans with COPY. It then COPYs the very same rows into
// look-alike tables (same indexes, no triggers) in the same database to get
// the floor a billing run is compared with, and re-runs billing for the next
// day to check it writes nothing. Reports billing_run_vs_copy_ratio with
// both its numbers (the run's time in billing_run_invoices_per_s, the
// floor's in billing_run_copy_floor_s). Run with -benchtime=1x.
func BenchmarkBillingRun(b *testing.B) {
	const accounts = 100_000
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 3, DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago", HolidayCalendars: []string{"US"},
		DelinquencyWeekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}}, now)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber 100", Price: 4999, Currency: "USD", Interval: billing.IntervalMonthly, Taxable: true}, now)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.PutTaxRate(ctx, billing.TaxRate{Jurisdiction: "US-TX", Name: "TX sales tax", Rate: "0.0625"}, now); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO accounts (number, name, account_type_id, currency, tax_jurisdiction, anchor_date, created_at)
			SELECT 'A-' || lpad(g::text, 7, '0'), 'Subscriber ' || g, %d, 'USD', 'US-TX', '2026-12-01', now() FROM generate_series(1, %d) g`, typ.ID, accounts),
		`INSERT INTO pops (id, created_at) VALUES ('pop-1', now())`,
		fmt.Sprintf(`INSERT INTO services (pop_id, name, method, desired_state, revision, created_at, updated_at, account_id, plan_id, start_date)
			SELECT 'pop-1', 'Internet', 'log', 'active', 0, now(), now(), id, %d, '2026-12-01' FROM accounts`, plan.ID),
		`VACUUM ANALYZE`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}

	batch, _ := strconv.Atoi(os.Getenv("BENCH_BATCH_SIZE")) // 0: the production default
	runner, err := app.NewJobRunner(jobs.Config{Workers: 2, DisableSchedule: true, BatchSize: batch}, db, clock.NewFixed(now), quiet)
	if err != nil {
		b.Fatal(err)
	}
	if err := runner.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = runner.Stop(ctx) }()
	runAndWait := func(date billing.Date) (billing.BillingRun, time.Duration) {
		start := time.Now()
		run, _, err := runner.StartRun(ctx, typ.ID, date, billing.TriggerOnDemand, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for run.Status == billing.RunRunning {
			time.Sleep(10 * time.Millisecond)
			if run, err = db.BillingRun(ctx, run.ID); err != nil {
				b.Fatal(err)
			}
		}
		return run, time.Since(start)
	}

	b.ResetTimer()
	run, elapsed := runAndWait(billing.NewDate(2026, 11, 28))
	b.StopTimer()
	if run.Status != billing.RunCompleted || run.InvoicesCreated != accounts {
		b.Fatalf("run: %+v", run)
	}
	written := rowsWritten(ctx, b, db)

	// The floor: COPY the same rows into look-alike tables.
	var copyElapsed time.Duration
	for _, t := range billingTables {
		if _, err := db.Pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE copy_%s (LIKE %s INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS)`, t.name, t.name)); err != nil {
			b.Fatal(err)
		}
		rows, err := db.Pool.Query(ctx, `SELECT `+t.cols+` FROM `+t.name)
		if err != nil {
			b.Fatal(err)
		}
		data, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"copy_" + t.name}, strings.Split(strings.ReplaceAll(t.cols, " ", ""), ","), pgx.CopyFromRows(data)); err != nil {
			b.Fatal(err)
		}
		copyElapsed += time.Since(start)
	}

	// A re-run for the next day looks at every account again and must write
	// nothing.
	rerun, _ := runAndWait(billing.NewDate(2026, 11, 29))
	if rerun.Status != billing.RunCompleted {
		b.Fatalf("re-run: %+v", rerun)
	}
	rerunRows := rowsWritten(ctx, b, db) - written

	b.ReportMetric(float64(accounts)/elapsed.Seconds(), "billing_run_invoices_per_s")
	b.ReportMetric(elapsed.Seconds()*1_000_000/accounts, "billing_run_1m_extrapolated_s")
	b.ReportMetric(elapsed.Seconds()/copyElapsed.Seconds(), "billing_run_vs_copy_ratio")
	// The floor's own time, so the ratio's two numbers are both on record.
	b.ReportMetric(copyElapsed.Seconds(), "billing_run_copy_floor_s")
	b.ReportMetric(float64(rerunRows), "billing_rerun_rows_written")
	b.ReportMetric(0, "ns/op")
	b.Logf("billing run: %d accounts, %d rows in %s; COPY of the same rows: %s", accounts, written, elapsed.Round(time.Millisecond), copyElapsed.Round(time.Millisecond))
}

package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/api"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// seedAccounts creates n accounts of one type, each with an open invoice
// posted to the ledger and a year of paid history (invoices, payments,
// their allocations and journal transactions), so that the tables and
// their plans look like a running system's rather than empty ones.
func seedAccounts(ctx context.Context, b *testing.B, db *postgres.DB, n int) {
	b.Helper()
	now := time.Now()
	if _, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", TimeZone: "America/Chicago", DueDays: 14, GraceDays: 7}, now); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO accounts (number, name, account_type_id, currency, anchor_date, created_at)
			SELECT 'A-' || lpad(g::text, 7, '0'), 'Subscriber ' || g, 1, 'USD', '2026-12-01', now() FROM generate_series(1, %d) g`, n),
		// Twelve invoices per account: eleven paid, December's open.
		`INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date, currency, subtotal, tax, total, status, paid, created_at)
			SELECT m * 1000000 + a.id, 'INV-' || m || '-' || a.id, a.id, make_date(2026, m, 1), make_date(2026, m, 1) + interval '1 month',
				make_date(2026, m, 1) - 5, make_date(2026, m, 1) + 9, make_date(2026, m, 1) + 16, 'USD', 5000, 0, 5000,
				CASE WHEN m < 12 THEN 'paid' ELSE 'open' END, CASE WHEN m < 12 THEN 5000 ELSE 0 END, now()
			FROM accounts a, generate_series(1, 12) m`,
		`SELECT setval('invoices_id_seq', 13000000)`,
		`INSERT INTO journal_transactions (id, kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT nextval('journal_transactions_id_seq'), 'invoice_issued', account_id, id, 'USD', 'invoice ' || number, issue_date, now() FROM invoices`,
		`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, e.no, t.account_id, e.ledger, e.amount FROM journal_transactions t,
				(VALUES (1::smallint, 'accounts_receivable', 5000), (2::smallint, 'service_revenue', -5000)) e(no, ledger, amount)`,
		`INSERT INTO journal_transactions (id, kind, account_id, currency, memo, effective_date, posted_at)
			SELECT nextval('journal_transactions_id_seq'), 'payment_posted', account_id, 'USD', 'seed ' || id, due_date, now() FROM invoices WHERE status = 'paid'`,
		`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, e.no, t.account_id, e.ledger, e.amount FROM journal_transactions t,
				(VALUES (1::smallint, 'undeposited_funds', 5000), (2::smallint, 'accounts_receivable', -5000)) e(no, ledger, amount)
			WHERE t.kind = 'payment_posted'`,
		`INSERT INTO payments (account_id, method, amount, currency, reference, received_date, journal_tx_id, posted_at, allocated)
			SELECT account_id, 'check', 5000, 'USD', memo, effective_date, id, now(), 5000 FROM journal_transactions WHERE kind = 'payment_posted' ORDER BY id`,
		`INSERT INTO payment_allocations (payment_id, invoice_id, amount)
			SELECT p.id, i.id, 5000 FROM payments p JOIN invoices i ON i.account_id = p.account_id AND i.due_date = p.received_date`,
		// Their history: one allocation event each.
		`INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
			SELECT a.payment_id, a.invoice_id, a.amount, 'applied', p.received_date, 'seed' FROM payment_allocations a JOIN payments p ON p.id = a.payment_id`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPaymentsAPI posts payments through the real admin API over
// loopback HTTP — bearer auth, then one transaction for the payment, its
// journal entries and allocations, and its Idempotency-Key with the stored
// response — from 16 concurrent clients spread over 1,000 accounts
// (BENCH_CLIENTS overrides the 16). Run with -benchtime=5000x.
//
// The database is on a cluster of its own with production durability
// (startDurableCluster: fsync, synchronous_commit, full_page_writes on),
// not the test binary's fast one. On that same cluster, in the same run,
// pgbench measures the floor: a payment-shaped transaction
// (paymentFloorScript) from as many clients, as many transactions in all,
// in a second database seeded alike. Both start right after a checkpoint.
// The clients run in a separate process (this binary re-executed, see
// runPaymentsLoadGenerator); the figure stays end to end (its first
// request to its last answer).
//
// Reports payments_api_per_s, payments_pgbench_floor_per_s (the target for
// payments_api_per_s is max(4,000, half the floor): benchreport computes
// it), payments_loadgen_cpu_s (the load generator's CPU seconds), and per
// payment the server side's CPU (go_cpu_us/payment: this process, which is
// the API without its clients; db_cpu_us/payment: the PostgreSQL server).
func BenchmarkPaymentsAPI(b *testing.B) {
	ctx := context.Background()
	const accounts = 1000
	clients := 16
	if n, err := strconv.Atoi(os.Getenv("BENCH_CLIENTS")); err == nil && n > 0 {
		clients = n
	}
	cluster := startDurableCluster(b)
	dbURL := durableDatabase(b, cluster, "payments_api")
	durableDatabase(b, cluster, "payments_floor")
	db, err := postgres.Open(ctx, dbURL+os.Getenv("BENCH_URL_SUFFIX"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	seedAccounts(ctx, b, db, accounts)
	floorDB, err := postgres.Open(ctx, cluster.URL("payments_floor"))
	if err != nil {
		b.Fatal(err)
	}
	seedAccounts(ctx, b, floorDB, accounts)
	floorDB.Close()
	runner, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.Real{}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	token := "bench-token-0123456789"
	srv := api.NewServer(api.Config{}, api.Deps{Services: db, Idempotency: db, Billing: db, Payments: db, Runner: runner},
		[]api.Token{api.NewToken("bench", api.RoleBilling, token)}, clock.Real{}, quiet, nil)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	// The floor: as many transactions as payments, from as many clients.
	checkpoint(ctx, b, dbURL)
	floor := paymentsFloor(ctx, b, cluster, "payments_floor", clients, (b.N+clients-1)/clients)
	checkpoint(ctx, b, dbURL)

	cpu, cpuErr := newCPUClock(ctx, db.Pool)
	var selfBefore, serverBefore time.Duration
	if cpuErr == nil {
		selfBefore, serverBefore, cpuErr = cpu.read()
	}
	b.ResetTimer()
	res, loadCPU, err := paymentsLoadGenerator(loadGenConfig{URL: hs.URL, Token: token, Payments: b.N, Clients: clients, Accounts: accounts})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if cpuErr == nil {
		var self, server time.Duration
		if self, server, cpuErr = cpu.read(); cpuErr == nil {
			// CPU per payment follows the load of a shared machine much less
			// than payments per second do.
			b.ReportMetric(float64((self-selfBefore).Microseconds())/float64(b.N), "go_cpu_us/payment")
			b.ReportMetric(float64((server-serverBefore).Microseconds())/float64(b.N), "db_cpu_us/payment")
		}
	}
	if cpuErr != nil {
		b.Logf("no CPU times: %v", cpuErr)
	}
	if res.Failed > 0 {
		b.Fatalf("%d payments failed, the first: %s", res.Failed, res.FirstError)
	}
	var posted int
	_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM payments WHERE memo = 'bench'`).Scan(&posted)
	if posted != b.N {
		b.Fatalf("%d payments in the database, want %d", posted, b.N)
	}
	var stored int
	_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE key LIKE 'bench-%' AND status_code = 200`).Scan(&stored)
	if stored != b.N {
		b.Fatalf("%d stored responses, want %d", stored, b.N)
	}
	perSecond := float64(b.N) / res.Elapsed.Seconds()
	b.Logf("durable cluster: %d payments through the API at %.0f/s; pgbench floor %.0f/s (%d clients, prepared); load generator %s CPU (%.1f µs/payment)",
		b.N, perSecond, floor, clients, loadCPU.Round(time.Millisecond), float64(loadCPU.Microseconds())/float64(b.N))
	b.ReportMetric(perSecond, "payments_api_per_s")
	b.ReportMetric(floor, "payments_pgbench_floor_per_s")
	b.ReportMetric(loadCPU.Seconds(), "payments_loadgen_cpu_s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPaymentBatch10k validates and posts a 10,000-payment deposit
// batch (checks to 10,000 accounts) as one unit. Run with -benchtime=1x.
func BenchmarkPaymentBatch10k(b *testing.B) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 10_000
	seedAccounts(ctx, b, db, n)
	batch, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 12, 5), DepositAccount: "bench"}, "bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	lines := make([]billing.BatchLine, n)
	for i := range lines {
		lines[i] = billing.BatchLine{Account: fmt.Sprintf("A-%07d", i+1), Method: billing.PayCheck, Amount: 5000, Reference: fmt.Sprint(10000 + i), Payer: "Payer"}
	}
	if _, err := db.AddBatchLines(ctx, batch.ID, lines); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	v, err := db.ValidateBatch(ctx, batch.ID)
	if err != nil || !v.OK {
		b.Fatalf("validate: %+v %v", v.Errors, err)
	}
	posted, err := db.PostBatch(ctx, batch.ID, "bench", time.Now())
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil || posted.Status != billing.BatchPosted || posted.Count != n {
		b.Fatalf("post: %+v %v", posted.Status, err)
	}
	b.ReportMetric(elapsed.Seconds(), "payment_batch_10k_s")
	b.ReportMetric(0, "ns/op")
}

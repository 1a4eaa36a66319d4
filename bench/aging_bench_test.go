package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/controller/reports"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// agingAccounts is how many accounts BenchmarkARAging seeds: 1,000,000
// (the figure) unless BENCH_AGING_ACCOUNTS says otherwise (e.g.
// 10000 to try it).
func agingAccounts(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("BENCH_AGING_ACCOUNTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 100 || v%100 != 0 {
			b.Fatalf("BENCH_AGING_ACCOUNTS=%q: want a number of accounts, a multiple of 100", s)
		}
		n = v
	}
	return n
}

// BenchmarkARAging computes accounts receivable aging (issue 20) over
// 1,000,000 seeded accounts as of a date 45 days back (2026-11-05, today
// being 2026-12-20), on a ledger with dated allocation history: each
// account at one of 100 POPs has four monthly invoices (issued from Aug 20
// plus id % 10 days, due 14 days later) with their journal transactions,
// and one payment per invoice allocated to it by an allocation event on
// the day it was received: five days before the due date, or, for every
// fifth account, fifty days after it. As of Nov 5 those late payers, 20%
// of the accounts, owe their September invoice 23 to 32 days past due
// (and nobody owes anything 61 days or more past due); the
// benchmark fails unless the report says so. The books are closed through
// October and November (ClosePeriod and its receivable snapshots, untimed),
// as an ISP closes each month, so aging reads October's snapshot and the
// journal of Nov 1 to 5. Timed: the store's bulk reads
// (db.AgingInputs) and the report with every account's row
// (reports.Aging), as GET /api/v1/reports/ar-aging does. Run with
// -benchtime=1x.
func BenchmarkARAging(b *testing.B) {
	n := agingAccounts(b)
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 20, 18, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago"}, now.AddDate(-2, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	seedAging(ctx, b, db, typ.ID, n, billing.DateOf(now))
	seedElapsed := time.Since(seedStart)
	// The books are closed monthly: October and November, each close
	// followed by its receivable snapshot, as the close endpoint does.
	closeStart := time.Now()
	for _, month := range []billing.Date{billing.NewDate(2026, 10, 1), billing.NewDate(2026, 11, 1)} {
		if _, err := db.ClosePeriod(ctx, month, "bench", now); err != nil {
			b.Fatal(err)
		}
		if err := db.MakeReceivableSnapshots(ctx, now); err != nil {
			b.Fatal(err)
		}
	}
	closeElapsed := time.Since(closeStart)
	asOf := billing.DateOf(now).AddDays(-45)

	b.ResetTimer()
	start := time.Now()
	accounts, invoices, err := db.AgingInputs(ctx, asOf)
	if err != nil {
		b.Fatal(err)
	}
	r := reports.Aging(asOf, accounts, invoices, true)
	elapsed := time.Since(start)
	b.StopTimer()

	pastDue := 0
	for _, row := range r.Rows {
		if row.PastDue() > 0 {
			pastDue++
		}
	}
	if pastDue != n/5 || len(r.Totals) != 1 || len(r.ByType) != 1 || r.Totals[0].Days61To90+r.Totals[0].Over90 != 0 {
		b.Fatalf("as of %s: %d accounts past due (want %d), totals %+v", asOf, pastDue, n/5, r.Totals)
	}
	b.ReportMetric(elapsed.Seconds(), "ar_aging_1m_s")
	b.ReportMetric(0, "ns/op")
	b.Logf("aging of %d accounts (%d rows, %d open invoices, %d past due) as of %s in %s; seeding took %s, closing October and November with their snapshots %s",
		n, len(r.Rows), len(invoices), pastDue, asOf, elapsed.Round(time.Millisecond), seedElapsed.Round(time.Second), closeElapsed.Round(time.Millisecond))
}

// seedAging seeds BenchmarkARAging's ledger with set-based SQL, the rows
// consistent by construction (so, as seedSweep, without foreign key checks
// or the balance trigger). Journal ids: invoice i's issue is transaction
// i, its payment transaction 4n + i; payment i pays invoice i.
func seedAging(ctx context.Context, b *testing.B, db *postgres.DB, typeID int64, n int, today billing.Date) {
	b.Helper()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	for _, q := range []string{
		`SET session_replication_role = replica`,
		fmt.Sprintf(`INSERT INTO accounts (number, name, account_type_id, currency, anchor_date, created_at)
			SELECT 'A-' || lpad(g::text, 7, '0'), 'Subscriber ' || g, %d, 'USD', date '2025-01-01', timestamptz '2025-01-01'
			FROM generate_series(1, %d) g`, typeID, n),
		`INSERT INTO pops (id, name, created_at) SELECT 'pop-' || lpad(p::text, 3, '0'), 'POP ' || p, timestamptz '2024-06-01' FROM generate_series(0, 99) p`,
		`INSERT INTO services (pop_id, name, method, desired_state, revision, created_at, updated_at, account_id, start_date)
			SELECT 'pop-' || lpad((id % 100)::text, 3, '0'), 'Internet', 'log', 'active', 1, created_at, created_at, id, anchor_date
			FROM accounts ORDER BY id`,
		fmt.Sprintf(`CREATE TEMP TABLE seed_invoices AS
			SELECT j * %[1]d + a.id AS id, a.id AS account_id, j, d.issue, d.issue + 14 AS due, 4000 + (a.id %% 5) * 1000 AS total,
				CASE WHEN a.id %% 5 = 0 THEN d.issue + 64 ELSE d.issue + 9 END AS paid_on
			FROM accounts a, generate_series(0, 3) j,
				LATERAL (SELECT (date '2026-08-20' + make_interval(months => j))::date + (a.id %% 10)::int AS issue) d`, n),
		fmt.Sprintf(`INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, status, paid, created_at)
			SELECT id, 'INV-' || lpad(id::text, 8, '0'), account_id, issue + 5, (issue + 5 + interval '1 month')::date, issue, due, due + 7,
				'USD', total, 0, total, CASE WHEN paid_on <= date '%[1]s' THEN 'paid' ELSE 'open' END,
				CASE WHEN paid_on <= date '%[1]s' THEN total ELSE 0 END, issue::timestamptz
			FROM seed_invoices ORDER BY id`, today),
		fmt.Sprintf(`SELECT setval('invoices_id_seq', %d)`, 4*n),
		`INSERT INTO journal_transactions (id, kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT id, 'invoice_issued', account_id, id, 'USD', 'invoice', issue, issue::timestamptz FROM seed_invoices ORDER BY id`,
		fmt.Sprintf(`INSERT INTO journal_transactions (id, kind, account_id, currency, memo, effective_date, posted_at)
			SELECT %d + id, 'payment_posted', account_id, 'USD', 'payment', paid_on, paid_on::timestamptz
			FROM seed_invoices WHERE paid_on <= date '%s' ORDER BY id`, 4*n, today),
		fmt.Sprintf(`SELECT setval('journal_transactions_id_seq', %d)`, 8*n),
		`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, e.no, t.account_id, e.ledger, e.sign * i.total
			FROM journal_transactions t JOIN seed_invoices i ON i.id = t.invoice_id,
				(VALUES (1::smallint, 'accounts_receivable', 1), (2::smallint, 'service_revenue', -1)) e(no, ledger, sign)
			WHERE t.kind = 'invoice_issued' ORDER BY t.id, e.no`,
		fmt.Sprintf(`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT %d + i.id, e.no, i.account_id, e.ledger, e.sign * i.total
			FROM seed_invoices i, (VALUES (1::smallint, 'undeposited_funds', 1), (2::smallint, 'accounts_receivable', -1)) e(no, ledger, sign)
			WHERE i.paid_on <= date '%s' ORDER BY i.id, e.no`, 4*n, today),
		fmt.Sprintf(`INSERT INTO payments (id, account_id, method, amount, currency, received_date, journal_tx_id, posted_at, allocated)
			SELECT id, account_id, 'cash', total, 'USD', paid_on, %d + id, paid_on::timestamptz, total
			FROM seed_invoices WHERE paid_on <= date '%s' ORDER BY id`, 4*n, today),
		`INSERT INTO payment_allocations (payment_id, invoice_id, amount) SELECT id, id, amount FROM payments ORDER BY id`,
		`INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
			SELECT id, id, amount, 'applied', received_date, 'seed' FROM payments ORDER BY id`,
		`RESET session_replication_role`,
		`VACUUM ANALYZE`,
		`CHECKPOINT`,
	} {
		start := time.Now()
		tag, err := conn.Exec(ctx, q)
		if err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
		if testing.Verbose() {
			b.Logf("seed: %s: %s in %s", firstWords(q), tag, time.Since(start).Round(time.Millisecond))
		}
	}
	syscall.Sync()
}

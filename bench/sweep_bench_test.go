package bench

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// BenchmarkSweep1M runs one delinquency sweep over 1,000,000 seeded
// accounts of one type (auto-suspend, 7 days' grace, no reminders,
// America/Chicago, every weekday allowed), each with one service at one of
// 100 POPs and three months of invoices posted to the ledger. On the sweep's
// local date (2026-12-20), by (id/100) % 100:
//
//   - 40%: paid up (every invoice paid);
//   - 40%: paid up but for the latest invoice, not yet due;
//   - 15%: the latest invoice past due within its grace (status past_due);
//   - 5%: the latest invoice past its delinquency date (status past_due),
//     500 at each POP.
//
// The sweep (manual, default blast-radius guard: 500 suspensions at a POP
// of 10,000 active services are under its 10%) examines the 200,000
// accounts that owe on a past-due invoice and suspends the 50,000 (status,
// services through the outbox, notices); the benchmark fails unless it
// does exactly that. Only the Sweep call is timed. The pool is
// postgres.Open's with a tracer: the sweep's statements and their times are
// logged, and -v also logs the seeding's. Run with -benchtime=1x.
func BenchmarkSweep1M(b *testing.B) {
	const (
		accounts   = 1_000_000
		delinquent = accounts / 20
		examined   = accounts / 5
	)
	ctx := context.Background()
	tr := &stmtTracer{}
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = 16 // as postgres.Open
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	db := &postgres.DB{Pool: pool}
	defer db.Close()

	now := time.Date(2026, 12, 20, 18, 0, 0, 0, time.UTC) // noon in Chicago
	// As in the controller: each notice goes in with the River job that
	// sends it (one COPY for the sweep's).
	if _, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.NewFixed(now), quiet); err != nil {
		b.Fatal(err)
	}
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7,
		TimeZone: "America/Chicago", AutoSuspend: true,
		DelinquencyWeekdays: []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}},
		now.AddDate(-2, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	seedSweep(ctx, b, db, typ.ID, accounts, billing.DateIn(now, mustLocation(b, typ.TimeZone)))
	seedElapsed := time.Since(seedStart)

	// The zero guard is the default one.
	req := billing.SweepRequest{AccountTypeID: typ.ID, Trigger: billing.SweepManual, Actor: "bench", Guard: billing.SuspensionGuard{}}
	cpu, cpuErr := newCPUClock(ctx, db.Pool)
	var selfBefore, serverBefore time.Duration
	if cpuErr == nil {
		selfBefore, serverBefore, cpuErr = cpu.read()
	}
	b.ResetTimer()
	tr.on.Store(true)
	start := time.Now()
	res, err := db.Sweep(ctx, req, now)
	elapsed := time.Since(start)
	tr.on.Store(false)
	b.StopTimer()
	var selfCPU, serverCPU time.Duration
	if cpuErr == nil {
		var self, server time.Duration
		if self, server, cpuErr = cpu.read(); cpuErr == nil {
			selfCPU, serverCPU = self-selfBefore, server-serverBefore
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	if res.Examined != examined || res.Suspended != delinquent || res.SuspendedServices != delinquent ||
		res.Held != 0 || res.StatusChanges != delinquent || res.Restored != 0 || res.Reminders != 0 {
		b.Fatalf("sweep: examined %d, suspended %d (%d services), held %d, status changes %d, restored %d, reminders %d; want %d examined, %d suspended and changed, nothing held",
			res.Examined, res.Suspended, res.SuspendedServices, res.Held, res.StatusChanges, res.Restored, res.Reminders, examined, delinquent)
	}
	var suspended, changes, notices, noticeJobs int
	if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM services WHERE desired_state = 'suspended'),
			(SELECT count(*) FROM enforcement_changes WHERE desired_state = 'suspended'),
			(SELECT count(*) FROM notices WHERE kind = 'suspended'),
			(SELECT count(*) FROM river_job WHERE kind = 'notice')`).Scan(&suspended, &changes, &notices, &noticeJobs); err != nil {
		b.Fatal(err)
	}
	if suspended != delinquent || changes != delinquent || notices != delinquent || noticeJobs != delinquent {
		b.Fatalf("after the sweep: %d services suspended, %d enforcement changes, %d notices, %d notice jobs; want %d each",
			suspended, changes, notices, noticeJobs, delinquent)
	}

	b.ReportMetric(float64(accounts)/elapsed.Seconds(), "sweep_accounts_per_s")
	b.ReportMetric(elapsed.Seconds(), "sweep_1m_s")
	b.ReportMetric(0, "ns/op")
	if cpuErr == nil {
		// Less noisy than the wall-clock time on a busy machine.
		b.ReportMetric(selfCPU.Seconds(), "go_cpu_s/sweep")
		b.ReportMetric(serverCPU.Seconds(), "db_cpu_s/sweep")
	} else {
		b.Logf("no CPU times: %v", cpuErr)
	}
	b.Logf("sweep of %d accounts (%d examined, %d suspended, guard on, nothing held) in %s; seeding took %s",
		accounts, res.Examined, res.Suspended, elapsed.Round(time.Millisecond), seedElapsed.Round(time.Second))
	b.Logf("where the time went: %s", tr.phases(elapsed))
	b.Logf("the sweep's statements (from sent to rows closed: a query's time includes scanning and assessing its rows):\n%s",
		tr.report(elapsed))
}

func mustLocation(b testing.TB, name string) *time.Location {
	b.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		b.Fatal(err)
	}
	return loc
}

// seedSweep seeds n accounts of type typeID for BenchmarkSweep1M with
// set-based SQL: accounts (with an email address, so suspensions queue
// notices), 100 POPs, one service per account with its enforcement
// history, three monthly invoices per account with their invoice_issued
// journal transactions and, for the paid ones, payment_posted ones. today
// is the sweep's local date. The rows are consistent by construction, so
// the session skips foreign key checks and the journal's balance trigger
// (session_replication_role = replica: several times faster). Then VACUUM
// ANALYZE, CHECKPOINT and sync, so the sweep runs against settled tables.
func seedSweep(ctx context.Context, b testing.TB, db *postgres.DB, typeID int64, n int, today billing.Date) {
	b.Helper()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	day := today.String()
	for _, q := range []string{
		`SET session_replication_role = replica`,
		// (id/100) % 100 is the account's kind (see BenchmarkSweep1M), id % 100
		// its POP.
		fmt.Sprintf(`INSERT INTO accounts (number, name, email, account_type_id, currency, status, anchor_date, created_at)
			SELECT 'A-' || lpad(g::text, 7, '0'), 'Subscriber ' || g, 'subscriber' || g || '@example.net', %d, 'USD',
				CASE WHEN (g / 100) %% 100 >= 80 THEN 'past_due' ELSE 'current' END,
				date '2025-01-01' + g %% 28, timestamptz '2025-01-01' FROM generate_series(1, %d) g`, typeID, n),
		`INSERT INTO pops (id, name, created_at) SELECT 'pop-' || lpad(p::text, 3, '0'), 'POP ' || p, timestamptz '2024-06-01' FROM generate_series(0, 99) p`,
		// Revision: the service's rank at its POP, as if created one by one.
		`INSERT INTO services (pop_id, name, method, addresses, desired_state, revision, created_at, updated_at,
				confirmed_revision, observed_state, last_confirmed_at, account_id, start_date)
			SELECT 'pop-' || lpad((id % 100)::text, 3, '0'), 'Internet', 'log',
				ARRAY['10.' || (id / 65536) % 256 || '.' || (id / 256) % 256 || '.' || id % 256 || '/32'], 'active',
				id / 100 + 1, created_at, created_at, id / 100 + 1, 'active', created_at, id, anchor_date
			FROM accounts ORDER BY id`,
		`UPDATE pops p SET revision = s.last FROM (SELECT pop_id, max(revision) AS last FROM services GROUP BY pop_id) s WHERE s.pop_id = p.id`,
		`INSERT INTO enforcement_changes (pop_id, revision, service_id, desired_state, method, addresses, actor, created_at)
			SELECT pop_id, revision, id, 'active', method, addresses, 'seed', created_at FROM services`,
		// Three invoices per account, j = 0 the latest; the latest one's due
		// date places the account in its kind.
		fmt.Sprintf(`INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, status, paid, created_at)
			SELECT j * %d + x.id, 'INV-' || lpad(x.id::text, 7, '0') || '-' || 3 - j, x.id, d.due - 11, (d.due - 11 + interval '1 month')::date,
				d.due - 14, d.due, d.due + 7, 'USD', x.amount, 0, x.amount, d.status,
				CASE WHEN d.status = 'paid' THEN x.amount ELSE 0 END, (d.due - 14)::timestamptz
			FROM (SELECT id, (id / 100) %% 100 AS kind, 4000 + (id %% 5) * 1000 AS amount,
					CASE WHEN (id / 100) %% 100 < 40 THEN date '%[2]s' - (id %% 28)::int
						WHEN (id / 100) %% 100 < 80 THEN date '%[2]s' + 1 + (id %% 27)::int
						WHEN (id / 100) %% 100 < 95 THEN date '%[2]s' - 1 - (id %% 6)::int
						ELSE date '%[2]s' - 7 - (id %% 14)::int END AS latest
				FROM accounts) x,
				generate_series(0, 2) j,
				LATERAL (SELECT (x.latest - make_interval(months => j))::date AS due,
					CASE WHEN j > 0 OR x.kind < 40 THEN 'paid' ELSE 'open' END AS status) d
			ORDER BY x.id, j DESC`, n, day),
		fmt.Sprintf(`SELECT setval('invoices_id_seq', %d)`, 3*n),
		`INSERT INTO journal_transactions (id, kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT nextval('journal_transactions_id_seq'), 'invoice_issued', account_id, id, 'USD', 'invoice ' || number, issue_date, created_at
			FROM invoices ORDER BY id`,
		`INSERT INTO journal_transactions (id, kind, account_id, currency, memo, effective_date, posted_at)
			SELECT nextval('journal_transactions_id_seq'), 'payment_posted', account_id, 'USD', 'payment for ' || number,
				due_date - (id % 10)::int, (due_date - (id % 10)::int)::timestamptz
			FROM invoices WHERE status = 'paid' ORDER BY id`,
		`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, e.no, t.account_id, e.ledger, e.sign * i.total
			FROM journal_transactions t JOIN invoices i ON i.id = t.invoice_id,
				(VALUES (1::smallint, 'accounts_receivable', 1), (2::smallint, 'service_revenue', -1)) e(no, ledger, sign)
			WHERE t.kind = 'invoice_issued' ORDER BY t.id, e.no`,
		`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, e.no, t.account_id, e.ledger, e.sign * (4000 + (t.account_id % 5) * 1000)
			FROM journal_transactions t,
				(VALUES (1::smallint, 'undeposited_funds', 1), (2::smallint, 'accounts_receivable', -1)) e(no, ledger, sign)
			WHERE t.kind = 'payment_posted' ORDER BY t.id, e.no`,
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
	// The seeding left gigabytes of dirty pages in the kernel's cache (fsync
	// is off): write them out now rather than during the sweep.
	start := time.Now()
	syscall.Sync()
	if testing.Verbose() {
		b.Logf("seed: sync in %s", time.Since(start).Round(time.Millisecond))
	}
}

// stmtTracer records the statements run through the pool while on is set,
// with the time from sending each to its end (for a query: its rows
// closed, so it includes what the caller does with each row).
type stmtTracer struct {
	on   atomic.Bool
	mu   sync.Mutex
	recs []stmtRec
}

type stmtRec struct {
	sql  string
	rows int64
	took time.Duration
	end  time.Time
}

type stmtStartKey struct{}

type stmtStart struct {
	sql string
	at  time.Time
}

func (t *stmtTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !t.on.Load() {
		return ctx
	}
	return context.WithValue(ctx, stmtStartKey{}, stmtStart{data.SQL, time.Now()})
}

func (t *stmtTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	s, ok := ctx.Value(stmtStartKey{}).(stmtStart)
	if !ok {
		return
	}
	end := time.Now()
	t.mu.Lock()
	t.recs = append(t.recs, stmtRec{sql: s.sql, rows: data.CommandTag.RowsAffected(), took: end.Sub(s.at), end: end})
	t.mu.Unlock()
}

// TraceBatchStart, TraceBatchQuery and TraceBatchEnd record a pipelined
// batch's statements like others, each from the end of the one before it
// (the first from the batch's start): the server runs them one after
// another and answers in order, so that is about each one's time there.
func (t *stmtTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	if !t.on.Load() {
		return ctx
	}
	return context.WithValue(ctx, batchClockKey{}, &batchClock{last: time.Now()})
}

func (t *stmtTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	c, ok := ctx.Value(batchClockKey{}).(*batchClock)
	if !ok {
		return
	}
	now := time.Now()
	took := now.Sub(c.last)
	c.last = now
	t.mu.Lock()
	t.recs = append(t.recs, stmtRec{sql: data.SQL, rows: data.CommandTag.RowsAffected(), took: took, end: now})
	t.mu.Unlock()
}

func (t *stmtTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TraceCopyFromStart and TraceCopyFromEnd record a COPY (River's bulk job
// insert) as a statement "COPY <table>".
func (t *stmtTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if !t.on.Load() {
		return ctx
	}
	return context.WithValue(ctx, stmtStartKey{}, stmtStart{"COPY " + data.TableName.Sanitize(), time.Now()})
}

func (t *stmtTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData(data))
}

type batchClockKey struct{}

// batchClock is when a batch's last result came.
type batchClock struct{ last time.Time }

// sweepPhases name the parts of a sweep by the statements they run: a
// statement (its whole text, prefixed "tx| " from the sweep's writing
// transaction's BEGIN on) goes to the first entry whose text it contains.
var sweepPhases = []struct{ name, contains string }{
	{"lock+re-read", "tx| WITH owed AS"},
	{"read+assess", "WITH owed AS"},
	{"read+assess", "SELECT min(id), max(id) FROM accounts"},
	{"lock+re-read", "tx| SELECT 1 FROM accounts"},
	{"guard", "tx| SELECT p,"},
	{"statuses+audit", "account_status_changes"},
	{"statuses+audit", "enable_mergejoin"},
	{"statuses+audit", "suspension_batch"},
	{"services+outbox", "services"},
	{"services+outbox", "UPDATE pops"},
	{"services+outbox", "pg_notify"},
	{"notices", "notices"},
	{"notice jobs", "COPY "},
	{"notices", "SELECT id, email, name FROM accounts"},
}

// phases sums the recorded statements' times by sweepPhases, the rest as
// "other" and the time outside them all as "go". Times are wall-clock: of
// statements run at once (on several connections) each moment counts once.
func (t *stmtTracer) phases(total time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	spans := map[string][]span{}
	var all []span
	inTx := false
	for _, r := range t.recs {
		q := markTx(strings.TrimSpace(spaces.ReplaceAllString(r.sql, " ")), &inTx)
		name := "other"
		for _, p := range sweepPhases {
			if strings.Contains(q, p.contains) {
				name = p.name
				break
			}
		}
		sp := span{r.end.Add(-r.took), r.end}
		spans[name] = append(spans[name], sp)
		all = append(all, sp)
	}
	var parts []string
	for _, name := range []string{"read+assess", "lock+re-read", "guard", "services+outbox", "statuses+audit", "notices", "notice jobs", "other"} {
		parts = append(parts, fmt.Sprintf("%s %.2fs", name, union(spans[name]).Seconds()))
	}
	parts = append(parts, fmt.Sprintf("go %.2fs", (total-union(all)).Seconds()))
	return strings.Join(parts, ", ")
}

// span is when a statement ran.
type span struct{ from, to time.Time }

// union is how long at least one of ss was running.
func union(ss []span) time.Duration {
	slices.SortFunc(ss, func(a, b span) int { return a.from.Compare(b.from) })
	var sum time.Duration
	var cur span
	for i, s := range ss {
		switch {
		case i == 0:
			cur = s
		case s.from.After(cur.to):
			sum += cur.to.Sub(cur.from)
			cur = s
		case s.to.After(cur.to):
			cur.to = s.to
		}
	}
	if len(ss) > 0 {
		sum += cur.to.Sub(cur.from)
	}
	return sum
}

// markTx prefixes q with "tx| " from the sweep's writing transaction's
// BEGIN on (the reading ones begin read only).
func markTx(q string, inTx *bool) string {
	if l := strings.ToLower(q); strings.HasPrefix(l, "begin") && !strings.Contains(l, "read only") {
		*inTx = true
	}
	if *inTx {
		return "tx| " + q
	}
	return q
}

// report sums the recorded statements by text, in the order each was
// first run, and says how much of total was spent outside them. Statements
// of the writing transaction are marked "tx|".
func (t *stmtTracer) report(total time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	type sum struct {
		n, rows int64
		took    time.Duration
	}
	var order []string
	sums := map[string]*sum{}
	var all []span
	inTx := false
	for _, r := range t.recs {
		all = append(all, span{r.end.Add(-r.took), r.end})
		k := markTx(firstWords(r.sql), &inTx)
		if sums[k] == nil {
			sums[k] = &sum{}
			order = append(order, k)
		}
		sums[k].n++
		sums[k].rows += r.rows
		sums[k].took += r.took
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "  %9s %5s %8s  statement\n", "time", "runs", "rows")
	for _, k := range order {
		s := sums[k]
		fmt.Fprintf(&sb, "  %9s %5d %8d  %s\n", s.took.Round(time.Millisecond), s.n, s.rows, k)
	}
	in := union(all)
	fmt.Fprintf(&sb, "  %9s in %d statements (wall clock: statements run at once count once); %s outside them (Go between statements)",
		in.Round(time.Millisecond), len(t.recs), (total - in).Round(time.Millisecond))
	return sb.String()
}

var spaces = regexp.MustCompile(`\s+`)

// firstWords is the start of a statement on one line.
func firstWords(q string) string {
	q = strings.TrimSpace(spaces.ReplaceAllString(q, " "))
	if len(q) > 100 {
		q = q[:100] + "…"
	}
	return q
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tollgate-isp/tollgate/agent"
	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/enforcement"
	"github.com/tollgate-isp/tollgate/enforcement/routeros"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/routerossim"
)

// BenchmarkPaymentToRestore measures how long a suspended subscriber waits,
// after paying, for the router to let them back in: from a payment API call
// starting to the subscriber's address leaving the RouterOS simulator's
// suspended address list.
//
// Everything on the way is the real thing, in one process: the controller
// (app.New: admin API over loopback HTTP, PostgreSQL, the push hub and its
// gRPC stream), the agent (agent.New with the routeros driver) and the
// RouterOS API simulator it drives over TCP. Setup, untimed: 6,000 accounts
// (the payments to come) of a type with auto-suspend, the past_due
// reactivation rule and a reconnection fee, each owing one invoice 30 days
// past due and having one routeros service with its own IPv4 address at one
// POP, are seeded with set-based SQL; a delinquency sweep (guard disabled)
// suspends them all; the agent then connects and puts every address on the
// router's list.
//
// The run: 200 payments a second for 30 seconds, open loop (each payment in
// its own goroutine at its scheduled time, whatever the earlier ones are
// doing), each paying one account's past-due invoice through POST
// /api/v1/accounts/{id}/payments with an Idempotency-Key; the payment
// restores the account's service in its own transaction, the agent hears it
// on its stream and the driver removes the address. The simulator's
// OnChange hook timestamps each removal. The benchmark fails unless every
// payment is answered 200 (however late: a controller that falls behind
// makes the figures large, not the run fail), every address is gone within
// 30 s of the last answer, and no other entry was removed. The router has
// no command rate limit (routeros rate_limit -1, as in
// BenchmarkRouterOSReconcile100k) and the agent's periodic full reconcile
// is off: the figure is the pipeline's latency. The database is on a
// cluster with production durability (startDurableCluster: fsync,
// synchronous_commit and full_page_writes on), not the test binary's fast
// one. BENCH_RESTORE_RATE and
// BENCH_RESTORE_SECONDS change the 200 and the 30 (for exploring; the
// figures are defined by the defaults). It reports
// payment_to_restore_p50_ms and payment_to_restore_p99_ms (target p99 ≤
// 500 ms); -v logs p90, max, the API's own response times, the rate the
// payments were sent at and the rate they were answered at. Run with
// -benchtime=1x.
func BenchmarkPaymentToRestore(b *testing.B) {
	rate, seconds := 200, 30 // payments per second, for so long
	if v, err := strconv.Atoi(os.Getenv("BENCH_RESTORE_RATE")); err == nil && v > 0 {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("BENCH_RESTORE_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	n := rate * seconds
	const (
		pop    = "pop-restore"
		router = "edge-1"
		token  = "bench-restore-token-0123456789"
	)
	list := routeros.DefaultAddressList
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	setupStart := time.Now()

	// The controller, on a database with production durability (see
	// startDurableCluster).
	f := false
	dbURL := durableDatabase(b, startDurableCluster(b), "payment_to_restore")
	ctrl, err := app.New(ctx, app.Config{
		DatabaseURL:    dbURL,
		MigrateOnStart: &f, // the template is migrated
		HTTP:           app.HTTPConfig{Listen: "127.0.0.1:0"},
		GRPC:           app.GRPCConfig{Listen: "127.0.0.1:0", InsecurePlaintext: true},
		API:            app.APIConfig{Tokens: []app.TokenConfig{{Name: "bench", Role: "billing", Token: token}}},
		Jobs:           app.JobsConfig{TickInterval: time.Hour}, // no scheduled sweep or billing run meanwhile
		Delinquency:    app.DelinquencyConfig{Guard: billing.SuspensionGuard{Disabled: true}},
	}, quiet, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctrlDone := make(chan struct{})
	go func() { _ = ctrl.Run(ctx); close(ctrlDone) }()
	defer func() { cancel(); <-ctrlDone }()
	db := ctrl.DB()
	// The jobs runner ticks once at start: let that pass before there is an
	// account type, or the tick would open a billing run and run the
	// type's scheduled sweep along with the benchmark's. The next tick is
	// an hour away.
	for ticked := 0; ticked == 0; {
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'billing_tick' AND state = 'completed'`).Scan(&ticked); err != nil {
			b.Fatal(err)
		}
		if time.Since(setupStart) > time.Minute {
			b.Fatal("the jobs runner's first tick did not complete within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Accounts, suspended by a real sweep.
	now := time.Now()
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7,
		TimeZone: "America/Chicago", AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue, ReconnectionFee: 1000,
		DelinquencyWeekdays: []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}},
		now.AddDate(-1, 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	seedRestore(ctx, b, db, typ.ID, n, pop, router, billing.DateIn(now, mustLocation(b, typ.TimeZone)))
	res, err := db.Sweep(ctx, billing.SweepRequest{AccountTypeID: typ.ID, Trigger: billing.SweepManual, Actor: "bench",
		Guard: billing.SuspensionGuard{Disabled: true}}, now)
	if err != nil {
		b.Fatal(err)
	}
	if res.Suspended != n || res.SuspendedServices != n || res.Held != 0 {
		b.Fatalf("sweep: %d accounts suspended (%d services), %d held; want %d, nothing held", res.Suspended, res.SuspendedServices, res.Held, n)
	}
	type target struct {
		account int64
		address string
	}
	targets := make([]target, 0, n)
	rows, err := db.Pool.Query(ctx, `SELECT a.id, s.addresses[1] FROM accounts a JOIN services s ON s.account_id = a.id
		WHERE a.status = 'suspended' AND s.desired_state = 'suspended' ORDER BY a.id`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var t target
		if err := rows.Scan(&t.account, &t.address); err != nil {
			b.Fatal(err)
		}
		targets = append(targets, t)
	}
	if rows.Close(); rows.Err() != nil || len(targets) != n {
		b.Fatalf("%d suspended accounts with a suspended service, want %d (%v)", len(targets), n, rows.Err())
	}
	var popRevision int64
	if err := db.Pool.QueryRow(ctx, `SELECT revision FROM pops WHERE id = $1`, pop).Scan(&popRevision); err != nil {
		b.Fatal(err)
	}
	seeded := time.Since(setupStart)

	// The router and the agent, which applies the suspensions.
	sim, err := routerossim.Start(routerossim.Config{Users: map[string]string{"tollgate": "pw"}})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	drv, err := routeros.New(routeros.Config{Routers: []routeros.RouterConfig{{
		Name: router, Address: sim.Addr(), Username: "tollgate", Password: "pw", RateLimit: -1,
	}}}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer drv.Close()
	conn, err := grpc.NewClient(ctrl.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ag, err := agent.New(agent.Config{POP: pop, AgentID: "bench", ReconcileInterval: -1}, conn,
		map[string]enforcement.Driver{"routeros": drv}, quiet, clock.Real{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	agDone := make(chan struct{})
	go func() { _ = ag.Run(ctx); close(agDone) }()
	defer func() { cancel(); <-agDone }()
	for ag.AppliedRevision() < popRevision || sim.Count(list) < n {
		if time.Since(setupStart) > 10*time.Minute {
			b.Fatalf("the agent applied revision %d of %d, the router lists %d of %d addresses", ag.AppliedRevision(), popRevision, sim.Count(list), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := sim.Count(list); got != n {
		b.Fatalf("the router lists %d addresses, want %d", got, n)
	}
	b.Logf("setup: %d accounts seeded and swept in %s, suspensions on the router after %s",
		n, seeded.Round(time.Millisecond), time.Since(setupStart).Round(time.Millisecond))

	// Watch the router: when was each address removed?
	index := make(map[string]int, n)
	for i, t := range targets {
		index[t.address] = i
	}
	removedAt := make([]time.Time, n) // written by the observer only
	var removed atomic.Int64
	allRemoved := make(chan struct{})
	var stray []string // removals of addresses not paid for; observer only
	stopWatch := sim.OnChange(func(c routerossim.Change) {
		if c.Op != routerossim.OpRemove || c.List != list {
			return
		}
		i, ok := index[c.Address]
		if !ok || !removedAt[i].IsZero() {
			stray = append(stray, c.Address)
			return
		}
		removedAt[i] = c.At
		if removed.Add(1) == int64(n) {
			close(allRemoved)
		}
	})

	// The payments: open loop, one goroutine each at its scheduled time.
	url := "http://" + ctrl.HTTPAddr()
	// No client timeout: -timeout bounds the run.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	sentAt := make([]time.Time, n)       // written by payment i's goroutine only
	answered := make([]time.Duration, n) // likewise
	lag := make([]time.Duration, n)      // how late payment i started
	var failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	stopSampling := func() {}
	if os.Getenv("BENCH_RESTORE_ACTIVITY") != "" {
		stopSampling = sampleActivity(ctx, b, dbURL, db, pop, ag.AppliedRevision, func() int { return sim.Count(list) })
	}
	b.ResetTimer()
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			t := targets[i]
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/accounts/%d/payments", url, t.account),
				bytes.NewBufferString(`{"method":"cash","amount":5000,"memo":"bench restore"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Idempotency-Key", fmt.Sprintf("restore-%d", i))
			req.Header.Set("Content-Type", "application/json")
			sent := time.Now()
			sentAt[i], lag[i] = sent, sent.Sub(at)
			resp, err := hc.Do(req)
			answered[i] = time.Since(sent)
			if err != nil || resp.StatusCode != http.StatusOK {
				failed.Add(1)
				firstErr.Do(func() {
					if err == nil {
						body, _ := io.ReadAll(resp.Body)
						err = fmt.Errorf("%s: %s", resp.Status, body)
					}
					b.Errorf("payment to account %d: %v", t.account, err)
				})
			}
			if resp != nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	sending := time.Since(start)
	wg.Wait()
	lastSent := time.Now()
	answering := lastSent.Sub(start)
	select {
	case <-allRemoved:
	case <-time.After(30 * time.Second):
	}
	b.StopTimer()
	stopSampling()
	stopWatch() // after this the observer's writes are visible here
	if k := failed.Load(); k > 0 {
		b.Fatalf("%d of %d payments failed", k, n)
	}
	if got := removed.Load(); got != int64(n) {
		var missing []string
		for i, t := range targets {
			if removedAt[i].IsZero() && len(missing) < 10 {
				missing = append(missing, t.address)
			}
		}
		b.Fatalf("%d of %d addresses removed from the router within 30 s of the last payment's answer (%s later); still listed, e.g. %v; router count %d",
			got, n, time.Since(lastSent).Round(time.Millisecond), missing, sim.Count(list))
	}
	if len(stray) > 0 || sim.Count(list) != 0 {
		b.Fatalf("%d removals of addresses not paid for (or removed twice), e.g. %v; %d entries left", len(stray), stray[:min(len(stray), 10)], sim.Count(list))
	}
	ids := make([]int64, n)
	for i, t := range targets {
		ids[i] = t.account
	}
	var restored int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM accounts WHERE id = ANY($1) AND status = 'current'`, ids).Scan(&restored); err != nil || restored != n {
		b.Fatalf("%d of %d accounts current after paying (%v)", restored, n, err)
	}

	lat := make([]time.Duration, n)
	afterAnswer := make([]time.Duration, n) // removal after the API's answer (negative: before)
	for i := range n {
		lat[i] = removedAt[i].Sub(sentAt[i])
		afterAnswer[i] = lat[i] - answered[i]
	}
	slices.Sort(lat)
	slices.Sort(afterAnswer)
	slices.Sort(answered)
	slices.Sort(lag)
	ms := func(d []time.Duration, q float64) float64 {
		return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond)
	}
	b.Logf("%d payments sent in %s (%.1f/s; the pacer started them up to %.1f ms late, p99 %.1f ms)",
		n, sending.Round(time.Millisecond), float64(n-1)/sending.Seconds(), ms(lag, 1), ms(lag, 0.99))
	b.Logf("payment → address removed: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
		ms(lat, 0.5), ms(lat, 0.9), ms(lat, 0.99), ms(lat, 1))
	b.Logf("the API's answer: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; the last after %s (%.1f payments/s)",
		ms(answered, 0.5), ms(answered, 0.9), ms(answered, 0.99), ms(answered, 1), answering.Round(time.Millisecond), float64(n)/answering.Seconds())
	b.Logf("the address removed after the answer (negative: before it): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms",
		ms(afterAnswer, 0.5), ms(afterAnswer, 0.9), ms(afterAnswer, 0.99))
	b.ReportMetric(ms(lat, 0.5), "payment_to_restore_p50_ms")
	b.ReportMetric(ms(lat, 0.99), "payment_to_restore_p99_ms")
	b.ReportMetric(0, "ns/op")
}

// seedRestore seeds, with set-based SQL, n accounts of type typeID for
// BenchmarkPaymentToRestore: each past due (status past_due) on one 50.00
// invoice issued 44 days before today (the type's local date), due 30 days
// before and delinquent 23 days before, posted to the ledger; each with one
// active routeros service at pop on router, address 10.x.y.z (distinct),
// created with its enforcement history, as if the POP's agent had long
// confirmed it.
func seedRestore(ctx context.Context, b *testing.B, db *postgres.DB, typeID int64, n int, pop, router string, today billing.Date) {
	b.Helper()
	due := today.AddDays(-30).String()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO accounts (number, name, email, account_type_id, currency, status, anchor_date, created_at)
			SELECT 'R-' || lpad(g::text, 7, '0'), 'Subscriber ' || g, 'subscriber' || g || '@example.net', %d, 'USD', 'past_due',
				date '%s' - 44, now() - interval '1 year' FROM generate_series(1, %d) g`, typeID, due, n),
		fmt.Sprintf(`INSERT INTO pops (id, name, created_at) VALUES ('%s', 'Restore POP', now() - interval '1 year')`, pop),
		fmt.Sprintf(`INSERT INTO services (pop_id, name, method, addresses, device, desired_state, revision, created_at, updated_at,
				confirmed_revision, observed_state, last_confirmed_at, account_id, start_date)
			SELECT '%s', 'Internet', 'routeros', ARRAY['10.' || (id / 65536) %% 256 || '.' || (id / 256) %% 256 || '.' || id %% 256], '%s', 'active',
				row_number() OVER (ORDER BY id), created_at, created_at, row_number() OVER (ORDER BY id), 'active', created_at, id, anchor_date
			FROM accounts WHERE account_type_id = %d ORDER BY id`, pop, router, typeID),
		fmt.Sprintf(`UPDATE pops p SET revision = (SELECT max(revision) FROM services WHERE pop_id = p.id) WHERE id = '%s'`, pop),
		fmt.Sprintf(`INSERT INTO enforcement_changes (pop_id, revision, service_id, desired_state, method, addresses, device, actor, created_at)
			SELECT pop_id, revision, id, 'active', method, addresses, device, 'seed', created_at FROM services WHERE pop_id = '%s'`, pop),
		fmt.Sprintf(`INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, status, paid, created_at)
			SELECT nextval('invoices_id_seq'), 'INV-R-' || lpad(id::text, 7, '0'), id, d - 11, (d - 11 + interval '1 month')::date,
				d - 14, d, d + 7, 'USD', 5000, 0, 5000, 'open', 0, (d - 14)::timestamptz
			FROM accounts, (SELECT date '%s' AS d) x WHERE account_type_id = %d ORDER BY id`, due, typeID),
		`INSERT INTO journal_transactions (id, kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT nextval('journal_transactions_id_seq'), 'invoice_issued', account_id, id, 'USD', 'invoice ' || number, issue_date, created_at
			FROM invoices ORDER BY id`,
		`INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT t.id, e.no, t.account_id, e.ledger, e.sign * 5000 FROM journal_transactions t,
				(VALUES (1::smallint, 'accounts_receivable', 1), (2::smallint, 'service_revenue', -1)) e(no, ledger, sign)
			WHERE t.kind = 'invoice_issued' ORDER BY t.id, e.no`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
}

// sampleActivity, for BENCH_RESTORE_ACTIVITY (exploring, not a figure),
// samples pg_stat_activity and the controller's pool every 50 ms on a
// connection of its own until the returned function is called, which logs
// what the database's sessions were doing (state, wait event and the start
// of the statement, most frequent first, in session-samples) and the
// pool's acquire statistics; and once a second the POP's revision, the
// agent's applied revision and the router's list length.
func sampleActivity(ctx context.Context, b *testing.B, url string, db *postgres.DB, pop string, applied func() int64, listed func() int) func() {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	// With pg_stat_statements loaded (not by the test cluster), also which
	// statements cost the server most.
	_, statErr := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	if statErr == nil {
		_, statErr = conn.Exec(ctx, `SELECT pg_stat_statements_reset()`)
	}
	before := db.Pool.Stat()
	counts := map[string]int{}
	samples, failed := 0, 0
	var progress []string
	start := time.Now()
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// (A session starting up has no state yet.)
			rows, err := conn.Query(ctx, `SELECT coalesce(state, '-') || ' ' || coalesce(wait_event_type || ':' || wait_event, '-') || ' ' ||
					left(regexp_replace(coalesce(query, ''), '\s+', ' ', 'g'), 60)
				FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
			if err != nil {
				failed++
				continue
			}
			keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				failed++
				continue
			}
			samples++
			for _, k := range keys {
				counts[k]++
			}
			if samples%20 == 0 {
				var rev int64
				if err := conn.QueryRow(ctx, `SELECT revision FROM pops WHERE id = $1`, pop).Scan(&rev); err == nil {
					a := applied()
					progress = append(progress, fmt.Sprintf("%5.1fs pop revision %d, agent applied %d (%d behind), router lists %d",
						time.Since(start).Seconds(), rev, a, rev-a, listed()))
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		defer conn.Close(context.Background())
		if statErr == nil {
			rows, err := conn.Query(ctx, `SELECT calls, round(total_plan_time::numeric, 1), round(total_exec_time::numeric, 1),
					left(regexp_replace(query, '\s+', ' ', 'g'), 70)
				FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
				ORDER BY total_plan_time + total_exec_time DESC LIMIT 25`)
			if err == nil {
				b.Logf("pg_stat_statements: calls, plan ms, exec ms, statement")
				var calls int64
				var plan, exec float64
				var q string
				_, _ = pgx.ForEachRow(rows, []any{&calls, &plan, &exec, &q}, func() error {
					b.Logf("  %7d %9.1f %9.1f  %s", calls, plan, exec, q)
					return nil
				})
			}
		}
		after := db.Pool.Stat()
		type kv struct {
			k string
			n int
		}
		var all []kv
		for k, n := range counts {
			all = append(all, kv{k, n})
		}
		slices.SortFunc(all, func(x, y kv) int { return y.n - x.n })
		for _, p := range progress {
			b.Logf("  %s", p)
		}
		b.Logf("pg_stat_activity: %d samples (%d failed), sessions per sample by state, wait and statement:", samples, failed)
		for _, e := range all[:min(len(all), 25)] {
			b.Logf("  %6.2f  %s", float64(e.n)/float64(max(samples, 1)), e.k)
		}
		acq := after.AcquireCount() - before.AcquireCount()
		b.Logf("pool: %d acquires, %d had to wait, mean wait %s, max conns %d",
			acq, after.EmptyAcquireCount()-before.EmptyAcquireCount(),
			((after.AcquireDuration() - before.AcquireDuration()) / time.Duration(max(acq, 1))).Round(time.Microsecond), after.MaxConns())
	}
}

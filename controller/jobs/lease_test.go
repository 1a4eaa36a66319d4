package jobs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// billableType makes an account type with three accounts that a run on
// 2026-11-26 invoices.
func billableType(t *testing.T, db *postgres.DB, now time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", BillingMode: billing.BillingFixedDay, BillingDay: 1,
		InvoiceLeadDays: 5, DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, now)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := db.CreatePlan(ctx, billing.Plan{Name: "Fiber", Price: 5000, Currency: "USD"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ana", "Ben", "Chloe"} {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: name, AccountTypeID: typ.ID, Currency: "USD"}, now)
		if err != nil {
			t.Fatal(err)
		}
		aid, pid := a.ID, plan.ID
		if _, err := db.CreateService(ctx, billing.NewService{POP: "p1", Binding: billing.Binding{Method: "log"}, AccountID: &aid, PlanID: &pid,
			StartDate: billing.NewDate(2026, 12, 1)}, "test", now); err != nil {
			t.Fatal(err)
		}
	}
	return typ.ID
}

// waitRun waits up to limit for run id to finish and returns it.
func waitRun(t *testing.T, db *postgres.DB, id int64, limit time.Duration) billing.BillingRun {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		run, err := db.BillingRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != billing.RunRunning || time.Now().After(deadline) {
			return run
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCrashedBillingBatchResumesWithinAMinuteOfRestart leaves a billing run
// as a controller that crashed mid-run leaves it (its three batch jobs
// "running" under a client that is gone, taken just now) and starts a
// controller's job runner with the default settings: the run must finish
// within 60 s, each batch worked once more, not after River's stuck-job
// rescue (6 minutes by default).
func TestCrashedBillingBatchResumesWithinAMinuteOfRestart(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typeID := billableType(t, db, now)

	crashed := newRunner(t, Config{DisableSchedule: true, BatchSize: 1}, db, clk, quiet)
	run, _, err := crashed.StartRun(ctx, typeID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test")
	if err != nil || run.TotalBatches != 3 {
		t.Fatalf("run %+v: %v", run, err)
	}
	tag, err := db.Pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
		attempted_by = ARRAY['crashed-controller'] WHERE kind = 'billing_batch'`)
	if err != nil || tag.RowsAffected() != 3 {
		t.Fatalf("crash the batches: %v %v", tag, err)
	}

	restarted := newRunner(t, Config{DisableSchedule: true, BatchSize: 1}, db, clk, quiet)
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = restarted.Stop(ctx) }()
	done := waitRun(t, db, run.ID, 60*time.Second)
	if done.Status != billing.RunCompleted || done.InvoicesCreated != 3 || done.DoneBatches != 3 {
		t.Fatalf("60 s after the restart the crashed run is %s, %d/%d batches, %d invoices; want completed, 3/3, 3",
			done.Status, done.DoneBatches, done.TotalBatches, done.InvoicesCreated)
	}
	// River records a job's completion just after its transaction commits.
	var attempts []int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		attempts = attempts[:0]
		rows, err := db.Pool.Query(ctx, `SELECT attempt FROM river_job WHERE kind = 'billing_batch' AND state = 'completed' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a int
			if err := rows.Scan(&a); err != nil {
				t.Fatal(err)
			}
			attempts = append(attempts, a)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if len(attempts) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(attempts) != 3 || attempts[0] != 2 || attempts[1] != 2 || attempts[2] != 2 {
		t.Fatalf("completed batch jobs' attempts %v, want [2 2 2] (the crashed attempt and one more)", attempts)
	}
}

// TestHealthyLongBatchIsNeitherRescuedNorDuplicated runs a billing batch
// slowed to eight lease lifetimes on one of two live job runners (the lease
// is shortened to 1 s so the test takes seconds, not minutes; with the
// default 30 s lease the same holds for a batch of several minutes): the
// other runner must not take it over, the batch is worked once, its job is
// on its first attempt with no error, and each account is invoiced once.
func TestHealthyLongBatchIsNeitherRescuedNorDuplicated(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFixed(now)
	typeID := billableType(t, db, now)

	const lease = time.Second
	var worked atomic.Int32
	slow := func(ctx context.Context, _ BillingBatchArgs) {
		worked.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(8 * lease):
		}
	}
	var runners []*Runner
	for range 2 {
		r := newRunner(t, Config{DisableSchedule: true, LeaseTTL: lease}, db, clk, quiet)
		r.beforeBatch = slow
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.Stop(ctx) }()
		runners = append(runners, r)
	}
	run, _, err := runners[0].StartRun(ctx, typeID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test")
	if err != nil || run.TotalBatches != 1 {
		t.Fatalf("run %+v: %v", run, err)
	}
	done := waitRun(t, db, run.ID, 60*time.Second)
	if done.Status != billing.RunCompleted || done.InvoicesCreated != 3 {
		t.Fatalf("run %s with %d invoices, want completed with 3", done.Status, done.InvoicesCreated)
	}
	// Give a wrongly rescued copy time to start.
	time.Sleep(2 * lease)
	if n := worked.Load(); n != 1 {
		t.Fatalf("the batch was worked %d times, want once", n)
	}
	var attempt, errs int
	var state string
	for deadline := time.Now().Add(10 * time.Second); state != "completed" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := db.Pool.QueryRow(ctx, `SELECT attempt, state, coalesce(array_length(errors, 1), 0) FROM river_job WHERE kind = 'billing_batch'`).
			Scan(&attempt, &state, &errs); err != nil {
			t.Fatal(err)
		}
	}
	if attempt != 1 || state != "completed" || errs != 0 {
		t.Fatalf("batch job: attempt %d, %s, %d errors; want attempt 1, completed, no error (never rescued)", attempt, state, errs)
	}
	var invoices int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM invoices`).Scan(&invoices); err != nil || invoices != 3 {
		t.Fatalf("%d invoices, want 3: %v", invoices, err)
	}
}

// TestScheduledRunWaitsForTheRunningOne: while a run of an account type is
// still going (here one whose batches a crashed controller left behind), the
// scheduler's tick opens no second run of that type to race it for the same
// period; once the run has finished, the next tick opens today's run. A run
// that has been "running" for longer than runningRunWait is stuck and does
// not hold the schedule up.
func TestScheduledRunWaitsForTheRunningOne(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	now := time.Date(2026, 11, 26, 23, 50, 0, 0, time.UTC)
	tomorrow := now.Add(20 * time.Minute) // 2026-11-27 00:10
	clk := clock.NewFixed(now)
	typeID := billableType(t, db, now)
	r := newRunner(t, Config{DisableSchedule: true, BatchSize: 1}, db, clk, quiet)
	run, _, err := r.StartRun(ctx, typeID, billing.NewDate(2026, 11, 26), billing.TriggerOnDemand, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Past midnight the run has not been worked yet (no runner is started).
	if opened, err := r.Tick(ctx, tomorrow); err != nil || len(opened) != 0 {
		t.Fatalf("a tick beside a running run opened %v (%v); want none", opened, err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Stop(ctx) }()
	if done := waitRun(t, db, run.ID, 60*time.Second); done.Status != billing.RunCompleted || done.InvoicesCreated != 3 {
		t.Fatalf("run %+v, want completed with 3 invoices", done)
	}
	opened, err := r.Tick(ctx, tomorrow)
	if err != nil || len(opened) != 1 || opened[0].Date != billing.NewDate(2026, 11, 27) {
		t.Fatalf("the tick after the run finished opened %+v (%v); want the 2026-11-27 run", opened, err)
	}
	waitRun(t, db, opened[0].ID, 60*time.Second)
	// A run stuck "running" for over runningRunWait does not block.
	dayAfter := tomorrow.Add(24 * time.Hour)
	if _, err := db.Pool.Exec(ctx, `UPDATE billing_runs SET status = 'running', created_at = $2 WHERE id = $1`,
		opened[0].ID, dayAfter.Add(-runningRunWait-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if again, err := r.Tick(ctx, dayAfter); err != nil || len(again) != 1 {
		t.Fatalf("a stuck run held the schedule up: %+v (%v)", again, err)
	}
}

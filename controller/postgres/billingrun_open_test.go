package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// TestOpenBillingRunCommitsWithWhatQueueWrites: OpenBillingRun calls queue
// in the transaction that creates the run, only when it creates it; an
// error from queue leaves no run; bad input is refused with its code.
func TestOpenBillingRunCommitsWithWhatQueueWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, _ := fixture(t, db, 3, billing.NewDate(2026, 11, 1))
	date := billing.NewDate(2026, 11, 26)

	failing := errors.New("jobs not inserted")
	_, _, err := db.OpenBillingRun(ctx, typ.ID, date, billing.TriggerOnDemand, "test", 2, t0,
		func(ctx context.Context, tx pgx.Tx, run billing.BillingRun) error { return failing })
	if !errors.Is(err, failing) {
		t.Fatalf("queue's error: got %v", err)
	}
	if n := count(t, db, "billing_runs"); n != 0 {
		t.Fatalf("%d runs after queue failed; want the run rolled back", n)
	}

	calls := 0
	queue := func(ctx context.Context, tx pgx.Tx, run billing.BillingRun) error {
		calls++
		// Inside the run's transaction: the run is there to see.
		var batches int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM billing_run_batches WHERE run_id = $1`, run.ID).Scan(&batches); err != nil {
			return err
		}
		if batches != run.TotalBatches {
			t.Errorf("queue sees %d batches of the run, want %d", batches, run.TotalBatches)
		}
		return nil
	}
	run, created, err := db.OpenBillingRun(ctx, typ.ID, date, billing.TriggerOnDemand, "test", 2, t0, queue)
	if err != nil || !created || run.TotalAccounts != 3 || run.TotalBatches != 2 || calls != 1 {
		t.Fatalf("open: run %+v created %v err %v, queue called %d times; want 3 accounts in 2 batches, queued once", run, created, err, calls)
	}
	again, created, err := db.OpenBillingRun(ctx, typ.ID, date, billing.TriggerOnDemand, "test", 2, t0, queue)
	if err != nil || created || again.ID != run.ID || calls != 1 {
		t.Fatalf("open again: run %d created %v err %v, queue called %d times; want run %d, not created, queue not called",
			again.ID, created, err, calls, run.ID)
	}

	if _, _, err := db.OpenBillingRun(ctx, typ.ID+1000, date, billing.TriggerOnDemand, "test", 2, t0, queue); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown account type: got %v, want ENOTFOUND", err)
	}
	if _, _, err := db.OpenBillingRun(ctx, typ.ID, billing.Date{}, billing.TriggerOnDemand, "test", 2, t0, queue); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("zero date: got %v, want EINVALID", err)
	}
	if calls != 1 {
		t.Errorf("queue called %d times; want once, for the one run created", calls)
	}
}

package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// outboxFixture is an account with two active services at two POPs.
func outboxFixture(t *testing.T) (db *DB, account int64, services []serviceRef) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "r", DueDays: 14, GraceDays: 7, TimeZone: "UTC",
		AutoSuspend: true, ReactivationRule: billing.ReactivatePastDue}, at)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "S", Email: "s@example.net", AccountTypeID: typ.ID, Currency: "USD"}, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, pop := range []string{"pop-x", "pop-y"} {
		s, err := db.CreateService(ctx, billing.NewService{POP: pop, Binding: billing.Binding{Method: "log"}, AccountID: &a.ID}, "test", at)
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, serviceRef{id: s.ID, pop: pop, account: a.ID})
	}
	return db, a.ID, services
}

// outboxState is what the database holds of the services' enforcement.
type outboxState struct {
	states    map[int64]string
	revisions map[string]int64
	changes   int
}

func readOutbox(t *testing.T, db *DB) outboxState {
	t.Helper()
	ctx := context.Background()
	st := outboxState{states: map[int64]string{}, revisions: map[string]int64{}}
	rows, _ := db.Pool.Query(ctx, `SELECT id, desired_state FROM services`)
	var id int64
	var s string
	if _, err := pgx.ForEachRow(rows, []any{&id, &s}, func() error { st.states[id] = s; return nil }); err != nil {
		t.Fatal(err)
	}
	rows, _ = db.Pool.Query(ctx, `SELECT id, revision FROM pops`)
	var rev int64
	if _, err := pgx.ForEachRow(rows, []any{&s, &rev}, func() error { st.revisions[s] = rev; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM enforcement_changes`).Scan(&st.changes); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDesiredStatesWaitForCommitAndGoWithARollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, account, svcs := outboxFixture(t)
	before := readOutbox(t, db)
	at := time.Now()
	reason := func(serviceRef) string { return "test" }
	boom := errors.New("boom")
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := setDesiredStates(ctx, tx, svcs, billing.StateSuspended, reason, "test", at); err != nil {
			return err
		}
		// Not written yet, but counted as made.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM services WHERE desired_state = 'suspended'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d services suspended before commit (%v)", n, err)
		}
		got, err := accountServices(ctx, tx, []int64{account}, billing.StateSuspended)
		if err != nil || len(got) != 0 {
			t.Errorf("accountServices(not suspended) = %v, %v; want none: both wait to be suspended", got, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("inTx: %v", err)
	}
	if after := readOutbox(t, db); after.changes != before.changes || after.revisions["pop-x"] != before.revisions["pop-x"] {
		t.Fatalf("a rolled-back transaction left changes: %+v, before %+v", after, before)
	}

	// Suspended, then restored in the same transaction: one change each,
	// the last decision, one revision per POP.
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := setDesiredStates(ctx, tx, svcs, billing.StateSuspended, reason, "test", at); err != nil {
			return err
		}
		got, err := accountServices(ctx, tx, []int64{account}, billing.StateActive)
		if err != nil || len(got) != 2 {
			t.Errorf("accountServices(not active) = %v, %v; want both", got, err)
		}
		return setDesiredStates(ctx, tx, got[:1], billing.StateActive, reason, "test", at)
	})
	if err != nil {
		t.Fatal(err)
	}
	after := readOutbox(t, db)
	if after.states[svcs[0].id] != "active" || after.states[svcs[1].id] != "suspended" {
		t.Fatalf("states %v; want the first active, the second suspended", after.states)
	}
	if after.changes != before.changes+2 || after.revisions["pop-x"] != before.revisions["pop-x"]+1 || after.revisions["pop-y"] != before.revisions["pop-y"]+1 {
		t.Fatalf("after %+v, before %+v: want one change and revision per POP", after, before)
	}

	// A transaction not begun by inTx cannot change a desired state: there
	// is one writer, at inTx's commit.
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := setDesiredStates(ctx, tx, svcs[1:], billing.StateActive, reason, "test", at); !errors.Is(err, errNotOutboxTx) {
		t.Fatalf("setDesiredStates outside inTx: %v, want errNotOutboxTx", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if final := readOutbox(t, db); final.changes != after.changes || final.revisions["pop-y"] != after.revisions["pop-y"] {
		t.Fatalf("final %+v, after %+v: a transaction outside inTx wrote changes", final, after)
	}
}

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

// TestSearchTablesFollowTheirRows: the searched texts live in
// account_search and service_search (migration 00045); the triggers keep
// them with every insert and every edit of a searched column, so a search
// finds an account by what it says now, not by what it said.
func TestSearchTablesFollowTheirRows(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "r", DueDays: 14, TimeZone: "UTC"}, at)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Jane Smith", Email: "jane@example.net", Phone: "+1 (512) 555-0100",
		Address: billing.Address{Line1: "12 Main St", City: "Austin"}, AccountTypeID: typ.ID, Currency: "USD",
		AnchorDate: billing.DateOf(at)}, at)
	if err != nil {
		t.Fatal(err)
	}
	found := func(q string) bool {
		t.Helper()
		hits, err := db.SearchAccounts(ctx, q, 0, at)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		for _, h := range hits {
			if h.AccountID == a.ID {
				return true
			}
		}
		return false
	}
	for _, q := range []string{"jane smith", "jane@example.net", "5125550100", "Main St"} {
		if !found(q) {
			t.Errorf("a new account is not found by %q", q)
		}
	}
	name, email, phone := "Joan Baker", "joan@example.org", "512 555 0199"
	addr := billing.Address{Line1: "9 Elm Rd", City: "Waco"}
	if _, err := db.EditAccount(ctx, a.ID, a.Version, billing.AccountEdit{Name: &name, Email: &email, Phone: &phone, Address: &addr}, "test", at); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]bool{"joan baker": true, "joan@example.org": true, "5125550199": true, "Elm Rd": true,
		"jane smith": false, "jane@example.net": false, "5125550100": false, "Main St": false} {
		if got := found(q); got != want {
			t.Errorf("after the edit, found by %q = %v, want %v", q, got, want)
		}
	}
}

// TestStatusWritesAreHOT: an account's status change (a sweep's, a
// payment's restore) writes no index — no index covers the status columns
// and the searched texts live elsewhere (migration 00045) — so PostgreSQL
// makes it a HOT update when the page has room (accounts keep a tenth
// free). A new index on a status column would make every restore write
// every index of accounts again.
func TestStatusWritesAreHOT(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "r", DueDays: 14, TimeZone: "UTC"}, at)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Jane Smith", Email: "jane@example.net", AccountTypeID: typ.ID,
		Currency: "USD", AnchorDate: billing.DateOf(at)}, at)
	if err != nil {
		t.Fatal(err)
	}
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		rows := []billing.StatusChangePlan{{AccountID: a.ID, From: billing.AccountCurrent, To: billing.AccountSuspended,
			Cause: billing.CauseSweep, Why: []string{"Invoice INV-1 is past due."}}}
		if err := writeStatuses(ctx, tx, rows, nil, "test", 0, at); err != nil {
			return err
		}
		var updated, hot int64
		if err := tx.QueryRow(ctx, `SELECT pg_stat_get_xact_tuples_updated('accounts'::regclass),
				pg_stat_get_xact_tuples_hot_updated('accounts'::regclass)`).Scan(&updated, &hot); err != nil {
			return err
		}
		if updated != 1 || hot != 1 {
			t.Errorf("the status change updated %d account rows, %d of them HOT; want 1 and 1", updated, hot)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

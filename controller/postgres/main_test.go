package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtest.WithMigrate(postgres.Migrate))) }

// newDB opens a DB on a fresh database cloned from the migrated template.
func newDB(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	t.Cleanup(func() { checkAllocationTotals(t, db) })
	return db
}

// checkAllocationTotals fails t if a payment's or invoice's running total
// of allocations differs from its allocation rows, whatever the test did.
func checkAllocationTotals(t *testing.T, db *postgres.DB) {
	t.Helper()
	var bad int
	err := db.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM payments p WHERE p.allocated <> coalesce((SELECT sum(amount) FROM payment_allocations WHERE payment_id = p.id), 0)) +
		(SELECT count(*) FROM invoices i WHERE i.paid <> coalesce((SELECT sum(amount) FROM payment_allocations WHERE invoice_id = i.id), 0)
			+ coalesce((SELECT sum(amount) FROM credit_note_allocations WHERE invoice_id = i.id), 0)
			- coalesce((SELECT sum(amount) FROM credit_note_allocations WHERE credit_note_id = i.id), 0))`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d payments or invoices whose allocated/paid total disagrees with payment_allocations (err %v)", bad, err)
	}
	// payment_allocations is the running total of the allocation events.
	err = db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM
		(SELECT payment_id, invoice_id, sum(amount) AS sum FROM allocation_events WHERE payment_id IS NOT NULL GROUP BY payment_id, invoice_id) e
		FULL JOIN payment_allocations a USING (payment_id, invoice_id) WHERE coalesce(e.sum, 0) <> coalesce(a.amount, 0)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d (payment, invoice) pairs whose allocation events do not sum to payment_allocations (err %v)", bad, err)
	}
	// credit_note_allocations is the running total of the credit notes'.
	err = db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM
		(SELECT credit_note_id, invoice_id, sum(amount) AS sum FROM allocation_events WHERE credit_note_id IS NOT NULL GROUP BY credit_note_id, invoice_id) e
		FULL JOIN credit_note_allocations a USING (credit_note_id, invoice_id) WHERE coalesce(e.sum, 0) <> coalesce(a.amount, 0)`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d (credit note, invoice) pairs whose allocation events do not sum to credit_note_allocations (err %v)", bad, err)
	}
}

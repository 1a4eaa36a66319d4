package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// A payment reversed on an account with an open credit note: the invoice
// the reversal reopens is paid by the credit note in the same transaction
// (not at the account's next invoice), as allocation events dated the
// reversal's day and signed by whoever reversed it; the ledger gains only
// the reversal's transaction (applying a credit note moves no money), and
// the invoice's allocation events list both the payment's and the note's.
func TestReversalReopensAnInvoiceTheCreditNotePays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	db := c.db
	a, _ := c.account("pop-1")
	inv := c.owe(a, billing.NewDate(2026, 12, 1), 5000)
	p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 5000}, "test", t0)
	if err != nil || len(p.Allocations) != 1 || p.Allocations[0].InvoiceID != inv {
		t.Fatalf("payment %+v %v, want it to pay invoice %d", p.Allocations, err, inv)
	}
	// A credit note issued while nothing is open: its credit waits.
	note := c.owe(a, billing.NewDate(2026, 12, 11), -3000)
	var txs, entries int
	ledger := func() (int, int) {
		var n, m int
		if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM journal_transactions WHERE account_id = $1),
			(SELECT count(*) FROM journal_entries WHERE account_id = $1)`, a).Scan(&n, &m); err != nil {
			t.Fatal(err)
		}
		return n, m
	}
	txs, entries = ledger()

	if _, err := db.ReversePayment(ctx, p.ID, billing.Reversal{Reason: billing.ReverseNSF}, "user:ann", local(12, 16, 12)); err != nil {
		t.Fatal(err)
	}
	got, err := db.Invoice(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != billing.InvoiceOpen || got.Paid != 3000 {
		t.Fatalf("reopened invoice %s with %d paid, want open with the credit note's 3000 paid at once", got.Status, got.Paid)
	}
	n, err := db.Invoice(ctx, note)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != billing.InvoicePaid || n.Paid != -3000 {
		t.Fatalf("credit note %s with %d paid, want paid (used up: -3000)", n.Status, n.Paid)
	}
	// One new transaction (the reversal, two entries): the credit note's
	// application is not journalled.
	if t2, e2 := ledger(); t2 != txs+1 || e2 != entries+2 {
		t.Fatalf("ledger grew by %d transactions, %d entries; want the reversal's 1 and 2", t2-txs, e2-entries)
	}

	events := func(id int64) []string {
		t.Helper()
		es, err := db.InvoiceAllocationEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			from := "payment:" + strconv.FormatInt(e.PaymentID, 10)
			if e.CreditNoteID != 0 {
				from = e.CreditNoteNumber
			}
			out = append(out, from+">"+e.InvoiceNumber+":"+strconv.FormatInt(e.Amount, 10)+":"+string(e.Kind)+"@"+e.EffectiveDate.String()+"/"+e.Actor)
		}
		return out
	}
	pay := "payment:" + strconv.FormatInt(p.ID, 10)
	num := func(id int64) string { return "INV-" + strconv.FormatInt(id, 10) }
	wantNote := []string{num(note) + ">" + num(inv) + ":3000:applied@2026-12-16/user:ann"}
	if got := events(note); strings.Join(got, " ") != strings.Join(wantNote, " ") {
		t.Fatalf("credit note's events %v, want %v", got, wantNote)
	}
	gotInv := events(inv)
	if len(gotInv) != 3 || !strings.HasPrefix(gotInv[0], pay+">"+num(inv)+":5000:applied@") ||
		gotInv[1] != pay+">"+num(inv)+":-5000:reversed@2026-12-16/user:ann" || gotInv[2] != wantNote[0] {
		t.Fatalf("invoice's events %v: want the payment applied, reversed, then the credit note applied", gotInv)
	}
	if _, err := db.InvoiceAllocationEvents(ctx, 999999); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("unknown invoice: %v, want ENOTFOUND", err)
	}
}

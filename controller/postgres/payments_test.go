package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// billedAccount is an account with its December and January invoices
// (53.11 each: 49.99 + 6.25% tax).
func billedAccount(t *testing.T, db *postgres.DB) (billing.Account, []billing.Invoice) {
	t.Helper()
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	invs, err := db.Invoices(context.Background(), billing.InvoiceFilter{AccountID: accounts[0].ID})
	if err != nil || len(invs) != 2 {
		t.Fatalf("invoices %+v %v", invs, err)
	}
	return accounts[0], invs
}

func TestPaymentsAllocateOldestFirstAndKeepCredit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	total := invs[0].Total + invs[1].Total

	p1, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: invs[0].Total + 100, Reference: "1001"}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Allocations) != 2 || p1.Allocations[0].InvoiceID != invs[0].ID || p1.Allocations[0].Amount != invs[0].Total || p1.Unallocated != 0 {
		t.Fatalf("first payment allocations %+v unallocated %d", p1.Allocations, p1.Unallocated)
	}
	if inv, _ := db.Invoice(ctx, invs[0].ID); inv.Status != billing.InvoicePaid {
		t.Fatalf("oldest invoice is %s after being paid in full", inv.Status)
	}
	p2, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 10_000}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	wantCredit := 10_000 - (invs[1].Total - 100)
	if p2.Unallocated != wantCredit {
		t.Fatalf("overpayment: unallocated %d, want %d", p2.Unallocated, wantCredit)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != total-(invs[0].Total+100)-10_000 || bal != -wantCredit {
		t.Fatalf("balance %d, want credit of %d", bal, wantCredit)
	}

	// Refund part of the credit; more than the credit is refused.
	if _, err := db.RefundPayment(ctx, p2.ID, wantCredit+1, "", "test", t0); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("refund beyond the credit: %v", err)
	}
	if p, err := db.RefundPayment(ctx, p2.ID, 1000, "customer asked", "test", t0); err != nil || p.Unallocated != wantCredit-1000 {
		t.Fatalf("refund: %+v %v", p, err)
	}

	// The check bounces: its invoice reopens, the cash payment's remaining
	// credit moves onto it, and the fee lands on the account.
	r, err := db.ReversePayment(ctx, p1.ID, billing.Reversal{Reason: billing.ReverseNSF, Fee: 2500, Memo: "returned by bank"}, "test", t0)
	if err != nil || r.Status != billing.PaymentReversed || len(r.Allocations) != 0 {
		t.Fatalf("reverse: %+v %v", r, err)
	}
	if _, err := db.ReversePayment(ctx, p1.ID, billing.Reversal{Reason: billing.ReverseNSF}, "test", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("second reversal: %v", err)
	}
	bal, _ := db.Balance(ctx, a.ID)
	if want := total + 2500 - 10_000 + 1000; bal != want {
		t.Fatalf("balance after the bounce: %d, want %d", bal, want)
	}
	var open int64
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(i.total - coalesce((SELECT sum(amount) FROM payment_allocations WHERE invoice_id = i.id), 0)), 0)
		FROM invoices i WHERE i.account_id = $1 AND i.status = 'open'`, a.ID).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != total-(10_000-1000) {
		t.Fatalf("open invoice amounts %d, want %d", open, total-(10_000-1000))
	}
	reversed := false
	_ = db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM journal_transactions WHERE kind = 'payment_reversed' AND account_id = $1)`, a.ID).Scan(&reversed)
	if !reversed {
		t.Fatal("no reversing journal transaction")
	}
}

func TestPaymentBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, _ := billedAccount(t, db)
	for name, in := range map[string]billing.NewPayment{
		"zero amount":    {AccountID: a.ID, Method: billing.PayCash, Amount: 0},
		"negative":       {AccountID: a.ID, Method: billing.PayCash, Amount: -5},
		"unknown method": {AccountID: a.ID, Method: "bitcoin", Amount: 5},
		"check, no num":  {AccountID: a.ID, Method: billing.PayCheck, Amount: 5},
	} {
		if _, err := db.PostPayment(ctx, in, "test", t0); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: 999, Method: billing.PayCash, Amount: 5}, "test", t0); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown account: %v", err)
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("bad input wrote %d payments", n)
	}
}

func TestBatchPostsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	b, err := db.CreateBatch(ctx, billing.NewDate(2026, 12, 5), "First Bank ****1234", "", "clerk", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err = db.AddBatchLines(ctx, b.ID, []billing.BatchLine{
		{Account: a.Number, Method: billing.PayCheck, Amount: invs[0].Total, Reference: "501", Payer: "Jane"},
		{Account: "A-999999", Method: billing.PayCheck, Amount: 1000, Reference: "77"},
		{Account: a.ExternalID, Method: billing.PayCash, Amount: 2000},
		{Account: a.Number, Method: billing.PayCheck, Amount: 300, Reference: "501"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.ValidateBatch(ctx, b.ID)
	if err != nil || v.OK || len(v.Errors) != 1 || v.Errors[0].LineNo != 2 || v.Errors[0].Field != "account" {
		t.Fatalf("validation %+v %v", v, err)
	}
	if len(v.Warnings) != 1 || v.Warnings[0].LineNo != 4 {
		t.Fatalf("duplicate check number not warned: %+v", v.Warnings)
	}
	_, err = db.PostBatch(ctx, b.ID, "clerk", t0)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("posting a batch with a bad line: %v", err)
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("a refused batch posted %d payments", n)
	}

	fixed := billing.BatchLine{LineNo: 2, Account: a.Number, Method: billing.PayCheck, Amount: 1000, Reference: "77"}
	if _, err := db.UpdateBatchLine(ctx, b.ID, fixed); err != nil {
		t.Fatal(err)
	}
	b, err = db.PostBatch(ctx, b.ID, "clerk", t0)
	if err != nil || b.Status != billing.BatchPosted {
		t.Fatalf("post: %+v %v", b.Status, err)
	}
	if n := count(t, db, "payments"); n != 4 {
		t.Fatalf("posted %d payments, want 4", n)
	}
	if bal, _ := db.Balance(ctx, a.ID); bal != invs[0].Total+invs[1].Total-(invs[0].Total+1000+2000+300) {
		t.Fatalf("balance after the batch: %d", bal)
	}
	// A posted batch is immutable, through the store and in the database.
	if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{{Account: a.Number, Method: billing.PayCash, Amount: 1}}); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("adding to a posted batch: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE payment_batch_lines SET amount = 1 WHERE batch_id = $1`, b.ID); err == nil || !strings.Contains(err.Error(), "posted") {
		t.Fatalf("the database let a posted batch change: %v", err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "clerk", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("posting twice: %v", err)
	}
}

// Credit on the account pays new invoices as they are issued.
func TestNewInvoicesUseExistingCredit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	a := accounts[0]
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 8000}, "test", t0); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10) // December and January, 53.11 each
	invs, _ := db.Invoices(ctx, billing.InvoiceFilter{AccountID: a.ID})
	if len(invs) != 2 || invs[0].Status != billing.InvoicePaid || invs[1].Status != billing.InvoiceOpen {
		t.Fatalf("invoices after billing an account with 80.00 credit: %+v", invs)
	}
	var allocated int64
	_ = db.Pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM payment_allocations`).Scan(&allocated)
	if allocated != 8000 {
		t.Fatalf("allocated %d of the 80.00 credit", allocated)
	}
}

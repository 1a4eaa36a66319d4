package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// allocationEvents returns a payment's events as "INV-…:±amount:kind".
func allocationEvents(t *testing.T, db *postgres.DB, paymentID int64) []string {
	t.Helper()
	es, err := db.AllocationEvents(context.Background(), paymentID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.PaymentID != paymentID || e.EffectiveDate.IsZero() || e.Actor == "" {
			t.Errorf("event %+v: wrong payment, no date or no actor", e)
		}
		out = append(out, e.InvoiceNumber+":"+strconv.FormatInt(e.Amount, 10)+":"+string(e.Kind))
	}
	return out
}

// billedAccounts are two accounts with their December and January
// invoices (see billedAccount).
func billedAccounts(t *testing.T, db *postgres.DB) (billing.Account, []billing.Invoice, []billing.Invoice) {
	t.Helper()
	typ, _, accounts := fixture(t, db, 2, billing.NewDate(2026, 12, 1))
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	var invs [2][]billing.Invoice
	for i, a := range accounts {
		var err error
		if invs[i], err = db.Invoices(context.Background(), billing.InvoiceFilter{AccountID: a.ID}); err != nil || len(invs[i]) != 2 {
			t.Fatalf("invoices %+v %v", invs[i], err)
		}
	}
	return accounts[0], invs[0], invs[1]
}

func invoiceStatus(t *testing.T, db *postgres.DB, id int64) billing.InvoiceStatus {
	t.Helper()
	inv, err := db.Invoice(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inv.Status
}

func TestPaymentAppliedToChosenInvoicesFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs, otherInvs := billedAccounts(t, db)

	// Bad choices are refused naming the field, and nothing is written.
	for name, tc := range map[string]struct {
		applyTo []billing.AllocationChoice
		field   string
	}{
		"another account's invoice": {[]billing.AllocationChoice{{Invoice: otherInvs[0].Number, Amount: 100}}, "apply_to[0].invoice"},
		"unknown invoice":           {[]billing.AllocationChoice{{Invoice: "INV-999999", Amount: 100}}, "apply_to[0].invoice"},
		"more than is due":          {[]billing.AllocationChoice{{Invoice: invs[1].Number, Amount: invs[1].Total + 1}}, "apply_to[0].amount"},
		"more than the payment":     {[]billing.AllocationChoice{{Invoice: invs[1].Number, Amount: 3000}, {Invoice: invs[0].Number, Amount: 3000}}, "apply_to[1].amount"},
		"zero amount":               {[]billing.AllocationChoice{{Invoice: invs[1].Number, Amount: 0}}, "apply_to[0].amount"},
	} {
		_, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 5000, ApplyTo: tc.applyTo}, "test", t0)
		if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), tc.field) {
			t.Errorf("%s: %v, want EINVALID naming %s", name, err, tc.field)
		}
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("refused payments wrote %d payments", n)
	}

	// The newer invoice (by number) gets its chosen amount; the rest pays
	// the oldest; the newer is paid in full by a second choice (by id).
	p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 2000,
		ApplyTo: []billing.AllocationChoice{{Invoice: invs[1].Number, Amount: 1500}}}, "user:ann", t0)
	if err != nil {
		t.Fatal(err)
	}
	paid := map[int64]int64{}
	for _, al := range p.Allocations {
		paid[al.InvoiceID] += al.Amount
	}
	if len(p.Allocations) != 2 || paid[invs[0].ID] != 500 || paid[invs[1].ID] != 1500 {
		t.Fatalf("allocations %+v, want 500 on the oldest and 1500 on the chosen one", p.Allocations)
	}
	got := allocationEvents(t, db, p.ID)
	if want := []string{invs[1].Number + ":1500:applied", invs[0].Number + ":500:applied"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", got, want)
	}
	rest := invs[1].Total - 1500
	p2, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: rest,
		ApplyTo: []billing.AllocationChoice{{Invoice: strconv.FormatInt(invs[1].ID, 10), Amount: rest}}}, "user:ann", t0)
	if err != nil || len(p2.Allocations) != 1 || p2.Allocations[0].InvoiceID != invs[1].ID {
		t.Fatalf("second payment %+v %v", p2.Allocations, err)
	}
	if s := invoiceStatus(t, db, invs[1].ID); s != billing.InvoicePaid {
		t.Fatalf("the chosen invoice is %s once paid in full", s)
	}
	if s := invoiceStatus(t, db, invs[0].ID); s != billing.InvoiceOpen {
		t.Fatalf("the oldest invoice is %s with 500 paid", s)
	}
	// A paid invoice is no longer open to choose.
	_, err = db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 100,
		ApplyTo: []billing.AllocationChoice{{Invoice: invs[1].Number, Amount: 100}}}, "user:ann", t0)
	if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "apply_to[0].invoice") {
		t.Fatalf("choosing a paid invoice: %v", err)
	}
}

func TestReallocatePaymentMovesBetweenOpenInvoices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs, otherInvs := billedAccounts(t, db)
	p, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: invs[0].Total, Reference: "77"}, "test", t0)
	if err != nil || invoiceStatus(t, db, invs[0].ID) != billing.InvoicePaid {
		t.Fatalf("payment %+v %v", p, err)
	}
	balance, _ := db.Balance(ctx, a.ID)
	journal := count(t, db, "journal_transactions")

	for name, tc := range map[string]struct {
		r     billing.Reallocation
		field string
	}{
		"from an invoice it did not pay": {billing.Reallocation{From: invs[1].Number, To: invs[0].Number, Amount: 100}, "from_invoice"},
		"to another account's invoice":   {billing.Reallocation{From: invs[0].Number, To: otherInvs[1].Number, Amount: 100}, "to_invoice"},
		"to the same invoice":            {billing.Reallocation{From: invs[0].Number, To: invs[0].Number, Amount: 100}, "to_invoice"},
		"more than it paid":              {billing.Reallocation{From: invs[0].Number, To: invs[1].Number, Amount: invs[0].Total + 1}, "amount"},
		"nothing":                        {billing.Reallocation{From: invs[0].Number, To: invs[1].Number}, "amount"},
	} {
		_, err := db.ReallocatePayment(ctx, p.ID, tc.r, "user:ann", t0)
		if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), tc.field) {
			t.Errorf("%s: %v, want EINVALID naming %s", name, err, tc.field)
		}
	}
	if _, err := db.ReallocatePayment(ctx, 999_999, billing.Reallocation{From: "1", To: "2", Amount: 1}, "user:ann", t0); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Errorf("unknown payment: %v", err)
	}

	// Move 1000 to the January invoice: December reopens, no journal entry.
	r, err := db.ReallocatePayment(ctx, p.ID, billing.Reallocation{From: invs[0].Number, To: invs[1].Number, Amount: 1000}, "user:ann", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Allocations) != 2 || r.Allocations[0].Amount != invs[0].Total-1000 || r.Allocations[1].Amount != 1000 || r.Unallocated != 0 {
		t.Fatalf("allocations after the move %+v unallocated %d", r.Allocations, r.Unallocated)
	}
	if s := invoiceStatus(t, db, invs[0].ID); s != billing.InvoiceOpen {
		t.Fatalf("the invoice money moved off is %s, want open", s)
	}
	if b, _ := db.Balance(ctx, a.ID); b != balance || count(t, db, "journal_transactions") != journal {
		t.Fatalf("a reallocation changed the ledger: balance %d -> %d", balance, b)
	}
	// Move all of it: December's allocation is gone, January is paid by
	// what the payment gives it (and stays open for the rest).
	if _, err := db.ReallocatePayment(ctx, p.ID, billing.Reallocation{From: strconv.FormatInt(invs[0].ID, 10), To: invs[1].Number, Amount: invs[0].Total - 1000}, "user:ann", t0); err != nil {
		t.Fatal(err)
	}
	after, _ := db.Payment(ctx, p.ID)
	if len(after.Allocations) != 1 || after.Allocations[0].InvoiceID != invs[1].ID || after.Allocations[0].Amount != invs[0].Total {
		t.Fatalf("allocations %+v, want all of it on January", after.Allocations)
	}
	wantStatus := billing.InvoiceOpen
	if invs[0].Total == invs[1].Total {
		wantStatus = billing.InvoicePaid
	}
	if s := invoiceStatus(t, db, invs[1].ID); s != wantStatus {
		t.Fatalf("January is %s, want %s", s, wantStatus)
	}

	// A reversal takes the allocation back with a negative event; the
	// reversed payment's allocation cannot move.
	if _, err := db.ReversePayment(ctx, p.ID, billing.Reversal{Reason: billing.ReverseNSF}, "user:ann", t0); err != nil {
		t.Fatal(err)
	}
	got := allocationEvents(t, db, p.ID)
	d, j, tot := invs[0].Number, invs[1].Number, strconv.FormatInt(invs[0].Total, 10)
	want := []string{d + ":" + tot + ":applied", d + ":-1000:reallocated", j + ":1000:reallocated",
		d + ":" + strconv.FormatInt(-(invs[0].Total-1000), 10) + ":reallocated", j + ":" + strconv.FormatInt(invs[0].Total-1000, 10) + ":reallocated", j + ":-" + tot + ":reversed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	if _, err := db.ReallocatePayment(ctx, p.ID, billing.Reallocation{From: j, To: d, Amount: 1}, "user:ann", t0); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("reallocating a reversed payment: %v", err)
	}
}

func TestAllocationEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: invs[0].Total}, "test", t0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "allocation_events"); n != 1 {
		t.Fatalf("%d allocation events, want 1", n)
	}
	for _, sql := range []string{`UPDATE allocation_events SET amount = amount + 1`, `DELETE FROM allocation_events`, `TRUNCATE allocation_events`} {
		if _, err := db.Pool.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", sql, err)
		}
	}
	if n := count(t, db, "allocation_events"); n != 1 {
		t.Fatalf("%d allocation events after refused changes, want 1", n)
	}
}

func TestBatchLineAppliedToChosenInvoices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	a, invs := billedAccount(t, db)
	b, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 11, 24)}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	bad := billing.BatchLine{Account: a.Number, Method: billing.PayCash, Amount: 3000,
		ApplyTo: []billing.AllocationChoice{{Invoice: "INV-999999", Amount: 1000}}}
	if b, err = db.AddBatchLines(ctx, b.ID, []billing.BatchLine{bad}); err != nil || len(b.Lines[0].ApplyTo) != 1 {
		t.Fatalf("add line: %+v %v", b.Lines, err)
	}
	if v, err := db.ValidateBatch(ctx, b.ID); err != nil || v.OK || len(v.Errors) != 1 || v.Errors[0].LineNo != 1 || v.Errors[0].Field != "apply_to" ||
		!strings.Contains(v.Errors[0].Message, `apply_to[0].invoice "INV-999999" is not an open invoice`) {
		t.Fatalf("validation of a line choosing an unknown invoice: %+v %v", v, err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "test", t0); billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), "apply_to[0].invoice") {
		t.Fatalf("posting a line choosing an unknown invoice: %v", err)
	}
	if n := count(t, db, "payments"); n != 0 {
		t.Fatalf("a refused batch wrote %d payments", n)
	}
	good := bad
	good.LineNo, good.ApplyTo = 1, []billing.AllocationChoice{{Invoice: invs[1].Number, Amount: 1000}}
	if _, err := db.UpdateBatchLine(ctx, b.ID, good); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostBatch(ctx, b.ID, "user:ann", t0); err != nil {
		t.Fatal(err)
	}
	ps, _ := db.Payments(ctx, a.ID, b.ID, 0, 10)
	if len(ps) != 1 {
		t.Fatalf("%d payments posted", len(ps))
	}
	p, _ := db.Payment(ctx, ps[0].ID)
	if len(p.Allocations) != 2 || p.Allocations[0].InvoiceID != invs[0].ID || p.Allocations[0].Amount != 2000 || p.Allocations[1].Amount != 1000 {
		t.Fatalf("allocations %+v, want 1000 on the chosen invoice and 2000 on the oldest", p.Allocations)
	}
	es, err := db.AllocationEvents(ctx, p.ID)
	if err != nil || len(es) != 2 || es[0].EffectiveDate != billing.NewDate(2026, 11, 24) || es[0].Actor != "user:ann" {
		t.Fatalf("events %+v %v, want two dated on the deposit date by the poster", es, err)
	}
}

// A payment applied to a chosen invoice is settled as any payment: money on
// the invoice not yet due does not cure the past-due one; moving it there
// does, in the reallocation's transaction.
func TestChosenAllocationAndReallocationSettle(t *testing.T) {
	t.Parallel()
	c := newCollections(t, residential())
	ctx := context.Background()
	a, svc := c.account("pop-1")
	pastDue := c.owe(a, billing.NewDate(2026, 12, 4), 5000)
	notDue := c.owe(a, billing.NewDate(2026, 12, 28), 5000)
	c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
	c.want(a, billing.AccountSuspended, "after the sweep")

	p, err := c.db.PostPayment(ctx, billing.NewPayment{AccountID: a, Method: billing.PayCash, Amount: 5000,
		ApplyTo: []billing.AllocationChoice{{Invoice: strconv.FormatInt(notDue, 10), Amount: 5000}}}, "user:alice", local(12, 14, 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Allocations) != 1 || p.Allocations[0].InvoiceID != notDue {
		t.Fatalf("allocations %+v, want all on the invoice not yet due", p.Allocations)
	}
	c.want(a, billing.AccountSuspended, "after paying the invoice not yet due")

	if _, err := c.db.ReallocatePayment(ctx, p.ID, billing.Reallocation{From: strconv.FormatInt(notDue, 10), To: strconv.FormatInt(pastDue, 10), Amount: 5000},
		"user:alice", local(12, 14, 11)); err != nil {
		t.Fatal(err)
	}
	c.want(a, billing.AccountCurrent, "after moving the payment to the past-due invoice")
	if c.desired(svc) != billing.StateActive {
		t.Fatal("the reallocation did not restore service")
	}
	es, _ := c.db.AllocationEvents(ctx, p.ID)
	if len(es) != 3 || es[1].EffectiveDate != billing.NewDate(2026, 12, 14) || es[1].Actor != "user:alice" {
		t.Fatalf("events %+v, want the move dated 2026-12-14 by user:alice", es)
	}
}

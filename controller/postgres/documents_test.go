package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// invoicesOf lists an account's invoices (with lines) in id order.
func invoicesOf(t *testing.T, db *postgres.DB, accountID int64) []billing.Invoice {
	t.Helper()
	ctx := context.Background()
	list, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: accountID})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list {
		if list[i], err = db.Invoice(ctx, list[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	return list
}

func TestInvoiceRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 3, billing.NewDate(2026, 12, 1))
	typ.InvoiceMessage = "Closed Dec 24–26. Happy holidays!"
	typ.RemittanceSlip = true
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}

	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	a := accounts[0]
	first := invoicesOf(t, db, a.ID)
	if len(first) == 0 {
		t.Fatal("no invoices after the first run")
	}
	var before int64
	for _, inv := range first {
		before += inv.Total
	}
	// Between two invoices: a check and a credit.
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: 3000, Reference: "1042",
		ReceivedDate: billing.NewDate(2027, 1, 5)}, "test", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostCredit(ctx, a.ID, 500, "outage credit", billing.NewDate(2027, 1, 9), "user:clerk", t0); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, typ.ID, billing.NewDate(2027, 1, 27), 10)
	all := invoicesOf(t, db, a.ID)
	if len(all) != len(first)+1 {
		t.Fatalf("%d invoices after the second run; want %d", len(all), len(first)+1)
	}
	feb := all[len(all)-1]
	// A payment after the February invoice does not change what it says.
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 100,
		ReceivedDate: billing.NewDate(2027, 1, 30)}, "test", t0); err != nil {
		t.Fatal(err)
	}

	d, err := db.InvoiceRecord(ctx, feb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Invoice.ID != feb.ID || d.Invoice.Number != feb.Number || len(d.Invoice.Lines) != len(feb.Lines) || d.Invoice.Total != feb.Total {
		t.Fatalf("invoice %+v; want %+v", d.Invoice, feb)
	}
	if d.Account.ID != a.ID || d.Account.Number != a.Number {
		t.Fatalf("account %+v", d.Account)
	}
	if d.Message != typ.InvoiceMessage || !d.RemittanceSlip {
		t.Errorf("message %q slip %v; want the account type's", d.Message, d.RemittanceSlip)
	}
	if d.PreviousBalance != before {
		t.Errorf("previous balance %d; want %d, the balance after the previous invoice", d.PreviousBalance, before)
	}
	if len(d.Payments) != 2 || d.Payments[0].Amount != -3000 || d.Payments[1].Amount != -500 ||
		d.Payments[0].Date != billing.NewDate(2027, 1, 5) || !strings.Contains(d.Payments[0].Memo, "1042") ||
		d.Payments[1].Memo != "outage credit" {
		t.Errorf("payments %+v; want the check (-3000) and the credit (-500)", d.Payments)
	}
	if want := before - 3500 + feb.Total; d.AmountDue != want {
		t.Errorf("amount due %d; want %d", d.AmountDue, want)
	}

	// The first invoice: nothing before it.
	d0, err := db.InvoiceRecord(ctx, first[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d0.PreviousBalance != 0 || len(d0.Payments) != 0 || d0.AmountDue != first[0].Total || d0.Message != typ.InvoiceMessage {
		t.Errorf("first invoice: previous %d payments %v due %d message %q", d0.PreviousBalance, d0.Payments, d0.AmountDue, d0.Message)
	}

	// Many at once, in the order asked (duplicates kept), across accounts.
	var ids []int64
	for _, acct := range slices.Backward(accounts) {
		for _, inv := range invoicesOf(t, db, acct.ID) {
			ids = append(ids, inv.ID)
		}
	}
	ids = append(ids, feb.ID, ids[0])
	docs, err := db.InvoiceRecords(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(ids) {
		t.Fatalf("%d records for %d ids", len(docs), len(ids))
	}
	for i, doc := range docs {
		if doc.Invoice.ID != ids[i] || doc.Account.ID != doc.Invoice.AccountID || len(doc.Invoice.Lines) == 0 {
			t.Fatalf("record %d is invoice %d of account %d; want invoice %d with its lines", i, doc.Invoice.ID, doc.Account.ID, ids[i])
		}
		if got := doc.PreviousBalance + sumPayments(doc.Payments) + doc.Invoice.Total; got != doc.AmountDue {
			t.Errorf("invoice %s: previous %d + payments + total %d = %d, amount due %d", doc.Invoice.Number, doc.PreviousBalance, doc.Invoice.Total, got, doc.AmountDue)
		}
	}
	if docs[len(docs)-2].AmountDue != d.AmountDue || len(docs[len(docs)-2].Payments) != 2 {
		t.Errorf("the batch loader's record differs from the single one")
	}

	// Missing ids.
	if _, err := db.InvoiceRecord(ctx, 999999); !isCode(err, billing.ENOTFOUND) || !strings.Contains(err.Error(), "999999") {
		t.Errorf("missing invoice: %v; want ENOTFOUND naming it", err)
	}
	if _, err := db.InvoiceRecords(ctx, []int64{feb.ID, 999998, 999999}); !isCode(err, billing.ENOTFOUND) || !strings.Contains(err.Error(), "999998, 999999") {
		t.Errorf("missing invoices: %v; want ENOTFOUND naming them", err)
	}
	if docs, err := db.InvoiceRecords(ctx, nil); err != nil || len(docs) != 0 {
		t.Errorf("no ids: %v %v", docs, err)
	}
}

func sumPayments(ps []billing.InvoicePayment) int64 {
	var s int64
	for _, p := range ps {
		s += p.Amount
	}
	return s
}

func isCode(err error, code billing.Code) bool {
	var e *billing.Error
	return errors.As(err, &e) && e.Code == code
}

func TestAccountStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, _, accounts := fixture(t, db, 1, billing.NewDate(2026, 12, 1))
	a := accounts[0]
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 10)
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: 2500, Reference: "77",
		ReceivedDate: billing.NewDate(2027, 1, 5)}, "test", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostCredit(ctx, a.ID, 100, "goodwill", billing.NewDate(2027, 2, 3), "user:clerk", t0); err != nil {
		t.Fatal(err)
	}
	runBilling(t, db, typ.ID, billing.NewDate(2027, 1, 27), 10)
	full, err := db.Statement(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	balance := full[len(full)-1].RunningBalance

	d, err := db.AccountStatement(ctx, a.ID, billing.NewDate(2027, 1, 1), billing.NewDate(2027, 1, 31))
	if err != nil {
		t.Fatal(err)
	}
	var december int64 // the invoices issued in December
	for _, l := range full {
		if l.EffectiveDate.Before(billing.NewDate(2027, 1, 1)) {
			december += l.Amount
		}
	}
	if d.OpeningBalance != december || d.OpeningBalance <= 0 {
		t.Errorf("opening balance %d; want %d", d.OpeningBalance, december)
	}
	var kinds []string
	for _, l := range d.Lines {
		kinds = append(kinds, string(l.Kind))
		if l.EffectiveDate.Before(d.From) || l.EffectiveDate.After(d.To) {
			t.Errorf("line dated %s outside the period", l.EffectiveDate)
		}
	}
	if got := strings.Join(kinds, " "); got != "payment_posted invoice_issued" {
		t.Errorf("January's lines: %s; want the payment, then the February invoice", got)
	}
	if d.ClosingBalance != balance+100 || d.Lines[len(d.Lines)-1].RunningBalance != d.ClosingBalance || d.Account.ID != a.ID {
		t.Errorf("closing %d (last running %d); want %d (the goodwill credit is in February)", d.ClosingBalance, d.Lines[len(d.Lines)-1].RunningBalance, balance+100)
	}
	// Through February: everything.
	d, err = db.AccountStatement(ctx, a.ID, billing.NewDate(2026, 1, 1), billing.NewDate(2027, 2, 28))
	if err != nil || d.OpeningBalance != 0 || d.ClosingBalance != balance || len(d.Lines) != len(full) {
		t.Errorf("whole history: opening %d closing %d lines %d (err %v); want 0, %d, %d", d.OpeningBalance, d.ClosingBalance, len(d.Lines), err, balance, len(full))
	}
	if _, err := db.AccountStatement(ctx, 999999, d.From, d.To); !isCode(err, billing.ENOTFOUND) {
		t.Errorf("missing account: %v; want ENOTFOUND", err)
	}
	if _, err := db.AccountStatement(ctx, a.ID, d.To, d.From); !isCode(err, billing.EINVALID) {
		t.Errorf("reversed period: %v; want EINVALID", err)
	}
}

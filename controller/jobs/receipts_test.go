package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/charge"
	"github.com/tollgate-isp/tollgate/controller/payments"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestPaymentReceiptsEmailed: a portal payment through the gateway queues
// its receipt in the payment's transaction, and its job e-mails the
// amount, the card's brand and last 4, the invoice paid and the new
// balance; a staff charge queues none (the default receipts_for: portal
// and autopay) until the account type names staff too, which also covers
// manual payments staff post; batch entries only with batch.
func TestPaymentReceiptsEmailed(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	clk := clock.NewFixed(time.Date(2026, 12, 14, 15, 0, 0, 0, time.UTC))
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if typ.SendsReceipt(billing.ReceiptStaff) || !typ.SendsReceipt(billing.ReceiptPortal) {
		t.Fatalf("default receipts_for: %v", typ.ReceiptsFor)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Sam Subscriber", Email: "sam@example.net", AccountTypeID: typ.ID, Currency: "USD"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `WITH i AS (
			INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date,
				currency, subtotal, tax, total, created_at)
			SELECT n, 'INV-RCPT', $1, '2026-12-01', '2027-01-01', '2026-12-01', '2026-12-15', '2026-12-22', 'USD', 4000, 0, 4000, now()
			FROM nextval('invoices_id_seq') n RETURNING id, issue_date
		), t AS (
			INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
			SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
		)
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
			(VALUES (1::smallint, 'accounts_receivable', 4000::bigint), (2::smallint, 'service_revenue', -4000::bigint)) u(no, ledger, amount)`,
		a.ID); err != nil {
		t.Fatal(err)
	}
	srv, step := startMailingRunner(t, db, clk, quiet)
	sandbox := payments.NewSandbox()
	sandbox.SetClock(clk)
	sandbox.SetLogger(quiet)
	charger := charge.New(sandbox, db, clk, quiet)
	pm, err := sandbox.Tokenize(ctx, payments.CardInput{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := charger.AddToken(ctx, a.ID, pm, true); err != nil {
		t.Fatal(err)
	}
	receipts := func() []billing.Notice {
		t.Helper()
		ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: a.ID, Kind: billing.NoticeReceipt})
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}

	if att, err := charger.Charge(ctx, a.ID, 0, 1000, billing.TriggerStaff, "staff-1", nil, 1); err != nil || att.PaymentID == nil {
		t.Fatalf("staff charge: %+v %v", att, err)
	}
	if ns := receipts(); len(ns) != 0 {
		t.Fatalf("a staff charge queued a receipt: %+v", ns)
	}
	att, err := charger.Charge(ctx, a.ID, 0, 5000, billing.TriggerPortal, "portal-1", nil, 1)
	if err != nil || att.PaymentID == nil {
		t.Fatalf("portal charge: %+v %v", att, err)
	}
	ns := receipts()
	if len(ns) != 1 || ns[0].Data.PaymentID != *att.PaymentID || ns[0].Data.PaymentMethod != "Visa ending 4242" || ns[0].Data.Amount != 5000 ||
		ns[0].Data.Balance != -2000 || len(ns[0].Data.InvoiceNumbers) != 1 || ns[0].Data.InvoiceNumbers[0] != "INV-RCPT" {
		t.Fatalf("the portal payment's receipt: %+v", ns)
	}
	step(clk.Now())
	msgs := srv.WaitFor(t, 1, 5*time.Second)
	m := msgs[0]
	for _, want := range []string{"$50.00", "Visa ending 4242", "INV-RCPT", "credit of $20.00", "Hello Sam Subscriber"} {
		if !strings.Contains(m.Subject+"\n"+m.Text, want) {
			t.Fatalf("receipt e-mail lacks %q: %q\n%s", want, m.Subject, m.Text)
		}
	}

	typ.ReceiptsFor = []billing.ReceiptChannel{billing.ReceiptStaff}
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	if _, err := charger.Charge(ctx, a.ID, 0, 700, billing.TriggerStaff, "staff-2", nil, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := charger.Charge(ctx, a.ID, 0, 800, billing.TriggerPortal, "portal-2", nil, 1); err != nil {
		t.Fatal(err)
	}
	if ns := receipts(); len(ns) != 2 || ns[0].Data.Amount+ns[1].Data.Amount != 5700 {
		t.Fatalf("with receipts_for [staff]: %+v", ns)
	}

	// A manual payment staff post is the staff channel too; a deposit
	// batch's payments are e-mailed a receipt only when the type names batch.
	check, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCheck, Amount: 1500, Reference: "1234"}, "clerk", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	ns = receipts()
	if len(ns) != 3 || ns[2].Data.PaymentID != check.ID || ns[2].Data.PaymentMethod != "check 1234" || ns[2].Data.Amount != 1500 {
		t.Fatalf("a staff check's receipt: %+v", ns)
	}
	batch := func(ref string) {
		t.Helper()
		b, err := db.CreateBatch(ctx, billing.NewBatch{DepositDate: billing.NewDate(2026, 12, 14), DepositAccount: "First Bank ****1234"}, "clerk", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddBatchLines(ctx, b.ID, []billing.BatchLine{{Account: a.Number, Method: billing.PayCheck, Amount: 900, Reference: ref}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PostBatch(ctx, b.ID, "clerk", clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	batch("2001")
	if ns := receipts(); len(ns) != 3 {
		t.Fatalf("a batch payment queued a receipt without batch in receipts_for: %+v", ns)
	}
	typ.ReceiptsFor = []billing.ReceiptChannel{billing.ReceiptBatch}
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	batch("2002")
	ns = receipts()
	if len(ns) != 4 || ns[3].Data.PaymentMethod != "check 2002" || ns[3].Data.Amount != 900 {
		t.Fatalf("with receipts_for [batch]: %+v", ns)
	}
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: 100}, "clerk", clk.Now()); err != nil {
		t.Fatal(err)
	}
	if ns := receipts(); len(ns) != 4 {
		t.Fatalf("a staff payment queued a receipt with receipts_for [batch]: %+v", ns)
	}
}

package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

// TestSuspensionNoticeSupersededByPaymentBeforeBusinessHours is the
// review's scenario, through the real sweep, worker and SMTP server on a
// simulated clock: two accounts are suspended by the 06:00 sweep (their
// suspension notices wait for business hours); one pays at 07:00 and is
// restored. At 09:00 the payer gets nothing more: its only e-mail is the
// "restored" one, its suspension notice is recorded as superseded with the
// reason. The other account's suspension notice is still true and goes
// out, written for the subscriber ("$50.00", "Friday, December 4"), with
// none of the staff's wording.
func TestSuspensionNoticeSupersededByPaymentBeforeBusinessHours(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	chicago, _ := time.LoadLocation("America/Chicago")
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, chicago) }
	clk := clock.NewFixed(at(1, 12))
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago",
		AutoSuspend: true, BusinessHours: billing.BusinessHours{Start: 9, End: 17}, SweepAt: "06:00"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	owe := func(email string, due billing.Date) int64 {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: email, AccountTypeID: typ.ID, Currency: "USD"}, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"}, AccountID: &a.ID}, "test", clk.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `WITH i AS (
				INSERT INTO invoices (id, number, account_id, period_start, period_end, issue_date, due_date, delinquency_date, currency, subtotal, tax, total, created_at)
				SELECT n, 'INV-' || n, $1, $2::date, $2::date + 30, $2::date - 14, $2, $2::date + 7, 'USD', 5000, 0, 5000, now()
				FROM nextval('invoices_id_seq') n RETURNING id, issue_date
			), tx AS (
				INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at)
				SELECT 'invoice_issued', $1, i.id, 'USD', 'invoice', i.issue_date, now() FROM i RETURNING id
			)
			INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
			SELECT tx.id, u.no, $1, u.ledger, u.amount FROM tx,
				(VALUES (1::smallint, 'accounts_receivable', 5000::bigint), (2::smallint, 'service_revenue', -5000::bigint)) u(no, ledger, amount)`,
			a.ID, due.String()); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	// Due Fri Dec 4: delinquent, and suspended, on Fri Dec 11.
	payer := owe("payer@example.net", billing.NewDate(2026, 12, 4))
	other := owe("other@example.net", billing.NewDate(2026, 12, 4))

	srv, step := startMailingRunner(t, db, clk, quiet)
	mailTo := func(addr string) []smtptest.Message {
		var out []smtptest.Message
		for _, m := range srv.Messages() {
			if len(m.To) == 1 && m.To[0] == addr {
				out = append(out, m)
			}
		}
		return out
	}

	step(at(11, 6)) // the sweep suspends both; 06:00 is outside business hours
	for _, id := range []int64{payer, other} {
		if a, _ := db.Account(ctx, id); a.Status != billing.AccountSuspended {
			t.Fatalf("account %d is %s after the 06:00 sweep, want suspended", id, a.Status)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages at 06:00, outside business hours", n)
	}

	clk.Set(at(11, 7))
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: payer, Method: billing.PayCash, Amount: 5000}, "test", clk.Now()); err != nil {
		t.Fatal(err)
	}
	// The SMTP test server records a message before it accepts it, so
	// once a step returns every message it sent is in srv.Messages.
	step(at(11, 7)) // the restore notice goes at once
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages after the payment, want 1 (restored)", n)
	}
	step(at(11, 9)) // business hours: only the still-true suspension notice goes
	step(at(11, 10))
	if n := len(srv.Messages()); n != 2 {
		t.Fatalf("%d messages in all, want 2 (one restored, one suspended)", n)
	}

	got := mailTo("payer@example.net")
	if len(got) != 1 || !strings.Contains(got[0].Subject, "restored") {
		var subjects []string
		for _, m := range got {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("the payer got %d e-mails %q; want exactly one, \"restored\"", len(got), subjects)
	}
	ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: payer, Kind: billing.NoticeSuspended})
	if err != nil || len(ns) != 1 {
		t.Fatalf("payer's suspension notices: %+v %v", ns, err)
	}
	if n := ns[0]; n.Status != billing.NoticeSuperseded || n.SentAt != nil || !strings.Contains(n.SupersededReason, "no longer suspended") {
		t.Fatalf("payer's suspension notice: status %s, sent %v, reason %q; want superseded, never sent, with its reason",
			n.Status, n.SentAt, n.SupersededReason)
	}
	if ns, err := db.Notices(ctx, billing.NoticeFilter{Status: billing.NoticeSuperseded}); err != nil || len(ns) != 1 || ns[0].AccountID != payer {
		t.Fatalf("superseded notices: %+v %v; want the payer's suspension notice only", ns, err)
	}

	got = mailTo("other@example.net")
	if len(got) != 1 || !strings.Contains(got[0].Subject, "suspended") {
		t.Fatalf("the other account got %d e-mails; want its suspension notice", len(got))
	}
	body := got[0].Text
	for _, want := range []string{"Invoice INV-", "for $50.00 was due on Friday, December 4.", "pay the past-due amount of $50.00"} {
		if !strings.Contains(body, want) {
			t.Errorf("suspension notice lacks %q:\n%s", want, body)
		}
	}
	for _, staff := range []string{"USD", "auto-suspend", "2026-12-", "residential", "grace"} {
		if strings.Contains(body, staff) {
			t.Errorf("suspension notice shows the staff's wording %q:\n%s", staff, body)
		}
	}
	if ns, _ := db.Notices(ctx, billing.NoticeFilter{AccountID: other, Kind: billing.NoticeSuspended}); len(ns) != 1 || ns[0].Status != billing.NoticeSent ||
		ns[0].JobID == 0 {
		t.Fatalf("other account's suspension notice: %+v; want sent, by its River job", ns)
	}
}

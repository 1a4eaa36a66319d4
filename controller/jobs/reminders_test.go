package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// TestRemindersInsideBusinessHoursBeforeAnySuspension follows two accounts
// through scheduled sweeps and notice delivery to a real SMTP server, on a
// simulated clock: a reminder three days before the delinquency date, held
// until business hours open; suspension on the delinquency date only for
// the account that was reminded; the other is reminded at delinquency and
// suspended at the next sweep.
func TestRemindersInsideBusinessHoursBeforeAnySuspension(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	chicago, _ := time.LoadLocation("America/Chicago")
	at := func(day, hour int) time.Time { return time.Date(2026, 12, day, hour, 0, 0, 0, chicago) }
	clk := clock.NewFixed(at(1, 12))
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7, TimeZone: "America/Chicago",
		AutoSuspend: true, ReminderDaysBefore: []int{3}, BusinessHours: billing.BusinessHours{Start: 9, End: 17}, SweepAt: "06:00"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	owe := func(email string, due billing.Date) (account, service int64) {
		a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: email, AccountTypeID: typ.ID, Currency: "USD"}, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		s, err := db.CreateService(ctx, billing.NewService{POP: "pop-1", Binding: billing.Binding{Method: "log"}, AccountID: &a.ID}, "test", clk.Now())
		if err != nil {
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
		return a.ID, s.ID
	}
	// Due Fri Dec 4: delinquent Fri Dec 11, reminded Tue Dec 8.
	early, earlySvc := owe("early@example.net", billing.NewDate(2026, 12, 4))

	srv, step := startMailingRunner(t, db, clk, quiet)
	status := func(id int64) billing.AccountStatus {
		a, err := db.Account(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return a.Status
	}

	step(at(8, 5)) // before sweep_at: no sweep
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages before the sweep", n)
	}
	step(at(8, 6)) // the sweep queues the reminder; 06:00 is outside business hours
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent at 06:00, outside business hours", n)
	}
	ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: early})
	if err != nil || len(ns) != 1 || ns[0].Kind != billing.NoticeReminder || ns[0].DaysBefore != 3 || ns[0].Status != billing.NoticeQueued {
		t.Fatalf("notices after the sweep: %+v %v", ns, err)
	}
	step(at(8, 9)) // business hours open
	msgs := srv.WaitFor(t, 1, 5*time.Second)
	m := msgs[0]
	if m.Err != nil || len(m.To) != 1 || m.To[0] != "early@example.net" || !strings.Contains(m.Subject, "A-000001") ||
		!strings.Contains(m.Text, "https://pay.isp.example") || !strings.Contains(m.Text, "50.00") {
		t.Fatalf("reminder: to %v subject %q err %v\n%s", m.To, m.Subject, m.Err, m.Text)
	}
	if sent := m.Header.Get("Date"); sent == "" {
		t.Fatal("reminder without a Date header")
	}

	// An account that owed too late for the 3-day reminder.
	late, lateSvc := owe("late@example.net", billing.NewDate(2026, 12, 4))
	step(at(11, 6)) // delinquency date
	if status(early) != billing.AccountSuspended || status(late) != billing.AccountDelinquent {
		t.Fatalf("Dec 11: early %s, late %s; want suspended and delinquent (not reminded yet)", status(early), status(late))
	}
	for svc, want := range map[int64]billing.DesiredState{earlySvc: billing.StateSuspended, lateSvc: billing.StateActive} {
		if s, _ := db.Service(ctx, svc); s.DesiredState != want {
			t.Fatalf("service %d is %s, want %s", svc, s.DesiredState, want)
		}
	}
	step(at(11, 10)) // the late account's reminder, and the early one's suspension notice, go out in business hours
	msgs = srv.WaitFor(t, 3, 5*time.Second)
	var kinds []string
	for _, m := range msgs[1:] {
		kinds = append(kinds, m.To[0]+": "+m.Subject)
	}
	if !strings.Contains(strings.Join(kinds, "\n"), "late@example.net") || !strings.Contains(strings.Join(kinds, "\n"), "early@example.net") {
		t.Fatalf("messages on Dec 11: %q", kinds)
	}
	step(at(12, 6)) // the next sweep: reminded, now suspended
	if status(late) != billing.AccountSuspended {
		t.Fatalf("Dec 12: late account %s, want suspended after its reminder", status(late))
	}
}

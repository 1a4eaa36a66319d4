package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/postgres"
)

// noticeFixture makes accounts with invoices to remind about.
func noticeFixture(t *testing.T, db *postgres.DB, n int) (billing.AccountType, []billing.Account, []billing.Invoice) {
	t.Helper()
	typ, _, accounts := fixture(t, db, n, billing.NewDate(2026, 12, 1))
	runBilling(t, db, typ.ID, billing.NewDate(2026, 12, 27), 100)
	invs, err := db.Invoices(context.Background(), billing.InvoiceFilter{})
	if err != nil || len(invs) < n {
		t.Fatalf("%d invoices, err %v", len(invs), err)
	}
	return typ, accounts, invs
}

func reminder(a billing.Account, inv billing.Invoice, daysBefore int) billing.Notice {
	return billing.Notice{AccountID: a.ID, Kind: billing.NoticeReminder, InvoiceID: inv.ID, DaysBefore: daysBefore,
		To: a.Email, BusinessHours: true, Data: billing.NoticeData{AccountNumber: a.Number, Currency: "USD", Amount: inv.Total,
			DueDate: inv.DueDate, DelinquencyDate: inv.DueDate.AddDays(7), InvoiceNumbers: []string{inv.Number}}}
}

func inTx(t *testing.T, db *postgres.DB, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := pgx.BeginTxFunc(context.Background(), db.Pool, pgx.TxOptions{}, fn); err != nil {
		t.Fatal(err)
	}
}

func TestQueueNotices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	_, accounts, invs := noticeFixture(t, db, 2)
	a, inv := accounts[0], invs[0]

	queue := func(n billing.Notice) bool {
		t.Helper()
		var queued bool
		inTx(t, db, func(tx pgx.Tx) (err error) { queued, err = postgres.QueueNoticeTx(ctx, tx, n, t0); return err })
		return queued
	}
	if !queue(reminder(a, inv, 3)) {
		t.Fatal("first reminder not queued")
	}
	if queue(reminder(a, inv, 3)) {
		t.Fatal("the same reminder was queued twice")
	}
	suspended := billing.Notice{AccountID: a.ID, Kind: billing.NoticeSuspended, To: a.Email, BusinessHours: true,
		Data: billing.NoticeData{Why: []string{"Invoice is 7 days past due."}}}
	for range 2 {
		if !queue(suspended) {
			t.Fatal("a status notice was not queued: only reminders are deduplicated")
		}
	}

	// Many at once: the existing reminder and a repeat within the batch are
	// skipped.
	var n int
	inTx(t, db, func(tx pgx.Tx) (err error) {
		n, err = postgres.QueueNoticesTx(ctx, tx, []billing.Notice{
			reminder(a, inv, 3), reminder(a, inv, 1), reminder(a, inv, 1),
			{AccountID: accounts[1].ID, Kind: billing.NoticeRestored, To: accounts[1].Email},
		}, t0)
		return err
	})
	if n != 2 {
		t.Fatalf("QueueNoticesTx queued %d, want 2", n)
	}

	// Invalid notices are refused and nothing of the batch is queued.
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		_, err := postgres.QueueNoticesTx(ctx, tx, []billing.Notice{reminder(a, inv, 5), {AccountID: a.ID, Kind: billing.NoticeReminder, To: "x@example.net"}}, t0)
		return err
	})
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("invalid batch: %v", err)
	}
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		_, err := postgres.QueueNoticeTx(ctx, tx, billing.Notice{AccountID: 999999, Kind: billing.NoticeSuspended, To: "x@example.net"}, t0)
		return err
	})
	if err == nil {
		t.Fatal("a notice for a missing account was queued")
	}

	all, err := db.Notices(ctx, billing.NoticeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d notices, want 5: %+v", len(all), all)
	}
	first := all[0]
	if first.Kind != billing.NoticeReminder || first.InvoiceID != inv.ID || first.DaysBefore != 3 || first.To != a.Email ||
		first.Status != billing.NoticeQueued || !first.NextAttemptAt.Equal(t0) || !first.CreatedAt.Equal(t0) || first.SentAt != nil ||
		first.Data.AccountNumber != a.Number || first.Data.DueDate != inv.DueDate || first.Data.InvoiceNumbers[0] != inv.Number {
		t.Fatalf("stored reminder: %+v", first)
	}
	if all[2].InvoiceID != 0 || all[2].Data.Why[0] != "Invoice is 7 days past due." {
		t.Fatalf("stored suspension notice: %+v", all[2])
	}

	// Filters.
	for _, tt := range []struct {
		f    billing.NoticeFilter
		want int
	}{
		{billing.NoticeFilter{AccountID: accounts[1].ID}, 1},
		{billing.NoticeFilter{Kind: billing.NoticeReminder}, 2},
		{billing.NoticeFilter{Status: billing.NoticeQueued, Kind: billing.NoticeSuspended}, 2},
		{billing.NoticeFilter{Status: billing.NoticeSent}, 0},
		{billing.NoticeFilter{AfterID: all[3].ID}, 1},
		{billing.NoticeFilter{Limit: 2}, 2},
	} {
		got, err := db.Notices(ctx, tt.f)
		if err != nil || len(got) != tt.want {
			t.Errorf("Notices(%+v) = %d notices, %v; want %d", tt.f, len(got), err, tt.want)
		}
	}
	if _, err := db.Notices(ctx, billing.NoticeFilter{Status: "lost"}); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("bad status filter: %v", err)
	}
}

func TestDueNoticesLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, accounts, invs := noticeFixture(t, db, 1)
	typ.BusinessHours = billing.BusinessHours{Start: 8, End: 20}
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	a, inv := accounts[0], invs[0]
	// Five reminders queued a minute apart, the newest first.
	for i := range 5 {
		inTx(t, db, func(tx pgx.Tx) error {
			_, err := postgres.QueueNoticeTx(ctx, tx, reminder(a, inv, 10-i), t0.Add(time.Duration(5-i)*time.Minute))
			return err
		})
	}
	now := t0.Add(time.Hour)
	got, err := db.DueNotices(ctx, now, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].DaysBefore != 6 || got[1].DaysBefore != 7 || got[2].DaysBefore != 8 {
		t.Fatalf("claimed %+v, want the three oldest, oldest first", got)
	}
	if got[0].TimeZone != "America/Chicago" || got[0].Hours != (billing.BusinessHours{Start: 8, End: 20}) ||
		!got[0].NextAttemptAt.Equal(now.Add(billing.NoticeLease)) {
		t.Fatalf("claimed notice: %+v", got[0])
	}
	rest, err := db.DueNotices(ctx, now, 10)
	if err != nil || len(rest) != 2 {
		t.Fatalf("second claim: %d notices, %v; want the other 2", len(rest), err)
	}
	if again, err := db.DueNotices(ctx, now.Add(billing.NoticeLease-time.Second), 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed notices were handed out again within the lease: %d, %v", len(again), err)
	}
	// Nobody recorded an outcome: after the lease they come back.
	now = now.Add(billing.NoticeLease)
	back, err := db.DueNotices(ctx, now, 10)
	if err != nil || len(back) != 5 {
		t.Fatalf("after the lease: %d notices, %v; want 5", len(back), err)
	}

	sent, deferred, retried, failed, untouched := back[0], back[1], back[2], back[3], back[4]
	if err := db.MarkNoticeSent(ctx, sent.ID, now); err != nil {
		t.Fatal(err)
	}
	tomorrow := now.Add(20 * time.Hour)
	if err := db.RescheduleNotice(ctx, deferred.ID, tomorrow); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkNoticeAttemptFailed(ctx, retried.ID, 1, now.Add(time.Minute), "SMTP error 451: try later", false); err != nil {
		t.Fatal(err)
	}
	long := fmt.Sprintf("SMTP error 550: %01000d é", 0)
	if err := db.MarkNoticeAttemptFailed(ctx, failed.ID, 1, now, long, true); err != nil {
		t.Fatal(err)
	}
	check := func(id int64, status string, attempts int, next time.Time, lastError string) billing.Notice {
		t.Helper()
		n, err := db.Notice(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != status || n.Attempts != attempts || (!next.IsZero() && !n.NextAttemptAt.Equal(next)) || n.LastError != lastError {
			t.Fatalf("notice %d: %s attempts %d next %s error %q; want %s %d %s %q", id, n.Status, n.Attempts, n.NextAttemptAt, n.LastError,
				status, attempts, next, lastError)
		}
		return n
	}
	if n := check(sent.ID, billing.NoticeSent, 1, time.Time{}, ""); n.SentAt == nil || !n.SentAt.Equal(now) {
		t.Fatalf("sent_at %v", n.SentAt)
	}
	check(deferred.ID, billing.NoticeQueued, 0, tomorrow, "")
	check(retried.ID, billing.NoticeQueued, 1, now.Add(time.Minute), "SMTP error 451: try later")
	check(failed.ID, billing.NoticeFailed, 1, time.Time{}, long[:1000])

	// A minute later only the retry is due (the untouched one is leased).
	due, err := db.DueNotices(ctx, now.Add(time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].ID != retried.ID || due[0].Attempts != 1 {
		t.Fatalf("due a minute later: %+v, %v", due, err)
	}
	_ = untouched

	// Resend: sent and failed notices are queued again; queued ones are left.
	for _, id := range []int64{sent.ID, failed.ID} {
		n, err := db.ResendNotice(ctx, id, tomorrow)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != billing.NoticeQueued || n.Attempts != 0 || n.LastError != "" || n.SentAt != nil || !n.NextAttemptAt.Equal(tomorrow) {
			t.Fatalf("resent: %+v", n)
		}
	}
	if n, err := db.ResendNotice(ctx, deferred.ID, now); err != nil || !n.NextAttemptAt.Equal(tomorrow) {
		t.Fatalf("resending a queued notice changed it: %+v, %v", n, err)
	}
	if _, err := db.ResendNotice(ctx, 424242, now); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("resend of a missing notice: %v", err)
	}
	for name, err := range map[string]error{
		"sent":       db.MarkNoticeSent(ctx, 424242, now),
		"reschedule": db.RescheduleNotice(ctx, 424242, now),
		"failed":     db.MarkNoticeAttemptFailed(ctx, 424242, 1, now, "x", false),
	} {
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("%s on a missing notice: %v", name, err)
		}
	}
}

// Two replicas (here: four) claiming at once never get the same notice.
func TestDueNoticesConcurrentClaimsNeverOverlap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	_, accounts, _ := noticeFixture(t, db, 1)
	const total = 600
	ns := make([]billing.Notice, total)
	for i := range ns {
		ns[i] = billing.Notice{AccountID: accounts[0].ID, Kind: billing.NoticeSuspended, To: "s@example.net"}
	}
	inTx(t, db, func(tx pgx.Tx) error { _, err := postgres.QueueNoticesTx(ctx, tx, ns, t0); return err })

	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := db.DueNotices(ctx, t0, 25)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					seen[n.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("claimed %d distinct notices, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("notice %d claimed %d times", id, n)
		}
	}
}

// QueueNoticesTx queues 100,000 notices in one statement, deduplicating
// repeated reminders.
func TestQueueNoticesTxScales(t *testing.T) {
	if testing.Short() {
		t.Skip("100k notices")
	}
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	_, accounts, invs := noticeFixture(t, db, 10)
	const total = 100_000
	ns := make([]billing.Notice, 0, total)
	for i := range total {
		a := accounts[i%len(accounts)]
		if i < 1000 { // reminders, most of them repeats
			ns = append(ns, reminder(a, invs[i%len(invs)], i%4))
			continue
		}
		ns = append(ns, billing.Notice{AccountID: a.ID, Kind: billing.NoticeSuspended, To: a.Email, BusinessHours: true,
			Data: billing.NoticeData{AccountNumber: a.Number, Currency: "USD", Amount: 5311, Balance: 5311,
				Why: []string{"Invoice INV-1 is 7 days past due.", "Reminders were sent."}}})
	}
	start := time.Now()
	var n int
	inTx(t, db, func(tx pgx.Tx) (err error) { n, err = postgres.QueueNoticesTx(ctx, tx, ns, t0); return err })
	took := time.Since(start)
	t.Logf("queued %d notices in %s", n, took)
	distinct := map[[2]int64]bool{}
	for _, x := range ns[:1000] {
		distinct[[2]int64{x.InvoiceID, int64(x.DaysBefore)}] = true
	}
	if want := total - 1000 + len(distinct); n != want {
		t.Fatalf("queued %d, want %d", n, want)
	}
	// How long it takes is the sweep benchmark's business (make bench),
	// not a unit test's: a busy machine must not fail it.
}

// TestDueNoticesCarryTheAccountsStanding: a claimed notice comes with what
// the sender needs to decide whether it is still true (the account's
// status, what is still owed on a reminder's invoice, a later status
// notice) and the locale to write it in; a superseded one is listed with
// its reason and can be resent.
func TestDueNoticesCarryTheAccountsStanding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, accounts, _ := noticeFixture(t, db, 1)
	a := accounts[0]
	invs, err := db.Invoices(ctx, billing.InvoiceFilter{AccountID: a.ID})
	if err != nil || len(invs) == 0 {
		t.Fatalf("invoices: %v %v", invs, err)
	}
	inv := invs[0]
	suspended := billing.Notice{AccountID: a.ID, Kind: billing.NoticeSuspended, To: a.Email, Data: billing.NoticeData{AccountNumber: a.Number}}
	restored := suspended
	restored.Kind = billing.NoticeRestored
	inTx(t, db, func(tx pgx.Tx) error {
		_, err := postgres.QueueNoticesTx(ctx, tx, []billing.Notice{reminder(a, inv, 3), suspended, restored}, t0)
		return err
	})
	claim := func() map[billing.NoticeKind]billing.Notice {
		t.Helper()
		if _, err := db.Pool.Exec(ctx, `UPDATE notices SET next_attempt_at = $1 WHERE status = 'queued'`, t0); err != nil {
			t.Fatal(err)
		}
		ns, err := db.DueNotices(ctx, t0.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[billing.NoticeKind]billing.Notice{}
		for _, n := range ns {
			out[n.Kind] = n
		}
		return out
	}
	got := claim()
	if r := got[billing.NoticeReminder]; r.Current.InvoiceRemaining != inv.Total || r.Current.Status != billing.AccountCurrent || r.Locale != "" {
		t.Fatalf("reminder's standing %+v, locale %q; want %d owed, current, no locale", r.Current, r.Locale, inv.Total)
	}
	if s := got[billing.NoticeSuspended]; s.Current.Later != billing.NoticeRestored {
		t.Fatalf("suspension notice: later %q, want restored", s.Current.Later)
	}
	if r := got[billing.NoticeRestored]; r.Current.Later != "" {
		t.Fatalf("restore notice: later %q, want none", r.Current.Later)
	}

	typ.Locale = "en-GB"
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	if l := claim()[billing.NoticeReminder].Locale; l != "en-GB" {
		t.Fatalf("locale %q, want the type's en-GB", l)
	}
	if _, err := db.SetAccountLocale(ctx, a.ID, "de-DE"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PostPayment(ctx, billing.NewPayment{AccountID: a.ID, Method: billing.PayCash, Amount: inv.Total}, "test", t0); err != nil {
		t.Fatal(err)
	}
	r := claim()[billing.NoticeReminder]
	if r.Locale != "de-DE" || r.Current.InvoiceRemaining != 0 {
		t.Fatalf("after the payment and the account's locale: locale %q, owed %d; want de-DE, 0", r.Locale, r.Current.InvoiceRemaining)
	}
	if ok, why := billing.NoticeStillTrue(r, r.Current); ok || why != "the invoice is paid" {
		t.Fatalf("NoticeStillTrue = %v, %q", ok, why)
	}

	if err := db.MarkNoticeSuperseded(ctx, r.ID, "the invoice is paid"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkNoticeSuperseded(ctx, r.ID, "again"); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("superseding a superseded notice: %v, want ENOTFOUND", err)
	}
	ns, err := db.Notices(ctx, billing.NoticeFilter{Status: billing.NoticeSuperseded})
	if err != nil || len(ns) != 1 || ns[0].ID != r.ID || ns[0].SupersededReason != "the invoice is paid" || ns[0].SentAt != nil {
		t.Fatalf("superseded notices: %+v %v", ns, err)
	}
	again, err := db.ResendNotice(ctx, r.ID, t0)
	if err != nil || again.Status != billing.NoticeQueued || again.SupersededReason != "" {
		t.Fatalf("resent: %+v %v", again, err)
	}
}

package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/app"
	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
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
		inTx(t, db, func(tx pgx.Tx) (err error) { queued, err = db.QueueNoticeTx(ctx, tx, n, t0); return err })
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
		n, err = db.QueueNoticesTx(ctx, tx, []billing.Notice{
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
		_, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{reminder(a, inv, 5), {AccountID: a.ID, Kind: billing.NoticeReminder, To: "x@example.net"}}, t0)
		return err
	})
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("invalid batch: %v", err)
	}
	err = pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		_, err := db.QueueNoticeTx(ctx, tx, billing.Notice{AccountID: 999999, Kind: billing.NoticeSuspended, To: "x@example.net"}, t0)
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

func TestNoticeLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	typ, accounts, invs := noticeFixture(t, db, 1)
	typ.BusinessHours = billing.BusinessHours{Start: 8, End: 20}
	if _, err := db.UpdateAccountType(ctx, typ); err != nil {
		t.Fatal(err)
	}
	a, inv := accounts[0], invs[0]
	// Five reminders queued a minute apart.
	var ids []int64
	for i := range 5 {
		inTx(t, db, func(tx pgx.Tx) error {
			_, err := db.QueueNoticeTx(ctx, tx, reminder(a, inv, 10-i), t0.Add(time.Duration(5-i)*time.Minute))
			return err
		})
	}
	queued, err := db.Notices(ctx, billing.NoticeFilter{Status: billing.NoticeQueued})
	if err != nil || len(queued) != 5 {
		t.Fatalf("queued notices: %d, %v", len(queued), err)
	}
	for _, n := range queued {
		ids = append(ids, n.ID)
	}
	now := t0.Add(time.Hour)
	var got []billing.Notice
	for i, id := range ids {
		n, err := db.NoticeToSend(ctx, id, int64(100+i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if got[0].TimeZone != "America/Chicago" || got[0].Hours != (billing.BusinessHours{Start: 8, End: 20}) || got[0].JobID != 100 {
		t.Fatalf("notice to send: %+v", got[0])
	}
	if n, err := db.Notice(ctx, ids[1]); err != nil || n.JobID != 101 {
		t.Fatalf("the notice does not record its job: %+v, %v", n, err)
	}

	sent, deferred, retried, failed := got[0], got[1], got[2], got[3]
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

	// A job finds its notice while it is queued, not once it is sent or
	// failed.
	if n, err := db.NoticeToSend(ctx, retried.ID, 200); err != nil || n.Attempts != 1 {
		t.Fatalf("retried notice to send: %+v, %v", n, err)
	}
	for _, id := range []int64{sent.ID, failed.ID, 424242} {
		if _, err := db.NoticeToSend(ctx, id, 201); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Fatalf("notice %d to send: %v, want ENOTFOUND", id, err)
		}
	}

	// Resend: sent and failed notices are queued again; queued ones are left.
	for _, id := range []int64{sent.ID, failed.ID} {
		n, err := db.ResendNotice(ctx, id, tomorrow)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != billing.NoticeQueued || n.Attempts != 0 || n.LastError != "" || n.SentAt != nil || !n.NextAttemptAt.Equal(tomorrow) ||
			n.JobID != 0 {
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

// noticeJobs counts River's notice jobs per notice id, and how many are
// waiting to run.
func noticeJobs(t *testing.T, db *postgres.DB) (perNotice map[int64]int, waiting int) {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT (args->>'notice_id')::bigint, state FROM river_job WHERE kind = 'notice'`)
	if err != nil {
		t.Fatal(err)
	}
	perNotice = map[int64]int{}
	var id int64
	var state string
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error {
		perNotice[id]++
		if state == "available" || state == "scheduled" {
			waiting++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return perNotice, waiting
}

// Every queued notice gets its River job in the transaction that queues
// it (with the job runner wired, as in the controller): a rolled-back
// transaction leaves neither; a resend adds one job, a resend of a notice
// still queued none. (One job per notice replaces the claims of old: River
// runs each job once at a time.)
func TestQueuedNoticesCommitWithTheirJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	if _, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.NewFixed(t0), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	_, accounts, _ := noticeFixture(t, db, 1)
	const total = 600
	ns := make([]billing.Notice, total)
	for i := range ns {
		ns[i] = billing.Notice{AccountID: accounts[0].ID, Kind: billing.NoticeSuspended, To: "s@example.net"}
	}
	rollback := errors.New("rolled back")
	if err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := db.QueueNoticesTx(ctx, tx, ns[:10], t0); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if per, _ := noticeJobs(t, db); len(per) != 0 {
		t.Fatalf("%d notice jobs after a rollback", len(per))
	}
	inTx(t, db, func(tx pgx.Tx) error { _, err := db.QueueNoticesTx(ctx, tx, ns, t0); return err })
	queued, err := db.Notices(ctx, billing.NoticeFilter{Status: billing.NoticeQueued, Limit: 1000})
	if err != nil || len(queued) != total {
		t.Fatalf("%d queued notices, %v", len(queued), err)
	}
	per, waiting := noticeJobs(t, db)
	if len(per) != total || waiting != total {
		t.Fatalf("%d notices with jobs, %d waiting; want %d", len(per), waiting, total)
	}
	for _, n := range queued {
		if per[n.ID] != 1 {
			t.Fatalf("notice %d has %d jobs, want 1", n.ID, per[n.ID])
		}
	}
	if _, err := db.ResendNotice(ctx, queued[0].ID, t0); err != nil {
		t.Fatal(err)
	}
	if per, _ := noticeJobs(t, db); per[queued[0].ID] != 1 {
		t.Fatalf("resending a queued notice made %d jobs, want 1", per[queued[0].ID])
	}
	if err := db.MarkNoticeSent(ctx, queued[1].ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now()
		WHERE kind = 'notice' AND (args->>'notice_id')::bigint = $1`, queued[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResendNotice(ctx, queued[1].ID, t0); err != nil {
		t.Fatal(err)
	}
	if per, _ := noticeJobs(t, db); per[queued[1].ID] != 2 {
		t.Fatalf("resending a sent notice: %d jobs, want 2 (the first and the resend's)", per[queued[1].ID])
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
	inTx(t, db, func(tx pgx.Tx) (err error) { n, err = db.QueueNoticesTx(ctx, tx, ns, t0); return err })
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

// TestNoticeToSendCarriesTheAccountsStanding: a notice to send comes with what
// the sender needs to decide whether it is still true (the account's
// status, what is still owed on a reminder's invoice, a later status
// notice) and the locale to write it in; a superseded one is listed with
// its reason and can be resent.
func TestNoticeToSendCarriesTheAccountsStanding(t *testing.T) {
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
		_, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{reminder(a, inv, 3), suspended, restored}, t0)
		return err
	})
	claim := func() map[billing.NoticeKind]billing.Notice {
		t.Helper()
		ns, err := db.Notices(ctx, billing.NoticeFilter{Status: billing.NoticeQueued})
		if err != nil {
			t.Fatal(err)
		}
		out := map[billing.NoticeKind]billing.Notice{}
		for _, n := range ns {
			if out[n.Kind], err = db.NoticeToSend(ctx, n.ID, 1); err != nil {
				t.Fatal(err)
			}
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

// Notices queued with no job (before notices were River jobs) get one when
// the runner adopts them; a notice whose job waits gets no second one.
func TestQueuedNoticesWithoutJobsAreAdopted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	_, accounts, _ := noticeFixture(t, db, 1)
	n := billing.Notice{AccountID: accounts[0].ID, Kind: billing.NoticeSuspended, To: "s@example.net"}
	inTx(t, db, func(tx pgx.Tx) error { _, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{n, n, n}, t0); return err })
	if per, _ := noticeJobs(t, db); len(per) != 0 {
		t.Fatalf("%d jobs without a job runner", len(per))
	}
	if _, err := app.NewJobRunner(jobs.Config{DisableSchedule: true}, db, clock.NewFixed(t0), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx pgx.Tx) error { _, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{n, n}, t0); return err })
	for range 2 {
		if got, _, err := db.AdoptQueuedWithoutJobs(ctx); err != nil || got != 5 {
			t.Fatalf("adopted %d, %v; want the 5 queued notices looked at", got, err)
		}
	}
	per, waiting := noticeJobs(t, db)
	if len(per) != 5 || waiting != 5 {
		t.Fatalf("%d notices with jobs, %d waiting; want 5", len(per), waiting)
	}
	for id, k := range per {
		if k != 1 {
			t.Fatalf("notice %d has %d jobs, want 1", id, k)
		}
	}
}

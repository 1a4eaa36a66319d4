package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/notify"
	"github.com/tollgate-isp/tollgate/internal/clock"
	"github.com/tollgate-isp/tollgate/internal/smtptest"
)

// TestNoticeJobsRetryOnTheBackoffAndCancelOnAPermanentFailure runs notices
// through River alone (nothing wakes the jobs): a notice queued in a
// transaction is sent by its job once the transaction commits; a 451 is
// retried by River after the notices' backoff and the second attempt is
// sent; a 550 fails the notice and cancels its job. Each notice records its
// job.
func TestNoticeJobsRetryOnTheBackoffAndCancelOnAPermanentFailure(t *testing.T) {
	ctx, quiet, db := context.Background(), quietLog(), openDB(t)
	clk := clock.NewFixed(time.Date(2026, 12, 14, 16, 0, 0, 0, time.UTC))
	typ, err := db.CreateAccountType(ctx, billing.AccountType{Name: "residential", DueDays: 14, GraceDays: 7, TimeZone: "UTC"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateAccount(ctx, billing.NewAccount{Name: "Subscriber", Email: "sub@example.net", AccountTypeID: typ.ID, Currency: "USD"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t)
	sender, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "billing@isp.example", TLS: notify.TLSNone}, clk)
	if err != nil {
		t.Fatal(err)
	}
	d, err := notify.NewDeliverer(notify.DelivererConfig{Company: "ISP", MaxAttempts: 3, Backoff: []time.Duration{time.Second}}, db, sender,
		notify.DefaultTemplates(), clk, quiet, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Config{DisableSchedule: true}, db, clk, quiet)
	r.UseNotifier(d)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())

	queue := func() int64 {
		t.Helper()
		n := billing.Notice{AccountID: a.ID, Kind: billing.NoticeRestored, To: a.Email,
			Data: billing.NoticeData{AccountNumber: a.Number, AccountName: a.Name, Currency: "USD", Amount: 5000}}
		if err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
			_, err := db.QueueNoticesTx(ctx, tx, []billing.Notice{n}, clk.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ns, err := db.Notices(ctx, billing.NoticeFilter{AccountID: a.ID, Limit: 1000})
		if err != nil || len(ns) == 0 {
			t.Fatalf("notices: %v", err)
		}
		return ns[len(ns)-1].ID
	}
	settled := func(id int64, status string) (billing.Notice, *rivertype.JobRow) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := db.Notice(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if n.Status == status && n.JobID != 0 {
				if job, err := r.river.JobGet(ctx, n.JobID); err == nil && job.FinalizedAt != nil {
					return n, job
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("notice %d is %s (job %d) after 30s; want %s with its job finished", id, n.Status, n.JobID, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	srv.FailNext(1, 451)
	n, job := settled(queue(), billing.NoticeSent)
	if n.Attempts != 2 || job.State != rivertype.JobStateCompleted || job.Attempt != 2 || len(job.Errors) != 1 ||
		!strings.Contains(job.Errors[0].Error, "451") {
		t.Fatalf("after a 451: notice attempts %d; job %s, attempt %d, errors %+v; want 2 attempts, completed on the second after the 451",
			n.Attempts, job.State, job.Attempt, job.Errors)
	}
	if got := len(srv.WaitFor(t, 1, 5*time.Second)); got != 1 {
		t.Fatalf("%d messages, want 1", got)
	}

	srv.FailNext(1, 550)
	n, job = settled(queue(), billing.NoticeFailed)
	if n.Attempts != 1 || !strings.Contains(n.LastError, "550") || job.State != rivertype.JobStateCancelled || job.Attempt != 1 {
		t.Fatalf("after a 550: notice %+v; job %s, attempt %d; want failed after 1 attempt, its job cancelled", n, job.State, job.Attempt)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("%d messages, want still 1", got)
	}
}

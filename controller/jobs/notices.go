package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/notify"
)

// Notices to subscribers (reminders, suspension and restore notices). The
// store queues a notice and, in the same transaction, one River job that
// sends it (the store calls Runner.InsertNoticeJobsTx: controller/app
// registers the runner as the store's postgres.NoticeJobs); the sweep
// inserts all of its jobs with one COPY. The job checks the notice against
// the account's standing when it runs (notify.Deliverer.Send), snoozes
// until business hours, and River retries temporary failures on the
// notices' backoff; one job per notice waits at a time (River uniqueness).

// NoticeQueue is the River queue of notice jobs.
const NoticeQueue = "notice"

// noticeJobMaxAttempts bounds a notice job's runs: the notice itself fails
// after notify.DelivererConfig.MaxAttempts sends (its job is then
// cancelled); the rest covers store errors.
const noticeJobMaxAttempts = 25

// unsentNoticeWait is how long a notice job waits when no sender is
// configured (notices.smtp): its notice goes out within that once one is.
const unsentNoticeWait = time.Hour

// NoticeArgs sends one notice.
type NoticeArgs struct {
	NoticeID int64 `json:"notice_id"`
}

// Kind implements river.JobArgs.
func (NoticeArgs) Kind() string { return "notice" }

// InsertOpts puts notice jobs in their own queue, one waiting job per
// notice.
func (NoticeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: NoticeQueue, MaxAttempts: noticeJobMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// Notifier sends one notice for its job (notify.Deliverer).
type Notifier interface {
	// Send makes one attempt at notice id for job jobID; send failures
	// are in the Result (Retry, Failed), a notice no longer queued is Gone.
	// Errors: the store's or ctx's (nothing is known to be recorded; the
	// job is retried).
	Send(ctx context.Context, id, jobID int64) (notify.Result, error)
	// RetryAfter is the wait after the attempts'th failed attempt.
	RetryAfter(attempts int) time.Duration
}

// UseNotifier lets the notice jobs send through n. Without it notices stay
// queued (their jobs wait an hour at a time). Call before Start.
func (r *Runner) UseNotifier(n Notifier) { r.notifier = n }

// InsertNoticeJobsTx inserts in tx one job per notice id (the store's
// postgres.NoticeJobs) (see insertJobsTx): again (re-sends) with River's
// uniqueness, so a notice whose job still waits gets no second one.
// The error is River's or the database's: nothing was inserted.
func (r *Runner) InsertNoticeJobsTx(ctx context.Context, tx pgx.Tx, noticeIDs []int64, again bool) error {
	params := make([]river.InsertManyParams, len(noticeIDs))
	for i, id := range noticeIDs {
		params[i] = river.InsertManyParams{Args: NoticeArgs{NoticeID: id}}
	}
	return r.insertJobsTx(ctx, tx, params, again)
}

// copyJobsFrom is how many jobs make a COPY (InsertManyFastTx) worth its
// extra round trips (pgx describes the table, then streams the rows): a
// sweep's tens of thousands of notices go in by COPY, a settlement's one
// notice by one INSERT in the payment's transaction.
const copyJobsFrom = 64

// insertJobsTx inserts jobs in tx: with River's uniqueness checked and
// reported (InsertManyTx) when again or for a few jobs, else by COPY.
// The error is River's or the database's: nothing was inserted.
func (r *Runner) insertJobsTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams, again bool) error {
	if again || len(params) < copyJobsFrom {
		_, err := r.river.InsertManyTx(ctx, tx, params)
		return err
	}
	_, err := r.river.InsertManyFastTx(ctx, tx, params)
	return err
}

type noticeWorker struct {
	river.WorkerDefaults[NoticeArgs]
	r *Runner
}

// Work sends the job's notice: a deferral to business hours snoozes the job
// (no attempt counted), a temporary failure is returned for River to retry
// after the notices' backoff (NextRetry), a permanent one or the last
// attempt cancels the job (the notice is recorded as failed).
func (w *noticeWorker) Work(ctx context.Context, job *river.Job[NoticeArgs]) error {
	if w.r.notifier == nil {
		return river.JobSnooze(unsentNoticeWait)
	}
	res, err := w.r.notifier.Send(ctx, job.Args.NoticeID, job.ID)
	if err != nil {
		return err
	}
	switch res.Outcome {
	case notify.Deferred:
		return river.JobSnooze(max(res.Until.Sub(w.r.clock.Now()), 0))
	case notify.Retry:
		return res.Err
	case notify.Failed:
		return river.JobCancel(res.Err)
	}
	return nil
}

// NextRetry is the notices' backoff after the job's attempt-th failure.
func (w *noticeWorker) NextRetry(job *river.Job[NoticeArgs]) time.Time {
	if w.r.notifier == nil {
		return time.Time{} // River's default
	}
	return time.Now().Add(w.r.notifier.RetryAfter(job.Attempt))
}

// DeliverNotices makes every notice job that waits (for business hours or a
// retry) run now, so each checks its notice again against the clock as it
// is now, and waits, bounded by ctx, until no notice job is left to run.
// It is for the dev clock (which moves the controller's time ahead of
// River's) and tests. A runner that is not started does nothing (its
// notices go out once it starts). Errors: River's, ctx's.
func (r *Runner) DeliverNotices(ctx context.Context) error {
	if !r.started {
		return nil
	}
	params := river.NewJobListParams().Kinds(NoticeArgs{}.Kind()).
		States(rivertype.JobStateScheduled, rivertype.JobStateRetryable).First(1000)
	for {
		res, err := r.river.JobList(ctx, params)
		if err != nil {
			return fmt.Errorf("jobs: listing waiting notice jobs: %w", err)
		}
		for _, j := range res.Jobs {
			if _, err := r.river.JobRetry(ctx, j.ID); err != nil {
				return fmt.Errorf("jobs: waking notice job %d: %w", j.ID, err)
			}
		}
		if len(res.Jobs) < 1000 {
			break
		}
		params = params.After(res.LastCursor)
	}
	busy := river.NewJobListParams().Kinds(NoticeArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning).First(1)
	for {
		res, err := r.river.JobList(ctx, busy)
		if err != nil {
			return fmt.Errorf("jobs: listing running notice jobs: %w", err)
		}
		if len(res.Jobs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// legacyNoticesArgs is the periodic "deliver the due notices" job of
// before notices were River jobs; one left in the queue by an upgrade
// completes doing nothing.
type legacyNoticesArgs struct{}

// Kind implements river.JobArgs.
func (legacyNoticesArgs) Kind() string { return "notices" }

type legacyNoticesWorker struct {
	river.WorkerDefaults[legacyNoticesArgs]
}

func (legacyNoticesWorker) Work(context.Context, *river.Job[legacyNoticesArgs]) error { return nil }

package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/delivery"
)

// Invoice delivery (issue 9). When a billing run's last batch is done, a
// run-delivery job queues its invoices' deliveries and, in the same
// transaction, one River job per delivery (the store calls
// Runner.InsertDeliveryJobsTx: controller/app registers the runner as the
// store's postgres.DeliveryJobs); a re-send inserts a new job with the row
// it queues again. Each delivery job renders and sends one invoice by one
// channel (delivery.Worker.Deliver); River retries it on the deliveries'
// backoff. A periodic run-delivery job (every Config.DeliveryInterval)
// queues any finished run that was missed (its controller stopped in
// between). Delivery jobs run in their own River queue, so billing batches
// never wait behind a long delivery.

// DeliveryQueue is the River queue of delivery jobs.
const DeliveryQueue = "delivery"

// catchUpWindow is how far back finished runs whose invoices were never
// queued are picked up.
const catchUpWindow = 7 * 24 * time.Hour

// deliveryJobMaxAttempts bounds a delivery job's runs: the delivery itself
// fails after delivery.Config.MaxAttempts attempts (its job is then
// cancelled); the rest covers store errors.
const deliveryJobMaxAttempts = 25

// undeliveredWait is how long a delivery job waits when no deliverer is
// configured.
const undeliveredWait = time.Hour

// Deliverer delivers one invoice delivery for its job (delivery.Worker).
type Deliverer interface {
	// Deliver makes one attempt at delivery id for job jobID; delivery
	// failures are in the Result (Retry, Failed), a delivery no longer
	// queued is Gone. Errors: the store's (the invoice could not be loaded
	// or the outcome not recorded; the job is retried).
	Deliver(ctx context.Context, id, jobID int64) (delivery.Result, error)
	// RetryAfter is the wait after the attempts'th failed attempt.
	RetryAfter(attempts int) time.Duration
	// Channels are the channels it delivers by; only those are queued.
	Channels() []billing.DeliveryChannel
}

// UseDeliverer lets the delivery jobs queue finished runs' invoices and
// deliver them through d. Without it nothing is queued. Call before Start.
func (r *Runner) UseDeliverer(d Deliverer) { r.deliverer = d }

// DeliveryChannels are the channels invoices are delivered by (none
// without a deliverer): the store queues an invoice issued outside a
// billing run (an adjustment invoice) by them.
func (r *Runner) DeliveryChannels() []billing.DeliveryChannel {
	if r.deliverer == nil {
		return nil
	}
	return r.deliverer.Channels()
}

// DeliveryArgs queues billing run RunID's invoices for delivery (when not
// 0), and any finished run whose invoices were never queued.
type DeliveryArgs struct {
	RunID int64 `json:"run_id,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return "invoice_delivery" }

// InsertOpts puts delivery jobs in their own queue.
func (DeliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: DeliveryQueue} }

// DeliverInvoiceArgs delivers one invoice by one channel: one row of
// invoice_deliveries.
type DeliverInvoiceArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind implements river.JobArgs.
func (DeliverInvoiceArgs) Kind() string { return "deliver_invoice" }

// InsertOpts puts the job in the delivery queue, one waiting job per
// delivery.
func (DeliverInvoiceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: DeliveryQueue, MaxAttempts: deliveryJobMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// InsertDeliveryJobsTx inserts in tx one job per delivery id (the store's
// postgres.DeliveryJobs) (see insertJobsTx): again (re-sends) with River's
// uniqueness, so a delivery whose job still waits gets no second one.
// The error is River's or the database's: nothing was inserted.
func (r *Runner) InsertDeliveryJobsTx(ctx context.Context, tx pgx.Tx, deliveryIDs []int64, again bool) error {
	params := make([]river.InsertManyParams, len(deliveryIDs))
	for i, id := range deliveryIDs {
		params[i] = river.InsertManyParams{Args: DeliverInvoiceArgs{DeliveryID: id}}
	}
	return r.insertJobsTx(ctx, tx, params, again)
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	r *Runner
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	return w.r.QueueDeliveries(ctx, job.Args.RunID)
}

type deliverInvoiceWorker struct {
	river.WorkerDefaults[DeliverInvoiceArgs]
	r *Runner
}

// Work delivers the job's delivery: a temporary failure is returned for
// River to retry after the deliveries' backoff (NextRetry), a permanent one
// or the last attempt cancels the job (the delivery is recorded as failed).
func (w *deliverInvoiceWorker) Work(ctx context.Context, job *river.Job[DeliverInvoiceArgs]) error {
	if w.r.deliverer == nil {
		return river.JobSnooze(undeliveredWait)
	}
	res, err := w.r.deliverer.Deliver(ctx, job.Args.DeliveryID, job.ID)
	if err != nil {
		return err
	}
	switch res.Outcome {
	case delivery.Retry:
		return res.Err
	case delivery.Failed:
		return river.JobCancel(res.Err)
	}
	return nil
}

// NextRetry is the deliveries' backoff after the job's attempt-th failure.
func (w *deliverInvoiceWorker) NextRetry(job *river.Job[DeliverInvoiceArgs]) time.Time {
	if w.r.deliverer == nil {
		return time.Time{} // River's default
	}
	return time.Now().Add(w.r.deliverer.RetryAfter(job.Attempt))
}

// runFinished is called when a billing run's last batch is done: its
// invoices are queued now. If the job cannot be inserted the periodic
// delivery job queues the run within Config.DeliveryInterval.
func (r *Runner) runFinished(ctx context.Context, runID int64) {
	if r.deliverer == nil {
		return
	}
	if _, err := r.river.Insert(ctx, DeliveryArgs{RunID: runID},
		&river.InsertOpts{Queue: DeliveryQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}}); err != nil {
		r.log.Warn("could not start the delivery of a finished billing run; the periodic delivery job will", "run_id", runID, "err", err)
	}
}

// QueueDeliveries queues billing run runID's invoices for delivery (if
// runID is not 0 and they were not queued before) and those of any run
// finished in the last 7 days whose invoices were never queued, each
// delivery with the job that delivers it. Errors: Deliveries' (the runs
// queued before it stay queued).
func (r *Runner) QueueDeliveries(ctx context.Context, runID int64) error {
	if r.deliverer == nil {
		return nil
	}
	channels := r.deliverer.Channels()
	now := r.clock.Now()
	runs, err := r.store.Deliveries.UnqueuedRuns(ctx, now.Add(-catchUpWindow))
	if err != nil {
		return err
	}
	if runID != 0 {
		runs = append([]int64{runID}, runs...)
	}
	for _, id := range runs {
		queued, n, err := r.store.Deliveries.QueueRunDeliveries(ctx, id, channels, now)
		if err != nil {
			return err
		}
		if queued {
			r.log.Info("billing run's invoices queued for delivery", "run_id", id, "deliveries", n, "channels", channels)
		}
	}
	return nil
}

package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Invoice delivery (issue 9). When a billing run's last batch is done, a
// delivery job for the run queues its invoices in the delivery outbox and
// delivers them; a periodic delivery job (every Config.DeliveryInterval)
// delivers what is due since (retries, re-sends) and queues any finished
// run that was missed (its controller stopped in between). Delivery jobs
// run in their own River queue, one at a time per replica, so billing
// batches never wait behind a long delivery; the deliverer sends several
// invoices at once itself.

// DeliveryQueue is the River queue of delivery jobs.
const DeliveryQueue = "delivery"

// catchUpWindow is how far back finished runs whose invoices were never
// queued are picked up.
const catchUpWindow = 7 * 24 * time.Hour

// Deliverer delivers due invoices from the delivery outbox
// (delivery.Worker).
type Deliverer interface {
	// RunOnce works one batch of due deliveries and returns how many it
	// claimed (0: nothing is due).
	RunOnce(ctx context.Context) (int, error)
	// Channels are the channels it delivers by; only those are queued.
	Channels() []billing.DeliveryChannel
}

// UseDeliverer lets the delivery jobs queue finished runs' invoices and
// deliver them through d. Without it nothing is queued. Call before Start.
func (r *Runner) UseDeliverer(d Deliverer) { r.deliverer = d }

// DeliveryArgs delivers invoices: RunID's (queued first) and whatever else
// is due.
type DeliveryArgs struct {
	RunID int64 `json:"run_id,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return "invoice_delivery" }

// InsertOpts puts delivery jobs in their own queue.
func (DeliveryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: DeliveryQueue} }

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	r *Runner
}

func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	more, err := w.r.DeliverInvoices(ctx, job.Args.RunID, w.r.cfg.JobTimeout/2)
	if err == nil && more {
		// Out of time with deliveries still due: carry on in a new job.
		w.r.KickDelivery(ctx)
	}
	return err
}

// runFinished is called when a billing run's last batch is done: its
// invoices go out now. If the job cannot be inserted the periodic delivery
// job queues the run within Config.DeliveryInterval.
func (r *Runner) runFinished(ctx context.Context, runID int64) {
	if r.deliverer == nil {
		return
	}
	if _, err := r.river.Insert(ctx, DeliveryArgs{RunID: runID},
		&river.InsertOpts{Queue: DeliveryQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}}); err != nil {
		r.log.Warn("could not start the delivery of a finished billing run; the periodic delivery job will", "run_id", runID, "err", err)
	}
}

// KickDelivery asks for due deliveries to be worked now (after a re-send)
// rather than at the next periodic run.
func (r *Runner) KickDelivery(ctx context.Context) {
	if r.deliverer == nil {
		return
	}
	if _, err := r.river.Insert(ctx, DeliveryArgs{}, nil); err != nil {
		r.log.Warn("could not start a delivery job; the periodic one will deliver", "err", err)
	}
}

// DeliverInvoices queues billing run runID's invoices for delivery (if
// runID is not 0 and they were not queued before) and any run finished in
// the last 7 days whose invoices were never queued, then delivers what is
// due, batch after batch, for at most budget (0: until nothing is due).
// more reports that deliveries were still due when the budget ran out.
func (r *Runner) DeliverInvoices(ctx context.Context, runID int64, budget time.Duration) (more bool, err error) {
	if r.deliverer == nil {
		return false, nil
	}
	channels := r.deliverer.Channels()
	now := r.clock.Now()
	runs, err := r.db.UnqueuedRuns(ctx, now.Add(-catchUpWindow))
	if err != nil {
		return false, err
	}
	if runID != 0 {
		runs = append([]int64{runID}, runs...)
	}
	for _, id := range runs {
		queued, n, err := r.db.QueueRunDeliveries(ctx, id, channels, now)
		if err != nil {
			return false, err
		}
		if queued {
			r.log.Info("billing run's invoices queued for delivery", "run_id", id, "deliveries", n, "channels", channels)
		}
	}
	start := time.Now()
	for {
		n, err := r.deliverer.RunOnce(ctx)
		if err != nil || n == 0 {
			return false, err
		}
		if budget > 0 && time.Since(start) >= budget {
			return true, nil
		}
	}
}

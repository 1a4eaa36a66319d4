package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// Config tunes background work. Zero values take the documented defaults.
type Config struct {
	// Workers is how many jobs run at once in this process. Default 2.
	Workers int
	// TickInterval is how often the billing scheduler checks whether an
	// account type's local date has changed. Default 5m.
	TickInterval time.Duration
	// JobTimeout bounds one job (one batch of accounts). Default 5m.
	JobTimeout time.Duration
	// RescueStuckAfter is how long a job may stay running before another
	// controller takes it over (its controller presumably died). Must exceed
	// JobTimeout. Default JobTimeout + 1m.
	RescueStuckAfter time.Duration
	// LeaseTTL is how long a job runner's lease lasts. Every runner renews
	// its lease (in the database, at the database's time) every LeaseTTL/3
	// and, at the same moments, makes available again every job left
	// running by a runner whose lease lapsed (it crashed or was killed), so
	// an interrupted billing batch resumes within about LeaseTTL + LeaseTTL/3
	// of the crash, on any replica, or on this one when it restarts. A
	// healthy runner's long job is never taken over, however long it runs
	// (up to JobTimeout). Default 30s, at least 1s.
	LeaseTTL time.Duration
	// BatchSize is how many accounts one billing batch job invoices in one
	// transaction. Default 2500 (measured: fewer, larger COPYs beat more,
	// smaller ones on the 2-core reference machine).
	BatchSize int
	// IdempotencyRetention is how long Idempotency-Keys (and the responses
	// replayed for them) are kept; at least 7 days. Default 30 days.
	IdempotencyRetention time.Duration
	// EnforcementRetention is how long enforcement history (every desired
	// state change per POP) is kept; an agent further behind gets a
	// snapshot. The blast-radius guard's 30-day median reads this history,
	// so less than 30 days makes it hold more often. Default 35 days;
	// at least 1h.
	EnforcementRetention time.Duration
	// Guard is the blast-radius guard of scheduled delinquency sweeps (see
	// billing.SuspensionGuard for its defaults: 25 services, 10% of a POP,
	// 3 × the 30-day median).
	Guard billing.SuspensionGuard
	// NoticeWorkers is how many notices (reminders, suspension and restore
	// notices) this process sends at once. Default 4.
	NoticeWorkers int
	// DeliveryInterval is how often finished billing runs whose invoices
	// were never queued for delivery are looked for; a run's deliveries are
	// queued as soon as it finishes. Default 1m.
	DeliveryInterval time.Duration
	// GatewayRecoveryInterval is how often refunds and charge attempts left
	// pending (a crash or a lost gateway answer between the gateway call and
	// the journal) are settled from the gateway. Default 1m.
	GatewayRecoveryInterval time.Duration
	// GatewayRecoveryAfter is how old a pending refund or attempt must be
	// before recovery touches it, so that a request still waiting for the
	// gateway settles its own. Default 2m.
	GatewayRecoveryAfter time.Duration
	// DeliveryWorkers is how many invoices this process delivers at once.
	// Default 8.
	DeliveryWorkers int
	// DisableSchedule turns off the periodic tick (tests; dev mode drives
	// the clock through the API instead). Default false.
	DisableSchedule bool
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.TickInterval <= 0 {
		c.TickInterval = 5 * time.Minute
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 5 * time.Minute
	}
	if c.RescueStuckAfter <= c.JobTimeout {
		c.RescueStuckAfter = c.JobTimeout + time.Minute
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 2500
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	c.LeaseTTL = max(c.LeaseTTL, time.Second)
	if c.EnforcementRetention <= 0 {
		c.EnforcementRetention = 35 * 24 * time.Hour
	}
	c.EnforcementRetention = max(c.EnforcementRetention, time.Hour)
	if c.DeliveryWorkers <= 0 {
		c.DeliveryWorkers = 8
	}
	if c.NoticeWorkers <= 0 {
		c.NoticeWorkers = 4
	}
	if c.DeliveryInterval <= 0 {
		c.DeliveryInterval = time.Minute
	}
	if c.GatewayRecoveryInterval <= 0 {
		c.GatewayRecoveryInterval = time.Minute
	}
	if c.GatewayRecoveryAfter <= 0 {
		c.GatewayRecoveryAfter = 2 * time.Minute
	}
	if c.IdempotencyRetention <= 0 {
		c.IdempotencyRetention = 30 * 24 * time.Hour
	}
	c.IdempotencyRetention = max(c.IdempotencyRetention, 7*24*time.Hour)
	return c
}

// BillingBatchArgs is one batch of a billing run.
type BillingBatchArgs struct {
	RunID   int64 `json:"run_id"`
	BatchNo int   `json:"batch_no"`
}

// Kind implements river.JobArgs.
func (BillingBatchArgs) Kind() string { return "billing_batch" }

// TickArgs is the periodic billing scheduler tick.
type TickArgs struct{}

// Kind implements river.JobArgs.
func (TickArgs) Kind() string { return "billing_tick" }

// LateFeesArgs charges late fees for one account type on one date.
type LateFeesArgs struct {
	AccountTypeID int64        `json:"account_type_id"`
	Date          billing.Date `json:"date"`
}

// Kind implements river.JobArgs.
func (LateFeesArgs) Kind() string { return "late_fees" }

// AutopayArgs charges the due invoices of one account type's autopay
// accounts on one date.
type AutopayArgs struct {
	AccountTypeID int64        `json:"account_type_id"`
	Date          billing.Date `json:"date"`
}

// Kind implements river.JobArgs.
func (AutopayArgs) Kind() string { return "autopay" }

// Charger charges a payment method on file (the charge service).
type Charger interface {
	// Charge charges amount to method methodID of account accountID once
	// per key; a declined charge is not an error (the attempt says failed
	// and why). Errors: ENOTFOUND for an unknown account or method,
	// EINVALID for a removed method or a bad amount, ECONFLICT for a key
	// used for another charge; the gateway's refusal; charge's
	// ErrChargeUnsettled (wrapped) when the gateway's answer is unknown
	// (the attempt stays pending for the recovery job). The autopay job
	// logs any of them and tries again on the type's retry schedule.
	Charge(ctx context.Context, accountID, methodID, amount int64, trigger billing.AttemptTrigger, key string, invoiceID *int64, attemptNo int) (billing.PaymentAttempt, error)
}

// Runner owns the River client and the billing scheduler. It inserts the
// jobs that send notices and deliver invoices in the store's transactions
// (InsertNoticeJobsTx, InsertDeliveryJobsTx): the controller registers it
// with the store (controller/app).
type Runner struct {
	cfg     Config
	store   Stores
	clock   clock.Clock
	log     *slog.Logger
	river   *river.Client[pgx.Tx]
	charger Charger
	refunds RefundRecoverer
	// intents settles payments whose webhook was lost (intents.go).
	intents  *intentCheck
	notifier Notifier
	// deliverer delivers invoices (delivery.go).
	deliverer Deliverer
	// metrics observes the work (nil: not observed; metrics.go).
	metrics *Metrics
	// started is set by Start.
	started bool
	// stopLease ends the lease loop started by Start; leaseDone is closed
	// when it has ended.
	stopLease context.CancelFunc
	leaseDone chan struct{}
	// beforeBatch, if set, runs before each billing batch (tests slow
	// batches down with it).
	beforeBatch func(ctx context.Context, args BillingBatchArgs)
}

// UseCharger lets the autopay job charge through c. Without it autopay jobs
// do nothing. Call before Start.
func (r *Runner) UseCharger(c Charger) { r.charger = c }

// RefundRecoverer settles refunds and charge attempts left pending
// (charge.Service).
type RefundRecoverer interface {
	// RecoverRefund settles pending refund r from its gateway (completed,
	// released, sent again with its key, or flagged for staff) and returns
	// it as it now stands. Errors: the gateway could not be asked (on a
	// resend, charge's ErrRefundUnsettled, wrapped), or the store's; r then
	// stays pending and the next run tries again.
	RecoverRefund(ctx context.Context, r billing.Refund) (billing.Refund, error)
	// RecoverAttempt settles pending charge attempt a (sent again with its
	// key while under 23 h old, else flagged for staff) and returns it as
	// it now stands. Errors: the gateway's answer is unknown (charge's
	// ErrChargeUnsettled, wrapped), or the store's; a then stays pending
	// and the next run tries again.
	RecoverAttempt(ctx context.Context, a billing.PaymentAttempt) (billing.PaymentAttempt, error)
}

// UseRefundRecoverer lets the gateway recovery job settle pending refunds
// and charge attempts through rr. Without it they stay pending. Call
// before Start.
func (r *Runner) UseRefundRecoverer(rr RefundRecoverer) { r.refunds = rr }

// New builds a runner on the store's ports; pool is only River's: its
// driver runs River's own tables on it. The caller registers the runner
// with the store as the inserter of notice and delivery jobs (the
// controller does both in app.NewJobRunner). It does not start working
// until Start. Errors: a missing port or pool (named), or River's
// configuration error.
func New(cfg Config, pool *pgxpool.Pool, store Stores, clk clock.Clock, log *slog.Logger) (*Runner, error) {
	if f := store.missing(); f != "" {
		return nil, fmt.Errorf("jobs: store port Stores.%s is required", f)
	}
	if pool == nil {
		return nil, errors.New("jobs: a database pool (River's) is required")
	}
	cfg = cfg.withDefaults()
	r := &Runner{cfg: cfg, store: store, clock: clk, log: log}
	workers := river.NewWorkers()
	river.AddWorker(workers, &batchWorker{r: r})
	river.AddWorker(workers, &tickWorker{r: r})
	river.AddWorker(workers, &lateFeesWorker{r: r})
	river.AddWorker(workers, &autopayWorker{r: r})
	river.AddWorker(workers, &purgeWorker{r: r})
	river.AddWorker(workers, &noticeWorker{r: r})
	river.AddWorker(workers, &legacyNoticesWorker{})
	river.AddWorker(workers, &deliveryWorker{r: r})
	river.AddWorker(workers, &gatewayRecoveryWorker{r: r})
	river.AddWorker(workers, &deliverInvoiceWorker{r: r})
	river.AddWorker(workers, &profileFanOutWorker{r: r})
	rc := &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers},
			DeliveryQueue: {MaxWorkers: cfg.DeliveryWorkers}, NoticeQueue: {MaxWorkers: cfg.NoticeWorkers}},
		Workers:              workers,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckAfter,
		Logger:               log.With("component", "river"),
		MaxAttempts:          25,
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    250 * time.Millisecond,
		Middleware:           []rivertype.Middleware{&jobMetricsMiddleware{r: r}},
	}
	if !cfg.DisableSchedule {
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.TickInterval),
			func() (river.JobArgs, *river.InsertOpts) { return TickArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.DeliveryInterval),
				func() (river.JobArgs, *river.InsertOpts) { return DeliveryArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.GatewayRecoveryInterval),
				func() (river.JobArgs, *river.InsertOpts) { return GatewayRecoveryArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true})}
	}
	addLifecycleJobs(r, workers, store.Lifecycle, rc)
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.river = client
	return r, nil
}

// Start takes this runner's lease, rescues the jobs of runners whose lease
// lapsed, and begins working jobs; Stop ends it. It returns the database's
// or River's error, if any (then nothing was started).
func (r *Runner) Start(ctx context.Context) error {
	if err := r.store.Upkeep.RenewJobLease(ctx, r.river.ID()); err != nil {
		return fmt.Errorf("job runner lease: %w", err)
	}
	if err := r.river.Start(ctx); err != nil {
		return err
	}
	r.started = true
	// Queued notices and deliveries without a job (queued before they were
	// River jobs) get one; those whose job waits keep theirs.
	if n, d, err := r.store.Upkeep.AdoptQueuedWithoutJobs(ctx); err != nil {
		r.log.Warn("queued notices and deliveries without a job were not given one; retried at the next start", "err", err)
	} else if n+d > 0 {
		r.log.Info("queued notices and deliveries checked for a job", "notices", n, "deliveries", d)
	}
	leaseCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stopLease, r.leaseDone = stop, make(chan struct{})
	go r.keepLease(leaseCtx)
	return nil
}

// keepLease renews the runner's lease every LeaseTTL/3 and rescues the jobs
// of runners whose lease lapsed, until ctx ends.
func (r *Runner) keepLease(ctx context.Context) {
	defer close(r.leaseDone)
	id := r.river.ID()
	t := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		if err := r.store.Upkeep.RenewJobLease(ctx, id); err != nil && ctx.Err() == nil {
			r.log.Warn("job runner lease not renewed; retrying", "client_id", id, "err", err)
		}
		rescued, err := r.store.Upkeep.RescueOrphanedJobs(ctx, r.cfg.LeaseTTL)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("rescuing the jobs of stopped job runners failed; retrying", "err", err)
		}
		if len(rescued) > 0 {
			r.log.Warn("jobs of a job runner that stopped renewing its lease rescued", "jobs", rescued)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops fetching new jobs, waits for running ones (bounded by ctx) and
// gives up the runner's lease. It returns River's error, if any.
func (r *Runner) Stop(ctx context.Context) error {
	r.started = false
	err := r.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = r.river.StopAndCancel(context.Background())
	}
	if r.stopLease != nil {
		r.stopLease()
		<-r.leaseDone
		r.stopLease = nil
		dropCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if derr := r.store.Upkeep.DropJobLease(dropCtx, r.river.ID()); derr != nil {
			r.log.Warn("job runner lease not given up; it lapses by itself", "err", derr)
		}
	}
	return err
}

// Tick opens the billing runs (and late-fee jobs) that are due at now: for
// every account type whose local date is now's, a run for that date. It is
// idempotent. It returns the runs it opened.
func (r *Runner) Tick(ctx context.Context, now time.Time) ([]billing.BillingRun, error) {
	return r.tick(ctx, now, billing.TriggerSchedule)
}

// runningRunWait is how long a scheduled run waits for a running run of the
// same account type (a 1M-account run takes about a minute and a half).
const runningRunWait = time.Hour

func (r *Runner) tick(ctx context.Context, now time.Time, trigger billing.RunTrigger) ([]billing.BillingRun, error) {
	types, err := r.store.Runs.AccountTypes(ctx)
	if err != nil {
		return nil, err
	}
	var opened []billing.BillingRun
	for _, t := range types {
		loc, err := t.Location()
		if err != nil {
			return nil, err
		}
		// One scheduled run of a type at a time: a run still going (one
		// resumed after a crash, or a long one) finishes before the next
		// opens, so two runs never race to invoice the same period and each
		// run's counts stay its own; the next tick opens today's run. A run
		// opened more than runningRunWait ago that still runs is stuck (a
		// batch that kept failing), and does not hold the schedule up.
		if busy, running, err := r.store.Runs.RunningBillingRun(ctx, t.ID, now.Add(-runningRunWait)); err != nil {
			return nil, err
		} else if running {
			r.log.Info("billing run still running: today's scheduled run waits for it", "account_type_id", t.ID,
				"running_run_id", busy.ID, "running_run_date", busy.Date.String())
			continue
		}
		run, created, err := r.StartRun(ctx, t.ID, billing.DateIn(now, loc), trigger, "job:billing-tick")
		if err != nil {
			return nil, err
		}
		if created {
			opened = append(opened, run)
		}
	}
	return opened, r.sweepDue(ctx, types, now)
}

// sweepDue runs the scheduled delinquency sweep of every account type whose
// local sweep time (sweep_at) has come today and that has not been swept
// today.
func (r *Runner) sweepDue(ctx context.Context, types []billing.AccountType, now time.Time) error {
	for _, t := range types {
		loc, err := t.Location()
		if err != nil {
			return err
		}
		at, err := t.SweepOffset()
		if err != nil {
			return err
		}
		if now.Before(billing.DateIn(now, loc).StartIn(loc).Add(at)) {
			continue
		}
		res, err := r.store.Collections.Sweep(ctx, billing.SweepRequest{AccountTypeID: t.ID, Trigger: billing.SweepScheduled,
			Actor: billing.SweepActor, Guard: r.cfg.Guard}, now)
		if err != nil {
			return fmt.Errorf("delinquency sweep of account type %d: %w", t.ID, err)
		}
		if res.AlreadyRan {
			continue
		}
		r.metrics.swept(res, t.Name)
		r.log.Info("delinquency sweep", "account_type_id", t.ID, "date", res.LocalDate.String(), "examined", res.Examined,
			"status_changes", res.StatusChanges, "suspended", res.Suspended, "restored", res.Restored, "reminders", res.Reminders, "held", res.Held)
		for _, why := range res.HeldReasons {
			r.log.Warn("suspensions held for approval", "account_type_id", t.ID, "batch", res.HeldBatchID, "reason", why)
		}
	}
	return nil
}

// StartRun opens the billing run for one account type and date, with one
// River job per batch of accounts (and the date's late-fee and autopay
// jobs), in one transaction. If the run exists it is returned with
// created=false. Errors: BillingRuns.OpenBillingRun's, or River's insert
// error (then nothing was opened).
func (r *Runner) StartRun(ctx context.Context, typeID int64, date billing.Date, trigger billing.RunTrigger, by string) (billing.BillingRun, bool, error) {
	run, created, err := r.store.Runs.OpenBillingRun(ctx, typeID, date, trigger, by, r.cfg.BatchSize, r.clock.Now(),
		func(ctx context.Context, tx pgx.Tx, run billing.BillingRun) error {
			return r.insertRunJobsTx(ctx, tx, run)
		})
	if err != nil {
		return run, false, err
	}
	if created {
		r.log.Info("billing run opened", "run_id", run.ID, "account_type_id", typeID, "date", date.String(),
			"accounts", run.TotalAccounts, "batches", run.TotalBatches, "trigger", trigger)
		if r.metrics != nil {
			name := r.accountTypeName(ctx, typeID)
			r.metrics.runStarted(run, name)
			if run.Status == billing.RunCompleted { // no accounts: finished as it opened
				r.metrics.runFinished(run, name)
			}
		}
	}
	return run, created, nil
}

// insertRunJobsTx inserts in tx the jobs of a run just opened: one per
// batch, and its date's late-fee and autopay jobs, each unique by its
// arguments.
func (r *Runner) insertRunJobsTx(ctx context.Context, tx pgx.Tx, run billing.BillingRun) error {
	params := make([]river.InsertManyParams, 0, run.TotalBatches+1)
	for b := range run.TotalBatches {
		params = append(params, river.InsertManyParams{Args: BillingBatchArgs{RunID: run.ID, BatchNo: b},
			InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}})
	}
	params = append(params, river.InsertManyParams{Args: LateFeesArgs{AccountTypeID: run.AccountTypeID, Date: run.Date},
		InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}},
		river.InsertManyParams{Args: AutopayArgs{AccountTypeID: run.AccountTypeID, Date: run.Date},
			InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}})
	_, err := r.river.InsertManyTx(ctx, tx, params)
	return err
}

type batchWorker struct {
	river.WorkerDefaults[BillingBatchArgs]
	r *Runner
}

func (w *batchWorker) Work(ctx context.Context, job *river.Job[BillingBatchArgs]) error {
	if w.r.beforeBatch != nil {
		w.r.beforeBatch(ctx, job.Args)
	}
	res, err := w.r.store.Runs.RunBillingBatch(ctx, job.Args.RunID, job.Args.BatchNo, w.r.clock.Now())
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		w.r.log.Warn("billing batch could not bill some accounts; see the run's errors", "run_id", job.Args.RunID,
			"batch", job.Args.BatchNo, "failed_accounts", res.Failed)
	}
	if res.Invoices > 0 || res.RunCompleted {
		w.r.log.Info("billing batch done", "run_id", job.Args.RunID, "batch", job.Args.BatchNo,
			"accounts", res.Accounts, "invoices", res.Invoices, "run_completed", res.RunCompleted)
	}
	if res.RunCompleted {
		w.r.observeRunFinished(ctx, job.Args.RunID)
		w.r.runFinished(ctx, job.Args.RunID)
	}
	return nil
}

// observeRunFinished counts run runID, just finished, in the metrics.
func (r *Runner) observeRunFinished(ctx context.Context, runID int64) {
	if r.metrics == nil {
		return
	}
	run, err := r.store.Runs.BillingRun(ctx, runID)
	if err != nil {
		r.log.Warn("finished billing run not counted in the metrics", "run_id", runID, "err", err)
		return
	}
	r.metrics.runFinished(run, r.accountTypeName(ctx, run.AccountTypeID))
}

// batchGivenUp counts the run of a billing batch job that failed its last
// attempt as failed.
func (r *Runner) batchGivenUp(ctx context.Context, job *rivertype.JobRow) {
	var args BillingBatchArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	name := "unknown"
	if run, err := r.store.Runs.BillingRun(ctx, args.RunID); err == nil {
		name = r.accountTypeName(ctx, run.AccountTypeID)
	}
	r.log.Error("billing batch given up after its last attempt: the run cannot finish; see the job's errors", "run_id", args.RunID,
		"batch", args.BatchNo, "attempts", job.Attempt)
	r.metrics.runBatchGivenUp(name)
}

// accountTypeName is account type id's name for metric labels (its id if
// it cannot be read).
func (r *Runner) accountTypeName(ctx context.Context, id int64) string {
	t, err := r.store.Runs.AccountType(ctx, id)
	if err != nil {
		return strconv.FormatInt(id, 10)
	}
	return t.Name
}

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	r *Runner
}

func (w *tickWorker) Work(ctx context.Context, job *river.Job[TickArgs]) error {
	_, err := w.r.Tick(ctx, w.r.clock.Now())
	return err
}

type lateFeesWorker struct {
	river.WorkerDefaults[LateFeesArgs]
	r *Runner
}

func (w *lateFeesWorker) Work(ctx context.Context, job *river.Job[LateFeesArgs]) error {
	n, err := w.r.store.Collections.ChargeLateFees(ctx, job.Args.AccountTypeID, job.Args.Date, w.r.clock.Now())
	if n > 0 {
		w.r.log.Info("late fees charged", "account_type_id", job.Args.AccountTypeID, "date", job.Args.Date.String(), "fees", n)
	}
	return err
}

type autopayWorker struct {
	river.WorkerDefaults[AutopayArgs]
	r *Runner
}

// Work charges every autopay invoice whose attempt is due today: the first
// on the due date, retries on the account type's schedule. Each attempt has
// an idempotency key derived from the invoice and attempt number, so a job
// that is retried or rescued never charges twice.
func (w *autopayWorker) Work(ctx context.Context, job *river.Job[AutopayArgs]) error {
	if w.r.charger == nil {
		return nil
	}
	t, err := w.r.store.Runs.AccountType(ctx, job.Args.AccountTypeID)
	if err != nil {
		return err
	}
	cands, err := w.r.store.Collections.AutopayCandidates(ctx, t.ID, job.Args.Date)
	if err != nil {
		return err
	}
	charged, failed := 0, 0
	for _, c := range cands {
		n, ok := billing.NextAutopayAttempt(c.DueDate, t.AutopayRetryDays, c.FailedAttempts, job.Args.Date)
		if !ok || !billing.AutopayCovers(c.DueDate, c.AutopaySince) {
			continue
		}
		inv := c.InvoiceID
		a, err := w.r.charger.Charge(ctx, c.AccountID, c.Method.ID, c.Open, billing.TriggerAutopay,
			fmt.Sprintf("autopay-%d-%d", c.InvoiceID, n), &inv, n)
		switch {
		case err != nil:
			failed++
			w.r.log.Warn("autopay charge could not reach the gateway; retried on schedule", "invoice", c.InvoiceNumber, "attempt", n, "err", err)
			result := autopayError
			if a.Status == "pending" {
				result = autopayUnsettled
			}
			w.r.metrics.autopayAttempt(n, result)
		case a.Status == "succeeded":
			charged++
			w.r.metrics.autopayAttempt(n, autopaySucceeded)
		case a.Status == "processing":
			w.r.metrics.autopayAttempt(n, autopayProcessing)
		default:
			failed++
			w.r.metrics.autopayAttempt(n, autopayDeclined)
		}
	}
	if charged+failed > 0 {
		w.r.log.Info("autopay", "account_type_id", t.ID, "date", job.Args.Date.String(), "charged", charged, "failed", failed)
	}
	return nil
}

// PurgeArgs forgets Idempotency-Keys older than the retention.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "idempotency_purge" }

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	r *Runner
}

// Work is the hourly housekeeping: Idempotency-Keys past their retention,
// enforcement history past its own (agents further behind get a
// snapshot), and portal sign-in codes and sessions a day after they ended.
func (w *purgeWorker) Work(ctx context.Context, job *river.Job[PurgeArgs]) error {
	now := w.r.clock.Now()
	n, err := w.r.store.Housekeeping.PurgeIdempotencyKeys(ctx, now.Add(-w.r.cfg.IdempotencyRetention))
	if n > 0 {
		w.r.log.Info("idempotency keys purged", "count", n, "retention", w.r.cfg.IdempotencyRetention)
	}
	if err != nil {
		return err
	}
	n, err = w.r.store.Housekeeping.CompactEnforcementHistory(ctx, now.Add(-w.r.cfg.EnforcementRetention))
	if n > 0 {
		w.r.log.Info("enforcement history compacted", "changes", n, "retention", w.r.cfg.EnforcementRetention)
	}
	if err != nil {
		return err
	}
	n, err = w.r.store.Housekeeping.PurgePortal(ctx, now.Add(-24*time.Hour))
	if n > 0 {
		w.r.log.Info("expired portal codes and sessions purged", "count", n)
	}
	return err
}

// GatewayRecoveryArgs settles the refunds and charge attempts left pending.
type GatewayRecoveryArgs struct{}

// Kind implements river.JobArgs.
func (GatewayRecoveryArgs) Kind() string { return "gateway_recovery" }

type gatewayRecoveryWorker struct {
	river.WorkerDefaults[GatewayRecoveryArgs]
	r *Runner
}

// Work settles the refunds and charge attempts that are still pending
// GatewayRecoveryAfter after they were written: a refund is looked up at
// its gateway by its tollgate_refund_id and completed, released, sent again
// with its own key (under 23 h old) or flagged for staff
// (charge.Service.RecoverRefund); a charge attempt is sent again with its
// own key (under 23 h old; the gateway replays the first result) or flagged
// (charge.Service.RecoverAttempt); and a payment processing (or awaiting
// confirmation) for more than IntentCheckAfter is looked up at the gateway
// and posted or failed as its lost webhook would have (ReconcileIntents).
func (w *gatewayRecoveryWorker) Work(ctx context.Context, job *river.Job[GatewayRecoveryArgs]) error {
	if _, err := w.r.RecoverRefunds(ctx); err != nil {
		return err
	}
	if _, err := w.r.RecoverAttempts(ctx); err != nil {
		return err
	}
	_, err := w.r.ReconcileIntents(ctx)
	return err
}

// RecoverRefunds settles the pending refunds older than GatewayRecoveryAfter
// that are not flagged for staff, and returns how many it looked at. A
// refund the gateway could not be asked about is left for the next run
// (logged); the error is a failure to read the list.
func (r *Runner) RecoverRefunds(ctx context.Context) (int, error) {
	if r.refunds == nil {
		return 0, nil
	}
	pending, err := r.store.Gateway.PendingRefunds(ctx, r.clock.Now().Add(-r.cfg.GatewayRecoveryAfter), 100)
	if err != nil {
		return 0, err
	}
	for _, p := range pending {
		got, err := r.refunds.RecoverRefund(ctx, p)
		if err != nil {
			r.log.Warn("refund recovery: left pending for the next run", "refund_id", p.ID, "err", err)
			continue
		}
		r.log.Info("refund recovery", "refund_id", got.ID, "status", got.Status, "needs_attention", got.NeedsAttention != "")
	}
	return len(pending), nil
}

// RecoverAttempts settles the pending charge attempts older than
// GatewayRecoveryAfter that are not flagged for staff, like RecoverRefunds.
func (r *Runner) RecoverAttempts(ctx context.Context) (int, error) {
	if r.refunds == nil {
		return 0, nil
	}
	pending, err := r.store.Gateway.PendingAttempts(ctx, r.clock.Now().Add(-r.cfg.GatewayRecoveryAfter), 100)
	if err != nil {
		return 0, err
	}
	for _, p := range pending {
		got, err := r.refunds.RecoverAttempt(ctx, p)
		if err != nil {
			r.log.Warn("charge recovery: left pending for the next run", "attempt_id", p.ID, "err", err)
			continue
		}
		r.log.Info("charge recovery", "attempt_id", got.ID, "status", got.Status, "needs_attention", got.NeedsAttention != "")
	}
	return len(pending), nil
}

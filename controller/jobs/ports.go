package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The runner's ports: what it needs from the store, one small interface per
// concern, declared here where they are used. The controller has one store
// (controller/postgres.DB) and wires it into every field of [Stores]
// (controller/app). Errors are the billing package's coded errors
// (billing.ErrorCode) where a method names one; any other error is the
// database's (the job fails and River retries it).

// BillingRuns opens billing runs and invoices their batches.
type BillingRuns interface {
	// AccountTypes lists every account type by id. Errors: the database's
	// only.
	AccountTypes(ctx context.Context) ([]billing.AccountType, error)
	// AccountType returns account type id. Errors: ENOTFOUND if it does not
	// exist; otherwise the database's.
	AccountType(ctx context.Context, id int64) (billing.AccountType, error)
	// RunningBillingRun returns the oldest run of account type typeID,
	// opened at or after since, that is still running; ok is false when
	// there is none. Errors: the database's only.
	RunningBillingRun(ctx context.Context, typeID int64, since time.Time) (run billing.BillingRun, ok bool, err error)
	// OpenBillingRun opens the billing run of account type typeID for date,
	// its accounts split into batches of batchSize by id, and, only when it
	// creates the run, calls queue with the run in the transaction that
	// creates it (the runner inserts the run's jobs there), so the run and
	// its jobs commit together. An existing run is returned with created
	// false, and queue is not called. Errors: EINVALID for a zero date;
	// ENOTFOUND if the account type does not exist; otherwise queue's or
	// the database's (nothing is written then).
	OpenBillingRun(ctx context.Context, typeID int64, date billing.Date, trigger billing.RunTrigger, by string, batchSize int, now time.Time,
		queue func(ctx context.Context, tx pgx.Tx, run billing.BillingRun) error) (run billing.BillingRun, created bool, err error)
	// BillingRun returns run id. Errors: ENOTFOUND if it does not exist;
	// otherwise the database's.
	BillingRun(ctx context.Context, id int64) (billing.BillingRun, error)
	// RunBillingBatch invoices batch batchNo of run runID in one
	// transaction (a batch already done is a no-op with a zero result).
	// Errors: ENOTFOUND if the run has no such batch; otherwise the
	// database's (nothing of the batch is written).
	RunBillingBatch(ctx context.Context, runID int64, batchNo int, now time.Time) (billing.BatchResult, error)
}

// Collections is the daily collections work: the delinquency sweep, late
// fees and the autopay work list.
type Collections interface {
	// Sweep runs the delinquency sweep req asks for (a scheduled one once
	// per local date of the type: a second returns AlreadyRan). Errors:
	// EINVALID for a bad guard; ENOTFOUND for an unknown account type;
	// otherwise the database's (nothing is written then).
	Sweep(ctx context.Context, req billing.SweepRequest, now time.Time) (billing.SweepResult, error)
	// ChargeLateFees posts account type typeID's late fee, once per
	// invoice, on every open invoice past the fee's days on date, and
	// returns how many it posted. Errors: ENOTFOUND if the account type
	// does not exist; otherwise the database's (n counts the fees posted
	// before it, which stay posted).
	ChargeLateFees(ctx context.Context, typeID int64, date billing.Date, now time.Time) (n int, err error)
	// AutopayCandidates lists the open invoices due on or before date of
	// account type typeID's autopay accounts with a default payment
	// method, with their failed autopay attempts so far. Errors: the
	// database's only.
	AutopayCandidates(ctx context.Context, typeID int64, date billing.Date) ([]billing.AutopayCandidate, error)
}

// Deliveries queues finished billing runs' invoices for delivery.
type Deliveries interface {
	// UnqueuedRuns lists the billing runs finished at or after since whose
	// invoices were never queued for delivery, oldest first. Errors: the
	// database's only.
	UnqueuedRuns(ctx context.Context, since time.Time) ([]int64, error)
	// QueueRunDeliveries queues, once per run and each with its job, the
	// deliveries of finished run runID's invoices by channels; queued is
	// false (n 0) when the run was queued before or still runs. Errors:
	// ENOTFOUND if the run does not exist; otherwise the job insert's or
	// the database's (nothing is queued then).
	QueueRunDeliveries(ctx context.Context, runID int64, channels []billing.DeliveryChannel, now time.Time) (queued bool, n int, err error)
}

// RunnerUpkeep keeps job runners' leases, so that the jobs of a runner that
// died are rescued, and gives queued notices and deliveries that have no
// job one.
type RunnerUpkeep interface {
	// RenewJobLease records, at the database's time, that runner clientID
	// is alive. Errors: the database's only.
	RenewJobLease(ctx context.Context, clientID string) error
	// DropJobLease forgets runner clientID's lease (it stopped cleanly) and
	// leases lapsed over a day ago. Errors: the database's only.
	DropJobLease(ctx context.Context, clientID string) error
	// RescueOrphanedJobs makes available again every job left running
	// longer than ttl by a runner with no lease renewed within ttl, and
	// returns their ids. Errors: the database's only.
	RescueOrphanedJobs(ctx context.Context, ttl time.Duration) ([]int64, error)
	// AdoptQueuedWithoutJobs inserts a job for every queued notice and
	// delivery whose job has not run yet, in one transaction, and returns
	// how many of each it looked at. Errors: the job insert's or the
	// database's (nothing is inserted then).
	AdoptQueuedWithoutJobs(ctx context.Context) (notices, deliveries int, err error)
}

// Housekeeping forgets what is past its retention.
type Housekeeping interface {
	// PurgeIdempotencyKeys forgets Idempotency-Keys created before cutoff
	// and returns how many. Errors: the database's only.
	PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time) (int64, error)
	// CompactEnforcementHistory forgets, POP by POP, enforcement changes
	// decided before cutoff (agents further behind get a snapshot) and
	// returns how many. Errors: the database's only (POPs compacted before
	// it stay compacted).
	CompactEnforcementHistory(ctx context.Context, cutoff time.Time) (int64, error)
	// PurgePortal deletes portal sign-in codes and sessions that expired
	// or ended before cutoff and returns how many. Errors: the database's
	// only.
	PurgePortal(ctx context.Context, cutoff time.Time) (int64, error)
}

// PendingGatewayWork lists the refunds and charge attempts the gateway
// recovery job settles.
type PendingGatewayWork interface {
	// PendingRefunds returns up to limit gateway refunds still pending,
	// created before createdBefore and not flagged for staff, oldest
	// first. Errors: the database's only.
	PendingRefunds(ctx context.Context, createdBefore time.Time, limit int) ([]billing.Refund, error)
	// PendingAttempts returns up to limit charge attempts still pending,
	// created before createdBefore and not flagged for staff, oldest
	// first. Errors: the database's only.
	PendingAttempts(ctx context.Context, createdBefore time.Time, limit int) ([]billing.PaymentAttempt, error)
}

// DevClockStore keeps the dev clock's offset across restarts.
type DevClockStore interface {
	// DevClockOffset returns the stored offset from the real time; ok is
	// false when none is stored. Errors: the database's only.
	DevClockOffset(ctx context.Context) (offset time.Duration, ok bool, err error)
	// SaveDevClockOffset stores the offset (now is the dev clock's time,
	// recorded for operators). Errors: the database's only.
	SaveDevClockOffset(ctx context.Context, offset time.Duration, now time.Time) error
}

// ProfileFanOut sends plans' current profiles to their services.
type ProfileFanOut interface {
	// FanOutPlanProfile gives every service on plan planID that should
	// carry the plan's current profile and does not a revision carrying
	// it, in batches (one transaction each), recorded as actor's at at,
	// and returns how many services it changed. Errors: the database's
	// (the batches committed stay; a second call finishes the rest).
	FanOutPlanProfile(ctx context.Context, planID int64, actor string, at time.Time) (int, error)
}

// Stores are the runner's ports. Every field is required (New says which
// one is missing).
type Stores struct {
	Runs         BillingRuns
	Collections  Collections
	Deliveries   Deliveries
	Upkeep       RunnerUpkeep
	Housekeeping Housekeeping
	Gateway      PendingGatewayWork
	DevClock     DevClockStore
	Lifecycle    DueEnforcementApplier
	Profiles     ProfileFanOut
}

// missing names the first field of s that is nil, or "" when none is.
func (s Stores) missing() string {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"Runs", s.Runs != nil}, {"Collections", s.Collections != nil}, {"Deliveries", s.Deliveries != nil},
		{"Upkeep", s.Upkeep != nil}, {"Housekeeping", s.Housekeeping != nil}, {"Gateway", s.Gateway != nil},
		{"DevClock", s.DevClock != nil}, {"Lifecycle", s.Lifecycle != nil},
		{"Profiles", s.Profiles != nil},
	} {
		if !f.set {
			return f.name
		}
	}
	return ""
}

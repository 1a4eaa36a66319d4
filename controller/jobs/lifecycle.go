package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// LifecycleEnforcementArgs is the periodic job that applies dated
// lifecycle enforcement: a future-dated cancel, a pause's start and its
// resume take effect at local midnight of their date in the account
// type's zone (postgres.DB.ApplyDueEnforcement).
type LifecycleEnforcementArgs struct{}

// Kind implements river.JobArgs.
func (LifecycleEnforcementArgs) Kind() string { return "lifecycle_enforcement" }

// DueEnforcementApplier applies the lifecycle enforcement changes due by
// now.
type DueEnforcementApplier interface {
	// ApplyDueEnforcement writes every scheduled change whose local date
	// has come through the outbox and returns how many it applied.
	// Errors: the database's (those applied stay applied; the rest are
	// retried at the next call).
	ApplyDueEnforcement(ctx context.Context, now time.Time) (int, error)
}

// lifecycleEnforcementEvery is how often dated lifecycle enforcement is
// looked for: a change lands within this of its local midnight.
const lifecycleEnforcementEvery = time.Minute

type lifecycleEnforcementWorker struct {
	river.WorkerDefaults[LifecycleEnforcementArgs]
	r     *Runner
	store DueEnforcementApplier
}

func (w *lifecycleEnforcementWorker) Work(ctx context.Context, _ *river.Job[LifecycleEnforcementArgs]) error {
	n, err := w.store.ApplyDueEnforcement(ctx, w.r.clock.Now())
	if n > 0 {
		w.r.log.Info("dated lifecycle enforcement applied", "changes", n)
	}
	return err
}

// addLifecycleJobs registers the lifecycle enforcement worker and, unless
// the schedule is disabled, its periodic job.
func addLifecycleJobs(r *Runner, workers *river.Workers, store DueEnforcementApplier, rc *river.Config) {
	river.AddWorker(workers, &lifecycleEnforcementWorker{r: r, store: store})
	if !r.cfg.DisableSchedule {
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(lifecycleEnforcementEvery),
			func() (river.JobArgs, *river.InsertOpts) { return LifecycleEnforcementArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
}

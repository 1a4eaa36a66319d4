package jobs

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Profile fan-out (issue 17). A plan's profile change stores its new
// version and, in the same transaction, one ProfileFanOutArgs job (the
// store calls Runner.InsertProfileFanOutJobTx: controller/app registers the
// runner as the store's postgres.ProfileFanOutJobs). The job gives every
// service on the plan that lacks the plan's current profile a revision
// carrying it, in batches of billing.ProfileFanOutBatch, one transaction
// each (ProfileFanOut.FanOutPlanProfile). It is idempotent and resumable:
// a job cut short (the controller stopped, the database failed) is retried
// or rescued by River and changes only the services still lacking the
// profile, never giving one a second revision.

// ProfileFanOutArgs fans plan PlanID's profile version Version out to its
// services, on behalf of Actor (who made the change).
type ProfileFanOutArgs struct {
	PlanID  int64  `json:"plan_id"`
	Version int    `json:"version"`
	Actor   string `json:"actor"`
}

// Kind implements river.JobArgs.
func (ProfileFanOutArgs) Kind() string { return "profile_fan_out" }

// InsertOpts makes one job per plan and version.
func (ProfileFanOutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// InsertProfileFanOutJobTx inserts in tx the job that fans plan planID's
// profile version out (the store's postgres.ProfileFanOutJobs). The error
// is River's or the database's: nothing was inserted.
func (r *Runner) InsertProfileFanOutJobTx(ctx context.Context, tx pgx.Tx, planID int64, version int, actor string) error {
	_, err := r.river.InsertTx(ctx, tx, ProfileFanOutArgs{PlanID: planID, Version: version, Actor: actor}, nil)
	return err
}

type profileFanOutWorker struct {
	river.WorkerDefaults[ProfileFanOutArgs]
	r *Runner
}

// Work fans the plan's current profile out (a later version's job finds
// nothing left to do, or does that version's work early). An error leaves
// the batches done committed; River retries the job, which does the rest.
func (w *profileFanOutWorker) Work(ctx context.Context, job *river.Job[ProfileFanOutArgs]) error {
	n, err := w.r.store.Profiles.FanOutPlanProfile(ctx, job.Args.PlanID, job.Args.Actor, w.r.clock.Now())
	if n > 0 || err == nil {
		w.r.log.Info("plan profile fanned out", "plan_id", job.Args.PlanID, "version", job.Args.Version, "services", n, "done", err == nil)
	}
	return err
}

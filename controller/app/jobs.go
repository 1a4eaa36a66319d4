package app

import (
	"log/slog"

	"github.com/tollgate-isp/tollgate/controller/jobs"
	"github.com/tollgate-isp/tollgate/controller/postgres"
	"github.com/tollgate-isp/tollgate/internal/clock"
)

// NewJobRunner builds the job runner on db: db serves every one of its
// ports and River runs on db's pool; and it registers the runner with db as
// the inserter of the jobs that send the notices, deliver the invoices
// and fan out the plan profile changes db queues (in db's own transactions). The controller builds its runner
// with it; so do tests that need one outside controller/jobs. Errors:
// jobs.New's.
func NewJobRunner(cfg jobs.Config, db *postgres.DB, clk clock.Clock, log *slog.Logger) (*jobs.Runner, error) {
	runner, err := jobs.New(cfg, db.Pool, jobs.Stores{Runs: db, Collections: db, Deliveries: db, Upkeep: db,
		Housekeeping: db, Gateway: db, DevClock: db, Lifecycle: db, Profiles: db}, clk, log)
	if err != nil {
		return nil, err
	}
	db.UseNoticeJobs(runner)
	db.UseDeliveryJobs(runner)
	db.UseProfileFanOutJobs(runner)
	return runner, nil
}

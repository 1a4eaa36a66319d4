package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// RenewJobLease records that the job runner clientID is alive, at the
// database's time (leases compare database times only, so neither clock skew
// between replicas nor the dev clock affects them). It returns the
// database's error, if any.
func (db *DB) RenewJobLease(ctx context.Context, clientID string) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO job_runner_leases (client_id, renewed_at) VALUES ($1, now())
		ON CONFLICT (client_id) DO UPDATE SET renewed_at = now()`, clientID)
	return err
}

// DropJobLease forgets the lease of a job runner that stopped cleanly, and
// leases that lapsed more than a day ago. It returns the database's error,
// if any.
func (db *DB) DropJobLease(ctx context.Context, clientID string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM job_runner_leases WHERE client_id = $1 OR renewed_at < now() - interval '1 day'`, clientID)
	return err
}

// RescueOrphanedJobs makes available again, at once, every job still marked
// running whose runner (the last client that took it) holds no lease renewed
// within ttl and that started more than ttl ago: the runner crashed or was
// killed while working it. Jobs that used up their attempts are left to
// River's own rescuer (which discards them). It returns the ids of the jobs
// it rescued, and the database's error, if any.
func (db *DB) RescueOrphanedJobs(ctx context.Context, ttl time.Duration) ([]int64, error) {
	rows, err := db.Pool.Query(ctx, `UPDATE river_job j SET state = 'available', scheduled_at = now(),
			errors = array_append(j.errors, jsonb_build_object('at', now(), 'attempt', j.attempt,
				'error', 'job runner ' || (j.attempted_by[array_upper(j.attempted_by, 1)]) || ' stopped renewing its lease; job rescued',
				'trace', '')),
			metadata = j.metadata || jsonb_build_object('tollgate:lease_rescues',
				coalesce((j.metadata ->> 'tollgate:lease_rescues')::int, 0) + 1)
		WHERE j.state = 'running' AND j.attempt < j.max_attempts
			AND j.attempted_at < now() - $1::float8 * interval '1 second'
			AND NOT EXISTS (SELECT 1 FROM job_runner_leases l
				WHERE l.client_id = j.attempted_by[array_upper(j.attempted_by, 1)] AND l.renewed_at >= now() - $1::float8 * interval '1 second')
		RETURNING j.id`, ttl.Seconds())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

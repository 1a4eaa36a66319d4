package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// The figures the job runner's metrics read at each scrape
// (controller/jobs.MetricsSource). Each is one small query.

// JobQueueCounts counts River's jobs that are not finished, by queue, kind
// and state, with how long the oldest due one has waited to start (at the
// database's time, which River's scheduling uses). A job scheduled or
// retryable whose time has come counts as due too: River's scheduler should
// have made it available.
func (db *DB) JobQueueCounts(ctx context.Context) ([]billing.JobQueueCount, error) {
	rows, err := db.Pool.Query(ctx, `SELECT queue, kind, state::text, count(*),
			coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state <> 'running' AND scheduled_at <= now())), 0)::float8
		FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running')
		GROUP BY queue, kind, state ORDER BY queue, kind, state`)
	if err != nil {
		return nil, err
	}
	var out []billing.JobQueueCount
	var c billing.JobQueueCount
	var due float64
	_, err = pgx.ForEachRow(rows, []any{&c.Queue, &c.Kind, &c.State, &c.Count, &due}, func() error {
		c.OldestDue = time.Duration(due * float64(time.Second))
		out = append(out, c)
		return nil
	})
	return out, err
}

// LastBillingRuns returns, for every account type, when its latest billing
// run finished (nil if none ever did).
func (db *DB) LastBillingRuns(ctx context.Context) ([]billing.LastBillingRun, error) {
	rows, err := db.Pool.Query(ctx, `SELECT t.id, t.name, t.time_zone,
			(SELECT max(r.finished_at) FROM billing_runs r WHERE r.account_type_id = t.id AND r.status = 'completed')
		FROM account_types t ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[billing.LastBillingRun])
}

// QueuedNoticeCounts counts the queued notices by kind (from the partial
// index of queued notices).
func (db *DB) QueuedNoticeCounts(ctx context.Context) ([]billing.NoticeCount, error) {
	rows, err := db.Pool.Query(ctx, `SELECT kind, status, count(*) FROM notices WHERE status = 'queued' GROUP BY kind, status ORDER BY kind`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[billing.NoticeCount])
}

// PaymentsObserver is told of every payment the store posts — by the
// payments API, a posted batch, or a gateway charge that succeeded — once
// its transaction has committed (the controller's payment metrics).
type PaymentsObserver interface {
	PaymentPosted(method billing.PaymentMethod, currency billing.Currency, amount int64)
}

// ObservePayments makes the store tell o of every payment it posts. Call
// before serving.
func (db *DB) ObservePayments(o PaymentsObserver) { db.payments = o }

func (db *DB) paymentPosted(method billing.PaymentMethod, currency billing.Currency, amount int64) {
	if db.payments != nil {
		db.payments.PaymentPosted(method, currency, amount)
	}
}

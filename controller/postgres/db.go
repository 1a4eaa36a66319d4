package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// NotifyChannel is the LISTEN/NOTIFY channel on which every committed
// enforcement change announces its POP (the payload is the POP id).
const NotifyChannel = "tollgate_enforcement"

// DB is the controller's database: a pgx pool plus the stores built on it.
type DB struct {
	Pool *pgxpool.Pool
	feed *pgxpool.Pool // the enforcement feed's own, if any (WithFeedPool)
	// noticeJobs inserts the jobs that send queued notices (UseNoticeJobs).
	noticeJobs NoticeJobs
	// deliveryJobs inserts the jobs that deliver invoices (UseDeliveryJobs).
	deliveryJobs DeliveryJobs
	// profileJobs inserts the jobs that fan plans' profile changes out
	// (UseProfileFanOutJobs).
	profileJobs ProfileFanOutJobs
	// payments is told of the payments posted (ObservePayments).
	payments PaymentsObserver
}

// Open connects a pool to url and checks the connection.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// pgx's default (4 on a 2-core machine) queues concurrent API requests
	// behind each other's transactions; 16 unless the URL says otherwise
	// (pool_max_conns=N).
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, 16)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool (and the feed's, if it has its own).
func (db *DB) Close() {
	if db.feed != nil {
		db.feed.Close()
	}
	db.Pool.Close()
}

// Ping checks the database answers (used by /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// inTx runs fn in a transaction and commits it if fn returns nil. The
// desired-state changes fn makes are written at commit, pipelined with the
// COMMIT (see outbox.go).
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	_, err := inOutboxTx(ctx, db.Pool, opts, fn)
	return err
}

// mapError turns well-known PostgreSQL errors into domain errors.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23514": // check_violation
			return billing.Errorf(billing.EINVALID, "value rejected by constraint %s", pgErr.ConstraintName)
		case "23505": // unique_violation
			return billing.Errorf(billing.ECONFLICT, "already exists (%s)", pgErr.ConstraintName)
		}
	}
	return err
}

package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

var _ billing.IdempotencyStore = (*DB)(nil)

// BeginIdempotent implements [billing.IdempotencyStore]. The primary key on
// (principal, key) makes concurrent duplicates race on one INSERT: exactly one
// wins and executes.
func (db *DB) BeginIdempotent(ctx context.Context, r billing.IdempotentRequest, now time.Time, lockTimeout time.Duration) (*billing.StoredResponse, error) {
	// The common case, a new key, is one statement.
	tag, err := db.Pool.Exec(ctx, `INSERT INTO idempotency_keys (principal, key, method, path, request_hash, locked_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING`,
		r.Principal, r.Key, r.Method, r.Path, r.RequestHash, now)
	if err != nil || tag.RowsAffected() == 1 {
		return nil, err
	}
	var stored *billing.StoredResponse
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var found, stale bool
		stored, found, stale, err = existingKey(ctx, tx, r, now, lockTimeout)
		switch {
		case err != nil || stored != nil:
			return err
		case !found:
			// Released between our INSERT and SELECT: the caller retries.
			return billing.Errorf(billing.ECONFLICT, "a request with Idempotency-Key %q is being retried; try again", r.Key)
		case stale:
			_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET locked_at = $3 WHERE principal = $1 AND key = $2`, r.Principal, r.Key, now)
		}
		return err
	})
	return stored, err
}

// existingKey decides r against the row its key already has, which it
// locks: the stored response of the completed first execution; EINVALID
// if the key was used with a different request; ECONFLICT if another
// execution holds the key and has held it for less than lockTimeout
// (stale if for longer: its holder is presumed dead). found is false when
// there is no row (any more).
func existingKey(ctx context.Context, tx pgx.Tx, r billing.IdempotentRequest, now time.Time, lockTimeout time.Duration) (stored *billing.StoredResponse, found, stale bool, err error) {
	var method, path, ctype string
	var hash, body []byte
	var status *int
	var lockedAt time.Time
	err = tx.QueryRow(ctx, `SELECT method, path, request_hash, status_code, response_type, response_body, locked_at
		FROM idempotency_keys WHERE principal = $1 AND key = $2 FOR UPDATE`, r.Principal, r.Key).
		Scan(&method, &path, &hash, &status, &ctype, &body, &lockedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, false, err
	}
	switch {
	case method != r.Method || path != r.Path || !bytes.Equal(hash, r.RequestHash):
		return nil, true, false, billing.Errorf(billing.EINVALID, "Idempotency-Key %q was already used with a different request (%s %s); use a new key for a new request", r.Key, method, path)
	case status != nil:
		return &billing.StoredResponse{StatusCode: *status, ContentType: ctype, Body: body}, true, false, nil
	case now.Sub(lockedAt) < lockTimeout:
		return nil, true, false, billing.Errorf(billing.ECONFLICT, "a request with Idempotency-Key %q is still in progress", r.Key)
	}
	return nil, true, true, nil
}

// CompleteIdempotent implements [billing.IdempotencyStore].
func (db *DB) CompleteIdempotent(ctx context.Context, principal, key string, resp billing.StoredResponse) error {
	_, err := db.Pool.Exec(ctx, `UPDATE idempotency_keys SET status_code = $3, response_type = $4, response_body = $5
		WHERE principal = $1 AND key = $2`, principal, key, resp.StatusCode, resp.ContentType, resp.Body)
	return err
}

// ReleaseIdempotent implements [billing.IdempotencyStore].
func (db *DB) ReleaseIdempotent(ctx context.Context, principal, key string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status_code IS NULL`, principal, key)
	return err
}

// PurgeIdempotencyKeys forgets keys created before cutoff; it returns how
// many it removed.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, cutoff)
	return tag.RowsAffected(), err
}

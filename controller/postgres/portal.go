package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// AccountByNumber finds an account by its number, ignoring case and
// surrounding spaces. ENOTFOUND when there is none.
func (db *DB) AccountByNumber(ctx context.Context, number string) (billing.Account, error) {
	n := strings.ToUpper(strings.TrimSpace(number))
	a, err := scanAccount(db.Pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE number = $1`, n))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, billing.Errorf(billing.ENOTFOUND, "account %q does not exist", n)
	}
	return a, err
}

// Autopay reports whether autopay is on for an account. ENOTFOUND when
// there is no such account.
func (db *DB) Autopay(ctx context.Context, accountID int64) (bool, error) {
	var on bool
	err := db.Pool.QueryRow(ctx, `SELECT autopay FROM accounts WHERE id = $1`, accountID).Scan(&on)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", accountID)
	}
	return on, err
}

// CreatePortalCode stores the hash of a new sign-in code for an account,
// unless the account already had max codes created within window before
// now: then it stores nothing and returns false. Concurrent requests for
// one account are serialised, so the limit holds under a burst.
func (db *DB) CreatePortalCode(ctx context.Context, accountID int64, codeHash []byte, ip string, now, expires time.Time,
	window time.Duration, max int) (bool, error) {
	created := false
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('portal_code:' || $1::bigint, 0))`, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM portal_codes WHERE account_id = $1 AND created_at > $2`,
			accountID, now.Add(-window)).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO portal_codes (account_id, code_hash, requested_ip, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, accountID, codeHash, ip, now, expires)
		created = err == nil
		return err
	})
	return created, err
}

// RedeemPortalCode checks a sign-in code for an account against its live
// codes (not used, not expired, fewer than maxAttempts wrong tries). A match
// uses up every live code of the account and returns true; a mismatch
// counts a wrong try against each live code and returns false.
func (db *DB) RedeemPortalCode(ctx context.Context, accountID int64, codeHash []byte, now time.Time, maxAttempts int) (bool, error) {
	ok := false
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, code_hash FROM portal_codes
			WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3
			ORDER BY id FOR UPDATE`, accountID, now, maxAttempts)
		if err != nil {
			return err
		}
		var ids []int64
		var id int64
		var h []byte
		_, err = pgx.ForEachRow(rows, []any{&id, &h}, func() error {
			ids = append(ids, id)
			if subtle.ConstantTimeCompare(h, codeHash) == 1 {
				ok = true
			}
			return nil
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		if ok {
			_, err = tx.Exec(ctx, `UPDATE portal_codes SET used_at = $2 WHERE id = ANY($1)`, ids, now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE portal_codes SET attempts = attempts + 1 WHERE id = ANY($1)`, ids)
		}
		return err
	})
	return ok, err
}

// CreatePortalSession stores a new portal session.
func (db *DB) CreatePortalSession(ctx context.Context, s billing.PortalSession) error {
	var svc *int64
	if s.ServiceID != 0 {
		svc = &s.ServiceID
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO portal_sessions (id_hash, account_id, via, service_id, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $5, $6)`, s.IDHash, s.AccountID, s.Via, svc, s.CreatedAt, s.ExpiresAt)
	return err
}

// PortalSession returns the live session with the given id hash: not
// ended, not past its expiry, and seen within idle before now. It records
// now as last seen (at most once a minute). EUNAUTHORIZED when there is no
// such session.
func (db *DB) PortalSession(ctx context.Context, idHash []byte, now time.Time, idle time.Duration) (billing.PortalSession, error) {
	s := billing.PortalSession{IDHash: idHash}
	var svc *int64
	err := db.Pool.QueryRow(ctx, `SELECT account_id, via, service_id, created_at, last_seen_at, expires_at FROM portal_sessions
		WHERE id_hash = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3`, idHash, now, now.Add(-idle)).
		Scan(&s.AccountID, &s.Via, &svc, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, billing.Errorf(billing.EUNAUTHORIZED, "no such portal session, or it expired")
	}
	if err != nil {
		return s, err
	}
	if svc != nil {
		s.ServiceID = *svc
	}
	if now.Sub(s.LastSeenAt) > time.Minute {
		if _, err := db.Pool.Exec(ctx, `UPDATE portal_sessions SET last_seen_at = $2 WHERE id_hash = $1`, idHash, now); err != nil {
			return s, err
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// EndPortalSession signs a session out; ending an unknown or ended session
// is a no-op.
func (db *DB) EndPortalSession(ctx context.Context, idHash []byte, now time.Time) error {
	_, err := db.Pool.Exec(ctx, `UPDATE portal_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL`, idHash, now)
	return err
}

// PurgePortal deletes sign-in codes and sessions that expired before
// cutoff and returns how many rows went.
func (db *DB) PurgePortal(ctx context.Context, cutoff time.Time) (int64, error) {
	a, err := db.Pool.Exec(ctx, `DELETE FROM portal_codes WHERE expires_at < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	b, err := db.Pool.Exec(ctx, `DELETE FROM portal_sessions WHERE expires_at < $1 OR ended_at < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	return a.RowsAffected() + b.RowsAffected(), nil
}

// ServiceByAddress finds the service bound to an IP address, written either
// as a bare address or as a host prefix (/32, /128), or else the service
// whose binding carries a learned address (learnedUsedSQL) that is the
// address or a delegated prefix holding it. ENOTFOUND when none is.
func (db *DB) ServiceByAddress(ctx context.Context, addr string) (billing.Service, error) {
	host := "/32"
	if strings.Contains(addr, ":") {
		host = "/128"
	}
	s, err := scanService(db.Pool.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services
		WHERE addresses && ARRAY[$1::text, $1::text || $2::text] ORDER BY id LIMIT 1`, addr, host))
	if errors.Is(err, pgx.ErrNoRows) {
		s, err = scanService(db.Pool.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = (
			SELECT l.service_id FROM learned_addresses l JOIN services s ON s.id = l.service_id
			WHERE l.address >>= $1::inet AND `+learnedUsedSQL("s.addresses")+` ORDER BY masklen(l.address) DESC, l.learned_at DESC LIMIT 1)`, addr))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return s, billing.Errorf(billing.ENOTFOUND, "no service has address %s", addr)
	}
	return s, err
}

// UseCaptiveToken records that the captive token tokenID (for serviceID,
// expiring at expires) is being used at now. It returns false when the
// token was used before: tokens are single-use across every replica. Rows
// of tokens that expired more than skew before now are purged on the way.
// Errors are the database's.
func (db *DB) UseCaptiveToken(ctx context.Context, tokenID string, serviceID int64, now, expires time.Time, skew time.Duration) (bool, error) {
	if _, err := db.Pool.Exec(ctx, `DELETE FROM captive_token_uses WHERE expires_at < $1`, now.Add(-skew)); err != nil {
		return false, err
	}
	tag, err := db.Pool.Exec(ctx, `INSERT INTO captive_token_uses (token_id, service_id, used_at, expires_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (token_id) DO NOTHING`, tokenID, serviceID, now, expires)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// IdempotentResponse reads the state of an idempotency key without
// claiming it: claimed is false when nobody holds or held it; resp is the
// stored response of a completed execution (nil while one is still in
// progress). Errors are the database's.
func (db *DB) IdempotentResponse(ctx context.Context, principal, key string) (resp *billing.StoredResponse, claimed bool, err error) {
	var status *int
	var ctype string
	var body []byte
	err = db.Pool.QueryRow(ctx, `SELECT status_code, coalesce(response_type, ''), response_body FROM idempotency_keys
		WHERE principal = $1 AND key = $2`, principal, key).Scan(&status, &ctype, &body)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case status == nil:
		return nil, true, nil
	}
	return &billing.StoredResponse{StatusCode: *status, ContentType: ctype, Body: body}, true, nil
}

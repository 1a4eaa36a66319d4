package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
	"github.com/tollgate-isp/tollgate/controller/staff"
)

const staffUserColumns = `id, login, name, role, password_hash, totp_secret, totp_last_step, disabled_at IS NOT NULL, created_at`

// scanStaffUser scans staffUserColumns, after the columns of before if any.
func scanStaffUser(row pgx.Row, before ...any) (staff.User, error) {
	var u staff.User
	err := row.Scan(append(before, &u.ID, &u.Login, &u.Name, &u.Role, &u.PasswordHash, &u.TOTPSecret, &u.TOTPLastStep, &u.Disabled, &u.CreatedAt)...)
	return u, err
}

// staffAudit writes the audit_log row of a change to a staff user.
func staffAudit(ctx context.Context, tx pgx.Tx, actor string, at time.Time, userID int64, before, after map[string]any, reason string) error {
	b, err := json.Marshal(before)
	if err != nil {
		return err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (actor, at, entity, entity_id, before, after, reason)
		VALUES ($1, $2, 'staff_user', $3, $4, $5, $6)`, actor, at, userID, b, a, reason)
	return err
}

// CreateStaffUser stores a new staff user (login, name, role, password
// hash; u.ID and CreatedAt are set from the store) with its audit entry.
// ECONFLICT when the login is taken.
func (db *DB) CreateStaffUser(ctx context.Context, u staff.User, actor string, now time.Time) (staff.User, error) {
	if err := staff.CheckLogin(u.Login); err != nil {
		return u, err
	}
	if _, err := staff.ParseRole(string(u.Role)); err != nil {
		return u, err
	}
	login := u.Login
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		u, err = scanStaffUser(tx.QueryRow(ctx, `INSERT INTO staff_users (login, name, role, password_hash, totp_secret, created_at, actor)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+staffUserColumns, u.Login, u.Name, u.Role, u.PasswordHash, u.TOTPSecret, now, actor))
		if err != nil {
			return mapError(err)
		}
		return staffAudit(ctx, tx, actor, now, u.ID, map[string]any{},
			map[string]any{"login": u.Login, "name": u.Name, "role": u.Role, "password": u.PasswordHash != "", "totp": u.TOTPSecret != ""}, "created")
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return u, billing.Errorf(billing.ECONFLICT, "login: staff user %q already exists", login)
	}
	return u, err
}

// StaffUser returns the staff user with a login. ENOTFOUND when none.
func (db *DB) StaffUser(ctx context.Context, login string) (staff.User, error) {
	u, err := scanStaffUser(db.Pool.QueryRow(ctx, `SELECT `+staffUserColumns+` FROM staff_users WHERE login = $1`, login))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, billing.Errorf(billing.ENOTFOUND, "staff user %q does not exist", login)
	}
	return u, err
}

// StaffUsers lists the staff users by login.
func (db *DB) StaffUsers(ctx context.Context) ([]staff.User, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+staffUserColumns+` FROM staff_users ORDER BY login`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (staff.User, error) { return scanStaffUser(r) })
}

// changeStaffUser locks a user by login, runs change on it and writes the
// audit entry change describes. ENOTFOUND when there is no such user.
func (db *DB) changeStaffUser(ctx context.Context, login, actor string, now time.Time,
	change func(tx pgx.Tx, u staff.User) (before, after map[string]any, reason string, err error)) (staff.User, error) {
	var u staff.User
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		u, err = scanStaffUser(tx.QueryRow(ctx, `SELECT `+staffUserColumns+` FROM staff_users WHERE login = $1 FOR UPDATE`, login))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "staff user %q does not exist", login)
		}
		if err != nil {
			return err
		}
		before, after, reason, err := change(tx, u)
		if err != nil || before == nil {
			return err
		}
		if err := staffAudit(ctx, tx, actor, now, u.ID, before, after, reason); err != nil {
			return err
		}
		u, err = scanStaffUser(tx.QueryRow(ctx, `SELECT `+staffUserColumns+` FROM staff_users WHERE id = $1`, u.ID))
		return err
	})
	return u, err
}

// SetStaffUserDisabled disables (or enables again) a staff user. A
// disabled user's sessions and personal tokens stop working at once; they
// work again when the user is enabled (revoke tokens to end them for good).
func (db *DB) SetStaffUserDisabled(ctx context.Context, login string, disabled bool, actor string, now time.Time) (staff.User, error) {
	return db.changeStaffUser(ctx, login, actor, now, func(tx pgx.Tx, u staff.User) (map[string]any, map[string]any, string, error) {
		if u.Disabled == disabled {
			return nil, nil, "", nil
		}
		var at *time.Time
		if disabled {
			at = &now
		}
		if _, err := tx.Exec(ctx, `UPDATE staff_users SET disabled_at = $2 WHERE id = $1`, u.ID, at); err != nil {
			return nil, nil, "", err
		}
		return map[string]any{"disabled": u.Disabled}, map[string]any{"disabled": disabled}, "", nil
	})
}

// UnlockStaffUser clears a staff user's failed sign-ins from every
// address, lifting the backoff.
func (db *DB) UnlockStaffUser(ctx context.Context, login, actor string, now time.Time) (staff.User, error) {
	return db.changeStaffUser(ctx, login, actor, now, func(tx pgx.Tx, u staff.User) (map[string]any, map[string]any, string, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM staff_login_failures WHERE user_id = $1`, u.ID)
		if err != nil || tag.RowsAffected() == 0 {
			return nil, nil, "", err
		}
		return map[string]any{"failed_addresses": tag.RowsAffected()}, map[string]any{"failed_addresses": 0}, "unlocked", nil
	})
}

// ResetStaffTOTP replaces a staff user's TOTP secret ("" removes it) and
// recovery codes (their hashes; none removes them), e.g. when a phone is
// lost.
func (db *DB) ResetStaffTOTP(ctx context.Context, login, secret string, recoveryHashes [][]byte, actor string, now time.Time) (staff.User, error) {
	return db.changeStaffUser(ctx, login, actor, now, func(tx pgx.Tx, u staff.User) (map[string]any, map[string]any, string, error) {
		if _, err := tx.Exec(ctx, `UPDATE staff_users SET totp_secret = $2, totp_last_step = 0 WHERE id = $1`, u.ID, secret); err != nil {
			return nil, nil, "", err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_recovery_codes WHERE user_id = $1`, u.ID); err != nil {
			return nil, nil, "", err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.Exec(ctx, `INSERT INTO staff_recovery_codes (user_id, code_hash) VALUES ($1, $2)`, u.ID, h); err != nil {
				return nil, nil, "", mapError(err)
			}
		}
		return map[string]any{"totp": u.TOTPSecret != ""}, map[string]any{"totp": secret != "", "recovery_codes": len(recoveryHashes)}, "TOTP reset", nil
	})
}

// SetStaffPassword replaces a staff user's password hash and ends the
// user's console sessions, in one transaction.
func (db *DB) SetStaffPassword(ctx context.Context, login, passwordHash, actor string, now time.Time) (staff.User, error) {
	return db.changeStaffUser(ctx, login, actor, now, func(tx pgx.Tx, u staff.User) (map[string]any, map[string]any, string, error) {
		_, err := tx.Exec(ctx, `UPDATE staff_users SET password_hash = $2 WHERE id = $1`, u.ID, passwordHash)
		if err == nil {
			// Whoever was signed in with the old password is signed out.
			_, err = tx.Exec(ctx, `UPDATE staff_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL`, u.ID, now)
		}
		return map[string]any{"password": "(old)"}, map[string]any{"password": "(new)"}, "password changed; sessions ended", mapError(err)
	})
}

// UseStaffTOTPStep records step as the user's last accepted TOTP step if
// it is later than the one recorded, and reports whether it was: false
// means the code's step was already used (a replay, perhaps concurrent).
func (db *DB) UseStaffTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE staff_users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, userID, step)
	return err == nil && tag.RowsAffected() == 1, err
}

// UseStaffRecoveryCode uses up one of the user's recovery codes by its
// hash and reports whether there was such an unused code.
func (db *DB) UseStaffRecoveryCode(ctx context.Context, userID int64, codeHash []byte, now time.Time) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `UPDATE staff_recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		userID, codeHash, now)
	return err == nil && tag.RowsAffected() == 1, err
}

// StaffLoginFailures returns the failed sign-ins in a row of a user from
// an address and when the last was (0 and the zero time when none).
func (db *DB) StaffLoginFailures(ctx context.Context, userID int64, remoteAddr string) (int, time.Time, error) {
	var n int
	var last time.Time
	err := db.Pool.QueryRow(ctx, `SELECT failures, last_failure_at FROM staff_login_failures WHERE user_id = $1 AND remote_addr = $2`,
		userID, remoteAddr).Scan(&n, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	return n, last, err
}

// RecordStaffLoginFailure counts one more failed sign-in of a user from an
// address and returns the failures in a row.
func (db *DB) RecordStaffLoginFailure(ctx context.Context, userID int64, remoteAddr string, now time.Time) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `INSERT INTO staff_login_failures (user_id, remote_addr, failures, last_failure_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (user_id, remote_addr) DO UPDATE SET failures = staff_login_failures.failures + 1, last_failure_at = $3
		RETURNING failures`, userID, remoteAddr, now).Scan(&n)
	return n, err
}

// ClearStaffLoginFailures forgets a user's failures from an address (after
// a successful sign-in from it).
func (db *DB) ClearStaffLoginFailures(ctx context.Context, userID int64, remoteAddr string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM staff_login_failures WHERE user_id = $1 AND remote_addr = $2`, userID, remoteAddr)
	return err
}

// CreateStaffSession stores a new console session.
func (db *DB) CreateStaffSession(ctx context.Context, s staff.Session) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO staff_sessions (id_hash, user_id, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, s.IDHash, s.UserID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	return mapError(err)
}

// StaffSession returns the session with the given id hash and its user if
// rules allow its use at now (staff.SessionRules.Check), recording now as
// last seen when due. EUNAUTHORIZED, naming why, otherwise.
func (db *DB) StaffSession(ctx context.Context, idHash []byte, rules staff.SessionRules, now time.Time) (staff.Session, staff.User, error) {
	s := staff.Session{IDHash: idHash}
	var ended *time.Time
	u, err := scanStaffUser(db.Pool.QueryRow(ctx, `SELECT s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.ended_at, `+prefixed("u.", staffUserColumns)+`
		FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id WHERE s.id_hash = $1`, idHash), &s.UserID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, u, billing.Errorf(billing.EUNAUTHORIZED, "no such session")
	}
	if err != nil {
		return s, u, err
	}
	if ended != nil {
		s.EndedAt = *ended
	}
	if why := rules.Check(s, now, u.Disabled); why != staff.SessionLive {
		return s, u, billing.Errorf(billing.EUNAUTHORIZED, "session ended: %s", why)
	}
	if staff.TouchDue(s, now) {
		if _, err := db.Pool.Exec(ctx, `UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2`, idHash, now); err != nil {
			return s, u, err
		}
		s.LastSeenAt = now
	}
	return s, u, nil
}

// EndStaffSession signs a session out.
func (db *DB) EndStaffSession(ctx context.Context, idHash []byte, now time.Time) error {
	_, err := db.Pool.Exec(ctx, `UPDATE staff_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL`, idHash, now)
	return err
}

const staffTokenColumns = `t.id, t.user_id, u.login, t.name, t.token_hash, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

func scanStaffToken(row pgx.Row, after ...any) (staff.PersonalToken, error) {
	var t staff.PersonalToken
	var exp, used, revoked *time.Time
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Login, &t.Name, &t.Hash, &t.CreatedAt, &exp, &used, &revoked}, after...)...)
	for _, f := range []struct {
		dst *time.Time
		src *time.Time
	}{{&t.ExpiresAt, exp}, {&t.LastUsedAt, used}, {&t.RevokedAt, revoked}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return t, err
}

// CreatePersonalToken stores a new personal API token of a staff user by
// the hash of its secret; expires zero means it never expires. ENOTFOUND
// when there is no such user.
func (db *DB) CreatePersonalToken(ctx context.Context, login, name string, hash []byte, expires time.Time, actor string, now time.Time) (staff.PersonalToken, error) {
	var t staff.PersonalToken
	if name == "" {
		return t, billing.Errorf(billing.EINVALID, "name: a token needs a name (what it is for)")
	}
	if !expires.IsZero() && !expires.After(now) {
		return t, billing.Errorf(billing.EINVALID, "expires: must be in the future")
	}
	var exp *time.Time
	if !expires.IsZero() {
		exp = &expires
	}
	_, err := db.changeStaffUser(ctx, login, actor, now, func(tx pgx.Tx, u staff.User) (map[string]any, map[string]any, string, error) {
		var err error
		t, err = scanStaffToken(tx.QueryRow(ctx, `WITH t AS (INSERT INTO staff_tokens (user_id, name, token_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING *) SELECT `+staffTokenColumns+` FROM t JOIN staff_users u ON u.id = t.user_id`,
			u.ID, name, hash, now, exp))
		if err != nil {
			return nil, nil, "", mapError(err)
		}
		return map[string]any{}, map[string]any{"token": t.ID, "token_name": name}, "personal token created", nil
	})
	return t, err
}

// PersonalTokens lists a staff user's personal tokens, revoked ones too,
// by id. ENOTFOUND when there is no such user.
func (db *DB) PersonalTokens(ctx context.Context, login string) ([]staff.PersonalToken, error) {
	if _, err := db.StaffUser(ctx, login); err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+staffTokenColumns+` FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id
		WHERE u.login = $1 ORDER BY t.id`, login)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (staff.PersonalToken, error) { return scanStaffToken(r) })
}

// RevokePersonalToken revokes one of a staff user's personal tokens; it is
// refused from then on. Revoking a revoked token changes nothing.
// ENOTFOUND when the user has no such token.
func (db *DB) RevokePersonalToken(ctx context.Context, login string, id int64, actor string, now time.Time) (staff.PersonalToken, error) {
	var t staff.PersonalToken
	_, err := db.changeStaffUser(ctx, login, actor, now, func(tx pgx.Tx, u staff.User) (map[string]any, map[string]any, string, error) {
		var err error
		t, err = scanStaffToken(tx.QueryRow(ctx, `SELECT `+staffTokenColumns+` FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id
			WHERE t.id = $1 AND t.user_id = $2 FOR UPDATE OF t`, id, u.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, "", billing.Errorf(billing.ENOTFOUND, "staff user %q has no token %d", login, id)
		}
		if err != nil || !t.RevokedAt.IsZero() {
			return nil, nil, "", err
		}
		if _, err := tx.Exec(ctx, `UPDATE staff_tokens SET revoked_at = $2 WHERE id = $1`, id, now); err != nil {
			return nil, nil, "", err
		}
		t.RevokedAt = now
		return map[string]any{"token": id}, map[string]any{"token": id, "revoked": true}, "personal token revoked", nil
	})
	return t, err
}

// PersonalTokenUser authenticates a personal API token by the hash of its
// secret: it returns the token and its user when staff.CheckToken accepts
// them at now, recording now as the token's last use (at most once a
// minute). EUNAUTHORIZED, naming why, otherwise.
func (db *DB) PersonalTokenUser(ctx context.Context, hash []byte, now time.Time) (staff.PersonalToken, staff.User, error) {
	var u staff.User
	t, err := scanStaffToken(db.Pool.QueryRow(ctx, `SELECT `+staffTokenColumns+`, `+prefixed("u.", staffUserColumns)+`
		FROM staff_tokens t JOIN staff_users u ON u.id = t.user_id WHERE t.token_hash = $1`, hash),
		&u.ID, &u.Login, &u.Name, &u.Role, &u.PasswordHash, &u.TOTPSecret, &u.TOTPLastStep, &u.Disabled, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, u, billing.Errorf(billing.EUNAUTHORIZED, "bearer token is not valid")
	}
	if err != nil {
		return t, u, err
	}
	if why := staff.CheckToken(t, u.Disabled, now); why != staff.TokenAccepted {
		return t, u, billing.Errorf(billing.EUNAUTHORIZED, "bearer token is not valid: %s", why)
	}
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) >= time.Minute {
		if _, err := db.Pool.Exec(ctx, `UPDATE staff_tokens SET last_used_at = $2 WHERE id = $1`, t.ID, now); err != nil {
			return t, u, err
		}
		t.LastUsedAt = now
	}
	return t, u, nil
}

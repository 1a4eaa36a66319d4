package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const accountTypeColumns = `id, name, settings, created_at`

func scanAccountType(row pgx.Row) (billing.AccountType, error) {
	var t billing.AccountType
	var id int64
	var name string
	var settings []byte
	var created time.Time
	if err := row.Scan(&id, &name, &settings, &created); err != nil {
		return t, err
	}
	if err := json.Unmarshal(settings, &t); err != nil {
		return t, err
	}
	t.ID, t.Name, t.CreatedAt = id, name, created
	return t, nil
}

// CreateAccountType validates and stores a billing profile. EINVALID names
// the bad field; ECONFLICT if the name is taken.
func (db *DB) CreateAccountType(ctx context.Context, t billing.AccountType, at time.Time) (billing.AccountType, error) {
	if err := t.Validate(); err != nil {
		return t, err
	}
	t.ID, t.CreatedAt = 0, at
	settings, err := json.Marshal(t)
	if err != nil {
		return t, err
	}
	out, err := scanAccountType(db.Pool.QueryRow(ctx, `INSERT INTO account_types (name, time_zone, settings, created_at)
		VALUES ($1, $2, $3, $4) RETURNING `+accountTypeColumns, t.Name, t.TimeZone, settings, at))
	if err != nil {
		return out, mapError(err)
	}
	return out, nil
}

// UpdateAccountType replaces a billing profile's settings. ENOTFOUND,
// EINVALID, ECONFLICT as for create.
func (db *DB) UpdateAccountType(ctx context.Context, t billing.AccountType) (billing.AccountType, error) {
	if err := t.Validate(); err != nil {
		return t, err
	}
	settings, err := json.Marshal(t)
	if err != nil {
		return t, err
	}
	if t.Throttles() {
		if err := refuseThrottlingType(ctx, db.Pool, t.ID); err != nil {
			return t, err
		}
	}
	out, err := scanAccountType(db.Pool.QueryRow(ctx, `UPDATE account_types SET name = $2, time_zone = $3, settings = $4
		WHERE id = $1 RETURNING `+accountTypeColumns, t.ID, t.Name, t.TimeZone, settings))
	if errors.Is(err, pgx.ErrNoRows) {
		return out, billing.Errorf(billing.ENOTFOUND, "account type %d does not exist", t.ID)
	}
	return out, mapError(err)
}

// AccountType returns one billing profile; ENOTFOUND if missing.
func (db *DB) AccountType(ctx context.Context, id int64) (billing.AccountType, error) {
	t, err := scanAccountType(db.Pool.QueryRow(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, billing.Errorf(billing.ENOTFOUND, "account type %d does not exist", id)
	}
	return t, err
}

// AccountTypes lists every billing profile by id.
func (db *DB) AccountTypes(ctx context.Context) ([]billing.AccountType, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+accountTypeColumns+` FROM account_types ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AccountType, error) { return scanAccountType(r) })
}

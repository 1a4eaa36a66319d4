package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const planColumns = `id, name, price, currency, interval, taxable, created_at, retired_at, profile, profile_version`

func scanPlan(row pgx.Row) (billing.Plan, error) {
	var p billing.Plan
	err := row.Scan(&p.ID, &p.Name, &p.Price, &p.Currency, &p.Interval, &p.Taxable, &p.CreatedAt, &p.RetiredAt,
		&p.Profile, &p.ProfileVersion)
	return p, err
}

// CreatePlan validates and stores a plan, with its profile (if any) as
// its first profile version. EINVALID names the bad field; ECONFLICT if
// the name is taken.
func (db *DB) CreatePlan(ctx context.Context, p billing.Plan, at time.Time) (billing.Plan, error) {
	p.ProfileVersion = 0
	if err := p.Validate(); err != nil {
		return p, err
	}
	var out billing.Plan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		out, err = scanPlan(tx.QueryRow(ctx, `INSERT INTO plans (name, price, currency, interval, taxable, created_at, profile, profile_version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+planColumns, p.Name, p.Price, p.Currency, p.Interval, p.Taxable, at,
			p.Profile, p.ProfileVersion))
		if err != nil || p.Profile == nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO plan_profile_versions (plan_id, version, profile, created_at) VALUES ($1, $2, $3, $4)`,
			out.ID, p.ProfileVersion, p.Profile, at)
		return err
	})
	return out, mapError(err)
}

// Plan returns one plan; ENOTFOUND if missing.
func (db *DB) Plan(ctx context.Context, id int64) (billing.Plan, error) {
	p, err := scanPlan(db.Pool.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, billing.Errorf(billing.ENOTFOUND, "plan %d does not exist", id)
	}
	return p, err
}

// Plans lists every plan by id.
func (db *DB) Plans(ctx context.Context) ([]billing.Plan, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+planColumns+` FROM plans ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Plan, error) { return scanPlan(r) })
}

// PutTaxRate creates or replaces a tax rate. EINVALID names the bad field.
func (db *DB) PutTaxRate(ctx context.Context, r billing.TaxRate, at time.Time) error {
	if err := r.Validate(); err != nil {
		return err
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO tax_rates (jurisdiction, name, rate, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (jurisdiction, name) DO UPDATE SET rate = EXCLUDED.rate`, r.Jurisdiction, r.Name, r.Rate, at)
	return mapError(err)
}

// TaxRates lists every tax rate by jurisdiction and name.
func (db *DB) TaxRates(ctx context.Context) ([]billing.TaxRate, error) {
	rows, err := db.Pool.Query(ctx, `SELECT jurisdiction, name, rate::text FROM tax_rates ORDER BY jurisdiction, name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.TaxRate, error) {
		var t billing.TaxRate
		err := r.Scan(&t.Jurisdiction, &t.Name, &t.Rate)
		return t, err
	})
}

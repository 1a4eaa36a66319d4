package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ChangePlanPrice decides a plan's new price version
// (billing.PlanPriceChange) with its preview of the services it affects
// and, unless preview, stores the version with its audit_log row in one
// transaction. req carries NewPrice, Effective, Grandfather, Actor, Now
// and Reason; the plan, its versions, its services and today (the
// earliest local date of any account type's zone, so that no zone's
// today is in the past) are read here. Issued invoices never change; the
// billing run prices each period by billing.PriceFor.
//
// Errors: ENOTFOUND for an unknown plan; EINVALID naming the field (an
// effective_date in the past or not after the latest version's, the price
// already in force, a negative price). Nothing written on error.
func (db *DB) ChangePlanPrice(ctx context.Context, planID int64, req billing.PriceChangeRequest, preview bool) (billing.LifecyclePlan, error) {
	var plan billing.LifecyclePlan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		req.Plan, err = scanPlan(tx.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1 FOR UPDATE`, planID))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "plan %d does not exist", planID)
		}
		if err != nil {
			return err
		}
		if req.Versions, err = priceVersions(ctx, tx, planID); err != nil {
			return err
		}
		if req.Today, err = earliestToday(ctx, tx, req.Now); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, account_id, start_date, end_date, quantity FROM services
			WHERE plan_id = $1 AND account_id IS NOT NULL ORDER BY id`, planID)
		if err != nil {
			return err
		}
		var s billing.PricedService
		if _, err := pgx.ForEachRow(rows, []any{&s.ServiceID, &s.AccountID, scanDate(&s.Start), scanDate(&s.End), &s.Quantity}, func() error {
			req.Services = append(req.Services, s)
			return nil
		}); err != nil {
			return err
		}
		if plan, err = billing.PlanPriceChange(req); err != nil || preview {
			return err
		}
		v := plan.Price
		if _, err := tx.Exec(ctx, `INSERT INTO plan_price_versions (plan_id, effective_from, price, grandfather, created_at)
			VALUES ($1, $2, $3, $4, $5)`, v.PlanID, pgDate(v.EffectiveFrom), v.Price, v.Grandfather, req.Now); err != nil {
			return mapError(err)
		}
		return insertAudit(ctx, tx, plan.Audit, string(plan.Kind))
	})
	return plan, err
}

// PlanPriceVersions lists a plan's price versions by date (none for an
// unknown plan).
//
// Errors: the database's.
func (db *DB) PlanPriceVersions(ctx context.Context, planID int64) ([]billing.PriceVersion, error) {
	return priceVersions(ctx, db.Pool, planID)
}

func priceVersions(ctx context.Context, q querier, planID int64) ([]billing.PriceVersion, error) {
	rows, err := q.Query(ctx, `SELECT plan_id, price, effective_from, grandfather FROM plan_price_versions
		WHERE plan_id = $1 ORDER BY effective_from`, planID)
	if err != nil {
		return nil, err
	}
	var out []billing.PriceVersion
	var v billing.PriceVersion
	_, err = pgx.ForEachRow(rows, []any{&v.PlanID, &v.Price, scanDate(&v.EffectiveFrom), &v.Grandfather}, func() error {
		out = append(out, v)
		return nil
	})
	return out, err
}

// earliestToday is the earliest local date of now in any account type's
// zone (UTC's when there is none).
func earliestToday(ctx context.Context, q querier, now time.Time) (billing.Date, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT time_zone FROM account_types`)
	if err != nil {
		return billing.Date{}, err
	}
	zones, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return billing.Date{}, err
	}
	today := billing.DateIn(now, time.UTC)
	for _, z := range zones {
		if loc, err := time.LoadLocation(z); err == nil {
			if d := billing.DateIn(now, loc); d.Before(today) {
				today = d
			}
		}
	}
	return today, nil
}

// RetirePlan retires a plan: no new service or plan change may choose it;
// existing services continue on it. The audit_log row is written in the
// same transaction. It returns the plan as stored.
//
// Errors: ENOTFOUND for an unknown plan; EINVALID when it is already
// retired.
func (db *DB) RetirePlan(ctx context.Context, planID int64, actor, reason string, at time.Time) (billing.Plan, error) {
	var p billing.Plan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		p, err = scanPlan(tx.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1 FOR UPDATE`, planID))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "plan %d does not exist", planID)
		}
		if err != nil {
			return err
		}
		if p.RetiredAt != nil {
			return billing.Errorf(billing.EINVALID, "plan %d (%s) is already retired since %s", p.ID, p.Name, p.RetiredAt.Format(time.RFC3339))
		}
		if p, err = scanPlan(tx.QueryRow(ctx, `UPDATE plans SET retired_at = $2 WHERE id = $1 RETURNING `+planColumns, planID, at)); err != nil {
			return err
		}
		return insertAudit(ctx, tx, billing.LifecycleAudit{Actor: actor, At: at, Entity: "plan", EntityID: planID,
			Before: map[string]any{"retired": false}, After: map[string]any{"retired": true}, Reason: reason}, "retire")
	})
	return p, err
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// EditAccount decides an account edit ([billing.PlanAccountEdit]) on the
// account as it is under a row lock and applies the plan in one
// transaction: the account's new fields and version, and its audit_log row.
// An edit that changes nothing writes nothing.
//
// Errors: ENOTFOUND for an unknown account; EPRECONDITION when ifVersion is
// not the account's version (of two concurrent edits from one version,
// exactly one wins); EINVALID naming the field for a bad edit (see
// PlanAccountEdit) or an external_id another account has.
func (db *DB) EditAccount(ctx context.Context, id, ifVersion int64, edit billing.AccountEdit, actor string, at time.Time) (billing.AccountEditPlan, error) {
	var plan billing.AccountEditPlan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		in, err := accountEditInput(ctx, tx, id, edit)
		if err != nil {
			return err
		}
		in.IfVersion, in.Actor, in.At = ifVersion, actor, at
		if plan, err = billing.PlanAccountEdit(in); err != nil || !plan.Changed {
			return err
		}
		plan.Account, err = applyAccountEdit(ctx, tx, in.Account.Version, plan)
		return err
	})
	return plan, err
}

// accountEditInput reads the account (locked), its account type and the
// type the edit names.
func accountEditInput(ctx context.Context, tx pgx.Tx, id int64, edit billing.AccountEdit) (billing.AccountEditInput, error) {
	in := billing.AccountEditInput{Edit: edit}
	var err error
	in.Account, err = scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return in, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", id)
	}
	if err != nil {
		return in, err
	}
	typeIDs := []int64{in.Account.AccountTypeID}
	if edit.AccountTypeID != nil {
		typeIDs = append(typeIDs, *edit.AccountTypeID)
	}
	rows, err := tx.Query(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = ANY($1)`, typeIDs)
	if err != nil {
		return in, err
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AccountType, error) { return scanAccountType(r) })
	if err != nil {
		return in, err
	}
	for _, t := range types {
		if t.ID == in.Account.AccountTypeID {
			in.Type = t
		}
		if edit.AccountTypeID != nil && t.ID == *edit.AccountTypeID {
			in.NewType = t
		}
	}
	if edit.AccountTypeID != nil && *edit.AccountTypeID != in.Account.AccountTypeID && in.NewType.Throttles() {
		if err := refuseUnshapeableAccount(ctx, tx, id); err != nil {
			return in, err
		}
	}
	if edit.BillingDay != nil {
		return in, readBillingDayInputs(ctx, tx, &in)
	}
	return in, nil
}

// readBillingDayInputs reads what a billing-day change's preview is
// decided on: the account's last invoiced regular period and its billed
// services.
func readBillingDayInputs(ctx context.Context, tx pgx.Tx, in *billing.AccountEditInput) error {
	id := in.Account.ID
	err := tx.QueryRow(ctx, `SELECT period_start, period_end FROM invoices WHERE account_id = $1 AND kind = 'regular'
		ORDER BY period_start DESC LIMIT 1`, id).Scan(scanDate(&in.LastInvoiced.Start), scanDate(&in.LastInvoiced.End))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT s.id, s.name, s.quantity, s.start_date, s.end_date, s.pause_from, s.pause_to,
			p.id, p.name, p.price, p.currency, p.interval, p.taxable, p.created_at
		FROM services s JOIN plans p ON p.id = s.plan_id WHERE s.account_id = $1 ORDER BY s.id`, id)
	if err != nil {
		return err
	}
	var svc billing.LifecycleService
	_, err = pgx.ForEachRow(rows, []any{&svc.Ref.ID, &svc.Name, &svc.Quantity, scanDate(&svc.Start), scanDate(&svc.End),
		scanDate(&svc.PauseFrom), scanDate(&svc.PauseTo), &svc.Plan.ID, &svc.Plan.Name, &svc.Plan.Price, &svc.Plan.Currency,
		&svc.Plan.Interval, &svc.Plan.Taxable, &svc.Plan.CreatedAt}, func() error {
		svc.Ref.AccountID = id
		in.Services = append(in.Services, svc)
		return nil
	})
	if err != nil {
		return err
	}
	// A quarterly or annual plan's coverage says from where the new day's
	// periods are charged.
	for i, s := range in.Services {
		if s.Plan.Interval != billing.IntervalMonthly && s.Plan.Interval != "" {
			if in.Services[i].Coverage, err = readCoverage(ctx, tx, s.Ref.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyAccountEdit writes the plan's account (if it is still at version
// from) and its audit entry; it returns the account as stored.
func applyAccountEdit(ctx context.Context, tx pgx.Tx, from int64, plan billing.AccountEditPlan) (billing.Account, error) {
	a := plan.Account
	addr, err := json.Marshal(a.Address)
	if err != nil {
		return a, err
	}
	overrides, err := overridesArg(a.Overrides)
	if err != nil {
		return a, err
	}
	stored, err := scanAccount(tx.QueryRow(ctx, `UPDATE accounts SET name = $3, company_name = $4, email = $5, phone = $6,
		address = $7, delivery = $8, locale = $9, external_id = nullif($10, ''), account_type_id = $11,
		billing_day = nullif($12, 0), version = $13, overrides = $14, tax_exempt = $15, exemption_certificate = $16
		WHERE id = $1 AND version = $2 RETURNING `+accountColumns,
		a.ID, from, a.Name, a.CompanyName, a.Email, a.Phone, addr, a.Delivery, a.Locale, a.ExternalID, a.AccountTypeID,
		a.BillingDay, a.Version, overrides, a.TaxExempt, a.ExemptionCertificate))
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		var current int64
		if err := tx.QueryRow(ctx, `SELECT version FROM accounts WHERE id = $1`, a.ID).Scan(&current); err != nil {
			return a, err
		}
		return a, billing.StaleVersionError(billing.EntityAccount, a.ID, from, current)
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "accounts_external_id_key":
		return a, billing.Errorf(billing.EINVALID, "external_id %q is already another account's", a.ExternalID)
	case err != nil:
		return a, mapError(err)
	}
	before, err := json.Marshal(plan.Audit.Before)
	if err != nil {
		return a, err
	}
	after, err := json.Marshal(plan.Audit.After)
	if err != nil {
		return a, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (actor, at, entity, entity_id, before, after, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		plan.Audit.Actor, plan.Audit.At, plan.Audit.Entity, plan.Audit.EntityID, before, after, plan.Audit.Reason)
	return stored, err
}

// AuditLog lists the audit entries of one entity ("account") by time.
// An unknown entity or id has none (no error).
func (db *DB) AuditLog(ctx context.Context, entity string, id int64) ([]billing.AuditEntry, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, actor, at, entity, entity_id, before, after, reason
		FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY at, id`, entity, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.AuditEntry, error) {
		var e billing.AuditEntry
		var before, after []byte
		if err := r.Scan(&e.ID, &e.Actor, &e.At, &e.Entity, &e.EntityID, &before, &after, &e.Reason); err != nil {
			return e, err
		}
		if err := json.Unmarshal(before, &e.Before); err != nil {
			return e, err
		}
		return e, json.Unmarshal(after, &e.After)
	})
}

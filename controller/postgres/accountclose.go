package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Closing and reopening accounts: the store reads the account and each of
// its services still billed under the same locks a service lifecycle
// change takes (the account type's lock first), asks the domain core for
// the plan (billing.PlanAccountClose, PlanAccountReopen) and applies it in
// one transaction: each service's cancel as a cancel is applied
// (applyLifecycle: credit, coverage, end date, enforcement through the
// outbox writer, audit row), then the account's status, version, status
// history row and audit row.

// CloseAccount decides and applies the close of account id; req carries
// RefundCredit, Now, Actor and Reason (the rest is read here).
//
// Errors: ENOTFOUND for an unknown account; EPRECONDITION when ifVersion
// is not the account's version; EINVALID naming the field for any refusal
// of PlanAccountClose. Nothing is written on error.
func (db *DB) CloseAccount(ctx context.Context, id, ifVersion int64, req billing.AccountCloseRequest) (billing.AccountClosePlan, error) {
	var plan billing.AccountClosePlan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		a, t, err := lockAccountForLifecycle(ctx, tx, id)
		if err != nil {
			return err
		}
		loc, err := t.Location()
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM services WHERE account_id = $1 AND plan_id IS NOT NULL
			AND (end_date IS NULL OR end_date > $2) ORDER BY id`, id, pgDate(billing.DateIn(req.Now, loc)))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		asked := billing.LifecycleContext{Now: req.Now, Actor: req.Actor, Reason: req.Reason}
		states := make([]lifecycleState, len(ids))
		req.Services = make([]billing.CancelRequest, len(ids))
		for i, sid := range ids {
			if states[i], err = readLifecycle(ctx, tx, sid, asked); err != nil {
				return err
			}
			req.Services[i] = billing.CancelRequest{Context: states[i].ctx, Service: states[i].svc}
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM one_time_charges WHERE account_id = $1 AND invoice_id IS NULL`, id).
			Scan(&req.PendingCharges); err != nil {
			return err
		}
		req.Account, req.Type, req.IfVersion = a, t, ifVersion
		if plan, err = billing.PlanAccountClose(req); err != nil {
			return err
		}
		for i, c := range plan.Cancels {
			if err := db.applyLifecycle(ctx, tx, states[i], c); err != nil {
				return err
			}
		}
		return setAccountStatus(ctx, tx, a, billing.AccountClosed, plan.Version, billing.StatusCauseClosed, plan.Why, plan.Audit)
	})
	return plan, err
}

// ReopenAccount sets closed account id back to current (admin); its
// services stay cancelled.
//
// Errors: ENOTFOUND for an unknown account; EPRECONDITION for a stale
// ifVersion; EINVALID when the account is not closed.
func (db *DB) ReopenAccount(ctx context.Context, id, ifVersion int64, actor, reason string, now time.Time) (billing.AccountReopenPlan, error) {
	var plan billing.AccountReopenPlan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		a, _, err := lockAccountForLifecycle(ctx, tx, id)
		if err != nil {
			return err
		}
		if plan, err = billing.PlanAccountReopen(a, ifVersion, actor, reason, now); err != nil {
			return err
		}
		return setAccountStatus(ctx, tx, a, billing.AccountCurrent, plan.Version, billing.StatusCauseReopened, plan.Why, plan.Audit)
	})
	return plan, err
}

// lockAccountForLifecycle takes the account type's lifecycle lock, then
// the account's row lock, as readLifecycle does, and reads both.
func lockAccountForLifecycle(ctx context.Context, tx pgx.Tx, id int64) (billing.Account, billing.AccountType, error) {
	var typeID int64
	err := tx.QueryRow(ctx, `SELECT account_type_id FROM accounts WHERE id = $1`, id).Scan(&typeID)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Account{}, billing.AccountType{}, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", id)
	}
	if err != nil {
		return billing.Account{}, billing.AccountType{}, err
	}
	if _, err := tx.Exec(ctx, lifecycleLockSQL, typeID); err != nil {
		return billing.Account{}, billing.AccountType{}, err
	}
	a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return a, billing.AccountType{}, err
	}
	t, err := scanAccountType(tx.QueryRow(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = $1`, a.AccountTypeID))
	return a, t, err
}

// setAccountStatus writes an account's new status and version (if it is
// still at a's version), its status history row and its audit row.
func setAccountStatus(ctx context.Context, tx pgx.Tx, a billing.Account, to billing.AccountStatus, version int64, cause string,
	why []string, audit billing.LifecycleAudit) error {
	tag, err := tx.Exec(ctx, `UPDATE accounts SET status = $3, status_why = $4, status_changed_at = $5, version = $6
		WHERE id = $1 AND version = $2`, a.ID, a.Version, string(to), why, audit.At, version)
	if err != nil {
		return mapError(err)
	}
	if tag.RowsAffected() != 1 {
		return billing.Errorf(billing.ECONFLICT, "account %d changed while locked; retry", a.ID)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO account_status_changes (account_id, from_status, to_status, cause, actor, why, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, string(a.Status), string(to), cause, audit.Actor, why, audit.At); err != nil {
		return err
	}
	return insertAudit(ctx, tx, audit, string(audit.Action))
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

var _ billing.ServiceStore = (*DB)(nil)

const serviceColumns = `id, pop_id, name, method, addresses, radius_username, device, if_index,
	desired_state, state_reason, revision, created_at, updated_at,
	confirmed_revision, observed_state, last_confirmed_at, last_error, last_result_at,
	account_id, plan_id, start_date, end_date, pending_reason, pending_revision`

func scanService(row pgx.Row) (billing.Service, error) {
	var s billing.Service
	var observed, pending string
	var pendingRev int64
	err := row.Scan(&s.ID, &s.POP, &s.Name, &s.Binding.Method, &s.Binding.Addresses,
		&s.Binding.RADIUSUsername, &s.Binding.Device, &s.Binding.IfIndex,
		&s.DesiredState, &s.StateReason, &s.Revision, &s.CreatedAt, &s.UpdatedAt,
		&s.Confirmation.Revision, &observed, &s.Confirmation.LastConfirmedAt,
		&s.Confirmation.LastError, &s.Confirmation.LastResultAt,
		&s.AccountID, &s.PlanID, scanDate(&s.StartDate), scanDate(&s.EndDate), &pending, &pendingRev)
	s.Confirmation.ObservedState = billing.DesiredState(observed)
	if pendingRev >= s.Revision && !s.Confirmed() {
		s.Confirmation.Pending = pending
	}
	return s, err
}

// CreateService implements [billing.ServiceStore].
func (db *DB) CreateService(ctx context.Context, in billing.NewService, actor string, at time.Time) (billing.Service, error) {
	var s billing.Service
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		s, err = CreateServiceTx(ctx, tx, in, actor, at)
		return err
	})
	if err != nil {
		return billing.Service{}, mapError(err)
	}
	return s, nil
}

// checkServiceBilling checks the account and plan a new service names exist
// and share a currency; the account's anniversary anchor moves to the
// service's start if it is the account's first billed service.
func checkServiceBilling(ctx context.Context, tx pgx.Tx, in billing.NewService) error {
	if in.AccountID == nil {
		return nil
	}
	var accCur string
	err := tx.QueryRow(ctx, `SELECT currency FROM accounts WHERE id = $1 FOR UPDATE`, *in.AccountID).Scan(&accCur)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Errorf(billing.EINVALID, "account_id %d does not exist", *in.AccountID)
	}
	if err != nil || in.PlanID == nil {
		return err
	}
	var planCur string
	err = tx.QueryRow(ctx, `SELECT currency FROM plans WHERE id = $1`, *in.PlanID).Scan(&planCur)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Errorf(billing.EINVALID, "plan_id %d does not exist", *in.PlanID)
	}
	if err != nil {
		return err
	}
	if planCur != accCur {
		return billing.Errorf(billing.EINVALID, "plan_id %d is priced in %s but the account is billed in %s", *in.PlanID, planCur, accCur)
	}
	_, err = tx.Exec(ctx, `UPDATE accounts SET anchor_date = $2 WHERE id = $1
		AND NOT EXISTS (SELECT 1 FROM services WHERE account_id = $1 AND plan_id IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM invoices WHERE account_id = $1)`, *in.AccountID, pgDate(in.StartDate))
	return err
}

// Service implements [billing.ServiceStore].
func (db *DB) Service(ctx context.Context, id int64) (billing.Service, error) {
	s, err := scanService(db.Pool.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, billing.Errorf(billing.ENOTFOUND, "service %d does not exist", id)
	}
	return s, err
}

// Services implements [billing.ServiceStore].
func (db *DB) Services(ctx context.Context, f billing.ServiceFilter) ([]billing.Service, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+serviceColumns+` FROM services
		WHERE ($1 = '' OR pop_id = $1) AND ($2 = '' OR desired_state = $2) AND id > $3
		ORDER BY id LIMIT $4`, f.POP, string(f.State), f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []billing.Service
	for rows.Next() {
		s, err := scanService(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetDesiredState implements [billing.ServiceStore].
func (db *DB) SetDesiredState(ctx context.Context, c billing.StateChange) (billing.Service, bool, error) {
	if !c.State.Valid() {
		return billing.Service{}, false, billing.Errorf(billing.EINVALID, "state %q is not one of active, suspended", c.State)
	}
	var s billing.Service
	var changed bool
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		changed, s, err = SetDesiredStateTx(ctx, tx, c)
		return err
	})
	return s, changed, err
}

// SetDesiredStateTx changes a service's desired state inside the caller's
// transaction, so billing events (a payment, a delinquency sweep) decide and
// record enforcement atomically. It locks the service row and then the POP
// row; callers changing several services should do so in ascending POP order
// to avoid deadlocks.
func SetDesiredStateTx(ctx context.Context, tx pgx.Tx, c billing.StateChange) (changed bool, s billing.Service, err error) {
	s, err = scanService(tx.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1 FOR UPDATE`, c.ServiceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, s, billing.Errorf(billing.ENOTFOUND, "service %d does not exist", c.ServiceID)
	}
	if err != nil {
		return false, s, err
	}
	if s.DesiredState == c.State {
		return false, s, nil
	}
	rev, err := nextRevision(ctx, tx, s.POP)
	if err != nil {
		return false, s, err
	}
	s, err = scanService(tx.QueryRow(ctx, `UPDATE services
		SET desired_state = $2, state_reason = $3, revision = $4, updated_at = $5
		WHERE id = $1 RETURNING `+serviceColumns, c.ServiceID, c.State, c.Reason, rev, c.At))
	if err != nil {
		return false, s, err
	}
	return true, s, recordChange(ctx, tx, s, false, c.Actor, c.At)
}

// nextRevision takes the POP's next revision. The UPDATE holds the POP row's
// lock until the transaction ends, which is what makes revisions commit in
// order.
func nextRevision(ctx context.Context, tx pgx.Tx, pop string) (int64, error) {
	var rev int64
	err := tx.QueryRow(ctx, `UPDATE pops SET revision = revision + 1 WHERE id = $1 RETURNING revision`, pop).Scan(&rev)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, billing.Errorf(billing.ENOTFOUND, "pop %q does not exist", pop)
	}
	return rev, err
}

// recordChange appends the service's state at s.Revision to the outbox and
// notifies listeners on commit.
func recordChange(ctx context.Context, tx pgx.Tx, s billing.Service, removed bool, actor string, at time.Time) error {
	b := s.Binding
	_, err := tx.Exec(ctx, `INSERT INTO enforcement_changes (pop_id, revision, service_id, desired_state, reason,
			method, addresses, radius_username, device, if_index, removed, actor, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.POP, s.Revision, s.ID, s.DesiredState, s.StateReason,
		b.Method, nonNil(b.Addresses), b.RADIUSUsername, b.Device, b.IfIndex, removed, actor, at)
	if err != nil {
		return fmt.Errorf("record enforcement change: %w", err)
	}
	// The payload is the POP alone: PostgreSQL folds identical notifications
	// of one transaction into one, so a sweep that suspends a thousand
	// services at a POP wakes its hub once.
	_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, s.POP)
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

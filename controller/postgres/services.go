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
	account_id, plan_id, start_date, end_date, pending_reason, pending_revision, quantity, pause_from, pause_to, version, service_address,
	profile, observed_profile`

func scanService(row pgx.Row) (billing.Service, error) {
	var s billing.Service
	var observed, pending string
	var pendingRev int64
	err := row.Scan(&s.ID, &s.POP, &s.Name, &s.Binding.Method, &s.Binding.Addresses,
		&s.Binding.RADIUSUsername, &s.Binding.Device, &s.Binding.IfIndex,
		&s.DesiredState, &s.StateReason, &s.Revision, &s.CreatedAt, &s.UpdatedAt,
		&s.Confirmation.Revision, &observed, &s.Confirmation.LastConfirmedAt,
		&s.Confirmation.LastError, &s.Confirmation.LastResultAt,
		&s.AccountID, &s.PlanID, scanDate(&s.StartDate), scanDate(&s.EndDate), &pending, &pendingRev,
		&s.Quantity, scanDate(&s.PauseFrom), scanDate(&s.PauseTo), &s.Version, &s.ServiceAddress,
		&s.Profile, &s.Confirmation.ObservedProfile)
	s.Confirmation.ObservedState = billing.DesiredState(observed)
	if pendingRev >= s.Revision && !s.Confirmed() {
		s.Confirmation.Pending = pending
	}
	return s, err
}

// CreateService implements [billing.ServiceStore].
func (db *DB) CreateService(ctx context.Context, in billing.NewService, actor string, at time.Time) (billing.Service, error) {
	var s billing.Service
	revisions, err := inOutboxTx(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		s, err = createServiceTx(ctx, tx, in, actor, at, true)
		return err
	})
	if err != nil {
		return billing.Service{}, mapError(err)
	}
	s.Revision = revisions[s.ID]
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
	var retired bool
	err = tx.QueryRow(ctx, `SELECT currency, retired_at IS NOT NULL FROM plans WHERE id = $1`, *in.PlanID).Scan(&planCur, &retired)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Errorf(billing.EINVALID, "plan_id %d does not exist", *in.PlanID)
	}
	if err != nil {
		return err
	}
	if retired {
		return billing.Errorf(billing.EINVALID, "plan_id %d is retired: no new services on it (existing ones continue)", *in.PlanID)
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
	if err != nil {
		return s, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT CASE WHEN masklen(address) = CASE family(address) WHEN 4 THEN 32 ELSE 128 END
			THEN host(address) ELSE address::text END FROM learned_addresses WHERE service_id = $1 ORDER BY address`, id)
	if err != nil {
		return s, err
	}
	learned, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return s, err
	}
	if len(learned) > 0 {
		s.LearnedAddresses = learned
	}
	rows, err = db.Pool.Query(ctx, `SELECT DISTINCT ON (l.address) `+learnedText+`, b.service_id FROM learned_addresses l
		JOIN address_assignments b ON b.released_at IS NULL AND b.service_id <> l.service_id AND b.address && l.address
		WHERE l.service_id = $1 ORDER BY l.address, b.service_id`, id)
	if err != nil {
		return s, err
	}
	var c billing.LearnedConflict
	_, err = pgx.ForEachRow(rows, []any{&c.Address, &c.BoundTo}, func() error {
		s.LearnedConflicts = append(s.LearnedConflicts, c)
		return nil
	})
	return s, err
}

// Services implements [billing.ServiceStore].
func (db *DB) Services(ctx context.Context, f billing.ServiceFilter) ([]billing.Service, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	// One statement per combination of filters, so each is planned with
	// the index it can use (an "$n = 0 OR account_id = $n" clause would
	// not use one under a generic plan).
	where, args := "id > $1", []any{f.AfterID}
	if f.POP != "" {
		args = append(args, f.POP)
		where += fmt.Sprintf(" AND pop_id = $%d", len(args))
	}
	if f.State != "" {
		args = append(args, string(f.State))
		where += fmt.Sprintf(" AND desired_state = $%d", len(args))
	}
	if f.AccountID != 0 {
		args = append(args, f.AccountID)
		where += fmt.Sprintf(" AND account_id = $%d", len(args))
	}
	args = append(args, f.Limit)
	rows, err := db.Pool.Query(ctx, `SELECT `+serviceColumns+` FROM services WHERE `+where+
		fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args)), args...)
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

// SetDesiredState implements [billing.ServiceStore]. The change is written
// at commit by the outbox writer (see outbox.go), which gives the service
// its POP's next revision; the service returned carries it.
func (db *DB) SetDesiredState(ctx context.Context, c billing.StateChange) (billing.Service, bool, error) {
	if !c.State.Valid() {
		return billing.Service{}, false, billing.Errorf(billing.EINVALID, "state %q is not one of active, suspended", c.State)
	}
	var s billing.Service
	var changed bool
	revisions, err := inOutboxTx(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		changed, s, err = setDesiredStateTx(ctx, tx, c)
		return err
	})
	if err != nil {
		return billing.Service{}, false, err
	}
	if changed {
		s.Revision = revisions[s.ID]
	}
	return s, changed, nil
}

// setDesiredStateTx is the work of SetDesiredState (its only caller; the
// sweep, settlement and collections change states in bulk through
// setDesiredStates) inside tx, a transaction of inTx. It locks the service
// row and, unless the service already has (or, counting changes waiting in
// tx, will have) the state, queues the change for the outbox writer, asking
// it for the revision it gives the service at commit. The service returned
// is as it will be after commit except for its Revision, which the commit
// assigns. Errors: ENOTFOUND for no such service; errNotOutboxTx for a tx
// not begun by inTx; the database's errors.
func setDesiredStateTx(ctx context.Context, tx pgx.Tx, c billing.StateChange) (changed bool, s billing.Service, err error) {
	var removed bool
	s, err = scanService(rowAndThen{tx.QueryRow(ctx, `SELECT `+serviceColumns+`, removed FROM services WHERE id = $1 FOR UPDATE`, c.ServiceID), &removed})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, s, billing.Errorf(billing.ENOTFOUND, "service %d does not exist", c.ServiceID)
	}
	if err != nil {
		return false, s, err
	}
	if p, ok := pendingChange(tx, s.ID); ok {
		s.DesiredState, s.StateReason, s.UpdatedAt = p.state, p.reason, p.at
	}
	if removed {
		return false, s, billing.Errorf(billing.EINVALID, "service %d was removed from its POP when it was cancelled (on_cancel remove): it has no desired state to set", s.ID)
	}
	if s.DesiredState == c.State {
		return false, s, nil
	}
	change := stateChange{service: s.ID, pop: s.POP, state: c.State, reason: c.Reason, actor: c.Actor, at: c.At}
	if s.AccountID != nil {
		change.account = *s.AccountID
	}
	if err := changeStates(tx, []stateChange{change}, true); err != nil {
		return false, s, err
	}
	// The new revision is above any the agent reported a pending result for.
	s.DesiredState, s.StateReason, s.UpdatedAt, s.Confirmation.Pending = c.State, c.Reason, c.At, ""
	return true, s, nil
}

// rowAndThen is a row whose scan fills the scanner's destinations, then
// more (columns selected after theirs).
type rowAndThen struct {
	pgx.Row
	more any
}

func (r rowAndThen) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.more)...) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

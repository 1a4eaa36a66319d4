package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// MoveService decides a move of a service to another POP or binding
// ([billing.PlanServiceMove]) on the service as it is under a row lock and
// applies the plan in one transaction: the service's new POP, binding,
// version and (restarted) confirmation, its audit_log row, and, through
// the one outbox writer at commit, a "removed" change at the POP it left
// and its current desired state at the POP it moved to. The writer takes
// both POPs' revisions in POP id order, as every writer does.
//
// Errors: ENOTFOUND for an unknown service; EPRECONDITION when ifVersion
// is not the service's version; EINVALID naming the field for a bad move
// (see PlanServiceMove). Nothing is written on an error.
func (db *DB) MoveService(ctx context.Context, id, ifVersion int64, mv billing.ServiceMove, actor string, at time.Time) (billing.ServiceChangePlan, error) {
	return db.changeService(ctx, id, ifVersion, mv.POP, mv.Allocate, actor, at, func(in billing.ServiceChangeInput, allocated []string) (billing.ServiceChangePlan, error) {
		mv.Binding.Addresses = append(slices.Clip(mv.Binding.Addresses), allocated...)
		return billing.PlanServiceMove(in, mv)
	})
}

// EditService decides an edit in place of a service's name, service
// address or binding ([billing.PlanServiceEdit]) and applies it in one
// transaction with its audit_log row; a changed binding goes to the POP's
// agent through the outbox writer at the POP's next revision. An edit that
// changes nothing writes nothing.
//
// Errors: ENOTFOUND for an unknown service; EPRECONDITION when ifVersion
// is not the service's version; EINVALID naming the field for a bad edit.
func (db *DB) EditService(ctx context.Context, id, ifVersion int64, e billing.ServiceEdit, actor string, at time.Time) (billing.ServiceChangePlan, error) {
	return db.changeService(ctx, id, ifVersion, "", "", actor, at, func(in billing.ServiceChangeInput, _ []string) (billing.ServiceChangePlan, error) {
		return billing.PlanServiceEdit(in, e)
	})
}

// changeService reads a service change's input (the service locked, the
// named POP's existence, the local date), allocates addresses from pop's
// pools if allocate is set, decides it with decide and applies the plan.
func (db *DB) changeService(ctx context.Context, id, ifVersion int64, pop, allocate, actor string, at time.Time,
	decide func(billing.ServiceChangeInput, []string) (billing.ServiceChangePlan, error)) (billing.ServiceChangePlan, error) {
	var plan billing.ServiceChangePlan
	revisions, err := inOutboxTx(ctx, db.Pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		in, err := serviceChangeInput(ctx, tx, id, pop, at)
		if err != nil {
			return err
		}
		in.IfVersion, in.Actor = ifVersion, actor
		var allocated []string
		if allocate != "" && allocate != billing.AllocateLearned && in.IfVersion == in.Service.Version && billing.ValidatePOPID(pop) == nil {
			if allocated, err = allocateAddresses(ctx, tx, pop, allocate, at); err != nil {
				return err
			}
		}
		if plan, err = decide(in, allocated); err != nil || !plan.Changed {
			return err
		}
		return applyServiceChange(ctx, tx, in.Service, plan, allocated)
	})
	if err != nil {
		return billing.ServiceChangePlan{}, err
	}
	if rev, ok := revisions[id]; ok {
		plan.Service.Revision = rev
	}
	return plan, nil
}

// serviceChangeInput reads the service (locked), whether pop exists (when
// given), and today's date in the zone of the service's account type (UTC
// for a service without an account).
func serviceChangeInput(ctx context.Context, tx pgx.Tx, id int64, pop string, at time.Time) (billing.ServiceChangeInput, error) {
	in := billing.ServiceChangeInput{At: at}
	var err error
	in.Service, err = scanService(tx.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return in, billing.Errorf(billing.ENOTFOUND, "service %d does not exist", id)
	}
	if err != nil {
		return in, err
	}
	var zone string
	err = tx.QueryRow(ctx, `SELECT coalesce((SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id
			WHERE a.id = $1), 'UTC'), EXISTS (SELECT 1 FROM pops WHERE id = $2)`, in.Service.AccountID, pop).Scan(&zone, &in.POPExists)
	if err != nil {
		return in, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	in.Today = billing.DateIn(at, loc)
	return in, nil
}

// applyServiceChange writes the plan's service (cur is the service as
// read), its audit entry, and queues its enforcement changes for the
// outbox writer.
func applyServiceChange(ctx context.Context, tx pgx.Tx, cur billing.Service, plan billing.ServiceChangePlan, allocated []string) error {
	s, b := plan.Service, plan.Service.Binding
	if err := refuseUnshapeable(ctx, tx, "binding.method", s.ID, b.Method, s.PlanID, s.AccountID); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE services SET pop_id = $3, name = $4, method = $5, addresses = $6, radius_username = $7,
			device = $8, if_index = $9, service_address = $10, version = $11, updated_at = $12
		WHERE id = $1 AND version = $2`,
		s.ID, cur.Version, s.POP, s.Name, b.Method, nonNil(b.Addresses), b.RADIUSUsername, b.Device, b.IfIndex,
		s.ServiceAddress, s.Version, s.UpdatedAt)
	if err != nil {
		return mapError(err)
	}
	if tag.RowsAffected() != 1 { // the row is locked: only a bug gets here
		return billing.StaleVersionError(billing.EntityService, s.ID, cur.Version, s.Version-1)
	}
	if !slices.Equal(b.Addresses, cur.Binding.Addresses) {
		if err := syncAddresses(ctx, tx, s.ID, b.Addresses, allocated, plan.Audit.At, false); err != nil {
			return err
		}
	}
	if plan.ResetConfirmation {
		if _, err := tx.Exec(ctx, `UPDATE services SET confirmed_revision = 0, observed_state = '', last_confirmed_at = NULL,
				last_error = '', last_result_at = NULL, pending_reason = '', pending_revision = 0 WHERE id = $1`, s.ID); err != nil {
			return err
		}
	}
	if err := writeAudit(ctx, tx, plan.Audit); err != nil {
		return err
	}
	var changes []stateChange
	var account int64
	if s.AccountID != nil {
		account = *s.AccountID
	}
	if plan.Enforce {
		changes = append(changes, stateChange{service: s.ID, pop: s.POP, account: account, state: s.DesiredState,
			reason: s.StateReason, actor: plan.Audit.Actor, at: plan.Audit.At})
	}
	if plan.RemoveFrom != "" {
		changes = append(changes, stateChange{service: s.ID, pop: plan.RemoveFrom, account: account, state: billing.StateActive,
			reason: "moved to POP " + s.POP, actor: plan.Audit.Actor, at: plan.Audit.At, departed: true, binding: plan.RemoveBinding})
	}
	if len(changes) == 0 {
		return nil
	}
	return changeStates(tx, changes, true)
}

// writeAudit appends an entry to the audit log.
func writeAudit(ctx context.Context, tx pgx.Tx, e billing.AuditEntry) error {
	before, err := json.Marshal(e.Before)
	if err != nil {
		return err
	}
	after, err := json.Marshal(e.After)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (actor, at, entity, entity_id, before, after, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.Actor, e.At, e.Entity, e.EntityID, before, after, e.Reason)
	return err
}

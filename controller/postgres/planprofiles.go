package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ProfileFanOutJobs inserts the River job that fans a plan's profile
// change out to its services (jobs.Runner implements it).
type ProfileFanOutJobs interface {
	// InsertProfileFanOutJobTx inserts in tx the job that gives every
	// service on plan planID that lacks the plan's current profile a
	// revision carrying it (FanOutPlanProfile), for profile version
	// version, on behalf of actor. The job becomes visible when tx
	// commits. An error means nothing was inserted: the caller's
	// transaction must roll back.
	InsertProfileFanOutJobTx(ctx context.Context, tx pgx.Tx, planID int64, version int, actor string) error
}

// UseProfileFanOutJobs makes every profile change from now on insert the
// job that fans it out through j, in the transaction that stores the new
// version, instead of fanning out in the request. Call before the store
// is used.
func (db *DB) UseProfileFanOutJobs(j ProfileFanOutJobs) { db.profileJobs = j }

// ChangePlanProfile decides a plan's new profile version
// (billing.PlanProfileChange) and, unless preview, stores it with its
// audit_log row and the job that fans it out (a [ProfileFanOutJobs], set
// by UseProfileFanOutJobs) in one transaction. The job (FanOutPlanProfile)
// gives every active service on the plan whose binding can shape a new
// revision carrying the new profile, ProfileFanOutBatch services per
// transaction, through the one outbox writer; the fan-out is never held by
// the blast-radius guard: no one loses service (the guard weighs the
// sweep's suspensions only). req carries NewProfile, Actor, Now and
// Reason; the plan, its current profile and its services are read here.
//
// The version and its job commit together, so a controller that stops
// mid-fan-out leaves a job that River retries (or rescues) and that
// finishes the services still lacking the plan's current profile, without
// giving any a second revision. POST /api/v1/plans/{id}/profile/fan-out
// runs the same repair by hand. A store without a ProfileFanOutJobs (tests
// of the store) fans out here, after the commit.
//
// Errors: ENOTFOUND for an unknown plan; EINVALID naming the field (an
// invalid profile, the profile the plan already has); the job's insert
// error. Nothing written on error.
func (db *DB) ChangePlanProfile(ctx context.Context, planID int64, req billing.ProfileChangeRequest, preview bool) (billing.ProfileChange, error) {
	var change billing.ProfileChange
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		req.Plan, err = scanPlan(tx.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1 FOR UPDATE`, planID))
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "plan %d does not exist", planID)
		}
		if err != nil {
			return err
		}
		req.Current, req.CurrentVersion = req.Plan.Profile, req.Plan.ProfileVersion
		rows, err := tx.Query(ctx, `SELECT id, coalesce(account_id, 0), desired_state, method FROM services
			WHERE coalesce(speed_plan_id, plan_id) = $1 AND NOT removed ORDER BY id`, planID)
		if err != nil {
			return err
		}
		var s billing.ProfiledService
		if _, err := pgx.ForEachRow(rows, []any{&s.ServiceID, &s.AccountID, &s.State, &s.Method}, func() error {
			req.Services = append(req.Services, s)
			return nil
		}); err != nil {
			return err
		}
		if change, err = billing.PlanProfileChange(req); err != nil || preview {
			return err
		}
		v := change.Version
		if _, err := tx.Exec(ctx, `INSERT INTO plan_profile_versions (plan_id, version, profile, actor, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, v.PlanID, v.Version, v.Profile, v.Actor, v.Reason, v.CreatedAt); err != nil {
			return mapError(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE plans SET profile = $2, profile_version = $3 WHERE id = $1`, planID, v.Profile, v.Version); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, change.Audit, "profile_change"); err != nil {
			return err
		}
		if db.profileJobs == nil || len(change.FanOut) == 0 {
			return nil
		}
		if err := db.profileJobs.InsertProfileFanOutJobTx(ctx, tx, planID, v.Version, req.Actor); err != nil {
			return fmt.Errorf("inserting the fan-out job of plan %d's profile version %d: %w", planID, v.Version, err)
		}
		change.FanOutQueued = true
		return nil
	})
	if err != nil || preview || db.profileJobs != nil {
		return change, err
	}
	_, err = db.fanOutProfile(ctx, planID, change.Batches(), req.Actor, req.Now)
	return change, err
}

// FanOutPlanProfile gives every service on the plan that should carry
// the plan's current profile and does not (billing.NeedsProfileRevision)
// a new revision carrying it, in batches of ProfileFanOutBatch, one
// transaction each: the work of a profile change's fan-out job, and the
// repair by hand (POST /api/v1/plans/{id}/profile/fan-out). It is
// idempotent and resumable: run again after a crash cut it short, it
// changes only the services still lacking the profile (each batch locks
// its services and checks again). It returns how many services it changed
// (those of the batches committed when it fails).
//
// Errors: the database's.
func (db *DB) FanOutPlanProfile(ctx context.Context, planID int64, actor string, at time.Time) (int, error) {
	rows, err := db.Pool.Query(ctx, `SELECT s.id, s.desired_state, s.method, s.profile, p.profile
		FROM services s JOIN plans p ON p.id = coalesce(s.speed_plan_id, s.plan_id) WHERE p.id = $1 AND NOT s.removed ORDER BY s.id`, planID)
	if err != nil {
		return 0, err
	}
	var ids []int64
	var id int64
	var state billing.DesiredState
	var method string
	var has, want *billing.EdgeProfile
	if _, err := pgx.ForEachRow(rows, []any{&id, &state, &method, &has, &want}, func() error {
		if billing.NeedsProfileRevision(state, method, has, want) {
			ids = append(ids, id)
		}
		has, want = nil, nil
		return nil
	}); err != nil {
		return 0, err
	}
	return db.fanOutProfile(ctx, planID, billing.ProfileChange{FanOut: ids}.Batches(), actor, at)
}

// fanOutProfile writes the batches, one transaction each: each batch's
// services, locked, that still need their plan's profile get a new
// revision in their state with their reason unchanged (the profile is the
// plan's current one, which the outbox writer reads). It returns how many
// services it changed.
func (db *DB) fanOutProfile(ctx context.Context, planID int64, batches [][]int64, actor string, at time.Time) (int, error) {
	changed := 0
	for _, ids := range batches {
		err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT s.id, s.pop_id, coalesce(s.account_id, 0), s.desired_state, s.state_reason, s.method, s.profile, p.profile
				FROM services s JOIN plans p ON p.id = coalesce(s.speed_plan_id, s.plan_id)
				WHERE s.id = ANY($1) AND p.id = $2 AND NOT s.removed ORDER BY s.id FOR UPDATE OF s`, ids, planID)
			if err != nil {
				return err
			}
			var cs []stateChange
			var c stateChange
			var method string
			var has, want *billing.EdgeProfile
			if _, err := pgx.ForEachRow(rows, []any{&c.service, &c.pop, &c.account, &c.state, &c.reason, &method, &has, &want}, func() error {
				if billing.NeedsProfileRevision(c.state, method, has, want) {
					c.actor, c.at = actor, at
					cs = append(cs, c)
				}
				has, want = nil, nil
				return nil
			}); err != nil {
				return err
			}
			changed += len(cs)
			return changeStates(tx, cs, false)
		})
		if err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// queueProfileRevision gives service id, if it needs one
// (billing.NeedsProfileRevision), a new revision carrying its plan's
// current profile, in tx (a transaction of inTx): a plan change writes it
// in the transaction of its proration. A change of the service already
// queued in tx carries the plan's profile anyway (the writer reads it at
// commit) and is left as it is.
func queueProfileRevision(ctx context.Context, tx pgx.Tx, id int64, actor string, at time.Time) error {
	c := stateChange{service: id, actor: actor, at: at}
	var method string
	var has, want *billing.EdgeProfile
	err := tx.QueryRow(ctx, `SELECT s.pop_id, coalesce(s.account_id, 0), s.desired_state, s.state_reason, s.method, s.profile, p.profile
		FROM services s LEFT JOIN plans p ON p.id = coalesce(s.speed_plan_id, s.plan_id) WHERE s.id = $1`, id).
		Scan(&c.pop, &c.account, &c.state, &c.reason, &method, &has, &want)
	if err != nil {
		return err
	}
	if _, ok := pendingChange(tx, id); ok {
		return nil // written at commit, with the plan's current profile
	}
	if !billing.NeedsProfileRevision(c.state, method, has, want) {
		return nil
	}
	return changeStates(tx, []stateChange{c}, false)
}

// PlanProfileVersions lists a plan's profile versions, oldest first (none
// for an unknown plan or one that never had a profile).
//
// Errors: the database's.
func (db *DB) PlanProfileVersions(ctx context.Context, planID int64) ([]billing.ProfileVersion, error) {
	rows, err := db.Pool.Query(ctx, `SELECT plan_id, version, profile, actor, reason, created_at FROM plan_profile_versions
		WHERE plan_id = $1 ORDER BY version`, planID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.ProfileVersion, error) {
		var v billing.ProfileVersion
		err := r.Scan(&v.PlanID, &v.Version, &v.Profile, &v.Actor, &v.Reason, &v.CreatedAt)
		return v, err
	})
}

// refuseUnshapeable refuses a service bound with method, which cannot
// enforce speed (billing.MethodShapes), on a plan with a profile or at an
// account whose type throttles (planID, accountID: nil for none). field
// names what the caller is changing; serviceID is 0 for a new service.
//
// Errors: EINVALID naming the field, the service, its binding method and
// the plan or account type.
func refuseUnshapeable(ctx context.Context, tx pgx.Tx, field string, serviceID int64, method string, planID, accountID *int64) error {
	if billing.MethodShapes(method) {
		return nil
	}
	var plan string
	var profile *billing.EdgeProfile
	var settings []byte
	var typeName string
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT name FROM plans WHERE id = $1), ''), (SELECT profile FROM plans WHERE id = $1),
			(SELECT t.settings FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $2),
			coalesce((SELECT t.name FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $2), '')`,
		planID, accountID).Scan(&plan, &profile, &settings, &typeName)
	if err != nil {
		return err
	}
	if err := billing.CheckShaping(field, serviceID, method, profile != nil); err != nil {
		return billing.Errorf(billing.EINVALID, "%s (plan %q sells %s)", billing.ErrorMessage(err), plan, profile.SpeedWords())
	}
	if settings == nil {
		return nil
	}
	var t billing.AccountType
	if err := json.Unmarshal(settings, &t); err != nil {
		return err
	}
	if err := billing.CheckShaping(field, serviceID, method, t.Throttles()); err != nil {
		return billing.Errorf(billing.EINVALID, "%s (account type %q throttles instead of blocking)", billing.ErrorMessage(err), typeName)
	}
	return nil
}

// refuseThrottlingType refuses to make account type typeID throttle while
// an account of it has a service bound with a method that cannot shape.
//
// Errors: EINVALID naming suspend_action, the service and its binding.
func refuseThrottlingType(ctx context.Context, q querier, typeID int64) error {
	rows, err := q.Query(ctx, `SELECT s.id, s.method FROM services s JOIN accounts a ON a.id = s.account_id
		WHERE a.account_type_id = $1 AND NOT s.removed ORDER BY s.id`, typeID)
	if err != nil {
		return err
	}
	var id int64
	var method string
	var refusal error
	_, err = pgx.ForEachRow(rows, []any{&id, &method}, func() error {
		if refusal == nil {
			refusal = billing.CheckShaping("suspend_action", id, method, true)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != nil {
		return billing.Errorf(billing.EINVALID, "%s (an account of this type has it; a throttling type needs every service bound to a device that can shape)", billing.ErrorMessage(refusal))
	}
	return nil
}

// refuseUnshapeableAccount refuses to move account id to a throttling
// type while it has a service bound with a method that cannot shape.
//
// Errors: EINVALID naming account_type_id, the service and its binding.
func refuseUnshapeableAccount(ctx context.Context, tx pgx.Tx, id int64) error {
	rows, err := tx.Query(ctx, `SELECT id, method FROM services WHERE account_id = $1 AND NOT removed ORDER BY id`, id)
	if err != nil {
		return err
	}
	var sid int64
	var method string
	var refusal error
	if _, err := pgx.ForEachRow(rows, []any{&sid, &method}, func() error {
		if refusal == nil {
			refusal = billing.CheckShaping("account_type_id", sid, method, true)
		}
		return nil
	}); err != nil {
		return err
	}
	if refusal != nil {
		return billing.Errorf(billing.EINVALID, "%s (the new account type throttles instead of blocking)", billing.ErrorMessage(refusal))
	}
	return nil
}

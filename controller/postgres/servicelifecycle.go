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

// Service lifecycle changes (plan and quantity changes, cancellations,
// pauses): the store reads the service, its account, type and invoiced
// coverage under row locks, asks the domain core for the plan
// (billing.PlanServiceChange, PlanCancel, PlanPause) and applies it as it
// is in one transaction: the lines where the plan says (one-time charges
// the next billing run takes exactly once, an adjustment invoice, or an
// account credit), the service's new coverage and terms, the enforcement
// changes through the outbox writer (or scheduled for a later local
// midnight), and the audit_log row. A preview decides the same plan and
// writes nothing.

// lifecycleState is a service and what its lifecycle plans are decided in.
type lifecycleState struct {
	ctx         billing.LifecycleContext
	svc         billing.LifecycleService
	pop         string
	version     int64
	today       billing.Date
	otherBilled bool
	rates       []billing.TaxRate
}

// ChangeService decides a plan or quantity change of service id
// (billing.PlanServiceChange) and, unless preview, applies it. req carries
// what the caller asks: NewPlan.ID, NewQuantity, EffectiveDate,
// AtNextPeriod and Context's Actor, Now and Reason; the rest is read here.
//
// Errors: ENOTFOUND for an unknown service; EINVALID naming the field for
// a service that is not billed, a plan_id that does not exist or is
// retired, or any refusal of PlanServiceChange; EPRECONDITION when
// ifVersion (0: not checked) is not the service's version. Nothing is
// written on error.
func (db *DB) ChangeService(ctx context.Context, id, ifVersion int64, req billing.ServiceChangeRequest, preview bool) (billing.LifecyclePlan, error) {
	return db.serviceLifecycle(ctx, id, ifVersion, preview, req.Context, func(tx pgx.Tx, st lifecycleState) (billing.LifecyclePlan, error) {
		if req.NewPlan.ID != 0 {
			p, err := scanPlan(tx.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1`, req.NewPlan.ID))
			if errors.Is(err, pgx.ErrNoRows) {
				return billing.LifecyclePlan{}, billing.Errorf(billing.EINVALID, "plan_id %d does not exist", req.NewPlan.ID)
			}
			if err != nil {
				return billing.LifecyclePlan{}, err
			}
			if p.RetiredAt != nil && p.ID != st.svc.Plan.ID {
				return billing.LifecyclePlan{}, billing.Errorf(billing.EINVALID, "plan_id %d: plan %q is retired: no new services or changes to it", p.ID, p.Name)
			}
			req.NewPlan = p
			var method string
			if err := tx.QueryRow(ctx, `SELECT method FROM services WHERE id = $1`, id).Scan(&method); err != nil {
				return billing.LifecyclePlan{}, err
			}
			if err := billing.CheckShaping("plan_id", id, method, p.Profile != nil); err != nil {
				return billing.LifecyclePlan{}, billing.Errorf(billing.EINVALID, "%s (plan %q sells %s)", billing.ErrorMessage(err), p.Name, p.Profile.SpeedWords())
			}
		}
		req.Context, req.Service = st.ctx, st.svc
		return billing.PlanServiceChange(req)
	})
}

// CancelService decides the cancellation of service id
// (billing.PlanCancel) and, unless preview, applies it. req carries Date,
// EndOfPeriod and Context's Actor, Now and Reason.
//
// Errors: as ChangeService, with PlanCancel's refusals.
func (db *DB) CancelService(ctx context.Context, id, ifVersion int64, req billing.CancelRequest, preview bool) (billing.LifecyclePlan, error) {
	return db.serviceLifecycle(ctx, id, ifVersion, preview, req.Context, func(_ pgx.Tx, st lifecycleState) (billing.LifecyclePlan, error) {
		req.Context, req.Service, req.OtherServicesBilled = st.ctx, st.svc, st.otherBilled
		return billing.PlanCancel(req)
	})
}

// PauseService decides a pause of service id (billing.PlanPause) and,
// unless preview, applies it. req carries From, To and Context's Actor,
// Now and Reason.
//
// Errors: as ChangeService, with PlanPause's refusals (a pause longer
// than the type allows, …).
func (db *DB) PauseService(ctx context.Context, id, ifVersion int64, req billing.PauseRequest, preview bool) (billing.LifecyclePlan, error) {
	return db.serviceLifecycle(ctx, id, ifVersion, preview, req.Context, func(_ pgx.Tx, st lifecycleState) (billing.LifecyclePlan, error) {
		req.Context, req.Service = st.ctx, st.svc
		return billing.PlanPause(req)
	})
}

// serviceLifecycle reads the service's state under locks, decides the plan
// and applies it unless preview.
func (db *DB) serviceLifecycle(ctx context.Context, id, ifVersion int64, preview bool, asked billing.LifecycleContext,
	decide func(pgx.Tx, lifecycleState) (billing.LifecyclePlan, error)) (billing.LifecyclePlan, error) {
	var plan billing.LifecyclePlan
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		st, err := readLifecycle(ctx, tx, id, asked)
		if err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != st.version {
			return billing.StaleVersionError("service", id, ifVersion, st.version)
		}
		if plan, err = decide(tx, st); err != nil || preview {
			return err
		}
		return db.applyLifecycle(ctx, tx, st, plan)
	})
	return plan, err
}

// lifecycleLockSQL serialises a lifecycle change with the billing batches
// of its account type (which take the same lock shared): a batch reads
// the terms and coverage a committed change wrote, and a change reads the
// coverage a committed batch wrote, so no day is invoiced at terms a
// change has already credited, or missed by a change's credit.
const lifecycleLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('billing_type:' || $1::bigint, 0))`

// readLifecycle locks the service and its account and reads what a
// lifecycle plan is decided on.
func readLifecycle(ctx context.Context, tx pgx.Tx, id int64, asked billing.LifecycleContext) (lifecycleState, error) {
	st := lifecycleState{ctx: asked}
	// The type's lock comes before any row lock (a billing batch holds it
	// while it locks accounts with credit).
	var typeID *int64
	err := tx.QueryRow(ctx, `SELECT a.account_type_id FROM services s LEFT JOIN accounts a ON a.id = s.account_id WHERE s.id = $1`, id).Scan(&typeID)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, billing.Errorf(billing.ENOTFOUND, "service %d does not exist", id)
	}
	if err != nil {
		return st, err
	}
	if typeID != nil {
		if _, err := tx.Exec(ctx, lifecycleLockSQL, *typeID); err != nil {
			return st, err
		}
	}
	var accountID, planID *int64
	s := &st.svc
	err = tx.QueryRow(ctx, `SELECT account_id, plan_id, name, quantity, start_date, end_date, pause_from, pause_to, version, pop_id
		FROM services WHERE id = $1 FOR UPDATE`, id).Scan(&accountID, &planID, &s.Name, &s.Quantity, scanDate(&s.Start), scanDate(&s.End),
		scanDate(&s.PauseFrom), scanDate(&s.PauseTo), &st.version, &st.pop)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, billing.Errorf(billing.ENOTFOUND, "service %d does not exist", id)
	}
	if err != nil {
		return st, err
	}
	if accountID == nil || planID == nil {
		return st, billing.Errorf(billing.EINVALID, "service %d is not billed (it has no account or plan): lifecycle changes are for billed services", id)
	}
	s.Ref = billing.ServiceRef{ID: id, POP: st.pop, AccountID: *accountID}
	if st.ctx.Account, err = scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1 FOR UPDATE`, *accountID)); err != nil {
		return st, err
	}
	if st.ctx.Type, err = scanAccountType(tx.QueryRow(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = $1`, st.ctx.Account.AccountTypeID)); err != nil {
		return st, err
	}
	st.ctx.Type = billing.EffectiveType(st.ctx.Type, st.ctx.Account.Overrides)
	if typeID == nil || *typeID != st.ctx.Account.AccountTypeID {
		return st, fmt.Errorf("service %d's account changed its account type during the change; retry", id)
	}
	st.ctx.Policy = st.ctx.Type.Lifecycle
	if s.Plan, err = scanPlan(tx.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE id = $1`, *planID)); err != nil {
		return st, err
	}
	loc, err := st.ctx.Type.Location()
	if err != nil {
		return st, err
	}
	st.today = billing.DateIn(st.ctx.Now, loc)
	if s.Coverage, err = readCoverage(ctx, tx, id); err != nil {
		return st, err
	}
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM services WHERE account_id = $1 AND id <> $2 AND plan_id IS NOT NULL
		AND (end_date IS NULL OR end_date > $3))`, *accountID, id, pgDate(st.today)).Scan(&st.otherBilled)
	if err != nil {
		return st, err
	}
	rows, err := tx.Query(ctx, `SELECT jurisdiction, name, rate::text FROM tax_rates WHERE jurisdiction = $1 ORDER BY name`, st.ctx.Account.TaxJurisdiction)
	if err != nil {
		return st, err
	}
	st.rates, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.TaxRate])
	return st, err
}

// spanColumns are service_billed_spans' columns in spanRow's order.
var spanColumns = []string{"service_id", "from_date", "to_date", "period_start", "period_end", "plan_id", "plan_name",
	"unit_price", "quantity", "price", "taxable", "hold"}

// spanRow is a span's row for COPY into service_billed_spans.
func spanRow(serviceID int64, s billing.BilledSpan) []any {
	var plan any
	if s.PlanID != 0 {
		plan = s.PlanID
	}
	return []any{serviceID, pgDate(s.From), pgDate(s.To), pgDate(s.Period.Start), pgDate(s.Period.End), plan, s.PlanName,
		s.UnitPrice, s.Quantity, s.Price, s.Taxable, s.Hold}
}

// readCoverage reads a service's invoiced coverage in date order.
func readCoverage(ctx context.Context, q querier, id int64) ([]billing.BilledSpan, error) {
	rows, err := q.Query(ctx, `SELECT from_date, to_date, period_start, period_end, coalesce(plan_id, 0), plan_name,
			unit_price, quantity, price, taxable, hold
		FROM service_billed_spans WHERE service_id = $1 ORDER BY from_date`, id)
	if err != nil {
		return nil, err
	}
	var out []billing.BilledSpan
	var s billing.BilledSpan
	_, err = pgx.ForEachRow(rows, []any{scanDate(&s.From), scanDate(&s.To), scanDate(&s.Period.Start), scanDate(&s.Period.End),
		&s.PlanID, &s.PlanName, &s.UnitPrice, &s.Quantity, &s.Price, &s.Taxable, &s.Hold}, func() error {
		out = append(out, s)
		return nil
	})
	return out, err
}

// Coverage lists service id's invoiced coverage in date order (none for
// an unknown service).
//
// Errors: the database's.
func (db *DB) Coverage(ctx context.Context, id int64) ([]billing.BilledSpan, error) {
	return readCoverage(ctx, db.Pool, id)
}

// applyLifecycle writes a plan decided on st; an adjustment invoice is
// queued for delivery with it.
func (db *DB) applyLifecycle(ctx context.Context, tx pgx.Tx, st lifecycleState, plan billing.LifecyclePlan) error {
	a := st.ctx.Account
	now := st.ctx.Now
	switch plan.Invoicing {
	case billing.InvoiceOnNext, billing.InvoiceFinal:
		if err := queueLines(ctx, tx, a.ID, plan.Lines, st.today, now); err != nil {
			return err
		}
	case billing.InvoiceImmediately:
		inv, err := billing.ComposeAdjustmentInvoice(a, st.ctx.Type, plan.InvoicePeriod, plan.Lines, st.rates, st.today)
		if err != nil {
			return err
		}
		invs := []billing.Invoice{inv}
		if err := writeInvoices(ctx, tx, invs, 0, now); err != nil {
			return err
		}
		if err := applyCredit(ctx, tx, invs); err != nil {
			return err
		}
		if err := db.queueInvoiceDeliveries(ctx, tx, []int64{invs[0].ID}, now); err != nil {
			return err
		}
	case billing.InvoiceAsCredit:
		jt := billing.CreditTx(a.ID, a.Currency, plan.AccountCredit, fmt.Sprintf("service %d: %s", plan.ServiceID, firstWhy(plan)), st.today)
		jt.PostedAt, jt.Actor = now, plan.Audit.Actor
		if _, err := postTx(ctx, tx, jt); err != nil {
			return err
		}
		if _, err := allocate(ctx, tx, a.ID); err != nil {
			return err
		}
	}
	if err := replaceCoverage(ctx, tx, plan.ServiceID, plan.Coverage); err != nil {
		return err
	}
	if u := plan.Service; u != nil {
		if err := applyServiceUpdate(ctx, tx, st, *u); err != nil {
			return err
		}
	}
	if err := scheduleEnforcement(ctx, tx, st, plan); err != nil {
		return err
	}
	return insertAudit(ctx, tx, plan.Audit, string(plan.Kind))
}

// replaceCoverage replaces a service's invoiced coverage with spans.
func replaceCoverage(ctx context.Context, tx pgx.Tx, serviceID int64, spans []billing.BilledSpan) error {
	if _, err := tx.Exec(ctx, `DELETE FROM service_billed_spans WHERE service_id = $1`, serviceID); err != nil {
		return err
	}
	if len(spans) == 0 {
		return nil
	}
	rows := make([][]any, len(spans))
	for i, s := range spans {
		rows[i] = spanRow(serviceID, s)
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"service_billed_spans"}, spanColumns, pgx.CopyFromRows(rows))
	return mapError(err)
}

// firstWhy is the plan's first why line (a memo).
func firstWhy(p billing.LifecyclePlan) string {
	if len(p.Why) > 0 {
		return p.Why[0]
	}
	return string(p.Kind)
}

// queueLines stores a plan's lines as one-time charges dated today, for
// the next billing run to invoice (each exactly once).
func queueLines(ctx context.Context, tx pgx.Tx, accountID int64, lines []billing.ProratedLine, today billing.Date, now time.Time) error {
	var rows [][]any
	for _, l := range lines {
		if l.Amount == 0 {
			continue
		}
		rows = append(rows, []any{accountID, l.Description, l.Amount, l.Taxable, pgDate(today), l.ServiceID,
			pgDate(l.PeriodStart), pgDate(l.PeriodEnd), now})
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"one_time_charges"}, []string{"account_id", "description", "amount", "taxable",
		"charge_date", "service_id", "period_start", "period_end", "created_at"}, pgx.CopyFromRows(rows))
	return mapError(err)
}

// applyServiceUpdate writes a change of the service's terms: its terms
// history from the effective date (its first row the terms it had from
// its start), and its current plan, quantity, end, pause and version.
func applyServiceUpdate(ctx context.Context, tx pgx.Tx, st lifecycleState, u billing.ServiceUpdate) error {
	if u.After.PlanID != u.Before.PlanID || u.After.Quantity != u.Before.Quantity {
		if _, err := tx.Exec(ctx, `INSERT INTO service_terms (service_id, effective, plan_id, quantity)
			SELECT id, start_date, plan_id, quantity FROM services WHERE id = $1 ON CONFLICT DO NOTHING`, u.ServiceID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM service_terms WHERE service_id = $1 AND effective > $2`, u.ServiceID, pgDate(u.Effective)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO service_terms (service_id, effective, plan_id, quantity) VALUES ($1, $2, $3, $4)
			ON CONFLICT (service_id, effective) DO UPDATE SET plan_id = EXCLUDED.plan_id, quantity = EXCLUDED.quantity`,
			u.ServiceID, pgDate(u.Effective), u.After.PlanID, u.After.Quantity); err != nil {
			return err
		}
	}
	if p := u.EndedPause; p != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO service_pauses (service_id, from_date, to_date) VALUES ($1, $2, $3)`,
			u.ServiceID, pgDate(p.From), pgDate(p.To)); err != nil {
			return mapError(err)
		}
	}
	tag, err := tx.Exec(ctx, `UPDATE services SET plan_id = $3, quantity = $4, end_date = $5, pause_from = $6, pause_to = $7,
		version = version + 1, updated_at = $8 WHERE id = $1 AND version = $2`,
		u.ServiceID, st.version, u.After.PlanID, max(u.After.Quantity, 1), pgDate(u.After.End), pgDate(u.After.PauseFrom), pgDate(u.After.PauseTo), st.ctx.Now)
	if err != nil {
		return mapError(err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("service %d changed while locked", u.ServiceID)
	}
	return nil
}

// scheduleEnforcement writes a plan's enforcement changes: those due
// today or earlier through the outbox writer now, later ones into
// scheduled_enforcement for the job (ApplyDueEnforcement). A cancel
// supersedes the changes still scheduled for its end date or later (a
// pause's resume); a plan change supersedes the plan changes' speeds
// still scheduled for its effective date or later (it replaced their
// terms). A plan change's speed due today goes in this transaction, with
// the proration.
func scheduleEnforcement(ctx context.Context, tx pgx.Tx, st lifecycleState, plan billing.LifecyclePlan) error {
	const supersede = `UPDATE scheduled_enforcement SET superseded = true
		WHERE service_id = $1 AND done_at IS NULL AND NOT superseded AND on_date >= $2 AND ($3 = '' OR cause = $3)`
	var err error
	switch plan.Kind {
	case billing.LifecycleCancel:
		_, err = tx.Exec(ctx, supersede, plan.ServiceID, pgDate(plan.Effective), "")
	case billing.LifecyclePlanChange:
		_, err = tx.Exec(ctx, supersede, plan.ServiceID, pgDate(plan.Effective), string(billing.CausePlanChanged))
	}
	if err != nil {
		return err
	}
	for _, e := range plan.Enforcement {
		if !e.On.After(st.today) {
			if err := enforceNow(ctx, tx, e, st.ctx.Actor, st.ctx.Now); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO scheduled_enforcement (service_id, on_date, state, remove, cause, reason, actor, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.Service.ID, pgDate(e.On), string(e.State), e.Remove, string(e.Cause), e.Reason,
			st.ctx.Actor, st.ctx.Now); err != nil {
			return err
		}
		if e.Cause == billing.CausePlanChanged { // until then, the speed of today's terms
			if err := setSpeedPlan(ctx, tx, e.Service.ID, st.today); err != nil {
				return err
			}
		}
	}
	return nil
}

// holdOf is the lifecycle hold a cause leaves on the service's desired
// state: the sweep and settlements leave a held service alone.
func holdOf(c billing.LifecycleCause) string {
	switch c {
	case billing.CauseCancelled:
		return "cancelled"
	case billing.CausePaused:
		return "paused"
	}
	return ""
}

// enforceNow queues one enforcement change of a service (locked by the
// caller) for the outbox writer and sets its lifecycle hold; a plan
// change's (CausePlanChanged) moves the service to the speed of its terms
// from e.On (setSpeedPlan) and is the revision carrying that plan's
// profile, and leaves the hold as it is.
func enforceNow(ctx context.Context, tx pgx.Tx, e billing.ScheduledEnforcement, actor string, at time.Time) error {
	if e.Cause == billing.CausePlanChanged {
		if err := setSpeedPlan(ctx, tx, e.Service.ID, e.On); err != nil {
			return err
		}
		return queueProfileRevision(ctx, tx, e.Service.ID, actor, at)
	}
	var current billing.DesiredState
	var pop string
	var account *int64
	if err := tx.QueryRow(ctx, `UPDATE services SET held = $2 WHERE id = $1 RETURNING desired_state, pop_id, account_id`,
		e.Service.ID, holdOf(e.Cause)).Scan(&current, &pop, &account); err != nil {
		return err
	}
	if e.Remove {
		// Taken off its POP: its addresses go back to their pools, into
		// quarantine. (A cancelled service kept suspended keeps them: its
		// suspended entry on the device still holds them.)
		if err := releaseAddresses(ctx, tx, e.Service.ID, nil, at); err != nil {
			return err
		}
	}
	state := e.State
	if e.Remove || state == "" {
		state = current
	}
	if state == current && !e.Remove {
		return nil
	}
	c := stateChange{service: e.Service.ID, pop: pop, state: state, remove: e.Remove, reason: e.Reason, actor: actor, at: at}
	if account != nil {
		c.account = *account
	}
	return changeStates(tx, []stateChange{c}, false)
}

// setSpeedPlan records the plan whose speed service id has from local
// date on: the plan of its terms in effect then (service_terms, written by
// applyServiceUpdate; its first terms' when on is before its start), in
// speed_plan_id while that is not its plan_id (a plan change still waits
// for its effective date), else none (NULL: plan_id's speed). The outbox
// writer and the profile fan-out read the profile of that plan.
func setSpeedPlan(ctx context.Context, tx pgx.Tx, id int64, on billing.Date) error {
	_, err := tx.Exec(ctx, `UPDATE services s SET speed_plan_id = nullif((SELECT t.plan_id FROM service_terms t
		WHERE t.service_id = s.id AND t.effective <= greatest($2::date, s.start_date) ORDER BY t.effective DESC LIMIT 1), s.plan_id)
		WHERE s.id = $1`, id, pgDate(on))
	return err
}

// insertAudit writes a lifecycle change's audit_log row; the action is
// recorded in after.
func insertAudit(ctx context.Context, tx pgx.Tx, a billing.LifecycleAudit, action string) error {
	after := map[string]any{"action": action}
	for k, v := range a.After {
		after[k] = v
	}
	before, err := json.Marshal(a.Before)
	if err != nil {
		return err
	}
	afterJSON, err := json.Marshal(after)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (actor, at, entity, entity_id, before, after, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.Actor, a.At, a.Entity, a.EntityID, before, afterJSON, a.Reason)
	return err
}

// loadServices reads the billed services of the batch's accounts with
// their terms history, pause, earlier pauses (service_pauses), the end of
// a multi-month plan's coverage and the price versions of every plan.
func (d *billingData) loadServices(ctx context.Context, q querier, typeID, first, last int64) error {
	rows, err := q.Query(ctx, `SELECT s.account_id, s.id, s.name, s.start_date, s.end_date, s.quantity, s.pause_from, s.pause_to,
			p.id, p.name, p.price, p.currency, p.interval, p.taxable, p.created_at
		FROM services s JOIN plans p ON p.id = s.plan_id JOIN accounts a ON a.id = s.account_id
		WHERE a.account_type_id = $1 AND s.account_id BETWEEN $2 AND $3 ORDER BY s.id`, typeID, first, last)
	if err != nil {
		return err
	}
	versions := map[int64][]billing.PriceVersion{}
	type at struct {
		account int64
		i       int
	}
	index := map[int64]at{} // service id → its account, position
	var id int64
	var h billing.ServiceHistory
	s := &h.Service
	if _, err := pgx.ForEachRow(rows, []any{&id, &s.ServiceID, &s.Name, scanDate(&s.Start), scanDate(&s.End), &s.Quantity,
		scanDate(&h.PauseFrom), scanDate(&h.PauseTo),
		&s.Plan.ID, &s.Plan.Name, &s.Plan.Price, &s.Plan.Currency, &s.Plan.Interval, &s.Plan.Taxable, &s.Plan.CreatedAt}, func() error {
		h.Versions = versions
		index[s.ServiceID] = at{id, len(d.services[id])}
		d.services[id] = append(d.services[id], h)
		return nil
	}); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT t.service_id, t.effective, t.quantity, p.id, p.name, p.price, p.currency, p.interval, p.taxable, p.created_at
		FROM service_terms t JOIN plans p ON p.id = t.plan_id JOIN services s ON s.id = t.service_id JOIN accounts a ON a.id = s.account_id
		WHERE a.account_type_id = $1 AND s.account_id BETWEEN $2 AND $3 ORDER BY t.service_id, t.effective`, typeID, first, last)
	if err != nil {
		return err
	}
	var t billing.TermsFrom
	if _, err := pgx.ForEachRow(rows, []any{&id, scanDate(&t.Effective), &t.Quantity,
		&t.Plan.ID, &t.Plan.Name, &t.Plan.Price, &t.Plan.Currency, &t.Plan.Interval, &t.Plan.Taxable, &t.Plan.CreatedAt}, func() error {
		if x, ok := index[id]; ok {
			hs := d.services[x.account]
			hs[x.i].Terms = append(hs[x.i].Terms, t)
		}
		return nil
	}); err != nil {
		return err
	}
	// Where quarterly and annual plans' coverage ends (BillableService's
	// CoveredUntil): a plan period on a moved billing day is charged
	// from there.
	// (One probe of the spans' primary key per such service.)
	rows, err = q.Query(ctx, `SELECT s.id, (SELECT max(b.to_date) FROM service_billed_spans b WHERE b.service_id = s.id)
		FROM services s JOIN plans p ON p.id = s.plan_id JOIN accounts a ON a.id = s.account_id
		WHERE a.account_type_id = $1 AND s.account_id BETWEEN $2 AND $3 AND p.interval <> 'monthly'`, typeID, first, last)
	if err != nil {
		return err
	}
	var covered billing.Date
	if _, err := pgx.ForEachRow(rows, []any{&id, scanDate(&covered)}, func() error {
		if x, ok := index[id]; ok {
			d.services[x.account][x.i].Service.CoveredUntil = covered
		}
		return nil
	}); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT p.service_id, p.from_date, p.to_date
		FROM service_pauses p JOIN services s ON s.id = p.service_id JOIN accounts a ON a.id = s.account_id
		WHERE a.account_type_id = $1 AND s.account_id BETWEEN $2 AND $3 ORDER BY p.service_id, p.from_date`, typeID, first, last)
	if err != nil {
		return err
	}
	var pause billing.PauseSpan
	if _, err := pgx.ForEachRow(rows, []any{&id, scanDate(&pause.From), scanDate(&pause.To)}, func() error {
		if x, ok := index[id]; ok {
			hs := d.services[x.account]
			hs[x.i].EarlierPauses = append(hs[x.i].EarlierPauses, pause)
		}
		return nil
	}); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT plan_id, price, effective_from, grandfather FROM plan_price_versions ORDER BY plan_id, effective_from`)
	if err != nil {
		return err
	}
	var v billing.PriceVersion
	_, err = pgx.ForEachRow(rows, []any{&v.PlanID, &v.Price, scanDate(&v.EffectiveFrom), &v.Grandfather}, func() error {
		versions[v.PlanID] = append(versions[v.PlanID], v)
		return nil
	})
	return err
}

// ApplyDueEnforcement writes, through the outbox writer, every scheduled
// lifecycle enforcement change (a future-dated cancel, a pause's start and
// resume, a future-dated plan change's speed) whose local date in its account type's zone has come by now,
// and marks it done; each in a transaction of its own with its service
// locked. A resume sets what billing.ResumeState says (the account's
// non-payment suspension stands; a service that has ended is not
// resumed). It returns how many changes it applied.
//
// Errors: the database's (the changes applied so far stay applied; the
// rest are retried at the next call).
func (db *DB) ApplyDueEnforcement(ctx context.Context, now time.Time) (int, error) {
	type due struct {
		id   int64
		e    billing.ScheduledEnforcement
		zone string
		by   string
	}
	rows, err := db.Pool.Query(ctx, `SELECT e.id, e.service_id, e.on_date, e.state, e.remove, e.cause, e.reason, e.actor, t.time_zone
		FROM scheduled_enforcement e JOIN services s ON s.id = e.service_id JOIN accounts a ON a.id = s.account_id
		JOIN account_types t ON t.id = a.account_type_id
		WHERE e.done_at IS NULL AND NOT e.superseded AND e.on_date <= $1 ORDER BY e.on_date, e.id`,
		pgDate(billing.DateIn(now, time.UTC).AddDays(1)))
	if err != nil {
		return 0, err
	}
	var list []due
	var d due
	if _, err := pgx.ForEachRow(rows, []any{&d.id, &d.e.Service.ID, scanDate(&d.e.On), &d.e.State, &d.e.Remove, &d.e.Cause, &d.e.Reason, &d.by, &d.zone}, func() error {
		list = append(list, d)
		return nil
	}); err != nil {
		return 0, err
	}
	applied := 0
	for _, d := range list {
		loc, err := time.LoadLocation(d.zone)
		if err != nil || d.e.On.After(billing.DateIn(now, loc)) {
			continue
		}
		err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var status billing.AccountStatus
			var end billing.Date
			var done *time.Time
			if err := tx.QueryRow(ctx, `SELECT a.status, s.end_date, e.done_at FROM scheduled_enforcement e
				JOIN services s ON s.id = e.service_id JOIN accounts a ON a.id = s.account_id
				WHERE e.id = $1 FOR UPDATE OF e, s`, d.id).Scan(&status, scanDate(&end), &done); err != nil || done != nil {
				return err
			}
			e := d.e
			apply := true
			if e.Cause == billing.CauseResumed {
				var why string
				e.State, apply, why = billing.ResumeState(status, end, e.On)
				e.Reason = why
			}
			if apply {
				if err := enforceNow(ctx, tx, e, d.by, now); err != nil {
					return err
				}
				applied++
			}
			_, err := tx.Exec(ctx, `UPDATE scheduled_enforcement SET done_at = $2 WHERE id = $1`, d.id, now)
			return err
		})
		if err != nil {
			return applied, err
		}
	}
	return applied, nil
}

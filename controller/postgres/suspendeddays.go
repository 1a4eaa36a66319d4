package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// suspendedDaysWindow is how far back a billing run looks for suspended
// days to credit (account types that stop invoicing while suspended):
// billing runs come monthly, so every invoiced day is examined by at least
// two runs once its local midnight has passed. Credited days leave the
// coverage, so a day is never credited twice.
const suspendedDaysWindow = 93

// billingRunActor is who the billing run's own decisions are by.
const billingRunActor = "job:billing-run"

// creditSuspendedDays applies, for an account type that stops invoicing
// while suspended, billing.PlanSuspendedDaysCredit to every billed service
// of the batch's accounts that were suspended at some time: the credits
// become one-time charges that this run's invoices take (added to
// d.charges), the credited days leave the services' coverage, and each
// credit has its audit_log row. date is the run's date, now its time.
func (d *billingData) creditSuspendedDays(ctx context.Context, tx pgx.Tx, date billing.Date, now time.Time) error {
	pol := d.typ.Lifecycle
	if !pol.StopInvoicingWhileSuspended || len(d.accounts) == 0 {
		return nil
	}
	ids := make([]int64, len(d.accounts))
	for i, a := range d.accounts {
		ids[i] = a.ID
	}
	rows, err := tx.Query(ctx, `SELECT account_id, from_status, to_status, at FROM account_status_changes
		WHERE account_id = ANY($1) ORDER BY account_id, id`, ids)
	if err != nil {
		return err
	}
	type history struct {
		initial billing.AccountStatus
		changes []billing.AccountStatusAt
	}
	histories := map[int64]*history{}
	var id int64
	var from, to billing.AccountStatus
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &from, &to, &at}, func() error {
		h := histories[id]
		if h == nil {
			h = &history{initial: from}
			histories[id] = h
		}
		h.changes = append(h.changes, billing.AccountStatusAt{At: at, Status: to})
		return nil
	}); err != nil {
		return err
	}
	for _, a := range d.accounts {
		h := histories[a.ID]
		if h == nil {
			if a.Status != billing.AccountSuspended {
				continue
			}
			h = &history{initial: a.Status}
		}
		lc := billing.LifecycleContext{Account: a, Type: d.typ, Policy: pol, Now: now, Actor: billingRunActor,
			Reason: "the account type stops invoicing while suspended"}
		for _, s := range d.services[a.ID] {
			coverage, err := readCoverage(ctx, tx, s.Service.ServiceID)
			if err != nil || len(coverage) == 0 {
				if err != nil {
					return err
				}
				continue
			}
			svc := billing.LifecycleService{Ref: billing.ServiceRef{ID: s.Service.ServiceID, AccountID: a.ID}, Name: s.Service.Name,
				Plan: s.Service.Plan, Quantity: s.Service.Quantity, Start: s.Service.Start, End: s.Service.End, Coverage: coverage}
			start := date.AddDays(-suspendedDaysWindow)
			if coverage[0].From.After(start) {
				start = coverage[0].From
			}
			plan, err := billing.PlanSuspendedDaysCredit(billing.SuspendedDaysRequest{Context: lc, Service: svc, From: start, To: date.AddDays(1),
				Initial: h.initial, History: h.changes})
			if err != nil {
				return err
			}
			if len(plan.Lines) == 0 {
				continue
			}
			if err := d.takeSuspendedDaysCredit(ctx, tx, plan, date, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// takeSuspendedDaysCredit stores a suspended-days plan: its lines as
// one-time charges for this run's invoice (added to d.charges), the
// service's coverage without the credited days, and the audit row.
func (d *billingData) takeSuspendedDaysCredit(ctx context.Context, tx pgx.Tx, plan billing.LifecyclePlan, date billing.Date, now time.Time) error {
	for _, l := range plan.Lines {
		c := billing.OneTimeCharge{AccountID: plan.AccountID, Description: l.Description, Amount: l.Amount, Taxable: l.Taxable,
			ChargeDate: date, ServiceID: l.ServiceID, PeriodStart: l.PeriodStart, PeriodEnd: l.PeriodEnd, CreatedAt: now}
		if err := tx.QueryRow(ctx, `INSERT INTO one_time_charges (account_id, description, amount, taxable, charge_date, service_id,
				period_start, period_end, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			c.AccountID, c.Description, c.Amount, c.Taxable, pgDate(c.ChargeDate), c.ServiceID, pgDate(c.PeriodStart), pgDate(c.PeriodEnd), now).Scan(&c.ID); err != nil {
			return mapError(err)
		}
		d.charges[c.AccountID] = append(d.charges[c.AccountID], c)
	}
	if err := replaceCoverage(ctx, tx, plan.ServiceID, plan.Coverage); err != nil {
		return err
	}
	return insertAudit(ctx, tx, plan.Audit, string(plan.Kind))
}

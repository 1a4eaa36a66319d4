package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Closing and reopening accounts: the store reads the account and each of
// its services still billed under the same locks a service lifecycle
// change takes (the account type's lock first), with the account's pending
// one-time charges, tax rates, balance, unapplied payment credit and open
// invoices, asks the domain core for the plan (billing.PlanAccountClose,
// PlanAccountReopen) and applies it in one transaction: each service's
// cancel as a cancel is applied (applyLifecycle: coverage, end date,
// enforcement through the outbox writer, audit row; its lines are on the
// final invoice), the final invoice (journal, the charges it takes,
// delivery), the credit notes' allocations to open invoices and their
// takeovers of what payments paid (creditnotes.go), the refunds (a manual
// payment's completed, a gateway payment's reserved for the caller to
// send), the allocation of the credit
// left, then the account's status, version, status history row and audit
// row.

// CloseAccount decides and applies the close of account id; req carries
// RefundCredit, Now, Actor and Reason (the rest is read here). Gateway
// refunds in the plan are pending, with their IdempotencyKey: the caller
// sends them (charge.Service.Refund with the same key resumes each); the
// refund recovery job settles any it could not.
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
		today := billing.DateIn(req.Now, loc)
		rows, err := tx.Query(ctx, `SELECT id FROM services WHERE account_id = $1 AND plan_id IS NOT NULL
			AND (end_date IS NULL OR end_date > $2) ORDER BY id`, id, pgDate(today))
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
		req.Account, req.Type, req.IfVersion = a, billing.EffectiveType(t, a.Overrides), ifVersion
		if err := readCloseInputs(ctx, tx, &req); err != nil {
			return err
		}
		// The services as the billing run bills them: terms history,
		// pause, price versions.
		d := &billingData{services: map[int64][]billing.ServiceHistory{}}
		if err := d.loadServices(ctx, tx, a.AccountTypeID, id, id); err != nil {
			return err
		}
		req.Histories = map[int64]billing.ServiceHistory{}
		for _, h := range d.services[id] {
			req.Histories[h.Service.ServiceID] = h
		}
		if plan, err = billing.PlanAccountClose(req); err != nil {
			return err
		}
		for i, c := range plan.Cancels {
			if err := db.applyLifecycle(ctx, tx, states[i], c); err != nil {
				return err
			}
		}
		if inv := plan.FinalInvoice; inv != nil {
			invs := []billing.Invoice{*inv}
			if err := writeInvoices(ctx, tx, invs, 0, req.Now); err != nil {
				return err
			}
			*inv = invs[0]
			if _, err := tx.Exec(ctx, `UPDATE invoices SET status = $2 WHERE id = $1`, inv.ID, string(inv.Status)); err != nil {
				return err
			}
			if err := db.queueInvoiceDeliveries(ctx, tx, []int64{inv.ID}, req.Now); err != nil {
				return err
			}
		}
		if err := applyCloseCreditNotes(ctx, tx, &plan, req.Actor, today); err != nil {
			return err
		}
		if err := applyCloseRefunds(ctx, tx, &plan, req.Actor, req.Now, today); err != nil {
			return err
		}
		if _, err := allocate(ctx, tx, id); err != nil {
			return err
		}
		return setAccountStatus(ctx, tx, a, billing.AccountClosed, plan.Version, billing.StatusCauseClosed, plan.Why, plan.Audit)
	})
	return plan, err
}

// readCloseInputs reads what a close decides on besides the services:
// the account's pending one-time charges, its jurisdiction's tax rates,
// its balance, its payments' unapplied credit, its open invoices and
// credit notes, what its payments paid on its invoices, and its status
// history.
func readCloseInputs(ctx context.Context, tx pgx.Tx, req *billing.AccountCloseRequest) error {
	id := req.Account.ID
	rows, err := tx.Query(ctx, `SELECT id, account_id, description, amount, taxable, charge_date, created_at, service_id, period_start, period_end
		FROM one_time_charges WHERE account_id = $1 AND invoice_id IS NULL ORDER BY id`, id)
	if err != nil {
		return err
	}
	var c billing.OneTimeCharge
	if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.AccountID, &c.Description, &c.Amount, &c.Taxable, scanDate(&c.ChargeDate), &c.CreatedAt,
		&c.ServiceID, scanDate(&c.PeriodStart), scanDate(&c.PeriodEnd)}, func() error {
		req.Charges = append(req.Charges, c)
		c.ServiceID = nil
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT jurisdiction, name, rate::text FROM tax_rates WHERE jurisdiction = $1 ORDER BY name`, req.Account.TaxJurisdiction)
	if err != nil {
		return err
	}
	if req.TaxRates, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.TaxRate]); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(balance, 0) FROM account_balances WHERE account_id = $1`, id).Scan(&req.Balance); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT id, amount - refunded - refund_reserved - allocated, method, gateway <> '' AND gateway_charge <> ''
		FROM payments WHERE account_id = $1 AND status = 'posted' AND allocated < amount - refunded - refund_reserved ORDER BY id`, id)
	if err != nil {
		return err
	}
	var cr billing.CloseCredit
	if _, err := pgx.ForEachRow(rows, []any{&cr.PaymentID, &cr.Amount, &cr.Method, &cr.Gateway}, func() error {
		req.Credits = append(req.Credits, cr)
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT id, number, total - paid FROM invoices WHERE account_id = $1 AND status = 'open' AND paid < total
		ORDER BY due_date, id`, id)
	if err != nil {
		return err
	}
	if req.OpenInvoices, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.OpenInvoice]); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT id, number, paid - total FROM invoices WHERE account_id = $1 AND status = 'open' AND total < 0 AND paid > total
		ORDER BY id`, id)
	if err != nil {
		return err
	}
	if req.CreditNotes, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.CreditNote]); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT a.payment_id, a.invoice_id, i.number, a.amount, p.method, p.gateway <> '' AND p.gateway_charge <> ''
		FROM payment_allocations a JOIN invoices i ON i.id = a.invoice_id JOIN payments p ON p.id = a.payment_id
		WHERE i.account_id = $1 AND p.status = 'posted' AND i.status <> 'void' ORDER BY a.invoice_id DESC, a.payment_id DESC`, id)
	if err != nil {
		return err
	}
	if req.Held, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.HeldAllocation]); err != nil {
		return err
	}
	// The status history, for a type that stops invoicing while suspended.
	req.StatusInitial = req.Account.Status
	rows, err = tx.Query(ctx, `SELECT from_status, to_status, at FROM account_status_changes WHERE account_id = $1 ORDER BY id`, id)
	if err != nil {
		return err
	}
	var from, to billing.AccountStatus
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&from, &to, &at}, func() error {
		if len(req.StatusHistory) == 0 {
			req.StatusInitial = from
		}
		req.StatusHistory = append(req.StatusHistory, billing.AccountStatusAt{At: at, Status: to})
		return nil
	})
	return err
}

// applyCloseCreditNotes writes a close's credit note allocations to open
// invoices, then its takeovers of what payments paid (before the refunds
// of the money they free): the final invoice, invoice or credit note 0 in
// the plan, by its id.
func applyCloseCreditNotes(ctx context.Context, tx pgx.Tx, plan *billing.AccountClosePlan, by string, today billing.Date) error {
	var finalID int64
	if plan.FinalInvoice != nil {
		finalID = plan.FinalInvoice.ID
	}
	name := func(id int64) int64 {
		if id == 0 {
			return finalID
		}
		return id
	}
	for _, list := range [][]billing.CreditNoteAllocation{plan.CreditNoteAllocations, plan.TakenOver} {
		for i := range list {
			if list[i].CreditNoteID == 0 {
				list[i].CreditNoteID, list[i].CreditNoteNumber = finalID, plan.FinalInvoice.Number
			}
			if list[i].InvoiceID == 0 { // an earlier credit note pays the final invoice
				list[i].InvoiceID, list[i].InvoiceNumber = finalID, plan.FinalInvoice.Number
			}
		}
	}
	for i, id := range plan.UsedCreditNotes {
		plan.UsedCreditNotes[i] = name(id)
	}
	for i, id := range plan.PaidInvoices {
		plan.PaidInvoices[i] = name(id)
	}
	stamp := allocStamp{day: today, by: by}
	paid := append(append([]int64{}, plan.PaidInvoices...), plan.UsedCreditNotes...)
	if err := writeCreditNoteAllocations(ctx, tx, plan.CreditNoteAllocations, billing.AllocApplied, stamp, paid); err != nil {
		return err
	}
	return writeTakeover(ctx, tx, plan.TakenOver, plan.Released, stamp, plan.UsedCreditNotes)
}

// applyCloseRefunds writes a close's refunds, before the credit left is
// allocated: a manual payment's completed with its journal transaction, a
// gateway payment's reserved (pending) with its idempotency key for the
// caller to send.
func applyCloseRefunds(ctx context.Context, tx pgx.Tx, plan *billing.AccountClosePlan, by string, now time.Time, today billing.Date) error {
	for i := range plan.Refunds {
		r := &plan.Refunds[i]
		p, _, err := lockPaymentForRefund(ctx, tx, r.PaymentID)
		if err != nil {
			return err
		}
		if !r.Gateway {
			if r.RefundID, err = refundManualTx(ctx, tx, p, r.Amount, r.Memo, by, now, today); err != nil {
				return err
			}
			r.Status = billing.RefundCompleted
			continue
		}
		r.IdempotencyKey = fmt.Sprintf("account-close:%d:v%d:payment:%d", plan.AccountID, plan.Version, r.PaymentID)
		ref, err := reserveRefundTx(ctx, tx, p, billing.RefundRequest{PaymentID: r.PaymentID, Amount: r.Amount, Memo: r.Memo,
			IdempotencyKey: r.IdempotencyKey}, by, now)
		if err != nil {
			return err
		}
		r.RefundID, r.Status = ref.ID, ref.Status
	}
	return nil
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

package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// lockAccount locks an account's row; ENOTFOUND if it does not exist.
func lockAccount(ctx context.Context, tx pgx.Tx, id int64) error {
	var got int64
	err := tx.QueryRow(ctx, lockAccountSQL, id).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Errorf(billing.ENOTFOUND, "account %d does not exist", id)
	}
	return err
}

// SetPromise records a promise to pay through until (inclusive) and
// re-assesses the account: a delinquent account goes back to past due, a
// suspended one is restored. A zero until clears the promise. EINVALID if
// until is before today in the account type's zone; ENOTFOUND for an
// unknown account.
func (db *DB) SetPromise(ctx context.Context, accountID int64, until billing.Date, note, by string, now time.Time) (billing.AccountStanding, error) {
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		var zone string
		if err := tx.QueryRow(ctx, `SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $1`, accountID).Scan(&zone); err != nil {
			return err
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return err
		}
		if !until.IsZero() && until.Before(billing.DateIn(now, loc)) {
			return billing.Errorf(billing.EINVALID, "promise date %s is in the past", until)
		}
		var untilArg any
		what := "promise to pay cleared"
		if !until.IsZero() {
			untilArg = pgDate(until)
			what = fmt.Sprintf("promise to pay until %s", until)
			if note != "" {
				what += ": " + note
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET promise_until = $2, promise_note = $3 WHERE id = $1`, accountID, untilArg, note); err != nil {
			return err
		}
		if err := auditNote(ctx, tx, accountID, "promise", by, what, now); err != nil {
			return err
		}
		return db.settleTx(ctx, tx, accountID, billing.SettleCause{Kind: billing.CausePromise}, by, now)
	})
	if err != nil {
		return billing.AccountStanding{}, err
	}
	return db.AccountStanding(ctx, accountID, now)
}

// SetExempt makes an account exempt from delinquency and suspension (a
// suspended account is restored at once) or ends its exemption (the next
// sweep decides). ENOTFOUND for an unknown account.
func (db *DB) SetExempt(ctx context.Context, accountID int64, exempt bool, reason, by string, now time.Time) (billing.AccountStanding, error) {
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET exempt = $2, exempt_reason = $3 WHERE id = $1`, accountID, exempt, reason); err != nil {
			return err
		}
		what := "exemption ended"
		if exempt {
			what = "exempt from suspension" + optional(": ", reason)
		}
		if err := auditNote(ctx, tx, accountID, "exemption", by, what, now); err != nil {
			return err
		}
		return db.settleTx(ctx, tx, accountID, billing.SettleCause{Kind: billing.CauseExemption}, by, now)
	})
	if err != nil {
		return billing.AccountStanding{}, err
	}
	return db.AccountStanding(ctx, accountID, now)
}

// auditNote records a change that leaves the status as it is (a promise,
// an exemption) in the status audit log.
func auditNote(ctx context.Context, tx pgx.Tx, accountID int64, cause, actor, what string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO account_status_changes (account_id, from_status, to_status, cause, actor, why, at)
		SELECT id, status, status, $2, $3, ARRAY[$4::text], $5 FROM accounts WHERE id = $1`, accountID, cause, actor, what, now)
	return err
}

// AccountStanding returns an account's collection status with its why
// computed now. ENOTFOUND for an unknown account.
func (db *DB) AccountStanding(ctx context.Context, accountID int64, now time.Time) (billing.AccountStanding, error) {
	var st billing.AccountStanding
	var typeID int64
	var promise *time.Time
	var overrides []byte
	err := db.Pool.QueryRow(ctx, `SELECT a.id, a.number, a.status, a.status_changed_at, a.currency, a.account_type_id,
			a.promise_until, a.promise_note, a.exempt, a.exempt_reason, a.locale,
			coalesce((SELECT sum(j.amount) FROM journal_entries j WHERE j.account_id = a.id AND j.ledger = 'accounts_receivable'), 0)::bigint,
			coalesce((SELECT b.batch_id FROM suspension_batch_items b WHERE b.account_id = a.id AND b.status = 'pending' LIMIT 1), 0),
			a.overrides
		FROM accounts a WHERE a.id = $1`, accountID).Scan(&st.AccountID, &st.Number, &st.Status, &st.StatusChangedAt, &st.Currency, &typeID,
		&promise, &st.PromiseNote, &st.Exempt, &st.ExemptReason, &st.Locale, &st.Balance, &st.HeldInBatch, &overrides)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", accountID)
	}
	if err != nil {
		return st, err
	}
	if promise != nil {
		st.PromiseUntil = billing.DateOf(*promise)
	}
	t, rule, loc, err := typeRule(ctx, db.Pool, typeID)
	if err != nil {
		return st, err
	}
	if st.Locale == "" {
		st.Locale = t.Locale
	}
	today := billing.DateIn(now, loc)
	st.Today = today
	s := billing.Standing{AccountID: accountID, Number: st.Number, Currency: st.Currency, Status: st.Status,
		Exempt: st.Exempt, ExemptReason: st.ExemptReason, PromiseUntil: st.PromiseUntil, Balance: st.Balance, Held: st.HeldInBatch != 0}
	if s.Overrides, err = scanOverrides(overrides); err != nil {
		return st, err
	}
	st.Overrides = s.Overrides.Settings()
	lead := billing.ReminderLeadOf(t, []billing.AccountOverrides{s.Overrides})
	err = loadStandings(ctx, db.Pool, typeID, today.AddDays(lead), []int64{accountID}, now, func(got billing.Standing) error {
		s.Invoices, s.Reminded, s.Credit, s.Pending = got.Invoices, got.Reminded, got.Credit, got.Pending
		return nil
	})
	if err != nil {
		return st, err
	}
	if st.NextInvoiceDate, err = nextInvoiceDate(ctx, db.Pool, accountID, t, rule, today); err != nil {
		return st, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, pop_id, desired_state, state_reason, observed_state, last_confirmed_at,
		revision, confirmed_revision, CASE WHEN pending_revision >= revision THEN pending_reason ELSE '' END, held, pause_to,
		profile, observed_profile
		FROM services WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return st, err
	}
	st.Services = []billing.ServiceStanding{}
	var sv billing.ServiceStanding
	var pauseTo *time.Time
	_, err = pgx.ForEachRow(rows, []any{&sv.ID, &sv.POP, &sv.DesiredState, &sv.Reason, &sv.ObservedState, &sv.LastConfirmedAt,
		&sv.Revision, &sv.ConfirmedRevision, &sv.Pending, &sv.Held, &pauseTo, &sv.Profile, &sv.ObservedProfile}, func() error {
		if sv.Confirmed() {
			sv.Pending = ""
		}
		sv.PauseTo = billing.Date{}
		if pauseTo != nil {
			sv.PauseTo = billing.DateOf(*pauseTo)
		}
		st.Services = append(st.Services, sv)
		sv.Profile = nil // the next row's NULL leaves the pointer as it is
		return nil
	})
	if err != nil {
		return st, err
	}
	// What the next sweep does, as it does it: services a pause keeps on
	// hold the account's suspension.
	a := billing.StandingAssessment(t, billing.Assess(t, rule, today, s), st.Services)
	st.PastDue, st.Overdue, st.DelinquencyDate = a.PastDue, a.Overdue, a.DelinquencyDate
	st.Reasons = billing.StandingReasons(st.Status, a)
	st.Why = billing.StaffWhy(st.Reasons)
	return st, nil
}

// nextInvoiceDate reads the account and its last regularly invoiced
// period, as the billing run does, and answers [billing.NextInvoiceDate]
// (zero when it is not billed).
func nextInvoiceDate(ctx context.Context, q querier, accountID int64, t billing.AccountType, rule billing.DateRule, today billing.Date) (billing.Date, error) {
	a, err := scanAccount(q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, accountID))
	if err != nil {
		return billing.Date{}, err
	}
	var last billing.Period
	err = q.QueryRow(ctx, `SELECT period_start, period_end FROM invoices WHERE account_id = $1 AND kind = 'regular'
		ORDER BY period_start DESC LIMIT 1`, accountID).Scan(scanDate(&last.Start), scanDate(&last.End))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return billing.Date{}, err
	}
	d, _, _ := billing.NextInvoiceDate(t, rule, a, last, today)
	return d, nil
}

// StatusHistory returns an account's status audit log, newest first.
func (db *DB) StatusHistory(ctx context.Context, accountID int64) ([]billing.StatusChange, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, from_status, to_status, cause, actor, why, coalesce(sweep_id, 0), coalesce(payment_id, 0), at
		FROM account_status_changes WHERE account_id = $1 ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, err
	}
	out := []billing.StatusChange{}
	var c billing.StatusChange
	_, err = pgx.ForEachRow(rows, []any{&c.ID, &c.From, &c.To, &c.Cause, &c.Actor, &c.Why, &c.SweepID, &c.PaymentID, &c.At}, func() error {
		out = append(out, c)
		return nil
	})
	return out, err
}

const suspensionBatchColumns = `b.id, b.sweep_id, b.status, b.reasons, b.created_at, b.decided_at, b.decided_by,
	(SELECT count(*) FROM suspension_batch_items i WHERE i.batch_id = b.id AND i.status = 'pending')`

func scanSuspensionBatch(row pgx.Row) (billing.SuspensionBatch, error) {
	var b billing.SuspensionBatch
	err := row.Scan(&b.ID, &b.SweepID, &b.Status, &b.Reasons, &b.CreatedAt, &b.DecidedAt, &b.DecidedBy, &b.Pending)
	return b, err
}

// SuspensionBatches lists held suspension batches, newest first; status ""
// lists all, else pending or decided.
func (db *DB) SuspensionBatches(ctx context.Context, status string) ([]billing.SuspensionBatch, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+suspensionBatchColumns+` FROM suspension_batches b
		WHERE $1 = '' OR b.status = $1 ORDER BY b.id DESC LIMIT 500`, status)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.SuspensionBatch, error) { return scanSuspensionBatch(r) })
}

// PendingSuspensionBatches counts the batches waiting for a decision (for
// the held-batch metric).
func (db *DB) PendingSuspensionBatches(ctx context.Context) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM suspension_batches WHERE status = 'pending'`).Scan(&n)
	return n, err
}

// SuspensionBatch returns a batch with its items. ENOTFOUND if missing.
func (db *DB) SuspensionBatch(ctx context.Context, id int64) (billing.SuspensionBatch, error) {
	return suspensionBatch(ctx, db.Pool, id)
}

func suspensionBatch(ctx context.Context, q querier, id int64) (billing.SuspensionBatch, error) {
	b, err := scanSuspensionBatch(q.QueryRow(ctx, `SELECT `+suspensionBatchColumns+` FROM suspension_batches b WHERE b.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, billing.Errorf(billing.ENOTFOUND, "suspension batch %d does not exist", id)
	}
	if err != nil {
		return b, err
	}
	rows, err := q.Query(ctx, `SELECT i.account_id, a.number, i.service_ids, i.pops, i.why, i.status, i.decided_at, i.decided_by
		FROM suspension_batch_items i JOIN accounts a ON a.id = i.account_id WHERE i.batch_id = $1 ORDER BY i.account_id`, id)
	if err != nil {
		return b, err
	}
	b.Items = []billing.SuspensionBatchItem{}
	var it billing.SuspensionBatchItem
	_, err = pgx.ForEachRow(rows, []any{&it.AccountID, &it.Number, &it.ServiceIDs, &it.POPs, &it.Why, &it.Status, &it.DecidedAt, &it.DecidedBy}, func() error {
		b.Items = append(b.Items, it)
		return nil
	})
	return b, err
}

// DecideSuspensionBatch approves or cancels a held batch's pending items:
// all of them when accounts is empty, else those accounts'. An approved
// account that is still delinquent is suspended now (its services through
// the outbox, a suspension notice queued); one that paid or was held out
// meanwhile is skipped. The batch is decided when no item is pending.
// ENOTFOUND for an unknown batch; ECONFLICT if it is already decided;
// EINVALID naming an account that is not pending in the batch.
func (db *DB) DecideSuspensionBatch(ctx context.Context, id int64, approve bool, accounts []int64, by string, now time.Time) (billing.SuspensionBatch, error) {
	var out billing.SuspensionBatch
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM suspension_batches WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return billing.Errorf(billing.ENOTFOUND, "suspension batch %d does not exist", id)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT account_id FROM suspension_batch_items WHERE batch_id = $1 AND status = 'pending' ORDER BY account_id`, id)
		if err != nil {
			return err
		}
		pending, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		chosen, err := billing.ChooseHeldAccounts(id, status, pending, accounts)
		if err != nil {
			return err
		}
		if !approve {
			if _, err := tx.Exec(ctx, `UPDATE suspension_batch_items SET status = 'cancelled', decided_at = $3, decided_by = $4
				WHERE batch_id = $1 AND account_id = ANY($2)`, id, chosen, now, by); err != nil {
				return err
			}
		} else if err := db.approveHeld(ctx, tx, id, chosen, by, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE suspension_batches SET status = 'decided', decided_at = $2, decided_by = $3
			WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM suspension_batch_items WHERE batch_id = $1 AND status = 'pending')`, id, now, by); err != nil {
			return err
		}
		out, err = suspensionBatch(ctx, tx, id)
		return err
	})
	return out, err
}

// approveHeld suspends the chosen accounts of a held batch that are still
// delinquent ([billing.PlanApproval] decides which), and marks the others
// skipped.
func (db *DB) approveHeld(ctx context.Context, tx pgx.Tx, batchID int64, accounts []int64, by string, now time.Time) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, accounts); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT account_type_id FROM accounts WHERE id = ANY($1)`, accounts)
	if err != nil {
		return err
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	var plan billing.ApprovalPlan
	for _, typeID := range types {
		t, rule, loc, err := typeRule(ctx, tx, typeID)
		if err != nil {
			return err
		}
		in := billing.ApprovalInput{Type: t, Rule: rule, Today: billing.DateIn(now, loc), BatchID: batchID, By: by}
		err = loadStandingsIn(ctx, tx, typeID, in.Today, accounts, math.MinInt64, math.MaxInt64, now, func(s billing.Standing, c billing.Contact) error {
			in.Standings, in.Contacts = append(in.Standings, s), append(in.Contacts, c)
			return nil
		})
		if err != nil {
			return err
		}
		plan.Merge(billing.PlanApproval(in))
	}
	svcs, err := coreServices(ctx, tx, plan.Suspend, billing.StateSuspended)
	if err != nil {
		return err
	}
	if err := applyServiceChanges(ctx, tx, plan.ServiceChanges(svcs), by, now); err != nil {
		return err
	}
	if err := writeStatuses(ctx, tx, plan.StatusChanges, nil, by, 0, now); err != nil {
		return err
	}
	if _, err := db.QueueNoticesTx(ctx, tx, plan.Notices, now); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE suspension_batch_items SET status = CASE WHEN account_id = ANY($3) THEN 'approved' ELSE 'skipped' END,
			decided_at = $4, decided_by = $5
		WHERE batch_id = $1 AND account_id = ANY($2)`, batchID, accounts, plan.Suspend, now, by)
	return err
}

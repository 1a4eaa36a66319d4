package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// ChargeLateFees posts the account type's late fee on every open invoice of
// its accounts whose due date plus the fee's after_days is before date, once
// per invoice (a unique index makes a second fee impossible). It returns how
// many fees it posted.
func (db *DB) ChargeLateFees(ctx context.Context, typeID int64, date billing.Date, now time.Time) (int, error) {
	t, err := db.AccountType(ctx, typeID)
	if err != nil {
		return 0, err
	}
	cutoff, charges := billing.LateFeeCutoff(t, date)
	if !charges {
		return 0, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.account_id, i.number, i.currency, i.total, coalesce(a.overrides, '{}')
		FROM invoices i JOIN accounts a ON a.id = i.account_id
		WHERE a.account_type_id = $1 AND i.status = 'open' AND i.due_date < $2 AND i.total > 0
		AND NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.invoice_id = i.id AND t.kind = 'fee')
		ORDER BY i.id`, typeID, pgDate(cutoff))
	if err != nil {
		return 0, err
	}
	invs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[billing.LateFeeInvoice])
	if err != nil {
		return 0, err
	}
	posted := 0
	for _, jt := range billing.PlanLateFees(t, date, now, invs) {
		jt.Actor = "late-fees"
		err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			_, err := postTx(ctx, tx, jt)
			return err
		})
		if billing.ErrorCode(mapError(err)) == billing.ECONFLICT {
			continue // charged concurrently
		}
		if err != nil {
			return posted, err
		}
		posted++
	}
	return posted, nil
}

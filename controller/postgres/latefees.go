package postgres

import (
	"context"
	"fmt"
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
	if t.LateFee.Kind == billing.LateFeeNone || t.LateFee.Kind == "" {
		return 0, nil
	}
	cutoff := date.AddDays(-t.LateFee.AfterDays)
	type open struct {
		id, account int64
		number      string
		currency    billing.Currency
		total       int64
	}
	rows, err := db.Pool.Query(ctx, `SELECT i.id, i.account_id, i.number, i.currency, i.total
		FROM invoices i JOIN accounts a ON a.id = i.account_id
		WHERE a.account_type_id = $1 AND i.status = 'open' AND i.due_date < $2 AND i.total > 0
		AND NOT EXISTS (SELECT 1 FROM journal_transactions t WHERE t.invoice_id = i.id AND t.kind = 'fee')
		ORDER BY i.id`, typeID, pgDate(cutoff))
	if err != nil {
		return 0, err
	}
	invs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (open, error) {
		var o open
		err := r.Scan(&o.id, &o.account, &o.number, &o.currency, &o.total)
		return o, err
	})
	if err != nil {
		return 0, err
	}
	posted := 0
	for _, inv := range invs {
		fee := billing.LateFeeAmount(t.LateFee, inv.total)
		if fee <= 0 {
			continue
		}
		id := inv.id
		jt := billing.JournalTx{Kind: billing.TxFee, AccountID: inv.account, InvoiceID: &id, Currency: inv.currency,
			Memo: fmt.Sprintf("late fee on %s", inv.number), EffectiveDate: date, PostedAt: now,
			Entries: []billing.Entry{{Ledger: billing.LedgerReceivable, Amount: fee}, {Ledger: billing.LedgerFeeRevenue, Amount: -fee}}}
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

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// Receivables totals accounts receivable by currency: what owing accounts
// owe and the credit other accounts hold, from the receivable ledger's
// entries (one index-only pass of journal_entries_receivable_idx). Accounts
// with a zero balance are not counted.
func (db *DB) Receivables(ctx context.Context) ([]billing.ReceivableTotal, error) {
	rows, err := db.Pool.Query(ctx, `SELECT a.currency,
			coalesce(sum(b.balance) FILTER (WHERE b.balance > 0), 0)::bigint, count(*) FILTER (WHERE b.balance > 0),
			coalesce(-sum(b.balance) FILTER (WHERE b.balance < 0), 0)::bigint, count(*) FILTER (WHERE b.balance < 0)
		FROM (SELECT account_id, sum(amount) AS balance FROM journal_entries
			WHERE ledger = 'accounts_receivable' GROUP BY account_id) b
		JOIN accounts a ON a.id = b.account_id
		WHERE b.balance <> 0
		GROUP BY a.currency ORDER BY a.currency`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.ReceivableTotal, error) {
		var t billing.ReceivableTotal
		err := r.Scan(&t.Currency, &t.Owed, &t.AccountsOwing, &t.Credit, &t.AccountsInCredit)
		t.Net = t.Owed - t.Credit
		return t, err
	})
}

// PaymentTotals counts the payments posted in [from, to) that are not
// reversed, and their amount, by currency (payments_posted_at_idx).
func (db *DB) PaymentTotals(ctx context.Context, from, to time.Time) ([]billing.PaymentTotal, error) {
	rows, err := db.Pool.Query(ctx, `SELECT currency, count(*), coalesce(sum(amount), 0)::bigint FROM payments
		WHERE posted_at >= $1 AND posted_at < $2 AND status = 'posted'
		GROUP BY currency ORDER BY currency`, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.PaymentTotal, error) {
		var t billing.PaymentTotal
		err := r.Scan(&t.Currency, &t.Count, &t.Amount)
		return t, err
	})
}

// NoticeCounts counts notices by kind and status (kinds and statuses with
// none are left out).
func (db *DB) NoticeCounts(ctx context.Context) ([]billing.NoticeCount, error) {
	rows, err := db.Pool.Query(ctx, `SELECT kind, status, count(*) FROM notices GROUP BY kind, status ORDER BY kind, status`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.NoticeCount, error) {
		var c billing.NoticeCount
		err := r.Scan(&c.Kind, &c.Status, &c.Count)
		return c, err
	})
}

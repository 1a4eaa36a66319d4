package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// postTx writes one journal transaction and its entries inside tx, after
// validating it in the domain core; the database checks the balance again.
// It returns the transaction's id.
func postTx(ctx context.Context, tx pgx.Tx, jt billing.JournalTx) (int64, error) {
	if err := jt.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO journal_transactions (kind, account_id, invoice_id, currency, memo, effective_date, posted_at, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, jt.Kind, jt.AccountID, jt.InvoiceID, jt.Currency, jt.Memo, pgDate(jt.EffectiveDate), jt.PostedAt, jt.Actor).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("post journal transaction: %w", err)
	}
	n := len(jt.Entries)
	nos, ledgers, amounts := make([]int16, n), make([]string, n), make([]int64, n)
	for i, e := range jt.Entries {
		nos[i], ledgers[i], amounts[i] = int16(i+1), e.Ledger, e.Amount
	}
	// One statement for all entries: the balance trigger checks per
	// statement.
	_, err = tx.Exec(ctx, `INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT $1, u.no, $2, u.ledger, u.amount FROM unnest($3::smallint[], $4::text[], $5::bigint[]) AS u(no, ledger, amount)`,
		id, jt.AccountID, nos, ledgers, amounts)
	if err != nil {
		return 0, mapError(fmt.Errorf("post journal entries: %w", err))
	}
	return id, nil
}

// Balance returns what the account owes (negative: credit), derived from
// the journal. ENOTFOUND if the account does not exist.
func (db *DB) Balance(ctx context.Context, accountID int64) (int64, error) {
	var bal *int64
	err := db.Pool.QueryRow(ctx, `SELECT balance FROM account_balances WHERE account_id = $1`, accountID).Scan(&bal)
	if err == pgx.ErrNoRows {
		return 0, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", accountID)
	}
	if err != nil || bal == nil {
		return 0, err
	}
	return *bal, nil
}

// Statement returns the account's ledger lines in posting order with a
// running balance. ENOTFOUND if the account does not exist.
func (db *DB) Statement(ctx context.Context, accountID int64) ([]billing.StatementLine, error) {
	if _, err := db.Balance(ctx, accountID); err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT t.id, t.kind, t.effective_date, t.original_date, t.posted_at, t.memo, t.invoice_id, coalesce(i.number, ''), e.amount,
			sum(e.amount) OVER (ORDER BY t.id)::bigint
		FROM journal_transactions t
		JOIN (SELECT tx_id, sum(amount) AS amount FROM journal_entries
			WHERE account_id = $1 AND ledger = 'accounts_receivable' GROUP BY tx_id) e ON e.tx_id = t.id
		LEFT JOIN invoices i ON i.id = t.invoice_id
		WHERE t.account_id = $1 ORDER BY t.id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.StatementLine, error) {
		var l billing.StatementLine
		err := r.Scan(&l.TxID, &l.Kind, scanDate(&l.EffectiveDate), scanDate(&l.OriginalDate), &l.PostedAt, &l.Memo, &l.InvoiceID, &l.InvoiceNumber, &l.Amount, &l.RunningBalance)
		return l, err
	})
}

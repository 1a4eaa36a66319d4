package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// PaymentReceipt returns the receipt of a payment of account accountID
// (any account with 0): the payment, how it was made (a gateway method's
// brand and last 4, a check's number), the invoices it paid and the
// account's balance right after it was posted. ENOTFOUND for an unknown payment or another
// account's.
func (db *DB) PaymentReceipt(ctx context.Context, accountID, paymentID int64) (billing.Receipt, error) {
	return receiptOf(ctx, db.Pool, accountID, paymentID, 0)
}

// receiptOf reads a payment's receipt; methodID, when not 0, is the
// gateway method it was charged to (else the one of the attempt that
// posted it, if any).
func receiptOf(ctx context.Context, q querier, accountID, paymentID, methodID int64) (billing.Receipt, error) {
	var r billing.Receipt
	var brand, last4, bank *string
	err := q.QueryRow(ctx, `SELECT p.id, p.account_id, a.number, a.name, p.amount, p.currency, p.method, p.reference, p.received_date,
			p.posted_at, p.status, m.brand, m.last4, m.bank_name,
			coalesce((SELECT sum(j.amount) FROM journal_entries j
				WHERE j.account_id = a.id AND j.ledger = 'accounts_receivable' AND j.tx_id <= p.journal_tx_id), 0)::bigint
		FROM payments p JOIN accounts a ON a.id = p.account_id
		LEFT JOIN payment_methods m ON m.id = coalesce(nullif($3::bigint, 0),
			(SELECT pa.payment_method_id FROM payment_attempts pa WHERE pa.payment_id = p.id ORDER BY pa.id LIMIT 1),
			(SELECT pa.payment_method_id FROM payment_attempts pa WHERE pa.gateway = p.gateway AND pa.charge_id = p.gateway_charge
				AND p.gateway_charge <> '' ORDER BY pa.id LIMIT 1))
		WHERE p.id = $1 AND ($2 = 0 OR p.account_id = $2)`, paymentID, accountID, methodID).Scan(&r.PaymentID, &r.AccountID, &r.AccountNumber,
		&r.AccountName, &r.Amount, &r.Currency, &r.Method, &r.Reference, scanDate(&r.ReceivedDate), &r.PostedAt, &r.Status, &brand, &last4, &bank, &r.Balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", paymentID)
	}
	if err != nil {
		return r, err
	}
	r.Brand, r.Last4, r.BankName = deref(brand), deref(last4), deref(bank)
	rows, err := q.Query(ctx, `SELECT a.invoice_id, i.number, a.amount FROM payment_allocations a
		JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY i.due_date, i.id`, paymentID)
	if err != nil {
		return r, err
	}
	if r.Invoices, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.Allocation]); err != nil {
		return r, err
	}
	return r, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// queueReceiptTx queues, in the payment's transaction tx, the e-mailed
// receipt of payment paymentID (charged to method methodID, 0 for none)
// that came in through channel, when the account's type sends receipts
// for it ([billing.ReceiptNotice]) and the account has an e-mail address.
func (db *DB) queueReceiptTx(ctx context.Context, tx pgx.Tx, accountID, paymentID, methodID int64, channel billing.ReceiptChannel, now time.Time) error {
	var c billing.Contact
	t, err := scanAccountType(prefixedRow{tx.QueryRow(ctx, settleTypeSQL, accountID), []any{&c.Email, &c.Name}})
	if err != nil {
		return err
	}
	if !t.SendsReceipt(channel) || c.Email == "" {
		return nil
	}
	r, err := receiptOf(ctx, tx, accountID, paymentID, methodID)
	if err != nil {
		return err
	}
	n, ok := billing.ReceiptNotice(t, channel, r, c)
	if !ok {
		return nil
	}
	_, err = db.QueueNoticesTx(ctx, tx, []billing.Notice{n}, now)
	return err
}

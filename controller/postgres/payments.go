package postgres

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

const paymentColumns = `id, account_id, method, amount, currency, reference, payer, received_date, memo, status, refunded,
	batch_id, posted_by, posted_at, reversed_at, reversal_reason, gateway, gateway_charge, refund_reserved, warnings`

func scanPayment(row pgx.Row) (billing.Payment, error) {
	var p billing.Payment
	err := row.Scan(&p.ID, &p.AccountID, &p.Method, &p.Amount, &p.Currency, &p.Reference, &p.Payer, scanDate(&p.ReceivedDate),
		&p.Memo, &p.Status, &p.Refunded, &p.BatchID, &p.PostedBy, &p.PostedAt, &p.ReversedAt, &p.ReversalNote, &p.Gateway, &p.GatewayCharge, &p.RefundReserved, &p.Warnings)
	return p, err
}

// lockAccountSQL locks an account's row: payments to one account, and their
// allocation, happen one after another.
const lockAccountSQL = `SELECT id FROM accounts WHERE id = $1 FOR UPDATE`

// lockAccountStatusSQL locks an account's row as lockAccountSQL does and
// reads its status (how a payment to it posts: billing.PaymentOnAccount).
const lockAccountStatusSQL = `SELECT status FROM accounts WHERE id = $1 FOR UPDATE`

// insertPaymentCTEs write a payment with its journal transaction and
// entries (the balance trigger checks the entries at the statement's end);
// the payment row is the CTE p. The currency is the account's and a missing
// received date ($6) is today in the account type's zone. No row comes back
// when the account does not exist.
//
//	$1 account  $2 method  $3 amount  $4 reference  $5 payer  $6 received date
//	$7 memo  $8 batch  $9 batch line  $10 now  $11 journal memo  $12 posted by
//	$13 journal kind  $14 cash ledger  $15 receivable ledger  $16 allocated
//	$17 warnings
const insertPaymentCTEs = `WITH acct AS (
		SELECT a.currency, coalesce($6::date, ($10::timestamptz AT TIME ZONE t.time_zone)::date) AS day
		FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $1
	), t AS (
		INSERT INTO journal_transactions (kind, account_id, currency, memo, effective_date, posted_at, actor)
		SELECT $13, $1, acct.currency, $11, acct.day, $10, $12 FROM acct RETURNING id, currency, effective_date, original_date
	), e AS (
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
			(VALUES (1::smallint, $14::text, $3::bigint), (2::smallint, $15::text, -$3::bigint)) AS u(no, ledger, amount)
	), p AS (
		INSERT INTO payments (account_id, method, amount, currency, reference, payer,
			received_date, memo, batch_id, batch_line, journal_tx_id, posted_by, posted_at, allocated, warnings)
		SELECT $1, $2, $3, t.currency, $4, $5, coalesce(t.original_date, t.effective_date), $7, $8, $9, t.id, $12, $10, $16, $17 FROM t RETURNING ` + paymentColumns + `
	)`

// insertPaymentSQL writes an unallocated payment (see insertPaymentCTEs).
const insertPaymentSQL = insertPaymentCTEs + ` SELECT * FROM p`

// postPaymentSQL writes, on the hot path, a payment whose id, currency and
// received date were read beforehand (see lockForPaymentSQL), together with
// its journal transaction and entries and the allocations planned before it
// existed: $16 payments, $17 invoices, $18 amounts; the invoices $19 become
// paid. The new payment's own share ($14) is written with it, so its row is
// never updated in the transaction that inserts it. Each allocation is also
// an allocation event, effective on the received date, by the poster.
//
//	$1 account  $2 method  $3 amount  $4 reference  $5 payer  $6 received date
//	$7 memo  $8 now  $9 journal memo  $10 posted by  $11 journal kind
//	$12 cash ledger  $13 receivable ledger  $14 allocated  $15 payment id
//	$20 currency  $21 warnings
const postPaymentSQL = `WITH t AS (
		INSERT INTO journal_transactions (kind, account_id, currency, memo, effective_date, posted_at, actor)
		VALUES ($11, $1, $20, $9, $6, $8, $10) RETURNING id
	), e AS (
		INSERT INTO journal_entries (tx_id, entry_no, account_id, ledger, amount)
		SELECT t.id, u.no, $1, u.ledger, u.amount FROM t,
			(VALUES (1::smallint, $12::text, $3::bigint), (2::smallint, $13::text, -$3::bigint)) AS u(no, ledger, amount)
	), p AS (
		INSERT INTO payments (id, account_id, method, amount, currency, reference, payer,
			received_date, memo, journal_tx_id, posted_by, posted_at, allocated, warnings)
		SELECT $15, $1, $2, $3, $20, $4, $5, $6, $7, t.id, $10, $8, $14, $21 FROM t
	), a AS (
		SELECT * FROM unnest($16::bigint[], $17::bigint[], $18::bigint[]) AS x(payment_id, invoice_id, amount)
	), ins AS (
		INSERT INTO payment_allocations (payment_id, invoice_id, amount) SELECT * FROM a
		ON CONFLICT (payment_id, invoice_id) DO UPDATE SET amount = payment_allocations.amount + EXCLUDED.amount
	), ev AS (
		INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
		SELECT payment_id, invoice_id, amount, 'applied', $6, $10 FROM a
	), pay AS (
		UPDATE payments o SET allocated = o.allocated + s.sum
		FROM (SELECT payment_id, sum(amount)::bigint AS sum FROM a WHERE payment_id <> $15 GROUP BY payment_id) s
		WHERE o.id = s.payment_id
	)
	UPDATE invoices i SET paid = i.paid + s.sum, status = CASE WHEN i.id = ANY($19) THEN 'paid' ELSE i.status END
	FROM (SELECT invoice_id, sum(amount)::bigint AS sum FROM a GROUP BY invoice_id) s WHERE i.id = s.invoice_id`

// lockForPaymentSQL locks account $1 and reads what a payment to it needs
// before it is written: the account's status and currency, the received
// date ($2, or today in the account type's zone at $3) and the payment's id.
const lockForPaymentSQL = `SELECT a.status, a.currency, coalesce($2::date, ($3::timestamptz AT TIME ZONE t.time_zone)::date),
		nextval('payments_id_seq'), coalesce(t.settings->'receipts_for', 'null'::jsonb), a.email
	FROM accounts a JOIN account_types t ON t.id = a.account_type_id WHERE a.id = $1 FOR UPDATE OF a`

// storeKeySQL claims an Idempotency-Key and stores its response, as the
// last statement of the transaction that executed the request. A key that
// exists fails it (idempotency_keys_pkey), and the transaction rolls back;
// a concurrent duplicate's INSERT waits for the first's transaction, and
// fails if it commits.
const storeKeySQL = `INSERT INTO idempotency_keys (principal, key, method, path, request_hash,
		status_code, response_type, response_body, locked_at, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`

// keyTaken reports whether err is storeKeySQL's finding the key taken.
func keyTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "idempotency_keys_pkey"
}

func insertPaymentArgs(in billing.NewPayment, by string, now time.Time, batchID *int64, batchLine int, warnings []string) []any {
	var line any
	if batchID != nil {
		line = batchLine
	}
	return []any{in.AccountID, in.Method, in.Amount, in.Reference, in.Payer, pgDate(in.ReceivedDate), in.Memo, batchID, line,
		now, journalMemo(in), by, billing.TxPaymentPosted, billing.LedgerCash, billing.LedgerReceivable, int64(0), nonNil(warnings)}
}

func journalMemo(in billing.NewPayment) string {
	return string(in.Method) + " payment" + optional(" ", in.Reference)
}

// withAllocations fills in the payment's share of allocs.
func withAllocations(p billing.Payment, allocs []allocation) billing.Payment {
	p.Allocations = []billing.Allocation{}
	p.Unallocated = p.Amount
	for _, a := range allocs {
		if a.payment == p.ID {
			p.Allocations = append(p.Allocations, a.Allocation)
			p.Unallocated -= a.Amount
		}
	}
	return p
}

// PostPayment posts a payment to an account in one transaction: the journal
// transaction, the payment, and its allocation to the oldest open invoices
// (overpayment stays on the account as credit). EINVALID names a bad field;
// ENOTFOUND if the account does not exist.
func (db *DB) PostPayment(ctx context.Context, in billing.NewPayment, by string, now time.Time) (billing.Payment, error) {
	if err := in.Validate(); err != nil {
		return billing.Payment{}, err
	}
	p, _, err := db.postPayment(ctx, in, by, now, nil)
	return p, err
}

// PostPaymentIdempotent is PostPayment under an Idempotency-Key, all in the
// payment's own transaction: it posts the payment, stores the response
// respond makes of it under the key, and commits. So the payment and its
// stored response exist together or not at all: no crash can leave a
// payment whose retry posts it again.
//
// The key's row is written last, and the primary key decides who has it:
// a transaction that finds the key taken rolls back, and a concurrent
// duplicate's INSERT waits for the first's transaction, finding the key
// taken if it commits. A key already used then decides as
// [DB.BeginIdempotent] does (Refused, or Replayed); a claim left by an
// execution dead for longer than lockTimeout is taken over. An error means
// nothing was written and the key is free: EINVALID names a bad field,
// ENOTFOUND an unknown account.
func (db *DB) PostPaymentIdempotent(ctx context.Context, r billing.IdempotentRequest, in billing.NewPayment, by string, now time.Time,
	lockTimeout time.Duration, respond func(billing.Payment) (billing.StoredResponse, error)) (billing.IdempotentResult, error) {
	if err := in.Validate(); err != nil {
		return billing.IdempotentResult{}, err
	}
	k := &keyClaim{r: r, now: now, respond: respond}
	for range 3 {
		_, stored, err := db.postPayment(ctx, in, by, now, k)
		if err != nil || stored {
			return billing.IdempotentResult{Response: k.resp}, err
		}
		// The key was taken: its row decides.
		var res billing.IdempotentResult
		retry := false
		err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
			stored, found, stale, err := existingKey(ctx, tx, r, now, lockTimeout)
			switch {
			case err != nil:
				if billing.ErrorCode(err) != billing.EINTERNAL {
					res.Refused, err = err, nil
				}
				return err
			case stored != nil:
				res.Response, res.Replayed = *stored, true
			case !found:
				retry = true // the transaction that had it rolled back
			case stale:
				// A claim left by an execution that died (of the
				// middleware's claim-run-complete protocol): it goes.
				retry = true
				_, err = tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2`, r.Principal, r.Key)
			}
			return err
		})
		if err != nil || !retry {
			return res, err
		}
	}
	return billing.IdempotentResult{Refused: billing.Errorf(billing.ECONFLICT, "a request with Idempotency-Key %q is being retried; try again", r.Key)}, nil
}

// keyClaim is an Idempotency-Key to store, with its response, in a
// payment's transaction.
type keyClaim struct {
	r       billing.IdempotentRequest
	now     time.Time
	respond func(billing.Payment) (billing.StoredResponse, error)
	resp    billing.StoredResponse // the response stored
}

// args makes p's response and returns the arguments of storeKeySQL.
func (k *keyClaim) args(p billing.Payment) ([]any, error) {
	resp, err := k.respond(p)
	if err != nil {
		return nil, err
	}
	k.resp = resp
	return []any{k.r.Principal, k.r.Key, k.r.Method, k.r.Path, k.r.RequestHash, resp.StatusCode, resp.ContentType, resp.Body, k.now}, nil
}

// postPayment posts a validated payment and, with k, stores k's key and
// response in the same transaction. stored is false, and nothing is
// written, when k's key is taken.
//
// It is the hot path of the payments API, so the transaction is two round
// trips: BEGIN, the account lock (which also reads the account's currency,
// the received date and the new payment's id) and the allocation read in
// the first; the payment with its journal transaction and allocations, the
// key with its response, and COMMIT in the second. Every column of the
// payment is known before it is written, so the response is made before
// the second round trip rather than after it.
func (db *DB) postPayment(ctx context.Context, in billing.NewPayment, by string, now time.Time, k *keyClaim) (p billing.Payment, stored bool, err error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return p, false, err
	}
	released := false
	defer func() {
		if !released {
			conn.Release()
		}
	}()
	open := false
	defer func() {
		if open {
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				conn.Conn().Close(context.WithoutCancel(ctx)) // do not hand a broken transaction back to the pool
			}
		}
	}()
	// The database keeps microseconds: the response says what a later
	// read of the payment says.
	now = time.UnixMicro(now.UnixMicro())
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// Left to itself, PostgreSQL plans postPaymentSQL afresh on every call
	// (its custom plans look cheaper than the generic one), and planning
	// that many CTEs costs more than running them. Every statement here is
	// a few index lookups whatever its parameters.
	b.Queue("SET LOCAL plan_cache_mode = force_generic_plan")
	b.Queue(lockForPaymentSQL, in.AccountID, pgDate(in.ReceivedDate), now)
	b.Queue(allocReadSQL, []int64{in.AccountID})
	br := conn.SendBatch(ctx, b)
	fail := func(err error) (billing.Payment, bool, error) {
		br.Close()
		return billing.Payment{}, false, err
	}
	if _, err := br.Exec(); err != nil {
		return fail(err)
	}
	open = true
	if _, err := br.Exec(); err != nil {
		return fail(err)
	}
	var status billing.AccountStatus
	var receipts billing.AccountType // only its receipts_for
	var email string
	p = billing.Payment{AccountID: in.AccountID, Method: in.Method, Amount: in.Amount, Reference: in.Reference, Payer: in.Payer,
		Memo: in.Memo, Status: billing.PaymentPosted, PostedBy: by, PostedAt: now}
	if err := br.QueryRow().Scan(&status, &p.Currency, scanDate(&p.ReceivedDate), &p.ID, &receipts.ReceiptsFor, &email); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			err = billing.Errorf(billing.ENOTFOUND, "account %d does not exist", in.AccountID)
		}
		return fail(err)
	}
	receipt := receipts.SendsReceipt(billing.ReceiptStaff) && email != ""
	if billing.SettlesOnPayment(status) || receipt {
		// The payment may restore service, or is e-mailed a receipt: the
		// general path, which settles the account and queues the receipt
		// in the payment's transaction.
		br.Close()
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return billing.Payment{}, false, err
		}
		open, released = false, true
		conn.Release()
		return db.postAndSettle(ctx, in, by, now, k, receipt)
	}
	rows, err := br.Query()
	if err != nil {
		return fail(err)
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[openItem])
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return billing.Payment{}, false, err
	}
	allocate, warnings := billing.PaymentOnAccount(in.AccountID, status)
	if !allocate {
		items = nil // a closed account's payment stays credit
	}
	p.Warnings = warnings
	// The new payment is the account's newest credit: it pays what older
	// credits leave open.
	items = append(items, openItem{Credit: true, Account: in.AccountID, ID: pendingPayment, Amount: in.Amount})
	allocs, allocArgs, err := planAllocations(items, chosenFor(pendingPayment, in))
	if err != nil {
		return billing.Payment{}, false, err
	}
	var own int64
	for i, id := range allocArgs[0].([]int64) {
		if id == pendingPayment {
			allocArgs[0].([]int64)[i] = p.ID
			allocs[i].payment = p.ID
			own += allocs[i].Amount
		}
	}
	p = withAllocations(p, allocs)
	args := []any{in.AccountID, in.Method, in.Amount, in.Reference, in.Payer, pgDate(p.ReceivedDate), in.Memo, now,
		journalMemo(in), by, billing.TxPaymentPosted, billing.LedgerCash, billing.LedgerReceivable, own, p.ID}
	b = &pgx.Batch{}
	b.Queue(postPaymentSQL, append(append(args, allocArgs...), p.Currency, nonNil(warnings))...)
	if k != nil {
		keyArgs, err := k.args(p)
		if err != nil {
			return billing.Payment{}, false, err
		}
		b.Queue(storeKeySQL, keyArgs...)
	}
	// An error skips COMMIT; the deferred ROLLBACK ends the transaction.
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		if keyTaken(err) {
			return billing.Payment{}, false, nil
		}
		return billing.Payment{}, false, mapError(err)
	}
	open = false
	db.paymentPosted(p.Method, p.Currency, p.Amount)
	return p, true, nil
}

// postAndSettle posts a payment in an ordinary transaction and settles the
// account in it: a payment that meets the reactivation rule restores the
// account's services before the call returns. With receipt, the payment's
// receipt (channel staff) is queued in it too. With k, the transaction ends
// storing k's key and response; stored is false, and nothing is written,
// when the key is taken.
func (db *DB) postAndSettle(ctx context.Context, in billing.NewPayment, by string, now time.Time, k *keyClaim, receipt bool) (p billing.Payment, stored bool, err error) {
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if p, err = postPaymentTx(ctx, tx, in, by, now, nil, 0); err != nil {
			return err
		}
		if err := db.settleTx(ctx, tx, in.AccountID, billing.SettleCause{Kind: billing.CausePayment, PaymentID: p.ID}, by, now); err != nil {
			return err
		}
		if receipt {
			if err := db.queueReceiptTx(ctx, tx, in.AccountID, p.ID, 0, billing.ReceiptStaff, now); err != nil {
				return err
			}
		}
		if k == nil {
			return nil
		}
		keyArgs, err := k.args(p)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, storeKeySQL, keyArgs...)
		return err
	})
	if keyTaken(err) {
		return billing.Payment{}, false, nil
	}
	if err != nil {
		return billing.Payment{}, false, err
	}
	db.paymentPosted(p.Method, p.Currency, p.Amount)
	return p, true, nil
}

// pendingPayment stands, in allocation planning, for a payment not yet
// written: it sorts after every existing payment of the account.
const pendingPayment = math.MaxInt64

// postPaymentTx posts one payment inside tx. The account row is locked
// first, so concurrent payments to one account allocate one after another.
func postPaymentTx(ctx context.Context, tx pgx.Tx, in billing.NewPayment, by string, now time.Time, batchID *int64, batchLine int) (billing.Payment, error) {
	if err := in.Validate(); err != nil {
		return billing.Payment{}, err
	}
	var status billing.AccountStatus
	err := tx.QueryRow(ctx, lockAccountStatusSQL, in.AccountID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Payment{}, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", in.AccountID)
	}
	if err != nil {
		return billing.Payment{}, err
	}
	allocate, warnings := billing.PaymentOnAccount(in.AccountID, status)
	p, err := scanPayment(tx.QueryRow(ctx, insertPaymentSQL, insertPaymentArgs(in, by, now, batchID, batchLine, warnings)...))
	if err != nil || !allocate {
		return withAllocations(p, nil), mapError(err)
	}
	allocs, err := allocateAs(ctx, tx, allocStamp{day: p.ReceivedDate, by: by}, chosenFor(p.ID, in), in.AccountID)
	return withAllocations(p, allocs), err
}

// allocReadSQL reads, for accounts $1, the credits (payments with an
// unallocated part) and the open invoices in one round trip, each ordered by
// account, then payment id or due date. It reads the running totals
// payments.allocated and invoices.paid, which allocWriteSQL and reversals
// keep, so it touches only the account's open items.
const allocReadSQL = `
	(SELECT true, account_id, id, amount - refunded - refund_reserved - allocated, ''
	FROM payments WHERE account_id = ANY($1) AND status = 'posted' AND allocated < amount - refunded - refund_reserved
	ORDER BY account_id, id)
	UNION ALL
	(SELECT false, account_id, id, total - paid, number
	FROM invoices WHERE account_id = ANY($1) AND status = 'open' AND paid < total
	ORDER BY account_id, due_date, id)`

// allocWriteSQL stores allocations ($1 payments, $2 invoices, $3 amounts)
// with their allocation events (effective on $6, or without it when both
// the payment and the invoice existed; by $7), adds them to the payments'
// and invoices' running totals (except for the payments $5, written with
// theirs), and marks the invoices $4 paid.
const allocWriteSQL = `WITH a AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS a(payment_id, invoice_id, amount)
	), ins AS (
		INSERT INTO payment_allocations (payment_id, invoice_id, amount) SELECT * FROM a
		ON CONFLICT (payment_id, invoice_id) DO UPDATE SET amount = payment_allocations.amount + EXCLUDED.amount
	), ev AS (
		INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
		SELECT a.payment_id, a.invoice_id, a.amount, 'applied', coalesce($6::date,
			(SELECT greatest(p.received_date, i.issue_date) FROM payments p, invoices i WHERE p.id = a.payment_id AND i.id = a.invoice_id)), $7
		FROM a
	), pay AS (
		UPDATE payments p SET allocated = p.allocated + s.sum
		FROM (SELECT payment_id, sum(amount)::bigint AS sum FROM a WHERE payment_id <> ALL($5) GROUP BY payment_id) s
		WHERE p.id = s.payment_id
	)
	UPDATE invoices i SET paid = i.paid + s.sum, status = CASE WHEN i.id = ANY($4) THEN 'paid' ELSE i.status END
	FROM (SELECT invoice_id, sum(amount)::bigint AS sum FROM a GROUP BY invoice_id) s WHERE i.id = s.invoice_id`

// openItem is a row of allocReadSQL.
type openItem struct {
	Credit      bool
	Account, ID int64
	Amount      int64
	Number      string
}

// allocate applies the unallocated payment amounts of the given accounts
// to their open invoices, oldest due first, and marks fully paid invoices
// paid: two statements however many accounts. The caller holds the
// accounts' row locks. It returns the allocations it made. Their events
// are effective when both the payment and the invoice existed, by
// "system" (credit applied to new invoices by a billing run).
func allocate(ctx context.Context, tx pgx.Tx, accountIDs ...int64) ([]allocation, error) {
	return allocateAs(ctx, tx, allocStamp{by: "system"}, nil, accountIDs...)
}

// allocStamp dates and signs allocation events: day (zero: when both the
// payment and the invoice existed) and the actor.
type allocStamp struct {
	day billing.Date
	by  string
}

// allocateAs is allocate with the events' stamp and staff's choices
// (applied first; EINVALID naming the field of a bad choice).
func allocateAs(ctx context.Context, tx pgx.Tx, stamp allocStamp, chosen []billing.ChosenPayment, accountIDs ...int64) ([]allocation, error) {
	rows, err := tx.Query(ctx, allocReadSQL, accountIDs)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[openItem])
	if err != nil {
		return nil, err
	}
	out, args, err := planAllocations(items, chosen)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	_, err = tx.Exec(ctx, allocWriteSQL, append(args, []int64{}, pgDate(stamp.day), stamp.by)...)
	return out, err
}

// chosenFor is the choices of payment in, to be written as paymentID (none
// without apply_to).
func chosenFor(paymentID int64, in billing.NewPayment) []billing.ChosenPayment {
	if len(in.ApplyTo) == 0 {
		return nil
	}
	return []billing.ChosenPayment{{PaymentID: paymentID, Field: "apply_to", ApplyTo: in.ApplyTo, BestEffort: in.ApplyToBestEffort}}
}

// planAllocations matches credits to open invoices account by account
// through the core's [billing.PlanChosenAllocations] (staff's choices
// first, then oldest credit to oldest invoice), and returns the
// allocations with the first four arguments of allocWriteSQL. Invoices
// come ordered as allocReadSQL orders them; credits in any order; chosen
// payments must be among the credits. EINVALID names a bad choice.
func planAllocations(items []openItem, chosen []billing.ChosenPayment) ([]allocation, []any, error) {
	credits := map[int64][]billing.OpenCredit{}
	accountOf := map[int64]int64{}
	var invoices []openItem
	for _, o := range items {
		if o.Credit {
			credits[o.Account] = append(credits[o.Account], billing.OpenCredit{PaymentID: o.ID, Amount: o.Amount})
			accountOf[o.ID] = o.Account
		} else {
			invoices = append(invoices, o)
		}
	}
	chosenBy := map[int64][]billing.ChosenPayment{}
	for _, c := range chosen {
		acct := accountOf[c.PaymentID]
		chosenBy[acct] = append(chosenBy[acct], c)
	}
	var out []allocation
	var paid []int64
	planned := map[int64]bool{}
	for start := 0; start < len(invoices); {
		acct := invoices[start].Account
		end := start
		var open []billing.OpenInvoice
		for ; end < len(invoices) && invoices[end].Account == acct; end++ {
			open = append(open, billing.OpenInvoice{InvoiceID: invoices[end].ID, Number: invoices[end].Number, Amount: invoices[end].Amount})
		}
		start = end
		planned[acct] = true
		if len(credits[acct]) == 0 {
			continue
		}
		allocs, full, err := billing.PlanChosenAllocations(credits[acct], open, chosenBy[acct])
		if err != nil {
			return nil, nil, err
		}
		for _, a := range allocs {
			out = append(out, allocation{payment: a.PaymentID, Allocation: a.Allocation})
		}
		paid = append(paid, full...)
	}
	// A choice for an account without open invoices names none of them.
	for acct, cs := range chosenBy {
		if !planned[acct] {
			if _, _, err := billing.PlanChosenAllocations(credits[acct], nil, cs); err != nil {
				return nil, nil, err
			}
		}
	}
	payIDs, invIDs, amounts := make([]int64, len(out)), make([]int64, len(out)), make([]int64, len(out))
	for i, a := range out {
		payIDs[i], invIDs[i], amounts[i] = a.payment, a.InvoiceID, a.Amount
	}
	return out, []any{payIDs, invIDs, amounts, paid}, nil
}

// allocation is one allocation made by allocate, with its payment.
type allocation struct {
	payment int64
	billing.Allocation
}

// Payment returns a payment with its allocations; ENOTFOUND if missing.
func (db *DB) Payment(ctx context.Context, id int64) (billing.Payment, error) {
	p, err := scanPayment(db.Pool.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", id)
	}
	if err != nil {
		return p, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT a.invoice_id, i.number, a.amount FROM payment_allocations a
		JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY i.due_date, i.id`, id)
	if err != nil {
		return p, err
	}
	p.Allocations, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.Allocation])
	if p.Allocations == nil {
		p.Allocations = []billing.Allocation{}
	}
	allocated := int64(0)
	for _, a := range p.Allocations {
		allocated += a.Amount
	}
	if p.Status == billing.PaymentPosted {
		p.Unallocated = p.Amount - p.Refunded - p.RefundReserved - allocated
	}
	return p, err
}

// Payments lists payments (without allocations) in id order.
func (db *DB) Payments(ctx context.Context, accountID, batchID, afterID int64, limit int) ([]billing.Payment, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE ($1 = 0 OR account_id = $1) AND ($2 = 0 OR batch_id = $2) AND id > $3 ORDER BY id LIMIT $4`,
		accountID, batchID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Payment, error) { return scanPayment(r) })
}

// ReversePayment reverses a posted payment (a returned check, a chargeback,
// an entry error) as [billing.PlanReversal] plans it, in one transaction:
// a reversing journal transaction for what was not refunded, an optional
// returned-payment fee, its allocations removed and the invoices it paid
// reopened, then the account's other credit (open credit notes first,
// then payments) applied to them at once, and the
// account's status re-assessed (it never suspends: the next sweep does).
// ENOTFOUND, EINVALID; ECONFLICT if already reversed or a refund is in
// progress.
func (db *DB) ReversePayment(ctx context.Context, id int64, r billing.Reversal, by string, now time.Time) (billing.Payment, error) {
	if err := r.Validate(); err != nil {
		return billing.Payment{}, err
	}
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		return db.reversePaymentTx(ctx, tx, id, r, by, now)
	})
	if err != nil {
		return billing.Payment{}, err
	}
	return db.Payment(ctx, id)
}

// reversePaymentTx is ReversePayment inside tx (which may hold the
// account's lock already).
func (db *DB) reversePaymentTx(ctx context.Context, tx pgx.Tx, id int64, r billing.Reversal, by string, now time.Time) error {
	var accountID int64
	if err := tx.QueryRow(ctx, `SELECT account_id FROM payments WHERE id = $1`, id).Scan(&accountID); errors.Is(err, pgx.ErrNoRows) {
		return billing.Errorf(billing.ENOTFOUND, "payment %d does not exist", id)
	} else if err != nil {
		return err
	}
	var zone string
	if err := tx.QueryRow(ctx, `SELECT t.time_zone FROM accounts a JOIN account_types t ON t.id = a.account_type_id
		WHERE a.id = $1 FOR UPDATE OF a`, accountID).Scan(&zone); err != nil {
		return err
	}
	p, err := scanPayment(tx.QueryRow(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT a.invoice_id, i.number, a.amount FROM payment_allocations a
		JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id = $1 ORDER BY i.due_date, i.id`, id)
	if err != nil {
		return err
	}
	if p.Allocations, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.Allocation]); err != nil {
		return err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return err
	}
	plan, err := billing.PlanReversal(billing.ReversalInput{Payment: p, Reversal: r, Today: billing.DateIn(now, loc), Now: now})
	if err != nil {
		return err
	}
	for _, jt := range plan.Journal {
		jt.Actor = by
		if _, err := postTx(ctx, tx, jt); err != nil {
			return err
		}
	}
	invoices, amounts := make([]int64, len(plan.Unallocate)), make([]int64, len(plan.Unallocate))
	for i, a := range plan.Unallocate {
		invoices[i], amounts[i] = a.InvoiceID, a.Amount
	}
	// The allocations go, and the invoices they paid are open again for
	// what is now unpaid (a paid invoice owes again; a void one stays
	// void).
	// Each allocation taken back is a negative allocation event, dated
	// today.
	today := billing.DateIn(now, loc)
	if _, err := tx.Exec(ctx, `WITH del AS (
			DELETE FROM payment_allocations WHERE payment_id = $1 AND invoice_id = ANY($2) RETURNING invoice_id, amount
		), ev AS (
			INSERT INTO allocation_events (payment_id, invoice_id, amount, kind, effective_date, actor)
			SELECT $1, invoice_id, -amount, 'reversed', $4, $5 FROM del
		)
		UPDATE invoices i SET paid = i.paid - u.amount, status = CASE WHEN i.status = 'paid' THEN 'open' ELSE i.status END
		FROM unnest($2::bigint[], $3::bigint[]) AS u(invoice_id, amount) WHERE i.id = u.invoice_id`, id, invoices, amounts, pgDate(today), by); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE payments SET status = 'reversed', allocated = 0, reversed_at = $2, reversal_reason = $3 WHERE id = $1`,
		id, now, plan.Note); err != nil {
		return err
	}
	// The account's other credit pays what the reversal reopened:
	// its open credit notes first (their credit cannot be refunded; a
	// payment's can), then its payments' unallocated money, as for a
	// new invoice ([billing.PlanCreditNoteAllocations],
	// [billing.PlanChosenAllocations]).
	stamp := allocStamp{day: today, by: by}
	if err := applyCreditNotesAs(ctx, tx, stamp, accountID); err != nil {
		return err
	}
	if _, err := allocateAs(ctx, tx, stamp, nil, accountID); err != nil {
		return err
	}
	return db.settleTx(ctx, tx, accountID, plan.Cause, by, now)
}

func optional(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

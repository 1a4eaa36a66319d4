package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// CreateBatch opens a payment batch with its control figures, if given.
// EINVALID as [billing.NewBatch.Validate] says.
func (db *DB) CreateBatch(ctx context.Context, nb billing.NewBatch, by string, now time.Time) (billing.PaymentBatch, error) {
	if err := nb.Validate(); err != nil {
		return billing.PaymentBatch{}, err
	}
	var id int64
	err := db.Pool.QueryRow(ctx, `INSERT INTO payment_batches (deposit_date, deposit_account, memo, control_count, control_total, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, pgDate(nb.DepositDate), nb.DepositAccount, nb.Memo, nb.ControlCount, nb.ControlTotal, by, now).Scan(&id)
	if err != nil {
		return billing.PaymentBatch{}, err
	}
	return db.Batch(ctx, id)
}

// Batch returns a batch with its lines (resolved to accounts where they
// can be); ENOTFOUND if missing.
func (db *DB) Batch(ctx context.Context, id int64) (billing.PaymentBatch, error) {
	return batchTx(ctx, db.Pool, id, false)
}

func batchTx(ctx context.Context, q querier, id int64, lock bool) (billing.PaymentBatch, error) {
	var b billing.PaymentBatch
	sql := `SELECT id, deposit_date, deposit_account, memo, status, created_by, created_at, posted_by, posted_at, control_count, control_total
		FROM payment_batches WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	err := q.QueryRow(ctx, sql, id).Scan(&b.ID, scanDate(&b.DepositDate), &b.DepositAccount, &b.Memo, &b.Status,
		&b.CreatedBy, &b.CreatedAt, &b.PostedBy, &b.PostedAt, &b.ControlCount, &b.ControlTotal)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, billing.Errorf(billing.ENOTFOUND, "payment batch %d does not exist", id)
	}
	if err != nil {
		return b, err
	}
	rows, err := q.Query(ctx, `SELECT l.line_no, l.account_ref, l.method, l.amount, l.reference, l.payer, l.memo, l.apply_to,
			coalesce(an.id, ae.id, ai.id, 0), coalesce(an.number, ae.number, ai.number, ''), coalesce(an.name, ae.name, ai.name, ''),
			coalesce(an.currency, ae.currency, ai.currency, ''), coalesce(an.status, ae.status, ai.status, '')
		FROM payment_batch_lines l
		LEFT JOIN accounts an ON an.number = l.account_ref
		LEFT JOIN accounts ae ON ae.external_id = l.account_ref
		LEFT JOIN accounts ai ON ai.id = CASE WHEN l.account_ref ~ '^[0-9]{1,18}$' THEN l.account_ref::bigint END
		WHERE l.batch_id = $1 ORDER BY l.line_no`, id)
	if err != nil {
		return b, err
	}
	b.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.BatchLine, error) {
		var l billing.BatchLine
		err := r.Scan(&l.LineNo, &l.Account, &l.Method, &l.Amount, &l.Reference, &l.Payer, &l.Memo, &l.ApplyTo, &l.AccountID, &l.AccountNumber, &l.AccountName, &l.Currency, &l.AccountStatus)
		return l, err
	})
	if b.Lines == nil {
		b.Lines = []billing.BatchLine{}
	}
	b.Tally()
	return b, err
}

// Batches lists batches, newest first.
func (db *DB) Batches(ctx context.Context, status billing.BatchStatus, limit int) ([]billing.PaymentBatch, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT b.id, b.deposit_date, b.deposit_account, b.memo, b.status, b.created_by, b.created_at,
			b.posted_by, b.posted_at, count(l.line_no), coalesce(sum(l.amount), 0), b.control_count, b.control_total
		FROM payment_batches b LEFT JOIN payment_batch_lines l ON l.batch_id = b.id
		WHERE $1 = '' OR b.status = $1 GROUP BY b.id ORDER BY b.id DESC LIMIT $2`, string(status), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.PaymentBatch, error) {
		var b billing.PaymentBatch
		err := r.Scan(&b.ID, scanDate(&b.DepositDate), &b.DepositAccount, &b.Memo, &b.Status, &b.CreatedBy, &b.CreatedAt,
			&b.PostedBy, &b.PostedAt, &b.Count, &b.Total, &b.ControlCount, &b.ControlTotal)
		return b, err
	})
}

// AddBatchLines appends lines to an open batch (ECONFLICT once posted). The
// lines are checked when the batch is validated or posted, not here, so
// staff can enter a whole deposit and fix it afterwards.
func (db *DB) AddBatchLines(ctx context.Context, batchID int64, lines []billing.BatchLine) (billing.PaymentBatch, error) {
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b, err := batchTx(ctx, tx, batchID, true)
		if err != nil {
			return err
		}
		if err := b.CheckChangeable(); err != nil {
			return err
		}
		next := 1
		if n := len(b.Lines); n > 0 {
			next = b.Lines[n-1].LineNo + 1
		}
		rows := make([][]any, len(lines))
		for i, l := range lines {
			l.Normalize()
			rows[i] = []any{batchID, int32(next + i), l.Account, string(l.Method), l.Amount, l.Reference, l.Payer, l.Memo, applyToJSON(l.ApplyTo)}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"payment_batch_lines"},
			[]string{"batch_id", "line_no", "account_ref", "method", "amount", "reference", "payer", "memo", "apply_to"}, pgx.CopyFromRows(rows))
		return mapError(err)
	})
	if err != nil {
		return billing.PaymentBatch{}, err
	}
	return db.Batch(ctx, batchID)
}

// UpdateBatchLine replaces one line of an open batch; RemoveBatchLine
// deletes one. ENOTFOUND for a missing line, ECONFLICT once posted.
func (db *DB) UpdateBatchLine(ctx context.Context, batchID int64, l billing.BatchLine) (billing.PaymentBatch, error) {
	l.Normalize()
	return db.changeLine(ctx, batchID, l.LineNo, `UPDATE payment_batch_lines SET account_ref = $3, method = $4, amount = $5,
		reference = $6, payer = $7, memo = $8, apply_to = $9 WHERE batch_id = $1 AND line_no = $2`,
		l.Account, string(l.Method), l.Amount, l.Reference, l.Payer, l.Memo, applyToJSON(l.ApplyTo))
}

// applyToJSON is a line's chosen invoices as stored (never SQL NULL).
func applyToJSON(a []billing.AllocationChoice) []billing.AllocationChoice {
	if a == nil {
		return []billing.AllocationChoice{}
	}
	return a
}

// RemoveBatchLine deletes one line of an open batch.
func (db *DB) RemoveBatchLine(ctx context.Context, batchID int64, lineNo int) (billing.PaymentBatch, error) {
	return db.changeLine(ctx, batchID, lineNo, `DELETE FROM payment_batch_lines WHERE batch_id = $1 AND line_no = $2`)
}

func (db *DB) changeLine(ctx context.Context, batchID int64, lineNo int, sql string, args ...any) (billing.PaymentBatch, error) {
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b, err := batchTx(ctx, tx, batchID, true)
		if err != nil {
			return err
		}
		if err := b.CheckChangeable(); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sql, append([]any{batchID, lineNo}, args...)...)
		if err != nil {
			return mapError(err)
		}
		if tag.RowsAffected() == 0 {
			return billing.Errorf(billing.ENOTFOUND, "payment batch %d has no line %d", batchID, lineNo)
		}
		return nil
	})
	if err != nil {
		return billing.PaymentBatch{}, err
	}
	return db.Batch(ctx, batchID)
}

// ValidateBatch checks every line as [billing.ValidateBatch] does, with
// the checks already posted to the lines' accounts.
func (db *DB) ValidateBatch(ctx context.Context, batchID int64) (billing.BatchValidation, error) {
	b, err := db.Batch(ctx, batchID)
	if err != nil {
		return billing.BatchValidation{}, err
	}
	return validateBatch(ctx, db.Pool, b)
}

// validateBatch reads the checks posted outside b that b's check lines
// name ([billing.PaymentBatch.CheckLookups]) and validates b.
func validateBatch(ctx context.Context, q querier, b billing.PaymentBatch) (billing.BatchValidation, error) {
	var posted []billing.PostedCheck
	if accounts, refs := b.CheckLookups(); len(refs) > 0 {
		rows, err := q.Query(ctx, `SELECT p.account_id, p.reference, p.id FROM payments p
			JOIN unnest($1::bigint[], $2::text[]) AS c(account_id, reference) ON p.account_id = c.account_id AND p.reference = c.reference
			WHERE p.method = 'check' AND (p.batch_id IS DISTINCT FROM $3)`, accounts, refs, b.ID)
		if err != nil {
			return billing.BatchValidation{}, err
		}
		if posted, err = pgx.CollectRows(rows, pgx.RowToStructByPos[billing.PostedCheck]); err != nil {
			return billing.BatchValidation{}, err
		}
	}
	v := billing.ValidateBatch(b, posted)
	return checkBatchChoices(ctx, q, v, b)
}

// checkBatchChoices reads the open invoices of the accounts whose lines
// chose invoices to pay, and checks those choices
// ([billing.CheckBatchChoices]).
func checkBatchChoices(ctx context.Context, q querier, v billing.BatchValidation, b billing.PaymentBatch) (billing.BatchValidation, error) {
	var accounts []int64
	for _, l := range b.Lines {
		if len(l.ApplyTo) > 0 && l.AccountID != 0 && !slices.Contains(accounts, l.AccountID) {
			accounts = append(accounts, l.AccountID)
		}
	}
	if len(accounts) == 0 {
		return v, nil
	}
	rows, err := q.Query(ctx, allocReadSQL, accounts)
	if err != nil {
		return v, err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[openItem])
	if err != nil {
		return v, err
	}
	open := map[int64][]billing.OpenInvoice{}
	for _, o := range items {
		if !o.Credit {
			open[o.Account] = append(open[o.Account], billing.OpenInvoice{InvoiceID: o.ID, Number: o.Number, Amount: o.Amount})
		}
	}
	return billing.CheckBatchChoices(v, b, open), nil
}

// PostBatch validates an open batch and, if no line has an error, posts
// every payment in one transaction and freezes the batch. A batch with any
// bad line posts nothing: EINVALID naming every bad line; so does one whose
// lines do not add up to its control figures (EINVALID naming both). ECONFLICT
// if it is already posted; EINVALID if it is empty.
func (db *DB) PostBatch(ctx context.Context, batchID int64, by string, now time.Time) (billing.PaymentBatch, error) {
	var posted []billing.Payment
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b, err := batchTx(ctx, tx, batchID, true)
		if err != nil {
			return err
		}
		if err := b.CheckPostable(); err != nil {
			return err
		}
		v, err := validateBatch(ctx, tx, b)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := b.CheckControl(); err != nil {
			return err
		}
		posted = posted[:0]
		if err := db.postBatchPayments(ctx, tx, b, by, now, &posted); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE payment_batches SET status = 'posted', posted_by = $2, posted_at = $3 WHERE id = $1`, batchID, by, now)
		return err
	})
	if err != nil {
		return billing.PaymentBatch{}, err
	}
	for _, p := range posted {
		db.paymentPosted(p.Method, p.Currency, p.Amount)
	}
	return db.Batch(ctx, batchID)
}

// postBatchPayments posts every line of a validated batch with a fixed
// number of statements: the accounts locked in id order and their open
// items read; the journal transactions, their entries and the payments
// (with what each pays already planned) written with COPY; then the
// allocations written in one statement. Each payment's method, currency and
// amount are appended to posted.
func (db *DB) postBatchPayments(ctx context.Context, tx pgx.Tx, b billing.PaymentBatch, by string, now time.Time, posted *[]billing.Payment) error {
	ids := make([]int64, 0, len(b.Lines))
	for _, l := range b.Lines {
		ids = append(ids, l.AccountID)
	}
	rows, err := tx.Query(ctx, `SELECT a.id, a.currency, a.status, coalesce(t.settings->'receipts_for', 'null'::jsonb), a.email
		FROM accounts a JOIN account_types t ON t.id = a.account_type_id
		WHERE a.id = ANY($1) ORDER BY a.id FOR UPDATE OF a`, ids)
	if err != nil {
		return err
	}
	currency := map[int64]billing.Currency{}
	warnings := map[int64][]string{} // by account: how its payments post (billing.PaymentOnAccount)
	unallocated := map[int64]bool{}  // accounts whose payments stay credit
	receipted := map[int64]bool{}    // accounts whose batch payments are e-mailed a receipt
	var settle []int64               // accounts the batch may restore
	var id int64
	var cur billing.Currency
	var status billing.AccountStatus
	var receipts billing.AccountType // only its receipts_for
	var email string
	if _, err := pgx.ForEachRow(rows, []any{&id, &cur, &status, &receipts.ReceiptsFor, &email}, func() error {
		currency[id] = cur
		allocate, w := billing.PaymentOnAccount(id, status)
		warnings[id], unallocated[id] = w, !allocate
		if billing.SettlesOnPayment(status) {
			settle = append(settle, id)
		}
		receipted[id] = receipts.SendsReceipt(billing.ReceiptBatch) && email != ""
		receipts.ReceiptsFor = nil
		return nil
	}); err != nil {
		return err
	}
	accounts := make([]int64, 0, len(currency))
	for acct := range currency {
		accounts = append(accounts, acct)
	}
	slices.Sort(accounts)
	rows, err = tx.Query(ctx, allocReadSQL, accounts)
	if err != nil {
		return err
	}
	items, err := pgx.CollectRows(rows, pgx.RowToStructByPos[openItem])
	if err != nil {
		return err
	}
	// A closed account's invoices take none of the batch's payments.
	items = slices.DeleteFunc(items, func(o openItem) bool { return !o.Credit && unallocated[o.Account] })
	txIDs, err := nextIDs(ctx, tx, "journal_transactions_id_seq", len(b.Lines))
	if err != nil {
		return err
	}
	payIDs, err := nextIDs(ctx, tx, "payments_id_seq", len(b.Lines))
	if err != nil {
		return err
	}
	// The batch's payments are the newest credits, in line order; the
	// invoices staff ticked on a line are paid first.
	var chosen []billing.ChosenPayment
	for i, l := range b.Lines {
		items = append(items, openItem{Credit: true, Account: l.AccountID, ID: payIDs[i], Amount: l.Amount})
		if len(l.ApplyTo) > 0 {
			chosen = append(chosen, billing.ChosenPayment{PaymentID: payIDs[i], Field: fmt.Sprintf("line %d: apply_to", l.LineNo), ApplyTo: l.ApplyTo})
		}
	}
	allocs, allocArgs, err := planAllocations(items, chosen)
	if err != nil {
		return err
	}
	allocated := make(map[int64]int64, len(allocs))
	for _, a := range allocs {
		allocated[a.payment] += a.Amount
	}
	var txRows, entryRows, payRows [][]any
	for i, l := range b.Lines {
		in := billing.NewPayment{AccountID: l.AccountID, Method: l.Method, Amount: l.Amount, Reference: l.Reference,
			Payer: l.Payer, Memo: l.Memo, ReceivedDate: b.DepositDate}
		if err := in.Validate(); err != nil {
			return billing.Errorf(billing.EINVALID, "line %d: %s", l.LineNo, billing.ErrorMessage(err))
		}
		c := currency[l.AccountID]
		memo := string(l.Method) + " payment" + optional(" ", l.Reference)
		jt := billing.PaymentTx(l.AccountID, c, l.Amount, memo, b.DepositDate)
		if err := jt.Validate(); err != nil {
			return err
		}
		txRows = append(txRows, []any{txIDs[i], string(jt.Kind), l.AccountID, string(c), jt.Memo, pgDate(b.DepositDate), now, by})
		for k, e := range jt.Entries {
			entryRows = append(entryRows, []any{txIDs[i], int16(k + 1), l.AccountID, e.Ledger, e.Amount})
		}
		*posted = append(*posted, billing.Payment{Method: l.Method, Currency: c, Amount: l.Amount})
		payRows = append(payRows, []any{payIDs[i], l.AccountID, string(l.Method), l.Amount, string(c), l.Reference, l.Payer,
			pgDate(b.DepositDate), l.Memo, b.ID, int32(l.LineNo), txIDs[i], by, now, allocated[payIDs[i]], nonNil(warnings[l.AccountID])})
	}
	for _, cp := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"journal_transactions", []string{"id", "kind", "account_id", "currency", "memo", "effective_date", "posted_at", "actor"}, txRows},
		{"journal_entries", []string{"tx_id", "entry_no", "account_id", "ledger", "amount"}, entryRows},
		{"payments", []string{"id", "account_id", "method", "amount", "currency", "reference", "payer", "received_date", "memo",
			"batch_id", "batch_line", "journal_tx_id", "posted_by", "posted_at", "allocated", "warnings"}, payRows},
	} {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{cp.table}, cp.cols, pgx.CopyFromRows(cp.rows)); err != nil {
			return mapError(fmt.Errorf("post batch %d: write %s: %w", b.ID, cp.table, err))
		}
	}
	if len(allocs) > 0 {
		if _, err := tx.Exec(ctx, allocWriteSQL, append(allocArgs, payIDs, pgDate(b.DepositDate), by)...); err != nil {
			return err
		}
	}
	for _, acct := range settle {
		if err := db.settleTx(ctx, tx, acct, billing.SettleCause{Kind: billing.CausePayment, BatchID: b.ID}, by, now); err != nil {
			return err
		}
	}
	// Receipts, for the account types that e-mail them for batch entries
	// (not the default), in line order.
	for i, l := range b.Lines {
		if receipted[l.AccountID] {
			if err := db.queueReceiptTx(ctx, tx, l.AccountID, payIDs[i], 0, billing.ReceiptBatch, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// errRollBack ends a transaction whose work is only to be seen, not kept.
var errRollBack = errors.New("roll back")

// ImportBatchFile adds the rows of a parsed batch import file to an open
// batch, all or nothing: each row's account is resolved (number, external
// id or id) and its amount read in the account's currency, the lines are
// appended after the batch's own, and the whole batch is validated. Any
// problem of any row — the file's own (file.Errors), an unknown account, an
// amount the currency cannot hold, a validation error of a new line — is
// reported with the file's line in Errors, and nothing is added; warnings
// (duplicate checks) are reported but do not refuse the file. A dry run
// reports the same and adds nothing.
//
// Errors: ENOTFOUND for a missing batch, ECONFLICT for a posted one,
// EINVALID for a file without rows; problems of the rows are in the result,
// not the error.
func (db *DB) ImportBatchFile(ctx context.Context, batchID int64, file billing.BatchFile, dryRun bool) (billing.BatchImport, error) {
	var res billing.BatchImport
	err := db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b, err := batchTx(ctx, tx, batchID, true)
		if err != nil {
			return err
		}
		// The rows' accounts, resolved as batchTx resolves lines.
		refs := make([]string, len(file.Rows))
		for i, r := range file.Rows {
			refs[i] = r.Account
		}
		rows, err := tx.Query(ctx, `SELECT r.ref, coalesce(an.currency, ae.currency, ai.currency, '')
			FROM unnest($1::text[]) AS r(ref)
			LEFT JOIN accounts an ON an.number = r.ref
			LEFT JOIN accounts ae ON ae.external_id = r.ref
			LEFT JOIN accounts ai ON ai.id = CASE WHEN r.ref ~ '^[0-9]{1,18}$' THEN r.ref::bigint END`, refs)
		if err != nil {
			return err
		}
		currency := map[string]billing.Currency{}
		var ref, cur string
		if _, err := pgx.ForEachRow(rows, []any{&ref, &cur}, func() error {
			currency[ref] = billing.Currency(cur)
			return nil
		}); err != nil {
			return err
		}
		plan, err := billing.PlanBatchImport(b, file, currency, dryRun)
		if err != nil {
			return err
		}
		if len(plan.Lines) > 0 {
			lines := make([][]any, len(plan.Lines))
			for i, l := range plan.Lines {
				lines[i] = []any{batchID, int32(l.LineNo), l.Account, string(l.Method), l.Amount, l.Reference, l.Payer, l.Memo}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payment_batch_lines"},
				[]string{"batch_id", "line_no", "account_ref", "method", "amount", "reference", "payer", "memo"}, pgx.CopyFromRows(lines)); err != nil {
				return mapError(err)
			}
		}
		all, err := batchTx(ctx, tx, batchID, false)
		if err != nil {
			return err
		}
		v, err := validateBatch(ctx, tx, all)
		if err != nil {
			return err
		}
		var keep bool
		if res, keep = plan.Validated(v); !keep {
			return errRollBack
		}
		return nil
	})
	if errors.Is(err, errRollBack) {
		err = nil
	}
	return res, err
}

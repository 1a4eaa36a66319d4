package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// CreateAccount validates and stores a subscriber account, numbering it.
// EINVALID names the bad field (an unknown account type included); an
// account with the same external id is returned as it is, with
// created=false, so imports can be re-run.
func (db *DB) CreateAccount(ctx context.Context, in billing.NewAccount, at time.Time) (a billing.Account, created bool, err error) {
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		a, created, err = CreateAccountTx(ctx, tx, in, at)
		return err
	})
	return a, created, err
}

// CreateAccountTx is [DB.CreateAccount] inside the caller's transaction.
func CreateAccountTx(ctx context.Context, tx pgx.Tx, in billing.NewAccount, at time.Time) (billing.Account, bool, error) {
	if err := in.Validate(); err != nil {
		return billing.Account{}, false, err
	}
	typ, err := scanAccountType(tx.QueryRow(ctx, `SELECT `+accountTypeColumns+` FROM account_types WHERE id = $1`, in.AccountTypeID))
	if errors.Is(err, pgx.ErrNoRows) {
		return billing.Account{}, false, billing.Errorf(billing.EINVALID, "account_type_id %d does not exist", in.AccountTypeID)
	}
	if err != nil {
		return billing.Account{}, false, err
	}
	if err := billing.CheckBillingDayOverride(typ, in.BillingDay); err != nil {
		return billing.Account{}, false, err
	}
	zone := typ.TimeZone
	addr, err := json.Marshal(in.Address)
	if err != nil {
		return billing.Account{}, false, err
	}
	anchor := in.AnchorDate
	if anchor.IsZero() {
		// Today in the account type's zone, not UTC's.
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return billing.Account{}, false, err
		}
		anchor = billing.DateIn(at, loc)
	}
	var ext any
	if in.ExternalID != "" {
		ext = in.ExternalID
	}
	overrides, err := overridesArg(in.Overrides)
	if err != nil {
		return billing.Account{}, false, err
	}
	a, err := scanAccount(tx.QueryRow(ctx, `INSERT INTO accounts (number, external_id, name, email, phone, address,
			account_type_id, currency, tax_jurisdiction, delivery, anchor_date, created_at, locale, company_name,
			overrides, tax_exempt, exemption_certificate, billing_day)
		VALUES ((SELECT 'A-' || lpad(n::text, greatest(6, length(n::text)), '0') FROM nextval('account_number_seq') n), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
			nullif($17::smallint, 0))
		ON CONFLICT (external_id) DO NOTHING
		RETURNING `+accountColumns,
		ext, in.Name, in.Email, in.Phone, addr, in.AccountTypeID, in.Currency, in.TaxJurisdiction, in.Delivery, pgDate(anchor), at, in.Locale,
		in.CompanyName, overrides, in.TaxExempt, in.ExemptionCertificate, in.BillingDay))
	if errors.Is(err, pgx.ErrNoRows) {
		a, err = scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE external_id = $1`, in.ExternalID))
		return a, false, err
	}
	return a, err == nil, mapError(err)
}

// Account returns one account; ENOTFOUND if missing.
func (db *DB) Account(ctx context.Context, id int64) (billing.Account, error) {
	a, err := scanAccount(db.Pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", id)
	}
	return a, err
}

// Accounts lists accounts in id order.
func (db *DB) Accounts(ctx context.Context, f billing.AccountFilter) ([]billing.Account, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE ($1 = 0 OR account_type_id = $1) AND ($2 = '' OR status = $2) AND id > $3
		AND ($4 = '' OR number ILIKE '%' || $4 || '%' OR external_id ILIKE '%' || $4 || '%'
			OR name ILIKE '%' || $4 || '%' OR email ILIKE '%' || $4 || '%')
		ORDER BY id LIMIT $5`, f.AccountTypeID, string(f.Status), f.AfterID, f.Search, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Account, error) { return scanAccount(r) })
}

// CreateCharge validates and stores a one-time charge for the next invoice.
// EINVALID names the bad field; an unknown account is EINVALID too.
func (db *DB) CreateCharge(ctx context.Context, c billing.OneTimeCharge, at time.Time) (billing.OneTimeCharge, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	if _, err := db.Account(ctx, c.AccountID); billing.ErrorCode(err) == billing.ENOTFOUND {
		return c, billing.Errorf(billing.EINVALID, "account_id %d does not exist", c.AccountID)
	} else if err != nil {
		return c, err
	}
	err := db.Pool.QueryRow(ctx, `INSERT INTO one_time_charges (account_id, description, amount, taxable, charge_date, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
		c.AccountID, c.Description, c.Amount, c.Taxable, pgDate(c.ChargeDate), at).Scan(&c.ID, &c.CreatedAt)
	return c, mapError(err)
}

// Charges lists an account's one-time charges, newest first.
func (db *DB) Charges(ctx context.Context, accountID int64) ([]billing.OneTimeCharge, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, account_id, description, amount, taxable, charge_date, invoice_id, created_at
		FROM one_time_charges WHERE account_id = $1 ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.OneTimeCharge, error) {
		var c billing.OneTimeCharge
		err := r.Scan(&c.ID, &c.AccountID, &c.Description, &c.Amount, &c.Taxable, scanDate(&c.ChargeDate), &c.InvoiceID, &c.CreatedAt)
		return c, err
	})
}

// PostCredit credits an account (a goodwill credit or a correction) as one
// journal transaction. EINVALID for a non-positive amount or a missing memo.
func (db *DB) PostCredit(ctx context.Context, accountID, amount int64, memo string, effective billing.Date, actor string, at time.Time) (billing.JournalTx, error) {
	a, err := db.Account(ctx, accountID)
	if err != nil {
		return billing.JournalTx{}, err
	}
	if err := billing.CheckCredit(amount, memo); err != nil {
		return billing.JournalTx{}, err
	}
	jt := billing.CreditTx(accountID, a.Currency, amount, memo, effective)
	jt.PostedAt, jt.Actor = at, actor
	err = db.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		id, err := postTx(ctx, tx, jt)
		jt.ID = id
		if err != nil {
			return err
		}
		// A credit that meets the reactivation rule restores service now.
		return db.settleTx(ctx, tx, accountID, billing.SettleCause{Kind: billing.CauseCredit, CreditID: id}, "", at)
	})
	return jt, err
}

// SetAccountLocale sets an account's own locale (BCP 47, one of
// billing.SupportedLocales; "" inherits the account type's, else the
// company's) and returns the account. EINVALID for an unsupported locale
// (nothing changes); ENOTFOUND for an unknown account.
func (db *DB) SetAccountLocale(ctx context.Context, id int64, locale billing.Locale) (billing.Account, error) {
	l, err := billing.ParseLocale(string(locale))
	if err != nil {
		return billing.Account{}, err
	}
	a, err := scanAccount(db.Pool.QueryRow(ctx, `UPDATE accounts SET locale = $2 WHERE id = $1 RETURNING `+accountColumns, id, l))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, billing.Errorf(billing.ENOTFOUND, "account %d does not exist", id)
	}
	return a, err
}

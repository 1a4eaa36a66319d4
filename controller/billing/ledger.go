package billing

import (
	"slices"
	"strconv"
	"time"
)

// Ledger accounts (the chart of accounts). Entries on accounts_receivable
// are per subscriber account: their sum is what the account owes.
const (
	LedgerReceivable = "accounts_receivable"
	LedgerRevenue    = "service_revenue"
	LedgerFeeRevenue = "fee_revenue"
	LedgerTaxPayable = "tax_payable"
	LedgerCash       = "undeposited_funds"
	LedgerCredits    = "credits_and_adjustments"
	LedgerBadDebt    = "bad_debt"
)

// Ledgers lists the ledger accounts in chart order.
func Ledgers() []string {
	return []string{LedgerReceivable, LedgerRevenue, LedgerFeeRevenue, LedgerTaxPayable, LedgerCash, LedgerCredits, LedgerBadDebt}
}

// TxKind is the business event a journal transaction records.
type TxKind string

// Transaction kinds.
const (
	TxInvoiceIssued   TxKind = "invoice_issued"
	TxInvoiceVoided   TxKind = "invoice_voided"
	TxPaymentPosted   TxKind = "payment_posted"
	TxPaymentReversed TxKind = "payment_reversed"
	TxRefund          TxKind = "refund"
	TxCredit          TxKind = "credit"
	TxFee             TxKind = "fee"
	TxWriteOff        TxKind = "write_off"
)

// Valid reports whether k is a known kind.
func (k TxKind) Valid() bool {
	switch k {
	case TxInvoiceIssued, TxInvoiceVoided, TxPaymentPosted, TxPaymentReversed, TxRefund, TxCredit, TxFee, TxWriteOff:
		return true
	}
	return false
}

// Entry is one line of a journal transaction: a debit (Amount > 0) or a
// credit (Amount < 0) to a ledger, in minor units.
type Entry struct {
	Ledger string `json:"ledger"`
	Amount int64  `json:"amount"`
}

// JournalTx is one business event in the double-entry ledger. It is
// immutable once posted: corrections are new, reversing transactions.
type JournalTx struct {
	ID        int64  `json:"id"`
	Kind      TxKind `json:"kind"`
	AccountID int64  `json:"account_id"`
	InvoiceID *int64 `json:"invoice_id,omitempty"`
	Memo      string `json:"memo"`
	// EffectiveDate is the business date of the event.
	EffectiveDate Date `json:"effective_date"`
	// PostedAt is when it was recorded (set by the caller's clock).
	PostedAt time.Time `json:"posted_at"`
	// Actor is who posted it: "user:<login>", a service token's name as
	// user:<name>, or a system actor ("billing-run:42", "sweep:7",
	// "autopay", "gateway:stripe"); "" when not recorded (older rows).
	Actor    string   `json:"actor,omitempty"`
	Currency Currency `json:"currency"`
	Entries  []Entry  `json:"entries"`
}

// Validate checks that the transaction can be posted.
//
// Errors (EINVALID): an unknown kind or currency; fewer than two entries; an
// entry of amount 0 or to an unknown ledger; amounts whose sums overflow;
// entries that do not sum to zero ("journal transaction does not balance:
// debits 100.00, credits 99.99"); receivable entries that move the balance
// the wrong way for the kind (payments, credits and write-offs must lower
// it; reversals, refunds and fees raise it).
func (tx JournalTx) Validate() error {
	if !tx.Kind.Valid() {
		return Errorf(EINVALID, "journal transaction kind %q is not a known kind", tx.Kind)
	}
	if _, ok := minorUnits[tx.Currency]; !ok {
		return Errorf(EINVALID, "journal transaction currency %q is not a supported ISO 4217 code", tx.Currency)
	}
	if len(tx.Entries) < 2 {
		return Errorf(EINVALID, "journal transaction has %d entries; it needs at least 2", len(tx.Entries))
	}
	var debits, credits int64
	overflow := false
	for i, e := range tx.Entries {
		if !slices.Contains(Ledgers(), e.Ledger) {
			return Errorf(EINVALID, "journal transaction entry %d: ledger %q is not a known ledger", i+1, e.Ledger)
		}
		switch {
		case e.Amount == 0:
			return Errorf(EINVALID, "journal transaction entry %d (%s) has amount 0", i+1, e.Ledger)
		case e.Amount > 0:
			debits, overflow = addOverflow(debits, e.Amount, overflow)
		default:
			if e.Amount == -e.Amount { // math.MinInt64 has no positive counterpart
				overflow = true
			}
			credits, overflow = addOverflow(credits, -e.Amount, overflow)
		}
	}
	if overflow {
		return Errorf(EINVALID, "journal transaction amounts overflow")
	}
	if debits != credits {
		return Errorf(EINVALID, "journal transaction does not balance: debits %s, credits %s",
			FormatAmount(debits, tx.Currency), FormatAmount(credits, tx.Currency))
	}
	if want := receivableDirection[tx.Kind]; want != 0 {
		ar := ReceivableBalance([]JournalTx{tx})
		if ar == 0 || (ar > 0) != (want > 0) {
			verb := map[bool]string{true: "raise", false: "lower"}[want > 0]
			return Errorf(EINVALID, "a %s transaction must %s the account's receivable balance; its accounts_receivable entries sum to %s",
				tx.Kind, verb, FormatAmount(ar, tx.Currency))
		}
	}
	return nil
}

// receivableDirection is the sign a kind's receivable entries must sum to
// (0: either; invoices may carry credits, voids reverse them).
var receivableDirection = map[TxKind]int{
	TxPaymentPosted: -1, TxCredit: -1, TxWriteOff: -1,
	TxPaymentReversed: +1, TxRefund: +1, TxFee: +1,
}

// InvoiceTx is the journal transaction that issues an invoice, effective on
// its issue date: a debit to accounts_receivable of the sum of its lines,
// and credits to service_revenue (recurring and one-time lines, and lines
// of any other kind), fee_revenue (fees) and tax_payable (taxes); credit
// lines (negative) debit credits_and_adjustments. Entries are aggregated per
// ledger and zero aggregates are left out.
//
// The entries always sum to zero: the receivable is computed from the lines,
// so an invoice whose Total disagrees with its lines is posted at the lines'
// sum. An invoice whose lines are all zero gives no entries (and does not
// validate: there is nothing to post).
func InvoiceTx(inv Invoice) JournalTx {
	var ar, revenue, fees, credits, tax int64
	for _, l := range inv.Lines {
		ar += l.Amount
		switch l.Kind {
		case LineFee:
			fees -= l.Amount
		case LineTax:
			tax -= l.Amount
		case LineCredit:
			credits -= l.Amount
		default:
			revenue -= l.Amount
		}
	}
	return JournalTx{
		Kind:          TxInvoiceIssued,
		AccountID:     inv.AccountID,
		InvoiceID:     invoiceIDRef(inv),
		Memo:          "invoice " + invoiceLabel(inv),
		EffectiveDate: inv.IssueDate,
		Currency:      inv.Currency,
		Entries: entries(
			Entry{LedgerReceivable, ar},
			Entry{LedgerRevenue, revenue},
			Entry{LedgerFeeRevenue, fees},
			Entry{LedgerCredits, credits},
			Entry{LedgerTaxPayable, tax},
		),
	}
}

// VoidTx is the exact reversal of [InvoiceTx] for inv, effective on the
// given date: the same entries with their signs flipped.
func VoidTx(inv Invoice, effective Date) JournalTx {
	tx := InvoiceTx(inv)
	tx.Kind = TxInvoiceVoided
	tx.Memo = "void of invoice " + invoiceLabel(inv)
	tx.EffectiveDate = effective
	for i := range tx.Entries {
		tx.Entries[i].Amount = -tx.Entries[i].Amount
	}
	return tx
}

// CheckCredit checks a credit staff post to an account: a positive amount
// (minor units) and a memo saying why. Error: EINVALID naming the field.
func CheckCredit(amount int64, memo string) error {
	if amount <= 0 {
		return Errorf(EINVALID, "amount %d must be positive (minor units)", amount)
	}
	if memo == "" {
		return Errorf(EINVALID, "memo is required: say why the account is credited")
	}
	return nil
}

// CreditTx credits an account amount (> 0; a goodwill credit or a
// correction): debit credits_and_adjustments, credit accounts_receivable.
//
// These constructors do not check amount: a non-positive amount gives a
// transaction that fails [JournalTx.Validate].
func CreditTx(accountID int64, c Currency, amount int64, memo string, effective Date) JournalTx {
	return simpleTx(TxCredit, accountID, c, memo, effective, LedgerCredits, amount)
}

// PaymentTx records a payment received (amount > 0): debit
// undeposited_funds, credit accounts_receivable.
func PaymentTx(accountID int64, c Currency, amount int64, memo string, effective Date) JournalTx {
	return simpleTx(TxPaymentPosted, accountID, c, memo, effective, LedgerCash, amount)
}

// PaymentReversalTx reverses a payment (NSF check, chargeback; amount > 0):
// debit accounts_receivable, credit undeposited_funds.
func PaymentReversalTx(accountID int64, c Currency, amount int64, memo string, effective Date) JournalTx {
	return simpleTx(TxPaymentReversed, accountID, c, memo, effective, LedgerCash, -amount)
}

// RefundTx pays money back to the subscriber (amount > 0), out of a credit
// balance: debit accounts_receivable, credit undeposited_funds.
func RefundTx(accountID int64, c Currency, amount int64, memo string, effective Date) JournalTx {
	return simpleTx(TxRefund, accountID, c, memo, effective, LedgerCash, -amount)
}

// FeeTx charges a fee (late fee, reconnection fee; amount > 0): debit
// accounts_receivable, credit fee_revenue.
func FeeTx(accountID int64, c Currency, amount int64, memo string, effective Date) JournalTx {
	return simpleTx(TxFee, accountID, c, memo, effective, LedgerFeeRevenue, -amount)
}

// WriteOffTx writes off an uncollectable balance (amount > 0): debit
// bad_debt, credit accounts_receivable.
func WriteOffTx(accountID int64, c Currency, amount int64, memo string, effective Date) JournalTx {
	return simpleTx(TxWriteOff, accountID, c, memo, effective, LedgerBadDebt, amount)
}

// simpleTx is a two-entry transaction: amount on other, its negation on
// accounts_receivable.
func simpleTx(kind TxKind, accountID int64, c Currency, memo string, effective Date, other string, amount int64) JournalTx {
	return JournalTx{
		Kind:          kind,
		AccountID:     accountID,
		Memo:          memo,
		EffectiveDate: effective,
		Currency:      c,
		Entries:       []Entry{{other, amount}, {LedgerReceivable, -amount}},
	}
}

// ReceivableBalance is the sum of the accounts_receivable entries of txs:
// the balance of the account they belong to (positive = the subscriber
// owes, negative = credit). Pass one account's transactions.
func ReceivableBalance(txs []JournalTx) int64 {
	var b int64
	for _, tx := range txs {
		for _, e := range tx.Entries {
			if e.Ledger == LedgerReceivable {
				b += e.Amount
			}
		}
	}
	return b
}

// entries drops zero entries.
func entries(es ...Entry) []Entry {
	return slices.DeleteFunc(es, func(e Entry) bool { return e.Amount == 0 })
}

func invoiceIDRef(inv Invoice) *int64 {
	if inv.ID == 0 {
		return nil
	}
	id := inv.ID
	return &id
}

// invoiceLabel names an invoice in memos: "INV-0000042 (2026-01-01 to
// 2026-01-31)".
func invoiceLabel(inv Invoice) string {
	n := inv.Number
	if n == "" {
		n = "for account " + strconv.FormatInt(inv.AccountID, 10)
	}
	return n + " (" + inv.Period.String() + ")"
}

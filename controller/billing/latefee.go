package billing

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// LateFeeAmount is the late fee (minor units) on an invoice with the given
// open amount: the flat amount, or the percent of open rounded half-even to
// the minor unit; 0 for kind none, an open amount <= 0, or settings that
// did not pass [AccountType.Validate].
func LateFeeAmount(f LateFee, open int64) int64 {
	if open <= 0 {
		return 0
	}
	switch f.Kind {
	case LateFeeFlat:
		return max(f.Amount, 0)
	case LateFeePercent:
		p, err := parseRate(f.Percent)
		if err != nil || !p.IsPositive() {
			return 0
		}
		return decimal.NewFromInt(open).Mul(p).Shift(-2).RoundBank(0).IntPart()
	}
	return 0
}

// LateFeeCutoff is the due date before which an open invoice of type t is
// charged its late fee on date (due date + the fee's days before date);
// false when t charges no late fee.
func LateFeeCutoff(t AccountType, date Date) (Date, bool) {
	if t.LateFee.Kind == LateFeeNone || t.LateFee.Kind == "" {
		return Date{}, false
	}
	return date.AddDays(-t.LateFee.AfterDays), true
}

// LateFeeInvoice is an open invoice due before the late-fee cutoff that
// has no late fee yet.
type LateFeeInvoice struct {
	ID, AccountID int64
	Number        string
	Currency      Currency
	Total         int64
	// Overrides are the account's own billing settings: an account whose
	// late_fee override is false is charged none.
	Overrides AccountOverrides
}

// PlanLateFees is the late fee of each of invs ([LateFeeAmount] of its
// total), effective on date and posted at now, in invs' order; an invoice
// whose fee comes to nothing gets none, nor does one of an account whose
// overrides turn late fees off ([EffectiveType]). Each fee names its invoice (one
// late fee per invoice).
func PlanLateFees(t AccountType, date Date, now time.Time, invs []LateFeeInvoice) []JournalTx {
	var out []JournalTx
	types := NewEffectiveTypes(t)
	for _, inv := range invs {
		fee := LateFeeAmount(types.Of(inv.Overrides).LateFee, inv.Total)
		if fee <= 0 {
			continue
		}
		id := inv.ID
		out = append(out, JournalTx{Kind: TxFee, AccountID: inv.AccountID, InvoiceID: &id, Currency: inv.Currency,
			Memo: fmt.Sprintf("late fee on %s", inv.Number), EffectiveDate: date, PostedAt: now,
			Entries: []Entry{{Ledger: LedgerReceivable, Amount: fee}, {Ledger: LedgerFeeRevenue, Amount: -fee}}})
	}
	return out
}

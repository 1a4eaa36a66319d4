package billing

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestPlanReversal: a reversal reverses what was not refunded, charges the
// returned-payment fee, removes every allocation and settles with the
// reversal as its cause; a reversed payment, one with a refund in
// progress and a bad reversal are refused.
func TestPlanReversal(t *testing.T) {
	now := time.Date(2026, 12, 28, 15, 0, 0, 0, time.UTC)
	paid := Payment{ID: 12, AccountID: 4, Currency: "USD", Method: PayCheck, Amount: 5000, Status: PaymentPosted,
		Allocations: []Allocation{{InvoiceID: 1, InvoiceNumber: "INV-1", Amount: 3000}, {InvoiceID: 2, InvoiceNumber: "INV-2", Amount: 2000}}}
	for _, tc := range []struct {
		name     string
		payment  func(Payment) Payment
		reversal Reversal
		// journal is the receivable amounts of the planned transactions.
		journal []int64
		kinds   []TxKind
		note    string
		code    Code
		pending bool
	}{
		{name: "NSF check with a fee", reversal: Reversal{Reason: ReverseNSF, Fee: 1500},
			journal: []int64{5000, 1500}, kinds: []TxKind{TxPaymentReversed, TxFee}, note: "nsf"},
		{name: "chargeback with a memo", reversal: Reversal{Reason: ReverseChargeback, Memo: "disputed"},
			journal: []int64{5000}, kinds: []TxKind{TxPaymentReversed}, note: "chargeback: disputed"},
		{name: "partly refunded: reverses the rest", payment: func(p Payment) Payment { p.Refunded = 1000; return p },
			reversal: Reversal{Reason: ReverseError}, journal: []int64{4000}, kinds: []TxKind{TxPaymentReversed}, note: "entry_error"},
		{name: "all refunded: only the fee", payment: func(p Payment) Payment { p.Refunded = 5000; return p },
			reversal: Reversal{Reason: ReverseNSF, Fee: 2500}, journal: []int64{2500}, kinds: []TxKind{TxFee}, note: "nsf"},
		{name: "already reversed", payment: func(p Payment) Payment { p.Status = PaymentReversed; return p },
			reversal: Reversal{Reason: ReverseNSF}, code: ECONFLICT},
		{name: "refund in progress", payment: func(p Payment) Payment { p.RefundReserved = 100; return p },
			reversal: Reversal{Reason: ReverseNSF}, code: ECONFLICT, pending: true},
		{name: "unknown reason", reversal: Reversal{Reason: "bounced"}, code: EINVALID},
		{name: "negative fee", reversal: Reversal{Reason: ReverseNSF, Fee: -1}, code: EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := paid
			if tc.payment != nil {
				p = tc.payment(p)
			}
			plan, err := PlanReversal(ReversalInput{Payment: p, Reversal: tc.reversal, Today: mustDate("2026-12-28"), Now: now})
			if tc.code != "" {
				if ErrorCode(err) != tc.code || errors.Is(err, ErrRefundPending) != tc.pending {
					t.Fatalf("error %v, want %s (refund pending %v)", err, tc.code, tc.pending)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var amounts []int64
			var kinds []TxKind
			for _, jt := range plan.Journal {
				if jt.Validate() != nil || jt.AccountID != 4 || jt.EffectiveDate != mustDate("2026-12-28") || !jt.PostedAt.Equal(now) {
					t.Errorf("journal transaction %+v", jt)
				}
				amounts, kinds = append(amounts, ReceivableBalance([]JournalTx{jt})), append(kinds, jt.Kind)
			}
			if !slices.Equal(amounts, tc.journal) || !slices.Equal(kinds, tc.kinds) {
				t.Errorf("journal %v %v, want %v %v", kinds, amounts, tc.kinds, tc.journal)
			}
			if !slices.Equal(plan.Unallocate, p.Allocations) {
				t.Errorf("unallocates %+v, want every allocation %+v", plan.Unallocate, p.Allocations)
			}
			if plan.Note != tc.note || plan.Cause != (SettleCause{Kind: CauseReversal, PaymentID: 12}) {
				t.Errorf("note %q, cause %+v", plan.Note, plan.Cause)
			}
		})
	}
}

package billing

import (
	"errors"
	"fmt"
	"time"
)

// ErrRefundPending is matched (errors.Is) by errors that refuse something
// because a refund of the payment is in progress.
var ErrRefundPending = errors.New("a refund is in progress")

// refundPendingError is ECONFLICT and ErrRefundPending.
type refundPendingError struct{ err *Error }

func (e refundPendingError) Error() string   { return e.err.Error() }
func (e refundPendingError) Unwrap() []error { return []error{e.err, ErrRefundPending} }

// RefundInProgress is the error refusing a change to a payment while a
// refund of reserved of it is in progress: ECONFLICT, and ErrRefundPending
// (errors.Is).
func RefundInProgress(paymentID, reserved int64) error {
	return refundPendingError{Errorf(ECONFLICT,
		"payment %d has a refund of %d in progress; try again once it is settled", paymentID, reserved)}
}

// ReversalInput is what a reversal plan is computed from.
type ReversalInput struct {
	// Payment is the payment to reverse, with its Allocations.
	Payment  Payment
	Reversal Reversal
	// Today is the local date of the account's type: the journal's
	// effective date. Now stamps the journal's posting time.
	Today Date
	Now   time.Time
}

// ReversalPlan is what reversing a payment does. The store applies it in
// one transaction under the account's and the payment's locks: Journal,
// then Unallocate (each invoice open again for what is now unpaid), the
// payment marked reversed with Note, then the account's other credit
// applied to what is open again — its open credit notes first
// ([PlanCreditNoteAllocations]), then its payments' unallocated money
// ([PlanAllocations]), both dated today — and the account settled with Cause
// ([PlanSettlement]), which never suspends: the next sweep does.
type ReversalPlan struct {
	// Journal is the reversing transaction of what was not refunded (none
	// when all of it was), then the returned-payment fee, if any.
	Journal []JournalTx
	// Unallocate are the payment's allocations, all removed.
	Unallocate []Allocation
	// Note is why the payment was reversed, as the payment records it.
	Note  string
	Cause SettleCause
}

// PlanReversal plans the reversal of a posted payment (a returned check, a
// chargeback, an entry error). Errors: EINVALID for a bad reversal;
// ECONFLICT when the payment is already reversed, or has a refund in
// progress ([RefundInProgress]).
func PlanReversal(in ReversalInput) (ReversalPlan, error) {
	p, r := in.Payment, in.Reversal
	if err := r.Validate(); err != nil {
		return ReversalPlan{}, err
	}
	if p.Status != PaymentPosted {
		return ReversalPlan{}, Errorf(ECONFLICT, "payment %d is already %s", p.ID, p.Status)
	}
	if p.RefundReserved > 0 {
		return ReversalPlan{}, RefundInProgress(p.ID, p.RefundReserved)
	}
	memo := fmt.Sprintf("payment %d reversed (%s)", p.ID, r.Reason)
	plan := ReversalPlan{Unallocate: append([]Allocation{}, p.Allocations...), Note: string(r.Reason),
		Cause: SettleCause{Kind: CauseReversal, PaymentID: p.ID}}
	if r.Memo != "" {
		memo += ": " + r.Memo
		plan.Note += ": " + r.Memo
	}
	if amount := p.Amount - p.Refunded; amount > 0 {
		jt := PaymentReversalTx(p.AccountID, p.Currency, amount, memo, in.Today)
		jt.PostedAt = in.Now
		plan.Journal = append(plan.Journal, jt)
	}
	if r.Fee > 0 {
		jt := FeeTx(p.AccountID, p.Currency, r.Fee, fmt.Sprintf("returned payment fee (payment %d)", p.ID), in.Today)
		jt.PostedAt = in.Now
		plan.Journal = append(plan.Journal, jt)
	}
	for _, jt := range plan.Journal {
		if err := jt.Validate(); err != nil {
			return ReversalPlan{}, err
		}
	}
	return plan, nil
}

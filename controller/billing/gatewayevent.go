package billing

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file decides what a payment gateway's asynchronous news about a
// charge (its webhook events, or what the lost-webhook job retrieves) does
// to the charge attempt, its payment and the ledger: [PlanGatewayEvent].
// The store reads the attempt and the payment of the charge under their
// locks and applies the plan in one transaction.

// GatewayEventKind is what a gateway reports about a charge, in Tollgate's
// words (the gateway's event names are mapped by controller/payments).
type GatewayEventKind string

// Gateway event kinds.
const (
	// GatewayProcessing: the gateway accepted the payment and settles it
	// later (an ACH debit; Stripe's payment_intent.processing).
	GatewayProcessing GatewayEventKind = "processing"
	// GatewaySucceeded: the money is taken (payment_intent.succeeded,
	// charge.succeeded).
	GatewaySucceeded GatewayEventKind = "succeeded"
	// GatewayFailed: this try of the payment failed
	// (payment_intent.payment_failed); the intent may be retried and
	// succeed later.
	GatewayFailed GatewayEventKind = "failed"
	// GatewayReturned: the charge failed (charge.failed): before it
	// settled, a decline; after, an ACH return (Reason: the return code,
	// "R01").
	GatewayReturned GatewayEventKind = "returned"
	// GatewayDisputed: the payer disputed the charge (a chargeback).
	GatewayDisputed GatewayEventKind = "disputed"
	// GatewayDisputeWon: a dispute closed in the merchant's favour: the
	// money comes back.
	GatewayDisputeWon GatewayEventKind = "dispute_won"
	// GatewayDisputeLost: a dispute closed in the payer's favour (the
	// reversal stands).
	GatewayDisputeLost GatewayEventKind = "dispute_lost"
	// GatewayRefunded: money of the charge was refunded (Refunds, Amount
	// the total refunded at the gateway).
	GatewayRefunded GatewayEventKind = "refunded"
)

// GatewayRefund is one refund of a charge as the gateway lists it.
type GatewayRefund struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	// TollgateRefundID is the refund's tollgate_refund_id metadata: set
	// for refunds Tollgate made, empty for refunds made in the gateway's
	// dashboard.
	TollgateRefundID string `json:"tollgate_refund_id,omitempty"`
	// Settled: the refund's money is on its way back (succeeded or
	// pending at the gateway).
	Settled bool `json:"settled"`
}

// GatewayEvent is one piece of news about a charge.
type GatewayEvent struct {
	Kind GatewayEventKind
	// At is when the gateway created the event (ordering across
	// deliveries, which may come out of order).
	At time.Time
	// Reason is the failure or return code ("insufficient_funds", "R01"),
	// Message the gateway's words for it.
	Reason, Message string
	// Amount: for refunded, the total refunded at the gateway.
	Amount int64
	// Refunds: for refunded, the charge's refunds when the event lists
	// them (nil when it does not: Amount decides then).
	Refunds []GatewayRefund
}

// GatewayCharge is what Tollgate has of a charge when news of it arrives.
type GatewayCharge struct {
	// Attempt is the charge attempt (ID 0: none is known).
	Attempt PaymentAttempt
	// SettledAt is when the gateway created the event that settled the
	// attempt (zero when the gateway's answer to the charge call did).
	SettledAt time.Time
	// Payment is the charge's latest payment (nil: none), with its
	// Allocations and Allocated total.
	Payment   *Payment
	Allocated int64
	// RecordedRefunds are the gateway ids of the charge's refunds already
	// on the ledger (Tollgate's own and dashboard ones recorded before).
	RecordedRefunds []string
}

// GatewayAction is what a plan does.
type GatewayAction string

// Gateway actions.
const (
	GatewayNothing GatewayAction = "nothing"
	// GatewayMarkProcessing: the attempt becomes processing (a pending
	// payment: not journaled, not allocated).
	GatewayMarkProcessing GatewayAction = "mark_processing"
	// GatewayPost: the attempt succeeded; its payment is posted and
	// allocated, and the account settled (restored when paid).
	GatewayPost GatewayAction = "post"
	// GatewayFail: the attempt failed; nothing was posted.
	GatewayFail GatewayAction = "fail"
	// GatewayReverse: the posted payment is reversed (Reversal), like a
	// returned check.
	GatewayReverse GatewayAction = "reverse"
	// GatewayRepost: a reversed payment's money came back (dispute won): a
	// new payment of RepostAmount for the same charge is posted.
	GatewayRepost GatewayAction = "repost"
	// GatewayRefund: refunds made at the gateway are recorded on the
	// ledger (Refunds; Unallocate first frees what they take back from
	// invoices).
	GatewayRefundAction GatewayAction = "refund"
)

// GatewayPlan is what a gateway event does.
type GatewayPlan struct {
	Action GatewayAction `json:"action"`
	// Why says in words why (for logs and the webhook's answer).
	Why string `json:"why"`
	// AttemptStatus is the attempt's new status (mark_processing,
	// post, fail), with FailureCode and FailureMessage for fail.
	AttemptStatus  string `json:"attempt_status,omitempty"`
	FailureCode    string `json:"failure_code,omitempty"`
	FailureMessage string `json:"failure_message,omitempty"`
	// Reversal is the reversal (reverse).
	Reversal *Reversal `json:"reversal,omitempty"`
	// RepostAmount is the amount posted again (repost).
	RepostAmount int64 `json:"repost_amount,omitempty"`
	// Refunds are the refunds to record (refund), Unallocate the payment's
	// allocations (amounts) to take back first, newest invoices first.
	Refunds    []GatewayRefund `json:"refunds,omitempty"`
	Unallocate []Allocation    `json:"unallocate,omitempty"`
}

func nothing(why string, args ...any) GatewayPlan {
	return GatewayPlan{Action: GatewayNothing, Why: fmt.Sprintf(why, args...)}
}

// PlanGatewayEvent decides what ev does to charge c. Deliveries come at
// least once and in any order, so every decision is made from the state
// the charge is in, and an event that no longer fits it does nothing:
//
//   - processing: a pending attempt becomes processing; anything else
//     (already processing, succeeded or failed) is left as it is.
//   - succeeded: an attempt not yet succeeded (pending, processing, or
//     failed or refused before — the intent was retried) succeeds and its
//     payment is posted; a succeeded one is left, and so is a failed one
//     whose failure is newer than the success (a return delivered first).
//   - failed: a pending or processing attempt fails; a succeeded one is
//     left (the failure was of an earlier try; a settled debit's return
//     comes as returned).
//   - returned: an unsettled attempt fails with the code as reason; a
//     succeeded one whose payment is posted is reversed as NSF ("ACH
//     return R01"), unless the event is older than the success (an earlier
//     try's failure delivered late).
//   - disputed: a posted payment is reversed as a chargeback.
//   - dispute_won: a payment reversed as a chargeback is posted again.
//   - refunded: refunds made in the gateway's dashboard (no
//     tollgate_refund_id, settled, not yet recorded) are recorded as ledger
//     refunds of the posted payment; without a list of refunds, whatever
//     the gateway's refunded total exceeds what Tollgate has refunded and
//     reserved.
//
// A charge Tollgate does not know (no attempt, no payment) is left alone.
func PlanGatewayEvent(c GatewayCharge, ev GatewayEvent) GatewayPlan {
	a, p := c.Attempt, c.Payment
	if a.ID == 0 && p == nil {
		return nothing("no charge attempt or payment of this charge is known")
	}
	switch ev.Kind {
	case GatewayProcessing:
		if a.Status == "pending" {
			return GatewayPlan{Action: GatewayMarkProcessing, AttemptStatus: "processing", Why: "the payment is pending at the gateway"}
		}
		return nothing("the attempt is already %s", a.Status)
	case GatewaySucceeded:
		if a.ID == 0 {
			return nothing("the charge has no attempt to settle")
		}
		if a.Status == "succeeded" {
			return nothing("the attempt already succeeded")
		}
		if a.Status == "failed" && !c.SettledAt.IsZero() && !ev.At.After(c.SettledAt) {
			// Delivered after the failure it preceded (an ACH debit that
			// succeeded and was then returned): the failure stands.
			return nothing("the success is older than the failure that settled the attempt")
		}
		return GatewayPlan{Action: GatewayPost, AttemptStatus: "succeeded", Why: "the payment succeeded: posted"}
	case GatewayFailed, GatewayReturned:
		if a.ID != 0 && a.Unsettled() {
			code := orElse(ev.Reason, "payment_failed")
			msg := orElse(ev.Message, "the payment failed")
			if ev.Kind == GatewayReturned && ev.Message == "" {
				msg = "the bank returned the payment" + optionalReason(ev.Reason)
			}
			return GatewayPlan{Action: GatewayFail, AttemptStatus: "failed", FailureCode: code, FailureMessage: msg, Why: "the payment failed"}
		}
		if ev.Kind == GatewayFailed {
			return nothing("a failed try of a payment whose attempt is %s", orElse(a.Status, "unknown"))
		}
		if p == nil || p.Status != PaymentPosted {
			return nothing("no posted payment to reverse")
		}
		if !c.SettledAt.IsZero() && !ev.At.After(c.SettledAt) {
			return nothing("the failure is older than the success")
		}
		memo := "ACH return"
		if ev.Reason != "" {
			memo += " " + ev.Reason
		}
		return GatewayPlan{Action: GatewayReverse, Reversal: &Reversal{Reason: ReverseNSF, Memo: memo}, Why: "the bank returned the payment: reversed"}
	case GatewayDisputed:
		if p == nil || p.Status != PaymentPosted {
			return nothing("no posted payment to reverse")
		}
		return GatewayPlan{Action: GatewayReverse, Reversal: &Reversal{Reason: ReverseChargeback, Memo: "dispute"}, Why: "disputed: reversed"}
	case GatewayDisputeWon:
		if p == nil || p.Status != PaymentReversed || !strings.HasPrefix(p.ReversalNote, string(ReverseChargeback)) {
			return nothing("no payment reversed by a chargeback")
		}
		if amount := p.Amount - p.Refunded; amount > 0 {
			return GatewayPlan{Action: GatewayRepost, RepostAmount: amount, Why: "dispute won: posted again"}
		}
		return nothing("nothing of the payment is left to post again")
	case GatewayDisputeLost:
		return nothing("dispute lost: the reversal stands")
	case GatewayRefunded:
		return planGatewayRefunds(c, ev)
	}
	return nothing("event %q is not acted on", ev.Kind)
}

func orElse(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// planGatewayRefunds plans the ledger refunds of refunds made at the
// gateway by someone other than Tollgate.
func planGatewayRefunds(c GatewayCharge, ev GatewayEvent) GatewayPlan {
	p := c.Payment
	if p == nil || p.Status != PaymentPosted {
		return nothing("no posted payment to refund")
	}
	left := p.Amount - p.Refunded - p.RefundReserved
	var refunds []GatewayRefund
	if ev.Refunds != nil {
		for _, r := range ev.Refunds {
			if r.TollgateRefundID != "" || !r.Settled || r.Amount <= 0 || (r.ID != "" && slices.Contains(c.RecordedRefunds, r.ID)) {
				continue
			}
			r.Amount = min(r.Amount, left)
			if r.Amount > 0 {
				refunds, left = append(refunds, r), left-r.Amount
			}
		}
	} else if extra := min(ev.Amount-p.Refunded-p.RefundReserved, left); extra > 0 {
		refunds = []GatewayRefund{{Amount: extra, Settled: true}}
	}
	if len(refunds) == 0 {
		return nothing("every refund of the charge is on the ledger")
	}
	var total int64
	for _, r := range refunds {
		total += r.Amount
	}
	plan := GatewayPlan{Action: GatewayRefundAction, Refunds: refunds, Why: "refunded at the gateway: recorded"}
	// What the payment has not applied pays the refund first; the rest is
	// taken back from its invoices, newest first.
	unapplied := p.Amount - p.Refunded - p.RefundReserved - c.Allocated
	for i := len(p.Allocations) - 1; i >= 0 && total > unapplied; i-- {
		al := p.Allocations[i]
		take := min(al.Amount, total-unapplied)
		al.Amount = take
		plan.Unallocate = append(plan.Unallocate, al)
		unapplied += take
	}
	return plan
}

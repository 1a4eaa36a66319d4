package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/tollgate-isp/tollgate/controller/billing"
)

// pendingACH starts an ACH debit of amount from a bank account of account
// a, as a charge attempt the gateway reports processing (charge chargeID):
// a pending payment, neither journaled nor allocated.
func (c *collections) pendingACH(a, amount int64, chargeID string, at time.Time) billing.PaymentAttempt {
	c.t.Helper()
	ctx := context.Background()
	m, err := c.db.AddPaymentMethod(ctx, billing.StoredMethod{AccountID: a, Gateway: "stripe", Token: "pm_bank_" + chargeID, Kind: "bank_account",
		Last4: "6789", BankName: "STRIPE TEST BANK"}, true, at)
	if err != nil {
		c.t.Fatal(err)
	}
	att, _, err := c.db.BeginAttempt(ctx, billing.PaymentAttempt{AccountID: a, PaymentMethodID: m.ID, Amount: amount, Currency: "USD",
		Trigger: billing.TriggerPortal, Gateway: "stripe", IdempotencyKey: "ach-" + chargeID}, at)
	if err != nil {
		c.t.Fatal(err)
	}
	bal, _ := c.db.Balance(ctx, a)
	// The browser's PaymentIntent names the attempt in its metadata; its
	// processing event is the first Tollgate hears of the charge id.
	c.news(chargeID, strconv.FormatInt(att.ID, 10), billing.GatewayEvent{Kind: billing.GatewayProcessing, At: at}, at, billing.GatewayMarkProcessing)
	if after, _ := c.db.Balance(ctx, a); after != bal {
		c.t.Fatalf("a pending payment moved the balance from %d to %d", bal, after)
	}
	atts, err := c.db.PaymentAttempts(ctx, a)
	if err != nil || len(atts) == 0 || atts[0].Status != "processing" || atts[0].ChargeID != chargeID || atts[0].PaymentID != nil {
		c.t.Fatalf("the pending payment's attempt: %+v %v", atts, err)
	}
	return atts[0]
}

// news applies a gateway event about chargeID and checks the action taken.
func (c *collections) news(chargeID, attemptID string, ev billing.GatewayEvent, now time.Time, want billing.GatewayAction) billing.GatewayPlan {
	c.t.Helper()
	p, err := c.db.ApplyGatewayNews(context.Background(), "stripe", chargeID, attemptID, ev, now)
	if err != nil || p.Action != want {
		c.t.Fatalf("%s of %s: %+v %v, want %s", ev.Kind, chargeID, p, err, want)
	}
	return p
}

// TestPendingACHPaymentOverTheDelinquencyDate: an ACH payment pending
// over the delinquency date holds the account out of suspension with
// pending_payments hold, not with ignore (the default); with hold, its
// return (charge.failed R01) after it was posted reverses it as NSF and
// the next sweep suspends; a return before it settled fails it, and the
// next sweep suspends too. With restore, the pending payment restores a
// suspended account in its event's transaction, and its return lets the
// next sweep suspend again.
func TestPendingACHPaymentOverTheDelinquencyDate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	due := billing.NewDate(2026, 11, 20) // delinquent from Friday 11-27; the sweep of Monday 12-14 suspends

	t.Run("ignore", func(t *testing.T) {
		t.Parallel()
		c := newCollections(t, residential())
		a, svc := c.account("pop-1")
		c.owe(a, due, 5000)
		c.pendingACH(a, 5000, "pi_ign", local(12, 10, 9))
		c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountSuspended, "the sweep over a pending payment (ignore)")
		if c.desired(svc) != billing.StateSuspended {
			t.Fatal("service not suspended")
		}
	})

	t.Run("hold: posted, then returned", func(t *testing.T) {
		t.Parallel()
		typ := residential()
		typ.PendingPayments = billing.PendingHold
		c := newCollections(t, typ)
		a, svc := c.account("pop-1")
		c.owe(a, due, 5000)
		c.pendingACH(a, 5000, "pi_hold", local(12, 10, 9))
		c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountPastDue, "the sweep over a pending payment (hold)")
		if c.desired(svc) != billing.StateActive {
			t.Fatal("service suspended while the payment is pending")
		}
		st, err := c.db.AccountStanding(ctx, a, local(12, 14, 7))
		if err != nil || len(st.Reasons) == 0 {
			t.Fatalf("standing: %+v %v", st, err)
		}
		if !hasReason(st.Reasons, billing.ReasonPendingPayment) {
			t.Fatalf("the standing does not say the pending payment holds it: %v", st.Why)
		}
		// A processing event after the success changes nothing.
		settled := time.Date(2026, 12, 15, 15, 0, 0, 0, time.UTC)
		c.news("pi_hold", "", billing.GatewayEvent{Kind: billing.GatewaySucceeded, At: settled}, settled, billing.GatewayPost)
		c.news("pi_hold", "", billing.GatewayEvent{Kind: billing.GatewayProcessing, At: settled.Add(-time.Hour)}, settled, billing.GatewayNothing)
		c.want(a, billing.AccountCurrent, "after the payment was posted")
		if bal, _ := c.db.Balance(ctx, a); bal != 0 {
			t.Fatalf("balance %d after the payment was posted", bal)
		}
		returned := settled.Add(72 * time.Hour)
		c.news("pi_hold", "", billing.GatewayEvent{Kind: billing.GatewayReturned, Reason: "R01", At: returned}, returned, billing.GatewayReverse)
		ps, err := c.db.Payments(ctx, a, 0, 0, 10)
		if err != nil || len(ps) != 1 || ps[0].Status != billing.PaymentReversed || ps[0].ReversalNote != "nsf: ACH return R01" {
			t.Fatalf("payments after the return: %+v %v", ps, err)
		}
		if bal, _ := c.db.Balance(ctx, a); bal != 5000 {
			t.Fatalf("balance %d after the return", bal)
		}
		c.sweep(local(12, 21, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountSuspended, "the sweep after the return")
		checkAllocationTotals(t, c.db)
	})

	t.Run("hold: returned before it settled", func(t *testing.T) {
		t.Parallel()
		typ := residential()
		typ.PendingPayments = billing.PendingHold
		c := newCollections(t, typ)
		a, _ := c.account("pop-1")
		c.owe(a, due, 5000)
		c.pendingACH(a, 5000, "pi_hold2", local(12, 10, 9))
		c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountPastDue, "the sweep over a pending payment (hold)")
		c.news("pi_hold2", "", billing.GatewayEvent{Kind: billing.GatewayReturned, Reason: "R01", At: local(12, 15, 9)}, local(12, 15, 9), billing.GatewayFail)
		atts, _ := c.db.PaymentAttempts(ctx, a)
		if atts[0].Status != "failed" || atts[0].FailureCode != "R01" {
			t.Fatalf("attempt after the return: %+v", atts[0])
		}
		c.sweep(local(12, 16, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountSuspended, "the sweep after the return")
	})

	t.Run("restore", func(t *testing.T) {
		t.Parallel()
		typ := residential()
		typ.PendingPayments = billing.PendingRestore
		c := newCollections(t, typ)
		a, svc := c.account("pop-1")
		c.owe(a, due, 5000)
		c.sweep(local(12, 14, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountSuspended, "the sweep")
		c.pendingACH(a, 5000, "pi_rest", local(12, 14, 9))
		c.want(a, billing.AccountPastDue, "after the pending payment arrived (restore)")
		if c.desired(svc) != billing.StateActive {
			t.Fatal("service not restored in the pending payment's transaction")
		}
		if bal, _ := c.db.Balance(ctx, a); bal != 5000 {
			t.Fatalf("balance %d: a restore on a pending payment charges no reconnection fee", bal)
		}
		c.news("pi_rest", "", billing.GatewayEvent{Kind: billing.GatewayFailed, Reason: "insufficient_funds", At: local(12, 15, 9)}, local(12, 15, 9), billing.GatewayFail)
		c.sweep(local(12, 16, 6), billing.SuspensionGuard{})
		c.want(a, billing.AccountSuspended, "the sweep after the payment failed")
	})
}

func hasReason(rs []billing.Reason, k billing.ReasonKind) bool {
	for _, r := range rs {
		if r.Kind == k {
			return true
		}
	}
	return false
}

// TestGatewayNewsDisputeAndDashboardRefund: a dispute reverses the posted
// payment, a dispute won posts it again (once), and a refund made in the
// gateway's dashboard is recorded on the ledger once, taken back from the
// invoice it paid; a refund Tollgate made (its tollgate_refund_id) is not
// recorded twice.
func TestGatewayNewsDisputeAndDashboardRefund(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCollections(t, residential())
	a, _ := c.account("pop-1")
	inv := c.owe(a, billing.NewDate(2026, 12, 20), 5000)
	c.pendingACH(a, 8000, "pi_d", local(12, 1, 9))
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c.news("pi_d", "", billing.GatewayEvent{Kind: billing.GatewaySucceeded, At: at}, at, billing.GatewayPost)
	if bal, _ := c.db.Balance(ctx, a); bal != -3000 {
		t.Fatalf("balance %d after the payment", bal)
	}
	c.news("pi_d", "", billing.GatewayEvent{Kind: billing.GatewayDisputed, At: at.Add(time.Hour)}, at.Add(time.Hour), billing.GatewayReverse)
	if bal, _ := c.db.Balance(ctx, a); bal != 5000 {
		t.Fatalf("balance %d after the dispute", bal)
	}
	c.news("pi_d", "", billing.GatewayEvent{Kind: billing.GatewayDisputeWon, At: at.Add(2 * time.Hour)}, at.Add(2*time.Hour), billing.GatewayRepost)
	c.news("pi_d", "", billing.GatewayEvent{Kind: billing.GatewayDisputeWon, At: at.Add(2 * time.Hour)}, at.Add(2*time.Hour), billing.GatewayNothing)
	if bal, _ := c.db.Balance(ctx, a); bal != -3000 {
		t.Fatalf("balance %d after the dispute was won", bal)
	}
	// A dashboard refund of 4000: the 3000 credit pays first, 1000 comes
	// back from the invoice.
	refunded := billing.GatewayEvent{Kind: billing.GatewayRefunded, At: at.Add(3 * time.Hour), Amount: 4500, Refunds: []billing.GatewayRefund{
		{ID: "re_dash", Amount: 4000, Settled: true}, {ID: "re_ours", Amount: 500, TollgateRefundID: "99", Settled: true}}}
	c.news("pi_d", "", refunded, at.Add(3*time.Hour), billing.GatewayRefundAction)
	c.news("pi_d", "", refunded, at.Add(3*time.Hour), billing.GatewayNothing)
	if bal, _ := c.db.Balance(ctx, a); bal != 1000 {
		t.Fatalf("balance %d after the dashboard refund", bal)
	}
	var paid int64
	var status string
	if err := c.db.Pool.QueryRow(ctx, `SELECT paid, status FROM invoices WHERE id = $1`, inv).Scan(&paid, &status); err != nil || paid != 4000 || status != "open" {
		t.Fatalf("invoice after the refund: paid %d %s %v", paid, status, err)
	}
	checkAllocationTotals(t, c.db)
}
